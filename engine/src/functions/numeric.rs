//! Numeric functions: ABS, CEIL, FLOOR, ROUND, TRUNCATE, POW, SQRT, logarithms,
//! trigonometry, RAND, GREATEST/LEAST, CRC32, BIT_COUNT.
//!
//! Exact inputs give exact results (ROUND and TRUNCATE of a DECIMAL are decimal, rounding
//! half away from zero); doubles use the C library's rules (ROUND of a double rounds
//! half to even, as `rint` does). Domain errors give NULL (with warning 3020 for
//! logarithms), overflow is error 1690, as in MySQL.

use std::cmp::Ordering;

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};

use super::args::{dec_value, lit, to_f64, to_int, to_num, Num};
use super::ops::{binary, decimal_to_scale, to_u64_bits, BinOp, MAX_SCALE};
use super::{builtin, Builtin, FnContext, MANY};
use crate::error::{code, Error, Result};
use crate::temporal::DateTime;
use crate::value::{compare, Value};

fn range_error(ty: &str, func: &str, args: &[Value]) -> Error {
    let list: Vec<String> = args.iter().map(lit).collect();
    Error::new(
        code::ER_DATA_OUT_OF_RANGE,
        format!("{ty} value is out of range in '{func}({})'", list.join(",")),
    )
}

fn double(r: f64, func: &str, args: &[Value]) -> Result<Value> {
    if r.is_finite() {
        Ok(Value::Double(r))
    } else {
        Err(range_error("DOUBLE", func, args))
    }
}

fn f_abs(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    Ok(match to_num(&args[0], ctx) {
        None => Value::Null,
        Some(Num::I(i)) => Value::Int(
            i.checked_abs()
                .ok_or_else(|| range_error("BIGINT", "abs", args))?,
        ),
        Some(Num::U(u)) => Value::UInt(u),
        Some(Num::D(d)) => dec_value(d.abs()),
        Some(Num::F(f)) => Value::Double(f.abs()),
    })
}

/// A decimal integer as BIGINT when it fits, else DECIMAL (as CEIL/FLOOR/ROUND do).
fn int_or_decimal(d: Decimal) -> Value {
    match d.to_i64() {
        Some(i) if d.scale() == 0 || d.fract().is_zero() => Value::Int(i),
        _ => dec_value(d),
    }
}

fn ceil_floor(args: &[Value], ctx: &mut FnContext, ceil: bool) -> Result<Value> {
    Ok(match to_num(&args[0], ctx) {
        None => Value::Null,
        Some(Num::D(d)) => int_or_decimal(if ceil { d.ceil() } else { d.floor() }),
        Some(Num::F(f)) => Value::Double(if ceil { f.ceil() } else { f.floor() }),
        Some(n) => n.into_value(),
    })
}

fn f_ceil(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    ceil_floor(args, ctx, true)
}
fn f_floor(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    ceil_floor(args, ctx, false)
}

fn pow10(d: i64) -> f64 {
    10f64.powi(d.clamp(-400, 400) as i32)
}

/// ROUND/TRUNCATE of an integer to `d` (< 0) digits, exactly.
fn int_round(v: i128, d: i64, truncate: bool) -> i128 {
    if d >= 0 {
        return v;
    }
    if d < -38 {
        return 0;
    }
    let m = 10i128.pow((-d) as u32);
    let q = v / m * m;
    let r = v - q;
    if !truncate && r.abs() * 2 >= m {
        q + m * v.signum()
    } else {
        q
    }
}

