//! Any bytes as a JSON-RPC stream from a client: the request splitter
//! never panics, never produces a value past its size bound, and consumes
//! the input whatever chunking it arrives in.
#![no_main]

use gosleuth_dlvrpc::framing::{Item, Splitter};
use libfuzzer_sys::fuzz_target;

const LIMIT: usize = 4096;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the chunk size the bytes arrive in.
    let Some((&chunk, rest)) = data.split_first() else { return };
    let chunk = usize::from(chunk).max(1);
    let mut s = Splitter::new(LIMIT);
    for piece in rest.chunks(chunk) {
        s.push(piece);
        while let Some(item) = s.next_item() {
            match item {
                Item::Value(v) => {
                    assert!(v.len() <= LIMIT);
                    let _ = serde_json::from_slice::<serde_json::Value>(&v);
                }
                Item::Garbage { .. } => {}
                Item::TooLarge { .. } => return,
            }
        }
    }
    let _ = s.is_idle();
});
