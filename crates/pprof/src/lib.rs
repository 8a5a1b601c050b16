//! pprof profiles: decoding, reports and flame graphs.
//!
//! The crate reads profile.proto (gzipped or not) and the legacy text
//! formats Go's `net/http/pprof` serves with `?debug=1`, combines and
//! compares profiles, and writes the reports `go tool pprof` writes
//! (`-top`, `-traces`, `-peek`, `-tree`, `-list`, `-proto`) byte for byte,
//! plus flame graphs (folded stacks, interactive SVG, speedscope JSON).
//!
//! Nothing here prints: reports come back as bytes and warnings as strings.
//!
//! Samples live in one flat store ([`samples`]): all stacks in one pool of
//! location indices (16 bits per frame when the profile allows), values in
//! one array, labels as shared sets, so a profile costs little more than
//! its frames. Report times follow `TZ` the way Go does ([`tz`]). URL
//! sources are opened by a fetcher the caller passes
//! ([`driver::FetchFn`], the `gosleuth-fetch` crate): nothing here speaks
//! to the network.
//!
//! ```no_run
//! let data = std::fs::read("cpu.pb.gz").unwrap();
//! let prof = gosleuth_pprof::parse(&data).unwrap();
//! let mut rpt = gosleuth_pprof::report::prepare(prof, &Default::default()).unwrap();
//! let text = gosleuth_pprof::output::generate(&mut rpt).unwrap();
//! ```

#![forbid(unsafe_code)]

pub mod driver;
pub mod error;
pub mod flame;
pub mod fxhash;
pub mod graph;
pub mod legacy;
pub mod measurement;
pub mod merge;
pub mod output;
pub mod profile;
pub mod proto;
pub mod raw;
pub mod report;
pub mod samples;
pub mod source;
#[doc(hidden)]
pub mod synth;
pub mod transform;
pub mod tz;

pub use error::{Error, Result};
pub use profile::Profile;

/// Parses a profile from bytes: profile.proto (gzipped or not) or a
/// legacy text profile, then validates it. At most
/// [`proto::DEFAULT_MAX_DECOMPRESSED`] bytes after gunzip.
pub fn parse(data: &[u8]) -> Result<Profile> {
    parse_with(data, proto::Limits::default())
}

/// [`parse`] within `limits`.
pub fn parse_with(data: &[u8], limits: proto::Limits) -> Result<Profile> {
    let p = proto::parse_with(data, limits)?;
    merge::check_valid(&p)?;
    Ok(p)
}

/// Reads a profile file, streaming gzip into the decoder (memory grows
/// with the profile, not with the file), then validates it. At most
/// [`proto::DEFAULT_MAX_DECOMPRESSED`] bytes after gunzip.
pub fn parse_file(path: &std::path::Path) -> Result<Profile> {
    parse_file_with(path, proto::Limits::default())
}

/// [`parse_file`] within `limits`.
pub fn parse_file_with(path: &std::path::Path, limits: proto::Limits) -> Result<Profile> {
    let p = proto::parse_file_with(path, limits)?;
    merge::check_valid(&p)?;
    Ok(p)
}
