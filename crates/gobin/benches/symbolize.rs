//! Symbolization speed on a large Go binary.
//!
//! The binary is `$GOSLEUTH_BENCH_BIN`, else the largest known one on this
//! machine (`anthoscli`, 127 MB, Go 1.24), else `$(go env GOROOT)/bin/go`.
//! Run: `cargo bench -p gosleuth-gobin --bench symbolize`.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gosleuth_gobin::{GoBinary, Pclntab};
use gosleuth_testkit::Rng;
use rayon::prelude::*;

const N: usize = 1_000_000;

fn bench_binary() -> PathBuf {
    if let Ok(p) = std::env::var("GOSLEUTH_BENCH_BIN") {
        return PathBuf::from(p);
    }
    let big = PathBuf::from("/usr/lib/google-cloud-sdk/bin/anthoscli");
    if big.exists() {
        return big;
    }
    let out = std::process::Command::new("go")
        .args(["env", "GOROOT"])
        .output()
        .expect("go env GOROOT (set GOSLEUTH_BENCH_BIN)");
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()).join("bin/go")
}

/// One million pcs uniform over the text bytes (worst case: big functions,
/// with long pc tables, are hit most).
fn pcs_uniform_text(p: &Pclntab) -> Vec<u64> {
    let (Some(lo), Some(hi)) = (p.min_pc(), p.max_pc()) else {
        panic!("the bench binary's pclntab has no functions")
    };
    let mut r = Rng(0x2545_f491_4f6c_dd1d);
    (0..N).map(|_| lo + r.next() % (hi - lo)).collect()
}

/// One million pcs: a uniformly chosen function, a uniform offset in it
/// (closer to stack pcs, which spread over functions, not bytes).
fn pcs_per_func(p: &Pclntab) -> Vec<u64> {
    let n = p.num_funcs() as u64;
    let mut r = Rng(0x9e37_79b9_7f4a_7c15);
    (0..N)
        .filter_map(|_| {
            let f = p.func((r.next() % n) as usize)?;
            Some(f.entry() + r.next() % f.size().max(1))
        })
        .collect()
}

fn symbolize(p: &Pclntab, pcs: &[u64]) -> u64 {
    let mut acc = 0u64;
    for &pc in pcs {
        if let Some(loc) = p.lookup(pc) {
            acc = acc.wrapping_add(loc.func.name().len() as u64);
            acc = acc.wrapping_add(loc.file.map_or(0, |f| f.len() as u64));
            acc = acc.wrapping_add(u64::from(loc.line.unwrap_or(0)));
        }
    }
    acc
}

fn symbolize_batch(p: &Pclntab, pcs: &[u64]) -> u64 {
    let mut acc = 0u64;
    p.lookup_batch(pcs, |_, loc| {
        if let Some(loc) = loc {
            acc = acc.wrapping_add(loc.func.name().len() as u64);
            acc = acc.wrapping_add(loc.file.map_or(0, |f| f.len() as u64));
            acc = acc.wrapping_add(u64::from(loc.line.unwrap_or(0)));
        }
    });
    acc
}

fn benches(c: &mut Criterion) {
    let path = bench_binary();
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let bin = GoBinary::open(&path).expect("open bench binary");
    let label = format!(
        "{} ({} MB, {} funcs)",
        path.display(),
        size >> 20,
        bin.pcln().num_funcs()
    );
    eprintln!("bench binary: {label}");
    let pcs = pcs_uniform_text(bin.pcln());
    let pcs_f = pcs_per_func(bin.pcln());

    let mut g = c.benchmark_group("gobin");
    g.sample_size(10);
    g.bench_function("open", |b| {
        b.iter(|| GoBinary::open(black_box(&path)).expect("open bench binary"))
    });
    g.throughput(Throughput::Elements(N as u64));
    assert_eq!(
        symbolize(bin.pcln(), &pcs_f),
        symbolize_batch(bin.pcln(), &pcs_f)
    );
    g.bench_function("lookup_batch_1M_pcs_per_func", |b| {
        b.iter(|| symbolize_batch(bin.pcln(), black_box(&pcs_f)))
    });
    g.bench_function("lookup_batch_1M_pcs_uniform_text", |b| {
        b.iter(|| symbolize_batch(bin.pcln(), black_box(&pcs)))
    });
    g.bench_function("lookup_1M_pcs_per_func", |b| {
        b.iter(|| symbolize(bin.pcln(), black_box(&pcs_f)))
    });
    g.bench_function("lookup_1M_pcs_uniform_text", |b| {
        b.iter(|| symbolize(bin.pcln(), black_box(&pcs)))
    });
    g.bench_function("lookup_1M_pcs_parallel", |b| {
        b.iter(|| {
            pcs_f
                .par_chunks(16 * 1024)
                .map(|c| symbolize(bin.pcln(), c))
                .reduce(|| 0, u64::wrapping_add)
        })
    });
    g.bench_function("inline_frames_1M_pcs", |b| {
        b.iter(|| {
            pcs_f
                .iter()
                .map(|&pc| bin.pcln().inline_frames(pc).len())
                .sum::<usize>()
        })
    });
    g.bench_function("open_and_lookup_batch_1M_pcs", |b| {
        b.iter(|| {
            let bin = GoBinary::open(&path).expect("open bench binary");
            symbolize_batch(bin.pcln(), &pcs_f)
        })
    });
    g.finish();
}

criterion_group!(gobin, benches);
criterion_main!(gobin);
