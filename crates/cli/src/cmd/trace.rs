//! `gosleuth trace`: what an execution trace says about the scheduler and
//! the GC, read as a stream (any size, constant memory).

use std::io::{BufReader, Write};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use gosleuth_trace::{RawEvent, Summary, WireReader};

use crate::output::{Format, emit};

#[derive(Debug, Args)]
pub struct TraceArgs {
    /// A trace file (runtime/trace, /debug/pprof/trace, go test -trace) of
    /// Go 1.22 or later, or the URL of a running service's
    /// /debug/pprof/trace?seconds=N (fetched, kept in the temporary
    /// directory, then read).
    pub source: String,

    /// Print every event as it is on the wire, as `go tool trace -d=wire`
    /// does.
    #[arg(long)]
    pub wire: bool,

    /// Write a blocking profile instead, as `go tool trace -pprof=TYPE`
    /// does: net, sync, syscall or sched; or `cpu`, the CPU profile of the
    /// trace's CPU samples (when the program profiled CPU while traced).
    /// A gzipped profile.proto on standard output, or in -o FILE.
    #[arg(long, value_name = "TYPE")]
    pub pprof: Option<String>,

    /// Show one goroutine's changes of state instead: when, from what to
    /// what, why, and the stack of each (as go tool trace -d=parsed orders
    /// them).
    #[arg(long, value_name = "ID")]
    pub goroutine: Option<u64>,

    /// Write the timeline for a viewer instead: `perfetto` (Perfetto's
    /// protobuf trace, for ui.perfetto.dev and trace_processor) or
    /// `chrome` (trace-event JSON), to -o FILE or standard output.
    #[arg(long, value_name = "FORMAT")]
    pub export: Option<String>,

    /// Show the minimum mutator utilisation instead: for windows of 1 ms
    /// to 1 s, the lowest share of the Ps left to the program, and where
    /// the worst window starts. What counts against the program:
    /// `stw|background|assist|sweep` (any of them; all by default, as in
    /// go tool trace's MMU view).
    #[arg(long, value_name = "INCLUDE", num_args = 0..=1, require_equals = true, default_missing_value = "all")]
    pub mmu: Option<String>,

    /// Read only the generations (the format's self-contained pieces,
    /// about a second each) that cover FROM-TO, times from the trace's
    /// start (`2s-3s`, `0-500ms`): every report then covers that window.
    #[arg(long, value_name = "FROM-TO")]
    pub window: Option<String>,

    /// With --pprof or --export: the file to write.
    #[arg(short, long)]
    pub output: Option<std::path::PathBuf>,

    /// The trace file read (the source, or where a URL's trace was saved).
    #[arg(skip)]
    pub file: std::path::PathBuf,