fn round_or_truncate(args: &[Value], ctx: &mut FnContext, truncate: bool) -> Result<Value> {
    let Some(n) = to_num(&args[0], ctx) else {
        return Ok(Value::Null);
    };
    let d = match args.get(1) {
        None => 0,
        Some(v) => match to_int(v, ctx) {
            Some(d) => d,
            None => return Ok(Value::Null),
        },
    };
    let name = if truncate { "truncate" } else { "round" };
    Ok(match n {
        Num::I(i) => Value::Int(
            i64::try_from(int_round(i as i128, d, truncate))
                .map_err(|_| range_error("BIGINT", name, args))?,
        ),
        Num::U(u) => Value::UInt(
            u64::try_from(int_round(u as i128, d, truncate))
                .map_err(|_| range_error("BIGINT UNSIGNED", name, args))?,
        ),
        Num::D(x) => {
            if d >= 0 {
                let scale = (d as u32).min(MAX_SCALE);
                let r = if truncate {
                    let mut t = x.trunc_with_scale(scale);
                    t.rescale(scale);
                    t
                } else {
                    decimal_to_scale(x, scale)
                };
                dec_value(r)
            } else {
                let m = Decimal::from_i128_with_scale(10i128.pow((-d).min(28) as u32), 0);
                let q = x / m;
                let q = if truncate {
                    q.trunc()
                } else {
                    q.round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero)
                };
                dec_value(q.checked_mul(m).unwrap_or_default())
            }
        }
        Num::F(f) => {
            let p = pow10(d);
            let r = if truncate {
                if d >= 0 {
                    (f * p).trunc() / p
                } else {
                    (f / pow10(-d)).trunc() * pow10(-d)
                }
            } else if d >= 0 {
                let t = f * p;
                if t.is_finite() {
                    t.round_ties_even() / p
                } else {
                    f
                }
            } else {
                (f / pow10(-d)).round_ties_even() * pow10(-d)
            };
            Value::Double(if r.is_finite() { r } else { f })
        }
    })
}

fn f_round(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    round_or_truncate(args, ctx, false)
}
fn f_truncate(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    round_or_truncate(args, ctx, true)
}

fn f_mod(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    binary(BinOp::Mod, &args[0], &args[1], ctx)
}

/// Apply a double function of one argument; `domain` false gives NULL.
fn unary(
    args: &[Value],
    ctx: &mut FnContext,
    name: &str,
    f: impl Fn(f64) -> f64,
    domain: impl Fn(f64) -> bool,
) -> Result<Value> {
    match to_f64(&args[0], ctx) {
        None => Ok(Value::Null),
        Some(x) if !domain(x) => Ok(Value::Null),
        Some(x) => double(f(x), name, args),
    }
}

fn f_pow(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    let (Some(x), Some(y)) = (to_f64(&args[0], ctx), to_f64(&args[1], ctx)) else {
        return Ok(Value::Null);
    };
    let r = x.powf(y);
    if r.is_nan() {
        return Err(range_error("DOUBLE", "pow", args));
    }
    double(r, "pow", args)
}

fn f_sqrt(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    unary(args, ctx, "sqrt", f64::sqrt, |x| x >= 0.0)
}
fn f_exp(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    unary(args, ctx, "exp", f64::exp, |_| true)
}

fn log_domain(x: f64, ctx: &mut FnContext) -> bool {
    if x <= 0.0 {
        ctx.warn(3020, "Invalid argument for logarithm");
        false
    } else {
        true
    }
}

fn log_with(args: &[Value], ctx: &mut FnContext, f: fn(f64) -> f64) -> Result<Value> {
    match to_f64(&args[0], ctx) {
        None => Ok(Value::Null),
        Some(x) if !log_domain(x, ctx) => Ok(Value::Null),
        Some(x) => Ok(Value::Double(f(x))),
    }
}

fn f_ln(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    log_with(args, ctx, f64::ln)
}
fn f_log2(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    log_with(args, ctx, f64::log2)
}
fn f_log10(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    log_with(args, ctx, f64::log10)
}

fn f_log(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    if args.len() == 1 {
        return f_ln(args, ctx);
    }
    let (Some(b), Some(x)) = (to_f64(&args[0], ctx), to_f64(&args[1], ctx)) else {
        return Ok(Value::Null);
    };
    if !log_domain(x, ctx) || b <= 0.0 || b == 1.0 {
        if b <= 0.0 || b == 1.0 {
            ctx.warn(3020, "Invalid argument for logarithm");
        }
        return Ok(Value::Null);
    }
    Ok(Value::Double(x.ln() / b.ln()))
}

