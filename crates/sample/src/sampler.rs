//! The sampling loop over one process: on-CPU stacks from perf events (or
//! ptrace where perf events are refused), and with `wall`, every
//! goroutine's stack at each tick.

use std::path::Path;
use std::time::{Duration, Instant};

use rustc_hash::FxHashMap;

use gosleuth_runtime::goroutines::{self, RawGoroutine, status};
use gosleuth_runtime::threads::{self, MThread};
use gosleuth_runtime::unwind::{RawFrame, Sched, Start, Stop, Unwinder};
use gosleuth_runtime::{Target, labels};

use crate::error::{Error, Result};
use crate::overlay::Overlay;
use crate::perf::{self, Events};
use crate::recording::{EXACT, Kind, Recording};
use crate::records::Sample;

/// How running threads are caught.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Method {
    /// perf events when the kernel allows them, else ptrace.
    #[default]
    Auto,
    /// perf events only (the target is never stopped).
    Perf,
    /// ptrace: each running thread stopped for a few microseconds per
    /// sample, its registers and stack read, and resumed.
    Ptrace,
}

/// What to sample.
#[derive(Debug, Clone)]
pub struct Options {
    /// Samples per second of a thread's running time (and ticks per second
    /// of the goroutine sampling with `wall`).
    pub rate_hz: u32,
    /// Also sample every goroutine, running or not, at each tick.
    pub wall: bool,
    /// How to catch running threads.
    pub method: Method,
    /// Bytes of stack copied with each on-CPU sample.
    pub stack_bytes: u32,
    /// The most of one CPU the goroutine captures of a wall-clock
    /// recording may take (they are spaced out to stay within it).
    pub wall_budget: f64,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            rate_hz: 100,
            wall: false,
            method: Method::Auto,
            stack_bytes: 32 * 1024,
            wall_budget: 0.05,
        }
    }
}

/// How the on-CPU samples were taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Used {
    /// perf events; `user_only` when kernel time could not be sampled.
    Perf { user_only: bool },
    /// ptrace interrupts.
    Ptrace,
}

impl Used {
    /// A sentence for the user and the profile's comments.
    pub fn describe(&self) -> &'static str {
        match self {
            Used::Perf { user_only: false } => {
                "perf events (task clock, user registers and stack copies; the process was never stopped)"
            }
            Used::Perf { user_only: true } => {
                "perf events (task clock, user time only: perf_event_paranoid keeps kernel time out; the process was never stopped)"
            }
            Used::Ptrace => {
                "ptrace (each running thread stopped for microseconds per sample while its registers and stack were read)"
            }
        }
    }
}

/// Why a recording ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The caller said so (the duration or sample count was reached, or
    /// Ctrl-C).
    Stopped,
    /// The process exited.
    Exited,
}

/// Figures of a run.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Samples the kernel dropped (full buffers).
    pub lost: u64,
    /// On-CPU samples whose stack could not be unwound to its top.
    pub partial: u64,
    /// Longest time one thread was stopped (ptrace method only).
    pub max_stop: Duration,
    /// Every stop's length in microseconds (ptrace method only).
    pub stops_us: Vec<u32>,
    /// Goroutine captures taken (`wall`).
    pub captures: u64,
    /// Longest goroutine capture.
    pub max_capture: Duration,
}

/// A process being sampled.
pub struct Sampler {
    pid: i32,
    target: Target<Overlay>,
    events: Option<Events>,
    used: Used,
    opts: Options,
    /// `m` of each thread id, refreshed when a thread is not found.
    ms: FxHashMap<u64, u64>,
    ms_read: Option<Instant>,
    /// `runtime.asmcgocall`'s run-time range (0s when it is not known).
    asmcgocall: (u64, u64),
    /// Each thread's latest on-CPU stack (`wall`).
    last_stack: FxHashMap<u32, (u64, Vec<u64>)>,
    /// Each goroutine's frames at the last capture, with its g's
    /// fingerprint then (`wall`).
    unwound: FxHashMap<u64, (u64, Vec<RawFrame>)>,
    /// CPU time of each thread at the last ptrace tick.
    cpu_times: FxHashMap<i32, u64>,
    /// When the threads were last listed (for new threads' events).
    threads_listed: Option<Instant>,
    pub stats: Stats,
    /// Problems met that did not stop the sampling.
    pub warnings: Vec<String>,
}

