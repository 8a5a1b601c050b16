//! Values of Go variables read from DWARF and memory: a frame's locals
//! and arguments, package variables, and expressions (`print EXPR`), as a
//! typed [`Value`] tree.
//!
//! * `frame`: which physical frame and inlined call a [`Scope`] names,
//!   its canonical frame address, and its registers where they exist (the
//!   innermost frame of a running thread, a frame interrupted by a signal).
//! * `gosleuth_gobin::Dwarf::frame_scope` lists the variables visible at
//!   the frame's pc; their locations (location lists, registers,
//!   `DW_OP_piece`) are evaluated here into a place to read from.
//! * `load` reads a value of any Go type following Delve's load rules
//!   (how deep, how much of strings and arrays: [`LoadConfig`]); maps
//!   (classic and Swiss tables) are walked in `maps`.
//!
//! A value that is not there says why, in `unreadable`: optimized away at
//! this pc, held in a register this frame did not save, memory missing
//! from the core. Delve's `api.Variable` and its printer are in
//! `gosleuth-dlvrpc`, which converts these trees.

mod eval;
mod expr;
mod frame;
mod load;
mod maps;
pub(crate) mod rtype;
mod types;
mod value;

use gosleuth_gobin::{Dwarf, LocationContext, LocationError, PieceLocation, ScopeVar};
use gosleuth_memory::Memory;
use serde::Serialize;

use crate::capture::Capture;

pub use value::{Kind, Scalar, Value, VarFlags};

use frame::{FrameCtx, RegSource, reg_name};
use load::{Loader, Place};
use types::Types;

/// Go's `reflect.Kind` numbers, as DWARF's `DW_AT_go_kind` carries them.
pub(crate) mod kind {
    pub const BOOL: u32 = 1;
    pub const INT: u32 = 2;
    pub const INT64: u32 = 6;
    pub const UINT: u32 = 7;
    pub const UINTPTR: u32 = 12;
    pub const FLOAT32: u32 = 13;
    pub const FLOAT64: u32 = 14;
    pub const COMPLEX64: u32 = 15;
    pub const COMPLEX128: u32 = 16;
    pub const CHAN: u32 = 18;
    pub const INTERFACE: u32 = 20;
    pub const MAP: u32 = 21;
    pub const SLICE: u32 = 23;
    pub const STRING: u32 = 24;
}

