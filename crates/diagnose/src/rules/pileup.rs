//! Pile-up: many goroutines blocked at one place (one wait reason, one
//! innermost application frame), with what they wait on and who holds it
//! up.
//!
//! A site is a pile-up when it has at least `pile_up_absolute` goroutines,
//! or at least `pile_up_min` that are also `pile_up_percent` of all
//! goroutines. From memory the object they wait on is known: a channel's
//! state and the goroutines that could drain it, a semaphore's probable
//! holders. From text, lock addresses come from the printed arguments and
//! goroutines blocked in methods of the same type are listed as possibly
//! related.

use rustc_hash::{FxHashMap as FxMap, FxHashSet as FxSet};

use gosleuth_model::{Goroutine, WaitObject, WaitObjectKind};

use super::channel::{self, channel_name, why_prose};
use super::{Env, SiteAgg, blocked_sites, percent};
use crate::Source;
use crate::finding::{Confidence, Evidence, Finding, Kind, ObjectEvidence, Related, Severity};
use crate::stack::{
    blocked_in, goroutines, is_lock_machinery, lock_addr_from_args, pointer_args, receiver_type,
};

/// Most related goroutines listed.
const MAX_RELATED: usize = 5;

pub(crate) fn pile_ups(env: &Env<'_>) -> Vec<Finding> {
    let opts = env.opts;
    let total = env.subject.total.max(1);
    blocked_sites(env, |_, info| !info.runtime_only)
        .iter()
        .filter(|s| is_pile_up(opts, s.count, total))
        .map(|s| finding(env, s, total))
        .collect()
}

/// True when `count` goroutines at one site, of `total`, are a pile-up.
pub(crate) fn is_pile_up(opts: &crate::Options, count: u64, total: u64) -> bool {
    count >= opts.pile_up_absolute
        || (count >= opts.pile_up_min && percent(count, total) >= opts.pile_up_percent)
}

fn finding(env: &Env<'_>, s: &SiteAgg<'_>, total: u64) -> Finding {
    let ctx = &env.ctx;
    let opts = env.opts;
    let gs = env.goroutines();
    let snap = &env.subject.snapshot;
    let site = s.site(opts.max_ids);
    let at = ctx.at(s.frame);
    let mut explanation = format!(
        "{} of {total} goroutines ({}%) are {} in {at}",
        s.count,
        percent(s.count, total),
        blocked_in(s.state),
    );
    if let Some(c) = s.created_by {
        explanation.push_str(&format!(", created by {}", c.function));
    }
    if let Some(m) = s.wait_max.filter(|m| *m > 0) {
        explanation.push_str(&format!(", some for {m} minutes"));
    }
    explanation.push('.');

    let mut objects = Vec::new();
    let mut related = Vec::new();
    let mut on_one_object = false;
    let members = Members { env, site: s.id };

    if env.subject.source == Source::Memory {
        // What they wait on.
        let mut per_object: FxMap<u64, u64> = FxMap::default();
        for &i in &s.members {
            if let Some(g) = gs.get(i as usize) {
                for &a in &g.waiting_for {
                    *per_object.entry(a).or_default() += g.count.max(1);
                }
            }
        }
        let mut tops: Vec<(u64, u64)> = per_object.into_iter().collect();
        tops.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        if s.state == "select" && tops.len() > 1 {
            // A select waits on every channel of its cases at once: name
            // them, without claiming one holds the goroutines up.
            let names: Vec<String> = tops
                .iter()
                .take(MAX_RELATED)
                .filter_map(|&(a, _)| snap.object(a))
                .map(|o| {
                    objects.push(ObjectEvidence::of(o));
                    describe_object(o)
                })
                .collect();
            explanation.push_str(&format!(
                " They wait in a select on {} channels: {}.",
                tops.len(),
                names.join("; ")
            ));
        } else if let Some(&(addr, n)) = tops.first() {
            if let Some(o) = snap.object(addr) {
                on_one_object = n * 10 >= s.count * 9;
                let (text, ev, rel) = holdup(env, o, &members);
                explanation.push_str(&format!(
                    " {} of them wait on {}. {text}",
                    if n == s.count {
                        String::from("All")
                    } else {
                        n.to_string()
                    },
                    describe_object(o)
                ));
                objects.push(ev);
                related = rel;
            }
        }
    } else {
        let (text, rel) = text_holdup(env, s, &members);
        explanation.push_str(&text);
        related = rel;
    }
    let severity = if !s.app {
        Severity::Info
    } else if env.subject.source == Source::Memory
        && on_one_object
        && s.count >= opts.pile_up_critical
    {
        Severity::Critical
    } else {
        Severity::Warning
    };
    if !s.app {
        explanation.push_str(
            " No application code is on these stacks: this is often normal (idle connections, \
             worker pools), unless the count keeps growing.",
        );
    }
    let frames = s.frames();
    Finding {
        kind: Kind::PileUp,
        severity,
        confidence: Confidence::High,
        title: format!(
            "pile-up: {} {} in {at}",
            goroutines(s.count),
            blocked_in(s.state)
        ),
        explanation,
        evidence: Evidence {
            count: s.count,
            goroutines: site.goroutines.clone(),
            frames,
            sites: vec![site],
            objects,
            wait_minutes: s.wait_max,
            related,
            ..Default::default()
        },
    }
}

