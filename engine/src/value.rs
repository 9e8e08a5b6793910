//! SQL values and MySQL's rules for converting and comparing them.
//!
//! A [`Value`] is what an expression evaluates to and what a row holds. Conversions
//! follow MySQL: strings used as numbers take their numeric prefix ('12abc' is 12, 'abc'
//! is 0), comparisons between a string and a number are numeric, and comparisons between
//! strings use the case-insensitive default collation unless a side is binary.

use std::cmp::Ordering;
use std::fmt;

use rust_decimal::prelude::{FromPrimitive, ToPrimitive};
use rust_decimal::Decimal;

use crate::collation::Collation;
use crate::temporal::{Date, DateTime, Time};

/// One SQL value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    UInt(u64),
    Double(f64),
    Decimal(Decimal),
    /// A character string (utf8mb4).
    Str(String),
    /// A binary string (BINARY, VARBINARY, BLOB): compared byte by byte.
    Bytes(Vec<u8>),
    Date(Date),
    DateTime(DateTime),
    Time(Time),
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    pub fn is_numeric(&self) -> bool {
        matches!(
            self,
            Value::Int(_) | Value::UInt(_) | Value::Double(_) | Value::Decimal(_)
        )
    }

    pub fn is_string(&self) -> bool {
        matches!(self, Value::Str(_) | Value::Bytes(_))
    }

    pub fn is_temporal(&self) -> bool {
        matches!(self, Value::Date(_) | Value::DateTime(_) | Value::Time(_))
    }

    /// The value as a double (MySQL's numeric context). NULL is None.
    pub fn to_f64(&self) -> Option<f64> {
        Some(match self {
            Value::Null => return None,
            Value::Int(i) => *i as f64,
            Value::UInt(u) => *u as f64,
            Value::Double(d) => *d,
            Value::Decimal(d) => d.to_f64().unwrap_or(0.0),
            Value::Str(s) => parse_f64_prefix(s.as_bytes()),
            Value::Bytes(b) => parse_f64_prefix(b),
            Value::Date(d) => (d.year as i64 * 10000 + d.month as i64 * 100 + d.day as i64) as f64,
            Value::DateTime(dt) => datetime_number(dt) as f64 + dt.micro as f64 / 1e6,
            Value::Time(t) => {
                let n = (t.hour as i64 * 10000 + t.minute as i64 * 100 + t.second as i64) as f64
                    + t.micro as f64 / 1e6;
                if t.negative {
                    -n
                } else {
                    n
                }
            }
        })
    }

    /// The value as a signed integer, rounding as MySQL does for a cast (NULL is None).
    pub fn to_i64(&self) -> Option<i64> {
        Some(match self {
            Value::Null => return None,
            Value::Int(i) => *i,
            Value::UInt(u) => *u as i64,
            Value::Double(d) => round_f64_to_i64(*d),
            Value::Decimal(d) => d.round().to_i64().unwrap_or(if d.is_sign_negative() {
                i64::MIN
            } else {
                i64::MAX
            }),
            Value::Str(s) => parse_i64_prefix(s.as_bytes()),
            Value::Bytes(b) => parse_i64_prefix(b),
            Value::Date(_) | Value::DateTime(_) | Value::Time(_) => {
                round_f64_to_i64(self.to_f64().unwrap_or(0.0))
            }
        })
    }

    /// The value as an exact decimal (NULL is None).
    pub fn to_decimal(&self) -> Option<Decimal> {
        Some(match self {
            Value::Null => return None,
            Value::Int(i) => Decimal::from(*i),
            Value::UInt(u) => Decimal::from(*u),
            Value::Decimal(d) => *d,
            Value::Double(f) => Decimal::from_f64(*f).unwrap_or_default(),
            Value::Str(s) => parse_decimal_prefix(s.as_bytes()),
            Value::Bytes(b) => parse_decimal_prefix(b),
            other => Decimal::from_f64(other.to_f64().unwrap_or(0.0)).unwrap_or_default(),
        })
    }

    /// Truth value in a boolean context: NULL is None, numbers are true when non-zero.
    pub fn to_bool(&self) -> Option<bool> {
        match self {
            Value::Null => None,
            Value::Int(i) => Some(*i != 0),
            Value::UInt(u) => Some(*u != 0),
            Value::Double(d) => Some(*d != 0.0),
            Value::Decimal(d) => Some(!d.is_zero()),
            other => Some(other.to_f64().unwrap_or(0.0) != 0.0),
        }
    }

    /// The value's text as MySQL's text protocol sends it (NULL is None).
    pub fn to_text(&self) -> Option<String> {
        match self {
            Value::Null => None,
            Value::Str(s) => Some(s.clone()),
            Value::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
            other => Some(other.to_string()),
        }
    }

    /// The value's bytes as the text protocol sends them (NULL is None).
    pub fn to_bytes(&self) -> Option<Vec<u8>> {
        match self {
            Value::Null => None,
            Value::Str(s) => Some(s.as_bytes().to_vec()),
            Value::Bytes(b) => Some(b.clone()),
            other => Some(other.to_string().into_bytes()),
        }
    }
}

