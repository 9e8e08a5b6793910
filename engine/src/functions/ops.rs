//! Arithmetic and bit operators with MySQL's type rules.
//!
//! Result type of `+ - * %`: DOUBLE if either operand is a double or a string, else
//! DECIMAL if either is a decimal, else BIGINT — UNSIGNED when either operand is unsigned
//! (for `%`: when the dividend is). `/` on exact operands is DECIMAL with the dividend's
//! scale plus `div_precision_increment` (4). Integer and decimal overflow is error 1690;
//! division by zero is NULL plus warning 1365. Bit operators work on BIGINT UNSIGNED, or
//! byte-wise when both operands are binary strings.
//!
//! MySQL computes a DECIMAL quotient to whole 9-digit words (truncated) and rounds it to
//! its display scale only when the value leaves arithmetic, so `1/3*3` is 1.0000 and
//! `96/51*51 > 96` is false. [`precise_arith`] gives that full-precision value with the
//! scale it displays at; the executor uses it inside arithmetic and comparisons and
//! rounds when the value goes anywhere else. `binary` alone rounds a quotient at once.

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};

use super::args::{dec_value, lit, str_to_f64, to_num, Num};
use super::FnContext;
use crate::error::{code, Error, Result};
use crate::value::Value;

/// MySQL's `div_precision_increment` default.
pub(crate) const DIV_PRECISION_INCREMENT: u32 = 4;
/// rust_decimal holds at most 28 fractional digits (MySQL allows 30).
pub(crate) const MAX_SCALE: u32 = 28;

/// A binary arithmetic or bit operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
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

impl BinOp {
    fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::IntDiv => "DIV",
            BinOp::Mod => "%",
            BinOp::BitAnd => "&",
            BinOp::BitOr => "|",
            BinOp::BitXor => "^",
            BinOp::Shl => "<<",
            BinOp::Shr => ">>",
        }
    }
}

/// Error 1690 for `a op b` overflowing `ty` ("BIGINT", "BIGINT UNSIGNED", "DECIMAL", "DOUBLE").
fn out_of_range(ty: &str, op: BinOp, a: &Value, b: &Value) -> Error {
    Error::new(
        code::ER_DATA_OUT_OF_RANGE,
        format!(
            "{ty} value is out of range in '({} {} {})'",
            lit(a),
            op.symbol(),
            lit(b)
        ),
    )
}

fn div_by_zero(ctx: &mut FnContext) -> Value {
    ctx.warn(code::ER_DIVISION_BY_ZERO, "Division by 0");
    Value::Null
}

/// Evaluate `a op b` with MySQL semantics. NULL operands give NULL.
pub fn binary(op: BinOp, a: &Value, b: &Value, ctx: &mut FnContext) -> Result<Value> {
    if matches!(
        op,
        BinOp::BitAnd | BinOp::BitOr | BinOp::BitXor | BinOp::Shl | BinOp::Shr
    ) {
        return bit_op(op, a, b, ctx);
    }
    let x = to_num(a, ctx);
    let y = to_num(b, ctx);
    let (Some(x), Some(y)) = (x, y) else {
        return Ok(Value::Null);
    };
    match op {
        BinOp::Add | BinOp::Sub | BinOp::Mul => add_sub_mul(op, x, y, a, b),
        BinOp::Div => divide(x, y, a, b, ctx),
        BinOp::IntDiv => int_divide(x, y, a, b, ctx),
        BinOp::Mod => modulo(x, y, a, b, ctx),
        _ => unreachable!("bit operators handled above"),
    }
}

fn i128_of(n: Num) -> i128 {
    match n {
        Num::I(i) => i as i128,
        Num::U(u) => u as i128,
        _ => unreachable!("only called for integers"),
    }
}

fn int_result(r: i128, unsigned: bool, op: BinOp, a: &Value, b: &Value) -> Result<Value> {
    if unsigned {
        u64::try_from(r)
            .map(Value::UInt)
            .map_err(|_| out_of_range("BIGINT UNSIGNED", op, a, b))
    } else {
        i64::try_from(r)
            .map(Value::Int)
            .map_err(|_| out_of_range("BIGINT", op, a, b))
    }
}

