//! One physical line: which format it is in, its time, its level, and its
//! message. Formats are recognised per line by hand-written byte checks
//! (no regexes on the hot path), so mixed files work.
//!
//! A line is read in two layers: an optional *wrapper* added by whatever
//! collected the output (journald, docker), then the *payload* the
//! program printed (a JSON record, logfmt, klog, Go's log package, a
//! `LEVEL message` line, or free text).

use std::borrow::Cow;

use gosleuth_text::framing::strip_host_ident;
use serde::Serialize;

use crate::json::{self, JsonLine};
use crate::level::Level;
use crate::time::{self, Millis, YearHint};

/// What collected the program's output and wrapped each line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Wrapper {
    /// The program's output as it printed it.
    None,
    /// `Nov 21 10:00:00 host unit[123]: ` (journalctl's default output).
    Journald,
    /// `2026-11-21T10:00:00+0000 host unit[123]: ` (`journalctl -o short-iso`).
    JournaldIso,
    /// `{"MESSAGE":"...","PRIORITY":"6","__REALTIME_TIMESTAMP":"..."}` (`journalctl -o json`).
    JournaldJson,
    /// `{"log":"...\n","stream":"stderr","time":"..."}` (docker json-file).
    DockerJson,
    /// `2026-11-21T10:00:00.123456789Z ` (`docker logs --timestamps`,
    /// `kubectl logs --timestamps`), or `... stderr F ` (Kubernetes' CRI
    /// log files, as containerd and CRI-O write them).
    DockerTimestamps,
}

/// What the program printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Payload {
    /// A JSON record (zap, logrus, slog's JSON handler, zerolog).
    Json,
    /// `time=... level=info msg="..." key=value` (logfmt, slog's text handler, logrus text).
    Logfmt,
    /// `I1121 10:00:00.123456   12 file.go:42] msg` (klog, glog).
    Klog,
    /// `2026/11/21 10:00:00 msg` (Go's log package), possibly with a level word.
    GoLog,
    /// `[timestamp] LEVEL message`: a level word near the start.
    Leveled,
    /// Anything else: free text, traceback lines, continuation lines.
    Text,
}

impl Payload {
    /// Every payload, in declaration order.
    pub const ALL: [Payload; 6] = [
        Payload::Json,
        Payload::Logfmt,
        Payload::Klog,
        Payload::GoLog,
        Payload::Leveled,
        Payload::Text,
    ];

    /// Name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Payload::Json => "json",
            Payload::Logfmt => "logfmt",
            Payload::Klog => "klog",
            Payload::GoLog => "go-log",
            Payload::Leveled => "leveled",
            Payload::Text => "text",
        }
    }
}

impl Wrapper {
    /// Every wrapper, in declaration order.
    pub const ALL: [Wrapper; 6] = [
        Wrapper::None,
        Wrapper::Journald,
        Wrapper::JournaldIso,
        Wrapper::JournaldJson,
        Wrapper::DockerJson,
        Wrapper::DockerTimestamps,
    ];

    /// Name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Wrapper::None => "none",
            Wrapper::Journald => "journald",
            Wrapper::JournaldIso => "journald-iso",
            Wrapper::JournaldJson => "journald-json",
            Wrapper::DockerJson => "docker-json",
            Wrapper::DockerTimestamps => "docker-timestamps",
        }
    }
}

/// One physical line, read.
#[derive(Debug, Clone)]
pub struct LogLine<'a> {
    pub wrapper: Wrapper,
    pub payload: Payload,
    pub time: Option<Millis>,
    pub level: Option<Level>,
    /// The message to cluster: the payload without its timestamp and level
    /// (and, for JSON, the `msg` plus any `error` field).
    pub message: Cow<'a, str>,
    /// The text inside the wrapper, as the program printed it: what a Go
    /// traceback line looks like when it is wrapped.
    pub body: Cow<'a, str>,
    /// A JSON field carries a stack or a panic.
    pub has_stack: bool,
    /// The length of a timestamp before bare text (no level, no structure)
    /// at the start of [`LogLine::body`]: `kubectl logs --timestamps` and
    /// log shippers put one before every line the program printed,
    /// runtime output included (0: none).
    pub stamp: usize,
}

