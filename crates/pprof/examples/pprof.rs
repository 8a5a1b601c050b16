//! `gosleuth pprof` without the rest of the CLI, for benchmarks and for
//! trying the library alone: `cargo run --release -p gosleuth-pprof --example pprof -- -top FILE`.

use std::io::Write;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // URL sources through gosleuth-fetch, as `gosleuth pprof` does.
    let mut fetch = |src: &str, seconds, timeout| {
        let (url, t) = gosleuth_fetch::adjust_url(src, seconds, timeout)?;
        Some(
            gosleuth_fetch::get(&url, t)
                .map(|body| (url, body))
                .map_err(Into::into),
        )
    };
    match gosleuth_pprof::driver::run_with_fetch(&args, &mut fetch) {
        Ok(o) => {
            for w in &o.warnings {
                eprintln!("{w}");
            }
            let _ = std::io::stdout().lock().write_all(&o.report);
        }
        Err(e) => {
            eprintln!("pprof: {e}");
            std::process::exit(2);
        }
    }
}
