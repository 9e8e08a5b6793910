//! A pull-style range cursor over a snapshot, for executors that iterate lazily.
//!
//! The cursor reads at one LSN (the read point when it was made, or a given one), so the
//! whole range comes from one transaction-consistent state however many commits happen
//! meanwhile. It holds no page between calls: it reads a batch of entries, remembers the
//! last key, and resumes after it with a fresh descent. Batches start small (a cheap
//! `LIMIT 1`) and grow, and are cut by bytes so overflow values do not pile up.

use std::collections::VecDeque;
use std::ops::Bound;

use borealis_storage::Lsn;

use super::BTree;
use crate::error::Result;
use crate::pager::Pager;

const FIRST_BATCH: usize = 16;
const MAX_BATCH: usize = 1024;
const MAX_BATCH_BYTES: usize = 1 << 20;

/// An owned key/value pair.
pub type Entry = (Vec<u8>, Vec<u8>);

/// Range cursor returned by [`BTree::cursor`]; also an `Iterator` of `Result<Entry>`.
pub struct Cursor {
    tree: BTree,
    pager: Pager,
    at: Lsn,
    /// Registration that keeps storage from materializing past `at`.
    slot: Option<usize>,
    lower: Bound<Vec<u8>>,
    upper: Bound<Vec<u8>>,
    reverse: bool,
    buf: VecDeque<Entry>,
    done: bool,
    batch: usize,
}

fn owned(b: Bound<&[u8]>) -> Bound<Vec<u8>> {
    match b {
        Bound::Included(k) => Bound::Included(k.to_vec()),
        Bound::Excluded(k) => Bound::Excluded(k.to_vec()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

fn borrowed(b: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match b {
        Bound::Included(k) => Bound::Included(k),
        Bound::Excluded(k) => Bound::Excluded(k),
        Bound::Unbounded => Bound::Unbounded,
    }
}

impl BTree {
    /// A cursor over keys in `(lower, upper)`, ascending or descending, as of the
    /// current read point.
    pub fn cursor(
        &self,
        pager: &Pager,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        reverse: bool,
    ) -> Cursor {
        let (at, slot) = pager.pin();
        self.make_cursor(pager, at, slot, lower, upper, reverse)
    }

    /// A cursor reading the tree as of LSN `at`; the caller guarantees storage still
    /// holds `at` (see [`Pager::view_at`]).
    pub fn cursor_at(
        &self,
        pager: &Pager,
        at: Lsn,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        reverse: bool,
    ) -> Cursor {
        self.make_cursor(pager, at, pager.pin_at(at), lower, upper, reverse)
    }

    fn make_cursor(
        &self,
        pager: &Pager,
        at: Lsn,
        slot: Option<usize>,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        reverse: bool,
    ) -> Cursor {
        Cursor {
            tree: *self,
            pager: pager.clone(),
            at,
            slot,
            lower: owned(lower),
            upper: owned(upper),
            reverse,
            buf: VecDeque::new(),
            done: false,
            batch: FIRST_BATCH,
        }
    }
}

impl Cursor {
    /// The next entry, or None at the end of the range.
    pub fn next_entry(&mut self) -> Result<Option<Entry>> {
        if self.buf.is_empty() && !self.done {
            self.refill()?;
        }
        Ok(self.buf.pop_front())
    }

    fn refill(&mut self) -> Result<()> {
        let limit = self.batch;
        let (mut bytes, mut stopped) = (0usize, false);
        let buf = &mut self.buf;
        self.tree.scan_with(
            &self.pager.view_pinned(self.at),
            borrowed(&self.lower),
            borrowed(&self.upper),
            self.reverse,
            &mut |k, v| {
                bytes += k.len() + v.len();
                buf.push_back((k.to_vec(), v.to_vec()));
                stopped = buf.len() >= limit || bytes >= MAX_BATCH_BYTES;
                Ok(!stopped)
            },
        )?;
        if !stopped {
            self.done = true;
        }
        if let Some((last, _)) = self.buf.back() {
            let resume = Bound::Excluded(last.clone());
            if self.reverse {
                self.upper = resume;
            } else {
                self.lower = resume;
            }
        }
        self.batch = (self.batch * 2).min(MAX_BATCH);
        Ok(())
    }
}

impl Drop for Cursor {
    fn drop(&mut self) {
        self.pager.unpin(self.slot);
    }
}

impl Iterator for Cursor {
    type Item = Result<Entry>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_entry().transpose()
    }
}
