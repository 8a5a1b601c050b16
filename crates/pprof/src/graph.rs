//! The call graph pprof's reports are drawn from (`internal/graph`).

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;

use rayon::prelude::*;

use crate::fxhash::FxHashMap;
use crate::profile::Profile;

/// What identifies a node: pprof's `NodeInfo`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct NodeInfo {
    /// Function name.
    pub name: String,
    /// System (mangled) name.
    pub orig_name: String,
    /// Address (addresses granularity).
    pub address: u64,
    /// Source file.
    pub file: String,
    /// Function start line (kept when names are dropped).
    pub start_line: i64,
    /// Line number.
    pub lineno: i64,
    /// Column.
    pub columnno: i64,
    /// Binary.
    pub objfile: String,
}

impl NodeInfo {
    /// pprof's `PrintableName`.
    pub fn printable_name(&self) -> String {
        self.name_components().join(" ")
    }

    /// pprof's `NameComponents`.
    pub fn name_components(&self) -> Vec<String> {
        let mut v = Vec::new();
        if self.address != 0 {
            v.push(format!("{:016x}", self.address));
        }
        if !self.name.is_empty() {
            v.push(self.name.clone());
        }
        if self.lineno != 0 {
            let mut s = format!("{}:{}", self.file, self.lineno);
            if self.columnno != 0 {
                s.push_str(&format!(":{}", self.columnno));
            }
            v.push(s);
        } else if !self.file.is_empty() {
            v.push(self.file.clone());
        } else if !self.name.is_empty() {
        } else if !self.objfile.is_empty() {
            v.push(format!("[{}]", base_name(&self.objfile)));
        } else {
            v.push("<unknown>".to_string());
        }
        v
    }

    /// `fmt.Sprint(info)` in Go, used as the last tie breaker.
    fn go_sprint(&self) -> String {
        format!(
            "{{{} {} {} {} {} {} {} {}}}",
            self.name,
            self.orig_name,
            self.address,
            self.file,
            self.start_line,
            self.lineno,
            self.columnno,
            self.objfile
        )
    }
}

/// Go's `filepath.Base` for slash paths.
pub fn base_name(p: &str) -> &str {
    if p.is_empty() {
        return ".";
    }
    let t = p.trim_end_matches('/');
    if t.is_empty() {
        return "/";
    }
    match t.rfind('/') {
        Some(i) => &t[i + 1..],
        None => t,
    }
}

/// Go's `filepath.Clean` for slash paths.
pub fn clean_path(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let rooted = p.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if out.last().is_some_and(|l| *l != "..") {
                    out.pop();
                } else if !rooted {
                    out.push("..");
                }
            }
            x => out.push(x),
        }
    }
    let j = out.join("/");
    match (rooted, j.is_empty()) {
        (true, _) => format!("/{j}"),
        (false, true) => ".".into(),
        (false, false) => j,
    }
}

/// How a node's info is derived from a location line.
#[derive(Debug, Clone, Copy, Default)]
pub struct InfoOptions {
    /// Keep the binary name (list, disasm, raw reports).
    pub obj_names: bool,
    /// Keep system names.
    pub orig_fn_names: bool,
}

/// Every distinct node of a profile and, per location, its nodes
/// (innermost inlined frame first). pprof's `CreateNodes`.
pub struct NodeIndex {
    /// Node infos, indexed by node id (shared with graph nodes).
    pub infos: Vec<Arc<NodeInfo>>,
    /// Per location index: node ids, innermost first.
    pub loc_nodes: Vec<Vec<u32>>,
    /// Per location: its node when it has exactly one, else `u32::MAX`.
    single: Vec<u32>,
}

