//! Live processes: goroutines read from a running program (frozen, or
//! without stopping it) agree with the SIGQUIT dump it prints right after,
//! on every Go release, with and without DWARF; the process is never left
//! stopped.

use gosleuth_memory::Mode;
use gosleuth_runtime::LayoutSource;
use gosleuth_testkit as kit;
use gosleuth_testkit::process::Running;

use crate::support::*;

fn check(go: &str, variant: &str, mode: Mode) {
    let bin = bin(go, &format!("parked{variant}"));
    let dump = std::env::temp_dir().join(format!(
        "gosleuth-runtime-live-{go}{variant}-{}-{}.txt",
        matches!(mode, Mode::NoStop),
        std::process::id()
    ));
    let mut p = Running::start_with_stderr(&bin, &["-n", "2000", "-depth", "30"], Some(&dump));
    let mut capture = gosleuth_runtime::capture_live(p.pid, mode, None, &Default::default())
        .unwrap_or_else(|e| panic!("{go} parked{variant}: {e}"));
    p.assert_running();
    let expected = if variant.is_empty() {
        LayoutSource::Dwarf
    } else {
        LayoutSource::Table
    };
    assert_eq!(
        capture.target().layout_source(),
        expected,
        "{go} parked{variant}"
    );
    // A SIGQUIT dump prints every frame, wrappers included.
    capture.show_wrappers(true);
    let snap = capture.snapshot();
    p.quit();
    let text = text_goroutines(&dump);
    let _ = std::fs::remove_file(&dump);
    assert!(
        text.len() > 2000,
        "{go}: the SIGQUIT dump has {} goroutines",
        text.len()
    );
    // The main goroutine is still on its way to sleep after printing
    // "ready"; the parked ones do not move. The runtime's own goroutines
    // (the sweeper, the scavenger, GC workers) may be running when the
    // process is read and parked by the time it prints its dump: one read
    // running whose dump shows only runtime frames is not compared.
    let parked: Vec<_> = snap
        .goroutines
        .iter()
        .filter(|g| g.id != 1)
        .filter(|g| g.state != "running" || !text.get(&g.id).is_some_and(|t| t.is_runtime_only()))
        .cloned()
        .collect();
    let (compared, bad) = compare(&parked, &text);
    assert!(
        compared >= 2000,
        "{go} parked{variant}: only {compared} goroutines in both"
    );
    assert!(
        bad.is_empty(),
        "{go} parked{variant} {mode:?}: {} of {compared} goroutines differ from the dump, e.g.\n{}",
        bad.len(),
        bad.iter().take(5).cloned().collect::<Vec<_>>().join("\n")
    );
    // Wait reasons are named in the runtime's words (the comparison above
    // checked each goroutine's state against the dump).
    for state in ["chan send", "chan receive", "select", "sleep"] {
        assert!(
            snap.goroutines.iter().any(|g| g.state == state),
            "{go} parked{variant}: no goroutine in state {state}"
        );
    }
}

/// `parked` prints `ready` only once every goroutine it started is parked
/// (not merely started), so a reader that looks right after `ready` sees
/// the states the dump prints: SIGQUIT at once, every goroutine of the
/// parking functions is waiting. Before, `ready` came after a sleep, and on
/// a loaded machine a dump now and then still had some runnable.
#[test]
fn parked_is_ready_once_every_goroutine_is_parked() {
    let parking = [
        "main.blockedSend",
        "main.blockedRecv",
        "main.blockedLock",
        "main.blockedSelect",
        "main.sleeper",
        "main.waiter",
        "main.deep",
    ];
    for go in kit::go_versions() {
        let bin = bin(&go, "parked");
        for run in 0..5 {
            let dump = std::env::temp_dir().join(format!(
                "gosleuth-runtime-ready-{go}-{run}-{}.txt",
                std::process::id()
            ));
            let mut p =
                Running::start_with_stderr(&bin, &["-n", "2000", "-depth", "30"], Some(&dump));
            p.quit();
            let text = text_goroutines(&dump);
            let _ = std::fs::remove_file(&dump);
            let parked: Vec<_> = text
                .values()
                .filter(|g| {
                    g.frames
                        .iter()
                        .any(|f| parking.contains(&f.function.as_str()))
                })
                .collect();
            assert_eq!(parked.len(), 2000, "{go} run {run}");
            let moving: Vec<_> = parked
                .iter()
                .filter(|g| matches!(g.state.as_str(), "running" | "runnable"))
                .map(|g| (g.id, g.state.clone()))
                .collect();
            assert!(
                moving.is_empty(),
                "{go} run {run}: not parked at ready: {moving:?}"
            );
        }
    }
}

