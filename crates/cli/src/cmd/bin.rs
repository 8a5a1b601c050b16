//! `gosleuth bin`: read a Go binary.

use std::process::ExitCode;

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum BinCommand {}

pub fn run(command: BinCommand) -> anyhow::Result<ExitCode> {
    match command {}
}
