//! Diagnosis on real evidence: the factory's programs (factory/README.md)
//! run under every Go release it builds, their text dumps read by the text
//! parser (here) and their cores by the runtime reader (`core.rs`). The
//! memory rules' edge cases are checked on snapshots built by hand
//! (`memory.rs`).

#[cfg(feature = "factory")]
mod core;
mod memory;

#[cfg(feature = "factory")]
use std::path::{Path, PathBuf};

#[cfg(feature = "factory")]
use gosleuth_diagnose::{
    Confidence, Finding, FrameRole, Kind, Options, Severity, Subject, diagnose, diagnose_pair,
    has_critical,
};
#[cfg(feature = "factory")]
use gosleuth_render::findings as report;
#[cfg(feature = "factory")]
use gosleuth_testkit as kit;

#[cfg(feature = "factory")]
fn text_dir(go: &str, cases: &[&str]) -> PathBuf {
    kit::evidence(go, cases).join("text")
}

/// Reads a text dump the way `gosleuth diagnose DUMP` does.
#[cfg(feature = "factory")]
fn subject_of_bytes(name: &str, bytes: &[u8]) -> Subject {
    let e = gosleuth_text::parse(
        bytes,
        gosleuth_text::Options {
            keep_goroutines: true,
            ..Default::default()
        },
    );
    Subject::from_incidents(name, e.incidents)
}

#[cfg(feature = "factory")]
fn subject(path: &Path) -> Subject {
    subject_of_bytes(&path.display().to_string(), &kit::read(path))
}

/// The first line containing `needle` after the line containing `anchor`
/// in a factory program's source.
#[cfg(feature = "factory")]
fn line_after(program_file: &str, anchor: &str, needle: &str) -> u32 {
    let path = kit::repo_root().join("factory/programs").join(program_file);
    let text = std::fs::read_to_string(&path).expect("program source");
    let start = kit::source_line(program_file, anchor) as usize;
    text.lines()
        .enumerate()
        .skip(start)
        .find(|(_, l)| l.contains(needle))
        .map(|(i, _)| i as u32 + 1)
        .unwrap_or_else(|| panic!("{needle:?} after {anchor:?} not in {}", path.display()))
}

#[cfg(feature = "factory")]
fn of_kind(findings: &[Finding], kind: Kind) -> Vec<&Finding> {
    findings.iter().filter(|f| f.kind == kind).collect()
}

#[cfg(feature = "factory")]
fn summary(findings: &[Finding]) -> String {
    let mut s = String::new();
    report::render(&mut s, "findings", 0, findings, &Default::default());
    s
}

/// Seed 004's service, text dump: thousands of requests piled up sending
/// in CountS; the consumer blocked in SetM is named as related, in a method
/// of the same type.
#[cfg(feature = "factory")]
#[test]
fn metricsdeadlock_debug2_is_a_pile_up_in_counts() {
    let counts_line = kit::source_line(
        "metricsdeadlock/metrics.go",
        "m.inChannel <- NewCountMetric(",
    );
    let setm_line = kit::source_line("metricsdeadlock/metrics.go", "m.inChannel <- NewSetMetric(");
    for go in kit::text_go_versions() {
        let s = subject(&text_dir(&go, &["metricsdeadlock"]).join("metricsdeadlock.debug2.txt"));
        let findings = diagnose(&s, &Options::default());
        let piles = of_kind(&findings, Kind::PileUp);
        assert_eq!(piles.len(), 1, "{go}: {}", summary(&findings));
        let p = piles[0];
        let site = &p.evidence.sites[0];
        assert_eq!(site.function, "main.(*Metrics).CountS", "{go}");
        assert_eq!(site.line, counts_line, "{go}");
        assert_eq!(site.state, "chan send", "{go}");
        assert!(site.count >= 10_000, "{go}: {}", site.count);
        assert_eq!(p.evidence.count, site.count, "{go}");
        assert_eq!(
            p.severity,
            Severity::Warning,
            "{go}: text cannot see the channel"
        );
        assert!(p.title.contains("CountS"), "{go}: {}", p.title);
        // The stuck consumer, found by the rule "blocked on a channel in a
        // method of the same type", is listed first.
        let first = p.evidence.related.first().expect("related goroutines");
        assert_eq!(first.state, "chan send", "{go}");
        let f = first.frame.as_ref().expect("a frame");
        assert_eq!(
            (f.function.as_str(), f.line),
            ("main.(*Metrics).SetM", setm_line),
            "{go}"
        );
        assert!(
            first.why.contains("startInChannelConsumer"),
            "{go}: {}",
            first.why
        );
        assert!(
            p.explanation
                .contains(&format!("If goroutine {} is the one", first.goroutine)),
            "{go}: {}",
            p.explanation
        );
        // More than 10,000 goroutines in all.
        let run = of_kind(&findings, Kind::RunawayGoroutines);
        assert_eq!(run.len(), 1, "{go}");
        assert!(run[0].evidence.count > 10_000, "{go}");
        assert_eq!(run[0].evidence.sites[0].function, "main.(*Metrics).CountS");
        // Nothing critical from a text dump of a hung (not crashed) process.
        assert!(!has_critical(&findings), "{go}: {}", summary(&findings));
        // The inferred self-deadlock first (the cause), then the pile-up
        // (it is about fewer goroutines than the runaway count, but names
        // the cause).
        assert_eq!(findings[0].kind, Kind::SelfDeadlock, "{go}");
        assert_eq!(findings[1].kind, Kind::PileUp, "{go}");
        assert_consumer_self_deadlock(&go, &findings[0], first.goroutine);
    }
}

