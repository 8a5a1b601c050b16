//! Copying what unwinding needs out of a live process in a few large
//! batched reads, so the process is stopped only for the copy and not for
//! the unwinding and symbolization that follow.

use std::sync::{Mutex, OnceLock};

use rayon::prelude::*;

use gosleuth_memory::{Endian, Memory, Region, Result};

use crate::goroutines::{RawGoroutine, read_headers_sized, stack_span, status};
use crate::target::Target;

/// Most bytes copied per goroutine stack (deeper parts are read live).
const STACK_CAP: u64 = 64 * 1024;
/// Bytes copied above each thread's stack pointer (system stacks).
const THREAD_STACK: u64 = 32 * 1024;

struct Chunk {
    addr: u64,
    /// Which of `Prefetched`'s buffers holds it, and where.
    buf: usize,
    at: usize,
    len: usize,
}

/// A memory source with copies of some ranges taken earlier; reads of
/// other ranges go to the source.
pub struct Prefetched<M> {
    pub inner: M,
    copies: OnceLock<(Vec<Chunk>, Vec<Vec<u8>>)>,
    spare: Mutex<Option<Vec<u8>>>,
    /// Goroutine stacks taken from a precopy and copied while stopped.
    stacks: OnceLock<(usize, usize)>,
}

impl<M> Prefetched<M> {
    pub fn new(inner: M) -> Prefetched<M> {
        Prefetched {
            inner,
            copies: OnceLock::new(),
            spare: Mutex::new(None),
            stacks: OnceLock::new(),
        }
    }

    /// How many goroutine stacks [`prefetch_stacks`] took from the copy
    /// made while the process ran, and how many it copied (again).
    pub fn stack_copies(&self) -> (usize, usize) {
        self.stacks.get().copied().unwrap_or_default()
    }

    /// Keeps `buf` (from `copy_buffer`, allocated before the process
    /// was stopped) for the first large copy.
    pub fn with_spare_buffer(self, buf: Vec<u8>) -> Prefetched<M> {
        if let Ok(mut s) = self.spare.lock() {
            *s = Some(buf);
        }
        self
    }

    fn find(&self, addr: u64, len: usize) -> Option<&[u8]> {
        let (chunks, bufs) = self.copies.get()?;
        let i = chunks.partition_point(|c| c.addr <= addr).checked_sub(1)?;
        let c = &chunks[i];
        let off = usize::try_from(addr - c.addr).ok()?;
        if off.checked_add(len)? > c.len {
            return None;
        }
        bufs.get(c.buf)?.get(c.at + off..c.at + off + len)
    }
}

impl<M: Memory> Memory for Prefetched<M> {
    fn read_at(&self, addr: u64, buf: &mut [u8]) -> Result<()> {
        match self.find(addr, buf.len()) {
            Some(src) => {
                buf.copy_from_slice(src);
                Ok(())
            }
            None => self.inner.read_at(addr, buf),
        }
    }
    fn endian(&self) -> Endian {
        self.inner.endian()
    }
    fn regions(&self) -> Vec<Region> {
        self.inner.regions()
    }
    fn read_many(&self, reqs: &mut [(u64, &mut [u8])]) -> Vec<Result<()>> {
        self.inner.read_many(reqs)
    }
    fn prefers_batches(&self) -> bool {
        self.inner.prefers_batches()
    }
    fn spare_buffer(&self, len: usize) -> Option<Vec<u8>> {
        let mut spare = self.spare.lock().ok()?;
        if spare.as_ref().is_some_and(|b| b.len() >= len) {
            spare.take()
        } else {
            None
        }
    }
}

/// Goroutine stacks copied while the process ran, each with the
/// fingerprint of its goroutine's `g` at the time (see [`precopy_stacks`]).
pub struct Precopy {
    /// Sorted by `g` address: (g, fingerprint, stack range copied, offset
    /// in `bytes`).
    stacks: Vec<(u64, u64, (u64, u64), usize)>,
    bytes: Vec<u8>,
    /// Bytes of `g`s copied, to size the buffer of the next copy.
    pub g_bytes: usize,
}

