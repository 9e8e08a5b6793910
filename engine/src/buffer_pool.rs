//! The buffer pool: a bounded cache of committed page versions, nothing more.
//!
//! Pages are never written back (the volume only takes redo), so any entry may be
//! dropped at any time and read again from storage. Entries are `Arc`'d immutable
//! images: a reader holding one keeps it alive after eviction, so eviction never waits.
//!
//! Readers are snapshot readers without latches: a read at LSN `at` must see the page's
//! version as of `at`. Each entry is the page's latest version, tagged with `lsn`, an
//! LSN at or after the version was created (the commit LSN for versions a commit
//! installed, the read point for versions read from storage); it may keep the version it
//! replaced (`prev`) for readers that started before that commit. A read the entry cannot
//! answer returns `None`, and the caller reads the volume at `at`.
//!
//! Invariants:
//! - an entry is always the page's latest committed version. A commit installs its
//!   versions before it publishes its LSN as the new read point; an image read from
//!   storage is cached only if no newer version can exist: no entry for the page, and no
//!   version at or above its read point was ever dropped from this shard
//!   (`dropped_hwm`), so a slow reader can never cache a stale image;
//! - `used` counts entries plus kept `prev` images and stays within `cap`, except that
//!   versions installed above the volume durable LSN are never evicted (Aurora's rule:
//!   only pages whose page LSN <= VDL leave the cache, so storage is never asked for a
//!   page as of a point it may not hold yet); the bound may be exceeded while they wait.
//!
//! The pool is split into shards (by page number), each a CLOCK ring under its own mutex,
//! so concurrent point reads rarely contend.

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
    /// The version in `img` existed at this LSN and is still the latest.
    lsn: Lsn,
    /// The version `img` replaced, valid for reads in `[prev.1, lsn)`.
    prev: Option<(PageRef, Lsn)>,
    /// Commit LSN that installed `img`, 0 if it came from storage: protected from
    /// eviction until the volume durable LSN covers it.
    dirty: Lsn,
    referenced: bool,
}

struct Shard {
    map: PageMap<usize>,
    slots: Vec<Slot>,
    hand: usize,
    cap: usize,
    /// Entries plus kept `prev` images.
    used: usize,
    /// Highest version LSN this shard ever dropped without replacing.
    dropped_hwm: Lsn,
    // Counted under the shard lock: a shared atomic would be a contended cache line.
    hits: u64,
    misses: u64,
    evictions: u64,
}

impl Shard {
    fn remove_at(&mut self, i: usize) {
        let old = self.slots.swap_remove(i);
        self.map.remove(&old.page);
        if let Some(moved) = self.slots.get(i) {
            self.map.insert(moved.page, i);
        }
        self.used -= 1 + usize::from(old.prev.is_some());
        self.dropped_hwm = self.dropped_hwm.max(old.lsn);
    }

    /// Free one page worth of memory chosen by CLOCK (an old `prev` image goes first);
    /// false if everything left is protected.
    fn evict_one(&mut self, durable: Lsn) -> bool {
        let n = self.slots.len();
        for _ in 0..2 * n + 1 {
            if self.hand >= self.slots.len() {
                self.hand = 0;
            }
            let s = &mut self.slots[self.hand];
            if s.prev.take().is_some() {
                // Only readers older than this version's commit needed it; they fall
                // back to storage.
                self.used -= 1;
                return true;
            }
            if s.referenced {
                s.referenced = false;
            } else if s.dirty <= durable {
                self.remove_at(self.hand);
                return true;
            }
            self.hand += 1;
        }
        false
    }

    fn make_room(&mut self, durable: Lsn) {
        while self.used >= self.cap {
            if !self.evict_one(durable) {
                break;
            }
            self.evictions += 1;
        }
    }
}

/// Counters for tests and monitoring.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    pub hits: u64,
    pub misses: u64,
    pub evictions: u64,
    /// Cached images (entries plus kept previous versions).
    pub pages: usize,
    pub capacity_pages: usize,
}

