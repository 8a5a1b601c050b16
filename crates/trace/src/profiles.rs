//! Blocking profiles from a trace, as `go tool trace -pprof=TYPE` makes
//! them: for every goroutine, each stretch spent in one state (waiting on
//! the network, waiting on a channel, a select or a sync primitive, in a
//! syscall, runnable but not running), summed per the stack where the
//! stretch began, as a pprof profile of `contentions/count` and
//! `delay/nanoseconds`.
//!
//! The trace is read one generation at a time: its events are put in time
//! order (each thread's events are in order already; they are merged by
//! timestamp), its strings and stacks resolved, and the goroutines' state
//! changes followed across generations. As in `go tool trace`, a stretch
//! counts only within its goroutine's life from the first time it ran
//! (all of it, for one that never ran), and a stretch still open at the end
//! of the trace is not counted.

use std::collections::HashMap;
use std::io::BufRead;

use gosleuth_pprof::Profile;
use gosleuth_pprof::fxhash::{FxHashMap, FxHashSet};
use gosleuth_pprof::profile::{Function, Line, Location, Samples, ValueType};

use crate::error::Result;
use crate::spec::ev;
use crate::summary::{Summary, Tally};
use crate::wire::{RawEvent, WireReader};

/// Which stretches a profile sums.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Waiting on the network (`-pprof=net`).
    Net,
    /// Waiting on a channel, a select or a sync primitive (`-pprof=sync`).
    Sync,
    /// In a system call (`-pprof=syscall`).
    Syscall,
    /// Runnable, waiting for a P (`-pprof=sched`).
    Sched,
}

impl Kind {
    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "net" => Some(Kind::Net),
            "sync" => Some(Kind::Sync),
            "syscall" => Some(Kind::Syscall),
            "sched" => Some(Kind::Sched),
            _ => None,
        }
    }

    fn state(self) -> State {
        match self {
            Kind::Net | Kind::Sync => State::Waiting,
            Kind::Syscall => State::Syscall,
            Kind::Sched => State::Runnable,
        }
    }

    fn tracks(self, reason: &str) -> bool {
        match self {
            Kind::Net => reason == "network",
            Kind::Sync => {
                reason.contains("chan") || reason.contains("sync") || reason.contains("select")
            }
            Kind::Syscall | Kind::Sched => true,
        }
    }
}

/// Durations of user tasks and regions (`runtime/trace`), by type.
#[derive(Debug, Clone, Default)]
pub struct UserStats {
    pub tasks: std::collections::BTreeMap<String, Histogram>,
    pub regions: std::collections::BTreeMap<String, Histogram>,
    open_tasks: FxHashMap<u64, (String, i64)>,
    /// Open regions per goroutine, innermost last.
    open_regions: FxHashMap<u64, Vec<(String, i64)>>,
}

/// A goroutine's change of state, as `go tool trace -d=parsed` prints
/// them (`NotExist->Runnable`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Transition {
    /// Nanoseconds of the trace's clock (its ticks times 1e9/frequency).
    pub time_ns: i64,
    pub goroutine: u64,
    pub from: &'static str,
    pub to: &'static str,
    /// Why it stopped or blocked, as the runtime names it.
    pub reason: String,
    /// The stack of the event, innermost first (empty when none).
    pub stack: Vec<FrameKey>,
}

impl State {
    fn name(self) -> &'static str {
        match self {
            State::Undetermined => "Undetermined",
            State::NotExist => "NotExist",
            State::Runnable => "Runnable",
            State::Running => "Running",
            State::Syscall => "Syscall",
            State::Waiting => "Waiting",
        }
    }

    /// Running or in a system call: holding a thread (Go's `Executing`).
    fn executing(self) -> bool {
        matches!(self, State::Running | State::Syscall)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum State {
    #[default]
    Undetermined,
    NotExist,
    Runnable,
    Running,
    Syscall,
    Waiting,
}

fn status(s: u64) -> State {
    match s {
        1 => State::Runnable,
        2 => State::Running,
        3 => State::Syscall,
        4 => State::Waiting,
        _ => State::Undetermined,
    }
}

/// One timed event of a generation: time, thread, type, arguments
/// without the time delta.
#[derive(Debug, Clone, Copy)]
struct Rec {
    ts: u64,
    m: u64,
    typ: u8,
    a: [u64; 5],
}

/// An event batch of one thread, kept as bytes until its generation is
/// complete: its thread, its start time and its events.
struct EventBatch {
    m: u64,
    time: u64,
    bytes: Vec<u8>,
}

/// A batch's events as they are read, with the running time and the
/// next timed event.
struct Cursor<'a> {
    r: crate::wire::SliceEvents<'a>,
    m: u64,
    now: u64,
    next: Option<Rec>,
}

impl Cursor<'_> {
    /// Reads the next timed event of the batch into `next`.
    fn advance(&mut self, counts: &mut Counts) -> Result<()> {
        self.next = None;
        let mut args = [0u64; 6];
        while let Some(typ) = self.r.next(&mut args)? {
            counts[usize::from(typ)] += 1;
            if !crate::spec::SPECS[usize::from(typ)].timed {
                continue;
            }
            self.now = self.now.wrapping_add(args[0]);
            let mut a = [0u64; 5];
            a.copy_from_slice(&args[1..]);
            self.next = Some(Rec {
                ts: self.now,
                m: self.m,
                typ,
                a,
            });
            break;
        }
        Ok(())
    }
}

/// Events by type, counted as they are decoded (for the summary).
type Counts = [u64; crate::spec::SPECS.len()];

/// The timed events of a generation's batches in time order (each batch is
/// in order; equal times keep the batches' order), read from the batches'
/// bytes as they are merged, so memory is the generation's bytes. The heap
/// holds only (time, batch, thread); each thread's next event waits in its
/// cursor.
fn merge<'a>(
    batches: &'a [EventBatch],
    version: u32,
    counts: &'a mut Counts,
    sched: &'a mut ProcOrder,
) -> Result<impl Iterator<Item = Result<Rec>> + 'a> {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    // One stream per thread, its batches in order (a thread writes one
    // batch after the other, as Go's reader also takes them), so the heap
    // holds a cursor per thread, not per batch. Ties go by batch order.
    let mut order: Vec<u64> = Vec::new();
    let mut by_m: FxHashMap<u64, Vec<usize>> = FxHashMap::default();
    for (i, b) in batches.iter().enumerate() {
        by_m.entry(b.m)
            .or_insert_with(|| {
                order.push(b.m);
                Vec::new()
            })
            .push(i);
    }
    let mut streams: Vec<(std::vec::IntoIter<usize>, usize, Cursor<'a>)> = Vec::new();
    let mut heap = BinaryHeap::with_capacity(order.len());
    for m in order {
        let mut idx = by_m.remove(&m).unwrap_or_default().into_iter();
        // The stream's first batch with a timed event.
        while let Some(i) = idx.next() {
            let b = &batches[i];
            let mut c = Cursor {
                r: crate::wire::SliceEvents::new(&b.bytes[..], version)?,
                m: b.m,
                now: b.time,
                next: None,
            };
            c.advance(counts)?;
            if let Some(r) = &c.next {
                heap.push(Reverse((r.ts, i, streams.len())));
                streams.push((idx, i, c));
                break;
            }
        }
    }
    // Threads whose next event must wait for another thread's (see
    // `ProcOrder::ready`), set aside until something else happened.
    let mut waiting: Vec<Reverse<(u64, usize, usize)>> = Vec::new();
    Ok(std::iter::from_fn(move || {
        loop {
            match heap.peek() {
                Some(&Reverse((_, _, k))) => {
                    let ready = streams[k].2.next.as_ref().is_none_or(|r| sched.ready(r));
                    if !ready {
                        waiting.extend(heap.pop());
                        continue;
                    }
                }
                // Every thread waits on another: the trace is not what the
                // rules expect, so go on in time order rather than stop.
                None if !waiting.is_empty() => {
                    waiting.sort();
                    let first = waiting.remove(0);
                    heap.push(first);
                }
                None => return None,
            }
            break;
        }
        let mut top = heap.peek_mut()?;
        let k = top.0.2;
        let (rest, batch, c) = &mut streams[k];
        let mut rec = c.next.take()?;
        sched.apply(&rec);
        // A goroutine's status names the thread it runs on: by its dense
        // number, as everywhere after this.
        if matches!(rec.typ, ev::GO_STATUS | ev::GO_STATUS_STACK) && rec.a[1] != u64::MAX {
            let next = sched.dense.len() as u64;
            rec.a[1] = *sched.dense.entry(rec.a[1]).or_insert(next);
        }
        if let Err(e) = c.advance(counts) {
            return Some(Err(e));
        }
        // This batch is done: on to the thread's next one.
        while c.next.is_none() {
            let Some(i) = rest.next() else { break };
            let b = &batches[i];
            *batch = i;
            c.now = b.time;
            c.r = match crate::wire::SliceEvents::new(&b.bytes[..], version) {
                Ok(r) => r,
                Err(e) => return Some(Err(e)),
            };
            if let Err(e) = c.advance(counts) {
                return Some(Err(e));
            }
        }
        match &c.next {
            // Replace the top in place: one sift instead of a pop and a push.
            Some(n) => {
                *top = Reverse((n.ts, *batch, k));
                drop(top);
            }
            None => {
                std::collections::binary_heap::PeekMut::pop(top);
            }
        }
        // Something happened: the waiting threads may go on.
        heap.extend(waiting.drain(..));
        Some(Ok(rec))
    }))
}

