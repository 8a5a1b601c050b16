//! The streaming parser: logical lines in, incidents and race reports out.
//!
//! One state machine reads every text format the Go runtime prints:
//! panics and fatal errors with their goroutines, SIGQUIT dumps,
//! `/debug/pprof/goroutine?debug=1` and `?debug=2`, and race reports, in any
//! order and mixed with unrelated output. Goroutines are grouped as they
//! stream past, so memory grows with the number of distinct stacks, not
//! with the size of the input.

use gosleuth_model::{
    Ancestor, Frame, FrameRef, Goroutine, Group, Grouper, Incident, IncidentKind, PanicValue,
    RaceReport, Similarity, Stack, Status, TestRun, cause, merge_groups, sort_groups,
};

use std::collections::{HashMap, VecDeque};

use crate::framing::unwrap_line;
use crate::gotest::{self, Context, Recorder, Test2Json, looks_like_event};
use crate::lines::{self, FileLine};
use crate::race;

/// How to parse.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// How alike stacks must be to share a group.
    pub similarity: Similarity,
    /// Keep every goroutine in [`Incident::goroutines`] (costs memory
    /// proportional to the input).
    pub keep_goroutines: bool,
}

/// Everything found in one input.
#[derive(Debug, Default)]
pub struct Evidence {
    pub incidents: Vec<Incident>,
    /// Race reports, deduplicated by their pair of access sites.
    pub races: Vec<RaceReport>,
    /// `Found N data race(s)` as printed (summed over the input).
    pub races_found: Option<u64>,
    /// Physical lines read.
    pub lines: u64,
    /// Lines inside a goroutine or report that could not be understood, and
    /// other problems, with their line numbers (at most [`MAX_WARNINGS`],
    /// then a line counting the rest).
    pub warnings: Vec<String>,
    /// Incidents read but not kept: beyond [`MAX_INCIDENTS`], only the
    /// first and the last half are kept (a warning says so).
    pub incidents_omitted: u64,
    /// Distinct race reports beyond [`MAX_RACES`], read but not kept.
    pub races_omitted: u64,
    /// [`Options::keep_goroutines`] was asked for, but the goroutines passed
    /// [`KEEP_BUDGET`]: every incident keeps only its groups.
    pub goroutines_dropped: bool,
    /// Warnings beyond [`MAX_WARNINGS`], only counted.
    pub warnings_omitted: u64,
    /// `go test` results: packages, tests, build errors.
    pub tests: TestRun,
}

impl Evidence {
    /// Every incident's groups merged and ordered, with the goroutines
    /// they hold: what `triage --compare` compares.
    pub fn all_groups(&self) -> (u64, Vec<Group>) {
        let mut groups: Vec<Group> = self
            .incidents
            .iter()
            .flat_map(|i| i.groups.clone())
            .collect();
        sort_groups(&mut groups);
        (self.incidents.iter().map(|i| i.total).sum(), groups)
    }

    /// Adds the warnings that say what the parser's bounds left out (once,
    /// for the whole input).
    fn summarize(&mut self) {
        if self.incidents_omitted > 0 {
            self.warnings.push(format!(
                "{} incidents not shown: past {MAX_INCIDENTS}, only the first {} and the last {} \
                 are kept",
                self.incidents_omitted,
                MAX_INCIDENTS / 2,
                MAX_INCIDENTS / 2
            ));
        }
        if self.races_omitted > 0 {
            self.warnings.push(format!(
                "{} race reports not shown: past {MAX_RACES} distinct races, only repeats of \
                 those are counted",
                self.races_omitted
            ));
        }
        if self.warnings_omitted > 0 {
            self.warnings
                .push(format!("... and {} more warnings", self.warnings_omitted));
        }
    }

    /// True when the input shows a failure: a panic, a fatal error, a
    /// crash signal, a data race, a failed test or a package that failed
    /// to build.
    pub fn has_failure(&self) -> bool {
        !self.races.is_empty()
            || self.tests.failed_tests().next().is_some()
            || self.tests.packages.iter().any(|p| p.outcome.failed())
            || self.incidents.iter().any(|i| {
                matches!(i.kind, IncidentKind::Panic | IncidentKind::Fatal)
                    || (i.kind == IncidentKind::Signal
                        && i.signal.as_ref().is_some_and(|s| s.name != "SIGQUIT"))
            })
    }
}

/// Where the state machine is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Outside any incident.
    Idle,
    /// After `panic:`/`fatal error:`/`SIGQUIT:` and before the goroutines.
    Header,
    /// Inside an incident, between goroutines.
    Between,
    /// Reading a goroutine's frames.
    Goroutine,
    /// Reading a record of a `debug=1` goroutine profile.
    ProfileRecord,
}

/// An incident being read, with its goroutines streaming into groups.
struct Open {
    incident: Incident,
    grouper: Grouper,
    /// Consecutive lines that did not belong to the incident.
    stray: u32,
    /// The next ancestor of the first goroutine to look out for.
    want_parent: Option<u64>,
    /// Creation sites of the first goroutine's parents, nearest first.
    parents: Vec<gosleuth_model::Frame>,
    /// Panics of the chain beyond [`MAX_PANICS`], not kept.
    panics_omitted: u64,
}

/// Consecutive unrecognised lines after which an open incident is closed.
const MAX_STRAY: u32 = 20;

// Bounds on what one input can make the parser keep. Each is far above
// what the Go runtime prints, so real evidence never meets them; hostile
// or mangled input (a grep of `panic:` lines, a stream without line
// breaks) is read in bounded memory, and what was cut is said.

/// Warnings kept (further ones are only counted).
pub const MAX_WARNINGS: usize = 100;
/// Physical lines longer than this are read up to this length (as the
/// logs scanner does), so input without line breaks takes bounded memory.
pub const MAX_LINE: usize = 1 << 20;
/// Logical lines (a line of a stack inside a JSON record, say) are cut to
/// this length; no line of a traceback comes near it.
pub const MAX_LOGICAL_LINE: usize = 64 << 10;
/// Panics of one chain kept: the first `MAX_PANICS - 1` and the last
/// (the runtime prints one per nested panic; a chain this long is a
/// recursion of re-panics or not a chain at all).
pub const MAX_PANICS: usize = 16;
/// Bytes of one panic value or fatal-error message kept.
pub const MAX_MESSAGE: usize = 64 << 10;
/// `runtime: ...` and `[...]` lines kept per incident, and their length.
const MAX_NOTES: usize = 32;
const MAX_NOTE: usize = 1024;
/// Frames kept per goroutine (the runtime prints at most 100, then elides);
/// further ones are counted as elided.
pub const MAX_FRAMES: usize = 1024;
/// `[originating from goroutine N]` ancestors kept per goroutine.
const MAX_ANCESTORS: usize = 64;
/// Bytes of function names, arguments and paths kept per goroutine.
const MAX_STACK_TEXT: usize = 4 << 20;
/// Incidents kept per input: the first half and the last half of this
/// many; those between are counted in [`Evidence::incidents_omitted`].
pub const MAX_INCIDENTS: usize = 1000;
/// Distinct race reports kept (repeats of a kept one are counted in its
/// `occurrences`).
pub const MAX_RACES: usize = 1000;
/// Bytes of one race report's lines kept.
const MAX_RACE_BLOCK: usize = 1 << 20;
/// With [`Options::keep_goroutines`], about this many bytes of goroutines
/// are kept; past it every goroutine is dropped and incidents keep their
/// groups ([`Evidence::goroutines_dropped`]), so memory follows the number
/// of distinct stacks again.
pub const KEEP_BUDGET: usize = 128 << 20;