/// YYYYMMDDhhmmss as an integer.
fn datetime_number(dt: &DateTime) -> i64 {
    (dt.date.year as i64 * 10000 + dt.date.month as i64 * 100 + dt.date.day as i64) * 1_000_000
        + dt.hour as i64 * 10000
        + dt.minute as i64 * 100
        + dt.second as i64
}

/// Round half away from zero and saturate, as MySQL converts a double to an integer.
pub fn round_f64_to_i64(d: f64) -> i64 {
    if d.is_nan() {
        return 0;
    }
    let r = d.round();
    if r >= 9.223_372_036_854_776e18 {
        i64::MAX
    } else if r <= -9.223_372_036_854_776e18 {
        i64::MIN
    } else {
        r as i64
    }
}

/// Length of the longest prefix of `s` that reads as a number (after leading spaces).
fn numeric_prefix(s: &[u8], allow_frac: bool) -> (usize, usize) {
    let mut i = 0;
    while i < s.len() && (s[i] == b' ' || s[i] == b'\t' || s[i] == b'\n' || s[i] == b'\r') {
        i += 1;
    }
    let start = i;
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        i += 1;
    }
    let digits_start = i;
    while i < s.len() && s[i].is_ascii_digit() {
        i += 1;
    }
    let mut any = i > digits_start;
    if allow_frac && i < s.len() && s[i] == b'.' {
        let j = i + 1;
        let mut k = j;
        while k < s.len() && s[k].is_ascii_digit() {
            k += 1;
        }
        if k > j || any {
            any = any || k > j;
            i = k;
        }
    }
    if !any {
        return (start, start);
    }
    if allow_frac && i < s.len() && (s[i] == b'e' || s[i] == b'E') {
        let mut k = i + 1;
        if k < s.len() && (s[k] == b'+' || s[k] == b'-') {
            k += 1;
        }
        let ds = k;
        while k < s.len() && s[k].is_ascii_digit() {
            k += 1;
        }
        if k > ds {
            i = k;
        }
    }
    (start, i)
}

/// MySQL's string-to-double: the numeric prefix, 0 when there is none.
pub fn parse_f64_prefix(s: &[u8]) -> f64 {
    let (a, b) = numeric_prefix(s, true);
    std::str::from_utf8(&s[a..b])
        .ok()
        .and_then(|t| t.parse::<f64>().ok())
        .unwrap_or(0.0)
}

/// MySQL's string-to-integer: the numeric prefix, rounded, saturating.
pub fn parse_i64_prefix(s: &[u8]) -> i64 {
    let (a, b) = numeric_prefix(s, true);
    let t = std::str::from_utf8(&s[a..b]).unwrap_or("");
    if let Ok(i) = t.parse::<i64>() {
        return i;
    }
    round_f64_to_i64(t.parse::<f64>().unwrap_or(0.0))
}

/// Whether all of `s` (ignoring surrounding spaces) is a number.
pub fn is_full_number(s: &[u8]) -> bool {
    let (a, b) = numeric_prefix(s, true);
    a != b && s[b..].iter().all(|c| c.is_ascii_whitespace())
}

pub fn parse_decimal_prefix(s: &[u8]) -> Decimal {
    let (a, b) = numeric_prefix(s, true);
    let t = std::str::from_utf8(&s[a..b]).unwrap_or("0");
    let t = t.strip_prefix('+').unwrap_or(t);
    t.parse::<Decimal>()
        .or_else(|_| Decimal::from_scientific(t))
        .unwrap_or_default()
}

