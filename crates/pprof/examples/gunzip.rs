//! Inflates a gzip file to nowhere with the decompressor `gosleuth pprof`
//! uses (flate2 on zlib-rs), 64 KiB at a time: the floor under the time of
//! reading a gzipped profile. `--example gunzip -- FILE` prints the bytes.

use std::io::Read;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: gunzip FILE")?;
    let f = std::fs::File::open(path)?;
    let mut gz = flate2::read::MultiGzDecoder::new(std::io::BufReader::with_capacity(1 << 16, f));
    let mut buf = vec![0u8; 1 << 16];
    let mut total = 0u64;
    loop {
        let n = gz.read(&mut buf)?;
        if n == 0 {
            break;
        }
        total += n as u64;
    }
    println!("{total}");
    Ok(())
}
