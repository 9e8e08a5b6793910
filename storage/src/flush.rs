//! How a segment log's appends become durable on the file system at hand.
//!
//! The plain way is `fdatasync` of the log. On ext4 without a journal that costs three
//! device round trips per commit, not two: every append changes the log's mtime, the
//! inode is written in place (there is no journal to log it in), and `fdatasync` writes
//! that inode-table block synchronously before it flushes the device's cache, although
//! nothing in it is needed to read the data back.
//!
//! [`LogSync::Range`] avoids the third trip where it is safe to: it writes the appended
//! byte range back with `sync_file_range` (write and wait), then flushes the device's
//! volatile cache through [`Anchor`], an empty file whose `fdatasync` has nothing to
//! write but, on ext4, still issues the cache flush. That makes the appended bytes
//! durable only when reading them back needs no metadata, so the caller
//! (`io::DirFiles`) uses it only for appends that overwrite log bytes whose allocation
//! and size a full `fdatasync` already made durable (the log is preallocated with
//! zeros), and falls back to `fdatasync` for everything else. With a journal (ordered
//! or writeback data mode) `fdatasync` of such an overwrite skips the inode already, but
//! the range path still lets several logs share one flush (below); checked on a
//! journaled ext4 (a loop mount here): 500 rounds of append, range write-back and
//! anchor `fdatasync` issued 504 data writes and 503 cache flushes, no journal write.
//!
//! A cache flush makes durable every write the device completed before it, whichever
//! file it was for; so logs of several segments (and nodes) on one device that were all
//! written back can share one flush ([`Anchor::device`] tells which share;
//! `segment::Segment::flush_all` does it).
//!
//! Invariants:
//! - `Range` is chosen only on ext4 (where the flush-on-clean-file behaviour was checked,
//!   with and without a journal) when file data is not journaled: `data=journal`, or the
//!   journal-data attribute on the node's directory, gives `Fdatasync` (journaled data
//!   reaches its place only through a journal commit, which a write-back does not
//!   force), as do any other file system, a missing `/proc`, and
//!   `BOREALIS_LOG_SYNC=fdatasync`.
//! - Where it can, the anchor owns a whole inode-table block: every inode number in its
//!   aligned group of [`INODE_SPAN`] belongs to a file of the anchor directory, none of
//!   which is ever written, so the anchor's `fdatasync` finds its inode block clean and
//!   issues only the flush. Where free inodes are too scattered for that, a lone file
//!   serves (see [`Anchor::place`]). This is for speed; durability does not depend on it.

use std::collections::{HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::Result;

/// Directory, inside a storage node's directory, that holds the anchor files.
pub const ANCHOR_DIR: &str = "flush-anchor";

/// Inodes per inode-table block that an anchor's group covers: 32 covers ext4's
/// 4 KiB blocks with 128-byte inodes (and 16 per block with 256-byte ones, the default),
/// since a group aligned to 32 is made of whole blocks either way.
pub const INODE_SPAN: u64 = 32;

/// Files created at most while looking for a whole group (fragmented inode tables can
/// need more than one group's worth before the allocator hands out a run).
const MAX_ANCHOR_FILES: usize = 192;

/// ext4's (and ext2/ext3's) `statfs` magic number.
const EXT4_SUPER_MAGIC: u64 = 0xEF53;

/// How [`crate::io::DirBackend`]'s segment logs are synced.
#[derive(Clone)]
pub enum LogSync {
    /// `fdatasync` of the log file.
    Fdatasync,
    /// Write back the appended range, then flush the device cache through the anchor.
    Range(Arc<Anchor>),
}

impl LogSync {
    /// The way to sync logs kept in `dir` (a storage node's directory). Never fails:
    /// `Range` is only a faster way, so anything in its way gives `Fdatasync`.
    pub fn for_dir(dir: &Path) -> LogSync {
        if opted_out() || !range_syncs_safe(dir) {
            return LogSync::Fdatasync;
        }
        match Anchor::place(dir) {
            Ok(a) => LogSync::Range(Arc::new(a)),
            Err(e) => {
                tracing::warn!(
                    "log syncs use fdatasync: no flush anchor in {}: {e}",
                    dir.display()
                );
                LogSync::Fdatasync
            }
        }
    }
}

/// What [`LogSync::for_dir`] chooses for logs kept in `dir` (or, if it does not exist
/// yet, in its nearest existing ancestor), in words, without creating anything: for
/// benchmark reports. (Should placing the anchor fail, the node warns and uses
/// `fdatasync` after all.)
pub fn describe_for(dir: &Path) -> &'static str {
    let mut d = dir;
    while !d.exists() {
        match d.parent() {
            Some(p) => d = p,
            None => break,
        }
    }
    if opted_out() {
        "fdatasync per log (BOREALIS_LOG_SYNC=fdatasync)"
    } else if !range_syncs_safe(d) {
        "fdatasync per log"
    } else if direct_writes_opted_out() {
        "range write-back per log, one cache flush per device and commit group (ext4, \
         BOREALIS_LOG_SYNC=range)"
    } else if crate::journal::opted_out() {
        "range syncs per log: O_DIRECT writes submitted together (write-back where the \
         kernel has no direct I/O for the file), one cache flush per device and commit \
         group (ext4, BOREALIS_LOG_SYNC=direct)"
    } else {
        "device journal: a commit group's appends to every log as one journal write, one \
         cache flush per device and commit group, logs written back at checkpoints (ext4)"
    }
}

