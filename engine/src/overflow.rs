//! Overflow chains: values too long to sit in a leaf cell, stored in a singly linked
//! list of whole pages. The leaf cell keeps the total length and the first page.
//!
//! Overflow page layout (little endian):
//! ```text
//! 0      u8   PT_OVERFLOW
//! 2..4   u16  bytes of value data in this page
//! 8..16  u64  next page of the chain (0 = last)
//! 16..        data
//! ```
//! Invariant: a chain of a value of `len` bytes has exactly `ceil(len / OVERFLOW_DATA)`
//! pages, every one full except the last. Readers verify this, so a damaged chain is an
//! error rather than a wrong value or an endless loop.

use borealis_storage::{PageNo, PAGE_SIZE};

use crate::error::Result;
use crate::page::{corrupt, get_u16, get_u64, put_u16, put_u64, PT_OVERFLOW};
use crate::pager::{Mtr, PageSource};

const O_LEN: usize = 2;
const O_NEXT: usize = 8;
const O_DATA: usize = 16;
/// Value bytes per overflow page.
pub const OVERFLOW_DATA: usize = PAGE_SIZE - O_DATA;

/// Number of pages a chain for `len` bytes uses.
pub fn chain_pages(len: u64) -> u64 {
    len.div_ceil(OVERFLOW_DATA as u64)
}

/// Write `value` into a new chain inside `mtr`; returns its first page.
pub fn write(mtr: &mut Mtr, value: &[u8]) -> Result<PageNo> {
    let chunks: Vec<&[u8]> = value.chunks(OVERFLOW_DATA).collect();
    let pages = chunks
        .iter()
        .map(|_| mtr.allocate())
        .collect::<Result<Vec<_>>>()?;
    for (i, chunk) in chunks.iter().enumerate() {
        let p = mtr.write(pages[i])?;
        p[0] = PT_OVERFLOW;
        put_u16(p, O_LEN, chunk.len() as u16);
        put_u64(p, O_NEXT, pages.get(i + 1).copied().unwrap_or(0));
        p[O_DATA..O_DATA + chunk.len()].copy_from_slice(chunk);
    }
    Ok(pages.first().copied().unwrap_or(0))
}

/// Walk a chain of a `len`-byte value, calling `f(page, data)` for each page.
fn walk<S: PageSource + ?Sized>(
    src: &S,
    first: PageNo,
    len: u64,
    mut f: impl FnMut(PageNo, &[u8]) -> Result<()>,
) -> Result<()> {
    let mut page = first;
    let mut left = len;
    for _ in 0..chain_pages(len) {
        let img = src.page(page)?;
        if img[0] != PT_OVERFLOW {
            return Err(corrupt(page, "expected an overflow page"));
        }
        let n = get_u16(&img, O_LEN) as usize;
        let want = left.min(OVERFLOW_DATA as u64) as usize;
        if n != want {
            return Err(corrupt(
                page,
                format!("overflow page holds {n} bytes, expected {want}"),
            ));
        }
        f(page, &img[O_DATA..O_DATA + n])?;
        left -= n as u64;
        page = get_u64(&img, O_NEXT);
    }
    if page != 0 {
        return Err(corrupt(page, "overflow chain longer than its value"));
    }
    Ok(())
}

/// Read a whole value from its chain.
pub fn read<S: PageSource + ?Sized>(src: &S, first: PageNo, len: u64) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    walk(src, first, len, |_, d| {
        out.extend_from_slice(d);
        Ok(())
    })?;
    Ok(out)
}

/// Free every page of a chain.
pub fn free(mtr: &mut Mtr, first: PageNo, len: u64) -> Result<()> {
    let mut pages = Vec::new();
    walk(mtr, first, len, |p, _| {
        pages.push(p);
        Ok(())
    })?;
    for p in pages {
        mtr.free(p)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pager::Pager;
    use borealis_storage::mem::MemVolume;
    use std::sync::Arc;

    #[test]
    fn chains_roundtrip_and_free() {
        let p = Pager::open(Arc::new(MemVolume::new()), 1 << 20).unwrap();
        for len in [
            1usize,
            OVERFLOW_DATA - 1,
            OVERFLOW_DATA,
            OVERFLOW_DATA + 1,
            100_000,
        ] {
            let v: Vec<u8> = (0..len).map(|i| (i * 7 + len) as u8).collect();
            let mut m = p.begin();
            let first = write(&mut m, &v).unwrap();
            m.commit().unwrap();
            assert_eq!(read(&p.view(), first, len as u64).unwrap(), v);
            // A wrong length is detected, not silently accepted.
            assert!(read(&p.view(), first, len as u64 + 1).is_err());
            let mut m = p.begin();
            free(&mut m, first, len as u64).unwrap();
            assert_eq!(m.free_pages().unwrap(), chain_pages(len as u64));
            drop(m);
        }
    }
}
