//! The memory a sample is unwound over: the stack copy that came with it,
//! and the live process beyond it.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use gosleuth_memory::{Endian, LiveProcess, Memory, Region};

/// A live process with, optionally, a copy of one thread's stack taken at
/// the moment of a sample: reads inside the copy come from it (the stack as
/// it was), reads elsewhere from the process as it is now, each read once
/// (not retried until two agree, as `LiveProcess` does without a freeze).
pub struct Overlay {
    live: LiveProcess,
    copy: Mutex<(u64, Vec<u8>)>,
    /// Whether `copy` holds a stack (checked before taking its lock: the
    /// goroutine captures read from many threads and never use it).
    has_copy: AtomicBool,
    /// This overlay among others (the per-thread cache is keyed by it).
    id: u64,
    /// Bumped at each preload and clear: a thread's cached `bulk` is
    /// current while its generation matches.
    generation: AtomicU64,
    bulk: Mutex<Arc<Bulk>>,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// The chunk of the last read through the preload, on this thread.
    static LAST_CHUNK: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    /// This thread's reference to the current preload: (overlay id,
    /// generation, copy). Reads take no lock while it is current (many
    /// threads unwinding at once would fight over one).
    static CACHED: std::cell::RefCell<Option<(u64, u64, Arc<Bulk>)>> =
        const { std::cell::RefCell::new(None) };
}

/// Ranges copied in one batch: (address, offset in `bytes`, length),
/// sorted by address.
#[derive(Default)]
struct Bulk {
    chunks: Vec<(u64, usize, usize)>,
    bytes: Vec<u8>,
}

/// Ranges closer than this are copied as one (goroutine stacks sit next
/// to each other, but only their live tops are wanted: a wide gap would
/// copy every stack whole).
const MERGE_GAP: u64 = 64;
/// The most bytes one preload copies (the rest is read as needed).
const MAX_PRELOAD: u64 = 1 << 30;

impl std::fmt::Debug for Overlay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Overlay").field("live", &self.live).finish()
    }
}

impl Overlay {
    /// Reads `live` directly until [`Overlay::set_stack`].
    pub fn new(live: LiveProcess) -> Overlay {
        Overlay {
            live,
            copy: Mutex::new((0, Vec::new())),
            has_copy: AtomicBool::new(false),
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            generation: AtomicU64::new(0),
            bulk: Mutex::new(Arc::new(Bulk::default())),
        }
    }

    /// Reads of `[base, base + bytes.len())` come from `bytes` from now on.
    pub fn set_stack(&self, base: u64, bytes: &[u8]) {
        if let Ok(mut c) = self.copy.lock() {
            c.0 = base;
            c.1.clear();
            c.1.extend_from_slice(bytes);
            self.has_copy.store(true, Ordering::Release);
        }
    }

    /// Forgets the stack copy.
    pub fn clear_stack(&self) {
        if let Ok(mut c) = self.copy.lock() {
            c.1.clear();
            self.has_copy.store(false, Ordering::Release);
        }
    }

    /// Copies `ranges` (goroutine stacks, say) in batched reads: reads
    /// inside them come from the copy until [`Overlay::clear_preload`].
    /// Each range is read once (a running goroutine's may be torn).
    pub fn preload(&self, mut ranges: Vec<(u64, u64)>) {
        ranges.retain(|r| r.0 < r.1);
        ranges.sort_unstable();
        let mut merged: Vec<(u64, u64)> = Vec::with_capacity(ranges.len());
        let mut total = 0u64;
        for (lo, hi) in ranges {
            match merged.last_mut() {
                Some(m) if lo <= m.1.saturating_add(MERGE_GAP) => {
                    total += hi.saturating_sub(m.1);
                    m.1 = m.1.max(hi);
                }
                _ => {
                    total += hi - lo;
                    merged.push((lo, hi));
                }
            }
            if total > MAX_PRELOAD {
                break;
            }
        }
        let len: usize = merged.iter().map(|m| (m.1 - m.0) as usize).sum();
        let mut bytes = vec![0u8; len];
        let mut reqs: Vec<(u64, &mut [u8])> = Vec::with_capacity(merged.len());
        let mut rest: &mut [u8] = &mut bytes;
        for &(lo, hi) in &merged {
            let (head, tail) = rest.split_at_mut((hi - lo) as usize);
            reqs.push((lo, head));
            rest = tail;
        }
        let ok = self.live.read_batch(&mut reqs);
        drop(reqs);
        let mut chunks = Vec::with_capacity(merged.len());
        let mut at = 0usize;
        for (&(lo, hi), r) in merged.iter().zip(ok) {
            let n = (hi - lo) as usize;
            if r.is_ok() {
                chunks.push((lo, at, n));
            }
            at += n;
        }
        self.set_bulk(Bulk { chunks, bytes });
    }

