//! pprof labels of goroutines (`g.labels`).
//!
//! Go 1.24+ points at a `labelMap` struct holding a sorted `[]label`
//! (`{key, value string}`); Go 1.21-1.23 at a `map[string]string` variable,
//! read here as a classic hash map.

use gosleuth_memory::Memory;

use crate::goroutines::RawGoroutine;
use crate::target::Target;

const MAX_LABELS: u64 = 256;
const MAX_STR: usize = 4096;

/// Labels of each goroutine (parallel to `gs`).
pub fn read_all<M: Memory>(t: &Target<M>, gs: &[RawGoroutine]) -> Vec<Vec<(String, String)>> {
    let mut cache: std::collections::HashMap<u64, Vec<(String, String)>> = Default::default();
    gs.iter()
        .map(|g| {
            if g.labels == 0 {
                return Vec::new();
            }
            cache
                .entry(g.labels)
                .or_insert_with(|| read(t, g.labels).unwrap_or_default())
                .clone()
        })
        .collect()
}

fn string<M: Memory>(t: &Target<M>, addr: u64) -> Option<String> {
    let b = t.mem.read_go_string(addr, MAX_STR).ok()?;
    Some(String::from_utf8_lossy(&b).into_owned())
}

fn read<M: Memory>(t: &Target<M>, ptr: u64) -> Option<Vec<(String, String)>> {
    if t.minor >= 24 {
        let data = t.mem.read_u64(ptr).ok()?;
        let len = t.mem.read_u64(ptr + 8).ok()?.min(MAX_LABELS);
        (0..len)
            .map(|i| {
                let at = data + 32 * i;
                Some((string(t, at)?, string(t, at + 16)?))
            })
            .collect()
    } else {
        let hmap = t.mem.read_u64(ptr).ok()?;
        read_classic_map(t, hmap)
    }
}

/// A `map[string]string` in the pre-Swiss layout (hmap + 8-slot buckets).
fn read_classic_map<M: Memory>(t: &Target<M>, hmap: u64) -> Option<Vec<(String, String)>> {
    if hmap == 0 {
        return Some(Vec::new());
    }
    let count = t.mem.read_u64(hmap).ok()?;
    let b = t.mem.read_u8(hmap + 9).ok()?;
    let buckets = t.mem.read_u64(hmap + 16).ok()?;
    if b > 16 || count > MAX_LABELS {
        return None;
    }
    const BUCKET: u64 = 8 + 8 * 16 + 8 * 16 + 8;
    let mut out = Vec::new();
    for i in 0..(1u64 << b) {
        let mut bucket = buckets + i * BUCKET;
        let mut hops = 0;
        while bucket != 0 && hops < 64 {
            let mut tophash = [0u8; 8];
            t.mem.read_at(bucket, &mut tophash).ok()?;
            for (slot, &th) in tophash.iter().enumerate() {
                // 0 emptyRest, 1 emptyOne, 2-4 evacuated; 5+ a live entry.
                if th < 5 {
                    continue;
                }
                let k = string(t, bucket + 8 + 16 * slot as u64)?;
                let v = string(t, bucket + 8 + 128 + 16 * slot as u64)?;
                out.push((k, v));
            }
            bucket = t.mem.read_u64(bucket + 8 + 256).ok()?;
            hops += 1;
        }
    }
    out.sort();
    Some(out)
}
