//! String functions (CONCAT, SUBSTRING, TRIM, LPAD, LOCATE, FORMAT, HEX, CONV, ...).
//!
//! Character strings work on characters and compare case-insensitively where MySQL's
//! collation applies (LOCATE, INSTR, FIELD, FIND_IN_SET, STRCMP); REPLACE and
//! SUBSTRING_INDEX are always case-sensitive, as in MySQL. When an argument is binary
//! the function works on bytes (see `args` for the Latin-1 mapping that makes one
//! implementation serve both modes) and returns a binary string.

use std::cmp::Ordering;

use rust_decimal::Decimal;

use super::args::{any_binary, out, to_int, to_num, txt, txt_in, Num};
use super::ops::{decimal_to_scale, to_u64_bits};
use super::{builtin, Builtin, FnContext, MANY};
use crate::error::Result;
use crate::value::{collate_cmp, compare, Value};

/// MySQL's default max_allowed_packet: results longer than this are NULL with a warning.
const MAX_RESULT_LEN: usize = 64 * 1024 * 1024;

fn any_null(args: &[Value]) -> bool {
    args.iter().any(Value::is_null)
}

fn too_big(ctx: &mut FnContext, func: &str) -> Value {
    ctx.warn(
        1301,
        format!(
            "Result of {func}() was larger than max_allowed_packet ({MAX_RESULT_LEN}) - truncated"
        ),
    );
    Value::Null
}

/// String argument `i` in mode `binary` (caller has checked for NULL).
fn s(args: &[Value], i: usize, binary: bool) -> String {
    txt_in(&args[i], binary)
        .map(|c| c.into_owned())
        .unwrap_or_default()
}

fn chars(s: &str) -> Vec<char> {
    s.chars().collect()
}

/// 1-based char position of `needle` in `hay` at or after char `from` (0-based), case-
/// insensitive unless `exact`.
fn find_chars(hay: &[char], needle: &[char], from: usize, exact: bool) -> Option<usize> {
    if needle.is_empty() {
        return (from <= hay.len()).then_some(from);
    }
    if needle.len() > hay.len() {
        return None;
    }
    let fold = crate::collation::fold_char;
    (from..=hay.len() - needle.len()).find(|&i| {
        hay[i..i + needle.len()].iter().zip(needle).all(|(a, b)| {
            if exact {
                a == b
            } else {
                fold(*a) == fold(*b)
            }
        })
    })
}

fn f_concat(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    if any_null(args) {
        return Ok(Value::Null);
    }
    let binary = any_binary(args);
    let mut r = String::new();
    for i in 0..args.len() {
        r.push_str(&s(args, i, binary));
        if r.len() > MAX_RESULT_LEN {
            return Ok(too_big(ctx, "concat"));
        }
    }
    Ok(out(r, binary))
}

fn f_concat_ws(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    if args[0].is_null() {
        return Ok(Value::Null);
    }
    let binary = any_binary(args);
    let sep = s(args, 0, binary);
    let mut r = String::new();
    let mut first = true;
    for i in 1..args.len() {
        if args[i].is_null() {
            continue;
        }
        if !first {
            r.push_str(&sep);
        }
        first = false;
        r.push_str(&s(args, i, binary));
        if r.len() > MAX_RESULT_LEN {
            return Ok(too_big(ctx, "concat_ws"));
        }
    }
    Ok(out(r, binary))
}

fn f_substring(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    if any_null(args) {
        return Ok(Value::Null);
    }
    let binary = any_binary(&args[..1]);
    let c = chars(&s(args, 0, binary));
    let n = c.len() as i64;
    let pos = to_int(&args[1], ctx).unwrap_or(0);
    let len = match args.get(2) {
        Some(v) => to_int(v, ctx).unwrap_or(0),
        None => i64::MAX,
    };
    let start = if pos > 0 {
        pos - 1
    } else if pos < 0 {
        n + pos
    } else {
        return Ok(out(String::new(), binary));
    };
    if start < 0 || start >= n || len <= 0 {
        return Ok(out(String::new(), binary));
    }
    let end = start.saturating_add(len).min(n);
    Ok(out(
        c[start as usize..end as usize].iter().collect(),
        binary,
    ))
}

fn f_left(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    if any_null(args) {
        return Ok(Value::Null);
    }
    let binary = any_binary(&args[..1]);
    let n = to_int(&args[1], ctx).unwrap_or(0).max(0) as usize;
    Ok(out(s(args, 0, binary).chars().take(n).collect(), binary))
}

fn f_right(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    if any_null(args) {
        return Ok(Value::Null);
    }
    let binary = any_binary(&args[..1]);
    let c = chars(&s(args, 0, binary));
    let n = (to_int(&args[1], ctx).unwrap_or(0).max(0) as usize).min(c.len());
    Ok(out(c[c.len() - n..].iter().collect(), binary))
}

fn f_length(args: &[Value], _ctx: &mut FnContext) -> Result<Value> {
    Ok(match &args[0] {
        Value::Null => Value::Null,
        Value::Bytes(b) => Value::Int(b.len() as i64),
        other => Value::Int(txt(other).map_or(0, |t| t.s.len()) as i64),
    })
}

