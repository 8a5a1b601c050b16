//! The expressions `print` accepts: names (locals and arguments of the
//! frame, then package variables), fields `a.b` (through one pointer),
//! index `a[i]` of arrays, slices, strings and maps (literal or variable
//! keys), dereference `*p`, address `&x`, `len(x)`, `cap(x)`, parentheses,
//! integer and string literals. No calls, no arithmetic.

/// Longest expression accepted.
const MAX_EXPR_LEN: usize = 4096;
/// Deepest nesting accepted.
const MAX_NESTING: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Expr {
    Ident(String),
    Int(i64),
    Str(String),
    Bool(bool),
    Field(Box<Expr>, String),
    Index(Box<Expr>, Box<Expr>),
    Deref(Box<Expr>),
    Addr(Box<Expr>),
    Call(String, Box<Expr>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Ident(String),
    Int(i64),
    Str(String),
    Punct(char),
}

fn lex(s: &str) -> Result<Vec<Tok>, String> {
    let b: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_alphabetic() || c == '_' || c == '~' {
            let start = i;
            while i < b.len() && (b[i].is_alphanumeric() || b[i] == '_' || b[i] == '~') {
                i += 1;
            }
            out.push(Tok::Ident(b[start..i].iter().collect()));
        } else if c.is_ascii_digit() {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == '_') {
                i += 1;
            }
            let text: String = b[start..i].iter().filter(|&&c| c != '_').collect();
            let n = if let Some(h) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
                i64::from_str_radix(h, 16)
            } else if let Some(o) = text.strip_prefix("0o") {
                i64::from_str_radix(o, 8)
            } else if let Some(bin) = text.strip_prefix("0b") {
                i64::from_str_radix(bin, 2)
            } else {
                text.parse()
            }
            .map_err(|_| format!("invalid number {text:?}"))?;
            out.push(Tok::Int(n));
        } else if c == '"' {
            i += 1;
            let mut v = String::new();
            loop {
                let Some(&ch) = b.get(i) else {
                    return Err("unterminated string literal".into());
                };
                i += 1;
                match ch {
                    '"' => break,
                    '\\' => {
                        let Some(&e) = b.get(i) else {
                            return Err("unterminated string literal".into());
                        };
                        i += 1;
                        v.push(match e {
                            'n' => '\n',
                            't' => '\t',
                            'r' => '\r',
                            '0' => '\0',
                            other => other,
                        });
                    }
                    ch => v.push(ch),
                }
            }
            out.push(Tok::Str(v));
        } else if c == '`' {
            i += 1;
            let start = i;
            while i < b.len() && b[i] != '`' {
                i += 1;
            }
            if i >= b.len() {
                return Err("unterminated raw string literal".into());
            }
            out.push(Tok::Str(b[start..i].iter().collect()));
            i += 1;
        } else if ".[]()*&-".contains(c) {
            out.push(Tok::Punct(c));
            i += 1;
        } else {
            return Err(format!(
                "unexpected {c:?} in expression (supported: names, a.b, a[i], *p, &x, len(x), cap(x))"
            ));
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }
    fn expect(&mut self, c: char) -> Result<(), String> {
        match self.next() {
            Some(Tok::Punct(p)) if p == c => Ok(()),
            Some(t) => Err(format!("expected {c:?}, found {t:?}")),
            None => Err(format!("expected {c:?} at the end of the expression")),
        }
    }
    fn enter(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err("expression nested too deeply".into());
        }
        Ok(())
    }

    fn unary(&mut self) -> Result<Expr, String> {
        self.enter()?;
        let e = match self.peek() {
            Some(Tok::Punct('*')) => {
                self.pos += 1;
                Expr::Deref(Box::new(self.unary()?))
            }
            Some(Tok::Punct('&')) => {
                self.pos += 1;
                Expr::Addr(Box::new(self.unary()?))
            }
            Some(Tok::Punct('-')) => {
                self.pos += 1;
                match self.next() {
                    Some(Tok::Int(n)) => Expr::Int(-n),
                    _ => return Err("'-' is only supported before a number".into()),
                }
            }
            _ => self.postfix()?,
        };
        self.depth -= 1;
        Ok(e)
    }

    fn postfix(&mut self) -> Result<Expr, String> {
        let mut e = self.primary()?;
        loop {
            match self.peek() {
                Some(Tok::Punct('.')) => {
                    self.pos += 1;
                    match self.next() {
                        Some(Tok::Ident(n)) => e = Expr::Field(Box::new(e), n),
                        Some(Tok::Punct('(')) => {
                            return Err("type assertions are not supported".into());
                        }
                        _ => return Err("expected a field name after '.'".into()),
                    }
                }
                Some(Tok::Punct('[')) => {
                    self.pos += 1;
                    self.enter()?;
                    let i = self.unary()?;
                    self.depth -= 1;
                    if matches!(self.peek(), Some(Tok::Punct(':'))) {
                        return Err("slicing is not supported".into());
                    }
                    self.expect(']')?;
                    e = Expr::Index(Box::new(e), Box::new(i));
                }
                _ => return Ok(e),
            }
        }
    }

    fn primary(&mut self) -> Result<Expr, String> {
        match self.next() {
            Some(Tok::Ident(n)) => {
                if matches!(self.peek(), Some(Tok::Punct('('))) {
                    if n != "len" && n != "cap" {
                        return Err(format!(
                            "function calls are not supported (only len and cap): {n}(...)"
                        ));
                    }
                    self.pos += 1;
                    let arg = self.unary()?;
                    self.expect(')')?;
                    return Ok(Expr::Call(n, Box::new(arg)));
                }
                Ok(match n.as_str() {
                    "true" => Expr::Bool(true),
                    "false" => Expr::Bool(false),
                    _ => Expr::Ident(n),
                })
            }
            Some(Tok::Int(n)) => Ok(Expr::Int(n)),
            Some(Tok::Str(s)) => Ok(Expr::Str(s)),
            Some(Tok::Punct('(')) => {
                self.enter()?;
                let e = self.unary()?;
                self.depth -= 1;
                self.expect(')')?;
                Ok(e)
            }
            Some(t) => Err(format!("unexpected {t:?}")),
            None => Err("empty expression".into()),
        }
    }
}

