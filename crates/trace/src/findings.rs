//! Findings from a trace, in `gosleuth diagnose`'s form: long stops of the
//! world, a contended lock, long scheduling latency, heavy GC assists, a
//! GC that takes a large share of the Ps.
//! Each says what the trace shows, with its numbers; thresholds are named
//! constants.

use gosleuth_diagnose::{Confidence, Evidence, Finding, FrameEvidence, FrameRole, Kind, Severity};

use crate::mmu::Utilization;
use crate::profiles::{Analysis, FrameKey, GoroutineGroup, Output};
use crate::summary::Summary;

/// A stop of the world this long stalls every request in flight.
pub const LONG_STW_NS: u64 = 10_000_000;
/// A contended lock: at least this share of the time goroutines spent
/// waiting for locks, at one call site ...
pub const CONTENDED_SHARE: f64 = 0.5;
/// ... and at least this much of it.
pub const CONTENDED_NS: i64 = 1_000_000;
/// Runnable goroutines waiting this long (p99) for a P.
pub const SCHED_P99_NS: i64 = 10_000_000;
/// GC assists taking this share of the CPU time (duration x Ps).
pub const ASSIST_SHARE: f64 = 0.1;
/// The GC's share of the Ps over the whole trace (stops, workers, assists,
/// sweeping) from which it is a finding: above the 25% the pacer aims at
/// while marking, most of the trace was spent collecting.
pub const GC_SHARE: f64 = 0.25;

fn ms(ns: f64) -> String {
    format!("{:.3} ms", ns / 1e6)
}

fn is_lib(f: &str) -> bool {
    f.starts_with("runtime.") || f.starts_with("sync.") || f.starts_with("internal/")
}

/// Frames of a stack as evidence: where it blocked, and the first
/// application frame that called it.
fn frames(stack: &[FrameKey], goroutine: Option<u64>) -> Vec<FrameEvidence> {
    let evidence = |role, f: &FrameKey| FrameEvidence {
        role,
        goroutine,
        function: f.0.clone(),
        file: f.1.clone(),
        line: f.2 as u32,
        inlined: false,
    };
    let blocked = stack.first().map(|f| evidence(FrameRole::BlockedAt, f));
    let caller = stack
        .iter()
        .find(|f| !is_lib(&f.0))
        .map(|f| evidence(FrameRole::CalledFrom, f));
    blocked.into_iter().chain(caller).collect()
}

