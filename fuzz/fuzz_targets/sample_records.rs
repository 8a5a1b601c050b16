//! Any bytes as a perf ring buffer's records: never a panic; every record
//! the header bounds is decoded or refused with an error.
#![no_main]

use gosleuth_sample::records::{decode, header};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut at = 0;
    while let Some((_, size)) = data.get(at..).and_then(header) {
        let end = at.saturating_add(size.max(8)).min(data.len());
        let _ = decode(&data[at..end]);
        at = end;
    }
});