impl NodeIndex {
    /// Builds the index for `p`.
    pub fn new(p: &Profile, o: InfoOptions) -> Self {
        let mut map: HashMap<Arc<NodeInfo>, u32> = HashMap::new();
        let mut infos: Vec<Arc<NodeInfo>> = Vec::new();
        let mut loc_nodes = Vec::with_capacity(p.locations.len());
        for l in &p.locations {
            let objfile = l
                .mapping
                .map(|m| p.mappings[m as usize].file.as_str())
                .unwrap_or("");
            let mut ids = Vec::with_capacity(l.lines.len().max(1));
            let mut push = |info: NodeInfo| {
                let id = match map.get(&info) {
                    Some(&id) => id,
                    None => {
                        let a = Arc::new(info);
                        infos.push(a.clone());
                        let id = (infos.len() - 1) as u32;
                        map.insert(a, id);
                        id
                    }
                };
                ids.push(id);
            };
            if l.lines.is_empty() {
                push(NodeInfo {
                    address: l.address,
                    objfile: objfile.to_string(),
                    ..Default::default()
                });
            }
            for ln in &l.lines {
                let f = &p.functions[ln.function as usize];
                let mut ni = NodeInfo {
                    address: l.address,
                    lineno: ln.line,
                    columnno: ln.column,
                    name: f.name.clone(),
                    ..Default::default()
                };
                if !f.filename.is_empty() {
                    ni.file = clean_path(&f.filename);
                }
                if o.orig_fn_names {
                    ni.orig_name = f.system_name.clone();
                }
                if o.obj_names || (ni.name.is_empty() && ni.orig_name.is_empty()) {
                    ni.objfile = objfile.to_string();
                    ni.start_line = f.start_line;
                }
                push(ni);
            }
            loc_nodes.push(ids);
        }
        let single = loc_nodes
            .iter()
            .map(|v| if v.len() == 1 { v[0] } else { u32::MAX })
            .collect();
        NodeIndex {
            infos,
            loc_nodes,
            single,
        }
    }
}

/// A graph edge.
#[derive(Debug, Clone)]
pub struct Edge {
    /// Caller node (index into [`Graph::nodes`]).
    pub src: usize,
    /// Callee node.
    pub dst: usize,
    /// Weight.
    pub weight: i64,
    /// Divisor for mean reports.
    pub weight_div: i64,
    /// Nodes were dropped between src and dst.
    pub residual: bool,
    /// The call was inlined.
    pub inline: bool,
}

/// A graph node.
#[derive(Debug, Clone)]
pub struct Node {
    /// Identity.
    pub info: Arc<NodeInfo>,
    /// Id in the [`NodeIndex`].
    pub id: u32,
    /// Self value.
    pub flat: i64,
    /// Self divisor.
    pub flat_div: i64,
    /// Cumulative value.
    pub cum: i64,
    /// Cumulative divisor.
    pub cum_div: i64,
    /// Incoming edges (indices into [`Graph::edges`]).
    pub in_edges: Vec<usize>,
    /// Outgoing edges.
    pub out_edges: Vec<usize>,
}

impl Node {
    /// Flat value (divided for mean reports).
    pub fn flat_value(&self) -> i64 {
        if self.flat_div == 0 {
            self.flat
        } else {
            self.flat.wrapping_div(self.flat_div)
        }
    }
    /// Cumulative value (divided for mean reports).
    pub fn cum_value(&self) -> i64 {
        if self.cum_div == 0 {
            self.cum
        } else {
            self.cum.wrapping_div(self.cum_div)
        }
    }
}

/// A call graph.
#[derive(Debug, Clone, Default)]
pub struct Graph {
    /// Nodes.
    pub nodes: Vec<Node>,
    /// Edges (trimmed ones stay here but are not listed in nodes).
    pub edges: Vec<Edge>,
    /// Edges dropped at construction for being below the edge cutoff.
    pub dropped_edges: usize,
}

/// How sample values are read.
#[derive(Clone, Copy)]
pub struct ValueSel {
    /// Index of the value.
    pub index: usize,
    /// Index of the divisor (mean reports).
    pub mean_div: Option<usize>,
}

#[derive(Clone, Copy, Default)]
struct Slot {
    cum: i64,
    flat: i64,
    seen: u32,
    dropped: bool,
}

/// One accumulated edge, stored in its source node's list.
#[derive(Clone, Copy)]
struct EdgeAcc {
    dst: u32,
    residual: bool,
    inline: bool,
    w: i64,
    dw: i64,
}

/// Edges as per-source lists (compact; out-degrees are small), with a hash
/// index only for sources whose list grows long.
#[derive(Default)]
struct EdgeStore {
    adj: Vec<Vec<EdgeAcc>>,
    big: FxHashMap<u64, u32>,
}

const SMALL_OUT_DEGREE: usize = 12;

