//! B+trees of byte-string keys (compared with memcmp) and byte-string values, stored in
//! pages through the pager. Tables (clustered by primary key) and secondary indexes are
//! both such trees; the SQL layer encodes keys memcomparably.
//!
//! Structure: internal nodes hold separators and child pointers (see `page.rs`); leaves
//! hold the entries and are doubly linked for scans in both directions. Values longer
//! than a quarter page go to overflow chains (`overflow.rs`).
//!
//! Invariants (checked by [`BTree::check`]):
//! - the root page never changes: a root split moves the root's contents into two new
//!   children, and a root with one child absorbs that child;
//! - keys are strictly increasing in a node; every key of child `i` lies in
//!   `[separator i-1, separator i)`; all leaves are at the same depth; the leaf chain
//!   visits leaves in key order;
//! - every non-root node is at least [`UNDERFULL`] full, except the rightmost node of a
//!   level (appends at the end of the key space split off a small right node so
//!   ascending inserts fill pages completely);
//! - every structural change happens inside the caller's [`Mtr`], so it is one atomic
//!   volume MTR together with the change that caused it.
//!
//! ```
//! use std::ops::Bound;
//! use std::sync::Arc;
//! use borealis_engine::btree::BTree;
//! use borealis_engine::pager::Pager;
//! use borealis_storage::mem::MemVolume;
//!
//! let pager = Pager::open(Arc::new(MemVolume::new()), 16 << 20)?;
//! let mut mtr = pager.begin(); // one writer at a time
//! let tree = BTree::in_root_slot(&mut mtr, 0)?; // created on first use
//! mtr.commit()?;
//!
//! let mut mtr = pager.begin();
//! tree.insert(&mut mtr, b"apple", b"red")?;
//! tree.insert(&mut mtr, b"banana", b"yellow")?;
//! assert_eq!(tree.get(&pager, b"apple")?, None); // not committed yet
//! mtr.commit()?; // one atomic MTR on the volume
//! assert_eq!(tree.get(&pager, b"apple")?, Some(b"red".to_vec()));
//! let keys: Vec<_> = tree
//!     .cursor(&pager, Bound::Unbounded, Bound::Unbounded, true)
//!     .map(|e| e.map(|(k, _)| k))
//!     .collect::<Result<_, _>>()?;
//! assert_eq!(keys, vec![b"banana".to_vec(), b"apple".to_vec()]);
//! # Ok::<(), borealis_engine::Error>(())
//! ```
//!
//! Readers ([`BTree::get`], [`BTree::scan`], [`Cursor`]) run on a
//! [`View`](crate::pager::View), a snapshot at one LSN, and thus see one committed state
//! across all pages they visit, without blocking the writer.

use std::ops::Bound;

use borealis_storage::PageNo;

use crate::error::{code, Error, Result};
use crate::overflow;
use crate::page::PageRef;
use crate::page::{
    cell_child_of, cell_key, corrupt, inline_cell_size, internal_cell, leaf_cell_inline,
    leaf_cell_overflow, Node, NodeMut, ValueRef, MAX_KEY_LEN, MAX_LEAF_CELL, NODE_CAPACITY,
    UNDERFULL,
};
use crate::pager::{Mtr, PageSource, Pager};

mod check;
mod cursor;

pub use check::TreeStats;
pub use cursor::Cursor;

/// Largest value accepted (MySQL's largest `max_allowed_packet`).
pub const MAX_VALUE_LEN: usize = 1 << 30;
/// Deeper than this is certainly a damaged tree (a cycle), not a big one.
const MAX_DEPTH: usize = 40;

/// Scan callback: gets each key and value, returns whether to continue.
pub type ScanFn<'a> = dyn FnMut(&[u8], &[u8]) -> Result<bool> + 'a;

/// A handle on one B+tree: just its (fixed) root page number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BTree {
    root: PageNo,
}

/// Path from the root to a node: (internal page, child position taken).
type Path = Vec<(PageNo, usize)>;

/// MySQL's ER_TOO_LONG_KEY.
const ER_TOO_LONG_KEY: u16 = 1071;

fn too_long_key(len: usize) -> Error {
    Error::new(
        ER_TOO_LONG_KEY,
        format!("Specified key was too long; max key length is {MAX_KEY_LEN} bytes (got {len})"),
    )
}

