//! Triage on real evidence: the factory's programs, run under every Go
//! release it builds (see factory/README.md). The checks follow the
//! issue's "done when": the seed-001 crash, race and re-panic, the RPCCall
//! races, concurrent map writes, the seed-004 service's dumps, and every
//! traceback variant the `variants` program prints.

#[cfg(feature = "factory")]
use std::path::{Path, PathBuf};

use gosleuth_model::{AccessKind, Incident, IncidentKind};
#[cfg(feature = "factory")]
use gosleuth_model::{Similarity, diff_groups};
use gosleuth_testkit as kit;
use gosleuth_text::{Evidence, Options, parse};

#[cfg(feature = "factory")]
mod gotest;
mod limits;
#[cfg(feature = "factory")]
mod testrun;

#[cfg(feature = "factory")]
fn parse_file(path: &Path) -> Evidence {
    parse(&kit::read(path), Options::default())
}

#[cfg(feature = "factory")]
fn text_dir(go: &str, cases: &[&str]) -> PathBuf {
    kit::evidence(go, cases).join("text")
}

/// The one incident of a kind, with a helpful failure.
fn only<'a>(e: &'a Evidence, kind: IncidentKind, what: &str) -> &'a Incident {
    let found: Vec<&Incident> = e.incidents.iter().filter(|i| i.kind == kind).collect();
    assert_eq!(
        found.len(),
        1,
        "{what}: expected one {kind:?} incident, got {:#?}",
        e.incidents
            .iter()
            .map(|i| (i.kind, i.line))
            .collect::<Vec<_>>()
    );
    found[0]
}

fn cause_at(inc: &Incident) -> (String, u32) {
    let rc = inc.root_cause.as_ref().expect("a root cause");
    let f = rc.frame.as_ref().expect("a root-cause frame");
    (f.function.clone(), f.line)
}

#[cfg(feature = "factory")]
#[test]
fn seed001_crash_names_handler_at_merr_error() {
    let line = kit::source_line("crash/main.go", "get error: %v\", id, merr.Error()");
    for go in kit::text_go_versions() {
        let e = parse_file(&text_dir(&go, &["crash"]).join("crash.panic.txt"));
        let inc = only(&e, IncidentKind::Panic, &go);
        assert_eq!(cause_at(inc), ("main.Handler".into(), line), "{go}");
        let rc = inc.root_cause.as_ref().unwrap();
        assert!(
            rc.explanation.contains("nil pointer"),
            "{go}: {}",
            rc.explanation
        );
        assert_eq!(
            inc.signal.as_ref().map(|s| s.name.as_str()),
            Some("SIGSEGV"),
            "{go}"
        );
        assert_eq!(
            rc.created_by.first().map(|f| f.function.as_str()),
            Some("main.main"),
            "{go}"
        );
        assert!(e.warnings.is_empty(), "{go}: {:?}", e.warnings);
    }
}

#[cfg(feature = "factory")]
#[test]
fn seed001_repanicked_slice_bounds_and_race_in_one_output() {
    let process_line = kit::source_line("racepanic/main.go", "resp.Data[:size]");
    for go in kit::text_go_versions() {
        let e = parse_file(&text_dir(&go, &["racepanic"]).join("racepanic.race.txt"));
        let inc = only(&e, IncidentKind::Panic, &go);
        let (function, line) = cause_at(inc);
        assert!(function.ends_with(".Process"), "{go}: {function}");
        assert_eq!(line, process_line, "{go}");
        let rc = inc.root_cause.as_ref().unwrap();
        assert!(
            rc.repanicked_in
                .iter()
                .any(|f| f.function.ends_with("WrapPanic.func1")),
            "{go}: {:?}",
            rc.repanicked_in
        );
        assert!(
            rc.message.contains("slice bounds out of range [:5]"),
            "{go}"
        );
        assert!(!e.races.is_empty(), "{go}: no race report");
        let race = &e.races[0];
        let kinds: Vec<AccessKind> = race.accesses.iter().map(|a| a.kind).collect();
        assert!(kinds.contains(&AccessKind::Write), "{go}: {kinds:?}");
        assert!(
            race.accesses.iter().any(|a| a
                .user_frame()
                .is_some_and(|f| f.function.ends_with(".Process"))),
            "{go}: {race:#?}"
        );
        assert!(
            race.goroutines.iter().any(|g| !g.created_at.is_empty()),
            "{go}"
        );
        assert!(e.warnings.is_empty(), "{go}: {:?}", e.warnings);
    }
}

