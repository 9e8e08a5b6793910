//! CAST/CONVERT, and the coercions of any value to a temporal type that the date/time
//! functions share.
//!
//! Invalid input never errors: MySQL returns NULL (temporal targets) or the best-effort
//! prefix (numeric targets) with a 1292 warning, and the executor decides what strict
//! mode makes of the warning. Results carry exactly the requested scale/length.

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};

use super::args::{dec_value, lit, to_num, txt, Num};
use super::ops::decimal_to_scale;
use super::FnContext;
use crate::convert::{
    number_to_datetime, number_to_time, parse_datetime_fuzzy, parse_datetime_loose, parse_time,
};
use crate::error::{code, Result};
use crate::temporal::{Date, DateTime, Time};
use crate::value::Value;

/// Target type of CAST/CONVERT.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CastType {
    Signed,
    Unsigned,
    /// DECIMAL(precision, scale); None is DECIMAL(10,0).
    Decimal(Option<(u8, u8)>),
    Double,
    Float,
    /// CHAR(n): None keeps the whole string.
    Char(Option<u32>),
    /// BINARY(n): shorter values are padded with 0x00.
    Binary(Option<u32>),
    Date,
    /// DATETIME(fsp)
    DateTime(u8),
    /// TIME(fsp)
    Time(u8),
    Json,
    Year,
}

/// The largest TIME magnitude MySQL represents: 838:59:59.
pub(crate) const TIME_MAX_MICROS: i64 = ((838 * 60 + 59) * 60 + 59) * 1_000_000;

fn warn_incorrect(ctx: &mut FnContext, kind: &str, v: &Value) {
    ctx.warn(
        code::ER_TRUNCATED_WRONG_VALUE,
        format!("Incorrect {kind} value: {}", lit(v)),
    );
}

fn warn_truncated(ctx: &mut FnContext, kind: &str, v: &Value) {
    ctx.warn(
        code::ER_TRUNCATED_WRONG_VALUE,
        format!("Truncated incorrect {kind} value: {}", lit(v)),
    );
}

/// A value as DATETIME (dates at midnight, times on the statement's date), the way
/// date and time functions read arguments: a zero month or day is accepted
/// ('2024-02-00'); functions that need a real date check `date.is_valid()`. Warns 1292
/// and returns None for a value that is not a datetime; NULL is None without warning.
pub(crate) fn to_datetime(v: &Value, ctx: &mut FnContext) -> Option<DateTime> {
    to_datetime_with(v, ctx, true)
}

/// A value as DATETIME for CAST and storing: only real dates (or the zero date).
pub(crate) fn to_datetime_strict(v: &Value, ctx: &mut FnContext) -> Option<DateTime> {
    to_datetime_with(v, ctx, false)
}

fn to_datetime_with(v: &Value, ctx: &mut FnContext, fuzzy: bool) -> Option<DateTime> {
    let r = match v {
        Value::Null => return None,
        Value::DateTime(dt) => Some(*dt),
        Value::Date(d) => Some(DateTime::from_date(*d)),
        Value::Time(t) => {
            let base = DateTime::from_date(ctx.now.date).total_micros();
            Some(DateTime::from_total_micros(base + t.total_micros()))
        }
        Value::Str(_) | Value::Bytes(_) => {
            let t = txt(v)?;
            if fuzzy {
                parse_datetime_fuzzy(&t.s)
            } else {
                parse_datetime_loose(&t.s)
            }
        }
        Value::Int(_) | Value::UInt(_) => v.to_i64().and_then(number_to_datetime),
        Value::Double(_) | Value::Decimal(_) => {
            let d = to_num(v, ctx)?.to_decimal();
            let int = d.trunc().to_i64()?;
            let micro = ((d - d.trunc()).abs() * Decimal::from(1_000_000))
                .round()
                .to_u32()
                .unwrap_or(0);
            number_to_datetime(int).map(|mut dt| {
                dt.micro = micro.min(999_999);
                dt
            })
        }
    };
    if r.is_none() {
        warn_incorrect(ctx, "datetime", v);
    }
    r
}