fn f_bit_length(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    Ok(match f_length(args, ctx)? {
        Value::Int(n) => Value::Int(n * 8),
        other => other,
    })
}

fn f_char_length(args: &[Value], _ctx: &mut FnContext) -> Result<Value> {
    Ok(match &args[0] {
        Value::Null => Value::Null,
        Value::Bytes(b) => Value::Int(b.len() as i64),
        other => Value::Int(txt(other).map_or(0, |t| t.s.chars().count()) as i64),
    })
}

fn f_upper(args: &[Value], _ctx: &mut FnContext) -> Result<Value> {
    Ok(match &args[0] {
        Value::Null => Value::Null,
        Value::Bytes(b) => Value::Bytes(b.clone()),
        other => Value::Str(txt(other).map_or(String::new(), |t| t.s.to_uppercase())),
    })
}

fn f_lower(args: &[Value], _ctx: &mut FnContext) -> Result<Value> {
    Ok(match &args[0] {
        Value::Null => Value::Null,
        Value::Bytes(b) => Value::Bytes(b.clone()),
        other => Value::Str(txt(other).map_or(String::new(), |t| t.s.to_lowercase())),
    })
}

#[derive(Clone, Copy)]
enum Side {
    Both,
    Leading,
    Trailing,
}

fn trim_impl(args: &[Value], side: Side) -> Result<Value> {
    if any_null(args) {
        return Ok(Value::Null);
    }
    let binary = any_binary(args);
    let mut st = s(args, 0, binary);
    let rem = if args.len() > 1 {
        s(args, 1, binary)
    } else {
        " ".to_string()
    };
    if rem.is_empty() {
        return Ok(out(st, binary));
    }
    if matches!(side, Side::Both | Side::Leading) {
        let mut start = 0;
        while st[start..].starts_with(&rem) {
            start += rem.len();
        }
        st.drain(..start);
    }
    if matches!(side, Side::Both | Side::Trailing) {
        let mut end = st.len();
        while st[..end].ends_with(&rem) {
            end -= rem.len();
        }
        st.truncate(end);
    }
    Ok(out(st, binary))
}

fn f_trim(args: &[Value], _ctx: &mut FnContext) -> Result<Value> {
    trim_impl(args, Side::Both)
}
fn f_ltrim(args: &[Value], _ctx: &mut FnContext) -> Result<Value> {
    trim_impl(args, Side::Leading)
}
fn f_rtrim(args: &[Value], _ctx: &mut FnContext) -> Result<Value> {
    trim_impl(args, Side::Trailing)
}

fn f_replace(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    if any_null(args) {
        return Ok(Value::Null);
    }
    let binary = any_binary(args);
    let (st, from, to) = (s(args, 0, binary), s(args, 1, binary), s(args, 2, binary));
    if from.is_empty() {
        return Ok(out(st, binary));
    }
    let r = st.replace(&from, &to);
    if r.len() > MAX_RESULT_LEN {
        return Ok(too_big(ctx, "replace"));
    }
    Ok(out(r, binary))
}

/// LOCATE(substr, str[, pos]).
fn locate(needle: &Value, hay: &Value, pos: Option<&Value>, ctx: &mut FnContext) -> Value {
    if needle.is_null() || hay.is_null() || pos.is_some_and(Value::is_null) {
        return Value::Null;
    }
    let binary = matches!(needle, Value::Bytes(_)) || matches!(hay, Value::Bytes(_));
    let n = chars(&txt_in(needle, binary).unwrap_or_default());
    let h = chars(&txt_in(hay, binary).unwrap_or_default());
    let from = match pos {
        Some(p) => match to_int(p, ctx).unwrap_or(0) {
            p if p < 1 => return Value::Int(0),
            p => (p - 1) as usize,
        },
        None => 0,
    };
    if from > h.len() {
        return Value::Int(0);
    }
    Value::Int(find_chars(&h, &n, from, binary).map_or(0, |i| i as i64 + 1))
}

fn f_locate(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    Ok(locate(&args[0], &args[1], args.get(2), ctx))
}

fn f_instr(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    Ok(locate(&args[1], &args[0], None, ctx))
}

fn pad(args: &[Value], ctx: &mut FnContext, left: bool) -> Result<Value> {
    if any_null(args) {
        return Ok(Value::Null);
    }
    let binary = any_binary(&[args[0].clone(), args[2].clone()]);
    let c = chars(&s(args, 0, binary));
    let Some(len) = to_int(&args[1], ctx) else {
        return Ok(Value::Null);
    };
    if len < 0 {
        return Ok(Value::Null);
    }
    let len = len as usize;
    if len > MAX_RESULT_LEN {
        return Ok(too_big(ctx, if left { "lpad" } else { "rpad" }));
    }
    if len <= c.len() {
        return Ok(out(c[..len].iter().collect(), binary));
    }
    let p = chars(&s(args, 2, binary));
    if p.is_empty() {
        return Ok(Value::Null);
    }
    let fill: String = p.iter().cycle().take(len - c.len()).collect();
    let body: String = c.iter().collect();
    Ok(out(if left { fill + &body } else { body + &fill }, binary))
}

