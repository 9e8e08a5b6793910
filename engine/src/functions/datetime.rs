//! Date and time functions: the clock (NOW, CURDATE, UTC_*), field extraction (YEAR ..
//! MICROSECOND, WEEK, EXTRACT), differences (DATEDIFF, TIMEDIFF, TIMESTAMPDIFF),
//! conversions (UNIX_TIMESTAMP, FROM_UNIXTIME, TO_DAYS, SEC_TO_TIME, ...), formatting
//! (DATE_FORMAT, TIME_FORMAT, STR_TO_DATE) and ADDTIME/ADDDATE.
//!
//! The session time zone is UTC: `FnContext::now` is UTC and UNIX_TIMESTAMP/
//! FROM_UNIXTIME convert without an offset. The clock functions read `ctx.now`, so every
//! call in one statement sees the same instant (SYSDATE alone reads the real clock, as
//! in MySQL). Unreadable dates give NULL with warning 1292.

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

use super::args::{to_int, to_num, txt, Num};
use super::cast::{clamp_time, to_date, to_datetime, to_time, TIME_MAX_MICROS};
use super::interval::{add_to_datetime, date_add, Interval, IntervalUnit};
use super::timefmt::{self, calc_week, week_mode, WEEK_YEAR};
use super::{builtin, Builtin, FnContext};
use crate::error::{code, Error, Result};
use crate::temporal::{days_in_month, Date, DateTime, Time};
use crate::value::Value;

const US_PER_SEC: i64 = 1_000_000;
/// FROM_UNIXTIME's upper bound (3001-01-18 23:59:59 UTC, as in 64-bit MySQL 8).
const MAX_UNIX_SECONDS: i64 = 32_536_771_199;

fn fsp_arg(args: &[Value], name: &str, ctx: &mut FnContext) -> Result<u8> {
    let Some(v) = args.first() else {
        return Ok(0);
    };
    let n = to_int(v, ctx).unwrap_or(0);
    if !(0..=6).contains(&n) {
        return Err(Error::new(
            1426,
            format!("Too-big precision {n} specified for '{name}'. Maximum is 6."),
        ));
    }
    Ok(n as u8)
}

/// Truncate microseconds to `fsp` digits (the clock functions truncate).
fn truncate_micro(micro: u32, fsp: u8) -> u32 {
    let unit = 10u32.pow(6 - fsp.min(6) as u32);
    micro / unit * unit
}

fn f_now(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    let fsp = fsp_arg(args, "now", ctx)?;
    let mut dt = ctx.now;
    dt.micro = truncate_micro(dt.micro, fsp);
    Ok(Value::DateTime(dt))
}

fn f_sysdate(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    let fsp = fsp_arg(args, "sysdate", ctx)?;
    let mut dt = DateTime::now_utc();
    dt.micro = truncate_micro(dt.micro, fsp);
    Ok(Value::DateTime(dt))
}

fn f_curdate(_args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    Ok(Value::Date(ctx.now.date))
}

fn f_curtime(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    let fsp = fsp_arg(args, "curtime", ctx)?;
    let n = ctx.now;
    Ok(Value::Time(Time {
        negative: false,
        hour: n.hour as u32,
        minute: n.minute,
        second: n.second,
        micro: truncate_micro(n.micro, fsp),
    }))
}

fn f_date(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    Ok(to_date(&args[0], ctx).map_or(Value::Null, Value::Date))
}

fn f_time(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    Ok(to_time(&args[0], ctx).map_or(Value::Null, Value::Time))
}

fn valid(d: &Date) -> Option<&Date> {
    d.is_valid().then_some(d)
}

fn f_datediff(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    let a = to_date(&args[0], ctx);
    let b = to_date(&args[1], ctx);
    Ok(match (a, b) {
        (Some(a), Some(b)) if a.is_valid() && b.is_valid() => {
            Value::Int(a.to_day_number() - b.to_day_number())
        }
        _ => Value::Null,
    })
}

/// Whether a string reads as a datetime rather than a TIME (for TIMEDIFF/ADDTIME).
fn string_is_datetime(s: &str) -> bool {
    let s = s.trim();
    let body = s.strip_prefix('-').unwrap_or(s);
    if body.contains('-') || body.contains('/') {
        return true;
    }
    if let Some((first, _)) = body.split_once(' ') {
        return first.contains(':') || first.contains('.');
    }
    body.len() >= 12 && body.bytes().all(|b| b.is_ascii_digit())
}

/// A datetime argument that must be a real calendar date (arithmetic on it is
/// meaningless otherwise).
fn real_datetime(v: &Value, ctx: &mut FnContext) -> Option<DateTime> {
    to_datetime(v, ctx).filter(|dt| dt.date.is_valid())
}

enum Temporal {
    Time(Time),
    DateTime(DateTime),
}

/// A value as either a TIME or a DATETIME, as TIMEDIFF and ADDTIME read their operands.
fn temporal_of(v: &Value, ctx: &mut FnContext) -> Option<Temporal> {
    match v {
        Value::Null => None,
        Value::Time(t) => Some(Temporal::Time(*t)),
        Value::Date(_) | Value::DateTime(_) => real_datetime(v, ctx).map(Temporal::DateTime),
        Value::Str(_) | Value::Bytes(_) => {
            let t = txt(v)?;
            if string_is_datetime(&t.s) {
                real_datetime(v, ctx).map(Temporal::DateTime)
            } else {
                to_time(v, ctx).map(Temporal::Time)
            }
        }
        _ => to_time(v, ctx).map(Temporal::Time),
    }
}

