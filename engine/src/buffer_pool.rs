//! The buffer pool: a bounded cache of committed page images, nothing more.
//!
//! Pages are never written back (the volume only takes redo), so any entry may be
//! dropped at any time and read again from storage at the read point. Entries are
//! `Arc`'d immutable images: a reader holding one keeps it alive after eviction, so
//! eviction never has to wait for a pin.
//!
//! The pool is split into shards (by page number), each a CLOCK ring under its own mutex,
//! so concurrent point reads rarely contend. One exception to "drop at any time": an entry
//! installed by a commit whose LSN is above the volume durable LSN is kept (Aurora's rule:
//! evict only pages whose page LSN <= VDL), so storage is never asked for a page as of a
//! point it may not hold yet. The byte bound may be exceeded while such pages wait.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use borealis_storage::{Lsn, PageNo, PAGE_SIZE};
use parking_lot::Mutex;

use crate::page::PageRef;

/// Page numbers are well-distributed integers: a multiplicative hash is enough.
#[derive(Default)]
struct PageHasher(u64);

impl Hasher for PageHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type PageMap<V> = HashMap<PageNo, V, BuildHasherDefault<PageHasher>>;

struct Slot {
    page: PageNo,
    img: PageRef,
    /// LSN of the commit that produced this image (0 if it was read from storage).
    lsn: Lsn,
    referenced: bool,
}

struct Shard {
    map: PageMap<usize>,
    slots: Vec<Slot>,
    hand: usize,
    cap: usize,
    // Counted under the shard lock: a shared atomic would be a contended cache line.
    hits: u64,
    misses: u64,
    evictions: u64,
}

impl Shard {
    /// Remove one evictable entry chosen by CLOCK; false if every entry is protected.
    fn evict_one(&mut self, durable: Lsn) -> bool {
        let n = self.slots.len();
        for _ in 0..2 * n {
            if self.hand >= self.slots.len() {
                self.hand = 0;
            }
            let s = &mut self.slots[self.hand];
            if s.referenced {
                s.referenced = false;
            } else if s.lsn <= durable {
                let victim = self.hand;
                let old = self.slots.swap_remove(victim);
                self.map.remove(&old.page);
                if let Some(moved) = self.slots.get(victim) {
                    self.map.insert(moved.page, victim);
                }
                return true;
            }
            self.hand += 1;
        }
        false
    }
}

/// Counters for tests and monitoring.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    pub hits: u64,
    pub misses: u64,
    pub evictions: u64,
    pub pages: usize,
    pub capacity_pages: usize,
}

/// A bounded, sharded CLOCK cache of page images.
pub struct BufferPool {
    shards: Box<[Mutex<Shard>]>,
    capacity_pages: usize,
}

/// The pool never holds fewer pages than this, whatever the byte bound: a B+tree
/// operation touches a handful of pages at once.
pub const MIN_POOL_PAGES: usize = 16;

impl BufferPool {
    /// A pool holding at most `bytes` of page images (at least [`MIN_POOL_PAGES`] pages).
    pub fn new(bytes: usize) -> Self {
        let capacity_pages = (bytes / PAGE_SIZE).max(MIN_POOL_PAGES);
        // Shards of at least 64 pages each keep CLOCK meaningful in small pools.
        let nshards = (capacity_pages / 64).clamp(1, 16);
        let shards = (0..nshards)
            .map(|i| {
                let cap = capacity_pages / nshards + usize::from(i < capacity_pages % nshards);
                Mutex::new(Shard {
                    map: PageMap::default(),
                    slots: Vec::with_capacity(cap.min(4096)),
                    hand: 0,
                    cap,
                    hits: 0,
                    misses: 0,
                    evictions: 0,
                })
            })
            .collect();
        BufferPool {
            shards,
            capacity_pages,
        }
    }

    fn shard(&self, page: PageNo) -> &Mutex<Shard> {
        let h = page.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32;
        &self.shards[(h % self.shards.len() as u64) as usize]
    }

    /// The cached image of `page`, if any.
    pub fn get(&self, page: PageNo) -> Option<PageRef> {
        let mut g = self.shard(page).lock();
        let g = &mut *g;
        match g.map.get(&page) {
            Some(&i) => {
                g.hits += 1;
                let s = &mut g.slots[i];
                s.referenced = true;
                Some(s.img.clone())
            }
            None => {
                g.misses += 1;
                None
            }
        }
    }

