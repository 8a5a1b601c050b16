//! Throughput of the triage parser on real dumps from the evidence factory
//! (the seed-004 service's SIGQUIT dump and its debug=2 dump).
//!
//! cargo bench -p gosleuth-text --bench parse

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gosleuth_testkit as kit;
use gosleuth_text::{Options, parse, parse_parallel};

fn bench(c: &mut Criterion) {
    let dir = kit::evidence("installed", &["metricsdeadlock"]).join("text");
    let mut group = c.benchmark_group("triage");
    group.sample_size(10);
    for name in ["metricsdeadlock.sigquit.txt", "metricsdeadlock.debug2.txt"] {
        let one = kit::read(&dir.join(name));
        // Repeat the dump so the parallel path (inputs over 32 MiB) engages.
        let data: Vec<u8> = one.iter().copied().cycle().take(one.len() * 4).collect();
        group.throughput(Throughput::Bytes(data.len() as u64));
        group.bench_function(format!("{name}/1-thread"), |b| {
            b.iter(|| parse(&data, Options::default()))
        });
        group.bench_function(format!("{name}/2-threads"), |b| {
            b.iter(|| parse_parallel(&data, Options::default(), 2))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
