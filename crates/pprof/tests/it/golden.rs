//! Our reports against `go tool pprof`'s, offline: the oracle's outputs
//! are committed in `tests/profiles/go-tool-pprof/`, one file per report,
//! beside the profiles they were made from (`tests/profiles/README.md`).
//!
//! `GOSLEUTH_REGENERATE=1 cargo test -p gosleuth-pprof --test it golden`
//! runs the installed `go tool pprof` to write them again (then compares
//! ours with what it wrote, as here); the factory tier compares with the
//! live `go tool pprof` on freshly written profiles (`cases.rs`).

use std::path::{Path, PathBuf};

use super::{committed_profiles, ours_tz};

/// The profiles of `tests/profiles`, every report below is made on each.
const KINDS: &[&str] = &[
    "cpu.pb.gz",
    "heapold.pb.gz",
    "heapnew.pb.gz",
    "allocs.pb.gz",
    "goroutine.pb.gz",
    "mutex.pb.gz",
    "block.pb.gz",
    "threadcreate.pb.gz",
];

/// Reports on every kind.
const EVERY_KIND: &[&[&str]] = &[&["-top"], &["-traces"], &["-tree"], &["-raw"]];

/// Reports on one profile: options, filters, units, comparisons.
const ONE_KIND: &[&[&str]] = &[
    &["-top", "-cum", "-nodecount=10", "cpu.pb.gz"],
    &["-top", "-focus=main", "cpu.pb.gz"],
    &["-top", "-hide=runtime", "cpu.pb.gz"],
    &["-top", "-nodefraction=0", "-cum", "cpu.pb.gz"],
    &["-top", "-unit=s", "cpu.pb.gz"],
    &["-top", "-sample_index=alloc_space", "heapnew.pb.gz"],
    &["-top", "-inuse_objects", "heapnew.pb.gz"],
    &["-top", "-unit=kb", "heapnew.pb.gz"],
    &["-top", "-mean_delay", "mutex.pb.gz"],
    &["-top", "-contentions", "block.pb.gz"],
    &["-peek=main\\.", "cpu.pb.gz"],
    &["-top", "-diff_base=heapold.pb.gz", "heapnew.pb.gz"],
    &["-top", "-base=heapold.pb.gz", "heapnew.pb.gz"],
    &["-tree", "-diff_base=heapold.pb.gz", "heapnew.pb.gz"],
    &["-top", "heapold.pb.gz", "heapnew.pb.gz"],
];

/// Every report's arguments.
fn reports() -> Vec<Vec<&'static str>> {
    let mut out: Vec<Vec<&str>> = Vec::new();
    for flags in EVERY_KIND {
        for k in KINDS {
            let mut a = flags.to_vec();
            a.push(k);
            out.push(a);
        }
    }
    out.extend(ONE_KIND.iter().map(|a| a.to_vec()));
    out
}

/// The committed file of a report: its arguments, `-` and `.pb.gz` dropped,
/// joined by `.` (`-top -cum cpu.pb.gz` → `top.cum.cpu.txt`).
fn expected_file(dir: &Path, args: &[&str]) -> PathBuf {
    let parts: Vec<String> = args
        .iter()
        .map(|a| {
            a.trim_start_matches('-')
                .trim_end_matches(".pb.gz")
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect()
        })
        .collect();
    dir.join("go-tool-pprof")
        .join(format!("{}.txt", parts.join(".")))
}

fn regenerate() -> bool {
    std::env::var_os("GOSLEUTH_REGENERATE").is_some_and(|v| v == "1")
}

#[test]
fn reports_match_the_committed_go_tool_pprof_outputs() {
    let dir = committed_profiles();
    let mut failures = Vec::new();
    let mut files = Vec::new();
    for args in reports() {
        let path = expected_file(&dir, &args);
        if regenerate() {
            let want = super::oracle_tz(&dir, &args, Some("UTC"));
            let _ = std::fs::create_dir_all(dir.join("go-tool-pprof"));
            std::fs::write(&path, want)
                .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        }
        let want = std::fs::read(&path).unwrap_or_else(|e| {
            panic!(
                "cannot read {}: {e}; GOSLEUTH_REGENERATE=1 remakes it with go tool pprof",
                path.display()
            )
        });
        let got = ours_tz(&dir, &args, Some("UTC"));
        if got != want {
            let (w, g) = (
                String::from_utf8_lossy(&want),
                String::from_utf8_lossy(&got),
            );
            let first = w
                .lines()
                .zip(g.lines())
                .position(|(a, b)| a != b)
                .map(|i| {
                    format!(
                        "first difference at line {}:\n  go: {:?}\nours: {:?}",
                        i + 1,
                        w.lines().nth(i).unwrap_or_default(),
                        g.lines().nth(i).unwrap_or_default()
                    )
                })
                .unwrap_or_else(|| {
                    format!(
                        "line counts differ: go {} vs ours {}",
                        w.lines().count(),
                        g.lines().count()
                    )
                });
            failures.push(format!("`pprof {}`: {first}", args.join(" ")));
        }
        files.push(path);
    }
    // No stale file: every committed output belongs to a report above.
    let listed = std::fs::read_dir(dir.join("go-tool-pprof")).expect("go-tool-pprof/ exists");
    for entry in listed {
        let path = entry.expect("directory entry").path();
        if !files.contains(&path) {
            failures.push(format!(
                "{} belongs to no report of golden.rs: remove it",
                path.display()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} reports differ from go tool pprof's committed output:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}
