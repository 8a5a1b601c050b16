//! `gosleuth record`: a CPU (or wall-clock) profile of a running Go process
//! taken from outside, without its help: no /debug/pprof endpoint needed.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use gosleuth_pprof::Profile;
use gosleuth_sample::{Ended, Method, Options, Sampler, Symbolizer};

#[derive(Debug, Args)]
pub struct RecordArgs {
    /// The process to sample (more with --pid).
    pub pid: Option<i32>,

    /// Another process to sample at the same time (repeatable); the
    /// profile's samples carry a `pid` label.
    #[arg(long = "pid", value_name = "PID")]
    pub pids: Vec<i32>,

    /// How long to sample (`30s`, `2m`, `500ms`); Ctrl-C ends the
    /// recording earlier and still writes it.
    #[arg(short, long, value_parser = parse_duration, default_value = "10s")]
    pub duration: Duration,

    /// Stop after this many samples (of each process).
    #[arg(long)]
    pub samples: Option<u64>,

    /// Samples per second of each thread's running time (and ticks per
    /// second of the goroutine sampling with --wall).
    #[arg(short, long, default_value_t = 100)]
    pub rate: u32,

    /// Wall-clock profile (as fgprof): every goroutine at each tick,
    /// running or waiting, so time spent on locks, channels, I/O and sleep
    /// shows beside CPU; each sample is labelled with the goroutine's
    /// `state` and its pprof labels.
    #[arg(long)]
    pub wall: bool,

    /// The file to write (default: gosleuth-PID.pb.gz for the pprof format,
    /// standard output for the others).
    #[arg(short, long)]
    pub output: Option<PathBuf>,

    /// What to write: a gzipped profile.proto (for go tool pprof and
    /// gosleuth pprof), folded stacks, speedscope JSON or a flame graph SVG.
    #[arg(short, long, value_enum, default_value_t = RecordFormat::Pprof)]
    pub format: RecordFormat,

    /// How running threads are caught: perf events where the kernel allows
    /// them (the process is never stopped), else ptrace (each running
    /// thread stopped for microseconds per sample).
    #[arg(long, value_enum, default_value_t = MethodArg::Auto)]
    pub method: MethodArg,

    /// The process's executable, when /proc/PID/exe is not it (a binary
    /// with symbols for a stripped one in production).
    #[arg(long)]
    pub binary: Option<PathBuf>,

