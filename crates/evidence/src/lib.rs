//! Opening evidence: what a path or an argument holds, told from its first
//! bytes ([`kind`]), the checks that turn a wrong argument into a message
//! naming the right command ([`kind::check_binary_and_core`]), and inputs
//! named on the command line streamed with gzip undone ([`input`]).
//!
//! This is the layer every command opens its evidence through, so that a
//! core in the binary's place, a directory, a profile given to a text
//! reader or a truncated gzip file is told apart once, with one wording.

#![forbid(unsafe_code)]

/// Returns an [`Error::Argument`] with a formatted message.
macro_rules! bail {
    ($($arg:tt)*) => {
        return Err($crate::Error::Argument(format!($($arg)*)))
    };
}

mod error;
pub mod input;
pub mod kind;
pub mod policy;

pub use error::Error;
pub use input::Input;
pub use kind::{BinaryKind, FileKind};

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
