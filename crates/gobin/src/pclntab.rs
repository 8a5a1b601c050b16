//! The Go pc/line table (`runtime.pclntab`, Go 1.18 and newer).
//!
//! Layout (all offsets relative to the start of the table):
//! a header (`runtime.pcHeader`), the function name table, the
//! compilation-unit file index table, the file name table, the pc-value
//! tables and the function table (`{entryoff, funcoff}` pairs followed by
//! the `_func` records). In 1.18+ the `go:func.*` symbol, which holds the
//! funcdata (inline trees among them), usually follows inside the same range.
//!
//! Everything is read lazily from the bytes: opening costs a header parse.

use std::borrow::Cow;

use crate::bytes::Bytes;
use crate::error::{Error, Result};
use crate::image::Image;
use std::sync::{Arc, OnceLock};

/// Most pc-data tables a function record is read for: the runtime has
/// four (`_PCDATA_UnsafePoint` .. `_PCDATA_ArgLiveIndex`); a larger count
/// is corrupt and reading it all would take time, not answers.
const MAX_PCDATA: u32 = 64;

/// `PCDATA_InlTreeIndex`: the pcdata table mapping a pc to an inline tree index.
pub const PCDATA_INL_TREE_INDEX: u32 = 2;
/// `FUNCDATA_InlTree`: the funcdata holding the inline tree.
pub const FUNCDATA_INL_TREE: u8 = 3;

const MAGIC_GO118: u32 = 0xffff_fff0;
const MAGIC_GO120: u32 = 0xffff_fff1;
/// Bound on inline depth, against cycles in corrupt tables.
const MAX_INLINE_DEPTH: usize = 1024;

/// The pclntab format generation, from its magic number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum PclnVersion {
    /// Go 1.18 and 1.19 (magic 0xfffffff0).
    Go118,
    /// Go 1.20 and newer (magic 0xfffffff1).
    Go120,
}

impl PclnVersion {
    /// The first Go release that wrote this format, e.g. `"1.20"`.
    pub fn as_str(self) -> &'static str {
        match self {
            PclnVersion::Go118 => "1.18",
            PclnVersion::Go120 => "1.20",
        }
    }
}

/// Function flags (`abi.FuncFlag`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FuncFlags(pub u8);

impl FuncFlags {
    /// `FuncFlagTopFrame`: the function is at the top of its stack (goexit, mstart, rt0_go).
    pub const TOP_FRAME: u8 = 1;
    /// `FuncFlagSPWrite`: the function writes SP; unwinding cannot continue past it.
    pub const SP_WRITE: u8 = 2;
    /// `FuncFlagAsm`: the function is written in assembly.
    pub const ASM: u8 = 4;

    /// TopFrame is set.
    pub fn is_top_frame(self) -> bool {
        self.0 & Self::TOP_FRAME != 0
    }
    /// SPWrite is set.
    pub fn is_sp_write(self) -> bool {
        self.0 & Self::SP_WRITE != 0
    }
    /// Asm is set.
    pub fn is_asm(self) -> bool {
        self.0 & Self::ASM != 0
    }
}

/// Where the table sits and what the caller knows about the module.
#[derive(Debug, Clone, Copy, Default)]
pub struct PclntabOptions {
    /// Virtual address of the first byte of the table.
    pub addr: u64,
    /// Start of the text segment (`runtime.text` / `moduledata.text`); when
    /// `None` the header's `textStart` is used.
    pub text_start: Option<u64>,
    /// `moduledata.gofunc` (the `go:func.*` symbol); funcdata, hence inline
    /// trees, need it.
    pub gofunc: Option<u64>,
}

/// A parsed pclntab. Cheap to hold: it keeps a reference to the mapped bytes
/// and the header fields.
#[derive(Debug, Clone)]
pub struct Pclntab {
    data: Bytes,
    image: Option<Arc<Image>>,
    addr: u64,
    version: PclnVersion,
    quantum: u32,
    ptr_size: u8,
    nfunc: usize,
    nfiles: usize,
    text_start: u64,
    funcnametab: usize,
    cutab: usize,
    filetab: usize,
    pctab: usize,
    pcln: usize,
    gofunc: Option<u64>,
    /// Entry offsets of all functions plus the end of text, copied out of
    /// the function table on the first lookup (4 bytes per function) so the
    /// binary search runs over a dense array.
    entries: OnceLock<Index>,
}

