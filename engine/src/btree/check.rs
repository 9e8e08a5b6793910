//! The B+tree checker: walks a whole tree and verifies every structural invariant listed
//! in the `btree` module doc (ordering, key ranges, depth, fill, sibling links, overflow
//! chains). Used by tests after randomized workloads and meant for `CHECK TABLE`.

use borealis_storage::PageNo;

use super::{BTree, MAX_DEPTH};
use crate::error::{Error, Result};
use crate::overflow;
use crate::page::{Node, ValueRef, MAX_KEY_LEN, MAX_LEAF_CELL, NODE_CAPACITY, UNDERFULL};
use crate::pager::PageSource;

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

impl BTree {
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
