//! The wire format, event by event: the header, then a flat stream of
//! events whose layout the spec table gives. Batches (`EventBatch`) are
//! events too: the events after one, up to its size in bytes, are its
//! contents. Nothing is kept between events, so a trace of any size is
//! read in constant memory.

use std::io::BufRead;

use crate::error::{Error, Result};
use crate::spec::{SPECS, Spec, events_in};

/// Frames a stack event may hold (the runtime records at most 128 by
/// default; the tracebackdepth setting allows more).
pub const MAX_FRAMES: u64 = 1 << 16;
/// Bytes a data trailer (a string, an experimental batch) may hold.
pub const MAX_DATA: u64 = 64 << 20;

/// One event as the wire carries it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawEvent {
    /// The type byte (an index into [`SPECS`]).
    pub typ: u8,
    /// The arguments, then for a stack four values per frame (PC, function
    /// string ID, file string ID, line).
    pub args: Vec<u64>,
    /// The data trailer, when the event has one.
    pub data: Option<Vec<u8>>,
    /// Offset of the event's type byte in the file.
    pub offset: u64,
}

impl RawEvent {
    pub fn spec(&self) -> &'static Spec {
        &SPECS[usize::from(self.typ)]
    }

    /// The event as `go tool trace -d=wire` prints it.
    pub fn to_wire_text(&self) -> String {
        let spec = self.spec();
        let mut s = String::from(spec.name);
        for (name, v) in spec.args.iter().zip(&self.args) {
            s.push(' ');
            s.push_str(name);
            s.push('=');
            s.push_str(&v.to_string());
        }
        if spec.is_stack {
            const FIELDS: [&str; 4] = ["pc", "func", "file", "line"];
            for (i, v) in self.args.iter().skip(spec.args.len()).enumerate() {
                s.push_str(if i % 4 == 0 { "\n\t" } else { " " });
                s.push_str(FIELDS[i % 4]);
                s.push('=');
                s.push_str(&v.to_string());
            }
        }
        if let Some(d) = &self.data {
            s.push_str("\n\tdata=");
            s.push_str(&go_quote(d));
        }
        s
    }
}

/// Bytes as Go's `strconv.Quote(string(b))` writes them.
pub fn go_quote(b: &[u8]) -> String {
    let mut out = String::from("\"");
    let mut rest = b;
    while !rest.is_empty() {
        let (c, len) = match std::str::from_utf8(&rest[..rest.len().min(4)]) {
            Ok(s) => (s.chars().next(), s.chars().next().map_or(1, char::len_utf8)),
            Err(e) if e.valid_up_to() > 0 => {
                let s = std::str::from_utf8(&rest[..e.valid_up_to()]).unwrap_or_default();
                (s.chars().next(), s.chars().next().map_or(1, char::len_utf8))
            }
            Err(_) => (None, 1),
        };
        match c {
            None => out.push_str(&format!("\\x{:02x}", rest[0])),
            Some('"') => out.push_str("\\\""),
            Some('\\') => out.push_str("\\\\"),
            Some('\u{7}') => out.push_str("\\a"),
            Some('\u{8}') => out.push_str("\\b"),
            Some('\u{c}') => out.push_str("\\f"),
            Some('\n') => out.push_str("\\n"),
            Some('\r') => out.push_str("\\r"),
            Some('\t') => out.push_str("\\t"),
            Some('\u{b}') => out.push_str("\\v"),
            Some(c) if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            Some(c) if c.is_control() => {
                if (c as u32) < 0x10000 {
                    out.push_str(&format!("\\u{:04x}", c as u32));
                } else {
                    out.push_str(&format!("\\U{:08x}", c as u32));
                }
            }
            Some(c) => out.push(c),
        }
        rest = &rest[len..];
    }
    out.push('"');
    out
}

/// Reads events from a trace.
pub struct WireReader<R> {
    r: R,
    /// The format version (`N` of `go 1.N trace`).
    version: u32,
    /// Event types this version defines.
    known: usize,
    offset: u64,
}

