//! The text report: what went wrong first (panics and races, rendered by
//! [`crate::triage`]), then error and warning templates with
//! counts, times, histograms and an example, then INFO chatter collapsed
//! to one line per template.

use std::fmt::Write;

use gosleuth_logs::time::{Millis, civil_from_days};
use gosleuth_logs::{Level, Report, Template};

use crate::triage::{self, TextOptions};

/// What to show.
#[derive(Debug, Clone, Copy)]
pub struct RenderOptions {
    pub text: TextOptions,
    /// Error and warning templates shown (0: all).
    pub max_problems: usize,
    /// INFO-and-below templates shown (0: all).
    pub max_chatter: usize,
    /// Show an example line under each error and warning template.
    pub examples: bool,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            text: TextOptions::default(),
            max_problems: 30,
            max_chatter: 15,
            examples: true,
        }
    }
}

/// `12,345`
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn clock(t: Millis, with_date: bool) -> String {
    let (y, mo, d) = civil_from_days(t.div_euclid(86_400_000));
    let ms = t.rem_euclid(86_400_000);
    let (h, mi, s) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60);
    if with_date {
        format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}")
    } else {
        format!("{h:02}:{mi:02}:{s:02}")
    }
}

fn span(ms: i64) -> String {
    let s = ms / 1000;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        3600..86_400 => format!("{}h{:02}m", s / 3600, s / 60 % 60),
        _ => format!("{}d{:02}h", s / 86_400, s / 3600 % 24),
    }
}

fn level_name(l: Option<Level>) -> &'static str {
    l.map_or("-", Level::name)
}

/// A template as shown: an *other* template says what it holds.
fn template_text(t: &Template) -> std::borrow::Cow<'_, str> {
    if t.other {
        "<other> (records that matched no template past the template limit)".into()
    } else {
        t.template.as_str().into()
    }
}