/// The part of a goroutine's stack to copy: from where unwinding starts to
/// the top, at most [`STACK_CAP`] bytes.
fn copy_span<M: Memory>(t: &Target<M>, g: &RawGoroutine) -> Option<(u64, u64)> {
    stack_span(t, g)
        .map(|(lo, hi)| (lo, hi.min(lo.saturating_add(STACK_CAP))))
        .filter(|(lo, hi)| hi > lo)
}

/// Copies every goroutine's `g` and live stack without stopping the
/// process. A goroutine that runs afterwards changes its `g` (its status,
/// scheduling context, `trackingSeq`, `waitsince`...), so once the process
/// is stopped, [`prefetch_stacks`] copies again only the stacks of
/// goroutines whose `g` differs: a hundred thousand parked goroutines
/// cost one copy of their `g`s while the process is stopped, instead of a
/// hundred thousand stack reads.
pub fn precopy_stacks<M: Memory + Sync>(t: &Target<M>) -> crate::error::Result<Precopy> {
    let (gs, g_bytes) = read_headers_sized(t)?;
    let spans: Vec<(u64, u64, (u64, u64))> = gs
        .iter()
        .filter_map(|g| Some((g.gp, g.fingerprint, copy_span(t, g)?)))
        .collect();
    let (bytes, ok) = copy_ranges(t, spans.iter().map(|s| s.2), None);
    let mut at = 0usize;
    let mut stacks = Vec::with_capacity(spans.len());
    for ((gp, fp, (lo, hi)), ok) in spans.into_iter().zip(ok) {
        if ok {
            stacks.push((gp, fp, (lo, hi), at));
        }
        at += (hi - lo) as usize;
    }
    stacks.sort_unstable_by_key(|s| s.0);
    Ok(Precopy {
        stacks,
        bytes,
        g_bytes,
    })
}

/// Copies `ranges` (in order, into one buffer: the spare one of `mem` if
/// it is large enough), in parallel batched reads. Returns the buffer and
/// which ranges were read.
pub(crate) fn copy_ranges<M: Memory + Sync>(
    t: &Target<M>,
    ranges: impl Iterator<Item = (u64, u64)> + Clone,
    spare: Option<Vec<u8>>,
) -> (Vec<u8>, Vec<bool>) {
    let total: usize = ranges.clone().map(|(lo, hi)| (hi - lo) as usize).sum();
    let mut bytes = match spare {
        Some(b) if b.len() >= total => b,
        _ => copy_buffer(total),
    };
    let mut reqs: Vec<(u64, &mut [u8])> = Vec::new();
    let mut rest: &mut [u8] = &mut bytes;
    for (lo, hi) in ranges {
        let (head, tail) = rest.split_at_mut((hi - lo) as usize);
        rest = tail;
        reqs.push((lo, head));
    }
    // Each read pins the target's pages anew: share the work, a few
    // batches per thread.
    let per_batch = reqs
        .len()
        .div_ceil(rayon::current_num_threads() * 4)
        .clamp(1, 1024);
    let ok: Vec<bool> = reqs
        .par_chunks_mut(per_batch)
        .map(|c| {
            t.mem
                .read_many(c)
                .iter()
                .map(|r| r.is_ok())
                .collect::<Vec<_>>()
        })
        .collect::<Vec<_>>()
        .into_iter()
        .flatten()
        .collect();
    drop(reqs);
    (bytes, ok)
}

/// Sorts and merges overlapping ranges.
fn merge(mut spans: Vec<(u64, u64)>) -> Vec<(u64, u64)> {
    spans.sort_unstable();
    let mut merged: Vec<(u64, u64)> = Vec::with_capacity(spans.len());
    for (lo, hi) in spans {
        match merged.last_mut() {
            Some(last) if lo <= last.1 => last.1 = last.1.max(hi),
            _ => merged.push((lo, hi)),
        }
    }
    merged
}

