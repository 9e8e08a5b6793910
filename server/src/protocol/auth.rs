//! Password checks for mysql_native_password and caching_sha2_password, against the
//! hashes the catalog stores (never the password itself).
//!
//! native:  client sends SHA1(pw) XOR SHA1(scramble + SHA1(SHA1(pw))); with the stored
//!          H = SHA1(SHA1(pw)) the server recovers SHA1(pw) and checks SHA1 of it is H.
//! sha2:    client sends SHA256(pw) XOR SHA256(SHA256(SHA256(pw)) + scramble); with the
//!          stored H = SHA256(SHA256(pw)) the server recovers SHA256(pw) the same way. This
//!          is the "fast path"; the full path (cleartext password over TLS) is checked by
//!          hashing the password twice. Which path a login takes is decided in conn.rs.
//!          Comparisons are constant-time.

use rand::Rng;
use sha1::Sha1;
use sha2::{Digest, Sha256};

pub const NATIVE: &str = "mysql_native_password";
pub const CACHING_SHA2: &str = "caching_sha2_password";

/// A fresh 20-byte nonce of printable ASCII (no NUL: clients treat it as a C string).
pub fn new_scramble() -> [u8; 20] {
    let mut rng = rand::thread_rng();
    let mut s = [0u8; 20];
    for b in &mut s {
        *b = rng.gen_range(0x21u8..0x7F);
    }
    s
}

fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Check a mysql_native_password response against the stored SHA1(SHA1(pw)).
pub fn verify_native(scramble: &[u8; 20], response: &[u8], stored: &[u8; 20]) -> bool {
    if response.len() != 20 {
        return false;
    }
    let mut h = Sha1::new();
    h.update(scramble);
    h.update(stored);
    let mask = h.finalize();
    let candidate: Vec<u8> = response
        .iter()
        .zip(mask.iter())
        .map(|(a, b)| a ^ b)
        .collect();
    ct_eq(&Sha1::digest(&candidate), stored)
}

/// Check a caching_sha2_password fast-path response against the stored SHA256(SHA256(pw)).
pub fn verify_sha2_fast(scramble: &[u8; 20], response: &[u8], stored: &[u8; 32]) -> bool {
    if response.len() != 32 {
        return false;
    }
    let mut h = Sha256::new();
    h.update(stored);
    h.update(scramble);
    let mask = h.finalize();
    let candidate: Vec<u8> = response
        .iter()
        .zip(mask.iter())
        .map(|(a, b)| a ^ b)
        .collect();
    ct_eq(&Sha256::digest(&candidate), stored)
}

/// Check a cleartext password (caching_sha2 full authentication, only over TLS).
pub fn verify_sha2_cleartext(password: &[u8], stored: &[u8; 32]) -> bool {
    let password = password.strip_suffix(&[0]).unwrap_or(password);
    ct_eq(&Sha256::digest(Sha256::digest(password)), stored)
}

/// SHA1(SHA1(pw)), as the catalog stores it (for tests and bootstrap checks).
pub fn native_hash(password: &str) -> [u8; 20] {
    Sha1::digest(Sha1::digest(password.as_bytes())).into()
}

/// SHA256(SHA256(pw)), as the catalog stores it.
pub fn sha2_hash(password: &str) -> [u8; 32] {
    Sha256::digest(Sha256::digest(password.as_bytes())).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use mysql_common::auth::plugins::caching_sha2_password::scramble_sha256;
    use mysql_common::auth::plugins::mysql_native_password::scramble_native;

    #[test]
    fn native_accepts_right_and_rejects_wrong() {
        let s = new_scramble();
        assert!(s.iter().all(|&b| b != 0));
        let stored = native_hash("secret");
        let good = scramble_native(&s, b"secret").unwrap();
        let bad = scramble_native(&s, b"Secret").unwrap();
        assert!(verify_native(&s, &good, &stored));
        assert!(!verify_native(&s, &bad, &stored));
        assert!(!verify_native(&s, &good[..19], &stored));
        assert!(!verify_native(&new_scramble(), &good, &stored));
    }

    #[test]
    fn sha2_fast_and_cleartext() {
        let s = new_scramble();
        let stored = sha2_hash("pässword");
        let good = scramble_sha256(&s, "pässword".as_bytes()).unwrap();
        let bad = scramble_sha256(&s, b"password").unwrap();
        assert!(verify_sha2_fast(&s, &good, &stored));
        assert!(!verify_sha2_fast(&s, &bad, &stored));
        assert!(verify_sha2_cleartext("pässword\0".as_bytes(), &stored));
        assert!(!verify_sha2_cleartext(b"x\0", &stored));
    }
}
