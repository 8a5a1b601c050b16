//! The streaming scanner: bytes in, one [`Part`] out. Each physical line
//! is read ([`crate::line`]), grouped into records (a header line and its
//! continuation lines), filtered, and either clustered into a template or,
//! when it is the runtime's own output, handed to the text crate's parser.

use gosleuth_text::{Evidence, Parser};

use crate::Options;
use crate::cluster::{Clusterer, key_hash};
use crate::level::Level;
use crate::line::{LogLine, Payload, Wrapper, parse_line};
use crate::mask::{Masked, mask_into};
use crate::runtime;
use crate::time::Millis;
use crate::timeline::Timeline;

/// Lines longer than this are read only up to this length.
pub const MAX_LINE: usize = 1 << 20;
/// Bytes of a message that are clustered (the rest rarely tells templates apart).
const MAX_MESSAGE: usize = 4096;
/// Lines fed to the text parser after runtime output, so it can close an
/// incident the way it would in a plain file.
const RUNTIME_TAIL: u32 = 24;
/// Continuation lines kept in a template's example.
const EXAMPLE_LINES: usize = 12;
/// Panics and fatal errors handed to the text parser at most: past them
/// (a grep of `panic:` lines, a crash loop), runtime output is counted but
/// not parsed, so that memory and output stay bounded.
pub const MAX_PANICS: u32 = 1000;
/// Marks a line that belongs to no template in assignments.
pub const NO_TEMPLATE: u32 = u32::MAX;

/// What a template's lines add up to.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub count: u64,
    /// Lines that continued these records (stack traces, wrapped text).
    pub continuation_lines: u64,
    pub first: Option<Millis>,
    pub last: Option<Millis>,
    /// The first record, with up to a few of its continuation lines.
    pub example: String,
    /// Its line number (1-based, in the whole input once merged).
    pub example_line: u64,
    pub timeline: Timeline,
}

impl Stats {
    pub(crate) fn merge(&mut self, o: Stats) {
        if self.count == 0 || (o.count > 0 && o.example_line < self.example_line) {
            self.example = o.example;
            self.example_line = o.example_line;
        }
        self.count += o.count;
        self.continuation_lines += o.continuation_lines;
        self.first = match (self.first, o.first) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.last = self.last.max(o.last);
        self.timeline.merge(&o.timeline);
    }
}

/// Counters over the input.
#[derive(Debug, Clone, Default)]
pub struct Counts {
    pub lines: u64,
    pub bytes: u64,
    pub records: u64,
    pub continuation_lines: u64,
    pub runtime_lines: u64,
    /// Lines not handed to the parser past [`MAX_PANICS`].
    pub unparsed_lines: u64,
    pub blank_lines: u64,
    pub filtered_out: u64,
    pub invalid_utf8: u64,
    /// Lines of binary data (not text), left out of the templates.
    pub binary_lines: u64,
    pub long_lines: u64,
    /// Records per level: index 0 for no level, then [`Level::ALL`].
    pub levels: [u64; 8],
    /// Lines per format: [`Wrapper::ALL`] × [`Payload::ALL`].
    pub formats: [[u64; 6]; 6],
    pub start: Option<Millis>,
    pub end: Option<Millis>,
}

impl Counts {
    /// Records per level, levels without records left out.
    pub fn level_counts(&self) -> Vec<(Option<Level>, u64)> {
        std::iter::once(None)
            .chain(Level::ALL.into_iter().map(Some))
            .zip(self.levels)
            .filter(|(_, n)| *n > 0)
            .collect()
    }

    /// Lines per format, formats without lines left out.
    pub fn format_counts(&self) -> Vec<(Wrapper, Payload, u64)> {
        let mut out = Vec::new();
        for (w, row) in Wrapper::ALL.into_iter().zip(self.formats) {
            for (p, n) in Payload::ALL.into_iter().zip(row) {
                if n > 0 {
                    out.push((w, p, n));
                }
            }
        }
        out
    }

