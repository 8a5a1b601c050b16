//! The session on its own: frames, listings, locations.

use gosleuth_dlvrpc::filter::{Field, Filter};
use gosleuth_dlvrpc::session::Query;

use crate::{counts_at, line_of, shared};

/// Index of the goroutine blocked in SetM (the consumer that blocked
/// itself), found from its frames.
pub fn consumer(s: &gosleuth_dlvrpc::Session) -> usize {
    let c = s.capture();
    let found: Vec<usize> = (0..c.goroutines().len())
        .filter(|&i| {
            c.view(i)
                .frame_iter()
                .any(|f| f.function == "main.(*Metrics).startInChannelConsumer")
        })
        .collect();
    assert_eq!(found.len(), 1, "one consumer goroutine");
    found[0]
}

#[test]
fn frames_are_those_the_values_scope_counts() {
    let s = shared();
    let c = s.capture();
    assert!(
        c.shows_wrappers(),
        "sessions show wrapper frames, as Delve does"
    );
    for i in 0..c.goroutines().len() {
        let shown: Vec<&str> = s
            .frames(i)
            .iter()
            .map(|f| f.frame.function.as_str())
            .collect();
        let view = c.view(i);
        let iter: Vec<&str> = view.frame_iter().map(|f| f.function.as_str()).collect();
        assert_eq!(shown, iter, "goroutine {}", c.goroutines()[i].id);
    }
}

#[test]
fn stacktraces_are_bounded_and_end_at_the_bottom() {
    let s = shared();
    let gi = consumer(s);
    let all = s.stacktrace(gi, 100, 0);
    let names: Vec<&str> = all
        .iter()
        .filter_map(|f| f.location.function.as_ref().map(|f| f.name.as_str()))
        .collect();
    let setm = names
        .iter()
        .position(|n| *n == "main.(*Metrics).SetM")
        .expect("SetM on the stack");
    assert_eq!(
        all[setm].location.line,
        line_of("m.inChannel <- NewSetMetric(key, value, second)")
    );
    assert!(
        names.contains(&"main.(*Metrics).sendMetricsToOutChannel"),
        "{names:?}"
    );
    assert!(all.last().is_some_and(|f| f.bottom), "{names:?}");
    assert_eq!(all.iter().filter(|f| f.bottom).count(), 1);
    // Depth is the index of the last frame; Skip drops the first ones.
    let two = s.stacktrace(gi, 1, 0);
    assert_eq!(two.len(), 2);
    assert!(!two[1].bottom);
    let one = s.stacktrace(gi, setm, setm);
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].location.pc, all[setm].location.pc);
    assert!(s.stacktrace(gi, 5, 1000).is_empty());
}

#[test]
fn scopes_are_checked() {
    let s = shared();
    let gi = consumer(s);
    let id = s.capture().goroutines()[gi].id as i64;
    let n = s.frames(gi).len() as i64;
    assert!(s.scope(id, n - 1, 0).is_ok());
    let e = s.scope(id, n, 0).unwrap_err().to_string();
    assert!(e.contains("does not exist"), "{e}");
    assert!(s.scope(id, -3, 0).is_err());
    assert!(
        s.scope(id, 0, 1)
            .unwrap_err()
            .to_string()
            .contains("deferred")
    );
    assert!(
        s.scope(987_654_321, 0, 0)
            .unwrap_err()
            .to_string()
            .contains("unknown goroutine")
    );
}

