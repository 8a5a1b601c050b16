//! Every goroutine in `runtime.allgs`: header fields and unwound stacks.

use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;

use gosleuth_memory::Memory;

use crate::error::Result;
use crate::target::Target;
use crate::unwind::{RawFrame, Sched, Start, Stop, Unwinder};

/// `g.atomicstatus` values (without the scan bit).
pub mod status {
    pub const IDLE: u32 = 0;
    pub const RUNNABLE: u32 = 1;
    pub const RUNNING: u32 = 2;
    pub const SYSCALL: u32 = 3;
    pub const WAITING: u32 = 4;
    pub const DEAD: u32 = 6;
    pub const COPYSTACK: u32 = 8;
    pub const PREEMPTED: u32 = 9;
    /// Go 1.26: found leaked by the goroutine leak profile.
    pub const LEAKED: u32 = 10;
    /// Go 1.26: an extra M's dead goroutine.
    pub const DEADEXTRA: u32 = 11;
    pub const SCAN: u32 = 0x1000;
}

/// A goroutine as read from memory, before symbolization.
#[derive(Debug, Clone, Default)]
pub struct RawGoroutine {
    /// Address of the `runtime.g`.
    pub gp: u64,
    pub id: u64,
    /// `atomicstatus` without the scan bit.
    pub status: u32,
    pub wait_reason: u8,
    /// `g.waitsince` (nanotime; 0 when unknown).
    pub waitsince: i64,
    pub parent_id: u64,
    pub gopc: u64,
    pub startpc: u64,
    /// `g.labels` (pointer to the pprof label set).
    pub labels: u64,
    pub locked: bool,
    /// `g.m` (0 when not on an M).
    pub m: u64,
    /// `g.waiting` (first sudog of a channel operation).
    pub waiting: u64,
    pub stack_lo: u64,
    pub stack_hi: u64,
    /// `g.sched.pc` / `g.sched.sp`: where a parked goroutine resumes.
    pub sched_pc: u64,
    pub sched_sp: u64,
    /// `g.syscallpc` / `g.syscallsp`: where a goroutine entered a syscall.
    pub syscall_pc: u64,
    pub syscall_sp: u64,
    /// The OS thread (m.procid) when the goroutine is on an M.
    pub thread: Option<u64>,
    /// `m.vdsoPC` / `m.vdsoSP` of its M: where it called into the vDSO
    /// (0 when it is not in a vDSO call).
    pub vdso_pc: u64,
    pub vdso_sp: u64,
    /// Physical frames, innermost first.
    pub frames: Vec<RawFrame>,
    /// Why the stack is incomplete, if it is.
    pub broken: Option<String>,
    /// A hash of the whole `g` as read from a live process (0 from a
    /// core): equal fingerprints mean the goroutine did not run between
    /// two reads (see [`crate::prefetch::precopy_stacks`]).
    pub fingerprint: u64,
}

impl RawGoroutine {
    /// True for the runtime's own goroutines (GC workers and so on) is not
    /// decided here; this only says whether the goroutine exists.
    pub fn is_dead(&self) -> bool {
        matches!(self.status, status::DEAD | status::DEADEXTRA)
    }
}

const CHUNK: usize = 4096;
/// Largest gap between two `g`s read in one piece.
const MERGE_GAP: u64 = 512;
/// Largest single read of `g`s.
const MAX_RUN: u64 = 4 << 20;
/// Goroutines read between two [`Memory::release_cached_pages`] calls
/// (about 8 KiB of mapped pages each).
const RELEASE_EVERY: usize = 8 * 1024;

/// Reads every live goroutine of `t` (dead ones are skipped), unwinding in
/// parallel.
pub fn read_all<M: Memory + Sync>(t: &Target<M>) -> Result<Vec<RawGoroutine>> {
    let mut gs = read_headers(t)?;
    unwind_all(t, &mut gs);
    Ok(gs)
}