/// The goroutines of one site, looked up by id.
struct Members<'e, 'a> {
    env: &'e Env<'a>,
    site: u32,
}

impl Members<'_, '_> {
    fn contains(&self, id: u64) -> bool {
        self.env.site_of(id) == Some(self.site)
    }
}

fn describe_object(o: &WaitObject) -> String {
    match o.kind {
        WaitObjectKind::Channel => channel_name(o),
        WaitObjectKind::Semaphore => match &o.owner {
            Some(owner) => format!("semaphore {:#x} ({owner})", o.addr),
            None => format!("semaphore {:#x}", o.addr),
        },
    }
}

/// Who could unblock the goroutines waiting on `o`, from memory.
fn holdup(
    env: &Env<'_>,
    o: &WaitObject,
    members: &Members<'_, '_>,
) -> (String, ObjectEvidence, Vec<Related>) {
    let mut ev = ObjectEvidence::of(o);
    let mut related = Vec::new();
    let mut text = String::new();
    let senders: FxSet<u64> = o.senders.iter().copied().collect();
    let receivers: FxSet<u64> = o.receivers.iter().copied().collect();
    let push = |id: u64, why: String, related: &mut Vec<Related>| {
        if related.len() >= MAX_RELATED {
            return;
        }
        if let Some(g) = env.goroutine(id) {
            related.push(Related {
                goroutine: id,
                state: g.state.clone(),
                frame: env.blocked_at(g),
                why,
            });
        }
    };
    match o.kind {
        WaitObjectKind::Channel => {
            let buffer = match &o.channel {
                Some(c) if c.cap == 0 => ", and the channel is unbuffered",
                Some(c) if c.len >= c.cap => ", and the buffer is full",
                _ => "",
            };
            // Who receives, by evidence; the pile-up's own goroutines wait
            // like it and are left out.
            let mut recv = channel::receivers(o);
            recv.proved.retain(|id, _| !members.contains(*id));
            recv.candidates.retain(|id, _| !members.contains(*id));
            // Goroutines queued to receive wait like the pile-up; they are
            // not the ones that could send.
            let mut referencing: Vec<u64> = o
                .referenced_by
                .iter()
                .filter(|r| !members.contains(r.goroutine) && !receivers.contains(&r.goroutine))
                .map(|r| r.goroutine)
                .collect();
            referencing.sort_unstable();
            referencing.dedup();
            if !o.senders.is_empty() && o.receivers.is_empty() {
                text.push_str(&format!(
                    "{} queued to send and none to receive{buffer}. ",
                    goroutines(o.senders.len() as u64),
                ));
                let describe = |ids: &mut dyn Iterator<Item = &u64>| -> String {
                    ids.take(MAX_RELATED)
                        .filter_map(|&id| {
                            let g = env.goroutine(id)?;
                            let stuck = if senders.contains(&id) {
                                " (itself blocked sending on this channel)"
                            } else {
                                ""
                            };
                            Some(format!("goroutine {id}, {}{stuck}", env.doing(g)))
                        })
                        .collect::<Vec<_>>()
                        .join("; ")
                };
                if recv.proved.is_empty() && recv.candidates.is_empty() {
                    text.push_str(
                        "No goroutine has this channel on its stack in a function that \
                         receives: its consumer has exited, was never started, or holds the \
                         channel somewhere the stacks do not show.",
                    );
                }
                if !recv.proved.is_empty() {
                    text.push_str(&format!(
                        "The goroutines that receive from it (queued on it, or shown by DWARF) \
                         are stuck elsewhere: {}.",
                        describe(&mut recv.proved.keys())
                    ));
                }
                if !recv.candidates.is_empty() {
                    text.push_str(&format!(
                        "{}oroutines that may drain it (inferred: their stacks hold the \
                         channel's address in a function that receives from channels, but \
                         DWARF does not show them receiving from this one): {}.",
                        if recv.proved.is_empty() {
                            "No goroutine is proved to receive from it. G"
                        } else {
                            " Other g"
                        },
                        describe(&mut recv.candidates.keys())
                    ));
                }
                for (id, why) in recv.proved.iter().chain(&recv.candidates) {
                    let g = env.goroutine(*id);
                    let mut w = why_prose(env, g, why);
                    if senders.contains(id) {
                        w.push_str(", and is itself blocked sending on it");
                    }
                    push(*id, w, &mut related);
                }
            } else if !o.receivers.is_empty() && o.senders.is_empty() {
                text.push_str(&format!(
                    "{} queued to receive and none to send. ",
                    goroutines(o.receivers.len() as u64)
                ));
                if referencing.is_empty() {
                    text.push_str(
                        "No other goroutine has this channel on its stack: nobody is left to \
                         send on it or close it.",
                    );
                } else {
                    let descr: Vec<String> = referencing
                        .iter()
                        .take(MAX_RELATED)
                        .filter_map(|&id| {
                            Some(format!("goroutine {id}, {}", env.doing(env.goroutine(id)?)))
                        })
                        .collect();
                    text.push_str(&format!(
                        "Goroutines that may send on it or close it (inferred: their stacks \
                         hold the channel's address): {}.",
                        descr.join("; ")
                    ));
                }
                for &id in &referencing {
                    push(
                        id,
                        String::from(
                            "may send on it or close it (inferred: its stack holds the \
                             channel's address)",
                        ),
                        &mut related,
                    );
                }
            }
            ev.drainers = recv.proved.keys().copied().take(env.opts.max_ids).collect();
            ev.candidate_drainers = recv
                .candidates
                .keys()
                .copied()
                .take(env.opts.max_ids)
                .collect();
        }
        WaitObjectKind::Semaphore => {
            let mut holders: Vec<u64> = o
                .referenced_by
                .iter()
                .filter(|r| !receivers.contains(&r.goroutine))
                .map(|r| r.goroutine)
                .collect();
            holders.sort_unstable();
            holders.dedup();
            if holders.is_empty() {
                text.push_str(no_holder(&o.receivers, env));
            } else {
                let descr: Vec<String> = holders
                    .iter()
                    .take(MAX_RELATED)
                    .filter_map(|&id| {
                        Some(format!("goroutine {id}, {}", env.doing(env.goroutine(id)?)))
                    })
                    .collect();
                text.push_str(&format!(
                    "Probable holders (inferred: they have it on their stack and do not wait \
                     for it; nothing records who holds a lock): {}.",
                    descr.join("; ")
                ));
            }
            for &id in &holders {
                push(
                    id,
                    String::from(
                        "probable holder (inferred: it has the lock on its stack and does not \
                         wait for it)",
                    ),
                    &mut related,
                );
            }
            ev.holders = holders;
        }
    }
    (text, ev, related)
}

