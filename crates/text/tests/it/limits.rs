//! The parser's bounds on hostile input: repeated shapes keep a bounded
//! amount of memory and say what they cut. Inputs are made here.

use gosleuth_model::IncidentKind;
use gosleuth_text::{
    KEEP_BUDGET, MAX_FRAMES, MAX_INCIDENTS, MAX_LINE, MAX_MESSAGE, MAX_PANICS, MAX_RACES, Options,
    Parser, parse,
};

fn repeat(prefix: &str, pattern: &str, n: usize, suffix: &str) -> String {
    let mut s = String::with_capacity(prefix.len() + pattern.len() * n + suffix.len());
    s.push_str(prefix);
    for _ in 0..n {
        s.push_str(pattern);
    }
    s.push_str(suffix);
    s
}

/// `panic:` lines repeated (a grep of a log) read as one chain: the first
/// 15 and the last are kept, and a note counts the others.
#[test]
fn a_panic_chain_keeps_its_first_and_last_panics() {
    for pattern in ["panic: x\n", "\tpanic: x [recovered]\n"] {
        let text = repeat("panic: first\n", pattern, 16_000, "\tpanic: last\n");
        let e = parse(text.as_bytes(), Options::default());
        assert_eq!(e.incidents.len(), 1, "{pattern:?}");
        let inc = &e.incidents[0];
        assert_eq!(inc.panics.len(), MAX_PANICS, "{pattern:?}");
        assert_eq!(inc.panics[0].message, "first");
        assert_eq!(inc.panics[MAX_PANICS - 1].message, "last");
        assert!(
            inc.notes.contains(&format!(
                "{} more panics of this chain are not shown (the first 15 and the last are)",
                16_002 - MAX_PANICS
            )),
            "{:?}",
            inc.notes
        );
    }
}

/// A multi-line panic value is kept up to MAX_MESSAGE bytes, then marked.
#[test]
fn a_long_panic_message_is_cut() {
    let text = repeat("panic: start\n", "\tmore of the message\n", 100_000, "");
    let e = parse(text.as_bytes(), Options::default());
    let m = &e.incidents[0].panics[0].message;
    assert!(m.len() <= MAX_MESSAGE + 32, "{}", m.len());
    assert!(m.ends_with("\n... (message cut)"));
}

/// A goroutine keeps MAX_FRAMES frames; the rest count as elided.
#[test]
fn frames_past_the_limit_count_as_elided() {
    let n = MAX_FRAMES + 4000;
    let text = repeat(
        "goroutine 1 [running]:\n",
        "main.f(0x1)\n\t/a.go:1 +0x1\n",
        n,
        "\n",
    );
    let e = parse(
        text.as_bytes(),
        Options {
            keep_goroutines: true,
            ..Options::default()
        },
    );
    let g = &e.incidents[0].goroutines[0];
    assert_eq!(g.frames.len(), MAX_FRAMES);
    assert_eq!(g.elided_frames, Some(4000));
    assert!(
        e.warnings[0].contains("has more than 1024 frames"),
        "{:?}",
        e.warnings
    );
}

/// Past MAX_INCIDENTS, the first and the last half are kept.
#[test]
fn incidents_past_the_limit_keep_the_first_and_the_last() {
    let text = repeat("", "fatal error: a\nfatal error: b\n", 3_000, "");
    let e = parse(text.as_bytes(), Options::default());
    assert_eq!(e.incidents.len(), MAX_INCIDENTS);
    assert_eq!(e.incidents_omitted, 6_000 - MAX_INCIDENTS as u64);
    assert_eq!(e.incidents[0].line, 1);
    assert_eq!(
        e.incidents[MAX_INCIDENTS / 2 - 1].line,
        MAX_INCIDENTS as u64 / 2
    );
    assert_eq!(e.incidents[MAX_INCIDENTS - 1].line, 6_000);
    assert!(
        e.warnings.iter().any(|w| w
            == "5000 incidents not shown: past 1000, only the first 500 and the last 500 are kept"),
        "{:?}",
        e.warnings
    );
    // Parts read on several threads obey the same bound.
    let big = repeat(
        "",
        "fatal error: a\n\ngoroutine 1 [running]:\nmain.f()\n\t/a.go:1 +0x1\n\nfatal error: b\n",
        600_000,
        "",
    );
    let par = gosleuth_text::parse_parallel(big.as_bytes(), Options::default(), 3);
    assert_eq!(par.incidents.len(), MAX_INCIDENTS);
    assert_eq!(par.incidents_omitted, 1_200_000 - MAX_INCIDENTS as u64);
}

/// A line longer than MAX_LINE (a stream without line breaks) is read up
/// to that length, whole or in chunks, and the next line is read again.
#[test]
fn a_line_past_the_limit_is_cut_and_reading_goes_on() {
    let mut text = vec![b'z'; 3 * MAX_LINE];
    text.extend_from_slice(b"\npanic: x\n\ngoroutine 1 [running]:\nmain.main()\n\t/a.go:7 +0x1\n");
    let whole = parse(&text, Options::default());
    let mut p = Parser::new(Options::default());
    for chunk in text.chunks(4093) {
        p.feed(chunk);
    }
    let chunked = p.finish();
    for e in [&whole, &chunked] {
        assert_eq!(e.lines, 6);
        assert_eq!(e.incidents.len(), 1);
        assert_eq!(e.incidents[0].kind, IncidentKind::Panic);
        assert_eq!(e.incidents[0].line, 2);
        assert_eq!(
            e.warnings,
            vec!["line 1: longer than 1 MiB; read up to that length".to_string()]
        );
    }
}

/// With keep_goroutines, goroutines past KEEP_BUDGET are not kept: every
/// incident keeps its groups, and a warning says so.
#[test]
fn kept_goroutines_stop_at_the_budget() {
    let n = KEEP_BUDGET / 256;
    let text = repeat("", "goroutine 1 [running]:\n", n, "");
    let e = parse(
        text.as_bytes(),
        Options {
            keep_goroutines: true,
            ..Options::default()
        },
    );
    assert!(e.goroutines_dropped);
    let inc = &e.incidents[0];
    assert!(inc.goroutines.is_empty());
    assert_eq!(inc.total, n as u64);
    assert_eq!(inc.groups.len(), 1);
    assert!(
        e.warnings
            .iter()
            .any(|w| w.contains("more than 128 MiB of goroutines")),
        "{:?}",
        e.warnings
    );
}

/// Race reports are deduplicated as they come; distinct ones past
/// MAX_RACES are counted.
#[test]
fn race_reports_are_bounded() {
    let mut text = String::new();
    for i in 0..MAX_RACES + 500 {
        for _ in 0..3 {
            text.push_str(&format!(
                "==================\nWARNING: DATA RACE\nWrite at 0x00c000124030 by goroutine 8:\n  main.f{i}()\n      /src/a.go:{i} +0x44\n\nPrevious read at 0x00c000124030 by goroutine 7:\n  main.g()\n      /src/a.go:1 +0x5b\n==================\n"
            ));
        }
    }
    let e = parse(text.as_bytes(), Options::default());
    assert_eq!(e.races.len(), MAX_RACES);
    assert!(e.races.iter().all(|r| r.occurrences == 3));
    assert!(
        e.warnings
            .iter()
            .any(|w| w.starts_with("1500 race reports not shown")),
        "{:?}",
        e.warnings
    );
}