/// Reads the `g` of every goroutine in `runtime.allgs` (not the stacks).
///
/// `g`s are allocated next to each other, so the reads are merged into
/// runs of adjacent structs (a few large reads instead of one per
/// goroutine: what makes a live process's stop short).
pub fn read_headers<M: Memory + Sync>(t: &Target<M>) -> Result<Vec<RawGoroutine>> {
    Ok(read_headers_sized(t)?.0)
}

/// [`read_headers`], and how many bytes of `g`s it copied in batches (0
/// when it read them one by one).
pub(crate) fn read_headers_sized<M: Memory + Sync>(
    t: &Target<M>,
) -> Result<(Vec<RawGoroutine>, usize)> {
    if !t.mem.prefers_batches() {
        return Ok((read_headers_one_by_one(t)?, 0));
    }
    let mut ptrs = t.allgs()?;
    ptrs.retain(|&p| p != 0);
    ptrs.sort_unstable();
    ptrs.dedup();
    let size = t.layout.g.size;
    // Runs of g structs at most MERGE_GAP apart: (start, end, first ptr index).
    let mut runs: Vec<(u64, u64, usize)> = Vec::new();
    for (i, &p) in ptrs.iter().enumerate() {
        match runs.last_mut() {
            Some(r) if p <= r.1 + MERGE_GAP && p + size - r.0 <= MAX_RUN => r.1 = p + size,
            _ => runs.push((p, p + size, i)),
        }
    }
    let total: usize = runs.iter().map(|r| (r.1 - r.0) as usize).sum();
    let (bytes, ok) = crate::prefetch::copy_ranges(
        t,
        runs.iter().map(|r| (r.0, r.1)),
        t.mem.spare_buffer(total),
    );
    let mut starts = Vec::with_capacity(runs.len());
    let mut at = 0usize;
    for r in &runs {
        starts.push(at);
        at += (r.1 - r.0) as usize;
    }
    let out = (0..runs.len())
        .into_par_iter()
        .flat_map_iter(|k| {
            let r = runs[k];
            let end = runs.get(k + 1).map_or(ptrs.len(), |n| n.2);
            let run_bytes = &bytes[starts[k]..starts[k] + (r.1 - r.0) as usize];
            let ok = ok[k];
            ptrs[r.2..end].iter().filter_map(move |&gp| {
                let off = (gp - r.0) as usize;
                if ok {
                    let b = run_bytes.get(off..off + size as usize)?;
                    header(t, gp, b).map(|mut g| {
                        g.fingerprint = xxhash_rust::xxh3::xxh3_64(b);
                        g
                    })
                } else {
                    // The run failed as a whole: read this g alone.
                    let mut b = vec![0u8; size as usize];
                    t.mem.read_at(gp, &mut b).ok()?;
                    header(t, gp, &b).map(|mut g| {
                        g.fingerprint = xxhash_rust::xxh3::xxh3_64(&b);
                        g
                    })
                }
            })
        })
        .collect();
    Ok((out, total))
}

/// Each goroutine touches about two pages (its g and its stack top): after
/// every [`RELEASE_EVERY`] goroutines the source drops its mapped pages, so
/// RSS stays bounded on huge cores.
#[derive(Default)]
struct PageRelease(AtomicUsize);

impl PageRelease {
    fn done<M: Memory>(&self, t: &Target<M>, goroutines: usize) {
        if self.0.fetch_add(goroutines, Ordering::Relaxed) >= RELEASE_EVERY {
            self.0.store(0, Ordering::Relaxed);
            t.mem.release_cached_pages();
        }
    }
}

/// Reads each `g` on its own (memory-mapped cores: a read is a copy),
/// releasing mapped pages as it goes.
/// Reads the `g` at `gp` (not its stack); `None` when it cannot be read
/// or the goroutine is dead.
pub fn read_one<M: Memory>(t: &Target<M>, gp: u64) -> Option<RawGoroutine> {
    let mut buf = vec![0u8; t.layout.g.size as usize];
    t.mem.read_at(gp, &mut buf).ok()?;
    header(t, gp, &buf)
}