#[cfg(feature = "factory")]
#[test]
fn rpccall_races_are_reported_with_their_lines() {
    let write_line = kit::source_line("rpcrace/main.go", "resp.Data = []byte(\"world\")");
    let read_line = kit::source_line("rpcrace/main.go", "string(resp.Data)");
    for go in kit::text_go_versions() {
        let e = parse_file(&text_dir(&go, &["rpcrace"]).join("rpcrace.race.txt"));
        assert!(!e.races.is_empty(), "{go}: no races");
        for race in &e.races {
            let sites: Vec<(String, u32)> = race
                .accesses
                .iter()
                .filter_map(|a| a.user_frame())
                .map(|f| (f.function.clone(), f.line))
                .collect();
            assert!(
                sites.contains(&("main.RPCCall.func1".into(), write_line)),
                "{go}: {sites:?}"
            );
            // The race detector may have lost the earlier access's stack
            // (`[failed to restore the stack]`, seen on go1.18): then the
            // access is there, marked so, without frames.
            let lost = race
                .accesses
                .iter()
                .any(|a| !a.stack_restored && a.frames.is_empty());
            assert!(
                sites.contains(&("main.main".into(), read_line)) || lost,
                "{go}: {sites:?}"
            );
        }
        // The slice header and its bytes: two distinct races.
        let total: u64 = e.races.iter().map(|r| r.occurrences).sum();
        assert!(total >= 2, "{go}: {total} race reports");
        assert_eq!(e.races_found.is_some(), e.races_found.is_some());
    }
}

#[cfg(feature = "factory")]
#[test]
fn concurrent_map_writes_name_touch() {
    let line = kit::source_line("mapwrites/main.go", "seen[k%64]++");
    for go in kit::text_go_versions() {
        let e = parse_file(&text_dir(&go, &["mapwrites"]).join("mapwrites.fatal.txt"));
        let inc = only(&e, IncidentKind::Fatal, &go);
        assert_eq!(inc.fatal.as_deref(), Some("concurrent map writes"), "{go}");
        assert_eq!(cause_at(inc), ("main.Touch".into(), line), "{go}");
    }
}

#[cfg(feature = "factory")]
#[test]
fn seed004_dump_collapses_to_a_few_groups_with_counts_on_top() {
    let count_s = kit::source_line("metricsdeadlock/metrics.go", "m.inChannel <- ");
    for go in kit::text_go_versions() {
        let dir = text_dir(&go, &["metricsdeadlock"]);
        for file in [
            "metricsdeadlock.sigquit.txt",
            "metricsdeadlock.debug2.txt",
            "metricsdeadlock.debug1.txt",
        ] {
            let e = parse_file(&dir.join(file));
            let inc = e
                .incidents
                .iter()
                .max_by_key(|i| i.total)
                .unwrap_or_else(|| panic!("{go} {file}: no incident"));
            assert!(inc.total > 10_000, "{go} {file}: {} goroutines", inc.total);
            assert!(
                inc.groups.len() <= 40,
                "{go} {file}: {} groups",
                inc.groups.len()
            );
            let top = &inc.groups[0];
            assert!(
                top.count > 10_000,
                "{go} {file}: top group has {}",
                top.count
            );
            assert!(
                top.frames
                    .iter()
                    .any(|f| f.function == "main.(*Metrics).CountS" && f.line == count_s),
                "{go} {file}: top group is {:#?}",
                top.frames
            );
        }
    }
}

