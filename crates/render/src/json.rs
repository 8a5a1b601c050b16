//! JSON documents with a stable, documented schema (docs/json.md).

use gosleuth_diagnose::{Finding, Source};
use gosleuth_model::{FlakyTest, GroupChange, Incident, RaceReport, TestRun};
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
    /// `go test` results, when the input holds any.
    #[serde(skip_serializing_if = "no_tests")]
    pub tests: &'a TestRun,
    /// With several inputs: tests that passed in some and failed in others
    /// (`failed_in`/`passed_in` index the array of documents).
    #[serde(skip_serializing_if = "<[FlakyTest]>::is_empty")]
    pub flaky: &'a [FlakyTest],
    pub warnings: &'a [String],
}

fn no_tests(t: &&TestRun) -> bool {
    t.is_empty()
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

/// Version of the diagnose JSON document; bumped on incompatible changes.
pub const DIAGNOSE_SCHEMA: u32 = 1;

/// What `gosleuth diagnose --format json` prints (docs/diagnose.md):
/// `schema`, `source_kind` (`memory` or `text`), `source` (the later dump
/// of two), `before` and `before_goroutines` (when two dumps were
/// compared), `goroutines`, `findings` (ranked) and `warnings`.
#[derive(Debug)]
pub struct DiagnoseDoc<'a> {
    pub source_kind: Source,
    pub source: &'a str,
    pub goroutines: u64,
    pub findings: &'a [Finding],
    pub warnings: &'a [String],
    /// The earlier dump's name and goroutine count, when two were compared.
    pub before: Option<(&'a str, u64)>,
}

impl DiagnoseDoc<'_> {
    /// The document, pretty-printed. Object keys are sorted at every
    /// level (the document goes through `serde_json::Value`), as this
    /// schema has always printed them.
    pub fn to_json(&self) -> String {
        let mut doc = serde_json::json!({
            "schema": DIAGNOSE_SCHEMA,
            "source_kind": self.source_kind,
            "source": self.source,
            "goroutines": self.goroutines,
            "findings": self.findings,
            "warnings": self.warnings,
        });
        if let (Some((name, total)), Some(map)) = (self.before, doc.as_object_mut()) {
            map.insert("before".into(), serde_json::json!(name));
            map.insert("before_goroutines".into(), serde_json::json!(total));
        }
        to_string(&doc)
    }
}

/// Serialises any document, pretty-printed.
pub fn to_string<T: Serialize>(doc: &T) -> String {
    serde_json::to_string_pretty(doc).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}
