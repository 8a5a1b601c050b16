//! The result of reading a log: templates ordered by what matters,
//! counts, and the incidents and races found in it.

use gosleuth_model::{Incident, RaceReport};
use serde::{Serialize, Serializer};

use crate::level::Level;
use crate::line::{Payload, Wrapper};
use crate::scan::{NO_TEMPLATE, Part, Stats};
use crate::time::{Millis, format_rfc3339};
use crate::timeline::Histogram;

/// Version of the `gosleuth logs --format json` schema.
pub const SCHEMA: u32 = 1;

fn ser_time<S: Serializer>(t: &Option<Millis>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&format_rfc3339(*t)),
        None => s.serialize_none(),
    }
}

/// One template.
#[derive(Debug, Clone, Serialize)]
pub struct Template {
    /// Position in [`Report::templates`].
    pub id: u32,
    /// `null` when the lines print no level.
    pub level: Option<Level>,
    /// The message with its variable parts as `<*>`; `<other>` for an
    /// *other* template.
    pub template: String,
    /// The records of this level that matched no template once the
    /// template limit was reached (`--template-limit`).
    pub other: bool,
    /// Records (header lines) that matched.
    pub count: u64,
    /// Lines that continued those records (stack traces, wrapped text).
    pub continuation_lines: u64,
    #[serde(serialize_with = "ser_time")]
    pub first: Option<Millis>,
    #[serde(serialize_with = "ser_time")]
    pub last: Option<Millis>,
    /// The first matching line as it appears in the input (with a few of
    /// its continuation lines).
    pub example: String,
    /// Its line number, 1-based.
    pub example_line: u64,
    /// Records per bin over the log's span ([`Report::start`] to [`Report::end`]).
    pub histogram: Histogram,
}

/// Lines per detected format.
#[derive(Debug, Clone, Serialize)]
pub struct FormatCount {
    pub wrapper: Wrapper,
    pub payload: Payload,
    pub lines: u64,
}

/// Records per level.
#[derive(Debug, Clone, Serialize)]
pub struct LevelCount {
    pub level: Option<Level>,
    pub records: u64,
}

/// Everything found in one input.
#[derive(Debug, Serialize)]
pub struct Report {
    pub schema: u32,
    /// The input's name (set by the caller; empty otherwise).
    pub source: String,
    pub lines: u64,
    pub bytes: u64,
    /// Records kept after filtering (header lines).
    pub records: u64,
    pub continuation_lines: u64,
    /// Lines of Go runtime output (panics, dumps, race reports).
    pub runtime_lines: u64,
    /// Runtime lines not parsed: those after the first 1,000 panics and
    /// fatal errors (a grep of `panic:` lines, a crash loop).
    pub runtime_lines_unparsed: u64,
    pub blank_lines: u64,
    /// Records dropped by `--since`, `--until`, `--level`, `--grep`.
    pub filtered_out: u64,
    /// Lines that were not valid UTF-8 (read with U+FFFD in their place).
    pub invalid_utf8_lines: u64,
    /// Lines of binary data (control characters: NUL bytes, random
    /// bytes), left out of the templates.
    pub binary_lines: u64,
    /// Lines longer than 1 MiB, read only up to that length.
    pub long_lines: u64,
    pub formats: Vec<FormatCount>,
    pub levels: Vec<LevelCount>,
    #[serde(serialize_with = "ser_time")]
    pub start: Option<Millis>,
    #[serde(serialize_with = "ser_time")]
    pub end: Option<Millis>,
    /// Bins in every template's histogram.
    pub bins: usize,
    /// Most severe first, then most frequent, then most recent.
    pub templates: Vec<Template>,
    pub incidents: Vec<Incident>,
    pub races: Vec<RaceReport>,
    pub races_found: Option<u64>,
    /// Per physical line: the id of its template, or null (continuation,
    /// runtime, blank or filtered lines). Only when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assignments: Option<Vec<Option<u32>>>,
}

/// How severe a template reads, for ordering: unknown levels sort with
/// INFO's chatter but after it.
fn rank(l: Option<Level>) -> i32 {
    l.map_or(i32::from(Level::Info as u8) * 2 - 1, |l| {
        i32::from(l as u8) * 2
    })
}

