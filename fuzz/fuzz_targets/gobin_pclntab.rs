//! Any bytes as a pclntab (and, when they look like ELF, as a whole binary):
//! never a panic; lookups, inline expansion, the batch lookup and the
//! function iterator agree with each other; a binary's sizes and a
//! table's shares add up.
#![no_main]

use gosleuth_gobin::{GoBinary, Pclntab, PclntabOptions};
use libfuzzer_sys::fuzz_target;

fn exercise(p: &Pclntab, seed: &[u8]) {
    let base = p.min_pc().unwrap_or(0);
    let mut pcs: Vec<u64> = seed
        .iter()
        .take(16)
        .map(|&b| base.wrapping_add(u64::from(b) * 7))
        .collect();
    pcs.push(0);
    pcs.push(p.max_pc().unwrap_or(u64::MAX));
    for &pc in &pcs {
        let loc = p.lookup(pc);
        let frames = p.inline_frames(pc);
        assert_eq!(loc.is_some(), !frames.is_empty());
        let _ = p.frame_size(pc);
        let mut out = Vec::new();
        p.write_addr2line(&mut out, &format!("{pc:#x}"), true)
            .unwrap();
        p.write_addr2line(&mut out, &format!("{pc:x}"), false)
            .unwrap();
    }
    p.lookup_batch(&pcs, |i, loc| {
        let single = p.lookup(pcs[i]);
        assert_eq!(
            loc.map(|l| (l.func.index(), l.line)),
            single.map(|l| (l.func.index(), l.line))
        );
    });
    for f in p.funcs().take(64) {
        let _ = (
            f.name(),
            f.entry(),
            f.end(),
            f.flags(),
            f.func_id(),
            f.start_line(),
        );
        let _ = f.pcdata_value(0, f.entry());
        let _ = f.funcdata_addr(3);
    }
    // The shares add up to the table's length.
    let shares = p.shares();
    let sum: u64 = shares.per_func.iter().sum::<u64>() + shares.rest.iter().map(|r| r.1).sum::<u64>();
    assert_eq!(sum, shares.len);
}

fuzz_target!(|data: &[u8]| {
    if data.starts_with(b"\x7fELF") {
        if let Ok(bin) = GoBinary::from_bytes("fuzz", data) {
            exercise(bin.pcln(), data);
            let _ = bin.build_info();
            let _ = bin.go_version();
            // Every section's pieces add up to its size.
            let sizes = bin.sizes();
            for (i, s) in sizes.sections.iter().enumerate() {
                let sum: u64 = sizes.pieces.iter().filter(|p| p.section == i).map(|p| p.size).sum();
                assert_eq!(sum, s.size, "{}", s.name);
            }
        }
        return;
    }
    let opts = PclntabOptions {
        addr: 0x1000,
        text_start: Some(0x40_0000),
        gofunc: Some(0x1000 + (data.len() as u64) / 2),
    };
    if let Ok(p) = Pclntab::parse(data, opts) {
        exercise(&p, data);
    }
});
