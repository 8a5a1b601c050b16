//! `go test` results as text: the failed packages and tests, each with its
//! own output and the panic, race or hang behind it; build errors; flaky
//! tests across runs.

use std::fmt::Write as _;

use gosleuth_model::{
    FlakyTest, Frame, Incident, Outcome, PackageOutcome, RaceReport, TestCause, TestResult, TestRun,
};

use crate::Style;

/// Output lines of a failed test shown in text (JSON keeps more).
const SHOWN_OUTPUT: usize = 20;

/// The incidents and race reports a test's cause points into (by line).
#[derive(Clone, Copy)]
pub struct Causes<'a> {
    pub incidents: &'a [Incident],
    pub races: &'a [RaceReport],
}

impl Causes<'_> {
    fn incident(&self, line: u64) -> Option<&Incident> {
        self.incidents.iter().find(|i| i.line == line)
    }

    /// The frame a cause points at: the root-cause frame of a panic or
    /// timeout, the first access of a race.
    pub fn frame(&self, cause: TestCause) -> Option<Frame> {
        match cause {
            TestCause::Panic { line } | TestCause::Timeout { line } => {
                self.incident(line)?.root_cause.as_ref()?.frame.clone()
            }
            TestCause::Race { line } => self
                .races
                .iter()
                .find(|r| r.line == line)
                .or_else(|| self.races.first())?
                .accesses
                .first()?
                .user_frame()
                .cloned(),
        }
    }

    /// One line on what ended a test: the panic's message and root-cause
    /// frame, the race's two accesses, or where a timed-out test waits.
    pub fn summary(&self, cause: TestCause) -> String {
        match cause {
            TestCause::Panic { line } => match self.incident(line) {
                Some(inc) => {
                    let message = inc
                        .root_cause
                        .as_ref()
                        .map(|rc| rc.message.clone())
                        .or_else(|| inc.panics.first().map(|p| p.message.clone()))
                        .or_else(|| inc.fatal.clone())
                        .unwrap_or_default();
                    let head = message.lines().next().unwrap_or("");
                    let mut s = format!("panic: {head}");
                    if let Some(f) = inc.root_cause.as_ref().and_then(|rc| rc.frame.as_ref()) {
                        let _ = write!(s, "\n  root cause: {} at {}", f.function, short(f));
                    }
                    let _ = write!(s, " (line {line})");
                    s
                }
                None => format!("a panic (line {line})"),
            },
            TestCause::Race { line } => {
                let race = self
                    .races
                    .iter()
                    .find(|r| r.line == line)
                    .or_else(|| self.races.first());
                match race {
                    Some(r) => {
                        let sites: Vec<String> = r
                            .accesses
                            .iter()
                            .map(|a| {
                                let what = if a.previous {
                                    format!("previous {}", a.kind.as_str())
                                } else {
                                    a.kind.as_str().to_string()
                                };
                                match a.user_frame() {
                                    Some(f) => format!("{what} in {} at {}", f.function, short(f)),
                                    None => what,
                                }
                            })
                            .collect();
                        format!("data race: {} (line {})", sites.join("; "), r.line)
                    }
                    None => format!("a data race (line {line})"),
                }
            }
            TestCause::Timeout { line } => match self.incident(line) {
                Some(inc) => {
                    let rc = inc.root_cause.as_ref();
                    let head = rc.map_or("test timed out", |rc| rc.message.as_str());
                    let mut s = head.to_string();
                    if let Some(rc) = rc {
                        let group = inc.groups.iter().find(|g| g.ids.contains(&rc.goroutine));
                        if let (Some(g), Some(f)) = (group, rc.frame.as_ref()) {
                            let _ = write!(
                                s,
                                "\n  blocked [{}] in {} at {} (inferred from where it waits)",
                                g.state,
                                f.function,
                                short(f)
                            );
                        }
                    }
                    let _ = write!(s, " (line {line})");
                    s
                }
                None => format!("timed out (line {line})"),
            },
        }
    }
}

fn short(f: &Frame) -> String {
    let file = f.file.rsplit('/').next().unwrap_or(&f.file);
    format!("{file}:{}", f.line)
}

