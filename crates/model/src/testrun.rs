//! `go test` results: which packages and tests passed, failed, timed out
//! or did not build, with each failure's own output and what caused it.
//!
//! The text reader fills a [`TestRun`] from `go test` output in any form
//! (plain, `-v`, `-json`, inside CI logs); renderers turn it into text,
//! JSON, JUnit XML and GitHub annotations.

use serde::Serialize;

/// How a test ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Pass,
    Fail,
    Skip,
    /// The test was running when the test binary's timer (`-timeout`)
    /// ended it: it never finished.
    TimedOut,
    /// Started, but the output ends (or its package ended) without its
    /// result: a crash of the test binary, or a truncated log.
    Unfinished,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
            Outcome::Skip => "skip",
            Outcome::TimedOut => "timed out",
            Outcome::Unfinished => "unfinished",
        }
    }

    /// A failure of the run: failed, timed out or unfinished.
    pub fn failed(self) -> bool {
        matches!(
            self,
            Outcome::Fail | Outcome::TimedOut | Outcome::Unfinished
        )
    }
}

/// How a package's test run ended (`ok`, `FAIL`, `?` lines, or the
/// package's test2json event).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PackageOutcome {
    Ok,
    Fail,
    /// `FAIL pkg [build failed]`: the package or its test did not compile,
    /// or `go vet` failed.
    BuildFailed,
    /// `FAIL pkg [setup failed]`: the package could not be loaded.
    SetupFailed,
    /// `? pkg [no test files]`.
    NoTestFiles,
    Skip,
}

impl PackageOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            PackageOutcome::Ok => "ok",
            PackageOutcome::Fail => "fail",
            PackageOutcome::BuildFailed => "build failed",
            PackageOutcome::SetupFailed => "setup failed",
            PackageOutcome::NoTestFiles => "no test files",
            PackageOutcome::Skip => "skip",
        }
    }

    pub fn failed(self) -> bool {
        matches!(
            self,
            PackageOutcome::Fail | PackageOutcome::BuildFailed | PackageOutcome::SetupFailed
        )
    }
}

/// One package's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PackageResult {
    /// The import path.
    pub name: String,
    pub outcome: PackageOutcome,
    /// Seconds, as printed (none for build failures and cached results).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elapsed: Option<f64>,
    /// `(cached)`: the result is from the build cache.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub cached: bool,
    /// The input line of the result.
    pub line: u64,
}

/// What made a test fail, when the output shows more than the test's own
/// messages: a panic, a data race or the timeout. The incident or race
/// report is found by its input line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TestCause {
    /// A panic or fatal error that began at this input line, while the
    /// test ran (it ended the test binary).
    Panic { line: u64 },
    /// A data race report that began at this input line, printed while the
    /// test ran (`race detected during execution of test`).
    Race { line: u64 },
    /// The timeout panic that began at this input line names the test as
    /// running: its goroutine dump shows where the test is stuck.
    Timeout { line: u64 },
}

impl TestCause {
    pub fn line(self) -> u64 {
        match self {
            TestCause::Panic { line } | TestCause::Race { line } | TestCause::Timeout { line } => {
                line
            }
        }
    }
}

/// One test (or subtest: `TestX/case`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestResult {
    /// The import path of its package (empty when the output does not say:
    /// a plain log cut before the package's `ok`/`FAIL` line).
    pub package: String,
    /// `TestX` or `TestX/sub/case`.
    pub name: String,
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elapsed: Option<f64>,
    /// The input line where the test started (`=== RUN`), or where its
    /// result was printed when the start is not in the output.
    pub line: u64,
    /// The test's own output (`t.Log`, `t.Error`, ...), for failed tests
    /// only, without the `=== RUN`/`--- FAIL` markers and indentation.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub output: Vec<String>,
    /// Output lines beyond what is kept ([`MAX_TEST_OUTPUT`]), counted.
    #[serde(skip_serializing_if = "is_zero")]
    pub output_omitted: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<TestCause>,
}

