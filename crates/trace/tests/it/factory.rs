use std::collections::BTreeMap;
use std::io::BufReader;
use std::path::PathBuf;
use std::process::Command;

use gosleuth_testkit as kit;
use gosleuth_trace::{Error, RawEvent, WireReader, summarize};

/// The releases whose traces are in the format of Go 1.22 and later: every
/// release the layout tests run on, from 1.22.
fn trace_versions() -> Vec<String> {
    kit::layout_go_versions()
        .into_iter()
        .filter(|v| v == "installed" || kit::go_minor(v) >= 22)
        .collect()
}

fn tracer(go: &str) -> (PathBuf, String) {
    let dir = kit::evidence(go, &["tracer"]).join("trace");
    let counts = std::fs::read_to_string(dir.join("tracer.txt")).expect("tracer.txt");
    (dir.join("tracer.trace"), counts)
}

/// `go tool trace -d=wire` of the installed Go (it reads every release's
/// format from 1.22 on).
fn go_tool_wire(path: &std::path::Path) -> String {
    let o = Command::new("go")
        .args(["tool", "trace", "-d=wire"])
        .arg(path)
        .output()
        .expect("go tool trace");
    assert!(o.status.success(), "{o:?}");
    String::from_utf8(o.stdout).expect("utf-8")
}

fn our_wire(path: &std::path::Path) -> String {
    let f = std::fs::File::open(path).expect("open");
    let mut r = WireReader::new(BufReader::new(f)).expect("a trace");
    let mut ev = RawEvent::default();
    let mut out = String::new();
    while r.next_into(&mut ev).expect("an event") {
        out.push_str(&ev.to_wire_text());
        out.push('\n');
    }
    out
}

