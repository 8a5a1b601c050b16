//! The factory's real crash, buried in logs as services write them.

use gosleuth_logs::{Level, Options, Report, scan, scan_parallel};
use gosleuth_model::IncidentKind;
use gosleuth_render::logs::{RenderOptions, report};

use crate::repo_file;

fn root_cause_function(r: &Report) -> Option<String> {
    let inc = r.incidents.iter().find(|i| i.kind == IncidentKind::Panic)?;
    Some(inc.root_cause.as_ref()?.frame.as_ref()?.function.clone())
}

fn template<'a>(r: &'a Report, level: Option<Level>, text: &str) -> &'a gosleuth_logs::Template {
    r.templates
        .iter()
        .find(|t| t.level == level && t.template == text)
        .unwrap_or_else(|| {
            let all: Vec<_> = r
                .templates
                .iter()
                .map(|t| (t.level, t.template.as_str(), t.count))
                .collect();
            panic!("no {level:?} template {text:?} in {all:#?}")
        })
}

/// A few thousand ordinary lines with the crash in the middle: errors and
/// warnings with their counts, each repeated info line collapsed into one
/// template, and the panic with its root-cause frame.
#[test]
fn service_log_with_a_buried_panic() {
    let input = repo_file("fixtures/text/embedded/crash.service-log.txt");
    let text = String::from_utf8(input.clone()).unwrap();
    let r = scan(&input, &Options::default());
    assert_eq!(r.lines, 3024);

    // Expected counts straight from the file.
    let count = |level: &str, msg_start: &str| {
        text.lines()
            .filter(|l| {
                l.get(20..)
                    .is_some_and(|rest| rest.starts_with(&format!("{level} {msg_start}")))
            })
            .count() as u64
    };
    let pool = template(
        &r,
        Some(Level::Error),
        "connection pool stats open=<*> idle=<*>",
    );
    assert_eq!(pool.count, count("ERROR", "connection pool stats"));
    assert!(pool.count > 10);
    let upstream = template(
        &r,
        Some(Level::Error),
        "upstream returned <*> for order <*>, retrying",
    );
    assert_eq!(upstream.count, count("ERROR", "upstream returned"));
    let cache = template(&r, Some(Level::Warn), "cache miss key=user:<*>");
    assert_eq!(cache.count, count("WARN", "cache miss"));
    assert_eq!(
        cache
            .first
            .map(gosleuth_logs::time::format_rfc3339)
            .as_deref(),
        Some("2026-11-21T09:00:05.000Z")
    );
    assert!(cache.example.contains("WARN cache miss key=user:"));
    assert!(cache.histogram.counts.iter().filter(|&&c| c > 0).count() > 10);

    // Every distinct INFO message is exactly one template.
    for (msg, tmpl) in [
        (
            "handled request",
            "handled request method=GET path=<*> status=<*> dur=<*>",
        ),
        ("gc pause", "gc pause <*>"),
        ("published event", "published event order.created id=<*>"),
        (
            "failed to refresh token",
            "failed to refresh token for client <*>: context deadline exceeded",
        ),
    ] {
        let t = template(&r, Some(Level::Info), tmpl);
        assert_eq!(t.count, count("INFO", msg), "{tmpl}");
        let n = r
            .templates
            .iter()
            .filter(|t| t.level == Some(Level::Info) && t.template.starts_with(msg))
            .count();
        assert_eq!(n, 1, "{msg} split into {n} INFO templates");
    }
    let handling = template(&r, None, "Handling: <*>");
    assert_eq!(handling.count, 12);

    // Errors and warnings come first.
    let first_info = r
        .templates
        .iter()
        .position(|t| t.level <= Some(Level::Info))
        .unwrap();
    assert!(
        r.templates[..first_info]
            .iter()
            .all(|t| t.level >= Some(Level::Warn))
    );
    assert!(first_info >= 16);

    // The panic, found by the text parser, at its real line.
    assert_eq!(root_cause_function(&r).as_deref(), Some("main.Handler"));
    assert_eq!(r.incidents.len(), 1);
    assert_eq!(r.incidents[0].line, 1514);

    // The text report shows all of it.
    let mut out = String::new();
    report(&mut out, "service.log", &r, &RenderOptions::default());
    assert!(
        out.contains("panic: runtime error: invalid memory address or nil pointer dereference"),
        "{out}"
    );
    assert!(out.contains("main.Handler"), "{out}");
    let errors_at = out.find("error and warning templates").unwrap();
    let chatter_at = out.find("info, debug and unlevelled templates").unwrap();
    assert!(errors_at < chatter_at);
    assert!(out[errors_at..chatter_at].contains(&format!("{} ERROR", pool.count)));
    assert!(out[chatter_at..].contains("gc pause <*>"));
    assert_eq!(out[chatter_at..].matches("gc pause <*>").count(), 1);
}

