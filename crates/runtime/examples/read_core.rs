//! Reads a core and prints timings: `cargo run --release -p gosleuth-runtime
//! --example read_core -- BIN CORE [--wait-graph] [--snapshot]`.

use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(bin), Some(core)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: read_core BIN CORE [--wait-graph]");
        std::process::exit(2);
    };
    let wait_graph = args.iter().any(|a| a == "--wait-graph");
    let t0 = Instant::now();
    let opts = gosleuth_runtime::Options { wait_graph };
    match gosleuth_runtime::capture_core(bin.as_ref(), core.as_ref(), &opts) {
        Ok(c) => {
            println!(
                "{} goroutines, {} wait objects, {} distinct pcs in {:.0} ms",
                c.goroutines().len(),
                c.graph().objects.len(),
                c.symbols().len(),
                t0.elapsed().as_secs_f64() * 1e3
            );
            for (name, d) in c.phases() {
                println!("  {name}: {:.0} ms", d.as_secs_f64() * 1e3);
            }
            if args.iter().any(|a| a == "--snapshot") {
                let t1 = Instant::now();
                let s = c.snapshot();
                println!(
                    "snapshot of {} goroutines in {:.0} ms",
                    s.goroutines.len(),
                    t1.elapsed().as_secs_f64() * 1e3
                );
            }
        }
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}
