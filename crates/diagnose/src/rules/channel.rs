//! Self-deadlock: a goroutine blocked sending on a full channel that only
//! it drains (seed 004: the metrics consumer sending into its own input
//! channel).
//!
//! Who receives from a channel is graded by its evidence ([`receivers`]):
//! * **proved**: the goroutine is queued to receive on it (its sudog is on
//!   the channel's `recvq`), or, by DWARF, a frame of a function that
//!   receives from channels holds the channel in a live variable and has a
//!   variable of its element type for what it receives
//!   ([`StackRef::proves_receiver`](gosleuth_model::StackRef));
//! * **candidate** (inferred): a frame of a function that receives from
//!   channels has the channel's address on its stack, and DWARF does not
//!   show it receiving from this channel (no live variable holds it: a
//!   stale copy, a spill slot; or nothing of the element type to receive
//!   into: it receives from other channels).
//!
//! Memory: for a channel C that is full (`len == cap`, an unbuffered
//! channel counts), not closed, with senders queued and no receiver
//! queued, the drainers are its proved receivers, else its candidate when
//! there is exactly one; every drainer must be parked in a plain send on C
//! (`chan send`, not a `select`, which could leave through another case).
//! Then nothing will ever receive from C: the drainers wait for room that
//! only they can make. Proved, with no other candidate: confidence high;
//! else medium, and the explanation says what was inferred.
//!
//! Text ([`text_self_deadlock`]): no addresses, so the inference comes from
//! stacks: a pile-up of goroutines blocked sending in methods of one
//! receiver type, and exactly one other goroutine blocked sending in a
//! method of that type (not started by the same `go` statement): probably
//! the consumer, blocked sending into the channel it drains.

use std::collections::BTreeMap;

use gosleuth_model::{Goroutine, WaitObject, WaitObjectKind};

use super::pileup::is_pile_up;
use super::{Env, SiteAgg, StateText, blocked_sites, capitalise, describe_sites};
use crate::finding::{
    Confidence, Evidence, Finding, FrameEvidence, FrameRole, Kind, ObjectEvidence, Related,
    Severity,
};
use crate::stack::{goroutines, receiver_type, wait_minutes};

/// Most candidates named in prose.
const MAX_NAMED: usize = 5;

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

/// Why a goroutine is taken for a receiver of a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Why {
    /// Queued on the channel's `recvq`.
    Queued,
    /// Frame `frame` holds the channel in variable `var` (DWARF).
    Holds { frame: usize, var: String },
    /// Frame `frame` has the channel's address on its stack (inferred);
    /// `var` holds it when DWARF says so, without an element-type
    /// variable to receive into.
    Address { frame: usize, var: Option<String> },
}

impl Why {
    pub fn frame(&self) -> Option<usize> {
        match self {
            Why::Queued => None,
            Why::Holds { frame, .. } | Why::Address { frame, .. } => Some(*frame),
        }
    }
}

/// The receivers of a channel by the strength of the evidence, each
/// goroutine once, by id.
#[derive(Debug, Default)]
pub(crate) struct Receivers {
    pub proved: BTreeMap<u64, Why>,
    pub candidates: BTreeMap<u64, Why>,
}

/// Who receives from `o`: proved receivers and candidates.
pub(crate) fn receivers(o: &WaitObject) -> Receivers {
    let mut r = Receivers::default();
    for &id in &o.receivers {
        r.proved.insert(id, Why::Queued);
    }
    // The outermost receiving frame of a goroutine is the loop that
    // drains; refs come innermost first.
    for s in o.referenced_by.iter().filter(|s| s.receives) {
        match (&s.held_in, s.proves_receiver()) {
            (Some(var), true) => {
                let why = Why::Holds {
                    frame: s.frame,
                    var: var.clone(),
                };
                match r.proved.get_mut(&s.goroutine) {
                    Some(Why::Queued) => {}
                    Some(w) => *w = why,
                    None => {
                        r.proved.insert(s.goroutine, why);
                    }
                }
            }
            (var, _) => {
                let why = Why::Address {
                    frame: s.frame,
                    var: var.clone(),
                };
                // A variable that holds it says more than a bare word.
                match r.candidates.get_mut(&s.goroutine) {
                    Some(Why::Address { var: Some(_), .. }) if var.is_none() => {}
                    Some(w) => *w = why,
                    None => {
                        r.candidates.insert(s.goroutine, why);
                    }
                }
            }
        }
    }
    r.candidates.retain(|id, _| !r.proved.contains_key(id));
    r
}

