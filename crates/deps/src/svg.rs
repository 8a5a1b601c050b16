//! The graph drawn as SVG, laid out by [`crate::layout`]: no Graphviz.

use std::collections::HashMap;
use std::fmt::Write;

use crate::layout::layered;
use crate::select::{Graph, Kind};

const FONT: f64 = 12.0;
/// Width of a character of the 12px sans-serif font, on average.
const CHAR: f64 = 7.0;
const PAD: f64 = 10.0;
const LINE: f64 = 16.0;

/// `1.5 KiB`, `23.4 MiB`, `512 B`.
pub fn human(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    format!("{v:.1} {}", UNITS[u])
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Graphviz's `darkgoldenrod1` is not an SVG colour name.
fn fill(kind: Kind) -> &'static str {
    match kind {
        Kind::Cgo => "#ffb90f",
        k => k.color(),
    }
}

/// The graph as a standalone SVG document; `sizes` (package -> bytes)
/// adds a line to each box. Edges of an import cycle are red.
pub fn svg(g: &Graph, horizontal: bool, sizes: Option<&HashMap<String, u64>>) -> String {
    let labels: Vec<Vec<String>> = g
        .nodes
        .iter()
        .map(|n| {
            let mut l = vec![n.path.clone()];
            if let Some(&b) = sizes.and_then(|s| s.get(&n.path)) {
                l.push(human(b));
            }
            l
        })
        .collect();
    let boxes: Vec<(f64, f64)> = labels
        .iter()
        .map(|l| {
            let chars = l.iter().map(|s| s.chars().count()).max().unwrap_or(0);
            (chars as f64 * CHAR + 2.0 * PAD, l.len() as f64 * LINE + PAD)
        })
        .collect();
    let edges: Vec<(usize, usize)> = g.edges.iter().map(|e| (e.from, e.to)).collect();
    let layout = layered(&boxes, &edges, horizontal);
    // Edges between packages of a reported cycle.
    let cyclic: std::collections::HashSet<(&str, &str)> = g
        .cycles
        .iter()
        .flat_map(|(stack, _)| stack.windows(2).map(|w| (w[0].as_str(), w[1].as_str())))
        .collect();
    let mut o = String::new();
    let _ = writeln!(
        o,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0}" height="{h:.0}" viewBox="0 0 {w:.0} {h:.0}" font-family="sans-serif" font-size="{FONT}">"#,
        w = layout.width,
        h = layout.height
    );
    o.push_str(r##"<defs><marker id="arrow" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="6" markerHeight="6" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#555"/></marker><marker id="arrow-cycle" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="6" markerHeight="6" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#d00"/></marker></defs>"##);
    o.push('\n');
    o.push_str("<g class=\"edges\">\n");
    for (k, e) in g.edges.iter().enumerate() {
        let pts = &layout.edges[k];
        if pts.len() < 2 {
            continue;
        }
        let (a, b) = (&g.nodes[e.from].path, &g.nodes[e.to].path);
        let cycle = cyclic.contains(&(a.as_str(), b.as_str()));
        let mut d = String::new();
        for (i, (x, y)) in pts.iter().enumerate() {
            let _ = write!(d, "{}{x:.1},{y:.1}", if i == 0 { "M" } else { " L" });
        }
        let (stroke, marker) = if cycle {
            ("#d00", "arrow-cycle")
        } else {
            ("#555", "arrow")
        };
        let _ = writeln!(
            o,
            r#"<path class="edge{}" d="{d}" fill="none" stroke="{stroke}" stroke-width="1" marker-end="url(#{marker})"><title>{} imports {}</title></path>"#,
            if cycle { " cycle" } else { "" },
            escape(a),
            escape(b)
        );
    }
    o.push_str("</g>\n<g class=\"nodes\">\n");
    for (i, n) in g.nodes.iter().enumerate() {
        let (cx, cy) = layout.nodes[i];
        let (w, h) = boxes[i];
        let mut title = n.path.clone();
        if let Some(e) = &n.error {
            title.push_str(": ");
            title.push_str(e);
        }
        let _ = write!(
            o,
            r##"<g class="node"><title>{}</title><rect x="{:.1}" y="{:.1}" width="{w:.1}" height="{h:.1}" rx="6" fill="{}" stroke="#333"/>"##,
            escape(&title),
            cx - w / 2.0,
            cy - h / 2.0,
            fill(n.kind)
        );
        let top = cy - h / 2.0 + PAD / 2.0 + LINE * 0.75;
        for (k, line) in labels[i].iter().enumerate() {
            let _ = write!(
                o,
                r#"<text x="{cx:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                top + k as f64 * LINE,
                escape(line)
            );
        }
        o.push_str("</g>\n");
    }
    o.push_str("</g>\n</svg>\n");
    o
}