/// Streams text in, produces [`Evidence`].
pub struct Parser {
    opts: Options,
    evidence: Evidence,
    races: Vec<RaceReport>,
    mode: Mode,
    open: Option<Open>,
    /// The goroutine being read: header fields here, frames in `raw`.
    goroutine: Option<Goroutine>,
    raw: RawStack,
    /// A function line waiting for its file line: (function, args) in `raw.buf`.
    pending: Option<(Span, Span)>,
    /// The next file line belongs to `created by`: the function in `raw.buf`.
    created_by_pending: Option<Span>,
    ancestor: Option<Ancestor>,
    /// Lines of a race report being collected.
    race_block: Option<(u64, Vec<String>)>,
    /// Bytes in `race_block` (at most [`MAX_RACE_BLOCK`] are kept).
    race_bytes: usize,
    /// Where each distinct race (by its pair of sites) is in `races`.
    race_index: HashMap<Vec<String>, usize>,
    /// `runtime: ...` lines seen before a fatal error.
    runtime_notes: Vec<String>,
    /// Name of the last failing test (`--- FAIL: TestX`).
    last_test: Option<String>,
    /// A partial physical line from the previous chunk.
    carry: Vec<u8>,
    /// The carried line passed [`MAX_LINE`]: the rest of it is skipped.
    carry_long: bool,
    line_no: u64,
    /// Bytes of goroutines kept with [`Options::keep_goroutines`].
    kept_bytes: usize,
    /// The latest incidents once [`MAX_INCIDENTS`]` / 2` are kept.
    tail: VecDeque<Incident>,
    /// `go test -json` events being put back together.
    test2json: Test2Json,
    /// Lines of the current test2json event (kept for its allocation).
    event_lines: Vec<String>,
    /// `go test` results as they are read.
    tests: Recorder,
}

impl Parser {
    pub fn new(opts: Options) -> Parser {
        Parser {
            opts,
            evidence: Evidence::default(),
            races: Vec::new(),
            mode: Mode::Idle,
            open: None,
            goroutine: None,
            raw: RawStack::default(),
            pending: None,
            created_by_pending: None,
            ancestor: None,
            race_block: None,
            race_bytes: 0,
            race_index: HashMap::new(),
            runtime_notes: Vec::new(),
            last_test: None,
            carry: Vec::new(),
            carry_long: false,
            line_no: 0,
            kept_bytes: 0,
            tail: VecDeque::new(),
            test2json: Test2Json::default(),
            event_lines: Vec::new(),
            tests: Recorder::default(),
        }
    }

    /// A parser for a part of an input that starts at a goroutine header
    /// inside a dump, `lines_before` lines into the input (see
    /// [`parse_parallel`]).
    fn continuing(opts: Options, lines_before: u64) -> Parser {
        let mut p = Parser::new(opts);
        p.line_no = lines_before;
        p.open_incident(Incident::new(IncidentKind::Dump, lines_before + 1));
        p.mode = Mode::Between;
        p
    }

    /// Feeds a chunk of input; lines may span chunks. A line longer than
    /// [`MAX_LINE`] is read up to that length (with a warning).
    pub fn feed(&mut self, chunk: &[u8]) {
        let mut rest = chunk;
        if !self.carry.is_empty() || self.carry_long {
            match memchr::memchr(b'\n', rest) {
                Some(i) => {
                    self.push_carry(&rest[..i]);
                    self.end_carry();
                    rest = &rest[i + 1..];
                }
                None => {
                    self.push_carry(rest);
                    return;
                }
            }
        }
        let mut start = 0;
        for nl in memchr::memchr_iter(b'\n', rest) {
            let line = &rest[start..nl];
            if line.len() > MAX_LINE {
                self.physical_line(&line[..MAX_LINE]);
                self.long_line();
            } else {
                self.physical_line(line);
            }
            start = nl + 1;
        }
        self.push_carry(&rest[start..]);
    }

