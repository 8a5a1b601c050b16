//! The memory rules on snapshots built by hand in the shape the runtime
//! reader produces (goroutines with `waiting_for`, start functions and wait
//! times; channels and semaphores with their queues and stack references).
//! Core-based tests join these when the runtime reader lands.

use gosleuth_diagnose::{
    Confidence, FrameRole, Kind, Options, Severity, Subject, diagnose, has_critical,
};
use gosleuth_model::{
    ChannelState, Frame, Goroutine, Snapshot, StackRef, Status, WaitObject, WaitObjectKind,
};

const GOROOT: &str = "/usr/local/go/src";
const APP: &str = "/srv/app";

fn frame(function: &str, file: &str, line: u32) -> Frame {
    Frame {
        function: function.into(),
        args: String::new(),
        file: file.into(),
        line,
        offset: None,
        pc: Some(0x40_0000 + u64::from(line)),
        inlined: false,
    }
}

fn std(function: &str, file: &str, line: u32) -> Frame {
    frame(function, &format!("{GOROOT}/{file}"), line)
}

fn app(function: &str, file: &str, line: u32) -> Frame {
    frame(function, &format!("{APP}/{file}"), line)
}

fn goroutine(id: u64, state: &str, frames: Vec<Frame>) -> Goroutine {
    Goroutine {
        id,
        status: Status::Waiting,
        state: state.into(),
        frames,
        count: 1,
        ..Goroutine::default()
    }
}

fn chan_send_frames() -> Vec<Frame> {
    vec![
        std("runtime.gopark", "runtime/proc.go", 462),
        std("runtime.chansend", "runtime/chan.go", 283),
        std("runtime.chansend1", "runtime/chan.go", 161),
    ]
}

fn goexit() -> Frame {
    std("runtime.goexit", "runtime/asm_amd64.s", 1771)
}

const IN_CHANNEL: u64 = 0xc000082480;
const OUT_CHANNEL: u64 = 0xc0000824e0;

