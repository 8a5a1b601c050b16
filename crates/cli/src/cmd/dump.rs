//! `gosleuth dump`: write an ELF core file of a live process.

use std::process::ExitCode;

use clap::Args;

#[derive(Debug, Args)]
pub struct DumpArgs {
    /// The process to dump.
    pub pid: u32,
}

pub fn run(args: DumpArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("gosleuth dump is being built: {}", args.pid)
}
