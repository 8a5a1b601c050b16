//! The text and JSON reports of `gosleuth escape`.

use std::fmt::Write as _;

use serde::Serialize;

use crate::{Diff, Function, Inlining, Pos, Ranked, Report};

/// Most over-budget functions the text lists (JSON has them all).
const MAX_OVER_BUDGET: usize = 20;

/// Most removed-nil-check lines a function's text line names.
const MAX_REMOVED_LINES: usize = 8;

/// The report as text: per function (those with escapes), one line per
/// escape, then the inlining summary, then the bounds and nil checks when
/// the output has them ([`checks_text`]).
pub fn text(report: &Report) -> String {
    let mut out = String::new();
    let mut package = None;
    let mut quiet = 0usize;
    for f in &report.functions {
        if f.escapes.is_empty() {
            quiet += 1;
            continue;
        }
        if package != Some(&f.package) && !f.package.is_empty() {
            let _ = writeln!(out, "# {}", f.package);
        }
        package = Some(&f.package);
        let _ = writeln!(out, "{}", function_head(f));
        for e in &f.escapes {
            let _ = writeln!(out, "  {}  {}", e.pos, e.why);
        }
    }
    let escapes: usize = report.functions.iter().map(|f| f.escapes.len()).sum();
    let stays: usize = report
        .functions
        .iter()
        .map(|f| f.does_not_escape.len())
        .sum();
    if escapes == 0 {
        let _ = writeln!(out, "nothing escapes");
    }
    let _ = writeln!(
        out,
        "\n{} in {}; {} on the stack; {} with no escape",
        plural(escapes, "escape"),
        plural(report.functions.len() - quiet, "function"),
        plural(stays, "value"),
        plural(quiet, "function"),
    );
    out.push_str(&inlining_summary(report));
    if !report.detailed {
        let _ = writeln!(
            out,
            "(-m output: no flows, costs or cannot-inline reasons; build with -gcflags=-m=2 for them)"
        );
    }
    if report.checks {
        out.push('\n');
        out.push_str(&checks_text(report));
    }
    out
}

/// The bounds and nil checks: per function with a check left, one line
/// per kept check, and the nil checks removed there; then the totals.
/// Functions whose nil checks were all removed are only counted.
pub fn checks_text(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "checks left in the code (a bounds check not listed was eliminated or never needed; a removed nil check costs nothing):"
    );
    let mut package = None;
    let (mut bounds, mut kept, mut removed) = (0usize, 0usize, 0usize);
    let (mut with_bounds, mut with_kept, mut only_removed) = (0usize, 0usize, 0usize);
    for f in &report.functions {
        let f_kept = f.nil_checks.iter().filter(|c| c.kept).count();
        let f_removed = f.nil_checks.len() - f_kept;
        bounds += f.bounds_checks.len();
        kept += f_kept;
        removed += f_removed;
        with_bounds += usize::from(!f.bounds_checks.is_empty());
        with_kept += usize::from(f_kept > 0);
        if f.bounds_checks.is_empty() && f_kept == 0 {
            only_removed += usize::from(f_removed > 0);
            continue;
        }
        if package != Some(&f.package) && !f.package.is_empty() {
            let _ = writeln!(out, "# {}", f.package);
        }
        package = Some(&f.package);
        let mut s = f.name.clone();
        if let Some(d) = &f.decl {
            let _ = write!(s, " ({})", d.short());
        }
        let mut notes: Vec<String> = Vec::new();
        if !f.bounds_checks.is_empty() {
            notes.push(plural(f.bounds_checks.len(), "bounds check"));
        }
        if f_kept > 0 {
            notes.push(plural(f_kept, "nil check"));
        }
        if f_removed > 0 {
            let mut lines: Vec<u32> = f
                .nil_checks
                .iter()
                .filter(|c| !c.kept)
                .map(|c| c.pos.line)
                .collect();
            lines.dedup();
            let mut at: Vec<String> = lines
                .iter()
                .take(MAX_REMOVED_LINES)
                .map(u32::to_string)
                .collect();
            if lines.len() > MAX_REMOVED_LINES {
                at.push("...".into());
            }
            notes.push(format!(
                "{} removed (line {})",
                plural(f_removed, "nil check"),
                at.join(", ")
            ));
        }
        let _ = writeln!(out, "{s}: {}", notes.join("; "));
        let mut lines: Vec<(&Pos, String)> = f
            .bounds_checks
            .iter()
            .map(|c| (&c.pos, format!("{} ({})", c.what(), c.op)))
            .chain(
                f.nil_checks
                    .iter()
                    .filter(|c| c.kept)
                    .map(|c| (&c.pos, "nil check".to_string())),
            )
            .collect();
        lines.sort_by(|a, b| a.0.cmp(b.0));
        for (pos, what) in lines {
            let _ = writeln!(out, "  {pos}  {what}");
        }
    }
    if bounds == 0 && kept == 0 {
        let _ = writeln!(out, "no bounds check or nil check left");
    }
    let _ = writeln!(
        out,
        "{} kept in {}; {} kept in {}, {} removed ({} with only removed ones)",
        plural(bounds, "bounds check"),
        plural(with_bounds, "function"),
        plural(kept, "nil check"),
        plural(with_kept, "function"),
        removed,
        plural(only_removed, "function"),
    );
    out
}

