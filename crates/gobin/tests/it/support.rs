//! Fixtures and oracles for the integration tests.
//!
//! Binaries come from the evidence factory (`factory/factory.py build`);
//! the oracles are the Go toolchain's own tools (`go tool addr2line`,
//! `go version -m`). Go must be installed: tests fail, not skip, without it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};

/// The Go releases to test against: the newest and the oldest of the
/// factory's matrix by default (their pclntab, inline tree and DWARF
/// layouts are those of every release between: Go 1.20's pclntab);
/// `GOSLEUTH_GO_VERSIONS=all` for all of them.
pub fn versions() -> Vec<String> {
    gosleuth_testkit::go_versions()
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A scratch directory under the target dir.
pub fn scratch() -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("gobin-it");
    std::fs::create_dir_all(&d).expect("creating scratch dir");
    d
}

/// `go`, checked once; panics with a clear message if missing.
pub fn go() -> &'static str {
    static OK: OnceLock<()> = OnceLock::new();
    OK.get_or_init(|| {
        let out = Command::new("go").arg("version").output();
        match out {
            Ok(o) if o.status.success() => {}
            _ => panic!(
                "these tests need the Go toolchain as oracle: install Go and put `go` on PATH"
            ),
        }
    });
    "go"
}

fn go_cmd() -> Command {
    let mut c = Command::new(go());
    // Run outside any module so no go.mod asks for another toolchain.
    c.current_dir(scratch())
        .env("GOTOOLCHAIN", "local")
        .env("GOFLAGS", "");
    c
}

/// Builds `program` with Go `version` through the factory and returns the
/// directory holding `bin/<program>{,.stripped,.pie,.noopt}`.
pub fn factory(version: &str, program: &str) -> PathBuf {
    // One factory run at a time: it writes a shared cache.
    static LOCK: Mutex<()> = Mutex::new(());
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let script = repo_root().join("factory/factory.py");
    assert!(
        script.exists(),
        "evidence factory missing at {}",
        script.display()
    );
    let out = Command::new("python3")
        .arg(&script)
        .args(["build", "--go", version, "--program", program])
        .stderr(Stdio::inherit())
        .output()
        .expect("running python3 factory/factory.py");
    assert!(
        out.status.success(),
        "factory build --go {version} --program {program} failed"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let dir = PathBuf::from(
        stdout
            .lines()
            .last()
            .expect("factory printed no directory")
            .trim(),
    );
    let bin = dir.join("bin").join(program);
    assert!(bin.exists(), "factory did not produce {}", bin.display());
    dir
}

/// A small program with a known inlined call, built with the installed Go.
pub fn hello() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = scratch().join("hello");
        std::fs::create_dir_all(&dir).unwrap();
        // A locally replaced dependency, so build info has a `=>` line.
        std::fs::write(
            dir.join("go.mod"),
            "module example.com/hello\n\ngo 1.21\n\nrequire example.com/dep v0.1.0\n\nreplace example.com/dep => ./dep\n",
        )
        .unwrap();
        std::fs::write(dir.join("main.go"), HELLO_SRC).unwrap();
        std::fs::write(dir.join("dep.go"), "package main\n\nimport \"example.com/dep\"\n\nvar depValue = dep.V()\n").unwrap();
        std::fs::create_dir_all(dir.join("dep")).unwrap();
        std::fs::write(dir.join("dep/go.mod"), "module example.com/dep\n\ngo 1.21\n").unwrap();
        std::fs::write(dir.join("dep/dep.go"), "package dep\n\n//go:noinline\nfunc V() int { return 42 }\n").unwrap();
        for (name, flags) in [
            ("hello", &[][..]),
            ("hello.stripped", &["-ldflags=-s -w"][..]),
            ("hello.pie", &["-buildmode=pie"][..]),
        ] {
            let st = go_cmd()
                .current_dir(&dir)
                .arg("build")
                .args(flags)
                .args(["-o", name, "."])
                .status()
                .unwrap();
            assert!(st.success(), "go build {name} failed");
        }
        dir
    })
}

pub const HELLO_SRC: &str = r#"package main

import (
	"fmt"
	"os"
)

//go:noinline
func work(n int) int {
	return inner(n) + 1
}

func inner(n int) int {
	return n*n*3 + 7
}

func main() {
	fmt.Println("hello", work(len(os.Args)))
}
"#;

/// The small program built by an older Go (`GOTOOLCHAIN=go1.18.10`, ...;
/// fetched from the module proxy on first use) in plain, stripped and PIE
/// variants: returns the plain binary; the others are `NAME.stripped` and
/// `NAME.pie` next to it.
pub fn hello_old(version: &str) -> PathBuf {
    let dir = scratch().join(format!("hello-{version}"));
    let bin = dir.join("hello");
    if bin.exists() && dir.join("hello.pie").exists() && dir.join("hello.stripped").exists() {
        return bin;
    }
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("go.mod"), "module example.com/hello\n\ngo 1.18\n").unwrap();
    std::fs::write(dir.join("main.go"), HELLO_SRC).unwrap();
    for (name, flags) in [
        ("hello", &[][..]),
        ("hello.stripped", &["-ldflags=-s -w"][..]),
        ("hello.pie", &["-buildmode=pie"][..]),
    ] {
        let st = Command::new(go())
            .current_dir(&dir)
            .env("GOTOOLCHAIN", version)
            .env("GOFLAGS", "")
            .arg("build")
            .args(flags)
            .args(["-o", name, "."])
            .status()
            .unwrap();
        assert!(
            st.success(),
            "GOTOOLCHAIN={version} go build {name} failed (is the module proxy reachable?)"
        );
    }
    bin
}

/// The small program cross-built for linux/arm64 (pc quantum 4).
pub fn hello_arm64() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let dir = hello();
        let st = go_cmd()
            .current_dir(dir)
            .env("GOARCH", "arm64")
            .env("CGO_ENABLED", "0")
            .args(["build", "-o", "hello.arm64", "."])
            .status()
            .unwrap();
        assert!(st.success(), "GOARCH=arm64 go build failed");
        dir.join("hello.arm64")
    })
    .clone()
}

/// Output of `go tool addr2line BIN` for these addresses.
pub fn addr2line(bin: &Path, pcs: &[u64]) -> String {
    use std::io::Write;
    let mut child = go_cmd()
        .args(["tool", "addr2line"])
        .arg(bin)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("go tool addr2line");
    let mut input = String::new();
    for pc in pcs {
        input.push_str(&format!("{pc:#x}\n"));
    }
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(
        out.status.success(),
        "go tool addr2line {} failed",
        bin.display()
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Output of `go version -m BIN`.
pub fn go_version_m(bin: &Path) -> String {
    let out = go_cmd().args(["version", "-m"]).arg(bin).output().unwrap();
    assert!(
        out.status.success(),
        "go version -m {} failed",
        bin.display()
    );
    String::from_utf8(out.stdout).unwrap()
}