/// The little of the scheduler's state that orders events across threads
/// where their timestamps cannot (as Go's reader orders them): a thread
/// back from a system call that lost its P (`GoSyscallEndBlocked`) comes
/// after the P left the syscall state, and a steal (`ProcSteal`) after the
/// P entered it. Threads are the reader's dense numbers; Ps by id.
#[derive(Debug, Default)]
pub(crate) struct ProcOrder {
    /// The P each thread holds (by dense thread number).
    p_of_m: PerM,
    /// Ps in a system call: a flag per P id, and a set for ids too large
    /// for the vector (a corrupt trace).
    in_syscall: Vec<bool>,
    in_syscall_big: FxHashSet<u64>,
    /// Raw thread ids (a steal names its victim by one) to dense numbers.
    pub(crate) dense: FxHashMap<u64, u64>,
}

/// P ids kept in a vector; larger ones in a set.
const SMALL_P: u64 = 1 << 12;

impl ProcOrder {
    fn syscall(&self, p: u64) -> bool {
        if p < SMALL_P {
            self.in_syscall.get(p as usize).copied().unwrap_or(false)
        } else {
            self.in_syscall_big.contains(&p)
        }
    }

    fn set_syscall(&mut self, p: u64, on: bool) {
        if p < SMALL_P {
            let i = p as usize;
            if i >= self.in_syscall.len() {
                if !on {
                    return;
                }
                self.in_syscall.resize(i + 1, false);
            }
            self.in_syscall[i] = on;
        } else if on {
            self.in_syscall_big.insert(p);
        } else {
            self.in_syscall_big.remove(&p);
        }
    }

    #[inline]
    fn ready(&self, r: &Rec) -> bool {
        match r.typ {
            ev::GO_SYSCALL_END_BLOCKED => self.p_of_m.get(r.m).is_none_or(|p| !self.syscall(p)),
            ev::PROC_STEAL => self.syscall(r.a[0]),
            _ => true,
        }
    }

    #[inline]
    fn apply(&mut self, r: &Rec) {
        match r.typ {
            ev::PROC_START => {
                self.p_of_m.insert(r.m, r.a[0]);
                self.set_syscall(r.a[0], false);
            }
            ev::PROC_STOP => {
                if let Some(p) = self.p_of_m.get(r.m) {
                    self.p_of_m.remove(r.m);
                    self.set_syscall(p, false);
                }
            }
            ev::PROC_STEAL => {
                let p = r.a[0];
                self.set_syscall(p, false);
                if let Some(&victim) = self.dense.get(&r.a[2]) {
                    if self.p_of_m.get(victim) == Some(p) {
                        self.p_of_m.remove(victim);
                    }
                }
                if self.p_of_m.get(r.m) == Some(p) {
                    self.p_of_m.remove(r.m);
                }
            }
            // A P's state at a generation's start, on its thread's batch
            // (1 running, 3 in a syscall).
            ev::PROC_STATUS => {
                let (p, st) = (r.a[0], r.a[1]);
                if matches!(st, 1 | 3) {
                    self.p_of_m.insert(r.m, p);
                }
                self.set_syscall(p, st == 3);
            }
            ev::GO_SYSCALL_BEGIN => {
                if let Some(p) = self.p_of_m.get(r.m) {
                    self.set_syscall(p, true);
                }
            }
            ev::GO_SYSCALL_END => {
                if let Some(p) = self.p_of_m.get(r.m) {
                    self.set_syscall(p, false);
                }
            }
            _ => {}
        }
    }
}

/// A goroutine's time by state as the trace goes.
#[derive(Debug, Clone, Default)]
struct Life {
    /// The function it started in: an index in `Builder::entries`.
    entry: u32,
    state: State,
    /// Why it is waiting: an index in `Builder::reasons`.
    reason: u32,
    since: i64,
    exec: i64,
    sched: i64,
    syscall: i64,
    /// Time running inside mark assists (a goroutine can park inside one:
    /// that time is not counted), whether it is inside one, and since when
    /// it has run in it.
    assist: i64,
    in_assist: bool,
    assist_since: i64,
    /// Time blocked by reason index (a handful of reasons each).
    blocked: Vec<(u32, i64)>,
}

impl Life {
    /// Ends the current state at `t`, adding its time.
    fn close(&mut self, t: i64) {
        let dt = (t - self.since).max(0);
        match self.state {
            State::Running => self.exec += dt,
            State::Runnable => self.sched += dt,
            State::Syscall => self.syscall += dt,
            State::Waiting => match self.blocked.iter_mut().find(|b| b.0 == self.reason) {
                Some(b) => b.1 += dt,
                None => self.blocked.push((self.reason, dt)),
            },
            State::NotExist | State::Undetermined => {}
        }
        self.since = t;
    }
}

/// Adds a goroutine's time (its states closed) to its group.
fn add_life(
    groups: &mut FxHashMap<u32, GoroutineGroup>,
    life: Life,
    reasons: &[String],
    entries: &[String],
) {
    let g = groups.entry(life.entry).or_insert_with(|| GoroutineGroup {
        entry: entries
            .get(life.entry as usize)
            .cloned()
            .unwrap_or_default(),
        ..GoroutineGroup::default()
    });
    g.count += 1;
    g.exec_ns += life.exec;
    g.sched_wait_ns += life.sched;
    g.syscall_ns += life.syscall;
    g.gc_assist_ns += life.assist;
    for (reason, ns) in life.blocked {
        let why = reasons.get(reason as usize).map_or("", String::as_str);
        match g.blocked_ns.get_mut(why) {
            Some(v) => *v += ns,
            None => {
                g.blocked_ns.insert(why.to_string(), ns);
            }
        }
    }
}

/// Goroutines with the same entry function, and where their time went.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct GoroutineGroup {
    /// The function the goroutines started in (from their creation in the
    /// trace); empty for goroutines that existed before the trace began.
    pub entry: String,
    pub count: u64,
    /// Nanoseconds running, runnable (waiting for a P), in syscalls, and
    /// blocked by reason (as the runtime names it: `sync`, `chan receive`,
    /// `network`, `sleep`, ...).
    pub exec_ns: i64,
    pub sched_wait_ns: i64,
    pub syscall_ns: i64,
    /// Of the running time: assisting the GC (mark assists).
    pub gc_assist_ns: i64,
    pub blocked_ns: std::collections::BTreeMap<String, i64>,
    /// Of those alive at the end, how many spent over 90% of the trace
    /// blocked on channels, selects or locks, and the reason most of that
    /// time went to.
    pub stuck: u64,
    pub stuck_reason: String,
}

/// Share of the trace a goroutine must spend blocked on channels, selects
/// or locks to count as stuck.
pub const STUCK_SHARE: f64 = 0.9;

/// A frame as the profile keys it: function, file, line, PC.
pub type FrameKey = (String, String, u64, u64);

/// One stretch of a goroutine in the profiled state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stretch {
    pub goroutine: u64,
    /// When it began, in nanoseconds from the trace's first event.
    pub start_ns: i64,
    pub ns: i64,
    /// Where it began, innermost frame first.
    pub stack: Vec<FrameKey>,
    /// What else was going on meanwhile (for a likely cause).
    pub context: StretchContext,
}

/// What the rest of the program was doing during a stretch: how much of
/// it a GC stop of the world and GC marking covered, and how many
/// goroutines were runnable and in system calls when it ended.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct StretchContext {
    pub stw_ns: i64,
    /// The reason of the longest stop inside it.
    pub stw_reason: String,
    pub gc_marking_ns: i64,
    pub runnable_at_end: i64,
    pub in_syscalls_at_end: i64,
    /// GOMAXPROCS (the largest seen).
    pub procs: u64,
}

impl Stretch {
    /// The likely reason a runnable goroutine waited this long for a P,
    /// from what overlapped it; an inference, worded as one.
    pub fn likely_cause(&self) -> String {
        let c = &self.context;
        let ms = |ns: i64| format!("{:.3} ms", ns as f64 / 1e6);
        let procs = i64::try_from(c.procs.max(1)).unwrap_or(i64::MAX);
        if c.stw_ns * 2 >= self.ns && c.stw_ns > 0 {
            format!(
                "a stop of the world ({}) covered {} of it",
                c.stw_reason,
                ms(c.stw_ns)
            )
        } else if c.gc_marking_ns * 2 >= self.ns && c.gc_marking_ns > 0 {
            format!(
                "the GC was marking for {} of it (its workers and assists take Ps)",
                ms(c.gc_marking_ns)
            )
        } else if c.runnable_at_end >= 2 * procs {
            format!(
                "{} goroutines were runnable when it got a P, for {} Ps (a pile-up: more ready \
                 work than Ps)",
                c.runnable_at_end, c.procs
            )
        } else if c.in_syscalls_at_end >= procs {
            format!(
                "{} goroutines were in system calls when it got a P",
                c.in_syscalls_at_end
            )
        } else {
            format!(
                "the Ps were busy running other goroutines (GC stops and marking overlapped {} of \
                 it; {} goroutines runnable and {} in system calls when it got a P)",
                ms(c.stw_ns + c.gc_marking_ns),
                c.runnable_at_end,
                c.in_syscalls_at_end
            )
        }
    }
}

/// A profile and its longest stretches.
#[derive(Debug, Clone)]
pub struct Analysis {
    /// What it profiles.
    pub kind: Kind,
    pub profile: Profile,
    /// The longest stretches, longest first (at most [`WORST`]).
    pub worst: Vec<Stretch>,
    /// Per stack: stretches and their summed nanoseconds, most first.
    pub by_stack: Vec<(Vec<FrameKey>, i64, i64)>,
    /// The trace ends early: where; only its complete generations are
    /// in the profile.
    pub truncated: Option<String>,
    /// Every counted stretch's duration.
    pub durations: Histogram,
}

