//! Values of Go variables read from DWARF and memory: a frame's locals
//! and arguments, package variables, and expressions (`print EXPR`), in
//! Delve's `api.Variable` shape.
//!
//! (Interface fixed first; the reader is being filled in.)

use gosleuth_memory::Memory;
use serde::Serialize;

use crate::capture::Capture;

/// Delve's `reflect.Kind` numbering, as `api.Variable.kind` carries it.
pub type Kind = u32;

/// Delve's `api.Variable`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Variable {
    pub name: String,
    pub addr: u64,
    #[serde(rename = "onlyAddr")]
    pub only_addr: bool,
    /// Go type name (`*main.MyError`, `error`, `[]int`).
    #[serde(rename = "type")]
    pub type_name: String,
    /// The dynamic type for interfaces, else the same as `type`.
    #[serde(rename = "realType")]
    pub real_type: String,
    pub flags: u32,
    pub kind: Kind,
    /// Scalars, strings (possibly cut), function names; empty otherwise.
    pub value: String,
    pub len: i64,
    pub cap: i64,
    pub children: Vec<Variable>,
    /// Address of the underlying data (strings, slices, maps, channels).
    pub base: u64,
    /// Why the value cannot be read, when it cannot.
    pub unreadable: String,
    #[serde(rename = "LocationExpr")]
    pub location_expr: String,
    #[serde(rename = "DeclLine")]
    pub decl_line: i64,
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

/// Errors of evaluation, as text for the user.
pub type EvalError = String;

/// The local variables of a frame (not arguments).
pub fn locals<M: Memory>(
    _c: &Capture<M>,
    _scope: Scope,
    _cfg: &LoadConfig,
) -> Result<Vec<Variable>, EvalError> {
    Err("reading variables is not implemented yet".into())
}

/// The arguments of a frame's function.
pub fn args<M: Memory>(
    _c: &Capture<M>,
    _scope: Scope,
    _cfg: &LoadConfig,
) -> Result<Vec<Variable>, EvalError> {
    Err("reading variables is not implemented yet".into())
}

/// Evaluates `expr` (names, fields `a.b`, index `a[i]`, deref `*p`,
/// `len(x)`, `cap(x)`, package variables `pkg.V`) in a frame.
pub fn eval<M: Memory>(
    _c: &Capture<M>,
    _scope: Scope,
    _expr: &str,
    _cfg: &LoadConfig,
) -> Result<Variable, EvalError> {
    Err("evaluating expressions is not implemented yet".into())
}

/// Package variables whose name matches `filter` (a regular expression).
pub fn package_vars<M: Memory>(
    _c: &Capture<M>,
    _filter: &str,
    _cfg: &LoadConfig,
) -> Result<Vec<Variable>, EvalError> {
    Err("reading variables is not implemented yet".into())
}