/// Finding `f` of a text dump of the seed-004 service is the inferred
/// self-deadlock of goroutine `consumer`, with its chain of frames from the
/// inlined send out to the loop that drains.
#[cfg(feature = "factory")]
fn assert_consumer_self_deadlock(go: &str, f: &Finding, consumer: u64) {
    let setm_line = kit::source_line("metricsdeadlock/metrics.go", "m.inChannel <- NewSetMetric(");
    assert_eq!(f.kind, Kind::SelfDeadlock, "{go}");
    assert_eq!(f.severity, Severity::Warning, "{go}: inferred from text");
    assert_ne!(f.confidence, Confidence::High, "{go}");
    assert!(f.title.contains("self-deadlock"), "{go}: {}", f.title);
    assert!(f.title.contains("inferred"), "{go}: {}", f.title);
    assert!(
        f.title.contains(&format!("goroutine {consumer} ")),
        "{go}: {}",
        f.title
    );
    assert!(f.explanation.contains("Inferred from the stacks"), "{go}");
    assert_eq!(f.evidence.goroutines[0], consumer, "{go}");
    let chain: Vec<(FrameRole, &str)> = f
        .evidence
        .frames
        .iter()
        .filter(|x| x.goroutine == Some(consumer))
        .map(|x| (x.role, x.function.as_str()))
        .collect();
    assert_eq!(
        &chain[..3],
        &[
            (FrameRole::BlockedAt, "main.(*Metrics).SetM"),
            (
                FrameRole::CalledFrom,
                "main.(*Metrics).sendMetricsToOutChannel"
            ),
            (
                FrameRole::MayDrainAt,
                "main.(*Metrics).startInChannelConsumer"
            ),
        ],
        "{go}: {chain:?}"
    );
    let setm = &f.evidence.frames[0];
    assert_eq!(setm.line, setm_line, "{go}");
    assert!(setm.inlined, "{go}: SetM is inlined into its caller");
    assert!(
        f.evidence
            .frames
            .iter()
            .all(|x| x.role != FrameRole::DrainsAt),
        "{go}: a text dump proves no receiver"
    );
    let site = &f.evidence.sites[0];
    assert_eq!(site.function, "main.(*Metrics).CountS", "{go}");
    assert!(site.count >= 10_000, "{go}: {}", site.count);
}

/// The SIGQUIT dump of the seed-004 service: finding 1 is the consumer's
/// self-deadlock, inferred from the stacks (issue #14: it was only a
/// hedge inside the pile-up), tied to the pile-up by the channel the dump
/// prints for `runtime.chansend`.
#[cfg(feature = "factory")]
#[test]
fn metricsdeadlock_sigquit_first_finding_is_the_consumers_self_deadlock() {
    for go in kit::text_go_versions() {
        let s = subject(&text_dir(&go, &["metricsdeadlock"]).join("metricsdeadlock.sigquit.txt"));
        let findings = diagnose(&s, &Options::default());
        let f = &findings[0];
        // The consumer: the goroutine started in startInChannelConsumer.
        let consumer = s
            .snapshot
            .goroutines
            .iter()
            .find(|g| {
                g.frames
                    .iter()
                    .any(|f| f.function == "main.(*Metrics).startInChannelConsumer")
            })
            .map(|g| g.id)
            .expect("the consumer");
        assert_consumer_self_deadlock(&go, f, consumer);
        if f.explanation.contains("on the same channel, 0x") {
            assert_eq!(f.confidence, Confidence::Medium, "{go}");
        }
        assert!(!has_critical(&findings), "{go}: {}", summary(&findings));
    }
}

