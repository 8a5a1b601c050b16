//! Text reports laid out exactly like `go tool pprof`'s (`internal/report`
//! and the driver steps that precede them).

use std::fmt::Write as _;

use regex::Regex;

use crate::error::{Error, Result};
use crate::graph::{self, Edges, Graph, InfoOptions, NodeIndex, Order, ValueSel};
use crate::measurement::{label, percentage, scale, scaled_label};
use crate::profile::{DIFF_BASE_LABEL, Profile};
use crate::transform::{self, Granularity};

/// Which report to produce.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Format {
    /// `-top` / `-text`.
    #[default]
    Top,
    /// `-traces`.
    Traces,
    /// `-tree`.
    Tree,
    /// `-peek=RE`.
    Peek(String),
    /// `-list=RE`.
    List(String),
    /// `-proto`: gzipped profile.proto.
    Proto,
    /// `-raw`.
    Raw,
    /// `-comments`.
    Comments,
    /// Folded stacks (`frame;frame;leaf value`).
    Folded,
    /// An interactive SVG flame graph.
    FlameSvg,
    /// speedscope JSON.
    Speedscope,
}

impl Format {
    fn command(&self) -> &'static str {
        match self {
            Format::Top => "top",
            Format::Traces => "traces",
            Format::Tree => "tree",
            Format::Peek(_) => "peek",
            Format::List(_) => "list",
            Format::Proto => "proto",
            Format::Raw => "raw",
            Format::Comments => "comments",
            Format::Folded | Format::FlameSvg | Format::Speedscope => "flame",
        }
    }
}

/// Report configuration: pprof's `config` with the same defaults.
#[derive(Debug, Clone)]
pub struct Config {
    /// The report.
    pub format: Format,
    /// `-sample_index`.
    pub sample_index: String,
    /// `-mean`.
    pub mean: bool,
    /// `-nodecount` (-1 = the report's default).
    pub node_count: i64,
    /// `-nodefraction`.
    pub node_fraction: f64,
    /// `-edgefraction`.
    pub edge_fraction: f64,
    /// `-trim`.
    pub trim: bool,
    /// `-cum` (sort by cumulative).
    pub cum: bool,
    /// Granularity (`None` = functions or the report's own).
    pub granularity: Option<Granularity>,
    /// `-noinlines`.
    pub no_inlines: bool,
    /// `-showcolumns`.
    pub show_columns: bool,
    /// `-focus`.
    pub focus: String,
    /// `-ignore`.
    pub ignore: String,
    /// `-hide`.
    pub hide: String,
    /// `-show`.
    pub show: String,
    /// `-show_from`.
    pub show_from: String,
    /// `-prune_from`.
    pub prune_from: String,
    /// `-tagroot`: label keys shown as frames at the root.
    pub tag_root: String,
    /// `-tagleaf`: label keys shown as frames at the leaf.
    pub tag_leaf: String,
    /// `-tagfocus`.
    pub tag_focus: String,
    /// `-tagignore`.
    pub tag_ignore: String,
    /// `-tagshow`.
    pub tag_show: String,
    /// `-taghide`.
    pub tag_hide: String,
    /// `-unit`.
    pub unit: String,
    /// `-divide_by`.
    pub divide_by: f64,
    /// `-drop_negative`.
    pub drop_negative: bool,
    /// `-relative_percentages`.
    pub relative_percentages: bool,
    /// `-compact_labels`.
    pub compact_labels: bool,
    /// `-source_path`.
    pub source_path: String,
    /// `-trim_path`.
    pub trim_path: String,
    /// Time zone of the `Time:` header; `None` reads `TZ` like Go does
    /// (unset: `/etc/localtime`).
    pub time_zone: Option<crate::tz::Location>,
}

