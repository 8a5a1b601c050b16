//! The runtime's OS threads (`runtime.allm`): which goroutine each thread
//! runs and where it called into the vDSO from. A sampler that catches a
//! thread outside Go code (in C called through cgo, in the vDSO) finds the
//! Go stack to continue with here.

use gosleuth_memory::Memory;

use crate::error::{Error, Result};
use crate::target::Target;

/// One `runtime.m`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MThread {
    /// The `m` itself.
    pub m: u64,
    /// Its OS thread id (`m.procid`).
    pub tid: u64,
    /// The goroutine it runs (`m.curg`; 0 when idle or on its own stack).
    pub curg: u64,
    /// `m.vdsoPC` / `m.vdsoSP`: where the running goroutine called into
    /// the vDSO (0 when it is not in a vDSO call).
    pub vdso_pc: u64,
    pub vdso_sp: u64,
}

/// Most `m`s followed (the runtime's own limit is 10,000 threads).
const MAX_MS: usize = 100_000;

/// Every `m` on `runtime.allm`. Needs DWARF (for `m.alllink`); without it
/// the error says so.
pub fn ms<M: Memory>(t: &Target<M>) -> Result<Vec<MThread>> {
    let d = t
        .bin
        .dwarf()
        .ok()
        .flatten()
        .ok_or_else(|| Error::runtime("runtime.allm", "the binary has no DWARF"))?;
    let alllink = crate::layout::field_offset(d, "runtime.m", "alllink")?;
    let allm = t
        .global_link_addr("runtime.allm")
        .ok_or_else(|| Error::runtime("runtime.allm", "not found in the binary"))?
        .wrapping_add(t.bias);
    let mut out = Vec::new();
    let mut m = t.mem.read_u64(allm)?;
    while m != 0 && out.len() < MAX_MS {
        if let Some(mt) = read_m(t, m) {
            out.push(mt);
        }
        m = t.mem.read_u64(m + alllink).unwrap_or(0);
    }
    Ok(out)
}

/// The `m` at `m`, read now (its `curg` changes as it schedules).
pub fn read_m<M: Memory>(t: &Target<M>, m: u64) -> Option<MThread> {
    let l = &t.layout.m;
    // One read over the four fields (a read of a live process is a system
    // call; the fields are within a few hundred bytes of each other).
    let offs = [l.procid, l.curg, l.vdso_pc, l.vdso_sp];
    let lo = *offs.iter().min()?;
    let hi = *offs.iter().max()? + 8;
    let mut buf = vec![0u8; usize::try_from(hi - lo).ok()?];
    t.mem.read_at(m + lo, &mut buf).ok()?;
    let e = t.mem.endian();
    let at = |o: u64| e.u64_at(&buf, o - lo);
    Some(MThread {
        m,
        tid: at(l.procid),
        curg: at(l.curg),
        vdso_pc: at(l.vdso_pc),
        vdso_sp: at(l.vdso_sp),
    })
}