/// The same SIGQUIT dump with every name changed: the same finding.
#[cfg(feature = "factory")]
#[test]
fn text_self_deadlock_comes_from_rules_not_names() {
    let dir = text_dir("installed", &["metricsdeadlock"]);
    let text =
        String::from_utf8(kit::read(&dir.join("metricsdeadlock.sigquit.txt"))).expect("utf-8");
    let renamed = text
        .replace("main.(*Metrics)", "billing.(*Ledger)")
        .replace("CountS", "Record")
        .replace("SetM", "Gauge")
        .replace("sendMetricsToOutChannel", "flush")
        .replace("startInChannelConsumer", "loop")
        .replace("NewMetrics", "NewLedger")
        .replace("metricsdeadlock/", "billing/");
    let findings = diagnose(
        &subject_of_bytes("renamed", renamed.as_bytes()),
        &Options::default(),
    );
    let f = &findings[0];
    assert_eq!(f.kind, Kind::SelfDeadlock, "{}", summary(&findings));
    let chain: Vec<&str> = f
        .evidence
        .frames
        .iter()
        .take(3)
        .map(|x| x.function.as_str())
        .collect();
    assert_eq!(
        chain,
        [
            "billing.(*Ledger).Gauge",
            "billing.(*Ledger).flush",
            "billing.(*Ledger).loop"
        ]
    );
    assert_eq!(f.evidence.sites[0].function, "billing.(*Ledger).Record");
}

/// Huge dumps are diagnosed from their groups (the parser keeps one
/// goroutine per distinct stack): the pile-up is the same.
#[cfg(feature = "factory")]
#[test]
fn pile_up_from_groups_only() {
    let path = text_dir("installed", &["metricsdeadlock"]).join("metricsdeadlock.debug2.txt");
    let e = gosleuth_text::parse(&kit::read(&path), gosleuth_text::Options::default());
    let s = Subject::from_incidents("groups", e.incidents);
    let findings = diagnose(&s, &Options::default());
    let p = of_kind(&findings, Kind::PileUp);
    assert_eq!(p.len(), 1, "{}", summary(&findings));
    assert_eq!(p[0].evidence.sites[0].function, "main.(*Metrics).CountS");
    assert!(p[0].evidence.count >= 10_000);
    assert_eq!(of_kind(&findings, Kind::RunawayGoroutines).len(), 1);
}

/// The same dump with every name changed: the findings follow the
/// structure, not the names of the factory's program.
#[cfg(feature = "factory")]
#[test]
fn pile_up_comes_from_rules_not_names() {
    let dir = text_dir("installed", &["metricsdeadlock"]);
    let text =
        String::from_utf8(kit::read(&dir.join("metricsdeadlock.debug2.txt"))).expect("utf-8 dump");
    let renamed = text
        .replace("main.(*Metrics)", "billing.(*Ledger)")
        .replace("CountS", "Record")
        .replace("SetM", "Gauge")
        .replace("startInChannelConsumer", "loop")
        .replace("metricsdeadlock/", "billing/");
    let s = subject_of_bytes("renamed", renamed.as_bytes());
    let findings = diagnose(&s, &Options::default());
    let p = of_kind(&findings, Kind::PileUp)[0];
    assert_eq!(p.evidence.sites[0].function, "billing.(*Ledger).Record");
    let first = &p.evidence.related[0];
    assert_eq!(
        first.frame.as_ref().map(|f| f.function.as_str()),
        Some("billing.(*Ledger).Gauge")
    );
    assert!(
        first.why.contains("billing.(*Ledger).loop"),
        "{}",
        first.why
    );
}

/// The debug=1 profile of the same service: no states, still a pile-up.
#[cfg(feature = "factory")]
#[test]
fn metricsdeadlock_debug1_profile_is_a_pile_up() {
    for go in kit::text_go_versions() {
        let s = subject(&text_dir(&go, &["metricsdeadlock"]).join("metricsdeadlock.debug1.txt"));
        let findings = diagnose(&s, &Options::default());
        let piles = of_kind(&findings, Kind::PileUp);
        assert_eq!(piles.len(), 1, "{go}: {}", summary(&findings));
        assert_eq!(
            piles[0].evidence.sites[0].function,
            "main.(*Metrics).CountS"
        );
        assert!(piles[0].evidence.count >= 10_000, "{go}");
        assert!(piles[0].title.contains("state not recorded"), "{go}");
    }
}

