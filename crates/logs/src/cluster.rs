//! Template clustering, Drain-style: messages are masked, then an exact
//! cache of masked messages answers almost every line with one hash
//! lookup; a miss compares the message with the templates of the same
//! level and length and joins the most similar one (turning the tokens
//! that differ into `<*>`) when enough tokens agree, or starts a new
//! template.
//!
//! The work per line and the memory are bounded whatever the input (free
//! text, random bytes): a miss is compared with at most [`HEAD`] +
//! [`RECENT`] templates (the first ones of its level and length, which
//! are usually the most frequent, and the most recently used ones), the
//! cache has a fixed number of slots (a new message evicts the one in its
//! slot), a template keeps at
//! most [`crate::mask::MAX_TOKENS`] tokens, and past
//! [`ClusterOptions::max_templates`] a message that matches no template
//! joins its level's *other* template instead of starting one.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::level::Level;
use crate::mask::{DELIMS, Masked, VAR, words_conflict};

/// Templates of a level and length compared with every new message: the
/// first ones made.
pub const HEAD: usize = 24;
/// ... and the most recently made or joined.
pub const RECENT: usize = 24;
/// After this many messages in a row found no template of their level
/// and length (free text, binary junk), they are compared with only
/// [`FEW`] of each kind until one does.
const FUTILE: u32 = 32;
const FEW: usize = 4;
/// The text of an *other* template.
pub const OTHER: &str = "<other>";

/// How alike a message must be to join a template.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClusterOptions {
    /// Fraction of tokens (variables excluded) that must be equal.
    pub similarity: f64,
    /// Leading tokens that must be equal (or a variable in the template),
    /// like the prefix levels of Drain's tree.
    pub prefix: usize,
    /// Masked messages remembered at most (the cache has this many slots,
    /// rounded up to a power of two; a message evicts the one in its slot).
    pub max_cache: usize,
    /// When at least this many templates differ only at one position
    /// (different words, which never merge one by one: `for user root`,
    /// `for user git`, ...), that position is a variable and they become
    /// one template (0: never).
    pub min_siblings: usize,
    /// Templates made at most (0: no limit); past it, a message that
    /// matches none joins its level's *other* template ([`OTHER`]).
    pub max_templates: usize,
}

/// The default of [`ClusterOptions::max_templates`].
pub const MAX_TEMPLATES: usize = 5000;

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions {
            similarity: 0.5,
            prefix: 0,
            max_cache: 1 << 18,
            min_siblings: 4,
            max_templates: MAX_TEMPLATES,
        }
    }
}

/// A template being built.
#[derive(Debug, Clone)]
pub struct Cluster {
    pub level: Option<Level>,
    pub tokens: Vec<Box<str>>,
    /// The messages of this level that found no template once the
    /// template limit was reached.
    pub other: bool,
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

/// Masked messages seen -> their cluster: one slot per hash's low bits,
/// a new message evicting the one in its slot. A lookup or an insert
/// touches one cache line (a hash table touches two or three), which is
/// what a line that no template matches (free text) pays. It is not only
/// a shortcut: a message seen before keeps its cluster even when its
/// template is no longer among those [`Clusterer::best_match`] compares.
#[derive(Debug, Default)]
struct Cache {
    /// (hash, cluster); a hash of 0 marks an empty slot (a message whose
    /// hash is 0 is never cached).
    slots: Vec<(u64, u32)>,
}

impl Cache {
    fn slot(&self, hash: u64) -> usize {
        // The low bits: key_hash is uniform.
        (hash as usize) & (self.slots.len() - 1)
    }

    fn get(&self, hash: u64) -> Option<u32> {
        if self.slots.is_empty() || hash == 0 {
            return None;
        }
        let (h, id) = self.slots[self.slot(hash)];
        (h == hash).then_some(id)
    }