/// A bounded, sharded CLOCK cache of page versions.
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
                    used: 0,
                    dropped_hwm: 0,
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

    /// The version of `page` as of `at` (`Lsn::MAX`: the latest), if cached.
    pub fn get(&self, page: PageNo, at: Lsn) -> Option<PageRef> {
        let mut g = self.shard(page).lock();
        let g = &mut *g;
        let found = g.map.get(&page).and_then(|&i| {
            let s = &mut g.slots[i];
            if s.lsn <= at {
                s.referenced = true;
                Some(s.img.clone())
            } else {
                match &s.prev {
                    Some((img, from)) if *from <= at => Some(img.clone()),
                    _ => None,
                }
            }
        });
        if found.is_some() {
            g.hits += 1;
        } else {
            g.misses += 1;
        }
        found
    }

    /// Install the version of `page` a commit at `lsn` produced (`durable`: the volume
    /// durable LSN, for eviction).
    pub fn install(&self, page: PageNo, img: PageRef, lsn: Lsn, durable: Lsn) {
        let mut g = self.shard(page).lock();
        if let Some(&i) = g.map.get(&page) {
            let s = &mut g.slots[i];
            let old_img = std::mem::replace(&mut s.img, img);
            let had_prev = s.prev.replace((old_img, s.lsn)).is_some();
            s.lsn = lsn;
            s.dirty = lsn;
            s.referenced = true;
            if !had_prev {
                g.used += 1;
                g.make_room(durable);
            }
            return;
        }
        g.make_room(durable);
        let i = g.slots.len();
        g.slots.push(Slot {
            page,
            img,
            lsn,
            prev: None,
            dirty: lsn,
            referenced: false,
        });
        g.used += 1;
        g.map.insert(page, i);
    }

    /// Offer an image of `page` read from storage as of `read_at`. It is cached only if
    /// it is certainly the latest version (see the module invariants).
    pub fn insert_read(&self, page: PageNo, img: PageRef, read_at: Lsn, durable: Lsn) {
        let mut g = self.shard(page).lock();
        if g.map.contains_key(&page) || read_at < g.dropped_hwm {
            return;
        }
        g.make_room(durable);
        let i = g.slots.len();
        g.slots.push(Slot {
            page,
            img,
            lsn: read_at,
            prev: None,
            dirty: 0,
            referenced: false,
        });
        g.used += 1;
        g.map.insert(page, i);
    }

    /// A version of `page` at `lsn` exists that this pool does not hold (a replica skips
    /// redo for uncached pages): drop any entry and refuse older images from then on.
    pub fn forget(&self, page: PageNo, lsn: Lsn) {
        let mut g = self.shard(page).lock();
        if let Some(&i) = g.map.get(&page) {
            g.remove_at(i);
        }
        g.dropped_hwm = g.dropped_hwm.max(lsn);
    }

    /// Drop every entry; `hwm` is the newest version LSN that may have been cached.
    pub fn clear(&self, hwm: Lsn) {
        for s in self.shards.iter() {
            let mut g = s.lock();
            g.map.clear();
            g.slots.clear();
            g.hand = 0;
            g.used = 0;
            g.dropped_hwm = g.dropped_hwm.max(hwm);
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
            st.pages += g.used;
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
            pool.insert_read(p, img(p as u8), 10, 10);
            // Page 0 is touched constantly: CLOCK keeps it.
            assert_eq!(pool.get(0, 10).map(|i| i[0]), Some(0));
            assert!(pool.stats().pages <= 32);
        }
        assert!(pool.stats().evictions >= 1000 - 32);
        assert_eq!(pool.get(999, 10).map(|i| i[0]), Some(999u64 as u8));
    }

    #[test]
    fn non_durable_versions_are_not_evicted() {
        let pool = BufferPool::new(16 * PAGE_SIZE);
        for p in 0..40u64 {
            pool.install(p, img(1), 100 + p, 50);
        }
        // Nothing is durable: the pool grows past its bound rather than drop them.
        assert_eq!(pool.stats().pages, 40);
        // Once durable they go.
        for p in 40..80u64 {
            pool.install(p, img(2), 200, 1000);
        }
        assert!(pool.stats().pages <= 16);
    }

    #[test]
    fn snapshot_reads_see_the_version_of_their_point() {
        let pool = BufferPool::new(1 << 20);
        pool.insert_read(7, img(1), 10, 10);
        pool.install(7, img(2), 20, 20);
        assert_eq!(pool.get(7, 15).unwrap()[0], 1); // from prev
        assert_eq!(pool.get(7, 25).unwrap()[0], 2);
        assert_eq!(pool.get(7, Lsn::MAX).unwrap()[0], 2);
        assert!(pool.get(7, 5).is_none()); // older than anything kept: go to storage
        pool.install(7, img(3), 30, 30);
        assert!(pool.get(7, 15).is_none());
        assert_eq!(pool.get(7, 29).unwrap()[0], 2);
        // A slow reader's image from before the latest version is never cached.
        pool.forget(7, 30);
        pool.insert_read(7, img(2), 25, 30);
        assert!(pool.get(7, Lsn::MAX).is_none());
        pool.insert_read(7, img(3), 30, 30);
        assert_eq!(pool.get(7, Lsn::MAX).unwrap()[0], 3);
    }

    #[test]
    fn stale_reads_are_refused_after_eviction() {
        let pool = BufferPool::new(16 * PAGE_SIZE);
        pool.install(1, img(9), 50, 50);
        for p in 100..200u64 {
            pool.insert_read(p, img(0), 60, 60);
        }
        assert!(pool.get(1, Lsn::MAX).is_none(), "page 1 was evicted");
        // A reader that read page 1 at LSN 40 (before the version at 50) must not cache.
        pool.insert_read(1, img(8), 40, 60);
        assert!(pool.get(1, Lsn::MAX).is_none());
    }
}