/// `1 escape`, `2 escapes`.
fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// `NewT (main.go:24): cannot inline: marked go:noinline; 1 stays on the stack`.
fn function_head(f: &Function) -> String {
    let mut s = f.name.clone();
    if let Some(d) = &f.decl {
        let _ = write!(s, " ({})", d.short());
    }
    let mut notes: Vec<String> = Vec::new();
    match &f.inlining {
        Some(Inlining::CanInline { cost: Some(c) }) => notes.push(format!("can inline, cost {c}")),
        Some(Inlining::CanInline { cost: None }) => notes.push("can inline".into()),
        Some(Inlining::CannotInline { reason, .. }) => {
            notes.push(format!("cannot inline: {reason}"))
        }
        None => {}
    }
    if !f.does_not_escape.is_empty() {
        let n = f.does_not_escape.len();
        notes.push(format!(
            "{n} {} on the stack",
            if n == 1 { "stays" } else { "stay" }
        ));
    }
    if !f.inlined_calls.is_empty() {
        notes.push(plural(f.inlined_calls.len(), "call") + " inlined");
    }
    if !notes.is_empty() {
        let _ = write!(s, ": {}", notes.join("; "));
    }
    s
}

/// `inlining: 3 can inline, 10 cannot (1 over budget), 12 calls inlined`,
/// then the over-budget functions, nearest to the budget first.
fn inlining_summary(report: &Report) -> String {
    let mut can = 0usize;
    let mut cannot = 0usize;
    let mut over: Vec<(String, String, u32, u32)> = Vec::new();
    let mut calls = 0usize;
    for f in &report.functions {
        calls += f.inlined_calls.len();
        let own = f.inlining.iter().map(|i| (f.name.as_str(), i));
        let nested = f.nested.iter().map(|n| (n.name.as_str(), &n.inlining));
        for (name, inl) in own.chain(nested) {
            match inl {
                Inlining::CanInline { .. } => can += 1,
                Inlining::CannotInline { over_budget, .. } => {
                    cannot += 1;
                    if let Some((c, b)) = over_budget {
                        let at = f.decl.as_ref().map(|d| d.short()).unwrap_or_default();
                        over.push((name.to_string(), at, *c, *b));
                    }
                }
            }
        }
    }
    let mut out = format!(
        "inlining: {} can inline, {cannot} cannot ({} over budget), {} inlined\n",
        plural(can, "function"),
        over.len(),
        plural(calls, "call")
    );
    over.sort_by_key(|(n, _, c, b)| (c.saturating_sub(*b), n.clone()));
    for (name, at, c, b) in over.iter().take(MAX_OVER_BUDGET) {
        let _ = writeln!(
            out,
            "  {name} ({at}): cost {c} exceeds budget {b} by {}",
            c.saturating_sub(*b)
        );
    }
    if over.len() > MAX_OVER_BUDGET {
        let _ = writeln!(
            out,
            "  ... and {} more (--format json lists every decision)",
            over.len() - MAX_OVER_BUDGET
        );
    }
    out
}

/// The escapes `--diff` found new and gone.
pub fn diff_text(d: &Diff) -> String {
    let mut out = String::new();
    if d.new.is_empty() && d.gone.is_empty() {
        out.push_str("no escape added or removed\n");
        return out;
    }
    let _ = writeln!(out, "new escapes: {}", d.new.len());
    for e in &d.new {
        let _ = writeln!(out, "+ {}  {}  {}", e.escape.pos, e.function, e.escape.why);
    }
    let _ = writeln!(out, "gone escapes: {}", d.gone.len());
    for e in &d.gone {
        let _ = writeln!(out, "- {}  {}  {}", e.escape.pos, e.function, e.escape.why);
    }
    out
}

/// Escapes ranked by allocated bytes.
pub fn ranked_text(r: &[Ranked]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:>10} {:>9}  escape (alloc_space at its line)",
        "bytes", "objects"
    );
    for x in r {
        let bytes = x.bytes.map(human_bytes).unwrap_or_else(|| "-".into());
        let objs = x
            .objects
            .map(|o| o.to_string())
            .unwrap_or_else(|| "-".into());
        let shared = if x.line_shared_by > 1 && x.bytes.is_some() {
            format!(" (line shared by {} escapes)", x.line_shared_by)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "{bytes:>10} {objs:>9}  {}  {}  {}{shared}",
            x.entry.escape.pos, x.entry.function, x.entry.escape.why
        );
    }
    out
}

/// pprof's units: `512B`, `1.50kB`, `12.25MB`.
pub fn human_bytes(n: i64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v.abs() >= 1024.0 && u + 1 < units.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n}B")
    } else {
        format!("{v:.2}{}", units[u])
    }
}

/// The JSON document: the report, and the diff or the ranking when asked.
#[derive(Debug, Serialize)]
pub struct Document<'a> {
    /// The report.
    pub report: &'a Report,
    /// `--diff`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<&'a Diff>,
    /// `--profile`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ranked: Option<&'a [Ranked]>,
}

/// The `schema` number of the JSON document (docs/json.md); it changes
/// only on incompatible changes.
pub const SCHEMA: u32 = 1;

/// [`Document`] as pretty JSON with its `schema`, and a final newline.
pub fn json(doc: &Document<'_>) -> String {
    #[derive(Serialize)]
    struct WithSchema<'a> {
        schema: u32,
        #[serde(flatten)]
        doc: &'a Document<'a>,
    }
    let mut s = serde_json::to_string_pretty(&WithSchema {
        schema: SCHEMA,
        doc,
    })
    .unwrap_or_else(|e| format!("{{\"error\": {:?}}}", e.to_string()));
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes() {
        assert_eq!(human_bytes(512), "512B");
        assert_eq!(human_bytes(1536), "1.50kB");
        assert_eq!(human_bytes(3 * 1024 * 1024), "3.00MB");
    }
}