/// Longest stretches kept.
pub const WORST: usize = 10;

impl Analysis {
    /// An analysis of `kind` that found nothing.
    pub fn empty(kind: Kind) -> Analysis {
        Analysis {
            kind,
            profile: Profile::default(),
            worst: Vec::new(),
            by_stack: Vec::new(),
            truncated: None,
            durations: Histogram::default(),
        }
    }
}

/// What one profile follows: the stretches open now, the finished ones
/// summed per stack, and the longest.
#[derive(Default)]
struct Tracker {
    kind: Option<Kind>,
    /// Per stack: stretches and summed nanoseconds.
    /// (Indexed by interned stack: a vector, not a hash per stretch.)
    per_stack: Vec<(i64, i64)>,
    /// Finished stretches of goroutines that had not run yet when they
    /// ended: counted at the end if the goroutine never ran (as `go tool
    /// trace` does).
    deferred: Vec<(u64, i64, i64, usize)>,
    /// The longest stretches: (ns, goroutine, start, stack), at most
    /// [`WORST`].
    worst: Vec<Worst>,
    latency: Histogram,
}

/// One of the longest stretches: (ns, goroutine, start, stack, and the
/// goroutines runnable and in syscalls when it ended).
type Worst = (i64, u64, i64, usize, (i64, i64));

/// Durations by logarithmic bucket (16 per power of two, so a percentile
/// read from it is within about 6% of the exact one), with the exact
/// count, sum and maximum.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Histogram {
    buckets: Vec<u64>,
    pub count: u64,
    pub sum_ns: i64,
    pub max_ns: i64,
}

impl Histogram {
    fn bucket(ns: i64) -> usize {
        let v = ns.max(1) as u64;
        let b = 64 - v.leading_zeros() as usize; // 1..=64
        let sub = if b > 4 { (v >> (b - 5)) & 0xf } else { v & 0xf } as usize;
        b * 16 + sub
    }

    /// The smallest duration in bucket `i` (the inverse of `bucket`).
    fn low(i: usize) -> i64 {
        let (b, sub) = (i / 16, (i % 16) as u64);
        if b <= 4 {
            return sub as i64;
        }
        ((16 + sub) << (b - 5)) as i64
    }

    fn add(&mut self, ns: i64) {
        let i = Histogram::bucket(ns);
        if self.buckets.len() <= i {
            self.buckets.resize(i + 1, 0);
        }
        self.buckets[i] += 1;
        self.count += 1;
        self.sum_ns += ns;
        self.max_ns = self.max_ns.max(ns);
    }

    /// The duration below which a fraction `q` (0..=1) of them fall (the
    /// bucket's lower bound; the maximum for q = 1).
    pub fn quantile(&self, q: f64) -> i64 {
        if self.count == 0 {
            return 0;
        }
        if q >= 1.0 {
            return self.max_ns;
        }
        let want = ((self.count as f64) * q).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= want {
                return Histogram::low(i).min(self.max_ns);
            }
        }
        self.max_ns
    }
}

impl Tracker {
    /// Counts a stretch; `busy` is (runnable, in syscalls) when it ended.
    fn add(&mut self, g: u64, start: i64, end: i64, s: usize, life_start: i64, busy: (i64, i64)) {
        let overlap = end - start.max(life_start);
        if overlap <= 0 {
            return;
        }
        self.latency.add(overlap);
        if self.per_stack.len() <= s {
            self.per_stack.resize(s + 1, (0, 0));
        }
        let e = &mut self.per_stack[s];
        e.0 += 1;
        e.1 += overlap;
        // `worst` is kept longest first: compare with its shortest.
        if self.worst.len() < WORST || self.worst.last().is_some_and(|w| w.0 < overlap) {
            self.worst.push((overlap, g, start, s, busy));
            self.worst.sort_by_key(|w| std::cmp::Reverse(w.0));
            self.worst.truncate(WORST);
        }
    }
}

#[derive(Default)]
struct Builder {
    trackers: Vec<Tracker>,
    /// A timeline being written, when asked for.
    export: Option<Box<dyn crate::export::Sink>>,
    export_err: Option<std::io::Error>,
    /// Tracks announced to the timeline.
    tracks: std::collections::HashSet<u64>,
    /// The flow id of the unblock being turned into a transition.
    pending_flow: Option<u64>,
    /// For the timeline's P tracks: the P each thread holds, the P each
    /// running goroutine runs on, and the thread of the current event.
    p_of_m: PerM,
    p_of_g: FxHashMap<u64, u64>,
    cur_m: u64,
    next_flow: u64,
    /// User tasks and regions, when asked for.
    user: Option<UserStats>,
    /// State changes kept (of one goroutine, or of all), when asked for.
    log: Option<(Option<u64>, Vec<Transition>)>,
    /// Each goroutine's time by state, when asked for.
    lives: Option<FxHashMap<u64, Life>>,
    /// Nanoseconds per tick (Go's `frequency`).
    ns_per_tick: f64,
    /// Each goroutine's state, and when it first ran (ns).
    state: FxHashMap<u64, GState>,
    /// The most goroutines runnable at once, and when (ns).
    runnable_peak: (i64, i64),
    /// Goroutines runnable and in system calls now.
    runnable_now: i64,
    syscall_now: i64,
    /// GOMAXPROCS, the largest seen.
    procs: u64,
    /// GC stops of the world (start, end, reason) and marking phases
    /// (start, end), for the context of the longest stretches.
    stw_spans: Vec<(i64, i64, u32)>,
    gc_spans: Vec<(i64, i64)>,
    stw_open_at: Option<(i64, u32)>,
    gc_open_at: Option<i64>,
    /// Goroutines whose state must outlive them: a stretch of theirs
    /// waits for their first run to be counted (see `Tracker::deferred`).
    keep: FxHashSet<u64>,
    /// The time by state of goroutines that ended, by entry function
    /// (kept summed, so memory follows the goroutines alive, not all
    /// those the trace saw).
    retired: FxHashMap<u32, GoroutineGroup>,
    /// Entry functions, interned (index 0 is none: started before the
    /// trace), and the entry of each interned creation stack.
    entries: Vec<String>,
    entry_ids: HashMap<String, u32>,
    entry_of_stack: Vec<u32>,
    /// Reasons for waiting, interned (index 0 is none).
    reasons: Vec<String>,
    reason_ids: HashMap<String, u32>,
    /// The goroutine running on each thread.
    on_m: PerM,
    stacks: Vec<Vec<FrameKey>>,
    stack_ids: HashMap<Vec<FrameKey>, usize>,
    last_time: i64,
    first_time: Option<i64>,
    /// The time of the previous event of the merged stream.
    prev_time: Option<i64>,
    /// Mutator utilisation, when asked for.
    mmu: Option<crate::mmu::Tracker>,
    /// CPU samples per interned stack, when asked for.
    cpu: Option<Vec<i64>>,
    /// The reason of each thread's open stop of the world (for the MMU).
    stw_open: FxHashMap<u64, String>,
}

/// A value per thread (M), indexed by the thread's dense number (the
/// reading thread numbers Ms as it meets them), so the per-event lookups
/// are array reads, not hashes.
#[derive(Debug, Default)]
struct PerM(Vec<u64>);

impl PerM {
    const NONE: u64 = u64::MAX;

    fn get(&self, m: u64) -> Option<u64> {
        let v = *self.0.get(usize::try_from(m).ok()?)?;
        (v != Self::NONE).then_some(v)
    }

    fn insert(&mut self, m: u64, v: u64) {
        let Ok(i) = usize::try_from(m) else { return };
        if i >= self.0.len() {
            self.0.resize(i + 1, Self::NONE);
        }
        self.0[i] = v;
    }

    fn remove(&mut self, m: u64) {
        if let Some(slot) = usize::try_from(m).ok().and_then(|i| self.0.get_mut(i)) {
            *slot = Self::NONE;
        }
    }

    fn remove_value(&mut self, v: u64) {
        for slot in &mut self.0 {
            if *slot == v {
                *slot = Self::NONE;
            }
        }
    }
}

/// What the builder knows of a goroutine.
#[derive(Debug, Clone, Copy, Default)]
struct GState {
    state: State,
    /// The first time it ran (ns).
    started: Option<i64>,
    /// The stretch each tracker follows (by tracker index): its start
    /// (ns) and interned stack. Kept here so a change of state costs one
    /// lookup, not one per profile.
    open: [Option<(i64, u32)>; MAX_TRACKERS],
}

/// What one CPU sample stands for: runtime/pprof samples at 100 Hz (the
/// trace does not say; a program that set another rate scales every
/// figure by the same factor, shares are unchanged).
const CPU_PERIOD_NS: i64 = 10_000_000;

/// GC stops and marking phases kept for the context of stretches (a
/// trace with more keeps the first ones).
const MAX_SPANS: usize = 1 << 20;

/// Profiles one pass can follow (one per [`Kind`]).
const MAX_TRACKERS: usize = 4;

impl Builder {
    /// The index of reason `why` (interned once).
    fn reason_id(&mut self, why: &str) -> u32 {
        if why.is_empty() {
            return 0;
        }
        if self.reasons.is_empty() {
            self.reasons.push(String::new());
        }
        if let Some(&i) = self.reason_ids.get(why) {
            return i;
        }
        let i = u32::try_from(self.reasons.len()).unwrap_or(u32::MAX);
        self.reasons.push(why.to_string());
        self.reason_ids.insert(why.to_string(), i);
        i
    }

