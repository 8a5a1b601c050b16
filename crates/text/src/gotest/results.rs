//! Test results from `go test` output: which tests passed, failed, were
//! skipped or timed out, in which package, with each failure's own output;
//! build and vet errors; and which panic, race or timeout ended a test.
//!
//! Two sources, one [`TestRun`]:
//!
//! - text (`go test`, `go test -v`): `=== RUN`/`=== CONT`/`=== NAME`
//!   say which test the next lines belong to, `--- FAIL: X (0.01s)` ends a
//!   test (followed, without `-v`, by its output indented under it), and
//!   `ok`/`FAIL`/`?` lines end a package: the tests before such a line
//!   belong to the package it names (`go test ./...` prints each package's
//!   output as one block);
//! - test2json events (`go test -json`), which name the package and test of
//!   every event. Text lines between events (build errors printed to
//!   stderr by releases before Go 1.24) are still read as text.
//!
//! The parser tells the recorder where incidents and race reports begin,
//! and gives it each incident when it closes: a panic is tied to the test
//! that failed just before it (or whose output it is in), a timeout to the
//! tests its message names as running, a race to the test whose output
//! says `race detected during execution of test`.

use std::collections::{HashMap, VecDeque};

use gosleuth_model::testrun::{
    MAX_BUILD_ERRORS, MAX_FAILED_TESTS, MAX_OTHER_TESTS, MAX_PACKAGES, MAX_TEST_OUTPUT,
};
use gosleuth_model::{
    BuildError, Incident, IncidentKind, Outcome, PackageOutcome, PackageResult, TestCause,
    TestResult, TestRun,
};

use super::test2json::Event;
use super::timeout::running_tests;

/// Tests running at once that are followed (more are counted, not kept).
const MAX_RUNNING: usize = 10_000;
/// Bytes of output held for running tests, all together.
const MAX_HELD_OUTPUT: usize = 64 << 20;
/// A kept output line is cut to this length.
const MAX_OUTPUT_LINE: usize = 4 << 10;

/// Where a line came from.
#[derive(Debug, Clone, Copy)]
pub enum Context<'a> {
    /// Text outside any test2json event.
    Text,
    /// The `Output` of a test2json event.
    Json {
        package: &'a str,
        test: &'a str,
        build: bool,
    },
}

/// A test's output as it streams: the first and the last lines.
#[derive(Debug, Default)]
struct Output {
    head: Vec<String>,
    tail: VecDeque<String>,
    omitted: u64,
    /// Indentation of the first line (stripped from every line).
    indent: Option<usize>,
    bytes: usize,
}

impl Output {
    fn push(&mut self, line: &str, held: &mut usize) {
        let indent = *self
            .indent
            .get_or_insert_with(|| line.len() - line.trim_start_matches([' ', '\t']).len());
        let body = strip_indent(line, indent);
        let body = crate::parser::cut(body, MAX_OUTPUT_LINE);
        if *held + body.len() > MAX_HELD_OUTPUT {
            self.omitted += 1;
            return;
        }
        if self.head.len() < MAX_TEST_OUTPUT / 2 {
            self.bytes += body.len();
            *held += body.len();
            self.head.push(body.to_string());
            return;
        }
        if self.tail.len() == MAX_TEST_OUTPUT / 2 {
            if let Some(old) = self.tail.pop_front() {
                self.bytes -= old.len();
                *held -= old.len();
            }
            self.omitted += 1;
        }
        self.bytes += body.len();
        *held += body.len();
        self.tail.push_back(body.to_string());
    }

    fn into_lines(self, held: &mut usize) -> (Vec<String>, u64) {
        *held -= self.bytes;
        let mut lines = self.head;
        if self.omitted > 0 {
            lines.push(format!("... {} lines not kept ...", self.omitted));
        }
        lines.extend(self.tail);
        (lines, self.omitted)
    }
}

/// Removes up to `n` leading spaces (a tab counts as one).
fn strip_indent(line: &str, n: usize) -> &str {
    let skip = line
        .bytes()
        .take(n)
        .take_while(|b| *b == b' ' || *b == b'\t')
        .count();
    &line[skip..]
}

