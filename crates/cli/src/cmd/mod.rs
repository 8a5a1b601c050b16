//! One module per subcommand.

pub mod attach;
pub mod bin;
pub mod core;
pub mod deps;
pub mod diagnose;
pub mod dump;
pub mod escape;
pub mod fetch;
pub mod goroutines;
pub mod live;
pub mod logs;
pub mod pprof;
pub mod record;
pub mod report;
pub mod top;
pub mod trace;
pub mod triage;
