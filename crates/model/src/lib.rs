//! gosleuth's shared models.
//!
//! Every reader (text dumps, core files, live processes) produces these
//! types, and every analysis and renderer consumes them. Nothing here does
//! I/O.

#![forbid(unsafe_code)]

pub mod cause;
mod goroutine;
mod group;
mod incident;
pub mod testrun;

pub use goroutine::{
    Ancestor, ChannelState, Frame, Goroutine, Snapshot, SnapshotMeta, StackRef, Status, Thread,
    WaitObject, WaitObjectKind, is_runtime_function, package_of,
};
pub use group::{
    FrameRef, Group, GroupChange, Grouper, Similarity, Stack, diff_groups, looks_like_pointer,
    merge_groups, sort_groups,
};
pub use incident::{
    AccessKind, Incident, IncidentKind, PanicValue, RaceAccess, RaceGoroutine, RaceLocation,
    RaceReport, RootCause, SignalInfo,
};
pub use testrun::{
    BuildError, FlakyTest, Outcome, PackageOutcome, PackageResult, TestCause, TestResult, TestRun,
    flaky_tests,
};