    fn push_carry(&mut self, bytes: &[u8]) {
        let room = MAX_LINE.saturating_sub(self.carry.len());
        if bytes.len() > room {
            self.carry_long = true;
        }
        self.carry
            .extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    /// Reads the carried line (its end has come, or the input's).
    fn end_carry(&mut self) {
        let line = std::mem::take(&mut self.carry);
        let long = std::mem::replace(&mut self.carry_long, false);
        self.physical_line(&line);
        if long {
            self.long_line();
        }
        // Keep the allocation for the next partial line.
        self.carry = line;
        self.carry.clear();
    }

    fn long_line(&mut self) {
        self.warn(format!(
            "line {}: longer than {} MiB; read up to that length",
            self.line_no,
            MAX_LINE >> 20
        ));
    }

    /// Like [`Parser::finish`], also saying whether the last incident was
    /// still open at the end (so the next part may continue it). The
    /// summary warnings are left to the merge.
    fn finish_part(mut self) -> (Evidence, bool) {
        if !self.carry.is_empty() || self.carry_long {
            self.end_carry();
        }
        let open = self.open.is_some() && self.race_block.is_none();
        (self.finish_parts(), open)
    }

    /// Ends the input and returns what was found.
    pub fn finish(self) -> Evidence {
        let mut e = self.finish_parts();
        e.summarize();
        e
    }

    fn finish_parts(mut self) -> Evidence {
        if !self.carry.is_empty() || self.carry_long {
            self.end_carry();
        }
        let pending = std::mem::take(&mut self.test2json).finish();
        for l in pending {
            self.logical(&l, Context::Text);
        }
        if let Some((line, block)) = self.race_block.take() {
            self.finish_race(line, &block);
        }
        self.close_incident();
        self.evidence.tests = std::mem::take(&mut self.tests).finish();
        let tail = std::mem::take(&mut self.tail);
        self.evidence.incidents.extend(tail);
        self.evidence.races = std::mem::take(&mut self.races);
        self.evidence
    }

    fn physical_line(&mut self, raw: &[u8]) {
        self.line_no += 1;
        self.evidence.lines += 1;
        // Valid UTF-8 (nearly every line) is checked faster than it is
        // repaired.
        let text = match std::str::from_utf8(raw) {
            Ok(t) => std::borrow::Cow::Borrowed(t),
            Err(_) => String::from_utf8_lossy(raw),
        };
        if looks_like_event(&text) && self.json_line(&text) {
            return;
        }
        // A CI log or docker may wrap test2json lines too.
        unwrap_line(&text, &mut |l, _| {
            if !(l.starts_with('{') && looks_like_event(l) && self.json_line(l)) {
                self.logical(cut(l, MAX_LOGICAL_LINE), Context::Text);
            }
        });
    }

    /// A test2json event line: its output lines, then the event. False
    /// when the line is not an event after all.
    fn json_line(&mut self, line: &str) -> bool {
        let mut out = std::mem::take(&mut self.event_lines);
        let Some(ev) = self.test2json.event(line, &mut out) else {
            self.event_lines = out;
            return false;
        };
        let ctx = Context::Json {
            package: ev.package(),
            test: ev.test(),
            build: ev.is_build(),
        };
        for l in out.drain(..) {
            self.logical(cut(&l, MAX_LOGICAL_LINE), ctx);
        }
        self.tests.event(&ev, self.line_no);
        self.event_lines = out;
        true
    }

    /// One logical line, read for tracebacks and for test results.
    fn logical(&mut self, l: &str, ctx: Context<'_>) {
        self.tests.context(ctx);
        self.line(l);
        let in_incident = self.mode != Mode::Idle || self.race_block.is_some();
        self.tests.line(l, ctx, self.line_no, in_incident);
    }

    fn warn(&mut self, msg: String) {
        if self.evidence.warnings.len() < MAX_WARNINGS {
            self.evidence.warnings.push(msg);
        } else {
            self.evidence.warnings_omitted += 1;
        }
    }

    /// One logical line.
    fn line(&mut self, l: &str) {
        if let Some((_, block)) = &mut self.race_block {
            let t = l.trim_end();
            if t == race::SEPARATOR {
                if let Some((line, block)) = self.race_block.take() {
                    self.finish_race(line, &block);
                }
                return;
            }
            if block.is_empty() && t != race::WARNING {
                // A separator line that does not open a race report.
                self.race_block = None;
            } else if block.is_empty() || race::continues_block(t) {
                if self.race_bytes < MAX_RACE_BLOCK {
                    self.race_bytes += l.len();
                    block.push(l.to_string());
                }
                return;
            } else {
                // The report ended without its closing separator.
                if let Some((line, block)) = self.race_block.take() {
                    self.finish_race(line, &block);
                }
            }
        }
        if l.trim_end() == race::SEPARATOR {
            self.end_goroutine();
            self.tests.race_opened(self.line_no);
            self.race_block = Some((self.line_no, Vec::new()));
            self.race_bytes = 0;
            return;
        }
        if l.trim_end() == race::WARNING {
            // A report whose opening separator was lost.
            self.end_goroutine();
            self.tests.race_opened(self.line_no);
            self.race_block = Some((self.line_no, vec![l.to_string()]));
            self.race_bytes = l.len();
            return;
        }

        // File lines are half of every dump: straight to the goroutine.
        if self.mode == Mode::Goroutine && l.starts_with('\t') {
            self.goroutine_line(l);
            return;
        }
        // Lines that can appear anywhere.
        match l.as_bytes().first() {
            Some(b'g') => {
                if let Some(h) = lines::goroutine_header(l) {
                    self.start_goroutine(h);
                    return;
                }
                if let Some(total) = lines::profile_header(l) {
                    self.profile_start(total);
                    return;
                }
            }
            Some(b'p') => {
                if let Some(rest) = l.strip_prefix("panic: ") {
                    self.panic_line(rest);
                    return;
                }
            }
            Some(b'f') => {
                if let Some(rest) = l.strip_prefix("fatal error: ") {
                    self.fatal_line(rest);
                    return;
                }
            }
            Some(b'F') => {
                if let Some(n) = race_summary(l) {
                    *self.evidence.races_found.get_or_insert(0) += n;
                    return;
                }
            }
            Some(b'-') => {
                if let Some(test) = l.strip_prefix("--- FAIL: ") {
                    self.last_test = test.split(' ').next().map(String::from);
                }
            }
            Some(b' ')
                if l.trim_start().starts_with("testing.go:")
                    && l.ends_with("race detected during execution of test") =>
            {
                let test = self.last_test.clone();
                for r in self.races.iter_mut().filter(|r| r.test.is_none()) {
                    r.test.clone_from(&test);
                }
            }
            Some(_) if self.mode != Mode::Goroutine => {
                if let Some(total) = lines::profile_header(l) {
                    // `goroutineleak profile: total N` and friends.
                    self.profile_start(total);
                    return;
                }
            }
            _ => {}
        }

        match self.mode {
            Mode::Goroutine => self.goroutine_line(l),
            Mode::ProfileRecord => self.profile_line(l),
            Mode::Header => self.header_line(l),
            Mode::Between => self.between_line(l),
            Mode::Idle => self.idle_line(l),
        }
    }

    fn profile_start(&mut self, total: u64) {
        self.close_incident();
        let mut inc = Incident::new(IncidentKind::Profile, self.line_no);
        inc.notes
            .push(format!("profile reports {total} goroutines"));
        self.open_incident(inc);
        self.mode = Mode::Between;
    }

    fn idle_line(&mut self, l: &str) {
        if l.starts_with("runtime: ") {
            if self.runtime_notes.len() < 8 {
                self.runtime_notes.push(l.to_string());
            }
            return;
        }
        if let Some(sig) = lines::signal_header(l) {
            let mut inc = Incident::new(IncidentKind::Signal, self.line_no);
            inc.signal = Some(sig);
            self.open_incident(inc);
            self.mode = Mode::Header;
            return;
        }
        if !l.is_empty() && !l.starts_with("runtime: ") {
            self.runtime_notes.clear();
        }
    }

    fn header_line(&mut self, l: &str) {
        let Some(open) = &mut self.open else {
            self.mode = Mode::Idle;
            return;
        };
        let inc = &mut open.incident;
        if let Some(rest) = l
            .strip_prefix(['\t', ' '])
            .and_then(|r| r.trim_start().strip_prefix("panic: "))
        {
            // Later panics of a chain are indented (a tab; spaces when a
            // log or a web page re-indented it).
            push_panic(open, panic_value(rest));
        } else if let Some(sig) = lines::signal_line(l) {
            match &mut inc.signal {
                Some(s) if s.addr.is_none() => {
                    s.addr = sig.addr;
                    s.pc = s.pc.or(sig.pc);
                    s.code = sig.code;
                }
                _ => inc.signal = Some(sig),
            }
        } else if let Some(pc) = lines::signal_pc(l) {
            if let Some(s) = &mut inc.signal {
                s.pc = Some(pc);
            }
        } else if let Some(sig) = lines::signal_header(l) {
            if inc.signal.is_none() {
                inc.signal = Some(sig);
            }
        } else if l.is_empty() {
            // The blank line between the header and the goroutines.
        } else if l.starts_with("goroutine running on other thread") {
        } else if let Some(rest) = l.strip_prefix('\t') {
            // Continuation of a multi-line panic value.
            if let Some(p) = inc.panics.last_mut() {
                append_line(&mut p.message, rest);
            }
        } else if l.starts_with("runtime: ") || l.starts_with("[") {
            if inc.notes.len() < MAX_NOTES {
                inc.notes.push(cut(l, MAX_NOTE).to_string());
            }
        } else if let Some(p) = inc.panics.last_mut().filter(|_| inc.total == 0) {
            // Older releases print multi-line values without indentation.
            append_line(&mut p.message, l);
        } else {
            self.between_line(l);
        }
    }

    fn between_line(&mut self, l: &str) {
        if self
            .open
            .as_ref()
            .is_some_and(|o| o.incident.kind == IncidentKind::Profile)
        {
            if let Some(count) = lines::profile_record(l) {
                self.raw.clear();
                self.goroutine = Some(Goroutine {
                    count,
                    status: Status::Unknown,
                    ..Goroutine::default()
                });
                self.mode = Mode::ProfileRecord;
                return;
            }
        }
        if l.trim().is_empty() || is_register_line(l) || l.starts_with("-----") {
            return;
        }
        if let Some(code) = lines::exit_status(l) {
            if let Some(open) = &mut self.open {
                open.incident.exit_status = Some(code);
            }
            self.close_incident();
            return;
        }
        if let Some(sig) = lines::signal_line(l) {
            if let Some(open) = &mut self.open {
                open.incident.signal.get_or_insert(sig);
            }
            return;
        }
        if lines::signal_header(l).is_some() || lines::signal_pc(l).is_some() {
            // A second signal while dumping (`SIGQUIT` during crash).
            return;
        }
        let Some(open) = &mut self.open else {
            self.mode = Mode::Idle;
            return;
        };
        open.stray += 1;
        if open.stray >= MAX_STRAY || is_terminator(l) {
            self.close_incident();
            self.idle_line(l);
        }
    }

    fn goroutine_line(&mut self, l: &str) {
        if l.trim().is_empty() {
            self.end_goroutine();
            self.mode = if self.open.is_some() {
                Mode::Between
            } else {
                Mode::Idle
            };
            return;
        }
        if let Some(fl) = lines::file_line(l) {
            if let Some(function) = self.created_by_pending.take() {
                let frame = self.raw.frame(function, Span::EMPTY, &fl);
                self.set_created_by(frame);
                return;
            }
            if let Some((function, args)) = self.pending.take() {
                let mut frame = self.raw.frame(function, args, &fl);
                // Inlined frames print `(...)` and no `+0x` offset.
                frame.inlined = fl.offset.is_none() && self.raw.get(args) == "...";
                self.push_raw(frame);
                return;
            }
            self.warn(format!(
                "line {}: file line without a function: {l:.120}",
                self.line_no
            ));
            return;
        }
        self.flush_pending();
        if let Some((function, parent)) = lines::created_by(l) {
            self.created_by_pending = Some(self.raw.push(function));
            if self.ancestor.is_none() {
                if let Some(g) = &mut self.goroutine {
                    g.parent_id = parent;
                }
            }
            return;
        }
        if let Some(n) = lines::elided(l) {
            if let Some(g) = &mut self.goroutine {
                *g.elided_frames.get_or_insert(0) += n;
            }
            return;
        }
        if let Some(id) = lines::originating_from(l) {
            self.flush_ancestor();
            self.ancestor = Some(Ancestor {
                id,
                frames: Vec::new(),
                created_by: None,
            });
            return;
        }
        if l.trim_start()
            .starts_with("goroutine running on other thread")
        {
            if let Some(g) = &mut self.goroutine {
                g.stack_unavailable = true;
            }
            return;
        }
        if let Some((function, args)) = lines::function_line(l, true) {
            self.pending = Some((self.raw.push(function), self.raw.push(args)));
            return;
        }
        // Something else: the goroutine ended without a blank line (other
        // output follows the dump).
        self.end_goroutine();
        if self.open.is_some() {
            self.mode = Mode::Between;
            self.between_line(l);
        } else {
            self.mode = Mode::Idle;
            self.idle_line(l);
        }
    }

    fn profile_line(&mut self, l: &str) {
        if l.trim().is_empty() {
            self.end_goroutine();
            self.mode = Mode::Between;
            return;
        }
        if let Some(labels) = lines::profile_labels(l) {
            if let Some(g) = &mut self.goroutine {
                g.labels = labels;
            }
            return;
        }
        if let Some((pc, function, offset, file, line)) = lines::profile_frame(l) {
            let function = self.raw.push(function);
            let file = self.raw.push(file);
            self.push_raw(RawFrame {
                function,
                args: Span::EMPTY,
                file,
                line,
                offset,
                pc: Some(pc),
                inlined: false,
            });
            return;
        }
        if let Some(count) = lines::profile_record(l) {
            self.end_goroutine();
            self.raw.clear();
            self.goroutine = Some(Goroutine {
                count,
                ..Goroutine::default()
            });
            return;
        }
        self.end_goroutine();
        self.mode = Mode::Between;
        self.between_line(l);
    }

    fn push_raw(&mut self, frame: RawFrame) {
        let full = match &self.ancestor {
            Some(a) => a.frames.len() >= MAX_FRAMES,
            None => self.raw.frames.len() >= MAX_FRAMES,
        };
        if full {
            // Counted as elided, as the runtime does past its own limit.
            if let Some(g) = &mut self.goroutine {
                let n = g.elided_frames.get_or_insert(0);
                *n += 1;
                if *n == 1 {
                    let msg = format!(
                        "line {}: goroutine {} has more than {MAX_FRAMES} frames; the rest are \
                         counted as elided",
                        self.line_no, g.id
                    );
                    self.warn(msg);
                }
            }
            return;
        }
        if let Some(a) = &mut self.ancestor {
            a.frames.push(self.raw.materialize(&frame));
        } else if self.goroutine.is_some() {
            self.raw.frames.push(frame);
        }
    }

    fn set_created_by(&mut self, frame: RawFrame) {
        if let Some(a) = &mut self.ancestor {
            a.created_by = Some(self.raw.materialize(&frame));
        } else {
            self.raw.created_by = Some(frame);
        }
    }

    /// A function line with no file line after it (truncated input).
    fn flush_pending(&mut self) {
        if let Some((function, args)) = self.pending.take() {
            let msg = format!(
                "line {}: frame {} has no file line (truncated?)",
                self.line_no,
                self.raw.get(function)
            );
            self.warn(msg);
            self.push_raw(RawFrame {
                function,
                args,
                file: Span::EMPTY,
                line: 0,
                offset: None,
                pc: None,
                inlined: false,
            });
        }
    }

    fn flush_ancestor(&mut self) {
        if let Some(a) = self.ancestor.take() {
            if let Some(g) = &mut self.goroutine {
                if g.ancestors.len() < MAX_ANCESTORS {
                    g.ancestors.push(a);
                }
            }
        }
    }

    fn start_goroutine(&mut self, h: lines::GoroutineHeader) {
        self.end_goroutine();
        self.raw.clear();
        if self.open.is_none() {
            self.open_incident(Incident::new(IncidentKind::Dump, self.line_no));
        }
        self.goroutine = Some(Goroutine {
            id: h.id,
            status: h.status,
            state: h.state,
            wait_minutes: h.wait_minutes,
            locked: h.locked,
            extra: h.extra,
            count: 1,
            ..Goroutine::default()
        });
        self.mode = Mode::Goroutine;
    }

    fn end_goroutine(&mut self) {
        self.flush_pending();
        if let Some(function) = self.created_by_pending.take() {
            let frame = RawFrame {
                function,
                args: Span::EMPTY,
                file: Span::EMPTY,
                line: 0,
                offset: None,
                pc: None,
                inlined: false,
            };
            self.set_created_by(frame);
        }
        self.flush_ancestor();
        let Some(shell) = self.goroutine.take() else {
            return;
        };
        let Some(open) = &mut self.open else {
            return;
        };
        let view = RawView {
            shell: &shell,
            raw: &self.raw,
        };
        open.stray = 0;
        // Follow the first goroutine's parents as they stream past, so the
        // root cause can show the chain of `go` statements behind it.
        if open.want_parent.is_some_and(|p| p == shell.id) {
            if let Some(c) = &self.raw.created_by {
                open.parents.push(self.raw.materialize(c));
            }
            open.want_parent = shell.parent_id;
        }
        if open.incident.first.is_none() {
            open.want_parent = shell.parent_id;
        }
        open.incident.total = open.incident.total.saturating_add(shell.count.max(1));
        open.grouper.add_stack(&view);
        if self.opts.keep_goroutines && !self.evidence.goroutines_dropped {
            self.kept_bytes += std::mem::size_of::<Goroutine>()
                + self.raw.frames.len() * std::mem::size_of::<Frame>()
                + self.raw.buf.len();
            if self.kept_bytes <= KEEP_BUDGET {
                open.incident.goroutines.push(view.to_goroutine());
            } else {
                // Past the budget: every incident keeps its groups only.
                open.incident.goroutines = Vec::new();
                for inc in self.evidence.incidents.iter_mut().chain(&mut self.tail) {
                    inc.goroutines = Vec::new();
                }
                self.evidence.goroutines_dropped = true;
            }
        }
        if open.incident.first.is_none() {
            open.incident.first = Some(view.to_goroutine());
        }
        if self.evidence.goroutines_dropped && self.kept_bytes > KEEP_BUDGET {
            self.kept_bytes = 0;
            let msg = format!(
                "line {}: more than {} MiB of goroutines; each incident keeps its groups of \
                 goroutines with the same stack, not every goroutine",
                self.line_no,
                KEEP_BUDGET >> 20
            );
            self.warn(msg);
        }
    }

    fn panic_line(&mut self, rest: &str) {
        let continuing = self.mode == Mode::Header
            && self
                .open
                .as_ref()
                .is_some_and(|o| o.incident.kind == IncidentKind::Panic && o.incident.total == 0);
        if continuing {
            if let Some(open) = &mut self.open {
                push_panic(open, panic_value(rest));
            }
            return;
        }
        self.end_goroutine();
        self.close_incident();
        let mut inc = Incident::new(IncidentKind::Panic, self.line_no);
        inc.panics.push(panic_value(rest));
        self.open_incident(inc);
        self.mode = Mode::Header;
    }

    fn fatal_line(&mut self, msg: &str) {
        self.end_goroutine();
        // `panic: ...` followed by `fatal error: ...` (a panic during panic,
        // or a fatal error raised while printing) belongs to one incident.
        if let Some(open) = &mut self.open {
            if open.incident.total == 0 && open.incident.fatal.as_deref() == Some(msg) {
                // Two goroutines hit the same fatal error at once and both
                // printed the line (seen with `concurrent map writes`).
                return;
            }
            if open.incident.total == 0 && open.incident.fatal.is_none() {
                open.incident.fatal = Some(cut(msg, MAX_MESSAGE).to_string());
                if open.incident.kind == IncidentKind::Signal {
                    open.incident.kind = IncidentKind::Fatal;
                }
                self.mode = Mode::Header;
                return;
            }
        }
        self.close_incident();
        let mut inc = Incident::new(IncidentKind::Fatal, self.line_no);
        inc.fatal = Some(cut(msg, MAX_MESSAGE).to_string());
        inc.notes = std::mem::take(&mut self.runtime_notes);
        self.open_incident(inc);
        self.mode = Mode::Header;
    }

    fn open_incident(&mut self, incident: Incident) {
        self.close_incident();
        self.tests.incident_opened(incident.line);
        self.open = Some(Open {
            incident,
            grouper: Grouper::new(self.opts.similarity),
            stray: 0,
            want_parent: None,
            parents: Vec::new(),
            panics_omitted: 0,
        });
    }

    fn close_incident(&mut self) {
        self.end_goroutine();
        self.mode = Mode::Idle;
        let Some(open) = self.open.take() else {
            return;
        };
        let mut incident = open.incident;
        if self.evidence.incidents.len() >= MAX_INCIDENTS / 2
            && self.tail.len() >= MAX_INCIDENTS / 2
        {
            // The first and the latest incidents are kept; one between
            // them is dropped.
            self.tail.pop_front();
            self.evidence.incidents_omitted += 1;
        }
        if open.panics_omitted > 0 {
            incident.notes.push(format!(
                "{} more panics of this chain are not shown (the first {} and the last are)",
                open.panics_omitted,
                MAX_PANICS - 1
            ));
        }
        incident.groups = open.grouper.finish();
        incident.root_cause =
            gotest::timeout_cause(&incident).or_else(|| cause::root_cause(&incident));
        if let Some(rc) = &mut incident.root_cause {
            for p in open.parents {
                if !rc.created_by.contains(&p) {
                    rc.created_by.push(p);
                }
            }
        }
        self.tests.incident_closed(&incident);
        if self.evidence.incidents.len() < MAX_INCIDENTS / 2 {
            self.evidence.incidents.push(incident);
        } else {
            self.tail.push_back(incident);
        }
    }

    fn finish_race(&mut self, line: u64, block: &[String]) {
        match race::parse_block(block, line) {
            Some(report) => {
                // Deduplicated as they come, so repeats take no memory.
                let key = report.site_key();
                if let Some(&i) = self.race_index.get(&key) {
                    if let Some(kept) = self.races.get_mut(i) {
                        kept.occurrences += report.occurrences;
                    }
                } else if self.races.len() < MAX_RACES {
                    self.race_index.insert(key, self.races.len());
                    self.races.push(report);
                } else {
                    self.evidence.races_omitted += 1;
                }
            }
            None => self.warn(format!("line {line}: unreadable race report")),
        }
    }
}

/// A range of [`RawStack::buf`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    start: u32,
    end: u32,
}