fn f_sign(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    Ok(match to_num(&args[0], ctx) {
        None => Value::Null,
        Some(Num::I(i)) => Value::Int(i.signum()),
        Some(Num::U(u)) => Value::Int((u > 0) as i64),
        Some(Num::D(d)) => Value::Int(if d.is_zero() {
            0
        } else if d.is_sign_negative() {
            -1
        } else {
            1
        }),
        Some(Num::F(f)) => Value::Int(if f > 0.0 {
            1
        } else if f < 0.0 {
            -1
        } else {
            0
        }),
    })
}

fn f_pi(_args: &[Value], _ctx: &mut FnContext) -> Result<Value> {
    Ok(Value::Double(std::f64::consts::PI))
}

fn f_sin(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    unary(args, ctx, "sin", f64::sin, |_| true)
}
fn f_cos(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    unary(args, ctx, "cos", f64::cos, |_| true)
}
fn f_tan(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    unary(args, ctx, "tan", f64::tan, |_| true)
}
fn f_asin(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    unary(args, ctx, "asin", f64::asin, |x| (-1.0..=1.0).contains(&x))
}
fn f_acos(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    unary(args, ctx, "acos", f64::acos, |x| (-1.0..=1.0).contains(&x))
}
fn f_cot(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    unary(args, ctx, "cot", |x| 1.0 / x.tan(), |_| true)
}
fn f_degrees(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    unary(args, ctx, "degrees", f64::to_degrees, |_| true)
}
fn f_radians(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    unary(args, ctx, "radians", f64::to_radians, |_| true)
}

fn f_atan(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    if args.len() == 1 {
        return unary(args, ctx, "atan", f64::atan, |_| true);
    }
    let (Some(y), Some(x)) = (to_f64(&args[0], ctx), to_f64(&args[1], ctx)) else {
        return Ok(Value::Null);
    };
    Ok(Value::Double(y.atan2(x)))
}

/// MySQL's RAND() generator (two 30-bit linear congruential states), so that `RAND(N)`
/// sequences match MySQL's.
#[derive(Clone, Copy, Debug)]
struct MysqlRand {
    seed1: u64,
    seed2: u64,
}

const RAND_MAX: u64 = 0x3FFF_FFFF;
/// Marks `FnContext::rng_seed` as holding generator state rather than a user seed.
const STATE_MARK: u64 = 1 << 63;

impl MysqlRand {
    fn from_seed(seed: u64) -> MysqlRand {
        // The products wrap in 32 bits, as MySQL computes them on uint32.
        let s = seed as u32;
        MysqlRand {
            seed1: s.wrapping_mul(0x10001).wrapping_add(55_555_555) as u64 % RAND_MAX,
            seed2: s.wrapping_mul(0x1000_0001) as u64 % RAND_MAX,
        }
    }

    fn next_f64(&mut self) -> f64 {
        self.seed1 = (self.seed1 * 3 + self.seed2) % RAND_MAX;
        self.seed2 = (self.seed1 + self.seed2 + 33) % RAND_MAX;
        self.seed1 as f64 / RAND_MAX as f64
    }

    fn encode(self) -> u64 {
        STATE_MARK | self.seed1 | (self.seed2 << 30)
    }

    fn decode(x: u64) -> MysqlRand {
        MysqlRand {
            seed1: x & RAND_MAX,
            seed2: (x >> 30) & RAND_MAX,
        }
    }
}

/// State of one `RAND(N)` expression: the statement it belongs to (by start time), the
/// seed it was started with, and the generator.
#[derive(Clone, Debug, Default)]
pub(crate) struct SeededRand(Option<(DateTime, i64, MysqlRand)>);

