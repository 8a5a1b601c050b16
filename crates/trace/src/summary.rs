//! A trace summarised as it streams past: events by kind, goroutines,
//! GC cycles, stops of the world with their reasons and durations, Ps,
//! threads, the heap.
//!
//! Generations are read in order (the runtime writes one whole before the
//! next); a generation's strings (the reasons of its stops) are kept until
//! the next begins. Times are the trace's ticks turned into nanoseconds
//! with its `Frequency`. A stop of the world is measured from its
//! `STWBegin` to the next `STWEnd` on the same thread, which is how the
//! runtime emits them.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::BufRead;

use crate::error::Result;
use crate::spec::ev;
use crate::wire::{RawEvent, WireReader};

/// Stops of the world of one reason.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct StwStats {
    pub count: u64,
    /// Summed and longest durations, in nanoseconds.
    pub total_ns: u64,
    pub max_ns: u64,
}

/// The heap at one moment of the trace.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct HeapPoint {
    pub at_ns: u64,
    pub alloc: u64,
    pub goal: u64,
}

/// Heap points kept (halved, and their spacing doubled, when exceeded).
const HEAP_POINTS: usize = 256;

/// What a trace says, in numbers.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Summary {
    /// The format version (`N` of `go 1.N trace`).
    pub version: u32,
    pub bytes: u64,
    pub events: u64,
    /// Events by name, as `go tool trace -d=wire` names them.
    pub by_kind: BTreeMap<&'static str, u64>,
    pub generations: u64,
    pub batches: u64,
    /// Distinct threads (Ms) that wrote events.
    pub threads: u64,
    /// The largest GOMAXPROCS seen.
    pub procs: u64,
    pub goroutines_created: u64,
    pub goroutines_ended: u64,
    /// `GCBegin` events: GC cycles that started during the trace.
    pub gc_cycles: u64,
    /// The concurrent phase of the cycles that began and ended in the
    /// trace (`GCBegin` to `GCEnd`): summed and longest, in nanoseconds.
    pub gc_concurrent_ns: u64,
    pub gc_concurrent_max_ns: u64,
    /// Stops of the world by reason.
    pub stw: BTreeMap<String, StwStats>,
    /// Ticks per second (the trace's clock).
    pub ticks_per_second: u64,
    /// From the first to the last event, in nanoseconds.
    pub duration_ns: u64,
    /// Time goroutines spent assisting the GC (GCMarkAssistBegin to End on
    /// the same thread), in nanoseconds.
    pub gc_assist_ns: u64,
    pub heap_alloc_max: u64,
    pub heap_goal_last: u64,
    /// The heap over the trace: at most 256 points, about evenly spaced
    /// (ns from the first event, live heap bytes, the GC's goal then).
    pub heap: Vec<HeapPoint>,
    pub cpu_samples: u64,
    /// User tasks, regions and logs (`runtime/trace`).
    pub tasks: u64,
    pub regions: u64,
    pub logs: u64,
    /// The trace ends early (a process killed mid-trace, a copy cut
    /// short): where, and what; the numbers are of the events before the
    /// cut.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncated: Option<String>,
}

/// A stop whose reason string is not read yet: (reason string id, ticks).
type PendingStw = (u64, u64);

/// The summary as events go by. [`summarize`] feeds it the file in order;
/// the analyses' reading thread (`profiles::read`) feeds it each
/// generation's events in time order as it merges them, so one decoding
/// serves both.
pub(crate) struct Tally {
    s: Summary,
    counts: [u64; crate::spec::SPECS.len()],
    threads: HashSet<u64>,
    generation: Option<u64>,
    pending: Vec<PendingStw>,
    first: u64,
    last: u64,
    /// Per thread: the open stop (reason, start) and mark assist (start).
    open_stw: HashMap<u64, (u64, u64)>,
    open_assist: HashMap<u64, u64>,
    open_gc: Option<u64>,
    gc_ticks: u64,
    gc_max_ticks: u64,
    assist_ticks: u64,
    /// Heap points in ticks, their spacing, and the goal now.
    heap: Vec<(u64, u64, u64)>,
    heap_step: u64,
    goal_now: u64,
}

impl Tally {
    pub(crate) fn new(version: u32) -> Tally {
        Tally {
            s: Summary {
                version,
                ..Summary::default()
            },
            counts: [0; crate::spec::SPECS.len()],
            threads: HashSet::new(),
            generation: None,
            pending: Vec::new(),
            first: u64::MAX,
            last: 0,
            open_stw: HashMap::new(),
            open_assist: HashMap::new(),
            open_gc: None,
            gc_ticks: 0,
            gc_max_ticks: 0,
            assist_ticks: 0,
            heap: Vec::new(),
            heap_step: 1,
            goal_now: 0,
        }
    }

