//! `go test` results for CI systems: JUnit XML (what Jenkins, GitLab,
//! CircleCI and most test dashboards read) and GitHub Actions workflow
//! commands (`::error file=...,line=...::message`, shown as annotations on
//! the pull request).

use std::fmt::Write as _;

use gosleuth_model::{Outcome, PackageOutcome, TestResult, TestRun};

use crate::tests::Causes;

/// One input's results, with what its causes point into.
pub struct Run<'a> {
    pub name: &'a str,
    pub tests: &'a TestRun,
    pub causes: Causes<'a>,
}

/// JUnit XML for the runs: one `<testsuite>` per package (per run, when
/// several are given), a `<testcase>` per test with `<failure>` (failed,
/// timed out, unfinished) or `<skipped>`, and for a package that did not
/// build a `<testcase name="[build failed]">` with an `<error>` holding the
/// compiler's or vet's messages, as go-junit-report does.
pub fn junit(runs: &[Run<'_>]) -> String {
    let mut suites = String::new();
    let (mut all, mut failures, mut errors, mut skipped) = (0usize, 0usize, 0usize, 0usize);
    let mut id = 0;
    for run in runs {
        // Packages in result order; tests without a package as their own suite.
        let mut names: Vec<&str> = run.tests.packages.iter().map(|p| p.name.as_str()).collect();
        for t in &run.tests.tests {
            if !names.contains(&t.package.as_str()) {
                names.push(&t.package);
            }
        }
        names.dedup();
        let mut done: Vec<&str> = Vec::new();
        for package in names {
            if done.contains(&package) {
                continue;
            }
            done.push(package);
            let tests: Vec<&TestResult> = run
                .tests
                .tests
                .iter()
                .filter(|t| t.package == package)
                .collect();
            let result = run.tests.packages.iter().find(|p| p.name == package);
            let build_failed = result.is_some_and(|p| {
                matches!(
                    p.outcome,
                    PackageOutcome::BuildFailed | PackageOutcome::SetupFailed
                )
            });
            let f = tests.iter().filter(|t| t.outcome.failed()).count();
            let s = tests.iter().filter(|t| t.outcome == Outcome::Skip).count();
            let e = usize::from(build_failed);
            let n = tests.len() + e;
            all += n;
            failures += f;
            errors += e;
            skipped += s;
            let time: f64 = result.and_then(|p| p.elapsed).unwrap_or(0.0);
            let suite_name = if package.is_empty() {
                "(package not named in the output)"
            } else {
                package
            };
            let _ = writeln!(
                suites,
                "  <testsuite name=\"{}\" tests=\"{n}\" failures=\"{f}\" errors=\"{e}\" \
                 skipped=\"{s}\" time=\"{time:.3}\" id=\"{id}\">",
                attr(suite_name)
            );
            if runs.len() > 1 {
                let _ = writeln!(
                    suites,
                    "    <properties>\n      <property name=\"input\" value=\"{}\"/>\n    \
                     </properties>",
                    attr(run.name)
                );
            }
            id += 1;
            if build_failed {
                let messages: Vec<String> = run
                    .tests
                    .build_errors
                    .iter()
                    .filter(|b| b.package == package)
                    .map(|b| {
                        let col = b.column.map(|c| format!(":{c}")).unwrap_or_default();
                        format!("{}:{}{col}: {}", b.file, b.line, b.message)
                    })
                    .collect();
                let _ = writeln!(
                    suites,
                    "    <testcase name=\"[build failed]\" classname=\"{}\" time=\"0.000\">\n      \
                     <error message=\"{}\" type=\"BuildError\">{}</error>\n    </testcase>",
                    attr(suite_name),
                    if messages.is_empty() {
                        "build failed".to_string()
                    } else {
                        attr(&messages[0])
                    },
                    text(&messages.join("\n"))
                );
            }
            for t in tests {
                testcase(&mut suites, t, suite_name, run.causes);
            }
            suites.push_str("  </testsuite>\n");
        }
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites tests=\"{all}\" \
         failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\">\n{suites}</testsuites>\n"
    )
}

fn testcase(out: &mut String, t: &TestResult, classname: &str, causes: Causes<'_>) {
    let _ = write!(
        out,
        "    <testcase name=\"{}\" classname=\"{}\" time=\"{:.3}\"",
        attr(&t.name),
        attr(classname),
        t.elapsed.unwrap_or(0.0)
    );
    match t.outcome {
        Outcome::Pass => out.push_str("/>\n"),
        Outcome::Skip => {
            let why = t.output.first().map_or("", String::as_str);
            let _ = writeln!(
                out,
                ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                attr(why)
            );
        }
        _ => {
            let cause = t.cause.map(|c| causes.summary(c));
            let message = match (t.outcome, &cause) {
                (Outcome::TimedOut, _) => "timed out".to_string(),
                (Outcome::Unfinished, _) => "unfinished: the output ends before its result".into(),
                (_, Some(c)) => c.lines().next().unwrap_or("").to_string(),
                _ => t
                    .reported_at()
                    .map_or("Failed".to_string(), |(_, _, m)| m.to_string()),
            };
            let mut body = t.output.join("\n");
            if let Some(c) = cause {
                if !body.is_empty() {
                    body.push('\n');
                }
                body.push_str(&c);
            }
            let _ = writeln!(
                out,
                ">\n      <failure message=\"{}\" type=\"{}\">{}</failure>\n    </testcase>",
                attr(&message),
                match t.outcome {
                    Outcome::TimedOut => "Timeout",
                    Outcome::Unfinished => "Unfinished",
                    _ => "Failure",
                },
                text(&body)
            );
        }
    }
}

/// Characters XML 1.0 cannot hold at all (control characters but tab, CR
/// and LF) are dropped.
fn xml_char(c: char) -> bool {
    !matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}')
}

