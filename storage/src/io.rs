//! Disk I/O of segment replicas, behind two small traits so tests can put a faulty or
//! in-memory implementation underneath.
//!
//! A segment replica owns three "files" ([`SegmentFiles`]): an append-only log, a page
//! file of fixed-size slots (sparse on disk, read and written with pread/pwrite), and a
//! small metadata blob replaced atomically. A [`Backend`] is one storage node's
//! collection of segment files (a directory, or memory).
//!
//! Invariants: `append_log` bytes are durable after `sync_log` returns Ok, or after
//! `sync_log_unflushed` returns `Ok(None)`, or `Ok(Some(anchor))` and an anchor on the
//! same device has been flushed since; `replace_log`
//! and `write_meta` are atomic and durable (temp file + rename + fsync); page slots are
//! durable after `sync_pages`. After any error the caller must treat the segment as
//! failed until reopened (an fsync error loses track of what is on disk). Appends not yet
//! synced may be held in memory (direct-write logs, see `LogFile`): `read_log` shows
//! them, the file may not until a sync, and a process that dies loses them, as the
//! protocol allows (nothing unsynced was acknowledged).

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::{Condvar, Mutex, RwLock};

use crate::aio::{self, AlignedBuf, LogWrites};
use crate::flush::{self, Anchor, LogSync};
use crate::journal::{self, Journal, Piece, Target};
use crate::{Error, Result, PAGE_SIZE};

/// Bytes of one page slot's header in the page file (see docs/format.md).
pub const SLOT_HEADER: usize = 16;

/// The files of one segment replica.
pub trait SegmentFiles: Send + Sync {
    /// Number of page slots (pages per protection group).
    fn slots(&self) -> u64;
    /// The whole log file. It may end in zero bytes (preallocated room): the caller
    /// finds the end of the valid records and reports it with `set_log_end`.
    fn read_log(&self) -> Result<Vec<u8>>;
    /// Where the next `append_log` writes: just after the valid records, the rest of
    /// the file being zeros. Called once at open.
    fn set_log_end(&self, _end: u64) {}
    fn append_log(&self, bytes: &[u8]) -> Result<()>;
    fn sync_log(&self) -> Result<()>;
    /// Start writing the log's unsynced appends to the device without waiting: a caller
    /// syncing several logs starts them all before it waits for any (see
    /// [`SegmentFiles::sync_log_unflushed`]). Logs written with `O_DIRECT` queue their
    /// write in `writes` instead, named `tag`; the caller submits the batch
    /// ([`LogWrites::submit`]) before it calls `sync_log_unflushed`, and treats a write
    /// the batch reports failed as this log's failure. Only a hint: `sync_log_unflushed`
    /// writes whatever was not written.
    fn start_log_sync(&self, _writes: &mut LogWrites, _tag: usize) -> Result<()> {
        Ok(())
    }
    /// [`SegmentFiles::sync_log`] but for the device cache flush, where one can be
    /// shared: `Some(anchor)` means the appends are written back and become durable when
    /// that anchor (or another on the same device, see [`Anchor::device`]) is flushed
    /// after this returns; `None` means they are durable already.
    fn sync_log_unflushed(&self) -> Result<Option<Arc<Anchor>>> {
        self.sync_log().map(|()| None)
    }
    /// Atomically replace the whole log (compaction, truncation, repair).
    fn replace_log(&self, bytes: &[u8]) -> Result<()>;
    /// Slot `idx`: its 16-byte header and its page image. On success every byte of both
    /// buffers is written (zeros for a slot never written), so callers may reuse them.
    fn read_slot(&self, idx: u64, hdr: &mut [u8; SLOT_HEADER], page: &mut [u8]) -> Result<()>;
    fn write_slot(&self, idx: u64, hdr: &[u8; SLOT_HEADER], page: &[u8]) -> Result<()>;
    /// Read only a slot header (scans of the sparse file stay cheap).
    fn read_slot_header(&self, idx: u64, hdr: &mut [u8; SLOT_HEADER]) -> Result<()>;
    /// The headers of slots `from..from + out.len()` (a scan over every slot reads them
    /// in chunks, not one call per slot).
    fn read_slot_headers(&self, from: u64, out: &mut [[u8; SLOT_HEADER]]) -> Result<()> {
        for (i, h) in out.iter_mut().enumerate() {
            self.read_slot_header(from + i as u64, h)?;
        }
        Ok(())
    }
    fn sync_pages(&self) -> Result<()>;
    fn read_meta(&self) -> Result<Option<Vec<u8>>>;
    fn write_meta(&self, bytes: &[u8]) -> Result<()>;
}

/// A storage node's segment files.
pub trait Backend: Send + Sync {
    /// Open (creating if absent) the files of protection group `pg`.
    fn open_segment(&self, pg: u64, slots: u64) -> Result<Arc<dyn SegmentFiles>>;
    /// Protection groups that have files here.
    fn list_segments(&self) -> Result<Vec<u64>>;
    /// Whether `sync_log` waits for the device. When it does not (memory, or fsync
    /// off), an append costs only CPU and the writer makes it on its own thread.
    fn flushes(&self) -> bool {
        true
    }
    /// Whether log syncs here end with a device flush that logs of other segments, and
    /// of other backends on the same device, can share
    /// ([`SegmentFiles::sync_log_unflushed`] returns an anchor).
    fn flush_shareable(&self) -> bool {
        false
    }
}

fn check_page(page: &[u8]) -> Result<()> {
    if page.len() != PAGE_SIZE {
        return Err(Error::InvalidInput(format!(
            "page buffer of {} bytes, not {PAGE_SIZE}",
            page.len()
        )));
    }
    Ok(())
}

fn check_slot(idx: u64, slots: u64) -> Result<()> {
    if idx >= slots {
        return Err(Error::InvalidInput(format!(
            "slot {idx} beyond segment of {slots}"
        )));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Disk.

/// Segment files in a directory: `pg-NNNNNN.log`, `.pages`, `.meta`.
pub struct DirBackend {
    dir: PathBuf,
    fsync: bool,
    log_sync: LogSync,
    /// The cluster's device journal, where this node's logs sync through it.
    journal: Option<Arc<Journal>>,
}

impl DirBackend {
    pub fn new(dir: impl Into<PathBuf>, fsync: bool) -> Result<Self> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)?;
        let log_sync = if fsync {
            LogSync::for_dir(&dir)
        } else {
            LogSync::Fdatasync
        };
        Ok(Self {
            dir,
            fsync,
            log_sync,
            journal: None,
        })
    }

    /// A backend whose logs' synced appends go through `journal` (see [`crate::journal`])
    /// where they can: logs synced by range write-back on the journal's device, under its
    /// directory. Elsewhere the logs sync on their own as [`DirBackend::new`]'s do.
    pub fn with_journal(
        dir: impl Into<PathBuf>,
        fsync: bool,
        journal: Option<Arc<Journal>>,
    ) -> Result<Self> {
        let mut b = Self::new(dir, fsync)?;
        b.journal = match (&b.log_sync, journal) {
            (LogSync::Range(a), Some(j))
                if a.device() == j.anchor().device() && b.dir.starts_with(j.dir()) =>
            {
                Some(j)
            }
            _ => None,
        };
        Ok(b)
    }

    /// A backend whose logs sync the way given, whatever the file system (for tests of
    /// the range path off ext4).
    #[cfg(test)]
    pub fn with_log_sync(dir: impl Into<PathBuf>, log_sync: LogSync) -> Result<Self> {
        let mut b = Self::new(dir, true)?;
        b.log_sync = log_sync;
        b.journal = None;
        Ok(b)
    }

    /// Path of one of a segment's files (`ext` is "log", "pages" or "meta"); for tests
    /// that damage files.
    pub fn path(dir: &Path, pg: u64, ext: &str) -> PathBuf {
        dir.join(format!("pg-{pg:06}.{ext}"))
    }
}

