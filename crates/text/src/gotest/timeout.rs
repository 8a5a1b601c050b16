//! The root cause of a test timeout: where the running test is stuck,
//! not the timer that raised the panic.

use gosleuth_model::cause::goroot_src;
use gosleuth_model::{Frame, Group, Incident, IncidentKind, RootCause, Status};

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
pub(crate) fn running_tests(message: &str) -> Vec<String> {
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
    fn running_tests_are_read_from_the_message() {
        assert_eq!(
            running_tests(
                "test timed out after 2s\nrunning tests:\n\tTestIncr (2s)\n\tTestB/sub (1s)"
            ),
            vec!["TestIncr".to_string(), "TestB/sub".to_string()]
        );
    }
}
