//! `gosleuth core` and `gosleuth attach`: every goroutine of a core file or
//! a live process, grouped like `triage` groups a dump, or listed with full
//! stacks, as text or as Delve's JSON.

use std::fmt::Write as _;
use std::io::Write as _;

use anyhow::{Result, bail};
use clap::Args;
use gosleuth_model::{Goroutine, Similarity, Stack};
use gosleuth_render::goroutines::{self, KeyGroup};
use gosleuth_render::paths::PathShortener;
use gosleuth_render::triage::{self as render, TextOptions};
use gosleuth_runtime::capture::Crashed;
use gosleuth_runtime::filter::Filter;
use gosleuth_runtime::grouping::{self, GroupBy};
use gosleuth_runtime::{Capture, View};

use crate::output::{ColorChoice, Format, emit};

/// How to show goroutines (shared by `core` and `attach`).
#[derive(Debug, Args)]
pub struct ViewArgs {
    /// Group goroutines by full stack (the default, like `triage`), or by
    /// one location as Delve's `goroutines -group` does; `label=KEY`
    /// groups by a pprof label.
    #[arg(long, default_value = "stack")]
    pub group_by: String,

    /// Keep only goroutines matching a filter: `userloc=RE`, `curloc=RE`,
    /// `goloc=RE`, `startloc=RE` (regular expressions over `function
    /// file:line`), `label=KEY=VALUE`, `state=RE`, `running`, `user`
    /// (Delve's `goroutines -with`). Repeat to require several.
    #[arg(long, value_name = "FILTER")]
    pub with: Vec<String>,

    /// Drop goroutines matching a filter (same forms as --with).
    #[arg(long, value_name = "FILTER")]
    pub without: Vec<String>,

    /// Print every goroutine with its full stack instead of groups.
    #[arg(long)]
    pub stacks: bool,

    /// Output format: text, or JSON in Delve's api.Goroutine shape.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,

    /// Show runtime-internal goroutine groups instead of folding them.
    #[arg(long)]
    pub runtime: bool,

    /// Show at most this many groups.
    #[arg(long, default_value_t = 20)]
    pub max_groups: usize,

    /// Show at most this many frames per stack (0 shows all).
    #[arg(long, default_value_t = 0)]
    pub max_frames: usize,

    /// When to colour the output.
    #[arg(long, value_enum, default_value_t)]
    pub color: ColorChoice,
}

/// Prints the goroutines of a capture as `args` asks.
pub fn show(c: &Capture, header: &str, args: &ViewArgs) -> Result<()> {
    let parse = |specs: &[String]| -> Result<Vec<Filter>> {
        specs
            .iter()
            .map(|s| Filter::parse(s).map_err(anyhow::Error::msg))
            .collect()
    };
    let (with, without) = (parse(&args.with)?, parse(&args.without)?);
    let keep =
        |v: &View<'_>| with.iter().all(|f| f.matches(v)) && !without.iter().any(|f| f.matches(v));
    let opts = TextOptions {
        style: args.color.style(),
        show_runtime: args.runtime || !args.with.is_empty(),
        max_groups: args.max_groups,
        max_frames: args.max_frames,
    };
    // The goroutine that crashed goes first wherever the order is ours.
    let crashed = c.crashed().filter(|k| keep(&c.view(k.index)));
    if args.format == Format::Json {
        return json(c, args, &keep, crashed.as_ref());
    }
    let st = opts.style;
    let mut out = String::new();
    let _ = writeln!(out, "{}", st.bold(header));
    let warnings = c.target().warnings().iter().cloned().chain(
        Some(c.goroutines().iter().filter(|g| g.broken.is_some()).count())
            .filter(|&n| n > 0)
            .map(|n| format!("{n} stacks could not be fully unwound (--stacks shows why)")),
    );
    for w in warnings {
        let _ = writeln!(out, "  {}", st.dim(&format!("warning: {w}")));
    }
    if c.goroutines().iter().any(|g| g.waitsince > 0) {
        let _ = writeln!(
            out,
            "  {}",
            st.dim(&format!("wait times: {}", c.now_description()))
        );
    }
    if args.stacks {
        return stacks(c, &keep, &opts, out, crashed.as_ref());
    }
    match args.group_by.as_str() {
        "stack" | "full" => {
            let crash_index = crashed.as_ref().map(|k| k.index);
            let mut groups = c.group(Similarity::AnyValue, |v| {
                Some(v.index()) != crash_index && keep(v)
            });
            if let Some(k) = &crashed {
                // In a group of its own, shown whatever its frames.
                let mut first = c.group(Similarity::AnyValue, |v| v.index() == k.index);
                for g in &mut first {
                    g.user_code = true;
                }
                first.append(&mut groups);
                groups = first;
            }
            let total = groups.iter().map(|g| g.count).sum();
            let paths = PathShortener::learn(groups.iter().flat_map(|g| g.frames.iter()));
            let start = out.len();
            render::group_list(&mut out, total, &groups, &paths, &opts);
            if let Some(k) = &crashed {
                goroutines::mark_first_group(&mut out, start, &crash_marker(k), &opts);
            }
        }
        key => by_key(c, key, &keep, crashed.as_ref(), &opts, &mut out)?,
    }
    emit(&out)
}

