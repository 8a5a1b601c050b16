//! Live processes: the factory's `parked` program with many goroutines,
//! frozen and read, then always resumed.

use std::time::Duration;

use gosleuth_memory::{Error, LiveProcess, Memory, Mode};
use gosleuth_testkit as kit;
use nix::sys::signal::{SigHandler, Signal, kill, raise, signal};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{ForkResult, Gid, Pid, Uid, fork, geteuid, setgid, setuid};

use crate::support::{self, Running};

fn go_version_of(go: &str) -> String {
    let out = std::process::Command::new(support::bin(go, "parked"))
        .arg("-h")
        .output()
        .expect("run");
    drop(out);
    let dir = kit::factory("build", go, &["--binary", "parked"]);
    dir.file_name()
        .and_then(|n| n.to_str())
        .expect("dir is the Go version")
        .to_string()
}

/// Freeze, read a symbol, check the threads, resume: on several Go releases.
#[test]
fn freeze_read_resume() {
    for go in kit::go_versions().iter().take(3) {
        let bin = support::bin(go, "parked");
        let p = Running::start(&bin, &["-n", "1000"]);
        let addr = support::symbol(&bin, "runtime.buildVersion");
        {
            let live = LiveProcess::attach(p.pid, Mode::freeze()).unwrap_or_else(|e| panic!("{e}"));
            let took = live.freeze_duration().expect("frozen");
            assert!(took < Duration::from_millis(100), "{took:?}");
            // Every thread is in a tracing stop while frozen.
            let states = p.thread_states();
            assert!(states.iter().all(|c| *c == 't'), "{states:?}");
            let v = live.read_go_string(addr, 64).expect("buildVersion");
            assert_eq!(String::from_utf8_lossy(&v), go_version_of(go));
            let threads = live.threads().expect("registers");
            assert_eq!(
                threads.iter().map(|t| t.tid).collect::<Vec<_>>(),
                support::tasks(p.pid)
            );
            let text = live
                .regions()
                .into_iter()
                .find(|r| r.perms.exec)
                .expect("text");
            for t in &threads {
                assert!(t.regs.sp() != 0, "{t:?}");
                assert!(t.regs.pc() != 0, "{t:?}");
                // Go threads sit in the binary's text (static binary).
                assert!(text.start <= t.regs.pc() && t.regs.pc() < text.end, "{t:?}");
            }
            // Batched reads agree with single reads.
            let allgs = support::symbol(&bin, "runtime.allgs");
            let mut a = [0u8; 24];
            let mut b = [0u8; 16];
            let mut reqs: Vec<(u64, &mut [u8])> = vec![(allgs, &mut a[..]), (addr, &mut b[..])];
            let res = live.read_many(&mut reqs);
            assert!(res.iter().all(|r| r.is_ok()));
            assert_eq!(live.read_vec(allgs, 24).expect("allgs"), a.to_vec());
            // allgs holds > 1000 goroutines.
            assert!(u64::from_le_bytes(a[8..16].try_into().expect("8")) > 1000);
        }
        p.assert_running();
    }
}

/// The process is resumed when the work on it fails.
#[test]
fn resumed_when_the_reader_fails() {
    let bin = support::bin("installed", "parked");
    let p = Running::start(&bin, &["-n", "100"]);
    let work = || -> Result<u64, Error> {
        let live = LiveProcess::attach(p.pid, Mode::freeze())?;
        live.read_u64(support::symbol(&bin, "runtime.buildVersion"))?;
        live.read_u64(16) // unmapped: fails, `live` is dropped on the way out
    };
    let e = work().expect_err("page zero is unmapped");
    assert!(matches!(e, Error::Unmapped { addr: 16, .. }), "{e}");
    p.assert_running();
    // A panic while frozen also resumes (unwinding drops the guard).
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _live = LiveProcess::attach(p.pid, Mode::freeze()).expect("attach");
        panic!("reader bug");
    }));
    assert!(r.is_err());
    p.assert_running();
    // Freezing again works (nothing was left attached).
    let live = LiveProcess::attach(p.pid, Mode::freeze()).expect("attach again");
    drop(live);
    p.assert_running();
}

/// Without stopping: reads work and the process never stops.
#[test]
fn no_stop_reads() {
    let bin = support::bin("installed", "parked");
    let p = Running::start(&bin, &["-n", "100"]);
    let live = LiveProcess::attach(p.pid, Mode::NoStop).expect("attach");
    let v = live
        .read_go_string(support::symbol(&bin, "runtime.buildVersion"), 64)
        .expect("read");
    assert!(String::from_utf8_lossy(&v).starts_with("go1."));
    assert!(!p.thread_states().contains(&'t'));
    assert!(live.threads().is_err(), "registers need a freeze");
    assert_eq!(live.tids().expect("tids"), support::tasks(p.pid));
    let e = live.read_u64(0x10).expect_err("unmapped");
    assert!(matches!(e, Error::Unmapped { .. }), "{e}");
}

#[test]
fn missing_and_exited_processes() {
    for pid in [0, -1, 999_999_999] {
        let e = LiveProcess::attach(pid, Mode::freeze()).expect_err("no such process");
        assert!(matches!(e, Error::NoSuchProcess { .. }), "{pid}: {e}");
        assert!(e.to_string().contains("does not exist"), "{e}");
    }
    let bin = support::bin("installed", "parked");
    let mut p = Running::start(&bin, &["-n", "10"]);
    let pid = p.pid;
    let live = LiveProcess::attach(pid, Mode::NoStop).expect("attach");
    let addr = support::symbol(&bin, "runtime.buildVersion");
    live.read_u64(addr).expect("alive");
    // It exits mid-read.
    kill(Pid::from_raw(pid), Signal::SIGKILL).expect("SIGKILL to our child");
    let _ = p.child.wait();
    let e = live.read_u64(addr).expect_err("gone");
    assert!(matches!(e, Error::NoSuchProcess { .. }), "{e}");
    let e = LiveProcess::attach(pid, Mode::freeze()).expect_err("gone");
    assert!(matches!(e, Error::NoSuchProcess { .. }), "{e}");
}

