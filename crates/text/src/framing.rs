//! Log framing: recovering the runtime's own lines from logs that wrap
//! them.
//!
//! A Go panic or goroutine dump rarely arrives clean. journald prefixes
//! every line with a date, host and unit; `docker logs --timestamps`
//! prefixes a timestamp; docker's json-file driver wraps each line in a
//! JSON object; structured loggers put a whole stack into one JSON string
//! field. [`unwrap_line`] undoes all of these, one physical line at a time,
//! and yields the logical lines inside.

/// Which wrapper a line was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wrapper {
    /// No wrapper: the line as the runtime printed it.
    Plain,
    /// `Nov 21 10:00:00 host unit[123]: ` (journalctl's default output).
    Journald,
    /// `2026-11-21T10:00:00+0000 host unit[123]: ` (`journalctl -o short-iso`).
    JournaldIso,
    /// `2026-11-21T10:00:00.123456789Z ` (`docker logs --timestamps`).
    Timestamp,
    /// `{"log":"...\n","stream":"stderr","time":"..."}` (docker json-file).
    DockerJson,
    /// A JSON object whose string fields carry the text (zap, logrus, slog).
    JsonField,
}

/// Calls `emit` with each logical line inside one physical line (without
/// its line terminator). Most lines yield exactly one logical line; a JSON
/// line may yield many (a stack carried in a field) or the whole line.
pub fn unwrap_line(line: &str, emit: &mut dyn FnMut(&str, Wrapper)) {
    let line = line.strip_suffix('\r').unwrap_or(line);
    if memchr::memchr2(0x1b, b'\r', line.as_bytes()).is_some() {
        let clean = as_terminal_shows(line);
        if clean != line {
            return unwrap_line(&clean, emit);
        }
    }
    let first = line.as_bytes().first().copied();
    match first {
        Some(b'{') if line.ends_with('}') && unwrap_json(line, emit) => return,
        Some(b'0'..=b'9') => {
            if let Some((rest, wrapper)) = strip_iso_prefix(line) {
                emit(rest.strip_suffix('\r').unwrap_or(rest), wrapper);
                return;
            }
        }
        Some(b'A'..=b'Z') => {
            if let Some(rest) = strip_journald_prefix(line) {
                emit(rest.strip_suffix('\r').unwrap_or(rest), Wrapper::Journald);
                return;
            }
        }
        _ => {}
    }
    emit(line, Wrapper::Plain);
}

/// A line of a CI log as a terminal shows it: ANSI escape sequences
/// (colours, `\x1b[0K`) removed, and of text overwritten after a carriage
/// return (GitLab's `section_start:T:name\r\x1b[0K` markers, progress
/// lines) only the last part kept.
fn as_terminal_shows(line: &str) -> String {
    let line = match line.rfind('\r') {
        Some(i) => &line[i + 1..],
        None => line,
    };
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(i) = rest.find('\x1b') {
        out.push_str(&rest[..i]);
        let seq = &rest[i + 1..];
        rest = match seq.as_bytes().first() {
            // CSI: parameters and intermediates, then a final byte @..~.
            Some(b'[') => match seq[1..].find(|c: char| ('@'..='~').contains(&c)) {
                Some(end) => &seq[1 + end + 1..],
                None => "",
            },
            // OSC (hyperlinks, titles): up to BEL or ST.
            Some(b']') => match seq.find(['\x07', '\x1b']) {
                Some(end) if seq.as_bytes()[end] == 0x07 => &seq[end + 1..],
                Some(end) => seq[end + 1..].strip_prefix('\\').unwrap_or(&seq[end + 1..]),
                None => "",
            },
            // A two-byte escape.
            Some(_) => &seq[seq.chars().next().map_or(0, char::len_utf8)..],
            None => "",
        };
    }
    out.push_str(rest);
    out
}

/// Fields of structured loggers that carry stacks or messages, in the
/// order they are emitted.
const TEXT_FIELDS: &[&str] = &[
    "log",
    "msg",
    "message",
    "MESSAGE",
    "error",
    "err",
    "panic",
    "stack",
    "stacktrace",
    "stack_trace",
    "trace",
];

