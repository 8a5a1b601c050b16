//! Running `go build -gcflags=-m=2` and keeping what it prints.

use std::path::Path;
use std::process::Command;

use crate::{Error, Result, parse::build_failed};

/// The `-gcflags` value `gosleuth escape` builds with: the escape
/// analysis explanations.
pub const GCFLAGS: &str = "-m=2";

/// The `-gcflags` value of `gosleuth escape --checks`: the explanations
/// and the bounds and nil checks.
pub const GCFLAGS_CHECKS: &str = "-m=2 -d=ssa/check_bce/debug=1 -d=nil=1";

/// The command [`go_build`] runs, as a user would type it.
pub fn command_line(dir: &Path, package: &str) -> String {
    command_line_with(dir, package, GCFLAGS)
}

/// The command [`go_build_with`] runs with `gcflags`, as a user would
/// type it (quoted when it has spaces).
pub fn command_line_with(dir: &Path, package: &str, gcflags: &str) -> String {
    let flag = if gcflags.contains(' ') {
        format!("'-gcflags={gcflags}'")
    } else {
        format!("-gcflags={gcflags}")
    };
    format!(
        "go build {flag} -o /dev/null {package} (in {})",
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
    go_build_with(dir, package, GCFLAGS, env)
}

/// [`go_build_env`] with another `-gcflags` value
/// ([`GCFLAGS_CHECKS`] for the bounds and nil
/// checks too).
pub fn go_build_with(
    dir: &Path,
    package: &str,
    gcflags: &str,
    env: &[(&str, &str)],
) -> Result<String> {
    let command = command_line_with(dir, package, gcflags);
    let out = Command::new("go")
        .arg("build")
        .arg(format!("-gcflags={gcflags}"))
        .args(["-o", "/dev/null", package])
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
