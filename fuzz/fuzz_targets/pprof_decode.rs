//! Fuzz the pprof decoder: any bytes (gzipped or not, proto or legacy text)
//! must give a profile or an error, never a panic. Decoded profiles must
//! re-encode and decode to the same profile, and reports must not panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(p) = gosleuth_pprof::parse(data) else { return };
    let again = gosleuth_pprof::proto::encode(&p);
    let q = gosleuth_pprof::parse(&again).expect("re-encoded profile must decode");
    assert_eq!(p, q, "encode/decode round trip changed the profile");
    if p.samples.len() < 2000 {
        for format in [gosleuth_pprof::report::Format::Top, gosleuth_pprof::report::Format::Traces] {
            let cfg = gosleuth_pprof::report::Config { format, ..Default::default() };
            if let Ok(mut r) = gosleuth_pprof::report::prepare(p.clone(), &cfg) {
                let _ = gosleuth_pprof::output::generate(&mut r);
            }
        }
    }
});