/// Format a double the way MySQL prints it (shortest round-trip form, no trailing ".0",
/// exponent notation for very large and very small magnitudes).
pub fn format_double(d: f64) -> String {
    if d.is_nan() || d.is_infinite() {
        return "NULL".into();
    }
    if d == 0.0 {
        return if d.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let abs = d.abs();
    if !(1e-15..1e15).contains(&abs) {
        let s = format!("{d:e}");
        // Rust prints 1e20 as "1e20"; MySQL prints "1e20" too, and 1.5e-20 as "1.5e-20".
        return s;
    }
    let s = format!("{d}");
    s
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("NULL"),
            Value::Int(i) => write!(f, "{i}"),
            Value::UInt(u) => write!(f, "{u}"),
            Value::Double(d) => f.write_str(&format_double(*d)),
            Value::Decimal(d) => write!(f, "{d}"),
            Value::Str(s) => f.write_str(s),
            Value::Bytes(b) => f.write_str(&String::from_utf8_lossy(b)),
            Value::Date(d) => write!(f, "{d}"),
            Value::DateTime(d) => write!(f, "{d}"),
            Value::Time(t) => write!(f, "{t}"),
        }
    }
}

/// Compare two strings under the default collation (utf8mb4_0900_ai_ci approximated:
/// case folded, NO PAD).
pub fn collate_cmp(a: &str, b: &str) -> Ordering {
    Collation::DEFAULT.cmp_str(a, b)
}

/// [`compare`] under a collation: two strings compare with it, anything else as
/// [`compare`] does (a binary string on either side compares bytes).
pub fn compare_in(a: &Value, b: &Value, coll: Collation) -> Option<Ordering> {
    match (a, b) {
        (Value::Str(x), Value::Str(y)) => Some(coll.cmp_str(x, y)),
        _ => compare(a, b),
    }
}

/// [`sort_cmp`] under a collation.
pub fn sort_cmp_in(a: &Value, b: &Value, coll: Collation) -> Ordering {
    match (a.is_null(), b.is_null()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        _ => compare_in(a, b, coll).unwrap_or(Ordering::Equal),
    }
}

/// MySQL's comparison of two non-NULL values (`=`, `<`, ORDER BY, GROUP BY): numeric when
/// either side is a number, temporal when either side is temporal, collated for strings.
/// Returns None when either side is NULL.
pub fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    use Value::*;
    Some(match (a, b) {
        (Null, _) | (_, Null) => return None,
        (Int(x), Int(y)) => x.cmp(y),
        (UInt(x), UInt(y)) => x.cmp(y),
        (Int(x), UInt(y)) => {
            if *x < 0 {
                Ordering::Less
            } else {
                (*x as u64).cmp(y)
            }
        }
        (UInt(x), Int(y)) => {
            if *y < 0 {
                Ordering::Greater
            } else {
                x.cmp(&(*y as u64))
            }
        }
        (Decimal(x), Decimal(y)) => x.cmp(y),
        (Decimal(_), Int(_) | UInt(_)) | (Int(_) | UInt(_), Decimal(_)) => {
            a.to_decimal()?.cmp(&b.to_decimal()?)
        }
        (Str(x), Str(y)) => collate_cmp(x, y),
        (Bytes(x), Bytes(y)) => x.cmp(y),
        (Str(x), Bytes(y)) => x.as_bytes().cmp(y.as_slice()),
        (Bytes(x), Str(y)) => x.as_slice().cmp(y.as_bytes()),
        (Date(x), Date(y)) => x.cmp(y),
        (DateTime(x), DateTime(y)) => x.cmp(y),
        (Date(x), DateTime(y)) => crate::temporal::DateTime::from_date(*x).cmp(y),
        (DateTime(x), Date(y)) => x.cmp(&crate::temporal::DateTime::from_date(*y)),
        (Time(x), Time(y)) => x.cmp(y),
        (Date(_) | DateTime(_), Str(s)) => match crate::convert::parse_datetime(s) {
            Some(dt) => compare(a, &DateTime(dt))?,
            None => cmp_f64(a.to_f64()?, b.to_f64()?),
        },
        (Str(s), Date(_) | DateTime(_)) => match crate::convert::parse_datetime(s) {
            Some(dt) => compare(&DateTime(dt), b)?,
            None => cmp_f64(a.to_f64()?, b.to_f64()?),
        },
        (Time(_), Str(s)) => match crate::convert::parse_time(s) {
            Some(t) => compare(a, &Time(t))?,
            None => cmp_f64(a.to_f64()?, b.to_f64()?),
        },
        (Str(s), Time(_)) => match crate::convert::parse_time(s) {
            Some(t) => compare(&Time(t), b)?,
            None => cmp_f64(a.to_f64()?, b.to_f64()?),
        },
        _ => cmp_f64(a.to_f64()?, b.to_f64()?),
    })
}