#[cfg(feature = "factory")]
#[test]
fn goroutine_leak_grows_between_two_dumps() {
    for go in kit::text_go_versions() {
        let dir = text_dir(&go, &["goleak"]);
        let groups = |f: &str| {
            parse_file(&dir.join(f))
                .incidents
                .into_iter()
                .flat_map(|i| i.groups)
                .collect::<Vec<_>>()
        };
        let changes = diff_groups(&groups("goleak.t1.txt"), &groups("goleak.t2.txt"));
        let top = changes.first().unwrap_or_else(|| panic!("{go}: no change"));
        assert!(top.after > top.before, "{go}: {top:#?}");
        assert!(
            top.group
                .frames
                .iter()
                .any(|f| f.function.starts_with("main.")),
            "{go}: {:#?}",
            top.group.frames
        );
    }
}

/// Every variant file parses into at least one incident, without a line
/// that the parser had to skip.
#[cfg(feature = "factory")]
#[test]
fn every_variant_parses_cleanly() {
    for go in kit::text_go_versions() {
        let dir = text_dir(&go, &["variants"]);
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).expect("text dir") {
            let path = entry.expect("entry").path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("")
                .to_string();
            if !name.starts_with("variants.") {
                continue;
            }
            seen += 1;
            let e = parse_file(&path);
            assert!(!e.incidents.is_empty(), "{go} {name}: nothing found");
            assert!(e.warnings.is_empty(), "{go} {name}: {:?}", e.warnings);
        }
        assert!(seen >= 20, "{go}: only {seen} variant files");
    }
}

#[cfg(feature = "factory")]
#[test]
fn variant_details() {
    for go in kit::text_go_versions() {
        let dir = text_dir(&go, &["variants"]);
        let get = |f: &str| parse_file(&dir.join(format!("variants.{f}.txt")));

        let e = get("typed");
        assert_eq!(e.incidents[0].panics[0].message, "main.T(5)", "{go}");

        let e = get("multiline");
        assert!(e.incidents[0].panics[0].message.contains('\n'), "{go}");

        // Before 1.21 the runtime cut deep stacks at 100 frames and often
        // printed no marker (a hidden frame used up the 100th slot).
        if kit::go_minor(&go) >= 21 {
            let e = get("elided");
            let first = e.incidents[0].first.as_ref().expect("first goroutine");
            assert!(first.elided_frames.is_some(), "{go}: no elision");
        }

        let e = get("nested.ancestors");
        let rc = e.incidents[0].root_cause.as_ref().expect("cause");
        assert!(rc.created_by.len() >= 2, "{go}: {:?}", rc.created_by);

        let e = get("stackoverflow");
        assert_eq!(
            e.incidents[0].fatal.as_deref(),
            Some("stack overflow"),
            "{go}"
        );

        let e = get("deadlock");
        assert_eq!(
            e.incidents[0].fatal.as_deref(),
            Some("all goroutines are asleep - deadlock!"),
            "{go}"
        );

        let e = get("labels");
        let labelled = e
            .incidents
            .iter()
            .flat_map(|i| &i.groups)
            .any(|g| g.labels.iter().any(|(k, _)| k == "route"));
        assert!(labelled, "{go}: no labels");

        let e = get("lockosthread");
        assert!(
            e.incidents.iter().flat_map(|i| &i.groups).any(|g| g.locked),
            "{go}: no locked goroutine"
        );

        let e = get("nilptr.crash");
        let inc = &e.incidents[0];
        // `gp=0x.. m=N` headers for the crashing goroutine came in 1.22.
        if kit::go_minor(&go) >= 22 {
            assert!(
                inc.first
                    .as_ref()
                    .is_some_and(|g| g.extra.iter().any(|(k, _)| k == "gp")),
                "{go}"
            );
        }
        assert!(inc.root_cause.is_some(), "{go}");
    }
}