    fn insert(&mut self, hash: u64, id: u32, size: usize) {
        if self.slots.is_empty() {
            self.slots = vec![(0, 0); size.clamp(1, 1 << 26).next_power_of_two()];
        }
        let at = self.slot(hash);
        self.slots[at] = (hash, id);
    }
}

fn level_code(l: Option<Level>) -> u8 {
    l.map_or(0, |l| l as u8 + 1)
}

/// Clusters masked messages into templates.
#[derive(Debug, Default)]
pub struct Clusterer {
    opts: ClusterOptions,
    clusters: Vec<Cluster>,
    /// Templates made (the *other* ones aside).
    made: usize,
    /// [`bucket_key`] -> its templates.
    index: HashMap<u64, Bucket, BuildHasherDefault<IdentityHasher>>,
    /// Per level code: its *other* cluster.
    others: [Option<u32>; 8],
    /// Templates with one position left out ([`Clusterer::sibling_keys`])
    /// -> the first template made with that key, and how many were.
    siblings: HashMap<u64, (u32, u32), BuildHasherDefault<IdentityHasher>>,
    /// The sibling keys of the message being placed.
    keys: Vec<u64>,
    /// A bit per sibling key (by its low bits) whose count reached
    /// [`ClusterOptions::min_siblings`] - 1: most messages that find no
    /// template (every line of free text) have none, and testing a bit
    /// is cheaper than probing `siblings`, which misses the cache.
    ready: Vec<u64>,
    /// The tokens of the message being placed (an allocation kept
    /// between messages).
    tokens: Vec<&'static str>,
    cache: Cache,
    /// The hashes of the message being placed.
    scratch: Vec<u64>,
}

/// The templates of one level and length, oldest first, then the most
/// recently used last, with their tokens' hashes side by side (so that a
/// message is compared with them in one sweep through memory).
#[derive(Debug, Default)]
struct Bucket {
    ids: Vec<u32>,
    /// Messages in a row that found none of these templates.
    misses: u32,
    /// `ids.len()` runs of the template length: [`token_hash`] of each token.
    hashes: Vec<u64>,
    /// Once the bucket holds more templates than a message is compared
    /// with: a bit per (position, token hash) of its templates
    /// ([`seen_bit`]), so that a message sharing too few of them with
    /// every template is turned away without reading any (each one read
    /// is a cache miss).
    seen: Vec<u64>,
}

/// Bits of [`Bucket::seen`]: 2^15, 4 KiB.
const SEEN_BITS: usize = 1 << 15;

/// The word and bit of a token's hash at a position in [`Bucket::seen`].
fn seen_bit(pos: usize, h: u64) -> (usize, u64) {
    let i = ((h ^ (pos as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15))
        .wrapping_mul(0xff51_afd7_ed55_8ccd)
        >> 49) as usize
        % SEEN_BITS;
    (i / 64, 1 << (i % 64))
}

impl Bucket {
    /// Records a template token's hash at a position (a no-op until
    /// [`Bucket::seen`] is made).
    fn see(&mut self, pos: usize, h: u64) {
        if !self.seen.is_empty() && h != VAR_HASH {
            let (w, b) = seen_bit(pos, h);
            self.seen[w] |= b;
        }
    }

