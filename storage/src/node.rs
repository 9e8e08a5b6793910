//! A storage node and the in-process network between nodes and writers.
//!
//! A [`Node`] hosts one segment replica per protection group it has seen. It has two
//! threads: the request thread drains its inbox and appends everything queued for a
//! segment with one group commit before acknowledging (acks carry the segment's SCL),
//! and the background thread materializes pages, compacts logs, gossips with peers to
//! fill gaps (records, or a whole snapshot when a peer already folded them into pages),
//! rebuilds damaged replicas and scrubs.
//!
//! A node whose backend needs no device flush (memory, or fsync off) can instead be
//! appended to on the caller's thread ([`Node::append_now`]); the writer's volume does
//! that, batched, rather than waking the request thread per append.
//!
//! [`Net`] is the in-process transport: it delivers a call only if the target node is
//! up and the link is not cut (partitions), so tests can stop, crash, restart and
//! isolate nodes. Reads and control calls are synchronous; appends are queued.
//!
//! An append marked lazy ([`AppendMsg::sync`] false: this replica is outside the write
//! quorum the writer waits for) is held: the request thread sleeps out
//! [`NodeOptions::lazy_flush`] instead of waking per message, then flushes everything
//! it holds with one fsync per segment and acknowledges it; a sync append ends the sleep.
//!
//! Invariants: a node acknowledges a record only after it is durable in its log; a
//! crashed node loses its in-memory state (held lazy appends included) and reopens its
//! segments from its backend.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam::channel::{unbounded, Receiver, RecvTimeoutError, Sender};
use parking_lot::{Mutex, RwLock};

use crate::io::Backend;
use crate::quorum::NodeId;
use crate::record::Record;
use crate::segment::{
    FollowBatch, ScrubReport, SegStatus, Segment, SegmentOptions, SlotImage, Snapshot, Trunc,
};
use crate::transport::{Peer, PeerSet, Transport};
use crate::{zero_page, Error, Lsn, PageBuf, PageNo, Result};

/// The writer's endpoint id on the in-process network.
pub const WRITER: NodeId = usize::MAX;

/// Most records handed to a gossiping peer per call.
const GOSSIP_BATCH: usize = 4096;
/// A database instance registered here (a read replica following this node, or a
/// writer announcing itself) is forgotten, with its read floor, after this long
/// without a heartbeat: a dead replica must not hold the log forever.
pub const INSTANCE_TTL: Duration = Duration::from_secs(10);

/// An instance registered with [`Node::hello`].
struct Registered {
    floor: Option<Lsn>,
    seen: Instant,
    info: Vec<u8>,
}

/// Where a node sends acknowledgements.
pub trait AckSink: Send + Sync {
    fn ack(&self, node: NodeId, pg: u64, res: Result<Lsn>);
}

/// One append request: records of one PG, from the writer.
pub struct AppendMsg {
    pub pg: u64,
    pub epoch: u64,
    pub truncs: Arc<Vec<Trunc>>,
    pub recs: Vec<Arc<Record>>,
    pub vdl: Lsn,
    /// Oldest read point any instance uses (None: nobody reads below VDL).
    pub floor: Option<Lsn>,
    pub sink: Arc<dyn AckSink>,
    /// Flush and acknowledge at once. False: this replica is outside the write quorum
    /// the writer is waiting for, so it may hold the records unflushed (and unacked) for
    /// up to [`NodeOptions::lazy_flush`] and make many appends durable with one fsync.
    pub sync: bool,
}

/// Appends of one PG made but not yet flushed (lazy messages).
struct Deferred {
    seg: Arc<Segment>,
    /// The group-commit ticket to flush up to.
    seq: u64,
    sinks: Vec<Arc<dyn AckSink>>,
}

/// Static configuration of a node.
#[derive(Clone)]
pub struct NodeOptions {
    pub pages_per_pg: u64,
    pub seg: SegmentOptions,
    /// Background work period.
    pub tick: Duration,
    /// Full scrub period (None: only on demand).
    pub scrub_every: Option<Duration>,
    /// Longest a replica holds appends that did not ask for a flush (see
    /// [`AppendMsg::sync`]) before flushing and acknowledging them.
    pub lazy_flush: Duration,
}

/// Default of [`NodeOptions::lazy_flush`]: short next to a commit's patience, long next
/// to the time between commits under load, so one fsync covers many of them.
pub const DEFAULT_LAZY_FLUSH: Duration = Duration::from_millis(5);

/// How long a lazy flush waits for a commit's device flush to make its writes durable
/// before flushing itself (see [`Segment::flush_all_sharing`]): under load commits flush
/// far more often than this; idle, lazy acknowledgements come this much later.
const SHARE_PATIENCE: Duration = Duration::from_millis(1);

/// A storage node.
pub struct Node {
    pub id: NodeId,
    pub az: u8,
    backend: Arc<dyn Backend>,
    opts: NodeOptions,
    segs: RwLock<HashMap<u64, Arc<Segment>>>,
    up: AtomicBool,
    /// Bumped by every crash: deferred appends made before one belong to segments the
    /// crash discarded and must not be flushed.
    crashes: AtomicU64,
    /// The request thread is sleeping out a lazy interval; `wake` cuts the sleep short
    /// (a message that asks for a flush, or shutdown).
    holding: AtomicBool,
    wake: AtomicBool,
    request_thread: std::sync::OnceLock<std::thread::Thread>,
    stop: AtomicBool,
    /// Taken (dropped) by shutdown, which ends the request thread's wait at once.
    inbox: RwLock<Option<Sender<AppendMsg>>>,
    /// Messages put in the inbox whose records are not in their segments yet: while
    /// any are, appends made on callers' threads would overtake them (see
    /// [`Net::append_inline_all`]).
    queued: AtomicU64,
    peers: Weak<dyn PeerSet>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    /// Background passes completed (tests wait on progress).
    pub passes: AtomicU64,
    scrub_requested: AtomicBool,
    last_scrub: Mutex<Option<ScrubReport>>,
    /// Instances that registered here (see [`Node::hello`]).
    instances: Mutex<HashMap<u64, Registered>>,
}

