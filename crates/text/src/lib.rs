//! Parsers for Go's text evidence: panics, fatal errors, goroutine dumps
//! (SIGQUIT, `debug=2`), goroutine profiles (`debug=1`) and race reports,
//! wherever they are buried: journald and docker logs, JSON-lines loggers,
//! `go test` output.
//!
//! ```
//! let text = b"panic: boom\n\ngoroutine 1 [running]:\nmain.main()\n\t/app/main.go:5 +0x25\nexit status 2\n";
//! let evidence = gosleuth_text::parse(text, Default::default());
//! let cause = evidence.incidents[0].root_cause.as_ref().unwrap();
//! assert_eq!(cause.frame.as_ref().unwrap().function, "main.main");
//! ```

#![forbid(unsafe_code)]

pub mod framing;
pub mod gotest;
pub mod lines;
mod parser;
pub mod parts;
pub mod race;
pub mod sources;

pub use parser::{
    Evidence, KEEP_BUDGET, MAX_FRAMES, MAX_INCIDENTS, MAX_LINE, MAX_LOGICAL_LINE, MAX_MESSAGE,
    MAX_PANICS, MAX_RACES, MAX_WARNINGS, Options, Parser, parse, parse_parallel, parse_parallel_at,
    slice_reader,
};
