//! A segment replica: one storage node's copy of one protection group (PG).
//!
//! Foreground work is only [`Segment::append`]: records go into an in-memory index and
//! into the log file; concurrent appenders share one write+fsync (group commit: the
//! first waiter becomes the leader and flushes everything queued, the others wait for
//! it). [`Segment::flush_all`] leads the group commits of several segments at once, so
//! their logs share one device flush where the files allow it. Background work (driven by the node): [`Segment::materialize`] applies log
//! records in chain order to page slots, [`Segment::checkpoint`] compacts the log,
//! [`Segment::scrub`] re-verifies crc32c of pages and log.
//!
//! Invariants:
//! - `scl` (segment complete LSN): every record of this PG with LSN <= scl is held here
//!   (applied into a slot, or in `recs`), proven by the back-link chain.
//! - `applied` <= min(scl, the writer's announced VDL, the min read point): records are
//!   materialized only once they can never be truncated and no reader needs older
//!   images, so a slot image with LSN L plus the in-memory records in (L, R] is exactly
//!   "the page as of R" for every R >= L.
//! - Records of an epoch older than a later truncation above its VDL are invalid and are
//!   never stored, served or counted.
//! - A slot or log byte that fails crc32c is never served; the segment reports itself
//!   damaged and the node rebuilds it from a peer.
//!
//! Lock order: `mat` before `st` before `commit`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex, MutexGuard};

use crate::aio::LogWrites;
use crate::flush::Anchor;
use crate::io::{SegmentFiles, SLOT_HEADER};
use crate::record::{self, Record};
use crate::{redo, zero_page, Error, Lsn, PageBuf, PageNo, Result, FORMAT_VERSION, PAGE_SIZE};

const META_MAGIC: [u8; 4] = *b"BRSM";

/// How long a snapshot in progress may pause materialization without news from the
/// peer copying it (a peer that died mid-copy must not pin us forever).
pub const PIN_TTL: Duration = Duration::from_secs(60);
const SLOT_MAGIC: u8 = b'S';
/// Records taken or dropped per hold of the state lock while materializing, so appends
/// and reads never wait long behind a pass.
const MATERIALIZE_CHUNK: usize = 4096;
/// Records one background pass applies at most (a pass over a very long backlog, held
/// back by a reader's floor, say, still ends and lets the node's other work run).
const MATERIALIZE_PASS: usize = 256 << 10;
/// Slot headers read at a time by scans over every slot (64 KiB).
const HEADER_CHUNK: u64 = 4096;

/// A truncation decided by a recovering writer: records of an older epoch with an LSN
/// above `vdl` are void.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Trunc {
    pub epoch: u64,
    pub vdl: Lsn,
}

/// Whether a record of `epoch` at `lsn` survives the truncation history.
pub fn valid(truncs: &[Trunc], epoch: u64, lsn: Lsn) -> bool {
    truncs.iter().all(|t| t.epoch <= epoch || lsn <= t.vdl)
}

/// Tunables of one segment replica.
#[derive(Clone, Debug)]
pub struct SegmentOptions {
    /// Compact the log once it holds this many bytes.
    pub log_compact_bytes: u64,
    /// Background materialization starts once more records than this are unapplied,
    pub materialize_backlog: usize,
    /// ...or once their payloads hold more bytes than this (a bulk load's records carry
    /// whole page images, so a count alone would let them hold gigabytes),
    pub materialize_backlog_bytes: usize,
    /// ...or once this long has passed since the last pass (bounding how long a record
    /// stays only in memory and the log).
    pub materialize_every: Duration,
}

impl Default for SegmentOptions {
    fn default() -> Self {
        Self {
            log_compact_bytes: 64 << 20,
            materialize_backlog: 64 << 10,
            materialize_backlog_bytes: 16 << 20,
            // Each pass writes every page it touches (a 16 KiB slot per replica, then a
            // page-file flush); a longer period folds more records into each slot write.
            // 500 ms cost an 8-thread read-write mix ~15% of its throughput on one disk.
            // 30 s (a busy segment then goes by the budgets above, ~12 s in that mix)
            // measured +11-20% TPS over 60 s runs but nothing over 20 s runs right after
            // a load, for ~130 MiB more peak RSS: not taken.
            materialize_every: Duration::from_secs(5),
        }
    }
}

/// A replica's view of itself, reported to writers and peers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegStatus {
    pub pg: u64,
    pub epoch: u64,
    pub scl: Lsn,
    pub applied: Lsn,
    pub max_lsn: Lsn,
    pub damaged: bool,
}

/// A follower's view of a replica ([`Segment::follow`]).
#[derive(Clone, Debug)]
pub struct FollowBatch {
    pub epoch: u64,
    pub vdl_hint: Lsn,
    pub scl: Lsn,
    pub records: Option<Vec<Record>>,
}

/// One written page slot in transit: (slot index, slot LSN, image).
pub type SlotImage = (u64, Lsn, Vec<u8>);

/// Everything a peer needs to rebuild a replica of this PG.
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub epoch: u64,
    pub truncs: Vec<Trunc>,
    pub applied: Lsn,
    /// (slot index, slot LSN, image) of every written slot.
    pub pages: Vec<SlotImage>,
    pub records: Vec<Record>,
}

/// What [`Segment::scrub`] found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScrubReport {
    pub pages_checked: u64,
    pub bad_pages: u64,
    pub log_repaired: bool,
}

struct State {
    epoch: u64,
    truncs: Vec<Trunc>,
    applied: Lsn,
    /// `applied` as last made durable in the meta file.
    meta_applied: Lsn,
    scl: Lsn,
    recs: BTreeMap<Lsn, Arc<Record>>,
    /// Payload bytes of `recs`.
    held_bytes: usize,
    per_page: HashMap<PageNo, BTreeMap<Lsn, Arc<Record>>>,
    vdl_hint: Lsn,
    read_floor: Option<Lsn>,
    /// Oldest read point of read replicas that follow this node directly (they are not
    /// known to the writer, whose `read_floor` this does not replace).
    follower_floor: Option<Lsn>,
    /// Snapshots in progress (materialization pauses while any is, until the deadline).
    pins: u32,
    pin_deadline: Instant,
    log_bytes: u64,
    damaged: bool,
    failed: Option<String>,
    last_materialized: Instant,
}

/// A caller's turn in a segment's group commit (see [`Segment::lead`]).
enum Turn {
    Done,
    Busy,
    Led(Lead),
}

/// A flush this caller leads: tickets up to `target` (SCL `target_scl`) become durable
/// when it finishes. `wrote`: there were bytes to write (else nothing to sync).
struct Lead {
    target: u64,
    target_scl: Lsn,
    wrote: bool,
}

#[derive(Default)]
struct Commit {
    pending: Vec<u8>,
    enqueued: u64,
    done: u64,
    /// The SCL as of the last enqueue, and the highest one a finished flush covered:
    /// only the latter may be reported to a writer (a replica acknowledges only what it
    /// has fsync'd, even when a poll arrives between an append and its flush).
    queued_scl: Lsn,
    durable_scl: Lsn,
    leader: bool,
    err: Option<String>,
}

/// One segment replica. All methods may be called concurrently.
pub struct Segment {
    pub pg: u64,
    first_page: PageNo,
    slots: u64,
    files: Arc<dyn SegmentFiles>,
    opts: SegmentOptions,
    st: Mutex<State>,
    /// Held by whoever writes slots outside `st` (materialization) or replaces them
    /// (install); taken before `st`.
    mat: Mutex<()>,
    commit: Mutex<Commit>,
    committed: Condvar,
}

fn io_failed(msg: &str) -> Error {
    Error::Io(std::io::Error::other(format!("segment failed: {msg}")))
}

fn encode_meta(epoch: u64, applied: Lsn, truncs: &[Trunc]) -> Vec<u8> {
    let mut b = Vec::with_capacity(32 + truncs.len() * 16);
    b.extend_from_slice(&META_MAGIC);
    b.extend_from_slice(&[FORMAT_VERSION, 0, 0, 0]);
    b.extend_from_slice(&epoch.to_le_bytes());
    b.extend_from_slice(&applied.to_le_bytes());
    b.extend_from_slice(&(truncs.len() as u32).to_le_bytes());
    for t in truncs {
        b.extend_from_slice(&t.epoch.to_le_bytes());
        b.extend_from_slice(&t.vdl.to_le_bytes());
    }
    let crc = crc32c::crc32c(&b);
    b.extend_from_slice(&crc.to_le_bytes());
    b
}

/// Metadata of a fresh replica (epoch 0, nothing applied).
pub fn empty_meta() -> Vec<u8> {
    encode_meta(0, 0, &[])
}

fn decode_meta(b: &[u8]) -> Result<(u64, Lsn, Vec<Trunc>)> {
    let bad = |m: &str| Error::Corrupted(format!("segment meta: {m}"));
    if b.len() < 32 {
        return Err(bad("truncated"));
    }
    let (body, crc) = b.split_at(b.len() - 4);
    if crc32c::crc32c(body) != u32::from_le_bytes(crc.try_into().expect("4 bytes")) {
        return Err(bad("crc32c mismatch"));
    }
    if body[0..4] != META_MAGIC || body[4] != FORMAT_VERSION {
        return Err(bad("bad magic or version"));
    }
    let u64_at = |o: usize| u64::from_le_bytes(body[o..o + 8].try_into().expect("8 bytes"));
    let n = u32::from_le_bytes(body[24..28].try_into().expect("4 bytes")) as usize;
    if body.len() != 28 + n * 16 {
        return Err(bad("length mismatch"));
    }
    let truncs = (0..n)
        .map(|i| Trunc {
            epoch: u64_at(28 + i * 16),
            vdl: u64_at(36 + i * 16),
        })
        .collect();
    Ok((u64_at(8), u64_at(16), truncs))
}

fn slot_header(lsn: Lsn, page: &[u8]) -> [u8; SLOT_HEADER] {
    let mut h = [0u8; SLOT_HEADER];
    h[0..8].copy_from_slice(&lsn.to_le_bytes());
    let mut crc = crc32c::crc32c(&lsn.to_le_bytes());
    crc = crc32c::crc32c_append(crc, page);
    h[8..12].copy_from_slice(&crc.to_le_bytes());
    h[12] = FORMAT_VERSION;
    h[13] = SLOT_MAGIC;
    h
}

/// The LSN a well-formed slot header carries (its image unchecked); None otherwise.
fn header_lsn(hdr: &[u8; SLOT_HEADER]) -> Option<Lsn> {
    (hdr[12] == FORMAT_VERSION && hdr[13] == SLOT_MAGIC && hdr[14] == 0 && hdr[15] == 0)
        .then(|| u64::from_le_bytes(hdr[0..8].try_into().expect("8 bytes")))
}

