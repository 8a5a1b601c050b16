//! Debug helper: prints what gobin sees in a binary; `gobin_dump BIN --lookups N`
//! times N per-function-random lookups.
fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().collect();
    let path = args.get(1).ok_or("usage: gobin_dump BIN [--lookups N]")?;
    let b = gosleuth_gobin::GoBinary::open(path).map_err(|e| e.to_string())?;
    let p = b.pcln();
    if p.num_funcs() == 0 {
        return Err(format!("{path}: the pclntab has no functions"));
    }
    if args.get(2).map(String::as_str) == Some("--lookups") {
        let n: usize = args
            .get(3)
            .and_then(|n| n.parse().ok())
            .ok_or("--lookups needs a number")?;
        let mut s = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        let pcs: Vec<u64> = (0..n)
            .filter_map(|_| {
                let f = p.func((next() % p.num_funcs() as u64) as usize)?;
                Some(f.entry() + next() % f.size().max(1))
            })
            .collect();
        let t = std::time::Instant::now();
        let mut acc = 0usize;
        for &pc in &pcs {
            if let Some(l) = p.lookup(pc) {
                acc += l.func.name().len()
                    + l.file.map_or(0, |f| f.len())
                    + l.line.unwrap_or(0) as usize;
            }
        }
        println!("{n} lookups in {:?} (acc {acc})", t.elapsed());
        let t = std::time::Instant::now();
        let mut acc = 0usize;
        p.lookup_batch(&pcs, |_, l| {
            if let Some(l) = l {
                acc += l.func.name().len()
                    + l.file.map_or(0, |f| f.len())
                    + l.line.unwrap_or(0) as usize;
            }
        });
        println!("{n} batch lookups in {:?} (acc {acc})", t.elapsed());
        return Ok(());
    }
    println!(
        "{b:?} md={:?} text={:#x} gofunc={:?} addr={:#x}",
        b.moduledata(),
        p.text_start(),
        p.gofunc(),
        p.addr()
    );
    Ok(())
}
