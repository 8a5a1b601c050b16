//! One module per subcommand.

pub mod bin;
pub mod pprof;
pub mod triage;
