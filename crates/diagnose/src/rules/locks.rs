//! Lock-order deadlock: goroutines each holding a lock another one waits
//! for.
//!
//! The wait graph has goroutines and locks as nodes: a goroutine blocked
//! acquiring a `sync.Mutex`/`RWMutex` points at the lock, and a lock points
//! at the goroutines that probably hold it. Nobody records who holds a
//! mutex, so holders are inferred:
//! * memory: the goroutines whose stacks reference the semaphore (directly
//!   or through the struct holding it) and that are not queued on it;
//! * text: the goroutines that have the lock's address (printed as the
//!   receiver of `sync.(*Mutex).lockSlow`) among the arguments of one of
//!   their frames, and do not wait for it themselves.
//!
//! A strongly connected component with two or more goroutines is a
//! deadlock cycle. In a text dump without such arguments, goroutines that
//! have waited for minutes on locks in one function at different lines
//! are reported as a possible lock-order deadlock, with low confidence.

use rustc_hash::{FxHashMap as FxMap, FxHashSet as FxSet};

use gosleuth_model::WaitObjectKind;

use super::{Env, capitalise};
use crate::Source;
use crate::finding::{
    Confidence, CycleStep, Evidence, Finding, FrameEvidence, FrameRole, Kind, ObjectEvidence,
    Severity,
};
use crate::stack::{
    id_list, is_lock_machinery, lock_addr_from_args, lock_frame, pointer_args, wait_minutes,
};

/// A goroutine that probably holds a lock: its index and the frame that
/// references the lock.
#[derive(Debug, Clone, Copy)]
struct Hold {
    g: u32,
    frame: usize,
}

#[derive(Debug, Default)]
struct LockGraph {
    /// (goroutine index, lock) for each goroutine blocked acquiring a lock.
    waits: Vec<(u32, u64)>,
    /// Probable holders of each lock, innermost reference first.
    holders: FxMap<u64, Vec<Hold>>,
}

pub(crate) fn lock_order(env: &Env<'_>) -> Vec<Finding> {
    let graph = match env.subject.source {
        Source::Memory => memory_graph(env),
        Source::Text | Source::Trace => text_graph(env),
    };
    let cycles = cycles(&graph);
    let mut out = Vec::new();
    let mut in_cycle = FxSet::default();
    for (cycle, knot) in &cycles {
        for s in cycle {
            in_cycle.insert(s.waiter);
        }
        out.push(cycle_finding(env, &graph, cycle, *knot));
    }
    if env.subject.source == Source::Text {
        out.extend(same_function(env, &in_cycle));
    }
    out
}

fn memory_graph(env: &Env<'_>) -> LockGraph {
    let snap = &env.subject.snapshot;
    let mut g = LockGraph::default();
    let mut locks = FxSet::default();
    for (i, gr) in env.goroutines().iter().enumerate() {
        if lock_frame(gr).is_none() {
            continue;
        }
        for &addr in &gr.waiting_for {
            if snap
                .object(addr)
                .is_some_and(|o| o.kind == WaitObjectKind::Semaphore)
            {
                g.waits.push((i as u32, addr));
                locks.insert(addr);
            }
        }
    }
    for addr in locks {
        let Some(o) = snap.object(addr) else { continue };
        let waiting: FxSet<u64> = o.receivers.iter().copied().collect();
        let mut refs: Vec<_> = o
            .referenced_by
            .iter()
            .filter(|r| !waiting.contains(&r.goroutine))
            .collect();
        // Direct references first, then the innermost frame.
        refs.sort_by_key(|r| (r.goroutine, r.indirect, r.frame));
        let mut seen = FxSet::default();
        let holders: Vec<Hold> = refs
            .into_iter()
            .filter(|r| seen.insert(r.goroutine))
            .filter_map(|r| {
                Some(Hold {
                    g: env.index_of(r.goroutine)?,
                    frame: r.frame,
                })
            })
            .collect();
        g.holders.insert(addr, holders);
    }
    g
}

