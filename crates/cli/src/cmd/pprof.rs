//! `gosleuth pprof`: read, report and compare pprof profiles.

use std::process::ExitCode;

use clap::Args;

#[derive(Debug, Args)]
pub struct PprofArgs {
    /// Flags in go tool pprof's spelling (`-top`, `-diff_base=FILE`, ...) and the profile.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

pub fn run(args: PprofArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("pprof reports are being built: {:?}", args.args)
}