fn f_lpad(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    pad(args, ctx, true)
}
fn f_rpad(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    pad(args, ctx, false)
}

fn f_repeat(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    if any_null(args) {
        return Ok(Value::Null);
    }
    let binary = any_binary(&args[..1]);
    let st = s(args, 0, binary);
    let n = to_int(&args[1], ctx).unwrap_or(0);
    if n < 1 || st.is_empty() {
        return Ok(out(String::new(), binary));
    }
    if (st.len() as u128) * (n as u128) > MAX_RESULT_LEN as u128 {
        return Ok(too_big(ctx, "repeat"));
    }
    Ok(out(st.repeat(n as usize), binary))
}

fn f_reverse(args: &[Value], _ctx: &mut FnContext) -> Result<Value> {
    if any_null(args) {
        return Ok(Value::Null);
    }
    let binary = any_binary(args);
    Ok(out(s(args, 0, binary).chars().rev().collect(), binary))
}

fn f_space(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    let Some(n) = to_int(&args[0], ctx) else {
        return Ok(Value::Null);
    };
    if n > MAX_RESULT_LEN as i64 {
        return Ok(too_big(ctx, "space"));
    }
    Ok(Value::Str(" ".repeat(n.max(0) as usize)))
}

fn f_ascii(args: &[Value], _ctx: &mut FnContext) -> Result<Value> {
    Ok(match args[0].to_bytes() {
        None => Value::Null,
        Some(b) => Value::Int(b.first().copied().unwrap_or(0) as i64),
    })
}

fn f_ord(args: &[Value], _ctx: &mut FnContext) -> Result<Value> {
    Ok(match &args[0] {
        Value::Null => Value::Null,
        Value::Bytes(b) => Value::Int(b.first().copied().unwrap_or(0) as i64),
        other => {
            let t = txt(other).map(|t| t.s.into_owned()).unwrap_or_default();
            match t.chars().next() {
                None => Value::Int(0),
                Some(c) => {
                    let mut buf = [0u8; 4];
                    let bytes = c.encode_utf8(&mut buf).as_bytes();
                    Value::Int(bytes.iter().fold(0i64, |acc, b| acc * 256 + *b as i64))
                }
            }
        }
    })
}

fn f_char(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    let mut r = Vec::new();
    for v in args {
        let Some(n) = to_u64_bits(v, ctx) else {
            continue;
        };
        let n = n as u32;
        let bytes = n.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count().min(3);
        r.extend_from_slice(&bytes[skip..]);
    }
    Ok(Value::Bytes(r))
}

/// Insert ',' every three digits of an integer part.
pub(crate) fn group_thousands(int_part: &str) -> String {
    let digits: Vec<char> = int_part.chars().collect();
    let mut r = String::with_capacity(digits.len() + digits.len() / 3);
    // Digits left before the next separator; the first group is 1..=3 digits long.
    let mut left = (digits.len() + 2) % 3 + 1;
    for c in &digits {
        if left == 0 {
            r.push(',');
            left = 3;
        }
        r.push(*c);
        left -= 1;
    }
    r
}

fn f_format(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    if args[0].is_null() || args[1].is_null() {
        return Ok(Value::Null);
    }
    let Some(n) = to_num(&args[0], ctx) else {
        return Ok(Value::Null);
    };
    let d = to_int(&args[1], ctx).unwrap_or(0).clamp(0, 30) as u32;
    let text = match n {
        Num::F(f) if !f.is_finite() => return Ok(Value::Null),
        Num::F(f) if f.abs() >= 1e28 => format!("{:.*}", d as usize, f),
        other => {
            let dec: Decimal = other.to_decimal();
            let r = decimal_to_scale(dec, d.min(28));
            let mut t = r.abs().to_string();
            if d > 28 {
                if !t.contains('.') {
                    t.push('.');
                }
                t.extend(std::iter::repeat_n('0', (d - 28) as usize));
            }
            if r.is_sign_negative() && !r.is_zero() {
                format!("-{t}")
            } else {
                t
            }
        }
    };
    let (sign, body) = match text.strip_prefix('-') {
        Some(b) => ("-", b),
        None => ("", text.as_str()),
    };
    let (int_part, frac) = match body.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (body, None),
    };
    let mut r = format!("{sign}{}", group_thousands(int_part));
    if let Some(f) = frac {
        if d > 0 {
            r.push('.');
            r.push_str(f);
        }
    }
    Ok(Value::Str(r))
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

pub(crate) fn hex_upper(b: &[u8]) -> String {
    let mut r = String::with_capacity(b.len() * 2);
    for x in b {
        r.push(HEX[(x >> 4) as usize] as char);
        r.push(HEX[(x & 15) as usize] as char);
    }
    r
}

fn f_hex(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    Ok(match &args[0] {
        Value::Null => Value::Null,
        Value::Str(st) => Value::Str(hex_upper(st.as_bytes())),
        Value::Bytes(b) => Value::Str(hex_upper(b)),
        other => match to_u64_bits(other, ctx) {
            Some(n) => Value::Str(format!("{n:X}")),
            None => Value::Null,
        },
    })
}

