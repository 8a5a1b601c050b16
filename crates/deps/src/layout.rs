//! A layered drawing of a directed graph (Sugiyama's method, as dot
//! draws): cycles broken by turning back edges around, nodes ranked by
//! their longest path from a source, long edges split by virtual nodes,
//! rows ordered by barycentres to cut crossings, nodes pulled towards
//! their neighbours, edges drawn through their virtual nodes.
//!
//! Pure geometry: sizes in, coordinates out. Linear in nodes and edges
//! per sweep, with a fixed number of sweeps.

use std::collections::VecDeque;

/// Gap between two nodes of a row, and between two rows.
const NODE_GAP: f64 = 16.0;
const RANK_GAP: f64 = 48.0;
const MARGIN: f64 = 8.0;
/// Crossing-reduction sweeps (down and up each) and straightening passes.
const SWEEPS: usize = 8;
const PULLS: usize = 8;

/// Where everything goes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Layout {
    pub width: f64,
    pub height: f64,
    /// The centre of each node.
    pub nodes: Vec<(f64, f64)>,
    /// The points of each edge, from its source's border to its target's.
    pub edges: Vec<Vec<(f64, f64)>>,
    /// Edges turned around to break a cycle (drawn in their own
    /// direction, against the flow).
    pub back: Vec<bool>,
}

/// One item of a row: a node or a virtual node of a long edge.
#[derive(Debug, Clone, Copy)]
struct Item {
    /// Size across the rows (width when rows are horizontal).
    across: f64,
    rank: usize,
    pos: f64,
}

