//! A hand-written profile.proto reader and writer.
//!
//! Decoding never trusts a count from the input: vectors grow as elements
//! are actually read, every length is checked against the bytes left, and
//! varints longer than ten bytes are rejected.

use std::collections::HashMap;
use std::io::{Read, Write};

use crate::error::{Error, Result};
use crate::profile::{Function, Labels, Line, Location, Mapping, NumLabel, Profile, ValueType};

/// Default upper bound on the decompressed size of a profile: 1 GiB, ten
/// times the largest profiles services write, and a guard against gzip
/// bombs. Raise it with [`Limits::max_decompressed`] (`gosleuth pprof
/// --max-decompressed SIZE`).
pub const DEFAULT_MAX_DECOMPRESSED: u64 = 1 << 30;

/// Bounds on what reading one profile may cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most bytes of profile.proto (after gunzip) or legacy text one
    /// profile may have; the strings it resolves (a string is copied once
    /// per reference) are held to the same bound.
    pub max_decompressed: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_decompressed: DEFAULT_MAX_DECOMPRESSED,
        }
    }
}

/// True when `data` starts with the gzip magic.
pub fn is_gzip(data: &[u8]) -> bool {
    data.len() >= 2 && data[0] == 0x1f && data[1] == 0x8b
}

/// Decompresses `data` if it is gzipped (all members), else borrows it;
/// at most [`DEFAULT_MAX_DECOMPRESSED`] bytes.
pub fn maybe_gunzip(data: &[u8]) -> Result<std::borrow::Cow<'_, [u8]>> {
    maybe_gunzip_with(data, Limits::default())
}

/// [`maybe_gunzip`] with explicit limits; [`Error::TooLarge`] beyond them.
pub fn maybe_gunzip_with(data: &[u8], limits: Limits) -> Result<std::borrow::Cow<'_, [u8]>> {
    if !is_gzip(data) {
        if data.len() as u64 > limits.max_decompressed {
            return Err(Error::TooLarge {
                limit: limits.max_decompressed,
            });
        }
        return Ok(std::borrow::Cow::Borrowed(data));
    }
    let mut out = Vec::new();
    Capped::new(flate2::read::MultiGzDecoder::new(data), limits)
        .read_to_end(&mut out)
        .map_err(io_error)?;
    Ok(std::borrow::Cow::Owned(out))
}

/// The marker a [`Capped`] reader's error carries.
#[derive(Debug)]
struct OverLimit(u64);

impl std::fmt::Display for OverLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "more than {} bytes", self.0)
    }
}

impl std::error::Error for OverLimit {}

/// A reader that fails (with [`OverLimit`]) as soon as its input has more
/// than `limit` bytes, instead of stopping silently like `take`.
struct Capped<R> {
    inner: R,
    left: u64,
    limit: u64,
}

impl<R: Read> Capped<R> {
    fn new(inner: R, limits: Limits) -> Self {
        Capped {
            inner,
            left: limits.max_decompressed,
            limit: limits.max_decompressed,
        }
    }
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.left == 0 {
            // At the limit: one more byte means the input is over it.
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(std::io::Error::other(OverLimit(self.limit))),
            };
        }
        let n = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let got = self.inner.read(&mut buf[..n])?;
        self.left -= got as u64;
        Ok(got)
    }
}

/// An I/O error of a decompressing reader: over the limit, or a damaged
/// gzip stream.
pub(crate) fn read_error(e: std::io::Error) -> Error {
    io_error(e)
}

fn io_error(e: std::io::Error) -> Error {
    if let Some(OverLimit(limit)) = e.get_ref().and_then(|x| x.downcast_ref::<OverLimit>()) {
        return Error::TooLarge { limit: *limit };
    }
    Error::Gzip(e.to_string())
}

/// A cursor over a protobuf message; `base` is the offset of `data[0]`
/// in the whole input, for error messages.
#[derive(Clone, Copy)]
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    base: usize,
}

/// One decoded field.
enum Value<'a> {
    Varint(u64),
    Fixed,
    Bytes(&'a [u8], usize),
}

impl<'a> Reader<'a> {
    fn new(data: &'a [u8], base: usize) -> Self {
        Reader { data, pos: 0, base }
    }

    fn err(&self, what: &'static str) -> Error {
        Error::Proto {
            offset: self.base + self.pos,
            what,
        }
    }

    fn done(&self) -> bool {
        self.pos >= self.data.len()
    }

    #[inline]
    fn varint(&mut self) -> Result<u64> {
        // Keys and most values take one byte.
        if let Some(&a) = self.data.get(self.pos) {
            if a < 0x80 {
                self.pos += 1;
                return Ok(u64::from(a));
            }
        }
        self.varint_slow()
    }

    fn varint_slow(&mut self) -> Result<u64> {
        let mut u: u64 = 0;
        for i in 0..10 {
            let Some(&b) = self.data.get(self.pos) else {
                return Err(self.err("varint runs past the end of the message"));
            };
            self.pos += 1;
            if i == 9 && b > 1 {
                return Err(self.err("varint overflows 64 bits"));
            }
            u |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(u);
            }
        }
        Err(self.err("varint longer than 10 bytes"))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.data.len() - self.pos {
            return Err(self.err("length runs past the end of the message"));
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// Reads a key and its value.
    fn field(&mut self) -> Result<(u64, Value<'a>)> {
        let key = self.varint()?;
        let tag = key >> 3;
        if tag == 0 {
            self.pos -= 1;
            return Err(self.err(FIELD_ZERO));
        }
        let v = match key & 7 {
            0 => Value::Varint(self.varint()?),
            1 => {
                self.take(8)?;
                Value::Fixed
            }
            2 => {
                let n = self.varint()?;
                let n =
                    usize::try_from(n).map_err(|_| self.err("length does not fit in memory"))?;
                let off = self.base + self.pos;
                Value::Bytes(self.take(n)?, off)
            }
            5 => {
                self.take(4)?;
                Value::Fixed
            }
            _ => return Err(self.err("unknown wire type (groups are not used by profile.proto)")),
        };
        Ok((tag, v))
    }
}

/// What a field number 0 means: protobuf reserves it, no encoder writes
/// it, and a run of zero bytes (a zeroed file, a gzip bomb) starts with it.
const FIELD_ZERO: &str = "field number 0, which protobuf does not allow: this is not profile.proto data (zeroed or garbage bytes?)";

fn want_varint(v: &Value<'_>, at: usize) -> Result<u64> {
    match v {
        Value::Varint(u) => Ok(*u),
        _ => Err(Error::Proto {
            offset: at,
            what: "expected a varint field",
        }),
    }
}

fn want_bytes<'a>(v: &Value<'a>, at: usize) -> Result<(&'a [u8], usize)> {
    match v {
        Value::Bytes(b, off) => Ok((b, *off)),
        _ => Err(Error::Proto {
            offset: at,
            what: "expected a length-delimited field",
        }),
    }
}

