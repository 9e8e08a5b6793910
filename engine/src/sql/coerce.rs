//! Converting values to a column's type: on INSERT/UPDATE (with MySQL's strict-mode
//! errors and non-strict warnings), and for index lookups (the key a constant would have
//! in the column's domain, or "cannot use the index" when MySQL's comparison rules could
//! match values whose keys differ, e.g. a number compared with a string column).

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};

use crate::catalog::{ColumnDef, SqlType};
use crate::convert::{parse_datetime, parse_time};
use crate::error::{code, Error, Result};
use crate::temporal::{Date, DateTime, Time};
use crate::value::{is_full_number, Value};

/// A warning raised while storing a value (non-strict mode).
pub type Warnings = Vec<(u16, String)>;

fn out_of_range(col: &ColumnDef, row: usize) -> Error {
    Error::new(
        code::ER_WARN_DATA_OUT_OF_RANGE,
        format!("Out of range value for column '{}' at row {row}", col.name),
    )
}

fn incorrect(kind: &str, v: &Value, col: &ColumnDef, row: usize) -> Error {
    Error::new(
        code::ER_TRUNCATED_WRONG_VALUE_FOR_FIELD,
        format!(
            "Incorrect {kind} value: '{}' for column '{}' at row {row}",
            v.to_text().unwrap_or_default(),
            col.name
        ),
    )
}

