//! Any bytes through `gosleuth logs`' scanner: never a panic; feeding the
//! input in chunks gives the same report as feeding it whole; reading it
//! in parallel parts sees the same lines.
#![no_main]

use gosleuth_logs::{Options, Scanner, finish, scan, scan_parallel};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let opts = Options {
        assignments: true,
        ..Options::default()
    };
    let whole = scan(data, &opts);
    assert_eq!(whole.assignments.as_ref().map(Vec::len), Some(whole.lines as usize));
    let split = data.first().map_or(1, |b| usize::from(*b % 13) + 1);
    let mut s = Scanner::new(&opts);
    for chunk in data.chunks(split) {
        s.feed(chunk);
    }
    let chunked = finish(s, &opts);
    assert_eq!(whole.lines, chunked.lines);
    assert_eq!(whole.templates.len(), chunked.templates.len());
    assert_eq!(whole.incidents.len(), chunked.incidents.len());
    let parallel = scan_parallel(data, &opts, 3);
    assert_eq!(whole.lines, parallel.lines);
});