fn read_headers_one_by_one<M: Memory + Sync>(t: &Target<M>) -> Result<Vec<RawGoroutine>> {
    let ptrs = t.allgs()?;
    let size = t.layout.g.size as usize;
    let release = PageRelease::default();
    Ok(ptrs
        .par_chunks(CHUNK)
        .map_init(
            || vec![0u8; size],
            |buf, chunk| {
                let v: Vec<RawGoroutine> = chunk
                    .iter()
                    .filter_map(|&gp| {
                        t.mem.read_at(gp, buf).ok()?;
                        header(t, gp, buf)
                    })
                    .collect();
                release.done(t, chunk.len());
                v
            },
        )
        .flatten_iter()
        .collect())
}

/// The registers to unwind a goroutine from.
fn start_of<M: Memory>(t: &Target<M>, g: &RawGoroutine) -> Start {
    let regs = g
        .thread
        .and_then(|tid| t.threads.iter().find(|th| th.tid as u64 == tid));
    match (g.status, regs) {
        (status::RUNNING, Some(th)) => Start {
            pc: th.regs.pc(),
            sp: th.regs.sp(),
            trap: true,
        },
        (status::SYSCALL, _) if g.syscall_sp != 0 => Start {
            pc: g.syscall_pc,
            sp: g.syscall_sp,
            trap: false,
        },
        _ => Start {
            pc: g.sched_pc,
            sp: g.sched_sp,
            trap: false,
        },
    }
}

/// Where a goroutine's live stack is: from the sp unwinding starts at to
/// the top of the stack.
///
/// A running goroutine's thread may be on another stack (the scheduler's,
/// a signal handler's, a vDSO call's): its own stack is then taken from
/// the lowest of the places unwinding may fall back to.
pub fn stack_span<M: Memory>(t: &Target<M>, g: &RawGoroutine) -> Option<(u64, u64)> {
    let on_stack = |sp: &u64| (g.stack_lo..g.stack_hi).contains(sp);
    let sp = start_of(t, g).sp;
    let lowest = if g.status == status::RUNNING {
        [sp, g.vdso_sp, g.sched_sp]
            .into_iter()
            .filter(on_stack)
            .min()?
    } else {
        Some(sp).filter(on_stack)?
    };
    Some((lowest, g.stack_hi))
}

/// Unwinds every goroutine's stack, in parallel. Returns the frame-pointer
/// cross-check: (frame links compared, links that disagreed).
pub fn unwind_all<M: Memory + Sync>(t: &Target<M>, gs: &mut [RawGoroutine]) -> (u64, u64) {
    let release = PageRelease::default();
    gs.par_chunks_mut(CHUNK)
        .map_init(
            || Unwinder::new(t),
            |unwinder, chunk| {
                let before = (unwinder.fp_checked, unwinder.fp_mismatched);
                for g in chunk.iter_mut() {
                    unwind_one(t, unwinder, g);
                }
                release.done(t, chunk.len());
                (
                    unwinder.fp_checked - before.0,
                    unwinder.fp_mismatched - before.1,
                )
            },
        )
        .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
}

