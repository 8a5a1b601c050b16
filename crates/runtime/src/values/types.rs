//! Go types from DWARF, resolved into the shapes a value reader needs.
//!
//! Go describes its types with a few DWARF tags plus its own attributes
//! (`DW_AT_go_kind`, `DW_AT_go_key`, `DW_AT_go_elem`): a map is a typedef
//! of kind Map to a pointer to the runtime's map header, a channel a
//! typedef of kind Chan to `*hchan<T>`, an interface a typedef of kind
//! Interface to `runtime.iface`/`runtime.eface`, strings and slices are
//! structs of kind String/Slice. Named types are typedefs of their
//! underlying type.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use gosleuth_gobin::{Dwarf, GoType, TypeId, TypeKind};

use super::{Kind, kind};

/// Typedef chains longer than this are taken for a cycle.
const MAX_TYPEDEFS: usize = 32;

/// What a value of a type looks like in memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Shape {
    Bool,
    /// Signed integer of this many bytes.
    Int(u64),
    /// Unsigned integer of this many bytes.
    Uint(u64),
    Float(u64),
    Complex(u64),
    String,
    /// `elem`: the element type; fields found by name in the header.
    Slice {
        elem: Option<TypeId>,
    },
    Array {
        elem: Option<TypeId>,
        count: u64,
    },
    Struct,
    Pointer {
        target: TypeId,
    },
    UnsafePointer,
    /// `header`: the pointer type to `hchan<T>`.
    Chan {
        header: Option<TypeId>,
        elem: Option<TypeId>,
    },
    /// `header`: the pointer type to the map header struct.
    Map {
        key: Option<TypeId>,
        elem: Option<TypeId>,
        header: Option<TypeId>,
    },
    /// `empty`: `interface {}` (an eface: type word, then data).
    Interface {
        empty: bool,
    },
    Func,
    /// A generic type parameter, resolved through the dictionary.
    TypeParam {
        index: i64,
        shape: Option<TypeId>,
    },
    /// Nothing to read (`void`, unknown DWARF).
    Invalid(String),
}

/// A type with its Go name, the name of its underlying type, and its shape.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    /// The name a user sees (`main.T`, `error`, `[]int`).
    pub name: String,
    /// After following plain typedefs (Delve's `realType`).
    pub real_name: String,
    /// The DIE after plain typedefs (struct fields are read from it).
    pub real: Rc<GoType>,
    pub shape: Shape,
    pub size: u64,
    pub kind: Kind,
}

/// Types read so far in one evaluation.
pub(crate) struct Types<'d> {
    pub d: &'d Dwarf,
    raw: RefCell<HashMap<TypeId, Option<Rc<GoType>>>>,
    resolved: RefCell<HashMap<TypeId, Rc<Resolved>>>,
}

