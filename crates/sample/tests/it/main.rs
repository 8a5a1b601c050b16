//! The sampler against real processes: the factory's `cpushare` burns CPU
//! in known proportions (one function inlined, one in C through cgo) and
//! waits on a mutex, and writes its own CPU profile and its own measure of
//! the waiting: the oracles.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gosleuth_pprof::Profile;
use gosleuth_sample::{Ended, Method, Options, Recording, Sampler, Symbolizer};
use gosleuth_testkit::DEFAULT_GO_VERSIONS;

/// The tests measure CPU shares and waiting times: they take turns, so that
/// they do not take the CPU from each other's targets.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn turn() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// A running `cpushare`, killed when dropped.
struct Target {
    child: Child,
    cpu: PathBuf,
    stats: PathBuf,
    _dir: TempDir,
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Target {
    fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Ends it now (SIGTERM: it stops its work and writes its profile and
    /// figures) and waits for it.
    fn stop(&mut self) {
        // SAFETY: a signal to a child we started and have not reaped.
        unsafe { libc::kill(self.pid(), libc::SIGTERM) };
        self.finish();
    }

    /// Waits for it to finish on its own (so its profile and figures are
    /// written).
    fn finish(&mut self) {
        let status = self.child.wait().expect("wait for cpushare");
        assert!(status.success(), "cpushare failed: {status}");
    }
}

fn temp_dir(tag: &str) -> TempDir {
    let d = std::env::temp_dir().join(format!(
        "gosleuth-sample-{tag}-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    TempDir(d)
}

/// Starts `bin` (a cpushare build) for `seconds`, after it calibrated.
fn start(bin: &Path, seconds: f64, tag: &str) -> Target {
    start_with(Command::new(bin), seconds, tag)
}

fn start_with(mut cmd: Command, seconds: f64, tag: &str) -> Target {
    let dir = temp_dir(tag);
    let cpu = dir.0.join("own.cpu.pb.gz");
    let stats = dir.0.join("stats.json");
    let mut child = cmd
        .arg("-seconds")
        .arg(seconds.to_string())
        .arg("-cpu")
        .arg(&cpu)
        .arg("-stats")
        .arg(&stats)
        .args(["-cpuhz", "500"])
        .stdout(Stdio::piped())
        // The runtime says there that it kept the rate set before
        // StartCPUProfile.
        .stderr(Stdio::null())
        .spawn()
        .expect("start cpushare");
    let out = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(out)
        .read_line(&mut line)
        .expect("read cpushare's first line");
    assert!(line.starts_with("ready"), "cpushare said {line:?}");
    Target {
        child,
        cpu,
        stats,
        _dir: dir,
    }
}

/// Records `pid` for `secs`.
fn record(pid: i32, opts: Options, secs: f64) -> (Recording, Profile, Sampler) {
    record_until(pid, opts, u64::MAX, secs)
}

/// Records `pid` until `samples` were taken, or for `secs` at most: on a
/// busy machine the target runs less, and on-CPU samples count its CPU
/// time, so a count (not a duration) keeps the sampling error in bounds.
fn record_until(pid: i32, opts: Options, samples: u64, secs: f64) -> (Recording, Profile, Sampler) {
    let mut s = Sampler::open(pid, None, opts).expect("open the sampler");
    let mut rec = s.recording();
    let until = Instant::now() + Duration::from_secs_f64(secs);
    let ended = s.run(&mut rec, |r, _| {
        Instant::now() < until && r.samples < samples
    });
    assert_eq!(ended, Ended::Stopped);
    let mut sym = Symbolizer::new(s.target(), pid);
    let p = rec.to_profile(&mut sym).expect("profile");
    (rec, p, s)
}

/// Self (innermost frame) and total nanoseconds per function of the
/// value `index` of every sample.
fn shares(p: &Profile, index: usize) -> (HashMap<String, f64>, HashMap<String, f64>) {
    let mut own = HashMap::new();
    let mut total = HashMap::new();
    let mut sum = 0.0;
    for s in p.samples.iter() {
        let v = s.values[index] as f64;
        sum += v;
        let mut seen = Vec::new();
        for (k, loc) in s.locations.iter().enumerate() {
            let loc = &p.locations[loc as usize];
            for (j, line) in loc.lines.iter().enumerate() {
                let name = p.functions[line.function as usize].name.clone();
                if k == 0 && j == 0 {
                    *own.entry(name.clone()).or_insert(0.0) += v;
                }
                if !seen.contains(&name) {
                    *total.entry(name.clone()).or_insert(0.0) += v;
                    seen.push(name);
                }
            }
        }
    }
    for m in [&mut own, &mut total] {
        for v in m.values_mut() {
            *v /= sum;
        }
    }
    (own, total)
}

fn pct(m: &HashMap<String, f64>, f: &str) -> f64 {
    100.0 * m.get(f).copied().unwrap_or(0.0)
}

fn check_cpu_shares(go: &str, method: Method) {
    let bin = gosleuth_testkit::binary(go, "cpushare");
    // Enough samples on both sides for 5 percentage points to be over
    // three standard deviations of the difference.
    let mut t = start(&bin, 60.0, "cpu");
    let opts = Options {
        method,
        rate_hz: 500,
        ..Options::default()
    };
    let (rec, ours, s) = record_until(t.pid(), opts, 2000, 30.0);
    t.stop();
    let theirs = gosleuth_pprof::parse_file(&t.cpu).expect("the program's own profile");
    assert!(
        rec.samples >= 1000,
        "{go} {method:?}: {} samples",
        rec.samples
    );
    let (our_self, our_total) = shares(&ours, 1);
    let (_, their_total) = shares(&theirs, 1);
    // Each function's total (under a busy machine Go's own profile puts
    // a share of burnA's and burnB's samples in runtime.asyncPreempt,
    // above them); burnC's time is in C, under it.
    for (f, ours, theirs) in [
        ("main.burnA", &our_total, &their_total),
        ("main.burnB", &our_total, &their_total),
        ("main.burnC", &our_total, &their_total),
        ("main.work", &our_total, &their_total),
    ] {
        let (a, b) = (pct(ours, f), pct(theirs, f));
        assert!(
            (a - b).abs() <= 5.0,
            "{go} {method:?} ({:?}): {f} takes {a:.1}% in gosleuth's profile and {b:.1}% in \
             the program's own",
            s.used()
        );
    }
    // The inlined call is a line of its caller's location, as in Go's.
    let inlined = ours.locations.iter().any(|l| {
        let names: Vec<&str> = l
            .lines
            .iter()
            .map(|x| ours.functions[x.function as usize].name.as_str())
            .collect();
        names == ["main.burnB", "main.work"]
    });
    assert!(inlined, "{go}: no location with burnB inlined into work");
    // The C function is named from the ELF symbols.
    assert!(
        our_self.keys().any(|k| k.contains("Cfunc_burn_c")),
        "{go}: the C function is not named: {:?}",
        our_self.keys().collect::<Vec<_>>()
    );
    if method == Method::Ptrace {
        // Under the parallel tests' load a stop includes the time this
        // process was not scheduled; BENCHMARKS.md has the quiet figure.
        assert!(
            s.stats.max_stop < Duration::from_millis(50),
            "a thread was stopped for {:?}",
            s.stats.max_stop
        );
    }
}

#[test]
fn cpu_shares_match_the_programs_own_profile_with_perf_events() {
    let _turn = turn();
    for go in DEFAULT_GO_VERSIONS {
        check_cpu_shares(go, Method::Perf);
    }
}

#[test]
fn cpu_shares_match_the_programs_own_profile_with_ptrace() {
    let _turn = turn();
    check_cpu_shares("installed", Method::Ptrace);
}

#[test]
fn a_stripped_binary_is_profiled_by_pclntab_alone() {
    let _turn = turn();
    let bin = gosleuth_testkit::binary("installed", "cpushare.stripped");
    let mut t = start(&bin, 60.0, "stripped");
    let opts = Options {
        rate_hz: 500,
        ..Options::default()
    };
    let (_, ours, _) = record_until(t.pid(), opts, 2000, 30.0);
    t.stop();
    let theirs = gosleuth_pprof::parse_file(&t.cpu).expect("the program's own profile");
    let (_, our_total) = shares(&ours, 1);
    let (_, their_total) = shares(&theirs, 1);
    // (The Go callers of its C code are checked on the unstripped build.)
    for f in ["main.burnA", "main.burnB"] {
        let (a, b) = (pct(&our_total, f), pct(&their_total, f));
        assert!((a - b).abs() <= 5.0, "{f}: {a:.1}% vs {b:.1}%");
    }
}

#[test]
fn wall_time_of_the_mutex_waiter_matches_its_own_measure() {
    let _turn = turn();
    for go in DEFAULT_GO_VERSIONS {
        let bin = gosleuth_testkit::binary(go, "cpushare");
        let mut t = start(&bin, 4.0, "wall");
        // 500 ticks a second: about 1,500 samples of a two-state
        // goroutine, so that the sampling error (about 1.3 points) is well
        // inside the 10% asked for.
        let opts = Options {
            wall: true,
            rate_hz: 500,
            // Captures as often as the rate asks (a small process's take
            // well under a millisecond).
            wall_budget: 1.0,
            ..Options::default()
        };
        let (_, p, _) = record(t.pid(), opts, 3.0);
        t.finish();
        let stats: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&t.stats).expect("stats")).expect("json");
        let waited = stats["waited_ns"].as_f64().expect("waited_ns");
        let elapsed = stats["elapsed_ns"].as_f64().expect("elapsed_ns");
        let theirs = waited / elapsed;
        // The waiter's samples, and those inside Mutex.Lock, as its clock
        // counts: blocked (state sync.Mutex.Lock), and woken but not yet
        // running again (runnable, still in Lock), which a busy machine
        // makes long.
        let (mut all, mut locked, mut blocked) = (0i64, 0i64, 0i64);
        let mut states: HashMap<String, i64> = HashMap::new();
        let mut cpu_goroutine = 0i64;
        for s in p.samples.iter() {
            if s.label_values("role").any(|v| v == "cpu") {
                cpu_goroutine += s.values[1];
            }
            if !s.label_values("role").any(|v| v == "waiter") {
                continue;
            }
            all += s.values[1];
            for st in s.label_values("state") {
                *states.entry(st.to_string()).or_insert(0i64) += s.values[1];
            }
            let in_lock = s.locations.iter().any(|l| {
                p.locations[l as usize].lines.iter().any(|x| {
                    p.functions[x.function as usize]
                        .name
                        .ends_with("Mutex).Lock")
                })
            });
            if in_lock {
                locked += s.values[1];
            }
            // (A goroutine read without stopping the process may have
            // moved between its state and its stack: not asserted.)
            if s.label_values("state").any(|v| v == "sync.Mutex.Lock") {
                blocked += s.values[1];
            }
        }
        assert!(blocked > 0, "{go}: no sample in state sync.Mutex.Lock");
        assert!(all > 0, "{go}: no sample labelled role=waiter");
        let ours = locked as f64 / all as f64;
        assert!(
            (ours - theirs).abs() <= 0.1 * theirs,
            "{go}: the waiter is blocked in Lock {:.1}% of the time by gosleuth and {:.1}% by \
             its own clock (its nanoseconds by state: {states:?})",
            100.0 * ours,
            100.0 * theirs
        );
        // The goroutine that never stops running is there all the time,
        // from on-CPU samples labelled with its pprof labels.
        let secs = cpu_goroutine as f64 / 1e9;
        assert!(
            (2.5..=3.5).contains(&secs),
            "{go}: the running goroutine has {secs:.2} s in 3 s"
        );
        // The wall profile covers the whole recording for the waiter.
        let secs = all as f64 / 1e9;
        assert!(
            (2.5..=3.5).contains(&secs),
            "{go}: the waiter has {secs:.2} s in 3 s"
        );
    }
}

#[test]
fn a_process_that_exits_ends_the_recording_with_the_samples_so_far() {
    let _turn = turn();
    let bin = gosleuth_testkit::binary("installed", "cpushare");
    let t = start(&bin, 1.0, "exit");
    let mut s = Sampler::open(t.pid(), None, Options::default()).expect("open");
    let mut rec = s.recording();
    let until = Instant::now() + Duration::from_secs(20);
    let pid = t.pid();
    // Reap it as soon as it exits, as its parent would.
    let mut child = t;
    let waiter = std::thread::spawn(move || {
        let _ = child.child.wait();
        child
    });
    let ended = s.run(&mut rec, |_, _| Instant::now() < until);
    assert_eq!(ended, Ended::Exited, "pid {pid}");
    assert!(rec.samples > 20, "{} samples", rec.samples);
    drop(waiter.join());
}

#[test]
fn ptrace_sampling_leaves_the_process_running_and_untraced() {
    let _turn = turn();
    let bin = gosleuth_testkit::binary("installed", "cpushare");
    let mut t = start(&bin, 60.0, "untraced");
    let opts = Options {
        method: Method::Ptrace,
        ..Options::default()
    };
    let (rec, _, _) = record_until(t.pid(), opts, 100, 20.0);
    assert!(rec.samples >= 100, "{} samples", rec.samples);
    for tid in gosleuth_memory::live::task_ids(t.pid()).expect("threads") {
        let status = std::fs::read_to_string(format!("/proc/{}/task/{tid}/status", t.pid()))
            .unwrap_or_default();
        let tracer = status
            .lines()
            .find_map(|l| l.strip_prefix("TracerPid:"))
            .map(str::trim);
        assert!(
            matches!(tracer, Some("0") | None),
            "thread {tid} is still traced"
        );
    }
    // It answers a signal and finishes.
    let start = Instant::now();
    t.stop();
    assert!(start.elapsed() < Duration::from_secs(5));
}

#[test]
fn a_process_in_its_own_mount_and_pid_namespace_is_sampled_from_the_host() {
    let _turn = turn();
    // The binary lives on a tmpfs mounted only inside the namespace: the
    // host cannot see the path its maps name.
    let bin = gosleuth_testkit::binary("installed", "cpushare");
    let mut cmd = Command::new("unshare");
    cmd.args([
        "--mount",
        "--pid",
        "--fork",
        "--kill-child",
        "--propagation",
        "private",
        "sh",
        "-c",
    ])
    .arg(format!(
        "mkdir -p /mnt/gosleuth-ns && mount -t tmpfs none /mnt/gosleuth-ns && \
             cp {} /mnt/gosleuth-ns/svc && exec /mnt/gosleuth-ns/svc \"$@\"",
        bin.display()
    ))
    .arg("sh");
    let t = start_with(cmd, 3.0, "ns");
    // The service is unshare's grandchild: find it by its name.
    let pid = find_process("svc").expect("the namespaced process");
    assert!(
        !Path::new("/mnt/gosleuth-ns/svc").exists(),
        "the binary must not be visible from the host"
    );
    let (_, p, _) = record(pid, Options::default(), 1.5);
    let (own, _) = shares(&p, 1);
    assert!(pct(&own, "main.burnA") > 30.0, "{own:?}");
    assert!(
        own.keys().any(|k| k.contains("Cfunc_burn_c")),
        "the C function is named through /proc/PID/root: {own:?}"
    );
    drop(t);
}

fn find_process(comm: &str) -> Option<i32> {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        for e in std::fs::read_dir("/proc").ok()?.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
                continue;
            };
            if std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == comm)
            {
                return Some(pid);
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}
