//! Any bytes as `go build -gcflags=-m=2` output: never a panic; a report
//! compared with itself has nothing new or gone; CRLF line ends read the
//! same as LF; every escape has its one-line explanation; the reports
//! render. Seed: crates/escape/tests/fixtures/*.txt.
#![no_main]

use gosleuth_escape::{diff, parse, parse_with_sources, render};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let Ok(r) = parse(&text, "fuzz") else {
        return;
    };
    let d = diff(&r, &r);
    assert!(d.new.is_empty() && d.gone.is_empty());
    for (_, e) in r.escapes() {
        assert!(!e.why.is_empty());
    }
    if !text.contains('\r') {
        let crlf = text.replace('\n', "\r\n");
        let again = parse(&crlf, "fuzz").expect("CRLF parses as LF does");
        assert_eq!(again.functions, r.functions);
    }
    let _ = render::text(&r);
    let _ = render::json(&render::Document {
        report: &r,
        diff: Some(&d),
        ranked: None,
    });
    // The input as the source of every file it names.
    let _ = parse_with_sources(&text, "fuzz", &mut |_| Some(text.to_string()));
});
