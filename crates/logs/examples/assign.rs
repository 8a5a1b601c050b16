//! Prints the template of every line of a file as JSON, like
//! `gosleuth logs --format json --assignments FILE`, with clustering
//! knobs from the environment (GOSLEUTH_SIMILARITY, GOSLEUTH_PREFIX), for
//! tuning against benches/logs-loghub.py without rebuilding the CLI:
//!
//!     cargo run --release -p gosleuth-logs --example assign -- logs FILE
fn main() {
    let Some(path) = std::env::args().next_back() else {
        return;
    };
    let input = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(2);
        }
    };
    let mut opts = gosleuth_logs::Options {
        assignments: true,
        ..Default::default()
    };
    if let Some(s) = std::env::var("GOSLEUTH_SIMILARITY")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        opts.cluster.similarity = s;
    }
    if let Some(p) = std::env::var("GOSLEUTH_PREFIX")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        opts.cluster.prefix = p;
    }
    if let Some(p) = std::env::var("GOSLEUTH_SIBLINGS")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        opts.cluster.min_siblings = p;
    }
    let r = gosleuth_logs::scan(&input, &opts);
    println!("{}", gosleuth_render::json::to_string(&r));
}
