//! How much of large evidence is kept, decided in one place for every
//! command.

/// Plain text inputs up to this size keep every goroutine; larger ones are
/// diagnosed from their groups, so memory follows the number of distinct
/// stacks rather than the input (a 1,000,000-goroutine dump of 900 MB
/// would need about 2.4 GB otherwise).
pub const KEEP_GOROUTINES_LIMIT: u64 = 256 << 20;

/// Whether a text input of `size` bytes (`None`: a stream of unknown
/// size, which the parser's own goroutine budget bounds) keeps every
/// goroutine, for rules that read each one's arguments and findings that
/// list ids.
pub fn keep_every_goroutine(size: Option<u64>) -> bool {
    size.is_none_or(|len| len <= KEEP_GOROUTINES_LIMIT)
}
