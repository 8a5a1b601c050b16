//! `go list -e -deps -json`: running it and reading its stream of JSON
//! objects.

use std::path::Path;
use std::process::Command;

use serde::Deserialize;

use crate::Error;

/// One package as the go command describes it (the fields we use).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Package {
    pub import_path: String,
    #[serde(default)]
    pub name: String,
    /// In the standard library.
    #[serde(default)]
    pub standard: bool,
    /// Only a dependency of the named packages (not named itself).
    #[serde(default)]
    pub dep_only: bool,
    /// The package a test variant was built for (`-test` output).
    #[serde(default)]
    pub for_test: String,
    #[serde(default)]
    pub cgo_files: Vec<String>,
    #[serde(default)]
    pub imports: Vec<String>,
    #[serde(default)]
    pub test_imports: Vec<String>,
    #[serde(default, rename = "XTestImports")]
    pub xtest_imports: Vec<String>,
    /// Its own error (a missing package, a cycle).
    #[serde(default)]
    pub error: Option<PackageError>,
    /// Errors of its dependencies.
    #[serde(default)]
    pub deps_errors: Vec<PackageError>,
}

/// An error the go command reports for a package.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PackageError {
    #[serde(default)]
    pub import_stack: Vec<String>,
    #[serde(default)]
    pub pos: String,
    #[serde(default)]
    pub err: String,
}

impl Package {
    /// A test variant (`p [p.test]`), a test main (`p.test`) or an
    /// external test package: not a node of the graph.
    pub fn is_test_variant(&self) -> bool {
        self.import_path.contains(' ')
            || !self.for_test.is_empty()
            || self.import_path.ends_with(".test")
    }

    /// Vendored (`.../vendor/...`).
    pub fn is_vendored(&self) -> bool {
        self.import_path.contains("/vendor/") || self.import_path.starts_with("vendor/")
    }
}

/// Reads the stream `go list -json` prints (one object after another).
pub fn parse(text: &str) -> Result<Vec<Package>, Error> {
    let mut out = Vec::new();
    for p in serde_json::Deserializer::from_str(text).into_iter::<Package>() {
        let p = p.map_err(|e| Error::Json(e.to_string()))?;
        if p.import_path.is_empty() {
            return Err(Error::Json("an object without ImportPath".into()));
        }
        out.push(p);
    }
    Ok(out)
}

/// Runs `go list -e -deps -json [-test] PATTERNS...` in `dir`. Errors in
/// packages come back in their `Error` fields (`-e`); a failure of the
/// command itself (no go.mod, a bad pattern) is an error with its message.
pub fn go_list(dir: &Path, patterns: &[String], tests: bool) -> Result<Vec<Package>, Error> {
    go_list_with(dir, patterns, tests, &[])
}

/// [`go_list`] with more environment for the go command (`GOTOOLCHAIN`,
/// `GOFLAGS=-tags=...`).
pub fn go_list_with(
    dir: &Path,
    patterns: &[String],
    tests: bool,
    env: &[(&str, &str)],
) -> Result<Vec<Package>, Error> {
    if !dir.is_dir() {
        return Err(Error::NoDir(dir.display().to_string()));
    }
    let mut args = vec![
        "list".to_string(),
        "-e".into(),
        "-deps".into(),
        "-json".into(),
    ];
    if tests {
        args.push("-test".into());
    }
    args.extend(patterns.iter().cloned());
    let out = Command::new("go")
        .args(&args)
        .current_dir(dir)
        // Cgo packages are listed with their cgo files even without a C
        // compiler.
        .env("CGO_ENABLED", "1")
        .envs(env.iter().copied())
        .output()
        .map_err(|source| Error::Spawn {
            dir: dir.display().to_string(),
            source,
        })?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() && stdout.trim().is_empty() {
        return Err(Error::GoList {
            dir: dir.display().to_string(),
            args: args[1..].join(" "),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    parse(&stdout)
}
