//! The pager: page reads through the buffer pool, and mini-transactions (MTRs) that turn
//! page changes into redo records appended atomically to the volume.
//!
//! A write goes: [`Pager::begin`] -> [`Mtr::write`] (a private copy-on-write image) ->
//! [`Mtr::commit`]: one `redo::diff` payload per modified page, one
//! `Volume::append_mtr` call (the whole MTR applies atomically), then the new images are
//! installed in the pool. Dropping an `Mtr` without committing discards it.
//!
//! Page 0 is the volume header: the page allocator (next never-used page, a free-page list
//! threaded through free pages) and [`ROOT_SLOTS`] root slots where the catalog keeps the
//! roots of its system trees. The allocator is changed only inside MTRs, so allocation is
//! atomic with whatever the pages are allocated for.
//!
//! Concurrency invariants:
//! - at most one `Mtr` is open at a time (`begin` blocks until the previous one ends), so
//!   an MTR reads the latest committed versions: no commit can happen while it is open;
//! - readers take no latch and never block commits. A [`View`] is a snapshot at the read
//!   point current when it was made: every page it reads is that page's version as of
//!   that LSN, from the pool if it still holds that version, else from the volume (see
//!   `buffer_pool.rs`). A commit installs its versions in the pool first and publishes its
//!   LSN as the read point last, so a view sees whole MTRs only;
//! - `read_point` is the end LSN of the last committed MTR (writer) or the replica's
//!   read point. A view may read through to the volume at its LSN, so storage must not
//!   materialize pages past it: every live view (and cursor) holds a slot in `readers`,
//!   and each commit reports the oldest one to `Volume::set_min_read_point` (the writer
//!   as instance [`WRITER_INSTANCE`]). A view registers before it settles on its LSN (see
//!   [`Readers::pin`]), so a commit never reports a floor above a live view.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use borealis_storage::{redo, LogRecord, Lsn, PageNo, PageWrite, Volume, PAGE_SIZE};
use parking_lot::{Condvar, Mutex};

use crate::buffer_pool::{BufferPool, PoolStats};
use crate::error::{Error, Result};
use crate::page::{
    corrupt, get_u64, new_page_ref, put_u64, zero_page, Page, PageRef, PT_FREE, PT_HEADER,
};

/// Number of root slots in the volume header.
pub const ROOT_SLOTS: usize = 64;
/// The volume header page.
pub const HEADER_PAGE: PageNo = 0;

const MAGIC: &[u8; 8] = b"BOREALIS";
/// On-volume format version of the header, node, and overflow layouts and of the key
/// encoding (`keycodec`). Bump on any change. 2: text keys are their collation's weights
/// (NO PAD collations keep trailing spaces), so a version-1 volume's keys would be
/// searched wrongly: it is refused instead.
pub const FORMAT_VERSION: u32 = 2;

// Header page layout (little endian):
// 0 u8 PT_HEADER | 8..16 magic | 16..20 format version | 24..32 next never-used page |
// 32..40 free list head (0 = empty) | 40..48 free page count | 64.. ROOT_SLOTS x u64
const H_MAGIC: usize = 8;
const H_VERSION: usize = 16;
const H_NEXT: usize = 24;
const H_FREE_HEAD: usize = 32;
const H_FREE_COUNT: usize = 40;
const H_ROOTS: usize = 64;
// Free page layout: 0 u8 PT_FREE | 8..16 next free page (0 = end).
const F_NEXT: usize = 8;

/// The instance id the writer reports its oldest read point under.
pub const WRITER_INSTANCE: u64 = 0;

const NO_INSTANCE: u64 = u64::MAX;

const READER_SLOTS: usize = 256;

/// One cache line per slot: views on different threads do not share a line.
#[repr(align(64))]
struct ReaderSlot(AtomicU64);

/// Registry of live snapshots (0 = free slot), so storage keeps what they may read.
struct Readers {
    slots: Box<[ReaderSlot]>,
}

