//! The committed outputs of the compiler (crates/escape/tests/fixtures,
//! made by make.sh there): no Go needed.

use gosleuth_escape::{EscapeKind, Report, diff, parse, rank, render};

use crate::common::{
    check_against_compiler, check_known, find, fixture, parse_with_program_sources,
};

const M2_NEW: &str = "escapes.m2.go1.26.8.txt";
const M2_OLD: &str = "escapes.m2.go1.21.13.txt";
const M1: &str = "escapes.m1.go1.26.8.txt";

#[test]
fn m2_output_of_two_releases_with_and_without_sources() {
    for name in [M2_NEW, M2_OLD] {
        let text = fixture(name);
        let with = parse_with_program_sources(&text);
        assert!(with.detailed, "{name}");
        assert!(with.skipped.is_empty(), "{name}: {:?}", with.skipped);
        assert_eq!(with.packages, ["escapes"], "{name}");
        check_known(&with, &format!("{name} with sources"));
        check_against_compiler(&with, &text, name);
        // From the compiler's declarations alone, the same functions.
        let without = parse(&text, name).unwrap_or_else(|e| panic!("{e}"));
        check_known(&without, &format!("{name} without sources"));
        check_against_compiler(&without, &text, name);
    }
}

#[test]
fn the_reasons_differ_by_release_as_the_compiler_says() {
    // go1.21 keeps a slice of unknown size off the stack for its size;
    // go1.26 says it is returned.
    let old = parse(&fixture(M2_OLD), "old").unwrap_or_else(|e| panic!("{e}"));
    let e = find(&old, "Buffer", "make([]byte, n)");
    assert!(
        e.why.contains("its size is not constant at main.go:"),
        "{}",
        e.why
    );
    assert!(e.why.ends_with("to the heap"), "{}", e.why);
    let new = parse(&fixture(M2_NEW), "new").unwrap_or_else(|e| panic!("{e}"));
    let e = find(&new, "Buffer", "make([]byte, n)");
    assert!(e.why.contains("returned as ~r0 of Buffer"), "{}", e.why);
    // Go 1.22+ names the function in the explanation; go1.21 does not.
    assert_eq!(e.compiler_function.as_deref(), Some("Buffer"));
    assert_eq!(
        find(&old, "Buffer", "make([]byte, n)").compiler_function,
        None
    );
}

#[test]
fn m1_output_needs_the_sources_to_place_escapes() {
    let text = fixture(M1);
    let r = parse_with_program_sources(&text);
    assert!(!r.detailed);
    check_known(&r, M1);
    assert!(render::text(&r).contains("build with -gcflags=-m=2"));
    // Without sources only inlinable functions are declared: an escape of
    // a go:noinline function cannot be placed in it.
    let bare = parse(&text, M1).unwrap_or_else(|e| panic!("{e}"));
    assert!(!bare.escapes().any(|(f, _)| f.name == "NewT"));
}

#[test]
fn text_report_has_one_line_per_escape_grouped_by_function() {
    let r = parse_with_program_sources(&fixture(M2_NEW));
    let out = render::text(&r);
    let escapes: usize = r.functions.iter().map(|f| f.escapes.len()).sum();
    let lines = out
        .lines()
        .filter(|l| l.starts_with("  ") && l.contains('`'))
        .count();
    assert_eq!(lines, escapes, "{out}");
    assert!(
        out.contains("NewT (main.go:24): cannot inline: marked go:noinline\n  main.go:25:9  `&T{...}` escapes: returned as ~r0 of NewT at main.go:25\n"),
        "{out}"
    );
    assert!(out.contains("main (main.go:94): cost "), "{out}");
    let json = render::json(&render::Document {
        report: &r,
        diff: None,
        ranked: None,
    });
    let v: serde_json::Value = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}"));
    let funcs = v["report"]["functions"].as_array().expect("functions");
    let newt = funcs.iter().find(|f| f["name"] == "NewT").expect("NewT");
    assert_eq!(newt["escapes"][0]["kind"], "escapes_to_heap");
    assert_eq!(newt["inlining"]["decision"], "cannot_inline");
}

/// Moves every position in main.go down by `by` lines (an unrelated edit
/// above everything).
fn shift(text: &str, by: u32) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("main.go:") {
        out.push_str(&rest[..i + 8]);
        rest = &rest[i + 8..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        match rest[..digits].parse::<u32>() {
            Ok(n) => out.push_str(&(n + by).to_string()),
            Err(_) => out.push_str(&rest[..digits]),
        }
        rest = &rest[digits..];
    }
    out.push_str(rest);
    out
}

#[test]
fn diff_matches_by_function_and_expression_not_line() {
    let text = fixture(M2_NEW);
    let old = parse(&text, "old").unwrap_or_else(|e| panic!("{e}"));
    let moved = parse(&shift(&text, 7), "moved").unwrap_or_else(|e| panic!("{e}"));
    let d = diff(&old, &moved);
    assert!(d.new.is_empty() && d.gone.is_empty(), "{d:#?}");
    assert_eq!(render::diff_text(&d), "no escape added or removed\n");

    // NewT's allocation no longer escapes; a new one appears in Sum.
    let mut changed: String = text
        .lines()
        .filter(|l| !l.starts_with("./main.go:25:9: "))
        .map(|l| format!("{l}\n"))
        .collect();
    changed.push_str("./main.go:25:9: &T{...} does not escape\n");
    let changed = changed.replace(
        "./main.go:65:9: &T{} does not escape\n",
        "./main.go:65:9: &T{} escapes to heap\n",
    );
    let new = parse(&changed, "new").unwrap_or_else(|e| panic!("{e}"));
    let d = diff(&old, &new);
    assert_eq!(d.new.len(), 1, "{d:#?}");
    assert_eq!(
        (d.new[0].function.as_str(), d.new[0].escape.expr.as_str()),
        ("Sum", "&T{}")
    );
    assert_eq!(d.gone.len(), 1, "{d:#?}");
    assert_eq!(
        (d.gone[0].function.as_str(), d.gone[0].escape.expr.as_str()),
        ("NewT", "&T{...}")
    );
    let out = render::diff_text(&d);
    assert!(
        out.contains("+ main.go:65:9  Sum  `&T{}` escapes to heap"),
        "{out}"
    );
    assert!(
        out.contains("- main.go:25:9  NewT  `&T{...}` escapes: returned as ~r0"),
        "{out}"
    );
}

