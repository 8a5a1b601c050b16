//! Goroutines grouped by one key: a location (Delve's user, current, go
//! statement or start location), a pprof label, or whatever a caller
//! derives from a goroutine.
//!
//! [`group`] is the one engine: it counts the goroutines of each key,
//! keeps the first few of them (in the order given) and, when asked, how
//! many are in each state, merges keys that name the same group, and
//! orders the groups. `gosleuth core --group-by` runs it through
//! [`by_key`] with gosleuth's keys and names ([`GroupBy`]: locations
//! written `function file:line`, as `--with` matches them); Delve's
//! `ListGoroutines` grouping runs it in `gosleuth_dlvrpc` with Delve's
//! names (`file:line in function`, its contract on the wire).

use std::collections::HashMap;
use std::hash::Hash;

use gosleuth_memory::Memory;
use gosleuth_model::Stack;
use rayon::prelude::*;

use crate::capture::{Capture, View};
use crate::filter::{Loc, describe, location};

/// One goroutine as [`group`] sees it.
#[derive(Debug, Clone)]
pub struct Member<'a, K> {
    /// Its index in the capture.
    pub index: usize,
    /// What it is grouped by.
    pub key: K,
    /// Its state, for groups that count states (`None`: not counted).
    pub state: Option<&'a str>,
}

/// The order of the groups [`group`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// By name (byte order), as Delve lists them.
    Name,
    /// Most goroutines first, then by name.
    Count,
}

/// How [`group`] keeps and orders groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// How many goroutines each group lists (the first ones, in the
    /// order given).
    pub members: usize,
    pub order: Order,
}

/// Goroutines that share a name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Group {
    /// The location or label the group stands for.
    pub name: String,
    /// Goroutines in the group.
    pub count: u64,
    /// Capture indexes of its first [`Options::members`] goroutines, in
    /// the order they were given.
    pub members: Vec<usize>,
    /// Goroutines per state, most first, then by state (empty when no
    /// state was given).
    pub states: Vec<(String, u64)>,
}

/// Goroutines of one key while they are counted.
struct Tally {
    count: u64,
    /// (position, capture index) of the first goroutine seen.
    first: (usize, usize),
    /// (position, capture index) of the first few goroutines.
    members: Vec<(usize, usize)>,
    states: HashMap<String, u64>,
}

impl Tally {
    fn new(first: (usize, usize)) -> Tally {
        Tally {
            count: 0,
            first,
            members: Vec::new(),
            states: HashMap::new(),
        }
    }

    /// Adds `other`, keeping the `limit` members given first (whatever
    /// order the workers finish in).
    fn merge(&mut self, other: Tally, limit: usize) {
        self.count += other.count;
        self.first = self.first.min(other.first);
        self.members.extend(other.members);
        self.members.sort_unstable();
        self.members.truncate(limit);
        for (s, n) in other.states {
            *self.states.entry(s).or_default() += n;
        }
    }
}

/// Groups `n` goroutines: `member(p)` is the goroutine at position `p`
/// (`None`: left out), `name(key, index)` names a key from the capture
/// index of its first goroutine, and keys with the same name are one
/// group. Keys are counted in parallel; each key is named once.
pub fn group<'a, K, F, N>(n: usize, member: F, mut name: N, opts: Options) -> Vec<Group>
where
    K: Hash + Eq + Send,
    F: Fn(usize) -> Option<Member<'a, K>> + Sync,
    N: FnMut(&K, usize) -> String,
{
    let limit = opts.members;
    type Keyed<K> = HashMap<K, Tally>;
    let keyed: Keyed<K> = (0..n)
        .into_par_iter()
        .fold(Keyed::new, |mut acc, p| {
            let Some(m) = member(p) else {
                return acc;
            };
            let t = acc.entry(m.key).or_insert_with(|| Tally::new((p, m.index)));
            t.count += 1;
            if t.members.len() < limit {
                t.members.push((p, m.index));
            }
            if let Some(state) = m.state {
                if let Some(k) = t.states.get_mut(state) {
                    *k += 1;
                } else {
                    t.states.insert(state.to_string(), 1);
                }
            }
            acc
        })
        .reduce(Keyed::new, |mut a, b| {
            for (k, t) in b {
                match a.get_mut(&k) {
                    Some(e) => e.merge(t, limit),
                    None => {
                        a.insert(k, t);
                    }
                }
            }
            a
        });
    let mut named: HashMap<String, Tally> = HashMap::new();
    for (k, t) in keyed {
        let name = name(&k, t.first.1);
        match named.get_mut(&name) {
            Some(e) => e.merge(t, limit),
            None => {
                named.insert(name, t);
            }
        }
    }
    let mut groups: Vec<Group> = named
        .into_iter()
        .map(|(name, t)| {
            let mut states: Vec<(String, u64)> = t.states.into_iter().collect();
            states.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            Group {
                name,
                count: t.count,
                members: t.members.into_iter().map(|(_, i)| i).collect(),
                states,
            }
        })
        .collect();
    match opts.order {
        Order::Name => groups.sort_by(|a, b| a.name.cmp(&b.name)),
        Order::Count => {
            groups.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
        }
    }
    groups
}

