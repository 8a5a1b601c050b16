//! `gosleuth fetch URL`: download a profile, trace or dump from a
//! net/http/pprof endpoint (custom prefixes work: any path) with the
//! `gosleuth-fetch` crate, checking that a profile decodes before saving
//! it.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

#[derive(Debug, Args)]
pub struct FetchArgs {
    /// Profile URL, e.g. localhost:6060/debug/pprof/heap,
    /// http://host:8080/user/pprof/profile (`http://` is optional),
    /// https://host/debug/pprof/heap (trusted roots as Go reads them,
    /// SSL_CERT_FILE included) or https+insecure://host/... (no
    /// certificate check).
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
    // A bar on stderr (terminals only) during long captures.
    let mut bar = crate::progress::Bar::new("fetching");
    let (url, body) = gosleuth_fetch::fetch_url_with_progress(
        &args.url,
        args.seconds.unwrap_or(-1),
        args.timeout.unwrap_or(-1),
        &mut |p| bar.update(p),
    )?;
    // Endpoints answer a profile.proto, or text (`?debug=1|2`), or an
    // execution trace (`/trace`).
    let what = if body.starts_with(b"go 1.") {
        "an execution trace".to_string()
    } else if body.starts_with(&[0x1f, 0x8b]) || !looks_like_text(&body) {
        let prof = gosleuth_pprof::parse(&body)
            .with_context(|| format!("{url} did not return a pprof profile"))?;
        let kinds: Vec<&str> = prof.sample_types.iter().map(|t| t.ty.as_str()).collect();
        format!("{} samples of [{}]", prof.samples.len(), kinds.join(" "))
    } else {
        "text".to_string()
    };
    eprintln!("fetched {url}: {} bytes, {what}", body.len());
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

/// Text answers (`?debug=1`, `?debug=2`, `/cmdline`) are UTF-8 with
/// newlines; a protobuf almost never is.
fn looks_like_text(body: &[u8]) -> bool {
    let head = &body[..body.len().min(4096)];
    !head.is_empty()
        && head.contains(&b'\n')
        && std::str::from_utf8(head).is_ok_and(|s| !s.contains('\0'))
}