fn f_unhex(args: &[Value], _ctx: &mut FnContext) -> Result<Value> {
    let Some(b) = args[0].to_bytes() else {
        return Ok(Value::Null);
    };
    let mut digits = Vec::with_capacity(b.len() + 1);
    if b.len() % 2 == 1 {
        digits.push(0u8);
    }
    for c in &b {
        match (*c as char).to_digit(16) {
            Some(d) => digits.push(d as u8),
            None => return Ok(Value::Null),
        }
    }
    Ok(Value::Bytes(
        digits.chunks(2).map(|p| (p[0] << 4) | p[1]).collect(),
    ))
}

fn f_strcmp(args: &[Value], _ctx: &mut FnContext) -> Result<Value> {
    if any_null(args) {
        return Ok(Value::Null);
    }
    let o = if any_binary(args) {
        let (a, b) = (args[0].to_bytes(), args[1].to_bytes());
        a.cmp(&b)
    } else {
        collate_cmp(&s(args, 0, false), &s(args, 1, false))
    };
    Ok(Value::Int(match o {
        Ordering::Less => -1,
        Ordering::Equal => 0,
        Ordering::Greater => 1,
    }))
}

fn f_field(args: &[Value], _ctx: &mut FnContext) -> Result<Value> {
    if args[0].is_null() {
        return Ok(Value::Int(0));
    }
    let all_strings = args.iter().all(|v| v.is_string() || v.is_null());
    for (i, v) in args.iter().enumerate().skip(1) {
        if v.is_null() {
            continue;
        }
        let eq = if all_strings {
            compare(&args[0], v) == Some(Ordering::Equal)
        } else {
            let (a, b) = (args[0].to_f64(), v.to_f64());
            a.is_some() && a == b
        };
        if eq {
            return Ok(Value::Int(i as i64));
        }
    }
    Ok(Value::Int(0))
}

fn f_elt(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    let Some(n) = to_int(&args[0], ctx) else {
        return Ok(Value::Null);
    };
    if n < 1 || n as usize >= args.len() {
        return Ok(Value::Null);
    }
    Ok(match &args[n as usize] {
        Value::Bytes(b) => Value::Bytes(b.clone()),
        Value::Null => Value::Null,
        other => Value::Str(txt(other).map(|t| t.s.into_owned()).unwrap_or_default()),
    })
}

fn f_find_in_set(args: &[Value], _ctx: &mut FnContext) -> Result<Value> {
    if any_null(args) {
        return Ok(Value::Null);
    }
    let binary = any_binary(args);
    let needle = s(args, 0, binary);
    let list = s(args, 1, binary);
    if needle.contains(',') || list.is_empty() {
        return Ok(Value::Int(0));
    }
    for (i, item) in list.split(',').enumerate() {
        let eq = if binary {
            item == needle
        } else {
            collate_cmp(item, &needle) == Ordering::Equal
        };
        if eq {
            return Ok(Value::Int(i as i64 + 1));
        }
    }
    Ok(Value::Int(0))
}

fn f_insert(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    if any_null(args) {
        return Ok(Value::Null);
    }
    let binary = any_binary(&[args[0].clone(), args[3].clone()]);
    let c = chars(&s(args, 0, binary));
    let pos = to_int(&args[1], ctx).unwrap_or(0);
    let len = to_int(&args[2], ctx).unwrap_or(0);
    let n = c.len() as i64;
    if pos < 1 || pos > n {
        return Ok(out(c.iter().collect(), binary));
    }
    let start = (pos - 1) as usize;
    let end = if len < 0 || len > n - start as i64 {
        c.len()
    } else {
        start + len as usize
    };
    let mut r: String = c[..start].iter().collect();
    r.push_str(&s(args, 3, binary));
    r.extend(&c[end..]);
    Ok(out(r, binary))
}

fn f_substring_index(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    if any_null(args) {
        return Ok(Value::Null);
    }
    let binary = any_binary(&args[..2]);
    let st = s(args, 0, binary);
    let delim = s(args, 1, binary);
    let count = to_int(&args[2], ctx).unwrap_or(0);
    if delim.is_empty() || count == 0 {
        return Ok(out(String::new(), binary));
    }
    let r = if count > 0 {
        match st.match_indices(&delim).nth(count as usize - 1) {
            Some((i, _)) => st[..i].to_string(),
            None => st,
        }
    } else {
        let k = count.unsigned_abs() as usize;
        match st.rmatch_indices(&delim).nth(k - 1) {
            Some((i, _)) => st[i + delim.len()..].to_string(),
            None => st,
        }
    };
    Ok(out(r, binary))
}

fn f_quote(args: &[Value], _ctx: &mut FnContext) -> Result<Value> {
    if args[0].is_null() {
        return Ok(Value::Str("NULL".into()));
    }
    let binary = any_binary(args);
    let st = s(args, 0, binary);
    let mut r = String::with_capacity(st.len() + 2);
    r.push('\'');
    for c in st.chars() {
        match c {
            '\\' => r.push_str("\\\\"),
            '\'' => r.push_str("\\'"),
            '\0' => r.push_str("\\0"),
            '\u{1a}' => r.push_str("\\Z"),
            c => r.push(c),
        }
    }
    r.push('\'');
    Ok(out(r, binary))
}