/// Seed 004 from memory: the consumer (goroutine 20) blocked in SetM
/// sending into inChannel, which it drains in startInChannelConsumer;
/// `requests` request goroutines blocked in CountS on the same channel.
fn seed004(requests: u64) -> Snapshot {
    let mut gs = Vec::new();
    let mut main = goroutine(
        1,
        "IO wait",
        vec![
            std("runtime.gopark", "runtime/proc.go", 462),
            std("internal/poll.runtime_pollWait", "runtime/netpoll.go", 351),
            std(
                "internal/poll.(*FD).Accept",
                "internal/poll/fd_unix.go",
                613,
            ),
            std("net/http.(*Server).Serve", "net/http/server.go", 3434),
            app("main.run", "main.go", 44),
            app("main.main", "main.go", 24),
        ],
    );
    main.start = Some(std("runtime.main", "runtime/proc.go", 147));
    gs.push(main);

    let mut consumer = goroutine(20, "chan send", {
        let mut f = chan_send_frames();
        let mut setm = app("main.(*Metrics).SetM", "metrics.go", 62);
        setm.inlined = true;
        f.push(setm);
        f.push(app(
            "main.(*Metrics).sendMetricsToOutChannel",
            "metrics.go",
            96,
        ));
        f.push(app(
            "main.(*Metrics).startInChannelConsumer",
            "metrics.go",
            78,
        ));
        f.push(goexit());
        f
    });
    consumer.start = Some(app(
        "main.(*Metrics).startInChannelConsumer",
        "metrics.go",
        65,
    ));
    consumer.waiting_for = vec![IN_CHANNEL];
    consumer.wait_nanos = Some(20 * 60_000_000_000);
    consumer.created_by = Some(app("main.NewMetrics", "metrics.go", 50));
    gs.push(consumer);

    let mut out = goroutine(
        21,
        "chan receive",
        vec![
            std("runtime.gopark", "runtime/proc.go", 462),
            std("runtime.chanrecv", "runtime/chan.go", 664),
            std("runtime.chanrecv2", "runtime/chan.go", 511),
            app("main.(*Metrics).startOutChannelConsumer", "metrics.go", 101),
            goexit(),
        ],
    );
    out.waiting_for = vec![OUT_CHANNEL];
    gs.push(out);

    let mut in_refs = vec![
        StackRef {
            goroutine: 20,
            frame: 3,
            indirect: true,
            receives: false,
            held_in: None,
            elem_var: false,
        },
        StackRef {
            goroutine: 20,
            frame: 4,
            indirect: true,
            receives: true, // its select sends on outChannel
            held_in: None,
            elem_var: false,
        },
        StackRef {
            goroutine: 20,
            frame: 5,
            indirect: true,
            receives: true, // for ... range m.inChannel
            held_in: Some("m.inChannel".into()),
            elem_var: true,
        },
        StackRef {
            goroutine: 1,
            frame: 4,
            indirect: true,
            receives: false,
            held_in: None,
            elem_var: false,
        },
    ];
    let mut senders = vec![20];
    for i in 0..requests {
        let id = 1000 + i;
        let mut f = chan_send_frames();
        let mut counts = app("main.(*Metrics).CountS", "metrics.go", 57);
        counts.inlined = true;
        f.push(counts);
        f.push(app("main.run.func1", "main.go", 33));
        f.push(std(
            "net/http.HandlerFunc.ServeHTTP",
            "net/http/server.go",
            2286,
        ));
        f.push(std("net/http.(*conn).serve", "net/http/server.go", 2067));
        f.push(goexit());
        let mut g = goroutine(id, "chan send", f);
        g.waiting_for = vec![IN_CHANNEL];
        g.created_by = Some(std("net/http.(*Server).Serve", "net/http/server.go", 3464));
        gs.push(g);
        senders.push(id);
        in_refs.push(StackRef {
            goroutine: id,
            frame: 4,
            indirect: true,
            receives: false,
            held_in: None,
            elem_var: false,
        });
    }
    let objects = vec![
        WaitObject {
            addr: IN_CHANNEL,
            kind: WaitObjectKind::Channel,
            channel: Some(ChannelState {
                elem_type: Some("main.Metric".into()),
                len: 100,
                cap: 100,
                closed: false,
            }),
            senders,
            receivers: vec![],
            referenced_by: in_refs,
            owner: Some("(*main.Metrics).inChannel".into()),
        },
        WaitObject {
            addr: OUT_CHANNEL,
            kind: WaitObjectKind::Channel,
            channel: Some(ChannelState {
                elem_type: Some("map[string]int64".into()),
                len: 0,
                cap: 1,
                closed: false,
            }),
            senders: vec![],
            receivers: vec![21],
            referenced_by: vec![
                StackRef {
                    goroutine: 21,
                    frame: 3,
                    indirect: true,
                    receives: true,
                    held_in: None,
                    elem_var: false,
                },
                StackRef {
                    goroutine: 20,
                    frame: 4,
                    indirect: true,
                    receives: true,
                    held_in: None,
                    elem_var: false,
                },
            ],
            owner: Some("(*main.Metrics).outChannel".into()),
        },
    ];
    Snapshot {
        goroutines: gs,
        objects,
        ..Snapshot::default()
    }
}

#[test]
fn seed004_first_finding_is_the_self_deadlock() {
    let findings = diagnose(&Subject::from_snapshot(seed004(5000)), &Options::default());
    assert!(has_critical(&findings));
    let f = &findings[0];
    assert_eq!(f.kind, Kind::SelfDeadlock, "{findings:#?}");
    assert_eq!(f.severity, Severity::Critical);
    assert_eq!(f.confidence, Confidence::High);
    assert!(f.title.contains("goroutine 20"), "{}", f.title);
    let e = &f.explanation;
    for needle in [
        "goroutine 20",
        "started in main.(*Metrics).startInChannelConsumer",
        "main.(*Metrics).SetM at app/metrics.go:62",
        "cap 100, len 100",
        "(*main.Metrics).inChannel",
        "only goroutine proved to receive",
        "its variable m.inChannel holds this one",
        "5000 other goroutines are also blocked sending on it",
        "main.(*Metrics).CountS",
        "20 minutes",
    ] {
        assert!(e.contains(needle), "{needle:?} not in {e}");
    }
    let o = &f.evidence.objects[0];
    assert_eq!((o.addr, o.len, o.cap), (IN_CHANNEL, Some(100), Some(100)));
    assert_eq!(o.senders, 5001);
    assert_eq!(o.drainers, vec![20]);
    assert_eq!(f.evidence.count, 5001);
    assert_eq!(f.evidence.goroutines[0], 20);
    let blocked = f
        .evidence
        .frames
        .iter()
        .find(|x| x.role == FrameRole::BlockedAt)
        .expect("blocked at");
    assert_eq!(
        (blocked.function.as_str(), blocked.line),
        ("main.(*Metrics).SetM", 62)
    );
    let drains = f
        .evidence
        .frames
        .iter()
        .find(|x| x.role == FrameRole::DrainsAt)
        .expect("drains at");
    assert_eq!(drains.function, "main.(*Metrics).startInChannelConsumer");
    assert_eq!(f.evidence.sites[0].function, "main.(*Metrics).CountS");
    assert_eq!(f.evidence.sites[0].count, 5000);

    // The pile-up behind it: critical (thousands on one object), after it.
    let pile = findings
        .iter()
        .find(|f| f.kind == Kind::PileUp)
        .expect("pile-up");
    assert_eq!(pile.severity, Severity::Critical);
    assert_eq!(pile.evidence.objects[0].addr, IN_CHANNEL);
    assert!(
        pile.explanation.contains("itself blocked sending"),
        "{}",
        pile.explanation
    );
    assert_eq!(pile.evidence.related[0].goroutine, 20);
}

