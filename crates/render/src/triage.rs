//! Human text for incidents (panics, fatal errors, dumps), goroutine
//! groups, race reports and group changes.

use std::fmt::Write;

use gosleuth_model::{
    Frame, Group, GroupChange, Incident, IncidentKind, RaceLocation, RaceReport, RootCause,
};

use gosleuth_text::Evidence;

use crate::paths::PathShortener;
use crate::style::Style;

/// What to show.
#[derive(Debug, Clone, Copy)]
pub struct TextOptions {
    pub style: Style,
    /// Show groups whose frames are all runtime-internal instead of
    /// folding them into one line.
    pub show_runtime: bool,
    /// Show at most this many groups per incident.
    pub max_groups: usize,
    /// Show at most this many frames per stack (0: all).
    pub max_frames: usize,
}

impl Default for TextOptions {
    fn default() -> Self {
        TextOptions {
            style: Style::PLAIN,
            show_runtime: false,
            max_groups: 20,
            max_frames: 0,
        }
    }
}

/// Renders everything read from one input: failures first (panics and
/// fatal errors, then signals, then dumps), then races, then what could
/// not be read; or one line saying nothing was found in `name`.
pub fn evidence(out: &mut String, name: &str, e: &Evidence, opts: &TextOptions) {
    let st = opts.style;
    if !e.tests.is_empty() {
        let causes = crate::tests::Causes {
            incidents: &e.incidents,
            races: &e.races,
        };
        crate::tests::text(out, &e.tests, causes, st);
        if !e.incidents.is_empty() || !e.races.is_empty() {
            out.push('\n');
        }
    } else if e.incidents.is_empty() && e.races.is_empty() {
        out.push_str(&format!(
            "{name}: no panic, fatal error, goroutine dump, race report or go test result in {} \
             lines\n",
            e.lines
        ));
    }
    // Failures first: panics and fatal errors, then races, then dumps.
    let mut order: Vec<&Incident> = e.incidents.iter().collect();
    order.sort_by_key(|i| match i.kind {
        IncidentKind::Panic | IncidentKind::Fatal => 0,
        IncidentKind::Signal => 1,
        _ => 2,
    });
    let mut first = true;
    for inc in order {
        if !first {
            out.push('\n');
        }
        first = false;
        incident(out, inc, opts);
    }
    if !e.races.is_empty() {
        if !first {
            out.push('\n');
        }
        let n: u64 = e.races.iter().map(|r| r.occurrences).sum();
        out.push_str(&st.bold(&format!(
            "{} distinct data race{} ({} report{}{}):\n",
            e.races.len(),
            if e.races.len() == 1 { "" } else { "s" },
            n,
            if n == 1 { "" } else { "s" },
            e.races_found
                .map(|f| format!("; the race detector says Found {f} data race(s)"))
                .unwrap_or_default()
        )));
        for r in &e.races {
            out.push('\n');
            race(out, r, opts);
        }
    }
    if !e.warnings.is_empty() {
        out.push_str(&format!(
            "\n{} skipped or unclear lines:\n",
            e.warnings.len()
        ));
        for w in e.warnings.iter().take(10) {
            out.push_str(&format!("  {}\n", st.dim(w)));
        }
    }
}