/// What `gosleuth core --group-by` groups by, besides the full stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupBy {
    /// One of Delve's locations, named `function file:line`.
    Loc(Loc),
    /// The value of a pprof label, named `KEY=VALUE` or `KEY not set`.
    Label(String),
}

/// A goroutine's key under a [`GroupBy`], cheap to compute and hash: the
/// pc of the physical frame that holds the location, with whether its
/// line is looked up at the pc itself; a pc; a label value. Each key is
/// named once.
#[derive(Debug, Hash, PartialEq, Eq)]
enum Key {
    Frame(u64, bool),
    Pc(u64),
    Label(Option<String>),
    Unknown,
}

impl GroupBy {
    /// `userloc`, `curloc`, `goloc`, `startloc` or `label=KEY`.
    pub fn parse(s: &str) -> Option<GroupBy> {
        Some(match s {
            "userloc" => GroupBy::Loc(Loc::User),
            "curloc" => GroupBy::Loc(Loc::Current),
            "goloc" => GroupBy::Loc(Loc::Go),
            "startloc" => GroupBy::Loc(Loc::Start),
            _ => GroupBy::Label(s.strip_prefix("label=")?.to_string()),
        })
    }

    /// The key of goroutine `v`.
    fn key<M: Memory>(&self, v: &View<'_, M>) -> Key {
        let physical = |k: usize| {
            v.raw()
                .frames
                .get(k)
                .map_or(Key::Unknown, |f| Key::Frame(f.pc, k == 0 || f.trap()))
        };
        match self {
            GroupBy::Loc(Loc::Current) => physical(0),
            GroupBy::Loc(Loc::User) => physical(v.user_frame_index().unwrap_or(0)),
            GroupBy::Loc(Loc::Go) => Key::Pc(v.raw().gopc),
            GroupBy::Loc(Loc::Start) => Key::Pc(v.raw().startpc),
            GroupBy::Label(k) => Key::Label(
                v.labels()
                    .iter()
                    .find(|(lk, _)| lk == k)
                    .map(|(_, val)| val.clone()),
            ),
        }
    }

    /// The name of key `k`, read from goroutine `v` (one that has it).
    fn name<M: Memory>(&self, k: &Key, v: &View<'_, M>) -> String {
        match (k, self) {
            (Key::Label(val), GroupBy::Label(key)) => val
                .as_ref()
                .map_or_else(|| format!("{key} not set"), |val| format!("{key}={val}")),
            (Key::Unknown, _) => "(unknown)".to_string(),
            (_, GroupBy::Loc(l)) => {
                location(v, *l).map_or_else(|| "(unknown)".into(), |f| describe(&f))
            }
            _ => "(unknown)".to_string(),
        }
    }

    /// The name of the group goroutine `v` is in.
    pub fn name_of<M: Memory>(&self, v: &View<'_, M>) -> String {
        self.name(&self.key(v), v)
    }
}

