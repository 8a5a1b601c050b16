//! `go test` results from the factory's `citest` module, whose packages
//! fail in every way CI sees (factory/programs/citest/README.md), read
//! from every form of its output: plain, `-v`, `-json`, and those wrapped
//! as GitHub Actions and GitLab job logs (timestamps, `##[group]`, ANSI
//! colours, section markers).

use std::collections::BTreeMap;

use gosleuth_model::{Outcome, PackageOutcome, TestCause, TestRun};
use gosleuth_testkit as kit;
use gosleuth_text::{Evidence, Options, parse};

/// Every form, and whether its run failed TestFlaky (CITEST_FLAKY=fail)
/// and prints passing tests (-v, -json).
const FORMS: &[(&str, bool, bool)] = &[
    ("citest.plain.txt", true, false),
    ("citest.v.txt", false, true),
    ("citest.json.txt", true, true),
    ("citest.github.txt", true, false),
    ("citest.json.github.txt", true, true),
    ("citest.gitlab.txt", false, true),
];

fn evidence(go: &str, file: &str) -> Evidence {
    let path = kit::evidence(go, &["citest"]).join("text").join(file);
    parse(&kit::read(&path), Options::default())
}

fn short(package: &str) -> &str {
    package.rsplit('/').next().unwrap_or(package)
}

fn outcomes(run: &TestRun) -> BTreeMap<String, PackageOutcome> {
    run.packages
        .iter()
        .map(|p| (short(&p.name).to_string(), p.outcome))
        .collect()
}

#[test]
fn every_form_gives_the_same_packages_and_failures() {
    use PackageOutcome::*;
    for go in kit::go_versions() {
        for &(file, flaky_fails, verbose) in FORMS {
            let what = format!("{go} {file}");
            let e = evidence(&go, file);
            let run = &e.tests;
            assert_eq!(run.json, file.contains("json"), "{what}");
            let want: BTreeMap<String, PackageOutcome> = [
                ("broken", BuildFailed),
                ("calc", Fail),
                ("flaky", if flaky_fails { Fail } else { Ok }),
                ("good", Ok),
                ("hang", Fail),
                ("panics", Fail),
                ("race", Fail),
                ("vetfail", BuildFailed),
            ]
            .into_iter()
            .map(|(p, o)| (p.to_string(), o))
            .collect();
            assert_eq!(outcomes(run), want, "{what}");

            let mut failed: Vec<(String, String, Outcome)> = run
                .leaf_failures()
                .iter()
                .map(|t| (short(&t.package).to_string(), t.name.clone(), t.outcome))
                .collect();
            failed.sort();
            let mut want = vec![
                ("calc", "TestAdd", Outcome::Fail),
                ("calc", "TestDiv/by_zero", Outcome::Fail),
                ("hang", "TestDrain", Outcome::TimedOut),
                ("panics", "TestConfig/empty", Outcome::Fail),
                ("race", "TestCounter", Outcome::Fail),
            ];
            if flaky_fails {
                want.push(("flaky", "TestFlaky", Outcome::Fail));
            }
            let mut want: Vec<(String, String, Outcome)> = want
                .into_iter()
                .map(|(p, t, o)| (p.to_string(), t.to_string(), o))
                .collect();
            want.sort();
            assert_eq!(failed, want, "{what}");

            if verbose {
                let find = |name: &str| run.tests.iter().find(|t| t.name == name);
                assert_eq!(
                    find("TestSub").map(|t| t.outcome),
                    Some(Outcome::Pass),
                    "{what}"
                );
                let skipped = find("TestSkipped").expect("TestSkipped");
                assert_eq!(skipped.outcome, Outcome::Skip, "{what}");
                assert!(
                    skipped
                        .output
                        .iter()
                        .any(|l| l.contains("not on this platform")),
                    "{what}: {skipped:?}"
                );
                assert_eq!(run.tests.len(), 18, "{what}: {:#?}", run.tests);
            }
            assert!(e.warnings.is_empty(), "{what}: {:?}", e.warnings);
        }
    }
}

