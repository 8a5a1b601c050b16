//! Map entries from the runtime's map structures, whose shapes the linker
//! describes in DWARF for each map type:
//!
//! * Go 1.23 and older, `hash<K,V>` (`runtime.hmap`): `count`, `B`,
//!   `buckets` and `oldbuckets` pointing at arrays of 2^B `bucket<K,V>`
//!   (`tophash [8]uint8`, `keys [8]K`, `values [8]V`, `overflow`). During
//!   a grow, a bucket not yet evacuated is read from `oldbuckets`.
//! * Go 1.24 and newer, Swiss tables (`internal/runtime/maps.Map`):
//!   `used`, `dirPtr`, `dirLen`. A small map (`dirLen == 0`) has one group
//!   at `dirPtr`; a large one a directory of `dirLen` table pointers
//!   (several entries may share a table; `table.index` names the first),
//!   each table `lengthMask + 1` groups of 8 slots with one control byte
//!   per slot (high bit clear: slot in use).
//!
//! Keys and values too large for a slot are stored behind a pointer; the
//! caller dereferences those.

use std::rc::Rc;

use gosleuth_gobin::{GoType, TypeId, TypeKind};
use gosleuth_memory::Memory;

use super::load::{Loader, Place};

/// Most buckets or groups visited for one map.
const MAX_GROUPS: u64 = 1 << 16;
/// Largest directory believed.
const MAX_DIR: i64 = 1 << 20;
/// Overflow buckets followed from one bucket.
const MAX_OVERFLOW: usize = 1 << 12;

/// `tophash` values of empty slots (Go 1.12+: emptyRest 0, emptyOne 1)
/// and evacuation marks (2..4); real hashes start at 5.
const MIN_TOPHASH: u8 = 5;
/// Swiss table control byte of a free (empty or deleted) slot.
const CTRL_FREE: u8 = 0x80;

/// What was read of a map.
pub(crate) struct MapRead {
    /// The number of entries the header records.
    pub len: i64,
    /// Up to the limit: key place and slot type, value place and slot type.
    pub entries: Vec<(Place, TypeId, Place, TypeId)>,
    /// Why the walk stopped early, if it did.
    pub warning: Option<String>,
}

fn field<'t>(t: &'t GoType, name: &str) -> Option<&'t gosleuth_gobin::GoField> {
    t.fields.iter().find(|f| f.name == name)
}

struct Ctx<'l, 'a, M> {
    l: &'l Loader<'a, M>,
    limit: usize,
    out: MapRead,
    groups: u64,
}

impl<M: Memory> Ctx<'_, '_, M> {
    fn full(&self) -> bool {
        self.out.entries.len() >= self.limit
    }
    fn count_group(&mut self) -> Result<(), String> {
        self.groups += 1;
        if self.groups > MAX_GROUPS {
            return Err(format!(
                "more than {MAX_GROUPS} buckets; stopped reading the map"
            ));
        }
        Ok(())
    }
    fn word(&self, a: u64) -> Result<u64, String> {
        self.l.word(&Place::Mem(a))
    }
    fn byte(&self, a: u64) -> Result<u8, String> {
        self.l.read(&Place::Mem(a), 1).map(|b| b[0])
    }
    /// The struct a pointer type points at.
    fn pointee(&self, ptr: Option<TypeId>) -> Option<Rc<GoType>> {
        self.l.types.pointee_struct(ptr?)
    }
    /// Element type and count of an array type.
    fn array(&self, ty: Option<TypeId>) -> Option<(TypeId, u64, u64)> {
        let a = self.l.types.underlying(ty?)?;
        if a.tag != TypeKind::Array {
            return None;
        }
        let elem = a.target?;
        let count = a.count?;
        let size = a.size?;
        let stride = size.checked_div(count).unwrap_or(0);
        Some((elem, count, stride))
    }
}