/// A value as DATE (the time of day dropped).
pub(crate) fn to_date(v: &Value, ctx: &mut FnContext) -> Option<Date> {
    to_datetime(v, ctx).map(|dt| dt.date)
}

/// A value as TIME (a datetime's time of day; numbers as [-]hhmmss).
pub(crate) fn to_time(v: &Value, ctx: &mut FnContext) -> Option<Time> {
    let r = match v {
        Value::Null => return None,
        Value::Time(t) => Some(*t),
        Value::DateTime(dt) => Some(time_of_day(dt)),
        Value::Date(_) => Some(Time::default()),
        Value::Str(_) | Value::Bytes(_) => {
            let t = txt(v)?;
            parse_time(&t.s)
                .or_else(|| parse_datetime_loose(&t.s).map(|dt| time_of_day(&dt)))
                .map(clamp_time)
        }
        Value::Int(_) | Value::UInt(_) => v.to_i64().and_then(number_to_time).map(clamp_time),
        Value::Double(_) | Value::Decimal(_) => {
            let d = to_num(v, ctx)?.to_decimal();
            let int = d.trunc().to_i64()?;
            let micro = ((d - d.trunc()).abs() * Decimal::from(1_000_000))
                .round()
                .to_u32()
                .unwrap_or(0);
            number_to_time(int).map(|mut t| {
                t.micro = micro.min(999_999);
                t.negative = d.is_sign_negative() && !d.is_zero();
                clamp_time(t)
            })
        }
    };
    if r.is_none() {
        warn_incorrect(ctx, "time", v);
    }
    r
}

pub(crate) fn time_of_day(dt: &DateTime) -> Time {
    Time {
        negative: false,
        hour: dt.hour as u32,
        minute: dt.minute,
        second: dt.second,
        micro: dt.micro,
    }
}

/// Clamp to TIME's range, -838:59:59 .. 838:59:59.
pub(crate) fn clamp_time(t: Time) -> Time {
    let us = t.total_micros();
    if us.abs() > TIME_MAX_MICROS {
        Time::from_micros(TIME_MAX_MICROS * us.signum())
    } else {
        t
    }
}

/// Round microseconds to `fsp` digits (MySQL rounds, it does not truncate).
pub(crate) fn round_micros(us: i64, fsp: u8) -> i64 {
    let fsp = fsp.min(6) as u32;
    let unit = 10i64.pow(6 - fsp);
    let r = us.rem_euclid(unit);
    let base = us - r;
    if r * 2 >= unit {
        base + unit
    } else {
        base
    }
}

fn round_time(t: Time, fsp: u8) -> Time {
    let us = t.total_micros();
    let r = round_micros(us.abs(), fsp);
    clamp_time(Time::from_micros(if us < 0 { -r } else { r }))
}

fn round_datetime(dt: DateTime, fsp: u8) -> DateTime {
    if dt.date.is_zero() {
        return dt;
    }
    DateTime::from_total_micros(round_micros(dt.total_micros(), fsp))
}

/// The integer prefix of a string as CAST(... AS SIGNED/UNSIGNED) reads it: digits only
/// (no fraction or exponent), saturating. Returns (value, whole string consumed).
fn int_prefix(s: &str) -> (i128, bool) {
    let t = s.trim_start();
    let (neg, body) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let digits = body.bytes().take_while(u8::is_ascii_digit).count();
    let mut n: i128 = 0;
    for b in body[..digits].bytes() {
        n = (n * 10 + (b - b'0') as i128).min(u64::MAX as i128 + 1);
    }
    let whole = digits > 0 && body[digits..].trim().is_empty();
    (if neg { -n } else { n }, whole)
}