/// A test that has started and not ended.
#[derive(Debug)]
struct Running {
    line: u64,
    output: Output,
}

/// The recorder's state between lines.
#[derive(Debug, Default)]
pub struct Recorder {
    run: TestRun,
    failed_kept: usize,
    others_kept: usize,
    /// Running tests by (package, name); the package is empty for text
    /// until the package's `ok`/`FAIL` line.
    running: HashMap<String, Running>,
    /// Scratch for the key of `running` (`package\0name`).
    key: String,
    held: usize,
    /// Text: the test the next output lines belong to (`=== RUN X`).
    current: Option<String>,
    /// Text: after `--- FAIL: X`, lines indented deeper than this belong to
    /// X (the output of a test run without `-v`): the indent and the index
    /// of X in `run.tests`.
    after_marker: Option<(usize, usize)>,
    /// Text: the first test of the current package block in `run.tests`.
    block_start: usize,
    /// Text: a `# pkg` build block: the package, and whether it is `go
    /// vet`'s (`# [pkg]`).
    build: Option<(String, bool)>,
    /// The last test that failed, by package: (index in `run.tests`); the
    /// text block's is under the empty package.
    last_failed: HashMap<String, usize>,
    /// The last race report's first line, by package.
    last_race: HashMap<String, u64>,
    /// Timeouts by package: the running tests their message named, and the
    /// incident's line.
    timeouts: HashMap<String, (Vec<String>, u64)>,
    /// An incident the parser opened: its line, its package key, and the
    /// test it would be tied to if it is not a timeout.
    open_incident: Option<(u64, String, Option<String>)>,
    /// Causes found for tests that had not ended yet: (package, test), at
    /// most one per running test.
    pending_causes: Vec<(String, String, TestCause)>,
    /// The context of the line being read (set by [`Recorder::line`]).
    ctx_json: bool,
    ctx_package: String,
    ctx_test: String,
}

impl Recorder {
    /// A test2json event (its output lines come next, through
    /// [`Recorder::line`]).
    pub fn event(&mut self, ev: &Event<'_>, line_no: u64) {
        self.run.json = true;
        let package = ev.package();
        let test = ev.test();
        match (&*ev.action, test.is_empty()) {
            ("run", false) => self.start(package, test, line_no),
            ("pass" | "fail" | "skip", false) => {
                let outcome = match &*ev.action {
                    "pass" => Outcome::Pass,
                    "fail" => Outcome::Fail,
                    _ => Outcome::Skip,
                };
                self.end(package, test, outcome, ev.elapsed, line_no);
            }
            ("pass" | "fail" | "skip", true) => {
                let outcome = match (&*ev.action, &ev.failed_build) {
                    ("pass", _) => PackageOutcome::Ok,
                    ("skip", _) => PackageOutcome::NoTestFiles,
                    (_, Some(_)) => PackageOutcome::BuildFailed,
                    _ => PackageOutcome::Fail,
                };
                let elapsed = ev
                    .elapsed
                    .filter(|_| outcome != PackageOutcome::BuildFailed);
                self.package_end(package, outcome, elapsed, false, line_no, false);
            }
            _ => {}
        }
    }

    /// Where the next line comes from (before the parser reads it, so an
    /// incident or race it opens is tied to its test).
    pub fn context(&mut self, ctx: Context<'_>) {
        match ctx {
            Context::Json { package, test, .. } => {
                self.ctx_json = true;
                package.clone_into(&mut self.ctx_package);
                test.clone_into(&mut self.ctx_test);
            }
            Context::Text => {
                self.ctx_json = false;
                self.ctx_package.clear();
                self.ctx_test.clear();
            }
        }
    }

    /// One logical line. `in_incident`: the parser reads it as part of a
    /// panic, dump or race report (it is then nobody's test output).
    pub fn line(&mut self, l: &str, ctx: Context<'_>, line_no: u64, in_incident: bool) {
        match ctx {
            Context::Json {
                package,
                test,
                build,
            } => {
                if build {
                    self.build_line(l, package, line_no);
                } else if !test.is_empty() && !in_incident && !is_marker_line(l) {
                    if l.trim_start().starts_with("testing.go:")
                        && l.ends_with("race detected during execution of test")
                    {
                        self.blame_race(package, test);
                    }
                    set_key(&mut self.key, package, test);
                    if let Some(r) = self.running.get_mut(self.key.as_str()) {
                        r.output.push(l, &mut self.held);
                    }
                }
            }
            Context::Text => self.text_line(l, line_no, in_incident),
        }
    }

