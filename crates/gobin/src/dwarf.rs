//! DWARF: types, constants, globals and function variables, indexed by name
//! on first use.
//!
//! Go emits one compilation unit per package plus units for runtime types;
//! named types, global variables, constants and functions are children of
//! the unit DIE. Sections compressed with SHF_COMPRESSED or as `.zdebug_*`
//! are decompressed by `object` when loaded.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use gimli::{AttributeValue, DebuggingInformationEntry, Reader, UnitOffset};
use object::{Object, ObjectSection};

use crate::error::{Error, Result};

mod values;
pub use values::{
    FrameScope, GoField, GoType, LocationContext, LocationError, Piece, PieceLocation, ScopeVar,
    TypeId,
};

type R = gimli::EndianArcSlice<gimli::RunTimeEndian>;
type Die = DebuggingInformationEntry<R>;

/// A DIE's position: unit index and offset within the unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct DieRef {
    unit: usize,
    offset: UnitOffset<usize>,
}

/// What kind of type a DWARF type entry describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TypeKind {
    /// `DW_TAG_structure_type` (Go structs, and the runtime shapes of strings, slices, interfaces).
    Struct,
    /// `DW_TAG_pointer_type`.
    Pointer,
    /// `DW_TAG_base_type` (ints, floats, bool...).
    Base,
    /// `DW_TAG_typedef`.
    Typedef,
    /// `DW_TAG_array_type`.
    Array,
    /// `DW_TAG_subroutine_type`.
    Func,
    /// `DW_TAG_union_type`.
    Union,
    /// `DW_TAG_enumeration_type`.
    Enum,
    /// Any other tag (the raw DWARF tag).
    Other(u16),
}

/// A global variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Global {
    /// Name (`runtime.allgs`).
    pub name: String,
    /// Static address (from a `DW_OP_addr` location).
    pub addr: Option<u64>,
    /// Name of its type.
    pub type_name: Option<String>,
}

/// Where a variable lives.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum VarLocation {
    /// A DWARF expression (`DW_FORM_exprloc`), as raw bytes.
    Expr(Vec<u8>),
    /// An offset into `.debug_loclists` / `.debug_loc` (location varies by pc).
    List(u64),
    /// No location (optimized away).
    None,
}

/// A parameter or local variable of a function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variable {
    /// Name.
    pub name: String,
    /// Name of its type.
    pub type_name: Option<String>,
    /// True for a parameter (`DW_TAG_formal_parameter`).
    pub is_param: bool,
    /// Location.
    pub location: VarLocation,
    /// Declaration line, if recorded.
    pub decl_line: Option<u64>,
}

#[derive(Default)]
struct Index {
    types: HashMap<String, DieRef>,
    consts: HashMap<String, i64>,
    globals: HashMap<String, Global>,
    funcs: HashMap<String, DieRef>,
}

/// The DWARF of a binary; indexes are built on the first query.
pub struct Dwarf {
    dwarf: gimli::Dwarf<R>,
    units: Vec<gimli::Unit<R>>,
    /// Section offsets where each unit starts, ascending.
    starts: Vec<usize>,
    index: OnceLock<std::result::Result<Index, (String, gimli::Error)>>,
    /// Functions by address and typed globals, for reading values.
    values: OnceLock<std::result::Result<values::ValueIndex, (String, gimli::Error)>>,
    /// Types by runtime descriptor offset (`DW_AT_go_runtime_type`).
    runtime_types: OnceLock<std::result::Result<HashMap<u64, TypeId>, (String, gimli::Error)>>,
}

impl std::fmt::Debug for Dwarf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dwarf")
            .field("units", &self.units.len())
            .finish()
    }
}

fn gerr(what: impl Into<String>) -> impl FnOnce(gimli::Error) -> Error {
    let what = what.into();
    move |source| Error::Dwarf { what, source }
}

