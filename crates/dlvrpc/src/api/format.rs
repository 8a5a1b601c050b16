//! Variables as Delve prints them (service/api/prettyprint.go): one line
//! (`SinglelineString`: `*main.MyError nil`, `error(*main.MyError) nil`,
//! `main.T {a: 1, b: "x"}`, `[]int len: 3, cap: 4, [1,2,3]`,
//! `map[string]int ["a": 1, ]`) for `locals`, `args` and `stack -full`,
//! several (`MultilineString`) for `print` when the value is nested.
//!
//! Works on Delve's `api.Variable` shape only; a malformed variable (a
//! pointer without its target, an interface without its value) prints as
//! `nil` or `...` rather than failing.

use std::fmt::Write as _;

use gosleuth_runtime::values::{Kind as ValueKind, go_quote};

use super::variable::{Variable, kind};

/// Delve's single-line rendering of a variable (with its type at the top).
pub fn format(v: &Variable) -> String {
    single_line(v)
}

/// Strings longer than this make a composite value print on several lines.
const SHORT_STRING: usize = 7;
const INDENT: &str = "\t";

#[derive(Debug, Clone, Copy, Default)]
struct Flags {
    top: bool,
    with_type: bool,
    newlines: bool,
}

/// One line, with types: what `locals` and `stack -full` print.
pub fn single_line(v: &Variable) -> String {
    let mut s = String::new();
    write_var(
        &mut s,
        v,
        Flags {
            top: true,
            with_type: true,
            newlines: false,
        },
        "",
    );
    s
}

/// Nested values on several lines: what `print` shows.
pub fn multi_line(v: &Variable, indent: &str) -> String {
    let mut s = String::new();
    write_var(
        &mut s,
        v,
        Flags {
            top: true,
            with_type: true,
            newlines: true,
        },
        indent,
    );
    s
}

fn type_name(v: &Variable) -> String {
    if v.type_name.contains('/') {
        format!("{:?}", v.type_name)
    } else {
        v.type_name.clone()
    }
}

fn write_var(out: &mut String, v: &Variable, f: Flags, indent: &str) {
    if !v.unreadable.is_empty() {
        let _ = write!(out, "(unreadable {})", v.unreadable);
        return;
    }
    if !f.top && v.addr == 0 && v.value.is_empty() {
        if f.with_type && v.type_name != "void" && !v.type_name.is_empty() {
            let _ = write!(out, "{} nil", v.type_name);
        } else {
            out.push_str("nil");
        }
        return;
    }
    let inner = Flags { top: false, ..f };
    match v.kind {
        kind::SLICE => {
            if f.with_type {
                let _ = write!(out, "{} len: {}, cap: {}, ", v.type_name, v.len, v.cap);
            }
            if v.base == 0 && v.children.is_empty() {
                out.push_str("nil");
            } else {
                write_elements(out, v, f, indent);
            }
        }
        kind::ARRAY => {
            if f.with_type {
                let _ = write!(out, "{} ", v.type_name);
            }
            write_elements(out, v, f, indent);
        }
        kind::PTR => match v.children.first() {
            None => out.push_str("nil"),
            Some(_) if v.type_name.is_empty() => out.push_str("nil"),
            Some(target) if target.only_addr && target.addr != 0 => {
                let _ = write!(out, "({})({:#x})", type_name(v), target.addr);
            }
            Some(target) => {
                if f.top && f.newlines && target.addr != 0 {
                    let _ = writeln!(out, "({})({:#x})", type_name(v), target.addr);
                }
                out.push('*');
                write_var(out, target, inner, indent);
            }
        },
        kind::UNSAFE_POINTER => match v.children.first() {
            None => out.push_str("unsafe.Pointer(nil)"),
            Some(c) => {
                let _ = write!(out, "unsafe.Pointer({:#x})", c.addr);
            }
        },
        kind::CHAN if f.newlines => write_struct(out, v, f, indent),
        kind::CHAN => match (v.children.first(), v.children.get(1)) {
            (Some(len), Some(cap)) => {
                let _ = write!(out, "{} {}/{}", v.type_name, len.value, cap.value);
            }
            _ => {
                let _ = write!(out, "{} nil", v.type_name);
            }
        },
        kind::STRUCT => {
            let mut f = f;
            if !v.value.is_empty() {
                let _ = write!(out, "{}({})", v.type_name, v.value);
                f.with_type = false;
            }
            write_struct(out, v, f, indent);
        }
        kind::INTERFACE => write_interface(out, v, f, indent),
        kind::MAP => write_map(out, v, f, indent),
        kind::FUNC => {
            if v.value.is_empty() {
                out.push_str("nil");
            } else {
                out.push_str(&v.value);
            }
        }
        _ => write_basic(out, v),
    }
}