fn time_result(us: i64, ctx: &mut FnContext) -> Value {
    let t = Time::from_micros(us);
    if us.abs() > TIME_MAX_MICROS {
        ctx.warn(
            code::ER_TRUNCATED_WRONG_VALUE,
            format!("Truncated incorrect time value: '{t}'"),
        );
    }
    Value::Time(clamp_time(t))
}

fn f_timediff(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    let (Some(a), Some(b)) = (temporal_of(&args[0], ctx), temporal_of(&args[1], ctx)) else {
        return Ok(Value::Null);
    };
    Ok(match (a, b) {
        (Temporal::Time(a), Temporal::Time(b)) => {
            time_result(a.total_micros() - b.total_micros(), ctx)
        }
        (Temporal::DateTime(a), Temporal::DateTime(b)) => {
            time_result(a.total_micros() - b.total_micros(), ctx)
        }
        _ => Value::Null,
    })
}

fn unit_arg(v: &Value) -> Result<IntervalUnit> {
    let name = v.to_text().unwrap_or_default();
    IntervalUnit::parse(&name).ok_or_else(|| Error::parse(name))
}

/// Whole months from `a` to `b`, truncated toward zero (day and time of day decide
/// whether the last month is complete).
fn months_between(a: &DateTime, b: &DateTime) -> i64 {
    let ma = a.date.year as i64 * 12 + a.date.month as i64;
    let mb = b.date.year as i64 * 12 + b.date.month as i64;
    let mut months = mb - ma;
    let rest = |d: &DateTime| (d.date.day, d.hour, d.minute, d.second, d.micro);
    if months > 0 && rest(b) < rest(a) {
        months -= 1;
    } else if months < 0 && rest(b) > rest(a) {
        months += 1;
    }
    months
}

fn f_timestampdiff(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    let unit = unit_arg(&args[0])?;
    let (Some(a), Some(b)) = (real_datetime(&args[1], ctx), real_datetime(&args[2], ctx)) else {
        return Ok(Value::Null);
    };
    use IntervalUnit::*;
    let us = b.total_micros() - a.total_micros();
    Ok(Value::Int(match unit {
        Month => months_between(&a, &b),
        Quarter => months_between(&a, &b) / 3,
        Year => months_between(&a, &b) / 12,
        Microsecond => us,
        Second => us / US_PER_SEC,
        Minute => us / (60 * US_PER_SEC),
        Hour => us / (3600 * US_PER_SEC),
        Day => us / (86400 * US_PER_SEC),
        Week => us / (7 * 86400 * US_PER_SEC),
        _ => return Err(Error::parse(args[0].to_text().unwrap_or_default())),
    }))
}

fn f_timestampadd(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    let unit = unit_arg(&args[0])?;
    date_add(&args[2], &args[1], unit, false, ctx)
}

fn f_adddate(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    date_add(&args[0], &args[1], IntervalUnit::Day, false, ctx)
}

fn f_subdate(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    date_add(&args[0], &args[1], IntervalUnit::Day, true, ctx)
}

fn addtime(args: &[Value], ctx: &mut FnContext, sign: i64) -> Result<Value> {
    let Some(a) = temporal_of(&args[0], ctx) else {
        return Ok(Value::Null);
    };
    let Some(b) = to_time(&args[1], ctx) else {
        return Ok(Value::Null);
    };
    let delta = sign * b.total_micros();
    Ok(match a {
        Temporal::Time(t) => time_result(t.total_micros() + delta, ctx),
        Temporal::DateTime(dt) => match add_to_datetime(
            dt,
            Interval {
                months: 0,
                micros: delta,
            },
        ) {
            Some(r) => Value::DateTime(r),
            None => Value::Null,
        },
    })
}

fn f_addtime(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    addtime(args, ctx, 1)
}
fn f_subtime(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    addtime(args, ctx, -1)
}

fn unix_epoch() -> DateTime {
    DateTime::from_date(Date {
        year: 1970,
        month: 1,
        day: 1,
    })
}

fn f_unix_timestamp(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    let Some(v) = args.first() else {
        return Ok(Value::Int(ctx.now.unix_seconds()));
    };
    let Some(dt) = to_datetime(v, ctx) else {
        return Ok(Value::Null);
    };
    if !dt.date.is_valid() {
        return Ok(Value::Int(0));
    }
    let us = dt.total_micros() - unix_epoch().total_micros();
    if us < 0 || us / US_PER_SEC > MAX_UNIX_SECONDS {
        return Ok(Value::Int(0));
    }
    // Fractional digits: as written in a string argument, 6 for a datetime with micros.
    let scale = match v {
        Value::Str(s) => s
            .trim()
            .rsplit_once('.')
            .filter(|(a, _)| a.contains(':') || a.len() >= 12)
            .map_or(0, |(_, f)| f.len().min(6) as u32),
        Value::DateTime(d) if d.micro != 0 => 6,
        Value::Decimal(d) => d.scale().min(6),
        _ => 0,
    };
    if scale == 0 {
        return Ok(Value::Int(us / US_PER_SEC));
    }
    let d = Decimal::new(us, 6);
    Ok(super::args::dec_value(super::ops::decimal_to_scale(
        d, scale,
    )))
}