    fn text_line(&mut self, l: &str, line_no: u64, in_incident: bool) {
        if let Some((package, vet)) = &mut self.build {
            if let Some(mut e) = build_error(l) {
                e.package.clone_from(package);
                e.vet = *vet;
                e.at = line_no;
                self.push_build_error(e);
                return;
            }
            if l.starts_with("# [") {
                *vet = true;
                return;
            }
            if let Some(last) = self.run.build_errors.last_mut() {
                if l.starts_with('\t') && last.message.len() < 1024 {
                    last.message.push('\n');
                    last.message.push_str(l.trim());
                    return;
                }
            }
            self.build = None;
        }
        match l.as_bytes().first() {
            Some(b'#') => {
                if let Some((package, vet)) = build_header(l) {
                    self.build = Some((package.to_string(), vet));
                    return;
                }
            }
            Some(b'=') => {
                if let Some((verb, name)) = run_line(l) {
                    self.after_marker = None;
                    match verb {
                        "RUN" => {
                            self.start("", name, line_no);
                            self.current = Some(name.to_string());
                        }
                        "PAUSE" => self.current = None,
                        _ => self.current = Some(name.to_string()),
                    }
                    return;
                }
            }
            Some(b'o' | b'F' | b'?') => {
                if let Some((outcome, package, elapsed, cached)) = package_line(l) {
                    self.package_end(package, outcome, elapsed, cached, line_no, true);
                    return;
                }
            }
            _ => {}
        }
        if let Some((indent, outcome, name, elapsed)) = marker(l) {
            let i = self.end("", name, outcome, elapsed, line_no);
            self.current = None;
            self.after_marker = i.map(|i| (indent, i));
            return;
        }
        if in_incident || l.is_empty() || is_marker_line(l) {
            return;
        }
        let race_line = l.trim_start().starts_with("testing.go:")
            && l.ends_with("race detected during execution of test");
        // Without -v, a failed test's output follows its marker, indented.
        if let Some((indent, i)) = self.after_marker {
            let deeper = l.len() - l.trim_start_matches([' ', '\t']).len() > indent;
            if deeper {
                if race_line {
                    let race = self.last_race.get("").copied();
                    if let (Some(t), Some(line)) = (self.run.tests.get_mut(i), race) {
                        t.cause.get_or_insert(TestCause::Race { line });
                    }
                }
                if let Some(t) = self.run.tests.get_mut(i) {
                    if t.output.len() < MAX_TEST_OUTPUT {
                        let indent = indent + 4;
                        t.output.push(
                            crate::parser::cut(strip_indent(l, indent), MAX_OUTPUT_LINE)
                                .to_string(),
                        );
                    } else {
                        t.output_omitted += 1;
                    }
                }
                return;
            }
            self.after_marker = None;
        }
        if let Some(name) = self.current.clone() {
            if race_line {
                self.blame_race("", &name);
            }
            set_key(&mut self.key, "", &name);
            if let Some(r) = self.running.get_mut(self.key.as_str()) {
                r.output.push(l, &mut self.held);
            }
        }
    }

    fn build_line(&mut self, l: &str, package: &str, line_no: u64) {
        if l.starts_with("# [") {
            self.build = Some((package.to_string(), true));
            return;
        }
        if l.starts_with("# ") {
            self.build = Some((package.to_string(), false));
            return;
        }
        if let Some(mut e) = build_error(l) {
            e.package = package.to_string();
            e.vet = self.build.as_ref().is_some_and(|(_, vet)| *vet);
            e.at = line_no;
            self.push_build_error(e);
        }
    }

    fn push_build_error(&mut self, e: BuildError) {
        if self.run.build_errors.len() < MAX_BUILD_ERRORS {
            self.run.build_errors.push(e);
        } else {
            self.run.omitted += 1;
        }
    }

