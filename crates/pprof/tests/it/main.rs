//! Integration tests: our reports against `go tool pprof` (the oracle),
//! byte for byte, on real profiles written by a real Go program.
//!
//! Offline tier (plain `cargo test`): `golden.rs` compares our reports
//! with `go tool pprof`'s, committed under `tests/profiles/go-tool-pprof/`
//! beside the profiles they were made from (`GOSLEUTH_REGENERATE=1`
//! remakes them with the installed Go), and `robustness.rs` reads the same
//! committed profiles.
//!
//! Factory tier (`--features factory`; Go must be installed: the tests
//! fail with a clear message otherwise): the live comparisons. Profiles
//! come from `tests/goprog/main.go`, built with the installed Go and cached
//! under `~/.cache/gosleuth/` by content hash, and from the project's
//! evidence factory (`factory/factory.py`).

use std::path::{Path, PathBuf};
use std::process::Command;
#[cfg(feature = "factory")]
use std::sync::OnceLock;

#[cfg(feature = "factory")]
mod cases;
#[cfg(feature = "factory")]
mod fetch;
mod golden;
#[cfg(feature = "factory")]
mod leak_workflow;
mod robustness;

/// The `go` binary, or a panic that says how to fix the environment.
pub fn go_bin() -> PathBuf {
    let go = std::env::var_os("GO")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("go"));
    match Command::new(&go).arg("version").output() {
        Ok(o) if o.status.success() => go,
        _ => panic!(
            "these tests need the Go toolchain (`go` on PATH, or GO=/path/to/go): \
             `go tool pprof` is the oracle and the fixtures are built with it"
        ),
    }
}

#[cfg(feature = "factory")]
fn fnv(data: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for &b in data {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Profiles `tests/goprog` wrote (with Go 1.26.8), committed with
/// `go tool pprof`'s reports on them (`golden.rs`): the offline tier reads
/// these.
pub fn committed_profiles() -> PathBuf {
    crate_dir().join("tests/profiles")
}

/// Directory with the goprog profiles, built once per content hash.
#[cfg(feature = "factory")]
pub fn goprog_profiles() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let src = crate_dir().join("tests/goprog/main.go");
        let code = std::fs::read(&src).expect("read tests/goprog/main.go");
        let go = go_bin();
        let ver = Command::new(&go)
            .arg("version")
            .output()
            .expect("go version")
            .stdout;
        let mut key = code.clone();
        key.extend_from_slice(&ver);
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir);
        let dir = home
            .join(".cache/gosleuth")
            .join(format!("goprog-{:016x}", fnv(&key)));
        if dir.join("done").exists() && dir.join("goprog").exists() {
            return dir;
        }
        let tmp = std::env::temp_dir().join(format!("gosleuth-goprog-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(tmp.join("out")).expect("mkdir tmp");
        std::fs::write(tmp.join("main.go"), &code).expect("write main.go");
        std::fs::write(tmp.join("go.mod"), "module goprog\n\ngo 1.21\n").expect("write go.mod");
        let st = Command::new(&go)
            .args(["build", "-o", "goprog", "."])
            .current_dir(&tmp)
            .env("GOFLAGS", "-mod=mod")
            .status()
            .expect("run go build");
        assert!(st.success(), "go build of tests/goprog failed");
        let st = Command::new(tmp.join("goprog"))
            .arg(tmp.join("out"))
            .status()
            .expect("run goprog");
        assert!(st.success(), "tests/goprog failed to write its profiles");
        std::fs::rename(tmp.join("goprog"), tmp.join("out/goprog"))
            .expect("keep the goprog binary");
        std::fs::create_dir_all(dir.parent().expect("parent")).expect("mkdir cache");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::rename(tmp.join("out"), &dir).expect("move profiles into the cache");
        std::fs::write(dir.join("done"), "").expect("mark done");
        let _ = std::fs::remove_dir_all(&tmp);
        dir
    })
}

/// The factory's `leak` profiles (`pprof/` of its evidence directory) for
/// every Go release the tests cover; the factory makes them when missing.
#[cfg(feature = "factory")]
pub fn factory_profiles() -> Vec<(String, PathBuf)> {
    gosleuth_testkit::go_versions()
        .into_iter()
        .map(|go| {
            let dir = gosleuth_testkit::evidence(&go, &["leak"]).join("pprof");
            assert!(
                dir.is_dir(),
                "factory directory {} has no pprof/ subdirectory",
                dir.display()
            );
            (go, dir)
        })
        .collect()
}