fn text_graph(env: &Env<'_>) -> LockGraph {
    let mut g = LockGraph::default();
    let gs = env.goroutines();
    let mut waiting_on: FxMap<u32, u64> = FxMap::default();
    for (i, gr) in gs.iter().enumerate() {
        if gr.count > 1 {
            continue;
        }
        if let Some(addr) = lock_addr_from_args(gr) {
            g.waits.push((i as u32, addr));
            waiting_on.insert(i as u32, addr);
        }
    }
    if g.waits.is_empty() {
        return g;
    }
    let locks: FxSet<u64> = g.waits.iter().map(|w| w.1).collect();
    for (i, gr) in gs.iter().enumerate() {
        if gr.count > 1 {
            continue;
        }
        let own = waiting_on.get(&(i as u32)).copied();
        let mut found: FxSet<u64> = FxSet::default();
        for (fi, f) in gr.frames.iter().enumerate() {
            if is_lock_machinery(f) {
                continue;
            }
            for p in pointer_args(&f.args) {
                if Some(p) != own && locks.contains(&p) && found.insert(p) {
                    g.holders.entry(p).or_default().push(Hold {
                        g: i as u32,
                        frame: fi,
                    });
                }
            }
        }
    }
    g
}

/// One step of a cycle: `waiter` waits for `lock`, held by `holder`.
#[derive(Debug, Clone, Copy)]
struct Step {
    waiter: u32,
    lock: u64,
    holder: Hold,
}

/// The cycles of the graph: one per strongly connected component with
/// two or more goroutines (the shortest cycle through its first
/// goroutine), with the number of goroutines in the component.
fn cycles(g: &LockGraph) -> Vec<(Vec<Step>, usize)> {
    if g.waits.is_empty() {
        return Vec::new();
    }
    // Nodes: goroutines that wait, then locks.
    let mut gnode: FxMap<u32, u32> = FxMap::default();
    let mut nodes: Vec<Node> = Vec::new();
    for &(w, _) in &g.waits {
        gnode.entry(w).or_insert_with(|| {
            nodes.push(Node::Goroutine(w));
            (nodes.len() - 1) as u32
        });
    }
    let mut lnode: FxMap<u64, u32> = FxMap::default();
    for &(_, l) in &g.waits {
        lnode.entry(l).or_insert_with(|| {
            nodes.push(Node::Lock(l));
            (nodes.len() - 1) as u32
        });
    }
    let mut adj: Vec<Vec<u32>> = vec![Vec::new(); nodes.len()];
    for &(w, l) in &g.waits {
        adj[gnode[&w] as usize].push(lnode[&l]);
    }
    for (l, &ln) in &lnode {
        for h in g.holders.get(l).into_iter().flatten() {
            if let Some(&hn) = gnode.get(&h.g) {
                adj[ln as usize].push(hn);
            }
        }
    }
    let mut out = Vec::new();
    for comp in tarjan(&adj) {
        let mut gs: Vec<u32> = comp
            .iter()
            .filter(|&&n| matches!(nodes[n as usize], Node::Goroutine(_)))
            .copied()
            .collect();
        if gs.len() < 2 {
            continue;
        }
        gs.sort_by_key(|&n| match nodes[n as usize] {
            Node::Goroutine(i) => i,
            Node::Lock(_) => u32::MAX,
        });
        let members: FxSet<u32> = comp.iter().copied().collect();
        let Some(path) = shortest_cycle(&adj, &members, gs[0]) else {
            continue;
        };
        // path: g0, l0, g1, l1, ..., back to g0.
        let mut steps = Vec::new();
        for pair in path.windows(3).step_by(2) {
            let (Node::Goroutine(w), Node::Lock(l), Node::Goroutine(h)) = (
                nodes[pair[0] as usize],
                nodes[pair[1] as usize],
                nodes[pair[2] as usize],
            ) else {
                continue;
            };
            let Some(hold) = g.holders.get(&l).and_then(|v| v.iter().find(|x| x.g == h)) else {
                continue;
            };
            steps.push(Step {
                waiter: w,
                lock: l,
                holder: *hold,
            });
        }
        if steps.len() >= 2 {
            out.push((steps, gs.len()));
        }
    }
    out
}

