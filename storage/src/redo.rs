//! Redo payloads: what one log record does to one page, and the single function that
//! applies it. Storage nodes (materialization), the writer and replicas all call
//! [`apply`], so a record means the same thing everywhere.
//!
//! A payload is a sequence of operations (little endian):
//! - `0x01 offset:u16 len:u16 bytes[len]`: copy `bytes` to `offset` (bounds-checked);
//! - `0x02`: reset the page to zeros (page (re)initialization).
//!
//! Invariant: applying a payload produced by [`diff`]`(old, new)` to `old` yields `new`.

use crate::{Error, Result, PAGE_SIZE};

const OP_WRITE: u8 = 0x01;
const OP_ZERO: u8 = 0x02;

/// Ranges of unchanged bytes shorter than this are folded into one write: a 5-byte op
/// header costs more than copying a few equal bytes.
const MERGE_GAP: usize = 8;

/// Apply one redo payload to a page image.
pub fn apply(page: &mut [u8; PAGE_SIZE], payload: &[u8]) -> Result<()> {
    let mut i = 0;
    while i < payload.len() {
        match payload[i] {
            OP_WRITE => {
                let hdr = payload
                    .get(i + 1..i + 5)
                    .ok_or_else(|| Error::Corrupted("truncated redo write header".into()))?;
                let off = u16::from_le_bytes([hdr[0], hdr[1]]) as usize;
                let len = u16::from_le_bytes([hdr[2], hdr[3]]) as usize;
                let data = payload
                    .get(i + 5..i + 5 + len)
                    .ok_or_else(|| Error::Corrupted("truncated redo write data".into()))?;
                if off + len > PAGE_SIZE {
                    return Err(Error::Corrupted(format!(
                        "redo write {off}+{len} beyond page end"
                    )));
                }
                page[off..off + len].copy_from_slice(data);
                i += 5 + len;
            }
            OP_ZERO => {
                page.fill(0);
                i += 1;
            }
            op => return Err(Error::Corrupted(format!("unknown redo op {op:#x}"))),
        }
    }
    Ok(())
}

/// Append a write of `data` at `offset` to `out`.
pub fn push_write(out: &mut Vec<u8>, offset: usize, data: &[u8]) {
    debug_assert!(offset + data.len() <= PAGE_SIZE);
    // Writes longer than u16::MAX cannot happen: PAGE_SIZE is 16 KiB.
    out.push(OP_WRITE);
    out.extend_from_slice(&(offset as u16).to_le_bytes());
    out.extend_from_slice(&(data.len() as u16).to_le_bytes());
    out.extend_from_slice(data);
}

/// Append a "reset to zeros" op to `out`.
pub fn push_zero(out: &mut Vec<u8>) {
    out.push(OP_ZERO);
}

/// First index at or after `i` where `old` and `new` differ (PAGE_SIZE if none). Equal
/// stretches are skipped a word at a time: most of a page is unchanged by a row write,
/// and this scan runs for every page of every commit.
fn next_diff(old: &[u8; PAGE_SIZE], new: &[u8; PAGE_SIZE], mut i: usize) -> usize {
    // Equal stretches (most of a page) go by in blocks: a slice comparison is a
    // vectorized memcmp.
    const BLOCK: usize = 256;
    while i + BLOCK <= PAGE_SIZE && old[i..i + BLOCK] == new[i..i + BLOCK] {
        i += BLOCK;
    }
    while i + 8 <= PAGE_SIZE {
        let a = u64::from_le_bytes(old[i..i + 8].try_into().expect("8 bytes"));
        let b = u64::from_le_bytes(new[i..i + 8].try_into().expect("8 bytes"));
        if a != b {
            return i + ((a ^ b).trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < PAGE_SIZE && old[i] == new[i] {
        i += 1;
    }
    i
}

/// The payload that turns `old` into `new` (empty if they are equal). Changed runs
/// separated by fewer than [`MERGE_GAP`] equal bytes become one write (a write's header
/// costs more than the equal bytes it would skip).
pub fn diff(old: &[u8; PAGE_SIZE], new: &[u8; PAGE_SIZE]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = next_diff(old, new, 0);
    while i < PAGE_SIZE {
        let start = i;
        let mut end = i + 1; // exclusive end of the changed run
        loop {
            while end < PAGE_SIZE && old[end] != new[end] {
                end += 1;
            }
            let k = next_diff(old, new, end);
            if k >= PAGE_SIZE || k - end >= MERGE_GAP {
                break;
            }
            end = k + 1;
        }
        push_write(&mut out, start, &new[start..end]);
        i = next_diff(old, new, end);
    }
    if out.len() > PAGE_SIZE {
        // A full image is smaller than a diff of a mostly rewritten page.
        out.clear();
        push_write(&mut out, 0, &new[..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zero_page;

    #[test]
    fn diff_then_apply_roundtrips() {
        let old = zero_page();
        let mut new = zero_page();
        new[0] = 1;
        new[5] = 2;
        new[100..200].fill(7);
        new[PAGE_SIZE - 1] = 9;
        let p = diff(&old, &new);
        let mut page = old.clone();
        apply(&mut page, &p).unwrap();
        assert_eq!(page, new);
        assert!(diff(&new, &new).is_empty());
    }

    #[test]
    fn random_edits_roundtrip() {
        let seed: u64 = 0x5eed_d1ff;
        println!("seed {seed:#x}");
        let mut x = seed;
        let mut rnd = move |n: usize| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % n as u64) as usize
        };
        for round in 0..300 {
            let mut old = zero_page();
            for b in old.iter_mut().take(rnd(PAGE_SIZE)) {
                *b = rnd(256) as u8;
            }
            let mut new = old.clone();
            for _ in 0..rnd(20) {
                let at = rnd(PAGE_SIZE);
                let len = rnd(64).min(PAGE_SIZE - at);
                for b in &mut new[at..at + len] {
                    *b = b.wrapping_add(1 + rnd(3) as u8);
                }
            }
            if round % 7 == 0 {
                // A shift, as a B+tree insert makes.
                let at = rnd(PAGE_SIZE / 2);
                new.copy_within(at..PAGE_SIZE / 2, at + 9);
            }
            let p = diff(&old, &new);
            assert_eq!(p.is_empty(), old == new, "round {round}");
            let mut page = old.clone();
            apply(&mut page, &p).unwrap();
            assert!(page == new, "round {round}");
        }
    }

    #[test]
    fn full_rewrite_is_one_image() {
        let old = zero_page();
        let mut new = zero_page();
        for (i, b) in new.iter_mut().enumerate() {
            *b = (i % 2) as u8 + 1;
        }
        let p = diff(&old, &new);
        assert!(p.len() <= PAGE_SIZE + 5);
        let mut page = old.clone();
        apply(&mut page, &p).unwrap();
        assert_eq!(page, new);
    }

    #[test]
    fn corrupt_payloads_are_errors() {
        let mut page = zero_page();
        assert!(apply(&mut page, &[OP_WRITE, 0, 0]).is_err());
        assert!(apply(&mut page, &[OP_WRITE, 0xff, 0x3f, 2, 0, 1, 2]).is_err());
        assert!(apply(&mut page, &[0x77]).is_err());
        assert!(apply(&mut page, &[OP_WRITE, 0, 0, 4, 0, 1]).is_err());
        assert!(apply(&mut page, &[OP_ZERO]).is_ok());
    }
}
