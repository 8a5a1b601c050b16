//! Records of what went wrong: panics, fatal errors, signals and data races.
//! Text evidence produces them directly; a core file of a crash can too.

use serde::Serialize;

use crate::{Frame, Goroutine, Group};

/// One `panic:` line of a panic chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PanicValue {
    /// The value as printed, multi-line values joined with `\n`.
    pub message: String,
    /// Printed with `[recovered]`: a deferred function recovered it.
    pub recovered: bool,
    /// Printed with `[recovered, repanicked]` (Go 1.25+): recovered and
    /// panicked again with the same value.
    pub repanicked: bool,
}

/// `[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x49a4d0]`
/// or the `SIGQUIT: quit` / `PC=0x.. m=N sigcode=N` pair.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SignalInfo {
    /// `SIGSEGV`
    pub name: String,
    /// `segmentation violation`
    pub description: String,
    pub code: Option<String>,
    pub addr: Option<u64>,
    pub pc: Option<u64>,
}

/// What kind of event produced an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentKind {
    /// An unrecovered panic.
    Panic,
    /// `fatal error: ...` from the runtime (`throw`/`fatal`).
    Fatal,
    /// A fatal signal not turned into a panic (`SIGQUIT: quit`, `SIGABRT`, ...).
    Signal,
    /// A goroutine dump without a cause: `/debug/pprof/goroutine?debug=2`,
    /// `runtime.Stack(buf, true)` output.
    Dump,
    /// An aggregated goroutine profile (`/debug/pprof/goroutine?debug=1`).
    Profile,
}

/// One crash or dump found in the evidence, with its goroutines grouped.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Incident {
    pub kind: IncidentKind,
    /// Line (1-based) in the input where the incident starts.
    pub line: u64,
    /// The panic chain, oldest first.
    pub panics: Vec<PanicValue>,
    pub fatal: Option<String>,
    pub signal: Option<SignalInfo>,
    /// Lines the runtime printed before the goroutines (`runtime: ...`).
    pub notes: Vec<String>,
    /// The first goroutine printed: for a panic or fatal error, the one that
    /// raised it.
    pub first: Option<Goroutine>,
    /// Every goroutine, when the reader was asked to keep them.
    pub goroutines: Vec<Goroutine>,
    /// All goroutines, grouped.
    pub groups: Vec<Group>,
    /// Total goroutines (counting aggregated profile records by count).
    pub total: u64,
    /// `exit status N` printed after it, when present.
    pub exit_status: Option<i32>,
    /// The cause, when an analysis has named it.
    pub root_cause: Option<RootCause>,
}

impl Incident {
    pub fn new(kind: IncidentKind, line: u64) -> Incident {
        Incident {
            kind,
            line,
            panics: Vec::new(),
            fatal: None,
            signal: None,
            notes: Vec::new(),
            first: None,
            goroutines: Vec::new(),
            groups: Vec::new(),
            total: 0,
            exit_status: None,
            root_cause: None,
        }
    }
}

/// The frame that raised a panic or fatal error, and why, in plain words.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RootCause {
    /// The goroutine that raised it.
    pub goroutine: u64,
    /// The first non-runtime frame below the original panic.
    pub frame: Option<Frame>,
    /// When `frame` is standard-library code, the first frame outside the
    /// standard library that called into it.
    pub caller: Option<Frame>,
    /// Plain-language explanation of the message.
    pub explanation: String,
    /// The original message (the oldest panic of the chain).
    pub message: String,
    /// The chain of `go` statements that led to this goroutine, innermost
    /// first, as far as the evidence shows it.
    pub created_by: Vec<Frame>,
    /// Frames between the panic and the root-cause frame that recovered and
    /// re-panicked (deferred functions).
    pub repanicked_in: Vec<Frame>,
    /// Source lines around the root-cause frame (number, text), when the
    /// source file was readable where gosleuth ran.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub source: Vec<(u32, String)>,
}

/// Kind of a memory access in a race report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessKind {
    Read,
    Write,
    AtomicRead,
    AtomicWrite,
}

impl AccessKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AccessKind::Read => "read",
            AccessKind::Write => "write",
            AccessKind::AtomicRead => "atomic read",
            AccessKind::AtomicWrite => "atomic write",
        }
    }
}

/// One side of a data race.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RaceAccess {
    pub kind: AccessKind,
    /// `Previous write at ...`: the earlier of the two accesses.
    pub previous: bool,
    pub addr: u64,
    /// Goroutine id; `None` for the main goroutine.
    pub goroutine: Option<u64>,
    /// Frames, innermost first; empty with `[failed to restore the stack]`.
    pub frames: Vec<Frame>,
    pub stack_restored: bool,
}

impl RaceAccess {
    /// The first frame outside the runtime: where the user's code made
    /// the access (falls back to the innermost frame).
    pub fn user_frame(&self) -> Option<&Frame> {
        self.frames
            .iter()
            .find(|f| !f.is_runtime())
            .or(self.frames.first())
    }
}

/// Where the raced memory lives.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RaceLocation {
    HeapBlock {
        size: u64,
        addr: u64,
        goroutine: Option<u64>,
        allocated_at: Vec<Frame>,
    },
    GlobalVar {
        name: String,
        size: u64,
        addr: u64,
        declared_at: String,
    },
}

/// `Goroutine N (running) created at:`
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RaceGoroutine {
    pub id: u64,
    /// `running` or `finished`.
    pub state: String,
    pub created_at: Vec<Frame>,
}

/// One `WARNING: DATA RACE` report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RaceReport {
    pub line: u64,
    /// The two accesses (current first, previous second).
    pub accesses: Vec<RaceAccess>,
    pub location: Option<RaceLocation>,
    pub goroutines: Vec<RaceGoroutine>,
    /// Reports with the same pair of access sites merged into this one.
    pub occurrences: u64,
    /// The test that was running, from `testing.go:NNN: race detected
    /// during execution of test`.
    pub test: Option<String>,
}

impl RaceReport {
    /// Identity for deduplication: the pair of access sites (first user
    /// frame of each access), independent of order.
    pub fn site_key(&self) -> Vec<String> {
        let mut sites: Vec<String> = self
            .accesses
            .iter()
            .map(|a| {
                let f = a.user_frame();
                format!(
                    "{} {}",
                    a.kind.as_str(),
                    f.map_or(String::from("?"), |f| format!(
                        "{} {}",
                        f.function,
                        f.location()
                    ))
                )
            })
            .collect();
        sites.sort();
        sites
    }
}
