//! Evaluation of parsed expressions in a frame. Failures are messages for
//! the user (`could not find symbol value for x`, `nil pointer dereference
//! (p is nil)`), which [`super::eval`] returns as [`super::EvalError::Eval`].

use gosleuth_gobin::TypeId;
use gosleuth_memory::Memory;

use super::expr::{Expr, dotted};
use super::frame::{FrameCtx, visible_vars};
use super::load::{Loader, Place};
use super::types::Shape;
use super::{Kind, Scalar, Value, VarFlags, go_quote, read_scope_var};
use crate::capture::Capture;

/// Embedded structs searched for a promoted field.
const MAX_EMBED_DEPTH: usize = 8;
/// Map entries compared when looking a key up.
const MAX_MAP_SCAN: usize = 1 << 16;

/// An intermediate result (short-lived: one per step of an expression, so
/// the computed value is not boxed).
#[allow(clippy::large_enum_variant)]
enum Ev {
    /// An addressable value: a type and where its bytes are.
    Loc {
        ty: TypeId,
        place: Place,
        flags: VarFlags,
        decl_line: i64,
    },
    /// A computed value (literals, `len`, values read from registers that
    /// failed, `&x`).
    Val(Value),
}

pub(super) struct Evaluator<'a, 'l, M> {
    pub c: &'a Capture<M>,
    pub l: &'l Loader<'a, M>,
    pub f: Option<&'a FrameCtx>,
    pub frame_err: Option<&'a String>,
}

/// Flags of a constant.
const CONSTANT: VarFlags = VarFlags {
    escaped: false,
    shadowed: false,
    constant: true,
    argument: false,
    return_argument: false,
    fake_address: false,
};

/// An untyped constant (what `len` and literals give, as in Delve).
fn int_var(n: i64) -> Value {
    Value {
        kind: Kind::Int,
        scalar: Scalar::Int(n),
        flags: CONSTANT,
        ..Value::default()
    }
}

/// A scalar as Go prints it, for messages (`key not found: "5"`).
fn scalar_text(v: &Value) -> String {
    let s = match &v.scalar {
        Scalar::Bool(b) => b.to_string(),
        Scalar::Int(n) => n.to_string(),
        Scalar::Uint(n) | Scalar::Addr(n) => n.to_string(),
        Scalar::Float32(f) => f.to_string(),
        Scalar::Float64(f) => f.to_string(),
        Scalar::Str(s) | Scalar::Func(s) => s.clone(),
        _ => String::new(),
    };
    match &v.constant {
        Some(c) => format!("{c} ({s})"),
        None => s,
    }
}

impl<M: Memory> Evaluator<'_, '_, M> {
    pub fn eval_top(&self, e: &Expr) -> Result<Value, String> {
        match self.eval(e)? {
            Ev::Loc {
                ty,
                place,
                flags,
                decl_line,
            } => {
                self.l.reset_budget();
                let mut v = self.l.var("", ty, place, 0);
                v.flags |= flags;
                v.decl_line = decl_line;
                Ok(v)
            }
            Ev::Val(v) => Ok(v),
        }
    }

