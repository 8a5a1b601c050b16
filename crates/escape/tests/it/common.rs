//! What the tests know about factory/programs/escapes, and the oracle:
//! every line the compiler printed is in the report.

use std::path::PathBuf;

use gosleuth_escape::{Escape, EscapeKind, Inlining, Report};
use gosleuth_testkit as kit;

/// The package's directory.
pub fn program_dir() -> PathBuf {
    kit::repo_root().join("factory/programs/escapes")
}

/// A committed fixture's text.
pub fn fixture(name: &str) -> String {
    let p = kit::repo_root()
        .join("crates/escape/tests/fixtures")
        .join(name);
    String::from_utf8(kit::read(&p)).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Parses with the package's sources (as the command does after a build).
pub fn parse_with_program_sources(text: &str) -> Report {
    let dir = program_dir();
    gosleuth_escape::parse_with_sources(text, "test", &mut |f| {
        std::fs::read_to_string(dir.join(f)).ok()
    })
    .unwrap_or_else(|e| panic!("{e}"))
}

/// The one escape of `expr` in `func`.
pub fn find<'a>(r: &'a Report, func: &str, expr: &str) -> &'a Escape {
    let hits: Vec<&Escape> = r
        .escapes()
        .filter(|(f, e)| f.name == func && e.expr == expr)
        .map(|(_, e)| e)
        .collect();
    assert_eq!(hits.len(), 1, "{func}: {expr}: {hits:#?}");
    hits[0]
}

/// The known escapes of the program, with their reasons when the output
/// has the -m=2 explanations.
pub fn check_known(r: &Report, label: &str) {
    let line = |needle: &str| kit::source_line("escapes/main.go", needle);
    let at = |e: &Escape, needle: &str| {
        assert_eq!(e.pos.line, line(needle), "{label}: {e:#?}");
    };
    let detailed = r.detailed;
    let why = |e: &Escape, part: &str| {
        if detailed {
            assert!(e.why.contains(part), "{label}: {:?} lacks {part:?}", e.why);
        }
    };

    // A returned pointer.
    let e = find(r, "NewT", "&T{...}");
    assert_eq!(e.kind, EscapeKind::EscapesToHeap, "{label}");
    at(e, "escape: returned pointer");
    why(e, "returned as ~r0 of NewT at main.go:");

    // A closure capture: the variable moves to the heap, the closure escapes.
    let e = find(r, "Counter", "n");
    assert_eq!(e.kind, EscapeKind::MovedToHeap, "{label}");
    at(e, "escape: captured by closure");
    why(e, "captured by a closure");
    let e = find(r, "Counter", "func literal");
    assert_eq!(e.kind, EscapeKind::EscapesToHeap, "{label}");
    at(e, "escape: func literal");

    // Interface conversions: a fmt.Println argument and a returned any.
    let e = find(r, "Show", "v * 3");
    assert_eq!(e.kind, EscapeKind::EscapesToHeap, "{label}");
    at(e, "escape: interface conversion");
    why(e, "passed to fmt.Fprintln");
    why(e, "to the heap");
    let e = find(r, "Box", "v + 1000");
    assert_eq!(e.kind, EscapeKind::EscapesToHeap, "{label}");
    why(e, "returned as ~r0 of Box");

    // A slice of non-constant size.
    let e = find(r, "Buffer", "make([]byte, n)");
    assert_eq!(e.kind, EscapeKind::EscapesToHeap, "{label}");
    at(e, "escape: non-constant size");

    // Nothing escapes from Sum: its &T{} stays on the stack.
    let sum = r.functions.iter().find(|f| f.name == "Sum").expect("Sum");
    assert!(sum.escapes.is_empty(), "{label}: {sum:#?}");
    assert!(
        sum.does_not_escape
            .iter()
            .any(|n| n.expr == "&T{}" && n.pos.line == line("no escape: stays on the stack")),
        "{label}: {sum:#?}"
    );

    // A local moved to the heap by storing its address in a global.
    let e = find(r, "Keep", "local");
    assert_eq!(e.kind, EscapeKind::MovedToHeap, "{label}");
    at(e, "escape: moved to heap");
    why(e, "its address taken");

    // Leaking parameters.
    assert_eq!(
        find(r, "First", "p").kind,
        EscapeKind::LeakingParamContent,
        "{label}"
    );
    assert_eq!(
        find(r, "Ident", "p").kind,
        EscapeKind::LeakingParam,
        "{label}"
    );

    if detailed {
        let main = r.functions.iter().find(|f| f.name == "main").expect("main");
        match &main.inlining {
            Some(Inlining::CannotInline {
                over_budget: Some((cost, budget)),
                ..
            }) => assert!(cost > budget, "{label}"),
            other => panic!("{label}: main's inlining: {other:?}"),
        }
        let newt = r.functions.iter().find(|f| f.name == "NewT").expect("NewT");
        assert!(
            matches!(&newt.inlining, Some(Inlining::CannotInline { reason, .. }) if reason.contains("go:noinline")),
            "{label}: {newt:#?}"
        );
    }
}

