//! The device journal: one file per cluster directory that makes the synced appends of
//! every in-process node's logs durable with one write, not one write per log.
//!
//! Why: a commit group appends the same redo to the logs of four replicas. Synced log by
//! log, that is four device writes and a cache flush; on a virtual disk that serves
//! requests one after another (this project's VMs), the four writes are most of a
//! one-thread commit's time. With the journal, a sync writes the appended bytes of all
//! the logs in the group as one journal entry (one write), and the shared cache flush
//! makes it durable; each log's own file gets the same bytes through the page cache, and
//! a checkpoint `fdatasync`s those files before the journal space is reused.
//!
//! What it changes about failures: until a checkpoint, the only durable copy of those
//! appends on the device is the journal's, one copy for four replicas. The replicas of an
//! in-process cluster share one device anyway (a lost device loses all six); what the
//! journal adds is that damage to a few journal blocks, within the seconds before a
//! checkpoint, can reach the recent appends of several replicas at once. Where that
//! matters, `BOREALIS_LOG_SYNC=direct` (or `range`, `fdatasync`) turns it off.
//!
//! Layout (docs/format.md): blocks 0 and 1 are head slots, written alternately, each
//! with a counter, a random salt and a CRC; the valid head with the highest counter
//! names the current generation. Entries start at block 2, each at a block boundary:
//! salt, sequence number (0, 1, 2, ... within a generation), payload length, CRC, then
//! pieces (target path relative to the journal's directory, the target's inode number,
//! file offset, bytes).
//!
//! Invariants:
//! - An entry is part of the journal only if it carries the current head's salt and the
//!   next sequence number after the entry before it: a torn entry ends the chain, and
//!   entries of older generations (different salt) are never read as current.
//! - A log's bytes are in its file's page cache, and the log is registered dirty, before
//!   its piece is written to the journal; a checkpoint `fdatasync`s every dirty log
//!   before it writes a new head. So whatever a checkpoint drops from the journal is
//!   durable in the logs.
//! - A new head is flushed before any entry of its generation is written.
//! - Replay writes a piece only into the file its entry named: same path, same inode
//!   number, long enough. A log replaced by a new file (`replace_log`) checkpoints first,
//!   so no entry of the current generation names a file that was replaced since.
//! - After a failed journal write the chain may have a hole; the next write checkpoints
//!   first. After a failed checkpoint (a log's `fdatasync`, the head's write or flush)
//!   the journal is never retired in this process: writes fail from then on, and the
//!   next open replays it.
//!
//! A checkpoint runs on the thread whose entry finds the journal full (commits wait for
//! it: a few `fdatasync`s every couple of thousand commit groups), when a log is
//! rewritten, when the cluster closes and after a replay.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::aio::{self, AlignedBuf, BLOCK};
use crate::flush::{self, Anchor};
use crate::{Error, Result};

/// The journal's file name in a cluster directory.
pub const JOURNAL_FILE: &str = "log-journal";

/// Size of the journal file: its blocks are reused after each checkpoint.
const JOURNAL_BYTES: u64 = 8 << 20;

/// Head slots at the start of the file.
const HEAD_SLOTS: u64 = 2;

/// A log's appended bytes above this are written back to its own file instead (large
/// loads gain nothing from going through the journal twice).
pub const PIECE_MAX: usize = 256 << 10;

/// Payload bytes of one entry at most; a batch with more is written as several.
const ENTRY_MAX: usize = 4 << 20;

const HEAD_MAGIC: u32 = 0x4a48_4442; // "BDHJ" little-endian: Borealis device journal head
const ENTRY_MAGIC: u32 = 0x4a45_4442; // "BDEJ"
const VERSION: u32 = 1;
const ENTRY_HEADER: usize = 32;
/// A piece length that means "the same bytes as piece k" (k follows).
const SAME_AS: u32 = u32::MAX;

/// Which log file a piece is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// Path relative to the journal's directory.
    pub rel: Arc<str>,
    /// The file's inode number when the piece was written.
    pub ino: u64,
}

