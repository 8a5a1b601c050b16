//! Escapes ranked by the bytes a heap profile allocated at their line.

use std::collections::HashMap;

use gosleuth_pprof::Profile;
use serde::Serialize;

use crate::diff::Entry;
use crate::{Error, Report, Result, short_file};

/// One escape with the bytes allocated at its line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ranked {
    /// The escape and its function.
    #[serde(flatten)]
    pub entry: Entry,
    /// alloc_space bytes at the escape's file and line (`None`: no sample
    /// there, or a kind that does not allocate).
    pub bytes: Option<i64>,
    /// alloc_objects at that line.
    pub objects: Option<i64>,
    /// How many escapes share that line (the profile tells lines apart,
    /// not columns, so they share its bytes).
    pub line_shared_by: usize,
}

/// Ranks every allocating escape of `report` by the `alloc_space` bytes
/// `profile` recorded at its file and line, largest first; escapes with no
/// bytes follow in report order.
///
/// A sample is credited to the first frame, from the leaf, outside the
/// runtime (`runtime.*`, `internal/runtime/*`): the line that asked for
/// the memory (inlined frames included, innermost first). The compiler
/// prints files relative to the build directory and the profile absolute
/// paths, so a file matches when the profile's path ends with the
/// compiler's (`./` removed) at a `/`.
pub fn rank(report: &Report, profile: &Profile) -> Result<Vec<Ranked>> {
    let types = || {
        profile
            .sample_types
            .iter()
            .map(|t| t.ty.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let space = profile
        .sample_types
        .iter()
        .position(|t| t.ty == "alloc_space")
        .ok_or_else(|| Error::NotHeapProfile {
            wanted: "alloc_space".into(),
            has: types(),
        })?;
    let objects = profile
        .sample_types
        .iter()
        .position(|t| t.ty == "alloc_objects");
    // (file, line) → (bytes, objects).
    let mut at: HashMap<(&str, i64), Bytes> = HashMap::new();
    for s in profile.samples.iter() {
        let bytes = s.values.get(space).copied().unwrap_or(0);
        let objs = objects.and_then(|i| s.values.get(i)).copied().unwrap_or(0);
        'stack: for li in s.locations.iter() {
            let Some(loc) = profile.locations.get(li as usize) else {
                continue;
            };
            for line in &loc.lines {
                let Some(f) = profile.functions.get(line.function as usize) else {
                    continue;
                };
                if is_runtime(&f.name) {
                    continue;
                }
                let slot = at.entry((f.filename.as_str(), line.line)).or_default();
                slot.0 = slot.0.saturating_add(bytes);
                slot.1 = slot.1.saturating_add(objs);
                break 'stack;
            }
        }
    }
    // line → the files with samples there.
    let mut by_line: HashMap<i64, Vec<(&str, Bytes)>> = HashMap::new();
    for ((f, l), v) in &at {
        by_line.entry(*l).or_default().push((f, *v));
    }
    let lookup = |file: &str, line: u32| -> Option<(i64, i64)> {
        let want = short_file(file);
        let mut found: Option<(i64, i64)> = None;
        for (f, v) in by_line.get(&i64::from(line))? {
            if file_matches(f, want) {
                let s = found.get_or_insert((0, 0));
                s.0 = s.0.saturating_add(v.0);
                s.1 = s.1.saturating_add(v.1);
            }
        }
        found
    };
    let mut per_line: HashMap<(&str, u32), usize> = HashMap::new();
    for (_, e) in report.escapes().filter(|(_, e)| e.kind.allocates()) {
        *per_line
            .entry((e.pos.file.as_str(), e.pos.line))
            .or_default() += 1;
    }
    let mut out: Vec<Ranked> = report
        .escapes()
        .map(|(f, e)| {
            let hit = if e.kind.allocates() {
                lookup(&e.pos.file, e.pos.line)
            } else {
                None
            };
            Ranked {
                entry: Entry {
                    package: f.package.clone(),
                    function: f.name.clone(),
                    escape: e.clone(),
                },
                bytes: hit.map(|h| h.0),
                objects: hit.filter(|_| objects.is_some()).map(|h| h.1),
                line_shared_by: per_line
                    .get(&(e.pos.file.as_str(), e.pos.line))
                    .copied()
                    .unwrap_or(1),
            }
        })
        .collect();
    // Stable: equal bytes (and no bytes) keep report order.
    out.sort_by_key(|r| std::cmp::Reverse(r.bytes.map(|b| (1, b)).unwrap_or((0, 0))));
    Ok(out)
}

/// (alloc_space, alloc_objects).
type Bytes = (i64, i64);

fn is_runtime(name: &str) -> bool {
    name.starts_with("runtime.") || name.starts_with("internal/runtime/")
}

/// `/src/app/x.go` matches `x.go` and `app/x.go`, not `pp/x.go`.
fn file_matches(profile_file: &str, compiler_file: &str) -> bool {
    if compiler_file.is_empty() {
        return false;
    }
    profile_file == compiler_file
        || profile_file
            .strip_suffix(compiler_file)
            .is_some_and(|head| head.ends_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files() {
        assert!(file_matches("/src/app/x.go", "x.go"));
        assert!(file_matches("/src/app/x.go", "app/x.go"));
        assert!(!file_matches("/src/app/x.go", "pp/x.go"));
        assert!(file_matches("x.go", "x.go"));
        assert!(!file_matches("/x.go", ""));
    }
}