/// Reads up to `limit` entries of the map whose header (of struct type
/// `hdr_type`) is at `hdr`.
pub(crate) fn read<M: Memory>(
    l: &Loader<'_, M>,
    hdr_type: &GoType,
    hdr: u64,
    limit: usize,
) -> Result<MapRead, String> {
    let mut c = Ctx {
        l,
        limit,
        out: MapRead {
            len: 0,
            entries: Vec::new(),
            warning: None,
        },
        groups: 0,
    };
    let res = if field(hdr_type, "dirPtr").is_some() {
        swiss(&mut c, hdr_type, hdr)
    } else if field(hdr_type, "buckets").is_some() {
        classic(&mut c, hdr_type, hdr)
    } else {
        Err(format!("unknown map header layout {}", hdr_type.name))
    };
    if let Err(e) = res {
        if c.out.len == 0 && c.out.entries.is_empty() {
            return Err(e);
        }
        c.out.warning = Some(e);
    }
    Ok(c.out)
}

fn classic<M: Memory>(c: &mut Ctx<'_, '_, M>, h: &GoType, hdr: u64) -> Result<(), String> {
    let off = |n: &str| {
        field(h, n)
            .map(|f| f.offset)
            .ok_or(format!("map header has no {n}"))
    };
    c.out.len = c.word(hdr + off("count")?)? as i64;
    if c.limit == 0 || c.out.len <= 0 {
        return Ok(());
    }
    let b = u32::from(c.byte(hdr + off("B")?)?);
    if b > 40 {
        return Err(format!("implausible map size 2^{b} buckets"));
    }
    let buckets = c.word(hdr + off("buckets")?)?;
    let oldbuckets = c.word(hdr + off("oldbuckets")?)?;
    let bt = c
        .pointee(field(h, "buckets").and_then(|f| f.ty))
        .ok_or("map buckets are not a pointer to a bucket struct")?;
    let bsize = bt.size.ok_or("bucket type without a size")?;
    let fo = |n: &str| {
        field(&bt, n)
            .map(|f| (f.offset, f.ty))
            .ok_or(format!("map bucket has no {n}"))
    };
    let (top_off, _) = fo("tophash")?;
    let (keys_off, keys_ty) = fo("keys")?;
    let (vals_off, vals_ty) = fo("values")?;
    let (over_off, _) = fo("overflow")?;
    let (kty, slots, kstride) = c.array(keys_ty).ok_or("bucket keys are not an array")?;
    let (vty, _, vstride) = c.array(vals_ty).ok_or("bucket values are not an array")?;
    let slots = slots.min(8);
    let n = 1u64 << b;
    let oldmask = if b > 0 { (1u64 << (b - 1)) - 1 } else { 0 };
    let visit = |c: &mut Ctx<'_, '_, M>, mut bucket: u64| -> Result<(), String> {
        let mut hops = 0;
        while bucket != 0 && !c.full() {
            c.count_group()?;
            let tops = c.l.read(&Place::Mem(bucket + top_off), slots)?;
            for (i, &th) in tops.iter().enumerate() {
                if th < MIN_TOPHASH || c.full() {
                    continue;
                }
                let i = i as u64;
                c.out.entries.push((
                    Place::Mem(bucket + keys_off + i * kstride),
                    kty,
                    Place::Mem(bucket + vals_off + i * vstride),
                    vty,
                ));
            }
            bucket = c.word(bucket + over_off)?;
            hops += 1;
            if hops > MAX_OVERFLOW {
                return Err("overflow bucket chain too long (corrupt map?)".into());
            }
        }
        Ok(())
    };
    for i in 0..n {
        if c.full() {
            break;
        }
        let mut bucket = buckets.wrapping_add(i.wrapping_mul(bsize));
        if oldbuckets != 0 {
            // Growing: a bucket not yet evacuated is read from the old
            // array, once (from the new bucket of the same index).
            let oi = i & oldmask;
            let old = oldbuckets.wrapping_add(oi.wrapping_mul(bsize));
            let t0 = c.byte(old + top_off)?;
            let evacuated = t0 > 1 && t0 < MIN_TOPHASH;
            if !evacuated {
                if oi != i {
                    continue;
                }
                bucket = old;
            }
        }
        visit(c, bucket)?;
    }
    Ok(())
}

