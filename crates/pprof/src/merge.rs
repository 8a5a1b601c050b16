//! Merging profiles (pprof's `Merge`), normalizing and diff preparation.

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::profile::{Function, Labels, Line, Location, Mapping, Profile};

#[derive(Hash, PartialEq, Eq)]
struct LocationKey {
    addr: u64,
    mapping: u64,
    lines: Vec<(u64, i64, i64)>,
    folded: bool,
}

/// Labels in the form pprof's sample key compares them: keys sorted,
/// each key's values in order.
type LabelKey = (
    Vec<(String, Vec<String>)>,
    Vec<(String, Vec<i64>, Vec<String>)>,
);

fn label_key(l: &Labels) -> LabelKey {
    let mut keys: Vec<&str> = l.strs.iter().map(|(k, _)| k.as_str()).collect();
    keys.sort_unstable();
    keys.dedup();
    let strs = keys
        .iter()
        .map(|k| (k.to_string(), l.values(k).map(str::to_string).collect()))
        .collect();
    let mut nkeys: Vec<&str> = l.nums.iter().map(|n| n.key.as_str()).collect();
    nkeys.sort_unstable();
    nkeys.dedup();
    let nums = nkeys
        .iter()
        .map(|k| {
            let ns = l.nums.iter().filter(|n| n.key == *k);
            (
                k.to_string(),
                ns.clone().map(|n| n.value).collect(),
                ns.map(|n| n.unit.clone()).collect(),
            )
        })
        .collect();
    (strs, nums)
}

/// Checks that `a` and `b` have the same period type and sample types.
pub fn compatible(a: &Profile, b: &Profile) -> Result<()> {
    if a.period_type != b.period_type {
        return Err(Error::Incompatible(format!(
            "incompatible period types {}/{} and {}/{}",
            a.period_type.ty, a.period_type.unit, b.period_type.ty, b.period_type.unit
        )));
    }
    if a.sample_types != b.sample_types {
        let show = |p: &Profile| {
            p.sample_types
                .iter()
                .map(|t| format!("{}/{}", t.ty, t.unit))
                .collect::<Vec<_>>()
                .join(" ")
        };
        return Err(Error::Incompatible(format!(
            "incompatible sample types [{}] and [{}]; compare profiles of the same kind",
            show(a),
            show(b)
        )));
    }
    Ok(())
}

/// Keeps only the sample types that every profile has (pprof's
/// `CompatibilizeSampleTypes`).
pub fn compatibilize_sample_types(ps: &mut [Profile]) -> Result<()> {
    let Some(first) = ps.first() else {
        return Ok(());
    };
    let common: Vec<String> = first
        .sample_types
        .iter()
        .filter(|t| {
            ps.iter()
                .all(|p| p.sample_types.iter().any(|u| u.ty == t.ty))
        })
        .map(|t| t.ty.clone())
        .collect();
    if common.is_empty() {
        return Err(Error::Incompatible(
            "profiles have empty common sample type list".into(),
        ));
    }
    for p in ps.iter_mut() {
        if p.sample_types.len() == common.len()
            && p.sample_types.iter().zip(&common).all(|(a, b)| &a.ty == b)
        {
            continue;
        }
        let idx: Vec<usize> = common
            .iter()
            .filter_map(|c| p.sample_types.iter().position(|t| &t.ty == c))
            .collect();
        p.sample_types = idx.iter().map(|&i| p.sample_types[i].clone()).collect();
        p.samples.select_values(&idx);
        if !p.default_sample_type.is_empty() && !common.contains(&p.default_sample_type) {
            p.default_sample_type.clear();
        }
    }
    Ok(())
}

