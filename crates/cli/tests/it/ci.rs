//! `gosleuth triage` on `go test` output for CI: the failures in text, JUnit
//! XML valid against docs/junit.xsd and read back by a JUnit reader
//! (scripts/check-junit.py: xmlschema, then junitparser), GitHub
//! annotations, and flaky
//! tests across runs. Evidence: the factory's citest module
//! (factory/programs/citest/README.md).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use gosleuth_testkit as kit;

use super::{gosleuth, stdout};

fn citest(go: &str, file: &str) -> String {
    let p: PathBuf = kit::evidence(go, &["citest"]).join("text").join(file);
    p.to_string_lossy().into_owned()
}

/// Runs scripts/check-junit.py on `xml`: the JSON it prints, or its error.
fn check_junit(xml: &str) -> Result<serde_json::Value, String> {
    // scripts/test.sh makes a venv with xmlschema and names its python.
    let python = std::env::var("GOSLEUTH_PYTHON").unwrap_or_else(|_| "python3".into());
    let mut child = Command::new(&python)
        .arg(kit::repo_root().join("scripts/check-junit.py"))
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("run {python}: {e}"));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(xml.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !err.contains("No module named"),
        "{python} lacks a module ({err}): run the tests with scripts/test.sh, which installs \
         xmlschema and junitparser"
    );
    if out.status.success() {
        Ok(serde_json::from_slice(&out.stdout).expect("JSON"))
    } else {
        Err(err)
    }
}

#[test]
fn text_names_each_failure_and_its_cause() {
    for go in kit::go_versions() {
        for file in ["citest.github.txt", "citest.json.txt"] {
            let o = gosleuth(&["triage", "--exit-code", &citest(&go, file)]);
            assert_eq!(o.status.code(), Some(1), "{go} {file}: {o:?}");
            let out = stdout(&o);
            for needle in [
                "go test: 8 packages (7 failed, 2 did not build)",
                "BUILD FAILED example.com/citest/broken",
                "broken/broken_test.go:6:15: undefined: Missing",
                "FAIL example.com/citest/calc",
                "calc_test.go:",
                "Add(2, 2) = 5, want 4",
                "TestConfig/empty",
                "root cause: example.com/citest/panics.(*Config).Name at config.go:",
                "TestDrain [timed out]",
                "blocked [chan receive] in example.com/citest/hang.Drain at drain.go:",
                "inferred",
                "data race: ",
            ] {
                assert!(
                    out.contains(needle),
                    "{go} {file}: {needle:?} not in\n{out}"
                );
            }
        }
    }
}

#[test]
fn junit_is_valid_and_reads_back_the_same_results() {
    for go in kit::go_versions() {
        for file in ["citest.plain.txt", "citest.json.txt", "citest.gitlab.txt"] {
            let what = format!("{go} {file}");
            let o = gosleuth(&["triage", "--format", "junit", &citest(&go, file)]);
            assert!(o.status.success(), "{what}: {o:?}");
            let xml = stdout(&o);
            let read = check_junit(&xml).unwrap_or_else(|e| panic!("{what}: {e}\n{xml}"));
            assert_eq!(read["errors"], 2, "{what}: the two build failures");
            let suites = &read["suites"];
            let case = |suite: &str, name: &str| {
                suites[format!("example.com/citest/{suite}")][0]["cases"][name].clone()
            };
            assert_eq!(case("broken", "[build failed]"), "error", "{what}");
            assert_eq!(case("calc", "TestAdd"), "failure", "{what}");
            assert_eq!(case("calc", "TestDiv/by_zero"), "failure", "{what}");
            assert_eq!(case("hang", "TestDrain"), "failure", "{what}");
            assert_eq!(case("panics", "TestConfig/empty"), "failure", "{what}");
            assert_eq!(case("race", "TestCounter"), "failure", "{what}");
            if file != "citest.plain.txt" {
                assert_eq!(case("good", "TestSkipped"), "skipped", "{what}");
                assert_eq!(case("calc", "TestSub"), "pass", "{what}");
                assert_eq!(read["skipped"], 1, "{what}");
            }
        }
    }
    // The validator is live: a test case without its classname is refused.
    let bad = "<testsuites><testsuite name=\"a\" tests=\"1\" failures=\"0\" errors=\"0\">\
               <testcase name=\"x\"/></testsuite></testsuites>";
    assert!(check_junit(bad).is_err());
}

#[test]
fn github_annotations_point_at_the_failing_lines() {
    let add = kit::source_line("citest/calc/calc_test.go", "t.Errorf(\"Add(2, 2)");
    let name = kit::source_line("citest/panics/config.go", "return c.Owner.Name");
    let incr = kit::source_line("citest/race/counter.go", "c.n++");
    let drain = kit::source_line("citest/hang/drain.go", "for range ch");
    for go in kit::go_versions() {
        let path = citest(&go, "citest.json.github.txt");
        // Run where `go test ./...` ran: the module root, whose go.mod
        // gives the package directories.
        let o = Command::new(env!("CARGO_BIN_EXE_gosleuth"))
            .args(["triage", "--format", "github", &path])
            .current_dir(kit::repo_root().join("factory/programs/citest"))
            .output()
            .expect("run gosleuth");
        assert!(o.status.success(), "{go}: {o:?}");
        let out = stdout(&o);
        for needle in [
            "::error file=broken/broken_test.go,line=6,col=15,title=build failed example.com/citest/broken::undefined: Missing".to_string(),
            format!("::error file=calc/calc_test.go,line={add},title=TestAdd fail (example.com/citest/calc)::"),
            format!("::error file=panics/config.go,line={name},title=TestConfig/empty fail"),
            format!("::error file=race/counter.go,line={incr},title=TestCounter fail"),
            format!("::error file=hang/drain.go,line={drain},title=TestDrain timed out"),
        ] {
            assert!(out.contains(&needle), "{go}: {needle:?} not in\n{out}");
        }
        // One line per annotation: newlines in messages are escaped.
        assert!(out.lines().all(|l| l.starts_with("::")), "{out}");
    }
}

#[test]
fn a_test_that_passes_in_one_run_and_fails_in_another_is_flaky() {
    for go in kit::go_versions() {
        let (fail, pass) = (citest(&go, "citest.plain.txt"), citest(&go, "citest.v.txt"));
        let o = gosleuth(&["triage", &fail, &pass]);
        let out = stdout(&o);
        assert!(
            out.contains("1 flaky test (passed in some runs, failed in others):")
                && out.contains("example.com/citest/flaky TestFlaky: failed in"),
            "{go}:\n{out}"
        );
        let o = gosleuth(&["triage", "--format", "json", &fail, &pass]);
        let docs: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
        let flaky = &docs[0]["flaky"];
        assert_eq!(flaky[0]["name"], "TestFlaky", "{go}: {flaky}");
        assert_eq!(flaky[0]["failed_in"], serde_json::json!([0]), "{go}");
        assert_eq!(flaky[0]["passed_in"], serde_json::json!([1]), "{go}");
    }
}
