//! The library's errors.

/// What can go wrong reading a log.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading the input failed (a file, a pipe, a gzip stream).
    #[error("reading {what}")]
    Io {
        /// What was being read.
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// A `--since`/`--until` value that is neither RFC 3339 nor a relative
    /// duration such as `90s`, `15m`, `1h`, `2d`.
    #[error(
        "bad time {value:?}: use RFC 3339 (2026-11-21T10:00:00Z) or a duration ago (15m, 1h, 2d)"
    )]
    BadTime {
        /// The value as given.
        value: String,
    },
    /// A `--grep` pattern that is not a valid regular expression.
    #[error("bad regular expression {pattern:?}")]
    BadRegex {
        /// The pattern as given.
        pattern: String,
        #[source]
        source: regex::Error,
    },
    /// A level name that is not one of trace, debug, info, warn, error,
    /// fatal, panic.
    #[error("bad level {value:?}: use trace, debug, info, warn, error, fatal or panic")]
    BadLevel {
        /// The value as given.
        value: String,
    },
}