/// CONV's digit value of `c` in bases up to 36.
fn digit_of(c: u8) -> Option<u32> {
    (c as char).to_digit(36)
}

/// CONV(n, from_base, to_base): a negative from/to base means the number is signed.
fn conv(n: &Value, from: i64, to: i64) -> Option<String> {
    let (fa, ta) = (from.unsigned_abs(), to.unsigned_abs());
    if !(2..=36).contains(&fa) || !(2..=36).contains(&ta) {
        return None;
    }
    let text = match n {
        Value::Double(_) | Value::Decimal(_) => n.to_i64()?.to_string(),
        other => other.to_text()?,
    };
    let t = text.trim_start().as_bytes();
    let (neg, t) = match t.first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let mut v: u64 = 0;
    let mut overflow = false;
    for c in t {
        match digit_of(*c) {
            Some(d) if (d as u64) < fa => {
                match v.checked_mul(fa).and_then(|x| x.checked_add(d as u64)) {
                    Some(x) => v = x,
                    None => overflow = true,
                }
            }
            _ => break,
        }
    }
    if overflow {
        v = if from < 0 && !neg {
            i64::MAX as u64
        } else {
            u64::MAX
        };
    }
    let (out_neg, mag) = if to < 0 {
        let signed = if neg {
            (v as i64).wrapping_neg()
        } else {
            v as i64
        };
        (signed < 0, signed.unsigned_abs())
    } else {
        (false, if neg { v.wrapping_neg() } else { v })
    };
    let mut digits = Vec::new();
    let mut m = mag;
    loop {
        let d = (m % ta) as u32;
        digits.push(std::char::from_digit(d, 36)?.to_ascii_uppercase());
        m /= ta;
        if m == 0 {
            break;
        }
    }
    if out_neg {
        digits.push('-');
    }
    Some(digits.iter().rev().collect())
}

fn f_conv(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    if any_null(args) {
        return Ok(Value::Null);
    }
    let (Some(from), Some(to)) = (to_int(&args[1], ctx), to_int(&args[2], ctx)) else {
        return Ok(Value::Null);
    };
    Ok(conv(&args[0], from, to).map_or(Value::Null, Value::Str))
}

fn f_bin(args: &[Value], _ctx: &mut FnContext) -> Result<Value> {
    Ok(conv(&args[0], 10, 2).map_or(Value::Null, Value::Str))
}

fn f_oct(args: &[Value], _ctx: &mut FnContext) -> Result<Value> {
    Ok(conv(&args[0], 10, 8).map_or(Value::Null, Value::Str))
}

/// MySQL's SOUNDEX: the first letter, then the codes of later letters (vowels and
/// h/w/y code 0 and are dropped, repeats of the previous code are dropped), padded with
/// '0' to at least four characters. Unlike standard Soundex the result is not cut at four.
fn soundex(s: &str) -> String {
    const CODES: &[u8; 26] = b"01230120022455012623010202";
    let code = |c: char| CODES[(c.to_ascii_uppercase() as u8 - b'A') as usize];
    let mut letters = s.chars().filter(char::is_ascii_alphabetic);
    let Some(first) = letters.next() else {
        return String::new();
    };
    let mut out = String::new();
    out.push(first.to_ascii_uppercase());
    let mut last = code(first);
    for c in letters {
        let k = code(c);
        if k != b'0' && k != last {
            out.push(k as char);
            last = k;
        }
    }
    while out.len() < 4 {
        out.push('0');
    }
    out
}

fn f_soundex(args: &[Value], _ctx: &mut FnContext) -> Result<Value> {
    Ok(match txt(&args[0]) {
        None => Value::Null,
        Some(t) => Value::Str(soundex(&t.s)),
    })
}

/// MAKE_SET(bits, s1, s2, ...): the strings whose bit is set, comma-separated.
fn f_make_set(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    let Some(bits) = to_u64_bits(&args[0], ctx) else {
        return Ok(Value::Null);
    };
    let binary = any_binary(&args[1..]);
    let parts: Vec<String> = args[1..]
        .iter()
        .enumerate()
        .filter(|(i, v)| *i < 64 && bits & (1 << i) != 0 && !v.is_null())
        .map(|(_, v)| {
            txt_in(v, binary)
                .map(|c| c.into_owned())
                .unwrap_or_default()
        })
        .collect();
    Ok(out(parts.join(","), binary))
}

/// EXPORT_SET(bits, on, off[, separator[, number_of_bits]]).
fn f_export_set(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    if any_null(args) {
        return Ok(Value::Null);
    }
    let Some(bits) = to_u64_bits(&args[0], ctx) else {
        return Ok(Value::Null);
    };
    let binary = any_binary(&args[1..]);
    let (on, off) = (s(args, 1, binary), s(args, 2, binary));
    let sep = if args.len() > 3 {
        s(args, 3, binary)
    } else {
        ",".to_string()
    };
    let n = match args.get(4) {
        Some(v) => to_int(v, ctx).unwrap_or(64),
        None => 64,
    };
    let n = if (0..=64).contains(&n) { n } else { 64 } as usize;
    let parts: Vec<&str> = (0..n)
        .map(|i| {
            if bits & (1 << i) != 0 {
                on.as_str()
            } else {
                off.as_str()
            }
        })
        .collect();
    Ok(out(parts.join(&sep), binary))
}