impl Config {
    /// The time zone reports are written in.
    pub fn zone(&self) -> &crate::tz::Location {
        self.time_zone
            .as_ref()
            .unwrap_or_else(|| crate::tz::Location::local())
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            format: Format::Top,
            sample_index: String::new(),
            mean: false,
            node_count: -1,
            node_fraction: 0.005,
            edge_fraction: 0.001,
            trim: true,
            cum: false,
            granularity: None,
            no_inlines: false,
            show_columns: false,
            focus: String::new(),
            ignore: String::new(),
            hide: String::new(),
            show: String::new(),
            show_from: String::new(),
            prune_from: String::new(),
            tag_root: String::new(),
            tag_leaf: String::new(),
            tag_focus: String::new(),
            tag_ignore: String::new(),
            tag_show: String::new(),
            tag_hide: String::new(),
            unit: "minimum".into(),
            divide_by: 1.0,
            drop_negative: false,
            relative_percentages: false,
            compact_labels: false,
            source_path: String::new(),
            trim_path: String::new(),
            time_zone: None,
        }
    }
}

/// A report ready to print: the filtered profile plus what pprof's
/// `report.Report` holds.
pub struct Report {
    /// The profile after filters and aggregation.
    pub prof: Profile,
    /// Total used for percentages.
    pub total: i64,
    /// Value selection.
    pub sel: ValueSel,
    /// Sample type name (`mean_` prefixed for -mean).
    pub sample_type: String,
    /// Sample unit, lower case.
    pub sample_unit: String,
    /// Output unit (`minimum` until chosen).
    pub output_unit: String,
    /// 1 / divide_by.
    pub ratio: f64,
    /// Report options.
    pub cfg: Config,
    /// Active filters for the legend.
    pub active_filters: Vec<String>,
    /// Warnings for stderr.
    pub warnings: Vec<String>,
    /// Unit of each numeric label key.
    pub num_label_units: Vec<(String, String)>,
}

pub(crate) fn compile(option: &str, v: &str) -> Result<Option<Regex>> {
    if v.is_empty() {
        return Ok(None);
    }
    Regex::new(v).map(Some).map_err(|e| Error::Regex {
        option: option.into(),
        source: e,
    })
}

/// pprof's `NumLabelUnits`: the unit of each numeric label key (the first
/// one given, else inferred from the key), plus a warning per key for
/// which other units were seen too.
fn num_label_units(p: &Profile) -> (Vec<(String, String)>, Vec<String>) {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut ignored: Vec<(String, Vec<String>)> = Vec::new();
    for set in p.samples.used_label_sets() {
        for l in &set.nums {
            let i = match out.iter().position(|(k, _)| *k == l.key) {
                Some(i) => i,
                None => {
                    out.push((l.key.clone(), String::new()));
                    out.len() - 1
                }
            };
            if l.unit.is_empty() {
                continue;
            }
            let u = &mut out[i].1;
            if u.is_empty() {
                *u = l.unit.clone();
            } else if *u != l.unit {
                match ignored.iter_mut().find(|(k, _)| *k == l.key) {
                    Some((_, us)) => {
                        if !us.contains(&l.unit) {
                            us.push(l.unit.clone());
                        }
                    }
                    None => ignored.push((l.key.clone(), vec![l.unit.clone()])),
                }
            }
        }
    }
    for (k, u) in &mut out {
        if u.is_empty() {
            *u = match k.as_str() {
                "alignment" | "request" => "bytes".into(),
                _ => k.clone(),
            };
        }
    }
    let warnings = ignored
        .into_iter()
        .map(|(k, mut us)| {
            us.sort();
            let used = out
                .iter()
                .find(|(key, _)| *key == k)
                .map_or("", |(_, u)| u.as_str());
            format!(
                "For tag {k} used unit {used}, also encountered unit(s) {}",
                us.join(", ")
            )
        })
        .collect();
    (out, warnings)
}

