//! What can go wrong reading a trace, with where and what to do.

/// A trace that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("not a Go execution trace (it does not start with `go 1.N trace`)")]
    NotATrace,
    #[error(
        "a trace written by Go 1.{version}, in the format before Go 1.22, which gosleuth does not \
         read; `go tool trace` of Go 1.21 reads it, or trace the program with Go 1.22 or later"
    )]
    OldFormat { version: u32 },
    #[error(
        "a trace in the format of Go 1.{version}, newer than gosleuth knows (Go 1.22 to 1.26); \
         `go tool trace` of that release reads it"
    )]
    NewerFormat { version: u32 },
    #[error(
        "offset {offset}: event type {typ} is not defined in the trace format of Go 1.{version}"
    )]
    BadEvent { offset: u64, typ: u8, version: u32 },
    #[error(
        "the trace ends inside a {event} event at offset {offset}: truncated (a process killed \
         mid-trace, a copy cut short)"
    )]
    Truncated { offset: u64, event: &'static str },
    #[error("offset {offset}: a varint longer than 64 bits")]
    BadVarint { offset: u64 },
    #[error("offset {offset}: {n} {what}, more than the {max} a trace can hold")]
    TooBig {
        offset: u64,
        what: &'static str,
        n: u64,
        max: u64,
    },
    #[error("reading the trace: {0}")]
    Io(#[from] std::io::Error),
    #[error(
        "the trace holds no complete generation (it is cut short before the first one ends), \
         so no window of it can be read alone; read it without --window"
    )]
    NoGeneration,
    #[error("{0} (a bug in gosleuth: please report it with the trace)")]
    Internal(&'static str),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
