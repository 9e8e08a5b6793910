//! Miscellaneous functions: UUID and its binary forms, IPv4/IPv6 address conversion,
//! ANY_VALUE and SLEEP.
//!
//! UUID() is a version-1 (time-based) UUID as MySQL generates: a 60-bit count of 100 ns
//! intervals since 1582-10-15, strictly increasing within the process, with a random
//! clock sequence and a random node id (multicast bit set, as RFC 4122 prescribes for
//! node ids that are not a MAC address).

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use super::args::{to_f64, to_int};
use super::digest::hex_lower;
use super::{builtin, Builtin, FnContext};
use crate::error::{Error, Result};
use crate::value::Value;

/// 100 ns intervals between 1582-10-15 and 1970-01-01.
const GREGORIAN_OFFSET: u64 = 0x01B2_1DD2_1381_4000;

static LAST_TICK: AtomicU64 = AtomicU64::new(0);
static NODE: OnceLock<(u16, u64)> = OnceLock::new();

fn uuid_v1() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let tick = GREGORIAN_OFFSET + (now.as_nanos() / 100) as u64;
    // Strictly increasing even when the clock does not advance between calls.
    let mut prev = LAST_TICK.load(Ordering::Relaxed);
    let t = loop {
        let next = tick.max(prev + 1);
        match LAST_TICK.compare_exchange_weak(prev, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => break next,
            Err(p) => prev = p,
        }
    };
    let (clock_seq, node) = *NODE.get_or_init(|| {
        let r: u64 = rand::random();
        (
            (r >> 48) as u16 & 0x3FFF,
            (r & 0xFFFF_FFFF_FFFF) | 0x0100_0000_0000,
        )
    });
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        t & 0xFFFF_FFFF,
        (t >> 32) & 0xFFFF,
        ((t >> 48) & 0x0FFF) | 0x1000,
        clock_seq | 0x8000,
        node
    )
}

static SHORT_COUNTER: OnceLock<AtomicU64> = OnceLock::new();

/// UUID_SHORT(): (server_id & 255) << 56 | (startup seconds << 24) | counter, as MySQL
/// builds it (server_id 1); increasing within the process.
fn f_uuid_short(_args: &[Value], _ctx: &mut FnContext) -> Result<Value> {
    let counter = SHORT_COUNTER.get_or_init(|| {
        let start = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        AtomicU64::new((1u64 << 56) | ((start & 0xFFFF_FFFF) << 24))
    });
    Ok(Value::UInt(counter.fetch_add(1, Ordering::Relaxed)))
}

fn f_uuid(_args: &[Value], _ctx: &mut FnContext) -> Result<Value> {
    Ok(Value::Str(uuid_v1()))
}

/// The 16 bytes of a UUID in any of MySQL's accepted text forms (with or without dashes
/// or braces).
fn uuid_bytes(s: &str) -> Option<[u8; 16]> {
    let s = s.trim();
    let s = s
        .strip_prefix('{')
        .and_then(|x| x.strip_suffix('}'))
        .unwrap_or(s);
    let hex: String = if s.len() == 36 {
        let b = s.as_bytes();
        if [8, 13, 18, 23].iter().any(|&i| b[i] != b'-') {
            return None;
        }
        s.chars().filter(|c| *c != '-').collect()
    } else if s.len() == 32 {
        s.to_string()
    } else {
        return None;
    };
    let mut out = [0u8; 16];
    for (i, pair) in hex.as_bytes().chunks(2).enumerate() {
        let h = (pair[0] as char).to_digit(16)?;
        let l = (pair[1] as char).to_digit(16)?;
        out[i] = (h * 16 + l) as u8;
    }
    Some(out)
}

fn f_is_uuid(args: &[Value], _ctx: &mut FnContext) -> Result<Value> {
    Ok(match args[0].to_text() {
        None => Value::Null,
        Some(s) => Value::Int(uuid_bytes(&s).is_some() as i64),
    })
}

fn swap_arg(args: &[Value], ctx: &mut FnContext) -> bool {
    args.get(1).and_then(|v| to_int(v, ctx)).unwrap_or(0) != 0
}

fn bad_uuid(func: &str, v: &str) -> Error {
    Error::new(
        1411,
        format!("Incorrect string value: '{v}' for function {func}"),
    )
}

fn f_uuid_to_bin(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    let Some(s) = args[0].to_text() else {
        return Ok(Value::Null);
    };
    let mut b = uuid_bytes(&s).ok_or_else(|| bad_uuid("uuid_to_bin", &s))?;
    if swap_arg(args, ctx) {
        // Time-high first so that v1 UUIDs sort by time: swap time_low and time_high.
        let mut r = [0u8; 16];
        r[0..2].copy_from_slice(&b[6..8]);
        r[2..4].copy_from_slice(&b[4..6]);
        r[4..8].copy_from_slice(&b[0..4]);
        r[8..].copy_from_slice(&b[8..]);
        b = r;
    }
    Ok(Value::Bytes(b.to_vec()))
}

