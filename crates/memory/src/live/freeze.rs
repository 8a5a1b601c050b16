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

use nix::errno::Errno;
use nix::sys::ptrace;
use nix::sys::signal::Signal;
use nix::unistd::Pid;

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

fn gettid() -> i32 {
    nix::unistd::gettid().as_raw()
}

/// `PTRACE_DETACH` of `tid`, re-injecting `sig` (0: none).
fn detach(tid: i32, sig: i32) -> nix::Result<()> {
    if sig == 0 {
        return ptrace::detach(Pid::from_raw(tid), None);
    }
    match Signal::try_from(sig) {
        Ok(s) => ptrace::detach(Pid::from_raw(tid), s),
        // A real-time signal (SIGRTMIN..SIGRTMAX, e.g. glibc's SIGSETXID in
        // a cgo program): nix's `Signal` has no value for it, and detaching
        // without it would lose the signal, so this request stays raw.
        Err(_) => {
            // SAFETY: PTRACE_DETACH takes no pointer (`data` is the signal
            // number) and writes into neither our memory nor the tracee's.
            let r = unsafe {
                libc::ptrace(
                    libc::PTRACE_DETACH,
                    tid,
                    std::ptr::null_mut::<libc::c_void>(),
                    sig as usize as *mut libc::c_void,
                )
            };
            Errno::result(r).map(drop)
        }
    }
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

/// `PTRACE_SEIZE` of thread `tid` of `pid`: false when it exited
/// meanwhile; a thread another debugger traces is named as such.
fn seize(pid: i32, tid: i32) -> Result<bool> {
    match ptrace::seize(Pid::from_raw(tid), ptrace::Options::empty()) {
        Ok(()) => Ok(true),
        Err(Errno::ESRCH) => Ok(false),
        Err(e @ Errno::EPERM) => {
            // A traced thread refuses a second tracer with EPERM: name the
            // tracer rather than permissions.
            if let Some((tracer, tracer_command)) = super::tracer_of(pid, tid) {
                return Err(Error::Traced {
                    pid,
                    tracer,
                    tracer_command,
                });
            }
            Err(Error::Permission {
                pid,
                what: "trace (ptrace)",
                source: e.into(),
            })
        }
        Err(e) => Err(Error::Sys {
            pid,
            tid,
            what: "PTRACE_SEIZE",
            source: e.into(),
        }),
    }
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
                if !seize(pid, tid)? {
                    if tid == pid {
                        return Err(Error::NoSuchProcess { pid });
                    }
                    continue; // the thread exited meanwhile
                }
                register(tid);
                f.threads.insert(tid, State::Running);
                if let Err(e) = ptrace::interrupt(Pid::from_raw(tid))
                    && e != Errno::ESRCH
                {
                    return Err(Error::Sys {
                        pid,
                        tid,
                        what: "PTRACE_INTERRUPT",
                        source: e.into(),
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
        let values = register_values(tid).map_err(|e| Error::Sys {
            pid: self.pid,
            tid,
            what: "PTRACE_GETREGSET",
            source: e.into(),
        })?;
        Ok(Registers::from_values(arch, &values))
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

/// The general-purpose registers of stopped thread `tid`
/// (`PTRACE_GETREGSET`, `NT_PRSTATUS`), in `user_regs_struct` order.
#[cfg(target_arch = "x86_64")]
fn register_values(tid: i32) -> nix::Result<[u64; 27]> {
    let r = ptrace::getregset::<ptrace::regset::NT_PRSTATUS>(Pid::from_raw(tid))?;
    Ok([
        r.r15, r.r14, r.r13, r.r12, r.rbp, r.rbx, r.r11, r.r10, r.r9, r.r8, r.rax, r.rcx, r.rdx,
        r.rsi, r.rdi, r.orig_rax, r.rip, r.cs, r.eflags, r.rsp, r.ss, r.fs_base, r.gs_base, r.ds,
        r.es, r.fs, r.gs,
    ])
}

/// The general-purpose registers of stopped thread `tid`
/// (`PTRACE_GETREGSET`, `NT_PRSTATUS`), in `user_pt_regs` order.
#[cfg(target_arch = "aarch64")]
fn register_values(tid: i32) -> nix::Result<[u64; 34]> {
    let r = ptrace::getregset::<ptrace::regset::NT_PRSTATUS>(Pid::from_raw(tid))?;
    let mut v = [0u64; 34];
    v[..31].copy_from_slice(&r.regs);
    v[31] = r.sp;
    v[32] = r.pc;
    v[33] = r.pstate;
    Ok(v)
}

/// Registers are decoded for amd64 and arm64 only.
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
fn register_values(_tid: i32) -> nix::Result<[u64; 0]> {
    Err(Errno::ENOTSUP)
}

/// One `waitpid(tid, WNOHANG | __WALL)`: the new state if it changed.
///
/// Raw libc, not nix: nix's `WaitStatus` has no value for a real-time
/// signal, so a thread stopped for one would come back as an error after
/// the kernel had reported the stop, and the signal would be lost on detach.
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
    if detach(tid, sig).is_ok() {
        return;
    }
    // Seized but not yet stopped: wait (briefly) for the interrupt, then detach.
    let until = Instant::now() + Duration::from_millis(200);
    while Instant::now() < until {
        match poll(tid) {
            Some(State::Stopped(s)) => {
                let _ = detach(tid, s);
                return;
            }
            Some(State::Gone) => return,
            _ => std::thread::sleep(Duration::from_micros(100)),
        }
    }
}

// ---- signal handling -------------------------------------------------------
//
// Raw libc `sigaction`: nix's installs a new action every time it is called,
// and the current one must be read first without replacing it (an ignored
// SIGINT stays ignored); nix's is `unsafe` as well.

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
            // A failure is ignored (the kernel detaches when we exit).
            let _ = ptrace::detach(Pid::from_raw((v & 0xffff_ffff) as i32), None);
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

/// What [`peek`] saw of one thread.
#[derive(Debug, Clone)]
pub struct Peek {
    /// Its registers when it stopped.
    pub regs: Registers,
    /// How long it was stopped.
    pub stopped: Duration,
}

/// Stops thread `tid` of `pid` (`PTRACE_SEIZE` + `PTRACE_INTERRUPT`),
/// reads its registers, calls `while_stopped` with them (to copy its stack,
/// say), and detaches, re-injecting any signal that arrived meanwhile. The
/// thread is given `budget` to stop; `Ok(None)` if it did not (or exited).
/// The other threads run on throughout.
pub fn peek(
    pid: i32,
    tid: i32,
    arch: Arch,
    budget: Duration,
    while_stopped: impl FnOnce(&Registers),
) -> Result<Option<Peek>> {
    install_signal_handlers();
    let target = Pid::from_raw(tid);
    if !seize(pid, tid)? {
        return Ok(None);
    }
    register(tid);
    let start = Instant::now();
    let mut state = State::Running;
    if ptrace::interrupt(target).is_ok() {
        let deadline = start + budget;
        while state == State::Running && Instant::now() < deadline {
            match poll(tid) {
                Some(s) => state = s,
                None => std::hint::spin_loop(),
            }
        }
    }
    let out = match state {
        State::Stopped(_) => match register_values(tid) {
            Ok(values) => {
                let regs = Registers::from_values(arch, &values);
                while_stopped(&regs);
                Some(regs)
            }
            Err(_) => None,
        },
        _ => None,
    };
    // Not stopped in time: detach_one waits for the stop on its way.
    detach_one(tid, state);
    unregister(tid);
    let stopped = start.elapsed();
    Ok(out.map(|regs| Peek { regs, stopped }))
}