thread_local! {
    /// Where this thread starts looking for a free slot.
    static SLOT_HINT: usize = {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        (NEXT.fetch_add(1, Ordering::Relaxed) as usize * 7) % READER_SLOTS
    };
}

impl Readers {
    fn new() -> Readers {
        Readers {
            slots: (0..READER_SLOTS)
                .map(|_| ReaderSlot(AtomicU64::new(0)))
                .collect(),
        }
    }

    fn register(&self, at: Lsn) -> Option<usize> {
        let hint = SLOT_HINT.with(|h| *h);
        (0..READER_SLOTS)
            .map(|j| (hint + j) % READER_SLOTS)
            .find(|&i| {
                self.slots[i]
                    .0
                    .compare_exchange(0, at.max(1), Ordering::SeqCst, Ordering::Relaxed)
                    .is_ok()
            })
    }

    /// Register a snapshot at the current read point and return (LSN, slot). Registering
    /// first and re-checking the read point after means: either a concurrent commit's
    /// floor computation saw the slot, or this view sees that commit's LSN (SeqCst).
    fn pin(&self, read_point: &AtomicU64) -> (Lsn, Option<usize>) {
        loop {
            let r = read_point.load(Ordering::SeqCst);
            let slot = self.register(r);
            if slot.is_none() || read_point.load(Ordering::SeqCst) == r {
                // Out of slots (more than READER_SLOTS live views): unregistered.
                return (r, slot);
            }
            self.release(slot);
        }
    }

    fn release(&self, slot: Option<usize>) {
        if let Some(i) = slot {
            self.slots[i].0.store(0, Ordering::SeqCst);
        }
    }

    fn oldest(&self) -> Option<Lsn> {
        self.slots
            .iter()
            .map(|s| s.0.load(Ordering::SeqCst))
            .filter(|&v| v != 0)
            .min()
    }
}

/// Anything B+tree code can read committed-or-private pages from: a [`View`] (committed
/// state, consistent across pages) or an [`Mtr`] (its own private changes on top).
pub trait PageSource {
    fn page(&self, page: PageNo) -> Result<PageRef>;
}

struct Inner {
    volume: Arc<dyn Volume>,
    pool: BufferPool,
    read_point: AtomicU64,
    readers: Readers,
    /// Instance id the read floor is reported under (`NO_INSTANCE`: not reported).
    report_as: AtomicU64,
    /// True while an Mtr is open.
    writer: Mutex<bool>,
    writer_done: Condvar,
    read_only: bool,
}

/// Page access for one instance. Cheap to clone (shared state); `Send + Sync`.
#[derive(Clone)]
pub struct Pager {
    inner: Arc<Inner>,
}

impl Pager {
    /// Open the writer's pager on `volume`, with a pool of at most `pool_bytes`. A volume
    /// whose header page was never written is initialized in its own first MTR.
    pub fn open(volume: Arc<dyn Volume>, pool_bytes: usize) -> Result<Pager> {
        let read_point = volume.last_lsn();
        let pager = Pager::new(volume, pool_bytes, read_point, false);
        let hdr = pager.read(HEADER_PAGE)?;
        if hdr[..] == zero_page()[..] {
            let mut mtr = pager.begin();
            let h = mtr.write(HEADER_PAGE)?;
            h[0] = PT_HEADER;
            h[H_MAGIC..H_MAGIC + 8].copy_from_slice(MAGIC);
            h[H_VERSION..H_VERSION + 4].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
            put_u64(h, H_NEXT, 1);
            mtr.commit()?;
        } else {
            check_header(&hdr)?;
            pager.report_floor();
        }
        Ok(pager)
    }

    /// Open a read-only pager (a replica) seeing the volume as of `read_point`.
    pub fn open_read_only(
        volume: Arc<dyn Volume>,
        pool_bytes: usize,
        read_point: Lsn,
    ) -> Result<Pager> {
        let pager = Pager::new(volume, pool_bytes, read_point, true);
        check_header(&*pager.read(HEADER_PAGE)?)?;
        Ok(pager)
    }