impl LogLine<'_> {
    /// The body without its timestamp ([`LogLine::stamp`]): the text the
    /// program printed.
    pub fn inner(&self) -> &str {
        self.body.get(self.stamp..).unwrap_or(&self.body)
    }

    /// True when the program printed a timestamp or a level: the line
    /// starts a record rather than continuing one.
    pub fn is_header(&self) -> bool {
        self.payload != Payload::Text || (self.wrapper == Wrapper::None && self.time.is_some())
    }
}

/// Reads one physical line (without its terminator; a trailing `\r` is
/// ignored).
pub fn parse_line(line: &str, year: YearHint) -> LogLine<'_> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    let b = line.as_bytes();
    match b.first() {
        Some(b'{') if b.last() == Some(&b'}') => {
            if let Some(l) = parse_json(line, year) {
                return l;
            }
        }
        Some(c) if c.is_ascii_uppercase() => {
            if let Some((t, n)) = time::parse_syslog(b, year) {
                if let Some(rest) = line.get(n..).and_then(|r| r.strip_prefix(' ')) {
                    // (`fatal error: ...` behind a bare timestamp is not a
                    // host and an ident.)
                    if let Some(body) = strip_host_ident(rest, false)
                        .filter(|_| !crate::runtime::starts_block(rest))
                    {
                        return wrapped(
                            Wrapper::Journald,
                            Some(t),
                            Cow::Borrowed(body),
                            None,
                            year,
                        );
                    }
                }
            }
        }
        Some(b'0'..=b'9') => {
            if let Some((t, n)) = time::parse_iso(b) {
                if let Some(rest) = line.get(n..).and_then(|r| r.strip_prefix(' ')) {
                    if let Some(body) = strip_host_ident(rest, true) {
                        return wrapped(
                            Wrapper::JournaldIso,
                            Some(t),
                            Cow::Borrowed(body),
                            None,
                            year,
                        );
                    }
                    // Kubernetes' CRI log files (containerd, CRI-O):
                    // `<RFC 3339> stderr F <line>` (P: a partial line).
                    if b.get(10) == Some(&b'T') {
                        if let Some(body) = strip_cri_stream(rest) {
                            return wrapped(
                                Wrapper::DockerTimestamps,
                                Some(t),
                                Cow::Borrowed(body),
                                None,
                                year,
                            );
                        }
                    }
                    // docker prints RFC 3339 with nanoseconds and a Z.
                    if b.get(10) == Some(&b'T') && n >= 27 && b[n - 1] == b'Z' {
                        return wrapped(
                            Wrapper::DockerTimestamps,
                            Some(t),
                            Cow::Borrowed(rest),
                            None,
                            year,
                        );
                    }
                }
            }
        }
        _ => {}
    }
    let p = parse_payload(line, year);
    LogLine {
        wrapper: Wrapper::None,
        payload: p.payload,
        time: p.time,
        level: p.level,
        message: p.message,
        body: Cow::Borrowed(line),
        has_stack: p.has_stack,
        stamp: p.stamp,
    }
}

/// A payload inside a wrapper: the payload's own time and level win over
/// the wrapper's.
fn wrapped<'a>(
    wrapper: Wrapper,
    time: Option<Millis>,
    body: Cow<'a, str>,
    level: Option<Level>,
    year: YearHint,
) -> LogLine<'a> {
    let (payload, ptime, plevel, message, has_stack, stamp) = match &body {
        Cow::Borrowed(s) => {
            let p = parse_payload(s, year);
            (p.payload, p.time, p.level, p.message, p.has_stack, p.stamp)
        }
        Cow::Owned(s) => {
            let p = parse_payload(s, year);
            (
                p.payload,
                p.time,
                p.level,
                Cow::Owned(p.message.into_owned()),
                p.has_stack,
                p.stamp,
            )
        }
    };
    LogLine {
        wrapper,
        payload,
        time: ptime.or(time),
        level: plevel.or(level),
        message,
        body,
        has_stack,
        stamp,
    }
}

