//! MySQL temporal values: DATE, DATETIME/TIMESTAMP (microsecond precision) and TIME.
//!
//! Own types rather than a calendar crate because MySQL allows values a calendar crate
//! rejects: the zero date `0000-00-00`, and TIME spanning -838:59:59..838:59:59.

use std::fmt;

/// A calendar date; `year == 0 && month == 0 && day == 0` is MySQL's zero date.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Date {
    pub year: u16,
    pub month: u8,
    pub day: u8,
}

/// A date and a time of day with microseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct DateTime {
    pub date: Date,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    pub micro: u32,
}

/// A signed duration as MySQL's TIME type holds it (hours may exceed 23).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Time {
    pub negative: bool,
    pub hour: u32,
    pub minute: u8,
    pub second: u8,
    pub micro: u32,
}

impl Time {
    /// Signed total microseconds.
    pub fn total_micros(&self) -> i64 {
        let t = ((self.hour as i64 * 60 + self.minute as i64) * 60 + self.second as i64)
            * 1_000_000
            + self.micro as i64;
        if self.negative {
            -t
        } else {
            t
        }
    }

    pub fn from_micros(us: i64) -> Time {
        let negative = us < 0;
        let a = us.unsigned_abs();
        Time {
            negative,
            hour: (a / 3_600_000_000) as u32,
            minute: ((a / 60_000_000) % 60) as u8,
            second: ((a / 1_000_000) % 60) as u8,
            micro: (a % 1_000_000) as u32,
        }
    }
}

impl PartialOrd for Time {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Time {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.total_micros().cmp(&other.total_micros())
    }
}

pub fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

pub fn days_in_month(year: i64, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 => {
            if is_leap(year) {
                29
            } else {
                28
            }
        }
        _ => 0,
    }
}

impl Date {
    pub fn new(year: u16, month: u8, day: u8) -> Option<Date> {
        let d = Date { year, month, day };
        if d.is_valid() {
            Some(d)
        } else {
            None
        }
    }

    pub fn is_zero(&self) -> bool {
        self.year == 0 && self.month == 0 && self.day == 0
    }

    /// A real calendar date in 0000..9999 (the zero date is not valid).
    pub fn is_valid(&self) -> bool {
        self.year <= 9999
            && (1..=12).contains(&self.month)
            && self.day >= 1
            && self.day <= days_in_month(self.year as i64, self.month)
    }

    /// Day number as MySQL's TO_DAYS counts it (1970-01-01 is 719528).
    pub fn to_day_number(&self) -> i64 {
        // Algorithm from Howard Hinnant's days_from_civil, shifted to year 0.
        let y = self.year as i64 - if self.month <= 2 { 1 } else { 0 };
        let era = if y >= 0 { y } else { y - 399 } / 400;
        let yoe = y - era * 400;
        let m = self.month as i64;
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + self.day as i64 - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146097 + doe - 719468 + 719528
    }

    /// Inverse of [`Date::to_day_number`].
    pub fn from_day_number(n: i64) -> Date {
        let z = n - 719528 + 719468;
        let era = if z >= 0 { z } else { z - 146096 } / 146097;
        let doe = z - era * 146097;
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        let y = yoe + era * 400;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        let y = if m <= 2 { y + 1 } else { y };
        Date {
            year: y.clamp(0, 9999) as u16,
            month: m as u8,
            day: d as u8,
        }
    }

    /// 0 = Monday .. 6 = Sunday.
    pub fn weekday(&self) -> u8 {
        // 0000-01-01 (day number 0 in our scheme... MySQL TO_DAYS('0000-01-01') = 1) was a Saturday
        // in the proleptic calendar; 1970-01-01 (a Thursday) anchors the arithmetic.
        let n = self.to_day_number()
            - Date {
                year: 1970,
                month: 1,
                day: 1,
            }
            .to_day_number();
        ((n % 7 + 7 + 3) % 7) as u8
    }
}

impl DateTime {
    pub fn from_date(date: Date) -> DateTime {
        DateTime {
            date,
            ..Default::default()
        }
    }

    /// Seconds since the Unix epoch (UTC), ignoring microseconds.
    pub fn unix_seconds(&self) -> i64 {
        let days = self.date.to_day_number()
            - Date {
                year: 1970,
                month: 1,
                day: 1,
            }
            .to_day_number();
        days * 86400 + self.hour as i64 * 3600 + self.minute as i64 * 60 + self.second as i64
    }

