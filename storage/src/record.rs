//! The redo record codec: the bytes of one record in a segment log and on the wire.
//!
//! Layout (little endian, see docs/format.md):
//!
//! ```text
//! off size field
//!   0    4 magic      "BRRD"
//!   4    1 version    FORMAT_VERSION
//!   5    1 flags      bit 0: MTR end; other bits must be zero
//!   6    2 reserved   zero
//!   8    8 lsn        > 0
//!  16    8 epoch      writer epoch that produced the record
//!  24    8 prev_lsn   previous LSN of the same protection group (0: first), < lsn
//!  32    8 pg         protection group
//!  40    8 page       global page number
//!  48    4 len        payload length, <= MAX_PAYLOAD
//!  52  len payload    redo payload (format of crate::redo)
//! 52+len 4 crc32c     over bytes [0, 52+len)
//! ```
//!
//! Invariant: [`decode`] returns `Ok` only for bytes [`encode`] produced (up to a crc32c
//! collision); every other input is `Error::Corrupted`, never a panic.

use crate::{Error, Lsn, PageNo, Result, FORMAT_VERSION, PAGE_SIZE};

/// Record magic: "BRRD" (Borealis redo record).
pub const MAGIC: [u8; 4] = *b"BRRD";
/// Bytes before the payload.
pub const HEADER_LEN: usize = 52;
/// Bytes after the payload.
pub const TRAILER_LEN: usize = 4;
/// A payload can at most rewrite a whole page (plus a few op headers); anything larger is
/// corruption, which keeps a damaged length field from asking for gigabytes.
pub const MAX_PAYLOAD: usize = 2 * PAGE_SIZE;

const FLAG_MTR_END: u8 = 0x01;

/// One redo record as stored by segment replicas.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub lsn: Lsn,
    pub epoch: u64,
    pub prev_lsn: Lsn,
    pub pg: u64,
    pub page: PageNo,
    pub mtr_end: bool,
    pub payload: Vec<u8>,
}

impl Record {
    /// Encoded size in bytes.
    pub fn encoded_len(&self) -> usize {
        HEADER_LEN + self.payload.len() + TRAILER_LEN
    }

    /// The record as the log stream shows it to followers.
    pub fn to_log_record(&self) -> crate::LogRecord {
        crate::LogRecord {
            lsn: self.lsn,
            page: self.page,
            mtr_end: self.mtr_end,
            payload: self.payload.clone(),
        }
    }
}

/// Append the encoding of `r` to `out`. Fails only on a record that could never decode
/// (oversized payload, LSN 0, back-link not below the LSN): such a record is a caller bug
/// and must not reach disk.
pub fn encode(r: &Record, out: &mut Vec<u8>) -> Result<()> {
    if r.payload.len() > MAX_PAYLOAD {
        return Err(Error::InvalidInput(format!(
            "redo payload of {} bytes exceeds {MAX_PAYLOAD}",
            r.payload.len()
        )));
    }
    if r.lsn == 0 || r.prev_lsn >= r.lsn {
        return Err(Error::InvalidInput(format!(
            "bad lsn {} / prev {}",
            r.lsn, r.prev_lsn
        )));
    }
    let start = out.len();
    out.extend_from_slice(&MAGIC);
    out.push(FORMAT_VERSION);
    out.push(if r.mtr_end { FLAG_MTR_END } else { 0 });
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&r.lsn.to_le_bytes());
    out.extend_from_slice(&r.epoch.to_le_bytes());
    out.extend_from_slice(&r.prev_lsn.to_le_bytes());
    out.extend_from_slice(&r.pg.to_le_bytes());
    out.extend_from_slice(&r.page.to_le_bytes());
    out.extend_from_slice(&(r.payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&r.payload);
    let crc = crc32c::crc32c(&out[start..]);
    out.extend_from_slice(&crc.to_le_bytes());
    Ok(())
}

/// Encode into a fresh buffer.
pub fn encode_vec(r: &Record) -> Result<Vec<u8>> {
    let mut v = Vec::with_capacity(r.encoded_len());
    encode(r, &mut v)?;
    Ok(v)
}

fn u64_at(b: &[u8], off: usize) -> u64 {
    u64::from_le_bytes(b[off..off + 8].try_into().expect("8-byte slice"))
}

fn corrupt(msg: impl Into<String>) -> Error {
    Error::Corrupted(msg.into())
}

/// Decode the record at the start of `buf`; returns it and the bytes it used.
pub fn decode(buf: &[u8]) -> Result<(Record, usize)> {
    if buf.len() < HEADER_LEN {
        return Err(corrupt(format!(
            "truncated record header ({} bytes)",
            buf.len()
        )));
    }
    if buf[0..4] != MAGIC {
        return Err(corrupt("bad record magic"));
    }
    if buf[4] != FORMAT_VERSION {
        return Err(corrupt(format!("unsupported record version {}", buf[4])));
    }
    let flags = buf[5];
    if flags & !FLAG_MTR_END != 0 || buf[6] != 0 || buf[7] != 0 {
        return Err(corrupt(format!("unknown record flags {flags:#x}")));
    }
    let len = u32::from_le_bytes(buf[48..52].try_into().expect("4-byte slice")) as usize;
    if len > MAX_PAYLOAD {
        return Err(corrupt(format!("record payload length {len} too large")));
    }
    let total = HEADER_LEN + len + TRAILER_LEN;
    if buf.len() < total {
        return Err(corrupt(format!(
            "truncated record: need {total} bytes, have {}",
            buf.len()
        )));
    }
    let stored = u32::from_le_bytes(
        buf[HEADER_LEN + len..total]
            .try_into()
            .expect("4-byte slice"),
    );
    if crc32c::crc32c(&buf[..HEADER_LEN + len]) != stored {
        return Err(corrupt("record crc32c mismatch"));
    }
    let r = Record {
        lsn: u64_at(buf, 8),
        epoch: u64_at(buf, 16),
        prev_lsn: u64_at(buf, 24),
        pg: u64_at(buf, 32),
        page: u64_at(buf, 40),
        mtr_end: flags & FLAG_MTR_END != 0,
        payload: buf[HEADER_LEN..HEADER_LEN + len].to_vec(),
    };
    // A valid crc over invalid fields means a buggy writer; still never accept it.
    if r.lsn == 0 || r.prev_lsn >= r.lsn {
        return Err(corrupt(format!(
            "record lsn {} / prev {} inconsistent",
            r.lsn, r.prev_lsn
        )));
    }
    Ok((r, total))
}

