//! One module per subcommand.

pub mod bin;