    fn new(volume: Arc<dyn Volume>, pool_bytes: usize, read_point: Lsn, ro: bool) -> Pager {
        Pager {
            inner: Arc::new(Inner {
                volume,
                pool: BufferPool::new(pool_bytes),
                read_point: AtomicU64::new(read_point),
                readers: Readers::new(),
                report_as: AtomicU64::new(if ro { NO_INSTANCE } else { WRITER_INSTANCE }),
                writer: Mutex::new(false),
                writer_done: Condvar::new(),
                read_only: ro,
            }),
        }
    }

    pub fn volume(&self) -> &Arc<dyn Volume> {
        &self.inner.volume
    }

    /// The LSN pages are read at: the end of the last committed MTR (or the replica's
    /// read point).
    pub fn read_point(&self) -> Lsn {
        self.inner.read_point.load(Ordering::SeqCst)
    }

    pub fn pool_stats(&self) -> PoolStats {
        self.inner.pool.stats()
    }

    /// Drop every cached page (they will be read again from the volume).
    pub fn clear_pool(&self) {
        self.inner.pool.clear(self.read_point());
    }

    /// A snapshot of committed pages as of the current read point. Cheap (a few
    /// uncontended atomics), holds no latch, and may be kept while commits go on.
    pub fn view(&self) -> View<'_> {
        let (at, slot) = self.inner.readers.pin(&self.inner.read_point);
        View {
            pager: self,
            at,
            slot,
        }
    }

    /// A snapshot as of `at`, at most the read point. The caller guarantees storage still
    /// holds `at` (it got `at` from a view or cursor that is still alive).
    pub fn view_at(&self, at: Lsn) -> View<'_> {
        View {
            pager: self,
            at,
            slot: self.inner.readers.register(at),
        }
    }

    /// Register a snapshot at the current read point for an owner that outlives any
    /// one view (a cursor); release it with [`Pager::unpin`].
    pub(crate) fn pin(&self) -> (Lsn, Option<usize>) {
        self.inner.readers.pin(&self.inner.read_point)
    }

    pub(crate) fn pin_at(&self, at: Lsn) -> Option<usize> {
        self.inner.readers.register(at)
    }

    pub(crate) fn unpin(&self, slot: Option<usize>) {
        self.inner.readers.release(slot)
    }

    /// A view of `at` that registers nothing (its owner holds a pin).
    pub(crate) fn view_pinned(&self, at: Lsn) -> View<'_> {
        View {
            pager: self,
            at,
            slot: None,
        }
    }

    /// Report this pager's read floor to the volume under instance `id` (a replica's
    /// id; the writer reports as [`WRITER_INSTANCE`] from the start).
    pub fn report_read_floor_as(&self, id: u64) {
        self.inner.report_as.store(id, Ordering::SeqCst);
        self.report_floor();
    }

    /// Storage may materialize up to the oldest live view, no further.
    fn report_floor(&self) {
        let id = self.inner.report_as.load(Ordering::SeqCst);
        if id != NO_INSTANCE {
            self.inner
                .volume
                .set_min_read_point(id, self.oldest_reader());
        }
    }

    /// The oldest LSN a live view or cursor reads at (the read point if none).
    pub fn oldest_reader(&self) -> Lsn {
        let rp = self.read_point();
        self.inner.readers.oldest().map_or(rp, |o| o.min(rp))
    }

    /// Read the latest committed version of one page.
    pub fn read(&self, page: PageNo) -> Result<PageRef> {
        self.view().page(page)
    }

    /// The version of `page` as of `at`; `latest` marks the open Mtr's reads (the pool's
    /// entry is the latest committed version, and no commit can run meanwhile).
    fn read_at(&self, page: PageNo, at: Lsn, latest: bool) -> Result<PageRef> {
        let inner = &*self.inner;
        if let Some(img) = inner.pool.get(page, if latest { Lsn::MAX } else { at }) {
            return Ok(img);
        }
        let buf = inner.volume.read_page(page, at)?;
        let img: PageRef = Arc::from(buf);
        let durable = inner.volume.durable_lsn();
        inner.pool.insert_read(page, img.clone(), at, durable);
        Ok(img)
    }

    /// The open Mtr's read: the latest committed version.
    fn read_latest(&self, page: PageNo) -> Result<PageRef> {
        self.read_at(page, self.read_point(), true)
    }

    /// Root slot `i` as of the last commit.
    pub fn root_slot(&self, i: usize) -> Result<PageNo> {
        root_slot_of(&*self.read(HEADER_PAGE)?, i)
    }

    /// Start a mini-transaction; blocks while another one is open.
    pub fn begin(&self) -> Mtr {
        let mut open = self.inner.writer.lock();
        while *open {
            self.inner.writer_done.wait(&mut open);
        }
        *open = true;
        Mtr {
            pager: self.clone(),
            pages: BTreeMap::new(),
        }
    }

    /// Replica: apply one log record to the cached version of its page, or note that the
    /// page is not cached (it will be read from the volume). Readers keep seeing their
    /// snapshot; call [`Pager::set_read_point`] once every record up to the new point is
    /// applied (or use [`Pager::apply_batch`]). One applier thread at a time.
    pub fn apply(&self, rec: &LogRecord) -> Result<()> {
        let inner = &*self.inner;
        match inner.pool.get(rec.page, Lsn::MAX) {
            Some(mut img) => {
                redo::apply(Arc::make_mut(&mut img), &rec.payload)?;
                inner.pool.install(rec.page, img, rec.lsn, 0);
            }
            None => inner.pool.forget(rec.page, rec.lsn),
        }
        Ok(())
    }

    /// Replica: apply a batch of records (every record up to `read_point`, in LSN order)
    /// and move the read point to `read_point`, atomically for readers.
    pub fn apply_batch(&self, recs: &[LogRecord], read_point: Lsn) -> Result<()> {
        for rec in recs.iter().filter(|r| r.lsn <= read_point) {
            self.apply(rec)?;
        }
        self.set_read_point(read_point);
        Ok(())
    }

    /// Replica: drop every cached page and refuse images read below `hwm` (records up to
    /// `hwm` were missed, e.g. appended before the replica subscribed). Call before
    /// moving the read point to `hwm`.
    pub fn forget_all(&self, hwm: Lsn) {
        self.inner.pool.clear(hwm);
    }

    /// Move the read point (replicas; the writer's advances on commit).
    pub fn set_read_point(&self, lsn: Lsn) {
        self.inner.read_point.store(lsn, Ordering::SeqCst);
        self.report_floor();
    }
}

