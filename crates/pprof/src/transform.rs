//! Profile transformations applied before reporting: name filters
//! (`-focus`, `-ignore`, `-hide`, `-show`, `-show_from`), tag filters and
//! granularity aggregation. Each mirrors the pprof function of the same name.

use regex::Regex;

use crate::profile::{Location, Profile, SampleRef};

fn line_matches(p: &Profile, ln: &crate::profile::Line, re: &Regex) -> bool {
    let f = &p.functions[ln.function as usize];
    re.is_match(&f.name) || re.is_match(&f.filename)
}

fn mapping_matches(p: &Profile, l: &Location, re: &Regex) -> bool {
    l.mapping
        .is_some_and(|m| re.is_match(&p.mappings[m as usize].file))
}

fn location_matches(p: &Profile, l: &Location, re: &Regex) -> bool {
    l.lines.iter().any(|ln| line_matches(p, ln, re)) || mapping_matches(p, l, re)
}

/// Which name filters matched something (for "matched no samples" warnings).
#[derive(Debug, Default, Clone, Copy)]
pub struct Matches {
    /// focus matched.
    pub focus: bool,
    /// ignore matched.
    pub ignore: bool,
    /// hide matched.
    pub hide: bool,
    /// show matched.
    pub show: bool,
}

/// pprof's `FilterSamplesByName`.
pub fn filter_samples_by_name(
    p: &mut Profile,
    focus: Option<&Regex>,
    ignore: Option<&Regex>,
    hide: Option<&Regex>,
    show: Option<&Regex>,
) -> Matches {
    let mut m = Matches::default();
    if focus.is_none() && ignore.is_none() && hide.is_none() && show.is_none() {
        m.focus = true;
        return m;
    }
    // 0 = not in map, 1 = focus, 2 = ignore
    let mut fi = vec![0u8; p.locations.len()];
    let mut hidden = vec![false; p.locations.len()];
    let mut any_hidden = false;
    for i in 0..p.locations.len() {
        let l = &p.locations[i];
        if ignore.is_some_and(|re| location_matches(p, l, re)) {
            m.ignore = true;
            fi[i] = 2;
        } else if focus.is_none_or(|re| location_matches(p, l, re)) {
            m.focus = true;
            fi[i] = 1;
        }
        if let Some(re) = hide {
            if location_matches(p, l, re) {
                m.hide = true;
                let lines = if mapping_matches(p, l, re) {
                    Vec::new()
                } else {
                    l.lines
                        .iter()
                        .filter(|ln| !line_matches(p, ln, re))
                        .copied()
                        .collect()
                };
                if lines.is_empty() {
                    hidden[i] = true;
                    any_hidden = true;
                }
                p.locations[i].lines = lines;
            }
        }
        if let Some(re) = show {
            let l = &p.locations[i];
            let lines: Vec<_> = if mapping_matches(p, l, re) {
                l.lines.clone()
            } else {
                l.lines
                    .iter()
                    .filter(|ln| line_matches(p, ln, re))
                    .copied()
                    .collect()
            };
            if lines.is_empty() {
                hidden[i] = true;
                any_hidden = true;
            } else {
                m.show = true;
            }
            p.locations[i].lines = lines;
        }
    }
    p.samples.retain_mut(|s| {
        let mut f = false;
        for l in s.locations.get() {
            match fi[l as usize] {
                1 => f = true,
                2 => return false,
                _ => {}
            }
        }
        if !f {
            return false;
        }
        if any_hidden {
            s.locations.retain(|l| !hidden[l as usize]);
            if s.locations.is_empty() {
                return false;
            }
        }
        true
    });
    m
}

/// pprof's `ShowFrom`: keeps the part of each stack above the root-most
/// frame matching `re`.
pub fn show_from(p: &mut Profile, re: &Regex) -> bool {
    let mut matched = false;
    let mut keep = vec![false; p.locations.len()];
    #[allow(clippy::needless_range_loop)] // p.locations is borrowed and mutated in turn
    for i in 0..p.locations.len() {
        let l = &p.locations[i];
        if mapping_matches(p, l, re) {
            keep[i] = true;
            matched = true;
            continue;
        }
        if let Some(j) = l.lines.iter().rposition(|ln| line_matches(p, ln, re)) {
            p.locations[i].lines.truncate(j + 1);
            keep[i] = true;
            matched = true;
        }
    }
    p.samples.retain_mut(|s| {
        if let Some(i) = s.locations.get().iter().rposition(|l| keep[l as usize]) {
            s.locations.truncate(i + 1);
            true
        } else {
            false
        }
    });
    matched
}