/// Applies command overrides, filters and aggregation (pprof's
/// `generateRawReport`), returning the report to print.
pub fn prepare(mut p: Profile, cfg: &Config) -> Result<Report> {
    let mut cfg = cfg.clone();
    let mut warnings = Vec::new();
    let cmd = cfg.format.command();
    let mut trim = cfg.trim;
    match cmd {
        "peek" => trim = false,
        "list" => {
            trim = false;
            cfg.granularity = Some(Granularity::Lines);
        }
        "top" | "flame" => {
            if cfg.node_count == -1 {
                cfg.node_count = 0;
            }
        }
        _ => {
            if cfg.node_count == -1 {
                cfg.node_count = 80;
            }
        }
    }
    if matches!(cfg.format, Format::Proto | Format::Raw) {
        trim = false;
        cfg.granularity = Some(Granularity::Addresses);
    }
    if matches!(
        cfg.format,
        Format::Folded | Format::FlameSvg | Format::Speedscope
    ) {
        trim = false;
    }
    if !trim {
        cfg.node_count = 0;
        cfg.node_fraction = 0.0;
        cfg.edge_fraction = 0.0;
    }
    let (units, unit_warnings) = num_label_units(&p);
    warnings.extend(unit_warnings);
    // Label frames come before the filters, which may select them.
    let roots: Vec<&str> = cfg.tag_root.split(',').filter(|k| !k.is_empty()).collect();
    let leaves: Vec<&str> = cfg.tag_leaf.split(',').filter(|k| !k.is_empty()).collect();
    let (rootm, leafm) = transform::add_label_nodes(&mut p, &roots, &leaves, &cfg.unit)?;
    if !cfg.tag_root.is_empty() && !rootm {
        warnings.push("TagRoot expression matched no samples".into());
    }
    if !cfg.tag_leaf.is_empty() && !leafm {
        warnings.push("TagLeaf expression matched no samples".into());
    }

    if cfg.relative_percentages {
        apply_focus(&mut p, &cfg, &units, &mut warnings)?;
    }
    let index = p.sample_index(&cfg.sample_index)?;
    let sel = ValueSel {
        index,
        mean_div: cfg.mean.then_some(0),
    };
    let st = &p.sample_types[index];
    let sample_type = if cfg.mean {
        format!("mean_{}", st.ty)
    } else {
        st.ty.clone()
    };
    let sample_unit = st.unit.to_lowercase();
    if cfg.divide_by == 0.0 {
        return Err(Error::Usage("zero divisor specified".into()));
    }
    let mut active_filters = Vec::new();
    for (k, v) in [
        ("focus", &cfg.focus),
        ("ignore", &cfg.ignore),
        ("hide", &cfg.hide),
        ("show", &cfg.show),
        ("show_from", &cfg.show_from),
        ("tagfocus", &cfg.tag_focus),
        ("tagignore", &cfg.tag_ignore),
        ("tagshow", &cfg.tag_show),
        ("taghide", &cfg.tag_hide),
    ] {
        if !v.is_empty() {
            active_filters.push(format!("{k}={v}"));
        }
    }
    let total = compute_total(&p, sel);
    if !cfg.relative_percentages {
        apply_focus(&mut p, &cfg, &units, &mut warnings)?;
    }
    let inlines = !cfg.no_inlines;
    transform::aggregate(
        &mut p,
        cfg.granularity.unwrap_or_default(),
        inlines,
        cfg.show_columns,
    );
    Ok(Report {
        prof: p,
        total,
        sel,
        sample_type,
        sample_unit,
        output_unit: cfg.unit.clone(),
        ratio: 1.0 / cfg.divide_by,
        cfg,
        active_filters,
        warnings,
        num_label_units: units,
    })
}

