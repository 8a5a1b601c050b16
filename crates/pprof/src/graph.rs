//! The call graph pprof's reports are drawn from (`internal/graph`).

use std::cmp::Ordering;
use std::sync::Arc;

use rayon::prelude::*;

use crate::fxhash::FxHashMap;
use crate::profile::{Profile, Stack};

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
    /// The node ids of every location, innermost first, one after another
    /// (see [`NodeIndex::loc_nodes`]).
    ids: Vec<u32>,
    /// Where each location's ids end in `ids`.
    ends: Vec<usize>,
    /// Per node: it is an inlined frame (not the outermost line) of some
    /// location, so an edge into it may be an inline call.
    inlined: Vec<bool>,
}

impl NodeIndex {
    /// Builds the index for `p`.
    pub fn new(p: &Profile, o: InfoOptions) -> Self {
        let mut map: FxHashMap<Arc<NodeInfo>, u32> = FxHashMap::default();
        // Node ids by what a node's info is made of (function, line,
        // column, address, mapping): most lines repeat one (every line of
        // a function is one node at function granularity), and this spares
        // building and hashing their infos' strings again.
        let mut memo: FxHashMap<(u32, i64, i64, u64, u32), u32> = FxHashMap::default();
        let mut infos: Vec<Arc<NodeInfo>> = Vec::new();
        let mut all_ids: Vec<u32> = Vec::with_capacity(p.locations.len());
        let mut ends: Vec<usize> = Vec::with_capacity(p.locations.len());
        for l in &p.locations {
            let objfile = l
                .mapping
                .map(|m| p.mappings[m as usize].file.as_str())
                .unwrap_or("");
            let mapping = l.mapping.unwrap_or(u32::MAX);
            let ids = &mut all_ids;
            let mut push = |key: (u32, i64, i64, u64, u32), info: &dyn Fn() -> NodeInfo| {
                let id = match memo.get(&key) {
                    Some(&id) => id,
                    None => {
                        let info = info();
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
                        memo.insert(key, id);
                        id
                    }
                };
                ids.push(id);
            };
            if l.lines.is_empty() {
                push((u32::MAX, 0, 0, l.address, mapping), &|| NodeInfo {
                    address: l.address,
                    objfile: objfile.to_string(),
                    ..Default::default()
                });
            }
            for ln in &l.lines {
                let key = (ln.function, ln.line, ln.column, l.address, mapping);
                push(key, &|| Self::line_info(p, l.address, ln, objfile, o));
            }
            ends.push(all_ids.len());
        }
        let mut idx = NodeIndex {
            inlined: vec![false; infos.len()],
            infos,
            ids: all_ids,
            ends,
        };
        for li in 0..idx.ends.len() {
            let (a, b) = idx.range(li);
            if b > a {
                for k in a..b - 1 {
                    let id = idx.ids[k] as usize;
                    idx.inlined[id] = true;
                }
            }
        }
        idx
    }

    fn range(&self, li: usize) -> (usize, usize) {
        let a = if li == 0 { 0 } else { self.ends[li - 1] };
        (a, self.ends[li])
    }

    /// The node ids of location `li`, innermost first (empty past the end).
    pub fn loc_nodes(&self, li: usize) -> &[u32] {
        if li >= self.ends.len() {
            return &[];
        }
        let (a, b) = self.range(li);
        &self.ids[a..b]
    }

    /// Number of locations.
    pub fn locations(&self) -> usize {
        self.ends.len()
    }