impl SeededRand {
    /// The next value of this expression's sequence, restarting when the statement or the
    /// seed changes (as MySQL seeds once per statement execution).
    pub(crate) fn next(&mut self, seed: i64, now: DateTime) -> f64 {
        match &mut self.0 {
            Some((t, s, g)) if *t == now && *s == seed => g.next_f64(),
            _ => {
                let mut g = MysqlRand::from_seed(seed as u64);
                let r = g.next_f64();
                self.0 = Some((now, seed, g));
                r
            }
        }
    }
}

/// `RAND(N)` for a resolved expression with its own state (see [`super::ScalarFn`]).
pub(crate) fn rand_seeded(
    args: &[Value],
    ctx: &mut FnContext,
    state: &mut SeededRand,
) -> Result<Value> {
    let seed = to_int(&args[0], ctx).unwrap_or(0);
    Ok(Value::Double(state.next(seed, ctx.now)))
}

fn f_rand(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    if let Some(v) = args.first() {
        // Without per-expression state (the by-name `call` path) every call starts the
        // sequence afresh: RAND(N) = RAND(N), and a single row matches MySQL.
        let seed = to_int(v, ctx).unwrap_or(0);
        return Ok(Value::Double(MysqlRand::from_seed(seed as u64).next_f64()));
    }
    // The unseeded generator's state lives in ctx.rng_seed (marked), seeded from the
    // executor's seed or the clock on first use.
    let mut g = match ctx.rng_seed {
        Some(x) if x & STATE_MARK != 0 => MysqlRand::decode(x),
        Some(x) => MysqlRand::from_seed(x),
        None => {
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default();
            MysqlRand::from_seed(t.as_nanos() as u64 ^ (t.as_secs() << 20))
        }
    };
    let r = g.next_f64();
    ctx.rng_seed = Some(g.encode());
    Ok(Value::Double(r))
}

#[derive(PartialEq)]
enum Kind {
    Str,
    Temporal,
    Exact,
    Double,
}

fn kind(v: &Value) -> Kind {
    match v {
        Value::Str(_) | Value::Bytes(_) => Kind::Str,
        Value::Date(_) | Value::DateTime(_) | Value::Time(_) => Kind::Temporal,
        Value::Double(_) => Kind::Double,
        _ => Kind::Exact,
    }
}

/// GREATEST/LEAST: strings compare as strings, temporals (with strings) as temporals,
/// numbers numerically; numbers mixed with strings compare as doubles.
fn extreme(args: &[Value], ctx: &mut FnContext, want: Ordering) -> Result<Value> {
    if args.iter().any(Value::is_null) {
        return Ok(Value::Null);
    }
    let kinds: Vec<Kind> = args.iter().map(kind).collect();
    let all_str = kinds.iter().all(|k| *k == Kind::Str);
    let temporal = kinds
        .iter()
        .all(|k| matches!(k, Kind::Str | Kind::Temporal))
        && kinds.contains(&Kind::Temporal);
    let numeric = kinds
        .iter()
        .all(|k| matches!(k, Kind::Exact | Kind::Double));
    if all_str || temporal || numeric {
        let mut best = &args[0];
        for v in &args[1..] {
            if compare(v, best) == Some(want) {
                best = v;
            }
        }
        if numeric {
            if kinds.contains(&Kind::Double) {
                return Ok(Value::Double(best.to_f64().unwrap_or(0.0)));
            }
            let any_decimal = args.iter().any(|v| matches!(v, Value::Decimal(_)));
            if any_decimal {
                let scale = args
                    .iter()
                    .map(|v| match v {
                        Value::Decimal(d) => d.scale(),
                        _ => 0,
                    })
                    .max()
                    .unwrap_or(0);
                let d = to_num(best, ctx).map(Num::to_decimal).unwrap_or_default();
                return Ok(dec_value(decimal_to_scale(d, scale)));
            }
        }
        return Ok(best.clone());
    }
    let mut best: Option<f64> = None;
    for v in args {
        let x = to_f64(v, ctx).unwrap_or(0.0);
        best = Some(match best {
            None => x,
            Some(b) if x.partial_cmp(&b) == Some(want) => x,
            Some(b) => b,
        });
    }
    Ok(best.map_or(Value::Null, Value::Double))
}

