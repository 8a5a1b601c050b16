//! Reading a value of a Go type from memory (or from the bytes a location
//! expression assembled) into a [`Value`], following Delve's loading
//! rules: how deep to go ([`LoadConfig::max_variable_recurse`]), how much
//! of strings and arrays to read, pointers followed without counting a
//! level unless they point at pointers or interfaces.
//!
//! Memory is untrusted: every length is bounded, every read may fail and
//! becomes an "unreadable" value with the reason, and the total number of
//! values built is capped.

use std::cell::{Cell, OnceCell};
use std::rc::Rc;

use gosleuth_gobin::TypeId;
use gosleuth_memory::Memory;

use super::types::{Resolved, Shape, Types};
use super::{Kind, LoadConfig, Scalar, Value, rtype};
use crate::target::Target;

/// Where values with no address (assembled from registers) pretend to be,
/// like Delve's `fakeAddressUnresolv`.
pub(crate) const FAKE_ADDR: u64 = 0xbeed_0000_0000_0000;

/// Most values built for one top-level variable.
const MAX_NODES: usize = 100_000;
/// Levels beyond which nothing is loaded, whatever the configuration.
const HARD_MAX_LEVEL: u32 = 32;
/// Largest string read, whatever the configuration.
const HARD_MAX_STRING: u32 = 1 << 20;
/// Most array or map elements loaded, whatever the configuration.
const HARD_MAX_ARRAY: u32 = 1 << 16;
/// Largest single value copied from memory.
const MAX_VALUE_BYTES: u64 = 1 << 20;
/// Largest element count believed for a slice, array or map.
const MAX_PLAUSIBLE_LEN: i64 = 1 << 40;

/// Where a value's bytes are.
#[derive(Debug, Clone)]
pub(crate) enum Place {
    /// In the target's memory.
    Mem(u64),
    /// In bytes assembled from registers and pieces, at an offset.
    Local(Rc<[u8]>, u64),
}

impl Place {
    pub fn at(&self, off: u64) -> Place {
        match self {
            Place::Mem(a) => Place::Mem(a.wrapping_add(off)),
            Place::Local(b, o) => Place::Local(b.clone(), o.saturating_add(off)),
        }
    }
    pub fn addr(&self) -> u64 {
        match self {
            Place::Mem(a) => *a,
            Place::Local(_, o) => FAKE_ADDR + o,
        }
    }
    pub fn is_local(&self) -> bool {
        matches!(self, Place::Local(..))
    }
}

/// Reads values for one request.
pub(crate) struct Loader<'a, M> {
    pub t: &'a Target<M>,
    pub types: Types<'a>,
    cfg: Cell<LoadConfig>,
    types_base: OnceCell<Option<u64>>,
    nodes: Cell<usize>,
}

impl<'a, M: Memory> Loader<'a, M> {
    /// An integer of up to 8 bytes read from the target, in its byte order.
    fn uint(&self, b: &[u8]) -> u64 {
        self.t.mem.endian().uint(b)
    }

