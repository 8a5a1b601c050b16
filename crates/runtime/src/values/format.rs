//! One-line text of a [`Variable`], as Delve's `SinglelineString`
//! (service/api/prettyprint.go) writes it: `*main.MyError nil`,
//! `error(*main.MyError) nil`, `main.T {a: 1, b: "x"}`,
//! `[]int len: 3, cap: 4, [1,2,3]`, `map[string]int ["a": 1, ]`.

use std::fmt::Write;

use super::{Variable, kind};

/// Delve's single-line rendering of a variable (with its type at the top).
pub fn format(v: &Variable) -> String {
    let mut s = String::new();
    write(&mut s, v, true, true);
    s
}

/// Go's `strconv.Quote`-like quoting (`%q`).
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\x7f' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `(T)(0x..)`, quoting T when it has a package path with slashes.
fn type_at(out: &mut String, ty: &str, addr: u64, star: bool) {
    let star = if star { "*" } else { "" };
    if ty.contains('/') {
        let _ = write!(out, "({star}{})({addr:#x})", go_quote(ty));
    } else {
        let _ = write!(out, "({star}{ty})({addr:#x})");
    }
}

fn write(out: &mut String, v: &Variable, top: bool, include_type: bool) {
    if !v.unreadable.is_empty() {
        let _ = write!(out, "(unreadable {})", v.unreadable);
        return;
    }
    if !top && v.addr == 0 && v.value.is_empty() {
        if include_type && v.type_name != "void" {
            let _ = write!(out, "{} nil", v.type_name);
        } else {
            out.push_str("nil");
        }
        return;
    }
    match v.kind {
        kind::SLICE => {
            if include_type {
                let _ = write!(out, "{} len: {}, cap: {}, ", v.type_name, v.len, v.cap);
            }
            if v.base == 0 && v.children.is_empty() {
                out.push_str("nil");
                return;
            }
            elements(out, v);
        }
        kind::ARRAY => {
            if include_type {
                let _ = write!(out, "{} ", v.type_name);
            }
            elements(out, v);
        }
        kind::PTR => {
            if v.type_name.is_empty() || v.children.is_empty() {
                out.push_str("nil");
            } else if v.children[0].only_addr && v.children[0].addr != 0 {
                type_at(out, &v.type_name, v.children[0].addr, false);
            } else {
                out.push('*');
                write(out, &v.children[0], false, include_type);
            }
        }
        kind::UNSAFE_POINTER => match v.children.first() {
            None => out.push_str("unsafe.Pointer(nil)"),
            Some(c) => {
                let _ = write!(out, "unsafe.Pointer({:#x})", c.addr);
            }
        },
        kind::CHAN => {
            if v.children.len() < 2 {
                let _ = write!(out, "{} nil", v.type_name);
            } else {
                let _ = write!(
                    out,
                    "{} {}/{}",
                    v.type_name, v.children[0].value, v.children[1].value
                );
            }
        }
        kind::STRUCT => {
            let mut include_type = include_type;
            if !v.value.is_empty() {
                let _ = write!(out, "{}({})", v.type_name, v.value);
                include_type = false;
            }
            structure(out, v, include_type);
        }
        kind::INTERFACE => interface(out, v, include_type),
        kind::MAP => map(out, v, include_type),
        kind::FUNC => {
            if v.value.is_empty() {
                out.push_str("nil");
            } else {
                out.push_str(&v.value);
            }
        }
        _ => basic(out, v),
    }
}

fn interface(out: &mut String, v: &Variable, include_type: bool) {
    if v.addr == 0 {
        out.push_str("nil");
        return;
    }
    let Some(data) = v.children.first() else {
        let _ = write!(out, "{} nil", v.type_name);
        return;
    };
    if include_type {
        if data.kind == kind::INVALID {
            let _ = write!(out, "{} ", v.type_name);
            if data.addr == 0 {
                out.push_str("nil");
                return;
            }
        } else {
            let _ = write!(out, "{}({}) ", v.type_name, data.type_name);
        }
    }
    if data.kind == kind::PTR {
        match data.children.first() {
            None => out.push_str("..."),
            Some(c) if c.addr == 0 => out.push_str("nil"),
            Some(c) if c.only_addr => {
                let _ = write!(out, "0x{:x}", data.addr);
            }
            Some(_) => write(out, data, false, !include_type),
        }
    } else if data.only_addr {
        out.push('*');
        type_at(out, &v.type_name, v.addr, true);
    } else {
        write(out, data, false, !include_type);
    }
}

