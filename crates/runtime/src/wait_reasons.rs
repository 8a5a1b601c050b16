//! Names of `g.waitreason` values, read from the target
//! (`runtime.waitReasonStrings`); the enum is reordered between releases.

use gosleuth_memory::Memory;

use crate::target::Target;

/// Reads the names; falls back to the built-in table for the release.
pub(crate) fn read<M: Memory>(t: &Target<M>) -> Vec<String> {
    if let Some(v) = read_from_target(t) {
        return v;
    }
    crate::wait_reason_table::for_minor(t.minor)
        .iter()
        .map(|s| s.to_string())
        .collect()
}

fn read_from_target<M: Memory>(t: &Target<M>) -> Option<Vec<String>> {
    let name = "runtime.waitReasonStrings";
    let from_dwarf = || {
        let d = t.bin.dwarf().ok().flatten()?;
        let g = d.global(name).ok().flatten()?;
        let ty = d.type_by_name(g.type_name.as_deref()?).ok().flatten()?;
        Some((g.addr?, ty.count?))
    };
    let (addr, n) = match t.bin.symbol(name) {
        Some((a, size)) => (a, size / 16),
        None => from_dwarf().or_else(|| crate::stripped::find_wait_reason_strings(t))?,
    };
    if n == 0 || n > 256 {
        return None;
    }
    let addr = addr.wrapping_add(t.bias);
    let mut out = Vec::with_capacity(n as usize);
    for i in 0..n {
        let s = t.mem.read_go_string(addr + 16 * i, 128).ok()?;
        out.push(String::from_utf8_lossy(&s).into_owned());
    }
    Some(out)
}