    fn eval(&self, e: &Expr) -> Result<Ev, String> {
        match e {
            Expr::Ident(n) => self.ident(n),
            Expr::Int(n) => Ok(Ev::Val(int_var(*n))),
            Expr::Bool(b) => Ok(Ev::Val(Value {
                type_name: "bool".into(),
                real_type: "bool".into(),
                kind: Kind::Bool,
                scalar: Scalar::Bool(*b),
                flags: CONSTANT,
                ..Value::default()
            })),
            Expr::Str(s) => Ok(Ev::Val(Value {
                type_name: "string".into(),
                real_type: "string".into(),
                kind: Kind::String,
                scalar: Scalar::Str(s.clone()),
                len: s.len() as i64,
                flags: CONSTANT,
                ..Value::default()
            })),
            Expr::Field(x, name) => self.field(e, x, name),
            Expr::Index(x, i) => self.index(x, i),
            Expr::Deref(x) => {
                let (ty, place) = self.loc(x)?;
                let r = self.l.types.resolve(ty)?;
                match r.shape {
                    Shape::Pointer { target } => {
                        let p = self.l.word(&place)?;
                        if p == 0 {
                            return Err(format!("nil pointer dereference ({} is nil)", show(x)));
                        }
                        Ok(Ev::Loc {
                            ty: target,
                            place: Place::Mem(p),
                            flags: VarFlags::default(),
                            decl_line: 0,
                        })
                    }
                    _ => Err(format!("invalid indirect of {} (type {})", show(x), r.name)),
                }
            }
            Expr::Addr(x) => {
                let (ty, place, fl) = match self.eval(x)? {
                    Ev::Loc {
                        ty, place, flags, ..
                    } => (ty, place, flags),
                    Ev::Val(Value {
                        unreadable: Some(why),
                        ..
                    }) => {
                        return Err(format!("{} is unreadable: {why}", show(x)));
                    }
                    Ev::Val(_) => return Err(format!("cannot take the address of {}", show(x))),
                };
                let Place::Mem(a) = place else {
                    return Err(format!(
                        "cannot take the address of {}: it is held in registers",
                        show(x)
                    ));
                };
                // Like Delve: the pointer's target is shown by address.
                let mut inner = self.l.var_unloaded("", ty, &Place::Mem(a));
                inner.only_addr = true;
                inner.flags = fl;
                Ok(Ev::Val(Value {
                    type_name: format!("*{}", inner.type_name),
                    real_type: format!("*{}", inner.type_name),
                    kind: Kind::Ptr,
                    children: vec![inner],
                    ..Value::default()
                }))
            }
            Expr::Call(f, x) => self.builtin(f, x),
        }
    }

    /// An expression that must be addressable.
    fn loc(&self, x: &Expr) -> Result<(TypeId, Place), String> {
        match self.eval(x)? {
            Ev::Loc { ty, place, .. } => Ok((ty, place)),
            Ev::Val(Value {
                unreadable: Some(why),
                ..
            }) => Err(format!("{} is unreadable: {why}", show(x))),
            Ev::Val(_) => Err(format!("{} is not a variable", show(x))),
        }
    }

    fn frame(&self) -> Result<&FrameCtx, String> {
        self.f.ok_or_else(|| {
            self.frame_err
                .cloned()
                .unwrap_or_else(|| "no frame".to_string())
        })
    }

    /// A local or argument named `n` (the innermost if shadowed).
    fn local(&self, n: &str) -> Result<Option<Ev>, String> {
        let f = self.frame()?;
        let vars = visible_vars(self.c, f)?;
        let amp = format!("&{n}");
        let Some(sv) = vars.iter().rev().find(|v| v.name == n || v.name == amp) else {
            return Ok(None);
        };
        let loc = super::locate_scope_var(self.c, self.l, f, sv);
        match (loc.ty, loc.place) {
            (Some(ty), Ok(place)) => Ok(Some(Ev::Loc {
                ty,
                place,
                flags: loc.flags,
                decl_line: loc.decl_line,
            })),
            _ => Ok(Some(Ev::Val(read_scope_var(self.c, self.l, f, sv)))),
        }
    }

    fn global(&self, name: &str) -> Result<Option<Ev>, String> {
        let Some((addr, ty)) = self
            .l
            .types
            .d
            .global_with_type(name)
            .map_err(|e| format!("cannot read DWARF: {e}"))?
        else {
            return Ok(None);
        };
        let ty = ty.ok_or_else(|| format!("{name} has no type in DWARF"))?;
        Ok(Some(Ev::Loc {
            ty,
            place: Place::Mem(addr.wrapping_add(self.c.target.bias)),
            flags: VarFlags::default(),
            decl_line: 0,
        }))
    }

    /// The package of the frame's function (`main`, `net/http`).
    fn package(&self) -> Option<String> {
        let f = self.f?;
        let name = &f.function;
        let slash = name.rfind('/').map_or(0, |i| i + 1);
        let dot = name[slash..].find('.')? + slash;
        Some(name[..dot].to_string())
    }

    fn ident(&self, n: &str) -> Result<Ev, String> {
        if self.f.is_some() {
            if let Some(v) = self.local(n)? {
                return Ok(v);
            }
        }
        if let Some(pkg) = self.package() {
            if let Some(v) = self.global(&format!("{pkg}.{n}"))? {
                return Ok(v);
            }
        }
        if let Some(v) = self.global(n)? {
            return Ok(v);
        }
        if let (None, Some(e)) = (self.f, self.frame_err) {
            return Err(format!("could not find symbol value for {n} ({e})"));
        }
        Err(format!("could not find symbol value for {n}"))
    }