/// The oracle: every escape, leak and flow step the compiler printed is
/// in the report at its position, with the compiler's expression, kind
/// and reasons; and where the compiler named the function (Go 1.22+), the
/// report names the same one.
pub fn check_against_compiler(r: &Report, text: &str, label: &str) {
    let mut summaries = 0;
    for line in text.lines() {
        let Some((pos, msg)) = split(line) else {
            continue;
        };
        let (kind, expr) = if let Some(n) = msg.strip_prefix("moved to heap: ") {
            (EscapeKind::MovedToHeap, n)
        } else if let Some(n) = msg.strip_prefix("leaking param content: ") {
            (EscapeKind::LeakingParamContent, n)
        } else if let Some(rest) = msg.strip_prefix("leaking param: ") {
            let name = rest.split(' ').next().unwrap_or(rest);
            let kind = if rest.contains("level=") && !rest.ends_with("level=0") {
                EscapeKind::LeakingParamContent
            } else {
                EscapeKind::LeakingParam
            };
            (kind, name)
        } else if let Some(x) = msg.strip_suffix(" escapes to heap") {
            (EscapeKind::EscapesToHeap, x)
        } else if let Some(from) = msg.trim_start().strip_prefix("from ") {
            // A flow step: its reason is in the escape at that position.
            let why = from
                .rsplit_once(" at ")
                .map(|(b, _)| b)
                .unwrap_or(from)
                .rsplit_once(" (")
                .map(|(_, w)| w.trim_end_matches(')'))
                .unwrap_or("");
            let found = r.escapes().any(|(_, e)| {
                e.pos.short() == pos && e.flows.iter().any(|f| f.hops.iter().any(|h| h.why == why))
            });
            assert!(
                found,
                "{label}: no escape at {pos} with a step {why:?} ({line})"
            );
            continue;
        } else {
            continue;
        };
        summaries += 1;
        let found = r
            .escapes()
            .any(|(_, e)| e.pos.short() == pos && e.expr == expr && e.kind == kind);
        assert!(found, "{label}: not in the report: {line}");
    }
    assert!(summaries >= 10, "{label}: only {summaries} summary lines");
    for (f, e) in r.escapes() {
        if let Some(cf) = &e.compiler_function {
            // Declarations of other packages' generics are qualified
            // (`atomic.(*Pointer[...]).Load`), explanation heads are not.
            let (want, got) = (without_type_args(cf), without_type_args(&f.name));
            assert!(
                got == want || got.ends_with(&format!(".{want}")),
                "{label}: the compiler put {e:#?} in {cf}, the report in {}",
                f.name
            );
        }
    }
}

/// `./main.go:25:9: msg` → (`main.go:25`, `msg`).
fn split(line: &str) -> Option<(String, &str)> {
    let mut parts = line.splitn(4, ':');
    let file = parts.next()?;
    let l: u32 = parts.next()?.parse().ok()?;
    let _col: u32 = parts.next()?.parse().ok()?;
    let msg = parts.next()?.strip_prefix(' ')?;
    Some((format!("{}:{l}", file.trim_start_matches("./")), msg))
}

