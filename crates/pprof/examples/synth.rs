//! Writes the large synthetic CPU profile used by the benchmarks.
//!
//! `cargo run --release -p gosleuth-pprof --example synth -- OUT.pb.gz [SAMPLES] [LOCATIONS]`

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = args
        .next()
        .ok_or("usage: synth OUT.pb.gz [SAMPLES] [LOCATIONS]")?;
    let samples: usize = args.next().map_or(Ok(400_000), |s| s.parse())?;
    let locations: usize = args.next().map_or(Ok(60_000), |s| s.parse())?;
    let p = gosleuth_pprof::synth::cpu_profile(samples, locations, 42);
    let f = std::io::BufWriter::new(std::fs::File::create(&out)?);
    gosleuth_pprof::proto::write_gzip(&p, f)?;
    Ok(())
}
