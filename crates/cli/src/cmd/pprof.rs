//! `gosleuth pprof`: read, report and compare pprof profiles.
//!
//! Flags follow `go tool pprof`'s single-dash spelling (`-top`,
//! `-diff_base=FILE`, `-sample_index=alloc_space`); `--flag` and
//! `-flag value` work too. Parsing and reporting live in the
//! `gosleuth-pprof` library, URL sources are fetched by `gosleuth-fetch`;
//! this is only the terminal glue.

use std::io::Write;
use std::process::ExitCode;

use clap::Args;

/// `-h`, `-help` and `--help` all reach the driver, which prints the flags
/// (clap's own help would list only the catch-all argument); `gosleuth
/// help pprof` shows them too.
#[derive(Debug, Args)]
#[command(
    disable_help_flag = true,
    after_help = gosleuth_pprof::driver::USAGE
)]
pub struct PprofArgs {
    /// Flags in go tool pprof's spelling (`-top`, `-diff_base=FILE`, ...) and the profile.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

pub fn run(args: PprofArgs) -> anyhow::Result<ExitCode> {
    // A bar on stderr (terminals only) while a URL source is downloaded.
    let mut bar = crate::progress::Bar::new("fetching profile");
    let mut fetch = |src: &str, seconds, timeout| {
        let (url, t) = gosleuth_fetch::adjust_url(src, seconds, timeout)?;
        Some(
            gosleuth_fetch::get_with_progress(&url, t, &mut |p| bar.update(p))
                .map(|body| (url, body))
                .map_err(Into::into),
        )
    };
    let outcome = match gosleuth_pprof::driver::parse_args(&args.args)
        .and_then(|inv| gosleuth_pprof::driver::run_invocation_with_fetch(&inv, &mut fetch))
    {
        Ok(o) => o,
        Err(e @ gosleuth_pprof::Error::NoMatches(_)) => {
            eprintln!("gosleuth pprof: {e}");
            return Ok(ExitCode::from(1));
        }
        Err(e) => return Err(anyhow::Error::new(e).context("pprof")),
    };
    for w in &outcome.warnings {
        eprintln!("{w}");
    }
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(&outcome.report).and_then(|_| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            return Ok(ExitCode::SUCCESS);
        }
        return Err(anyhow::Error::new(e).context("writing the report to stdout"));
    }
    Ok(ExitCode::SUCCESS)
}
