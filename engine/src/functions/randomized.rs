//! Seeded randomized checks of the functions against independent models: LIKE against a
//! regex translation, INTERVAL arithmetic against day numbers, DATE_FORMAT/STR_TO_DATE
//! round trips, integer operators against i128 arithmetic, CONV round trips. Each test
//! prints its seed; pin any seed that ever fails as its own regression test.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::{binary, call, date_add, like, BinOp, FnContext, IntervalUnit};
use crate::temporal::{Date, DateTime};
use crate::value::Value;

fn rng(seed: u64) -> StdRng {
    println!("seed {seed}");
    StdRng::seed_from_u64(seed)
}

fn like_as_regex(p: &str) -> regex::Regex {
    let mut r = String::from("(?is)^");
    let mut it = p.chars();
    while let Some(c) = it.next() {
        match c {
            '\\' => match it.next() {
                Some(n) => r.push_str(&regex::escape(&n.to_string())),
                None => r.push_str(&regex::escape("\\")),
            },
            '%' => r.push_str(".*"),
            '_' => r.push('.'),
            c => r.push_str(&regex::escape(&c.to_string())),
        }
    }
    r.push('$');
    regex::Regex::new(&r).expect("translated pattern is valid")
}

#[test]
fn like_agrees_with_regex() {
    let mut g = rng(0x11CE);
    let alphabet = ['a', 'B', 'b', '%', '_', '\\', 'é'];
    // Few distinct patterns (regex compilation dominates a debug build), many subjects.
    for _ in 0..150 {
        let p: String = (0..g.gen_range(0..6))
            .map(|_| alphabet[g.gen_range(0..alphabet.len())])
            .collect();
        let re = like_as_regex(&p);
        for _ in 0..30 {
            let s: String = (0..g.gen_range(0..8))
                .map(|_| ['a', 'B', 'b', 'é'][g.gen_range(0..4)])
                .collect();
            assert_eq!(
                like(&Value::from(s.as_str()), &Value::from(p.as_str()), None),
                Some(re.is_match(&s)),
                "{s:?} LIKE {p:?}"
            );
        }
    }
}

fn random_date(g: &mut StdRng) -> Date {
    // 0001-01-01 .. 9999-12-31
    Date::from_day_number(g.gen_range(366..=3_652_424))
}

#[test]
fn day_intervals_match_day_numbers() {
    let mut g = rng(0xDA7E);
    let mut ctx = FnContext::default();
    for _ in 0..2000 {
        let d = random_date(&mut g);
        let n: i64 = g.gen_range(-100_000..100_000);
        let r = date_add(
            &Value::Date(d),
            &Value::Int(n),
            IntervalUnit::Day,
            false,
            &mut ctx,
        )
        .expect("date_add");
        let target = d.to_day_number() + n;
        if (366..=3_652_424).contains(&target) {
            assert_eq!(r, Value::Date(Date::from_day_number(target)), "{d} + {n}");
            let back = call("datediff", &[r, Value::Date(d)], &mut ctx).expect("datediff");
            assert_eq!(back, Value::Int(n));
        } else {
            assert_eq!(r, Value::Null, "{d} + {n} leaves the range");
        }
    }
}

#[test]
fn month_intervals_clamp_and_invert() {
    let mut g = rng(0x303);
    let mut ctx = FnContext::default();
    for _ in 0..2000 {
        let d = Date::from_day_number(g.gen_range(700_000..900_000));
        let n: i64 = g.gen_range(-240..240);
        let r = date_add(
            &Value::Date(d),
            &Value::Int(n),
            IntervalUnit::Month,
            false,
            &mut ctx,
        )
        .expect("date_add");
        let Value::Date(r) = r else {
            panic!("{d} + {n} months gave {r:?}")
        };
        let months = |x: &Date| x.year as i64 * 12 + x.month as i64;
        assert_eq!(months(&r) - months(&d), n);
        assert!(r.is_valid());
        assert_eq!(
            r.day,
            d.day
                .min(crate::temporal::days_in_month(r.year as i64, r.month))
        );
    }
}

#[test]
fn format_then_parse_round_trips() {
    let mut g = rng(0xF0F0);
    let mut ctx = FnContext::default();
    let formats = [
        "%Y-%m-%d %H:%i:%s.%f",
        "%d/%m/%Y %T.%f",
        "%M %e, %Y %r.%f",
        "%b %d %Y %h:%i:%s %p.%f",
        "%Y %j %H %i %s %f",
    ];
    for _ in 0..1000 {
        let dt = DateTime {
            date: random_date(&mut g),
            hour: g.gen_range(0..24),
            minute: g.gen_range(0..60),
            second: g.gen_range(0..60),
            micro: g.gen_range(0..1_000_000),
        };
        for f in formats {
            let text =
                call("date_format", &[Value::DateTime(dt), f.into()], &mut ctx).expect("format");
            let back = call("str_to_date", &[text.clone(), f.into()], &mut ctx).expect("parse");
            assert_eq!(back, Value::DateTime(dt), "{text} with {f}");
        }
    }
}

#[test]
fn integer_operators_match_i128() {
    let mut g = rng(0x1128);
    let mut ctx = FnContext::default();
    let interesting = [0i64, 1, -1, 2, i64::MAX, i64::MIN, i64::MAX / 2, 3037000499];
    for _ in 0..5000 {
        let pick = |g: &mut StdRng| {
            if g.gen_bool(0.3) {
                interesting[g.gen_range(0..interesting.len())]
            } else {
                g.gen::<i64>() >> g.gen_range(0..63)
            }
        };
        let (a, b) = (pick(&mut g), pick(&mut g));
        for (op, f) in [
            (
                BinOp::Add,
                i128::checked_add as fn(i128, i128) -> Option<i128>,
            ),
            (BinOp::Sub, i128::checked_sub),
            (BinOp::Mul, i128::checked_mul),
            (BinOp::IntDiv, i128::checked_div),
            (BinOp::Mod, i128::checked_rem),
        ] {
            let got = binary(op, &Value::Int(a), &Value::Int(b), &mut ctx);
            match f(a as i128, b as i128) {
                None => assert_eq!(got, Ok(Value::Null), "{a} {op:?} {b}"),
                Some(r) => match i64::try_from(r) {
                    Ok(r) => assert_eq!(got, Ok(Value::Int(r)), "{a} {op:?} {b}"),
                    Err(_) => assert_eq!(got.map_err(|e| e.code), Err(1690), "{a} {op:?} {b}"),
                },
            }
        }
    }
}

#[test]
fn conv_round_trips() {
    let mut g = rng(0xC0);
    let mut ctx = FnContext::default();
    for _ in 0..2000 {
        let n: u64 = g.gen::<u64>() >> g.gen_range(0..64);
        let base: i64 = g.gen_range(2..=36);
        let there = call(
            "conv",
            &[Value::UInt(n), Value::Int(10), Value::Int(base)],
            &mut ctx,
        )
        .expect("conv");
        let back = call(
            "conv",
            &[there.clone(), Value::Int(base), Value::Int(10)],
            &mut ctx,
        )
        .expect("conv back");
        assert_eq!(
            back,
            Value::from(n.to_string()),
            "{n} in base {base} is {there}"
        );
    }
}
