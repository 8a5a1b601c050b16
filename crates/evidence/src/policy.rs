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

/// From this many goroutines on, a core or a live process is diagnosed
/// from counted records: goroutines with identical stacks, state, creation
/// site, start, labels and waits become one record with a `count`, as in a
/// `debug=1` goroutine profile (`Capture::compact_snapshot` in
/// `gosleuth-runtime`). Below it every goroutine is its own record, so the
/// ids that findings list are the goroutines' own; from it on they are the
/// records' (the first goroutine of each).
///
/// Why this number: below it, one record per goroutine is cheap (the
/// seed-004 core's 12,210 goroutines are diagnosed in 5 ms) and exact ids
/// are worth keeping; a million parked goroutines would be a million
/// records with their frames as strings, while counting them costs about
/// 95 ms of the 1.3 s diagnosis (BENCHMARKS.md, "diagnose: what the wait
/// graph costs"). 100,000 is a round bound between those two measured
/// points, not a measured knee.
pub const AGGREGATE_FROM: usize = 100_000;

/// Whether `goroutines` goroutines read from memory are diagnosed as
/// counted records (see [`AGGREGATE_FROM`]).
pub fn aggregate_goroutines(goroutines: usize) -> bool {
    goroutines >= AGGREGATE_FROM
}