/// Merges profiles of the same kind into one, deduplicating mappings,
/// functions, locations and samples like `go tool pprof` does.
pub fn merge(srcs: &[Profile]) -> Result<Profile> {
    let Some(first) = srcs.first() else {
        return Err(Error::Usage("no profiles to merge".into()));
    };
    for s in &srcs[1..] {
        compatible(first, s)?;
    }
    let mut p = Profile {
        sample_types: first.sample_types.clone(),
        drop_frames: first.drop_frames.clone(),
        keep_frames: first.keep_frames.clone(),
        period_type: first.period_type.clone(),
        ..Default::default()
    };
    for s in srcs {
        if p.time_nanos == 0 || s.time_nanos < p.time_nanos {
            p.time_nanos = s.time_nanos;
        }
        p.duration_nanos = p.duration_nanos.wrapping_add(s.duration_nanos);
        if p.period == 0 || p.period < s.period {
            p.period = s.period;
        }
        for c in &s.comments {
            if !p.comments.contains(c) {
                p.comments.push(c.clone());
            }
        }
        if p.default_sample_type.is_empty() {
            p.default_sample_type = s.default_sample_type.clone();
        }
        if p.doc_url.is_empty() {
            p.doc_url = s.doc_url.clone();
        }
    }

    let mut mappings: HashMap<(u64, u64, String), u32> = HashMap::new();
    let mut functions: HashMap<(i64, String, String, String), u32> = HashMap::new();
    let mut locations: HashMap<LocationKey, u32> = HashMap::new();
    // Sample identity: stack and labels (as a merged label set index).
    let mut samples: HashMap<(Vec<u32>, u32), usize> = HashMap::new();
    let mut label_sets: HashMap<LabelKey, u32> = HashMap::new();

    for src in srcs {
        // Per-source translation tables: index in src -> index in p (+ address offset for mappings).
        let mut map_tr: Vec<Option<(u32, i64)>> = vec![None; src.mappings.len()];
        let mut fn_tr: Vec<Option<u32>> = vec![None; src.functions.len()];
        let mut loc_tr: Vec<Option<u32>> = vec![None; src.locations.len()];
        let mut set_tr: Vec<Option<u32>> = vec![None; src.samples.label_sets().len()];

        let mut map_mapping = |p: &mut Profile, i: u32| -> (u32, i64) {
            if let Some(t) = map_tr[i as usize] {
                return t;
            }
            let m = &src.mappings[i as usize];
            let size = (m.limit.wrapping_sub(m.start)).wrapping_add(0xfff) & !0xfff;
            let key_id = if !m.build_id.is_empty() {
                m.build_id.clone()
            } else {
                m.file.clone()
            };
            let key = (size, m.offset, key_id);
            let t = if let Some(&j) = mappings.get(&key) {
                (j, p.mappings[j as usize].start as i64 - m.start as i64)
            } else {
                let j = p.mappings.len() as u32;
                p.mappings.push(Mapping {
                    id: j as u64 + 1,
                    ..m.clone()
                });
                mappings.insert(key, j);
                (j, 0)
            };
            map_tr[i as usize] = Some(t);
            t
        };
        if p.mappings.is_empty() && !src.mappings.is_empty() {
            map_mapping(&mut p, 0);
        }
        for (si, s) in src.samples.iter().enumerate() {
            if s.values.iter().all(|&v| v == 0) {
                continue;
            }
            let mut locs = Vec::with_capacity(s.locations.len());
            for li in s.locations {
                if let Some(j) = loc_tr[li as usize] {
                    locs.push(j);
                    continue;
                }
                let l = &src.locations[li as usize];
                let (mapping, off) = match l.mapping {
                    Some(mi) => {
                        let (j, off) = map_mapping(&mut p, mi);
                        (Some(j), off)
                    }
                    None => (None, 0),
                };
                let mut lines = Vec::with_capacity(l.lines.len());
                for ln in &l.lines {
                    let fi = ln.function as usize;
                    let f = match fn_tr[fi] {
                        Some(f) => f,
                        None => {
                            let sf = &src.functions[fi];
                            let key = (
                                sf.start_line,
                                sf.name.clone(),
                                sf.system_name.clone(),
                                sf.filename.clone(),
                            );
                            let f = *functions.entry(key).or_insert_with(|| {
                                let j = p.functions.len() as u32;
                                p.functions.push(Function {
                                    id: j as u64 + 1,
                                    ..sf.clone()
                                });
                                j
                            });
                            fn_tr[fi] = Some(f);
                            f
                        }
                    };
                    lines.push(Line { function: f, ..*ln });
                }
                let address = (l.address as i64).wrapping_add(off) as u64;
                let key = LocationKey {
                    addr: address.wrapping_sub(mapping.map_or(0, |m| p.mappings[m as usize].start)),
                    mapping: mapping.map_or(0, |m| m as u64 + 1),
                    lines: lines
                        .iter()
                        .map(|l| (l.function as u64, l.line, l.column))
                        .collect(),
                    folded: l.is_folded,
                };
                let j = *locations.entry(key).or_insert_with(|| {
                    let j = p.locations.len() as u32;
                    p.locations.push(Location {
                        id: j as u64 + 1,
                        mapping,
                        address,
                        lines,
                        is_folded: l.is_folded,
                    });
                    j
                });
                loc_tr[li as usize] = Some(j);
                locs.push(j);
            }
            let src_set = src.samples.label_set_of(si);
            let set = match set_tr.get(src_set).copied().flatten() {
                Some(k) => k,
                None => {
                    let k = *label_sets
                        .entry(label_key(s.labels))
                        .or_insert_with(|| p.samples.add_label_set(s.labels.clone()));
                    if let Some(slot) = set_tr.get_mut(src_set) {
                        *slot = Some(k);
                    }
                    k
                }
            };
            let key = (locs, set);
            if let Some(&k) = samples.get(&key) {
                if let Some(vs) = p.samples.values_mut(k) {
                    for (a, b) in vs.iter_mut().zip(s.values) {
                        *a = a.wrapping_add(*b);
                    }
                }
            } else {
                p.samples.push_in_set(&key.0, s.values, set)?;
                samples.insert(key, p.samples.len() - 1);
            }
        }
    }
    if p.samples.iter().any(|s| s.values.iter().all(|&v| v == 0)) {
        return merge(std::slice::from_ref(&p));
    }
    Ok(p)
}