impl Backend for DirBackend {
    fn open_segment(&self, pg: u64, slots: u64) -> Result<Arc<dyn SegmentFiles>> {
        Ok(Arc::new(DirFiles::open(
            &self.dir,
            pg,
            slots,
            self.fsync,
            self.log_sync.clone(),
            self.journal.clone(),
        )?))
    }

    fn flushes(&self) -> bool {
        self.fsync
    }

    fn flush_shareable(&self) -> bool {
        self.fsync && matches!(self.log_sync, LogSync::Range(_))
    }

    fn list_segments(&self) -> Result<Vec<u64>> {
        let mut out = Vec::new();
        // A node whose directory was lost starts empty (peers rebuild it).
        std::fs::create_dir_all(&self.dir)?;
        for e in std::fs::read_dir(&self.dir)? {
            let name = e?.file_name();
            let name = name.to_string_lossy();
            if let Some(n) = name
                .strip_prefix("pg-")
                .and_then(|s| s.strip_suffix(".log"))
            {
                if let Ok(pg) = n.parse() {
                    out.push(pg);
                }
            }
        }
        out.sort_unstable();
        Ok(out)
    }
}

/// An exclusive lock on a data directory (`<dir>/LOCK`), so two processes never open the
/// same files: both would append to the same logs and each would overwrite what the other
/// wrote. The lock is advisory (`flock`), held until drop and released by the kernel when
/// the process dies, so a `kill -9` leaves nothing to clean up.
///
/// Within one process the directories held are also kept in a registry. A volume's last
/// reference can be dropped on one of its own threads (the ticker holds a reference while
/// it ticks), so its files may still be closing when the thread that dropped its handle
/// opens the directory again; that open waits for the release (up to [`IN_PROCESS_WAIT`])
/// instead of failing. Another process holding the lock is reported at once.
pub struct DirLock {
    file: Option<File>,
    key: PathBuf,
}

/// How long an open waits for a directory held elsewhere in this process.
pub const IN_PROCESS_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

static HELD: std::sync::LazyLock<(Mutex<std::collections::HashSet<PathBuf>>, Condvar)> =
    std::sync::LazyLock::new(Default::default);

impl DirLock {
    /// Create `dir` if needed and lock it; [`Error::InUse`] if someone holds the lock.
    pub fn acquire(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir)?;
        let key = dir.canonicalize()?;
        let in_use = || Error::InUse(dir.display().to_string());
        {
            let (held, released) = &*HELD;
            let deadline = std::time::Instant::now() + IN_PROCESS_WAIT;
            let mut g = held.lock();
            while g.contains(&key) {
                if released.wait_until(&mut g, deadline).timed_out() && g.contains(&key) {
                    return Err(in_use());
                }
            }
            g.insert(key.clone());
        }
        // From here on, drop takes the registry entry back out.
        let mut lock = DirLock { file: None, key };
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join("LOCK"))?;
        match file.try_lock() {
            Ok(()) => {
                lock.file = Some(file);
                Ok(lock)
            }
            Err(std::fs::TryLockError::WouldBlock) => Err(in_use()),
            Err(std::fs::TryLockError::Error(e)) => Err(e.into()),
        }
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        // Close (and so unlock) the file before a waiter can try it.
        drop(self.file.take());
        let (held, released) = &*HELD;
        held.lock().remove(&self.key);
        released.notify_all();
    }
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)?.sync_all()?;
    Ok(())
}

fn write_atomic(path: &Path, bytes: &[u8], fsync: bool) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f = File::create(&tmp)?;
    f.write_all(bytes)?;
    if fsync {
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if fsync {
        sync_dir(path.parent().expect("segment files live in a directory"))?;
    }
    Ok(())
}

/// Zeros written ahead of the log at a time. Appends then overwrite zeros inside the
/// file instead of growing it, so the per-commit fdatasync flushes only data: a size
/// change would also force an inode write (another device round trip) on every sync.
const LOG_PREALLOC: u64 = 4 << 20;

/// The zeros go in with writes of this size. One large write puts them in the page cache
/// as large folios, and every later small append into such a folio costs the kernel a
/// walk over all of its blocks (ext4_block_write_begin): measured 5.8 us against 1.3 us
/// per 300-byte append, a quarter of a storage node's CPU under sysbench. Page-sized
/// writes keep the folios small.
const PREALLOC_WRITE: usize = 4096;

/// Bytes of unwritten appends a direct-write log holds in memory at most; past it they
/// are written (not synced) at once.
const TAIL_MAX: usize = 1 << 20;

/// Capacity a trimmed tail keeps at most.
const TAIL_KEEP: usize = 64 << 10;

/// The log file and where appends go: bytes `end..cap` of the file are zeros.
///
/// A log on ext4 with range syncs is also open with `O_DIRECT` (`direct`): appends that
/// overwrite its durable preallocated part are not written through the page cache but
/// kept in `tail`, and a sync writes the blocks they touch straight to the device (one
/// batch for several logs, see [`crate::aio`]). Everything else goes through the page
/// cache as before; before such a write, the tail's bytes are put there too, so the page
/// cache never holds an older version of a block the tail has newer bytes for.
struct LogFile {
    file: Arc<File>,
    /// The same file opened with `O_DIRECT`, where direct writes are used.
    direct: Option<Arc<File>>,
    /// The device journal its synced appends go through, where they do (then `direct`
    /// is `None`: a sync puts the new bytes in the page cache before handing them to the
    /// journal, and a journal checkpoint syncs the file).
    journal: Option<(Arc<Journal>, Target)>,
    /// With `direct` or `journal`: file bytes `tail_at..end` (`tail_at` block-aligned), when
    /// `tail_loaded`. Bytes before `tail_at` have been written to the device (for a
    /// journaled log: to the page cache).
    tail: AlignedBuf,
    tail_at: u64,
    tail_loaded: bool,
    /// A batch ([`SegmentFiles::start_log_sync`]) wrote the log up to here.
    written: Arc<AtomicU64>,
    end: u64,
    cap: u64,
    /// Bytes `0..durable_cap` of the file are allocated and its size covers them, both
    /// made durable by a full fdatasync: appends below it are pure overwrites, which a
    /// range write-back plus a cache flush makes durable (see `flush`).
    durable_cap: u64,
    /// Bytes before this were durable at the last successful sync.
    synced: u64,
    /// Syncs that took the full `fdatasync` path (for tests).
    full_syncs: u64,
}

