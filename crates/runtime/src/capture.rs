//! One reading of a Go process: raw goroutines plus everything needed to
//! turn them into the shared model, without building a
//! [`gosleuth_model::Goroutine`] per goroutine unless asked.

use std::collections::HashMap;

use rayon::prelude::*;

use gosleuth_memory::Memory;
use gosleuth_model::{
    Frame, FrameRef, Goroutine, Group, Grouper, Similarity, Snapshot, SnapshotMeta, Stack,
    StackRef, Status, Thread, WaitObject, WaitObjectKind,
};
use xxhash_rust::xxh3::xxh3_128;

use crate::error::Result;
use crate::goroutines::{RawGoroutine, read_headers, status, unwind_all};
use crate::labels;
use crate::source::Source;
use crate::symbolize::Symbols;
use crate::target::Target;
use crate::waits::WaitGraph;

/// Most stack references to channels whose frame variables are read
/// (from DWARF) to prove that the frame holds the channel, per capture.
const MAX_HELD_IN_CHECKS: usize = 4096;

/// How "now" is known, for wait durations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Now {
    /// The monotonic clock of this machine at capture (live processes).
    Clock(i64),
    /// The newest runtime timestamp found in the core.
    Estimated(i64),
    /// Nothing to go by.
    Unknown,
}

/// What a capture read and how: the raw goroutines, their labels and
/// symbols, and what was learned about the process. Generic over
/// [`Memory`] for the reader; everything above `runtime` sees a capture of
/// a [`Source`] (the default), through methods.
pub struct Capture<M = Source> {
    pub(crate) target: Target<M>,
    pub(crate) goroutines: Vec<RawGoroutine>,
    pub(crate) labels: Vec<Vec<(String, String)>>,
    pub(crate) symbols: Symbols,
    /// `created by` frames by `go` statement pc.
    go_sites: HashMap<u64, Frame>,
    /// Start functions by `g.startpc`.
    start_sites: HashMap<u64, Frame>,
    pub(crate) now: Now,
    /// The wait graph, when it was asked for.
    pub(crate) graph: WaitGraph,
    pub(crate) source: String,
    /// How long a live process was stopped.
    pub(crate) frozen_for: Option<std::time::Duration>,
    /// Frame pointers as a cross-check of the pcsp unwinding: frame links
    /// compared, and how many disagreed.
    pub(crate) fp_check: (u64, u64),
    /// How long each phase of the reading took, in order.
    pub(crate) phases: Vec<(&'static str, std::time::Duration)>,
    /// Keep compiler-generated wrapper frames (as `GOTRACEBACK=system`
    /// and Delve show them); off by default, as tracebacks leave them out.
    pub(crate) show_wrappers: bool,
}

/// What to read.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Build the wait graph (channels, semaphores, stack references).
    pub wait_graph: bool,
}

impl<M: Memory + Sync> Capture<M> {
    /// Reads all goroutines of `target`. `live_now` is the monotonic clock
    /// for a live process; cores estimate it.
    pub fn read(
        target: Target<M>,
        source: String,
        live_now: Option<i64>,
        opts: &Options,
    ) -> Result<Capture<M>> {
        Capture::read_with(target, source, live_now, opts, |_, _| {})
    }

    /// Like [`Capture::read`], calling `memory_read` once everything that
    /// must be read consistently has been (goroutine headers, labels,
    /// channel and semaphore queues): a live reader copies the stacks
    /// there and resumes the process before the unwinding.
    pub fn read_with(
        mut target: Target<M>,
        source: String,
        live_now: Option<i64>,
        opts: &Options,
        memory_read: impl FnOnce(&mut Target<M>, &[RawGoroutine]),
    ) -> Result<Capture<M>> {
        let mut phases = Vec::new();
        let mut t0 = std::time::Instant::now();
        let mut phase = |name: &'static str| {
            phases.push((name, t0.elapsed()));
            t0 = std::time::Instant::now();
        };
        let mut goroutines = read_headers(&target)?;
        goroutines.sort_unstable_by_key(|g| g.id);
        phase("goroutine headers");
        let labels = labels::read_all(&target, &goroutines);
        let now = match live_now {
            Some(n) => Now::Clock(n),
            None => estimate_now(&target, &goroutines),
        };
        let mut graph = if opts.wait_graph {
            crate::waits::wait_graph(&target, &goroutines)
        } else {
            WaitGraph::default()
        };
        phase("labels and wait queues");
        memory_read(&mut target, &goroutines);
        phase("stack copy");
        let fp_check = unwind_all(&target, &mut goroutines);
        phase("unwinding");
        if opts.wait_graph {
            crate::waits::find_references(&target, &goroutines, &mut graph.objects);
            phase("stack references");
        }
        Ok(Capture {
            target,
            goroutines,
            labels,
            symbols: Symbols::default(),
            go_sites: Default::default(),
            start_sites: Default::default(),
            now,
            graph,
            source,
            frozen_for: None,
            fp_check,
            phases,
            show_wrappers: false,
        })
    }
}