/// Verify a slot; returns its LSN (0: never written, image must be zeros).
fn check_slot(hdr: &[u8; SLOT_HEADER], page: &[u8]) -> Result<Lsn> {
    if hdr.iter().all(|&b| b == 0) {
        if page.iter().any(|&b| b != 0) {
            return Err(Error::Corrupted("page slot header lost".into()));
        }
        return Ok(0);
    }
    let Some(lsn) = header_lsn(hdr) else {
        return Err(Error::Corrupted("bad page slot header".into()));
    };
    if slot_header(lsn, page) != *hdr {
        return Err(Error::Corrupted(format!(
            "page slot crc32c mismatch (lsn {lsn})"
        )));
    }
    Ok(lsn)
}

/// The end of the chain of `recs` (sorted by LSN) above `applied` that the slots
/// already hold: a materialization pass applies a prefix of the chain (every record up to
/// its target, contiguous from the applied point) and writes each page's slot with the
/// LSN of the last record it applied. So a record whose page slot carries its LSN or a
/// later one was applied, and the prefix of the chain made only of such records was
/// folded before the replica stopped. It ends at the first record whose slot does not
/// show it (a pass cut short by a crash may have written some of its slots and not
/// others: records after that point stay, and re-applying one a slot already holds is
/// skipped by its LSN). Only headers are read; a torn slot is caught by its checksum when
/// it is next read, as it would be without this.
fn folded_prefix(
    files: &dyn SegmentFiles,
    first_page: PageNo,
    applied: Lsn,
    truncs: &[Trunc],
    recs: &[Record],
) -> Result<Lsn> {
    let mut folded = applied;
    let mut slot_lsns: HashMap<PageNo, Lsn> = HashMap::new();
    let mut hdr = [0u8; SLOT_HEADER];
    for r in recs {
        if r.lsn <= folded {
            continue;
        }
        if r.prev_lsn != folded
            || !valid(truncs, r.epoch, r.lsn)
            || r.page < first_page
            || r.page - first_page >= files.slots()
        {
            break;
        }
        let slot = match slot_lsns.get(&r.page) {
            Some(&l) => l,
            None => {
                files.read_slot_header(r.page - first_page, &mut hdr)?;
                let l = header_lsn(&hdr).unwrap_or(0);
                slot_lsns.insert(r.page, l);
                l
            }
        };
        if r.lsn > slot {
            break;
        }
        folded = r.lsn;
    }
    Ok(folded)
}

impl Segment {
    /// Open (or create) the replica of `pg`, whose pages are
    /// `first_page .. first_page + files.slots()`. Recovers from a torn log tail.
    pub fn open(
        pg: u64,
        first_page: PageNo,
        files: Arc<dyn SegmentFiles>,
        opts: SegmentOptions,
    ) -> Result<Segment> {
        let (epoch, applied, truncs) = match files.read_meta()? {
            Some(b) => decode_meta(&b)?,
            None => (0, 0, Vec::new()),
        };
        let log = files.read_log()?;
        let (mut recs, end) = record::decode_all(&log);
        if log[end..].iter().all(|&b| b == 0) {
            // Preallocated room after the last record (or nothing).
            files.set_log_end(end as u64);
        } else {
            // A torn tail (crash mid-append: never acknowledged) or damage; either way
            // drop it so appends continue after valid data. Lost records come back from
            // peers by gossip.
            tracing::warn!(pg, end, len = log.len(), "segment log tail dropped");
            files.replace_log(&log[..end])?;
        }
        // The log keeps records back to the last checkpoint, most of them folded into
        // slots by later passes; the applied point those passes reached lived only in
        // memory. Find it again instead of holding (and re-applying) a compaction
        // threshold's worth of records after every restart.
        recs.sort_by_key(|r| r.lsn);
        let folded = folded_prefix(files.as_ref(), first_page, applied, &truncs, &recs)?;
        let seg = Segment {
            pg,
            first_page,
            slots: files.slots(),
            files,
            opts,
            st: Mutex::new(State {
                epoch,
                truncs,
                applied: folded,
                // The meta still says `applied`: the next checkpoint syncs the slots
                // before it records the folded point.
                meta_applied: applied,
                scl: folded,
                recs: BTreeMap::new(),
                held_bytes: 0,
                per_page: HashMap::new(),
                vdl_hint: folded,
                read_floor: None,
                follower_floor: None,
                pins: 0,
                pin_deadline: Instant::now(),
                log_bytes: end as u64,
                damaged: false,
                failed: None,
                last_materialized: Instant::now(),
            }),
            mat: Mutex::new(()),
            commit: Mutex::new(Commit::default()),
            committed: Condvar::new(),
        };
        {
            let mut st = seg.st.lock();
            for r in recs {
                seg.insert(&mut st, Arc::new(r), None)?;
            }
            // Everything read back from the files is durable.
            let mut c = seg.commit.lock();
            c.queued_scl = st.scl;
            c.durable_scl = st.scl;
        }
        Ok(seg)
    }

    pub fn first_page(&self) -> PageNo {
        self.first_page
    }

    fn check_ok(st: &State) -> Result<()> {
        match &st.failed {
            Some(m) => Err(io_failed(m)),
            None => Ok(()),
        }
    }

    fn fail<T>(st: &mut State, e: Error) -> Result<T> {
        st.failed = Some(e.to_string());
        Err(e)
    }

    /// Insert one record into the in-memory index (and its encoding into `out`).
    /// Returns false for duplicates and records that are stale or void.
    fn insert(&self, st: &mut State, r: Arc<Record>, out: Option<&mut Vec<u8>>) -> Result<bool> {
        if r.pg != self.pg || r.page < self.first_page || r.page - self.first_page >= self.slots {
            return Err(Error::InvalidInput(format!(
                "record for page {} / pg {} sent to pg {}",
                r.page, r.pg, self.pg
            )));
        }
        // Records almost always arrive in LSN order, each linking to the chain's end: then
        // the duplicate check and the SCL's walk need no search of `recs` (a writer's
        // replica holds seconds of records there, and this runs per record per replica).
        let tail = st.recs.last_key_value().map(|(&lsn, _)| lsn);
        let above_all = tail.is_none_or(|t| r.lsn > t);
        if r.lsn <= st.applied
            || (!above_all && st.recs.contains_key(&r.lsn))
            || !valid(&st.truncs, r.epoch, r.lsn)
        {
            return Ok(false);
        }
        if let Some(out) = out {
            record::encode(&r, out)?;
        }
        st.per_page
            .entry(r.page)
            .or_default()
            .insert(r.lsn, r.clone());
        st.held_bytes += r.payload.len();
        let (lsn, prev) = (r.lsn, r.prev_lsn);
        st.recs.insert(lsn, r);
        if above_all && tail.is_none_or(|t| t <= st.scl) {
            // Nothing is held between the SCL and this record, nor above it.
            if prev == st.scl {
                st.scl = lsn;
            }
        } else {
            Self::advance_scl(st);
        }
        Ok(true)
    }

    fn advance_scl(st: &mut State) {
        loop {
            let next = st.recs.range(st.scl + 1..).next().map(|(_, r)| r.clone());
            match next {
                Some(r) if r.prev_lsn == st.scl => st.scl = r.lsn,
                _ => break,
            }
        }
    }

    /// Adopt a newer epoch and truncation history (persisted before returning).
    fn learn(&self, st: &mut State, epoch: u64, truncs: &[Trunc]) -> Result<()> {
        let mut changed = false;
        for t in truncs {
            if !st.truncs.contains(t) {
                st.truncs.push(*t);
                changed = true;
            }
        }
        if epoch > st.epoch {
            st.epoch = epoch;
            changed = true;
        }
        if !changed {
            return Ok(());
        }
        st.truncs.sort();
        let truncs = st.truncs.clone();
        let void: Vec<Lsn> = st
            .recs
            .values()
            .filter(|r| !valid(&truncs, r.epoch, r.lsn))
            .map(|r| r.lsn)
            .collect();
        for lsn in &void {
            if let Some(r) = st.recs.remove(lsn) {
                st.held_bytes = st.held_bytes.saturating_sub(r.payload.len());
                if let Some(m) = st.per_page.get_mut(&r.page) {
                    m.remove(lsn);
                }
            }
        }
        if !void.is_empty() {
            st.scl = st.applied;
            Self::advance_scl(st);
            // The truncated records are gone: what stays durable is at most the new SCL.
            let mut c = self.commit.lock();
            c.queued_scl = c.queued_scl.min(st.scl);
            c.durable_scl = c.durable_scl.min(st.scl);
        }
        let meta = encode_meta(st.epoch, st.meta_applied, &st.truncs);
        if let Err(e) = self.files.write_meta(&meta) {
            return Self::fail(st, e);
        }
        Ok(())
    }

    /// Make `epoch` (and a truncation history) known here: used by recovering writers
    /// to fence older ones, and by gossip. Fails only on I/O.
    pub fn adopt(&self, epoch: u64, truncs: &[Trunc]) -> Result<SegStatus> {
        let mut st = self.st.lock();
        Self::check_ok(&st)?;
        self.learn(&mut st, epoch, truncs)?;
        Ok(self.status_locked(&st))
    }

    /// Append records from the writer (epoch-checked) or a peer (`epoch` = None).
    /// Returns the SCL once the new records are durable in the log.
    /// Records come as `Record` or `Arc<Record>`: a writer's records shared with the
    /// other replicas of an in-process volume are kept without a copy.
    pub fn append<R: Into<Arc<Record>>>(
        &self,
        epoch: Option<u64>,
        truncs: &[Trunc],
        recs: impl IntoIterator<Item = R>,
        vdl_hint: Lsn,
    ) -> Result<Lsn> {
        let (seq, scl) = self.append_deferred(epoch, truncs, recs, vdl_hint)?;
        self.flush_to(seq)?;
        Ok(scl)
    }

    /// [`Segment::append`] without the wait: the records are in memory and queued for
    /// the log, not yet durable. Returns the group-commit ticket to pass to
    /// [`Segment::flush_to`] and the SCL that becomes durable with it; the SCL must not
    /// be acknowledged before that flush returns.
    pub fn append_deferred<R: Into<Arc<Record>>>(
        &self,
        epoch: Option<u64>,
        truncs: &[Trunc],
        recs: impl IntoIterator<Item = R>,
        vdl_hint: Lsn,
    ) -> Result<(u64, Lsn)> {
        let mut st = self.st.lock();
        Self::check_ok(&st)?;
        let e = match epoch {
            Some(e) if e < st.epoch => {
                return Err(Error::Fenced {
                    ours: e,
                    theirs: st.epoch,
                })
            }
            Some(e) => e,
            None => st.epoch,
        };
        self.learn(&mut st, e, truncs)?;
        if epoch.is_some() {
            st.vdl_hint = st.vdl_hint.max(vdl_hint);
        }
        let recs: Vec<Arc<Record>> = recs.into_iter().map(Into::into).collect();
        let mut bytes = Vec::with_capacity(recs.iter().map(|r| r.encoded_len()).sum());
        for r in recs {
            self.insert(&mut st, r, Some(&mut bytes))?;
        }
        st.log_bytes += bytes.len() as u64;
        let mut c = self.commit.lock();
        if !bytes.is_empty() {
            c.pending.extend_from_slice(&bytes);
        }
        c.enqueued += 1;
        c.queued_scl = st.scl;
        Ok((c.enqueued, st.scl))
    }

