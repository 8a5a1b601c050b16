//! Execution traces: any bytes after a valid header (of each version), read
//! event by event and summarised, give events or a clear error; never a
//! panic, and memory stays within the reader's caps.
#![no_main]

use gosleuth_trace::{RawEvent, WireReader, summarize};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&v, rest)) = data.split_first() else {
        return;
    };
    let version = [21u8, 22, 23, 25, 26, 99][usize::from(v % 6)];
    let mut trace = format!("go 1.{version} trace\0\0\0").into_bytes();
    trace.extend_from_slice(rest);
    if let Ok(mut r) = WireReader::new(&trace[..]) {
        let mut ev = RawEvent::default();
        while let Ok(true) = r.next_into(&mut ev) {
            let _ = ev.to_wire_text();
        }
    }
    let _ = summarize(&trace[..]);
    let _ = summarize(rest);
});