fn structure(out: &mut String, v: &Variable, include_type: bool) {
    if v.len != v.children.len() as i64 && v.children.is_empty() {
        type_at(out, &v.type_name, v.addr, true);
        return;
    }
    if include_type {
        let _ = write!(out, "{} ", v.type_name);
    }
    out.push('{');
    for (i, c) in v.children.iter().enumerate() {
        let _ = write!(out, "{}: ", c.name);
        write(out, c, false, true);
        if i + 1 != v.children.len() {
            out.push_str(", ");
        }
    }
    if v.children.len() as i64 != v.len {
        let _ = write!(out, ",...+{} more", v.len - v.children.len() as i64);
    }
    out.push('}');
}

fn map(out: &mut String, v: &Variable, include_type: bool) {
    if include_type {
        let _ = write!(out, "{} ", v.type_name);
    }
    if v.base == 0 && v.children.is_empty() {
        out.push_str("nil");
        return;
    }
    out.push('[');
    for pair in v.children.chunks(2) {
        write(out, &pair[0], false, false);
        out.push_str(": ");
        if let Some(val) = pair.get(1) {
            write(out, val, false, false);
        }
        out.push_str(", ");
    }
    let shown = (v.children.len() / 2) as i64;
    if shown != v.len {
        if shown != 0 {
            let _ = write!(out, ",...+{} more", v.len - shown);
        } else {
            out.push_str("...");
        }
    }
    out.push(']');
}

fn elements(out: &mut String, v: &Variable) {
    out.push('[');
    for (i, c) in v.children.iter().enumerate() {
        write(out, c, false, false);
        if i + 1 != v.children.len() {
            out.push(',');
        }
    }
    if v.children.len() as i64 != v.len {
        if !v.children.is_empty() {
            let _ = write!(out, ",...+{} more", v.len - v.children.len() as i64);
        } else {
            out.push_str("...");
        }
    }
    out.push(']');
}

fn basic(out: &mut String, v: &Variable) {
    match v.kind {
        kind::STRING => {
            let mut s = v.value.clone();
            if (s.len() as i64) < v.len {
                let _ = write!(s, "...+{} more", v.len - v.value.len() as i64);
            }
            out.push_str(&go_quote(&s));
        }
        kind::COMPLEX64 | kind::COMPLEX128 if v.children.len() == 2 => {
            let _ = write!(out, "({} + {}i)", v.children[0].value, v.children[1].value);
        }
        _ if v.value.is_empty() => {
            let _ = write!(out, "(unknown {})", kind_name(v.kind));
        }
        _ => out.push_str(&v.value),
    }
}