#[test]
fn no_self_deadlock_when_another_goroutine_drains() {
    let mut snap = seed004(50);
    // Another goroutine that receives from the channel and is running.
    let mut other = goroutine(30, "running", vec![app("main.drain", "drain.go", 10)]);
    other.status = Status::Running;
    snap.goroutines.push(other);
    snap.objects[0].referenced_by.push(StackRef {
        goroutine: 30,
        frame: 0,
        indirect: false,
        receives: true,
        held_in: Some("ch".into()),
        elem_var: true,
    });
    let findings = diagnose(&Subject::from_snapshot(snap), &Options::default());
    assert!(
        findings.iter().all(|f| f.kind != Kind::SelfDeadlock),
        "{findings:#?}"
    );
    // A goroutine queued to receive on it drains it too (and the channel
    // cannot then be full with senders queued: no finding either way).
    let mut snap = seed004(50);
    snap.objects[0].receivers.push(21);
    let findings = diagnose(&Subject::from_snapshot(snap), &Options::default());
    assert!(findings.iter().all(|f| f.kind != Kind::SelfDeadlock));
    // Not full: no self-deadlock either.
    let mut snap = seed004(50);
    if let Some(c) = snap.objects[0].channel.as_mut() {
        c.len = 99;
    }
    let findings = diagnose(&Subject::from_snapshot(snap), &Options::default());
    assert!(findings.iter().all(|f| f.kind != Kind::SelfDeadlock));
}

/// Goroutines whose stacks hold the channel's address in functions that
/// receive from channels, with no variable (DWARF) that proves it: an
/// HTTP client blocked in a select and a connection reading from the
/// network, as in a core of the real seed-004 service. Issue #14: they
/// were called receivers ("receives from this channel (can drain it)").
fn with_stale_candidates(mut snap: Snapshot) -> Snapshot {
    let mut client = goroutine(
        40,
        "select",
        vec![
            std("runtime.gopark", "runtime/proc.go", 462),
            std("runtime.selectgo", "runtime/select.go", 351),
            std(
                "net/http.(*persistConn).roundTrip",
                "net/http/transport.go",
                2803,
            ),
            std(
                "net/http.(*Transport).roundTrip",
                "net/http/transport.go",
                696,
            ),
            app("main.report", "report.go", 31),
            goexit(),
        ],
    );
    client.waiting_for = vec![0xc000300000, 0xc000300060];
    let read = goroutine(
        41,
        "IO wait",
        vec![
            std("runtime.gopark", "runtime/proc.go", 462),
            std("internal/poll.runtime_pollWait", "runtime/netpoll.go", 351),
            std("internal/poll.(*FD).Read", "internal/poll/fd_unix.go", 165),
            std("net.(*netFD).Read", "net/fd_posix.go", 68),
            std("net/http.(*connReader).Read", "net/http/server.go", 805),
            std("net/http.(*conn).serve", "net/http/server.go", 2110),
            goexit(),
        ],
    );
    snap.goroutines.push(client);
    snap.goroutines.push(read);
    for (g, frame) in [(40, 2), (41, 5)] {
        snap.objects[0].referenced_by.push(StackRef {
            goroutine: g,
            frame,
            indirect: false,
            receives: true,
            held_in: None,
            elem_var: false,
        });
    }
    snap
}