    pub(crate) fn merge(&mut self, o: Counts) {
        self.lines += o.lines;
        self.bytes += o.bytes;
        self.records += o.records;
        self.continuation_lines += o.continuation_lines;
        self.runtime_lines += o.runtime_lines;
        self.unparsed_lines += o.unparsed_lines;
        self.blank_lines += o.blank_lines;
        self.filtered_out += o.filtered_out;
        self.invalid_utf8 += o.invalid_utf8;
        self.binary_lines += o.binary_lines;
        self.long_lines += o.long_lines;
        for (a, b) in self.levels.iter_mut().zip(o.levels) {
            *a += b;
        }
        for (ra, rb) in self.formats.iter_mut().zip(o.formats) {
            for (a, b) in ra.iter_mut().zip(rb) {
                *a += b;
            }
        }
        self.start = match (self.start, o.start) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.end = self.end.max(o.end);
    }
}

/// What one scanner found in its part of the input.
#[derive(Debug)]
pub struct Part {
    pub clusterer: Clusterer,
    /// Per cluster of `clusterer`.
    pub stats: Vec<Stats>,
    pub counts: Counts,
    pub evidence: Evidence,
    /// Per physical line: its cluster, or [`NO_TEMPLATE`] (only when asked).
    pub assignments: Vec<u32>,
}

/// Streams a log in, line by line.
pub struct Scanner<'o> {
    opts: &'o Options,
    clusterer: Clusterer,
    stats: Vec<Stats>,
    counts: Counts,
    assignments: Vec<u32>,
    carry: Vec<u8>,
    /// The line being carried was longer than [`MAX_LINE`].
    carry_truncated: bool,
    masked: Masked,
    /// Time of the last record that printed one.
    now: Option<Millis>,
    /// The record the next continuation line belongs to (None when it was
    /// filtered out or there is none).
    record: Option<u32>,
    /// The record created its template: continuation lines go into the
    /// example too.
    example_open: bool,
    in_block: bool,
    tail: u32,
    parser: Parser,
    /// Lines fed to the parser, and where runs of fed lines start:
    /// (parser line, physical line).
    fed: u64,
    last_fed: u64,
    segments: Vec<(u64, u64)>,
    /// Panics and fatal errors fed (see [`MAX_PANICS`]).
    panics: u32,
}

