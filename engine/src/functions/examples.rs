//! Cross-family checks of documented MySQL results (the statements of the golden SQL
//! tests under `tests/slt/functions` and `tests/slt/semantics`, evaluated at the
//! function level), so that the executor can rely on these pieces before the golden
//! files run end to end.

use super::{binary, call, cast, date_add, negate, BinOp, CastType, FnContext, IntervalUnit};
use crate::value::Value;

fn ctx() -> FnContext {
    FnContext::default()
}
fn c(name: &str, args: &[Value]) -> String {
    call(name, args, &mut ctx()).expect(name).to_string()
}
fn v(s: &str) -> Value {
    Value::from(s)
}
fn i(n: i64) -> Value {
    Value::Int(n)
}
fn d(s: &str) -> Value {
    Value::Decimal(s.parse().expect("decimal literal"))
}

#[test]
fn datetime_golden() {
    assert_eq!(
        c(
            "date_format",
            &[
                v("2024-03-05 14:07:09"),
                v("%Y-%m-%d %H:%i:%s %W %M %j %a %b %e %c %y %p %T %%")
            ]
        ),
        "2024-03-05 14:07:09 Tuesday March 065 Tue Mar 5 3 24 PM 14:07:09 %"
    );
    assert_eq!(
        c(
            "timestampdiff",
            &[v("MONTH"), v("2024-01-31"), v("2024-03-01")]
        ),
        "1"
    );
    assert_eq!(
        c(
            "timestampdiff",
            &[v("YEAR"), v("2000-02-29"), v("2024-02-28")]
        ),
        "23"
    );
    assert_eq!(
        c(
            "timestampdiff",
            &[v("SECOND"), v("2024-01-01"), v("2024-01-01 01:00:00")]
        ),
        "3600"
    );
    assert_eq!(
        c("datediff", &[v("2024-01-01 23:59:59"), v("2024-01-02")]),
        "-1"
    );
    assert_eq!(
        c("str_to_date", &[v("05/03/2024"), v("%d/%m/%Y")]),
        "2024-03-05"
    );
    assert_eq!(
        c("str_to_date", &[v("2024-03-05 14:07"), v("%Y-%m-%d %H:%i")]),
        "2024-03-05 14:07:00"
    );
    assert_eq!(
        c("unix_timestamp", &[v("2024-01-01 00:00:00")]),
        "1704067200"
    );
    assert_eq!(c("from_unixtime", &[i(1704067200)]), "2024-01-01 00:00:00");
    assert_eq!(c("dayofweek", &[v("2024-03-05")]), "3");
    assert_eq!(c("dayofyear", &[v("2024-03-05")]), "65");
    assert_eq!(c("makedate", &[i(2024), i(60)]), "2024-02-29");
    assert_eq!(c("sec_to_time", &[i(3661)]), "01:01:01");
    assert_eq!(c("to_days", &[v("2024-01-01")]), "739251");
    let add = |x: &str, n: i64, u: IntervalUnit, neg: bool| {
        date_add(&v(x), &i(n), u, neg, &mut ctx())
            .expect("date_add")
            .to_string()
    };
    assert_eq!(
        add("2024-01-31", 1, IntervalUnit::Month, false),
        "2024-02-29"
    );
    assert_eq!(add("2024-03-01", 1, IntervalUnit::Day, true), "2024-02-29");
    assert_eq!(
        add("2024-01-01 10:00:00", 90, IntervalUnit::Minute, false),
        "2024-01-01 11:30:00"
    );
    assert_eq!(
        add("2024-01-01", 1, IntervalUnit::Year, false),
        "2025-01-01"
    );
    assert_eq!(add("2024-02-30", 1, IntervalUnit::Day, false), "NULL");
    assert_eq!(
        c("addtime", &[v("2024-01-01 23:00:00"), v("02:00:00")]),
        "2024-01-02 01:00:00"
    );
}

#[test]
fn cast_and_conversion_golden() {
    let k = |x: Value, t: CastType| cast(&x, &t, &mut ctx()).expect("cast").to_string();
    assert_eq!(k(v("42"), CastType::Signed), "42");
    assert_eq!(k(i(-1), CastType::Unsigned), "18446744073709551615");
    assert_eq!(k(d("3.7"), CastType::Signed), "4");
    assert_eq!(k(v("12abc"), CastType::Signed), "12");
    assert_eq!(k(v("3.14159"), CastType::Decimal(Some((5, 2)))), "3.14");
    assert_eq!(k(i(1), CastType::Decimal(Some((4, 2)))), "1.00");
    assert_eq!(k(i(123), CastType::Char(None)), "123");
    assert_eq!(k(v("2024-01-02"), CastType::Date), "2024-01-02");
    assert_eq!(k(v("10:11:12"), CastType::Time(0)), "10:11:12");
    assert_eq!(
        k(i(20240102030405), CastType::DateTime(0)),
        "2024-01-02 03:04:05"
    );
    assert_eq!(k(i(42), CastType::Char(Some(1))), "4");
    assert_eq!(k(v("1e3"), CastType::Double), "1000");
    assert_eq!(k(Value::Null, CastType::Signed), "NULL");
    let op = |o: BinOp, a: Value, b: Value| binary(o, &a, &b, &mut ctx()).map(|x| x.to_string());
    assert_eq!(op(BinOp::Add, v("12abc"), i(0)), Ok("12".into()));
    assert_eq!(op(BinOp::Add, v("1.5e1x"), i(0)), Ok("15".into()));
    assert_eq!(op(BinOp::Add, v("abc"), i(0)), Ok("0".into()));
    assert_eq!(op(BinOp::Add, i(1), d("1.5")), Ok("2.5".into()));
    assert_eq!(op(BinOp::Add, v("1.5"), i(1)), Ok("2.5".into()));
    assert_eq!(negate(&v("-5")).map(|x| x.to_string()), Ok("5".into()));
    assert_eq!(c("concat", &[i(1), d("2.50"), v("x"), i(1)]), "12.50x1");
    assert_eq!(c("length", &[i(12345)]), "5");
}

