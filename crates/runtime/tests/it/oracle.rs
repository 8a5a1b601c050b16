//! Goroutines read from cores agree with the tracebacks the same process
//! printed (debug=2 dumps taken just before `gcore`, and the runtime's own
//! output of a `GOTRACEBACK=crash` crash), for every Go release.

use gosleuth_testkit as kit;

use crate::support::*;

fn check(go: &str, case: &str, core: &str, text: &str, min_agree: f64) {
    let dir = cores(go, &[case]);
    let bin = bin(go, case);
    let mut capture = gosleuth_runtime::capture_core(&bin, &dir.join(core), &Default::default())
        .unwrap_or_else(|e| panic!("{go} {core}: {e}"));
    // GOTRACEBACK=crash prints wrapper frames; debug=2 dumps do not.
    capture.show_wrappers(core.contains(".crash."));
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

/// dlv's `goroutines` listing of the same core: every goroutine dlv shows
/// with a state is ours with the same state, and the function dlv names as
/// its user location is on our stack.
#[test]
fn goroutines_agree_with_dlv() {
    let dlv = kit::dlv_path();
    let mut versions = 0;
    for go in kit::go_versions() {
        for case in ["lockorder", "metricsdeadlock"] {
            let dir = cores(&go, &[case]);
            let bin = bin(&go, case);
            let core = dir.join(format!("{case}.gcore.core"));
            let mut capture = gosleuth_runtime::capture_core(&bin, &core, &Default::default())
                .unwrap_or_else(|e| panic!("{go} {case}: {e}"));
            // dlv shows wrapper frames (and names a wrapper holding an
            // inlined call as the user frame).
            capture.show_wrappers(true);
            let snap = capture.snapshot();
            let Some(listed) = dlv_goroutines(&dlv, &bin, &core) else {
                // This dlv does not support the release (it says so).
                continue;
            };
            assert!(!listed.is_empty(), "{go} {case}: dlv listed nothing");
            versions += 1;
            let mut checked = 0;
            for (id, func, state) in &listed {
                let Some(state) = state else { continue }; // dead goroutines
                let g = snap
                    .goroutines
                    .iter()
                    .find(|g| g.id == *id)
                    .unwrap_or_else(|| panic!("{go} {case}: goroutine {id} (dlv) missing"));
                assert_eq!(&g.state, state, "{go} {case}: goroutine {id}");
                assert!(
                    g.frames.iter().any(|f| f.function == *func),
                    "{go} {case}: goroutine {id}: dlv's user frame {func} is not on our stack {:?}",
                    g.frames.iter().map(|f| &f.function).collect::<Vec<_>>()
                );
                checked += 1;
            }
            let live = listed.iter().filter(|l| l.2.is_some()).count();
            assert_eq!(
                snap.goroutines.len(),
                live,
                "{go} {case}: goroutine count vs dlv"
            );
            assert!(checked > 5, "{go} {case}");
        }
    }
    assert!(versions > 0, "dlv supports none of the tested Go releases");
}

/// (id, user function, state) per line of dlv's `goroutines`.
fn dlv_goroutines(
    dlv: &std::path::Path,
    bin: &std::path::Path,
    core: &std::path::Path,
) -> Option<Vec<(u64, String, Option<String>)>> {
    let script = std::env::temp_dir().join(format!("gosleuth-dlv-{}.txt", std::process::id()));
    std::fs::write(&script, "goroutines\nexit\n").expect("write dlv script");
    let out = std::process::Command::new(dlv)
        .arg("core")
        .arg(bin)
        .arg(core)
        .arg("--init")
        .arg(&script)
        .arg("--allow-non-terminal-interactive=true")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run dlv");
    let text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    if text.contains("is too old for this version of Delve")
        || err.contains("is too old for this version of Delve")
    {
        return None;
    }
    let listed = text
        .lines()
        .filter_map(|l| {
            // "  Goroutine 20 - User: /x/mutex.go:70 main.transfer (0x67469d) [sync.Mutex.Lock]"
            let rest = l
                .trim_start()
                .trim_start_matches("* ")
                .strip_prefix("Goroutine ")?;
            let (id, rest) = rest.split_once(" - User: ")?;
            let mut parts = rest.split_whitespace();
            let _loc = parts.next()?;
            let func = parts.next()?.to_string();
            let state = rest.rfind(" [").filter(|_| rest.ends_with(']')).map(|i| {
                // dlv appends how long the goroutine has waited (ns).
                let s = &rest[i + 2..rest.len() - 1];
                match s.rsplit_once(' ') {
                    Some((head, n)) if n.bytes().all(|b| b.is_ascii_digit()) => head,
                    _ => s,
                }
                .to_string()
            });
            Some((id.parse().ok()?, func, state))
        })
        .collect();
    Some(listed)
}

/// Frame pointers, the cross-check of pcsp unwinding, agree on every frame
/// link of every goroutine of the cores.
#[test]
fn frame_pointers_agree_with_pcsp() {
    for go in kit::go_versions() {
        for case in ["metricsdeadlock", "lockorder"] {
            let dir = cores(&go, &[case]);
            let bin = bin(&go, case);
            let core = dir.join(format!("{case}.gcore.core"));
            let c = gosleuth_runtime::capture_core(&bin, &core, &Default::default())
                .unwrap_or_else(|e| panic!("{go} {case}: {e}"));
            let (checked, bad) = c.fp_check();
            assert!(
                checked > c.goroutines().len() as u64,
                "{go} {case}: {checked} links checked"
            );
            assert_eq!(
                bad, 0,
                "{go} {case}: {bad} of {checked} frame links disagree"
            );
        }
    }
}

/// One line of dlv's `goroutines`: id, then the user location's
/// `file:line`, function and pc.
struct DlvUserLoc {
    id: u64,
    loc: String,
    function: String,
    pc: u64,
}

/// dlv's `goroutines` (or `goroutines ARGS`) on a core, parsed; `None`
/// when this dlv does not read the release.
fn dlv_user_locations(
    bin: &std::path::Path,
    core: &std::path::Path,
    args: &str,
) -> Option<Vec<DlvUserLoc>> {
    let script = std::env::temp_dir().join(format!(
        "gosleuth-dlv-userloc-{}-{}.txt",
        std::process::id(),
        core.file_name().and_then(|n| n.to_str()).unwrap_or("core")
    ));
    std::fs::write(&script, format!("goroutines {args}\nexit\n")).expect("write dlv script");
    let out = std::process::Command::new(kit::dlv_path())
        .arg("core")
        .arg(bin)
        .arg(core)
        .arg("--init")
        .arg(&script)
        .arg("--allow-non-terminal-interactive=true")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run dlv");
    let _ = std::fs::remove_file(&script);
    let text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    if text.contains("is too old for this version of Delve")
        || err.contains("is too old for this version of Delve")
    {
        return None;
    }
    Some(
        text.lines()
            .filter_map(|l| {
                // "  Goroutine 5 - User: /x/mutex.go:70 main.transfer (0x67469d) [sync.Mutex.Lock]"
                let rest = l
                    .trim_start()
                    .trim_start_matches("* ")
                    .strip_prefix("Goroutine ")?;
                let (id, rest) = rest.split_once(" - User: ")?;
                let mut parts = rest.split_whitespace();
                let loc = parts.next()?.to_string();
                let function = parts.next()?.to_string();
                let pc = parts.next()?.trim_matches(|c| c == '(' || c == ')');
                let pc = u64::from_str_radix(pc.strip_prefix("0x")?, 16).ok()?;
                Some(DlvUserLoc {
                    id: id.parse().ok()?,
                    loc,
                    function,
                    pc,
                })
            })
            .collect(),
    )
}

/// Every goroutine's user location (`userCurrentLoc`, what `-with
/// userloc` matches) is dlv's to the pc: the function that owns the pc,
/// so a standard-library call inlined into user code (`sync.(*Mutex).Lock`
/// in `main.transfer`, `CountS` in a handler) is named by that user code,
/// at the inlined call's file and line; runtime and `internal/` frames
/// are skipped, exported runtime functions and the rest of the standard
/// library are not (`sync.(*WaitGroup).Add`).
#[test]
fn user_locations_are_delves() {
    let mut versions = 0;
    for go in kit::go_versions() {
        for (case, core) in [
            ("lockorder", "lockorder.gcore.core"),
            ("metricsdeadlock", "metricsdeadlock.gcore.core"),
            ("crash", "crash.crash.core"),
            ("lockorder", "lockorder.crash.core"),
        ] {
            let dir = cores(&go, &[case]);
            let bin = bin(&go, case);
            let core = dir.join(core);
            let Some(listed) = dlv_user_locations(&bin, &core, "") else {
                continue;
            };
            assert!(!listed.is_empty(), "{go} {core:?}: dlv listed nothing");
            versions += 1;
            let c = gosleuth_runtime::capture_core(&bin, &core, &Default::default())
                .unwrap_or_else(|e| panic!("{go} {core:?}: {e}"));
            let mut compared = 0;
            for d in &listed {
                let Some(i) = c.goroutines().iter().position(|g| g.id == d.id) else {
                    continue; // dlv lists dead goroutines too
                };
                let ours = gosleuth_dlvrpc::api::goroutine(&c, i, false).user_current_loc;
                let name = ours.function.as_ref().map_or("?", |f| f.name.as_str());
                assert_eq!(
                    (format!("{}:{}", ours.file, ours.line), name, ours.pc),
                    (d.loc.clone(), d.function.as_str(), d.pc),
                    "{go} {core:?}: goroutine {}",
                    d.id
                );
                compared += 1;
            }
            assert!(compared >= 5, "{go} {core:?}: {compared} compared");
            if case == "lockorder" {
                let transfer = listed.iter().filter(|d| d.function == "main.transfer");
                assert_eq!(transfer.count(), 2, "{go} {core:?}");
            }
        }
    }
    assert!(versions > 0, "dlv supports none of the tested Go releases");
}

/// The goroutine that crashed is the one the runtime printed first in its
/// crash output; a `gcore` of a hung process has none.
#[test]
fn the_crashed_goroutine_is_the_one_that_panicked() {
    for go in kit::go_versions() {
        let dir = cores(&go, &["crash", "lockorder"]);
        let crash_bin = bin(&go, "crash");
        let c = gosleuth_runtime::capture_core(
            &crash_bin,
            &dir.join("crash.crash.core"),
            &Default::default(),
        )
        .unwrap_or_else(|e| panic!("{go}: {e}"));
        let text = kit::read(&dir.join("crash.crash.txt"));
        let ev = gosleuth_text::parse(&text, Default::default());
        let printed = ev
            .incidents
            .iter()
            .find_map(|inc| inc.first.as_ref())
            .map(|g| g.id)
            .unwrap_or_else(|| panic!("{go}: no panicking goroutine in crash.crash.txt"));
        let crashed = c
            .crashed()
            .unwrap_or_else(|| panic!("{go}: no crashed goroutine"));
        assert_eq!(
            c.goroutines()[crashed.index].id,
            printed,
            "{go}: {}",
            crashed.why
        );
        assert!(crashed.why.contains("SIGABRT"), "{go}: {}", crashed.why);
        assert!(crashed.why.contains("panicking"), "{go}: {}", crashed.why);
        let lock = bin(&go, "lockorder");
        let hung = gosleuth_runtime::capture_core(
            &lock,
            &dir.join("lockorder.gcore.core"),
            &Default::default(),
        )
        .unwrap_or_else(|e| panic!("{go}: {e}"));
        assert_eq!(hung.crashed(), None, "{go}: a gcore of a hung process");
    }
}