/// Load a value, following its overflow chain.
fn load_value<S: PageSource + ?Sized>(src: &S, v: ValueRef<'_>) -> Result<Vec<u8>> {
    Ok(value_bytes(src, v)?.into_owned())
}

/// A value's bytes: borrowed from the page when stored inline (a scan hands most rows
/// to its callback this way, without a copy), read from the overflow chain otherwise.
fn value_bytes<'a, S: PageSource + ?Sized>(
    src: &S,
    v: ValueRef<'a>,
) -> Result<std::borrow::Cow<'a, [u8]>> {
    match v {
        ValueRef::Inline(b) => Ok(std::borrow::Cow::Borrowed(b)),
        ValueRef::Overflow { len, first } => Ok(overflow::read(src, first, len)?.into()),
    }
}

/// Split point for `sizes` (cell bytes + slot) minimizing the byte imbalance; for an
/// internal node the cell at the split point moves up and belongs to neither side.
fn split_point(sizes: &[usize], internal: bool) -> usize {
    let total: usize = sizes.iter().sum();
    let n = sizes.len();
    let (lo, hi) = if internal { (1, n - 2) } else { (1, n - 1) };
    let mut best = lo;
    let mut best_diff = usize::MAX;
    let mut left: usize = sizes[..lo].iter().sum();
    for (k, &size) in sizes.iter().enumerate().take(hi + 1).skip(lo) {
        let right = total - left - if internal { size } else { 0 };
        let d = left.abs_diff(right);
        if d < best_diff {
            best = k;
            best_diff = d;
        }
        left += size;
    }
    best
}

/// The shortest key `s` with `left < s <= right` (requires `left < right`): a prefix of
/// `right`, so separators stay short and internal nodes fan out further.
fn shortest_separator(left: &[u8], right: &[u8]) -> Vec<u8> {
    let lcp = left.iter().zip(right).take_while(|(a, b)| a == b).count();
    right[..(lcp + 1).min(right.len())].to_vec()
}

fn sizes_of(cells: &[Vec<u8>]) -> Vec<usize> {
    cells.iter().map(|c| c.len() + 2).collect()
}

impl BTree {
    /// Create an empty tree (one empty leaf) inside `mtr`.
    pub fn create(mtr: &mut Mtr) -> Result<BTree> {
        let root = mtr.allocate()?;
        NodeMut::new(mtr.write(root)?).init(true);
        Ok(BTree { root })
    }

    /// The tree whose root is recorded in root slot `slot` of the volume header; if the
    /// slot is empty, a new tree is created and recorded there (both in `mtr`).
    pub fn in_root_slot(mtr: &mut Mtr, slot: usize) -> Result<BTree> {
        match mtr.root_slot(slot)? {
            0 => {
                let t = BTree::create(mtr)?;
                mtr.set_root_slot(slot, t.root)?;
                Ok(t)
            }
            root => Ok(BTree { root }),
        }
    }

    /// A handle on an existing tree.
    pub fn open(root: PageNo) -> BTree {
        BTree { root }
    }

    pub fn root(&self) -> PageNo {
        self.root
    }

    /// The leaf whose range holds `key`, and the path to it.
    fn descend<S: PageSource + ?Sized>(&self, src: &S, key: &[u8]) -> Result<(Path, PageNo)> {
        let mut path = Vec::new();
        let mut page = self.root;
        loop {
            let img = src.page(page)?;
            let n = Node::new(&img, page)?;
            if n.is_leaf() {
                return Ok((path, page));
            }
            if path.len() >= MAX_DEPTH {
                return Err(corrupt(self.root, "tree deeper than any real tree"));
            }
            let pos = n.child_pos(key)?;
            path.push((page, pos));
            page = n.child(pos)?;
        }
    }

    /// The leaf whose range holds `key`, with its image (the read path: no path kept).
    fn leaf_for<S: PageSource + ?Sized>(&self, src: &S, key: &[u8]) -> Result<(PageNo, PageRef)> {
        let mut page = self.root;
        for _ in 0..=MAX_DEPTH {
            let img = src.page(page)?;
            let n = Node::new(&img, page)?;
            if n.is_leaf() {
                return Ok((page, img));
            }
            page = n.child(n.child_pos(key)?)?;
        }
        Err(corrupt(self.root, "tree deeper than any real tree"))
    }