fn f_from_unixtime(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    let Some(n) = to_num(&args[0], ctx) else {
        return Ok(Value::Null);
    };
    let us = match n {
        Num::I(i) => i.checked_mul(US_PER_SEC),
        Num::U(u) => i64::try_from(u)
            .ok()
            .and_then(|i| i.checked_mul(US_PER_SEC)),
        other => other
            .to_decimal()
            .checked_mul(Decimal::from(US_PER_SEC))
            .and_then(|d| d.round().to_i64()),
    };
    let Some(us) = us.filter(|us| *us >= 0 && us / US_PER_SEC <= MAX_UNIX_SECONDS) else {
        return Ok(Value::Null);
    };
    let dt = DateTime::from_unix_micros(us);
    match args.get(1) {
        None => Ok(Value::DateTime(dt)),
        Some(Value::Null) => Ok(Value::Null),
        Some(f) => {
            let fmt = f.to_text().unwrap_or_default();
            Ok(timefmt::format(&dt, &fmt, None).map_or(Value::Null, Value::Str))
        }
    }
}

fn date_field(args: &[Value], ctx: &mut FnContext, f: fn(&DateTime) -> i64) -> Result<Value> {
    Ok(to_datetime(&args[0], ctx).map_or(Value::Null, |d| Value::Int(f(&d))))
}

fn valid_date_field(args: &[Value], ctx: &mut FnContext, f: fn(&Date) -> Value) -> Result<Value> {
    Ok(match to_date(&args[0], ctx) {
        Some(d) => valid(&d).map_or(Value::Null, f),
        None => Value::Null,
    })
}

fn time_field(args: &[Value], ctx: &mut FnContext, f: fn(&Time) -> i64) -> Result<Value> {
    Ok(to_time(&args[0], ctx).map_or(Value::Null, |t| Value::Int(f(&t))))
}

fn f_year(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    date_field(args, ctx, |d| d.date.year as i64)
}
fn f_month(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    date_field(args, ctx, |d| d.date.month as i64)
}
fn f_day(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    date_field(args, ctx, |d| d.date.day as i64)
}
fn f_quarter(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    date_field(args, ctx, |d| (d.date.month as i64 + 2) / 3)
}
fn f_hour(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    time_field(args, ctx, |t| t.hour as i64)
}
fn f_minute(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    time_field(args, ctx, |t| t.minute as i64)
}
fn f_second(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    time_field(args, ctx, |t| t.second as i64)
}
fn f_microsecond(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    time_field(args, ctx, |t| t.micro as i64)
}

fn day_of_year(d: &Date) -> i64 {
    d.to_day_number()
        - Date {
            year: d.year,
            month: 1,
            day: 1,
        }
        .to_day_number()
        + 1
}

fn f_dayofweek(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    valid_date_field(args, ctx, |d| Value::Int((d.weekday() as i64 + 1) % 7 + 1))
}
fn f_weekday(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    valid_date_field(args, ctx, |d| Value::Int(d.weekday() as i64))
}
fn f_dayofyear(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    valid_date_field(args, ctx, |d| Value::Int(day_of_year(d)))
}
fn f_monthname(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    valid_date_field(args, ctx, |d| {
        Value::from(timefmt::MONTH_NAMES[d.month as usize - 1])
    })
}
fn f_dayname(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    valid_date_field(args, ctx, |d| {
        Value::from(timefmt::DAY_NAMES[d.weekday() as usize])
    })
}
fn f_last_day(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    valid_date_field(args, ctx, |d| {
        Value::Date(Date {
            day: days_in_month(d.year as i64, d.month),
            ..*d
        })
    })
}

fn mode_arg(args: &[Value], i: usize, ctx: &mut FnContext) -> Option<i64> {
    match args.get(i) {
        None => Some(0),
        Some(v) => to_int(v, ctx),
    }
}

fn f_week(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    let (Some(d), Some(mode)) = (to_date(&args[0], ctx), mode_arg(args, 1, ctx)) else {
        return Ok(Value::Null);
    };
    Ok(valid(&d).map_or(Value::Null, |d| Value::Int(calc_week(d, week_mode(mode)).0)))
}

fn f_weekofyear(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    Ok(match to_date(&args[0], ctx) {
        Some(d) => valid(&d).map_or(Value::Null, |d| Value::Int(calc_week(d, week_mode(3)).0)),
        None => Value::Null,
    })
}

fn f_yearweek(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    let (Some(d), Some(mode)) = (to_date(&args[0], ctx), mode_arg(args, 1, ctx)) else {
        return Ok(Value::Null);
    };
    Ok(valid(&d).map_or(Value::Null, |d| {
        let (w, y) = calc_week(d, week_mode(mode) | WEEK_YEAR);
        Value::Int(y * 100 + w)
    }))
}

fn f_makedate(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    let (Some(y), Some(doy)) = (to_int(&args[0], ctx), to_int(&args[1], ctx)) else {
        return Ok(Value::Null);
    };
    let y = match y {
        0..=69 => y + 2000,
        70..=99 => y + 1900,
        _ => y,
    };
    if doy <= 0 || !(0..=9999).contains(&y) {
        return Ok(Value::Null);
    }
    let base = Date {
        year: y as u16,
        month: 1,
        day: 1,
    }
    .to_day_number();
    let d = Date::from_day_number(base + doy - 1);
    let last = Date {
        year: 9999,
        month: 12,
        day: 31,
    }
    .to_day_number();
    Ok(if base + doy - 1 > last {
        Value::Null
    } else {
        Value::Date(d)
    })
}

