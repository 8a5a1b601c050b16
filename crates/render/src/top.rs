//! `gosleuth top`'s screen: one refresh of a [`View`] as text, fitted to
//! the terminal's width and height.

use std::fmt::Write;

use gosleuth_sample::top::View;

/// How the function table is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortBy {
    #[default]
    SelfTime,
    TotalTime,
}

/// What the screen shows besides the view.
#[derive(Debug, Clone, Default)]
pub struct Screen<'a> {
    /// `pid 123 (name), 100 Hz, perf events`.
    pub title: &'a str,
    pub sort: SortBy,
    /// Only functions whose name contains this.
    pub filter: &'a str,
    pub paused: bool,
    /// The key help line (empty when not interactive).
    pub keys: &'a str,
    /// Terminal size (columns, rows); rows 0 means no limit.
    pub size: (usize, usize),
}

fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

fn cut(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(width.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// The screen as lines of text.
pub fn render(v: &View, sc: &Screen<'_>) -> String {
    let width = if sc.size.0 == 0 { 120 } else { sc.size.0 };
    let mut lines: Vec<String> = Vec::new();
    let mut head = format!(
        "gosleuth top: {} | last {:.1} s, {} samples",
        sc.title,
        v.window.as_secs_f64(),
        v.samples
    );
    if sc.paused {
        head.push_str(" | PAUSED");
    }
    if !sc.filter.is_empty() {
        let _ = write!(head, " | filter: {}", sc.filter);
    }
    lines.push(head);
    match (&v.gc, &v.gc_missing) {
        (Some(gc), _) => {
            let mut l = format!(
                "GC: {} cycles (+{} in this window), stop-the-world {:.2} ms in this window",
                gc.now.cycles,
                gc.cycles,
                gc.pause_ns as f64 / 1e6
            );
            if let Some(h) = gc.now.heap_live {
                let _ = write!(l, ", heap in use {}", bytes(h));
            }
            if let Some(h) = gc.now.heap_marked.filter(|_| gc.now.cycles > 0) {
                let _ = write!(l, " (live after the last GC {})", bytes(h));
            }
            lines.push(l);
        }
        (None, Some(why)) => lines.push(format!("GC: counters unavailable ({why})")),
        (None, None) => {}
    }
    let states: Vec<String> = v.states.iter().map(|(s, n)| format!("{s} {n}")).collect();
    lines.push(format!(
        "Goroutines: {} ({})",
        v.goroutines,
        states.join(", ")
    ));
    lines.push(String::new());
    let mut fs: Vec<_> = v
        .functions
        .iter()
        .filter(|f| sc.filter.is_empty() || f.name.contains(sc.filter))
        .collect();
    if sc.sort == SortBy::TotalTime {
        fs.sort_by(|a, b| {
            b.total_ns
                .cmp(&a.total_ns)
                .then_with(|| a.name.cmp(&b.name))
        });
    }
    let (self_mark, total_mark) = match sc.sort {
        SortBy::SelfTime => ("*", " "),
        SortBy::TotalTime => (" ", "*"),
    };
    lines.push(format!("  %Self{self_mark} %Total{total_mark}  Function"));
    let pct = |ns: i64| {
        if v.total_ns > 0 {
            100.0 * ns as f64 / v.total_ns as f64
        } else {
            0.0
        }
    };
    // Room left for the tables: the groups get up to a third.
    let rows = if sc.size.1 == 0 {
        usize::MAX
    } else {
        sc.size.1
    };
    let fixed = lines.len() + 3 + usize::from(!sc.keys.is_empty());
    let room = rows.saturating_sub(fixed);
    let group_rows = (room / 3).clamp(1, 10).min(v.groups.len());
    let fn_rows = if sc.size.1 == 0 {
        20
    } else {
        room.saturating_sub(group_rows).max(1)
    };
    if fs.is_empty() {
        lines.push("  (no samples yet)".into());
    }
    for f in fs.iter().take(fn_rows) {
        lines.push(cut(
            &format!(
                "  {:6.1} {:6.1}   {}",
                pct(f.self_ns),
                pct(f.total_ns),
                f.name
            ),
            width,
        ));
    }
    lines.push(String::new());
    lines.push("Goroutines by where they are:".into());
    for (loc, n) in v.groups.iter().take(group_rows.max(1)) {
        lines.push(cut(&format!("  {n:7}  {loc}"), width));
    }
    if !sc.keys.is_empty() {
        lines.push(sc.keys.to_string());
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}
