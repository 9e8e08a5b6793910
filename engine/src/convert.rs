//! Conversions between strings and typed values: parsing dates, times and numbers out of
//! text the way MySQL does (CAST, column assignment, comparisons with temporal values).

use crate::temporal::{Date, DateTime, Time};

/// Parse 'YYYY-MM-DD', 'YYYY-MM-DD hh:mm:ss[.ffffff]' (also with 'T'), or the compact
/// 'YYYYMMDD[hhmmss]' form. Returns None when `s` is not a datetime.
pub fn parse_datetime(s: &str) -> Option<DateTime> {
    let s = s.trim();
    let (date_part, time_part) = match s.find([' ', 'T']) {
        Some(i) => (&s[..i], Some(s[i + 1..].trim())),
        None => (s, None),
    };
    let date = if date_part.contains('-') || date_part.contains('/') {
        let mut it = date_part.split(['-', '/']);
        let y: u16 = it.next()?.parse().ok()?;
        let m: u8 = it.next()?.parse().ok()?;
        let d: u8 = it.next()?.parse().ok()?;
        if it.next().is_some() {
            return None;
        }
        let y = if date_part.split(['-', '/']).next()?.len() <= 2 {
            if y < 70 {
                2000 + y
            } else {
                1900 + y
            }
        } else {
            y
        };
        Date {
            year: y,
            month: m,
            day: d,
        }
    } else if date_part.len() == 8 || date_part.len() == 14 {
        if !date_part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let y: u16 = date_part[0..4].parse().ok()?;
        let m: u8 = date_part[4..6].parse().ok()?;
        let d: u8 = date_part[6..8].parse().ok()?;
        let date = Date {
            year: y,
            month: m,
            day: d,
        };
        if date_part.len() == 14 && time_part.is_none() {
            let hh: u8 = date_part[8..10].parse().ok()?;
            let mi: u8 = date_part[10..12].parse().ok()?;
            let ss: u8 = date_part[12..14].parse().ok()?;
            if hh > 23 || mi > 59 || ss > 59 || !(date.is_valid() || date.is_zero()) {
                return None;
            }
            return Some(DateTime {
                date,
                hour: hh,
                minute: mi,
                second: ss,
                micro: 0,
            });
        }
        date
    } else {
        return None;
    };
    if !(date.is_valid() || date.is_zero()) {
        return None;
    }
    let mut dt = DateTime::from_date(date);
    if let Some(t) = time_part {
        if !t.is_empty() {
            let (hms, frac) = match t.find('.') {
                Some(i) => (&t[..i], Some(&t[i + 1..])),
                None => (t, None),
            };
            let mut it = hms.split(':');
            dt.hour = it.next()?.parse().ok()?;
            dt.minute = it.next().unwrap_or("0").parse().ok()?;
            dt.second = it.next().unwrap_or("0").parse().ok()?;
            if it.next().is_some() || dt.hour > 23 || dt.minute > 59 || dt.second > 59 {
                return None;
            }
            if let Some(f) = frac {
                dt.micro = parse_micros(f)?;
            }
        }
    }
    Some(dt)
}

/// Parse a date (a datetime string is accepted and its time dropped).
pub fn parse_date(s: &str) -> Option<Date> {
    parse_datetime(s).map(|dt| dt.date)
}

