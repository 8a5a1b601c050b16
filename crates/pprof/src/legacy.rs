//! Legacy text profiles, as `net/http/pprof` serves them with `?debug=1`:
//! heap/allocs (`heap profile: ...`), goroutine/threadcreate counts
//! (`goroutine profile: total N`), and mutex/block contention
//! (`--- mutex:` / `--- contention:`).
//!
//! Unlike `go tool pprof`, which ignores the `#` lines and needs the binary
//! to symbolize, we build functions, files and lines (inlined frames
//! included) from the profile's own `#\t0xPC\tfunc+0xOFF\tFILE:LINE` lines.

use std::collections::HashMap;
use std::io::{BufRead, Read};

use crate::error::{Error, Result};
use crate::profile::{Function, Labels, Line, Location, Profile, ValueType};

/// True when `head`, the first bytes of an input (all of it when `whole`),
/// may begin a legacy text profile that [`parse`] recognizes: its first
/// non-blank line starts one (or, cut short, may still). Lets a reader
/// reject a large input that is neither profile.proto nor text without
/// reading it all.
pub fn may_start(head: &[u8], whole: bool) -> bool {
    let text = match std::str::from_utf8(head) {
        Ok(t) => t,
        // A character cut at the end of the head.
        Err(e) if !whole && e.error_len().is_none() => {
            match std::str::from_utf8(&head[..e.valid_up_to()]) {
                Ok(t) => t,
                Err(_) => return false,
            }
        }
        Err(_) => return false,
    };
    let mut rest = text;
    loop {
        match rest.split_once('\n') {
            Some((l, r)) if l.trim().is_empty() => rest = r,
            Some((l, _)) => return first_line_may_start(l.strip_suffix('\r').unwrap_or(l), true),
            None if rest.trim().is_empty() => return !whole,
            None => return first_line_may_start(rest, whole),
        }
    }
}

/// Longest profile name taken in `NAME profile: total N` (custom profiles
/// of `pprof.NewProfile` have import-path names, far shorter than this).
const MAX_NAME: usize = 1024;

/// A profile name: 1 to [`MAX_NAME`] bytes, no spaces or control characters.
fn is_profile_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= MAX_NAME && !name.chars().any(|c| c == ' ' || c.is_control())
}

/// [`may_start`] for the first non-blank line; `complete` when it is all there.
fn first_line_may_start(line: &str, complete: bool) -> bool {
    for p in ["heap profile: ", "--- mutex:", "--- contention:"] {
        if line.starts_with(p) || (!complete && p.starts_with(line)) {
            return true;
        }
    }
    const TOTAL: &str = " profile: total ";
    if let Some((name, _)) = line.split_once(TOTAL) {
        return is_profile_name(name);
    }
    !complete
        && match line.find(' ') {
            None => line.len() <= MAX_NAME && is_profile_name(line),
            Some(i) => is_profile_name(&line[..i]) && TOTAL.starts_with(&line[i..]),
        }
}

/// Longest line read ([`Error::Legacy`] beyond): symbol and label lines
/// of real profiles are far shorter.
pub const MAX_LINE: usize = 1 << 20;

/// Lines of a text stream, one at a time (so memory holds the profile
/// being built, never the text), numbered from 0, with one of look-ahead.
struct Lines<R> {
    r: R,
    n: usize,
    buf: Vec<u8>,
    peeked: Option<(usize, String)>,
    done: bool,
}

impl<R: BufRead> Lines<R> {
    /// The next line without its `\n` (and the `\r` before it), as `str::lines`
    /// splits; [`Error::Unrecognized`] for text that is not UTF-8.
    fn next(&mut self) -> Result<Option<(usize, String)>> {
        if let Some(x) = self.peeked.take() {
            return Ok(Some(x));
        }
        if self.done {
            return Ok(None);
        }
        self.buf.clear();
        let got = (&mut self.r)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut self.buf)
            .map_err(crate::proto::read_error)?;
        if got == 0 {
            self.done = true;
            return Ok(None);
        }
        let lno = self.n;
        self.n += 1;
        if self.buf.last() == Some(&b'\n') {
            self.buf.pop();
            if self.buf.last() == Some(&b'\r') {
                self.buf.pop();
            }
        } else if self.buf.len() > MAX_LINE {
            return Err(bad(
                lno,
                "line longer than 1 MiB; this is not a legacy text profile",
            ));
        } else {
            self.done = true;
        }
        let line = std::str::from_utf8(&self.buf).map_err(|_| Error::Unrecognized)?;
        Ok(Some((lno, line.to_string())))
    }

    fn peek(&mut self) -> Result<Option<&(usize, String)>> {
        if self.peeked.is_none() {
            self.peeked = self.next()?;
        }
        Ok(self.peeked.as_ref())
    }
}

