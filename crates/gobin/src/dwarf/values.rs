//! What reading variable values needs from DWARF: the full type graph with
//! Go's own attributes, the variables in scope at a pc (lexical blocks and
//! inlined calls), location lists, and evaluation of location expressions.
//!
//! Types are named by [`TypeId`], the section offset of their DIE, so that
//! a type graph with cycles (`type node struct { next *node }`) is walked
//! one step at a time by the caller.

use std::collections::HashMap;

use gimli::{AttributeValue, Reader};

use super::{DieRef, Dwarf, R, TypeKind, gerr};
use crate::error::Result;

/// `DW_AT_go_kind`: the type's `reflect.Kind`.
pub const DW_AT_GO_KIND: u16 = 0x2900;
/// `DW_AT_go_key`: key type of a map.
pub const DW_AT_GO_KEY: u16 = 0x2901;
/// `DW_AT_go_elem`: element type of a map or channel.
pub const DW_AT_GO_ELEM: u16 = 0x2902;
/// `DW_AT_go_embedded_field`: the member is an embedded field.
pub const DW_AT_GO_EMBEDDED_FIELD: u16 = 0x2903;
/// `DW_AT_go_runtime_type`: offset of the type's descriptor in
/// `moduledata.types`.
pub const DW_AT_GO_RUNTIME_TYPE: u16 = 0x2904;
/// `DW_AT_go_package_name`: a compilation unit's package name.
pub const DW_AT_GO_PACKAGE_NAME: u16 = 0x2905;
/// `DW_AT_go_dict_index`: index of a generic type parameter in the
/// function's dictionary.
pub const DW_AT_GO_DICT_INDEX: u16 = 0x2906;
/// `DW_AT_go_closure_offset`: a variable captured by a closure, at this
/// offset in the closure's context.
pub const DW_AT_GO_CLOSURE_OFFSET: u16 = 0x2907;

/// Most DWARF expression steps evaluated (corrupt or hostile DWARF with
/// loops must not hang the reader).
const MAX_EXPR_STEPS: u32 = 10_000;
/// Deepest nesting of inlined calls and lexical blocks followed.
const MAX_SCOPE_DEPTH: isize = 64;

/// A type DIE, named by its offset in `.debug_info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TypeId(pub u64);

/// A member of a struct type, with its type as a [`TypeId`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoField {
    /// Field name.
    pub name: String,
    /// Byte offset from the start of the struct.
    pub offset: u64,
    /// The field's type.
    pub ty: Option<TypeId>,
    /// An embedded field (`DW_AT_go_embedded_field`).
    pub embedded: bool,
}

/// One type DIE with everything a value reader needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoType {
    /// Where the DIE is.
    pub id: TypeId,
    /// Name (`main.T`, `*main.T`, `[]int`, `map[string]int`,
    /// `hchan<int>`); empty for anonymous DIEs.
    pub name: String,
    /// The DWARF tag.
    pub tag: TypeKind,
    /// `DW_AT_go_kind` (`reflect.Kind` numbering), when present.
    pub go_kind: Option<u8>,
    /// `DW_AT_byte_size`.
    pub size: Option<u64>,
    /// `DW_AT_encoding` of base types (`DW_ATE_*`).
    pub encoding: Option<u8>,
    /// `DW_AT_type`: pointee, array element, typedef target.
    pub target: Option<TypeId>,
    /// Members of structs.
    pub fields: Vec<GoField>,
    /// Element count of arrays.
    pub count: Option<u64>,
    /// `DW_AT_go_key` of maps.
    pub key: Option<TypeId>,
    /// `DW_AT_go_elem` of maps, channels and slices.
    pub elem: Option<TypeId>,
    /// `DW_AT_go_runtime_type`: offset in `moduledata.types` (0 when the
    /// type has no runtime descriptor).
    pub runtime_type: Option<u64>,
    /// `DW_AT_go_dict_index` of generic type parameters.
    pub dict_index: Option<i64>,
}