#[test]
fn stale_words_on_stacks_are_candidates_never_receivers() {
    let findings = diagnose(
        &Subject::from_snapshot(with_stale_candidates(seed004(5000))),
        &Options::default(),
    );
    // The consumer is the only proved receiver: still a self-deadlock,
    // first, with the doubt said.
    let f = &findings[0];
    assert_eq!(f.kind, Kind::SelfDeadlock, "{findings:#?}");
    assert_eq!(f.severity, Severity::Critical);
    assert_eq!(f.confidence, Confidence::Medium);
    assert!(f.title.contains("goroutine 20"), "{}", f.title);
    let o = &f.evidence.objects[0];
    assert_eq!(o.drainers, vec![20]);
    assert_eq!(o.candidate_drainers, vec![40, 41]);
    assert!(
        f.explanation.contains("Not counted as receivers"),
        "{}",
        f.explanation
    );
    for g in [40, 41] {
        let r = f
            .evidence
            .related
            .iter()
            .find(|r| r.goroutine == g)
            .expect("named as a candidate");
        assert!(r.why.contains("may drain it (inferred"), "{}", r.why);
    }
    // Nowhere are they said to receive.
    let pile = findings
        .iter()
        .find(|f| f.kind == Kind::PileUp)
        .expect("pile-up");
    for r in pile.evidence.related.iter().filter(|r| r.goroutine >= 40) {
        assert!(r.why.starts_with("may drain it (inferred"), "{}", r.why);
    }
    assert_eq!(pile.evidence.objects[0].drainers, vec![20]);
    assert_eq!(pile.evidence.objects[0].candidate_drainers, vec![40, 41]);
    let json = serde_json::to_string(&findings).expect("json");
    assert!(!json.contains("can drain it"), "{json}");
    assert!(!json.contains("receives from this channel"), "{json}");
}

#[test]
fn sole_candidate_is_an_inferred_self_deadlock() {
    // No DWARF (a stripped binary): the consumer is only a candidate, the
    // only one.
    let mut snap = seed004(500);
    for r in &mut snap.objects[0].referenced_by {
        r.held_in = None;
        r.elem_var = false;
    }
    let findings = diagnose(&Subject::from_snapshot(snap.clone()), &Options::default());
    let f = &findings[0];
    assert_eq!(f.kind, Kind::SelfDeadlock, "{findings:#?}");
    assert_eq!(f.confidence, Confidence::Medium);
    assert!(f.title.contains("(inferred)"), "{}", f.title);
    assert!(f.explanation.contains("Inferred:"), "{}", f.explanation);
    assert!(
        f.evidence
            .frames
            .iter()
            .any(|x| x.role == FrameRole::MayDrainAt
                && x.function == "main.(*Metrics).startInChannelConsumer")
    );
    assert!(
        f.evidence
            .frames
            .iter()
            .all(|x| x.role != FrameRole::DrainsAt)
    );
    assert!(f.evidence.objects[0].drainers.is_empty());
    assert_eq!(f.evidence.objects[0].candidate_drainers, vec![20]);
    // A variable holds it, but the function has nothing of the element
    // type to receive into (it receives from other channels): still only
    // a candidate.
    for r in &mut snap.objects[0].referenced_by {
        r.held_in = Some("m.inChannel".into());
    }
    let findings = diagnose(&Subject::from_snapshot(snap), &Options::default());
    assert!(findings[0].title.contains("(inferred)"));
    // Two candidates and no proof: no self-deadlock.
    let mut snap = with_stale_candidates(seed004(500));
    for r in &mut snap.objects[0].referenced_by {
        r.held_in = None;
    }
    let findings = diagnose(&Subject::from_snapshot(snap), &Options::default());
    assert!(
        findings.iter().all(|f| f.kind != Kind::SelfDeadlock),
        "{findings:#?}"
    );
    let pile = findings
        .iter()
        .find(|f| f.kind == Kind::PileUp)
        .expect("pile-up");
    assert!(
        pile.explanation
            .contains("No goroutine is proved to receive from it"),
        "{}",
        pile.explanation
    );
}