fn check_header(h: &Page) -> Result<()> {
    if h[0] != PT_HEADER || &h[H_MAGIC..H_MAGIC + 8] != MAGIC {
        return Err(corrupt(HEADER_PAGE, "not a Borealis volume header"));
    }
    let v = u32::from_le_bytes(h[H_VERSION..H_VERSION + 4].try_into().expect("4 bytes"));
    if v != FORMAT_VERSION {
        return Err(Error::internal(format!(
            "volume format version {v} is not supported (this build reads {FORMAT_VERSION})"
        )));
    }
    Ok(())
}

fn root_slot_of(h: &Page, i: usize) -> Result<PageNo> {
    if i >= ROOT_SLOTS {
        return Err(Error::internal(format!("root slot {i} out of range")));
    }
    Ok(get_u64(h, H_ROOTS + 8 * i))
}

/// A snapshot of committed pages as of one LSN (see [`Pager::view`]).
pub struct View<'a> {
    pager: &'a Pager,
    at: Lsn,
    slot: Option<usize>,
}

impl Drop for View<'_> {
    fn drop(&mut self) {
        self.pager.inner.readers.release(self.slot);
    }
}

impl View<'_> {
    pub fn pager(&self) -> &Pager {
        self.pager
    }

    /// The LSN this view reads at.
    pub fn lsn(&self) -> Lsn {
        self.at
    }
}