/// Renders one incident: its cause, the goroutine that raised it, and the
/// goroutines grouped.
pub fn incident(out: &mut String, inc: &Incident, opts: &TextOptions) {
    let st = opts.style;
    let paths = PathShortener::learn(
        inc.groups
            .iter()
            .flat_map(|g| g.frames.iter())
            .chain(inc.first.iter().flat_map(|g| g.frames.iter())),
    );
    let title = match inc.kind {
        IncidentKind::Panic => "panic",
        IncidentKind::Fatal => "fatal error",
        IncidentKind::Signal => "signal",
        IncidentKind::Dump => "goroutine dump",
        IncidentKind::Profile => "goroutine profile",
    };
    let mut head = format!("{title} at line {}", inc.line);
    if let Some(code) = inc.exit_status {
        let _ = write!(head, " (exit status {code})");
    }
    let _ = writeln!(out, "{}", st.bold(&head));
    for (i, p) in inc.panics.iter().enumerate() {
        // Each panic of a chain one step deeper, up to a few steps: the
        // output stays linear in the chain's length.
        let depth = i.min(MAX_INDENT) + 1;
        let mut line = format!(
            "{}panic: {}",
            "  ".repeat(depth),
            indent_tail(&p.message, depth + 1)
        );
        if p.repanicked {
            line.push_str(" [recovered, repanicked]");
        } else if p.recovered {
            line.push_str(" [recovered]");
        }
        let _ = writeln!(out, "{}", st.red(&line));
    }
    if let Some(f) = &inc.fatal {
        let _ = writeln!(out, "  {}", st.red(&format!("fatal error: {f}")));
    }
    if let Some(s) = &inc.signal {
        let mut line = format!("  [signal {}", s.name);
        if !s.description.is_empty() {
            let _ = write!(line, ": {}", s.description);
        }
        if let Some(code) = &s.code {
            let _ = write!(line, " code={code}");
        }
        if let Some(a) = s.addr {
            let _ = write!(line, " addr={a:#x}");
        }
        if let Some(pc) = s.pc {
            let _ = write!(line, " pc={pc:#x}");
        }
        line.push(']');
        let _ = writeln!(out, "{line}");
    }
    for n in &inc.notes {
        let _ = writeln!(out, "  {}", st.dim(n));
    }
    if let Some(rc) = &inc.root_cause {
        out.push('\n');
        root_cause(out, rc, &paths, st);
        if inc
            .fatal
            .as_deref()
            .is_some_and(|f| f.starts_with("concurrent map"))
        {
            map_access(out, inc, &paths, st);
        }
    }
    // When the root cause is in another goroutine than the one that raised
    // the panic (a test timeout: the timer raised it), that goroutine.
    let cause_group = inc
        .root_cause
        .as_ref()
        .filter(|rc| inc.first.as_ref().is_none_or(|g| g.id != rc.goroutine))
        .and_then(|rc| {
            inc.groups
                .iter()
                .find(|g| g.ids.contains(&rc.goroutine))
                .map(|g| (rc.goroutine, g))
        });
    if let Some((id, g)) = cause_group {
        let _ = writeln!(
            out,
            "\n{}",
            st.bold(&format!("goroutine {id} [{}]:", g.state))
        );
        frames(out, &g.frames, &paths, opts, "  ");
        if let Some(c) = &g.created_by {
            created_by(out, c, None, &paths, "  ");
        }
    } else if let Some(g) = &inc.first {
        if matches!(inc.kind, IncidentKind::Panic | IncidentKind::Fatal) {
            let _ = writeln!(
                out,
                "\n{}",
                st.bold(&format!("goroutine {} [{}]:", g.id, g.state))
            );
            frames(out, &g.frames, &paths, opts, "  ");
            if let Some(n) = g.elided_frames {
                let n = if n == 0 {
                    String::from("some")
                } else {
                    n.to_string()
                };
                let _ = writeln!(out, "  ({n} frames elided by the runtime)");
            }
            if let Some(c) = &g.created_by {
                created_by(out, c, g.parent_id, &paths, "  ");
            }
        }
    }
    groups(out, inc, &paths, opts);
}

/// Panics of a chain are indented one step deeper each, up to this many.
const MAX_INDENT: usize = 4;

fn indent_tail(message: &str, depth: usize) -> String {
    message.replace('\n', &format!("\n{}", "  ".repeat(depth)))
}

