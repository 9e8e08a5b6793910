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
//! Readers ([`BTree::get`], [`BTree::scan`]) run on a [`View`](crate::pager::View) and
//! thus see one committed state across all pages they visit.

use std::ops::Bound;

use borealis_storage::PageNo;

use crate::error::{code, Error, Result};
use crate::overflow;
use crate::page::{
    cell_child_of, cell_key, corrupt, inline_cell_size, internal_cell, leaf_cell_inline,
    leaf_cell_overflow, Node, NodeMut, ValueRef, MAX_KEY_LEN, MAX_LEAF_CELL, NODE_CAPACITY,
    UNDERFULL,
};
use crate::pager::{Mtr, PageSource, Pager};

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

/// Shape statistics returned by [`BTree::check`].
#[derive(Debug, Default, Clone, PartialEq)]
pub struct TreeStats {
    pub depth: usize,
    pub leaves: usize,
    pub internals: usize,
    pub entries: u64,
    pub overflow_pages: u64,
    /// Used bytes over capacity, across all nodes.
    pub fill: f64,
}

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
    match v {
        ValueRef::Inline(b) => Ok(b.to_vec()),
        ValueRef::Overflow { len, first } => overflow::read(src, first, len),
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
        let (_, leaf) = self.descend(src, key)?;
        let img = src.page(leaf)?;
        let n = Node::new(&img, leaf)?;
        match n.search(key)? {
            Ok(i) => Ok(Some(load_value(src, n.leaf_entry(i)?.1)?)),
            Err(_) => Ok(None),
        }
    }

    /// Insert or replace; returns the previous value.
    pub fn insert(&self, mtr: &mut Mtr, key: &[u8], value: &[u8]) -> Result<Option<Vec<u8>>> {
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
        let (path, leaf) = self.descend(mtr, key)?;
        let cell = if inline_cell_size(key, value) <= MAX_LEAF_CELL {
            leaf_cell_inline(key, value)
        } else {
            let first = overflow::write(mtr, value)?;
            leaf_cell_overflow(key, value.len() as u64, first)
        };
        let img = mtr.read(leaf)?;
        let n = Node::new(&img, leaf)?;
        let (pos, old) = match n.search(key)? {
            Ok(i) => {
                let v = n.leaf_entry(i)?.1;
                let old = load_value(mtr, v)?;
                let chain = chain_of(v);
                drop(img);
                if let Some((first, len)) = chain {
                    overflow::free(mtr, first, len)?;
                }
                NodeMut::new(mtr.write(leaf)?).remove(i)?;
                (i, Some(old))
            }
            Err(i) => {
                drop(img);
                (i, None)
            }
        };
        let mut path = path;
        let split = self.insert_into(mtr, &mut path, leaf, pos, cell)?;
        if old.is_some() && !split {
            // A shorter value may leave the leaf underfull.
            self.rebalance(mtr, path, leaf)?;
        }
        Ok(old)
    }

    /// Delete `key`; returns its value if it was present.
    pub fn delete(&self, mtr: &mut Mtr, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let (path, leaf) = self.descend(mtr, key)?;
        let img = mtr.read(leaf)?;
        let n = Node::new(&img, leaf)?;
        let i = match n.search(key)? {
            Ok(i) => i,
            Err(_) => return Ok(None),
        };
        let v = n.leaf_entry(i)?.1;
        let old = load_value(mtr, v)?;
        let chain = chain_of(v);
        drop(img);
        if let Some((first, len)) = chain {
            overflow::free(mtr, first, len)?;
        }
        NodeMut::new(mtr.write(leaf)?).remove(i)?;
        self.rebalance(mtr, path, leaf)?;
        Ok(Some(old))
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
    /// `reverse`, until `f` returns false. Runs on one consistent committed state; `f`
    /// must not commit an Mtr of this pager (it would wait for the scan to end).
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
                    let (_, leaf) = self.descend(src, k)?;
                    let img = src.page(leaf)?;
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
                    let (_, leaf) = self.descend(src, k)?;
                    let img = src.page(leaf)?;
                    let i = match Node::new(&img, leaf)?.search(k)? {
                        Ok(i) if matches!(upper, Bound::Included(_)) => i as isize,
                        Ok(i) | Err(i) => i as isize - 1,
                    };
                    (leaf, i)
                }
            }
        };
        let mut hops = 0u64;
        loop {
            let img = src.page(page)?;
            let n = Node::new(&img, page)?;
            if !n.is_leaf() {
                return Err(corrupt(page, "leaf chain reaches an internal node"));
            }
            if !reverse {
                while (idx as usize) < n.len() {
                    let (k, v) = n.leaf_entry(idx as usize)?;
                    if !below_upper(k) {
                        return Ok(());
                    }
                    let v = load_value(src, v)?;
                    if !f(k, &v)? {
                        return Ok(());
                    }
                    idx += 1;
                }
                page = n.next();
                idx = 0;
            } else {
                while idx >= 0 {
                    let (k, v) = n.leaf_entry(idx as usize)?;
                    if !above_lower(k) {
                        return Ok(());
                    }
                    let v = load_value(src, v)?;
                    if !f(k, &v)? {
                        return Ok(());
                    }
                    idx -= 1;
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
            hops += 1;
            if hops > 1 << 40 {
                return Err(corrupt(self.root, "cycle in the leaf chain"));
            }
        }
    }

    /// Number of entries (a full scan).
    pub fn count(&self, pager: &Pager) -> Result<u64> {
        let mut c = 0u64;
        self.scan(
            pager,
            Bound::Unbounded,
            Bound::Unbounded,
            false,
            &mut |_, _| {
                c += 1;
                Ok(true)
            },
        )?;
        Ok(c)
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
            mtr.free(page)?;
        }
        Ok(())
    }

    /// Walk the whole tree and verify every invariant in the module doc. Returns shape
    /// statistics. Meant for tests and `CHECK TABLE`.
    pub fn check<S: PageSource + ?Sized>(&self, src: &S) -> Result<TreeStats> {
        struct Walk {
            stats: TreeStats,
            used: u64,
            /// Per level: node pages left to right.
            levels: Vec<Vec<PageNo>>,
            leaf_depth: Option<usize>,
        }
        fn fail(page: PageNo, what: String) -> Error {
            Error::internal(format!("B+tree check failed at page {page}: {what}"))
        }
        fn walk<S: PageSource + ?Sized>(
            t: &BTree,
            src: &S,
            w: &mut Walk,
            page: PageNo,
            depth: usize,
            lo: Option<&[u8]>,
            hi: Option<&[u8]>,
        ) -> Result<()> {
            if depth > MAX_DEPTH {
                return Err(fail(page, "too deep".into()));
            }
            let img = src.page(page)?;
            let n = Node::new(&img, page)?;
            if w.levels.len() <= depth {
                w.levels.push(Vec::new());
            }
            w.levels[depth].push(page);
            w.used += n.used() as u64;
            let mut prev: Option<&[u8]> = None;
            for i in 0..n.len() {
                let k = n.key(i)?;
                if k.len() > MAX_KEY_LEN {
                    return Err(fail(page, format!("key {i} too long")));
                }
                if prev.is_some_and(|p| p >= k) {
                    return Err(fail(page, format!("keys out of order at {i}")));
                }
                if lo.is_some_and(|l| k < l) || hi.is_some_and(|h| k >= h) {
                    return Err(fail(page, format!("key {i} outside its parent's range")));
                }
                prev = Some(k);
            }
            if n.is_leaf() {
                match w.leaf_depth {
                    None => w.leaf_depth = Some(depth),
                    Some(d) if d != depth => {
                        return Err(fail(page, format!("leaf at depth {depth}, others at {d}")))
                    }
                    _ => {}
                }
                w.stats.leaves += 1;
                w.stats.entries += n.len() as u64;
                for i in 0..n.len() {
                    if let ValueRef::Overflow { len, first } = n.leaf_entry(i)?.1 {
                        if len as usize + n.key(i)?.len() + 4 <= MAX_LEAF_CELL {
                            return Err(fail(page, format!("short value {i} in overflow")));
                        }
                        overflow::read(src, first, len)?;
                        w.stats.overflow_pages += overflow::chain_pages(len);
                    }
                }
            } else {
                w.stats.internals += 1;
                if page != t.root && n.is_empty() {
                    return Err(fail(page, "non-root internal node with one child".into()));
                }
                for pos in 0..=n.len() {
                    let clo = if pos == 0 { lo } else { Some(n.key(pos - 1)?) };
                    let chi = if pos == n.len() {
                        hi
                    } else {
                        Some(n.key(pos)?)
                    };
                    walk(t, src, w, n.child(pos)?, depth + 1, clo, chi)?;
                }
            }
            Ok(())
        }
        let mut w = Walk {
            stats: TreeStats::default(),
            used: 0,
            levels: Vec::new(),
            leaf_depth: None,
        };
        walk(self, src, &mut w, self.root, 0, None, None)?;
        // Fill: every non-root node but the rightmost of its level.
        for level in w.levels.iter().skip(1) {
            for &p in &level[..level.len() - 1] {
                let img = src.page(p)?;
                let n = Node::new(&img, p)?;
                if n.used() < UNDERFULL || n.is_empty() {
                    return Err(fail(p, format!("underfull: {} bytes used", n.used())));
                }
            }
            let last = *level.last().expect("levels are non-empty");
            if Node::new(&*src.page(last)?, last)?.is_empty() {
                return Err(fail(last, "empty non-root node".into()));
            }
        }
        // Leaf chain: exactly the leaves, left to right, linked both ways.
        let leaves = w.levels.last().expect("the root level exists");
        for (i, &p) in leaves.iter().enumerate() {
            let img = src.page(p)?;
            let n = Node::new(&img, p)?;
            let want_prev = if i == 0 { 0 } else { leaves[i - 1] };
            let want_next = leaves.get(i + 1).copied().unwrap_or(0);
            if n.prev() != want_prev || n.next() != want_next {
                return Err(fail(
                    p,
                    format!(
                        "sibling links ({}, {}) should be ({want_prev}, {want_next})",
                        n.prev(),
                        n.next()
                    ),
                ));
            }
        }
        w.stats.depth = w.levels.len();
        let nodes = (w.stats.leaves + w.stats.internals) as f64;
        w.stats.fill = w.used as f64 / (nodes * NODE_CAPACITY as f64);
        Ok(w.stats)
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
mod tests {
    use super::*;
    use borealis_storage::mem::MemVolume;
    use borealis_storage::Volume;
    use borealis_storage::PAGE_SIZE as PAGE_SIZE_BYTES;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use std::collections::BTreeMap;
    use std::sync::Arc;

    fn as_ref(b: &Bound<Vec<u8>>) -> Bound<&[u8]> {
        match b {
            Bound::Included(x) => Bound::Included(x.as_slice()),
            Bound::Excluded(x) => Bound::Excluded(x.as_slice()),
            Bound::Unbounded => Bound::Unbounded,
        }
    }

    fn seed() -> u64 {
        let s = std::env::var("BTREE_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(rand::random);
        println!("seed = {s} (rerun with BTREE_SEED={s})");
        s
    }

    fn pager(pool: usize) -> (Arc<dyn Volume>, Pager) {
        let v: Arc<dyn Volume> = Arc::new(MemVolume::new());
        let p = Pager::open(v.clone(), pool).unwrap();
        (v, p)
    }

    fn new_tree(p: &Pager) -> BTree {
        let mut m = p.begin();
        let t = BTree::create(&mut m).unwrap();
        m.commit().unwrap();
        t
    }

    /// Key for model number `n`: memcomparable prefix, varied lengths, a few very long.
    fn key_of(n: u32) -> Vec<u8> {
        let mut k = n.to_be_bytes().to_vec();
        let extra = if n % 997 == 3 {
            MAX_KEY_LEN - 4 - (n as usize % 700)
        } else {
            n as usize % 37
        };
        k.extend(std::iter::repeat_n(b'k', extra));
        k
    }

    fn value_of(rng: &mut StdRng) -> Vec<u8> {
        let len = match rng.gen_range(0..1000) {
            0..=4 => rng.gen_range(5_000..40_000), // overflow
            5..=40 => rng.gen_range(1_000..4_100), // around the inline limit
            _ => rng.gen_range(0..200),
        };
        let b: u8 = rng.gen();
        (0..len).map(|i| b.wrapping_add(i as u8)).collect()
    }

    fn all(t: &BTree, p: &Pager, reverse: bool) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut out = Vec::new();
        t.scan(
            p,
            Bound::Unbounded,
            Bound::Unbounded,
            reverse,
            &mut |k, v| {
                out.push((k.to_vec(), v.to_vec()));
                Ok(true)
            },
        )
        .unwrap();
        out
    }

    fn assert_matches(t: &BTree, p: &Pager, model: &BTreeMap<Vec<u8>, Vec<u8>>) {
        let fwd = all(t, p, false);
        assert_eq!(fwd.len(), model.len());
        assert!(fwd
            .iter()
            .zip(model.iter())
            .all(|(a, b)| a.0 == *b.0 && a.1 == *b.1));
        let mut rev = all(t, p, true);
        rev.reverse();
        assert!(rev == fwd, "reverse scan differs from forward scan");
    }

    /// Keys sharing long prefixes: separators stay long, so internal nodes hold few
    /// entries and internal splits, merges and redistributions happen often.
    fn long_key_of(n: u32) -> Vec<u8> {
        let mut k = vec![b'p'; 300 + (n as usize % 7) * 150];
        if n % 501 == 7 {
            k.resize(MAX_KEY_LEN - 4, b'q');
        }
        k.extend_from_slice(&n.to_be_bytes());
        k
    }

    #[test]
    fn randomized_against_model() {
        randomized(key_of, 30_000);
    }

    #[test]
    fn randomized_long_keys_against_model() {
        randomized(long_key_of, 8_000);
    }

    fn randomized(key_of: fn(u32) -> Vec<u8>, key_space: u32) {
        let seed = seed();
        let mut rng = StdRng::seed_from_u64(seed);
        let (_v, p) = pager(64 << 20);
        let t = new_tree(&p);
        let mut model = BTreeMap::new();
        const OPS: usize = 120_000;
        let mut m = p.begin();
        for op in 0..OPS {
            // Grow for the first 60%, then shrink: exercises splits, then merges.
            let insert_pct = if op < OPS * 6 / 10 { 65 } else { 30 };
            let n = rng.gen_range(0..key_space);
            let k = key_of(n);
            if rng.gen_range(0..100) < insert_pct {
                let v = value_of(&mut rng);
                let old = t.insert(&mut m, &k, &v).unwrap();
                assert_eq!(old, model.insert(k, v), "op {op} insert");
            } else {
                let old = t.delete(&mut m, &k).unwrap();
                assert_eq!(old, model.remove(&k), "op {op} delete");
            }
            if op % 97 == 0 {
                let probe = key_of(rng.gen_range(0..key_space));
                assert_eq!(t.get_in(&m, &probe).unwrap(), model.get(&probe).cloned());
            }
            if op % 200 == 199 {
                m.commit().unwrap();
                m = p.begin();
            }
            if op % 20_000 == 19_999 {
                let s = t.check(&m).unwrap();
                println!("op {op}: {s:?}");
                assert_eq!(s.entries, model.len() as u64);
            }
        }
        m.commit().unwrap();
        let s = t.check(&p.view()).unwrap();
        assert_eq!(s.entries, model.len() as u64);
        assert_matches(&t, &p, &model);
        // Delete everything: the tree shrinks to its root and every page comes back.
        let mut m = p.begin();
        let keys: Vec<_> = model.keys().cloned().collect();
        for (i, k) in keys.iter().enumerate() {
            assert!(t.delete(&mut m, k).unwrap().is_some());
            if i % 5000 == 0 {
                t.check(&m).unwrap();
            }
        }
        let s = t.check(&m).unwrap();
        assert_eq!((s.depth, s.leaves, s.entries), (1, 1, 0));
        // Everything except the header and the root is on the free list.
        assert_eq!(m.free_pages().unwrap(), m.high_water().unwrap() - 2);
        m.commit().unwrap();
    }

    #[test]
    fn ascending_and_descending_inserts_fill_pages() {
        let (_v, p) = pager(64 << 20);
        for desc in [false, true] {
            let t = new_tree(&p);
            let mut m = p.begin();
            for i in 0..50_000u32 {
                let n = if desc { 50_000 - i } else { i };
                t.insert(&mut m, &n.to_be_bytes(), &[7u8; 100]).unwrap();
            }
            let s = t.check(&m).unwrap();
            m.commit().unwrap();
            println!("desc={desc}: {s:?}");
            assert_eq!(s.entries, 50_000);
            assert!(s.fill > if desc { 0.45 } else { 0.9 }, "fill {}", s.fill);
        }
    }

    #[test]
    fn range_scans_both_directions_match_model() {
        let seed = seed();
        let mut rng = StdRng::seed_from_u64(seed);
        let (_v, p) = pager(16 << 20);
        let t = new_tree(&p);
        let mut model = BTreeMap::new();
        let mut m = p.begin();
        for _ in 0..5000 {
            let k = rng.gen_range(0..10_000u32).to_be_bytes().to_vec();
            let v = value_of(&mut rng);
            t.insert(&mut m, &k, &v).unwrap();
            model.insert(k, v);
        }
        m.commit().unwrap();
        let bound = |rng: &mut StdRng, b: &mut Vec<u8>| -> Bound<Vec<u8>> {
            *b = rng.gen_range(0..10_500u32).to_be_bytes().to_vec();
            match rng.gen_range(0..3) {
                0 => Bound::Unbounded,
                1 => Bound::Included(b.clone()),
                _ => Bound::Excluded(b.clone()),
            }
        };
        for _ in 0..300 {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            let lo = bound(&mut rng, &mut a);
            let hi = bound(&mut rng, &mut b);
            let reverse = rng.gen_bool(0.5);
            let limit = rng.gen_range(1..200usize);
            let mut got = Vec::new();
            t.scan(&p, as_ref(&lo), as_ref(&hi), reverse, &mut |k, v| {
                got.push((k.to_vec(), v.to_vec()));
                Ok(got.len() < limit)
            })
            .unwrap();
            let valid = match (&lo, &hi) {
                (
                    Bound::Included(l) | Bound::Excluded(l),
                    Bound::Included(h) | Bound::Excluded(h),
                ) => {
                    l < h
                        || (l == h
                            && matches!((&lo, &hi), (Bound::Included(_), Bound::Included(_))))
                }
                _ => true,
            };
            let want: Vec<_> = if !valid {
                Vec::new()
            } else if reverse {
                model
                    .range((lo.clone(), hi.clone()))
                    .rev()
                    .take(limit)
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            } else {
                model
                    .range((lo.clone(), hi.clone()))
                    .take(limit)
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            };
            assert_eq!(got, want, "lo={lo:?} hi={hi:?} reverse={reverse}");
        }
        assert_eq!(t.count(&p).unwrap(), model.len() as u64);
        let first = model.iter().next().map(|(k, v)| (k.clone(), v.clone()));
        let last = model
            .iter()
            .next_back()
            .map(|(k, v)| (k.clone(), v.clone()));
        assert_eq!(t.first(&p).unwrap(), first);
        assert_eq!(t.last(&p).unwrap(), last);
    }

    #[test]
    fn sixteen_mib_values_via_overflow() {
        let (_v, p) = pager(4 << 20);
        let t = new_tree(&p);
        let big: Vec<u8> = (0..16 << 20).map(|i: u32| (i % 251) as u8).collect();
        let mut m = p.begin();
        let hw0 = m.high_water().unwrap();
        assert_eq!(t.insert(&mut m, b"big", &big).unwrap(), None);
        t.insert(&mut m, b"small", b"x").unwrap();
        m.commit().unwrap();
        assert_eq!(t.get(&p, b"big").unwrap().as_deref(), Some(&big[..]));
        let s = t.check(&p.view()).unwrap();
        assert_eq!(s.overflow_pages, overflow::chain_pages(big.len() as u64));
        // Replace with a shorter overflow value: the old chain is freed and reused.
        let mut m = p.begin();
        let v2 = vec![9u8; 100_000];
        assert_eq!(
            t.insert(&mut m, b"big", &v2).unwrap().map(|v| v.len()),
            Some(big.len())
        );
        m.commit().unwrap();
        assert_eq!(t.get(&p, b"big").unwrap(), Some(v2));
        let mut m = p.begin();
        assert!(t.delete(&mut m, b"big").unwrap().is_some());
        let used = m.high_water().unwrap() - hw0;
        assert_eq!(m.free_pages().unwrap(), used, "every overflow page freed");
        m.commit().unwrap();
        assert_eq!(t.get(&p, b"big").unwrap(), None);
        assert_eq!(t.get(&p, b"small").unwrap().as_deref(), Some(&b"x"[..]));
    }

    #[test]
    fn tiny_pool_rereads_pages_from_the_volume() {
        let (_v, p) = pager(64 * PAGE_SIZE_BYTES);
        let t = new_tree(&p);
        let val = |i: u32| format!("value-{i:08}-{}", "v".repeat((i % 500) as usize)).into_bytes();
        let n = 80_000u32;
        for chunk in 0..6 {
            let mut m = p.begin();
            for i in (chunk..n).step_by(6) {
                t.insert(&mut m, &i.to_be_bytes(), &val(i)).unwrap();
            }
            m.commit().unwrap();
        }
        let s = t.check(&p.view()).unwrap();
        println!("{s:?} pool={:?}", p.pool_stats());
        assert!(
            s.leaves + s.internals > 1000,
            "tree of thousands of pages: {s:?}"
        );
        let before = p.pool_stats();
        for i in (0..n).step_by(7) {
            assert_eq!(t.get(&p, &i.to_be_bytes()).unwrap(), Some(val(i)));
        }
        assert_eq!(t.count(&p).unwrap(), n as u64);
        let after = p.pool_stats();
        assert!(after.pages <= 64);
        assert!(
            after.misses - before.misses > 2000,
            "{before:?} -> {after:?}"
        );
        let mut expect = n;
        t.scan(&p, Bound::Unbounded, Bound::Unbounded, true, &mut |k, v| {
            expect -= 1;
            assert_eq!(k, expect.to_be_bytes());
            assert_eq!(v, val(expect));
            Ok(true)
        })
        .unwrap();
        assert_eq!(expect, 0);
    }

    #[test]
    fn dropped_mtr_rolls_back_tree_changes() {
        let (v, p) = pager(1 << 20);
        let t = new_tree(&p);
        let mut m = p.begin();
        for i in 0..2000u32 {
            t.insert(&mut m, &i.to_be_bytes(), &[1u8; 50]).unwrap();
        }
        m.commit().unwrap();
        let lsn = v.last_lsn();
        let hw = p.begin().high_water().unwrap();
        let mut m = p.begin();
        for i in 0..2000u32 {
            if i % 2 == 0 {
                t.delete(&mut m, &i.to_be_bytes()).unwrap();
            } else {
                t.insert(&mut m, &(i + 5000).to_be_bytes(), &[2u8; 300])
                    .unwrap();
            }
        }
        assert_eq!(t.get_in(&m, &0u32.to_be_bytes()).unwrap(), None);
        assert_eq!(t.get(&p, &0u32.to_be_bytes()).unwrap(), Some(vec![1u8; 50]));
        drop(m);
        assert_eq!(v.last_lsn(), lsn);
        assert_eq!(p.begin().high_water().unwrap(), hw);
        assert_eq!(t.count(&p).unwrap(), 2000);
        t.check(&p.view()).unwrap();
    }

    #[test]
    fn reopened_pager_sees_the_same_trees() {
        let (v, p) = pager(1 << 20);
        let mut m = p.begin();
        let a = BTree::create(&mut m).unwrap();
        let b = BTree::create(&mut m).unwrap();
        m.set_root_slot(0, a.root()).unwrap();
        m.set_root_slot(1, b.root()).unwrap();
        for i in 0..5000u32 {
            a.insert(&mut m, &i.to_be_bytes(), b"a").unwrap();
            b.insert(&mut m, &i.to_le_bytes(), &i.to_be_bytes())
                .unwrap();
        }
        m.commit().unwrap();
        drop(p);
        let p = Pager::open(v, 1 << 20).unwrap();
        let a = BTree::open(p.root_slot(0).unwrap());
        let b = BTree::open(p.root_slot(1).unwrap());
        assert_eq!(a.count(&p).unwrap(), 5000);
        assert_eq!(
            b.get(&p, &77u32.to_le_bytes()).unwrap(),
            Some(77u32.to_be_bytes().to_vec())
        );
        b.check(&p.view()).unwrap();
    }

    #[test]
    fn destroy_frees_every_page() {
        let (_v, p) = pager(1 << 20);
        let mut m = p.begin();
        let hw0 = m.high_water().unwrap();
        let t = BTree::create(&mut m).unwrap();
        for i in 0..3000u32 {
            let v = if i % 500 == 0 {
                vec![3u8; 50_000]
            } else {
                vec![1u8; 200]
            };
            t.insert(&mut m, &i.to_be_bytes(), &v).unwrap();
        }
        m.commit().unwrap();
        let mut m = p.begin();
        t.destroy(&mut m).unwrap();
        assert_eq!(m.free_pages().unwrap(), m.high_water().unwrap() - hw0);
        m.commit().unwrap();
    }

    #[test]
    fn limits_are_errors() {
        let (_v, p) = pager(1 << 20);
        let t = new_tree(&p);
        let mut m = p.begin();
        let e = t
            .insert(&mut m, &vec![0u8; MAX_KEY_LEN + 1], b"")
            .unwrap_err();
        assert_eq!(e.code, 1071);
        t.insert(&mut m, &vec![0u8; MAX_KEY_LEN], b"ok").unwrap();
        t.insert(&mut m, b"", b"empty key").unwrap();
        assert_eq!(
            t.get_in(&m, b"").unwrap().as_deref(),
            Some(&b"empty key"[..])
        );
        assert_eq!(t.delete(&mut m, b"missing").unwrap(), None);
    }

    #[test]
    fn concurrent_readers_never_see_a_torn_tree() {
        let (_v, p) = pager(2 << 20);
        let t = new_tree(&p);
        let mut m = p.begin();
        for i in 0..2000u32 {
            t.insert(&mut m, &(i * 2).to_be_bytes(), &[0u8; 64])
                .unwrap();
        }
        m.commit().unwrap();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let readers: Vec<_> = (0..2)
            .map(|r| {
                let (p, stop) = (p.clone(), stop.clone());
                std::thread::spawn(move || {
                    let mut rng = StdRng::seed_from_u64(r);
                    let mut n = 0;
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        // Even keys always exist; the writer churns odd keys around them.
                        let k = rng.gen_range(0..2000u32) * 2;
                        assert!(t.get(&p, &k.to_be_bytes()).unwrap().is_some(), "lost {k}");
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        let mut rng = StdRng::seed_from_u64(99);
        for round in 0..60 {
            let mut m = p.begin();
            for _ in 0..100 {
                let k = rng.gen_range(0..2000u32) * 2 + 1;
                if round % 3 == 2 {
                    t.delete(&mut m, &k.to_be_bytes()).unwrap();
                } else {
                    t.insert(&mut m, &k.to_be_bytes(), &[1u8; 700]).unwrap();
                }
            }
            m.commit().unwrap();
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for r in readers {
            assert!(r.join().unwrap() > 0);
        }
        t.check(&p.view()).unwrap();
    }
}
