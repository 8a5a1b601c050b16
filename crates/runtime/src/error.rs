//! Errors of the runtime reader.

/// What went wrong while reading Go runtime structures.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The binary could not be read.
    #[error(transparent)]
    Binary(#[from] gosleuth_gobin::Error),
    /// The memory source could not be opened or read.
    #[error(transparent)]
    Memory(#[from] gosleuth_memory::Error),
    /// The process or core is not a Go program this reader understands.
    #[error("{0}")]
    NotGo(String),
    /// Not allowed to read the process.
    #[error(
        "not allowed to read process {pid} ({what}): run gosleuth as the process's user or as \
         root (reading another user's process needs CAP_SYS_PTRACE)"
    )]
    Permission { pid: i32, what: String },
    /// A runtime structure is missing or inconsistent.
    #[error("{what} (reading {context})")]
    Runtime { context: String, what: String },
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn runtime(context: impl Into<String>, what: impl Into<String>) -> Error {
        Error::Runtime {
            context: context.into(),
            what: what.into(),
        }
    }
}
