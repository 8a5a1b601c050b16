//! Reading `-gcflags=-m` / `-m=2` text line by line.

use std::collections::{BTreeMap, HashMap};

use crate::checks::{self, CheckDiag};
use crate::source::{Decls, Sources};
use crate::{
    BoundsCheck, Error, Escape, EscapeKind, Flow, Function, Hop, InlinedCall, Inlining, Nested,
    NilCheck, NoEscape, PACKAGE_LEVEL, Pos, Report, Result, explain,
};

/// Reads the compiler's diagnostics (`go build -gcflags=-m=2 ./... 2>&1`,
/// or `-m`) without Go sources: diagnostics go to the nearest function
/// declared above them (see the crate docs). `input` names the text in
/// errors.
///
/// Lines that are not understood are skipped and listed in
/// [`Report::skipped`]; text without any diagnostic is
/// [`Error::NoDiagnostics`].
pub fn parse(text: &str, input: &str) -> Result<Report> {
    parse_with_sources(text, input, &mut |_| None)
}

/// [`parse`], asking `source(file)` for the text of each Go file the
/// diagnostics name (as printed: `./x.go`, `/usr/local/go/src/...`), to
/// find the function bodies; `None` falls back to the declarations the
/// compiler printed.
pub fn parse_with_sources(
    text: &str,
    input: &str,
    source: &mut dyn FnMut(&str) -> Option<String>,
) -> Result<Report> {
    let mut st = State::default();
    for raw in text.lines() {
        st.line(raw.trim_end_matches('\r'));
    }
    st.end_explanation();
    if st.recognised == 0 {
        let lines: Vec<String> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .take(3)
            .map(|l| l.chars().take(200).collect())
            .collect();
        return Err(Error::NoDiagnostics {
            input: input.to_string(),
            lines,
        });
    }
    let mut sources = Sources::default();
    for file in st.files() {
        if let Some(text) = source(&file) {
            sources.add(&file, &text);
        }
    }
    Ok(st.finish(&sources))
}

/// The error for a build that failed: the compiler's message lines (the
/// lines that are not escape-analysis or inlining diagnostics; all of
/// stderr when every line is one).
pub fn build_failed(stderr: &str, command: &str, status: Option<String>) -> Error {
    let mut messages: Vec<String> = Vec::new();
    for line in stderr.lines().map(|l| l.trim_end_matches('\r')) {
        if line.trim().is_empty() {
            continue;
        }
        let is_diag = match split_pos(line) {
            Some((_, msg)) => msg.starts_with(' ') || classify(msg).is_some(),
            None => false,
        };
        if !is_diag {
            messages.push(line.to_string());
        }
    }
    if messages.is_empty() {
        messages = stderr
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_string)
            .collect();
    }
    if messages.is_empty() {
        messages.push("(the command printed nothing on stderr)".to_string());
    }
    Error::BuildFailed {
        command: command.to_string(),
        status,
        messages,
    }
}

/// `FILE:LINE:COL: MSG` (or `FILE:LINE: MSG`) → the position and the
/// message (indentation kept).
pub(crate) fn split_pos(line: &str) -> Option<(Pos, &str)> {
    let mut from = 0;
    while let Some(i) = line.get(from..)?.find(": ") {
        let at = from + i;
        if let Some(pos) = parse_pos(&line[..at]) {
            return Some((pos, &line[at + 2..]));
        }
        from = at + 2;
    }
    None
}

/// `FILE:LINE:COL` or `FILE:LINE`.
pub(crate) fn parse_pos(s: &str) -> Option<Pos> {
    let (rest, last) = s.rsplit_once(':')?;
    let last: u32 = last.parse().ok()?;
    if let Some((file, line)) = rest.rsplit_once(':')
        && let Ok(line) = line.parse::<u32>()
        && !file.is_empty()
    {
        return Some(Pos {
            file: file.to_string(),
            line,
            col: last,
        });
    }
    if rest.is_empty() || rest.contains(' ') {
        return None;
    }
    Some(Pos {
        file: rest.to_string(),
        line: last,
        col: 0,
    })
}