#[derive(Default, Clone, PartialEq, Eq, Hash)]
struct RawLabel {
    key: i64,
    str: i64,
    num: i64,
    unit: i64,
}

#[derive(Default)]
struct RawFunction {
    id: u64,
    name: i64,
    system_name: i64,
    filename: i64,
    start_line: i64,
}

#[derive(Default)]
struct RawMapping {
    m: Mapping,
    file: i64,
    build_id: i64,
}

#[derive(Default)]
struct RawLocation {
    id: u64,
    mapping_id: u64,
    address: u64,
    lines: Vec<(u64, i64, i64)>,
    is_folded: bool,
}

fn decode_value_type(b: &[u8], off: usize) -> Result<(i64, i64)> {
    let mut r = Reader::new(b, off);
    let (mut t, mut u) = (0, 0);
    while !r.done() {
        let at = r.base + r.pos;
        let (tag, v) = r.field()?;
        match tag {
            1 => t = want_varint(&v, at)? as i64,
            2 => u = want_varint(&v, at)? as i64,
            _ => {}
        }
    }
    Ok((t, u))
}

fn decode_function(b: &[u8], off: usize) -> Result<RawFunction> {
    let mut r = Reader::new(b, off);
    let mut f = RawFunction::default();
    while !r.done() {
        let at = r.base + r.pos;
        let (tag, v) = r.field()?;
        match tag {
            1 => f.id = want_varint(&v, at)?,
            2 => f.name = want_varint(&v, at)? as i64,
            3 => f.system_name = want_varint(&v, at)? as i64,
            4 => f.filename = want_varint(&v, at)? as i64,
            5 => f.start_line = want_varint(&v, at)? as i64,
            _ => {}
        }
    }
    Ok(f)
}

fn decode_mapping(b: &[u8], off: usize) -> Result<RawMapping> {
    let mut r = Reader::new(b, off);
    let mut m = RawMapping::default();
    while !r.done() {
        let at = r.base + r.pos;
        let (tag, v) = r.field()?;
        match tag {
            1 => m.m.id = want_varint(&v, at)?,
            2 => m.m.start = want_varint(&v, at)?,
            3 => m.m.limit = want_varint(&v, at)?,
            4 => m.m.offset = want_varint(&v, at)?,
            5 => m.file = want_varint(&v, at)? as i64,
            6 => m.build_id = want_varint(&v, at)? as i64,
            7 => m.m.has_functions = want_varint(&v, at)? != 0,
            8 => m.m.has_filenames = want_varint(&v, at)? != 0,
            9 => m.m.has_line_numbers = want_varint(&v, at)? != 0,
            10 => m.m.has_inline_frames = want_varint(&v, at)? != 0,
            _ => {}
        }
    }
    Ok(m)
}

fn decode_location(b: &[u8], off: usize) -> Result<RawLocation> {
    let mut r = Reader::new(b, off);
    let mut l = RawLocation::default();
    while !r.done() {
        let at = r.base + r.pos;
        let (tag, v) = r.field()?;
        match tag {
            1 => l.id = want_varint(&v, at)?,
            2 => l.mapping_id = want_varint(&v, at)?,
            3 => l.address = want_varint(&v, at)?,
            4 => {
                let (lb, loff) = want_bytes(&v, at)?;
                let mut lr = Reader::new(lb, loff);
                let (mut f, mut line, mut col) = (0u64, 0i64, 0i64);
                while !lr.done() {
                    let at = lr.base + lr.pos;
                    let (t, v) = lr.field()?;
                    match t {
                        1 => f = want_varint(&v, at)?,
                        2 => line = want_varint(&v, at)? as i64,
                        3 => col = want_varint(&v, at)? as i64,
                        _ => {}
                    }
                }
                l.lines.push((f, line, col));
            }
            5 => l.is_folded = want_varint(&v, at)? != 0,
            _ => {}
        }
    }
    Ok(l)
}

/// Maps ids to indices; dense when ids are small, like pprof's own decoder.
struct IdMap {
    dense: Vec<u32>,
    sparse: HashMap<u64, u32>,
}

impl IdMap {
    fn build(ids: impl Iterator<Item = u64>, n: usize, kind: &'static str) -> Result<Self> {
        let mut m = IdMap {
            dense: vec![u32::MAX; n + 1],
            sparse: HashMap::new(),
        };
        for (i, id) in ids.enumerate() {
            if id == 0 {
                return Err(Error::BadId {
                    kind,
                    id,
                    problem: "reserved (0)",
                });
            }
            let slot = if (id as usize) < m.dense.len() && id <= n as u64 {
                &mut m.dense[id as usize]
            } else {
                m.sparse.entry(id).or_insert(u32::MAX)
            };
            if *slot != u32::MAX {
                return Err(Error::BadId {
                    kind,
                    id,
                    problem: "used twice",
                });
            }
            *slot = i as u32;
        }
        Ok(m)
    }

    #[inline]
    fn get(&self, id: u64) -> Option<u32> {
        let v = if (id as usize) < self.dense.len() {
            self.dense[id as usize]
        } else {
            *self.sparse.get(&id)?
        };
        (v != u32::MAX).then_some(v)
    }
}

