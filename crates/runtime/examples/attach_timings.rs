//! Reads a live process and prints how long it was stopped and each phase:
//! `cargo run --release -p gosleuth-runtime --example attach_timings -- PID`.

fn main() {
    let Some(pid) = std::env::args().nth(1).and_then(|p| p.parse::<i32>().ok()) else {
        eprintln!("usage: attach_timings PID");
        std::process::exit(2);
    };
    let mode = gosleuth_memory::Mode::freeze();
    match gosleuth_runtime::capture_live(pid, mode, None, &Default::default()) {
        Ok(c) => {
            println!(
                "{} goroutines; stopped for {:.1} ms",
                c.goroutines().len(),
                c.frozen_for().unwrap_or_default().as_secs_f64() * 1e3
            );
            for (name, d) in c.phases() {
                println!("  {name}: {:.1} ms", d.as_secs_f64() * 1e3);
            }
        }
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}
