//! Any bytes as an ELF core file: parsing never panics, and every accessor
//! and read (region starts and ends, thread registers, notes) works or
//! returns an error on what parsed.
#![no_main]

use gosleuth_memory::{CoreFile, Memory};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(c) = CoreFile::from_bytes("fuzz.core", data.to_vec(), None) else {
        return;
    };
    let _ = (
        c.process(),
        c.siginfo(),
        c.auxv().len(),
        c.mapped_files().len(),
        c.warnings().len(),
    );
    for t in c.threads() {
        let _ = (t.regs.pc(), t.regs.sp(), t.regs.fp(), t.regs.get("rip"));
    }
    for r in c.regions().iter().take(256) {
        let mut b = [0u8; 16];
        let _ = c.read_at(r.start, &mut b);
        let _ = c.read_at(r.end.wrapping_sub(4), &mut b);
        let _ = c.read_go_string(r.start, 64);
    }
    let _ = c.read_u64(u64::MAX - 1);
});
