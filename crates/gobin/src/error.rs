//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong while reading a Go binary.
///
/// Each variant says what was being read and where, so a message shown to a
/// user points at the file, table or offset that is wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be opened or mapped.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file is not an ELF object we can read.
    #[error("{path}: not a readable ELF file: {reason}")]
    NotElf {
        /// The file.
        path: PathBuf,
        /// What the ELF parser said.
        reason: String,
    },
    /// No Go pclntab was found (neither the `.gopclntab` section nor a magic
    /// header confirmed by `runtime.firstmoduledata`).
    #[error("{path}: no Go pclntab found (not a Go binary, or Go older than 1.18)")]
    NoPclntab {
        /// The file.
        path: PathBuf,
    },
    /// The pclntab header has a magic number of a Go release we do not read.
    #[error("pclntab: unsupported magic {magic:#010x} (Go 1.18 or newer is required)")]
    UnsupportedPclntab {
        /// The magic number found.
        magic: u32,
    },
    /// The pclntab is truncated or inconsistent.
    #[error("pclntab: {what} at offset {offset:#x}")]
    BadPclntab {
        /// What is wrong.
        what: &'static str,
        /// Offset from the start of the pclntab.
        offset: u64,
    },
    /// No Go build info blob (`\xff Go buildinf:`) was found.
    #[error("no Go build info found (no .go.buildinfo section and no magic in the data segment)")]
    NoBuildInfo,
    /// The build info blob is truncated or inconsistent.
    #[error("build info: {what} at offset {offset:#x}")]
    BadBuildInfo {
        /// What is wrong.
        what: &'static str,
        /// Offset from the start of the blob, or the address being read.
        offset: u64,
    },
    /// The module info text could not be parsed.
    #[error("build info: line {line}: {what}")]
    BadModInfo {
        /// What is wrong.
        what: String,
        /// One-based line number in the module info text.
        line: usize,
    },
    /// An address is not backed by bytes in the file.
    #[error("address {addr:#x} (+{len}) is not mapped by any loadable segment of the file")]
    Unmapped {
        /// The virtual address.
        addr: u64,
        /// The number of bytes wanted.
        len: u64,
    },
    /// A function name pattern is not a valid regular expression.
    #[error("bad function name pattern: {0}")]
    BadPattern(#[from] regex::Error),
    /// The DWARF data could not be read.
    #[error("DWARF: {what}: {source}")]
    Dwarf {
        /// What was being read.
        what: String,
        /// gimli's error.
        source: gimli::Error,
    },
    /// A DWARF section could not be loaded (for example a corrupt compressed section).
    #[error("DWARF section {section}: {reason}")]
    DwarfSection {
        /// The section name.
        section: String,
        /// What went wrong.
        reason: String,
    },
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
