//! Reading one input on several threads: the input is cut into parts at
//! record boundaries (before a line that prints a timestamp or level and
//! is not runtime output), each part is scanned by its own [`Scanner`],
//! and the parts are merged in order: templates are placed into the first
//! part's clusterer as if their lines had been seen there, counts add up,
//! and line numbers are shifted by the lines before each part.

use crate::Options;
use crate::line::parse_line;
use crate::runtime;
use crate::scan::{NO_TEMPLATE, Part, Scanner};

use gosleuth_text::parts::Feed;
/// How far past a nominal cut to look for a record boundary.
const WINDOW: usize = 256 << 10;
/// The smallest part worth a thread of its own.
const MIN_PART: u64 = 256 << 10;

/// Finds the cut points: offsets where a part starts.
fn cuts<F>(len: u64, read_at: &F, parts: usize, opts: &Options) -> std::io::Result<Vec<u64>>
where
    F: Fn(u64, &mut [u8]) -> std::io::Result<usize>,
{
    let mut out: Vec<u64> = Vec::new();
    let mut buf = vec![0u8; usize::try_from(len).map_or(WINDOW, |n| n.min(WINDOW))];
    for k in 1..parts {
        let nominal = len / parts as u64 * k as u64;
        if out.last().is_some_and(|&c| c >= nominal) {
            continue;
        }
        let n = read_at(nominal, &mut buf)?;
        let window = &buf[..n];
        let Some(first_nl) = memchr::memchr(b'\n', window) else {
            continue;
        };
        let mut cut = None;
        let base = first_nl + 1;
        let mut start = base;
        for nl in memchr::memchr_iter(b'\n', &window[base..]).map(|i| i + base) {
            let line = &window[start..nl];
            if let Ok(text) = std::str::from_utf8(line) {
                let l = parse_line(text, opts.year);
                // Not inside runtime output, which may come behind
                // timestamps.
                let runtime = if l.stamp > 0 {
                    runtime::continues_block(l.inner())
                } else {
                    runtime::starts_block(&l.body)
                };
                if l.is_header() && !runtime {
                    cut = Some(start);
                    break;
                }
            }
            start = nl + 1;
        }
        let at = nominal + cut.unwrap_or(first_nl + 1) as u64;
        if at < len {
            out.push(at);
        }
    }
    Ok(out)
}

/// Scans an input of `len` bytes read through `read_at` (like
/// `FileExt::read_at`) on up to `threads` threads.
pub fn scan_parallel_at<F>(
    len: u64,
    read_at: &F,
    opts: &Options,
    threads: usize,
) -> std::io::Result<Part>
where
    F: Fn(u64, &mut [u8]) -> std::io::Result<usize> + Sync,
{
    let parts = usize::try_from(len / MIN_PART)
        .unwrap_or(usize::MAX)
        .clamp(1, threads.max(1));
    let mut bounds = vec![0];
    bounds.extend(cuts(len, read_at, parts, opts)?);
    bounds.push(len);
    let results =
        gosleuth_text::parts::read_parts(&bounds, read_at, |_| PartScanner(Scanner::new(opts)));
    let mut merged: Option<Part> = None;
    for r in results {
        let part = r?;
        merged = Some(match merged {
            None => part,
            Some(m) => merge(m, part),
        });
    }
    Ok(merged.unwrap_or_else(|| Scanner::new(opts).finish()))
}

/// One part's scanner.
struct PartScanner<'a>(Scanner<'a>);

impl Feed for PartScanner<'_> {
    type Output = Part;
    fn feed(&mut self, chunk: &[u8]) {
        self.0.feed(chunk);
    }
    fn finish(self) -> Part {
        self.0.finish()
    }
}

/// Appends part `b` (which follows `a` in the input) to `a`.
pub(crate) fn merge(mut a: Part, b: Part) -> Part {
    let shift = a.counts.lines;
    let remap = a.clusterer.absorb(b.clusterer);
    a.stats
        .resize(a.clusterer.clusters().len(), Default::default());
    for (i, mut s) in b.stats.into_iter().enumerate() {
        s.example_line += shift;
        if let Some(&to) = remap.get(i) {
            a.stats[to as usize].merge(s);
        }
    }
    a.assignments.extend(b.assignments.iter().map(|&c| {
        if c == NO_TEMPLATE {
            NO_TEMPLATE
        } else {
            remap.get(c as usize).copied().unwrap_or(NO_TEMPLATE)
        }
    }));
    let mut e = b.evidence;
    for inc in &mut e.incidents {
        inc.line += shift;
    }
    for r in &mut e.races {
        r.line += shift;
    }
    a.evidence.incidents.append(&mut e.incidents);
    let races = std::mem::take(&mut a.evidence.races)
        .into_iter()
        .chain(e.races)
        .collect();
    a.evidence.races = gosleuth_text::race::dedup(races);
    if let Some(n) = e.races_found {
        *a.evidence.races_found.get_or_insert(0) += n;
    }
    a.evidence.lines += e.lines;
    a.counts.merge(b.counts);
    a
}