impl GoType {
    /// A member by name.
    pub fn field(&self, name: &str) -> Option<&GoField> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// Where a variable lives, before choosing the entry for a pc.
#[derive(Debug, Clone, PartialEq, Eq)]
enum LocSpec {
    Expr(Vec<u8>),
    List { unit: usize, offset: u64 },
    None,
}

/// A parameter or local variable visible in a scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeVar {
    /// Name as DWARF has it (`&x` for a variable moved to the heap,
    /// `~r0` for unnamed results).
    pub name: String,
    /// Type.
    pub ty: Option<TypeId>,
    /// A parameter (`DW_TAG_formal_parameter`).
    pub is_param: bool,
    /// A result parameter (`DW_AT_variable_parameter` true).
    pub is_return: bool,
    /// Captured by a closure (`DW_AT_go_closure_offset`).
    pub captured: bool,
    /// Offset of a captured variable in the closure's context
    /// (`DW_AT_go_closure_offset`).
    pub closure_offset: Option<u64>,
    /// Declaration line.
    pub decl_line: Option<u64>,
    /// Nesting depth of lexical blocks (0 = the function's own scope).
    pub depth: u32,
    loc: LocSpec,
}

/// The variables of one logical frame at a pc.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameScope {
    /// Name of the function (the abstract origin's for an inlined call).
    pub function: String,
    /// Variables, in DWARF order.
    pub vars: Vec<ScopeVar>,
}

/// Where one piece of a value is.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PieceLocation {
    /// In memory at this address.
    Address(u64),
    /// In a register (DWARF register number).
    Register(u16),
    /// The value itself (`DW_OP_stack_value`, `DW_OP_lit`).
    Value(u64),
    /// Literal bytes (`DW_OP_implicit_value`).
    Bytes(Vec<u8>),
    /// Optimized away.
    Empty,
}

/// A piece of a value (`DW_OP_piece`), or the whole value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    /// Size in bytes (`None`: the whole value).
    pub size: Option<u64>,
    /// Location.
    pub location: PieceLocation,
}

/// Why a location expression could not be evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LocationError {
    /// The expression needs a register whose value is not known.
    Register(u16),
    /// The expression reads memory that cannot be read.
    Memory(u64),
    /// The canonical frame address is not known.
    Cfa,
    /// The expression is malformed or uses an unsupported operation.
    Invalid(String),
}

/// What evaluating a location expression may ask for.
pub trait LocationContext {
    /// The canonical frame address (`DW_OP_call_frame_cfa`; Go's frame base).
    fn cfa(&mut self) -> Option<u64>;
    /// A register's value (DWARF numbering).
    fn register(&mut self, reg: u16) -> Option<u64>;
    /// `size` bytes of memory at `addr`, little-endian.
    fn memory(&mut self, addr: u64, size: u8) -> Option<u64>;
}

/// Indexes for value reading, built on first use.
#[derive(Default)]
pub(super) struct ValueIndex {
    /// Concrete functions: (low, high, DIE), sorted by low.
    funcs: Vec<(u64, u64, DieRef)>,
    /// Globals with an address: name -> (address, type).
    globals: HashMap<String, (u64, Option<TypeId>)>,
    /// Package name -> import paths (`http` -> `net/http`).
    packages: HashMap<String, Vec<String>>,
    /// Constants by the type they are declared with.
    consts: HashMap<TypeId, Vec<(String, i64)>>,
}

fn udata(v: AttributeValue<R>) -> Option<u64> {
    match v {
        AttributeValue::Flag(f) => Some(u64::from(f)),
        // Go writes DW_AT_go_runtime_type with DW_FORM_addr (an offset
        // into moduledata.types all the same).
        AttributeValue::Addr(a) => Some(a),
        other => other.udata_value(),
    }
}

impl Dwarf {
    fn type_id(&self, r: DieRef) -> Option<TypeId> {
        let unit = self.units.get(r.unit)?;
        let off = r.offset.to_debug_info_offset(&unit.header)?;
        Some(TypeId(off.0 as u64))
    }

    fn die_ref(&self, id: TypeId) -> Option<DieRef> {
        let off = usize::try_from(id.0).ok()?;
        self.resolve(0, AttributeValue::DebugInfoRef(gimli::DebugInfoOffset(off)))
    }

    fn attr_type_id(&self, unit: usize, die: &super::Die, attr: u16) -> Option<TypeId> {
        let v = die.attr_value(gimli::DwAt(attr))?;
        let r = self.resolve(unit, v)?;
        self.type_id(r)
    }

