//! Integration tests of gosleuth-escape: the committed compiler outputs of
//! factory/programs/escapes (offline), and the real compiler on that
//! package with the installed Go and go1.21.13 (factory tier).

mod checks;
mod common;
#[cfg(feature = "factory")]
mod factory;
mod offline;
mod robust;