    /// Counts events by type (every event, wherever it is).
    pub(crate) fn counts(&mut self) -> &mut [u64; crate::spec::SPECS.len()] {
        &mut self.counts
    }

    /// A batch of generation `generation` written by thread `m` begins
    /// (its header is counted as an event by the caller). Returns whether
    /// it starts a new generation.
    pub(crate) fn batch(&mut self, generation: u64, m: u64) -> bool {
        self.s.batches += 1;
        let new = self.generation != Some(generation);
        if new {
            self.generation = Some(generation);
            self.s.generations += 1;
        }
        if m != u64::MAX {
            self.threads.insert(m);
        }
        new
    }

    /// The reasons of the stops seen so far, named from their
    /// generation's strings.
    pub(crate) fn resolve(&mut self, strings: &HashMap<u64, String>) {
        resolve(&mut self.s, &mut self.pending, strings);
    }

    /// An event without a timestamp of its own (outside or inside a batch).
    pub(crate) fn untimed(&mut self, typ: u8, args: &[u64]) {
        let arg = |i: usize| args.get(i).copied().unwrap_or(0);
        match typ {
            ev::FREQUENCY => self.s.ticks_per_second = arg(0),
            ev::CPU_SAMPLE => self.s.cpu_samples += 1,
            _ => {}
        }
    }

    /// A timed event of thread `m` at `now` (ticks); `a` are its arguments
    /// after the time delta.
    pub(crate) fn timed(&mut self, typ: u8, m: u64, now: u64, a: &[u64]) {
        self.first = self.first.min(now);
        self.last = self.last.max(now);
        let arg = |i: usize| a.get(i).copied().unwrap_or(0);
        let s = &mut self.s;
        match typ {
            ev::PROCS_CHANGE => s.procs = s.procs.max(arg(0)),
            ev::GO_CREATE | ev::GO_CREATE_SYSCALL | ev::GO_CREATE_BLOCKED => {
                s.goroutines_created += 1;
            }
            ev::GO_DESTROY | ev::GO_DESTROY_SYSCALL | ev::GO_SWITCH_DESTROY => {
                s.goroutines_ended += 1;
            }
            ev::GC_BEGIN => {
                s.gc_cycles += 1;
                self.open_gc = Some(now);
            }
            ev::GC_END => {
                if let Some(start) = self.open_gc.take() {
                    let d = now.saturating_sub(start);
                    self.gc_ticks += d;
                    self.gc_max_ticks = self.gc_max_ticks.max(d);
                }
            }
            ev::STW_BEGIN => {
                self.open_stw.insert(m, (arg(0), now));
            }
            ev::STW_END => {
                if let Some((reason, start)) = self.open_stw.remove(&m) {
                    self.pending.push((reason, now.saturating_sub(start)));
                }
            }
            ev::GC_MARK_ASSIST_BEGIN => {
                self.open_assist.insert(m, now);
            }
            ev::GC_MARK_ASSIST_END => {
                if let Some(start) = self.open_assist.remove(&m) {
                    self.assist_ticks += now.saturating_sub(start);
                }
            }
            ev::HEAP_ALLOC => {
                s.heap_alloc_max = s.heap_alloc_max.max(arg(0));
                let due = self
                    .heap
                    .last()
                    .is_none_or(|p| now >= p.0.saturating_add(self.heap_step));
                if due {
                    self.heap.push((now, arg(0), self.goal_now));
                    if self.heap.len() > HEAP_POINTS {
                        let mut i = 0;
                        self.heap.retain(|_| {
                            i += 1;
                            i % 2 == 1
                        });
                        self.heap_step = self.heap_step.saturating_mul(2);
                    }
                }
            }
            ev::HEAP_GOAL => {
                s.heap_goal_last = arg(0);
                self.goal_now = arg(0);
            }
            ev::USER_TASK_BEGIN => s.tasks += 1,
            ev::USER_REGION_BEGIN => s.regions += 1,
            ev::USER_LOG => s.logs += 1,
            _ => {}
        }
    }

