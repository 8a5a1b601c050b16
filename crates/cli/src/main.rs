//! The `gosleuth` command: thin wiring from readers to analyses to renderers.
//!
//! Exit codes (also in `--help`): 2 on an error (unreadable input, bad
//! flags); 1 when the evidence shows a failure the command gates on (a
//! critical finding; a panic, fatal error or data race with `--exit-code`;
//! nothing matched); 0 otherwise.

#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cmd;
mod output;
mod progress;
mod stdin;

/// Which command answers which symptom, and the exit status rule: the end
/// of `gosleuth --help`.
const AFTER_HELP: &str = "\
Which command for which symptom:
  it hangs, requests pile up    gosleuth diagnose DUMP      (SIGQUIT output or /debug/pprof/goroutine?debug=2)
                                gosleuth diagnose BIN CORE  (a core file)  or  --pid PID  (running)
  it panicked or crashed        gosleuth triage LOG         (any text with the panic: logs, journald, docker)
                                gosleuth core BIN CORE      (a core from GOTRACEBACK=crash)
  memory grows                  gosleuth pprof -top HOST:PORT/debug/pprof/heap     (or a saved profile)
  CPU is high                   gosleuth pprof -top HOST:PORT/debug/pprof/profile  (gosleuth fetch saves one)
  errors in the logs            gosleuth logs FILE...
  what each goroutine is doing  gosleuth attach PID  (or gosleuth dump PID for a core to read later)
  the binary grew               gosleuth bin size BIN  (--diff OLD_BIN)
  what imports what             gosleuth deps ./...    (-s: no standard library; --format svg)
  what allocates on the heap    gosleuth escape ./pkg  (--profile heap.pb.gz ranks by bytes)
  CI failed                     gosleuth triage ci.log  (go test output: --format junit|github)
  the postmortem                gosleuth report EVIDENCE... -o incident.html  (or http://host:port)

Exit status: 2 on an error (unreadable input, bad arguments); 1 when the evidence
shows a failure the command gates on (diagnose: a critical finding; triage and logs
with --exit-code: a panic, fatal error or data race, and for logs an ERROR record;
bin funcs and pprof -list/-peek: nothing matched); 0 otherwise.

`gosleuth COMMAND --help` describes each command.";

/// gosleuth: find the root cause when a Go service panics, hangs, leaks or
/// slows down.
#[derive(Debug, Parser)]
#[command(name = "gosleuth", version, about, long_about = None, after_help = AFTER_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Read panics, fatal errors, goroutine dumps and race reports from any
    /// text (logs included) and name the root cause.
    Triage(cmd::triage::TriageArgs),
    /// Find what went wrong in service logs: templates, levels, embedded
    /// panics.
    Logs(cmd::logs::LogsArgs),
    /// Goroutines of a core file, grouped or with full stacks (like `dlv
    /// core` + `goroutines`, on a million goroutines in a second).
    Core(cmd::core::CoreArgs),
    /// Goroutines of a running process, read while it is frozen for a
    /// bounded time (or not stopped at all with --no-stop).
    Attach(cmd::attach::AttachArgs),
    /// Name the deadlock, the leak or the pile-up: ranked findings with
    /// evidence, from text dumps, a core file or a running process.
    Diagnose(cmd::diagnose::DiagnoseArgs),
    /// Write an ELF core file of a live process (gdb, dlv and gosleuth open
    /// it), freezing it only for a bounded time.
    Dump(cmd::dump::DumpArgs),
    /// Read Go binaries: build info, symbols, functions.
    #[command(subcommand)]
    Bin(cmd::bin::BinCommand),
    /// Fetch a profile, trace or goroutine dump from a net/http/pprof
    /// endpoint and save it.
    Fetch(cmd::fetch::FetchArgs),
    /// Reports on pprof profiles, with go tool pprof's flags.
    Pprof(cmd::pprof::PprofArgs),
    /// An incident report (Markdown or HTML) from all the evidence at once,
    /// or captured from a service's net/http/pprof in the SOP's order.
    Report(cmd::report::ReportArgs),
    /// What an execution trace (Go 1.22 and later) says about the
    /// scheduler and the GC, read as a stream; --wire lists its events.
    Trace(cmd::trace::TraceArgs),
    /// The package import graph (godepgraph's options), as DOT, an SVG
    /// drawn without Graphviz, text or JSON.
    Deps(cmd::deps::DepsArgs),
    /// What escapes to the heap and why, per function, from go build
    /// -gcflags=-m=2; compared with an older build or ranked by a heap profile.
    Escape(cmd::escape::EscapeArgs),
    /// A CPU or wall-clock profile of a running Go process taken from
    /// outside (perf events or ptrace; no /debug/pprof needed), as pprof,
    /// folded stacks, speedscope or a flame graph.
    Record(cmd::record::RecordArgs),
    /// A live view of a running Go process sampled from outside: the
    /// functions taking the most CPU, goroutines by state and place, GC
    /// counters (one snapshot when not on a terminal).
    Top(cmd::top::TopArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse_from(cmd::deps::godepgraph_spelling(
        std::env::args_os().collect(),
    ));
    let result = match cli.command {
        Command::Triage(a) => cmd::triage::run(a),
        Command::Logs(a) => cmd::logs::run(a),
        Command::Dump(a) => cmd::dump::run(a),
        Command::Core(a) => cmd::core::run(a),
        Command::Attach(a) => cmd::attach::run(a),
        Command::Diagnose(a) => cmd::diagnose::run(a),
        Command::Bin(c) => cmd::bin::run(c),
        Command::Pprof(a) => cmd::pprof::run(a),
        Command::Report(a) => cmd::report::run(a),
        Command::Trace(a) => cmd::trace::run(a),
        Command::Fetch(a) => cmd::fetch::run(a),
        Command::Deps(a) => cmd::deps::run(a),
        Command::Escape(a) => cmd::escape::run(a),
        Command::Record(a) => cmd::record::run(a),
        Command::Top(a) => cmd::top::run(a),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            eprintln!("gosleuth: {}", error_chain(&err));
            ExitCode::from(2)
        }
    }
}

/// The error and its causes joined with `: `, leaving out a cause whose
/// text the message before it already ends with (library errors often
/// print their source themselves).
fn error_chain(err: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if out.ends_with(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

/// A closed pipe on stdout (`gosleuth ... | head`) is not an error.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