    /// The entry function of interned creation stack `stack`, interned.
    fn entry_of(&mut self, stack: usize) -> u32 {
        if let Some(&e) = self.entry_of_stack.get(stack) {
            if e != u32::MAX {
                return e;
            }
        }
        if self.entries.is_empty() {
            self.entries.push(String::new());
        }
        let name = self
            .stacks
            .get(stack)
            .and_then(|f| f.first())
            .map_or("", |f| f.0.as_str());
        let id = match self.entry_ids.get(name) {
            Some(&id) => id,
            None if name.is_empty() => 0,
            None => {
                let id = u32::try_from(self.entries.len()).unwrap_or(u32::MAX);
                self.entries.push(name.to_string());
                self.entry_ids.insert(name.to_string(), id);
                id
            }
        };
        if self.entry_of_stack.len() <= stack {
            self.entry_of_stack.resize(stack + 1, u32::MAX);
        }
        self.entry_of_stack[stack] = id;
        id
    }

    fn reason_text(&self, id: u32) -> &str {
        self.reasons.get(id as usize).map_or("", String::as_str)
    }

    fn time(&self, ts: u64) -> i64 {
        (ts as f64 * self.ns_per_tick) as i64
    }

    fn intern(&mut self, frames: Vec<FrameKey>) -> usize {
        if let Some(&i) = self.stack_ids.get(&frames) {
            return i;
        }
        self.stacks.push(frames.clone());
        self.stack_ids.insert(frames, self.stacks.len() - 1);
        self.stacks.len() - 1
    }

    /// A goroutine changes state at `t` (ns); `reason` (an index in
    /// `reasons`) and `stack` are the event's.
    fn transition(&mut self, g: u64, to: State, t: i64, reason: u32, stack: usize) {
        let flow = self.pending_flow.take();
        if self.export.is_some() {
            let from = self.state.get(&g).map(|s| s.state).unwrap_or_default();
            let why = self.reason_text(reason).to_string();
            self.timeline(g, from, to, t, &why, flow);
        }
        // The goroutine's entry, looked up once; the other fields beside it.
        let Builder {
            state,
            log,
            mmu,
            lives,
            trackers,
            reasons,
            stacks,
            keep,
            p_of_m,
            cur_m,
            runnable_now,
            syscall_now,
            runnable_peak,
            ..
        } = self;
        let gs = state.entry(g).or_default();
        let from = gs.state;
        for (st, d) in [(from, -1i64), (to, 1)] {
            match st {
                State::Runnable => *runnable_now += d,
                State::Syscall => *syscall_now += d,
                _ => {}
            }
        }
        let busy = ((*runnable_now).max(0), (*syscall_now).max(0));
        if busy.0 > runnable_peak.0 {
            *runnable_peak = (busy.0, t);
        }
        if let Some((filter, log)) = log {
            if filter.is_none_or(|f| f == g) {
                log.push(Transition {
                    time_ns: t,
                    goroutine: g,
                    from: from.name(),
                    to: to.name(),
                    reason: reasons.get(reason as usize).cloned().unwrap_or_default(),
                    stack: stacks.get(stack).cloned().unwrap_or_default(),
                });
            }
        }
        if let Some(u) = mmu {
            if from.executing() != to.executing() {
                u.executing(g, p_of_m.get(*cur_m), to.executing());
            }
        }
        if let Some(lives) = lives {
            let life = lives.entry(g).or_insert_with(|| Life {
                since: t,
                ..Life::default()
            });
            life.close(t);
            if life.in_assist {
                // Only the running part of an assist counts.
                if life.state == State::Running && to != State::Running {
                    life.assist += t - life.assist_since;
                } else if to == State::Running {
                    life.assist_since = t;
                }
            }
            life.state = to;
            life.reason = reason;
        }
        gs.state = to;
        if gs.started.is_none() && to == State::Running {
            gs.started = Some(t);
        }
        let why = reasons.get(reason as usize).map_or("", String::as_str);
        for (tr, open) in trackers.iter_mut().zip(gs.open.iter_mut()) {
            let Some(kind) = tr.kind else { continue };
            match *open {
                None => {
                    if to == kind.state() && kind.tracks(why) {
                        *open = Some((t, u32::try_from(stack).unwrap_or(u32::MAX)));
                    }
                }
                Some(_) if to == kind.state() => {}
                Some((start, s)) => {
                    *open = None;
                    let s = s as usize;
                    match gs.started {
                        // Counted from the goroutine's first run.
                        Some(life_start) if life_start <= t => {
                            tr.add(g, start, t, s, life_start, busy);
                        }
                        _ => {
                            tr.deferred.push((g, start, t, s));
                            keep.insert(g);
                        }
                    }
                }
            }
        }
        if to == State::NotExist {
            self.retire(g);
        }
    }

    /// Goroutine `g` has ended: what is known of it is summed into its
    /// group and dropped.
    fn retire(&mut self, g: u64) {
        if self.keep.contains(&g) {
            self.state.insert(
                g,
                GState {
                    state: State::NotExist,
                    ..self.state.get(&g).copied().unwrap_or_default()
                },
            );
        } else {
            self.state.remove(&g);
        }
        let Some(life) = self.lives.as_mut().and_then(|l| l.remove(&g)) else {
            return;
        };
        add_life(&mut self.retired, life, &self.reasons, &self.entries);
    }