#[test]
fn the_bundled_example_is_the_service_log() {
    let r = scan(&repo_file("examples/service.log"), &Options::default());
    assert_eq!(root_cause_function(&r).as_deref(), Some("main.Handler"));
}

/// journald, docker and JSON-lines wrappers around the same panic.
#[test]
fn wrapped_panics() {
    for name in [
        "crash.journald.txt",
        "crash.journald-short-iso.txt",
        "crash.docker-json.log",
        "crash.docker-timestamps.txt",
        "crash.jsonl.txt",
        "crash.crlf.txt",
    ] {
        let input = repo_file(&format!("fixtures/text/embedded/{name}"));
        let r = scan(&input, &Options::default());
        assert_eq!(
            root_cause_function(&r).as_deref(),
            Some("main.Handler"),
            "{name}"
        );
        assert!(
            r.templates
                .iter()
                .all(|t| !t.template.starts_with("panic:") || t.level.is_some()),
            "{name}"
        );
        assert!(
            r.templates
                .iter()
                .all(|t| !t.template.contains("goroutine")),
            "{name}: {:?}",
            r.templates
        );
    }
    let r = scan(
        &repo_file("fixtures/text/embedded/crash.jsonl.txt"),
        &Options::default(),
    );
    let served = template(&r, Some(Level::Info), "request served");
    assert_eq!(served.count, 5);
    assert_eq!(r.templates[0].level, Some(Level::Fatal));
}

#[test]
fn filters() {
    let input = repo_file("fixtures/text/embedded/crash.service-log.txt");
    let opts = Options {
        min_level: Some(Level::Error),
        ..Options::default()
    };
    let r = scan(&input, &opts);
    assert!(r.templates.iter().all(|t| t.level >= Some(Level::Error)));
    assert!(r.filtered_out > 2000);
    assert_eq!(root_cause_function(&r).as_deref(), Some("main.Handler"));

    let since = gosleuth_logs::time::parse_bound("2026-11-21T09:30:00Z", 0).unwrap();
    let r = scan(
        &input,
        &Options {
            since: Some(since),
            ..Options::default()
        },
    );
    assert!(r.templates.iter().all(|t| t.first >= Some(since)));
    assert!(r.incidents.is_empty(), "the panic happened at 09:18");

    let r = scan(
        &input,
        &Options {
            grep: Some(regex::Regex::new("cache miss").unwrap()),
            ..Options::default()
        },
    );
    assert!(
        r.templates
            .iter()
            .all(|t| t.template.starts_with("cache miss"))
    );
    assert_eq!(r.templates.len(), 4);
}

#[test]
fn parallel_matches_sequential() {
    let seed = repo_file("fixtures/text/embedded/crash.service-log.txt");
    let mut input = Vec::new();
    for _ in 0..8 {
        input.extend_from_slice(&seed);
    }
    let opts = Options {
        assignments: true,
        ..Options::default()
    };
    let a = scan(&input, &opts);
    let b = scan_parallel(&input, &opts, 3);
    let key = |r: &Report| {
        let mut v: Vec<_> = r
            .templates
            .iter()
            .map(|t| (t.level, t.template.clone(), t.count, t.example_line))
            .collect();
        v.sort();
        v
    };
    assert_eq!(key(&a), key(&b));
    assert_eq!(a.lines, b.lines);
    let lines = |r: &Report| r.incidents.iter().map(|i| i.line).collect::<Vec<_>>();
    assert_eq!(lines(&a), lines(&b));
    assert_eq!(lines(&a).len(), 8);
    assert_eq!(
        a.assignments.as_ref().unwrap().len(),
        input.iter().filter(|&&c| c == b'\n').count()
    );
    // Same grouping of lines, whatever the ids.
    let (aa, ba) = (
        a.assignments.clone().unwrap(),
        b.assignments.clone().unwrap(),
    );
    let name = |r: &Report, id: Option<u32>| id.map(|i| r.templates[i as usize].template.clone());
    for (x, y) in aa.iter().zip(&ba).step_by(97) {
        assert_eq!(name(&a, *x), name(&b, *y));
    }
}

