//! One line per format, in the layout the real tool prints.

use gosleuth_logs::Level;
use gosleuth_logs::line::{Payload, Wrapper, parse_line};
use gosleuth_logs::time::{YearHint, format_rfc3339};

const Y: YearHint = YearHint(2026);

fn check(
    line: &str,
    wrapper: Wrapper,
    payload: Payload,
    level: Option<Level>,
    time: Option<&str>,
    message: &str,
) {
    let l = parse_line(line, Y);
    assert_eq!(l.wrapper, wrapper, "wrapper of {line}");
    assert_eq!(l.payload, payload, "payload of {line}");
    assert_eq!(l.level, level, "level of {line}");
    assert_eq!(
        l.time.map(format_rfc3339).as_deref(),
        time,
        "time of {line}"
    );
    assert_eq!(l.message, message, "message of {line}");
}

#[test]
fn go_log_package() {
    check(
        "2026/11/21 10:00:00 Handling: 24",
        Wrapper::None,
        Payload::GoLog,
        None,
        Some("2026-11-21T10:00:00.000Z"),
        "Handling: 24",
    );
    check(
        "2026/11/21 10:00:00.123456 server.go:42: WARN cache miss key=user:1",
        Wrapper::None,
        Payload::GoLog,
        Some(Level::Warn),
        Some("2026-11-21T10:00:00.123Z"),
        "cache miss key=user:1",
    );
}

#[test]
fn klog_and_glog() {
    check(
        "E1121 10:00:00.123456   12 reflector.go:138] failed to list *v1.Pod: connection refused",
        Wrapper::None,
        Payload::Klog,
        Some(Level::Error),
        Some("2026-11-21T10:00:00.123Z"),
        "failed to list *v1.Pod: connection refused",
    );
    check(
        "W1121 10:00:01.000000 4242 main.go:7] disk almost full",
        Wrapper::None,
        Payload::Klog,
        Some(Level::Warn),
        Some("2026-11-21T10:00:01.000Z"),
        "disk almost full",
    );
}