/// The string table, handing out copies within a byte budget: a profile
/// may refer to one long string from millions of functions or labels, and
/// each reference is a copy here.
struct Strings<'a> {
    table: &'a [String],
    left: std::cell::Cell<u64>,
    limit: u64,
}

impl<'a> Strings<'a> {
    fn new(table: &'a [String], limits: Limits) -> Self {
        Strings {
            table,
            left: std::cell::Cell::new(limits.max_decompressed),
            limit: limits.max_decompressed,
        }
    }

    fn get(&self, i: i64, field: &'static str) -> Result<String> {
        let s = self.get_ref(i, field)?;
        let n = s.len() as u64;
        if n > self.left.get() {
            return Err(Error::StringsTooLarge { limit: self.limit });
        }
        self.left.set(self.left.get() - n);
        Ok(s.to_string())
    }

    fn get_ref(&self, i: i64, field: &'static str) -> Result<&'a str> {
        if i < 0 || i as usize >= self.table.len() {
            return Err(Error::BadString {
                field,
                index: i,
                len: self.table.len(),
            });
        }
        Ok(&self.table[i as usize])
    }
}

/// Decodes an uncompressed profile.proto message.
pub fn decode(data: &[u8]) -> Result<Profile> {
    decode_with(data, Limits::default())
}

/// [`decode`] within `limits`.
pub fn decode_with(data: &[u8], limits: Limits) -> Result<Profile> {
    if data.is_empty() {
        return Err(Error::Empty);
    }
    if data.len() as u64 > limits.max_decompressed {
        return Err(Error::TooLarge {
            limit: limits.max_decompressed,
        });
    }
    decode_buffered(data, limits)
}

/// Reads top-level fields from a stream.
struct StreamReader<R> {
    r: R,
    pos: usize,
    /// No field may be longer than this.
    limit: u64,
    /// Bytes of the reader's buffer lent out as the last field, consumed
    /// when the next one is read.
    lent: usize,
    /// A field that did not fit in the reader's buffer, copied.
    buf: Vec<u8>,
}

enum Top<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Skip,
}

impl<R: std::io::BufRead> StreamReader<R> {
    fn err(&self, what: &'static str) -> Error {
        Error::Proto {
            offset: self.pos,
            what,
        }
    }

    fn byte(&mut self) -> Result<Option<u8>> {
        let b = match self.r.fill_buf() {
            Ok(b) => b,
            Err(e) => return Err(io_error(e)),
        };
        let Some(&x) = b.first() else { return Ok(None) };
        self.r.consume(1);
        self.pos += 1;
        Ok(Some(x))
    }

    fn varint(&mut self, first: Option<u8>) -> Result<u64> {
        let mut u: u64 = 0;
        let mut next = first;
        for i in 0..10 {
            let b = match next.take() {
                Some(b) => b,
                None => self
                    .byte()?
                    .ok_or_else(|| self.err("varint runs past the end of the message"))?,
            };
            if i == 9 && b > 1 {
                return Err(self.err("varint overflows 64 bits"));
            }
            u |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(u);
            }
        }
        Err(self.err("varint longer than 10 bytes"))
    }

    fn skip(&mut self, n: u64) -> Result<()> {
        let got =
            std::io::copy(&mut (&mut self.r).take(n), &mut std::io::sink()).map_err(io_error)?;
        self.pos += got as usize;
        if got != n {
            return Err(self.err("field runs past the end of the message"));
        }
        Ok(())
    }

    /// Next field. The payload of a length-delimited field is lent from
    /// the reader's buffer when it is all there (no copy), else copied.
    fn field(&mut self) -> Result<Option<(u64, usize, Top<'_>)>> {
        if self.lent > 0 {
            self.r.consume(self.lent);
            self.lent = 0;
        }
        let at = self.pos;
        let Some(b) = self.byte()? else {
            return Ok(None);
        };
        let key = self.varint(Some(b))?;
        let tag = key >> 3;
        if tag == 0 {
            return Err(Error::Proto {
                offset: at,
                what: FIELD_ZERO,
            });
        }
        let v = match key & 7 {
            0 => Top::Varint(self.varint(None)?),
            1 => {
                self.skip(8)?;
                Top::Skip
            }
            2 => {
                let n = self.varint(None)?;
                if n > self.limit {
                    return Err(
                        self.err("length-delimited field longer than the decompressed-size limit")
                    );
                }
                let start = self.pos;
                let have = self.r.fill_buf().map_err(io_error)?.len();
                if have as u64 >= n {
                    let n = n as usize;
                    self.pos += n;
                    self.lent = n;
                    // The buffer is not empty: no read happens here.
                    let b = self.r.fill_buf().map_err(io_error)?;
                    return Ok(Some((tag, start, Top::Bytes(&b[..n]))));
                }
                self.buf.clear();
                // Grows only as bytes actually arrive: a lying length cannot
                // make us allocate.
                let got = (&mut self.r)
                    .take(n)
                    .read_to_end(&mut self.buf)
                    .map_err(io_error)?;
                self.pos += got;
                if got as u64 != n {
                    return Err(self.err("length runs past the end of the message"));
                }
                return Ok(Some((tag, start, Top::Bytes(&self.buf))));
            }
            5 => {
                self.skip(4)?;
                Top::Skip
            }
            _ => return Err(self.err("unknown wire type (groups are not used by profile.proto)")),
        };
        Ok(Some((tag, at, v)))
    }
}

fn top_varint(v: &Top<'_>, at: usize) -> Result<u64> {
    match v {
        Top::Varint(u) => Ok(*u),
        _ => Err(Error::Proto {
            offset: at,
            what: "expected a varint field",
        }),
    }
}

fn top_bytes<'a>(v: &Top<'a>, at: usize) -> Result<&'a [u8]> {
    match v {
        Top::Bytes(b) => Ok(b),
        _ => Err(Error::Proto {
            offset: at,
            what: "expected a length-delimited field",
        }),
    }
}

