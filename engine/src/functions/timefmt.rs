//! DATE_FORMAT/TIME_FORMAT (formatting) and STR_TO_DATE (parsing) with MySQL's `%`
//! specifiers, plus MySQL's week numbering (WEEK modes, %U %u %V %v %X %x).
//!
//! Week numbering follows MySQL's three behaviour bits: Monday-first, "week of year"
//! (the week may belong to the previous/next year instead of being 0), and "first week
//! is the one containing the first day of the chosen weekday" (else: the first week with
//! 4 or more days in the year).

use crate::temporal::{Date, DateTime, Time};

pub(crate) const MONTH_NAMES: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

pub(crate) const DAY_NAMES: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

pub(crate) const WEEK_MONDAY_FIRST: u32 = 1;
pub(crate) const WEEK_YEAR: u32 = 2;
pub(crate) const WEEK_FIRST_WEEKDAY: u32 = 4;

fn days_in_year(y: i64) -> i64 {
    if crate::temporal::is_leap(y) {
        366
    } else {
        365
    }
}

/// Weekday of a day number: 0 = Monday, or 0 = Sunday when `sunday_first`.
fn weekday_of(daynr: i64, sunday_first: bool) -> i64 {
    (daynr + 5 + sunday_first as i64).rem_euclid(7)
}

fn day_number(y: i64, m: u8, d: u8) -> i64 {
    Date {
        year: y as u16,
        month: m,
        day: d,
    }
    .to_day_number()
}

/// MySQL's week calculation: (week, year the week belongs to).
pub(crate) fn calc_week(d: &Date, behaviour: u32) -> (i64, i64) {
    let mut year = d.year as i64;
    let daynr = d.to_day_number();
    let mut first_daynr = day_number(year, 1, 1);
    let monday_first = behaviour & WEEK_MONDAY_FIRST != 0;
    let mut week_year = behaviour & WEEK_YEAR != 0;
    let first_weekday = behaviour & WEEK_FIRST_WEEKDAY != 0;
    let mut weekday = weekday_of(first_daynr, !monday_first);
    if d.month == 1 && (d.day as i64) <= 7 - weekday {
        if !week_year && ((first_weekday && weekday != 0) || (!first_weekday && weekday >= 4)) {
            return (0, year);
        }
        week_year = true;
        year -= 1;
        let days = days_in_year(year);
        first_daynr -= days;
        weekday = (weekday + 53 * 7 - days) % 7;
    }
    let days = if (first_weekday && weekday != 0) || (!first_weekday && weekday >= 4) {
        daynr - (first_daynr + (7 - weekday))
    } else {
        daynr - (first_daynr - weekday)
    };
    if week_year && days >= 52 * 7 {
        let wd = (weekday + days_in_year(year)) % 7;
        if (!first_weekday && wd < 4) || (first_weekday && wd == 0) {
            return (1, year + 1);
        }
    }
    (days / 7 + 1, year)
}

/// WEEK(date, mode)'s mapping from the mode argument to behaviour bits.
pub(crate) fn week_mode(mode: i64) -> u32 {
    let mut m = (mode & 7) as u32;
    if m & WEEK_MONDAY_FIRST == 0 {
        m ^= WEEK_FIRST_WEEKDAY;
    }
    m
}

fn ordinal_suffix(n: u8) -> &'static str {
    match (n % 100, n % 10) {
        (11..=13, _) => "th",
        (_, 1) => "st",
        (_, 2) => "nd",
        (_, 3) => "rd",
        _ => "th",
    }
}