/// Renders a report for the input called `name`.
pub fn report(out: &mut String, name: &str, r: &Report, opts: &RenderOptions) {
    let st = opts.text.style;
    let mut head = format!("{name}: {} lines", thousands(r.lines));
    let multi_day = match (r.start, r.end) {
        (Some(a), Some(b)) => {
            let md = a.div_euclid(86_400_000) != b.div_euclid(86_400_000);
            let _ = write!(
                head,
                ", {} .. {} UTC ({})",
                clock(a, true),
                clock(b, md),
                span(b.saturating_sub(a))
            );
            md
        }
        _ => false,
    };
    let formats: Vec<String> = r
        .formats
        .iter()
        .take(4)
        .map(|f| {
            let name = if f.wrapper == gosleuth_logs::line::Wrapper::None {
                f.payload.name().to_string()
            } else {
                format!("{}+{}", f.wrapper.name(), f.payload.name())
            };
            format!("{name} {}", thousands(f.lines))
        })
        .collect();
    if !formats.is_empty() {
        let _ = write!(head, "; formats: {}", formats.join(", "));
    }
    let _ = writeln!(out, "{}", st.bold(&head));
    let levels: Vec<String> = r
        .levels
        .iter()
        .map(|l| match l.level {
            Some(level) => format!("{} {}", thousands(l.records), level.name()),
            None => format!("{} without level", thousands(l.records)),
        })
        .collect();
    let mut line = format!(
        "records: {}",
        if levels.is_empty() {
            "none".into()
        } else {
            levels.join(", ")
        }
    );
    if r.filtered_out > 0 {
        let _ = write!(line, "; {} filtered out", thousands(r.filtered_out));
    }
    if r.runtime_lines > 0 {
        let _ = write!(
            line,
            "; {} lines of Go runtime output",
            thousands(r.runtime_lines)
        );
    }
    let _ = writeln!(out, "{line}");
    if r.binary_lines > 0 {
        let _ = writeln!(
            out,
            "{}",
            st.yellow(&format!(
                "note: {} lines were binary data (control characters), left out of the templates",
                thousands(r.binary_lines)
            ))
        );
    }
    if r.invalid_utf8_lines > 0 || r.long_lines > 0 {
        let _ = writeln!(
            out,
            "{}",
            st.yellow(&format!(
                "note: {} lines were not valid UTF-8 (read with U+FFFD), {} lines over 1 MiB were cut",
                thousands(r.invalid_utf8_lines),
                thousands(r.long_lines)
            ))
        );
    }

    if r.runtime_lines_unparsed > 0 {
        let _ = writeln!(
            out,
            "{}",
            st.yellow(&format!(
                "note: {} lines of runtime output after the first {} panics were counted but not parsed",
                thousands(r.runtime_lines_unparsed),
                thousands(u64::from(gosleuth_logs::scan::MAX_PANICS))
            ))
        );
    }
    let other: u64 = r
        .templates
        .iter()
        .filter(|t| t.other)
        .map(|t| t.count)
        .sum();
    if other > 0 {
        let _ = writeln!(
            out,
            "{}",
            st.yellow(&format!(
                "note: the template limit was reached; {} records that matched no template are counted as <other> (--template-limit raises the limit)",
                thousands(other)
            ))
        );
    }

    for inc in &r.incidents {
        out.push('\n');
        triage::incident(out, inc, &opts.text);
    }
    for race in &r.races {
        out.push('\n');
        triage::race(out, race, &opts.text);
    }

    let (problems, chatter): (Vec<&Template>, Vec<&Template>) = r
        .templates
        .iter()
        .partition(|t| t.level.is_some_and(|l| l >= Level::Warn));
    if !problems.is_empty() {
        let n: u64 = problems.iter().map(|t| t.count).sum();
        let _ = writeln!(
            out,
            "\n{}",
            st.bold(&format!(
                "{} error and warning template{} ({} records):",
                problems.len(),
                if problems.len() == 1 { "" } else { "s" },
                thousands(n)
            ))
        );
        let shown = if opts.max_problems == 0 {
            problems.len()
        } else {
            opts.max_problems
        };
        let width = problems
            .iter()
            .map(|t| thousands(t.count).len())
            .max()
            .unwrap_or(1);
        for t in problems.iter().take(shown) {
            let lvl = format!("{:<5}", level_name(t.level));
            let lvl = if t.level.is_some_and(|l| l >= Level::Error) {
                st.red(&lvl)
            } else {
                st.yellow(&lvl)
            };
            let times = match (t.first, t.last) {
                (Some(a), Some(b)) => format!("{} .. {}", clock(a, multi_day), clock(b, multi_day)),
                _ => String::from("no time"),
            };
            let spark = if r.start.is_some() {
                format!("▕{}▏ ", t.histogram.sparkline())
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "  {:>width$} {lvl} {}{}  {}",
                thousands(t.count),
                spark,
                st.dim(&times),
                st.bold(&template_text(t))
            );
            if opts.examples {
                let mut ex = t.example.lines();
                if let Some(first) = ex.next() {
                    let _ = writeln!(
                        out,
                        "  {:>width$}   {}",
                        "",
                        st.dim(&format!("line {}: {first}", t.example_line))
                    );
                }
                for l in ex {
                    let _ = writeln!(out, "  {:>width$}   {}", "", st.dim(&format!("  {l}")));
                }
            }
        }
        if problems.len() > shown {
            let _ = writeln!(
                out,
                "  ... and {} more (--max-templates 0 shows all)",
                problems.len() - shown
            );
        }
    }
    if !chatter.is_empty() {
        let n: u64 = chatter.iter().map(|t| t.count).sum();
        let _ = writeln!(
            out,
            "\n{}",
            st.bold(&format!(
                "{} info, debug and unlevelled template{} ({} records), one line each:",
                chatter.len(),
                if chatter.len() == 1 { "" } else { "s" },
                thousands(n)
            ))
        );
        let mut sorted = chatter.clone();
        sorted.sort_by(|a, b| b.count.cmp(&a.count).then(a.id.cmp(&b.id)));
        let shown = if opts.max_chatter == 0 {
            sorted.len()
        } else {
            opts.max_chatter
        };
        let width = sorted
            .iter()
            .map(|t| thousands(t.count).len())
            .max()
            .unwrap_or(1);
        for t in sorted.iter().take(shown) {
            let _ = writeln!(
                out,
                "  {:>width$} {:<5} {}",
                thousands(t.count),
                level_name(t.level),
                template_text(t)
            );
        }
        if sorted.len() > shown {
            let rest: u64 = sorted.iter().skip(shown).map(|t| t.count).sum();
            let _ = writeln!(
                out,
                "  ... and {} more templates, {} records (--max-templates 0 shows all)",
                sorted.len() - shown,
                thousands(rest)
            );
        }
    }
    if r.templates.is_empty() && r.incidents.is_empty() && r.races.is_empty() {
        let _ = writeln!(
            out,
            "\nnothing to report: no records{}",
            if r.filtered_out > 0 {
                " passed the filters"
            } else {
                ""
            }
        );
    }
}