    pub fn from_unix_micros(us: i64) -> DateTime {
        let secs = us.div_euclid(1_000_000);
        let micro = us.rem_euclid(1_000_000) as u32;
        let days = secs.div_euclid(86400);
        let rem = secs.rem_euclid(86400);
        let date = Date::from_day_number(
            days + Date {
                year: 1970,
                month: 1,
                day: 1,
            }
            .to_day_number(),
        );
        DateTime {
            date,
            hour: (rem / 3600) as u8,
            minute: ((rem / 60) % 60) as u8,
            second: (rem % 60) as u8,
            micro,
        }
    }

    /// The current UTC time.
    pub fn now_utc() -> DateTime {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        DateTime::from_unix_micros(d.as_micros() as i64)
    }

    /// Microseconds since 0000-01-01 00:00:00 (for arithmetic and comparison).
    pub fn total_micros(&self) -> i64 {
        ((self.date.to_day_number() * 86400
            + self.hour as i64 * 3600
            + self.minute as i64 * 60
            + self.second as i64)
            * 1_000_000)
            + self.micro as i64
    }

    pub fn from_total_micros(us: i64) -> DateTime {
        let secs = us.div_euclid(1_000_000);
        let micro = us.rem_euclid(1_000_000) as u32;
        let days = secs.div_euclid(86400);
        let rem = secs.rem_euclid(86400);
        DateTime {
            date: Date::from_day_number(days),
            hour: (rem / 3600) as u8,
            minute: ((rem / 60) % 60) as u8,
            second: (rem % 60) as u8,
            micro,
        }
    }
}

/// `.ffffff` cut to `fsp` digits (nothing for fsp 0), as MySQL prints a value of a
/// DATETIME(fsp)/TIME(fsp) column: the digits are printed even when they are zero.
fn write_fraction(out: &mut String, micro: u32, fsp: u8) {
    let fsp = fsp.min(6) as usize;
    if fsp > 0 {
        let digits = format!("{micro:06}");
        out.push('.');
        out.push_str(&digits[..fsp]);
    }
}

impl DateTime {
    /// The text of this value in a DATETIME(fsp)/TIMESTAMP(fsp) column: exactly `fsp`
    /// fractional digits (the value is expected to be rounded to `fsp` already).
    pub fn format_fsp(&self, fsp: u8) -> String {
        let mut s = format!(
            "{} {:02}:{:02}:{:02}",
            self.date, self.hour, self.minute, self.second
        );
        write_fraction(&mut s, self.micro, fsp);
        s
    }
}

impl Time {
    /// The text of this value in a TIME(fsp) column: exactly `fsp` fractional digits.
    pub fn format_fsp(&self, fsp: u8) -> String {
        let mut s = format!(
            "{}{:02}:{:02}:{:02}",
            if self.negative { "-" } else { "" },
            self.hour,
            self.minute,
            self.second
        );
        write_fraction(&mut s, self.micro, fsp);
        s
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {:02}:{:02}:{:02}",
            self.date, self.hour, self.minute, self.second
        )?;
        if self.micro != 0 {
            write!(f, ".{:06}", self.micro)?;
        }
        Ok(())
    }
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.negative {
            f.write_str("-")?;
        }
        write!(f, "{:02}:{:02}:{:02}", self.hour, self.minute, self.second)?;
        if self.micro != 0 {
            write!(f, ".{:06}", self.micro)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_numbers_roundtrip() {
        for n in [0i64, 1, 59, 60, 366, 719528, 738000, 2_000_000, 3_652_424] {
            let d = Date::from_day_number(n);
            assert_eq!(d.to_day_number(), n, "{d}");
        }
        let epoch = Date::new(1970, 1, 1).unwrap();
        assert_eq!(epoch.to_day_number(), 719528);
        assert_eq!(epoch.weekday(), 3);
    }

    #[test]
    fn fixed_fraction_digits() {
        let dt = DateTime {
            date: Date::new(2024, 3, 1).expect("valid"),
            hour: 10,
            minute: 0,
            second: 0,
            micro: 130_000,
        };
        assert_eq!(dt.format_fsp(2), "2024-03-01 10:00:00.13");
        assert_eq!(dt.format_fsp(0), "2024-03-01 10:00:00");
        assert_eq!(
            DateTime::from_date(dt.date).format_fsp(3),
            "2024-03-01 00:00:00.000"
        );
        let t = Time::from_micros(-(12 * 3600 + 34 * 60 + 56) * 1_000_000 - 800_000);
        assert_eq!(t.format_fsp(1), "-12:34:56.8");
        assert_eq!(t.format_fsp(6), "-12:34:56.800000");
    }
}