impl Span {
    const EMPTY: Span = Span { start: 0, end: 0 };
}

/// A frame whose strings live in [`RawStack::buf`].
#[derive(Debug, Clone, Copy)]
struct RawFrame {
    function: Span,
    args: Span,
    file: Span,
    line: u32,
    offset: Option<u64>,
    pc: Option<u64>,
    inlined: bool,
}

/// The frames of the goroutine being read, as spans of one reused
/// buffer: reading a goroutine allocates nothing once the buffer has grown,
/// and a [`Goroutine`] is only built when a new group starts.
#[derive(Debug, Default)]
struct RawStack {
    buf: String,
    frames: Vec<RawFrame>,
    created_by: Option<RawFrame>,
}

impl RawStack {
    fn clear(&mut self) {
        self.buf.clear();
        self.frames.clear();
        self.created_by = None;
    }

    fn push(&mut self, s: &str) -> Span {
        let start = self.buf.len();
        // Stacks are small; a goroutine whose text passes
        // MAX_STACK_TEXT keeps empty strings for the rest.
        if start.saturating_add(s.len()) > MAX_STACK_TEXT {
            return Span::EMPTY;
        }
        self.buf.push_str(s);
        Span {
            start: start as u32,
            end: self.buf.len() as u32,
        }
    }

