//! Self-deadlock: a goroutine blocked sending on a full channel that only
//! it drains (seed 004: the metrics consumer sending into its own input
//! channel).
//!
//! Memory only. For a channel C read from the process:
//! * C is full (`len == cap`, an unbuffered channel counts), not closed,
//!   and nobody is queued to receive;
//! * the goroutines that can drain C are those whose stacks reference C
//!   from a frame of a function that receives from channels
//!   ([`StackRef::receives`](gosleuth_model::StackRef)); there is at least
//!   one, and every one of them is parked in a plain send on C (`chan
//!   send`, not a `select`, which could leave through another case).
//!
//! Then nothing will ever receive from C: the drainers wait for room that
//! only they can make.

use std::collections::BTreeSet;

use rustc_hash::FxHashSet as FxSet;

use gosleuth_model::{WaitObject, WaitObjectKind};

use super::{Env, capitalise, describe_sites};
use crate::finding::{
    Confidence, Evidence, Finding, FrameEvidence, FrameRole, Kind, ObjectEvidence, Severity,
};
use crate::stack::wait_minutes;

pub(crate) fn self_deadlock(env: &Env<'_>) -> Vec<Finding> {
    env.subject
        .snapshot
        .objects
        .iter()
        .filter(|o| o.kind == WaitObjectKind::Channel)
        .filter_map(|o| check(env, o))
        .collect()
}

/// How a channel is named in prose.
pub(crate) fn channel_name(o: &WaitObject) -> String {
    let mut s = format!("channel {:#x}", o.addr);
    let mut details = Vec::new();
    if let Some(owner) = &o.owner {
        details.push(owner.clone());
    }
    if let Some(c) = &o.channel {
        if let Some(t) = &c.elem_type {
            details.push(format!("chan {t}"));
        }
        details.push(format!("cap {}, len {}", c.cap, c.len));
        if c.closed {
            details.push(String::from("closed"));
        }
    }
    if !details.is_empty() {
        s.push_str(&format!(" ({})", details.join(", ")));
    }
    s
}

fn check(env: &Env<'_>, o: &WaitObject) -> Option<Finding> {
    let ch = o.channel.as_ref()?;
    if ch.closed || ch.len < ch.cap || !o.receivers.is_empty() || o.senders.is_empty() {
        return None;
    }
    let drainers: BTreeSet<u64> = o
        .referenced_by
        .iter()
        .filter(|r| r.receives)
        .map(|r| r.goroutine)
        .collect();
    if drainers.is_empty() {
        return None;
    }
    // Every drainer must be parked in a plain send on this channel: a
    // goroutine in a select is queued on every channel of its cases and
    // can leave through another one.
    let senders: FxSet<u64> = o.senders.iter().copied().collect();
    if !drainers.iter().all(|d| {
        senders.contains(d)
            && env
                .goroutine(*d)
                .is_some_and(|g| g.state.starts_with("chan send"))
    }) {
        return None;
    }
    let ctx = &env.ctx;
    let opts = env.opts;

    let mut frames = Vec::new();
    let mut who = Vec::new();
    let mut wait = None;
    for &id in &drainers {
        let Some(g) = env.goroutine(id) else {
            who.push(format!("goroutine {id}"));
            continue;
        };
        wait = wait.max(wait_minutes(g));
        let started = env.started(g);
        let blocked = ctx.blocking_frame(&g.frames);
        let drain = o
            .referenced_by
            .iter()
            .filter(|r| r.goroutine == id && r.receives)
            .filter_map(|r| g.frames.get(r.frame))
            .next_back();
        let mut s = format!("goroutine {id}");
        if let Some(f) = started {
            s.push_str(&format!(" (started in {})", f.function));
        }
        s.push_str(" is blocked sending into it");
        if let Some((_, f)) = blocked {
            s.push_str(&format!(" in {}", ctx.at(f)));
            frames.push(FrameEvidence::new(FrameRole::BlockedAt, Some(id), f));
        }
        if let Some(f) = drain {
            s.push_str(&format!(
                ", called from {}, which receives from the channel",
                ctx.at(f)
            ));
            frames.push(FrameEvidence::new(FrameRole::DrainsAt, Some(id), f));
        }
        if let Some(f) = started {
            frames.push(FrameEvidence::new(FrameRole::StartedAt, Some(id), f));
        }
        who.push(s);
    }

    // The other goroutines stuck on the channel, by site.
    let others = o.senders.iter().filter(|id| !drainers.contains(id)).count() as u64;
    let sites: Vec<_> = env
        .aggregate(
            o.senders
                .iter()
                .filter(|id| !drainers.contains(id))
                .filter_map(|&id| env.index_of(id)),
        )
        .iter()
        .map(|s| s.site(opts.max_ids))
        .collect();

    let name = channel_name(o);
    let only = drainers.len() == 1;
    let first = drainers.iter().next().copied().unwrap_or(0);
    let title = if only {
        format!("self-deadlock: goroutine {first} is blocked sending into the channel it drains")
    } else {
        format!(
            "self-deadlock: the {} goroutines that drain a channel are all blocked sending into it",
            drainers.len()
        )
    };
    let mut explanation = format!("{}: {}. ", capitalise(&name), who.join("; "));
    if only {
        explanation.push_str(
            "It is the only goroutine that receives from this channel (no other goroutine has \
             the channel on its stack in a function that receives), and the buffer is full, so \
             nothing will ever drain it: the goroutine waits for itself.",
        );
    } else {
        explanation.push_str(
            "They are the only goroutines that receive from this channel (no other goroutine has \
             the channel on its stack in a function that receives), and the buffer is full, so \
             nothing will ever drain it.",
        );
    }
    if let Some(m) = wait.filter(|m| *m > 0) {
        explanation.push_str(&format!(" Blocked for {m} minutes."));
    }
    if others > 0 {
        explanation.push_str(&format!(
            " {} also blocked sending on it: {}.",
            if others == 1 {
                String::from("1 other goroutine is")
            } else {
                format!("{others} other goroutines are")
            },
            describe_sites(ctx, &sites, opts.max_sites)
        ));
    }
    explanation.push_str(
        " Fix: never block sending on a channel from the goroutine that drains it: handle the \
         value directly, send without blocking (select with default), or send from another \
         goroutine.",
    );

    let mut ids: Vec<u64> = drainers.iter().copied().collect();
    ids.extend(
        o.senders
            .iter()
            .filter(|id| !drainers.contains(id))
            .take(opts.max_ids),
    );
    ids.truncate(opts.max_ids.max(drainers.len()));
    let mut object = ObjectEvidence::of(o);
    object.drainers = drainers.iter().copied().collect();
    Some(Finding {
        kind: Kind::SelfDeadlock,
        severity: Severity::Critical,
        confidence: Confidence::High,
        title,
        explanation,
        evidence: Evidence {
            count: o.senders.len() as u64,
            goroutines: ids,
            frames,
            sites,
            objects: vec![object],
            wait_minutes: wait,
            ..Default::default()
        },
    })
}
