//! REGEXP/RLIKE and the REGEXP_* functions, on the `regex` crate.
//!
//! MySQL 8 uses ICU regular expressions; the common syntax (classes, anchors,
//! quantifiers, groups, `$n` back-references in replacements) is the same. Matching is
//! case-insensitive unless an argument is binary or the match type says `c`. Positions
//! and occurrences count characters from 1, as in MySQL. Compiled patterns are cached
//! per thread because a scan calls with the same pattern for every row.

use std::cell::RefCell;
use std::collections::HashMap;

use regex::{Regex, RegexBuilder};

use super::args::{to_int, txt_in};
use super::{builtin, Builtin, FnContext};
use crate::error::{Error, Result};
use crate::value::Value;

const ER_REGEXP_ILLEGAL_ARGUMENT: u16 = 3685;
const ER_REGEXP_INDEX_OUTOFBOUNDS: u16 = 3686;
const CACHE_LIMIT: usize = 64;

#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
struct Flags {
    ci: bool,
    multi_line: bool,
    dot_nl: bool,
}

thread_local! {
    static CACHE: RefCell<HashMap<(String, Flags), Regex>> = RefCell::new(HashMap::new());
}

fn compile(pattern: &str, flags: Flags) -> Result<Regex> {
    let key = (pattern.to_string(), flags);
    if let Some(r) = CACHE.with(|c| c.borrow().get(&key).cloned()) {
        return Ok(r);
    }
    let re = RegexBuilder::new(pattern)
        .case_insensitive(flags.ci)
        .multi_line(flags.multi_line)
        .dot_matches_new_line(flags.dot_nl)
        .build()
        .map_err(|e| {
            Error::new(
                ER_REGEXP_ILLEGAL_ARGUMENT,
                format!("Illegal argument to a regular expression: {e}"),
            )
        })?;
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= CACHE_LIMIT {
            c.clear();
        }
        c.insert(key, re.clone());
    });
    Ok(re)
}

/// Flags from the argument types and an optional match_type string.
fn flags(binary: bool, match_type: Option<&Value>) -> Result<Flags> {
    let mut f = Flags {
        ci: !binary,
        ..Default::default()
    };
    if let Some(mt) = match_type.and_then(|v| v.to_text()) {
        for c in mt.chars() {
            match c {
                'c' => f.ci = false,
                'i' => f.ci = true,
                'm' => f.multi_line = true,
                'n' => f.dot_nl = true,
                'u' => {}
                _ => {
                    return Err(Error::new(
                        3680,
                        "Invalid match mode flag in regular expression.",
                    ))
                }
            }
        }
    }
    Ok(f)
}

/// Prepared subject and regex for one call; None when the subject or pattern is NULL.
struct Prepared {
    subject: String,
    re: Regex,
    binary: bool,
}

fn prepare(s: &Value, p: &Value, match_type: Option<&Value>) -> Result<Option<Prepared>> {
    if s.is_null() || p.is_null() || match_type.is_some_and(Value::is_null) {
        return Ok(None);
    }
    let binary = matches!(s, Value::Bytes(_)) || matches!(p, Value::Bytes(_));
    let subject = txt_in(s, binary)
        .map(|c| c.into_owned())
        .unwrap_or_default();
    let pattern = txt_in(p, binary)
        .map(|c| c.into_owned())
        .unwrap_or_default();
    let re = compile(&pattern, flags(binary, match_type)?)?;
    Ok(Some(Prepared {
        subject,
        re,
        binary,
    }))
}

/// `s REGEXP pattern`; None when either side is NULL.
pub fn regexp_like(s: &Value, pattern: &Value) -> Result<Option<bool>> {
    Ok(prepare(s, pattern, None)?.map(|p| p.re.is_match(&p.subject)))
}