/// `BOREALIS_LOG_SYNC=fdatasync`: keep plain `fdatasync` wherever.
fn opted_out() -> bool {
    std::env::var("BOREALIS_LOG_SYNC").is_ok_and(|v| v == "fdatasync")
}

/// `BOREALIS_LOG_SYNC=range` (or `fdatasync`): logs on the range path are written back
/// through the page cache, not with `O_DIRECT` (see `io::LogFile`).
pub(crate) fn direct_writes_opted_out() -> bool {
    opted_out() || std::env::var("BOREALIS_LOG_SYNC").is_ok_and(|v| v == "range")
}

/// An empty file whose `fdatasync` flushes the device cache and writes nothing else.
pub struct Anchor {
    file: File,
    path: PathBuf,
    /// The file system's device: one anchor's flush serves every log on it.
    dev: u64,
    /// Whether it owns a whole inode group (else it shares its inode block).
    owns_group: bool,
    /// Flushes made (for tests and diagnostics).
    flushes: AtomicU64,
    /// The device's flushes in this process, whichever anchor made them.
    clock: Arc<FlushClock>,
}

/// Flushes of one device in this process, numbered as they start, so that a writer can
/// tell when a flush that began after its write completed has finished (see
/// [`Anchor::wait_flush_after`]).
struct FlushClock {
    started: AtomicU64,
    /// Highest number of a flush that succeeded.
    done: Mutex<u64>,
    finished: Condvar,
}

impl FlushClock {
    fn new() -> Arc<FlushClock> {
        Arc::new(FlushClock {
            started: AtomicU64::new(0),
            done: Mutex::new(0),
            finished: Condvar::new(),
        })
    }

    fn for_device(dev: u64) -> Arc<FlushClock> {
        static CLOCKS: OnceLock<Mutex<HashMap<u64, Arc<FlushClock>>>> = OnceLock::new();
        CLOCKS
            .get_or_init(|| Mutex::new(HashMap::new()))
            .lock()
            .entry(dev)
            .or_insert_with(FlushClock::new)
            .clone()
    }
}

