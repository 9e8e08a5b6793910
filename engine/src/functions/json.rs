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

// ---------------------------------------------------------------------------------------
// Paths.

/// One step of a JSON path.
#[derive(Clone, Debug, PartialEq)]
enum Leg {
    Member(String),
    AnyMember,
    Index(Idx),
    Range(Idx, Idx),
    AnyIndex,
    AnyDescendant,
}

/// An array index: from the start, or `last - n`.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Idx {
    Abs(usize),
    Last(usize),
}

impl Idx {
    fn resolve(self, len: usize) -> Option<usize> {
        match self {
            Idx::Abs(n) => Some(n),
            Idx::Last(n) => (len > n).then(|| len - 1 - n),
        }
    }
}

#[derive(Clone, Debug)]
struct Path {
    legs: Vec<Leg>,
}

impl Path {
    fn has_wildcard(&self) -> bool {
        self.legs.iter().any(|l| {
            matches!(
                l,
                Leg::AnyMember | Leg::AnyIndex | Leg::AnyDescendant | Leg::Range(..)
            )
        })
    }
}

fn bad_path(pos: usize) -> Error {
    Error::new(
        3143,
        format!("Invalid JSON path expression. The error is around character position {pos}."),
    )
}

fn parse_idx(s: &str, pos: usize) -> Result<Idx> {
    let s = s.trim();
    if let Some(rest) = s.strip_prefix("last") {
        let rest = rest.trim();
        if rest.is_empty() {
            return Ok(Idx::Last(0));
        }
        let n = rest
            .strip_prefix('-')
            .and_then(|n| n.trim().parse().ok())
            .ok_or_else(|| bad_path(pos))?;
        return Ok(Idx::Last(n));
    }
    s.parse().map(Idx::Abs).map_err(|_| bad_path(pos))
}

fn parse_path(text: &str) -> Result<Path> {
    let s = text.trim();
    let chars: Vec<char> = s.chars().collect();
    if chars.first() != Some(&'$') {
        return Err(bad_path(0));
    }
    let mut i = 1;
    let mut legs = Vec::new();
    while i < chars.len() {
        match chars[i] {
            c if c.is_whitespace() => i += 1,
            '.' => {
                i += 1;
                while i < chars.len() && chars[i].is_whitespace() {
                    i += 1;
                }
                if i >= chars.len() {
                    return Err(bad_path(i));
                }
                if chars[i] == '*' {
                    legs.push(Leg::AnyMember);
                    i += 1;
                } else if chars[i] == '"' {
                    // A quoted key: JSON string syntax.
                    let start = i;
                    i += 1;
                    while i < chars.len() && chars[i] != '"' {
                        if chars[i] == '\\' {
                            i += 1;
                        }
                        i += 1;
                    }
                    if i >= chars.len() {
                        return Err(bad_path(start));
                    }
                    let lit: String = chars[start..=i].iter().collect();
                    let key: String = serde_json::from_str(&lit).map_err(|_| bad_path(start))?;
                    legs.push(Leg::Member(key));
                    i += 1;
                } else {
                    let start = i;
                    while i < chars.len()
                        && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '$')
                    {
                        i += 1;
                    }
                    if i == start {
                        return Err(bad_path(i));
                    }
                    legs.push(Leg::Member(chars[start..i].iter().collect()));
                }
            }
            '[' => {
                let start = i;
                let end = chars[i..]
                    .iter()
                    .position(|c| *c == ']')
                    .map(|p| p + i)
                    .ok_or_else(|| bad_path(start))?;
                let inner: String = chars[i + 1..end].iter().collect();
                let inner = inner.trim();
                if inner == "*" {
                    legs.push(Leg::AnyIndex);
                } else if let Some((a, b)) = inner.split_once(" to ") {
                    legs.push(Leg::Range(parse_idx(a, start)?, parse_idx(b, start)?));
                } else {
                    legs.push(Leg::Index(parse_idx(inner, start)?));
                }
                i = end + 1;
            }
            '*' if chars.get(i + 1) == Some(&'*') => {
                legs.push(Leg::AnyDescendant);
                i += 2;
            }
            _ => return Err(bad_path(i)),
        }
    }
    if legs.last() == Some(&Leg::AnyDescendant) {
        return Err(bad_path(chars.len()));
    }
    Ok(Path { legs })
}