/// Runs `go tool pprof ARGS` in `dir` with TZ=UTC.
#[cfg(feature = "factory")]
pub fn oracle(dir: &Path, args: &[&str]) -> Vec<u8> {
    oracle_tz(dir, args, Some("UTC"))
}

/// Runs `go tool pprof ARGS` in `dir` with `TZ` set to `tz` (`None`: unset).
pub fn oracle_tz(dir: &Path, args: &[&str], tz: Option<&str>) -> Vec<u8> {
    let mut cmd = Command::new(go_bin());
    cmd.arg("tool")
        .arg("pprof")
        .args(args)
        .current_dir(dir)
        .env("PPROF_BINARY_PATH", "/nonexistent");
    match tz {
        Some(tz) => cmd.env("TZ", tz),
        None => cmd.env_remove("TZ"),
    };
    let out = cmd.output().expect("run go tool pprof");
    assert!(
        out.status.success(),
        "go tool pprof {args:?} failed in {}:\n{}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Runs our driver with the same arguments (paths resolved against `dir`).
pub fn ours(dir: &Path, args: &[&str]) -> Vec<u8> {
    ours_tz(dir, args, Some("UTC"))
}

/// [`ours`] with the time zone `TZ=tz` would give (`None`: unset).
pub fn ours_tz(dir: &Path, args: &[&str], tz: Option<&str>) -> Vec<u8> {
    let args: Vec<String> = args
        .iter()
        .map(|a| {
            let p = dir.join(a);
            if !a.starts_with('-') && p.exists() {
                return p.to_string_lossy().into_owned();
            }
            if let Some((flag, v)) = a.split_once('=') {
                if matches!(flag, "-diff_base" | "-base") {
                    return format!("{flag}={}", dir.join(v).display());
                }
            }
            a.to_string()
        })
        .collect();
    let mut inv = gosleuth_pprof::driver::parse_args(&args)
        .unwrap_or_else(|e| panic!("gosleuth pprof {args:?}: {e}"));
    inv.cfg.time_zone = Some(gosleuth_pprof::tz::Location::from_tz_var(tz));
    gosleuth_pprof::driver::run_invocation(&inv)
        .unwrap_or_else(|e| panic!("gosleuth pprof {args:?}: {e}"))
        .report
}

/// Row text without the order-dependent `sum%` column, for reports where
/// go tool pprof itself orders tied rows at random (map iteration).
#[cfg(feature = "factory")]
pub fn unordered(report: &[u8]) -> Vec<String> {
    let s = String::from_utf8_lossy(report);
    let mut head = Vec::new();
    let mut rows = Vec::new();
    let mut in_rows = false;
    for line in s.lines() {
        if in_rows {
            let f: Vec<&str> = line.split_whitespace().collect();
            let mut f2 = f.clone();
            if f2.len() > 2 {
                f2.remove(2);
            }
            rows.push(f2.join(" "));
        } else {
            head.push(line.to_string());
            in_rows = line.trim_start().starts_with("flat  flat%");
        }
    }
    rows.sort();
    head.extend(rows);
    head
}

/// Compares our output to the oracle's; on mismatch shows a diff-like excerpt.
#[cfg(feature = "factory")]
pub fn assert_same(dir: &Path, args: &[&str]) {
    assert_same_tz(dir, args, Some("UTC"));
}

/// [`assert_same`] with `TZ=tz` (`None`: unset) for both tools.
#[cfg(feature = "factory")]
pub fn assert_same_tz(dir: &Path, args: &[&str], tz: Option<&str>) {
    let want = oracle_tz(dir, args, tz);
    let got = ours_tz(dir, args, tz);
    if want != got {
        let (w, g) = (
            String::from_utf8_lossy(&want),
            String::from_utf8_lossy(&got),
        );
        let mut msg = String::new();
        for (i, (a, b)) in w.lines().zip(g.lines()).enumerate() {
            if a != b {
                msg = format!(
                    "first difference at line {}:\n go: {a:?}\nours: {b:?}",
                    i + 1
                );
                break;
            }
        }
        if msg.is_empty() {
            msg = format!(
                "line counts differ: go {} vs ours {}",
                w.lines().count(),
                g.lines().count()
            );
        }
        panic!(
            "`pprof {}` in {} (TZ={tz:?}) differs from go tool pprof\n{msg}",
            args.join(" "),
            dir.display()
        );
    }
}
