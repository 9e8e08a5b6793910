//! Hash and encoding functions: MD5, SHA1, SHA2, CRC32, TO_BASE64/FROM_BASE64.
//!
//! MD5 and CRC32 are implemented here from their specifications (RFC 1321; the IEEE
//! 802.3 polynomial as zlib uses it) to avoid extra dependencies; SHA comes from the
//! `sha1`/`sha2` crates. Digests are lower-case hex character strings, as in MySQL.

use sha1::Digest;

use super::args::{lit, to_int};
use super::{builtin, Builtin, FnContext};
use crate::error::Result;
use crate::value::Value;

pub(crate) fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

/// MD5 per RFC 1321.
pub(crate) fn md5(data: &[u8]) -> [u8; 16] {
    const S: [u32; 64] = [
        7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5,
        9, 14, 20, 5, 9, 14, 20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10,
        15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
    ];
    // K[i] = floor(abs(sin(i + 1)) * 2^32).
    let k: Vec<u32> = (0..64)
        .map(|i| ((i as f64 + 1.0).sin().abs() * 4_294_967_296.0) as u32)
        .collect();
    let mut h: [u32; 4] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476];
    let mut msg = data.to_vec();
    let bit_len = (data.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bit_len.to_le_bytes());
    for chunk in msg.chunks(64) {
        let m: Vec<u32> = chunk
            .chunks(4)
            .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
            .collect();
        let (mut a, mut b, mut c, mut d) = (h[0], h[1], h[2], h[3]);
        for i in 0..64 {
            let (f, g) = match i / 16 {
                0 => ((b & c) | (!b & d), i),
                1 => ((d & b) | (!d & c), (5 * i + 1) % 16),
                2 => (b ^ c ^ d, (3 * i + 5) % 16),
                _ => (c ^ (b | !d), (7 * i) % 16),
            };
            let t = d;
            d = c;
            c = b;
            b = b.wrapping_add(
                a.wrapping_add(f)
                    .wrapping_add(k[i])
                    .wrapping_add(m[g])
                    .rotate_left(S[i]),
            );
            a = t;
        }
        h[0] = h[0].wrapping_add(a);
        h[1] = h[1].wrapping_add(b);
        h[2] = h[2].wrapping_add(c);
        h[3] = h[3].wrapping_add(d);
    }
    let mut out = [0u8; 16];
    for (i, w) in h.iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&w.to_le_bytes());
    }
    out
}

pub(crate) fn hex_lower(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Base64 as MySQL's TO_BASE64 writes it: padded, a newline after every 76 characters.
pub(crate) fn base64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4 + data.len() / 57);
    let mut line = 0;
    for chunk in data.chunks(3) {
        if line == 76 {
            out.push('\n');
            line = 0;
        }
        let n = (chunk[0] as u32) << 16
            | (chunk.get(1).copied().unwrap_or(0) as u32) << 8
            | chunk.get(2).copied().unwrap_or(0) as u32;
        out.push(B64[(n >> 18) as usize & 63] as char);
        out.push(B64[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 {
            B64[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if chunk.len() > 2 {
            B64[n as usize & 63] as char
        } else {
            '='
        });
        line += 4;
    }
    out
}

/// Decode base64, skipping whitespace; None when the text is not base64.
pub(crate) fn base64_decode(text: &[u8]) -> Option<Vec<u8>> {
    let mut vals = Vec::with_capacity(text.len());
    let mut pad = 0;
    for &c in text {
        if c.is_ascii_whitespace() {
            continue;
        }
        if c == b'=' {
            pad += 1;
            continue;
        }
        if pad > 0 {
            return None;
        }
        let v = B64.iter().position(|&x| x == c)? as u32;
        vals.push(v);
    }
    if pad > 2 || (vals.len() + pad) % 4 != 0 || vals.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(vals.len() * 3 / 4);
    for chunk in vals.chunks(4) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, v)| acc | v << (18 - 6 * i));
        out.push((n >> 16) as u8);
        if chunk.len() > 2 {
            out.push((n >> 8) as u8);
        }
        if chunk.len() > 3 {
            out.push(n as u8);
        }
    }
    Some(out)
}

