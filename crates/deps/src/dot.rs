//! godepgraph's DOT, so that `dot -Tsvg` and other readers of its output
//! keep working on ours.

use std::collections::HashMap;
use std::fmt::Write;

use crate::select::Graph;

/// Quotes a DOT string.
fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The graph in godepgraph's layout of DOT (`horizontal`: `-horizontal`);
/// `sizes` (package -> bytes in a binary) adds a line to each label.
pub fn dot(g: &Graph, horizontal: bool, sizes: Option<&HashMap<String, u64>>) -> String {
    let mut o = String::from("digraph godep {\n");
    if horizontal {
        o.push_str("rankdir=\"LR\"\n");
    }
    o.push_str(
        "splines=ortho\nnodesep=0.4\nranksep=0.8\nnode [shape=\"box\",style=\"rounded,filled\"]\nedge [arrowsize=\"0.5\"]\n",
    );
    for (i, n) in g.nodes.iter().enumerate() {
        let label = match sizes.and_then(|s| s.get(&n.path)) {
            Some(&b) => format!("{}\\n{}", n.path, crate::svg::human(b)),
            None => n.path.clone(),
        };
        let _ = writeln!(
            o,
            "{} [label={} color=\"{}\" URL=\"https://godoc.org/{}\" target=\"_blank\"];",
            quote(&n.path),
            quote(&label).replace("\\\\n", "\\n"),
            n.kind.color(),
            n.path
        );
        for e in g.edges.iter().filter(|e| e.from == i) {
            let _ = writeln!(o, "{} -> {};", quote(&n.path), quote(&g.nodes[e.to].path));
        }
    }
    for (stack, err) in &g.cycles {
        let _ = writeln!(o, "// {err}: {}", stack.join(" -> "));
    }
    o.push_str("}\n");
    o
}