impl<M> Capture<M> {
    /// The same capture read through `f(memory)`: a core or a live process
    /// becomes a [`Source`] once its reading is done.
    pub fn map_memory<N>(self, f: impl FnOnce(M) -> N) -> Capture<N> {
        Capture {
            target: self.target.map_memory(f),
            goroutines: self.goroutines,
            labels: self.labels,
            symbols: self.symbols,
            go_sites: self.go_sites,
            start_sites: self.start_sites,
            now: self.now,
            graph: self.graph,
            source: self.source,
            frozen_for: self.frozen_for,
            fp_check: self.fp_check,
            phases: self.phases,
            show_wrappers: self.show_wrappers,
        }
    }

    /// The process read: its memory, binary, layouts and threads.
    pub fn target(&self) -> &Target<M> {
        &self.target
    }
    /// Every goroutine, sorted by id.
    pub fn goroutines(&self) -> &[RawGoroutine] {
        &self.goroutines
    }
    /// The pprof labels of goroutine `i` (index in [`Capture::goroutines`]).
    pub fn labels(&self, i: usize) -> &[(String, String)] {
        self.labels.get(i).map_or(&[], Vec::as_slice)
    }
    /// The symbols of every pc read.
    pub fn symbols(&self) -> &Symbols {
        &self.symbols
    }
    /// The wait graph (empty unless [`Options::wait_graph`] asked for it).
    pub fn graph(&self) -> &WaitGraph {
        &self.graph
    }
    /// How long a live process was stopped.
    pub fn frozen_for(&self) -> Option<std::time::Duration> {
        self.frozen_for
    }
    /// Frame pointers as a cross-check of the pcsp unwinding: frame links
    /// compared, and how many disagreed.
    pub fn fp_check(&self) -> (u64, u64) {
        self.fp_check
    }
    /// How long each phase of the reading took, in order.
    pub fn phases(&self) -> &[(&'static str, std::time::Duration)] {
        &self.phases
    }
    /// Whether compiler-generated wrapper frames are shown.
    pub fn shows_wrappers(&self) -> bool {
        self.show_wrappers
    }
    /// Shows compiler-generated wrapper frames (as `GOTRACEBACK=system`
    /// and Delve do) or not (as tracebacks do, the default).
    pub fn show_wrappers(&mut self, show: bool) {
        self.show_wrappers = show;
    }
}

/// The raw words that make two goroutines certainly look the same: pcs
/// (with the trap bit), status, wait reason, locked, creation site, labels.
fn raw_key(out: &mut Vec<u8>, g: &RawGoroutine) {
    for f in &g.frames {
        out.extend_from_slice(&f.pc.to_le_bytes());
        out.push(u8::from(f.trap()));
    }
    out.extend_from_slice(&g.status.to_le_bytes());
    out.extend_from_slice(&[g.wait_reason, u8::from(g.locked)]);
    out.extend_from_slice(&g.gopc.to_le_bytes());
    out.extend_from_slice(&g.labels.to_le_bytes());
}

/// A hasher for keys that are hashes already (xxh3 digests).
#[derive(Default)]
struct Prehashed(u64);

impl std::hash::Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for c in bytes.chunks(8) {
            let mut w = [0u8; 8];
            w[..c.len()].copy_from_slice(c);
            self.0 ^= u64::from_le_bytes(w);
        }
    }
    fn write_u128(&mut self, v: u128) {
        self.0 ^= v as u64;
    }
}