    /// Output format of the summary.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

pub fn run(mut args: TraceArgs) -> Result<ExitCode> {
    args.file = if args.source.starts_with("http://") || args.source.starts_with("https://") {
        fetch(&args.source)?
    } else {
        std::path::PathBuf::from(&args.source)
    };
    let window = args.window.as_deref().map(parse_window).transpose()?;
    let open = || open_trace(&args.file, window);
    let name = args.file.display().to_string();
    if args.wire {
        let mut r = WireReader::new(open()?).with_context(|| name.clone())?;
        let mut ev = RawEvent::default();
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        while r.next_into(&mut ev).with_context(|| name.clone())? {
            let line = ev.to_wire_text();
            if let Err(e) = writeln!(out, "{line}") {
                if e.kind() == std::io::ErrorKind::BrokenPipe {
                    return Ok(ExitCode::SUCCESS);
                }
                return Err(e.into());
            }
        }
        out.flush()?;
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(format) = &args.export {
        let out: Box<dyn Write> = match &args.output {
            Some(path) => Box::new(std::io::BufWriter::with_capacity(
                1 << 20,
                std::fs::File::create(path)
                    .with_context(|| format!("cannot create {}", path.display()))?,
            )),
            None => Box::new(std::io::BufWriter::new(std::io::stdout())),
        };
        let sink: Box<dyn gosleuth_trace::export::Sink> = match format.as_str() {
            "perfetto" => Box::new(gosleuth_trace::export::Perfetto::new(out)),
            "chrome" => Box::new(gosleuth_trace::export::Chrome::new(out)?),
            other => anyhow::bail!("--export {other}: expected perfetto or chrome"),
        };
        gosleuth_trace::profiles::export(open()?, sink).with_context(|| name.clone())?;
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(g) = args.goroutine {
        let ts = gosleuth_trace::profiles::transitions(open()?, Some(g))
            .with_context(|| name.clone())?;
        if ts.is_empty() {
            anyhow::bail!("{name}: goroutine {g} does not appear in the trace");
        }
        match args.format {
            Format::Json => emit(&(serde_json::to_string_pretty(&ts)? + "\n"))?,
            Format::Text => {
                let start = ts[0].time_ns;
                let mut out = format!("goroutine {g}: {} changes of state\n", ts.len());
                for t in &ts {
                    let why = if t.reason.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", t.reason)
                    };
                    let at = if t.stack.is_empty() {
                        String::new()
                    } else {
                        format!("  {}", call_site(&t.stack))
                    };
                    out.push_str(&format!(
                        "  +{:>10.3} ms  {} -> {}{why}{at}\n",
                        (t.time_ns - start) as f64 / 1e6,
                        t.from,
                        t.to
                    ));
                }
                emit(&out)?;
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(include) = &args.mmu {
        let flags = gosleuth_trace::mmu::Flags::parse(include).with_context(|| {
            format!("--mmu {include}: expected stw, background, assist or sweep, joined by |")
        })?;
        let u =
            gosleuth_trace::profiles::utilization(open()?, flags).with_context(|| name.clone())?;
        let curve = u.curve();
        match args.format {
            Format::Json => emit(&(serde_json::to_string_pretty(&curve)? + "\n"))?,
            Format::Text => {
                let mut out = String::new();
                mmu_text(&mut out, &u, &curve);
                emit(&out)?;
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(kind) = &args.pprof {
        let p = if kind == "cpu" {
            let req = gosleuth_trace::profiles::Request {
                cpu: true,
                ..Default::default()
            };
            let got = gosleuth_trace::profiles::read(open()?, req).with_context(|| name.clone())?;
            got.cpu.with_context(|| {
                format!(
                    "{name}: the trace holds no CPU samples: the program was not profiling CPU \
                     while it was traced (run pprof.StartCPUProfile, or fetch \
                     /debug/pprof/profile, during the trace)"
                )
            })?
        } else {
            let k = gosleuth_trace::profiles::Kind::parse(kind).with_context(|| {
                format!("--pprof {kind}: expected net, sync, syscall, sched or cpu")
            })?;
            gosleuth_trace::profiles::blocking_profile(open()?, k).with_context(|| name.clone())?
        };
        match &args.output {
            Some(path) => {
                let f = std::fs::File::create(path)
                    .with_context(|| format!("cannot create {}", path.display()))?;
                gosleuth_pprof::proto::write_gzip(&p, f)
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
            None => {
                let mut out = std::io::stdout().lock();
                gosleuth_pprof::proto::write_gzip(&p, &mut out)?;
                out.flush()?;
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    match args.format {
        Format::Json => {
            let req = gosleuth_trace::profiles::Request {
                kinds: vec![gosleuth_trace::profiles::Kind::Sched],
                goroutines: true,
                utilization: Some(gosleuth_trace::mmu::Flags::ALL),
                ..Default::default()
            };
            let (s, got) = summary_and(&args.file, window, req)?;
            let sched = got.analyses.first().map(|a| {
                let h = &a.durations;
                serde_json::json!({
                    "count": h.count,
                    "p50_ns": h.quantile(0.5),
                    "p90_ns": h.quantile(0.9),
                    "p99_ns": h.quantile(0.99),
                    "p999_ns": h.quantile(0.999),
                    "max_ns": h.max_ns,
                    "longest": a.worst.iter().map(|w| serde_json::json!({
                        "goroutine": w.goroutine,
                        "start_ns": w.start_ns,
                        "ns": w.ns,
                        "made_runnable_in": call_site(&w.stack),
                        "likely_cause": w.likely_cause(),
                        "context": w.context,
                    })).collect::<Vec<_>>(),
                })
            });
            let (groups, user) = (got.groups, got.user);
            let mmu = got.utilization.map(|u| u.curve()).unwrap_or_default();
            let mut doc = serde_json::to_value(&s)?;
            let latencies =
                |m: &std::collections::BTreeMap<String, gosleuth_trace::profiles::Histogram>| {
                    m.iter()
                        .map(|(k, h)| {
                            (
                                k.clone(),
                                serde_json::json!({
                                    "count": h.count,
                                    "sum_ns": h.sum_ns,
                                    "p50_ns": h.quantile(0.5),
                                    "p90_ns": h.quantile(0.9),
                                    "p99_ns": h.quantile(0.99),
                                    "max_ns": h.max_ns,
                                }),
                            )
                        })
                        .collect::<serde_json::Map<String, serde_json::Value>>()
                };
            if let Some(map) = doc.as_object_mut() {
                map.insert("goroutines".into(), serde_json::to_value(&groups)?);
                map.insert("task_types".into(), latencies(&user.tasks).into());
                map.insert("region_types".into(), latencies(&user.regions).into());
                map.insert("mmu".into(), serde_json::to_value(&mmu)?);
                if let Some(sched) = sched {
                    map.insert("scheduling_latency".into(), sched);
                }
            }
            emit(&(serde_json::to_string_pretty(&doc)? + "\n"))?;
        }
        Format::Text => emit(&full_text(&args.file, window)?.0)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// Fetches a trace from a URL (`seconds=N` in it sets how long), with a
/// progress bar, into the temporary directory; says where on stderr.
fn fetch(url: &str) -> Result<std::path::PathBuf> {
    let mut bar = crate::progress::Bar::new("fetching trace");
    let (url, body) = gosleuth_fetch::fetch_url_with_progress(url, -1, -1, &mut |p| bar.update(p))?;
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let path =
        std::env::temp_dir().join(format!("gosleuth-trace-{stamp}-{}.out", std::process::id()));
    std::fs::write(&path, &body).with_context(|| format!("cannot write {}", path.display()))?;
    eprintln!(
        "gosleuth: fetched {url} ({} bytes) into {}",
        body.len(),
        path.display()
    );
    Ok(path)
}

/// `FROM-TO` as nanoseconds (`2s-3s`, `0-500ms`).
fn parse_window(w: &str) -> Result<(i64, i64)> {
    let ns = |d: &str| -> Option<i64> {
        let d = d.trim();
        if d == "0" {
            return Some(0);
        }
        gosleuth_logs::time::parse_duration(d).map(|ms| ms.saturating_mul(1_000_000))
    };
    let parsed = w
        .split_once('-')
        .and_then(|(a, b)| Some((ns(a)?, ns(b)?)))
        .filter(|(a, b)| a <= b);
    parsed.with_context(|| {
        format!("--window {w}: expected FROM-TO with FROM <= TO, like 2s-3s or 0-500ms")
    })
}

/// The trace at `path`, or only the generations of `window` (ns from its
/// start) behind its header.
fn open_trace(
    path: &std::path::Path,
    window: Option<(i64, i64)>,
) -> Result<Box<dyn std::io::BufRead + Send>> {
    let name = path.display().to_string();
    let open = || std::fs::File::open(path).with_context(|| format!("cannot open {name}"));
    let Some((from, to)) = window else {
        return Ok(Box::new(BufReader::with_capacity(1 << 20, open()?)));
    };
    let index = gosleuth_trace::index::generations(BufReader::with_capacity(1 << 20, open()?))
        .with_context(|| name.clone())?;
    let r =
        gosleuth_trace::index::window(open()?, &index, from, to).with_context(|| name.clone())?;
    Ok(Box::new(r))
}

/// The trace's summary and the analyses `req` asks for, from one reading
/// of the file (on two threads, see `profiles::read`), or of the
/// generations of `window`.
pub fn summary_and(
    path: &std::path::Path,
    window: Option<(i64, i64)>,
    req: gosleuth_trace::profiles::Request,
) -> Result<(Summary, gosleuth_trace::profiles::Output)> {
    let name = path.display().to_string();
    let mut got = gosleuth_trace::profiles::read(open_trace(path, window)?, req)
        .with_context(|| name.clone())?;
    let s = std::mem::take(&mut got.summary);
    Ok((s, got))
}

/// The findings, the summary, the contended call sites, the longest
/// scheduling latencies, the MMU and the goroutine groups of the trace at
/// `path` as text, the findings, and the summary.
pub fn full_text(
    path: &std::path::Path,
    window: Option<(i64, i64)>,
) -> Result<(String, Vec<gosleuth_diagnose::Finding>, Summary)> {
    use gosleuth_trace::profiles::{Kind, Request};
    let name = path.display().to_string();
    let req = Request {
        kinds: vec![Kind::Sync, Kind::Sched],
        goroutines: true,
        utilization: Some(gosleuth_trace::mmu::Flags::ALL),
        ..Request::default()
    };
    let (summary, got) = summary_and(path, window, req)?;
    let s = &summary;
    let (groups, user) = (&got.groups, &got.user);
    let [sync, sched] = got.analyses.as_slice() else {
        anyhow::bail!("{name}: the analyses did not run");
    };
    let findings = gosleuth_trace::findings::findings(s, &got);
    let mut out = String::new();
    if !findings.is_empty() {
        gosleuth_render::findings::render(
            &mut out,
            &name,
            s.goroutines_created,
            &findings,
            &gosleuth_render::findings::TextOptions {
                color: false,
                max_findings: 0,
            },
        );
        out.push('\n');
    }
    out.push_str(&text(&name, s));
    blocking(&mut out, sync, sched);
    if let Some(u) = &got.utilization {
        let curve = u.curve();
        if !curve.is_empty() {
            out.push('\n');
            mmu_text(&mut out, u, &curve);
        }
    }
    goroutine_groups(&mut out, groups);
    annotations(&mut out, user);
    Ok((out, findings, summary))
}

/// Goroutines by entry function and where their time went (the ten
/// largest).
fn goroutine_groups(out: &mut String, groups: &[gosleuth_trace::profiles::GoroutineGroup]) {
    if groups.is_empty() {
        return;
    }
    out.push_str(
        "\ngoroutines by the function they started in: time running, runnable, in syscalls, \
         blocked (largest reason):\n",
    );
    for g in groups.iter().take(10) {
        let blocked: i64 = g.blocked_ns.values().sum();
        let top = g
            .blocked_ns
            .iter()
            .max_by_key(|(_, ns)| **ns)
            .map(|(r, ns)| {
                format!(
                    " ({} {})",
                    if r.is_empty() { "?" } else { r },
                    ms(*ns as u64)
                )
            })
            .unwrap_or_default();
        let entry = if g.entry.is_empty() {
            "(started before the trace)"
        } else {
            &g.entry
        };
        out.push_str(&format!(
            "  {:>5} x {entry}\n        running {}{}, runnable {}, syscalls {}, blocked {}{top}\n",
            g.count,
            ms(g.exec_ns as u64),
            if g.gc_assist_ns > 0 {
                format!(" (assisting the GC {})", ms(g.gc_assist_ns as u64))
            } else {
                String::new()
            },
            ms(g.sched_wait_ns as u64),
            ms(g.syscall_ns as u64),
            ms(blocked as u64),
        ));
    }
}

/// User tasks and regions by type: how many ended, and how long they took.
fn annotations(out: &mut String, user: &gosleuth_trace::profiles::UserStats) {
    for (what, m) in [("tasks", &user.tasks), ("regions", &user.regions)] {
        if m.is_empty() {
            continue;
        }
        out.push_str(&format!(
            "\nuser {what} by type (runtime/trace): count, p50, p90, p99 (within 6%), longest:\n"
        ));
        for (ty, h) in m {
            out.push_str(&format!(
                "  {:>6} x {ty:<24} {:>12} {:>12} {:>12} {:>12}\n",
                h.count,
                ms(h.quantile(0.5) as u64),
                ms(h.quantile(0.9) as u64),
                ms(h.quantile(0.99) as u64),
                ms(h.max_ns as u64)
            ));
        }
    }
}

/// The findings of the trace at `path`, without the rest of the report,
/// and its summary.
pub fn findings(path: &std::path::Path) -> Result<(Vec<gosleuth_diagnose::Finding>, Summary)> {
    use gosleuth_trace::profiles::{Kind, Request};
    let req = Request {
        kinds: vec![Kind::Sync, Kind::Sched],
        goroutines: true,
        utilization: Some(gosleuth_trace::mmu::Flags::ALL),
        ..Request::default()
    };
    let (s, got) = summary_and(path, None, req)?;
    let findings = gosleuth_trace::findings::findings(&s, &got);
    Ok((findings, s))
}

/// The first frame outside the runtime and sync (where user code
/// blocked), else the innermost.
fn call_site(stack: &[gosleuth_trace::profiles::FrameKey]) -> String {
    let lib = |f: &str| {
        f.starts_with("runtime.")
            || f.starts_with("sync.")
            || f.starts_with("internal/")
            || f.starts_with("runtime/")
    };
    let blocked_in = stack.first().map(|f| f.0.as_str()).unwrap_or("?");
    match stack.iter().find(|f| !lib(&f.0)) {
        Some(f) => {
            let file = f.1.rsplit('/').next().unwrap_or(&f.1);
            format!("{blocked_in} from {} at {file}:{}", f.0, f.2)
        }
        None => blocked_in.to_string(),
    }
}

fn blocking(
    out: &mut String,
    sync: &gosleuth_trace::profiles::Analysis,
    sched: &gosleuth_trace::profiles::Analysis,
) {
    if !sync.by_stack.is_empty() {
        out.push_str(
            "\nwhere goroutines waited on channels, selects and locks (go tool trace -pprof=sync):\n",
        );
        for (stack, n, ns) in sync.by_stack.iter().take(5) {
            out.push_str(&format!(
                "  {:>12} in {n:>6} waits  {}\n",
                ms(*ns as u64),
                call_site(stack)
            ));
        }
    }
    if !sched.worst.is_empty() {
        let h = &sched.durations;
        out.push_str(&format!(
            "\nscheduling latency (waits for a P while runnable): {} waits, p50 {}, p90 {}, p99 {}, \
             p99.9 {}, longest {}; the longest, with what likely held them up (inferred from what \
             overlapped them):\n",
            h.count,
            ms(h.quantile(0.5) as u64),
            ms(h.quantile(0.9) as u64),
            ms(h.quantile(0.99) as u64),
            ms(h.quantile(0.999) as u64),
            ms(h.max_ns as u64)
        ));
        for w in sched.worst.iter().take(5) {
            out.push_str(&format!(
                "  {:>12}  goroutine {} from {:.3} ms, made runnable in {}\n                likely: {}\n",
                ms(w.ns as u64),
                w.goroutine,
                w.start_ns as f64 / 1e6,
                call_site(&w.stack),
                w.likely_cause()
            ));
        }
    }
}

/// Values as a line of block characters (at most `width`, each the
/// largest of the values it stands for), scaled to the largest value.
fn sparkline(values: &[u64], width: usize) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = values.iter().copied().max().unwrap_or(0).max(1);
    let per = values.len().div_ceil(width.max(1)).max(1);
    values
        .chunks(per)
        .map(|c| {
            let v = c.iter().copied().max().unwrap_or(0);
            BARS[((v as f64 / max as f64) * 7.0).round() as usize]
        })
        .collect()
}

/// The MMU curve as a table.
fn mmu_text(
    out: &mut String,
    u: &gosleuth_trace::mmu::Utilization,
    curve: &[gosleuth_trace::mmu::Window],
) {
    let f = u.flags;
    let counted: Vec<&str> = [
        (f.stw, "GC stops of the world"),
        (f.background, "background mark workers"),
        (f.assist, "mark assists"),
        (f.sweep, "sweeping"),
    ]
    .into_iter()
    .filter_map(|(on, what)| on.then_some(what))
    .collect();
    out.push_str(&format!(
        "minimum mutator utilisation (the lowest share of the Ps left to the program in any window; \
         counted against it: {}):\n",
        if counted.is_empty() { "nothing".to_string() } else { counted.join(", ") }
    ));
    if curve.is_empty() {
        out.push_str("  (the trace is shorter than 1 ms or shows no Ps)\n");
    }
    for w in curve {
        out.push_str(&format!(
            "  {:>8} window  {:>5.1}%  worst from {:.3} ms\n",
            window_name(w.window_ns),
            w.mmu * 100.0,
            w.start_ns as f64 / 1e6
        ));
    }
    if let Some(mean) = u.mean() {
        out.push_str(&format!(
            "  whole trace     {:>5.1}%  (the GC took {:.1}% of the Ps)\n",
            mean * 100.0,
            (1.0 - mean) * 100.0
        ));
    }
    if u.capped {
        out.push_str("  (the curve covers the start of the trace only: too many steps to keep)\n");
    }
}

fn window_name(ns: i64) -> String {
    if ns >= 1_000_000_000 {
        format!("{} s", ns / 1_000_000_000)
    } else {
        format!("{} ms", ns / 1_000_000)
    }
}

fn ms(ns: u64) -> String {
    format!("{:.3} ms", ns as f64 / 1e6)
}

fn text(name: &str, s: &Summary) -> String {
    let mut out = String::new();
    if let Some(t) = &s.truncated {
        out.push_str(&format!(
            "warning: {t}; what follows is read from before the cut\n"
        ));
    }
    out.push_str(&format!(
        "{name}: a Go 1.{} trace, {} over {}, {} events in {} generations\n\n",
        s.version,
        gosleuth_render::size::human(s.bytes),
        ms(s.duration_ns),
        s.events,
        s.generations
    ));
    out.push_str(&format!(
        "goroutines  {} created, {} ended\nPs          {} (GOMAXPROCS)\nthreads     {}\n",
        s.goroutines_created, s.goroutines_ended, s.procs, s.threads
    ));
    out.push_str(&format!(
        "GC          {} cycles started; heap up to {}, goal {} at the end\n",
        s.gc_cycles,
        gosleuth_render::size::human(s.heap_alloc_max),
        gosleuth_render::size::human(s.heap_goal_last)
    ));
    if s.heap.len() >= 2 {
        out.push_str(&format!(
            "heap        {}  (over the trace, up to {})\n",
            sparkline(&s.heap.iter().map(|p| p.alloc).collect::<Vec<_>>(), 48),
            gosleuth_render::size::human(s.heap_alloc_max)
        ));
    }
    if s.gc_concurrent_ns > 0 {
        out.push_str(&format!(
            "            marking (GCBegin to GCEnd) {} in all, longest {}; assists {}\n",
            ms(s.gc_concurrent_ns),
            ms(s.gc_concurrent_max_ns),
            ms(s.gc_assist_ns)
        ));
    }
    if s.tasks + s.regions + s.logs > 0 {
        out.push_str(&format!(
            "user        {} tasks, {} regions, {} logs\n",
            s.tasks, s.regions, s.logs
        ));
    }
    if s.cpu_samples > 0 {
        out.push_str(&format!("CPU samples {}\n", s.cpu_samples));
    }
    if !s.stw.is_empty() {
        out.push_str("\nstops of the world (from STWBegin to STWEnd on the same thread):\n");
        let mut rows: Vec<_> = s.stw.iter().collect();
        rows.sort_by_key(|r| std::cmp::Reverse(r.1.total_ns));
        for (reason, st) in rows {
            out.push_str(&format!(
                "  {:>5} x {:<28} total {:>12}, longest {:>12}\n",
                st.count,
                reason,
                ms(st.total_ns),
                ms(st.max_ns)
            ));
        }
    }
    out.push_str("\nevents by kind:\n");
    let mut kinds: Vec<_> = s.by_kind.iter().collect();
    kinds.sort_by_key(|k| std::cmp::Reverse(*k.1));
    for (k, n) in kinds {
        out.push_str(&format!("  {n:>10}  {k}\n"));
    }
    out
}
