//! A small deterministic generator for mutation tests and benchmark
//! inputs: the same seed gives the same bytes on every run, so a failure
//! reproduces and two benchmark runs read the same input.

/// xorshift64 (Marsaglia): fast, no dependency, good enough to pick bytes
/// to flip and words to write. Seed it with any non-zero value.
#[derive(Debug, Clone)]
pub struct Rng(pub u64);

impl Rng {
    /// The next value.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    /// A word of 1 to `max` lowercase ASCII letters.
    pub fn word(&mut self, max: usize) -> String {
        (0..1 + self.below(max))
            .map(|_| (b'a' + self.below(26) as u8) as char)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::Rng;

    #[test]
    fn same_seed_same_sequence_and_bounds_hold() {
        let (mut a, mut b) = (Rng(42), Rng(42));
        for _ in 0..1000 {
            assert_eq!(a.next(), b.next());
            let (x, y) = (a.below(7), b.below(7));
            assert!(x == y && x < 7);
            let w = a.word(9);
            assert!((1..=9).contains(&w.len()) && w == b.word(9));
        }
        assert_eq!(Rng(1).below(0), 0);
    }
}