fn f_bin_to_uuid(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    let Some(b) = args[0].to_bytes() else {
        return Ok(Value::Null);
    };
    if b.len() != 16 {
        return Err(bad_uuid("bin_to_uuid", &String::from_utf8_lossy(&b)));
    }
    let mut u = [0u8; 16];
    u.copy_from_slice(&b);
    if swap_arg(args, ctx) {
        let mut r = [0u8; 16];
        r[0..4].copy_from_slice(&u[4..8]);
        r[4..6].copy_from_slice(&u[2..4]);
        r[6..8].copy_from_slice(&u[0..2]);
        r[8..].copy_from_slice(&u[8..]);
        u = r;
    }
    let h = hex_lower(&u);
    Ok(Value::Str(format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )))
}

/// INET_ATON: dotted quad, with MySQL's short forms ('127.1' is 127.0.0.1).
fn inet_aton(s: &str) -> Option<u64> {
    let parts: Vec<&str> = s.trim().split('.').collect();
    if parts.is_empty() || parts.len() > 4 {
        return None;
    }
    let mut nums = Vec::with_capacity(4);
    for p in &parts {
        if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let n: u64 = p.parse().ok()?;
        if n > 255 {
            return None;
        }
        nums.push(n);
    }
    let last = nums.pop()?;
    let mut v = 0u64;
    for (i, n) in nums.iter().enumerate() {
        v |= n << (8 * (3 - i));
    }
    Some(v | last)
}

fn f_inet_aton(args: &[Value], _ctx: &mut FnContext) -> Result<Value> {
    Ok(args[0]
        .to_text()
        .and_then(|s| inet_aton(&s))
        .map_or(Value::Null, |n| Value::Int(n as i64)))
}

fn f_inet_ntoa(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    Ok(match to_f64(&args[0], ctx) {
        Some(n) if (0.0..=u32::MAX as f64).contains(&n) => {
            Value::Str(Ipv4Addr::from(n.round() as u32).to_string())
        }
        _ => Value::Null,
    })
}

fn f_inet6_aton(args: &[Value], _ctx: &mut FnContext) -> Result<Value> {
    let Some(s) = args[0].to_text() else {
        return Ok(Value::Null);
    };
    let s = s.trim();
    if let Ok(v4) = s.parse::<Ipv4Addr>() {
        return Ok(Value::Bytes(v4.octets().to_vec()));
    }
    Ok(s.parse::<Ipv6Addr>()
        .map_or(Value::Null, |v6| Value::Bytes(v6.octets().to_vec())))
}

fn f_inet6_ntoa(args: &[Value], _ctx: &mut FnContext) -> Result<Value> {
    let Value::Bytes(b) = &args[0] else {
        return Ok(Value::Null);
    };
    Ok(match b.len() {
        4 => Value::Str(Ipv4Addr::new(b[0], b[1], b[2], b[3]).to_string()),
        16 => {
            let mut o = [0u8; 16];
            o.copy_from_slice(b);
            Value::Str(Ipv6Addr::from(o).to_string())
        }
        _ => Value::Null,
    })
}

fn f_is_ipv4(args: &[Value], _ctx: &mut FnContext) -> Result<Value> {
    Ok(Value::Int(
        args[0]
            .to_text()
            .is_some_and(|s| s.parse::<Ipv4Addr>().is_ok()) as i64,
    ))
}

fn f_is_ipv6(args: &[Value], _ctx: &mut FnContext) -> Result<Value> {
    Ok(Value::Int(
        args[0]
            .to_text()
            .is_some_and(|s| s.parse::<Ipv6Addr>().is_ok()) as i64,
    ))
}

fn f_any_value(args: &[Value], _ctx: &mut FnContext) -> Result<Value> {
    Ok(args[0].clone())
}

/// SLEEP(n): pauses the calling thread (capped at one hour) and returns 0.
fn f_sleep(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    let Some(secs) = to_f64(&args[0], ctx) else {
        return Ok(Value::Null);
    };
    if secs > 0.0 {
        std::thread::sleep(std::time::Duration::from_secs_f64(secs.min(3600.0)));
    }
    Ok(Value::Int(0))
}

/// CHARSET(x): utf8mb4 for character strings, binary for everything else.
fn f_charset(args: &[Value], _ctx: &mut FnContext) -> Result<Value> {
    Ok(Value::from(match &args[0] {
        Value::Str(_) | Value::Date(_) | Value::DateTime(_) | Value::Time(_) => "utf8mb4",
        _ => "binary",
    }))
}

/// COLLATION(x): the default utf8mb4 collation for character strings.
fn f_collation(args: &[Value], _ctx: &mut FnContext) -> Result<Value> {
    Ok(Value::from(match &args[0] {
        Value::Str(_) | Value::Date(_) | Value::DateTime(_) | Value::Time(_) => {
            "utf8mb4_0900_ai_ci"
        }
        _ => "binary",
    }))
}

/// COERCIBILITY(x) for an evaluated value: NULL is ignorable (6), numbers and
/// temporals are numeric (5), strings are coercible (4) as literals are.
fn f_coercibility(args: &[Value], _ctx: &mut FnContext) -> Result<Value> {
    Ok(Value::Int(match &args[0] {
        Value::Null => 6,
        Value::Str(_) | Value::Bytes(_) => 4,
        _ => 5,
    }))
}

