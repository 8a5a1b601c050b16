//! Delve's `api.Variable`, and the conversion from the runtime's typed
//! value tree ([`gosleuth_runtime::values::Value`]) to it: Delve carries
//! every scalar as a string in `value` (`42`, `1.5`, `main.f`, a pointer
//! as its decimal address, `FlagA|FlagB (6)` for a named constant, a
//! `time.Time` as RFC 3339 with its monotonic reading), which is made here
//! and nowhere else.

use gosleuth_runtime::values::{Scalar, Value, VarFlags};
use serde::Serialize;

/// Delve's `reflect.Kind` numbering, as `api.Variable.kind` carries it.
pub type Kind = u32;

/// `reflect.Kind` values.
pub mod kind {
    use super::Kind;
    pub const INVALID: Kind = 0;
    pub const BOOL: Kind = 1;
    pub const INT: Kind = 2;
    pub const INT8: Kind = 3;
    pub const INT16: Kind = 4;
    pub const INT32: Kind = 5;
    pub const INT64: Kind = 6;
    pub const UINT: Kind = 7;
    pub const UINT8: Kind = 8;
    pub const UINT16: Kind = 9;
    pub const UINT32: Kind = 10;
    pub const UINT64: Kind = 11;
    pub const UINTPTR: Kind = 12;
    pub const FLOAT32: Kind = 13;
    pub const FLOAT64: Kind = 14;
    pub const COMPLEX64: Kind = 15;
    pub const COMPLEX128: Kind = 16;
    pub const ARRAY: Kind = 17;
    pub const CHAN: Kind = 18;
    pub const FUNC: Kind = 19;
    pub const INTERFACE: Kind = 20;
    pub const MAP: Kind = 21;
    pub const PTR: Kind = 22;
    pub const SLICE: Kind = 23;
    pub const STRING: Kind = 24;
    pub const STRUCT: Kind = 25;
    pub const UNSAFE_POINTER: Kind = 26;
}

/// Delve's `api.VariableFlags`.
pub mod flags {
    /// A local variable that escaped to the heap (shown dereferenced).
    pub const ESCAPED: u32 = 1 << 0;
    /// Shadowed by a variable of the same name in an inner scope.
    pub const SHADOWED: u32 = 1 << 1;
    /// A constant.
    pub const CONSTANT: u32 = 1 << 2;
    /// A function argument.
    pub const ARGUMENT: u32 = 1 << 3;
    /// A function result.
    pub const RETURN_ARGUMENT: u32 = 1 << 4;
    /// `addr` is made up: the value was assembled from registers.
    pub const FAKE_ADDRESS: u32 = 1 << 5;
}

/// Delve's `api.Variable`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Variable {
    pub name: String,
    pub addr: u64,
    #[serde(rename = "onlyAddr")]
    pub only_addr: bool,
    /// Go type name (`*main.MyError`, `error`, `[]int`).
    #[serde(rename = "type")]
    pub type_name: String,
    /// The dynamic type for interfaces, else the same as `type`.
    #[serde(rename = "realType")]
    pub real_type: String,
    pub flags: u32,
    pub kind: Kind,
    /// Scalars, strings (possibly cut), function names; empty otherwise.
    pub value: String,
    pub len: i64,
    pub cap: i64,
    pub children: Vec<Variable>,
    /// Address of the underlying data (strings, slices, maps, channels).
    pub base: u64,
    /// Why the value cannot be read, when it cannot.
    pub unreadable: String,
    #[serde(rename = "LocationExpr")]
    pub location_expr: String,
    #[serde(rename = "DeclLine")]
    pub decl_line: i64,
}

impl From<Value> for Variable {
    fn from(v: Value) -> Variable {
        let value = value_text(v.scalar, v.constant);
        Variable {
            name: v.name,
            addr: v.addr,
            only_addr: v.only_addr,
            type_name: v.type_name,
            real_type: v.real_type,
            flags: flag_bits(v.flags),
            kind: v.kind as Kind,
            value,
            len: v.len,
            cap: v.cap,
            children: v.children.into_iter().map(Variable::from).collect(),
            base: v.base,
            unreadable: v.unreadable.unwrap_or_default(),
            location_expr: v.location,
            decl_line: v.decl_line,
        }
    }
}

impl From<&Value> for Variable {
    fn from(v: &Value) -> Variable {
        Variable::from(v.clone())
    }
}

