//! The process as a whole: a panic or fatal error in progress, every
//! goroutine asleep, a runaway goroutine count.

use gosleuth_model::{Goroutine, Incident, IncidentKind, Status, cause};

use super::{Env, capitalise, describe_sites, group_sites, raise_kind};
use crate::Source;
use crate::finding::{Confidence, Evidence, Finding, FrameEvidence, FrameRole, Kind, Severity};
use crate::stack::{Ctx, id_list};

/// The fatal error the runtime prints when it finds every goroutine
/// blocked.
const ALL_ASLEEP: &str = "all goroutines are asleep";

pub(crate) fn crashes(env: &Env<'_>) -> Vec<Finding> {
    let mut out: Vec<Finding> = env
        .subject
        .incidents
        .iter()
        .filter_map(|inc| incident(env, inc))
        .collect();
    if env.subject.source == Source::Memory {
        out.extend(panicking_goroutines(env));
    }
    out
}

fn incident(env: &Env<'_>, inc: &Incident) -> Option<Finding> {
    let ctx = &env.ctx;
    let fatal = inc.fatal.as_deref().unwrap_or("");
    if inc.kind == IncidentKind::Fatal && fatal.contains(ALL_ASLEEP) {
        return Some(all_asleep_text(env, inc));
    }
    let kind = match inc.kind {
        IncidentKind::Panic => Kind::Panic,
        IncidentKind::Fatal => Kind::FatalError,
        IncidentKind::Signal
            if inc
                .signal
                .as_ref()
                .is_some_and(|s| s.name != "SIGQUIT" && !s.name.is_empty()) =>
        {
            Kind::FatalSignal
        }
        _ => return None,
    };
    let computed;
    let rc = match &inc.root_cause {
        Some(rc) => Some(rc),
        None => {
            computed = cause::root_cause(inc);
            computed.as_ref()
        }
    };
    let message = inc
        .panics
        .first()
        .map(|p| p.message.clone())
        .or_else(|| inc.fatal.clone())
        .or_else(|| {
            inc.signal
                .as_ref()
                .map(|s| format!("{}: {}", s.name, s.description))
        })
        .unwrap_or_default();
    let goroutine = rc.map(|r| r.goroutine).or(inc.first.as_ref().map(|g| g.id));
    let what = match kind {
        Kind::Panic => "panic",
        Kind::FatalError => "fatal error",
        _ => "fatal signal",
    };
    let mut title = format!("{what}: {}", first_line(&message));
    let mut explanation = String::new();
    let mut frames = Vec::new();
    if let Some(rc) = rc {
        if let Some(f) = &rc.frame {
            title.push_str(&format!(" in {}", ctx.at(f)));
            frames.push(FrameEvidence::new(
                FrameRole::RaisedAt,
                Some(rc.goroutine),
                f,
            ));
        }
        if first_line(&message).starts_with("test timed out after ") {
            // The test binary's timer raised it; the root cause names the
            // running test's goroutine and where it waits (a hang).
            explanation.push_str(&format!(
                "The test binary's timer raised `{}`; goroutine {}, running a test, is stuck",
                first_line(&message),
                rc.goroutine
            ));
        } else {
            explanation.push_str(&format!(
                "Goroutine {} raised `{}`",
                rc.goroutine,
                first_line(&message)
            ));
        }
        if let Some(f) = &rc.frame {
            explanation.push_str(&format!(" in {}", ctx.at(f)));
        }
        if let Some(c) = &rc.caller {
            explanation.push_str(&format!(", called from {}", ctx.at(c)));
            frames.push(FrameEvidence::new(
                FrameRole::CalledFrom,
                Some(rc.goroutine),
                c,
            ));
        }
        explanation.push_str(". ");
        if !rc.explanation.is_empty() {
            explanation.push_str(&capitalise(&rc.explanation));
            if !rc.explanation.ends_with('.') {
                explanation.push('.');
            }
            explanation.push(' ');
        }
        if let Some(c) = rc.created_by.first() {
            frames.push(FrameEvidence::new(
                FrameRole::CreatedAt,
                Some(rc.goroutine),
                c,
            ));
        }
        if !rc.repanicked_in.is_empty() {
            let names: Vec<&str> = rc
                .repanicked_in
                .iter()
                .map(|f| f.function.as_str())
                .collect();
            explanation.push_str(&format!(
                "Deferred functions recovered and panicked again on the way: {}. ",
                names.join(", ")
            ));
        }
    } else {
        explanation.push_str(&format!(
            "The program stopped with `{}`. ",
            first_line(&message)
        ));
    }
    match (kind, inc.exit_status) {
        (_, Some(code)) => {
            explanation.push_str(&format!("The process exited with status {code}."));
        }
        (Kind::Panic, None) => {
            explanation.push_str("Nothing recovered it, so the process crashed.");
        }
        _ => explanation.push_str("The runtime stops the process on this error."),
    }
    Some(Finding {
        kind,
        severity: Severity::Critical,
        confidence: Confidence::High,
        title,
        explanation: explanation.trim_end().to_string(),
        evidence: Evidence {
            count: 1,
            goroutines: goroutine.into_iter().collect(),
            frames,
            message: Some(message),
            ..Default::default()
        },
    })
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

/// The runtime's own `all goroutines are asleep - deadlock!`.
fn all_asleep_text(env: &Env<'_>, inc: &Incident) -> Finding {
    let ctx = &env.ctx;
    let opts = env.opts;
    // The incident's goroutines are in the snapshot when it is the one
    // chosen; its groups say the same either way.
    let user: Vec<_> = inc.groups.iter().filter(|g| g.user_code).cloned().collect();
    let sites: Vec<_> = group_sites(ctx, &user, opts.max_ids)
        .iter()
        .map(|s| s.site(opts.max_ids))
        .collect();
    let count: u64 = sites.iter().map(|s| s.count).sum();
    let ids: Vec<u64> = sites
        .iter()
        .flat_map(|s| s.goroutines.iter().copied())
        .take(opts.max_ids)
        .collect();
    let message = inc.fatal.clone().unwrap_or_default();
    Finding {
        kind: Kind::AllAsleep,
        severity: Severity::Critical,
        confidence: Confidence::High,
        title: String::from("all goroutines are asleep: the runtime stopped a deadlocked program"),
        explanation: format!(
            "The Go runtime found every goroutine blocked with nothing left that could wake one \
             (no running goroutine, no timer, no network poll) and stopped the program with \
             `{message}`. Where they were blocked: {}. Look for the send or receive, lock or \
             Wait that has no partner: a channel nobody closes, a WaitGroup whose Done is \
             missing, a lock taken twice.",
            if sites.is_empty() {
                String::from("not shown")
            } else {
                describe_sites(ctx, &sites, opts.max_sites)
            }
        ),
        evidence: Evidence {
            count,
            goroutines: ids,
            sites,
            message: Some(message),
            ..Default::default()
        },
    }
}

/// Memory: goroutines with a panic or throw frame on their stacks.
fn panicking_goroutines(env: &Env<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for (g, info) in env.goroutines().iter().zip(&env.info) {
        if !info.raises {
            continue;
        }
        let Some(kind) = g.frames.iter().find_map(|f| raise_kind(&f.function)) else {
            continue;
        };
        let mut inc = Incident::new(kind, 0);
        inc.first = Some(g.clone());
        let rc = cause::root_cause(&inc);
        let what = if kind == IncidentKind::Panic {
            "panic"
        } else {
            "fatal error"
        };
        let mut frames = Vec::new();
        let mut title = format!("{what} in progress: goroutine {}", g.id);
        let mut explanation = format!(
            "Goroutine {} is {}",
            g.id,
            if kind == IncidentKind::Panic {
                "panicking"
            } else {
                "throwing a fatal error"
            }
        );
        if let Some(f) = rc.as_ref().and_then(|r| r.frame.as_ref()) {
            title.push_str(&format!(" in {}", env.ctx.at(f)));
            explanation.push_str(&format!(", raised in {}", env.ctx.at(f)));
            frames.push(FrameEvidence::new(FrameRole::RaisedAt, Some(g.id), f));
        }
        if let Some(c) = rc.as_ref().and_then(|r| r.caller.as_ref()) {
            explanation.push_str(&format!(", called from {}", env.ctx.at(c)));
            frames.push(FrameEvidence::new(FrameRole::CalledFrom, Some(g.id), c));
        }
        explanation.push_str(
            ". The panic value is not read from memory. Unless a deferred function recovers \
             it, this kills the process (in a core written by the crash, it is the crash).",
        );
        out.push(Finding {
            kind: if kind == IncidentKind::Panic {
                Kind::Panic
            } else {
                Kind::FatalError
            },
            severity: Severity::Critical,
            confidence: Confidence::High,
            title,
            explanation,
            evidence: Evidence {
                count: 1,
                goroutines: vec![g.id],
                frames,
                ..Default::default()
            },
        });
    }
    out
}

/// Wait reasons nothing outside the program's goroutines can end: no
/// timer, no network, no signal.
fn blocked_for_good(g: &Goroutine) -> bool {
    g.status == Status::Waiting
        && matches!(
            g.state.as_str(),
            "chan send"
                | "chan receive"
                | "chan send (nil chan)"
                | "chan receive (nil chan)"
                | "select (no cases)"
                | "sync.Mutex.Lock"
                | "sync.RWMutex.Lock"
                | "sync.RWMutex.RLock"
                | "sync.WaitGroup.Wait"
                | "sync.Cond.Wait"
                | "semacquire"
        )
}

/// Memory: every goroutine of the program blocked for good, none running.
pub(crate) fn all_asleep(env: &Env<'_>) -> Vec<Finding> {
    if env.subject.source != Source::Memory {
        return Vec::new();
    }
    let ctx = &env.ctx;
    let gs = env.goroutines();
    // Stop at the first goroutine that could still make progress.
    let mut user = Vec::new();
    for (i, (g, info)) in gs.iter().zip(&env.info).enumerate() {
        if matches!(
            g.status,
            Status::Running | Status::Runnable | Status::Syscall
        ) {
            return Vec::new();
        }
        if !info.runtime_only {
            if !blocked_for_good(g) {
                return Vec::new();
            }
            user.push(i as u32);
        }
    }
    if user.is_empty() {
        return Vec::new();
    }
    let opts = env.opts;
    let sites: Vec<_> = env
        .aggregate(user.iter().copied())
        .iter()
        .map(|s| s.site(opts.max_ids))
        .collect();
    let user: Vec<&Goroutine> = user.iter().map(|&i| &gs[i as usize]).collect();
    let count: u64 = user.iter().map(|g| g.count.max(1)).sum();
    let ids: Vec<u64> = user.iter().map(|g| g.id).take(opts.max_ids).collect();
    vec![Finding {
        kind: Kind::AllAsleep,
        severity: Severity::Critical,
        confidence: Confidence::High,
        title: format!(
            "all goroutines are asleep: {count} goroutines blocked for good, none running"
        ),
        explanation: format!(
            "Every goroutine of the program ({}) is blocked on a channel, lock or WaitGroup, \
             and none is running, sleeping, or waiting on the network or a timer: nothing can \
             wake them, the process is deadlocked even if the runtime has not noticed (it \
             cannot tell while cgo calls or signal handlers are outstanding). Where they are \
             blocked: {}.",
            id_list(&ids, count),
            describe_sites(ctx, &sites, opts.max_sites)
        ),
        evidence: Evidence {
            count,
            goroutines: ids,
            sites,
            ..Default::default()
        },
    }]
}

pub(crate) fn runaway(env: &Env<'_>) -> Vec<Finding> {
    let total = env.subject.total;
    let opts = env.opts;
    if total <= opts.runaway {
        return Vec::new();
    }
    let ctx: &Ctx = &env.ctx;
    let sites: Vec<_> = env
        .aggregate(
            env.info
                .iter()
                .enumerate()
                .filter(|(_, info)| !info.runtime_only)
                .map(|(i, _)| i as u32),
        )
        .iter()
        .take(opts.max_sites)
        .map(|s| s.site(opts.max_ids))
        .collect();
    vec![Finding {
        kind: Kind::RunawayGoroutines,
        severity: Severity::Warning,
        confidence: Confidence::High,
        title: format!("runaway goroutines: {total} goroutines"),
        explanation: format!(
            "The process has {total} goroutines (more than {}). Each costs at least a few KiB \
             of stack, and so many usually means work arrives faster than it finishes, or \
             goroutines that never finish. The largest places: {}.",
            opts.runaway,
            describe_sites(ctx, &sites, opts.max_sites)
        ),
        evidence: Evidence {
            count: total,
            goroutines: sites
                .iter()
                .flat_map(|s| s.goroutines.iter().copied())
                .take(opts.max_ids)
                .collect(),
            sites,
            ..Default::default()
        },
    }]
}
