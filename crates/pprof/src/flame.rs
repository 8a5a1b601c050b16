//! Flame graphs without Graphviz: folded stacks (`stack;frames value`,
//! the input of flamegraph.pl and inferno), a self-contained interactive
//! SVG (search, click-to-zoom, tooltips), a differential SVG for
//! `-diff_base`, and speedscope JSON.
//!
//! Stacks are taken after filters and granularity, so `-focus`, `-hide`,
//! `-lines` etc. shape the flame graph as they shape `-top`.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use crate::graph::{InfoOptions, NodeIndex};
use crate::measurement::{percentage, scaled_label};
use crate::report::Report;

/// Per distinct stack (root first): value in the new profile and in the base.
pub struct Stacks {
    /// Frame names, interned.
    pub names: Vec<String>,
    /// Stack (root first, indices into `names`) -> (new, base).
    pub stacks: BTreeMap<Vec<u32>, (i64, i64)>,
    /// True when the profile was built with `-diff_base`.
    pub diff: bool,
}

/// Collects the stacks of the report's profile.
pub fn stacks(rpt: &Report) -> Stacks {
    let p = &rpt.prof;
    let idx = NodeIndex::new(p, InfoOptions::default());
    let mut names: Vec<String> = Vec::new();
    let mut name_of: HashMap<u32, u32> = HashMap::new();
    let mut out: BTreeMap<Vec<u32>, (i64, i64)> = BTreeMap::new();
    let mut diff = false;
    for s in p.samples.iter() {
        let v = s.values[rpt.sel.index];
        if v == 0 {
            continue;
        }
        let mut stack = Vec::with_capacity(s.locations.len() + 4);
        for l in s.locations.iter().rev() {
            for &n in idx.loc_nodes(l as usize).iter().rev() {
                let id = *name_of.entry(n).or_insert_with(|| {
                    names.push(idx.infos[n as usize].printable_name().replace(';', ":"));
                    (names.len() - 1) as u32
                });
                stack.push(id);
            }
        }
        if stack.is_empty() {
            continue;
        }
        let e = out.entry(stack).or_insert((0, 0));
        if s.is_diff_base() {
            diff = true;
            e.1 = e.1.wrapping_sub(v);
        } else {
            e.0 = e.0.wrapping_add(v);
        }
    }
    Stacks {
        names,
        stacks: out,
        diff,
    }
}

/// Folded stacks: `root;...;leaf VALUE`, or `root;...;leaf BASE NEW` for a
/// `-diff_base` comparison (the difffolded.pl layout). Sorted by stack.
pub fn folded(rpt: &Report) -> String {
    let st = stacks(rpt);
    let mut lines: Vec<String> = st
        .stacks
        .iter()
        .map(|(k, &(new, base))| {
            let path: Vec<&str> = k.iter().map(|&i| st.names[i as usize].as_str()).collect();
            if st.diff {
                format!("{} {base} {new}", path.join(";"))
            } else {
                format!("{} {new}", path.join(";"))
            }
        })
        .collect();
    lines.sort();
    let mut s = lines.join("\n");
    if !s.is_empty() {
        s.push('\n');
    }
    s
}

struct Frame {
    name: u32,
    depth: usize,
    start: i64,
    width: i64,
    new: i64,
    base: i64,
}

#[derive(Default)]
struct Tree {
    children: BTreeMap<u32, Tree>,
    new: i64,
    base: i64,
}

