//! The wait graph: which channel or semaphore each blocked goroutine is
//! queued on, the state of that object, who else is queued on it, and
//! which goroutines' stacks point at it (and so could act on it).
//!
//! * Channel operations park with `g.waiting` pointing at a list of
//!   `sudog`s (one per channel of a `select`, linked by `waitlink`), each
//!   naming its `hchan` in `sudog.c`. The `hchan` holds `qcount`,
//!   `dataqsiz`, `closed` and the queues `recvq`/`sendq` of sudogs.
//! * Semaphore waits (`sync.Mutex`, `RWMutex`, `WaitGroup`, `Cond`...)
//!   are sudogs in the treaps of `runtime.semtable`, keyed by the address
//!   of the semaphore word (`sudog.elem`), same-address waiters chained by
//!   `waitlink`.
//! * References: every goroutine's stack frames are scanned for words that
//!   point at an object (a channel's `hchan`, or a struct within 256 bytes
//!   before a semaphore word), directly or through one pointer to a struct
//!   that holds it (a `*Metrics` whose field is the channel).

use std::collections::{HashMap, HashSet};

use rayon::prelude::*;

use gosleuth_memory::Memory;
use gosleuth_model::{ChannelState, WaitObjectKind};

use crate::goroutines::{RawGoroutine, status};
use crate::sorted_index::SortedIndex;
use crate::target::Target;
use crate::values::rtype::{type_name, types_base};

/// Most sudogs followed in one queue or treap.
const MAX_QUEUE: usize = 4_000_000;
/// Bytes of a pointed-to struct searched for an object pointer.
const STRUCT_SCAN: usize = 256;
/// Goroutines scanned for references per distinct stack.
pub const SAMPLE_PER_STACK: usize = 64;
/// Bytes of one frame scanned.
const FRAME_SCAN: u64 = 16 * 1024;

/// A reference from a physical frame (index into `RawGoroutine::frames`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawRef {
    /// Index of the goroutine in the capture.
    pub goroutine: usize,
    pub frame: usize,
    pub indirect: bool,
    pub receives: bool,
    /// For an indirect reference: the offset of the object's pointer in
    /// the struct the stack points at.
    pub field_offset: Option<u32>,
}

/// An object of the wait graph, before conversion to the model.
#[derive(Debug, Clone)]
pub struct RawObject {
    pub addr: u64,
    pub kind: WaitObjectKind,
    pub channel: Option<ChannelState>,
    /// Goroutine indexes.
    pub senders: Vec<usize>,
    pub receivers: Vec<usize>,
    pub refs: Vec<RawRef>,
    pub owner: Option<String>,
}

/// The wait graph of a capture.
#[derive(Debug, Clone, Default)]
pub struct WaitGraph {
    /// Sorted by address.
    pub objects: Vec<RawObject>,
    /// Per goroutine index: addresses it is queued on.
    pub waiting_for: Vec<Vec<u64>>,
    pub warnings: Vec<String>,
}

/// Goroutine index by `g` address.
struct ByGp(SortedIndex<u32>);

impl ByGp {
    fn new(gs: &[RawGoroutine]) -> ByGp {
        ByGp(SortedIndex::new(
            gs.par_iter()
                .enumerate()
                .map(|(i, g)| (g.gp, i as u32))
                .collect(),
        ))
    }
    fn get(&self, gp: u64, cursor: &mut usize) -> Option<usize> {
        self.0.find(gp, cursor).map(|i| i as usize)
    }
}

