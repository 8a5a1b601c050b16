//! `gosleuth report`: an incident report from all the evidence at once.
//!
//! ```text
//! gosleuth report EVIDENCE... [-o incident.md|incident.html]
//! gosleuth report http://host:port [--budget 30s] [-o incident.html]
//! gosleuth report --pid PID [-o incident.html]
//! ```
//!
//! The first form reads files (logs, dumps, `go test` output, profiles, a
//! Go binary with its core files; directories file by file). The second
//! captures the evidence itself from a service with net/http/pprof, in the
//! order seed 000's SOP checks things, keeps the files beside the report,
//! and reads them as the first form does. The third writes a core file of
//! a running process (frozen only for the budget of `gosleuth dump`) and
//! reads it with the process's binary.

pub(crate) mod capture;
mod compose;
mod gather;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::SystemTime;

use anyhow::{Context, Result, bail};
use clap::Args;

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Evidence files or directories (logs, goroutine dumps, go test output,
    /// pprof profiles, a Go binary and its core files), or one URL of a
    /// service with net/http/pprof (http://host:port) to capture from.
    #[arg(required_unless_present = "pid")]
    pub inputs: Vec<String>,

    /// Capture from a running process instead: a core file of it is written
    /// beside the report (the process is frozen only while its memory is
    /// copied) and read with its binary.
    #[arg(long, value_name = "PID", conflicts_with = "inputs")]
    pub pid: Option<u32>,

    /// Where to write the report: a .md file (Markdown), a .html file (one
    /// static page), or - for Markdown on standard output.
    #[arg(short, long, default_value = "-")]
    pub output: String,

    /// The report's title (default: the root cause found).
    #[arg(long)]
    pub title: Option<String>,

    /// With a URL: how long the capture may take in all (the CPU profile
    /// gets about a third of it). `30s`, `2m`.
    #[arg(long, default_value = "30s")]
    pub budget: String,

    /// With a URL: where to keep the captured files (default: beside the
    /// report, `<report name>.evidence/`, or `gosleuth-evidence/`).
    #[arg(long)]
    pub evidence_dir: Option<PathBuf>,

    /// Where to look for source files whose recorded path does not exist
    /// here (the longest tail of the path found under this directory).
    #[arg(long, default_value = ".")]
    pub source_dir: PathBuf,
}

/// Markdown or HTML, from the output's name.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Markdown,
    Html,
}

pub fn run(args: ReportArgs) -> Result<ExitCode> {
    let kind = if args.output == "-" || args.output.ends_with(".md") {
        Kind::Markdown
    } else if args.output.ends_with(".html") || args.output.ends_with(".htm") {
        Kind::Html
    } else {
        bail!(
            "-o {}: the report is written as Markdown (a name ending in .md, or - for standard \
             output) or HTML (.html)",
            args.output
        );
    };
    let urls: Vec<&String> = args
        .inputs
        .iter()
        .filter(|i| i.starts_with("http://") || i.starts_with("https://"))
        .collect();
    let evidence_dir = || {
        args.evidence_dir.clone().unwrap_or_else(|| {
            if args.output == "-" {
                PathBuf::from("gosleuth-evidence")
            } else {
                PathBuf::from(format!("{}.evidence", args.output))
            }
        })
    };
    let paths: Vec<PathBuf> = match urls.as_slice() {
        _ if args.pid.is_some() => {
            let pid = args.pid.unwrap_or_default();
            let dir = evidence_dir();
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            let core = dir.join(format!("core.{pid}"));
            let exe = std::fs::read_link(format!("/proc/{pid}/exe"))
                .with_context(|| format!("cannot find the executable of process {pid}"))?;
            super::dump::run(super::dump::DumpArgs {
                pid,
                output: Some(core.clone()),
                budget_ms: 100,
                quiet: false,
            })?;
            vec![core, exe]
        }
        [] => args.inputs.iter().map(PathBuf::from).collect(),
        [url] if args.inputs.len() == 1 => {
            let budget = capture::parse_duration(&args.budget).with_context(|| {
                format!(
                    "--budget {}: expected a duration like 30s or 2m",
                    args.budget
                )
            })?;
            let dir = evidence_dir();
            let captured = capture::capture(url, &dir, budget)?;
            eprintln!(
                "gosleuth: captured {} files into {} (kept to re-check each claim)",
                captured.len(),
                dir.display()
            );
            captured
        }
        _ => bail!(
            "report reads evidence files, or captures from one service URL alone; got {} URLs \
             among {} inputs",
            urls.len(),
            args.inputs.len()
        ),
    };
    let gathered = gather::gather(&paths, &args.source_dir)?;
    let doc = compose::compose(&gathered, args.title.as_deref(), SystemTime::now());
    let text = match kind {
        Kind::Markdown => gosleuth_render::report::markdown(&doc),
        Kind::Html => gosleuth_render::report::html(&doc),
    };
    if args.output == "-" {
        crate::output::emit(&text)?;
    } else {
        std::fs::write(&args.output, text)
            .with_context(|| format!("cannot write the report to {}", args.output))?;
        eprintln!("gosleuth: wrote {}", args.output);
    }
    Ok(ExitCode::SUCCESS)
}
