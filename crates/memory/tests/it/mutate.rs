//! Deterministic mutations of a small real core: truncations and byte
//! flips in the ELF header, program headers and notes never panic.

use gosleuth_memory::{CoreFile, Memory};

use crate::support;

/// Exercises everything a caller would do with a parsed core.
fn exercise(c: &CoreFile) {
    let _ = (
        c.threads().len(),
        c.process(),
        c.siginfo(),
        c.auxv().len(),
        c.warnings().len(),
    );
    for t in c.threads() {
        let _ = (t.regs.pc(), t.regs.sp(), t.regs.fp());
    }
    for r in c.regions().iter().take(64) {
        let mut b = [0u8; 16];
        let _ = c.read_at(r.start, &mut b);
        let _ = c.read_at(r.end.wrapping_sub(8), &mut b);
        let _ = c.read_at(r.end.wrapping_sub(1), &mut b);
    }
    let _ = c.read_u64(u64::MAX - 3);
    let _ = c.read_ptrs(0, usize::MAX / 4);
}

#[test]
fn mutations_never_panic() {
    let core = support::cores("installed").join("crash.crash.core");
    let bin = support::sidecar(&core)["binary"]
        .as_str()
        .expect("binary")
        .to_string();
    let full = std::fs::read(&core).expect("read core");
    // The headers and notes come first; keep them and a little memory.
    let phnum = u16::from_le_bytes([full[56], full[57]]) as usize;
    let note_off = u64::from_le_bytes(full[64 + 8..64 + 16].try_into().expect("8 bytes")) as usize;
    let note_len = u64::from_le_bytes(full[64 + 32..64 + 40].try_into().expect("8 bytes")) as usize;
    let meta_end = (64 + phnum * 56).max(note_off + note_len);
    let small: Vec<u8> = full[..(meta_end + 64 * 1024).min(full.len())].to_vec();
    let base = CoreFile::from_bytes("small.core", small.clone(), None).expect("small core parses");
    assert!(!base.threads().is_empty());
    exercise(&base);

    // Truncations.
    let mut n = 0;
    for cut in (0..small.len()).step_by(37) {
        if let Ok(c) = CoreFile::from_bytes("cut.core", small[..cut].to_vec(), None) {
            exercise(&c);
        }
        n += 1;
    }
    // Byte flips over all metadata, three patterns.
    let mut buf = small.clone();
    for i in 0..meta_end {
        for x in [0xffu8, 0x80, 0x01] {
            let old = buf[i];
            buf[i] ^= x;
            if let Ok(c) = CoreFile::from_bytes("flip.core", buf.clone(), None) {
                exercise(&c);
            }
            buf[i] = old;
            n += 1;
        }
    }
    // Some with the binary attached (mismatch checks, file-backed reads).
    for i in (0..meta_end).step_by(7) {
        let old = buf[i];
        buf[i] = buf[i].wrapping_add(0x41);
        if let Ok(c) = CoreFile::from_bytes("flipexe.core", buf.clone(), Some(bin.as_ref())) {
            exercise(&c);
        }
        buf[i] = old;
        n += 1;
    }
    assert!(n > 10_000, "{n} mutations");
}
