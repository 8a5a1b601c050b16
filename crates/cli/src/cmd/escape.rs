//! `gosleuth escape`: what escapes to the heap and why, per function, from
//! the compiler's `-gcflags=-m=2` output. Parsing, comparing, ranking and
//! the reports live in the `gosleuth-escape` library; this is the glue.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use gosleuth_escape::render::{self, Document};

use crate::output::{Format, emit};

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  gosleuth escape ./cmd/server              go build -gcflags=-m=2 of one package
  gosleuth escape ./app                     a directory: the build runs there (package .)
  go build -gcflags=-m=2 ./... 2>m2.txt; gosleuth escape --input m2.txt
  gosleuth escape ./app --diff old-m2.txt   what a change made escape (or stop escaping)
  gosleuth escape ./app --profile heap.pb.gz   escapes ranked by the bytes they allocated
  gosleuth escape ./app --checks            the bounds and nil checks the compiler left in")]
pub struct EscapeArgs {
    /// A package (`./cmd/server`, `./...`) built from the current
    /// directory, or a directory to build `.` in. Default: `.`.
    #[arg(conflicts_with = "input")]
    pub target: Option<String>,

    /// Read saved `go build -gcflags=-m=2` (or `-m`) output instead of
    /// building (`-` for standard input). Go files it names are read
    /// relative to the current directory when they exist.
    #[arg(long, value_name = "FILE")]
    pub input: Option<String>,

    /// Saved output of an older build: show the escapes that are new and
    /// those that are gone, matched by function and expression (not line).
    #[arg(long, value_name = "OLD_OUTPUT")]
    pub diff: Option<PathBuf>,

    /// A heap profile (alloc_space): rank escapes by the bytes allocated
    /// at their line.
    #[arg(long, value_name = "HEAP_PROFILE")]
    pub profile: Option<PathBuf>,

    /// Also report the bounds checks the compiler kept and the nil checks
    /// it kept or removed, per function: builds with
    /// `-gcflags='-m=2 -d=ssa/check_bce/debug=1 -d=nil=1'`. Saved output
    /// (`--input`) is read for these lines whenever they are present.
    #[arg(long)]
    pub checks: bool,

    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

pub fn run(args: EscapeArgs) -> Result<ExitCode> {
    let (text, name, base) = match (&args.input, &args.target) {
        (Some(input), _) => (read_input(input)?, input.clone(), PathBuf::from(".")),
        (None, target) => {
            let target = target.as_deref().unwrap_or(".");
            let (dir, pkg) = if Path::new(target).is_dir() {
                (PathBuf::from(target), ".")
            } else {
                (PathBuf::from("."), target)
            };
            let gcflags = if args.checks {
                gosleuth_escape::GCFLAGS_CHECKS
            } else {
                gosleuth_escape::GCFLAGS
            };
            let text = gosleuth_escape::go_build_with(&dir, pkg, gcflags, &[])?;
            (
                text,
                gosleuth_escape::command_line_with(&dir, pkg, gcflags),
                dir,
            )
        }
    };
    // A build that printed nothing (no function in the package) is an
    // empty report; saved output that is empty is an error.
    let mut report = if args.input.is_none() && text.trim().is_empty() {
        gosleuth_escape::Report::default()
    } else {
        gosleuth_escape::parse_with_sources(&text, &name, &mut |file| {
            std::fs::read_to_string(base.join(file)).ok()
        })?
    };
    if args.checks {
        if args.input.is_none() {
            // The build asked: no line means no check left.
            report.checks = true;
        } else if !report.checks {
            eprintln!(
                "gosleuth escape: {name} has no bounds-check or nil-check lines; save the output of go build '-gcflags={}' to see them",
                gosleuth_escape::GCFLAGS_CHECKS
            );
        }
    }
    if !report.skipped.is_empty() {
        eprintln!(
            "gosleuth escape: skipped {} line(s) that are not escape or inlining diagnostics, first: {}",
            report.skipped.len(),
            report.skipped[0]
        );
    }
    let diff = match &args.diff {
        Some(old) => {
            let old_bytes = std::fs::read(old)
                .with_context(|| format!("reading the old output {}", old.display()))?;
            let old_text = String::from_utf8_lossy(&old_bytes);
            // Both sides by the compiler's declarations: the old sources are gone.
            let old = gosleuth_escape::parse(&old_text, &old.display().to_string())?;
            let new = gosleuth_escape::parse(&text, &name)?;
            if !old.detailed || !new.detailed {
                eprintln!(
                    "gosleuth escape: -m output names only inlinable functions; escapes are matched to functions more reliably with -gcflags=-m=2 on both sides"
                );
            }
            Some(gosleuth_escape::diff(&old, &new))
        }
        None => None,
    };
    let ranked = match &args.profile {
        Some(p) => {
            let prof = gosleuth_pprof::parse_file(p)
                .with_context(|| format!("reading the heap profile {}", p.display()))?;
            Some(gosleuth_escape::rank(&report, &prof).with_context(|| p.display().to_string())?)
        }
        None => None,
    };
    let out = match args.format {
        Format::Json => render::json(&Document {
            report: &report,
            diff: diff.as_ref(),
            ranked: ranked.as_deref(),
        }),
        Format::Text => {
            let mut s = String::new();
            if let Some(d) = &diff {
                s.push_str(&render::diff_text(d));
            }
            if let Some(r) = &ranked {
                s.push_str(&render::ranked_text(r));
            }
            if diff.is_none() && ranked.is_none() {
                s.push_str(&render::text(&report));
            } else if report.checks {
                s.push('\n');
                s.push_str(&render::checks_text(&report));
            }
            s
        }
    };
    emit(&out)?;
    Ok(ExitCode::SUCCESS)
}

fn read_input(input: &str) -> Result<String> {
    let bytes = if input == "-" {
        let mut b = Vec::new();
        std::io::stdin()
            .read_to_end(&mut b)
            .context("reading standard input")?;
        b
    } else {
        std::fs::read(input).with_context(|| format!("reading {input}"))?
    };
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