/// Scales `p` so that its totals match `base`'s (pprof's `-normalize`).
pub fn normalize(p: &mut Profile, base: &Profile) -> Result<()> {
    compatible(p, base)?;
    let n = p.sample_types.len();
    let mut bv = vec![0i64; n];
    for s in base.samples.iter() {
        for (a, v) in bv.iter_mut().zip(s.values) {
            *a = a.wrapping_add(*v);
        }
    }
    let mut sv = vec![0i64; n];
    for s in p.samples.iter() {
        for (a, v) in sv.iter_mut().zip(s.values) {
            *a = a.wrapping_add(*v);
        }
    }
    let ratios: Vec<f64> = bv
        .iter()
        .zip(&sv)
        .map(|(&b, &s)| if s == 0 { 0.0 } else { b as f64 / s as f64 })
        .collect();
    p.scale_n(&ratios);
    Ok(())
}

/// Checks the invariants pprof's `CheckValid` checks.
pub fn check_valid(p: &Profile) -> Result<()> {
    let n = p.sample_types.len();
    if n == 0 && !p.samples.is_empty() {
        return Err(Error::Invalid("missing sample type information".into()));
    }
    if !p.samples.is_empty() && p.samples.nvalues() != n {
        return Err(Error::Invalid(format!(
            "mismatch: sample has {} values vs. {n} types",
            p.samples.nvalues()
        )));
    }
    if p.samples
        .max_location()
        .is_some_and(|l| l as usize >= p.locations.len())
    {
        return Err(Error::Invalid(
            "sample has a location that does not exist".into(),
        ));
    }
    for l in &p.locations {
        if l.mapping.is_some_and(|m| m as usize >= p.mappings.len()) {
            return Err(Error::Invalid(format!(
                "location {} has a mapping that does not exist",
                l.id
            )));
        }
        if l.lines
            .iter()
            .any(|ln| ln.function as usize >= p.functions.len())
        {
            return Err(Error::Invalid(format!(
                "location id: {} has a line with nil function",
                l.id
            )));
        }
    }
    Ok(())
}
