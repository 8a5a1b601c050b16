//! Damaged input gives errors, never panics.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use gosleuth_pprof::Error;
use gosleuth_pprof::proto::Limits;

use super::committed_profiles;

#[test]
fn truncated_and_corrupt_real_profiles() {
    let dir = committed_profiles();
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
                let _ = gosleuth_pprof::output::generate(&mut r);
            }
        }
    }
}

#[test]
fn concatenated_profiles_are_detected() {
    let dir = committed_profiles();
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
    let dir = committed_profiles();
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

// ------------------------------------------------- size limits (issue #14)

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).expect("gzip");
    e.finish().expect("gzip")
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// A length-delimited field `tag` holding `body`.
fn field(out: &mut Vec<u8>, tag: u64, body: &[u8]) {
    varint(out, tag << 3 | 2);
    varint(out, body.len() as u64);
    out.extend_from_slice(body);
}

fn tmp(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name)
}

/// `head` then `len` zero bytes, gzipped as `gzip -1` would, written once
/// to `path`.
fn zeros_gz(path: &Path, head: &[u8], len: usize) {
    if path.exists() {
        return;
    }
    let part = path.with_extension("part");
    let f = std::fs::File::create(&part).expect("create");
    let mut e = flate2::write::GzEncoder::new(f, flate2::Compression::fast());
    e.write_all(head).expect("write");
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..len / chunk.len() {
        e.write_all(&chunk).expect("write");
    }
    e.finish().expect("finish");
    std::fs::rename(&part, path).expect("rename");
}