/// Byte offset of the 1-based character position `pos` (None when past the end + 1).
fn byte_offset(s: &str, pos: i64) -> Option<usize> {
    if pos < 1 {
        return None;
    }
    let idx = (pos - 1) as usize;
    if idx == 0 {
        return Some(0);
    }
    match s.char_indices().nth(idx) {
        Some((b, _)) => Some(b),
        None if s.chars().count() == idx => Some(s.len()),
        None => None,
    }
}

fn pos_arg(args: &[Value], i: usize, ctx: &mut FnContext) -> Result<Option<i64>> {
    match args.get(i) {
        None => Ok(Some(1)),
        Some(v) => Ok(to_int(v, ctx)),
    }
}

fn start_offset(p: &Prepared, pos: i64) -> Result<usize> {
    byte_offset(&p.subject, pos).ok_or_else(|| {
        Error::new(
            ER_REGEXP_INDEX_OUTOFBOUNDS,
            "Index out of bounds in regular expression search.",
        )
    })
}

fn out(s: String, binary: bool) -> Value {
    super::args::out(s, binary)
}

fn f_regexp_like(args: &[Value], _ctx: &mut FnContext) -> Result<Value> {
    Ok(prepare(&args[0], &args[1], args.get(2))?
        .map(|p| Value::Int(p.re.is_match(&p.subject) as i64))
        .unwrap_or(Value::Null))
}

/// The `occurrence`-th match (1-based) at or after byte `from`.
fn nth_match(p: &Prepared, from: usize, occurrence: i64) -> Option<regex::Match<'_>> {
    let n = occurrence.max(1);
    let mut at = from;
    let mut k = 0;
    while at <= p.subject.len() {
        let m = p.re.find_at(&p.subject, at)?;
        k += 1;
        if k == n {
            return Some(m);
        }
        // An empty match must not be found again at the same place.
        at = if m.end() > m.start() {
            m.end()
        } else {
            m.end()
                + p.subject[m.end()..]
                    .chars()
                    .next()
                    .map_or(1, char::len_utf8)
        };
    }
    None
}

fn f_regexp_substr(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    let Some(p) = prepare(&args[0], &args[1], args.get(4))? else {
        return Ok(Value::Null);
    };
    let (Some(pos), Some(occ)) = (pos_arg(args, 2, ctx)?, pos_arg(args, 3, ctx)?) else {
        return Ok(Value::Null);
    };
    let from = start_offset(&p, pos)?;
    Ok(match nth_match(&p, from, occ) {
        Some(m) => out(m.as_str().to_string(), p.binary),
        None => Value::Null,
    })
}

fn f_regexp_instr(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    let Some(p) = prepare(&args[0], &args[1], args.get(5))? else {
        return Ok(Value::Null);
    };
    let (Some(pos), Some(occ), Some(ret)) = (
        pos_arg(args, 2, ctx)?,
        pos_arg(args, 3, ctx)?,
        match args.get(4) {
            None => Some(0),
            Some(v) => to_int(v, ctx),
        },
    ) else {
        return Ok(Value::Null);
    };
    if ret != 0 && ret != 1 {
        return Err(Error::new(
            3685,
            "Incorrect arguments to regexp_instr: return_option must be 1 or 0.",
        ));
    }
    let from = start_offset(&p, pos)?;
    Ok(Value::Int(match nth_match(&p, from, occ) {
        Some(m) => {
            let b = if ret == 0 { m.start() } else { m.end() };
            p.subject[..b].chars().count() as i64 + 1
        }
        None => 0,
    }))
}