impl<R: BufRead> WireReader<R> {
    /// Reads the header. A trace of Go 1.21 or older, or of a release
    /// newer than this reader knows, is refused with the release named.
    pub fn new(mut r: R) -> Result<Self> {
        let mut head = [0u8; 16];
        let mut got = 0;
        while got < head.len() {
            match r.read(&mut head[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::Io(e)),
            }
        }
        let head = &head[..got];
        let version = header_version(head).ok_or(Error::NotATrace)?;
        let known = match events_in(version) {
            Some(k) => k,
            None if version < 22 => return Err(Error::OldFormat { version }),
            None => return Err(Error::NewerFormat { version }),
        };
        Ok(WireReader {
            r,
            version,
            known,
            offset: 16,
        })
    }

    /// A reader of events without a header (the contents of a batch),
    /// in the format of Go 1.`version`.
    pub fn continuing(r: R, version: u32) -> Result<Self> {
        let known = events_in(version).ok_or(Error::NewerFormat { version })?;
        Ok(WireReader {
            r,
            version,
            known,
            offset: 0,
        })
    }

    pub fn version(&self) -> u32 {
        self.version
    }

    /// The next `n` bytes as they are (a batch's contents).
    pub fn read_raw(&mut self, n: u64) -> Result<Vec<u8>> {
        if n > MAX_DATA {
            return Err(Error::TooBig {
                offset: self.offset,
                what: "batch bytes",
                n,
                max: MAX_DATA,
            });
        }
        let start = self.offset;
        let mut out = vec![0u8; n as usize];
        self.exact(&mut out, start, "EventBatch")?;
        Ok(out)
    }

    /// The next byte, not consumed (`None` at the end).
    pub fn peek_byte(&mut self) -> Result<Option<u8>> {
        let buf = self.r.fill_buf().map_err(Error::Io)?;
        Ok(buf.first().copied())
    }

    /// Skips the next `n` bytes (a batch's contents not needed).
    pub fn skip(&mut self, n: u64) -> Result<()> {
        let start = self.offset;
        let mut left = n;
        while left > 0 {
            let buf = self.r.fill_buf().map_err(Error::Io)?;
            if buf.is_empty() {
                return Err(Error::Truncated {
                    offset: start,
                    event: "EventBatch",
                });
            }
            let k = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            self.r.consume(k);
            self.offset += k as u64;
            left -= k as u64;
        }
        Ok(())
    }

    /// Bytes read so far (the offset of the next event).
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Reads the next event into `ev`; false at the end of the trace.
    pub fn next_into(&mut self, ev: &mut RawEvent) -> Result<bool> {
        let start = self.offset;
        let typ = match self.byte()? {
            Some(b) => b,
            None => return Ok(false),
        };
        if typ == 0 || usize::from(typ) >= self.known {
            return Err(Error::BadEvent {
                offset: start,
                typ,
                version: self.version,
            });
        }
        ev.typ = typ;
        ev.offset = start;
        ev.args.clear();
        ev.data = None;
        let spec = &SPECS[usize::from(typ)];
        for _ in 0..spec.args.len() {
            let v = self.uvarint(start, spec.name)?;
            ev.args.push(v);
        }
        if spec.is_stack {
            let n = ev.args.get(1).copied().unwrap_or(0);
            if n > MAX_FRAMES {
                return Err(Error::TooBig {
                    offset: start,
                    what: "stack frames",
                    n,
                    max: MAX_FRAMES,
                });
            }
            for _ in 0..n * 4 {
                let v = self.uvarint(start, spec.name)?;
                ev.args.push(v);
            }
        }
        if spec.has_data {
            let n = self.uvarint(start, spec.name)?;
            if n > MAX_DATA {
                return Err(Error::TooBig {
                    offset: start,
                    what: "data bytes",
                    n,
                    max: MAX_DATA,
                });
            }
            let mut data = vec![0u8; n as usize];
            self.exact(&mut data, start, spec.name)?;
            ev.data = Some(data);
        }
        Ok(true)
    }

