//! Any text as `go list -e -deps -json` output: never a panic; what
//! parses is selected with and without tests, drawn as DOT and SVG.
#![no_main]

use gosleuth_deps::{Options, dot, parse, select, svg};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(pkgs) = parse(text) else { return };
    for tests in [false, true] {
        let opts = Options { tests, max_level: 1 + data.len() % 4, ..Options::default() };
        if let Ok(g) = select(&pkgs, &[], &opts) {
            let _ = dot(&g, tests, None);
            let _ = svg(&g, tests, None);
        }
    }
});