/// A budget too small to stop anything: the error says so and the process runs on.
#[test]
fn freeze_budget_exceeded_resumes() {
    let bin = support::bin("installed", "parked");
    let p = Running::start(&bin, &["-n", "100"]);
    match LiveProcess::attach(
        p.pid,
        Mode::Freeze {
            budget: Duration::ZERO,
        },
    ) {
        Err(e @ Error::FreezeTimeout { .. }) => assert!(e.to_string().contains("resumed"), "{e}"),
        Err(e) => panic!("unexpected {e}"),
        Ok(_) => {} // all threads stopped at once: fine, dropped here
    }
    p.assert_running();
}

/// Runs `f` in a forked child and returns its pid.
/// The child only calls `f` and `_exit`s: no destructors, no test harness.
fn in_child(f: impl FnOnce() -> i32) -> Pid {
    // SAFETY: fork; the child runs `f` (plain Rust, glibc's malloc is
    // fork-safe) and leaves with `_exit` so nothing of the parent's state
    // is torn down twice.
    match unsafe { fork() }.expect("fork") {
        ForkResult::Parent { child } => child,
        ForkResult::Child => {
            let code = f();
            // SAFETY: leaving the child without running the parent's
            // destructors (nix has no `_exit`).
            unsafe { libc::_exit(code) }
        }
    }
}

/// Waits for `child` and checks that it exited with status 0.
fn assert_exited_ok(child: Pid) {
    let status = waitpid(child, None).expect("waitpid");
    assert!(
        matches!(status, WaitStatus::Exited(_, 0)),
        "child status {status:?}"
    );
}

extern "C" fn ignore_signal(_: std::ffi::c_int) {}

/// SIGTERM while frozen: the handler detaches before re-raising. The child
/// handles SIGTERM with a no-op, so it lives on after the re-raise: only our
/// handler can have resumed the target (not the kernel's detach at the
/// tracer's exit), and later reads report that the snapshot is gone.
#[test]
fn sigterm_while_frozen_detaches() {
    let bin = support::bin("installed", "parked");
    let addr = support::symbol(&bin, "runtime.buildVersion");
    let p = Running::start(&bin, &["-n", "100"]);
    let pid = p.pid;
    let child = in_child(move || {
        // SAFETY: setting a disposition in the single-threaded child.
        if unsafe { signal(Signal::SIGTERM, SigHandler::Handler(ignore_signal)) }.is_err() {
            return 8;
        }
        match LiveProcess::attach(pid, Mode::freeze()) {
            Ok(live) => {
                if live.read_u64(addr).is_err() {
                    return 5;
                }
                if raise(Signal::SIGTERM).is_err() {
                    return 9;
                }
                let thawed = matches!(live.read_u64(addr), Err(Error::Thawed { .. }));
                std::mem::forget(live); // no Drop: the handler must have resumed it
                std::thread::sleep(Duration::from_secs(4));
                if thawed { 0 } else { 6 }
            }
            Err(_) => 3,
        }
    });
    std::thread::sleep(Duration::from_millis(300));
    p.assert_running();
    assert_eq!(
        waitpid(child, Some(WaitPidFlag::WNOHANG)),
        Ok(WaitStatus::StillAlive),
        "the tracer is still alive while the target runs"
    );
    assert_exited_ok(child);
}

/// A background job (SIGINT ignored) keeps ignoring it: no handler is
/// installed, so the signal neither kills the reader nor thaws the target.
#[test]
fn ignored_sigint_is_left_alone() {
    let bin = support::bin("installed", "parked");
    let addr = support::symbol(&bin, "runtime.buildVersion");
    let p = Running::start(&bin, &["-n", "100"]);
    let pid = p.pid;
    let child = in_child(move || {
        // SAFETY: setting a disposition in the single-threaded child.
        if unsafe { signal(Signal::SIGINT, SigHandler::SigIgn) }.is_err() {
            return 8;
        }
        let Ok(live) = LiveProcess::attach(pid, Mode::freeze()) else {
            return 3;
        };
        if raise(Signal::SIGINT).is_err() {
            return 9;
        }
        if live.read_u64(addr).is_err() {
            return 7;
        }
        drop(live);
        0
    });
    assert_exited_ok(child);
    p.assert_running();
}

/// Another user may not trace or read the process: a clear error.
#[test]
fn permission_denied() {
    let bin = support::bin("installed", "parked");
    let p = Running::start(&bin, &["-n", "10"]);
    let pid = p.pid;
    if !geteuid().is_root() {
        let e = LiveProcess::attach(1, Mode::freeze()).expect_err("init is not ours");
        assert!(matches!(e, Error::Permission { .. }), "{e}");
        return;
    }
    let child = in_child(move || {
        // Dropping privileges in the single-threaded child.
        if setgid(Gid::from_raw(65534)).is_err() || setuid(Uid::from_raw(65534)).is_err() {
            return 4;
        }
        let frozen = LiveProcess::attach(pid, Mode::freeze());
        let nostop = LiveProcess::attach(pid, Mode::NoStop);
        match (frozen, nostop) {
            (Err(a @ Error::Permission { .. }), Err(b @ Error::Permission { .. }))
                if a.to_string().contains("ptrace_scope")
                    && b.to_string().contains("not permitted") =>
            {
                0
            }
            _ => 5,
        }
    });
    assert_exited_ok(child);
    p.assert_running();
}