    fn byte(&mut self) -> Result<Option<u8>> {
        let buf = self.r.fill_buf().map_err(Error::Io)?;
        let Some(&b) = buf.first() else {
            return Ok(None);
        };
        self.r.consume(1);
        self.offset += 1;
        Ok(Some(b))
    }

    fn uvarint(&mut self, start: u64, name: &'static str) -> Result<u64> {
        // Fast path: the whole varint is in the buffer.
        let buf = self.r.fill_buf().map_err(Error::Io)?;
        if buf.len() >= 10 {
            let mut v = 0u64;
            for (i, &b) in buf[..10].iter().enumerate() {
                if i == 9 && b > 1 {
                    return Err(Error::BadVarint {
                        offset: self.offset + 10,
                    });
                }
                v |= u64::from(b & 0x7f) << (7 * i);
                if b & 0x80 == 0 {
                    self.r.consume(i + 1);
                    self.offset += i as u64 + 1;
                    return Ok(v);
                }
            }
            return Err(Error::BadVarint {
                offset: self.offset + 10,
            });
        }
        let mut v = 0u64;
        for i in 0..10 {
            let b = self.byte()?.ok_or(Error::Truncated {
                offset: start,
                event: name,
            })?;
            if i == 9 && b > 1 {
                return Err(Error::BadVarint {
                    offset: self.offset,
                });
            }
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(Error::BadVarint {
            offset: self.offset,
        })
    }

    fn exact(&mut self, out: &mut [u8], start: u64, name: &'static str) -> Result<()> {
        let mut got = 0;
        while got < out.len() {
            let buf = self.r.fill_buf().map_err(Error::Io)?;
            if buf.is_empty() {
                return Err(Error::Truncated {
                    offset: start,
                    event: name,
                });
            }
            let n = buf.len().min(out.len() - got);
            out[got..got + n].copy_from_slice(&buf[..n]);
            self.r.consume(n);
            got += n;
            self.offset += n as u64;
        }
        Ok(())
    }
}

/// `go 1.N trace\0\0\0` -> N.
fn header_version(head: &[u8]) -> Option<u32> {
    let rest = head.strip_prefix(b"go 1.")?;
    let end = rest.iter().position(|b| !b.is_ascii_digit())?;
    let n: u32 = std::str::from_utf8(&rest[..end]).ok()?.parse().ok()?;
    rest[end..].starts_with(b" trace").then_some(n)
}

/// The events of a batch held in memory, decoded in place: the analyses'
/// hot loop, without a buffered reader's calls or a vector per event.
/// Offsets in errors are from the batch's start, as with
/// [`WireReader::continuing`].
pub(crate) struct SliceEvents<'a> {
    bytes: &'a [u8],
    pos: usize,
    known: usize,
    version: u32,
}

impl<'a> SliceEvents<'a> {
    pub(crate) fn new(bytes: &'a [u8], version: u32) -> Result<Self> {
        let known = events_in(version).ok_or(Error::NewerFormat { version })?;
        Ok(SliceEvents {
            bytes,
            pos: 0,
            known,
            version,
        })
    }