    /// The first (or last) leaf.
    fn edge_leaf<S: PageSource + ?Sized>(&self, src: &S, last: bool) -> Result<PageNo> {
        let mut page = self.root;
        for _ in 0..MAX_DEPTH {
            let img = src.page(page)?;
            let n = Node::new(&img, page)?;
            if n.is_leaf() {
                return Ok(page);
            }
            page = n.child(if last { n.len() } else { 0 })?;
        }
        Err(corrupt(self.root, "tree deeper than any real tree"))
    }

    /// Point lookup on committed state.
    pub fn get(&self, pager: &Pager, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.get_with(&pager.view(), key)
    }

    /// Point lookup seeing `mtr`'s uncommitted changes.
    pub fn get_in(&self, mtr: &Mtr, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.get_with(mtr, key)
    }

    /// Point lookup through any page source.
    pub fn get_with<S: PageSource + ?Sized>(&self, src: &S, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.with_value(src, key, |v| v.to_vec())
    }

    /// Point lookup that hands the value to `f` without copying it (unless it lives in
    /// an overflow chain).
    pub fn with_value<S: PageSource + ?Sized, R>(
        &self,
        src: &S,
        key: &[u8],
        f: impl FnOnce(&[u8]) -> R,
    ) -> Result<Option<R>> {
        let (leaf, img) = self.leaf_for(src, key)?;
        let n = Node::new(&img, leaf)?;
        match n.search(key)? {
            Ok(i) => match n.leaf_entry(i)?.1 {
                ValueRef::Inline(v) => Ok(Some(f(v))),
                ValueRef::Overflow { len, first } => Ok(Some(f(&overflow::read(src, first, len)?))),
            },
            Err(_) => Ok(None),
        }
    }

