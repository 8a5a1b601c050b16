//! The bounds and nil checks of factory/programs/escapes/checks, from the
//! committed outputs (crates/escape/tests/fixtures/checks.m2.*.txt, made by
//! make.sh there): no Go needed.

use gosleuth_escape::{parse, render};

use crate::common::{check_checks_against_compiler, check_known_checks, fixture, parse_checks};

const RELEASES: [&str; 2] = ["checks.m2.go1.26.8.txt", "checks.m2.go1.21.13.txt"];

#[test]
fn kept_checks_are_reported_at_their_line_and_eliminated_ones_are_not() {
    for name in RELEASES {
        let text = fixture(name);
        let r = parse_checks(&text);
        assert!(r.skipped.is_empty(), "{name}: {:?}", r.skipped);
        check_known_checks(&r, name);
        check_checks_against_compiler(&r, &text, name);
        // From the compiler's declarations alone, the same functions.
        let bare = parse(&text, name).unwrap_or_else(|e| panic!("{e}"));
        check_known_checks(&bare, &format!("{name} without sources"));
    }
}

#[test]
fn text_lists_the_checks_left_per_function() {
    let r = parse_checks(&fixture(RELEASES[0]));
    let out = render::text(&r);
    assert!(
        out.contains("a bounds check not listed was eliminated or never needed"),
        "{out}"
    );
    assert!(
        out.contains(
            "Evens (checks.go:30): 1 bounds check\n  checks.go:33:9  bounds check (IsInBounds)\n"
        ),
        "{out}"
    );
    assert!(
        out.contains("Window (checks.go:41): 1 bounds check\n  checks.go:42:10  slice bounds check (IsSliceInBounds)\n"),
        "{out}"
    );
    assert!(
        out.contains("Last (checks.go:48): 1 nil check\n  checks.go:49:10  nil check\n"),
        "{out}"
    );
    // Every has nothing left, First only a removed nil check: counted.
    assert!(!out.contains("\nEvery ("), "{out}");
    assert!(!out.contains("\nFirst ("), "{out}");
    assert!(
        out.contains(
            "2 bounds checks kept in 2 functions; 1 nil check kept in 1 function, 1 removed (1 function with only removed ones)"
        ),
        "{out}"
    );
    // The escape part is unchanged by the check lines.
    assert!(
        out.contains(
            "Window (checks.go:41): cannot inline: marked go:noinline\n  checks.go:41:13  "
        ),
        "{out}"
    );
}

#[test]
fn json_has_the_checks_per_function_and_nothing_new_without_them() {
    let r = parse_checks(&fixture(RELEASES[0]));
    let json = render::json(&render::Document {
        report: &r,
        diff: None,
        ranked: None,
    });
    let v: serde_json::Value = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v["schema"], 1);
    assert_eq!(v["report"]["checks"], true);
    let funcs = v["report"]["functions"].as_array().expect("functions");
    let f = |name: &str| funcs.iter().find(|f| f["name"] == name).expect(name);
    assert_eq!(f("Evens")["bounds_checks"][0]["op"], "IsInBounds");
    assert_eq!(f("Evens")["bounds_checks"][0]["pos"]["line"], 33);
    assert_eq!(f("Last")["nil_checks"][0]["kept"], true);
    assert_eq!(f("First")["nil_checks"][0]["kept"], false);
    assert!(f("Every").get("bounds_checks").is_none());

    // Output without check lines: no new field in the JSON.
    let plain: String = fixture(RELEASES[0])
        .lines()
        .filter(|l| !l.contains(" nil check") && !l.contains(": Found Is"))
        .map(|l| format!("{l}\n"))
        .collect();
    let r = parse_checks(&plain);
    assert!(!r.checks);
    let json = render::json(&render::Document {
        report: &r,
        diff: None,
        ranked: None,
    });
    for field in ["\"checks\"", "bounds_checks", "nil_checks"] {
        assert!(!json.contains(field), "{field}: {json}");
    }
    assert!(!render::text(&r).contains("checks left"));
}

#[test]
fn output_with_only_check_lines_is_read() {
    let only: String = fixture(RELEASES[1])
        .lines()
        .filter(|l| l.contains(" nil check") || l.contains(": Found Is"))
        .map(|l| format!("{l}\n"))
        .collect();
    let r = parse_checks(&only);
    check_known_checks(&r, "only check lines, with sources");
    check_checks_against_compiler(&r, &only, "only check lines");
}