impl Node {
    /// Start a node on `backend`, opening the segments it already has.
    pub fn start(
        id: NodeId,
        az: u8,
        backend: Arc<dyn Backend>,
        opts: NodeOptions,
        peers: Weak<dyn PeerSet>,
    ) -> Result<Arc<Node>> {
        let (tx, rx) = unbounded();
        let node = Arc::new(Node {
            id,
            az,
            backend,
            opts,
            segs: RwLock::new(HashMap::new()),
            up: AtomicBool::new(true),
            crashes: AtomicU64::new(0),
            holding: AtomicBool::new(false),
            wake: AtomicBool::new(false),
            request_thread: std::sync::OnceLock::new(),
            stop: AtomicBool::new(false),
            inbox: RwLock::new(Some(tx)),
            queued: AtomicU64::new(0),
            peers,
            threads: Mutex::new(Vec::new()),
            passes: AtomicU64::new(0),
            scrub_requested: AtomicBool::new(false),
            last_scrub: Mutex::new(None),
            instances: Mutex::new(HashMap::new()),
        });
        node.load()?;
        let n1 = node.clone();
        let n2 = node.clone();
        let h1 = std::thread::Builder::new()
            .name(format!("node{id}-req"))
            .spawn(move || n1.request_loop(rx))?;
        let h2 = std::thread::Builder::new()
            .name(format!("node{id}-bg"))
            .spawn(move || n2.background_loop())?;
        node.threads.lock().extend([h1, h2]);
        Ok(node)
    }