impl Dwarf {
    /// Loads DWARF from an ELF image in memory; `Ok(None)` if it has no `.debug_info`.
    pub fn load(elf: &[u8]) -> Result<Option<Dwarf>> {
        let file = object::File::parse(elf).map_err(|e| Error::DwarfSection {
            section: "(file)".into(),
            reason: e.to_string(),
        })?;
        if file.section_by_name(".debug_info").is_none() {
            return Ok(None);
        }
        let endian = if file.is_little_endian() {
            gimli::RunTimeEndian::Little
        } else {
            gimli::RunTimeEndian::Big
        };
        let load = |id: gimli::SectionId| -> Result<R> {
            let data: Arc<[u8]> = match file.section_by_name(id.name()) {
                Some(s) => {
                    let d = s.uncompressed_data().map_err(|e| Error::DwarfSection {
                        section: id.name().to_string(),
                        reason: e.to_string(),
                    })?;
                    Arc::from(&*d)
                }
                None => Arc::from(&[][..]),
            };
            Ok(gimli::EndianArcSlice::new(data, endian))
        };
        let dwarf = gimli::Dwarf::load(load)?;
        let mut units = Vec::new();
        let mut starts = Vec::new();
        let mut iter = dwarf.units();
        while let Some(header) = iter.next().map_err(gerr("reading unit headers"))? {
            let start = header.offset().0;
            let unit = dwarf
                .unit(header)
                .map_err(gerr(format!("reading unit at {start:#x}")))?;
            starts.push(start);
            units.push(unit);
        }
        Ok(Some(Dwarf {
            dwarf,
            units,
            starts,
            index: OnceLock::new(),
            values: OnceLock::new(),
            runtime_types: OnceLock::new(),
        }))
    }

    /// Number of compilation units.
    pub fn num_units(&self) -> usize {
        self.units.len()
    }

    fn index(&self) -> Result<&Index> {
        match self.index.get_or_init(|| self.build_index()) {
            Ok(i) => Ok(i),
            Err((what, e)) => Err(Error::Dwarf {
                what: what.clone(),
                source: *e,
            }),
        }
    }

    fn build_index(&self) -> std::result::Result<Index, (String, gimli::Error)> {
        let mut idx = Index::default();
        for (ui, unit) in self.units.iter().enumerate() {
            let ctx = |e| (format!("indexing unit {ui} at {:#x}", self.starts[ui]), e);
            let mut cursor = unit.entries();
            while let Some(die) = cursor.next_dfs().map_err(ctx)? {
                if die.depth() != 1 {
                    continue;
                }
                let Some(name) = self.name(unit, die) else {
                    continue;
                };
                let at = DieRef {
                    unit: ui,
                    offset: die.offset(),
                };
                match die.tag() {
                    gimli::DW_TAG_subprogram => {
                        idx.funcs.entry(name).or_insert(at);
                    }
                    gimli::DW_TAG_variable => {
                        let addr = die
                            .attr_value(gimli::DW_AT_location)
                            .and_then(|v| v.exprloc_value())
                            .and_then(|e| static_addr(&e, unit.encoding()));
                        let type_name = self.type_ref(ui, die).and_then(|r| self.name_of(r));
                        idx.globals.entry(name.clone()).or_insert(Global {
                            name,
                            addr,
                            type_name,
                        });
                    }
                    gimli::DW_TAG_constant => {
                        if let Some(v) = die
                            .attr_value(gimli::DW_AT_const_value)
                            .and_then(|v| const_value(&v))
                        {
                            idx.consts.entry(name).or_insert(v);
                        }
                    }
                    gimli::DW_TAG_base_type
                    | gimli::DW_TAG_structure_type
                    | gimli::DW_TAG_pointer_type
                    | gimli::DW_TAG_typedef
                    | gimli::DW_TAG_array_type
                    | gimli::DW_TAG_subroutine_type
                    | gimli::DW_TAG_union_type
                    | gimli::DW_TAG_enumeration_type
                    | gimli::DW_TAG_unspecified_type => {
                        idx.types.entry(name).or_insert(at);
                    }
                    _ => {}
                }
            }
        }
        Ok(idx)
    }

    fn name(&self, unit: &gimli::Unit<R>, die: &Die) -> Option<String> {
        let v = die.attr_value(gimli::DW_AT_name)?;
        let s = self.dwarf.attr_string(unit, v).ok()?;
        Some(s.to_string_lossy().ok()?.into_owned())
    }

    fn die(&self, r: DieRef) -> Option<Die> {
        self.units.get(r.unit)?.entry(r.offset).ok()
    }

    fn name_of(&self, r: DieRef) -> Option<String> {
        let die = self.die(r)?;
        self.name(&self.units[r.unit], &die)
    }

    /// The DIE referenced by `DW_AT_type`.
    fn type_ref(&self, unit: usize, die: &Die) -> Option<DieRef> {
        self.resolve(unit, die.attr_value(gimli::DW_AT_type)?)
    }

    fn resolve(&self, unit: usize, v: AttributeValue<R>) -> Option<DieRef> {
        match v {
            AttributeValue::UnitRef(off) => Some(DieRef { unit, offset: off }),
            AttributeValue::DebugInfoRef(off) => {
                let target = off.0;
                let ui = self
                    .starts
                    .partition_point(|&s| s <= target)
                    .checked_sub(1)?;
                let u = &self.units[ui];
                let o = off.to_unit_offset(&u.header)?;
                Some(DieRef {
                    unit: ui,
                    offset: o,
                })
            }
            _ => None,
        }
    }