/// Where a pclntab's bytes go ([`Pclntab::shares`]).
#[derive(Debug, Clone, Default)]
pub struct PclnShares {
    /// Bytes per function, by index in the function table.
    pub per_func: Vec<u64>,
    /// The bytes no one function owns, by part of the table (`header`,
    /// `names`, `file tables`, `pc tables`, `function table`, `other`).
    pub rest: Vec<(&'static str, u64)>,
    /// Where the table ends (the end of its last function record): what
    /// follows in its section is not part of it.
    pub len: u64,
}

/// Lookup index built on first use: dense entry offsets, and for each
/// 4 KiB bucket of text the first function overlapping it (as the runtime's
/// findfunctab does), so a lookup touches two small arrays.
#[derive(Debug, Clone, Default)]
struct Index {
    entries: Box<[u32]>,
    buckets: Box<[u32]>,
    /// Entries ascend (true for every table a linker wrote).
    sorted: bool,
}

const BUCKET_SHIFT: u32 = 12;

#[inline]
fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    let s = b.get(off..off.checked_add(4)?)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

fn word_at(b: &[u8], off: usize, ptr_size: u8) -> Option<u64> {
    if ptr_size == 8 {
        let s = b.get(off..off.checked_add(8)?)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        Some(u64::from_le_bytes(a))
    } else {
        u32_at(b, off).map(u64::from)
    }
}

#[inline]
fn bad(what: &'static str, offset: usize) -> Error {
    Error::BadPclntab {
        what,
        offset: offset as u64,
    }
}

/// Reads a little-endian base-128 varint (at most 5 bytes for a u32).
#[inline]
/// One step of a pc-value table: the value delta (zig-zag decoded) and
/// the pc delta (scaled by the pc quantum). `None` at the end of the table
/// (a zero value delta after the first step) or on truncated input.
fn pcvalue_step(p: &[u8], pos: &mut usize, first: bool, quantum: u32) -> Option<(i32, u32)> {
    let uvdelta = read_uvarint(p, pos)?;
    if uvdelta == 0 && !first {
        return None;
    }
    let delta = if uvdelta & 1 != 0 {
        !(uvdelta >> 1)
    } else {
        uvdelta >> 1
    } as i32;
    let pcdelta = read_uvarint(p, pos)?.wrapping_mul(quantum);
    Some((delta, pcdelta))
}

fn read_uvarint(p: &[u8], pos: &mut usize) -> Option<u32> {
    let mut v: u32 = 0;
    let mut shift = 0u32;
    loop {
        let b = *p.get(*pos)?;
        *pos += 1;
        if shift < 32 {
            v |= u32::from(b & 0x7f) << shift;
        }
        if b & 0x80 == 0 {
            return Some(v);
        }
        shift += 7;
        if shift > 35 {
            return None;
        }
    }
}

/// Checks the header magic without parsing; used when scanning for a table.
pub(crate) fn looks_like_header(b: &[u8]) -> bool {
    let Some(m) = u32_at(b, 0) else { return false };
    (m == MAGIC_GO118 || m == MAGIC_GO120)
        && b.get(4..6) == Some(&[0, 0])
        && matches!(b.get(6), Some(1 | 2 | 4))
        && matches!(b.get(7), Some(4 | 8))
}

impl Pclntab {
    /// Parses a pclntab from a byte slice (copied). This is the entry point
    /// for fuzzing and for tables extracted from memory.
    pub fn parse(data: &[u8], opts: PclntabOptions) -> Result<Pclntab> {
        Self::from_bytes(Bytes::from_vec(data.to_vec()), None, opts)
    }

    pub(crate) fn from_bytes(
        data: Bytes,
        image: Option<Arc<Image>>,
        opts: PclntabOptions,
    ) -> Result<Pclntab> {
        let b = data.as_slice();
        let magic = u32_at(b, 0).ok_or_else(|| bad("truncated header", 0))?;
        let version = match magic {
            MAGIC_GO118 => PclnVersion::Go118,
            MAGIC_GO120 => PclnVersion::Go120,
            m => return Err(Error::UnsupportedPclntab { magic: m }),
        };
        let quantum = u32::from(*b.get(6).ok_or_else(|| bad("truncated header", 6))?);
        let ptr_size = *b.get(7).ok_or_else(|| bad("truncated header", 7))?;
        if !matches!(quantum, 1 | 2 | 4) {
            return Err(bad("bad pc quantum", 6));
        }
        if !matches!(ptr_size, 4 | 8) {
            return Err(bad("bad pointer size", 7));
        }
        let ps = usize::from(ptr_size);
        let word = |i: usize| -> Result<u64> {
            word_at(b, 8 + i * ps, ptr_size).ok_or_else(|| bad("truncated header", 8 + i * ps))
        };
        let to_usize = |v: u64, what: &'static str, off: usize| -> Result<usize> {
            let v = usize::try_from(v).map_err(|_| bad(what, off))?;
            if v > b.len() {
                return Err(bad(what, off));
            }
            Ok(v)
        };
        let nfunc = to_usize(word(0)?, "function count larger than the table", 8)?;
        let nfiles = word(1)? as usize;
        let header_text = word(2)?;
        let funcnametab = to_usize(
            word(3)?,
            "function name table offset out of range",
            8 + 3 * ps,
        )?;
        let cutab = to_usize(word(4)?, "cu table offset out of range", 8 + 4 * ps)?;
        let filetab = to_usize(word(5)?, "file table offset out of range", 8 + 5 * ps)?;
        let pctab = to_usize(word(6)?, "pc table offset out of range", 8 + 6 * ps)?;
        let pcln = to_usize(word(7)?, "function table offset out of range", 8 + 7 * ps)?;
        // The function table: nfunc+1 entry offsets, nfunc func offsets.
        let ftab_len = nfunc
            .checked_mul(8)
            .and_then(|n| n.checked_add(4))
            .ok_or_else(|| bad("function count overflows", 8))?;
        if pcln.checked_add(ftab_len).is_none_or(|end| end > b.len()) {
            return Err(bad("function table runs past the end", pcln));
        }
        let text_start = opts.text_start.unwrap_or(header_text);
        let tab = Pclntab {
            data,
            image,
            addr: opts.addr,
            version,
            quantum,
            ptr_size,
            nfunc,
            nfiles,
            text_start,
            funcnametab,
            cutab,
            filetab,
            pctab,
            pcln,
            gofunc: opts.gofunc,
            entries: OnceLock::new(),
        };
        Ok(tab)
    }