#[test]
fn a_heap_profile_ranks_escapes_by_their_bytes() {
    let r: Report = parse_with_program_sources(&fixture(M2_NEW));
    let path = gosleuth_testkit::repo_root()
        .join("crates/escape/tests/fixtures/escapes.allocs.go1.26.8.pb.gz");
    let prof = gosleuth_pprof::parse_file(&path).unwrap_or_else(|e| panic!("{e}"));
    let ranked = rank(&r, &prof).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ranked.len(), r.escapes().count());
    // main writes 1000 buffers of 256..262 bytes: the largest.
    let top = &ranked[0];
    assert_eq!(
        (top.entry.function.as_str(), top.entry.escape.expr.as_str()),
        ("Buffer", "make([]byte, n)")
    );
    assert!(top.bytes.unwrap_or(0) >= 1000 * 256, "{top:#?}");
    assert_eq!(top.objects, Some(1000));
    // 1000 NewT calls of 16 bytes each.
    let newt = ranked
        .iter()
        .find(|x| x.entry.function == "NewT")
        .expect("NewT");
    assert_eq!((newt.bytes, newt.objects), (Some(16_000), Some(1000)));
    // Sorted, and those without bytes (leaks, Show, never run) after.
    let first_none = ranked
        .iter()
        .position(|x| x.bytes.is_none())
        .expect("a None");
    assert!(
        ranked[..first_none]
            .windows(2)
            .all(|w| w[0].bytes >= w[1].bytes)
    );
    assert!(ranked[first_none..].iter().all(|x| x.bytes.is_none()));
    assert!(
        ranked
            .iter()
            .filter(|x| !x.entry.escape.kind.allocates())
            .all(|x| x.bytes.is_none())
    );
    let show = ranked
        .iter()
        .find(|x| x.entry.function == "Show")
        .expect("Show");
    assert_eq!(show.bytes, None);
    let out = render::ranked_text(&ranked);
    assert!(
        out.lines()
            .nth(1)
            .is_some_and(|l| l.contains("Buffer  `make([]byte, n)`")),
        "{out}"
    );
}

#[test]
fn a_cpu_profile_is_refused_with_what_it_has() {
    let r = parse(&fixture(M2_NEW), "x").unwrap_or_else(|e| panic!("{e}"));
    let mut prof = gosleuth_pprof::Profile::default();
    prof.sample_types
        .push(gosleuth_pprof::profile::ValueType::new("samples", "count"));
    prof.sample_types
        .push(gosleuth_pprof::profile::ValueType::new(
            "cpu",
            "nanoseconds",
        ));
    let err = rank(&r, &prof).expect_err("an error").to_string();
    assert!(
        err.contains("no alloc_space samples (it has: samples, cpu)"),
        "{err}"
    );
}

#[test]
fn a_failed_build_carries_the_compilers_lines() {
    let stderr = "# broken\n./main.go:4:2: declared and not used: x\n./main.go:4:7: undefined: undefinedThing\n";
    let err = gosleuth_escape::build_failed(
        stderr,
        "go build -gcflags=-m=2 -o /dev/null .",
        Some("exit status: 1".into()),
    );
    let msg = err.to_string();
    assert!(msg.starts_with("go build -gcflags=-m=2 -o /dev/null . failed (exit status: 1):\n# broken\n./main.go:4:2: declared and not used: x\n./main.go:4:7: undefined: undefinedThing\n"), "{msg}");
    // Diagnostics printed before the error are left out of the message.
    let mixed = format!("./x.go:3:6: can inline F with cost 2 as: func() {{  }}\n{stderr}");
    let msg = gosleuth_escape::build_failed(&mixed, "go build", None).to_string();
    assert!(!msg.contains("can inline"), "{msg}");
    assert!(msg.contains("undefined: undefinedThing"), "{msg}");
}

#[test]
fn text_without_diagnostics_is_a_clear_error() {
    for text in ["", "hello\nworld\n", "go: cannot find main module\n"] {
        let msg = parse(text, "saved.txt").expect_err("an error").to_string();
        assert!(
            msg.starts_with("saved.txt holds no escape analysis or inlining diagnostics"),
            "{msg}"
        );
        assert!(msg.contains("go build -gcflags=-m=2"), "{msg}");
    }
}

#[test]
fn unknown_lines_are_skipped_and_listed() {
    let text = "# p\n./p.go:3:6: can inline F with cost 4 as: func() int { return 1 }\n./p.go:4:2: something new the compiler says\n./p.go:9:9: x escapes to heap\n";
    let r = parse(text, "t").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.skipped, ["./p.go:4:2: something new the compiler says"]);
    let e = find(&r, "F", "x");
    assert_eq!(e.kind, EscapeKind::EscapesToHeap);
}