    /// Insert or replace the image of `page`. `lsn` is the commit LSN that produced it
    /// (0 for an image read from storage); `durable` is the current volume durable LSN.
    pub fn insert(&self, page: PageNo, img: PageRef, lsn: Lsn, durable: Lsn) {
        let mut g = self.shard(page).lock();
        if let Some(&i) = g.map.get(&page) {
            let s = &mut g.slots[i];
            s.img = img;
            s.lsn = s.lsn.max(lsn);
            s.referenced = true;
            return;
        }
        while g.slots.len() >= g.cap {
            if !g.evict_one(durable) {
                break;
            }
            g.evictions += 1;
        }
        let i = g.slots.len();
        g.slots.push(Slot {
            page,
            img,
            lsn,
            referenced: false,
        });
        g.map.insert(page, i);
    }

    /// Insert `img` only if `page` is not cached (a reader filling a miss must not
    /// replace a newer image a commit installed meanwhile).
    pub fn insert_if_absent(&self, page: PageNo, img: PageRef, durable: Lsn) -> PageRef {
        if let Some(cur) = self.peek(page) {
            return cur;
        }
        self.insert(page, img.clone(), 0, durable);
        img
    }

    fn peek(&self, page: PageNo) -> Option<PageRef> {
        let g = self.shard(page).lock();
        g.map.get(&page).map(|&i| g.slots[i].img.clone())
    }

    /// Drop `page` from the pool (replicas drop pages they do not apply redo to).
    pub fn invalidate(&self, page: PageNo) {
        let mut g = self.shard(page).lock();
        if let Some(i) = g.map.remove(&page) {
            g.slots.swap_remove(i);
            if let Some(moved) = g.slots.get(i) {
                let p = moved.page;
                g.map.insert(p, i);
            }
        }
    }

    /// Drop every entry.
    pub fn clear(&self) {
        for s in self.shards.iter() {
            let mut g = s.lock();
            g.map.clear();
            g.slots.clear();
            g.hand = 0;
        }
    }

    pub fn stats(&self) -> PoolStats {
        let mut st = PoolStats {
            capacity_pages: self.capacity_pages,
            ..PoolStats::default()
        };
        for s in self.shards.iter() {
            let g = s.lock();
            st.hits += g.hits;
            st.misses += g.misses;
            st.evictions += g.evictions;
            st.pages += g.slots.len();
        }
        st
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::page::new_page_ref;
    use std::sync::Arc;

    fn img(b: u8) -> PageRef {
        let mut p = new_page_ref();
        Arc::make_mut(&mut p)[0] = b;
        p
    }

    #[test]
    fn bound_is_respected_and_hot_pages_stay() {
        let pool = BufferPool::new(32 * PAGE_SIZE);
        for p in 0..1000u64 {
            pool.insert(p, img(p as u8), 0, 0);
            // Page 0 is touched constantly: CLOCK keeps it.
            assert_eq!(pool.get(0).map(|i| i[0]), Some(0));
            assert!(pool.stats().pages <= 32);
        }
        assert!(pool.stats().evictions >= 1000 - 32);
        assert_eq!(pool.get(999).map(|i| i[0]), Some(999u64 as u8));
    }

    #[test]
    fn non_durable_pages_are_not_evicted() {
        let pool = BufferPool::new(16 * PAGE_SIZE);
        for p in 0..40u64 {
            pool.insert(p, img(1), 100 + p, 50);
        }
        // Nothing is durable: the pool grows past its bound rather than drop them.
        assert_eq!(pool.stats().pages, 40);
        // Once durable they go.
        for p in 40..80u64 {
            pool.insert(p, img(2), 0, 1000);
        }
        assert!(pool.stats().pages <= 16);
    }

    #[test]
    fn replace_and_invalidate() {
        let pool = BufferPool::new(0);
        pool.insert(7, img(1), 0, 0);
        pool.insert(7, img(2), 0, 0);
        assert_eq!(pool.get(7).unwrap()[0], 2);
        assert_eq!(pool.insert_if_absent(7, img(3), 0)[0], 2);
        pool.invalidate(7);
        assert!(pool.get(7).is_none());
        assert_eq!(pool.insert_if_absent(7, img(3), 0)[0], 3);
    }
}