#[test]
fn self_deadlock_shows_the_consumers_whole_chain() {
    let findings = diagnose(&Subject::from_snapshot(seed004(50)), &Options::default());
    let f = &findings[0];
    let chain: Vec<(FrameRole, &str, bool)> = f
        .evidence
        .frames
        .iter()
        .filter(|x| x.goroutine == Some(20))
        .map(|x| (x.role, x.function.as_str(), x.inlined))
        .collect();
    assert_eq!(
        chain,
        vec![
            (FrameRole::BlockedAt, "main.(*Metrics).SetM", true),
            (
                FrameRole::CalledFrom,
                "main.(*Metrics).sendMetricsToOutChannel",
                false
            ),
            (
                FrameRole::DrainsAt,
                "main.(*Metrics).startInChannelConsumer",
                false
            ),
            (
                FrameRole::StartedAt,
                "main.(*Metrics).startInChannelConsumer",
                false
            ),
        ]
    );
    assert!(
        f.explanation.contains(
            "main.(*Metrics).SetM at app/metrics.go:62 (inlined), called from \
             main.(*Metrics).sendMetricsToOutChannel at app/metrics.go:96, called from \
             main.(*Metrics).startInChannelConsumer at app/metrics.go:78"
        ),
        "{}",
        f.explanation
    );
}

/// The consumer drains inChannel and is blocked sending into another full
/// channel that only it drains: blocked on something only it would
/// release. The finding names both channels and the requests behind it.
#[test]
fn consumer_blocked_on_another_channel_only_it_drains() {
    const RETRY: u64 = 0xc000082540;
    let mut snap = seed004(500);
    snap.goroutines[1].waiting_for = vec![RETRY];
    snap.objects[0].senders.retain(|&g| g != 20);
    snap.objects.push(WaitObject {
        addr: RETRY,
        kind: WaitObjectKind::Channel,
        channel: Some(ChannelState {
            elem_type: Some("main.Metric".into()),
            len: 1,
            cap: 1,
            closed: false,
        }),
        senders: vec![20],
        receivers: vec![],
        referenced_by: vec![StackRef {
            goroutine: 20,
            frame: 5,
            indirect: true,
            receives: true,
            held_in: Some("m.retry".into()),
            elem_var: true,
        }],
        owner: Some("(*main.Metrics).retry".into()),
    });
    snap.objects.sort_by_key(|o| o.addr);
    let findings = diagnose(&Subject::from_snapshot(snap), &Options::default());
    let f = &findings[0];
    assert_eq!(f.kind, Kind::SelfDeadlock, "{findings:#?}");
    assert_eq!(f.evidence.objects[0].addr, RETRY);
    assert_eq!(f.evidence.objects[1].addr, IN_CHANNEL);
    assert!(
        f.explanation.contains(
            "Goroutine 20 is also the only goroutine that receives from channel 0xc000082480 \
             ((*main.Metrics).inChannel"
        ),
        "{}",
        f.explanation
    );
    assert!(
        f.explanation.contains("500 goroutines are blocked sending"),
        "{}",
        f.explanation
    );
    assert_eq!(f.evidence.count, 501);
}

const ALICE_SEMA: u64 = 0xc0000bc104;
const BOB_SEMA: u64 = 0xc0000bc124;

fn lock_frames(func_line: u32, closure: &str) -> Vec<Frame> {
    vec![
        std("runtime.gopark", "runtime/proc.go", 462),
        std("runtime.goparkunlock", "runtime/proc.go", 468),
        std("runtime.semacquire1", "runtime/sema.go", 188),
        std(
            "internal/sync.runtime_SemacquireMutex",
            "runtime/sema.go",
            95,
        ),
        std(
            "internal/sync.(*Mutex).lockSlow",
            "internal/sync/mutex.go",
            149,
        ),
        std("internal/sync.(*Mutex).Lock", "internal/sync/mutex.go", 70),
        std("sync.(*Mutex).Lock", "sync/mutex.go", 46),
        app("main.transfer", "main.go", func_line),
        app(closure, "main.go", 48),
        goexit(),
    ]
}