impl Anchor {
    /// Find, or create, in `dir`/[`ANCHOR_DIR`] a file that owns a whole aligned group of
    /// [`INODE_SPAN`] inode numbers (see the module invariants). When none turns up
    /// within `MAX_ANCHOR_FILES` files (a file system whose free inodes are scattered),
    /// the file with the lowest inode number serves alone: it shares its inode block, which
    /// a flush may then have to write now and then (measured on this project's VM: none
    /// did, 2.0 block requests per synced append either way), far cheaper than an
    /// `fdatasync` per log. A directory holding a single file is such an earlier choice.
    pub fn place(dir: &Path) -> Result<Anchor> {
        let d = dir.join(ANCHOR_DIR);
        std::fs::create_dir_all(&d)?;
        let mut files = Vec::new();
        for e in std::fs::read_dir(&d)? {
            let e = e?;
            let m = e.metadata()?;
            if m.is_file() {
                files.push((m.ino(), e.path()));
            }
        }
        let mut next = files.len();
        let earlier_lone = files.len() == 1;
        loop {
            let group = whole_group(&files);
            let lone = earlier_lone || files.len() >= MAX_ANCHOR_FILES;
            if group.is_some() || lone {
                let owns_group = group.is_some();
                let Some(path) = group.or_else(|| files.iter().min().map(|(_, p)| p.clone()))
                else {
                    return Err(crate::Error::InvalidInput(format!(
                        "no file for a flush anchor in {}",
                        d.display()
                    )));
                };
                let file = File::open(&path)?;
                let meta = file.metadata()?;
                let ino = meta.ino();
                let keep = |i: u64| {
                    if owns_group {
                        i.saturating_sub(1) / INODE_SPAN == ino.saturating_sub(1) / INODE_SPAN
                    } else {
                        i == ino
                    }
                };
                // The other files only served to get there.
                for (i, p) in &files {
                    if !keep(*i) {
                        let _ = std::fs::remove_file(p);
                    }
                }
                return Ok(Anchor {
                    file,
                    path,
                    dev: meta.dev(),
                    owns_group,
                    flushes: AtomicU64::new(0),
                    clock: FlushClock::for_device(meta.dev()),
                });
            }
            let path = d.join(format!("a{next:03}"));
            next += 1;
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(f) => files.push((f.metadata()?.ino(), path)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// An anchor at `path` (created if absent) without looking for a whole inode group:
    /// its flushes may also write its inode block. For tests that need the range path
    /// on whatever file system they run on. Its flush clock is its own (tests running
    /// side by side flush the same device), unless shared with [`Anchor::beside`].
    #[cfg(test)]
    pub fn at(path: &Path) -> Result<Anchor> {
        Self::at_with(path, FlushClock::new())
    }

    /// [`Anchor::at`], numbering its flushes with `other`'s: as if on one device alone.
    #[cfg(test)]
    pub fn beside(path: &Path, other: &Anchor) -> Result<Anchor> {
        Self::at_with(path, other.clock.clone())
    }

    #[cfg(test)]
    fn at_with(path: &Path, clock: Arc<FlushClock>) -> Result<Anchor> {
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        let dev = file.metadata()?.dev();
        Ok(Anchor {
            file,
            path: path.to_path_buf(),
            dev,
            owns_group: false,
            flushes: AtomicU64::new(0),
            clock,
        })
    }

    /// Flush the device's volatile write cache (and nothing else: the file is clean).
    /// Every write completed on this file system before the call is durable after it,
    /// whichever file it was to: one flush serves all the logs that [`Anchor::device`]
    /// says share it.
    pub fn flush(&self) -> Result<()> {
        let n = self.clock.started.fetch_add(1, Ordering::SeqCst) + 1;
        self.file.sync_data()?;
        self.flushes.fetch_add(1, Ordering::Relaxed);
        let mut done = self.clock.done.lock();
        if *done < n {
            *done = n;
            drop(done);
            self.clock.finished.notify_all();
        }
        Ok(())
    }

    /// The device's flushes started so far in this process. Writes completed before
    /// this was read are durable once any flush numbered higher has succeeded.
    pub fn ticket(&self) -> u64 {
        self.clock.started.load(Ordering::SeqCst)
    }

    /// Wait up to `patience` for a flush of this device numbered above `ticket`, made
    /// through any anchor on it, to succeed; whether one did. For appends nobody waits
    /// on (a lazy replica's): a commit's flush, which comes often under load, makes them
    /// durable too, and the device does one flush fewer.
    pub fn wait_flush_after(&self, ticket: u64, patience: Duration) -> bool {
        let deadline = Instant::now() + patience;
        let mut done = self.clock.done.lock();
        while *done <= ticket {
            if self
                .clock
                .finished
                .wait_until(&mut done, deadline)
                .timed_out()
            {
                return *done > ticket;
            }
        }
        true
    }

    /// Successful flushes so far.
    pub fn flushes(&self) -> u64 {
        self.flushes.load(Ordering::Relaxed)
    }

    /// The device of the file system the anchor is on (`st_dev`).
    pub fn device(&self) -> u64 {
        self.dev
    }

    /// The anchor file (for tests and diagnostics).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the anchor owns a whole inode group (for tests and diagnostics).
    pub fn owns_group(&self) -> bool {
        self.owns_group
    }
}

/// The file with the lowest inode number among those of `files` whose aligned group of
/// [`INODE_SPAN`] inode numbers is all in `files` (the lowest, so every open picks the
/// same one).
fn whole_group(files: &[(u64, PathBuf)]) -> Option<PathBuf> {
    let inos: HashSet<u64> = files.iter().map(|(i, _)| *i).collect();
    files
        .iter()
        .filter(|(ino, _)| {
            ino.checked_sub(1).is_some_and(|i| {
                let base = i / INODE_SPAN * INODE_SPAN;
                (1..=INODE_SPAN).all(|k| inos.contains(&(base + k)))
            })
        })
        .min_by_key(|(ino, _)| *ino)
        .map(|(_, path)| path.clone())
}

/// Write `len` bytes of `file` from `from` back to the device and wait for them (no
/// metadata, no cache flush).
pub fn write_back(file: &File, from: u64, len: u64) -> Result<()> {
    sync_range(
        file,
        from,
        len,
        libc::SYNC_FILE_RANGE_WAIT_BEFORE
            | libc::SYNC_FILE_RANGE_WRITE
            | libc::SYNC_FILE_RANGE_WAIT_AFTER,
    )
}

/// Start writing `len` bytes of `file` from `from` back to the device, without waiting:
/// a caller syncing several logs starts them all, so the device has them queued
/// together, then waits for each with [`write_back`].
pub fn start_write_back(file: &File, from: u64, len: u64) -> Result<()> {
    sync_range(file, from, len, libc::SYNC_FILE_RANGE_WRITE)
}

fn sync_range(file: &File, from: u64, len: u64, flags: libc::c_uint) -> Result<()> {
    use std::os::fd::AsRawFd;
    let (Ok(from), Ok(len)) = (i64::try_from(from), i64::try_from(len)) else {
        return Err(crate::Error::InvalidInput(format!(
            "log range {from}+{len} beyond off_t"
        )));
    };
    // SAFETY: sync_file_range only reads its integer arguments; the descriptor is open
    // for the duration of the call because `file` is borrowed.
    let r = unsafe { libc::sync_file_range(file.as_raw_fd(), from, len, flags) };
    if r != 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    Ok(())
}

/// Whether logs in `dir` may take the range path: ext4 (whose `fsync` of a clean file
/// still issues the cache flush, with or without a journal) where file data is not
/// journaled. Unknown counts as no.
fn range_syncs_safe(dir: &Path) -> bool {
    if !is_ext4(dir) {
        return false;
    }
    let Ok(meta) = std::fs::metadata(dir) else {
        return false;
    };
    let dev = meta.dev();
    let (major, minor) = (libc::major(dev), libc::minor(dev));
    let Ok(link) = std::fs::read_link(format!("/sys/dev/block/{major}:{minor}")) else {
        return false;
    };
    let Some(name) = link.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    // ext4 lists each mounted device under /proc/fs/ext4, with its mount options.
    let Ok(options) =
        std::fs::read_to_string(Path::new("/proc/fs/ext4").join(name).join("options"))
    else {
        return false;
    };
    options_allow_range(&options) && !journals_data(dir)
}

/// Whether ext4 mount options (one per line, as `/proc/fs/ext4/<dev>/options` lists
/// them) leave file data out of the journal: with `data=journal` appended bytes reach
/// their place only through a journal commit, which a range write-back does not force.
fn options_allow_range(options: &str) -> bool {
    !options.lines().any(|o| o.trim() == "data=journal")
}

/// ext4's per-inode "journal data" attribute (`chattr +j`), inherited by new files.
const JOURNAL_DATA_FL: libc::c_uint = 0x0000_4000;

/// Whether files created in `dir` would have their data journaled (`chattr +j` on the
/// directory). Unknown counts as yes.
fn journals_data(dir: &Path) -> bool {
    use std::os::fd::AsRawFd;
    let Ok(d) = File::open(dir) else {
        return true;
    };
    let mut flags: libc::c_uint = 0;
    // SAFETY: FS_IOC_GETFLAGS writes one unsigned int (the kernel's type for it, whatever
    // the request's encoded size) through the pointer, which points at a live, writable
    // c_uint; the descriptor is open while `d` lives.
    let r = unsafe { libc::ioctl(d.as_raw_fd(), libc::FS_IOC_GETFLAGS, &mut flags) };
    r != 0 || flags & JOURNAL_DATA_FL != 0
}

fn is_ext4(dir: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: `statfs` is plain old data, for which all-zero bytes are a valid value.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a NUL-terminated path and `st` a valid, writable statfs.
    let r = unsafe { libc::statfs(c.as_ptr(), &mut st) };
    #[allow(clippy::unnecessary_cast)] // f_type's width differs between targets
    let magic = st.f_type as u64;
    r == 0 && magic == EXT4_SUPER_MAGIC
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inos_in(dir: &Path) -> HashSet<u64> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().metadata().unwrap().ino())
            .collect()
    }

    #[test]
    fn the_anchor_owns_its_whole_inode_group_and_is_found_again() {
        let d = tempfile::tempdir().unwrap();
        let a = Anchor::place(d.path()).unwrap();
        if !a.owns_group() {
            // Every inode of a whole group would have to be ours: on a file system whose
            // free inodes are scattered that need not happen, and a lone file serves
            // (checked by the next test). Say so rather than pass silently.
            eprintln!("no anchor group on this file system; nothing to check");
            return;
        }
        let ours = inos_in(&d.path().join(ANCHOR_DIR));
        assert_eq!(ours.len() as u64, INODE_SPAN, "only the group is kept");
        let ino = std::fs::metadata(a.path()).unwrap().ino();
        let base = (ino - 1) / INODE_SPAN * INODE_SPAN;
        for k in 1..=INODE_SPAN {
            assert!(ours.contains(&(base + k)), "inode {} is not ours", base + k);
        }
        a.flush().unwrap();
        let n = ours.len();
        let again = Anchor::place(d.path()).unwrap();
        assert_eq!(std::fs::metadata(again.path()).unwrap().ino(), ino);
        assert_eq!(inos_in(&d.path().join(ANCHOR_DIR)).len(), n, "no new files");
    }

    #[test]
    fn without_a_whole_group_a_lone_file_serves_and_is_found_again() {
        let d = tempfile::tempdir().unwrap();
        let ad = d.path().join(ANCHOR_DIR);
        std::fs::create_dir_all(&ad).unwrap();
        // What a search that found no group leaves behind: one file. It is reused as
        // it is, without searching again.
        std::fs::write(ad.join("a000"), b"").unwrap();
        let a = Anchor::place(d.path()).unwrap();
        assert!(!a.owns_group());
        assert_eq!(a.path(), ad.join("a000"));
        a.flush().unwrap();
        assert_eq!(a.flushes(), 1);
        let again = Anchor::place(d.path()).unwrap();
        assert_eq!(again.path(), ad.join("a000"));
        assert_eq!(inos_in(&ad).len(), 1, "no files made or left behind");
    }

    /// A flush through any anchor on the device, started after a ticket was taken,
    /// serves a waiter holding that ticket; none, and the wait times out.
    #[test]
    fn a_flush_through_another_anchor_serves_a_waiting_ticket() {
        let d = tempfile::tempdir().unwrap();
        let a = Anchor::at(&d.path().join("a")).unwrap();
        let b = Arc::new(Anchor::beside(&d.path().join("b"), &a).unwrap());
        let t = a.ticket();
        assert!(
            !a.wait_flush_after(t, Duration::from_millis(20)),
            "no flush yet"
        );
        let b2 = b.clone();
        let flusher = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(30));
            b2.flush().unwrap();
        });
        assert!(a.wait_flush_after(t, Duration::from_secs(30)));
        flusher.join().unwrap();
        // A flush that was over before the ticket does not count.
        let t = a.ticket();
        assert!(!a.wait_flush_after(t, Duration::from_millis(20)));
        a.flush().unwrap();
        assert!(a.wait_flush_after(t, Duration::ZERO));
    }

    #[test]
    fn journaled_file_data_keeps_fdatasync() {
        let ordered = "rw\nbarrier\ndelalloc\ndata=ordered\ncommit=5\n";
        let no_journal = "rw\nbarrier\ndelalloc\nnojournal_checksum\n";
        let journal = "rw\nbarrier\ndata=journal\ncommit=5\n";
        assert!(options_allow_range(ordered));
        assert!(options_allow_range(no_journal));
        assert!(!options_allow_range(journal));
        // An ordinary directory here does not journal its files' data (and where the
        // attribute cannot be read, that counts as journaling it).
        let d = tempfile::tempdir().unwrap();
        if is_ext4(d.path()) {
            assert!(!journals_data(d.path()));
        }
        // The benchmark's description agrees with the choice a node makes.
        let said = describe_for(d.path());
        let made = LogSync::for_dir(d.path());
        assert_eq!(
            matches!(made, LogSync::Range(_)),
            said.starts_with("range") || said.starts_with("device journal"),
            "{said}"
        );
        assert!(journals_data(&d.path().join("missing")));
    }

    #[test]
    fn other_file_systems_keep_fdatasync() {
        // tmpfs: not ext4, so no anchor is even looked for.
        let Ok(d) = tempfile::tempdir_in("/dev/shm") else {
            eprintln!("no /dev/shm here; nothing to check");
            return;
        };
        assert!(!is_ext4(d.path()));
        assert!(matches!(LogSync::for_dir(d.path()), LogSync::Fdatasync));
        assert_eq!(describe_for(&d.path().join("not/yet")), "fdatasync per log");
        assert!(!d.path().join(ANCHOR_DIR).exists());
    }

    #[test]
    fn a_group_counts_only_when_every_inode_in_it_is_ours() {
        let p = |i: u64| (i, PathBuf::from(format!("f{i}")));
        // 33..=64 is an aligned group (inode numbers start at 1).
        let full: Vec<_> = (33..=64).rev().map(p).collect();
        assert_eq!(whole_group(&full), Some(PathBuf::from("f33")));
        let mut holed = full.clone();
        holed.retain(|(i, _)| *i != 50);
        assert!(whole_group(&holed).is_none());
        let shifted: Vec<_> = (34..=65).map(p).collect();
        assert!(whole_group(&shifted).is_none(), "32 inodes but not aligned");
    }

    #[test]
    fn write_back_takes_file_ranges_and_refuses_offsets_beyond_off_t() {
        use std::os::unix::fs::FileExt;
        let d = tempfile::tempdir().unwrap();
        let f = OpenOptions::new()
            .create(true)
            .truncate(true)
            .read(true)
            .write(true)
            .open(d.path().join("f"))
            .unwrap();
        f.write_all_at(b"hello", 4096).unwrap();
        start_write_back(&f, 4096, 5).unwrap();
        write_back(&f, 4096, 5).unwrap();
        write_back(&f, 0, 0).unwrap();
        assert!(write_back(&f, u64::MAX, 1).is_err());
        assert!(start_write_back(&f, u64::MAX, 1).is_err());
    }
}