fn header<M: Memory>(t: &Target<M>, gp: u64, buf: &[u8]) -> Option<RawGoroutine> {
    if gp == 0 {
        return None;
    }
    let l = &t.layout.g;
    let e = t.mem.endian();
    let st = e.u32_at(buf, l.atomicstatus) & !status::SCAN;
    let mut g = RawGoroutine {
        gp,
        id: e.u64_at(buf, l.goid),
        status: st,
        wait_reason: buf.get(l.waitreason as usize).copied().unwrap_or(0),
        waitsince: e.u64_at(buf, l.waitsince) as i64,
        parent_id: l.parent_goid.map_or(0, |o| e.u64_at(buf, o)),
        gopc: e.u64_at(buf, l.gopc),
        startpc: e.u64_at(buf, l.startpc),
        labels: e.u64_at(buf, l.labels),
        locked: e.u64_at(buf, l.lockedm) != 0,
        m: e.u64_at(buf, l.m),
        waiting: e.u64_at(buf, l.waiting),
        stack_lo: e.u64_at(buf, l.stack_lo),
        stack_hi: e.u64_at(buf, l.stack_hi),
        sched_pc: e.u64_at(buf, l.sched_pc),
        sched_sp: e.u64_at(buf, l.sched_sp),
        syscall_pc: e.u64_at(buf, l.syscallpc),
        syscall_sp: e.u64_at(buf, l.syscallsp),
        ..RawGoroutine::default()
    };
    if g.is_dead() {
        return None;
    }
    if g.m != 0 {
        let m = &t.layout.m;
        g.thread = t.mem.read_u64(g.m + m.procid).ok().filter(|&p| p != 0);
        g.vdso_sp = t.mem.read_u64(g.m + m.vdso_sp).unwrap_or(0);
        g.vdso_pc = t.mem.read_u64(g.m + m.vdso_pc).unwrap_or(0);
    }
    Some(g)
}

fn unwind_one<M: Memory>(t: &Target<M>, unwinder: &mut Unwinder<'_, M>, g: &mut RawGoroutine) {
    let sched = Sched {
        pc: g.sched_pc,
        sp: g.sched_sp,
    };
    let start = start_of(t, g);
    let mut frames = Vec::with_capacity(8);
    let stop = unwinder.unwind(start, Some(sched), (g.stack_lo, g.stack_hi), &mut frames);
    // A syscall whose saved context does not unwind: try the scheduler's.
    if matches!(stop, Stop::Broken(_)) && g.status == status::SYSCALL && start.sp != sched.sp {
        let mut again = Vec::with_capacity(8);
        let s = Start {
            pc: sched.pc,
            sp: sched.sp,
            trap: false,
        };
        if unwinder.unwind(s, None, (g.stack_lo, g.stack_hi), &mut again) == Stop::Top {
            frames = again;
        }
    }
    // A running goroutine caught where its thread's registers do not
    // unwind (in the vDSO, on the scheduler's or a signal stack, between
    // two instructions of a stack switch): from where it called into the
    // vDSO, else from where it last entered the scheduler, as Delve does.
    let unusable = match &stop {
        Stop::Broken(_) => true,
        Stop::Top => frames.last().is_none_or(|f| !unwinder.is_top(f)),
        Stop::TooDeep => false,
    };
    let stop = match stop {
        stop if unusable && g.status == status::RUNNING && start.trap => {
            let fallbacks = [(g.vdso_pc, g.vdso_sp), (sched.pc, sched.sp)];
            let mut stop = stop;
            for (pc, sp) in fallbacks {
                if pc == 0 || !(g.stack_lo..g.stack_hi).contains(&sp) {
                    continue;
                }
                let mut again = Vec::with_capacity(8);
                let s = Start {
                    pc,
                    sp,
                    trap: false,
                };
                if unwinder.unwind(s, None, (g.stack_lo, g.stack_hi), &mut again) == Stop::Top
                    && again.last().is_some_and(|f| unwinder.is_top(f))
                {
                    frames = again;
                    stop = Stop::Top;
                    break;
                }
            }
            stop
        }
        stop => stop,
    };
    g.broken = match stop {
        Stop::Top => None,
        Stop::Broken(why) => Some(why),
        Stop::TooDeep => Some(format!(
            "more than {} frames; the rest are not shown",
            crate::unwind::MAX_FRAMES
        )),
    };
    frames.shrink_to_fit();
    g.frames = frames;
}