#[cfg(feature = "factory")]
#[test]
fn similarity_levels_on_a_real_dump() {
    let go = "installed";
    let path = text_dir(go, &["metricsdeadlock"]).join("metricsdeadlock.debug2.txt");
    let bytes = kit::read(&path);
    let groups = |s| {
        parse(
            &bytes,
            Options {
                similarity: s,
                keep_goroutines: false,
            },
        )
        .incidents[0]
            .groups
            .len()
    };
    let exact = groups(Similarity::Exact);
    let pointer = groups(Similarity::AnyPointer);
    let value = groups(Similarity::AnyValue);
    assert!(
        exact >= pointer && pointer >= value,
        "{exact} {pointer} {value}"
    );
    assert!(
        exact > value,
        "exact should split groups that differ in arguments"
    );
}

#[cfg(feature = "factory")]
#[test]
fn chunked_and_whole_input_agree() {
    let path = text_dir("installed", &["racepanic"]).join("racepanic.race.txt");
    let bytes = kit::read(&path);
    let whole = parse(&bytes, Options::default());
    let mut p = gosleuth_text::Parser::new(Options::default());
    for chunk in bytes.chunks(7) {
        p.feed(chunk);
    }
    let chunked = p.finish();
    assert_eq!(whole.incidents, chunked.incidents);
    assert_eq!(whole.races, chunked.races);
}

fn fixture(rel: &str) -> Vec<u8> {
    kit::read(&kit::repo_root().join("fixtures/text").join(rel))
}

/// Output of older releases, as printed in seed 001 (Go 1.16-1.18 era:
/// stack-ABI arguments, `created by` without a goroutine id, a race report
/// whose separators were lost when it was pasted).
#[test]
fn seed001_text_from_older_releases() {
    let e = parse(
        &fixture("seeds/seed001-crash.go118.txt"),
        Options::default(),
    );
    let inc = only(&e, IncidentKind::Panic, "crash");
    assert_eq!(cause_at(inc), ("main.Handler".into(), 41));
    assert_eq!(inc.first.as_ref().map(|g| g.id), Some(48));

    let e = parse(
        &fixture("seeds/seed001-repanic.go116.txt"),
        Options::default(),
    );
    let inc = only(&e, IncidentKind::Panic, "repanic");
    assert_eq!(inc.panics.len(), 2);
    assert!(inc.panics[0].recovered);
    assert_eq!(cause_at(inc), ("chore/example.Process".into(), 36));

    let e = parse(&fixture("seeds/seed001-race.go116.txt"), Options::default());
    assert_eq!(e.races.len(), 1);
    let r = &e.races[0];
    assert_eq!(r.accesses.len(), 2);
    assert_eq!(
        (r.accesses[0].kind, r.accesses[0].goroutine),
        (AccessKind::Write, Some(8))
    );
    assert_eq!(r.accesses[0].frames[0].line, 21);
    assert_eq!(
        (r.accesses[1].kind, r.accesses[1].goroutine),
        (AccessKind::Read, Some(7))
    );
    assert_eq!(r.accesses[1].frames[0].line, 35);
    let states: Vec<&str> = r.goroutines.iter().map(|g| g.state.as_str()).collect();
    assert_eq!(states, ["running", "finished"]);
}

