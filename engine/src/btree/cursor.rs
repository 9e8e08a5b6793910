//! A pull-style range cursor over committed state, for executors that iterate lazily.
//!
//! The cursor holds no latch between calls: it reads a batch of entries in one consistent
//! [`View`](crate::pager::View), remembers the last key, and resumes after it with a fresh
//! descent for the next batch. So it may be kept across commits of the same pager (the
//! writer can commit while a cursor is open on its own thread), at the price that
//! batches taken after a commit see that commit. Batches start small (cheap `LIMIT 1`)
//! and grow, and are also cut by bytes so overflow values do not pile up in memory.

use std::collections::VecDeque;
use std::ops::Bound;

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
    /// A cursor over keys in `(lower, upper)`, ascending or descending.
    pub fn cursor(
        &self,
        pager: &Pager,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        reverse: bool,
    ) -> Cursor {
        Cursor {
            tree: *self,
            pager: pager.clone(),
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
        self.tree.scan(
            &self.pager,
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

impl Iterator for Cursor {
    type Item = Result<Entry>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_entry().transpose()
    }
}
