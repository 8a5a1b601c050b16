//! `gosleuth core`, `gosleuth attach` and `gosleuth dump` end to end on the
//! seed-004 metrics service: its core, the live service, and a core that
//! gosleuth itself writes.

use std::path::PathBuf;
use std::time::Duration;

use gosleuth_testkit as kit;
use gosleuth_testkit::process::Running;

use crate::{gosleuth, stdout};

fn cores(go: &str) -> PathBuf {
    kit::factory("cores", go, &["--case", "metricsdeadlock"]).join("core")
}

fn bin(go: &str, program: &str) -> PathBuf {
    kit::factory("build", go, &["--binary", program])
        .join("bin")
        .join(program)
}

/// Count of the group whose header precedes a frame line containing `frame`.
fn group_count(out: &str, frame: &str) -> Option<u64> {
    let mut count = None;
    for line in out.lines() {
        if !line.starts_with(' ') && !line.is_empty() {
            count = line.split_whitespace().next().and_then(|n| n.parse().ok());
        }
        if line.contains(frame) {
            return count;
        }
    }
    None
}

/// The shape every view of the hung service must show: the pile-up in
/// CountS (inlined, at its line), and the consumer blocked in SetM.
fn check_service_view(out: &str, blocked: u64, what: &str) {
    let counts = kit::source_line(
        "metricsdeadlock/metrics.go",
        "m.inChannel <- NewCountMetric(key, 1, second)",
    );
    let setm = kit::source_line(
        "metricsdeadlock/metrics.go",
        "m.inChannel <- NewSetMetric(key, value, second)",
    );
    let counts_frame =
        format!("metricsdeadlock/metrics.go:{counts}  main.(*Metrics).CountS() (inlined)");
    assert!(
        out.contains(&counts_frame),
        "{what}: no {counts_frame}:\n{out}"
    );
    assert_eq!(
        group_count(out, "main.(*Metrics).CountS()"),
        Some(blocked),
        "{what}:\n{out}"
    );
    let setm_frame = format!("metricsdeadlock/metrics.go:{setm}  main.(*Metrics).SetM() (inlined)");
    assert!(out.contains(&setm_frame), "{what}: no {setm_frame}:\n{out}");
    assert_eq!(
        group_count(out, "main.(*Metrics).SetM()"),
        Some(1),
        "{what}"
    );
}

#[test]
fn core_shows_the_pile_up_in_counts_and_the_consumer_in_setm() {
    for go in kit::go_versions() {
        let dir = cores(&go);
        let core = dir.join("metricsdeadlock.gcore.core");
        let o = gosleuth(&[
            "core",
            bin(&go, "metricsdeadlock").to_str().unwrap_or_default(),
            core.to_str().unwrap_or_default(),
        ]);
        assert!(o.status.success(), "{go}: {o:?}");
        let out = stdout(&o);
        // The service's own dump, taken just before gcore, counts the same.
        let dump = gosleuth(&[
            "triage",
            dir.join("metricsdeadlock.gcore.debug2.txt")
                .to_str()
                .unwrap_or_default(),
        ]);
        let in_dump =
            group_count(&stdout(&dump), "main.(*Metrics).CountS(").expect("CountS in the dump");
        check_service_view(&out, in_dump, &go);
    }
}