/// Calls `f` with each varint of the packed repeated field `b` (at `off`
/// in the input) and its offset; one- to three-byte varints (nearly all
/// ids and counts) take a short path.
#[inline]
fn for_packed(b: &[u8], off: usize, mut f: impl FnMut(u64, usize) -> Result<()>) -> Result<()> {
    let n = b.len();
    let mut i = 0;
    while i < n {
        let x = b[i];
        if x < 0x80 {
            f(u64::from(x), off + i)?;
            i += 1;
            continue;
        }
        if i + 2 < n {
            let (y, z) = (b[i + 1], b[i + 2]);
            if y < 0x80 {
                f(u64::from(x & 0x7f) | u64::from(y) << 7, off + i)?;
                i += 2;
                continue;
            }
            if z < 0x80 {
                f(
                    u64::from(x & 0x7f) | u64::from(y & 0x7f) << 7 | u64::from(z) << 14,
                    off + i,
                )?;
                i += 3;
                continue;
            }
        }
        let mut r = Reader {
            data: b,
            pos: i,
            base: off,
        };
        let u = r.varint_slow()?;
        f(u, off + i)?;
        i = r.pos;
    }
    Ok(())
}

/// Reads one sample into `locs` (location ids, resolved to indices once
/// the locations are known), `vals` and `labels`.
fn decode_raw_sample(
    b: &[u8],
    off: usize,
    locs: &mut Vec<u32>,
    vals: &mut Vec<i64>,
    labels: &mut Vec<RawLabel>,
) -> Result<()> {
    let mut r = Reader::new(b, off);
    locs.clear();
    vals.clear();
    labels.clear();
    while !r.done() {
        let at = r.base + r.pos;
        let (tag, v) = r.field()?;
        match tag {
            1 => match v {
                Value::Varint(u) => locs.push(id32(u, at)?),
                Value::Bytes(pb, poff) => {
                    locs.reserve(pb.len());
                    for_packed(pb, poff, |u, at| {
                        locs.push(id32(u, at)?);
                        Ok(())
                    })?;
                }
                _ => {
                    return Err(Error::Proto {
                        offset: at,
                        what: "expected location ids",
                    });
                }
            },
            2 => match v {
                Value::Varint(u) => vals.push(u as i64),
                Value::Bytes(pb, poff) => {
                    for_packed(pb, poff, |u, _| {
                        vals.push(u as i64);
                        Ok(())
                    })?;
                }
                _ => {
                    return Err(Error::Proto {
                        offset: at,
                        what: "expected sample values",
                    });
                }
            },
            3 => {
                let (lb, loff) = want_bytes(&v, at)?;
                let mut lr = Reader::new(lb, loff);
                let mut l = RawLabel::default();
                while !lr.done() {
                    let at = lr.base + lr.pos;
                    let (t, v) = lr.field()?;
                    match t {
                        1 => l.key = want_varint(&v, at)? as i64,
                        2 => l.str = want_varint(&v, at)? as i64,
                        3 => l.num = want_varint(&v, at)? as i64,
                        4 => l.unit = want_varint(&v, at)? as i64,
                        _ => {}
                    }
                }
                labels.push(l);
            }
            _ => {}
        }
    }
    Ok(())
}

fn id32(u: u64, at: usize) -> Result<u32> {
    u32::try_from(u).map_err(|_| Error::Proto {
        offset: at,
        what: "location id above 2^32 is not supported",
    })
}

/// Decodes a profile.proto message from a stream (e.g. a gzip decoder),
/// holding one field at a time: memory grows with the profile, never with
/// the encoded size. At most [`DEFAULT_MAX_DECOMPRESSED`] bytes are read.
pub fn decode_stream<R: std::io::Read>(r: R) -> Result<Profile> {
    decode_stream_with(r, Limits::default())
}

/// [`decode_stream`] within `limits`: [`Error::TooLarge`] as soon as the
/// stream passes `max_decompressed` bytes.
pub fn decode_stream_with<R: std::io::Read>(r: R, limits: Limits) -> Result<Profile> {
    decode_buffered(
        std::io::BufReader::with_capacity(1 << 16, Capped::new(r, limits)),
        limits,
    )
}

