//! The memory a sample is unwound over: the stack copy that came with it,
//! and the live process beyond it.

use std::sync::Mutex;

use gosleuth_memory::{Endian, LiveProcess, Memory, Region};

/// A live process with, optionally, a copy of one thread's stack taken at
/// the moment of a sample: reads inside the copy come from it (the stack as
/// it was), reads elsewhere from the process as it is now.
pub struct Overlay {
    live: LiveProcess,
    copy: Mutex<(u64, Vec<u8>)>,
}

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
        }
    }

    /// Reads of `[base, base + bytes.len())` come from `bytes` from now on.
    pub fn set_stack(&self, base: u64, bytes: &[u8]) {
        if let Ok(mut c) = self.copy.lock() {
            c.0 = base;
            c.1.clear();
            c.1.extend_from_slice(bytes);
        }
    }

    /// Forgets the stack copy.
    pub fn clear_stack(&self) {
        if let Ok(mut c) = self.copy.lock() {
            c.1.clear();
        }
    }

    /// The process.
    pub fn live(&self) -> &LiveProcess {
        &self.live
    }
}

impl Memory for Overlay {
    fn read_at(&self, addr: u64, buf: &mut [u8]) -> gosleuth_memory::Result<()> {
        if let Ok(c) = self.copy.lock()
            && let Some(off) = addr.checked_sub(c.0)
            && let Ok(off) = usize::try_from(off)
            && let Some(src) = off.checked_add(buf.len()).and_then(|end| c.1.get(off..end))
        {
            buf.copy_from_slice(src);
            return Ok(());
        }
        self.live.read_at(addr, buf)
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