/// The findings of a trace from its summary and its sync and sched
/// analyses.
/// The findings of a trace from its summary and one pass's output (which
/// should hold the sync and sched analyses, the utilisation and the
/// goroutine groups; what it lacks is not looked at).
pub fn findings(s: &Summary, pass: &Output) -> Vec<Finding> {
    let none = Analysis::empty(crate::profiles::Kind::Sync);
    let of = |k| pass.analyses.iter().find(|a| a.kind == k).unwrap_or(&none);
    let (sync, sched) = (
        of(crate::profiles::Kind::Sync),
        of(crate::profiles::Kind::Sched),
    );
    let mut out = Vec::new();
    if let Some(f) = pass.utilization.as_ref().and_then(|u| gc_pressure(s, u)) {
        out.push(f);
    }
    if let Some(f) = pile_up(pass) {
        out.push(f);
    }
    if let Some(f) = blocked_throughout(s, &pass.groups) {
        out.push(f);
    }
    for (reason, st) in &s.stw {
        if st.max_ns >= LONG_STW_NS {
            out.push(Finding {
                kind: Kind::LongStopTheWorld,
                severity: if st.max_ns >= 10 * LONG_STW_NS {
                    Severity::Critical
                } else {
                    Severity::Warning
                },
                confidence: Confidence::High,
                title: format!("stop the world for {} ({reason})", ms(st.max_ns as f64)),
                explanation: format!(
                    "The runtime stopped every goroutine {} times for \"{reason}\", {} in all, the \
                     longest {}: nothing ran meanwhile, so every request in flight waited that \
                     long. Stops for GC phases grow with the number of goroutines and their stacks; \
                     others come from calls such as runtime.ReadMemStats or debug.SetGCPercent.",
                    st.count,
                    ms(st.total_ns as f64),
                    ms(st.max_ns as f64)
                ),
                evidence: Evidence::default(),
            });
        }
    }
    // Among the stacks blocked on a sync.Mutex or RWMutex: the one that
    // takes most of that time.
    let on_lock = |stack: &[FrameKey]| {
        stack
            .first()
            .is_some_and(|f| f.0.starts_with("sync.(*Mutex)") || f.0.starts_with("sync.(*RWMutex)"))
    };
    let total: i64 = sync
        .by_stack
        .iter()
        .filter(|b| on_lock(&b.0))
        .map(|b| b.2)
        .sum();
    if let Some((stack, n, ns)) = sync.by_stack.iter().find(|b| on_lock(&b.0)) {
        let share = *ns as f64 / total.max(1) as f64;
        if share >= CONTENDED_SHARE && *ns >= CONTENDED_NS {
            let ev = frames(stack, None);
            let site = ev
                .iter()
                .find(|f| f.role == FrameRole::CalledFrom)
                .or(ev.first())
                .map(|f| format!("{} at {}:{}", f.function, short(&f.file), f.line))
                .unwrap_or_default();
            out.push(Finding {
                kind: Kind::ContendedLock,
                severity: Severity::Warning,
                confidence: Confidence::High,
                title: format!("contended lock: {} in {site}", stack[0].0),
                explanation: format!(
                    "Goroutines waited {} in {} waits for the lock taken in {site}: {:.0}% of all \
                     the time goroutines spent waiting for locks in this trace. Hold it for less \
                     (no I/O or allocation under it), split it, or use a lock-free structure.",
                    ms(*ns as f64),
                    n,
                    share * 100.0
                ),
                evidence: Evidence {
                    count: *n as u64,
                    frames: ev,
                    ..Evidence::default()
                },
            });
        }
    }
    let h = &sched.durations;
    let p99 = h.quantile(0.99);
    if h.count > 0 && p99 >= SCHED_P99_NS {
        let worst = sched.worst.first();
        out.push(Finding {
            kind: Kind::SchedulingLatency,
            severity: Severity::Warning,
            confidence: Confidence::High,
            title: format!(
                "scheduling latency: runnable goroutines waited up to {} for a P (p99 {})",
                ms(h.max_ns as f64),
                ms(p99 as f64)
            ),
            explanation: format!(
                "Of {} waits of runnable goroutines for a P, the median was {}, p99 {}, p99.9 {}, \
                 the longest {}{}. With GOMAXPROCS={}, goroutines that are ready wait when every \
                 P is busy: with CPU-bound goroutines that rarely block, too many runnable \
                 goroutines, GC work, or long stops of the world.{}",
                h.count,
                ms(h.quantile(0.5) as f64),
                ms(p99 as f64),
                ms(h.quantile(0.999) as f64),
                ms(h.max_ns as f64),
                worst
                    .map(|w| format!(" (goroutine {})", w.goroutine))
                    .unwrap_or_default(),
                s.procs,
                worst
                    .map(|w| format!(
                        " For the longest, inferred from what overlapped it: {}.",
                        w.likely_cause()
                    ))
                    .unwrap_or_default()
            ),
            evidence: Evidence {
                count: h.count,
                goroutines: worst.map(|w| vec![w.goroutine]).unwrap_or_default(),
                frames: worst
                    .map(|w| frames(&w.stack, Some(w.goroutine)))
                    .unwrap_or_default(),
                ..Evidence::default()
            },
        });
    }
    let cpu = s.duration_ns as f64 * s.procs.max(1) as f64;
    // The goroutines' running time inside assists when the pass followed
    // them; else the summary's (begin to end on one thread, which also
    // counts a goroutine parked inside an assist).
    let assist: i64 = pass.groups.iter().map(|g| g.gc_assist_ns).sum();
    let assist = if pass.groups.is_empty() {
        s.gc_assist_ns as f64
    } else {
        assist as f64
    };
    if cpu > 0.0 && assist >= ASSIST_SHARE * cpu {
        out.push(Finding {
            kind: Kind::GcAssist,
            severity: Severity::Warning,
            confidence: Confidence::High,
            title: format!(
                "GC assists took {:.0}% of the CPU time",
                assist / cpu * 100.0
            ),
            explanation: format!(
                "Goroutines spent {} running GC mark assists (marking instead of doing their \
                 work) over {} on {} Ps: they allocate faster than the background workers mark. \
                 Allocate less, or give the GC more room (GOGC, GOMEMLIMIT).",
                ms(assist),
                ms(s.duration_ns as f64),
                s.procs
            ),
            evidence: Evidence::default(),
        });
    }
    out.sort_by_key(|f| (f.severity, f.kind));
    out
}

/// Runnable goroutines at once, per P, from which a peak is a finding.
pub const PILE_UP_PER_P: i64 = 8;

/// The most goroutines runnable at once, when far more than the Ps.
fn pile_up(pass: &Output) -> Option<Finding> {
    let (n, at) = pass.runnable_peak;
    let procs = i64::try_from(pass.procs.max(1)).unwrap_or(i64::MAX);
    if n < PILE_UP_PER_P * procs {
        return None;
    }
    Some(Finding {
        kind: Kind::RunnablePileUp,
        severity: Severity::Info,
        confidence: Confidence::High,
        title: format!("{n} goroutines runnable at once on {procs} Ps"),
        explanation: format!(
            "At {} into the trace, {n} goroutines were ready to run and waiting for one of \
             {procs} Ps: more ready work than processors, so each waits its turn (see the \
             scheduling latency). Bursts of goroutines (one per request or item), or CPU-bound \
             work on too few Ps, make piles like this; bound the concurrency (a worker pool, a \
             semaphore) or give the program more CPU.",
            ms(at as f64)
        ),
        evidence: Evidence {
            count: u64::try_from(n).unwrap_or(0),
            ..Evidence::default()
        },
    })
}