fn root_cause(out: &mut String, rc: &RootCause, paths: &PathShortener, st: Style) {
    match &rc.frame {
        Some(f) => {
            let _ = writeln!(
                out,
                "{} {}  {}",
                st.bold("root cause:"),
                st.green(&f.function),
                loc(f, paths)
            );
        }
        None => {
            let _ = writeln!(
                out,
                "{} (no frame outside the runtime)",
                st.bold("root cause:")
            );
        }
    }
    let _ = writeln!(out, "  {}", rc.explanation.replace('\n', "\n  "));
    if let Some(c) = &rc.caller {
        let _ = writeln!(
            out,
            "  called from {}  {}",
            st.green(&c.function),
            loc(c, paths)
        );
    }
    for f in &rc.repanicked_in {
        let _ = writeln!(
            out,
            "  recovered and panicked again in {}  {}",
            f.function,
            loc(f, paths)
        );
    }
    let mut line = format!("  in goroutine {}", rc.goroutine);
    if let Some(c) = rc.created_by.first() {
        let _ = write!(line, ", created by {} at {}", c.function, loc(c, paths));
    }
    let _ = writeln!(out, "{line}");
    for c in rc.created_by.iter().skip(1) {
        let _ = writeln!(
            out,
            "    which was created by {} at {}",
            c.function,
            loc(c, paths)
        );
    }
    if !rc.source.is_empty() {
        let target = rc.frame.as_ref().map_or(0, |f| f.line);
        let width = rc.source.last().map_or(1, |(n, _)| n.to_string().len());
        out.push('\n');
        for (n, text) in &rc.source {
            let marker = if *n == target { "=>" } else { "  " };
            let line = format!("  {marker} {n:>width$}  {text}");
            let _ = writeln!(
                out,
                "{}",
                if *n == target {
                    st.bold(&line)
                } else {
                    st.dim(&line)
                }
            );
        }
    }
}

/// For `concurrent map ...` fatal errors: the goroutines inside map code.
fn map_access(out: &mut String, inc: &Incident, paths: &PathShortener, st: Style) {
    let in_map = |f: &Frame| {
        f.function.starts_with("runtime.map") || f.function.starts_with("internal/runtime/maps.")
    };
    let mut any = false;
    for g in &inc.groups {
        let Some(pos) = g.frames.iter().position(in_map) else {
            continue;
        };
        let Some(user) = g.frames[pos..].iter().find(|f| !f.is_runtime()) else {
            continue;
        };
        if !any {
            let _ = writeln!(out, "  goroutines at a map access:");
            any = true;
        }
        let _ = writeln!(
            out,
            "    {} in {}  {}  ({})",
            ids(g),
            st.green(&user.function),
            loc(user, paths),
            g.frames[pos].function
        );
    }
}

fn ids(g: &Group) -> String {
    let shown: Vec<String> = g.ids.iter().take(5).map(u64::to_string).collect();
    let mut s = format!(
        "goroutine{} {}",
        if g.count == 1 { "" } else { "s" },
        shown.join(", ")
    );
    if g.count > shown.len() as u64 && !shown.is_empty() {
        s.push_str(", ...");
    }
    s
}

fn loc(f: &Frame, paths: &PathShortener) -> String {
    if f.file.is_empty() {
        return String::from("?");
    }
    format!("{}:{}", paths.short(&f.file), f.line)
}

fn frames(
    out: &mut String,
    frames: &[Frame],
    paths: &PathShortener,
    opts: &TextOptions,
    indent: &str,
) {
    let st = opts.style;
    let shown = if opts.max_frames == 0 {
        frames.len()
    } else {
        opts.max_frames.min(frames.len())
    };
    let width = frames[..shown]
        .iter()
        .map(|f| loc(f, paths).len())
        .max()
        .unwrap_or(0);
    for f in &frames[..shown] {
        let location = loc(f, paths);
        let args = if f.args == "*" {
            "..."
        } else {
            f.args.as_str()
        };
        let call = format!("{}({})", f.function, args);
        let call = if f.is_runtime() || paths.is_stdlib(&f.file) {
            st.dim(&call)
        } else {
            st.green(&call)
        };
        let inl = if f.inlined { " (inlined)" } else { "" };
        let _ = writeln!(out, "{indent}{location:<width$}  {call}{inl}");
    }
    if shown < frames.len() {
        let _ = writeln!(out, "{indent}... {} more frames", frames.len() - shown);
    }
}