    #[inline]
    fn bytes(&self) -> &[u8] {
        self.data.as_slice()
    }

    /// The format generation.
    pub fn version(&self) -> PclnVersion {
        self.version
    }
    /// The pc quantum (instruction alignment): 1 on amd64, 4 on arm64.
    pub fn pc_quantum(&self) -> u32 {
        self.quantum
    }
    /// Pointer size of the target in bytes.
    pub fn ptr_size(&self) -> u8 {
        self.ptr_size
    }
    /// Number of functions.
    pub fn num_funcs(&self) -> usize {
        self.nfunc
    }
    /// Number of source files recorded in the header.
    pub fn num_files(&self) -> usize {
        self.nfiles
    }
    /// Text start used to turn entry offsets into addresses.
    pub fn text_start(&self) -> u64 {
        self.text_start
    }
    /// Virtual address of the table.
    pub fn addr(&self) -> u64 {
        self.addr
    }
    /// Size of the table in bytes.
    pub fn len(&self) -> usize {
        self.bytes().len()
    }
    /// True if the table has no bytes (never for a parsed table).
    pub fn is_empty(&self) -> bool {
        self.bytes().is_empty()
    }
    /// `moduledata.gofunc`, if known.
    pub fn gofunc(&self) -> Option<u64> {
        self.gofunc
    }

    #[inline]
    fn ftab_entryoff(&self, i: usize) -> Option<u32> {
        u32_at(self.bytes(), self.pcln + i * 8)
    }

    /// The lowest pc covered by a function.
    pub fn min_pc(&self) -> Option<u64> {
        (self.nfunc > 0)
            .then(|| self.ftab_entryoff(0))
            .flatten()
            .map(|o| self.text_start + u64::from(o))
    }
    /// One past the highest pc covered by a function.
    pub fn max_pc(&self) -> Option<u64> {
        (self.nfunc > 0)
            .then(|| self.ftab_entryoff(self.nfunc))
            .flatten()
            .map(|o| self.text_start + u64::from(o))
    }

    /// Where the table's bytes go: each function's share (its name, its
    /// record and its slot in the function table, and the pc-value tables
    /// it is the first to use), and the rest by part. The two add up to
    /// [`PclnShares::len`] exactly.
    pub fn shares(&self) -> PclnShares {
        let len = self.bytes().len();
        let mut per_func = vec![0u64; self.nfunc];
        // Header, names, cu and file tables, pc-value tables, then the
        // function table and the records: in this order in every table
        // since Go 1.18 (offsets out of order count as "other").
        let bounds = [
            self.funcnametab,
            self.cutab,
            self.filetab,
            self.pctab,
            self.pcln,
            len,
        ];
        let ftab_end = self.pcln.saturating_add(self.nfunc * 8 + 4);
        if !bounds.windows(2).all(|w| w[0] <= w[1]) || ftab_end > len {
            return PclnShares {
                per_func,
                rest: vec![("other", len as u64)],
                len: len as u64,
            };
        }
        // (start, end, function) of each name and pc-value table, and each
        // function's record with its function-table entry.
        let mut names = Vec::with_capacity(self.nfunc);
        let mut tables = Vec::with_capacity(self.nfunc * 4);
        let mut records: Vec<(usize, usize)> = Vec::with_capacity(self.nfunc);
        let mut seen = std::collections::HashSet::new();
        for i in 0..self.nfunc {
            let Some(f) = self.func(i) else { continue };
            records.push((f.off, i));
            if let Some(name) = f.name_bytes() {
                let start = self.funcnametab + f.field(4) as usize;
                names.push((start, start + name.len() + 1, i));
            }
            // A corrupt record may claim four billion tables: the
            // runtime defines four, so more than MAX_PCDATA is not read.
            let pcdata = (0..f.npcdata().min(MAX_PCDATA)).map_while(|t| {
                u32_at(
                    self.bytes(),
                    f.off + self.func_header_size() + t as usize * 4,
                )
            });
            for off in [f.pcsp(), f.pcfile(), f.pcln()].into_iter().chain(pcdata) {
                if off == 0 || !seen.insert(off) {
                    continue;
                }
                let start = self.pctab + off as usize;
                tables.push((start, start + self.pcvalue_len(off), i));
            }
        }
        // Claims inside their region, each byte claimed once (a corrupt
        // table may point two names at the same bytes).
        let mut claim = |mut v: Vec<(usize, usize, usize)>, from: usize, to: usize| -> u64 {
            v.sort_unstable();
            let (mut claimed, mut upto) = (0u64, from);
            for (a, b, i) in v {
                if a < upto || b > to {
                    continue;
                }
                per_func[i] += (b - a) as u64;
                claimed += (b - a) as u64;
                upto = b;
            }
            claimed
        };
        let names = claim(names, self.funcnametab, self.cutab);
        let tables = claim(tables, self.pctab, self.pcln);
        // The function table: an entry (8 bytes) per function and the end
        // entry, then the records, each running to the next one. The
        // section holds more after the last record since Go 1.18
        // (`go:func.*`, `runtime.findfunctab`): the table ends with it.
        records.sort_unstable();
        let mut functab = 0u64;
        let mut table_len = ftab_end;
        for (k, &(off, i)) in records.iter().enumerate() {
            let end = match records.get(k + 1) {
                Some(r) => r.0,
                None => self.func(i).map_or(off, |f| {
                    off + self.func_header_size()
                        + 4 * f.npcdata() as usize
                        + 4 * usize::from(f.nfuncdata())
                }),
            }
            .min(len);
            let n = 8 + end.saturating_sub(off.max(ftab_end)) as u64;
            per_func[i] += n;
            functab += n;
            table_len = table_len.max(end);
        }
        let size = |a: usize, b: usize| (b - a) as u64;
        PclnShares {
            per_func,
            rest: vec![
                ("header", size(0, self.funcnametab)),
                ("names", size(self.funcnametab, self.cutab) - names),
                ("file tables", size(self.cutab, self.pctab)),
                ("pc tables", size(self.pctab, self.pcln) - tables),
                (
                    "function table",
                    size(self.pcln, table_len).saturating_sub(functab),
                ),
            ],
            len: table_len as u64,
        }
    }