pub(super) fn lookup(name: &str) -> Option<Builtin> {
    Some(match name {
        "uuid" => builtin(0, 0, f_uuid),
        "uuid_short" => builtin(0, 0, f_uuid_short),
        "is_uuid" => builtin(1, 1, f_is_uuid),
        "uuid_to_bin" => builtin(1, 2, f_uuid_to_bin),
        "bin_to_uuid" => builtin(1, 2, f_bin_to_uuid),
        "inet_aton" => builtin(1, 1, f_inet_aton),
        "inet_ntoa" => builtin(1, 1, f_inet_ntoa),
        "inet6_aton" => builtin(1, 1, f_inet6_aton),
        "inet6_ntoa" => builtin(1, 1, f_inet6_ntoa),
        "is_ipv4" => builtin(1, 1, f_is_ipv4),
        "is_ipv6" => builtin(1, 1, f_is_ipv6),
        "any_value" => builtin(1, 1, f_any_value),
        "sleep" => builtin(1, 1, f_sleep),
        "charset" => builtin(1, 1, f_charset),
        "collation" => builtin(1, 1, f_collation),
        "coercibility" => builtin(1, 1, f_coercibility),
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
    fn v(s: &str) -> Value {
        Value::from(s)
    }

    #[test]
    fn uuids() {
        let a = c("uuid", &[]).to_string();
        let b = c("uuid", &[]).to_string();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "1", "version 1: {a}");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"), "variant: {a}");
        assert_eq!(c("is_uuid", &[v(&a)]), Value::Int(1));
        let (s1, s2) = (c("uuid_short", &[]), c("uuid_short", &[]));
        let (Value::UInt(a1), Value::UInt(a2)) = (&s1, &s2) else {
            panic!("{s1:?} {s2:?}")
        };
        assert!(a2 > a1 && a1 >> 56 == 1, "{a1} {a2}");
        assert!(!super::super::resolve("uuid")
            .expect("uuid")
            .is_deterministic());
        assert!(super::super::resolve("NOW")
            .expect("now")
            .is_deterministic());
        assert_eq!(
            c("is_uuid", &[v("6ccd780c-baba-1026-9564-5b8c656024d")]),
            Value::Int(0)
        );
        let u = "6ccd780c-baba-1026-9564-5b8c656024db";
        let bin = c("uuid_to_bin", &[v(u)]);
        assert_eq!(
            c("hex", std::slice::from_ref(&bin)),
            v("6CCD780CBABA102695645B8C656024DB")
        );
        let swapped = c("uuid_to_bin", &[v(u), Value::Int(1)]);
        assert_eq!(
            c("hex", std::slice::from_ref(&swapped)),
            v("1026BABA6CCD780C95645B8C656024DB")
        );
        assert_eq!(c("bin_to_uuid", &[bin]), v(u));
        assert_eq!(c("bin_to_uuid", &[swapped, Value::Int(1)]), v(u));
    }

    #[test]
    fn inet() {
        assert_eq!(c("inet_aton", &[v("10.0.5.9")]), Value::Int(167773449));
        assert_eq!(c("inet_aton", &[v("127.1")]), Value::Int(2130706433));
        assert_eq!(c("inet_aton", &[v("1.2.3.256")]), Value::Null);
        assert_eq!(c("inet_ntoa", &[Value::Int(167773449)]), v("10.0.5.9"));
        assert_eq!(c("inet_ntoa", &[Value::Int(-1)]), Value::Null);
        assert_eq!(
            c("hex", &[c("inet6_aton", &[v("fdfe::5a55:caff:fefa:9089")])]),
            v("FDFE0000000000005A55CAFFFEFA9089")
        );
        assert_eq!(
            c("hex", &[c("inet6_aton", &[v("10.0.5.9")])]),
            v("0A000509")
        );
        assert_eq!(
            c(
                "inet6_ntoa",
                &[c("inet6_aton", &[v("fdfe::5a55:caff:fefa:9089")])]
            ),
            v("fdfe::5a55:caff:fefa:9089")
        );
        assert_eq!(
            c("inet6_ntoa", &[c("inet6_aton", &[v("10.0.5.9")])]),
            v("10.0.5.9")
        );
        assert_eq!(c("is_ipv4", &[v("10.0.5.9")]), Value::Int(1));
        assert_eq!(c("is_ipv6", &[v("10.0.5.9")]), Value::Int(0));
    }

    #[test]
    fn charsets() {
        assert_eq!(c("charset", &[v("abc")]), v("utf8mb4"));
        assert_eq!(c("charset", &[Value::Int(1)]), v("binary"));
        assert_eq!(c("collation", &[v("abc")]), v("utf8mb4_0900_ai_ci"));
        assert_eq!(c("collation", &[Value::Bytes(vec![1])]), v("binary"));
        assert_eq!(c("coercibility", &[v("abc")]), Value::Int(4));
        assert_eq!(c("coercibility", &[Value::Null]), Value::Int(6));
    }
}