fn created_by(
    out: &mut String,
    c: &Frame,
    parent: Option<u64>,
    paths: &PathShortener,
    indent: &str,
) {
    let mut line = format!("{indent}created by {} at {}", c.function, loc(c, paths));
    if let Some(p) = parent {
        let _ = write!(line, " in goroutine {p}");
    }
    let _ = writeln!(out, "{line}");
}

fn wait_text(g: &Group) -> Option<String> {
    match (g.wait_min, g.wait_max) {
        (Some(a), Some(b)) if a == b => Some(format!("{a} minutes")),
        (Some(a), Some(b)) => Some(format!("{a}~{b} minutes")),
        _ => None,
    }
}

/// One group: count, state, ids, frames and creation site.
pub fn group(out: &mut String, g: &Group, paths: &PathShortener, opts: &TextOptions) {
    let st = opts.style;
    let mut head = format!("{}", g.count);
    let mut state = vec![g.state.clone()];
    state.extend(wait_text(g));
    if g.locked {
        state.push(String::from("locked to thread"));
    }
    state.retain(|s| !s.is_empty());
    if !state.is_empty() {
        let _ = write!(head, " [{}]", state.join(", "));
    }
    let _ = write!(out, "{}", st.yellow(&head));
    if !g.ids.is_empty() {
        let _ = write!(out, "  {}", st.dim(&ids(g)));
    }
    out.push('\n');
    if !g.labels.is_empty() {
        let labels: Vec<String> = g.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let _ = writeln!(out, "    labels: {}", labels.join(" "));
    }
    frames(out, &g.frames, paths, opts, "    ");
    if let Some(c) = &g.created_by {
        created_by(out, c, None, paths, "    ");
    }
}

fn groups(out: &mut String, inc: &Incident, paths: &PathShortener, opts: &TextOptions) {
    let first_shown =
        matches!(inc.kind, IncidentKind::Panic | IncidentKind::Fatal) && inc.first.is_some();
    if inc.groups.is_empty() || (inc.total == 1 && first_shown) {
        // Nothing beyond the goroutine already shown.
        return;
    }
    group_list(out, inc.total, &inc.groups, paths, opts);
}

/// Goroutine groups under a `N goroutines in M groups:` heading: user code
/// first, runtime-only groups folded into one line unless
/// [`TextOptions::show_runtime`].
pub fn group_list(
    out: &mut String,
    total: u64,
    groups: &[Group],
    paths: &PathShortener,
    opts: &TextOptions,
) {
    let st = opts.style;
    let n_groups = groups.len();
    let _ = writeln!(
        out,
        "\n{}",
        st.bold(&format!(
            "{} goroutine{} in {} group{}:",
            total,
            if total == 1 { "" } else { "s" },
            n_groups,
            if n_groups == 1 { "" } else { "s" }
        ))
    );
    let (user, runtime): (Vec<&Group>, Vec<&Group>) = groups
        .iter()
        .partition(|g| g.user_code || opts.show_runtime);
    for (shown, g) in user.iter().enumerate() {
        if shown >= opts.max_groups {
            let rest: u64 = user[shown..].iter().map(|g| g.count).sum();
            let _ = writeln!(
                out,
                "\n... {} more groups with {rest} goroutines (--max-groups to show them)",
                user.len() - shown
            );
            break;
        }
        out.push('\n');
        group(out, g, paths, opts);
    }
    if !runtime.is_empty() {
        let total: u64 = runtime.iter().map(|g| g.count).sum();
        let mut names: Vec<&str> = runtime
            .iter()
            .filter_map(|g| {
                g.frames
                    .iter()
                    .rev()
                    .find(|f| f.function != "runtime.goexit")
            })
            .map(|f| f.function.as_str())
            .collect();
        names.dedup();
        names.truncate(6);
        let _ = writeln!(
            out,
            "\n{}",
            st.dim(&format!(
                "+ {total} runtime goroutine{} in {} group{} ({}) hidden; --runtime shows them",
                if total == 1 { "" } else { "s" },
                runtime.len(),
                if runtime.len() == 1 { "" } else { "s" },
                names.join(", ")
            ))
        );
    }
}