    fn set_bulk(&self, b: Bulk) {
        if let Ok(mut cur) = self.bulk.lock() {
            *cur = Arc::new(b);
            self.generation.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// `f` over the current preload, through this thread's cached copy.
    fn with_bulk<R>(&self, f: impl FnOnce(&Bulk) -> R) -> R {
        let generation = self.generation.load(Ordering::Acquire);
        CACHED.with(|c| {
            let mut c = c.borrow_mut();
            let current = matches!(&*c, Some((id, g, _)) if *id == self.id && *g == generation);
            if !current {
                let b = self.bulk.lock().map(|b| Arc::clone(&b)).unwrap_or_default();
                *c = Some((self.id, generation, b));
            }
            match &*c {
                Some((_, _, b)) => f(b),
                None => f(&Bulk::default()),
            }
        })
    }

    /// Forgets what [`Overlay::preload`] copied.
    pub fn clear_preload(&self) {
        self.set_bulk(Bulk::default());
        // This thread's reference goes now; the others' at their next read.
        CACHED.with(|c| c.borrow_mut().take());
    }

    /// The process.
    pub fn live(&self) -> &LiveProcess {
        &self.live
    }
}

impl Memory for Overlay {
    fn read_at(&self, addr: u64, buf: &mut [u8]) -> gosleuth_memory::Result<()> {
        if self.has_copy.load(Ordering::Acquire)
            && let Ok(c) = self.copy.lock()
            && let Some(off) = addr.checked_sub(c.0)
            && let Ok(off) = usize::try_from(off)
            && let Some(src) = off.checked_add(buf.len()).and_then(|end| c.1.get(off..end))
        {
            buf.copy_from_slice(src);
            return Ok(());
        }
        let from_bulk = self.with_bulk(|b| {
            if b.chunks.is_empty() {
                return false;
            }
            // Reads come in runs over one stack: try this thread's last
            // chunk before searching.
            let hit = |i: usize| {
                b.chunks
                    .get(i)
                    .filter(|c| c.0 <= addr && addr < c.0 + c.2 as u64)
                    .map(|_| i)
            };
            let i = hit(LAST_CHUNK.get()).or_else(|| {
                let i = b.chunks.partition_point(|c| c.0 <= addr).checked_sub(1)?;
                LAST_CHUNK.set(i);
                Some(i)
            });
            if let Some(&(lo, at, n)) = i.and_then(|i| b.chunks.get(i))
                && let Ok(off) = usize::try_from(addr - lo)
                && off + buf.len() <= n
            {
                buf.copy_from_slice(&b.bytes[at + off..at + off + buf.len()]);
                return true;
            }
            false
        });
        if from_bulk {
            return Ok(());
        }
        // One read: a sampler accepts what a running process shows at one
        // instant (a retry until two reads agree would double every read).
        self.live.read_once(addr, buf)
    }

    fn endian(&self) -> Endian {
        self.live.endian()
    }

    fn regions(&self) -> Vec<Region> {
        self.live.regions()
    }

    fn prefers_batches(&self) -> bool {
        self.live.prefers_batches()
    }
}
