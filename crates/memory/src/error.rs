//! The crate's one error type.

use std::path::PathBuf;

/// Everything that can go wrong reading the memory of a Go process.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file (core, executable, mapped library, output) could not be opened, mapped or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The core file is malformed: a header or note points outside the file or has a bad value.
    #[error(
        "{path}: malformed core at file offset {offset:#x}: {what} (the file is damaged or truncated; recreate it)"
    )]
    Malformed {
        /// The core file.
        path: PathBuf,
        /// Where in the file.
        offset: u64,
        /// What is wrong.
        what: String,
    },
    /// The file is a valid ELF but not a kind this crate reads (not a core, 32-bit, unknown machine).
    #[error("{path}: {what}")]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// What is not supported.
        what: String,
    },
    /// The executable given with the core is not the one the core was taken from.
    #[error(
        "{exe} does not match core {core}: {detail}; pass the exact binary the process ran (same build)"
    )]
    BinaryMismatch {
        /// The core file.
        core: PathBuf,
        /// The executable.
        exe: PathBuf,
        /// What differs.
        detail: String,
    },
    /// The address is in no mapping of the process.
    #[error("address {addr:#x} (+{len} bytes) is not mapped in {source_name}")]
    Unmapped {
        /// First address that could not be read.
        addr: u64,
        /// Length of the read.
        len: usize,
        /// The memory source (core path or `pid N`).
        source_name: String,
    },
    /// The address is mapped but its bytes are not available (not dumped, no read permission, file missing).
    #[error("address {addr:#x} in {source_name} is mapped but unreadable: {why}")]
    Unreadable {
        /// First address that could not be read.
        addr: u64,
        /// The memory source.
        source_name: String,
        /// Why the bytes are not there.
        why: String,
    },
    /// The process does not exist (or exited while being read).
    #[error("process {pid} does not exist or has exited; check the pid with `ps -p {pid}`")]
    NoSuchProcess {
        /// The process id.
        pid: i32,
    },
    /// Permission to read or trace the process was denied.
    #[error(
        "not permitted to {what} process {pid}: {source}; run as the process's user or root, or lower /proc/sys/kernel/yama/ptrace_scope"
    )]
    Permission {
        /// The process id.
        pid: i32,
        /// What was attempted.
        what: &'static str,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// Another process (a debugger, another gosleuth) already traces the process: a process has one tracer at a time.
    #[error(
        "process {pid} is already traced by process {tracer} ({tracer_command}), and a process can have only one tracer: detach that one (quit the debugger) and retry, or read without stopping the process (--no-stop)"
    )]
    Traced {
        /// The process id.
        pid: i32,
        /// The tracing process (`TracerPid` in /proc/PID/status).
        tracer: i32,
        /// Its command name (`/proc/TRACER/comm`; `?` when unreadable).
        tracer_command: String,
    },
    /// A system call on a live process failed.
    #[error("{what} on process {pid} (thread {tid}) failed: {source}")]
    Sys {
        /// The process id.
        pid: i32,
        /// The thread id (equals pid for the process).
        tid: i32,
        /// Which call.
        what: &'static str,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// Stopping every thread took longer than the time budget; the process was resumed.
    #[error(
        "could not stop all {threads} threads of process {pid} within {budget_ms} ms ({stopped} stopped); the process was resumed. Retry, raise the budget, or use --no-stop"
    )]
    FreezeTimeout {
        /// The process id.
        pid: i32,
        /// Threads seen.
        threads: usize,
        /// Threads that did stop.
        stopped: usize,
        /// The budget.
        budget_ms: u64,
    },
    /// A signal (SIGINT/SIGTERM) resumed the frozen process; reads would no longer be consistent.
    #[error(
        "process {pid} was resumed by a signal (SIGINT/SIGTERM) while frozen; its memory is no longer a consistent snapshot: freeze it again"
    )]
    Thawed {
        /// The process id.
        pid: i32,
    },
    /// A read of a running process never gave the same bytes twice in a row.
    #[error(
        "memory at {addr:#x} (+{len} bytes) of process {pid} kept changing over {tries} reads; freeze the process for a consistent read"
    )]
    Torn {
        /// The process id.
        pid: i32,
        /// Start of the read.
        addr: u64,
        /// Length of the read.
        len: usize,
        /// Reads attempted.
        tries: u32,
    },
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
