//! Bad input is an error or a skipped line, never a panic: a short,
//! deterministic mutation pass over the committed outputs (the fuzz target
//! `escape_parse` runs the same checks on any bytes).

use gosleuth_escape::{diff, parse, parse_with_sources, rank, render};

use crate::common::fixture;
use gosleuth_testkit::Rng;

fn exercise(text: &str, base: &gosleuth_escape::Report, prof: &gosleuth_pprof::Profile) {
    let Ok(r) = parse(text, "mutant") else {
        return;
    };
    let _ = render::text(&r);
    // The fuzz target's properties (fuzz/fuzz_targets/escape_parse.rs).
    let same = diff(&r, &r);
    assert!(same.new.is_empty() && same.gone.is_empty());
    assert!(r.escapes().all(|(_, e)| !e.why.is_empty()));
    if !text.contains('\r') {
        let crlf = parse(&text.replace('\n', "\r\n"), "crlf").expect("CRLF parses as LF does");
        assert_eq!(crlf.functions, r.functions);
    }
    let d = diff(base, &r);
    let _ = render::diff_text(&d);
    if let Ok(ranked) = rank(&r, prof) {
        let _ = render::ranked_text(&ranked);
        let _ = render::json(&render::Document {
            report: &r,
            diff: Some(&d),
            ranked: Some(&ranked),
        });
    }
    // A source that is itself the mutant text.
    let _ = parse_with_sources(text, "mutant", &mut |_| Some(text.to_string()));
}

#[test]
fn mutations_never_panic() {
    let prof_path = gosleuth_testkit::repo_root()
        .join("crates/escape/tests/fixtures/escapes.allocs.go1.26.8.pb.gz");
    let prof = gosleuth_pprof::parse_file(&prof_path).unwrap_or_else(|e| panic!("{e}"));
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for name in [
        "escapes.m2.go1.26.8.txt",
        "escapes.m2.go1.21.13.txt",
        "escapes.m1.go1.26.8.txt",
    ] {
        let text = fixture(name);
        let base = parse(&text, name).unwrap_or_else(|e| panic!("{e}"));
        let bytes = text.as_bytes();
        // Truncations.
        for i in (0..bytes.len()).step_by(97) {
            exercise(&String::from_utf8_lossy(&bytes[..i]), &base, &prof);
        }
        // Byte edits with the characters the parser splits on.
        let alphabet = b": ()[]{}\n\t=~0123456789.,-<>";
        for _ in 0..300 {
            let mut b = bytes.to_vec();
            for _ in 0..1 + rng.below(8) {
                let at = rng.below(b.len());
                match rng.below(3) {
                    0 => b[at] = alphabet[rng.below(alphabet.len())],
                    1 => {
                        b.remove(at);
                    }
                    _ => b.insert(at, alphabet[rng.below(alphabet.len())]),
                }
            }
            exercise(&String::from_utf8_lossy(&b), &base, &prof);
        }
        // Lines dropped, repeated and shuffled.
        let lines: Vec<&str> = text.lines().collect();
        for _ in 0..100 {
            let mut out = String::new();
            for _ in 0..lines.len() {
                out.push_str(lines[rng.below(lines.len())]);
                out.push('\n');
            }
            exercise(&out, &base, &prof);
        }
    }
}

#[test]
fn odd_lines_are_handled() {
    let cases = [
        "./x.go:1:1: \n",
        "./x.go:1:1:   flow: \n",
        "./x.go:1:1:     from \n",
        "./x.go:1:1: can inline \n",
        "./x.go:1:1: cannot inline \n",
        "./x.go:1:1: leaking param: \n",
        "./x.go:1:1: parameter  leaks to :\n",
        "./x.go:1:1:  escapes to heap:\n./x.go:1:1:     from ( at ./x.go:9\n",
        ":1:1: moved to heap: v\n",
        "./x.go:99999999999:1: moved to heap: v\n",
        "./x.go:1:1: moved to heap: v\r\n",
        "# \n# \n",
    ];
    for c in cases {
        if let Ok(r) = parse(c, "odd") {
            let _ = render::text(&r);
        }
    }
}