/// Parse '[-]hh:mm[:ss[.ffffff]]', '[-]D hh:mm:ss', or the compact '[-]hhmmss' form.
pub fn parse_time(s: &str) -> Option<Time> {
    let s = s.trim();
    let (negative, s) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let (days, s) = match s.find(' ') {
        Some(i) => (s[..i].parse::<u32>().ok()?, s[i + 1..].trim()),
        None => (0, s),
    };
    let (hms, frac) = match s.find('.') {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let (hour, minute, second) = if hms.contains(':') {
        let mut it = hms.split(':');
        let h: u32 = it.next()?.parse().ok()?;
        let m: u8 = it.next()?.parse().ok()?;
        let sec: u8 = it.next().unwrap_or("0").parse().ok()?;
        if it.next().is_some() {
            return None;
        }
        (h, m, sec)
    } else {
        if hms.is_empty() || !hms.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let n: u64 = hms.parse().ok()?;
        ((n / 10000) as u32, ((n / 100) % 100) as u8, (n % 100) as u8)
    };
    if minute > 59 || second > 59 {
        return None;
    }
    let micro = match frac {
        Some(f) => parse_micros(f)?,
        None => 0,
    };
    Some(Time {
        negative,
        hour: hour + days * 24,
        minute,
        second,
        micro,
    })
}

fn parse_micros(f: &str) -> Option<u32> {
    if f.is_empty() {
        return Some(0);
    }
    if !f.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut digits: String = f.chars().take(6).collect();
    while digits.len() < 6 {
        digits.push('0');
    }
    digits.parse().ok()
}

/// Parse a datetime the way MySQL's string-to-datetime conversion does: first the strict
/// forms of [`parse_datetime`], then any punctuation as a delimiter ('2012^12^31 11*30*45'),
/// two-digit years (70..99 are 19xx, 00..69 are 20xx) and the all-digit forms YYMMDD,
/// YYYYMMDD, YYMMDDhhmmss and YYYYMMDDhhmmss with an optional '.fraction'.
pub fn parse_datetime_loose(s: &str) -> Option<DateTime> {
    parse_datetime_with(s, false)
}

/// Like [`parse_datetime_loose`], but also accepting a zero month or day
/// ('2024-00-15', '2024-02-00'), as MySQL's date and time functions read their arguments
/// (DAYOFMONTH('2024-02-00') is 0). Storing and CAST use the strict forms.
pub fn parse_datetime_fuzzy(s: &str) -> Option<DateTime> {
    parse_datetime_with(s, true)
}

/// A date acceptable to the fuzzy parser: a real date, or in-range fields with a zero
/// month or day.
fn fuzzy_date_ok(d: &Date) -> bool {
    d.is_valid()
        || d.is_zero()
        || (d.month <= 12
            && d.day <= 31
            && (d.month == 0
                || d.day == 0
                || d.day <= crate::temporal::days_in_month(d.year as i64, d.month)))
}

fn parse_datetime_with(s: &str, fuzzy: bool) -> Option<DateTime> {
    if let Some(dt) = parse_datetime(s) {
        return Some(dt);
    }
    let s = s.trim();
    let (int_part, frac) = match s.split_once('.') {
        Some((a, b)) => (a, Some(b)),
        None => (s, None),
    };
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if !int_part.is_empty() && digits(int_part) && frac.is_none_or(digits) {
        let mut dt = match int_part.len() {
            6 | 8 | 12 | 14 => number_to_datetime(int_part.parse().ok()?)?,
            _ => return None,
        };
        if let Some(f) = frac {
            dt.micro = parse_micros(f)?;
        }
        return Some(dt);
    }
    // Digit groups separated by any non-digit; the fraction is the group after the
    // seconds when a '.' precedes it.
    let mut groups: Vec<(&str, char)> = Vec::new();
    let bytes = s.as_bytes();
    let mut i = 0;
    let mut sep = ' ';
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            groups.push((&s[start..i], sep));
        } else {
            sep = bytes[i] as char;
            if !sep.is_ascii() {
                return None;
            }
            i += 1;
        }
    }
    if groups.len() < 3 || groups.len() > 7 {
        return None;
    }
    let ylen = groups[0].0.len();
    let mut year: u32 = groups[0].0.parse().ok()?;
    if ylen <= 2 {
        year += if year < 70 { 2000 } else { 1900 };
    } else if ylen != 4 {
        return None;
    }
    let num = |k: usize| -> Option<u32> {
        match groups.get(k) {
            Some((g, _)) if g.len() <= 2 => g.parse().ok(),
            Some(_) => None,
            None => Some(0),
        }
    };
    let date = Date {
        year: u16::try_from(year).ok()?,
        month: num(1)? as u8,
        day: num(2)? as u8,
    };
    let date_ok = if fuzzy {
        fuzzy_date_ok(&date)
    } else {
        date.is_valid() || date.is_zero()
    };
    if !date_ok {
        return None;
    }
    let (hour, minute) = (num(3)?, num(4)?);
    let (second, micro) = match groups.get(5) {
        Some((g, '.')) => (0, parse_micros(g)?),
        _ => (num(5)?, 0),
    };
    let micro = match groups.get(6) {
        Some((g, '.')) => parse_micros(g)?,
        Some(_) => return None,
        None => micro,
    };
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    Some(DateTime {
        date,
        hour: hour as u8,
        minute: minute as u8,
        second: second as u8,
        micro,
    })
}

