//! Errors of the sampler.

/// What went wrong while sampling.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading the process (its memory, maps or threads) failed.
    #[error(transparent)]
    Memory(#[from] gosleuth_memory::Error),
    /// Reading its Go runtime (binary, layout) failed.
    #[error(transparent)]
    Runtime(#[from] gosleuth_runtime::Error),
    /// perf events could not be used.
    #[error("process {pid}: {what}")]
    Perf { pid: i32, what: String },
    /// ptrace could not be used.
    #[error("process {pid}: {what}")]
    Ptrace { pid: i32, what: String },
    /// The profile could not be built.
    #[error(transparent)]
    Profile(#[from] gosleuth_pprof::Error),
}

/// The sampler's result type.
pub type Result<T> = std::result::Result<T, Error>;