#[derive(Debug, Clone, Copy)]
enum Node {
    Goroutine(u32),
    Lock(u64),
}

/// Strongly connected components (Tarjan, iterative: graphs can have a
/// million nodes).
fn tarjan(adj: &[Vec<u32>]) -> Vec<Vec<u32>> {
    const NONE: u32 = u32::MAX;
    let n = adj.len();
    let mut index = vec![NONE; n];
    let mut low = vec![0u32; n];
    let mut on_stack = vec![false; n];
    let mut stack: Vec<u32> = Vec::new();
    let mut call: Vec<(u32, usize)> = Vec::new();
    let mut next = 0u32;
    let mut out = Vec::new();
    for s in 0..n as u32 {
        if index[s as usize] != NONE {
            continue;
        }
        index[s as usize] = next;
        low[s as usize] = next;
        next += 1;
        stack.push(s);
        on_stack[s as usize] = true;
        call.push((s, 0));
        while let Some(top) = call.len().checked_sub(1) {
            let (v, ei) = call[top];
            let vu = v as usize;
            if let Some(&w) = adj[vu].get(ei) {
                call[top].1 += 1;
                let wu = w as usize;
                if index[wu] == NONE {
                    index[wu] = next;
                    low[wu] = next;
                    next += 1;
                    stack.push(w);
                    on_stack[wu] = true;
                    call.push((w, 0));
                } else if on_stack[wu] {
                    low[vu] = low[vu].min(index[wu]);
                }
                continue;
            }
            call.pop();
            if let Some(&(p, _)) = call.last() {
                low[p as usize] = low[p as usize].min(low[vu]);
            }
            if low[vu] == index[vu] {
                let mut comp = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w as usize] = false;
                    comp.push(w);
                    if w == v {
                        break;
                    }
                }
                out.push(comp);
            }
        }
    }
    out
}

/// The shortest cycle through `start` inside `members` (breadth-first),
/// as the node path start, ..., start.
fn shortest_cycle(adj: &[Vec<u32>], members: &FxSet<u32>, start: u32) -> Option<Vec<u32>> {
    let mut parent: FxMap<u32, u32> = FxMap::default();
    let mut queue = std::collections::VecDeque::new();
    queue.push_back(start);
    while let Some(v) = queue.pop_front() {
        for &w in &adj[v as usize] {
            if !members.contains(&w) {
                continue;
            }
            if w == start {
                let mut path = vec![start, v];
                let mut cur = v;
                while cur != start {
                    cur = *parent.get(&cur)?;
                    path.push(cur);
                }
                path.reverse();
                return Some(path);
            }
            if w != start && !parent.contains_key(&w) {
                parent.insert(w, v);
                queue.push_back(w);
            }
        }
    }
    None
}