/// `reflect.Kind.String()`.
pub fn kind_name(k: u32) -> &'static str {
    const NAMES: [&str; 27] = [
        "invalid",
        "bool",
        "int",
        "int8",
        "int16",
        "int32",
        "int64",
        "uint",
        "uint8",
        "uint16",
        "uint32",
        "uint64",
        "uintptr",
        "float32",
        "float64",
        "complex64",
        "complex128",
        "array",
        "chan",
        "func",
        "interface",
        "map",
        "ptr",
        "slice",
        "string",
        "struct",
        "unsafe.Pointer",
    ];
    NAMES.get(k as usize).copied().unwrap_or("invalid")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar(ty: &str, k: u32, value: &str) -> Variable {
        Variable {
            type_name: ty.into(),
            real_type: ty.into(),
            kind: k,
            value: value.into(),
            addr: 0x1000,
            ..Variable::default()
        }
    }

    #[test]
    fn like_delve_singleline() {
        // A nil pointer: the pointee was never loaded (address 0).
        let nil_ptr = Variable {
            type_name: "*main.MyError".into(),
            kind: kind::PTR,
            value: "0".into(),
            len: 1,
            children: vec![Variable {
                type_name: "main.MyError".into(),
                kind: kind::STRUCT,
                ..Variable::default()
            }],
            addr: 0x1000,
            ..Variable::default()
        };
        assert_eq!(format(&nil_ptr), "*main.MyError nil");
        // A typed nil in an interface.
        let mut data = nil_ptr.clone();
        data.name = "data".into();
        let iface = Variable {
            type_name: "error".into(),
            kind: kind::INTERFACE,
            addr: 0x2000,
            children: vec![data],
            ..Variable::default()
        };
        assert_eq!(format(&iface), "error(*main.MyError) nil");
        // A nil interface.
        let nil_iface = Variable {
            children: vec![Variable {
                type_name: "void".into(),
                ..Variable::default()
            }],
            ..iface.clone()
        };
        assert_eq!(format(&nil_iface), "error nil");
        // A struct, a slice, a map, a string cut short.
        let mut a = scalar("int", kind::INT, "1");
        a.name = "a".into();
        let mut b = scalar("string", kind::STRING, "x");
        b.name = "b".into();
        b.len = 1;
        let t = Variable {
            type_name: "main.T".into(),
            kind: kind::STRUCT,
            len: 2,
            addr: 0x3000,
            children: vec![a, b],
            ..Variable::default()
        };
        assert_eq!(format(&t), "main.T {a: 1, b: \"x\"}");
        let slice = Variable {
            type_name: "[]int".into(),
            kind: kind::SLICE,
            len: 3,
            cap: 4,
            base: 0x4000,
            addr: 0x3000,
            children: ["1", "2", "3"]
                .iter()
                .map(|v| scalar("int", kind::INT, v))
                .collect(),
            ..Variable::default()
        };
        assert_eq!(format(&slice), "[]int len: 3, cap: 4, [1,2,3]");
        let mut key = scalar("string", kind::STRING, "a");
        key.len = 1;
        let map = Variable {
            type_name: "map[string]int".into(),
            kind: kind::MAP,
            len: 1,
            base: 0x5000,
            addr: 0x3000,
            children: vec![key, scalar("int", kind::INT, "1")],
            ..Variable::default()
        };
        assert_eq!(format(&map), "map[string]int [\"a\": 1, ]");
        let mut long = scalar("string", kind::STRING, "abc");
        long.len = 10;
        assert_eq!(format(&long), "\"abc...+7 more\"");
        let chan = Variable {
            type_name: "chan int".into(),
            kind: kind::CHAN,
            addr: 0x3000,
            children: vec![
                scalar("uint", kind::UINT, "3"),
                scalar("uint", kind::UINT, "10"),
            ],
            ..Variable::default()
        };
        assert_eq!(format(&chan), "chan int 3/10");
        let unreadable = Variable {
            unreadable: "optimized away".into(),
            ..Variable::default()
        };
        assert_eq!(format(&unreadable), "(unreadable optimized away)");
        // A struct beyond the load depth, and a pointer not followed.
        let deep = Variable {
            type_name: "sync/atomic.Uint64".into(),
            kind: kind::STRUCT,
            len: 3,
            addr: 0x6000,
            ..Variable::default()
        };
        assert_eq!(format(&deep), "(*\"sync/atomic.Uint64\")(0x6000)");
        let ptr = Variable {
            type_name: "*main.T".into(),
            kind: kind::PTR,
            addr: 0x3000,
            children: vec![Variable {
                only_addr: true,
                addr: 0x7000,
                ..Variable::default()
            }],
            ..Variable::default()
        };
        assert_eq!(format(&ptr), "(*main.T)(0x7000)");
    }

    #[test]
    fn quotes_like_go() {
        assert_eq!(go_quote("a\"b\\c\n\t\u{1}"), "\"a\\\"b\\\\c\\n\\t\\x01\"");
        assert_eq!(go_quote("héllo"), "\"héllo\"");
    }
}