struct DirFiles {
    log_path: PathBuf,
    meta_path: PathBuf,
    log: Mutex<LogFile>,
    /// The page file. Read through a shared guard and written through an exclusive one,
    /// so a slot read never sees half of a slot write (header and image are two
    /// writes). Not memory-mapped: a mapping would count every touched page of all six
    /// replicas in the process's RSS and take 10 GiB of address space per segment,
    /// more than a 128 TiB volume's thousands of segments times six can have.
    pages: RwLock<File>,
    /// Bytes of slot headers at the start of the page file, rounded up to a page so
    /// images stay page-aligned.
    header_region: usize,
    slots: u64,
    fsync: bool,
    log_sync: LogSync,
}

impl DirFiles {
    fn open(
        dir: &Path,
        pg: u64,
        slots: u64,
        fsync: bool,
        log_sync: LogSync,
        journal: Option<Arc<Journal>>,
    ) -> Result<Self> {
        std::fs::create_dir_all(dir)?;
        let log_path = DirBackend::path(dir, pg, "log");
        let meta_path = DirBackend::path(dir, pg, "meta");
        let log = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&log_path)?;
        let log_len = log.metadata()?.len();
        let header_region = (slots as usize * SLOT_HEADER).div_ceil(PAGE_SIZE) * PAGE_SIZE;
        let len = header_region as u64 + slots * PAGE_SIZE as u64;
        let pf = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(DirBackend::path(dir, pg, "pages"))?;
        if pf.metadata()?.len() != len {
            // Sparse: only written slots take disk space.
            pf.set_len(len)?;
        }
        if fsync {
            sync_dir(dir)?;
        }
        let journal = match journal {
            Some(j) if fsync && matches!(log_sync, LogSync::Range(_)) => {
                journal_target(&j, &log_path, &log)?.map(|t| (j, t))
            }
            _ => None,
        };
        // Direct writes are only a faster way: a log that cannot be opened for them is
        // written through the page cache.
        let direct = (journal.is_none()
            && fsync
            && matches!(log_sync, LogSync::Range(_))
            && direct_allowed(&log_path))
        .then(|| open_direct(&log_path))
        .and_then(|f| f.ok().map(Arc::new));
        Ok(Self {
            log_path,
            meta_path,
            log: Mutex::new(LogFile {
                file: Arc::new(log),
                direct,
                journal,
                tail: AlignedBuf::new(),
                tail_at: 0,
                tail_loaded: false,
                written: Arc::new(AtomicU64::new(0)),
                end: log_len,
                cap: log_len,
                // Whatever an earlier run left may not be durable: the first sync is full.
                durable_cap: 0,
                synced: 0,
                full_syncs: 0,
            }),
            pages: RwLock::new(pf),
            header_region,
            slots,
            fsync,
            log_sync,
        })
    }

    fn page_off(&self, idx: u64) -> u64 {
        self.header_region as u64 + idx * PAGE_SIZE as u64
    }
}

/// Whether logs may be written with `O_DIRECT`: not opted out
/// (`BOREALIS_LOG_SYNC=range` or `fdatasync`), and the kernel reports direct I/O for this
/// file with alignments a [`aio::BLOCK`]-aligned write meets. ext4 reports none where it
/// would quietly write through the page cache instead (journaled data, inline data,
/// encryption without direct I/O, verity): a write-back would then be missing.
pub(crate) fn direct_allowed(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    if flush::direct_writes_opted_out() {
        return false;
    }
    let Ok(c) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: `statx` is plain old data, for which all-zero bytes are a valid value.
    let mut st: libc::statx = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a NUL-terminated path and `st` a valid, writable statx.
    let r = unsafe { libc::statx(libc::AT_FDCWD, c.as_ptr(), 0, libc::STATX_DIOALIGN, &mut st) };
    let block = aio::BLOCK as u32;
    r == 0
        && st.stx_mask & libc::STATX_DIOALIGN != 0
        && (1..=block).contains(&st.stx_dio_offset_align)
        && (1..=block).contains(&st.stx_dio_mem_align)
}

/// How `journal`'s entries name the log at `path`: relative to the journal's directory,
/// with its inode number. `None` if the log is not under that directory.
fn journal_target(journal: &Journal, path: &Path, file: &File) -> Result<Option<Target>> {
    use std::os::unix::fs::MetadataExt;
    let Some(rel) = path
        .strip_prefix(journal.dir())
        .ok()
        .and_then(|r| r.to_str())
    else {
        return Ok(None);
    };
    Ok(Some(Target {
        rel: rel.into(),
        ino: file.metadata()?.ino(),
    }))
}

fn open_direct(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_DIRECT)
        .open(path)
}

impl LogFile {
    /// Load the tail (the bytes of `end`'s block before `end`) from the file, if it is
    /// not in memory.
    fn ensure_tail(&mut self) -> Result<()> {
        use std::os::unix::fs::FileExt;
        if self.tail_loaded {
            return Ok(());
        }
        let at = self.end / aio::BLOCK as u64 * aio::BLOCK as u64;
        let mut head = vec![0u8; (self.end - at) as usize];
        self.file.read_exact_at(&mut head, at)?;
        self.tail = AlignedBuf::new();
        self.tail.extend(&head);
        self.tail_at = at;
        self.tail_loaded = true;
        Ok(())
    }

    /// Before a write through the page cache: put the tail's bytes there, so no cached
    /// block is older than the tail, and drop the tail (it is reloaded from the file).
    fn spill_tail(&mut self) -> Result<()> {
        use std::os::unix::fs::FileExt;
        if self.tail_loaded {
            self.file.write_all_at(self.tail.as_slice(), self.tail_at)?;
            self.tail_loaded = false;
            self.tail = AlignedBuf::new();
        }
        Ok(())
    }

    /// Write the tail's blocks to the device now (not flushed); for a journaled log,
    /// into the page cache.
    fn write_tail(&mut self) -> Result<()> {
        use std::os::unix::fs::FileExt;
        if let Some(direct) = self.direct.clone() {
            self.ensure_tail()?;
            return aio::write_direct(&direct, &self.tail.padded(), self.tail_at);
        }
        if self.journal.is_some() {
            self.ensure_tail()?;
            self.file.write_all_at(self.tail.as_slice(), self.tail_at)?;
        }
        Ok(())
    }

    /// For a journaled log with appends not yet synced: put them in the page cache and
    /// return them as a journal piece, the log registered dirty with the journal first
    /// (see the journal's invariants). `None` where the journal does not take them (too
    /// large, or not all in memory): then they are in the page cache for a write-back.
    fn journal_piece(&mut self, tag: usize) -> Result<Option<(Arc<Journal>, Piece)>> {
        let Some((j, target)) = self.journal.clone() else {
            return Ok(None);
        };
        use std::os::unix::fs::FileExt;
        let (from, to) = (self.synced, self.end);
        if !(self.tail_loaded && self.tail_at <= from && (to - from) as usize <= journal::PIECE_MAX)
        {
            self.write_tail()?;
            return Ok(None);
        }
        let data = self.tail.as_slice()[(from - self.tail_at) as usize..].to_vec();
        self.file.write_all_at(&data, from)?;
        j.dirty(target.ino, &self.file);
        let piece = Piece {
            target,
            offset: from,
            data,
            done_to: self.written.clone(),
            end: to,
            tag,
        };
        Ok(Some((j, piece)))
    }

