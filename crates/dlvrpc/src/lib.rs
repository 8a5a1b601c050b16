//! Delve's interface to a snapshot of a Go process: the headless JSON-RPC
//! server (API v2, what `dlv connect`, editors and `nc`/`jq` scripts speak)
//! and a REPL with `dlv`'s commands, both over one
//! [`Capture`](gosleuth_runtime::Capture) of a core file or a live process.
//!
//! The pieces meet through [`Session`], which answers what Delve's
//! debugger answers and does no I/O; [`server`] carries it over TCP
//! ([`framing`] splits the byte stream, `rpc` decodes and answers one
//! request), and [`repl`] over a terminal or a script. Nothing here prints
//! on its own: the REPL writes to the writers it is given.

#![forbid(unsafe_code)]

pub mod api;
mod args;
pub mod error;
pub mod filter;
pub mod framing;
mod locspec;
pub mod pretty;
pub mod repl;
mod rpc;
pub mod server;
pub mod session;
pub mod source;
pub mod values;

pub use error::RequestError;
pub use repl::Repl;
pub use server::{Server, ServerOptions, Stopper};
pub use session::{Session, TargetInfo};

/// Errors of starting the server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The listen address is not a loopback address and remote clients
    /// were not allowed.
    #[error(
        "refusing to listen on {0}: it is not a loopback address, and anyone who can reach it \
         could read the process's memory; pass --accept-remote to allow that"
    )]
    NotLoopback(String),
    /// The listen address could not be parsed or resolved.
    #[error("bad listen address {addr:?}: {why} (expected HOST:PORT, e.g. 127.0.0.1:0)")]
    BadAddress { addr: String, why: String },
    /// Binding failed.
    #[error("cannot listen on {addr}: {source}")]
    Io {
        addr: String,
        #[source]
        source: std::io::Error,
    },
}