fn estimate_now<M: Memory>(t: &Target<M>, gs: &[RawGoroutine]) -> Now {
    let newest_wait = gs.iter().map(|g| g.waitsince).max().unwrap_or(0);
    let lastpoll = t
        .globals
        .lastpoll
        .and_then(|a| t.mem.read_u64(a).ok())
        .map_or(0, |v| v as i64);
    match newest_wait.max(lastpoll) {
        n if n > 0 => Now::Estimated(n),
        _ => Now::Unknown,
    }
}

impl<M: Memory> Capture<M> {
    /// Resolves the pcs of every goroutine (call once, after reading).
    pub fn symbolize(&mut self) {
        for g in &self.goroutines {
            self.symbols.add(&self.target, &g.frames);
            // Delve reads the innermost frame's line at its pc.
            if let Some(top) = g.frames.first().filter(|f| !f.trap()) {
                self.symbols.add_exact(&self.target, top);
            }
            if !self.start_sites.contains_key(&g.startpc) {
                if let Some(f) = Symbols::entry(&self.target, g.startpc) {
                    self.start_sites.insert(g.startpc, f);
                }
            }
            if !self.go_sites.contains_key(&g.gopc) {
                // The main goroutine is started by the runtime's bootstrap
                // code, which tracebacks do not show as a creator.
                if let Some(f) = Symbols::go_site(&self.target, g.gopc).filter(|f| {
                    !f.function.starts_with("runtime.newproc") && f.function != "runtime.rt0_go"
                }) {
                    self.go_sites.insert(g.gopc, f);
                }
            }
        }
    }

    /// The runtime's name of a goroutine's state (`chan receive`, `running`).
    pub fn state(&self, g: &RawGoroutine) -> String {
        self.state_str(g).to_string()
    }

    /// [`Capture::state`], borrowed: wait reason names live in the target.
    pub fn state_str(&self, g: &RawGoroutine) -> &str {
        self.target.state_of(g)
    }

    /// Nanoseconds blocked, when known.
    pub fn wait_nanos(&self, g: &RawGoroutine) -> Option<u64> {
        if g.waitsince <= 0 || !matches!(g.status, status::WAITING | status::LEAKED) {
            return None;
        }
        match self.now {
            Now::Clock(n) | Now::Estimated(n) => u64::try_from(n - g.waitsince).ok(),
            Now::Unknown => None,
        }
    }

    /// How "now" was found, in words.
    pub fn now_description(&self) -> String {
        match self.now {
            Now::Clock(_) => "the monotonic clock when the process was read".into(),
            Now::Estimated(_) => "estimated from the newest runtime timestamp in the core \
                 (sched.lastpoll or the latest g.waitsince); wait times are lower bounds"
                .into(),
            Now::Unknown => "unknown: no runtime timestamp in the core".into(),
        }
    }

