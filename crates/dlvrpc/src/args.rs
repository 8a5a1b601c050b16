//! Decoding a request's arguments the way Go's `encoding/json` decodes
//! them into rpc2's `...In` structs: field names match case-insensitively,
//! unknown fields are ignored, missing fields are zero, and a value of the
//! wrong type is an error naming the struct and field.
//!
//! Arguments are untrusted network input: every accessor checks types and
//! ranges and none panics.

use serde_json::{Map, Value};

use crate::error::RequestError;

/// The fields of one argument struct (`StacktraceIn`, `EvalScope`, ...).
#[derive(Debug, Clone, Copy)]
pub struct Args<'a> {
    obj: Option<&'a Map<String, Value>>,
    /// Go name of the struct, for error messages.
    ty: &'static str,
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

impl<'a> Args<'a> {
    /// No arguments: every field is zero.
    pub fn empty(ty: &'static str) -> Args<'a> {
        Args { obj: None, ty }
    }

    /// The struct in `v` (`null` is the zero struct).
    pub fn from_value(v: &'a Value, ty: &'static str) -> Result<Args<'a>, RequestError> {
        match v {
            Value::Null => Ok(Args::empty(ty)),
            Value::Object(m) => Ok(Args { obj: Some(m), ty }),
            other => Err(RequestError::BadRequest(format!(
                "json: cannot unmarshal {} into Go value of type {ty}",
                kind(other)
            ))),
        }
    }

    /// The raw value of field `name` (exact match first, then ignoring
    /// case, as Go does); `None` when absent or null.
    pub fn get(&self, name: &str) -> Option<&'a Value> {
        let m = self.obj?;
        let v = m.get(name).or_else(|| {
            m.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        })?;
        (!v.is_null()).then_some(v)
    }

    fn type_error(&self, name: &str, v: &Value, go_type: &str) -> RequestError {
        let shown = match v {
            Value::Number(n) => format!("number {n}"),
            other => kind(other).to_string(),
        };
        RequestError::BadRequest(format!(
            "json: cannot unmarshal {shown} into Go struct field {}.{name} of type {go_type}",
            self.ty
        ))
    }

    /// A signed integer field.
    pub fn i64(&self, name: &str) -> Result<i64, RequestError> {
        match self.get(name) {
            None => Ok(0),
            Some(v) => v.as_i64().ok_or_else(|| self.type_error(name, v, "int")),
        }
    }

    /// A signed integer field that must fit an `i32`-sized Go int used as
    /// a count or index.
    pub fn int(&self, name: &str) -> Result<i64, RequestError> {
        let n = self.i64(name)?;
        if n.unsigned_abs() > u64::from(u32::MAX) {
            return Err(RequestError::BadRequest(format!(
                "{}.{name}: {n} is out of range",
                self.ty
            )));
        }
        Ok(n)
    }

    /// An unsigned integer field.
    pub fn u64(&self, name: &str) -> Result<u64, RequestError> {
        match self.get(name) {
            None => Ok(0),
            Some(v) => v.as_u64().ok_or_else(|| self.type_error(name, v, "uint64")),
        }
    }

    /// A boolean field.
    pub fn bool(&self, name: &str) -> Result<bool, RequestError> {
        match self.get(name) {
            None => Ok(false),
            Some(v) => v.as_bool().ok_or_else(|| self.type_error(name, v, "bool")),
        }
    }

    /// A string field.
    pub fn string(&self, name: &str) -> Result<&'a str, RequestError> {
        match self.get(name) {
            None => Ok(""),
            Some(v) => v.as_str().ok_or_else(|| self.type_error(name, v, "string")),
        }
    }

    /// A nested struct field (absent or null: the zero struct).
    pub fn object(&self, name: &str, ty: &'static str) -> Result<Args<'a>, RequestError> {
        match self.get(name) {
            None => Ok(Args::empty(ty)),
            Some(v) => Args::from_value(v, ty).map_err(|_| self.type_error(name, v, ty)),
        }
    }

    /// A pointer-to-struct field: `None` when absent or null.
    pub fn optional_object(
        &self,
        name: &str,
        ty: &'static str,
    ) -> Result<Option<Args<'a>>, RequestError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => Args::from_value(v, ty)
                .map(Some)
                .map_err(|_| self.type_error(name, v, ty)),
        }
    }

    /// A slice field (absent or null: empty).
    pub fn array(&self, name: &str, go_type: &str) -> Result<&'a [Value], RequestError> {
        match self.get(name) {
            None => Ok(&[]),
            Some(Value::Array(a)) => Ok(a),
            Some(v) => Err(self.type_error(name, v, go_type)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_match_like_go() {
        let v: Value =
            serde_json::from_str(r#"{"id":7,"DEPTH":3,"Full":true,"Cfg":null,"x":"y"}"#).unwrap();
        let a = Args::from_value(&v, "StacktraceIn").unwrap();
        assert_eq!(a.i64("Id").unwrap(), 7);
        assert_eq!(a.i64("Depth").unwrap(), 3);
        assert!(a.bool("Full").unwrap());
        assert!(a.optional_object("Cfg", "LoadConfig").unwrap().is_none());
        assert_eq!(a.i64("Skip").unwrap(), 0);
        let e = a.i64("x").unwrap_err().to_string();
        assert!(e.contains("StacktraceIn.x"), "{e}");
        let v: Value = serde_json::from_str(r#"{"Id":1.5}"#).unwrap();
        let a = Args::from_value(&v, "StacktraceIn").unwrap();
        assert!(a.i64("Id").unwrap_err().to_string().contains("number 1.5"));
        assert!(Args::from_value(&Value::Bool(true), "X").is_err());
    }
}