fn select<'a>(j: &'a J, legs: &[Leg], out: &mut Vec<&'a J>) {
    let Some((leg, rest)) = legs.split_first() else {
        out.push(j);
        return;
    };
    match leg {
        Leg::Member(k) => {
            if let J::Object(m) = j {
                if let Some(v) = m.get(k) {
                    select(v, rest, out);
                }
            }
        }
        Leg::AnyMember => {
            if let J::Object(m) = j {
                for v in m.values() {
                    select(v, rest, out);
                }
            }
        }
        Leg::Index(idx) => match j {
            J::Array(a) => {
                if let Some(v) = idx.resolve(a.len()).and_then(|n| a.get(n)) {
                    select(v, rest, out);
                }
            }
            // A scalar or object is treated as a one-element array.
            other => {
                if idx.resolve(1) == Some(0) {
                    select(other, rest, out);
                }
            }
        },
        Leg::Range(a, b) => {
            if let J::Array(arr) = j {
                if let (Some(x), Some(y)) = (a.resolve(arr.len()), b.resolve(arr.len())) {
                    for v in arr.iter().take(y + 1).skip(x) {
                        select(v, rest, out);
                    }
                }
            }
        }
        Leg::AnyIndex => {
            if let J::Array(a) = j {
                for v in a {
                    select(v, rest, out);
                }
            }
        }
        Leg::AnyDescendant => {
            select(j, rest, out);
            match j {
                J::Object(m) => {
                    for v in m.values() {
                        select(v, legs, out);
                    }
                }
                J::Array(a) => {
                    for v in a {
                        select(v, legs, out);
                    }
                }
                _ => {}
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Functions.

use super::{builtin, Builtin, FnContext, MANY};

/// A JSON document argument: NULL is None; text must be valid JSON.
fn doc_arg(v: &Value, arg: usize, func: &str) -> Result<Option<J>> {
    match v {
        Value::Null => Ok(None),
        Value::Str(s) => parse(s)
            .map(Some)
            .map_err(|e| invalid_text(&e, arg, func)),
        Value::Bytes(b) => parse(&String::from_utf8_lossy(b))
            .map(Some)
            .map_err(|e| invalid_text(&e, arg, func)),
        _ => Err(Error::new(
            3146,
            format!(
                "Invalid data type for JSON data in argument {arg} to function {func}; a JSON string or JSON type is required."
            ),
        )),
    }
}

fn path_arg(v: &Value) -> Result<Option<Path>> {
    match v.to_text() {
        None => Ok(None),
        Some(t) => parse_path(&t).map(Some),
    }
}

fn json_value(j: &J) -> Value {
    Value::Str(to_text(j))
}

fn unquoted(j: &J) -> Value {
    match j {
        J::String(s) => Value::Str(s.clone()),
        other => Value::Str(to_text(other)),
    }
}

/// `doc -> path` (unquote false) and `doc ->> path` (unquote true). NULL when the
/// document or path is NULL or nothing matches.
pub fn json_extract_path(doc: &Value, path: &Value, unquote: bool) -> Result<Value> {
    let r = f_json_extract(&[doc.clone(), path.clone()], &mut FnContext::default())?;
    if !unquote {
        return Ok(r);
    }
    Ok(match r {
        Value::Str(s) => match parse(&s) {
            Ok(j) => unquoted(&j),
            Err(_) => Value::Str(s),
        },
        other => other,
    })
}

fn f_json_extract(args: &[Value], _ctx: &mut FnContext) -> Result<Value> {
    let Some(doc) = doc_arg(&args[0], 1, "json_extract")? else {
        return Ok(Value::Null);
    };
    let mut paths = Vec::new();
    for p in &args[1..] {
        match path_arg(p)? {
            Some(p) => paths.push(p),
            None => return Ok(Value::Null),
        }
    }
    let mut found = Vec::new();
    for p in &paths {
        select(&doc, &p.legs, &mut found);
    }
    let wrap = paths.len() > 1 || paths.iter().any(Path::has_wildcard);
    Ok(match (found.len(), wrap) {
        (0, _) => Value::Null,
        (1, false) => json_value(found[0]),
        _ => json_value(&J::Array(found.into_iter().cloned().collect())),
    })
}

fn f_json_unquote(args: &[Value], _ctx: &mut FnContext) -> Result<Value> {
    let Some(s) = args[0].to_text() else {
        return Ok(Value::Null);
    };
    if s.len() >= 2 && s.starts_with('"') && s.ends_with('"') {
        return match serde_json::from_str::<String>(&s) {
            Ok(u) => Ok(Value::Str(u)),
            Err(e) => Err(invalid_text(&e, 1, "json_unquote")),
        };
    }
    Ok(Value::Str(s))
}

fn f_json_quote(args: &[Value], _ctx: &mut FnContext) -> Result<Value> {
    Ok(match args[0].to_text() {
        None => Value::Null,
        Some(s) => Value::Str(J::String(s).to_string()),
    })
}

fn f_json_object(args: &[Value], _ctx: &mut FnContext) -> Result<Value> {
    if args.len() % 2 == 1 {
        return Err(Error::new(
            code::ER_WRONG_ARGUMENTS_FN,
            "Incorrect parameter count in the call to native function 'json_object'",
        ));
    }
    let mut m = Map::new();
    for kv in args.chunks(2) {
        let Some(k) = kv[0].to_text() else {
            return Err(Error::new(
                3158,
                "JSON documents may not contain NULL member names.",
            ));
        };
        m.insert(k, from_sql(&kv[1]));
    }
    Ok(json_value(&normalize(J::Object(m))))
}

fn f_json_array(args: &[Value], _ctx: &mut FnContext) -> Result<Value> {
    Ok(json_value(&J::Array(args.iter().map(from_sql).collect())))
}

fn f_json_valid(args: &[Value], _ctx: &mut FnContext) -> Result<Value> {
    Ok(match &args[0] {
        Value::Null => Value::Null,
        Value::Str(s) => Value::Int(parse(s).is_ok() as i64),
        Value::Bytes(b) => Value::Int(parse(&String::from_utf8_lossy(b)).is_ok() as i64),
        _ => Value::Int(0),
    })
}

fn type_name(j: &J) -> &'static str {
    match j {
        J::Object(_) => "OBJECT",
        J::Array(_) => "ARRAY",
        J::String(_) => "STRING",
        J::Bool(_) => "BOOLEAN",
        J::Null => "NULL",
        J::Number(n) if n.is_i64() => "INTEGER",
        J::Number(n) if n.is_u64() => "UNSIGNED INTEGER",
        J::Number(_) => "DOUBLE",
    }
}

fn f_json_type(args: &[Value], _ctx: &mut FnContext) -> Result<Value> {
    Ok(match doc_arg(&args[0], 1, "json_type")? {
        None => Value::Null,
        Some(j) => Value::from(type_name(&j)),
    })
}

/// The single value `path` selects in `doc` (None: NULL path or no match).
fn at_path<'a>(doc: &'a J, path: &Value) -> Result<Option<&'a J>> {
    let Some(p) = path_arg(path)? else {
        return Ok(None);
    };
    if p.has_wildcard() {
        return Err(wildcard_not_allowed());
    }
    let mut found = Vec::new();
    select(doc, &p.legs, &mut found);
    Ok(found.first().copied())
}

