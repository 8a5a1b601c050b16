//! Which packages and imports the graph shows: godepgraph's rules over
//! the go command's packages.

use std::collections::{HashMap, HashSet};

use crate::Error;
use crate::golist::Package;

/// godepgraph's options (its flag in brackets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Leave the standard library out (`-s`).
    pub no_std: bool,
    /// Leave vendored packages out (`-novendor`).
    pub no_vendor: bool,
    /// Follow the imports of standard-library packages too (`-d`); by
    /// default they are shown but not followed.
    pub with_goroot: bool,
    /// Leave out packages with these prefixes (`-p`).
    pub ignore_prefixes: Vec<String>,
    /// Leave out these packages (`-i`).
    pub ignore_packages: Vec<String>,
    /// Keep only packages with these prefixes (`-o`).
    pub only_prefixes: Vec<String>,
    /// Levels at most, the named packages being level 1 (`-l`).
    pub max_level: usize,
    /// Follow test imports too (`-t`; needs `go list -test`).
    pub tests: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            no_std: false,
            no_vendor: false,
            with_goroot: false,
            ignore_prefixes: Vec::new(),
            ignore_packages: Vec::new(),
            only_prefixes: Vec::new(),
            max_level: 256,
            tests: false,
        }
    }
}

/// What a node is (godepgraph's colours).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// In the standard library (palegreen).
    Standard,
    /// Has cgo files (darkgoldenrod1).
    Cgo,
    /// Vendored (palegoldenrod).
    Vendored,
    /// The go command reported an error for it (red).
    Error,
    /// Anything else (paleturquoise).
    Module,
}

impl Kind {
    /// godepgraph's fill colour.
    pub fn color(self) -> &'static str {
        match self {
            Kind::Standard => "palegreen",
            Kind::Cgo => "darkgoldenrod1",
            Kind::Vendored => "palegoldenrod",
            Kind::Error => "red",
            Kind::Module => "paleturquoise",
        }
    }
}

/// A package in the graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub path: String,
    pub kind: Kind,
    /// Its level on the first path found to it (the named packages: 1).
    pub level: usize,
    /// The go command's error for it.
    pub error: Option<String>,
}

/// An import: indexes into [`Graph::nodes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Edge {
    pub from: usize,
    pub to: usize,
    pub via: Via,
}

/// Which files of the importer import it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Via {
    /// The package itself.
    Package,
    /// Its internal tests (`package p` in `_test.go` files) only.
    Test,
    /// Its external tests (`package p_test`) only.
    ExternalTest,
}

/// The packages and imports to draw.
#[derive(Debug, Clone, Default)]
pub struct Graph {
    /// Sorted by path.
    pub nodes: Vec<Node>,
    /// By importer (in node order), then in import order.
    pub edges: Vec<Edge>,
    /// Import cycles the go command reported (each an import stack,
    /// the first package repeated at the end), with its message.
    pub cycles: Vec<(Vec<String>, String)>,
}

impl Graph {
    /// The index of a package.
    pub fn find(&self, path: &str) -> Option<usize> {
        self.nodes
            .binary_search_by(|n| n.path.as_str().cmp(path))
            .ok()
    }
}

struct Rules<'a> {
    opts: &'a Options,
}

impl Rules<'_> {
    fn has_prefix(path: &str, prefixes: &[String]) -> bool {
        prefixes.iter().any(|p| path.starts_with(p.as_str()))
    }

    /// godepgraph's isIgnored, plus its always-ignored `C`.
    fn ignored(&self, p: &Package) -> bool {
        let o = self.opts;
        let path = normalize_vendor(&p.import_path);
        path == "C"
            || (!o.only_prefixes.is_empty() && !Self::has_prefix(path, &o.only_prefixes))
            || (o.no_vendor && p.is_vendored())
            || o.ignore_packages.iter().any(|i| i == path)
            || (p.standard && o.no_std)
            || Self::has_prefix(path, &o.ignore_prefixes)
    }

    fn imports<'p>(&self, p: &'p Package) -> Vec<(&'p str, Via)> {
        let mut all: Vec<(&str, Via)> = p
            .imports
            .iter()
            .map(|i| (i.as_str(), Via::Package))
            .collect();
        if self.opts.tests {
            all.extend(p.test_imports.iter().map(|i| (i.as_str(), Via::Test)));
            all.extend(
                p.xtest_imports
                    .iter()
                    .map(|i| (i.as_str(), Via::ExternalTest)),
            );
        }
        let me = normalize_vendor(&p.import_path);
        let mut seen = HashSet::new();
        all.retain(|&(i, _)| i != me && i != "C" && seen.insert(i));
        all
    }
}

/// `golang.org/x/net/dns` of `vendor/golang.org/x/net/dns`.
fn normalize_vendor(path: &str) -> &str {
    path.rsplit("vendor/").next().unwrap_or(path)
}