    fn start(&mut self, package: &str, name: &str, line_no: u64) {
        set_key(&mut self.key, package, name);
        if self.running.contains_key(self.key.as_str()) {
            return;
        }
        if self.running.len() >= MAX_RUNNING {
            self.run.omitted += 1;
            return;
        }
        self.running.insert(
            self.key.clone(),
            Running {
                line: line_no,
                output: Output::default(),
            },
        );
    }

    /// A test ended; its index in `run.tests` when kept.
    fn end(
        &mut self,
        package: &str,
        name: &str,
        outcome: Outcome,
        elapsed: Option<f64>,
        line_no: u64,
    ) -> Option<usize> {
        set_key(&mut self.key, package, name);
        let running = self.running.remove(self.key.as_str());
        let (line, output) = match running {
            Some(r) => (r.line, Some(r.output)),
            None => (line_no, None),
        };
        let (output, output_omitted) = match output {
            Some(o) if outcome.failed() => o.into_lines(&mut self.held),
            // Why a test was skipped: its first line.
            Some(o) if outcome == Outcome::Skip => {
                let (mut lines, _) = o.into_lines(&mut self.held);
                lines.truncate(1);
                (lines, 0)
            }
            Some(o) => {
                o.into_lines(&mut self.held);
                (Vec::new(), 0)
            }
            None => (Vec::new(), 0),
        };
        let i = self.keep(TestResult {
            package: package.to_string(),
            name: name.to_string(),
            outcome,
            elapsed,
            line,
            output,
            output_omitted,
            cause: None,
        })?;
        if outcome.failed() {
            self.last_failed.insert(package.to_string(), i);
        }
        Some(i)
    }

    fn keep(&mut self, t: TestResult) -> Option<usize> {
        let kept = if t.outcome.failed() {
            &mut self.failed_kept
        } else {
            &mut self.others_kept
        };
        let cap = if t.outcome.failed() {
            MAX_FAILED_TESTS
        } else {
            MAX_OTHER_TESTS
        };
        if *kept >= cap {
            self.run.omitted += 1;
            return None;
        }
        *kept += 1;
        let mut t = t;
        // A cause found while the test still ran.
        if let Some(at) = self.pending_causes.iter().position(|(p, n, _)| {
            *n == t.name && (*p == t.package || p.is_empty() || t.package.is_empty())
        }) {
            let (_, _, cause) = self.pending_causes.swap_remove(at);
            t.cause.get_or_insert(cause);
        }
        self.run.tests.push(t);
        Some(self.run.tests.len() - 1)
    }

    /// A package ended: its tests without a result are timed out (when
    /// the timeout named them) or unfinished; in text (`text`), the tests
    /// of its block get its name.
    fn package_end(
        &mut self,
        package: &str,
        outcome: PackageOutcome,
        elapsed: Option<f64>,
        cached: bool,
        line_no: u64,
        text: bool,
    ) {
        // Text tests are under "" until now.
        let key = if text { "" } else { package };
        let timeout = self.timeouts.remove(key);
        let mut unfinished: Vec<(String, Running)> = Vec::new();
        let names: Vec<String> = self
            .running
            .keys()
            .filter(|k| split_key(k).0 == key)
            .cloned()
            .collect();
        for k in names {
            if let Some(r) = self.running.remove(&k) {
                unfinished.push((split_key(&k).1.to_string(), r));
            }
        }
        unfinished.sort_by_key(|(_, r)| r.line);
        let named = timeout.as_ref().map(|(n, _)| n.as_slice()).unwrap_or(&[]);
        for (name, r) in unfinished {
            let timed_out = named.contains(&name);
            let (output, output_omitted) = r.output.into_lines(&mut self.held);
            let cause = timeout
                .as_ref()
                .filter(|_| timed_out)
                .map(|(_, line)| TestCause::Timeout { line: *line });
            self.keep(TestResult {
                package: package.to_string(),
                name,
                outcome: if timed_out {
                    Outcome::TimedOut
                } else {
                    Outcome::Unfinished
                },
                elapsed: None,
                line: r.line,
                output,
                output_omitted,
                cause,
            });
        }
        // Named as running but never started in the output (plain `go test`
        // prints no `=== RUN`).
        if let Some((names, line)) = &timeout {
            for name in names {
                let known = self
                    .run
                    .tests
                    .iter()
                    .rev()
                    .take(MAX_RUNNING)
                    .any(|t| t.name == *name && (t.package == package || t.package.is_empty()));
                if !known {
                    self.keep(TestResult {
                        package: package.to_string(),
                        name: name.clone(),
                        outcome: Outcome::TimedOut,
                        elapsed: None,
                        line: *line,
                        output: Vec::new(),
                        output_omitted: 0,
                        cause: Some(TestCause::Timeout { line: *line }),
                    });
                }
            }
        }
        if text {
            let start = self.block_start.min(self.run.tests.len());
            for t in &mut self.run.tests[start..] {
                if t.package.is_empty() {
                    t.package = package.to_string();
                }
            }
            self.block_start = self.run.tests.len();
            self.current = None;
            self.after_marker = None;
        }
        self.last_failed.remove(key);
        self.last_race.remove(key);
        if self.run.packages.len() < MAX_PACKAGES {
            self.run.packages.push(PackageResult {
                name: package.to_string(),
                outcome,
                elapsed,
                cached,
                line: line_no,
            });
        } else {
            self.run.omitted += 1;
        }
    }