    /// Bytes of each sampled thread's stack the kernel copies with a
    /// sample (perf events; 1024 to 61440): frames beyond it are read from
    /// the process afterwards.
    #[arg(long, default_value_t = 32 * 1024)]
    pub stack_bytes: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RecordFormat {
    Pprof,
    Folded,
    Speedscope,
    Flamegraph,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MethodArg {
    Auto,
    Perf,
    Ptrace,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    crate::cmd::report::capture::parse_duration(s)
        .ok_or_else(|| format!("{s:?} is not a duration (30s, 2m, 500ms)"))
}

pub(crate) fn options(rate: u32, wall: bool, method: MethodArg) -> Options {
    Options {
        rate_hz: rate,
        wall,
        method: match method {
            MethodArg::Auto => Method::Auto,
            MethodArg::Perf => Method::Perf,
            MethodArg::Ptrace => Method::Ptrace,
        },
        ..Options::default()
    }
}

/// What one process's recording gave.
struct Recorded {
    pid: i32,
    profile: Profile,
    summary: String,
    top: Vec<(String, i64)>,
    total_ns: i64,
}

fn record_one(pid: i32, args: &RecordArgs) -> Result<Recorded> {
    let opts = Options {
        stack_bytes: args.stack_bytes,
        ..options(args.rate, args.wall, args.method)
    };
    let mut s = Sampler::open(pid, args.binary.as_deref(), opts)
        .with_context(|| format!("cannot sample process {pid}"))?;
    let stop = gosleuth_sample::interrupt::stop_flag();
    let mut rec = s.recording();
    let until = Instant::now() + args.duration;
    let max = args.samples.unwrap_or(u64::MAX);
    let ended = s.run(&mut rec, |r, _| {
        Instant::now() < until && r.samples < max && !stop.load(Ordering::Acquire)
    });
    let t = s.target();
    let mut sym = Symbolizer::new(t, pid);
    let top: Vec<(String, i64)> = rec
        .functions(&mut sym)
        .into_iter()
        .take(5)
        .map(|f| (f.name, f.self_ns))
        .collect();
    let mut profile = rec.to_profile(&mut sym)?;
    let mut summary = format!(
        "process {pid}: {} samples in {:.1} s ({}), by {}",
        rec.samples,
        rec.elapsed.as_secs_f64(),
        if args.wall { "wall clock" } else { "on CPU" },
        s.used().describe()
    );
    let st = &s.stats;
    if st.lost > 0 {
        summary.push_str(&format!("; {} samples lost (buffers full)", st.lost));
    }
    if st.partial > 0 {
        summary.push_str(&format!(
            "; {} stacks could not be unwound to their start (kept as far as they go)",
            st.partial
        ));
    }
    if !st.stops_us.is_empty() {
        let mut v = st.stops_us.clone();
        v.sort_unstable();
        let at = |q: f64| v[((v.len() - 1) as f64 * q) as usize];
        summary.push_str(&format!(
            "; threads stopped {} times: median {} µs, 99th percentile {} µs, longest {} µs",
            v.len(),
            at(0.5),
            at(0.99),
            st.max_stop.as_micros()
        ));
    }
    if st.captures > 0 {
        summary.push_str(&format!(
            "; {} goroutine captures, the longest {} ms",
            st.captures,
            st.max_capture.as_millis()
        ));
    }
    if ended == Ended::Exited {
        summary.push_str("; the process exited, so the recording ends there");
    }
    for w in &s.warnings {
        summary.push_str(&format!("\n  note: {w}"));
    }
    if !args.pids.is_empty() {
        profile.set_label("pid", &pid.to_string());
    }
    Ok(Recorded {
        pid,
        total_ns: rec.total_ns(),
        profile,
        summary,
        top,
    })
}

pub fn run(args: RecordArgs) -> Result<ExitCode> {
    let mut pids: Vec<i32> = args
        .pid
        .into_iter()
        .chain(args.pids.iter().copied())
        .collect();
    pids.dedup();
    if pids.is_empty() {
        bail!("give the process id to sample: gosleuth record PID [--pid PID...]");
    }
    // One thread per process: each sampler stays on the thread that
    // opened it (ptrace belongs to a thread).
    let results: Vec<Result<Recorded>> = std::thread::scope(|scope| {
        let handles: Vec<_> = pids
            .iter()
            .map(|&pid| {
                let args = &args;
                scope.spawn(move || record_one(pid, args))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("the sampling thread panicked")))
            })
            .collect()
    });
    let mut profiles = Vec::new();
    let mut stderr = std::io::stderr().lock();
    for r in results {
        let r = r?;
        writeln!(stderr, "gosleuth: {}", r.summary)?;
        if r.total_ns > 0 {
            for (name, ns) in &r.top {
                writeln!(
                    stderr,
                    "  {:5.1}%  {name}",
                    100.0 * *ns as f64 / r.total_ns as f64
                )?;
            }
        }
        profiles.push((r.pid, r.profile));
    }
    let first_pid = profiles.first().map_or(0, |p| p.0);
    let profile = if profiles.len() == 1 {
        profiles.remove(0).1
    } else {
        gosleuth_pprof::driver::combine(profiles.into_iter().map(|p| p.1).collect())?
    };
    let bytes = match args.format {
        RecordFormat::Pprof => {
            let mut out = Vec::new();
            gosleuth_pprof::proto::write_gzip(&profile, &mut out)?;
            out
        }
        f => {
            let cfg = gosleuth_pprof::report::Config {
                format: match f {
                    RecordFormat::Folded => gosleuth_pprof::report::Format::Folded,
                    RecordFormat::Speedscope => gosleuth_pprof::report::Format::Speedscope,
                    _ => gosleuth_pprof::report::Format::FlameSvg,
                },
                ..gosleuth_pprof::report::Config::default()
            };
            let mut rpt = gosleuth_pprof::report::prepare(profile, &cfg)?;
            gosleuth_pprof::output::generate(&mut rpt)?
        }
    };
    let path = match (&args.output, args.format) {
        (Some(p), _) => Some(p.clone()),
        (None, RecordFormat::Pprof) => Some(PathBuf::from(format!("gosleuth-{first_pid}.pb.gz"))),
        (None, _) => None,
    };
    match path {
        Some(p) if p.as_os_str() != "-" => {
            std::fs::write(&p, &bytes).with_context(|| format!("cannot write {}", p.display()))?;
            writeln!(stderr, "gosleuth: wrote {}", p.display())?;
        }
        _ => std::io::stdout().lock().write_all(&bytes)?,
    }
    Ok(ExitCode::SUCCESS)
}
