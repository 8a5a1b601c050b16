//! Any bytes through the triage parser: never a panic, and feeding the same
//! input in chunks gives the same result as feeding it whole.
#![no_main]

use gosleuth_text::{Options, Parser, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let whole = parse(data, Options::default());
    let split = data.first().map_or(1, |b| usize::from(*b % 13) + 1);
    let mut p = Parser::new(Options {
        keep_goroutines: true,
        ..Options::default()
    });
    for chunk in data.chunks(split) {
        p.feed(chunk);
    }
    let chunked = p.finish();
    assert_eq!(whole.incidents.len(), chunked.incidents.len());
    assert_eq!(whole.races, chunked.races);
});