/// Name of the internal function giving an ENUM value's index in numeric context:
/// `Func(ENUM_NUMBER, [value, member1, member2, ...])`. Not an identifier, so a query
/// cannot call it; the binder inserts it where an ENUM column is used as a number.
pub const ENUM_NUMBER: &str = ":enum_number";
/// Same for a SET value's bit mask: `Func(SET_NUMBER, [value, member1, ...])`.
pub const SET_NUMBER: &str = ":set_number";
/// An ENUM value as a number: its 1-based member position (members compare with the
/// column's case-insensitive collation), 0 for the '' error value.
fn f_enum_number(args: &[Value], _ctx: &mut FnContext) -> Result<Value> {
    let Some(text) = args[0].to_text() else {
        return Ok(Value::Null);
    };
    Ok(Value::Int(enum_index(&text, &args[1..])))
}

fn enum_index(text: &str, members: &[Value]) -> i64 {
    members
        .iter()
        .position(|m| {
            m.to_text()
                .is_some_and(|m| collate_cmp(&m, text) == Ordering::Equal)
        })
        .map_or(0, |i| i as i64 + 1)
}

/// A SET value as a number: bit i set for each member i it holds.
fn f_set_number(args: &[Value], _ctx: &mut FnContext) -> Result<Value> {
    let Some(text) = args[0].to_text() else {
        return Ok(Value::Null);
    };
    let mut bits = 0u64;
    for item in text.split(',').filter(|i| !i.is_empty()) {
        let i = enum_index(item, &args[1..]);
        if (1..=64).contains(&i) {
            bits |= 1 << (i - 1);
        }
    }
    Ok(Value::UInt(bits))
}