    /// The type whose DIE is at `id`.
    pub fn go_type(&self, id: TypeId) -> Result<Option<GoType>> {
        let Some(r) = self.die_ref(id) else {
            return Ok(None);
        };
        let unit = &self.units[r.unit];
        let ctx = || format!("reading type DIE at {:#x}", id.0);
        let die = unit.entry(r.offset).map_err(gerr(ctx()))?;
        let tag = match die.tag() {
            gimli::DW_TAG_structure_type => TypeKind::Struct,
            gimli::DW_TAG_pointer_type => TypeKind::Pointer,
            gimli::DW_TAG_base_type => TypeKind::Base,
            gimli::DW_TAG_typedef => TypeKind::Typedef,
            gimli::DW_TAG_array_type => TypeKind::Array,
            gimli::DW_TAG_subroutine_type => TypeKind::Func,
            gimli::DW_TAG_union_type => TypeKind::Union,
            gimli::DW_TAG_enumeration_type => TypeKind::Enum,
            t => TypeKind::Other(t.0),
        };
        let mut t = GoType {
            id,
            name: self.name(unit, &die).unwrap_or_default(),
            tag,
            go_kind: die
                .attr_value(gimli::DwAt(DW_AT_GO_KIND))
                .and_then(udata)
                .and_then(|k| u8::try_from(k).ok()),
            size: die.attr_value(gimli::DW_AT_byte_size).and_then(udata),
            encoding: match die.attr_value(gimli::DW_AT_encoding) {
                Some(AttributeValue::Encoding(e)) => Some(e.0),
                Some(v) => udata(v).and_then(|e| u8::try_from(e).ok()),
                None => None,
            },
            target: self.attr_type_id(r.unit, &die, gimli::DW_AT_type.0),
            fields: Vec::new(),
            count: None,
            key: self.attr_type_id(r.unit, &die, DW_AT_GO_KEY),
            elem: self.attr_type_id(r.unit, &die, DW_AT_GO_ELEM),
            runtime_type: die
                .attr_value(gimli::DwAt(DW_AT_GO_RUNTIME_TYPE))
                .and_then(udata),
            dict_index: die
                .attr_value(gimli::DwAt(DW_AT_GO_DICT_INDEX))
                .and_then(|v| v.sdata_value().or_else(|| udata(v).map(|u| u as i64))),
        };
        if !die.has_children() {
            return Ok(Some(t));
        }
        let mut cursor = unit.entries_at_offset(r.offset).map_err(gerr(ctx()))?;
        cursor.next_dfs().map_err(gerr(ctx()))?;
        while let Some(child) = cursor.next_dfs().map_err(gerr(ctx()))? {
            if child.depth() <= 0 {
                break;
            }
            if child.depth() != 1 {
                continue;
            }
            match child.tag() {
                gimli::DW_TAG_member => t.fields.push(GoField {
                    name: self.name(unit, child).unwrap_or_default(),
                    offset: child
                        .attr_value(gimli::DW_AT_data_member_location)
                        .and_then(udata)
                        .unwrap_or(0),
                    ty: self.attr_type_id(r.unit, child, gimli::DW_AT_type.0),
                    embedded: child
                        .attr_value(gimli::DwAt(DW_AT_GO_EMBEDDED_FIELD))
                        .and_then(udata)
                        .is_some_and(|e| e != 0),
                }),
                gimli::DW_TAG_subrange_type => {
                    t.count = child
                        .attr_value(gimli::DW_AT_count)
                        .and_then(udata)
                        .or_else(|| {
                            child
                                .attr_value(gimli::DW_AT_upper_bound)
                                .and_then(udata)
                                .map(|u| u.saturating_add(1))
                        });
                }
                _ => {}
            }
        }
        Ok(Some(t))
    }

    /// The type named `name` (`main.T`, `*main.T`, `int`).
    pub fn type_id_by_name(&self, name: &str) -> Result<Option<TypeId>> {
        Ok(self.index()?.types.get(name).and_then(|&r| self.type_id(r)))
    }

    /// The type whose runtime descriptor is at `off` in
    /// `moduledata.types` (`DW_AT_go_runtime_type`).
    pub fn type_by_runtime_offset(&self, off: u64) -> Result<Option<TypeId>> {
        let map = self
            .runtime_types
            .get_or_init(|| self.build_runtime_types());
        match map {
            Ok(m) => Ok(m.get(&off).copied()),
            Err((what, e)) => Err(crate::error::Error::Dwarf {
                what: what.clone(),
                source: *e,
            }),
        }
    }