/// The objects goroutines are queued on and their queues (references are
/// added by [`find_references`] once stacks are unwound).
pub(crate) fn wait_graph<M: Memory + Sync>(t: &Target<M>, gs: &[RawGoroutine]) -> WaitGraph {
    let by_gp = ByGp::new(gs);
    let mut warnings = Vec::new();
    let s = &t.layout.sudog;

    // Channels, from each parked goroutine's sudogs, read once each in
    // parallel: (sudog, goroutine index, channel, next in its queue).
    // A select's sudogs (one per case) are linked by waitlink and all
    // belong to the goroutine; a semaphore waiter's waitlink leads to
    // other goroutines' sudogs instead, so stop at the first foreign one.
    let span = ([s.g, s.c, s.waitlink, s.next, s.prev, s.elem]
        .into_iter()
        .max()
        .unwrap_or(0)
        + 8) as usize;
    let sudogs: Vec<(u64, u32, u64, u64)> = gs
        .par_iter()
        .enumerate()
        .map_init(
            || vec![0u8; span.min(512)],
            |buf, (gi, g)| {
                let mut out = Vec::new();
                if g.status != status::WAITING || g.waiting == 0 {
                    return out;
                }
                let mut sg = g.waiting;
                while sg != 0 && out.len() < 1024 {
                    if t.mem.read_at(sg, buf).is_err() || t.word_at(buf, s.g) != g.gp {
                        break;
                    }
                    out.push((sg, gi as u32, t.word_at(buf, s.c), t.word_at(buf, s.next)));
                    sg = t.word_at(buf, s.waitlink);
                }
                out
            },
        )
        .flatten_iter()
        .collect();
    let mut waiting_for: Vec<Vec<u64>> = vec![Vec::new(); gs.len()];
    for &(_, gi, c, _) in &sudogs {
        let w = &mut waiting_for[gi as usize];
        if c != 0 && !w.contains(&c) {
            w.push(c);
        }
    }
    // The queues are walked through this index of the sudogs just read
    // (a memory read only for a sudog the goroutines did not lead to).
    let by_sudog = SortedIndex::new(
        sudogs
            .into_iter()
            .map(|(sg, gi, _, next)| (sg, (gi, next)))
            .collect(),
    );
    let chans: HashSet<u64> = waiting_for.iter().flatten().copied().collect();
    let types = types_base(t);
    // A queue holds each goroutine at most once: a longer walk is a cycle
    // in corrupt memory.
    let limit = gs.len().min(MAX_QUEUE) + 1;
    let queue = |q: u64| -> Vec<usize> {
        let mut out = Vec::new();
        let mut hops = 0;
        let mut sg = t.mem.read_u64(q).unwrap_or(0);
        let mut buf = vec![0u8; span.min(512)];
        let (mut at_sudog, mut at_gp) = (0, 0);
        while sg != 0 && hops < limit {
            hops += 1;
            let (gi, next) = match by_sudog.find(sg, &mut at_sudog) {
                Some((gi, next)) => (Some(gi as usize), next),
                None => {
                    if t.mem.read_at(sg, &mut buf).is_err() {
                        break;
                    }
                    (
                        by_gp.get(t.word_at(&buf, s.g), &mut at_gp),
                        t.word_at(&buf, s.next),
                    )
                }
            };
            out.extend(gi);
            sg = next;
        }
        out
    };
    let h = &t.layout.hchan;
    let mut objects: Vec<RawObject> = chans
        .iter()
        .map(|&c| RawObject {
            addr: c,
            kind: WaitObjectKind::Channel,
            channel: Some(ChannelState {
                elem_type: t
                    .mem
                    .read_u64(c + h.elemtype)
                    .ok()
                    .and_then(|ty| type_name(t, types?, ty)),
                len: t.mem.read_u64(c + h.qcount).unwrap_or(0),
                cap: t.mem.read_u64(c + h.dataqsiz).unwrap_or(0),
                closed: t.mem.read_u32(c + h.closed).unwrap_or(0) != 0,
            }),
            senders: Vec::new(),
            receivers: Vec::new(),
            refs: Vec::new(),
            owner: None,
        })
        .collect();
    // The queues are long pointer chains (a pile-up is one chain of all its
    // goroutines): walk them side by side.
    objects.par_iter_mut().for_each(|o| {
        let (send, recv) = rayon::join(|| queue(o.addr + h.sendq), || queue(o.addr + h.recvq));
        o.senders = send;
        o.receivers = recv;
    });

    // Semaphores, from the semtable treaps, one root per task.
    match t.globals.semtable {
        Some(table) => {
            let sema = &t.layout.sema;
            // Every sudog in a treap belongs to a distinct goroutine.
            let budget = gs.len().min(MAX_QUEUE) + 1;
            let found: Vec<(u64, Vec<usize>)> = (0..sema.entries)
                .into_par_iter()
                .flat_map_iter(|r| {
                    let mut out: Vec<(u64, Vec<usize>)> = Vec::new();
                    let mut visited = 0usize;
                    let root = t
                        .mem
                        .read_u64(table + r * sema.entry_size + sema.treap)
                        .unwrap_or(0);
                    let mut stack = vec![root];
                    while let Some(node) = stack.pop() {
                        if node == 0 || visited > budget {
                            continue;
                        }
                        visited += 1;
                        let mut buf = [0u8; 512];
                        let buf = &mut buf[..span.min(512)];
                        if t.mem.read_at(node, buf).is_err() {
                            continue;
                        }
                        let elem = t.word_at(buf, s.elem);
                        let (prev, next) = (t.word_at(buf, s.prev), t.word_at(buf, s.next));
                        let mut ws = Vec::new();
                        let mut w = node;
                        let mut at_gp = 0;
                        while w != 0 && visited <= budget {
                            visited += 1;
                            if w != node && t.mem.read_at(w, buf).is_err() {
                                break;
                            }
                            if let Some(i) = by_gp.get(t.word_at(buf, s.g), &mut at_gp) {
                                ws.push(i);
                            }
                            w = t.word_at(buf, s.waitlink);
                        }
                        if !ws.is_empty() {
                            out.push((elem, ws));
                        }
                        stack.push(prev);
                        stack.push(next);
                    }
                    out
                })
                .collect();
            let mut waiters: HashMap<u64, Vec<usize>> = HashMap::new();
            for (elem, ws) in found {
                waiters.entry(elem).or_default().extend(ws);
            }
            for (addr, ws) in waiters {
                for &i in &ws {
                    waiting_for[i].push(addr);
                }
                objects.push(RawObject {
                    addr,
                    kind: WaitObjectKind::Semaphore,
                    channel: None,
                    senders: Vec::new(),
                    receivers: ws,
                    refs: Vec::new(),
                    owner: None,
                });
            }
        }
        None => warnings.push(
            "runtime.semtable not found (no symbols or DWARF): mutex and WaitGroup waits \
             are not in the wait graph"
                .into(),
        ),
    }
    objects.sort_by_key(|o| o.addr);
    objects.dedup_by_key(|o| o.addr);
    WaitGraph {
        objects,
        waiting_for,
        warnings,
    }
}