impl TestResult {
    /// The test's top-level name (`TestX` of `TestX/sub`).
    pub fn top(&self) -> &str {
        self.name.split('/').next().unwrap_or(&self.name)
    }

    /// The last `file.go:N: message` line of the test's own output (not
    /// the testing package's `testing.go:N:`): where the test reported its
    /// failure (`t.Log` lines usually come before it).
    pub fn reported_at(&self) -> Option<(&str, u32, &str)> {
        self.output
            .iter()
            .rev()
            .filter_map(|l| file_line_message(l))
            .find(|(file, _, _)| *file != "testing.go")
    }
}

/// `file.go:12: message` (a `t.Error` line) split.
pub fn file_line_message(l: &str) -> Option<(&str, u32, &str)> {
    let (loc, msg) = l.split_once(": ")?;
    let (file, line) = loc.rsplit_once(':')?;
    if !file.ends_with(".go") || file.contains(' ') {
        return None;
    }
    Some((file, line.parse().ok()?, msg))
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A compiler or `go vet` error printed while building a package's test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BuildError {
    /// The import path from the `# pkg` header (or the test2json event).
    pub package: String,
    /// As printed: relative to where `go test` ran (`calc/calc_test.go`).
    pub file: String,
    pub line: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
    pub message: String,
    /// Printed under `# [pkg]`, the header `go vet` uses (Go 1.22 and
    /// later), rather than the compiler's `# pkg`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub vet: bool,
    /// The input line.
    pub at: u64,
}

/// Failed tests kept per input; further failures are counted.
pub const MAX_FAILED_TESTS: usize = 10_000;
/// Passed and skipped tests kept per input (for flaky-test detection and
/// JUnit output); further ones are counted.
pub const MAX_OTHER_TESTS: usize = 200_000;
/// Output lines kept per failed test: the first half and the last half.
pub const MAX_TEST_OUTPUT: usize = 200;
/// Build errors kept per input.
pub const MAX_BUILD_ERRORS: usize = 1_000;
/// Packages kept per input.
pub const MAX_PACKAGES: usize = 20_000;

/// Everything `go test` reported in one input.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TestRun {
    pub packages: Vec<PackageResult>,
    /// Failed tests first, in the order they were read, then the others.
    pub tests: Vec<TestResult>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub build_errors: Vec<BuildError>,
    /// Read from test2json (`go test -json`) events rather than text.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub json: bool,
    /// Tests, packages and build errors read but not kept past the caps.
    #[serde(skip_serializing_if = "is_zero")]
    pub omitted: u64,
}

impl TestRun {
    pub fn is_empty(&self) -> bool {
        self.packages.is_empty() && self.tests.is_empty() && self.build_errors.is_empty()
    }

    pub fn failed_tests(&self) -> impl Iterator<Item = &TestResult> {
        self.tests.iter().filter(|t| t.outcome.failed())
    }

    /// Counts of tests by outcome.
    pub fn count(&self, outcome: Outcome) -> usize {
        self.tests.iter().filter(|t| t.outcome == outcome).count()
    }

    /// A failed test that has failed subtests adds nothing of its own:
    /// these are the failures to show (the deepest ones), with the parents
    /// whose own output says more kept too.
    pub fn leaf_failures(&self) -> Vec<&TestResult> {
        let failed: Vec<&TestResult> = self.failed_tests().collect();
        failed
            .iter()
            .copied()
            .filter(|t| {
                let prefix = format!("{}/", t.name);
                let has_failed_child = failed
                    .iter()
                    .any(|c| c.package == t.package && c.name.starts_with(&prefix));
                !has_failed_child || !t.output.is_empty() || t.cause.is_some()
            })
            .collect()
    }

    /// Appends `other` (the next part of the same input). Tests of `self`
    /// without a package belong to the first package `other` names.
    pub fn append(&mut self, mut other: TestRun) {
        if let Some(first) = other.first_package_end() {
            for t in self.tests.iter_mut().filter(|t| t.package.is_empty()) {
                t.package.clone_from(&first);
            }
        }
        self.packages.append(&mut other.packages);
        self.tests.append(&mut other.tests);
        self.build_errors.append(&mut other.build_errors);
        self.json |= other.json;
        self.omitted += other.omitted;
    }