fn f_maketime(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    let (Some(h), Some(m)) = (to_int(&args[0], ctx), to_int(&args[1], ctx)) else {
        return Ok(Value::Null);
    };
    let Some(s) = to_num(&args[2], ctx).map(Num::to_decimal) else {
        return Ok(Value::Null);
    };
    if !(0..60).contains(&m) || s.is_sign_negative() || s >= Decimal::from(60) {
        return Ok(Value::Null);
    }
    let us = (s * Decimal::from(US_PER_SEC))
        .round()
        .to_i64()
        .unwrap_or(0);
    let mag = (h.unsigned_abs().min(10_000) as i64 * 3600 + m * 60) * US_PER_SEC + us;
    Ok(time_result(if h < 0 { -mag } else { mag }, ctx))
}

fn f_to_days(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    valid_date_field(args, ctx, |d| Value::Int(d.to_day_number()))
}

fn f_to_seconds(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    Ok(match to_datetime(&args[0], ctx) {
        Some(dt) if dt.date.is_valid() => Value::Int(dt.total_micros() / US_PER_SEC),
        _ => Value::Null,
    })
}

fn f_from_days(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    let Some(n) = to_int(&args[0], ctx) else {
        return Ok(Value::Null);
    };
    let last = Date {
        year: 9999,
        month: 12,
        day: 31,
    }
    .to_day_number();
    Ok(Value::Date(if n < 366 || n > last {
        Date::default()
    } else {
        Date::from_day_number(n)
    }))
}

fn f_sec_to_time(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    let Some(n) = to_num(&args[0], ctx) else {
        return Ok(Value::Null);
    };
    let us = match n {
        Num::I(i) => i.saturating_mul(US_PER_SEC),
        Num::U(u) => i64::try_from(u)
            .unwrap_or(i64::MAX)
            .saturating_mul(US_PER_SEC),
        other => {
            let d = other.to_decimal();
            d.checked_mul(Decimal::from(US_PER_SEC))
                .and_then(|d| d.round().to_i64())
                .unwrap_or(if d.is_sign_negative() {
                    i64::MIN
                } else {
                    i64::MAX
                })
        }
    };
    Ok(time_result(us, ctx))
}

fn f_time_to_sec(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    Ok(match to_time(&args[0], ctx) {
        None => Value::Null,
        Some(t) if t.micro == 0 => Value::Int(t.total_micros() / US_PER_SEC),
        Some(t) => super::args::dec_value(Decimal::new(t.total_micros(), 6).normalize()),
    })
}

fn f_extract(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    let unit = unit_arg(&args[0])?;
    let v = &args[1];
    use IntervalUnit::*;
    // Time units read a TIME when the value is one (or reads as one); others a DATETIME.
    let as_time = matches!(v, Value::Time(_))
        || matches!(v, Value::Str(_) | Value::Bytes(_))
            && txt(v).is_some_and(|t| !string_is_datetime(&t.s));
    let time_unit = matches!(
        unit,
        Microsecond
            | Second
            | Minute
            | Hour
            | SecondMicrosecond
            | MinuteMicrosecond
            | MinuteSecond
            | HourMicrosecond
            | HourSecond
            | HourMinute
    );
    let (dt, t) = if as_time && (time_unit || matches!(v, Value::Time(_))) {
        let Some(t) = to_time(v, ctx) else {
            return Ok(Value::Null);
        };
        let dt = DateTime {
            date: Date::default(),
            hour: (t.hour % 24) as u8,
            minute: t.minute,
            second: t.second,
            micro: t.micro,
        };
        (dt, t)
    } else {
        let Some(dt) = to_datetime(v, ctx) else {
            return Ok(Value::Null);
        };
        (dt, super::cast::time_of_day(&dt))
    };
    let sign = if t.negative { -1 } else { 1 };
    let (h, mi, s, us) = (
        t.hour as i64,
        t.minute as i64,
        t.second as i64,
        t.micro as i64,
    );
    let d = &dt.date;
    let day = d.day as i64;
    Ok(Value::Int(match unit {
        Year => d.year as i64,
        Quarter => (d.month as i64 + 2) / 3,
        Month => d.month as i64,
        Week => calc_week(d, week_mode(0)).0,
        Day => day,
        Hour => sign * h,
        Minute => sign * mi,
        Second => sign * s,
        Microsecond => sign * us,
        YearMonth => d.year as i64 * 100 + d.month as i64,
        DayHour => sign * (day * 100 + h),
        DayMinute => sign * ((day * 100 + h) * 100 + mi),
        DaySecond => sign * (((day * 100 + h) * 100 + mi) * 100 + s),
        DayMicrosecond => sign * ((((day * 100 + h) * 100 + mi) * 100 + s) * 1_000_000 + us),
        HourMinute => sign * (h * 100 + mi),
        HourSecond => sign * ((h * 100 + mi) * 100 + s),
        HourMicrosecond => sign * (((h * 100 + mi) * 100 + s) * 1_000_000 + us),
        MinuteSecond => sign * (mi * 100 + s),
        MinuteMicrosecond => sign * ((mi * 100 + s) * 1_000_000 + us),
        SecondMicrosecond => sign * (s * 1_000_000 + us),
    }))
}

fn f_date_format(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    if args[1].is_null() {
        return Ok(Value::Null);
    }
    let Some(dt) = to_datetime(&args[0], ctx) else {
        return Ok(Value::Null);
    };
    let fmt = args[1].to_text().unwrap_or_default();
    Ok(timefmt::format(&dt, &fmt, None).map_or(Value::Null, Value::Str))
}

