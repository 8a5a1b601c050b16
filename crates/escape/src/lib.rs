//! The Go compiler's escape analysis and inlining diagnostics, read from
//! the text `go build -gcflags=-m=2` (or `-m`) prints on stderr.
//!
//! [`parse`] turns that text into a [`Report`]: per function, what
//! escapes (moved to heap, escapes to heap, leaking param, leaking param
//! content), the compiler's flow chain folded into one readable line, what
//! does not escape, and the inlining decisions (can inline with its cost,
//! cannot inline and why, calls inlined). [`diff`] compares two reports by
//! function and expression (not line numbers, so unrelated edits do not
//! show); [`rank`] orders escapes by the bytes a heap profile allocated at
//! their line. [`render`] writes the text and JSON reports.
//!
//! When the build also asked for them (`-d=ssa/check_bce/debug=1
//! -d=nil=1`, [`GCFLAGS_CHECKS`]), the bounds checks the compiler kept and
//! the nil checks it kept or removed are read too and placed in their
//! functions the same way ([`Function::bounds_checks`],
//! [`Function::nil_checks`]).
//!
//! Which function a diagnostic belongs to: the compiler names functions only
//! at their declarations (`can inline F`, `cannot inline F: ...`) and, from
//! Go 1.22 on, in the heads of `-m=2` explanations (`... escapes to heap in
//! F:`). Summary lines name none. So a diagnostic goes to the top-level
//! function whose body holds its line, found from the Go sources when the
//! caller supplies them ([`Sources`]: gofmt'd files, `func` at column 0
//! up to the closing `}` at column 0); without a source, to the nearest
//! top-level function declared at or above the line in the same file (from
//! the inlining lines; closures `F.func1` are folded into `F`). Lines outside
//! any function body go to `(package level)`.
//!
//! Nothing here prints or reads files ([`go_build`] runs the compiler and
//! returns what it printed); errors carry the compiler's own message lines.

#![forbid(unsafe_code)]

mod build;
mod checks;
mod diff;
mod explain;
mod parse;
mod rank;
pub mod render;
mod source;

use serde::Serialize;

pub use build::{command_line, command_line_with, go_build, go_build_env, go_build_with};
pub use checks::{BoundsCheck, GCFLAGS, GCFLAGS_CHECKS, NilCheck};
pub use diff::{Diff, Entry, diff};
pub use parse::{build_failed, parse, parse_with_sources};
pub use rank::{Ranked, rank};
pub use source::Sources;

/// The name given to diagnostics outside every function body (package-level
/// variable initialisers).
pub const PACKAGE_LEVEL: &str = "(package level)";

/// Everything that can go wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The build failed: the compiler's (or the go command's) own lines.
    #[error("{command} failed{}:\n{}\nthe escape analysis needs a package that builds: fix the package path or the code, then run again", status.as_ref().map(|s| format!(" ({s})")).unwrap_or_default(), messages.join("\n"))]
    BuildFailed {
        /// The command that ran, or the input that was read.
        command: String,
        /// Its exit status, when known.
        status: Option<String>,
        /// The compiler's message lines, as printed.
        messages: Vec<String>,
    },
    /// `go` could not be started.
    #[error("cannot run {command}: {source}; install Go (https://go.dev/dl) and put it on PATH")]
    RunGo {
        /// The command.
        command: String,
        /// Why.
        source: std::io::Error,
    },
    /// The input holds no escape-analysis or inlining diagnostic at all.
    #[error(
        "{input} holds no escape analysis or inlining diagnostics{}; give what go build -gcflags=-m=2 (or -m) printed on stderr (go build -gcflags=-m=2 ./... 2> FILE)",
        first_lines(lines)
    )]
    NoDiagnostics {
        /// Where the text came from.
        input: String,
        /// Its first non-empty lines, for the message.
        lines: Vec<String>,
    },
    /// The heap profile has no alloc_space (or alloc_objects) values.
    #[error(
        "the profile has no {wanted} samples (it has: {has}); give a heap profile (/debug/pprof/heap or /debug/pprof/allocs)"
    )]
    NotHeapProfile {
        /// The sample type wanted.
        wanted: String,
        /// The sample types it has.
        has: String,
    },
}

