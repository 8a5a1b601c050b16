//! Test support: factory evidence, symbols, gdb, and running Go programs
//! that are always killed.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gosleuth_testkit as kit;
use object::{Object, ObjectSymbol};

/// Cores for `go` (crash + lockorder cases, cached by the factory).
pub fn cores(go: &str) -> PathBuf {
    kit::factory("cores", go, &["--case", "crash", "--case", "lockorder"]).join("core")
}

/// Binaries for `go`.
pub fn bin(go: &str, program: &str) -> PathBuf {
    kit::factory("build", go, &["--program", program])
        .join("bin")
        .join(program)
}

/// The JSON sidecar of a core.
pub fn sidecar(core: &Path) -> serde_json::Value {
    let json = core.with_extension("json");
    serde_json::from_slice(&kit::read(&json)).expect("sidecar is JSON")
}

/// Address of a symbol in a binary.
pub fn symbol(bin: &Path, name: &str) -> u64 {
    let data = kit::read(bin);
    let f = object::File::parse(&*data).expect("binary parses");
    f.symbols()
        .find(|s| s.name() == Ok(name))
        .unwrap_or_else(|| panic!("{name} not in {}", bin.display()))
        .address()
}

/// Go's version as the factory names it, from a sidecar.
pub fn go_version(core: &Path) -> String {
    sidecar(core)["goversion"]
        .as_str()
        .expect("goversion")
        .to_string()
}

/// A thread as gdb shows it: LWP, rip, rsp.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Clone, Copy)]
pub struct GdbThread {
    pub lwp: i32,
    pub rip: u64,
    pub rsp: u64,
}

/// `gdb -batch -ex 'info threads' -ex 'thread apply all info registers rip rsp' BIN CORE`.
pub fn gdb_threads(bin: &Path, core: &Path) -> Vec<GdbThread> {
    let out = Command::new("gdb")
        .args([
            "-nx",
            "-batch",
            "-ex",
            "info threads",
            "-ex",
            "thread apply all info registers rip rsp",
        ])
        .arg(bin)
        .arg(core)
        .output()
        .expect("gdb runs (apt-get install gdb)");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut v = Vec::new();
    let mut cur: Option<GdbThread> = None;
    for line in text.lines() {
        if line.starts_with("Thread ") {
            if let Some(t) = cur.take() {
                v.push(t);
            }
            let lwp = line
                .split("LWP ")
                .nth(1)
                .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("no LWP in {line:?}"));
            cur = Some(GdbThread {
                lwp,
                rip: 0,
                rsp: 0,
            });
        } else if let Some(t) = cur.as_mut() {
            let mut f = line.split_whitespace();
            let (name, val) = (f.next(), f.next());
            let val = val.and_then(|v| u64::from_str_radix(v.trim_start_matches("0x"), 16).ok());
            match (name, val) {
                (Some("rip"), Some(x)) => t.rip = x,
                (Some("rsp"), Some(x)) => t.rsp = x,
                _ => {}
            }
        }
    }
    v.extend(cur);
    v.sort();
    v
}

/// A running Go program, killed (SIGKILL by pid) and reaped on drop.
pub struct Running {
    pub child: Child,
    pub pid: i32,
}

impl Running {
    /// Starts `bin args` and waits (up to 60 s) for a stdout line `ready`.
    pub fn start(bin: &Path, args: &[&str]) -> Running {
        let mut child = Command::new(bin)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let pid = child.id() as i32;
        let stdout = child.stdout.take().expect("piped stdout");
        let running = Running { child, pid };
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if line.trim() == "ready" {
                    let _ = tx.send(());
                }
            }
        });
        rx.recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("{} did not print ready in 60 s", bin.display()));
        running
    }

    /// States (`/proc/PID/task/*/stat` field 3) of all threads.
    pub fn thread_states(&self) -> Vec<char> {
        let mut v = Vec::new();
        for tid in tasks(self.pid) {
            if let Ok(s) = std::fs::read_to_string(format!("/proc/{}/task/{tid}/stat", self.pid))
                && let Some((_, rest)) = s.rsplit_once(')')
                && let Some(c) = rest.trim_start().chars().next()
            {
                v.push(c);
            }
        }
        v
    }

    /// Waits up to 2 s for no thread to be in a tracing stop; returns the states.
    pub fn assert_running(&self) {
        let until = Instant::now() + Duration::from_secs(2);
        loop {
            let st = self.thread_states();
            if !st.iter().any(|c| *c == 't' || *c == 'T') {
                return;
            }
            assert!(
                Instant::now() < until,
                "process {} left stopped: {st:?}",
                self.pid
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // SAFETY: kill by the pid of our own child, which we have not reaped yet.
        unsafe { libc::kill(self.pid, libc::SIGKILL) };
        let _ = self.child.wait();
    }
}

/// Thread ids in `/proc/PID/task`, sorted.
pub fn tasks(pid: i32) -> Vec<i32> {
    let mut v: Vec<i32> = std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|rd| {
            rd.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    v.sort_unstable();
    v
}

/// A temporary directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("gosleuth-memory-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("create temp dir");
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
