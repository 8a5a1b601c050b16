//! Samples stored flat: one pool of location indices for every stack, one
//! array of values, and labels out of line as shared label sets.
//!
//! A profile of a big service holds hundreds of thousands of samples of
//! tens of frames each; a `Vec` per stack and per value list would cost
//! more in headers and allocator overhead than the frames themselves. Here
//! a sample costs its frames (2 bytes each while every location index fits
//! in 16 bits, else 4), its values, a 4-byte end offset and, when any
//! sample has labels, a 4-byte label-set index.

use std::fmt;

use crate::error::{Error, Result};
use crate::profile::{DIFF_BASE_LABEL, NumLabel};

/// String and numeric labels of a sample, in encounter order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Labels {
    /// String labels (key, value).
    pub strs: Vec<(String, String)>,
    /// Numeric labels.
    pub nums: Vec<NumLabel>,
}

impl Labels {
    /// True when there is no label at all.
    pub fn is_empty(&self) -> bool {
        self.strs.is_empty() && self.nums.is_empty()
    }

    /// Values of string label `key`.
    pub fn values<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.strs
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// True when the set marks a sample of a `-diff_base` profile.
    pub fn is_diff_base(&self) -> bool {
        self.values(DIFF_BASE_LABEL).any(|v| v == "true")
    }
}

/// The location indices of one stack, leaf first.
#[derive(Clone, Copy)]
pub enum Stack<'a> {
    /// Every index of the profile fits in 16 bits.
    Narrow(&'a [u16]),
    /// Full-width indices.
    Wide(&'a [u32]),
}

impl<'a> Stack<'a> {
    /// Number of frames.
    #[inline]
    pub fn len(&self) -> usize {
        match self {
            Stack::Narrow(s) => s.len(),
            Stack::Wide(s) => s.len(),
        }
    }

    /// True for an empty stack.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Frame `i` (0 is the leaf).
    #[inline]
    pub fn get(&self, i: usize) -> Option<u32> {
        match self {
            Stack::Narrow(s) => s.get(i).map(|&x| u32::from(x)),
            Stack::Wide(s) => s.get(i).copied(),
        }
    }

    /// The frames, leaf first.
    #[inline]
    pub fn iter(&self) -> StackIter<'a> {
        match *self {
            Stack::Narrow(s) => StackIter::Narrow(s.iter()),
            Stack::Wide(s) => StackIter::Wide(s.iter()),
        }
    }

    /// The frames as a vector, leaf first.
    pub fn to_vec(&self) -> Vec<u32> {
        self.iter().collect()
    }
}

impl PartialEq for Stack<'_> {
    fn eq(&self, o: &Self) -> bool {
        self.len() == o.len() && self.iter().eq(o.iter())
    }
}

impl fmt::Debug for Stack<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a> IntoIterator for Stack<'a> {
    type Item = u32;
    type IntoIter = StackIter<'a>;
    fn into_iter(self) -> StackIter<'a> {
        self.iter()
    }
}

/// Iterator over a [`Stack`].
#[derive(Clone)]
pub enum StackIter<'a> {
    /// Over 16-bit indices.
    Narrow(std::slice::Iter<'a, u16>),
    /// Over 32-bit indices.
    Wide(std::slice::Iter<'a, u32>),
}

impl Iterator for StackIter<'_> {
    type Item = u32;
    #[inline]
    fn next(&mut self) -> Option<u32> {
        match self {
            StackIter::Narrow(i) => i.next().map(|&x| u32::from(x)),
            StackIter::Wide(i) => i.next().copied(),
        }
    }
    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = match self {
            StackIter::Narrow(i) => i.len(),
            StackIter::Wide(i) => i.len(),
        };
        (n, Some(n))
    }
}

impl DoubleEndedIterator for StackIter<'_> {
    #[inline]
    fn next_back(&mut self) -> Option<u32> {
        match self {
            StackIter::Narrow(i) => i.next_back().map(|&x| u32::from(x)),
            StackIter::Wide(i) => i.next_back().copied(),
        }
    }
}

impl ExactSizeIterator for StackIter<'_> {}

/// One sample, borrowed from [`Samples`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SampleRef<'a> {
    /// Indices into [`crate::Profile::locations`], leaf first.
    pub locations: Stack<'a>,
    /// One value per sample type.
    pub values: &'a [i64],
    /// Its labels.
    pub labels: &'a Labels,
}

impl<'a> SampleRef<'a> {
    /// Values of string label `key`.
    pub fn label_values(&self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.labels.values(key)
    }

