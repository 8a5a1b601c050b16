//! Criterion benches over a real profile (from tests/goprog, when built)
//! and a synthetic large one: decoding and `-top`, with byte throughput.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gosleuth_pprof::{proto, report, synth};

fn bench(c: &mut Criterion) {
    // A mid-size synthetic profile keeps the bench quick; side_by_side.sh
    // runs the full 400,000-sample one against go tool pprof.
    let p = synth::cpu_profile(40_000, 20_000, 7);
    let raw = proto::encode(&p);
    let mut gz = Vec::new();
    proto::write_gzip(&p, &mut gz).expect("gzip");

    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Bytes(raw.len() as u64));
    g.bench_function("proto_40k_samples", |b| {
        b.iter(|| proto::decode(black_box(&raw)).expect("decode"))
    });
    g.throughput(Throughput::Bytes(gz.len() as u64));
    g.bench_function("gzip_proto_40k_samples", |b| {
        b.iter(|| gosleuth_pprof::parse(black_box(&gz)).expect("parse"))
    });
    g.finish();

    let mut g = c.benchmark_group("report");
    g.throughput(Throughput::Bytes(gz.len() as u64));
    g.sample_size(20);
    g.bench_function("top_40k_samples", |b| {
        b.iter(|| {
            let mut r = report::prepare(p.clone(), &report::Config::default()).expect("prepare");
            gosleuth_pprof::output::generate(&mut r).expect("top")
        })
    });
    g.bench_function("folded_40k_samples", |b| {
        let cfg = report::Config {
            format: report::Format::Folded,
            ..Default::default()
        };
        b.iter(|| {
            let mut r = report::prepare(p.clone(), &cfg).expect("prepare");
            gosleuth_pprof::output::generate(&mut r).expect("folded")
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