/// Convert `v` for storage in `col`. In strict mode a value that does not fit is an
/// error; otherwise it is adjusted as MySQL does and a warning is recorded.
pub fn store_value(
    v: Value,
    col: &ColumnDef,
    strict: bool,
    row: usize,
    warnings: &mut Warnings,
) -> Result<Value> {
    if v.is_null() {
        if !col.nullable {
            return Err(Error::new(
                code::ER_BAD_NULL,
                format!("Column '{}' cannot be null", col.name),
            ));
        }
        return Ok(Value::Null);
    }
    let soft = |e: Error, fallback: Value, warnings: &mut Warnings| -> Result<Value> {
        if strict {
            Err(e)
        } else {
            warnings.push((e.code, e.message));
            Ok(fallback)
        }
    };
    match &col.ty {
        t if t.is_integer() || *t == SqlType::Year => {
            let (lo, hi) = t.int_range(col.unsigned).expect("integer type has a range");
            let n: i128 = match &v {
                Value::Int(i) => *i as i128,
                Value::UInt(u) => *u as i128,
                Value::Double(d) => {
                    let r = d.round();
                    if r.is_nan() {
                        0
                    } else if r > 1.8e19 {
                        i128::MAX
                    } else if r < -1.8e19 {
                        i128::MIN
                    } else {
                        r as i128
                    }
                }
                Value::Decimal(d) => d
                    .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero)
                    .to_i128()
                    .unwrap_or(0),
                Value::Str(s) => {
                    if is_full_number(s.as_bytes()) {
                        let d = crate::value::parse_decimal_prefix(s.as_bytes());
                        d.round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero)
                            .to_i128()
                            .unwrap_or(0)
                    } else if s.trim().is_empty() && !strict {
                        0
                    } else {
                        let fallback = Value::Int(v.to_i64().unwrap_or(0));
                        return soft(incorrect("integer", &v, col, row), fallback, warnings)
                            .and_then(|f| store_value(f, col, strict, row, warnings));
                    }
                }
                Value::Bytes(b) => crate::value::parse_i64_prefix(b) as i128,
                other => other.to_i64().unwrap_or(0) as i128,
            };
            let n = if *t == SqlType::Year
                && matches!(v, Value::Int(_) | Value::UInt(_) | Value::Str(_))
            {
                match n {
                    0 if matches!(&v, Value::Str(s) if s.trim() != "0" && s.trim() != "0000") => {
                        2000
                    }
                    1..=69 => n + 2000,
                    70..=99 => n + 1900,
                    _ => n,
                }
            } else {
                n
            };
            if n < lo || n > hi || (*t == SqlType::Year && n != 0 && n < 1901) {
                let clamped = n.clamp(lo, hi);
                let fb = if col.unsigned {
                    Value::UInt(clamped as u64)
                } else {
                    Value::Int(clamped as i64)
                };
                return soft(out_of_range(col, row), fb, warnings);
            }
            Ok(if col.unsigned {
                Value::UInt(n as u64)
            } else {
                Value::Int(n as i64)
            })
        }
        SqlType::Decimal(p, s) => {
            let d = match &v {
                Value::Str(st) if !is_full_number(st.as_bytes()) => {
                    let fb = Value::Decimal(v.to_decimal().unwrap_or_default());
                    return soft(incorrect("decimal", &v, col, row), fb, warnings).and_then(|f| {
                        if f.is_null() {
                            Ok(f)
                        } else {
                            store_value(f, col, strict, row, warnings)
                        }
                    });
                }
                Value::Double(f) => Decimal::try_from(*f).unwrap_or_default(),
                other => other.to_decimal().unwrap_or_default(),
            };
            let mut d = d.round_dp_with_strategy(*s as u32, RoundingStrategy::MidpointAwayFromZero);
            if (*s as u32) <= 28
                && d.abs() < Decimal::from_i128_with_scale(10i128.pow(28 - (*s as u32).min(28)), 0)
            {
                d.rescale(*s as u32);
            }
            let int_digits = ((*p as i32) - (*s as i32)).max(0) as u32;
            // rust_decimal holds 28 digits: wider declared precisions cannot overflow it.
            let limit = if int_digits <= 28 {
                Some(Decimal::from_i128_with_scale(10i128.pow(int_digits), 0))
            } else {
                None
            };
            if limit.is_some_and(|l| d.abs() >= l)
                || (col.unsigned && d.is_sign_negative() && !d.is_zero())
            {
                let limit = limit.unwrap_or(Decimal::MAX);
                let max = limit - Decimal::new(1, (*s as u32).min(28));
                let fb = if d.is_sign_negative() {
                    if col.unsigned {
                        Decimal::ZERO
                    } else {
                        -max
                    }
                } else {
                    max
                };
                return soft(out_of_range(col, row), Value::Decimal(fb), warnings);
            }
            Ok(Value::Decimal(d))
        }
        SqlType::Float | SqlType::Double => {
            let f = match &v {
                Value::Str(st) if !is_full_number(st.as_bytes()) => {
                    return soft(
                        incorrect("double", &v, col, row),
                        Value::Double(v.to_f64().unwrap_or(0.0)),
                        warnings,
                    );
                }
                other => other.to_f64().unwrap_or(0.0),
            };
            let f = if col.ty == SqlType::Float {
                (f as f32) as f64
            } else {
                f
            };
            if col.unsigned && f < 0.0 {
                return soft(out_of_range(col, row), Value::Double(0.0), warnings);
            }
            Ok(Value::Double(f))
        }
        SqlType::Char(n) | SqlType::VarChar(n) => {
            let mut s = v.to_text().unwrap_or_default();
            if let SqlType::Char(_) = col.ty {
                let t = s.trim_end_matches(' ').len();
                s.truncate(t);
            }
            if s.chars().count() > *n as usize {
                let cut: String = s.chars().take(*n as usize).collect();
                if s[cut.len()..].chars().all(|c| c == ' ') {
                    return Ok(Value::Str(cut));
                }
                return soft(too_long(col, row), Value::Str(cut), warnings);
            }
            Ok(Value::Str(s))
        }
        SqlType::Text(limit) => {
            let s = v.to_text().unwrap_or_default();
            if s.len() > *limit as usize {
                let mut cut = *limit as usize;
                while !s.is_char_boundary(cut) {
                    cut -= 1;
                }
                return soft(
                    too_long(col, row),
                    Value::Str(s[..cut].to_string()),
                    warnings,
                );
            }
            Ok(Value::Str(s))
        }
        SqlType::Binary(n) | SqlType::VarBinary(n) | SqlType::Blob(n) => {
            let mut b = v.to_bytes().unwrap_or_default();
            if b.len() > *n as usize {
                b.truncate(*n as usize);
                return soft(too_long(col, row), Value::Bytes(b), warnings);
            }
            if let SqlType::Binary(n) = col.ty {
                b.resize(n as usize, 0);
            }
            Ok(Value::Bytes(b))
        }
        SqlType::Bit(n) => {
            // A string is its bytes, big-endian, as in MySQL ('1' is 0x31); a number is
            // its value.
            let bytes = match &v {
                Value::Bytes(b) => Some(b.as_slice()),
                Value::Str(s) => Some(s.as_bytes()),
                _ => None,
            };
            let (x, wide) = match bytes {
                Some(b) => {
                    let lead = b.iter().take_while(|&&c| c == 0).count();
                    let b = &b[lead..];
                    (
                        b.iter().fold(0u64, |a, &c| (a << 8) | c as u64),
                        b.len() > 8,
                    )
                }
                None => (v.to_i64().unwrap_or(0) as u64, false),
            };
            if wide || *n < 64 && x >> *n != 0 {
                return soft(too_long(col, row), Value::UInt((1u64 << *n) - 1), warnings);
            }
            Ok(Value::UInt(x))
        }
        SqlType::Enum(members) => {
            let found = match &v {
                Value::Int(_) | Value::UInt(_) => {
                    let i = v.to_i64().unwrap_or(0);
                    if i >= 1 && (i as usize) <= members.len() {
                        Some(members[i as usize - 1].clone())
                    } else {
                        None
                    }
                }
                other => {
                    let s = other.to_text().unwrap_or_default();
                    let s = s.trim_end_matches(' ');
                    members.iter().find(|m| m.eq_ignore_ascii_case(s)).cloned()
                }
            };
            match found {
                Some(m) => Ok(Value::Str(m)),
                None => soft(truncated(col, row), Value::Str(String::new()), warnings),
            }
        }
        SqlType::Set(members) => {
            let s = match &v {
                Value::Int(_) | Value::UInt(_) => {
                    let mask = v.to_i64().unwrap_or(0) as u64;
                    if members.len() < 64 && mask >> members.len() != 0 {
                        return soft(truncated(col, row), Value::Str(String::new()), warnings);
                    }
                    members
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| mask >> i & 1 == 1)
                        .map(|(_, m)| m.as_str())
                        .collect::<Vec<_>>()
                        .join(",")
                }
                other => other.to_text().unwrap_or_default(),
            };
            let mut picked: Vec<usize> = Vec::new();
            if !s.is_empty() {
                for part in s.split(',') {
                    match members.iter().position(|m| m.eq_ignore_ascii_case(part)) {
                        Some(i) => {
                            if !picked.contains(&i) {
                                picked.push(i)
                            }
                        }
                        None => {
                            return soft(truncated(col, row), Value::Str(String::new()), warnings)
                        }
                    }
                }
            }
            picked.sort();
            Ok(Value::Str(
                picked
                    .iter()
                    .map(|&i| members[i].as_str())
                    .collect::<Vec<_>>()
                    .join(","),
            ))
        }
        SqlType::Date | SqlType::DateTime(_) | SqlType::Timestamp(_) => {
            let dt = match to_datetime(&v) {
                Some(dt) => dt,
                None => {
                    let kind = if col.ty == SqlType::Date {
                        "date"
                    } else {
                        "datetime"
                    };
                    let e = Error::new(
                        code::ER_TRUNCATED_WRONG_VALUE,
                        format!(
                            "Incorrect {kind} value: '{}' for column '{}' at row {row}",
                            v.to_text().unwrap_or_default(),
                            col.name
                        ),
                    );
                    let zero = if col.ty == SqlType::Date {
                        Value::Date(Date::default())
                    } else {
                        Value::DateTime(DateTime::default())
                    };
                    return soft(e, zero, warnings);
                }
            };
            let kind = if col.ty == SqlType::Date {
                "date"
            } else {
                "datetime"
            };
            let bad = |warnings: &mut Warnings| {
                let e = Error::new(
                    code::ER_TRUNCATED_WRONG_VALUE,
                    format!(
                        "Incorrect {kind} value: '{}' for column '{}' at row {row}",
                        v.to_text().unwrap_or_default(),
                        col.name
                    ),
                );
                soft(
                    e,
                    if col.ty == SqlType::Date {
                        Value::Date(Date::default())
                    } else {
                        Value::DateTime(DateTime::default())
                    },
                    warnings,
                )
            };
            if dt.date.is_zero() || dt.date.month == 0 || dt.date.day == 0 {
                return bad(warnings);
            }
            if matches!(col.ty, SqlType::Timestamp(_)) {
                let secs = dt.unix_seconds();
                if !(1..=2_147_483_647).contains(&secs) {
                    return bad(warnings);
                }
            }
            Ok(match col.ty {
                SqlType::Date => Value::Date(dt.date),
                SqlType::DateTime(f) | SqlType::Timestamp(f) => Value::DateTime(round_fsp(dt, f)),
                _ => unreachable!(),
            })
        }
        SqlType::Time(f) => {
            let t = match &v {
                Value::Time(t) => Some(*t),
                Value::DateTime(dt) => Some(Time {
                    negative: false,
                    hour: dt.hour as u32,
                    minute: dt.minute,
                    second: dt.second,
                    micro: dt.micro,
                }),
                Value::Int(_) | Value::UInt(_) => parse_time(&v.to_text().unwrap_or_default()),
                other => parse_time(&other.to_text().unwrap_or_default()),
            };
            match t {
                Some(mut t) => {
                    let div = 10u32.pow(6 - (*f).min(6) as u32);
                    t.micro = (t.micro + div / 2) / div * div;
                    if t.micro >= 1_000_000 {
                        t = Time::from_micros(
                            t.total_micros().signum()
                                * (t.total_micros().abs() - t.micro as i64 + 1_000_000),
                        );
                    }
                    if t.hour > 838 {
                        return soft(
                            out_of_range(col, row),
                            Value::Time(Time {
                                negative: t.negative,
                                hour: 838,
                                minute: 59,
                                second: 59,
                                micro: 0,
                            }),
                            warnings,
                        );
                    }
                    Ok(Value::Time(t))
                }
                None => {
                    let e = Error::new(
                        code::ER_TRUNCATED_WRONG_VALUE,
                        format!(
                            "Incorrect time value: '{}' for column '{}' at row {row}",
                            v.to_text().unwrap_or_default(),
                            col.name
                        ),
                    );
                    soft(e, Value::Time(Time::default()), warnings)
                }
            }
        }
        SqlType::Json => {
            let s = v.to_text().unwrap_or_default();
            match serde_json::from_str::<serde_json::Value>(&s) {
                Ok(j) => Ok(Value::Str(crate::sql::coerce::json_text(&j))),
                Err(e) => Err(Error::new(
                    code::ER_INVALID_JSON_TEXT,
                    format!(
                        "Invalid JSON text: \"{e}\" at position 0 in value for column '{}'.",
                        col.name
                    ),
                )),
            }
        }
        _ => Ok(v),
    }
}