/// Appended log bytes to make durable through the journal.
pub struct Piece {
    pub target: Target,
    pub offset: u64,
    pub data: Vec<u8>,
    /// Set to `end` once the piece is in the journal (not yet flushed).
    pub done_to: Arc<AtomicU64>,
    pub end: u64,
    /// The caller's tag, returned with a failure.
    pub tag: usize,
}

/// The journal of one cluster directory.
pub struct Journal {
    dir: PathBuf,
    anchor: Arc<Anchor>,
    inner: Mutex<Inner>,
    checkpoints: AtomicU64,
}

struct Inner {
    file: File,
    direct: Option<File>,
    head_counter: u64,
    salt: u64,
    next_block: u64,
    next_seq: u64,
    /// Logs with bytes in the journal's current generation, by inode number.
    dirty: HashMap<u64, Arc<File>>,
    /// A write failed since the last checkpoint: the chain may have a hole.
    broken: bool,
    /// A checkpoint failed: a log's sync or the head's flush. The journal may then be
    /// the only durable copy of what it holds (after a failed `fdatasync` the kernel may
    /// have dropped the log's dirty pages and a retry can report success), so it is
    /// never retired again in this process: every later write fails, and the next open
    /// replays it.
    failed: Option<String>,
}

/// What a replay did (for tests and the open log line).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Replayed {
    pub entries: u64,
    pub pieces: u64,
    /// Pieces whose file was missing, replaced or too short.
    pub skipped: u64,
}

/// Whether the journal is turned off (`BOREALIS_LOG_SYNC` set to `direct`, `range` or
/// `fdatasync`: each log syncs on its own, the way named).
pub fn opted_out() -> bool {
    std::env::var("BOREALIS_LOG_SYNC")
        .is_ok_and(|v| v == "direct" || v == "range" || v == "fdatasync")
}

fn corrupt(msg: String) -> Error {
    Error::Corrupted(msg)
}

