//! The garbage collector's own counters, read from the target: how many
//! cycles ran, how long they stopped the world, and the heap they left.

use gosleuth_memory::Memory;

use crate::error::{Error, Result};
use crate::target::Target;

/// `runtime.memstats` and `runtime.gcController` fields.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GcCounters {
    /// Completed GC cycles (`memstats.numgc`).
    pub cycles: u32,
    /// Total stop-the-world pause time (`memstats.pause_total_ns`).
    pub pause_total_ns: u64,
    /// Heap marked live by the last cycle (`gcController.heapMarked`).
    pub heap_marked: Option<u64>,
    /// Heap in use now, as the pacer counts it (`gcController.heapLive`).
    pub heap_live: Option<u64>,
}

/// Where the counters are in the target.
#[derive(Debug, Clone, Copy)]
pub struct GcCounterAddrs {
    numgc: u64,
    pause_total: u64,
    heap_marked: Option<u64>,
    heap_live: Option<u64>,
}

/// Finds the counters (needs DWARF: the error says so otherwise).
pub fn locate<M: Memory>(t: &Target<M>) -> Result<GcCounterAddrs> {
    let d = t
        .bin
        .dwarf()
        .ok()
        .flatten()
        .ok_or_else(|| Error::runtime("runtime.memstats", "the binary has no DWARF"))?;
    let memstats = t
        .global_link_addr("runtime.memstats")
        .ok_or_else(|| Error::runtime("runtime.memstats", "not found"))?
        .wrapping_add(t.bias);
    let field = |ty: &str, path: &str| crate::layout::field_offset(d, ty, path);
    let ctl = t
        .global_link_addr("runtime.gcController")
        .map(|a| a.wrapping_add(t.bias));
    let in_ctl = |path: &str| {
        let base = ctl?;
        field("runtime.gcControllerState", path)
            .ok()
            .map(|o| base + o)
    };
    Ok(GcCounterAddrs {
        numgc: memstats + field("runtime.mstats", "numgc")?,
        pause_total: memstats + field("runtime.mstats", "pause_total_ns")?,
        heap_marked: in_ctl("heapMarked"),
        heap_live: in_ctl("heapLive.value").or_else(|| in_ctl("heapLive")),
    })
}

/// Reads the counters now.
pub fn read<M: Memory>(t: &Target<M>, at: &GcCounterAddrs) -> Result<GcCounters> {
    let mut n = [0u8; 4];
    t.mem.read_at(at.numgc, &mut n)?;
    Ok(GcCounters {
        cycles: t.mem.endian().u32_at(&n, 0),
        pause_total_ns: t.mem.read_u64(at.pause_total)?,
        heap_marked: at.heap_marked.and_then(|a| t.mem.read_u64(a).ok()),
        heap_live: at.heap_live.and_then(|a| t.mem.read_u64(a).ok()),
    })
}
