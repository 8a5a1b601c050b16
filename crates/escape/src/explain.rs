//! The compiler's flow chain folded into one line.

use crate::{Escape, EscapeKind, Hop};

/// One readable line for an escape: `` `&T{...}` escapes: returned as ~r0
/// of NewT at main.go:25 ``. Without flows (`-m`), the compiler's summary
/// in the same shape. `func` is the function the escape belongs to.
pub(crate) fn fold(e: &Escape, func: &str) -> String {
    // The compiler's own name (Go 1.22+) knows closures: `main.func1`.
    let named;
    let func = match &e.compiler_function {
        Some(f) => {
            named = short_type_args(f);
            named.as_str()
        }
        None => func,
    };
    let subject = format!("`{}`", e.expr);
    let verb = match e.kind {
        EscapeKind::MovedToHeap => "moved to heap",
        EscapeKind::EscapesToHeap => "escapes",
        EscapeKind::LeakingParam => "leaks",
        EscapeKind::LeakingParamContent => "leaks its content",
    };
    if e.flows.is_empty() {
        return match (e.kind, &e.detail) {
            (EscapeKind::MovedToHeap, _) => format!("{subject} moved to heap"),
            (EscapeKind::EscapesToHeap, _) => format!("{subject} escapes to heap"),
            (_, Some(d)) => format!("{subject} {verb} {}", strip_level(d)),
            (_, None) => format!("{subject} {verb} to the heap"),
        };
    }
    // (phrase, where) for every informative hop, in order.
    let mut steps: Vec<(String, Option<String>)> = Vec::new();
    for flow in &e.flows {
        for hop in &flow.hops {
            if let Some(p) = phrase(hop, &flow.dst, func) {
                let at = hop.at.as_ref().map(|p| p.short());
                if steps.last() != Some(&(p.clone(), at.clone())) {
                    steps.push((p, at));
                }
            }
        }
    }
    let mut out = format!("{subject} {verb}: ");
    for (i, (p, at)) in steps.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(p);
        let next_at = steps.get(i + 1).map(|(_, a)| a);
        if let Some(at) = at
            && next_at != Some(&Some(at.clone()))
        {
            out.push_str(" at ");
            out.push_str(at);
        }
    }
    let last = e.flows.last().map(|f| f.dst.as_str()).unwrap_or("");
    let returned = steps.iter().any(|(p, _)| p.starts_with("returned as "));
    let ending = if last == "{heap}" {
        Some("to the heap".to_string())
    } else if (returned && is_result(last)) || last.is_empty() {
        None
    } else {
        Some(format!("into {}", storage(last)))
    };
    if let Some(end) = ending {
        if !steps.is_empty() {
            out.push_str(", ");
        }
        out.push_str(&end);
    }
    out
}

