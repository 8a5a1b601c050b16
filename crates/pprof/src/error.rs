//! The one error type of this crate.

use std::path::PathBuf;

/// Everything that can go wrong while reading, checking, combining or
/// reporting on a profile. Messages say what happened, where (byte offset,
/// id, file) and, where it helps, what to do next. Variants that wrap a
/// cause name only the place in their message; print the whole chain
/// (`{:#}` with anyhow) to see the cause.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input was empty.
    #[error(
        "empty input: a profile needs at least one byte; check that the file was fully written"
    )]
    Empty,
    /// A gzip stream could not be decompressed (truncated or corrupt).
    #[error(
        "decompressing profile: {0}; the gzip stream is truncated or corrupt, re-fetch the profile"
    )]
    Gzip(String),
    /// The profile (after gunzip) is larger than the configured limit.
    #[error(
        "the profile is larger than the limit of {} decompressed; stopped reading there. A real profile this large needs a higher limit (gosleuth pprof --max-decompressed SIZE, e.g. 4GiB); a gzip bomb or a damaged file does not",
        crate::driver::format_size(*limit)
    )]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// The strings the profile refers to, one copy per reference, add up
    /// to more than the limit (one long string referred to many times).
    #[error(
        "the profile's strings, one copy per reference, add up to more than the limit of {}; stopped decoding. A real profile this large needs a higher limit (gosleuth pprof --max-decompressed SIZE); a crafted one does not",
        crate::driver::format_size(*limit)
    )]
    StringsTooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// The protobuf wire format is malformed at a byte offset.
    #[error("malformed profile.proto at byte {offset}: {what}")]
    Proto {
        /// Offset into the (decompressed) message.
        offset: usize,
        /// What was wrong.
        what: &'static str,
    },
    /// Two `time_nanos` fields: several profiles were concatenated.
    #[error(
        "concatenated profiles detected (second time_nanos at byte {offset}); save each profile to its own file"
    )]
    Concatenated {
        /// Offset of the second `time_nanos` field.
        offset: usize,
    },
    /// A string index points past the string table.
    #[error("{field} refers to string {index}, but the string table has {len} entries")]
    BadString {
        /// The field that held the index.
        field: &'static str,
        /// The index.
        index: i64,
        /// Length of the string table.
        len: usize,
    },
    /// A reference to a mapping, location or function id that does not exist.
    #[error("{what} refers to {kind} id {id}, which the profile does not define")]
    DanglingId {
        /// Who holds the reference.
        what: String,
        /// mapping, location or function.
        kind: &'static str,
        /// The missing id.
        id: u64,
    },
    /// Two entries share an id, or an entry uses the reserved id 0.
    #[error("{kind} id {id} is {problem}")]
    BadId {
        /// mapping, location or function.
        kind: &'static str,
        /// The id.
        id: u64,
        /// "used twice" or "reserved (0)".
        problem: &'static str,
    },
    /// The profile is structurally inconsistent (value counts, sample types).
    #[error("malformed profile: {0}")]
    Invalid(String),
    /// A legacy text profile could not be parsed.
    #[error("legacy text profile, line {line}: {what}")]
    Legacy {
        /// 1-based line number.
        line: usize,
        /// What was wrong.
        what: String,
    },
    /// The input is neither profile.proto nor a known legacy text format.
    #[error(
        "unrecognized profile format: not profile.proto (gzipped or not) nor a legacy text profile"
    )]
    Unrecognized,
    /// Profiles cannot be combined (different sample or period types).
    #[error("incompatible profiles: {0}")]
    Incompatible(String),
    /// A command-line option or report option is wrong.
    #[error("{0}")]
    Usage(String),
    /// A regular expression option did not compile.
    #[error("parsing {option} regexp")]
    Regex {
        /// The option name (focus, ignore, ...).
        option: String,
        /// The regex error.
        #[source]
        source: regex::Error,
    },
    /// `-peek`/`-list` matched nothing.
    #[error("no matches found for regexp: {0}")]
    NoMatches(String),
    /// Reading or writing a file failed.
    #[error("{}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Something went wrong with one named source (file or URL).
    #[error("{source_name}")]
    Source {
        /// The file or URL.
        source_name: String,
        /// What went wrong.
        #[source]
        source: Box<Error>,
    },
    /// Fetching a URL source failed (the fetcher's error, which names the
    /// URL: see [`crate::driver::FetchFn`]).
    #[error(transparent)]
    Fetch(Box<dyn std::error::Error + Send + Sync>),
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