    /// A view of goroutine `i` for grouping and conversion.
    pub fn view(&self, i: usize) -> View<'_, M> {
        View { c: self, i }
    }

    /// The shared-model goroutine `i`.
    pub fn goroutine(&self, i: usize) -> Goroutine {
        self.view(i).to_goroutine()
    }

    /// Groups the goroutines that `keep` accepts, by full stack.
    ///
    /// Goroutines with the same pcs, state, creation site and labels are
    /// certainly in one group, so they are first counted by a hash of
    /// those raw words; only one goroutine per distinct raw stack (plus up
    /// to [`Grouper::MAX_IDS`] ids) goes through the string-level grouper.
    pub fn group(&self, similarity: Similarity, keep: impl Fn(&View<'_, M>) -> bool) -> Vec<Group> {
        struct Raw {
            members: Vec<usize>,
            count: u64,
            wait_min: Option<u64>,
            wait_max: Option<u64>,
        }
        let mut raw: HashMap<u128, Raw> = HashMap::new();
        let mut order = Vec::new();
        let mut buf = Vec::with_capacity(256);
        for i in 0..self.goroutines.len() {
            let v = self.view(i);
            if !keep(&v) {
                continue;
            }
            let g = v.raw();
            buf.clear();
            raw_key(&mut buf, g);
            let key = xxh3_128(&buf);
            let wait = v.wait_minutes();
            let e = raw.entry(key).or_insert_with(|| {
                order.push(key);
                Raw {
                    members: Vec::new(),
                    count: 0,
                    wait_min: wait,
                    wait_max: wait,
                }
            });
            e.count += 1;
            if e.members.len() < Grouper::MAX_IDS {
                e.members.push(i);
            }
            e.wait_min = match (e.wait_min, wait) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            e.wait_max = e.wait_max.max(wait);
        }
        let mut grouper = Grouper::new(similarity);
        for key in order {
            let Some(r) = raw.remove(&key) else { continue };
            for &i in &r.members {
                grouper.add_stack(&self.view(i));
            }
            let rest = r.count - r.members.len() as u64;
            if rest > 0 {
                // The remaining goroutines, counted without their ids.
                grouper.add_stack(&Aggregate {
                    view: self.view(r.members[0]),
                    count: rest,
                    wait: r.wait_max.or(r.wait_min),
                });
            }
        }
        grouper.finish()
    }

    /// Threads with the goroutine each runs.
    pub fn threads(&self) -> Vec<Thread> {
        self.target
            .threads
            .iter()
            .map(|th| Thread {
                id: th.tid as u64,
                goroutine: self
                    .goroutines
                    .iter()
                    .find(|g| g.thread == Some(th.tid as u64) && g.status == status::RUNNING)
                    .or_else(|| {
                        self.goroutines
                            .iter()
                            .find(|g| g.thread == Some(th.tid as u64))
                    })
                    .map(|g| g.id),
                pc: th.regs.pc(),
                sp: th.regs.sp(),
            })
            .collect()
    }

    /// The wait graph in the model's terms: goroutine ids, indexes into
    /// the goroutines' shown frames, and owners named from DWARF.
    pub fn wait_objects(&self) -> Vec<WaitObject> {
        let gs = &self.goroutines;
        self.wait_objects_as(|i| gs[i].id)
    }

    /// [`Capture::wait_objects`] with goroutine indexes mapped by `id`.
    fn wait_objects_as(&self, id: impl Fn(usize) -> u64 + Sync) -> Vec<WaitObject> {
        let ids = |v: &[usize]| -> Vec<u64> { v.par_iter().map(|&i| id(i)).collect() };
        // Frames whose variables are read to prove who receives: a bound
        // on the DWARF work (a reference past it stays a candidate).
        let mut budget = MAX_HELD_IN_CHECKS;
        self.graph
            .objects
            .iter()
            .map(|o| {
                let mut owner = None;
                let referenced_by = o
                    .refs
                    .iter()
                    .map(|r| {
                        let chan = o.kind == WaitObjectKind::Channel;
                        if owner.is_none() && chan {
                            owner = r.field_offset.and_then(|off| self.field_name(r, off));
                        }
                        let held = if chan && r.receives && budget > 0 {
                            budget -= 1;
                            crate::values::var_holding(self, r.goroutine, r.frame, o.addr)
                        } else {
                            None
                        };
                        let elem_var = held.as_ref().is_some_and(|h| h.1);
                        let held_in = held.map(|h| h.0);
                        StackRef {
                            goroutine: id(r.goroutine),
                            frame: self.shown_frame_index(r.goroutine, r.frame),
                            indirect: r.indirect,
                            receives: r.receives,
                            held_in,
                            elem_var,
                        }
                    })
                    .collect();
                WaitObject {
                    addr: o.addr,
                    kind: o.kind,
                    channel: o.channel.clone(),
                    senders: ids(&o.senders),
                    receivers: ids(&o.receivers),
                    referenced_by,
                    owner,
                }
            })
            .collect()
    }

    /// `(*pkg.T).field` for a pointer found at `off` in a struct that a
    /// method of `*pkg.T` holds on its stack.
    fn field_name(&self, r: &crate::waits::RawRef, off: u32) -> Option<String> {
        let f = self.goroutines[r.goroutine].frames.get(r.frame)?;
        let func = self
            .target
            .bin
            .pcln()
            .func_for_pc(self.target.link_pc(f.pc))?;
        let name = func.name();
        let open = name.find(".(*")?;
        let close = name[open..].find(')')? + open;
        let ty = format!("{}.{}", &name[..open], &name[open + 3..close]);
        let d = self.target.bin.dwarf().ok().flatten()?;
        let info = d.type_by_name(&ty).ok().flatten()?;
        let field = info.fields.iter().find(|fl| {
            fl.offset == u64::from(off)
                && fl
                    .ty
                    .and_then(|id| d.go_type(id).ok().flatten())
                    .is_some_and(|t| t.name.starts_with("chan "))
        })?;
        Some(format!("(*{ty}).{}", field.name))
    }

    /// Like [`Capture::snapshot`], but goroutines that share everything the
    /// model shows (raw stack, state, creation site, start, labels and what
    /// they wait on) become one record with a `count`, as in a `debug=1`
    /// goroutine profile: a million parked goroutines cost as much as their
    /// distinct stacks. Ids in the wait objects are mapped to the id of
    /// their record (lists keep their lengths, so counts stay right).
    pub fn compact_snapshot(&self) -> Snapshot {
        // The keys are already hashes.
        let mut index: HashMap<u128, usize, std::hash::BuildHasherDefault<Prehashed>> =
            HashMap::default();
        // Per goroutine (same order as `self.goroutines`, sorted by id):
        // the id of its record.
        let mut record_id: Vec<u64> = Vec::with_capacity(self.goroutines.len());
        let mut goroutines: Vec<Goroutine> = Vec::new();
        // Keys in parallel; records in order.
        let waiting_for = &self.graph.waiting_for;
        let keys: Vec<u128> = self
            .goroutines
            .par_iter()
            .enumerate()
            .map_init(
                || Vec::with_capacity(256),
                |key, (i, g)| {
                    key.clear();
                    raw_key(key, g);
                    key.extend_from_slice(&g.startpc.to_le_bytes());
                    key.extend_from_slice(&g.thread.unwrap_or(0).to_le_bytes());
                    key.push(u8::from(g.broken.is_some()));
                    for w in waiting_for.get(i).into_iter().flatten() {
                        key.extend_from_slice(&w.to_le_bytes());
                    }
                    xxh3_128(key)
                },
            )
            .collect();
        for (i, (g, &key)) in self.goroutines.iter().zip(&keys).enumerate() {
            match index.entry(key) {
                std::collections::hash_map::Entry::Occupied(e) => {
                    let rec = &mut goroutines[*e.get()];
                    rec.count += 1;
                    rec.wait_minutes = rec.wait_minutes.max(self.view(i).wait_minutes());
                    record_id.push(rec.id);
                }
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(goroutines.len());
                    goroutines.push(self.goroutine(i));
                    record_id.push(g.id);
                }
            }
        }
        let mut objects = self.wait_objects_as(|i| record_id[i]);
        for o in &mut objects {
            o.referenced_by.sort_by_key(|r| (r.goroutine, r.frame));
            o.referenced_by.dedup_by_key(|r| (r.goroutine, r.frame));
        }
        let mut snap = self.snapshot_meta_only();
        snap.meta.warnings.push(format!(
            "{} goroutines aggregated into {} records with identical stacks and waits",
            self.goroutines.len(),
            goroutines.len()
        ));
        snap.goroutines = goroutines;
        snap.objects = objects;
        snap
    }

    /// A snapshot with the metadata and threads, and no goroutines.
    fn snapshot_meta_only(&self) -> Snapshot {
        let mut warnings = self.target.warnings.clone();
        warnings.extend(self.graph.warnings.iter().cloned());
        let broken = self
            .goroutines
            .iter()
            .filter(|g| g.broken.is_some())
            .count();
        if broken > 0 {
            warnings.push(format!(
                "{broken} goroutine stacks could not be fully unwound"
            ));
        }
        Snapshot {
            meta: SnapshotMeta {
                source: self.source.clone(),
                go_version: Some(self.target.go_version.clone()),
                now_estimate: Some(self.now_description()),
                warnings,
            },
            goroutines: Vec::new(),
            threads: self.threads(),
            objects: Vec::new(),
        }
    }

    /// Everything as a [`Snapshot`], one record per goroutine.
    pub fn snapshot(&self) -> Snapshot {
        let mut snap = self.snapshot_meta_only();
        snap.goroutines = (0..self.goroutines.len())
            .map(|i| self.goroutine(i))
            .collect();
        snap.objects = self.wait_objects();
        snap
    }
}

