//! Goroutines read from cores agree with the tracebacks the same process
//! printed (debug=2 dumps taken just before `gcore`, and the runtime's own
//! output of a `GOTRACEBACK=crash` crash), for every Go release.

use gosleuth_testkit as kit;

use crate::support::*;

fn check(go: &str, case: &str, core: &str, text: &str, min_agree: f64) {
    let dir = cores(go, &[case]);
    let bin = bins(go, case).join(case);
    let mut capture = gosleuth_runtime::capture_core(&bin, &dir.join(core), &Default::default())
        .unwrap_or_else(|e| panic!("{go} {core}: {e}"));
    // GOTRACEBACK=crash prints wrapper frames; debug=2 dumps do not.
    capture.show_wrappers = core.contains(".crash.");
    let snap = capture.snapshot();
    let text = text_goroutines(&dir.join(text));
    assert!(!text.is_empty(), "{go} {case}: no goroutines in the text");
    let (compared, bad) = compare(&snap.goroutines, &text);
    // Goroutines blocked when the text was printed must still be there
    // (running ones, like the one serving a debug=2 dump, may be gone).
    let blocked: Vec<u64> = text
        .values()
        .filter(|g| g.id != 0 && !matches!(g.state.as_str(), "running" | "runnable" | "IO wait"))
        .map(|g| g.id)
        .collect();
    let found = blocked
        .iter()
        .filter(|id| snap.goroutines.iter().any(|g| g.id == **id))
        .count();
    assert!(
        found as f64 >= min_agree * blocked.len() as f64,
        "{go} {core}: only {found} of {} blocked goroutines of the text found in memory",
        blocked.len()
    );
    assert!(
        bad.len() * 100 <= compared.max(1),
        "{go} {core}: {} of {compared} goroutines differ from the traceback, e.g.\n{}",
        bad.len(),
        bad.iter().take(5).cloned().collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn gcore_of_the_metrics_deadlock_matches_its_dump() {
    for go in kit::go_versions() {
        check(
            &go,
            "metricsdeadlock",
            "metricsdeadlock.gcore.core",
            "metricsdeadlock.gcore.debug2.txt",
            0.99,
        );
    }
}

#[test]
fn gcore_of_the_lock_order_deadlock_matches_its_dump() {
    for go in kit::go_versions() {
        check(
            &go,
            "lockorder",
            "lockorder.gcore.core",
            "lockorder.gcore.debug2.txt",
            0.9,
        );
    }
}

#[test]
fn crash_cores_match_the_crash_output() {
    for go in kit::go_versions() {
        for case in ["crash", "lockorder", "metricsdeadlock"] {
            let core = format!("{case}.crash.core");
            let text = format!("{case}.crash.txt");
            check(&go, case, &core, &text, 0.9);
        }
    }
}