/// Copies the live part of every goroutine's stack and of every thread's
/// stack, in batched reads; with a [`Precopy`], only the stacks of
/// goroutines whose `g` changed since it was taken (and the threads').
pub fn prefetch_stacks<M: Memory + Sync>(
    t: &Target<Prefetched<M>>,
    gs: &[RawGoroutine],
    pre: Option<Precopy>,
) {
    // (range, offset in the precopy) of stacks that did not change.
    let mut reused: Vec<((u64, u64), usize)> = Vec::new();
    let mut fresh: Vec<(u64, u64)> = Vec::new();
    for g in gs {
        let Some(span) = copy_span(t, g) else {
            continue;
        };
        let same = pre.as_ref().and_then(|p| {
            let i = p.stacks.binary_search_by_key(&g.gp, |s| s.0).ok()?;
            let (_, fp, pspan, at) = p.stacks[i];
            // A goroutine on a thread runs from its registers, not from
            // what its g says.
            (fp == g.fingerprint
                && pspan == span
                && !matches!(g.status, status::RUNNING | status::SYSCALL))
            .then_some(at)
        });
        match same {
            Some(at) => reused.push((span, at)),
            None => fresh.push(span),
        }
    }
    let copyable = reused.len() + fresh.len();
    // A thread's stack may end less than THREAD_STACK above its sp (the
    // main thread's, near its top): a read past the end would fail whole.
    let regions = t.mem.regions();
    fresh.extend(t.threads.iter().map(|th| {
        let sp = th.regs.sp();
        let end = regions
            .iter()
            .find(|r| (r.start..r.end).contains(&sp))
            .map_or(u64::MAX, |r| r.end);
        (sp, sp.saturating_add(THREAD_STACK).min(end))
    }));
    // A thread's range can cover stacks next to its own: copy those anew
    // too, so that no two copies overlap.
    let mut merged = merge(fresh);
    loop {
        let overlaps = |&((lo, hi), _): &((u64, u64), usize)| {
            let i = merged.partition_point(|m| m.1 <= lo);
            merged.get(i).is_some_and(|m| m.0 < hi)
        };
        let (moved, kept): (Vec<_>, Vec<_>) = reused.into_iter().partition(overlaps);
        reused = kept;
        if moved.is_empty() {
            break;
        }
        merged.extend(moved.into_iter().map(|m| m.0));
        merged = merge(merged);
    }
    let _ = t.mem.stacks.set((reused.len(), copyable - reused.len()));
    let spare = t.mem.spare_buffer(0);
    let (bytes, ok) = copy_ranges(t, merged.iter().copied(), spare);
    let mut chunks = Vec::with_capacity(merged.len() + reused.len());
    let mut at = 0usize;
    for (&(lo, hi), ok) in merged.iter().zip(ok) {
        let len = (hi - lo) as usize;
        // Ranges that could not be read (a thread's sp near the end of
        // its mapping) are read directly later.
        if ok {
            chunks.push(Chunk {
                addr: lo,
                buf: 1,
                at,
                len,
            });
        }
        at += len;
    }
    chunks.extend(reused.into_iter().map(|((lo, hi), at)| Chunk {
        addr: lo,
        buf: 0,
        at,
        len: (hi - lo) as usize,
    }));
    chunks.sort_unstable_by_key(|c| c.addr);
    let pre_bytes = pre.map(|p| p.bytes).unwrap_or_default();
    let _ = t.mem.copies.set((chunks, vec![pre_bytes, bytes]));
}

/// A zeroed buffer for copies of target memory, backed by huge pages where
/// the kernel allows it: filling 100 MB through 4 KiB pages costs tens of
/// thousands of page faults while the target is stopped.
pub(crate) fn copy_buffer(len: usize) -> Vec<u8> {
    let mut v: Vec<u8> = Vec::with_capacity(len);
    const HUGE: usize = 2 << 20;
    let start = v.as_ptr() as usize;
    let first = start.div_ceil(HUGE) * HUGE;
    let end = (start + len) / HUGE * HUGE;
    if end > first {
        // SAFETY: the range lies inside the allocation just made; advice
        // does not change its contents or validity.
        unsafe {
            libc::madvise(first as *mut libc::c_void, end - first, libc::MADV_HUGEPAGE);
        }
    }
    v.resize(len, 0);
    v
}