    pub fn new(t: &'a Target<M>, types: Types<'a>, cfg: &LoadConfig) -> Loader<'a, M> {
        let cfg = LoadConfig {
            follow_pointers: cfg.follow_pointers,
            max_variable_recurse: cfg.max_variable_recurse.min(HARD_MAX_LEVEL),
            max_string_len: cfg.max_string_len.min(HARD_MAX_STRING),
            max_array_values: cfg.max_array_values.min(HARD_MAX_ARRAY),
            max_struct_fields: cfg.max_struct_fields,
        };
        Loader {
            t,
            types,
            cfg: Cell::new(cfg),
            types_base: OnceCell::new(),
            nodes: Cell::new(0),
        }
    }

    pub fn cfg(&self) -> LoadConfig {
        self.cfg.get()
    }

    /// Starts a new top-level value (resets the size budget).
    pub fn reset_budget(&self) {
        self.nodes.set(0);
    }

    pub fn types_base(&self) -> Option<u64> {
        *self.types_base.get_or_init(|| rtype::types_base(self.t))
    }

    pub fn read(&self, p: &Place, len: u64) -> Result<Vec<u8>, String> {
        if len > MAX_VALUE_BYTES {
            return Err(format!("value of {len} bytes is too large to read"));
        }
        match p {
            Place::Mem(a) => {
                let mut buf = vec![0u8; len as usize];
                self.t
                    .mem
                    .read_at(*a, &mut buf)
                    .map_err(|e| format!("could not read {len} bytes at {a:#x}: {e}"))?;
                Ok(buf)
            }
            Place::Local(b, o) => {
                let start = usize::try_from(*o).map_err(|_| "offset out of range".to_string())?;
                let end = start.saturating_add(len as usize);
                b.get(start..end).map(<[u8]>::to_vec).ok_or_else(|| {
                    format!("the value's location holds {} bytes, not {end}", b.len())
                })
            }
        }
    }

    pub fn word(&self, p: &Place) -> Result<u64, String> {
        self.read(p, 8).map(|b| self.uint(&b))
    }

    /// A blank variable of type `r` at `place` (name, types, kind, address).
    fn shell(&self, name: &str, r: &Resolved, place: &Place) -> Value {
        let mut v = Value {
            name: name.to_string(),
            addr: place.addr(),
            type_name: r.name.clone(),
            real_type: r.real_name.clone(),
            kind: r.kind,
            ..Value::default()
        };
        if place.is_local() {
            v.flags.fake_address = true;
        }
        v
    }

    fn over_budget(&self) -> bool {
        let n = self.nodes.get() + 1;
        self.nodes.set(n);
        n > MAX_NODES
    }

    /// The value of type `ty` at `place`, loaded per the configuration,
    /// `level` levels below the value the user asked for.
    pub fn var(&self, name: &str, ty: TypeId, place: Place, level: u32) -> Value {
        let r = match self.types.resolve(ty) {
            Ok(r) => r,
            Err(e) => {
                return Value {
                    name: name.to_string(),
                    addr: place.addr(),
                    unreadable: Some(e),
                    ..Value::default()
                };
            }
        };
        let mut v = self.shell(name, &r, &place);
        if self.over_budget() {
            v.unreadable = Some(format!(
                "not loaded: more than {MAX_NODES} values in one expression"
            ));
            return v;
        }
        if let Err(e) = self.fill(&mut v, &r, &place, level) {
            v.unreadable = Some(e);
        }
        if matches!(v.kind, Kind::Int | Kind::Uint) && v.is_readable() {
            self.describe_constant(&mut v, ty, &r);
        }
        v
    }

    /// Names an integer of a named type by its constants, like Delve:
    /// `TypeCount (0)`, `FlagA|FlagB (6)`.
    fn describe_constant(&self, v: &mut Value, ty: TypeId, r: &Resolved) {
        if !r.name.contains('.') || r.name.starts_with("C.") {
            return;
        }
        let Ok(consts) = self.types.d.constants_of_type(ty) else {
            return;
        };
        if consts.is_empty() {
            return;
        }
        let Some(n) = v.as_integer() else {
            return;
        };
        let n = n as i64;
        let slash = r.name.rfind('/').map_or(0, |i| i + 1);
        let pkg = r.name[slash..]
            .find('.')
            .map_or(r.name.as_str(), |d| &r.name[..slash + d]);
        let short = |name: &str| {
            name.strip_prefix(pkg)
                .and_then(|s| s.strip_prefix('.'))
                .unwrap_or(name)
                .to_string()
        };
        // Constants of the type's own package first (other packages may
        // declare constants of it too, like reflectlite's of abi.Kind).
        let own = |name: &str| name.starts_with(pkg) && name[pkg.len()..].starts_with('.');
        let exact = consts
            .iter()
            .find(|(name, c)| *c == n && own(name))
            .or_else(|| consts.iter().find(|(_, c)| *c == n));
        let descr = if let Some((name, _)) = exact {
            short(name)
        } else if n == 0 {
            return;
        } else {
            let mut rest = n;
            let mut parts = Vec::new();
            for (name, c) in &consts {
                if c.count_ones() == 1 && rest & c != 0 {
                    parts.push(short(name));
                    rest &= !c;
                }
            }
            if rest != 0 {
                return;
            }
            parts.join("|")
        };
        v.constant = Some(descr);
    }

    /// A variable of type `ty` at `place` without loading anything (the
    /// target of a pointer not followed).
    pub fn var_unloaded(&self, name: &str, ty: TypeId, place: &Place) -> Value {
        match self.types.resolve(ty) {
            Ok(r) => {
                let mut v = self.shell(name, &r, place);
                // What Delve knows of a value before loading it: array
                // sizes, and the headers of strings, slices and channels.
                let mut headers = || -> Result<(), String> {
                    match &r.shape {
                        Shape::Array { count, .. } => {
                            v.len = i64::try_from(*count).unwrap_or(i64::MAX);
                            v.cap = v.len;
                            v.base = place.addr();
                        }
                        _ if place.addr() == 0 => {}
                        Shape::String => (v.base, v.len) = self.string_header(&r, place)?,
                        Shape::Slice { .. } => {
                            let f = |n: &str| {
                                r.real.fields.iter().find(|f| f.name == n).map(|f| f.offset)
                            };
                            v.base = self.word(&place.at(f("array").unwrap_or(0)))?;
                            v.len = self.word(&place.at(f("len").unwrap_or(8)))? as i64;
                            v.cap = self.word(&place.at(f("cap").unwrap_or(16)))? as i64;
                        }
                        Shape::Chan { .. } => v.base = self.word(place)?,
                        _ => {}
                    }
                    Ok(())
                };
                if let Err(e) = headers() {
                    v.unreadable = Some(e);
                }
                v
            }
            Err(e) => Value {
                name: name.to_string(),
                addr: place.addr(),
                unreadable: Some(e),
                ..Value::default()
            },
        }
    }

    fn fill(&self, v: &mut Value, r: &Resolved, place: &Place, level: u32) -> Result<(), String> {
        match &r.shape {
            Shape::Bool => {
                let b = self.read(place, 1)?;
                v.scalar = Scalar::Bool(b[0] != 0);
            }
            Shape::Int(size) => {
                let size = (*size).clamp(1, 8);
                let b = self.read(place, size)?;
                let raw = self.uint(&b);
                let shift = 64 - 8 * size as u32;
                let n = ((raw << shift) as i64) >> shift;
                v.scalar = Scalar::Int(n);
            }
            Shape::Uint(size) => {
                let size = (*size).clamp(1, 8);
                let b = self.read(place, size)?;
                v.scalar = Scalar::Uint(self.uint(&b));
            }
            Shape::Float(size) => {
                v.scalar = match size {
                    4 => {
                        let b = self.read(place, 4)?;
                        Scalar::Float32(f32::from_bits(self.uint(&b) as u32))
                    }
                    _ => {
                        let b = self.read(place, 8)?;
                        Scalar::Float64(f64::from_bits(self.uint(&b)))
                    }
                };
            }
            Shape::Complex(size) => {
                let fs = if *size == 8 { 4 } else { 8 };
                let b = self.read(place, fs * 2)?;
                let (kind_f, re, im) = if fs == 4 {
                    let (re, im) = (
                        f32::from_bits(self.uint(&b[..4]) as u32),
                        f32::from_bits(self.uint(&b[4..]) as u32),
                    );
                    v.scalar = Scalar::Complex64(re, im);
                    (Kind::Float32, Scalar::Float32(re), Scalar::Float32(im))
                } else {
                    let (re, im) = (
                        f64::from_bits(self.uint(&b[..8])),
                        f64::from_bits(self.uint(&b[8..])),
                    );
                    v.scalar = Scalar::Complex128(re, im);
                    (Kind::Float64, Scalar::Float64(re), Scalar::Float64(im))
                };
                v.len = 2;
                for (n, val) in [("real", re), ("imaginary", im)] {
                    v.children.push(Value {
                        name: n.into(),
                        kind: kind_f,
                        scalar: val,
                        ..Value::default()
                    });
                }
            }
            Shape::String => {
                let (base, len) = self.string_header(r, place)?;
                v.base = base;
                v.len = len;
                if len > 0 {
                    let n = (len as u64).min(u64::from(self.cfg().max_string_len));
                    let bytes = self
                        .read(&Place::Mem(base), n)
                        .map_err(|e| format!("could not read string at {base:#x}: {e}"))?;
                    v.scalar = Scalar::Str(go_string(&bytes));
                }
            }
            Shape::Slice { elem } => {
                let f = |n: &str| r.real.fields.iter().find(|f| f.name == n).map(|f| f.offset);
                let base = self.word(&place.at(f("array").unwrap_or(0)))?;
                let len = self.word(&place.at(f("len").unwrap_or(8)))? as i64;
                let cap = self.word(&place.at(f("cap").unwrap_or(16)))? as i64;
                v.base = base;
                v.len = len;
                v.cap = cap;
                let elem = elem.ok_or("slice type without an element type")?;
                self.elements(v, elem, &Place::Mem(base), len, level)?;
            }
            Shape::Array { elem, count } => {
                let len = i64::try_from(*count).unwrap_or(i64::MAX);
                v.base = place.addr();
                v.len = len;
                v.cap = len;
                if let Some(elem) = elem {
                    self.elements(v, *elem, place, len, level)?;
                }
            }
            Shape::Struct => {
                v.len = r.real.fields.len() as i64;
                if level <= self.cfg().max_variable_recurse {
                    for f in &r.real.fields {
                        if self.cfg().max_struct_fields >= 0
                            && v.children.len() >= self.cfg().max_struct_fields as usize
                        {
                            break;
                        }
                        let Some(fty) = f.ty else { continue };
                        let child = self.var(&f.name, fty, place.at(f.offset), level + 1);
                        v.children.push(child);
                    }
                }
                if r.real_name == "time.Time" {
                    if let Some(t) = read_time(v) {
                        v.scalar = t;
                    }
                }
            }
            Shape::Pointer { target } => {
                let p = self.word(place)?;
                v.scalar = Scalar::Addr(p);
                v.len = 1;
                let tr = self.types.resolve(*target);
                let to_ptr_or_iface = tr.as_ref().is_ok_and(|t| {
                    matches!(t.shape, Shape::Pointer { .. } | Shape::Interface { .. })
                });
                let child = if p == 0 {
                    self.var_unloaded("", *target, &Place::Mem(0))
                } else if !self.cfg().follow_pointers
                    || (to_ptr_or_iface && level > self.cfg().max_variable_recurse)
                    || level >= HARD_MAX_LEVEL
                {
                    let mut c = self.var_unloaded("", *target, &Place::Mem(p));
                    c.only_addr = true;
                    c
                } else {
                    let next = if to_ptr_or_iface { level + 1 } else { level };
                    self.var("", *target, Place::Mem(p), next)
                };
                v.children.push(child);
            }
            Shape::UnsafePointer => {
                let p = self.word(place)?;
                v.scalar = Scalar::Addr(p);
                v.len = 1;
                // Delve "loads" the void target of a followed pointer and
                // calls it unreadable; it only ever shows its address.
                let unreadable = (p != 0 && self.cfg().follow_pointers)
                    .then(|| "unknown or unsupported kind: \"invalid\"".to_string());
                v.children.push(Value {
                    addr: p,
                    type_name: "void".into(),
                    real_type: "void".into(),
                    unreadable,
                    ..Value::default()
                });
            }
            Shape::Func => {
                let fv = self.word(place)?;
                if fv == 0 {
                    return Ok(());
                }
                let code = self
                    .word(&Place::Mem(fv))
                    .map_err(|e| format!("could not read the function value at {fv:#x}: {e}"))?;
                v.base = code;
                let link = self.t.link_pc(code);
                let f = self
                    .t
                    .bin
                    .pcln()
                    .func_for_pc(link)
                    .ok_or_else(|| format!("could not find function for {code:#x}"))?;
                v.scalar = Scalar::Func(f.name().into_owned());
                // A closure's captured variables, as Delve shows them.
                let captured = self.closure_vars(f.entry());
                v.len = captured.len() as i64;
                if level <= self.cfg().max_variable_recurse {
                    for (name, off, ty) in captured {
                        let at = Place::Mem(fv.wrapping_add(off));
                        let child = match name.strip_prefix('&') {
                            Some(rest) => {
                                let target = self.types.raw(ty).and_then(|p| p.target);
                                match (self.word(&at), target) {
                                    (Ok(p), Some(t)) => {
                                        let mut c = self.var(rest, t, Place::Mem(p), level + 1);
                                        c.flags.escaped = true;
                                        c
                                    }
                                    (Err(e), _) => Value {
                                        name: rest.to_string(),
                                        unreadable: Some(e),
                                        ..Value::default()
                                    },
                                    (_, None) => self.var(&name, ty, at, level + 1),
                                }
                            }
                            None => self.var(&name, ty, at, level + 1),
                        };
                        v.children.push(child);
                    }
                }
            }
            Shape::Interface { empty } => self.interface(v, r, place, *empty, level)?,
            Shape::Chan { header, elem } => self.chan(v, *header, *elem, place)?,
            Shape::Map { key, elem, header } => {
                let hdr = self.word(place)?;
                v.base = hdr;
                if hdr == 0 {
                    return Ok(());
                }
                let (key, elem, header) = (
                    key.ok_or("map type without a key type")?,
                    elem.ok_or("map type without an element type")?,
                    header.ok_or("map type without a header type")?,
                );
                let s = self
                    .types
                    .pointee_struct(header)
                    .ok_or("map header type is not a pointer to a struct")?;
                let load = level <= self.cfg().max_variable_recurse;
                let limit = if load {
                    self.cfg().max_array_values as usize
                } else {
                    0
                };
                let m = super::maps::read(self, &s, hdr, limit)?;
                v.len = m.len;
                for (kp, kty, ep, ety) in m.entries {
                    let k = self.map_slot("", key, kty, kp, level + 1);
                    let e = self.map_slot("", elem, ety, ep, level + 1);
                    v.children.push(k);
                    v.children.push(e);
                }
                if let Some(w) = m.warning {
                    if v.children.is_empty() && m.len > 0 {
                        return Err(w);
                    }
                }
            }
            Shape::TypeParam { shape, .. } => {
                // Without the dictionary, the shape type the code was
                // compiled for.
                let shape = shape.ok_or("type parameter without a shape type")?;
                let inner = self.var(&v.name, shape, place.clone(), level);
                *v = inner;
            }
            Shape::Invalid(why) => {
                if !why.is_empty() && r.name != "void" {
                    return Err(why.clone());
                }
            }
        }
        Ok(())
    }

    /// The variables a closure function captured: name, offset in its
    /// context, type.
    fn closure_vars(&self, entry: u64) -> Vec<(String, u64, TypeId)> {
        let Ok(Some(scope)) = self.types.d.frame_scope(entry, 0) else {
            return Vec::new();
        };
        scope
            .vars
            .into_iter()
            .filter_map(|v| Some((v.name, v.closure_offset?, v.ty?)))
            .collect()
    }

    pub fn string_header(&self, r: &Resolved, place: &Place) -> Result<(u64, i64), String> {
        let f = |n: &str| r.real.fields.iter().find(|f| f.name == n).map(|f| f.offset);
        let base = self.word(&place.at(f("str").unwrap_or(0)))?;
        let len = self.word(&place.at(f("len").unwrap_or(8)))? as i64;
        if len < 0 {
            return Err(format!("invalid length: {len}"));
        }
        Ok((base, len))
    }

    fn elements(
        &self,
        v: &mut Value,
        elem: TypeId,
        base: &Place,
        len: i64,
        level: u32,
    ) -> Result<(), String> {
        if len < 0 {
            return Err("negative array length".into());
        }
        if len > MAX_PLAUSIBLE_LEN {
            return Err(format!("implausible length {len}"));
        }
        if len > 0 && base.addr() == 0 {
            return Err("non-zero length array with nil base".into());
        }
        let er = self.types.resolve(elem)?;
        let stride = er.size;
        let count = (len as u64).min(u64::from(self.cfg().max_array_values));
        if base
            .addr()
            .checked_add(stride.saturating_mul(count))
            .is_none()
        {
            return Err(format!("bad array base address {:#x}", base.addr()));
        }
        let mut errors = 0;
        for i in 0..count {
            let c = self.var("", elem, base.at(i * stride), level + 1);
            if !c.is_readable() {
                errors += 1;
            }
            v.children.push(c);
            if errors > 5 {
                break;
            }
        }
        Ok(())
    }

    fn map_slot(&self, name: &str, want: TypeId, slot: TypeId, place: Place, level: u32) -> Value {
        // Large keys and values are stored behind a pointer in the bucket.
        let indirect = want != slot
            && matches!(
                self.types.resolve(slot).map(|r| r.shape.clone()),
                Ok(Shape::Pointer { .. })
            )
            && !matches!(
                self.types.resolve(want).map(|r| r.shape.clone()),
                Ok(Shape::Pointer { .. })
            );
        if indirect {
            match self.word(&place) {
                Ok(p) => self.var(name, want, Place::Mem(p), level),
                Err(e) => Value {
                    name: name.into(),
                    unreadable: Some(e),
                    ..Value::default()
                },
            }
        } else {
            self.var(name, want, place, level)
        }
    }

    fn interface(
        &self,
        v: &mut Value,
        r: &Resolved,
        place: &Place,
        empty: bool,
        level: u32,
    ) -> Result<(), String> {
        let w0 = self.word(place)?;
        let data = self.word(&place.at(8))?;
        let rtype = if empty || w0 == 0 {
            w0
        } else {
            self.word(&Place::Mem(w0 + 8))
                .map_err(|e| format!("could not read the interface's itab at {w0:#x}: {e}"))?
        };
        if rtype == 0 {
            // A nil interface: Delve shows the data word as a void value.
            v.children.push(Value {
                name: String::new(),
                addr: data,
                type_name: "void".into(),
                real_type: "void".into(),
                ..Value::default()
            });
            return Ok(());
        }
        let types = self
            .types_base()
            .ok_or("cannot find moduledata.types to resolve the dynamic type")?;
        let dynamic = self
            .types
            .d
            .type_by_runtime_offset(rtype.wrapping_sub(types))
            .ok()
            .flatten();
        let Some(dynamic) = dynamic else {
            let name = rtype::type_name(self.t, types, rtype)
                .unwrap_or_else(|| format!("runtime type at {rtype:#x}"));
            return Err(format!(
                "the dynamic type of this {} value, {name}, has no DWARF description",
                r.name
            ));
        };
        let dr = self.types.resolve(dynamic)?;
        let pointer_shaped = matches!(
            dr.shape,
            Shape::Pointer { .. }
                | Shape::UnsafePointer
                | Shape::Chan { .. }
                | Shape::Map { .. }
                | Shape::Func
        );
        let direct = rtype::direct_iface(self.t, rtype).unwrap_or(pointer_shaped);
        v.real_type = dr.name.clone();
        let data_place = if direct {
            place.at(8)
        } else {
            Place::Mem(data)
        };
        let child = if level <= self.cfg().max_variable_recurse {
            self.var("data", dynamic, data_place, level)
        } else {
            let mut c = self.var_unloaded("data", dynamic, &data_place);
            c.only_addr = true;
            c
        };
        v.children.push(child);
        Ok(())
    }

    fn chan(
        &self,
        v: &mut Value,
        header: Option<TypeId>,
        elem: Option<TypeId>,
        place: &Place,
    ) -> Result<(), String> {
        let hdr = self.word(place)?;
        v.base = hdr;
        if hdr == 0 {
            return Ok(());
        }
        let header = header.ok_or("channel type without a header type")?;
        let hp = self
            .types
            .underlying(header)
            .ok_or("channel header type is unreadable")?;
        let hs = hp.target.ok_or("channel header type is not a pointer")?;
        // Delve loads the header in full, whatever the configuration.
        let saved = self.cfg.replace(LoadConfig {
            follow_pointers: true,
            max_variable_recurse: 1,
            max_string_len: 64,
            max_array_values: 64,
            max_struct_fields: -1,
        });
        let h = self.var("", hs, Place::Mem(hdr), 0);
        if let Some(why) = h.unreadable {
            self.cfg.set(saved);
            return Err(why);
        }
        v.len = h.len;
        v.children = h.children;
        // The buffer as an array of the channel's capacity.
        let cap = v.child("dataqsiz").and_then(|c| match c.scalar {
            Scalar::Uint(n) => Some(n),
            _ => None,
        });
        if let (Some(cap), Some(elem), Some(buf)) =
            (cap, elem, v.children.iter().position(|c| c.name == "buf"))
        {
            let base = match v.children[buf].scalar {
                Scalar::Uint(n) | Scalar::Addr(n) => n,
                _ => 0,
            };
            if let Ok(er) = self.types.resolve(elem) {
                let len = i64::try_from(cap).unwrap_or(i64::MAX);
                let mut arr = Value {
                    name: String::new(),
                    addr: base,
                    type_name: format!("[{cap}]{}", er.name),
                    real_type: format!("[{cap}]{}", er.name),
                    kind: Kind::Array,
                    base,
                    len,
                    cap: len,
                    ..Value::default()
                };
                if base != 0 {
                    if let Err(e) = self.elements(&mut arr, elem, &Place::Mem(base), len, 1) {
                        arr.unreadable = Some(e);
                    }
                }
                let p = &mut v.children[buf];
                p.type_name = format!("*[{cap}]{}", er.name);
                p.real_type = p.type_name.clone();
                p.kind = Kind::Ptr;
                p.len = 1;
                p.children = vec![arr];
            }
        }
        self.cfg.set(saved);
        Ok(())
    }
}

