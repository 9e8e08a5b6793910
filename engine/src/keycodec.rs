//! Memcomparable key encoding: index keys as byte strings whose `memcmp` order is the SQL
//! order of the values, so B+trees compare keys without knowing their types.
//!
//! Each column is self-delimiting: `0x00` for NULL (sorts first, as in MySQL), else `0x01`
//! and a payload: integers as a sign-flipped big-endian i128 (signed and unsigned share one
//! order), doubles with the IEEE order trick, decimals by their double order then their
//! exact text, temporals as micro counts, strings as their collation's weights
//! ([`Collation::weight`]: case folded when case-insensitive, trailing spaces removed when
//! PAD SPACE; raw bytes for binary strings) with `0x00` escaped as `0x00 0xFF` and ended
//! by `0x00 0x00`, so `memcmp` of keys is the collation's order.
//! Invariant: the encoding of a prefix of columns is a byte prefix of the full key.

use crate::collation::Collation;
use crate::value::Value;

/// Append the encoding of `v` to `out`.
pub fn encode_value(out: &mut Vec<u8>, v: &Value, coll: Collation) {
    match v {
        Value::Null => out.push(0x00),
        Value::Int(i) => {
            out.push(0x01);
            push_int(out, *i as i128);
        }
        Value::UInt(u) => {
            out.push(0x01);
            push_int(out, *u as i128);
        }
        Value::Double(d) => {
            out.push(0x01);
            push_f64(out, *d);
        }
        Value::Decimal(d) => {
            out.push(0x01);
            let f = rust_decimal::prelude::ToPrimitive::to_f64(d).unwrap_or(0.0);
            push_f64(out, f);
            push_bytes(out, d.normalize().to_string().as_bytes());
        }
        Value::Str(s) => {
            out.push(0x01);
            push_bytes(out, &coll.weight(s));
        }
        Value::Bytes(b) => {
            out.push(0x01);
            push_bytes(out, b);
        }
        Value::Date(d) => {
            out.push(0x01);
            push_int(
                out,
                crate::temporal::DateTime::from_date(*d).total_micros() as i128,
            );
        }
        Value::DateTime(dt) => {
            out.push(0x01);
            push_int(out, dt.total_micros() as i128);
        }
        Value::Time(t) => {
            out.push(0x01);
            push_int(out, t.total_micros() as i128);
        }
    }
}

/// Encode a whole key.
pub fn encode_key(values: &[Value], colls: &[Collation]) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() * 10);
    for (i, v) in values.iter().enumerate() {
        encode_value(
            &mut out,
            v,
            colls.get(i).copied().unwrap_or(Collation::BINARY),
        );
    }
    out
}

fn push_int(out: &mut Vec<u8>, i: i128) {
    let u = (i as u128) ^ (1u128 << 127);
    out.extend_from_slice(&u.to_be_bytes());
}

fn push_f64(out: &mut Vec<u8>, d: f64) {
    let d = if d == 0.0 { 0.0 } else { d }; // -0.0 == 0.0
    let bits = d.to_bits();
    let ordered = if bits >> 63 == 1 {
        !bits
    } else {
        bits ^ (1u64 << 63)
    };
    out.extend_from_slice(&ordered.to_be_bytes());
}

fn push_bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.reserve(b.len() + 2);
    if !b.contains(&0) {
        out.extend_from_slice(b);
        out.extend_from_slice(&[0x00, 0x00]);
        return;
    }
    // Runs between zero bytes are copied whole; each zero becomes 00 FF.
    let mut runs = b.split(|&c| c == 0);
    if let Some(first) = runs.next() {
        out.extend_from_slice(first);
    }
    for run in runs {
        out.extend_from_slice(&[0x00, 0xFF]);
        out.extend_from_slice(run);
    }
    out.extend_from_slice(&[0x00, 0x00]);
}

/// The smallest key greater than every key that starts with `prefix` (None: no bound).
pub fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut p = prefix.to_vec();
    while let Some(last) = p.pop() {
        if last < 0xFF {
            p.push(last + 1);
            return Some(p);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    const CI: Collation = Collation::DEFAULT;
    const BIN: Collation = Collation::BINARY;

    fn k(v: Value) -> Vec<u8> {
        encode_key(&[v], &[CI])
    }

    #[test]
    fn order_matches_sql_order() {
        let vals = [
            Value::Null,
            Value::Int(i64::MIN),
            Value::Int(-1),
            Value::Int(0),
            Value::UInt(5),
            Value::Int(6),
            Value::UInt(u64::MAX),
        ];
        for w in vals.windows(2) {
            assert!(k(w[0].clone()) < k(w[1].clone()), "{:?} < {:?}", w[0], w[1]);
        }
        assert!(k(Value::Double(-2.5)) < k(Value::Double(-1.0)));
        assert!(k(Value::Double(-1.0)) < k(Value::Double(0.5)));
        assert_eq!(k(Value::Double(-0.0)), k(Value::Double(0.0)));
        assert!(k("a".into()) < k("ab".into()));
        assert!(k("ab".into()) < k("b".into()));
        assert_eq!(k("ABC".into()), k("abc".into()));
        // The default collation is NO PAD; utf8mb4_general_ci and utf8mb4_bin pad.
        assert!(k("abc".into()) < k("ABC ".into()));
        let pad = |s: &str, c| encode_key(&[s.into()], &[c]);
        assert_eq!(
            pad("Ab ", Collation::UTF8MB4_GENERAL_CI),
            pad("aB", Collation::UTF8MB4_GENERAL_CI)
        );
        assert_eq!(
            pad("Ab  ", Collation::UTF8MB4_BIN),
            pad("Ab", Collation::UTF8MB4_BIN)
        );
        assert!(pad("Ab", Collation::UTF8MB4_BIN) < pad("ab", Collation::UTF8MB4_BIN));
        assert!(encode_key(&["A".into()], &[BIN]) < encode_key(&["a".into()], &[BIN]));
    }

    #[test]
    fn zero_bytes_keep_byte_order() {
        let b = |x: &[u8]| encode_key(&[Value::Bytes(x.to_vec())], &[BIN]);
        assert_eq!(b(b"a\0b"), vec![1, b'a', 0, 0xFF, b'b', 0, 0]);
        assert_eq!(b(b"\0\0"), vec![1, 0, 0xFF, 0, 0xFF, 0, 0]);
        let sorted: [&[u8]; 7] = [b"", b"\0", b"\0\0", b"\0\x01", b"a", b"a\0", b"a\x01"];
        for w in sorted.windows(2) {
            assert!(b(w[0]) < b(w[1]), "{:?} < {:?}", w[0], w[1]);
        }
    }

    #[test]
    fn prefixes_stay_prefixes() {
        let full = encode_key(&["x\0y".into(), Value::Int(3)], &[BIN, BIN]);
        let pre = encode_key(&["x\0y".into()], &[BIN]);
        assert!(full.starts_with(&pre));
        let other = encode_key(&["x\0y\0".into()], &[BIN]);
        assert!(!other.starts_with(&pre) || other == pre);
        assert!(prefix_successor(&pre).unwrap() > full);
    }
}