    /// The tail is written up to `end`: keep only `end`'s block.
    fn trim_tail(&mut self) {
        if self.tail_loaded {
            let keep = self.end / aio::BLOCK as u64 * aio::BLOCK as u64;
            if keep > self.tail_at {
                self.tail.drain_front((keep - self.tail_at) as usize);
                self.tail_at = keep;
            }
            // A large batch of appends leaves a large buffer behind: give it back (a
            // volume has six replicas of every protection group, each with a tail).
            if self.tail.capacity() > TAIL_KEEP {
                let mut small = AlignedBuf::new();
                small.extend(self.tail.as_slice());
                self.tail = small;
            }
        }
    }
}

impl SegmentFiles for DirFiles {
    fn slots(&self) -> u64 {
        self.slots
    }

    fn read_log(&self) -> Result<Vec<u8>> {
        let g = self.log.lock();
        let mut f = File::open(&self.log_path)?;
        let mut v = Vec::new();
        f.read_to_end(&mut v)?;
        if g.tail_loaded {
            // Appends not written yet are in memory only.
            let at = g.tail_at as usize;
            let tail = g.tail.as_slice();
            if v.len() < at + tail.len() {
                v.resize(at + tail.len(), 0);
            }
            v[at..at + tail.len()].copy_from_slice(tail);
        }
        Ok(v)
    }

    fn set_log_end(&self, end: u64) {
        let mut g = self.log.lock();
        g.end = end.min(g.cap);
        g.tail_loaded = false;
        g.tail = AlignedBuf::new();
    }

    fn append_log(&self, bytes: &[u8]) -> Result<()> {
        use std::os::unix::fs::FileExt;
        let mut g = self.log.lock();
        let end = g.end + bytes.len() as u64;
        if (g.direct.is_some() || g.journal.is_some()) && end <= g.durable_cap {
            g.ensure_tail()?;
            g.tail.extend(bytes);
            g.end = end;
            if g.tail.len() > TAIL_MAX {
                g.write_tail()?;
                g.trim_tail();
            }
            return Ok(());
        }
        g.spill_tail()?;
        if end > g.cap && self.fsync {
            // Zeros first, then the records over them: the next sync persists both and
            // the new size once; later syncs find the size unchanged.
            let cap = end.div_ceil(LOG_PREALLOC) * LOG_PREALLOC;
            let zeros = [0u8; PREALLOC_WRITE];
            let mut at = g.cap;
            while at < cap {
                let n = (cap - at).min(PREALLOC_WRITE as u64) as usize;
                g.file.write_all_at(&zeros[..n], at)?;
                at += n as u64;
            }
            g.cap = cap;
        }
        g.file.write_all_at(bytes, g.end)?;
        g.end = end;
        g.cap = g.cap.max(end);
        Ok(())
    }

    fn sync_log(&self) -> Result<()> {
        if let Some(anchor) = self.sync_log_unflushed()? {
            anchor.flush()?;
        }
        Ok(())
    }

    fn start_log_sync(&self, writes: &mut LogWrites, tag: usize) -> Result<()> {
        if !self.fsync {
            return Ok(());
        }
        let mut g = self.log.lock();
        if matches!(self.log_sync, LogSync::Range(_)) && g.end <= g.durable_cap && g.end > g.synced
        {
            if g.journal.is_some() {
                match g.journal_piece(tag)? {
                    Some((j, p)) => writes.push_piece(j, p),
                    None => flush::start_write_back(&g.file, g.synced, g.end - g.synced)?,
                }
            } else if let Some(direct) = g.direct.clone() {
                g.ensure_tail()?;
                writes.push(aio::DirectWrite {
                    file: direct,
                    buf: g.tail.padded(),
                    offset: g.tail_at,
                    done_to: g.written.clone(),
                    end: g.end,
                    tag,
                });
            } else {
                flush::start_write_back(&g.file, g.synced, g.end - g.synced)?;
            }
        }
        Ok(())
    }

    fn sync_log_unflushed(&self) -> Result<Option<Arc<Anchor>>> {
        if !self.fsync {
            return Ok(None);
        }
        let mut g = self.log.lock();
        match &self.log_sync {
            LogSync::Range(anchor) if g.end <= g.durable_cap => {
                let (from, to) = (g.synced, g.end);
                if to > from && g.journal.is_some() {
                    if g.written.load(Ordering::Acquire) < to {
                        match g.journal_piece(0)? {
                            Some((j, p)) => {
                                if let Some((_, e)) = j.write(vec![p]).pop() {
                                    return Err(e);
                                }
                            }
                            None => flush::write_back(&g.file, from, to - from)?,
                        }
                    }
                    g.trim_tail();
                } else if to > from && g.direct.is_some() {
                    if g.written.load(Ordering::Acquire) < to {
                        g.write_tail()?;
                    }
                    g.trim_tail();
                } else if to > from {
                    flush::write_back(&g.file, from, to - from)?;
                }
                // Written back, durable at the caller's flush. Should that flush fail,
                // the segment fails and these files are not synced again (a reopened
                // segment starts with a full sync), so `synced` may move now.
                g.synced = to;
                Ok(Some(anchor.clone()))
            }
            _ => {
                let (cap, end) = (g.cap, g.end);
                g.file.sync_data()?;
                g.durable_cap = cap;
                g.synced = end;
                g.full_syncs += 1;
                Ok(None)
            }
        }
    }