/// Each failure carries its own output, and the panic, race or timeout
/// behind it points at an incident or race report of the same input.
#[test]
fn failures_carry_their_output_and_cause() {
    let add = kit::source_line("citest/calc/calc_test.go", "t.Errorf(\"Add(2, 2)");
    let name = kit::source_line("citest/panics/config.go", "return c.Owner.Name");
    let drain = kit::source_line("citest/hang/drain.go", "for range ch");
    let incr = kit::source_line("citest/race/counter.go", "c.n++");
    for go in kit::go_versions() {
        for &(file, _, _) in FORMS {
            let what = format!("{go} {file}");
            let e = evidence(&go, file);
            let test = |n: &str| {
                e.tests
                    .tests
                    .iter()
                    .find(|t| t.name == n)
                    .unwrap_or_else(|| panic!("{what}: no {n}"))
            };
            let t = test("TestAdd");
            assert_eq!(
                t.reported_at(),
                Some(("calc_test.go", add, "Add(2, 2) = 5, want 4")),
                "{what}: {t:?}"
            );
            assert!(
                t.output.iter().any(|l| l.contains("adding 2 and 2")),
                "{what}"
            );

            let incident_frame = |cause: Option<TestCause>| {
                let line = cause.unwrap_or_else(|| panic!("{what}: no cause")).line();
                let inc = e
                    .incidents
                    .iter()
                    .find(|i| i.line == line)
                    .unwrap_or_else(|| panic!("{what}: no incident at line {line}"));
                let f = inc.root_cause.as_ref().and_then(|rc| rc.frame.clone());
                f.map(|f| (f.function, f.line))
            };
            let t = test("TestConfig/empty");
            assert!(
                matches!(t.cause, Some(TestCause::Panic { .. })),
                "{what}: {t:?}"
            );
            assert_eq!(
                incident_frame(t.cause),
                Some(("example.com/citest/panics.(*Config).Name".to_string(), name)),
                "{what}"
            );

            let t = test("TestDrain");
            assert!(
                matches!(t.cause, Some(TestCause::Timeout { .. })),
                "{what}: {t:?}"
            );
            assert_eq!(
                incident_frame(t.cause),
                Some(("example.com/citest/hang.Drain".to_string(), drain)),
                "{what}"
            );

            let t = test("TestCounter");
            let Some(TestCause::Race { line }) = t.cause else {
                panic!("{what}: {t:?}");
            };
            let race = e.races.iter().find(|r| r.line == line).expect("the race");
            assert!(
                race.accesses
                    .iter()
                    .all(|a| a.user_frame().is_some_and(|f| f.line == incr)),
                "{what}: {race:#?}"
            );

            let errors: Vec<(&str, &str, u32)> = e
                .tests
                .build_errors
                .iter()
                .map(|b| (short(&b.package), b.file.as_str(), b.line))
                .collect();
            assert_eq!(
                errors,
                [
                    ("broken", "broken/broken_test.go", 6),
                    ("vetfail", "vetfail/vet.go", 8)
                ],
                "{what}"
            );
            assert!(
                e.tests.build_errors[0]
                    .message
                    .contains("undefined: Missing")
            );
            assert!(
                e.tests.build_errors[1]
                    .message
                    .contains("wrong type string")
            );
        }
    }
}

/// A log cut in the middle of a package: its tests are there without a
/// package, the test that was running is unfinished, and nothing panics.
#[test]
fn a_truncated_log_keeps_what_it_read() {
    let path = kit::evidence("installed", &["citest"])
        .join("text")
        .join("citest.v.txt");
    let text = kit::read(&path);
    let cut = memchr::memmem::find(&text, b"=== RUN   TestDiv/by_zero").expect("TestDiv");
    let e = parse(&text[..cut + 30], Options::default());
    let names: Vec<(&str, Outcome)> = e
        .tests
        .tests
        .iter()
        .filter(|t| t.package.is_empty())
        .map(|t| (t.name.as_str(), t.outcome))
        .collect();
    assert!(names.contains(&("TestAdd", Outcome::Fail)), "{names:?}");
    assert!(
        names.contains(&("TestDiv/by_zero", Outcome::Unfinished)),
        "{names:?}"
    );
}

