//! `go test` evidence from the factory's `testtimeout` program: a test
//! timeout names the stuck test, not the timer, and the runtime output
//! inside `go test -json` is read like plain output.

use gosleuth_model::{Incident, IncidentKind};
use gosleuth_testkit as kit;
use gosleuth_text::{Evidence, Options, parse};

fn evidence(go: &str, file: &str) -> Evidence {
    let path = kit::evidence(go, &["testtimeout"]).join("text").join(file);
    parse(&kit::read(&path), Options::default())
}

fn the_panic<'a>(e: &'a Evidence, what: &str) -> &'a Incident {
    let panics: Vec<&Incident> = e
        .incidents
        .iter()
        .filter(|i| i.kind == IncidentKind::Panic)
        .collect();
    assert_eq!(
        panics.len(),
        1,
        "{what}: expected one panic, got {:#?}",
        e.incidents
            .iter()
            .map(|i| (i.kind, i.line))
            .collect::<Vec<_>>()
    );
    panics[0]
}

/// `go test -timeout 2s` with TestIncr stuck on a recursive lock
/// (Store.Incr holds the mutex and calls Get, which locks it again): the
/// root cause is TestIncr's goroutine in Store.Get called from Incr, not
/// `testing.(*M).startAlarm.func1`, the timer that raised the panic.
#[test]
fn a_test_timeout_names_the_stuck_test_not_the_timer() {
    let get = kit::source_line("testtimeout/store.go", "s.mu.Lock()");
    for go in kit::go_versions() {
        for file in ["testtimeout.timeout.txt", "testtimeout.timeout.json.txt"] {
            let what = format!("{go} {file}");
            let e = evidence(&go, file);
            let inc = the_panic(&e, &what);
            assert!(
                inc.panics[0].message.starts_with("test timed out after 2s"),
                "{what}: {:?}",
                inc.panics
            );
            let rc = inc.root_cause.as_ref().expect("a root cause");
            let frame = rc.frame.as_ref().expect("a frame");
            assert_eq!(
                (frame.function.as_str(), frame.line),
                ("testtimeout.(*Store).Get", get),
                "{what}: {rc:#?}"
            );
            // The goroutine named is the one running TestIncr.
            let test_group = inc
                .groups
                .iter()
                .find(|g| {
                    g.frames
                        .iter()
                        .any(|f| f.function == "testtimeout.TestIncr")
                })
                .expect("TestIncr's goroutine");
            assert!(test_group.ids.contains(&rc.goroutine), "{what}: {rc:#?}");
            assert_eq!(test_group.state, "sync.Mutex.Lock", "{what}");
            for needle in [
                "while TestIncr was running",
                "is blocked [sync.Mutex.Lock] in sync.(*Mutex).Lock from testtimeout.(*Store).Get",
                "called by testtimeout.(*Store).Incr <- testtimeout.TestIncr",
                "inferred",
                "testing.(*M).startAlarm",
            ] {
                assert!(
                    rc.explanation.contains(needle),
                    "{what}: {needle:?} not in {rc:#?}"
                );
            }
            assert!(
                rc.created_by
                    .first()
                    .is_some_and(|f| f.function == "testing.(*T).Run"),
                "{what}: {rc:#?}"
            );
        }
    }
}

/// `go test -json` carries the runtime's output in the `Output` field of
/// its events; read, it gives the same incident as the plain output.
#[test]
fn go_test_json_output_is_read() {
    let nilmap = kit::source_line("testtimeout/store_test.go", "m[\"a\"]++");
    for go in kit::go_versions() {
        let e = evidence(&go, "testtimeout.nilmap.json.txt");
        let inc = the_panic(&e, &go);
        assert!(
            inc.panics[0]
                .message
                .starts_with("assignment to entry in nil map"),
            "{go}: {:?}",
            inc.panics
        );
        let f = inc
            .root_cause
            .as_ref()
            .and_then(|rc| rc.frame.as_ref())
            .expect("a root-cause frame");
        assert_eq!(
            (f.function.as_str(), f.line),
            ("testtimeout.TestNilMap", nilmap),
            "{go}"
        );
        assert!(e.warnings.is_empty(), "{go}: {:?}", e.warnings);

        // The JSON and the plain run of the timeout read alike.
        let plain = evidence(&go, "testtimeout.timeout.txt");
        let json = evidence(&go, "testtimeout.timeout.json.txt");
        let (p, j) = (the_panic(&plain, &go), the_panic(&json, &go));
        assert_eq!(p.panics, j.panics, "{go}");
        assert_eq!(p.total, j.total, "{go}");
        assert_eq!(p.groups.len(), j.groups.len(), "{go}");
        assert!(json.warnings.is_empty(), "{go}: {:?}", json.warnings);
    }
}

/// test2json splits a long line over several events: the pieces are put
/// back together per test, also when another test's output comes between.
#[test]
fn go_test_json_pieces_are_joined_per_test() {
    let path = kit::evidence("installed", &["testtimeout"])
        .join("text")
        .join("testtimeout.nilmap.json.txt");
    let text = String::from_utf8(kit::read(&path)).expect("utf-8");
    let mut split = String::new();
    for line in text.lines() {
        let Ok(serde_json::Value::Object(ev)) = serde_json::from_str::<serde_json::Value>(line)
        else {
            split.push_str(line);
            split.push('\n');
            continue;
        };
        let Some(serde_json::Value::String(out)) = ev.get("Output") else {
            split.push_str(line);
            split.push('\n');
            continue;
        };
        // Every output in pieces of 7 bytes, each followed by an event of
        // another test.
        let chars: Vec<char> = out.chars().collect();
        for piece in chars.chunks(7) {
            let mut e = ev.clone();
            e.insert(
                "Output".into(),
                serde_json::Value::String(piece.iter().collect()),
            );
            split.push_str(&serde_json::Value::Object(e).to_string());
            split.push('\n');
            split.push_str(
                r#"{"Action":"output","Package":"other","Test":"TestOther","Output":"noise "}"#,
            );
            split.push('\n');
        }
    }
    let whole = parse(text.as_bytes(), Options::default());
    let pieces = parse(split.as_bytes(), Options::default());
    assert_eq!(whole.incidents.len(), 1);
    assert_eq!(pieces.incidents.len(), 1);
    let (w, p) = (&whole.incidents[0], &pieces.incidents[0]);
    assert_eq!(w.panics, p.panics);
    assert_eq!(w.groups, p.groups);
    assert_eq!(w.root_cause, p.root_cause);
}