impl std::fmt::Debug for Sampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sampler")
            .field("pid", &self.pid)
            .field("used", &self.used)
            .finish()
    }
}

impl Sampler {
    /// Prepares to sample `pid` (its binary from `/proc/PID/exe` unless
    /// `binary` is given). Nothing is sampled until [`Sampler::run`].
    pub fn open(pid: i32, binary: Option<&Path>, opts: Options) -> Result<Sampler> {
        let t = gosleuth_runtime::open_live(pid, binary)?;
        let mut warnings: Vec<String> = t.warnings().to_vec();
        let target = t.map_memory(Overlay::new);
        let asmcgocall = target
            .bin()
            .pcln()
            .func_by_name("runtime.asmcgocall")
            .map_or((0, 0), |f| {
                let bias = target.bias();
                (f.entry().wrapping_add(bias), f.end().wrapping_add(bias))
            });
        let rate = opts.rate_hz.clamp(1, 10_000);
        let cfg = perf::Config {
            period_ns: 1_000_000_000 / u64::from(rate),
            stack_bytes: opts.stack_bytes.clamp(1024, 60 * 1024) & !7,
            ..perf::Config::default()
        };
        let (events, used) = match opts.method {
            Method::Ptrace => (None, Used::Ptrace),
            Method::Perf => {
                let e = Events::open(pid, &cfg)?;
                let u = e.user_only;
                (Some(e), Used::Perf { user_only: u })
            }
            Method::Auto => match Events::open(pid, &cfg) {
                Ok(e) => {
                    let u = e.user_only;
                    (Some(e), Used::Perf { user_only: u })
                }
                Err(Error::Perf { what, .. }) => {
                    warnings.push(format!("{what}; sampling with ptrace instead"));
                    (None, Used::Ptrace)
                }
                Err(e) => return Err(e),
            },
        };
        Ok(Sampler {
            pid,
            target,
            events,
            used,
            opts: Options {
                rate_hz: rate,
                ..opts
            },
            ms: FxHashMap::default(),
            ms_read: None,
            threads_listed: None,
            cpu_times: FxHashMap::default(),
            unwound: FxHashMap::default(),
            last_stack: FxHashMap::default(),
            asmcgocall,
            stats: Stats::default(),
            warnings,
        })
    }

    /// How running threads are being caught.
    pub fn used(&self) -> Used {
        self.used
    }

    /// The process read (its binary, for symbolizing).
    pub fn target(&self) -> &Target<Overlay> {
        &self.target
    }

    /// The process id.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// A recording of the kind these options make.
    pub fn recording(&self) -> Recording {
        let kind = if self.opts.wall {
            Kind::Wall
        } else {
            Kind::Cpu
        };
        let mut r = Recording::new(kind, 1_000_000_000 / i64::from(self.opts.rate_hz));
        r.notes.push(format!(
            "gosleuth record: pid {}, {} Hz, {}",
            self.pid,
            self.opts.rate_hz,
            self.used.describe()
        ));
        if self.opts.wall {
            r.notes.push(
                "wall-clock: every goroutine at each tick (label `state`), running ones from the on-CPU samples"
                    .into(),
            );
        }
        r
    }

