//! What the commands that read a running process (`attach`, `diagnose
//! --pid`) take from their flags: the pid, a checked `--binary`, and how
//! the process is read (`--no-stop`, `--budget-ms`).

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use gosleuth_memory::Mode;

/// The pid as the kernel takes it and the read mode; an unusable
/// `--binary` is refused before the process is touched.
pub fn target(
    pid: u32,
    binary: Option<&Path>,
    no_stop: bool,
    budget_ms: u64,
) -> Result<(i32, Mode)> {
    let pid = i32::try_from(pid).context("pid out of range")?;
    if let Some(bin) = binary {
        let kind = gosleuth_evidence::kind::classify(bin)
            .with_context(|| format!("cannot read {}", bin.display()))?;
        gosleuth_evidence::kind::check_executable(
            bin,
            kind,
            "the Go executable the process runs (--binary)",
        )?;
    }
    let mode = if no_stop {
        Mode::NoStop
    } else {
        Mode::Freeze {
            budget: Duration::from_millis(budget_ms),
        }
    };
    Ok((pid, mode))
}
