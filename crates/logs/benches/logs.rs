//! Throughput of `gosleuth logs` over a realistic service log: the
//! factory's service log (`fixtures/text/embedded/crash.service-log.txt`)
//! replayed with varied ids to 64 MiB, read on one thread and on every
//! core; and over inputs that defeat clustering, 16 MiB each, on one
//! thread: random bytes, random words (every line a new message) and a
//! logfmt log whose records carry a free-text field. Run with `cargo bench
//! -p gosleuth-logs`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gosleuth_testkit::Rng;

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

/// Random bytes, newlines included.
fn random_bytes(target: usize) -> Vec<u8> {
    let mut r = Rng(0x9e37_79b9_7f4a_7c15);
    (0..target).map(|_| r.next() as u8).collect()
}

/// Lines of 1 to 20 random words.
fn random_words(target: usize) -> Vec<u8> {
    let mut r = Rng(0x2545_f491_4f6c_dd1d);
    let mut out = String::with_capacity(target + 256);
    while out.len() < target {
        for _ in 0..1 + r.below(20) {
            let w = r.word(9);
            out.push_str(&w);
            out.push(' ');
        }
        out.push('\n');
    }
    out.into_bytes()
}

/// logfmt records with a quoted free-text query and a free word.
fn free_text(target: usize) -> Vec<u8> {
    let mut r = Rng(0x1234_5678_9abc_def1);
    let vocab: Vec<String> = (0..20_000).map(|_| r.word(8)).collect();
    let mut out = String::with_capacity(target + 256);
    let mut i = 0u64;
    while out.len() < target {
        let q: Vec<&str> = (0..1 + r.below(6))
            .map(|_| vocab[r.below(vocab.len())].as_str())
            .collect();
        out.push_str(&format!(
            "time=2026-11-21T10:{:02}:{:02}Z level=info msg=search user={} query=\"{}\" sort={} took={}ms\n",
            i / 600 % 60,
            i / 10 % 60,
            r.below(100_000),
            q.join(" "),
            vocab[r.below(vocab.len())],
            r.below(900)
        ));
        i += 1;
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

    let mut g = c.benchmark_group("logs-hostile");
    g.sample_size(10);
    for (name, input) in [
        ("random-bytes", random_bytes(16 << 20)),
        ("random-words", random_words(16 << 20)),
        ("free-text-field", free_text(16 << 20)),
    ] {
        g.throughput(Throughput::Bytes(input.len() as u64));
        g.bench_function(format!("{name}/1-thread"), |b| {
            b.iter(|| gosleuth_logs::scan(&input, &opts).templates.len())
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