impl PageSource for View<'_> {
    fn page(&self, page: PageNo) -> Result<PageRef> {
        self.pager.read_at(page, self.at, false)
    }
}

struct Private {
    /// The committed image this copy started from; None if the page was reset
    /// (allocated or freed) in this MTR, so its redo starts with a zero op.
    base: Option<PageRef>,
    img: PageRef,
}

/// A mini-transaction: private page copies that become visible, and durable on the
/// volume as one atomic MTR, at [`Mtr::commit`]. Dropping it discards the changes.
pub struct Mtr {
    pager: Pager,
    pages: BTreeMap<PageNo, Private>,
}

impl Mtr {
    pub fn pager(&self) -> &Pager {
        &self.pager
    }

    /// Number of pages this MTR has modified so far.
    pub fn dirty_pages(&self) -> usize {
        self.pages.len()
    }

    /// Read a page, seeing this MTR's own changes.
    pub fn read(&self, page: PageNo) -> Result<PageRef> {
        match self.pages.get(&page) {
            Some(p) => Ok(p.img.clone()),
            None => self.pager.read_latest(page),
        }
    }

    /// A mutable private copy of `page` (copied from the committed image on first write).
    /// Avoid holding an `Arc` from [`Mtr::read`] of the same page across this call: it
    /// forces another copy.
    pub fn write(&mut self, page: PageNo) -> Result<&mut Page> {
        if self.pager.inner.read_only {
            return Err(borealis_storage::Error::ReadOnly.into());
        }
        if !self.pages.contains_key(&page) {
            let base = self.pager.read_latest(page)?;
            self.pages.insert(
                page,
                Private {
                    img: base.clone(),
                    base: Some(base),
                },
            );
        }
        let p = self.pages.get_mut(&page).expect("inserted above");
        Ok(Arc::make_mut(&mut p.img))
    }

    /// Make `page` a zeroed private page whose redo starts with a reset.
    fn reset(&mut self, page: PageNo) -> &mut Page {
        let p = self.pages.entry(page).or_insert_with(|| Private {
            base: None,
            img: new_page_ref(),
        });
        p.base = None;
        let img = Arc::make_mut(&mut p.img);
        img.fill(0);
        img
    }

    /// Allocate a page (from the free list, else by growing the volume). The page is
    /// zeroed in this MTR; the caller initializes it.
    pub fn allocate(&mut self) -> Result<PageNo> {
        let hdr = self.read(HEADER_PAGE)?;
        let head = get_u64(&hdr, H_FREE_HEAD);
        let page = if head != 0 {
            let fp = self.read(head)?;
            if fp[0] != PT_FREE {
                return Err(corrupt(head, "free list entry is not a free page"));
            }
            let next = get_u64(&fp, F_NEXT);
            let count = get_u64(&hdr, H_FREE_COUNT);
            drop(hdr);
            let h = self.write(HEADER_PAGE)?;
            put_u64(h, H_FREE_HEAD, next);
            put_u64(h, H_FREE_COUNT, count.saturating_sub(1));
            head
        } else {
            let next = get_u64(&hdr, H_NEXT);
            drop(hdr);
            put_u64(self.write(HEADER_PAGE)?, H_NEXT, next + 1);
            next
        };
        self.reset(page);
        Ok(page)
    }

    /// Return `page` to the free list. Its contents are discarded.
    pub fn free(&mut self, page: PageNo) -> Result<()> {
        if page == HEADER_PAGE {
            return Err(Error::internal("attempt to free the volume header"));
        }
        let cur = self.read(page)?;
        if cur[0] == PT_FREE {
            return Err(Error::internal(format!("page {page} freed twice")));
        }
        drop(cur);
        let hdr = self.read(HEADER_PAGE)?;
        let head = get_u64(&hdr, H_FREE_HEAD);
        let count = get_u64(&hdr, H_FREE_COUNT);
        if page >= get_u64(&hdr, H_NEXT) {
            return Err(Error::internal(format!(
                "freeing never-allocated page {page}"
            )));
        }
        drop(hdr);
        let h = self.write(HEADER_PAGE)?;
        put_u64(h, H_FREE_HEAD, page);
        put_u64(h, H_FREE_COUNT, count + 1);
        let p = self.reset(page);
        p[0] = PT_FREE;
        put_u64(p, F_NEXT, head);
        Ok(())
    }