fn first_lines(lines: &[String]) -> String {
    if lines.is_empty() {
        return String::new();
    }
    format!(" (it starts with: {})", lines.join(" | "))
}

/// A result with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// A position as the compiler prints it: the file as given (`./x.go`,
/// an absolute path in GOROOT), line and column (0 when not printed).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Pos {
    /// The file, as printed.
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column, 0 when the compiler printed none.
    pub col: u32,
}

impl Pos {
    /// `x.go:12` (the file without a leading `./`).
    pub fn short(&self) -> String {
        format!("{}:{}", short_file(&self.file), self.line)
    }
}

impl std::fmt::Display for Pos {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.col > 0 {
            write!(f, "{}:{}:{}", short_file(&self.file), self.line, self.col)
        } else {
            write!(f, "{}:{}", short_file(&self.file), self.line)
        }
    }
}

/// A file name without its leading `./`.
pub fn short_file(file: &str) -> &str {
    file.strip_prefix("./").unwrap_or(file)
}

/// What the compiler decided about a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EscapeKind {
    /// `moved to heap: v`: a local variable lives on the heap.
    MovedToHeap,
    /// `EXPR escapes to heap`: an allocation (composite literal, `new`,
    /// `make`, closure, interface conversion) is made on the heap.
    EscapesToHeap,
    /// `leaking param: p` (also `to result ~r0 level=0`): the pointer
    /// itself outlives the call.
    LeakingParam,
    /// `leaking param content: p` (also `to result ~r0 level=1` and
    /// deeper): what the parameter points to outlives the call.
    LeakingParamContent,
}

impl EscapeKind {
    /// The compiler's own words for this kind.
    pub fn as_str(self) -> &'static str {
        match self {
            EscapeKind::MovedToHeap => "moved to heap",
            EscapeKind::EscapesToHeap => "escapes to heap",
            EscapeKind::LeakingParam => "leaking param",
            EscapeKind::LeakingParamContent => "leaking param content",
        }
    }

    /// Whether this kind is a heap allocation (what a heap profile counts).
    pub fn allocates(self) -> bool {
        matches!(self, EscapeKind::MovedToHeap | EscapeKind::EscapesToHeap)
    }
}

/// One step of a flow: `from WHAT (WHY) at POS`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hop {
    /// The expression the value went through.
    pub what: String,
    /// The compiler's reason (`spill`, `return`, `call parameter`, ...).
    pub why: String,
    /// Where, when the line named a position.
    pub at: Option<Pos>,
}

/// One `flow: DST ← SRC:` of an explanation and its hops.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Flow {
    /// Where the value flows to (`~r0`, `{heap}`, `fmt.a`, ...).
    pub dst: String,
    /// What flows (`&{storage for &T{...}}`, `*p`, ...).
    pub src: String,
    /// The steps, as printed.
    pub hops: Vec<Hop>,
}

/// One escape of a function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Escape {
    /// Where (the allocation, the variable's declaration, the parameter).
    pub pos: Pos,
    /// The kind.
    pub kind: EscapeKind,
    /// The expression or name, as printed (`&T{...}`, `n`, `p`).
    pub expr: String,
    /// What followed the name on a leaking-param line (`to result ~r0 level=0`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The `-m=2` explanation, flow by flow (empty at `-m`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub flows: Vec<Flow>,
    /// The function the compiler named in the explanation's head (Go 1.22
    /// and later), when it named one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compiler_function: Option<String>,
    /// The explanation folded into one line (`` `&T{...}` escapes: returned
    /// as ~r0 at x.go:25 ``); the kind alone at `-m`.
    pub why: String,
}