/// Many goroutines with one raw stack, counted as one.
struct Aggregate<'c, M> {
    view: View<'c, M>,
    count: u64,
    wait: Option<u64>,
}

impl<M: Memory> Stack for Aggregate<'_, M> {
    fn id(&self) -> u64 {
        0
    }
    fn count(&self) -> u64 {
        self.count
    }
    fn state(&self) -> &str {
        self.view.state()
    }
    fn locked(&self) -> bool {
        self.view.locked()
    }
    fn wait_minutes(&self) -> Option<u64> {
        self.wait
    }
    fn labels(&self) -> &[(String, String)] {
        self.view.labels()
    }
    fn frames(&self) -> impl Iterator<Item = FrameRef<'_>> {
        self.view.frame_iter().map(Frame::as_ref)
    }
    fn created_by(&self) -> Option<FrameRef<'_>> {
        self.view.created_by()
    }
    fn to_goroutine(&self) -> Goroutine {
        self.view.to_goroutine()
    }
}

/// The goroutine a crash is about, and why it was picked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crashed {
    /// Index in [`Capture::goroutines`].
    pub index: usize,
    /// Why, in words: the thread and signal, and the panic on its stack.
    pub why: String,
}

/// Functions whose presence on a stack means the goroutine is panicking
/// or throwing (as tracebacks name them).
const PANICKING: [&str; 6] = [
    "panic",
    "runtime.fatalpanic",
    "runtime.fatalthrow",
    "runtime.throw",
    "runtime.fatal",
    "runtime.sigpanic",
];