/// Parses a legacy text profile; [`Error::Unrecognized`] when it is none.
pub fn parse(data: &[u8]) -> Result<Profile> {
    parse_reader(data)
}

/// [`parse`] from a stream, a line at a time: memory holds the profile
/// being built and one line (at most [`MAX_LINE`]), and a stream that
/// stops looking like a profile is left unread from there.
pub fn parse_reader<R: BufRead>(r: R) -> Result<Profile> {
    let mut lines = Lines {
        r,
        n: 0,
        buf: Vec::new(),
        peeked: None,
        done: false,
    };
    // First non-blank line decides the kind.
    let first = loop {
        match lines.next()? {
            Some((_, l)) if l.trim().is_empty() => continue,
            Some(x) => break x,
            None => return Err(Error::Unrecognized),
        }
    };
    let (lno, head) = first;
    let head = head.as_str();
    let mut b = Builder::default();
    let kind;
    if let Some(rest) = head.strip_prefix("heap profile: ") {
        kind = Kind::Heap {
            rate: heap_rate(rest).ok_or_else(|| bad(lno, "malformed heap profile header"))?,
        };
        b.p.sample_types = vec![
            ValueType::new("alloc_objects", "count"),
            ValueType::new("alloc_space", "bytes"),
            ValueType::new("inuse_objects", "count"),
            ValueType::new("inuse_space", "bytes"),
        ];
        b.p.period_type = ValueType::new("space", "bytes");
        if let Kind::Heap { rate } = kind {
            b.p.period = rate;
        }
    } else if let Some((name, _)) = head.split_once(" profile: total ") {
        if !is_profile_name(name) {
            return Err(Error::Unrecognized);
        }
        kind = Kind::Count;
        b.p.sample_types = vec![ValueType::new(name, "count")];
        b.p.period_type = ValueType::new(name, "count");
        b.p.period = 1;
    } else if head.starts_with("--- mutex:") || head.starts_with("--- contention:") {
        let mut cpu_hz = 0i64;
        let mut period = 1i64;
        while let Some((_, l)) = lines.peek()? {
            let t = l.trim();
            let Some((k, v)) = t.split_once('=') else {
                break;
            };
            match k.trim() {
                "cycles/second" => cpu_hz = v.trim().parse().unwrap_or(0),
                "sampling period" => period = v.trim().parse().unwrap_or(1),
                "ms since reset" => {
                    b.p.duration_nanos =
                        v.trim().parse::<i64>().unwrap_or(0).wrapping_mul(1_000_000)
                }
                _ => {}
            }
            lines.next()?;
        }
        kind = Kind::Contention { cpu_hz, period };
        b.p.sample_types = vec![
            ValueType::new("contentions", "count"),
            ValueType::new("delay", "nanoseconds"),
        ];
        b.p.period_type = ValueType::new("contentions", "count");
        b.p.period = period;
    } else {
        return Err(Error::Unrecognized);
    }

    let mut rec: Option<Record> = None;
    while let Some((lno, line)) = lines.next()? {
        let t = line.trim_end_matches('\r');
        if t.starts_with("# runtime.MemStats") || t.starts_with("---") {
            break;
        }
        if t.trim().is_empty() {
            if let Some(r) = rec.take() {
                b.finish(r)?;
            }
            continue;
        }
        if let Some(rest) = t.strip_prefix('#') {
            let Some(r) = rec.as_mut() else { continue };
            let rest = rest.trim_start_matches(' ');
            if let Some(l) = rest.strip_prefix("labels:") {
                if let Ok(serde_json::Value::Object(m)) =
                    serde_json::from_str::<serde_json::Value>(l.trim())
                {
                    for (k, v) in m {
                        r.labels.push((
                            k,
                            v.as_str()
                                .map(str::to_string)
                                .unwrap_or_else(|| v.to_string()),
                        ));
                    }
                }
                continue;
            }
            r.frames.push(parse_frame(rest).ok_or_else(|| {
                bad(
                    lno,
                    "malformed symbol line; want #\\t0xPC\\tfunc+0xOFF\\tFILE:LINE",
                )
            })?);
            continue;
        }
        if let Some(r) = rec.take() {
            b.finish(r)?;
        }
        let (vals, addrs) = t
            .split_once('@')
            .ok_or_else(|| bad(lno, "sample line without '@'"))?;
        let addrs = addrs
            .split_whitespace()
            .map(|a| {
                u64::from_str_radix(a.trim_start_matches("0x"), 16)
                    .map_err(|_| bad(lno, "bad address"))
            })
            .collect::<Result<Vec<u64>>>()?;
        let values = match kind {
            Kind::Count => vec![
                vals.trim()
                    .parse::<i64>()
                    .map_err(|_| bad(lno, "bad count"))?,
            ],
            Kind::Heap { rate } => {
                heap_values(vals, rate).ok_or_else(|| bad(lno, "malformed heap sample"))?
            }
            Kind::Contention { cpu_hz, period } => {
                let mut it = vals.split_whitespace().map(str::parse::<i64>);
                let (Some(Ok(mut cycles)), Some(Ok(mut count))) = (it.next(), it.next()) else {
                    return Err(bad(lno, "malformed contention sample"));
                };
                if period > 0 {
                    if cpu_hz > 0 {
                        cycles = (cycles as f64 * period as f64 / (cpu_hz as f64 / 1e9)) as i64;
                    }
                    count = count.wrapping_mul(period);
                }
                vec![count, cycles]
            }
        };
        rec = Some(Record {
            values,
            addrs,
            frames: Vec::new(),
            labels: Vec::new(),
        });
    }
    if let Some(r) = rec.take() {
        b.finish(r)?;
    }
    Ok(b.p)
}