    /// Samples into `rec` until `keep_going` (called after every tick)
    /// returns false or the process exits.
    pub fn run(
        &mut self,
        rec: &mut Recording,
        mut keep_going: impl FnMut(&mut Recording, &Sampler) -> bool,
    ) -> Ended {
        let tick = Duration::from_nanos(1_000_000_000 / u64::from(self.opts.rate_hz));
        let started = Instant::now();
        let mut next = started;
        let mut last_capture: Option<Instant> = None;
        let mut next_capture = started;
        let mut last_exit_check = started;
        let mut jitter: u64 = 0x9e37_79b9_7f4a_7c15 ^ u64::from(self.pid as u32);
        let ended = loop {
            self.take_cpu_samples(rec, tick, true);
            // Goroutine captures are spaced so that they take at most
            // `wall_budget` of one CPU: a process with 100,000 goroutines
            // takes tens of milliseconds to read, and the machine is
            // someone's production. Each capture weighs the time since
            // the last, so the profile stays a wall-clock one.
            if self.opts.wall && Instant::now() >= next_capture {
                let now = Instant::now();
                let weight = last_capture.map_or(tick, |l| now - l);
                last_capture = Some(now);
                self.capture_goroutines(rec, weight);
                let took = now.elapsed();
                let mut gap = took.div_f64(self.opts.wall_budget.clamp(0.001, 1.0));
                // The first capture unwinds every stack; later ones only
                // those that changed: do not let the first set the pace.
                if self.stats.captures == 1 {
                    gap = gap.min(Duration::from_secs(1));
                }
                next_capture = now + gap.max(tick / 2);
            }
            rec.elapsed = rec.started.elapsed().unwrap_or_default();
            // /proc/PID/stat costs a few microseconds: looked at ten
            // times a second, not at every tick.
            if last_exit_check.elapsed() >= Duration::from_millis(100) {
                last_exit_check = Instant::now();
                if gosleuth_memory::live::has_exited(self.pid) {
                    break Ended::Exited;
                }
            }
            if !keep_going(rec, self) {
                break Ended::Stopped;
            }
            // Ticks are jittered (uniformly within ±50% of the period) so
            // that a program whose work repeats at the sampling period is
            // not always caught at the same point of its cycle.
            jitter ^= jitter << 13;
            jitter ^= jitter >> 7;
            jitter ^= jitter << 17;
            next += tick / 2 + tick.mul_f64((jitter >> 11) as f64 / (1u64 << 53) as f64);
            let now = Instant::now();
            if next <= now {
                // Behind (a slow capture): skip the missed ticks.
                next = now;
            }
            // Until the next tick, take perf samples as the kernel writes
            // them: the sooner a sample is read, the likelier the
            // goroutine it caught is still where it was (what the Go
            // stack beyond a C call or a system stack is read from).
            loop {
                let now = Instant::now();
                if now >= next {
                    break;
                }
                match &self.events {
                    Some(e) => {
                        e.wait(next - now);
                        self.take_cpu_samples(rec, tick, false);
                    }
                    None => std::thread::sleep(next - now),
                }
            }
        };
        // What the kernel wrote since the last tick.
        self.take_cpu_samples(rec, tick, false);
        rec.elapsed = rec.started.elapsed().unwrap_or_default();
        if let Some(e) = &self.events {
            self.stats.lost = e.lost;
        }
        ended
    }

    /// Reads the perf samples written so far, or (ptrace, when `at_tick`)
    /// catches the threads running now.
    fn take_cpu_samples(&mut self, rec: &mut Recording, tick: Duration, at_tick: bool) {
        let period = rec.period_ns;
        // With `wall`, on-CPU samples only say where each thread's
        // goroutine is (the goroutine capture charges the time).
        let wall = self.opts.wall;
        let mut pcs = Vec::new();
        if let Some(mut events) = self.events.take() {
            if self
                .threads_listed
                .is_none_or(|t| t.elapsed() >= Duration::from_millis(100))
            {
                self.threads_listed = Some(Instant::now());
                if let Err(e) = events.add_new_threads()
                    && !gosleuth_memory::live::has_exited(self.pid)
                    && self.warnings.len() < 8
                {
                    self.warnings
                        .push(format!("listing new threads failed: {e}"));
                }
            }
            events.drain(|s| {
                if let Some(goid) = self.unwind_sample(s, &mut pcs) {
                    if wall {
                        self.remember_stack(s.tid, goid, &pcs);
                    } else {
                        rec.add(&pcs, 0, period);
                    }
                }
            });
            self.events = Some(events);
            return;
        }
        if !at_tick {
            return;
        }
        // ptrace: the threads running right now, each stopped briefly.
        let Ok(tids) = gosleuth_memory::live::task_ids(self.pid) else {
            return;
        };
        let arch = self.target.mem().live().arch();
        let budget = Duration::from_millis(1);
        let mut stack = Vec::new();
        for tid in tids {
            // Each thread's samples weigh the CPU time it used since the
            // last tick (its scheduler statistics): a thread that just woke
            // up is not charged a whole period.
            let Some(ran) = cpu_time(self.pid, tid) else {
                continue;
            };
            let before = self.cpu_times.insert(tid, ran);
            let used = before.map_or(0, |b| ran.saturating_sub(b));
            if used == 0 || !is_running(self.pid, tid) {
                continue;
            }
            let stack_bytes = self.opts.stack_bytes as usize;
            let live = self.target.mem().live();
            let peek = gosleuth_memory::live::peek(self.pid, tid, arch, budget, |regs| {
                stack.resize(stack_bytes, 0);
                // One read: the thread is stopped, so it cannot be torn.
                let n = read_prefix(|a, b| live.read_once(a, b).is_ok(), regs.sp(), &mut stack);
                stack.truncate(n);
            });
            let Ok(Some(p)) = peek else { continue };
            self.stats.max_stop = self.stats.max_stop.max(p.stopped);
            self.stats
                .stops_us
                .push(u32::try_from(p.stopped.as_micros()).unwrap_or(u32::MAX));
            let s = Sample {
                pid: self.pid as u32,
                tid: tid as u32,
                time: 0,
                regs: Some(crate::records::UserRegs {
                    bp: 0,
                    sp: p.regs.sp(),
                    ip: p.regs.pc(),
                }),
                stack: &stack,
            };
            if let Some(goid) = self.unwind_sample(&s, &mut pcs) {
                if wall {
                    self.remember_stack(tid as u32, goid, &pcs);
                } else {
                    rec.add(&pcs, 0, used.min(2 * tick.as_nanos() as u64) as i64);
                }
            }
        }
    }