/// Bytes of a Go string as text: valid UTF-8 as is, invalid bytes kept as
/// U+FFFD (the value is for display; the length stays the byte length).
fn go_string(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Seconds from 1 January 1885 (the epoch of `time.Time.wall`) to the Unix
/// epoch, negated.
const UNIX_TO_WALL: i64 = -2_682_288_000;
/// Seconds from 1 January year 1 to the Unix epoch.
const ABS_TO_UNIX: i64 = -62_135_596_800;

/// A `time.Time`'s instant, from its `wall` and `ext` fields (with the
/// monotonic reading when there is one).
fn read_time(v: &Value) -> Option<Scalar> {
    let field = |n: &str| v.children.iter().find(|c| c.name == n && c.is_readable());
    let Scalar::Uint(wall) = field("wall")?.scalar else {
        return None;
    };
    let Scalar::Int(ext) = field("ext")?.scalar else {
        return None;
    };
    if wall & (1 << 63) != 0 {
        let sec = ((wall << 1) >> 31) as i64;
        Some(Scalar::Time {
            unix: sec + UNIX_TO_WALL,
            monotonic: Some(ext),
        })
    } else {
        Some(Scalar::Time {
            unix: ext.checked_add(ABS_TO_UNIX)?,
            monotonic: None,
        })
    }
}
