//! Opening evidence by URL: profiles, traces and goroutine dumps from
//! `net/http/pprof` endpoints (custom prefixes too).
//!
//! The URL rules are `go tool pprof`'s ([`adjust_url`]: `http://` is
//! optional, `seconds=N` sets the timeout). The transport is `ureq` on
//! rustls (ring): `http://`, `https://` with the system's trusted roots
//! read the way Go reads them ([`system_roots`]: `SSL_CERT_FILE` and
//! `SSL_CERT_DIR` included) and pprof's `https+insecure://` (no
//! certificate verification). Redirects, proxies and compression are not
//! used, one deadline bounds the whole exchange, and bodies are capped at
//! 4 GiB.
//!
//! Nothing is printed: long downloads report their progress through a
//! callback ([`Progress`]) so the caller can draw a bar.
//!
//! ```no_run
//! let (url, body) = gosleuth_fetch::fetch_url("localhost:6060/debug/pprof/heap", -1, -1)?;
//! println!("{url}: {} bytes", body.len());
//! # Ok::<(), gosleuth_fetch::Error>(())
//! ```

#![forbid(unsafe_code)]

mod get;
mod roots;
mod url;

use std::time::Duration;

pub use get::{get, get_with_progress};
pub use roots::system_roots;
pub use url::{adjust_url, url_seconds};

/// A fetch that failed: the URL, and what went wrong in words that say
/// what to do about it (a refused certificate, a server that speaks
/// HTTPS, a wrong path prefix, a timeout).
#[derive(Debug, thiserror::Error)]
#[error("fetching {url}: {what}")]
pub struct Error {
    /// The URL (or the source that is not one).
    pub url: String,
    /// What went wrong.
    pub what: String,
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How a download is going, reported a few times a second.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// Since the request was sent.
    pub elapsed: Duration,
    /// How long the server said it would take (`seconds=N`), if known.
    pub expected: Option<Duration>,
    /// Body bytes received so far.
    pub bytes: u64,
    /// True on the last report (the answer is complete or failed).
    pub done: bool,
}

/// Fetches `src` (a URL, `http://` optional) the way `go tool pprof`
/// does: `seconds` (if > 0) is put in the query and the timeout
/// (`timeout` seconds if > 0) defaults to 1.5x the profile duration, else
/// 60s. Returns the final URL and the raw body (a gzipped profile.proto,
/// text, an execution trace: whatever the endpoint serves).
pub fn fetch_url(src: &str, seconds: i64, timeout: i64) -> Result<(String, Vec<u8>)> {
    fetch_url_with_progress(src, seconds, timeout, &mut |_| {})
}

/// [`fetch_url`] with progress reports.
pub fn fetch_url_with_progress(
    src: &str,
    seconds: i64,
    timeout: i64,
    progress: &mut dyn FnMut(&Progress),
) -> Result<(String, Vec<u8>)> {
    let (url, t) = adjust_url(src, seconds, timeout).ok_or_else(|| Error {
        url: src.to_string(),
        what: "not a URL; expected host:port/path or http(s)://host:port/path".into(),
    })?;
    let body = get_with_progress(&url, t, progress)?;
    Ok((url, body))
}