    /// Make everything queued up to ticket `seq` durable (one flush covers every ticket
    /// queued before it started).
    pub fn flush_to(&self, seq: u64) -> Result<()> {
        let r = self.group_commit(seq);
        if let Err(e) = &r {
            self.mark_failed(e);
        }
        r
    }

    fn mark_failed(&self, e: &Error) {
        let mut st = self.st.lock();
        st.failed.get_or_insert_with(|| e.to_string());
    }

    /// Group commit: wait until batch `seq` is durable, leading a flush if nobody is.
    fn group_commit(&self, seq: u64) -> Result<()> {
        loop {
            match self.lead(seq, true, None)? {
                Turn::Done => return Ok(()),
                // Not returned to a caller that waits; asking again waits.
                Turn::Busy => continue,
                Turn::Led(lead) => {
                    let res = if lead.wrote {
                        self.files
                            .sync_log_unflushed()
                            .and_then(|a| a.map_or(Ok(()), |a| a.flush()))
                    } else {
                        Ok(())
                    };
                    return self.finish(lead, res);
                }
            }
        }
    }

    /// Take this caller's turn in the group commit of ticket `seq`: `Done` if it is
    /// durable already; `Busy` if another thread leads a flush and `wait` is false (else
    /// wait for it); otherwise lead: write every queued byte to the log (and, given
    /// `start`, start its write-back, queuing a direct write there under the tag given;
    /// see [`SegmentFiles::start_log_sync`]) and return the lead, which the caller must
    /// pass to [`Segment::finish`] once the bytes are synced. Its target covers `seq`.
    fn lead(&self, seq: u64, wait: bool, start: Option<(&mut LogWrites, usize)>) -> Result<Turn> {
        let mut c = self.commit.lock();
        loop {
            if let Some(e) = &c.err {
                return Err(io_failed(e));
            }
            if c.done >= seq {
                return Ok(Turn::Done);
            }
            if c.leader {
                if !wait {
                    return Ok(Turn::Busy);
                }
                self.committed.wait(&mut c);
                continue;
            }
            c.leader = true;
            let buf = std::mem::take(&mut c.pending);
            let lead = Lead {
                target: c.enqueued,
                target_scl: c.queued_scl,
                wrote: !buf.is_empty(),
            };
            drop(c);
            if lead.wrote {
                let w = self.files.append_log(&buf).and_then(|()| match start {
                    Some((writes, tag)) => self.files.start_log_sync(writes, tag),
                    None => Ok(()),
                });
                if let Err(e) = w {
                    let msg = e.to_string();
                    let _ = self.finish(lead, Err(e));
                    return Err(io_failed(&msg));
                }
            }
            return Ok(Turn::Led(lead));
        }
    }

    /// End a lead: its bytes are durable (`res` Ok) or the segment has failed.
    fn finish(&self, lead: Lead, res: Result<()>) -> Result<()> {
        let mut c = self.commit.lock();
        c.leader = false;
        let out = match res {
            Ok(()) => {
                c.done = lead.target;
                c.durable_scl = c.durable_scl.max(lead.target_scl);
                Ok(())
            }
            Err(e) => {
                c.err = Some(e.to_string());
                Err(e)
            }
        };
        self.committed.notify_all();
        out
    }

    /// [`Segment::flush_to`] for several segments at once, one result per item in
    /// order: every log is written and its write-back started before any is waited for,
    /// so the device has them queued together (logs written with `O_DIRECT` go to the
    /// device in one submission, see [`crate::aio`]), and logs whose sync ends with a
    /// shareable device flush (see [`SegmentFiles::sync_log_unflushed`]) share one flush
    /// per device. A segment whose flush another thread leads is waited for last (waiting
    /// while leading others could deadlock with a caller holding them the other way).
    pub fn flush_all(items: &[(Arc<Segment>, u64)]) -> Vec<Result<()>> {
        Self::flush_all_sharing(items, None)
    }

    /// [`Segment::flush_all`], for appends nobody is waiting on (a lazy replica's) when
    /// `patience` is given: where the logs' syncs end with a shareable device flush,
    /// wait up to `patience` for one that another thread (a commit) starts after these
    /// writes, and flush only if none comes.
    pub fn flush_all_sharing(
        items: &[(Arc<Segment>, u64)],
        patience: Option<std::time::Duration>,
    ) -> Vec<Result<()>> {
        let mut out: Vec<Option<Result<()>>> = items.iter().map(|_| None).collect();
        let mut leads = Vec::new();
        let mut busy = Vec::new();
        let mut writes = LogWrites::new();
        for (i, (s, seq)) in items.iter().enumerate() {
            match s.lead(*seq, false, Some((&mut writes, i))) {
                Ok(Turn::Done) => out[i] = Some(Ok(())),
                Ok(Turn::Busy) => busy.push(i),
                Ok(Turn::Led(l)) => leads.push((i, l)),
                Err(e) => out[i] = Some(Err(e)),
            }
        }
        // Direct writes go to the device together; then wait for every write-back; then
        // one flush per device, after all of them.
        let mut write_failed = writes.submit();
        let mut synced = Vec::with_capacity(leads.len());
        let mut devices: Vec<(u64, Arc<Anchor>)> = Vec::new();
        for (i, lead) in leads {
            let r = if let Some(k) = write_failed.iter().position(|(t, _)| *t == i) {
                Err(write_failed.swap_remove(k).1)
            } else if lead.wrote {
                items[i].0.files.sync_log_unflushed()
            } else {
                Ok(None)
            };
            let dev = match r {
                Ok(Some(a)) => {
                    let d = a.device();
                    if !devices.iter().any(|(x, _)| *x == d) {
                        devices.push((d, a));
                    }
                    Ok(Some(d))
                }
                Ok(None) => Ok(None),
                Err(e) => Err(e),
            };
            synced.push((i, lead, dev));
        }
        let flushed: Vec<(u64, std::result::Result<(), String>)> = devices
            .iter()
            .map(|(d, a)| {
                // The writes above are complete: a flush numbered past this ticket
                // covers them.
                let shared = patience.is_some_and(|p| a.wait_flush_after(a.ticket(), p));
                let r = if shared { Ok(()) } else { a.flush() };
                (*d, r.map_err(|e| e.to_string()))
            })
            .collect();
        for (i, lead, dev) in synced {
            let res = match dev {
                Ok(None) => Ok(()),
                Ok(Some(d)) => match flushed.iter().find(|(x, _)| *x == d) {
                    Some((_, Ok(()))) => Ok(()),
                    Some((_, Err(m))) => Err(io_failed(m)),
                    None => Err(io_failed("no flush for the log's device")),
                },
                Err(e) => Err(e),
            };
            out[i] = Some(items[i].0.finish(lead, res));
        }
        for i in busy {
            let (s, seq) = &items[i];
            out[i] = Some(s.group_commit(*seq));
        }
        out.into_iter()
            .zip(items)
            .map(|(r, (s, _))| {
                let r = r.unwrap_or(Ok(()));
                if let Err(e) = &r {
                    s.mark_failed(e);
                }
                r
            })
            .collect()
    }

    /// Rewrite the log as exactly the records in memory (called with `st` held, so no
    /// appender can enqueue meanwhile; waits out a running flush).
    fn rewrite_log(&self, st: &mut State) -> Result<()> {
        let mut c = self.commit.lock();
        while c.leader {
            self.committed.wait(&mut c);
        }
        if let Some(e) = &c.err {
            return Err(io_failed(e));
        }
        let mut bytes = Vec::new();
        for r in st.recs.values() {
            record::encode(r, &mut bytes)?;
        }
        if let Err(e) = self.files.replace_log(&bytes) {
            c.err = Some(e.to_string());
            self.committed.notify_all();
            return Err(e);
        }
        // Queued bytes are part of `recs`, hence of the new log: their waiters are done.
        c.pending.clear();
        c.done = c.enqueued;
        c.queued_scl = st.scl;
        c.durable_scl = st.scl;
        self.committed.notify_all();
        st.log_bytes = bytes.len() as u64;
        Ok(())
    }

    fn status_locked(&self, st: &State) -> SegStatus {
        SegStatus {
            pg: self.pg,
            epoch: st.epoch,
            scl: st.scl.min(self.commit.lock().durable_scl),
            applied: st.applied,
            max_lsn: st
                .recs
                .keys()
                .next_back()
                .copied()
                .unwrap_or(0)
                .max(st.applied),
            damaged: st.damaged,
        }
    }

    pub fn status(&self) -> SegStatus {
        self.status_locked(&self.st.lock())
    }

    /// The SCL of what this replica holds in memory, flushed or not: what gossip need
    /// not fetch from a peer (the status reports only the flushed part).
    pub fn held_scl(&self) -> Lsn {
        self.st.lock().scl
    }

    /// Declare this replica's pages untrustworthy: no reads, no materialization, until a
    /// peer's snapshot is installed.
    pub fn mark_damaged(&self) {
        self.st.lock().damaged = true;
    }

    /// Whether an I/O error has poisoned this replica (the node must reopen it).
    pub fn failed(&self) -> bool {
        self.st.lock().failed.is_some()
    }

    /// Tell the replica how far it may materialize: the writer's VDL and the oldest read
    /// point any instance still uses (None: nobody reads below VDL).
    pub fn set_limits(&self, vdl: Lsn, read_floor: Option<Lsn>) {
        let mut st = self.st.lock();
        st.vdl_hint = st.vdl_hint.max(vdl);
        st.read_floor = read_floor;
    }

    /// Read and verify slot `idx` without touching the state: Err(io) for an I/O
    /// failure, Ok(Err(crc)) for a slot that fails its check.
    fn load_slot(&self, idx: u64) -> Result<Result<(Lsn, PageBuf)>> {
        let mut page = zero_page();
        Ok(self.load_slot_into(idx, &mut page)?.map(|lsn| (lsn, page)))
    }

    /// [`load_slot`](Self::load_slot) into a caller's buffer (a materialization pass
    /// reuses one for every page it writes); returns the slot's LSN.
    fn load_slot_into(&self, idx: u64, page: &mut PageBuf) -> Result<Result<Lsn>> {
        let mut hdr = [0u8; SLOT_HEADER];
        self.files.read_slot(idx, &mut hdr, &mut page[..])?;
        Ok(check_slot(&hdr, &page[..]))
    }

    fn read_slot(&self, st: &mut State, idx: u64) -> Result<(Lsn, PageBuf)> {
        match self.load_slot(idx) {
            Err(e) => Self::fail(st, e),
            Ok(Err(e)) => {
                st.damaged = true;
                Err(e)
            }
            Ok(Ok(v)) => Ok(v),
        }
    }