fn new_salt(prev: u64) -> u64 {
    // Not secret, only different from every earlier generation's with near certainty.
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let mut x =
        t ^ (std::process::id() as u64).rotate_left(32) ^ prev.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    // splitmix64 finalizer
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

/// A head block: magic, version, counter, salt, crc of the 24 bytes before it.
fn encode_head(counter: u64, salt: u64) -> Vec<u8> {
    let mut b = Vec::with_capacity(BLOCK);
    b.extend_from_slice(&HEAD_MAGIC.to_le_bytes());
    b.extend_from_slice(&VERSION.to_le_bytes());
    b.extend_from_slice(&counter.to_le_bytes());
    b.extend_from_slice(&salt.to_le_bytes());
    let crc = crc32c::crc32c(&b);
    b.extend_from_slice(&crc.to_le_bytes());
    b.resize(BLOCK, 0);
    b
}

fn decode_head(b: &[u8]) -> Option<(u64, u64)> {
    if b.len() < 28 || u32_at(b, 0) != HEAD_MAGIC || u32_at(b, 4) != VERSION {
        return None;
    }
    (crc32c::crc32c(&b[..24]) == u32_at(b, 24)).then(|| (u64_at(b, 8), u64_at(b, 16)))
}

/// Encode pieces as one entry, padded to whole blocks, into `out` (its memory is reused:
/// one buffer per batch, the payload written in place behind the header).
fn encode_entry(salt: u64, seq: u64, pieces: &[Piece], out: &mut AlignedBuf) {
    out.clear();
    out.extend(&[0u8; ENTRY_HEADER]);
    out.extend(&(pieces.len() as u32).to_le_bytes());
    for (i, p) in pieces.iter().enumerate() {
        let rel = p.target.rel.as_bytes();
        out.extend(&(rel.len() as u32).to_le_bytes());
        out.extend(rel);
        out.extend(&p.target.ino.to_le_bytes());
        out.extend(&p.offset.to_le_bytes());
        // The replicas of a protection group append the same records: their bytes are
        // stored once, later pieces pointing at the first.
        match pieces[..i].iter().position(|q| q.data == p.data) {
            Some(k) => {
                out.extend(&SAME_AS.to_le_bytes());
                out.extend(&(k as u32).to_le_bytes());
            }
            None => {
                out.extend(&(p.data.len() as u32).to_le_bytes());
                out.extend(&p.data);
            }
        }
    }
    let payload_len = out.len() - ENTRY_HEADER;
    let b = out.as_mut_slice();
    b[0..4].copy_from_slice(&ENTRY_MAGIC.to_le_bytes());
    b[4..8].copy_from_slice(&(payload_len as u32).to_le_bytes());
    b[8..16].copy_from_slice(&salt.to_le_bytes());
    b[16..24].copy_from_slice(&seq.to_le_bytes());
    let crc = crc32c::crc32c_append(crc32c::crc32c(&b[..24]), &b[ENTRY_HEADER..]);
    b[24..28].copy_from_slice(&crc.to_le_bytes());
    out.pad_to_block();
}

/// One decoded piece of an entry.
struct RawPiece {
    rel: String,
    ino: u64,
    offset: u64,
    data: Vec<u8>,
}

fn decode_payload(p: &[u8]) -> Option<Vec<RawPiece>> {
    let mut at = 0usize;
    let mut take = |n: usize| -> Option<&[u8]> {
        let s = p.get(at..at.checked_add(n)?)?;
        at += n;
        Some(s)
    };
    let n = u32::from_le_bytes(take(4)?.try_into().ok()?);
    let mut out = Vec::new();
    for _ in 0..n {
        let rl = u32::from_le_bytes(take(4)?.try_into().ok()?) as usize;
        let rel = String::from_utf8(take(rl)?.to_vec()).ok()?;
        let ino = u64::from_le_bytes(take(8)?.try_into().ok()?);
        let offset = u64::from_le_bytes(take(8)?.try_into().ok()?);
        let dl = u32::from_le_bytes(take(4)?.try_into().ok()?);
        let data = if dl == SAME_AS {
            let k = u32::from_le_bytes(take(4)?.try_into().ok()?) as usize;
            let earlier: &RawPiece = out.get(k)?;
            earlier.data.clone()
        } else {
            take(dl as usize)?.to_vec()
        };
        out.push(RawPiece {
            rel,
            ino,
            offset,
            data,
        });
    }
    Some(out)
}

impl Journal {
    /// Open (creating if needed) the journal in `dir`, replay what it holds into the log
    /// files it names, make them durable and start a new generation. Call before any
    /// log under `dir` is opened.
    pub fn open(dir: &Path, anchor: Arc<Anchor>) -> Result<(Arc<Journal>, Replayed)> {
        let path = dir.join(JOURNAL_FILE);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)?;
        let len = file.metadata()?.len();
        let mut replayed = Replayed::default();
        let mut head_counter = 0;
        let mut salt = 0;
        if len != JOURNAL_BYTES {
            // New (or cut short by a crash while it was being made): allocate every block
            // and make size and allocation durable, so entries are pure overwrites that a
            // cache flush makes durable.
            let zeros = vec![0u8; 1 << 20];
            let mut at = 0;
            while at < JOURNAL_BYTES {
                file.write_all_at(&zeros, at)?;
                at += zeros.len() as u64;
            }
            file.set_len(JOURNAL_BYTES)?;
            file.sync_all()?;
            File::open(dir)?.sync_all()?;
        } else {
            let (c, s, r) = replay(dir, &file)?;
            head_counter = c;
            salt = s;
            replayed = r;
        }
        let direct = direct_file(&path);
        let j = Arc::new(Journal {
            dir: dir.to_path_buf(),
            anchor,
            inner: Mutex::new(Inner {
                file,
                direct,
                head_counter,
                salt,
                next_block: HEAD_SLOTS,
                next_seq: 0,
                dirty: HashMap::new(),
                broken: true,
                failed: None,
            }),
            checkpoints: AtomicU64::new(0),
        });
        // Replayed logs were synced by the replay; the new head retires what was replayed.
        j.checkpoint()?;
        Ok((j, replayed))
    }

    /// The journal's directory (targets are relative to it).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The flush that makes written entries durable.
    pub fn anchor(&self) -> &Arc<Anchor> {
        &self.anchor
    }

    /// Checkpoints made (for tests).
    pub fn checkpoints(&self) -> u64 {
        self.checkpoints.load(Ordering::Relaxed)
    }

    /// Register a log whose bytes (already in its page cache) are about to be written in
    /// a piece: the next checkpoint syncs it.
    pub fn dirty(&self, ino: u64, file: &Arc<File>) {
        let mut g = self.inner.lock();
        g.dirty.entry(ino).or_insert_with(|| file.clone());
    }

    /// Write pieces (registered with [`Journal::dirty`] first) as entries; durable after
    /// the anchor's next flush. Returns the tags of the pieces that failed.
    pub fn write(&self, pieces: Vec<Piece>) -> Vec<(usize, Error)> {
        let mut failed = Vec::new();
        let mut g = self.inner.lock();
        let mut buf = AlignedBuf::new();
        let mut rest = pieces;
        while !rest.is_empty() {
            let mut size = 4;
            let mut n = 0;
            while n < rest.len() {
                let s = 24 + rest[n].target.rel.len() + rest[n].data.len();
                if n > 0 && size + s > ENTRY_MAX {
                    break;
                }
                size += s;
                n += 1;
            }
            let batch: Vec<Piece> = rest.drain(..n).collect();
            let r = self.write_entry(&mut g, &batch, &mut buf);
            match r {
                Ok(()) => {
                    for p in &batch {
                        p.done_to.fetch_max(p.end, Ordering::AcqRel);
                    }
                }
                Err(e) => {
                    g.broken = true;
                    let msg = e.to_string();
                    for p in &batch {
                        failed.push((p.tag, Error::Io(std::io::Error::other(msg.clone()))));
                    }
                }
            }
        }
        failed
    }

    fn write_entry(&self, g: &mut Inner, pieces: &[Piece], buf: &mut AlignedBuf) -> Result<()> {
        if g.broken {
            self.checkpoint_locked(g)?;
        }
        encode_entry(g.salt, g.next_seq, pieces, buf);
        let blocks = (buf.len() / BLOCK) as u64;
        let total = JOURNAL_BYTES / BLOCK as u64;
        if blocks > total - HEAD_SLOTS {
            return Err(Error::InvalidInput(format!(
                "journal entry of {} bytes does not fit the journal",
                buf.len()
            )));
        }
        if g.next_block + blocks > total {
            self.checkpoint_locked(g)?;
            encode_entry(g.salt, g.next_seq, pieces, buf);
        }
        let off = g.next_block * BLOCK as u64;
        write_block_range(g, buf, off)?;
        g.next_block += blocks;
        g.next_seq += 1;
        Ok(())
    }

    /// Make every dirty log durable in its own file and start a new generation (new
    /// salt, flushed), so the journal's blocks can be reused.
    pub fn checkpoint(&self) -> Result<()> {
        let mut g = self.inner.lock();
        self.checkpoint_locked(&mut g)
    }

    fn checkpoint_locked(&self, g: &mut Inner) -> Result<()> {
        if let Some(e) = &g.failed {
            return Err(Error::Unavailable(format!("device journal: {e}")));
        }
        g.broken = true;
        let counter = g.head_counter + 1;
        let salt = new_salt(g.salt);
        let r = (|| {
            for f in g.dirty.values() {
                f.sync_data()?;
            }
            let mut head = AlignedBuf::new();
            head.extend(&encode_head(counter, salt));
            write_block_range(g, &head, (counter % HEAD_SLOTS) * BLOCK as u64)?;
            self.anchor.flush()
        })();
        if let Err(e) = r {
            g.failed = Some(format!("checkpoint failed: {e}"));
            return Err(e);
        }
        g.dirty.clear();
        g.head_counter = counter;
        g.salt = salt;
        g.next_block = HEAD_SLOTS;
        g.next_seq = 0;
        g.broken = false;
        self.checkpoints.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// For a cluster directory whose logs do not sync through a journal now (fsync off, an
/// opt-out, a file system without range syncs): replay a journal an earlier run left in
/// `dir` into the logs, sync them, and remove it. `None` if there was none.
pub fn retire(dir: &Path) -> Result<Option<Replayed>> {
    let path = dir.join(JOURNAL_FILE);
    let file = match OpenOptions::new().read(true).write(true).open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    // A journal of another length was never started (creation did not finish).
    let r = if file.metadata()?.len() == JOURNAL_BYTES {
        replay(dir, &file)?.2
    } else {
        Replayed::default()
    };
    drop(file);
    // The logs hold everything now (the replay synced them); a crash before the removal
    // is durable only replays it again.
    std::fs::remove_file(&path)?;
    File::open(dir)?.sync_all()?;
    Ok(Some(r))
}

/// The journal open with `O_DIRECT`, where the kernel allows it for this file.
fn direct_file(path: &Path) -> Option<File> {
    use std::os::unix::fs::OpenOptionsExt;
    if !crate::io::direct_allowed(path) {
        return None;
    }
    OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_DIRECT)
        .open(path)
        .ok()
}

/// Write whole blocks at `off` to the device (not flushed): directly, or through the page
/// cache and written back.
fn write_block_range(g: &Inner, buf: &AlignedBuf, off: u64) -> Result<()> {
    match &g.direct {
        Some(d) => aio::write_direct(d, buf, off),
        None => {
            g.file.write_all_at(buf.as_slice(), off)?;
            flush::write_back(&g.file, off, buf.len() as u64)
        }
    }
}

/// Read the current generation's entries and write their pieces into the files they
/// name, then `fdatasync` those files. Returns the head's counter and salt.
fn replay(dir: &Path, file: &File) -> Result<(u64, u64, Replayed)> {
    let mut out = Replayed::default();
    let mut heads = Vec::new();
    for slot in 0..HEAD_SLOTS {
        let mut b = vec![0u8; BLOCK];
        file.read_exact_at(&mut b, slot * BLOCK as u64)?;
        if let Some(h) = decode_head(&b) {
            heads.push(h);
        }
    }
    // No valid head: a journal made but never started (nothing was written to it).
    let Some(&(counter, salt)) = heads.iter().max_by_key(|(c, _)| *c) else {
        return Ok((0, 0, out));
    };
    let mut targets: HashMap<String, Option<File>> = HashMap::new();
    let total = JOURNAL_BYTES / BLOCK as u64;
    let mut block = HEAD_SLOTS;
    let mut seq = 0u64;
    let mut hdr = [0u8; ENTRY_HEADER];
    while block < total {
        file.read_exact_at(&mut hdr, block * BLOCK as u64)?;
        if u32_at(&hdr, 0) != ENTRY_MAGIC || u64_at(&hdr, 8) != salt || u64_at(&hdr, 16) != seq {
            break;
        }
        let len = u32_at(&hdr, 4) as usize;
        let blocks = (ENTRY_HEADER + len).div_ceil(BLOCK) as u64;
        if block + blocks > total {
            break;
        }
        let mut payload = vec![0u8; len];
        file.read_exact_at(&mut payload, block * BLOCK as u64 + ENTRY_HEADER as u64)?;
        let crc = crc32c::crc32c_append(crc32c::crc32c(&hdr[..24]), &payload);
        if crc != u32_at(&hdr, 24) {
            break;
        }
        let Some(pieces) = decode_payload(&payload) else {
            return Err(corrupt(format!(
                "journal entry {seq} at block {block}: pieces do not match their lengths"
            )));
        };
        for p in pieces {
            out.pieces += 1;
            let f = targets
                .entry(p.rel.clone())
                .or_insert_with(|| open_target(dir, &p.rel));
            let fits = match f {
                Some(f) => {
                    let m = f.metadata()?;
                    m.ino() == p.ino
                        && p.offset
                            .checked_add(p.data.len() as u64)
                            .is_some_and(|end| m.len() >= end)
                }
                None => false,
            };
            match f {
                Some(f) if fits => f.write_all_at(&p.data, p.offset)?,
                _ => out.skipped += 1,
            }
        }
        out.entries += 1;
        block += blocks;
        seq += 1;
    }
    for f in targets.values().flatten() {
        f.sync_data()?;
    }
    Ok((counter, salt, out))
}

/// A target file, if it is a plain file under `dir` (a path with `..` or a root is no
/// journal's).
fn open_target(dir: &Path, rel: &str) -> Option<File> {
    let p = Path::new(rel);
    if p.components()
        .any(|c| !matches!(c, std::path::Component::Normal(_)))
    {
        return None;
    }
    OpenOptions::new().write(true).open(dir.join(p)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn anchor(d: &Path) -> Arc<Anchor> {
        Arc::new(Anchor::at(&d.join("anchor")).unwrap())
    }

    fn target(d: &Path, name: &str, len: usize) -> (Arc<File>, Target) {
        let p = d.join(name);
        std::fs::write(&p, vec![0u8; len]).unwrap();
        let f = Arc::new(OpenOptions::new().read(true).write(true).open(&p).unwrap());
        let ino = f.metadata().unwrap().ino();
        (
            f,
            Target {
                rel: name.into(),
                ino,
            },
        )
    }

    fn piece(t: &Target, offset: u64, data: &[u8], tag: usize) -> Piece {
        Piece {
            target: t.clone(),
            offset,
            data: data.to_vec(),
            done_to: Arc::new(AtomicU64::new(0)),
            end: offset + data.len() as u64,
            tag,
        }
    }

    /// Pieces written to the journal but never to their files come back at the next open;
    /// pieces whose file was replaced since do not.
    #[test]
    fn an_open_writes_journaled_pieces_into_the_files_they_name() {
        let d = tempfile::tempdir().unwrap();
        let (fa, ta) = target(d.path(), "a.log", 8192);
        let (_fb, tb) = target(d.path(), "b.log", 8192);
        let (_fc, tc) = target(d.path(), "c.log", 8192);
        let (_fd, td) = target(d.path(), "d.log", 8192);
        {
            let (j, r) = Journal::open(d.path(), anchor(d.path())).unwrap();
            assert_eq!(r, Replayed::default());
            j.dirty(ta.ino, &fa);
            let p = piece(&ta, 100, b"hello", 0);
            let done = p.done_to.clone();
            let failed = j.write(vec![
                p,
                piece(&tb, 4000, b"spans a block", 1),
                // The same bytes as the first piece: stored once.
                piece(&td, 200, b"hello", 2),
            ]);
            assert!(failed.is_empty());
            assert_eq!(done.load(Ordering::Relaxed), 105);
            assert!(j.write(vec![piece(&ta, 105, b" world", 0)]).is_empty());
            assert!(j.write(vec![piece(&tc, 0, b"gone", 2)]).is_empty());
            j.anchor().flush().unwrap();
        }
        // c.log is replaced by a new file (a new inode) before the reopen.
        let tmp = d.path().join("c.tmp");
        std::fs::write(&tmp, vec![7u8; 8192]).unwrap();
        std::fs::rename(&tmp, d.path().join("c.log")).unwrap();
        let (_j, r) = Journal::open(d.path(), anchor(d.path())).unwrap();
        assert_eq!(
            r,
            Replayed {
                entries: 3,
                pieces: 5,
                skipped: 1
            }
        );
        let a = std::fs::read(d.path().join("a.log")).unwrap();
        assert_eq!(&a[100..111], b"hello world");
        let b = std::fs::read(d.path().join("b.log")).unwrap();
        assert_eq!(&b[4000..4013], b"spans a block");
        let dl = std::fs::read(d.path().join("d.log")).unwrap();
        assert_eq!(&dl[200..205], b"hello");
        assert_eq!(
            std::fs::read(d.path().join("c.log")).unwrap(),
            vec![7u8; 8192]
        );
    }

    /// A checkpoint retires every entry before it: entries of the older generation
    /// that lie just after the new generation's last entry are not read as its next.
    #[test]
    fn a_checkpoint_retires_the_entries_before_it() {
        let d = tempfile::tempdir().unwrap();
        let (fa, ta) = target(d.path(), "a.log", 8192);
        {
            let (j, _) = Journal::open(d.path(), anchor(d.path())).unwrap();
            j.dirty(ta.ino, &fa);
            for (at, b) in [(0, b"old"), (40, b"OLD"), (50, b"OLD")] {
                fa.write_all_at(b, at).unwrap();
                assert!(j.write(vec![piece(&ta, at, b, 0)]).is_empty());
            }
            j.checkpoint().unwrap();
            // Overwritten behind the journal's back: retired entries must not come back.
            fa.write_all_at(b"new", 40).unwrap();
            assert!(j.write(vec![piece(&ta, 10, b"one", 0)]).is_empty());
            j.anchor().flush().unwrap();
        }
        let (_j, r) = Journal::open(d.path(), anchor(d.path())).unwrap();
        assert_eq!(r.entries, 1);
        let a = std::fs::read(d.path().join("a.log")).unwrap();
        assert_eq!(&a[10..13], b"one");
        assert_eq!(&a[40..43], b"new");
    }

    /// A torn entry ends the chain: nothing after it is replayed, even entries that are
    /// intact.
    #[test]
    fn a_torn_entry_ends_the_chain() {
        let d = tempfile::tempdir().unwrap();
        let (fa, ta) = target(d.path(), "a.log", 8192);
        {
            let (j, _) = Journal::open(d.path(), anchor(d.path())).unwrap();
            j.dirty(ta.ino, &fa);
            assert!(j.write(vec![piece(&ta, 10, b"one", 0)]).is_empty());
            assert!(j.write(vec![piece(&ta, 20, b"two", 0)]).is_empty());
            assert!(j.write(vec![piece(&ta, 30, b"three", 0)]).is_empty());
            j.anchor().flush().unwrap();
        }
        // Tear the second entry of the generation (block 3).
        let jf = OpenOptions::new()
            .write(true)
            .open(d.path().join(JOURNAL_FILE))
            .unwrap();
        jf.write_all_at(&[0xff; 8], 3 * BLOCK as u64 + 40).unwrap();
        let (_j, r) = Journal::open(d.path(), anchor(d.path())).unwrap();
        assert_eq!(r.entries, 1);
        let a = std::fs::read(d.path().join("a.log")).unwrap();
        assert_eq!(&a[10..13], b"one");
        assert_eq!(&a[20..23], &[0, 0, 0]);
        assert_eq!(&a[30..35], &[0, 0, 0, 0, 0]);
    }

    /// A torn head falls back to the other slot's (older) generation; a reopened journal
    /// starts a generation whose entries older ones can never continue.
    #[test]
    fn a_torn_head_falls_back_to_the_previous_generation() {
        let d = tempfile::tempdir().unwrap();
        let (fa, ta) = target(d.path(), "a.log", 8192);
        let counter;
        {
            let (j, _) = Journal::open(d.path(), anchor(d.path())).unwrap();
            j.dirty(ta.ino, &fa);
            assert!(j.write(vec![piece(&ta, 0, b"kept", 0)]).is_empty());
            j.anchor().flush().unwrap();
            counter = j.inner.lock().head_counter;
        }
        // A checkpoint's head write, torn: the slot the next head would go to.
        let jf = OpenOptions::new()
            .write(true)
            .open(d.path().join(JOURNAL_FILE))
            .unwrap();
        let mut torn = encode_head(counter + 1, 42);
        torn[20] ^= 1;
        jf.write_all_at(&torn, ((counter + 1) % HEAD_SLOTS) * BLOCK as u64)
            .unwrap();
        let (j, r) = Journal::open(d.path(), anchor(d.path())).unwrap();
        assert_eq!(r.entries, 1);
        assert_eq!(
            &std::fs::read(d.path().join("a.log")).unwrap()[0..4],
            b"kept"
        );
        // The replay's own checkpoint retired it: the next open has nothing to do.
        drop(j);
        let (_j, r) = Journal::open(d.path(), anchor(d.path())).unwrap();
        assert_eq!(r.entries, 0);
    }

    /// A directory opened without a journal (after a run with one) still gets what the
    /// journal held, and the journal is gone afterwards.
    #[test]
    fn a_journal_left_behind_is_replayed_and_removed() {
        let d = tempfile::tempdir().unwrap();
        let (fa, ta) = target(d.path(), "a.log", 8192);
        assert_eq!(retire(d.path()).unwrap(), None);
        {
            let (j, _) = Journal::open(d.path(), anchor(d.path())).unwrap();
            j.dirty(ta.ino, &fa);
            assert!(j.write(vec![piece(&ta, 5, b"kept", 0)]).is_empty());
            j.anchor().flush().unwrap();
        }
        let r = retire(d.path()).unwrap().expect("a journal was there");
        assert_eq!(r.entries, 1);
        assert_eq!(
            &std::fs::read(d.path().join("a.log")).unwrap()[5..9],
            b"kept"
        );
        assert!(!d.path().join(JOURNAL_FILE).exists());
    }

    /// A checkpoint whose log sync fails leaves the journal as it is on disk and refuses
    /// every later write and checkpoint; the next open replays what it held.
    #[test]
    fn a_failed_checkpoint_keeps_the_journal_and_refuses_writes() {
        let d = tempfile::tempdir().unwrap();
        let (fa, ta) = target(d.path(), "a.log", 8192);
        {
            let (j, _) = Journal::open(d.path(), anchor(d.path())).unwrap();
            j.dirty(ta.ino, &fa);
            assert!(j.write(vec![piece(&ta, 0, b"acked", 0)]).is_empty());
            j.anchor().flush().unwrap();
            // A "log" whose fdatasync fails (a pipe: EINVAL).
            let (r, _w) = std::io::pipe().unwrap();
            let bad = Arc::new(File::from(std::os::fd::OwnedFd::from(r)));
            j.dirty(u64::MAX, &bad);
            assert!(j.checkpoint().is_err());
            j.inner.lock().dirty.remove(&u64::MAX);
            assert!(j.checkpoint().is_err(), "no retry once a sync failed");
            let failed = j.write(vec![piece(&ta, 10, b"later", 7)]);
            assert_eq!(failed.len(), 1);
            assert_eq!(failed[0].0, 7);
        }
        let (_j, r) = Journal::open(d.path(), anchor(d.path())).unwrap();
        assert_eq!(r.entries, 1);
        assert_eq!(
            &std::fs::read(d.path().join("a.log")).unwrap()[0..5],
            b"acked"
        );
    }

    /// Filling the journal checkpoints it (syncing the dirty log) and goes on; what was
    /// written since the last checkpoint replays.
    #[test]
    fn a_full_journal_checkpoints_and_wraps() {
        let d = tempfile::tempdir().unwrap();
        let (fa, ta) = target(d.path(), "a.log", 1 << 20);
        let blocks = JOURNAL_BYTES / BLOCK as u64;
        let data = vec![5u8; 3 * BLOCK];
        let mut last = 0;
        {
            let (j, _) = Journal::open(d.path(), anchor(d.path())).unwrap();
            let before = j.checkpoints();
            // Entries of 4 blocks: a generation holds `per_gen`; three go to the next.
            let per_gen = (blocks - HEAD_SLOTS) / 4;
            for i in 0..per_gen + 3 {
                let off = (i * 7) % ((1 << 20) - data.len() as u64);
                fa.write_all_at(&data, off).unwrap();
                j.dirty(ta.ino, &fa);
                assert!(j.write(vec![piece(&ta, off, &data, 0)]).is_empty());
                last = off;
            }
            assert_eq!(j.checkpoints(), before + 1);
            j.anchor().flush().unwrap();
        }
        let (_j, r) = Journal::open(d.path(), anchor(d.path())).unwrap();
        assert_eq!(r.entries, 3);
        let a = std::fs::read(d.path().join("a.log")).unwrap();
        assert_eq!(&a[last as usize..last as usize + data.len()], &data[..]);
    }
}
