//! Variables as `dlv` prints them: the runtime's printer
//! ([`gosleuth_runtime::values::format`]), one line for `locals`, `args`
//! and `stack -full`, several for `print` when the value is nested.

pub use gosleuth_runtime::values::format::{multi_line, single_line};

/// `reflect.Kind` numbers: the runtime's, so the two never disagree.
pub(crate) mod kind {
    pub use gosleuth_runtime::values::kind::*;
}