impl<'d> Types<'d> {
    pub fn new(d: &'d Dwarf) -> Types<'d> {
        Types {
            d,
            raw: RefCell::default(),
            resolved: RefCell::default(),
        }
    }

    /// The DIE of a type.
    pub fn raw(&self, id: TypeId) -> Option<Rc<GoType>> {
        if let Some(t) = self.raw.borrow().get(&id) {
            return t.clone();
        }
        let t = self.d.go_type(id).ok().flatten().map(Rc::new);
        self.raw.borrow_mut().insert(id, t.clone());
        t
    }

    /// The resolved form of a type.
    pub fn resolve(&self, id: TypeId) -> Result<Rc<Resolved>, String> {
        if let Some(r) = self.resolved.borrow().get(&id) {
            return Ok(r.clone());
        }
        let r = Rc::new(self.compute(id)?);
        self.resolved.borrow_mut().insert(id, r.clone());
        Ok(r)
    }

    fn compute(&self, id: TypeId) -> Result<Resolved, String> {
        let first = self
            .raw(id)
            .ok_or_else(|| format!("no DWARF type at {:#x}", id.0))?;
        let name = first.name.clone();
        let mut t = first;
        for _ in 0..MAX_TYPEDEFS {
            if t.tag == TypeKind::Typedef {
                match t.go_kind.map(u32::from) {
                    Some(kind::MAP) => {
                        return Ok(self.finish(
                            name,
                            t.clone(),
                            Shape::Map {
                                key: t.key,
                                elem: t.elem,
                                header: t.target,
                            },
                            8,
                        ));
                    }
                    Some(kind::CHAN) => {
                        return Ok(self.finish(
                            name,
                            t.clone(),
                            Shape::Chan {
                                header: t.target,
                                elem: t.elem,
                            },
                            8,
                        ));
                    }
                    Some(kind::INTERFACE) => {
                        let under = t.target.and_then(|u| self.underlying(u));
                        let empty = under.as_ref().is_some_and(|u| {
                            u.name == "runtime.eface" || u.fields.iter().any(|f| f.name == "_type")
                        });
                        return Ok(self.finish(name, t.clone(), Shape::Interface { empty }, 16));
                    }
                    _ => {}
                }
                if let Some(idx) = t.dict_index {
                    return Ok(self.finish(
                        name,
                        t.clone(),
                        Shape::TypeParam {
                            index: idx,
                            shape: t.target,
                        },
                        t.size.unwrap_or(0),
                    ));
                }
                let Some(next) = t.target.and_then(|n| self.raw(n)) else {
                    return Ok(self.finish(
                        name,
                        t.clone(),
                        Shape::Invalid("typedef of nothing".into()),
                        0,
                    ));
                };
                t = next;
                continue;
            }
            let size = t.size.unwrap_or(0);
            let shape = match t.tag {
                TypeKind::Base => base_shape(&t),
                TypeKind::Pointer => match t.target {
                    Some(target) => Shape::Pointer { target },
                    None => Shape::UnsafePointer,
                },
                TypeKind::Struct => match t.go_kind.map(u32::from) {
                    Some(kind::STRING) => Shape::String,
                    Some(kind::SLICE) => Shape::Slice {
                        elem: t.elem.or_else(|| self.slice_elem(&t)),
                    },
                    _ if t.name == "string" => Shape::String,
                    _ if t.name.starts_with("[]") => Shape::Slice {
                        elem: t.elem.or_else(|| self.slice_elem(&t)),
                    },
                    _ => Shape::Struct,
                },
                TypeKind::Array => Shape::Array {
                    elem: t.target,
                    count: t.count.unwrap_or(0),
                },
                TypeKind::Func => Shape::Func,
                other => Shape::Invalid(format!("unsupported DWARF type {other:?} ({})", t.name)),
            };
            let size = match shape {
                Shape::Pointer { .. } | Shape::UnsafePointer | Shape::Func => size.max(8),
                _ => size,
            };
            return Ok(self.finish(name, t, shape, size));
        }
        Err(format!("typedef cycle at {:#x}", id.0))
    }

    fn finish(&self, name: String, real: Rc<GoType>, shape: Shape, size: u64) -> Resolved {
        let kind = shape_kind(&shape);
        let real_name = if real.name.is_empty() {
            name.clone()
        } else {
            real.name.clone()
        };
        let name = if name.is_empty() {
            real_name.clone()
        } else {
            name
        };
        Resolved {
            name,
            real_name,
            real,
            shape,
            size,
            kind,
        }
    }

    /// The element type of a slice struct: the pointee of its `array` field.
    fn slice_elem(&self, t: &GoType) -> Option<TypeId> {
        let f = t.fields.iter().find(|f| f.name == "array")?;
        self.raw(f.ty?)?.target
    }

    /// The struct behind a typedef or pointer chain (for interfaces and
    /// runtime headers).
    pub fn underlying(&self, id: TypeId) -> Option<Rc<GoType>> {
        let mut t = self.raw(id)?;
        for _ in 0..MAX_TYPEDEFS {
            match t.tag {
                TypeKind::Typedef => t = self.raw(t.target?)?,
                _ => return Some(t),
            }
        }
        None
    }

    /// The pointee of a pointer type, after typedefs.
    pub fn pointee_struct(&self, ptr: TypeId) -> Option<Rc<GoType>> {
        let p = self.underlying(ptr)?;
        if p.tag != TypeKind::Pointer {
            return None;
        }
        self.underlying(p.target?)
    }
}

fn base_shape(t: &GoType) -> Shape {
    let size = t.size.unwrap_or(0);
    // DW_ATE_*: address 1, boolean 2, complex_float 3, float 4, signed 5,
    // signed_char 6, unsigned 7, unsigned_char 8.
    match t.encoding {
        Some(2) => Shape::Bool,
        Some(3) => Shape::Complex(size),
        Some(4) => Shape::Float(size),
        Some(5) | Some(6) => Shape::Int(size),
        Some(1) | Some(7) | Some(8) => Shape::Uint(size),
        _ => match t.go_kind.map(u32::from) {
            Some(kind::BOOL) => Shape::Bool,
            Some(k) if (kind::INT..=kind::INT64).contains(&k) => Shape::Int(size),
            Some(k) if (kind::UINT..=kind::UINTPTR).contains(&k) => Shape::Uint(size),
            Some(kind::FLOAT32 | kind::FLOAT64) => Shape::Float(size),
            Some(kind::COMPLEX64 | kind::COMPLEX128) => Shape::Complex(size),
            _ => Shape::Invalid(format!("unknown base type {}", t.name)),
        },
    }
}

/// `reflect.Kind` of a shape: every signed integer is `Int` and every
/// unsigned one `Uint`, whatever its size (as Delve reports them).
fn shape_kind(shape: &Shape) -> Kind {
    match shape {
        Shape::Bool => Kind::Bool,
        Shape::Int(_) => Kind::Int,
        Shape::Uint(_) => Kind::Uint,
        Shape::Float(4) => Kind::Float32,
        Shape::Float(_) => Kind::Float64,
        Shape::Complex(8) => Kind::Complex64,
        Shape::Complex(_) => Kind::Complex128,
        Shape::String => Kind::String,
        Shape::Slice { .. } => Kind::Slice,
        Shape::Array { .. } => Kind::Array,
        Shape::Struct => Kind::Struct,
        Shape::Pointer { .. } => Kind::Ptr,
        Shape::UnsafePointer => Kind::UnsafePointer,
        Shape::Chan { .. } => Kind::Chan,
        Shape::Map { .. } => Kind::Map,
        Shape::Interface { .. } => Kind::Interface,
        Shape::Func => Kind::Func,
        Shape::TypeParam { .. } | Shape::Invalid(_) => Kind::Invalid,
    }
}