    /// The package key the current line's state is under: "" for text.
    fn ctx_key(&self) -> String {
        if self.ctx_json {
            self.ctx_package.clone()
        } else {
            String::new()
        }
    }

    /// The parser opened an incident at `line_no` (the line just given).
    pub fn incident_opened(&mut self, line_no: u64) {
        let key = self.ctx_key();
        let last_failed = self
            .last_failed
            .get(&key)
            .and_then(|&i| self.run.tests.get(i))
            .map(|t| t.name.clone());
        let test = &self.ctx_test;
        // The test whose output it is in (-json), else the last that failed
        // (the testing package prints `--- FAIL` before re-panicking), else
        // the one running (-v). test2json files the panic under the parent
        // test when a subtest panicked: the subtest that failed last is the
        // one.
        let target = match (test.is_empty(), last_failed) {
            (false, Some(f)) if f.starts_with(&format!("{test}/")) => Some(f),
            (false, _) => Some(test.clone()),
            (true, Some(f)) => Some(f),
            (true, None) => self.current.clone(),
        };
        self.open_incident = Some((line_no, key, target));
    }

    /// The parser began a race report at `line_no`.
    pub fn race_opened(&mut self, line_no: u64) {
        let key = self.ctx_key();
        self.last_race.insert(key, line_no);
    }

    fn blame_race(&mut self, package: &str, test: &str) {
        let Some(line) = self.last_race.get(package).copied() else {
            return;
        };
        // The test may still be running (-v, -json) or have ended.
        let cause = TestCause::Race { line };
        if let Some(t) = self
            .run
            .tests
            .iter_mut()
            .rev()
            .take(64)
            .find(|t| t.name == test && (t.package == package || t.package.is_empty()))
        {
            t.cause.get_or_insert(cause);
        } else {
            self.pend(package, test, cause);
        }
    }

    /// The parser closed an incident: tie it to its test.
    pub fn incident_closed(&mut self, inc: &Incident) {
        let Some((line, key, target)) = self.open_incident.take() else {
            return;
        };
        if inc.line != line || !matches!(inc.kind, IncidentKind::Panic | IncidentKind::Fatal) {
            return;
        }
        let message = inc.panics.first().map_or("", |p| p.message.as_str());
        if message.starts_with("test timed out after ") {
            self.timeouts.insert(key, (running_tests(message), line));
            return;
        }
        if let Some(name) = target {
            let cause = TestCause::Panic { line };
            match self
                .run
                .tests
                .iter_mut()
                .rev()
                .find(|t| t.name == name && (t.package == key || t.package.is_empty()))
            {
                Some(t) => {
                    t.cause.get_or_insert(cause);
                }
                None => self.pend(&key, &name, cause),
            }
        }
    }