/// Fills `refs` of every object by scanning goroutine stacks (after
/// unwinding: frames bound the scanned ranges).
pub(crate) fn find_references<M: Memory + Sync>(
    t: &Target<M>,
    gs: &[RawGoroutine],
    objects: &mut [RawObject],
) {
    if objects.is_empty() {
        return;
    }
    let addrs: Vec<(u64, bool)> = objects
        .iter()
        .map(|o| (o.addr, o.kind == WaitObjectKind::Semaphore))
        .collect();
    let receivers = receive_functions(t);
    // Index of the object a word points at, if any.
    let hit = |w: u64| -> Option<usize> {
        // First object at or after w; a channel must be w itself, a
        // semaphore may sit up to STRUCT_SCAN bytes into the struct.
        let i = addrs.partition_point(|&(a, _)| a < w);
        let &(a, sema) = addrs.get(i)?;
        if a == w || (sema && a - w < STRUCT_SCAN as u64) {
            Some(i)
        } else {
            None
        }
    };
    // Goroutines with the same pcs hold the same kind of references: scan
    // a sample of each distinct stack (a pile-up of a million goroutines
    // costs as much as its first few).
    let mut per_stack: HashMap<u64, usize> = HashMap::new();
    let sample: Vec<(usize, &RawGoroutine)> = gs
        .iter()
        .enumerate()
        .filter(|(_, g)| {
            let mut h = xxhash_rust::xxh3::Xxh3::new();
            for f in &g.frames {
                h.update(&f.pc.to_le_bytes());
            }
            h.update(&[g.wait_reason]);
            let n = per_stack.entry(h.digest()).or_default();
            *n += 1;
            *n <= SAMPLE_PER_STACK
        })
        .collect();
    let refs: Vec<(usize, RawRef)> = sample
        .par_iter()
        .map(|&(gi, g)| (gi, g))
        .map_init(
            || {
                (
                    HashMap::<u64, Vec<(usize, u32)>>::new(),
                    HashMap::<u64, bool>::new(),
                    Vec::new(),
                )
            },
            |(structs, recv_cache, buf), (gi, g): (usize, &RawGoroutine)| {
                let mut out = Vec::new();
                for (k, f) in g.frames.iter().enumerate() {
                    let lo = f.sp();
                    let hi = g
                        .frames
                        .get(k + 1)
                        .map_or(g.stack_hi, |n| n.sp())
                        .min(lo + FRAME_SCAN);
                    if hi <= lo || !(g.stack_lo..=g.stack_hi).contains(&lo) {
                        continue;
                    }
                    buf.resize((hi - lo) as usize, 0);
                    if t.mem.read_at(lo, buf).is_err() {
                        continue;
                    }
                    let receives = *recv_cache
                        .entry(f.pc)
                        .or_insert_with(|| calls_any(t, f.pc, &receivers));
                    let user = !is_runtime_pc(t, f.pc);
                    let mut seen: Vec<(usize, Option<u32>)> = Vec::new();
                    for w in t.mem.endian().words(buf) {
                        // Small values, and pointers into the goroutine's own
                        // stack (saved frame pointers, addresses of locals).
                        if w < 0x1000 || (g.stack_lo..g.stack_hi).contains(&w) {
                            continue;
                        }
                        if let Some(o) = hit(w) {
                            if !seen.iter().any(|s| s.0 == o) {
                                seen.push((o, None));
                            }
                            continue;
                        }
                        if !user {
                            continue;
                        }
                        let held = structs.entry(w).or_insert_with(|| {
                            let mut s = [0u8; STRUCT_SCAN];
                            if t.mem.read_at(w, &mut s).is_err() {
                                return Vec::new();
                            }
                            let mut v: Vec<(usize, u32)> = Vec::new();
                            for (j, u) in t.mem.endian().words(&s).enumerate() {
                                if let Some(o) = hit(u) {
                                    if !v.iter().any(|x| x.0 == o) {
                                        v.push((o, (j * 8) as u32));
                                    }
                                }
                            }
                            v
                        });
                        for &(o, off) in held.iter() {
                            if !seen.iter().any(|s| s.0 == o) {
                                seen.push((o, Some(off)));
                            }
                        }
                    }
                    for (o, field_offset) in seen {
                        out.push((
                            o,
                            RawRef {
                                goroutine: gi,
                                frame: k,
                                indirect: field_offset.is_some(),
                                receives,
                                field_offset,
                            },
                        ));
                    }
                }
                out
            },
        )
        .flatten_iter()
        .collect();
    for (o, r) in refs {
        objects[o].refs.push(r);
    }
}

