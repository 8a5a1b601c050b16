//! Renderers for gosleuth's models: terminal text (coloured only on a
//! terminal), JSON, and PNG rasterised from the SVGs gosleuth draws.
//! Renderers never parse and never do I/O: they write into strings (or
//! bytes) the caller prints; the one exception is [`png::Fonts::system`],
//! which loads the system's fonts, named so a caller sees it.

#![forbid(unsafe_code)]

pub mod bininfo;
pub mod ci;
pub mod findings;
pub mod goroutines;
pub mod json;
pub mod logs;
pub mod paths;
pub mod png;
pub mod report;
pub mod size;
pub mod style;
pub mod tests;
pub mod top;
pub mod triage;

pub use style::Style;