    /// The summary of what was fed, `bytes` long, cut short at
    /// `truncated` if so; `strings` are the last generation's.
    pub(crate) fn finish(
        mut self,
        bytes: u64,
        truncated: Option<String>,
        strings: &HashMap<u64, String>,
    ) -> Summary {
        self.resolve(strings);
        let mut s = self.s;
        s.truncated = truncated;
        s.threads = self.threads.len() as u64;
        s.bytes = bytes;
        s.events = self.counts.iter().sum();
        if self.last >= self.first && self.first != u64::MAX {
            s.duration_ns = ticks_to_ns(self.last - self.first, s.ticks_per_second);
        }
        s.gc_assist_ns = ticks_to_ns(self.assist_ticks, s.ticks_per_second);
        let first = if self.first == u64::MAX {
            0
        } else {
            self.first
        };
        s.heap = self
            .heap
            .iter()
            .map(|&(t, alloc, goal)| HeapPoint {
                at_ns: ticks_to_ns(t.saturating_sub(first), s.ticks_per_second),
                alloc,
                goal,
            })
            .collect();
        s.gc_concurrent_ns = ticks_to_ns(self.gc_ticks, s.ticks_per_second);
        s.gc_concurrent_max_ns = ticks_to_ns(self.gc_max_ticks, s.ticks_per_second);
        for (i, n) in self.counts.iter().enumerate().filter(|(_, n)| **n > 0) {
            s.by_kind.insert(crate::spec::SPECS[i].name, *n);
        }
        // Durations were kept in ticks until the frequency was known.
        for st in s.stw.values_mut() {
            st.total_ns = ticks_to_ns(st.total_ns, s.ticks_per_second);
            st.max_ns = ticks_to_ns(st.max_ns, s.ticks_per_second);
        }
        s
    }
}

/// Reads a whole trace into a [`Summary`], in file order, in constant
/// memory and one thread. (`profiles::read` computes the same summary on
/// the side of its analyses, with the events in time order: GC phases
/// that begin on one thread and end on another are only paired there.)
pub fn summarize<R: BufRead>(r: R) -> Result<Summary> {
    let mut reader = WireReader::new(r)?;
    let mut tally = Tally::new(reader.version());
    let mut ev = RawEvent::default();
    let mut strings: HashMap<u64, String> = HashMap::new();
    // The current batch: its thread, the end offset, the running time.
    let (mut m, mut batch_end, mut now) = (u64::MAX, 0u64, 0u64);
    let mut batch_start = 0u64;
    let mut truncated = None;
    loop {
        match reader.next_into(&mut ev) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e @ crate::Error::Truncated { .. }) => {
                truncated = Some(e.to_string());
                break;
            }
            Err(e) => return Err(e),
        }
        tally.counts()[usize::from(ev.typ)] += 1;
        let arg = |i: usize| ev.args.get(i).copied().unwrap_or(0);
        if ev.typ == ev::EVENT_BATCH {
            if tally.batch(arg(0), arg(1)) {
                tally.resolve(&strings);
                strings.clear();
            }
            m = arg(1);
            now = arg(2);
            // The batch's events follow its header. (Its length is where
            // the reader is now: the runtime writes the size field wider
            // than its value needs, so it cannot be recomputed.)
            batch_start = ev.offset;
            batch_end = reader.offset() + arg(3);
            continue;
        }
        if ev.spec().timed {
            if ev.offset < batch_end {
                now = now.wrapping_add(arg(0));
                tally.timed(ev.typ, m, now, ev.args.get(1..).unwrap_or(&[]));
            }
            // Outside any batch: the stream is malformed, but the counts
            // still hold; times do not advance.
        } else {
            if ev.typ == ev::STRING {
                if let Some(d) = &ev.data {
                    strings.insert(arg(0), String::from_utf8_lossy(d).into_owned());
                }
            }
            tally.untimed(ev.typ, &ev.args);
        }
    }
    if truncated.is_none() && reader.offset() < batch_end {
        // Cut at an event boundary, but inside a batch.
        truncated = Some(
            crate::Error::Truncated {
                offset: batch_start,
                event: "EventBatch",
            }
            .to_string(),
        );
    }
    Ok(tally.finish(reader.offset(), truncated, &strings))
}

fn ticks_to_ns(ticks: u64, per_second: u64) -> u64 {
    if per_second == 0 {
        return ticks;
    }
    (u128::from(ticks) * 1_000_000_000 / u128::from(per_second)) as u64
}

fn resolve(s: &mut Summary, pending: &mut Vec<PendingStw>, strings: &HashMap<u64, String>) {
    for (id, ticks) in pending.drain(..) {
        let reason = strings
            .get(&id)
            .cloned()
            .unwrap_or_else(|| format!("reason #{id}"));
        let st = s.stw.entry(reason).or_default();
        st.count += 1;
        st.total_ns += ticks;
        st.max_ns = st.max_ns.max(ticks);
    }
}
