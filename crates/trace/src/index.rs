//! Where each generation of a trace lies in the file, and when, so that a
//! window of time can be read without the rest: the format makes each
//! generation whole (its own strings, stacks and the state of every
//! goroutine and P at its start), so the generations of a window, behind
//! the file's header, are a trace of their own.
//!
//! The index reads only batch headers (and each generation's small clock
//! batch), skipping the events: about the cost of reading the file.

use std::io::{BufRead, Read, Seek, SeekFrom};

use crate::error::{Error, Result};
use crate::spec::ev;
use crate::wire::{RawEvent, WireReader};

/// One generation: its number, its bytes in the file, and the time its
/// batches start (ns, on the trace's clock: the earliest and latest batch
/// start, so a generation's events run somewhat past `last_batch_ns`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Generation {
    pub number: u64,
    pub offset: u64,
    pub bytes: u64,
    pub first_batch_ns: i64,
    pub last_batch_ns: i64,
}

/// The generations of a trace, in file order (a cut last generation is
/// left out).
pub fn generations<R: BufRead>(r: R) -> Result<Vec<Generation>> {
    let mut reader = WireReader::new(r)?;
    let version = reader.version();
    let mut out: Vec<Generation> = Vec::new();
    // Per generation: (number, offset, end, first tick, last tick), and
    // ticks per second once its clock batch is read.
    let mut cur: Option<(u64, u64, u64, u64, u64)> = None;
    let mut ns_per_tick = 1.0f64;
    let mut ev = RawEvent::default();
    let close = |c: (u64, u64, u64, u64, u64), ns_per_tick: f64| Generation {
        number: c.0,
        offset: c.1,
        bytes: c.2 - c.1,
        first_batch_ns: (c.3 as f64 * ns_per_tick) as i64,
        last_batch_ns: (c.4 as f64 * ns_per_tick) as i64,
    };
    loop {
        match reader.next_into(&mut ev) {
            Ok(true) => {}
            Ok(false) => break,
            Err(Error::Truncated { .. }) => return Ok(out),
            Err(e) => return Err(e),
        }
        let arg = |i: usize| ev.args.get(i).copied().unwrap_or(0);
        if ev.typ != ev::EVENT_BATCH {
            if let Some(c) = &mut cur {
                c.2 = reader.offset();
            }
            continue;
        }
        let (g, time, size) = (arg(0), arg(2), arg(3));
        match &mut cur {
            Some(c) if c.0 == g => {
                c.3 = c.3.min(time);
                c.4 = c.4.max(time);
            }
            _ => {
                if let Some(c) = cur.take() {
                    out.push(close(c, ns_per_tick));
                }
                cur = Some((g, ev.offset, ev.offset, time, time));
            }
        }
        let first = reader.peek_byte()?;
        if first == Some(ev::FREQUENCY) {
            let bytes = match reader.read_raw(size) {
                Ok(b) => b,
                Err(Error::Truncated { .. }) => return Ok(out),
                Err(e) => return Err(e),
            };
            let mut r = WireReader::continuing(&bytes[..], version)?;
            let mut t = RawEvent::default();
            while r.next_into(&mut t)? {
                if t.typ == ev::FREQUENCY && t.args.first().is_some_and(|&f| f > 0) {
                    ns_per_tick = 1e9 / t.args[0] as f64;
                }
            }
        } else if let Err(e) = reader.skip(size) {
            return match e {
                Error::Truncated { .. } => Ok(out),
                e => Err(e),
            };
        }
        if let Some(c) = &mut cur {
            c.2 = reader.offset();
        }
    }
    if let Some(c) = cur.take() {
        out.push(close(c, ns_per_tick));
    }
    Ok(out)
}

/// The generations of `index` whose batches start within
/// [`from_ns`, `to_ns`] (times from the first generation's start), or the
/// one under way at `from_ns`, read from `file` as a trace of their own
/// (the file's header, then their bytes).
pub fn window<R: Read + Seek + Send>(
    mut file: R,
    index: &[Generation],
    from_ns: i64,
    to_ns: i64,
) -> Result<impl BufRead + Send + use<R>> {
    let origin = index.first().map_or(0, |g| g.first_batch_ns);
    let starts: Vec<i64> = index.iter().map(|g| g.first_batch_ns - origin).collect();
    // The generation under way at `from_ns`: the last one starting at or
    // before it.
    let first = starts.iter().rposition(|&s| s <= from_ns).unwrap_or(0);
    let last = starts
        .iter()
        .rposition(|&s| s <= to_ns)
        .unwrap_or(first)
        .max(first);
    let (Some(a), Some(b)) = (index.get(first), index.get(last)) else {
        return Err(Error::NoGeneration);
    };
    let mut header = vec![0u8; 16];
    file.seek(SeekFrom::Start(0))?;
    file.read_exact(&mut header)?;
    file.seek(SeekFrom::Start(a.offset))?;
    let body = file.take(b.offset + b.bytes - a.offset);
    Ok(std::io::BufReader::with_capacity(
        1 << 20,
        std::io::Cursor::new(header).chain(body),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trace_without_a_whole_generation_has_no_window() {
        let file = std::io::Cursor::new(b"go 1.23 trace\0\0\0".to_vec());
        let err = window(file, &[], 0, 1).err().map(|e| e.to_string());
        assert!(
            err.as_deref()
                .is_some_and(|e| e.contains("no complete generation")),
            "{err:?}"
        );
    }
}