/// The goroutine-leak program dumped twice: the fetchQuote group (a raw
/// connection read with no deadline) grows, and so does fetchHTTP's (an
/// http.Get without timeout).
#[cfg(feature = "factory")]
#[test]
fn goleak_growth_between_two_dumps() {
    let quote_line = kit::source_line("goleak/main.go", "return bufio.NewReader(conn).ReadString");
    let http_line = kit::source_line("goleak/main.go", "resp, err := http.Get(");
    for go in kit::text_go_versions() {
        let dir = text_dir(&go, &["goleak"]);
        let before = subject(&dir.join("goleak.t1.txt"));
        let after = subject(&dir.join("goleak.t2.txt"));
        let findings = diagnose_pair(&before, &after, &Options::default());
        let leaks = of_kind(&findings, Kind::GoroutineLeak);
        let at = |function: &str| {
            leaks
                .iter()
                .find(|f| {
                    f.evidence
                        .sites
                        .first()
                        .is_some_and(|s| s.function == function)
                })
                .copied()
        };
        let quote = at("main.fetchQuote")
            .unwrap_or_else(|| panic!("{go}: no fetchQuote leak in\n{}", summary(&findings)));
        assert_eq!(quote.evidence.sites[0].line, quote_line, "{go}");
        assert_eq!(quote.evidence.sites[0].state, "IO wait", "{go}");
        assert_eq!(quote.severity, Severity::Warning, "{go}");
        let g = quote.evidence.growth.expect("growth");
        assert!(g.after >= g.before + 3, "{go}: {g:?}");
        assert!(quote.explanation.contains("deadline"), "{go}");
        let created = quote
            .evidence
            .frames
            .iter()
            .find(|f| f.role == FrameRole::CreatedAt)
            .expect("created at");
        assert_eq!(created.function, "main.main", "{go}");
        let http = at("main.fetchHTTP")
            .unwrap_or_else(|| panic!("{go}: no fetchHTTP leak in\n{}", summary(&findings)));
        assert_eq!(http.evidence.sites[0].line, http_line, "{go}");
        // Application leaks outrank the transport goroutines they drag
        // along (standard library only: info).
        let first_info = findings.iter().position(|f| f.severity == Severity::Info);
        let last_app = findings
            .iter()
            .rposition(|f| f.kind == Kind::GoroutineLeak && f.severity == Severity::Warning);
        if let (Some(i), Some(w)) = (first_info, last_app) {
            assert!(w < i, "{go}");
        }
        // The pile-up at the same place is folded into the leak.
        assert!(
            !of_kind(&findings, Kind::PileUp)
                .iter()
                .any(|p| p.evidence.sites[0].function == "main.fetchQuote"),
            "{go}"
        );
        // The same dump twice shows no leak.
        let same = diagnose_pair(&after, &after, &Options::default());
        assert!(of_kind(&same, Kind::GoroutineLeak).is_empty(), "{go}");
    }
}

/// The lock-order program's text dumps: a cycle of two goroutines in
/// transfer, found from the lock addresses printed as arguments.
#[cfg(feature = "factory")]
#[test]
fn lockorder_text_dump_shows_the_cycle() {
    let line = kit::source_line("lockorder/main.go", "to.mu.Lock()");
    for go in kit::go_versions() {
        let dir = text_dir(&go, &["lockorder"]);
        for file in ["lockorder.debug2.txt", "lockorder.sigquit.txt"] {
            let s = subject(&dir.join(file));
            let findings = diagnose(&s, &Options::default());
            let cycles = of_kind(&findings, Kind::LockOrderDeadlock);
            assert_eq!(cycles.len(), 1, "{go} {file}: {}", summary(&findings));
            let c = cycles[0];
            assert_eq!(c.severity, Severity::Warning, "{go} {file}");
            assert_eq!(c.confidence, Confidence::Medium, "{go} {file}");
            assert!(c.title.starts_with("possible lock-order deadlock"), "{go}");
            assert_eq!(c.evidence.cycle.len(), 2, "{go} {file}");
            let (a, b) = (&c.evidence.cycle[0], &c.evidence.cycle[1]);
            assert_eq!(a.held_by, b.goroutine, "{go} {file}");
            assert_eq!(b.held_by, a.goroutine, "{go} {file}");
            assert_ne!(a.lock, b.lock, "{go} {file}");
            for step in &c.evidence.cycle {
                assert_eq!(step.blocked_at.function, "main.transfer", "{go} {file}");
                assert_eq!(step.blocked_at.line, line, "{go} {file}");
                assert_eq!(step.holder_frame.function, "main.transfer", "{go} {file}");
            }
        }
    }
}