fn f_time_format(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    if args[1].is_null() {
        return Ok(Value::Null);
    }
    let Some(t) = to_time(&args[0], ctx) else {
        return Ok(Value::Null);
    };
    let dt = DateTime {
        date: Date::default(),
        hour: (t.hour % 24) as u8,
        minute: t.minute,
        second: t.second,
        micro: t.micro,
    };
    let fmt = args[1].to_text().unwrap_or_default();
    Ok(timefmt::format(&dt, &fmt, Some(&t)).map_or(Value::Null, Value::Str))
}

fn f_str_to_date(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    if args.iter().any(Value::is_null) {
        return Ok(Value::Null);
    }
    let s = args[0].to_text().unwrap_or_default();
    let fmt = args[1].to_text().unwrap_or_default();
    let fail = |ctx: &mut FnContext| {
        ctx.warn(
            1411,
            format!("Incorrect datetime value: '{s}' for function str_to_date"),
        );
        Ok(Value::Null)
    };
    let Some(p) = timefmt::parse(&s, &fmt) else {
        return fail(ctx);
    };
    let d = p.dt.date;
    let zero_part = d.year == 0 || d.month == 0 || d.day == 0;
    let date_ok = if zero_part {
        // NO_ZERO_IN_DATE / NO_ZERO_DATE (part of strict MySQL 8 defaults) reject these.
        !ctx.strict && d.day <= days_in_month(d.year as i64, d.month.max(1)).max(31)
    } else {
        d.is_valid()
    };
    if (p.has_date || !p.has_time) && !date_ok {
        return fail(ctx);
    }
    if p.trailing {
        ctx.warn(
            code::ER_TRUNCATED_WRONG_VALUE,
            format!("Truncated incorrect datetime value: '{s}'"),
        );
    }
    Ok(match (p.has_date, p.has_time) {
        (true, true) => Value::DateTime(p.dt),
        (false, true) => Value::Time(super::cast::time_of_day(&p.dt)),
        _ => Value::Date(p.dt.date),
    })
}

/// A time zone as an offset in seconds: '+hh:mm', '-hh:mm', 'UTC'/'SYSTEM'/'GMT'.
fn tz_offset(v: &Value) -> Option<i64> {
    let s = v.to_text()?;
    let s = s.trim();
    if ["utc", "system", "gmt", "+00:00", "z"]
        .iter()
        .any(|z| s.eq_ignore_ascii_case(z))
    {
        return Some(0);
    }
    let (sign, rest) = match s.as_bytes().first() {
        Some(b'+') => (1, &s[1..]),
        Some(b'-') => (-1, &s[1..]),
        _ => return None,
    };
    let (h, m) = rest.split_once(':')?;
    let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
    if h > 14 || m > 59 {
        return None;
    }
    Some(sign * (h * 3600 + m * 60))
}

fn f_convert_tz(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    let (Some(from), Some(to)) = (tz_offset(&args[1]), tz_offset(&args[2])) else {
        return Ok(Value::Null);
    };
    let Some(dt) = to_datetime(&args[0], ctx) else {
        return Ok(Value::Null);
    };
    let iv = Interval {
        months: 0,
        micros: (to - from) * US_PER_SEC,
    };
    Ok(add_to_datetime(dt, iv).map_or(Value::Null, Value::DateTime))
}

/// A period YYMM or YYYYMM as months since year 0.
fn period_months(p: i64) -> i64 {
    let (y, m) = (p / 100, p % 100);
    let y = match y {
        0..=69 if p < 10000 => y + 2000,
        70..=99 if p < 10000 => y + 1900,
        _ => y,
    };
    y * 12 + m - 1
}

fn f_period_add(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    let (Some(p), Some(n)) = (to_int(&args[0], ctx), to_int(&args[1], ctx)) else {
        return Ok(Value::Null);
    };
    if p == 0 {
        return Ok(Value::Int(0));
    }
    let m = period_months(p) + n;
    Ok(Value::Int((m / 12) * 100 + m % 12 + 1))
}

fn f_period_diff(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    let (Some(a), Some(b)) = (to_int(&args[0], ctx), to_int(&args[1], ctx)) else {
        return Ok(Value::Null);
    };
    Ok(Value::Int(period_months(a) - period_months(b)))
}

/// TIMESTAMP(expr[, time]): the value as a DATETIME, plus an optional time.
fn f_timestamp(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    let Some(dt) = to_datetime(&args[0], ctx) else {
        return Ok(Value::Null);
    };
    let Some(t) = args.get(1) else {
        return Ok(Value::DateTime(dt));
    };
    let Some(t) = to_time(t, ctx) else {
        return Ok(Value::Null);
    };
    let iv = Interval {
        months: 0,
        micros: t.total_micros(),
    };
    Ok(add_to_datetime(dt, iv).map_or(Value::Null, Value::DateTime))
}

/// GET_FORMAT(DATE|TIME|DATETIME|TIMESTAMP, 'USA'|'JIS'|'ISO'|'EUR'|'INTERNAL').
fn f_get_format(args: &[Value], _ctx: &mut FnContext) -> Result<Value> {
    let (Some(kind), Some(std)) = (args[0].to_text(), args[1].to_text()) else {
        return Ok(Value::Null);
    };
    let f = match (
        kind.to_ascii_uppercase().as_str(),
        std.to_ascii_uppercase().as_str(),
    ) {
        ("DATE", "USA") => "%m.%d.%Y",
        ("DATE", "JIS" | "ISO") => "%Y-%m-%d",
        ("DATE", "EUR") => "%d.%m.%Y",
        ("DATE", "INTERNAL") => "%Y%m%d",
        ("DATETIME" | "TIMESTAMP", "USA" | "EUR") => "%Y-%m-%d %H.%i.%s",
        ("DATETIME" | "TIMESTAMP", "JIS" | "ISO") => "%Y-%m-%d %H:%i:%s",
        ("DATETIME" | "TIMESTAMP", "INTERNAL") => "%Y%m%d%H%i%s",
        ("TIME", "USA") => "%h:%i:%s %p",
        ("TIME", "JIS" | "ISO") => "%H:%i:%s",
        ("TIME", "EUR") => "%H.%i.%s",
        ("TIME", "INTERNAL") => "%H%i%s",
        _ => return Ok(Value::Null),
    };
    Ok(Value::from(f))
}