/// Lays out `sizes.len()` nodes of the given (width, height) and
/// `edges`; rows run across the page, sources on top (`horizontal`:
/// sources on the left).
pub fn layered(sizes: &[(f64, f64)], edges: &[(usize, usize)], horizontal: bool) -> Layout {
    let n = sizes.len();
    let (across, along): (Vec<f64>, Vec<f64>) = sizes
        .iter()
        .map(|&(w, h)| if horizontal { (h, w) } else { (w, h) })
        .unzip();
    // Edges out of range or to themselves are not drawn.
    let valid: Vec<bool> = edges
        .iter()
        .map(|&(a, b)| a < n && b < n && a != b)
        .collect();
    let back = back_edges(n, edges, &valid);
    let dag: Vec<(usize, usize)> = edges
        .iter()
        .zip(&back)
        .map(|(&(a, b), &r)| if r { (b, a) } else { (a, b) })
        .collect();
    let rank = ranks(n, &dag, &valid);
    // Items: the nodes, then virtual nodes; chains of items per edge.
    let mut items: Vec<Item> = (0..n)
        .map(|i| Item {
            across: across[i],
            rank: rank[i],
            pos: 0.0,
        })
        .collect();
    let mut chains: Vec<Vec<usize>> = Vec::with_capacity(edges.len());
    for (k, &(a, b)) in dag.iter().enumerate() {
        if !valid[k] {
            chains.push(Vec::new());
            continue;
        }
        let mut chain = vec![a];
        for r in rank[a] + 1..rank[b] {
            items.push(Item {
                across: 0.0,
                rank: r,
                pos: 0.0,
            });
            chain.push(items.len() - 1);
        }
        chain.push(b);
        chains.push(chain);
    }
    let nranks = items.iter().map(|i| i.rank + 1).max().unwrap_or(0);
    // Neighbours one rank up and down.
    let mut up: Vec<Vec<usize>> = vec![Vec::new(); items.len()];
    let mut down: Vec<Vec<usize>> = vec![Vec::new(); items.len()];
    for chain in &chains {
        for w in chain.windows(2) {
            down[w[0]].push(w[1]);
            up[w[1]].push(w[0]);
        }
    }
    // Rows, first in the order items were made.
    let mut rows: Vec<Vec<usize>> = vec![Vec::new(); nranks];
    for (i, it) in items.iter().enumerate() {
        rows[it.rank].push(i);
    }
    let mut order = vec![0usize; items.len()];
    let renumber = |rows: &[Vec<usize>], order: &mut [usize]| {
        for row in rows {
            for (k, &i) in row.iter().enumerate() {
                order[i] = k;
            }
        }
    };
    renumber(&rows, &mut order);
    for _ in 0..SWEEPS {
        for r in 1..nranks {
            sort_by_barycentre(&mut rows[r], &up, &order);
            renumber(&rows, &mut order);
        }
        for r in (0..nranks.saturating_sub(1)).rev() {
            sort_by_barycentre(&mut rows[r], &down, &order);
            renumber(&rows, &mut order);
        }
    }
    // Positions across: packed, then pulled towards neighbours.
    for row in &rows {
        pack(row, &mut items, None);
    }
    for pass in 0..PULLS {
        let ranks: Vec<usize> = if pass % 2 == 0 {
            (0..nranks).collect()
        } else {
            (0..nranks).rev().collect()
        };
        for r in ranks {
            let want: Vec<f64> = rows[r]
                .iter()
                .map(|&i| {
                    let nb: Vec<usize> = if pass % 2 == 0 {
                        up[i].clone()
                    } else {
                        down[i].clone()
                    };
                    let nb = if nb.is_empty() {
                        up[i].iter().chain(&down[i]).copied().collect()
                    } else {
                        nb
                    };
                    if nb.is_empty() {
                        items[i].pos
                    } else {
                        nb.iter().map(|&j| items[j].pos).sum::<f64>() / nb.len() as f64
                    }
                })
                .collect();
            pack(&rows[r], &mut items, Some(&want));
        }
    }
    // Shift so that the leftmost edge is at the margin.
    let min = items
        .iter()
        .map(|i| i.pos - i.across / 2.0)
        .fold(f64::INFINITY, f64::min);
    let shift = if min.is_finite() { MARGIN - min } else { 0.0 };
    for it in &mut items {
        it.pos += shift;
    }
    let extent_across = items
        .iter()
        .map(|i| i.pos + i.across / 2.0)
        .fold(0.0, f64::max)
        + MARGIN;
    // Rows along: each as deep as its deepest node.
    let mut depth = vec![0.0f64; nranks];
    for i in 0..n {
        depth[rank[i]] = depth[rank[i]].max(along[i]);
    }
    let mut start = vec![MARGIN; nranks];
    for r in 1..nranks {
        start[r] = start[r - 1] + depth[r - 1] + RANK_GAP;
    }
    let extent_along = start
        .last()
        .zip(depth.last())
        .map_or(2.0 * MARGIN, |(s, d)| s + d + MARGIN);
    let centre = |i: usize| -> (f64, f64) {
        let it = &items[i];
        (it.pos, start[it.rank] + depth[it.rank] / 2.0)
    };
    let flip = |(a, b): (f64, f64)| if horizontal { (b, a) } else { (a, b) };
    let nodes: Vec<(f64, f64)> = (0..n).map(|i| flip(centre(i))).collect();
    let mut lines = Vec::with_capacity(edges.len());
    for (k, chain) in chains.iter().enumerate() {
        if chain.is_empty() {
            lines.push(Vec::new());
            continue;
        }
        let mut pts = Vec::with_capacity(chain.len() + 2);
        let (first, last) = (chain[0], chain[chain.len() - 1]);
        let (x, y) = centre(first);
        pts.push((x, y + along[first] / 2.0));
        for &v in &chain[1..chain.len() - 1] {
            let (x, y) = centre(v);
            pts.push((x, y));
        }
        let (x, y) = centre(last);
        pts.push((x, y - along[last] / 2.0));
        if back[k] {
            pts.reverse();
        }
        lines.push(pts.into_iter().map(flip).collect());
    }
    let (width, height) = flip((extent_across, extent_along));
    Layout {
        width,
        height,
        nodes,
        edges: lines,
        back,
    }
}

/// Edges that close a cycle in a depth-first walk (from the nodes in
/// index order): turned around, they leave a DAG.
fn back_edges(n: usize, edges: &[(usize, usize)], valid: &[bool]) -> Vec<bool> {
    let mut out: Vec<Vec<(usize, usize)>> = vec![Vec::new(); n];
    for (k, &(a, b)) in edges.iter().enumerate() {
        if valid[k] {
            out[a].push((b, k));
        }
    }
    let mut back = vec![false; edges.len()];
    // 0: unseen, 1: on the path, 2: done.
    let mut state = vec![0u8; n];
    for s in 0..n {
        if state[s] != 0 {
            continue;
        }
        let mut stack = vec![(s, 0usize)];
        state[s] = 1;
        while let Some(&mut (v, ref mut next)) = stack.last_mut() {
            if let Some(&(w, k)) = out[v].get(*next) {
                *next += 1;
                match state[w] {
                    0 => {
                        state[w] = 1;
                        stack.push((w, 0));
                    }
                    1 => back[k] = true,
                    _ => {}
                }
            } else {
                state[v] = 2;
                stack.pop();
            }
        }
    }
    back
}