#[test]
fn logfmt_and_slog_text() {
    check(
        r#"time=2026-11-21T10:00:00.000Z level=ERROR msg="query failed" table=orders err="timeout after 5s""#,
        Wrapper::None,
        Payload::Logfmt,
        Some(Level::Error),
        Some("2026-11-21T10:00:00.000Z"),
        // Quoted values keep their quotes, so that the masker takes each
        // as one variable.
        r#"query failed table=orders err="timeout after 5s""#,
    );
    assert_eq!(
        gosleuth_logs::mask::mask(r#"query failed table=orders err="timeout after 5s""#),
        "query failed table=orders err=<*>"
    );
    check(
        r#"time="2026-11-21T10:00:00Z" level=warning msg="slow request" path=/api"#,
        Wrapper::None,
        Payload::Logfmt,
        Some(Level::Warn),
        Some("2026-11-21T10:00:00.000Z"),
        "slow request path=/api",
    );
}

#[test]
fn json_loggers() {
    // zap production config
    check(
        r#"{"level":"error","ts":1795255200.123,"caller":"svc/main.go:42","msg":"dial failed","error":"connection refused","stacktrace":"main.main\n\t/app/main.go:42"}"#,
        Wrapper::None,
        Payload::Json,
        Some(Level::Error),
        Some("2026-11-21T10:00:00.123Z"),
        "dial failed error=connection refused",
    );
    // logrus JSONFormatter
    check(
        r#"{"level":"warning","msg":"retrying","time":"2026-11-21T10:00:00Z"}"#,
        Wrapper::None,
        Payload::Json,
        Some(Level::Warn),
        Some("2026-11-21T10:00:00.000Z"),
        "retrying",
    );
    // slog JSONHandler
    check(
        r#"{"time":"2026-11-21T10:00:00.5+01:00","level":"INFO","msg":"started","port":8080}"#,
        Wrapper::None,
        Payload::Json,
        Some(Level::Info),
        Some("2026-11-21T09:00:00.500Z"),
        "started",
    );
}

#[test]
fn journald_outputs() {
    check(
        "Nov 21 10:00:00 web-1 svc[1234]: 2026/11/21 10:00:00 ERROR boom",
        Wrapper::Journald,
        Payload::GoLog,
        Some(Level::Error),
        Some("2026-11-21T10:00:00.000Z"),
        "boom",
    );
    check(
        "2026-11-21T10:00:00+0100 web-1 svc[1234]: panic: boom",
        Wrapper::JournaldIso,
        Payload::Text,
        None,
        Some("2026-11-21T09:00:00.000Z"),
        "panic: boom",
    );
    check(
        r#"{"__REALTIME_TIMESTAMP":"1795255200000000","PRIORITY":"3","_SYSTEMD_UNIT":"svc.service","MESSAGE":"listener failed"}"#,
        Wrapper::JournaldJson,
        Payload::Text,
        Some(Level::Error),
        Some("2026-11-21T10:00:00.000Z"),
        "listener failed",
    );
}

#[test]
fn docker_outputs() {
    check(
        r#"{"log":"{\"level\":\"info\",\"msg\":\"ready\"}\n","stream":"stdout","time":"2026-11-21T10:00:00.123456789Z"}"#,
        Wrapper::DockerJson,
        Payload::Json,
        Some(Level::Info),
        Some("2026-11-21T10:00:00.123Z"),
        "ready",
    );
    check(
        "2026-11-21T10:00:00.123456789Z level=info msg=ready",
        Wrapper::DockerTimestamps,
        Payload::Logfmt,
        Some(Level::Info),
        Some("2026-11-21T10:00:00.123Z"),
        "ready",
    );
}

#[test]
fn plain_level_lines() {
    check(
        "ERROR disk full on /dev/sda1",
        Wrapper::None,
        Payload::Leveled,
        Some(Level::Error),
        None,
        "disk full on /dev/sda1",
    );
    check(
        "2026-11-21 10:00:00,250 [main] WARN  c.e.Pool - pool exhausted",
        Wrapper::None,
        Payload::Leveled,
        Some(Level::Warn),
        Some("2026-11-21T10:00:00.250Z"),
        "c.e.Pool - pool exhausted",
    );
    check(
        "[error] upstream timed out",
        Wrapper::None,
        Payload::Leveled,
        Some(Level::Error),
        None,
        "upstream timed out",
    );
    // Lower-case level words inside free text are not levels.
    check(
        "an error occurred",
        Wrapper::None,
        Payload::Text,
        None,
        None,
        "an error occurred",
    );
    check(
        "\tat com.example.Main(Main.java:1)",
        Wrapper::None,
        Payload::Text,
        None,
        None,
        "\tat com.example.Main(Main.java:1)",
    );
}

/// A record and the indented lines after it are one record; a goroutine
/// stack printed by the runtime goes to the triage parser instead.
#[test]
fn multi_line_records_stay_together() {
    let input = b"2026/11/21 10:00:00 ERROR request failed: code 500\n\
        \tat handler (server.go:42)\n\
        \tat serve (server.go:10)\n\
        2026/11/21 10:00:01 ERROR request failed: code 503\n\
        \tat handler (server.go:42)\n\
        2026/11/21 10:00:02 INFO recovered\n\
        goroutine 7 [running]:\n\
        main.work(0x1)\n\
        \t/app/main.go:12 +0x1d\n\
        created by main.main in goroutine 1\n\
        \t/app/main.go:5 +0x25\n\
        \n\
        2026/11/21 10:00:03 INFO done\n";
    let r = gosleuth_logs::scan(input, &Default::default());
    let failed = r
        .templates
        .iter()
        .find(|t| t.template.starts_with("request failed"))
        .unwrap();
    assert_eq!(failed.count, 2);
    assert_eq!(failed.continuation_lines, 3);
    assert_eq!(failed.example.lines().count(), 3, "{}", failed.example);
    assert_eq!(r.continuation_lines, 3);
    assert_eq!(r.runtime_lines, 6);
    assert_eq!(r.records, 4);
    assert_eq!(r.incidents.len(), 1);
    assert_eq!(r.incidents[0].line, 7);
    assert!(
        r.templates
            .iter()
            .all(|t| !t.template.contains("goroutine"))
    );
}

/// Header shapes read as timestamps: in brackets (ISO, ctime as Apache
/// prints it, `MM.DD HH:MM:SS`), epoch seconds leading or after a sequence
/// number and a few fields, and a collector's timestamp before a
/// program's own record.
#[test]
fn more_timestamp_shapes() {
    check(
        "[Sat Nov 21 10:00:00 2026] [error] mod_jk child in error state 6",
        Wrapper::None,
        Payload::Leveled,
        Some(Level::Error),
        Some("2026-11-21T10:00:00.000Z"),
        "mod_jk child in error state 6",
    );
    check(
        "[11.21 10:00:00] chrome.exe - example.com:443 open through proxy HTTPS",
        Wrapper::None,
        Payload::Leveled,
        None,
        Some("2026-11-21T10:00:00.000Z"),
        "chrome.exe - example.com:443 open through proxy HTTPS",
    );
    check(
        "[2026-11-21 10:00:00,250] WARN slow disk",
        Wrapper::None,
        Payload::Leveled,
        Some(Level::Warn),
        Some("2026-11-21T10:00:00.250Z"),
        "slow disk",
    );
    check(
        "1795255200.5 ERROR upstream timed out",
        Wrapper::None,
        Payload::Leveled,
        Some(Level::Error),
        Some("2026-11-21T10:00:00.500Z"),
        "upstream timed out",
    );
    check(
        "134681 node-246 unix.hw state_change.unavailable 1795255200 1 Component State Change",
        Wrapper::None,
        Payload::Leveled,
        None,
        Some("2026-11-21T10:00:00.000Z"),
        "1 Component State Change",
    );
    // Not a header: a number in the text.
    check(
        "job 42 ran at 1795255200 and failed",
        Wrapper::None,
        Payload::Text,
        None,
        None,
        "job 42 ran at 1795255200 and failed",
    );
    // A collector's timestamp, then the program's record.
    check(
        "2026-11-21T10:00:05.000Z 2026/11/21 10:00:00 Handling: 24",
        Wrapper::None,
        Payload::GoLog,
        None,
        Some("2026-11-21T10:00:00.000Z"),
        "Handling: 24",
    );
    check(
        r#"2026-11-21T10:00:05.000Z {"level":"error","ts":1795255200,"msg":"dial failed"}"#,
        Wrapper::None,
        Payload::Json,
        Some(Level::Error),
        Some("2026-11-21T10:00:00.000Z"),
        "dial failed",
    );
    check(
        "2026-11-21T10:00:05.000Z level=warn msg=\"slow request\" path=/api",
        Wrapper::None,
        Payload::Logfmt,
        Some(Level::Warn),
        Some("2026-11-21T10:00:05.000Z"),
        "slow request path=/api",
    );
    // Kubernetes' CRI log files.
    check(
        "2026-11-21T10:00:00.123456789Z stderr F panic: boom",
        Wrapper::DockerTimestamps,
        Payload::Text,
        None,
        Some("2026-11-21T10:00:00.123Z"),
        "panic: boom",
    );
}