/// `(*Pointer[go.shape.int]).Load` → `(*Pointer).Load`; `F.func1` → `F`
/// (closures are folded into their function).
fn without_type_args(name: &str) -> String {
    let name = match name.find(".func") {
        Some(i) if name[i + 5..].starts_with(|c: char| c.is_ascii_digit()) => &name[..i],
        _ => name,
    };
    let mut out = String::new();
    let mut depth = 0;
    for c in name.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// The checks/ package of the program (bounds and nil checks).
pub fn checks_dir() -> PathBuf {
    program_dir().join("checks")
}

/// Parses output of the checks/ package built in its directory, with its
/// sources.
pub fn parse_checks(text: &str) -> Report {
    let dir = checks_dir();
    gosleuth_escape::parse_with_sources(text, "test", &mut |f| {
        std::fs::read_to_string(dir.join(f)).ok()
    })
    .unwrap_or_else(|e| panic!("{e}"))
}

/// The known checks of checks/checks.go: the bounds check of `s[i*2]`
/// and the slice bounds check of `s[from:]` are kept, the one of
/// `for i := range s { s[i] }` is eliminated (not reported); the nil
/// check of a field 8 KiB into `*p` is kept, the one of the first field
/// removed.
pub fn check_known_checks(r: &Report, label: &str) {
    let line = |needle: &str| kit::source_line("escapes/checks/checks.go", needle);
    assert!(r.checks, "{label}");
    let func = |name: &str| {
        r.functions
            .iter()
            .find(|f| f.name == name)
            .unwrap_or_else(|| panic!("{label}: no {name}: {r:#?}"))
    };

    // One kept check of `op` in `name`, at the line marked `marker`.
    let one_kept = |name: &str, op: &str, marker: &str| {
        let f = func(name);
        assert_eq!(f.bounds_checks.len(), 1, "{label}: {f:#?}");
        assert_eq!(f.bounds_checks[0].op, op, "{label}");
        assert_eq!(f.bounds_checks[0].pos.line, line(marker), "{label}");
    };
    one_kept("Evens", "IsInBounds", "check: bounds kept");
    one_kept("Window", "IsSliceInBounds", "check: slice bounds kept");

    // The eliminated check is nowhere in the report.
    let eliminated = line("check: eliminated");
    assert!(
        !r.bounds_checks().any(|(_, c)| c.pos.line == eliminated),
        "{label}: {r:#?}"
    );
    assert!(
        r.functions
            .iter()
            .filter(|f| f.name == "Every")
            .all(|f| f.bounds_checks.is_empty()),
        "{label}"
    );

    let last = func("Last");
    assert_eq!(
        last.nil_checks
            .iter()
            .map(|c| (c.pos.line, c.kept))
            .collect::<Vec<_>>(),
        [(line("check: nil kept"), true)],
        "{label}"
    );
    let first = func("First");
    assert_eq!(
        first
            .nil_checks
            .iter()
            .map(|c| (c.pos.line, c.kept))
            .collect::<Vec<_>>(),
        [(line("check: nil removed"), false)],
        "{label}"
    );
}

/// The oracle for checks: every bounds-check and nil-check line the
/// compiler printed is in the report at its position, and the report has
/// no other.
pub fn check_checks_against_compiler(r: &Report, text: &str, label: &str) {
    let mut bounds: Vec<(String, String)> = Vec::new();
    let mut nils: Vec<(String, bool)> = Vec::new();
    for line in text.lines() {
        let Some((pos, msg)) = split(line) else {
            continue;
        };
        if let Some(op) = msg.strip_prefix("Found ") {
            bounds.push((pos, op.to_string()));
        } else if msg == "generated nil check" {
            nils.push((pos, true));
        } else if msg == "removed nil check" {
            nils.push((pos, false));
        }
    }
    let mut got_bounds: Vec<(String, String)> = r
        .bounds_checks()
        .map(|(_, c)| (c.pos.short(), c.op.clone()))
        .collect();
    let mut got_nils: Vec<(String, bool)> = r
        .nil_checks()
        .map(|(_, c)| (c.pos.short(), c.kept))
        .collect();
    for v in [&mut bounds, &mut got_bounds] {
        v.sort();
    }
    nils.sort();
    got_nils.sort();
    assert_eq!(got_bounds, bounds, "{label}");
    assert_eq!(got_nils, nils, "{label}");
}
