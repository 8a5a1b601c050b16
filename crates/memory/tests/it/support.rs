//! Test support: factory evidence, symbols, gdb, and running Go programs
//! that are always killed.

use std::path::{Path, PathBuf};
use std::process::Command;

use gosleuth_testkit as kit;
use object::{Object, ObjectSymbol};

/// Cores for `go` (crash + lockorder cases, cached by the factory).
pub fn cores(go: &str) -> PathBuf {
    kit::factory("cores", go, &["--case", "crash", "--case", "lockorder"]).join("core")
}

/// A binary the factory builds for `go` (`parked`, `parked.pie`, ...).
pub fn bin(go: &str, name: &str) -> PathBuf {
    kit::binary(go, name)
}

/// The JSON sidecar of a core.
pub fn sidecar(core: &Path) -> serde_json::Value {
    let json = core.with_extension("json");
    serde_json::from_slice(&kit::read(&json)).expect("sidecar is JSON")
}

/// Address of a symbol in a binary.
pub fn symbol(bin: &Path, name: &str) -> u64 {
    let data = kit::read(bin);
    let f = object::File::parse(&*data).expect("binary parses");
    f.symbols()
        .find(|s| s.name() == Ok(name))
        .unwrap_or_else(|| panic!("{name} not in {}", bin.display()))
        .address()
}

/// Go's version as the factory names it, from a sidecar.
pub fn go_version(core: &Path) -> String {
    sidecar(core)["goversion"]
        .as_str()
        .expect("goversion")
        .to_string()
}

/// A thread as gdb shows it: LWP, rip, rsp.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Clone, Copy)]
pub struct GdbThread {
    pub lwp: i32,
    pub rip: u64,
    pub rsp: u64,
}

/// `gdb -batch -ex 'info threads' -ex 'thread apply all info registers rip rsp' BIN CORE`.
pub fn gdb_threads(bin: &Path, core: &Path) -> Vec<GdbThread> {
    let out = Command::new("gdb")
        .args([
            "-nx",
            "-batch",
            "-ex",
            "info threads",
            "-ex",
            "thread apply all info registers rip rsp",
        ])
        .arg(bin)
        .arg(core)
        .output()
        .expect("gdb runs (apt-get install gdb)");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut v = Vec::new();
    let mut cur: Option<GdbThread> = None;
    for line in text.lines() {
        if line.starts_with("Thread ") {
            if let Some(t) = cur.take() {
                v.push(t);
            }
            let lwp = line
                .split("LWP ")
                .nth(1)
                .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("no LWP in {line:?}"));
            cur = Some(GdbThread {
                lwp,
                rip: 0,
                rsp: 0,
            });
        } else if let Some(t) = cur.as_mut() {
            let mut f = line.split_whitespace();
            let (name, val) = (f.next(), f.next());
            let val = val.and_then(|v| u64::from_str_radix(v.trim_start_matches("0x"), 16).ok());
            match (name, val) {
                (Some("rip"), Some(x)) => t.rip = x,
                (Some("rsp"), Some(x)) => t.rsp = x,
                _ => {}
            }
        }
    }
    v.extend(cur);
    v.sort();
    v
}

pub use gosleuth_testkit::process::{Running, tasks};

/// A temporary directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("gosleuth-memory-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("create temp dir");
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