/// Truncated, corrupted and spliced real evidence never panics the parser,
/// and chunked reading agrees with whole reading. (The fuzz target
/// `text_triage` explores further; this runs in every CI.)
#[cfg(feature = "factory")]
#[test]
fn mutated_evidence_never_panics() {
    let dir = text_dir(
        "installed",
        &["crash", "racepanic", "variants", "mapwrites"],
    );
    let mut inputs = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("text dir") {
        let path = entry.expect("entry").path();
        if std::fs::metadata(&path)
            .map(|m| m.len() < 256 * 1024)
            .unwrap_or(false)
        {
            inputs.push(kit::read(&path));
        }
    }
    assert!(inputs.len() > 10);
    let mut rng = gosleuth_testkit::Rng(0x9E37_79B9_7F4A_7C15);
    for round in 0..400 {
        let base = &inputs[round % inputs.len()];
        let mut data = base.clone();
        match rng.below(6) {
            0 => data.truncate(rng.below(data.len())),
            1 => {
                for _ in 0..1 + rng.below(16) {
                    let i = rng.below(data.len());
                    if let Some(b) = data.get_mut(i) {
                        *b = rng.next() as u8;
                    }
                }
            }
            2 => {
                let other = &inputs[rng.below(inputs.len())];
                let cut = rng.below(data.len());
                data.truncate(cut);
                data.extend_from_slice(&other[rng.below(other.len())..]);
            }
            3 => {
                let at = rng.below(data.len());
                let junk: Vec<u8> = (0..rng.below(4096)).map(|_| rng.next() as u8).collect();
                data.splice(at..at, junk);
            }
            4 => {
                let at = rng.below(data.len());
                data.splice(at..at, std::iter::repeat_n(b'(', 1 << 20));
            }
            _ => {
                data = data
                    .iter()
                    .map(|&b| if b == b'\n' { b'\r' } else { b })
                    .collect()
            }
        }
        let whole = parse(&data, Options::default());
        let mut p = gosleuth_text::Parser::new(Options::default());
        for chunk in data.chunks(1 + rng.below(4096)) {
            p.feed(chunk);
        }
        let chunked = p.finish();
        assert_eq!(whole.incidents, chunked.incidents, "round {round}");
        assert_eq!(whole.races, chunked.races, "round {round}");
    }
}

/// The same crash wrapped by journald, docker, JSON loggers and CRLF line
/// ends gives the same root cause as the plain text.
#[test]
fn panics_buried_in_logs() {
    let dir = kit::repo_root().join("fixtures/text/embedded");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir)
        .expect("fixtures/text/embedded (run python3 factory/factory.py fixtures)")
    {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|x| x == "md") {
            continue;
        }
        seen += 1;
        let e = parse(&kit::read(&path), Options::default());
        let panics: Vec<&Incident> = e
            .incidents
            .iter()
            .filter(|i| i.kind == IncidentKind::Panic)
            .collect();
        assert!(!panics.is_empty(), "{}: no panic found", path.display());
        let (function, _) = cause_at(panics[0]);
        assert_eq!(function, "main.Handler", "{}", path.display());
    }
    assert!(seen >= 5, "only {seen} embedded fixtures");
}

/// Parsing a big dump on several threads gives the same incidents, groups
/// and counts as parsing it on one.
#[cfg(feature = "factory")]
#[test]
fn parallel_parse_matches_sequential() {
    let path = text_dir("installed", &["metricsdeadlock"]).join("metricsdeadlock.sigquit.txt");
    let one = kit::read(&path);
    // Several dumps in a row, with other output between them, big enough
    // to be split.
    let mut data = Vec::new();
    while data.len() < 80 << 20 {
        data.extend_from_slice(&one);
        data.extend_from_slice(b"some log line between dumps\n");
    }
    let seq = parse(&data, Options::default());
    let par = gosleuth_text::parse_parallel(&data, Options::default(), 3);
    assert_eq!(seq.lines, par.lines);
    assert_eq!(seq.incidents.len(), par.incidents.len());
    for (a, b) in seq.incidents.iter().zip(&par.incidents) {
        assert_eq!((a.kind, a.line, a.total), (b.kind, b.line, b.total));
        assert_eq!(a.root_cause, b.root_cause);
        let counts = |i: &Incident| {
            i.groups
                .iter()
                .map(|g| (g.key, g.count))
                .collect::<Vec<_>>()
        };
        assert_eq!(counts(a), counts(b));
    }
}
