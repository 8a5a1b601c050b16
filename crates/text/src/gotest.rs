//! `go test` evidence: the runtime's output inside `go test -json`
//! (test2json) events, and the root cause of a test timeout.

use std::collections::HashMap;

use gosleuth_model::cause::goroot_src;
use gosleuth_model::{Frame, Group, Incident, IncidentKind, RootCause, Status};

use crate::parser::{MAX_LOGICAL_LINE, cut};

/// Streams of output kept apart at most (one per package and test).
const MAX_STREAMS: usize = 1024;

/// Puts the output of `go test -json` back together.
///
/// test2json carries every line the test binary printed in the `Output`
/// field of an event (`{"Action":"output","Package":"p","Test":"TestX",
/// "Output":"panic: boom\n"}`), usually one line per event but split when a
/// line is long or was printed in pieces. Each (package, test) stream is
/// reassembled here, so a panic inside `go test -json` reads like the
/// plain output.
#[derive(Debug, Default)]
pub struct Test2Json {
    /// The unfinished line of each stream.
    partial: HashMap<String, String>,
}

impl Test2Json {
    /// When `line` is a test2json event, the complete lines of output it
    /// finishes (none for events without output); `None` for any other
    /// line.
    pub fn event(&mut self, line: &str) -> Option<Vec<String>> {
        let t = line.trim_end_matches('\r');
        if !t.starts_with('{') || !t.ends_with('}') || !t.contains("\"Action\":") {
            return None;
        }
        let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(t)
        else {
            return None;
        };
        let serde_json::Value::String(action) = map.get("Action")? else {
            return None;
        };
        let field = |k: &str| match map.get(k) {
            Some(serde_json::Value::String(s)) => s.as_str(),
            _ => "",
        };
        let package = match field("Package") {
            "" => field("ImportPath"),
            p => p,
        };
        let key = format!("{package}\u{0}{}", field("Test"));
        let mut out = Vec::new();
        if let Some(serde_json::Value::String(output)) = map.get("Output") {
            let mut rest = output.as_str();
            let mut partial = self.partial.remove(&key).unwrap_or_default();
            while let Some(i) = rest.find('\n') {
                partial.push_str(cut(
                    &rest[..i],
                    MAX_LOGICAL_LINE.saturating_sub(partial.len()),
                ));
                if partial.ends_with('\r') {
                    partial.pop();
                }
                out.push(std::mem::take(&mut partial));
                rest = &rest[i + 1..];
            }
            partial.push_str(cut(rest, MAX_LOGICAL_LINE.saturating_sub(partial.len())));
            if !partial.is_empty() {
                if self.partial.len() < MAX_STREAMS {
                    self.partial.insert(key, partial);
                } else {
                    // Too many streams at once: the piece stands alone.
                    out.push(partial);
                }
            }
        } else if action != "output" {
            // A test or package ended: what it left unfinished is a line.
            out.extend(self.partial.remove(&key));
        }
        Some(out)
    }

    /// The unfinished lines left at the end of the input.
    pub fn finish(self) -> Vec<String> {
        let mut left: Vec<(String, String)> = self.partial.into_iter().collect();
        left.sort();
        left.into_iter().map(|(_, l)| l).collect()
    }
}

/// For `panic: test timed out after D` (the test binary's alarm, raised
/// while tests still run): the hang behind it. The goroutine that raised
/// the panic is the timer (`testing.(*M).startAlarm`), never the cause;
/// the cause is where the goroutines of the tests named as running
/// (`testing.tRunner` calling the test function) are blocked.
pub(crate) fn timeout_cause(inc: &Incident) -> Option<RootCause> {
    if inc.kind != IncidentKind::Panic {
        return None;
    }
    let message = &inc.panics.first()?.message;
    let headline = message.lines().next()?;
    headline.strip_prefix("test timed out after ")?;
    let running = running_tests(message);
    let candidates = test_goroutines(&inc.groups, &running);
    let timer = "the panic itself was raised by the test binary's timer \
                 (testing.(*M).startAlarm), not by the code under test: a test timeout is a hang";
    let Some(&(g, test_fn)) = candidates
        .iter()
        .find(|(g, _)| !waits_for_subtest(g))
        .or_else(|| candidates.first())
    else {
        return Some(RootCause {
            goroutine: 0,
            frame: None,
            caller: None,
            explanation: format!(
                "{headline} while {} was running, and no goroutine running a test \
                 (testing.tRunner) is in the output to show where it is stuck; {timer}.",
                names(&running)
            ),
            message: headline.to_string(),
            created_by: Vec::new(),
            repanicked_in: Vec::new(),
            source: Vec::new(),
        });
    };
    let root = goroot_src(&g.frames);
    let library = |f: &Frame| {
        f.is_runtime() || root.is_some_and(|r| f.file.starts_with(r)) || f.file.is_empty()
    };
    let frame = g.frames.iter().find(|f| !library(f)).cloned();
    let mut text = format!(
        "{headline} while {} was running.\n{}'s goroutine {}",
        names(&running),
        short_name(&test_fn.function),
        where_blocked(g, frame.as_ref(), &library)
    );
    let others: Vec<String> = candidates
        .iter()
        .filter(|(o, _)| !std::ptr::eq(*o, g) && !waits_for_subtest(o))
        .take(8)
        .map(|(o, f)| {
            let user = o.frames.iter().find(|f| !library(f));
            format!(
                "{}'s goroutine {}",
                short_name(&f.function),
                where_blocked(o, user, &library)
            )
        })
        .collect();
    if !others.is_empty() {
        text.push_str(&format!(".\nAlso running: {}", others.join("; ")));
    }
    text.push_str(&format!(
        ".\nThis is probably why the test did not finish (inferred from where it waits); \
         {timer}."
    ));
    Some(RootCause {
        goroutine: g.ids.first().copied().unwrap_or(0),
        frame,
        caller: None,
        explanation: text,
        message: headline.to_string(),
        created_by: g.created_by.iter().cloned().collect(),
        repanicked_in: Vec::new(),
        source: Vec::new(),
    })
}