/// What one non-indented diagnostic says.
#[derive(Debug)]
enum Diag<'a> {
    /// `EXPR escapes to heap[ in F]:` (head of an explanation).
    EscapeHead {
        expr: &'a str,
        func: Option<&'a str>,
    },
    /// `parameter P leaks to DST[ for F] with derefs=N:`.
    ParamHead {
        name: &'a str,
        func: Option<&'a str>,
    },
    Escape {
        kind: EscapeKind,
        expr: &'a str,
        detail: Option<&'a str>,
    },
    NoEscape(&'a str),
    CanInline {
        name: &'a str,
        cost: Option<u32>,
    },
    CannotInline {
        name: &'a str,
        reason: &'a str,
    },
    InlinedCall(&'a str),
    /// A bounds or nil check (`-d=ssa/check_bce/debug=1`, `-d=nil=1`).
    Check(CheckDiag<'a>),
    /// Understood and not reported (closure captures, devirtualisation...).
    Ignored,
}

fn classify(msg: &str) -> Option<Diag<'_>> {
    if let Some(c) = checks::classify(msg) {
        return Some(Diag::Check(c));
    }
    if let Some(head) = msg.strip_suffix(':') {
        if let Some(i) = head.find(" escapes to heap") {
            let rest = &head[i + " escapes to heap".len()..];
            let func = rest.strip_prefix(" in ");
            if rest.is_empty() || func.is_some() {
                return Some(Diag::EscapeHead {
                    expr: &head[..i],
                    func,
                });
            }
        }
        if let Some(p) = head.strip_prefix("parameter ")
            && let Some((name, rest)) = p.split_once(" leaks to ")
        {
            let func = rest
                .split_once(" for ")
                .and_then(|(_, f)| f.rsplit_once(" with derefs=").map(|(f, _)| f));
            return Some(Diag::ParamHead { name, func });
        }
    }
    if let Some(name) = msg.strip_prefix("moved to heap: ") {
        return Some(Diag::Escape {
            kind: EscapeKind::MovedToHeap,
            expr: name,
            detail: None,
        });
    }
    if let Some(name) = msg.strip_prefix("leaking param content: ") {
        return Some(Diag::Escape {
            kind: EscapeKind::LeakingParamContent,
            expr: name,
            detail: None,
        });
    }
    if let Some(rest) = msg.strip_prefix("leaking param: ") {
        let (name, detail) = match rest.split_once(' ') {
            Some((n, d)) => (n, Some(d)),
            None => (rest, None),
        };
        // `to result ~r0 level=1`: what p points to leaks, not p.
        let deref = detail
            .and_then(|d| d.rsplit_once("level="))
            .and_then(|(_, l)| l.parse::<u32>().ok())
            .unwrap_or(0);
        let kind = if deref > 0 {
            EscapeKind::LeakingParamContent
        } else {
            EscapeKind::LeakingParam
        };
        return Some(Diag::Escape {
            kind,
            expr: name,
            detail,
        });
    }
    if let Some(expr) = msg.strip_suffix(" escapes to heap") {
        return Some(Diag::Escape {
            kind: EscapeKind::EscapesToHeap,
            expr,
            detail: None,
        });
    }
    if let Some((expr, rest)) = msg.split_once(" does not escape")
        && (rest.is_empty() || rest.starts_with(','))
    {
        return Some(Diag::NoEscape(expr));
    }
    if let Some(rest) = msg.strip_prefix("can inline ") {
        return Some(match rest.split_once(" with cost ") {
            Some((name, c)) => Diag::CanInline {
                name,
                cost: c.split(' ').next().and_then(|n| n.parse().ok()),
            },
            None => Diag::CanInline {
                name: rest.trim(),
                cost: None,
            },
        });
    }
    if let Some(rest) = msg.strip_prefix("cannot inline ") {
        let (name, reason) = rest.split_once(": ").unwrap_or((rest, ""));
        return Some(Diag::CannotInline { name, reason });
    }
    if let Some(callee) = msg.strip_prefix("inlining call to ") {
        return Some(Diag::InlinedCall(callee.trim()));
    }
    if msg.contains(" capturing by ref: ")
        || msg.contains(" capturing by value: ")
        || msg.contains(" ignoring self-assignment in ")
        || msg.starts_with("devirtualizing ")
        || msg.starts_with("PGO devirtualizing ")
        || msg.starts_with("mark escaped content: ")
        || msg.starts_with("leaking closure reference ")
        || msg.starts_with("zero-copy string->[]byte conversion")
        || msg.starts_with("stack object ")
        || msg.starts_with("skipping ")
        // Printed at every -m level for an array index the front end
        // proved in range: an eliminated check, which the checks report
        // leaves out by design.
        || msg == "index bounds check elided"
    {
        return Some(Diag::Ignored);
    }
    None
}

/// An `-m=2` explanation: its head and flows.
#[derive(Debug)]
struct Explanation {
    pkg: usize,
    pos: Pos,
    param: bool,
    expr: String,
    func: Option<String>,
    flows: Vec<Flow>,
    used: bool,
}

/// One item placed later into a function.
#[derive(Debug)]
enum Item {
    Escape(Escape),
    NoEscape(NoEscape),
    Decision(String, Inlining),
    Call(InlinedCall),
    Bounds(BoundsCheck),
    Nil(NilCheck),
}

#[derive(Debug, Default)]
struct State {
    package: usize,
    packages: Vec<String>,
    current: Option<Explanation>,
    explanations: Vec<Explanation>,
    /// (package index, position, item).
    items: Vec<(usize, Pos, Item)>,
    recognised: usize,
    detailed: bool,
    /// A bounds or nil check line was seen.
    checks: bool,
    skipped: Vec<String>,
}

/// At most this many skipped lines are kept (the count goes on).
const MAX_SKIPPED: usize = 50;

impl State {
    fn skip(&mut self, line: &str) {
        if self.skipped.len() < MAX_SKIPPED {
            self.skipped.push(line.chars().take(300).collect());
        }
    }

    fn end_explanation(&mut self) {
        if let Some(e) = self.current.take() {
            self.explanations.push(e);
        }
    }

    fn line(&mut self, line: &str) {
        if line.trim().is_empty() {
            return;
        }
        if let Some(pkg) = line.strip_prefix("# ") {
            self.end_explanation();
            let pkg = pkg.trim().to_string();
            self.package = match self.packages.iter().position(|p| *p == pkg) {
                Some(i) => i,
                None => {
                    self.packages.push(pkg);
                    self.packages.len() - 1
                }
            };
            return;
        }
        let Some((pos, msg)) = split_pos(line) else {
            self.end_explanation();
            self.skip(line);
            return;
        };
        if msg.starts_with(' ') {
            self.flow_line(msg.trim_start(), line);
            return;
        }
        self.end_explanation();
        let Some(d) = classify(msg) else {
            self.skip(line);
            return;
        };
        self.recognised += 1;
        let pkg = self.package;
        match d {
            Diag::EscapeHead { expr, func } | Diag::ParamHead { name: expr, func } => {
                self.detailed = true;
                self.current = Some(Explanation {
                    pkg,
                    pos,
                    param: matches!(d, Diag::ParamHead { .. }),
                    expr: expr.to_string(),
                    func: func.map(str::to_string),
                    flows: Vec::new(),
                    used: false,
                });
            }
            Diag::Escape { kind, expr, detail } => {
                let e = Escape {
                    pos: pos.clone(),
                    kind,
                    expr: expr.to_string(),
                    detail: detail.map(str::to_string),
                    flows: Vec::new(),
                    compiler_function: None,
                    why: String::new(),
                };
                self.items.push((pkg, pos, Item::Escape(e)));
            }
            Diag::NoEscape(expr) => {
                let n = NoEscape {
                    pos: pos.clone(),
                    expr: expr.to_string(),
                };
                self.items.push((pkg, pos, Item::NoEscape(n)));
            }
            Diag::CanInline { name, cost } => {
                self.detailed |= cost.is_some();
                self.items.push((
                    pkg,
                    pos,
                    Item::Decision(name.to_string(), Inlining::CanInline { cost }),
                ));
            }
            Diag::CannotInline { name, reason } => {
                self.detailed = true;
                let over_budget = over_budget(reason);
                let inl = Inlining::CannotInline {
                    reason: reason.to_string(),
                    over_budget,
                };
                self.items
                    .push((pkg, pos, Item::Decision(name.to_string(), inl)));
            }
            Diag::InlinedCall(callee) => {
                let c = InlinedCall {
                    pos: pos.clone(),
                    callee: callee.to_string(),
                };
                self.items.push((pkg, pos, Item::Call(c)));
            }
            Diag::Check(c) => {
                self.checks = true;
                let item = match c {
                    CheckDiag::Bounds(op) => Item::Bounds(BoundsCheck {
                        pos: pos.clone(),
                        op: op.to_string(),
                    }),
                    CheckDiag::Nil(kept) => Item::Nil(NilCheck {
                        pos: pos.clone(),
                        kept,
                    }),
                };
                self.items.push((pkg, pos, item));
            }
            Diag::Ignored => {}
        }
    }

    /// An indented line: `flow: DST ← SRC:` or `from WHAT (WHY) at POS`.
    fn flow_line(&mut self, msg: &str, line: &str) {
        let Some(cur) = self.current.as_mut() else {
            self.skip(line);
            return;
        };
        if let Some(f) = msg.strip_prefix("flow: ") {
            let f = f.strip_suffix(':').unwrap_or(f);
            let (dst, src) = f
                .split_once(" ← ")
                .or_else(|| f.split_once(" = "))
                .unwrap_or((f, ""));
            cur.flows.push(Flow {
                dst: dst.to_string(),
                src: src.to_string(),
                hops: Vec::new(),
            });
            self.recognised += 1;
            return;
        }
        if let Some(h) = msg.strip_prefix("from ")
            && let Some(flow) = cur.flows.last_mut()
        {
            flow.hops.push(parse_hop(h));
            self.recognised += 1;
            return;
        }
        self.skip(line);
    }

    /// Every file named by an item, for the sources.
    fn files(&self) -> Vec<String> {
        let mut files: Vec<String> = self.items.iter().map(|(_, p, _)| p.file.clone()).collect();
        files.sort();
        files.dedup();
        files
    }

    fn finish(mut self, sources: &Sources) -> Report {
        // Declarations the compiler printed, per file: top-level functions
        // only (closures are folded into theirs).
        let mut decls = Decls::default();
        for (_, pos, item) in &self.items {
            if let Item::Decision(name, _) = item
                && !is_closure(name)
            {
                decls.add(&pos.file, pos.line, name);
            }
        }
        // Each summary line takes its explanations; an explanation no
        // summary claimed is an escape of its own (its head says what).
        let mut items = std::mem::take(&mut self.items);
        let mut at: HashMap<Pos, Vec<usize>> = HashMap::new();
        for (i, x) in self.explanations.iter().enumerate() {
            at.entry(x.pos.clone()).or_default().push(i);
        }
        for (_, _, item) in &mut items {
            if let Item::Escape(e) = item {
                let none = Vec::new();
                self.attach(e, at.get(&e.pos).unwrap_or(&none));
            }
        }
        for x in self.explanations.drain(..).filter(|x| !x.used) {
            let kind = if x.param {
                EscapeKind::LeakingParam
            } else {
                EscapeKind::EscapesToHeap
            };
            let e = Escape {
                pos: x.pos.clone(),
                kind,
                expr: x.expr,
                detail: None,
                flows: x.flows,
                compiler_function: x.func,
                why: String::new(),
            };
            items.push((x.pkg, x.pos, Item::Escape(e)));
        }
        let mut funcs: BTreeMap<(usize, String, u32, String), Function> = BTreeMap::new();
        for (pkg, pos, item) in items {
            let (start, name) = if pos.file == crate::GENERATED_FILE {
                // All of it is at line 1: the wrapper the compiler declared
                // there last would take every other wrapper's lines.
                (0, crate::GENERATED.to_string())
            } else {
                sources
                    .enclosing(&pos.file, pos.line)
                    .or_else(|| decls.enclosing(&pos.file, pos.line))
                    .unwrap_or((0, PACKAGE_LEVEL.to_string()))
            };
            let key = (pkg, pos.file.clone(), start, name.clone());
            let f = funcs.entry(key).or_insert_with(|| Function {
                package: self.packages.get(pkg).cloned().unwrap_or_default(),
                name: name.clone(),
                decl: (start > 0).then(|| Pos {
                    file: pos.file.clone(),
                    line: start,
                    col: 0,
                }),
                inlining: None,
                nested: Vec::new(),
                escapes: Vec::new(),
                does_not_escape: Vec::new(),
                inlined_calls: Vec::new(),
                bounds_checks: Vec::new(),
                nil_checks: Vec::new(),
            });
            match item {
                Item::Escape(mut e) => {
                    e.why = explain::fold(&e, &name);
                    f.escapes.push(e);
                }
                Item::NoEscape(n) => f.does_not_escape.push(n),
                Item::Call(c) => f.inlined_calls.push(c),
                Item::Bounds(c) => f.bounds_checks.push(c),
                Item::Nil(c) => f.nil_checks.push(c),
                Item::Decision(dname, inl) => {
                    if pos.line == start && !is_closure(&dname) && f.inlining.is_none() {
                        if let Some(d) = f.decl.as_mut() {
                            d.col = pos.col;
                        }
                        f.inlining = Some(inl);
                    } else {
                        f.nested.push(Nested {
                            name: dname,
                            decl: pos,
                            inlining: inl,
                        });
                    }
                }
            }
        }
        let mut functions: Vec<Function> = funcs.into_values().collect();
        for f in &mut functions {
            f.escapes.sort_by(|a, b| a.pos.cmp(&b.pos));
            f.does_not_escape.sort_by(|a, b| a.pos.cmp(&b.pos));
            f.inlined_calls.sort_by(|a, b| a.pos.cmp(&b.pos));
            f.bounds_checks.sort_by(|a, b| a.pos.cmp(&b.pos));
            f.nil_checks.sort_by(|a, b| a.pos.cmp(&b.pos));
        }
        Report {
            packages: self.packages,
            functions,
            detailed: self.detailed,
            skipped: self.skipped,
            checks: self.checks,
        }
    }

    /// Gives an escape its explanations: those at the same position of the
    /// same category, the one naming the same expression first.
    /// `here`: the indices of the explanations at the escape's position.
    fn attach(&mut self, e: &mut Escape, here: &[usize]) {
        let param = matches!(
            e.kind,
            EscapeKind::LeakingParam | EscapeKind::LeakingParamContent
        );
        let same: Vec<usize> = here
            .iter()
            .copied()
            .filter(|&i| {
                self.explanations
                    .get(i)
                    .is_some_and(|x| !x.used && x.param == param)
            })
            .collect();
        let exact: Vec<usize> = same
            .iter()
            .copied()
            .filter(|&i| self.explanations[i].expr == e.expr)
            .collect();
        let chosen = if !exact.is_empty() {
            exact
        } else if same.len() == 1 {
            same
        } else {
            Vec::new()
        };
        for i in chosen {
            let x = &mut self.explanations[i];
            x.used = true;
            e.flows.extend(x.flows.iter().cloned());
            if e.compiler_function.is_none() {
                e.compiler_function = x.func.clone();
            }
        }
    }
}

/// `function too complex: cost N exceeds budget B` → (N, B).
fn over_budget(reason: &str) -> Option<(u32, u32)> {
    let rest = reason.split_once("cost ")?.1;
    let (cost, rest) = rest.split_once(" exceeds budget ")?;
    let budget = rest.split(|c: char| !c.is_ascii_digit()).next()?;
    Some((cost.trim().parse().ok()?, budget.parse().ok()?))
}

/// A closure or wrapper the compiler names after its function
/// (`F.func1`, `F.func1.2`, `F.gowrap1`, `F.deferwrap1`).
pub(crate) fn is_closure(name: &str) -> bool {
    name.rsplit('.').take(3).any(|part| {
        ["func", "gowrap", "deferwrap"].iter().any(|p| {
            part.strip_prefix(p)
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        })
    })
}

/// `WHAT (WHY) at POS`: the reason is the last balanced parenthesis
/// before ` at `.
fn parse_hop(h: &str) -> Hop {
    let (body, at) = match h.rsplit_once(" at ") {
        Some((b, p)) => match parse_pos(p.trim()) {
            Some(pos) => (b, Some(pos)),
            None => (h, None),
        },
        None => (h, None),
    };
    let body = body.trim_end();
    if let Some(inner) = body.strip_suffix(')') {
        let mut depth = 0i32;
        for (i, c) in inner.char_indices().rev() {
            match c {
                ')' => depth += 1,
                '(' if depth == 0 => {
                    return Hop {
                        what: inner[..i].trim_end().to_string(),
                        why: inner[i + 1..].to_string(),
                        at,
                    };
                }
                '(' => depth -= 1,
                _ => {}
            }
        }
    }
    Hop {
        what: body.to_string(),
        why: String::new(),
        at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions() {
        let (p, m) = split_pos("./x.go:12:6: can inline New").unwrap();
        assert_eq!(
            (p.file.as_str(), p.line, p.col, m),
            ("./x.go", 12, 6, "can inline New")
        );
        let (p, m) = split_pos("x.go:3: moved to heap: v").unwrap();
        assert_eq!((p.line, p.col, m), (3, 0, "moved to heap: v"));
        assert!(split_pos("go: no such thing").is_none());
        assert!(split_pos("./x.go:notanumber: hi").is_none());
    }

    #[test]
    fn generated_code_is_not_given_to_a_wrapper() {
        let text = "# p\n\
            ./x.go:3:6: cannot inline F: marked go:noinline\n\
            <autogenerated>:1: cannot inline type..eq.p.T: no function body\n\
            <autogenerated>:1: cannot inline p.(*T).Get: wrapper\n\
            <autogenerated>:1: Found IsSliceInBounds\n\
            <autogenerated>:1: removed nil check\n\
            ./x.go:4:9: Found IsInBounds\n\
            ./x.go:5:9: index bounds check elided\n";
        let r = parse(text, "t").unwrap();
        assert!(r.skipped.is_empty(), "{:?}", r.skipped);
        let generated = r
            .functions
            .iter()
            .find(|f| f.name == crate::GENERATED)
            .expect("a (generated code) function");
        assert_eq!(generated.bounds_checks.len(), 1);
        assert_eq!(generated.nil_checks.len(), 1);
        assert!(generated.decl.is_none());
        assert_eq!(generated.nested.len(), 2);
        assert!(!r.functions.iter().any(|f| f.name.contains("type..eq")));
        let f = r.functions.iter().find(|f| f.name == "F").expect("F");
        assert_eq!(f.bounds_checks.len(), 1);
    }

    #[test]
    fn hops() {
        let h = parse_hop("fmt.Fprintln(os.Stdout, fmt.a...) (call parameter) at ./main.go:44:13");
        assert_eq!(h.what, "fmt.Fprintln(os.Stdout, fmt.a...)");
        assert_eq!(h.why, "call parameter");
        assert_eq!(h.at.unwrap().line, 44);
        let h = parse_hop("odd (unbalanced at nowhere");
        assert_eq!(h.why, "");
    }

    #[test]
    fn closures() {
        assert!(is_closure("Counter.func1"));
        assert!(is_closure("main.func1.2"));
        assert!(is_closure("F.gowrap3"));
        assert!(!is_closure("(*T).funcs"));
        assert!(!is_closure("NewT"));
    }

    #[test]
    fn budget() {
        assert_eq!(
            over_budget("function too complex: cost 90 exceeds budget 80"),
            Some((90, 80))
        );
        assert_eq!(over_budget("marked go:noinline"), None);
    }
}