    /// The next event's type, its arguments in `args` (every event has at
    /// most six; a stack's frames and a data trailer are skipped); `None`
    /// at the end.
    pub(crate) fn next(&mut self, args: &mut [u64; 6]) -> Result<Option<u8>> {
        let start = self.pos as u64;
        let Some(&typ) = self.bytes.get(self.pos) else {
            return Ok(None);
        };
        self.pos += 1;
        if typ == 0 || usize::from(typ) >= self.known {
            return Err(Error::BadEvent {
                offset: start,
                typ,
                version: self.version,
            });
        }
        let spec = &SPECS[usize::from(typ)];
        *args = [0; 6];
        for (i, _) in spec.args.iter().enumerate() {
            let v = self.varint(start, spec.name)?;
            if let Some(slot) = args.get_mut(i) {
                *slot = v;
            }
        }
        if spec.is_stack {
            let n = args[1];
            if n > MAX_FRAMES {
                return Err(Error::TooBig {
                    offset: start,
                    what: "stack frames",
                    n,
                    max: MAX_FRAMES,
                });
            }
            for _ in 0..n * 4 {
                self.varint(start, spec.name)?;
            }
        }
        if spec.has_data {
            let n = self.varint(start, spec.name)?;
            if n > MAX_DATA {
                return Err(Error::TooBig {
                    offset: start,
                    what: "data bytes",
                    n,
                    max: MAX_DATA,
                });
            }
            let end = self.pos.saturating_add(n as usize);
            if end > self.bytes.len() {
                return Err(Error::Truncated {
                    offset: start,
                    event: spec.name,
                });
            }
            self.pos = end;
        }
        Ok(Some(typ))
    }

    #[inline]
    fn varint(&mut self, start: u64, name: &'static str) -> Result<u64> {
        let mut v = 0u64;
        for i in 0..10 {
            let Some(&b) = self.bytes.get(self.pos) else {
                return Err(Error::Truncated {
                    offset: start,
                    event: name,
                });
            };
            self.pos += 1;
            if i == 9 && b > 1 {
                return Err(Error::BadVarint {
                    offset: self.pos as u64,
                });
            }
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(Error::BadVarint {
            offset: self.pos as u64,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(bytes: &[u8]) -> Result<Vec<String>> {
        let mut r = WireReader::new(bytes)?;
        let mut ev = RawEvent::default();
        let mut out = Vec::new();
        while r.next_into(&mut ev)? {
            out.push(ev.to_wire_text());
        }
        Ok(out)
    }

    #[test]
    fn a_tiny_trace() {
        let mut t = b"go 1.23 trace\0\0\0".to_vec();
        // EventBatch gen=1 m=2 time=300 size=5, then ProcStop dt=7 and a
        // String id=1 "hi\n".
        t.extend([1, 1, 2, 0xac, 0x02, 5, 11, 7, 5, 1, 3, b'h', b'i', b'\n']);
        assert_eq!(
            events(&t).unwrap(),
            [
                "EventBatch gen=1 m=2 time=300 size=5",
                "ProcStop dt=7",
                "String id=1\n\tdata=\"hi\\n\""
            ]
        );
    }

    #[test]
    fn bad_input_is_named() {
        assert!(matches!(
            events(b"go 1.21 trace\0\0\0"),
            Err(Error::OldFormat { version: 21 })
        ));
        assert!(matches!(
            events(b"go 1.99 trace\0\0\0"),
            Err(Error::NewerFormat { version: 99 })
        ));
        assert!(matches!(
            events(b"not a trace at all"),
            Err(Error::NotATrace)
        ));
        // A 1.22 trace has no GoSwitch (45).
        assert!(matches!(
            events(b"go 1.22 trace\0\0\0\x2d\x01"),
            Err(Error::BadEvent { typ: 45, .. })
        ));
        assert!(matches!(
            events(b"go 1.26 trace\0\0\0\x01\x01"),
            Err(Error::Truncated {
                event: "EventBatch",
                ..
            })
        ));
        let mut huge = b"go 1.26 trace\0\0\0\x05\x01".to_vec();
        huge.extend([0xff, 0xff, 0xff, 0xff, 0x0f]);
        assert!(matches!(events(&huge), Err(Error::TooBig { .. })));
    }

    #[test]
    fn quoting_follows_go() {
        assert_eq!(
            go_quote(b"a\"b\\c\x01\xff\x7f\xc3\xa9"),
            "\"a\\\"b\\\\c\\x01\\xff\\x7fé\""
        );
    }
}