fn cast_signed(v: &Value, ctx: &mut FnContext) -> Option<Value> {
    let n: i64 = match v {
        Value::Null => return None,
        Value::Str(_) | Value::Bytes(_) => {
            let t = txt(v)?;
            let (n, whole) = int_prefix(&t.s);
            let clamped = if n > u64::MAX as i128 {
                u64::MAX as i128
            } else {
                n.max(i64::MIN as i128)
            };
            if !whole || clamped != n {
                warn_truncated(ctx, "INTEGER", v);
            }
            // An unsigned-range string wraps, as MySQL reads it as BIGINT UNSIGNED.
            if clamped > i64::MAX as i128 {
                clamped as u64 as i64
            } else {
                clamped as i64
            }
        }
        Value::UInt(u) => *u as i64,
        _ => match to_num(v, ctx)? {
            Num::I(i) => i,
            Num::U(u) => u as i64,
            Num::D(d) => match decimal_round_int(d).to_i64() {
                Some(i) => i,
                None => {
                    warn_truncated(ctx, "DECIMAL", v);
                    if d.is_sign_negative() {
                        i64::MIN
                    } else {
                        i64::MAX
                    }
                }
            },
            Num::F(f) => {
                let r = f.round();
                if !(-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&r) {
                    warn_truncated(ctx, "INTEGER", v);
                }
                crate::value::round_f64_to_i64(f)
            }
        },
    };
    Some(Value::Int(n))
}

fn decimal_round_int(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero)
}

fn cast_unsigned(v: &Value, ctx: &mut FnContext) -> Option<Value> {
    let n: u64 = match v {
        Value::Null => return None,
        Value::Str(_) | Value::Bytes(_) => {
            let t = txt(v)?;
            let (n, whole) = int_prefix(&t.s);
            if !whole || n > u64::MAX as i128 || n < i64::MIN as i128 {
                warn_truncated(ctx, "INTEGER", v);
            }
            if n < 0 {
                n.max(i64::MIN as i128) as i64 as u64
            } else {
                n.min(u64::MAX as i128) as u64
            }
        }
        _ => match to_num(v, ctx)? {
            Num::I(i) => i as u64,
            Num::U(u) => u,
            Num::D(d) => {
                let r = decimal_round_int(d);
                if r.is_sign_negative() && !r.is_zero() {
                    warn_truncated(ctx, "DECIMAL", v);
                    0
                } else {
                    r.to_u64().unwrap_or(u64::MAX)
                }
            }
            Num::F(f) => {
                let r = f.round();
                if r < 0.0 {
                    crate::value::round_f64_to_i64(r) as u64
                } else if r >= 18_446_744_073_709_551_615.0 {
                    u64::MAX
                } else {
                    r as u64
                }
            }
        },
    };
    Some(Value::UInt(n))
}

/// Round to DECIMAL(p, s), saturating at the type's largest magnitude with warning 1264.
pub(crate) fn fit_decimal(
    d: Decimal,
    precision: u8,
    scale: u8,
    ctx: &mut FnContext,
    what: &str,
) -> Decimal {
    let scale = scale.min(precision) as u32;
    let r = decimal_to_scale(d, scale);
    let int_digits = precision as u32 - scale;
    // The largest magnitude is int_digits nines followed by scale nines.
    let limit = if int_digits >= 29 {
        None
    } else {
        Some(Decimal::from_i128_with_scale(10i128.pow(int_digits), 0))
    };
    match limit {
        Some(l) if r.abs() >= l => {
            ctx.warn(
                code::ER_WARN_DATA_OUT_OF_RANGE,
                format!("Out of range value for column '{what}' at row 1"),
            );
            let max = decimal_to_scale(l - Decimal::new(1, scale.min(28)), scale);
            if r.is_sign_negative() {
                -max
            } else {
                max
            }
        }
        _ => r,
    }
}

fn cast_char(v: &Value, len: Option<u32>, ctx: &mut FnContext) -> Option<Value> {
    let s = match v {
        Value::Null => return None,
        Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        other => txt(other)?.s.into_owned(),
    };
    Some(Value::Str(match len {
        Some(n) if s.chars().count() > n as usize => {
            ctx.warn(
                code::ER_TRUNCATED_WRONG_VALUE,
                format!("Truncated incorrect CHAR({n}) value: '{s}'"),
            );
            s.chars().take(n as usize).collect()
        }
        _ => s,
    }))
}