    fn generation(
        &mut self,
        recs: impl Iterator<Item = Result<Rec>>,
        strings: &HashMap<u64, String>,
        stacks: &HashMap<u64, Vec<[u64; 4]>>,
        cpu: &[(u64, u64)],
    ) -> Result<()> {
        if let Some(u) = &mut self.mmu {
            u.generation();
        }
        // This generation's stack ids, resolved: a vector for the dense
        // ids the runtime hands out, a map beyond.
        const DENSE: u64 = 1 << 20;
        let mut resolved_dense: Vec<u32> = Vec::new();
        let mut resolved: FxHashMap<u64, usize> = FxHashMap::default();
        let mut stack_of = |b: &mut Builder, id: u64| -> usize {
            if id < DENSE {
                if let Some(&i) = resolved_dense.get(id as usize) {
                    if i != u32::MAX {
                        return i as usize;
                    }
                }
            } else if let Some(&i) = resolved.get(&id) {
                return i;
            }
            let frames: Vec<FrameKey> = stacks
                .get(&id)
                .map(|fs| {
                    // A frame at PC 0 stands for no stack (the runtime
                    // records one for unblocks from outside a goroutine);
                    // go tool trace's profiles show it as none.
                    fs.iter()
                        .filter(|f| f[0] != 0)
                        .map(|f| {
                            let s = |i: u64| strings.get(&i).cloned().unwrap_or_default();
                            (s(f[1]), s(f[2]), f[3], f[0])
                        })
                        .collect()
                })
                .unwrap_or_default();
            let i = b.intern(frames);
            match u32::try_from(i) {
                Ok(small) if id < DENSE => {
                    if resolved_dense.len() <= id as usize {
                        resolved_dense.resize(id as usize + 1, u32::MAX);
                    }
                    resolved_dense[id as usize] = small;
                }
                _ => {
                    resolved.insert(id, i);
                }
            }
            i
        };
        if self.cpu.is_some() {
            for &(id, n) in cpu {
                let s = stack_of(self, id);
                if let Some(per) = &mut self.cpu {
                    if per.len() <= s {
                        per.resize(s + 1, 0);
                    }
                    per[s] += i64::try_from(n).unwrap_or(i64::MAX);
                }
            }
        }
        let reason = |id: u64| strings.get(&id).map_or("", String::as_str);
        // This generation's string ids of reasons, interned.
        let mut reason_ids: FxHashMap<u64, u32> = FxHashMap::default();
        let mut reason_id = |b: &mut Builder, id: u64| -> u32 {
            if let Some(&i) = reason_ids.get(&id) {
                return i;
            }
            let i = b.reason_id(reason(id));
            reason_ids.insert(id, i);
            i
        };
        for r in recs {
            let r = r?;
            // As Go's reader does: times strictly increase along the
            // merged stream (equal stamps of two threads are nudged).
            let mut t = self.time(r.ts);
            if let Some(prev) = self.prev_time {
                if t <= prev {
                    t = prev + 1;
                }
            }
            self.prev_time = Some(t);
            self.last_time = self.last_time.max(t);
            self.first_time = Some(self.first_time.map_or(t, |f| f.min(t)));
            let cur = self.on_m.get(r.m);
            self.cur_m = r.m;
            if self.export.is_some() || self.mmu.is_some() {
                match r.typ {
                    ev::PROC_START => {
                        self.p_of_m.insert(r.m, r.a[0]);
                    }
                    ev::PROC_STOP => {
                        self.p_of_m.remove(r.m);
                    }
                    ev::PROC_STEAL => {
                        let p = r.a[0];
                        self.p_of_m.remove_value(p);
                    }
                    // A P running (1) or in a syscall (3) at a generation's
                    // start belongs to this thread.
                    ev::PROC_STATUS if matches!(r.a[1], 1 | 3) => {
                        self.p_of_m.insert(r.m, r.a[0]);
                    }
                    _ => {}
                }
            }
            if self.mmu.is_some()
                && matches!(
                    r.typ,
                    ev::PROCS_CHANGE
                        | ev::STW_BEGIN
                        | ev::STW_END
                        | ev::GC_SWEEP_BEGIN
                        | ev::GC_SWEEP_END
                        | ev::GC_SWEEP_ACTIVE
                        | ev::GC_MARK_ASSIST_BEGIN
                        | ev::GC_MARK_ASSIST_END
                        | ev::GC_MARK_ASSIST_ACTIVE
                        | ev::GO_LABEL
                )
            {
                self.utilization(&r, t, cur, strings);
            }
            match r.typ {
                ev::GO_CREATE => {
                    if self.lives.is_some() {
                        let stack = stack_of(self, r.a[1]);
                        let entry = self.entry_of(stack);
                        if let Some(lives) = &mut self.lives {
                            lives.entry(r.a[0]).or_default().entry = entry;
                        }
                    }
                    let s = stack_of(self, r.a[2]);
                    self.state.entry(r.a[0]).or_default().state = State::NotExist;
                    self.transition(r.a[0], State::Runnable, t, 0, s);
                }
                ev::GO_CREATE_BLOCKED => {
                    let s = stack_of(self, r.a[2]);
                    self.state.entry(r.a[0]).or_default().state = State::NotExist;
                    self.transition(r.a[0], State::Waiting, t, 0, s);
                }
                ev::GO_CREATE_SYSCALL => {
                    self.state.entry(r.a[0]).or_default().state = State::NotExist;
                    self.on_m.insert(r.m, r.a[0]);
                    let s = stack_of(self, 0);
                    self.transition(r.a[0], State::Syscall, t, 0, s);
                }
                ev::GO_START => {
                    self.on_m.insert(r.m, r.a[0]);
                    let s = stack_of(self, 0);
                    self.transition(r.a[0], State::Running, t, 0, s);
                }
                ev::GO_STOP | ev::GO_BLOCK => {
                    if let Some(g) = cur {
                        let to = if r.typ == ev::GO_STOP {
                            State::Runnable
                        } else {
                            State::Waiting
                        };
                        let s = stack_of(self, r.a[1]);
                        let why = reason_id(self, r.a[0]);
                        self.transition(g, to, t, why, s);
                        self.on_m.remove(r.m);
                    }
                }
                ev::GO_UNBLOCK => {
                    if self.export.is_some() {
                        if let Some(by) = cur {
                            self.next_flow += 1;
                            let flow = self.next_flow;
                            let track = crate::export::GOROUTINE_TRACKS + by;
                            let what = format!("unblock G{}", r.a[0]);
                            if self.tracks.contains(&track) {
                                self.sink(|s| s.instant(track, t, &what, Some(flow)));
                                self.pending_flow = Some(flow);
                            }
                        }
                    }
                    let s = stack_of(self, r.a[2]);
                    self.transition(r.a[0], State::Runnable, t, 0, s);
                }
                ev::GO_DESTROY | ev::GO_DESTROY_SYSCALL => {
                    if let Some(g) = cur {
                        let s = stack_of(self, 0);
                        self.transition(g, State::NotExist, t, 0, s);
                        self.on_m.remove(r.m);
                    }
                }
                ev::GO_SYSCALL_BEGIN => {
                    if let Some(g) = cur {
                        let s = stack_of(self, r.a[1]);
                        self.transition(g, State::Syscall, t, 0, s);
                    }
                }
                ev::GO_SYSCALL_END => {
                    if let Some(g) = cur {
                        let s = stack_of(self, 0);
                        self.transition(g, State::Running, t, 0, s);
                    }
                }
                ev::GO_SYSCALL_END_BLOCKED => {
                    if let Some(g) = cur {
                        let s = stack_of(self, 0);
                        self.transition(g, State::Runnable, t, 0, s);
                        self.on_m.remove(r.m);
                    }
                }
                ev::GO_SWITCH | ev::GO_SWITCH_DESTROY => {
                    let s = stack_of(self, 0);
                    if let Some(g) = cur {
                        let to = if r.typ == ev::GO_SWITCH {
                            State::Waiting
                        } else {
                            State::NotExist
                        };
                        let why = self.reason_id("coroutine");
                        self.transition(g, to, t, why, s);
                    }
                    self.on_m.insert(r.m, r.a[0]);
                    self.transition(r.a[0], State::Running, t, 0, s);
                }
                ev::GO_STATUS | ev::GO_STATUS_STACK => {
                    let (g, m, st) = (r.a[0], r.a[1], status(r.a[2]));
                    if matches!(st, State::Running | State::Syscall) && m != u64::MAX {
                        self.on_m.insert(m, g);
                    }
                    let known = self.state.get(&g).map_or(State::Undetermined, |s| s.state);
                    if known != st {
                        let s = if r.typ == ev::GO_STATUS_STACK {
                            stack_of(self, r.a[3])
                        } else {
                            stack_of(self, 0)
                        };
                        self.transition(g, st, t, 0, s);
                    }
                }
                ev::GC_BEGIN => {
                    self.gc_open_at = Some(t);
                    self.global(crate::export::GC_TRACK, "GC", t, true);
                }
                ev::GC_END => {
                    if let Some(start) = self.gc_open_at.take() {
                        if self.gc_spans.len() < MAX_SPANS {
                            self.gc_spans.push((start, t));
                        }
                    }
                    self.global(crate::export::GC_TRACK, "", t, false);
                }
                ev::STW_BEGIN => {
                    let why = reason(r.a[0]);
                    if why.contains("GC") {
                        let id = reason_id(self, r.a[0]);
                        self.stw_open_at = Some((t, id));
                    }
                    let name = format!("STW: {why}");
                    self.global(crate::export::STW_TRACK, &name, t, true);
                }
                ev::STW_END => {
                    if let Some((start, why)) = self.stw_open_at.take() {
                        if self.stw_spans.len() < MAX_SPANS {
                            self.stw_spans.push((start, t, why));
                        }
                    }
                    self.global(crate::export::STW_TRACK, "", t, false);
                }
                ev::PROCS_CHANGE => self.procs = self.procs.max(r.a[0]),
                ev::GC_MARK_ASSIST_BEGIN | ev::GC_MARK_ASSIST_END => {
                    if let (Some(lives), Some(g)) = (&mut self.lives, cur) {
                        let life = lives.entry(g).or_default();
                        if r.typ == ev::GC_MARK_ASSIST_BEGIN {
                            life.in_assist = true;
                            life.assist_since = t;
                        } else if std::mem::take(&mut life.in_assist)
                            && life.state == State::Running
                        {
                            life.assist += t - life.assist_since;
                        }
                    }
                }
                ev::USER_TASK_BEGIN => {
                    if let Some(u) = &mut self.user {
                        u.open_tasks.insert(r.a[0], (reason(r.a[2]).to_string(), t));
                    }
                }
                ev::USER_TASK_END => {
                    if let Some(u) = &mut self.user {
                        if let Some((name, start)) = u.open_tasks.remove(&r.a[0]) {
                            u.tasks.entry(name).or_default().add(t - start);
                        }
                    }
                }
                ev::USER_REGION_BEGIN => {
                    if let (Some(u), Some(g)) = (&mut self.user, cur) {
                        u.open_regions
                            .entry(g)
                            .or_default()
                            .push((reason(r.a[1]).to_string(), t));
                    }
                }
                ev::USER_REGION_END => {
                    if let (Some(u), Some(g)) = (&mut self.user, cur) {
                        let name = reason(r.a[1]);
                        let open = u.open_regions.entry(g).or_default();
                        // The innermost open region of that name.
                        if let Some(i) = open.iter().rposition(|(n, _)| n == name) {
                            let (name, start) = open.remove(i);
                            u.regions.entry(name).or_default().add(t - start);
                        }
                    }
                }
                _ => {}
            }
            if let Some(u) = &mut self.mmu {
                u.tick(t);
            }
        }
        Ok(())
    }

    /// Follows the GC's share of the Ps through event `r` at `t` (the
    /// goroutine running on its thread is `cur`).
    fn utilization(&mut self, r: &Rec, t: i64, cur: Option<u64>, strings: &HashMap<u64, String>) {
        // Borrowed field by field: the tracker is large, and moving it out
        // and back for every event cost a fifth of the pass.
        let Builder {
            mmu: Some(u),
            p_of_m,
            stw_open,
            state,
            ..
        } = self
        else {
            return;
        };
        let p = p_of_m.get(r.m);
        let reason = |id: u64| strings.get(&id).map_or("", String::as_str);
        match r.typ {
            ev::PROCS_CHANGE => u.procs(r.a[0], t),
            ev::STW_BEGIN => {
                let why = format!("stop-the-world ({})", reason(r.a[0]));
                u.stw(&why, true);
                stw_open.insert(r.m, why);
            }
            ev::STW_END => {
                if let Some(why) = stw_open.remove(&r.m) {
                    u.stw(&why, false);
                }
            }
            ev::GC_SWEEP_BEGIN => u.sweep(p, true),
            ev::GC_SWEEP_END => u.sweep(p, false),
            ev::GC_SWEEP_ACTIVE => u.active(None, Some(r.a[0]), false, false),
            ev::GC_MARK_ASSIST_BEGIN => u.assist(cur, p, true),
            ev::GC_MARK_ASSIST_END => u.assist(cur, p, false),
            ev::GC_MARK_ASSIST_ACTIVE => {
                let g = r.a[0];
                let running = state.get(&g).is_some_and(|s| s.state.executing());
                u.active(Some(g), p, true, running);
            }
            ev::GO_LABEL => u.label(cur, p, reason(r.a[0])),
            _ => {}
        }
    }