    /// True when the sample comes from a `-diff_base` profile.
    pub fn is_diff_base(&self) -> bool {
        self.labels.is_diff_base()
    }
}

/// A stack being edited in place by [`Samples::retain_mut`]: it can only
/// shrink.
pub struct StackMut<'a> {
    frames: StackSlice<'a>,
    len: usize,
}

enum StackSlice<'a> {
    Narrow(&'a mut [u16]),
    Wide(&'a mut [u32]),
}

impl StackMut<'_> {
    /// The frames, leaf first.
    pub fn get(&self) -> Stack<'_> {
        match &self.frames {
            StackSlice::Narrow(s) => Stack::Narrow(&s[..self.len]),
            StackSlice::Wide(s) => Stack::Wide(&s[..self.len]),
        }
    }

    /// Number of frames.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True for an empty stack.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Keeps the first `n` frames (from the leaf).
    pub fn truncate(&mut self, n: usize) {
        self.len = self.len.min(n);
    }

    /// Drops the `n` frames nearest the leaf.
    pub fn remove_leaf_frames(&mut self, n: usize) {
        let n = n.min(self.len);
        match &mut self.frames {
            StackSlice::Narrow(s) => s.copy_within(n..self.len, 0),
            StackSlice::Wide(s) => s.copy_within(n..self.len, 0),
        }
        self.len -= n;
    }

    /// Keeps the frames for which `keep` is true, in order.
    pub fn retain(&mut self, mut keep: impl FnMut(u32) -> bool) {
        fn go<T: Copy + Into<u32>>(
            s: &mut [T],
            len: &mut usize,
            keep: &mut dyn FnMut(u32) -> bool,
        ) {
            let mut w = 0;
            for r in 0..*len {
                let x = s[r];
                if keep(x.into()) {
                    s[w] = x;
                    w += 1;
                }
            }
            *len = w;
        }
        match &mut self.frames {
            StackSlice::Narrow(s) => go(s, &mut self.len, &mut keep),
            StackSlice::Wide(s) => go(s, &mut self.len, &mut keep),
        }
    }
}

/// One sample being edited by [`Samples::retain_mut`].
pub struct SampleMut<'a> {
    /// Its stack (can be shortened).
    pub locations: StackMut<'a>,
    /// Its values.
    pub values: &'a mut [i64],
    /// Its labels.
    pub labels: &'a Labels,
}

impl SampleMut<'_> {
    /// A read-only view.
    pub fn as_ref(&self) -> SampleRef<'_> {
        SampleRef {
            locations: self.locations.get(),
            values: self.values,
            labels: self.labels,
        }
    }
}

#[derive(Clone)]
enum Pool {
    Narrow(Vec<u16>),
    Wide(Vec<u32>),
}

impl Default for Pool {
    fn default() -> Self {
        Pool::Narrow(Vec::new())
    }
}

impl Pool {
    fn len(&self) -> usize {
        match self {
            Pool::Narrow(v) => v.len(),
            Pool::Wide(v) => v.len(),
        }
    }

    fn widen(&mut self) {
        if let Pool::Narrow(v) = self {
            let mut w = Vec::with_capacity(v.capacity().max(v.len()));
            w.extend(v.iter().map(|&x| u32::from(x)));
            *self = Pool::Wide(w);
        }
    }

    fn extend(&mut self, frames: &[u32]) {
        if let Pool::Narrow(v) = self {
            if frames.iter().all(|&x| x <= u32::from(u16::MAX)) {
                v.extend(frames.iter().map(|&x| x as u16));
                return;
            }
            self.widen();
        }
        if let Pool::Wide(v) = self {
            v.extend_from_slice(frames);
        }
    }

    fn slice(&self, a: usize, b: usize) -> Stack<'_> {
        match self {
            Pool::Narrow(v) => Stack::Narrow(&v[a..b]),
            Pool::Wide(v) => Stack::Wide(&v[a..b]),
        }
    }

    fn truncate(&mut self, n: usize) {
        match self {
            Pool::Narrow(v) => v.truncate(n),
            Pool::Wide(v) => v.truncate(n),
        }
    }

    fn shrink_to_fit(&mut self) {
        match self {
            Pool::Narrow(v) => v.shrink_to_fit(),
            Pool::Wide(v) => v.shrink_to_fit(),
        }
    }
}