/// MySQL's canonical JSON text: ", " between items and ": " after keys.
pub fn json_text(j: &serde_json::Value) -> String {
    match j {
        serde_json::Value::Array(a) => format!(
            "[{}]",
            a.iter().map(json_text).collect::<Vec<_>>().join(", ")
        ),
        serde_json::Value::Object(o) => format!(
            "{{{}}}",
            {
                let mut items: Vec<(&String, &serde_json::Value)> = o.iter().collect();
                items.sort_by(|a, b| a.0.len().cmp(&b.0.len()).then_with(|| a.0.cmp(b.0)));
                items
            }
            .into_iter()
            .map(|(k, v)| format!("{}: {}", serde_json::Value::String(k.clone()), json_text(v)))
            .collect::<Vec<_>>()
            .join(", ")
        ),
        other => other.to_string(),
    }
}

fn too_long(col: &ColumnDef, row: usize) -> Error {
    Error::new(
        code::ER_DATA_TOO_LONG,
        format!("Data too long for column '{}' at row {row}", col.name),
    )
}

fn truncated(col: &ColumnDef, row: usize) -> Error {
    Error::new(
        1265,
        format!("Data truncated for column '{}' at row {row}", col.name),
    )
}

fn round_fsp(mut dt: DateTime, fsp: u8) -> DateTime {
    let div = 10u32.pow(6 - fsp.min(6) as u32);
    let m = (dt.micro + div / 2) / div * div;
    if m >= 1_000_000 {
        dt = DateTime::from_total_micros(dt.total_micros() - dt.micro as i64 + 1_000_000);
    } else {
        dt.micro = m;
    }
    dt
}