fn double_result(r: f64, op: BinOp, a: &Value, b: &Value) -> Result<Value> {
    if r.is_finite() {
        Ok(Value::Double(r))
    } else {
        Err(out_of_range("DOUBLE", op, a, b))
    }
}

fn add_sub_mul(op: BinOp, x: Num, y: Num, a: &Value, b: &Value) -> Result<Value> {
    if x.is_int() && y.is_int() {
        let unsigned = matches!(x, Num::U(_)) || matches!(y, Num::U(_));
        let (p, q) = (i128_of(x), i128_of(y));
        let r = match op {
            BinOp::Add => p + q,
            BinOp::Sub => p - q,
            _ => p.checked_mul(q).unwrap_or(i128::MAX),
        };
        return int_result(r, unsigned, op, a, b);
    }
    if x.is_exact() && y.is_exact() {
        let (p, q) = (x.to_decimal(), y.to_decimal());
        let (r, scale) = match op {
            BinOp::Add => (p.checked_add(q), p.scale().max(q.scale())),
            BinOp::Sub => (p.checked_sub(q), p.scale().max(q.scale())),
            _ => (p.checked_mul(q), p.scale() + q.scale()),
        };
        let mut r = r.ok_or_else(|| out_of_range("DECIMAL", op, a, b))?;
        // MySQL's result scale is exact (1.0 * 0 is 0.0); rust_decimal may drop it.
        if r.scale() < scale && scale <= MAX_SCALE {
            r.rescale(scale);
        }
        return Ok(dec_value(r));
    }
    let (p, q) = (x.to_f64(), y.to_f64());
    let r = match op {
        BinOp::Add => p + q,
        BinOp::Sub => p - q,
        _ => p * q,
    };
    double_result(r, op, a, b)
}

/// Exact-decimal `+ - * /` as MySQL computes them between operators: `da`/`db` are the
/// display scales of operands that hold more precision than they show (results of
/// earlier precise operations). Returns the full-precision result and its display scale,
/// or None when the plain [`binary`] applies (not both exact, no quotient involved,
/// division by zero, overflow): its caller then rounds the operands to their display
/// scales first.
pub(crate) fn precise_arith(
    op: BinOp,
    a: &Value,
    da: Option<u32>,
    b: &Value,
    db: Option<u32>,
) -> Option<(Value, u32)> {
    let exact = |v: &Value| -> Option<Decimal> {
        match v {
            Value::Int(i) => Some(Decimal::from(*i)),
            Value::UInt(u) => Some(Decimal::from(*u)),
            Value::Decimal(d) => Some(*d),
            _ => None,
        }
    };
    let (p, q) = (exact(a)?, exact(b)?);
    if op != BinOp::Div && da.is_none() && db.is_none() {
        return None;
    }
    let (sa, sb) = (da.unwrap_or(p.scale()), db.unwrap_or(q.scale()));
    let (r, shown) = match op {
        BinOp::Div => {
            if q.is_zero() {
                return None;
            }
            // MySQL's digits: the operands' fractions widened to whole words, plus what
            // is left of div_precision_increment, widened to whole words.
            let words = |d: u32| d.div_ceil(9) * 9;
            let (fa, fb) = (p.scale(), q.scale());
            let incr = (DIV_PRECISION_INCREMENT as i64
                - (words(fa) - fa) as i64
                - (words(fb) - fb) as i64)
                .max(0) as u32;
            let digits = words(words(fa) + words(fb) + incr).min(MAX_SCALE);
            let r = p
                .checked_div(q)?
                .round_dp_with_strategy(digits, RoundingStrategy::ToZero);
            (r, (sa + DIV_PRECISION_INCREMENT).min(MAX_SCALE))
        }
        BinOp::Add => (p.checked_add(q)?, sa.max(sb)),
        BinOp::Sub => (p.checked_sub(q)?, sa.max(sb)),
        BinOp::Mul => (p.checked_mul(q)?, (sa + sb).min(MAX_SCALE)),
        _ => return None,
    };
    Some((dec_value(r), shown))
}