    /// The `m` running thread `tid`, re-reading `allm` at most every 100 ms
    /// when a thread is not known.
    fn m_of(&mut self, tid: u64) -> Option<MThread> {
        let m = match self.ms.get(&tid) {
            Some(&m) => m,
            None => {
                if self
                    .ms_read
                    .is_some_and(|t| t.elapsed() < Duration::from_millis(100))
                {
                    return None;
                }
                self.ms_read = Some(Instant::now());
                if let Ok(all) = threads::ms(&self.target) {
                    self.ms = all.iter().map(|m| (m.tid, m.m)).collect();
                }
                *self.ms.get(&tid)?
            }
        };
        threads::read_m(&self.target, m)
    }

    /// Unwinds one on-CPU sample into `out` (innermost first); the id of
    /// the goroutine its thread runs (0 when none or not known). `None`
    /// when the sample has no user context.
    fn unwind_sample(&mut self, s: &Sample<'_>, out: &mut Vec<u64>) -> Option<u64> {
        out.clear();
        let regs = s.regs?;
        let mt = self.m_of(u64::from(s.tid));
        let g: Option<RawGoroutine> = mt
            .filter(|m| m.curg != 0)
            .and_then(|m| goroutines::read_one(&self.target, m.curg));
        self.target.mem().set_stack(regs.sp, s.stack);
        let bounds = g.as_ref().map_or((0, 0), |g| (g.stack_lo, g.stack_hi));
        let sched = g
            .as_ref()
            .filter(|g| (g.stack_lo..g.stack_hi).contains(&g.sched_sp))
            .map(|g| Sched {
                pc: g.sched_pc,
                sp: g.sched_sp,
            });
        let mut raw: Vec<RawFrame> = Vec::with_capacity(32);
        let mut unwinder = Unwinder::new(&self.target);
        let link = self.target.link_pc(regs.ip);
        let in_go = self.target.bin().pcln().func_for_pc(link).is_some();
        let stop = if in_go {
            let start = Start {
                pc: regs.ip,
                sp: regs.sp,
                trap: true,
            };
            unwinder.unwind(start, sched, bounds, &mut raw)
        } else {
            // C code (cgo), libc or the vDSO: the native leaf, then the Go
            // stack from where the goroutine left Go code.
            out.push(regs.ip | EXACT);
            let from = match (&mt, &g) {
                _ if let Some(at) = self.cgo_caller(s.stack) => Some(at),
                (Some(m), _) if m.vdso_sp != 0 => Some((m.vdso_pc, m.vdso_sp)),
                (_, Some(g)) if g.syscall_sp != 0 && g.status == status::SYSCALL => {
                    Some((g.syscall_pc, g.syscall_sp))
                }
                _ => None,
            };
            match from {
                Some((pc, sp)) => unwinder.unwind(
                    Start {
                        pc,
                        sp,
                        trap: false,
                    },
                    None,
                    bounds,
                    &mut raw,
                ),
                None => Stop::Broken("native code without a Go caller known".into()),
            }
        };
        self.target.mem().clear_stack();
        if stop != Stop::Top {
            self.stats.partial += 1;
        }
        out.extend(raw.iter().map(|f| f.pc | if f.trap() { EXACT } else { 0 }));
        let goid = g.as_ref().map_or(0, |g| g.id);
        (!out.is_empty()).then_some(goid)
    }