    /// Insert or replace; returns the previous value.
    pub fn insert(&self, mtr: &mut Mtr, key: &[u8], value: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.upsert(mtr, key, value, true)?.1)
    }

    /// Insert or replace without reading the previous value back; returns whether the
    /// key existed. Cheaper than [`BTree::insert`] for long values.
    pub fn put(&self, mtr: &mut Mtr, key: &[u8], value: &[u8]) -> Result<bool> {
        Ok(self.upsert(mtr, key, value, false)?.0)
    }

    fn upsert(
        &self,
        mtr: &mut Mtr,
        key: &[u8],
        value: &[u8],
        want_old: bool,
    ) -> Result<(bool, Option<Vec<u8>>)> {
        if key.len() > MAX_KEY_LEN {
            return Err(too_long_key(key.len()));
        }
        if value.len() > MAX_VALUE_LEN {
            return Err(Error::new(
                code::ER_TOO_BIG_ROWSIZE,
                format!(
                    "Row size too large: value of {} bytes exceeds {MAX_VALUE_LEN}",
                    value.len()
                ),
            ));
        }
        let (mut path, leaf) = self.descend(mtr, key)?;
        let cell = if inline_cell_size(key, value) <= MAX_LEAF_CELL {
            leaf_cell_inline(key, value)
        } else {
            let first = overflow::write(mtr, value)?;
            leaf_cell_overflow(key, value.len() as u64, first)
        };
        let img = mtr.read(leaf)?;
        let n = Node::new(&img, leaf)?;
        let i = match n.search(key)? {
            Ok(i) => i,
            Err(i) => {
                drop(img);
                self.insert_into(mtr, &mut path, leaf, i, cell)?;
                return Ok((false, None));
            }
        };
        let v = n.leaf_entry(i)?.1;
        let old = if want_old {
            Some(load_value(mtr, v)?)
        } else {
            None
        };
        let chain = chain_of(v);
        let same_size = n.cell(i)?.len() == cell.len();
        drop(img);
        if let Some((first, len)) = chain {
            overflow::free(mtr, first, len)?;
        }
        if same_size {
            // Same-size update (the common UPDATE of fixed-width columns): overwrite in
            // place, so the redo record holds just the changed bytes.
            NodeMut::new(mtr.write(leaf)?).overwrite(i, &cell);
            return Ok((true, old));
        }
        NodeMut::new(mtr.write(leaf)?).remove(i)?;
        if !self.insert_into(mtr, &mut path, leaf, i, cell)? {
            // A shorter value may leave the leaf underfull.
            self.rebalance(mtr, path, leaf)?;
        }
        Ok((true, old))
    }

    /// Delete `key`; returns its value if it was present.
    pub fn delete(&self, mtr: &mut Mtr, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.remove_key(mtr, key, true)?.1)
    }

    /// Delete `key` without reading its value back; returns whether it was present.
    pub fn remove(&self, mtr: &mut Mtr, key: &[u8]) -> Result<bool> {
        Ok(self.remove_key(mtr, key, false)?.0)
    }

    fn remove_key(
        &self,
        mtr: &mut Mtr,
        key: &[u8],
        want_old: bool,
    ) -> Result<(bool, Option<Vec<u8>>)> {
        let (path, leaf) = self.descend(mtr, key)?;
        let img = mtr.read(leaf)?;
        let n = Node::new(&img, leaf)?;
        let i = match n.search(key)? {
            Ok(i) => i,
            Err(_) => return Ok((false, None)),
        };
        let v = n.leaf_entry(i)?.1;
        let old = if want_old {
            Some(load_value(mtr, v)?)
        } else {
            None
        };
        let chain = chain_of(v);
        drop(img);
        if let Some((first, len)) = chain {
            overflow::free(mtr, first, len)?;
        }
        NodeMut::new(mtr.write(leaf)?).remove(i)?;
        self.rebalance(mtr, path, leaf)?;
        Ok((true, old))
    }

    /// Insert `cell` at slot `pos` of `page` (a leaf, or an internal node whose
    /// ancestors are `path`), splitting up the tree as needed. Returns whether `page` split.
    fn insert_into(
        &self,
        mtr: &mut Mtr,
        path: &mut Path,
        page: PageNo,
        pos: usize,
        cell: Vec<u8>,
    ) -> Result<bool> {
        if NodeMut::new(mtr.write(page)?).insert(pos, &cell)? {
            return Ok(false);
        }
        let img = mtr.read(page)?;
        let n = Node::new(&img, page)?;
        let leaf = n.is_leaf();
        let old_len = n.len();
        let (leftmost, next) = (n.leftmost(), n.next());
        let mut cells = n.cells()?;
        drop(img);
        cells.insert(pos, cell);
        let sizes = sizes_of(&cells);
        let k = if leaf && pos == old_len && next == 0 && old_len > 0 {
            // Appending at the very end of the key space: keep the old page full.
            old_len
        } else {
            split_point(&sizes, !leaf)
        };
        let left = &cells[..k];
        let (mid, right) = if leaf {
            (None, &cells[k..])
        } else {
            (Some(&cells[k]), &cells[k + 1..])
        };
        let (sep, right_leftmost) = match mid {
            Some(m) => (cell_key(m, false).to_vec(), cell_child_of(m)),
            None => (
                shortest_separator(
                    cell_key(left.last().expect("k >= 1"), true),
                    cell_key(&right[0], true),
                ),
                0,
            ),
        };
        if page == self.root {
            // Keep the root in place: its halves move to two new pages.
            let a = mtr.allocate()?;
            let b = mtr.allocate()?;
            let mut ma = NodeMut::new(mtr.write(a)?);
            ma.init(leaf);
            ma.set_leftmost(leftmost);
            if leaf {
                ma.set_next(b);
            }
            ma.rebuild(leaf, left);
            let mut mb = NodeMut::new(mtr.write(b)?);
            mb.init(leaf);
            mb.set_leftmost(right_leftmost);
            if leaf {
                mb.set_prev(a);
            }
            mb.rebuild(leaf, right);
            let mut mr = NodeMut::new(mtr.write(self.root)?);
            mr.init(false);
            mr.set_leftmost(a);
            mr.rebuild(false, &[internal_cell(&sep, b)]);
            return Ok(true);
        }
        let r = mtr.allocate()?;
        let mut mr = NodeMut::new(mtr.write(r)?);
        mr.init(leaf);
        mr.set_leftmost(right_leftmost);
        if leaf {
            mr.set_prev(page);
            mr.set_next(next);
        }
        mr.rebuild(leaf, right);
        let mut ml = NodeMut::new(mtr.write(page)?);
        if leaf {
            ml.set_next(r);
        }
        ml.rebuild(leaf, left);
        if leaf && next != 0 {
            NodeMut::new(mtr.write(next)?).set_prev(r);
        }
        let (parent, ppos) = path.pop().expect("a non-root node has a parent");
        self.insert_into(mtr, path, parent, ppos, internal_cell(&sep, r))?;
        Ok(true)
    }

    /// Restore the fill invariant from `page` (whose ancestors are `path`) upwards after
    /// it lost bytes: merge with a sibling if both fit in one page, else share evenly.
    fn rebalance(&self, mtr: &mut Mtr, mut path: Path, mut page: PageNo) -> Result<()> {
        loop {
            let img = mtr.read(page)?;
            let n = Node::new(&img, page)?;
            if page == self.root {
                if !n.is_leaf() && n.is_empty() {
                    // A root with one child absorbs it (the tree gets one level shorter).
                    let child = n.leftmost();
                    drop(img);
                    let cimg = mtr.read(child)?;
                    Node::new(&cimg, child)?;
                    mtr.write(self.root)?.copy_from_slice(&cimg[..]);
                    drop(cimg);
                    mtr.free(child)?;
                    continue;
                }
                return Ok(());
            }
            if n.used() >= UNDERFULL {
                return Ok(());
            }
            let leaf = n.is_leaf();
            drop(img);
            let &(parent, pos) = path.last().expect("a non-root node has a parent");
            let pimg = mtr.read(parent)?;
            let pn = Node::new(&pimg, parent)?;
            if pn.is_empty() {
                return Err(corrupt(parent, "non-root internal node with one child"));
            }
            // Pair the node with its left sibling, or its right one if it is leftmost.
            let lpos = pos.saturating_sub(1);
            let (l, r) = (pn.child(lpos)?, pn.child(lpos + 1)?);
            let sep = pn.key(lpos)?.to_vec();
            drop(pimg);
            let limg = mtr.read(l)?;
            let rimg = mtr.read(r)?;
            let (ln, rn) = (Node::new(&limg, l)?, Node::new(&rimg, r)?);
            if ln.is_leaf() != leaf || rn.is_leaf() != leaf {
                return Err(corrupt(parent, "children at different levels"));
            }
            let mut cells = ln.cells()?;
            if !leaf {
                cells.push(internal_cell(&sep, rn.leftmost()));
            }
            cells.extend(rn.cells()?);
            let r_next = rn.next();
            drop((limg, rimg));
            let sizes = sizes_of(&cells);
            if sizes.iter().sum::<usize>() <= NODE_CAPACITY {
                // Merge r into l and drop r from the parent.
                let mut ml = NodeMut::new(mtr.write(l)?);
                if leaf {
                    ml.set_next(r_next);
                }
                ml.rebuild(leaf, &cells);
                if leaf && r_next != 0 {
                    NodeMut::new(mtr.write(r_next)?).set_prev(l);
                }
                mtr.free(r)?;
                NodeMut::new(mtr.write(parent)?).remove(lpos)?;
                path.pop();
                page = parent;
                continue;
            }
            // Redistribute: both halves end up well above UNDERFULL.
            let k = split_point(&sizes, !leaf);
            let (sep, r_leftmost) = if leaf {
                (
                    shortest_separator(cell_key(&cells[k - 1], true), cell_key(&cells[k], true)),
                    0,
                )
            } else {
                (
                    cell_key(&cells[k], false).to_vec(),
                    cell_child_of(&cells[k]),
                )
            };
            NodeMut::new(mtr.write(l)?).rebuild(leaf, &cells[..k]);
            let mut mr = NodeMut::new(mtr.write(r)?);
            if leaf {
                mr.rebuild(true, &cells[k..]);
            } else {
                mr.set_leftmost(r_leftmost);
                mr.rebuild(false, &cells[k + 1..]);
            }
            // Replace the separator; a longer one may split the parent.
            path.pop();
            NodeMut::new(mtr.write(parent)?).remove(lpos)?;
            if self.insert_into(mtr, &mut path, parent, lpos, internal_cell(&sep, r))? {
                return Ok(());
            }
            page = parent;
        }
    }

    /// Visit entries with keys in `(lower, upper)` in ascending order, or descending if
    /// `reverse`, until `f` returns false. Reads one snapshot (the read point at the
    /// start); `f` may do anything, including committing on this pager.
    pub fn scan(
        &self,
        pager: &Pager,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        reverse: bool,
        f: &mut ScanFn<'_>,
    ) -> Result<()> {
        self.scan_with(&pager.view(), lower, upper, reverse, f)
    }

    /// [`BTree::scan`] seeing `mtr`'s uncommitted changes.
    pub fn scan_in(
        &self,
        mtr: &Mtr,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        reverse: bool,
        f: &mut ScanFn<'_>,
    ) -> Result<()> {
        self.scan_with(mtr, lower, upper, reverse, f)
    }

    /// [`BTree::scan`] through any page source.
    pub fn scan_with<S: PageSource + ?Sized>(
        &self,
        src: &S,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        reverse: bool,
        f: &mut ScanFn<'_>,
    ) -> Result<()> {
        let below_upper = |k: &[u8]| match upper {
            Bound::Included(u) => k <= u,
            Bound::Excluded(u) => k < u,
            Bound::Unbounded => true,
        };
        let above_lower = |k: &[u8]| match lower {
            Bound::Included(l) => k >= l,
            Bound::Excluded(l) => k > l,
            Bound::Unbounded => true,
        };
        // Start leaf and position (as isize: -1 means "before this leaf's first cell").
        let (mut page, mut idx): (PageNo, isize) = if !reverse {
            match lower {
                Bound::Unbounded => (self.edge_leaf(src, false)?, 0),
                Bound::Included(k) | Bound::Excluded(k) => {
                    let (leaf, img) = self.leaf_for(src, k)?;
                    let i = match Node::new(&img, leaf)?.search(k)? {
                        Ok(i) if matches!(lower, Bound::Excluded(_)) => i + 1,
                        Ok(i) | Err(i) => i,
                    };
                    (leaf, i as isize)
                }
            }
        } else {
            match upper {
                Bound::Unbounded => {
                    let leaf = self.edge_leaf(src, true)?;
                    let img = src.page(leaf)?;
                    (leaf, Node::new(&img, leaf)?.len() as isize - 1)
                }
                Bound::Included(k) | Bound::Excluded(k) => {
                    let (leaf, img) = self.leaf_for(src, k)?;
                    let i = match Node::new(&img, leaf)?.search(k)? {
                        Ok(i) if matches!(upper, Bound::Included(_)) => i as isize,
                        Ok(i) | Err(i) => i as isize - 1,
                    };
                    (leaf, i)
                }
            }
        };
        // Key at the edge of the previous leaf: the next leaf must continue strictly
        // beyond it, so a damaged chain (even a cycle) is an error, not an endless loop.
        let mut boundary: Option<Vec<u8>> = None;
        loop {
            let img = src.page(page)?;
            let n = Node::new(&img, page)?;
            if !n.is_leaf() {
                return Err(corrupt(page, "leaf chain reaches an internal node"));
            }
            if let Some(b) = &boundary {
                let ordered = match n.len() {
                    0 => false, // only the root leaf may be empty
                    _ if !reverse => n.key(0)? > b.as_slice(),
                    len => n.key(len - 1)? < b.as_slice(),
                };
                if !ordered {
                    return Err(corrupt(page, "leaf chain out of key order"));
                }
            }
            if !reverse {
                while (idx as usize) < n.len() {
                    let (k, v) = n.leaf_entry(idx as usize)?;
                    if !below_upper(k) {
                        return Ok(());
                    }
                    let v = value_bytes(src, v)?;
                    if !f(k, &v)? {
                        return Ok(());
                    }
                    idx += 1;
                }
                if !n.is_empty() {
                    boundary = Some(n.key(n.len() - 1)?.to_vec());
                }
                page = n.next();
                idx = 0;
            } else {
                while idx >= 0 {
                    let (k, v) = n.leaf_entry(idx as usize)?;
                    if !above_lower(k) {
                        return Ok(());
                    }
                    let v = value_bytes(src, v)?;
                    if !f(k, &v)? {
                        return Ok(());
                    }
                    idx -= 1;
                }
                if !n.is_empty() {
                    boundary = Some(n.key(0)?.to_vec());
                }
                page = n.prev();
                if page != 0 {
                    let pimg = src.page(page)?;
                    idx = Node::new(&pimg, page)?.len() as isize - 1;
                }
            }
            if page == 0 {
                return Ok(());
            }
        }
    }

    /// Number of entries (a full scan).
    pub fn count(&self, pager: &Pager) -> Result<u64> {
        self.count_with(&pager.view())
    }

    /// Number of entries, walking the leaf chain without loading any value.
    pub fn count_with<S: PageSource + ?Sized>(&self, src: &S) -> Result<u64> {
        let mut page = self.edge_leaf(src, false)?;
        let mut total = 0u64;
        let mut boundary: Option<Vec<u8>> = None;
        while page != 0 {
            let img = src.page(page)?;
            let n = Node::new(&img, page)?;
            if !n.is_leaf() {
                return Err(corrupt(page, "leaf chain reaches an internal node"));
            }
            if n.is_empty() {
                if boundary.is_some() {
                    return Err(corrupt(page, "empty leaf in the chain"));
                }
            } else {
                // Strictly increasing across leaves, so a cycle is an error, not a hang.
                if boundary
                    .as_deref()
                    .is_some_and(|b| n.key(0).is_ok_and(|k| k <= b))
                {
                    return Err(corrupt(page, "leaf chain out of key order"));
                }
                boundary = Some(n.key(n.len() - 1)?.to_vec());
            }
            total += n.len() as u64;
            page = n.next();
        }
        Ok(total)
    }

    fn edge_entry(&self, pager: &Pager, last: bool) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        let mut out = None;
        self.scan(
            pager,
            Bound::Unbounded,
            Bound::Unbounded,
            last,
            &mut |k, v| {
                out = Some((k.to_vec(), v.to_vec()));
                Ok(false)
            },
        )?;
        Ok(out)
    }

    /// The smallest entry.
    pub fn first(&self, pager: &Pager) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        self.edge_entry(pager, false)
    }

    /// The largest entry.
    pub fn last(&self, pager: &Pager) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        self.edge_entry(pager, true)
    }

    /// Free every page of the tree, overflow chains and root included.
    pub fn destroy(self, mtr: &mut Mtr) -> Result<()> {
        self.free_pages(mtr, true)
    }

    /// Remove every entry, freeing every page but the root, which becomes an empty leaf
    /// (`TRUNCATE`: the tree keeps its root page number).
    pub fn clear(&self, mtr: &mut Mtr) -> Result<()> {
        self.free_pages(mtr, false)?;
        NodeMut::new(mtr.write(self.root)?).init(true);
        Ok(())
    }

    fn free_pages(&self, mtr: &mut Mtr, with_root: bool) -> Result<()> {
        let mut stack = vec![(self.root, 0usize)];
        while let Some((page, depth)) = stack.pop() {
            if depth > MAX_DEPTH {
                return Err(corrupt(self.root, "tree deeper than any real tree"));
            }
            let img = mtr.read(page)?;
            let n = Node::new(&img, page)?;
            let mut chains = Vec::new();
            if n.is_leaf() {
                for i in 0..n.len() {
                    if let ValueRef::Overflow { len, first } = n.leaf_entry(i)?.1 {
                        chains.push((first, len));
                    }
                }
            } else {
                for pos in 0..=n.len() {
                    stack.push((n.child(pos)?, depth + 1));
                }
            }
            drop(img);
            for (first, len) in chains {
                overflow::free(mtr, first, len)?;
            }
            if with_root || page != self.root {
                mtr.free(page)?;
            }
        }
        Ok(())
    }
}

/// The overflow chain (first page, length) a value lives in, if any.
fn chain_of(v: ValueRef<'_>) -> Option<(PageNo, u64)> {
    match v {
        ValueRef::Inline(_) => None,
        ValueRef::Overflow { len, first } => Some((first, len)),
    }
}

#[cfg(test)]
mod tests;
