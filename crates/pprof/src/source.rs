//! `-list`: annotated source listings (pprof's `printSource`), with the
//! source read from disk (`-source_path`, `-trim_path`).

use std::collections::HashMap;
use std::fmt::Write as _;

use crate::error::{Error, Result};
use crate::graph::{self, InfoOptions, Node, NodeIndex};
use crate::measurement::percentage;
use crate::report::Report;
use crate::transform::trim_path;

struct SourceReader {
    search: String,
    trim: String,
    files: HashMap<String, Result<Vec<String>, String>>,
}

impl SourceReader {
    fn open(&self, path: &str) -> Result<Vec<String>, String> {
        let p = trim_path(path, &self.trim, &self.search);
        let read = |f: &std::path::Path| {
            std::fs::read(f).map(|b| {
                String::from_utf8_lossy(&b)
                    .lines()
                    .map(str::to_string)
                    .collect()
            })
        };
        if p.starts_with('/') {
            return read(std::path::Path::new(&p))
                .map_err(|e| format!("open {p}: {}", go_io_error(&e)));
        }
        for dir in self.search.split(':').filter(|d| !d.is_empty()) {
            let mut d = std::path::PathBuf::from(dir);
            loop {
                if let Ok(lines) = read(&d.join(&p)) {
                    return Ok(lines);
                }
                if !d.pop() {
                    break;
                }
            }
        }
        Err(format!("could not find file {p} on path {}", self.search))
    }

    fn lines(&mut self, path: &str) -> &Result<Vec<String>, String> {
        if !self.files.contains_key(path) {
            let r = self.open(path);
            self.files.insert(path.to_string(), r);
        }
        &self.files[path]
    }
}

fn go_io_error(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// `-list=RE`.
pub fn print_source(rpt: &mut Report, re: &str) -> Result<String> {
    let rx = regex::Regex::new(re).map_err(|e| Error::Regex {
        option: "list".into(),
        source: e,
    })?;
    let (tp, sp) = (rpt.cfg.trim_path.clone(), rpt.cfg.source_path.clone());
    for f in &mut rpt.prof.functions {
        f.filename = trim_path(&f.filename, &tp, &sp);
    }
    rpt.prof.remove_label(crate::profile::DIFF_BASE_LABEL);
    let idx = NodeIndex::new(
        &rpt.prof,
        InfoOptions {
            obj_names: true,
            orig_fn_names: false,
        },
    );
    let g = graph::build(
        &rpt.prof,
        &idx,
        rpt.sel,
        None,
        rpt.cfg.drop_negative,
        graph::Edges::None,
        0,
    );

    let mut by_name: HashMap<&str, Vec<&Node>> = HashMap::new();
    let mut functions: Vec<&Node> = Vec::new();
    for n in &g.nodes {
        if !rx.is_match(&n.info.name) {
            continue;
        }
        let e = by_name.entry(n.info.name.as_str()).or_default();
        if e.is_empty() {
            functions.push(n);
        }
        e.push(n);
    }
    if functions.is_empty() {
        return Err(Error::NoMatches(re.to_string()));
    }
    let sprint = |n: &Node| {
        let i = &n.info;
        format!(
            "{{{} {} {} {} {} {} {} {}}}",
            i.name, i.orig_name, i.address, i.file, i.start_line, i.lineno, i.columnno, i.objfile
        )
    };
    functions.sort_by(|a, b| {
        a.info
            .name
            .cmp(&b.info.name)
            .then_with(|| sprint(a).cmp(&sprint(b)))
    });
    let search = if sp.is_empty() {
        std::env::current_dir()
            .map(|d| d.to_string_lossy().into_owned())
            .unwrap_or_default()
    } else {
        sp.clone()
    };
    let mut reader = SourceReader {
        search,
        trim: tp,
        files: HashMap::new(),
    };
    let mut w = String::new();
    let _ = writeln!(w, "Total: {}", rpt.format_value(rpt.total));
    for f in functions {
        let name = f.info.name.as_str();
        let mut files: Vec<&Node> = Vec::new();
        let mut by_file: HashMap<&str, Vec<&Node>> = HashMap::new();
        for &n in &by_name[name] {
            if n.info.file.is_empty() {
                continue;
            }
            let e = by_file.entry(n.info.file.as_str()).or_default();
            if e.is_empty() {
                files.push(n);
            }
            e.push(n);
        }
        if files.is_empty() {
            let _ = writeln!(w, "No source information for {name}");
            continue;
        }
        files.sort_by(|a, b| {
            a.info
                .file
                .cmp(&b.info.file)
                .then(a.info.start_line.cmp(&b.info.start_line))
                .then_with(|| sprint(a).cmp(&sprint(b)))
        });
        for fl in files {
            let file = fl.info.file.as_str();
            let fns = &by_file[file];
            let flat_sum: i64 = fns.iter().fold(0i64, |a, n| a.wrapping_add(n.flat));
            let cum_sum: i64 = fns.iter().fold(0i64, |a, n| a.wrapping_add(n.cum));
            let _ = writeln!(w, "ROUTINE ======================== {name} in {file}");
            let _ = writeln!(
                w,
                "{:>10} {:>10} (flat, cum) {} of Total",
                rpt.format_value(flat_sum),
                rpt.format_value(cum_sum),
                percentage(cum_sum, rpt.total)
            );
            const MARGIN: i64 = 5;
            let first = fns[0];
            let mut start = if first.info.start_line != 0 {
                first.info.start_line
            } else {
                first.info.lineno - MARGIN
            };
            let mut end = first.info.lineno + MARGIN;
            let mut per_line: HashMap<i64, (i64, i64)> = HashMap::new();
            for n in fns {
                let ln = n.info.lineno;
                let ns = if n.info.start_line != 0 {
                    n.info.start_line
                } else {
                    ln - MARGIN
                };
                let ne = ln + MARGIN;
                if ns < start {
                    start = ns;
                } else if ne > end {
                    end = ne;
                }
                let e = per_line.entry(ln).or_default();
                e.0 = e.0.wrapping_add(n.flat);
                e.1 = e.1.wrapping_add(n.cum);
            }
            start = start.max(1);
            match reader.lines(file) {
                Err(e) => {
                    let _ = writeln!(w, " Error: {e}");
                }
                Ok(lines) => {
                    for ln in start..=end {
                        let Some(text) = lines.get((ln - 1) as usize) else {
                            break;
                        };
                        let (fl, cu) = per_line.get(&ln).copied().unwrap_or((0, 0));
                        let dot = |v: i64| {
                            if v == 0 {
                                ".".to_string()
                            } else {
                                rpt.format_value(v)
                            }
                        };
                        let _ = writeln!(w, "{:>10} {:>10} {:>6}:{}", dot(fl), dot(cu), ln, text);
                    }
                }
            }
        }
    }
    Ok(w)
}
