//! Template clustering, Drain-style: messages are masked, then an exact
//! cache of masked messages answers almost every line with one hash
//! lookup; a miss compares the message with the templates of the same
//! level and length and joins the most similar one (turning the tokens
//! that differ into `<*>`) when enough tokens agree, or starts a new
//! template. Memory is bounded by the templates: the cache is cleared
//! when it grows past its limit.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::level::Level;
use crate::mask::{SEP, VAR, words_conflict};

/// How alike a message must be to join a template.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClusterOptions {
    /// Fraction of tokens (variables excluded) that must be equal.
    pub similarity: f64,
    /// Leading tokens that must be equal (or a variable in the template),
    /// like the prefix levels of Drain's tree.
    pub prefix: usize,
    /// Masked messages remembered before the cache is cleared.
    pub max_cache: usize,
    /// When at least this many templates differ only at one position
    /// (different words, which never merge one by one: `for user root`,
    /// `for user git`, ...), that position is a variable and they become
    /// one template (0: never).
    pub min_siblings: usize,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions {
            similarity: 0.5,
            prefix: 0,
            max_cache: 1 << 18,
            min_siblings: 4,
        }
    }
}

/// A template being built.
#[derive(Debug, Clone)]
pub struct Cluster {
    pub level: Option<Level>,
    pub tokens: Vec<Box<str>>,
}

impl Cluster {
    /// The template as text.
    pub fn text(&self) -> String {
        self.tokens.join(" ")
    }
}

/// The hash of a masked message is already uniform: use it as is.
#[derive(Default)]
pub struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type Cache = HashMap<u64, u32, BuildHasherDefault<IdentityHasher>>;

fn level_code(l: Option<Level>) -> u8 {
    l.map_or(0, |l| l as u8 + 1)
}

/// Clusters masked messages into templates.
#[derive(Debug, Default)]
pub struct Clusterer {
    opts: ClusterOptions,
    clusters: Vec<Cluster>,
    /// (level, token count) -> clusters.
    index: HashMap<(u8, u32), Vec<u32>>,
    cache: Cache,
}

/// The cache key of a masked message at a level.
pub fn key_hash(level: Option<Level>, masked: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64_with_seed(masked.as_bytes(), u64::from(level_code(level)))
}

impl Clusterer {
    pub fn new(opts: ClusterOptions) -> Clusterer {
        Clusterer {
            opts,
            ..Clusterer::default()
        }
    }

    pub fn clusters(&self) -> &[Cluster] {
        &self.clusters
    }

    /// The cluster of a masked message (`hash` from [`key_hash`]), and
    /// whether it is new.
    pub fn add(&mut self, level: Option<Level>, masked: &str, hash: u64) -> (u32, bool) {
        if let Some(&id) = self.cache.get(&hash) {
            return (id, false);
        }
        let tokens: Vec<&str> = if masked.is_empty() {
            Vec::new()
        } else {
            masked.split(SEP).collect()
        };
        let (id, new) = self.place(level, &tokens);
        if self.cache.len() >= self.opts.max_cache {
            self.cache.clear();
        }
        self.cache.insert(hash, id);
        (id, new)
    }

    /// Finds the cluster for a token sequence or makes one.
    fn place(&mut self, level: Option<Level>, tokens: &[&str]) -> (u32, bool) {
        let key = (
            level_code(level),
            u32::try_from(tokens.len()).unwrap_or(u32::MAX),
        );
        if let Some(id) = self.best_match(key, tokens) {
            let c = &mut self.clusters[id as usize];
            for (t, l) in c.tokens.iter_mut().zip(tokens) {
                if **t != **l && &**t != VAR {
                    *t = VAR.into();
                }
            }
            return (id, false);
        }
        let id = u32::try_from(self.clusters.len()).unwrap_or(u32::MAX);
        self.clusters.push(Cluster {
            level,
            tokens: tokens.iter().map(|t| Box::<str>::from(*t)).collect(),
        });
        self.index.entry(key).or_default().push(id);
        (id, true)
    }

    fn best_match(&self, key: (u8, u32), tokens: &[&str]) -> Option<u32> {
        let candidates = self.index.get(&key)?;
        let mut best: Option<(f64, usize, u32)> = None;
        for &id in candidates {
            let c = &self.clusters[id as usize];
            let prefix_ok = c
                .tokens
                .iter()
                .zip(tokens)
                .take(self.opts.prefix)
                .all(|(t, l)| **t == **l || &**t == VAR);
            if !prefix_ok {
                continue;
            }
            let (mut same, mut vars, mut shared_vars) = (0usize, 0usize, 0usize);
            let mut conflict = false;
            for (t, l) in c.tokens.iter().zip(tokens) {
                if &**t == VAR {
                    vars += 1;
                    shared_vars += usize::from(*l == VAR);
                } else if **t == **l {
                    same += 1;
                } else if words_conflict(t, l) {
                    conflict = true;
                    break;
                }
            }
            if conflict {
                continue;
            }
            let informative = tokens.len() - shared_vars;
            let sim = if informative == 0 {
                1.0
            } else {
                same as f64 / informative as f64
            };
            if sim >= self.opts.similarity
                && best.is_none_or(|(s, v, _)| sim > s || (sim == s && vars > v))
            {
                best = Some((sim, vars, id));
            }
        }
        best.map(|(_, _, id)| id)
    }

