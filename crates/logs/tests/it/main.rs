//! Integration tests for gosleuth-logs: format detection on lines written
//! in each format's real layout, the factory's real crash evidence wrapped
//! as logs, and hostile input.

mod evidence;
mod formats;
mod robustness;

use std::path::PathBuf;

/// A file under the repository's `fixtures/` or `examples/`.
pub fn repo_file(rel: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
