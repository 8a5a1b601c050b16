//! `-raw`: a readable dump of the profile (pprof's `Profile.String`).

use std::fmt::Write as _;

use crate::profile::{Labels, Profile};

/// Go's `time.Duration.String` (`1h2m3.5s`, `1.5ms`, `0s`).
pub fn go_duration(d: i64) -> String {
    /// `.digits` of `v % 10^prec` without trailing zeros (nothing when 0),
    /// and `v / 10^prec`.
    fn frac(v: u64, prec: u32) -> (String, u64) {
        let p = 10u64.pow(prec);
        let f = v % p;
        if f == 0 {
            return (String::new(), v / p);
        }
        let digits = format!("{f:0width$}", width = prec as usize);
        (format!(".{}", digits.trim_end_matches('0')), v / p)
    }
    let neg = d < 0;
    let u = d.unsigned_abs();
    let mut s = if u < 1_000_000_000 {
        let (prec, unit) = match u {
            0 => return "0s".into(),
            1..=999 => (0, "ns"),
            1_000..=999_999 => (3, "µs"),
            _ => (6, "ms"),
        };
        let (f, i) = frac(u, prec);
        format!("{i}{f}{unit}")
    } else {
        let (f, secs) = frac(u, 9);
        let (h, m, sec) = (secs / 3600, secs / 60 % 60, secs % 60);
        if h > 0 {
            format!("{h}h{m}m{sec}{f}s")
        } else if secs >= 60 {
            format!("{m}m{sec}{f}s")
        } else {
            format!("{sec}{f}s")
        }
    };
    if neg {
        s.insert(0, '-');
    }
    s
}

fn labels_line(l: &Labels) -> Option<String> {
    let mut keys: Vec<&str> = Vec::new();
    for (k, _) in &l.strs {
        if !keys.contains(&k.as_str()) {
            keys.push(k);
        }
    }
    if keys.is_empty() {
        return None;
    }
    let mut ls: Vec<String> = keys
        .iter()
        .map(|k| format!("{k}:[{}]", l.values(k).collect::<Vec<_>>().join(" ")))
        .collect();
    ls.sort();
    Some(ls.join(" "))
}

fn num_labels_line(l: &Labels) -> Option<String> {
    let mut keys: Vec<&str> = Vec::new();
    for n in &l.nums {
        if !keys.contains(&n.key.as_str()) {
            keys.push(&n.key);
        }
    }
    if keys.is_empty() {
        return None;
    }
    let mut ls: Vec<String> = keys
        .iter()
        .map(|k| {
            let ns: Vec<_> = l.nums.iter().filter(|n| n.key == *k).collect();
            // pprof keeps units only up to the last value that has one.
            let units = ns
                .iter()
                .rposition(|n| !n.unit.is_empty())
                .map_or(0, |i| i + 1);
            let vals: Vec<String> = if units == ns.len() {
                ns.iter()
                    .map(|n| format!("{} {}", n.value, n.unit))
                    .collect()
            } else {
                ns.iter().map(|n| n.value.to_string()).collect()
            };
            format!("{k}:[{}]", vals.join(" "))
        })
        .collect();
    ls.sort();
    Some(ls.join(" "))
}

/// Formats `p` like pprof's `Profile.String`, times in `zone`.
pub fn raw_string(p: &Profile, zone: &crate::tz::Location) -> String {
    let mut s = String::new();
    for c in &p.comments {
        let _ = writeln!(s, "Comment: {c}");
    }
    if !p.doc_url.is_empty() {
        let _ = writeln!(s, "Doc: {}", p.doc_url);
    }
    if !p.period_type.ty.is_empty() || !p.period_type.unit.is_empty() {
        let _ = writeln!(s, "PeriodType: {} {}", p.period_type.ty, p.period_type.unit);
    }
    let _ = writeln!(s, "Period: {}", p.period);
    if p.time_nanos != 0 {
        let _ = writeln!(
            s,
            "Time: {}",
            crate::tz::format_go_string(p.time_nanos, zone)
        );
    }
    if p.duration_nanos != 0 {
        // `%.4v`: the first four characters.
        let d: String = go_duration(p.duration_nanos).chars().take(4).collect();
        let _ = writeln!(s, "Duration: {d}");
    }
    s.push_str("Samples:\n");
    let types: Vec<String> = p
        .sample_types
        .iter()
        .map(|t| {
            format!(
                "{}/{}{}",
                t.ty,
                t.unit,
                if t.ty == p.default_sample_type {
                    "[dflt]"
                } else {
                    ""
                }
            )
        })
        .collect();
    let _ = writeln!(s, "{}", types.join(" "));
    const LABEL_HEADER: &str = "                ";
    for smp in p.samples.iter() {
        let mut line = String::new();
        for v in smp.values {
            let _ = write!(line, " {v:10}");
        }
        line.push_str(": ");
        for l in smp.locations {
            let _ = write!(line, "{} ", p.locations[l as usize].id);
        }
        let _ = writeln!(s, "{line}");
        if let Some(l) = labels_line(smp.labels) {
            let _ = writeln!(s, "{LABEL_HEADER}{l}");
        }
        if let Some(l) = num_labels_line(smp.labels) {
            let _ = writeln!(s, "{LABEL_HEADER}{l}");
        }
    }
    s.push_str("Locations\n");
    for l in &p.locations {
        let mut head = format!("{:6}: {:#x} ", l.id, l.address);
        if let Some(m) = l.mapping {
            let _ = write!(head, "M={} ", p.mappings[m as usize].id);
        }
        if l.is_folded {
            head.push_str("[F] ");
        }
        if l.lines.is_empty() {
            let _ = writeln!(s, "{head}");
        }
        for ln in &l.lines {
            let f = &p.functions[ln.function as usize];
            let _ = write!(
                s,
                "{head}{} {}:{}:{} s={}",
                f.name, f.filename, ln.line, ln.column, f.start_line
            );
            if f.name != f.system_name {
                let _ = write!(s, "({})", f.system_name);
            }
            s.push('\n');
            head = " ".repeat(13);
        }
    }
    s.push_str("Mappings\n");
    for m in &p.mappings {
        let mut bits = String::new();
        for (on, b) in [
            (m.has_functions, "[FN]"),
            (m.has_filenames, "[FL]"),
            (m.has_line_numbers, "[LN]"),
            (m.has_inline_frames, "[IN]"),
        ] {
            if on {
                bits.push_str(b);
            }
        }
        let _ = writeln!(
            s,
            "{}: {:#x}/{:#x}/{:#x} {} {} {bits}",
            m.id, m.start, m.limit, m.offset, m.file, m.build_id
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::go_duration;

    #[test]
    fn durations_like_go() {
        assert_eq!(go_duration(0), "0s");
        assert_eq!(go_duration(999), "999ns");
        assert_eq!(go_duration(1_500), "1.5µs");
        assert_eq!(go_duration(1_500_000), "1.5ms");
        assert_eq!(go_duration(30_000_000_000), "30s");
        assert_eq!(go_duration(30_012_345_678), "30.012345678s");
        assert_eq!(go_duration(3_723_500_000_000), "1h2m3.5s");
        assert_eq!(go_duration(120_000_000_000), "2m0s");
        assert_eq!(go_duration(-1_500_000), "-1.5ms");
    }
}