impl EdgeStore {
    fn with_nodes(n: usize) -> Self {
        EdgeStore {
            adj: vec![Vec::new(); n],
            big: FxHashMap::default(),
        }
    }

    #[inline]
    fn add(&mut self, src: u32, e: EdgeAcc) {
        let EdgeStore { adj, big } = self;
        let list = &mut adj[src as usize];
        let key = (u64::from(src) << 32) | u64::from(e.dst);
        let pos = if list.len() <= SMALL_OUT_DEGREE {
            list.iter().position(|x| x.dst == e.dst)
        } else {
            big.get(&key).map(|&p| p as usize)
        };
        match pos {
            Some(i) => {
                let x = &mut list[i];
                x.w = x.w.wrapping_add(e.w);
                x.dw = x.dw.wrapping_add(e.dw);
                x.residual |= e.residual;
                x.inline &= e.inline;
            }
            None => {
                list.push(e);
                let len = list.len();
                if len == SMALL_OUT_DEGREE + 1 {
                    for (i, x) in list.iter().enumerate() {
                        big.insert((u64::from(src) << 32) | u64::from(x.dst), i as u32);
                    }
                } else if len > SMALL_OUT_DEGREE + 1 {
                    big.insert(key, (len - 1) as u32);
                }
            }
        }
    }
}

struct Acc {
    slots: Vec<Slot>,
    // (cum_div, flat_div) per node, only for mean reports.
    divs: Vec<(i64, i64)>,
    edges: EdgeStore,
    stamp: u32,
    seen_edges: Vec<u64>,
}

impl Acc {
    fn new(n: usize, kept: Option<&[bool]>, mean: bool, with_edges: bool) -> Self {
        let mut slots = vec![Slot::default(); n];
        if let Some(k) = kept {
            for (s, &k) in slots.iter_mut().zip(k) {
                s.dropped = !k;
            }
        }
        let divs = if mean { vec![(0, 0); n] } else { Vec::new() };
        Acc {
            slots,
            divs,
            edges: if with_edges {
                EdgeStore::with_nodes(n)
            } else {
                EdgeStore::default()
            },
            stamp: 0,
            seen_edges: Vec::new(),
        }
    }
    fn merge(mut self, o: Acc) -> Acc {
        for (a, b) in self.slots.iter_mut().zip(&o.slots) {
            a.flat = a.flat.wrapping_add(b.flat);
            a.cum = a.cum.wrapping_add(b.cum);
        }
        for (a, b) in self.divs.iter_mut().zip(&o.divs) {
            a.0 = a.0.wrapping_add(b.0);
            a.1 = a.1.wrapping_add(b.1);
        }
        if self.edges.adj.is_empty() {
            self.edges = o.edges;
        } else {
            for (src, list) in o.edges.adj.into_iter().enumerate() {
                for e in list {
                    self.edges.add(src as u32, e);
                }
            }
        }
        self
    }

    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn visit(
        &mut self,
        node: u32,
        parent: Option<u32>,
        w: i64,
        dw: i64,
        residual: bool,
        inline: bool,
        with_edges: bool,
    ) {
        let slot = &mut self.slots[node as usize];
        let new_node = slot.seen != self.stamp;
        if new_node {
            slot.seen = self.stamp;
            slot.cum = slot.cum.wrapping_add(w);
            if dw != 0 {
                self.divs[node as usize].0 = self.divs[node as usize].0.wrapping_add(dw);
            }
        }
        if let (true, Some(par)) = (with_edges, parent) {
            if par != node {
                let key = (u64::from(par) << 32) | u64::from(node);
                // An edge can only repeat within a sample if its callee was seen already.
                if new_node || !self.seen_edges.contains(&key) {
                    self.seen_edges.push(key);
                    self.edges.add(
                        par,
                        EdgeAcc {
                            dst: node,
                            residual,
                            inline,
                            w,
                            dw,
                        },
                    );
                }
            }
        }
    }
}