    /// Pages on the free list (as of this MTR).
    pub fn free_pages(&self) -> Result<u64> {
        Ok(get_u64(&*self.read(HEADER_PAGE)?, H_FREE_COUNT))
    }

    /// The next never-used page number (the volume's high-water mark, as of this MTR).
    pub fn high_water(&self) -> Result<PageNo> {
        Ok(get_u64(&*self.read(HEADER_PAGE)?, H_NEXT))
    }

    pub fn root_slot(&self, i: usize) -> Result<PageNo> {
        root_slot_of(&*self.read(HEADER_PAGE)?, i)
    }

    pub fn set_root_slot(&mut self, i: usize, page: PageNo) -> Result<()> {
        root_slot_of(&*self.read(HEADER_PAGE)?, i)?;
        put_u64(self.write(HEADER_PAGE)?, H_ROOTS + 8 * i, page);
        Ok(())
    }

    /// Append every change as one MTR, then publish the new images. Returns the MTR's end
    /// LSN (the read point if nothing changed). On error nothing is published.
    pub fn commit(mut self) -> Result<Lsn> {
        let pages = std::mem::take(&mut self.pages);
        let mut writes = Vec::with_capacity(pages.len());
        let mut installs = Vec::with_capacity(pages.len());
        for (page, p) in pages {
            let payload = match &p.base {
                Some(base) => {
                    if Arc::ptr_eq(base, &p.img) {
                        continue;
                    }
                    redo::diff(base, &p.img)
                }
                None => {
                    let mut out = Vec::new();
                    redo::push_zero(&mut out);
                    let d = redo::diff(zero_page(), &p.img);
                    if d.len() >= PAGE_SIZE {
                        // diff already chose a full image; the zero op is then redundant.
                        out.clear();
                    }
                    out.extend_from_slice(&d);
                    out
                }
            };
            if payload.is_empty() {
                continue;
            }
            writes.push(PageWrite { page, payload });
            installs.push((page, p.img));
        }
        let inner = &*self.pager.inner;
        if writes.is_empty() {
            return Ok(self.pager.read_point());
        }
        let lsn = inner.volume.append_mtr(writes)?;
        let durable = inner.volume.durable_lsn();
        // Install first, publish last: a view made after the store sees every version.
        for (page, img) in installs {
            inner.pool.install(page, img, lsn, durable);
        }
        inner.read_point.store(lsn, Ordering::SeqCst);
        self.pager.report_floor();
        Ok(lsn)
    }
}

impl PageSource for Mtr {
    fn page(&self, page: PageNo) -> Result<PageRef> {
        self.read(page)
    }
}