fn is_runtime_pc<M: Memory>(t: &Target<M>, pc: u64) -> bool {
    t.bin
        .pcln()
        .func_for_pc(t.link_pc(pc))
        .is_some_and(|f| gosleuth_model::is_runtime_function(&f.name()))
}

/// Link-time entries of the runtime's channel-receive functions.
fn receive_functions<M: Memory>(t: &Target<M>) -> Vec<u64> {
    let mut v: Vec<u64> = [
        "runtime.chanrecv1",
        "runtime.chanrecv2",
        "runtime.selectgo",
        "runtime.selectnbrecv",
        "runtime.selectnbrecv2",
    ]
    .iter()
    .filter_map(|n| t.bin.pcln().func_by_name(n).map(|f| f.entry()))
    .collect();
    v.sort_unstable();
    v
}

/// True when the function containing `pc` has a `CALL rel32` to one of
/// `targets` (link-time entries).
fn calls_any<M: Memory>(t: &Target<M>, pc: u64, targets: &[u64]) -> bool {
    let Some(f) = t.bin.pcln().func_for_pc(t.link_pc(pc)) else {
        return false;
    };
    let (entry, size) = (f.entry(), f.size());
    let Some(code) = t.bin.read_addr(entry, size.min(1 << 20)) else {
        return false;
    };
    code.windows(5).enumerate().any(|(i, w)| {
        w[0] == 0xE8 && {
            let d = i32::from_le_bytes([w[1], w[2], w[3], w[4]]);
            let target = (entry + i as u64 + 5).wrapping_add(d as i64 as u64);
            targets.binary_search(&target).is_ok()
        }
    })
}
