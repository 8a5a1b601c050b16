//! Hostile inputs (issue 14): repeated panic lines and other repeated
//! shapes, streams without a line break, truncated gzip files. Each input
//! is made here at test time (nothing large is committed); gosleuth runs
//! under an address-space limit and an output-file limit, and its exit
//! status, output size and peak resident memory are checked: output and
//! memory grow at most linearly with the input, and what was cut is said.

use std::fs::File;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use flate2::Compression;
use flate2::write::GzEncoder;
use gosleuth_testkit as kit;

/// Address space gosleuth may map (RLIMIT_AS).
const AS_LIMIT: u64 = 512 << 20;
/// Largest output file gosleuth may write (RLIMIT_FSIZE): a quadratic
/// blow-up dies with SIGXFSZ instead of filling the disk.
const OUTPUT_LIMIT: u64 = 64 << 20;

/// One capped run of gosleuth.
struct Run {
    code: Option<i32>,
    /// Bytes written to stdout.
    out_len: u64,
    /// The first 64 KiB of stdout.
    out: String,
    stderr: String,
    /// Peak resident memory (kB) of the gosleuth process itself.
    max_rss_kb: i64,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {:?}, {} bytes out, {} kB peak RSS\nstdout: {:.2000}\nstderr: {:.2000}",
            self.code, self.out_len, self.max_rss_kb, self.out, self.stderr
        )
    }
}