/// MySQL's number-to-datetime rules: 0 is the zero datetime; YYMMDD, YYYYMMDD,
/// YYMMDDhhmmss and YYYYMMDDhhmmss, two-digit years 00..69 meaning 20xx.
pub fn number_to_datetime(n: i64) -> Option<DateTime> {
    if n == 0 {
        return Some(DateTime::default());
    }
    let full = if (101..=691_231).contains(&n) {
        (n + 20_000_000) * 1_000_000
    } else if (700_101..=991_231).contains(&n) {
        (n + 19_000_000) * 1_000_000
    } else if (10_000_101..=99_991_231).contains(&n) {
        n * 1_000_000
    } else if (101_000_000..=691_231_235_959).contains(&n) {
        n + 20_000_000_000_000
    } else if (700_101_000_000..=991_231_235_959).contains(&n) {
        n + 19_000_000_000_000
    } else if (1_000_101_000_000..=99_991_231_235_959).contains(&n) {
        n
    } else {
        return None;
    };
    let date = Date {
        year: (full / 10_000_000_000) as u16,
        month: ((full / 100_000_000) % 100) as u8,
        day: ((full / 1_000_000) % 100) as u8,
    };
    let (hour, minute, second) = (
        ((full / 10000) % 100) as u8,
        ((full / 100) % 100) as u8,
        (full % 100) as u8,
    );
    if !(date.is_valid() || date.is_zero()) || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    Some(DateTime {
        date,
        hour,
        minute,
        second,
        micro: 0,
    })
}

/// MySQL's number-to-time rule: [-]hhmmss (minutes and seconds below 60); a number
/// large enough to be a datetime yields that datetime's time of day.
pub fn number_to_time(n: i64) -> Option<Time> {
    if n.unsigned_abs() >= 10_000_000_000 {
        let dt = number_to_datetime(n)?;
        return Some(Time {
            negative: false,
            hour: dt.hour as u32,
            minute: dt.minute,
            second: dt.second,
            micro: 0,
        });
    }
    let a = n.unsigned_abs();
    let (hour, minute, second) = (a / 10000, (a / 100) % 100, a % 100);
    if minute > 59 || second > 59 {
        return None;
    }
    Some(Time {
        negative: n < 0,
        hour: hour as u32,
        minute: minute as u8,
        second: second as u8,
        micro: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_forms() {
        assert_eq!(
            parse_datetime("2024-02-29 13:01:02.5").map(|d| d.to_string()),
            Some("2024-02-29 13:01:02.500000".into())
        );
        assert_eq!(parse_datetime("2023-02-29"), None);
        assert_eq!(
            parse_date("20240131").map(|d| d.to_string()),
            Some("2024-01-31".into())
        );
        assert_eq!(
            parse_time("-12:30").map(|t| t.to_string()),
            Some("-12:30:00".into())
        );
        assert_eq!(parse_time("1 01:00:00").map(|t| t.hour), Some(25));
    }

    #[test]
    fn parses_loose_forms() {
        let f = |s: &str| parse_datetime_loose(s).map(|d| d.to_string());
        assert_eq!(f("2012^12^31 11*30*45"), Some("2012-12-31 11:30:45".into()));
        assert_eq!(f("120506"), Some("2012-05-06 00:00:00".into()));
        assert_eq!(f("19830905132800"), Some("1983-09-05 13:28:00".into()));
        assert_eq!(
            f("98.12.31 11:30:45.25"),
            Some("1998-12-31 11:30:45.250000".into())
        );
        assert_eq!(f("2024-13-01"), None);
        assert_eq!(f("2024-00-15"), None);
        let z = |s: &str| parse_datetime_fuzzy(s).map(|d| d.to_string());
        assert_eq!(z("2024-00-15"), Some("2024-00-15 00:00:00".into()));
        assert_eq!(z("2024-02-00 10:00:00"), Some("2024-02-00 10:00:00".into()));
        assert_eq!(z("2024-02-30"), None);
        assert_eq!(z("2024-13-01"), None);
        assert_eq!(
            number_to_datetime(20240229).map(|d| d.to_string()),
            Some("2024-02-29 00:00:00".into())
        );
        assert_eq!(number_to_datetime(20230229), None);
        assert_eq!(
            number_to_time(-123456).map(|t| t.to_string()),
            Some("-12:34:56".into())
        );
    }
}