    /// Writes a goroutine's change of state to the timeline: the slice of
    /// the old state ends, the new state's begins.
    fn timeline(
        &mut self,
        g: u64,
        from: State,
        to: State,
        t: i64,
        reason: &str,
        flow: Option<u64>,
    ) {
        let track = crate::export::GOROUTINE_TRACKS + g;
        if !self.tracks.contains(&track) {
            self.tracks.insert(track);
            let entry = self
                .lives
                .as_ref()
                .and_then(|l| l.get(&g))
                .and_then(|l| self.entries.get(l.entry as usize).cloned())
                .unwrap_or_default();
            let name = if entry.is_empty() {
                format!("G{g}")
            } else {
                format!("G{g} {entry}")
            };
            self.sink(|s| s.track(track, &name));
        }
        if !matches!(from, State::NotExist | State::Undetermined) {
            self.sink(|s| s.end(track, t));
        }
        // The P track: the goroutine's stretch of running on it.
        if from == State::Running {
            if let Some(p) = self.p_of_g.remove(&g) {
                self.sink(|s| s.end(crate::export::P_TRACKS + p, t));
            }
        }
        if to == State::Running {
            if let Some(p) = self.p_of_m.get(self.cur_m) {
                let ptrack = crate::export::P_TRACKS + p;
                if self.tracks.insert(ptrack) {
                    self.sink(|s| s.track(ptrack, &format!("P{p}")));
                }
                self.p_of_g.insert(g, p);
                let label = format!("G{g}");
                self.sink(|s| s.begin(ptrack, t, &label, None));
            }
        }
        let name = match to {
            State::Running => "running".to_string(),
            State::Runnable => "runnable".to_string(),
            State::Syscall => "syscall".to_string(),
            State::Waiting => format!("blocked: {reason}"),
            State::NotExist | State::Undetermined => return,
        };
        self.sink(|s| s.begin(track, t, &name, flow));
    }

    /// Runs `f` on the timeline, keeping its first error.
    fn sink(&mut self, f: impl FnOnce(&mut dyn crate::export::Sink) -> std::io::Result<()>) {
        if self.export_err.is_some() {
            return;
        }
        if let Some(s) = self.export.as_deref_mut() {
            if let Err(e) = f(s) {
                self.export_err = Some(e);
            }
        }
    }

    /// A slice on one of the global tracks (GC, STW).
    fn global(&mut self, track: u64, name: &str, t: i64, begin: bool) {
        if self.export.is_none() {
            return;
        }
        if self.tracks.insert(track) {
            let label = if track == crate::export::GC_TRACK {
                "GC"
            } else {
                "STW"
            };
            self.sink(|s| s.track(track, label));
        }
        if begin {
            self.sink(|s| s.begin(track, t, name, None));
        } else {
            self.sink(|s| s.end(track, t));
        }
    }

    /// The goroutines grouped by entry function, their open states closed
    /// at the end of the trace.
    fn groups(&mut self) -> Vec<GoroutineGroup> {
        let Some(lives) = self.lives.take() else {
            return Vec::new();
        };
        let end = self.last_time;
        let span = end - self.first_time.unwrap_or(end);
        let mut groups = std::mem::take(&mut self.retired);
        // Per group: the stuck goroutines' time by reason.
        let mut stuck_by: FxHashMap<u32, FxHashMap<u32, i64>> = FxHashMap::default();
        for (_, mut life) in lives {
            life.close(end);
            let on_sync: i64 = life
                .blocked
                .iter()
                .filter(|(r, _)| Kind::Sync.tracks(self.reason_text(*r)))
                .map(|(_, ns)| ns)
                .sum();
            let stuck = span > 0 && on_sync as f64 >= STUCK_SHARE * span as f64;
            if stuck {
                let by = stuck_by.entry(life.entry).or_default();
                for (r, ns) in &life.blocked {
                    *by.entry(*r).or_default() += ns;
                }
            }
            let entry = life.entry;
            add_life(&mut groups, life, &self.reasons, &self.entries);
            if stuck {
                if let Some(g) = groups.get_mut(&entry) {
                    g.stuck += 1;
                }
            }
        }
        for (entry, by) in stuck_by {
            if let (Some(g), Some((r, _))) = (
                groups.get_mut(&entry),
                by.iter()
                    .max_by_key(|(r, ns)| (**ns, std::cmp::Reverse(**r))),
            ) {
                g.stuck_reason = self.reason_text(*r).to_string();
            }
        }
        let total = |g: &GoroutineGroup| {
            g.exec_ns + g.sched_wait_ns + g.syscall_ns + g.blocked_ns.values().sum::<i64>()
        };
        let mut out: Vec<GoroutineGroup> = groups.into_values().collect();
        out.sort_by(|a, b| total(b).cmp(&total(a)).then_with(|| a.entry.cmp(&b.entry)));
        out
    }

    fn finish(self) -> (Vec<Analysis>, Option<Profile>) {
        let Builder {
            trackers,
            cpu,
            state,
            stw_spans,
            gc_spans,
            reasons,
            procs,
            stacks,
            first_time,
            ..
        } = self;
        let cpu = cpu.filter(|per| per.iter().any(|n| *n > 0)).map(|per| {
            let per_stack: FxHashMap<usize, (i64, i64)> = per
                .iter()
                .enumerate()
                .filter(|(_, n)| **n > 0)
                .map(|(s, n)| (s, (*n, n.saturating_mul(CPU_PERIOD_NS))))
                .collect();
            let mut p = build_profile(
                &stacks,
                &per_stack,
                [("samples", "count"), ("cpu", "nanoseconds")],
            );
            p.period_type = ValueType::new("cpu", "nanoseconds");
            p.period = CPU_PERIOD_NS;
            p
        });
        let analyses = trackers
            .into_iter()
            .map(|mut tr| {
                // A goroutine that never ran counts whole; one that ran
                // only after the stretch ended does not count it.
                for (g, start, end, s) in std::mem::take(&mut tr.deferred) {
                    let life_start = state.get(&g).and_then(|s| s.started).unwrap_or(0);
                    if life_start <= end {
                        tr.add(g, start, end, s, life_start, (0, 0));
                    }
                }
                let per_stack: FxHashMap<usize, (i64, i64)> = tr
                    .per_stack
                    .iter()
                    .enumerate()
                    .filter(|(_, v)| v.0 > 0)
                    .map(|(s, v)| (s, *v))
                    .collect();
                let mut by_stack: Vec<(Vec<FrameKey>, i64, i64)> = per_stack
                    .iter()
                    .map(|(s, (n, ns))| (stacks[*s].clone(), *n, *ns))
                    .collect();
                by_stack.sort_by_key(|b| std::cmp::Reverse(b.2));
                Analysis {
                    kind: tr.kind.unwrap_or(Kind::Sync),
                    profile: build_profile(
                        &stacks,
                        &per_stack,
                        [("contentions", "count"), ("delay", "nanoseconds")],
                    ),
                    worst: tr
                        .worst
                        .iter()
                        .map(|&(ns, goroutine, start, s, busy)| {
                            let end = start + ns;
                            let overlap = |a: i64, b: i64| (b.min(end) - a.max(start)).max(0);
                            // Spans are in time order: those that end after
                            // the stretch starts, until one starts after it.
                            let from = stw_spans.partition_point(|x| x.1 < start);
                            let mut context = StretchContext {
                                runnable_at_end: busy.0,
                                in_syscalls_at_end: busy.1,
                                procs,
                                ..StretchContext::default()
                            };
                            let mut longest = 0;
                            for &(a, b, why) in stw_spans[from..].iter().take_while(|x| x.0 < end) {
                                let o = overlap(a, b);
                                context.stw_ns += o;
                                if o > longest {
                                    longest = o;
                                    context.stw_reason =
                                        reasons.get(why as usize).cloned().unwrap_or_default();
                                }
                            }
                            let from = gc_spans.partition_point(|x| x.1 < start);
                            context.gc_marking_ns = gc_spans[from..]
                                .iter()
                                .take_while(|x| x.0 < end)
                                .map(|&(a, b)| overlap(a, b))
                                .sum();
                            Stretch {
                                goroutine,
                                start_ns: start - first_time.unwrap_or(0),
                                ns,
                                stack: stacks[s].clone(),
                                context,
                            }
                        })
                        .collect(),
                    by_stack,
                    truncated: None,
                    durations: tr.latency.clone(),
                }
            })
            .collect();
        (analyses, cpu)
    }
}

/// A profile of two values per stack, of the types named.
fn build_profile(
    stacks: &[Vec<FrameKey>],
    per_stack: &FxHashMap<usize, (i64, i64)>,
    types: [(&str, &str); 2],
) -> Profile {
    let mut p = Profile {
        sample_types: types.iter().map(|(t, u)| ValueType::new(t, u)).collect(),
        samples: Samples::new(),
        ..Profile::default()
    };
    let mut functions: HashMap<(String, String), u32> = HashMap::new();
    let mut locations: HashMap<FrameKey, u32> = HashMap::new();
    let mut order: Vec<(usize, (i64, i64))> = per_stack.iter().map(|(k, v)| (*k, *v)).collect();
    order.sort_by_key(|(s, _)| *s);
    for (s, (count, delay)) in order {
        let mut locs = Vec::new();
        for f in &stacks[s] {
            let loc = match locations.get(f) {
                Some(&l) => l,
                None => {
                    let func = match functions.get(&(f.0.clone(), f.1.clone())) {
                        Some(&i) => i,
                        None => {
                            p.functions.push(Function {
                                id: p.functions.len() as u64 + 1,
                                name: f.0.clone(),
                                system_name: f.0.clone(),
                                filename: f.1.clone(),
                                start_line: 0,
                            });
                            let i = (p.functions.len() - 1) as u32;
                            functions.insert((f.0.clone(), f.1.clone()), i);
                            i
                        }
                    };
                    p.locations.push(Location {
                        id: p.locations.len() as u64 + 1,
                        mapping: None,
                        address: f.3,
                        lines: vec![Line {
                            function: func,
                            line: f.2 as i64,
                            column: 0,
                        }],
                        is_folded: false,
                    });
                    let l = (p.locations.len() - 1) as u32;
                    locations.insert(f.clone(), l);
                    l
                }
            };
            locs.push(loc);
        }
        let _ = p.samples.push(&locs, &[count, delay], &Default::default());
    }
    p
}

