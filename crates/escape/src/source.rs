//! Which function holds a line: from Go sources, else from the
//! declarations the compiler printed.

use std::collections::HashMap;

use crate::PACKAGE_LEVEL;

/// Function bodies of Go files, found the way gofmt lays them out: a
/// top-level `func` starts at column 0 and its body ends at the first `}`
/// at column 0 after it (or on the same line for a one-line function).
#[derive(Debug, Default, Clone)]
pub struct Sources {
    /// file (as the compiler printed it) → (first line, last line, name).
    files: HashMap<String, Vec<(u32, u32, String)>>,
}

impl Sources {
    /// Adds the text of `file` (named as the compiler prints it).
    pub fn add(&mut self, file: &str, text: &str) {
        self.files.insert(file.to_string(), functions(text));
    }

    /// The function whose body holds `line` of `file`: its first line and
    /// name; `(0, PACKAGE_LEVEL)` outside every body; `None` for a file
    /// not added.
    pub fn enclosing(&self, file: &str, line: u32) -> Option<(u32, String)> {
        let funcs = self.files.get(file)?;
        Some(
            funcs
                .iter()
                .find(|(s, e, _)| *s <= line && line <= *e)
                .map(|(s, _, n)| (*s, n.clone()))
                .unwrap_or((0, PACKAGE_LEVEL.to_string())),
        )
    }
}

/// The top-level functions of a Go file: (first line, last line, name).
fn functions(text: &str) -> Vec<(u32, u32, String)> {
    let mut out: Vec<(u32, u32, String)> = Vec::new();
    let mut open: Option<(u32, String)> = None;
    let mut last = 0u32;
    for (i, line) in text.lines().enumerate() {
        let n = u32::try_from(i + 1).unwrap_or(u32::MAX);
        last = n;
        if let Some(rest) = line.strip_prefix("func ") {
            if let Some((s, name)) = open.take() {
                out.push((s, n.saturating_sub(1), name));
            }
            let name = func_name(rest);
            let body = line.trim_end();
            let opens = body.matches('{').count();
            if opens == 0 || (body.ends_with('}') && opens == body.matches('}').count()) {
                out.push((n, n, name));
            } else {
                open = Some((n, name));
            }
            continue;
        }
        if line.starts_with('}')
            && let Some((s, name)) = open.take()
        {
            out.push((s, n, name));
        }
    }
    if let Some((s, name)) = open {
        out.push((s, last, name));
    }
    out
}

/// The compiler's name for `func ...`: `F`, `T.M`, `(*T).M`.
fn func_name(rest: &str) -> String {
    let rest = rest.trim_start();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let Some(recv) = rest.strip_prefix('(') else {
        return ident(rest);
    };
    let Some(close) = recv.find(')') else {
        return ident(recv);
    };
    let recv_text = &recv[..close];
    let recv_text = recv_text.split('[').next().unwrap_or(recv_text);
    let ty = recv_text.split_whitespace().last().unwrap_or("");
    let method = ident(recv[close + 1..].trim_start());
    match ty.strip_prefix('*') {
        Some(t) => format!("(*{t}).{method}"),
        None => format!("{ty}.{method}"),
    }
}

/// The top-level functions the compiler printed inlining decisions for,
/// per file, by declaration line.
#[derive(Debug, Default)]
pub(crate) struct Decls {
    files: HashMap<String, Vec<(u32, String)>>,
}

impl Decls {
    pub(crate) fn add(&mut self, file: &str, line: u32, name: &str) {
        let v = self.files.entry(file.to_string()).or_default();
        if !v.iter().any(|(l, _)| *l == line) {
            v.push((line, name.to_string()));
            v.sort();
        }
    }

    /// The last function declared at or above `line` in `file`.
    pub(crate) fn enclosing(&self, file: &str, line: u32) -> Option<(u32, String)> {
        self.files
            .get(file)?
            .iter()
            .rev()
            .find(|(l, _)| *l <= line)
            .map(|(l, n)| (*l, n.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(func_name("New(a int) *T {"), "New");
        assert_eq!(func_name("(t *T) Get() int {"), "(*T).Get");
        assert_eq!(func_name("(T) Get() int {"), "T.Get");
        assert_eq!(func_name("(m *Map[K, V]) Put(k K) {"), "(*Map).Put");
        assert_eq!(func_name("Map[K comparable](k K) {"), "Map");
        assert_eq!(func_name("(broken"), "broken");
    }

    #[test]
    fn bodies() {
        let src = "package p\n\nvar x = 1\n\nfunc A() {\n\tx++\n}\n\nfunc B() int { return 1 }\n\nfunc C()\n\nfunc D() {\n\tf := func() {\n\t}\n\t_ = f\n}\n";
        let mut s = Sources::default();
        s.add("./p.go", src);
        assert_eq!(s.enclosing("./p.go", 3), Some((0, PACKAGE_LEVEL.into())));
        assert_eq!(s.enclosing("./p.go", 6), Some((5, "A".into())));
        assert_eq!(s.enclosing("./p.go", 9), Some((9, "B".into())));
        assert_eq!(s.enclosing("./p.go", 11), Some((11, "C".into())));
        assert_eq!(s.enclosing("./p.go", 16), Some((13, "D".into())));
        assert_eq!(s.enclosing("./q.go", 16), None);
    }
}
