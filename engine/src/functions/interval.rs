//! INTERVAL arithmetic: `DATE_ADD`/`DATE_SUB`, `+ INTERVAL`, ADDDATE/SUBDATE and
//! TIMESTAMPADD all come through [`date_add`].
//!
//! An interval is a signed (months, microseconds) pair: month-based units (MONTH,
//! QUARTER, YEAR, YEAR_MONTH) move the calendar month and clamp the day to the target
//! month's last day, as MySQL does ('2024-01-31' + 1 MONTH is '2024-02-29'); the others
//! are an exact duration. Compound units take a string whose digit groups fill the unit's
//! fields from the right ('1:10' DAY_SECOND is 1 minute 10 seconds); a trailing
//! microsecond field is a decimal fraction ('1.5' SECOND_MICROSECOND is 1.5 seconds).

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

use super::args::{lit, to_int, to_num, txt, Num};
use super::cast::{clamp_time, to_datetime, TIME_MAX_MICROS};
use super::FnContext;
use crate::error::{code, Result};
use crate::temporal::{days_in_month, Date, DateTime, Time};
use crate::value::Value;

/// An INTERVAL unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IntervalUnit {
    Microsecond,
    Second,
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Quarter,
    Year,
    SecondMicrosecond,
    MinuteMicrosecond,
    MinuteSecond,
    HourMicrosecond,
    HourSecond,
    HourMinute,
    DayMicrosecond,
    DaySecond,
    DayMinute,
    DayHour,
    YearMonth,
}

const US_PER_SEC: i64 = 1_000_000;
const US_PER_MIN: i64 = 60 * US_PER_SEC;
const US_PER_HOUR: i64 = 60 * US_PER_MIN;
const US_PER_DAY: i64 = 24 * US_PER_HOUR;

impl IntervalUnit {
    /// Parse a unit name as SQL spells it (`DAY`, `day_second`; TIMESTAMPADD's
    /// `SQL_TSI_DAY` forms too).
    pub fn parse(name: &str) -> Option<IntervalUnit> {
        use IntervalUnit::*;
        let n = name.trim().to_ascii_uppercase();
        let n = n.strip_prefix("SQL_TSI_").unwrap_or(&n);
        Some(match n {
            "MICROSECOND" | "FRAC_SECOND" => Microsecond,
            "SECOND" => Second,
            "MINUTE" => Minute,
            "HOUR" => Hour,
            "DAY" => Day,
            "WEEK" => Week,
            "MONTH" => Month,
            "QUARTER" => Quarter,
            "YEAR" => Year,
            "SECOND_MICROSECOND" => SecondMicrosecond,
            "MINUTE_MICROSECOND" => MinuteMicrosecond,
            "MINUTE_SECOND" => MinuteSecond,
            "HOUR_MICROSECOND" => HourMicrosecond,
            "HOUR_SECOND" => HourSecond,
            "HOUR_MINUTE" => HourMinute,
            "DAY_MICROSECOND" => DayMicrosecond,
            "DAY_SECOND" => DaySecond,
            "DAY_MINUTE" => DayMinute,
            "DAY_HOUR" => DayHour,
            "YEAR_MONTH" => YearMonth,
            _ => return None,
        })
    }

    /// Whether adding this unit to a DATE keeps a DATE (no time-of-day part).
    pub fn is_date_only(self) -> bool {
        use IntervalUnit::*;
        matches!(self, Day | Week | Month | Quarter | Year | YearMonth)
    }

    fn is_month_based(self) -> bool {
        use IntervalUnit::*;
        matches!(self, Month | Quarter | Year | YearMonth)
    }

