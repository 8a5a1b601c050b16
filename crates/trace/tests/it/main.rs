//! The trace reader on the factory's traces, against `go tool trace`:
//! the wire events print exactly as `go tool trace -d=wire` prints them,
//! and the summary's counts are those of that output and of the traced
//! program's own MemStats.

#[cfg(feature = "factory")]
mod factory;