pub(super) fn lookup(name: &str) -> Option<Builtin> {
    Some(match name {
        "now" | "current_timestamp" | "localtime" | "localtimestamp" | "utc_timestamp" => {
            builtin(0, 1, f_now)
        }
        "sysdate" => builtin(0, 1, f_sysdate),
        "curdate" | "current_date" | "utc_date" => builtin(0, 0, f_curdate),
        "curtime" | "current_time" | "utc_time" => builtin(0, 1, f_curtime),
        "date" => builtin(1, 1, f_date),
        "time" => builtin(1, 1, f_time),
        "datediff" => builtin(2, 2, f_datediff),
        "timediff" => builtin(2, 2, f_timediff),
        "timestampdiff" => builtin(3, 3, f_timestampdiff),
        "timestampadd" => builtin(3, 3, f_timestampadd),
        "adddate" | "date_add" => builtin(2, 2, f_adddate),
        "subdate" | "date_sub" => builtin(2, 2, f_subdate),
        "addtime" => builtin(2, 2, f_addtime),
        "subtime" => builtin(2, 2, f_subtime),
        "unix_timestamp" => builtin(0, 1, f_unix_timestamp),
        "from_unixtime" => builtin(1, 2, f_from_unixtime),
        "year" => builtin(1, 1, f_year),
        "month" => builtin(1, 1, f_month),
        "day" | "dayofmonth" => builtin(1, 1, f_day),
        "quarter" => builtin(1, 1, f_quarter),
        "hour" => builtin(1, 1, f_hour),
        "minute" => builtin(1, 1, f_minute),
        "second" => builtin(1, 1, f_second),
        "microsecond" => builtin(1, 1, f_microsecond),
        "dayofweek" => builtin(1, 1, f_dayofweek),
        "weekday" => builtin(1, 1, f_weekday),
        "dayofyear" => builtin(1, 1, f_dayofyear),
        "monthname" => builtin(1, 1, f_monthname),
        "dayname" => builtin(1, 1, f_dayname),
        "last_day" => builtin(1, 1, f_last_day),
        "week" => builtin(1, 2, f_week),
        "weekofyear" => builtin(1, 1, f_weekofyear),
        "yearweek" => builtin(1, 2, f_yearweek),
        "makedate" => builtin(2, 2, f_makedate),
        "maketime" => builtin(3, 3, f_maketime),
        "to_days" => builtin(1, 1, f_to_days),
        "to_seconds" => builtin(1, 1, f_to_seconds),
        "from_days" => builtin(1, 1, f_from_days),
        "sec_to_time" => builtin(1, 1, f_sec_to_time),
        "time_to_sec" => builtin(1, 1, f_time_to_sec),
        "extract" => builtin(2, 2, f_extract),
        "date_format" => builtin(2, 2, f_date_format),
        "time_format" => builtin(2, 2, f_time_format),
        "str_to_date" => builtin(2, 2, f_str_to_date),
        "convert_tz" => builtin(3, 3, f_convert_tz),
        "period_add" => builtin(2, 2, f_period_add),
        "period_diff" => builtin(2, 2, f_period_diff),
        "timestamp" => builtin(1, 2, f_timestamp),
        "get_format" => builtin(2, 2, f_get_format),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::super::call;
    use super::*;

    fn ctx() -> FnContext {
        FnContext::new(parse("2024-03-15 10:20:30.123456"))
    }
    fn parse(s: &str) -> DateTime {
        crate::convert::parse_datetime_loose(s).expect("test datetime")
    }
    fn c(name: &str, args: &[Value]) -> String {
        call(name, args, &mut ctx()).expect(name).to_string()
    }
    fn c_v(name: &str, args: &[Value]) -> Value {
        call(name, args, &mut ctx()).expect(name)
    }
    fn v(s: &str) -> Value {
        Value::from(s)
    }
    fn i(n: i64) -> Value {
        Value::Int(n)
    }

    #[test]
    fn clock_is_the_statement_time() {
        assert_eq!(c("now", &[]), "2024-03-15 10:20:30");
        assert_eq!(c("NOW", &[i(3)]), "2024-03-15 10:20:30.123000");
        assert_eq!(c("curdate", &[]), "2024-03-15");
        assert_eq!(c("current_time", &[]), "10:20:30");
        assert_eq!(c("utc_timestamp", &[]), "2024-03-15 10:20:30");
        assert_eq!(call("now", &[i(7)], &mut ctx()).unwrap_err().code, 1426);
        assert_eq!(c("unix_timestamp", &[]), "1710498030");
    }

    #[test]
    fn manual_examples_fields() {
        assert_eq!(c("date", &[v("2003-12-31 01:02:03")]), "2003-12-31");
        assert_eq!(c("time", &[v("2003-12-31 01:02:03")]), "01:02:03");
        assert_eq!(
            c("time", &[v("2003-12-31 01:02:03.000123")]),
            "01:02:03.000123"
        );
        assert_eq!(c("year", &[v("1987-01-01")]), "1987");
        assert_eq!(c("month", &[v("2008-02-03")]), "2");
        assert_eq!(c("dayofmonth", &[v("2007-02-03")]), "3");
        assert_eq!(c("hour", &[v("10:05:03")]), "10");
        assert_eq!(c("hour", &[v("272:59:59")]), "272");
        assert_eq!(c("minute", &[v("2008-02-03 10:05:03")]), "5");
        assert_eq!(c("second", &[v("10:05:03")]), "3");
        assert_eq!(c("microsecond", &[v("12:00:00.123456")]), "123456");
        assert_eq!(c("microsecond", &[v("2019-12-31 23:59:59.000010")]), "10");
        assert_eq!(c("dayofweek", &[v("2007-02-03")]), "7");
        assert_eq!(c("weekday", &[v("2008-02-03 22:23:00")]), "6");
        assert_eq!(c("weekday", &[v("2007-11-06")]), "1");
        assert_eq!(c("dayofyear", &[v("2007-02-03")]), "34");
        assert_eq!(c("quarter", &[v("2008-04-01")]), "2");
        assert_eq!(c("monthname", &[v("2008-02-03")]), "February");
        assert_eq!(c("dayname", &[v("2007-02-03")]), "Saturday");
        assert_eq!(c("last_day", &[v("2003-02-05")]), "2003-02-28");
        assert_eq!(c("last_day", &[v("2004-02-05")]), "2004-02-29");
        assert_eq!(c("last_day", &[v("2004-01-01 01:01:01")]), "2004-01-31");
        assert_eq!(c("last_day", &[v("2003-03-32")]), "NULL");
        // Zero parts are read by the field functions and refused by the calendar ones.
        assert_eq!(c("dayofmonth", &[v("2024-02-00")]), "0");
        assert_eq!(c("month", &[v("2024-00-05")]), "0");
        assert_eq!(c("date_format", &[v("2006-06-00"), v("%d")]), "00");
        assert_eq!(c("dayofweek", &[v("2024-02-00")]), "NULL");
        assert_eq!(c("datediff", &[v("2024-02-00"), v("2024-01-01")]), "NULL");
        assert_eq!(
            c(
                "timestampdiff",
                &[v("DAY"), v("2024-02-00"), v("2024-01-01")]
            ),
            "NULL"
        );
        assert_eq!(c("week", &[v("2008-02-20")]), "7");
        assert_eq!(c("week", &[v("2008-02-20"), i(1)]), "8");
        assert_eq!(c("week", &[v("2008-12-31"), i(1)]), "53");
        assert_eq!(c("yearweek", &[v("1987-01-01")]), "198652");
        assert_eq!(c("weekofyear", &[v("2008-02-20")]), "8");
    }

    #[test]
    fn manual_examples_arithmetic() {
        assert_eq!(
            c("datediff", &[v("2007-12-31 23:59:59"), v("2007-12-30")]),
            "1"
        );
        assert_eq!(
            c("datediff", &[v("2010-11-30 23:59:59"), v("2010-12-31")]),
            "-31"
        );
        assert_eq!(
            c(
                "timediff",
                &[v("2000:01:01 00:00:00"), v("2000:01:01 00:00:00.000001")]
            ),
            "-00:00:00.000001"
        );
        assert_eq!(
            c(
                "timediff",
                &[
                    v("2008-12-31 23:59:59.000001"),
                    v("2008-12-30 01:01:01.000002")
                ]
            ),
            "46:58:57.999999"
        );
        assert_eq!(
            c("timediff", &[v("10:00:00"), v("2008-12-30 01:01:01")]),
            "NULL"
        );
        assert_eq!(
            c(
                "timestampdiff",
                &[v("MONTH"), v("2003-02-01"), v("2003-05-01")]
            ),
            "3"
        );
        assert_eq!(
            c(
                "timestampdiff",
                &[v("YEAR"), v("2002-05-01"), v("2001-01-01")]
            ),
            "-1"
        );
        assert_eq!(
            c(
                "timestampdiff",
                &[v("MINUTE"), v("2003-02-01"), v("2003-05-01 12:05:55")]
            ),
            "128885"
        );
        assert_eq!(
            c(
                "timestampdiff",
                &[v("MONTH"), v("2024-01-31"), v("2024-02-29")]
            ),
            "0"
        );
        assert_eq!(
            c("timestampadd", &[v("MINUTE"), i(1), v("2003-01-02")]),
            "2003-01-02 00:01:00"
        );
        assert_eq!(
            c("timestampadd", &[v("WEEK"), i(1), v("2003-01-02")]),
            "2003-01-09"
        );
        assert_eq!(c("adddate", &[v("2008-01-02"), i(31)]), "2008-02-02");
        assert_eq!(
            c("subdate", &[v("2008-01-02 12:00:00"), i(31)]),
            "2007-12-02 12:00:00"
        );
        assert_eq!(
            c(
                "addtime",
                &[v("2007-12-31 23:59:59.999999"), v("1 1:1:1.000002")]
            ),
            "2008-01-02 01:01:01.000001"
        );
        assert_eq!(
            c("addtime", &[v("01:00:00.999999"), v("02:00:00.999998")]),
            "03:00:01.999997"
        );
        assert_eq!(
            c(
                "subtime",
                &[v("2007-12-31 23:59:59.999999"), v("1 1:1:1.000002")]
            ),
            "2007-12-30 22:58:58.999997"
        );
        assert_eq!(
            c("subtime", &[v("01:00:00.999999"), v("02:00:00.999998")]),
            "-00:59:59.999999"
        );
        assert_eq!(c("period_add", &[i(200801), i(2)]), "200803");
        assert_eq!(c("timestamp", &[v("2003-12-31")]), "2003-12-31 00:00:00");
        assert_eq!(
            c("timestamp", &[v("2003-12-31 12:00:00"), v("12:00:00")]),
            "2004-01-01 00:00:00"
        );
        assert_eq!(c("get_format", &[v("DATE"), v("USA")]), "%m.%d.%Y");
        assert_eq!(
            c(
                "date_format",
                &[v("2003-10-03"), c_v("get_format", &[v("DATE"), v("EUR")])]
            ),
            "03.10.2003"
        );
        assert_eq!(c("period_diff", &[i(200802), i(200703)]), "11");
    }

    #[test]
    fn manual_examples_conversions() {
        assert_eq!(c("to_days", &[i(950501)]), "728779");
        assert_eq!(c("to_days", &[v("2007-10-07")]), "733321");
        assert_eq!(c("from_days", &[i(730669)]), "2000-07-03");
        assert_eq!(c("from_days", &[i(10)]), "0000-00-00");
        assert_eq!(c("to_seconds", &[i(950501)]), "62966505600");
        assert_eq!(c("makedate", &[i(2011), i(31)]), "2011-01-31");
        assert_eq!(c("makedate", &[i(2011), i(32)]), "2011-02-01");
        assert_eq!(c("makedate", &[i(2011), i(365)]), "2011-12-31");
        assert_eq!(c("makedate", &[i(2014), i(365)]), "2014-12-31");
        assert_eq!(c("makedate", &[i(2011), i(0)]), "NULL");
        assert_eq!(c("maketime", &[i(12), i(15), i(30)]), "12:15:30");
        assert_eq!(c("sec_to_time", &[i(2378)]), "00:39:38");
        assert_eq!(c("time_to_sec", &[v("22:23:00")]), "80580");
        assert_eq!(c("time_to_sec", &[v("00:39:38")]), "2378");
        assert_eq!(c("unix_timestamp", &[v("1970-01-02 00:00:00")]), "86400");
        assert_eq!(
            c("unix_timestamp", &[v("2015-11-13 10:20:19.012")]),
            "1447410019.012"
        );
        assert_eq!(c("unix_timestamp", &[v("1969-12-31")]), "0");
        assert_eq!(c("from_unixtime", &[i(1447410019)]), "2015-11-13 10:20:19");
        assert_eq!(
            c("from_unixtime", &[i(1447410019), v("%Y %D %M %h:%i:%s %x")]),
            "2015 13th November 10:20:19 2015"
        );
        assert_eq!(c("from_unixtime", &[i(-1)]), "NULL");
        assert_eq!(
            c(
                "convert_tz",
                &[v("2004-01-01 12:00:00"), v("+00:00"), v("+10:00")]
            ),
            "2004-01-01 22:00:00"
        );
    }

    #[test]
    fn manual_examples_extract_and_format() {
        assert_eq!(c("extract", &[v("YEAR"), v("2019-07-02")]), "2019");
        assert_eq!(
            c("extract", &[v("YEAR_MONTH"), v("2019-07-02 01:02:03")]),
            "201907"
        );
        assert_eq!(
            c("extract", &[v("DAY_MINUTE"), v("2019-07-02 01:02:03")]),
            "20102"
        );
        assert_eq!(
            c(
                "extract",
                &[v("MICROSECOND"), v("2003-01-02 10:30:00.000123")]
            ),
            "123"
        );
        assert_eq!(c("extract", &[v("HOUR"), v("-10:30:00")]), "-10");
        assert_eq!(
            c("date_format", &[v("2009-10-04 22:23:00"), v("%W %M %Y")]),
            "Sunday October 2009"
        );
        assert_eq!(
            c("time_format", &[v("100:00:00"), v("%H %k %h %I %l")]),
            "100 100 04 04 4"
        );
        assert_eq!(
            c("str_to_date", &[v("01,5,2013"), v("%d,%m,%Y")]),
            "2013-05-01"
        );
        assert_eq!(
            c("str_to_date", &[v("May 1, 2013"), v("%M %d,%Y")]),
            "2013-05-01"
        );
        assert_eq!(
            c("str_to_date", &[v("a09:30:17"), v("a%h:%i:%s")]),
            "09:30:17"
        );
        assert_eq!(c("str_to_date", &[v("a09:30:17"), v("%h:%i:%s")]), "NULL");
        assert_eq!(
            c("str_to_date", &[v("09:30:17a"), v("%h:%i:%s")]),
            "09:30:17"
        );
        assert_eq!(c("str_to_date", &[v("9"), v("%m")]), "NULL");
        let mut lax = ctx();
        lax.strict = false;
        assert_eq!(
            call("str_to_date", &[v("9"), v("%m")], &mut lax).map(|v| v.to_string()),
            Ok("0000-09-00".to_string())
        );
        assert_eq!(c("str_to_date", &[v("2024-02-30"), v("%Y-%m-%d")]), "NULL");
        assert_eq!(
            c(
                "str_to_date",
                &[v("2013-05-01 13:14:15"), v("%Y-%m-%d %H:%i:%s")]
            ),
            "2013-05-01 13:14:15"
        );
    }
}
