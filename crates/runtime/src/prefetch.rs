//! Copying what unwinding needs out of a live process in a few large
//! batched reads, so the process is stopped only for the copy and not for
//! the unwinding and symbolization that follow.

use std::sync::OnceLock;

use rayon::prelude::*;

use gosleuth_memory::{Endian, Memory, Region, Result};

use crate::goroutines::{RawGoroutine, stack_span};
use crate::target::Target;

/// Most bytes copied per goroutine stack (deeper parts are read live).
const STACK_CAP: u64 = 64 * 1024;
/// Bytes copied above each thread's stack pointer (system stacks).
const THREAD_STACK: u64 = 32 * 1024;

struct Chunk {
    addr: u64,
    /// Offset into `Prefetched::bytes`.
    at: usize,
    len: usize,
}

/// A memory source with copies of some ranges taken earlier; reads of
/// other ranges go to the source.
pub struct Prefetched<M> {
    pub inner: M,
    copies: OnceLock<(Vec<Chunk>, Vec<u8>)>,
}

impl<M> Prefetched<M> {
    pub fn new(inner: M) -> Prefetched<M> {
        Prefetched {
            inner,
            copies: OnceLock::new(),
        }
    }

    fn find(&self, addr: u64, len: usize) -> Option<&[u8]> {
        let (chunks, bytes) = self.copies.get()?;
        let i = chunks.partition_point(|c| c.addr <= addr).checked_sub(1)?;
        let c = &chunks[i];
        let off = usize::try_from(addr - c.addr).ok()?;
        if off.checked_add(len)? > c.len {
            return None;
        }
        bytes.get(c.at + off..c.at + off + len)
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
}

/// Copies the live part of every goroutine's stack and of every thread's
/// stack, in batched reads.
pub fn prefetch_stacks<M: Memory + Sync>(t: &Target<Prefetched<M>>, gs: &[RawGoroutine]) {
    let mut spans: Vec<(u64, u64)> = gs
        .iter()
        .filter_map(|g| stack_span(t, g))
        .map(|(lo, hi)| (lo, hi.min(lo.saturating_add(STACK_CAP))))
        .chain(t.threads.iter().map(|th| {
            let sp = th.regs.sp();
            (sp, sp.saturating_add(THREAD_STACK))
        }))
        .filter(|(lo, hi)| hi > lo)
        .collect();
    spans.sort_unstable();
    // Merge overlaps (a thread's sp inside a goroutine stack).
    let mut merged: Vec<(u64, u64)> = Vec::with_capacity(spans.len());
    for (lo, hi) in spans {
        match merged.last_mut() {
            Some(last) if lo <= last.1 => last.1 = last.1.max(hi),
            _ => merged.push((lo, hi)),
        }
    }
    let total: usize = merged.iter().map(|(lo, hi)| (hi - lo) as usize).sum();
    let mut bytes = copy_buffer(total);
    let mut chunks = Vec::with_capacity(merged.len());
    {
        let mut reqs: Vec<(u64, &mut [u8])> = Vec::with_capacity(merged.len());
        let mut rest: &mut [u8] = &mut bytes;
        let mut at = 0usize;
        for &(lo, hi) in &merged {
            let len = (hi - lo) as usize;
            let (head, tail) = rest.split_at_mut(len);
            rest = tail;
            reqs.push((lo, head));
            chunks.push(Chunk { addr: lo, at, len });
            at += len;
        }
        // Each read pins the target's pages anew: share the work.
        let results: Vec<bool> = reqs
            .par_chunks_mut(1024)
            .map(|c| {
                t.mem
                    .inner
                    .read_many(c)
                    .iter()
                    .map(|r| r.is_ok())
                    .collect::<Vec<_>>()
            })
            .collect::<Vec<_>>()
            .into_iter()
            .flatten()
            .collect();
        // Drop the ranges that could not be read (a thread's sp near the
        // end of its mapping): they will be read directly.
        let mut keep = results.into_iter();
        chunks.retain(|_| keep.next().unwrap_or(false));
    }
    let _ = t.mem.copies.set((chunks, bytes));
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