/// A precise value (see [`precise_arith`]) as it leaves arithmetic: rounded to `shown`.
pub(crate) fn round_shown(v: Value, shown: Option<u32>) -> Value {
    match (v, shown) {
        (Value::Decimal(d), Some(s)) => dec_value(decimal_to_scale(d, s)),
        (v, _) => v,
    }
}

/// Round `d` half away from zero to exactly `scale` fractional digits (trailing zeros
/// kept, as MySQL prints `4/2` as `2.0000`).
pub(crate) fn decimal_to_scale(d: Decimal, scale: u32) -> Decimal {
    let scale = scale.min(MAX_SCALE);
    let mut r = d.round_dp_with_strategy(scale, RoundingStrategy::MidpointAwayFromZero);
    r.rescale(scale);
    r
}

fn divide(x: Num, y: Num, a: &Value, b: &Value, ctx: &mut FnContext) -> Result<Value> {
    if x.is_exact() && y.is_exact() {
        let q = y.to_decimal();
        if q.is_zero() {
            return Ok(div_by_zero(ctx));
        }
        let p = x.to_decimal();
        let scale = p.scale() + DIV_PRECISION_INCREMENT;
        let r = p
            .checked_div(q)
            .ok_or_else(|| out_of_range("DECIMAL", BinOp::Div, a, b))?;
        return Ok(dec_value(decimal_to_scale(r, scale)));
    }
    let q = y.to_f64();
    if q == 0.0 {
        return Ok(div_by_zero(ctx));
    }
    double_result(x.to_f64() / q, BinOp::Div, a, b)
}

fn int_divide(x: Num, y: Num, a: &Value, b: &Value, ctx: &mut FnContext) -> Result<Value> {
    let unsigned = matches!(x, Num::U(_)) || matches!(y, Num::U(_));
    if x.is_int() && y.is_int() {
        let q = i128_of(y);
        if q == 0 {
            return Ok(div_by_zero(ctx));
        }
        return int_result(i128_of(x) / q, unsigned, BinOp::IntDiv, a, b);
    }
    let r: i128 = if x.is_exact() && y.is_exact() {
        let q = y.to_decimal();
        if q.is_zero() {
            return Ok(div_by_zero(ctx));
        }
        let r = x
            .to_decimal()
            .checked_div(q)
            .ok_or_else(|| out_of_range("DECIMAL", BinOp::IntDiv, a, b))?;
        r.trunc().to_i128().unwrap_or(i128::MAX)
    } else {
        let q = y.to_f64();
        if q == 0.0 {
            return Ok(div_by_zero(ctx));
        }
        let r = (x.to_f64() / q).trunc();
        if !r.is_finite() || r.abs() > 1.9e19 {
            return Err(out_of_range("BIGINT", BinOp::IntDiv, a, b));
        }
        r as i128
    };
    int_result(r, unsigned, BinOp::IntDiv, a, b)
}

fn modulo(x: Num, y: Num, a: &Value, b: &Value, ctx: &mut FnContext) -> Result<Value> {
    if x.is_int() && y.is_int() {
        let q = i128_of(y);
        if q == 0 {
            return Ok(div_by_zero(ctx));
        }
        // Truncated remainder: the sign follows the dividend, as in MySQL.
        let r = i128_of(x) % q;
        return int_result(r, matches!(x, Num::U(_)), BinOp::Mod, a, b);
    }
    if x.is_exact() && y.is_exact() {
        let q = y.to_decimal();
        if q.is_zero() {
            return Ok(div_by_zero(ctx));
        }
        let p = x.to_decimal();
        let scale = p.scale().max(q.scale());
        let r = p
            .checked_rem(q)
            .ok_or_else(|| out_of_range("DECIMAL", BinOp::Mod, a, b))?;
        return Ok(dec_value(decimal_to_scale(r, scale)));
    }
    let q = y.to_f64();
    if q == 0.0 {
        return Ok(div_by_zero(ctx));
    }
    double_result(x.to_f64() % q, BinOp::Mod, a, b)
}