#[test]
fn core_groups_by_location_and_filters_like_dlv() {
    let dir = cores("installed");
    let core = dir.join("metricsdeadlock.gcore.core");
    let b = bin("installed", "metricsdeadlock");
    let run = |extra: &[&str]| {
        let mut args = vec![
            "core",
            b.to_str().unwrap_or_default(),
            core.to_str().unwrap_or_default(),
        ];
        args.extend_from_slice(extra);
        let o = gosleuth(&args);
        assert!(o.status.success(), "{extra:?}: {o:?}");
        stdout(&o)
    };
    let out = run(&["--group-by", "startloc"]);
    assert!(
        out.contains("main.NewMetrics.gowrap1") || out.contains("main.NewMetrics.func1"),
        "{out}"
    );
    // Delve's user location: the function that owns the pc (SetM and
    // CountS are inlined), at the line of the inlined send.
    let setm = kit::source_line(
        "metricsdeadlock/metrics.go",
        "m.inChannel <- NewSetMetric(key, value, second)",
    );
    let counts = kit::source_line(
        "metricsdeadlock/metrics.go",
        "m.inChannel <- NewCountMetric(key, 1, second)",
    );
    let out = run(&[
        "--with",
        &format!("userloc=metrics\\.go:{setm}$"),
        "--stacks",
    ]);
    assert_eq!(out.matches("\ngoroutine ").count(), 1, "{out}");
    assert!(
        out.contains("main.(*Metrics).sendMetricsToOutChannel"),
        "{out}"
    );
    let out = run(&[
        "--without",
        &format!("userloc=metrics\\.go:{counts}$"),
        "--group-by",
        "userloc",
    ]);
    assert!(!out.contains(&format!("metrics.go:{counts} ")), "{out}");
    assert!(out.contains(&format!("metrics.go:{setm} ")), "{out}");
    // Delve's api.Goroutine JSON: the seed's jq query works on it.
    let o = gosleuth(&[
        "core",
        b.to_str().unwrap_or_default(),
        core.to_str().unwrap_or_default(),
        "--format",
        "json",
    ]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    let gs = doc.as_array().expect("array of goroutines");
    let in_counts = gs
        .iter()
        .filter(|g| {
            g["userCurrentLoc"]["line"] == counts
                && g["userCurrentLoc"]["file"]
                    .as_str()
                    .is_some_and(|f| f.ends_with("metrics.go"))
        })
        .count();
    assert!(in_counts > 1000, "{in_counts}");
    let consumer = gs
        .iter()
        .find(|g| {
            g["startLoc"]["function"]["name"].as_str().is_some_and(|n| {
                n.ends_with("startInChannelConsumer") || n.starts_with("main.NewMetrics.g")
            })
        })
        .expect("consumer by startLoc");
    for key in [
        "id",
        "currentLoc",
        "userCurrentLoc",
        "goStatementLoc",
        "startLoc",
        "threadID",
        "status",
        "waitReason",
    ] {
        assert!(consumer.get(key).is_some(), "{key} missing: {consumer}");
    }
    assert!(
        consumer["currentLoc"]["pc"]
            .as_u64()
            .is_some_and(|pc| pc > 0)
    );
}

#[test]
fn bad_input_gets_a_clear_error() {
    let dir = cores("installed");
    let core = dir.join("metricsdeadlock.gcore.core");
    let other = bin("installed", "parked");
    // A binary that is not the one the core was taken from.
    let o = gosleuth(&[
        "core",
        other.to_str().unwrap_or_default(),
        core.to_str().unwrap_or_default(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("does not match"), "{err}");
    // A truncated core.
    let tmp = std::env::temp_dir().join(format!("gosleuth-truncated-{}.core", std::process::id()));
    {
        use std::io::{Read, Write};
        let mut f = std::fs::File::open(&core).expect("core");
        let mut head = vec![0u8; 1 << 20];
        f.read_exact(&mut head).expect("read");
        std::fs::File::create(&tmp)
            .and_then(|mut o| o.write_all(&head))
            .expect("write");
    }
    let o = gosleuth(&[
        "core",
        bin("installed", "metricsdeadlock")
            .to_str()
            .unwrap_or_default(),
        tmp.to_str().unwrap_or_default(),
    ]);
    let _ = std::fs::remove_file(&tmp);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("truncated") || err.contains("not dumped") || err.contains("past its end"),
        "{err}"
    );
    // Not a Go process: this test binary's own parent shell is not Go; use
    // a process we start: `sleep`.
    let mut child = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .expect("sleep");
    let o = gosleuth(&["attach", &child.id().to_string()]);
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("Go") || err.contains("pclntab"), "{err}");
    // No such process.
    let o = gosleuth(&["attach", "999999999"]);
    assert_eq!(o.status.code(), Some(2));
}

/// The metrics service, hung by load: the server, the load generators,
/// its address, the last `attach` listing and the requests blocked in CountS.
struct Hung {
    srv: Running,
    _load: Vec<Running>,
    addr: String,
    out: String,
    blocked: u64,
    /// One hung service at a time: three at once, each with its load
    /// generators, starve each other on a small machine. Dropped last.
    _turn: std::sync::MutexGuard<'static, ()>,
}

/// Starts the metrics service with `-interval 0` (the consumer feeds itself
/// a SetM per metric, so the hundredth request deadlocks it whatever the
/// machine's load) and sends requests until they pile up in CountS and the
/// pile stops growing. More rounds only if a round's connections fail.
fn hung_service() -> Hung {
    static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let (srv, addr) = Running::start_until(
        &bin("installed", "metricsdeadlock"),
        &["-addr", "127.0.0.1:0", "-interval", "0"],
        None,
        |l| l.contains(':'),
    );
    let addr = addr.trim().to_string();
    let mut load = Vec::new();
    for _round in 0..3 {
        let (g, _) = Running::start_until(
            &bin("installed", "loadgen"),
            &["-addr", &addr, "-n", "2000", "-c", "64"],
            None,
            |l| l.starts_with("opened"),
        );
        load.push(g);
        if let Some((out, blocked)) = wait_for_hang(&srv) {
            return Hung {
                srv,
                _load: load,
                addr,
                out,
                blocked,
                _turn: turn,
            };
        }
    }
    panic!("the metrics service did not hang after three rounds of load");
}

/// Attaches until the number of requests blocked in CountS stops
/// changing; returns the last listing and that number.
fn wait_for_hang(srv: &Running) -> Option<(String, u64)> {
    let mut last = None;
    // Up to 10 s per round: under load the pile grows slowly.
    for _ in 0..40 {
        std::thread::sleep(Duration::from_millis(250));
        let o = gosleuth(&["attach", &srv.pid.to_string()]);
        assert!(o.status.success(), "{o:?}");
        srv.assert_running();
        let out = stdout(&o);
        let n = group_count(&out, "main.(*Metrics).CountS()");
        if n.is_some_and(|n| n > 1000) && n == last {
            return Some((out, n?));
        }
        last = n;
    }
    None
}

#[test]
fn attach_shows_the_live_service_and_leaves_it_running() {
    let hung = hung_service();
    let (addr, out, blocked) = (&hung.addr, &hung.out, hung.blocked);
    assert!(blocked > 1000, "{blocked}");
    // The service's own dump agrees.
    let dump = std::env::temp_dir().join(format!("gosleuth-attach-{}.txt", std::process::id()));
    let url = format!("http://{addr}/debug/pprof/goroutine?debug=2");
    let o = gosleuth(&["fetch", &url, "-o", dump.to_str().unwrap_or_default()]);
    assert!(o.status.success(), "{o:?}");
    let t = gosleuth(&["triage", dump.to_str().unwrap_or_default()]);
    let _ = std::fs::remove_file(&dump);
    assert_eq!(
        group_count(&stdout(&t), "main.(*Metrics).CountS("),
        Some(blocked)
    );
    check_service_view(out, blocked, "attach");
    assert!(out.contains("stopped for"), "{out}");
    hung.srv.assert_running();
}

#[test]
fn dump_writes_a_core_that_core_reads_like_attach() {
    let hung = hung_service();
    let (srv, blocked) = (&hung.srv, hung.blocked);
    let dir = std::env::temp_dir().join(format!("gosleuth-dumpcore-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let core = dir.join("svc.core");
    let o = gosleuth(&[
        "dump",
        &srv.pid.to_string(),
        "-o",
        core.to_str().unwrap_or_default(),
        "-q",
    ]);
    assert!(o.status.success(), "{o:?}");
    srv.assert_running();
    let b = bin("installed", "metricsdeadlock");
    let o = gosleuth(&[
        "core",
        b.to_str().unwrap_or_default(),
        core.to_str().unwrap_or_default(),
    ]);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(o.status.success(), "{o:?}");
    let out = stdout(&o);
    check_service_view(&out, blocked, "dumped core");
}

/// Another user's process: a clear error, and the process runs on. (Needs
/// root to start the target and `setpriv` to drop to `nobody`.)
#[test]
fn another_users_process_is_refused_clearly() {
    // SAFETY: getuid has no preconditions.
    if unsafe { libc::getuid() } != 0 || !std::path::Path::new("/usr/bin/setpriv").exists() {
        eprintln!("skipped: needs root and setpriv");
        return;
    }
    let p = Running::start(&bin("installed", "parked"), &["-n", "10"]);
    let dir = std::env::temp_dir().join(format!("gosleuth-perm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let exe = dir.join("gosleuth");
    std::fs::copy(env!("CARGO_BIN_EXE_gosleuth"), &exe).expect("copy gosleuth");
    use std::os::unix::fs::PermissionsExt;
    for p in [&dir, &exe] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let o = std::process::Command::new("/usr/bin/setpriv")
        .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"])
        .arg(&exe)
        .args(["attach", &p.pid.to_string()])
        .output()
        .expect("run setpriv");
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("not allowed to read process"), "{err}");
    assert!(err.contains("CAP_SYS_PTRACE"), "{err}");
    p.assert_running();
}

#[test]
fn diagnose_names_the_self_deadlock_of_the_live_service() {
    let hung = hung_service();
    let o = gosleuth(&[
        "diagnose",
        "--pid",
        &hung.srv.pid.to_string(),
        "--format",
        "json",
    ]);
    hung.srv.assert_running();
    assert_eq!(
        o.status.code(),
        Some(1),
        "a critical finding exits 1: {o:?}"
    );
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    let first = &doc["findings"][0];
    assert_eq!(first["kind"], "self_deadlock", "{doc}");
    let text = first.to_string();
    assert!(
        text.contains("SetM") && text.contains("inChannel"),
        "{text}"
    );
    // The consumer's whole chain, the inlined send included, and nobody
    // else called a receiver (issue #14).
    let frames = first["evidence"]["frames"].as_array().expect("frames");
    let chain: Vec<(&str, &str)> = frames
        .iter()
        .take(3)
        .map(|f| {
            (
                f["role"].as_str().unwrap_or_default(),
                f["function"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        chain,
        [
            ("blocked_at", "main.(*Metrics).SetM"),
            ("called_from", "main.(*Metrics).sendMetricsToOutChannel"),
            ("drains_at", "main.(*Metrics).startInChannelConsumer"),
        ],
        "{text}"
    );
    assert_eq!(frames[0]["inlined"], true, "{text}");
    let consumer = &frames[0]["goroutine"];
    assert_eq!(
        first["evidence"]["objects"][0]["drainers"],
        serde_json::json!([consumer]),
        "{text}"
    );
    for f in doc["findings"].as_array().into_iter().flatten() {
        for r in f["evidence"]["related"].as_array().into_iter().flatten() {
            let why = r["why"].as_str().unwrap_or_default();
            if &r["goroutine"] != consumer && why.contains("drain") {
                assert!(why.contains("inferred"), "{why}");
            }
        }
    }
}

/// A crash core lists the goroutine that crashed first, with why, even
/// with `--max-groups 1`, in text, `--stacks` and JSON; a core of a hung
/// process marks none.
#[test]
fn a_crash_core_lists_the_crashing_goroutine_first() {
    let dir = kit::factory("cores", "installed", &["--case", "crash"]).join("core");
    let core = dir.join("crash.crash.core");
    let b = bin("installed", "crash");
    // The goroutine the runtime printed first in its crash output.
    let text = String::from_utf8_lossy(&kit::read(&dir.join("crash.crash.txt"))).into_owned();
    let id: u64 = text
        .lines()
        .find_map(|l| {
            l.strip_prefix("goroutine ")?
                .split(' ')
                .next()?
                .parse()
                .ok()
        })
        .expect("a goroutine in crash.crash.txt");
    let run = |extra: &[&str]| {
        let mut args = vec![
            "core",
            b.to_str().unwrap_or_default(),
            core.to_str().unwrap_or_default(),
        ];
        args.extend_from_slice(extra);
        let o = gosleuth(&args);
        assert!(o.status.success(), "{extra:?}: {o:?}");
        stdout(&o)
    };
    let out = run(&["--max-groups", "1"]);
    let mut lines = out
        .lines()
        .skip_while(|l| !l.contains(" goroutines in "))
        .skip(1)
        .filter(|l| !l.is_empty());
    let header = lines.next().unwrap_or_default();
    assert!(
        header.starts_with("1 [running]") && header.ends_with(&format!("goroutine {id}")),
        "{out}"
    );
    let marker = lines.next().unwrap_or_default();
    assert!(
        marker.trim_start().starts_with("crashed: ")
            && marker.contains("SIGABRT")
            && marker.contains("panicking"),
        "{out}"
    );
    assert!(lines.any(|l| l.contains("main.Handler()")), "{out}");
    let out = run(&["--group-by", "userloc"]);
    let mut lines = out
        .lines()
        .skip_while(|l| !l.contains(" groups by userloc:"))
        .skip(1)
        .filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or_default();
    assert!(first.contains(&format!("goroutines {id}")), "{out}");
    assert!(
        lines
            .next()
            .is_some_and(|l| l.contains(&format!("goroutine {id} crashed: "))),
        "{out}"
    );
    let out = run(&["--stacks"]);
    let first = out
        .lines()
        .find(|l| l.starts_with("goroutine "))
        .unwrap_or_default();
    assert!(first.starts_with(&format!("goroutine {id} [")), "{out}");
    assert!(out.contains("\n    crashed: "), "{out}");
    let doc: serde_json::Value = serde_json::from_str(&run(&["--format", "json"])).expect("JSON");
    assert_eq!(doc[0]["id"], id, "{}", doc[0]);
    assert!(
        doc[0]["crashed"]
            .as_str()
            .is_some_and(|w| w.contains("SIGABRT"))
    );
    assert!(doc[1].get("crashed").is_none());
    // A gcore of a hung process: nothing crashed.
    let lock = kit::factory("cores", "installed", &["--case", "lockorder"])
        .join("core")
        .join("lockorder.gcore.core");
    let o = gosleuth(&[
        "core",
        bin("installed", "lockorder").to_str().unwrap_or_default(),
        lock.to_str().unwrap_or_default(),
    ]);
    assert!(!stdout(&o).contains("crashed:"), "{o:?}");
}
