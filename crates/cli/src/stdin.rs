//! Standard input as an input: a word on stderr when it is a terminal.

use std::io;

use gosleuth_evidence::Input;

/// Says on stderr that standard input is being read, when it is a
/// terminal (otherwise the command would wait with no word).
pub fn announce_stdin(inputs: &[Input], command: &str) {
    use std::io::IsTerminal;
    if inputs.contains(&Input::Stdin) && io::stdin().is_terminal() {
        eprintln!(
            "gosleuth {command}: reading standard input (paste the text, then Ctrl-D; \
             `gosleuth {command} FILE` reads a file, --help shows more)"
        );
    }
}
