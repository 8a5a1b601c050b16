//! Goroutines read from memory (a core or a live process), for people:
//! one goroutine in the runtime's own traceback layout, the table of
//! goroutines grouped by a location or a label (`--group-by userloc`), and
//! the marker under the goroutine that crashed.

use std::fmt::Write as _;

use gosleuth_model::Goroutine;

use crate::triage::TextOptions;

/// One goroutine as the runtime prints it (`goroutine 7 [chan send, 3
/// minutes]:`, frames, `created by`), with its labels.
pub fn goroutine(out: &mut String, g: &Goroutine, opts: &TextOptions) {
    let mut state = g.state.clone();
    if let Some(m) = g.wait_minutes {
        let _ = write!(state, ", {m} minutes");
    }
    if g.locked {
        state.push_str(", locked to thread");
    }
    if let Some(t) = g.thread_id {
        let _ = write!(state, ", thread {t}");
    }
    let _ = writeln!(
        out,
        "{}",
        opts.style.bold(&format!("goroutine {} [{state}]:", g.id))
    );
    if !g.labels.is_empty() {
        let l: Vec<String> = g.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let _ = writeln!(out, "  labels: {}", l.join(" "));
    }
    let n = if opts.max_frames == 0 {
        usize::MAX
    } else {
        opts.max_frames
    };
    for f in g.frames.iter().take(n) {
        let _ = writeln!(out, "{}(...)", f.function);
        let mut loc = format!("\t{}:{}", f.file, f.line);
        if let Some(o) = f.offset {
            let _ = write!(loc, " +{o:#x}");
        }
        let _ = writeln!(out, "{loc}");
    }
    if let Some(c) = &g.created_by {
        let mut line = format!("created by {}", c.function);
        if let Some(p) = g.parent_id {
            let _ = write!(line, " in goroutine {p}");
        }
        let _ = writeln!(out, "{line}\n\t{}:{}", c.file, c.line);
    }
}

/// A line in red and bold under a goroutine or a group (why it is first).
pub fn marker(out: &mut String, indent: &str, text: &str, opts: &TextOptions) {
    let _ = writeln!(out, "{indent}{}", opts.style.bold(&opts.style.red(text)));
}

/// Puts `marker` under the header of the first group that
/// [`crate::triage::group_list`] wrote into `out` from `start` on.
pub fn mark_first_group(out: &mut String, start: usize, marker: &str, opts: &TextOptions) {
    // The list's heading, a blank line, then the first group's header.
    let Some(blank) = out[start..].find("\n\n").map(|p| start + p + 2) else {
        return;
    };
    let Some(end) = out[blank..].find('\n').map(|p| blank + p + 1) else {
        return;
    };
    out.insert_str(
        end,
        &format!("    {}\n", opts.style.bold(&opts.style.red(marker))),
    );
}

/// Goroutines counted under one name of `--group-by KEY`.
#[derive(Debug, Clone, Default)]
pub struct KeyGroup {
    /// The location or `key=value` the group stands for.
    pub name: String,
    pub count: u64,
    /// The first few ids, ascending.
    pub ids: Vec<u64>,
    /// Goroutines per state, most first.
    pub states: Vec<(String, u64)>,
    /// Why the group is listed first (it holds the goroutine that crashed).
    pub marker: Option<String>,
}

/// The table of `--group-by KEY`: a heading with the totals, then one line
/// per group (count, name, states, ids), in the order given.
pub fn key_groups(
    out: &mut String,
    total: u64,
    key: &str,
    groups: &[KeyGroup],
    opts: &TextOptions,
) {
    let _ = writeln!(
        out,
        "\n{total} goroutines in {} groups by {key}:\n",
        groups.len()
    );
    let width = groups
        .iter()
        .map(|g| g.count.to_string().len())
        .max()
        .unwrap_or(1);
    for g in groups {
        let count = g.count;
        let st: Vec<String> = g
            .states
            .iter()
            .map(|(s, n)| {
                if *n == count {
                    s.clone()
                } else {
                    format!("{s} x{n}")
                }
            })
            .collect();
        let ids: Vec<String> = g.ids.iter().map(u64::to_string).collect();
        let more = if count as usize > ids.len() {
            ",..."
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "{count:>width$}  {}  [{}]  goroutines {}{more}",
            g.name,
            st.join(", "),
            ids.join(",")
        );
        if let Some(m) = &g.marker {
            let _ = writeln!(
                out,
                "{:width$}  {}",
                "",
                opts.style.bold(&opts.style.red(m))
            );
        }
    }
}