/// A value as a datetime (strings parsed, YYYYMMDD[hhmmss] numbers accepted).
pub fn to_datetime(v: &Value) -> Option<DateTime> {
    match v {
        Value::DateTime(dt) => Some(*dt),
        Value::Date(d) => Some(DateTime::from_date(*d)),
        Value::Str(s) => parse_datetime(s),
        Value::Bytes(b) => parse_datetime(std::str::from_utf8(b).ok()?),
        Value::Int(_) | Value::UInt(_) => {
            let n = v.to_i64()?;
            if n == 0 {
                return Some(DateTime::default());
            }
            let s = n.to_string();
            match s.len() {
                6 => parse_datetime(&format!("20{s}")),
                8 | 14 => parse_datetime(&s),
                12 => parse_datetime(&format!("20{s}")),
                _ => None,
            }
        }
        _ => None,
    }
}

/// 2^53: from here on a double does not tell neighbouring integers apart.
const DOUBLE_EXACT: f64 = 9_007_199_254_740_992.0;

/// What an index lookup on `col` for a constant can do.
pub enum KeyLookup {
    /// Look up this value.
    Key(Value),
    /// Nothing in the column can equal the constant.
    NoMatch,
    /// The index cannot answer this comparison (MySQL would compare as numbers, say).
    Unusable,
}