/// Format a datetime with DATE_FORMAT specifiers. `time` carries a TIME's hours (which
/// may exceed 23) and sign for TIME_FORMAT; date specifiers then print zeros/NULL-ish
/// values as MySQL does for a time.
pub(crate) fn format(dt: &DateTime, fmt: &str, time: Option<&Time>) -> Option<String> {
    let mut out = String::with_capacity(fmt.len() * 2);
    let hour: u32 = time.map_or(dt.hour as u32, |t| t.hour);
    let d = &dt.date;
    let valid_date = d.is_valid();
    let weekday = || -> Option<usize> { valid_date.then(|| d.weekday() as usize) };
    let mut it = fmt.chars();
    if time.is_some_and(|t| t.negative) {
        out.push('-');
    }
    while let Some(c) = it.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let Some(s) = it.next() else {
            break;
        };
        match s {
            'a' => out.push_str(&DAY_NAMES[weekday()?][..3]),
            'b' => {
                if d.month == 0 {
                    return None;
                }
                out.push_str(&MONTH_NAMES[d.month as usize - 1][..3])
            }
            'c' => out.push_str(&d.month.to_string()),
            'D' => {
                out.push_str(&d.day.to_string());
                out.push_str(ordinal_suffix(d.day));
            }
            'd' => out.push_str(&format!("{:02}", d.day)),
            'e' => out.push_str(&d.day.to_string()),
            'f' => out.push_str(&format!("{:06}", dt.micro)),
            'H' => out.push_str(&format!("{hour:02}")),
            'h' | 'I' => out.push_str(&format!("{:02}", (hour + 11) % 12 + 1)),
            'i' => out.push_str(&format!("{:02}", dt.minute)),
            'j' => {
                if !valid_date {
                    return None;
                }
                let doy = d.to_day_number() - day_number(d.year as i64, 1, 1) + 1;
                out.push_str(&format!("{doy:03}"));
            }
            'k' => out.push_str(&hour.to_string()),
            'l' => out.push_str(&((hour + 11) % 12 + 1).to_string()),
            'M' => {
                if d.month == 0 {
                    return None;
                }
                out.push_str(MONTH_NAMES[d.month as usize - 1])
            }
            'm' => out.push_str(&format!("{:02}", d.month)),
            'p' => out.push_str(if hour % 24 < 12 { "AM" } else { "PM" }),
            'r' => out.push_str(&format!(
                "{:02}:{:02}:{:02} {}",
                (hour + 11) % 12 + 1,
                dt.minute,
                dt.second,
                if hour % 24 < 12 { "AM" } else { "PM" }
            )),
            'S' | 's' => out.push_str(&format!("{:02}", dt.second)),
            'T' => out.push_str(&format!("{hour:02}:{:02}:{:02}", dt.minute, dt.second)),
            'U' | 'u' => {
                if !valid_date {
                    return None;
                }
                let b = if s == 'U' {
                    WEEK_FIRST_WEEKDAY
                } else {
                    WEEK_MONDAY_FIRST
                };
                out.push_str(&format!("{:02}", calc_week(d, b).0));
            }
            'V' | 'v' => {
                if !valid_date {
                    return None;
                }
                let b = WEEK_YEAR
                    | if s == 'V' {
                        WEEK_FIRST_WEEKDAY
                    } else {
                        WEEK_MONDAY_FIRST
                    };
                out.push_str(&format!("{:02}", calc_week(d, b).0));
            }
            'X' | 'x' => {
                if !valid_date {
                    return None;
                }
                let b = WEEK_YEAR
                    | if s == 'X' {
                        WEEK_FIRST_WEEKDAY
                    } else {
                        WEEK_MONDAY_FIRST
                    };
                out.push_str(&format!("{:04}", calc_week(d, b).1));
            }
            'W' => out.push_str(DAY_NAMES[weekday()?]),
            'w' => out.push_str(&((weekday()? + 1) % 7).to_string()),
            'Y' => out.push_str(&format!("{:04}", d.year)),
            'y' => out.push_str(&format!("{:02}", d.year % 100)),
            other => out.push(other),
        }
    }
    Some(out)
}

/// What STR_TO_DATE found: which kinds of fields the format had.
pub(crate) struct Parsed {
    pub dt: DateTime,
    pub has_date: bool,
    pub has_time: bool,
    /// Input left over after the format was consumed (MySQL warns but keeps the value).
    pub trailing: bool,
}

fn read_num(s: &[u8], i: &mut usize, max_len: usize) -> Option<(u32, usize)> {
    let start = *i;
    let mut n: u32 = 0;
    while *i < s.len() && *i - start < max_len && s[*i].is_ascii_digit() {
        n = n * 10 + (s[*i] - b'0') as u32;
        *i += 1;
    }
    (*i > start).then_some((n, *i - start))
}

fn read_name(s: &[u8], i: &mut usize, names: &[&str]) -> Option<usize> {
    let rest = &s[*i..];
    // Longest match first so "May" is not cut from "Mayday"; full names before 3-letter.
    for (k, n) in names.iter().enumerate() {
        let nb = n.as_bytes();
        if rest.len() >= nb.len() && rest[..nb.len()].eq_ignore_ascii_case(nb) {
            *i += nb.len();
            return Some(k);
        }
    }
    for (k, n) in names.iter().enumerate() {
        let nb = &n.as_bytes()[..3];
        if rest.len() >= 3 && rest[..3].eq_ignore_ascii_case(nb) {
            *i += 3;
            return Some(k);
        }
    }
    None
}