/// The blocking profile of a whole trace.
pub fn blocking_profile<R: BufRead + Send>(r: R, kind: Kind) -> Result<Profile> {
    Ok(analyze(r, kind)?.profile)
}

/// The blocking profile of a whole trace, with its longest stretches and
/// its stacks ranked.
pub fn analyze<R: BufRead + Send>(r: R, kind: Kind) -> Result<Analysis> {
    let mut all = analyze_all(r, &[kind])?;
    Ok(all.remove(0))
}

/// [`analyze`] for several kinds in one pass over the trace.
pub fn analyze_all<R: BufRead + Send>(r: R, kinds: &[Kind]) -> Result<Vec<Analysis>> {
    let req = Request {
        kinds: kinds.to_vec(),
        ..Request::default()
    };
    Ok(read(r, req)?.analyses)
}

/// Writes the trace's timeline to `sink` (Perfetto or Chrome JSON): a
/// track per goroutine with its states as slices, GC and STW tracks, and
/// flows for unblocks. Slices still open at the end close there.
pub fn export<R: BufRead + Send>(r: R, sink: Box<dyn crate::export::Sink>) -> Result<()> {
    let req = Request {
        export: Some(sink),
        ..Request::default()
    };
    read(r, req)?;
    Ok(())
}

/// Every goroutine's changes of state (or only `goroutine`'s), in order.
pub fn transitions<R: BufRead + Send>(r: R, goroutine: Option<u64>) -> Result<Vec<Transition>> {
    let req = Request {
        transitions: Some(goroutine),
        ..Request::default()
    };
    Ok(read(r, req)?.transitions)
}

/// How long user tasks and regions took, by type (those that ended in the
/// trace).
pub fn user_annotations<R: BufRead + Send>(r: R) -> Result<UserStats> {
    Ok(read(r, Request::default())?.user)
}

/// The program's share of the Ps over time, counting against it what
/// `flags` says (for the MMU).
pub fn utilization<R: BufRead + Send>(
    r: R,
    flags: crate::mmu::Flags,
) -> Result<crate::mmu::Utilization> {
    let req = Request {
        utilization: Some(flags),
        ..Request::default()
    };
    Ok(read(r, req)?
        .utilization
        .unwrap_or(crate::mmu::Utilization {
            flags,
            origin_ns: 0,
            points: Vec::new(),
            capped: false,
        }))
}

/// What one pass over a trace computes.
#[derive(Default)]
pub struct Request {
    /// Blocking profiles (and their longest stretches).
    pub kinds: Vec<Kind>,
    /// Goroutines grouped by entry function, with their time by state.
    pub goroutines: bool,
    /// Keep the changes of state: of one goroutine (`Some(Some(g))`) or
    /// of all (`Some(None)`).
    pub transitions: Option<Option<u64>>,
    /// Write the timeline here.
    pub export: Option<Box<dyn crate::export::Sink>>,
    /// Follow mutator utilisation, counting against it what these say.
    pub utilization: Option<crate::mmu::Flags>,
    /// Build a CPU profile from the trace's CPU samples.
    pub cpu: bool,
}

/// What one pass over a trace found, as its [`Request`] asked.
#[derive(Debug, Default)]
pub struct Output {
    /// One per requested kind, in order.
    pub analyses: Vec<Analysis>,
    pub groups: Vec<GoroutineGroup>,
    pub transitions: Vec<Transition>,
    pub user: UserStats,
    pub utilization: Option<crate::mmu::Utilization>,
    /// The CPU profile of the trace's CPU samples (when asked for and the
    /// trace has some): `samples/count` and `cpu/nanoseconds`, each
    /// sample counted as 10 ms (runtime/pprof's 100 Hz; the trace does not
    /// record the rate).
    pub cpu: Option<Profile>,
    /// The most goroutines runnable at once, and when (ns from the
    /// trace's first event).
    pub runnable_peak: (i64, i64),
    /// GOMAXPROCS, the largest seen.
    pub procs: u64,
    /// The summary, from the same reading (events in time order; a cut
    /// generation's events are counted here though left out of the rest).
    pub summary: Summary,
    /// Where a truncated trace ends (its complete generations were read).
    pub truncated: Option<String>,
}

/// Reads the trace once, computing what `req` asks for.
///
/// Two threads share the work: one reads the file, one generation at a
/// time, and merges its batches' events into time order; the caller's
/// thread follows the goroutines through them. Events pass between the two
/// in chunks over a bounded channel, so memory stays one generation's
/// bytes and a few chunks.
pub fn read<R: BufRead + Send>(r: R, req: Request) -> Result<Output> {
    let Request {
        kinds,
        goroutines,
        transitions,
        export,
        utilization,
        cpu,
    } = req;
    if kinds.len() > MAX_TRACKERS {
        return Err(crate::Error::Internal(
            "more profiles asked of one pass than there are kinds",
        ));
    }
    let mut b = Builder {
        trackers: kinds
            .iter()
            .map(|k| Tracker {
                kind: Some(*k),
                ..Tracker::default()
            })
            .collect(),
        ns_per_tick: 1.0,
        lives: (goroutines || export.is_some()).then(FxHashMap::default),
        export,
        log: transitions.map(|filter| (filter, Vec::new())),
        user: Some(UserStats::default()),
        mmu: utilization.map(crate::mmu::Tracker::new),
        cpu: cpu.then(Vec::new),
        ..Builder::default()
    };
    let (truncated, summary) = std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Msg>(4);
        let reader = std::thread::Builder::new()
            .name("trace-reader".into())
            .spawn_scoped(scope, move || produce(r, &tx))
            .map_err(crate::Error::Io)?;
        let got = consume(&mut b, &rx);
        // Dropped before the reader is joined, so a reader blocked on a
        // full channel sees the end and stops.
        drop(rx);
        reader
            .join()
            .map_err(|_| crate::Error::Internal("the trace reader thread panicked"))?;
        got
    })?;
    let mut out = finish(b, goroutines, truncated)?;
    out.summary = summary;
    Ok(out)
}

/// What the reading thread sends: a generation begins (its tables and
/// clock), its events in time order, its end; or the end of the trace
/// with the summary.
enum Msg {
    Begin {
        strings: std::sync::Arc<HashMap<u64, String>>,
        stacks: HashMap<u64, Vec<[u64; 4]>>,
        /// CPU samples: (stack id, count).
        cpu: Vec<(u64, u64)>,
        ns_per_tick: f64,
    },
    Events(Vec<Rec>),
    End,
    Failed(crate::Error),
    Done {
        truncated: Option<String>,
        summary: Box<Summary>,
    },
}

/// Events per chunk sent between the threads (1 MiB of them).
const CHUNK: usize = 16 * 1024;

/// The reading thread's state: where it sends, the summary it keeps, the
/// threads it has numbered.
struct Producer<'a> {
    tx: &'a std::sync::mpsc::SyncSender<Msg>,
    version: u32,
    tally: Tally,
    /// Cross-thread ordering state, and the threads numbered densely as
    /// they are met (see `PerM`).
    order: ProcOrder,
}

impl Producer<'_> {
    fn dense(&mut self, m: u64) -> u64 {
        let next = self.order.dense.len() as u64;
        *self.order.dense.entry(m).or_insert(next)
    }

    /// Merges a generation's batches and sends its events (only tallies
    /// them when `send` is false); false when the other side has stopped.
    fn generation(
        &mut self,
        batches: &[EventBatch],
        strings: std::sync::Arc<HashMap<u64, String>>,
        stacks: HashMap<u64, Vec<[u64; 4]>>,
        cpu: FxHashMap<u64, u64>,
        ns_per_tick: f64,
        send: bool,
    ) -> bool {
        if send {
            let begin = Msg::Begin {
                strings: strings.clone(),
                stacks,
                cpu: cpu.into_iter().collect(),
                ns_per_tick,
            };
            if self.tx.send(begin).is_err() {
                return false;
            }
        }
        let mut counts = [0u64; crate::spec::SPECS.len()];
        let mut chunk = Vec::with_capacity(if send { CHUNK } else { 0 });
        {
            let recs = match merge(batches, self.version, &mut counts, &mut self.order) {
                Ok(recs) => recs,
                Err(e) => {
                    // The error reaches the other side; this side stops.
                    let _ = self.tx.send(Msg::Failed(e));
                    return false;
                }
            };
            for r in recs {
                let r = match r {
                    Ok(r) => r,
                    Err(e) => {
                        let _ = self.tx.send(Msg::Failed(e));
                        return false;
                    }
                };
                self.tally.timed(r.typ, r.m, r.ts, &r.a);
                if !send {
                    continue;
                }
                chunk.push(r);
                if chunk.len() == CHUNK {
                    let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK));
                    if self.tx.send(Msg::Events(full)).is_err() {
                        return false;
                    }
                }
            }
        }
        for (total, n) in self.tally.counts().iter_mut().zip(counts) {
            *total += n;
        }
        // The stops' reasons, named while this generation's strings are
        // at hand.
        self.tally.resolve(&strings);
        !send
            || ((chunk.is_empty() || self.tx.send(Msg::Events(chunk)).is_ok())
                && self.tx.send(Msg::End).is_ok())
    }
}