fn write_interface(out: &mut String, v: &Variable, f: Flags, indent: &str) {
    // An interface at address 0 (out of scope) prints as nil, as in Delve.
    if v.addr == 0 {
        out.push_str("nil");
        return;
    }
    let Some(data) = v.children.first() else {
        let _ = write!(out, "{} nil", v.type_name);
        return;
    };
    if f.with_type {
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
    let inner = Flags {
        top: false,
        with_type: !f.with_type,
        newlines: f.newlines,
    };
    if data.kind == kind::PTR {
        match data.children.first() {
            None => out.push_str("..."),
            Some(t) if t.addr == 0 => out.push_str("nil"),
            // Delve prints the address of the pointer itself here.
            Some(t) if t.only_addr => {
                let _ = write!(out, "{:#x}", data.addr);
            }
            Some(_) => write_var(out, data, inner, indent),
        }
    } else if data.only_addr {
        let _ = write!(out, "*(*{})({:#x})", type_name(v), v.addr);
    } else {
        write_var(out, data, inner, indent);
    }
}

/// Kind of a value seen through pointers, and whether a pointer was
/// crossed.
fn deref_kind(mut v: &Variable) -> (u32, bool) {
    let mut ptr = false;
    while v.kind == kind::PTR {
        ptr = true;
        match v.children.first() {
            Some(c) => v = c,
            None => break,
        }
    }
    (v.kind, ptr)
}

fn nested(v: &Variable) -> bool {
    let (k, ptr) = deref_kind(v);
    match k {
        kind::SLICE | kind::ARRAY | kind::STRUCT | kind::MAP | kind::INTERFACE => true,
        kind::STRING => ptr || v.value.len() > SHORT_STRING,
        _ => false,
    }
}

fn write_elements(out: &mut String, v: &Variable, f: Flags, indent: &str) {
    // Delve's shouldNewlineArray: by the first element's kind; strings
    // when any is long.
    let nl = f.newlines
        && v.children
            .first()
            .is_some_and(|first| match deref_kind(first) {
                (kind::STRING, false) => v.children.iter().any(|c| c.value.len() > SHORT_STRING),
                _ => nested(first),
            });
    let deeper = format!("{indent}{INDENT}");
    out.push('[');
    let n = v.children.len();
    for (i, c) in v.children.iter().enumerate() {
        if nl {
            let _ = write!(out, "\n{deeper}");
        }
        write_var(
            out,
            c,
            Flags {
                top: false,
                with_type: false,
                newlines: nl,
            },
            &deeper,
        );
        if i + 1 != n || nl {
            out.push(',');
        }
    }
    close_list(out, v.len, n, nl, &deeper, indent);
}

fn write_struct(out: &mut String, v: &Variable, f: Flags, indent: &str) {
    let n = v.children.len();
    if n == 0 && usize::try_from(v.len).is_ok_and(|l| l != 0) {
        let _ = write!(out, "(*{})({:#x})", type_name(v), v.addr);
        return;
    }
    if f.with_type {
        let _ = write!(out, "{} ", v.type_name);
    }
    let nl = f.newlines && v.children.iter().any(nested);
    let deeper = format!("{indent}{INDENT}");
    out.push('{');
    for (i, c) in v.children.iter().enumerate() {
        if nl {
            let _ = write!(out, "\n{deeper}");
        }
        let _ = write!(out, "{}: ", c.name);
        write_var(
            out,
            c,
            Flags {
                top: false,
                with_type: true,
                newlines: nl,
            },
            &deeper,
        );
        if i + 1 != n || nl {
            out.push(',');
            if !nl {
                out.push(' ');
            }
        }
    }
    if usize::try_from(v.len).is_ok_and(|l| l > n) {
        if nl {
            let _ = write!(out, "\n{deeper}");
        } else {
            out.push(',');
        }
        let _ = write!(out, "...+{} more", v.len as usize - n);
    }
    if nl {
        let _ = write!(out, "\n{indent}");
    }
    out.push('}');
}

fn write_map(out: &mut String, v: &Variable, f: Flags, indent: &str) {
    if f.with_type {
        let _ = write!(out, "{} ", v.type_name);
    }
    if v.base == 0 && v.children.is_empty() {
        out.push_str("nil");
        return;
    }
    let nl = f.newlines && !v.children.is_empty();
    let deeper = format!("{indent}{INDENT}");
    out.push('[');
    let pairs = v.children.len() / 2;
    for (i, pair) in v.children.chunks_exact(2).enumerate() {
        if nl {
            let _ = write!(out, "\n{deeper}");
        }
        write_var(out, &pair[0], Flags::default(), &deeper);
        out.push_str(": ");
        write_var(
            out,
            &pair[1],
            Flags {
                newlines: nl,
                ..Flags::default()
            },
            &deeper,
        );
        // Delve's condition (`i != len(Children)-1`, i stepping by two)
        // holds for every pair of a well-formed map: `["a": 1, ]`.
        if Some(2 * i) != v.children.len().checked_sub(1) || nl {
            out.push_str(", ");
        }
    }
    close_list(out, v.len, pairs, nl, &deeper, indent);
}

/// Ends an array, slice or map of `len` elements of which `shown` were
/// printed: Delve's `...` (none shown) or `...+N more`, then `]`.
fn close_list(out: &mut String, len: i64, shown: usize, nl: bool, deeper: &str, indent: &str) {
    if usize::try_from(len).is_ok_and(|l| l != shown) {
        if shown == 0 {
            out.push_str("...");
        } else {
            if nl {
                let _ = write!(out, "\n{deeper}");
            } else {
                out.push(',');
            }
            let missing = usize::try_from(len).unwrap_or(0).saturating_sub(shown);
            let _ = write!(out, "...+{missing} more");
        }
    }
    if nl {
        let _ = write!(out, "\n{indent}");
    }
    out.push(']');
}

fn write_basic(out: &mut String, v: &Variable) {
    match v.kind {
        kind::STRING => {
            let mut s = go_quote(&v.value);
            let shown = v.value.len();
            if let Ok(len) = usize::try_from(v.len) {
                if len > shown {
                    s = go_quote(&format!("{}...+{} more", v.value, len - shown));
                }
            }
            out.push_str(&s);
        }
        kind::COMPLEX64 | kind::COMPLEX128 => match (v.children.first(), v.children.get(1)) {
            (Some(re), Some(im)) => {
                let _ = write!(out, "({} + {}i)", re.value, im.value);
            }
            _ => out.push_str(&v.value),
        },
        k if v.value.is_empty() => {
            let _ = write!(out, "(unknown {})", kind_name(k));
        }
        _ => out.push_str(&v.value),
    }
}

/// `reflect.Kind.String()`.
pub fn kind_name(k: u32) -> &'static str {
    const KINDS: [ValueKind; 27] = [
        ValueKind::Invalid,
        ValueKind::Bool,
        ValueKind::Int,
        ValueKind::Int8,
        ValueKind::Int16,
        ValueKind::Int32,
        ValueKind::Int64,
        ValueKind::Uint,
        ValueKind::Uint8,
        ValueKind::Uint16,
        ValueKind::Uint32,
        ValueKind::Uint64,
        ValueKind::Uintptr,
        ValueKind::Float32,
        ValueKind::Float64,
        ValueKind::Complex64,
        ValueKind::Complex128,
        ValueKind::Array,
        ValueKind::Chan,
        ValueKind::Func,
        ValueKind::Interface,
        ValueKind::Map,
        ValueKind::Ptr,
        ValueKind::Slice,
        ValueKind::String,
        ValueKind::Struct,
        ValueKind::UnsafePointer,
    ];
    KINDS.get(k as usize).map_or("invalid", |k| k.name())
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

    fn var(name: &str, ty: &str, k: u32, value: &str) -> Variable {
        Variable {
            name: name.into(),
            type_name: ty.into(),
            real_type: ty.into(),
            kind: k,
            value: value.into(),
            addr: 0xc000010000,
            ..Variable::default()
        }
    }

    #[test]
    fn scalars_strings_and_unreadable() {
        assert_eq!(single_line(&var("x", "int", kind::INT, "42")), "42");
        let mut s = var("s", "string", kind::STRING, "metrics.raw_channel");
        s.len = 19;
        assert_eq!(single_line(&s), "\"metrics.raw_channel\"");
        s.len = 25;
        assert_eq!(single_line(&s), "\"metrics.raw_channel...+6 more\"");
        let mut u = var("u", "int", kind::INT, "");
        u.unreadable = "could not find loclist entry".into();
        assert_eq!(single_line(&u), "(unreadable could not find loclist entry)");
        assert_eq!(go_quote("a\"b\n\u{1}"), "\"a\\\"b\\n\\x01\"");
    }

    #[test]
    fn pointers_interfaces_and_typed_nil() {
        // *main.Metrics pointing at a struct.
        let mut m = var("m", "*main.Metrics", kind::PTR, "");
        let mut target = var("", "main.Metrics", kind::STRUCT, "");
        target.only_addr = true;
        m.children.push(target);
        assert_eq!(single_line(&m), "(*main.Metrics)(0xc000010000)");
        // error(*main.MyError) nil
        let mut err = var("err", "error", kind::INTERFACE, "");
        let mut data = var("", "*main.MyError", kind::PTR, "");
        let mut nil_target = var("", "main.MyError", kind::STRUCT, "");
        nil_target.addr = 0;
        data.children.push(nil_target);
        err.children.push(data);
        assert_eq!(single_line(&err), "error(*main.MyError) nil");
        // A nil pointer.
        let mut merr = var("merr", "*main.MyError", kind::PTR, "");
        let mut t = var("", "main.MyError", kind::STRUCT, "");
        t.addr = 0;
        merr.children.push(t);
        assert_eq!(single_line(&merr), "*main.MyError nil");
        // Malformed: an interface without data does not panic.
        let bare = var("e", "error", kind::INTERFACE, "");
        assert_eq!(single_line(&bare), "error nil");
    }

    #[test]
    fn composites() {
        let mut sl = var("a", "[]int", kind::SLICE, "");
        sl.len = 3;
        sl.cap = 4;
        sl.base = 1;
        for n in ["1", "2"] {
            sl.children.push(var("", "int", kind::INT, n));
        }
        assert_eq!(single_line(&sl), "[]int len: 3, cap: 4, [1,2,...+1 more]");
        let mut st = var("p", "main.Point", kind::STRUCT, "");
        st.len = 2;
        st.children.push(var("X", "int", kind::INT, "1"));
        st.children
            .push(var("Name", "string", kind::STRING, "a long name"));
        st.children[1].len = 11;
        assert_eq!(single_line(&st), "main.Point {X: 1, Name: \"a long name\"}");
        assert_eq!(
            multi_line(&st, ""),
            "main.Point {\n\tX: 1,\n\tName: \"a long name\",\n}"
        );
        let mut ch = var("c", "chan int", kind::CHAN, "");
        ch.children.push(var("qcount", "uint", kind::UINT, "3"));
        ch.children.push(var("dataqsiz", "uint", kind::UINT, "10"));
        assert_eq!(single_line(&ch), "chan int 3/10");
    }
}
