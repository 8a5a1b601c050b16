//! Where the runtime keeps things: struct offsets and global addresses.
//!
//! Offsets come from the binary's own DWARF (`runtime.g`, `runtime.m`,
//! `runtime.sudog`, `runtime.hchan`...). Stripped binaries (`-ldflags=-w`)
//! fall back to a table keyed by the Go minor version, generated from the
//! DWARF of real binaries of each release (`tests/it/layout.rs` checks the
//! table against DWARF for every release the factory builds).

use gosleuth_gobin::Dwarf;

use crate::error::{Error, Result};

/// Offsets of the fields the reader uses, in bytes from the start of each
/// struct. `None` where a release does not have the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    pub g: GLayout,
    pub m: MLayout,
    pub sudog: SudogLayout,
    pub hchan: HchanLayout,
    pub sema: SemaLayout,
}

/// `runtime.g`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GLayout {
    pub size: u64,
    pub stack_lo: u64,
    pub stack_hi: u64,
    pub m: u64,
    pub sched_sp: u64,
    pub sched_pc: u64,
    pub sched_bp: u64,
    pub syscallsp: u64,
    pub syscallpc: u64,
    pub syscallbp: Option<u64>,
    pub atomicstatus: u64,
    pub goid: u64,
    pub waitsince: u64,
    pub waitreason: u64,
    pub parent_goid: Option<u64>,
    pub gopc: u64,
    pub startpc: u64,
    pub labels: u64,
    pub lockedm: u64,
    pub waiting: u64,
}

/// `runtime.m`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MLayout {
    pub g0: u64,
    pub procid: u64,
    pub curg: u64,
    pub gsignal: u64,
    /// Where a goroutine called into the vDSO from (the runtime switches
    /// to the g0 stack for the call).
    pub vdso_sp: u64,
    pub vdso_pc: u64,
}

/// `runtime.sudog`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SudogLayout {
    pub g: u64,
    pub next: u64,
    pub prev: u64,
    pub elem: u64,
    pub is_select: u64,
    pub parent: u64,
    pub waitlink: u64,
    pub c: u64,
}

/// `runtime.hchan` (and `runtime.waitq`: `first` at 0, `last` at 8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HchanLayout {
    pub qcount: u64,
    pub dataqsiz: u64,
    pub elemsize: u64,
    pub closed: u64,
    pub elemtype: u64,
    pub recvq: u64,
    pub sendq: u64,
}

/// `runtime.semtable` entries and `runtime.semaRoot`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SemaLayout {
    /// Size of one `semtable` entry (a `semaRoot` padded to a cache line).
    pub entry_size: u64,
    /// Number of entries (`semTabSize`).
    pub entries: u64,
    /// `semaRoot.treap`.
    pub treap: u64,
}