/// Builds the graph of `p` (pprof's `newGraph`). When `kept` is given,
/// only node ids marked true take part; dropped frames make edges residual.
/// Edges are collected only when `with_edges`.
pub fn build(
    p: &Profile,
    idx: &NodeIndex,
    sel: ValueSel,
    kept: Option<&[bool]>,
    drop_negative: bool,
    with_edges: bool,
    edge_cutoff: i64,
) -> Graph {
    let n = idx.infos.len();
    let nsamples = p.samples.len();
    let chunk = nsamples.div_ceil(rayon::current_num_threads()).max(4096);
    let acc = (0..nsamples.div_ceil(chunk))
        .into_par_iter()
        .fold(
            || Acc::new(n, kept, sel.mean_div.is_some(), with_edges),
            |mut acc, c| {
                for s in p.samples.iter_range(c * chunk..(c + 1) * chunk) {
                    let w = s.values[sel.index];
                    let dw = sel.mean_div.map_or(0, |i| s.values[i]);
                    if w == 0 && dw == 0 {
                        continue;
                    }
                    acc.stamp = acc.stamp.wrapping_add(1);
                    if acc.stamp == 0 {
                        acc.slots.iter_mut().for_each(|x| x.seen = u32::MAX);
                        acc.stamp = 1;
                    }
                    acc.seen_edges.clear();
                    let mut parent: Option<u32> = None;
                    let mut residual = false;
                    for li in s.locations.iter().rev() {
                        let one = idx.single[li as usize];
                        if one != u32::MAX {
                            if acc.slots[one as usize].dropped {
                                residual = true;
                                continue;
                            }
                            acc.visit(one, parent, w, dw, residual, false, with_edges);
                            parent = Some(one);
                            residual = false;
                            continue;
                        }
                        let nodes = &idx.loc_nodes[li as usize];
                        let last = nodes.len().wrapping_sub(1);
                        for (ni, &node) in nodes.iter().enumerate().rev() {
                            if acc.slots[node as usize].dropped {
                                residual = true;
                                continue;
                            }
                            acc.visit(node, parent, w, dw, residual, ni != last, with_edges);
                            parent = Some(node);
                            residual = false;
                        }
                    }
                    if let Some(par) = parent {
                        if !residual {
                            let f = &mut acc.slots[par as usize].flat;
                            *f = f.wrapping_add(w);
                            if dw != 0 {
                                let d = &mut acc.divs[par as usize].1;
                                *d = d.wrapping_add(dw);
                            }
                        }
                    }
                }
                acc
            },
        )
        .reduce(
            || Acc::new(n, kept, sel.mean_div.is_some(), false),
            Acc::merge,
        );

    // Select nodes with values.
    let mut pos = vec![usize::MAX; n];
    let mut g = Graph::default();
    for id in 0..n {
        let sl = acc.slots[id];
        if sl.cum == 0 && sl.flat == 0 {
            continue;
        }
        if drop_negative && (sl.flat < 0 || (sl.flat == 0 && sl.cum < 0)) {
            continue;
        }
        if kept.is_some_and(|k| !k[id]) {
            continue;
        }
        pos[id] = g.nodes.len();
        g.nodes.push(Node {
            info: idx.infos[id].clone(),
            id: id as u32,
            flat: sl.flat,
            flat_div: acc.divs.get(id).map_or(0, |d| d.1),
            cum: sl.cum,
            cum_div: acc.divs.get(id).map_or(0, |d| d.0),
            in_edges: Vec::new(),
            out_edges: Vec::new(),
        });
    }
    // Edges below the cutoff are dropped here rather than built and trimmed
    // (pprof's TrimLowFrequencyEdges), which keeps big graphs small.
    let mut dropped = 0usize;
    for (src, mut list) in acc.edges.adj.into_iter().enumerate() {
        list.sort_unstable_by_key(|e| e.dst);
        for e in list {
            let (s, d) = (pos[src], pos[e.dst as usize]);
            if s == usize::MAX || d == usize::MAX {
                continue;
            }
            if e.w.wrapping_abs() < edge_cutoff {
                dropped += 1;
                continue;
            }
            let (w, dw, residual, inline) = (e.w, e.dw, e.residual, e.inline);
            let ei = g.edges.len();
            g.edges.push(Edge {
                src: s,
                dst: d,
                weight: w,
                weight_div: dw,
                residual,
                inline,
            });
            g.nodes[s].out_edges.push(ei);
            g.nodes[d].in_edges.push(ei);
        }
    }
    g.dropped_edges = dropped;
    g
}