    /// The unit's fields, most significant first: months (YEAR_MONTH) or micros each.
    fn fields(self) -> &'static [i64] {
        use IntervalUnit::*;
        match self {
            SecondMicrosecond => &[US_PER_SEC, 1],
            MinuteMicrosecond => &[US_PER_MIN, US_PER_SEC, 1],
            MinuteSecond => &[US_PER_MIN, US_PER_SEC],
            HourMicrosecond => &[US_PER_HOUR, US_PER_MIN, US_PER_SEC, 1],
            HourSecond => &[US_PER_HOUR, US_PER_MIN, US_PER_SEC],
            HourMinute => &[US_PER_HOUR, US_PER_MIN],
            DayMicrosecond => &[US_PER_DAY, US_PER_HOUR, US_PER_MIN, US_PER_SEC, 1],
            DaySecond => &[US_PER_DAY, US_PER_HOUR, US_PER_MIN, US_PER_SEC],
            DayMinute => &[US_PER_DAY, US_PER_HOUR, US_PER_MIN],
            DayHour => &[US_PER_DAY, US_PER_HOUR],
            YearMonth => &[12, 1],
            _ => &[],
        }
    }

    /// Microseconds (or months, for month-based units) in one unit of a simple unit.
    fn size(self) -> i64 {
        use IntervalUnit::*;
        match self {
            Microsecond => 1,
            Second => US_PER_SEC,
            Minute => US_PER_MIN,
            Hour => US_PER_HOUR,
            Day => US_PER_DAY,
            Week => 7 * US_PER_DAY,
            Month => 1,
            Quarter => 3,
            Year => 12,
            _ => 0,
        }
    }
}

/// A signed interval: calendar months plus an exact duration.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Interval {
    pub months: i64,
    pub micros: i64,
}

/// Read an interval value in `unit`. None for NULL or an unreadable value (warned).
pub(crate) fn interval_of(v: &Value, unit: IntervalUnit, ctx: &mut FnContext) -> Option<Interval> {
    if v.is_null() {
        return None;
    }
    let fields = unit.fields();
    if fields.is_empty() {
        if unit == IntervalUnit::Second {
            // SECOND takes a fraction: INTERVAL 1.5 SECOND is 1.5 seconds.
            let d = to_num(v, ctx)?.to_decimal();
            let us = d.checked_mul(Decimal::from(US_PER_SEC))?.round().to_i64()?;
            return Some(Interval {
                months: 0,
                micros: us,
            });
        }
        let n = match to_num(v, ctx)? {
            Num::I(i) => i,
            _ => to_int(v, ctx)?,
        };
        return Some(if unit.is_month_based() {
            Interval {
                months: n.checked_mul(unit.size())?,
                micros: 0,
            }
        } else {
            Interval {
                months: 0,
                micros: n.checked_mul(unit.size())?,
            }
        });
    }
    let text = txt(v)?.s.into_owned();
    let t = text.trim_start();
    let negative = t.starts_with('-');
    // Digit groups, with the length of the last one (for the microsecond fraction).
    let mut groups: Vec<(i64, usize)> = Vec::new();
    let mut cur: Option<(i64, usize)> = None;
    for c in t.chars() {
        if let Some(d) = c.to_digit(10) {
            let (n, len) = cur.unwrap_or((0, 0));
            cur = Some((n.saturating_mul(10).saturating_add(d as i64), len + 1));
        } else if let Some(g) = cur.take() {
            groups.push(g);
        }
    }
    groups.extend(cur);
    if groups.is_empty() || groups.len() > fields.len() {
        ctx.warn(
            code::ER_TRUNCATED_WRONG_VALUE,
            format!("Truncated incorrect INTERVAL value: {}", lit(v)),
        );
        if groups.is_empty() {
            return None;
        }
        groups.truncate(fields.len());
    }
    let micro_last =
        *fields.last().expect("compound units have fields") == 1 && unit != IntervalUnit::YearMonth;
    let offset = fields.len() - groups.len();
    let mut total: i64 = 0;
    for (i, (n, len)) in groups.iter().enumerate() {
        let mut n = *n;
        let fi = offset + i;
        if micro_last && fi == fields.len() - 1 && *len < 6 {
            n *= 10i64.pow(6 - *len as u32);
        }
        total = total.checked_add(n.checked_mul(fields[fi])?)?;
    }
    let total = if negative { -total } else { total };
    Some(if unit == IntervalUnit::YearMonth {
        Interval {
            months: total,
            micros: 0,
        }
    } else {
        Interval {
            months: 0,
            micros: total,
        }
    })
}

