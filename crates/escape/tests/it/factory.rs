//! The real compiler on factory/programs/escapes, with every release of
//! the test matrix (the installed Go and go1.21.13 by default;
//! `GOSLEUTH_GO_VERSIONS`): the report holds what the compiler printed, and
//! a heap profile of the program ranks its escapes.

use std::path::PathBuf;
use std::process::Command;

use gosleuth_escape::{Error, GCFLAGS_CHECKS, go_build_env, go_build_with, rank};
use gosleuth_testkit as kit;

use crate::common::{
    check_against_compiler, check_checks_against_compiler, check_known, check_known_checks,
    checks_dir, parse_checks, parse_with_program_sources, program_dir,
};

/// `GOTOOLCHAIN` for a release of the matrix.
fn toolchain(go: &str) -> &str {
    if go == "installed" { "local" } else { go }
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("gosleuth-escape-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display()));
    d
}

#[test]
fn every_release_explains_the_known_escapes() {
    for go in kit::go_versions() {
        let env = [("GOTOOLCHAIN", toolchain(&go))];
        let text = go_build_env(&program_dir(), ".", &env).unwrap_or_else(|e| panic!("{go}: {e}"));
        let r = parse_with_program_sources(&text);
        assert!(r.detailed, "{go}");
        assert!(r.skipped.is_empty(), "{go}: {:?}", r.skipped);
        check_known(&r, &go);
        check_against_compiler(&r, &text, &go);
    }
}

#[test]
fn every_release_reports_the_kept_checks_and_not_the_eliminated_one() {
    for go in kit::go_versions() {
        let env = [("GOTOOLCHAIN", toolchain(&go))];
        let text = go_build_with(&checks_dir(), ".", GCFLAGS_CHECKS, &env)
            .unwrap_or_else(|e| panic!("{go}: {e}"));
        let r = parse_checks(&text);
        assert!(r.skipped.is_empty(), "{go}: {:?}", r.skipped);
        check_known_checks(&r, &go);
        check_checks_against_compiler(&r, &text, &go);
    }
}

#[test]
fn check_lines_leave_the_escapes_as_they_were() {
    for go in kit::go_versions() {
        let env = [("GOTOOLCHAIN", toolchain(&go))];
        let text = go_build_with(&program_dir(), ".", GCFLAGS_CHECKS, &env)
            .unwrap_or_else(|e| panic!("{go}: {e}"));
        let r = parse_with_program_sources(&text);
        assert!(r.checks && r.detailed, "{go}");
        assert!(r.skipped.is_empty(), "{go}: {:?}", r.skipped);
        check_known(&r, &go);
        check_against_compiler(&r, &text, &go);
        check_checks_against_compiler(&r, &text, &go);
        let plain = go_build_env(&program_dir(), ".", &env).unwrap_or_else(|e| panic!("{go}: {e}"));
        let p = parse_with_program_sources(&plain);
        let escapes = |r: &gosleuth_escape::Report| {
            r.escapes()
                .map(|(f, e)| (f.name.clone(), e.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(escapes(&r), escapes(&p), "{go}");
    }
}

#[test]
fn a_heap_profile_of_the_program_ranks_its_escapes() {
    for go in kit::go_versions() {
        let env = [("GOTOOLCHAIN", toolchain(&go))];
        let dir = scratch(&go);
        let bin = dir.join("escapes");
        let st = Command::new("go")
            .args(["build", "-o"])
            .arg(&bin)
            .arg(".")
            .envs(env)
            .current_dir(program_dir())
            .status()
            .unwrap_or_else(|e| panic!("go build: {e}"));
        assert!(st.success(), "{go}: go build {st}");
        let prof_path = dir.join("allocs.pb.gz");
        let st = Command::new(&bin)
            .arg(&prof_path)
            .status()
            .unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
        assert!(st.success(), "{go}: {st}");
        let text = go_build_env(&program_dir(), ".", &env).unwrap_or_else(|e| panic!("{go}: {e}"));
        let r = parse_with_program_sources(&text);
        let prof = gosleuth_pprof::parse_file(&prof_path).unwrap_or_else(|e| panic!("{e}"));
        let ranked = rank(&r, &prof).unwrap_or_else(|e| panic!("{go}: {e}"));
        let top = &ranked[0];
        assert_eq!(
            (top.entry.function.as_str(), top.entry.escape.expr.as_str()),
            ("Buffer", "make([]byte, n)"),
            "{go}: {ranked:#?}"
        );
        let newt = ranked
            .iter()
            .find(|x| x.entry.function == "NewT")
            .expect("NewT");
        assert_eq!(newt.objects, Some(1000), "{go}: {newt:#?}");
        assert!(ranked.iter().any(|x| x.bytes.is_none()), "{go}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn a_package_that_does_not_exist_is_the_compilers_error() {
    for go in kit::go_versions() {
        let env = [("GOTOOLCHAIN", toolchain(&go))];
        let err = go_build_env(&program_dir(), "./nonexistent", &env)
            .err()
            .unwrap_or_else(|| panic!("{go}: ./nonexistent built"));
        // The messages are exactly what go printed.
        let direct = Command::new("go")
            .args(["build", "-gcflags=-m=2", "-o", "/dev/null", "./nonexistent"])
            .envs(env)
            .current_dir(program_dir())
            .output()
            .unwrap_or_else(|e| panic!("go: {e}"));
        let printed: Vec<String> = String::from_utf8_lossy(&direct.stderr)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_string)
            .collect();
        match &err {
            Error::BuildFailed {
                messages, status, ..
            } => {
                assert_eq!(messages, &printed, "{go}");
                assert!(status.is_some(), "{go}");
            }
            other => panic!("{go}: {other:?}"),
        }
        let msg = err.to_string();
        assert!(msg.contains("nonexistent"), "{go}: {msg}");
        assert!(msg.contains("needs a package that builds"), "{go}: {msg}");
    }
}

#[test]
fn a_module_that_does_not_compile_is_the_compilers_error() {
    let dir = scratch("broken");
    std::fs::write(dir.join("go.mod"), "module broken\n\ngo 1.21\n")
        .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dir.join("main.go"),
        "package main\n\nfunc main() {\n\tundefinedThing()\n}\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    for go in kit::go_versions() {
        let env = [("GOTOOLCHAIN", toolchain(&go))];
        let msg = go_build_env(&dir, ".", &env)
            .err()
            .unwrap_or_else(|| panic!("{go}: it built"))
            .to_string();
        assert!(
            msg.contains("./main.go:4:2: undefined: undefinedThing"),
            "{go}: {msg}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