    fn build_runtime_types(
        &self,
    ) -> std::result::Result<HashMap<u64, TypeId>, (String, gimli::Error)> {
        let mut m = HashMap::new();
        for (ui, unit) in self.units.iter().enumerate() {
            let ctx = |e| (format!("indexing runtime types of unit {ui}"), e);
            let mut cursor = unit.entries();
            while let Some(die) = cursor.next_dfs().map_err(ctx)? {
                if die.depth() != 1 {
                    continue;
                }
                let Some(off) = die
                    .attr_value(gimli::DwAt(DW_AT_GO_RUNTIME_TYPE))
                    .and_then(udata)
                else {
                    continue;
                };
                if off == 0 {
                    continue;
                }
                let r = DieRef {
                    unit: ui,
                    offset: die.offset(),
                };
                if let Some(id) = self.type_id(r) {
                    m.entry(off).or_insert(id);
                }
            }
        }
        Ok(m)
    }

    fn values_index(&self) -> Result<&ValueIndex> {
        match self.values.get_or_init(|| self.build_values_index()) {
            Ok(i) => Ok(i),
            Err((what, e)) => Err(crate::error::Error::Dwarf {
                what: what.clone(),
                source: *e,
            }),
        }
    }

    fn build_values_index(&self) -> std::result::Result<ValueIndex, (String, gimli::Error)> {
        let mut idx = ValueIndex::default();
        for (ui, unit) in self.units.iter().enumerate() {
            let ctx = |e| (format!("indexing functions of unit {ui}"), e);
            let mut cursor = unit.entries();
            while let Some(die) = cursor.next_dfs().map_err(ctx)? {
                if die.depth() == 0 && die.tag() == gimli::DW_TAG_compile_unit {
                    let pkg = die
                        .attr_value(gimli::DwAt(DW_AT_GO_PACKAGE_NAME))
                        .and_then(|v| self.dwarf.attr_string(unit, v).ok())
                        .and_then(|s| s.to_string_lossy().ok().map(|c| c.into_owned()));
                    if let (Some(pkg), Some(path)) = (pkg, self.name(unit, die)) {
                        let paths = idx.packages.entry(pkg).or_default();
                        if !paths.contains(&path) {
                            paths.push(path);
                        }
                    }
                }
                if die.depth() != 1 {
                    continue;
                }
                match die.tag() {
                    gimli::DW_TAG_subprogram => {
                        let mut ranges = self.dwarf.die_ranges(unit, die).map_err(ctx)?;
                        let at = DieRef {
                            unit: ui,
                            offset: die.offset(),
                        };
                        while let Some(r) = ranges.next().map_err(ctx)? {
                            if r.begin < r.end {
                                idx.funcs.push((r.begin, r.end, at));
                            }
                        }
                    }
                    gimli::DW_TAG_constant => {
                        let (Some(name), Some(ty), Some(v)) = (
                            self.name(unit, die),
                            self.attr_type_id(ui, die, gimli::DW_AT_type.0),
                            die.attr_value(gimli::DW_AT_const_value)
                                .and_then(|v| super::const_value(&v)),
                        ) else {
                            continue;
                        };
                        idx.consts.entry(ty).or_default().push((name, v));
                    }
                    gimli::DW_TAG_variable => {
                        let Some(name) = self.name(unit, die) else {
                            continue;
                        };
                        let addr = die
                            .attr_value(gimli::DW_AT_location)
                            .and_then(|v| v.exprloc_value())
                            .and_then(|e| super::static_addr(&e, unit.encoding()));
                        if let Some(addr) = addr {
                            let ty = self.attr_type_id(ui, die, gimli::DW_AT_type.0);
                            idx.globals.entry(name).or_insert((addr, ty));
                        }
                    }
                    _ => {}
                }
            }
        }
        idx.funcs.sort_by_key(|f| f.0);
        Ok(idx)
    }

    /// Global variables with a static address: (name, link-time address,
    /// type), sorted by name.
    pub fn globals_with_types(&self) -> Result<Vec<(String, u64, Option<TypeId>)>> {
        let mut v: Vec<_> = self
            .values_index()?
            .globals
            .iter()
            .map(|(n, &(a, t))| (n.clone(), a, t))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(v)
    }

    /// Global variables whose name matches the regular expression
    /// `pattern` (every global for an empty pattern), sorted by name.
    pub fn globals_matching(&self, pattern: &str) -> Result<Vec<(String, u64, Option<TypeId>)>> {
        let re = regex::Regex::new(pattern)?;
        let mut v = self.globals_with_types()?;
        v.retain(|g| re.is_match(&g.0));
        Ok(v)
    }