fn apply_focus(
    p: &mut Profile,
    cfg: &Config,
    units: &[(String, String)],
    warnings: &mut Vec<String>,
) -> Result<()> {
    let focus = compile("focus", &cfg.focus)?;
    let ignore = compile("ignore", &cfg.ignore)?;
    let hide = compile("hide", &cfg.hide)?;
    let show = compile("show", &cfg.show)?;
    let show_from = compile("show_from", &cfg.show_from)?;
    let mut tag_filter = |option: &str, value: &str| -> Result<Option<transform::TagFilter>> {
        if value.is_empty() {
            return Ok(None);
        }
        let f = transform::TagFilter::new(option, value)?;
        if f.is_range() {
            let v = value.split_once('=').map_or(value, |(_, v)| v);
            warnings.push(format!("{option}:Interpreted '{v}' as range, not regexp"));
        }
        Ok(Some(f))
    };
    let tf = tag_filter("tagfocus", &cfg.tag_focus)?;
    let ti = tag_filter("tagignore", &cfg.tag_ignore)?;
    let m = transform::filter_samples_by_name(
        p,
        focus.as_ref(),
        ignore.as_ref(),
        hide.as_ref(),
        show.as_ref(),
    );
    let mut warn = |ok: bool, name: &str| {
        if !ok {
            warnings.push(format!("{name} expression matched no samples"));
        }
    };
    warn(focus.is_none() || m.focus, "Focus");
    warn(ignore.is_none() || m.ignore, "Ignore");
    warn(hide.is_none() || m.hide, "Hide");
    warn(show.is_none() || m.show, "Show");
    if let Some(re) = &show_from {
        let sfm = transform::show_from(p, re);
        warn(sfm, "ShowFrom");
    }
    let (tfm, tim) = transform::filter_samples_by_tag(p, tf.as_ref(), ti.as_ref(), units);
    warn(tf.is_none() || tfm, "TagFocus");
    warn(ti.is_none() || tim, "TagIgnore");
    let tagshow = compile("tagshow", &cfg.tag_show)?;
    let taghide = compile("taghide", &cfg.tag_hide)?;
    if tagshow.is_some() || taghide.is_some() {
        let (mut sm, mut hm) = (false, false);
        let mut remove = |name: &str| {
            let ms = tagshow.as_ref().is_none_or(|r| r.is_match(name));
            let mh = taghide.as_ref().is_some_and(|r| r.is_match(name));
            sm |= ms;
            hm |= mh;
            !ms || mh
        };
        p.samples.map_labels(|l| {
            l.strs.retain(|(k, _)| !remove(k));
            l.nums.retain(|n| !remove(&n.key));
        });
        warn(tagshow.is_none() || sm, "TagShow");
        warn(taghide.is_none() || hm, "TagHide");
    }
    if let Some(re) = compile("prune_from", &cfg.prune_from)? {
        transform::prune_from(p, &re);
    }
    Ok(())
}

/// pprof's `computeTotal`: the sum of |value| (of base samples only when
/// the profile is a `-diff_base` comparison).
pub fn compute_total(p: &Profile, sel: ValueSel) -> i64 {
    let (mut div, mut total, mut ddiv, mut dtotal) = (0i64, 0i64, 0i64, 0i64);
    for s in p.samples.iter() {
        let v = s.values[sel.index].wrapping_abs();
        let d = sel.mean_div.map_or(0, |i| s.values[i]);
        total = total.wrapping_add(v);
        div = div.wrapping_add(d);
        if s.is_diff_base() {
            dtotal = dtotal.wrapping_add(v);
            ddiv = ddiv.wrapping_add(d);
        }
    }
    if dtotal > 0 {
        total = dtotal;
        div = ddiv;
    }
    if div != 0 {
        total.wrapping_div(div)
    } else {
        total
    }
}

/// A graph trimmed per the report options, with the counts for the legend.
pub struct Trimmed {
    /// The graph, sorted.
    pub graph: Graph,
    /// Nodes before `-nodecount`.
    pub orig_count: usize,
    /// Nodes dropped by `-nodefraction`.
    pub dropped_nodes: usize,
    /// Edges dropped by `-edgefraction`.
    pub dropped_edges: usize,
}