/// Signals that only stop a thread (gdb's `gcore` records SIGSTOP).
fn is_stop_signal(sig: i32) -> bool {
    // SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU.
    matches!(sig, 19..=22)
}

/// The name of a Linux signal number.
pub fn signal_name(sig: i32) -> String {
    let name = match sig {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        5 => "SIGTRAP",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        15 => "SIGTERM",
        31 => "SIGSYS",
        _ => return format!("signal {sig}"),
    };
    name.to_string()
}

impl<M: Memory> Capture<M> {
    /// The goroutine that crashed, among those on a thread (a goroutine
    /// panics or takes a signal on its M): the one that is panicking or
    /// throwing, preferring the thread that took the signal that ended the
    /// process (a kernel core records the signal on every thread and puts
    /// that thread first; before Go 1.23 another thread may come first);
    /// else the one running on that thread. `None` for a process that did
    /// not crash (a `gcore` or `gosleuth dump` of a healthy or hung
    /// process: no signal but the debugger's SIGSTOP, and no panic).
    pub fn crashed(&self) -> Option<Crashed> {
        let panicking = |i: usize| {
            let v = self.view(i);
            let found = v
                .frame_iter()
                .find_map(|f| PANICKING.iter().find(|p| **p == f.function).copied());
            found.map(|f| if f == "panic" { "runtime.gopanic" } else { f })
        };
        let first = self
            .target
            .threads
            .iter()
            .find(|t| t.signal != 0 && !is_stop_signal(t.signal));
        // Goroutines on a thread, the one on the signalled thread first.
        let mut on_threads: Vec<(usize, u64)> = self
            .goroutines
            .iter()
            .enumerate()
            .filter(|(_, g)| !g.is_dead())
            .filter_map(|(i, g)| Some((i, g.thread?)))
            .collect();
        on_threads.sort_by_key(|&(i, tid)| (first.is_none_or(|t| t.tid as u64 != tid), i));
        let on_first = |tid: u64| first.filter(|t| t.tid as u64 == tid);
        if let Some((i, tid, f)) = on_threads
            .iter()
            .find_map(|&(i, tid)| Some((i, tid, panicking(i)?)))
        {
            let mut why = format!("it was panicking ({f} is on its stack)");
            match (on_first(tid), first) {
                (Some(t), _) => why.push_str(&format!(
                    " on thread {tid}, which took {}, the fatal signal the core records",
                    signal_name(t.signal)
                )),
                (None, Some(t)) => why.push_str(&format!(
                    " on thread {tid}; thread {} took {}, the fatal signal the core records",
                    t.tid,
                    signal_name(t.signal)
                )),
                (None, None) => {}
            }
            return Some(Crashed { index: i, why });
        }
        let t = first?;
        let &(i, _) = on_threads
            .first()
            .filter(|(_, tid)| on_first(*tid).is_some())?;
        Some(Crashed {
            index: i,
            why: format!(
                "it ran on thread {}, which took {}, the fatal signal the core records",
                t.tid,
                signal_name(t.signal)
            ),
        })
    }
}