    /// The import paths of the packages named `name` (`http` ->
    /// `net/http`), from the compilation units' `DW_AT_go_package_name`.
    pub fn package_paths(&self, name: &str) -> Result<Vec<String>> {
        Ok(self
            .values_index()?
            .packages
            .get(name)
            .cloned()
            .unwrap_or_default())
    }

    /// The constants declared with type `ty` (`main.TypeCount` of
    /// `main.MetricType`), sorted by value (those of equal value in DWARF
    /// order).
    pub fn constants_of_type(&self, ty: TypeId) -> Result<Vec<(String, i64)>> {
        let mut v = self
            .values_index()?
            .consts
            .get(&ty)
            .cloned()
            .unwrap_or_default();
        v.sort_by_key(|c| c.1);
        Ok(v)
    }

    /// A global variable's link-time address and type.
    pub fn global_with_type(&self, name: &str) -> Result<Option<(u64, Option<TypeId>)>> {
        Ok(self.values_index()?.globals.get(name).copied())
    }

    fn func_at(&self, pc: u64) -> Result<Option<DieRef>> {
        let funcs = &self.values_index()?.funcs;
        let i = funcs.partition_point(|f| f.0 <= pc);
        Ok(i.checked_sub(1)
            .and_then(|i| funcs.get(i))
            .filter(|f| pc < f.1)
            .map(|f| f.2))
    }

    /// True when one of the DIE's address ranges contains `pc`; DIEs
    /// without ranges contain every pc.
    fn die_contains(&self, unit: &gimli::Unit<R>, die: &super::Die, pc: u64) -> bool {
        let has = die.attr_value(gimli::DW_AT_low_pc).is_some()
            || die.attr_value(gimli::DW_AT_ranges).is_some();
        if !has {
            return true;
        }
        let Ok(mut ranges) = self.dwarf.die_ranges(unit, die) else {
            return false;
        };
        while let Ok(Some(r)) = ranges.next() {
            if r.begin <= pc && pc < r.end {
                return true;
            }
        }
        false
    }

    /// The name of a DIE, or of its abstract origin.
    fn name_or_origin(&self, ui: usize, die: &super::Die) -> Option<String> {
        if let Some(n) = self.name(&self.units[ui], die) {
            return Some(n);
        }
        let origin = self.resolve(ui, die.attr_value(gimli::DW_AT_abstract_origin)?)?;
        let odie = self.die(origin)?;
        self.name(&self.units[origin.unit], &odie)
    }

    fn scope_var(&self, ui: usize, die: &super::Die, depth: u32) -> Option<ScopeVar> {
        let is_param = match die.tag() {
            gimli::DW_TAG_formal_parameter => true,
            gimli::DW_TAG_variable => false,
            _ => return None,
        };
        // Inlined calls' variables name their abstract origin for the
        // name, type and declaration line.
        let origin = die
            .attr_value(gimli::DW_AT_abstract_origin)
            .and_then(|v| self.resolve(ui, v));
        let odie = origin.and_then(|o| self.die(o).map(|d| (o.unit, d)));
        let attr = |a: gimli::DwAt| {
            die.attr_value(a).map(|v| (ui, v)).or_else(|| {
                odie.as_ref()
                    .and_then(|(u, d)| d.attr_value(a).map(|v| (*u, v)))
            })
        };
        let name = match attr(gimli::DW_AT_name) {
            Some((u, v)) => self
                .dwarf
                .attr_string(&self.units[u], v)
                .ok()?
                .to_string_lossy()
                .ok()?
                .into_owned(),
            None => return None,
        };
        let ty = attr(gimli::DW_AT_type)
            .and_then(|(u, v)| self.resolve(u, v))
            .and_then(|r| self.type_id(r));
        let loc = match die.attr_value(gimli::DW_AT_location) {
            Some(AttributeValue::Exprloc(e)) => match e.0.to_slice() {
                Ok(b) => LocSpec::Expr(b.to_vec()),
                Err(_) => LocSpec::None,
            },
            Some(AttributeValue::LocationListsRef(o)) => LocSpec::List {
                unit: ui,
                offset: o.0 as u64,
            },
            Some(AttributeValue::SecOffset(o)) => LocSpec::List {
                unit: ui,
                offset: o as u64,
            },
            Some(v @ AttributeValue::DebugLocListsIndex(_)) => {
                match self.dwarf.attr_locations_offset(&self.units[ui], v) {
                    Ok(Some(o)) => LocSpec::List {
                        unit: ui,
                        offset: o.0 as u64,
                    },
                    _ => LocSpec::None,
                }
            }
            _ => LocSpec::None,
        };
        Some(ScopeVar {
            name,
            ty,
            is_param,
            is_return: attr(gimli::DW_AT_variable_parameter)
                .and_then(|(_, v)| udata(v))
                .is_some_and(|f| f != 0),
            captured: attr(gimli::DwAt(DW_AT_GO_CLOSURE_OFFSET)).is_some(),
            closure_offset: attr(gimli::DwAt(DW_AT_GO_CLOSURE_OFFSET)).and_then(|(_, v)| udata(v)),
            decl_line: attr(gimli::DW_AT_decl_line).and_then(|(_, v)| udata(v)),
            depth,
            loc,
        })
    }