/// The string families' entry for `call`.
pub(super) fn lookup(name: &str) -> Option<Builtin> {
    Some(match name {
        "concat" => builtin(1, MANY, f_concat),
        "concat_ws" => builtin(2, MANY, f_concat_ws),
        "substring" | "substr" | "mid" => builtin(2, 3, f_substring),
        "left" => builtin(2, 2, f_left),
        "right" => builtin(2, 2, f_right),
        "length" | "octet_length" => builtin(1, 1, f_length),
        "bit_length" => builtin(1, 1, f_bit_length),
        "char_length" | "character_length" => builtin(1, 1, f_char_length),
        "upper" | "ucase" => builtin(1, 1, f_upper),
        "lower" | "lcase" => builtin(1, 1, f_lower),
        "trim" => builtin(1, 1, f_trim),
        "ltrim" => builtin(1, 1, f_ltrim),
        "rtrim" => builtin(1, 1, f_rtrim),
        "trim_both" => builtin(2, 2, f_trim),
        "trim_leading" => builtin(2, 2, f_ltrim),
        "trim_trailing" => builtin(2, 2, f_rtrim),
        "replace" => builtin(3, 3, f_replace),
        "locate" => builtin(2, 3, f_locate),
        "position" => builtin(2, 2, f_locate),
        "instr" => builtin(2, 2, f_instr),
        "lpad" => builtin(3, 3, f_lpad),
        "rpad" => builtin(3, 3, f_rpad),
        "repeat" => builtin(2, 2, f_repeat),
        "reverse" => builtin(1, 1, f_reverse),
        "space" => builtin(1, 1, f_space),
        "ascii" => builtin(1, 1, f_ascii),
        "ord" => builtin(1, 1, f_ord),
        "char" => builtin(1, MANY, f_char),
        ENUM_NUMBER => builtin(1, MANY, f_enum_number),
        SET_NUMBER => builtin(1, MANY, f_set_number),
        "format" => builtin(2, 3, f_format),
        "hex" => builtin(1, 1, f_hex),
        "unhex" => builtin(1, 1, f_unhex),
        "strcmp" => builtin(2, 2, f_strcmp),
        "field" => builtin(2, MANY, f_field),
        "elt" => builtin(2, MANY, f_elt),
        "find_in_set" => builtin(2, 2, f_find_in_set),
        "insert" => builtin(4, 4, f_insert),
        "substring_index" => builtin(3, 3, f_substring_index),
        "quote" => builtin(1, 1, f_quote),
        "conv" => builtin(3, 3, f_conv),
        "soundex" => builtin(1, 1, f_soundex),
        "make_set" => builtin(2, MANY, f_make_set),
        "export_set" => builtin(3, 5, f_export_set),
        "bin" => builtin(1, 1, f_bin),
        "oct" => builtin(1, 1, f_oct),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::super::call;
    use super::*;
    use crate::error::code;

    fn c(name: &str, args: &[Value]) -> Value {
        call(name, args, &mut FnContext::default()).expect(name)
    }

    #[test]
    fn enum_and_set_numbers() {
        let members = [v("small"), v("medium"), v("large")];
        let num = |f: &str, x: Value| {
            let mut a = vec![x];
            a.extend(members.iter().cloned());
            c(f, &a)
        };
        assert_eq!(num(ENUM_NUMBER, v("medium")), Value::Int(2));
        assert_eq!(num(ENUM_NUMBER, v("LARGE")), Value::Int(3));
        assert_eq!(num(ENUM_NUMBER, v("")), Value::Int(0));
        assert_eq!(num(ENUM_NUMBER, Value::Null), Value::Null);
        assert_eq!(num(SET_NUMBER, v("small,large")), Value::UInt(5));
        assert_eq!(num(SET_NUMBER, v("")), Value::UInt(0));
        assert_eq!(num(SET_NUMBER, v("Medium")), Value::UInt(2));
    }
    fn v(s: &str) -> Value {
        Value::from(s)
    }
    fn i(n: i64) -> Value {
        Value::Int(n)
    }

    #[test]
    fn concat_family() {
        assert_eq!(c("CONCAT", &[v("My"), v("S"), v("QL")]), v("MySQL"));
        assert_eq!(c("concat", &[v("My"), Value::Null, v("QL")]), Value::Null);
        assert_eq!(c("concat", &[Value::Double(14.3)]), v("14.3"));
        assert_eq!(
            c(
                "concat_ws",
                &[v(","), v("First name"), v("Second name"), v("Last Name")]
            ),
            v("First name,Second name,Last Name")
        );
        assert_eq!(
            c(
                "concat_ws",
                &[v(","), v("First name"), Value::Null, v("Last Name")]
            ),
            v("First name,Last Name")
        );
        assert_eq!(
            c("concat", &[Value::Bytes(b"a".to_vec()), v("b")]),
            Value::Bytes(b"ab".to_vec())
        );
    }

    #[test]
    fn substrings() {
        assert_eq!(c("substring", &[v("Quadratically"), i(5)]), v("ratically"));
        assert_eq!(c("substring", &[v("foobarbar"), i(4)]), v("barbar"));
        assert_eq!(
            c("substring", &[v("Quadratically"), i(5), i(6)]),
            v("ratica")
        );
        assert_eq!(c("substring", &[v("Sakila"), i(-3)]), v("ila"));
        assert_eq!(c("substring", &[v("Sakila"), i(-5), i(3)]), v("aki"));
        assert_eq!(c("substring", &[v("Sakila"), i(0)]), v(""));
        assert_eq!(c("mid", &[v("héllo"), i(2), i(2)]), v("él"));
        assert_eq!(c("left", &[v("foobarbar"), i(5)]), v("fooba"));
        assert_eq!(c("right", &[v("foobarbar"), i(4)]), v("rbar"));
        assert_eq!(
            c("substring_index", &[v("www.mysql.com"), v("."), i(2)]),
            v("www.mysql")
        );
        assert_eq!(
            c("substring_index", &[v("www.mysql.com"), v("."), i(-2)]),
            v("mysql.com")
        );
        assert_eq!(
            c("insert", &[v("Quadratic"), i(3), i(4), v("What")]),
            v("QuWhattic")
        );
        assert_eq!(
            c("insert", &[v("Quadratic"), i(-1), i(4), v("What")]),
            v("Quadratic")
        );
        assert_eq!(
            c("insert", &[v("Quadratic"), i(3), i(100), v("What")]),
            v("QuWhat")
        );
    }

    #[test]
    fn lengths_and_case() {
        assert_eq!(c("length", &[v("text")]), i(4));
        assert_eq!(c("length", &[v("é")]), i(2));
        assert_eq!(c("char_length", &[v("é")]), i(1));
        assert_eq!(c("bit_length", &[v("text")]), i(32));
        assert_eq!(c("upper", &[v("Hej")]), v("HEJ"));
        assert_eq!(c("lcase", &[v("QUADRATICALLY")]), v("quadratically"));
        assert_eq!(
            c("upper", &[Value::Bytes(b"a".to_vec())]),
            Value::Bytes(b"a".to_vec())
        );
    }

    #[test]
    fn trims_and_pads() {
        assert_eq!(c("ltrim", &[v("  barbar")]), v("barbar"));
        assert_eq!(c("rtrim", &[v("barbar   ")]), v("barbar"));
        assert_eq!(c("trim", &[v("  bar   ")]), v("bar"));
        assert_eq!(c("trim_leading", &[v("xxxbarxxx"), v("x")]), v("barxxx"));
        assert_eq!(c("trim_both", &[v("xxxbarxxx"), v("x")]), v("bar"));
        assert_eq!(c("trim_trailing", &[v("barxxyz"), v("xyz")]), v("barx"));
        assert_eq!(c("lpad", &[v("hi"), i(4), v("??")]), v("??hi"));
        assert_eq!(c("lpad", &[v("hi"), i(1), v("??")]), v("h"));
        assert_eq!(c("rpad", &[v("hi"), i(5), v("?")]), v("hi???"));
        assert_eq!(c("rpad", &[v("hi"), i(5), v("")]), Value::Null);
        assert_eq!(c("repeat", &[v("MySQL"), i(3)]), v("MySQLMySQLMySQL"));
        assert_eq!(c("reverse", &[v("abc")]), v("cba"));
        assert_eq!(c("space", &[i(3)]), v("   "));
    }

    #[test]
    fn searching() {
        assert_eq!(c("locate", &[v("bar"), v("foobarbar")]), i(4));
        assert_eq!(c("locate", &[v("xbar"), v("foobar")]), i(0));
        assert_eq!(c("locate", &[v("bar"), v("foobarbar"), i(5)]), i(7));
        assert_eq!(c("instr", &[v("foobarbar"), v("bar")]), i(4));
        assert_eq!(c("instr", &[v("xbar"), v("foobar")]), i(0));
        assert_eq!(c("position", &[v("BAR"), v("foobar")]), i(4));
        assert_eq!(
            c("replace", &[v("www.mysql.com"), v("w"), v("Ww")]),
            v("WwWwWw.mysql.com")
        );
        assert_eq!(
            c(
                "field",
                &[v("Bb"), v("Aa"), v("Bb"), v("Cc"), v("Dd"), v("Ff")]
            ),
            i(2)
        );
        assert_eq!(c("field", &[v("Gg"), v("Aa"), v("Bb")]), i(0));
        assert_eq!(
            c("elt", &[i(1), v("Aa"), v("Bb"), v("Cc"), v("Dd")]),
            v("Aa")
        );
        assert_eq!(
            c("elt", &[i(4), v("Aa"), v("Bb"), v("Cc"), v("Dd")]),
            v("Dd")
        );
        assert_eq!(c("elt", &[i(5), v("Aa")]), Value::Null);
        assert_eq!(c("find_in_set", &[v("b"), v("a,b,c,d")]), i(2));
        assert_eq!(c("strcmp", &[v("text"), v("text2")]), i(-1));
        assert_eq!(c("strcmp", &[v("text2"), v("text")]), i(1));
        assert_eq!(c("strcmp", &[v("text"), v("TEXT")]), i(0));
    }

    #[test]
    fn codes_and_numbers() {
        assert_eq!(c("ascii", &[v("2")]), i(50));
        assert_eq!(c("ascii", &[v("dx")]), i(100));
        assert_eq!(c("ascii", &[v("")]), i(0));
        assert_eq!(c("ord", &[v("2")]), i(50));
        assert_eq!(c("ord", &[v("é")]), i(0xC3A9));
        assert_eq!(
            c("char", &[i(77), i(121), i(83), i(81), v("76")]),
            Value::Bytes(b"MySQL".to_vec())
        );
        assert_eq!(c("char", &[i(256)]), Value::Bytes(vec![1, 0]));
        assert_eq!(c("hex", &[v("abc")]), v("616263"));
        assert_eq!(c("hex", &[i(255)]), v("FF"));
        assert_eq!(c("hex", &[i(-1)]), v("FFFFFFFFFFFFFFFF"));
        assert_eq!(
            c("unhex", &[v("4D7953514C")]),
            Value::Bytes(b"MySQL".to_vec())
        );
        assert_eq!(c("unhex", &[v("GG")]), Value::Null);
        assert_eq!(
            c("format", &[Value::Double(12332.123456), i(4)]),
            v("12,332.1235")
        );
        assert_eq!(
            c("format", &[Value::Double(12332.1), i(4)]),
            v("12,332.1000")
        );
        assert_eq!(c("format", &[Value::Double(12332.2), i(0)]), v("12,332"));
        assert_eq!(c("format", &[i(-1234567), i(2)]), v("-1,234,567.00"));
        assert_eq!(c("conv", &[v("a"), i(16), i(2)]), v("1010"));
        assert_eq!(c("conv", &[v("6E"), i(18), i(8)]), v("172"));
        assert_eq!(c("conv", &[i(-17), i(10), i(-18)]), v("-H"));
        assert_eq!(c("bin", &[i(12)]), v("1100"));
        assert_eq!(c("oct", &[i(12)]), v("14"));
        assert_eq!(c("quote", &[v("Don't!")]), v("'Don\\'t!'"));
        assert_eq!(c("quote", &[Value::Null]), v("NULL"));
        assert_eq!(c("soundex", &[v("Hello")]), v("H400"));
        assert_eq!(c("make_set", &[i(1), v("a"), v("b"), v("c")]), v("a"));
        assert_eq!(
            c("make_set", &[i(1 | 4), v("hello"), v("nice"), v("world")]),
            v("hello,world")
        );
        assert_eq!(
            c(
                "make_set",
                &[i(1 | 4), v("hello"), v("nice"), Value::Null, v("world")]
            ),
            v("hello")
        );
        assert_eq!(c("make_set", &[i(0), v("a"), v("b"), v("c")]), v(""));
        assert_eq!(
            c("export_set", &[i(5), v("Y"), v("N"), v(","), i(4)]),
            v("Y,N,Y,N")
        );
        assert_eq!(
            c("export_set", &[i(6), v("1"), v("0"), v(","), i(10)]),
            v("0,1,1,0,0,0,0,0,0,0")
        );
        assert_eq!(c("soundex", &[v("Quadratically")]), v("Q36324"));
    }

    #[test]
    fn errors() {
        let e = call("concat_ws", &[v(",")], &mut FnContext::default()).unwrap_err();
        assert_eq!(e.code, code::ER_WRONG_ARGUMENTS_FN);
        let e = call("no_such_fn", &[], &mut FnContext::default()).unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            (1305, "FUNCTION no_such_fn does not exist")
        );
    }
}
