//! Runtime type descriptors (`abi.Type`, `runtime._type` before 1.21):
//! what an interface's type word points at.
//!
//! amd64 layout (Go 1.21-1.26): `Size_` 0, `PtrBytes` 8, `Hash` 16,
//! `TFlag` 20, `Align_` 21, `FieldAlign_` 22, `Kind_` 23, `Equal` 24,
//! `GCData` 32, `Str` (a nameOff relative to `moduledata.types`) 40,
//! `PtrToThis` 44.

use gosleuth_memory::Memory;

use crate::target::Target;

/// `TFlagExtraStar`: the stored name has a `*` the type does not.
const TFLAG_EXTRA_STAR: u8 = 1 << 1;
/// `TFlagDirectIface` (Go 1.26+) / `KindDirectIface` (before): the value
/// is stored in the interface's data word itself.
const DIRECT_IFACE: u8 = 1 << 5;

/// `moduledata.types` at run time: the base of type and name offsets.
pub(crate) fn types_base<M: Memory>(t: &Target<M>) -> Option<u64> {
    let d = t.bin.dwarf().ok().flatten()?;
    let md = t.global_link_addr("runtime.firstmoduledata")? + t.bias;
    let off = crate::layout::field_offset(d, "runtime.moduledata", "types").ok()?;
    t.mem.read_u64(md + off).ok()
}

/// The name of the runtime type at `ty` (`*main.MyError`, `main.T`).
pub(crate) fn type_name<M: Memory>(t: &Target<M>, types: u64, ty: u64) -> Option<String> {
    if ty == 0 {
        return None;
    }
    let tflag = t.mem.read_u8(ty + 20).ok()?;
    let off = t.mem.read_u32(ty + 40).ok()? as i32;
    let at = types.wrapping_add(off as i64 as u64);
    let mut hdr = [0u8; 4];
    t.mem.read_at(at, &mut hdr).ok()?;
    // A flags byte, then the length as a uvarint.
    let (mut len, mut shift, mut i) = (0usize, 0, 1);
    while i < 4 {
        len |= usize::from(hdr[i] & 0x7f) << shift;
        if hdr[i] & 0x80 == 0 {
            break;
        }
        shift += 7;
        i += 1;
    }
    if len == 0 || len > 1024 {
        return None;
    }
    let bytes = t.mem.read_vec(at + i as u64 + 1, len).ok()?;
    let name = String::from_utf8_lossy(&bytes).into_owned();
    Some(
        match (tflag & TFLAG_EXTRA_STAR != 0, name.strip_prefix('*')) {
            (true, Some(rest)) => rest.to_string(),
            _ => name,
        },
    )
}

/// Whether values of the runtime type at `ty` sit in an interface's data
/// word directly (pointer-shaped types) rather than behind it.
pub(crate) fn direct_iface<M: Memory>(t: &Target<M>, ty: u64) -> Option<bool> {
    let tflag = t.mem.read_u8(ty + 20).ok()?;
    let kind = t.mem.read_u8(ty + 23).ok()?;
    Some(tflag & DIRECT_IFACE != 0 || kind & DIRECT_IFACE != 0)
}
