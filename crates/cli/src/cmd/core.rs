//! `gosleuth core BIN CORE`: the goroutines of a core file, listed, or
//! explored with dlv's commands (`-i`) or Delve's JSON-RPC (`--headless`).

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use gosleuth_dlvrpc::{Repl, Server, ServerOptions, Session, TargetInfo};
use gosleuth_runtime::Capture;

use super::goroutines::{ViewArgs, show};

/// Delve's interface to what was read (shared by `core` and `attach`).
#[derive(Debug, Args)]
pub struct DlvArgs {
    /// Explore with dlv's commands: goroutines, goroutine N, stack, frame N,
    /// up, down, print, locals, args, regs, list, help.
    #[arg(short = 'i', long)]
    pub interactive: bool,

    /// Serve Delve's JSON-RPC API v2 (for `dlv connect ADDR`, editors, and
    /// nc/jq scripts) until interrupted, instead of printing.
    #[arg(long, conflicts_with = "interactive")]
    pub headless: bool,

    /// Address to serve on with --headless (port 0 picks a free one; the
    /// address is printed as `API server listening at: ADDR`).
    #[arg(
        long,
        value_name = "ADDR",
        default_value = "127.0.0.1:0",
        requires = "headless"
    )]
    pub listen: String,

    /// Allow a --listen address that is not loopback (anyone who can reach
    /// it can read the process's memory).
    #[arg(long, requires = "headless")]
    pub accept_remote: bool,
}

impl DlvArgs {
    /// True when Delve's interface replaces the listing.
    pub fn wanted(&self) -> bool {
        self.interactive || self.headless
    }
}

/// Runs the REPL or the headless server over a capture.
pub fn serve_dlv(c: Capture, info: TargetInfo, dlv: &DlvArgs, header: &str) -> Result<ExitCode> {
    for w in c.target().warnings() {
        eprintln!("warning: {w}");
    }
    let session = Session::new(c, info);
    if dlv.headless {
        let server = Server::bind(
            &dlv.listen,
            ServerOptions {
                accept_remote: dlv.accept_remote,
                ..ServerOptions::default()
            },
        )?;
        eprintln!("{header}");
        // Delve's own line, which scripts wait for.
        let mut out = std::io::stdout().lock();
        writeln!(out, "API server listening at: {}", server.local_addr())?;
        out.flush()?;
        drop(out);
        server.serve(&session)?;
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!("{header}");
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    Repl::new(&session).run(&mut out, &mut std::io::stderr())?;
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Args)]
pub struct CoreArgs {
    /// The executable the core was taken from (with or without DWARF).
    pub binary: PathBuf,
    /// The core file (`GOTRACEBACK=crash`, `gcore`, `gosleuth dump`).
    pub core: PathBuf,
    #[command(flatten)]
    pub view: ViewArgs,
    #[command(flatten)]
    pub dlv: DlvArgs,
}

pub fn run(args: CoreArgs) -> Result<ExitCode> {
    gosleuth_evidence::kind::check_binary_and_core(
        "gosleuth core BIN CORE",
        &args.binary,
        &args.core,
    )?;
    let t0 = Instant::now();
    let c = gosleuth_runtime::capture_core(&args.binary, &args.core, &Default::default())
        .with_context(|| {
            format!(
                "cannot read goroutines from {} with {}",
                args.core.display(),
                args.binary.display()
            )
        })?;
    let header = format!(
        "core {}: {} goroutines, {} threads, {} (layouts from {}), read in {:.0} ms",
        args.core.display(),
        c.goroutines().len(),
        c.target().threads().len(),
        c.target().go_version(),
        match c.target().layout_source() {
            gosleuth_runtime::LayoutSource::Dwarf => "DWARF",
            gosleuth_runtime::LayoutSource::Table => "the built-in table",
        },
        t0.elapsed().as_secs_f64() * 1e3
    );
    if args.dlv.wanted() {
        let process = c.target().mem().process().cloned().unwrap_or_default();
        let info = TargetInfo {
            pid: i64::from(process.pid),
            command_line: process.args,
            backend: "core".into(),
            binary: args.binary.clone(),
            build_id: c.target().mem().build_id().unwrap_or_default().to_string(),
        };
        return serve_dlv(c, info, &args.dlv, &header);
    }
    show(&c, &header, &args.view)?;
    // The process ends here: freeing a million goroutines' stacks one by
    // one would take a tenth of a second for nothing (a core's mapping
    // holds no resource the kernel does not reclaim at exit).
    std::mem::forget(c);
    Ok(ExitCode::SUCCESS)
}
