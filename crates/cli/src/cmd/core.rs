//! `gosleuth core BIN CORE`: the goroutines of a core file.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;

use super::goroutines::{ViewArgs, show};

#[derive(Debug, Args)]
pub struct CoreArgs {
    /// The executable the core was taken from (with or without DWARF).
    pub binary: PathBuf,
    /// The core file (`GOTRACEBACK=crash`, `gcore`, `gosleuth dump`).
    pub core: PathBuf,
    #[command(flatten)]
    pub view: ViewArgs,
}

pub fn run(args: CoreArgs) -> Result<ExitCode> {
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
        c.goroutines.len(),
        c.target.threads.len(),
        c.target.go_version,
        match c.target.layout_source {
            gosleuth_runtime::LayoutSource::Dwarf => "DWARF",
            gosleuth_runtime::LayoutSource::Table => "the built-in table",
        },
        t0.elapsed().as_secs_f64() * 1e3
    );
    show(&c, &header, &args.view)?;
    Ok(ExitCode::SUCCESS)
}
