//! `gosleuth fetch URL`: download a profile from a net/http/pprof endpoint
//! (custom prefixes work: any path), checking that it decodes before
//! saving it.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

#[derive(Debug, Args)]
pub struct FetchArgs {
    /// Profile URL, e.g. localhost:6060/debug/pprof/heap or
    /// http://host:8080/user/pprof/profile (`http://` is optional).
    pub url: String,
    /// Profile duration for CPU/trace endpoints (sets `?seconds=`).
    #[arg(long)]
    pub seconds: Option<i64>,
    /// Timeout in seconds (default: 1.5x the duration, else 60).
    #[arg(long)]
    pub timeout: Option<i64>,
    /// Where to save the profile (default: stdout).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

pub fn run(args: FetchArgs) -> anyhow::Result<ExitCode> {
    let (url, body) = gosleuth_pprof::fetch::fetch_profile(
        &args.url,
        args.seconds.unwrap_or(-1),
        args.timeout.unwrap_or(-1),
    )?;
    let prof = gosleuth_pprof::parse(&body)
        .with_context(|| format!("{url} did not return a pprof profile"))?;
    let kinds: Vec<&str> = prof.sample_types.iter().map(|t| t.ty.as_str()).collect();
    eprintln!(
        "fetched {url}: {} bytes, {} samples of [{}]",
        body.len(),
        prof.samples.len(),
        kinds.join(" ")
    );
    match args.output {
        Some(path) => {
            std::fs::write(&path, &body).with_context(|| format!("writing {}", path.display()))?
        }
        None => {
            let mut out = std::io::stdout().lock();
            if let Err(e) = out.write_all(&body).and_then(|_| out.flush())
                && e.kind() != std::io::ErrorKind::BrokenPipe
            {
                return Err(e).context("writing the profile to stdout");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
