//! Grouping goroutines that are alike, and comparing two groupings.
//!
//! Grouping streams: [`Grouper::add`] takes one goroutine at a time and
//! keeps one entry per distinct stack, so memory grows with the number of
//! groups, not with the number of goroutines.

use std::collections::HashMap;
use std::hash::Hash;

use xxhash_rust::xxh3::Xxh3;

use serde::Serialize;

use crate::{Frame, Goroutine, Status};

/// How alike two stacks must be to share a group (panicparse's levels).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Similarity {
    /// Same functions, lines and argument values.
    Exact,
    /// Same functions, lines and argument values, except that arguments
    /// that look like pointers may differ.
    AnyPointer,
    /// Same functions and lines; arguments are ignored.
    #[default]
    AnyValue,
}

/// Goroutines that share a stack.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    /// Goroutines in the group (aggregated profile records count their
    /// goroutines).
    pub count: u64,
    /// The first ids seen, at most [`Grouper::MAX_IDS`].
    pub ids: Vec<u64>,
    pub status: Status,
    pub state: String,
    pub wait_min: Option<u64>,
    pub wait_max: Option<u64>,
    pub locked: bool,
    /// The stack of the first goroutine seen; arguments that differ inside
    /// the group are replaced with `*`.
    pub frames: Vec<Frame>,
    pub created_by: Option<Frame>,
    /// pprof labels of the group's goroutines; a key whose value differs
    /// within the group lists the values joined with `|`.
    pub labels: Vec<(String, String)>,
    /// True when some frame is outside the runtime.
    pub user_code: bool,
    /// The grouping key (equal keys mean the same group under the same
    /// similarity level): lets groupings of parts of one input be merged.
    #[serde(skip)]
    pub key: u128,
}

impl Group {
    /// The innermost non-runtime frame.
    pub fn user_frame(&self) -> Option<&Frame> {
        self.frames.iter().find(|f| !f.is_runtime())
    }

    /// A stable identity for comparing groups across two snapshots:
    /// state, frames (function, file, line) and creation site.
    pub fn identity(&self) -> String {
        let mut s = String::with_capacity(256);
        s.push_str(&self.state);
        for f in &self.frames {
            s.push('|');
            s.push_str(&f.function);
            s.push(' ');
            s.push_str(&f.file);
            s.push(':');
            s.push_str(&f.line.to_string());
        }
        if let Some(c) = &self.created_by {
            s.push_str("|created by ");
            s.push_str(&c.function);
        }
        s
    }
}

/// A borrowed view of one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameRef<'a> {
    pub function: &'a str,
    pub args: &'a str,
    pub file: &'a str,
    pub line: u32,
}

/// What the [`Grouper`] needs to know of a goroutine. [`Goroutine`]
/// implements it; a reader can implement it over its own buffers to group
/// without allocating a [`Goroutine`] per input goroutine.
pub trait Stack {
    fn id(&self) -> u64;
    fn count(&self) -> u64;
    fn state(&self) -> &str;
    fn locked(&self) -> bool;
    fn wait_minutes(&self) -> Option<u64>;
    fn labels(&self) -> &[(String, String)];
    /// Frames, innermost first.
    fn frames(&self) -> impl Iterator<Item = FrameRef<'_>>;
    fn created_by(&self) -> Option<FrameRef<'_>>;
    /// Builds the full goroutine (called once per new group).
    fn to_goroutine(&self) -> Goroutine;
}

impl Frame {
    /// A borrowed view.
    pub fn as_ref(&self) -> FrameRef<'_> {
        FrameRef {
            function: &self.function,
            args: &self.args,
            file: &self.file,
            line: self.line,
        }
    }
}

impl Stack for Goroutine {
    fn id(&self) -> u64 {
        self.id
    }
    fn count(&self) -> u64 {
        self.count
    }
    fn state(&self) -> &str {
        &self.state
    }
    fn locked(&self) -> bool {
        self.locked
    }
    fn wait_minutes(&self) -> Option<u64> {
        self.wait_minutes
    }
    fn labels(&self) -> &[(String, String)] {
        &self.labels
    }
    fn frames(&self) -> impl Iterator<Item = FrameRef<'_>> {
        self.frames.iter().map(Frame::as_ref)
    }
    fn created_by(&self) -> Option<FrameRef<'_>> {
        self.created_by.as_ref().map(Frame::as_ref)
    }
    fn to_goroutine(&self) -> Goroutine {
        self.clone()
    }
}

