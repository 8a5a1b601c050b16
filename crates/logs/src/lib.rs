//! Service logs, read for what went wrong.
//!
//! Every line is recognised on its own ([`line`](mod@line)): journald's default,
//! `-o short-iso` and `-o json` output, docker's json-file lines and
//! `docker logs --timestamps`, JSON-lines loggers (zap, logrus, slog),
//! logfmt, klog/glog, Go's `log` package and `LEVEL message` text, mixed
//! freely. Records (a line with a timestamp or level and the indented
//! lines after it) are filtered, masked ([`mask`]) and clustered into
//! templates ([`cluster`]) with counts, first and last times and a
//! histogram; the Go runtime's own output (panics, fatal errors, goroutine
//! dumps, race reports) is handed to [`gosleuth_text`]'s parser, which
//! names the root cause. Large files are read on every core
//! ([`scan_parallel_at`]); memory is bounded by the templates.
//!
//! ```
//! let log = b"2026/11/21 10:00:00 ERROR dial 10.0.0.1: refused\n\
//!             2026/11/21 10:00:01 ERROR dial 10.0.0.2: refused\n\
//!             2026/11/21 10:00:02 INFO ok\n";
//! let report = gosleuth_logs::scan(log, &Default::default());
//! assert_eq!(report.templates[0].template, "dial <*>: refused");
//! assert_eq!(report.templates[0].count, 2);
//! ```

#![forbid(unsafe_code)]

pub mod cluster;
mod error;
pub mod json;
pub mod level;
pub mod line;
pub mod mask;
mod parallel;
mod report;
pub mod runtime;
pub mod scan;
pub mod time;
pub mod timeline;

pub use error::Error;
pub use level::Level;
pub use report::{FormatCount, LevelCount, Report, SCHEMA, Template};
pub use scan::{MAX_LINE, Part, Scanner};

use cluster::ClusterOptions;
use time::{Millis, YearHint};

/// What to read and how.
#[derive(Debug, Clone)]
pub struct Options {
    /// Drop records before this time.
    pub since: Option<Millis>,
    /// Drop records after this time.
    pub until: Option<Millis>,
    /// Drop records below this level (and records without a level).
    pub min_level: Option<Level>,
    /// Keep only records whose line or message matches.
    pub grep: Option<regex::Regex>,
    pub cluster: ClusterOptions,
    /// The year of timestamps that print none.
    pub year: YearHint,
    /// Bins in each template's histogram.
    pub bins: usize,
    /// Record each line's template (memory grows with the input).
    pub assignments: bool,
    /// How the embedded runtime output is parsed.
    pub text: gosleuth_text::Options,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            since: None,
            until: None,
            min_level: None,
            grep: None,
            cluster: ClusterOptions::default(),
            year: YearHint::default(),
            bins: 24,
            assignments: false,
            text: gosleuth_text::Options::default(),
        }
    }
}

impl Options {
    /// Sets [`Options::grep`] from a regular expression.
    pub fn grep(mut self, pattern: &str) -> Result<Options, Error> {
        self.grep = Some(
            regex::Regex::new(pattern).map_err(|source| Error::BadRegex {
                pattern: pattern.to_string(),
                source,
            })?,
        );
        Ok(self)
    }
}

/// Reads a whole log held in memory, on one thread.
pub fn scan(input: &[u8], opts: &Options) -> Report {
    let mut s = Scanner::new(opts);
    s.feed(input);
    finish(s, opts)
}

/// Ends a [`Scanner`] fed by the caller (for streams: stdin, gzip).
pub fn finish(s: Scanner<'_>, opts: &Options) -> Report {
    report(s.finish(), opts)
}

/// Builds the report of a part (or of parts merged with [`merge`]).
pub fn report(part: Part, opts: &Options) -> Report {
    Report::build(part, opts.bins, opts.assignments)
}

/// Appends `b` to `a`, as if `b`'s lines followed `a`'s in one input (for
/// rotated files read as one log).
pub fn merge(a: Part, b: Part) -> Part {
    parallel::merge(a, b)
}

/// Like [`scan_parallel_at`], stopping short of the report so that parts
/// of several inputs can be [`merge`]d.
pub fn scan_part_parallel_at<F>(
    len: u64,
    read_at: &F,
    opts: &Options,
    threads: usize,
) -> Result<Part, Error>
where
    F: Fn(u64, &mut [u8]) -> std::io::Result<usize> + Sync,
{
    parallel::scan_parallel_at(len, read_at, opts, threads).map_err(|source| Error::Io {
        what: String::from("the input"),
        source,
    })
}

/// Reads an input of `len` bytes through `read_at` (like
/// `std::os::unix::fs::FileExt::read_at`) on up to `threads` threads.
pub fn scan_parallel_at<F>(
    len: u64,
    read_at: &F,
    opts: &Options,
    threads: usize,
) -> Result<Report, Error>
where
    F: Fn(u64, &mut [u8]) -> std::io::Result<usize> + Sync,
{
    Ok(report(
        scan_part_parallel_at(len, read_at, opts, threads)?,
        opts,
    ))
}

/// [`scan_parallel_at`] over bytes in memory.
pub fn scan_parallel(input: &[u8], opts: &Options, threads: usize) -> Report {
    let read_at = gosleuth_text::slice_reader(input);
    match scan_parallel_at(input.len() as u64, &read_at, opts, threads) {
        Ok(r) => r,
        // Reading from a slice cannot fail.
        Err(_) => scan(input, opts),
    }
}