/// Runs the ignored test `child` of this binary in a process whose address
/// space is capped at `cap` bytes (RLIMIT_AS), with `env` set; returns its
/// stdout, failing when the child fails (an allocation over the cap aborts).
fn run_capped(child: &str, cap: u64, env: &[(&str, &str)]) -> String {
    use std::os::unix::process::CommandExt as _;
    let mut cmd = std::process::Command::new(std::env::current_exe().expect("test binary"));
    cmd.args([
        child,
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    // A backtrace would be symbolized under the cap, and may not finish.
    .env("RUST_BACKTRACE", "0");
    for (k, v) in env {
        cmd.env(k, v);
    }
    // SAFETY: setrlimit is async-signal-safe; nothing else runs between
    // fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let lim = libc::rlimit {
                rlim_cur: cap,
                rlim_max: cap,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let t = std::time::Instant::now();
    let out = cmd.output().expect("run the capped child");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{child} under a {} MiB address-space cap failed ({:?} after {:?}):\n{stdout}\n{}",
        cap >> 20,
        out.status,
        t.elapsed(),
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The child of the capped tests below: parses the file named by
/// GOSLEUTH_PPROF_CAPPED_INPUT both ways (file, bytes) and checks that the
/// error is the one GOSLEUTH_PPROF_CAPPED_WANT names, found early.
#[test]
#[ignore = "run under a memory cap by the tests below"]
fn capped_child() {
    let Some(path) = std::env::var_os("GOSLEUTH_PPROF_CAPPED_INPUT") else {
        return;
    };
    let want = std::env::var("GOSLEUTH_PPROF_CAPPED_WANT").unwrap_or_default();
    let path = PathBuf::from(path);
    let from_file = gosleuth_pprof::parse_file(&path).expect_err("not a profile");
    let gz = std::fs::read(&path).expect("read the compressed file");
    let from_bytes = gosleuth_pprof::parse(&gz).expect_err("not a profile");
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    for l in status
        .lines()
        .filter(|l| l.starts_with("VmPeak") || l.starts_with("VmHWM"))
    {
        println!("{l}");
    }
    for e in [from_file, from_bytes] {
        let msg = e.to_string();
        println!("error: {msg}");
        match want.as_str() {
            "field zero" => assert!(
                matches!(e, Error::Proto { offset: 0, .. }),
                "rejected at byte 0 for its field number 0, not after inflating it all: {msg}"
            ),
            "legacy line 2" => assert!(
                matches!(e, Error::Legacy { line: 2, .. }),
                "rejected at its second line, not after inflating it all: {msg}"
            ),
            w => panic!("unknown GOSLEUTH_PPROF_CAPPED_WANT {w:?}"),
        }
    }
}

/// 200 MB of zeros, gzipped (what `head -c 200M /dev/zero | gzip -1` makes:
/// 200 KB on disk): not a profile, and the reader knows at the first byte
/// (protobuf has no field number 0). It must say so without inflating the
/// rest, under an address-space cap far below the inflated size (the
/// reader used to inflate it all, twice, for the legacy-text fallback).
#[test]
fn a_gzipped_zero_stream_is_rejected_at_once_in_little_memory() {
    let path = tmp("zeros-200M.gz");
    zeros_gz(&path, b"", 200 << 20);
    let out = run_capped(
        "robustness::capped_child",
        192 << 20,
        &[
            ("GOSLEUTH_PPROF_CAPPED_INPUT", path.to_str().expect("utf-8")),
            ("GOSLEUTH_PPROF_CAPPED_WANT", "field zero"),
        ],
    );
    assert!(out.contains("field number 0"), "{out}");
}

/// The same zeros behind a legacy heap profile's header line: the text is
/// read a line at a time, and the second line is no profile's (nor a line
/// of sane length), so it stops there, in the same little memory.
#[test]
fn a_legacy_header_over_a_zero_stream_stops_at_its_second_line() {
    let path = tmp("heap-header-zeros-200M.gz");
    zeros_gz(
        &path,
        b"heap profile: 1: 2 [3: 4] @ heap/1048576\n",
        200 << 20,
    );
    let out = run_capped(
        "robustness::capped_child",
        192 << 20,
        &[
            ("GOSLEUTH_PPROF_CAPPED_INPUT", path.to_str().expect("utf-8")),
            ("GOSLEUTH_PPROF_CAPPED_WANT", "legacy line 2"),
        ],
    );
    assert!(out.contains("line 2"), "{out}");
}

/// Field 16 (unknown to profile.proto, so skipped) with value 0, repeated:
/// well-formed protobuf of any length that holds nothing.
fn unknown_fields(len: usize) -> Vec<u8> {
    [0x80u8, 0x01, 0x00].repeat(len / 3)
}

#[test]
fn the_decompressed_size_limit_stops_reading_with_a_clear_error() {
    let small = Limits {
        max_decompressed: 1 << 20,
    };
    let raw = unknown_fields(3 << 20);
    let gz = gzip(&raw);
    let gz_path = tmp("unknown-3M.pb.gz");
    std::fs::write(&gz_path, &gz).expect("write");
    let raw_path = tmp("unknown-3M.pb");
    std::fs::write(&raw_path, &raw).expect("write");
    let heap = {
        let mut t = b"heap profile: 1: 2 [3: 4] @ heap/1048576\n".to_vec();
        t.extend(b"1: 2 [3: 4] @ 0x1\n".repeat(100_000));
        t
    };
    let cases: Vec<(&str, gosleuth_pprof::Result<gosleuth_pprof::Profile>)> = vec![
        ("gzip bytes", gosleuth_pprof::parse_with(&gz, small)),
        (
            "gzip file",
            gosleuth_pprof::parse_file_with(&gz_path, small),
        ),
        ("plain bytes", gosleuth_pprof::parse_with(&raw, small)),
        (
            "plain file",
            gosleuth_pprof::parse_file_with(&raw_path, small),
        ),
        (
            "gzipped legacy text",
            gosleuth_pprof::parse_with(&gzip(&heap), small),
        ),
    ];
    for (what, r) in cases {
        let e = r.expect_err(what);
        let msg = e.to_string();
        assert!(
            matches!(e, Error::TooLarge { limit } if limit == 1 << 20),
            "{what}: {msg}"
        );
        assert!(
            msg.contains("1MiB"),
            "{what}: the message names the limit: {msg}"
        );
        assert!(
            msg.contains("--max-decompressed"),
            "{what}: the message says how to raise it: {msg}"
        );
    }
    // Under a higher limit the same input is read to its end, and the
    // error is what it lacks.
    let big = Limits {
        max_decompressed: 4 << 20,
    };
    let e = gosleuth_pprof::parse_with(&gz, big).expect_err("no string table");
    assert!(e.to_string().contains("string table is missing"), "{e}");
    gosleuth_pprof::parse_with(&gzip(&heap), big).expect("the legacy text profile reads");
}

/// One 1 MiB string named by 4,000 functions: 4 GB once every reference is
/// a copy, from a 1 MiB input. The copies count against the limit.
#[test]
fn strings_copied_per_reference_are_held_to_the_limit() {
    let mut p = Vec::new();
    field(&mut p, 6, b"");
    field(&mut p, 6, &vec![b'x'; 1 << 20]);
    for id in 1..=4000u64 {
        let mut f = Vec::new();
        varint(&mut f, 1 << 3);
        varint(&mut f, id);
        varint(&mut f, 2 << 3);
        varint(&mut f, 1);
        field(&mut p, 5, &f);
    }
    let limits = Limits {
        max_decompressed: 64 << 20,
    };
    let e = gosleuth_pprof::parse_with(&gzip(&p), limits).expect_err("over the limit");
    let msg = e.to_string();
    assert!(matches!(e, Error::StringsTooLarge { .. }), "{msg}");
    assert!(
        msg.contains("64MiB") && msg.contains("--max-decompressed"),
        "{msg}"
    );
}

#[test]
fn gzipped_legacy_text_is_still_read_and_garbage_is_not_inflated_for_it() {
    let dir = committed_profiles();
    let text = std::fs::read(dir.join("heap.txt")).expect("heap.txt");
    let want = gosleuth_pprof::parse(&text).expect("plain legacy text parses");
    let gz = gzip(&text);
    assert_eq!(gosleuth_pprof::parse(&gz).expect("gzipped"), want);
    let path = tmp("heap.txt.gz");
    std::fs::write(&path, &gz).expect("write");
    assert_eq!(
        gosleuth_pprof::parse_file(&path).expect("gzipped file"),
        want
    );
    // Blank lines first still count as legacy text.
    let mut padded = b"\n\n  \n".to_vec();
    padded.extend_from_slice(&text);
    assert_eq!(gosleuth_pprof::parse(&gzip(&padded)).expect("padded"), want);

    use gosleuth_pprof::legacy::may_start;
    for (head, whole, want) in [
        (&b"heap profile: 1: 2"[..], true, true),
        (b"goroutine profile: total 4\n", true, true),
        (b"\n \r\n--- mutex:\ncycles/second=1\n", true, true),
        (b"--- contention:", true, true),
        (b"goroutine prof", false, true),
        (b"heap pro", false, true),
        (b"   \n \n", false, true),
        (b"   \n \n", true, false),
        (b"go routine profile: total 4\n", true, false),
        (b"goroutine prof", true, false),
        (b"\x00\x00\x00", false, false),
        (b"hello world\n", false, false),
        (b"\xff\xfe", false, false),
        // A name is printable and not endless: a run of NULs is no name.
        (&[b'a'; 2000][..], false, false),
        (b"threadcreate", false, true),
    ] {
        assert_eq!(
            may_start(head, whole),
            want,
            "{:?} whole={whole}",
            String::from_utf8_lossy(head)
        );
    }
}

#[test]
fn field_number_zero_is_rejected_where_it_appears() {
    // At the top level, and inside a sample.
    let e = gosleuth_pprof::proto::decode(&[0, 0, 0, 0]).expect_err("zeros");
    assert!(matches!(e, Error::Proto { offset: 0, .. }), "{e}");
    let mut p = Vec::new();
    field(&mut p, 6, b"");
    field(&mut p, 2, &[0x00, 0x01]);
    let e = gosleuth_pprof::proto::decode(&p).expect_err("field 0 in a sample");
    assert!(e.to_string().contains("field number 0"), "{e}");
}
