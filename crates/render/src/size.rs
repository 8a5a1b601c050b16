//! `gosleuth bin size`: where a binary's bytes go, and what changed
//! between two builds.

use std::collections::HashMap;
use std::fmt::Write;

use gosleuth_gobin::size::{PackageSize, Part, Sizes};
use serde_json::{Value, json};

/// What the report's table lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SizeBy {
    Package,
    Symbol,
    Section,
}

/// `1.5 KiB`, `23.4 MiB`, `512 B`.
pub fn human(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    format!("{v:.1} {}", UNITS[u])
}

/// A signed [`human`].
fn signed(n: i128) -> String {
    let s = human(n.unsigned_abs().min(u128::from(u64::MAX)) as u64);
    match n.signum() {
        1 => format!("+{s}"),
        -1 => format!("-{s}"),
        _ => s,
    }
}

/// The report of one binary.
pub fn text(name: &str, s: &Sizes, by: SizeBy, top: usize) -> String {
    let mut o = String::new();
    let t = s.totals();
    let file: u64 = s.sections.iter().map(|s| s.file_size).sum();
    let program: u64 = [Part::Text, Part::ReadOnly, Part::Data, Part::Pclntab]
        .iter()
        .map(|&p| t[p as usize])
        .sum();
    let _ = writeln!(
        o,
        "{name}: {} of program (text, rodata, data, pclntab), {} of DWARF, {} of bss; {} of sections in the file{}",
        human(program),
        human(t[Part::Debug as usize]),
        human(t[Part::Bss as usize]),
        human(file),
        if s.symbols {
            ""
        } else {
            "; no symbol table: text by the pclntab's functions, other sections whole"
        }
    );
    let _ = writeln!(o);
    match by {
        SizeBy::Section => {
            let _ = writeln!(
                o,
                "{:>10}  {:>10}  {:<8} SECTION",
                "SIZE", "IN FILE", "PART"
            );
            let mut secs: Vec<_> = s.sections.iter().collect();
            secs.sort_by(|a, b| b.size.cmp(&a.size).then_with(|| a.name.cmp(&b.name)));
            for sec in secs.iter().take(top) {
                let _ = writeln!(
                    o,
                    "{:>10}  {:>10}  {:<8} {}",
                    human(sec.size),
                    human(sec.file_size),
                    sec.part.name(),
                    sec.name
                );
            }
            rest(&mut o, secs.len(), top, "sections");
        }
        SizeBy::Package => {
            let pkgs = s.by_package();
            let _ = writeln!(
                o,
                "{:>10} {:>10} {:>10} {:>10} {:>10} {:>10}  PACKAGE",
                "PROGRAM", "TEXT", "RODATA", "DATA", "PCLNTAB", "BSS"
            );
            for p in pkgs.iter().take(top) {
                let _ = writeln!(o, "{}  {}", package_row(p), p.package);
            }
            rest(&mut o, pkgs.len(), top, "packages");
        }
        SizeBy::Symbol => {
            let mut pieces: Vec<_> = s.pieces.iter().collect();
            pieces.sort_by(|a, b| b.size.cmp(&a.size).then_with(|| a.name.cmp(&b.name)));
            let _ = writeln!(o, "{:>10}  {:<8} SYMBOL", "SIZE", "PART");
            for p in pieces.iter().take(top) {
                let _ = writeln!(
                    o,
                    "{:>10}  {:<8} {}",
                    human(p.size),
                    s.part(p).name(),
                    p.name
                );
            }
            rest(&mut o, pieces.len(), top, "symbols");
        }
    }
    o
}

fn package_row(p: &PackageSize) -> String {
    format!(
        "{:>10} {:>10} {:>10} {:>10} {:>10} {:>10}",
        human(p.in_file()),
        human(p.get(Part::Text)),
        human(p.get(Part::ReadOnly)),
        human(p.get(Part::Data)),
        human(p.get(Part::Pclntab)),
        human(p.get(Part::Bss))
    )
}

fn rest(o: &mut String, n: usize, top: usize, what: &str) {
    if n > top {
        let _ = writeln!(o, "... {} more {what} (--top to show more)", n - top);
    }
}

/// Sizes by key (package, symbol or section) of one binary, in memory
/// for packages, all bytes otherwise.
fn keyed(s: &Sizes, by: SizeBy) -> HashMap<String, u64> {
    let mut m = HashMap::new();
    match by {
        SizeBy::Package => {
            for p in s.by_package() {
                m.insert(p.package.clone(), p.in_file());
            }
        }
        SizeBy::Symbol => {
            for p in &s.pieces {
                *m.entry(p.name.clone()).or_default() += p.size;
            }
        }
        SizeBy::Section => {
            for sec in &s.sections {
                *m.entry(sec.name.clone()).or_default() += sec.size;
            }
        }
    }
    m
}