/// pprof's `simplifyFunc`: the name up to its first `(` that does not
/// begin `(anonymous namespace)` (nor is part of `operator()`), without a
/// leading `.`.
pub fn simplify_func(f: &str) -> &str {
    const RESERVED: [&str; 2] = ["(anonymous namespace)", "operator()"];
    let name = f.strip_prefix('.').unwrap_or(f);
    let mut i = 0;
    while i < name.len() {
        let rest = &name.as_bytes()[i..];
        if let Some(r) = RESERVED.iter().find(|r| rest.starts_with(r.as_bytes())) {
            i += r.len();
        } else if rest[0] == b'(' {
            return &name[..i];
        } else {
            i += 1;
        }
    }
    name
}

/// pprof's `PruneFrom`: in each location the frames inside the first
/// (innermost) function matching `re` are dropped, and each stack loses
/// the frames below the first such location.
pub fn prune_from(p: &mut Profile, re: &Regex) {
    let mut beneath = vec![false; p.locations.len()];
    for (i, l) in p.locations.iter_mut().enumerate() {
        let hit = l.lines.iter().position(|ln| {
            let name = &p.functions[ln.function as usize].name;
            !name.is_empty() && re.is_match(simplify_func(name))
        });
        if let Some(k) = hit {
            beneath[i] = true;
            l.lines.drain(..k);
        }
    }
    if !beneath.contains(&true) {
        return;
    }
    p.samples.retain_mut(|s| {
        if let Some(i) = s.locations.get().iter().position(|l| beneath[l as usize]) {
            s.locations.remove_leaf_frames(i);
        }
        true
    });
}

/// pprof's `formatLabelValues`: the string values of label `key`, then
/// its numeric values formatted in `unit`.
fn format_label_values(l: &crate::profile::Labels, key: &str, unit: &str) -> Vec<String> {
    let mut out: Vec<String> = l.values(key).map(str::to_string).collect();
    let nums: Vec<&crate::profile::NumLabel> = l.nums.iter().filter(|n| n.key == key).collect();
    // pprof keeps units only up to the last value that has one.
    let units = nums
        .iter()
        .rposition(|n| !n.unit.is_empty())
        .map_or(0, |i| i + 1);
    if units != nums.len() && units != 0 {
        return out;
    }
    for n in nums {
        out.push(if units != 0 {
            crate::measurement::scaled_label(n.value, &n.unit, unit)
        } else {
            crate::measurement::scaled_label(n.value, "", "")
        });
    }
    out
}

/// pprof's `addLabelNodes` (`-tagroot`, `-tagleaf`): a frame per label key
/// named after the sample's values (`"v1,v2"`, file = the key) at the root
/// (first key outermost) or at the leaf (last key innermost). Returns
/// whether some sample had a value for a root key and for a leaf key.
pub fn add_label_nodes(
    p: &mut Profile,
    root_keys: &[&str],
    leaf_keys: &[&str],
    unit: &str,
) -> crate::Result<(bool, bool)> {
    if root_keys.is_empty() && leaf_keys.is_empty() {
        return Ok((false, false));
    }
    let mut next_loc = p.locations.iter().map(|l| l.id).max().unwrap_or(0) + 1;
    let mut next_fn = p.functions.iter().map(|f| f.id).max().unwrap_or(0) + 1;
    let mut interned: std::collections::HashMap<(String, String), u32> =
        std::collections::HashMap::new();
    let (mut rootm, mut leafm) = (false, false);
    let mut samples = crate::profile::Samples::new();
    let mut stack: Vec<u32> = Vec::new();
    let (functions, locations) = (&mut p.functions, &mut p.locations);
    let mut label_locs = |labels: &crate::profile::Labels, keys: &[&str], out: &mut Vec<u32>| {
        let mut matched = false;
        for k in keys.iter().rev() {
            let values = format_label_values(labels, k, unit);
            matched |= !values.is_empty();
            let key = (values.join(","), k.to_string());
            let li = *interned.entry(key).or_insert_with_key(|(name, file)| {
                functions.push(crate::profile::Function {
                    id: next_fn,
                    name: name.clone(),
                    system_name: String::new(),
                    filename: file.clone(),
                    start_line: 0,
                });
                next_fn += 1;
                locations.push(Location {
                    id: next_loc,
                    lines: vec![crate::profile::Line {
                        function: (functions.len() - 1) as u32,
                        line: 0,
                        column: 0,
                    }],
                    ..Default::default()
                });
                next_loc += 1;
                (locations.len() - 1) as u32
            });
            out.push(li);
        }
        matched
    };
    for i in 0..p.samples.len() {
        let Some(s) = p.samples.get(i) else { break };
        stack.clear();
        leafm |= label_locs(s.labels, leaf_keys, &mut stack);
        stack.extend(s.locations.iter());
        let mut roots = Vec::new();
        rootm |= label_locs(s.labels, root_keys, &mut roots);
        stack.extend(roots);
        let set = p.samples.label_set_of(i);
        samples.push_raw(&stack, s.values, set as u32)?;
    }
    samples.set_label_sets(p.samples.label_sets().to_vec());
    p.samples = samples;
    Ok((rootm, leafm))
}