fn cycle_finding(env: &Env<'_>, graph: &LockGraph, cycle: &[Step], knot: usize) -> Finding {
    let gs = env.goroutines();
    let ctx = &env.ctx;
    let memory = env.subject.source == Source::Memory;
    let snap = &env.subject.snapshot;
    let ids: Vec<u64> = cycle.iter().map(|s| gs[s.waiter as usize].id).collect();

    let mut steps = Vec::new();
    let mut prose = Vec::new();
    let mut frames = Vec::new();
    let mut objects = Vec::new();
    let mut wait = None;
    for s in cycle {
        let w = &gs[s.waiter as usize];
        let h = &gs[s.holder.g as usize];
        wait = wait.max(wait_minutes(w));
        let blocked = ctx
            .blocking_frame(&w.frames)
            .map(|(_, f)| f)
            .or(w.frames.first());
        let held_in = h.frames.get(s.holder.frame);
        let owner = snap.object(s.lock).and_then(|o| o.owner.clone());
        let lock_name = match &owner {
            Some(o) => format!("lock {:#x} ({o})", s.lock),
            None => format!("lock {:#x}", s.lock),
        };
        let mut p = format!("goroutine {} is blocked", w.id);
        if let Some(f) = blocked {
            p.push_str(&format!(" in {}", ctx.at(f)));
        }
        p.push_str(&format!(
            " acquiring {lock_name}, which goroutine {} probably holds",
            h.id
        ));
        if let Some(f) = held_in {
            if memory {
                p.push_str(&format!(
                    " (inferred: it has the lock on its stack in {} and does not wait for it)",
                    ctx.at(f)
                ));
            } else {
                p.push_str(&format!(
                    " (inferred: its frame {} has the lock's address among its arguments)",
                    ctx.at(f)
                ));
            }
        }
        prose.push(p);
        if let (Some(b), Some(hf)) = (blocked, held_in) {
            let blocked_at = FrameEvidence::new(FrameRole::BlockedAt, Some(w.id), b);
            let holder_frame = FrameEvidence::new(FrameRole::HoldsAt, Some(h.id), hf);
            frames.push(blocked_at.clone());
            frames.push(holder_frame.clone());
            steps.push(CycleStep {
                goroutine: w.id,
                blocked_at,
                lock: s.lock,
                lock_owner: owner,
                held_by: h.id,
                holder_frame,
            });
        }
        if let Some(o) = snap.object(s.lock) {
            let mut e = ObjectEvidence::of(o);
            e.holders = graph
                .holders
                .get(&s.lock)
                .into_iter()
                .flatten()
                .map(|x| gs[x.g as usize].id)
                .collect();
            objects.push(e);
        }
    }

    let who = match ids.as_slice() {
        [a, b] => format!("goroutines {a} and {b} each wait for a lock the other probably holds"),
        _ => format!(
            "goroutines {} wait in a cycle, each for a lock the next probably holds",
            id_list(&ids, ids.len() as u64)
        ),
    };
    let title = if memory {
        format!("lock-order deadlock: {who}")
    } else {
        format!("possible lock-order deadlock: {who}")
    };
    let mut explanation = capitalise(&prose.join("; "));
    explanation.push_str(". None of them can proceed, and every goroutine that later wants one of these locks will block behind them.");
    if let Some(m) = wait.filter(|m| *m > 0) {
        explanation.push_str(&format!(" They have waited for {m} minutes."));
    }
    if knot > cycle.len() {
        explanation.push_str(&format!(
            " {knot} goroutines in all wait on each other through these locks."
        ));
    }
    // Other candidates make the inference less certain: say so.
    let mut others = Vec::new();
    for s in cycle {
        let n = graph.holders.get(&s.lock).map_or(0, Vec::len);
        if n > 1 {
            others.push(format!(
                "{:#x} ({} more candidate{})",
                s.lock,
                n - 1,
                if n == 2 { "" } else { "s" }
            ));
        }
    }
    if memory {
        explanation.push_str(
            " Who holds a mutex is not recorded anywhere: holders are inferred from stack \
             references (a goroutine that has the lock on its stack and is not waiting for it).",
        );
    } else {
        explanation.push_str(
            " A text dump does not say who holds a mutex: holders are inferred from the \
             addresses printed as arguments, which may be stale; a core or the live process \
             (gosleuth diagnose BIN CORE, --pid) confirms it.",
        );
    }
    if !others.is_empty() {
        explanation.push_str(&format!(
            " Goroutines outside the cycle also reference {}, so one of them could be the holder \
             instead.",
            others.join(", ")
        ));
    }
    explanation.push_str(
        " Fix: acquire the locks in one global order (for example by id or address), or never \
         hold one lock while acquiring another.",
    );
    Finding {
        kind: Kind::LockOrderDeadlock,
        severity: if memory {
            Severity::Critical
        } else {
            Severity::Warning
        },
        confidence: Confidence::Medium,
        title,
        explanation,
        evidence: Evidence {
            count: ids.len() as u64,
            goroutines: ids,
            frames,
            objects,
            cycle: steps,
            wait_minutes: wait,
            ..Default::default()
        },
    }
}

