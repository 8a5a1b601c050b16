//! `gosleuth escape` on the committed compiler outputs of
//! factory/programs/escapes (crates/escape/tests/fixtures), and on the
//! package itself with the installed Go (factory tier).

use std::io::Write;
use std::process::{Command, Stdio};

use gosleuth_testkit as kit;

use super::{gosleuth, stdout};

const NEW: &str = "crates/escape/tests/fixtures/escapes.m2.go1.26.8.txt";
const OLD: &str = "crates/escape/tests/fixtures/escapes.m2.go1.21.13.txt";
const ALLOCS: &str = "crates/escape/tests/fixtures/escapes.allocs.go1.26.8.pb.gz";

#[test]
fn saved_output_reads_as_a_per_function_report() {
    let o = gosleuth(&["escape", "--input", NEW]);
    assert!(o.status.success(), "{o:?}");
    let out = stdout(&o);
    assert!(
        out.contains("NewT (main.go:24): cannot inline: marked go:noinline\n  main.go:25:9  `&T{...}` escapes: returned as ~r0 of NewT at main.go:25\n"),
        "{out}"
    );
    assert!(out.contains("inlining: "), "{out}");

    let o = gosleuth(&["escape", "--input", NEW, "--format", "json"]);
    assert!(o.status.success(), "{o:?}");
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("json");
    assert!(
        v["report"]["functions"]
            .as_array()
            .is_some_and(|f| !f.is_empty())
    );
    assert!(v.get("diff").is_none() && v.get("ranked").is_none());
}

#[test]
fn standard_input_reads_the_same() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gosleuth"))
        .args(["escape", "--input", "-"])
        .current_dir(kit::repo_root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    let input = kit::read(&kit::repo_root().join(NEW));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&input)
        .expect("write");
    let o = child.wait_with_output().expect("wait");
    assert!(o.status.success(), "{o:?}");
    assert_eq!(stdout(&o), stdout(&gosleuth(&["escape", "--input", NEW])));
}

#[test]
fn diff_and_profile() {
    // The same output against itself: nothing new, nothing gone.
    let o = gosleuth(&["escape", "--input", NEW, "--diff", NEW]);
    assert!(o.status.success(), "{o:?}");
    assert_eq!(stdout(&o), "no escape added or removed\n");
    // go1.21 to go1.26: the compiler reports `append` in Keep escaping.
    let o = gosleuth(&["escape", "--input", NEW, "--diff", OLD]);
    assert!(o.status.success(), "{o:?}");
    let out = stdout(&o);
    assert!(
        out.contains("+ main.go:77:15  Keep  `append` escapes"),
        "{out}"
    );

    let o = gosleuth(&["escape", "--input", NEW, "--profile", ALLOCS]);
    assert!(o.status.success(), "{o:?}");
    let out = stdout(&o);
    let first = out.lines().nth(1).unwrap_or_default();
    assert!(
        first.contains("main.go:58:13  Buffer  `make([]byte, n)`"),
        "{out}"
    );
}

#[test]
fn input_without_diagnostics_is_an_error() {
    let o = gosleuth(&["escape", "--input", "examples/service.log"]);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("examples/service.log holds no escape analysis or inlining diagnostics"),
        "{err}"
    );
    let o = gosleuth(&[
        "escape",
        "--input",
        NEW,
        "--profile",
        "examples/service.log",
    ]);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains("reading the heap profile examples/service.log")
    );
}

#[cfg(feature = "factory")]
#[test]
fn builds_a_directory_and_reports_a_missing_package() {
    let o = gosleuth(&["escape", "factory/programs/escapes"]);
    assert!(o.status.success(), "{o:?}");
    let out = stdout(&o);
    assert!(
        out.contains("`n` moved to heap: captured by a closure at main.go:"),
        "{out}"
    );
    let o = gosleuth(&["escape", "./no/such/package"]);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("go build -gcflags=-m=2 -o /dev/null ./no/such/package"),
        "{err}"
    );
    assert!(err.contains("needs a package that builds"), "{err}");
}

#[cfg(feature = "factory")]
#[test]
fn checks_builds_with_the_check_flags_and_lists_what_is_left() {
    let o = gosleuth(&["escape", "factory/programs/escapes/checks", "--checks"]);
    assert!(o.status.success(), "{o:?}");
    let out = stdout(&o);
    assert!(out.contains("checks left in the code"), "{out}");
    assert!(
        out.contains("slice bounds check (IsSliceInBounds)"),
        "{out}"
    );
    // Without --checks, the same build has no check lines.
    let o = gosleuth(&["escape", "factory/programs/escapes/checks"]);
    assert!(o.status.success(), "{o:?}");
    assert!(!stdout(&o).contains("checks left"), "{}", stdout(&o));
    // Saved output without check lines: the report, and a word on stderr.
    let o = gosleuth(&["escape", "--input", NEW, "--checks"]);
    assert!(o.status.success(), "{o:?}");
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("has no bounds-check or nil-check lines"),
        "{o:?}"
    );
}