/// Decodes from a buffered reader that enforces `limits` itself (or a
/// slice checked against them): fields are decoded in its buffer.
fn decode_buffered<B: std::io::BufRead>(r: B, limits: Limits) -> Result<Profile> {
    let mut sr = StreamReader {
        r,
        pos: 0,
        limit: limits.max_decompressed,
        lent: 0,
        buf: Vec::new(),
    };
    let mut sample_types: Vec<(i64, i64)> = Vec::new();
    let mut samples = crate::profile::Samples::new();
    // Distinct label sets as read (string indices unresolved); set 0 is
    // the empty one.
    let mut label_sets: Vec<Vec<RawLabel>> = vec![Vec::new()];
    let mut label_index: HashMap<Vec<RawLabel>, u32> = HashMap::new();
    let mut mappings: Vec<RawMapping> = Vec::new();
    let mut locations: Vec<RawLocation> = Vec::new();
    let mut functions: Vec<RawFunction> = Vec::new();
    let mut strings: Vec<String> = Vec::new();
    let (mut drop_x, mut keep_x, mut time, mut dur, mut period) = (0i64, 0i64, 0i64, 0i64, 0i64);
    let mut period_type = (0i64, 0i64);
    let mut comments: Vec<u64> = Vec::new();
    let (mut default_x, mut doc_x) = (0i64, 0i64);
    let mut labels_tmp: Vec<RawLabel> = Vec::new();
    let (mut locs_tmp, mut vals_tmp): (Vec<u32>, Vec<i64>) = (Vec::new(), Vec::new());
    let mut any = false;
    while let Some((tag, at, v)) = sr.field()? {
        any = true;
        let off = at;
        match tag {
            1 => {
                let buf = top_bytes(&v, at)?;
                sample_types.push(decode_value_type(buf, off)?);
            }
            2 => {
                let buf = top_bytes(&v, at)?;
                decode_raw_sample(buf, off, &mut locs_tmp, &mut vals_tmp, &mut labels_tmp)?;
                let set = if labels_tmp.is_empty() {
                    0
                } else if let Some(&k) = label_index.get(&labels_tmp) {
                    k
                } else {
                    let k = label_sets.len() as u32;
                    label_sets.push(labels_tmp.clone());
                    label_index.insert(labels_tmp.clone(), k);
                    k
                };
                samples
                    .push_raw(&locs_tmp, &vals_tmp, set)
                    .map_err(|e| match e {
                        Error::Invalid(what) => Error::Invalid(format!("at byte {at}: {what}")),
                        e => e,
                    })?;
            }
            3 => {
                let buf = top_bytes(&v, at)?;
                mappings.push(decode_mapping(buf, off)?);
            }
            4 => {
                let buf = top_bytes(&v, at)?;
                locations.push(decode_location(buf, off)?);
            }
            5 => {
                let buf = top_bytes(&v, at)?;
                functions.push(decode_function(buf, off)?);
            }
            6 => {
                let buf = top_bytes(&v, at)?;
                strings.push(String::from_utf8_lossy(buf).into_owned());
            }
            7 => drop_x = top_varint(&v, at)? as i64,
            8 => keep_x = top_varint(&v, at)? as i64,
            9 => {
                if time != 0 {
                    return Err(Error::Concatenated { offset: at });
                }
                time = top_varint(&v, at)? as i64;
            }
            10 => dur = top_varint(&v, at)? as i64,
            11 => {
                let buf = top_bytes(&v, at)?;
                period_type = decode_value_type(buf, off)?;
            }
            12 => period = top_varint(&v, at)? as i64,
            13 => match v {
                Top::Varint(u) => comments.push(u),
                Top::Bytes(buf) => {
                    let mut pr = Reader::new(buf, off);
                    while !pr.done() {
                        comments.push(pr.varint()?);
                    }
                }
                Top::Skip => {
                    return Err(Error::Proto {
                        offset: at,
                        what: "expected comment string indices",
                    });
                }
            },
            14 => default_x = top_varint(&v, at)? as i64,
            15 => doc_x = top_varint(&v, at)? as i64,
            _ => {}
        }
    }
    if !any {
        return Err(Error::Empty);
    }
    drop(sr);
    if strings.is_empty() {
        return Err(Error::Invalid(
            "string table is missing (it must hold at least the empty string)".into(),
        ));
    }
    if !strings[0].is_empty() {
        return Err(Error::Invalid(
            "string_table[0] must be the empty string".into(),
        ));
    }
    let st = Strings::new(&strings, limits);

    let mut p = Profile::default();
    for (t, u) in sample_types {
        p.sample_types.push(ValueType {
            ty: st.get(t, "sample_type.type")?,
            unit: st.get(u, "sample_type.unit")?,
        });
    }
    for rm in mappings {
        let mut m = rm.m;
        m.file = st.get(rm.file, "mapping.filename")?;
        m.build_id = st.get(rm.build_id, "mapping.build_id")?;
        p.mappings.push(m);
    }
    for f in functions {
        p.functions.push(Function {
            id: f.id,
            name: st.get(f.name, "function.name")?,
            system_name: st.get(f.system_name, "function.system_name")?,
            filename: st.get(f.filename, "function.filename")?,
            start_line: f.start_line,
        });
    }
    let mapping_ids = IdMap::build(p.mappings.iter().map(|m| m.id), p.mappings.len(), "mapping")?;
    let function_ids = IdMap::build(
        p.functions.iter().map(|f| f.id),
        p.functions.len(),
        "function",
    )?;
    for l in &locations {
        let mut loc = Location {
            id: l.id,
            address: l.address,
            is_folded: l.is_folded,
            ..Default::default()
        };
        if l.mapping_id != 0 {
            loc.mapping = Some(
                mapping_ids
                    .get(l.mapping_id)
                    .ok_or_else(|| Error::DanglingId {
                        what: format!("location {}", l.id),
                        kind: "mapping",
                        id: l.mapping_id,
                    })?,
            );
        }
        for &(fid, line, column) in &l.lines {
            let function = function_ids.get(fid).ok_or_else(|| Error::DanglingId {
                what: format!("a line of location {}", l.id),
                kind: "function",
                id: fid,
            })?;
            loc.lines.push(Line {
                function,
                line,
                column,
            });
        }
        p.locations.push(loc);
    }
    drop(locations);
    let location_ids = IdMap::build(
        p.locations.iter().map(|l| l.id),
        p.locations.len(),
        "location",
    )?;

    drop(label_index);
    let nvalues = p.sample_types.len();
    if !samples.is_empty() && samples.nvalues() != nvalues {
        return Err(Error::Invalid(format!(
            "sample #0 has {} values but the profile has {nvalues} sample types",
            samples.nvalues()
        )));
    }
    samples
        .resolve_locations(p.locations.len(), |id| location_ids.get(u64::from(id)))
        .map_err(|(i, id)| Error::DanglingId {
            what: format!("sample #{i}"),
            kind: "location",
            id: u64::from(id),
        })?;
    let mut sets = Vec::with_capacity(label_sets.len());
    for raw in label_sets {
        let mut l = Labels::default();
        for r in raw {
            let key = st.get(r.key, "label.key")?;
            if r.str != 0 {
                l.strs.push((key, st.get(r.str, "label.str")?));
            } else if r.num != 0 || r.unit != 0 {
                l.nums.push(NumLabel {
                    key,
                    value: r.num,
                    unit: st.get(r.unit, "label.num_unit")?,
                });
            }
        }
        sets.push(l);
    }
    samples.set_label_sets(sets);
    samples.shrink_to_fit();
    p.samples = samples;

    p.drop_frames = st.get(drop_x, "drop_frames")?;
    p.keep_frames = st.get(keep_x, "keep_frames")?;
    p.time_nanos = time;
    p.duration_nanos = dur;
    p.period_type = ValueType {
        ty: st.get(period_type.0, "period_type.type")?,
        unit: st.get(period_type.1, "period_type.unit")?,
    };
    p.period = period;
    for c in comments {
        p.comments.push(st.get(c as i64, "comment")?);
    }
    p.default_sample_type = st.get(default_x, "default_sample_type")?;
    p.doc_url = st.get(doc_x, "doc_url")?;
    Ok(p)
}

