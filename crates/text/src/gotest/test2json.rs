//! `go test -json` (test2json) events, and the output lines inside them
//! put back together.

use std::borrow::Cow;
use std::collections::HashMap;

use serde::Deserialize;

use crate::parser::{MAX_LOGICAL_LINE, cut};

/// Streams of output kept apart at most (one per package and test).
const MAX_STREAMS: usize = 1024;

/// One test2json event, borrowing from its line where it can.
#[derive(Debug, Deserialize)]
pub struct Event<'a> {
    #[serde(rename = "Action", borrow)]
    pub action: Cow<'a, str>,
    #[serde(rename = "Package", default, borrow)]
    package: Option<Cow<'a, str>>,
    /// Build events (`build-output`, `build-fail`, Go 1.24 and later) name
    /// the package being built here: `p [p.test]`.
    #[serde(rename = "ImportPath", default, borrow)]
    import_path: Option<Cow<'a, str>>,
    #[serde(rename = "Test", default, borrow)]
    test: Option<Cow<'a, str>>,
    #[serde(rename = "Output", default, borrow)]
    output: Option<Cow<'a, str>>,
    #[serde(rename = "Elapsed", default)]
    pub elapsed: Option<f64>,
    /// On a package's `fail` when its test did not build (Go 1.24 and
    /// later).
    #[serde(rename = "FailedBuild", default, borrow)]
    pub failed_build: Option<Cow<'a, str>>,
}

impl Event<'_> {
    /// The package's import path (of a build event too, without the
    /// `[p.test]` variant).
    pub fn package(&self) -> &str {
        match (&self.package, &self.import_path) {
            (Some(p), _) if !p.is_empty() => p,
            (_, Some(p)) => p.split(" [").next().unwrap_or(p),
            _ => "",
        }
    }

    /// The test's name; empty for package events.
    pub fn test(&self) -> &str {
        self.test.as_deref().unwrap_or("")
    }

    /// A `build-output` or `build-fail` event.
    pub fn is_build(&self) -> bool {
        self.action.starts_with("build-")
    }
}

/// A cheap first look: could this line be a test2json event?
pub fn looks_like_event(line: &str) -> bool {
    let t = line.trim_end_matches('\r');
    t.starts_with('{')
        && t.ends_with('}')
        && memchr::memmem::find(t.as_bytes(), b"\"Action\":").is_some()
}

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
    /// When `line` is a test2json event: the event, with the complete
    /// lines of output it finishes put in `out` (none for events without
    /// output); `None` for any other line.
    pub fn event<'a>(&mut self, line: &'a str, out: &mut Vec<String>) -> Option<Event<'a>> {
        let t = line.trim_end_matches('\r');
        if !t.starts_with('{') {
            return None;
        }
        // Not an event unless it has an `Action`.
        let ev: Event<'a> = serde_json::from_str(t).ok()?;
        if let Some(output) = ev.output.as_deref().filter(|o| o.ends_with('\n')) {
            if self.partial.is_empty() {
                // The common case: whole lines, nothing pending.
                for l in output[..output.len() - 1].split('\n') {
                    let l = l.strip_suffix('\r').unwrap_or(l);
                    out.push(cut(l, MAX_LOGICAL_LINE).to_string());
                }
                return Some(ev);
            }
        }
        let key = format!("{}\u{0}{}", ev.package(), ev.test());
        if let Some(output) = &ev.output {
            let mut rest: &str = output;
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
        } else if ev.action != "output" {
            // A test or package ended: what it left unfinished is a line.
            out.extend(self.partial.remove(&key));
        }
        Some(ev)
    }

    /// The unfinished lines left at the end of the input.
    pub fn finish(self) -> Vec<String> {
        let mut left: Vec<(String, String)> = self.partial.into_iter().collect();
        left.sort();
        left.into_iter().map(|(_, l)| l).collect()
    }
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
        let lines = |t: &mut Test2Json, l: &str| {
            let mut out = Vec::new();
            t.event(l, &mut out).map(|_| out)
        };
        assert_eq!(lines(&mut t, &ev("A", "panic: bo")), Some(vec![]));
        assert_eq!(
            lines(&mut t, &ev("B", "=== RUN   B\n")),
            Some(vec!["=== RUN   B".into()])
        );
        assert_eq!(
            lines(&mut t, &ev("A", "om\n\tx\n")),
            Some(vec!["panic: boom".into(), "\tx".into()])
        );
        assert_eq!(lines(&mut t, &ev("A", "tail")), Some(vec![]));
        assert_eq!(
            lines(&mut t, r#"{"Action":"fail","Package":"p","Test":"A"}"#),
            Some(vec!["tail".into()])
        );
        assert_eq!(lines(&mut t, "panic: plain"), None);
        assert_eq!(lines(&mut t, r#"{"level":"info","msg":"x"}"#), None);
    }

    #[test]
    fn build_events_name_the_package_without_its_variant() {
        let mut t = Test2Json::default();
        let mut out = Vec::new();
        let ev = t
            .event(
                r#"{"ImportPath":"ex/p [ex/p.test]","Action":"build-output","Output":"p.go:1:2: bad\n"}"#,
                &mut out,
            )
            .unwrap();
        assert_eq!((ev.package(), ev.test(), ev.is_build()), ("ex/p", "", true));
        assert_eq!(out, ["p.go:1:2: bad"]);
    }
}