/// How many physical frames Delve's `(*G).UserCurrent` looks at
/// (`maxGoroutineUserCurrentDepth`).
pub const USER_LOCATION_DEPTH: usize = 30;

/// Delve's test of user code in `(*G).UserCurrent`: a function name with
/// a dot that is not in the `runtime` package (its exported functions,
/// like `runtime.Gosched`, excepted), nor under `internal/`,
/// `runtime/internal` or `iter.`. Standard-library packages such as
/// `sync` pass; the functions the runtime links into them under their
/// names (`internal/sync.runtime_SemacquireMutex`) do not.
pub fn is_delve_user_function(name: &str) -> bool {
    let exported_runtime = name
        .strip_prefix("runtime.")
        .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_uppercase()));
    name.contains('.')
        && (!name.starts_with("runtime.") || exported_runtime)
        && !name.starts_with("internal/")
        && !name.starts_with("runtime/internal")
        && !name.starts_with("iter.")
}

impl<M: Memory> Capture<M> {
    /// Delve's `Location` of physical frame `k` of goroutine `gi`, as its
    /// stack iterator makes it: the function that owns the pc (a call
    /// inlined there is not named; its file and line are, as the line
    /// table gives them), at the return address's call instruction except
    /// for the innermost frame, a frame interrupted by a signal, a pc at a
    /// function's entry, and the frames `runtime.systemstack` inserts,
    /// whose pc is taken as it is. `None` when no function holds the pc.
    pub fn physical_location(&self, gi: usize, k: usize) -> Option<Frame> {
        let f = self.goroutines.get(gi)?.frames.get(k)?;
        let syms = self.symbols.frames(f);
        let (inner, outer) = (syms.first()?, syms.last()?);
        // The symbolizer looked the line up at the call instruction unless
        // the pc is exact or at the entry (no offset), as Delve does for
        // every frame but these.
        let offset = outer.frame.offset?;
        let name = delve_name(&outer.frame.function);
        let at_pc = !f.trap()
            && offset > 0
            && (k == 0 || matches!(name, "runtime.mstart" | "runtime.systemstack_switch"));
        let cached = self.symbols.exact(f.pc).first();
        let (file, line) = if let (true, Some(s)) = (at_pc, cached) {
            (s.frame.file.clone(), s.frame.line)
        } else if at_pc {
            let link = self.target.link_pc(f.pc);
            let func = self.target.bin.pcln().func_for_pc(link)?;
            let (file, line) = func.file_line(link);
            (
                file.map(|c| c.into_owned()).unwrap_or_default(),
                line.unwrap_or(0),
            )
        } else {
            (inner.frame.file.clone(), inner.frame.line)
        };
        Some(Frame {
            function: name.to_string(),
            args: String::new(),
            file,
            line,
            offset: Some(offset),
            pc: Some(f.pc),
            inlined: false,
        })
    }
}

/// The name Delve gives a function (tracebacks print `runtime.gopanic` as
/// `panic`).
fn delve_name(function: &str) -> &str {
    if function == "panic" {
        "runtime.gopanic"
    } else {
        function
    }
}

/// One goroutine of a [`Capture`], seen through the model's [`Stack`].
pub struct View<'c, M = Source> {
    pub(crate) c: &'c Capture<M>,
    i: usize,
}

