//! `go test` evidence: test2json events put back together, test results
//! read from any form of `go test` output, and the root cause of a test
//! timeout.

mod results;
mod test2json;
mod timeout;

pub use results::{Context, Recorder};
pub use test2json::{Event, Test2Json, looks_like_event};
pub(crate) use timeout::timeout_cause;