#[test]
fn frozen_processes_match_their_sigquit_dump() {
    for go in kit::layout_go_versions() {
        check(&go, "", Mode::freeze());
    }
}

#[test]
fn stripped_binaries_give_the_same_answer() {
    for go in kit::layout_go_versions() {
        check(&go, ".stripped", Mode::freeze());
    }
}

#[test]
fn no_stop_reads_match_too() {
    check("installed", "", Mode::NoStop);
}

/// pprof labels, in both formats (a `map[string]string` before Go 1.24, a
/// sorted label list since), read from every goroutine of a live process.
#[test]
fn labels_of_every_goroutine() {
    for go in kit::layout_go_versions() {
        let bin = bin(&go, "parked");
        let p = Running::start(&bin, &["-n", "70", "-labels", "-depth", "5"]);
        let snap = gosleuth_runtime::read_live(p.pid, Mode::freeze(), &Default::default())
            .unwrap_or_else(|e| panic!("{go}: {e}"));
        p.assert_running();
        let kinds = [
            ("main.blockedSend", "send"),
            ("main.blockedRecv", "recv"),
            ("main.blockedLock", "lock"),
            ("main.blockedSelect", "select"),
            ("main.sleeper", "sleep"),
            ("main.waiter", "wait"),
            ("main.deep", "deep"),
        ];
        let mut labelled = 0;
        for g in &snap.goroutines {
            let Some(kind) = kinds
                .iter()
                .find(|(f, _)| g.frames.iter().any(|fr| fr.function == *f))
                .map(|k| k.1)
            else {
                continue;
            };
            let get = |k: &str| g.labels.iter().find(|l| l.0 == k).map(|l| l.1.as_str());
            assert_eq!(
                get("kind"),
                Some(kind),
                "{go}: goroutine {} {:?}",
                g.id,
                g.labels
            );
            assert!(
                matches!(get("shard"), Some("0" | "1" | "2")),
                "{go}: {:?}",
                g.labels
            );
            labelled += 1;
        }
        assert_eq!(labelled, 70, "{go}: goroutines with labels");
    }
}