/// Every sample of a profile.
#[derive(Clone, Default)]
pub struct Samples {
    /// Values per sample (adopted from the first sample pushed).
    nvalues: usize,
    /// End of each sample's stack in `pool`.
    ends: Vec<u32>,
    pool: Pool,
    values: Vec<i64>,
    /// Label set of each sample; empty when every sample has set 0.
    label_of: Vec<u32>,
    /// Label sets; set 0 is always the empty set.
    sets: Vec<Labels>,
}

static NO_LABELS: Labels = Labels {
    strs: Vec::new(),
    nums: Vec::new(),
};

impl Samples {
    /// An empty list.
    pub fn new() -> Self {
        Samples::default()
    }

    /// Number of samples.
    #[inline]
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// True when there is no sample.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Number of values of each sample (0 while empty).
    pub fn nvalues(&self) -> usize {
        self.nvalues
    }

    #[inline]
    fn range(&self, i: usize) -> (usize, usize) {
        let a = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        (a, self.ends[i] as usize)
    }

    /// Index in [`Samples::label_sets`] of the labels of sample `i`.
    #[inline]
    pub fn label_set_of(&self, i: usize) -> usize {
        self.label_of.get(i).map_or(0, |&s| s as usize)
    }

    /// Sample `i`, or `None` past the end.
    #[inline]
    pub fn get(&self, i: usize) -> Option<SampleRef<'_>> {
        (i < self.len()).then(|| self.at(i))
    }

    /// Sample `i`, which must exist.
    #[inline]
    fn at(&self, i: usize) -> SampleRef<'_> {
        let (a, b) = self.range(i);
        let n = self.nvalues;
        SampleRef {
            locations: self.pool.slice(a, b),
            values: &self.values[i * n..(i + 1) * n],
            labels: self.sets.get(self.label_set_of(i)).unwrap_or(&NO_LABELS),
        }
    }

    /// The samples in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = SampleRef<'_>> + Clone + '_ {
        (0..self.len()).map(move |i| self.at(i))
    }

    /// Samples `range` in order.
    pub fn iter_range(
        &self,
        range: std::ops::Range<usize>,
    ) -> impl ExactSizeIterator<Item = SampleRef<'_>> + Clone + '_ {
        let r = range.start.min(self.len())..range.end.min(self.len());
        r.map(move |i| self.at(i))
    }

    /// The values of sample `i`, to update in place.
    pub fn values_mut(&mut self, i: usize) -> Option<&mut [i64]> {
        let n = self.nvalues;
        self.values.get_mut(i * n..(i + 1) * n)
    }

    /// Every value of every sample, sample after sample.
    pub fn all_values_mut(&mut self) -> &mut [i64] {
        &mut self.values
    }

    /// Adds a label set and returns its index, for [`Samples::push_in_set`].
    /// The empty set is always index 0.
    pub fn add_label_set(&mut self, l: Labels) -> u32 {
        if l.is_empty() {
            return 0;
        }
        if self.sets.is_empty() {
            self.sets.push(Labels::default());
        }
        if let Some(last) = self.sets.last() {
            if self.sets.len() > 1 && *last == l {
                return (self.sets.len() - 1) as u32;
            }
        }
        self.sets.push(l);
        (self.sets.len() - 1) as u32
    }

    /// The label sets (index 0 is the empty set).
    pub fn label_sets(&self) -> &[Labels] {
        &self.sets
    }

    /// Appends a sample. `values` must have as many entries as every other
    /// sample's.
    pub fn push(&mut self, locations: &[u32], values: &[i64], labels: &Labels) -> Result<()> {
        let set = if labels.is_empty() {
            0
        } else {
            self.add_label_set(labels.clone())
        };
        self.push_in_set(locations, values, set)
    }

    /// Appends a sample whose labels are set `set` (from
    /// [`Samples::add_label_set`]).
    pub fn push_in_set(&mut self, locations: &[u32], values: &[i64], set: u32) -> Result<()> {
        if set as usize >= self.sets.len().max(1) {
            return Err(Error::Invalid(format!(
                "sample #{} refers to label set {set}, which does not exist",
                self.len()
            )));
        }
        self.push_raw(locations, values, set)
    }

    /// [`Samples::push_in_set`] for a set that [`Samples::set_label_sets`]
    /// will supply later.
    pub(crate) fn push_raw(&mut self, locations: &[u32], values: &[i64], set: u32) -> Result<()> {
        if self.is_empty() {
            self.nvalues = values.len();
        } else if values.len() != self.nvalues {
            return Err(Error::Invalid(format!(
                "sample #{} has {} values but sample #0 has {}",
                self.len(),
                values.len(),
                self.nvalues
            )));
        }
        let end = self.pool.len() + locations.len();
        let end = u32::try_from(end).map_err(|_| {
            Error::Invalid(
                "more than 2^32 stack frames in all samples together; split the profile".into(),
            )
        })?;
        if set != 0 || !self.label_of.is_empty() {
            // From the first labelled sample on, every sample has an entry.
            self.label_of.resize(self.len(), 0);
            self.label_of.push(set);
        }
        self.pool.extend(locations);
        self.ends.push(end);
        self.values.extend_from_slice(values);
        Ok(())
    }

    /// The largest location index of any stack (`None` without frames).
    pub fn max_location(&self) -> Option<u32> {
        match &self.pool {
            Pool::Narrow(v) => v.iter().max().map(|&x| u32::from(x)),
            Pool::Wide(v) => v.iter().max().copied(),
        }
    }

    /// Releases spare capacity.
    pub fn shrink_to_fit(&mut self) {
        self.pool.shrink_to_fit();
        self.ends.shrink_to_fit();
        self.values.shrink_to_fit();
        self.label_of.shrink_to_fit();
    }

    /// Reserves room for `n` more samples.
    pub fn reserve(&mut self, n: usize) {
        self.ends.reserve(n);
    }

    /// Keeps the samples for which `f` returns true; `f` may change values
    /// and shorten stacks.
    pub fn retain_mut(&mut self, mut f: impl FnMut(&mut SampleMut<'_>) -> bool) {
        let n = self.nvalues;
        let (mut w, mut wpool, mut start) = (0usize, 0usize, 0usize);
        for r in 0..self.len() {
            let end = self.ends[r] as usize;
            let set = self.label_of.get(r).copied().unwrap_or(0);
            let frames = match &mut self.pool {
                Pool::Narrow(v) => StackSlice::Narrow(&mut v[start..end]),
                Pool::Wide(v) => StackSlice::Wide(&mut v[start..end]),
            };
            let mut sm = SampleMut {
                locations: StackMut {
                    frames,
                    len: end - start,
                },
                values: &mut self.values[r * n..(r + 1) * n],
                labels: self.sets.get(set as usize).unwrap_or(&NO_LABELS),
            };
            let keep = f(&mut sm);
            let len = sm.locations.len;
            if keep {
                match &mut self.pool {
                    Pool::Narrow(v) => v.copy_within(start..start + len, wpool),
                    Pool::Wide(v) => v.copy_within(start..start + len, wpool),
                }
                wpool += len;
                // Never larger than the end it replaces, so it fits.
                self.ends[w] = wpool as u32;
                self.values.copy_within(r * n..(r + 1) * n, w * n);
                if let Some(x) = self.label_of.get_mut(w) {
                    *x = set;
                }
                w += 1;
            }
            start = end;
        }
        self.ends.truncate(w);
        self.pool.truncate(wpool);
        self.values.truncate(w * n);
        self.label_of.truncate(w);
    }

    /// Indices of the label sets some sample uses, in order of first use.
    fn used_sets(&self) -> Vec<usize> {
        if self.label_of.is_empty() {
            return if self.is_empty() { Vec::new() } else { vec![0] };
        }
        let mut seen = vec![false; self.sets.len().max(1)];
        let mut out = Vec::new();
        for &x in &self.label_of {
            if let Some(s) = seen.get_mut(x as usize) {
                if !*s {
                    *s = true;
                    out.push(x as usize);
                }
            }
        }
        out
    }

    /// The label sets that samples use, each once, in order of first use.
    pub fn used_label_sets(&self) -> impl Iterator<Item = &Labels> + '_ {
        self.used_sets()
            .into_iter()
            .map(|i| self.sets.get(i).unwrap_or(&NO_LABELS))
    }

    /// Applies `f` to the labels of every sample (label sets are shared, so
    /// this costs one call per distinct set in use).
    pub fn map_labels(&mut self, mut f: impl FnMut(&mut Labels)) {
        if self.sets.is_empty() {
            self.sets.push(Labels::default());
        }
        let mut empty_used = false;
        for i in self.used_sets() {
            if i == 0 {
                empty_used = true;
            } else if let Some(s) = self.sets.get_mut(i) {
                f(s);
            }
        }
        if !empty_used {
            return;
        }
        let mut e = Labels::default();
        f(&mut e);
        if !e.is_empty() {
            // Samples without labels get some: they move to a set of their own.
            let k = self.sets.len() as u32;
            self.sets.push(e);
            if self.label_of.is_empty() {
                self.label_of = vec![k; self.len()];
            } else {
                for x in &mut self.label_of {
                    if *x == 0 {
                        *x = k;
                    }
                }
            }
        }
    }

    /// Keeps values `idx` (in that order) of every sample; indices past
    /// the end give 0.
    pub fn select_values(&mut self, idx: &[usize]) {
        let n = self.nvalues;
        let mut out = Vec::with_capacity(self.len() * idx.len());
        for i in 0..self.len() {
            let v = &self.values[i * n..(i + 1) * n];
            out.extend(idx.iter().map(|&j| v.get(j).copied().unwrap_or(0)));
        }
        self.values = out;
        self.nvalues = idx.len();
    }

    /// Replaces every location id with `resolve(id)` (ids to indices after
    /// decoding), in parallel. Every result must be below `count`. On a
    /// failure returns the sample index and the id that did not resolve.
    pub(crate) fn resolve_locations(
        &mut self,
        count: usize,
        resolve: impl Fn(u32) -> Option<u32> + Sync,
    ) -> std::result::Result<(), (usize, u32)> {
        use rayon::prelude::*;
        if count > usize::from(u16::MAX) + 1 {
            self.pool.widen();
        }
        const CHUNK: usize = 1 << 16;
        fn go<T: Copy + Into<u32> + TryFrom<u32> + Send>(
            v: &mut [T],
            resolve: &(impl Fn(u32) -> Option<u32> + Sync),
        ) -> std::result::Result<(), (usize, u32)> {
            v.par_chunks_mut(CHUNK)
                .enumerate()
                .try_for_each(|(c, chunk)| {
                    for (k, x) in chunk.iter_mut().enumerate() {
                        let id: u32 = (*x).into();
                        let bad = (c * CHUNK + k, id);
                        let i = resolve(id).ok_or(bad)?;
                        *x = T::try_from(i).map_err(|_| bad)?;
                    }
                    Ok(())
                })
        }
        let r = match &mut self.pool {
            Pool::Narrow(v) => go(v, &resolve),
            Pool::Wide(v) => go(v, &resolve),
        };
        r.map_err(|(pos, id)| (self.ends.partition_point(|&e| e as usize <= pos), id))
    }

    /// Uses `sets` as the label sets (the decoder resolves their strings
    /// after reading the samples).
    pub(crate) fn set_label_sets(&mut self, sets: Vec<Labels>) {
        self.sets = sets;
    }
}