    fn field(&self, whole: &Expr, x: &Expr, name: &str) -> Result<Ev, String> {
        // `pkg.Name` (or `"path/pkg".Name`) when `pkg` is not a variable.
        let qualified = match x {
            Expr::Ident(b) => {
                let is_local = self.f.is_some() && self.local(b)?.is_some();
                !is_local && !self.is_package_var(b)
            }
            Expr::Str(_) => true,
            _ => false,
        };
        if qualified {
            if let Some(v) = dotted(whole)
                .map(|p| self.global(&p))
                .transpose()?
                .flatten()
            {
                return Ok(v);
            }
            // `http.DefaultServeMux`: a package name for its import path.
            if let Expr::Ident(pkg) = x {
                let paths = self.l.types.d.package_paths(pkg).unwrap_or_default();
                for path in paths {
                    if let Some(v) = self.global(&format!("{path}.{name}"))? {
                        return Ok(v);
                    }
                }
            }
            if let Expr::Str(p) = x {
                return Err(format!("could not find symbol value for {p}.{name}"));
            }
        }
        let (mut ty, mut place) = self.loc(x)?;
        let mut r = self.l.types.resolve(ty)?;
        // One implicit dereference, as in Go.
        if let Shape::Pointer { target } = r.shape {
            let p = self.l.word(&place)?;
            if p == 0 {
                return Err(format!("nil pointer dereference ({} is nil)", show(x)));
            }
            ty = target;
            place = Place::Mem(p);
            r = self.l.types.resolve(ty)?;
        }
        if !matches!(r.shape, Shape::Struct) {
            return Err(format!("{} (type {}) is not a struct", show(x), r.name));
        }
        let (fty, off) = self
            .find_field(ty, name, 0)
            .ok_or_else(|| format!("{} (type {}) has no field {name}", show(x), r.name))?;
        Ok(Ev::Loc {
            ty: fty,
            place: place.at(off),
            flags: VarFlags::default(),
            decl_line: 0,
        })
    }

    /// True when `n` is a variable of the frame's package.
    fn is_package_var(&self, n: &str) -> bool {
        self.package()
            .is_some_and(|pkg| matches!(self.global(&format!("{pkg}.{n}")), Ok(Some(_))))
    }

    /// A field by name, including fields promoted from embedded structs.
    fn find_field(&self, ty: TypeId, name: &str, depth: usize) -> Option<(TypeId, u64)> {
        if depth > MAX_EMBED_DEPTH {
            return None;
        }
        let r = self.l.types.resolve(ty).ok()?;
        if !matches!(r.shape, Shape::Struct) {
            return None;
        }
        if let Some(f) = r.real.fields.iter().find(|f| f.name == name) {
            return Some((f.ty?, f.offset));
        }
        for f in r.real.fields.iter().filter(|f| f.embedded) {
            let Some(fty) = f.ty else { continue };
            if let Some((t, off)) = self.find_field(fty, name, depth + 1) {
                return Some((t, f.offset + off));
            }
        }
        None
    }

    fn index_value(&self, i: &Expr) -> Result<Value, String> {
        let v = match self.eval(i)? {
            Ev::Val(v) => v,
            Ev::Loc { ty, place, .. } => {
                self.l.reset_budget();
                self.l.var("", ty, place, 0)
            }
        };
        if let Some(why) = &v.unreadable {
            return Err(format!("{} is unreadable: {why}", show(i)));
        }
        Ok(v)
    }