/// The line that says why a goroutine is listed first.
fn crash_marker(k: &Crashed) -> String {
    format!("crashed: {}", k.why)
}

fn stacks(
    c: &Capture,
    keep: &dyn Fn(&View<'_>) -> bool,
    opts: &TextOptions,
    mut out: String,
    crashed: Option<&Crashed>,
) -> Result<()> {
    let stdout = std::io::stdout();
    let mut w = std::io::BufWriter::new(stdout.lock());
    w.write_all(out.as_bytes())?;
    out.clear();
    let first = crashed.map(|k| k.index);
    let rest = (0..c.goroutines().len()).filter(|&i| Some(i) != first);
    for i in first.into_iter().chain(rest) {
        let v = c.view(i);
        if !keep(&v) {
            continue;
        }
        let g: Goroutine = v.to_goroutine();
        out.push('\n');
        goroutines::goroutine(&mut out, &g, opts);
        if let Some(k) = crashed.filter(|k| k.index == i) {
            goroutines::marker(&mut out, "    ", &crash_marker(k), opts);
        }
        if let Some(why) = &v.raw().broken {
            let _ = writeln!(
                out,
                "    {}",
                opts.style.dim(&format!("(stack cut: {why})"))
            );
        }
        w.write_all(out.as_bytes())?;
        out.clear();
    }
    w.flush()?;
    Ok(())
}

/// Ids listed per group of `--group-by KEY`.
const KEY_GROUP_IDS: usize = 8;

fn by_key(
    c: &Capture,
    key: &str,
    keep: &(dyn Fn(&View<'_>) -> bool + Sync),
    crashed: Option<&Crashed>,
    opts: &TextOptions,
    out: &mut String,
) -> Result<()> {
    let Some(by) = GroupBy::parse(key) else {
        bail!(
            "unknown --group-by {key:?}: use stack, userloc, curloc, goloc, startloc or label=KEY"
        );
    };
    let mut groups = grouping::by_key(c, &by, keep, KEY_GROUP_IDS);
    let total: u64 = groups.iter().map(|g| g.count).sum();
    // The group of the goroutine that crashed goes first.
    let crash = crashed.map(|k| {
        let v = c.view(k.index);
        (by.name_of(&v), v.raw().id, k)
    });
    if let Some((name, _, _)) = &crash {
        if let Some(p) = groups.iter().position(|g| g.name == *name) {
            let g = groups.remove(p);
            groups.insert(0, g);
        }
    }
    let groups: Vec<KeyGroup> = groups
        .into_iter()
        .map(|g| {
            let marker = crash
                .as_ref()
                .filter(|(n, _, _)| *n == g.name)
                .map(|(_, id, k)| format!("goroutine {id} {}", crash_marker(k)));
            KeyGroup {
                ids: g.members.iter().map(|&i| c.goroutines()[i].id).collect(),
                name: g.name,
                count: g.count,
                states: g.states,
                marker,
            }
        })
        .collect();
    goroutines::key_groups(out, total, key, &groups, opts);
    Ok(())
}

fn json(
    c: &Capture,
    args: &ViewArgs,
    keep: &dyn Fn(&View<'_>) -> bool,
    crashed: Option<&Crashed>,
) -> Result<()> {
    let stdout = std::io::stdout();
    let mut w = std::io::BufWriter::new(stdout.lock());
    w.write_all(b"[")?;
    let mut first = true;
    let crash_index = crashed.map(|k| k.index);
    let rest = (0..c.goroutines().len()).filter(|&i| Some(i) != crash_index);
    for i in crash_index.into_iter().chain(rest) {
        if !keep(&c.view(i)) {
            continue;
        }
        if !first {
            w.write_all(b",")?;
        }
        first = false;
        w.write_all(b"\n")?;
        let mut g = gosleuth_dlvrpc::api::goroutine(c, i, args.stacks);
        if Some(i) == crash_index {
            g.crashed = crashed.map(|k| k.why.clone());
        }
        serde_json::to_writer(&mut w, &g)?;
    }
    w.write_all(b"\n]\n")?;
    w.flush()?;
    Ok(())
}