fn unwrap_json(line: &str, emit: &mut dyn FnMut(&str, Wrapper)) -> bool {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(line) else {
        return false;
    };
    // docker json-file: one physical line of the container per object.
    if let (Some(serde_json::Value::String(log)), true) = (
        map.get("log"),
        map.contains_key("stream") || map.contains_key("time"),
    ) {
        let log = log.strip_suffix('\n').unwrap_or(log);
        for l in log.split('\n') {
            emit(l.strip_suffix('\r').unwrap_or(l), Wrapper::DockerJson);
        }
        return true;
    }
    let mut any = false;
    for field in TEXT_FIELDS {
        if let Some(serde_json::Value::String(text)) = map.get(*field) {
            // Only multi-line values and panic headers matter to the
            // traceback parser; single-line messages are passed on too so
            // that a `panic: ...` message is seen.
            for l in text.split('\n') {
                emit(l.strip_suffix('\r').unwrap_or(l), Wrapper::JsonField);
            }
            any = true;
        }
    }
    if any {
        // Structured records end with an implicit blank line, so a stack in
        // one record does not run into the next record's stack.
        emit("", Wrapper::JsonField);
    }
    any
}

/// `YYYY-MM-DDTHH:MM:SS[.frac](Z|±hh[:]mm) ` optionally followed by
/// `host ident[pid]: `.
fn strip_iso_prefix(line: &str) -> Option<(&str, Wrapper)> {
    let b = line.as_bytes();
    if b.len() < 20
        || !all_digits(&b[0..4])
        || b[4] != b'-'
        || !all_digits(&b[5..7])
        || b[7] != b'-'
        || !all_digits(&b[8..10])
        || !(b[10] == b'T' || b[10] == b' ')
        || !all_digits(&b[11..13])
        || b[13] != b':'
        || !all_digits(&b[14..16])
        || b[16] != b':'
        || !all_digits(&b[17..19])
    {
        return None;
    }
    let mut i = 19;
    if b.get(i) == Some(&b'.') || b.get(i) == Some(&b',') {
        i += 1;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
    }
    match b.get(i) {
        Some(b'Z') => i += 1,
        Some(b'+' | b'-') => {
            i += 1;
            let start = i;
            while b.get(i).is_some_and(|c| c.is_ascii_digit() || *c == b':') {
                i += 1;
            }
            if i - start < 2 {
                return None;
            }
        }
        _ => {}
    }
    if b.get(i) != Some(&b' ') {
        return None;
    }
    let rest = &line[i + 1..];
    match strip_host_ident(rest, true) {
        Some(r) => Some((r, Wrapper::JournaldIso)),
        None => Some((rest, Wrapper::Timestamp)),
    }
}

/// `Mon DD HH:MM:SS host ident[pid]: `
fn strip_journald_prefix(line: &str) -> Option<&str> {
    let b = line.as_bytes();
    if b.len() < 16
        || !b[0].is_ascii_uppercase()
        || !b[1].is_ascii_lowercase()
        || !b[2].is_ascii_lowercase()
        || b[3] != b' '
        || !(b[4] == b' ' || b[4].is_ascii_digit())
        || !b[5].is_ascii_digit()
        || b[6] != b' '
        || !all_digits(&b[7..9])
        || b[9] != b':'
        || !all_digits(&b[10..12])
        || b[12] != b':'
        || !all_digits(&b[13..15])
        || b[15] != b' '
    {
        return None;
    }
    let month = &line[0..3];
    if !MONTHS.contains(&month) {
        return None;
    }
    strip_host_ident(&line[16..], false)
}