fn layout(t: &Tree, name: u32, depth: usize, start: i64, diff: bool, out: &mut Vec<Frame>) -> i64 {
    let width = if diff { t.new.max(t.base) } else { t.new };
    out.push(Frame {
        name,
        depth,
        start,
        width,
        new: t.new,
        base: t.base,
    });
    let mut x = start;
    for (&n, c) in &t.children {
        x = x.wrapping_add(layout(c, n, depth + 1, x, diff, out));
    }
    width
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn hash(s: &str) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

/// An interactive SVG flame graph (root at the bottom). With `-diff_base`
/// frame widths are max(base, new) and colors show the change: red grew,
/// blue shrank, white unchanged.
pub fn svg(rpt: &Report) -> String {
    let st = stacks(rpt);
    let mut root = Tree::default();
    for (k, &(new, base)) in &st.stacks {
        let mut t = &mut root;
        t.new = t.new.wrapping_add(new);
        t.base = t.base.wrapping_add(base);
        for &f in k {
            t = t.children.entry(f).or_default();
            t.new = t.new.wrapping_add(new);
            t.base = t.base.wrapping_add(base);
        }
    }
    let mut names = st.names.clone();
    names.push("all".into());
    let root_name = (names.len() - 1) as u32;
    let mut frames = Vec::new();
    let total = layout(&root, root_name, 0, 0, st.diff, &mut frames).max(1);
    let max_depth = frames.iter().map(|f| f.depth).max().unwrap_or(0);
    const W: f64 = 1200.0;
    const XPAD: f64 = 10.0;
    const FH: f64 = 16.0;
    const TOP: f64 = 60.0;
    const BOTTOM: f64 = 34.0;
    let height = TOP + BOTTOM + FH * (max_depth as f64 + 1.0);
    let scale = (W - 2.0 * XPAD) / total as f64;
    let title = if st.diff {
        "Differential Flame Graph"
    } else {
        "Flame Graph"
    };
    let subtitle = format!(
        "{} · total {}{}",
        rpt.sample_type,
        scaled_label(
            if st.diff { root.new } else { total },
            &rpt.sample_unit,
            "auto"
        ),
        if st.diff {
            format!(
                " (base {})",
                scaled_label(root.base, &rpt.sample_unit, "auto")
            )
        } else {
            String::new()
        }
    );
    let mut s = String::with_capacity(frames.len() * 200 + 8192);
    let _ = write!(
        s,
        r##"<?xml version="1.0" standalone="no"?>
<svg version="1.1" width="{W}" height="{height}" viewBox="0 0 {W} {height}" xmlns="http://www.w3.org/2000/svg" onload="init(evt)" data-total="{total}" data-xpad="{XPAD}" data-fh="{FH}">
<style>
text {{ font-family: Verdana, sans-serif; font-size: 12px; fill: #000; }}
#title {{ font-size: 17px; text-anchor: middle; }}
#subtitle {{ text-anchor: middle; fill: #555; }}
.f rect {{ stroke: #fff; stroke-width: 0.5; rx: 2; ry: 2; }}
.f:hover rect {{ stroke: #000; }}
.f text {{ pointer-events: none; }}
.hidden {{ display: none; }}
#search, #reset {{ cursor: pointer; }}
</style>
<rect x="0" y="0" width="{W}" height="{height}" fill="#f8f8f8"/>
<text id="title" x="{cx}" y="22">{title}</text>
<text id="subtitle" x="{cx}" y="40">{sub}</text>
<text id="reset" x="{XPAD}" y="22" class="hidden">Reset Zoom</text>
<text id="search" x="{sx}" y="22">Search</text>
<text id="matched" x="{sx}" y="{my}"></text>
<text id="details" x="{XPAD}" y="{my}"> </text>
<g id="frames">
"##,
        cx = W / 2.0,
        sub = esc(&subtitle),
        sx = W - XPAD - 60.0,
        my = height - 12.0,
    );
    for f in &frames {
        let w = f.width as f64 * scale;
        if w < 0.1 {
            continue;
        }
        let x = XPAD + f.start as f64 * scale;
        let y = height - BOTTOM - FH * (f.depth as f64 + 1.0);
        let name = &names[f.name as usize];
        let fill = if st.diff {
            let d = f.new.wrapping_sub(f.base);
            let m = f.new.wrapping_abs().max(f.base.wrapping_abs()).max(1) as f64;
            let k = (d.wrapping_abs() as f64 / m).min(1.0);
            let c = (255.0 * (1.0 - k * 0.85)) as u8;
            if d > 0 {
                format!("rgb(255,{c},{c})")
            } else if d < 0 {
                format!("rgb({c},{c},255)")
            } else {
                "rgb(250,250,250)".to_string()
            }
        } else {
            let h = hash(name);
            let (a, b, c) = (
                (h & 0xff) as f64 / 255.0,
                ((h >> 8) & 0xff) as f64 / 255.0,
                ((h >> 16) & 0xff) as f64 / 255.0,
            );
            format!(
                "rgb({},{},{})",
                (205.0 + 50.0 * c) as u8,
                (230.0 * a) as u8,
                (55.0 * b) as u8
            )
        };
        let info = if st.diff {
            format!(
                "{} (new {}, base {}, {}{})",
                name,
                scaled_label(f.new, &rpt.sample_unit, "auto"),
                scaled_label(f.base, &rpt.sample_unit, "auto"),
                if f.new >= f.base { "+" } else { "-" },
                scaled_label(
                    f.new.wrapping_sub(f.base).wrapping_abs(),
                    &rpt.sample_unit,
                    "auto"
                )
            )
        } else {
            format!(
                "{} ({}, {})",
                name,
                scaled_label(f.width, &rpt.sample_unit, "auto"),
                percentage(f.width, total).trim()
            )
        };
        let _ = writeln!(
            s,
            r#"<g class="f" data-s="{}" data-w="{}" data-d="{}"><title>{}</title><rect x="{x:.2}" y="{y:.1}" width="{w:.2}" height="{}" fill="{fill}"/><text x="{:.2}" y="{:.1}">{}</text></g>"#,
            f.start,
            f.width,
            f.depth,
            esc(&info),
            FH - 1.0,
            x + 3.0,
            y + FH - 4.5,
            esc(&static_label(name, w))
        );
    }
    s.push_str("</g>\n<script><![CDATA[\n");
    s.push_str(SCRIPT);
    s.push_str("\n]]></script>\n</svg>\n");
    s
}

/// The label a frame of width `w` pixels shows before any script runs
/// (static viewers such as image previews never run it): the name, cut
/// with `..` to fit, or nothing when under three characters fit. The
/// script recomputes it on zoom.
fn static_label(name: &str, w: f64) -> String {
    // Verdana at 12px averages about 7 pixels per character.
    let fit = ((w - 6.0) / 7.0).floor();
    if fit < 3.0 {
        return String::new();
    }
    let fit = fit as usize;
    if name.chars().count() <= fit {
        return name.to_string();
    }
    let mut out: String = name.chars().take(fit - 2).collect();
    out.push_str("..");
    out
}

const SCRIPT: &str = r#"var svg, frames, total, xpad, width, details, matchedtxt, resetbtn, searchbtn, zoomed = null;
function init(evt) {
  svg = document.documentElement; frames = Array.from(document.querySelectorAll('#frames .f'));
  total = +svg.dataset.total; xpad = +svg.dataset.xpad; width = +svg.getAttribute('width') - 2 * xpad;
  details = document.getElementById('details'); matchedtxt = document.getElementById('matched');
  resetbtn = document.getElementById('reset'); searchbtn = document.getElementById('search');
  frames.forEach(function (g) {
    g.addEventListener('click', function () { zoom(g); });
    g.addEventListener('mouseover', function () { details.textContent = g.querySelector('title').textContent; });
    g.addEventListener('mouseout', function () { details.textContent = ' '; });
  });
  resetbtn.addEventListener('click', function () { unzoom(); });
  searchbtn.addEventListener('click', function () { search(); });
  window.addEventListener('keydown', function (e) {
    if (e.key === 'f' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); search(); }
    if (e.key === 'Escape') { unzoom(); clearSearch(); }
  });
  relayout(0, total, -1);
}
function label(g, w) {
  var t = g.querySelector('text'), name = g.querySelector('title').textContent.replace(/ \(.*$/, '');
  var fit = Math.floor((w - 6) / 7);
  t.textContent = fit < 3 ? '' : (name.length <= fit ? name : name.substring(0, fit - 2) + '..');
}
function relayout(start, span, mindepth) {
  var scale = width / span;
  frames.forEach(function (g) {
    var s = +g.dataset.s, w = +g.dataset.w, d = +g.dataset.d, r = g.querySelector('rect');
    var inside = s >= start && s + w <= start + span + 1e-9;
    var ancestor = s <= start && s + w >= start + span && d <= mindepth;
    if (!(inside || ancestor) || (w * scale < 0.1)) { g.classList.add('hidden'); return; }
    g.classList.remove('hidden');
    var x = inside ? xpad + (s - start) * scale : xpad, pw = inside ? w * scale : width;
    r.setAttribute('x', x.toFixed(2)); r.setAttribute('width', pw.toFixed(2));
    g.querySelector('text').setAttribute('x', (x + 3).toFixed(2));
    r.style.opacity = ancestor && d < mindepth ? '0.5' : '';
    label(g, pw);
  });
}
function zoom(g) { zoomed = g; resetbtn.classList.remove('hidden'); relayout(+g.dataset.s, Math.max(+g.dataset.w, 1), +g.dataset.d); }
function unzoom() { zoomed = null; resetbtn.classList.add('hidden'); relayout(0, total, -1); }
function clearSearch() { frames.forEach(function (g) { g.querySelector('rect').style.fill = ''; }); matchedtxt.textContent = ''; searchbtn.textContent = 'Search'; }
function search() {
  var term = prompt('Search for (regular expression):', '');
  if (term === null) return;
  if (term === '') { clearSearch(); return; }
  var re; try { re = new RegExp(term); } catch (e) { alert('bad regexp: ' + e); return; }
  var hits = [];
  frames.forEach(function (g) {
    var name = g.querySelector('title').textContent.replace(/ \(.*$/, ''), r = g.querySelector('rect');
    if (re.test(name)) { r.style.fill = 'rgb(230,0,230)'; hits.push([+g.dataset.s, +g.dataset.w]); } else { r.style.fill = ''; }
  });
  hits.sort(function (a, b) { return a[0] - b[0] || b[1] - a[1]; });
  var covered = 0, end = -1;
  hits.forEach(function (h) { if (h[0] >= end) { covered += h[1]; end = h[0] + h[1]; } else if (h[0] + h[1] > end) { covered += h[0] + h[1] - end; end = h[0] + h[1]; } });
  matchedtxt.textContent = 'Matched: ' + (100 * covered / total).toFixed(1) + '%';
  searchbtn.textContent = 'Search: ' + term;
}
"#;

/// speedscope JSON (<https://www.speedscope.app>): one sampled profile, or
/// two (base, new) for a `-diff_base` comparison.
pub fn speedscope(rpt: &Report) -> String {
    let st = stacks(rpt);
    let unit = match rpt.sample_unit.as_str() {
        "nanoseconds" | "microseconds" | "milliseconds" | "seconds" | "bytes" => {
            rpt.sample_unit.as_str()
        }
        _ => "none",
    };
    let frames: Vec<serde_json::Value> = st
        .names
        .iter()
        .map(|n| serde_json::json!({ "name": n }))
        .collect();
    let mk = |name: &str, pick: &dyn Fn(&(i64, i64)) -> i64| {
        let mut samples = Vec::new();
        let mut weights = Vec::new();
        let mut total = 0i64;
        for (k, v) in &st.stacks {
            let w = pick(v);
            if w <= 0 {
                continue;
            }
            samples.push(k.clone());
            weights.push(w);
            total = total.wrapping_add(w);
        }
        serde_json::json!({
            "type": "sampled",
            "name": name,
            "unit": unit,
            "startValue": 0,
            "endValue": total,
            "samples": samples,
            "weights": weights,
        })
    };
    let mut profiles = Vec::new();
    if st.diff {
        profiles.push(mk(&format!("{} (base)", rpt.sample_type), &|v| v.1));
        profiles.push(mk(&format!("{} (new)", rpt.sample_type), &|v| v.0));
    } else {
        profiles.push(mk(&rpt.sample_type, &|v| v.0));
    }
    let name = rpt
        .prof
        .mappings
        .first()
        .map(|m| crate::graph::base_name(&m.file).to_string())
        .filter(|n| !n.is_empty() && n != ".")
        .unwrap_or_else(|| "profile".into());
    let doc = serde_json::json!({
        "$schema": "https://www.speedscope.app/file-format-schema.json",
        "shared": { "frames": frames },
        "profiles": profiles,
        "name": name,
        "activeProfileIndex": profiles.len() - 1,
        "exporter": "gosleuth",
    });
    let mut s = doc.to_string();
    s.push('\n');
    s
}