/// The goroutine that alone drains a channel: its only proved receiver,
/// else its only candidate when none is proved.
fn sole_drainer(o: &WaitObject) -> Option<u64> {
    let r = receivers(o);
    let set = if r.proved.is_empty() {
        &r.candidates
    } else {
        &r.proved
    };
    match set.keys().collect::<Vec<_>>().as_slice() {
        [one] => Some(**one),
        _ => None,
    }
}

/// `variable m.inChannel holds it` and the like, for prose.
pub(crate) fn why_prose(env: &Env<'_>, g: Option<&Goroutine>, why: &Why) -> String {
    let at = |frame: usize| {
        g.and_then(|g| g.frames.get(frame))
            .map(|f| format!(" in {}", env.ctx.at(f)))
            .unwrap_or_default()
    };
    match why {
        Why::Queued => String::from("queued to receive on it"),
        Why::Holds { frame, var } => format!(
            "receives from it{} (from DWARF: the function receives from channels, its variable \
             {var} holds this one, and it has a variable of the element type to receive into)",
            at(*frame)
        ),
        Why::Address {
            frame,
            var: Some(var),
        } => format!(
            "may drain it (inferred: its variable {var} holds the channel{}, a function that \
             receives from channels, but it has no variable of the channel's element type, so \
             nothing shows it receives from this one)",
            at(*frame)
        ),
        Why::Address { frame, var: None } => format!(
            "may drain it (inferred: its stack holds the channel's address{}, a function that \
             receives from channels, but no variable of it holds the channel)",
            at(*frame)
        ),
    }
}