    /// Bytes of the pc-value table at `off` (into the pc tables), up to
    /// and including its end mark.
    fn pcvalue_len(&self, off: u32) -> usize {
        let Some(start) = self.pctab.checked_add(off as usize) else {
            return 0;
        };
        let Some(p) = self.bytes().get(start..self.pcln.max(start)) else {
            return 0;
        };
        let mut pos = 0;
        let mut first = true;
        while pcvalue_step(p, &mut pos, first, self.quantum).is_some() {
            first = false;
        }
        // The end mark (a zero value delta) was read too.
        pos.min(p.len())
    }

    /// The function at index `i` in the table (sorted by entry pc).
    pub fn func(&self, i: usize) -> Option<Func<'_>> {
        if i >= self.nfunc {
            return None;
        }
        let funcoff = u32_at(self.bytes(), self.pcln + i * 8 + 4)? as usize;
        let off = self.pcln.checked_add(funcoff)?;
        let size = self.func_header_size();
        if off.checked_add(size)? > self.bytes().len() {
            return None;
        }
        Some(Func {
            tab: self,
            index: i,
            off,
        })
    }

    fn func_header_size(&self) -> usize {
        match self.version {
            PclnVersion::Go118 => 40,
            PclnVersion::Go120 => 44,
        }
    }

    fn index(&self) -> &Index {
        self.entries.get_or_init(|| {
            let mut entries = Vec::with_capacity(self.nfunc + 1);
            for i in 0..=self.nfunc {
                // In bounds: checked at parse time.
                entries.push(self.ftab_entryoff(i).unwrap_or(u32::MAX));
            }
            let end = entries.last().copied().unwrap_or(0);
            let nb = (end >> BUCKET_SHIFT) as usize + 1;
            // Only when entries are sorted (they are in any real table);
            // otherwise fall back to plain binary search.
            let sorted = entries.windows(2).all(|w| w[0] <= w[1]);
            let mut buckets = Vec::new();
            if sorted && self.nfunc > 0 && nb <= (1 << 24) {
                buckets.reserve(nb + 1);
                let mut f = 0usize;
                for b in 0..=nb {
                    let start = (b as u64) << BUCKET_SHIFT;
                    while f + 1 < self.nfunc && u64::from(entries[f + 1]) <= start {
                        f += 1;
                    }
                    buckets.push(f as u32);
                }
            }
            Index {
                entries: entries.into_boxed_slice(),
                buckets: buckets.into_boxed_slice(),
                sorted,
            }
        })
    }

    /// Index of the function containing `pc`.
    pub fn func_index_for_pc(&self, pc: u64) -> Option<usize> {
        if self.nfunc == 0 || pc < self.text_start {
            return None;
        }
        let off = u32::try_from(pc - self.text_start).ok()?;
        let ix = self.index();
        let e = &ix.entries;
        let (&first, &end) = (e.first()?, e.last()?);
        if off >= end || off < first {
            return None;
        }
        let b = (off >> BUCKET_SHIFT) as usize;
        let (lo, hi) = match (ix.buckets.get(b), ix.buckets.get(b + 1)) {
            (Some(&lo), Some(&hi)) => (lo as usize, (hi as usize + 1).min(self.nfunc)),
            _ => (0, self.nfunc),
        };
        // Largest i in [lo, hi) with entry(i) <= off.
        let i = lo
            + e.get(lo..hi)?
                .partition_point(|&x| x <= off)
                .checked_sub(1)?;
        Some(i)
    }

    /// The function containing `pc`.
    pub fn func_for_pc(&self, pc: u64) -> Option<Func<'_>> {
        self.func(self.func_index_for_pc(pc)?)
    }

    /// Function, file and line for `pc`, as `go tool addr2line` reports it:
    /// the physical (outermost) function, and the file and line of the
    /// innermost inlined call at that pc.
    pub fn lookup(&self, pc: u64) -> Option<Location<'_>> {
        let func = self.func_for_pc(pc)?;
        let (file, line) = func.file_line(pc);
        Some(Location { func, file, line })
    }

    /// Looks up many pcs at once, calling `f(i, location)` for each `pcs[i]`
    /// (in pc order, not input order). Each function's line and file tables
    /// are decoded once for all the pcs that fall in it, so symbolizing a
    /// large batch costs about one table walk per distinct function.
    pub fn lookup_batch<'a>(&'a self, pcs: &[u64], mut f: impl FnMut(usize, Option<Location<'a>>)) {
        let mut order: Vec<usize> = (0..pcs.len()).collect();
        order.sort_unstable_by_key(|&i| pcs[i]);
        let (mut group, mut files, mut lines) = (Vec::new(), Vec::new(), Vec::new());
        let mut i = 0;
        while i < order.len() {
            let Some(func) = self.func_for_pc(pcs[order[i]]) else {
                f(order[i], None);
                i += 1;
                continue;
            };
            let end = func.end();
            let sorted = self.index().sorted;
            let mut j = i + 1;
            while j < order.len()
                && pcs[order[j]] < end
                && (sorted || self.func_index_for_pc(pcs[order[j]]) == Some(func.index()))
            {
                j += 1;
            }
            group.clear();
            group.extend(order[i..j].iter().map(|&k| pcs[k]));
            let entry = func.entry();
            self.pcvalue_many(func.pcfile(), entry, &group, &mut files);
            self.pcvalue_many(func.pcln(), entry, &group, &mut lines);
            let cu = func.cu_offset();
            let mut last: Option<(i32, Option<Cow<'a, str>>)> = None;
            for (k, &ix) in order[i..j].iter().enumerate() {
                let file = match files[k] {
                    None => None,
                    Some(n) => match &last {
                        Some((ln, name)) if *ln == n => name.clone(),
                        _ => {
                            let name = self.file_name(cu, n);
                            last = Some((n, name.clone()));
                            name
                        }
                    },
                };
                let line = lines[k].and_then(|l| u32::try_from(l).ok());
                f(ix, Some(Location { func, file, line }));
            }
            i = j;
        }
    }

    /// Values of a pc-value table at each of `targets` (ascending, all
    /// within the function), in one pass.
    fn pcvalue_many(&self, off: u32, entry: u64, targets: &[u64], out: &mut Vec<Option<i32>>) {
        out.clear();
        let p = match self
            .pctab
            .checked_add(off as usize)
            .and_then(|o| self.bytes().get(o..))
        {
            Some(p) if off != 0 => p,
            _ => {
                out.resize(targets.len(), None);
                return;
            }
        };
        let (mut pos, mut pc, mut val, mut started, mut dead) =
            (0usize, entry, -1i32, false, false);
        for &t in targets {
            while !dead && (!started || t >= pc) {
                match pcvalue_step(p, &mut pos, pc == entry, self.quantum) {
                    Some((delta, pcdelta)) => {
                        pc = pc.wrapping_add(u64::from(pcdelta));
                        val = val.wrapping_add(delta);
                        started = true;
                    }
                    None => dead = true,
                }
            }
            out.push(if dead { None } else { Some(val) });
        }
    }

    /// The chain of frames at `pc`, innermost first: each inlined call with
    /// its own name, file and line, then the physical function. Empty if no
    /// function covers `pc`.
    pub fn inline_frames(&self, pc: u64) -> Vec<InlineFrame<'_>> {
        let Some(func) = self.func_for_pc(pc) else {
            return Vec::new();
        };
        func.inline_frames(pc)
    }

    /// Stack frame size at `pc` (the pcsp value: bytes below the return address).
    pub fn frame_size(&self, pc: u64) -> Option<i32> {
        self.func_for_pc(pc)?.frame_size(pc)
    }

    /// All functions, in entry order.
    pub fn funcs(&self) -> impl Iterator<Item = Func<'_>> + '_ {
        (0..self.nfunc).filter_map(move |i| self.func(i))
    }

    /// Functions whose name matches a regular expression (unanchored, like
    /// `go tool nm | grep -E`).
    pub fn funcs_matching(&self, pattern: &str) -> Result<impl Iterator<Item = Func<'_>> + '_> {
        let re = regex::Regex::new(pattern)?;
        Ok(self.funcs().filter(move |f| re.is_match(&f.name())))
    }

    /// Writes what `go tool addr2line` prints for one input line: the
    /// function name, then `file:line` (`?` and `?:0` when no function covers
    /// the address). With `inline`, one such pair per frame of the inline
    /// chain, innermost first. Input is hex with optional `0x`; unparsable
    /// input counts as address 0, and `file:line` input (reverse lookup) gets
    /// addr2line's "not implemented" line.
    pub fn write_addr2line(
        &self,
        out: &mut dyn std::io::Write,
        input: &str,
        inline: bool,
    ) -> std::io::Result<()> {
        if input.contains(':') {
            return writeln!(out, "!reverse translation not implemented");
        }
        let pc = u64::from_str_radix(input.strip_prefix("0x").unwrap_or(input), 16).unwrap_or(0);
        let line = |l: Option<u32>| l.map_or(-1, i64::from);
        if inline {
            let frames = self.inline_frames(pc);
            if frames.is_empty() {
                return writeln!(out, "?\n?:0");
            }
            for f in frames {
                writeln!(
                    out,
                    "{}\n{}:{}",
                    f.name,
                    f.file.as_deref().unwrap_or(""),
                    line(f.line)
                )?;
            }
            return Ok(());
        }
        let Some(f) = self.func_for_pc(pc) else {
            return writeln!(out, "?\n?:0");
        };
        let (entry, cu) = (f.entry(), f.cu_offset());
        let file = self
            .pcvalue_impl(f.pcfile(), entry, pc, true)
            .and_then(|n| self.file_name(cu, n));
        let line = self.pcvalue_impl(f.pcln(), entry, pc, true).unwrap_or(-1);
        writeln!(
            out,
            "{}\n{}:{}",
            f.name(),
            file.as_deref().unwrap_or(""),
            line
        )
    }

    /// The first function with exactly this name (a linear scan).
    pub fn func_by_name(&self, name: &str) -> Option<Func<'_>> {
        let want = name.as_bytes();
        self.funcs().find(|f| f.name_bytes() == Some(want))
    }

    /// NUL-terminated string at `base + off`, bounded by the table.
    #[inline]
    fn cstr(&self, base: usize, off: usize) -> Option<&[u8]> {
        let start = base.checked_add(off)?;
        let rest = self.bytes().get(start..)?;
        let n = memchr::memchr(0, rest)?;
        Some(&rest[..n])
    }

    /// Function name at an offset into the function name table.
    pub fn name_at(&self, name_off: u32) -> Option<Cow<'_, str>> {
        self.cstr(self.funcnametab, name_off as usize)
            .map(String::from_utf8_lossy)
    }

    /// File name for a file number in the compilation unit at `cu_offset`.
    fn file_name(&self, cu_offset: u32, fileno: i32) -> Option<Cow<'_, str>> {
        if fileno < 0 {
            return None;
        }
        // u32 arithmetic, wrapping, as the runtime and debug/gosym do (C
        // functions have cu_offset 0xffffffff).
        let at = cu_offset.wrapping_add(fileno as u32).wrapping_mul(4) as usize;
        let fileoff = u32_at(self.bytes(), self.cutab.checked_add(at)?)?;
        if fileoff == u32::MAX {
            return None;
        }
        self.cstr(self.filetab, fileoff as usize)
            .map(String::from_utf8_lossy)
    }

    /// Decodes the pc-value table at `off` (into the pc table) for a function
    /// starting at `entry`, and returns the value at `target`.
    ///
    /// Offset 0 means "no table" to the runtime; `debug/gosym` (hence `go
    /// tool addr2line`) decodes it anyway from the start of the pc table, and
    /// `gosym_compat` does the same so we print what addr2line prints.
    fn pcvalue_impl(&self, off: u32, entry: u64, target: u64, gosym_compat: bool) -> Option<i32> {
        if off == 0 && !gosym_compat {
            return None;
        }
        let p = self.bytes().get(self.pctab.checked_add(off as usize)?..)?;
        let mut pos = 0usize;
        let mut pc = entry;
        let mut val: i32 = -1;
        loop {
            let (delta, pcdelta) = pcvalue_step(p, &mut pos, pc == entry, self.quantum)?;
            pc = pc.wrapping_add(u64::from(pcdelta));
            val = val.wrapping_add(delta);
            if target < pc {
                return Some(val);
            }
        }
    }

    #[inline]
    fn pcvalue(&self, off: u32, entry: u64, target: u64) -> Option<i32> {
        self.pcvalue_impl(off, entry, target, false)
    }

    /// Reads `len` bytes at virtual address `addr`: from the table itself if
    /// the range lies inside it, otherwise from the file's segments.
    fn read_addr(&self, addr: u64, len: usize) -> Option<&[u8]> {
        if addr >= self.addr {
            let off = usize::try_from(addr - self.addr).ok()?;
            if let Some(b) = self.bytes().get(off..off.checked_add(len)?) {
                return Some(b);
            }
        }
        self.image.as_ref()?.read_va(addr, len as u64)
    }
}