    fn index(&self, x: &Expr, i: &Expr) -> Result<Ev, String> {
        let (ty, mut place) = self.loc(x)?;
        let mut r = self.l.types.resolve(ty)?;
        if let Shape::Pointer { target } = r.shape {
            // Indexing through a pointer to an array.
            let tr = self.l.types.resolve(target)?;
            if matches!(tr.shape, Shape::Array { .. }) {
                let p = self.l.word(&place)?;
                if p == 0 {
                    return Err(format!("nil pointer dereference ({} is nil)", show(x)));
                }
                place = Place::Mem(p);
                r = tr;
            }
        }
        let key = self.index_value(i)?;
        let int_index = || -> Result<u64, String> {
            if !key.kind.is_integer() {
                return Err(format!("index {} is not an integer", show(i)));
            }
            key.as_integer()
                .filter(|_| key.constant.is_none())
                .and_then(|n| u64::try_from(n).ok())
                .ok_or_else(|| format!("index {} out of bounds", scalar_text(&key)))
        };
        match r.shape.clone() {
            Shape::Array { elem, count } => {
                let n = int_index()?;
                if n >= count {
                    return Err(format!("index {n} out of bounds [0:{count}]"));
                }
                let elem = elem.ok_or("array without an element type")?;
                let stride = self.l.types.resolve(elem)?.size;
                Ok(Ev::Loc {
                    ty: elem,
                    place: place.at(n.saturating_mul(stride)),
                    flags: VarFlags::default(),
                    decl_line: 0,
                })
            }
            Shape::Slice { elem } => {
                let n = int_index()?;
                let fo = |name: &str| {
                    r.real
                        .fields
                        .iter()
                        .find(|f| f.name == name)
                        .map(|f| f.offset)
                };
                let base = self.l.word(&place.at(fo("array").unwrap_or(0)))?;
                let len = self.l.word(&place.at(fo("len").unwrap_or(8)))?;
                if n >= len {
                    return Err(format!("index {n} out of bounds [0:{len}]"));
                }
                let elem = elem.ok_or("slice without an element type")?;
                let stride = self.l.types.resolve(elem)?.size;
                Ok(Ev::Loc {
                    ty: elem,
                    place: Place::Mem(base.wrapping_add(n.saturating_mul(stride))),
                    flags: VarFlags::default(),
                    decl_line: 0,
                })
            }
            Shape::String => {
                let n = int_index()?;
                let (base, len) = self.l.string_header(&r, &place)?;
                if n >= len as u64 {
                    return Err(format!("index {n} out of bounds [0:{len}]"));
                }
                let b = self.l.read(&Place::Mem(base.wrapping_add(n)), 1)?;
                Ok(Ev::Val(Value {
                    addr: base.wrapping_add(n),
                    type_name: "uint8".into(),
                    real_type: "uint8".into(),
                    kind: Kind::Uint8,
                    scalar: Scalar::Uint(u64::from(b[0])),
                    ..Value::default()
                }))
            }
            Shape::Map {
                key: kty,
                elem,
                header,
            } => self.map_lookup(x, &place, &key, kty, elem, header),
            _ => Err(format!("{} (type {}) cannot be indexed", show(x), r.name)),
        }
    }

    fn map_lookup(
        &self,
        x: &Expr,
        place: &Place,
        key: &Value,
        kty: Option<TypeId>,
        elem: Option<TypeId>,
        header: Option<TypeId>,
    ) -> Result<Ev, String> {
        let (kty, elem, header) = (
            kty.ok_or("map without a key type")?,
            elem.ok_or("map without an element type")?,
            header.ok_or("map without a header type")?,
        );
        let hdr = self.l.word(place)?;
        if hdr == 0 {
            return Err(format!("key not found: {} is a nil map", show(x)));
        }
        let hs = self
            .l
            .types
            .pointee_struct(header)
            .ok_or("map header is not a pointer to a struct")?;
        let m = super::maps::read(self.l, &hs, hdr, MAX_MAP_SCAN)?;
        let kr = self.l.types.resolve(kty)?;
        for (kp, kslot, ep, eslot) in m.entries {
            let (kp, _) = self.slot(kp, kty, kslot)?;
            let matches = match kr.shape {
                Shape::String => {
                    let (base, len) = self.l.string_header(&kr, &kp)?;
                    match (&key.kind, &key.scalar) {
                        (Kind::String, Scalar::Str(s)) => {
                            len as usize == s.len()
                                && self.l.read(&Place::Mem(base), len as u64)? == s.as_bytes()
                        }
                        _ => false,
                    }
                }
                Shape::Int(_) | Shape::Uint(_) | Shape::Bool => {
                    self.l.reset_budget();
                    let k = self.l.var("", kty, kp, 0);
                    k.is_readable() && same_scalar(&k, key)
                }
                _ => {
                    return Err(format!(
                        "looking up keys of type {} is not supported (only strings, integers, \
                         booleans)",
                        kr.name
                    ));
                }
            };
            if matches {
                let (ep, ety) = self.slot(ep, elem, eslot)?;
                return Ok(Ev::Loc {
                    ty: ety,
                    place: ep,
                    flags: VarFlags::default(),
                    decl_line: 0,
                });
            }
        }
        Err(format!("key not found: {}", go_quote(&scalar_text(key))))
    }