#[test]
fn overflow_golden() {
    let op = |o: BinOp, a: Value, b: Value| binary(o, &a, &b, &mut ctx()).map_err(|e| e.code);
    assert_eq!(op(BinOp::Add, i(i64::MAX), i(1)), Err(1690));
    let min = negate(&Value::UInt(9_223_372_036_854_775_808)).expect("fits");
    assert_eq!(op(BinOp::Sub, min, i(1)), Err(1690));
    let zero_u = cast(&i(0), &CastType::Unsigned, &mut ctx()).expect("cast");
    assert_eq!(op(BinOp::Sub, zero_u, i(1)), Err(1690));
    assert_eq!(op(BinOp::Mul, i(4294967296), i(4294967296)), Err(1690));
    assert_eq!(op(BinOp::Add, i(i64::MAX), i(0)), Ok(i(i64::MAX)));
    assert_eq!(
        op(BinOp::Add, i(i64::MAX), d("1.0")).map(|x| x.to_string()),
        Ok("9223372036854775808.0".into())
    );
    for (o, a, b) in [
        (BinOp::Div, i(1), i(0)),
        (BinOp::IntDiv, i(1), i(0)),
        (BinOp::Mod, d("1.5"), i(0)),
        (BinOp::Mod, i(5), i(0)),
    ] {
        let mut cx = ctx();
        assert_eq!(binary(o, &a, &b, &mut cx), Ok(Value::Null));
        assert_eq!(cx.warnings, vec![(1365, "Division by 0".to_string())]);
    }
}

#[test]
fn numeric_and_string_golden() {
    assert_eq!(c("round", &[Value::Double(1.5)]), "2");
    assert_eq!(c("round", &[c_v("pi", &[]), i(6)]), "3.141593");
    assert_eq!(c("round", &[c_v("exp", &[i(1)]), i(6)]), "2.718282");
    assert_eq!(c("mod", &[i(-10), i(3)]), "-1");
    assert_eq!(c("pow", &[i(2), i(10)]), "1024");
    assert_eq!(c("power", &[i(2), i(-1)]), "0.5");
    assert_eq!(c("conv", &[v("ff"), i(16), i(10)]), "255");
    assert_eq!(c("greatest", &[v("a"), v("B"), v("c")]), "c");
    assert_eq!(c("format", &[d("-1234567.891"), i(2)]), "-1,234,567.89");
    assert_eq!(c("format", &[d("12332.1"), i(0)]), "12,332");
    assert_eq!(c("rpad", &[v("hi"), i(5), v("ab")]), "hiaba");
    assert_eq!(c("upper", &[v("héllo World")]), "HÉLLO WORLD");
    assert_eq!(c("lower", &[v("ÀBC")]), "àbc");
    assert_eq!(c("length", &[v("héllo")]), "6");
    assert_eq!(c("char_length", &[v("héllo")]), "5");
    assert_eq!(c("trim_trailing", &[v("000120"), v("0")]), "00012");
    assert_eq!(c("instr", &[v("foobar"), v("BAR")]), "4");
    assert_eq!(c("unhex", &[v("616263")]), "abc");
    assert_eq!(c("if", &[i(0), i(1), v("x")]), "x");
}

fn c_v(name: &str, args: &[Value]) -> Value {
    call(name, args, &mut ctx()).expect(name)
}

#[test]
fn edge_values() {
    assert_eq!(negate(&d("0.0")).map(|x| x.to_string()), Ok("0.0".into()));
    assert_eq!(c("round", &[d("-0.4")]), "0");
    assert_eq!(c("truncate", &[d("-0.5"), i(0)]), "0");
    assert_eq!(
        binary(BinOp::Mul, &d("-1.0"), &i(0), &mut ctx()).map(|x| x.to_string()),
        Ok("0.0".into())
    );
}

#[test]
fn str_to_date_more_specifiers() {
    let p = |s: &str, f: &str| c("str_to_date", &[v(s), v(f)]);
    assert_eq!(p("Tue, 5th Mar 24", "%a, %D %b %y"), "2024-03-05");
    assert_eq!(p("Friday 31 December 1999", "%W %d %M %Y"), "1999-12-31");
    assert_eq!(p("12:30:00 AM", "%r"), "00:30:00");
    assert_eq!(p("12:30:00 PM", "%h:%i:%s %p"), "12:30:00");
    assert_eq!(p("99-1-2", "%y-%c-%e"), "1999-01-02");
    assert_eq!(
        c("date_format", &[d("5.05"), v("%Y")]),
        "NULL",
        "a number that is not a date formats to NULL"
    );
    assert_eq!(
        binary(BinOp::Div, &d("5.05"), &d("0.014"), &mut ctx()).map(|x| x.to_string()),
        Ok("360.714286".into())
    );
}