/// The group with the most goroutines blocked on channels, selects or
/// locks for nearly the whole trace.
fn blocked_throughout(s: &Summary, groups: &[GoroutineGroup]) -> Option<Finding> {
    let g = groups
        .iter()
        .filter(|g| g.stuck > 0 && !g.entry.starts_with("runtime."))
        .max_by_key(|g| (g.stuck, std::cmp::Reverse(g.entry.clone())))?;
    let (n, s_) = (g.stuck, if g.stuck == 1 { "" } else { "s" });
    let who = if g.entry.is_empty() {
        format!("{n} goroutine{s_} that started before the trace")
    } else {
        format!("{n} goroutine{s_} started in {}", g.entry)
    };
    Some(Finding {
        kind: Kind::BlockedThroughout,
        severity: Severity::Info,
        confidence: Confidence::Medium,
        title: format!(
            "{who} blocked ({}) for over {:.0}% of the trace",
            g.stuck_reason,
            crate::profiles::STUCK_SHARE * 100.0
        ),
        explanation: format!(
            "Over {}, these goroutines spent nearly all their time waiting on channels, selects \
             or locks ({}) and were still there at the end. Idle workers wait like this, and so \
             do leaked goroutines whose sender or receiver is gone: take a goroutine dump \
             (gosleuth diagnose) to see where they wait and who could wake them.",
            ms(s.duration_ns as f64),
            g.stuck_reason
        ),
        evidence: Evidence {
            count: g.stuck,
            ..Evidence::default()
        },
    })
}

/// The GC's share of the Ps over the trace, with the worst 10 ms window,
/// when it is above [`GC_SHARE`].
fn gc_pressure(s: &Summary, u: &Utilization) -> Option<Finding> {
    let share = 1.0 - u.mean()?;
    if share < GC_SHARE {
        return None;
    }
    let worst = u.mmu(10_000_000.min(u.duration_ns()));
    let worst_text = worst
        .map(|w| {
            format!(
                " In the worst {} (from {} into the trace) the program had {:.0}% of the Ps.",
                ms(w.window_ns.min(u.duration_ns()) as f64),
                ms(w.start_ns as f64),
                w.mmu * 100.0
            )
        })
        .unwrap_or_default();
    Some(Finding {
        kind: Kind::GcPressure,
        severity: Severity::Warning,
        confidence: Confidence::High,
        title: format!("the GC took {:.0}% of the Ps over the trace", share * 100.0),
        explanation: format!(
            "Over {} on {} Ps, the GC's stops of the world, background mark workers, mark \
             assists and sweeping took {:.0}% of the processors' time (as the MMU counts it; {} GC \
             cycles began).{worst_text} The heap is collected about as \
             fast as it is allocated: allocate less (reuse buffers, sync.Pool), or give the GC \
             more room (GOGC, GOMEMLIMIT).",
            ms(s.duration_ns as f64),
            s.procs,
            share * 100.0,
            s.gc_cycles
        ),
        evidence: Evidence::default(),
    })
}

fn short(file: &str) -> &str {
    file.rsplit('/').next().unwrap_or(file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::StwStats;

    fn empty() -> Analysis {
        Analysis::empty(crate::profiles::Kind::Sync)
    }

    fn pass(sync: Analysis) -> Output {
        Output {
            analyses: vec![sync],
            ..Output::default()
        }
    }

    #[test]
    fn a_long_stop_is_a_finding_and_a_short_one_is_not() {
        let mut s = Summary::default();
        s.stw.insert(
            "GC mark termination".into(),
            StwStats {
                count: 2,
                total_ns: 25_000_000,
                max_ns: 20_000_000,
            },
        );
        s.stw.insert(
            "GC sweep termination".into(),
            StwStats {
                count: 2,
                total_ns: 200_000,
                max_ns: 100_000,
            },
        );
        let f = findings(&s, &pass(empty()));
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].kind, Kind::LongStopTheWorld);
        assert!(
            f[0].title.contains("20.000 ms (GC mark termination)"),
            "{}",
            f[0].title
        );
    }

    #[test]
    fn waits_on_a_channel_are_not_a_contended_lock() {
        let mut sync = empty();
        sync.by_stack = vec![(
            vec![("runtime.chanrecv1".into(), "chan.go".into(), 1, 1)],
            10,
            50_000_000,
        )];
        assert!(findings(&Summary::default(), &pass(sync)).is_empty());
    }
}