/// Go's `%q` of a string.
pub fn go_quote(s: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            '\u{fffd}' => out.push_str("\\ufffd"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c.is_control() => {
                if (c as u32) <= 0xffff {
                    let _ = write!(out, "\\u{:04x}", c as u32);
                } else {
                    let _ = write!(out, "\\U{:08x}", c as u32);
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// How deep to follow pointers and how much to load (Delve's
/// `api.LoadConfig`).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct LoadConfig {
    pub follow_pointers: bool,
    pub max_variable_recurse: u32,
    pub max_string_len: u32,
    pub max_array_values: u32,
    pub max_struct_fields: i32,
}

impl Default for LoadConfig {
    fn default() -> Self {
        LoadConfig {
            follow_pointers: true,
            max_variable_recurse: 1,
            max_string_len: 64,
            max_array_values: 64,
            max_struct_fields: -1,
        }
    }
}

/// Where to evaluate: a goroutine (by index in [`Capture::goroutines`])
/// and a frame (index into the frames [`crate::View::frame_iter`] shows).
#[derive(Debug, Clone, Copy)]
pub struct Scope {
    pub goroutine: usize,
    pub frame: usize,
}

/// Why variables could not be read or an expression not evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EvalError {
    /// The binary's DWARF is malformed.
    #[error("cannot read DWARF: {0}")]
    Dwarf(String),
    /// The binary has no DWARF.
    #[error("the binary has no DWARF (built with -ldflags=-w or stripped): values cannot be read")]
    NoDwarf,
    /// A package-variable filter is not a regular expression.
    #[error("bad filter {filter:?}: {why}")]
    BadFilter { filter: String, why: String },
    /// The expression does not parse.
    #[error("{0}")]
    Syntax(String),
    /// The scope's frame, or the variables visible there, cannot be read.
    #[error("{0}")]
    Frame(String),
    /// Evaluating failed: a name not found, a nil pointer dereferenced, an
    /// index out of range, an operand unreadable or of the wrong type.
    #[error("{0}")]
    Eval(String),
}

fn dwarf_of<M: Memory>(c: &Capture<M>) -> Result<&Dwarf, EvalError> {
    c.target
        .bin
        .dwarf()
        .map_err(|e| EvalError::Dwarf(e.to_string()))?
        .ok_or(EvalError::NoDwarf)
}

/// The local variables of a frame (not arguments).
pub fn locals<M: Memory>(
    c: &Capture<M>,
    scope: Scope,
    cfg: &LoadConfig,
) -> Result<Vec<Value>, EvalError> {
    Ok(frame_vars(c, scope, cfg)?
        .into_iter()
        .filter(|v| !v.flags.is_parameter())
        .collect())
}

/// The arguments of a frame's function.
pub fn args<M: Memory>(
    c: &Capture<M>,
    scope: Scope,
    cfg: &LoadConfig,
) -> Result<Vec<Value>, EvalError> {
    Ok(frame_vars(c, scope, cfg)?
        .into_iter()
        .filter(|v| v.flags.is_parameter())
        .collect())
}

/// Every visible variable of a frame, arguments first, shadowed ones
/// flagged.
fn frame_vars<M: Memory>(
    c: &Capture<M>,
    scope: Scope,
    cfg: &LoadConfig,
) -> Result<Vec<Value>, EvalError> {
    let d = dwarf_of(c)?;
    let f = frame::frame_ctx(c, scope).map_err(EvalError::Frame)?;
    let vars = frame::visible_vars(c, &f).map_err(EvalError::Frame)?;
    let l = Loader::new(&c.target, Types::new(d), cfg);
    let mut out: Vec<Value> = vars
        .iter()
        .map(|sv| read_scope_var(c, &l, &f, sv))
        .collect();
    // An inner variable shadows an outer one of the same name.
    for i in 0..out.len() {
        if out[i + 1..].iter().any(|o| o.name == out[i].name) {
            out[i].flags.shadowed = true;
        }
    }
    Ok(out)
}

/// Evaluates `expr` (names, fields `a.b`, index `a[i]`, deref `*p`,
/// `len(x)`, `cap(x)`, package variables `pkg.V`) in a frame.
pub fn eval<M: Memory>(
    c: &Capture<M>,
    scope: Scope,
    expr: &str,
    cfg: &LoadConfig,
) -> Result<Value, EvalError> {
    let d = dwarf_of(c)?;
    let e = expr::parse(expr).map_err(EvalError::Syntax)?;
    // Package variables need no frame: a bad scope only matters when a
    // local is looked up.
    let f = frame::frame_ctx(c, scope);
    let l = Loader::new(&c.target, Types::new(d), cfg);
    let mut v = eval::Evaluator {
        c,
        l: &l,
        f: f.as_ref().ok(),
        frame_err: f.as_ref().err(),
    }
    .eval_top(&e)
    .map_err(EvalError::Eval)?;
    v.name = expr.trim().to_string();
    Ok(v)
}

/// Package variables whose name matches `filter` (a regular expression).
pub fn package_vars<M: Memory>(
    c: &Capture<M>,
    filter: &str,
    cfg: &LoadConfig,
) -> Result<Vec<Value>, EvalError> {
    let d = dwarf_of(c)?;
    let globals = d
        .globals_matching(filter)
        .map_err(|e| EvalError::BadFilter {
            filter: filter.to_string(),
            why: e.to_string(),
        })?;
    let l = Loader::new(&c.target, Types::new(d), cfg);
    Ok(globals
        .into_iter()
        .map(|(name, addr, ty)| {
            l.reset_budget();
            match ty {
                Some(ty) => l.var(&name, ty, Place::Mem(addr.wrapping_add(c.target.bias)), 0),
                None => Value {
                    name,
                    addr: addr.wrapping_add(c.target.bias),
                    unreadable: Some("no type in DWARF".into()),
                    ..Value::default()
                },
            }
        })
        .collect())
}

/// A channel's state and the goroutines queued on it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ChannelInfo {
    /// `hchan` address.
    pub addr: u64,
    /// Elements buffered (`qcount`).
    pub len: u64,
    /// Buffer size (`dataqsiz`).
    pub cap: u64,
    pub closed: bool,
    /// Element type name (from the channel's type).
    pub elem_type: String,
    /// Ids of goroutines blocked sending / receiving on it.
    pub senders: Vec<u64>,
    pub receivers: Vec<u64>,
}

/// For a channel variable (from [`eval`], [`locals`]...): its length,
/// capacity, closed state, and the goroutines queued to send and receive
/// (read from the channel's wait queues). `None` for other values and nil
/// channels.
pub fn channel_info<M: Memory>(c: &Capture<M>, v: &Value) -> Option<ChannelInfo> {
    if v.kind != Kind::Chan || !v.is_readable() {
        return None;
    }
    channel_info_at(c, v.base, &v.type_name)
}

/// [`channel_info`] of the channel whose `hchan` is at `hchan`, of type
/// `type_name` (`chan int`); `None` for a nil channel.
pub fn channel_info_at<M: Memory>(
    c: &Capture<M>,
    hchan: u64,
    type_name: &str,
) -> Option<ChannelInfo> {
    if hchan == 0 {
        return None;
    }
    let t = &c.target;
    let h = &t.layout.hchan;
    let s = &t.layout.sudog;
    let a = hchan;
    let limit = c.goroutines.len() + 1;
    let queue = |q: u64| -> Vec<u64> {
        let mut out = Vec::new();
        let mut sg = t.mem.read_u64(q).unwrap_or(0);
        let mut hops = 0;
        while sg != 0 && hops < limit {
            hops += 1;
            if let Ok(gp) = t.mem.read_u64(sg + s.g) {
                if let Some(g) = c.goroutines.iter().find(|g| g.gp == gp) {
                    out.push(g.id);
                }
            }
            sg = t.mem.read_u64(sg + s.next).unwrap_or(0);
        }
        out
    };
    let elem_type = type_name
        .strip_prefix("chan ")
        .or_else(|| type_name.strip_prefix("<-chan "))
        .or_else(|| type_name.strip_prefix("chan<- "))
        .unwrap_or(type_name)
        .to_string();
    Some(ChannelInfo {
        addr: a,
        len: t.mem.read_u64(a + h.qcount).ok()?,
        cap: t.mem.read_u64(a + h.dataqsiz).ok()?,
        closed: t.mem.read_u32(a + h.closed).ok()? != 0,
        elem_type,
        senders: queue(a + h.sendq),
        receivers: queue(a + h.recvq),
    })
}

/// A frame variable's type and place (after `&x` indirection).
pub(crate) struct Located {
    name: String,
    ty: Option<gosleuth_gobin::TypeId>,
    place: Result<Place, String>,
    flags: VarFlags,
    decl_line: i64,
    location_expr: String,
}

fn locate_scope_var<M: Memory>(
    c: &Capture<M>,
    l: &Loader<'_, M>,
    f: &FrameCtx,
    sv: &ScopeVar,
) -> Located {
    let mut fl = VarFlags::default();
    if sv.is_param {
        if sv.is_return {
            fl.return_argument = true;
        } else {
            fl.argument = true;
        }
    }
    let (mut name, mut ty) = (sv.name.clone(), sv.ty);
    let placed = var_place(c, f, sv);
    let location_expr = placed.as_ref().map(|p| p.1.clone()).unwrap_or_default();
    let mut place = placed.map(|p| p.0);
    // `&x`: a variable moved to the heap; the frame holds its address.
    if let Some(rest) = sv.name.strip_prefix('&') {
        name = rest.to_string();
        fl.escaped = true;
        ty = ty.and_then(|t| l.types.raw(t)).and_then(|p| p.target);
        place = place.and_then(|p| match l.word(&p) {
            Ok(0) => Err(format!("no address for escaped variable {name}")),
            Ok(a) => Ok(Place::Mem(a)),
            Err(e) => Err(e),
        });
    }
    Located {
        name,
        ty,
        place,
        flags: fl,
        decl_line: sv.decl_line.map_or(0, |d| d as i64),
        location_expr,
    }
}

/// Reads one variable of a frame.
fn read_scope_var<M: Memory>(
    c: &Capture<M>,
    l: &Loader<'_, M>,
    f: &FrameCtx,
    sv: &ScopeVar,
) -> Value {
    l.reset_budget();
    let loc = locate_scope_var(c, l, f, sv);
    let Some(ty) = loc.ty else {
        return Value {
            name: loc.name,
            flags: loc.flags,
            decl_line: loc.decl_line,
            unreadable: Some("no type in DWARF".into()),
            ..Value::default()
        };
    };
    let mut v = match loc.place {
        Ok(p) => l.var(&loc.name, ty, p, 0),
        Err(why) => {
            let mut v = Value {
                name: loc.name,
                unreadable: Some(why),
                ..Value::default()
            };
            if let Ok(r) = l.types.resolve(ty) {
                v.type_name = r.name.clone();
                v.real_type = r.real_name.clone();
                v.kind = r.kind;
            }
            v
        }
    };
    v.flags |= loc.flags;
    v.decl_line = loc.decl_line;
    v.location = loc.location_expr;
    v
}

struct Ctx<'a, M> {
    c: &'a Capture<M>,
    f: &'a FrameCtx,
}

