//! JSON documents with a stable, documented schema (docs/json.md).

use gosleuth_model::{GroupChange, Incident, RaceReport};
use serde::Serialize;

/// Version of the triage JSON schema; bumped on incompatible changes.
pub const TRIAGE_SCHEMA: u32 = 1;

/// What `gosleuth triage --format json` prints for one input.
#[derive(Debug, Serialize)]
pub struct TriageDoc<'a> {
    pub schema: u32,
    pub source: &'a str,
    pub lines: u64,
    pub incidents: &'a [Incident],
    pub races: &'a [RaceReport],
    pub races_found: Option<u64>,
    pub warnings: &'a [String],
}

/// What `gosleuth triage --compare` prints.
#[derive(Debug, Serialize)]
pub struct CompareDoc<'a> {
    pub schema: u32,
    pub before: &'a str,
    pub after: &'a str,
    pub before_total: u64,
    pub after_total: u64,
    pub changes: &'a [GroupChange],
}

/// Serialises any document, pretty-printed.
pub fn to_string<T: Serialize>(doc: &T) -> String {
    serde_json::to_string_pretty(doc).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}