    /// Where the goroutine that called into C (through cgo) left Go code,
    /// found in the thread's stack as it was at the sample (so that the
    /// goroutine having moved on since does not matter): `asmcgocall`
    /// switched to the system stack and stored, above the return address
    /// of its call into C, the goroutine's stack depth and its `g`
    /// (amd64's `asmcgocall`). The depth is checked against that `g`'s
    /// stack bounds before it is believed.
    fn cgo_caller(&self, stack: &[u8]) -> Option<(u64, u64)> {
        let range = self.asmcgocall;
        if range.0 == 0 {
            return None;
        }
        let word = |i: usize| -> Option<u64> {
            let b = stack.get(i * 8..i * 8 + 8)?;
            Some(u64::from_le_bytes(b.try_into().ok()?))
        };
        for i in 0..stack.len() / 8 {
            let Some(ra) = word(i) else { break };
            if !(range.0 < ra && ra < range.1) {
                continue;
            }
            let (Some(depth), Some(gp)) = (word(i + 1), word(i + 2)) else {
                break;
            };
            let Some(g) = goroutines::read_one(&self.target, gp) else {
                continue;
            };
            let Some(go_sp) = g.stack_hi.checked_sub(depth) else {
                continue;
            };
            if !(g.stack_lo..g.stack_hi).contains(&go_sp) {
                continue;
            }
            // The goroutine's stack is read now, not as it was at the
            // sample: believe it only while the goroutine is still in a
            // cgo call made from there (in a system call, its syscallsp
            // just above asmcgocall's sp). Otherwise the stack ends at the
            // native frame: shorter, but not wrong.
            let still_there = g.status == status::SYSCALL
                && g.syscall_sp > go_sp
                && g.syscall_sp - go_sp < 64 * 1024;
            if !still_there {
                return None;
            }
            // Unwinding goes on from asmcgocall itself, at its sp before
            // the switch (its frame size there comes from pcsp, like any
            // other frame's).
            return Some((ra, go_sp));
        }
        None
    }