fn bad(lno: usize, what: &str) -> Error {
    Error::Legacy {
        line: lno + 1,
        what: what.to_string(),
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Heap { rate: i64 },
    Count,
    Contention { cpu_hz: i64, period: i64 },
}

struct Record {
    values: Vec<i64>,
    addrs: Vec<u64>,
    frames: Vec<(u64, String, String, i64)>,
    labels: Vec<(String, String)>,
}

/// `heap profile: a: b [c: d] @ heap/RATE` -> RATE (1 when absent).
fn heap_rate(rest: &str) -> Option<i64> {
    let (_, tail) = rest.split_once('@')?;
    let tail = tail.trim();
    match tail.split_once('/') {
        // runtime/pprof writes `heap/(2*MemProfileRate)`.
        Some(("heap", r)) => r.trim().parse::<i64>().ok().map(|r| r / 2),
        Some((_, r)) => r.trim().parse().ok(),
        None => Some(1),
    }
}

/// `inuse_n: inuse_b [alloc_n: alloc_b]`, unsampled like runtime/pprof does.
fn heap_values(s: &str, rate: i64) -> Option<Vec<i64>> {
    let (inuse, alloc) = s.split_once('[')?;
    let alloc = alloc.trim().trim_end_matches(']');
    let pair = |x: &str| -> Option<(i64, i64)> {
        let (a, b) = x.split_once(':')?;
        Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
    };
    let (in_n, in_b) = pair(inuse.trim())?;
    let (al_n, al_b) = pair(alloc)?;
    let scale = |n: i64, b: i64| -> (i64, i64) {
        if n == 0 || b == 0 {
            return (0, 0);
        }
        if rate <= 1 {
            return (n, b);
        }
        let avg = b as f64 / n as f64;
        let s = 1.0 / (1.0 - (-avg / rate as f64).exp());
        ((n as f64 * s) as i64, (b as f64 * s) as i64)
    };
    let (a0, a1) = scale(al_n, al_b);
    let (i0, i1) = scale(in_n, in_b);
    Some(vec![a0, a1, i0, i1])
}

/// `0xPC\tfunc+0xOFF\tFILE:LINE` (tabs or spaces).
fn parse_frame(s: &str) -> Option<(u64, String, String, i64)> {
    let mut it = s.split_whitespace();
    let pc = u64::from_str_radix(it.next()?.trim_start_matches("0x"), 16).ok()?;
    let Some(func) = it.next() else {
        return Some((pc, String::new(), String::new(), 0));
    };
    let func = match func.rfind("+0x") {
        Some(i) => &func[..i],
        None => func,
    };
    let rest: Vec<&str> = it.collect();
    let fl = rest.join(" ");
    let (file, line) = match fl.rsplit_once(':') {
        Some((f, l)) => (f.to_string(), l.parse().unwrap_or(0)),
        None => (fl, 0),
    };
    Some((pc, func.to_string(), file, line))
}

#[derive(Default)]
struct Builder {
    p: Profile,
    funcs: HashMap<(String, String), u32>,
    locs: HashMap<(u64, Vec<(u32, i64)>), u32>,
}

impl Builder {
    fn func(&mut self, name: &str, file: &str) -> u32 {
        let p = &mut self.p;
        *self
            .funcs
            .entry((name.to_string(), file.to_string()))
            .or_insert_with(|| {
                p.functions.push(Function {
                    id: p.functions.len() as u64 + 1,
                    name: name.to_string(),
                    system_name: name.to_string(),
                    filename: file.to_string(),
                    start_line: 0,
                });
                (p.functions.len() - 1) as u32
            })
    }

    fn loc(&mut self, addr: u64, lines: Vec<(u32, i64)>) -> u32 {
        let p = &mut self.p;
        *self.locs.entry((addr, lines.clone())).or_insert_with(|| {
            p.locations.push(Location {
                id: p.locations.len() as u64 + 1,
                mapping: None,
                address: addr,
                lines: lines
                    .iter()
                    .map(|&(function, line)| Line {
                        function,
                        line,
                        column: 0,
                    })
                    .collect(),
                is_folded: false,
            });
            (p.locations.len() - 1) as u32
        })
    }

    fn finish(&mut self, r: Record) -> Result<()> {
        let mut locations = Vec::new();
        if r.frames.iter().any(|f| !f.1.is_empty()) {
            // Consecutive frames with one PC are one location (inlined calls,
            // innermost first).
            let mut i = 0;
            while i < r.frames.len() {
                let pc = r.frames[i].0;
                let mut lines = Vec::new();
                while i < r.frames.len() && r.frames[i].0 == pc {
                    let (_, name, file, line) = r.frames[i].clone();
                    let f = self.func(&name, &file);
                    lines.push((f, line));
                    i += 1;
                }
                locations.push(self.loc(pc, lines));
            }
        } else {
            for a in &r.addrs {
                locations.push(self.loc(a.saturating_sub(1), Vec::new()));
            }
        }
        let labels = Labels {
            strs: r.labels,
            nums: Vec::new(),
        };
        self.p.samples.push(&locations, &r.values, &labels)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn goroutine_debug1() {
        let t = "goroutine profile: total 6\n5 @ 0x47e6ee 0x4dfdd9 0x484d21\n# labels: {\"req\":\"7\"}\n#\t0x4dfdd8\tmain.main.func2+0x18\t/x/main.go:153\n#\t0x484d20\truntime.goexit+0x1\t/go/src/runtime/asm_amd64.s:1700\n\n1 @ 0x1 0x2\n";
        let p = parse(t.as_bytes()).expect("parses");
        assert_eq!(p.samples.len(), 2);
        let s0 = p.samples.get(0).expect("sample 0");
        assert_eq!(s0.values, &[5]);
        assert_eq!(s0.labels.strs, vec![("req".to_string(), "7".to_string())]);
        assert_eq!(p.functions[0].name, "main.main.func2");
        let l0 = s0.locations.get(0).expect("a frame");
        assert_eq!(p.locations[l0 as usize].lines[0].line, 153);
        assert_eq!(p.samples.get(1).map(|s| s.locations.len()), Some(2));
    }

    #[test]
    fn contention_and_heap() {
        let m = "--- mutex:\ncycles/second=1000000000\nsampling period=2\n100 3 @ 0x10\n#\t0x10\tsync.(*Mutex).Unlock+0x9\t/m.go:65\n";
        let p = parse(m.as_bytes()).expect("mutex");
        assert_eq!(
            p.samples.get(0).map(|s| s.values.to_vec()),
            Some(vec![6, 200])
        );
        let h = "heap profile: 1: 512 [2: 1024] @ heap/1\n1: 512 [2: 1024] @ 0x20\n#\t0x1f\tmain.leak+0x1\t/m.go:9\n\n# runtime.MemStats\n# Alloc = 1\n";
        let p = parse(h.as_bytes()).expect("heap");
        assert_eq!(
            p.samples.get(0).map(|s| s.values.to_vec()),
            Some(vec![2, 1024, 1, 512])
        );
        assert!(matches!(parse(b"hello"), Err(Error::Unrecognized)));
    }
}