fn overflow(ctx: &mut FnContext) -> Value {
    ctx.warn(1441, "Datetime function: datetime field overflow");
    Value::Null
}

/// Add `iv` to a datetime; None when the result leaves 0000..9999.
pub(crate) fn add_to_datetime(dt: DateTime, iv: Interval) -> Option<DateTime> {
    if !dt.date.is_valid() {
        return None;
    }
    let mut dt = dt;
    if iv.months != 0 {
        let m = dt.date.year as i64 * 12 + dt.date.month as i64 - 1 + iv.months;
        if !(0..=9999 * 12 + 11).contains(&m) {
            return None;
        }
        let (y, mo) = (m / 12, (m % 12 + 1) as u8);
        dt.date = Date {
            year: y as u16,
            month: mo,
            day: dt.date.day.min(days_in_month(y, mo)),
        };
    }
    if iv.micros != 0 {
        let t = dt.total_micros().checked_add(iv.micros)?;
        // The representable range is 0000-01-01 00:00:00 .. 9999-12-31 23:59:59.999999.
        let min = DateTime::from_date(Date {
            year: 0,
            month: 1,
            day: 1,
        })
        .total_micros();
        let max = DateTime {
            date: Date {
                year: 9999,
                month: 12,
                day: 31,
            },
            hour: 23,
            minute: 59,
            second: 59,
            micro: 999_999,
        }
        .total_micros();
        if !(min..=max).contains(&t) {
            return None;
        }
        dt = DateTime::from_total_micros(t);
    }
    Some(dt)
}

/// Whether a string holds a date only (no time of day), for choosing DATE vs DATETIME.
fn is_date_string(v: &Value) -> bool {
    match txt(v) {
        Some(t) => {
            let s = t.s.trim();
            !s.contains(':') && (s.len() < 12 || !s.bytes().all(|b| b.is_ascii_digit()))
        }
        None => false,
    }
}