/// A compiled `-tagfocus`/`-tagignore` filter: pprof's `compileTagFilter`.
///
/// `[KEY=]VALUE` where VALUE is either one numeric range over numeric
/// labels (`32kb` exactly, `:64kb` at most, `4mb:` at least, `12kb:64mb`
/// between, bounds included; units are pprof's: b kb mb gb tb pb, ns us
/// ms s hr...) or comma-separated regexps over string labels. Without a
/// KEY a range applies to every numeric label and the regexps all must
/// match some `key:value`; with a KEY the sample needs that label and one
/// of its values in range (or matching one regexp).
pub struct TagFilter {
    key: Option<String>,
    test: TagTest,
}

enum TagTest {
    Regexps(Vec<Regex>),
    Range(NumRange),
}

/// Bounds in `unit` (a canonical unit name, or the filter's own word, or
/// empty), both included.
struct NumRange {
    unit: String,
    lo: Option<f64>,
    hi: Option<f64>,
}

impl NumRange {
    fn contains(&self, v: i64, unit: &str) -> bool {
        let (sv, su) = crate::measurement::scale(v, unit, &self.unit);
        su == self.unit && self.lo.is_none_or(|lo| sv >= lo) && self.hi.is_none_or(|hi| sv <= hi)
    }
}

/// Leftmost non-overlapping matches (at most two) of pprof's
/// `([+-]?[[:digit:]]+)([[:alpha:]]+)?`, as (whole, number, unit).
fn number_tokens(s: &str) -> Vec<(&str, &str, &str)> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() && out.len() < 2 {
        let mut j = i;
        if b[j] == b'+' || b[j] == b'-' {
            j += 1;
        }
        let digits = j;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        if j == digits {
            i += 1;
            continue;
        }
        let num_end = j;
        while j < b.len() && b[j].is_ascii_alphabetic() {
            j += 1;
        }
        // Every boundary is next to an ASCII byte, so on a char boundary.
        out.push((&s[i..j], &s[i..num_end], &s[num_end..j]));
        i = j;
    }
    out
}

/// pprof's `parseTagFilterRange`: `Ok(None)` when `filter` is not one
/// numeric range (it is then a regexp).
fn parse_range(option: &str, filter: &str) -> crate::Result<Option<NumRange>> {
    let toks = number_tokens(filter);
    let Some(&(m0, n0, u0)) = toks.first() else {
        return Ok(None);
    };
    let int = |n: &str| -> crate::Result<i64> {
        n.parse().map_err(|_| {
            crate::Error::Usage(format!(
                "-{option}: {n} in {filter:?} does not fit in a 64-bit integer; use a larger unit"
            ))
        })
    };
    let (v0, unit) = crate::measurement::scale(int(n0)?, u0, u0);
    if toks.len() == 1 {
        let (lo, hi) = if filter == m0 {
            (Some(v0), Some(v0))
        } else if filter.strip_suffix(':') == Some(m0) {
            (Some(v0), None)
        } else if filter.strip_prefix(':') == Some(m0) {
            (None, Some(v0))
        } else {
            return Ok(None);
        };
        return Ok(Some(NumRange { unit, lo, hi }));
    }
    let (m1, n1, u1) = toks[1];
    if filter != format!("{m0}:{m1}") {
        return Ok(None);
    }
    let (v1, unit1) = crate::measurement::scale(int(n1)?, u1, &unit);
    if unit1 != unit {
        return Ok(None);
    }
    Ok(Some(NumRange {
        unit,
        lo: Some(v0),
        hi: Some(v1),
    }))
}

