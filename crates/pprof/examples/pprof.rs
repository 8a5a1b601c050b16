//! `gosleuth pprof` without the rest of the CLI, for benchmarks and for
//! trying the library alone: `cargo run --release -p gosleuth-pprof --example pprof -- -top FILE`.

use std::io::Write;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match gosleuth_pprof::driver::run(&args) {
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
