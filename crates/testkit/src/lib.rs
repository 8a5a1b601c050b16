//! Test support shared by the crates' integration tests: runs the evidence
//! factory (`factory/factory.py`) and says which Go releases to test.
//!
//! Two tiers (docs/testing.md): what needs Go, Python, dlv or gdb (the
//! factory, the live processes, the oracles) is compiled only with this
//! crate's `factory` feature, which each tested crate's own `factory`
//! feature turns on; without it only [`repo_root`], [`read`],
//! [`source_line`] and [`Rng`] exist, which read committed files. So an offline test
//! cannot reach the factory: it would not compile.
//!
//! Tests never skip silently: when Go or Python is missing, or the factory
//! fails, these functions panic with what went wrong and how to fix it.

#![forbid(unsafe_code)]

#[cfg(feature = "factory")]
pub mod process;
mod rng;

pub use rng::Rng;

#[cfg(feature = "factory")]
use std::collections::HashMap;
use std::path::{Path, PathBuf};
#[cfg(feature = "factory")]
use std::process::Command;
#[cfg(feature = "factory")]
use std::sync::Mutex;

/// Every Go release of the factory's matrix (its `default` group): the
/// installed one and older releases fetched through `GOTOOLCHAIN`.
#[cfg(feature = "factory")]
pub const ALL_GO_VERSIONS: &[&str] = &[
    "installed",
    "go1.21.13",
    "go1.22.12",
    "go1.23.12",
    "go1.24.13",
    "go1.25.7",
];

/// The releases every test runs against by default: the newest (the
/// installed Go) and the oldest of the matrix. The releases between them
/// are tested by default only where a layout differs
/// ([`layout_go_versions`]); `GOSLEUTH_GO_VERSIONS=all` tests everything on
/// every release.
#[cfg(feature = "factory")]
pub const DEFAULT_GO_VERSIONS: &[&str] = &["installed", "go1.21.13"];

/// A comma-separated list of releases from `var`, where `all` stands for
/// `all` and `old` for [`OLD_GO_VERSIONS`]; `None` when unset.
#[cfg(feature = "factory")]
fn versions_from(var: &str, all: &[&str]) -> Option<Vec<String>> {
    let v = std::env::var(var).ok().filter(|v| !v.trim().is_empty())?;
    let mut out: Vec<String> = Vec::new();
    for item in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let group: Vec<String> = match item {
            "all" => all.iter().map(|s| s.to_string()).collect(),
            "old" => OLD_GO_VERSIONS.iter().map(|s| s.to_string()).collect(),
            one => vec![one.to_string()],
        };
        for g in group {
            if !out.contains(&g) {
                out.push(g);
            }
        }
    }
    Some(out)
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .map(Path::to_path_buf)
        .expect("testkit lives at crates/testkit")
}

/// Go releases to test against: `GOSLEUTH_GO_VERSIONS` (comma-separated;
/// `all` is the whole matrix) or [`DEFAULT_GO_VERSIONS`].
#[cfg(feature = "factory")]
pub fn go_versions() -> Vec<String> {
    versions_from("GOSLEUTH_GO_VERSIONS", ALL_GO_VERSIONS)
        .unwrap_or_else(|| DEFAULT_GO_VERSIONS.iter().map(|s| s.to_string()).collect())
}

/// Go releases for the tests of what differs from release to release in
/// the runtime's own layout (the built-in layout table against DWARF, and
/// goroutines, wait reasons and labels read from live processes with it):
/// `GOSLEUTH_LAYOUT_GO_VERSIONS` (comma-separated; `all` allowed), else
/// every release of the matrix ([`ALL_GO_VERSIONS`]; each release has its
/// own layout) followed by any other release of [`go_versions`]. These
/// tests need only default and stripped builds of one program, no cores.
#[cfg(feature = "factory")]
pub fn layout_go_versions() -> Vec<String> {
    versions_from("GOSLEUTH_LAYOUT_GO_VERSIONS", ALL_GO_VERSIONS).unwrap_or_else(|| {
        let mut out: Vec<String> = ALL_GO_VERSIONS.iter().map(|s| s.to_string()).collect();
        for v in go_versions() {
            if !out.contains(&v) {
                out.push(v);
            }
        }
        out
    })
}

/// Older releases (also fetched through `GOTOOLCHAIN`) for which the
/// factory makes the text evidence only (`crash`, `racepanic`, `rpcrace`,
/// `mapwrites`, `variants`, `goleak`, `metricsdeadlock`; `--go old`).
#[cfg(feature = "factory")]
pub const OLD_GO_VERSIONS: &[&str] = &["go1.17.13", "go1.18.10", "go1.19.13", "go1.20.14"];