/// `is blocked [S] in LIB from F at FILE:LINE (called by G <- H)` for a
/// goroutine.
fn where_blocked(g: &Group, user: Option<&Frame>, library: &dyn Fn(&Frame) -> bool) -> String {
    let mut s = match g.status {
        Status::Waiting => format!("is blocked [{}]", g.state),
        Status::Running => String::from("is running"),
        _ if g.state.is_empty() => String::from("is"),
        _ => format!("is [{}]", g.state),
    };
    // The library call it waits in, when there is one above the user frame.
    let lib = g
        .frames
        .iter()
        .take_while(|f| Some(*f) != user)
        .filter(|f| !f.is_runtime())
        .last();
    if let Some(lib) = lib {
        s.push_str(&format!(" in {}", lib.function));
    }
    match user {
        Some(u) => {
            let word = if lib.is_some() { "from" } else { "in" };
            s.push_str(&format!(" {word} {} at {}", u.function, location(u)));
            let callers: Vec<&str> = g
                .frames
                .iter()
                .skip_while(|f| *f != u)
                .skip(1)
                .take_while(|f| f.function != "testing.tRunner")
                .filter(|f| !library(f))
                .map(|f| f.function.as_str())
                .take(6)
                .collect();
            if !callers.is_empty() {
                s.push_str(&format!(" (called by {})", callers.join(" <- ")));
            }
        }
        None => s.push_str(" in library code only"),
    }
    s
}

fn location(f: &Frame) -> String {
    let file = f.file.rsplit('/').next().unwrap_or(&f.file);
    format!("{file}:{}", f.line)
}

/// The tests under `running tests:` in the timeout message (`TestX (2s)`).
fn running_tests(message: &str) -> Vec<String> {
    message
        .lines()
        .skip_while(|l| l.trim() != "running tests:")
        .skip(1)
        .filter_map(|l| {
            let name = l.trim().split(" (").next()?;
            (!name.is_empty() && !name.contains(' ')).then(|| name.to_string())
        })
        .take(64)
        .collect()
}

fn names(running: &[String]) -> String {
    match running {
        [] => String::from("tests"),
        [one] => one.clone(),
        _ => running.join(", "),
    }
}

/// A function name without its package path: `TestX.func1`.
fn short_name(function: &str) -> &str {
    let pkg = gosleuth_model::package_of(function);
    function
        .get(pkg.len()..)
        .and_then(|r| r.strip_prefix('.'))
        .unwrap_or(function)
}

/// Groups of goroutines that run a test (`testing.tRunner` calling it),
/// with the test's function: those of the tests named in `running` when
/// any are, else all of them.
fn test_goroutines<'a>(groups: &'a [Group], running: &[String]) -> Vec<(&'a Group, &'a Frame)> {
    let all: Vec<(&Group, &Frame)> = groups
        .iter()
        .filter_map(|g| {
            let i = g
                .frames
                .iter()
                .position(|f| f.function == "testing.tRunner")?;
            let test_fn = g.frames.get(i.checked_sub(1)?)?;
            // tRunner also runs the list of tests itself (runTests.func1).
            (!test_fn.function.starts_with("testing.")).then_some((g, test_fn))
        })
        .collect();
    let named: Vec<(&Group, &Frame)> = all
        .iter()
        .copied()
        .filter(|(_, f)| {
            let short = short_name(&f.function);
            running.iter().any(|t| {
                let top = t.split('/').next().unwrap_or(t);
                short == top || short.strip_prefix(top).is_some_and(|r| r.starts_with('.'))
            })
        })
        .collect();
    if named.is_empty() { all } else { named }
}

/// The goroutine of a test that waits for its subtests in `t.Run`.
fn waits_for_subtest(g: &Group) -> bool {
    g.frames
        .iter()
        .find(|f| !f.is_runtime())
        .is_some_and(|f| f.function == "testing.(*T).Run")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reassembles_split_output_per_test() {
        let mut t = Test2Json::default();
        let ev = |test: &str, out: &str| {
            format!(
                r#"{{"Action":"output","Package":"p","Test":"{test}","Output":{}}}"#,
                serde_json::to_string(out).unwrap()
            )
        };
        assert_eq!(t.event(&ev("A", "panic: bo")), Some(vec![]));
        assert_eq!(
            t.event(&ev("B", "=== RUN   B\n")),
            Some(vec!["=== RUN   B".into()])
        );
        assert_eq!(
            t.event(&ev("A", "om\n\tx\n")),
            Some(vec!["panic: boom".into(), "\tx".into()])
        );
        assert_eq!(t.event(&ev("A", "tail")), Some(vec![]));
        assert_eq!(
            t.event(r#"{"Action":"fail","Package":"p","Test":"A"}"#),
            Some(vec!["tail".into()])
        );
        assert_eq!(t.event("panic: plain"), None);
        assert_eq!(t.event(r#"{"level":"info","msg":"x"}"#), None);
    }

    #[test]
    fn running_tests_are_read_from_the_message() {
        assert_eq!(
            running_tests(
                "test timed out after 2s\nrunning tests:\n\tTestIncr (2s)\n\tTestB/sub (1s)"
            ),
            vec!["TestIncr".to_string(), "TestB/sub".to_string()]
        );
    }
}
