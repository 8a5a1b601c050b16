//! The import graph of Go packages, as godepgraph draws it, from the
//! go command's own answer (`go list -e -deps -json`).
//!
//! - [`go_list`] runs the go command; [`parse`] reads its JSON stream
//!   (saved output works too).
//! - [`select`] applies godepgraph's rules: the named packages and what
//!   they import, the standard library's packages shown but not followed
//!   (unless asked), prefixes and packages left out or kept, a depth
//!   limit, test imports when asked.
//! - [`dot`] writes the graph in godepgraph's DOT; [`svg`] draws it
//!   without Graphviz; [`report`] writes it as text and JSON.
//!
//! Import cycles (which Go allows only through tests it then refuses to
//! build: "import cycle not allowed in test") are listed as the go
//! command reports them.

#![forbid(unsafe_code)]

mod dot;
mod golist;
mod layout;
pub mod report;
mod select;
mod svg;

pub use dot::dot;
pub use golist::{Package, PackageError, go_list, go_list_with, parse};
pub use layout::{Layout, layered};
pub use select::{Edge, Graph, Kind, Node, Options, Via, select};
pub use svg::{human, svg};

/// What went wrong reading the package graph.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The directory to run the go command in is not there.
    #[error("no directory {0}: give the module's directory with -C DIR")]
    NoDir(String),
    /// The go command could not be started.
    #[error("cannot run `go list` in {dir}: {source} (is Go installed and on PATH?)")]
    Spawn { dir: String, source: std::io::Error },
    /// The go command failed; its own message.
    #[error("`go list {args}` failed in {dir}:\n{stderr}")]
    GoList {
        dir: String,
        args: String,
        stderr: String,
    },
    /// The JSON stream is not go list's.
    #[error("not `go list -json` output: {0}")]
    Json(String),
    /// None of the named packages is in the output.
    #[error("no package to draw: {0}")]
    NoRoots(String),
}