/// A value as BIGINT UNSIGNED bits for bit operators (negative integers wrap).
pub(crate) fn to_u64_bits(v: &Value, ctx: &mut FnContext) -> Option<u64> {
    let n = match v {
        Value::Str(s) => Num::F(str_to_f64(s.as_bytes(), ctx)),
        Value::Bytes(b) => Num::F(str_to_f64(b, ctx)),
        other => to_num(other, ctx)?,
    };
    Some(match n {
        Num::I(i) => i as u64,
        Num::U(u) => u,
        Num::D(d) => {
            let r = d.round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
            if r.is_sign_negative() {
                r.to_i64().unwrap_or(i64::MIN) as u64
            } else {
                r.to_u64().unwrap_or(u64::MAX)
            }
        }
        Num::F(f) => f64_to_u64_bits(f),
    })
}

fn f64_to_u64_bits(f: f64) -> u64 {
    let r = f.round();
    if r.is_nan() {
        0
    } else if r < 0.0 {
        crate::value::round_f64_to_i64(r) as u64
    } else if r >= 18_446_744_073_709_551_615.0 {
        u64::MAX
    } else {
        r as u64
    }
}

fn bit_op(op: BinOp, a: &Value, b: &Value, ctx: &mut FnContext) -> Result<Value> {
    if let (Value::Bytes(x), Value::Bytes(y)) = (a, b) {
        if matches!(op, BinOp::BitAnd | BinOp::BitOr | BinOp::BitXor) {
            if x.len() != y.len() {
                return Err(Error::new(
                    3513,
                    "Binary operands of bitwise operators must be of equal length",
                ));
            }
            let r = x
                .iter()
                .zip(y)
                .map(|(p, q)| match op {
                    BinOp::BitAnd => p & q,
                    BinOp::BitOr => p | q,
                    _ => p ^ q,
                })
                .collect();
            return Ok(Value::Bytes(r));
        }
    }
    let x = to_u64_bits(a, ctx);
    let y = to_u64_bits(b, ctx);
    let (Some(x), Some(y)) = (x, y) else {
        return Ok(Value::Null);
    };
    Ok(Value::UInt(match op {
        BinOp::BitAnd => x & y,
        BinOp::BitOr => x | y,
        BinOp::BitXor => x ^ y,
        BinOp::Shl => {
            if y >= 64 {
                0
            } else {
                x << y
            }
        }
        BinOp::Shr => {
            if y >= 64 {
                0
            } else {
                x >> y
            }
        }
        _ => unreachable!("only bit operators reach here"),
    }))
}

/// Unary minus. Strings negate as doubles; the negation of the smallest BIGINT is 1690.
pub fn negate(a: &Value) -> Result<Value> {
    let mut ctx = FnContext::new(crate::temporal::DateTime::default());
    let Some(n) = to_num(a, &mut ctx) else {
        return Ok(Value::Null);
    };
    let overflow = || {
        Error::new(
            code::ER_DATA_OUT_OF_RANGE,
            format!("BIGINT value is out of range in '-({})'", lit(a)),
        )
    };
    Ok(match n {
        Num::I(i) => Value::Int(i.checked_neg().ok_or_else(overflow)?),
        Num::U(u) => {
            let r = -(u as i128);
            Value::Int(i64::try_from(r).map_err(|_| overflow())?)
        }
        Num::D(d) => dec_value(-d),
        Num::F(f) => Value::Double(-f),
    })
}