/// One function record (`runtime._func`).
#[derive(Clone, Copy)]
pub struct Func<'a> {
    tab: &'a Pclntab,
    index: usize,
    off: usize,
}

impl std::fmt::Debug for Func<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Func")
            .field("name", &self.name())
            .field("entry", &format_args!("{:#x}", self.entry()))
            .field("end", &format_args!("{:#x}", self.end()))
            .finish()
    }
}

impl<'a> Func<'a> {
    #[inline]
    fn field(&self, at: usize) -> u32 {
        // In bounds: checked when the Func was made.
        u32_at(self.tab.bytes(), self.off + at).unwrap_or(0)
    }
    #[inline]
    fn byte(&self, at118: usize, at120: usize) -> u8 {
        let at = match self.tab.version {
            PclnVersion::Go118 => at118,
            PclnVersion::Go120 => at120,
        };
        self.tab.bytes().get(self.off + at).copied().unwrap_or(0)
    }

    /// Index in the function table.
    pub fn index(&self) -> usize {
        self.index
    }
    /// Entry pc.
    pub fn entry(&self) -> u64 {
        self.tab.text_start.wrapping_add(u64::from(self.field(0)))
    }
    /// End pc (the next function's entry).
    pub fn end(&self) -> u64 {
        self.tab
            .ftab_entryoff(self.index + 1)
            .map_or(self.entry(), |o| {
                self.tab.text_start.wrapping_add(u64::from(o))
            })
    }
    /// Size in bytes (end - entry).
    pub fn size(&self) -> u64 {
        self.end().saturating_sub(self.entry())
    }
    fn name_bytes(&self) -> Option<&'a [u8]> {
        self.tab.cstr(self.tab.funcnametab, self.field(4) as usize)
    }
    /// Name, as the runtime prints it (`main.main`, `pkg.(*T).M`, `pkg.F[...]`).
    pub fn name(&self) -> Cow<'a, str> {
        self.name_bytes()
            .map_or(Cow::Borrowed("?"), String::from_utf8_lossy)
    }
    /// Size of the arguments in bytes (`args`).
    pub fn args(&self) -> i32 {
        self.field(8) as i32
    }
    /// Offset of the deferreturn call, 0 if none.
    pub fn deferreturn(&self) -> u32 {
        self.field(12)
    }
    /// Offset of the pcsp table (into the pc table).
    pub fn pcsp(&self) -> u32 {
        self.field(16)
    }
    /// Offset of the pcfile table.
    pub fn pcfile(&self) -> u32 {
        self.field(20)
    }
    /// Offset of the pcln table.
    pub fn pcln(&self) -> u32 {
        self.field(24)
    }
    /// Number of pcdata tables.
    pub fn npcdata(&self) -> u32 {
        self.field(28)
    }
    /// Compilation unit offset into the cu table.
    pub fn cu_offset(&self) -> u32 {
        self.field(32)
    }
    /// Line of the `func` keyword (Go 1.20+).
    pub fn start_line(&self) -> Option<u32> {
        match self.tab.version {
            PclnVersion::Go118 => None,
            PclnVersion::Go120 => Some(self.field(36)),
        }
    }
    /// `abi.FuncID` (numbering differs between releases; match names instead).
    pub fn func_id(&self) -> u8 {
        self.byte(36, 40)
    }
    /// Flags.
    pub fn flags(&self) -> FuncFlags {
        FuncFlags(self.byte(37, 41))
    }
    /// Number of funcdata slots.
    pub fn nfuncdata(&self) -> u8 {
        self.byte(39, 43)
    }

    /// Value of pcdata table `table` at `pc`, `None` if the table is absent
    /// or does not cover `pc`.
    pub fn pcdata_value(&self, table: u32, pc: u64) -> Option<i32> {
        if table >= self.npcdata() {
            return None;
        }
        let at = self.tab.func_header_size() + table as usize * 4;
        let off = u32_at(self.tab.bytes(), self.off + at)?;
        self.tab.pcvalue(off, self.entry(), pc)
    }

    /// Offset (from `moduledata.gofunc`) of funcdata slot `i`.
    pub fn funcdata_offset(&self, i: u8) -> Option<u32> {
        if i >= self.nfuncdata() {
            return None;
        }
        let at = self.tab.func_header_size() + self.npcdata() as usize * 4 + usize::from(i) * 4;
        let off = u32_at(self.tab.bytes(), self.off + at)?;
        (off != u32::MAX).then_some(off)
    }

    /// Address of funcdata slot `i` (needs `gofunc`).
    pub fn funcdata_addr(&self, i: u8) -> Option<u64> {
        Some(
            self.tab
                .gofunc?
                .wrapping_add(u64::from(self.funcdata_offset(i)?)),
        )
    }

    /// Frame size at `pc` (pcsp).
    pub fn frame_size(&self, pc: u64) -> Option<i32> {
        self.tab.pcvalue(self.pcsp(), self.entry(), pc)
    }

    /// Source line at `pc` (innermost inlined position).
    pub fn line(&self, pc: u64) -> Option<u32> {
        self.tab
            .pcvalue(self.pcln(), self.entry(), pc)
            .and_then(|l| u32::try_from(l).ok())
    }

    /// Source file at `pc` (innermost inlined position).
    pub fn file(&self, pc: u64) -> Option<Cow<'a, str>> {
        let fileno = self.tab.pcvalue(self.pcfile(), self.entry(), pc)?;
        self.tab.file_name(self.cu_offset(), fileno)
    }

    /// File and line at `pc`.
    pub fn file_line(&self, pc: u64) -> (Option<Cow<'a, str>>, Option<u32>) {
        (self.file(pc), self.line(pc))
    }

    /// Frames at `pc`, innermost first, physical function last.
    pub fn inline_frames(&self, pc: u64) -> Vec<InlineFrame<'a>> {
        let mut out = Vec::new();
        let tree = self.funcdata_addr(FUNCDATA_INL_TREE);
        let mut pc = pc;
        if let Some(tree) = tree {
            let (size, id_at, name_at, parent_at) = match self.tab.version {
                PclnVersion::Go118 => (20u64, 2usize, 12usize, 16usize),
                PclnVersion::Go120 => (16, 0, 4, 8),
            };
            while out.len() < MAX_INLINE_DEPTH {
                let Some(idx) = self.pcdata_value(PCDATA_INL_TREE_INDEX, pc) else {
                    break;
                };
                let Ok(idx) = u64::try_from(idx) else { break };
                let Some(rec) = idx
                    .checked_mul(size)
                    .and_then(|o| tree.checked_add(o))
                    .and_then(|a| self.tab.read_addr(a, size as usize))
                else {
                    break;
                };
                let func_id = rec[id_at];
                let name_off = u32_at(rec, name_at).unwrap_or(u32::MAX);
                let parent_pc = u32_at(rec, parent_at).unwrap_or(0);
                let (file, line) = self.file_line(pc);
                out.push(InlineFrame {
                    name: self.tab.name_at(name_off).unwrap_or(Cow::Borrowed("?")),
                    file,
                    line,
                    func_id,
                    inlined: true,
                    pc,
                });
                pc = self.entry().wrapping_add(u64::from(parent_pc));
            }
        }
        let (file, line) = self.file_line(pc);
        out.push(InlineFrame {
            name: self.name(),
            file,
            line,
            func_id: self.func_id(),
            inlined: false,
            pc,
        });
        out
    }
}

