//! Synthetic profiles for benchmarks and scale tests.

use crate::profile::{Function, Labels, Line, Location, Mapping, Profile, ValueType};

/// A small deterministic PRNG (xorshift64*).
pub struct Rng(u64);

impl Rng {
    /// Seeds the generator.
    pub fn new(seed: u64) -> Self {
        Rng(seed | 1)
    }
    /// Next value.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// A CPU profile shaped like a big Go service's: `locations` locations
/// over `locations / 3` functions (a fifth with an inlined frame) arranged
/// in a call tree, and `samples` stacks (up to 40 frames) walked from
/// random leaves to the root.
pub fn cpu_profile(samples: usize, locations: usize, seed: u64) -> Profile {
    let mut r = Rng::new(seed);
    let mut p = Profile {
        sample_types: vec![
            ValueType::new("samples", "count"),
            ValueType::new("cpu", "nanoseconds"),
        ],
        period_type: ValueType::new("cpu", "nanoseconds"),
        period: 10_000_000,
        time_nanos: 1_700_000_000_000_000_000,
        duration_nanos: 30_000_000_000,
        ..Default::default()
    };
    p.mappings.push(Mapping {
        id: 1,
        start: 0x400000,
        limit: 0x4000000,
        file: "/usr/local/bin/bigsvc".into(),
        build_id: "0123456789abcdef".into(),
        has_functions: true,
        has_filenames: true,
        has_line_numbers: true,
        has_inline_frames: true,
        ..Default::default()
    });
    let nfunc = (locations / 3).max(1);
    for i in 0..nfunc {
        let pkg = i % 97;
        p.functions.push(Function {
            id: i as u64 + 1,
            name: format!("example.com/svc/pkg{pkg}.(*T{}).Method{}", i % 13, i),
            system_name: format!("example.com/svc/pkg{pkg}.(*T{}).Method{}", i % 13, i),
            filename: format!("/src/example.com/svc/pkg{pkg}/file{}.go", i % 7),
            start_line: (i % 900) as i64 + 10,
        });
    }
    for i in 0..locations {
        let f = (i % nfunc) as u32;
        let mut lines = Vec::new();
        if i % 5 == 0 {
            let g = ((i * 7 + 3) % nfunc) as u32;
            lines.push(Line {
                function: g,
                line: (i % 300) as i64 + 1,
                column: 0,
            });
        }
        lines.push(Line {
            function: f,
            line: (i % 1000) as i64 + 20,
            column: 0,
        });
        p.locations.push(Location {
            id: i as u64 + 1,
            mapping: Some(0),
            address: 0x401000 + (i as u64) * 16,
            lines,
            is_folded: false,
        });
    }
    // Locations form a call DAG (as in a real service): each location has
    // two possible callers, usually near ones, so a stack is a random walk
    // from a leaf to the root and most stacks are distinct. Identical
    // stacks are merged, as runtime/pprof does.
    let n = locations.max(2);
    let mut parents = vec![[0u32; 2]; n];
    for (i, ps) in parents.iter_mut().enumerate().skip(1) {
        for slot in ps.iter_mut() {
            let j = if r.below(64) == 0 {
                r.below(i as u64) as usize
            } else {
                i - 1 - r.below(i.min(1000) as u64) as usize
            };
            *slot = j as u32;
        }
    }
    let mut seen: std::collections::HashMap<Vec<u32>, usize> = std::collections::HashMap::new();
    while p.samples.len() < samples {
        let a = r.below(n as u64);
        let b = r.below(n as u64);
        let mut at = a.max(b) as usize;
        let mut locs = Vec::with_capacity(40);
        loop {
            locs.push(at as u32);
            if at == 0 || locs.len() >= 40 {
                break;
            }
            at = parents[at][r.below(2) as usize] as usize;
        }
        let count = 1 + i64::from(r.below(100) == 0);
        if let Some(&k) = seen.get(&locs) {
            if let Some(v) = p.samples.values_mut(k) {
                v[0] += count;
                v[1] += count * 10_000_000;
            }
            continue;
        }
        seen.insert(locs.clone(), p.samples.len());
        // Two values and no labels, as every sample here: cannot fail.
        let _ = p
            .samples
            .push(&locs, &[count, count * 10_000_000], &Labels::default());
    }
    p
}