/// A directory for one test's inputs and outputs, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("gosleuth-hostile-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create scratch dir");
        Scratch(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// Writes `pattern` repeated to about `size` bytes after `prefix`.
    fn repeat(&self, name: &str, prefix: &str, pattern: &str, size: usize) -> PathBuf {
        let p = self.path(name);
        let mut f = std::io::BufWriter::new(File::create(&p).expect("create input"));
        f.write_all(prefix.as_bytes()).expect("write");
        for _ in 0..size / pattern.len() {
            f.write_all(pattern.as_bytes()).expect("write");
        }
        f.flush().expect("flush");
        p
    }

    /// A gzip file of `size` zero bytes (no line break at all).
    fn zeros_gz(&self, name: &str, size: usize) -> PathBuf {
        let p = self.path(name);
        let mut gz = GzEncoder::new(File::create(&p).expect("create"), Compression::fast());
        let block = vec![0u8; 1 << 20];
        for _ in 0..size >> 20 {
            gz.write_all(&block).expect("write");
        }
        gz.finish().expect("finish gzip");
        p
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What to give gosleuth on standard input.
enum Stdin {
    Null,
    /// This many zero bytes, written by a thread through a pipe.
    Zeros(usize),
    /// The bytes of a file.
    File(PathBuf),
}

/// Runs `gosleuth ARGS` under [`AS_LIMIT`] and [`OUTPUT_LIMIT`], with a
/// 120 s deadline, and collects its exit status, output and peak memory.
// The child is reaped with wait4 (for its rusage), not Child::wait.
#[allow(clippy::zombie_processes)]
fn run_capped(scratch: &Scratch, args: &[&str], stdin: Stdin) -> Run {
    let out_path = scratch.path("stdout");
    let err_path = scratch.path("stderr");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gosleuth"));
    cmd.args(args)
        .current_dir(kit::repo_root())
        .stdout(File::create(&out_path).expect("stdout file"))
        .stderr(File::create(&err_path).expect("stderr file"));
    match &stdin {
        Stdin::Null => {
            cmd.stdin(Stdio::null());
        }
        Stdin::Zeros(_) => {
            cmd.stdin(Stdio::piped());
        }
        Stdin::File(p) => {
            cmd.stdin(File::open(p).expect("stdin file"));
        }
    }
    // SAFETY: setrlimit is async-signal-safe and touches no memory of the
    // parent; the closure allocates nothing.
    unsafe {
        cmd.pre_exec(|| {
            let limit = |resource, bytes: u64| {
                let l = libc::rlimit {
                    rlim_cur: bytes,
                    rlim_max: bytes,
                };
                if libc::setrlimit(resource, &l) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            };
            limit(libc::RLIMIT_AS, AS_LIMIT)?;
            limit(libc::RLIMIT_FSIZE, OUTPUT_LIMIT)?;
            // Traced, so that it stops at exec and (options set below) at
            // its exit, where its own peak memory is read.
            if libc::ptrace(libc::PTRACE_TRACEME, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().expect("spawn gosleuth");
    let pid = child.id() as libc::pid_t;
    // The exec stop: from here on, stop at exit too (and die with us).
    let mut status = 0;
    // SAFETY: pid is our traced child; status is valid for writes; the
    // options and the restart touch no memory of ours.
    unsafe {
        assert_eq!(libc::waitpid(pid, &mut status, 0), pid, "exec stop");
        let opts = libc::PTRACE_O_TRACEEXIT | libc::PTRACE_O_EXITKILL;
        libc::ptrace(libc::PTRACE_SETOPTIONS, pid, 0, opts);
        libc::ptrace(libc::PTRACE_CONT, pid, 0, 0);
    }
    let writer = match stdin {
        Stdin::Zeros(n) => {
            let mut pipe = child.stdin.take().expect("piped stdin");
            Some(std::thread::spawn(move || {
                let block = vec![0u8; 1 << 20];
                let mut left = n;
                while left > 0 {
                    let k = left.min(block.len());
                    // gosleuth may stop reading early (it exits): fine.
                    if pipe.write_all(&block[..k]).is_err() {
                        break;
                    }
                    left -= k;
                }
            }))
        }
        _ => None,
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    // SAFETY: plain-old-data struct filled in by wait4.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // The child's own peak (VmHWM of the image it execs), read at its exit
    // stop: wait4's ru_maxrss would also count this test process's memory,
    // which a forked child holds until it execs.
    let mut peak_kb = None;
    loop {
        // SAFETY: pid is our child; status and usage are valid for writes.
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if r == pid && libc::WIFSTOPPED(status) {
            let exit_stop = status >> 8 == libc::SIGTRAP | (libc::PTRACE_EVENT_EXIT << 8);
            let signal = if exit_stop {
                peak_kb = vm_hwm_kb(pid).or(peak_kb);
                0
            } else {
                libc::WSTOPSIG(status)
            };
            // SAFETY: a stopped traced child, restarted with the signal
            // that stopped it (none for the exit stop).
            unsafe { libc::ptrace(libc::PTRACE_CONT, pid, 0, signal) };
            continue;
        }
        if r == pid {
            break;
        }
        assert!(
            r == 0,
            "wait4 on gosleuth failed: {}",
            std::io::Error::last_os_error()
        );
        if Instant::now() > deadline {
            // SAFETY: pid is our child, not yet reaped.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::wait4(pid, &mut status, 0, &mut usage);
            }
            panic!("gosleuth {args:?} took more than 120 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    if let Some(w) = writer {
        let _ = w.join();
    }
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    let out_len = std::fs::metadata(&out_path).map_or(0, |m| m.len());
    let mut out = Vec::new();
    {
        use std::io::Read;
        let _ = File::open(&out_path)
            .expect("stdout file")
            .take(64 << 10)
            .read_to_end(&mut out);
    }
    Run {
        code,
        out_len,
        out: String::from_utf8_lossy(&out).into_owned(),
        stderr: std::fs::read_to_string(&err_path).unwrap_or_default(),
        max_rss_kb: peak_kb.unwrap_or(usage.ru_maxrss),
    }
}

/// The peak resident memory of a live process (kB), from `VmHWM`.
fn vm_hwm_kb(pid: libc::pid_t) -> Option<i64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn size(p: &Path) -> u64 {
    std::fs::metadata(p).map_or(0, |m| m.len())
}

/// `yes 'panic: x' | head -n 16000` gave 256 MB of output (each panic of
/// the "chain" indented one step deeper), 1 MB of it 13.5 GB. The chain is
/// now cut at 16 panics with a note, and the indentation stops growing.
#[test]
fn repeated_panic_lines_give_linear_output() {
    let s = Scratch::new("panics");
    for (name, lines) in [("p16k.txt", 16_000), ("p1m.txt", 1_000_000 / 9)] {
        let input = s.repeat(name, "", "panic: x\n", lines * 9);
        let path = input.to_str().expect("utf-8 path");
        let r = run_capped(&s, &["triage", path], Stdin::Null);
        assert_eq!(r.code, Some(0), "{r:?}");
        assert!(r.out_len < 4096, "{name}: output not bounded: {r:?}");
        assert!(
            r.out.contains(&format!(
                "{} more panics of this chain are not shown (the first 15 and the last are)",
                lines - 16
            )),
            "{r:?}"
        );
        let r = run_capped(&s, &["triage", "--format", "json", path], Stdin::Null);
        assert_eq!(r.code, Some(0), "{r:?}");
        assert!(r.out_len < 16 << 10, "{name}: JSON not bounded: {r:?}");
        let r = run_capped(&s, &["diagnose", path], Stdin::Null);
        assert_eq!(r.code, Some(1), "a panic is critical: {r:?}");
        assert!(r.out_len < 8192, "{name}: {r:?}");
        assert!(r.max_rss_kb < 64 << 10, "{name}: {r:?}");
    }
}

/// Other shapes repeated over 1 MB: goroutine headers, `created by` lines,
/// `[recovered]` chains, alternating `fatal error:` lines, race report
/// headers, whole tiny incidents. Output stays within a small multiple of
/// the input and memory within the caps (incidents past 1,000, goroutines
/// past 128 MiB are cut, with a warning).
#[test]
fn other_repeated_shapes_stay_linear() {
    let s = Scratch::new("shapes");
    let shapes: &[(&str, &str)] = &[
        ("headers", "goroutine 1 [running]:\n"),
        ("created", "created by main.main in goroutine 1\n"),
        ("recovered", "\tpanic: x [recovered]\n"),
        ("fatal", "fatal error: a\nfatal error: b\n"),
        ("race", "==================\nWARNING: DATA RACE\n"),
        ("ancestors", "[originating from goroutine 2]:\n"),
        (
            "incidents",
            "panic: x\ngoroutine 1 [running]:\nmain.main()\n\t/a.go:1 +0x1\n",
        ),
        ("frames", "main.f(0x1)\n\t/a.go:1 +0x1\n"),
        // go test output: test starts, failures with output, races blamed
        // on a running test, build errors, package results.
        ("test_runs", "=== RUN   TestX\n    x_test.go:1: log\n"),
        (
            "test_fails",
            "--- FAIL: TestX (0.00s)\n    x_test.go:1: bad\n",
        ),
        (
            "test_races",
            "=== RUN   TestX\n==================\nWARNING: DATA RACE\n==================\n    testing.go:1: race detected during execution of test\n",
        ),
        ("build_errors", "# p\np.go:1:1: bad\n\tmore\n"),
        ("packages", "FAIL\tp\t0.1s\nok  \tq\t0.2s\n"),
        (
            "test2json",
            "{\"Action\":\"run\",\"Package\":\"p\",\"Test\":\"T\"}\n{\"Action\":\"output\",\"Package\":\"p\",\"Test\":\"T\",\"Output\":\"x\"}\n",
        ),
    ];
    const SIZE: usize = 1 << 20;
    for (name, pattern) in shapes {
        let input = s.repeat(
            &format!("{name}.txt"),
            "panic: start\n\ngoroutine 1 [running]:\n",
            pattern,
            SIZE,
        );
        let path = input.to_str().expect("utf-8 path");
        let n = size(&input);
        // --all-goroutines prints every goroutine (a few hundred bytes of
        // JSON for a one-line goroutine): linear, with a larger factor.
        for (args, factor) in [
            (vec!["triage", path], 0.5),
            (vec!["triage", "--format", "json", path], 0.5),
            (vec!["diagnose", path], 0.5),
            (
                vec!["triage", "--all-goroutines", "--format", "json", path],
                24.0,
            ),
        ] {
            let r = run_capped(&s, &args, Stdin::Null);
            assert!(matches!(r.code, Some(0..=1)), "{name} {args:?}: {r:?}");
            assert!(
                r.out_len as f64 <= n as f64 * factor + f64::from(4 << 20),
                "{name} {args:?}: {} bytes out of {n} in: {r:?}",
                r.out_len
            );
            assert!(r.max_rss_kb < 384 << 10, "{name} {args:?}: {r:?}");
        }
        // The same through a pipe: a stream, where diagnose keeps every
        // goroutine until the budget.
        let r = run_capped(&s, &["diagnose"], Stdin::File(input.clone()));
        assert!(matches!(r.code, Some(0..=1)), "{name} stdin: {r:?}");
        assert!(r.max_rss_kb < 384 << 10, "{name} stdin: {r:?}");
    }
    let r = run_capped(
        &s,
        &["triage", s.path("fatal.txt").to_str().expect("utf-8")],
        Stdin::Null,
    );
    assert!(
        r.out.contains(
            "incidents not shown: past 1000, only the first 500 and the last 500 are kept"
        ),
        "{r:?}"
    );
}

/// `head -c 2G /dev/zero | gzip -1` took 2.1 GB resident in triage and
/// diagnose (one line, read whole). Lines are now read up to 1 MiB, as in
/// `logs`; here 128 MB of zeros, gzipped and through a pipe.
#[test]
fn a_stream_without_line_breaks_takes_bounded_memory() {
    let s = Scratch::new("zeros");
    const ZEROS: usize = 128 << 20;
    let gz = s.zeros_gz("zeros.gz", ZEROS);
    let gz = gz.to_str().expect("utf-8 path");
    for (args, stdin) in [
        (vec!["triage", gz], Stdin::Null),
        (vec!["triage"], Stdin::Zeros(ZEROS)),
        (vec!["diagnose", gz], Stdin::Null),
        (vec!["diagnose", "-"], Stdin::Zeros(ZEROS)),
        (vec!["logs", gz], Stdin::Null),
    ] {
        let r = run_capped(&s, &args, stdin);
        assert!(
            r.max_rss_kb < 48 << 10,
            "{args:?}: more than 48 MB resident for a 128 MB line: {r:?}"
        );
        assert!(r.out_len < 16 << 10, "{args:?}: {r:?}");
        match args[0] {
            "triage" => {
                assert_eq!(r.code, Some(0), "{args:?}: {r:?}");
                assert!(
                    r.out.contains(
                        "no panic, fatal error, goroutine dump, race report or go test result in 1 lines"
                    ) && r
                        .out
                        .contains("line 1: longer than 1 MiB; read up to that length"),
                    "{args:?}: {r:?}"
                );
            }
            "diagnose" => {
                assert_eq!(r.code, Some(2), "{args:?}: {r:?}");
                assert!(r.stderr.contains("no goroutine dump"), "{args:?}: {r:?}");
            }
            _ => assert_eq!(r.code, Some(0), "{args:?}: {r:?}"),
        }
    }
}

/// A gzip file cut short: triage and diagnose exited 2 with nothing shown
/// where `logs` found the panic. They now show what was read, then warn.
#[test]
fn a_truncated_gzip_shows_what_was_read() {
    let s = Scratch::new("truncated");
    // The bundled service log (its panic is at line 1514 of 3,000), then
    // filler so the cut falls well after the panic.
    let mut text = kit::read(&kit::repo_root().join("examples/service.log"));
    for i in 0..100_000 {
        text.extend_from_slice(format!("2026/11/21 10:33:21 INFO after {i}\n").as_bytes());
    }
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    gz.write_all(&text).expect("gzip");
    let gz = gz.finish().expect("gzip");
    let cut = s.path("service.log.gz");
    std::fs::write(&cut, &gz[..gz.len() / 2]).expect("write");
    let path = cut.to_str().expect("utf-8 path");

    let r = run_capped(&s, &["triage", path], Stdin::Null);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(
        r.out.contains("panic at line 1514") && r.out.contains("root cause: main.Handler"),
        "{r:?}"
    );
    assert!(
        r.stderr.contains("warning: reading gzip file")
            && r.stderr.contains("truncated or corrupt?")
            && r.stderr.contains("the results are from the"),
        "{r:?}"
    );
    let r = run_capped(&s, &["triage", "--exit-code", path], Stdin::Null);
    assert_eq!(r.code, Some(1), "the panic that was read counts: {r:?}");

    let r = run_capped(&s, &["triage", "--format", "json", path], Stdin::Null);
    assert_eq!(r.code, Some(0), "{r:?}");
    let doc: serde_json::Value = serde_json::from_str(&r.out).expect("JSON");
    assert_eq!(doc["incidents"][0]["line"], 1514, "{r:?}");
    assert!(
        doc["warnings"]
            .as_array()
            .is_some_and(|w| w.iter().any(|w| w
                .as_str()
                .is_some_and(|w| w.starts_with("input broken off after line ")))),
        "{r:?}"
    );

    let r = run_capped(&s, &["diagnose", path], Stdin::Null);
    assert_eq!(r.code, Some(1), "the panic is a critical finding: {r:?}");
    assert!(r.out.contains("main.Handler"), "{r:?}");
    assert!(
        r.stderr.contains("input broken off after line")
            && r.stderr.contains("truncated or corrupt?"),
        "{r:?}"
    );

    // The same through standard input (gzip recognised by its magic).
    let r = run_capped(&s, &["triage"], Stdin::File(cut.clone()));
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(r.out.contains("root cause: main.Handler"), "{r:?}");
    assert!(r.stderr.contains("truncated or corrupt?"), "{r:?}");
}

/// Random bytes from a small xorshift generator (deterministic, no crate).
fn random_file(s: &Scratch, name: &str, size: usize, seed: u64) -> PathBuf {
    let p = s.path(name);
    let mut f = std::io::BufWriter::new(File::create(&p).expect("create input"));
    let mut x = seed | 1;
    let mut block = vec![0u8; 1 << 16];
    for _ in 0..size / block.len() {
        for b in block.chunks_exact_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            b.copy_from_slice(&x.to_le_bytes());
        }
        f.write_all(&block).expect("write");
    }
    f.flush().expect("flush");
    p
}

/// Every command that reads a file, on every hostile shape of issue 14
/// (random bytes, repeated panic lines, a gzip of zeros, a truncated gzip,
/// a free-text log), under the address-space and output caps: each exits
/// with 0, 1 or 2, writes output linear in its input and stays within the
/// memory cap. What each says is checked by the tests above and by each
/// command's own tests; this one is the sweep over all of them.
#[test]
fn every_command_stays_bounded_on_hostile_input() {
    let s = Scratch::new("every");
    let random = random_file(&s, "random.bin", 8 << 20, 0x9e37_79b9_7f4a_7c15);
    let panics = s.repeat("panics.txt", "", "panic: x\n", 2 << 20);
    let zeros = s.zeros_gz("zeros.gz", 64 << 20);
    let mut free_text = String::new();
    let words = [
        "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf",
    ];
    for i in 0..40_000usize {
        let (a, b, c) = (words[i % 7], words[(i / 7) % 7], words[(i / 49) % 7]);
        free_text.push_str(&format!(
            "2026-11-21T10:33:{:02}Z INFO slow query id={i} query=\"select {a} {b} from {c} where {b}{i}\"\n",
            i % 60
        ));
    }
    let free = s.path("free.log");
    std::fs::write(&free, free_text).expect("write free-text log");
    let truncated = {
        let whole = s.path("whole.gz");
        let mut gz = GzEncoder::new(File::create(&whole).expect("create"), Compression::fast());
        gz.write_all(&std::fs::read(&panics).expect("read panics"))
            .expect("write");
        gz.finish().expect("finish");
        let bytes = std::fs::read(&whole).expect("read gzip");
        let cut = s.path("truncated.gz");
        std::fs::write(&cut, &bytes[..bytes.len() / 2]).expect("write truncated");
        cut
    };
    for input in [&random, &panics, &zeros, &truncated, &free] {
        let path = input.to_str().expect("utf-8 path");
        let n = size(input);
        let commands: [&[&str]; 17] = [
            &["triage", path],
            &["triage", "--format", "junit", path],
            &["triage", "--format", "github", path],
            &["trace", path],
            &["trace", "--pprof", "sync", path],
            &["trace", "--export", "chrome", path],
            &["report", path],
            &["escape", "--input", path],
            &["deps", "--input", path, "--format", "text"],
            &["logs", path],
            &["diagnose", path],
            &["pprof", "-top", path],
            &["bin", "info", path],
            &["bin", "funcs", path],
            &["bin", "size", path],
            &["core", path, path],
            &["triage", "--format", "json", path],
        ];
        for args in commands {
            let r = run_capped(&s, args, Stdin::Null);
            assert!(
                matches!(r.code, Some(0..=2)),
                "{args:?} on {n} bytes: {r:?}"
            );
            assert!(
                r.out_len <= 2 * n + (1 << 20),
                "{args:?}: {} bytes out of {n} in: {r:?}",
                r.out_len
            );
            assert!(r.max_rss_kb < 384 << 10, "{args:?}: {r:?}");
            if r.code == Some(2) {
                assert!(
                    r.stderr.starts_with("gosleuth: ") && !r.stderr.contains("panicked"),
                    "{args:?}: an error must be a message, not a panic: {r:?}"
                );
            }
        }
    }
}