/// Decode a concatenation of records. Stops at the first undecodable byte and returns the
/// records before it plus the offset where valid data ends (a torn tail after a crash, or
/// damage: the caller decides which by comparing with the file length).
pub fn decode_all(buf: &[u8]) -> (Vec<Record>, usize) {
    let mut out = Vec::new();
    let mut off = 0;
    while off < buf.len() {
        match decode(&buf[off..]) {
            Ok((r, n)) => {
                out.push(r);
                off += n;
            }
            Err(_) => break,
        }
    }
    (out, off)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Record {
        Record {
            lsn: 42,
            epoch: 3,
            prev_lsn: 40,
            pg: 7,
            page: 7 * 1000 + 5,
            mtr_end: true,
            payload: vec![1, 0, 0, 3, 0, 9, 9, 9],
        }
    }

    fn is_corrupt<T: std::fmt::Debug>(r: Result<T>) -> bool {
        matches!(r, Err(Error::Corrupted(_)))
    }

    #[test]
    fn roundtrip() {
        let r = sample();
        let b = encode_vec(&r).unwrap();
        assert_eq!(b.len(), r.encoded_len());
        let (d, n) = decode(&b).unwrap();
        assert_eq!(d, r);
        assert_eq!(n, b.len());
        let mut r2 = sample();
        r2.mtr_end = false;
        r2.payload.clear();
        let b2 = encode_vec(&r2).unwrap();
        assert_eq!(decode(&b2).unwrap().0, r2);
    }

    #[test]
    fn every_single_bit_flip_is_detected() {
        let b = encode_vec(&sample()).unwrap();
        for i in 0..b.len() {
            for bit in 0..8 {
                let mut c = b.clone();
                c[i] ^= 1 << bit;
                assert!(is_corrupt(decode(&c)), "flip byte {i} bit {bit} accepted");
            }
        }
    }

    #[test]
    fn every_truncation_is_detected() {
        let b = encode_vec(&sample()).unwrap();
        for n in 0..b.len() {
            assert!(is_corrupt(decode(&b[..n])), "truncation to {n} accepted");
        }
    }

    #[test]
    fn specific_corruptions() {
        let good = encode_vec(&sample()).unwrap();
        // Bad magic.
        let mut c = good.clone();
        c[0] = b'X';
        assert!(is_corrupt(decode(&c)));
        // Future version.
        let mut c = good.clone();
        c[4] = FORMAT_VERSION + 1;
        assert!(is_corrupt(decode(&c)));
        // Unknown flag bits, even with a recomputed crc.
        let mut c = good.clone();
        c[5] |= 0x80;
        let n = c.len();
        let crc = crc32c::crc32c(&c[..n - 4]);
        c[n - 4..].copy_from_slice(&crc.to_le_bytes());
        assert!(is_corrupt(decode(&c)));
        // Huge length field.
        let mut c = good.clone();
        c[48..52].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(is_corrupt(decode(&c)));
        // Inconsistent LSNs with a valid crc.
        let mut c = good.clone();
        c[24..32].copy_from_slice(&100u64.to_le_bytes());
        let crc = crc32c::crc32c(&c[..n - 4]);
        c[n - 4..].copy_from_slice(&crc.to_le_bytes());
        assert!(is_corrupt(decode(&c)));
        // Zeros (a hole in a sparse file) and garbage.
        assert!(is_corrupt(decode(&[0u8; 100])));
        assert!(is_corrupt(decode(&[0xffu8; 100])));
    }

    #[test]
    fn encode_rejects_invalid_records() {
        let mut r = sample();
        r.payload = vec![0; MAX_PAYLOAD + 1];
        assert!(encode_vec(&r).is_err());
        let mut r = sample();
        r.lsn = 0;
        r.prev_lsn = 0;
        assert!(encode_vec(&r).is_err());
        let mut r = sample();
        r.prev_lsn = r.lsn;
        assert!(encode_vec(&r).is_err());
    }

    #[test]
    fn decode_all_stops_at_torn_tail() {
        let mut buf = Vec::new();
        let mut rs = Vec::new();
        for i in 1..=5u64 {
            let mut r = sample();
            r.lsn = i * 10;
            r.prev_lsn = (i - 1) * 10;
            encode(&r, &mut buf).unwrap();
            rs.push(r);
        }
        let full = buf.len();
        let (all, end) = decode_all(&buf);
        assert_eq!(all, rs);
        assert_eq!(end, full);
        buf.truncate(full - 3);
        let (some, end) = decode_all(&buf);
        assert_eq!(some, rs[..4]);
        assert_eq!(end, full - rs[4].encoded_len());
        // Damage in the middle hides the records after it.
        let mut buf2 = Vec::new();
        for r in &rs {
            encode(r, &mut buf2).unwrap();
        }
        let mid = rs[0].encoded_len() + 10;
        buf2[mid] ^= 0xff;
        assert_eq!(decode_all(&buf2).0, rs[..1]);
    }
}