    /// Adds another clusterer's templates (from another part of the
    /// input) as if their messages had been seen here; returns where each
    /// of its clusters went.
    pub fn absorb(&mut self, other: Clusterer) -> Vec<u32> {
        other
            .clusters
            .into_iter()
            .map(|c| {
                let tokens: Vec<&str> = c.tokens.iter().map(|t| &**t).collect();
                self.place(c.level, &tokens).0
            })
            .collect()
    }

    /// Merges clusters that differ only at one position in many ways
    /// (see [`ClusterOptions::min_siblings`]) and clusters that became
    /// identical as they were generalised; returns where each cluster went
    /// and the surviving clusters.
    pub fn finish(self) -> (Vec<u32>, Vec<Cluster>) {
        let n = self.clusters.len();
        let mut parent: Vec<usize> = (0..n).collect();
        fn root(p: &mut [usize], mut x: usize) -> usize {
            while p[x] != x {
                p[x] = p[p[x]];
                x = p[x];
            }
            x
        }
        if self.opts.min_siblings > 1 {
            let mut siblings: HashMap<(u8, String), Vec<usize>> = HashMap::new();
            for (id, c) in self.clusters.iter().enumerate() {
                for i in 0..c.tokens.len() {
                    if &*c.tokens[i] == VAR {
                        continue;
                    }
                    let mut key = String::new();
                    for (j, t) in c.tokens.iter().enumerate() {
                        key.push_str(if i == j { "\u{1}" } else { t });
                        key.push(SEP);
                    }
                    siblings
                        .entry((level_code(c.level), key))
                        .or_default()
                        .push(id);
                }
            }
            for ids in siblings
                .values()
                .filter(|ids| ids.len() >= self.opts.min_siblings)
            {
                for &id in &ids[1..] {
                    let (a, b) = (root(&mut parent, ids[0]), root(&mut parent, id));
                    parent[b] = a;
                }
            }
        }
        // Each set's template: its members' tokens, generalised where they differ.
        let mut merged: Vec<Option<Cluster>> = vec![None; n];
        for (id, c) in self.clusters.into_iter().enumerate() {
            let r = root(&mut parent, id);
            match &mut merged[r] {
                Some(m) => {
                    for (t, l) in m.tokens.iter_mut().zip(&c.tokens) {
                        if t != l {
                            *t = VAR.into();
                        }
                    }
                }
                slot => *slot = Some(c),
            }
        }
        let mut seen: HashMap<(Option<Level>, Vec<Box<str>>), u32> = HashMap::new();
        let mut out: Vec<Cluster> = Vec::new();
        let mut at_root = vec![u32::MAX; n];
        for (r, c) in merged.into_iter().enumerate() {
            let Some(c) = c else { continue };
            let key = (c.level, c.tokens.clone());
            at_root[r] = *seen.entry(key).or_insert_with(|| {
                out.push(c);
                u32::try_from(out.len() - 1).unwrap_or(u32::MAX)
            });
        }
        let remap = (0..n).map(|id| at_root[root(&mut parent, id)]).collect();
        (remap, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mask::mask_into;

    fn add(c: &mut Clusterer, msg: &str) -> u32 {
        let mut m = String::new();
        mask_into(msg, &mut m);
        c.add(Some(Level::Info), &m, key_hash(Some(Level::Info), &m))
            .0
    }

    #[test]
    fn similar_messages_share_a_template() {
        let mut c = Clusterer::new(ClusterOptions::default());
        let a = add(&mut c, "user alice@example.com logged in from web");
        let b = add(&mut c, "user bob@example.org logged in from web");
        let d = add(&mut c, "cache warmed in 12ms");
        assert_eq!(a, b);
        assert_ne!(a, d);
        assert_eq!(
            c.clusters()[a as usize].text(),
            "user <*> logged in from web"
        );
        // Different words at the same place are different events.
        let started = add(&mut c, "instance i-1 VM Started (Lifecycle Event)");
        let paused = add(&mut c, "instance i-2 VM Paused (Lifecycle Event)");
        assert_ne!(started, paused);
        // Many different words at one place are a variable after all.
        for user in ["root", "git", "ftp", "uucp"] {
            add(&mut c, &format!("Failed password for {user} from 10.0.0.1"));
        }
        let (remap, clusters) = c.finish();
        assert!(
            clusters
                .iter()
                .any(|c| c.text() == "Failed password for <*> from <*>")
        );
        assert_ne!(remap[started as usize], remap[paused as usize]);
    }
}