/// Each node's rank: the longest path to it from a source.
fn ranks(n: usize, dag: &[(usize, usize)], valid: &[bool]) -> Vec<usize> {
    let mut indeg = vec![0usize; n];
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (k, &(a, b)) in dag.iter().enumerate() {
        if valid[k] {
            out[a].push(b);
            indeg[b] += 1;
        }
    }
    let mut rank = vec![0usize; n];
    let mut queue: VecDeque<usize> = (0..n).filter(|&v| indeg[v] == 0).collect();
    while let Some(v) = queue.pop_front() {
        for &w in &out[v] {
            rank[w] = rank[w].max(rank[v] + 1);
            indeg[w] -= 1;
            if indeg[w] == 0 {
                queue.push_back(w);
            }
        }
    }
    rank
}

/// Orders a row by the mean position of each item's neighbours in the
/// row before (items without any keep their place).
fn sort_by_barycentre(row: &mut [usize], nb: &[Vec<usize>], order: &[usize]) {
    let mut keyed: Vec<(f64, usize, usize)> = row
        .iter()
        .enumerate()
        .map(|(k, &i)| {
            let b = if nb[i].is_empty() {
                order[i] as f64
            } else {
                nb[i].iter().map(|&j| order[j] as f64).sum::<f64>() / nb[i].len() as f64
            };
            (b, k, i)
        })
        .collect();
    keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    for (slot, (_, _, i)) in row.iter_mut().zip(keyed) {
        *slot = i;
    }
}

/// Places a row's items in order, each at least a gap from the one
/// before: at `want` where possible (then pushed apart evenly from both
/// sides), or packed from 0.
fn pack(row: &[usize], items: &mut [Item], want: Option<&[f64]>) {
    let gap = |a: &Item, b: &Item| a.across / 2.0 + NODE_GAP + b.across / 2.0;
    match want {
        None => {
            let mut x = 0.0;
            for (k, &i) in row.iter().enumerate() {
                if k > 0 {
                    x += gap(&items[row[k - 1]], &items[i]);
                }
                items[i].pos = x;
            }
        }
        Some(want) => {
            // Left to right, then right to left, keeping the gaps; the
            // average of the two keeps the row centred on its wishes.
            let m = row.len();
            let mut l = vec![0.0; m];
            let mut r = vec![0.0; m];
            for k in 0..m {
                l[k] = if k == 0 {
                    want[0]
                } else {
                    want[k].max(l[k - 1] + gap(&items[row[k - 1]], &items[row[k]]))
                };
            }
            for k in (0..m).rev() {
                r[k] = if k + 1 == m {
                    want[k]
                } else {
                    want[k].min(r[k + 1] - gap(&items[row[k]], &items[row[k + 1]]))
                };
            }
            let mut prev: Option<f64> = None;
            for k in 0..m {
                let mut x = (l[k] + r[k]) / 2.0;
                if let Some(p) = prev {
                    x = x.max(p + gap(&items[row[k - 1]], &items[row[k]]));
                }
                items[row[k]].pos = x;
                prev = Some(x);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::layered;

    /// No two nodes overlap; every edge starts and ends at its nodes;
    /// a chain goes down.
    #[test]
    fn nodes_apart_and_edges_attached() {
        let sizes = vec![(80.0, 24.0); 6];
        let edges = [
            (0, 1),
            (0, 2),
            (1, 3),
            (2, 3),
            (0, 3),
            (3, 4),
            (4, 1),
            (5, 5),
        ];
        let l = layered(&sizes, &edges, false);
        for i in 0..6 {
            for j in i + 1..6 {
                let (a, b) = (l.nodes[i], l.nodes[j]);
                assert!(
                    (a.0 - b.0).abs() >= 80.0 || (a.1 - b.1).abs() >= 24.0,
                    "{i} and {j} overlap: {a:?} {b:?}"
                );
            }
        }
        assert!(l.nodes[0].1 < l.nodes[2].1 && l.nodes[2].1 < l.nodes[3].1);
        // The cycle 1 -> 3 -> 4 -> 1 has one edge turned around.
        assert_eq!(l.back.iter().filter(|&&b| b).count(), 1);
        assert!(l.edges[7].is_empty());
        for (k, &(a, b)) in edges.iter().enumerate().take(7) {
            let pts = &l.edges[k];
            let (s, t) = (pts[0], pts[pts.len() - 1]);
            assert!(
                (s.0 - l.nodes[a].0).abs() < 1e-9 && (s.1 - l.nodes[a].1).abs() <= 12.0 + 1e-9,
                "{k}"
            );
            assert!(
                (t.0 - l.nodes[b].0).abs() < 1e-9 && (t.1 - l.nodes[b].1).abs() <= 12.0 + 1e-9,
                "{k}"
            );
        }
        assert!(l.width > 0.0 && l.height > 0.0);
        let h = layered(&sizes, &edges, true);
        assert!(h.nodes[0].0 < h.nodes[3].0);
    }
}