    /// Page `page` as of `at`: slot image plus the records in (slot LSN, at].
    pub fn read_page(&self, page: PageNo, at: Lsn) -> Result<PageBuf> {
        if page < self.first_page || page - self.first_page >= self.slots {
            return Err(Error::InvalidInput(format!(
                "page {page} is not in pg {}",
                self.pg
            )));
        }
        let (mut img, recs) = {
            let mut st = self.st.lock();
            Self::check_ok(&st)?;
            let (lsn, img) = self.read_slot(&mut st, page - self.first_page)?;
            if at < lsn {
                return Err(Error::ReadPointTooOld { at, oldest: lsn });
            }
            let recs: Vec<Arc<Record>> = st
                .per_page
                .get(&page)
                .filter(|_| at > lsn)
                .map(|m| m.range(lsn + 1..=at).map(|(_, r)| r.clone()).collect())
                .unwrap_or_default();
            (img, recs)
        };
        for r in recs {
            redo::apply(&mut img, &r.payload)?;
        }
        Ok(img)
    }

    /// Materialize if the backlog calls for it: more than
    /// [`SegmentOptions::materialize_backlog`] records or
    /// [`SegmentOptions::materialize_backlog_bytes`] of payload held unapplied, or some
    /// held for longer than [`SegmentOptions::materialize_every`]. Deferring lets one
    /// slot write absorb many records of a hot page (a slot write is a 16 KiB read, two
    /// crc32c passes and a 16 KiB write, per replica); reads meanwhile apply the held
    /// records, as they always do. Returns how many records were applied.
    pub fn materialize_due(&self) -> Result<usize> {
        let backlog = {
            let st = self.st.lock();
            let n = st.recs.len();
            let due = n > self.opts.materialize_backlog
                || st.held_bytes > self.opts.materialize_backlog_bytes
                || (n > 0 && st.last_materialized.elapsed() >= self.opts.materialize_every);
            if !due {
                return Ok(0);
            }
            n
        };
        // At most the backlog seen now (and one pass's worth): under a steady stream of
        // appends the pass must end, so the node's other background work (compaction,
        // gossip, scrub) runs.
        let total = self.materialize(backlog.min(MATERIALIZE_PASS))?;
        self.st.lock().last_materialized = Instant::now();
        Ok(total)
    }

    /// Apply up to `budget` records to page slots; returns how many were applied.
    ///
    /// Slot I/O runs without the state lock, so appends and reads go on meanwhile. That
    /// is safe because each slot read/write is atomic in [`SegmentFiles`], the records
    /// applied here stay in memory until their slots are written (a reader holding the
    /// state lock sees either the old slot with all its records or the new slot, whose
    /// LSN filters the records it already holds), and `mat` keeps installs and other
    /// materializers out.
    pub fn materialize(&self, budget: usize) -> Result<usize> {
        let _only = self.mat.lock();
        let target = {
            let st = self.st.lock();
            Self::check_ok(&st)?;
            if st.damaged || (st.pins > 0 && Instant::now() < st.pin_deadline) {
                return Ok(0);
            }
            st.scl
                .min(st.vdl_hint)
                .min(st.read_floor.unwrap_or(Lsn::MAX))
                .min(st.follower_floor.unwrap_or(Lsn::MAX))
        };
        // A prefix of the chain, taken a chunk per lock hold and grouped by page below:
        // each slot is read, verified and written once per pass however many of its
        // records are applied (taking the prefix in separately written chunks wrote a
        // hot page once per chunk). Records up to `target` are never truncated, and new
        // appends land above it, so the prefix is the same whichever chunk sees it.
        let mut batch: Vec<Arc<Record>> = Vec::new();
        let mut from = 0;
        while batch.len() < budget {
            let st = self.st.lock();
            let before = batch.len();
            let take = MATERIALIZE_CHUNK.min(budget - before);
            batch.extend(
                st.recs
                    .range(from..=target)
                    .take(take)
                    .map(|(_, r)| r.clone()),
            );
            match batch.last() {
                Some(r) if batch.len() == before + take => from = r.lsn + 1,
                _ => break,
            }
        }
        let Some(last) = batch.last().map(|r| r.lsn) else {
            return Ok(0);
        };
        let mut by_page: BTreeMap<PageNo, Vec<&Arc<Record>>> = BTreeMap::new();
        for r in &batch {
            by_page.entry(r.page).or_default().push(r);
        }
        let mut img = zero_page();
        for (page, recs) in &by_page {
            let idx = page - self.first_page;
            let lsn = match self.load_slot_into(idx, &mut img) {
                Ok(Ok(v)) => v,
                Ok(Err(e)) => {
                    self.st.lock().damaged = true;
                    return Err(e);
                }
                Err(e) => return Self::fail(&mut self.st.lock(), e),
            };
            let mut new_lsn = lsn;
            for r in recs.iter().filter(|r| r.lsn > lsn) {
                redo::apply(&mut img, &r.payload)?;
                new_lsn = r.lsn;
            }
            if new_lsn > lsn {
                let hdr = slot_header(new_lsn, &img[..]);
                if let Err(e) = self.files.write_slot(idx, &hdr, &img[..]) {
                    return Self::fail(&mut self.st.lock(), e);
                }
            }
        }
        let mut st = self.st.lock();
        for (i, r) in batch.iter().enumerate() {
            if i > 0 && i % MATERIALIZE_CHUNK == 0 {
                // Let waiting appends and reads in between chunks.
                MutexGuard::bump(&mut st);
            }
            if st.recs.remove(&r.lsn).is_some() {
                st.held_bytes = st.held_bytes.saturating_sub(r.payload.len());
            }
            if let Some(m) = st.per_page.get_mut(&r.page) {
                m.remove(&r.lsn);
                if m.is_empty() {
                    st.per_page.remove(&r.page);
                }
            }
        }
        st.applied = st.applied.max(last);
        Ok(batch.len())
    }

    /// Make applied pages durable and drop their records from the log, if the log has
    /// grown past the threshold (or `force`). Returns whether it compacted.
    pub fn checkpoint(&self, force: bool) -> Result<bool> {
        // `mat` keeps `applied` (and the slots) from moving until the meta is written;
        // the page sync, the slow part, runs without the state lock so appends go on.
        let _only = self.mat.lock();
        let applied = {
            let st = self.st.lock();
            Self::check_ok(&st)?;
            if st.damaged || st.applied == st.meta_applied {
                return Ok(false);
            }
            if !force && st.log_bytes < self.opts.log_compact_bytes {
                return Ok(false);
            }
            st.applied
        };
        if let Err(e) = self.files.sync_pages() {
            return Self::fail(&mut self.st.lock(), e);
        }
        let mut st = self.st.lock();
        Self::check_ok(&st)?;
        if st.damaged || st.applied != applied {
            return Ok(false);
        }
        // Meta before log: a crash in between leaves records at or below `applied` in
        // the log, which open() skips.
        let meta = encode_meta(st.epoch, st.applied, &st.truncs);
        if let Err(e) = self.files.write_meta(&meta) {
            return Self::fail(&mut st, e);
        }
        st.meta_applied = st.applied;
        if let Err(e) = self.rewrite_log(&mut st) {
            return Self::fail(&mut st, e);
        }
        Ok(true)
    }

    /// Records with LSN > `from` (at most `max`), for a peer filling a gap; None if
    /// some were already folded into pages here (the peer needs a [`Snapshot`]).
    pub fn records_after(&self, from: Lsn, max: usize) -> Option<Vec<Record>> {
        let st = self.st.lock();
        if from < st.applied || st.failed.is_some() {
            return None;
        }
        Some(
            st.recs
                .range(from + 1..)
                .take(max)
                .map(|(_, r)| (**r).clone())
                .collect(),
        )
    }

    /// The oldest read point of replicas following this node (None: none).
    pub fn set_follower_floor(&self, floor: Option<Lsn>) {
        self.st.lock().follower_floor = floor;
    }

    /// What a read replica following this node needs, taken atomically: the epoch, the
    /// writer's announced VDL, the SCL, and the records in (`from`, min(SCL, VDL)] (at
    /// most `max`). Records are None if some above `from` were folded into pages.
    pub fn follow(&self, from: Lsn, max: usize) -> FollowBatch {
        let st = self.st.lock();
        let limit = st.scl.min(st.vdl_hint);
        let records = (from >= st.applied && st.failed.is_none() && !st.damaged).then(|| {
            if from >= limit {
                return Vec::new();
            }
            st.recs
                .range(from + 1..=limit)
                .take(max)
                .map(|(_, r)| (**r).clone())
                .collect()
        });
        FollowBatch {
            epoch: st.epoch,
            vdl_hint: st.vdl_hint,
            scl: st.scl,
            records,
        }
    }

    /// Recovery view, taken atomically: the applied point and every record above it.
    pub fn unapplied(&self) -> (Lsn, Vec<Arc<Record>>) {
        let st = self.st.lock();
        (st.applied, st.recs.values().cloned().collect())
    }

    /// The highest LSN <= `v` of a record of this PG held here (0: none).
    pub fn tail_at_or_below(&self, v: Lsn) -> Lsn {
        let st = self.st.lock();
        let held = st
            .recs
            .range(..=v)
            .next_back()
            .map(|(&l, _)| l)
            .unwrap_or(0);
        if st.applied <= v {
            held.max(st.applied)
        } else {
            held
        }
    }

    /// The epoch and truncation history known here.
    pub fn epoch(&self) -> (u64, Vec<Trunc>) {
        let st = self.st.lock();
        (st.epoch, st.truncs.clone())
    }

    /// Number of page slots.
    pub fn slots(&self) -> u64 {
        self.slots
    }

    /// Start a snapshot for rebuilding a peer: epoch, truncations, applied point and the
    /// records above it (no pages: fetch them in chunks with [`Segment::snapshot_pages`]).
    /// Materialization pauses until [`Segment::snapshot_end`] (or [`PIN_TTL`]), so the
    /// slots stay consistent with this header. Fails if this replica is itself damaged
    /// (never hand out bad bytes).
    pub fn snapshot_begin(&self) -> Result<Snapshot> {
        let mut st = self.st.lock();
        Self::check_ok(&st)?;
        if st.damaged {
            return Err(Error::Corrupted("snapshot source is damaged".into()));
        }
        st.pins += 1;
        st.pin_deadline = Instant::now() + PIN_TTL;
        Ok(Snapshot {
            epoch: st.epoch,
            truncs: st.truncs.clone(),
            applied: st.applied,
            pages: Vec::new(),
            records: st.recs.values().map(|r| (**r).clone()).collect(),
        })
    }