/// The lock-order program from memory: 20 holds alice and waits for bob,
/// 21 holds bob and waits for alice; main also references both accounts.
fn lockorder() -> Snapshot {
    let mut a = goroutine(20, "sync.Mutex.Lock", lock_frames(28, "main.main.func1"));
    a.waiting_for = vec![BOB_SEMA];
    let mut b = goroutine(21, "sync.Mutex.Lock", lock_frames(28, "main.main.func2"));
    b.waiting_for = vec![ALICE_SEMA];
    let main = goroutine(
        1,
        "IO wait",
        vec![
            std("internal/poll.runtime_pollWait", "runtime/netpoll.go", 351),
            app("main.main", "main.go", 56),
        ],
    );
    let r = |g, frame| StackRef {
        goroutine: g,
        frame,
        indirect: true,
        receives: false,
        held_in: None,
        elem_var: false,
    };
    let sema = |addr, waiter, refs| WaitObject {
        addr,
        kind: WaitObjectKind::Semaphore,
        channel: None,
        senders: vec![],
        receivers: vec![waiter],
        referenced_by: refs,
        owner: None,
    };
    Snapshot {
        goroutines: vec![main, a, b],
        objects: vec![
            sema(ALICE_SEMA, 21, vec![r(20, 7), r(21, 7), r(1, 1)]),
            sema(BOB_SEMA, 20, vec![r(20, 7), r(21, 7), r(1, 1)]),
        ],
        ..Snapshot::default()
    }
}

#[test]
fn lock_order_cycle_from_memory() {
    let findings = diagnose(&Subject::from_snapshot(lockorder()), &Options::default());
    let f = &findings[0];
    assert_eq!(f.kind, Kind::LockOrderDeadlock, "{findings:#?}");
    assert_eq!(f.severity, Severity::Critical);
    assert_eq!(f.confidence, Confidence::Medium);
    assert!(f.title.contains("goroutines 20 and 21"), "{}", f.title);
    assert_eq!(f.evidence.cycle.len(), 2);
    let s0 = &f.evidence.cycle[0];
    let s1 = &f.evidence.cycle[1];
    assert_eq!((s0.goroutine, s0.lock, s0.held_by), (20, BOB_SEMA, 21));
    assert_eq!((s1.goroutine, s1.lock, s1.held_by), (21, ALICE_SEMA, 20));
    for s in [s0, s1] {
        assert_eq!(
            (s.blocked_at.function.as_str(), s.blocked_at.line),
            ("main.transfer", 28)
        );
        assert_eq!(s.holder_frame.function, "main.transfer");
    }
    // main references both accounts too: the explanation says the holder
    // could be another goroutine.
    assert!(
        f.explanation.contains("could be the holder instead"),
        "{}",
        f.explanation
    );
    assert!(f.explanation.contains("inferred from stack references"));
}

#[test]
fn no_cycle_when_the_holder_is_running() {
    let mut snap = lockorder();
    // 21 is not blocked: it holds bob and is running.
    snap.goroutines[2].status = Status::Running;
    snap.goroutines[2].state = "running".into();
    snap.goroutines[2].waiting_for.clear();
    snap.objects[0].receivers.clear();
    let findings = diagnose(&Subject::from_snapshot(snap), &Options::default());
    assert!(
        findings.iter().all(|f| f.kind != Kind::LockOrderDeadlock),
        "{findings:#?}"
    );
}

#[test]
fn semaphore_pile_up_names_the_probable_holder() {
    const SEMA: u64 = 0xc000100004;
    let mut gs = Vec::new();
    let mut refs = Vec::new();
    let mut waiters = Vec::new();
    for i in 0..300u64 {
        let id = 100 + i;
        let mut g = goroutine(id, "sync.Mutex.Lock", lock_frames(80, "main.handle"));
        g.waiting_for = vec![SEMA];
        gs.push(g);
        waiters.push(id);
        refs.push(StackRef {
            goroutine: id,
            frame: 7,
            indirect: true,
            receives: false,
            held_in: None,
            elem_var: false,
        });
    }
    // The holder waits on a channel with the lock held.
    gs.push(goroutine(
        7,
        "chan receive",
        vec![
            std("runtime.gopark", "runtime/proc.go", 462),
            app("main.(*Cache).refresh", "cache.go", 120),
        ],
    ));
    refs.push(StackRef {
        goroutine: 7,
        frame: 1,
        indirect: true,
        receives: true,
        held_in: None,
        elem_var: false,
    });
    let snap = Snapshot {
        goroutines: gs,
        objects: vec![WaitObject {
            addr: SEMA,
            kind: WaitObjectKind::Semaphore,
            channel: None,
            senders: vec![],
            receivers: waiters,
            referenced_by: refs,
            owner: Some("(*main.Cache).mu".into()),
        }],
        ..Snapshot::default()
    };
    let findings = diagnose(&Subject::from_snapshot(snap), &Options::default());
    let p = findings
        .iter()
        .find(|f| f.kind == Kind::PileUp)
        .expect("pile-up");
    assert_eq!(p.severity, Severity::Warning, "300 < 1000 is not critical");
    assert_eq!(p.evidence.count, 300);
    assert_eq!(p.evidence.objects[0].holders, vec![7]);
    assert!(
        p.explanation
            .contains("goroutine 7, chan receive in main.(*Cache).refresh"),
        "{}",
        p.explanation
    );
    assert!(p.explanation.contains("(*main.Cache).mu"));
}

