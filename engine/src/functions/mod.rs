//! Built-in functions and operators (minimal placeholder; the full library replaces it).

use rust_decimal::Decimal;

use crate::error::{code, Error, Result};
use crate::temporal::DateTime;
use crate::value::{compare, Value};

pub struct FnContext {
    pub now: DateTime,
    pub warnings: Vec<(u16, String)>,
    pub strict: bool,
    pub rng_seed: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    IntDiv,
    Mod,
    BitAnd,
    BitOr,
    BitXor,
    Shl,
    Shr,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CastType {
    Signed,
    Unsigned,
    Decimal(Option<(u8, u8)>),
    Double,
    Float,
    Char(Option<u32>),
    Binary(Option<u32>),
    Date,
    DateTime(u8),
    Time(u8),
    Json,
    Year,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntervalUnit {
    Microsecond,
    Second,
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Quarter,
    Year,
    SecondMicrosecond,
    MinuteMicrosecond,
    MinuteSecond,
    HourMicrosecond,
    HourSecond,
    HourMinute,
    DayMicrosecond,
    DaySecond,
    DayMinute,
    DayHour,
    YearMonth,
}

pub fn exists(name: &str) -> bool {
    matches!(
        name.to_ascii_lowercase().as_str(),
        "concat" | "upper" | "lower" | "length" | "abs" | "coalesce" | "ifnull" | "if"
    )
}

pub fn call(name: &str, args: &[Value], _ctx: &mut FnContext) -> Result<Value> {
    let n = name.to_ascii_lowercase();
    Ok(match n.as_str() {
        "concat" => {
            let mut s = String::new();
            for a in args {
                match a.to_text() {
                    Some(t) => s.push_str(&t),
                    None => return Ok(Value::Null),
                }
            }
            Value::Str(s)
        }
        "upper" => args[0]
            .to_text()
            .map(|s| Value::Str(s.to_uppercase()))
            .unwrap_or(Value::Null),
        "lower" => args[0]
            .to_text()
            .map(|s| Value::Str(s.to_lowercase()))
            .unwrap_or(Value::Null),
        "length" => args[0]
            .to_bytes()
            .map(|s| Value::Int(s.len() as i64))
            .unwrap_or(Value::Null),
        "abs" => match &args[0] {
            Value::Int(i) => Value::Int(i.abs()),
            Value::Null => Value::Null,
            v => Value::Double(v.to_f64().unwrap_or(0.0).abs()),
        },
        "coalesce" => args
            .iter()
            .find(|v| !v.is_null())
            .cloned()
            .unwrap_or(Value::Null),
        "ifnull" => {
            if args[0].is_null() {
                args[1].clone()
            } else {
                args[0].clone()
            }
        }
        "if" => {
            if args[0].to_bool() == Some(true) {
                args[1].clone()
            } else {
                args[2].clone()
            }
        }
        _ => {
            return Err(Error::new(
                code::ER_FUNCTION_NOT_DEFINED,
                format!("FUNCTION {name} does not exist"),
            ))
        }
    })
}

pub fn binary(op: BinOp, a: &Value, b: &Value, _ctx: &mut FnContext) -> Result<Value> {
    if a.is_null() || b.is_null() {
        return Ok(Value::Null);
    }
    let both_int =
        matches!(a, Value::Int(_) | Value::UInt(_)) && matches!(b, Value::Int(_) | Value::UInt(_));
    let exact = both_int
        || (matches!(a, Value::Int(_) | Value::UInt(_) | Value::Decimal(_))
            && matches!(b, Value::Int(_) | Value::UInt(_) | Value::Decimal(_)));
    match op {
        BinOp::Add | BinOp::Sub | BinOp::Mul if both_int => {
            let (x, y) = (
                a.to_i64().unwrap_or(0) as i128,
                b.to_i64().unwrap_or(0) as i128,
            );
            let r = match op {
                BinOp::Add => x + y,
                BinOp::Sub => x - y,
                _ => x * y,
            };
            i64::try_from(r)
                .map(Value::Int)
                .map_err(|_| Error::new(code::ER_DATA_OUT_OF_RANGE, "BIGINT value is out of range"))
        }
        BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div if exact => {
            let (x, y) = (
                a.to_decimal().unwrap_or_default(),
                b.to_decimal().unwrap_or_default(),
            );
            Ok(match op {
                BinOp::Add => Value::Decimal(x + y),
                BinOp::Sub => Value::Decimal(x - y),
                BinOp::Mul => Value::Decimal(x * y),
                _ => {
                    if y.is_zero() {
                        Value::Null
                    } else {
                        let scale = x.scale() + 4;
                        Value::Decimal((x / y).round_dp(scale))
                    }
                }
            })
        }
        BinOp::IntDiv => {
            let (x, y) = (a.to_i64().unwrap_or(0), b.to_i64().unwrap_or(0));
            Ok(if y == 0 {
                Value::Null
            } else {
                Value::Int(x / y)
            })
        }
        BinOp::Mod if both_int => {
            let (x, y) = (a.to_i64().unwrap_or(0), b.to_i64().unwrap_or(0));
            Ok(if y == 0 {
                Value::Null
            } else {
                Value::Int(x % y)
            })
        }
        _ => {
            let (x, y) = (a.to_f64().unwrap_or(0.0), b.to_f64().unwrap_or(0.0));
            Ok(match op {
                BinOp::Add => Value::Double(x + y),
                BinOp::Sub => Value::Double(x - y),
                BinOp::Mul => Value::Double(x * y),
                BinOp::Div | BinOp::Mod if y == 0.0 => Value::Null,
                BinOp::Div => Value::Double(x / y),
                BinOp::Mod => Value::Double(x % y),
                _ => {
                    let (x, y) = (
                        a.to_i64().unwrap_or(0) as u64,
                        b.to_i64().unwrap_or(0) as u64,
                    );
                    Value::UInt(match op {
                        BinOp::BitAnd => x & y,
                        BinOp::BitOr => x | y,
                        BinOp::BitXor => x ^ y,
                        BinOp::Shl => x.checked_shl(y as u32).unwrap_or(0),
                        _ => x.checked_shr(y as u32).unwrap_or(0),
                    })
                }
            })
        }
    }
}

pub fn negate(a: &Value) -> Result<Value> {
    Ok(match a {
        Value::Null => Value::Null,
        Value::Int(i) => Value::Int(-i),
        Value::UInt(u) => Value::Int(-(*u as i64)),
        Value::Decimal(d) => Value::Decimal(-d),
        v => Value::Double(-v.to_f64().unwrap_or(0.0)),
    })
}

pub fn bit_not(a: &Value) -> Value {
    match a.to_i64() {
        Some(i) => Value::UInt(!(i as u64)),
        None => Value::Null,
    }
}

pub fn like(s: &Value, pattern: &Value, escape: Option<char>) -> Option<bool> {
    let s: Vec<char> = s.to_text()?.to_lowercase().chars().collect();
    let p: Vec<char> = pattern.to_text()?.to_lowercase().chars().collect();
    fn m(s: &[char], p: &[char], esc: char) -> bool {
        if p.is_empty() {
            return s.is_empty();
        }
        match p[0] {
            '%' => (0..=s.len()).any(|i| m(&s[i..], &p[1..], esc)),
            '_' => !s.is_empty() && m(&s[1..], &p[1..], esc),
            c if c == esc && p.len() > 1 => {
                !s.is_empty() && s[0] == p[1] && m(&s[1..], &p[2..], esc)
            }
            c => !s.is_empty() && s[0] == c && m(&s[1..], &p[1..], esc),
        }
    }
    Some(m(&s, &p, escape.unwrap_or('\\')))
}

pub fn regexp_like(_s: &Value, _pattern: &Value) -> Result<Option<bool>> {
    Err(Error::unsupported("REGEXP"))
}

pub fn cast(v: &Value, to: &CastType, _ctx: &mut FnContext) -> Result<Value> {
    if v.is_null() {
        return Ok(Value::Null);
    }
    Ok(match to {
        CastType::Signed => Value::Int(v.to_i64().unwrap_or(0)),
        CastType::Unsigned => Value::UInt(v.to_i64().unwrap_or(0) as u64),
        CastType::Decimal(_) => Value::Decimal(v.to_decimal().unwrap_or(Decimal::ZERO)),
        CastType::Double | CastType::Float => Value::Double(v.to_f64().unwrap_or(0.0)),
        CastType::Char(_) | CastType::Json => Value::Str(v.to_text().unwrap_or_default()),
        CastType::Binary(_) => Value::Bytes(v.to_bytes().unwrap_or_default()),
        _ => return Err(Error::unsupported("CAST to temporal")),
    })
}

pub fn date_add(
    _v: &Value,
    _interval: &Value,
    _unit: IntervalUnit,
    _negate: bool,
    _ctx: &mut FnContext,
) -> Result<Value> {
    Err(Error::unsupported("INTERVAL arithmetic"))
}

pub fn json_extract_path(_doc: &Value, _path: &Value, _unquote: bool) -> Result<Value> {
    Err(Error::unsupported("JSON"))
}

#[allow(dead_code)]
fn _uses(a: &Value, b: &Value) -> bool {
    compare(a, b).is_some()
}