impl Drop for Mtr {
    fn drop(&mut self) {
        let mut open = self.pager.inner.writer.lock();
        *open = false;
        self.pager.inner.writer_done.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use borealis_storage::mem::MemVolume;

    fn vol() -> Arc<dyn Volume> {
        Arc::new(MemVolume::new())
    }

    #[test]
    fn header_is_initialized_once_and_reopened() {
        let v = vol();
        let p = Pager::open(v.clone(), 1 << 20).unwrap();
        let lsn0 = v.last_lsn();
        assert!(lsn0 > 0);
        let mut m = p.begin();
        let a = m.allocate().unwrap();
        m.write(a).unwrap()[100] = 42;
        m.set_root_slot(3, a).unwrap();
        m.commit().unwrap();
        drop(p);
        let p2 = Pager::open(v.clone(), 1 << 20).unwrap();
        assert_eq!(p2.root_slot(3).unwrap(), a);
        assert_eq!(p2.read(a).unwrap()[100], 42);
        assert!(p2.root_slot(ROOT_SLOTS).is_err());
    }

    #[test]
    fn dropped_mtr_changes_nothing() {
        let v = vol();
        let p = Pager::open(v.clone(), 1 << 20).unwrap();
        let before = v.last_lsn();
        let mut m = p.begin();
        let a = m.allocate().unwrap();
        m.write(a).unwrap()[0] = 1;
        m.set_root_slot(0, a).unwrap();
        assert_eq!(m.read(a).unwrap()[0], 1);
        drop(m);
        assert_eq!(v.last_lsn(), before);
        assert_eq!(p.root_slot(0).unwrap(), 0);
        assert_eq!(p.read(a).unwrap()[0], 0);
        // The same page number is handed out again.
        let mut m = p.begin();
        assert_eq!(m.allocate().unwrap(), a);
    }

    #[test]
    fn free_list_reuses_pages_and_detects_double_free() {
        let p = Pager::open(vol(), 1 << 20).unwrap();
        let mut m = p.begin();
        let pages: Vec<_> = (0..10).map(|_| m.allocate().unwrap()).collect();
        for &pg in &pages {
            m.write(pg).unwrap()[0] = 0x4c;
        }
        m.commit().unwrap();
        let mut m = p.begin();
        m.free(pages[2]).unwrap();
        m.free(pages[5]).unwrap();
        assert!(m.free(pages[5]).is_err());
        m.commit().unwrap();
        let mut m = p.begin();
        assert_eq!(m.free_pages().unwrap(), 2);
        let hw = m.high_water().unwrap();
        assert_eq!(m.allocate().unwrap(), pages[5]);
        assert_eq!(m.allocate().unwrap(), pages[2]);
        assert_eq!(m.allocate().unwrap(), hw);
        assert_eq!(m.free_pages().unwrap(), 0);
    }

    #[test]
    fn one_commit_is_one_volume_mtr_and_large_mtrs_work() {
        let v = vol();
        let p = Pager::open(v.clone(), 64 * PAGE_SIZE).unwrap();
        let rx = v.subscribe();
        let mut m = p.begin();
        let mut pages = Vec::new();
        for i in 0..3000u64 {
            let a = m.allocate().unwrap();
            put_u64(m.write(a).unwrap(), 8, i);
            pages.push(a);
        }
        let lsn = m.commit().unwrap();
        let mut recs = 0;
        let mut ends = 0;
        while let Ok(ev) = rx.try_recv() {
            if let borealis_storage::LogEvent::Records(rs) = ev {
                recs += rs.len();
                ends += rs.iter().filter(|r| r.mtr_end).count();
            }
        }
        assert_eq!(recs, 3001); // 3000 pages and the header
        assert_eq!(ends, 1);
        assert_eq!(p.read_point(), lsn);
        // The pool holds 64 pages: most of these are read back from the volume.
        for (i, &a) in pages.iter().enumerate() {
            assert_eq!(get_u64(&p.read(a).unwrap(), 8), i as u64);
        }
        assert!(p.pool_stats().pages <= 64);
    }

    #[test]
    fn readers_see_only_committed_images() {
        let p = Pager::open(vol(), 1 << 20).unwrap();
        let mut m = p.begin();
        let a = m.allocate().unwrap();
        m.commit().unwrap();
        let mut m = p.begin();
        m.write(a).unwrap()[0] = 9;
        let p2 = p.clone();
        let seen = std::thread::spawn(move || p2.read(a).unwrap()[0])
            .join()
            .unwrap();
        assert_eq!(seen, 0);
        m.commit().unwrap();
        assert_eq!(p.read(a).unwrap()[0], 9);
    }

    #[test]
    fn begin_serializes_writers() {
        let p = Pager::open(vol(), 1 << 20).unwrap();
        let m = p.begin();
        let p2 = p.clone();
        let t = std::thread::spawn(move || {
            let mut m = p2.begin();
            m.set_root_slot(1, 5).unwrap();
            m.commit().unwrap();
        });
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert_eq!(p.root_slot(1).unwrap(), 0);
        drop(m);
        t.join().unwrap();
        assert_eq!(p.root_slot(1).unwrap(), 5);
    }

    /// A MemVolume that records the read floors reported to it.
    struct FloorVolume(MemVolume, Mutex<Vec<Lsn>>);

    impl Volume for FloorVolume {
        fn append_mtr(&self, w: Vec<PageWrite>) -> borealis_storage::Result<Lsn> {
            self.0.append_mtr(w)
        }
        fn wait_durable(&self, lsn: Lsn) -> borealis_storage::Result<()> {
            self.0.wait_durable(lsn)
        }
        fn durable_lsn(&self) -> Lsn {
            self.0.durable_lsn()
        }
        fn last_lsn(&self) -> Lsn {
            self.0.last_lsn()
        }
        fn read_page(
            &self,
            p: PageNo,
            at: Lsn,
        ) -> borealis_storage::Result<borealis_storage::PageBuf> {
            self.0.read_page(p, at)
        }
        fn subscribe(&self) -> crossbeam::channel::Receiver<borealis_storage::LogEvent> {
            self.0.subscribe()
        }
        fn set_min_read_point(&self, instance: u64, at: Lsn) {
            assert_eq!(instance, WRITER_INSTANCE);
            self.1.lock().push(at);
        }
    }

    #[test]
    fn live_views_hold_back_the_storage_read_floor() {
        let v = Arc::new(FloorVolume(MemVolume::new(), Mutex::new(Vec::new())));
        let p = Pager::open(v.clone(), 1 << 20).unwrap();
        let commit = |p: &Pager| {
            let mut m = p.begin();
            let a = m.allocate().unwrap();
            m.write(a).unwrap()[0] = 1;
            m.commit().unwrap()
        };
        let l1 = commit(&p);
        assert_eq!(v.1.lock().last(), Some(&l1));
        let old = p.view();
        assert_eq!(old.lsn(), l1);
        let l2 = commit(&p);
        let l3 = commit(&p);
        assert!(l3 > l2 && l2 > l1);
        // The old view pins the floor at its LSN.
        assert_eq!(v.1.lock().last(), Some(&l1));
        assert_eq!(p.oldest_reader(), l1);
        // Views from many threads at once each get a slot.
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    for _ in 0..1000 {
                        let v = p.view();
                        assert!(v.lsn() >= l3);
                    }
                });
            }
        });
        drop(old);
        assert_eq!(p.oldest_reader(), l3);
        let l4 = commit(&p);
        assert_eq!(v.1.lock().last(), Some(&l4));
    }

    #[test]
    fn replica_applies_or_drops() {
        let v = vol();
        let w = Pager::open(v.clone(), 1 << 20).unwrap();
        let mut m = w.begin();
        let a = m.allocate().unwrap();
        let b = m.allocate().unwrap();
        m.commit().unwrap();
        let r = Pager::open_read_only(v.clone(), 1 << 20, v.last_lsn()).unwrap();
        assert_eq!(r.read(a).unwrap()[0], 0); // a cached, b not
        assert!(r.begin().write(a).is_err());
        let rx = v.subscribe();
        let mut m = w.begin();
        m.write(a).unwrap()[0] = 7;
        m.write(b).unwrap()[0] = 8;
        let lsn = m.commit().unwrap();
        while let Ok(ev) = rx.try_recv() {
            if let borealis_storage::LogEvent::Records(rs) = ev {
                for rec in &rs {
                    r.apply(rec).unwrap();
                }
            }
        }
        r.set_read_point(lsn);
        assert_eq!(r.read(a).unwrap()[0], 7);
        assert_eq!(r.read(b).unwrap()[0], 8);
    }
}