    /// False when no template of the bucket can be `threshold` similar
    /// to `line`: too few of its tokens appear at their position in any
    /// of them (a bound on [`similarity`], which counts a position equal
    /// only when the hashes are).
    fn may_match(&mut self, line: &[u64], threshold: f64) -> bool {
        let len = line.len();
        if self.seen.is_empty() {
            if self.ids.len() <= HEAD + RECENT || len == 0 {
                return true;
            }
            self.seen = vec![0; SEEN_BITS / 64];
            for i in 0..self.hashes.len() {
                let h = self.hashes[i];
                self.see(i % len, h);
            }
        }
        let vars = line.iter().filter(|&&h| h == VAR_HASH).count();
        let informative = len - vars;
        if informative == 0 {
            return true;
        }
        let same = line
            .iter()
            .enumerate()
            .filter(|&(i, &h)| {
                let (w, b) = seen_bit(i, h);
                h != VAR_HASH && self.seen[w] & b != 0
            })
            .count();
        same as f64 / informative as f64 >= threshold
    }
}

/// The key of a level and a token count in the index (mixed, as the
/// index does not hash it again).
fn bucket_key(level: Option<Level>, len: usize) -> u64 {
    ((u64::from(level_code(level)) << 32) | len as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// The hash of a variable.
const VAR_HASH: u64 = 0;

/// Words of [`Clusterer::ready`]: 2^18 bits, 32 KiB (a first-level
/// cache's worth).
const READY_WORDS: usize = 1 << 12;

/// The word and bit of a sibling key in [`Clusterer::ready`].
fn ready_bit(k: u64) -> (usize, u64) {
    let i = (k >> 40) as usize % (READY_WORDS * 64);
    (i / 64, 1 << (i % 64))
}

/// An empty vector of tokens reusing another's allocation (the
/// lifetimes differ: the tokens borrow each message in turn).
fn recycle<'b>(mut v: Vec<&str>) -> Vec<&'b str> {
    v.clear();
    v.into_iter().map(|_| "").collect()
}

/// The hash of a token: never [`VAR_HASH`] unless it is a variable.
fn token_hash(t: &str) -> u64 {
    if t == VAR {
        VAR_HASH
    } else {
        xxhash_rust::xxh3::xxh3_64(t.as_bytes()) | 1
    }
}

/// The cache key of a masked message at a level (its token count too:
/// a message may hold the separator itself).
pub fn key_hash(level: Option<Level>, masked: &Masked) -> u64 {
    let seed = u64::from(level_code(level)) | (masked.len() as u64) << 8;
    xxhash_rust::xxh3::xxh3_64_with_seed(masked.as_str().as_bytes(), seed)
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
    pub fn add(&mut self, level: Option<Level>, masked: &Masked, hash: u64) -> (u32, bool) {
        if let Some(id) = self.cache.get(hash) {
            return (id, false);
        }
        let mut tokens = recycle(std::mem::take(&mut self.tokens));
        tokens.extend(masked.tokens());
        let (id, new) = self.place(level, &tokens);
        self.tokens = recycle(tokens);
        self.cache.insert(hash, id, self.opts.max_cache);
        (id, new)
    }

    /// The *other* cluster of a level, made when first needed.
    fn other(&mut self, level: Option<Level>) -> (u32, bool) {
        let slot = &mut self.others[usize::from(level_code(level))];
        if let Some(id) = *slot {
            return (id, false);
        }
        let id = u32::try_from(self.clusters.len()).unwrap_or(u32::MAX);
        *slot = Some(id);
        self.clusters.push(Cluster {
            level,
            tokens: vec![OTHER.into()],
            other: true,
        });
        (id, true)
    }

    /// Finds the cluster for a token sequence or makes one.
    fn place(&mut self, level: Option<Level>, tokens: &[&str]) -> (u32, bool) {
        let key = bucket_key(level, tokens.len());
        let mut line = std::mem::take(&mut self.scratch);
        line.clear();
        line.extend(tokens.iter().map(|t| token_hash(t)));
        let found = self.best_match(key, tokens, &line);
        self.scratch = line;
        if let Some((id, pos)) = found {
            let c = &mut self.clusters[id as usize];
            let len = tokens.len();
            if let Some(b) = self.index.get_mut(&key) {
                for (i, (t, l)) in c.tokens.iter_mut().zip(tokens).enumerate() {
                    if **t != **l && &**t != VAR {
                        *t = generalize(t, l).into();
                        let h = token_hash(t);
                        if let Some(slot) = b.hashes.get_mut(pos * len + i) {
                            *slot = h;
                        }
                        b.see(i, h);
                    }
                }
            }
            return (id, false);
        }
        self.sibling_keys(level);
        if let Some(id) = self.join_sibling(key, tokens) {
            return (id, false);
        }
        if self.opts.max_templates > 0 && self.made >= self.opts.max_templates {
            return self.other(level);
        }
        let id = u32::try_from(self.clusters.len()).unwrap_or(u32::MAX);
        self.clusters.push(Cluster {
            level,
            tokens: tokens.iter().map(|t| Box::<str>::from(*t)).collect(),
            other: false,
        });
        self.made += 1;
        let b = self.index.entry(key).or_default();
        b.ids.push(id);
        b.hashes.extend_from_slice(&self.scratch);
        for (i, &h) in self.scratch.iter().enumerate() {
            b.see(i, h);
        }
        if self.opts.min_siblings > 1 {
            let need = self.sibling_need();
            for &k in &self.keys {
                let count = &mut self.siblings.entry(k).or_insert((id, 0)).1;
                *count += 1;
                if *count == need {
                    if self.ready.is_empty() {
                        self.ready = vec![0; READY_WORDS];
                    }
                    let (w, b) = ready_bit(k);
                    self.ready[w] |= b;
                }
            }
        }
        (id, true)
    }

    /// The keys of the message in `scratch` with each of its positions
    /// (variables aside) left out, into `keys` (0 for a variable).
    fn sibling_keys(&mut self, level: Option<Level>) {
        self.keys.clear();
        if self.opts.min_siblings < 2 {
            return;
        }
        let mix = |h: u64, i: usize| {
            (h ^ (i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15))
                .wrapping_mul(0xff51_afd7_ed55_8ccd)
        };
        let base = bucket_key(level, self.scratch.len());
        let total = self
            .scratch
            .iter()
            .enumerate()
            .fold(base, |a, (i, &h)| a.wrapping_add(mix(h, i)));
        self.keys
            .extend(self.scratch.iter().enumerate().map(|(i, &h)| {
                if h == VAR_HASH {
                    0
                } else {
                    (total.wrapping_sub(mix(h, i))
                        ^ (i as u64 + 1).wrapping_mul(0x2545_f491_4f6c_dd1d))
                    .wrapping_mul(0xc4ce_b9fe_1a85_ec53)
                }
            }));
    }

    /// Templates a message must differ from at one position to join the
    /// first of them.
    fn sibling_need(&self) -> u32 {
        u32::try_from(self.opts.min_siblings.saturating_sub(1)).unwrap_or(u32::MAX)
    }

    /// A message that matches no template but differs from
    /// [`ClusterOptions::min_siblings`] - 1 of them only at one position
    /// (`sort=name`, `sort=date`, `sort=size`, then `sort=rank`): that
    /// position is a variable, in the first of them, which takes the
    /// message and becomes recent again.
    fn join_sibling(&mut self, key: u64, tokens: &[&str]) -> Option<u32> {
        if self.ready.is_empty() {
            return None;
        }
        let need = self.sibling_need();
        let (at, first) = self.keys.iter().enumerate().find_map(|(i, &k)| {
            let (w, b) = ready_bit(k);
            if k == 0 || self.ready[w] & b == 0 {
                return None;
            }
            let &(first, count) = self.siblings.get(&k)?;
            (count >= need).then_some((i, first))
        })?;
        let c = self.clusters.get_mut(first as usize)?;
        let same = c.tokens.len() == tokens.len()
            && c.tokens
                .iter()
                .zip(tokens)
                .enumerate()
                .all(|(j, (t, l))| j == at || **t == **l);
        // A template of variables only would say nothing.
        let words = c
            .tokens
            .iter()
            .enumerate()
            .any(|(j, t)| j != at && &**t != VAR);
        if !same || !words {
            return None;
        }
        if *c.tokens[at] != *tokens[at] {
            c.tokens[at] = generalize(&c.tokens[at], tokens[at]).into();
        }
        let h = token_hash(&c.tokens[at]);
        let b = self.index.get_mut(&key)?;
        let len = tokens.len();
        let pos = b.ids.iter().position(|&x| x == first)?;
        b.hashes[pos * len + at] = h;
        b.see(at, h);
        if pos + 1 < b.ids.len() {
            b.ids.remove(pos);
            b.ids.push(first);
            b.hashes[pos * len..].rotate_left(len);
        }
        Some(first)
    }

    /// The most similar template among the first [`HEAD`] and the last
    /// [`RECENT`] of the message's level and length, its tokens'
    /// hashes turned to variables where the message differs; a match
    /// among the recent ones moves to the end.
    fn best_match(&mut self, key: u64, tokens: &[&str], line: &[u64]) -> Option<(u32, usize)> {
        let b = self.index.get_mut(&key)?;
        let len = line.len();
        let n = b.ids.len();
        let (head, recent) = if b.misses >= FUTILE {
            (FEW, FEW)
        } else {
            (HEAD, RECENT)
        };
        if !b.may_match(line, self.opts.similarity) {
            b.misses = b.misses.saturating_add(1);
            return None;
        }
        let head = n.min(head);
        let recent = n.saturating_sub(recent).max(head);
        let mut best: Option<(f64, usize, usize)> = None;
        for pos in (0..head).chain(recent..n) {
            let hashes = &b.hashes[pos * len..(pos + 1) * len];
            let Some((sim, vars)) = similarity(hashes, line, self.opts.similarity) else {
                continue;
            };
            // Words are compared (slower) only for a candidate that would
            // win.
            if best.is_none_or(|(s, v, _)| sim > s || (sim == s && vars > v))
                && !conflict(
                    &self.clusters[b.ids[pos] as usize].tokens,
                    tokens,
                    self.opts.prefix,
                )
            {
                best = Some((sim, vars, pos));
            }
        }
        let Some((_, _, pos)) = best else {
            b.misses = b.misses.saturating_add(1);
            return None;
        };
        b.misses = 0;
        let id = b.ids[pos];
        if pos >= head && pos + 1 < n {
            b.ids.remove(pos);
            b.ids.push(id);
            b.hashes[pos * len..].rotate_left(len);
            return Some((id, n - 1));
        }
        Some((id, pos))
    }

    /// Adds another clusterer's templates (from another part of the
    /// input) as if their messages had been seen here; returns where each
    /// of its clusters went.
    pub fn absorb(&mut self, other: Clusterer) -> Vec<u32> {
        other
            .clusters
            .into_iter()
            .map(|c| {
                if c.other {
                    return self.other(c.level).0;
                }
                let tokens: Vec<&str> = c.tokens.iter().map(|t| &**t).collect();
                self.place(c.level, &tokens).0
            })
            .collect()
    }

    /// Merges clusters that differ only at one position in many ways
    /// (see [`ClusterOptions::min_siblings`]), or from one that already
    /// has a variable there, and clusters that became identical as they
    /// were generalised; returns where each cluster went and the
    /// surviving clusters.
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
            // Templates with one position left out, by hash: the sum of
            // the hashes of the other tokens and their positions.
            let mut siblings: HashMap<(u8, u32, u32, u64), Vec<usize>> = HashMap::new();
            let mut hashes: Vec<u64> = Vec::new();
            for (id, c) in self.clusters.iter().enumerate() {
                if c.other || c.tokens.len() < 2 {
                    continue;
                }
                hashes.clear();
                hashes.extend(c.tokens.iter().enumerate().map(|(i, t)| {
                    (token_hash(t) ^ (i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15))
                        .wrapping_mul(0xff51_afd7_ed55_8ccd)
                }));
                let total = hashes.iter().fold(0u64, |a, &h| a.wrapping_add(h));
                let len = u32::try_from(c.tokens.len()).unwrap_or(u32::MAX);
                for (i, &h) in hashes.iter().enumerate() {
                    let at = u32::try_from(i).unwrap_or(u32::MAX);
                    siblings
                        .entry((level_code(c.level), len, at, total.wrapping_sub(h)))
                        .or_default()
                        .push(id);
                }
            }
            for (&(_, _, at, _), ids) in &siblings {
                let at = at as usize;
                // The hashes agree; so must the tokens.
                let first = &self.clusters[ids[0]].tokens;
                let same: Vec<usize> = ids
                    .iter()
                    .copied()
                    .filter(|&id| {
                        let t = &self.clusters[id].tokens;
                        t.iter()
                            .zip(first.iter())
                            .enumerate()
                            .all(|(j, (a, b))| j == at || a == b)
                    })
                    .collect();
                // A template of variables only would say nothing.
                if first
                    .iter()
                    .enumerate()
                    .all(|(j, t)| j == at || &**t == VAR)
                {
                    continue;
                }
                let var_there = same
                    .iter()
                    .any(|&id| self.clusters[id].tokens[at].contains(VAR));
                if same.len() < 2 || (same.len() < self.opts.min_siblings && !var_there) {
                    continue;
                }
                for &id in &same[1..] {
                    let (a, b) = (root(&mut parent, same[0]), root(&mut parent, id));
                    parent[b] = a;
                }
            }
        }
        self.join_optional(&mut parent, root);
        // Each set's template: its root's tokens, generalised where the
        // members of its length differ.
        let mut merged: Vec<Option<Cluster>> = vec![None; n];
        let mut rest = Vec::new();
        for (id, c) in self.clusters.into_iter().enumerate() {
            let r = root(&mut parent, id);
            if r == id {
                merged[r] = Some(c);
            } else {
                rest.push((r, c));
            }
        }
        for (r, c) in rest {
            if let Some(m) = &mut merged[r] {
                if m.tokens.len() == c.tokens.len() {
                    for (t, l) in m.tokens.iter_mut().zip(&c.tokens) {
                        if t != l {
                            *t = generalize(t, l).into();
                        }
                    }
                }
            }
        }
        let mut seen: HashMap<TemplateKey, u32> = HashMap::new();
        let mut out: Vec<Cluster> = Vec::new();
        let mut at_root = vec![u32::MAX; n];
        for (r, c) in merged.into_iter().enumerate() {
            let Some(c) = c else { continue };
            let key = (c.level, c.other, c.tokens.clone());
            at_root[r] = *seen.entry(key).or_insert_with(|| {
                out.push(c);
                u32::try_from(out.len() - 1).unwrap_or(u32::MAX)
            });
        }
        let remap = (0..n).map(|id| at_root[root(&mut parent, id)]).collect();
        (remap, out)
    }
}

/// What makes two finished templates the same: level, *other* or not,
/// tokens.
type TemplateKey = (Option<Level>, bool, Vec<Box<str>>);

/// A token a message may have or not: a variable with punctuation and no
/// letters (`*<*>` in `chrome.exe *64 - ...`, `#<*>`, `(<*>)`).
fn is_optional(t: &str) -> bool {
    t != VAR
        && t.contains(VAR)
        && !t
            .replace(VAR, "")
            .bytes()
            .any(|c| c.is_ascii_alphanumeric())
}

impl Clusterer {
    /// Joins a template to one of its level that is one token shorter and
    /// alike once one optional token ([`is_optional`]) of it is left out;
    /// the shorter one's set takes it. Each template is compared with at
    /// most [`HEAD`] + [`RECENT`] of the shorter ones.
    fn join_optional(&self, parent: &mut [usize], root: fn(&mut [usize], usize) -> usize) {
        let mut by_len: HashMap<u64, Vec<usize>> = HashMap::new();
        for (id, c) in self.clusters.iter().enumerate() {
            if !c.other {
                by_len
                    .entry(bucket_key(c.level, c.tokens.len()))
                    .or_default()
                    .push(id);
            }
        }
        let all: Vec<Vec<u64>> = self
            .clusters
            .iter()
            .map(|c| c.tokens.iter().map(|t| token_hash(t)).collect())
            .collect();
        let mut reduced: Vec<&str> = Vec::new();
        let mut hashes: Vec<u64> = Vec::new();
        for (id, c) in self.clusters.iter().enumerate() {
            if c.other || c.tokens.len() < 3 {
                continue;
            }
            let Some(shorter) = by_len.get(&bucket_key(c.level, c.tokens.len() - 1)) else {
                continue;
            };
            let k = shorter.len();
            let window = shorter[..k.min(HEAD)]
                .iter()
                .chain(&shorter[k.saturating_sub(RECENT).max(k.min(HEAD))..]);
            let optional = c.tokens.iter().enumerate().filter(|(_, t)| is_optional(t));
            'positions: for (i, _) in optional.take(4) {
                reduced.clear();
                reduced.extend(
                    c.tokens
                        .iter()
                        .enumerate()
                        .filter(|&(j, _)| j != i)
                        .map(|(_, t)| &**t),
                );
                hashes.clear();
                hashes.extend(reduced.iter().map(|t| token_hash(t)));
                for &other in window.clone() {
                    let u = &self.clusters[other].tokens;
                    if similarity(&all[other], &hashes, self.opts.similarity).is_some()
                        && !conflict(u, &reduced, self.opts.prefix)
                    {
                        let (a, b) = (root(parent, other), root(parent, id));
                        if a != b {
                            parent[b] = a;
                        }
                        break 'positions;
                    }
                }
            }
        }
    }
}