/// `v + INTERVAL interval unit` (or minus, when `negate`): MySQL's DATE_ADD/DATE_SUB.
/// A DATE (or a date-only string or number) plus a date-only unit stays a DATE; a TIME
/// plus a time unit stays a TIME; everything else is a DATETIME. Out-of-range results
/// are NULL with warning 1441; an unreadable date is NULL with warning 1292.
pub fn date_add(
    v: &Value,
    interval: &Value,
    unit: IntervalUnit,
    negate: bool,
    ctx: &mut FnContext,
) -> Result<Value> {
    if v.is_null() || interval.is_null() {
        return Ok(Value::Null);
    }
    let Some(mut iv) = interval_of(interval, unit, ctx) else {
        return Ok(Value::Null);
    };
    if negate {
        iv.months = -iv.months;
        iv.micros = -iv.micros;
    }
    if let Value::Time(t) = v {
        if !unit.is_month_based() {
            let us = t.total_micros().saturating_add(iv.micros);
            if us.abs() > TIME_MAX_MICROS {
                ctx.warn(
                    code::ER_TRUNCATED_WRONG_VALUE,
                    format!(
                        "Truncated incorrect time value: '{}'",
                        Time::from_micros(us)
                    ),
                );
            }
            return Ok(Value::Time(clamp_time(Time::from_micros(us))));
        }
    }
    let date_like = match v {
        Value::Date(_) => true,
        Value::Str(_) | Value::Bytes(_) => is_date_string(v),
        Value::Int(n) => n.unsigned_abs() < 100_000_000,
        Value::UInt(n) => *n < 100_000_000,
        _ => false,
    };
    let Some(dt) = to_datetime(v, ctx) else {
        return Ok(Value::Null);
    };
    if dt.date.is_zero() || dt.date.month == 0 || dt.date.day == 0 {
        ctx.warn(
            code::ER_TRUNCATED_WRONG_VALUE,
            format!("Incorrect datetime value: {}", lit(v)),
        );
        return Ok(Value::Null);
    }
    let Some(r) = add_to_datetime(dt, iv) else {
        return Ok(overflow(ctx));
    };
    Ok(if date_like && unit.is_date_only() {
        Value::Date(r.date)
    } else {
        Value::DateTime(r)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use IntervalUnit::*;

    fn add(v: &str, iv: impl Into<Value>, unit: IntervalUnit) -> String {
        let mut ctx = FnContext::default();
        date_add(&v.into(), &iv.into(), unit, false, &mut ctx)
            .expect("date_add")
            .to_string()
    }

    fn sub(v: &str, iv: impl Into<Value>, unit: IntervalUnit) -> String {
        let mut ctx = FnContext::default();
        date_add(&v.into(), &iv.into(), unit, true, &mut ctx)
            .expect("date_sub")
            .to_string()
    }

    #[test]
    fn manual_examples() {
        assert_eq!(add("2018-05-01", 1, Day), "2018-05-02");
        assert_eq!(sub("2018-05-01", 1, Year), "2017-05-01");
        assert_eq!(add("2020-12-31 23:59:59", 1, Second), "2021-01-01 00:00:00");
        assert_eq!(add("2018-12-31 23:59:59", 1, Day), "2019-01-01 23:59:59");
        assert_eq!(
            add("2100-12-31 23:59:59", "1:1", MinuteSecond),
            "2101-01-01 00:01:00"
        );
        assert_eq!(
            sub("2025-01-01 00:00:00", "1 1:1:1", DaySecond),
            "2024-12-30 22:58:59"
        );
        assert_eq!(
            add("1900-01-01 00:00:00", "-1 10", DayHour),
            "1899-12-30 14:00:00"
        );
        assert_eq!(sub("1998-01-02", 31, Day), "1997-12-02");
        assert_eq!(
            add("1992-12-31 23:59:59.000002", "1.999999", SecondMicrosecond),
            "1993-01-01 00:00:01.000001"
        );
        assert_eq!(add("2024-01-31", 1, Month), "2024-02-29");
        assert_eq!(add("2024-01-31", "1-1", YearMonth), "2025-02-28");
        assert_eq!(add("2024-01-01", 1, Hour), "2024-01-01 01:00:00");
        assert_eq!(add("2024-01-01", 2, Week), "2024-01-15");
        assert_eq!(add("2024-01-01", 1, Quarter), "2024-04-01");
        assert_eq!(
            add("2024-01-01 00:00:00", 1.5, Second),
            "2024-01-01 00:00:01.500000"
        );
        assert_eq!(add("9999-12-31", 1, Day), "NULL");
        assert_eq!(sub("0000-01-01", 1, Day), "NULL");
        assert_eq!(sub("0001-01-01", 1, Day), "0000-12-31");
        assert_eq!(add("not a date", 1, Day), "NULL");
    }

    #[test]
    fn typed_values() {
        let mut ctx = FnContext::default();
        let d = Value::Date(Date::new(2024, 2, 28).expect("valid"));
        assert_eq!(
            date_add(&d, &Value::Int(1), Day, false, &mut ctx),
            Ok(Value::Date(Date::new(2024, 2, 29).expect("valid")))
        );
        let t = Value::Time(Time::from_micros(10 * US_PER_HOUR));
        assert_eq!(
            date_add(&t, &Value::Int(90), Minute, false, &mut ctx).map(|v| v.to_string()),
            Ok("11:30:00".to_string())
        );
        assert_eq!(IntervalUnit::parse("sql_tsi_day"), Some(Day));
        assert_eq!(IntervalUnit::parse("day_second"), Some(DaySecond));
        assert_eq!(IntervalUnit::parse("fortnight"), None);
    }
}