/// Node orders (pprof's `NodeOrder`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// By |flat|, name, |cum|.
    Flat,
    /// By |cum|, name, |flat|.
    Cum,
}

fn compare_printable(a: &NodeInfo, an: &str, b: &NodeInfo, bn: &str) -> Option<Ordering> {
    if a == b {
        return None;
    }
    if a.address != 0 && b.address != 0 && a.address != b.address {
        return Some(a.address.cmp(&b.address));
    }
    Some(an.cmp(bn))
}

/// Sorts nodes like pprof's `Nodes.Sort`. Edge indices are remapped.
pub fn sort_nodes(g: &mut Graph, order: Order) {
    let names: Vec<String> = g.nodes.iter().map(|n| n.info.printable_name()).collect();
    let sprints: Vec<String> = g.nodes.iter().map(|n| n.info.go_sprint()).collect();
    let mut perm: Vec<usize> = (0..g.nodes.len()).collect();
    perm.sort_by(|&i, &j| {
        let (a, b) = (&g.nodes[i], &g.nodes[j]);
        let (k1a, k1b, k2a, k2b) = match order {
            Order::Flat => (
                a.flat.wrapping_abs(),
                b.flat.wrapping_abs(),
                a.cum.wrapping_abs(),
                b.cum.wrapping_abs(),
            ),
            Order::Cum => (
                a.cum.wrapping_abs(),
                b.cum.wrapping_abs(),
                a.flat.wrapping_abs(),
                b.flat.wrapping_abs(),
            ),
        };
        k1b.cmp(&k1a)
            .then_with(|| {
                compare_printable(&a.info, &names[i], &b.info, &names[j]).unwrap_or(Ordering::Equal)
            })
            .then_with(|| k2b.cmp(&k2a))
            .then_with(|| sprints[i].cmp(&sprints[j]))
    });
    reorder(g, &perm);
}

/// Keeps nodes in the order of `perm` (old indices); drops the rest and their edges.
pub fn reorder(g: &mut Graph, perm: &[usize]) {
    let mut newpos = vec![usize::MAX; g.nodes.len()];
    for (new, &old) in perm.iter().enumerate() {
        newpos[old] = new;
    }
    let old_nodes = std::mem::take(&mut g.nodes);
    let mut slots: Vec<Option<Node>> = old_nodes.into_iter().map(Some).collect();
    for &old in perm {
        if let Some(n) = slots[old].take() {
            g.nodes.push(n);
        }
    }
    for e in &mut g.edges {
        e.src = newpos[e.src];
        e.dst = newpos[e.dst];
    }
    let edges = &g.edges;
    for n in &mut g.nodes {
        n.in_edges
            .retain(|&e| edges[e].src != usize::MAX && edges[e].dst != usize::MAX);
        n.out_edges
            .retain(|&e| edges[e].src != usize::MAX && edges[e].dst != usize::MAX);
    }
}

/// Removes edges whose |weight| is below `cutoff`; returns how many.
pub fn trim_low_frequency_edges(g: &mut Graph, cutoff: i64) -> usize {
    let mut dropped = 0;
    let edges = &g.edges;
    let mut remove = vec![false; edges.len()];
    for n in &g.nodes {
        for &e in &n.in_edges {
            if edges[e].weight.wrapping_abs() < cutoff {
                remove[e] = true;
                dropped += 1;
            }
        }
    }
    if dropped > 0 {
        for n in &mut g.nodes {
            n.in_edges.retain(|&e| !remove[e]);
            n.out_edges.retain(|&e| !remove[e]);
        }
    }
    dropped
}

/// Sorts edge indices like pprof's `EdgeMap.Sort`.
pub fn sort_edges(g: &Graph, edges: &[usize]) -> Vec<usize> {
    let mut v = edges.to_vec();
    let name = |i: usize| g.nodes[i].info.printable_name();
    v.sort_by(|&a, &b| {
        let (ea, eb) = (&g.edges[a], &g.edges[b]);
        if ea.weight != eb.weight {
            return eb.weight.wrapping_abs().cmp(&ea.weight.wrapping_abs());
        }
        name(ea.src)
            .cmp(&name(eb.src))
            .then_with(|| name(ea.dst).cmp(&name(eb.dst)))
    });
    v
}
