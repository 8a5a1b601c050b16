//! The in-memory profile: profile.proto with ids resolved to indices.

pub use crate::samples::{Labels, SampleMut, SampleRef, Samples, Stack};

/// A (type, unit) pair such as (`cpu`, `nanoseconds`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ValueType {
    /// What is measured: cpu, samples, inuse_space, contentions...
    pub ty: String,
    /// Its unit: nanoseconds, bytes, count...
    pub unit: String,
}

impl ValueType {
    /// Builds a value type.
    pub fn new(ty: &str, unit: &str) -> Self {
        ValueType {
            ty: ty.to_string(),
            unit: unit.to_string(),
        }
    }
}

/// A numeric label value with its unit ("" when none was given).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NumLabel {
    /// Key, e.g. `bytes`.
    pub key: String,
    /// Value.
    pub value: i64,
    /// Unit, "" when absent.
    pub unit: String,
}

/// The label pprof uses to mark samples from a `-diff_base` profile.
pub const DIFF_BASE_LABEL: &str = "pprof::base";

/// A mapped binary.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Mapping {
    /// Id from the file (renumbered 1.. on merge/encode).
    pub id: u64,
    /// Start address.
    pub start: u64,
    /// End address.
    pub limit: u64,
    /// File offset.
    pub offset: u64,
    /// Path of the binary.
    pub file: String,
    /// Build id.
    pub build_id: String,
    /// Symbolization flags.
    pub has_functions: bool,
    /// Symbolization flags.
    pub has_filenames: bool,
    /// Symbolization flags.
    pub has_line_numbers: bool,
    /// Symbolization flags.
    pub has_inline_frames: bool,
}

/// One (possibly inlined) frame of a location.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Line {
    /// Index into [`Profile::functions`].
    pub function: u32,
    /// Source line.
    pub line: i64,
    /// Source column.
    pub column: i64,
}

/// A program counter with its symbolized frames (innermost inlined first).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Location {
    /// Id from the file.
    pub id: u64,
    /// Index into [`Profile::mappings`].
    pub mapping: Option<u32>,
    /// Address.
    pub address: u64,
    /// Frames, innermost first.
    pub lines: Vec<Line>,
    /// Folded frames.
    pub is_folded: bool,
}

/// A function.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Function {
    /// Id from the file.
    pub id: u64,
    /// Name.
    pub name: String,
    /// Mangled name.
    pub system_name: String,
    /// Source file.
    pub filename: String,
    /// Line of the function's start.
    pub start_line: i64,
}

/// A whole profile.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Profile {
    /// Sample types; every sample has one value per entry.
    pub sample_types: Vec<ValueType>,
    /// Type of the default sample value ("" for the last one).
    pub default_sample_type: String,
    /// Samples.
    pub samples: Samples,
    /// Mappings.
    pub mappings: Vec<Mapping>,
    /// Locations.
    pub locations: Vec<Location>,
    /// Functions.
    pub functions: Vec<Function>,
    /// Free-form comments.
    pub comments: Vec<String>,
    /// Documentation URL.
    pub doc_url: String,
    /// Regexp of frames to drop.
    pub drop_frames: String,
    /// Regexp of frames to keep despite `drop_frames`.
    pub keep_frames: String,
    /// Collection time, nanoseconds since the epoch.
    pub time_nanos: i64,
    /// Collection duration.
    pub duration_nanos: i64,
    /// Type of the sampling period.
    pub period_type: ValueType,
    /// Sampling period.
    pub period: i64,
}

impl Profile {
    /// Index of the sample type chosen by `name` (`""` means the default),
    /// with pprof's rules: a number, a type name, or `inuse_X` for `X`.
    pub fn sample_index(&self, name: &str) -> crate::Result<usize> {
        if self.sample_types.is_empty() {
            return Err(crate::Error::Usage("profile has no samples".into()));
        }
        if name.is_empty() {
            if !self.default_sample_type.is_empty() {
                if let Some(i) = self
                    .sample_types
                    .iter()
                    .position(|t| t.ty == self.default_sample_type)
                {
                    return Ok(i);
                }
            }
            return Ok(self.sample_types.len() - 1);
        }
        if let Ok(i) = name.parse::<i64>() {
            if i < 0 || i as usize >= self.sample_types.len() {
                return Err(crate::Error::Usage(format!(
                    "sample_index {name} is outside the range [0..{}]",
                    self.sample_types.len() - 1
                )));
            }
            return Ok(i as usize);
        }
        let no_inuse = name.strip_prefix("inuse_").unwrap_or(name);
        if let Some(i) = self
            .sample_types
            .iter()
            .position(|t| t.ty == name || t.ty == no_inuse)
        {
            return Ok(i);
        }
        let types: Vec<&str> = self.sample_types.iter().map(|t| t.ty.as_str()).collect();
        Err(crate::Error::Usage(format!(
            "sample_index {name:?} must be one of: [{}]",
            types.join(" ")
        )))
    }

    /// Multiplies every value by `ratio`, rounding, and drops samples that become all zero.
    pub fn scale(&mut self, ratio: f64) {
        if ratio == 1.0 {
            return;
        }
        let ratios = vec![ratio; self.sample_types.len()];
        self.scale_n(&ratios);
    }

    /// Multiplies value `i` of every sample by `ratios[i]` (pprof's `ScaleN`).
    pub fn scale_n(&mut self, ratios: &[f64]) {
        if ratios.iter().all(|&r| r == 1.0) {
            return;
        }
        self.samples.retain_mut(|s| {
            let mut keep = false;
            for (v, &r) in s.values.iter_mut().zip(ratios) {
                if r != 1.0 {
                    *v = (*v as f64 * r).round() as i64;
                    keep |= *v != 0;
                }
            }
            keep
        });
    }

    /// Sets string label `key` to `value` on every sample.
    pub fn set_label(&mut self, key: &str, value: &str) {
        self.samples.map_labels(|l| {
            l.strs.retain(|(k, _)| k != key);
            l.strs.push((key.to_string(), value.to_string()));
        });
    }

    /// Removes string label `key` from every sample.
    pub fn remove_label(&mut self, key: &str) {
        self.samples
            .map_labels(|l| l.strs.retain(|(k, _)| k != key));
    }
}
