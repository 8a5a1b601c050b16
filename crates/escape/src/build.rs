//! Running `go build -gcflags=-m=2` and keeping what it prints.

use std::path::Path;
use std::process::Command;

use crate::{Error, Result, parse::build_failed};

/// The command [`go_build`] runs, as a user would type it.
pub fn command_line(dir: &Path, package: &str) -> String {
    format!(
        "go build -gcflags=-m=2 -o /dev/null {package} (in {})",
        dir.display()
    )
}

/// Runs `go build -gcflags=-m=2 -o /dev/null PACKAGE` in `dir` (the
/// `go` on PATH; the environment passes through, so `GOTOOLCHAIN`,
/// `GOFLAGS` and `GOOS` apply) and returns its stderr, where the compiler
/// prints the diagnostics. A build that fails is [`Error::BuildFailed`]
/// with the compiler's own lines.
pub fn go_build(dir: &Path, package: &str) -> Result<String> {
    go_build_env(dir, package, &[])
}

/// [`go_build`] with more environment variables (`GOTOOLCHAIN=go1.21.13`).
pub fn go_build_env(dir: &Path, package: &str, env: &[(&str, &str)]) -> Result<String> {
    let command = command_line(dir, package);
    let out = Command::new("go")
        .args(["build", "-gcflags=-m=2", "-o", "/dev/null", package])
        .envs(env.iter().copied())
        .current_dir(dir)
        .output()
        .map_err(|source| Error::RunGo {
            command: command.clone(),
            source,
        })?;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if !out.status.success() {
        return Err(build_failed(
            &stderr,
            &command,
            Some(out.status.to_string()),
        ));
    }
    Ok(stderr)
}
