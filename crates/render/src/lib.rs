//! Renderers for gosleuth's models: terminal text (coloured only on a
//! terminal) and JSON. Renderers never parse and never do I/O: they write
//! into strings the caller prints.

#![forbid(unsafe_code)]

pub mod findings;
pub mod goroutines;
pub mod json;
pub mod logs;
pub mod paths;
pub mod size;
pub mod style;
pub mod triage;

pub use style::Style;
