//! `gosleuth trace` end to end on the factory's `tracer` program: the
//! summary names the GC cycles the program's MemStats counted and the
//! stops of the world with their reasons, `--wire` prints what `go tool
//! trace -d=wire` prints, and a Go 1.21 trace is refused by name.

use std::process::Command;

use gosleuth_testkit as kit;

use super::{gosleuth, stdout};

#[test]
fn the_summary_names_gc_cycles_and_stops() {
    let dir = kit::evidence("installed", &["tracer"]).join("trace");
    let counts = std::fs::read_to_string(dir.join("tracer.txt")).expect("tracer.txt");
    let gc = counts
        .split_whitespace()
        .find_map(|w| w.strip_prefix("gc="))
        .expect("gc=N");
    let path = dir.join("tracer.trace");
    let o = gosleuth(&["trace", path.to_str().unwrap()]);
    assert!(o.status.success(), "{o:?}");
    let out = stdout(&o);
    for needle in [
        format!("GC          {gc} cycles started"),
        "GC mark termination".to_string(),
        "GC sweep termination".to_string(),
        "user        1 tasks, 40 regions, 1 logs".to_string(),
    ] {
        assert!(out.contains(&needle), "{needle:?} not in\n{out}");
    }
    // The contended lock, named at its call site.
    let lock = kit::source_line("tracer/main.go", "mu.Lock()");
    let site = format!("sync.(*Mutex).Lock from main.main.func1.1 at main.go:{lock}");
    let first = out
        .lines()
        .skip_while(|l| !l.starts_with("where goroutines waited"))
        .nth(1)
        .unwrap_or("");
    assert!(first.ends_with(&site), "{site:?} is not first in\n{out}");
    assert!(
        out.contains("longest waits for a P while runnable"),
        "{out}"
    );

    let o = gosleuth(&["trace", "--format", "json", path.to_str().unwrap()]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(doc["gc_cycles"].to_string(), gc);
    let workers = doc["goroutines"]
        .as_array()
        .and_then(|gs| gs.iter().find(|g| g["entry"] == "main.main.func1"))
        .expect("the workers' group");
    assert_eq!(workers["count"], 40);
    assert_eq!(doc["region_types"]["increment"]["count"], 40);
    assert_eq!(doc["task_types"]["work"]["count"], 1);
    assert!(
        workers["blocked_ns"]["sync"].as_i64().unwrap_or(0) > 0,
        "{workers}"
    );

    let wire = gosleuth(&["trace", "--wire", path.to_str().unwrap()]);
    let go = Command::new("go")
        .args(["tool", "trace", "-d=wire"])
        .arg(&path)
        .output()
        .expect("go tool trace");
    assert!(
        wire.stdout == go.stdout,
        "--wire differs from go tool trace -d=wire"
    );
}

#[test]
fn an_old_trace_is_refused_by_name() {
    let path = kit::evidence("go1.21.13", &["tracer"])
        .join("trace")
        .join("tracer.trace");
    let o = gosleuth(&["trace", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("written by Go 1.21"), "{err}");
}

/// `gosleuth trace http://.../debug/pprof/trace?seconds=1`: fetched and
/// read in one step.
#[test]
fn a_trace_url_is_fetched_and_read() {
    use gosleuth_testkit::process::Running;
    let (_leak, addr) = Running::start_until(
        &kit::binary("installed", "leak"),
        &["-addr", "127.0.0.1:0"],
        None,
        |l| l.contains(':'),
    );
    let url = format!("http://{}/debug/pprof/trace?seconds=1", addr.trim());
    let o = gosleuth(&["trace", &url]);
    assert!(o.status.success(), "{o:?}");
    let out = stdout(&o);
    assert!(
        out.contains("trace, ") && out.contains("goroutines  "),
        "{out}"
    );
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("fetched "),
        "{o:?}"
    );
}

/// `gosleuth diagnose TRACE`: the contended lock as a finding, at the
/// line of the `mu.Lock()` the workers wait in.
#[test]
fn diagnose_names_the_contended_lock_of_a_trace() {
    let path = kit::evidence("installed", &["tracer"])
        .join("trace")
        .join("tracer.trace");
    let lock = kit::source_line("tracer/main.go", "mu.Lock()");
    let o = gosleuth(&["diagnose", "--format", "json", path.to_str().unwrap()]);
    assert!(o.status.success(), "{o:?}");
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(doc["source_kind"], "trace");
    let f = &doc["findings"][0];
    assert_eq!(f["kind"], "contended_lock", "{doc}");
    let called_from = f["evidence"]["frames"]
        .as_array()
        .and_then(|fs| fs.iter().find(|fr| fr["role"] == "called_from"))
        .expect("the call site");
    assert_eq!(called_from["function"], "main.main.func1.1");
    assert_eq!(called_from["line"], lock);
}

/// `gosleuth trace --goroutine N`: one worker's changes of state, from its
/// creation to its end, with the lock it waited for.
#[test]
fn one_goroutines_timeline() {
    let path = kit::evidence("installed", &["tracer"])
        .join("trace")
        .join("tracer.trace");
    let o = gosleuth(&["trace", "--format", "json", path.to_str().unwrap()]);
    assert!(o.status.success(), "{o:?}");
    // A worker: a goroutine that blocked on the lock (from --goroutine's
    // JSON of each candidate until one has).
    let mut found = false;
    for g in 1..200u64 {
        let o = gosleuth(&[
            "trace",
            "--goroutine",
            &g.to_string(),
            "--format",
            "json",
            path.to_str().unwrap(),
        ]);
        if !o.status.success() {
            continue;
        }
        let ts: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
        let ts = ts.as_array().expect("an array");
        let blocked_on_lock = ts.iter().any(|t| {
            t["to"] == "Waiting"
                && t["reason"] == "sync"
                && t["stack"][0][0] == "sync.(*Mutex).Lock"
        });
        if blocked_on_lock {
            assert_eq!(ts[0]["from"], "NotExist", "created in the trace: {}", ts[0]);
            assert_eq!(ts.last().unwrap()["to"], "NotExist", "ended in the trace");
            let text = stdout(&gosleuth(&[
                "trace",
                "--goroutine",
                &g.to_string(),
                path.to_str().unwrap(),
            ]));
            assert!(
                text.contains(
                    "Running -> Waiting (sync)  sync.(*Mutex).Lock from main.main.func1.1"
                ),
                "{text}"
            );
            found = true;
            break;
        }
    }
    assert!(found, "no goroutine blocked on the mutex");
    let o = gosleuth(&["trace", "--goroutine", "999999", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
}