/// How alike a template is to a message of the same length, by the
/// hashes of their tokens: the share of equal tokens among the positions
/// that are not variables on both sides, and the template's variables;
/// `None` as soon as the share cannot reach `threshold`.
fn similarity(template: &[u64], line: &[u64], threshold: f64) -> Option<(f64, usize)> {
    let n = line.len();
    // The threshold in 1/1024ths, for the running bound.
    let th = (threshold.clamp(0.0, 1.0) * 1024.0) as usize;
    let (mut same, mut vars, mut shared_vars, mut lost) = (0usize, 0usize, 0usize, 0usize);
    for (i, (&t, &l)) in template.iter().zip(line).enumerate() {
        if t == l {
            if t == VAR_HASH {
                vars += 1;
                shared_vars += 1;
            } else {
                same += 1;
            }
            continue;
        }
        vars += usize::from(t == VAR_HASH);
        lost += 1;
        // Even if every token left were equal: best / (best + lost) < th.
        let best = same + n - i - 1;
        if best * (1024 - th) < th * lost {
            return None;
        }
    }
    let informative = n - shared_vars;
    let sim = if informative == 0 {
        1.0
    } else {
        same as f64 / informative as f64
    };
    (sim >= threshold).then_some((sim, vars))
}

/// A template token and a different message token made one: piece by
/// piece when they have the same delimiters (`sort=name` and `sort=date`
/// make `sort=<*>`), else a variable.
fn generalize(t: &str, l: &str) -> String {
    let is_delim = |c: char| c.is_ascii() && DELIMS.contains(&(c as u8));
    let shape = |s: &str| s.chars().filter(|&c| is_delim(c)).collect::<String>();
    if t == VAR || shape(t).is_empty() || shape(t) != shape(l) {
        return VAR.to_string();
    }
    let mut out = String::with_capacity(t.len());
    let (mut pt, mut pl) = (t.split_inclusive(is_delim), l.split_inclusive(is_delim));
    while let (Some(a), Some(b)) = (pt.next(), pl.next()) {
        let (a_body, a_end) = split_delim(a);
        let (b_body, _) = split_delim(b);
        out.push_str(if a_body == b_body { a_body } else { VAR });
        out.push_str(a_end);
    }
    out
}