    /// Written slots from index `from` on, at most `max` of them; returns them and the
    /// index to continue from (`slots()` when done).
    pub fn snapshot_pages(&self, from: u64, max: usize) -> Result<(Vec<SlotImage>, u64)> {
        let mut st = self.st.lock();
        Self::check_ok(&st)?;
        if st.damaged || st.pins == 0 {
            return Err(Error::Unavailable("no snapshot in progress".into()));
        }
        st.pin_deadline = Instant::now() + PIN_TTL;
        let mut pages = Vec::new();
        let mut idx = from;
        let mut hdrs = Vec::new();
        while idx < self.slots && pages.len() < max.max(1) {
            let n = (self.slots - idx).min(HEADER_CHUNK);
            hdrs.resize(n as usize, [0u8; SLOT_HEADER]);
            if let Err(e) = self.files.read_slot_headers(idx, &mut hdrs) {
                return Self::fail(&mut st, e);
            }
            for hdr in &hdrs {
                if pages.len() >= max.max(1) {
                    break;
                }
                if hdr.iter().any(|&b| b != 0) {
                    let (lsn, img) = self.read_slot(&mut st, idx)?;
                    pages.push((idx, lsn, img.to_vec()));
                }
                idx += 1;
            }
        }
        Ok((pages, idx))
    }

    /// End a snapshot started with [`Segment::snapshot_begin`].
    pub fn snapshot_end(&self) {
        let mut st = self.st.lock();
        st.pins = st.pins.saturating_sub(1);
    }

    /// A whole snapshot at once (small segments, tests).
    pub fn snapshot(&self) -> Result<Snapshot> {
        let mut snap = self.snapshot_begin()?;
        let res = self.snapshot_pages(0, usize::MAX);
        self.snapshot_end();
        snap.pages = res?.0;
        Ok(snap)
    }

    /// Start replacing this replica with a peer's snapshot: adopt its epoch and stop
    /// serving (damaged) until [`Segment::install_end`].
    pub fn install_begin(&self, head: &Snapshot) -> Result<()> {
        let _only = self.mat.lock();
        let mut st = self.st.lock();
        Self::check_ok(&st)?;
        self.learn(&mut st, head.epoch, &head.truncs)?;
        st.damaged = true;
        Ok(())
    }

    /// Install slots `from..to` from a chunk of the peer's pages (slots in the range the
    /// peer did not send are cleared).
    pub fn install_pages(&self, from: u64, to: u64, pages: Vec<SlotImage>) -> Result<()> {
        let _only = self.mat.lock();
        let mut st = self.st.lock();
        Self::check_ok(&st)?;
        if to > self.slots || from > to {
            return Err(Error::InvalidInput(format!("slot range {from}..{to}")));
        }
        let mut theirs: HashMap<u64, (Lsn, Vec<u8>)> =
            pages.into_iter().map(|(i, l, p)| (i, (l, p))).collect();
        let zero = vec![0u8; PAGE_SIZE];
        let mut hdrs = Vec::new();
        let mut chunk = from;
        while chunk < to {
            let n = (to - chunk).min(HEADER_CHUNK);
            hdrs.resize(n as usize, [0u8; SLOT_HEADER]);
            if let Err(e) = self.files.read_slot_headers(chunk, &mut hdrs) {
                return Self::fail(&mut st, e);
            }
            for (idx, hdr) in (chunk..).zip(&hdrs) {
                let res = match theirs.remove(&idx) {
                    Some((lsn, img)) if img.len() == PAGE_SIZE => {
                        self.files.write_slot(idx, &slot_header(lsn, &img), &img)
                    }
                    Some(_) => return Err(Error::Corrupted("snapshot page of wrong size".into())),
                    // A slot written here but not in the snapshot is cleared.
                    None if hdr.iter().any(|&b| b != 0) => {
                        self.files.write_slot(idx, &[0; SLOT_HEADER], &zero)
                    }
                    None => Ok(()),
                };
                if let Err(e) = res {
                    return Self::fail(&mut st, e);
                }
            }
            chunk += n;
        }
        if !theirs.is_empty() {
            return Err(Error::Corrupted("snapshot page outside its chunk".into()));
        }
        Ok(())
    }

    /// Finish an install: the peer's applied point and records, plus own records above.
    pub fn install_end(&self, head: Snapshot) -> Result<()> {
        let _only = self.mat.lock();
        let mut st = self.st.lock();
        Self::check_ok(&st)?;
        if let Err(e) = self.files.sync_pages() {
            return Self::fail(&mut st, e);
        }
        let own: Vec<Record> = std::mem::take(&mut st.recs)
            .into_values()
            .map(|r| (*r).clone())
            .collect();
        st.held_bytes = 0;
        st.per_page.clear();
        st.applied = head.applied;
        st.meta_applied = head.applied;
        st.scl = head.applied;
        st.damaged = false;
        let meta = encode_meta(st.epoch, st.applied, &st.truncs);
        if let Err(e) = self.files.write_meta(&meta) {
            return Self::fail(&mut st, e);
        }
        for r in head.records.into_iter().chain(own) {
            self.insert(&mut st, Arc::new(r), None)?;
        }
        if let Err(e) = self.rewrite_log(&mut st) {
            return Self::fail(&mut st, e);
        }
        Ok(())
    }

    /// Replace this replica's pages with a peer's whole snapshot, keeping own records
    /// above it.
    pub fn install(&self, mut snap: Snapshot) -> Result<()> {
        self.install_begin(&snap)?;
        let pages = std::mem::take(&mut snap.pages);
        self.install_pages(0, self.slots, pages)?;
        self.install_end(snap)
    }

