//! Sampling a running Go process without its help: on-CPU stacks from
//! perf events (the kernel copies each sampled thread's registers and
//! stack; the process is never stopped) or, where perf events are refused,
//! from ptrace (each running thread stopped for microseconds); every
//! goroutine's stack at each tick for wall-clock profiles; unwound with
//! pclntab, so stripped binaries work. Recordings become pprof profiles.
//!
//! `unsafe` is confined to the system interfaces: `perf_event_open` and its
//! ring buffers (`perf`), signal handlers (`interrupt`) and the terminal
//! (`terminal`); everything read from them is decoded as untrusted bytes.

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
pub mod terminal;
pub mod top;

pub use recording::{FunctionShare, Kind, Recording};
pub use sampler::{Ended, Method, Options, Sampler, Stats, Used};
pub use symbols::Symbolizer;
