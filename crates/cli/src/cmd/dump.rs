//! `gosleuth dump`: write an ELF core file of a live process.
//!
//! The process is frozen (every thread stopped with ptrace, within
//! `--budget-ms`), its readable memory and registers are written, and it is
//! resumed, also when writing fails or on Ctrl-C (a core interrupted by
//! Ctrl-C is left incomplete). The core opens in gdb, dlv
//! (`dlv core BIN CORE`) and `gosleuth`. Exit status: 0 written, 2 error.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use gosleuth_memory::{LiveProcess, Mode, write_core};

use crate::progress::{BytesBar, mib};

#[derive(Debug, Args)]
pub struct DumpArgs {
    /// The process to dump.
    pub pid: u32,

    /// The core file to write (default: core.PID in the current directory).
    #[arg(short, long)]
    pub output: Option<PathBuf>,

    /// Longest time to spend stopping the threads, in milliseconds; the
    /// process is resumed and the dump fails if they do not all stop.
    #[arg(long, default_value_t = 100)]
    pub budget_ms: u64,

    /// No progress or summary on stderr.
    #[arg(short, long)]
    pub quiet: bool,
}

pub fn run(args: DumpArgs) -> Result<ExitCode> {
    let pid = i32::try_from(args.pid).context("pid out of range")?;
    let out = args
        .output
        .unwrap_or_else(|| PathBuf::from(format!("core.{pid}")));
    // Before the process is stopped: a path that cannot be written.
    if out.is_dir() {
        bail!(
            "{} is a directory; -o names the core file to write (for example {})",
            out.display(),
            out.join(format!("core.{pid}")).display()
        );
    }
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        if !parent.is_dir() {
            bail!(
                "cannot write {}: directory {} does not exist",
                out.display(),
                parent.display()
            );
        }
    }
    let budget = Duration::from_millis(args.budget_ms);
    let live = match LiveProcess::attach(pid, Mode::Freeze { budget }) {
        Ok(live) => live,
        // A core needs the process stopped, so --no-stop is no way out
        // here: the tracer can write the core itself.
        Err(gosleuth_memory::Error::Traced {
            tracer,
            tracer_command,
            ..
        }) => bail!(
            "cannot freeze process {pid}: it is already traced by process {tracer} \
             ({tracer_command}), and a process can have only one tracer; detach that one \
             (quit the debugger) and retry, or write the core from it (gdb: generate-core-file, \
             dlv: dump FILE)"
        ),
        Err(e) => return Err(e).with_context(|| format!("cannot freeze process {pid}")),
    };
    let threads = live.tids().map(|t| t.len()).unwrap_or(0);
    if !args.quiet {
        eprintln!(
            "gosleuth: froze {threads} threads of process {pid} in {:.1} ms (budget {} ms)",
            live.freeze_duration().unwrap_or_default().as_secs_f64() * 1e3,
            args.budget_ms
        );
    }
    // A bar on stderr (terminals only) while memory is copied.
    let mut bar = BytesBar::new(args.quiet);
    let result = write_core(&live, &out, &mut |done, total| bar.update(done, total));
    let frozen_for = live.freeze_duration();
    drop(live); // resumes the process before anything else
    bar.finish();
    if result.is_err() {
        // Do not leave half a core behind.
        let _ = std::fs::remove_file(&out);
    }
    let summary = result
        .with_context(|| format!("cannot write a core of process {pid} to {}", out.display()))?;
    if !args.quiet {
        for s in &summary.skipped {
            eprintln!("gosleuth: left out {s}");
        }
        eprintln!(
            "gosleuth: wrote {}: {} threads, {} segments, {} of memory ({} apparent, sparse), process stopped for {:.0} ms (freeze {:.1} ms); open it with `dlv core BIN {}` or `gdb BIN {}`",
            out.display(),
            summary.threads,
            summary.segments,
            mib(summary.bytes_dumped),
            mib(summary.file_size),
            (summary.took + frozen_for.unwrap_or_default()).as_secs_f64() * 1e3,
            frozen_for.unwrap_or_default().as_secs_f64() * 1e3,
            out.display(),
            out.display(),
        );
    }
    Ok(ExitCode::SUCCESS)
}