    fn capture_goroutines(&mut self, rec: &mut Recording, weight: Duration) {
        let start = Instant::now();
        let Ok(mut gs) = goroutines::read_headers(&self.target) else {
            return;
        };
        gs.retain(|g| !g.is_dead() && !self.is_system(g));
        // A goroutine whose g did not change since the last capture (same
        // fingerprint, not on a thread) has the same stack: its frames are
        // reused. The others' stacks are copied in a few large reads, not
        // a read per frame, and unwound.
        let mut fresh: Vec<RawGoroutine> = Vec::new();
        let mut kept: Vec<RawGoroutine> = Vec::with_capacity(gs.len());
        for mut g in gs {
            let same = g.fingerprint != 0
                && g.thread.is_none()
                && self
                    .unwound
                    .get(&g.gp)
                    .is_some_and(|(fp, _)| *fp == g.fingerprint);
            if same && let Some((_, frames)) = self.unwound.get(&g.gp) {
                g.frames = frames.clone();
                kept.push(g);
            } else {
                fresh.push(g);
            }
        }
        let spans = fresh
            .iter()
            .filter_map(|g| goroutines::stack_span(&self.target, g))
            .collect();
        self.target.mem().preload(spans);
        goroutines::unwind_all(&self.target, &mut fresh);
        self.target.mem().clear_preload();
        // A goroutine that moved between the reading of its g and of its
        // stack was unwound over a stack it had already left: read it
        // again and unwind it at once (microseconds, not the whole
        // capture's span); it is not kept for reuse.
        let mut moved = Vec::new();
        for (i, g) in fresh.iter_mut().enumerate() {
            match goroutines::read_one(&self.target, g.gp) {
                Some(now)
                    if (now.status, now.sched_sp, now.sched_pc, now.wait_reason)
                        == (g.status, g.sched_sp, g.sched_pc, g.wait_reason) => {}
                Some(mut now) => {
                    now.fingerprint = 0;
                    *g = now;
                    moved.push(i);
                }
                None => {
                    g.fingerprint = 0;
                    moved.push(i);
                }
            }
        }
        for &i in &moved {
            goroutines::unwind_all(&self.target, std::slice::from_mut(&mut fresh[i]));
        }
        fresh.retain(|g| !g.is_dead());
        self.unwound.clear();
        for g in fresh
            .iter()
            .filter(|g| g.fingerprint != 0 && g.broken.is_none())
        {
            self.unwound.insert(g.gp, (g.fingerprint, g.frames.clone()));
        }
        for g in &kept {
            self.unwound.insert(g.gp, (g.fingerprint, g.frames.clone()));
        }
        let mut gs = fresh;
        gs.append(&mut kept);
        let labels = labels::read_all(&self.target, &gs);
        let nanos = weight.as_nanos() as i64;
        let mut pcs = Vec::new();
        for (g, l) in gs.iter().zip(&labels) {
            let state = self.target.state_of(g).to_string();
            let mut set: Vec<(String, String)> = Vec::with_capacity(l.len() + 1);
            set.push(("state".into(), state));
            set.extend(l.iter().cloned());
            // A goroutine on a CPU (running, or in C or a system call on
            // a thread that is running) is where its thread's latest
            // on-CPU sample caught it, if that sample was of this
            // goroutine; else where its g says (its last scheduling point
            // or system call).
            let on_cpu = match (g.status, g.thread) {
                (status::RUNNING, Some(_)) => true,
                (status::SYSCALL, Some(tid)) => is_running(self.pid, tid as i32),
                _ => false,
            };
            if on_cpu {
                set[0].1 = "running".into();
                let id = rec.label_set(&set);
                let latest = g
                    .thread
                    .and_then(|tid| self.last_stack.get(&(tid as u32)))
                    .filter(|(goid, _)| *goid == g.id);
                if let Some((_, stack)) = latest {
                    rec.add(stack, id, nanos);
                    continue;
                }
                pcs.clear();
                pcs.extend(g.frames.iter().map(|f| f.pc));
                rec.add(&pcs, id, nanos);
                continue;
            }
            pcs.clear();
            pcs.extend(g.frames.iter().map(|f| f.pc));
            let id = rec.label_set(&set);
            rec.add(&pcs, id, nanos);
        }
        let took = start.elapsed();
        self.stats.captures += 1;
        self.stats.max_capture = self.stats.max_capture.max(took);
    }

    fn remember_stack(&mut self, tid: u32, goid: u64, pcs: &[u64]) {
        let v = self.last_stack.entry(tid).or_default();
        v.0 = goid;
        v.1.clear();
        v.1.extend_from_slice(pcs);
    }

    /// The runtime's own goroutines (GC workers, the finalizer and timer
    /// goroutines...), which Go's goroutine profile leaves out too.
    pub fn is_system(&self, g: &RawGoroutine) -> bool {
        let link = self.target.link_pc(g.startpc);
        match self.target.bin().pcln().func_for_pc(link) {
            Some(f) => {
                let name = f.name();
                name.starts_with("runtime.") && name != "runtime.main"
            }
            None => false,
        }
    }
}

/// True when thread `tid` is running or runnable (`R` in its stat).
fn is_running(pid: i32, tid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/stat")).is_ok_and(|s| {
        s.rsplit_once(')')
            .and_then(|(_, rest)| rest.trim_start().chars().next())
            == Some('R')
    })
}

/// Nanoseconds thread `tid` has run (`/proc/PID/task/TID/schedstat`).
fn cpu_time(pid: i32, tid: i32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/schedstat")).ok()?;
    s.split_whitespace().next()?.parse().ok()
}

/// Reads as much of `buf` as is mapped from `addr` on; the bytes read.
fn read_prefix(read: impl Fn(u64, &mut [u8]) -> bool, addr: u64, buf: &mut [u8]) -> usize {
    let mut n = buf.len();
    while n >= 512 {
        if read(addr, &mut buf[..n]) {
            return n;
        }
        n /= 2;
    }
    0
}