/// Errors after which no other reading of the input is tried: the input
/// is over a limit, damaged as gzip, empty, or several profiles.
fn is_final(e: &Error) -> bool {
    matches!(
        e,
        Error::Empty
            | Error::Concatenated { .. }
            | Error::Gzip(_)
            | Error::TooLarge { .. }
            | Error::StringsTooLarge { .. }
    )
}

/// How much of the decompressed input decides whether it may be a legacy
/// text profile.
const LEGACY_HEAD: u64 = 64 << 10;

/// Parses gzipped input, opened by `open` (called again for a legacy text
/// fallback): profile.proto streamed from the decompressor; legacy text
/// only when its first 64 KiB may start one, so garbage is rejected without
/// inflating it all.
/// `compressed` is the input's size, when known: a large one is inflated
/// on a second thread while this one decodes.
fn parse_gzip<R: Read + Send>(
    mut open: impl FnMut() -> Result<R>,
    compressed: u64,
    limits: Limits,
) -> Result<Profile> {
    let gz = |r: R| flate2::read::MultiGzDecoder::new(r);
    let decoded = if compressed >= PIPELINE_FROM {
        decode_gzip_pipelined(open()?, limits)
    } else {
        decode_stream_with(gz(open()?), limits)
    };
    let proto_err = match decoded {
        Ok(p) => return Ok(p),
        Err(e) if is_final(&e) => return Err(e),
        Err(e) => e,
    };
    let mut head = Vec::new();
    match gz(open()?).take(LEGACY_HEAD).read_to_end(&mut head) {
        Ok(_) => {}
        Err(_) => return Err(proto_err),
    }
    let whole = (head.len() as u64) < LEGACY_HEAD;
    if !crate::legacy::may_start(&head, whole) {
        return Err(proto_err);
    }
    // Streamed a line at a time: a header followed by anything else stops
    // at the first line that is not a profile's.
    let text = std::io::BufReader::with_capacity(1 << 16, Capped::new(gz(open()?), limits));
    match crate::legacy::parse_reader(text) {
        Ok(p) => Ok(p),
        Err(Error::Unrecognized) => Err(proto_err),
        Err(le) => Err(le),
    }
}

/// Compressed inputs from this size on are inflated and decoded in
/// parallel; below it a thread costs more than it saves.
const PIPELINE_FROM: u64 = 1 << 20;

/// Size of the blocks the inflating thread hands over.
const BLOCK: usize = 256 << 10;

/// Decodes gzipped profile.proto from `r`, inflating on a second thread
/// (the two take about as long) that hands over blocks of [`BLOCK`] bytes,
/// a few ahead at most, and reuses the ones read. The thread stops as soon
/// as the decoder does, on an error included.
fn decode_gzip_pipelined<R: Read + Send>(r: R, limits: Limits) -> Result<Profile> {
    use std::sync::mpsc::{Receiver, sync_channel};
    /// A block and how much of it holds data, or the inflater's error.
    type Msg = std::io::Result<(Vec<u8>, usize)>;
    std::thread::scope(|scope| {
        let (tx, rx) = sync_channel::<Msg>(4);
        let (back_tx, back_rx) = sync_channel::<Vec<u8>>(8);
        scope.spawn(move || {
            let mut gz = Capped::new(flate2::read::MultiGzDecoder::new(r), limits);
            loop {
                let mut block = back_rx.try_recv().unwrap_or_else(|_| vec![0u8; BLOCK]);
                let mut n = 0;
                let res = loop {
                    match gz.read(&mut block[n..]) {
                        Ok(0) => break Ok(()),
                        Ok(k) => {
                            n += k;
                            if n == block.len() {
                                break Ok(());
                            }
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(e) => break Err(e),
                    }
                };
                let full = n == block.len();
                if n > 0 && tx.send(Ok((block, n))).is_err() {
                    return;
                }
                match res {
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                    // Short of a full block: the stream ended.
                    Ok(()) if !full => return,
                    Ok(()) => {}
                }
            }
        });
        struct Blocks {
            rx: Receiver<Msg>,
            back: std::sync::mpsc::SyncSender<Vec<u8>>,
            block: Vec<u8>,
            len: usize,
            pos: usize,
            done: bool,
        }
        impl std::io::BufRead for Blocks {
            fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
                while self.pos >= self.len && !self.done {
                    match self.rx.recv() {
                        Ok(Ok((b, n))) => {
                            let old = std::mem::replace(&mut self.block, b);
                            if !old.is_empty() {
                                let _ = self.back.try_send(old);
                            }
                            self.len = n;
                            self.pos = 0;
                        }
                        Ok(Err(e)) => {
                            self.done = true;
                            return Err(e);
                        }
                        Err(_) => self.done = true,
                    }
                }
                Ok(&self.block[self.pos.min(self.len)..self.len])
            }
            fn consume(&mut self, n: usize) {
                self.pos = (self.pos + n).min(self.len);
            }
        }
        impl Read for Blocks {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let b = std::io::BufRead::fill_buf(self)?;
                let n = b.len().min(buf.len());
                buf[..n].copy_from_slice(&b[..n]);
                std::io::BufRead::consume(self, n);
                Ok(n)
            }
        }
        decode_buffered(
            Blocks {
                rx,
                back: back_tx,
                block: Vec::new(),
                len: 0,
                pos: 0,
                done: false,
            },
            limits,
        )
    })
}

/// The legacy text profile in `data`, else `proto_err` (the reason it is
/// not profile.proto) when it is not legacy text either.
fn legacy_or(data: &[u8], proto_err: Error) -> Result<Profile> {
    match crate::legacy::parse(data) {
        Ok(p) => Ok(p),
        Err(Error::Unrecognized) => Err(proto_err),
        Err(le) => Err(le),
    }
}

/// Reads and parses a profile file, streaming gzip straight into the
/// decoder; legacy text profiles are recognized too.
pub fn parse_file(path: &std::path::Path) -> Result<Profile> {
    parse_file_with(path, Limits::default())
}

