//! Lookups by address in a sorted vector, searched from where the last
//! lookup ended: the wait graph follows queues of hundreds of thousands of
//! sudogs whose addresses (and whose goroutines' `g` addresses) mostly
//! grow along the queue, as the runtime allocated them in order, so most
//! lookups land next to the previous one, in a cache line already read.

use rayon::prelude::*;

/// Entries sorted by address; built once, then searched.
pub(crate) struct SortedIndex<V> {
    entries: Vec<(u64, V)>,
}

impl<V: Copy + Send> SortedIndex<V> {
    pub(crate) fn new(mut entries: Vec<(u64, V)>) -> SortedIndex<V> {
        entries.par_sort_unstable_by_key(|e| e.0);
        SortedIndex { entries }
    }

    /// The value of `key`; `cursor` is where the previous lookup of a walk
    /// ended (any value is correct, a near one is fast).
    pub(crate) fn find(&self, key: u64, cursor: &mut usize) -> Option<V> {
        let e = &self.entries;
        let n = e.len();
        if n == 0 {
            return None;
        }
        let at = (*cursor).min(n - 1);
        // Gallop from the cursor towards the key, then search the bracket.
        let (lo, hi) = if e[at].0 <= key {
            let mut step = 1;
            let mut lo = at;
            loop {
                let next = lo.saturating_add(step);
                if next >= n || e[next].0 > key {
                    break (lo, next.min(n));
                }
                lo = next;
                step *= 2;
            }
        } else {
            let mut step = 1;
            let mut hi = at;
            loop {
                let next = hi.saturating_sub(step);
                if e[next].0 <= key {
                    break (next, hi);
                }
                if next == 0 {
                    break (0, hi);
                }
                hi = next;
                step *= 2;
            }
        };
        let i = lo + e[lo..hi].partition_point(|x| x.0 < key);
        *cursor = i;
        e.get(i).filter(|x| x.0 == key).map(|x| x.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_key_from_any_cursor() {
        let keys: Vec<u64> = (1..5_000u64).map(|i| 0xc000_0000 + i * 0x60).collect();
        let idx = SortedIndex::new(keys.iter().rev().map(|&k| (k, k / 2)).collect());
        for (j, &k) in keys.iter().enumerate() {
            for start in [0, j, keys.len() - 1, usize::MAX, j / 3] {
                let mut c = start;
                assert_eq!(idx.find(k, &mut c), Some(k / 2), "key {k:#x} from {start}");
            }
            let mut c = j;
            assert_eq!(idx.find(k + 8, &mut c), None);
            assert_eq!(idx.find(k - 8, &mut c), None);
        }
        let mut c = 0;
        assert_eq!(idx.find(0, &mut c), None);
        assert_eq!(idx.find(u64::MAX, &mut c), None);
        assert_eq!(SortedIndex::<u32>::new(Vec::new()).find(8, &mut c), None);
    }
}