    /// Open every segment on the backend. One whose metadata is unreadable restarts
    /// empty and damaged: the background thread rebuilds it from a peer.
    fn load(&self) -> Result<()> {
        let mut segs = HashMap::new();
        for pg in self.backend.list_segments()? {
            let s = match self.open_segment(pg) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(node = self.id, pg, "segment unreadable ({e}); rebuilding");
                    let files = self.backend.open_segment(pg, self.opts.pages_per_pg)?;
                    files.replace_log(&[])?;
                    files.write_meta(&crate::segment::empty_meta())?;
                    let s = self.open_segment(pg)?;
                    s.mark_damaged();
                    s
                }
            };
            segs.insert(pg, s);
        }
        *self.segs.write() = segs;
        Ok(())
    }

    fn open_segment(&self, pg: u64) -> Result<Arc<Segment>> {
        let files = self.backend.open_segment(pg, self.opts.pages_per_pg)?;
        Ok(Arc::new(Segment::open(
            pg,
            pg * self.opts.pages_per_pg,
            files,
            self.opts.seg.clone(),
        )?))
    }

    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::SeqCst)
    }

    /// The replica of `pg`, if this node has one.
    pub fn segment(&self, pg: u64) -> Option<Arc<Segment>> {
        self.segs.read().get(&pg).cloned()
    }

    /// The replica of `pg`, created if missing. `complete`: the caller knows the PG has
    /// no history yet (its first record has no back-link, or the volume is new); a
    /// replica created for a PG with history starts damaged, so it counts for nothing
    /// (reads, recovery quorums) until a peer's snapshot has been installed.
    pub fn segment_or_create(&self, pg: u64, complete: bool) -> Result<Arc<Segment>> {
        if let Some(s) = self.segment(pg) {
            return Ok(s);
        }
        let mut w = self.segs.write();
        if let Some(s) = w.get(&pg) {
            return Ok(s.clone());
        }
        let s = self.open_segment(pg)?;
        if !complete {
            s.mark_damaged();
        }
        w.insert(pg, s.clone());
        Ok(s)
    }

    /// PGs this node has replicas of.
    pub fn pgs(&self) -> Vec<u64> {
        let mut v: Vec<u64> = self.segs.read().keys().copied().collect();
        v.sort_unstable();
        v
    }

    /// Stop answering (a network or power failure; state is kept).
    pub fn stop(&self) {
        self.up.store(false, Ordering::SeqCst);
    }

    /// Crash: stop and lose all in-memory state; only the backend's contents remain.
    pub fn crash(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.crashes.fetch_add(1, Ordering::SeqCst);
        self.segs.write().clear();
    }

    /// Come back: reopen segments from the backend (after a crash) and answer again.
    pub fn restart(&self) -> Result<()> {
        if self.segs.read().is_empty() {
            self.load()?;
        }
        self.up.store(true, Ordering::SeqCst);
        Ok(())
    }

    fn request_loop(self: Arc<Self>, rx: Receiver<AppendMsg>) {
        let _ = self.request_thread.set(std::thread::current());
        let mut deferred: HashMap<u64, Deferred> = HashMap::new();
        // When the oldest deferred append must be flushed, and the crash count then.
        let mut flush_at: Option<(Instant, u64)> = None;
        while !self.stop.load(Ordering::SeqCst) {
            let first = match flush_at {
                // Holding lazy appends: sleep out the interval rather than wake for
                // every message (the wake-ups are most of what laziness saves); a
                // message asking for a flush ends the sleep (see `enqueue`).
                Some((at, _)) => {
                    self.holding.store(true, Ordering::SeqCst);
                    loop {
                        let now = Instant::now();
                        if now >= at
                            || self.wake.swap(false, Ordering::SeqCst)
                            || self.stop.load(Ordering::SeqCst)
                        {
                            break;
                        }
                        std::thread::park_timeout(at - now);
                    }
                    self.holding.store(false, Ordering::SeqCst);
                    rx.try_recv().ok()
                }
                None => match rx.recv_timeout(Duration::from_millis(10)) {
                    Ok(m) => Some(m),
                    Err(RecvTimeoutError::Timeout) => continue,
                    Err(RecvTimeoutError::Disconnected) => break,
                },
            };
            // Batch everything queued: one group commit per segment.
            let mut batch: Vec<AppendMsg> = first.into_iter().collect();
            while let Ok(m) = rx.try_recv() {
                batch.push(m);
            }
            let taken = batch.len() as u64;
            let crashes = self.crashes.load(Ordering::SeqCst);
            if !self.is_up() || flush_at.is_some_and(|(_, c)| c != crashes) {
                // A down node loses what was in flight to it, deferred appends included.
                deferred.clear();
                flush_at = None;
                if !self.is_up() {
                    self.queued.fetch_sub(taken, Ordering::SeqCst);
                    continue;
                }
            }
            let any_sync = batch.iter().any(|m| m.sync);
            let flush_now = flush_at.is_some() || any_sync;
            self.append_batch(batch, &mut deferred);
            self.queued.fetch_sub(taken, Ordering::SeqCst);
            if flush_now {
                self.flush_deferred(&mut deferred, !any_sync);
                flush_at = None;
            } else if !deferred.is_empty() && flush_at.is_none() {
                flush_at = Some((Instant::now() + self.opts.lazy_flush, crashes));
            }
        }
        if self.is_up() {
            self.flush_deferred(&mut deferred, false);
        }
    }

    /// Append a batch of messages, per PG in one go, without flushing: the appends join
    /// `deferred` (errors are answered at once).
    fn append_batch(&self, batch: Vec<AppendMsg>, deferred: &mut HashMap<u64, Deferred>) {
        let mut by_pg: HashMap<u64, Vec<AppendMsg>> = HashMap::new();
        for m in batch {
            by_pg.entry(m.pg).or_default().push(m);
        }
        for (pg, msgs) in by_pg {
            let epoch = msgs.iter().map(|m| m.epoch).max().unwrap_or(0);
            let vdl = msgs.iter().map(|m| m.vdl).max().unwrap_or(0);
            // The newest message carries the current read floor.
            let floor = msgs.last().and_then(|m| m.floor);
            let truncs = msgs
                .iter()
                .max_by_key(|m| m.truncs.len())
                .map(|m| m.truncs.clone())
                .unwrap_or_default();
            // Messages of an older epoch than others in the batch fail on their own.
            let (cur, old): (Vec<_>, Vec<_>) = msgs.into_iter().partition(|m| m.epoch == epoch);
            for m in old {
                let r = self
                    .segment_or_create(pg, false)
                    .and_then(|s| s.append(Some(m.epoch), &m.truncs, Vec::<Record>::new(), 0));
                self.reply(&m.sink, pg, r);
            }
            let recs: Vec<Arc<Record>> = cur.iter().flat_map(|m| m.recs.iter().cloned()).collect();
            let complete = recs
                .iter()
                .min_by_key(|r| r.lsn)
                .is_some_and(|r| r.prev_lsn == 0);
            let r = self.segment_or_create(pg, complete).and_then(|s| {
                // Limits first: the VDL must never run ahead of the read floor.
                if epoch >= s.status().epoch {
                    s.set_limits(vdl, floor);
                }
                let (seq, _) = s.append_deferred(Some(epoch), &truncs, recs, vdl)?;
                Ok((s, seq))
            });
            match r {
                Ok((seg, seq)) => {
                    let d = deferred.entry(pg).or_insert_with(|| Deferred {
                        seg: seg.clone(),
                        seq,
                        sinks: Vec::new(),
                    });
                    if !Arc::ptr_eq(&d.seg, &seg) {
                        // The segment was reopened (after an I/O error): the old one's
                        // appends are void; wait on the new one only.
                        *d = Deferred {
                            seg,
                            seq,
                            sinks: Vec::new(),
                        };
                    }
                    d.seq = d.seq.max(seq);
                    for m in cur {
                        if !d.sinks.iter().any(|s| Arc::ptr_eq(s, &m.sink)) {
                            d.sinks.push(m.sink);
                        }
                    }
                }
                Err(e) => {
                    let mut sinks: Vec<&Arc<dyn AckSink>> = Vec::new();
                    for m in &cur {
                        if !sinks.iter().any(|s| Arc::ptr_eq(s, &m.sink)) {
                            sinks.push(&m.sink);
                        }
                    }
                    for s in sinks {
                        self.reply(s, pg, Err(copy_err(&e)));
                    }
                }
            }
        }
    }

    /// Flush every deferred append (one fsync per segment) and acknowledge it.
    fn flush_deferred(&self, deferred: &mut HashMap<u64, Deferred>, lazy: bool) {
        let all: Vec<(u64, Deferred)> = deferred.drain().collect();
        let items: Vec<(Arc<Segment>, u64)> =
            all.iter().map(|(_, d)| (d.seg.clone(), d.seq)).collect();
        // Only lazy appends: a commit's device flush may serve them.
        let patience = lazy.then_some(SHARE_PATIENCE);
        let results = Segment::flush_all_sharing(&items, patience);
        for ((pg, d), r) in all.into_iter().zip(results) {
            // The flushed SCL as the segment reports it now, not `d.scl`: a recovery may
            // have truncated (voided) records since they were appended.
            let r = r.map(|()| d.seg.status().scl);
            for s in &d.sinks {
                let r = match &r {
                    Ok(l) => Ok(*l),
                    Err(e) => Err(copy_err(e)),
                };
                self.reply(s, pg, r);
            }
        }
    }

    fn reply(&self, sink: &Arc<dyn AckSink>, pg: u64, r: Result<Lsn>) {
        let Some(peers) = self.peers.upgrade() else {
            return;
        };
        if self.is_up() && peers.writer_linked(self.id) {
            sink.ack(self.id, pg, r);
        }
    }

    /// Queue an append (the transport checked reachability).
    pub fn enqueue(&self, m: AppendMsg) {
        let sync = m.sync;
        // `wake` before the message and `holding` after it (both SeqCst, as on the
        // request thread's side): either the sleeper sees `wake`, or we see it holding
        // and unpark it; a sync message never waits out a lazy interval.
        if sync {
            self.wake.store(true, Ordering::SeqCst);
        }
        if let Some(tx) = &*self.inbox.read() {
            self.queued.fetch_add(1, Ordering::SeqCst);
            if tx.send(m).is_err() {
                self.queued.fetch_sub(1, Ordering::SeqCst);
            }
        }
        if sync && self.holding.load(Ordering::SeqCst) {
            self.unpark_request_thread();
        }
    }

    /// Whether an append here waits for a device flush (else [`Node::append_now`] may
    /// make it on the caller's thread).
    pub fn flushes(&self) -> bool {
        self.backend.flushes()
    }

    /// Make one append on the caller's thread, as the request thread would (limits,
    /// append, flush), and return the SCL it would acknowledge. For nodes that need no
    /// device flush: the work is a few memory copies, cheaper than waking a thread.
    pub fn append_now(&self, m: AppendMsg) -> Result<Lsn> {
        let crashes = self.crashes.load(Ordering::SeqCst);
        let (s, seq) = self.append_unflushed(m)?;
        s.flush_to(seq)?;
        self.scl_since(crashes, &s)
    }

    /// The SCL to acknowledge for an append made on a caller's thread into `s`, which
    /// began when the node had crashed `crashes` times. A crash meanwhile may have
    /// discarded the segment (a restarted node reopens its files without it): such an
    /// SCL must not count for a quorum.
    fn scl_since(&self, crashes: u64, s: &Segment) -> Result<Lsn> {
        if !self.is_up() || self.crashes.load(Ordering::SeqCst) != crashes {
            return Err(Error::Unavailable(format!("node {} crashed", self.id)));
        }
        Ok(s.status().scl)
    }

    /// The records of `m` in their segment, queued for its log but not flushed: the
    /// segment and the group-commit ticket that makes them durable.
    fn append_unflushed(&self, m: AppendMsg) -> Result<(Arc<Segment>, u64)> {
        let complete = m
            .recs
            .iter()
            .min_by_key(|r| r.lsn)
            .is_some_and(|r| r.prev_lsn == 0);
        let s = self.segment_or_create(m.pg, complete)?;
        // Limits first: the VDL must never run ahead of the read floor.
        if m.epoch >= s.status().epoch {
            s.set_limits(m.vdl, m.floor);
        }
        let (seq, _) = s.append_deferred(Some(m.epoch), &m.truncs, m.recs, m.vdl)?;
        Ok((s, seq))
    }

    /// Whether a sync append may be made here on the caller's thread with its device
    /// flush shared ([`Net::append_inline_all`]): the node's log syncs end with a
    /// shareable flush and nothing in its inbox would be overtaken.
    fn shares_flush_now(&self) -> bool {
        self.backend.flush_shareable() && self.queued.load(Ordering::SeqCst) == 0
    }

    fn unpark_request_thread(&self) {
        if let Some(t) = self.request_thread.get() {
            t.unpark();
        }
    }

    // ----------------------------------------------------------------------------------
    // Background.

    fn background_loop(self: Arc<Self>) {
        let mut last_scrub = Instant::now();
        while !self.stop.load(Ordering::SeqCst) {
            // Woken early only by shutdown (an early pass would be harmless anyway).
            std::thread::park_timeout(self.opts.tick);
            if self.stop.load(Ordering::SeqCst) {
                break;
            }
            if !self.is_up() {
                continue;
            }
            let scrub_due = self.scrub_requested.swap(false, Ordering::SeqCst)
                || self
                    .opts
                    .scrub_every
                    .is_some_and(|d| last_scrub.elapsed() >= d);
            if scrub_due {
                last_scrub = Instant::now();
                self.scrub_all();
            }
            // Full peer comparison now and then; every pass only where a gap is known.
            let pass = self.passes.load(Ordering::SeqCst);
            let full = pass.is_multiple_of(16);
            if full {
                self.discover();
            }
            self.push_follower_floor();
            let segs: Vec<Arc<Segment>> = self.segs.read().values().cloned().collect();
            for s in segs {
                if !self.is_up() {
                    break;
                }
                if s.failed() {
                    // An fsync error lost track of the files: reopen from them.
                    if let Ok(n) = self.open_segment(s.pg) {
                        self.segs.write().insert(s.pg, n);
                    }
                    continue;
                }
                let _ = s.materialize_due();
                let _ = s.checkpoint(false);
                let st = s.status();
                if full || st.damaged || st.max_lsn > s.held_scl() {
                    self.gossip(&s);
                }
            }
            self.passes.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Create replicas of PGs peers have and this node lacks (a wiped or new node).
    fn discover(&self) {
        let Some(peers) = self.peers.upgrade() else {
            return;
        };
        let mine: HashSet<u64> = self.pgs().into_iter().collect();
        let mut missing = HashSet::new();
        for p in peers.peers_of(self.id) {
            for pg in p.peer_pgs().unwrap_or_default() {
                if !mine.contains(&pg) {
                    missing.insert(pg);
                }
            }
        }
        for pg in missing {
            let _ = self.segment_or_create(pg, false);
        }
    }

    /// Fill gaps of `s` from a peer: newer epoch first, then records, or a snapshot when
    /// the peer has folded the needed records into pages; also rebuild if damaged.
    fn gossip(&self, s: &Arc<Segment>) {
        let Some(set) = self.peers.upgrade() else {
            return;
        };
        let me = s.status();
        let peers: Vec<(Arc<dyn Peer>, SegStatus)> = set
            .peers_of(self.id)
            .into_iter()
            .filter_map(|p| {
                let st = p.peer_status(s.pg).ok()??;
                Some((p, st))
            })
            .filter(|(_, st)| !st.damaged)
            .collect();
        for (p, st) in &peers {
            if st.epoch > me.epoch {
                if let Ok((e, t)) = p.peer_epoch(s.pg) {
                    let _ = s.adopt(e, &t);
                }
            }
        }
        if me.damaged {
            // Rebuild from the most complete healthy peer.
            if let Some((p, _)) = peers.iter().max_by_key(|(_, st)| st.scl) {
                match rebuild_from(s, &**p) {
                    Ok(()) => tracing::info!(node = self.id, pg = s.pg, "rebuilt from peer"),
                    Err(e) => tracing::warn!(node = self.id, pg = s.pg, "rebuild failed: {e}"),
                }
            }
            return;
        }
        // Records held but not yet flushed (a lazy append) are not fetched again.
        let held = s.held_scl();
        let best = peers
            .iter()
            .filter(|(_, st)| st.max_lsn > held)
            .max_by_key(|(_, st)| st.scl);
        let Some((p, _)) = best else {
            return;
        };
        match p.peer_records_after(s.pg, held, GOSSIP_BATCH) {
            Ok(Some(recs)) => {
                if !recs.is_empty() {
                    if let Ok((e, t)) = p.peer_epoch(s.pg) {
                        let _ = s.adopt(e, &t);
                        let _ = s.append(None, &t, recs, 0);
                    }
                }
            }
            Ok(None) => {
                if let Err(e) = rebuild_from(s, &**p) {
                    tracing::warn!(node = self.id, pg = s.pg, "rebuild failed: {e}");
                }
            }
            Err(_) => {}
        }
    }

    fn scrub_all(&self) {
        let segs: Vec<Arc<Segment>> = self.segs.read().values().cloned().collect();
        let mut total = ScrubReport::default();
        for s in segs {
            if let Ok(r) = s.scrub() {
                total.pages_checked += r.pages_checked;
                total.bad_pages += r.bad_pages;
                total.log_repaired |= r.log_repaired;
            }
        }
        *self.last_scrub.lock() = Some(total);
    }

    /// Ask the background thread for a full scrub.
    pub fn request_scrub(&self) {
        *self.last_scrub.lock() = None;
        self.scrub_requested.store(true, Ordering::SeqCst);
    }

    /// The result of the last scrub since [`Node::request_scrub`].
    pub fn last_scrub(&self) -> Option<ScrubReport> {
        *self.last_scrub.lock()
    }

    /// Stop the threads (at shutdown).
    pub fn shutdown(&self) {
        self.begin_shutdown();
        self.join_threads();
    }

    /// Tell both threads to stop, waking them from any wait (so that stopping many
    /// nodes takes one wake-up, not one tick per node).
    fn begin_shutdown(&self) {
        self.stop.store(true, Ordering::SeqCst);
        self.unpark_request_thread();
        // The request thread's receive ends with Disconnected.
        self.inbox.write().take();
        for h in self.threads.lock().iter() {
            // The background thread sleeps with park_timeout.
            h.thread().unpark();
        }
    }

    fn join_threads(&self) {
        let hs: Vec<JoinHandle<()>> = self.threads.lock().drain(..).collect();
        for h in hs {
            // The last handle on a volume may be dropped on one of our own threads (an
            // ack upgrading a weak reference); that thread ends by itself.
            if h.thread().id() != std::thread::current().id() {
                let _ = h.join();
            }
        }
    }

    // ----------------------------------------------------------------------------------
    // Synchronous calls (through Net).

    /// Serve a read if this replica is complete up to `need` and healthy.
    pub fn read_page(&self, pg: u64, page: PageNo, at: Lsn, need: Lsn) -> Result<PageBuf> {
        match self.segment(pg) {
            None if need == 0 => Ok(zero_page()),
            None => Err(Error::Unavailable(format!(
                "node {} has no pg {pg}",
                self.id
            ))),
            Some(s) => {
                let st = s.status();
                if st.scl < need || st.damaged {
                    return Err(Error::Unavailable(format!(
                        "node {} pg {pg}: scl {} < {need}",
                        self.id, st.scl
                    )));
                }
                s.read_page(page, at)
            }
        }
    }
}

impl Node {
    fn seg_or_unavailable(&self, pg: u64) -> Result<Arc<Segment>> {
        self.segment(pg)
            .ok_or_else(|| Error::Unavailable(format!("node {} lacks pg {pg}", self.id)))
    }

    /// Register (or refresh) database instance `instance`: its oldest read point (held
    /// back from materialization and log GC on every segment here, for
    /// [`INSTANCE_TTL`]) and an opaque description other instances can list.
    pub fn hello(&self, instance: u64, floor: Option<Lsn>, info: Vec<u8>) {
        self.instances.lock().insert(
            instance,
            Registered {
                floor,
                seen: Instant::now(),
                info,
            },
        );
        self.push_follower_floor();
    }

    /// Registered instances: (id, milliseconds since its last heartbeat, description).
    pub fn instances(&self) -> Vec<(u64, u64, Vec<u8>)> {
        let mut v: Vec<(u64, u64, Vec<u8>)> = self
            .instances
            .lock()
            .iter()
            .filter(|(_, r)| r.seen.elapsed() < INSTANCE_TTL)
            .map(|(&id, r)| (id, r.seen.elapsed().as_millis() as u64, r.info.clone()))
            .collect();
        v.sort_unstable_by_key(|e| e.0);
        v
    }

    /// Expire silent instances and hand the oldest live read point to every segment.
    fn push_follower_floor(&self) {
        let floor = {
            let mut reg = self.instances.lock();
            reg.retain(|_, r| r.seen.elapsed() < INSTANCE_TTL);
            reg.values().filter_map(|r| r.floor).min()
        };
        for s in self.segs.read().values() {
            s.set_follower_floor(floor);
        }
    }

    /// A read replica following `pg` from this node (see [`Segment::follow`]).
    pub fn follow(&self, pg: u64, from: Lsn, max: usize) -> Result<FollowBatch> {
        if !self.is_up() {
            return Err(Error::Unavailable(format!("node {} is down", self.id)));
        }
        Ok(self.seg_or_unavailable(pg)?.follow(from, max))
    }

    /// Status of the replica of `pg` (None: none here), learning the writer's limits.
    pub fn poll(&self, pg: u64, vdl: Lsn, floor: Option<Lsn>) -> Option<SegStatus> {
        self.segment(pg).map(|s| {
            s.set_limits(vdl, floor);
            s.status()
        })
    }

    /// Recovery: fence older writers on the replica of `pg` and report its state.
    pub fn adopt(
        &self,
        pg: u64,
        epoch: u64,
        truncs: &[Trunc],
        create: bool,
    ) -> Result<(SegStatus, Vec<Trunc>)> {
        let s = match create {
            true => self.segment_or_create(pg, true)?,
            false => self
                .segment(pg)
                .ok_or_else(|| Error::Unavailable(format!("node {} lacks pg {pg}", self.id)))?,
        };
        let st = s.adopt(epoch, truncs)?;
        Ok((st, s.epoch().1))
    }

    /// Recovery: the applied point of the replica of `pg` and its records above it.
    pub fn recovery_records(&self, pg: u64) -> Result<(Lsn, Vec<Arc<Record>>)> {
        let s = self
            .segment(pg)
            .ok_or_else(|| Error::Unavailable(format!("node {} lacks pg {pg}", self.id)))?;
        Ok(s.unapplied())
    }

    /// The highest record LSN <= `v` of `pg` held here.
    pub fn tail(&self, pg: u64, v: Lsn) -> Lsn {
        self.segment(pg).map_or(0, |s| s.tail_at_or_below(v))
    }

    /// Recovery: append synchronously.
    pub fn append_sync(
        &self,
        pg: u64,
        epoch: u64,
        truncs: &[Trunc],
        recs: Vec<Arc<Record>>,
        vdl: Lsn,
    ) -> Result<Lsn> {
        let complete = recs.first().is_some_and(|r| r.prev_lsn == 0);
        self.segment_or_create(pg, complete)?
            .append(Some(epoch), truncs, recs, vdl)
    }
}

/// Slots per snapshot chunk (4 MiB of pages).
const SNAPSHOT_CHUNK: usize = 256;

/// Replace replica `s` with a copy of `p`'s, chunk by chunk (a 10 GiB segment is never
/// held in memory at once).
fn rebuild_from(s: &Segment, p: &dyn Peer) -> Result<()> {
    let head = p.peer_snapshot_begin(s.pg)?;
    let res = (|| {
        s.install_begin(&head)?;
        let mut from = 0;
        while from < s.slots() {
            let (pages, next) = p.peer_snapshot_pages(s.pg, from, SNAPSHOT_CHUNK)?;
            if next <= from || next > s.slots() {
                return Err(Error::Corrupted(format!(
                    "snapshot chunk {from}..{next} makes no progress"
                )));
            }
            s.install_pages(from, next, pages)?;
            from = next;
        }
        s.install_end(head)
    })();
    let _ = p.peer_snapshot_end(s.pg);
    res
}

/// The in-process network: nodes by id, up/down and cut links.
#[derive(Default)]
pub struct Net {
    nodes: RwLock<HashMap<NodeId, Arc<Node>>>,
    cut: Mutex<HashSet<(NodeId, NodeId)>>,
}

/// An error for one more recipient (errors are not `Clone`): fencing keeps its epochs,
/// anything else reaches the writer as an I/O failure.
fn copy_err(e: &Error) -> Error {
    match e {
        Error::Fenced { ours, theirs } => Error::Fenced {
            ours: *ours,
            theirs: *theirs,
        },
        e => Error::Io(std::io::Error::other(e.to_string())),
    }
}

fn link(a: NodeId, b: NodeId) -> (NodeId, NodeId) {
    (a.min(b), a.max(b))
}

impl Net {
    pub fn new() -> Arc<Net> {
        Arc::new(Net::default())
    }

    pub fn add(&self, n: Arc<Node>) {
        self.nodes.write().insert(n.id, n);
    }

    pub fn node(&self, id: NodeId) -> Option<Arc<Node>> {
        self.nodes.read().get(&id).cloned()
    }

    pub fn all(&self) -> Vec<Arc<Node>> {
        let mut v: Vec<Arc<Node>> = self.nodes.read().values().cloned().collect();
        v.sort_by_key(|n| n.id);
        v
    }

    /// Cut (or heal) the link between two endpoints ([`WRITER`] is the writer).
    pub fn set_link(&self, a: NodeId, b: NodeId, up: bool) {
        let mut c = self.cut.lock();
        if up {
            c.remove(&link(a, b));
        } else {
            c.insert(link(a, b));
        }
    }

    /// Heal every cut link.
    pub fn heal_all(&self) {
        self.cut.lock().clear();
    }

    pub fn linked(&self, a: NodeId, b: NodeId) -> bool {
        !self.cut.lock().contains(&link(a, b))
    }

    /// `id` reachable from `from`.
    fn reach(&self, from: NodeId, id: NodeId) -> Result<Arc<Node>> {
        match self.node(id) {
            Some(n) if n.is_up() && self.linked(from, id) => Ok(n),
            _ => Err(Error::Unavailable(format!("node {id} unreachable"))),
        }
    }

    /// Up peers of `id` it can reach.
    fn reachable_peers(&self, id: NodeId) -> Vec<Arc<Node>> {
        self.all()
            .into_iter()
            .filter(|n| n.id != id && n.is_up() && self.linked(id, n.id))
            .collect()
    }

    /// Stop all node threads.
    pub fn shutdown(&self) {
        let all = self.all();
        for n in &all {
            n.begin_shutdown();
        }
        for n in &all {
            n.join_threads();
        }
        self.nodes.write().clear();
    }
}

impl Peer for Node {
    fn peer_id(&self) -> NodeId {
        self.id
    }
    fn peer_pgs(&self) -> Result<Vec<u64>> {
        Ok(self.pgs())
    }
    fn peer_status(&self, pg: u64) -> Result<Option<SegStatus>> {
        Ok(self.segment(pg).map(|s| s.status()))
    }
    fn peer_epoch(&self, pg: u64) -> Result<(u64, Vec<Trunc>)> {
        self.segment(pg)
            .map(|s| s.epoch())
            .ok_or_else(|| Error::Unavailable(format!("node {} lacks pg {pg}", self.id)))
    }
    fn peer_records_after(&self, pg: u64, from: Lsn, max: usize) -> Result<Option<Vec<Record>>> {
        let s = self
            .segment(pg)
            .ok_or_else(|| Error::Unavailable(format!("node {} lacks pg {pg}", self.id)))?;
        Ok(s.records_after(from, max))
    }
    fn peer_snapshot_begin(&self, pg: u64) -> Result<Snapshot> {
        self.seg_or_unavailable(pg)?.snapshot_begin()
    }
    fn peer_snapshot_pages(&self, pg: u64, from: u64, max: usize) -> Result<(Vec<SlotImage>, u64)> {
        self.seg_or_unavailable(pg)?.snapshot_pages(from, max)
    }
    fn peer_snapshot_end(&self, pg: u64) -> Result<()> {
        self.seg_or_unavailable(pg)?.snapshot_end();
        Ok(())
    }
}

impl PeerSet for Net {
    fn peers_of(&self, id: NodeId) -> Vec<Arc<dyn Peer>> {
        self.reachable_peers(id)
            .into_iter()
            .map(|n| n as Arc<dyn Peer>)
            .collect()
    }
    fn writer_linked(&self, id: NodeId) -> bool {
        self.linked(id, WRITER)
    }
}

impl Transport for Net {
    fn append(&self, node: NodeId, m: AppendMsg) {
        if let Ok(n) = self.reach(WRITER, node) {
            n.enqueue(m);
        }
    }

    fn local(&self, _node: NodeId) -> bool {
        // Every node of an in-process network is local; one that is gone or cut off is
        // found so by `append_inline` (the append is lost, as on a network).
        true
    }

    fn append_inline(&self, node: NodeId, m: AppendMsg) -> Option<Result<Lsn>> {
        let n = self.reach(WRITER, node).ok()?;
        if n.flushes() {
            n.enqueue(m);
            return None;
        }
        Some(n.append_now(m))
    }

    /// Sync appends to nodes whose log syncs end with a shareable device flush are made
    /// here, together ([`Segment::flush_all`]: every log written and its write-back
    /// started, then waited for, then one cache flush per device) instead of waking one
    /// request thread per replica that each flush on their own. Lazy appends, and those
    /// that would overtake a node's inbox, go to the inbox as before.
    fn append_inline_all(&self, msgs: Vec<(NodeId, AppendMsg)>) -> Vec<(NodeId, u64, Result<Lsn>)> {
        let mut out = Vec::new();
        let mut staged = Vec::new();
        let mut segs = Vec::new();
        for (node, m) in msgs {
            let Ok(n) = self.reach(WRITER, node) else {
                continue; // lost, as on a network
            };
            let pg = m.pg;
            if !n.flushes() {
                out.push((node, pg, n.append_now(m)));
            } else if !(m.sync && n.shares_flush_now()) {
                n.enqueue(m);
            } else {
                let crashes = n.crashes.load(Ordering::SeqCst);
                match n.append_unflushed(m) {
                    Ok((s, seq)) => {
                        staged.push((n, pg, crashes));
                        segs.push((s, seq));
                    }
                    Err(e) => out.push((node, pg, Err(e))),
                }
            }
        }
        let flushed = Segment::flush_all(&segs);
        for (((n, pg, crashes), (s, _)), r) in staged.into_iter().zip(&segs).zip(flushed) {
            out.push((n.id, pg, r.and_then(|()| n.scl_since(crashes, s))));
        }
        out
    }

    fn read_page(
        &self,
        node: NodeId,
        pg: u64,
        page: PageNo,
        at: Lsn,
        need: Lsn,
    ) -> Result<PageBuf> {
        self.reach(WRITER, node)?.read_page(pg, page, at, need)
    }

    fn poll(
        &self,
        node: NodeId,
        pg: u64,
        vdl: Lsn,
        floor: Option<Lsn>,
    ) -> Result<Option<SegStatus>> {
        Ok(self.reach(WRITER, node)?.poll(pg, vdl, floor))
    }

    fn pgs(&self, node: NodeId) -> Result<Vec<u64>> {
        Ok(self.reach(WRITER, node)?.pgs())
    }

    fn adopt(
        &self,
        node: NodeId,
        pg: u64,
        epoch: u64,
        truncs: &[Trunc],
        create: bool,
    ) -> Result<(SegStatus, Vec<Trunc>)> {
        self.reach(WRITER, node)?.adopt(pg, epoch, truncs, create)
    }

    fn recovery_records(&self, node: NodeId, pg: u64) -> Result<(Lsn, Vec<Arc<Record>>)> {
        self.reach(WRITER, node)?.recovery_records(pg)
    }

    fn tail(&self, node: NodeId, pg: u64, v: Lsn) -> Result<Lsn> {
        Ok(self.reach(WRITER, node)?.tail(pg, v))
    }

    fn append_sync(
        &self,
        node: NodeId,
        pg: u64,
        epoch: u64,
        truncs: &[Trunc],
        recs: Vec<Arc<Record>>,
        vdl: Lsn,
    ) -> Result<Lsn> {
        self.reach(WRITER, node)?
            .append_sync(pg, epoch, truncs, recs, vdl)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flush::{Anchor, LogSync};
    use crate::io::DirBackend;

    #[derive(Default)]
    struct Sink(Mutex<Vec<(NodeId, Result<Lsn>)>>);

    impl AckSink for Sink {
        fn ack(&self, node: NodeId, _pg: u64, res: Result<Lsn>) {
            self.0.lock().push((node, res));
        }
    }

    fn msg(lsn: Lsn, sync: bool, sink: &Arc<Sink>) -> AppendMsg {
        let mut payload = Vec::new();
        crate::redo::push_write(&mut payload, 0, &[lsn as u8]);
        AppendMsg {
            pg: 0,
            epoch: 1,
            truncs: Arc::new(Vec::new()),
            recs: vec![Arc::new(Record {
                lsn,
                epoch: 1,
                prev_lsn: lsn - 1,
                pg: 0,
                page: lsn % 8,
                mtr_end: true,
                payload,
            })],
            vdl: 0,
            floor: None,
            sink: sink.clone(),
            sync,
        }
    }

    /// Four nodes in one directory tree, each with its own anchor (one device), whose
    /// lazy interval never ends.
    fn range_nodes(d: &std::path::Path) -> (Arc<Net>, Vec<Arc<Node>>, Vec<Arc<Anchor>>) {
        let net = Net::new();
        let peers: Weak<dyn PeerSet> = Arc::downgrade(&(net.clone() as Arc<dyn PeerSet>));
        let mut nodes = Vec::new();
        let mut anchors = Vec::new();
        for i in 0..4 {
            let a = Arc::new(Anchor::at(&d.join(format!("anchor{i}"))).unwrap());
            let b = DirBackend::with_log_sync(d.join(format!("n{i}")), LogSync::Range(a.clone()));
            let opts = NodeOptions {
                pages_per_pg: 8,
                seg: SegmentOptions::default(),
                tick: Duration::from_millis(5),
                scrub_every: None,
                lazy_flush: Duration::from_secs(600),
            };
            let n = Node::start(i, i as u8 % 3, Arc::new(b.unwrap()), opts, peers.clone()).unwrap();
            net.add(n.clone());
            nodes.push(n);
            anchors.push(a);
        }
        (net, nodes, anchors)
    }

    fn sorted(mut r: Vec<(NodeId, u64, Result<Lsn>)>) -> Vec<(NodeId, Lsn)> {
        r.sort_by_key(|(n, _, _)| *n);
        r.into_iter().map(|(n, _, r)| (n, r.unwrap())).collect()
    }

    #[test]
    fn sync_appends_to_nodes_sharing_a_device_are_made_together_on_the_callers_thread() {
        let d = tempfile::tempdir().unwrap();
        let (net, _nodes, anchors) = range_nodes(d.path());
        let sink = Arc::new(Sink::default());
        let all = |lsn: Lsn| {
            (0..4)
                .map(|i| (i, msg(lsn, true, &sink)))
                .collect::<Vec<_>>()
        };
        // Made here, not by the request threads: every result comes back.
        let r = net.append_inline_all(all(1));
        assert_eq!(sorted(r), vec![(0, 1), (1, 1), (2, 1), (3, 1)]);
        let flushes = || anchors.iter().map(|a| a.flushes()).sum::<u64>();
        // The first syncs grew the logs (full fdatasyncs); now the range path: four logs,
        // one cache flush.
        let before = flushes();
        let r = net.append_inline_all(all(2));
        assert_eq!(sorted(r), vec![(0, 2), (1, 2), (2, 2), (3, 2)]);
        assert_eq!(flushes() - before, 1);
        assert!(
            sink.0.lock().is_empty(),
            "no acknowledgement went through a sink"
        );
        net.shutdown();
    }

    #[test]
    fn lazy_appends_and_those_that_would_overtake_the_inbox_go_to_the_inbox() {
        let d = tempfile::tempdir().unwrap();
        let (net, nodes, _anchors) = range_nodes(d.path());
        let sink = Arc::new(Sink::default());
        // Lazy: held by node 0's request thread (its interval never ends), unacknowledged.
        let r = net.append_inline_all(vec![(0, msg(1, false, &sink))]);
        assert!(r.is_empty());
        // Node 1 has a message in its inbox not yet appended (as if the request thread
        // had not taken it yet): a sync append must not overtake it.
        nodes[1].queued.fetch_add(1, Ordering::SeqCst);
        let r = net.append_inline_all(vec![(1, msg(1, true, &sink))]);
        assert!(r.is_empty());
        let until = Instant::now() + Duration::from_secs(20);
        while sink.0.lock().is_empty() {
            assert!(
                Instant::now() < until,
                "the request thread never acknowledged"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
        assert!(matches!(sink.0.lock()[..], [(1, Ok(1))]));
        nodes[1].queued.fetch_sub(1, Ordering::SeqCst);
        // Node 0 took its lazy message (its records are in the segment) but holds it.
        while nodes[0].queued.load(Ordering::SeqCst) > 0 {
            assert!(Instant::now() < until, "node 0 never took its message");
            std::thread::sleep(Duration::from_millis(2));
        }
        assert_eq!(
            nodes[0].segment(0).unwrap().status().scl,
            0,
            "lazy: not flushed"
        );
        net.shutdown();
    }
}