fn parse_json(line: &str, year: YearHint) -> Option<LogLine<'_>> {
    match json::decode(line, year)? {
        JsonLine::Docker { log, time } => {
            let body = match log {
                Cow::Borrowed(s) => Cow::Borrowed(trim_newline(s)),
                Cow::Owned(s) => Cow::Owned(trim_newline(&s).to_string()),
            };
            Some(wrapped(Wrapper::DockerJson, time, body, None, year))
        }
        JsonLine::Journal {
            message,
            level,
            time,
        } => Some(wrapped(Wrapper::JournaldJson, time, message, level, year)),
        JsonLine::Record {
            message,
            level,
            time,
            has_stack,
        } => {
            let first = message
                .split('\n')
                .next()
                .unwrap_or("")
                .trim_end_matches('\r');
            let message = if first.len() == message.len() {
                message
            } else {
                first.to_string()
            };
            Some(LogLine {
                wrapper: Wrapper::None,
                payload: Payload::Json,
                time,
                level,
                body: Cow::Owned(message.clone()),
                message: Cow::Owned(message),
                has_stack,
                stamp: 0,
            })
        }
    }
}

fn trim_newline(s: &str) -> &str {
    let s = s.strip_suffix('\n').unwrap_or(s);
    s.strip_suffix('\r').unwrap_or(s)
}

/// `stdout F ` / `stderr P ` (a CRI log file's stream and tag).
fn strip_cri_stream(s: &str) -> Option<&str> {
    let rest = s
        .strip_prefix("stdout ")
        .or_else(|| s.strip_prefix("stderr "))?;
    rest.strip_prefix("F ")
        .or_else(|| rest.strip_prefix("P "))
        .or_else(|| (rest == "F" || rest == "P").then_some(""))
}

/// A payload, read.
struct PayloadInfo<'a> {
    payload: Payload,
    time: Option<Millis>,
    level: Option<Level>,
    message: Cow<'a, str>,
    has_stack: bool,
    /// See [`LogLine::stamp`].
    stamp: usize,
}

fn parse_payload(s: &str, year: YearHint) -> PayloadInfo<'_> {
    let b = s.as_bytes();
    match b.first() {
        Some(b'{') if b.last() == Some(&b'}') => {
            if let Some(JsonLine::Record {
                message,
                level,
                time,
                has_stack,
            }) = json::decode(s, year)
            {
                let first = message.split('\n').next().unwrap_or("").to_string();
                return PayloadInfo {
                    payload: Payload::Json,
                    time,
                    level,
                    message: Cow::Owned(first),
                    has_stack,
                    stamp: 0,
                };
            }
        }
        Some(b'I' | b'W' | b'E' | b'F') => {
            if let Some(p) = parse_klog(s, year) {
                return p;
            }
        }
        Some(b'0'..=b'9') => {
            if let Some((t, n)) = time::parse_golog(b) {
                return stamped(s, n, t, Payload::GoLog, year);
            }
            if let Some((t, n)) = time::parse_iso(b) {
                return stamped(s, n, t, Payload::Leveled, year);
            }
            if let Some((t, n)) = time::parse_epoch(b).or_else(|| time::parse_numbered_epoch(b)) {
                return stamped(s, n, t, Payload::Leveled, year);
            }
        }
        Some(c) if c.is_ascii_uppercase() => {
            if let Some((t, n)) = time::parse_syslog(b, year).or_else(|| time::parse_ctime(b)) {
                return stamped(s, n, t, Payload::Leveled, year);
            }
        }
        Some(b'[') => {
            if let Some((t, n)) = time::parse_bracketed(b, year) {
                return stamped(s, n, t, Payload::Leveled, year);
            }
        }
        _ => {}
    }
    if let Some(p) = parse_logfmt(s, year) {
        return p;
    }
    leveled(s, 0, None, Payload::Text)
}