/// `Map[go.shape.int]` → `Map[...]`.
fn short_type_args(name: &str) -> String {
    let mut out = String::new();
    let mut depth = 0u32;
    for c in name.chars() {
        match c {
            '[' => {
                if depth == 0 {
                    out.push_str("[...]");
                }
                depth += 1;
            }
            ']' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// `to result ~r0 level=0` → `to result ~r0`.
fn strip_level(d: &str) -> &str {
    d.rsplit_once(" level=").map(|(a, _)| a).unwrap_or(d)
}

/// `~r0`, `~r1`: an unnamed result.
fn is_result(dst: &str) -> bool {
    dst.strip_prefix("~r")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// `{storage for func literal}` → `the func literal`.
fn storage(s: &str) -> String {
    match s
        .strip_prefix("{storage for ")
        .and_then(|r| r.strip_suffix('}'))
    {
        Some(inner) => format!("the {inner}"),
        None => s.to_string(),
    }
}

/// The callee of a call expression: `fmt.Fprintln(os.Stdout, ...)` →
/// `fmt.Fprintln`.
fn callee(what: &str) -> &str {
    what.split('(').next().unwrap_or(what).trim()
}

/// What one hop says, or `None` for the bookkeeping ones (spill, reference).
fn phrase(hop: &Hop, dst: &str, func: &str) -> Option<String> {
    let what = hop.what.as_str();
    Some(match hop.why.as_str() {
        "spill" | "reference" | "" => return None,
        "return" => {
            if is_result(dst) || !dst.starts_with('{') {
                format!("returned as {dst} of {func}")
            } else {
                "returned".to_string()
            }
        }
        "call parameter" => format!("passed to {}", callee(what)),
        "address-of" => "its address taken".to_string(),
        "captured by a closure" => "captured by a closure".to_string(),
        "slice-literal-element" => {
            if what == "... argument" {
                "put in the ... argument".to_string()
            } else {
                "put in a slice literal".to_string()
            }
        }
        "assign"
        | "assign-pair"
        | "assign-pair-dot-type"
        | "assign-pair-func-call"
        | "assign-pair-mapr"
        | "assign-pair-receive" => {
            let lhs = what
                .split_once(" := ")
                .or_else(|| what.split_once(" = "))
                .map(|(l, _)| l)
                .unwrap_or(what);
            format!("assigned to {lhs}")
        }
        "non-constant size" => "its size is not constant".to_string(),
        "too large for stack" => "too large for the stack".to_string(),
        "interface-converted" => "converted to an interface".to_string(),
        "dot of pointer" | "star-dot-equals" | "indirection" => {
            "read through a pointer".to_string()
        }
        "dot" | "dot-equals" => format!("via {what}"),
        "key of map put" => "used as a map key".to_string(),
        "value of map put" => "stored as a map value".to_string(),
        "appended to slice" | "appendee slice" | "appended slice..." => {
            "appended to a slice".to_string()
        }
        "copied slice" => "copied".to_string(),
        "defer func" | "defer func arg" => "deferred".to_string(),
        "go func" | "go func arg" => "started as a goroutine".to_string(),
        "call function" => format!("called as {}", callee(what)),
        "receiver in indirect call" => "receiver of an indirect call".to_string(),
        "closure-var" => "a closure's variable".to_string(),
        why => format!("{why} ({what})"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Flow, Pos};

    fn pos(line: u32) -> Option<Pos> {
        Some(Pos {
            file: "./x.go".into(),
            line,
            col: 9,
        })
    }

    fn hop(what: &str, why: &str, line: u32) -> Hop {
        Hop {
            what: what.into(),
            why: why.into(),
            at: pos(line),
        }
    }

    fn esc(kind: EscapeKind, expr: &str, flows: Vec<Flow>) -> Escape {
        Escape {
            pos: pos(13).unwrap_or_else(|| unreachable!()),
            kind,
            expr: expr.into(),
            detail: None,
            flows,
            compiler_function: None,
            why: String::new(),
        }
    }

    #[test]
    fn returned_pointer() {
        let e = esc(
            EscapeKind::EscapesToHeap,
            "&T{...}",
            vec![Flow {
                dst: "~r0".into(),
                src: "&{storage for &T{...}}".into(),
                hops: vec![
                    hop("&T{...}", "spill", 13),
                    hop("return &T{...}", "return", 13),
                ],
            }],
        );
        assert_eq!(
            fold(&e, "New"),
            "`&T{...}` escapes: returned as ~r0 of New at x.go:13"
        );
    }

    #[test]
    fn interface_argument() {
        let e = esc(
            EscapeKind::EscapesToHeap,
            "v * 3",
            vec![
                Flow {
                    dst: "{storage for ... argument}".into(),
                    src: "&{storage for v * 3}".into(),
                    hops: vec![
                        hop("v * 3", "spill", 44),
                        hop("... argument", "slice-literal-element", 44),
                    ],
                },
                Flow {
                    dst: "{heap}".into(),
                    src: "*fmt.a".into(),
                    hops: vec![hop(
                        "fmt.Fprintln(os.Stdout, fmt.a...)",
                        "call parameter",
                        44,
                    )],
                },
            ],
        );
        assert_eq!(
            fold(&e, "Show"),
            "`v * 3` escapes: put in the ... argument, passed to fmt.Fprintln at x.go:44, to the heap"
        );
    }

    #[test]
    fn type_args() {
        assert_eq!(
            short_type_args("(*P[go.shape.struct { a [2]int }]).Load"),
            "(*P[...]).Load"
        );
        assert_eq!(short_type_args("main.func1"), "main.func1");
    }

    #[test]
    fn summaries() {
        let mut e = esc(EscapeKind::LeakingParam, "p", vec![]);
        e.detail = Some("to result ~r0 level=0".into());
        assert_eq!(fold(&e, "F"), "`p` leaks to result ~r0");
        let e = esc(EscapeKind::MovedToHeap, "v", vec![]);
        assert_eq!(fold(&e, "F"), "`v` moved to heap");
    }
}