impl<'o> Scanner<'o> {
    pub fn new(opts: &'o Options) -> Scanner<'o> {
        Scanner {
            opts,
            clusterer: Clusterer::new(opts.cluster),
            stats: Vec::new(),
            counts: Counts::default(),
            assignments: Vec::new(),
            carry: Vec::new(),
            carry_truncated: false,
            masked: Masked::default(),
            now: None,
            record: None,
            example_open: false,
            in_block: false,
            tail: 0,
            parser: Parser::new(opts.text),
            fed: 0,
            last_fed: 0,
            segments: Vec::new(),
            panics: 0,
        }
    }

    /// Feeds a chunk; lines may span chunks.
    pub fn feed(&mut self, chunk: &[u8]) {
        self.counts.bytes += chunk.len() as u64;
        let mut rest = chunk;
        if !self.carry.is_empty() || self.carry_truncated {
            match memchr::memchr(b'\n', rest) {
                Some(i) => {
                    self.push_carry(&rest[..i]);
                    let line = std::mem::take(&mut self.carry);
                    let long = std::mem::replace(&mut self.carry_truncated, false);
                    self.physical_line(&line, long);
                    self.carry = line;
                    self.carry.clear();
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
                self.physical_line(&line[..MAX_LINE], true);
            } else {
                self.physical_line(line, false);
            }
            start = nl + 1;
        }
        self.push_carry(&rest[start..]);
    }

    fn push_carry(&mut self, bytes: &[u8]) {
        let room = MAX_LINE.saturating_sub(self.carry.len());
        if bytes.len() > room {
            self.carry_truncated = true;
        }
        self.carry
            .extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    /// Ends the input.
    pub fn finish(mut self) -> Part {
        if !self.carry.is_empty() || self.carry_truncated {
            let line = std::mem::take(&mut self.carry);
            let long = self.carry_truncated;
            self.physical_line(&line, long);
        }
        let mut evidence = self.parser.finish();
        let segs = &self.segments;
        let map = |l: u64| -> u64 {
            let i = segs.partition_point(|s| s.0 <= l);
            match i.checked_sub(1).and_then(|i| segs.get(i)) {
                Some(&(p, phys)) => phys + (l - p),
                None => l,
            }
        };
        for inc in &mut evidence.incidents {
            inc.line = map(inc.line);
        }
        for r in &mut evidence.races {
            r.line = map(r.line);
        }
        evidence.lines = self.counts.lines;
        // The parser's warnings count lines it was fed, not lines of the input.
        evidence.warnings.clear();
        Part {
            clusterer: self.clusterer,
            stats: self.stats,
            counts: self.counts,
            evidence,
            assignments: self.assignments,
        }
    }

    fn feed_parser(&mut self, raw: &[u8]) {
        if self.panics >= MAX_PANICS {
            self.counts.unparsed_lines += 1;
            return;
        }
        if raw.starts_with(b"panic: ") || raw.starts_with(b"fatal error: ") {
            self.panics += 1;
        }
        let n = self.counts.lines;
        if self.fed == 0 || self.last_fed + 1 != n {
            self.segments.push((self.fed + 1, n));
        }
        self.fed += 1;
        self.last_fed = n;
        self.parser.feed(raw);
        self.parser.feed(b"\n");
    }

    fn assign(&mut self, id: u32) {
        if self.opts.assignments {
            self.assignments.push(id);
        }
    }

    fn physical_line(&mut self, raw: &[u8], long: bool) {
        self.counts.lines += 1;
        if long {
            self.counts.long_lines += 1;
        }
        let lossy;
        let text = match std::str::from_utf8(raw) {
            // NUL bytes (a file's unwritten blocks after a crash, binary
            // data) are valid UTF-8 but not text.
            Ok(_) if memchr::memchr(0, raw).is_some() && is_binary(raw) => {
                self.counts.binary_lines += 1;
                self.in_block = false;
                self.record = None;
                self.assign(NO_TEMPLATE);
                return;
            }
            Ok(t) => t,
            Err(_) => {
                if is_binary(raw) {
                    // Not text: nothing to cluster, and it ends what came before.
                    self.counts.binary_lines += 1;
                    self.in_block = false;
                    self.record = None;
                    self.assign(NO_TEMPLATE);
                    return;
                }
                self.counts.invalid_utf8 += 1;
                lossy = String::from_utf8_lossy(raw);
                &lossy
            }
        };
        let line = parse_line(text, self.opts.year);
        self.counts.formats[line.wrapper as usize][line.payload as usize] += 1;
        if line.time.is_some() {
            self.now = line.time;
        }
        let in_time = self.in_time(self.now);
        // Behind a timestamp alone (`kubectl logs --timestamps`, log
        // shippers), the runtime's lines are read without it.
        let inner = line.inner();
        // The parser reads what the program printed (a JSON record whole,
        // for the stack in its fields).
        let to_parser = if line.wrapper == Wrapper::None && line.payload == Payload::Json {
            raw
        } else {
            inner.as_bytes()
        };
        let starts = runtime::starts_block(inner);
        let runtime_line = starts
            || (self.in_block
                && (line.stamp > 0 || !line.is_header())
                && runtime::continues_block(inner));
        let header = line.is_header() && !(line.stamp > 0 && runtime_line);
        if header {
            self.in_block = false;
            if (line.has_stack || starts) && in_time {
                self.tail = RUNTIME_TAIL;
                self.feed_parser(to_parser);
            } else if self.tail > 0 {
                self.tail -= 1;
                self.feed_parser(to_parser);
            }
            self.record_line(&line, text);
            return;
        }
        if runtime_line {
            self.in_block = true;
            self.counts.runtime_lines += 1;
            self.record = None;
            if in_time {
                self.tail = RUNTIME_TAIL;
                self.feed_parser(to_parser);
            }
            self.assign(NO_TEMPLATE);
            return;
        }
        self.in_block = false;
        if self.tail > 0 {
            self.tail -= 1;
            self.feed_parser(to_parser);
        }
        let body = line.body.as_ref();
        if body.trim().is_empty() {
            self.counts.blank_lines += 1;
            self.assign(NO_TEMPLATE);
            return;
        }
        let continues = body.starts_with('\t')
            || body.starts_with("  ")
            || body.starts_with("Caused by")
            || body.starts_with("...");
        if continues && self.record.is_some() {
            self.counts.continuation_lines += 1;
            if let Some(id) = self.record {
                let open = self.example_open;
                let s = &mut self.stats[id as usize];
                s.continuation_lines += 1;
                if open && s.example.lines().count() < EXAMPLE_LINES {
                    s.example.push('\n');
                    s.example.push_str(truncate(text, 300));
                }
            }
            self.assign(NO_TEMPLATE);
            return;
        }
        self.record_line(&line, text);
    }

    fn in_time(&self, t: Option<Millis>) -> bool {
        let Some(t) = t else { return true };
        self.opts.since.is_none_or(|s| t >= s) && self.opts.until.is_none_or(|u| t <= u)
    }

    /// A line that starts a record.
    fn record_line(&mut self, line: &LogLine<'_>, text: &str) {
        let keep = self.in_time(self.now)
            && self
                .opts
                .min_level
                .is_none_or(|m| line.level.is_some_and(|l| l >= m))
            && self
                .opts
                .grep
                .as_ref()
                .is_none_or(|re| re.is_match(&line.body) || re.is_match(&line.message));
        if !keep {
            self.counts.filtered_out += 1;
            self.record = None;
            self.assign(NO_TEMPLATE);
            return;
        }
        self.counts.records += 1;
        self.counts.levels[line.level.map_or(0, |l| l as usize + 1)] += 1;
        if let Some(t) = line.time {
            self.counts.start = Some(self.counts.start.map_or(t, |s| s.min(t)));
            self.counts.end = self.counts.end.max(Some(t));
        }
        self.masked.clear();
        mask_into(truncate(&line.message, MAX_MESSAGE), &mut self.masked);
        let hash = key_hash(line.level, &self.masked);
        let (id, new) = self.clusterer.add(line.level, &self.masked, hash);
        if new {
            self.stats.push(Stats {
                example: truncate(text.trim_end_matches('\r'), 1000).to_string(),
                example_line: self.counts.lines,
                ..Stats::default()
            });
        }
        let s = &mut self.stats[id as usize];
        s.count += 1;
        if let Some(t) = line.time {
            s.first = Some(s.first.map_or(t, |f| f.min(t)));
            s.last = s.last.max(Some(t));
            s.timeline.add(t, 1);
        }
        self.record = Some(id);
        self.example_open = new;
        self.assign(id);
    }
}

/// True for a line of binary data rather than text in some encoding:
/// control characters (other than tab, carriage return, form feed and
/// escape) make up 1/32 of it, at least 4 of them. Text in any 8-bit
/// encoding has next to none.
pub fn is_binary(raw: &[u8]) -> bool {
    let controls = raw
        .iter()
        .filter(|&&c| c < 0x20 && !matches!(c, b'\t' | b'\r' | 0x0c | 0x1b))
        .count();
    controls >= 4 && controls * 32 >= raw.len()
}

/// The longest prefix of `s` of at most `max` bytes that ends on a char
/// boundary.
pub fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