/// What follows a timestamp of `n` bytes at the start of `s`: a record
/// with its own timestamp or structure (a collector's stamp before the
/// program's: `<RFC 3339> 2026/11/21 10:00:00 msg`, `<RFC 3339>
/// {"level":...}`, `<RFC 3339> level=info msg=...`), or a level and a
/// message.
fn stamped(s: &str, n: usize, t: Millis, kind: Payload, year: YearHint) -> PayloadInfo<'_> {
    let rest = s.get(n..).unwrap_or("");
    let off = n + (rest.len() - rest.trim_start_matches(' ').len());
    let inner = s.get(off..).unwrap_or("");
    if matches!(
        inner.as_bytes().first(),
        Some(b'{' | b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9')
    ) {
        let mut p = parse_payload(inner, year);
        if matches!(p.payload, Payload::Json | Payload::Logfmt | Payload::Klog) || p.time.is_some()
        {
            p.time = p.time.or(Some(t));
            if p.stamp > 0 {
                p.stamp += off;
            }
            return p;
        }
    }
    leveled(s, n, Some(t), kind)
}

/// Looks for a level word among the first tokens after `start` (a
/// timestamp already read): `INFO msg`, `[warn] msg`, `- ERROR [x] msg`.
fn leveled(s: &str, start: usize, time: Option<Millis>, kind: Payload) -> PayloadInfo<'_> {
    let rest = s.get(start..).unwrap_or("");
    let max_before = if time.is_some() { 3 } else { 5 };
    let mut pos = 0;
    let rb = rest.as_bytes();
    for _ in 0..=max_before {
        while rb.get(pos).is_some_and(u8::is_ascii_whitespace) {
            pos += 1;
        }
        let tok_start = pos;
        while rb.get(pos).is_some_and(|c| !c.is_ascii_whitespace()) {
            pos += 1;
        }
        if tok_start == pos {
            break;
        }
        let tok = &rest[tok_start..pos];
        if let Some(level) = Level::from_text_token(tok) {
            let mut msg = rest[pos..].trim_start();
            if let Some(m) = msg.strip_prefix("- ").or_else(|| msg.strip_prefix(": ")) {
                msg = m.trim_start();
            }
            return PayloadInfo {
                payload: if kind == Payload::Text {
                    Payload::Leveled
                } else {
                    kind
                },
                time,
                level: Some(level),
                message: Cow::Borrowed(msg),
                has_stack: false,
                stamp: 0,
            };
        }
        // Only header-like tokens may come before a level: stamps, ids,
        // bracketed fields, dashes.
        let t = tok.as_bytes();
        let headerish = t.iter().any(u8::is_ascii_digit)
            || t[0] == b'['
            || t[0] == b'('
            || tok == "-"
            || tok.ends_with(':')
            || crate::mask::is_date_word(tok);
        if !headerish && time.is_none() {
            break;
        }
    }
    let msg = if time.is_some() { rest.trim_start() } else { s };
    PayloadInfo {
        payload: kind,
        time,
        level: None,
        message: Cow::Borrowed(msg),
        has_stack: false,
        // A stamp, then text: what follows may be the runtime's own output
        // behind a collector's timestamp.
        // (One space separates them: a tab after it starts a frame's file
        // line.)
        stamp: if time.is_some() {
            start + usize::from(rest.starts_with(' '))
        } else {
            0
        },
    }
}

/// `I1121 10:00:00.123456   12 file.go:42] msg`
fn parse_klog(s: &str, year: YearHint) -> Option<PayloadInfo<'_>> {
    let b = s.as_bytes();
    let level = Level::from_klog(*b.first()?)?;
    let (t, n) = time::parse_klog(b.get(1..)?, year)?;
    let rest = s.get(1 + n..)?;
    let close = rest
        .find("] ")
        .or_else(|| rest.ends_with(']').then(|| rest.len() - 1))?;
    let header = rest[..close].trim_start();
    // `   12 file.go:42`: thread id and source location.
    let mut parts = header.split_ascii_whitespace();
    let tid = parts.next()?;
    if !tid.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    Some(PayloadInfo {
        payload: Payload::Klog,
        time: Some(t),
        level: Some(level),
        message: Cow::Borrowed(rest.get(close + 2..).unwrap_or("")),
        has_stack: false,
        stamp: 0,
    })
}

