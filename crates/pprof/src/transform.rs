//! Profile transformations applied before reporting: name filters
//! (`-focus`, `-ignore`, `-hide`, `-show`, `-show_from`), tag filters and
//! granularity aggregation. Each mirrors the pprof function of the same name.

use regex::Regex;

use crate::profile::{Location, Profile, Sample};

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
        for &l in &s.locations {
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
            s.locations.retain(|&l| !hidden[l as usize]);
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
        if let Some(i) = s.locations.iter().rposition(|&l| keep[l as usize]) {
            s.locations.truncate(i + 1);
            true
        } else {
            false
        }
    });
    matched
}

/// A compiled `-tagfocus`/`-tagignore` filter (regexp form; numeric
/// ranges such as `bytes=1kb:` are rejected with an error).
pub struct TagFilter {
    key: Option<String>,
    res: Vec<Regex>,
}

impl TagFilter {
    /// Compiles `KEY=RE1,RE2` or `RE1,RE2`.
    pub fn new(option: &str, value: &str) -> crate::Result<Self> {
        let (key, v) = match value.split_once('=') {
            Some((k, v)) => (Some(k.to_string()), v),
            None => (None, value),
        };
        if v.starts_with(|c: char| c.is_ascii_digit() || c == ':' || c == '-' || c == '+')
            && !v.contains('|')
        {
            return Err(crate::Error::Usage(format!(
                "-{option}={value}: numeric tag ranges are not supported yet; use a regexp over label values"
            )));
        }
        let mut res = Vec::new();
        for part in v.split(',') {
            res.push(Regex::new(part).map_err(|e| crate::Error::Regex {
                option: option.to_string(),
                source: e,
            })?);
        }
        Ok(TagFilter { key, res })
    }

    fn matches(&self, s: &Sample) -> bool {
        match &self.key {
            None => self.res.iter().all(|re| {
                s.labels
                    .iter()
                    .any(|(k, v)| re.is_match(&format!("{k}:{v}")))
            }),
            Some(key) => {
                let vals: Vec<&str> = s.label_values(key).collect();
                !vals.is_empty()
                    && self
                        .res
                        .iter()
                        .any(|re| vals.iter().any(|v| re.is_match(v)))
            }
        }
    }
}

/// pprof's `FilterSamplesByTag`.
pub fn filter_samples_by_tag(
    p: &mut Profile,
    focus: Option<&TagFilter>,
    ignore: Option<&TagFilter>,
) -> (bool, bool) {
    let (mut fm, mut im) = (false, false);
    p.samples.retain(|s| {
        let focused = focus.is_none_or(|f| f.matches(s));
        let ignored = ignore.is_some_and(|f| f.matches(s));
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