fn cast_binary(v: &Value, len: Option<u32>, ctx: &mut FnContext) -> Option<Value> {
    let mut b = v.to_bytes()?;
    if let Some(n) = len {
        let n = n as usize;
        if b.len() > n {
            ctx.warn(
                code::ER_TRUNCATED_WRONG_VALUE,
                format!(
                    "Truncated incorrect BINARY({n}) value: '{}'",
                    String::from_utf8_lossy(&b)
                ),
            );
            b.truncate(n);
        } else {
            b.resize(n, 0);
        }
    }
    Some(Value::Bytes(b))
}

fn cast_year(v: &Value, ctx: &mut FnContext) -> Option<Value> {
    let y: i64 = match v {
        Value::Null => return None,
        Value::Date(d) => d.year as i64,
        Value::DateTime(dt) => dt.date.year as i64,
        Value::Str(_) | Value::Bytes(_) => {
            let t = txt(v)?;
            let (n, whole) = int_prefix(&t.s);
            if !whole {
                warn_truncated(ctx, "INTEGER", v);
            }
            // A string '0' or '00' is the year 2000; the number 0 is the zero year.
            match n {
                0..=69 => 2000 + n as i64,
                70..=99 => 1900 + n as i64,
                _ => n.clamp(-1, 100_000) as i64,
            }
        }
        _ => match to_num(v, ctx)? {
            Num::F(f) => crate::value::round_f64_to_i64(f),
            n => {
                let i = n.into_value().to_i64().unwrap_or(0);
                match i {
                    1..=69 => 2000 + i,
                    70..=99 => 1900 + i,
                    _ => i,
                }
            }
        },
    };
    if y == 0 || (1901..=2155).contains(&y) {
        Some(Value::Int(y))
    } else {
        ctx.warn(
            code::ER_TRUNCATED_WRONG_VALUE,
            format!("Truncated incorrect YEAR value: {}", lit(v)),
        );
        None
    }
}

