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
        out.contains("scheduling latency (waits for a P while runnable)"),
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

/// `gosleuth trace --export perfetto|chrome`: the Perfetto file parses with
/// Perfetto's own protobuf schema (scripts/check-perfetto.py), every track
/// ends each slice it begins, each goroutine's track has one `running`
/// slice per time it started running (as --goroutine lists them), unblocks
/// are paired flows; the Chrome JSON holds the same slices.
#[test]
fn timelines_export_to_perfetto_and_chrome() {
    let path = kit::evidence("installed", &["tracer"])
        .join("trace")
        .join("tracer.trace");
    let dir = std::env::temp_dir().join(format!("gosleuth-export-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pf = dir.join("t.pftrace");
    let js = dir.join("t.json");
    for (format, out) in [("perfetto", &pf), ("chrome", &js)] {
        let o = gosleuth(&[
            "trace",
            "--export",
            format,
            "-o",
            out.to_str().unwrap(),
            path.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{format}: {o:?}");
    }
    let python = std::env::var("GOSLEUTH_PYTHON").unwrap_or_else(|_| "python3".into());
    let o = Command::new(&python)
        .arg(kit::repo_root().join("scripts/check-perfetto.py"))
        .arg(&pf)
        .output()
        .expect("run check-perfetto.py");
    assert!(
        o.status.success(),
        "{python} scripts/check-perfetto.py (scripts/test.sh installs perfetto): {o:?}"
    );
    let read: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert!(
        read["flows"].as_u64().unwrap_or(0) > 0 && read["unpaired_flows"] == 0,
        "{read}"
    );
    let tracks = read["tracks"].as_object().expect("tracks");
    for (name, t) in tracks {
        assert_eq!(t["begin"], t["end"], "track {name}");
    }
    // Running slices per goroutine = its starts, from our own transitions.
    let f = std::fs::File::open(&path).unwrap();
    let mut starts: std::collections::BTreeMap<u64, u64> = Default::default();
    for t in gosleuth_trace::profiles::transitions(std::io::BufReader::new(f), None).unwrap() {
        if t.to == "Running" {
            *starts.entry(t.goroutine).or_default() += 1;
        }
    }
    for (g, n) in &starts {
        let track = tracks
            .iter()
            .find(|(name, _)| name.split(' ').next() == Some(&format!("G{g}")))
            .unwrap_or_else(|| panic!("no track for G{g}"));
        assert_eq!(track.1["names"]["running"].as_u64(), Some(*n), "G{g}");
    }
    assert!(
        tracks.contains_key("GC") && tracks.contains_key("STW"),
        "{tracks:?}"
    );
    // Chrome: the same number of slices, balanced per thread.
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&js).unwrap()).expect("JSON");
    let events = doc["traceEvents"].as_array().expect("traceEvents");
    let count = |ph: &str| events.iter().filter(|e| e["ph"] == ph).count() as u64;
    let begins: u64 = tracks
        .values()
        .map(|t| t["begin"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(count("B"), begins);
    assert_eq!(count("E"), begins);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The GC-heavy program: `gosleuth trace` leads with the GC's share of the
/// Ps as a finding, prints the MMU table, and `--mmu=...` gives the same
/// numbers as the library's curve (itself compared with go tool trace in
/// the trace crate's tests), in text and JSON; `diagnose` names it too.
#[test]
fn the_gcs_share_and_the_mmu_are_reported() {
    let path = kit::evidence("installed", &["gcsys"])
        .join("trace")
        .join("gcsys.trace");
    let p = path.to_str().unwrap();
    let o = gosleuth(&["trace", p]);
    assert!(o.status.success(), "{o:?}");
    let out = stdout(&o);
    // The GC's share is a finding, ahead of its assists when they are one
    // too (they are part of it).
    let findings: Vec<&str> = out
        .lines()
        .take_while(|l| !l.contains(": a Go 1."))
        .filter(|l| l.contains(" ["))
        .collect();
    let pressure = findings.iter().position(|l| l.contains("[gc_pressure"));
    let assist = findings.iter().position(|l| l.contains("[gc_assist"));
    assert!(pressure.is_some(), "no gc_pressure finding:\n{out}");
    assert!(assist.is_none_or(|a| Some(a) > pressure), "{out}");
    assert!(out.contains("minimum mutator utilisation"), "{out}");
    assert!(out.contains("marking (GCBegin to GCEnd)"), "{out}");

    let lib = gosleuth_trace::profiles::utilization(
        std::io::BufReader::new(std::fs::File::open(&path).unwrap()),
        gosleuth_trace::mmu::Flags::parse("stw|assist").unwrap(),
    )
    .unwrap();
    let o = gosleuth(&["trace", "--mmu=stw|assist", "--format", "json", p]);
    assert!(o.status.success(), "{o:?}");
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    let rows = doc.as_array().expect("an array of windows");
    assert!(rows.len() >= 5, "{doc}");
    for row in rows {
        let w = row["window_ns"].as_i64().unwrap();
        let want = lib.mmu(w).unwrap();
        assert_eq!(row["mmu"].as_f64().unwrap(), want.mmu, "{row}");
        assert_eq!(row["start_ns"].as_i64().unwrap(), want.start_ns, "{row}");
    }
    let o = gosleuth(&["trace", "--mmu", p]);
    let out = stdout(&o);
    assert!(
        out.contains("background mark workers") && out.contains("10 ms window"),
        "{out}"
    );
    let o = gosleuth(&["trace", "--mmu=gc", p]);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("expected stw"),
        "{o:?}"
    );

    let o = gosleuth(&["diagnose", p]);
    assert!(stdout(&o).contains("[gc_pressure"), "{o:?}");
}

/// The scheduling latency section gives the distribution and a likely
/// cause per long wait; the 40 workers created at once are a runnable
/// pile-up; `--window` reads the generations of a time window (here the
/// only one: the same report) and refuses a malformed window.
#[test]
fn latency_causes_pile_ups_and_windows() {
    let path = kit::evidence("installed", &["tracer"])
        .join("trace")
        .join("tracer.trace");
    let p = path.to_str().unwrap();
    let o = gosleuth(&["trace", p]);
    assert!(o.status.success(), "{o:?}");
    let out = stdout(&o);
    assert!(out.contains("p99.9"), "{out}");
    assert!(out.contains("likely: "), "{out}");
    assert!(out.contains("[runnable_pile_up"), "{out}");

    let o = gosleuth(&["trace", "--window", "0-1s", p]);
    assert!(o.status.success(), "{o:?}");
    assert_eq!(
        stdout(&o),
        out,
        "a window over the whole trace is the whole report"
    );
    let o = gosleuth(&["trace", "--window", "3s-1s", p]);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("expected FROM-TO"),
        "{o:?}"
    );
}

/// `--pprof cpu` writes the trace's CPU samples as a profile go tool pprof
/// reads (the GC-heavy program profiled CPU while traced), and says what is
/// missing for a trace without samples.
#[test]
fn the_cpu_samples_of_a_trace_are_a_profile() {
    let dir = kit::evidence("installed", &["gcsys", "tracer"]).join("trace");
    let out = std::env::temp_dir().join(format!("gosleuth-cpu-{}.pb.gz", std::process::id()));
    let trace = dir.join("gcsys.trace");
    let o = gosleuth(&[
        "trace",
        "--pprof",
        "cpu",
        "-o",
        out.to_str().unwrap(),
        trace.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{o:?}");
    let o = Command::new("go")
        .args(["tool", "pprof", "-top"])
        .arg(&out)
        .output()
        .expect("go tool pprof");
    let top = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success() && top.contains("Type: cpu"), "{top}");
    let _ = std::fs::remove_file(&out);

    let plain = dir.join("tracer.trace");
    let o = gosleuth(&["trace", "--pprof", "cpu", plain.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("no CPU samples"),
        "{o:?}"
    );
}
