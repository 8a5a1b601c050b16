//! Diagnosis: rules over gosleuth's goroutine model that name what is
//! wrong with a Go process (a deadlock, a pile-up, a leak, a crash) and
//! show the evidence, ranked by severity.
//!
//! The input is a [`Subject`]: a [`Snapshot`] read from memory (a core
//! file or a live process, which know the channels and semaphores every
//! goroutine waits on) or the goroutines of a text dump (SIGQUIT output,
//! `/debug/pprof/goroutine?debug=2`, a log with a dump), plus the panics and
//! fatal errors the text showed. The same rules run on both; the ones that
//! need the wait graph only fire on memory, and text has its own, less
//! certain, fallbacks.
//!
//! | rule ([`Kind`]) | severity | evidence it needs |
//! |---|---|---|
//! | `self_deadlock` | critical (memory), warning (text, inferred from stacks) | a goroutine blocked sending on a full channel that only it drains |
//! | `lock_order_deadlock` | critical (memory), warning (text) | a cycle of goroutines each waiting for a lock another one holds |
//! | `all_asleep` | critical | the runtime's `all goroutines are asleep` or, in memory, every goroutine blocked for good |
//! | `panic`, `fatal_error`, `fatal_signal` | critical | a panic or fatal error in the text, or a panicking goroutine in memory |
//! | `pile_up` | warning (critical in memory: thousands on one object) | many goroutines blocked at one place |
//! | `goroutine_leak` | warning | blocked groups that grow between two snapshots |
//! | `long_network_read` | warning | goroutines reading from the network for many minutes |
//! | `runaway_goroutines` | warning | more than [`Options::runaway`] goroutines |
//!
//! Findings are sorted by severity, then causes before symptoms (a
//! self-deadlock comes before the pile-up it causes), then by the number
//! of goroutines. Nothing here prints or reads files; the render crate
//! (`gosleuth_render::findings`) renders findings as text. `docs/diagnose.md` describes every rule, its evidence
//! and the JSON shape.
//!
//! ```
//! use gosleuth_diagnose::{Kind, Options, Severity, Subject, diagnose};
//!
//! let text = b"fatal error: all goroutines are asleep - deadlock!\n\n\
//!     goroutine 1 [chan receive]:\nmain.main()\n\t/app/main.go:5 +0x25\nexit status 2\n";
//! let opts = gosleuth_text::Options { keep_goroutines: true, ..Default::default() };
//! let subject = Subject::from_incidents("example", gosleuth_text::parse(text, opts).incidents);
//! let findings = diagnose(&subject, &Options::default());
//! assert_eq!(findings[0].kind, Kind::AllAsleep);
//! assert_eq!(findings[0].severity, Severity::Critical);
//! ```

#![forbid(unsafe_code)]

mod finding;
mod rules;
mod stack;

use gosleuth_model::{Goroutine, Group, Incident, Snapshot};
use serde::Serialize;

pub use finding::{
    Confidence, CycleStep, Evidence, Finding, FrameEvidence, FrameRole, Growth, Kind,
    ObjectEvidence, Related, Severity, Site,
};

/// Where a subject's goroutines were read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// A core file or a live process: wait objects, start functions and
    /// wait durations are known.
    Memory,
    /// A text dump: stacks, states and argument words only.
    Text,
    /// An execution trace: states over time (its findings come from the
    /// trace reader's rules, not from a snapshot's).
    Trace,
}

/// What the rules look at: the goroutines of one moment, the channels and
/// semaphores they wait on (memory), and the incidents a text showed.
#[derive(Debug, Clone)]
pub struct Subject {
    pub source: Source,
    /// The goroutines (and, from memory, the wait objects).
    pub snapshot: Snapshot,
    /// Panics, fatal errors and dumps found in a text (their goroutines
    /// moved into `snapshot` or dropped, see [`Subject::from_incidents`]).
    pub incidents: Vec<Incident>,
    /// Total goroutines, counting aggregated records by their count.
    pub total: u64,
}

impl Subject {
    /// A snapshot read from memory.
    pub fn from_snapshot(snapshot: Snapshot) -> Subject {
        let total = snapshot.total();
        Subject {
            source: Source::Memory,
            snapshot,
            incidents: Vec::new(),
            total,
        }
    }