/// CAST(v AS to) with MySQL semantics. NULL stays NULL.
pub fn cast(v: &Value, to: &CastType, ctx: &mut FnContext) -> Result<Value> {
    if v.is_null() {
        return Ok(Value::Null);
    }
    let r = match *to {
        CastType::Signed => cast_signed(v, ctx),
        CastType::Unsigned => cast_unsigned(v, ctx),
        CastType::Decimal(ps) => {
            let (p, s) = ps.unwrap_or((10, 0));
            let d = match v {
                Value::Str(_) | Value::Bytes(_) => {
                    let t = txt(v).map(|t| t.s.into_owned()).unwrap_or_default();
                    if !crate::value::is_full_number(t.as_bytes()) {
                        warn_truncated(ctx, "DECIMAL", v);
                    }
                    Some(crate::value::parse_decimal_prefix(t.as_bytes()))
                }
                other => to_num(other, ctx).map(Num::to_decimal),
            };
            let what = format!("CAST({} AS DECIMAL({p},{s}))", lit(v));
            d.map(|d| dec_value(fit_decimal(d, p, s, ctx, &what)))
        }
        CastType::Double => super::args::to_f64(v, ctx).map(Value::Double),
        CastType::Float => super::args::to_f64(v, ctx).map(|f| Value::Double(f as f32 as f64)),
        CastType::Char(n) => cast_char(v, n, ctx),
        CastType::Binary(n) => cast_binary(v, n, ctx),
        CastType::Date => to_datetime_strict(v, ctx).map(|dt| Value::Date(dt.date)),
        CastType::DateTime(fsp) => {
            to_datetime_strict(v, ctx).map(|dt| Value::DateTime(round_datetime(dt, fsp)))
        }
        CastType::Time(fsp) => to_time(v, ctx).map(|t| Value::Time(round_time(t, fsp))),
        CastType::Json => return super::json::cast_to_json(v).map(Value::Str),
        CastType::Year => cast_year(v, ctx),
    };
    Ok(r.unwrap_or(Value::Null))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(v: impl Into<Value>, to: CastType) -> Value {
        let mut ctx = FnContext::default();
        cast(&v.into(), &to, &mut ctx).expect("cast")
    }

    #[test]
    fn numeric_casts() {
        assert_eq!(c("12abc", CastType::Signed), Value::Int(12));
        assert_eq!(c("1.9", CastType::Signed), Value::Int(1));
        assert_eq!(c(1.5, CastType::Signed), Value::Int(2));
        assert_eq!(c(-1.5, CastType::Signed), Value::Int(-2));
        assert_eq!(c(u64::MAX, CastType::Signed), Value::Int(-1));
        // Manual: SELECT CAST(1-2 AS UNSIGNED) -> 18446744073709551615.
        assert_eq!(c(-1, CastType::Unsigned), Value::UInt(u64::MAX));
        assert_eq!(c("-1", CastType::Unsigned), Value::UInt(u64::MAX));
        assert_eq!(
            c("3.14159", CastType::Decimal(Some((5, 2)))).to_string(),
            "3.14"
        );
        assert_eq!(c(2, CastType::Decimal(Some((5, 2)))).to_string(), "2.00");
        assert_eq!(c(1.005, CastType::Decimal(None)).to_string(), "1");
        let mut ctx = FnContext::default();
        let r = cast(
            &Value::Int(1000),
            &CastType::Decimal(Some((3, 0))),
            &mut ctx,
        );
        assert_eq!(r.map(|v| v.to_string()), Ok("999".into()));
        assert_eq!(ctx.warnings[0].0, 1264);
        assert_eq!(c("2.5", CastType::Double), Value::Double(2.5));
    }

    #[test]
    fn string_casts() {
        assert_eq!(c(42, CastType::Char(None)), Value::from("42"));
        assert_eq!(c("abcdef", CastType::Char(Some(3))), Value::from("abc"));
        assert_eq!(
            c("ab", CastType::Binary(Some(4))),
            Value::Bytes(b"ab\0\0".to_vec())
        );
        assert_eq!(
            c(Value::Bytes(b"hi".to_vec()), CastType::Char(None)),
            Value::from("hi")
        );
    }

    #[test]
    fn temporal_casts() {
        let d = |s: &str| c(s, CastType::Date).to_string();
        assert_eq!(d("2024-01-15 10:00:00"), "2024-01-15");
        assert_eq!(c(20240115, CastType::Date).to_string(), "2024-01-15");
        assert_eq!(c("2024-02-30", CastType::Date), Value::Null);
        assert_eq!(c("2024-02-00", CastType::Date), Value::Null);
        assert_eq!(
            c("2024-01-01 10:00:00.5", CastType::DateTime(0)).to_string(),
            "2024-01-01 10:00:01"
        );
        assert_eq!(
            c("2024-01-01 10:00:00.123456", CastType::DateTime(2)).to_string(),
            "2024-01-01 10:00:00.120000"
        );
        assert_eq!(c("12:34:56", CastType::Time(0)).to_string(), "12:34:56");
        assert_eq!(c(123456, CastType::Time(0)).to_string(), "12:34:56");
        assert_eq!(
            c("2024-01-01 10:11:12", CastType::Time(0)).to_string(),
            "10:11:12"
        );
        assert_eq!(c("900:00:00", CastType::Time(0)).to_string(), "838:59:59");
        assert_eq!(c(2024, CastType::Year), Value::Int(2024));
        assert_eq!(c(5, CastType::Year), Value::Int(2005));
        assert_eq!(c("0", CastType::Year), Value::Int(2000));
        let mut ctx = FnContext::default();
        assert_eq!(
            cast(&"bad".into(), &CastType::Date, &mut ctx),
            Ok(Value::Null)
        );
        assert_eq!(ctx.warnings[0].1, "Incorrect datetime value: 'bad'");
    }
}
