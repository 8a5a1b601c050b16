//! When a template's lines happened: counts in time buckets whose width
//! doubles as the span grows, so memory stays bounded per template
//! whatever the length of the log.

use serde::Serialize;

use crate::time::Millis;

/// Buckets kept before the width doubles.
const MAX_BUCKETS: usize = 256;
/// The narrowest bucket.
const START_WIDTH: i64 = 1000;

/// Counts per time bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeline {
    width: i64,
    /// (bucket index = time / width, count), sorted by index.
    buckets: Vec<(i64, u64)>,
}

impl Default for Timeline {
    fn default() -> Self {
        Timeline {
            width: START_WIDTH,
            buckets: Vec::new(),
        }
    }
}

impl Timeline {
    /// Counts `n` lines at time `t`.
    pub fn add(&mut self, t: Millis, n: u64) {
        let b = t.div_euclid(self.width);
        match self.buckets.last_mut() {
            Some(last) if last.0 == b => last.1 += n,
            Some(last) if last.0 < b => self.buckets.push((b, n)),
            None => self.buckets.push((b, n)),
            Some(_) => match self.buckets.binary_search_by_key(&b, |x| x.0) {
                Ok(i) => self.buckets[i].1 += n,
                Err(i) => self.buckets.insert(i, (b, n)),
            },
        }
        while self.buckets.len() > MAX_BUCKETS {
            self.widen();
        }
    }

    fn widen(&mut self) {
        self.width = self.width.saturating_mul(2);
        let mut out: Vec<(i64, u64)> = Vec::with_capacity(self.buckets.len() / 2 + 1);
        for &(b, n) in &self.buckets {
            let nb = b.div_euclid(2);
            match out.last_mut() {
                Some(last) if last.0 == nb => last.1 += n,
                _ => out.push((nb, n)),
            }
        }
        self.buckets = out;
    }

    /// Adds another timeline's counts.
    pub fn merge(&mut self, other: &Timeline) {
        for &(b, n) in &other.buckets {
            let mid = b
                .saturating_mul(other.width)
                .saturating_add(other.width / 2);
            self.add(mid, n);
        }
    }

    /// The counts in `bins` equal bins over `[start, end]`.
    pub fn histogram(&self, start: Millis, end: Millis, bins: usize) -> Histogram {
        let mut counts = vec![0u64; bins];
        let span = (end.saturating_sub(start)).max(1) as f64;
        for &(b, n) in &self.buckets {
            let mid = b
                .saturating_mul(self.width)
                .saturating_add(self.width / 2)
                .clamp(start, end);
            let i = ((mid.saturating_sub(start) as f64 / span) * bins as f64) as usize;
            if let Some(c) = counts.get_mut(i.min(bins.saturating_sub(1))) {
                *c += n;
            }
        }
        Histogram { counts }
    }
}

/// Counts in equal time bins over the log's span.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Histogram {
    pub counts: Vec<u64>,
}

impl Histogram {
    /// `▁▂▅█` bars, scaled to this histogram's largest bin; a space for an
    /// empty bin.
    pub fn sparkline(&self) -> String {
        const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
        let max = self.counts.iter().copied().max().unwrap_or(0).max(1);
        self.counts
            .iter()
            .map(|&c| {
                if c == 0 {
                    ' '
                } else {
                    BARS[((c * 7).div_ceil(max) as usize).min(7)]
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_and_binned() {
        let mut t = Timeline::default();
        for s in 0..10_000 {
            t.add(s * 1000, 1);
        }
        assert!(t.buckets.len() <= MAX_BUCKETS);
        let h = t.histogram(0, 9_999_000, 10);
        assert_eq!(h.counts.iter().sum::<u64>(), 10_000);
        assert!(h.counts.iter().all(|&c| c > 900 && c < 1100), "{h:?}");
        assert_eq!(h.sparkline().chars().count(), 10);
    }
}