impl<M: Memory> View<'_, M> {
    pub fn raw(&self) -> &RawGoroutine {
        &self.c.goroutines[self.i]
    }
    pub fn index(&self) -> usize {
        self.i
    }
    /// Logical frames, innermost first, as a traceback prints them:
    /// wrappers are left out unless they called a panic (like the
    /// runtime's `elideWrapperCalling`), and so is `runtime.goexit` (the
    /// rule of [`Capture::shown_frames`]).
    pub fn frame_iter(&self) -> impl Iterator<Item = &Frame> + '_ {
        self.c.shown_syms(self.i).map(|(_, _, s)| &s.frame)
    }
    pub fn status(&self) -> Status {
        match self.raw().status {
            status::RUNNING => Status::Running,
            status::RUNNABLE | status::PREEMPTED => Status::Runnable,
            status::SYSCALL => Status::Syscall,
            status::WAITING | status::COPYSTACK | status::LEAKED => Status::Waiting,
            status::IDLE => Status::Idle,
            status::DEAD | status::DEADEXTRA => Status::Dead,
            _ => Status::Unknown,
        }
    }
    /// Delve's current location (`g.CurrentLoc`): the innermost physical
    /// frame (see [`Capture::physical_location`]).
    pub fn current_location(&self) -> Option<Frame> {
        self.c.physical_location(self.i, 0)
    }
    /// Index of the physical frame that holds Delve's user location: the
    /// first of the innermost [`USER_LOCATION_DEPTH`] whose function is
    /// user code by [`is_delve_user_function`] (judged by the function
    /// that owns the pc, so a standard-library call inlined into user
    /// code, like `sync.(*Mutex).Lock`, counts as that user code). `None`
    /// when there is none: Delve then falls back to the current location.
    pub fn user_frame_index(&self) -> Option<usize> {
        self.raw()
            .frames
            .iter()
            .take(USER_LOCATION_DEPTH)
            .position(|f| {
                self.c
                    .symbols
                    .frames(f)
                    .last()
                    .is_some_and(|s| is_delve_user_function(delve_name(&s.frame.function)))
            })
    }
    /// Delve's user location (`(*G).UserCurrent()`, `userCurrentLoc`,
    /// what `goroutines -with userloc` and `-group userloc` look at).
    pub fn user_location(&self) -> Option<Frame> {
        match self.user_frame_index() {
            Some(k) => self.c.physical_location(self.i, k),
            None => self.current_location(),
        }
    }
    pub fn start(&self) -> Option<Frame> {
        self.c.start_sites.get(&self.raw().startpc).cloned()
    }
    pub fn created_by_frame(&self) -> Option<Frame> {
        self.c.go_sites.get(&self.raw().gopc).cloned()
    }
}

impl<M: Memory> Stack for View<'_, M> {
    fn id(&self) -> u64 {
        self.raw().id
    }
    fn count(&self) -> u64 {
        1
    }
    fn state(&self) -> &str {
        self.c.state_str(self.raw())
    }
    fn locked(&self) -> bool {
        self.raw().locked
    }
    fn wait_minutes(&self) -> Option<u64> {
        // Like the runtime, which prints minutes only from one minute on.
        self.c
            .wait_nanos(self.raw())
            .map(|n| n / 60_000_000_000)
            .filter(|&m| m > 0)
    }
    fn labels(&self) -> &[(String, String)] {
        self.c.labels.get(self.i).map_or(&[], Vec::as_slice)
    }
    fn frames(&self) -> impl Iterator<Item = FrameRef<'_>> {
        self.frame_iter().map(Frame::as_ref)
    }
    fn created_by(&self) -> Option<FrameRef<'_>> {
        self.c.go_sites.get(&self.raw().gopc).map(Frame::as_ref)
    }
    fn to_goroutine(&self) -> Goroutine {
        let g = self.raw();
        let mut extra = vec![("gp".to_string(), format!("{:#x}", g.gp))];
        if let Some(why) = &g.broken {
            extra.push(("unwind".to_string(), why.clone()));
        }
        Goroutine {
            id: g.id,
            status: self.status(),
            state: self.state().to_string(),
            wait_minutes: self.wait_minutes().filter(|&m| m > 0),
            locked: g.locked,
            frames: self.frame_iter().cloned().collect(),
            elided_frames: None,
            stack_unavailable: g.frames.is_empty(),
            created_by: self.created_by_frame(),
            parent_id: (g.parent_id != 0).then_some(g.parent_id),
            labels: self.labels().to_vec(),
            count: 1,
            extra,
            ancestors: Vec::new(),
            start: self.start(),
            thread_id: g.thread,
            wait_nanos: self.c.wait_nanos(g),
            waiting_for: self
                .c
                .graph
                .waiting_for
                .get(self.i)
                .cloned()
                .unwrap_or_default(),
        }
    }
}