impl TagFilter {
    /// Compiles `-OPTION=VALUE`.
    pub fn new(option: &str, value: &str) -> crate::Result<Self> {
        let (key, v) = match value.split_once('=') {
            Some((k, v)) => (Some(k.to_string()), v),
            None => (None, value),
        };
        if let Some(range) = parse_range(option, v)? {
            return Ok(TagFilter {
                key,
                test: TagTest::Range(range),
            });
        }
        let mut res = Vec::new();
        for part in v.split(',') {
            res.push(Regex::new(part).map_err(|e| crate::Error::Regex {
                option: option.to_string(),
                source: e,
            })?);
        }
        Ok(TagFilter {
            key,
            test: TagTest::Regexps(res),
        })
    }

    /// True when the value was read as a numeric range (pprof says so on
    /// stderr).
    pub fn is_range(&self) -> bool {
        matches!(self.test, TagTest::Range(_))
    }

    /// True when sample `s` passes; `units` gives the unit of each numeric
    /// label key (pprof's `NumLabelUnits`).
    pub fn matches(&self, s: &SampleRef<'_>, units: &[(String, String)]) -> bool {
        let unit_of = |k: &str| {
            units
                .iter()
                .find(|(key, _)| key == k)
                .map_or("", |(_, u)| u.as_str())
        };
        match (&self.test, &self.key) {
            (TagTest::Range(r), None) => s
                .labels
                .nums
                .iter()
                .any(|n| r.contains(n.value, unit_of(&n.key))),
            (TagTest::Range(r), Some(key)) => {
                let unit = unit_of(key);
                s.labels
                    .nums
                    .iter()
                    .any(|n| n.key == *key && r.contains(n.value, unit))
            }
            (TagTest::Regexps(res), None) => res.iter().all(|re| {
                s.labels
                    .strs
                    .iter()
                    .any(|(k, v)| re.is_match(&format!("{k}:{v}")))
            }),
            (TagTest::Regexps(res), Some(key)) => res
                .iter()
                .any(|re| s.labels.values(key).any(|v| re.is_match(v))),
        }
    }
}

/// pprof's `FilterSamplesByTag`.
pub fn filter_samples_by_tag(
    p: &mut Profile,
    focus: Option<&TagFilter>,
    ignore: Option<&TagFilter>,
    units: &[(String, String)],
) -> (bool, bool) {
    if focus.is_none() && ignore.is_none() {
        // Every sample stays: spare rewriting them all.
        return (!p.samples.is_empty(), false);
    }
    let (mut fm, mut im) = (false, false);
    p.samples.retain_mut(|s| {
        let s = s.as_ref();
        let focused = focus.is_none_or(|f| f.matches(&s, units));
        let ignored = ignore.is_some_and(|f| f.matches(&s, units));
        fm |= focused;
        im |= ignored;
        focused && !ignored
    });
    (fm, im)
}

/// Report granularity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Granularity {
    /// Per function (the default).
    #[default]
    Functions,
    /// Per function and file.
    FileFunctions,
    /// Per file.
    Files,
    /// Per source line.
    Lines,
    /// Per address.
    Addresses,
}

impl Granularity {
    /// Parses a granularity name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "functions" => Granularity::Functions,
            "filefunctions" => Granularity::FileFunctions,
            "files" => Granularity::Files,
            "lines" => Granularity::Lines,
            "addresses" => Granularity::Addresses,
            _ => return None,
        })
    }
}

