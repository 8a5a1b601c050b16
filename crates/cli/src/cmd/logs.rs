//! `gosleuth logs`: find what went wrong in service logs. Readers and
//! analysis live in the gosleuth-logs crate; this wires inputs, flags and
//! output together.

use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use gosleuth_logs::{Level, Options, Part, Report, Scanner, time};
use gosleuth_render::logs::{self as render, RenderOptions};
use gosleuth_render::triage::TextOptions;

use crate::output::{ColorChoice, Format, emit};
use gosleuth_evidence::input::{self, Input};

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Files, globs, or - for standard input (the default). Gzipped files
    /// (rotated logs) are read as they are.
    pub inputs: Vec<String>,

    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,

    /// Only records at or after this time: RFC 3339 (2026-11-21T10:00:00Z)
    /// or a duration ago (90s, 15m, 1h, 2d).
    #[arg(long)]
    pub since: Option<String>,

    /// Only records at or before this time (same forms as --since).
    #[arg(long)]
    pub until: Option<String>,

    /// Only records at this level or above (trace, debug, info, warn,
    /// error, fatal, panic); records without a level are dropped.
    #[arg(long)]
    pub level: Option<String>,

    /// Only records whose line or message matches this regular expression.
    #[arg(long)]
    pub grep: Option<String>,

    /// Read all inputs as one log (rotated files); line numbers then count
    /// through the inputs in the order given.
    #[arg(long)]
    pub merge: bool,

    /// Show at most this many error and warning templates (0 shows all),
    /// and three times fewer info templates.
    #[arg(long, default_value_t = 30)]
    pub max_templates: usize,

    /// Do not show an example line under each error and warning template.
    #[arg(long)]
    pub no_examples: bool,

    /// In JSON, add `assignments`: the template id of every line (null for
    /// continuation, runtime, blank and filtered lines). Memory grows with
    /// the input; meant for measuring clustering accuracy.
    #[arg(long)]
    pub assignments: bool,

    /// How alike (0..1, the share of equal tokens) a message must be to a
    /// template to join it.
    #[arg(long, default_value_t = 0.5)]
    pub similarity: f64,

    /// Templates made at most; past it, records that match no template
    /// are counted in one `<other>` template per level, so memory stays
    /// bounded on any input (0: no limit).
    #[arg(long, default_value_t = gosleuth_logs::cluster::MAX_TEMPLATES)]
    pub template_limit: usize,

    /// Threads for plain files (default: every core).
    #[arg(long)]
    pub threads: Option<usize>,

    /// Exit with status 1 when a panic, fatal error or data race is
    /// found, or a record at ERROR or above.
    #[arg(long)]
    pub exit_code: bool,

    /// When to colour the output.
    #[arg(long, value_enum, default_value_t)]
    pub color: ColorChoice,
}

fn options(args: &LogsArgs) -> Result<Options> {
    let now = time::now_millis();
    let mut opts = Options {
        assignments: args.assignments,
        ..Options::default()
    };
    if let Some(s) = &args.since {
        opts.since = Some(time::parse_bound(s, now).context("--since")?);
    }
    if let Some(s) = &args.until {
        opts.until = Some(time::parse_bound(s, now).context("--until")?);
    }
    if let Some(l) = &args.level {
        opts.min_level = Some(l.parse::<Level>().context("--level")?);
    }
    if let Some(g) = &args.grep {
        opts = opts.grep(g).context("--grep")?;
    }
    if !(0.0..=1.0).contains(&args.similarity) {
        anyhow::bail!(
            "--similarity must be between 0 and 1, got {}",
            args.similarity
        );
    }
    opts.cluster.similarity = args.similarity;
    opts.cluster.max_templates = args.template_limit;
    Ok(opts)
}

/// Reads one input: plain files in parts on every core, streams (stdin,
/// gzip) through one scanner. A stream that breaks off (a truncated
/// gzip) yields what was read before, with a warning.
fn read(input: &Input, opts: &Options, threads: usize) -> Result<Part> {
    if let Some((file, len)) = input.open_plain()? {
        use std::os::unix::fs::FileExt;
        let read_at = |offset: u64, buf: &mut [u8]| file.read_at(buf, offset);
        return gosleuth_logs::scan_part_parallel_at(len, &read_at, opts, threads)
            .with_context(|| format!("reading {}", input.name()));
    }
    let mut scanner = Scanner::new(opts);
    if let Err(e) = input.for_each_chunk(&mut |chunk| scanner.feed(chunk)) {
        let part = scanner.finish();
        eprintln!(
            "gosleuth: warning: {e:#}; showing the {} lines read before the error",
            part.counts.lines
        );
        return Ok(part);
    }
    Ok(scanner.finish())
}

/// The logs report of one input with the default options (for `gosleuth
/// report`).
pub fn read_report(input: &Input) -> Result<Option<Report>> {
    let opts = Options::default();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let part = read(input, &opts, threads)?;
    let mut report = gosleuth_logs::report(part, &opts);
    report.source = input.name();
    Ok(Some(report))
}

pub fn run(args: LogsArgs) -> Result<ExitCode> {
    let opts = options(&args)?;
    for a in &args.inputs {
        if std::path::Path::new(a).is_dir() {
            let dir = a.trim_end_matches('/');
            anyhow::bail!(
                "{a} is a directory: pass its log files instead, e.g. '{dir}/*.log' \
                 (quoted, so that gosleuth expands it; add --merge to read rotated files as one log)"
            );
        }
    }
    let inputs = input::expand(&args.inputs)?;
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let render_opts = RenderOptions {
        text: TextOptions {
            style: args.color.style(),
            ..TextOptions::default()
        },
        max_problems: args.max_templates,
        max_chatter: args.max_templates.div_ceil(3),
        examples: !args.no_examples,
    };
    let mut reports: Vec<(String, Report)> = Vec::new();
    if args.merge && inputs.len() > 1 {
        let mut merged: Option<Part> = None;
        for input in &inputs {
            let part = read(input, &opts, threads)?;
            merged = Some(match merged {
                None => part,
                Some(m) => gosleuth_logs::merge(m, part),
            });
        }
        let names: Vec<String> = inputs.iter().map(Input::name).collect();
        if let Some(part) = merged {
            let mut report = gosleuth_logs::report(part, &opts);
            report.source = names.join(" + ");
            reports.push((report.source.clone(), report));
        }
    } else {
        for input in &inputs {
            let mut report = gosleuth_logs::report(read(input, &opts, threads)?, &opts);
            report.source = input.name();
            if args.format == Format::Text {
                let mut out = String::new();
                if !reports.is_empty() {
                    out.push('\n');
                }
                render::report(&mut out, &input.name(), &report, &render_opts);
                emit(&out)?;
            }
            reports.push((input.name(), report));
        }
    }
    match args.format {
        Format::Json => {
            let docs: Vec<&Report> = reports.iter().map(|(_, r)| r).collect();
            let s = if docs.len() == 1 {
                gosleuth_render::json::to_string(docs[0])
            } else {
                gosleuth_render::json::to_string(&docs)
            };
            emit(&(s + "\n"))?;
        }
        Format::Text if args.merge && inputs.len() > 1 => {
            for (name, report) in &reports {
                let mut out = String::new();
                render::report(&mut out, name, report, &render_opts);
                emit(&out)?;
            }
        }
        Format::Text => {}
    }
    let failure = reports
        .iter()
        .any(|(_, r)| r.has_failure() || r.worst_level().is_some_and(|l| l >= Level::Error));
    Ok(if failure && args.exit_code {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
