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
}
