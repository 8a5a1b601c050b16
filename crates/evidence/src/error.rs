//! What can go wrong while opening evidence. Each error says what and
//! where; a wrong argument says what to run instead.

use std::io;
use std::path::PathBuf;

/// An error opening or reading evidence.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be opened, inspected or read.
    #[error("{what} {}", path.display())]
    Io {
        /// `cannot open`, `cannot stat`, `cannot read`.
        what: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// An argument names the wrong kind of evidence; the message says
    /// what was expected and what to run instead.
    #[error("{0}")]
    Argument(String),
    /// An input broke off after it was opened (a truncated gzip file, a
    /// read error), after the bytes before it were delivered.
    #[error("{context}")]
    Broken {
        context: String,
        #[source]
        source: io::Error,
    },
    /// A glob pattern that does not parse.
    #[error("bad glob pattern {pattern:?}")]
    Glob {
        pattern: String,
        #[source]
        source: glob::PatternError,
    },
}

impl Error {
    pub(crate) fn io(what: &'static str, path: &std::path::Path, source: io::Error) -> Error {
        Error::Io {
            what,
            path: path.to_path_buf(),
            source,
        }
    }
}