fn f_md5(args: &[Value], _ctx: &mut FnContext) -> Result<Value> {
    Ok(args[0]
        .to_bytes()
        .map_or(Value::Null, |b| Value::Str(hex_lower(&md5(&b)))))
}

fn f_sha1(args: &[Value], _ctx: &mut FnContext) -> Result<Value> {
    Ok(args[0].to_bytes().map_or(Value::Null, |b| {
        Value::Str(hex_lower(&sha1::Sha1::digest(&b)))
    }))
}

fn f_sha2(args: &[Value], ctx: &mut FnContext) -> Result<Value> {
    let Some(b) = args[0].to_bytes() else {
        return Ok(Value::Null);
    };
    let Some(bits) = to_int(&args[1], ctx) else {
        return Ok(Value::Null);
    };
    let digest = match bits {
        0 | 256 => sha2::Sha256::digest(&b).to_vec(),
        224 => sha2::Sha224::digest(&b).to_vec(),
        384 => sha2::Sha384::digest(&b).to_vec(),
        512 => sha2::Sha512::digest(&b).to_vec(),
        _ => {
            ctx.warn(
                crate::error::code::ER_WRONG_ARGUMENTS,
                format!("Incorrect arguments to sha2: {}", lit(&args[1])),
            );
            return Ok(Value::Null);
        }
    };
    Ok(Value::Str(hex_lower(&digest)))
}

fn f_to_base64(args: &[Value], _ctx: &mut FnContext) -> Result<Value> {
    Ok(args[0]
        .to_bytes()
        .map_or(Value::Null, |b| Value::Str(base64_encode(&b))))
}

fn f_from_base64(args: &[Value], _ctx: &mut FnContext) -> Result<Value> {
    Ok(args[0]
        .to_bytes()
        .and_then(|b| base64_decode(&b))
        .map_or(Value::Null, Value::Bytes))
}

pub(super) fn lookup(name: &str) -> Option<Builtin> {
    Some(match name {
        "md5" => builtin(1, 1, f_md5),
        "sha1" | "sha" => builtin(1, 1, f_sha1),
        "sha2" => builtin(2, 2, f_sha2),
        "to_base64" => builtin(1, 1, f_to_base64),
        "from_base64" => builtin(1, 1, f_from_base64),
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

    #[test]
    fn digests() {
        // MySQL manual: MD5('testing'), SHA1('abc'), SHA2('abc', 224).
        assert_eq!(
            c("md5", &["testing".into()]),
            Value::from("ae2b1fca515949e5d54fb22b8ed95575")
        );
        assert_eq!(
            c("md5", &["".into()]),
            Value::from("d41d8cd98f00b204e9800998ecf8427e")
        );
        assert_eq!(
            c("sha1", &["abc".into()]),
            Value::from("a9993e364706816aba3e25717850c26c9cd0d89d")
        );
        assert_eq!(
            c("sha2", &["abc".into(), Value::Int(224)]),
            Value::from("23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7")
        );
        assert_eq!(c("sha2", &["abc".into(), Value::Int(7)]), Value::Null);
        assert_eq!(c("md5", &[Value::Null]), Value::Null);
    }

    #[test]
    fn base64_roundtrip() {
        assert_eq!(c("to_base64", &["abc".into()]), Value::from("YWJj"));
        assert_eq!(
            c("from_base64", &[c("to_base64", &["abc".into()])]),
            Value::Bytes(b"abc".to_vec())
        );
        assert_eq!(c("to_base64", &["ab".into()]), Value::from("YWI="));
        assert_eq!(
            c("from_base64", &["YWI=".into()]),
            Value::Bytes(b"ab".to_vec())
        );
        assert_eq!(c("from_base64", &["Y!".into()]), Value::Null);
        let long = vec![b'x'; 100];
        let enc = base64_encode(&long);
        assert_eq!(enc.split('\n').next().map(str::len), Some(76));
        assert_eq!(base64_decode(enc.as_bytes()), Some(long));
        // Seeded randomized round trip.
        let seed = 20261126u64;
        println!("seed {seed}");
        let mut x = seed;
        for n in 0..200 {
            let data: Vec<u8> = (0..n)
                .map(|_| {
                    x = x
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    (x >> 56) as u8
                })
                .collect();
            assert_eq!(base64_decode(base64_encode(&data).as_bytes()), Some(data));
        }
    }
}
