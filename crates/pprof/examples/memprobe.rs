//! Prints RSS after each step of `-top` (a memory probe for development).

fn rss(what: &str) {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let get = |k: &str| {
        s.lines()
            .find(|l| l.starts_with(k))
            .map(|l| l.split_whitespace().nth(1).unwrap_or("").to_string())
            .unwrap_or_default()
    };
    eprintln!(
        "{what:<12} rss {:>8} kB hwm {:>8} kB",
        get("VmRSS"),
        get("VmHWM")
    );
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    use gosleuth_pprof::graph;
    let path = std::env::args().nth(1).ok_or("usage: memprobe FILE")?;
    rss("start");
    let p = gosleuth_pprof::parse_file(std::path::Path::new(&path))?;
    rss("parsed");
    let mut r = gosleuth_pprof::report::prepare(p, &Default::default())?;
    rss("prepared");
    let idx = graph::NodeIndex::new(&r.prof, graph::InfoOptions::default());
    rss("nodeindex");
    let g = graph::build(&r.prof, &idx, r.sel, None, false, graph::Edges::None, 0);
    rss("build1");
    drop(g);
    drop(idx);
    let out = gosleuth_pprof::output::generate(&mut r)?;
    rss("top");
    eprintln!("{} bytes", out.len());
    Ok(())
}
