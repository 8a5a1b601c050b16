//! A small committed core, offline: the factory's `crash` binary and its
//! `GOTRACEBACK=crash` core from Go 1.26.8, gzipped in `tests/cores`
//! (README there). What `core` and `diagnose` print for them is a snapshot
//! (`tests/snapshots/cores`), as for the text fixtures (`fixtures.rs`).

use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;

/// Unpacks `tests/cores/<rel>.gz` under the target directory (once per
/// test process; a file already unpacked there is rewritten).
fn unpack(rel: &str) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/cores")
        .join(format!("{rel}.gz"));
    let dst = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("cli-cores-{}", std::process::id()))
        .join(rel);
    std::fs::create_dir_all(dst.parent().expect("a parent")).expect("mkdir under the target dir");
    let gz = std::fs::File::open(&src).unwrap_or_else(|e| panic!("{}: {e}", src.display()));
    let mut out = std::fs::File::create(&dst).unwrap_or_else(|e| panic!("{}: {e}", dst.display()));
    std::io::copy(&mut GzDecoder::new(gz), &mut out)
        .unwrap_or_else(|e| panic!("cannot unpack {}: {e}", src.display()));
    dst
}

/// `$ gosleuth ARGS` with the exit status, stdout and stderr; the unpack
/// directory is written `<dir>` and the time `core` took to read is masked.
fn run(args: &[&str], dir: &Path) -> String {
    let o = crate::gosleuth(args);
    let dir = dir.to_string_lossy();
    let status = o
        .status
        .code()
        .map_or("killed".to_string(), |c| c.to_string());
    let mut s = format!("$ gosleuth {}\nexit status: {status}\n", args.join(" "));
    s.push_str(&String::from_utf8_lossy(&o.stdout));
    if !o.stderr.is_empty() {
        s.push_str("--- stderr\n");
        s.push_str(&String::from_utf8_lossy(&o.stderr));
    }
    let s = s.replace(dir.as_ref(), "<dir>");
    // "read in 146 ms" -> "read in <N> ms"
    let mut masked = String::new();
    let mut rest = s.as_str();
    while let Some(i) = rest.find(" read in ") {
        let (head, tail) = rest.split_at(i + " read in ".len());
        masked.push_str(head);
        let digits = tail.len() - tail.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits > 0 && tail[digits..].starts_with(" ms") {
            masked.push_str("<N>");
            rest = &tail[digits..];
        } else {
            rest = tail;
        }
    }
    masked.push_str(rest);
    masked
}

#[test]
fn committed_crash_core() {
    let bin = unpack("go1.26.8/crash");
    let core = unpack("go1.26.8/crash.crash.core");
    let dir = bin.parent().expect("a parent").to_path_buf();
    let (b, c) = (
        bin.to_str().expect("utf-8 path"),
        core.to_str().expect("utf-8 path"),
    );
    let out = [
        run(&["core", b, c], &dir),
        run(&["core", "--format", "json", b, c], &dir),
        run(&["diagnose", b, c], &dir),
        run(&["diagnose", "--format", "json", b, c], &dir),
    ]
    .join("\n");
    let _ = std::fs::remove_dir_all(&dir);
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots/cores");
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.bind(|| insta::assert_snapshot!("go1.26.8-crash.crash.core", out));
}
