//! One module per subcommand.

pub mod bin;
pub mod dump;
pub mod fetch;
pub mod logs;
pub mod pprof;
pub mod triage;