    fn get(&self, span: Span) -> &str {
        self.buf
            .get(span.start as usize..span.end as usize)
            .unwrap_or("")
    }

    fn frame(&mut self, function: Span, args: Span, fl: &FileLine<'_>) -> RawFrame {
        let file = self.push(fl.file);
        RawFrame {
            function,
            args,
            file,
            line: fl.line,
            offset: fl.offset,
            pc: fl.pc,
            inlined: false,
        }
    }

    fn view(&self, f: &RawFrame) -> FrameRef<'_> {
        FrameRef {
            function: self.get(f.function),
            args: self.get(f.args),
            file: self.get(f.file),
            line: f.line,
        }
    }

    fn materialize(&self, f: &RawFrame) -> Frame {
        Frame {
            function: self.get(f.function).to_string(),
            args: self.get(f.args).to_string(),
            file: self.get(f.file).to_string(),
            line: f.line,
            offset: f.offset,
            pc: f.pc,
            inlined: f.inlined,
        }
    }
}

/// A goroutine as the grouper sees it: header fields from the shell,
/// frames from the raw buffer.
struct RawView<'a> {
    shell: &'a Goroutine,
    raw: &'a RawStack,
}

impl Stack for RawView<'_> {
    fn id(&self) -> u64 {
        self.shell.id
    }
    fn count(&self) -> u64 {
        self.shell.count
    }
    fn state(&self) -> &str {
        &self.shell.state
    }
    fn locked(&self) -> bool {
        self.shell.locked
    }
    fn wait_minutes(&self) -> Option<u64> {
        self.shell.wait_minutes
    }
    fn labels(&self) -> &[(String, String)] {
        &self.shell.labels
    }
    fn frames(&self) -> impl Iterator<Item = FrameRef<'_>> {
        self.raw.frames.iter().map(|f| self.raw.view(f))
    }
    fn created_by(&self) -> Option<FrameRef<'_>> {
        self.raw.created_by.as_ref().map(|f| self.raw.view(f))
    }
    fn to_goroutine(&self) -> Goroutine {
        let mut g = self.shell.clone();
        g.frames = self
            .raw
            .frames
            .iter()
            .map(|f| self.raw.materialize(f))
            .collect();
        g.created_by = self
            .raw
            .created_by
            .as_ref()
            .map(|f| self.raw.materialize(f));
        g
    }
}