    /// Re-verify every written page slot and the log against crc32c. Bad pages mark the
    /// replica damaged (the node rebuilds it from a peer); a bad log is rewritten from
    /// the verified in-memory records.
    pub fn scrub(&self) -> Result<ScrubReport> {
        let mut st = self.st.lock();
        Self::check_ok(&st)?;
        let mut rep = ScrubReport::default();
        let mut hdrs = Vec::new();
        let mut chunk = 0;
        while chunk < self.slots {
            let n = (self.slots - chunk).min(HEADER_CHUNK);
            hdrs.resize(n as usize, [0u8; SLOT_HEADER]);
            if let Err(e) = self.files.read_slot_headers(chunk, &mut hdrs) {
                return Self::fail(&mut st, e);
            }
            for (idx, hdr) in (chunk..).zip(&hdrs) {
                if hdr.iter().all(|&b| b == 0) {
                    continue;
                }
                rep.pages_checked += 1;
                match self.read_slot(&mut st, idx) {
                    Ok(_) => {}
                    Err(Error::Corrupted(_)) => rep.bad_pages += 1,
                    Err(e) => return Err(e),
                }
            }
            chunk += n;
        }
        // Flush queued appends so the file should hold every record in memory.
        {
            let mut c = self.commit.lock();
            while c.leader {
                self.committed.wait(&mut c);
            }
        }
        let seq = {
            let mut c = self.commit.lock();
            c.enqueued += 1;
            c.enqueued
        };
        self.group_commit(seq)?;
        let log = match self.files.read_log() {
            Ok(l) => l,
            Err(e) => return Self::fail(&mut st, e),
        };
        let (on_disk, end) = record::decode_all(&log);
        let mut present: HashMap<Lsn, Record> = on_disk.into_iter().map(|r| (r.lsn, r)).collect();
        let complete = st
            .recs
            .values()
            .all(|r| present.remove(&r.lsn).is_some_and(|d| d == **r));
        let tail_clean = log[end..].iter().all(|&b| b == 0);
        if !tail_clean || !complete {
            tracing::warn!(pg = self.pg, "scrub: damaged log rewritten");
            rep.log_repaired = true;
            if let Err(e) = self.rewrite_log(&mut st) {
                return Self::fail(&mut st, e);
            }
        }
        Ok(rep)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::{Backend, Faults, FaultyFiles, MemBackend};
    use std::sync::atomic::Ordering;

    const SLOTS: u64 = 16;

    fn rec(lsn: Lsn, prev: Lsn, page: PageNo, byte: u8) -> Record {
        let mut payload = Vec::new();
        redo::push_write(&mut payload, (lsn % 100) as usize, &[byte]);
        Record {
            lsn,
            epoch: 1,
            prev_lsn: prev,
            pg: 2,
            page: 2 * SLOTS + page,
            mtr_end: true,
            payload,
        }
    }

    fn open(b: &MemBackend) -> Segment {
        Segment::open(
            2,
            2 * SLOTS,
            b.open_segment(2, SLOTS).unwrap(),
            SegmentOptions {
                log_compact_bytes: 1,
                ..Default::default()
            },
        )
        .unwrap()
    }

    /// Model: page as of `at` = apply all records <= at in order.
    fn model(recs: &[Record], page: PageNo, at: Lsn) -> PageBuf {
        let mut img = zero_page();
        for r in recs {
            if r.page == page && r.lsn <= at {
                redo::apply(&mut img, &r.payload).unwrap();
            }
        }
        img
    }

    #[test]
    fn reads_are_exact_at_every_read_point() {
        let b = MemBackend::new();
        let s = open(&b);
        let mut all = Vec::new();
        let mut prev = 0;
        for lsn in (3..200).step_by(3) {
            all.push(rec(lsn, prev, lsn % 4, lsn as u8));
            prev = lsn;
        }
        let scl = s.append(Some(1), &[], all.clone(), 0).unwrap();
        assert_eq!(scl, prev);
        let floor = 90;
        s.set_limits(150, Some(floor));
        while s.materialize(7).unwrap() > 0 {}
        assert!(s.status().applied <= floor);
        assert!(s.status().applied > 80);
        s.checkpoint(true).unwrap();
        for at in floor..=prev + 5 {
            for p in 0..4 {
                let page = 2 * SLOTS + p;
                assert_eq!(
                    s.read_page(page, at).unwrap(),
                    model(&all, page, at),
                    "{at}"
                );
            }
        }
        assert!(matches!(
            s.read_page(2 * SLOTS + 1, 10),
            Err(Error::ReadPointTooOld { .. })
        ));
        // Reopen: same answers from slots + compacted log.
        drop(s);
        let s = open(&b);
        assert_eq!(s.status().scl, prev);
        for at in [floor, 120, prev] {
            let page = 2 * SLOTS + 2;
            assert_eq!(s.read_page(page, at).unwrap(), model(&all, page, at));
        }
    }

    #[test]
    fn materialization_waits_for_a_backlog_or_its_period() {
        let b = MemBackend::new();
        let s = Segment::open(
            2,
            2 * SLOTS,
            b.open_segment(2, SLOTS).unwrap(),
            SegmentOptions {
                materialize_backlog: 10,
                materialize_every: Duration::from_secs(3600),
                ..Default::default()
            },
        )
        .unwrap();
        let mut all = Vec::new();
        let mut prev = 0;
        for lsn in 1..=10 {
            all.push(rec(lsn, prev, lsn % 3, lsn as u8));
            prev = lsn;
        }
        s.append(Some(1), &[], all.clone(), 10).unwrap();
        s.set_limits(10, None);
        assert_eq!(
            s.materialize_due().unwrap(),
            0,
            "10 records are not a backlog"
        );
        assert_eq!(s.status().applied, 0);
        let extra = rec(11, 10, 1, 11);
        all.push(extra.clone());
        s.append(Some(1), &[], vec![extra], 11).unwrap();
        s.set_limits(11, None);
        assert_eq!(s.materialize_due().unwrap(), 11);
        assert_eq!(s.status().applied, 11);
        for p in 0..3 {
            let page = 2 * SLOTS + p;
            assert_eq!(s.read_page(page, 11).unwrap(), model(&all, page, 11));
        }
    }

    #[test]
    fn materialization_starts_once_held_payloads_pass_a_byte_budget() {
        let b = MemBackend::new();
        let s = Segment::open(
            2,
            2 * SLOTS,
            b.open_segment(2, SLOTS).unwrap(),
            SegmentOptions {
                materialize_backlog: 1 << 20,
                materialize_backlog_bytes: 4 * PAGE_SIZE,
                materialize_every: Duration::from_secs(3600),
                ..Default::default()
            },
        )
        .unwrap();
        // Whole-page writes, as a bulk load makes: four are within the budget.
        let image = |lsn: Lsn, prev: Lsn| {
            let mut r = rec(lsn, prev, lsn % 3, 0);
            r.payload.clear();
            redo::push_write(&mut r.payload, 0, &vec![lsn as u8; PAGE_SIZE - 64]);
            r
        };
        let mut all: Vec<Record> = (1..=4).map(|l| image(l, l - 1)).collect();
        s.append(Some(1), &[], all.clone(), 4).unwrap();
        s.set_limits(4, None);
        assert_eq!(s.materialize_due().unwrap(), 0, "four pages fit the budget");
        all.push(image(5, 4));
        all.push(image(6, 5));
        s.append(Some(1), &[], all[4..].to_vec(), 6).unwrap();
        s.set_limits(6, None);
        assert_eq!(s.materialize_due().unwrap(), 6);
        for p in 0..3 {
            let page = 2 * SLOTS + p;
            assert_eq!(s.read_page(page, 6).unwrap(), model(&all, page, 6));
        }
        // Applied records leave the budget: a small one is no backlog again.
        s.append(Some(1), &[], vec![rec(7, 6, 1, 7)], 7).unwrap();
        s.set_limits(7, None);
        assert_eq!(s.materialize_due().unwrap(), 0);
    }

    /// Every one of the first `pages` pages reads at `at` as the model says.
    fn assert_pages(s: &Segment, all: &[Record], pages: u64, at: Lsn) {
        for p in 0..pages {
            let page = 2 * SLOTS + p;
            assert_eq!(
                s.read_page(page, at).unwrap(),
                model(all, page, at),
                "page {p} at {at}"
            );
        }
    }

    #[test]
    fn a_reopened_replica_holds_only_the_records_its_slots_lack() {
        let b = MemBackend::new();
        let s = open(&b);
        let mut all = Vec::new();
        for lsn in 1..=40 {
            all.push(rec(lsn, lsn - 1, lsn % 4, lsn as u8));
        }
        s.append(Some(1), &[], all.clone(), 40).unwrap();
        // Materialized up to 30, never checkpointed (the meta still says 0): as after
        // a crash between checkpoints.
        s.set_limits(40, Some(30));
        while s.materialize(1000).unwrap() > 0 {}
        assert_eq!(s.status().applied, 30);
        drop(s);

        let s = open(&b);
        let st = s.status();
        assert_eq!((st.applied, st.scl), (30, 40));
        assert_eq!(
            s.st.lock().recs.keys().copied().collect::<Vec<_>>(),
            (31..=40).collect::<Vec<_>>(),
            "only the records past the folded point are held"
        );
        for at in 30..=40 {
            assert_pages(&s, &all, 4, at);
        }
        // The folded point is checkpointed like any other.
        assert!(s.checkpoint(true).unwrap());
        drop(s);
        let s = open(&b);
        assert_eq!(s.status().applied, 30);
        assert_pages(&s, &all, 4, 40);
    }

    #[test]
    fn a_pass_cut_short_folds_only_up_to_the_first_record_a_slot_lacks() {
        let b = MemBackend::new();
        let files = Arc::new(CountingFiles {
            inner: b.open_segment(2, SLOTS).unwrap(),
            writes: Mutex::new(BTreeMap::new()),
            fail_slot: Some(2),
        });
        let s = Segment::open(2, 2 * SLOTS, files, SegmentOptions::default()).unwrap();
        let mut all = Vec::new();
        for lsn in 1..=12 {
            all.push(rec(lsn, lsn - 1, lsn % 4, lsn as u8));
        }
        s.append(Some(1), &[], all.clone(), 12).unwrap();
        s.set_limits(12, None);
        // The pass writes pages 0 and 1 (up to LSNs 12 and 9), then fails on page 2.
        assert!(s.materialize(1000).is_err());
        drop(s);

        let s = open(&b);
        // LSN 1 (page 1) is in its slot; LSN 2 (page 2) is not: the chain folds to 1,
        // and page 0's records stay held although its slot has them all.
        let st = s.status();
        assert_eq!((st.applied, st.scl), (1, 12));
        assert_eq!(s.st.lock().recs.len(), 11);
        assert_pages(&s, &all, 4, 12);
        s.set_limits(12, None);
        while s.materialize(1000).unwrap() > 0 {}
        assert_eq!(s.status().applied, 12);
        assert_pages(&s, &all, 4, 12);
    }

    /// Counts slot writes per slot, and fails those to slot `fail_slot`; everything else
    /// goes to the wrapped files.
    struct CountingFiles {
        inner: Arc<dyn SegmentFiles>,
        writes: Mutex<BTreeMap<u64, usize>>,
        fail_slot: Option<u64>,
    }

    impl SegmentFiles for CountingFiles {
        fn slots(&self) -> u64 {
            self.inner.slots()
        }
        fn read_log(&self) -> Result<Vec<u8>> {
            self.inner.read_log()
        }
        fn append_log(&self, bytes: &[u8]) -> Result<()> {
            self.inner.append_log(bytes)
        }
        fn sync_log(&self) -> Result<()> {
            self.inner.sync_log()
        }
        fn replace_log(&self, bytes: &[u8]) -> Result<()> {
            self.inner.replace_log(bytes)
        }
        fn read_slot(&self, idx: u64, hdr: &mut [u8; SLOT_HEADER], page: &mut [u8]) -> Result<()> {
            self.inner.read_slot(idx, hdr, page)
        }
        fn write_slot(&self, idx: u64, hdr: &[u8; SLOT_HEADER], page: &[u8]) -> Result<()> {
            if self.fail_slot == Some(idx) {
                return Err(Error::Io(std::io::Error::other(
                    "injected slot write fault",
                )));
            }
            *self.writes.lock().entry(idx).or_default() += 1;
            self.inner.write_slot(idx, hdr, page)
        }
        fn read_slot_header(&self, idx: u64, hdr: &mut [u8; SLOT_HEADER]) -> Result<()> {
            self.inner.read_slot_header(idx, hdr)
        }
        fn sync_pages(&self) -> Result<()> {
            self.inner.sync_pages()
        }
        fn read_meta(&self) -> Result<Option<Vec<u8>>> {
            self.inner.read_meta()
        }
        fn write_meta(&self, bytes: &[u8]) -> Result<()> {
            self.inner.write_meta(bytes)
        }
    }

    #[test]
    fn a_pass_writes_each_page_once_however_many_chunks_its_records_span() {
        let b = MemBackend::new();
        let files = Arc::new(CountingFiles {
            inner: b.open_segment(2, SLOTS).unwrap(),
            writes: Mutex::new(BTreeMap::new()),
            fail_slot: None,
        });
        let s = Segment::open(
            2,
            2 * SLOTS,
            files.clone(),
            SegmentOptions {
                materialize_backlog: 10,
                materialize_every: Duration::from_secs(3600),
                ..Default::default()
            },
        )
        .unwrap();
        // Three chunks' worth of records cycling over five pages.
        let n = (3 * MATERIALIZE_CHUNK) as Lsn;
        let all: Vec<Record> = (1..=n).map(|l| rec(l, l - 1, l % 5, l as u8)).collect();
        for part in all.chunks(1000) {
            let last = part[part.len() - 1].lsn;
            s.append(Some(1), &[], part.to_vec(), last).unwrap();
        }
        s.set_limits(n, None);
        assert_eq!(s.materialize_due().unwrap(), n as usize);
        let writes = files.writes.lock().clone();
        assert_eq!(writes, (0..5).map(|p| (p, 1)).collect::<BTreeMap<_, _>>());
        for p in 0..5 {
            let page = 2 * SLOTS + p;
            assert_eq!(s.read_page(page, n).unwrap(), model(&all, page, n));
        }
        assert_eq!(s.status().applied, n);
    }

    #[test]
    fn reads_stay_exact_while_materialization_runs_concurrently() {
        let b = MemBackend::new();
        let s = Arc::new(open(&b));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mat = {
            let (s, stop) = (s.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    s.materialize(5).unwrap();
                }
            })
        };
        let mut all = Vec::new();
        let mut prev = 0;
        for lsn in 1..=600u64 {
            let r = rec(lsn, prev, lsn % 5, (lsn * 7) as u8);
            all.push(r.clone());
            prev = lsn;
            s.append(Some(1), &[], vec![r], lsn).unwrap();
            s.set_limits(lsn, None);
            // Everything at or above what has been materialized reads exactly.
            let at = lsn.max(s.status().applied);
            let page = 2 * SLOTS + (lsn * 3) % 5;
            assert_eq!(
                s.read_page(page, at).unwrap(),
                model(&all, page, at),
                "{lsn}"
            );
        }
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        mat.join().unwrap();
        while s.materialize(100).unwrap() > 0 {}
        for p in 0..5 {
            let page = 2 * SLOTS + p;
            assert_eq!(s.read_page(page, 600).unwrap(), model(&all, page, 600));
        }
    }

    #[test]
    fn scl_follows_the_chain_and_fills_gaps() {
        let b = MemBackend::new();
        let s = open(&b);
        assert_eq!(s.append(Some(1), &[], vec![rec(2, 0, 0, 1)], 0).unwrap(), 2);
        // 5 is missing: 9 (prev 5) waits.
        assert_eq!(s.append(Some(1), &[], vec![rec(9, 5, 0, 1)], 0).unwrap(), 2);
        assert_eq!(s.append(None, &[], vec![rec(5, 2, 1, 1)], 0).unwrap(), 9);
        // Duplicates are ignored.
        assert_eq!(s.append(Some(1), &[], vec![rec(5, 2, 1, 1)], 0).unwrap(), 9);
        assert_eq!(s.records_after(2, 10).unwrap().len(), 2);
        drop(s);
        assert_eq!(open(&b).status().scl, 9);
    }

    #[test]
    fn status_reports_only_flushed_records() {
        let b = MemBackend::new();
        let s = open(&b);
        assert_eq!(s.append(Some(1), &[], vec![rec(1, 0, 0, 1)], 0).unwrap(), 1);
        // Queued but not flushed: held in memory, not yet acknowledgeable.
        let (seq, scl) = s
            .append_deferred(Some(1), &[], vec![rec(2, 1, 0, 2), rec(3, 2, 0, 3)], 0)
            .unwrap();
        assert_eq!(scl, 3);
        assert_eq!(s.status().scl, 1);
        assert_eq!(s.status().max_lsn, 3);
        s.flush_to(seq).unwrap();
        assert_eq!(s.status().scl, 3);
        // A later flush (another appender's) covers earlier tickets too.
        let (seq4, _) = s
            .append_deferred(Some(1), &[], vec![rec(4, 3, 0, 4)], 0)
            .unwrap();
        assert_eq!(s.append(Some(1), &[], vec![rec(5, 4, 0, 5)], 0).unwrap(), 5);
        assert_eq!(s.status().scl, 5);
        s.flush_to(seq4).unwrap();
        // Unflushed again: held, not reported.
        s.append_deferred(Some(1), &[], vec![rec(6, 5, 0, 6)], 0)
            .unwrap();
        assert_eq!(s.status().scl, 5);
    }

    /// The SCL follows the chain of held records whatever order they arrive in: in order
    /// (the common case, which skips searching the held records), shuffled, duplicated,
    /// or with strays beside the links. Seeded (SEED).
    #[test]
    fn scl_follows_the_chain_in_any_arrival_order() {
        use rand::seq::SliceRandom;
        use rand::{Rng, SeedableRng};
        let seed: u64 = std::env::var("SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(rand::random);
        eprintln!("scl_follows_the_chain_in_any_arrival_order: SEED={seed}");
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        for round in 0..200 {
            // A chain with random LSN steps, and strays: records just below a link that
            // point two below it (to the previous link when the step is 2, else nowhere).
            let mut chain = Vec::new();
            let mut prev = 0;
            for _ in 0..rng.gen_range(1..40) {
                let lsn = prev + rng.gen_range(2..5);
                chain.push(rec(lsn, prev, lsn % 4, lsn as u8));
                prev = lsn;
            }
            let mut arrivals: Vec<Record> = chain.clone();
            for r in &chain {
                if rng.gen_bool(0.1) {
                    arrivals.push(r.clone());
                }
                if rng.gen_bool(0.1) {
                    arrivals.push(rec(r.lsn - 1, r.lsn - 2, 0, 0));
                }
            }
            match round % 3 {
                0 => arrivals.sort_by_key(|r| r.lsn),
                1 => arrivals.shuffle(&mut rng),
                _ => {
                    // Mostly in order, a few swapped neighbours.
                    arrivals.sort_by_key(|r| r.lsn);
                    for i in 1..arrivals.len() {
                        if rng.gen_bool(0.2) {
                            arrivals.swap(i - 1, i);
                        }
                    }
                }
            }
            let b = MemBackend::new();
            let s = open(&b);
            // Reference: every arrival is added, then the SCL steps to the lowest held
            // record above it while that record links to it.
            let mut held: BTreeMap<Lsn, Lsn> = BTreeMap::new();
            let mut want = 0;
            for r in arrivals {
                held.entry(r.lsn).or_insert(r.prev_lsn);
                s.append_deferred(Some(1), &[], vec![r], 0).unwrap();
                while let Some((&lsn, &prev)) = held.range(want + 1..).next() {
                    if prev != want {
                        break;
                    }
                    want = lsn;
                }
                assert_eq!(s.st.lock().scl, want, "seed {seed} round {round}");
            }
        }
    }

    #[test]
    fn fencing_and_truncation() {
        let b = MemBackend::new();
        let s = open(&b);
        s.append(
            Some(1),
            &[],
            vec![rec(1, 0, 0, 1), rec(2, 1, 0, 2), rec(3, 2, 0, 3)],
            0,
        )
        .unwrap();
        // Epoch 2 recovered to VDL 2: record 3 of epoch 1 is void.
        let t = [Trunc { epoch: 2, vdl: 2 }];
        let st = s.adopt(2, &t).unwrap();
        assert_eq!((st.epoch, st.scl), (2, 2));
        assert!(matches!(
            s.append(Some(1), &[], vec![rec(4, 3, 0, 1)], 0),
            Err(Error::Fenced { ours: 1, theirs: 2 })
        ));
        let mut r3 = rec(3, 2, 1, 9);
        r3.epoch = 2;
        assert_eq!(s.append(Some(2), &t, vec![r3.clone()], 0).unwrap(), 3);
        // A stale peer's old record 3 is refused; the history survives a restart.
        assert_eq!(s.append(None, &[], vec![rec(3, 2, 0, 3)], 0).unwrap(), 3);
        drop(s);
        let s = open(&b);
        assert_eq!(s.epoch(), (2, t.to_vec()));
        assert_eq!(s.records_after(2, 10).unwrap(), vec![r3]);
    }

    #[test]
    fn group_commit_shares_fsyncs() {
        let faults = Faults::new();
        let files = Arc::new(FaultyFiles {
            inner: MemBackend::new().open_segment(0, 1024).unwrap(),
            faults: faults.clone(),
        });
        faults.sync_delay_us.store(500, Ordering::SeqCst);
        let s = Arc::new(Segment::open(0, 0, files, SegmentOptions::default()).unwrap());
        let threads = 8;
        let per = 100u64;
        let hs: Vec<_> = (0..threads)
            .map(|t| {
                let s = s.clone();
                std::thread::spawn(move || {
                    for i in 0..per {
                        // Independent chains are fine for this test: only fsyncs count.
                        let lsn = 1 + t * per + i;
                        let mut r = rec(lsn, lsn - 1, 0, 1);
                        r.pg = 0;
                        r.page = lsn % 1024;
                        s.append(Some(1), &[], vec![r], 0).unwrap();
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        let syncs = faults.log_syncs.load(Ordering::SeqCst);
        let appends = (threads * per) as i64;
        println!("{appends} appends, {syncs} log syncs");
        // With a slow fsync, waiting appenders pile up behind the leader and share.
        assert!(syncs * 2 < appends, "{syncs} syncs for {appends} appends");
        assert_eq!(
            s.records_after(0, usize::MAX).unwrap().len() as i64,
            appends
        );
    }

    #[test]
    fn io_failure_poisons_and_nothing_is_acked() {
        let faults = Faults::new();
        let b = MemBackend::new();
        let files = Arc::new(FaultyFiles {
            inner: b.open_segment(0, 8).unwrap(),
            faults: faults.clone(),
        });
        let s = Segment::open(0, 0, files, SegmentOptions::default()).unwrap();
        let mut r = rec(1, 0, 0, 1);
        r.pg = 0;
        r.page = 0;
        faults.countdown.store(1, Ordering::SeqCst); // the append succeeds, the fsync fails
        assert!(s.append(Some(1), &[], vec![r.clone()], 0).is_err());
        assert!(s.failed());
        assert!(s.read_page(0, 1).is_err());
    }

    #[test]
    fn scans_over_every_slot_of_a_large_page_file_find_pages_in_every_chunk() {
        use crate::io::DirBackend;
        // More slots than one header chunk, with pages in the first, second and third.
        let slots = 2 * HEADER_CHUNK + 16;
        let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
        let opened = |d: &tempfile::TempDir| {
            let b = DirBackend::new(d.path(), true).unwrap();
            let seg = Segment::open(
                2,
                2 * SLOTS,
                b.open_segment(2, slots).unwrap(),
                SegmentOptions::default(),
            )
            .unwrap();
            (b, seg)
        };
        let (_b1, s1) = opened(&dirs[0]);
        let (_b2, s2) = opened(&dirs[1]);
        let used = [0, HEADER_CHUNK + 3, slots - 1];
        let all: Vec<Record> = (1..=30)
            .map(|lsn| rec(lsn, lsn - 1, used[lsn as usize % 3], lsn as u8))
            .collect();
        for s in [&s1, &s2] {
            s.append(Some(1), &[], all.clone(), 30).unwrap();
            s.set_limits(30, Some(30));
            while s.materialize(100).unwrap() > 0 {}
            s.checkpoint(true).unwrap();
            let rep = s.scrub().unwrap();
            assert_eq!((rep.pages_checked, rep.bad_pages), (3, 0));
        }
        // Damage the last slot's image of replica 1 on disk: scrub finds it.
        {
            use std::os::unix::fs::FileExt;
            let f = std::fs::OpenOptions::new()
                .write(true)
                .open(DirBackend::path(dirs[0].path(), 2, "pages"))
                .unwrap();
            let header_region = (slots as usize * SLOT_HEADER).div_ceil(PAGE_SIZE) * PAGE_SIZE;
            let at = header_region as u64 + (slots - 1) * PAGE_SIZE as u64 + 50;
            f.write_all_at(&[0xEE], at).unwrap();
        }
        let rep = s1.scrub().unwrap();
        assert_eq!((rep.pages_checked, rep.bad_pages), (3, 1));
        // A snapshot of the healthy replica carries all three pages and heals it.
        let snap = s2.snapshot().unwrap();
        s1.install(snap).unwrap();
        assert!(!s1.status().damaged);
        for p in used {
            let page = 2 * SLOTS + p;
            assert_eq!(s1.read_page(page, 30).unwrap(), model(&all, page, 30));
        }
        let rep = s1.scrub().unwrap();
        assert_eq!((rep.pages_checked, rep.bad_pages), (3, 0));
    }

    #[test]
    fn corrupt_page_is_detected_and_rebuilt_from_snapshot() {
        let b1 = MemBackend::new();
        let b2 = MemBackend::new();
        let (s1, s2) = (open(&b1), open(&b2));
        let mut all = Vec::new();
        let mut prev = 0;
        for lsn in 1..=40 {
            all.push(rec(lsn, prev, lsn % 3, lsn as u8));
            prev = lsn;
        }
        for s in [&s1, &s2] {
            s.append(Some(1), &[], all.clone(), 40).unwrap();
            s.set_limits(40, Some(30));
            while s.materialize(100).unwrap() > 0 {}
            s.checkpoint(true).unwrap();
        }
        // Flip a bit in page slot 1 of replica 1.
        let f = b1.files(2).unwrap();
        f.pages.lock().get_mut(&1).unwrap().1[77] ^= 4;
        let page = 2 * SLOTS + 1;
        assert!(matches!(s1.read_page(page, 40), Err(Error::Corrupted(_))));
        assert!(s1.status().damaged);
        let rep = s1.scrub().unwrap();
        assert_eq!(rep.bad_pages, 1);
        assert!(s1.snapshot().is_err(), "a damaged replica is no source");
        s1.install(s2.snapshot().unwrap()).unwrap();
        assert!(!s1.status().damaged);
        for p in 0..3 {
            let page = 2 * SLOTS + p;
            assert_eq!(s1.read_page(page, 40).unwrap(), model(&all, page, 40));
        }
        assert_eq!(s1.status().scl, 40);
    }

    #[test]
    fn chunked_snapshot_pins_materialization() {
        let (b1, b2) = (MemBackend::new(), MemBackend::new());
        let (src, dst) = (open(&b1), open(&b2));
        let mut all = Vec::new();
        let mut prev = 0;
        for lsn in 1..=60 {
            all.push(rec(lsn, prev, lsn % 7, lsn as u8));
            prev = lsn;
        }
        src.append(Some(1), &[], all[..40].to_vec(), 40).unwrap();
        src.set_limits(40, Some(30));
        while src.materialize(100).unwrap() > 0 {}
        let head = src.snapshot_begin().unwrap();
        assert_eq!(head.applied, 30);
        // While pinned, newer records arrive but nothing is folded into the slots.
        src.append(Some(1), &[], all[40..].to_vec(), 60).unwrap();
        src.set_limits(60, None);
        assert_eq!(src.materialize(100).unwrap(), 0);
        dst.install_begin(&head).unwrap();
        let mut from = 0;
        while from < src.slots() {
            let (pages, next) = src.snapshot_pages(from, 2).unwrap();
            assert!(pages.len() <= 2 && next > from);
            dst.install_pages(from, next, pages).unwrap();
            from = next;
        }
        dst.install_end(head).unwrap();
        src.snapshot_end();
        assert!(src.materialize(100).unwrap() > 0, "unpinned");
        // The copy has the pages up to 30 and records 31..=40; gossip brings the rest.
        assert_eq!(dst.status().scl, 40);
        dst.append(None, &[], all[40..].to_vec(), 0).unwrap();
        for p in 0..7 {
            let page = 2 * SLOTS + p;
            assert_eq!(dst.read_page(page, 60).unwrap(), model(&all, page, 60));
            assert_eq!(dst.read_page(page, 35).unwrap(), model(&all, page, 35));
        }
    }

    #[test]
    fn damaged_log_is_detected() {
        let b = MemBackend::new();
        let s = open(&b);
        let mut all = Vec::new();
        let mut prev = 0;
        for lsn in 1..=10 {
            all.push(rec(lsn, prev, 0, lsn as u8));
            prev = lsn;
        }
        s.append(Some(1), &[], all.clone(), 0).unwrap();
        let f = b.files(2).unwrap();
        let mid = f.log.lock().len() / 2;
        f.log.lock()[mid] ^= 1;
        // Scrub finds and rewrites it from memory.
        assert!(s.scrub().unwrap().log_repaired);
        assert!(!s.scrub().unwrap().log_repaired);
        // Damage again and restart instead: the replica keeps the valid prefix only.
        f.log.lock()[mid] ^= 1;
        drop(s);
        let s = open(&b);
        let scl = s.status().scl;
        assert!((1..10).contains(&scl), "scl {scl}");
        // Peers fill the rest.
        s.append(None, &[], all.clone(), 0).unwrap();
        assert_eq!(s.status().scl, 10);
    }

    fn dir_segment(b: &dyn Backend) -> Arc<Segment> {
        let files = b.open_segment(2, SLOTS).unwrap();
        Arc::new(Segment::open(2, 2 * SLOTS, files, SegmentOptions::default()).unwrap())
    }

    /// A lazy flush (with patience) of a range log makes no flush of its own when
    /// another anchor on the device flushes meanwhile, and is durable when it returns;
    /// alone, it flushes itself once its patience runs out.
    #[test]
    fn a_lazy_flush_shares_a_flush_made_meanwhile_or_makes_its_own() {
        use crate::flush::LogSync;
        use crate::io::DirBackend;
        use std::time::Duration;
        let d = tempfile::tempdir().unwrap();
        let mine = Arc::new(Anchor::at(&d.path().join("mine")).unwrap());
        let other = Arc::new(Anchor::beside(&d.path().join("other"), &mine).unwrap());
        let back =
            DirBackend::with_log_sync(d.path().join("n0"), LogSync::Range(mine.clone())).unwrap();
        let seg = dir_segment(&back);
        seg.append(Some(1), &[], [rec(1, 0, 0, 1)], 0).unwrap(); // the full first sync
        let (seq, _) = seg
            .append_deferred(Some(1), &[], [rec(2, 1, 1, 2)], 0)
            .unwrap();
        let before = mine.flushes();
        let o = other.clone();
        let commits = std::thread::spawn(move || {
            for _ in 0..200 {
                std::thread::sleep(Duration::from_millis(2));
                o.flush().unwrap();
            }
        });
        let items = [(seg.clone(), seq)];
        let r = Segment::flush_all_sharing(&items, Some(Duration::from_secs(30)));
        assert!(r[0].is_ok());
        assert_eq!(seg.status().scl, 2);
        assert_eq!(mine.flushes(), before, "served by the other anchor's flush");
        commits.join().unwrap();
        let (seq, _) = seg
            .append_deferred(Some(1), &[], [rec(3, 2, 0, 3)], 0)
            .unwrap();
        let items = [(seg.clone(), seq)];
        let r = Segment::flush_all_sharing(&items, Some(Duration::from_millis(5)));
        assert!(r[0].is_ok());
        assert_eq!(seg.status().scl, 3);
        assert_eq!(mine.flushes(), before + 1, "nobody else flushed: its own");
    }

    #[test]
    fn flush_all_syncs_every_log_with_one_flush_per_device() {
        use crate::flush::LogSync;
        use crate::io::DirBackend;
        let d = tempfile::tempdir().unwrap();
        // Two nodes with their own anchors on one file system, one plain fdatasync node.
        let anchors: Vec<Arc<Anchor>> = (0..2)
            .map(|i| Arc::new(Anchor::at(&d.path().join(format!("a{i}"))).unwrap()))
            .collect();
        let backs = [
            DirBackend::with_log_sync(d.path().join("n0"), LogSync::Range(anchors[0].clone())),
            DirBackend::with_log_sync(d.path().join("n1"), LogSync::Range(anchors[1].clone())),
            DirBackend::with_log_sync(d.path().join("n2"), LogSync::Fdatasync),
        ]
        .map(|b| b.unwrap());
        let segs: Vec<Arc<Segment>> = backs.iter().map(|b| dir_segment(b)).collect();
        // A log's first sync is a full fdatasync (it grows the file); later ones take
        // the range path where configured.
        for s in &segs {
            s.append(Some(1), &[], [rec(1, 0, 0, 1)], 0).unwrap();
        }
        let flushes = || anchors.iter().map(|a| a.flushes()).sum::<u64>();
        let before = flushes();
        let mut items = Vec::new();
        for s in &segs {
            let (seq, _) = s
                .append_deferred(Some(1), &[], [rec(2, 1, 1, 2), rec(3, 2, 0, 3)], 0)
                .unwrap();
            items.push((s.clone(), seq));
            assert_eq!(s.status().scl, 1, "queued is not durable");
        }
        assert!(Segment::flush_all(&items).iter().all(|r| r.is_ok()));
        for s in &segs {
            assert_eq!(s.status().scl, 3);
        }
        assert_eq!(
            flushes() - before,
            1,
            "two range logs on one device: one flush"
        );
        // Durable tickets need no more I/O.
        assert!(Segment::flush_all(&items).iter().all(|r| r.is_ok()));
        assert_eq!(flushes() - before, 1);
        drop((items, segs));
        for b in &backs {
            let s = dir_segment(b);
            assert_eq!(
                s.records_after(0, 10).unwrap().len(),
                3,
                "synced to the file"
            );
        }
    }

    #[test]
    fn flush_all_fails_only_the_segment_whose_log_failed() {
        let faults = Faults::new();
        let b = MemBackend::new();
        let bad = Arc::new(
            Segment::open(
                2,
                2 * SLOTS,
                Arc::new(FaultyFiles {
                    inner: b.open_segment(2, SLOTS).unwrap(),
                    faults: faults.clone(),
                }),
                SegmentOptions::default(),
            )
            .unwrap(),
        );
        let good = dir_segment(&MemBackend::new());
        let mut items = Vec::new();
        for s in [&bad, &good] {
            let (seq, _) = s
                .append_deferred(Some(1), &[], [rec(1, 0, 0, 1)], 0)
                .unwrap();
            items.push((s.clone(), seq));
        }
        faults.failing.store(true, Ordering::SeqCst);
        let r = Segment::flush_all(&items);
        assert!(r[0].is_err());
        assert!(r[1].is_ok());
        assert!(bad.failed());
        assert_eq!(
            bad.status().scl,
            0,
            "nothing acknowledged from the failed log"
        );
        assert_eq!(good.status().scl, 1);
        // The failed segment stays failed; waiters are not left behind a lead.
        assert!(bad.flush_to(items[0].1).is_err());
    }

    /// Threads flushing overlapping sets of segments, in opposite orders, while others
    /// append and flush one segment at a time: no deadlock, and every append is durable
    /// once its caller's flush returns.
    #[test]
    fn concurrent_flush_all_and_group_commits_make_everything_durable() {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64;
        println!("seed {seed}");
        let segs: Vec<Arc<Segment>> = (0..3).map(|_| dir_segment(&MemBackend::new())).collect();
        // Per segment: the next LSN and its predecessor, handed out under one lock so
        // each segment's records form one chain (appended in any order).
        let chains: Arc<Vec<Mutex<(Lsn, Lsn)>>> =
            Arc::new((0..3).map(|_| Mutex::new((1, 0))).collect());
        let hs: Vec<_> = (0..6u64)
            .map(|t| {
                let segs = segs.clone();
                let chains = chains.clone();
                std::thread::spawn(move || {
                    let mut x = seed ^ (t + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                    for _ in 0..300 {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        let mut items = Vec::new();
                        for k in 0..3 {
                            if (x >> k) & 1 == 0 && k != (x % 3) as usize {
                                continue;
                            }
                            let (lsn, prev) = {
                                let mut c = chains[k].lock();
                                let v = *c;
                                *c = (v.0 + 1, v.0);
                                v
                            };
                            let (seq, _) = segs[k]
                                .append_deferred(Some(1), &[], [rec(lsn, prev, lsn % SLOTS, 1)], 0)
                                .unwrap();
                            items.push((segs[k].clone(), seq));
                        }
                        if t % 2 == 1 {
                            items.reverse();
                        }
                        if t < 4 {
                            assert!(Segment::flush_all(&items).iter().all(|r| r.is_ok()));
                        } else {
                            for (s, seq) in &items {
                                s.flush_to(*seq).unwrap();
                            }
                        }
                        for (s, seq) in &items {
                            assert!(s.commit.lock().done >= *seq, "seed {seed}");
                        }
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        for (k, s) in segs.iter().enumerate() {
            let last = chains[k].lock().1;
            assert_eq!(s.status().scl, last, "seed {seed}");
            assert!(!s.commit.lock().leader);
        }
    }
}