/// Text dumps: goroutines blocked for minutes on locks in one function at
/// different lines.
fn same_function(env: &Env<'_>, skip: &FxSet<u32>) -> Vec<Finding> {
    let ctx = &env.ctx;
    let gs = env.goroutines();
    // function -> (line -> goroutine indices)
    let mut by_fn: FxMap<&str, FxMap<u32, Vec<u32>>> = FxMap::default();
    for (i, g) in gs.iter().enumerate() {
        if skip.contains(&(i as u32)) || lock_frame(g).is_none() {
            continue;
        }
        if wait_minutes(g).is_none_or(|m| m < env.opts.lock_wait_minutes) {
            continue;
        }
        let Some((_, f)) = ctx.blocking_frame(&g.frames) else {
            continue;
        };
        by_fn
            .entry(f.function.as_str())
            .or_default()
            .entry(f.line)
            .or_default()
            .push(i as u32);
    }
    let mut out = Vec::new();
    let mut fns: Vec<_> = by_fn.into_iter().filter(|(_, l)| l.len() >= 2).collect();
    fns.sort_by(|a, b| a.0.cmp(b.0));
    for (function, lines) in fns {
        let mut lines: Vec<(u32, Vec<u32>)> = lines.into_iter().collect();
        lines.sort_by_key(|l| l.0);
        let members: Vec<u32> = lines.iter().flat_map(|l| l.1.iter().copied()).collect();
        let count: u64 = members.iter().map(|&i| gs[i as usize].count.max(1)).sum();
        let wait = members
            .iter()
            .filter_map(|&i| wait_minutes(&gs[i as usize]))
            .max();
        let ids: Vec<u64> = members
            .iter()
            .map(|&i| gs[i as usize].id)
            .take(env.opts.max_ids)
            .collect();
        let mut frames = Vec::new();
        for (_, idx) in &lines {
            if let Some(&i) = idx.first() {
                if let Some(fe) = env.blocked_at(&gs[i as usize]) {
                    frames.push(fe);
                }
            }
        }
        let file = frames
            .first()
            .map(|f| ctx.short(&f.file).to_string())
            .unwrap_or_default();
        let line_list: Vec<String> = lines
            .iter()
            .map(|(l, idx)| format!("line {l} ({})", idx.len()))
            .collect();
        out.push(Finding {
            kind: Kind::LockOrderDeadlock,
            severity: Severity::Warning,
            confidence: Confidence::Low,
            title: format!(
                "possible lock-order deadlock: {count} goroutines blocked on locks in {function} at {} different lines",
                lines.len()
            ),
            explanation: format!(
                "{count} goroutines have waited {} on locks in {function} ({file}: {}). \
                 Goroutines stuck for minutes acquiring locks in one function at different \
                 lines often take the same locks in different orders. A text dump does not say \
                 who holds which lock; a core or the live process (gosleuth diagnose BIN CORE, \
                 --pid) shows the cycle if there is one. Fix: acquire the locks in one global \
                 order.",
                wait.map_or(String::from("a long time"), |m| format!("up to {m} minutes")),
                line_list.join(", ")
            ),
            evidence: Evidence {
                count,
                goroutines: ids,
                frames,
                wait_minutes: wait,
                ..Default::default()
            },
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tarjan_finds_two_cycles() {
        // 0 -> 1 -> 0, 2 -> 3 -> 4 -> 2, 5 alone.
        let adj = vec![vec![1], vec![0], vec![3], vec![4], vec![2], vec![]];
        let mut comps: Vec<Vec<u32>> = tarjan(&adj)
            .into_iter()
            .map(|mut c| {
                c.sort();
                c
            })
            .filter(|c| c.len() > 1)
            .collect();
        comps.sort();
        assert_eq!(comps, vec![vec![0, 1], vec![2, 3, 4]]);
    }
}