impl Report {
    /// Builds the report from a merged part.
    pub(crate) fn build(part: Part, bins: usize, assignments: bool) -> Report {
        let Part {
            clusterer,
            stats,
            counts,
            evidence,
            assignments: assigned,
        } = part;
        let (remap, clusters) = clusterer.finish();
        let mut merged: Vec<Stats> = vec![Stats::default(); clusters.len()];
        for (i, s) in stats.into_iter().enumerate() {
            if let Some(&to) = remap.get(i) {
                merged[to as usize].merge(s);
            }
        }
        let (start, end) = (counts.start.unwrap_or(0), counts.end.unwrap_or(0));
        let mut templates: Vec<Template> = clusters
            .iter()
            .zip(merged)
            .enumerate()
            .map(|(i, (c, s))| Template {
                id: u32::try_from(i).unwrap_or(u32::MAX),
                level: c.level,
                template: c.text(),
                other: c.other,
                count: s.count,
                continuation_lines: s.continuation_lines,
                first: s.first,
                last: s.last,
                example: s.example,
                example_line: s.example_line,
                histogram: s.timeline.histogram(start, end, bins),
            })
            .collect();
        templates.sort_by(|a, b| {
            rank(b.level)
                .cmp(&rank(a.level))
                .then(b.count.cmp(&a.count))
                .then(b.last.cmp(&a.last))
                .then(a.example_line.cmp(&b.example_line))
        });
        let mut order = vec![NO_TEMPLATE; templates.len()];
        for (pos, t) in templates.iter_mut().enumerate() {
            if let Some(o) = order.get_mut(t.id as usize) {
                *o = u32::try_from(pos).unwrap_or(u32::MAX);
            }
            t.id = u32::try_from(pos).unwrap_or(u32::MAX);
        }
        let assignments = assignments.then(|| {
            assigned
                .iter()
                .map(|&c| {
                    (c != NO_TEMPLATE)
                        .then(|| {
                            remap
                                .get(c as usize)
                                .and_then(|&m| order.get(m as usize))
                                .copied()
                        })
                        .flatten()
                })
                .collect()
        });
        let mut formats: Vec<FormatCount> = counts
            .format_counts()
            .into_iter()
            .map(|(wrapper, payload, lines)| FormatCount {
                wrapper,
                payload,
                lines,
            })
            .collect();
        formats.sort_by(|a, b| {
            b.lines
                .cmp(&a.lines)
                .then(a.wrapper.name().cmp(b.wrapper.name()))
        });
        let mut levels: Vec<LevelCount> = counts
            .level_counts()
            .into_iter()
            .map(|(level, records)| LevelCount { level, records })
            .collect();
        // Most severe first; records without a level last.
        levels.sort_by_key(|l| std::cmp::Reverse(l.level.map_or(-1, |l| l as i32)));
        Report {
            schema: SCHEMA,
            source: String::new(),
            lines: counts.lines,
            bytes: counts.bytes,
            records: counts.records,
            continuation_lines: counts.continuation_lines,
            runtime_lines: counts.runtime_lines,
            runtime_lines_unparsed: counts.unparsed_lines,
            blank_lines: counts.blank_lines,
            filtered_out: counts.filtered_out,
            invalid_utf8_lines: counts.invalid_utf8,
            binary_lines: counts.binary_lines,
            long_lines: counts.long_lines,
            formats,
            levels,
            start: counts.start,
            end: counts.end,
            bins,
            templates,
            incidents: evidence.incidents,
            races: evidence.races,
            races_found: evidence.races_found,
            assignments,
        }
    }

    /// True when the log shows a failure: a panic, a fatal error, a crash
    /// or a data race.
    pub fn has_failure(&self) -> bool {
        use gosleuth_model::IncidentKind;
        !self.races.is_empty()
            || self.incidents.iter().any(|i| {
                matches!(i.kind, IncidentKind::Panic | IncidentKind::Fatal)
                    || (i.kind == IncidentKind::Signal
                        && i.signal.as_ref().is_some_and(|s| s.name != "SIGQUIT"))
            })
    }

    /// The most severe level any record has.
    pub fn worst_level(&self) -> Option<Level> {
        self.levels.iter().filter_map(|l| l.level).max()
    }
}
