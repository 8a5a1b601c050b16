//! Stopping every thread of a process with `PTRACE_SEIZE` +
//! `PTRACE_INTERRUPT`, bounded in time, and always resuming it.
//!
//! ptrace belongs to the *thread* that attached: every request (and the
//! detach) must come from it, so [`Frozen`] is neither `Send` nor `Sync`.
//! If this process dies (a signal, a panic that aborts), the kernel detaches
//! the tracees and they resume; a SIGINT/SIGTERM handler additionally
//! detaches explicitly before re-raising.

use std::collections::HashMap;
use std::io;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::{Arch, Error, Registers, Result};

/// The state of one seized thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Running,
    /// Stopped; the signal to re-inject on detach (0 if none).
    Stopped(i32),
    Gone,
}

/// A process whose threads are all stopped under ptrace.
pub(crate) struct Frozen {
    pid: i32,
    threads: HashMap<i32, State>,
    /// Registers of every stopped thread, read right after the freeze (on
    /// the tracer thread), so that reading them later needs no ptrace.
    regs: Vec<(i32, Registers)>,
    /// [`SIGNALS`] when frozen.
    signals: u64,
    pub took: Duration,
    /// Not `Send` (ptrace requests, the detach included, must come from the
    /// thread that attached) but `Sync` (shared reads use no ptrace).
    _not_send: PhantomData<std::sync::MutexGuard<'static, ()>>,
}

fn errno() -> io::Error {
    io::Error::last_os_error()
}

fn gettid() -> i32 {
    // SAFETY: gettid has no arguments and cannot fail.
    unsafe { libc::gettid() }
}

/// `ptrace(req, tid, addr, data)`.
fn ptrace(req: libc::c_uint, tid: i32, addr: usize, data: usize) -> io::Result<libc::c_long> {
    // SAFETY: the requests used here (SEIZE, INTERRUPT, DETACH, GETREGSET)
    // only read or write memory we pass in (`data` points to a live iovec
    // for GETREGSET); they never write into the tracee.
    let r = unsafe {
        libc::ptrace(
            req,
            tid,
            addr as *mut libc::c_void,
            data as *mut libc::c_void,
        )
    };
    if r == -1 { Err(errno()) } else { Ok(r) }
}

pub(crate) fn list_tasks(pid: i32) -> Result<Vec<i32>> {
    let dir = format!("/proc/{pid}/task");
    let rd = std::fs::read_dir(&dir).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => Error::NoSuchProcess { pid },
        io::ErrorKind::PermissionDenied => Error::Permission {
            pid,
            what: "list the threads of",
            source: e,
        },
        _ => Error::io(dir.clone(), e),
    })?;
    let mut v: Vec<i32> = rd
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    v.sort_unstable();
    Ok(v)
}

impl Frozen {
    /// Stops every thread of `pid` within `budget`; on failure everything
    /// seized so far is resumed before returning the error.
    pub fn freeze(pid: i32, budget: Duration, arch: Arch) -> Result<Frozen> {
        install_signal_handlers();
        let start = Instant::now();
        let deadline = start + budget;
        let mut f = Frozen {
            pid,
            threads: HashMap::new(),
            regs: Vec::new(),
            signals: SIGNALS.load(Ordering::Acquire),
            took: Duration::ZERO,
            _not_send: PhantomData,
        };
        loop {
            let tasks = list_tasks(pid)?;
            let new: Vec<i32> = tasks
                .iter()
                .copied()
                .filter(|t| !f.threads.contains_key(t))
                .collect();
            if new.is_empty() && f.all_stopped() {
                break;
            }
            for tid in new {
                match ptrace(libc::PTRACE_SEIZE, tid, 0, 0) {
                    Ok(_) => {}
                    Err(e) if e.raw_os_error() == Some(libc::ESRCH) => {
                        if tid == pid {
                            return Err(Error::NoSuchProcess { pid });
                        }
                        continue; // the thread exited meanwhile
                    }
                    Err(e) if e.raw_os_error() == Some(libc::EPERM) => {
                        // A traced thread refuses a second tracer with
                        // EPERM: name the tracer rather than permissions.
                        if let Some((tracer, tracer_command)) = super::tracer_of(pid, tid) {
                            return Err(Error::Traced {
                                pid,
                                tracer,
                                tracer_command,
                            });
                        }
                        return Err(Error::Permission {
                            pid,
                            what: "trace (ptrace)",
                            source: e,
                        });
                    }
                    Err(e) => {
                        return Err(Error::Sys {
                            pid,
                            tid,
                            what: "PTRACE_SEIZE",
                            source: e,
                        });
                    }
                }
                register(tid);
                f.threads.insert(tid, State::Running);
                if let Err(e) = ptrace(libc::PTRACE_INTERRUPT, tid, 0, 0)
                    && e.raw_os_error() != Some(libc::ESRCH)
                {
                    return Err(Error::Sys {
                        pid,
                        tid,
                        what: "PTRACE_INTERRUPT",
                        source: e,
                    });
                }
            }
            f.wait_stops(deadline);
            if !f.all_stopped() && Instant::now() >= deadline {
                let stopped = f
                    .threads
                    .values()
                    .filter(|s| matches!(s, State::Stopped(_)))
                    .count();
                return Err(Error::FreezeTimeout {
                    pid,
                    threads: f.threads.len(),
                    stopped,
                    budget_ms: budget.as_millis() as u64,
                });
            }
            if f.threads.get(&pid) == Some(&State::Gone) {
                return Err(Error::NoSuchProcess { pid });
            }
        }
        f.took = start.elapsed();
        for tid in f.tids() {
            let r = f.read_registers(tid, arch)?;
            f.regs.push((tid, r));
        }
        Ok(f)
    }