    /// The variables of the logical frame at link-time `pc` that is
    /// `inline_depth` inlined calls deep (0: the physical function, 1: the
    /// call inlined into it, ...): its parameters and the variables of the
    /// lexical blocks containing `pc`, not those of calls inlined into it.
    /// `None` when no function's DWARF covers `pc`.
    pub fn frame_scope(&self, pc: u64, inline_depth: usize) -> Result<Option<FrameScope>> {
        let Some(r) = self.func_at(pc)? else {
            return Ok(None);
        };
        let unit = &self.units[r.unit];
        let ctx = || format!("reading the scope of pc {pc:#x}");
        let root = unit.entry(r.offset).map_err(gerr(ctx()))?;
        let mut out = FrameScope {
            function: self.name_or_origin(r.unit, &root).unwrap_or_default(),
            vars: Vec::new(),
        };
        let mut cursor = unit.entries_at_offset(r.offset).map_err(gerr(ctx()))?;
        cursor.next_dfs().map_err(gerr(ctx()))?;
        // How many inlined calls deep we are, and the depth of that DIE.
        let mut level = 0usize;
        let mut frame_depth: isize = 0;
        // Subtrees below this depth are skipped.
        let mut skip_below: Option<isize> = None;
        // Depths of the enclosing lexical blocks that contain pc.
        let mut blocks: Vec<isize> = Vec::new();
        while let Some(die) = cursor.next_dfs().map_err(gerr(ctx()))? {
            let depth = die.depth();
            if depth <= 0 || depth > MAX_SCOPE_DEPTH {
                break;
            }
            if let Some(s) = skip_below {
                if depth > s {
                    continue;
                }
                skip_below = None;
            }
            if level > 0 && depth <= frame_depth {
                // Left the inlined call whose variables we wanted.
                break;
            }
            blocks.retain(|&b| b < depth);
            match die.tag() {
                gimli::DW_TAG_inlined_subroutine => {
                    if level < inline_depth && self.die_contains(unit, die, pc) {
                        level += 1;
                        frame_depth = depth;
                        out.function = self.name_or_origin(r.unit, die).unwrap_or_default();
                        out.vars.clear();
                        blocks.clear();
                    } else {
                        skip_below = Some(depth);
                    }
                }
                gimli::DW_TAG_lexical_block => {
                    if self.die_contains(unit, die, pc) {
                        blocks.push(depth);
                    } else {
                        skip_below = Some(depth);
                    }
                }
                gimli::DW_TAG_formal_parameter | gimli::DW_TAG_variable => {
                    if let Some(v) = self.scope_var(r.unit, die, blocks.len() as u32) {
                        out.vars.push(v);
                    }
                }
                _ => {
                    if die.has_children() {
                        skip_below = Some(depth);
                    }
                }
            }
        }
        if level < inline_depth {
            return Ok(None);
        }
        Ok(Some(out))
    }

