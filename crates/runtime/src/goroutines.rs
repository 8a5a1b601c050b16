//! Every goroutine in `runtime.allgs`: header fields and unwound stacks.

use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;

use gosleuth_memory::{Memory, Thread};

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
    /// The OS thread (m.procid) when the goroutine is on an M.
    pub thread: Option<u64>,
    /// Physical frames, innermost first.
    pub frames: Vec<RawFrame>,
    /// Why the stack is incomplete, if it is.
    pub broken: Option<String>,
}

impl RawGoroutine {
    /// True for the runtime's own goroutines (GC workers and so on) is not
    /// decided here; this only says whether the goroutine exists.
    pub fn is_dead(&self) -> bool {
        matches!(self.status, status::DEAD | status::DEADEXTRA)
    }
}

const CHUNK: usize = 4096;
/// Goroutines read between two [`Memory::release_cached_pages`] calls
/// (about 8 KiB of mapped pages each).
const RELEASE_EVERY: usize = 8 * 1024;

/// Reads every live goroutine of `t` (dead ones are skipped), unwinding in
/// parallel.
pub fn read_all<M: Memory + Sync>(t: &Target<M>) -> Result<Vec<RawGoroutine>> {
    let ptrs = t.allgs()?;
    let threads = &t.threads;
    // Each goroutine touches about two pages (its g and its stack top);
    // drop mapped pages every so often so RSS stays bounded on huge cores.
    let since_release = AtomicUsize::new(0);
    let out: Vec<RawGoroutine> = ptrs
        .par_chunks(CHUNK)
        .map_init(
            || (Unwinder::new(t), vec![0u8; t.layout.g.size as usize]),
            |(unwinder, buf), chunk| {
                let mut v = Vec::with_capacity(chunk.len());
                for &gp in chunk {
                    if let Some(g) = read_one(t, unwinder, buf, threads, gp) {
                        v.push(g);
                    }
                }
                if since_release.fetch_add(chunk.len(), Ordering::Relaxed) >= RELEASE_EVERY {
                    since_release.store(0, Ordering::Relaxed);
                    t.mem.release_cached_pages();
                }
                v
            },
        )
        .flatten_iter()
        .collect();
    Ok(out)
}

fn u64_at(buf: &[u8], off: u64) -> u64 {
    let o = off as usize;
    buf.get(o..o + 8)
        .and_then(|b| b.try_into().ok())
        .map_or(0, u64::from_le_bytes)
}

fn u32_at(buf: &[u8], off: u64) -> u32 {
    let o = off as usize;
    buf.get(o..o + 4)
        .and_then(|b| b.try_into().ok())
        .map_or(0, u32::from_le_bytes)
}

fn read_one<M: Memory>(
    t: &Target<M>,
    unwinder: &mut Unwinder<'_, M>,
    buf: &mut [u8],
    threads: &[Thread],
    gp: u64,
) -> Option<RawGoroutine> {
    if gp == 0 || t.mem.read_at(gp, buf).is_err() {
        return None;
    }
    let l = &t.layout.g;
    let st = u32_at(buf, l.atomicstatus) & !status::SCAN;
    let mut g = RawGoroutine {
        gp,
        id: u64_at(buf, l.goid),
        status: st,
        wait_reason: buf.get(l.waitreason as usize).copied().unwrap_or(0),
        waitsince: u64_at(buf, l.waitsince) as i64,
        parent_id: l.parent_goid.map_or(0, |o| u64_at(buf, o)),
        gopc: u64_at(buf, l.gopc),
        startpc: u64_at(buf, l.startpc),
        labels: u64_at(buf, l.labels),
        locked: u64_at(buf, l.lockedm) != 0,
        m: u64_at(buf, l.m),
        waiting: u64_at(buf, l.waiting),
        stack_lo: u64_at(buf, l.stack_lo),
        stack_hi: u64_at(buf, l.stack_hi),
        ..RawGoroutine::default()
    };
    if g.is_dead() {
        return None;
    }
    if g.m != 0 {
        g.thread = t
            .mem
            .read_u64(g.m + t.layout.m.procid)
            .ok()
            .filter(|&p| p != 0);
    }
    let sched = Sched {
        pc: u64_at(buf, l.sched_pc),
        sp: u64_at(buf, l.sched_sp),
    };
    let syscall = Start {
        pc: u64_at(buf, l.syscallpc),
        sp: u64_at(buf, l.syscallsp),
        trap: false,
    };
    let regs = g
        .thread
        .and_then(|tid| threads.iter().find(|th| th.tid as u64 == tid));
    let start = match (st, regs) {
        (status::RUNNING, Some(th)) => Start {
            pc: th.regs.pc(),
            sp: th.regs.sp(),
            trap: true,
        },
        (status::SYSCALL, _) if syscall.sp != 0 => syscall,
        _ => Start {
            pc: sched.pc,
            sp: sched.sp,
            trap: false,
        },
    };
    let mut frames = Vec::with_capacity(8);
    let stop = unwinder.unwind(start, Some(sched), (g.stack_lo, g.stack_hi), &mut frames);
    // A syscall whose saved context does not unwind: try the scheduler's.
    if matches!(stop, Stop::Broken(_)) && st == status::SYSCALL && start.sp != sched.sp {
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
    Some(g)
}