/// A value the compiler keeps on the stack (`EXPR does not escape`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NoEscape {
    /// Where.
    pub pos: Pos,
    /// The expression or parameter, as printed.
    pub expr: String,
}

/// The inlining decision about a function, at its declaration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Inlining {
    /// `can inline F [with cost N as: ...]` (`-m` prints no cost).
    CanInline {
        /// The inlining cost (`-m=2`).
        #[serde(skip_serializing_if = "Option::is_none")]
        cost: Option<u32>,
    },
    /// `cannot inline F: REASON` (`-m=2` only).
    CannotInline {
        /// The compiler's reason, as printed.
        reason: String,
        /// The cost and budget, when the reason is `function too complex:
        /// cost N exceeds budget B`.
        #[serde(skip_serializing_if = "Option::is_none")]
        over_budget: Option<(u32, u32)>,
    },
}

/// A closure (`F.func1`) or another instantiation of a generic function,
/// and the compiler's inlining decision about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Nested {
    /// Its name, as printed.
    pub name: String,
    /// Where it is declared.
    pub decl: Pos,
    /// The decision.
    #[serde(flatten)]
    pub inlining: Inlining,
}

/// A call the compiler inlined into a function (`inlining call to F`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InlinedCall {
    /// Where the call is.
    pub pos: Pos,
    /// The callee, as printed.
    pub callee: String,
}

/// One function and what the compiler said about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Function {
    /// The package (the last `# pkg` header), empty when the output had none.
    pub package: String,
    /// Its name as the compiler prints it (`NewT`, `(*T).Get`,
    /// [`PACKAGE_LEVEL`]).
    pub name: String,
    /// Its declaration, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decl: Option<Pos>,
    /// The inlining decision, when printed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inlining: Option<Inlining>,
    /// The other inlining decisions at or inside it: closures (`F.func1`)
    /// and further instantiations of a generic function.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub nested: Vec<Nested>,
    /// What escapes, in source order.
    pub escapes: Vec<Escape>,
    /// What stays on the stack, in source order.
    pub does_not_escape: Vec<NoEscape>,
    /// Calls inlined into it, in source order.
    pub inlined_calls: Vec<InlinedCall>,
    /// The bounds checks the compiler kept (`Found IsInBounds`), in source
    /// order; empty unless the build asked for them (a bounds check not
    /// here was eliminated or never needed).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub bounds_checks: Vec<BoundsCheck>,
    /// The nil checks the compiler kept or removed, in source order (as
    /// printed, one per line); empty unless the build asked for them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub nil_checks: Vec<NilCheck>,
}

/// Everything read from one build's diagnostics.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The `# pkg` headers, in order.
    pub packages: Vec<String>,
    /// The functions, by package, file and declaration line.
    pub functions: Vec<Function>,
    /// Whether any `-m=2` explanation (flow lines, costs) was seen.
    pub detailed: bool,
    /// Lines that looked like diagnostics but were not understood (skipped).
    pub skipped: Vec<String>,
    /// Whether bounds-check or nil-check lines were seen (or the build
    /// asked for them): then a function without bounds checks has none
    /// left.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub checks: bool,
}

impl Report {
    /// Every escape with its function, in report order.
    pub fn escapes(&self) -> impl Iterator<Item = (&Function, &Escape)> {
        self.functions
            .iter()
            .flat_map(|f| f.escapes.iter().map(move |e| (f, e)))
    }

    /// Every bounds check kept, with its function, in report order.
    pub fn bounds_checks(&self) -> impl Iterator<Item = (&Function, &BoundsCheck)> {
        self.functions
            .iter()
            .flat_map(|f| f.bounds_checks.iter().map(move |c| (f, c)))
    }

    /// Every nil check, kept or removed, with its function.
    pub fn nil_checks(&self) -> impl Iterator<Item = (&Function, &NilCheck)> {
        self.functions
            .iter()
            .flat_map(|f| f.nil_checks.iter().map(move |c| (f, c)))
    }
}
