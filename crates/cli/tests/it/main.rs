//! The `gosleuth` binary end to end, on the bundled example and on the
//! factory's evidence.

use std::io::Write;
#[cfg(feature = "factory")]
use std::path::Path;
use std::process::{Command, Output, Stdio};

use gosleuth_testkit as kit;

mod cores;
#[cfg(feature = "factory")]
mod dlv;
mod escape;
mod fixtures;
#[cfg(feature = "factory")]
mod goroutines;
mod hostile;
mod inputs;
mod logs;
mod messages;
mod pprof;

fn gosleuth(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gosleuth"))
        .args(args)
        .current_dir(kit::repo_root())
        .output()
        .expect("run gosleuth")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn readme_example_names_the_root_cause_with_its_source() {
    let o = gosleuth(&["triage", "examples/service.log"]);
    assert!(o.status.success(), "{o:?}");
    let out = stdout(&o);
    let line = kit::source_line("crash/main.go", "get error: %v\", id, merr.Error()");
    assert!(
        out.contains(&format!("root cause: main.Handler  crash/main.go:{line}")),
        "{out}"
    );
    assert!(
        out.contains(&format!("=> {line}")),
        "no source snippet:\n{out}"
    );
    assert!(out.contains("nil pointer dereference"), "{out}");
    assert!(!out.contains("\x1b["), "colour on a pipe");
}

#[test]
fn json_output_follows_the_documented_schema() {
    let o = gosleuth(&["triage", "--format", "json", "examples/service.log"]);
    assert!(o.status.success(), "{o:?}");
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("valid JSON");
    assert_eq!(doc["schema"], 1);
    assert_eq!(doc["source"], "examples/service.log");
    let inc = &doc["incidents"][0];
    assert_eq!(inc["kind"], "panic");
    assert_eq!(inc["root_cause"]["frame"]["function"], "main.Handler");
    assert_eq!(inc["signal"]["name"], "SIGSEGV");
    assert!(inc["groups"].as_array().is_some_and(|g| !g.is_empty()));
}

#[test]
fn exit_code_is_opt_in() {
    assert_eq!(
        gosleuth(&["triage", "examples/service.log"]).status.code(),
        Some(0)
    );
    assert_eq!(
        gosleuth(&["triage", "--exit-code", "examples/service.log"])
            .status
            .code(),
        Some(1)
    );
    let quiet = kit::repo_root().join("factory/README.md");
    let quiet = quiet.to_str().expect("utf-8 path");
    assert_eq!(
        gosleuth(&["triage", "--exit-code", quiet]).status.code(),
        Some(0)
    );
}

#[test]
fn errors_say_what_and_where() {
    let o = gosleuth(&["triage", "no/such/file.txt"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("no/such/file.txt"), "{err}");
    let o = gosleuth(&["triage", "--compare", "examples/service.log"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("exactly two"));
}

#[test]
fn reads_standard_input() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gosleuth"))
        .args(["triage", "-"])
        .current_dir(kit::repo_root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    let input = kit::read(&kit::repo_root().join("examples/service.log"));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&input)
        .expect("write");
    let o = child.wait_with_output().expect("wait");
    assert!(stdout(&o).contains("root cause: main.Handler"));
}

#[cfg(feature = "factory")]
#[test]
fn compare_shows_the_leaking_group() {
    let dir = kit::evidence("installed", &["goleak"]).join("text");
    let p = |f: &str| dir.join(f).to_string_lossy().into_owned();
    let o = gosleuth(&[
        "triage",
        "--compare",
        &p("goleak.t1.txt"),
        &p("goleak.t2.txt"),
    ]);
    assert!(o.status.success(), "{o:?}");
    let out = stdout(&o);
    let first = out.lines().nth(2).unwrap_or("");
    assert!(
        first.contains("grew") || first.contains("appeared"),
        "{out}"
    );
    let o = gosleuth(&[
        "triage",
        "--compare",
        "--format",
        "json",
        &p("goleak.t1.txt"),
        &p("goleak.t2.txt"),
    ]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    let c = &doc["changes"][0];
    assert!(c["after"].as_u64() > c["before"].as_u64(), "{doc}");
}

#[cfg(feature = "factory")]
#[test]
fn a_huge_dump_collapses_into_a_few_groups() {
    let dir = kit::evidence("installed", &["metricsdeadlock"]).join("text");
    let path = dir.join("metricsdeadlock.sigquit.txt");
    assert!(Path::new(&path).exists());
    let o = gosleuth(&["triage", &path.to_string_lossy()]);
    assert!(o.status.success(), "{o:?}");
    let out = stdout(&o);
    // The first group shown is the pile-up in CountS.
    let first_group = out
        .split("\n\n")
        .find(|block| {
            block.lines().next().is_some_and(|l| l.contains(" [")) && block.contains("main.")
        })
        .unwrap_or("");
    assert!(first_group.contains("main.(*Metrics).CountS"), "{out}");
}
