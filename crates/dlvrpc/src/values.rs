//! The runtime's value reading ([`gosleuth_runtime::values`]) in Delve's
//! shape: the same requests (`locals`, `args`, `print EXPR`, package
//! variables), answered as `api.Variable`s, and Delve's printer.

use gosleuth_memory::Memory;
use gosleuth_runtime::Capture;
use gosleuth_runtime::values as rt;

pub use crate::api::format::{format, multi_line, single_line};
pub use crate::api::variable::{Kind, Variable, flags, kind};
pub use gosleuth_runtime::values::{ChannelInfo, EvalError, LoadConfig, Scope};

fn all(vs: Vec<rt::Value>) -> Vec<Variable> {
    vs.into_iter().map(Variable::from).collect()
}

/// The local variables of a frame (not arguments).
pub fn locals<M: Memory>(
    c: &Capture<M>,
    scope: Scope,
    cfg: &LoadConfig,
) -> Result<Vec<Variable>, EvalError> {
    rt::locals(c, scope, cfg).map(all)
}

/// The arguments of a frame's function.
pub fn args<M: Memory>(
    c: &Capture<M>,
    scope: Scope,
    cfg: &LoadConfig,
) -> Result<Vec<Variable>, EvalError> {
    rt::args(c, scope, cfg).map(all)
}

/// `print EXPR` in a frame.
pub fn eval<M: Memory>(
    c: &Capture<M>,
    scope: Scope,
    expr: &str,
    cfg: &LoadConfig,
) -> Result<Variable, EvalError> {
    rt::eval(c, scope, expr, cfg).map(Variable::from)
}

/// Package variables whose name matches `filter` (a regular expression).
pub fn package_vars<M: Memory>(
    c: &Capture<M>,
    filter: &str,
    cfg: &LoadConfig,
) -> Result<Vec<Variable>, EvalError> {
    rt::package_vars(c, filter, cfg).map(all)
}

/// A channel variable's state and the goroutines queued on it; `None`
/// for other values and nil channels.
pub fn channel_info<M: Memory>(c: &Capture<M>, v: &Variable) -> Option<ChannelInfo> {
    if v.kind != kind::CHAN || !v.unreadable.is_empty() {
        return None;
    }
    rt::channel_info_at(c, v.base, &v.type_name)
}
