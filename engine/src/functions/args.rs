//! Argument coercions shared by the families: numbers out of any value (with MySQL's
//! "Truncated incorrect ... value" warnings), and strings in character or binary mode.
//!
//! Binary mode: when a string function sees a binary argument, MySQL works on bytes. We
//! map each byte to the char with the same code point (Latin-1), run the same char-based
//! code, and map back; the mapping is lossless, so one implementation serves both modes.

use std::borrow::Cow;

use rust_decimal::Decimal;

use super::FnContext;
use crate::error::code;
use crate::temporal::{Date, DateTime, Time};
use crate::value::{is_full_number, parse_f64_prefix, Value};

/// A number in one of MySQL's arithmetic types.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Num {
    I(i64),
    U(u64),
    D(Decimal),
    F(f64),
}

impl Num {
    pub fn into_value(self) -> Value {
        match self {
            Num::I(i) => Value::Int(i),
            Num::U(u) => Value::UInt(u),
            Num::D(d) => dec_value(d),
            Num::F(f) => Value::Double(f),
        }
    }

    pub fn to_f64(self) -> f64 {
        match self {
            Num::I(i) => i as f64,
            Num::U(u) => u as f64,
            Num::D(d) => rust_decimal::prelude::ToPrimitive::to_f64(&d).unwrap_or(0.0),
            Num::F(f) => f,
        }
    }

    /// Exact value as a decimal (doubles convert through their shortest text).
    pub fn to_decimal(self) -> Decimal {
        match self {
            Num::I(i) => Decimal::from(i),
            Num::U(u) => Decimal::from(u),
            Num::D(d) => d,
            Num::F(f) => f64_to_decimal(f),
        }
    }

    pub fn is_exact(self) -> bool {
        !matches!(self, Num::F(_))
    }

    pub fn is_int(self) -> bool {
        matches!(self, Num::I(_) | Num::U(_))
    }
}

/// A DECIMAL result: zero is never negative (rust_decimal keeps a sign on zero, MySQL
/// prints `-0.0` as `0.0`).
pub(crate) fn dec_value(mut d: Decimal) -> Value {
    if d.is_zero() {
        d.set_sign_positive(true);
    }
    Value::Decimal(d)
}

/// A double as a decimal, through its shortest round-trip text so that 0.1 stays 0.1.
pub(crate) fn f64_to_decimal(f: f64) -> Decimal {
    if !f.is_finite() {
        return Decimal::ZERO;
    }
    if let Ok(d) = format!("{f}").parse::<Decimal>() {
        return d;
    }
    match Decimal::from_scientific(&format!("{f:e}")) {
        Ok(d) => d,
        // Beyond rust_decimal's range: saturate.
        Err(_) if f > 0.0 => Decimal::MAX,
        Err(_) => Decimal::MIN,
    }
}

/// Text of a value for a warning message (lossy for bytes).
pub(crate) fn lit(v: &Value) -> String {
    match v {
        Value::Str(s) => format!("'{s}'"),
        Value::Bytes(b) => format!("'{}'", String::from_utf8_lossy(b)),
        Value::Date(_) | Value::DateTime(_) | Value::Time(_) => format!("'{v}'"),
        other => other.to_string(),
    }
}

/// A string as a double, warning when it is not entirely a number.
pub(crate) fn str_to_f64(b: &[u8], ctx: &mut FnContext) -> f64 {
    if !is_full_number(b) {
        ctx.warn(
            code::ER_TRUNCATED_WRONG_VALUE,
            format!(
                "Truncated incorrect DOUBLE value: '{}'",
                String::from_utf8_lossy(b)
            ),
        );
    }
    parse_f64_prefix(b)
}

pub(crate) fn date_number(d: &Date) -> i64 {
    d.year as i64 * 10000 + d.month as i64 * 100 + d.day as i64
}

pub(crate) fn datetime_number(dt: &DateTime) -> i64 {
    date_number(&dt.date) * 1_000_000
        + dt.hour as i64 * 10000
        + dt.minute as i64 * 100
        + dt.second as i64
}

pub(crate) fn time_number(t: &Time) -> i64 {
    let n = t.hour as i64 * 10000 + t.minute as i64 * 100 + t.second as i64;
    if t.negative {
        -n
    } else {
        n
    }
}