/// The reading thread: generations in, merged events out, and the
/// summary at the end. A closed channel (the other side stopped) ends it
/// quietly.
fn produce<R: BufRead>(r: R, tx: &std::sync::mpsc::SyncSender<Msg>) {
    let fail = |e: crate::Error| {
        let _ = tx.send(Msg::Failed(e));
    };
    let mut reader = match WireReader::new(r) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let version = reader.version();
    let mut p = Producer {
        tx,
        version,
        tally: Tally::new(version),
        order: ProcOrder::default(),
    };
    let mut ev = RawEvent::default();
    let mut batches: Vec<EventBatch> = Vec::new();
    let mut strings: HashMap<u64, String> = HashMap::new();
    let mut stacks: HashMap<u64, Vec<[u64; 4]>> = HashMap::new();
    let mut cpu: FxHashMap<u64, u64> = FxHashMap::default();
    let mut ns_per_tick = 1.0f64;
    let mut generation: Option<u64> = None;
    let mut truncated = None;
    loop {
        match reader.next_into(&mut ev) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e @ crate::Error::Truncated { .. }) => {
                truncated = Some(e.to_string());
                break;
            }
            Err(e) => return fail(e),
        }
        p.tally.counts()[usize::from(ev.typ)] += 1;
        if ev.typ != ev::EVENT_BATCH {
            // Experimental batches and stray events carry nothing here.
            continue;
        }
        let arg = |i: usize| ev.args.get(i).copied().unwrap_or(0);
        let (g, m, time, size) = (arg(0), arg(1), arg(2), arg(3));
        if generation.is_some() && generation != Some(g) {
            let (s, k) = (std::mem::take(&mut strings), std::mem::take(&mut stacks));
            let c = std::mem::take(&mut cpu);
            if !p.generation(&batches, s.into(), k, c, ns_per_tick, true) {
                return;
            }
            batches.clear();
        }
        generation = Some(g);
        p.tally.batch(g, m);
        let bytes = match reader.read_raw(size) {
            Ok(bytes) => bytes,
            Err(e @ crate::Error::Truncated { .. }) => {
                truncated = Some(e.to_string());
                break;
            }
            Err(e) => return fail(e),
        };
        match bytes.first().copied() {
            Some(ev::STRINGS | ev::STACKS | ev::FREQUENCY | ev::SYNC | ev::CPU_SAMPLES) => {
                let mut t = TableBatch {
                    strings: &mut strings,
                    stacks: &mut stacks,
                    cpu: &mut cpu,
                    ns_per_tick: &mut ns_per_tick,
                    tally: &mut p.tally,
                };
                if let Err(e) = t.read(&bytes, version, m, time) {
                    return fail(e);
                }
            }
            None => {}
            Some(_) => {
                let m = p.dense(m);
                batches.push(EventBatch { m, time, bytes });
            }
        }
    }
    // A cut generation is left out of the analyses (its tables may be
    // missing), but its events are counted in the summary.
    let last = std::mem::take(&mut strings);
    if !p.generation(
        &batches,
        last.into(),
        stacks,
        cpu,
        ns_per_tick,
        truncated.is_none(),
    ) {
        return;
    }
    let summary = p
        .tally
        .finish(reader.offset(), truncated.clone(), &HashMap::new());
    let _ = tx.send(Msg::Done {
        truncated,
        summary: Box::new(summary),
    });
}

/// A batch of a generation's tables (strings, stacks, the clock, CPU
/// samples) read into them and into the summary.
struct TableBatch<'a> {
    strings: &'a mut HashMap<u64, String>,
    stacks: &'a mut HashMap<u64, Vec<[u64; 4]>>,
    /// CPU samples by stack id.
    cpu: &'a mut FxHashMap<u64, u64>,
    ns_per_tick: &'a mut f64,
    tally: &'a mut Tally,
}

impl TableBatch<'_> {
    fn read(&mut self, bytes: &[u8], version: u32, m: u64, time: u64) -> Result<()> {
        let mut r = WireReader::continuing(bytes, version)?;
        let mut t = RawEvent::default();
        let mut now = time;
        while r.next_into(&mut t)? {
            self.tally.counts()[usize::from(t.typ)] += 1;
            let arg = |i: usize| t.args.get(i).copied().unwrap_or(0);
            if t.spec().timed {
                now = now.wrapping_add(arg(0));
                self.tally
                    .timed(t.typ, m, now, t.args.get(1..).unwrap_or(&[]));
                continue;
            }
            self.tally.untimed(t.typ, &t.args);
            match t.typ {
                ev::STRING => {
                    if let Some(d) = &t.data {
                        self.strings
                            .insert(arg(0), String::from_utf8_lossy(d).into_owned());
                    }
                }
                ev::STACK => {
                    let frames = t.args[2.min(t.args.len())..]
                        .chunks_exact(4)
                        .map(|c| [c[0], c[1], c[2], c[3]])
                        .collect();
                    self.stacks.insert(arg(0), frames);
                }
                ev::FREQUENCY if arg(0) > 0 => {
                    *self.ns_per_tick = 1.0 / (arg(0) as f64 / 1e9);
                }
                ev::CPU_SAMPLE => *self.cpu.entry(arg(4)).or_default() += 1,
                _ => {}
            }
        }
        Ok(())
    }
}

/// The building thread: follows the generations the reader sends; the
/// trace's truncation, if any.
fn consume(
    b: &mut Builder,
    rx: &std::sync::mpsc::Receiver<Msg>,
) -> Result<(Option<String>, Summary)> {
    loop {
        match rx.recv() {
            Ok(Msg::Begin {
                strings,
                stacks,
                cpu,
                ns_per_tick,
            }) => {
                b.ns_per_tick = ns_per_tick;
                let events = GenerationEvents {
                    rx,
                    chunk: Vec::new().into_iter(),
                };
                b.generation(events, &strings, &stacks, &cpu)?;
            }
            Ok(Msg::Done { truncated, summary }) => return Ok((truncated, *summary)),
            Ok(Msg::Failed(e)) => return Err(e),
            Ok(Msg::Events(_) | Msg::End) | Err(_) => {
                return Err(crate::Error::Internal(
                    "the trace reader stopped mid-generation",
                ));
            }
        }
    }
}

/// One generation's events as they arrive in chunks.
struct GenerationEvents<'a> {
    rx: &'a std::sync::mpsc::Receiver<Msg>,
    chunk: std::vec::IntoIter<Rec>,
}

impl Iterator for GenerationEvents<'_> {
    type Item = Result<Rec>;

    fn next(&mut self) -> Option<Result<Rec>> {
        loop {
            if let Some(r) = self.chunk.next() {
                return Some(Ok(r));
            }
            match self.rx.recv() {
                Ok(Msg::Events(v)) => self.chunk = v.into_iter(),
                Ok(Msg::Failed(e)) => return Some(Err(e)),
                Ok(Msg::End) | Err(_) => return None,
                Ok(Msg::Begin { .. } | Msg::Done { .. }) => {
                    return Some(Err(crate::Error::Internal(
                        "the trace reader skipped a generation's end",
                    )));
                }
            }
        }
    }
}

/// Closes what the timeline left open and gathers the results.
fn finish(mut b: Builder, goroutines: bool, truncated: Option<String>) -> Result<Output> {
    if b.export.is_some() {
        // Close what is open at the end of the trace.
        let end = b.last_time;
        let open: Vec<u64> = b
            .state
            .iter()
            .filter(|(_, st)| !matches!(st.state, State::NotExist | State::Undetermined))
            .map(|(g, _)| *g)
            .collect();
        for g in open {
            let track = crate::export::GOROUTINE_TRACKS + g;
            b.sink(|s| s.end(track, end));
        }
        let running: Vec<u64> = b.p_of_g.values().copied().collect();
        for p in running {
            b.sink(|s| s.end(crate::export::P_TRACKS + p, end));
        }
        b.sink(|s| s.finish());
        if let Some(e) = b.export_err.take() {
            return Err(crate::Error::Io(e));
        }
    }
    let groups = if goroutines { b.groups() } else { Vec::new() };
    let transitions = b.log.take().map(|(_, l)| l).unwrap_or_default();
    let user = b.user.take().unwrap_or_default();
    let origin = b.first_time.unwrap_or(0);
    let utilization = b.mmu.take().map(|u| u.finish(origin));
    let runnable_peak = (b.runnable_peak.0, b.runnable_peak.1 - origin);
    let procs = b.procs;
    let (mut analyses, cpu) = b.finish();
    for a in &mut analyses {
        a.truncated.clone_from(&truncated);
    }
    Ok(Output {
        analyses,
        groups,
        transitions,
        user,
        utilization,
        cpu,
        runnable_peak,
        procs,
        summary: Summary::default(),
        truncated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_quantiles_are_within_a_bucket() {
        let mut h = Histogram::default();
        for ns in 1..=10_000 {
            h.add(ns);
        }
        for (q, exact) in [(0.5, 5_000.0), (0.9, 9_000.0), (0.99, 9_900.0)] {
            let got = h.quantile(q) as f64;
            assert!((got - exact).abs() / exact < 0.07, "q{q}: {got} vs {exact}");
        }
        assert_eq!(h.quantile(1.0), 10_000);
        for ns in [1, 7, 16, 17, 31, 32, 1000, 1 << 40] {
            assert!(Histogram::low(Histogram::bucket(ns)) <= ns, "{ns}");
        }
    }
}