/// Renamed lock-order dump: still a cycle.
#[cfg(feature = "factory")]
#[test]
fn lock_cycle_comes_from_rules_not_names() {
    let dir = text_dir("installed", &["lockorder"]);
    let text = String::from_utf8(kit::read(&dir.join("lockorder.debug2.txt"))).expect("utf-8");
    let renamed = text
        .replace("main.transfer", "ledger.move")
        .replace("lockorder/main.go", "ledger/ledger.go");
    let findings = diagnose(
        &subject_of_bytes("renamed", renamed.as_bytes()),
        &Options::default(),
    );
    let c = of_kind(&findings, Kind::LockOrderDeadlock);
    assert_eq!(c.len(), 1, "{}", summary(&findings));
    assert_eq!(c[0].evidence.cycle[0].blocked_at.function, "ledger.move");
}

/// `fatal error: all goroutines are asleep - deadlock!`.
#[cfg(feature = "factory")]
#[test]
fn all_goroutines_asleep() {
    let wait_line = line_after("variants/main.go", "func deadlockCase()", "wg.Wait()");
    for go in kit::text_go_versions() {
        let s = subject(&text_dir(&go, &["variants"]).join("variants.deadlock.txt"));
        let findings = diagnose(&s, &Options::default());
        assert_eq!(findings.len(), 1, "{go}: {}", summary(&findings));
        let f = &findings[0];
        assert_eq!(f.kind, Kind::AllAsleep, "{go}");
        assert_eq!(f.severity, Severity::Critical, "{go}");
        assert!(has_critical(&findings));
        assert!(
            f.evidence
                .message
                .as_deref()
                .is_some_and(|m| m.contains("deadlock"))
        );
        let sites = &f.evidence.sites;
        assert!(
            sites
                .iter()
                .any(|s| s.function == "main.deadlockCase" && s.line == wait_line),
            "{go}: {sites:?}"
        );
        assert!(
            sites.iter().any(|s| s.state == "chan send"),
            "{go}: {sites:?}"
        );
    }
}

/// A panic and a fatal error in progress, with their root causes.
#[cfg(feature = "factory")]
#[test]
fn panic_and_fatal_error() {
    let handler_line = kit::source_line("crash/main.go", "get error: %v\", id, merr.Error()");
    for go in kit::text_go_versions() {
        let s = subject(&text_dir(&go, &["crash"]).join("crash.panic.txt"));
        let findings = diagnose(&s, &Options::default());
        let p = of_kind(&findings, Kind::Panic);
        assert_eq!(p.len(), 1, "{go}: {}", summary(&findings));
        assert_eq!(p[0].severity, Severity::Critical);
        let raised = p[0]
            .evidence
            .frames
            .iter()
            .find(|f| f.role == FrameRole::RaisedAt)
            .expect("raised at");
        assert_eq!(
            (raised.function.as_str(), raised.line),
            ("main.Handler", handler_line),
            "{go}"
        );
        assert!(
            p[0].title.contains("nil pointer dereference"),
            "{go}: {}",
            p[0].title
        );
        assert_eq!(findings[0].kind, Kind::Panic, "{go}");

        let s = subject(&text_dir(&go, &["mapwrites"]).join("mapwrites.fatal.txt"));
        let findings = diagnose(&s, &Options::default());
        let f = of_kind(&findings, Kind::FatalError);
        assert!(!f.is_empty(), "{go}: {}", summary(&findings));
        assert!(f[0].title.contains("concurrent map writes"), "{go}");
        assert_eq!(f[0].severity, Severity::Critical);
    }
}

/// Dumps of healthy programs: nothing to report.
#[cfg(feature = "factory")]
#[test]
fn quiet_on_healthy_dumps() {
    for go in kit::go_versions() {
        let dir = text_dir(&go, &["leak", "parked"]);
        for file in ["leak.debug2.txt", "parked.sigquit.txt"] {
            let findings = diagnose(&subject(&dir.join(file)), &Options::default());
            assert!(findings.is_empty(), "{go} {file}: {}", summary(&findings));
        }
    }
}

/// `--format json`: stable snake_case identifiers.
#[cfg(feature = "factory")]
#[test]
fn json_shape() {
    let s = subject(&text_dir("installed", &["lockorder"]).join("lockorder.debug2.txt"));
    let findings = diagnose(&s, &Options::default());
    let v = serde_json::to_value(&findings).expect("serialisable");
    let f = &v[0];
    assert_eq!(f["kind"], "lock_order_deadlock");
    assert_eq!(f["severity"], "warning");
    assert_eq!(f["confidence"], "medium");
    assert_eq!(f["evidence"]["count"], 2);
    assert_eq!(
        f["evidence"]["cycle"][0]["blocked_at"]["role"],
        "blocked_at"
    );
    assert!(f["evidence"]["cycle"][0]["lock"].is_u64());
}