/// Delve's flag bits.
pub fn flag_bits(f: VarFlags) -> u32 {
    let mut bits = 0;
    for (on, bit) in [
        (f.escaped, flags::ESCAPED),
        (f.shadowed, flags::SHADOWED),
        (f.constant, flags::CONSTANT),
        (f.argument, flags::ARGUMENT),
        (f.return_argument, flags::RETURN_ARGUMENT),
        (f.fake_address, flags::FAKE_ADDRESS),
    ] {
        if on {
            bits |= bit;
        }
    }
    bits
}

/// `api.Variable.value`: the scalar as Delve writes it, with the name of
/// the constant it equals in front (`TypeCount (0)`).
pub fn value_string(v: &Value) -> String {
    value_text(v.scalar.clone(), v.constant.clone())
}

fn value_text(scalar: Scalar, constant: Option<String>) -> String {
    let s = match scalar {
        Scalar::None => String::new(),
        Scalar::Bool(b) => b.to_string(),
        Scalar::Int(n) => n.to_string(),
        Scalar::Uint(n) | Scalar::Addr(n) => n.to_string(),
        Scalar::Float32(f) => float_str(f64::from(f), true),
        Scalar::Float64(f) => float_str(f, false),
        Scalar::Complex64(re, im) => format!(
            "({} + {}i)",
            float_str(f64::from(re), true),
            float_str(f64::from(im), true)
        ),
        Scalar::Complex128(re, im) => {
            format!("({} + {}i)", float_str(re, false), float_str(im, false))
        }
        Scalar::Str(s) | Scalar::Func(s) => s,
        Scalar::Time { unix, monotonic } => match (rfc3339(unix), monotonic) {
            (Some(t), Some(m)) => format!("{t}, {m:+}"),
            (Some(t), None) => t,
            (None, _) => String::new(),
        },
    };
    match constant {
        Some(name) => format!("{name} ({s})"),
        None => s,
    }
}

/// A float as Go's `strconv.FormatFloat(f, 'f', -1, bits)`.
pub fn float_str(f: f64, single: bool) -> String {
    if f.is_nan() {
        "NaN".into()
    } else if f.is_infinite() {
        if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else if single {
        format!("{}", f as f32)
    } else {
        format!("{f}")
    }
}

/// Unix seconds as `YYYY-MM-DDTHH:MM:SSZ` (years 0 to 9999).
pub fn rfc3339(unix: i64) -> Option<String> {
    let at = jiff::Timestamp::from_second(unix).ok()?;
    let t = jiff::tz::Offset::UTC.to_datetime(at);
    if t.year() < 0 {
        return None;
    }
    Some(format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(rfc3339(0).as_deref(), Some("1970-01-01T00:00:00Z"));
        assert_eq!(
            rfc3339(1_795_305_545).as_deref(),
            Some("2026-11-21T23:59:05Z")
        );
        assert_eq!(
            rfc3339(951_782_400).as_deref(),
            Some("2000-02-29T00:00:00Z")
        );
        assert_eq!(
            rfc3339(-62_135_596_800).as_deref(),
            Some("0001-01-01T00:00:00Z")
        );
        assert_eq!(rfc3339(i64::MAX / 2), None);
    }

    #[test]
    fn floats_like_go() {
        assert_eq!(float_str(1.5, false), "1.5");
        assert_eq!(float_str(1e21, false), "1000000000000000000000");
        assert_eq!(float_str(0.1f32 as f64, true), "0.1");
        assert_eq!(float_str(f64::NAN, false), "NaN");
        assert_eq!(float_str(f64::NEG_INFINITY, false), "-Inf");
    }

    #[test]
    fn scalars_as_delve_writes_them() {
        let mut v = Value {
            scalar: Scalar::Int(6),
            constant: Some("FlagA|FlagB".into()),
            ..Value::default()
        };
        assert_eq!(value_string(&v), "FlagA|FlagB (6)");
        v.constant = None;
        v.scalar = Scalar::Time {
            unix: 1_795_305_545,
            monotonic: Some(347_325_431),
        };
        assert_eq!(value_string(&v), "2026-11-21T23:59:05Z, +347325431");
        v.scalar = Scalar::Complex64(1.5, -2.0);
        assert_eq!(value_string(&v), "(1.5 + -2i)");
    }
}