fn f_greatest(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    extreme(args, ctx, Ordering::Greater)
}
fn f_least(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    extreme(args, ctx, Ordering::Less)
}

fn f_crc32(args: &[Value], _ctx: &mut FnContext) -> Result<Value> {
    Ok(match args[0].to_bytes() {
        None => Value::Null,
        Some(b) => Value::Int(super::digest::crc32(&b) as i64),
    })
}

fn f_bit_count(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    Ok(match &args[0] {
        Value::Null => Value::Null,
        Value::Bytes(b) => Value::Int(b.iter().map(|x| x.count_ones() as i64).sum()),
        v => match to_u64_bits(v, ctx) {
            Some(u) => Value::Int(u.count_ones() as i64),
            None => Value::Null,
        },
    })
}

/// INTERVAL(N, N1, N2, ...): how many of the (ascending) N1.. are <= N; -1 for NULL N.
fn f_interval(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    let Some(n) = to_f64(&args[0], ctx) else {
        return Ok(Value::Int(-1));
    };
    let mut count = 0;
    for v in &args[1..] {
        match to_f64(v, ctx) {
            Some(x) if x <= n => count += 1,
            Some(_) => break,
            None => count += 1,
        }
    }
    Ok(Value::Int(count))
}

fn f_random_bytes(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    let Some(n) = to_int(&args[0], ctx) else {
        return Ok(Value::Null);
    };
    if !(1..=1024).contains(&n) {
        return Err(Error::new(
            1690,
            format!("length value is out of range in 'random_bytes({n})'"),
        ));
    }
    Ok(Value::Bytes((0..n).map(|_| rand::random::<u8>()).collect()))
}

