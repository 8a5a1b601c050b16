//! Running the factory's Go programs in tests.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// A running Go program, killed (SIGKILL by pid) and reaped on drop.
pub struct Running {
    pub child: Child,
    pub pid: i32,
}

impl Running {
    /// Starts `bin args` and waits (up to 60 s) for a stdout line `ready`.
    pub fn start(bin: &Path, args: &[&str]) -> Running {
        Running::start_with_stderr(bin, args, None)
    }

    /// Like [`Running::start`], with the program's stderr written to
    /// `stderr` (where a SIGQUIT dump goes).
    pub fn start_with_stderr(bin: &Path, args: &[&str], stderr: Option<&Path>) -> Running {
        Running::start_until(bin, args, stderr, |l| l.trim() == "ready").0
    }

    /// Starts `bin args` and waits (up to 60 s) for a stdout line that
    /// `ready` accepts (a server printing its address); returns that line.
    pub fn start_until(
        bin: &Path,
        args: &[&str],
        stderr: Option<&Path>,
        ready: impl Fn(&str) -> bool + Send + 'static,
    ) -> (Running, String) {
        let err = match stderr {
            Some(p) => Stdio::from(
                std::fs::File::create(p)
                    .unwrap_or_else(|e| panic!("cannot create {}: {e}", p.display())),
            ),
            None => Stdio::null(),
        };
        let mut child = Command::new(bin)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let pid = child.id() as i32;
        let stdout = child.stdout.take().expect("piped stdout");
        let running = Running { child, pid };
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if ready(&line) {
                    let _ = tx.send(line);
                }
            }
        });
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("{} did not get ready in 60 s", bin.display()));
        (running, line)
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

impl Running {
    /// Sends SIGQUIT (the Go runtime prints every goroutine and exits) and
    /// waits for the process to end.
    pub fn quit(&mut self) {
        // Our own child, not reaped yet.
        let _ = kill(Pid::from_raw(self.pid), Signal::SIGQUIT);
        let _ = self.child.wait();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // By the pid of our own child, which we have not reaped yet (it may
        // have exited: the error is ignored).
        let _ = kill(Pid::from_raw(self.pid), Signal::SIGKILL);
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