#[test]
fn wire_events_print_as_go_tool_trace_prints_them() {
    for go in trace_versions() {
        let (path, _) = tracer(&go);
        let ours = our_wire(&path);
        let theirs = go_tool_wire(&path);
        if ours != theirs {
            let at = ours
                .lines()
                .zip(theirs.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(0);
            panic!(
                "{go}: first difference at line {at}: ours {:?} vs go tool trace {:?}",
                ours.lines().nth(at),
                theirs.lines().nth(at)
            );
        }
    }
    // The trace served by /debug/pprof/trace too.
    let leak = kit::evidence("installed", &["leak"])
        .join("trace")
        .join("leak.trace");
    assert_eq!(our_wire(&leak), go_tool_wire(&leak));
}

#[test]
fn the_summary_counts_what_the_program_did() {
    for go in trace_versions() {
        let (path, counts) = tracer(&go);
        let f = std::fs::File::open(&path).expect("open");
        let s = summarize(BufReader::new(f)).expect("a summary");
        // Events by kind: those of go tool trace's own wire listing.
        let mut want: BTreeMap<String, u64> = BTreeMap::new();
        for line in go_tool_wire(&path).lines().filter(|l| !l.starts_with('\t')) {
            let name = line.split(' ').next().unwrap_or(line);
            *want.entry(name.to_string()).or_default() += 1;
        }
        let got: BTreeMap<String, u64> =
            s.by_kind.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        assert_eq!(got, want, "{go}");
        // The runtime's own counts (tracer.txt, from MemStats).
        let gc: u64 = counts
            .split_whitespace()
            .find_map(|w| w.strip_prefix("gc="))
            .and_then(|n| n.parse().ok())
            .expect("gc=N");
        assert_eq!(s.gc_cycles, gc, "{go}: GC cycles ({counts})");
        assert!(s.goroutines_created >= 40, "{go}: {s:?}");
        assert_eq!((s.tasks, s.regions, s.logs), (1, 40, 1), "{go}");
        // Each forced GC stops the world twice (sweep and mark termination).
        let gc_stw: u64 = s
            .stw
            .iter()
            .filter(|(k, _)| k.starts_with("GC "))
            .map(|(_, v)| v.count)
            .sum();
        assert!(gc_stw >= 2 * gc, "{go}: {:?}", s.stw);
        assert!(s.duration_ns > 0 && s.ticks_per_second > 0, "{go}: {s:?}");
        assert!(s.procs >= 1 && s.threads >= 1, "{go}: {s:?}");
    }
}

#[test]
fn a_go_1_21_trace_is_refused_by_name() {
    let (path, _) = tracer("go1.21.13");
    let f = std::fs::File::open(&path).expect("open");
    let err = summarize(BufReader::new(f)).expect_err("an error");
    assert!(matches!(err, Error::OldFormat { version: 21 }), "{err}");
    assert!(err.to_string().contains("Go 1.21"), "{err}");
}

#[test]
fn a_truncated_trace_says_where_it_ends_and_keeps_what_came_before() {
    let (path, _) = tracer("installed");
    let bytes = std::fs::read(&path).expect("read");
    let whole = summarize(&bytes[..]).expect("the whole trace");
    assert_eq!(whole.truncated, None);
    for cut in [bytes.len() / 3, bytes.len() / 2, bytes.len() - 3] {
        let s = summarize(&bytes[..cut]).expect("a summary of what is there");
        let why = s.truncated.as_deref().unwrap_or_default();
        assert!(why.contains("truncated"), "cut at {cut}: {s:?}");
        assert!(
            s.events > 0 && s.events < whole.events,
            "cut at {cut}: {s:?}"
        );
    }
}

/// `go tool pprof -top` of a profile file, without its header (file
/// name, time).
fn pprof_top(path: &std::path::Path) -> String {
    let o = Command::new("go")
        .args(["tool", "pprof", "-top", "-nodecount=40"])
        .arg(path)
        .output()
        .expect("go tool pprof");
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("flat"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Per leaf function: stretches and summed delay of a blocking profile.
fn by_leaf(p: &gosleuth_pprof::Profile) -> BTreeMap<String, (i64, i64)> {
    let mut out: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for s in p.samples.iter() {
        let leaf = s
            .locations
            .get(0)
            .and_then(|l| p.locations.get(l as usize))
            .and_then(|l| l.lines.first())
            .and_then(|l| p.functions.get(l.function as usize))
            .map_or_else(String::new, |f| f.name.clone());
        let e = out.entry(leaf).or_default();
        e.0 += s.values[0];
        e.1 += s.values[1];
    }
    out
}

/// Our profile against `go tool trace`'s: `go tool pprof -top` equal, or
/// else (events of two threads with one timestamp taken in the other
/// order: Go's reader nudges the second by 1 ns) the same stretches per
/// leaf function, with delays within 2 ns per stretch.
fn assert_same_profile(ours: &std::path::Path, theirs: &std::path::Path, what: &str) {
    if pprof_top(ours) == pprof_top(theirs) {
        return;
    }
    let read = |p: &std::path::Path| gosleuth_pprof::parse(&kit::read(p)).expect("a profile");
    let (a, b) = (by_leaf(&read(ours)), by_leaf(&read(theirs)));
    let keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    for k in keys {
        let (x, y) = (
            a.get(k).copied().unwrap_or_default(),
            b.get(k).copied().unwrap_or_default(),
        );
        assert_eq!(x.0, y.0, "{what}: stretches in {k}: {a:?} vs {b:?}");
        assert!(
            (x.1 - y.1).abs() <= 2 * x.0.max(1),
            "{what}: delay in {k}: {a:?} vs {b:?}"
        );
    }
}

#[test]
fn blocking_profiles_equal_go_tool_traces() {
    use gosleuth_trace::profiles::{Kind, blocking_profile};
    let dir = std::env::temp_dir().join(format!("gosleuth-trace-pprof-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut traces: Vec<(String, PathBuf)> = trace_versions()
        .into_iter()
        .map(|go| {
            let p = tracer(&go).0;
            (go, p)
        })
        .collect();
    traces.push((
        "installed leak".into(),
        kit::evidence("installed", &["leak"])
            .join("trace")
            .join("leak.trace"),
    ));
    for (what, path) in traces {
        for kind in ["net", "sync", "syscall", "sched"] {
            let theirs = dir.join(format!("go.{kind}.pb"));
            let o = Command::new("go")
                .args(["tool", "trace", &format!("-pprof={kind}")])
                .arg(&path)
                .output()
                .expect("go tool trace");
            std::fs::write(&theirs, &o.stdout).expect("write");
            let f = std::fs::File::open(&path).expect("open");
            let p =
                blocking_profile(BufReader::new(f), Kind::parse(kind).unwrap()).expect("a profile");
            let ours = dir.join(format!("ours.{kind}.pb.gz"));
            gosleuth_pprof::proto::write_gzip(&p, std::fs::File::create(&ours).unwrap())
                .expect("write");
            assert_same_profile(&ours, &theirs, &format!("{what} -pprof={kind}"));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every goroutine's changes of state, with their reasons, are the ones
/// `go tool trace -d=parsed` prints (the Go project's own reader), in the
/// same order per goroutine and at the same times within 2 ns (two events
/// of different threads with the same timestamp may be taken in the other
/// order, and Go's reader nudges the second by 1 ns), on every release
/// from 1.22.
#[test]
fn goroutine_transitions_equal_go_tool_traces() {
    type PerG = BTreeMap<u64, Vec<(i64, String)>>;
    for go in trace_versions() {
        let (path, _) = tracer(&go);
        let o = Command::new("go")
            .args(["tool", "trace", "-d=parsed"])
            .arg(&path)
            .output()
            .expect("go tool trace");
        let text = String::from_utf8_lossy(&o.stdout);
        // `... StateTransition Time=T GoID=G From->To Reason="R" ...`
        let mut theirs: PerG = BTreeMap::new();
        for l in text.lines() {
            let Some(rest) = l.split_once(" StateTransition Time=").map(|p| p.1) else {
                continue;
            };
            let Some((time, rest)) = rest.split_once(' ') else {
                continue;
            };
            let Some(rest) = rest.strip_prefix("GoID=") else {
                continue;
            };
            let Some((g, rest)) = rest.split_once(' ') else {
                continue;
            };
            let Some((states, reason)) = rest.split_once(" Reason=") else {
                continue;
            };
            let body = reason.strip_prefix('"').unwrap_or(reason);
            let reason = &body[..body.find('"').unwrap_or(body.len())];
            theirs
                .entry(g.parse().expect("GoID"))
                .or_default()
                .push((time.parse().expect("Time"), format!("{states} {reason:?}")));
        }
        let f = std::fs::File::open(&path).expect("open");
        let mut ours: PerG = BTreeMap::new();
        for t in
            gosleuth_trace::profiles::transitions(BufReader::new(f), None).expect("transitions")
        {
            ours.entry(t.goroutine)
                .or_default()
                .push((t.time_ns, format!("{}->{} {:?}", t.from, t.to, t.reason)));
        }
        assert!(theirs.values().map(Vec::len).sum::<usize>() > 100, "{go}");
        assert_eq!(
            ours.keys().collect::<Vec<_>>(),
            theirs.keys().collect::<Vec<_>>(),
            "{go}: goroutines"
        );
        for (g, want) in &theirs {
            let got = &ours[g];
            let names = |v: &Vec<(i64, String)>| v.iter().map(|x| x.1.clone()).collect::<Vec<_>>();
            assert_eq!(names(got), names(want), "{go}: goroutine {g}");
            for (a, b) in got.iter().zip(want) {
                assert!(
                    (a.0 - b.0).abs() <= 2,
                    "{go}: goroutine {g}: {a:?} vs {b:?}"
                );
            }
        }
    }
}

/// User tasks and regions: per type, as many as `go tool trace -d=parsed`
/// shows ending, with the same durations (within 2 ns each).
#[test]
fn task_and_region_durations_equal_go_tool_traces() {
    for go in trace_versions() {
        let (path, _) = tracer(&go);
        let o = Command::new("go")
            .args(["tool", "trace", "-d=parsed"])
            .arg(&path)
            .output()
            .expect("go tool trace");
        let text = String::from_utf8_lossy(&o.stdout);
        let field = |l: &str, k: &str| -> Option<String> {
            let rest = l.split_once(&format!(" {k}="))?.1;
            Some(match rest.strip_prefix('"') {
                Some(q) => q[..q.find('"')?].to_string(),
                None => rest.split(' ').next()?.to_string(),
            })
        };
        // (type) -> durations, from begin/end pairs per goroutine (regions)
        // and per task ID (tasks).
        let mut regions: BTreeMap<String, Vec<i64>> = BTreeMap::new();
        let mut open: BTreeMap<(String, String), Vec<i64>> = BTreeMap::new();
        let mut tasks: BTreeMap<String, Vec<i64>> = BTreeMap::new();
        let mut open_tasks: BTreeMap<String, (String, i64)> = BTreeMap::new();
        for l in text.lines() {
            let g = l
                .split(' ')
                .find_map(|w| w.strip_prefix("G="))
                .unwrap_or("")
                .to_string();
            let time = || {
                field(l, "Time")
                    .and_then(|t| t.parse::<i64>().ok())
                    .unwrap_or(0)
            };
            if l.contains(" RegionBegin ") {
                let ty = field(l, "Type").unwrap_or_default();
                open.entry((g, ty)).or_default().push(time());
            } else if l.contains(" RegionEnd ") {
                let ty = field(l, "Type").unwrap_or_default();
                if let Some(start) = open.entry((g, ty.clone())).or_default().pop() {
                    regions.entry(ty).or_default().push(time() - start);
                }
            } else if l.contains(" TaskBegin ") {
                open_tasks.insert(
                    field(l, "ID").unwrap_or_default(),
                    (field(l, "Type").unwrap_or_default(), time()),
                );
            } else if l.contains(" TaskEnd ") {
                if let Some((ty, start)) = open_tasks.remove(&field(l, "ID").unwrap_or_default()) {
                    tasks.entry(ty).or_default().push(time() - start);
                }
            }
        }
        let f = std::fs::File::open(&path).expect("open");
        let ours =
            gosleuth_trace::profiles::user_annotations(BufReader::new(f)).expect("annotations");
        for (what, theirs, ours) in [
            ("regions", &regions, &ours.regions),
            ("tasks", &tasks, &ours.tasks),
        ] {
            assert_eq!(
                ours.keys().collect::<Vec<_>>(),
                theirs.keys().collect::<Vec<_>>(),
                "{go} {what}"
            );
            for (ty, ds) in theirs {
                let h = &ours[ty];
                assert_eq!(h.count, ds.len() as u64, "{go} {what} {ty}");
                let sum: i64 = ds.iter().sum();
                let max = ds.iter().max().copied().unwrap_or(0);
                assert!(
                    (h.sum_ns - sum).abs() <= 4 * ds.len() as i64,
                    "{go} {what} {ty}: {} vs {sum}",
                    h.sum_ns
                );
                assert!(
                    (h.max_ns - max).abs() <= 4,
                    "{go} {what} {ty}: {} vs {max}",
                    h.max_ns
                );
            }
        }
        assert_eq!(regions.get("increment").map(Vec::len), Some(40), "{go}");
        assert_eq!(tasks.get("work").map(Vec::len), Some(1), "{go}");
    }
}

/// A snapshot of Go 1.25's flight recorder (`FlightRecorder.WriteTo`) is
/// read like any trace: its events print as go tool trace prints them, and
/// its sync profile equals go tool trace's.
#[test]
fn a_flight_recorder_snapshot_is_read() {
    use gosleuth_trace::profiles::{Kind, blocking_profile};
    for go in trace_versions()
        .into_iter()
        .filter(|v| v == "installed" || kit::go_minor(v) >= 25)
    {
        let path = kit::evidence(&go, &["flightrec"])
            .join("trace")
            .join("flightrec.trace");
        assert_eq!(our_wire(&path), go_tool_wire(&path), "{go}");
        let dir = std::env::temp_dir().join(format!("gosleuth-flight-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let theirs = dir.join("go.pb");
        let o = Command::new("go")
            .args(["tool", "trace", "-pprof=sync"])
            .arg(&path)
            .output()
            .expect("go tool trace");
        std::fs::write(&theirs, &o.stdout).expect("write");
        let f = std::fs::File::open(&path).expect("open");
        let p = blocking_profile(BufReader::new(f), Kind::Sync).expect("a profile");
        let ours = dir.join("ours.pb.gz");
        gosleuth_pprof::proto::write_gzip(&p, std::fs::File::create(&ours).unwrap())
            .expect("write");
        assert_same_profile(&ours, &theirs, &go);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// Mutated traces (bytes flipped, lengths changed, cut anywhere): every
/// reader returns a result or a clear error, never a panic.
#[test]
fn mutated_traces_never_panic() {
    use gosleuth_trace::profiles::{Kind, analyze_all, transitions};
    let (path, _) = tracer("installed");
    let bytes = std::fs::read(&path).expect("read");
    let mut rng = kit::Rng(0x7ace);
    for i in 0..2000 {
        let mut m = bytes.clone();
        for _ in 0..1 + rng.below(8) {
            let at = 16 + rng.below(m.len() - 16);
            m[at] = rng.next() as u8;
        }
        if i % 3 == 0 {
            m.truncate(16 + rng.below(m.len() - 16));
        }
        let _ = summarize(&m[..]);
        let _ = analyze_all(&m[..], &[Kind::Sync, Kind::Sched, Kind::Syscall, Kind::Net]);
        let _ = transitions(&m[..], None);
    }
}

/// A real program's trace, not a factory one: the standard library's own
/// encoding/json tests under `go test -trace`. Its events print as `go
/// tool trace -d=wire` prints them, and each blocking profile holds the
/// same stretches as `go tool trace -pprof`'s with the same delay within
/// 2 ns a stretch (two threads' events with one timestamp may be taken in
/// the other order, and Go's reader nudges the second by 1 ns).
#[test]
fn a_real_programs_trace_reads_as_go_tool_trace_reads_it() {
    use gosleuth_trace::profiles::{Kind, blocking_profile};
    let dir = std::env::temp_dir().join(format!("gosleuth-realtrace-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("json.trace");
    let o = Command::new("go")
        .args(["test", "-count=1", "-run", "Test", "-trace"])
        .arg(&path)
        .arg("encoding/json")
        .output()
        .expect("go test");
    assert!(o.status.success(), "{o:?}");
    assert_eq!(our_wire(&path), go_tool_wire(&path));
    // (contentions, delay) summed over a profile's samples.
    let totals = |p: &gosleuth_pprof::Profile| {
        p.samples
            .iter()
            .fold((0i64, 0i64), |(c, d), s| (c + s.values[0], d + s.values[1]))
    };
    for kind in ["net", "sync", "syscall", "sched"] {
        let o = Command::new("go")
            .args(["tool", "trace", &format!("-pprof={kind}")])
            .arg(&path)
            .output()
            .expect("go tool trace");
        let theirs = gosleuth_pprof::parse(&o.stdout).expect("go tool trace's profile");
        let f = std::fs::File::open(&path).expect("open");
        let ours = blocking_profile(BufReader::new(f), Kind::parse(kind).unwrap()).expect("ours");
        let ((c1, d1), (c2, d2)) = (totals(&ours), totals(&theirs));
        assert_eq!(c1, c2, "-pprof={kind}: stretches");
        assert!(
            (d1 - d2).abs() <= 2 * c1.max(1),
            "-pprof={kind}: {d1} vs {d2} ns"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn gcsys(go: &str) -> (PathBuf, String) {
    let dir = kit::evidence(go, &["gcsys"]).join("trace");
    let counts = std::fs::read_to_string(dir.join("gcsys.txt")).expect("gcsys.txt");
    (dir.join("gcsys.trace"), counts)
}

/// A number the factory program printed as `key=N`.
fn counted(counts: &str, key: &str) -> i64 {
    counts
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("{key}= in {counts}"))
}

/// A body fetched from loopback over plain HTTP/1.0.
fn http_get(port: u16, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.0 200")
        .then(|| body.to_string())
        .or_else(|| head.starts_with("HTTP/1.1 200").then(|| body.to_string()))
}

/// `go tool trace -http`'s MMU curve for each of `flags` (its JSON
/// `curve`: 100 windows and their MMU), from a server on loopback.
fn go_tool_trace_mmu(path: &std::path::Path, flags: &[&str]) -> Vec<Vec<(f64, f64)>> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    // The tool's own binary, not `go tool trace`: killing the go command
    // would leave the server it started running.
    let tool = Command::new("go")
        .args(["tool", "-n", "trace"])
        .output()
        .expect("go tool -n trace");
    let tool = String::from_utf8_lossy(&tool.stdout).trim().to_string();
    let mut server = Command::new(&tool)
        .arg(format!("-http=127.0.0.1:{port}"))
        .arg(path)
        .env("BROWSER", "true")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("go tool trace -http");
    let mut out = Vec::new();
    for f in flags {
        let query = format!("/mmu?mode=plot&flags={}", f.replace('|', "%7C"));
        let mut body = None;
        for _ in 0..600 {
            body = http_get(port, &query);
            if body.is_some() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let body = body.unwrap_or_else(|| panic!("go tool trace never served {query}"));
        let v: serde_json::Value = serde_json::from_str(&body).expect("MMU JSON");
        let curve = v["curve"]
            .as_array()
            .expect("curve")
            .iter()
            .map(|p| (p[0].as_f64().unwrap(), p[1].as_f64().unwrap()))
            .collect();
        out.push(curve);
    }
    let _ = server.kill();
    let _ = server.wait();
    out
}

/// The MMU of every window `go tool trace` plots is the same as gosleuth's
/// (within 1e-4: times may differ by a nanosecond), on the contended
/// program's trace and the GC-heavy one, for what it counts against the
/// program save background workers (see the next test for those).
#[test]
fn mmu_equals_go_tool_traces_without_background_workers() {
    use gosleuth_trace::mmu::Flags;
    let installed = trace_versions();
    let oldest = installed
        .iter()
        .filter(|v| *v != "installed")
        .min_by_key(|v| kit::go_minor(v))
        .cloned();
    let mut traces = vec![
        ("installed tracer".to_string(), tracer("installed").0),
        ("installed gcsys".to_string(), gcsys("installed").0),
    ];
    if let Some(old) = oldest {
        traces.push((format!("{old} gcsys"), gcsys(&old).0));
    }
    let flag_sets = ["stw|assist|sweep", "stw", "assist", "sweep|assist"];
    for (what, path) in traces {
        let theirs = go_tool_trace_mmu(&path, &flag_sets);
        for (flags, curve) in flag_sets.iter().zip(theirs) {
            let f = std::fs::File::open(&path).expect("open");
            let u = gosleuth_trace::profiles::utilization(
                BufReader::new(f),
                Flags::parse(flags).unwrap(),
            )
            .expect("utilization");
            assert!(!curve.is_empty(), "{what} {flags}: an empty curve");
            for (window, mmu) in curve {
                if window < 2.0 {
                    // Go also weighs a 1 ns window that starts at the last
                    // event, past the end of the curve: always 0.
                    continue;
                }
                let ours = u.mmu(window as i64).expect("a curve").mmu;
                assert!(
                    (ours - mmu).abs() < 1e-4,
                    "{what} flags={flags} window {window} ns: ours {ours}, go tool trace {mmu}"
                );
            }
        }
    }
}

/// With background mark workers counted, the time the curve loses to them
/// is the time Go's own reader (`go tool trace -d=parsed`) shows the
/// goroutines labelled `GC (dedicated)` or `GC (fractional)` running from
/// each label to their next stop, to the nanosecond per stretch; and the
/// curve is never above the one without them. (`go tool trace`'s MMU view
/// counts a worker again at each of its later runs, so its curve with
/// workers ends at zero early: README, "MMU".)
#[test]
fn background_workers_cost_their_running_time() {
    use gosleuth_trace::mmu::Flags;
    let (path, _) = gcsys("installed");
    let read = |flags: &str| {
        let f = std::fs::File::open(&path).expect("open");
        gosleuth_trace::profiles::utilization(BufReader::new(f), Flags::parse(flags).unwrap())
            .expect("utilization")
    };
    let (with, without) = (read("background"), read(""));
    let integral = gosleuth_trace::mmu::Utilization::integral;
    let procs = summarize(BufReader::new(std::fs::File::open(&path).unwrap()))
        .expect("summary")
        .procs as f64;
    let lost = (integral(&without) - integral(&with)) * procs;

    // Go's reader: from a worker label to that goroutine's next stop.
    let o = Command::new("go")
        .args(["tool", "trace", "-d=parsed"])
        .arg(&path)
        .output()
        .expect("go tool trace");
    let text = String::from_utf8_lossy(&o.stdout);
    let field = |line: &str, key: &str| -> Option<String> {
        let at = line.find(key)? + key.len();
        Some(
            line[at..]
                .split([' ', ')'])
                .next()?
                .trim_matches('"')
                .to_string(),
        )
    };
    let mut labelled: BTreeMap<u64, i64> = BTreeMap::new();
    let (mut ran, mut stretches) = (0i64, 0);
    for line in text.lines() {
        let Some(t) = field(line, "Time=").and_then(|t| t.parse::<i64>().ok()) else {
            continue;
        };
        if line.contains(" Label ") {
            let worker = line.contains("Label=\"GC (dedicated)\"")
                || line.contains("Label=\"GC (fractional)\"");
            if let Some(g) = field(line, "Resource=Goroutine(").and_then(|g| g.parse().ok()) {
                if worker {
                    labelled.entry(g).or_insert(t);
                }
            }
        } else if line.contains("StateTransition") && line.contains(" GoID=") {
            let Some(g) = field(line, " GoID=").and_then(|g| g.parse::<u64>().ok()) else {
                continue;
            };
            let Some(change) = line
                .split(" GoID=")
                .nth(1)
                .and_then(|r| r.split(' ').nth(1))
            else {
                continue;
            };
            let (from, to) = change.split_once("->").unwrap_or(("", ""));
            let executing = |s: &str| s == "Running" || s == "Syscall";
            if executing(from) && !executing(to) {
                if let Some(since) = labelled.remove(&g) {
                    ran += t - since;
                    stretches += 1;
                }
            }
        }
    }
    assert!(stretches > 0, "no worker ran in the trace");
    assert!(
        (lost - ran as f64).abs() <= 2.0 * stretches as f64,
        "workers took {lost} ns of the Ps in gosleuth's curve, {ran} ns in {stretches} stretches in Go's reader"
    );
    for w in with.curve() {
        let other = without.mmu(w.window_ns).unwrap();
        assert!(w.mmu <= other.mmu + 1e-12, "{w:?} above {other:?}");
    }
}

/// The GC-heavy program's trace: as many GC cycles begin as MemStats
/// counted (give or take the one under way when tracing stopped), and its
/// syscall and sync profiles equal `go tool trace`'s.
#[test]
fn the_gc_heavy_programs_trace_reads_as_go_tool_trace_reads_it() {
    use gosleuth_trace::profiles::{Kind, blocking_profile};
    let dir = std::env::temp_dir().join(format!("gosleuth-gcsys-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    for go in trace_versions() {
        let (path, counts) = gcsys(&go);
        let s = summarize(BufReader::new(std::fs::File::open(&path).unwrap())).expect("summary");
        let gc = counted(&counts, "gc") as u64;
        assert!(gc >= 3, "{go}: the program should collect often: {counts}");
        assert!(
            s.gc_cycles.abs_diff(gc) <= 1,
            "{go}: {} GC cycles began in the trace, MemStats counted {gc}",
            s.gc_cycles
        );
        assert!(s.gc_assist_ns > 0, "{go}: no mark assist in the trace");
        for kind in ["syscall", "sync"] {
            let theirs = dir.join(format!("go.{kind}.pb"));
            let o = Command::new("go")
                .args(["tool", "trace", &format!("-pprof={kind}")])
                .arg(&path)
                .output()
                .expect("go tool trace");
            std::fs::write(&theirs, &o.stdout).expect("write");
            let f = std::fs::File::open(&path).expect("open");
            let p =
                blocking_profile(BufReader::new(f), Kind::parse(kind).unwrap()).expect("a profile");
            let ours = dir.join(format!("ours.{kind}.pb.gz"));
            gosleuth_pprof::proto::write_gzip(&p, std::fs::File::create(&ours).unwrap())
                .expect("write");
            let top = pprof_top(&ours);
            if kind == "syscall" {
                assert!(top.contains("syscall.write"), "{go}: {top}");
            }
            assert_same_profile(&ours, &theirs, &format!("{go} gcsys -pprof={kind}"));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The summary the analyses' pass computes on the side (events in time
/// order, in the reading thread) is the one `summarize` computes alone
/// (file order), field for field, on every factory trace; except that GC
/// phases are paired in time order there (a cycle can begin on one thread
/// and end on another), so the marking durations, the heap's course and
/// its last goal are only checked to be there.
#[test]
fn the_pass_summarizes_as_summarize_does() {
    let mut traces: Vec<PathBuf> = Vec::new();
    for go in trace_versions() {
        traces.push(tracer(&go).0);
        traces.push(gcsys(&go).0);
    }
    traces.push(
        kit::evidence("installed", &["leak"])
            .join("trace")
            .join("leak.trace"),
    );
    for path in traces {
        let open = || BufReader::new(std::fs::File::open(&path).expect("open"));
        let alone = summarize(open()).expect("summarize");
        let pass = gosleuth_trace::profiles::read(open(), Default::default()).expect("read");
        let json = |s: &gosleuth_trace::Summary| {
            let mut v = serde_json::to_value(s).unwrap();
            let m = v.as_object_mut().unwrap();
            for k in [
                "gc_concurrent_ns",
                "gc_concurrent_max_ns",
                "heap_goal_last",
                "heap",
            ] {
                m.remove(k);
            }
            v
        };
        assert_eq!(json(&pass.summary), json(&alone), "{}", path.display());
        if alone.gc_cycles > 1 {
            assert!(pass.summary.gc_concurrent_ns > 0, "{}", path.display());
        }
        if alone.heap_alloc_max > 0 {
            assert!(!pass.summary.heap.is_empty(), "{}", path.display());
            assert!(pass.summary.heap.len() <= 256, "{}", path.display());
            assert!(
                pass.summary
                    .heap
                    .windows(2)
                    .all(|w| w[0].at_ns < w[1].at_ns),
                "{}",
                path.display()
            );
            let peak = pass.summary.heap.iter().map(|p| p.alloc).max().unwrap_or(0);
            assert!(peak <= pass.summary.heap_alloc_max, "{}", path.display());
        }
    }
}

/// The context of the longest scheduling waits is what Go's own reader
/// (`go tool trace -d=parsed`) shows at the same moments: the goroutines
/// runnable when the wait ended (within one: two threads' events with one
/// timestamp may be taken in the other order) and the time GC marking
/// ("GC concurrent mark phase" ranges) overlapped it (within 10 ns).
#[test]
fn the_context_of_scheduling_waits_is_go_tool_traces() {
    use gosleuth_trace::profiles::{Kind, Request, read};
    for path in [tracer("installed").0, gcsys("installed").0] {
        let req = Request {
            kinds: vec![Kind::Sched],
            ..Request::default()
        };
        let f = BufReader::new(std::fs::File::open(&path).unwrap());
        let got = read(f, req).expect("read");
        let worst = &got.analyses[0].worst;
        assert!(!worst.is_empty(), "{}", path.display());

        let o = Command::new("go")
            .args(["tool", "trace", "-d=parsed"])
            .arg(&path)
            .output()
            .expect("go tool trace");
        let text = String::from_utf8_lossy(&o.stdout);
        let time = |l: &str| -> Option<i64> {
            l.split_whitespace()
                .find_map(|w| w.strip_prefix("Time="))
                .and_then(|t| t.parse().ok())
        };
        // Times: (event time, goroutine, new state) and the marking ranges.
        let mut changes: Vec<(i64, u64, bool)> = Vec::new();
        let mut marking: Vec<(i64, i64)> = Vec::new();
        let mut open = None;
        let mut origin = None;
        for l in text.lines() {
            let Some(t) = time(l) else { continue };
            if !l.contains(" Sync ") {
                origin.get_or_insert(t);
            }
            if l.contains("Name=\"GC concurrent mark phase\"") {
                if l.contains(" RangeBegin ") {
                    open = Some(t);
                } else if let Some(a) = open.take() {
                    marking.push((a, t));
                }
            }
            if let Some(rest) = l.split(" GoID=").nth(1) {
                let mut it = rest.split_whitespace();
                let g = it.next().and_then(|g| g.parse().ok());
                let to = it
                    .next()
                    .and_then(|c| c.split_once("->"))
                    .map(|c| c.1 == "Runnable");
                if let (Some(g), Some(to)) = (g, to) {
                    changes.push((t, g, to));
                }
            }
        }
        let origin = origin.expect("events");
        for w in worst {
            let (start, end) = (origin + w.start_ns, origin + w.start_ns + w.ns);
            let mut runnable: BTreeMap<u64, bool> = BTreeMap::new();
            for &(_, g, r) in changes.iter().take_while(|c| c.0 <= end) {
                runnable.insert(g, r);
            }
            let theirs = runnable.values().filter(|r| **r).count() as i64;
            assert!(
                (w.context.runnable_at_end - theirs).abs() <= 1,
                "{}: wait of goroutine {} ending at {end}: {} runnable, Go's reader {theirs}",
                path.display(),
                w.goroutine,
                w.context.runnable_at_end
            );
            let overlap: i64 = marking
                .iter()
                .map(|&(a, b)| (b.min(end) - a.max(start)).max(0))
                .sum();
            assert!(
                (w.context.gc_marking_ns - overlap).abs() <= 10,
                "{}: wait of goroutine {}: marking {} ns, Go's reader {overlap} ns",
                path.display(),
                w.goroutine,
                w.context.gc_marking_ns
            );
            assert!(!w.likely_cause().is_empty());
        }
    }
}

/// The index lists a multi-generation trace's generations end to end, and
/// each read alone (behind the file's header) is a trace of its own whose
/// counts add up to the whole's.
#[test]
fn generations_are_indexed_and_read_alone() {
    use gosleuth_trace::index::{generations, window};
    let dir = std::env::temp_dir().join(format!("gosleuth-gens-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("busy.trace");
    // Go starts a generation about every second.
    let o = Command::new(kit::binary("installed", "tracer"))
        .args(["-o", path.to_str().unwrap(), "-busy", "2500ms"])
        .output()
        .expect("run tracer");
    assert!(o.status.success(), "{o:?}");
    let open = || BufReader::new(std::fs::File::open(&path).unwrap());
    let gens = generations(open()).expect("index");
    assert!(gens.len() >= 2, "{gens:?}");
    assert_eq!(gens[0].offset, 16);
    for pair in gens.windows(2) {
        assert_eq!(pair[0].offset + pair[0].bytes, pair[1].offset, "{gens:?}");
        assert!(pair[0].first_batch_ns <= pair[1].first_batch_ns, "{gens:?}");
    }
    let last = gens.last().unwrap();
    assert_eq!(
        last.offset + last.bytes,
        std::fs::metadata(&path).unwrap().len()
    );
    let whole = summarize(open()).expect("whole");
    let origin = gens[0].first_batch_ns;
    let (mut events, mut created, mut batches) = (0, 0, 0);
    for g in &gens {
        let at = g.first_batch_ns - origin;
        let f = std::fs::File::open(&path).unwrap();
        let s = summarize(window(f, &gens, at, at).expect("window")).expect("a generation");
        assert_eq!(s.generations, 1, "{g:?}");
        assert!(s.truncated.is_none(), "{g:?}: {:?}", s.truncated);
        events += s.events;
        created += s.goroutines_created;
        batches += s.batches;
    }
    assert_eq!(events, whole.events);
    assert_eq!(created, whole.goroutines_created);
    assert_eq!(batches, whole.batches);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The trace's CPU samples, as a profile, are the program's own CPU
/// profile taken over the same stretch (runtime/pprof sends each sample to
/// both): `go tool pprof -top` of the two has the same top function, with
/// its flat share within 5 points, and totals within 10%.
#[test]
fn the_traces_cpu_samples_are_the_programs_cpu_profile() {
    use gosleuth_trace::profiles::{Request, read};
    // (total, [(function, flat %)]) of `go tool pprof -top`.
    let top = |path: &std::path::Path| -> (f64, Vec<(String, f64)>) {
        let o = Command::new("go")
            .args(["tool", "pprof", "-top", "-nodecount=5"])
            .arg(path)
            .output()
            .expect("go tool pprof");
        let text = String::from_utf8_lossy(&o.stdout).to_string();
        let total = text
            .lines()
            .find_map(|l| {
                l.split(" of ")
                    .nth(1)?
                    .strip_suffix(" total")
                    .map(str::to_string)
            })
            .and_then(|t| {
                let (n, unit) = t
                    .trim()
                    .split_at(t.trim().find(|c: char| c.is_alphabetic())?);
                let n: f64 = n.parse().ok()?;
                Some(if unit == "s" { n * 1000.0 } else { n })
            })
            .unwrap_or_else(|| panic!("no total in\n{text}"));
        let rows = text
            .lines()
            .skip_while(|l| !l.trim_start().starts_with("flat"))
            .skip(1)
            .filter_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                let pct = f.get(1)?.strip_suffix('%')?.parse().ok()?;
                Some((f[5..].join(" "), pct))
            })
            .collect();
        (total, rows)
    };
    let dir = std::env::temp_dir().join(format!("gosleuth-cpu-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    for go in trace_versions() {
        let (path, _) = gcsys(&go);
        let own = path.with_file_name("gcsys.cpu.pb.gz");
        let req = Request {
            cpu: true,
            ..Request::default()
        };
        let got = read(BufReader::new(std::fs::File::open(&path).unwrap()), req).expect("read");
        let p = got.cpu.expect("CPU samples in the trace");
        let ours = dir.join(format!("{go}.pb.gz"));
        gosleuth_pprof::proto::write_gzip(&p, std::fs::File::create(&ours).unwrap())
            .expect("write");
        let (t_ours, rows_ours) = top(&ours);
        let (t_own, rows_own) = top(&own);
        assert!(
            (t_ours - t_own).abs() <= 0.1 * t_own,
            "{go}: {t_ours} ms of samples in the trace, {t_own} ms in the program's profile"
        );
        let (f_ours, pct_ours) = &rows_ours[0];
        let (f_own, pct_own) = &rows_own[0];
        assert_eq!(f_ours, f_own, "{go}: {rows_ours:?} vs {rows_own:?}");
        assert!(
            (pct_ours - pct_own).abs() <= 5.0,
            "{go}: {rows_ours:?} vs {rows_own:?}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Each goroutine group's time assisting the GC is the time Go's reader
/// (`go tool trace -d=parsed`) shows its goroutines running inside `GC mark
/// assist` ranges (a goroutine can park inside one; that part is not
/// counted), within 10 ns per stretch, on the GC-heavy program's trace.
#[test]
fn goroutine_groups_carry_their_gc_assists() {
    use gosleuth_trace::profiles::{Request, read};
    let (path, _) = gcsys("installed");
    let req = Request {
        goroutines: true,
        ..Request::default()
    };
    let got = read(BufReader::new(std::fs::File::open(&path).unwrap()), req).expect("read");
    let ours: i64 = got.groups.iter().map(|g| g.gc_assist_ns).sum();
    let o = Command::new("go")
        .args(["tool", "trace", "-d=parsed"])
        .arg(&path)
        .output()
        .expect("go tool trace");
    let text = String::from_utf8_lossy(&o.stdout);
    // Per goroutine: inside an assist, running, and since when it has run
    // inside one.
    let mut state: BTreeMap<u64, (bool, bool, i64)> = BTreeMap::new();
    let (mut theirs, mut stretches) = (0i64, 0i64);
    for l in text.lines() {
        let Some(t) = l
            .split_whitespace()
            .find_map(|w| w.strip_prefix("Time="))
            .and_then(|t| t.parse::<i64>().ok())
        else {
            continue;
        };
        if l.contains("Name=\"GC mark assist\"") {
            let Some(g) = l
                .split("Scope=Goroutine(")
                .nth(1)
                .and_then(|r| r.split(')').next())
                .and_then(|g| g.parse().ok())
            else {
                continue;
            };
            let e = state.entry(g).or_insert((false, true, t));
            if l.contains(" RangeBegin ") || l.contains(" RangeActive ") {
                *e = (true, e.1, t);
            } else if e.0 {
                if e.1 {
                    theirs += t - e.2;
                    stretches += 1;
                }
                e.0 = false;
            }
        } else if let Some(rest) = l.split(" GoID=").nth(1) {
            let mut it = rest.split_whitespace();
            let (Some(g), Some((from, to))) = (
                it.next().and_then(|g| g.parse::<u64>().ok()),
                it.next().and_then(|c| c.split_once("->")),
            ) else {
                continue;
            };
            let e = state.entry(g).or_insert((false, false, t));
            let (was, now) = (from == "Running", to == "Running");
            if e.0 && was && !now {
                theirs += t - e.2;
                stretches += 1;
            }
            if e.0 && now && !was {
                e.2 = t;
            }
            e.1 = now;
        }
    }
    assert!(stretches > 0, "no mark assists in the trace");
    assert!(
        (ours - theirs).abs() <= 10 * stretches,
        "groups assisted {ours} ns running, Go's reader shows {theirs} ns in {stretches} stretches"
    );
    let allocators = got
        .groups
        .iter()
        .find(|g| g.entry == "main.main.func1")
        .expect("the allocators' group");
    assert!(
        allocators.gc_assist_ns > 0 && allocators.gc_assist_ns <= allocators.exec_ns,
        "{allocators:?}"
    );
}