/// Escapes an attribute value (whitespace kept as character references,
/// which attribute normalisation would otherwise turn into spaces).
fn attr(s: &str) -> String {
    escape(s, true)
}

/// Escapes element text.
fn text(s: &str) -> String {
    escape(s, false)
}

fn escape(s: &str, in_attribute: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().filter(|c| xml_char(*c)) {
        match (c, in_attribute) {
            ('&', _) => out.push_str("&amp;"),
            ('<', _) => out.push_str("&lt;"),
            ('>', _) => out.push_str("&gt;"),
            ('"', true) => out.push_str("&quot;"),
            ('\n', true) => out.push_str("&#10;"),
            ('\r', true) => out.push_str("&#13;"),
            ('\t', true) => out.push_str("&#9;"),
            (c, _) => out.push(c),
        }
    }
    out
}

/// Where a test's files are, for annotations: a package's directory
/// relative to the repository root (from the module path in its go.mod).
pub trait PackageDirs {
    /// The directory of `package` relative to the repository root, when
    /// known (`calc` for `example.com/m/calc` in module `example.com/m`).
    fn dir(&self, package: &str) -> Option<String>;
}

/// GitHub Actions workflow commands: an `::error` annotation per build
/// error and per failed test (at the `file:line` the test reported, or the
/// panic's root-cause frame), and a `::warning` per flaky test.
pub fn github(runs: &[Run<'_>], dirs: &dyn PackageDirs) -> String {
    let mut out = String::new();
    for run in runs {
        for e in &run.tests.build_errors {
            let _ = writeln!(
                out,
                "::error file={},line={}{},title={}::{}",
                prop(&e.file),
                e.line,
                e.column.map(|c| format!(",col={c}")).unwrap_or_default(),
                prop(&format!(
                    "{} {}",
                    if e.vet { "go vet" } else { "build failed" },
                    e.package
                )),
                data(&e.message)
            );
        }
        for t in run.tests.leaf_failures() {
            let title = format!("{} {} ({})", t.name, t.outcome.as_str(), t.package);
            let cause = t.cause.map(|c| run.causes.summary(c));
            let mut message = t.output.join("\n");
            if let Some(c) = &cause {
                if !message.is_empty() {
                    message.push('\n');
                }
                message.push_str(c);
            }
            if message.is_empty() {
                message = format!("{} {}", t.name, t.outcome.as_str());
            }
            // Where: the test's own report, else the root-cause frame.
            let at = t
                .reported_at()
                .map(|(file, line, _)| (join(dirs.dir(&t.package), file), line))
                .or_else(|| {
                    let f = t.cause.and_then(|c| run.causes.frame(c))?;
                    let base = f.file.rsplit('/').next().unwrap_or(&f.file).to_string();
                    Some((
                        join(dirs.dir(gosleuth_model::package_of(&f.function)), &base),
                        f.line,
                    ))
                });
            match at {
                Some((file, line)) => {
                    let _ = writeln!(
                        out,
                        "::error file={},line={line},title={}::{}",
                        prop(&file),
                        prop(&title),
                        data(&message)
                    );
                }
                None => {
                    let _ = writeln!(out, "::error title={}::{}", prop(&title), data(&message));
                }
            }
        }
    }
    if runs.len() > 1 {
        let all: Vec<&TestRun> = runs.iter().map(|r| r.tests).collect();
        for f in gosleuth_model::flaky_tests(&all) {
            let _ = writeln!(
                out,
                "::warning title={}::{}",
                prop(&format!("flaky test {} ({})", f.name, f.package)),
                data(&format!(
                    "{} passed in {} run(s) and failed in {}",
                    f.name,
                    f.passed_in.len(),
                    f.failed_in.len()
                ))
            );
        }
    }
    out
}

fn join(dir: Option<String>, file: &str) -> String {
    match dir {
        Some(d) if !d.is_empty() => format!("{d}/{file}"),
        _ => file.to_string(),
    }
}

/// Escapes a workflow command's message (as @actions/core does).
fn data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow command's property value.
fn prop(s: &str) -> String {
    data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(
            attr("a<\"b\">&\u{1}c\n"),
            "a&lt;&quot;b&quot;&gt;&amp;c&#10;"
        );
        assert_eq!(text("<x>&\u{7f}"), "&lt;x&gt;&amp;\u{7f}");
        assert_eq!(data("50%\nnext"), "50%25%0Anext");
        assert_eq!(prop("a: b, c"), "a%3A b%2C c");
    }
}