/// pprof's `aggregate` + `Profile.Aggregate`.
pub fn aggregate(p: &mut Profile, g: Granularity, inlines: bool, columns: bool) {
    let (function, filename, linenumber, address) = match g {
        Granularity::Functions => (true, false, false, false),
        Granularity::Addresses => {
            if inlines {
                return;
            }
            (true, true, true, true)
        }
        Granularity::Lines => (true, true, true, false),
        Granularity::Files => (false, true, false, false),
        Granularity::FileFunctions => (true, true, false, false),
    };
    for m in &mut p.mappings {
        m.has_inline_frames &= inlines;
        m.has_functions &= function;
        m.has_filenames &= filename;
        m.has_line_numbers &= linenumber;
    }
    if !function || !filename {
        for f in &mut p.functions {
            if !function {
                f.name.clear();
                f.system_name.clear();
            }
            if !filename {
                f.filename.clear();
            }
        }
    }
    if !inlines || !address || !linenumber || !columns {
        for l in &mut p.locations {
            if !inlines && l.lines.len() > 1 {
                let last = l.lines.len() - 1;
                l.lines.drain(..last);
            }
            for ln in &mut l.lines {
                if !linenumber {
                    ln.line = 0;
                }
                if !linenumber || !columns {
                    ln.column = 0;
                }
            }
            if !address {
                l.address = 0;
            }
        }
    }
}

/// pprof's `trimPath` heuristic for source file names.
pub fn trim_path(path: &str, trim: &str, search: &str) -> String {
    if trim.is_empty() {
        for dir in search.split(':').filter(|d| !d.is_empty()) {
            let want = format!("/{}/", crate::graph::base_name(dir));
            if let Some(found) = path.find(&want) {
                return path[found + want.len()..].to_string();
            }
        }
    }
    let mut prefixes: Vec<String> = trim
        .split(':')
        .filter(|d| !d.is_empty())
        .map(str::to_string)
        .collect();
    prefixes.push("/proc/self/cwd/./".into());
    prefixes.push("/proc/self/cwd/".into());
    for mut t in prefixes {
        if !t.ends_with('/') {
            t.push('/');
        }
        if let Some(rest) = path.strip_prefix(&t) {
            return rest.to_string();
        }
    }
    path.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simplified_names() {
        assert_eq!(simplify_func("main.(*T).Method"), "main.");
        assert_eq!(simplify_func("main.main.func1"), "main.main.func1");
        assert_eq!(simplify_func(".f(int)"), "f");
        assert_eq!(
            simplify_func("(anonymous namespace)::f(int)"),
            "(anonymous namespace)::f"
        );
        assert_eq!(simplify_func("A::operator()(int)"), "A::operator()");
    }

    #[test]
    fn number_tokens_like_pprofs_regexp() {
        assert_eq!(
            number_tokens("12kb:64mb"),
            vec![("12kb", "12", "kb"), ("64mb", "64", "mb")]
        );
        assert_eq!(number_tokens("+-5x"), vec![("-5x", "-5", "x")]);
        assert_eq!(
            number_tokens("a1,2b,3"),
            vec![("1", "1", ""), ("2b", "2", "b")]
        );
        assert!(number_tokens("main.leak").is_empty());
    }

    #[test]
    fn ranges() {
        let r = |f: &str| parse_range("tagfocus", f).expect("no overflow");
        let eq = r("32kb").expect("a range");
        assert!(eq.contains(32 * 1024, "bytes") && !eq.contains(32 * 1024 + 1, "bytes"));
        let ge = r("4mb:").expect("a range");
        assert!(ge.contains(5 << 20, "bytes") && !ge.contains(1 << 20, "bytes"));
        let le = r(":64kb").expect("a range");
        assert!(le.contains(1, "bytes") && !le.contains(65 * 1024, "bytes"));
        let between = r("12kb:1mb").expect("a range");
        assert!(between.contains(12 * 1024, "bytes") && between.contains(1 << 20, "bytes"));
        assert!(!between.contains(2 << 20, "bytes"));
        // Units of another kind never match; bare numbers only match
        // labels whose unit pprof does not know.
        assert!(!ge.contains(5 << 20, "nanoseconds"));
        assert!(!r("512").expect("a range").contains(512, "bytes"));
        assert!(r("512").expect("a range").contains(512, "requests"));
        // Not one range: a regexp.
        assert!(r("1kb,2kb").is_none());
        assert!(r("1:2mb").is_none());
        assert!(r("main").is_none());
        assert!(parse_range("tagfocus", "99999999999999999999:").is_err());
    }
}