/// The value an equality lookup on `col` should search for.
pub fn lookup_value(v: &Value, col: &ColumnDef) -> KeyLookup {
    use KeyLookup::*;
    if v.is_null() {
        return NoMatch;
    }
    match &col.ty {
        t if t.is_integer() || *t == SqlType::Year => match v {
            Value::Int(_) | Value::UInt(_) => Key(v.clone()),
            // Beyond 2^53 one double stands for several integers: the column compared
            // with it as a double matches more than the one key.
            Value::Double(d) if d.abs() >= DOUBLE_EXACT => Unusable,
            Value::Double(d) => {
                if d.fract() == 0.0 {
                    Key(Value::Int(*d as i64))
                } else {
                    NoMatch
                }
            }
            Value::Decimal(d) => {
                if d.fract().is_zero() {
                    d.to_i64().map(|i| Key(Value::Int(i))).unwrap_or(NoMatch)
                } else {
                    NoMatch
                }
            }
            Value::Str(s) if is_full_number(s.as_bytes()) => {
                if crate::value::parse_f64_prefix(s.as_bytes()).abs() >= DOUBLE_EXACT {
                    return Unusable; // compared as doubles, see above
                }
                let d = crate::value::parse_decimal_prefix(s.as_bytes());
                lookup_value(&Value::Decimal(d), col)
            }
            _ => Unusable,
        },
        SqlType::Decimal(..) => match v {
            Value::Int(_) | Value::UInt(_) | Value::Decimal(_) => {
                Key(Value::Decimal(v.to_decimal().unwrap_or_default()))
            }
            _ => Unusable,
        },
        SqlType::Char(_) | SqlType::VarChar(_) | SqlType::Text(_) => match v {
            Value::Str(_) => Key(v.clone()),
            Value::Bytes(b) => match std::str::from_utf8(b) {
                Ok(s) => Key(Value::Str(s.to_string())),
                Err(_) => Unusable,
            },
            Value::Date(_) | Value::DateTime(_) | Value::Time(_) => Key(Value::Str(v.to_string())),
            _ => Unusable,
        },
        SqlType::Binary(_) | SqlType::VarBinary(_) | SqlType::Blob(_) => match v {
            Value::Str(s) => Key(Value::Bytes(s.as_bytes().to_vec())),
            Value::Bytes(_) => Key(v.clone()),
            _ => Unusable,
        },
        SqlType::Date | SqlType::DateTime(_) | SqlType::Timestamp(_) => match v {
            Value::Date(_) | Value::DateTime(_) => Key(v.clone()),
            Value::Str(s) => match parse_datetime(s) {
                Some(dt) => Key(Value::DateTime(dt)),
                None => Unusable,
            },
            _ => Unusable,
        },
        SqlType::Time(_) => match v {
            Value::Time(_) => Key(v.clone()),
            Value::Str(s) => match parse_time(s) {
                Some(t) => Key(Value::Time(t)),
                None => Unusable,
            },
            _ => Unusable,
        },
        _ => Unusable,
    }
}

/// The value a range bound on `col` should use; `lower` says which end. A bound that
/// cannot be represented exactly is widened (the filter above re-checks every row).
pub fn bound_value(v: &Value, col: &ColumnDef, lower: bool) -> KeyLookup {
    use KeyLookup::*;
    if col.ty.is_integer() {
        if let Value::Decimal(d) = v {
            // Integers compare with a decimal exactly: round the bound in decimal.
            let r = if lower { d.floor() } else { d.ceil() };
            return r.to_i64().map_or(Unusable, |i| Key(Value::Int(i)));
        }
        let f = match v {
            Value::Double(d) => Some(*d),
            Value::Str(s) if is_full_number(s.as_bytes()) => {
                Some(crate::value::parse_f64_prefix(s.as_bytes()))
            }
            _ => None,
        };
        if let Some(f) = f {
            if f.is_nan() {
                return Unusable;
            }
            let r = if lower { f.floor() } else { f.ceil() };
            if r.abs() >= DOUBLE_EXACT {
                return Unusable; // see `lookup_value`
            }
            return Key(Value::Int(r as i64));
        }
    }
    lookup_value(v, col)
}
