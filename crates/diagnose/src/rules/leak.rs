//! Goroutine leaks.
//!
//! * Two snapshots: goroutines are grouped by stack (any argument values)
//!   in each, and a blocked group that grew by at least `leak_min_growth`
//!   and by half is leaking.
//! * One snapshot: goroutines parked reading from the network for at least
//!   `long_wait_minutes` have no deadline that fired: a peer that never
//!   answers keeps them forever.

use gosleuth_model::{Frame, Group, Grouper, Similarity, Status, diff_groups};

use super::{Env, blocked_sites};
use crate::finding::{
    Confidence, Evidence, Finding, FrameEvidence, FrameRole, Growth, Kind, Severity,
};
use crate::stack::{Ctx, blocked_in, goroutines, is_network_read, wait_minutes};
use crate::{Options, Subject};

/// Groups of a subject's goroutines.
fn groups(s: &Subject) -> Vec<Group> {
    let mut g = Grouper::new(Similarity::AnyValue);
    for x in &s.snapshot.goroutines {
        g.add(x);
    }
    g.finish()
}

pub(crate) fn growth(before: &Subject, after: &Subject, opts: &Options) -> Vec<Finding> {
    let ctx = Ctx::learn(&after.snapshot.goroutines);
    let changes = diff_groups(&groups(before), &groups(after));
    let mut out = Vec::new();
    for c in changes {
        if out.len() >= opts.max_leak_findings {
            break;
        }
        let g = &c.group;
        let grew = c.after.saturating_sub(c.before);
        if grew < opts.leak_min_growth || c.after * 2 < c.before * 3 {
            continue;
        }
        let blocked = matches!(g.status, Status::Waiting | Status::Syscall)
            || (g.status == Status::Unknown && g.state.is_empty());
        if !blocked {
            continue;
        }
        if !g.frames.is_empty() && g.frames.iter().all(Frame::is_runtime) {
            continue;
        }
        out.push(growth_finding(
            &ctx,
            g,
            c.before,
            c.after,
            before.total,
            after.total,
            opts,
        ));
    }
    out
}

fn growth_finding(
    ctx: &Ctx,
    g: &Group,
    before: u64,
    after: u64,
    before_total: u64,
    after_total: u64,
    opts: &Options,
) -> Finding {
    let blocked = ctx.blocking_frame(&g.frames).map(|(_, f)| f);
    let app = g.frames.iter().any(|f| ctx.is_app(f))
        || g.created_by.as_ref().is_some_and(|f| ctx.is_app(f));
    let at = blocked.map(|f| ctx.at(f)).unwrap_or_default();
    let mut explanation = format!(
        "Between the two snapshots this group grew from {before} to {after} goroutines (+{}), \
         all {} in {at}",
        after - before,
        blocked_in(&g.state)
    );
    if let Some(c) = &g.created_by {
        explanation.push_str(&format!(", created by {}", ctx.at(c)));
    }
    explanation.push_str(&format!(
        " (all goroutines: {before_total} -> {after_total}). Goroutines that keep arriving at \
         the same place and never leave are leaking: each keeps its stack and everything it \
         references. "
    ));
    explanation.push_str(advice(&g.state, &g.frames));
    let mut frames = Vec::new();
    if let Some(f) = blocked {
        frames.push(FrameEvidence::new(
            FrameRole::BlockedAt,
            g.ids.first().copied(),
            f,
        ));
    }
    if let Some(c) = &g.created_by {
        frames.push(FrameEvidence::new(
            FrameRole::CreatedAt,
            g.ids.first().copied(),
            c,
        ));
    }
    let site = blocked.map(|f| crate::Site {
        state: g.state.clone(),
        function: f.function.clone(),
        file: f.file.clone(),
        line: f.line,
        count: after,
        goroutines: g.ids.iter().take(opts.max_ids).copied().collect(),
        created_by: g.created_by.as_ref().map(|c| c.function.clone()),
    });
    Finding {
        kind: Kind::GoroutineLeak,
        severity: if app {
            Severity::Warning
        } else {
            Severity::Info
        },
        confidence: Confidence::Medium,
        title: format!(
            "goroutine leak: {before} -> {after} goroutines {} in {at}",
            blocked_in(&g.state)
        ),
        explanation,
        evidence: Evidence {
            count: after,
            goroutines: g.ids.iter().take(opts.max_ids).copied().collect(),
            frames,
            sites: site.into_iter().collect(),
            growth: Some(Growth { before, after }),
            wait_minutes: g.wait_max,
            ..Default::default()
        },
    }
}

/// What to do, by what the goroutines wait for.
fn advice(state: &str, frames: &[Frame]) -> &'static str {
    let net = frames.iter().any(|f| {
        matches!(
            f.package(),
            "internal/poll" | "net" | "net/http" | "crypto/tls"
        )
    });
    if state == "IO wait" || (state == "select" && net) {
        "They wait on the network with no deadline: give every connection a deadline \
         (SetReadDeadline) and every HTTP client a timeout (http.Client.Timeout, or a request \
         context with a deadline), and close response bodies."
    } else if state.starts_with("chan") || state == "select" {
        "They wait on a channel nobody will use again: give each goroutine a way out (a done \
         channel or a context it selects on), or make sure the other side always sends, \
         receives or closes."
    } else if state.starts_with("sync.") || state == "semacquire" {
        "They wait on a lock or WaitGroup that is never released: look for a missing Unlock or \
         Done on an error path."
    } else {
        "Find what they wait for and make sure it always completes or can be cancelled."
    }
}

pub(crate) fn long_network_reads(env: &Env<'_>) -> Vec<Finding> {
    let ctx = &env.ctx;
    let opts = env.opts;
    let min = opts.long_wait_minutes;
    let sites = blocked_sites(env, |g, _| {
        is_network_read(g) && wait_minutes(g).is_some_and(|m| m >= min)
    });
    sites
        .iter()
        .map(|s| {
            let at = ctx.at(s.frame);
            let minutes = s.wait_max.unwrap_or(min);
            let mut explanation = format!(
                "{} have been blocked for {}{minutes} minutes reading from the network in {at}",
                goroutines(s.count),
                if s.count > 1 { "up to " } else { "" }
            );
            if let Some(c) = s.created_by {
                explanation.push_str(&format!(", created by {}", c.function));
            }
            explanation.push_str(
                ". A read deadline or a request timeout would have ended the wait long ago, so \
                 there is none: if the peer never answers (or the connection silently died) \
                 these goroutines stay forever. Set a deadline (conn.SetReadDeadline), an HTTP \
                 client timeout (http.Client.Timeout) or a context deadline.",
            );
            if !s.app {
                explanation.push_str(
                    " No application code is on these stacks: a server's idle keep-alive \
                     connections look like this (set http.Server.IdleTimeout/ReadTimeout).",
                );
            }
            let frames = s.frames();
            let site = s.site(opts.max_ids);
            Finding {
                kind: Kind::LongNetworkRead,
                severity: if s.app {
                    Severity::Warning
                } else {
                    Severity::Info
                },
                confidence: Confidence::Medium,
                title: format!(
                    "long network read: {} blocked for {}{minutes} minutes in {at}",
                    goroutines(s.count),
                    if s.count > 1 { "up to " } else { "" }
                ),
                explanation,
                evidence: Evidence {
                    count: s.count,
                    goroutines: site.goroutines.clone(),
                    frames,
                    sites: vec![site],
                    wait_minutes: s.wait_max,
                    ..Default::default()
                },
            }
        })
        .collect()
}
