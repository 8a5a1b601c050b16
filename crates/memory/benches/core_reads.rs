//! Reading memory: random 8-byte reads from a multi-GB core (mmap, binary
//! search, copy) and from a live process (process_vm_readv, single vs
//! batched), and how long freezing a process with 100k goroutines takes.
//!
//! `cargo bench -p gosleuth-memory --bench core_reads`. The core is
//! `GOSLEUTH_BENCH_CORE` (its JSON sidecar names the binary) or the
//! factory's `parked` gcore with 1,000,000 goroutines
//! (`python3 factory/factory.py cores --go installed --case parked --goroutines 1000000`).

use std::hint::black_box;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gosleuth_memory::{CoreFile, LiveProcess, Memory, Mode};
use gosleuth_testkit as kit;
use gosleuth_testkit::Rng;

/// `n` random 8-aligned addresses in the regions accepted by `keep`, weighted by size.
fn addresses(regions: &[(u64, u64)], n: usize) -> Vec<u64> {
    let total: u64 = regions.iter().map(|(s, e)| e - s).sum();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    (0..n)
        .map(|_| {
            let mut x = rng.next() % total;
            for (s, e) in regions {
                if x < e - s {
                    return (s + x) & !7;
                }
                x -= e - s;
            }
            regions[0].0
        })
        .collect()
}

fn core_path() -> PathBuf {
    if let Ok(p) = std::env::var("GOSLEUTH_BENCH_CORE") {
        return PathBuf::from(p);
    }
    kit::factory(
        "cores",
        "installed",
        &["--case", "parked", "--goroutines", "1000000"],
    )
    .join("core/parked.gcore.core")
}

fn core_reads(c: &mut Criterion) {
    let path = core_path();
    let side: String =
        String::from_utf8_lossy(&kit::read(&path.with_extension("json"))).into_owned();
    let bin = side
        .split("\"binary\": \"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("binary in sidecar")
        .to_string();
    let t = Instant::now();
    let core = CoreFile::open(&path, &bin).expect("open core");
    eprintln!(
        "opened {} ({:.1} GB) in {:?}",
        path.display(),
        std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0) as f64 / 1e9,
        t.elapsed()
    );
    let rw: Vec<(u64, u64)> = core
        .regions()
        .iter()
        .filter(|r| r.readable && r.perms.write && r.end - r.start >= 4096)
        .map(|r| (r.start, r.end))
        .collect();
    let addrs = addresses(&rw, 1_000_000);
    let t = Instant::now();
    let failed = addrs.iter().filter(|&&a| core.read_u64(a).is_err()).count();
    eprintln!(
        "first pass over 1M addresses (page faults): {:?}, {failed} failed",
        t.elapsed()
    );
    let t = Instant::now();
    let failed = addrs.iter().filter(|&&a| core.read_u64(a).is_err()).count();
    eprintln!("second pass: {:?}, {failed} failed", t.elapsed());
    let mut g = c.benchmark_group("core");
    g.sample_size(10);
    g.throughput(Throughput::Elements(addrs.len() as u64));
    g.bench_function("1M random u64 reads (rw memory)", |b| {
        b.iter(|| {
            let mut sum = 0u64;
            for &a in &addrs {
                sum = sum.wrapping_add(core.read_u64(a).unwrap_or(0));
            }
            black_box(sum)
        })
    });
    let text: Vec<(u64, u64)> = core
        .regions()
        .iter()
        .filter(|r| r.readable && r.perms.exec)
        .map(|r| (r.start, r.end))
        .collect();
    let taddrs = addresses(&text, 1_000_000);
    g.bench_function("1M random u64 reads (text)", |b| {
        b.iter(|| {
            let mut sum = 0u64;
            for &a in &taddrs {
                sum = sum.wrapping_add(core.read_u64(a).unwrap_or(0));
            }
            black_box(sum)
        })
    });
    g.finish();
}

struct Kill(std::process::Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn live(c: &mut Criterion) {
    let bin = kit::binary("installed", "parked");
    let mut child = Command::new(&bin)
        .args(["-n", "100000"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start parked");
    let out = child.stdout.take().expect("stdout");
    let child = Kill(child);
    let mut line = String::new();
    let mut r = BufReader::new(out);
    while line.trim() != "ready" {
        line.clear();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            panic!("parked exited");
        }
    }
    let pid = child.0.id() as i32;
    let mut g = c.benchmark_group("live");
    g.sample_size(20);
    g.bench_function("freeze+resume, 100k goroutines", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let p = LiveProcess::attach(pid, Mode::freeze()).expect("freeze");
                total += p.freeze_duration().unwrap_or_default();
                drop(p);
            }
            total
        })
    });
    let p = LiveProcess::attach(pid, Mode::freeze()).expect("freeze");
    let heap: Vec<(u64, u64)> = p
        .regions()
        .iter()
        .filter(|r| r.readable && r.perms.write && r.path.is_none() && r.end - r.start >= 1 << 20)
        .map(|r| (r.start, r.end))
        .collect();
    let addrs = addresses(&heap, 10_000);
    g.throughput(Throughput::Elements(addrs.len() as u64));
    g.bench_function("10k random u64 reads, one syscall each", |b| {
        b.iter(|| {
            addrs
                .iter()
                .map(|&a| p.read_u64(a).unwrap_or(0))
                .fold(0u64, u64::wrapping_add)
        })
    });
    g.bench_function("10k random u64 reads, batched read_many", |b| {
        let mut bufs = vec![[0u8; 8]; addrs.len()];
        b.iter(|| {
            let mut reqs: Vec<(u64, &mut [u8])> = addrs
                .iter()
                .copied()
                .zip(bufs.iter_mut().map(|b| &mut b[..]))
                .collect();
            black_box(p.read_many(&mut reqs).len())
        })
    });
    g.finish();
    drop(p);
    drop(child);
}

criterion_group!(benches, core_reads, live);
criterion_main!(benches);