/// Whether a format has date and time specifiers: STR_TO_DATE's result type (DATE,
/// TIME or DATETIME) follows the format, not the input.
pub(crate) fn format_kinds(fmt: &str) -> (bool, bool) {
    let (mut date, mut time) = (false, false);
    let mut it = fmt.chars();
    while let Some(c) = it.next() {
        if c == '%' {
            match it.next() {
                Some(s) if "aDbcdejMmUuVvWwXxYy".contains(s) => date = true,
                Some(s) if "fHhIiklpSsrT".contains(s) => time = true,
                _ => {}
            }
        }
    }
    (date, time)
}

/// Replace the composite specifiers %r and %T by their parts, so the parser only meets
/// single fields ('%%r' stays a literal '%' followed by 'r').
fn expand_composites(fmt: &str) -> String {
    let mut out = String::with_capacity(fmt.len() + 16);
    let mut it = fmt.chars();
    while let Some(c) = it.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match it.next() {
            Some('r') => out.push_str("%I:%i:%S %p"),
            Some('T') => out.push_str("%H:%i:%S"),
            Some(n) => {
                out.push('%');
                out.push(n);
            }
            None => out.push('%'),
        }
    }
    out
}

/// Parse `input` with a STR_TO_DATE format. None when the input does not match.
pub(crate) fn parse(input: &str, fmt: &str) -> Option<Parsed> {
    let s = input.as_bytes();
    let expanded = expand_composites(fmt);
    let f = expanded.as_bytes();
    let (mut i, mut j) = (0usize, 0usize);
    let mut dt = DateTime::default();
    let mut pm: Option<bool> = None;
    let mut hour12 = false;
    let mut yday: Option<u32> = None;
    while j < f.len() {
        // Whitespace in the format skips any whitespace in the input.
        if f[j].is_ascii_whitespace() {
            while i < s.len() && s[i].is_ascii_whitespace() {
                i += 1;
            }
            j += 1;
            continue;
        }
        if i >= s.len() {
            break;
        }
        if f[j] != b'%' || j + 1 >= f.len() {
            if s[i] != f[j] {
                return None;
            }
            i += 1;
            j += 1;
            continue;
        }
        let spec = f[j + 1];
        j += 2;
        // Numeric fields may be preceded by spaces in the input.
        if b"YyCmcdeHkhIliSsfj".contains(&spec) {
            while i < s.len() && s[i] == b' ' {
                i += 1;
            }
        }
        match spec {
            b'Y' => {
                let (n, len) = read_num(s, &mut i, 4)?;
                dt.date.year = if len <= 2 {
                    (if n < 70 { 2000 + n } else { 1900 + n }) as u16
                } else {
                    n as u16
                };
            }
            b'y' => {
                let (n, _) = read_num(s, &mut i, 2)?;
                dt.date.year = (if n < 70 { 2000 + n } else { 1900 + n }) as u16;
            }
            b'm' | b'c' => {
                dt.date.month = read_num(s, &mut i, 2)?.0 as u8;
            }
            b'M' => {
                dt.date.month = read_name(s, &mut i, &MONTH_NAMES)? as u8 + 1;
            }
            b'b' => {
                let rest = &s[i..];
                let k = MONTH_NAMES.iter().position(|n| {
                    rest.len() >= 3 && rest[..3].eq_ignore_ascii_case(&n.as_bytes()[..3])
                })?;
                i += 3;
                dt.date.month = k as u8 + 1;
            }
            b'd' | b'e' => {
                dt.date.day = read_num(s, &mut i, 2)?.0 as u8;
            }
            b'D' => {
                dt.date.day = read_num(s, &mut i, 2)?.0 as u8;
                // Skip the English suffix (st, nd, rd, th).
                i = (i + 2).min(s.len());
            }
            b'j' => {
                yday = Some(read_num(s, &mut i, 3)?.0);
            }
            b'H' | b'k' => {
                dt.hour = read_num(s, &mut i, 2)?.0 as u8;
            }
            b'h' | b'I' | b'l' => {
                dt.hour = read_num(s, &mut i, 2)?.0 as u8;
                hour12 = true;
            }
            b'i' => {
                dt.minute = read_num(s, &mut i, 2)?.0 as u8;
            }
            b'S' | b's' => {
                dt.second = read_num(s, &mut i, 2)?.0 as u8;
            }
            b'f' => {
                let (n, len) = read_num(s, &mut i, 6)?;
                dt.micro = n * 10u32.pow(6 - len as u32);
            }
            b'p' => {
                let rest = &s[i..];
                if rest.len() >= 2 && rest[..2].eq_ignore_ascii_case(b"AM") {
                    pm = Some(false);
                } else if rest.len() >= 2 && rest[..2].eq_ignore_ascii_case(b"PM") {
                    pm = Some(true);
                } else {
                    return None;
                }
                i += 2;
            }
            b'W' => {
                read_name(s, &mut i, &DAY_NAMES)?;
            }
            b'a' => {
                let rest = &s[i..];
                DAY_NAMES.iter().position(|n| {
                    rest.len() >= 3 && rest[..3].eq_ignore_ascii_case(&n.as_bytes()[..3])
                })?;
                i += 3;
            }
            b'%' => {
                if s[i] != b'%' {
                    return None;
                }
                i += 1;
            }
            other => {
                if s[i] != other {
                    return None;
                }
                i += 1;
            }
        }
    }
    if hour12 {
        if dt.hour > 12 || dt.hour == 0 {
            return None;
        }
        dt.hour %= 12;
        if pm == Some(true) {
            dt.hour += 12;
        }
    } else if pm == Some(true) && dt.hour < 12 {
        dt.hour += 12;
    }
    if let Some(n) = yday {
        if n == 0 || n as i64 > days_in_year(dt.date.year as i64) {
            return None;
        }
        dt.date = Date::from_day_number(day_number(dt.date.year as i64, 1, 1) + n as i64 - 1);
    }
    if dt.hour > 23 || dt.minute > 59 || dt.second > 59 {
        return None;
    }
    let trailing = s[i..].iter().any(|b| !b.is_ascii_whitespace());
    let (has_date, has_time) = format_kinds(fmt);
    Some(Parsed {
        dt,
        has_date,
        has_time,
        trailing,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(s: &str) -> DateTime {
        crate::convert::parse_datetime_loose(s).expect("test datetime")
    }

    #[test]
    fn manual_format_examples() {
        let f = |d: &str, fm: &str| format(&dt(d), fm, None).expect("format");
        assert_eq!(f("2009-10-04 22:23:00", "%W %M %Y"), "Sunday October 2009");
        assert_eq!(f("2007-10-04 22:23:00", "%H:%i:%s"), "22:23:00");
        assert_eq!(
            f("1900-10-04 22:23:00", "%D %y %a %d %m %b %j"),
            "4th 00 Thu 04 10 Oct 277"
        );
        assert_eq!(
            f("1997-10-04 22:23:00", "%H %k %I %r %T %S %w"),
            "22 22 10 10:23:00 PM 22:23:00 00 6"
        );
        assert_eq!(f("1999-01-01", "%X %V"), "1998 52");
        assert_eq!(
            f("2024-01-02 03:04:05.000006", "%f %l %p %e %c %%"),
            "000006 3 AM 2 1 %"
        );
        assert_eq!(f("2021-03-21", "%D %D"), "21st 21st");
    }

    #[test]
    fn manual_week_examples() {
        let w = |d: &str, mode: i64| calc_week(&dt(d).date, week_mode(mode)).0;
        assert_eq!(w("2008-02-20", 0), 7);
        assert_eq!(w("2008-02-20", 1), 8);
        assert_eq!(w("2008-12-31", 1), 53);
        assert_eq!(w("2000-01-01", 0), 0);
        assert_eq!(w("2000-01-01", 2), 52);
        let yw = calc_week(&dt("1987-01-01").date, week_mode(0) | WEEK_YEAR);
        assert_eq!(yw, (52, 1986));
    }

    #[test]
    fn manual_parse_examples() {
        let p = |s: &str, f: &str| parse(s, f).map(|p| (p.dt.to_string(), p.has_date, p.has_time));
        assert_eq!(
            p("01,5,2013", "%d,%m,%Y"),
            Some(("2013-05-01 00:00:00".into(), true, false))
        );
        assert_eq!(
            p("May 1, 2013", "%M %d,%Y").map(|x| x.0),
            Some("2013-05-01 00:00:00".into())
        );
        assert_eq!(
            p("a09:30:17", "a%h:%i:%s").map(|x| x.0),
            Some("0000-00-00 09:30:17".into())
        );
        assert_eq!(p("a09:30:17", "%h:%i:%s"), None);
        let t = parse("09:30:17a", "%h:%i:%s").expect("parses");
        assert!(t.trailing);
        assert_eq!(
            p("2024-03-05 11:22:33.5", "%Y-%m-%d %H:%i:%s.%f").map(|x| x.0),
            Some("2024-03-05 11:22:33.500000".into())
        );
        assert_eq!(
            p("10:11:12 PM", "%r").map(|x| x.0),
            Some("0000-00-00 22:11:12".into())
        );
        assert_eq!(
            p("Tuesday 2024 032", "%W %Y %j").map(|x| x.0),
            Some("2024-02-01 00:00:00".into())
        );
    }
}