    /// The info of the node of line `ln` of a location at `address`.
    fn line_info(
        p: &Profile,
        address: u64,
        ln: &crate::profile::Line,
        objfile: &str,
        o: InfoOptions,
    ) -> NodeInfo {
        let f = &p.functions[ln.function as usize];
        let mut ni = NodeInfo {
            address,
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
        ni
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
struct EdgeLists {
    adj: Vec<Vec<EdgeAcc>>,
    big: FxHashMap<u64, u32>,
}

const SMALL_OUT_DEGREE: usize = 12;

impl EdgeLists {
    #[inline]
    fn add(&mut self, src: u32, e: EdgeAcc) {
        let EdgeLists { adj, big } = self;
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

/// Edges among few nodes as a dense matrix: one access per edge, where
/// the lists take two (their hash index and the entry) once a node has
/// many callees, as the nodes near the roots of a big profile do.
struct EdgeMatrix {
    m: usize,
    w: Vec<i64>,
    /// Only for mean reports.
    dw: Vec<i64>,
    /// PRESENT, RESIDUAL, INLINE bits.
    flags: Vec<u8>,
}

const PRESENT: u8 = 1;
const RESIDUAL: u8 = 2;
const INLINE: u8 = 4;

/// Most cells of an [`EdgeMatrix`] (about 9 MB per thread); more nodes
/// take the lists.
const MATRIX_CELLS: usize = 1 << 20;

impl EdgeMatrix {
    #[inline]
    fn add(&mut self, src: u32, e: EdgeAcc) {
        let i = src as usize * self.m + e.dst as usize;
        let (Some(w), Some(f)) = (self.w.get_mut(i), self.flags.get_mut(i)) else {
            return;
        };
        *w = w.wrapping_add(e.w);
        if let Some(d) = self.dw.get_mut(i) {
            *d = d.wrapping_add(e.dw);
        }
        let mut nf = *f | PRESENT;
        if e.residual {
            nf |= RESIDUAL;
        }
        if *f & PRESENT == 0 {
            if e.inline {
                nf |= INLINE;
            }
        } else if !e.inline {
            nf &= !INLINE;
        }
        *f = nf;
    }

    /// The edges out of `src`, by destination.
    fn list(&self, src: usize) -> Vec<EdgeAcc> {
        let row = src * self.m..(src + 1) * self.m;
        self.flags[row.clone()]
            .iter()
            .zip(&self.w[row.clone()])
            .enumerate()
            .filter(|(_, (f, _))| **f & PRESENT != 0)
            .map(|(dst, (&f, &w))| EdgeAcc {
                dst: dst as u32,
                residual: f & RESIDUAL != 0,
                inline: f & INLINE != 0,
                w,
                dw: self.dw.get(row.start + dst).copied().unwrap_or(0),
            })
            .collect()
    }
}

/// The edges of one accumulation.
enum EdgeStore {
    None,
    Lists(EdgeLists),
    Matrix(EdgeMatrix),
}

impl EdgeStore {
    fn new(m: usize, mean: bool, with_edges: bool) -> Self {
        if !with_edges {
            return EdgeStore::None;
        }
        match m.checked_mul(m) {
            Some(cells) if cells <= MATRIX_CELLS => EdgeStore::Matrix(EdgeMatrix {
                m,
                w: vec![0; cells],
                dw: if mean { vec![0; cells] } else { Vec::new() },
                flags: vec![0; cells],
            }),
            _ => EdgeStore::Lists(EdgeLists {
                adj: vec![Vec::new(); m],
                big: FxHashMap::default(),
            }),
        }
    }

    #[inline]
    fn add(&mut self, src: u32, e: EdgeAcc) {
        match self {
            EdgeStore::None => {}
            EdgeStore::Lists(l) => l.add(src, e),
            EdgeStore::Matrix(x) => x.add(src, e),
        }
    }

    /// Adds `o`'s edges to these.
    fn merge(&mut self, o: EdgeStore) {
        match (&mut *self, o) {
            (_, EdgeStore::None) => {}
            (EdgeStore::None, o) => *self = o,
            (a, EdgeStore::Matrix(b)) => {
                for src in 0..b.m {
                    for e in b.list(src) {
                        a.add(src as u32, e);
                    }
                }
            }
            (a, EdgeStore::Lists(b)) => {
                for (src, list) in b.adj.into_iter().enumerate() {
                    for e in list {
                        a.add(src as u32, e);
                    }
                }
            }
        }
    }

    /// Every source's edges, sorted by destination.
    fn into_lists(self) -> Vec<Vec<EdgeAcc>> {
        match self {
            EdgeStore::None => Vec::new(),
            EdgeStore::Lists(l) => {
                let mut adj = l.adj;
                for list in &mut adj {
                    list.sort_unstable_by_key(|e| e.dst);
                }
                adj
            }
            EdgeStore::Matrix(x) => (0..x.m).map(|src| x.list(src)).collect(),
        }
    }
}

/// Which edges a graph build collects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edges {
    /// None: only node values are wanted.
    None,
    /// Every edge.
    All,
    /// Only edges into nodes that are an inlined frame somewhere, which is
    /// all `-top` reads from edges (its `(inline)` marks: an edge into a
    /// node that is never inlined is never an inline call).
    IntoInlined,
}

/// Per-thread sums over a slice of the samples, by dense node id (the
/// nodes taking part in this build, numbered 0..): kept small and flat so
/// the hot loop stays in cache.
struct Acc {
    cum: Vec<i64>,
    flat: Vec<i64>,
    // (cum_div, flat_div) per node, only for mean reports.
    divs: Vec<(i64, i64)>,
    edges: EdgeStore,
    /// The nodes the current sample has counted (a node's cum counts once
    /// per sample), and a 512-bit filter of them: a node not in the filter
    /// is new without a look at the list, and nothing per node is touched
    /// besides its cum.
    sample_nodes: Vec<u32>,
    filter: [u64; 8],
    seen_edges: Vec<u64>,
}

impl Acc {
    fn new(m: usize, mean: bool, with_edges: bool) -> Self {
        Acc {
            cum: vec![0; m],
            flat: vec![0; m],
            divs: if mean { vec![(0, 0); m] } else { Vec::new() },
            edges: EdgeStore::new(m, mean, with_edges),
            sample_nodes: Vec::new(),
            filter: [0; 8],
            seen_edges: Vec::new(),
        }
    }

    fn merge(mut self, o: Acc) -> Acc {
        for (a, b) in self.flat.iter_mut().zip(&o.flat) {
            *a = a.wrapping_add(*b);
        }
        for (a, b) in self.cum.iter_mut().zip(&o.cum) {
            *a = a.wrapping_add(*b);
        }
        for (a, b) in self.divs.iter_mut().zip(&o.divs) {
            a.0 = a.0.wrapping_add(b.0);
            a.1 = a.1.wrapping_add(b.1);
        }
        self.edges.merge(o.edges);
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
        edge_into: bool,
    ) {
        let bit = node as usize & 511;
        let (word, mask) = (bit >> 6, 1u64 << (bit & 63));
        let new_node = if self.filter[word] & mask == 0 {
            self.filter[word] |= mask;
            true
        } else {
            !self.sample_nodes.contains(&node)
        };
        if new_node {
            self.sample_nodes.push(node);
            let c = &mut self.cum[node as usize];
            *c = c.wrapping_add(w);
            if dw != 0 {
                self.divs[node as usize].0 = self.divs[node as usize].0.wrapping_add(dw);
            }
        }
        if let (true, Some(par)) = (edge_into, parent) {
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

/// A location's frames for one build, as one `u32`: the dense id of its
/// only node, [`GONE`] when that node does not take part, or [`MULTI`] and
/// the offset of its frames (count first) in the build's list of them.
/// (Dense ids and offsets stay below 2^31: that many nodes or inlined
/// frames would take tens of GB before a graph is built; past that a
/// location would count as dropped.)
const GONE: u32 = u32::MAX;
const MULTI: u32 = 1 << 31;

/// What a build walks a stack with.
struct Walk<'a> {
    table: &'a [u32],
    multi: &'a [u32],
    any_kept: &'a [u64],
    filtered: bool,
    edge_into: &'a [bool],
    with_edges: bool,
}

impl Walk<'_> {
    /// Visits the frames of one stack (location indices, leaf first) from
    /// the root; returns the last node visited and whether frames were
    /// dropped after it. Generic over the index width so the loop is tight.
    #[inline(always)]
    fn stack<T: Copy + Into<u32>>(
        &self,
        acc: &mut Acc,
        frames: &[T],
        w: i64,
        dw: i64,
    ) -> (Option<u32>, bool) {
        let mut parent: Option<u32> = None;
        let mut residual = false;
        for &li in frames.iter().rev() {
            let li: u32 = li.into();
            let li = li as usize;
            if self.filtered
                && self
                    .any_kept
                    .get(li / 64)
                    .is_none_or(|b| b & (1 << (li % 64)) == 0)
            {
                residual = true;
                continue;
            }
            let Some(&t) = self.table.get(li) else {
                residual = true;
                continue;
            };
            if t & MULTI == 0 {
                // One node (GONE has the MULTI bit set too, so it is told
                // apart below).
                let into = self.with_edges && self.edge_into[t as usize];
                acc.visit(t, parent, w, dw, residual, false, into);
                parent = Some(t);
                residual = false;
                continue;
            }
            if t == GONE {
                residual = true;
                continue;
            }
            let at = (t & !MULTI) as usize;
            let cnt = self.multi[at] as usize;
            let nodes = &self.multi[at + 1..at + 1 + cnt];
            for (ni, &node) in nodes.iter().enumerate().rev() {
                if node == GONE {
                    residual = true;
                    continue;
                }
                let into = self.with_edges && self.edge_into[node as usize];
                acc.visit(node, parent, w, dw, residual, ni + 1 != cnt, into);
                parent = Some(node);
                residual = false;
            }
        }
        (parent, residual)
    }
}

/// Builds the graph of `p` (pprof's `newGraph`). When `kept` is given,
/// only node ids marked true take part; dropped frames make edges residual.
/// `edges` says which edges are collected.
pub fn build(
    p: &Profile,
    idx: &NodeIndex,
    sel: ValueSel,
    kept: Option<&[bool]>,
    drop_negative: bool,
    edges: Edges,
    edge_cutoff: i64,
) -> Graph {
    let n = idx.infos.len();
    // Dense ids for the nodes taking part, and back.
    let mut dense = vec![GONE; n];
    let mut members: Vec<u32> = Vec::with_capacity(n);
    for (id, d) in dense.iter_mut().enumerate() {
        if kept.is_none_or(|k| k.get(id).copied().unwrap_or(false)) {
            *d = members.len() as u32;
            members.push(id as u32);
        }
    }
    let m = members.len();
    // Whether edges into a dense node are collected.
    let edge_into: Vec<bool> = match edges {
        Edges::None => Vec::new(),
        Edges::All => vec![true; m],
        Edges::IntoInlined => members
            .iter()
            .map(|&id| idx.inlined.get(id as usize).copied().unwrap_or(false))
            .collect(),
    };
    let with_edges = edge_into.iter().any(|&b| b);
    // Per location one word; the frames of multi-node locations in one
    // list as (count, frames...), innermost first, each a dense id or GONE.
    let mut multi: Vec<u32> = Vec::new();
    let table: Vec<u32> = (0..idx.locations())
        .map(|li| match idx.loc_nodes(li) {
            [one] => dense[*one as usize],
            ids => match u32::try_from(multi.len()) {
                Ok(at) if at < MULTI - 1 => {
                    multi.push(ids.len() as u32);
                    multi.extend(ids.iter().map(|&id| dense[id as usize]));
                    at | MULTI
                }
                _ => GONE,
            },
        })
        .collect();
    // With `kept`, most frames do not take part: one bit per location
    // (whether any of its nodes does) answers that from the L1 cache.
    let any_kept: Vec<u64> = match kept {
        None => Vec::new(),
        Some(_) => {
            let mut bits = vec![0u64; table.len().div_ceil(64)];
            for (li, &t) in table.iter().enumerate() {
                let takes_part = if t & MULTI == 0 {
                    true
                } else if t == GONE {
                    false
                } else {
                    let at = (t & !MULTI) as usize;
                    let cnt = multi[at] as usize;
                    multi[at + 1..at + 1 + cnt].iter().any(|&d| d != GONE)
                };
                if takes_part {
                    bits[li / 64] |= 1 << (li % 64);
                }
            }
            bits
        }
    };
    let walk = Walk {
        table: &table,
        multi: &multi,
        any_kept: &any_kept,
        filtered: kept.is_some(),
        edge_into: &edge_into,
        with_edges,
    };
    let nsamples = p.samples.len();
    let chunk = nsamples.div_ceil(rayon::current_num_threads()).max(4096);
    let mean = sel.mean_div.is_some();
    let acc = (0..nsamples.div_ceil(chunk))
        .into_par_iter()
        .fold(
            || Acc::new(m, mean, with_edges),
            |mut acc, c| {
                for s in p.samples.iter_range(c * chunk..(c + 1) * chunk) {
                    let w = s.values[sel.index];
                    let dw = sel.mean_div.map_or(0, |i| s.values[i]);
                    if w == 0 && dw == 0 {
                        continue;
                    }
                    acc.sample_nodes.clear();
                    acc.filter = [0; 8];
                    acc.seen_edges.clear();
                    let (parent, residual) = match s.locations {
                        Stack::Narrow(f) => walk.stack(&mut acc, f, w, dw),
                        Stack::Wide(f) => walk.stack(&mut acc, f, w, dw),
                    };
                    if let Some(par) = parent {
                        if !residual {
                            let f = &mut acc.flat[par as usize];
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
        .reduce(|| Acc::new(m, mean, false), Acc::merge);

    // Select nodes with values.
    let mut pos = vec![usize::MAX; m];
    let mut g = Graph::default();
    for (d, &id) in members.iter().enumerate() {
        let (flat, cum) = (acc.flat[d], acc.cum[d]);
        if cum == 0 && flat == 0 {
            continue;
        }
        if drop_negative && (flat < 0 || (flat == 0 && cum < 0)) {
            continue;
        }
        pos[d] = g.nodes.len();
        g.nodes.push(Node {
            info: idx.infos[id as usize].clone(),
            id,
            flat,
            flat_div: acc.divs.get(d).map_or(0, |x| x.1),
            cum,
            cum_div: acc.divs.get(d).map_or(0, |x| x.0),
            in_edges: Vec::new(),
            out_edges: Vec::new(),
        });
    }
    // Edges below the cutoff are dropped here rather than built and trimmed
    // (pprof's TrimLowFrequencyEdges), which keeps big graphs small.
    let mut dropped = 0usize;
    // Dense ids are in node-id order, and so are the lists.
    for (src, list) in acc.edges.into_lists().into_iter().enumerate() {
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