/// The graph godepgraph draws for the named packages (those go list
/// did not mark `DepOnly`, or `roots` when given).
pub fn select(packages: &[Package], roots: &[String], opts: &Options) -> Result<Graph, Error> {
    let by_path: HashMap<&str, &Package> = packages
        .iter()
        .filter(|p| !p.is_test_variant())
        .map(|p| (p.import_path.as_str(), p))
        .collect();
    let mut named: Vec<&str> = if roots.is_empty() {
        packages
            .iter()
            .filter(|p| !p.dep_only && !p.is_test_variant())
            .map(|p| p.import_path.as_str())
            .collect()
    } else {
        roots.iter().map(String::as_str).collect()
    };
    named.dedup();
    if named.iter().all(|r| !by_path.contains_key(r)) {
        return Err(Error::NoRoots(format!(
            "none of {} is in the package list",
            named.join(", ")
        )));
    }
    let rules = Rules { opts };
    // Depth first from each named package, in import order, each package
    // visited once: the order godepgraph walks in, so that a depth limit
    // cuts where it cuts.
    let mut level: HashMap<&str, usize> = HashMap::new();
    let mut stack: Vec<(&str, usize)> = Vec::new();
    for &r in &named {
        stack.push((r, 1));
        while let Some((path, lv)) = stack.pop() {
            if lv > opts.max_level || level.contains_key(path) {
                continue;
            }
            let Some(p) = by_path.get(path) else { continue };
            if rules.ignored(p) {
                continue;
            }
            level.insert(path, lv);
            if p.standard && !opts.with_goroot {
                continue;
            }
            // Pushed in reverse: popped in import order.
            for (imp, _) in rules.imports(p).into_iter().rev() {
                if !level.contains_key(imp) {
                    stack.push((imp, lv + 1));
                }
            }
        }
    }
    let mut paths: Vec<&str> = level.keys().copied().collect();
    paths.sort_unstable();
    let index: HashMap<&str, usize> = paths.iter().enumerate().map(|(i, &p)| (p, i)).collect();
    let mut g = Graph::default();
    for &path in &paths {
        let p = by_path[path];
        let error = p.error.as_ref().map(|e| e.err.clone());
        let kind = if p.standard {
            Kind::Standard
        } else if !p.cgo_files.is_empty() {
            Kind::Cgo
        } else if p.is_vendored() {
            Kind::Vendored
        } else if error.is_some() {
            Kind::Error
        } else {
            Kind::Module
        };
        g.nodes.push(Node {
            path: path.to_string(),
            kind,
            level: level[path],
            error,
        });
    }
    for (from, &path) in paths.iter().enumerate() {
        let p = by_path[path];
        if p.standard && !opts.with_goroot {
            continue;
        }
        for (imp, via) in rules.imports(p) {
            if let Some(&to) = index.get(imp) {
                g.edges.push(Edge { from, to, via });
            }
        }
    }
    // Cycles, once each: those the go command reported (test variants
    // report them), then those of the drawn graph (through test imports).
    let mut seen = HashSet::new();
    for p in packages {
        for e in p.error.iter().chain(&p.deps_errors) {
            if e.err.contains("import cycle") && seen.insert(cycle_key(&e.import_stack)) {
                g.cycles.push((e.import_stack.clone(), e.err.clone()));
            }
        }
    }
    for (stack, why) in cycles(&g) {
        let paths: Vec<String> = stack.iter().map(|&i| g.nodes[i].path.clone()).collect();
        if seen.insert(cycle_key(&paths)) {
            g.cycles.push((paths, why.to_string()));
        }
    }
    Ok(g)
}

/// A cycle's packages, whatever it starts from (the stack repeats its
/// first package at the end).
fn cycle_key(stack: &[String]) -> Vec<String> {
    let mut key: Vec<String> = stack.to_vec();
    if key.len() > 1 && key.first() == key.last() {
        key.pop();
    }
    key.sort();
    key.dedup();
    key
}

/// The cycles a depth-first walk closes (one per closing edge), each as
/// its nodes with the first repeated at the end, and what the go command
/// makes of it: refused unless an external test closes it.
fn cycles(g: &Graph) -> Vec<(Vec<usize>, &'static str)> {
    let n = g.nodes.len();
    let mut out_edges: Vec<Vec<&Edge>> = vec![Vec::new(); n];
    for e in &g.edges {
        out_edges[e.from].push(e);
    }
    let mut found = Vec::new();
    let mut state = vec![0u8; n];
    for s in 0..n {
        if state[s] != 0 {
            continue;
        }
        // (node, next edge), and the edges taken to each node on the path.
        let mut stack: Vec<(usize, usize)> = vec![(s, 0)];
        let mut taken: Vec<Via> = Vec::new();
        state[s] = 1;
        while let Some(&mut (v, ref mut next)) = stack.last_mut() {
            if let Some(&e) = out_edges[v].get(*next) {
                *next += 1;
                match state[e.to] {
                    0 => {
                        state[e.to] = 1;
                        stack.push((e.to, 0));
                        taken.push(e.via);
                    }
                    1 => {
                        let at = stack.iter().position(|&(x, _)| x == e.to).unwrap_or(0);
                        let mut nodes: Vec<usize> = stack[at..].iter().map(|&(x, _)| x).collect();
                        nodes.push(e.to);
                        let vias = taken[at..].iter().chain(std::iter::once(&e.via));
                        let why = if vias.clone().any(|&v| v == Via::ExternalTest) {
                            "import cycle through an external test (allowed)"
                        } else if vias.clone().any(|&v| v == Via::Test) {
                            "import cycle not allowed in test"
                        } else {
                            "import cycle not allowed"
                        };
                        found.push((nodes, why));
                    }
                    _ => {}
                }
            } else {
                state[v] = 2;
                stack.pop();
                taken.pop();
            }
        }
    }
    found
}