/// Adds a panic to the open incident's chain: the first
/// `MAX_PANICS - 1` are kept, and the last slot holds the latest.
fn push_panic(open: &mut Open, p: PanicValue) {
    let panics = &mut open.incident.panics;
    if panics.len() < MAX_PANICS {
        panics.push(p);
    } else if let Some(last) = panics.last_mut() {
        *last = p;
        open.panics_omitted += 1;
    }
}

/// Appends a line to a multi-line message, up to [`MAX_MESSAGE`] bytes
/// (then a marker says it was cut, once).
fn append_line(message: &mut String, line: &str) {
    const CUT: &str = "\n... (message cut)";
    if message.len() >= MAX_MESSAGE {
        if !message.ends_with(CUT) {
            message.push_str(CUT);
        }
        return;
    }
    message.push('\n');
    message.push_str(cut(line, MAX_MESSAGE - message.len()));
}

/// `s` cut to at most `max` bytes, at a character boundary.
pub(crate) fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// `VALUE [recovered]`, `VALUE [recovered, repanicked]` or `VALUE`.
fn panic_value(rest: &str) -> PanicValue {
    let rest = rest.trim_end();
    if let Some(m) = rest.strip_suffix(" [recovered, repanicked]") {
        return PanicValue {
            message: m.to_string(),
            recovered: true,
            repanicked: true,
        };
    }
    if let Some(m) = rest.strip_suffix(" [recovered]") {
        return PanicValue {
            message: m.to_string(),
            recovered: true,
            repanicked: false,
        };
    }
    PanicValue {
        message: rest.to_string(),
        recovered: false,
        repanicked: false,
    }
}

