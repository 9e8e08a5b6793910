//! JSON values and the JSON_* functions.
//!
//! A JSON value travels as `Value::Str` holding its canonical text: MySQL's printing
//! style (`{"a": 1, "b": [1, 2]}`), object keys ordered as MySQL stores them (shorter
//! keys first, then bytewise), the last duplicate key winning. Because the text is
//! canonical, a `Value::Str` argument that is exactly the canonical text of an object or
//! array is taken as a JSON document when nested into JSON_OBJECT/JSON_ARRAY/JSON_SET;
//! that is how `JSON_OBJECT('a', JSON_ARRAY(1, 2))` nests without a separate JSON type.

use serde_json::{Map, Value as J};

use crate::error::{code, Error, Result};
use crate::value::Value;

/// Parse JSON text into a normalized document.
pub(crate) fn parse(s: &str) -> std::result::Result<J, serde_json::Error> {
    serde_json::from_str::<J>(s).map(normalize)
}

/// Order object keys as MySQL does (length, then bytes), recursively.
pub(crate) fn normalize(j: J) -> J {
    match j {
        J::Object(m) => {
            let mut entries: Vec<(String, J)> =
                m.into_iter().map(|(k, v)| (k, normalize(v))).collect();
            entries.sort_by(|a, b| key_order(&a.0, &b.0));
            J::Object(entries.into_iter().collect::<Map<String, J>>())
        }
        J::Array(a) => J::Array(a.into_iter().map(normalize).collect()),
        other => other,
    }
}

pub(crate) fn key_order(a: &str, b: &str) -> std::cmp::Ordering {
    a.len()
        .cmp(&b.len())
        .then_with(|| a.as_bytes().cmp(b.as_bytes()))
}

/// MySQL's text form of a document.
pub(crate) fn to_text(j: &J) -> String {
    let mut out = String::new();
    write_text(j, &mut out);
    out
}

fn write_text(j: &J, out: &mut String) {
    match j {
        J::Object(m) => {
            out.push('{');
            for (i, (k, v)) in m.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&J::String(k.clone()).to_string());
                out.push_str(": ");
                write_text(v, out);
            }
            out.push('}');
        }
        J::Array(a) => {
            out.push('[');
            for (i, v) in a.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_text(v, out);
            }
            out.push(']');
        }
        J::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => {
                // MySQL keeps a fraction on doubles that are whole numbers: 1.0 prints 1.0.
                if f.fract() == 0.0 && f.abs() < 1e15 {
                    out.push_str(&format!("{f:.1}"));
                } else {
                    out.push_str(&crate::value::format_double(f));
                }
            }
            _ => out.push_str(&n.to_string()),
        },
        other => out.push_str(&other.to_string()),
    }
}

/// Error 3140 for text that is not JSON, in MySQL's wording.
pub(crate) fn invalid_text(e: &serde_json::Error, arg: usize, func: &str) -> Error {
    Error::new(
        code::ER_INVALID_JSON_TEXT,
        format!(
            "Invalid JSON text in argument {arg} to function {func}: \"{}\" at position {}.",
            describe(e),
            e.column().saturating_sub(1)
        ),
    )
}

fn describe(e: &serde_json::Error) -> &'static str {
    use serde_json::error::Category;
    match e.classify() {
        Category::Eof => "The document is empty.",
        Category::Syntax => "Invalid value.",
        _ => "Invalid value.",
    }
}

/// A SQL value as a JSON document for building JSON (JSON_OBJECT, JSON_ARRAY, JSON_SET
/// values): numbers stay numbers, strings are strings unless they are canonical JSON
/// object/array text (see the module doc), temporals become their string form.
pub(crate) fn from_sql(v: &Value) -> J {
    match v {
        Value::Null => J::Null,
        Value::Int(i) => J::from(*i),
        Value::UInt(u) => J::from(*u),
        Value::Double(d) => serde_json::Number::from_f64(*d)
            .map(J::Number)
            .unwrap_or(J::Null),
        Value::Decimal(d) => decimal_json(d),
        Value::Str(s) => {
            if s.starts_with('{') || s.starts_with('[') {
                if let Ok(j) = parse(s) {
                    if to_text(&j) == *s {
                        return j;
                    }
                }
            }
            J::String(s.clone())
        }
        Value::Bytes(b) => J::String(String::from_utf8_lossy(b).into_owned()),
        other => J::String(other.to_string()),
    }
}

fn decimal_json(d: &rust_decimal::Decimal) -> J {
    if d.scale() == 0 {
        if let Ok(i) = i64::try_from(d.mantissa()) {
            return J::from(i);
        }
    }
    use rust_decimal::prelude::ToPrimitive;
    d.to_f64()
        .and_then(serde_json::Number::from_f64)
        .map(J::Number)
        .unwrap_or(J::Null)
}

/// CAST(v AS JSON): strings must be JSON text; other values convert as scalars.
pub(crate) fn cast_to_json(v: &Value) -> Result<String> {
    match v {
        Value::Str(s) => parse(s)
            .map(|j| to_text(&j))
            .map_err(|e| invalid_text(&e, 1, "cast_as_json")),
        Value::Bytes(b) => {
            let s = String::from_utf8_lossy(b);
            parse(&s)
                .map(|j| to_text(&j))
                .map_err(|e| invalid_text(&e, 1, "cast_as_json"))
        }
        other => Ok(to_text(&from_sql(other))),
    }
}