/// The goroutines of `c` that `keep` keeps, grouped by `by`: most
/// goroutines first, each group with its first `members` goroutines (in
/// id order) and its states.
pub fn by_key<M: Memory + Sync>(
    c: &Capture<M>,
    by: &GroupBy,
    keep: &(dyn Fn(&View<'_, M>) -> bool + Sync),
    members: usize,
) -> Vec<Group> {
    group(
        c.goroutines.len(),
        |i| {
            let v = c.view(i);
            keep(&v).then(|| Member {
                index: i,
                key: by.key(&v),
                state: Some(c.state_str(v.raw())),
            })
        },
        |k, first| by.name(k, &c.view(first)),
        Options {
            members,
            order: Order::Count,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Goroutines at positions 0.. as (key, state); index = 100 + position.
    fn run(gs: &[(&str, &str)], name: fn(&&str) -> String, opts: Options) -> Vec<Group> {
        group(
            gs.len(),
            |p| {
                let (key, state) = gs[p];
                (key != "-").then_some(Member {
                    index: 100 + p,
                    key,
                    state: Some(state),
                })
            },
            |k, _| name(k),
            opts,
        )
    }

    fn sample() -> Vec<(&'static str, &'static str)> {
        // Enough goroutines to be split between workers.
        let mut gs = Vec::new();
        for p in 0..1000 {
            gs.push(match p % 5 {
                0 | 1 => ("a", "chan receive"),
                2 => ("b", "select"),
                3 => ("b2", if p % 2 == 0 { "select" } else { "running" }),
                _ => ("-", "left out"),
            });
        }
        gs
    }

    #[test]
    fn counts_keeps_the_first_members_and_merges_equal_names() {
        // "b" and "b2" name one group.
        let name = |k: &&str| k.trim_end_matches('2').to_string();
        let groups = run(
            &sample(),
            name,
            Options {
                members: 3,
                order: Order::Count,
            },
        );
        let b = Group {
            name: "b".into(),
            count: 400,
            members: vec![102, 103, 107],
            states: vec![("select".into(), 300), ("running".into(), 100)],
        };
        let a = Group {
            name: "a".into(),
            count: 400,
            members: vec![100, 101, 105],
            states: vec![("chan receive".into(), 400)],
        };
        // Equal counts: by name.
        assert_eq!(groups, vec![a.clone(), b.clone()]);
        let by_name = run(
            &sample(),
            name,
            Options {
                members: 3,
                order: Order::Name,
            },
        );
        assert_eq!(by_name, vec![a, b]);
    }

    #[test]
    fn orders_by_count_or_by_name() {
        let gs = [("z", "s"), ("y", "s"), ("z", "s"), ("x", "s"), ("z", "s")];
        let names = |order| {
            run(&gs, |k| k.to_string(), Options { members: 1, order })
                .into_iter()
                .map(|g| (g.name, g.count, g.members))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            names(Order::Count),
            [
                ("z".into(), 3, vec![100]),
                ("x".into(), 1, vec![103]),
                ("y".into(), 1, vec![101])
            ]
        );
        assert_eq!(
            names(Order::Name),
            [
                ("x".into(), 1, vec![103]),
                ("y".into(), 1, vec![101]),
                ("z".into(), 3, vec![100])
            ]
        );
    }

    #[test]
    fn no_states_no_members() {
        let groups = group(
            3,
            |p| {
                Some(Member {
                    index: p,
                    key: p % 2,
                    state: None,
                })
            },
            |k, first| format!("{k}@{first}"),
            Options {
                members: 0,
                order: Order::Name,
            },
        );
        assert_eq!(
            groups,
            [
                Group {
                    name: "0@0".into(),
                    count: 2,
                    ..Group::default()
                },
                Group {
                    name: "1@1".into(),
                    count: 1,
                    ..Group::default()
                }
            ]
        );
    }

    #[test]
    fn parses_group_by() {
        assert_eq!(GroupBy::parse("userloc"), Some(GroupBy::Loc(Loc::User)));
        assert_eq!(GroupBy::parse("startloc"), Some(GroupBy::Loc(Loc::Start)));
        assert_eq!(
            GroupBy::parse("label=kind"),
            Some(GroupBy::Label("kind".into()))
        );
        assert_eq!(GroupBy::parse("stack"), None);
        assert_eq!(GroupBy::parse("labels"), None);
    }
}
