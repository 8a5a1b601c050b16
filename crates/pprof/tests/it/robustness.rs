//! Damaged input gives errors, never panics.

use super::goprog_profiles;

#[test]
fn truncated_and_corrupt_real_profiles() {
    let dir = goprog_profiles();
    for k in ["cpu.pb.gz", "heapnew.pb.gz"] {
        let gz = std::fs::read(dir.join(k)).expect("read profile");
        // Truncated gzip: always an error.
        for cut in [10, gz.len() / 2, gz.len() - 5] {
            let e = gosleuth_pprof::parse(&gz[..cut]).expect_err("truncated gzip must fail");
            assert!(
                e.to_string().contains("gzip") || e.to_string().contains("decompress"),
                "{e}"
            );
        }
        // Truncated or bit-flipped protobuf: error or a valid profile, no panic.
        let raw = gosleuth_pprof::proto::maybe_gunzip(&gz)
            .expect("gunzip")
            .into_owned();
        let step = (raw.len() / 300).max(1);
        for cut in (0..raw.len()).step_by(step) {
            let _ = gosleuth_pprof::parse(&raw[..cut]);
            let mut flipped = raw.clone();
            flipped[cut] ^= 0xa5;
            if let Ok(p) = gosleuth_pprof::parse(&flipped) {
                let mut r =
                    gosleuth_pprof::report::prepare(p, &Default::default()).expect("prepare");
                let _ = gosleuth_pprof::report::generate(&mut r);
            }
        }
    }
}

#[test]
fn concatenated_profiles_are_detected() {
    let dir = goprog_profiles();
    let gz = std::fs::read(dir.join("cpu.pb.gz")).expect("read");
    let raw = gosleuth_pprof::proto::maybe_gunzip(&gz)
        .expect("gunzip")
        .into_owned();
    let mut two = raw.clone();
    two.extend_from_slice(&raw);
    let e = gosleuth_pprof::parse(&two).expect_err("concatenated");
    assert!(e.to_string().contains("concatenated"), "{e}");
}

#[test]
fn encode_round_trip_real_profiles() {
    let dir = goprog_profiles();
    for k in [
        "cpu.pb.gz",
        "heapnew.pb.gz",
        "mutex.pb.gz",
        "goroutine.pb.gz",
    ] {
        let p = gosleuth_pprof::parse(&std::fs::read(dir.join(k)).expect("read")).expect("parse");
        let q = gosleuth_pprof::parse(&gosleuth_pprof::proto::encode(&p)).expect("re-parse");
        assert_eq!(p, q, "{k}");
    }
}