    /// Keeps a cause for a test that is still running, tied when it ends
    /// (one per test: a test's repeats of `race detected` add nothing).
    fn pend(&mut self, package: &str, test: &str, cause: TestCause) {
        let running = self
            .running
            .contains_key(format!("{package}\u{0}{test}").as_str());
        let known = self
            .pending_causes
            .iter()
            .any(|(p, n, _)| p == package && n == test);
        if running && !known {
            self.pending_causes
                .push((package.to_string(), test.to_string(), cause));
        }
    }

    /// Ends the input: tests still running are unfinished.
    pub fn finish(mut self) -> TestRun {
        let mut left: Vec<(String, Running)> = self.running.drain().collect();
        left.sort_by_key(|(_, r)| r.line);
        for (key, r) in left {
            let (package, name) = split_key(&key);
            let (output, output_omitted) = r.output.into_lines(&mut self.held);
            self.keep(TestResult {
                package: package.to_string(),
                name: name.to_string(),
                outcome: Outcome::Unfinished,
                elapsed: None,
                line: r.line,
                output,
                output_omitted,
                cause: None,
            });
        }
        self.run
    }
}

/// The key of a running test: `package\0name`.
fn set_key(key: &mut String, package: &str, name: &str) {
    key.clear();
    key.push_str(package);
    key.push('\0');
    key.push_str(name);
}

fn split_key(key: &str) -> (&str, &str) {
    key.split_once('\0').unwrap_or((key, ""))
}

/// `=== RUN   TestX` (also `CONT`, `NAME`, `PAUSE`): the verb and the name.
fn run_line(l: &str) -> Option<(&str, &str)> {
    let rest = l.strip_prefix("=== ")?;
    let (verb, name) = rest.split_once(' ')?;
    if !matches!(verb, "RUN" | "CONT" | "NAME" | "PAUSE") {
        return None;
    }
    let name = name.trim();
    (!name.is_empty() && !name.contains(' ')).then_some((verb, name))
}

/// `    --- FAIL: TestX/sub (0.01s)`: indentation, outcome, name, seconds.
fn marker(l: &str) -> Option<(usize, Outcome, &str, Option<f64>)> {
    let t = l.trim_start_matches(' ');
    let rest = t.strip_prefix("--- ")?;
    let (outcome, rest) = if let Some(r) = rest.strip_prefix("FAIL: ") {
        (Outcome::Fail, r)
    } else if let Some(r) = rest.strip_prefix("PASS: ") {
        (Outcome::Pass, r)
    } else if let Some(r) = rest.strip_prefix("SKIP: ") {
        (Outcome::Skip, r)
    } else {
        return None;
    };
    let (name, elapsed) = match rest.rsplit_once(" (") {
        Some((name, tail)) => (name, tail.strip_suffix("s)").and_then(|s| s.parse().ok())),
        None => (rest, None),
    };
    (!name.is_empty() && !name.contains(' ')).then_some((l.len() - t.len(), outcome, name, elapsed))
}

/// A line the testing package (or the race detector) prints around a
/// test's output.
fn is_marker_line(l: &str) -> bool {
    run_line(l).is_some() || marker(l).is_some() || l.trim_end() == "=================="
}

/// `ok  \tpkg\t0.01s`, `FAIL\tpkg\t0.01s`, `FAIL\tpkg [build failed]`,
/// `?   \tpkg\t[no test files]`.
fn package_line(l: &str) -> Option<(PackageOutcome, &str, Option<f64>, bool)> {
    let (outcome, rest) = if let Some(r) = l.strip_prefix("ok  ") {
        (PackageOutcome::Ok, r)
    } else if let Some(r) = l.strip_prefix("FAIL\t") {
        (PackageOutcome::Fail, r)
    } else if let Some(r) = l.strip_prefix("?   ") {
        (PackageOutcome::NoTestFiles, r)
    } else {
        return None;
    };
    let rest = rest.trim_start_matches([' ', '\t']);
    let end = rest.find([' ', '\t']).unwrap_or(rest.len());
    let (package, tail) = rest.split_at(end);
    if package.is_empty() || package.contains(['(', ')', ':', '"']) {
        return None;
    }
    let mut outcome = outcome;
    let mut elapsed = None;
    let mut cached = false;
    for word in tail.split(['\t', ' ']).filter(|w| !w.is_empty()) {
        match word {
            "[build" => outcome = PackageOutcome::BuildFailed,
            "[setup" => outcome = PackageOutcome::SetupFailed,
            "(cached)" => cached = true,
            "coverage:" | "[no" => break,
            w => {
                if let Some(s) = w.strip_suffix('s') {
                    elapsed = elapsed.or(s.parse().ok());
                }
            }
        }
    }
    if outcome == PackageOutcome::Ok && elapsed.is_none() && !cached {
        // `ok` starts many sentences; a package line has a time or (cached).
        return None;
    }
    Some((outcome, package, elapsed, cached))
}