/// [`parse_file`] within `limits`.
pub fn parse_file_with(path: &std::path::Path, limits: Limits) -> Result<Profile> {
    let io = |e: std::io::Error| Error::Io {
        path: path.to_path_buf(),
        source: e,
    };
    let open = || std::fs::File::open(path).map_err(io);
    let mut f = open()?;
    let mut head = [0u8; 2];
    let n = f.read(&mut head).map_err(io)?;
    drop(f);
    if n == 2 && is_gzip(&head) {
        let size = std::fs::metadata(path).map_or(0, |m| m.len());
        return parse_gzip(
            || open().map(|f| std::io::BufReader::with_capacity(1 << 16, f)),
            size,
            limits,
        );
    }
    let mut data = Vec::new();
    Capped::new(open()?, limits)
        .read_to_end(&mut data)
        .map_err(
            |e| match e.get_ref().and_then(|x| x.downcast_ref::<OverLimit>()) {
                Some(OverLimit(limit)) => Error::TooLarge { limit: *limit },
                None => io(e),
            },
        )?;
    parse_with(&data, limits)
}

/// Parses a profile: gzipped or plain profile.proto, or a legacy text profile.
pub fn parse(data: &[u8]) -> Result<Profile> {
    parse_with(data, Limits::default())
}

/// [`parse`] within `limits`.
pub fn parse_with(data: &[u8], limits: Limits) -> Result<Profile> {
    if is_gzip(data) {
        return parse_gzip(|| Ok(data), data.len() as u64, limits);
    }
    if data.len() as u64 > limits.max_decompressed {
        return Err(Error::TooLarge {
            limit: limits.max_decompressed,
        });
    }
    match decode_with(data, limits) {
        Ok(p) => Ok(p),
        Err(e) if is_final(&e) => Err(e),
        Err(e) => legacy_or(data, e),
    }
}

// ---------------------------------------------------------------- encoding

struct Enc {
    buf: Vec<u8>,
}

impl Enc {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.buf.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.buf.push(v as u8);
    }
    fn u64(&mut self, tag: u64, v: u64) {
        self.varint(tag << 3);
        self.varint(v);
    }
    fn opt(&mut self, tag: u64, v: u64) {
        if v != 0 {
            self.u64(tag, v);
        }
    }
    fn bytes(&mut self, tag: u64, b: &[u8]) {
        self.varint(tag << 3 | 2);
        self.varint(b.len() as u64);
        self.buf.extend_from_slice(b);
    }
    fn repeated(&mut self, tag: u64, xs: &[u64]) {
        if xs.len() > 2 {
            let mut inner = Enc {
                buf: Vec::with_capacity(xs.len() * 2),
            };
            for &x in xs {
                inner.varint(x);
            }
            self.bytes(tag, &inner.buf);
        } else {
            for &x in xs {
                self.u64(tag, x);
            }
        }
    }
    fn message(&mut self, tag: u64, f: impl FnOnce(&mut Enc)) {
        let mut inner = Enc { buf: Vec::new() };
        f(&mut inner);
        self.bytes(tag, &inner.buf);
    }
}

#[derive(Default)]
struct StringTable {
    index: HashMap<String, u64>,
    list: Vec<String>,
}

impl StringTable {
    fn add(&mut self, s: &str) -> u64 {
        if let Some(&i) = self.index.get(s) {
            return i;
        }
        let i = self.list.len() as u64;
        self.index.insert(s.to_string(), i);
        self.list.push(s.to_string());
        i
    }
}

/// One label as (key, str, num, unit), strings as string-table indices.
type EncodedLabel = (u64, u64, i64, u64);

/// One label set as (key, str, num, unit) string-table entries, in the
/// order pprof writes them: by key, string labels before numeric ones.
fn encode_labels(l: &Labels, st: &mut StringTable) -> Vec<EncodedLabel> {
    let mut out = Vec::new();
    let mut keys: Vec<&str> = l.strs.iter().map(|(k, _)| k.as_str()).collect();
    keys.sort_unstable();
    keys.dedup();
    for k in keys {
        for v in l.values(k) {
            out.push((st.add(k), st.add(v), 0, 0));
        }
    }
    let mut nkeys: Vec<&str> = l.nums.iter().map(|n| n.key.as_str()).collect();
    nkeys.sort_unstable();
    nkeys.dedup();
    for k in nkeys {
        let kx = st.add(k);
        let has_units = l.nums.iter().any(|n| n.key == k && !n.unit.is_empty());
        for n in l.nums.iter().filter(|n| n.key == k) {
            let ux = if has_units { st.add(&n.unit) } else { 0 };
            out.push((kx, 0, n.value, ux));
        }
    }
    out
}