#[test]
fn channel_pile_up_without_a_consumer() {
    const CH: u64 = 0xc000200000;
    let mut gs = Vec::new();
    let mut ids = Vec::new();
    for i in 0..150u64 {
        let mut g = goroutine(
            10 + i,
            "chan receive",
            vec![
                std("runtime.gopark", "runtime/proc.go", 462),
                std("runtime.chanrecv1", "runtime/chan.go", 506),
                app("main.worker", "worker.go", 12),
            ],
        );
        g.waiting_for = vec![CH];
        ids.push(g.id);
        gs.push(g);
    }
    let snap = Snapshot {
        goroutines: gs,
        objects: vec![WaitObject {
            addr: CH,
            kind: WaitObjectKind::Channel,
            channel: Some(ChannelState {
                elem_type: Some("main.Job".into()),
                len: 0,
                cap: 0,
                closed: false,
            }),
            senders: vec![],
            receivers: ids,
            referenced_by: vec![],
            owner: None,
        }],
        ..Snapshot::default()
    };
    let findings = diagnose(&Subject::from_snapshot(snap), &Options::default());
    let p = findings
        .iter()
        .find(|f| f.kind == Kind::PileUp)
        .expect("pile-up");
    assert!(
        p.explanation
            .contains("nobody is left to send on it or close it"),
        "{}",
        p.explanation
    );
    // Every goroutine blocked on a channel, none running: asleep.
    let asleep = findings
        .iter()
        .find(|f| f.kind == Kind::AllAsleep)
        .expect("all asleep");
    assert_eq!(asleep.severity, Severity::Critical);
    assert_eq!(asleep.evidence.count, 150);
}

#[test]
fn not_asleep_while_a_goroutine_waits_on_the_network() {
    let snap = seed004(10);
    let findings = diagnose(&Subject::from_snapshot(snap), &Options::default());
    assert!(findings.iter().all(|f| f.kind != Kind::AllAsleep));
}

#[test]
fn panic_in_progress_from_memory() {
    let g = goroutine(
        5,
        "running",
        vec![
            std("runtime.gopanic", "runtime/panic.go", 783),
            std("runtime.panicmem", "runtime/panic.go", 262),
            std("runtime.sigpanic", "runtime/signal_unix.go", 925),
            app("main.Handler", "main.go", 50),
            app("main.main.func1", "main.go", 62),
            goexit(),
        ],
    );
    let snap = Snapshot {
        goroutines: vec![g],
        ..Snapshot::default()
    };
    let findings = diagnose(&Subject::from_snapshot(snap), &Options::default());
    let f = &findings[0];
    assert_eq!(f.kind, Kind::Panic);
    assert_eq!(f.severity, Severity::Critical);
    let raised = &f.evidence.frames[0];
    assert_eq!(
        (raised.role, raised.function.as_str(), raised.line),
        (FrameRole::RaisedAt, "main.Handler", 50)
    );
}