    /// The location expression of `v` at link-time `pc`: `Ok(None)` when
    /// the variable has no location there (optimized away).
    pub fn location_at(&self, v: &ScopeVar, pc: u64) -> Result<Option<Vec<u8>>> {
        match &v.loc {
            LocSpec::None => Ok(None),
            LocSpec::Expr(e) => Ok(Some(e.clone())),
            &LocSpec::List { unit, offset } => {
                let Some(u) = self.units.get(unit) else {
                    return Ok(None);
                };
                let Ok(off) = usize::try_from(offset) else {
                    return Ok(None);
                };
                let ctx = || format!("reading location list at {offset:#x}");
                let mut it = self
                    .dwarf
                    .locations(u, gimli::LocationListsOffset(off))
                    .map_err(gerr(ctx()))?;
                while let Some(e) = it.next().map_err(gerr(ctx()))? {
                    if e.range.begin <= pc && pc < e.range.end {
                        let b = e.data.0.to_slice().map_err(gerr(ctx()))?;
                        return Ok(Some(b.to_vec()));
                    }
                }
                Ok(None)
            }
        }
    }

    /// True when the variable has a location list (optimized code).
    pub fn has_location_list(v: &ScopeVar) -> bool {
        matches!(v.loc, LocSpec::List { .. })
    }

    /// Evaluates a location expression into pieces.
    pub fn eval_location(
        &self,
        expr: &[u8],
        ctx: &mut dyn LocationContext,
    ) -> std::result::Result<Vec<Piece>, LocationError> {
        if expr.is_empty() {
            return Ok(vec![Piece {
                size: None,
                location: PieceLocation::Empty,
            }]);
        }
        let encoding = self
            .units
            .first()
            .map(|u| u.encoding())
            .ok_or_else(|| LocationError::Invalid("no compilation units".into()))?;
        let bytes =
            gimli::EndianArcSlice::new(std::sync::Arc::from(expr), gimli::RunTimeEndian::Little);
        let mut ev = gimli::Evaluation::new(bytes, encoding);
        ev.set_max_iterations(MAX_EXPR_STEPS);
        let invalid = |e: gimli::Error| LocationError::Invalid(e.to_string());
        let mut res = ev.evaluate().map_err(invalid)?;
        loop {
            res = match res {
                gimli::EvaluationResult::Complete => break,
                gimli::EvaluationResult::RequiresCallFrameCfa
                | gimli::EvaluationResult::RequiresFrameBase => {
                    let cfa = ctx.cfa().ok_or(LocationError::Cfa)?;
                    if matches!(res, gimli::EvaluationResult::RequiresFrameBase) {
                        ev.resume_with_frame_base(cfa).map_err(invalid)?
                    } else {
                        ev.resume_with_call_frame_cfa(cfa).map_err(invalid)?
                    }
                }
                gimli::EvaluationResult::RequiresRegister { register, .. } => {
                    let v = ctx
                        .register(register.0)
                        .ok_or(LocationError::Register(register.0))?;
                    ev.resume_with_register(gimli::Value::Generic(v))
                        .map_err(invalid)?
                }
                gimli::EvaluationResult::RequiresMemory { address, size, .. } => {
                    let v = ctx
                        .memory(address, size)
                        .ok_or(LocationError::Memory(address))?;
                    ev.resume_with_memory(gimli::Value::Generic(v))
                        .map_err(invalid)?
                }
                other => {
                    return Err(LocationError::Invalid(format!(
                        "unsupported DWARF operation ({other:?})"
                    )));
                }
            };
        }
        let pieces = ev
            .result()
            .into_iter()
            .map(|p| Piece {
                size: p.size_in_bits.map(|b| b / 8),
                location: match p.location {
                    gimli::Location::Empty => PieceLocation::Empty,
                    gimli::Location::Register { register } => PieceLocation::Register(register.0),
                    gimli::Location::Address { address } => PieceLocation::Address(address),
                    gimli::Location::Value { value } => PieceLocation::Value(match value {
                        gimli::Value::Generic(v) | gimli::Value::U64(v) => v,
                        gimli::Value::I64(v) => v as u64,
                        gimli::Value::U32(v) => u64::from(v),
                        gimli::Value::I32(v) => v as u64,
                        gimli::Value::U16(v) => u64::from(v),
                        gimli::Value::I16(v) => v as u64,
                        gimli::Value::U8(v) => u64::from(v),
                        gimli::Value::I8(v) => v as u64,
                        gimli::Value::F32(v) => u64::from(v.to_bits()),
                        gimli::Value::F64(v) => v.to_bits(),
                    }),
                    gimli::Location::Bytes { value } => PieceLocation::Bytes(
                        value.to_slice().map(|b| b.to_vec()).unwrap_or_default(),
                    ),
                    _ => PieceLocation::Empty,
                },
            })
            .collect();
        Ok(pieces)
    }
}