fn wildcard_not_allowed() -> Error {
    Error::new(
        3149,
        "In this situation, path expressions may not contain the * and ** tokens.",
    )
}

fn f_json_length(args: &[Value], _ctx: &mut FnContext) -> Result<Value> {
    let Some(doc) = doc_arg(&args[0], 1, "json_length")? else {
        return Ok(Value::Null);
    };
    let target = match args.get(1) {
        None => Some(&doc),
        Some(p) => at_path(&doc, p)?,
    };
    Ok(match target {
        None => Value::Null,
        Some(J::Array(a)) => Value::Int(a.len() as i64),
        Some(J::Object(m)) => Value::Int(m.len() as i64),
        Some(_) => Value::Int(1),
    })
}

fn f_json_depth(args: &[Value], _ctx: &mut FnContext) -> Result<Value> {
    fn depth(j: &J) -> i64 {
        match j {
            J::Array(a) if !a.is_empty() => 1 + a.iter().map(depth).max().unwrap_or(0),
            J::Object(m) if !m.is_empty() => 1 + m.values().map(depth).max().unwrap_or(0),
            _ => 1,
        }
    }
    Ok(match doc_arg(&args[0], 1, "json_depth")? {
        None => Value::Null,
        Some(j) => Value::Int(depth(&j)),
    })
}

fn f_json_keys(args: &[Value], _ctx: &mut FnContext) -> Result<Value> {
    let Some(doc) = doc_arg(&args[0], 1, "json_keys")? else {
        return Ok(Value::Null);
    };
    let target = match args.get(1) {
        None => Some(&doc),
        Some(p) => at_path(&doc, p)?,
    };
    Ok(match target {
        Some(J::Object(m)) => {
            json_value(&J::Array(m.keys().map(|k| J::String(k.clone())).collect()))
        }
        _ => Value::Null,
    })
}