/// Streams goroutines into groups.
#[derive(Debug, Default)]
pub struct Grouper {
    similarity: Similarity,
    index: HashMap<u128, usize>,
    groups: Vec<Group>,
}

impl Grouper {
    /// How many goroutine ids each group remembers.
    pub const MAX_IDS: usize = 64;

    pub fn new(similarity: Similarity) -> Grouper {
        Grouper {
            similarity,
            index: HashMap::new(),
            groups: Vec::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.groups.len()
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Adds one goroutine.
    pub fn add(&mut self, g: &Goroutine) {
        self.add_stack(g);
    }

    /// Adds one goroutine seen through [`Stack`]: readers that hold a
    /// goroutine in their own form group it without building a
    /// [`Goroutine`] unless it starts a new group.
    pub fn add_stack<S: Stack + ?Sized>(&mut self, g: &S) {
        let key = self.key(g);
        let count = g.count().max(1);
        let wait = g.wait_minutes();
        let id = g.id();
        match self.index.get(&key) {
            Some(&i) => {
                let group = &mut self.groups[i];
                group.count += count;
                if group.ids.len() < Self::MAX_IDS && id != 0 {
                    group.ids.push(id);
                }
                group.wait_min = min_opt(group.wait_min, wait);
                group.wait_max = max_opt(group.wait_max, wait);
                if self.similarity != Similarity::Exact {
                    for (kept, new) in group.frames.iter_mut().zip(g.frames()) {
                        if kept.args != new.args && kept.args != "*" {
                            kept.args = String::from("*");
                        }
                    }
                }
                if group.labels != g.labels() {
                    merge_labels(&mut group.labels, g.labels());
                }
            }
            None => {
                let g = g.to_goroutine();
                self.index.insert(key, self.groups.len());
                self.groups.push(Group {
                    count,
                    ids: if id != 0 { vec![id] } else { Vec::new() },
                    status: g.status,
                    user_code: !g.is_runtime_only() && !g.frames.is_empty(),
                    state: g.state,
                    wait_min: wait,
                    wait_max: wait,
                    locked: g.locked,
                    frames: g.frames,
                    created_by: g.created_by,
                    labels: g.labels,
                    key,
                });
            }
        }
    }

    /// The groups, ordered: user code first, then by count (largest
    /// first), then by the first id seen.
    pub fn finish(self) -> Vec<Group> {
        let mut groups = self.groups;
        sort_groups(&mut groups);
        groups
    }

    fn key<S: Stack + ?Sized>(&self, g: &S) -> u128 {
        // A 128-bit XXH3 digest: a collision between distinct stacks is
        // not a practical concern, and it hashes at memory speed.
        let mut hasher = Xxh3::new();
        {
            let h = &mut hasher;
            g.state().hash(h);
            g.locked().hash(h);
            let mut n = 0usize;
            for f in g.frames() {
                n += 1;
                f.function.hash(h);
                f.file.hash(h);
                f.line.hash(h);
                match self.similarity {
                    Similarity::Exact => f.args.hash(h),
                    Similarity::AnyPointer => hash_args_ignoring_pointers(f.args, h),
                    Similarity::AnyValue => {}
                }
            }
            n.hash(h);
            if let Some(c) = g.created_by() {
                c.function.hash(h);
                c.file.hash(h);
                c.line.hash(h);
            }
        }
        hasher.digest128()
    }
}

/// Merges groups made from another part of the same input (with the same
/// similarity level) into `into`, and orders the result.
pub fn merge_groups(into: &mut Vec<Group>, from: Vec<Group>) {
    let mut index: HashMap<u128, usize> =
        into.iter().enumerate().map(|(i, g)| (g.key, i)).collect();
    for g in from {
        match index.get(&g.key) {
            Some(&i) => {
                let kept = &mut into[i];
                kept.count += g.count;
                for id in g.ids {
                    if kept.ids.len() >= Grouper::MAX_IDS {
                        break;
                    }
                    kept.ids.push(id);
                }
                kept.wait_min = min_opt(kept.wait_min, g.wait_min);
                kept.wait_max = max_opt(kept.wait_max, g.wait_max);
                for (k, n) in kept.frames.iter_mut().zip(&g.frames) {
                    if k.args != n.args {
                        k.args = String::from("*");
                    }
                }
                if kept.labels != g.labels {
                    merge_labels(&mut kept.labels, &g.labels);
                }
            }
            None => {
                index.insert(g.key, into.len());
                into.push(g);
            }
        }
    }
    sort_groups(into);
}

/// Orders groups the way a reader wants them: user code first, largest
/// first.
pub fn sort_groups(groups: &mut [Group]) {
    groups.sort_by(|x, y| {
        y.user_code
            .cmp(&x.user_code)
            .then(y.count.cmp(&x.count))
            .then(x.ids.first().cmp(&y.ids.first()))
    });
}

/// Most distinct values shown for one label key of a group.
const MAX_LABEL_VALUES: usize = 8;

/// Adds a goroutine's labels to a group's: values that differ within the
/// group are listed, joined with `|` (at most [`MAX_LABEL_VALUES`]).
fn merge_labels(kept: &mut Vec<(String, String)>, new: &[(String, String)]) {
    for (k, v) in new {
        match kept.iter_mut().find(|(kk, _)| kk == k) {
            Some((_, values)) => {
                let n = values.split('|').count();
                if !values.split('|').any(|x| x == v) && n < MAX_LABEL_VALUES {
                    values.push('|');
                    values.push_str(v);
                } else if n == MAX_LABEL_VALUES && !values.ends_with("|...") {
                    values.push_str("|...");
                }
            }
            None => kept.push((k.clone(), v.clone())),
        }
    }
}

fn min_opt(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn max_opt(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// Hashes an argument list with every pointer-like value replaced by a
/// placeholder.
fn hash_args_ignoring_pointers(args: &str, h: &mut Xxh3) {
    for arg in args.split(", ") {
        let arg = arg.trim_matches(|c| c == '{' || c == '}');
        if looks_like_pointer(arg) {
            "*".hash(h);
        } else {
            arg.hash(h);
        }
    }
}

/// A hex argument large enough to be an address rather than a small value.
pub fn looks_like_pointer(arg: &str) -> bool {
    let arg = arg.trim_end_matches('?');
    match arg.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).is_ok_and(|v| v >= 0x40_0000),
        None => false,
    }
}

/// How a group changed between two snapshots.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupChange {
    pub before: u64,
    pub after: u64,
    /// The group as it is in the later snapshot (or the earlier one when
    /// it disappeared).
    pub group: Group,
}

impl GroupChange {
    pub fn delta(&self) -> i128 {
        i128::from(self.after) - i128::from(self.before)
    }
}

/// Compares two groupings: groups that appeared, grew, shrank or
/// disappeared, largest growth first. Unchanged groups are left out.
pub fn diff_groups(before: &[Group], after: &[Group]) -> Vec<GroupChange> {
    let mut old: HashMap<String, (u64, &Group)> = HashMap::new();
    for g in before {
        let e = old.entry(g.identity()).or_insert((0, g));
        e.0 += g.count;
    }
    let mut changes = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for g in after {
        let id = g.identity();
        let before_count = old.get(&id).map_or(0, |(c, _)| *c);
        if seen.insert(id) && before_count != g.count {
            changes.push(GroupChange {
                before: before_count,
                after: g.count,
                group: g.clone(),
            });
        }
    }
    for g in before {
        if !seen.contains(&g.identity()) {
            seen.insert(g.identity());
            changes.push(GroupChange {
                before: old.get(&g.identity()).map_or(g.count, |(c, _)| *c),
                after: 0,
                group: g.clone(),
            });
        }
    }
    // Equal growth: the group running the program's own code first. A
    // leaked HTTP call grows its caller's group and the transport's
    // readLoop and writeLoop groups by the same count; the caller is the
    // answer.
    let root = after
        .iter()
        .chain(before)
        .find_map(|g| crate::cause::goroot_src(&g.frames));
    // One key per change: sort_by_key would walk the frames per comparison.
    changes.sort_by_cached_key(|c| (std::cmp::Reverse(c.delta()), !runs_own_code(&c.group, root)));
    changes
}

/// True when a frame of the group, or its creation site, is outside the
/// runtime and the standard library (under `root`, the standard library's
/// sources when a stack showed them).
fn runs_own_code(g: &Group, root: Option<&str>) -> bool {
    g.frames
        .iter()
        .chain(g.created_by.iter())
        .any(|f| !f.is_runtime() && !crate::cause::is_stdlib(f, root))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(function: &str, args: &str, line: u32) -> Frame {
        Frame {
            function: function.into(),
            args: args.into(),
            file: "/src/main.go".into(),
            line,
            offset: None,
            pc: None,
            inlined: false,
        }
    }

    fn goroutine(id: u64, frames: Vec<Frame>) -> Goroutine {
        Goroutine {
            id,
            status: Status::Waiting,
            state: "chan send".into(),
            frames,
            count: 1,
            ..Goroutine::default()
        }
    }

    #[test]
    fn similarity_levels_decide_on_arguments() {
        let a = goroutine(1, vec![frame("main.f", "0xc000010000, 0x5", 10)]);
        let b = goroutine(2, vec![frame("main.f", "0xc000020000, 0x5", 10)]);
        let c = goroutine(3, vec![frame("main.f", "0xc000020000, 0x6", 10)]);
        let count = |s| {
            let mut g = Grouper::new(s);
            for x in [&a, &b, &c] {
                g.add(x);
            }
            g.len()
        };
        assert_eq!(count(Similarity::Exact), 3);
        assert_eq!(count(Similarity::AnyPointer), 2);
        assert_eq!(count(Similarity::AnyValue), 1);
    }

    #[test]
    fn groups_order_user_code_first_then_count() {
        let mut g = Grouper::new(Similarity::AnyValue);
        g.add(&goroutine(1, vec![frame("runtime.gopark", "", 1)]));
        g.add(&goroutine(2, vec![frame("runtime.gopark", "", 1)]));
        g.add(&goroutine(3, vec![frame("main.f", "", 1)]));
        let groups = g.finish();
        assert_eq!(groups[0].frames[0].function, "main.f");
        assert_eq!(groups[1].count, 2);
        assert_eq!(groups[1].ids, vec![1, 2]);
    }

    #[test]
    fn differing_arguments_are_starred() {
        let mut g = Grouper::new(Similarity::AnyValue);
        g.add(&goroutine(1, vec![frame("main.f", "0x1", 1)]));
        g.add(&goroutine(2, vec![frame("main.f", "0x2", 1)]));
        assert_eq!(g.finish()[0].frames[0].args, "*");
    }

    #[test]
    fn diff_reports_growth_first() {
        let mk = |n: u64, f: &str| {
            let mut g = Grouper::new(Similarity::AnyValue);
            for i in 0..n {
                g.add(&goroutine(i + 1, vec![frame(f, "", 1)]));
            }
            g.finish()
        };
        let mut before = mk(2, "main.leak");
        before.extend(mk(5, "main.gone"));
        let mut after = mk(10, "main.leak");
        after.extend(mk(1, "main.new"));
        let changes = diff_groups(&before, &after);
        assert_eq!(changes[0].group.frames[0].function, "main.leak");
        assert_eq!((changes[0].before, changes[0].after), (2, 10));
        assert_eq!(changes[1].group.frames[0].function, "main.new");
        assert_eq!(changes.last().map(|c| c.after), Some(0));
    }

    #[test]
    fn equal_growth_puts_the_programs_own_code_first() {
        let at = |function: &str, file: &str| Frame {
            function: function.into(),
            file: file.into(),
            line: 1,
            ..frame("", "", 1)
        };
        let mk = |n: u64, frames: Vec<Frame>| {
            let mut g = Grouper::new(Similarity::AnyValue);
            for i in 0..n {
                g.add(&goroutine(i + 1, frames.clone()));
            }
            g.finish()
        };
        let go = "/root/sdk/go1.21.13/src";
        let read_loop = vec![
            at(
                "internal/poll.runtime_pollWait",
                &format!("{go}/runtime/netpoll.go"),
            ),
            at(
                "net/http.(*persistConn).readLoop",
                &format!("{go}/net/http/transport.go"),
            ),
        ];
        let caller = vec![
            at(
                "net/http.(*persistConn).roundTrip",
                &format!("{go}/net/http/transport.go"),
            ),
            at("main.fetchHTTP", "/app/main.go"),
        ];
        let before = [mk(4, read_loop.clone()), mk(4, caller.clone())].concat();
        let after = [mk(10, read_loop), mk(10, caller)].concat();
        let changes = diff_groups(&before, &after);
        assert_eq!(changes[0].group.frames[1].function, "main.fetchHTTP");
        assert_eq!(
            changes[1].group.frames[1].function,
            "net/http.(*persistConn).readLoop"
        );
    }

    #[test]
    fn pointer_heuristic() {
        assert!(looks_like_pointer("0xc000012345"));
        assert!(looks_like_pointer("0x4a2b10?"));
        assert!(!looks_like_pointer("0x39"));
        assert!(!looks_like_pointer("..."));
    }
}
