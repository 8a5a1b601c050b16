//! What a change made escape: two reports compared by function and
//! expression.

use std::collections::HashMap;

use serde::Serialize;

use crate::{Escape, EscapeKind, Report};

/// An escape of one side, with its function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// The package.
    pub package: String,
    /// The function.
    pub function: String,
    /// The escape.
    #[serde(flatten)]
    pub escape: Escape,
}

/// Escapes only the new report has, and those only the old one had.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Diff {
    /// In the new output and not in the old.
    pub new: Vec<Entry>,
    /// In the old output and not in the new.
    pub gone: Vec<Entry>,
}

type Key<'a> = (&'a str, &'a str, EscapeKind, &'a str);

fn entries(r: &Report) -> Vec<(Key<'_>, Entry)> {
    r.escapes()
        .map(|(f, e)| {
            (
                (f.package.as_str(), f.name.as_str(), e.kind, e.expr.as_str()),
                Entry {
                    package: f.package.clone(),
                    function: f.name.clone(),
                    escape: e.clone(),
                },
            )
        })
        .collect()
}

/// Compares escapes by (package, function, kind, expression), not by
/// position, so code moving up or down does not show; the same expression
/// escaping twice in a function counts twice.
pub fn diff(old: &Report, new: &Report) -> Diff {
    let olds = entries(old);
    let news = entries(new);
    let mut count: HashMap<Key<'_>, isize> = HashMap::new();
    for (k, _) in &olds {
        *count.entry(*k).or_default() += 1;
    }
    let mut out = Diff::default();
    for (k, e) in news {
        let c = count.entry(k).or_default();
        if *c > 0 {
            *c -= 1;
        } else {
            out.new.push(e);
        }
    }
    let mut left: HashMap<Key<'_>, isize> = HashMap::new();
    for (k, _) in entries(new) {
        *left.entry(k).or_default() += 1;
    }
    for (k, e) in olds {
        let c = left.entry(k).or_default();
        if *c > 0 {
            *c -= 1;
        } else {
            out.gone.push(e);
        }
    }
    out
}
