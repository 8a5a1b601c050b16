//! Snapshots (insta) of what gosleuth prints for every committed text
//! fixture (`fixtures/text`, described in fixtures/README.md): one snapshot
//! per fixture under `tests/snapshots/fixtures/<directory>/`, holding the
//! exit status, standard output and standard error of
//!
//! - `triage --no-source` (every fixture: panics, fatal errors, goroutine
//!   dumps, race reports) and `triage --no-source --format json` (the
//!   fixtures of the newest Go release, `embedded/` and `seeds/`: the JSON
//!   of every release would be 6.5 MB, and the same renderer writes it; the
//!   older releases' parses are pinned by the text and diagnose's JSON);
//! - `diagnose` and `diagnose --format json` (every fixture but the service
//!   logs of `embedded/`, which diagnose does not read);
//! - `logs` and `logs --format json` (the service logs of `embedded/`).
//!
//! `--no-source` because the source lines around a root cause come from
//! whatever files the machine has (the recorded paths are the factory's).
//! A changed output fails the test and insta writes `.snap.new` beside the
//! snapshot (none with `INSTA_UPDATE=no`, as in CI); accept a deliberate
//! change with `cargo insta review`, or rewrite them all with
//! `INSTA_UPDATE=always INSTA_FORCE_PASS=1 cargo test -p gosleuth --test it fixtures`
//! and read the diff (docs/testing.md).

use std::path::Path;

use gosleuth_testkit as kit;

use crate::gosleuth;

/// `$ gosleuth ARGS`, then the exit status, standard output and standard
/// error (when not empty).
fn run(args: &[&str]) -> String {
    let o = gosleuth(args);
    let mut s = format!("$ gosleuth {}\n", args.join(" "));
    let status = o
        .status
        .code()
        .map_or("killed".to_string(), |c| c.to_string());
    s.push_str(&format!("exit status: {status}\n"));
    s.push_str(&String::from_utf8_lossy(&o.stdout));
    if !o.stderr.is_empty() {
        s.push_str("--- stderr\n");
        s.push_str(&String::from_utf8_lossy(&o.stderr));
    }
    if !s.ends_with('\n') {
        s.push('\n');
    }
    s
}

/// What gosleuth prints for one fixture (`rel`, relative to the
/// repository root, which is where the commands run).
fn outputs(rel: &str, service_log: bool, triage_json: bool) -> String {
    let mut runs: Vec<Vec<&str>> = vec![vec!["triage", "--no-source", rel]];
    if triage_json {
        runs.push(vec!["triage", "--no-source", "--format", "json", rel]);
    }
    if service_log {
        runs.push(vec!["logs", rel]);
        runs.push(vec!["logs", "--format", "json", rel]);
    } else {
        runs.push(vec!["diagnose", rel]);
        runs.push(vec!["diagnose", "--format", "json", rel]);
    }
    runs.iter().map(|a| run(a)).collect::<Vec<_>>().join("\n")
}

/// The newest Go release under `fixtures/text` (`go1.26.8`).
fn newest_release() -> String {
    let root = kit::repo_root().join("fixtures/text");
    let version = |name: &str| -> Option<(u32, u32)> {
        let mut it = name.strip_prefix("go1.")?.split('.');
        Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
    };
    std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", root.display()))
        .map(|e| e.expect("directory entry").file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .filter_map(|n| Some((version(&n)?, n)))
        .max()
        .map(|(_, n)| n)
        .expect("a go1.* directory under fixtures/text")
}

/// Snapshots every fixture of `fixtures/text/<dir>`.
fn snapshot_dir(dir: &str) {
    let root = kit::repo_root().join("fixtures/text").join(dir);
    let service_logs = dir == "embedded";
    let triage_json = !dir.starts_with("go1.") || dir == newest_release();
    let mut names: Vec<String> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", root.display()))
        .map(|e| e.expect("directory entry").file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".md"))
        .collect();
    names.sort();
    assert!(!names.is_empty(), "no fixture in {}", root.display());
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(Path::new("../snapshots/fixtures").join(dir));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    for name in names {
        let rel = format!("fixtures/text/{dir}/{name}");
        settings.set_input_file(kit::repo_root().join(&rel));
        settings.bind(|| {
            insta::assert_snapshot!(name.as_str(), outputs(&rel, service_logs, triage_json));
        });
    }
}

macro_rules! fixture_dirs {
    ($($test:ident => $dir:literal),* $(,)?) => {
        $(
            #[test]
            fn $test() {
                snapshot_dir($dir);
            }
        )*
    };
}

fixture_dirs! {
    fixtures_go1_17 => "go1.17.13",
    fixtures_go1_18 => "go1.18.10",
    fixtures_go1_19 => "go1.19.13",
    fixtures_go1_20 => "go1.20.14",
    fixtures_go1_21 => "go1.21.13",
    fixtures_go1_22 => "go1.22.12",
    fixtures_go1_23 => "go1.23.12",
    fixtures_go1_24 => "go1.24.13",
    fixtures_go1_25 => "go1.25.7",
    fixtures_go1_26 => "go1.26.8",
    fixtures_embedded => "embedded",
    fixtures_seeds => "seeds",
}

/// Every directory of `fixtures/text` has its test above, and every
/// snapshot its fixture (a removed fixture leaves no stale snapshot).
#[test]
fn every_fixture_directory_is_snapshotted() {
    let root = kit::repo_root().join("fixtures/text");
    let mut dirs: Vec<String> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", root.display()))
        .map(|e| e.expect("directory entry"))
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    let src = include_str!("fixtures.rs");
    for d in dirs {
        assert!(
            src.contains(&format!("=> \"{d}\"")),
            "fixtures/text/{d} has no test in fixtures.rs: add it to fixture_dirs!"
        );
    }
    let snapshots = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/fixtures");
    for dir in std::fs::read_dir(&snapshots)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", snapshots.display()))
    {
        let dir = dir.expect("directory entry").path();
        for snap in std::fs::read_dir(&dir).expect("snapshot directory") {
            let snap = snap.expect("directory entry").path();
            let name = snap.file_name().unwrap_or_default().to_string_lossy();
            let Some(fixture) = name.strip_suffix(".snap") else {
                continue;
            };
            let rel = root.join(dir.file_name().unwrap_or_default()).join(fixture);
            assert!(
                rel.is_file(),
                "{} has no fixture {}: remove it",
                snap.display(),
                rel.display()
            );
        }
    }
}