/// `8 packages (5 failed, 2 did not build); 18 tests: 5 failed, ...`.
pub fn summary(run: &TestRun) -> String {
    let failed_pkgs = run.packages.iter().filter(|p| p.outcome.failed()).count();
    let unbuilt = run
        .packages
        .iter()
        .filter(|p| p.outcome == PackageOutcome::BuildFailed)
        .count();
    let mut s = format!(
        "go test: {} package{}",
        run.packages.len(),
        plural(run.packages.len())
    );
    if failed_pkgs > 0 {
        let _ = write!(s, " ({failed_pkgs} failed");
        if unbuilt > 0 {
            let _ = write!(s, ", {unbuilt} did not build");
        }
        s.push(')');
    }
    let _ = write!(s, "; {} test{}", run.tests.len(), plural(run.tests.len()));
    let parts: Vec<String> = [
        Outcome::Fail,
        Outcome::TimedOut,
        Outcome::Unfinished,
        Outcome::Pass,
        Outcome::Skip,
    ]
    .iter()
    .filter_map(|&o| {
        let n = run.count(o);
        let word = match o {
            Outcome::Fail => "failed",
            Outcome::TimedOut => "timed out",
            Outcome::Unfinished => "unfinished",
            Outcome::Pass => "passed",
            Outcome::Skip => "skipped",
        };
        (n > 0).then(|| format!("{n} {word}"))
    })
    .collect();
    if !parts.is_empty() {
        let _ = write!(s, ": {}", parts.join(", "));
    }
    if run.omitted > 0 {
        let _ = write!(s, " ({} more past the caps, counted only)", run.omitted);
    }
    s
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The failures of a run: per failed package, its build errors or its
/// failed tests with their output and causes.
pub fn text(out: &mut String, run: &TestRun, causes: Causes<'_>, st: Style) {
    let _ = writeln!(out, "{}", st.bold(&summary(run)));
    let failures = run.leaf_failures();
    // Packages in the order their results were printed; tests without a
    // package (a log cut before its package's line) last.
    let mut packages: Vec<(&str, Option<PackageOutcome>)> = run
        .packages
        .iter()
        .filter(|p| p.outcome.failed())
        .map(|p| (p.name.as_str(), Some(p.outcome)))
        .collect();
    for t in &failures {
        if !packages.iter().any(|(p, _)| *p == t.package) {
            packages.push((&t.package, None));
        }
    }
    for (package, outcome) in packages {
        let label = match outcome {
            Some(PackageOutcome::BuildFailed) => "BUILD FAILED",
            Some(PackageOutcome::SetupFailed) => "SETUP FAILED",
            _ => "FAIL",
        };
        let name = if package.is_empty() {
            "(package not named in the output)"
        } else {
            package
        };
        let _ = writeln!(out, "\n{} {name}", st.red(label));
        let errors: Vec<_> = run
            .build_errors
            .iter()
            .filter(|e| e.package == package)
            .collect();
        if let Some(e) = errors.first() {
            if e.vet {
                let _ = writeln!(out, "  go vet:");
            }
        }
        for e in errors {
            let col = e.column.map(|c| format!(":{c}")).unwrap_or_default();
            let _ = writeln!(out, "  {}:{}{col}: {}", e.file, e.line, e.message);
        }
        for t in failures.iter().filter(|t| t.package == package) {
            test(out, t, causes, st);
        }
    }
}

fn test(out: &mut String, t: &TestResult, causes: Causes<'_>, st: Style) {
    let mut head = format!("  {}", st.bold(&t.name));
    match t.outcome {
        Outcome::Fail => {}
        o => {
            let _ = write!(head, " [{}]", o.as_str());
        }
    }
    if let Some(e) = t.elapsed {
        let _ = write!(head, " ({e:.2}s)");
    }
    let _ = writeln!(out, "{head}");
    for l in t.output.iter().take(SHOWN_OUTPUT) {
        let _ = writeln!(out, "      {l}");
    }
    if t.output.len() > SHOWN_OUTPUT {
        let _ = writeln!(
            out,
            "      {}",
            st.dim(&format!(
                "... {} more lines (--format json has them)",
                t.output.len() - SHOWN_OUTPUT
            ))
        );
    }
    if let Some(c) = t.cause {
        for (i, l) in causes.summary(c).lines().enumerate() {
            let l = if i == 0 { st.yellow(l) } else { l.to_string() };
            let _ = writeln!(out, "    {l}");
        }
    }
}

/// Tests that passed in some inputs and failed in others.
pub fn flaky(out: &mut String, flaky: &[FlakyTest], inputs: &[String], st: Style) {
    let _ = writeln!(
        out,
        "{}",
        st.bold(&format!(
            "{} flaky test{} (passed in some runs, failed in others):",
            flaky.len(),
            plural(flaky.len())
        ))
    );
    let name = |i: &usize| inputs.get(*i).map_or("?", String::as_str).to_string();
    for f in flaky {
        let _ = writeln!(
            out,
            "  {} {}: failed in {}; passed in {}",
            f.package,
            f.name,
            f.failed_in.iter().map(name).collect::<Vec<_>>().join(", "),
            f.passed_in.iter().map(name).collect::<Vec<_>>().join(", ")
        );
    }
}