impl Report {
    /// Formats a value in the output unit.
    pub fn format_value(&self, v: i64) -> String {
        let mut v = v;
        if self.ratio > 0.0 && self.ratio != 1.0 {
            v = (v as f64 * self.ratio) as i64;
        }
        scaled_label(v, &self.sample_unit, &self.output_unit)
    }

    fn prepare_for_graph(&mut self) {
        let (tp, sp) = (self.cfg.trim_path.clone(), self.cfg.source_path.clone());
        for f in &mut self.prof.functions {
            f.filename = transform::trim_path(&f.filename, &tp, &sp);
        }
        self.prof.remove_label(DIFF_BASE_LABEL);
    }

    fn info_options(&self) -> InfoOptions {
        InfoOptions {
            obj_names: matches!(self.cfg.format, Format::Raw | Format::List(_)),
            orig_fn_names: false,
        }
    }

    /// pprof's `newTrimmedGraph`; `edges` says which edges the report
    /// reads (all of them, or only [`Edges::IntoInlined`] for `-top`).
    pub fn trimmed_graph(&mut self, edges: Edges) -> Trimmed {
        self.prepare_for_graph();
        let idx = NodeIndex::new(&self.prof, self.info_options());
        let drop_neg = self.cfg.drop_negative;
        // Edges are only needed in the final graph: earlier passes only
        // decide which nodes survive, from node values.
        let mut g = graph::build(&self.prof, &idx, self.sel, None, drop_neg, Edges::None, 0);
        let total_flat: i64 = g.nodes.iter().fold(0i64, |a, n| a.wrapping_add(n.flat));
        let node_cutoff = ((total_flat as f64 * self.cfg.node_fraction) as i64).wrapping_abs();
        let edge_cutoff = ((total_flat as f64 * self.cfg.edge_fraction) as i64).wrapping_abs();
        let mut dropped_nodes = 0;
        let mut kept: Option<Vec<bool>> = None;
        if node_cutoff > 0 {
            let mut k = vec![false; idx.infos.len()];
            let mut nk = 0;
            for n in &g.nodes {
                if n.cum.wrapping_abs() >= node_cutoff {
                    k[n.id as usize] = true;
                    nk += 1;
                }
            }
            if nk != g.nodes.len() {
                dropped_nodes = g.nodes.len() - nk;
                // With edges already when no -nodecount selection follows.
                let final_pass = self.cfg.node_count <= 0 || self.cfg.node_count as usize >= nk;
                g = graph::build(
                    &self.prof,
                    &idx,
                    self.sel,
                    Some(&k),
                    drop_neg,
                    if final_pass { edges } else { Edges::None },
                    edge_cutoff,
                );
                kept = Some(k);
                if final_pass {
                    let orig_count = g.nodes.len();
                    let order = if self.cfg.cum {
                        Order::Cum
                    } else {
                        Order::Flat
                    };
                    graph::sort_nodes(&mut g, order);
                    let dropped_edges =
                        g.dropped_edges + graph::trim_low_frequency_edges(&mut g, edge_cutoff);
                    return Trimmed {
                        graph: g,
                        orig_count,
                        dropped_nodes,
                        dropped_edges,
                    };
                }
            }
        }
        let orig_count = g.nodes.len();
        let order = if self.cfg.cum {
            Order::Cum
        } else {
            Order::Flat
        };
        graph::sort_nodes(&mut g, order);
        if self.cfg.node_count > 0 {
            let n = (self.cfg.node_count as usize).min(g.nodes.len());
            if n != g.nodes.len() {
                let mut k = vec![false; idx.infos.len()];
                for node in &g.nodes[..n] {
                    k[node.id as usize] = true;
                }
                kept = Some(k);
            }
        }
        g = graph::build(
            &self.prof,
            &idx,
            self.sel,
            kept.as_deref(),
            drop_neg,
            edges,
            edge_cutoff,
        );
        graph::sort_nodes(&mut g, order);
        let dropped_edges = g.dropped_edges + graph::trim_low_frequency_edges(&mut g, edge_cutoff);
        Trimmed {
            graph: g,
            orig_count,
            dropped_nodes,
            dropped_edges,
        }
    }