/// `# pkg`, `# pkg [pkg.test]` (the compiler) or `# [pkg]` (go vet).
fn build_header(l: &str) -> Option<(&str, bool)> {
    let rest = l.strip_prefix("# ")?;
    if let Some(p) = rest.strip_prefix('[') {
        let p = p.strip_suffix(']')?;
        return (!p.is_empty() && !p.contains(' ')).then_some((p, true));
    }
    let (package, variant) = match rest.split_once(' ') {
        Some((p, v)) => (p, Some(v)),
        None => (rest, None),
    };
    if package.is_empty() || variant.is_some_and(|v| !(v.starts_with('[') && v.ends_with(']'))) {
        return None;
    }
    Some((package, false))
}

/// `dir/file.go:12:5: message` (or without the column).
fn build_error(l: &str) -> Option<BuildError> {
    let at = l.find(".go:")?;
    let file = &l[..at + 3];
    if file.is_empty() || file.contains(' ') {
        return None;
    }
    let rest = &l[at + 4..];
    let (nums, message) = rest.split_once(": ")?;
    let mut parts = nums.split(':');
    let line: u32 = parts.next()?.parse().ok()?;
    let column = match parts.next() {
        Some(c) => Some(c.parse().ok()?),
        None => None,
    };
    if parts.next().is_some() {
        return None;
    }
    Some(BuildError {
        package: String::new(),
        file: file.to_string(),
        line,
        column,
        message: message.to_string(),
        vet: false,
        at: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_of_the_testing_package() {
        assert_eq!(
            run_line("=== RUN   TestDiv/by_zero"),
            Some(("RUN", "TestDiv/by_zero"))
        );
        assert_eq!(run_line("=== CONT  TestP/a"), Some(("CONT", "TestP/a")));
        assert_eq!(
            marker("    --- FAIL: TestDiv/by_zero (0.25s)"),
            Some((4, Outcome::Fail, "TestDiv/by_zero", Some(0.25)))
        );
        assert_eq!(
            package_line("ok  \texample.com/citest/good\t1.021s"),
            Some((
                PackageOutcome::Ok,
                "example.com/citest/good",
                Some(1.021),
                false
            ))
        );
        assert_eq!(
            package_line("FAIL\texample.com/citest/broken [build failed]"),
            Some((
                PackageOutcome::BuildFailed,
                "example.com/citest/broken",
                None,
                false
            ))
        );
        assert_eq!(
            package_line("ok  \tp\t(cached)"),
            Some((PackageOutcome::Ok, "p", None, true))
        );
        assert_eq!(
            package_line("?   \tex/cmd\t[no test files]").map(|p| p.0),
            Some(PackageOutcome::NoTestFiles)
        );
        assert_eq!(package_line("ok  so this is prose"), None);
        assert_eq!(build_header("# ex/p [ex/p.test]"), Some(("ex/p", false)));
        assert_eq!(build_header("# [ex/p]"), Some(("ex/p", true)));
        assert_eq!(build_header("# a comment with words"), None);
        let e = build_error("broken/broken_test.go:6:15: undefined: Missing").unwrap();
        assert_eq!(
            (e.file.as_str(), e.line, e.column, e.message.as_str()),
            ("broken/broken_test.go", 6, Some(15), "undefined: Missing")
        );
    }
}
