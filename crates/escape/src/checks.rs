//! The bounds checks and nil checks the compiler reports when asked
//! (`-gcflags='-d=ssa/check_bce/debug=1 -d=nil=1'`).
//!
//! `-d=ssa/check_bce/debug=1` prints each bounds check left after the
//! prove pass (`x.go:12:9: Found IsInBounds`, `Found IsSliceInBounds`);
//! a check it does not print was eliminated or never needed. `-d=nil=1`
//! prints each nil check the compiler kept as an instruction (`generated
//! nil check`) and each one it removed (`removed nil check`: implied by an
//! earlier check, or by a load or store that faults on nil anyway). Both
//! print the outermost position of inlined code (the call site), and read
//! the same on every release from Go 1.21 to 1.26.

use serde::Serialize;

use crate::Pos;

/// A bounds check the compiler kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BoundsCheck {
    /// Where (the index or slice expression).
    pub pos: Pos,
    /// The compiler's op, as printed: `IsInBounds` (an index `s[i]`) or
    /// `IsSliceInBounds` (a slice expression `s[i:j]`).
    pub op: String,
}

impl BoundsCheck {
    /// `bounds check` (an index) or `slice bounds check`.
    pub fn what(&self) -> &'static str {
        if self.op == "IsSliceInBounds" {
            "slice bounds check"
        } else {
            "bounds check"
        }
    }
}

/// A nil check the compiler kept or removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NilCheck {
    /// Where (the dereference).
    pub pos: Pos,
    /// `true` for `generated nil check` (an instruction tests the
    /// pointer), `false` for `removed nil check`.
    pub kept: bool,
}

/// What one check line says.
#[derive(Debug)]
pub(crate) enum CheckDiag<'a> {
    /// `Found IsInBounds`, `Found IsSliceInBounds`.
    Bounds(&'a str),
    /// `generated nil check` (true), `removed nil check` (false).
    Nil(bool),
}

/// Reads the message of a check line (after `FILE:LINE:COL: `).
pub(crate) fn classify(msg: &str) -> Option<CheckDiag<'_>> {
    if let Some(op) = msg.strip_prefix("Found ") {
        let op = op.trim_end();
        if op.starts_with("Is") && op.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Some(CheckDiag::Bounds(op));
        }
        return None;
    }
    match msg.trim_end() {
        "generated nil check" => Some(CheckDiag::Nil(true)),
        "removed nil check" => Some(CheckDiag::Nil(false)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines() {
        assert!(matches!(
            classify("Found IsInBounds"),
            Some(CheckDiag::Bounds("IsInBounds"))
        ));
        assert!(matches!(
            classify("Found IsSliceInBounds"),
            Some(CheckDiag::Bounds("IsSliceInBounds"))
        ));
        assert!(matches!(
            classify("generated nil check"),
            Some(CheckDiag::Nil(true))
        ));
        assert!(matches!(
            classify("removed nil check"),
            Some(CheckDiag::Nil(false))
        ));
        assert!(classify("Found a bug").is_none());
        assert!(classify("Found Is In").is_none());
        assert!(classify("nil check").is_none());
    }
}