/// `Found 2 data race(s)`
fn race_summary(l: &str) -> Option<u64> {
    l.trim()
        .strip_prefix("Found ")?
        .strip_suffix(" data race(s)")?
        .parse()
        .ok()
}

/// `rax    0x0` lines of a GOTRACEBACK=crash register dump.
fn is_register_line(l: &str) -> bool {
    let mut parts = l.split_whitespace();
    match (parts.next(), parts.next(), parts.next()) {
        (Some(reg), Some(val), None) => {
            reg.len() <= 6
                && reg
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
                && val.starts_with("0x")
        }
        _ => false,
    }
}

/// Lines after which no more goroutines of the incident follow.
fn is_terminator(l: &str) -> bool {
    l.starts_with("FAIL")
        || l.starts_with("--- FAIL")
        || l.starts_with("ok  ")
        || l == "PASS"
        || l.starts_with("exit status")
}

/// Parses a whole input at once.
pub fn parse(input: &[u8], opts: Options) -> Evidence {
    let mut p = Parser::new(opts);
    p.feed(input);
    p.finish()
}

/// Inputs smaller than this are parsed on one thread.
const PARALLEL_MIN: usize = 32 << 20;

/// Parses a whole input on up to `threads` threads, with the same result
/// as [`parse`] except that the chain of parents behind the goroutine that
/// panicked is only followed within the first part.
///
/// The input is cut only where a goroutine header follows a blank line:
/// there a sequential parse is between two goroutines of one dump, so each
/// part can be parsed alone and the parts' groups merged.
pub fn parse_parallel(input: &[u8], opts: Options, threads: usize) -> Evidence {
    match parse_parallel_at(input.len() as u64, &slice_reader(input), opts, threads) {
        Ok(e) => e,
        // Reading from a slice cannot fail.
        Err(_) => parse(input, opts),
    }
}

/// A positioned reader over bytes in memory, for the `*_parallel_at`
/// functions (which take `read_at` like `FileExt::read_at`).
pub fn slice_reader(input: &[u8]) -> impl Fn(u64, &mut [u8]) -> std::io::Result<usize> + Sync + '_ {
    move |offset, buf| {
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(input.len());
        let n = buf.len().min(input.len() - start);
        buf[..n].copy_from_slice(&input[start..start + n]);
        Ok(n)
    }
}

/// [`parse_parallel`] over an input of `len` bytes read through `read_at`
/// (like `FileExt::read_at`), in chunks: memory stays bounded by the
/// groups, whatever the size of the input.
pub fn parse_parallel_at<F>(
    len: u64,
    read_at: &F,
    opts: Options,
    threads: usize,
) -> std::io::Result<Evidence>
where
    F: Fn(u64, &mut [u8]) -> std::io::Result<usize> + Sync,
{
    let cuts = split_points(len, read_at, threads)?;
    let mut bounds = vec![0];
    bounds.extend(&cuts);
    bounds.push(len);
    /// One part's parser; its result is the part's evidence, its line
    /// count and whether it ended inside an incident.
    struct PartParser(Parser);
    impl crate::parts::Feed for PartParser {
        type Output = (Evidence, u64, bool);
        fn feed(&mut self, chunk: &[u8]) {
            self.0.feed(chunk);
        }
        fn finish(self) -> Self::Output {
            let lines = self.0.line_no;
            let (e, open) = self.0.finish_part();
            (e, lines, open)
        }
    }
    let results = crate::parts::read_parts(&bounds, read_at, |i| {
        PartParser(if i == 0 {
            Parser::new(opts)
        } else {
            Parser::continuing(opts, 0)
        })
    });
    let mut merged = Evidence::default();
    let mut races = Vec::new();
    let mut prev_open = false;
    let mut lines_before = 0;
    for (i, result) in results.into_iter().enumerate() {
        let (mut e, lines, open_at_end) = result?;
        // Parts after the first counted their lines from zero.
        if i > 0 {
            shift_lines(&mut e, lines_before);
        }
        let mut incidents = e.incidents.into_iter();
        if i > 0 {
            if let Some(cont) = incidents.next() {
                match merged.incidents.last_mut() {
                    Some(last) if prev_open => {
                        last.total += cont.total;
                        last.exit_status = cont.exit_status.or(last.exit_status);
                        merge_groups(&mut last.groups, cont.groups);
                        last.goroutines.extend(cont.goroutines);
                    }
                    _ => merged.incidents.push(cont),
                }
            }
        }
        merged.incidents.extend(incidents);
        races.append(&mut e.races);
        merged.tests.append(std::mem::take(&mut e.tests));
        merged.warnings.append(&mut e.warnings);
        merged.lines += e.lines;
        merged.incidents_omitted += e.incidents_omitted;
        merged.races_omitted += e.races_omitted;
        merged.warnings_omitted += e.warnings_omitted;
        merged.goroutines_dropped |= e.goroutines_dropped;
        if let Some(n) = e.races_found {
            *merged.races_found.get_or_insert(0) += n;
        }
        prev_open = open_at_end;
        lines_before += lines;
    }
    merged.races = race::dedup(races);
    if merged.races.len() > MAX_RACES {
        merged.races_omitted += (merged.races.len() - MAX_RACES) as u64;
        merged.races.truncate(MAX_RACES);
    }
    if merged.incidents.len() > MAX_INCIDENTS {
        let cut = merged.incidents.len() - MAX_INCIDENTS;
        merged.incidents_omitted += cut as u64;
        merged
            .incidents
            .drain(MAX_INCIDENTS / 2..MAX_INCIDENTS / 2 + cut);
    }
    if merged.goroutines_dropped {
        for inc in &mut merged.incidents {
            inc.goroutines = Vec::new();
        }
    }
    if merged.warnings.len() > MAX_WARNINGS {
        merged.warnings_omitted += (merged.warnings.len() - MAX_WARNINGS) as u64;
        merged.warnings.truncate(MAX_WARNINGS);
    }
    merged.summarize();
    Ok(merged)
}