/// Go releases to test the text parsers against: `GOSLEUTH_TEXT_GO_VERSIONS`
/// (comma-separated; `old`, and `all` for old and the matrix, allowed) or
/// [`OLD_GO_VERSIONS`]
/// followed by [`go_versions`] (a release listed in both appears once).
#[cfg(feature = "factory")]
pub fn text_go_versions() -> Vec<String> {
    let all: Vec<&str> = OLD_GO_VERSIONS
        .iter()
        .chain(ALL_GO_VERSIONS)
        .copied()
        .collect();
    versions_from("GOSLEUTH_TEXT_GO_VERSIONS", &all).unwrap_or_else(|| {
        let mut out: Vec<String> = Vec::new();
        for v in OLD_GO_VERSIONS
            .iter()
            .map(|s| s.to_string())
            .chain(go_versions())
        {
            if !out.contains(&v) {
                out.push(v);
            }
        }
        out
    })
}

#[cfg(feature = "factory")]
static CACHE: Mutex<Option<HashMap<String, PathBuf>>> = Mutex::new(None);

/// Runs `python3 factory/factory.py SUBCOMMAND --go GO ARGS...` (cached:
/// the factory skips what it has already made) and returns the output
/// directory it prints last.
#[cfg(feature = "factory")]
pub fn factory(subcommand: &str, go: &str, args: &[&str]) -> PathBuf {
    let key = format!("{subcommand} {go} {}", args.join(" "));
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(dir) = cache.get_or_insert_with(HashMap::new).get(&key) {
        return dir.clone();
    }
    let root = repo_root();
    let out = Command::new("python3")
        .arg(root.join("factory/factory.py"))
        .arg(subcommand)
        .args(["--go", go])
        .args(args)
        .current_dir(&root)
        .output()
        .unwrap_or_else(|e| panic!("cannot run python3 factory/factory.py: {e}; install Python 3"));
    if !out.status.success() {
        panic!(
            "factory {key} failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let dir = PathBuf::from(
        stdout
            .lines()
            .last()
            .unwrap_or_else(|| panic!("factory {key} printed no output directory"))
            .trim(),
    );
    assert!(
        dir.is_dir(),
        "factory {key} printed {} which is not a directory",
        dir.display()
    );
    cache
        .get_or_insert_with(HashMap::new)
        .insert(key, dir.clone());
    dir
}

/// One binary the factory builds for a Go release (`parked`,
/// `parked.noopt`, `crash.noopt`, `leak.pie`, ...), built if missing:
/// only what a test reads is built.
#[cfg(feature = "factory")]
pub fn binary(go: &str, name: &str) -> PathBuf {
    factory("build", go, &["--binary", name])
        .join("bin")
        .join(name)
}

/// The evidence directory for one Go release, with `cases` made.
#[cfg(feature = "factory")]
pub fn evidence(go: &str, cases: &[&str]) -> PathBuf {
    let mut args = Vec::new();
    for c in cases {
        args.push("--case");
        args.push(c);
    }
    factory("evidence", go, &args)
}

/// Reads a file the factory made, with a clear message when it is missing.
pub fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| {
        panic!(
            "cannot read factory artifact {}: {e}; run python3 factory/factory.py evidence",
            path.display()
        )
    })
}

/// The line number (1-based) of the first line of a factory program's
/// source that contains `needle`: lets tests name source lines without
/// hard-coding numbers.
pub fn source_line(program_file: &str, needle: &str) -> u32 {
    let path = repo_root().join("factory/programs").join(program_file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines()
        .position(|l| l.contains(needle))
        .map(|i| i as u32 + 1)
        .unwrap_or_else(|| panic!("{needle:?} not found in {}", path.display()))
}

/// The minor version of a Go release name (`go1.23.12` → 23); `installed`
/// asks the installed `go`.
#[cfg(feature = "factory")]
pub fn go_minor(go: &str) -> u32 {
    let name = if go == "installed" {
        let out = Command::new("go")
            .args(["env", "GOVERSION"])
            .output()
            .unwrap_or_else(|e| panic!("cannot run go env GOVERSION: {e}; install Go"));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    } else {
        go.to_string()
    };
    name.strip_prefix("go1.")
        .and_then(|r| r.split('.').next())
        .and_then(|m| m.parse().ok())
        .unwrap_or_else(|| panic!("cannot read the Go version in {name:?}"))
}

/// Where `go install github.com/go-delve/delve/cmd/dlv@latest` puts dlv
/// (`$(go env GOPATH)/bin`, else `~/go/bin`); panics with the install
/// command when it is not there (`.ci/run` installs it).
#[cfg(feature = "factory")]
pub fn dlv_path() -> PathBuf {
    let gopath = Command::new("go")
        .args(["env", "GOPATH"])
        .output()
        .ok()
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    [
        gopath.map(|p| p.join("bin/dlv")),
        Some(home.join("go/bin/dlv")),
    ]
    .into_iter()
    .flatten()
    .find(|p| p.exists())
    .unwrap_or_else(|| {
        panic!(
            "dlv not found: install it with `go install github.com/go-delve/delve/cmd/dlv@latest` \
             (.ci/run does)"
        )
    })
}
