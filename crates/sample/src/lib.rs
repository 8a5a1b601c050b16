//! Sampling a running Go process without its help.

pub mod error;
pub mod interrupt;
pub mod native;
pub mod overlay;
pub mod perf;
pub mod records;

pub use error::{Error, Result};
pub mod recording;
pub mod sampler;
pub mod symbols;

pub use recording::{FunctionShare, Kind, Recording};
pub use sampler::{Ended, Method, Options, Sampler, Stats, Used};
pub use symbols::Symbolizer;
