//! The graph as text and JSON, for people and scripts (the DOT and SVG
//! renderers are [`crate::dot`] and [`crate::svg`]).

use std::collections::HashMap;
use std::fmt::Write;

use serde_json::{Value, json};

use crate::select::{Graph, Kind};

/// The graph as text: a summary line, the import cycles, then each
/// package (with its size when `sizes` has it) and what it imports.
pub fn text(g: &Graph, sizes: Option<&HashMap<String, u64>>) -> String {
    let mut o = String::new();
    let std = g.nodes.iter().filter(|n| n.kind == Kind::Standard).count();
    let _ = writeln!(
        o,
        "{} packages ({} of the standard library), {} imports",
        g.nodes.len(),
        std,
        g.edges.len()
    );
    for (stack, err) in &g.cycles {
        let _ = writeln!(o, "{err}: {}", stack.join(" -> "));
    }
    for (i, n) in g.nodes.iter().enumerate() {
        let size = sizes
            .and_then(|s| s.get(&n.path))
            .map(|&b| format!("  [{}]", crate::human(b)))
            .unwrap_or_default();
        let imports: Vec<&str> = g
            .edges
            .iter()
            .filter(|e| e.from == i)
            .map(|e| g.nodes[e.to].path.as_str())
            .collect();
        let _ = writeln!(o, "\n{}{size}", n.path);
        if let Some(e) = &n.error {
            let _ = writeln!(o, "  error: {e}");
        }
        for imp in imports {
            let _ = writeln!(o, "  -> {imp}");
        }
    }
    o
}

/// The graph as one JSON document: packages (kind, level, error, size),
/// imports as `[from, to]` pairs, and cycles.
pub fn json(g: &Graph, sizes: Option<&HashMap<String, u64>>) -> Value {
    json!({
        "packages": g.nodes.iter().map(|n| json!({
            "path": n.path,
            "kind": format!("{:?}", n.kind).to_lowercase(),
            "level": n.level,
            "error": n.error,
            "size": sizes.and_then(|s| s.get(&n.path)),
        })).collect::<Vec<_>>(),
        "imports": g.edges.iter().map(|e| json!([g.nodes[e.from].path, g.nodes[e.to].path])).collect::<Vec<_>>(),
        "cycles": g.cycles.iter().map(|(stack, err)| json!({"stack": stack, "error": err})).collect::<Vec<_>>(),
    })
}