/// Rows of a comparison: key, old, new; the largest change first.
fn changes(old: &Sizes, new: &Sizes, by: SizeBy) -> Vec<(String, u64, u64)> {
    let (a, b) = (keyed(old, by), keyed(new, by));
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut rows: Vec<(String, u64, u64)> = keys
        .into_iter()
        .map(|k| {
            (
                k.clone(),
                a.get(k).copied().unwrap_or(0),
                b.get(k).copied().unwrap_or(0),
            )
        })
        .filter(|(_, x, y)| x != y)
        .collect();
    rows.sort_by(|x, y| {
        let dx = (i128::from(x.2) - i128::from(x.1)).abs();
        let dy = (i128::from(y.2) - i128::from(y.1)).abs();
        dy.cmp(&dx).then_with(|| x.0.cmp(&y.0))
    });
    rows
}

/// What changed from `old` to `new`.
pub fn diff_text(
    old_name: &str,
    old: &Sizes,
    new_name: &str,
    new: &Sizes,
    by: SizeBy,
    top: usize,
) -> String {
    let mut o = String::new();
    let program = |s: &Sizes| -> u64 {
        let t = s.totals();
        [Part::Text, Part::ReadOnly, Part::Data, Part::Pclntab]
            .iter()
            .map(|&p| t[p as usize])
            .sum()
    };
    let (x, y) = (program(old), program(new));
    let _ = writeln!(
        o,
        "{old_name} -> {new_name}: {} -> {} of program, text, rodata, data and pclntab ({}; packages by the same bytes)",
        human(x),
        human(y),
        signed(i128::from(y) - i128::from(x))
    );
    let _ = writeln!(o);
    let rows = changes(old, new, by);
    let what = match by {
        SizeBy::Package => "PACKAGE",
        SizeBy::Symbol => "SYMBOL",
        SizeBy::Section => "SECTION",
    };
    let _ = writeln!(o, "{:>11} {:>10} {:>10}  {what}", "CHANGE", "OLD", "NEW");
    for (k, a, b) in rows.iter().take(top) {
        let _ = writeln!(
            o,
            "{:>11} {:>10} {:>10}  {k}",
            signed(i128::from(*b) - i128::from(*a)),
            human(*a),
            human(*b)
        );
    }
    if rows.is_empty() {
        let _ = writeln!(o, "(no change)");
    }
    rest(&mut o, rows.len(), top, "changes");
    o
}

/// The JSON document of one binary: exact byte counts.
pub fn json(name: &str, s: &Sizes) -> Value {
    let t = s.totals();
    let mut v: Vec<_> = s.pieces.iter().collect();
    v.sort_by(|a, b| b.size.cmp(&a.size).then_with(|| a.name.cmp(&b.name)));
    let pieces: Vec<Value> = v
        .iter()
        .map(|p| {
            json!({
                "name": p.name,
                "package": p.package,
                "section": s.sections.get(p.section).map(|x| x.name.as_str()),
                "part": s.part(p).name(),
                "size": p.size,
            })
        })
        .collect();
    json!({
        "path": name,
        "symbols": s.symbols,
        "totals": Part::ALL.iter().map(|&p| (p.name().to_string(), json!(t[p as usize]))).collect::<serde_json::Map<_, _>>(),
        "sections": s.sections.iter().map(|sec| json!({
            "name": sec.name, "part": sec.part.name(), "size": sec.size, "file_size": sec.file_size,
        })).collect::<Vec<_>>(),
        "packages": s.by_package().iter().map(|p| {
            let mut m = serde_json::Map::new();
            m.insert("package".into(), json!(p.package));
            for part in Part::LOADED {
                m.insert(part.name().into(), json!(p.get(part)));
            }
            m.insert("program".into(), json!(p.in_file()));
            Value::Object(m)
        }).collect::<Vec<_>>(),
        "symbols_by_size": pieces,
    })
}

/// The JSON document of a comparison.
pub fn diff_json(old_name: &str, old: &Sizes, new_name: &str, new: &Sizes, by: SizeBy) -> Value {
    json!({
        "old": old_name,
        "new": new_name,
        "changes": changes(old, new, by).iter().map(|(k, a, b)| json!({
            "name": k, "old": a, "new": b, "change": i128::from(*b) - i128::from(*a),
        })).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::human;

    #[test]
    fn human_sizes() {
        assert_eq!(human(512), "512 B");
        assert_eq!(human(1536), "1.5 KiB");
        assert_eq!(human(3 * 1024 * 1024), "3.0 MiB");
    }
}