    /// pprof's `selectOutputUnit`.
    pub fn select_output_unit(&mut self, g: &Graph) {
        if self.output_unit != "minimum" || g.nodes.is_empty() {
            return;
        }
        let mut min_value: i64 = 0;
        for n in &g.nodes {
            let mut m = n.flat_value().wrapping_abs();
            if m == 0 {
                m = n.cum_value().wrapping_abs();
            }
            if m > 0 && (min_value == 0 || m < min_value) {
                min_value = m;
            }
        }
        let mut max_value = self.total;
        if min_value == 0 {
            min_value = max_value;
        }
        if self.ratio > 0.0 && self.ratio != 1.0 {
            min_value = (min_value as f64 * self.ratio) as i64;
            max_value = (max_value as f64 * self.ratio) as i64;
        }
        let (_, min_unit) = scale(min_value, &self.sample_unit, "minimum");
        let (_, max_unit) = scale(max_value, &self.sample_unit, "minimum");
        let mut unit = min_unit.clone();
        if min_unit != max_unit && min_value.wrapping_mul(100) < max_value {
            unit = scale(min_value.wrapping_mul(100), &self.sample_unit, "minimum").1;
        }
        self.output_unit = if unit.is_empty() {
            self.sample_unit.clone()
        } else {
            unit
        };
    }

    /// pprof's `ProfileLabels`.
    pub fn profile_labels(&self) -> Vec<String> {
        let p = &self.prof;
        let mut l = Vec::new();
        if let Some(m) = p.mappings.first() {
            if !m.file.is_empty() {
                l.push(format!("File: {}", graph::base_name(&m.file)));
            }
            if !m.build_id.is_empty() {
                l.push(format!("Build ID: {}", m.build_id));
            }
        }
        for c in &p.comments {
            if !c.starts_with('#') {
                l.push(c.clone());
            }
        }
        if !self.sample_type.is_empty() {
            l.push(format!("Type: {}", self.sample_type));
        }
        if !p.doc_url.is_empty() {
            l.push(format!("Doc: {}", p.doc_url));
        }
        if p.time_nanos != 0 {
            l.push(format!(
                "Time: {}",
                crate::tz::format_report_time(p.time_nanos, self.cfg.zone())
            ));
        }
        if p.duration_nanos != 0 {
            let duration = label(p.duration_nanos, "nanoseconds");
            let (total_nanos, total_unit) = scale(self.total, &self.sample_unit, "nanoseconds");
            let ratio = if total_unit == "ns" && total_nanos != 0.0 {
                format!("({})", percentage(total_nanos as i64, p.duration_nanos))
            } else {
                String::new()
            };
            l.push(format!(
                "Duration: {duration}, Total samples = {} {ratio}",
                self.format_value(self.total)
            ));
        }
        l
    }