/// Bitwise NOT (`~`): BIGINT UNSIGNED, or byte-wise on a binary string.
pub fn bit_not(a: &Value) -> Value {
    if let Value::Bytes(b) = a {
        return Value::Bytes(b.iter().map(|c| !c).collect());
    }
    let mut ctx = FnContext::new(crate::temporal::DateTime::default());
    match to_u64_bits(a, &mut ctx) {
        Some(u) => Value::UInt(!u),
        None => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(op: BinOp, a: impl Into<Value>, b: impl Into<Value>) -> Result<Value> {
        let mut ctx = FnContext::default();
        binary(op, &a.into(), &b.into(), &mut ctx)
    }

    fn dec(s: &str) -> Value {
        Value::Decimal(s.parse().expect("test literal"))
    }

    #[test]
    fn integer_arithmetic_and_overflow() {
        assert_eq!(ev(BinOp::Add, 1, 2), Ok(Value::Int(3)));
        assert_eq!(ev(BinOp::Sub, 3, 5), Ok(Value::Int(-2)));
        assert_eq!(ev(BinOp::Mul, 3, 5), Ok(Value::Int(15)));
        let e = ev(BinOp::Add, i64::MAX, 1).unwrap_err();
        assert_eq!(e.code, 1690);
        assert_eq!(
            e.message,
            "BIGINT value is out of range in '(9223372036854775807 + 1)'"
        );
        let e = ev(BinOp::Sub, 1u64, 2).unwrap_err();
        assert!(e
            .message
            .starts_with("BIGINT UNSIGNED value is out of range"));
        assert_eq!(ev(BinOp::Add, u64::MAX - 1, 1), Ok(Value::UInt(u64::MAX)));
        assert_eq!(ev(BinOp::Add, 5u64, -3), Ok(Value::UInt(2)));
        assert_eq!(ev(BinOp::Mul, i64::MAX, 2).unwrap_err().code, 1690);
    }

    #[test]
    fn division_types() {
        // MySQL: SELECT 1/3 -> 0.3333, 4/2 -> 2.0000, 1.0/3 -> 0.33333, 2/3 -> 0.6667.
        assert_eq!(ev(BinOp::Div, 1, 3).unwrap().to_string(), "0.3333");
        // Between operators a quotient keeps whole 9-digit words, truncated.
        let (q, shown) =
            precise_arith(BinOp::Div, &Value::Int(96), None, &Value::Int(51), None).expect("exact");
        assert_eq!((q.to_string().as_str(), shown), ("1.882352941", 4));
        let (p, shown) =
            precise_arith(BinOp::Mul, &q, Some(4), &Value::Int(51), None).expect("precise operand");
        assert_eq!((p.to_string().as_str(), shown), ("95.999999991", 4));
        assert_eq!(round_shown(p, Some(shown)).to_string(), "96.0000");
        assert!(precise_arith(BinOp::Add, &Value::Int(1), None, &Value::Int(2), None).is_none());
        assert!(precise_arith(BinOp::Div, &Value::Int(1), None, &Value::Int(0), None).is_none());
        assert_eq!(ev(BinOp::Div, 4, 2).unwrap().to_string(), "2.0000");
        assert_eq!(
            ev(BinOp::Div, dec("1.0"), 3).unwrap().to_string(),
            "0.33333"
        );
        assert_eq!(ev(BinOp::Div, 2, 3).unwrap().to_string(), "0.6667");
        assert_eq!(ev(BinOp::Div, 1.0, 4), Ok(Value::Double(0.25)));
        assert_eq!(ev(BinOp::Div, "1", 4), Ok(Value::Double(0.25)));
        let mut ctx = FnContext::default();
        let r = binary(BinOp::Div, &Value::Int(1), &Value::Int(0), &mut ctx);
        assert_eq!(r, Ok(Value::Null));
        assert_eq!(ctx.warnings, vec![(1365, "Division by 0".to_string())]);
    }

    #[test]
    fn div_and_mod() {
        // Manual examples: 5 DIV 2 = 2, -5 DIV 2 = -2, MOD(234, 10) = 4, 253 % 7 = 1,
        // MOD(29,9) = 2, 34.5 % 3 = 1.5, -5 % 3 = -2.
        assert_eq!(ev(BinOp::IntDiv, 5, 2), Ok(Value::Int(2)));
        assert_eq!(ev(BinOp::IntDiv, -5, 2), Ok(Value::Int(-2)));
        assert_eq!(ev(BinOp::IntDiv, dec("5.5"), 2), Ok(Value::Int(2)));
        assert_eq!(ev(BinOp::Mod, 234, 10), Ok(Value::Int(4)));
        assert_eq!(ev(BinOp::Mod, 253, 7), Ok(Value::Int(1)));
        assert_eq!(ev(BinOp::Mod, 29, 9), Ok(Value::Int(2)));
        assert_eq!(ev(BinOp::Mod, dec("34.5"), 3), Ok(dec("1.5")));
        assert_eq!(ev(BinOp::Mod, -5, 3), Ok(Value::Int(-2)));
        assert_eq!(ev(BinOp::Mod, 5, 0), Ok(Value::Null));
        assert_eq!(ev(BinOp::IntDiv, i64::MIN, -1).unwrap_err().code, 1690);
    }

    #[test]
    fn strings_and_decimals() {
        let mut ctx = FnContext::default();
        let r = binary(BinOp::Add, &"12abc".into(), &Value::Int(1), &mut ctx).unwrap();
        assert_eq!(r, Value::Double(13.0));
        assert_eq!(ctx.warnings[0].0, 1292);
        assert_eq!(
            ctx.warnings[0].1,
            "Truncated incorrect DOUBLE value: '12abc'"
        );
        assert_eq!(ev(BinOp::Add, dec("0.1"), dec("0.2")), Ok(dec("0.3")));
        assert_eq!(
            ev(BinOp::Mul, dec("1.10"), dec("2.5")).unwrap().to_string(),
            "2.750"
        );
        assert_eq!(ev(BinOp::Add, Value::Null, 1), Ok(Value::Null));
        assert_eq!(ev(BinOp::Mul, 1e308, 10.0).unwrap_err().code, 1690);
    }

    #[test]
    fn bits() {
        // Manual: 29 | 15 = 31, 29 & 15 = 13, 1 ^ 1 = 0, 1 << 2 = 4, 4 >> 2 = 1,
        // ~0 = 18446744073709551615, 5 & ~1 = 4.
        assert_eq!(ev(BinOp::BitOr, 29, 15), Ok(Value::UInt(31)));
        assert_eq!(ev(BinOp::BitAnd, 29, 15), Ok(Value::UInt(13)));
        assert_eq!(ev(BinOp::BitXor, 1, 1), Ok(Value::UInt(0)));
        assert_eq!(ev(BinOp::Shl, 1, 2), Ok(Value::UInt(4)));
        assert_eq!(ev(BinOp::Shr, 4, 2), Ok(Value::UInt(1)));
        assert_eq!(ev(BinOp::Shl, 1, 64), Ok(Value::UInt(0)));
        assert_eq!(bit_not(&Value::Int(0)), Value::UInt(u64::MAX));
        assert_eq!(
            ev(BinOp::BitAnd, 5, bit_not(&Value::Int(1))),
            Ok(Value::UInt(4))
        );
        assert_eq!(ev(BinOp::BitOr, -1, 0), Ok(Value::UInt(u64::MAX)));
        assert_eq!(
            ev(BinOp::BitOr, Value::Bytes(vec![1]), Value::Bytes(vec![2])),
            Ok(Value::Bytes(vec![3]))
        );
    }

    #[test]
    fn negation() {
        assert_eq!(negate(&Value::Int(5)), Ok(Value::Int(-5)));
        assert_eq!(negate(&Value::Int(i64::MIN)).unwrap_err().code, 1690);
        assert_eq!(
            negate(&Value::UInt(9_223_372_036_854_775_808)),
            Ok(Value::Int(i64::MIN))
        );
        assert_eq!(negate(&"2.5".into()), Ok(Value::Double(-2.5)));
        assert_eq!(negate(&Value::Null), Ok(Value::Null));
    }
}