/// Stacks are copied while the process runs and, once it is stopped, only
/// those of goroutines whose `g` changed are copied again. Goroutines that
/// ping-pong forever (alternating between two calls of one function with
/// the same frame, told apart only by the return address on the stack)
/// must be copied again every time, and come out whole; the parked ones
/// are taken from the earlier copy and still match the SIGQUIT dump.
#[test]
fn goroutines_that_ran_since_the_precopy_are_copied_again() {
    let source = kit::repo_root().join("factory/programs/parked/main.go");
    let text = std::fs::read_to_string(&source).expect("parked source");
    let call_lines: Vec<u32> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.trim_start().starts_with("pingAt(c, i"))
        .map(|(i, _)| i as u32 + 1)
        .collect();
    assert_eq!(call_lines.len(), 2, "the two calls of pingAt in {source:?}");
    for go in kit::layout_go_versions() {
        let bin = bin(&go, "parked");
        let dump = std::env::temp_dir().join(format!(
            "gosleuth-runtime-churn-{go}-{}.txt",
            std::process::id()
        ));
        let mut p = Running::start_with_stderr(
            &bin,
            &["-n", "2000", "-depth", "30", "-churn", "2"],
            Some(&dump),
        );
        let mut last = None;
        let mut reuse = Vec::new();
        for round in 0..3 {
            let mut c =
                gosleuth_runtime::capture_live(p.pid, Mode::freeze(), None, &Default::default())
                    .unwrap_or_else(|e| panic!("{go} round {round}: {e}"));
            p.assert_running();
            let (reused, copied) = c.target().mem().stack_copies();
            // The first garbage collection after the goroutines parked
            // stamps every g's waitsince; one between the two copies
            // re-copies every stack (which is right): ask reuse of one
            // round of three.
            reuse.push(reused);
            assert!(
                copied >= 1,
                "{go} round {round}: no stack copied again although 4 goroutines never stop"
            );
            let broken: Vec<_> = c
                .goroutines()
                .iter()
                .filter_map(|g| {
                    g.broken.as_ref().map(|b| {
                        let fs: Vec<String> = g
                            .frames
                            .iter()
                            .map(|f| {
                                c.symbols()
                                    .frames(f)
                                    .first()
                                    .map_or(format!("{:#x}", f.pc), |s| s.frame.function.clone())
                            })
                            .collect();
                        (g.id, g.status, b.clone(), fs)
                    })
                })
                .collect();
            assert!(
                broken.is_empty(),
                "{go} round {round}: broken stacks {broken:?}"
            );
            c.show_wrappers(true);
            let snap = c.snapshot();
            // Every goroutine, running ones included, unwinds to where it
            // was started.
            for g in &snap.goroutines {
                assert!(
                    !g.frames.is_empty() && g.frames.iter().all(|f| !f.function.is_empty()),
                    "{go} round {round}: goroutine {} [{}] {:?}",
                    g.id,
                    g.state,
                    g.frames
                );
            }
            // The churning ones are started at pinger or ponger (Go 1.21
            // names the go statement's wrapper instead): their stacks must
            // reach it, running or not.
            let mut churners = 0;
            for g in &snap.goroutines {
                let Some(start) = g.start.as_ref().map(|f| f.function.as_str()) else {
                    continue;
                };
                if ["main.pinger", "main.ponger"].contains(&start) {
                    churners += 1;
                    assert!(
                        g.frames.iter().any(|f| f.function == start),
                        "{go} round {round}: goroutine {} [{}] started at {start} has {:?}",
                        g.id,
                        g.state,
                        g.frames.iter().map(|f| &f.function).collect::<Vec<_>>()
                    );
                }
            }
            assert_eq!(
                churners, 4,
                "{go} round {round}: goroutines started at pinger or ponger"
            );
            let mut pingers = 0;
            for g in &snap.goroutines {
                let Some(k) = g.frames.iter().position(|f| f.function == "main.pingAt") else {
                    continue;
                };
                pingers += 1;
                let caller = &g.frames[k + 1];
                assert!(
                    caller.function == "main.pinger" && call_lines.contains(&caller.line),
                    "{go} round {round}: goroutine {} calls pingAt from {}:{}",
                    g.id,
                    caller.function,
                    caller.line
                );
            }
            assert!(pingers <= 2, "{go}: {pingers} goroutines in pingAt");
            last = Some(snap);
        }
        assert!(
            reuse.iter().any(|&r| r >= 1990),
            "{go}: parked stacks taken from the precopy per round: {reuse:?}"
        );
        p.quit();
        let text = text_goroutines(&dump);
        let _ = std::fs::remove_file(&dump);
        let snap = last.expect("three rounds");
        let churning = |g: &gosleuth_model::Goroutine| {
            g.start
                .as_ref()
                .is_some_and(|f| f.function == "main.pinger" || f.function == "main.ponger")
        };
        let parked: Vec<_> = snap
            .goroutines
            .iter()
            .filter(|g| g.id != 1 && !churning(g))
            .cloned()
            .collect();
        let (compared, bad) = compare(&parked, &text);
        assert!(compared >= 2000, "{go}: only {compared} goroutines in both");
        assert!(
            bad.is_empty(),
            "{go}: {} of {compared} parked goroutines differ from the dump, e.g.\n{}",
            bad.len(),
            bad.iter().take(5).cloned().collect::<Vec<_>>().join("\n")
        );
    }
}

/// A process killed at any moment of a read (before the freeze, while it
/// is frozen, while stacks are unwound) gives a clear error, or a capture
/// that says the process exited while it was read; never a panic.
#[test]
fn a_process_that_exits_mid_read_gives_an_error_or_a_warning() {
    let bin = bin("installed", "parked");
    let mut outcomes = Vec::new();
    for delay_ms in [0u64, 3, 10, 25, 50, 75, 100, 120, 140, 160, 180, 200, 300] {
        let p = Running::start(&bin, &["-n", "20000", "-depth", "30"]);
        let pid = p.pid;
        let killer = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(delay_ms));
            // SAFETY: a signal to the test's own child, not reaped yet.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        });
        let read = gosleuth_runtime::capture_live(pid, Mode::freeze(), None, &Default::default());
        killer.join().expect("killer thread");
        let outcome = match read {
            Err(e) => {
                let msg = e.to_string();
                assert!(
                    msg.contains("has exited"),
                    "killed after {delay_ms} ms: unclear error: {msg}"
                );
                "error"
            }
            Ok(c) => {
                let warned = c
                    .target()
                    .warnings()
                    .iter()
                    .any(|w| w.contains("exited while it was being read"));
                let whole = c.goroutines().len() > 20000
                    && c.goroutines().iter().all(|g| g.broken.is_none());
                assert!(
                    warned || whole,
                    "killed after {delay_ms} ms: {} goroutines, no warning",
                    c.goroutines().len()
                );
                if warned { "warned" } else { "whole" }
            }
        };
        outcomes.push((delay_ms, outcome));
    }
    // Some kill landed before or during the read.
    assert!(
        outcomes.iter().any(|o| o.1 != "whole"),
        "every read finished before the kill: {outcomes:?}"
    );
    eprintln!("outcomes: {outcomes:?}");
}
