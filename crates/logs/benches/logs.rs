//! Throughput of `gosleuth logs` over a realistic service log: the
//! factory's service log (`fixtures/text/embedded/crash.service-log.txt`)
//! replayed with varied ids to 64 MiB, read on one thread and on every
//! core. Run with `cargo bench -p gosleuth-logs`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn corpus(target: usize) -> Vec<u8> {
    let seed = include_str!("../../../fixtures/text/embedded/crash.service-log.txt");
    let lines: Vec<&str> = seed.lines().collect();
    let mut out = String::with_capacity(target + 4096);
    let mut round = 0u64;
    while out.len() < target {
        for (i, l) in lines.iter().enumerate() {
            // Vary the numbers so the masker and the cache see new values.
            let salt = round * 7919 + i as u64;
            for (j, part) in l.split(' ').enumerate() {
                if j > 0 {
                    out.push(' ');
                }
                if j >= 3 && part.bytes().all(|c| c.is_ascii_digit()) && !part.is_empty() {
                    out.push_str(&(salt * 31 + j as u64).to_string());
                } else {
                    out.push_str(part);
                }
            }
            out.push('\n');
        }
        round += 1;
    }
    out.into_bytes()
}

fn bench(c: &mut Criterion) {
    let input = corpus(64 << 20);
    let opts = gosleuth_logs::Options::default();
    let mut g = c.benchmark_group("logs");
    g.throughput(Throughput::Bytes(input.len() as u64));
    g.sample_size(10);
    g.bench_function("service-log/1-thread", |b| {
        b.iter(|| gosleuth_logs::scan(&input, &opts).templates.len())
    });
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    g.bench_function("service-log/all-threads", |b| {
        b.iter(|| {
            gosleuth_logs::scan_parallel(&input, &opts, threads)
                .templates
                .len()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