    fn replace_log(&self, bytes: &[u8]) -> Result<()> {
        let mut g = self.log.lock();
        if let Some((j, _)) = &g.journal {
            // No entry of the journal's generation may name this path once it is a
            // different file (see the journal's invariants).
            j.checkpoint()?;
        }
        write_atomic(&self.log_path, bytes, self.fsync)?;
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&self.log_path)?;
        let len = bytes.len() as u64;
        // write_atomic synced the whole new file when fsync is on.
        let durable = if self.fsync { len } else { 0 };
        // The new file is the old one's successor: written the same way.
        let direct = g
            .direct
            .is_some()
            .then(|| open_direct(&self.log_path))
            .and_then(|f| f.ok().map(Arc::new));
        let journal = match g.journal.take() {
            Some((j, _)) => journal_target(&j, &self.log_path, &f)?.map(|t| (j, t)),
            None => None,
        };
        *g = LogFile {
            file: Arc::new(f),
            direct,
            journal,
            tail: AlignedBuf::new(),
            tail_at: 0,
            tail_loaded: false,
            written: Arc::new(AtomicU64::new(0)),
            end: len,
            cap: len,
            durable_cap: durable,
            synced: durable,
            full_syncs: g.full_syncs,
        };
        Ok(())
    }

    fn read_slot(&self, idx: u64, hdr: &mut [u8; SLOT_HEADER], page: &mut [u8]) -> Result<()> {
        use std::os::unix::fs::FileExt;
        check_slot(idx, self.slots)?;
        check_page(page)?;
        let f = self.pages.read();
        f.read_exact_at(hdr, idx * SLOT_HEADER as u64)?;
        f.read_exact_at(page, self.page_off(idx))?;
        Ok(())
    }

    fn read_slot_header(&self, idx: u64, hdr: &mut [u8; SLOT_HEADER]) -> Result<()> {
        use std::os::unix::fs::FileExt;
        check_slot(idx, self.slots)?;
        self.pages
            .read()
            .read_exact_at(hdr, idx * SLOT_HEADER as u64)?;
        Ok(())
    }

    fn read_slot_headers(&self, from: u64, out: &mut [[u8; SLOT_HEADER]]) -> Result<()> {
        use std::os::unix::fs::FileExt;
        if out.is_empty() {
            return Ok(());
        }
        check_slot(from + out.len() as u64 - 1, self.slots)?;
        let mut buf = vec![0u8; out.len() * SLOT_HEADER];
        self.pages
            .read()
            .read_exact_at(&mut buf, from * SLOT_HEADER as u64)?;
        for (h, b) in out.iter_mut().zip(buf.chunks_exact(SLOT_HEADER)) {
            h.copy_from_slice(b);
        }
        Ok(())
    }

    fn write_slot(&self, idx: u64, hdr: &[u8; SLOT_HEADER], page: &[u8]) -> Result<()> {
        use std::os::unix::fs::FileExt;
        check_slot(idx, self.slots)?;
        check_page(page)?;
        let f = self.pages.write();
        f.write_all_at(page, self.page_off(idx))?;
        f.write_all_at(hdr, idx * SLOT_HEADER as u64)?;
        Ok(())
    }

    fn sync_pages(&self) -> Result<()> {
        if self.fsync {
            self.pages.read().sync_data()?;
        }
        Ok(())
    }

    fn read_meta(&self) -> Result<Option<Vec<u8>>> {
        match std::fs::read(&self.meta_path) {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn write_meta(&self, bytes: &[u8]) -> Result<()> {
        write_atomic(&self.meta_path, bytes, self.fsync)
    }
}

// ---------------------------------------------------------------------------------------
// Memory.

/// Segment files in memory (the no-disk mode). Contents survive a node "restart" because
/// the backend keeps them; tests reach in through [`MemFiles`] to damage them.
#[derive(Default)]
pub struct MemBackend {
    segs: Mutex<HashMap<u64, Arc<MemFiles>>>,
}

impl MemBackend {
    pub fn new() -> Self {
        Self::default()
    }

    /// The files of `pg`, if they exist (for tests that damage them).
    pub fn files(&self, pg: u64) -> Option<Arc<MemFiles>> {
        self.segs.lock().get(&pg).cloned()
    }

    /// Forget everything (a node whose disk was replaced).
    pub fn wipe(&self) {
        self.segs.lock().clear();
    }
}

impl Backend for MemBackend {
    fn open_segment(&self, pg: u64, slots: u64) -> Result<Arc<dyn SegmentFiles>> {
        let f = self
            .segs
            .lock()
            .entry(pg)
            .or_insert_with(|| {
                Arc::new(MemFiles {
                    slots,
                    ..Default::default()
                })
            })
            .clone();
        Ok(f)
    }

    fn flushes(&self) -> bool {
        false
    }

    fn list_segments(&self) -> Result<Vec<u64>> {
        let mut v: Vec<u64> = self.segs.lock().keys().copied().collect();
        v.sort_unstable();
        Ok(v)
    }
}

/// A slot in memory: header and image.
pub type MemSlot = ([u8; SLOT_HEADER], Vec<u8>);

/// One segment's files in memory.
#[derive(Default)]
pub struct MemFiles {
    slots: u64,
    pub log: Mutex<Vec<u8>>,
    pub pages: Mutex<HashMap<u64, MemSlot>>,
    pub meta: Mutex<Option<Vec<u8>>>,
}

impl SegmentFiles for MemFiles {
    fn slots(&self) -> u64 {
        self.slots
    }
    fn read_log(&self) -> Result<Vec<u8>> {
        Ok(self.log.lock().clone())
    }
    fn append_log(&self, bytes: &[u8]) -> Result<()> {
        self.log.lock().extend_from_slice(bytes);
        Ok(())
    }
    fn sync_log(&self) -> Result<()> {
        Ok(())
    }
    fn replace_log(&self, bytes: &[u8]) -> Result<()> {
        *self.log.lock() = bytes.to_vec();
        Ok(())
    }
    fn read_slot(&self, idx: u64, hdr: &mut [u8; SLOT_HEADER], page: &mut [u8]) -> Result<()> {
        check_slot(idx, self.slots)?;
        check_page(page)?;
        match self.pages.lock().get(&idx) {
            Some((h, p)) => {
                hdr.copy_from_slice(h);
                page.copy_from_slice(p);
            }
            None => {
                hdr.fill(0);
                page.fill(0);
            }
        }
        Ok(())
    }
    fn read_slot_header(&self, idx: u64, hdr: &mut [u8; SLOT_HEADER]) -> Result<()> {
        check_slot(idx, self.slots)?;
        match self.pages.lock().get(&idx) {
            Some((h, _)) => hdr.copy_from_slice(h),
            None => hdr.fill(0),
        }
        Ok(())
    }
    fn write_slot(&self, idx: u64, hdr: &[u8; SLOT_HEADER], page: &[u8]) -> Result<()> {
        check_slot(idx, self.slots)?;
        check_page(page)?;
        self.pages.lock().insert(idx, (*hdr, page.to_vec()));
        Ok(())
    }
    fn sync_pages(&self) -> Result<()> {
        Ok(())
    }
    fn read_meta(&self) -> Result<Option<Vec<u8>>> {
        Ok(self.meta.lock().clone())
    }
    fn write_meta(&self, bytes: &[u8]) -> Result<()> {
        *self.meta.lock() = Some(bytes.to_vec());
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// Faults.

/// Shared switches of a [`FaultyFiles`]: fail every operation after a countdown, or
/// count syncs (to prove group commit shares them).
#[derive(Default)]
pub struct Faults {
    /// Operations left before every operation fails; negative: never fail.
    pub countdown: AtomicI64,
    pub failing: AtomicBool,
    pub log_syncs: AtomicI64,
    /// Microseconds each log sync takes (a slow disk).
    pub sync_delay_us: AtomicI64,
}

impl Faults {
    pub fn new() -> Arc<Self> {
        let f = Self::default();
        f.countdown.store(-1, Ordering::SeqCst);
        Arc::new(f)
    }

    fn tick(&self) -> Result<()> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(Error::Io(std::io::Error::other("injected I/O fault")));
        }
        let c = self.countdown.load(Ordering::SeqCst);
        if c == 0 {
            self.failing.store(true, Ordering::SeqCst);
            return Err(Error::Io(std::io::Error::other("injected I/O fault")));
        }
        if c > 0 {
            self.countdown.fetch_sub(1, Ordering::SeqCst);
        }
        Ok(())
    }
}

/// Wraps segment files, injecting failures from [`Faults`].
pub struct FaultyFiles {
    pub inner: Arc<dyn SegmentFiles>,
    pub faults: Arc<Faults>,
}

impl SegmentFiles for FaultyFiles {
    fn slots(&self) -> u64 {
        self.inner.slots()
    }
    fn read_log(&self) -> Result<Vec<u8>> {
        self.faults.tick()?;
        self.inner.read_log()
    }
    fn set_log_end(&self, end: u64) {
        self.inner.set_log_end(end)
    }
    fn append_log(&self, bytes: &[u8]) -> Result<()> {
        self.faults.tick()?;
        self.inner.append_log(bytes)
    }
    fn sync_log(&self) -> Result<()> {
        self.faults.tick()?;
        self.faults.log_syncs.fetch_add(1, Ordering::SeqCst);
        let d = self.faults.sync_delay_us.load(Ordering::SeqCst);
        if d > 0 {
            std::thread::sleep(std::time::Duration::from_micros(d as u64));
        }
        self.inner.sync_log()
    }
    fn replace_log(&self, bytes: &[u8]) -> Result<()> {
        self.faults.tick()?;
        self.inner.replace_log(bytes)
    }
    fn read_slot(&self, idx: u64, hdr: &mut [u8; SLOT_HEADER], page: &mut [u8]) -> Result<()> {
        self.faults.tick()?;
        self.inner.read_slot(idx, hdr, page)
    }
    fn read_slot_header(&self, idx: u64, hdr: &mut [u8; SLOT_HEADER]) -> Result<()> {
        self.faults.tick()?;
        self.inner.read_slot_header(idx, hdr)
    }
    fn write_slot(&self, idx: u64, hdr: &[u8; SLOT_HEADER], page: &[u8]) -> Result<()> {
        self.faults.tick()?;
        self.inner.write_slot(idx, hdr, page)
    }
    fn sync_pages(&self) -> Result<()> {
        self.faults.tick()?;
        self.inner.sync_pages()
    }
    fn read_meta(&self) -> Result<Option<Vec<u8>>> {
        self.faults.tick()?;
        self.inner.read_meta()
    }
    fn write_meta(&self, bytes: &[u8]) -> Result<()> {
        self.faults.tick()?;
        self.inner.write_meta(bytes)
    }
}

/// A backend whose segment files all share one [`Faults`] (a failing disk).
pub struct FaultyBackend {
    pub inner: Arc<dyn Backend>,
    pub faults: Arc<Faults>,
}

impl Backend for FaultyBackend {
    fn open_segment(&self, pg: u64, slots: u64) -> Result<Arc<dyn SegmentFiles>> {
        self.faults.tick()?;
        Ok(Arc::new(FaultyFiles {
            inner: self.inner.open_segment(pg, slots)?,
            faults: self.faults.clone(),
        }))
    }

    fn list_segments(&self) -> Result<Vec<u64>> {
        self.faults.tick()?;
        self.inner.list_segments()
    }
}

impl Faults {
    /// Stop failing (the disk was fixed).
    pub fn heal(&self) {
        self.countdown.store(-1, Ordering::SeqCst);
        self.failing.store(false, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The log holds `want` followed only by preallocated zeros.
    fn log_is(f: &dyn SegmentFiles, want: &[u8]) {
        let got = f.read_log().unwrap();
        assert!(got.starts_with(want), "{got:?}");
        assert!(got[want.len()..].iter().all(|&b| b == 0));
    }

    fn exercise(b: &dyn Backend) {
        let f = b.open_segment(3, 8).unwrap();
        f.append_log(b"abc").unwrap();
        f.append_log(b"def").unwrap();
        f.sync_log().unwrap();
        log_is(&*f, b"abcdef");
        f.replace_log(b"xy").unwrap();
        f.append_log(b"z").unwrap();
        log_is(&*f, b"xyz");
        let mut hdr = [0u8; SLOT_HEADER];
        let mut page = vec![1u8; PAGE_SIZE];
        f.read_slot(7, &mut hdr, &mut page).unwrap();
        assert!(hdr.iter().all(|&b| b == 0) && page.iter().all(|&b| b == 0));
        let h = [9u8; SLOT_HEADER];
        let p = vec![5u8; PAGE_SIZE];
        f.write_slot(7, &h, &p).unwrap();
        f.sync_pages().unwrap();
        f.read_slot(7, &mut hdr, &mut page).unwrap();
        assert_eq!((hdr, &page), (h, &p));
        assert!(f.read_slot_header(8, &mut hdr).is_err());
        // Headers in one batch read as they do one by one; a batch past the end fails.
        f.write_slot(2, &[4u8; SLOT_HEADER], &p).unwrap();
        let mut hdrs = [[1u8; SLOT_HEADER]; 7];
        f.read_slot_headers(1, &mut hdrs).unwrap();
        for (i, got) in (1..).zip(hdrs) {
            f.read_slot_header(i, &mut hdr).unwrap();
            assert_eq!(got, hdr, "slot {i}");
        }
        assert_eq!((hdrs[1], hdrs[6]), ([4u8; SLOT_HEADER], h));
        assert!(f.read_slot_headers(2, &mut hdrs).is_err());
        f.read_slot_headers(8, &mut []).unwrap();
        assert!(f.read_slot(1, &mut hdr, &mut page[..100]).is_err());
        assert_eq!(f.read_meta().unwrap(), None);
        f.write_meta(b"m").unwrap();
        assert_eq!(f.read_meta().unwrap().unwrap(), b"m");
        assert_eq!(b.list_segments().unwrap(), vec![3]);
    }

    #[test]
    fn dir_backend_roundtrips_and_persists() {
        let d = tempfile::tempdir().unwrap();
        let b = DirBackend::new(d.path(), true).unwrap();
        exercise(&b);
        drop(b);
        let b = DirBackend::new(d.path(), true).unwrap();
        let f = b.open_segment(3, 8).unwrap();
        log_is(&*f, b"xyz");
        // Appends after reopening go right after the valid bytes, over the zeros.
        f.set_log_end(3);
        f.append_log(b"w").unwrap();
        f.sync_log().unwrap();
        log_is(&*f, b"xyzw");
        let mut hdr = [0u8; SLOT_HEADER];
        f.read_slot_header(7, &mut hdr).unwrap();
        assert_eq!(hdr, [9u8; SLOT_HEADER]);
    }

    /// Range syncs (write-back + anchor flush) are taken only for bytes inside the part
    /// of the log whose allocation and size a full fdatasync already made durable.
    #[test]
    fn range_syncs_only_overwrite_what_a_full_sync_made_durable() {
        let d = tempfile::tempdir().unwrap();
        let anchor = crate::flush::Anchor::place(d.path()).unwrap();
        let sync = LogSync::Range(Arc::new(anchor));
        let f = DirFiles::open(d.path(), 0, 4, true, sync.clone(), None).unwrap();
        let full = |f: &DirFiles| f.log.lock().full_syncs;
        // First sync after open: nothing an earlier run wrote is known durable.
        f.append_log(b"abc").unwrap();
        f.sync_log().unwrap();
        assert_eq!(full(&f), 1);
        // Inside the preallocated, durable part: range syncs.
        for _ in 0..3 {
            f.append_log(&[7u8; 1000]).unwrap();
            f.sync_log().unwrap();
        }
        assert_eq!(full(&f), 1);
        // Past the preallocated part: the file grows, so the next sync is full again.
        let big = vec![9u8; LOG_PREALLOC as usize];
        f.append_log(&big).unwrap();
        f.sync_log().unwrap();
        assert_eq!(full(&f), 2);
        f.append_log(b"d").unwrap();
        f.sync_log().unwrap();
        assert_eq!(full(&f), 2);
        // A replaced log is exactly its bytes: the first append grows it (full sync),
        // the next ones overwrite the new room.
        f.replace_log(b"xy").unwrap();
        f.append_log(b"z").unwrap();
        f.sync_log().unwrap();
        assert_eq!(full(&f), 3);
        f.append_log(b"w").unwrap();
        f.sync_log().unwrap();
        assert_eq!(full(&f), 3);
        log_is(&f, b"xyzw");
        drop(f);
        let f = DirFiles::open(d.path(), 0, 4, true, sync, None).unwrap();
        f.set_log_end(4);
        f.append_log(b"v").unwrap();
        f.sync_log().unwrap();
        assert_eq!(full(&f), 1, "the first sync after reopening is full");
        log_is(&f, b"xyzwv");
    }

    #[test]
    fn a_locked_directory_is_refused_until_released() {
        let d = tempfile::tempdir().unwrap();
        let first = DirLock::acquire(d.path()).unwrap();
        // Held in this process: the second open waits IN_PROCESS_WAIT, then gives up.
        let t = std::time::Instant::now();
        match DirLock::acquire(d.path()) {
            Err(Error::InUse(p)) => assert_eq!(p, d.path().display().to_string()),
            other => panic!("expected InUse, got {:?}", other.map(|_| ())),
        }
        assert!(t.elapsed() >= IN_PROCESS_WAIT);
        // The flock itself refuses a second holder (what another process meets, at once).
        let other = OpenOptions::new()
            .write(true)
            .open(d.path().join("LOCK"))
            .unwrap();
        assert!(matches!(
            other.try_lock(),
            Err(std::fs::TryLockError::WouldBlock)
        ));
        drop(first);
        other
            .try_lock()
            .expect("the flock is released with the lock");
        drop(other);
        DirLock::acquire(d.path()).expect("free again once released");
        // A directory that does not exist yet is created.
        DirLock::acquire(&d.path().join("new/sub")).unwrap();
    }

    /// A handle dropped on another thread (as a volume's last reference can be, on its
    /// ticker) while this one reopens: the open waits for the release, it does not fail.
    #[test]
    fn an_open_waits_for_a_release_in_progress_in_this_process() {
        let d = tempfile::tempdir().unwrap();
        let first = DirLock::acquire(d.path()).unwrap();
        let t = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(100));
            drop(first);
        });
        DirLock::acquire(d.path()).expect("acquired once the other thread let go");
        t.join().unwrap();
    }

    #[test]
    fn log_preallocation_grows_in_steps_and_keeps_every_append() {
        let d = tempfile::tempdir().unwrap();
        let b = DirBackend::new(d.path(), true).unwrap();
        let f = b.open_segment(0, 4).unwrap();
        // Appends that straddle the preallocation boundary, one of them longer than a
        // zero-write chunk.
        let mut want = Vec::new();
        let mut i = 0u8;
        while want.len() < LOG_PREALLOC as usize + 3 * PREALLOC_WRITE {
            let rec = vec![i | 1; 1000 + 37 * i as usize];
            f.append_log(&rec).unwrap();
            want.extend_from_slice(&rec);
            i = i.wrapping_add(1);
        }
        f.sync_log().unwrap();
        let log = f.read_log().unwrap();
        assert_eq!(
            log.len() as u64,
            2 * LOG_PREALLOC,
            "file grows by whole steps"
        );
        assert_eq!(&log[..want.len()], &want[..]);
        assert!(log[want.len()..].iter().all(|&b| b == 0));
    }

    /// The log as its own bytes show through a fresh descriptor (the page cache or the
    /// device), not through `read_log`'s view of appends held in memory.
    fn on_file(d: &Path, pg: u64) -> Vec<u8> {
        std::fs::read(DirBackend::path(d, pg, "log")).unwrap()
    }

    /// With direct writes (ext4), an append inside the durable preallocated part stays in
    /// memory until a sync (single or batched) writes its blocks, and `read_log` sees it
    /// either way.
    #[test]
    fn direct_appends_reach_the_file_only_when_synced() {
        let d = tempfile::tempdir().unwrap();
        let anchor = Arc::new(Anchor::place(d.path()).unwrap());
        let f = DirFiles::open(d.path(), 0, 4, true, LogSync::Range(anchor.clone()), None).unwrap();
        if f.log.lock().direct.is_none() {
            eprintln!("no direct I/O for {}: nothing to check", d.path().display());
            return;
        }
        f.append_log(b"abc").unwrap();
        f.sync_log().unwrap(); // full: the preallocation becomes durable
        f.append_log(b"def").unwrap();
        assert_eq!(
            &on_file(d.path(), 0)[..6],
            b"abc\0\0\0",
            "not written before a sync"
        );
        log_is(&f, b"abcdef");
        f.sync_log().unwrap();
        assert_eq!(&on_file(d.path(), 0)[..6], b"abcdef");
        // A batch: the write is made by `submit`, and the sync after it has nothing left
        // to write (it is not repeated: `written` covers the end).
        let g = DirFiles::open(d.path(), 1, 4, true, LogSync::Range(anchor), None).unwrap();
        g.append_log(b"x").unwrap();
        g.sync_log().unwrap();
        f.append_log(b"ghi").unwrap();
        g.append_log(b"yz").unwrap();
        let mut writes = LogWrites::new();
        f.start_log_sync(&mut writes, 0).unwrap();
        g.start_log_sync(&mut writes, 1).unwrap();
        assert!(writes.submit().is_empty());
        assert_eq!(&on_file(d.path(), 0)[..9], b"abcdefghi");
        assert_eq!(&on_file(d.path(), 1)[..3], b"xyz");
        assert_eq!(f.log.lock().written.load(Ordering::Acquire), 9);
        for x in [&f, &g] {
            x.sync_log_unflushed()
                .unwrap()
                .expect("range sync")
                .flush()
                .unwrap();
        }
        log_is(&f, b"abcdefghi");
        log_is(&g, b"xyz");
    }

    /// With a device journal, a sync puts a log's appends in the journal and its file
    /// gets them through the page cache only: should those page-cache writes be lost (a
    /// power cut before any write-back), the next journal open writes the synced appends
    /// back, single and batched syncs alike. Seeded (SEED).
    #[test]
    fn journaled_appends_survive_losing_the_logs_own_writes() {
        use rand::{Rng, SeedableRng};
        let seed: u64 = std::env::var("SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(rand::random);
        eprintln!("journaled_appends_survive_losing_the_logs_own_writes: SEED={seed}");
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let d = tempfile::tempdir().unwrap();
        let node = d.path().join("node-0");
        std::fs::create_dir_all(&node).unwrap();
        let anchor = Arc::new(Anchor::place(d.path()).unwrap());
        let (j, _) = Journal::open(d.path(), anchor.clone()).unwrap();
        let b = DirBackend {
            dir: node.clone(),
            fsync: true,
            log_sync: LogSync::Range(anchor.clone()),
            journal: Some(j.clone()),
        };
        let files: Vec<Arc<dyn SegmentFiles>> =
            (0..3).map(|pg| b.open_segment(pg, 4).unwrap()).collect();
        let mut want: Vec<Vec<u8>> = vec![Vec::new(); 3];
        // A first append and full sync each: the preallocation becomes durable, and from
        // here on synced appends go through the journal.
        for (f, w) in files.iter().zip(&mut want) {
            f.append_log(b"first").unwrap();
            f.sync_log().unwrap();
            w.extend_from_slice(b"first");
        }
        let base: Vec<usize> = want.iter().map(Vec::len).collect();
        let mut synced = base.clone();
        for _ in 0..300 {
            let i = rng.gen_range(0..3);
            match rng.gen_range(0..10) {
                0..=5 => {
                    let len = match rng.gen_range(0..20) {
                        0 => rng.gen_range(4000..20_000),
                        _ => rng.gen_range(1..600),
                    };
                    let rec: Vec<u8> = (0..len).map(|_| rng.gen_range(1..=255)).collect();
                    files[i].append_log(&rec).unwrap();
                    want[i].extend_from_slice(&rec);
                }
                6 | 7 => {
                    files[i].sync_log().unwrap();
                    synced[i] = want[i].len();
                }
                8 => {
                    let mut writes = LogWrites::new();
                    for (t, f) in files.iter().enumerate() {
                        f.start_log_sync(&mut writes, t).unwrap();
                    }
                    assert!(writes.submit().is_empty());
                    for (t, f) in files.iter().enumerate() {
                        if let Some(a) = f.sync_log_unflushed().unwrap() {
                            a.flush().unwrap();
                        }
                        synced[t] = want[t].len();
                    }
                }
                _ => log_is(&*files[i], &want[i]),
            }
        }
        assert_eq!(
            j.checkpoints(),
            1,
            "only the open's: nothing reached the logs' files"
        );
        drop(files);
        drop(b);
        drop(j);
        // Lose what the logs' own files got after their full syncs.
        for pg in 0..3 {
            let f = OpenOptions::new()
                .write(true)
                .open(DirBackend::path(&node, pg, "log"))
                .unwrap();
            let n = synced[pg as usize] - base[pg as usize];
            std::os::unix::fs::FileExt::write_all_at(&f, &vec![0u8; n], base[pg as usize] as u64)
                .unwrap();
        }
        let (_j, r) = Journal::open(d.path(), anchor).unwrap();
        assert_eq!(r.skipped, 0);
        for pg in 0..3u64 {
            let on = on_file(&node, pg);
            let n = synced[pg as usize];
            assert_eq!(&on[..n], &want[pg as usize][..n], "log {pg}, seed {seed}");
        }
    }

    /// Seeded random appends of every size (tiny, several blocks, past the in-memory
    /// limit, across preallocation steps) to three logs, synced one by one, in batches,
    /// or not at all for a while: each log always reads back as exactly its appends, and
    /// so does it after reopening.
    #[test]
    fn direct_logs_keep_every_append_through_every_kind_of_sync() {
        use rand::{Rng, SeedableRng};
        let seed: u64 = std::env::var("SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(rand::random);
        eprintln!("direct_logs_keep_every_append_through_every_kind_of_sync: SEED={seed}");
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let d = tempfile::tempdir().unwrap();
        let anchor = Arc::new(Anchor::place(d.path()).unwrap());
        let open = |pg| DirFiles::open(d.path(), pg, 4, true, LogSync::Range(anchor.clone()), None);
        let files: Vec<DirFiles> = (0..3).map(|pg| open(pg).unwrap()).collect();
        let mut want: Vec<Vec<u8>> = vec![Vec::new(); 3];
        for _ in 0..300 {
            let i = rng.gen_range(0..3);
            match rng.gen_range(0..10) {
                0..=5 => {
                    let len = match rng.gen_range(0..20) {
                        0 => rng.gen_range(TAIL_MAX - 1000..TAIL_MAX + 5000),
                        1..=5 => rng.gen_range(600..20_000),
                        _ => rng.gen_range(1..600),
                    };
                    let rec: Vec<u8> = (0..len).map(|_| rng.gen_range(1..=255)).collect();
                    files[i].append_log(&rec).unwrap();
                    want[i].extend_from_slice(&rec);
                }
                6 | 7 => files[i].sync_log().unwrap(),
                8 => {
                    let mut writes = LogWrites::new();
                    for (t, f) in files.iter().enumerate() {
                        f.start_log_sync(&mut writes, t).unwrap();
                    }
                    assert!(writes.submit().is_empty());
                    for f in &files {
                        if let Some(a) = f.sync_log_unflushed().unwrap() {
                            a.flush().unwrap();
                        }
                    }
                }
                _ => log_is(&files[i], &want[i]),
            }
        }
        for (f, w) in files.iter().zip(&want) {
            f.sync_log().unwrap();
            log_is(f, w);
        }
        drop(files);
        for (pg, w) in want.iter().enumerate() {
            let f = open(pg as u64).unwrap();
            let disk = on_file(d.path(), pg as u64);
            assert_eq!(&disk[..w.len()], &w[..], "log {pg} on disk (seed {seed})");
            f.set_log_end(w.len() as u64);
            f.append_log(b"more").unwrap();
            f.sync_log().unwrap();
            f.append_log(b"again").unwrap();
            f.sync_log().unwrap();
            let mut w = w.clone();
            w.extend_from_slice(b"moreagain");
            log_is(&f, &w);
            assert_eq!(&on_file(d.path(), pg as u64)[..w.len()], &w[..]);
        }
    }

    #[test]
    fn mem_backend_roundtrips() {
        exercise(&MemBackend::new());
    }

    #[test]
    fn faults_fire_after_countdown() {
        let faults = Faults::new();
        let f = FaultyFiles {
            inner: MemBackend::new().open_segment(0, 4).unwrap(),
            faults: faults.clone(),
        };
        faults.countdown.store(2, Ordering::SeqCst);
        f.append_log(b"a").unwrap();
        f.sync_log().unwrap();
        assert!(f.append_log(b"b").is_err());
        assert!(f.read_log().is_err(), "stays failed");
    }
}