#[test]
fn long_network_read_without_deadline() {
    let mut g = goroutine(
        42,
        "IO wait",
        vec![
            std("runtime.gopark", "runtime/proc.go", 462),
            std("internal/poll.runtime_pollWait", "runtime/netpoll.go", 351),
            std(
                "internal/poll.(*pollDesc).wait",
                "internal/poll/fd_poll_runtime.go",
                84,
            ),
            std("internal/poll.(*FD).Read", "internal/poll/fd_unix.go", 165),
            std("net.(*netFD).Read", "net/fd_posix.go", 68),
            std("net.(*conn).Read", "net/net.go", 196),
            std("bufio.(*Reader).fill", "bufio/bufio.go", 113),
            app("main.fetchQuote", "quote.go", 45),
            goexit(),
        ],
    );
    g.wait_nanos = Some(45 * 60_000_000_000);
    let mut accept = goroutine(
        1,
        "IO wait",
        vec![
            std("internal/poll.runtime_pollWait", "runtime/netpoll.go", 351),
            std(
                "internal/poll.(*FD).Accept",
                "internal/poll/fd_unix.go",
                613,
            ),
            app("main.main", "main.go", 20),
        ],
    );
    accept.wait_nanos = Some(600 * 60_000_000_000);
    let snap = Snapshot {
        goroutines: vec![accept, g],
        ..Snapshot::default()
    };
    let findings = diagnose(&Subject::from_snapshot(snap), &Options::default());
    let reads: Vec<_> = findings
        .iter()
        .filter(|f| f.kind == Kind::LongNetworkRead)
        .collect();
    assert_eq!(reads.len(), 1, "{findings:#?}");
    let f = reads[0];
    assert_eq!(f.severity, Severity::Warning);
    assert_eq!(f.evidence.goroutines, vec![42]);
    assert_eq!(f.evidence.wait_minutes, Some(45));
    assert_eq!(f.evidence.sites[0].function, "main.fetchQuote");
    assert!(f.explanation.contains("deadline"));
}

#[test]
fn runaway_count() {
    let gs: Vec<Goroutine> = (0..10_001u64)
        .map(|i| {
            let mut g = goroutine(i + 1, "select", vec![app("main.poll", "poll.go", 9)]);
            g.status = Status::Waiting;
            g
        })
        .collect();
    let snap = Snapshot {
        goroutines: gs,
        ..Snapshot::default()
    };
    let findings = diagnose(&Subject::from_snapshot(snap), &Options::default());
    let r = findings
        .iter()
        .find(|f| f.kind == Kind::RunawayGoroutines)
        .expect("runaway");
    assert_eq!(r.severity, Severity::Warning);
    assert_eq!(r.evidence.count, 10_001);
}

/// Diagnosis must stay well under the time it takes to list a
/// 1,000,000-goroutine core (issue #9: at most half of it). Run with
/// `cargo test --release -p gosleuth-diagnose -- --ignored million`.
#[test]
#[ignore]
fn million_goroutines_speed() {
    let snap = seed004(1_000_000);
    let subject = Subject::from_snapshot(snap);
    let t = std::time::Instant::now();
    let findings = diagnose(&subject, &Options::default());
    let took = t.elapsed();
    eprintln!("diagnose of {} goroutines: {took:?}", subject.total);
    assert_eq!(findings[0].kind, Kind::SelfDeadlock);
}

/// Text dumps without lock addresses in the arguments: goroutines stuck
/// for minutes on locks in one function at different lines.
#[test]
fn text_lock_waits_in_one_function_at_different_lines() {
    let waiter = |id: u64, line: u32| {
        let mut frames = lock_frames(line, "main.worker");
        for f in &mut frames {
            f.args = String::from("...");
        }
        let mut g = goroutine(id, "sync.Mutex.Lock", frames);
        g.wait_minutes = Some(7);
        g
    };
    let mut inc = gosleuth_model::Incident::new(gosleuth_model::IncidentKind::Dump, 1);
    inc.goroutines = vec![waiter(5, 24), waiter(6, 28)];
    inc.total = 2;
    let s = Subject::from_incidents("dump", vec![inc]);
    let findings = diagnose(&s, &Options::default());
    assert_eq!(findings.len(), 1, "{findings:#?}");
    let f = &findings[0];
    assert_eq!(f.kind, Kind::LockOrderDeadlock);
    assert_eq!(
        (f.severity, f.confidence),
        (Severity::Warning, Confidence::Low)
    );
    assert_eq!(f.evidence.goroutines, vec![5, 6]);
    assert_eq!(f.evidence.wait_minutes, Some(7));
    assert!(f.explanation.contains("line 24") && f.explanation.contains("line 28"));
    // Fresh waits say nothing.
    let mut inc = gosleuth_model::Incident::new(gosleuth_model::IncidentKind::Dump, 1);
    let mut a = waiter(5, 24);
    let mut b = waiter(6, 28);
    a.wait_minutes = None;
    b.wait_minutes = None;
    inc.goroutines = vec![a, b];
    inc.total = 2;
    let findings = diagnose(
        &Subject::from_incidents("dump", vec![inc]),
        &Options::default(),
    );
    assert!(findings.is_empty(), "{findings:#?}");
}