    /// pprof's `reportLabels` (without the graph-only parts).
    pub fn report_labels(
        &self,
        shown_total: i64,
        node_count: usize,
        orig_count: usize,
        dropped_nodes: usize,
    ) -> Vec<String> {
        let mut l = if self.cfg.compact_labels {
            Vec::new()
        } else {
            self.profile_labels()
        };
        if !self.active_filters.is_empty() {
            l.push("Active filters:".into());
            for s in &self.active_filters {
                let s = if s.chars().count() > 80 {
                    let mut t: String = s
                        .char_indices()
                        .take_while(|(i, _)| *i < 80)
                        .map(|(_, c)| c)
                        .collect();
                    t.push('…');
                    t
                } else {
                    s.clone()
                };
                l.push(format!("   {s}"));
            }
        }
        l.push(format!(
            "Showing nodes accounting for {}, {} of {} total",
            self.format_value(shown_total),
            percentage(shown_total, self.total).trim(),
            self.format_value(self.total)
        ));
        if self.total != 0 {
            if dropped_nodes > 0 {
                let cut = ((self.total as f64 * self.cfg.node_fraction) as i64).wrapping_abs();
                let n = if dropped_nodes > 1 { "nodes" } else { "node" };
                l.push(format!(
                    "Dropped {dropped_nodes} {n} (cum <= {})",
                    self.format_value(cut)
                ));
            }
            if node_count > 0 && node_count < orig_count {
                l.push(format!(
                    "Showing top {node_count} nodes out of {orig_count}"
                ));
            }
        }
        l
    }
}

/// `-top`.
pub fn print_text(rpt: &mut Report) -> String {
    let t = rpt.trimmed_graph(Edges::IntoInlined);
    let g = &t.graph;
    rpt.select_output_unit(g);
    let shown: i64 = g
        .nodes
        .iter()
        .fold(0i64, |a, n| a.wrapping_add(n.flat_value()));
    let labels = rpt.report_labels(shown, g.nodes.len(), t.orig_count, t.dropped_nodes);
    let mut w = String::new();
    w.push_str(&labels.join("\n"));
    w.push('\n');
    let _ = writeln!(
        w,
        "{:>10} {:>5}% {:>5}% {:>10} {:>5}%",
        "flat", "flat", "sum", "cum", "cum"
    );
    let mut flat_sum = 0i64;
    for n in &g.nodes {
        let (flat, cum) = (n.flat_value(), n.cum_value());
        let (mut inline, mut noinline) = (false, false);
        for &e in &n.in_edges {
            if g.edges[e].inline {
                inline = true;
            } else {
                noinline = true;
            }
        }
        let inl = match (inline, noinline) {
            (true, true) => " (partial-inline)",
            (true, false) => " (inline)",
            _ => "",
        };
        flat_sum = flat_sum.wrapping_add(flat);
        let _ = writeln!(
            w,
            "{:>10} {} {} {:>10} {}  {}{}",
            rpt.format_value(flat),
            percentage(flat, rpt.total),
            percentage(flat_sum, rpt.total),
            rpt.format_value(cum),
            percentage(cum, rpt.total),
            n.info.printable_name(),
            inl
        );
    }
    w
}

/// `-traces`.
pub fn print_traces(rpt: &mut Report) -> String {
    let mut w = String::new();
    w.push_str(&rpt.profile_labels().join("\n"));
    w.push('\n');
    const SEP: &str = "-----------+-------------------------------------------------------";
    let idx = NodeIndex::new(&rpt.prof, InfoOptions::default());
    for s in rpt.prof.samples.iter() {
        let mut stack: Vec<(String, bool)> = Vec::new();
        for l in s.locations {
            let nodes = idx.loc_nodes(l as usize);
            for (i, &n) in nodes.iter().enumerate() {
                stack.push((idx.infos[n as usize].printable_name(), i != nodes.len() - 1));
            }
        }
        if stack.is_empty() {
            continue;
        }
        w.push_str(SEP);
        w.push('\n');
        let mut labels: Vec<String> = Vec::new();
        let mut seen: Vec<&str> = Vec::new();
        for (k, _) in &s.labels.strs {
            if seen.contains(&k.as_str()) {
                continue;
            }
            seen.push(k);
            let vs: Vec<&str> = s.label_values(k).collect();
            labels.push(format!("{:>10}:  {}\n", k, vs.join(" ")));
        }
        labels.sort();
        w.push_str(&labels.concat());
        let mut nums: Vec<String> = Vec::new();
        let mut seen: Vec<&str> = Vec::new();
        for l in &s.labels.nums {
            if seen.contains(&l.key.as_str()) {
                continue;
            }
            seen.push(&l.key);
            let unit = rpt
                .num_label_units
                .iter()
                .find(|(k, _)| *k == l.key)
                .map(|(_, u)| u.as_str())
                .unwrap_or("");
            let vs: Vec<String> = s
                .labels
                .nums
                .iter()
                .filter(|x| x.key == l.key)
                .map(|x| label(x.value, unit))
                .collect();
            nums.push(format!("{:>10}:  {}\n", l.key, vs.join(" ")));
        }
        nums.sort();
        w.push_str(&nums.concat());
        let mut v = s.values[rpt.sel.index];
        if let Some(d) = rpt.sel.mean_div.map(|i| s.values[i]) {
            if d != 0 {
                v = v.wrapping_div(d);
            }
        }
        for (i, (name, inline)) in stack.iter().enumerate() {
            let vs = if i == 0 {
                rpt.format_value(v)
            } else {
                String::new()
            };
            let _ = writeln!(
                w,
                "{:>10}   {}{}",
                vs,
                name,
                if *inline { " (inline)" } else { "" }
            );
        }
    }
    w.push_str(SEP);
    w.push('\n');
    w
}

