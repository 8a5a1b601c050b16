//! `-raw`: a readable dump of the profile (pprof's `Profile.String`).

use std::fmt::Write as _;

use crate::profile::Profile;

/// Formats `p` like pprof's `Profile.String`.
pub fn raw_string(p: &Profile) -> String {
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
        let _ = writeln!(s, "Time: {}", crate::report::format_time_utc(p.time_nanos));
    }
    if p.duration_nanos != 0 {
        let _ = writeln!(
            s,
            "Duration: {}",
            crate::measurement::label(p.duration_nanos, "nanoseconds")
        );
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
    for smp in &p.samples {
        let mut line = String::new();
        for v in &smp.values {
            let _ = write!(line, " {v:10}");
        }
        line.push_str(": ");
        for &l in &smp.locations {
            let _ = write!(line, "{} ", p.locations[l as usize].id);
        }
        let _ = writeln!(s, "{line}");
        if !smp.labels.is_empty() {
            let mut ls: Vec<String> = smp
                .labels
                .iter()
                .map(|(k, v)| format!("{k}:[{v}]"))
                .collect();
            ls.sort();
            let _ = writeln!(s, "                {}", ls.join(" "));
        }
    }
    s.push_str("Locations\n");
    for l in &p.locations {
        let _ = write!(s, "{:6}: {:#x} ", l.id, l.address);
        if let Some(m) = l.mapping {
            let _ = write!(s, "M={} ", p.mappings[m as usize].id);
        }
        if l.lines.is_empty() {
            s.push('\n');
        }
        for (i, ln) in l.lines.iter().enumerate() {
            let f = &p.functions[ln.function as usize];
            if i > 0 {
                s.push_str("             ");
            }
            let _ = writeln!(
                s,
                "{} {}:{} s={}",
                f.name, f.filename, ln.line, f.start_line
            );
        }
    }
    s.push_str("Mappings\n");
    for m in &p.mappings {
        let _ = writeln!(
            s,
            "{}: {:#x}/{:#x}/{:#x} {} {}",
            m.id, m.start, m.limit, m.offset, m.file, m.build_id
        );
    }
    s
}