    /// The incidents parsed from a text. The goroutines of the incident
    /// with the most goroutines (the last of equals: the latest state)
    /// become the snapshot the goroutine rules look at; every incident is
    /// checked for panics and fatal errors.
    ///
    /// Parse with `keep_goroutines` so each goroutine keeps its own
    /// arguments (the text lock rules read lock addresses from them); when
    /// an incident kept only its groups, each group stands in as one
    /// aggregated goroutine record.
    pub fn from_incidents(source: impl Into<String>, mut incidents: Vec<Incident>) -> Subject {
        let chosen = incidents
            .iter()
            .enumerate()
            .max_by_key(|(i, inc)| (inc.total, *i))
            .map(|(i, _)| i);
        let mut goroutines = Vec::new();
        let mut total = 0;
        if let Some(i) = chosen {
            let inc = &mut incidents[i];
            goroutines = std::mem::take(&mut inc.goroutines);
            if goroutines.is_empty() {
                goroutines = inc.groups.iter().map(group_record).collect();
            }
            total = inc.total;
        }
        for inc in &mut incidents {
            inc.goroutines = Vec::new();
        }
        let snapshot = Snapshot {
            meta: gosleuth_model::SnapshotMeta {
                source: source.into(),
                ..Default::default()
            },
            goroutines,
            ..Default::default()
        };
        let total = total.max(snapshot.total());
        Subject {
            source: Source::Text,
            snapshot,
            incidents,
            total,
        }
    }
}

/// A group of a text dump as one aggregated goroutine record.
fn group_record(g: &Group) -> Goroutine {
    Goroutine {
        id: g.ids.first().copied().unwrap_or(0),
        status: g.status,
        state: g.state.clone(),
        wait_minutes: g.wait_max,
        locked: g.locked,
        frames: g.frames.clone(),
        created_by: g.created_by.clone(),
        labels: g.labels.clone(),
        count: g.count,
        ..Default::default()
    }
}

/// Thresholds of the rules.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// A pile-up is at least this many goroutines at one site...
    pub pile_up_min: u64,
    /// ...that are also at least this share of all goroutines (percent)...
    pub pile_up_percent: u64,
    /// ...or at least this many goroutines whatever the share.
    pub pile_up_absolute: u64,
    /// A pile-up of at least this many goroutines on one object (memory)
    /// is critical.
    pub pile_up_critical: u64,
    /// More goroutines than this is a runaway count.
    pub runaway: u64,
    /// Minutes of waiting on a network read that count as stuck.
    pub long_wait_minutes: u64,
    /// Minutes of waiting for a lock after which goroutines blocked in one
    /// function at different lines are suspected of a lock-order deadlock
    /// (text dumps).
    pub lock_wait_minutes: u64,
    /// Smallest growth of a group between two snapshots that counts as a
    /// leak (the group must also grow by half).
    pub leak_min_growth: u64,
    /// Most growing groups reported.
    pub max_leak_findings: usize,
    /// Most goroutine ids listed per finding or site.
    pub max_ids: usize,
    /// Most sites listed per finding.
    pub max_sites: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            pile_up_min: 10,
            pile_up_percent: 20,
            pile_up_absolute: 100,
            pile_up_critical: 1000,
            runaway: 10_000,
            long_wait_minutes: 10,
            lock_wait_minutes: 1,
            leak_min_growth: 3,
            max_leak_findings: 10,
            max_ids: 20,
            max_sites: 5,
        }
    }
}

/// Runs every rule on one subject; findings sorted (see the crate docs).
pub fn diagnose(subject: &Subject, opts: &Options) -> Vec<Finding> {
    let mut findings = rules::run(subject, opts);
    sort(&mut findings);
    findings
}

/// Runs every rule on the later subject, plus the leak rule comparing the
/// two (groups that grew while blocked).
pub fn diagnose_pair(before: &Subject, after: &Subject, opts: &Options) -> Vec<Finding> {
    let mut findings = rules::run(after, opts);
    let leaks = rules::growth(before, after, opts);
    // A pile-up at the place a leak grows says less than the leak.
    findings.retain(|f| {
        f.kind != Kind::PileUp
            || !leaks
                .iter()
                .any(|l| same_site(l.evidence.sites.first(), f.evidence.sites.first()))
    });
    findings.extend(leaks);
    sort(&mut findings);
    findings
}

fn same_site(a: Option<&Site>, b: Option<&Site>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => {
            a.state == b.state && a.function == b.function && a.file == b.file && a.line == b.line
        }
        _ => false,
    }
}

/// Orders findings: severity, then causes before symptoms, then the
/// number of goroutines (largest first).
pub fn sort(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        a.severity
            .cmp(&b.severity)
            .then(a.kind.rank().cmp(&b.kind.rank()))
            .then(b.evidence.count.cmp(&a.evidence.count))
    });
}

/// True when some finding is critical (`gosleuth diagnose` exits 1).
pub fn has_critical(findings: &[Finding]) -> bool {
    findings.iter().any(|f| f.severity == Severity::Critical)
}