    /// Renumbers input lines (a part's lines as lines of the whole input).
    pub fn shift_lines(&mut self, by: u64) {
        for p in &mut self.packages {
            p.line += by;
        }
        for t in &mut self.tests {
            t.line += by;
            if let Some(c) = &mut t.cause {
                match c {
                    TestCause::Panic { line }
                    | TestCause::Race { line }
                    | TestCause::Timeout { line } => *line += by,
                }
            }
        }
        for e in &mut self.build_errors {
            e.at += by;
        }
    }

    fn first_package_end(&self) -> Option<String> {
        self.packages
            .iter()
            .min_by_key(|p| p.line)
            .map(|p| p.name.clone())
    }
}

/// A test that both passed and failed across several runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FlakyTest {
    pub package: String,
    pub name: String,
    /// The runs (inputs, by index) where it failed and where it passed.
    pub failed_in: Vec<usize>,
    pub passed_in: Vec<usize>,
}

/// Tests that passed in some runs and failed in others: flaky.
pub fn flaky_tests(runs: &[&TestRun]) -> Vec<FlakyTest> {
    use std::collections::BTreeMap;
    /// The runs a test failed in and passed in.
    type Runs = (Vec<usize>, Vec<usize>);
    let mut seen: BTreeMap<(&str, &str), Runs> = BTreeMap::new();
    for (i, run) in runs.iter().enumerate() {
        for t in &run.tests {
            let e = seen.entry((&t.package, &t.name)).or_default();
            let list = match t.outcome {
                Outcome::Pass => &mut e.1,
                o if o.failed() => &mut e.0,
                _ => continue,
            };
            if list.last() != Some(&i) {
                list.push(i);
            }
        }
    }
    seen.into_iter()
        .filter(|(_, (f, p))| !f.is_empty() && !p.is_empty())
        .map(|((package, name), (failed_in, passed_in))| FlakyTest {
            package: package.to_string(),
            name: name.to_string(),
            failed_in,
            passed_in,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(package: &str, name: &str, outcome: Outcome) -> TestResult {
        TestResult {
            package: package.into(),
            name: name.into(),
            outcome,
            elapsed: None,
            line: 1,
            output: Vec::new(),
            output_omitted: 0,
            cause: None,
        }
    }

    #[test]
    fn a_test_that_passes_once_and_fails_once_is_flaky() {
        let a = TestRun {
            tests: vec![
                t("p", "TestA", Outcome::Fail),
                t("p", "TestB", Outcome::Pass),
            ],
            ..TestRun::default()
        };
        let b = TestRun {
            tests: vec![
                t("p", "TestA", Outcome::Pass),
                t("p", "TestB", Outcome::Pass),
            ],
            ..TestRun::default()
        };
        let f = flaky_tests(&[&a, &b]);
        assert_eq!(f.len(), 1);
        assert_eq!(
            (f[0].name.as_str(), &f[0].failed_in, &f[0].passed_in),
            ("TestA", &vec![0], &vec![1])
        );
    }

    #[test]
    fn a_parent_of_failed_subtests_is_not_shown_on_its_own() {
        let run = TestRun {
            tests: vec![
                t("p", "TestA", Outcome::Fail),
                t("p", "TestA/x", Outcome::Fail),
            ],
            ..TestRun::default()
        };
        let names: Vec<&str> = run
            .leaf_failures()
            .iter()
            .map(|t| t.name.as_str())
            .collect();
        assert_eq!(names, ["TestA/x"]);
    }

    #[test]
    fn t_error_lines_are_split() {
        assert_eq!(
            file_line_message("calc_test.go:8: Add(2, 2) = 5, want 4"),
            Some(("calc_test.go", 8, "Add(2, 2) = 5, want 4"))
        );
        assert_eq!(file_line_message("no location: here"), None);
    }
}
