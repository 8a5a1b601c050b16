//! Times the phases of `-top` on one profile: `--example phases -- FILE`.

use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: phases FILE")?;
    let t = Instant::now();
    let p = gosleuth_pprof::parse_file(std::path::Path::new(&path))?;
    eprintln!("read+gunzip+decode {:?} hwm {}", t.elapsed(), hwm());
    let t = Instant::now();
    let mut r = gosleuth_pprof::report::prepare(p, &Default::default())?;
    eprintln!("prepare {:?}", t.elapsed());
    let t = Instant::now();
    let out = gosleuth_pprof::output::generate(&mut r)?;
    eprintln!("top {:?} ({} bytes) hwm {}", t.elapsed(), out.len(), hwm());
    Ok(())
}

fn hwm() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM"))
                .map(|l| l.split_whitespace().nth(1).unwrap_or("").to_string() + " kB")
        })
        .unwrap_or_default()
}