fn swiss<M: Memory>(c: &mut Ctx<'_, '_, M>, h: &GoType, hdr: u64) -> Result<(), String> {
    let f = |n: &str| field(h, n).ok_or(format!("map header has no {n}"));
    c.out.len = c.word(hdr + f("used")?.offset)? as i64;
    if c.limit == 0 || c.out.len <= 0 {
        return Ok(());
    }
    let dir_ptr = c.word(hdr + f("dirPtr")?.offset)?;
    let dir_len = c.word(hdr + f("dirLen")?.offset)? as i64;
    // dirPtr is typed **table.
    let table_ptr = f("dirPtr")?
        .ty
        .and_then(|t| c.l.types.underlying(t))
        .and_then(|p| p.target)
        .ok_or("map dirPtr is not a pointer")?;
    let table = c
        .pointee(Some(table_ptr))
        .ok_or("map table type is not a struct")?;
    let groups_f = field(&table, "groups").ok_or("map table has no groups")?;
    let index_off = field(&table, "index")
        .ok_or("map table has no index")?
        .offset;
    let gref =
        c.l.types
            .underlying(groups_f.ty.ok_or("groups without a type")?)
            .ok_or("groups type unreadable")?;
    let data_f = field(&gref, "data").ok_or("groupReference has no data")?;
    let mask_off = field(&gref, "lengthMask")
        .ok_or("groupReference has no lengthMask")?
        .offset;
    let group = c.pointee(data_f.ty).ok_or("group type is not a struct")?;
    let gsize = group.size.ok_or("group type without a size")?;
    let ctrl_off = field(&group, "ctrl").ok_or("group has no ctrl")?.offset;
    // Interleaved slots (key, elem) or split arrays (keys, elems).
    let layout = if let Some(slots) = field(&group, "slots") {
        let (st, n, stride) = c.array(slots.ty).ok_or("group slots are not an array")?;
        let s = c.l.types.underlying(st).ok_or("slot type unreadable")?;
        let k = field(&s, "key").ok_or("slot has no key")?;
        let e = field(&s, "elem").ok_or("slot has no elem")?;
        Layout {
            n: n.min(8),
            key: (
                slots.offset + k.offset,
                stride,
                k.ty.ok_or("key without type")?,
            ),
            elem: (
                slots.offset + e.offset,
                stride,
                e.ty.ok_or("elem without type")?,
            ),
        }
    } else {
        let k = field(&group, "keys").ok_or("group has no slots or keys")?;
        let e = field(&group, "elems").ok_or("group has no elems")?;
        let (kt, n, ks) = c.array(k.ty).ok_or("group keys are not an array")?;
        let (et, _, es) = c.array(e.ty).ok_or("group elems are not an array")?;
        Layout {
            n: n.min(8),
            key: (k.offset, ks, kt),
            elem: (e.offset, es, et),
        }
    };
    let read_group = |c: &mut Ctx<'_, '_, M>, g: u64| -> Result<(), String> {
        c.count_group()?;
        let ctrl = c.l.read(&Place::Mem(g + ctrl_off), layout.n)?;
        for (i, &b) in ctrl.iter().enumerate() {
            if b & CTRL_FREE != 0 || c.full() {
                continue;
            }
            let i = i as u64;
            c.out.entries.push((
                Place::Mem(g + layout.key.0 + i * layout.key.1),
                layout.key.2,
                Place::Mem(g + layout.elem.0 + i * layout.elem.1),
                layout.elem.2,
            ));
        }
        Ok(())
    };
    if dir_len <= 0 {
        // A small map: one group, no tables.
        if dir_ptr != 0 {
            read_group(c, dir_ptr)?;
        }
        return Ok(());
    }
    if dir_len > MAX_DIR {
        return Err(format!("implausible map directory length {dir_len}"));
    }
    for d in 0..dir_len as u64 {
        if c.full() {
            break;
        }
        let tab = c.word(dir_ptr + d * 8)?;
        if tab == 0 {
            continue;
        }
        if c.word(tab + index_off)? != d {
            continue; // Shared with an earlier directory entry.
        }
        let data = c.word(tab + groups_f.offset + data_f.offset)?;
        let mask = c.word(tab + groups_f.offset + mask_off)?;
        if data == 0 {
            return Err("map table with nil groups".into());
        }
        let n = mask.saturating_add(1);
        if n > MAX_GROUPS {
            return Err(format!("implausible table of {n} groups"));
        }
        for g in 0..n {
            if c.full() {
                break;
            }
            read_group(c, data.wrapping_add(g.wrapping_mul(gsize)))?;
        }
    }
    Ok(())
}

struct Layout {
    n: u64,
    /// (offset in the group of slot 0, stride, type)
    key: (u64, u64, TypeId),
    elem: (u64, u64, TypeId),
}