fn json_eq(a: &J, b: &J) -> bool {
    match (a, b) {
        (J::Number(x), J::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(p), Some(q)) => p == q,
            _ => x.as_f64() == y.as_f64(),
        },
        (J::Array(x), J::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq(p, q))
        }
        (J::Object(x), J::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

/// MySQL's JSON_CONTAINS rule.
fn contains(target: &J, cand: &J) -> bool {
    match (target, cand) {
        (J::Array(t), J::Array(c)) => c.iter().all(|x| t.iter().any(|y| contains(y, x))),
        (J::Array(t), c) => t.iter().any(|y| contains(y, c)),
        (J::Object(t), J::Object(c)) => c
            .iter()
            .all(|(k, v)| t.get(k).is_some_and(|w| contains(w, v))),
        (t, c) => json_eq(t, c),
    }
}

fn f_json_contains(args: &[Value], _ctx: &mut FnContext) -> Result<Value> {
    let Some(doc) = doc_arg(&args[0], 1, "json_contains")? else {
        return Ok(Value::Null);
    };
    let Some(cand) = doc_arg(&args[1], 2, "json_contains")? else {
        return Ok(Value::Null);
    };
    let target = match args.get(2) {
        None => Some(&doc),
        Some(p) => at_path(&doc, p)?,
    };
    Ok(match target {
        None => Value::Null,
        Some(t) => Value::Int(contains(t, &cand) as i64),
    })
}

fn f_json_contains_path(args: &[Value], _ctx: &mut FnContext) -> Result<Value> {
    let Some(doc) = doc_arg(&args[0], 1, "json_contains_path")? else {
        return Ok(Value::Null);
    };
    let Some(mode) = args[1].to_text() else {
        return Ok(Value::Null);
    };
    let all = match mode.to_ascii_lowercase().as_str() {
        "all" => true,
        "one" => false,
        _ => return Err(Error::new(
            3150,
            "The oneOrAll argument to json_contains_path may take these values: 'one' or 'all'.",
        )),
    };
    let mut any = false;
    for p in &args[2..] {
        let Some(path) = path_arg(p)? else {
            return Ok(Value::Null);
        };
        let mut found = Vec::new();
        select(&doc, &path.legs, &mut found);
        if found.is_empty() && all {
            return Ok(Value::Int(0));
        }
        any |= !found.is_empty();
    }
    Ok(Value::Int(any as i64))
}

#[derive(Clone, Copy, PartialEq)]
enum Write {
    Set,
    Insert,
    Replace,
    ArrayAppend,
}

/// Apply one write at `legs` (no wildcards) inside `j`.
fn write_at(j: &mut J, legs: &[Leg], val: J, mode: Write) {
    let Some((leg, rest)) = legs.split_first() else {
        match mode {
            Write::Set | Write::Replace => *j = val,
            Write::ArrayAppend => match j {
                J::Array(a) => a.push(val),
                other => {
                    let old = std::mem::take(other);
                    *other = J::Array(vec![old, val]);
                }
            },
            Write::Insert => {}
        }
        return;
    };
    let last = rest.is_empty();
    match leg {
        Leg::Member(k) => {
            if let J::Object(m) = j {
                match m.get_mut(k) {
                    Some(v) => write_at(v, rest, val, mode),
                    None if last && matches!(mode, Write::Set | Write::Insert) => {
                        m.insert(k.clone(), val);
                        let taken = std::mem::take(j);
                        *j = normalize(taken);
                    }
                    None => {}
                }
            }
        }
        Leg::Index(idx) => match j {
            J::Array(a) => match idx.resolve(a.len()) {
                Some(n) if n < a.len() => write_at(&mut a[n], rest, val, mode),
                _ if last && matches!(mode, Write::Set | Write::Insert) => a.push(val),
                _ => {}
            },
            other => {
                if idx.resolve(1) == Some(0) {
                    write_at(other, rest, val, mode);
                } else if last && matches!(mode, Write::Set | Write::Insert) {
                    // A non-array is auto-wrapped into an array to append to it.
                    let old = std::mem::take(other);
                    *other = J::Array(vec![old, val]);
                }
            }
        },
        _ => {}
    }
}

fn modify(args: &[Value], mode: Write, func: &str) -> Result<Value> {
    if args.len() % 2 != 1 {
        return Err(Error::new(
            code::ER_WRONG_ARGUMENTS_FN,
            format!("Incorrect parameter count in the call to native function '{func}'"),
        ));
    }
    let Some(mut doc) = doc_arg(&args[0], 1, func)? else {
        return Ok(Value::Null);
    };
    for pv in args[1..].chunks(2) {
        let Some(path) = path_arg(&pv[0])? else {
            return Ok(Value::Null);
        };
        if path.has_wildcard() {
            return Err(wildcard_not_allowed());
        }
        write_at(&mut doc, &path.legs, from_sql(&pv[1]), mode);
    }
    Ok(json_value(&doc))
}

fn f_json_set(args: &[Value], _ctx: &mut FnContext) -> Result<Value> {
    modify(args, Write::Set, "json_set")
}
fn f_json_insert(args: &[Value], _ctx: &mut FnContext) -> Result<Value> {
    modify(args, Write::Insert, "json_insert")
}
fn f_json_replace(args: &[Value], _ctx: &mut FnContext) -> Result<Value> {
    modify(args, Write::Replace, "json_replace")
}
fn f_json_array_append(args: &[Value], _ctx: &mut FnContext) -> Result<Value> {
    modify(args, Write::ArrayAppend, "json_array_append")
}

fn remove_at(j: &mut J, legs: &[Leg]) {
    let Some((leg, rest)) = legs.split_first() else {
        return;
    };
    match (leg, j) {
        (Leg::Member(k), J::Object(m)) => {
            if rest.is_empty() {
                m.shift_remove(k);
            } else if let Some(v) = m.get_mut(k) {
                remove_at(v, rest);
            }
        }
        (Leg::Index(idx), J::Array(a)) => {
            if let Some(n) = idx.resolve(a.len()).filter(|n| *n < a.len()) {
                if rest.is_empty() {
                    a.remove(n);
                } else {
                    remove_at(&mut a[n], rest);
                }
            }
        }
        _ => {}
    }
}

fn f_json_remove(args: &[Value], _ctx: &mut FnContext) -> Result<Value> {
    let Some(mut doc) = doc_arg(&args[0], 1, "json_remove")? else {
        return Ok(Value::Null);
    };
    for p in &args[1..] {
        let Some(path) = path_arg(p)? else {
            return Ok(Value::Null);
        };
        if path.has_wildcard() {
            return Err(wildcard_not_allowed());
        }
        if path.legs.is_empty() {
            return Err(Error::new(
                3153,
                "The path expression '$' is not allowed in this context.",
            ));
        }
        remove_at(&mut doc, &path.legs);
    }
    Ok(json_value(&doc))
}

/// JSON_MERGE_PRESERVE's rule: arrays concatenate, objects merge recursively, scalars
/// are wrapped into arrays.
fn merge_preserve(a: J, b: J) -> J {
    match (a, b) {
        (J::Object(mut x), J::Object(y)) => {
            for (k, v) in y {
                let merged = match x.shift_remove(&k) {
                    Some(old) => merge_preserve(old, v),
                    None => v,
                };
                x.insert(k, merged);
            }
            normalize(J::Object(x))
        }
        (J::Array(mut x), J::Array(y)) => {
            x.extend(y);
            J::Array(x)
        }
        (J::Array(mut x), y) => {
            x.push(y);
            J::Array(x)
        }
        (x, J::Array(y)) => {
            let mut v = vec![x];
            v.extend(y);
            J::Array(v)
        }
        (x, y) => J::Array(vec![x, y]),
    }
}

/// RFC 7396 merge patch (JSON_MERGE_PATCH).
fn merge_patch(a: J, b: J) -> J {
    match b {
        J::Object(patch) => {
            let mut target = match a {
                J::Object(m) => m,
                _ => Map::new(),
            };
            for (k, v) in patch {
                if v.is_null() {
                    target.shift_remove(&k);
                } else {
                    let old = target.shift_remove(&k).unwrap_or(J::Null);
                    target.insert(k, merge_patch(old, v));
                }
            }
            normalize(J::Object(target))
        }
        other => other,
    }
}

fn merge(args: &[Value], func: &str, f: fn(J, J) -> J) -> Result<Value> {
    let mut acc: Option<J> = None;
    for (i, v) in args.iter().enumerate() {
        let Some(j) = doc_arg(v, i + 1, func)? else {
            return Ok(Value::Null);
        };
        acc = Some(match acc {
            None => j,
            Some(a) => f(a, j),
        });
    }
    Ok(acc.map_or(Value::Null, |j| json_value(&j)))
}

fn f_json_merge_preserve(args: &[Value], _ctx: &mut FnContext) -> Result<Value> {
    merge(args, "json_merge_preserve", merge_preserve)
}
fn f_json_merge_patch(args: &[Value], _ctx: &mut FnContext) -> Result<Value> {
    merge(args, "json_merge_patch", merge_patch)
}

fn f_json_pretty(args: &[Value], _ctx: &mut FnContext) -> Result<Value> {
    Ok(match doc_arg(&args[0], 1, "json_pretty")? {
        None => Value::Null,
        Some(j) => Value::Str(serde_json::to_string_pretty(&j).unwrap_or_else(|_| to_text(&j))),
    })
}

/// Whether two documents share an array element or an object member (a scalar counts as
/// a one-element array).
fn overlaps(a: &J, b: &J) -> bool {
    match (a, b) {
        (J::Array(x), J::Array(y)) => x.iter().any(|p| y.iter().any(|q| json_eq(p, q))),
        (J::Array(x), other) | (other, J::Array(x)) => x.iter().any(|p| json_eq(p, other)),
        (J::Object(x), J::Object(y)) => x
            .iter()
            .any(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w))),
        (x, y) => json_eq(x, y),
    }
}

