//! `gosleuth logs` end to end: what it says about arguments it cannot read.

use crate::gosleuth;

/// A directory is an error (exit 2) that says what to pass instead, not a
/// warning over an empty report.
#[test]
fn a_directory_is_an_error_that_suggests_a_glob() {
    let dir = std::env::temp_dir().join(format!("gosleuth-logs-dir-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("app.log"), "2026/11/21 10:00:00 ERROR x\n").unwrap();
    let d = dir.to_string_lossy().into_owned();
    let o = gosleuth(&["logs", &d]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    assert!(err.contains("is a directory"), "{err}");
    assert!(err.contains(&format!("'{d}/*.log'")), "{err}");
    assert!(o.stdout.is_empty(), "{o:?}");
    // The suggested glob works.
    let o = gosleuth(&["logs", &format!("{d}/*.log")]);
    assert!(o.status.success(), "{o:?}");
    std::fs::remove_dir_all(&dir).ok();
}
