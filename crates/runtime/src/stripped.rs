//! Finding runtime globals in binaries without a symbol table or DWARF.
//!
//! Function names survive stripping (they live in pclntab), so the code of
//! small runtime functions that use a global tells where it is: its
//! RIP-relative operands (amd64).

use gosleuth_memory::Memory;

use crate::target::Target;

/// A RIP-relative operand: instruction kind and target (link-time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    /// `MOV r64, [rip+d]`
    Load(u64),
    /// `LEA r64, [rip+d]`
    Lea(u64),
}

/// RIP-relative `MOV`/`LEA` operands in the code of `func`, in order.
fn rip_operands<M: Memory>(t: &Target<M>, func: &str) -> Option<(Vec<Op>, Vec<u8>)> {
    let f = t.bin.pcln().func_by_name(func)?;
    let (entry, size) = (f.entry(), f.size());
    if size > 64 * 1024 {
        return None;
    }
    let code = t.bin.read_addr(entry, size)?.to_vec();
    let mut ops = Vec::new();
    let mut i = 0;
    while i + 7 <= code.len() {
        let rex = code[i];
        let opc = code[i + 1];
        let modrm = code[i + 2];
        if (rex & 0xF8) == 0x48 && (opc == 0x8b || opc == 0x8d) && (modrm & 0xC7) == 0x05 {
            let d = i32::from_le_bytes([code[i + 3], code[i + 4], code[i + 5], code[i + 6]]);
            let next = entry + i as u64 + 7;
            let target = next.wrapping_add(d as i64 as u64);
            ops.push(if opc == 0x8b {
                Op::Load(target)
            } else {
                Op::Lea(target)
            });
            i += 7;
        } else {
            i += 1;
        }
    }
    Some((ops, code))
}

/// `runtime.allgs` (link-time address): `runtime.forEachG` loads the
/// slice's pointer and length, two words apart.
pub(crate) fn find_allgs<M: Memory>(t: &Target<M>) -> Option<u64> {
    let (ops, _) = rip_operands(t, "runtime.forEachG")?;
    let loads: Vec<u64> = ops
        .iter()
        .filter_map(|o| match o {
            Op::Load(a) => Some(*a),
            Op::Lea(_) => None,
        })
        .collect();
    loads.iter().find(|&&a| loads.contains(&(a + 8))).copied()
}

/// `runtime.semtable` is not located without symbols: semaphore waits are
/// then left out of the wait graph (with a warning).
pub(crate) fn find_semtable<M: Memory>(_t: &Target<M>) -> Option<u64> {
    None
}

/// `runtime.waitReasonStrings` (link-time address) and its length, from
/// `runtime.waitReason.String`: `CMP AL, $N` then `LEA array(IP)`.
pub(crate) fn find_wait_reason_strings<M: Memory>(t: &Target<M>) -> Option<(u64, u64)> {
    let (ops, code) = rip_operands(t, "runtime.waitReason.String")?;
    let n = match code.as_slice() {
        [0x3c, n, ..] => u64::from(*n),
        _ => return None,
    };
    let array = ops.iter().rev().find_map(|o| match o {
        Op::Lea(a) => Some(*a),
        Op::Load(_) => None,
    })?;
    Some((array, n))
}