/// `key=value key="quoted value" ...` with at least a `msg`/`level`
/// key. The message is `msg` followed by the other pairs, so their keys
/// become part of the template and their values are masked.
fn parse_logfmt(s: &str, year: YearHint) -> Option<PayloadInfo<'_>> {
    let b = s.as_bytes();
    // Cheap rejection: logfmt starts with `key=`.
    let eq = memchr::memchr(b'=', b.get(..b.len().min(32))?)?;
    if eq == 0
        || !b[..eq]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
    {
        return None;
    }
    let mut time = None;
    let mut level = None;
    let mut msg: Option<Cow<'_, str>> = None;
    // The other pairs and bare words, in one allocation (the message is
    // put before them at the end): they and the message are shorter than
    // the line.
    let mut rest = String::with_capacity(s.len() + 1);
    let mut i = 0;
    let mut pairs = 0;
    while i < b.len() {
        while b.get(i) == Some(&b' ') {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        let key_start = i;
        while b.get(i).is_some_and(|&c| c != b'=' && c != b' ') {
            i += 1;
        }
        let key = &s[key_start..i];
        if b.get(i) != Some(&b'=') {
            if pairs == 0 {
                return None;
            }
            // A bare word: keep it in the message.
            rest.push(' ');
            rest.push_str(key);
            continue;
        }
        i += 1;
        let value_start = i;
        let value: Cow<'_, str> = if b.get(i) == Some(&b'"') {
            let start = i + 1;
            let mut j = start;
            let mut escaped = false;
            while j < b.len() && b[j] != b'"' {
                escaped |= b[j] == b'\\';
                j += if b[j] == b'\\' { 2 } else { 1 };
            }
            let raw = s.get(start..j.min(b.len()))?;
            i = j + 1;
            if escaped {
                Cow::Owned(
                    raw.replace("\\\"", "\"")
                        .replace("\\n", "\n")
                        .replace("\\\\", "\\"),
                )
            } else {
                Cow::Borrowed(raw)
            }
        } else {
            let start = i;
            while b.get(i).is_some_and(|&c| c != b' ') {
                i += 1;
            }
            Cow::Borrowed(&s[start..i])
        };
        pairs += 1;
        match key {
            "time" | "ts" | "t" | "timestamp" if time.is_none() => {
                time = time::parse_any(&value, year)
            }
            "level" | "lvl" | "severity" if level.is_none() => {
                level = Level::from_word(&value)
                    .or_else(|| value.split(['+', '-']).next().and_then(Level::from_word));
            }
            "msg" | "message" if msg.is_none() => msg = Some(value),
            _ => {
                // Quoted values keep their quotes: the masker takes a
                // quoted value as one variable.
                rest.push(' ');
                rest.push_str(key);
                rest.push('=');
                rest.push_str(s.get(value_start..i.min(b.len())).unwrap_or(&value));
            }
        }
    }
    if msg.is_none() && level.is_none() {
        return None;
    }
    let has_stack = msg.as_deref().is_some_and(|m| m.contains('\n'));
    let message = match msg {
        Some(m) if rest.is_empty() => match m {
            Cow::Borrowed(x) => Cow::Borrowed(x.split('\n').next().unwrap_or("")),
            Cow::Owned(x) => Cow::Owned(x.split('\n').next().unwrap_or("").to_string()),
        },
        Some(m) => {
            rest.insert_str(0, m.split('\n').next().unwrap_or(""));
            Cow::Owned(rest)
        }
        None => Cow::Owned(rest.trim_start().to_string()),
    };
    Some(PayloadInfo {
        payload: Payload::Logfmt,
        time,
        level,
        message,
        has_stack,
        stamp: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn klog_needs_its_bracket() {
        let y = YearHint(2026);
        let l = parse_line(
            "I1121 10:00:00.123456   12 server.go:42] listening on :8080",
            y,
        );
        assert_eq!(l.payload, Payload::Klog);
        assert_eq!(l.message, "listening on :8080");
        let l = parse_line("Interesting times", y);
        assert_eq!(l.payload, Payload::Text);
    }
}