/// Encodes `p` as an uncompressed profile.proto message, in the field and
/// string order `go tool pprof` uses. Ids are taken as they are; call
/// [`crate::merge::merge`] first if they may collide (it renumbers them).
pub fn encode(p: &Profile) -> Vec<u8> {
    let mut st = StringTable::default();
    st.add("");
    let sts: Vec<(u64, u64)> = p
        .sample_types
        .iter()
        .map(|t| (st.add(&t.ty), st.add(&t.unit)))
        .collect();
    // Labels: sorted by key, strings then numbers; encoded once per set,
    // in sample order so the string table comes out in pprof's order.
    let mut sets: Vec<Option<Vec<EncodedLabel>>> = vec![None; p.samples.label_sets().len()];
    for i in 0..p.samples.len() {
        let k = p.samples.label_set_of(i);
        if let (Some(slot @ None), Some(l)) = (sets.get_mut(k), p.samples.label_sets().get(k)) {
            *slot = Some(encode_labels(l, &mut st));
        }
    }
    let maps: Vec<(u64, u64)> = p
        .mappings
        .iter()
        .map(|m| (st.add(&m.file), st.add(&m.build_id)))
        .collect();
    let funcs: Vec<(u64, u64, u64)> = p
        .functions
        .iter()
        .map(|f| (st.add(&f.name), st.add(&f.system_name), st.add(&f.filename)))
        .collect();
    let drop_x = st.add(&p.drop_frames);
    let keep_x = st.add(&p.keep_frames);
    let pt = (st.add(&p.period_type.ty), st.add(&p.period_type.unit));
    let comments: Vec<u64> = p.comments.iter().map(|c| st.add(c)).collect();
    let default_x = st.add(&p.default_sample_type);
    let doc_x = st.add(&p.doc_url);

    let mut e = Enc { buf: Vec::new() };
    for &(t, u) in &sts {
        e.message(1, |m| {
            m.opt(1, t);
            m.opt(2, u);
        });
    }
    let mut ids: Vec<u64> = Vec::new();
    let mut vals: Vec<u64> = Vec::new();
    let no_labels = Vec::new();
    for (i, s) in p.samples.iter().enumerate() {
        ids.clear();
        ids.extend(s.locations.iter().map(|l| p.locations[l as usize].id));
        vals.clear();
        vals.extend(s.values.iter().map(|&v| v as u64));
        let labels = sets
            .get(p.samples.label_set_of(i))
            .and_then(Option::as_ref)
            .unwrap_or(&no_labels);
        e.message(2, |m| {
            m.repeated(1, &ids);
            m.repeated(2, &vals);
            for &(k, sx, n, u) in labels {
                m.message(3, |l| {
                    l.opt(1, k);
                    l.opt(2, sx);
                    l.opt(3, n as u64);
                    l.opt(4, u);
                });
            }
        });
    }
    for (mp, &(f, b)) in p.mappings.iter().zip(&maps) {
        e.message(3, |m| {
            m.opt(1, mp.id);
            m.opt(2, mp.start);
            m.opt(3, mp.limit);
            m.opt(4, mp.offset);
            m.opt(5, f);
            m.opt(6, b);
            m.opt(7, mp.has_functions as u64);
            m.opt(8, mp.has_filenames as u64);
            m.opt(9, mp.has_line_numbers as u64);
            m.opt(10, mp.has_inline_frames as u64);
        });
    }
    for l in &p.locations {
        e.message(4, |m| {
            m.opt(1, l.id);
            m.opt(2, l.mapping.map_or(0, |i| p.mappings[i as usize].id));
            m.opt(3, l.address);
            for ln in &l.lines {
                m.message(4, |x| {
                    x.opt(1, p.functions[ln.function as usize].id);
                    x.opt(2, ln.line as u64);
                    x.opt(3, ln.column as u64);
                });
            }
            m.opt(5, l.is_folded as u64);
        });
    }
    for (f, &(n, s, file)) in p.functions.iter().zip(&funcs) {
        e.message(5, |m| {
            m.opt(1, f.id);
            m.opt(2, n);
            m.opt(3, s);
            m.opt(4, file);
            m.opt(5, f.start_line as u64);
        });
    }
    for s in &st.list {
        e.bytes(6, s.as_bytes());
    }
    e.opt(7, drop_x);
    e.opt(8, keep_x);
    e.opt(9, p.time_nanos as u64);
    e.opt(10, p.duration_nanos as u64);
    if pt != (0, 0) {
        e.message(11, |m| {
            m.opt(1, pt.0);
            m.opt(2, pt.1);
        });
    }
    e.opt(12, p.period as u64);
    e.repeated(13, &comments);
    e.u64(14, default_x);
    e.opt(15, doc_x);
    e.buf
}

/// Encodes and gzips `p` (what `go tool pprof -proto` writes).
pub fn write_gzip(p: &Profile, w: impl Write) -> std::io::Result<()> {
    let mut gz = flate2::write::GzEncoder::new(w, flate2::Compression::default());
    gz.write_all(&encode(p))?;
    gz.finish()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_profile() -> Profile {
        let mut p = Profile::default();
        p.sample_types.push(ValueType::new("samples", "count"));
        p.functions.push(Function {
            id: 1,
            name: "main.f".into(),
            filename: "f.go".into(),
            ..Default::default()
        });
        p.locations.push(Location {
            id: 1,
            lines: vec![Line {
                function: 0,
                line: 3,
                column: 0,
            }],
            ..Default::default()
        });
        p.samples
            .push(&[0], &[5], &Labels::default())
            .expect("push");
        p.time_nanos = 7;
        p
    }

    #[test]
    fn round_trip() {
        let p = sample_profile();
        let q = decode(&encode(&p)).expect("decodes");
        assert_eq!(p, q);
    }

    #[test]
    fn errors_not_panics() {
        let b = encode(&sample_profile());
        for n in 0..b.len() {
            let _ = decode(&b[..n]);
        }
        assert!(matches!(decode(&[0x08, 0xff]), Err(Error::Proto { .. })));
        assert!(matches!(decode(&[0x12, 0x7f]), Err(Error::Proto { .. })));
        let long = [
            0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
        ];
        assert!(matches!(decode(&long), Err(Error::Proto { .. })));
    }

    #[test]
    fn concatenated() {
        let mut b = encode(&sample_profile());
        let again = b.clone();
        b.extend_from_slice(&again);
        assert!(matches!(decode(&b), Err(Error::Concatenated { .. })));
    }

    #[test]
    fn dangling_location() {
        let mut p = sample_profile();
        p.locations[0].id = 9;
        let mut b = encode(&p);
        // The sample refers to id 9 after encode; rewrite the location id to 8.
        p.locations[0].id = 8;
        let mut q = encode(&p);
        std::mem::swap(&mut b, &mut q);
        let _ = q;
        assert!(decode(&b).is_ok());
        let p2 = sample_profile();
        let mut enc = encode(&p2);
        // Corrupt: sample's location id 1 -> 2 (byte after tag 0x08 in sample).
        if let Some(pos) = enc.windows(3).position(|w| w == [0x12, 0x04, 0x08]) {
            enc[pos + 3] = 2;
            assert!(matches!(decode(&enc), Err(Error::DanglingId { .. })));
        }
    }

    #[test]
    fn truncated_gzip() {
        let mut gz = Vec::new();
        write_gzip(&sample_profile(), &mut gz).expect("writes");
        let cut = &gz[..gz.len() - 10];
        assert!(matches!(parse(cut), Err(Error::Gzip(_))));
    }
}
