//! One module per subcommand.

pub mod bin;
pub mod pprof;