/// One race report.
pub fn race(out: &mut String, r: &RaceReport, opts: &TextOptions) {
    let st = opts.style;
    let paths = PathShortener::learn(
        r.accesses
            .iter()
            .flat_map(|a| a.frames.iter())
            .chain(r.goroutines.iter().flat_map(|g| g.created_at.iter())),
    );
    let mut head = format!("DATA RACE at line {}", r.line);
    if r.occurrences > 1 {
        let _ = write!(head, " (reported {} times)", r.occurrences);
    }
    if let Some(t) = &r.test {
        let _ = write!(head, " in test {t}");
    }
    let _ = writeln!(out, "{}", st.red(&head));
    for a in &r.accesses {
        let who = match a.goroutine {
            Some(id) => format!("goroutine {id}"),
            None => String::from("main goroutine"),
        };
        let what = format!(
            "{}{}",
            if a.previous { "previous " } else { "" },
            a.kind.as_str()
        );
        match a.user_frame() {
            Some(f) => {
                let _ = writeln!(
                    out,
                    "  {what:<15} by {who:<13} {}  {}",
                    st.green(&f.function),
                    loc(f, &paths)
                );
            }
            None => {
                let _ = writeln!(
                    out,
                    "  {what:<15} by {who:<13} [failed to restore the stack]"
                );
            }
        }
        let skip = a
            .user_frame()
            .and_then(|u| a.frames.iter().position(|f| f == u))
            .map_or(0, |i| i + 1);
        frames(
            out,
            a.frames.get(skip..).unwrap_or(&[]),
            &paths,
            &TextOptions {
                max_frames: 4,
                ..*opts
            },
            "      ",
        );
    }
    match &r.location {
        Some(RaceLocation::HeapBlock {
            size,
            addr,
            goroutine,
            allocated_at,
        }) => {
            let by = goroutine.map_or(String::from("main goroutine"), |g| format!("goroutine {g}"));
            let at = allocated_at
                .first()
                .map(|f| format!(" in {} {}", f.function, loc(f, &paths)))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  location: heap block of {size} bytes at {addr:#x} allocated by {by}{at}"
            );
        }
        Some(RaceLocation::GlobalVar {
            name,
            size,
            declared_at,
            ..
        }) => {
            let _ = writeln!(
                out,
                "  location: global {name} ({size} bytes) declared at {declared_at}"
            );
        }
        None => {}
    }
    for g in &r.goroutines {
        let at = g
            .created_at
            .first()
            .map(|f| format!("{}  {}", f.function, loc(f, &paths)))
            .unwrap_or_else(|| String::from("?"));
        let _ = writeln!(out, "  goroutine {} ({}) created at {at}", g.id, g.state);
    }
}

/// Groups that grew, appeared, shrank or vanished between two snapshots.
pub fn changes(out: &mut String, changes: &[GroupChange], opts: &TextOptions) {
    let st = opts.style;
    if changes.is_empty() {
        let _ = writeln!(out, "no group changed");
        return;
    }
    let paths = PathShortener::learn(changes.iter().flat_map(|c| c.group.frames.iter()));
    for c in changes {
        let delta = c.delta();
        let verb = match (c.before, c.after) {
            (0, _) => "appeared",
            (_, 0) => "vanished",
            _ if delta > 0 => "grew",
            _ => "shrank",
        };
        let head = format!("{:+} {verb}: {} -> {}", delta, c.before, c.after);
        let head = if delta > 0 {
            st.red(&head)
        } else {
            st.dim(&head)
        };
        let _ = writeln!(out, "{head}");
        group(
            out,
            &c.group,
            &paths,
            &TextOptions {
                max_frames: 8,
                ..*opts
            },
        );
        out.push('\n');
    }
}