/// Binary garbage between the lines and a dump cut in the middle of a
/// goroutine: what was read before stays, nothing panics, and the
/// failures around the garbage are still found.
#[test]
fn garbage_between_lines_and_a_cut_dump_keep_what_was_read() {
    let path = kit::evidence("installed", &["citest"])
        .join("text")
        .join("citest.json.txt");
    let text = kit::read(&path);
    let mut rng = kit::Rng(7);
    let mut mangled = Vec::new();
    for (i, line) in text.split(|b| *b == b'\n').enumerate() {
        mangled.extend_from_slice(line);
        mangled.push(b'\n');
        if i % 9 == 4 {
            // A line of random bytes (NULs, invalid UTF-8, stray braces).
            for _ in 0..rng.below(200) {
                let b = rng.next() as u8;
                mangled.push(if b == b'\n' { 0 } else { b });
            }
            mangled.push(b'\n');
        }
    }
    let e = parse(&mangled, Options::default());
    let names: Vec<&str> = e.tests.failed_tests().map(|t| t.name.as_str()).collect();
    for want in [
        "TestAdd",
        "TestDiv/by_zero",
        "TestConfig/empty",
        "TestCounter",
        "TestDrain",
    ] {
        assert!(names.contains(&want), "{want} not in {names:?}");
    }

    // Cut inside the timeout's goroutine dump: the hung test is there,
    // without a result, and no package result is invented.
    let cut = memchr::memmem::rfind(&text, b"hang.TestDrain(").expect("the hung test's frame");
    let e = parse(&text[..cut + 10], Options::default());
    let drain = e
        .tests
        .tests
        .iter()
        .find(|t| t.name == "TestDrain")
        .expect("TestDrain");
    assert_eq!(drain.outcome, Outcome::Unfinished, "{drain:?}");
    assert!(!e.tests.packages.iter().any(|p| p.name.ends_with("/hang")));
}

/// Real packages, not the factory's: the standard library's encoding/csv
/// and strings tests, run with `-json` and with `-v`. Every test the
/// test2json events say passed or was skipped is read so from both forms,
/// and both packages are ok.
#[test]
fn real_packages_read_alike_as_json_and_verbose_text() {
    let run = |flag: &str| {
        let o = std::process::Command::new("go")
            .args(["test", "-count=1", flag, "encoding/csv", "strings"])
            .output()
            .expect("go test");
        assert!(o.status.success(), "{o:?}");
        o.stdout
    };
    let json = run("-json");
    let events = |action: &str| {
        String::from_utf8_lossy(&json)
            .lines()
            .filter(|l| l.contains(&format!("\"Action\":\"{action}\"")) && l.contains("\"Test\":"))
            .count()
    };
    let (pass, skip) = (events("pass"), events("skip"));
    assert!(pass > 100, "{pass} passing tests");
    for (what, bytes) in [("json", json.clone()), ("-v", run("-v"))] {
        let e = parse(&bytes, Options::default());
        let t = &e.tests;
        assert_eq!(t.count(Outcome::Pass), pass, "{what}");
        assert_eq!(t.count(Outcome::Skip), skip, "{what}");
        assert_eq!(t.failed_tests().count(), 0, "{what}");
        let mut pkgs: Vec<(&str, PackageOutcome)> = t
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.outcome))
            .collect();
        pkgs.sort();
        assert_eq!(
            pkgs,
            [
                ("encoding/csv", PackageOutcome::Ok),
                ("strings", PackageOutcome::Ok)
            ],
            "{what}"
        );
    }
}