/// A piece of [`str::split_inclusive`] and its delimiter.
fn split_delim(piece: &str) -> (&str, &str) {
    match piece.char_indices().last() {
        Some((i, c)) if c.is_ascii() && DELIMS.contains(&(c as u8)) => piece.split_at(i),
        _ => (piece, ""),
    }
}

/// True when a template and a message cannot be one event: they differ
/// in a plain word ([`words_conflict`]) or within the first `prefix`
/// tokens.
fn conflict(template: &[Box<str>], tokens: &[&str], prefix: usize) -> bool {
    template
        .iter()
        .zip(tokens)
        .enumerate()
        .any(|(i, (t, l))| &**t != VAR && **t != **l && (i < prefix || words_conflict(t, l)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mask::mask_into;

    fn add(c: &mut Clusterer, msg: &str) -> u32 {
        let mut m = Masked::default();
        mask_into(msg, &mut m);
        c.add(Some(Level::Info), &m, key_hash(Some(Level::Info), &m))
            .0
    }

    /// The separator inside a message is a byte of its word, not a
    /// split: `a\x1fb` is one token, unlike `a b`, and the two do not share
    /// a cache slot.
    #[test]
    fn a_separator_byte_in_a_message_is_not_a_split() {
        let mut m = Masked::default();
        mask_into("open a\x1fb now", &mut m);
        assert_eq!(m.tokens().collect::<Vec<_>>(), ["open", "a\x1fb", "now"]);
        let mut c = Clusterer::new(ClusterOptions::default());
        let one = add(&mut c, "open a\x1fb now");
        let two = add(&mut c, "open a b now");
        assert_ne!(one, two);
        assert_eq!(c.clusters()[one as usize].tokens.len(), 3);
        assert_eq!(c.clusters()[two as usize].tokens.len(), 4);
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

    /// Past the limit, new messages go to their level's `<other>`
    /// template, which another part's `<other>` joins.
    #[test]
    fn the_template_limit_keeps_an_other_template() {
        let opts = ClusterOptions {
            max_templates: 3,
            ..ClusterOptions::default()
        };
        let mut c = Clusterer::new(opts);
        let words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"];
        let ids: Vec<u32> = words
            .iter()
            .map(|w| add(&mut c, &format!("{w} happened to {w}")))
            .collect();
        assert_eq!(c.clusters().len(), 4);
        let other = c.clusters()[ids[3] as usize].clone();
        assert!(other.other && other.text() == OTHER);
        assert_eq!(ids[3..], [ids[3]; 3]);
        // Known messages still find their template.
        assert_eq!(add(&mut c, "bravo happened to bravo"), ids[1]);
        let mut d = Clusterer::new(opts);
        for w in ["golf", "hotel", "india", "juliett"] {
            add(&mut d, &format!("{w} happened to {w}"));
        }
        let remap = c.absorb(d);
        assert!(remap.iter().all(|&id| id == ids[3]), "{remap:?}");
        let (_, clusters) = c.finish();
        assert_eq!(clusters.iter().filter(|c| c.other).count(), 1);
        assert!(clusters.iter().filter(|c| !c.other).count() <= 3);
    }

    /// A template with one optional value more joins the one without it;
    /// siblings never merge into variables only; a variable already at a
    /// position takes the siblings that differ only there; tokens
    /// generalise piece by piece.
    #[test]
    fn merging_rules() {
        let mut c = Clusterer::new(ClusterOptions::default());
        let short = add(
            &mut c,
            "chrome.exe - example.com:443 open through proxy HTTPS",
        );
        let long = add(
            &mut c,
            "chrome.exe *64 - example.com:443 open through proxy HTTPS",
        );
        assert_ne!(short, long);
        // `1 running`, `1 normal`, ...: four words, but nothing else stays.
        let states: Vec<u32> = ["running", "normal", "warning", "blocked"]
            .iter()
            .map(|w| add(&mut c, &format!("1 {w}")))
            .collect();
        let word = add(&mut c, "job build done");
        let var = add(&mut c, "job cleanup done");
        assert_ne!(var, word);
        let joined = add(&mut c, "job 42 done");
        assert!(joined == var || joined == word);
        assert_eq!(c.clusters()[joined as usize].text(), "job <*> done");
        assert_eq!(generalize("sort=name", "sort=date"), "sort=<*>");
        assert_eq!(generalize("host-a:<*>", "host-b:<*>"), "<*>:<*>");
        assert_eq!(generalize("a=b", "a:b"), VAR);
        assert_eq!(generalize("name", "date"), VAR);
        let (remap, clusters) = c.finish();
        let text = |id: u32| clusters[remap[id as usize] as usize].text();
        assert_eq!(remap[short as usize], remap[long as usize]);
        assert_eq!(
            text(long),
            "chrome.exe - example.com:<*> open through proxy HTTPS"
        );
        let distinct: std::collections::HashSet<u32> =
            states.iter().map(|&s| remap[s as usize]).collect();
        assert_eq!(distinct.len(), 4);
        assert_eq!(remap[var as usize], remap[word as usize]);
        assert_eq!(text(word), "job <*> done");
    }
}