/// Why nobody seems to hold a semaphore, by what its waiters do.
fn no_holder(waiters: &[u64], env: &Env<'_>) -> &'static str {
    let state = waiters
        .first()
        .and_then(|&id| env.goroutine(id))
        .map_or("", |g| g.state.as_str());
    if state.contains("WaitGroup") {
        "No goroutine that is not waiting has the WaitGroup on its stack: the goroutines that \
         should call Done have exited without calling it (a missing Done on some path), or \
         keep the WaitGroup in a global or heap object the stacks do not show."
    } else if state.contains("Cond") {
        "No goroutine that is not waiting has the Cond on its stack: nobody is left to Signal \
         or Broadcast, or it is kept in a global or heap object the stacks do not show."
    } else {
        "No goroutine that is not waiting has the lock on its stack: the holder keeps it in a \
         global or heap object the stacks do not show (look for the goroutine that locked it \
         and went on to block), or returned without unlocking (a missing Unlock on some path)."
    }
}

/// Text dumps: what can be said without the wait graph.
fn text_holdup(
    env: &Env<'_>,
    s: &SiteAgg<'_>,
    members: &Members<'_, '_>,
) -> (String, Vec<Related>) {
    let gs = env.goroutines();
    let ctx = &env.ctx;
    let mut related = Vec::new();
    let mut text = String::new();

    // Locks: the address printed as lockSlow's receiver.
    let mut locks: FxMap<u64, u64> = FxMap::default();
    for &i in &s.members {
        if let Some(a) = gs.get(i as usize).and_then(lock_addr_from_args) {
            *locks.entry(a).or_default() += 1;
        }
    }
    if let Some((&lock, &n)) = locks
        .iter()
        .max_by_key(|(a, n)| (**n, std::cmp::Reverse(**a)))
    {
        text.push_str(&format!(" {n} of them wait for the lock at {lock:#x}."));
        let holders: Vec<&Goroutine> = gs
            .iter()
            .filter(|g| !members.contains(g.id) && lock_addr_from_args(g) != Some(lock))
            .filter(|g| {
                g.frames
                    .iter()
                    .filter(|f| !is_lock_machinery(f))
                    .any(|f| pointer_args(&f.args).any(|p| p == lock))
            })
            .take(MAX_RELATED)
            .collect();
        if holders.is_empty() {
            text.push_str(
                " No other goroutine shows that address among its arguments, so the holder \
                 cannot be named from the text.",
            );
        } else {
            let d: Vec<String> = holders
                .iter()
                .map(|g| format!("goroutine {}, {}", g.id, env.doing(g)))
                .collect();
            text.push_str(&format!(
                " Goroutines with that address among their arguments, which may hold it: {}.",
                d.join("; ")
            ));
            for g in holders {
                related.push(Related {
                    goroutine: g.id,
                    state: g.state.clone(),
                    frame: env.blocked_at(g),
                    why: format!("has the lock's address {lock:#x} among its arguments"),
                });
            }
        }
    } else if is_channel_state(s.state) {
        // Channels: goroutines blocked on channels in methods of the same
        // type may be the consumers or producers that stopped.
        if let Some(rt) = receiver_type(&s.frame.function) {
            // Same wait reason first: a goroutine of the type blocked
            // sending where the crowd sends is the prime suspect.
            let mut found: Vec<(&Goroutine, &gosleuth_model::Frame)> = gs
                .iter()
                .filter(|g| !members.contains(g.id) && is_channel_state(&g.state))
                .filter_map(|g| {
                    let f = g
                        .frames
                        .iter()
                        .find(|f| receiver_type(&f.function) == Some(rt))?;
                    Some((g, f))
                })
                .collect();
            found.sort_by_key(|(g, _)| (g.state != s.state, g.id));
            found.truncate(MAX_RELATED);
            let mut d = Vec::new();
            for (g, f) in &found {
                let start = env.started(g);
                related.push(Related {
                    goroutine: g.id,
                    state: g.state.clone(),
                    frame: env.blocked_at(g),
                    why: format!(
                        "blocked in {} in a method of the same type {rt} ({}){}",
                        g.state,
                        ctx.at(f),
                        start
                            .map(|f| format!(", started in {}", f.function))
                            .unwrap_or_default()
                    ),
                });
                let mut line = format!("goroutine {}, {}", g.id, env.doing(g));
                if let Some(st) = start {
                    line.push_str(&format!(", started in {}", st.function));
                }
                d.push(line);
            }
            if !d.is_empty() {
                text.push_str(&format!(
                    " Other goroutines in methods of {rt} are blocked on channels too, and may \
                     be the consumer or producer that stopped: {}.",
                    d.join("; ")
                ));
            }
            if let Some((g, _)) = found
                .iter()
                .find(|(g, _)| g.state == s.state && s.state.starts_with("chan send"))
            {
                text.push_str(&format!(
                    " If goroutine {} is the one that receives from the channel they send on, it \
                     is blocked sending into the channel it drains (a self-deadlock) and nothing \
                     will ever drain it.",
                    g.id
                ));
            }
        }
    }
    text.push_str(
        " A text dump does not say which object they wait on or who holds it; a core or the \
         live process (gosleuth diagnose BIN CORE, --pid) does.",
    );
    (text, related)
}

fn is_channel_state(state: &str) -> bool {
    state.starts_with("chan send") || state.starts_with("chan receive") || state == "select"
}