/// `-tree` and `-peek`.
pub fn print_tree(rpt: &mut Report, rx: Option<&Regex>) -> Result<String> {
    const SEP: &str = "----------------------------------------------------------+-------------";
    const LEGEND: &str = "      flat  flat%   sum%        cum   cum%   calls calls% + context 	 	 ";
    let t = rpt.trimmed_graph(Edges::All);
    let g = &t.graph;
    rpt.select_output_unit(g);
    let shown: i64 = g
        .nodes
        .iter()
        .fold(0i64, |a, n| a.wrapping_add(n.flat_value()));
    let mut w = String::new();
    w.push_str(
        &rpt.report_labels(shown, g.nodes.len(), t.orig_count, t.dropped_nodes)
            .join("\n"),
    );
    w.push('\n');
    w.push_str(SEP);
    w.push('\n');
    w.push_str(LEGEND);
    w.push('\n');
    let mut flat_sum = 0i64;
    let mut matched = 0;
    for n in &g.nodes {
        let name = n.info.printable_name();
        let (flat, cum) = (n.flat_value(), n.cum_value());
        if rx.is_some_and(|r| !r.is_match(&name)) {
            continue;
        }
        matched += 1;
        w.push_str(SEP);
        w.push('\n');
        for e in graph::sort_edges(g, &n.in_edges) {
            let e = &g.edges[e];
            let _ = writeln!(
                w,
                "{:>50} {} |   {}{}",
                rpt.format_value(e.weight),
                percentage(e.weight, cum),
                g.nodes[e.src].info.printable_name(),
                if e.inline { " (inline)" } else { "" }
            );
        }
        flat_sum = flat_sum.wrapping_add(flat);
        let _ = writeln!(
            w,
            "{:>10} {} {} {:>10} {}                | {}",
            rpt.format_value(flat),
            percentage(flat, rpt.total),
            percentage(flat_sum, rpt.total),
            rpt.format_value(cum),
            percentage(cum, rpt.total),
            name
        );
        for e in graph::sort_edges(g, &n.out_edges) {
            let e = &g.edges[e];
            let _ = writeln!(
                w,
                "{:>50} {} |   {}{}",
                rpt.format_value(e.weight),
                percentage(e.weight, cum),
                g.nodes[e.dst].info.printable_name(),
                if e.inline { " (inline)" } else { "" }
            );
        }
    }
    if !g.nodes.is_empty() {
        w.push_str(SEP);
        w.push('\n');
    }
    if let Some(r) = rx {
        if matched == 0 {
            return Err(Error::NoMatches(r.as_str().to_string()));
        }
    }
    Ok(w)
}