fn with_micros(n: i64, micro: u32, negative: bool) -> Num {
    if micro == 0 {
        return Num::I(n);
    }
    let m = Decimal::new(micro as i64, 6);
    let m = if negative { -m } else { m };
    Num::D(Decimal::from(n) + m)
}

/// A value in numeric context (MySQL: strings become doubles, temporals their
/// YYYYMMDDhhmmss number). NULL is None.
pub(crate) fn to_num(v: &Value, ctx: &mut FnContext) -> Option<Num> {
    Some(match v {
        Value::Null => return None,
        Value::Int(i) => Num::I(*i),
        Value::UInt(u) => Num::U(*u),
        Value::Double(d) => Num::F(*d),
        Value::Decimal(d) => Num::D(*d),
        Value::Str(s) => Num::F(str_to_f64(s.as_bytes(), ctx)),
        Value::Bytes(b) => Num::F(str_to_f64(b, ctx)),
        Value::Date(d) => Num::I(date_number(d)),
        Value::DateTime(dt) => with_micros(datetime_number(dt), dt.micro, false),
        Value::Time(t) => with_micros(time_number(t), t.micro, t.negative),
    })
}

/// A value as a double in numeric context (NULL is None).
pub(crate) fn to_f64(v: &Value, ctx: &mut FnContext) -> Option<f64> {
    to_num(v, ctx).map(Num::to_f64)
}

/// A value as an integer argument (a length, a position, a count): doubles and decimals
/// round half away from zero, strings take their numeric prefix. NULL is None.
pub(crate) fn to_int(v: &Value, ctx: &mut FnContext) -> Option<i64> {
    Some(match to_num(v, ctx)? {
        Num::I(i) => i,
        Num::U(u) => i64::try_from(u).unwrap_or(i64::MAX),
        Num::D(d) => {
            use rust_decimal::prelude::ToPrimitive;
            d.round_dp_with_strategy(0, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
                .to_i64()
                .unwrap_or(if d.is_sign_negative() {
                    i64::MIN
                } else {
                    i64::MAX
                })
        }
        Num::F(f) => crate::value::round_f64_to_i64(f),
    })
}

/// A string argument's text (binary strings in their Latin-1 form).
#[derive(Clone, Debug)]
pub(crate) struct Txt<'a> {
    pub s: Cow<'a, str>,
}

/// Bytes as a Latin-1 string (one char per byte).
pub(crate) fn bytes_to_latin1(b: &[u8]) -> String {
    b.iter().map(|&c| c as char).collect()
}

/// Inverse of [`bytes_to_latin1`]; chars above 0xFF cannot occur in binary mode but are
/// encoded as UTF-8 if they do.
pub(crate) fn latin1_to_bytes(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    for c in s.chars() {
        let n = c as u32;
        if n <= 0xFF {
            out.push(n as u8);
        } else {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
    }
    out
}

/// A value's string form; Bytes map byte-per-char. NULL is None.
pub(crate) fn txt(v: &Value) -> Option<Txt<'_>> {
    Some(match v {
        Value::Null => return None,
        Value::Str(s) => Txt {
            s: Cow::Borrowed(s),
        },
        Value::Bytes(b) => Txt {
            s: Cow::Owned(bytes_to_latin1(b)),
        },
        other => Txt {
            s: Cow::Owned(other.to_string()),
        },
    })
}

/// A value's string form in the given mode (binary: every value as its bytes).
pub(crate) fn txt_in(v: &Value, binary: bool) -> Option<Cow<'_, str>> {
    if !binary {
        return txt(v).map(|t| t.s);
    }
    Some(match v {
        Value::Null => return None,
        Value::Bytes(b) => Cow::Owned(bytes_to_latin1(b)),
        Value::Str(s) => Cow::Owned(bytes_to_latin1(s.as_bytes())),
        other => Cow::Owned(other.to_string()),
    })
}

/// Whether any of the values is a binary string.
pub(crate) fn any_binary(args: &[Value]) -> bool {
    args.iter().any(|v| matches!(v, Value::Bytes(_)))
}

/// Build a string result in the given mode.
pub(crate) fn out(s: String, binary: bool) -> Value {
    if binary {
        Value::Bytes(latin1_to_bytes(&s))
    } else {
        Value::Str(s)
    }
}
