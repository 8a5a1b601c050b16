//! Placeholder, generated below.
pub(crate) fn for_minor(_minor: u32) -> &'static [&'static str] {
    &[]
}
