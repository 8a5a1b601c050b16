//! `gosleuth logs`: find what went wrong in service logs.

use std::process::ExitCode;

use clap::Args;

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Files, globs, or - for standard input (the default).
    pub inputs: Vec<String>,
}

pub fn run(args: LogsArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("gosleuth logs is being built: {:?}", args.inputs)
}
