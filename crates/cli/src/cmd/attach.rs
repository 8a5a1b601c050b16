//! `gosleuth attach PID`: the goroutines of a running process, read while
//! it is frozen for a bounded time (or without stopping it).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;

use super::core::{DlvArgs, serve_dlv};
use super::goroutines::{ViewArgs, show};

#[derive(Debug, Args)]
pub struct AttachArgs {
    /// The process.
    pub pid: u32,
    /// The executable, when /proc/PID/exe is not the binary with symbols
    /// (for example a stripped binary deployed, its unstripped twin here).
    #[arg(long)]
    pub binary: Option<PathBuf>,
    /// Read without stopping the process; torn reads are retried.
    #[arg(long)]
    pub no_stop: bool,
    /// Longest time to spend stopping the threads, in milliseconds.
    #[arg(long, default_value_t = 100)]
    pub budget_ms: u64,
    #[command(flatten)]
    pub view: ViewArgs,
    #[command(flatten)]
    pub dlv: DlvArgs,
}

pub fn run(args: AttachArgs) -> Result<ExitCode> {
    let (pid, mode) = super::live::target(
        args.pid,
        args.binary.as_deref(),
        args.no_stop,
        args.budget_ms,
    )?;
    let c = gosleuth_runtime::capture_live(pid, mode, args.binary.as_deref(), &Default::default())
        .with_context(|| format!("cannot read goroutines of process {pid}"))?;
    let stopped = match c.frozen_for() {
        Some(d) => format!("stopped for {:.1} ms", d.as_secs_f64() * 1e3),
        None => "not stopped".to_string(),
    };
    let header = format!(
        "process {pid}: {} goroutines, {} threads, {} ({stopped})",
        c.goroutines().len(),
        c.target().threads().len(),
        c.target().go_version(),
    );
    if args.dlv.wanted() {
        // Answers come from the moment the process was read; it runs on.
        let info = gosleuth_dlvrpc::TargetInfo {
            pid: i64::from(pid),
            command_line: std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|b| {
                    String::from_utf8_lossy(&b)
                        .trim_end_matches('\0')
                        .replace('\0', " ")
                })
                .unwrap_or_default(),
            backend: "native".into(),
            binary: args
                .binary
                .clone()
                .unwrap_or_else(|| PathBuf::from(format!("/proc/{pid}/exe"))),
            build_id: String::new(),
        };
        return serve_dlv(c, info, &args.dlv, &header);
    }
    show(&c, &header, &args.view)?;
    Ok(ExitCode::SUCCESS)
}