/// Result of [`Pclntab::lookup`].
#[derive(Debug, Clone)]
pub struct Location<'a> {
    /// The physical function containing the pc.
    pub func: Func<'a>,
    /// Source file of the innermost position, if recorded.
    pub file: Option<Cow<'a, str>>,
    /// Source line of the innermost position, if recorded.
    pub line: Option<u32>,
}

/// One logical frame at a pc: an inlined call or the physical function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlineFrame<'a> {
    /// Function name.
    pub name: Cow<'a, str>,
    /// Source file.
    pub file: Option<Cow<'a, str>>,
    /// Source line.
    pub line: Option<u32>,
    /// `abi.FuncID` of the function.
    pub func_id: u8,
    /// True for an inlined call, false for the physical function (last).
    pub inlined: bool,
    /// The pc used for this frame's file and line (for outer frames, the
    /// parent pc recorded in the inline tree).
    pub pc: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uvarint() {
        let mut pos = 0;
        assert_eq!(read_uvarint(&[0x96, 0x01], &mut pos), Some(150));
        assert_eq!(pos, 2);
        let mut pos = 0;
        assert_eq!(read_uvarint(&[0x80, 0x80], &mut pos), None);
        let mut pos = 0;
        assert_eq!(read_uvarint(&[0xff; 10], &mut pos), None);
    }

    #[test]
    fn rejects_garbage() {
        assert!(Pclntab::parse(&[], PclntabOptions::default()).is_err());
        assert!(
            Pclntab::parse(
                &[0xf1, 0xff, 0xff, 0xff, 0, 0, 1, 8],
                PclntabOptions::default()
            )
            .is_err()
        );
        let mut hdr = vec![0xf1, 0xff, 0xff, 0xff, 0, 0, 1, 8];
        hdr.extend_from_slice(&[0xff; 64]);
        assert!(Pclntab::parse(&hdr, PclntabOptions::default()).is_err());
    }

    /// A hand-built table with one function covering [0x1000, 0x1010).
    #[test]
    fn tiny_table() {
        let ps = 8usize;
        let hdr_len = 8 + 8 * ps;
        let mut b = vec![0u8; hdr_len];
        b[..4].copy_from_slice(&MAGIC_GO120.to_le_bytes());
        b[6] = 1;
        b[7] = 8;
        let funcname = b.len();
        b.extend_from_slice(b"main.f\0");
        let cutab = b.len();
        b.extend_from_slice(&0u32.to_le_bytes());
        let filetab = b.len();
        b.extend_from_slice(b"/x.go\0");
        let pctab = b.len();
        b.push(0); // offset 0 means "no table"
        // line table: value -1 + 22 -> 10 at pc +0..+16 (zigzag 22 = 11*2)
        let pcln_tab = b.len() - pctab;
        b.extend_from_slice(&[22, 16, 0]);
        // file table: value -1 + 1 = 0
        let pcfile_tab = b.len() - pctab;
        b.extend_from_slice(&[2, 16, 0]);
        let pcln = b.len();
        // ftab: entry 0 -> funcoff 16; end entry 0x10
        b.extend_from_slice(&0u32.to_le_bytes());
        b.extend_from_slice(&16u32.to_le_bytes());
        b.extend_from_slice(&0x10u32.to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        let mut f = vec![0u8; 44];
        f[20..24].copy_from_slice(&(pcfile_tab as u32).to_le_bytes());
        f[24..28].copy_from_slice(&(pcln_tab as u32).to_le_bytes());
        b.extend_from_slice(&f);
        for (i, v) in [
            1u64,
            1,
            0,
            funcname as u64,
            cutab as u64,
            filetab as u64,
            pctab as u64,
            pcln as u64,
        ]
        .into_iter()
        .enumerate()
        {
            b[8 + i * 8..16 + i * 8].copy_from_slice(&v.to_le_bytes());
        }
        let t = Pclntab::parse(
            &b,
            PclntabOptions {
                text_start: Some(0x1000),
                ..Default::default()
            },
        )
        .unwrap();
        let loc = t.lookup(0x1004).unwrap();
        assert_eq!(loc.func.name(), "main.f");
        assert_eq!(loc.file.as_deref(), Some("/x.go"));
        assert_eq!(loc.line, Some(10));
        assert!(t.lookup(0x1010).is_none());
        assert!(t.lookup(0xfff).is_none());
        assert_eq!(t.inline_frames(0x1000).len(), 1);
    }
}
