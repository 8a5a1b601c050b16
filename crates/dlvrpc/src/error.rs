//! Why a request (a JSON-RPC call, a REPL command) cannot be answered.
//! The text of each is what Delve's clients get in the reply's `error`
//! and what the REPL prints.

use gosleuth_runtime::filter::FilterError;
use gosleuth_runtime::values::EvalError;

/// Why a request cannot be answered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// Reading variables or evaluating an expression failed.
    #[error(transparent)]
    Eval(#[from] EvalError),
    /// A goroutine filter in gosleuth's spelling does not parse.
    #[error(transparent)]
    Filter(#[from] FilterError),
    /// The request's arguments are malformed: not an object, a field of
    /// the wrong type, a number out of range, a pattern that does not
    /// compile.
    #[error("{0}")]
    BadRequest(String),
    /// No goroutine is selected and the request needs one.
    #[error("no goroutine is selected (the current thread runs none): pick one with `goroutine N`")]
    NoGoroutine,
    /// No goroutine has this id.
    #[error("unknown goroutine {0}")]
    UnknownGoroutine(u64),
    /// No thread has this id.
    #[error("unknown thread {0}")]
    UnknownThread(i64),
    /// The goroutine has no such frame.
    #[error("frame {frame} does not exist in goroutine {goroutine} (it has {frames} frames)")]
    NoFrame {
        frame: i64,
        goroutine: u64,
        frames: usize,
    },
    /// A location spec (`main.go:12`, `main.f`, `+1`) names nothing or does
    /// not parse.
    #[error("{0}")]
    Location(String),
    /// Memory, DWARF or a channel could not be read.
    #[error("{0}")]
    Read(String),
    /// What a snapshot cannot do (run, stop at breakpoints, change memory),
    /// or what gosleuth does not implement.
    #[error("{0}")]
    Unsupported(String),
    /// A bug in gosleuth, caught while answering.
    #[error("{0}")]
    Internal(String),
}