impl PartialEq for Samples {
    fn eq(&self, o: &Self) -> bool {
        self.len() == o.len() && self.iter().zip(o.iter()).all(|(a, b)| a == b)
    }
}

impl fmt::Debug for Samples {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_retain_widen() {
        let mut s = Samples::new();
        s.push(&[1, 2, 3], &[10, 1], &Labels::default())
            .expect("push");
        let l = Labels {
            strs: vec![("k".into(), "v".into())],
            nums: Vec::new(),
        };
        s.push(&[4, 5], &[20, 2], &l).expect("push");
        s.push(&[6], &[30, 3], &Labels::default()).expect("push");
        assert!(s.push(&[6], &[1], &Labels::default()).is_err());
        assert_eq!(s.len(), 3);
        assert_eq!(s.get(1).map(|x| x.labels.strs.len()), Some(1));
        assert_eq!(s.get(2).map(|x| x.labels.is_empty()), Some(true));
        // Widening keeps everything.
        s.push(&[70000, 1], &[40, 4], &Labels::default())
            .expect("push");
        assert_eq!(s.get(0).map(|x| x.locations.to_vec()), Some(vec![1, 2, 3]));
        assert_eq!(s.get(3).map(|x| x.locations.to_vec()), Some(vec![70000, 1]));
        s.retain_mut(|m| {
            m.locations.retain(|l| l != 2);
            m.values[0] += 1;
            m.values[1] != 3
        });
        let got: Vec<(Vec<u32>, Vec<i64>, bool)> = s
            .iter()
            .map(|x| (x.locations.to_vec(), x.values.to_vec(), x.labels.is_empty()))
            .collect();
        assert_eq!(
            got,
            vec![
                (vec![1, 3], vec![11, 1], true),
                (vec![4, 5], vec![21, 2], false),
                (vec![70000, 1], vec![41, 4], true),
            ]
        );
        s.map_labels(|l| l.strs.push(("x".into(), "y".into())));
        assert!(s.iter().all(|x| x.label_values("x").count() == 1));
        assert_eq!(s.get(1).map(|x| x.labels.strs.len()), Some(2));
        s.select_values(&[1]);
        assert_eq!(s.get(2).map(|x| x.values.to_vec()), Some(vec![4]));
    }
}