fn f_json_overlaps(args: &[Value], _ctx: &mut FnContext) -> Result<Value> {
    let (Some(a), Some(b)) = (
        doc_arg(&args[0], 1, "json_overlaps")?,
        doc_arg(&args[1], 2, "json_overlaps")?,
    ) else {
        return Ok(Value::Null);
    };
    Ok(Value::Int(overlaps(&a, &b) as i64))
}

/// `value MEMBER OF (array)`, callable as `member_of(value, array)`.
fn f_member_of(args: &[Value], _ctx: &mut FnContext) -> Result<Value> {
    if args[0].is_null() {
        return Ok(Value::Null);
    }
    let Some(arr) = doc_arg(&args[1], 2, "member of")? else {
        return Ok(Value::Null);
    };
    let needle = from_sql(&args[0]);
    Ok(Value::Int(match &arr {
        J::Array(a) => a.iter().any(|x| json_eq(x, &needle)),
        other => json_eq(other, &needle),
    } as i64))
}

/// Text of a path leg for JSON_SEARCH results: `.key` for identifier keys, else `."key"`.
fn member_leg(k: &str) -> String {
    let ident = k
        .chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_' || c == '$')
        && k.chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '$');
    if ident {
        format!(".{k}")
    } else {
        format!(".{}", J::String(k.to_string()))
    }
}