/// Parses an expression.
pub(crate) fn parse(s: &str) -> Result<Expr, String> {
    if s.len() > MAX_EXPR_LEN {
        return Err(format!("expression longer than {MAX_EXPR_LEN} bytes"));
    }
    let toks = lex(s)?;
    let mut p = Parser {
        toks,
        pos: 0,
        depth: 0,
    };
    let e = p.unary()?;
    if let Some(t) = p.peek() {
        return Err(format!("unexpected {t:?} after the expression"));
    }
    Ok(e)
}

/// The dotted name an expression spells, if it is only names and fields
/// (`main.x`, `runtime.allgs`, `"net/http".DefaultServeMux`).
pub(crate) fn dotted(e: &Expr) -> Option<String> {
    match e {
        Expr::Ident(n) => Some(n.clone()),
        Expr::Str(s) => Some(s.clone()),
        Expr::Field(x, f) => Some(format!("{}.{f}", dotted(x)?)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_supported_forms() {
        assert_eq!(parse("merr").unwrap(), Expr::Ident("merr".into()));
        assert_eq!(
            parse("*m.values[\"a\"]").unwrap(),
            Expr::Deref(Box::new(Expr::Index(
                Box::new(Expr::Field(
                    Box::new(Expr::Ident("m".into())),
                    "values".into()
                )),
                Box::new(Expr::Str("a".into()))
            )))
        );
        assert_eq!(
            parse("len(s) ").unwrap(),
            Expr::Call("len".into(), Box::new(Expr::Ident("s".into())))
        );
        assert_eq!(
            parse("(a)[0x10]").unwrap(),
            Expr::Index(Box::new(Expr::Ident("a".into())), Box::new(Expr::Int(16)))
        );
        assert_eq!(
            dotted(&parse("\"net/http\".DefaultServeMux").unwrap()).as_deref(),
            Some("net/http.DefaultServeMux")
        );
    }

    #[test]
    fn rejects_what_it_does_not_support() {
        for bad in ["f(x)", "a +", "a[", "\"x", "a.(T)", "", "((((", "a $ b"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert!(parse(&"(".repeat(200)).is_err());
        assert!(parse(&"*".repeat(200)).is_err());
    }
}
