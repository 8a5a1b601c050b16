//! Go execution traces, the format of Go 1.22 and later (the traces of
//! `runtime/trace`, `/debug/pprof/trace`, `go test -trace` and the flight
//! recorder).
//!
//! [`wire`] reads the trace event by event in constant memory (what `go
//! tool trace -d=wire` prints, the same text); [`summary`] streams a trace
//! into what it says about the scheduler and the GC: events by kind,
//! goroutines created and ended, GC cycles, stops of the world with their
//! reasons and durations, Ps, threads, the heap.
//!
//! [`profiles::read`] is the one pass everything else rides on (two
//! threads: a reader that merges each generation's batches into time order
//! and tallies the summary, and the caller's thread following the
//! goroutines): blocking profiles as `go tool trace -pprof` makes them,
//! goroutine groups, transitions, the timeline [`export`], the CPU samples'
//! profile, and the mutator utilisation that [`mmu`] turns into MMU
//! curves. [`findings`] reads one pass's output; [`index`] lists the
//! generations so a window of time can be read alone.
//!
//! Nothing here prints or keeps the trace: memory grows with one
//! generation's bytes and the goroutines alive, not with the file.

#![forbid(unsafe_code)]

mod error;
pub mod export;
pub mod findings;
pub mod index;
pub mod mmu;
pub mod profiles;
pub mod spec;
pub mod summary;
pub mod wire;

pub use error::{Error, Result};
pub use summary::{Summary, summarize};
pub use wire::{RawEvent, WireReader};