impl<M: Memory> LocationContext for Ctx<'_, M> {
    fn cfa(&mut self) -> Option<u64> {
        self.f.cfa
    }
    fn register(&mut self, reg: u16) -> Option<u64> {
        self.f.regs.get(reg as usize).copied().flatten()
    }
    fn memory(&mut self, addr: u64, size: u8) -> Option<u64> {
        let mut b = [0u8; 8];
        let n = usize::from(size).min(8);
        self.c.target.mem.read_at(addr, &mut b[..n]).ok()?;
        Some(self.c.target.mem.endian().uint(&b[..n]))
    }
}

/// Why a register's value is not known in this frame.
fn register_missing(f: &FrameCtx, reg: u16) -> String {
    let name = reg_name(reg);
    if reg >= 17 && f.reg_source != RegSource::None {
        return format!("in register {name}; floating-point registers are not read");
    }
    format!(
        "in register {name}, which is not saved in this frame (Go keeps no registers across \
         calls: only the innermost frame of a running goroutine and a frame interrupted by a \
         signal have theirs)"
    )
}

/// Where a frame variable's bytes are at the frame's pc, and a short
/// description of the location.
fn var_place<M: Memory>(
    c: &Capture<M>,
    f: &FrameCtx,
    sv: &ScopeVar,
) -> Result<(Place, String), String> {
    let d = dwarf_of(c).map_err(|e| e.to_string())?;
    let expr = d
        .location_at(sv, f.link_pc)
        .map_err(|e| format!("cannot read the location of {}: {e}", sv.name))?;
    let Some(expr) = expr else {
        return Err(if Dwarf::has_location_list(sv) {
            format!(
                "optimized away: the compiler recorded no location for {} at pc {:#x}",
                sv.name, f.link_pc
            )
        } else {
            "optimized away: the compiler recorded no location".to_string()
        });
    };
    let mut ctx = Ctx { c, f };
    let pieces = d.eval_location(&expr, &mut ctx).map_err(|e| match e {
        LocationError::Register(r) => register_missing(f, r),
        LocationError::Memory(a) => {
            format!("location expression reads unreadable memory at {a:#x}")
        }
        LocationError::Cfa => format!("frame address of {} unknown", f.function),
        other => format!("location expression not understood: {other:?}"),
    })?;
    if let [p] = pieces.as_slice() {
        if p.size.is_none() {
            return match &p.location {
                PieceLocation::Address(a) => Ok((Place::Mem(*a), format!("stack {a:#x}"))),
                PieceLocation::Register(r) => match ctx.register(*r) {
                    Some(v) => Ok((
                        Place::Local(v.to_le_bytes().to_vec().into(), 0),
                        format!("register {}", reg_name(*r)),
                    )),
                    None => Err(register_missing(f, *r)),
                },
                PieceLocation::Value(v) => Ok((
                    Place::Local(v.to_le_bytes().to_vec().into(), 0),
                    "constant".into(),
                )),
                PieceLocation::Bytes(b) => {
                    Ok((Place::Local(b.clone().into(), 0), "constant".into()))
                }
                PieceLocation::Empty => Err(format!(
                    "optimized away: the compiler recorded no location for {} at pc {:#x}",
                    sv.name, f.link_pc
                )),
                _ => Err("unsupported location".into()),
            };
        }
    }
    // Pieces: assemble the value's bytes.
    let mut bytes = Vec::new();
    let mut descr = Vec::new();
    for p in &pieces {
        let size = p.size.unwrap_or(8).min(64) as usize;
        match &p.location {
            PieceLocation::Address(a) => {
                let mut b = vec![0u8; size];
                c.target
                    .mem
                    .read_at(*a, &mut b)
                    .map_err(|e| format!("could not read {size} bytes at {a:#x}: {e}"))?;
                bytes.extend_from_slice(&b);
                descr.push(format!("{a:#x}"));
            }
            PieceLocation::Register(r) => {
                let v = ctx
                    .register(*r)
                    .ok_or_else(|| format!("part of the value is {}", register_missing(f, *r)))?;
                let le = v.to_le_bytes();
                bytes.extend(le.iter().chain(std::iter::repeat(&0)).take(size));
                descr.push(reg_name(*r));
            }
            PieceLocation::Value(v) => {
                let le = v.to_le_bytes();
                bytes.extend(le.iter().chain(std::iter::repeat(&0)).take(size));
                descr.push("constant".into());
            }
            PieceLocation::Bytes(b) => {
                bytes.extend(b.iter().chain(std::iter::repeat(&0)).take(size));
                descr.push("constant".into());
            }
            PieceLocation::Empty => {
                return Err(format!(
                    "optimized away: part of {} has no location at pc {:#x}",
                    sv.name, f.link_pc
                ));
            }
            _ => return Err("unsupported location".into()),
        }
    }
    Ok((
        Place::Local(bytes.into(), 0),
        format!("pieces [{}]", descr.join(", ")),
    ))
}