fn f_regexp_replace(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    if args[2].is_null() {
        return Ok(Value::Null);
    }
    let Some(p) = prepare(&args[0], &args[1], args.get(5))? else {
        return Ok(Value::Null);
    };
    let (Some(pos), Some(occ)) = (
        pos_arg(args, 3, ctx)?,
        match args.get(4) {
            None => Some(0),
            Some(v) => to_int(v, ctx),
        },
    ) else {
        return Ok(Value::Null);
    };
    let repl = txt_in(&args[2], p.binary)
        .map(|c| c.into_owned())
        .unwrap_or_default();
    let from = start_offset(&p, pos)?;
    let mut result = String::with_capacity(p.subject.len());
    result.push_str(&p.subject[..from]);
    let mut last = from;
    for (i, caps) in p.re.captures_iter(&p.subject[from..]).enumerate() {
        let m = caps.get(0).expect("group 0 always participates");
        if occ > 0 && (i as i64 + 1) != occ {
            continue;
        }
        result.push_str(&p.subject[last..from + m.start()]);
        caps.expand(&repl, &mut result);
        last = from + m.end();
        if occ > 0 {
            break;
        }
    }
    result.push_str(&p.subject[last..]);
    Ok(out(result, p.binary))
}

pub(super) fn lookup(name: &str) -> Option<Builtin> {
    Some(match name {
        "regexp_like" => builtin(2, 3, f_regexp_like),
        "regexp_substr" => builtin(2, 5, f_regexp_substr),
        "regexp_instr" => builtin(2, 6, f_regexp_instr),
        "regexp_replace" => builtin(3, 6, f_regexp_replace),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(name: &str, args: &[Value]) -> Result<Value> {
        super::super::call(name, args, &mut FnContext::default())
    }

    fn v(s: &str) -> Value {
        Value::from(s)
    }

    #[test]
    fn manual_examples() {
        // MySQL manual examples for REGEXP_LIKE / REGEXP_INSTR / REGEXP_REPLACE /
        // REGEXP_SUBSTR.
        assert_eq!(regexp_like(&v("Michael!"), &v(".*")), Ok(Some(true)));
        assert_eq!(
            regexp_like(&v("new*\n*line"), &v("new\\*.\\*line")),
            Ok(Some(false))
        );
        assert_eq!(regexp_like(&v("a"), &v("^[a-d]")), Ok(Some(true)));
        assert_eq!(
            regexp_like(&v("CamelCase"), &v("CAMELCASE")),
            Ok(Some(true))
        );
        assert_eq!(
            call("regexp_like", &[v("CamelCase"), v("CAMELCASE"), v("c")]),
            Ok(Value::Int(0))
        );
        assert_eq!(
            call("regexp_like", &[v("abc"), v("ABC"), v("c")]),
            Ok(Value::Int(0))
        );
        assert_eq!(
            call("regexp_instr", &[v("dog cat dog"), v("dog")]),
            Ok(Value::Int(1))
        );
        assert_eq!(
            call("regexp_instr", &[v("dog cat dog"), v("dog"), Value::Int(2)]),
            Ok(Value::Int(9))
        );
        assert_eq!(
            call("regexp_instr", &[v("aa aaa aaaa"), v("a{2}")]),
            Ok(Value::Int(1))
        );
        assert_eq!(
            call("regexp_instr", &[v("aa aaa aaaa"), v("a{4}")]),
            Ok(Value::Int(8))
        );
        assert_eq!(
            call("regexp_replace", &[v("a b c"), v("b"), v("X")]),
            Ok(v("a X c"))
        );
        assert_eq!(
            call(
                "regexp_replace",
                &[
                    v("abc def ghi"),
                    v("[a-z]+"),
                    v("X"),
                    Value::Int(1),
                    Value::Int(3)
                ]
            ),
            Ok(v("abc def X"))
        );
        assert_eq!(
            call("regexp_substr", &[v("abc def ghi"), v("[a-z]+")]),
            Ok(v("abc"))
        );
        assert_eq!(
            call(
                "regexp_substr",
                &[v("abc def ghi"), v("[a-z]+"), Value::Int(1), Value::Int(3)]
            ),
            Ok(v("ghi"))
        );
        assert_eq!(call("regexp_substr", &[v("abc"), v("x")]), Ok(Value::Null));
        assert_eq!(regexp_like(&Value::Null, &v("a")), Ok(None));
        assert_eq!(regexp_like(&v("a"), &v("(")).unwrap_err().code, 3685);
    }
}