    fn all_stopped(&self) -> bool {
        self.threads.values().all(|s| *s != State::Running)
    }

    /// Polls the running threads for their stop until `deadline`.
    fn wait_stops(&mut self, deadline: Instant) {
        loop {
            let mut progress = false;
            for (tid, st) in self
                .threads
                .iter_mut()
                .filter(|(_, s)| **s == State::Running)
            {
                if let Some(new) = poll(*tid) {
                    *st = new;
                    progress = true;
                }
            }
            if self.all_stopped() || Instant::now() >= deadline {
                return;
            }
            if !progress {
                std::thread::sleep(Duration::from_micros(50));
            }
        }
    }

    /// The stopped threads' ids, sorted.
    pub fn tids(&self) -> Vec<i32> {
        let mut v: Vec<i32> = self
            .threads
            .iter()
            .filter(|(_, s)| matches!(s, State::Stopped(_)))
            .map(|(t, _)| *t)
            .collect();
        v.sort_unstable();
        v
    }

    /// Whether a SIGINT/SIGTERM handler has detached the threads since the freeze.
    pub fn thawed(&self) -> bool {
        SIGNALS.load(Ordering::Acquire) != self.signals
    }

    /// Registers of the stopped threads, sorted by thread id.
    pub fn registers(&self) -> &[(i32, Registers)] {
        &self.regs
    }

    /// Registers of a stopped thread (`PTRACE_GETREGSET`, `NT_PRSTATUS`).
    fn read_registers(&self, tid: i32, arch: Arch) -> Result<Registers> {
        let mut buf = [0u64; 34];
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: arch.reg_count() * 8,
        };
        ptrace(
            libc::PTRACE_GETREGSET,
            tid,
            1, /* NT_PRSTATUS */
            &mut iov as *mut _ as usize,
        )
        .map_err(|e| Error::Sys {
            pid: self.pid,
            tid,
            what: "PTRACE_GETREGSET",
            source: e,
        })?;
        Ok(Registers::from_values(arch, &buf[..iov.iov_len / 8]))
    }

    /// Resumes and detaches every thread. Idempotent.
    pub fn resume(&mut self) {
        for (tid, st) in self.threads.iter_mut() {
            detach_one(*tid, *st);
            unregister(*tid);
            *st = State::Gone;
        }
        self.threads.clear();
    }
}

impl Drop for Frozen {
    fn drop(&mut self) {
        self.resume();
    }
}

/// One `waitpid(tid, WNOHANG | __WALL)`: the new state if it changed.
fn poll(tid: i32) -> Option<State> {
    let mut status = 0;
    // SAFETY: waitpid writes only to `status`.
    let r = unsafe { libc::waitpid(tid, &mut status, libc::WNOHANG | libc::__WALL) };
    if r == 0 {
        return None;
    }
    if r < 0 {
        // ECHILD: not (or no longer) our tracee.
        return Some(State::Gone);
    }
    if libc::WIFSTOPPED(status) {
        let sig = libc::WSTOPSIG(status);
        let event = status >> 16;
        // PTRACE_EVENT_STOP (our interrupt or a group stop) carries no
        // signal to deliver; a signal-delivery stop (e.g. Go's SIGURG) must
        // get its signal back on detach.
        let inject = if event != 0 || sig == libc::SIGTRAP {
            0
        } else {
            sig
        };
        Some(State::Stopped(inject))
    } else {
        Some(State::Gone)
    }
}