fn search(
    j: &J,
    path: &mut String,
    pattern: &Value,
    escape: Option<char>,
    out: &mut Vec<String>,
    one: bool,
) {
    if one && !out.is_empty() {
        return;
    }
    match j {
        // JSON strings compare under utf8mb4_bin: the match is case-sensitive.
        J::String(s)
            if super::like::like(&Value::Bytes(s.as_bytes().to_vec()), pattern, escape)
                == Some(true) =>
        {
            out.push(path.clone());
        }
        J::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                search(v, path, pattern, escape, out, one);
                path.truncate(len);
            }
        }
        J::Object(m) => {
            for (k, v) in m {
                let len = path.len();
                path.push_str(&member_leg(k));
                search(v, path, pattern, escape, out, one);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

/// JSON_SEARCH(doc, 'one'|'all', pattern[, escape[, path...]]): paths of string values
/// matching the LIKE pattern.
fn f_json_search(args: &[Value], _ctx: &mut FnContext) -> Result<Value> {
    let Some(doc) = doc_arg(&args[0], 1, "json_search")? else {
        return Ok(Value::Null);
    };
    let Some(mode) = args[1].to_text() else {
        return Ok(Value::Null);
    };
    let one = match mode.to_ascii_lowercase().as_str() {
        "one" => true,
        "all" => false,
        _ => {
            return Err(Error::new(
                3150,
                "The oneOrAll argument to json_search may take these values: 'one' or 'all'.",
            ))
        }
    };
    if args[2].is_null() {
        return Ok(Value::Null);
    }
    let escape = match args.get(3) {
        None | Some(Value::Null) => None,
        Some(e) => e.to_text().and_then(|t| t.chars().next()),
    };
    let mut out = Vec::new();
    if args.len() > 4 {
        for p in &args[4..] {
            let Some(path) = path_arg(p)? else {
                return Ok(Value::Null);
            };
            // Only wildcard-free paths are re-printable as result prefixes.
            let mut found = Vec::new();
            select(&doc, &path.legs, &mut found);
            if let (false, Some(start)) = (path.has_wildcard(), found.first()) {
                let mut prefix = p.to_text().unwrap_or_default().trim().to_string();
                search(start, &mut prefix, &args[2], escape, &mut out, one);
            }
        }
    } else {
        search(&doc, &mut "$".to_string(), &args[2], escape, &mut out, one);
    }
    out.dedup();
    Ok(match out.len() {
        0 => Value::Null,
        1 => json_value(&J::String(out.remove(0))),
        _ => json_value(&J::Array(out.into_iter().map(J::String).collect())),
    })
}

pub(super) fn lookup(name: &str) -> Option<Builtin> {
    Some(match name {
        "json_pretty" => builtin(1, 1, f_json_pretty),
        "json_overlaps" => builtin(2, 2, f_json_overlaps),
        "member_of" => builtin(2, 2, f_member_of),
        "json_search" => builtin(3, MANY, f_json_search),
        "json_extract" => builtin(2, MANY, f_json_extract),
        "json_unquote" => builtin(1, 1, f_json_unquote),
        "json_quote" => builtin(1, 1, f_json_quote),
        "json_object" => builtin(0, MANY, f_json_object),
        "json_array" => builtin(0, MANY, f_json_array),
        "json_valid" => builtin(1, 1, f_json_valid),
        "json_type" => builtin(1, 1, f_json_type),
        "json_length" => builtin(1, 2, f_json_length),
        "json_depth" => builtin(1, 1, f_json_depth),
        "json_keys" => builtin(1, 2, f_json_keys),
        "json_contains" => builtin(2, 3, f_json_contains),
        "json_contains_path" => builtin(3, MANY, f_json_contains_path),
        "json_set" => builtin(3, MANY, f_json_set),
        "json_insert" => builtin(3, MANY, f_json_insert),
        "json_replace" => builtin(3, MANY, f_json_replace),
        "json_array_append" => builtin(3, MANY, f_json_array_append),
        "json_remove" => builtin(2, MANY, f_json_remove),
        "json_merge_preserve" | "json_merge" => builtin(2, MANY, f_json_merge_preserve),
        "json_merge_patch" => builtin(2, MANY, f_json_merge_patch),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::super::call;
    use super::*;

    fn c(name: &str, args: &[Value]) -> Value {
        call(name, args, &mut FnContext::default()).expect(name)
    }
    fn v(s: &str) -> Value {
        Value::from(s)
    }
    fn err(name: &str, args: &[Value]) -> u16 {
        call(name, args, &mut FnContext::default())
            .expect_err(name)
            .code
    }

    #[test]
    fn manual_extract_examples() {
        assert_eq!(
            c("json_extract", &[v("[10, 20, [30, 40]]"), v("$[1]")]),
            v("20")
        );
        assert_eq!(
            c(
                "json_extract",
                &[v("[10, 20, [30, 40]]"), v("$[1]"), v("$[0]")]
            ),
            v("[20, 10]")
        );
        assert_eq!(
            c("json_extract", &[v("[10, 20, [30, 40]]"), v("$[2][*]")]),
            v("[30, 40]")
        );
        assert_eq!(
            c(
                "json_extract",
                &[v(r#"{"a": 1, "b": 2, "c": [3, 4, 5]}"#), v("$.*")]
            ),
            v("[1, 2, [3, 4, 5]]")
        );
        assert_eq!(
            c(
                "json_extract",
                &[v(r#"{"a": {"b": 1}, "c": {"b": 2}}"#), v("$**.b")]
            ),
            v("[1, 2]")
        );
        assert_eq!(
            c("json_extract", &[v("[1, 2, 3, 4, 5]"), v("$[1 to 3]")]),
            v("[2, 3, 4]")
        );
        assert_eq!(
            c("json_extract", &[v("[1, 2, 3, 4, 5]"), v("$[last]")]),
            v("5")
        );
        assert_eq!(
            c("json_extract", &[v("[1, 2, 3, 4, 5]"), v("$[last-1]")]),
            v("4")
        );
        assert_eq!(
            c("json_extract", &[v(r#"{"a b": 1}"#), v(r#"$."a b""#)]),
            v("1")
        );
        assert_eq!(
            c("json_extract", &[v(r#"{"a": 1}"#), v("$.b")]),
            Value::Null
        );
        assert_eq!(err("json_extract", &[v("{"), v("$")]), 3140);
        assert_eq!(err("json_extract", &[v("{}"), v("a")]), 3143);
        let doc = v(r#"{"id": "3", "name": "Barney"}"#);
        assert_eq!(
            json_extract_path(&doc, &v("$.name"), false),
            Ok(v("\"Barney\""))
        );
        assert_eq!(json_extract_path(&doc, &v("$.name"), true), Ok(v("Barney")));
        assert_eq!(json_extract_path(&doc, &v("$.id"), true), Ok(v("3")));
    }

    #[test]
    fn construct_and_inspect() {
        assert_eq!(
            c(
                "json_object",
                &[v("id"), Value::Int(87), v("name"), v("carrot")]
            ),
            v(r#"{"id": 87, "name": "carrot"}"#)
        );
        assert_eq!(
            c(
                "json_array",
                &[Value::Int(1), v("abc"), Value::Null, Value::Int(1)]
            ),
            v(r#"[1, "abc", null, 1]"#)
        );
        // Nesting: the inner result is canonical JSON text, so it nests as a document.
        let inner = c("json_array", &[Value::Int(1), Value::Int(2)]);
        assert_eq!(c("json_object", &[v("a"), inner]), v(r#"{"a": [1, 2]}"#));
        assert_eq!(
            c(
                "json_object",
                &[v("b"), Value::Int(1), v("a"), Value::Int(2)]
            ),
            v(r#"{"a": 2, "b": 1}"#)
        );
        assert_eq!(err("json_object", &[v("a")]), 1582);
        assert_eq!(c("json_valid", &[v(r#"{"a": 1}"#)]), Value::Int(1));
        assert_eq!(c("json_valid", &[v("hello")]), Value::Int(0));
        assert_eq!(c("json_valid", &[v(r#""hello""#)]), Value::Int(1));
        assert_eq!(c("json_type", &[v(r#"{"a": [10, true]}"#)]), v("OBJECT"));
        assert_eq!(c("json_type", &[v("[10, true]")]), v("ARRAY"));
        assert_eq!(c("json_type", &[v("true")]), v("BOOLEAN"));
        assert_eq!(c("json_type", &[v("1.5")]), v("DOUBLE"));
        assert_eq!(c("json_type", &[v("null")]), v("NULL"));
        assert_eq!(c("json_length", &[v(r#"[1, 2, {"a": 3}]"#)]), Value::Int(3));
        assert_eq!(
            c("json_length", &[v(r#"{"a": 1, "b": {"c": 30}}"#)]),
            Value::Int(2)
        );
        assert_eq!(
            c("json_length", &[v(r#"{"a": 1, "b": {"c": 30}}"#), v("$.b")]),
            Value::Int(1)
        );
        assert_eq!(c("json_depth", &[v("[10, {\"a\": 20}]")]), Value::Int(3));
        assert_eq!(
            c("json_keys", &[v(r#"{"a": 1, "b": {"c": 30}}"#)]),
            v(r#"["a", "b"]"#)
        );
        assert_eq!(
            c("json_keys", &[v(r#"{"a": 1, "b": {"c": 30}}"#), v("$.b")]),
            v(r#"["c"]"#)
        );
        assert_eq!(c("json_quote", &[v("null")]), v("\"null\""));
        assert_eq!(c("json_quote", &[v("\"null\"")]), v(r#""\"null\"""#));
        assert_eq!(c("json_unquote", &[v("\"abc\"")]), v("abc"));
        assert_eq!(c("json_unquote", &[v("[1, 2, 3]")]), v("[1, 2, 3]"));
        assert_eq!(c("json_unquote", &[v("\"\\t\\u0032\"")]), v("\t2"));
    }

    #[test]
    fn search_pretty_overlaps() {
        let j = v(r#"["abc", [{"k": "10"}, "def"], {"x":"abc"}, {"y":"bcd"}]"#);
        assert_eq!(
            c("json_search", &[j.clone(), v("one"), v("abc")]),
            v(r#""$[0]""#)
        );
        assert_eq!(
            c("json_search", &[j.clone(), v("all"), v("abc")]),
            v(r#"["$[0]", "$[2].x"]"#)
        );
        assert_eq!(
            c("json_search", &[j.clone(), v("all"), v("ghi")]),
            Value::Null
        );
        assert_eq!(
            c("json_search", &[j.clone(), v("all"), v("ABC")]),
            Value::Null
        );
        assert_eq!(
            c("json_search", &[j.clone(), v("all"), v("10")]),
            v(r#""$[1][0].k""#)
        );
        assert_eq!(
            c(
                "json_search",
                &[j.clone(), v("all"), v("%b%"), Value::Null, v("$[3]")]
            ),
            v(r#""$[3].y""#)
        );
        assert_eq!(
            c("json_search", &[j, v("all"), v("%b%")]),
            v(r#"["$[0]", "$[2].x", "$[3].y"]"#)
        );
        assert_eq!(
            c("json_pretty", &[v("[1,3,5]")]),
            v("[\n  1,\n  3,\n  5\n]")
        );
        assert_eq!(
            c("json_pretty", &[v(r#"{"a":"10","b":"15","x":"25"}"#)]),
            v("{\n  \"a\": \"10\",\n  \"b\": \"15\",\n  \"x\": \"25\"\n}")
        );
        assert_eq!(
            c("json_overlaps", &[v("[1,3,5,7]"), v("[2,5,7]")]),
            Value::Int(1)
        );
        assert_eq!(
            c("json_overlaps", &[v("[1,3,5,7]"), v("[2,6,8]")]),
            Value::Int(0)
        );
        assert_eq!(
            c(
                "json_overlaps",
                &[
                    v(r#"{"a":1,"b":10,"d":10}"#),
                    v(r#"{"c":1,"e":10,"f":1,"d":10}"#)
                ]
            ),
            Value::Int(1)
        );
        assert_eq!(c("json_overlaps", &[v("5"), v("[5, 6]")]), Value::Int(1));
        assert_eq!(
            c(
                "member_of",
                &[Value::Int(17), v("[23, \"abc\", 17, \"ab\", 10]")]
            ),
            Value::Int(1)
        );
        assert_eq!(
            c("member_of", &[v("ab"), v("[23, \"abc\", 17, \"ab\", 10]")]),
            Value::Int(1)
        );
        assert_eq!(c("member_of", &[v("a"), v("[23, \"abc\"]")]), Value::Int(0));
    }

    #[test]
    fn contains() {
        let j = v(r#"{"a": 1, "b": 2, "c": {"d": 4}}"#);
        assert_eq!(
            c("json_contains", &[j.clone(), v("1"), v("$.a")]),
            Value::Int(1)
        );
        assert_eq!(
            c("json_contains", &[j.clone(), v("1"), v("$.b")]),
            Value::Int(0)
        );
        assert_eq!(
            c("json_contains", &[j.clone(), v(r#"{"d": 4}"#), v("$.a")]),
            Value::Int(0)
        );
        assert_eq!(
            c("json_contains", &[j.clone(), v(r#"{"d": 4}"#), v("$.c")]),
            Value::Int(1)
        );
        assert_eq!(
            c("json_contains", &[v("[1, [2, 3]]"), v("[3, 1]")]),
            Value::Int(1)
        );
        assert_eq!(c("json_contains", &[v("[1.0, 2]"), v("1")]), Value::Int(1));
        assert_eq!(
            c(
                "json_contains_path",
                &[j.clone(), v("one"), v("$.a"), v("$.e")]
            ),
            Value::Int(1)
        );
        assert_eq!(
            c(
                "json_contains_path",
                &[j.clone(), v("all"), v("$.a"), v("$.e")]
            ),
            Value::Int(0)
        );
    }

    #[test]
    fn modify() {
        let j = v(r#"{ "a": 1, "b": [2, 3]}"#);
        let args = |f: &str| {
            c(
                f,
                &[
                    j.clone(),
                    v("$.a"),
                    Value::Int(10),
                    v("$.c"),
                    v("[true, false]"),
                ],
            )
        };
        // MySQL stores the string '[true, false]' as a JSON string here; without a JSON
        // type on Value, canonical array text nests as an array (see the module doc).
        assert_eq!(
            args("json_set"),
            v(r#"{"a": 10, "b": [2, 3], "c": [true, false]}"#)
        );
        assert_eq!(
            args("json_insert"),
            v(r#"{"a": 1, "b": [2, 3], "c": [true, false]}"#)
        );
        // Text that is not canonical JSON stays a string.
        assert_eq!(
            c("json_set", &[j.clone(), v("$.c"), v("[true,false]")]),
            v(r#"{"a": 1, "b": [2, 3], "c": "[true,false]"}"#)
        );
        assert_eq!(args("json_replace"), v(r#"{"a": 10, "b": [2, 3]}"#));
        assert_eq!(
            c("json_set", &[v("[1]"), v("$[5]"), Value::Int(2)]),
            v("[1, 2]")
        );
        assert_eq!(
            c("json_set", &[v("\"x\""), v("$[1]"), Value::Int(2)]),
            v(r#"["x", 2]"#)
        );
        assert_eq!(
            c("json_remove", &[v(r#"["a", ["b", "c"], "d"]"#), v("$[1]")]),
            v(r#"["a", "d"]"#)
        );
        assert_eq!(err("json_remove", &[v("[1]"), v("$")]), 3153);
        assert_eq!(err("json_set", &[v("[1]"), v("$[*]"), Value::Int(1)]), 3149);
        assert_eq!(
            c(
                "json_array_append",
                &[v(r#"["a", ["b", "c"], "d"]"#), v("$[1]"), Value::Int(1)]
            ),
            v(r#"["a", ["b", "c", 1], "d"]"#)
        );
        assert_eq!(
            c("json_merge_preserve", &[v("[1, 2]"), v("[true, false]")]),
            v("[1, 2, true, false]")
        );
        assert_eq!(
            c(
                "json_merge_preserve",
                &[v(r#"{"name": "x"}"#), v(r#"{"id": 47}"#)]
            ),
            v(r#"{"id": 47, "name": "x"}"#)
        );
        assert_eq!(
            c(
                "json_merge_patch",
                &[v(r#"{"a": 1, "b": 2}"#), v(r#"{"a": 3, "c": 4}"#)]
            ),
            v(r#"{"a": 3, "b": 2, "c": 4}"#)
        );
        assert_eq!(
            c(
                "json_merge_patch",
                &[v(r#"{"a": 1, "b": 2}"#), v(r#"{"b": null}"#)]
            ),
            v(r#"{"a": 1}"#)
        );
    }
}