const MONTHS: &[&str] = &[
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `host ident[pid]: ` (the pid is required when `need_pid`): returns the
/// message after it, which keeps its leading whitespace (stack file lines
/// start with a tab); a record that ends at `ident[pid]:` has an empty
/// message. The host is a host name (letters, digits, `-._`), so a
/// bracketed runtime line behind a bare timestamp (`[signal SIGSEGV: ...`)
/// is not taken for one. Shared with the logs reader.
pub fn strip_host_ident(s: &str, need_pid: bool) -> Option<&str> {
    let sp = s.find(' ')?;
    let host = &s[..sp];
    if host.is_empty()
        || !host
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_'))
    {
        // Not a host name: `[signal SIGSEGV: ...` behind a bare timestamp.
        return None;
    }
    let rest = &s[sp + 1..];
    let colon = rest
        .find(": ")
        .or_else(|| rest.ends_with(':').then(|| rest.len() - 1))?;
    let ident = &rest[..colon];
    if ident.is_empty() || ident.contains(' ') {
        return None;
    }
    let has_pid = ident.ends_with(']')
        && ident.rfind('[').is_some_and(|o| {
            o > 0
                && ident.len() > o + 2
                && ident.as_bytes()[o + 1..ident.len() - 1]
                    .iter()
                    .all(u8::is_ascii_digit)
        });
    if need_pid && !has_pid {
        return None;
    }
    Some(rest.get(colon + 2..).unwrap_or(""))
}

fn all_digits(b: &[u8]) -> bool {
    !b.is_empty() && b.iter().all(u8::is_ascii_digit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(s: &str) -> Vec<(String, Wrapper)> {
        let mut out = Vec::new();
        unwrap_line(s, &mut |l, w| out.push((l.to_string(), w)));
        out
    }

    #[test]
    fn ci_log_colours_and_sections_are_removed() {
        assert_eq!(
            lines("\x1b[31m--- FAIL: TestX (0.00s)\x1b[0m"),
            [("--- FAIL: TestX (0.00s)".to_string(), Wrapper::Plain)]
        );
        assert_eq!(
            lines("section_start:1796634000:step_script\r\x1b[0K\x1b[36;1mExecuting\x1b[0;m"),
            [("Executing".to_string(), Wrapper::Plain)]
        );
        assert_eq!(
            lines("2026-12-07T09:00:00.0000000Z \x1b[36;1mgo test ./...\x1b[0m"),
            [("go test ./...".to_string(), Wrapper::Timestamp)]
        );
        assert_eq!(
            lines("a\x1b]8;;http://x\x07link\x1b]8;;\x07 b\x1b"),
            [("alink b".to_string(), Wrapper::Plain)]
        );
    }

    #[test]
    fn plain_lines_pass_through() {
        assert_eq!(
            lines("\t/src/main.go:12 +0x1d\r"),
            vec![("\t/src/main.go:12 +0x1d".into(), Wrapper::Plain)]
        );
        assert_eq!(
            lines("goroutine 1 [running]:"),
            vec![("goroutine 1 [running]:".into(), Wrapper::Plain)]
        );
    }

    #[test]
    fn journald_prefixes() {
        assert_eq!(
            lines("Nov 21 10:00:00 web-1 svc[1234]: \t/src/main.go:12 +0x1d"),
            vec![("\t/src/main.go:12 +0x1d".into(), Wrapper::Journald)]
        );
        assert_eq!(
            lines("2026-11-21T10:00:00+0000 web-1 svc[1234]: panic: boom"),
            vec![("panic: boom".into(), Wrapper::JournaldIso)]
        );
    }

    /// The host-and-ident rule is shared with the logs reader; a bracketed
    /// runtime line behind a syslog timestamp has no host, and its text
    /// after `SIGSEGV: ` must not be taken for the message.
    #[test]
    fn a_bracketed_line_is_not_a_host_and_ident() {
        let out = lines("Nov 21 10:00:00 [signal SIGSEGV: segmentation violation code=0x1]");
        assert!(
            out[0].0.contains("[signal SIGSEGV: segmentation"),
            "{out:?}"
        );
        assert_eq!(strip_host_ident("web-1 svc[12]:", true), Some(""));
        assert_eq!(strip_host_ident("web-1 svc[]: x", true), None);
        assert_eq!(strip_host_ident("web-1 svc: x", false), Some("x"));
    }

    #[test]
    fn docker_timestamps_keep_the_message_intact() {
        assert_eq!(
            lines("2026-11-21T10:00:00.123456789Z panic: runtime error: index out of range"),
            vec![(
                "panic: runtime error: index out of range".into(),
                Wrapper::Timestamp
            )]
        );
        assert_eq!(
            lines("2026-11-21T10:00:00.1Z goroutine 1 [running]:"),
            vec![("goroutine 1 [running]:".into(), Wrapper::Timestamp)]
        );
    }

    #[test]
    fn docker_json_file() {
        assert_eq!(
            lines(
                r#"{"log":"\tmain.go:3 +0x1\n","stream":"stderr","time":"2026-11-21T10:00:00Z"}"#
            ),
            vec![("\tmain.go:3 +0x1".into(), Wrapper::DockerJson)]
        );
    }

    #[test]
    fn stack_in_a_json_field() {
        let got = lines(
            r#"{"level":"error","msg":"recovered","stacktrace":"goroutine 7 [running]:\nmain.f()\n\t/a.go:1 +0x1"}"#,
        );
        let texts: Vec<&str> = got.iter().map(|(l, _)| l.as_str()).collect();
        assert_eq!(
            texts,
            vec![
                "recovered",
                "goroutine 7 [running]:",
                "main.f()",
                "\t/a.go:1 +0x1",
                ""
            ]
        );
    }

    #[test]
    fn go_log_lines_are_not_mistaken_for_prefixes() {
        assert_eq!(
            lines("2026/11/21 10:00:00 Handling: 57")[0].1,
            Wrapper::Plain
        );
        assert_eq!(lines("Something else: here")[0].1, Wrapper::Plain);
    }
}