pub(super) fn lookup(name: &str) -> Option<Builtin> {
    Some(match name {
        "abs" => builtin(1, 1, f_abs),
        "ceil" | "ceiling" => builtin(1, 1, f_ceil),
        "floor" => builtin(1, 1, f_floor),
        "round" => builtin(1, 2, f_round),
        "truncate" => builtin(2, 2, f_truncate),
        "mod" => builtin(2, 2, f_mod),
        "pow" | "power" => builtin(2, 2, f_pow),
        "sqrt" => builtin(1, 1, f_sqrt),
        "exp" => builtin(1, 1, f_exp),
        "ln" => builtin(1, 1, f_ln),
        "log" => builtin(1, 2, f_log),
        "log2" => builtin(1, 1, f_log2),
        "log10" => builtin(1, 1, f_log10),
        "sign" => builtin(1, 1, f_sign),
        "pi" => builtin(0, 0, f_pi),
        "sin" => builtin(1, 1, f_sin),
        "cos" => builtin(1, 1, f_cos),
        "tan" => builtin(1, 1, f_tan),
        "asin" => builtin(1, 1, f_asin),
        "acos" => builtin(1, 1, f_acos),
        "atan" => builtin(1, 2, f_atan),
        "atan2" => builtin(2, 2, f_atan),
        "cot" => builtin(1, 1, f_cot),
        "degrees" => builtin(1, 1, f_degrees),
        "radians" => builtin(1, 1, f_radians),
        "rand" => builtin(0, 1, f_rand),
        "greatest" => builtin(2, MANY, f_greatest),
        "least" => builtin(2, MANY, f_least),
        "crc32" => builtin(1, 1, f_crc32),
        "bit_count" => builtin(1, 1, f_bit_count),
        "interval" => builtin(2, MANY, f_interval),
        "random_bytes" => builtin(1, 1, f_random_bytes),
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
    fn d(s: &str) -> Value {
        Value::Decimal(s.parse().expect("literal"))
    }
    fn i(n: i64) -> Value {
        Value::Int(n)
    }
    fn f(x: f64) -> Value {
        Value::Double(x)
    }

    #[test]
    fn manual_rounding_examples() {
        assert_eq!(c("abs", &[i(2)]), i(2));
        assert_eq!(c("abs", &[i(-32)]), i(32));
        assert_eq!(
            call("abs", &[i(i64::MIN)], &mut FnContext::default())
                .unwrap_err()
                .code,
            1690
        );
        assert_eq!(c("ceiling", &[d("1.23")]), i(2));
        assert_eq!(c("ceil", &[d("-1.23")]), i(-1));
        assert_eq!(c("floor", &[d("1.23")]), i(1));
        assert_eq!(c("floor", &[d("-1.23")]), i(-2));
        assert_eq!(c("round", &[d("-1.23")]), d("-1"));
        assert_eq!(c("round", &[d("-1.58")]), d("-2"));
        assert_eq!(c("round", &[d("1.58")]), d("2"));
        assert_eq!(c("round", &[d("1.298"), i(1)]).to_string(), "1.3");
        assert_eq!(c("round", &[d("1.298"), i(0)]).to_string(), "1");
        assert_eq!(c("round", &[d("23.298"), i(-1)]).to_string(), "20");
        assert_eq!(
            c("round", &[d(".1234567890123456789"), i(20)]).to_string(),
            "0.12345678901234567890"
        );
        assert_eq!(c("round", &[d("150.000"), i(2)]).to_string(), "150.00");
        assert_eq!(c("round", &[i(150), i(2)]), i(150));
        assert_eq!(c("round", &[d("2.5")]).to_string(), "3");
        assert_eq!(c("round", &[f(2.5)]), f(2.0));
        assert_eq!(c("round", &[d("-2.5")]).to_string(), "-3");
        assert_eq!(c("round", &[f(-2.5)]), f(-2.0));
        assert_eq!(c("round", &[i(1250), i(-2)]), i(1300));
        assert_eq!(c("truncate", &[d("1.223"), i(1)]).to_string(), "1.2");
        assert_eq!(c("truncate", &[d("1.999"), i(1)]).to_string(), "1.9");
        assert_eq!(c("truncate", &[d("1.999"), i(0)]).to_string(), "1");
        assert_eq!(c("truncate", &[d("-1.999"), i(1)]).to_string(), "-1.9");
        assert_eq!(c("truncate", &[i(122), i(-2)]), i(100));
        assert_eq!(c("truncate", &[d("1028.00"), i(0)]).to_string(), "1028");
        assert_eq!(c("mod", &[i(234), i(10)]), i(4));
    }

    #[test]
    fn math() {
        assert_eq!(c("pow", &[i(2), i(2)]), f(4.0));
        assert_eq!(c("power", &[i(2), i(-2)]), f(0.25));
        assert_eq!(c("sqrt", &[i(4)]), f(2.0));
        assert_eq!(c("sqrt", &[i(-16)]), Value::Null);
        assert_eq!(c("log", &[i(2), i(65536)]), f(16.0));
        assert_eq!(c("log", &[i(10), i(100)]), f(2.0));
        assert_eq!(c("log", &[i(1), i(100)]), Value::Null);
        assert_eq!(c("log2", &[i(65536)]), f(16.0));
        assert_eq!(c("log10", &[i(100)]), f(2.0));
        let mut ctx = FnContext::default();
        assert_eq!(call("ln", &[i(-2)], &mut ctx), Ok(Value::Null));
        assert_eq!(ctx.warnings[0].0, 3020);
        assert_eq!(c("sign", &[i(-32)]), i(-1));
        assert_eq!(c("sign", &[i(0)]), i(0));
        assert_eq!(c("sign", &[i(234)]), i(1));
        assert_eq!(c("degrees", &[c("pi", &[])]), f(180.0));
        assert_eq!(c("radians", &[i(90)]), f(std::f64::consts::FRAC_PI_2));
        assert_eq!(c("atan", &[i(-2), i(2)]), f(-std::f64::consts::FRAC_PI_4));
        assert_eq!(c("exp", &[i(0)]), f(1.0));
        assert!(call("exp", &[i(1000)], &mut FnContext::default()).is_err());
        assert_eq!(c("crc32", &[Value::from("MySQL")]), i(3259397556));
        assert_eq!(c("crc32", &[Value::from("mysql")]), i(2501908538));
        assert_eq!(c("bit_count", &[i(64)]), i(1));
        let iv = |args: &[i64]| c("interval", &args.iter().map(|n| i(*n)).collect::<Vec<_>>());
        assert_eq!(iv(&[23, 1, 15, 17, 30, 44, 200]), i(3));
        assert_eq!(iv(&[10, 1, 10, 100, 1000]), i(2));
        assert_eq!(iv(&[22, 23, 30, 44, 200]), i(0));
        assert_eq!(c("interval", &[Value::Null, i(1)]), i(-1));
        assert_eq!(c("bit_count", &[Value::Bytes(vec![0xff, 1])]), i(9));
    }

    #[test]
    fn greatest_least() {
        assert_eq!(c("greatest", &[i(2), i(0)]), i(2));
        assert_eq!(
            c("greatest", &[f(34.0), f(3.0), f(5.0), f(767.0)]),
            f(767.0)
        );
        assert_eq!(
            c(
                "greatest",
                &[Value::from("B"), Value::from("A"), Value::from("C")]
            ),
            Value::from("C")
        );
        assert_eq!(c("least", &[i(2), i(0)]), i(0));
        assert_eq!(c("least", &[f(34.0), f(3.0), f(5.0), f(767.0)]), f(3.0));
        assert_eq!(c("greatest", &[i(1), Value::Null]), Value::Null);
        assert_eq!(c("least", &[i(1), d("1.50")]).to_string(), "1.00");
        assert_eq!(c("greatest", &[i(10), Value::from("9")]), f(10.0));
    }

    #[test]
    fn rand_matches_mysql_sequences() {
        // MySQL 8: SELECT RAND(3) -> 0.9057697559760601.
        let r = c("rand", &[i(3)]);
        let Value::Double(x) = r else { panic!("{r:?}") };
        assert!((x - 0.905_769_755_976_060_1).abs() < 1e-12, "{x}");
        // By name, RAND(N) = RAND(N); a resolved expression continues its sequence per row
        // (manual: SELECT i, RAND(3) FROM t gives 0.90576975597606, 0.37307905813035,
        // 0.14808605345719).
        assert_eq!(c("rand", &[i(3)]), r);
        let f = super::super::resolve("RAND").expect("rand resolves");
        let g = super::super::resolve("RAND").expect("rand resolves");
        let mut ctx = FnContext::default();
        let seq: Vec<f64> = (0..3)
            .map(|_| f.call(&[i(3)], &mut ctx).unwrap().to_f64().unwrap())
            .collect();
        assert_eq!(seq[0], x);
        assert!((seq[1] - 0.373_079_058_130_35).abs() < 1e-13, "{seq:?}");
        assert!((seq[2] - 0.148_086_053_457_19).abs() < 1e-13, "{seq:?}");
        assert_eq!(
            g.call(&[i(3)], &mut ctx).unwrap(),
            r,
            "each expression has its own state"
        );
        let mut ctx = FnContext {
            rng_seed: Some(7),
            ..FnContext::default()
        };
        let a = call("rand", &[], &mut ctx).unwrap();
        let b = call("rand", &[], &mut ctx).unwrap();
        assert_ne!(a, b);
        let mut again = FnContext {
            rng_seed: Some(7),
            ..FnContext::default()
        };
        assert_eq!(call("rand", &[], &mut again).unwrap(), a);
    }
}
