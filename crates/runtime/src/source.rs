//! Where a capture's memory comes from: a core file or a live process.
//!
//! The reader itself is generic over [`Memory`] (tests read through
//! wrappers that corrupt or count reads); everything above `runtime` sees a
//! [`Capture`](crate::Capture) over a [`Source`], so no caller names the
//! memory type or carries a type parameter for it.

use gosleuth_memory::{CoreFile, Endian, LiveProcess, Memory, ProcessInfo, Region, Result};

use crate::prefetch::Prefetched;

/// The memory of a core file or of a live process (copied in large batches
/// while it was stopped: [`Prefetched`]).
pub enum Source {
    /// A core file, memory-mapped.
    Core(CoreFile),
    /// A live process, with what was copied while it was stopped.
    Live(Prefetched<LiveProcess>),
}

impl Source {
    /// The process a core was taken from (pid and command line), from its
    /// notes; `None` for a live process or a core without them.
    pub fn process(&self) -> Option<&ProcessInfo> {
        match self {
            Source::Core(c) => c.process(),
            Source::Live(_) => None,
        }
    }

    /// The GNU build id of the executable a core names, if it has one.
    pub fn build_id(&self) -> Option<&str> {
        match self {
            Source::Core(c) => c.build_id(),
            Source::Live(_) => None,
        }
    }

    /// How many goroutine stacks of a live process were taken from the copy
    /// made while it ran, and how many were copied (again) while it was
    /// stopped; `(0, 0)` for a core.
    pub fn stack_copies(&self) -> (usize, usize) {
        match self {
            Source::Core(_) => (0, 0),
            Source::Live(p) => p.stack_copies(),
        }
    }
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Core(_) => f.write_str("Source::Core"),
            Source::Live(_) => f.write_str("Source::Live"),
        }
    }
}

/// Calls `$e` on the memory inside `$s`, whichever it is.
macro_rules! each {
    ($s:expr, $m:ident => $e:expr) => {
        match $s {
            Source::Core($m) => $e,
            Source::Live($m) => $e,
        }
    };
}

impl Memory for Source {
    fn read_at(&self, addr: u64, buf: &mut [u8]) -> Result<()> {
        each!(self, m => m.read_at(addr, buf))
    }
    fn endian(&self) -> Endian {
        each!(self, m => m.endian())
    }
    fn regions(&self) -> Vec<Region> {
        each!(self, m => m.regions())
    }
    fn prefers_batches(&self) -> bool {
        each!(self, m => m.prefers_batches())
    }
    fn release_cached_pages(&self) {
        each!(self, m => m.release_cached_pages())
    }
    fn spare_buffer(&self, len: usize) -> Option<Vec<u8>> {
        each!(self, m => m.spare_buffer(len))
    }
    fn read_many(&self, reqs: &mut [(u64, &mut [u8])]) -> Vec<Result<()>> {
        each!(self, m => m.read_many(reqs))
    }
    fn read_u8(&self, addr: u64) -> Result<u8> {
        each!(self, m => m.read_u8(addr))
    }
    fn read_u16(&self, addr: u64) -> Result<u16> {
        each!(self, m => m.read_u16(addr))
    }
    fn read_u32(&self, addr: u64) -> Result<u32> {
        each!(self, m => m.read_u32(addr))
    }
    fn read_u64(&self, addr: u64) -> Result<u64> {
        each!(self, m => m.read_u64(addr))
    }
    fn read_ptr(&self, addr: u64) -> Result<u64> {
        each!(self, m => m.read_ptr(addr))
    }
    fn read_ptrs(&self, addr: u64, n: usize) -> Result<Vec<u64>> {
        each!(self, m => m.read_ptrs(addr, n))
    }
    fn read_vec(&self, addr: u64, len: usize) -> Result<Vec<u8>> {
        each!(self, m => m.read_vec(addr, len))
    }
    fn read_go_string(&self, addr: u64, max: usize) -> Result<Vec<u8>> {
        each!(self, m => m.read_go_string(addr, max))
    }
}
