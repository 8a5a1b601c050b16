//! Variables as `dlv` prints them ([`crate::api::format`]): one line for
//! `locals`, `args` and `stack -full`, several for `print` when the value
//! is nested.

pub use crate::api::format::{multi_line, single_line};

/// `reflect.Kind` numbers of `api.Variable`.
pub(crate) mod kind {
    pub use crate::api::variable::kind::*;
}
