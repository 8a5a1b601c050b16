//! JSON records: docker's json-file lines, `journalctl -o json`, and
//! JSON-lines loggers (zap, logrus, slog, zerolog, pino).

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::Value;

use crate::level::Level;
use crate::time::{self, Millis, YearHint};

/// The fields gosleuth reads; every other field is skipped unparsed.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Fields<'a> {
    // docker json-file
    #[serde(borrow)]
    log: Option<Cow<'a, str>>,
    stream: Option<serde::de::IgnoredAny>,
    time: Option<Value>,
    // journalctl -o json
    #[serde(rename = "MESSAGE", borrow)]
    journal_message: Option<Cow<'a, str>>,
    #[serde(rename = "PRIORITY")]
    priority: Option<Value>,
    #[serde(rename = "__REALTIME_TIMESTAMP")]
    realtime: Option<Value>,
    // loggers
    level: Option<Value>,
    lvl: Option<Value>,
    severity: Option<Value>,
    #[serde(borrow)]
    msg: Option<Cow<'a, str>>,
    #[serde(borrow)]
    message: Option<Cow<'a, str>>,
    ts: Option<Value>,
    timestamp: Option<Value>,
    #[serde(rename = "@timestamp")]
    at_timestamp: Option<Value>,
    #[serde(borrow)]
    error: Option<Cow<'a, str>>,
    #[serde(borrow)]
    err: Option<Cow<'a, str>>,
    #[serde(borrow)]
    stacktrace: Option<Cow<'a, str>>,
    #[serde(borrow)]
    stack: Option<Cow<'a, str>>,
    #[serde(borrow)]
    stack_trace: Option<Cow<'a, str>>,
    #[serde(borrow)]
    panic: Option<Cow<'a, str>>,
}

/// What a JSON line turned out to be.
#[derive(Debug)]
pub enum JsonLine<'a> {
    /// docker json-file: the container's own line and the time docker saw it.
    Docker {
        log: Cow<'a, str>,
        time: Option<Millis>,
    },
    /// `journalctl -o json`: the message, its priority and time.
    Journal {
        message: Cow<'a, str>,
        level: Option<Level>,
        time: Option<Millis>,
    },
    /// A structured logger's record.
    Record {
        message: String,
        level: Option<Level>,
        time: Option<Millis>,
        /// A field holds a multi-line value or a panic (a stack).
        has_stack: bool,
    },
}

fn value_time(v: &Value, year: YearHint) -> Option<Millis> {
    match v {
        Value::String(s) => time::parse_any(s, year),
        Value::Number(n) => n.as_f64().and_then(time::from_epoch),
        _ => None,
    }
}

fn value_level(v: &Value) -> Option<Level> {
    match v {
        Value::String(s) => Level::from_word(s).or_else(|| {
            // slog's `INFO+2`, `ERROR-4`.
            let base = s.split(['+', '-']).next()?;
            Level::from_word(base)
        }),
        Value::Number(n) => n.as_i64().and_then(Level::from_number),
        _ => None,
    }
}

/// Decodes one JSON line; `None` when it is not a JSON object gosleuth
/// understands (it is then read as text).
pub fn decode(line: &str, year: YearHint) -> Option<JsonLine<'_>> {
    let f: Fields<'_> = serde_json::from_str(line).ok()?;
    if let Some(log) = f.log {
        if f.stream.is_some() || f.time.is_some() {
            let time = f.time.as_ref().and_then(|v| value_time(v, year));
            return Some(JsonLine::Docker { log, time });
        }
    }
    if let Some(message) = f.journal_message {
        let level = match &f.priority {
            Some(Value::String(s)) => s.parse().ok().and_then(Level::from_syslog),
            Some(Value::Number(n)) => n.as_i64().and_then(Level::from_syslog),
            _ => None,
        };
        let time = match &f.realtime {
            Some(Value::String(s)) => s.parse::<i64>().ok().map(|us| us / 1000),
            Some(Value::Number(n)) => n.as_i64().map(|us| us / 1000),
            _ => None,
        };
        return Some(JsonLine::Journal {
            message,
            level,
            time,
        });
    }
    let level = [&f.level, &f.lvl, &f.severity]
        .into_iter()
        .flatten()
        .find_map(value_level);
    let time = [&f.ts, &f.time, &f.timestamp, &f.at_timestamp]
        .into_iter()
        .flatten()
        .find_map(|v| value_time(v, year));
    let msg = f.msg.or(f.message);
    let error = f.error.or(f.err);
    if msg.is_none() && error.is_none() && level.is_none() {
        return None;
    }
    let stack = f.stacktrace.or(f.stack).or(f.stack_trace).or(f.panic);
    let mut message = msg.as_deref().unwrap_or("").to_string();
    if let Some(e) = &error {
        if !message.is_empty() {
            message.push_str(" error=");
        }
        message.push_str(e);
    }
    let has_stack = stack.is_some()
        || msg
            .as_deref()
            .is_some_and(|m| m.contains('\n') || m.starts_with("panic: "))
        || error.as_deref().is_some_and(|e| e.contains('\n'));
    Some(JsonLine::Record {
        message,
        level,
        time,
        has_stack,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zap_logrus_slog() {
        let y = YearHint(2026);
        let Some(JsonLine::Record {
            message,
            level,
            time,
            has_stack,
        }) = decode(
            r#"{"level":"error","ts":1795255200.5,"caller":"a.go:1","msg":"dial failed","error":"connection refused"}"#,
            y,
        )
        else {
            panic!("not a record")
        };
        assert_eq!(message, "dial failed error=connection refused");
        assert_eq!(level, Some(Level::Error));
        assert_eq!(time, Some(1_795_255_200_500));
        assert!(!has_stack);
        let Some(JsonLine::Record { level, .. }) = decode(
            r#"{"time":"2026-11-21T10:00:00Z","level":"WARN+2","msg":"x"}"#,
            y,
        ) else {
            panic!("not a record")
        };
        assert_eq!(level, Some(Level::Warn));
        assert!(decode(r#"{"a":1}"#, y).is_none());
        assert!(decode(r#"{"msg":"#, y).is_none());
    }
}
