//! One module per subcommand.

pub mod bin;
pub mod logs;
pub mod pprof;
pub mod triage;