/// Renumbers the lines of a part's findings as lines of the whole input.
fn shift_lines(e: &mut Evidence, by: u64) {
    for i in &mut e.incidents {
        i.line += by;
    }
    for r in &mut e.races {
        r.line += by;
    }
    e.tests.shift_lines(by);
    for w in &mut e.warnings {
        if let Some(rest) = w.strip_prefix("line ") {
            if let Some((n, tail)) = rest.split_once(':') {
                if let Ok(n) = n.parse::<u64>() {
                    *w = format!("line {}:{tail}", n + by);
                }
            }
        }
    }
}

/// Where to cut the input into about `threads` parts: just before a
/// `goroutine ` header that follows a blank line.
fn split_points<F>(len: u64, read_at: &F, threads: usize) -> std::io::Result<Vec<u64>>
where
    F: Fn(u64, &mut [u8]) -> std::io::Result<usize>,
{
    const NEEDLE: &[u8] = b"\n\ngoroutine ";
    if threads < 2 || len < PARALLEL_MIN as u64 {
        return Ok(Vec::new());
    }
    let finder = memchr::memmem::Finder::new(NEEDLE);
    let mut cuts: Vec<u64> = Vec::new();
    let mut buf = vec![0u8; 64 << 10];
    for k in 1..threads as u64 {
        let mut at = len / threads as u64 * k;
        if cuts.last().is_some_and(|&c| c >= at) {
            continue;
        }
        // Scan forward window by window (overlapping by the needle's
        // length) for the first safe cut.
        loop {
            let n = read_at(at, &mut buf)?;
            if n < NEEDLE.len() {
                break;
            }
            if let Some(i) = finder.find(&buf[..n]) {
                cuts.push(at + i as u64 + 2);
                break;
            }
            at += (n - NEEDLE.len() + 1) as u64;
        }
    }
    cuts.dedup();
    Ok(cuts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Evidence {
        parse(
            text.as_bytes(),
            Options {
                keep_goroutines: true,
                ..Options::default()
            },
        )
    }

    /// Formats of releases before 1.21 that the factory cannot build here
    /// (GOTOOLCHAIN starts at 1.21), written as those releases print them.
    #[test]
    fn pre_121_formats() {
        let e = one(
            "panic: boom [recovered]\n\tpanic: boom again\n\ngoroutine 7 [running]:\nmain.f(0xc000012345, 0x5)\n\t/app/main.go:10 +0x25\n...additional frames elided...\ncreated by main.main\n\t/app/main.go:3 +0x4a\n\ngoroutine 1 [chan receive, 5 minutes, locked to thread]:\nmain.main()\n\t/app/main.go:4 +0x1\nexit status 2\n",
        );
        let inc = &e.incidents[0];
        assert_eq!(inc.panics.len(), 2);
        assert!(inc.panics[0].recovered && !inc.panics[1].recovered);
        let g = &inc.goroutines[0];
        assert_eq!(g.elided_frames, Some(0));
        assert_eq!(g.created_by.as_ref().map(|f| f.line), Some(3));
        assert_eq!(g.parent_id, None);
        let g1 = &inc.goroutines[1];
        assert_eq!((g1.wait_minutes, g1.locked), (Some(5), true));
        assert_eq!(inc.exit_status, Some(2));
        assert!(e.warnings.is_empty(), "{:?}", e.warnings);
    }

    #[test]
    fn running_on_other_thread_and_register_dump() {
        let e = one(
            "SIGABRT: abort\nPC=0x46b5a1 m=0 sigcode=0\n\ngoroutine 0 gp=0x5a5e40 m=0 mp=0x5a6b80 [idle]:\nruntime.futex(0x5a6cc0, 0x80)\n\t/go/src/runtime/sys_linux_amd64.s:557 +0x21 fp=0x7ffd sp=0x7ffc pc=0x46b5a1\n\ngoroutine 5 gp=0xc000007340 m=nil [running]:\n\tgoroutine running on other thread; stack unavailable\n\nrax    0xca\nrbx    0x0\n-----\n\ngoroutine 6 [select]:\nmain.g()\n\t/app/main.go:9 +0x1\n",
        );
        assert_eq!(e.incidents.len(), 1, "{:#?}", e.incidents);
        let inc = &e.incidents[0];
        assert_eq!(inc.kind, IncidentKind::Signal);
        assert_eq!(inc.signal.as_ref().and_then(|s| s.pc), Some(0x46b5a1));
        assert_eq!(inc.total, 3);
        let g5 = inc.goroutines.iter().find(|g| g.id == 5).unwrap();
        assert!(g5.stack_unavailable);
        assert!(e.warnings.is_empty(), "{:?}", e.warnings);
    }

    #[test]
    fn two_incidents_and_noise() {
        let e = one(
            "starting\npanic: first\n\ngoroutine 1 [running]:\nmain.main()\n\t/a.go:1 +0x1\nexit status 2\nrestarting\nINFO all good\npanic: second\n\ngoroutine 1 [running]:\nmain.main()\n\t/a.go:2 +0x1\n",
        );
        assert_eq!(e.incidents.len(), 2);
        assert_eq!(e.incidents[1].panics[0].message, "second");
        assert_eq!(e.incidents[1].line, 10);
    }

    #[test]
    fn a_fatal_error_printed_twice_is_one_incident() {
        let e = one(
            "fatal error: concurrent map writes\nfatal error: concurrent map writes\n\ngoroutine 25 [running]:\nmain.Touch(0x0?)\n\t/app/main.go:14 +0x3d\n",
        );
        assert_eq!(e.incidents.len(), 1);
        assert_eq!(
            e.incidents[0]
                .root_cause
                .as_ref()
                .and_then(|r| r.frame.as_ref())
                .map(|f| f.line),
            Some(14)
        );
    }

    #[test]
    fn truncated_frame_is_reported() {
        let e = one("goroutine 1 [running]:\nmain.main()\nsomething else\n");
        assert_eq!(e.incidents.len(), 1);
        assert_eq!(e.warnings.len(), 1, "{:?}", e.warnings);
    }

    #[test]
    fn goroutine_profile_records() {
        let e = one(
            "goroutine profile: total 4\n3 @ 0x1 0x2\n# labels: {\"k\":\"v\"}\n#\t0x1\tmain.f+0x10\t/a.go:3\n\n1 @ 0x3\n#\t0x3\tmain.g+0x1\t\t/a.go:9\n",
        );
        let inc = &e.incidents[0];
        assert_eq!(inc.kind, IncidentKind::Profile);
        assert_eq!(inc.total, 4);
        assert_eq!(inc.groups[0].count, 3);
        assert_eq!(
            inc.groups[0].labels,
            vec![("k".to_string(), "v".to_string())]
        );
    }
}