fn cmp_f64(x: f64, y: f64) -> Ordering {
    x.partial_cmp(&y).unwrap_or(Ordering::Equal)
}

/// Total order for sorting (ORDER BY): NULLs first, then [`compare`].
pub fn sort_cmp(a: &Value, b: &Value) -> Ordering {
    match (a.is_null(), b.is_null()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        _ => compare(a, b).unwrap_or(Ordering::Equal),
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<i32> for Value {
    fn from(v: i32) -> Self {
        Value::Int(v as i64)
    }
}
impl From<u64> for Value {
    fn from(v: u64) -> Self {
        Value::UInt(v)
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Double(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Str(v.to_string())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Str(v)
    }
}
impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Value::Bytes(v)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Int(v as i64)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map(Into::into).unwrap_or(Value::Null)
    }
}

#[cfg(test)]
mod tests {

    /// The ASCII fast path orders exactly like folding every char.
    #[test]
    fn ascii_collation_matches_char_folding() {
        fn slow(a: &str, b: &str) -> Ordering {
            let f = |s: &str| -> Vec<char> { s.chars().map(crate::collation::fold_char).collect() };
            f(a).cmp(&f(b))
        }
        let mut x: u64 = 0x5eed;
        let mut word = || {
            let alphabet = [
                'a', 'A', 'b', 'B', 'z', 'Z', '0', ' ', '-', '~', '\0', 'é', 'É', 'ß',
            ];
            let len = (x % 6) as usize;
            (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    alphabet[(x % alphabet.len() as u64) as usize]
                })
                .collect::<String>()
        };
        for _ in 0..5000 {
            let (a, b) = (word(), word());
            assert_eq!(collate_cmp(&a, &b), slow(&a, &b), "{a:?} vs {b:?}");
        }
        // The default collation is NO PAD, as MySQL 8's utf8mb4_0900_ai_ci.
        assert_eq!(collate_cmp("abc ", "ABC"), Ordering::Greater);
        assert_eq!(collate_cmp("abc", "ABC"), Ordering::Equal);
        assert_eq!(collate_cmp("É", "é"), Ordering::Equal);
    }

    use super::*;

    #[test]
    fn string_numbers_take_prefix() {
        assert_eq!(Value::from("12abc").to_i64(), Some(12));
        assert_eq!(Value::from("abc").to_i64(), Some(0));
        assert_eq!(Value::from(" -3.5e1x").to_f64(), Some(-35.0));
        assert_eq!(Value::from("2.5").to_i64(), Some(3));
    }

    #[test]
    fn default_collation_folds_case_without_padding() {
        assert_eq!(collate_cmp("a", "A"), Ordering::Equal);
        // The default collation is NO PAD, as MySQL 8's utf8mb4_0900_ai_ci.
        assert_eq!(collate_cmp("abc ", "ABC"), Ordering::Greater);
        assert_eq!(collate_cmp("abc", "ABC"), Ordering::Equal);
        assert_eq!(collate_cmp("a", "b"), Ordering::Less);
        assert_eq!(
            compare(&Value::Bytes(b"a".to_vec()), &Value::Bytes(b"A".to_vec())),
            Some(Ordering::Greater)
        );
    }

    #[test]
    fn mixed_comparisons_are_numeric() {
        assert_eq!(
            compare(&Value::from("10"), &Value::Int(9)),
            Some(Ordering::Greater)
        );
        assert_eq!(
            compare(&Value::Int(-1), &Value::UInt(0)),
            Some(Ordering::Less)
        );
        assert_eq!(compare(&Value::Null, &Value::Int(0)), None);
    }
}