fn detach_one(tid: i32, st: State) {
    let sig = match st {
        State::Stopped(s) => s,
        State::Running => 0,
        State::Gone => return,
    };
    if ptrace(libc::PTRACE_DETACH, tid, 0, sig as usize).is_ok() {
        return;
    }
    // Seized but not yet stopped: wait (briefly) for the interrupt, then detach.
    let until = Instant::now() + Duration::from_millis(200);
    while Instant::now() < until {
        match poll(tid) {
            Some(State::Stopped(s)) => {
                let _ = ptrace(libc::PTRACE_DETACH, tid, 0, s as usize);
                return;
            }
            Some(State::Gone) => return,
            _ => std::thread::sleep(Duration::from_micros(100)),
        }
    }
}

// ---- signal handling -------------------------------------------------------

/// Seized threads: `tid | tracer_tid << 32`, 0 when free. Fixed size so the
/// signal handler can walk it without allocating.
const SLOTS: usize = 4096;
static TRACED: [AtomicU64; SLOTS] = [const { AtomicU64::new(0) }; SLOTS];
/// Counts signals handled: a [`Frozen`] made before the last one was thawed.
static SIGNALS: AtomicU64 = AtomicU64::new(0);
static mut OLD_INT: std::mem::MaybeUninit<libc::sigaction> = std::mem::MaybeUninit::zeroed();
static mut OLD_TERM: std::mem::MaybeUninit<libc::sigaction> = std::mem::MaybeUninit::zeroed();

fn register(tid: i32) {
    let v = u64::from(tid as u32) | (u64::from(gettid() as u32) << 32);
    for s in &TRACED {
        if s.compare_exchange(0, v, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
        {
            return;
        }
    }
    // Full: the kernel still detaches on our exit.
}

fn unregister(tid: i32) {
    let me = u64::from(gettid() as u32) << 32;
    let v = u64::from(tid as u32) | me;
    for s in &TRACED {
        if s.compare_exchange(v, 0, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
        {
            return;
        }
    }
}

extern "C" fn on_signal(sig: libc::c_int) {
    // Only async-signal-safe work: atomics, ptrace, sigaction, raise.
    SIGNALS.fetch_add(1, Ordering::AcqRel);
    let me = gettid() as u32 as u64;
    for s in &TRACED {
        let v = s.load(Ordering::Acquire);
        if v != 0 && v >> 32 == me {
            // SAFETY: PTRACE_DETACH with no pointers; a failure is ignored
            // (the kernel detaches when we exit).
            unsafe {
                libc::ptrace(
                    libc::PTRACE_DETACH,
                    (v & 0xffff_ffff) as i32,
                    0usize,
                    0usize,
                )
            };
            s.store(0, Ordering::Release);
        }
    }
    // SAFETY: restores the dispositions saved at installation (plain data
    // written once before the handler was installed), then re-raises so the
    // previous behaviour (usually: terminate) happens.
    unsafe {
        let old = if sig == libc::SIGINT {
            (*std::ptr::addr_of!(OLD_INT)).as_ptr()
        } else {
            (*std::ptr::addr_of!(OLD_TERM)).as_ptr()
        };
        libc::sigaction(sig, old, std::ptr::null_mut());
        libc::raise(sig);
    }
}

/// Installs [`on_signal`] for SIGINT and SIGTERM unless it is already the
/// disposition (someone may have replaced it since, e.g. after `fork`).
fn install_signal_handlers() {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    // SAFETY: sigaction with a handler that only does async-signal-safe
    // work; the old action is stored before our handler can run, and our own
    // handler is never saved as the "old" one.
    unsafe {
        for (sig, old) in [
            (libc::SIGINT, std::ptr::addr_of_mut!(OLD_INT)),
            (libc::SIGTERM, std::ptr::addr_of_mut!(OLD_TERM)),
        ] {
            let mut cur: libc::sigaction = std::mem::zeroed();
            libc::sigaction(sig, std::ptr::null(), &mut cur);
            // Already ours, or ignored (a background job): the signal will
            // not stop this process, so it must not thaw the target either.
            if cur.sa_sigaction == on_signal as *const () as usize
                || cur.sa_sigaction == libc::SIG_IGN
            {
                continue;
            }
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as *const () as usize;
            libc::sigemptyset(&mut sa.sa_mask);
            sa.sa_flags = libc::SA_RESTART;
            (*old).write(cur);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}