    /// A type by its Go name (`runtime.g`, `*runtime.m`, `runtime.hchan`).
    pub fn type_by_name(&self, name: &str) -> Result<Option<GoType>> {
        match self.type_id_by_name(name)? {
            Some(id) => self.go_type(id),
            None => Ok(None),
        }
    }

    /// Offset of a field in a struct type, e.g. (`runtime.g`, `goid`).
    pub fn struct_field_offset(&self, type_name: &str, field: &str) -> Result<Option<u64>> {
        Ok(self
            .type_by_name(type_name)?
            .and_then(|t| t.field(field).map(|f| f.offset)))
    }

    /// A constant's value (`runtime.waitReasonChanReceive`, `runtime._Grunning`).
    pub fn constant(&self, name: &str) -> Result<Option<i64>> {
        Ok(self.index()?.consts.get(name).copied())
    }

    /// All constants whose name starts with `prefix`, sorted by value then name.
    pub fn constants_with_prefix(&self, prefix: &str) -> Result<Vec<(String, i64)>> {
        let mut v: Vec<(String, i64)> = self
            .index()?
            .consts
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        v.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
        Ok(v)
    }

    /// A global variable (`runtime.allgs`) with its address.
    pub fn global(&self, name: &str) -> Result<Option<Global>> {
        Ok(self.index()?.globals.get(name).cloned())
    }

    /// The parameters and locals of a function, in DWARF order (nested
    /// lexical blocks included); `None` if the function has no DWARF entry.
    pub fn function_vars(&self, func: &str) -> Result<Option<Vec<Variable>>> {
        let Some(&r) = self.index()?.funcs.get(func) else {
            return Ok(None);
        };
        let unit = &self.units[r.unit];
        let ctx = || format!("reading variables of {func}");
        let mut cursor = unit.entries_at_offset(r.offset).map_err(gerr(ctx()))?;
        cursor.next_dfs().map_err(gerr(ctx()))?;
        let mut out = Vec::new();
        while let Some(child) = cursor.next_dfs().map_err(gerr(ctx()))? {
            if child.depth() <= 0 {
                break;
            }
            let is_param = match child.tag() {
                gimli::DW_TAG_formal_parameter => true,
                gimli::DW_TAG_variable => false,
                _ => continue,
            };
            let location = match child.attr_value(gimli::DW_AT_location) {
                Some(AttributeValue::Exprloc(e)) => {
                    VarLocation::Expr(e.0.to_slice().map_err(gerr(ctx()))?.to_vec())
                }
                Some(AttributeValue::LocationListsRef(o)) => VarLocation::List(o.0 as u64),
                Some(AttributeValue::SecOffset(o)) => VarLocation::List(o as u64),
                Some(v) => match v.exprloc_value() {
                    Some(e) => VarLocation::Expr(e.0.to_slice().map_err(gerr(ctx()))?.to_vec()),
                    None => VarLocation::None,
                },
                None => VarLocation::None,
            };
            out.push(Variable {
                name: self.name(unit, child).unwrap_or_default(),
                type_name: self.type_ref(r.unit, child).and_then(|t| self.name_of(t)),
                is_param,
                location,
                decl_line: child
                    .attr_value(gimli::DW_AT_decl_line)
                    .and_then(|v| v.udata_value()),
            });
        }
        Ok(Some(out))
    }

    /// Names of all indexed types (for listing and diagnostics).
    pub fn type_names(&self) -> Result<Vec<&str>> {
        Ok(self.index()?.types.keys().map(String::as_str).collect())
    }
}

fn const_value(v: &AttributeValue<R>) -> Option<i64> {
    match *v {
        AttributeValue::Sdata(s) => Some(s),
        AttributeValue::Udata(u) => i64::try_from(u).ok(),
        AttributeValue::Data1(d) => Some(i64::from(d)),
        AttributeValue::Data2(d) => Some(i64::from(d)),
        AttributeValue::Data4(d) => Some(i64::from(d)),
        AttributeValue::Data8(d) => Some(d as i64),
        _ => None,
    }
}

/// The address of a `DW_OP_addr ADDR` expression.
fn static_addr(e: &gimli::Expression<R>, enc: gimli::Encoding) -> Option<u64> {
    let mut ops = e.clone().operations(enc);
    match ops.next().ok()? {
        Some(gimli::Operation::Address { address }) => Some(address),
        _ => None,
    }
}