    /// A map slot's place holding a value of type `want` (dereferenced
    /// when the slot holds a pointer to it).
    fn slot(&self, p: Place, want: TypeId, slot: TypeId) -> Result<(Place, TypeId), String> {
        if want == slot {
            return Ok((p, want));
        }
        let s = self.l.types.resolve(slot)?;
        let w = self.l.types.resolve(want)?;
        if matches!(s.shape, Shape::Pointer { .. }) && !matches!(w.shape, Shape::Pointer { .. }) {
            return Ok((Place::Mem(self.l.word(&p)?), want));
        }
        Ok((p, want))
    }

    fn builtin(&self, f: &str, x: &Expr) -> Result<Ev, String> {
        let ev = self.eval(x)?;
        let (ty, place) = match ev {
            Ev::Loc { ty, place, .. } => (ty, place),
            Ev::Val(v) if v.kind == Kind::String && f == "len" => {
                return Ok(Ev::Val(int_var(v.len)));
            }
            Ev::Val(Value {
                unreadable: Some(why),
                ..
            }) => {
                return Err(format!("{} is unreadable: {why}", show(x)));
            }
            Ev::Val(v) => {
                return Err(format!(
                    "invalid argument {} (type {}) for {f}",
                    show(x),
                    v.type_name
                ));
            }
        };
        let r = self.l.types.resolve(ty)?;
        let bad = || format!("invalid argument {} (type {}) for {f}", show(x), r.name);
        let n: i64 = match (&r.shape, f) {
            (Shape::String, "len") => self.l.string_header(&r, &place)?.1,
            (Shape::Slice { .. }, _) => {
                let name = if f == "len" { "len" } else { "cap" };
                let off = r
                    .real
                    .fields
                    .iter()
                    .find(|fl| fl.name == name)
                    .map_or(if f == "len" { 8 } else { 16 }, |fl| fl.offset);
                self.l.word(&place.at(off))? as i64
            }
            (Shape::Array { count, .. }, _) => i64::try_from(*count).unwrap_or(i64::MAX),
            (Shape::Pointer { target }, _) => match self.l.types.resolve(*target)?.shape {
                Shape::Array { count, .. } => i64::try_from(count).unwrap_or(i64::MAX),
                _ => return Err(bad()),
            },
            (Shape::Map { header, .. }, "len") => {
                let hdr = self.l.word(&place)?;
                if hdr == 0 {
                    0
                } else {
                    let hs = header
                        .and_then(|h| self.l.types.pointee_struct(h))
                        .ok_or("map header is not a pointer to a struct")?;
                    super::maps::read(self.l, &hs, hdr, 0)?.len
                }
            }
            (Shape::Chan { .. }, _) => {
                self.l.reset_budget();
                let v = self.l.var("", ty, place, 0);
                if let Some(why) = v.unreadable {
                    return Err(why);
                }
                let field = if f == "len" { "qcount" } else { "dataqsiz" };
                v.child(field)
                    .filter(|c| c.constant.is_none())
                    .and_then(Value::as_integer)
                    .and_then(|n| i64::try_from(n).ok())
                    .unwrap_or(0)
            }
            _ => return Err(bad()),
        };
        Ok(Ev::Val(int_var(n)))
    }
}

/// An expression as text, for messages.
fn show(e: &Expr) -> String {
    match e {
        Expr::Ident(n) => n.clone(),
        Expr::Int(n) => n.to_string(),
        Expr::Str(s) => go_quote(s),
        Expr::Bool(b) => b.to_string(),
        Expr::Field(x, f) => format!("{}.{f}", show(x)),
        Expr::Index(x, i) => format!("{}[{}]", show(x), show(i)),
        Expr::Deref(x) => format!("*{}", show(x)),
        Expr::Addr(x) => format!("&{}", show(x)),
        Expr::Call(f, x) => format!("{f}({})", show(x)),
    }
}

/// Two scalars equal as map keys compare them: the same text (a named
/// constant's name included), as Delve's values compare.
fn same_scalar(a: &Value, b: &Value) -> bool {
    scalar_text(a) == scalar_text(b)
}