#[test]
fn listings_page_filter_and_group_like_delve() {
    let s = shared();
    let n = s.capture().goroutines().len();
    let page = s.list(&Query {
        start: 10,
        count: 25,
        ..Query::default()
    });
    assert_eq!(page.goroutines, (10..35).collect::<Vec<_>>());
    assert_eq!(page.nextg, 35);
    let last = s.list(&Query {
        start: n - 3,
        count: 25,
        ..Query::default()
    });
    assert_eq!(last.goroutines.len(), 3);
    assert_eq!(last.nextg, -1);
    // Delve's filter: substring of "file:line in function". The user
    // location of the requests piled up in CountS is the send's line
    // (CountS is inlined: the function is the handler).
    let counts_at = counts_at();
    let counts = s.list(&Query {
        filters: vec![Filter::delve(
            Field::UserLoc,
            false,
            &format!("{counts_at} in "),
        )],
        ..Query::default()
    });
    let expected = (0..n)
        .filter(|&i| {
            s.capture()
                .view(i)
                .user_location()
                .is_some_and(|f| format!("{}:{}", f.file, f.line).ends_with(&counts_at))
        })
        .count();
    assert!(expected > 1000);
    assert_eq!(counts.goroutines.len(), expected);
    // gosleuth's: a regular expression over "function file:line".
    let re = s.list(&Query {
        filters: vec![
            Filter::gosleuth(
                &format!("userloc=/{}$", counts_at.replace('.', "\\.")),
                false,
            )
            .unwrap(),
        ],
        ..Query::default()
    });
    assert_eq!(re.goroutines.len(), expected);
    let others = s.list(&Query {
        filters: vec![Filter::delve(Field::UserLoc, true, &counts_at)],
        ..Query::default()
    });
    assert_eq!(others.goroutines.len(), n - expected);
    // Grouping keeps a few members per group and counts them all.
    let grouped = s.list(&Query {
        group_by: Some(Field::UserLoc),
        max_group_members: 2,
        ..Query::default()
    });
    let g = grouped
        .groups
        .iter()
        .find(|g| g.name.contains(&format!("{counts_at} in ")))
        .expect("CountS group");
    assert_eq!(g.total, expected);
    assert_eq!(g.count, 2);
    let mut names: Vec<&str> = grouped.groups.iter().map(|g| g.name.as_str()).collect();
    let sorted = {
        let mut v = names.clone();
        v.sort();
        v
    };
    assert_eq!(names, sorted, "groups sorted by name, as Delve sorts them");
    names.dedup();
    let limited = s.list(&Query {
        group_by: Some(Field::UserLoc),
        max_groups: 1,
        ..Query::default()
    });
    assert_eq!(limited.groups.len(), 1);
    assert!(limited.too_many_groups);
    // The start location names the function a `go` wrapper called.
    let by_start = s.list(&Query {
        filters: vec![Filter::delve(
            Field::StartLoc,
            false,
            "startInChannelConsumer",
        )],
        ..Query::default()
    });
    assert_eq!(by_start.goroutines, vec![crate::session::consumer(s)]);
}

#[test]
fn locations_resolve_like_delve() {
    let s = shared();
    let send = s
        .find_location(None, "main.(*Metrics).sendMetricsToOutChannel", false)
        .expect("function");
    assert_eq!(send.len(), 1);
    assert!(
        send[0].file.ends_with("metricsdeadlock/metrics.go"),
        "{send:?}"
    );
    for spec in [
        "Metrics.sendMetricsToOutChannel",
        "(*Metrics).sendMetricsToOutChannel",
        "main.Metrics.sendMetricsToOutChannel",
    ] {
        let l = s.find_location(None, spec, false).expect(spec);
        assert_eq!(l[0].pc, send[0].pc, "{spec}");
    }
    // SetM exists only inlined: found on a goroutine's stack.
    let setm = s
        .find_location(None, "main.(*Metrics).SetM", false)
        .expect("inlined");
    assert_eq!(
        setm[0].line,
        line_of("m.inChannel <- NewSetMetric(key, value, second)")
    );
    let line = line_of("for inMetrics := range m.inChannel");
    // Two files end with metrics.go (the runtime has one): the one with
    // code at that line is meant.
    let at = s
        .find_location(None, &format!("metrics.go:{line}"), false)
        .expect("file:line");
    assert_eq!(at[0].line, line);
    assert!(at[0].pc > 0);
    assert!(
        at[0]
            .function
            .as_ref()
            .is_some_and(|f| f.name.contains("startInChannelConsumer")),
        "{at:?}"
    );
    let by_addr = s
        .find_location(None, &format!("*{:#x}", at[0].pc), false)
        .expect("address");
    assert_eq!(by_addr[0].line, line);
    // A comment line has no code.
    let comment = line_of("// starts a consumer for inChannel");
    let file = "metricsdeadlock/metrics.go";
    assert!(
        s.find_location(None, &format!("{file}:{comment}"), false)
            .is_err()
    );
    let loose = s
        .find_location(None, &format!("{file}:{comment}"), true)
        .expect("listing a line without code");
    assert_eq!(loose[0].pc, 0);
    let re = s
        .find_location(None, "/Metrics..*Consumer/", false)
        .expect("regex");
    assert_eq!(re.len(), 2, "{re:?}");
    assert!(s.find_location(None, "no.such.function", false).is_err());
    assert!(s.find_location(None, "nosuchfile.go:3", false).is_err());
    assert!(s.find_location(None, "*0xzz", false).is_err());
}

#[test]
fn sources_functions_and_threads() {
    let s = shared();
    let src = s.sources("metricsdeadlock").unwrap();
    assert!(
        src.iter()
            .any(|f| f.ends_with("metricsdeadlock/metrics.go")),
        "{src:?}"
    );
    let f = s.functions(r"Metrics\)\.sendMetricsToOutChannel$").unwrap();
    assert_eq!(
        f,
        vec!["main.(*Metrics).sendMetricsToOutChannel".to_string()]
    );
    assert!(s.functions("(").is_err());
    let threads = s.threads();
    assert_eq!(threads.len(), s.capture().target().threads().len());
    assert!(threads.iter().all(|t| t.id > 0 && t.pc > 0));
    let regs = s.thread_registers(0, false).unwrap();
    assert_eq!(regs[0].name, "Rip");
    assert_eq!(regs[0].value, format!("{:#018x}", threads[0].pc));
}