fn check(env: &Env<'_>, o: &WaitObject) -> Option<Finding> {
    let ch = o.channel.as_ref()?;
    if ch.closed || ch.len < ch.cap || !o.receivers.is_empty() || o.senders.is_empty() {
        return None;
    }
    let r = receivers(o);
    let proved = !r.proved.is_empty();
    let drainers: &BTreeMap<u64, Why> = if proved {
        &r.proved
    } else if r.candidates.len() == 1 {
        &r.candidates
    } else {
        return None;
    };
    // Every drainer must be parked in a plain send on this channel: a
    // goroutine in a select is queued on every channel of its cases and
    // can leave through another one.
    if !drainers.keys().all(|d| {
        o.senders.contains(d)
            && env
                .goroutine(*d)
                .is_some_and(|g| g.state.starts_with("chan send"))
    }) {
        return None;
    }
    // Candidates besides proved drainers: they weaken the claim.
    let doubts: Vec<u64> = if proved {
        r.candidates.keys().copied().collect()
    } else {
        Vec::new()
    };
    let ctx = &env.ctx;
    let opts = env.opts;

    let mut frames = Vec::new();
    let mut who = Vec::new();
    let mut wait = None;
    for (&id, why) in drainers {
        let Some(g) = env.goroutine(id) else {
            who.push(format!("goroutine {id}"));
            continue;
        };
        wait = wait.max(wait_minutes(g));
        let role = if proved {
            FrameRole::DrainsAt
        } else {
            FrameRole::MayDrainAt
        };
        let chain = env.chain(g, why.frame().map(|f| (f, role)));
        let mut s = format!("goroutine {id}");
        if let Some(f) = env.started(g) {
            s.push_str(&format!(" (started in {})", f.function));
        }
        s.push_str(" is blocked sending into it");
        if !chain.is_empty() {
            s.push_str(&format!(" in {}", env.chain_prose(&chain)));
        }
        s.push_str(&format!("; it {}", why_prose(env, Some(g), why)));
        frames.extend(chain);
        who.push(s);
    }

    // The other goroutines stuck on the channel, by site.
    let is_drainer = |id: &u64| drainers.contains_key(id);
    let others = o.senders.iter().filter(|id| !is_drainer(id)).count() as u64;
    let sites: Vec<_> = env
        .aggregate(
            o.senders
                .iter()
                .filter(|id| !is_drainer(id))
                .filter_map(|&id| env.index_of(id)),
        )
        .iter()
        .map(|s| s.site(opts.max_ids))
        .collect();

    let name = channel_name(o);
    let only = drainers.len() == 1;
    let first = drainers.keys().next().copied().unwrap_or(0);
    let title = match (only, proved) {
        (true, true) => format!(
            "self-deadlock: goroutine {first} is blocked sending into the channel it drains"
        ),
        (true, false) => format!(
            "self-deadlock (inferred): goroutine {first} is blocked sending into the channel it \
             probably drains"
        ),
        (false, _) => format!(
            "self-deadlock: the {} goroutines that drain a channel are all blocked sending into it",
            drainers.len()
        ),
    };
    let mut explanation = format!("{}: {}. ", capitalise(&name), who.join("; "));
    if proved {
        explanation.push_str(&format!(
            "{} the only goroutine{} proved to receive from this channel (no goroutine is queued \
             to receive on it, and DWARF shows no other goroutine receiving from it), and the \
             buffer is full, so nothing will ever drain it: {}.",
            if only { "It is" } else { "They are" },
            if only { "" } else { "s" },
            if only {
                "the goroutine waits for itself"
            } else {
                "they wait for themselves"
            }
        ));
    } else {
        explanation.push_str(
            "Inferred: no goroutine is proved to receive from this channel (none is queued to \
             receive, and no variable DWARF describes holds it in a function that receives), \
             and this is the only goroutine whose stack holds the channel's address in a \
             function that receives from channels. If it is the consumer, the buffer is full \
             and nothing will ever drain it: the goroutine waits for itself.",
        );
    }
    if !doubts.is_empty() {
        let named: Vec<String> = doubts
            .iter()
            .take(MAX_NAMED)
            .map(|&id| match env.goroutine(id) {
                Some(g) => format!("goroutine {id}, {}", env.doing(g)),
                None => format!("goroutine {id}"),
            })
            .collect();
        explanation.push_str(&format!(
            " Not counted as receivers (their stacks hold the channel's address in a function \
             that receives from channels, but DWARF does not show them receiving from this one; \
             if one of them does, this is not a deadlock): {}{}.",
            named.join("; "),
            if doubts.len() > MAX_NAMED {
                format!(" and {} more", doubts.len() - MAX_NAMED)
            } else {
                String::new()
            }
        ));
    }
    if let Some(m) = wait.filter(|m| *m > 0) {
        explanation.push_str(&format!(" Blocked for {m} minutes."));
    }
    // Other channels only the drainer receives from: stuck behind it too
    // (it is blocked on something only it would release).
    let behind: Vec<&WaitObject> = if only {
        env.subject
            .snapshot
            .objects
            .iter()
            .filter(|c| c.addr != o.addr && c.kind == WaitObjectKind::Channel)
            .filter(|c| !c.senders.is_empty() && c.receivers.is_empty())
            .filter(|c| c.channel.as_ref().is_some_and(|s| !s.closed))
            .filter(|c| sole_drainer(c) == Some(first))
            .take(MAX_NAMED)
            .collect()
    } else {
        Vec::new()
    };
    for c in &behind {
        explanation.push_str(&format!(
            " Goroutine {first} is also the only goroutine that {} {}, on which {} blocked \
             sending: they wait behind it too.",
            if receivers(c).proved.contains_key(&first) {
                "receives from"
            } else {
                "may receive from (inferred)"
            },
            channel_name(c),
            if c.senders.len() == 1 {
                String::from("1 goroutine is")
            } else {
                format!("{} goroutines are", c.senders.len())
            }
        ));
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
    explanation.push_str(FIX);

    let mut ids: Vec<u64> = drainers.keys().copied().collect();
    ids.extend(
        o.senders
            .iter()
            .filter(|id| !is_drainer(id))
            .take(opts.max_ids),
    );
    ids.truncate(opts.max_ids.max(drainers.len()));
    let mut object = ObjectEvidence::of(o);
    object.drainers = r.proved.keys().copied().take(opts.max_ids).collect();
    object.candidate_drainers = r.candidates.keys().copied().take(opts.max_ids).collect();
    let mut objects = vec![object];
    for c in &behind {
        let cr = receivers(c);
        let mut e = ObjectEvidence::of(c);
        e.drainers = cr.proved.keys().copied().take(opts.max_ids).collect();
        e.candidate_drainers = cr.candidates.keys().copied().take(opts.max_ids).collect();
        objects.push(e);
    }
    let count = o.senders.len() as u64 + behind.iter().map(|c| c.senders.len() as u64).sum::<u64>();
    let related = doubts
        .iter()
        .take(MAX_NAMED)
        .filter_map(|&id| {
            let g = env.goroutine(id)?;
            Some(Related {
                goroutine: id,
                state: g.state.clone(),
                frame: env.blocked_at(g),
                why: format!(
                    "not counted as a receiver: {}",
                    why_prose(env, Some(g), r.candidates.get(&id)?)
                ),
            })
        })
        .collect();
    Some(Finding {
        kind: Kind::SelfDeadlock,
        severity: Severity::Critical,
        confidence: if proved && doubts.is_empty() {
            Confidence::High
        } else {
            Confidence::Medium
        },
        title,
        explanation,
        evidence: Evidence {
            count,
            goroutines: ids,
            frames,
            sites,
            objects,
            wait_minutes: wait,
            related,
            ..Default::default()
        },
    })
}

const FIX: &str = " Fix: never block sending on a channel from the goroutine that drains it: \
     handle the value directly, send without blocking (select with default), or send from \
     another goroutine.";

/// A plain channel send (not on a nil channel, not a select).
fn plain_send(state: &str) -> bool {
    state == "chan send"
}

/// The channel a goroutine of a text dump is blocked sending on: the
/// first argument of its `runtime.chansend` frame, which dumps with runtime
/// frames (SIGQUIT, `GOTRACEBACK=system`) print; `None` when not printed
/// or marked possibly inaccurate (`0x...?`).
pub(crate) fn send_channel(g: &Goroutine) -> Option<u64> {
    let f = g.frames.iter().find(|f| f.function == "runtime.chansend")?;
    let first = f.args.split(',').next()?.trim();
    let hex = first.strip_prefix("0x")?;
    u64::from_str_radix(hex, 16).ok().filter(|&a| a != 0)
}

/// The channel most of a pile-up's goroutines send on (from a sample).
fn pile_channel(gs: &[Goroutine], members: &[u32]) -> Option<u64> {
    let mut count: BTreeMap<u64, usize> = BTreeMap::new();
    for &i in members.iter().take(64) {
        if let Some(c) = gs.get(i as usize).and_then(send_channel) {
            *count.entry(c).or_default() += 1;
        }
    }
    count
        .into_iter()
        .max_by_key(|&(c, n)| (n, std::cmp::Reverse(c)))
        .map(|(c, _)| c)
}

/// Text dumps: a pile-up of goroutines blocked sending, and exactly one
/// other goroutine blocked sending that is tied to it (on the same channel,
/// when the dump prints `runtime.chansend`'s argument; else in a method of
/// the pile-up's receiver type), not created by the pile-up's `go`
/// statement: the consumer that stopped, probably blocked sending into the
/// channel it drains. Warning: inferred from stacks.
pub(crate) fn text_self_deadlock(env: &Env<'_>) -> Vec<Finding> {
    let opts = env.opts;
    let total = env.subject.total.max(1);
    let gs = env.goroutines();
    let piles: Vec<SiteAgg<'_>> = blocked_sites(env, |_, info| !info.runtime_only)
        .into_iter()
        .filter(|s| plain_send(s.state) && is_pile_up(opts, s.count, total))
        .collect();
    // Goroutines of a pile-up are not suspects (of another pile-up either):
    // the scan below then looks at the few others only.
    let pile_sites: Vec<u32> = piles.iter().map(|p| p.id).collect();
    // Suspect (goroutine index) -> the pile-ups it would explain, with
    // their channel when the dump shows it.
    let mut suspects: BTreeMap<u32, Vec<(&SiteAgg<'_>, Option<u64>)>> = BTreeMap::new();
    for p in &piles {
        let rt = receiver_type(&p.frame.function);
        let chan = pile_channel(gs, &p.members);
        if rt.is_none() && chan.is_none() {
            continue;
        }
        let created = p.created_by.map(|f| (&f.function, &f.file, f.line));
        let found: Vec<u32> = gs
            .iter()
            .enumerate()
            .filter(|(i, g)| {
                env.info
                    .get(*i)
                    .is_some_and(|x| !pile_sites.contains(&x.site))
                    && plain_send(g.state_or_status())
                    && g.created_by
                        .as_ref()
                        .map(|f| (&f.function, &f.file, f.line))
                        != created
                    && match (chan, send_channel(g)) {
                        (Some(a), Some(b)) => a == b,
                        _ => rt.is_some_and(|rt| {
                            g.frames
                                .iter()
                                .any(|f| receiver_type(&f.function) == Some(rt))
                        }),
                    }
            })
            .map(|(i, _)| i as u32)
            .take(2)
            .collect();
        if let [one] = found.as_slice() {
            suspects.entry(*one).or_default().push((p, chan));
        }
    }
    suspects
        .into_iter()
        .filter_map(|(i, piles)| text_finding(env, gs.get(i as usize)?, &piles))
        .collect()
}

fn text_finding(
    env: &Env<'_>,
    g: &Goroutine,
    piles: &[(&SiteAgg<'_>, Option<u64>)],
) -> Option<Finding> {
    let ctx = &env.ctx;
    let opts = env.opts;
    let (first, _) = piles.first()?;
    let rt = receiver_type(&first.frame.function);
    let own = send_channel(g);
    let same = own.filter(|c| piles.iter().any(|(_, p)| *p == Some(*c)));
    // The loop that would drain: the outermost frame in a method of the
    // type, else the outermost application frame.
    let loop_frame = match rt {
        Some(rt) => g
            .frames
            .iter()
            .rposition(|f| receiver_type(&f.function) == Some(rt)),
        None => None,
    }
    .or_else(|| {
        g.frames
            .iter()
            .rposition(|f| ctx.is_app(f) && !super::is_go_wrapper(&f.function))
    });
    let chain = env.chain(g, loop_frame.map(|i| (i, FrameRole::MayDrainAt)));
    let started = env.started(g);
    let started_in_type =
        rt.is_some_and(|rt| started.is_some_and(|f| receiver_type(&f.function) == Some(rt)));
    let count: u64 = piles.iter().map(|(p, _)| p.count).sum();
    let sites: Vec<_> = piles.iter().map(|(p, _)| p.site(opts.max_ids)).collect();

    let mut explanation = format!("Goroutine {}", g.id);
    if let Some(f) = started {
        explanation.push_str(&format!(" (started in {}", f.function));
        if let Some(c) = &g.created_by {
            explanation.push_str(&format!(", created by {}", c.function));
        }
        explanation.push(')');
    }
    explanation.push_str(&format!(
        " is blocked sending on a channel in {}. {} {} blocked sending {}: {}.",
        env.chain_prose(&chain),
        capitalise(&goroutines(count)),
        if count == 1 { "is" } else { "are" },
        match (same, rt) {
            (Some(c), _) => format!(
                "on the same channel, {c:#x} (the argument the dump prints for runtime.chansend)"
            ),
            (None, Some(rt)) => format!("in methods of the same type {rt}"),
            (None, None) => String::from("on the same channel"),
        },
        describe_sites(ctx, &sites, opts.max_sites)
    ));
    let tie = match (same, rt) {
        (Some(_), _) => String::from("blocked sending on that channel"),
        (None, Some(rt)) => format!("blocked sending in a method of {rt}"),
        (None, None) => String::from("blocked sending on that channel"),
    };
    explanation.push_str(&format!(
        " Inferred from the stacks (a text dump does not say who receives from a channel): \
         goroutine {} is the only goroutine outside the pile-up {tie}{}, so it is probably the \
         consumer of the channel they send on, blocked sending into the channel it drains. Then \
         nothing will ever drain it: the goroutine waits for itself and every sender waits \
         behind it.",
        g.id,
        if started_in_type {
            ", and it was started in a method of the same type (a goroutine the type runs for \
             itself)"
        } else {
            ""
        }
    ));
    if let Some(m) = wait_minutes(g).filter(|m| *m > 0) {
        explanation.push_str(&format!(" Blocked for {m} minutes."));
    }
    explanation.push_str(
        " A core or the live process (gosleuth diagnose BIN CORE, --pid) shows the channel and \
         who receives from it.",
    );
    explanation.push_str(FIX);
    let mut ids = vec![g.id];
    for (p, _) in piles {
        ids.extend(p.ids.iter().take(opts.max_ids.saturating_sub(ids.len())));
    }
    let mut frames: Vec<FrameEvidence> = chain;
    for (p, _) in piles.iter().take(opts.max_sites) {
        frames.extend(p.frames());
    }
    Some(Finding {
        kind: Kind::SelfDeadlock,
        severity: Severity::Warning,
        confidence: if same.is_some() {
            Confidence::Medium
        } else {
            Confidence::Low
        },
        title: format!(
            "possible self-deadlock (inferred from stacks): goroutine {} is blocked sending, \
             probably into the channel it drains, with {} blocked sending behind it",
            g.id,
            goroutines(count)
        ),
        explanation,
        evidence: Evidence {
            count: count + g.count.max(1),
            goroutines: ids,
            frames,
            sites,
            wait_minutes: wait_minutes(g),
            ..Default::default()
        },
    })
}
