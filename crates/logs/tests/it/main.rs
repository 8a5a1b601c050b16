//! Integration tests for gosleuth-logs: format detection on lines written
//! in each format's real layout, the factory's real crash evidence wrapped
//! as logs, and hostile input.

mod evidence;
mod formats;
mod robustness;

use std::path::PathBuf;

/// A path under the repository root.
pub fn repo_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

/// A file under the repository's `fixtures/` or `examples/`.
pub fn repo_file(rel: &str) -> Vec<u8> {
    let path = repo_path(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