/// The factory's panics and fatal errors with a timestamp before every
/// line, as `kubectl logs --timestamps`, CRI log files and log shippers
/// write them, between ordinary lines with the same prefix: the runtime's
/// lines are recognised behind any prefix, so the incident and its root
/// cause are the ones found in the bare output, and no runtime line
/// becomes a template.
#[test]
fn runtime_output_behind_timestamp_prefixes() {
    type Prefix = fn(u32) -> String;
    let prefixes: [(&str, Prefix); 6] = [
        ("RFC 3339, milliseconds", |s| {
            format!("2026-11-21T10:33:{:02}.000Z ", s % 60)
        }),
        ("RFC 3339, nanoseconds and an offset", |s| {
            format!("2026-11-21T10:33:{:02}.123456789+01:00 ", s % 60)
        }),
        ("CRI log file", |s| {
            format!("2026-11-21T10:33:{:02}.123456789Z stderr F ", s % 60)
        }),
        ("ISO with a space and a comma", |s| {
            format!("2026-11-21 10:33:{:02},250 ", s % 60)
        }),
        ("syslog without a host", |s| {
            format!("Nov 21 10:33:{:02} ", s % 60)
        }),
        ("Go's log package", |s| {
            format!("2026/11/21 10:33:{:02} ", s % 60)
        }),
    ];
    let mut checked = 0;
    for dir in std::fs::read_dir(crate::repo_path("fixtures/text")).unwrap() {
        let dir = dir.unwrap().path();
        for case in ["crash.panic.txt", "mapwrites.fatal.txt"] {
            let Ok(bare) = std::fs::read_to_string(dir.join(case)) else {
                continue;
            };
            let plain = scan(bare.as_bytes(), &Options::default());
            let want: Vec<_> = plain
                .incidents
                .iter()
                .map(|i| {
                    (
                        i.kind,
                        i.line,
                        i.root_cause.as_ref().and_then(|r| r.frame.clone()),
                    )
                })
                .collect();
            assert!(!want.is_empty(), "{}/{case}", dir.display());
            for (name, prefix) in &prefixes {
                let mut log = String::new();
                for (n, line) in (0u32..).zip(bare.lines()) {
                    log.push_str(&prefix(n));
                    log.push_str(line);
                    log.push('\n');
                }
                let r = scan(log.as_bytes(), &Options::default());
                let got: Vec<_> = r
                    .incidents
                    .iter()
                    .map(|i| {
                        (
                            i.kind,
                            i.line,
                            i.root_cause.as_ref().and_then(|r| r.frame.clone()),
                        )
                    })
                    .collect();
                assert_eq!(got, want, "{name}: {}/{case}", dir.display());
                let runtime: Vec<_> = r
                    .templates
                    .iter()
                    .filter(|t| {
                        t.template.starts_with("goroutine ")
                            || t.template.starts_with("panic:")
                            || t.template.starts_with("fatal error:")
                            || t.template.starts_with("main.")
                            || t.template.starts_with('/')
                    })
                    .map(|t| &t.template)
                    .collect();
                assert!(
                    runtime.is_empty(),
                    "{name}: {}/{case}: {runtime:?}",
                    dir.display()
                );
                // The program's own lines are still templates, with their time.
                if case == "crash.panic.txt" {
                    let h = template(&r, None, "Handling: <*>");
                    assert!(h.count > 0 && h.first.is_some(), "{name}");
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 2 * 6 * 10, "{checked}");
}