/// Most struct fields compared per variable in [`var_holding`].
const MAX_HOLDING_FIELDS: usize = 256;

/// The variable of physical frame `k` of goroutine `gi` (of the function
/// or of a call inlined into it) that holds the channel `hchan` at the
/// frame's pc, from DWARF: a channel variable whose value is `hchan`
/// (`ch`), or a channel field of a struct variable or of the struct a
/// pointer variable points at (`m.inChannel`); with whether one of these
/// functions also has a variable of the channel's element type (where a
/// receive puts the value: `for v := range ch`, `v := <-ch`, `case v :=
/// <-ch`). A function that holds the channel and receives from other
/// channels has no such variable, unless it uses the type otherwise.
///
/// `None` when no variable with a location there holds it: the stack word
/// that pointed at the channel was a spill slot, a dead variable or a
/// stale copy.
pub(crate) fn var_holding<M: Memory>(
    c: &Capture<M>,
    gi: usize,
    k: usize,
    hchan: u64,
) -> Option<(String, bool)> {
    let d = dwarf_of(c).ok()?;
    let l = Loader::new(&c.target, Types::new(d), &LoadConfig::default());
    let frames = frame::physical_frame_ctxs(c, gi, k);
    // Type names of every variable of these functions, read on first use.
    let mut var_types: Option<Vec<String>> = None;
    let mut first: Option<(String, bool)> = None;
    for f in &frames {
        let Ok(vars) = frame::visible_vars(c, f) else {
            continue;
        };
        for sv in &vars {
            let loc = locate_scope_var(c, &l, f, sv);
            let (Some(ty), Ok(place)) = (loc.ty, loc.place) else {
                continue;
            };
            let Ok(r) = l.types.resolve(ty) else {
                continue;
            };
            let found = match &r.shape {
                types::Shape::Chan { elem, .. } => {
                    (l.word(&place).ok() == Some(hchan)).then(|| (String::new(), *elem))
                }
                types::Shape::Struct => chan_field_holding(&l, &r.real, &place, hchan),
                types::Shape::Pointer { target } => match l.word(&place) {
                    Ok(p) if p != 0 => l
                        .types
                        .resolve(*target)
                        .ok()
                        .filter(|t| t.shape == types::Shape::Struct)
                        .and_then(|t| chan_field_holding(&l, &t.real, &Place::Mem(p), hchan)),
                    _ => None,
                },
                _ => None,
            };
            let Some((field, elem)) = found else {
                continue;
            };
            let name = format!("{}{field}", loc.name);
            let Some(elem) = elem.and_then(|e| l.types.resolve(e).ok()) else {
                first.get_or_insert((name, false));
                continue;
            };
            let types = var_types.get_or_insert_with(|| {
                let mut names: Vec<&str> = frames.iter().map(|f| f.function.as_str()).collect();
                names.dedup();
                names
                    .iter()
                    .filter_map(|n| d.function_vars(n).ok().flatten())
                    .flatten()
                    .filter_map(|v| v.type_name)
                    .collect()
            });
            if types.iter().any(|t| *t == elem.name) {
                return Some((name, true));
            }
            first.get_or_insert((name, false));
        }
    }
    first
}

/// `.field` of the channel field of the struct at `place` that holds
/// `hchan`, with the channel's element type.
fn chan_field_holding<M: Memory>(
    l: &Loader<'_, M>,
    st: &gosleuth_gobin::GoType,
    place: &Place,
    hchan: u64,
) -> Option<(String, Option<gosleuth_gobin::TypeId>)> {
    st.fields.iter().take(MAX_HOLDING_FIELDS).find_map(|fl| {
        let t = l.types.resolve(fl.ty?).ok()?;
        let types::Shape::Chan { elem, .. } = t.shape else {
            return None;
        };
        (l.word(&place.at(fl.offset)).ok() == Some(hchan)).then(|| (format!(".{}", fl.name), elem))
    })
}