impl Layout {
    /// Reads every offset from DWARF.
    pub fn from_dwarf(d: &Dwarf) -> Result<Layout> {
        let f = |ty: &str, path: &str| field_offset(d, ty, path);
        let opt = |ty: &str, path: &str| field_offset(d, ty, path).ok();
        let g = GLayout {
            size: type_size(d, "runtime.g")?,
            stack_lo: f("runtime.g", "stack.lo")?,
            stack_hi: f("runtime.g", "stack.hi")?,
            m: f("runtime.g", "m")?,
            sched_sp: f("runtime.g", "sched.sp")?,
            sched_pc: f("runtime.g", "sched.pc")?,
            sched_bp: f("runtime.g", "sched.bp")?,
            syscallsp: f("runtime.g", "syscallsp")?,
            syscallpc: f("runtime.g", "syscallpc")?,
            syscallbp: opt("runtime.g", "syscallbp"),
            atomicstatus: f("runtime.g", "atomicstatus")?,
            goid: f("runtime.g", "goid")?,
            waitsince: f("runtime.g", "waitsince")?,
            waitreason: f("runtime.g", "waitreason")?,
            parent_goid: opt("runtime.g", "parentGoid"),
            gopc: f("runtime.g", "gopc")?,
            startpc: f("runtime.g", "startpc")?,
            labels: f("runtime.g", "labels")?,
            lockedm: f("runtime.g", "lockedm")?,
            waiting: f("runtime.g", "waiting")?,
        };
        let m = MLayout {
            g0: f("runtime.m", "g0")?,
            procid: f("runtime.m", "procid")?,
            curg: f("runtime.m", "curg")?,
            gsignal: f("runtime.m", "gsignal")?,
            vdso_sp: f("runtime.m", "vdsoSP")?,
            vdso_pc: f("runtime.m", "vdsoPC")?,
        };
        let sudog = SudogLayout {
            g: f("runtime.sudog", "g")?,
            next: f("runtime.sudog", "next")?,
            prev: f("runtime.sudog", "prev")?,
            elem: f("runtime.sudog", "elem")?,
            is_select: f("runtime.sudog", "isSelect")?,
            parent: f("runtime.sudog", "parent")?,
            waitlink: f("runtime.sudog", "waitlink")?,
            c: f("runtime.sudog", "c")?,
        };
        let hchan = HchanLayout {
            qcount: f("runtime.hchan", "qcount")?,
            dataqsiz: f("runtime.hchan", "dataqsiz")?,
            elemsize: f("runtime.hchan", "elemsize")?,
            closed: f("runtime.hchan", "closed")?,
            elemtype: f("runtime.hchan", "elemtype")?,
            recvq: f("runtime.hchan", "recvq")?,
            sendq: f("runtime.hchan", "sendq")?,
        };
        let sema = SemaLayout {
            entry_size: semtable_entry_size(d)?,
            entries: 251,
            treap: f("runtime.semaRoot", "treap")?,
        };
        Ok(Layout {
            g,
            m,
            sudog,
            hchan,
            sema,
        })
    }

    /// The table entry for Go 1.`minor` (amd64), for binaries without DWARF.
    pub fn for_version(minor: u32) -> Option<Layout> {
        crate::layout_table::for_minor(minor)
    }
}

fn type_size(d: &Dwarf, ty: &str) -> Result<u64> {
    d.type_by_name(ty)
        .map_err(|e| Error::runtime(format!("DWARF type {ty}"), e.to_string()))?
        .and_then(|t| t.size)
        .ok_or_else(|| Error::runtime("DWARF", format!("type {ty} has no size")))
}

/// Offset of a dotted field path (`sched.sp`) inside `ty`, following the
/// types of intermediate fields by name: the DIE a field's type points at
/// can be one without members (`runtime.g`'s `stack` field on Go 1.26;
/// the test `table_matches_dwarf_for_every_release` fails when the walk
/// follows it), while the name index holds the struct that has them.
pub fn field_offset(d: &Dwarf, ty: &str, path: &str) -> Result<u64> {
    let mut ty = ty.to_string();
    let mut off = 0u64;
    for part in path.split('.') {
        let info = d
            .type_by_name(&ty)
            .map_err(|e| Error::runtime(format!("DWARF type {ty}"), e.to_string()))?
            .ok_or_else(|| Error::runtime("DWARF", format!("no type {ty}")))?;
        let field = info
            .field(part)
            .ok_or_else(|| Error::runtime("DWARF", format!("type {ty} has no field {part}")))?;
        off += field.offset;
        ty = match field.ty {
            Some(id) => d
                .go_type(id)
                .map_err(|e| Error::runtime(format!("DWARF type of {ty}.{part}"), e.to_string()))?
                .map(|t| t.name)
                .unwrap_or_default(),
            None => String::new(),
        };
    }
    Ok(off)
}

fn semtable_entry_size(d: &Dwarf) -> Result<u64> {
    // `var semtable semTable`, `type semTable [251]struct{root semaRoot; pad [..]byte}`.
    let t = d
        .type_by_name("runtime.semTable")
        .ok()
        .flatten()
        .ok_or_else(|| Error::runtime("DWARF", "no type runtime.semTable"))?;
    match (t.size, t.count) {
        (Some(size), Some(n)) if n > 0 => Ok(size / n),
        (Some(size), _) => Ok(size / 251),
        _ => Err(Error::runtime("DWARF", "runtime.semTable has no size")),
    }
}
