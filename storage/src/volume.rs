//! The quorum volume: the writer's driver of a [`Cluster`], implementing [`Volume`].
//!
//! A commit, end to end:
//! 1. the engine calls [`Volume::append_mtr`]; [`LocalVolume`] checks the pages against
//!    the size cap (PG = page / pages_per_pg), waits while more than LAL records are
//!    in flight beyond VCL (back-pressure), allocates consecutive LSNs and back-links
//!    from its [`Tracker`] and queues the records, grouped per PG, to all six replicas
//!    through the [`Net`](crate::node::Net) (and to log subscribers);
//! 2. each [`Node`](crate::node::Node) appends them to its [`Segment`](crate::segment)
//!    with one group commit and acks its SCL;
//! 3. acks feed the tracker; when 4 of 6 hold every record up to an MTR end, VDL moves
//!    and [`Volume::wait_durable`] returns: the commit is acknowledged.
//!
//! A background ticker resends records a replica has not acked, polls replica SCLs (read
//! routing), pushes VDL and the oldest read point to replicas (how far they may
//! materialize) and finishes membership changes. Opening runs recovery
//! ([`crate::recovery`]): fence, establish VDL, truncate above it, no redo replay.
//!
//! Invariants: LSNs are dense (every LSN is one record); VDL never exceeds what a write
//! quorum of every PG holds; a fenced writer never acknowledges another commit.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam::channel::{unbounded, Receiver, Sender};
use parking_lot::{Condvar, Mutex};

use crate::cluster::{Cluster, ClusterOptions};
use crate::net::membership::{self, Member, Membership};
use crate::net::{AddrBook, TcpTransport};
use crate::node::{AckSink, AppendMsg, DEFAULT_LAZY_FLUSH};
use crate::quorum::{NodeId, Tracker, WRITE_QUORUM};
use crate::record::{Record, MAX_PAYLOAD};
use crate::segment::Trunc;
use crate::transport::Transport;
use crate::{
    zero_page, Error, LogEvent, LogRecord, Lsn, PageBuf, PageNo, PageWrite, Result, Volume,
    PAGE_SIZE,
};

/// Default page address space per protection group: 10 GiB.
pub const DEFAULT_SEGMENT_BYTES: u64 = 10 << 30;
/// Default volume size cap: 128 TiB.
pub const DEFAULT_MAX_BYTES: u64 = 128 << 40;

/// How to open a volume.
#[derive(Clone, Debug)]
pub struct VolumeConfig {
    /// Where nodes keep their files; None: in memory, no disk.
    pub dir: Option<PathBuf>,
    /// Page address space per PG (a multiple of PAGE_SIZE).
    pub segment_bytes: u64,
    /// Volume size cap; writing beyond it fails with `Error::VolumeFull`.
    pub max_bytes: u64,
    /// fsync logs and files (off: faster, survives process crashes but not power loss).
    pub fsync: bool,
    /// LSN allocation limit: most records in flight beyond VCL.
    pub lal: u64,
    /// How long a write may wait for a quorum (None: forever) before `QuorumLost`.
    pub write_timeout: Option<Duration>,
    /// How long opening may wait for a quorum of every PG.
    pub open_timeout: Duration,
    /// Node background period.
    pub tick: Duration,
    /// Full scrub period of every node.
    pub scrub_every: Option<Duration>,
    /// A replica compacts its log past this size.
    pub log_compact_bytes: u64,
    /// In-process nodes: a replica materializes held records at least this often (see
    /// [`crate::segment::SegmentOptions::materialize_every`]).
    pub materialize_every: Duration,
    /// Resend records a replica has not acked after this long.
    pub resend_after: Duration,
    /// Storage nodes in other processes (TCP); None: start six in-process nodes.
    /// The quorum set is the membership the nodes store (see
    /// [`crate::net::membership`]); for a new volume the book must name exactly six.
    pub nodes: Option<AddrBook>,
    /// In-process nodes only: the replicas outside the preferred write quorum (one
    /// per AZ beyond the first four, see `lazy_order`) may hold appends
    /// this long before one fsync makes them durable, instead of flushing each one.
    /// Commits still wait for four fsync'd copies; this only stops the two others
    /// from spending a flush on every commit. None: every replica flushes every append.
    pub lazy_replicas: Option<Duration>,
    /// In-process nodes: appends are queued in the writer and handed over, batched,
    /// when a thread waits for durability (or the LSN allocation limit, or the ticker).
    /// Nodes that need no device flush (in memory, or fsync off) have them made by that
    /// thread instead of waking each node's request thread per append (most of such a
    /// commit's cost); nodes that fsync get them in their inboxes then, so the commit
    /// lock (held while an MTR is appended) is never held across the wake-ups. False:
    /// every append goes to the request threads as it is made.
    pub inline_appends: bool,
}

impl Default for VolumeConfig {
    fn default() -> Self {
        Self {
            dir: None,
            segment_bytes: DEFAULT_SEGMENT_BYTES,
            max_bytes: DEFAULT_MAX_BYTES,
            fsync: true,
            lal: 1 << 16,
            write_timeout: Some(Duration::from_secs(60)),
            open_timeout: Duration::from_secs(30),
            tick: Duration::from_millis(10),
            scrub_every: Some(Duration::from_secs(300)),
            log_compact_bytes: 64 << 20,
            materialize_every: crate::segment::SegmentOptions::default().materialize_every,
            resend_after: Duration::from_millis(200),
            nodes: None,
            lazy_replicas: Some(DEFAULT_LAZY_FLUSH),
            inline_appends: true,
        }
    }
}

impl VolumeConfig {
    /// A durable volume in `dir`.
    pub fn on_disk(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: Some(dir.into()),
            ..Self::default()
        }
    }

    /// A volume without disk (tests, scratch databases).
    pub fn in_memory() -> Self {
        Self {
            fsync: false,
            ..Self::default()
        }
    }

    /// Pages per protection group.
    pub fn pages_per_pg(&self) -> u64 {
        self.segment_bytes / PAGE_SIZE as u64
    }

    /// Pages in the volume at the size cap.
    pub fn max_pages(&self) -> u64 {
        self.max_bytes / PAGE_SIZE as u64
    }

    /// Number of protection groups at the size cap (the last may be partial: 128 TiB is
    /// 13,107.2 PGs of 10 GiB).
    pub fn max_pgs(&self) -> u64 {
        self.max_pages().div_ceil(self.pages_per_pg())
    }

    fn validate(&self) -> Result<()> {
        if self.segment_bytes == 0 || !self.segment_bytes.is_multiple_of(PAGE_SIZE as u64) {
            return Err(Error::InvalidInput(format!(
                "segment_bytes {} is not a positive multiple of the page size",
                self.segment_bytes
            )));
        }
        if self.max_bytes < self.segment_bytes {
            return Err(Error::InvalidInput("max_bytes below segment_bytes".into()));
        }
        Ok(())
    }

    /// The options of the in-process cluster this configuration describes.
    pub fn cluster_options(&self) -> ClusterOptions {
        ClusterOptions {
            dir: self.dir.clone(),
            fsync: self.fsync,
            pages_per_pg: self.pages_per_pg(),
            log_compact_bytes: self.log_compact_bytes,
            materialize_every: self.materialize_every,
            tick: self.tick,
            scrub_every: self.scrub_every,
            lazy_flush: self.lazy_replicas.unwrap_or(DEFAULT_LAZY_FLUSH),
        }
    }
}

/// Members beyond the first four in AZ round-robin order (first of each AZ, then second
/// of each, ...): the ones that may flush lazily while the four span every AZ.
fn lazy_order(members: &[NodeId], az_of: impl Fn(NodeId) -> Option<u8>) -> Vec<NodeId> {
    let mut by_az: BTreeMap<u8, Vec<NodeId>> = BTreeMap::new();
    for &m in members {
        by_az
            .entry(az_of(m).unwrap_or(u8::MAX))
            .or_default()
            .push(m);
    }
    let mut order = Vec::with_capacity(members.len());
    for rank in 0..members.len() {
        for list in by_az.values() {
            if let Some(&m) = list.get(rank) {
                order.push(m);
            }
        }
    }
    order.split_off(WRITE_QUORUM.min(order.len()))
}

/// Whether the preferred lazy members of `pg` may flush lazily for the next append: no
/// once a member expected to flush at once has been below the PG's quorum
/// point (the fourth highest SCL) for longer than `patience` (down, partitioned or
/// slow): then every member flushes at once, so commits do not wait for a lazy interval
/// each until it is back. A moment below is normal (a lazy replica's flush can overtake
/// a member whose ack is on its way), hence the patience. `behind` remembers since when.
fn laziness_allowed(
    tr: &Tracker,
    behind: &mut HashMap<(u64, NodeId), Instant>,
    pg: u64,
    members: &[NodeId],
    pref: &[NodeId],
    now: Instant,
    patience: Duration,
) -> bool {
    if pref.is_empty() {
        return false;
    }
    let mut scls: Vec<Lsn> = members.iter().map(|&m| tr.scl(pg, m)).collect();
    scls.sort_unstable_by(|a, b| b.cmp(a));
    let Some(&floor) = scls.get(WRITE_QUORUM - 1) else {
        return false;
    };
    let mut degraded = false;
    for &m in members.iter().filter(|m| !pref.contains(m)) {
        if tr.scl(pg, m) >= floor {
            behind.remove(&(pg, m));
        } else {
            let since = *behind.entry((pg, m)).or_insert(now);
            degraded |= now.duration_since(since) >= patience;
        }
    }
    !degraded
}

/// The PG of a page, or `VolumeFull` if the page lies beyond the cap of `max_pages`.
pub fn pg_of(page: PageNo, pages_per_pg: u64, max_pages: u64) -> Result<u64> {
    if page >= max_pages {
        return Err(Error::VolumeFull { page });
    }
    Ok(page / pages_per_pg)
}

struct Replacing {
    old: NodeId,
    new: NodeId,
    tails: HashMap<u64, Lsn>,
    /// Over TCP: the membership to store on the nodes before the change is done.
    next: Option<Membership>,
}

struct WState {
    tr: Tracker,
    /// Records not yet below VCL, with when they were last sent.
    inflight: BTreeMap<Lsn, (Arc<Record>, Instant)>,
    fenced: Option<u64>,
    closed: bool,
    read_points: HashMap<u64, Lsn>,
    subs: Vec<Sender<LogEvent>>,
    replacing: Option<Replacing>,
    poll_cursor: usize,
    /// Poll rounds so far (over TCP, every [`MEMBERSHIP_ROUNDS`]th checks the members:
    /// see [`LocalVolume::membership_round`]).
    poll_rounds: u64,
    /// The members the lazy preference was worked out for, and that preference (see
    /// [`LocalVolume::lazy_preference`]).
    lazy_for: Vec<NodeId>,
    lazy_pref: Vec<NodeId>,
    /// Since when a member expected to flush at once has been below its PG's quorum
    /// point (see [`laziness_allowed`]).
    behind: HashMap<(u64, NodeId), Instant>,
}

/// Inline appends not made yet, in the order they were sent (LSN order per replica).
#[derive(Default)]
struct InlineQueue {
    queue: Vec<(NodeId, AppendMsg)>,
    /// A thread is making them (see [`LocalVolume::drain_inline`]).
    draining: bool,
}

/// Poll rounds between membership checks over TCP (about 1.3 s at the default tick).
const MEMBERSHIP_ROUNDS: u64 = 8;

/// Idle PGs polled per ticker round.
const POLL_SLICE: usize = 64;

/// The writer's handle on a quorum volume (and, through [`LocalVolume::follower`], a
/// replica's read-only one).
pub struct LocalVolume {
    /// The in-process nodes, when this volume started them (None over TCP).
    cluster: Option<Arc<Cluster>>,
    /// The storage-node processes, when opened over TCP (membership lives there).
    remote: Option<Arc<TcpTransport>>,
    net: Arc<dyn Transport>,
    cfg: VolumeConfig,
    epoch: u64,
    truncs: Arc<Vec<Trunc>>,
    st: Mutex<WState>,
    changed: Condvar,
    /// Appends waiting for a writer thread to make them (see [`LocalVolume::send`]).
    /// Locked after `st` when both are held, never the other way.
    inline: Mutex<InlineQueue>,
    acks: Arc<dyn AckSink>,
    stop: Arc<AtomicBool>,
    ticker: Mutex<Option<JoinHandle<()>>>,
}

struct Acks(Weak<LocalVolume>);

impl AckSink for Acks {
    fn ack(&self, node: NodeId, pg: u64, res: Result<Lsn>) {
        if let Some(v) = self.0.upgrade() {
            v.on_ack(node, pg, res);
        }
    }
}

impl LocalVolume {
    /// Open (creating or recovering) the volume described by `config`: with its own
    /// in-process storage nodes, or over TCP when `config.nodes` is set.
    pub fn open(config: VolumeConfig) -> Result<Arc<LocalVolume>> {
        config.validate()?;
        if let Some(book) = &config.nodes {
            let t = TcpTransport::new(book.clone(), &[]);
            let m = membership::discover(&t, config.open_timeout)?;
            t.set_membership(m.clone());
            let net: Arc<dyn Transport> = t.clone();
            let v = Self::open_with(None, Some(t.clone()), net, m.ids(), config)?;
            // A new volume's first membership, or members that lost theirs.
            membership::offer_all(&t, v.epoch, &m, &m.ids());
            return Ok(v);
        }
        let cluster = Cluster::open(config.cluster_options())?;
        Self::open_on(cluster, config)
    }

    /// Become the writer of an existing cluster (recovery; fences any older writer).
    pub fn open_on(cluster: Arc<Cluster>, config: VolumeConfig) -> Result<Arc<LocalVolume>> {
        if cluster.pages_per_pg() != config.pages_per_pg() {
            return Err(Error::InvalidInput(
                "segment_bytes differs from the cluster's".into(),
            ));
        }
        let net: Arc<dyn Transport> = cluster.net.clone();
        let members = cluster.members();
        Self::open_with(Some(cluster), None, net, members, config)
    }

    /// Become the writer of the six storage nodes `members` reached through `net`
    /// (e.g. [`crate::net::TcpTransport`]).
    pub fn open_remote(
        net: Arc<dyn Transport>,
        members: Vec<NodeId>,
        config: VolumeConfig,
    ) -> Result<Arc<LocalVolume>> {
        Self::open_with(None, None, net, members, config)
    }

    fn open_with(
        cluster: Option<Arc<Cluster>>,
        remote: Option<Arc<TcpTransport>>,
        net: Arc<dyn Transport>,
        members: Vec<NodeId>,
        config: VolumeConfig,
    ) -> Result<Arc<LocalVolume>> {
        config.validate()?;
        if members.len() != crate::quorum::REPLICAS {
            return Err(Error::InvalidInput(
                "a volume needs six storage nodes".into(),
            ));
        }
        let rec = crate::recovery::recover(&*net, &members, config.open_timeout)?;
        let mut tr = Tracker::new(members, rec.vdl, &rec.tails);
        for ((node, pg), scl) in &rec.scls {
            tr.ack(*node, *pg, *scl);
        }
        let stop = Arc::new(AtomicBool::new(false));
        let v = Arc::new_cyclic(|me: &Weak<LocalVolume>| LocalVolume {
            cluster,
            remote,
            net,
            cfg: config,
            epoch: rec.epoch,
            truncs: Arc::new(rec.truncs),
            st: Mutex::new(WState {
                tr,
                inflight: BTreeMap::new(),
                fenced: None,
                closed: false,
                read_points: HashMap::new(),
                subs: Vec::new(),
                replacing: None,
                poll_cursor: 0,
                poll_rounds: 0,
                lazy_for: Vec::new(),
                lazy_pref: Vec::new(),
                behind: HashMap::new(),
            }),
            changed: Condvar::new(),
            inline: Mutex::new(InlineQueue::default()),
            acks: Arc::new(Acks(me.clone())),
            stop: stop.clone(),
            ticker: Mutex::new(None),
        });
        let weak = Arc::downgrade(&v);
        let period = v.cfg.tick * 2;
        let h = std::thread::Builder::new()
            .name("volume-ticker".into())
            .spawn(move || {
                let mut round = 0u64;
                while !stop.load(Ordering::SeqCst) {
                    // `close` unparks it to end the wait at once.
                    std::thread::park_timeout(period);
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    round += 1;
                    match weak.upgrade() {
                        Some(v) => v.tick(round.is_multiple_of(8)),
                        None => return,
                    }
                }
            })?;
        *v.ticker.lock() = Some(h);
        tracing::info!(epoch = v.epoch, vdl = rec.vdl, "volume open");
        Ok(v)
    }

    /// A read-only handle for a replica instance: reads, durable point and the log
    /// stream; `append_mtr` fails with `Error::ReadOnly`.
    pub fn follower(self: &Arc<Self>) -> Arc<dyn Volume> {
        Arc::new(Follower(self.clone()))
    }

    /// The in-process storage nodes, if this volume runs them (tests inject faults
    /// through it).
    pub fn cluster(&self) -> Option<&Arc<Cluster>> {
        self.cluster.as_ref()
    }

    /// The oldest read point any instance registered (None: none).
    pub fn min_read_point(&self) -> Option<Lsn> {
        Self::read_floor(&self.st.lock())
    }

    /// The configuration this volume was opened with.
    pub fn config(&self) -> &VolumeConfig {
        &self.cfg
    }

    /// This writer's epoch.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Volume complete LSN.
    pub fn vcl(&self) -> Lsn {
        self.st.lock().tr.vcl()
    }

    /// Number of protection groups written so far.
    pub fn pg_count(&self) -> usize {
        self.st.lock().tr.pgs().len()
    }

    /// Stop the ticker and, if nothing else holds the cluster, its nodes. Pending
    /// waiters fail with `Error::Closed`.
    pub fn close(&self) {
        self.drain_inline();
        {
            let mut st = self.st.lock();
            st.closed = true;
            st.subs.clear();
        }
        self.changed.notify_all();
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.ticker.lock().take() {
            h.thread().unpark();
            if h.thread().id() != std::thread::current().id() {
                let _ = h.join();
            }
        }
    }

    fn check_open(&self, st: &WState) -> Result<()> {
        if let Some(theirs) = st.fenced {
            return Err(Error::Fenced {
                ours: self.epoch,
                theirs,
            });
        }
        if st.closed {
            return Err(Error::Closed);
        }
        Ok(())
    }

    fn on_ack(&self, node: NodeId, pg: u64, res: Result<Lsn>) {
        let mut st = self.st.lock();
        self.on_reply(&mut st, node, pg, res);
    }

    /// A replica's answer to an append, acknowledged later or made inline.
    fn on_reply(&self, st: &mut WState, node: NodeId, pg: u64, res: Result<Lsn>) {
        match res {
            Ok(scl) => self.note_scl(st, node, pg, scl),
            Err(Error::Fenced { theirs, .. }) if theirs > self.epoch => {
                tracing::warn!(epoch = self.epoch, theirs, "writer fenced");
                st.fenced = Some(theirs);
                st.subs.clear();
                self.changed.notify_all();
            }
            Err(_) => {} // resent by the ticker
        }
    }

    fn note_scl(&self, st: &mut WState, node: NodeId, pg: u64, scl: Lsn) {
        let advanced = st.tr.ack(node, pg, scl);
        let vcl = st.tr.vcl();
        while let Some(e) = st.inflight.first_entry() {
            if *e.key() > vcl {
                break;
            }
            e.remove();
        }
        if advanced {
            let vdl = st.tr.vdl();
            st.subs.retain(|s| s.send(LogEvent::Durable(vdl)).is_ok());
            self.changed.notify_all();
        }
    }

    fn read_floor(st: &WState) -> Option<Lsn> {
        st.read_points.values().min().copied()
    }

    /// Background duties; see the module doc.
    fn tick(&self, poll: bool) {
        // Appends queued for inline replicas that no thread waited for.
        self.drain_inline();
        let (members, pgs, vdl, floor) = {
            let mut st = self.st.lock();
            if st.closed || st.fenced.is_some() {
                return;
            }
            // PGs with a lagging replica, plus a round-robin slice of the rest (to push
            // VDL and the read floor to idle PGs): bounded work however large the volume.
            let mut pgs = if poll {
                st.tr.lagging_pgs()
            } else {
                Vec::new()
            };
            let all = st.tr.pgs();
            if poll && !all.is_empty() {
                for i in 0..POLL_SLICE.min(all.len()) {
                    pgs.push(all[(st.poll_cursor + i) % all.len()]);
                }
                st.poll_cursor = (st.poll_cursor + POLL_SLICE) % all.len();
                pgs.sort_unstable();
                pgs.dedup();
            }
            if poll {
                st.poll_rounds += 1;
            }
            (st.tr.members(), pgs, st.tr.vdl(), Self::read_floor(&st))
        };
        if let Some(t) = &self.remote {
            if poll && self.st.lock().poll_rounds % MEMBERSHIP_ROUNDS == 1 {
                self.membership_round(t);
            }
        }
        // Poll SCLs (read routing, acks lost to a partition) and push limits.
        let mut seen = Vec::new();
        for &pg in &pgs {
            for &n in &members {
                if let Ok(Some(s)) = self.net.poll(n, pg, vdl, floor) {
                    seen.push((n, pg, s));
                }
            }
        }
        let mut st = self.st.lock();
        for (n, pg, s) in seen {
            if s.epoch > self.epoch {
                st.fenced = Some(s.epoch);
                st.subs.clear();
                self.changed.notify_all();
                return;
            }
            self.note_scl(&mut st, n, pg, s.scl);
        }
        // Resend what a replica has not acked.
        let now = Instant::now();
        let mut resend: HashMap<(NodeId, u64), Vec<Arc<Record>>> = HashMap::new();
        let WState { tr, inflight, .. } = &mut *st;
        for (r, sent) in inflight.values_mut() {
            if now.duration_since(*sent) < self.cfg.resend_after {
                continue;
            }
            *sent = now;
            for &n in &members {
                if tr.scl(r.pg, n) < r.lsn {
                    resend.entry((n, r.pg)).or_default().push(r.clone());
                }
            }
        }
        for ((n, pg), recs) in resend {
            self.send(n, pg, recs, vdl, floor, true);
        }
        // Finish a membership change once the new node caught up (over TCP: once the
        // new membership is stored on a write quorum of both sets).
        let done = st
            .replacing
            .as_ref()
            .is_some_and(|r| st.tr.caught_up(r.new, &r.tails));
        if done {
            let next = st.replacing.as_ref().and_then(|r| r.next.clone());
            if let (Some(t), Some(next)) = (&self.remote, next) {
                drop(st);
                let cur = t.membership().expect("set when opened over TCP");
                if let Err(e) = membership::commit_change(t, self.epoch, &cur, &next) {
                    tracing::warn!("membership change not stored yet: {e}");
                    return;
                }
                st = self.st.lock();
            }
            let r = st
                .replacing
                .take()
                .expect("only the ticker finishes a change");
            st.tr.finish_replace();
            if let Some(cl) = &self.cluster {
                if let Err(e) = cl.replace_member(r.old, r.new) {
                    tracing::error!("persisting membership failed: {e}");
                }
            }
            self.changed.notify_all();
            tracing::info!(old = r.old, new = r.new, "membership change done");
        }
    }

    /// Send records to one replica. A replica whose appends the writer's threads make
    /// (see [`Transport::local`]) gets them queued, in LSN order, until a thread needs
    /// them durable ([`LocalVolume::drain_inline`]).
    fn send(
        &self,
        node: NodeId,
        pg: u64,
        recs: Vec<Arc<Record>>,
        vdl: Lsn,
        floor: Option<Lsn>,
        sync: bool,
    ) {
        let m = AppendMsg {
            pg,
            epoch: self.epoch,
            truncs: self.truncs.clone(),
            recs,
            vdl,
            floor,
            sink: self.acks.clone(),
            sync,
        };
        if self.cfg.inline_appends && self.net.local(node) {
            self.inline.lock().queue.push((node, m));
        } else {
            self.net.append(node, m);
        }
    }

    /// Make every queued inline append, on this thread, one segment append per replica
    /// and PG (sync appends to replicas that flush made together, see
    /// [`Transport::append_inline_all`]), and note the SCLs; unless another thread is at
    /// it. One round: what is queued meanwhile is left to the next waiter, whom the round
    /// wakes (so no thread keeps draining for the others while its own commit is done).
    /// Called without `st`.
    fn drain_inline(&self) {
        let batch = {
            let mut q = self.inline.lock();
            if q.draining || q.queue.is_empty() {
                return;
            }
            q.draining = true;
            std::mem::take(&mut q.queue)
        };
        // Clears `draining` even if a segment panics, so waiters are not left behind a
        // drainer that is gone, and hands the turn on: a waiter whose appends were
        // queued after this round began finds them queued and no drainer (it checks
        // both under `st`, and the wake-up comes under `st` after `draining` is clear).
        struct Draining<'a>(Option<&'a LocalVolume>);
        impl Drop for Draining<'_> {
            fn drop(&mut self) {
                if let Some(v) = self.0 {
                    let st = v.st.lock();
                    v.end_drain_round(&st);
                }
            }
        }
        let mut turn = Draining(Some(self));
        let mut groups: Vec<(NodeId, AppendMsg)> = Vec::new();
        let mut at: HashMap<(NodeId, u64), usize> = HashMap::new();
        for (node, m) in batch {
            match at.get(&(node, m.pg)) {
                Some(&i) => {
                    let g = &mut groups[i].1;
                    g.recs.extend(m.recs);
                    g.vdl = g.vdl.max(m.vdl);
                    g.floor = m.floor;
                    // A sync append among lazy ones must not wait a lazy interval.
                    g.sync |= m.sync;
                }
                None => {
                    at.insert((node, m.pg), groups.len());
                    groups.push((node, m));
                }
            }
        }
        let replies = self.net.append_inline_all(groups);
        let mut st = self.st.lock();
        for (node, pg, r) in replies {
            self.on_reply(&mut st, node, pg, r);
        }
        // The round ends under the same hold of `st` (one lock round trip per commit
        // group, not two); the guard only covers an unwinding drainer.
        turn.0 = None;
        self.end_drain_round(&st);
    }

    /// The drainer is done: clear `draining` and, if more is queued, wake the waiters so
    /// one of them drains it. Called under `st` (the caller's guard), so no waiter checks
    /// and then misses the wake-up.
    fn end_drain_round(&self, _st: &WState) {
        let more = {
            let mut q = self.inline.lock();
            q.draining = false;
            !q.queue.is_empty()
        };
        if more {
            self.changed.notify_all();
        }
    }

    /// Whether a thread waiting under `st` should drain the inline queue itself: there
    /// is something queued and nobody draining.
    fn drain_due(&self) -> bool {
        let q = self.inline.lock();
        !q.queue.is_empty() && !q.draining
    }

    /// The members that may flush lazily while the others form the write quorum: the
    /// members in AZ round-robin order (first of each AZ, then second of each, ...)
    /// beyond the first four, so the four that flush at once span every AZ. Empty (all
    /// flush at once) over TCP, when configured off, and during a membership change
    /// (two quorum sets to satisfy).
    fn lazy_preference(&self, st: &mut WState, members: &[NodeId]) -> Vec<NodeId> {
        let Some(cluster) = &self.cluster else {
            return Vec::new();
        };
        if self.cfg.lazy_replicas.is_none() || st.tr.sets().len() != 1 {
            return Vec::new();
        }
        if st.lazy_for != members {
            st.lazy_for = members.to_vec();
            st.lazy_pref = lazy_order(members, |m| cluster.az(m));
        }
        st.lazy_pref.clone()
    }

    fn deadline(&self) -> Option<Instant> {
        self.cfg.write_timeout.map(|d| Instant::now() + d)
    }

    /// Start replacing member `old` (dead) by a new node in the same AZ; writes go on.
    /// The change completes in the background once the new node caught up; returns
    /// the new node's id.
    pub fn replace_node(&self, old: NodeId) -> Result<NodeId> {
        let cluster = self.cluster.as_ref().ok_or_else(|| {
            Error::InvalidInput(
                "replace_node starts an in-process node; over TCP use replace_member".into(),
            )
        })?;
        let az = cluster
            .az(old)
            .ok_or_else(|| Error::InvalidInput(format!("no node {old}")))?;
        let mut st = self.st.lock();
        self.check_open(&st)?;
        if st.replacing.is_some() || !st.tr.members().contains(&old) {
            return Err(Error::InvalidInput(format!(
                "cannot replace node {old} now"
            )));
        }
        let new = cluster.add_node(az)?;
        st.tr.begin_replace(old, new);
        let tails = st.tr.tails();
        st.replacing = Some(Replacing {
            old,
            new,
            tails,
            next: None,
        });
        Ok(new)
    }

    /// Over TCP: start replacing member `old` (dead) by the storage-node process `new`,
    /// already running (empty, in `old`'s AZ) at `addr` (None: the address book finds
    /// it). Writes go on to both quorum sets; the new node fills itself from its peers,
    /// and once it caught up the new membership is stored on the nodes (see
    /// [`crate::net::membership`]), so a writer opened later uses it. Poll
    /// [`LocalVolume::replacing`] for the end.
    pub fn replace_member(
        &self,
        old: NodeId,
        new: NodeId,
        addr: Option<std::net::SocketAddr>,
    ) -> Result<()> {
        let t = self.remote.as_ref().ok_or_else(|| {
            Error::InvalidInput("replace_member is for volumes over TCP; use replace_node".into())
        })?;
        if let Some(a) = addr {
            t.book().learn(new, a);
        }
        let membership::NodeView { id, az, .. } = t.node_view(new)?;
        if id != new {
            return Err(Error::InvalidInput(format!(
                "the node at node {new}'s address is node {id}"
            )));
        }
        let cur = t.membership().expect("set when opened over TCP");
        let old_az = cur
            .member(old)
            .ok_or_else(|| Error::InvalidInput(format!("node {old} is not a member")))?
            .az;
        if old_az.is_some_and(|a| a != az) {
            return Err(Error::InvalidInput(format!(
                "node {new} is in AZ {az}, node {old} was in AZ {old_az:?}: two per AZ"
            )));
        }
        let next = cur.replaced(
            old,
            Member {
                id: new,
                az: Some(az),
                addr: t.book().lookup(new),
            },
        )?;
        let mut st = self.st.lock();
        self.check_open(&st)?;
        if st.replacing.is_some() || !st.tr.members().contains(&old) {
            return Err(Error::InvalidInput(format!(
                "cannot replace node {old} now"
            )));
        }
        st.tr.begin_replace(old, new);
        let tails = st.tr.tails();
        st.replacing = Some(Replacing {
            old,
            new,
            tails,
            next: Some(next),
        });
        Ok(())
    }

    /// Over TCP, now and then: re-offer the membership to members that lost it (a wiped
    /// disk), and start the change a joining node asked for (`borealis-storage-node
    /// --replaces OLD`, see [`crate::net::membership`]).
    fn membership_round(&self, t: &TcpTransport) {
        let Some(m) = t.membership() else { return };
        let mut joiners = Vec::new();
        for id in m.ids() {
            if let Ok(v) = t.node_view(id) {
                if v.membership.as_ref().is_none_or(|x| x.epoch < m.epoch) {
                    let _ = t.offer_membership(id, self.epoch, &m);
                }
                joiners.extend(v.joiners);
            }
        }
        if self.replacing() {
            return;
        }
        for j in joiners {
            if m.member(j.replaces).is_none() || m.member(j.id).is_some() {
                continue;
            }
            match self.replace_member(j.replaces, j.id, Some(j.addr)) {
                Ok(()) => {
                    tracing::info!(
                        old = j.replaces,
                        new = j.id,
                        "node asked to join: replacing"
                    );
                    return;
                }
                Err(e) => tracing::warn!(node = j.id, "join request refused: {e}"),
            }
        }
    }

    /// Over TCP: the membership the volume works with (None in-process).
    pub fn membership(&self) -> Option<Membership> {
        self.remote.as_ref().and_then(|t| t.membership())
    }

    /// Subscribe to the log with a starting point: returns `base` (every record at or
    /// below it is durable), the records above `base` already sent to storage, and a
    /// receiver of everything from now on: together, every record above `base`.
    pub fn subscribe_from(&self) -> (Lsn, Lsn, Vec<LogRecord>, Receiver<LogEvent>) {
        let (tx, rx) = unbounded();
        let mut st = self.st.lock();
        let recs = st
            .inflight
            .values()
            .map(|(r, _)| r.to_log_record())
            .collect();
        st.subs.push(tx);
        (st.tr.vcl(), st.tr.vdl(), recs, rx)
    }

    /// Whether a membership change is still running.
    pub fn replacing(&self) -> bool {
        self.st.lock().replacing.is_some()
    }

    /// Current quorum members (both sets during a change).
    pub fn members(&self) -> Vec<NodeId> {
        self.st.lock().tr.members()
    }

    fn refresh_pg(&self, pg: u64) {
        let (members, vdl, floor) = {
            let st = self.st.lock();
            (st.tr.members(), st.tr.vdl(), Self::read_floor(&st))
        };
        let seen: Vec<_> = members
            .iter()
            .filter_map(|&n| match self.net.poll(n, pg, vdl, floor) {
                Ok(Some(s)) => Some((n, s.scl)),
                _ => None,
            })
            .collect();
        let mut st = self.st.lock();
        for (n, scl) in seen {
            self.note_scl(&mut st, n, pg, scl);
        }
    }
}

impl Drop for LocalVolume {
    fn drop(&mut self) {
        self.close();
    }
}

impl Volume for LocalVolume {
    fn append_mtr(&self, writes: Vec<PageWrite>) -> Result<Lsn> {
        if writes.is_empty() {
            return Err(Error::InvalidInput("empty mini-transaction".into()));
        }
        let ppg = self.cfg.pages_per_pg();
        let max_pages = self.cfg.max_pages();
        let mut pgs = Vec::with_capacity(writes.len());
        for w in &writes {
            pgs.push(pg_of(w.page, ppg, max_pages)?);
            if w.payload.len() > MAX_PAYLOAD {
                return Err(Error::InvalidInput(format!(
                    "redo payload of {} bytes",
                    w.payload.len()
                )));
            }
        }
        let n = writes.len() as u64;
        let deadline = self.deadline();
        let mut st = self.st.lock();
        loop {
            self.check_open(&st)?;
            if st.tr.in_flight() + n <= self.cfg.lal.max(n) {
                break;
            }
            // Room comes from acks: make the queued inline appends first (unless another
            // thread is at it: it notifies `changed` as the VCL moves, and when it is
            // done with its round while more is queued).
            if self.drain_due() {
                parking_lot::MutexGuard::unlocked(&mut st, || self.drain_inline());
                continue;
            }
            match deadline {
                Some(d) => {
                    if self.changed.wait_until(&mut st, d).timed_out() {
                        return Err(Error::QuorumLost { pg: pgs[0] });
                    }
                }
                None => self.changed.wait(&mut st),
            }
        }
        let now = Instant::now();
        let mut by_pg: BTreeMap<u64, Vec<Arc<Record>>> = BTreeMap::new();
        let mut log = Vec::with_capacity(writes.len());
        let last = writes.len() - 1;
        for (i, (w, pg)) in writes.into_iter().zip(pgs).enumerate() {
            let (lsn, prev) = st.tr.allocate(pg, i == last);
            let r = Arc::new(Record {
                lsn,
                epoch: self.epoch,
                prev_lsn: prev,
                pg,
                page: w.page,
                mtr_end: i == last,
                payload: w.payload,
            });
            if !st.subs.is_empty() {
                log.push(LogRecord {
                    lsn,
                    page: r.page,
                    mtr_end: r.mtr_end,
                    payload: r.payload.clone(),
                });
            }
            st.inflight.insert(lsn, (r.clone(), now));
            by_pg.entry(pg).or_default().push(r);
        }
        let end = st.tr.last_lsn();
        let vdl = st.tr.vdl();
        let members = st.tr.members();
        let floor = Self::read_floor(&st);
        let pref = self.lazy_preference(&mut st, &members);
        // Sent under the lock so every replica receives records in LSN order.
        // A member lagging longer than a lazy interval, or than the writer waits before
        // resending to it, is failing.
        let patience = self
            .cfg
            .lazy_replicas
            .unwrap_or_default()
            .min(self.cfg.resend_after);
        for (pg, recs) in by_pg {
            let WState { tr, behind, .. } = &mut *st;
            let lazy_ok = laziness_allowed(tr, behind, pg, &members, &pref, now, patience);
            for &m in &members {
                let sync = !(lazy_ok && pref.contains(&m));
                self.send(m, pg, recs.clone(), vdl, floor, sync);
            }
        }
        if !log.is_empty() {
            st.subs
                .retain(|s| s.send(LogEvent::Records(log.clone())).is_ok());
        }
        Ok(end)
    }

    fn wait_durable(&self, lsn: Lsn) -> Result<()> {
        self.drain_inline();
        let deadline = self.deadline();
        let mut st = self.st.lock();
        loop {
            if st.tr.vdl() >= lsn {
                return Ok(());
            }
            self.check_open(&st)?;
            if lsn > st.tr.last_lsn() {
                return Err(Error::InvalidInput(format!(
                    "lsn {lsn} was never allocated"
                )));
            }
            // Our appends may have been queued after the drainer took its round.
            if self.drain_due() {
                parking_lot::MutexGuard::unlocked(&mut st, || self.drain_inline());
                continue;
            }
            match deadline {
                Some(d) => {
                    if self.changed.wait_until(&mut st, d).timed_out() {
                        let pg = st.inflight.values().next().map_or(0, |(r, _)| r.pg);
                        return Err(Error::QuorumLost { pg });
                    }
                }
                None => self.changed.wait(&mut st),
            }
        }
    }

    fn durable_lsn(&self) -> Lsn {
        self.st.lock().tr.vdl()
    }

    fn last_lsn(&self) -> Lsn {
        self.st.lock().tr.last_lsn()
    }

    fn read_page(&self, page: PageNo, at: Lsn) -> Result<PageBuf> {
        let pg = pg_of(page, self.cfg.pages_per_pg(), self.cfg.max_pages())?;
        // A read point past the end means "everything" (as in the model volume).
        let at = at.min(self.last_lsn());
        // Reading the writer's own not-yet-durable changes: replicas may not hold them
        // yet, and nothing above VDL is served before it is durable; wait for it.
        if at > self.durable_lsn() {
            self.wait_durable(at)?;
        }
        let mut last_err = None;
        for attempt in 0..3 {
            let (need, cands, known) = {
                let st = self.st.lock();
                if st.closed {
                    return Err(Error::Closed);
                }
                let (need, c) = st.tr.read_candidates(pg, at);
                (need, c, st.tr.pg_tail(pg) > 0)
            };
            if !known {
                return Ok(zero_page());
            }
            for n in cands {
                match self.net.read_page(n, pg, page, at, need) {
                    Ok(p) => return Ok(p),
                    Err(e) => last_err = Some(e),
                }
            }
            // SCLs may be stale (a replica restarted, or acks were lost): ask again.
            self.refresh_pg(pg);
            if attempt > 0 {
                std::thread::sleep(self.cfg.tick);
            }
        }
        Err(last_err.unwrap_or(Error::QuorumLost { pg }))
    }

    fn subscribe(&self) -> Receiver<LogEvent> {
        let (tx, rx) = unbounded();
        self.st.lock().subs.push(tx);
        rx
    }

    fn set_min_read_point(&self, instance: u64, at: Lsn) {
        self.st.lock().read_points.insert(instance, at);
    }
}

/// Read-only view of a [`LocalVolume`] for replica instances.
struct Follower(Arc<LocalVolume>);

impl Volume for Follower {
    fn append_mtr(&self, _writes: Vec<PageWrite>) -> Result<Lsn> {
        Err(Error::ReadOnly)
    }
    fn wait_durable(&self, lsn: Lsn) -> Result<()> {
        self.0.wait_durable(lsn)
    }
    fn durable_lsn(&self) -> Lsn {
        self.0.durable_lsn()
    }
    fn last_lsn(&self) -> Lsn {
        self.0.durable_lsn()
    }
    fn read_page(&self, page: PageNo, at: Lsn) -> Result<PageBuf> {
        self.0.read_page(page, at)
    }
    fn subscribe(&self) -> Receiver<LogEvent> {
        self.0.subscribe()
    }
    fn set_min_read_point(&self, instance: u64, at: Lsn) {
        self.0.set_min_read_point(instance, at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_write(page: PageNo) -> Vec<PageWrite> {
        let mut payload = Vec::new();
        crate::redo::push_write(&mut payload, 0, &[7; 8]);
        vec![PageWrite { page, payload }]
    }

    /// Wait for `lsn` (this thread drains the queue) and check nothing is left queued
    /// or marked as being drained; then close.
    fn wait_and_check_drained(v: &LocalVolume, lsn: Lsn) {
        v.wait_durable(lsn).unwrap();
        assert!(v.durable_lsn() >= lsn);
        assert!(v.inline.lock().queue.is_empty());
        assert!(!v.inline.lock().draining);
        v.close();
    }

    #[test]
    fn inline_appends_wait_for_a_thread_that_needs_them_durable() {
        let mut cfg = VolumeConfig::in_memory();
        // A ticker slow enough not to drain the queue under the test.
        cfg.tick = Duration::from_secs(3600);
        let v = LocalVolume::open(cfg).unwrap();
        let lsn = v.append_mtr(one_write(1)).unwrap();
        // Queued for all six in-memory replicas, not yet made: nothing is durable.
        assert_eq!(v.inline.lock().queue.len(), 6);
        assert!(v.durable_lsn() < lsn);
        // The waiting thread makes them itself.
        wait_and_check_drained(&v, lsn);
    }

    /// Nodes that fsync get their appends after the fact too (not from inside
    /// `append_mtr`, which runs under the engine's commit lock): queued, then made by the
    /// thread that waits (sync appends to nodes whose device flush can be shared) or put
    /// in the nodes' inboxes for their request threads.
    #[test]
    fn appends_to_flushing_nodes_are_handed_over_by_the_waiting_thread() {
        let d = tempfile::tempdir().unwrap();
        let mut cfg = VolumeConfig::on_disk(d.path());
        cfg.fsync = true;
        cfg.tick = Duration::from_secs(3600);
        let v = LocalVolume::open(cfg).unwrap();
        let first = v.append_mtr(one_write(1)).unwrap();
        let lsn = v.append_mtr(one_write(1)).unwrap();
        // Both MTRs queued for all six replicas; no request thread has seen them.
        assert_eq!(v.inline.lock().queue.len(), 12);
        assert!(v.durable_lsn() < first);
        wait_and_check_drained(&v, lsn);
    }

    /// A drainer makes one round; appends queued meanwhile are drained by a thread that
    /// waits for them, woken when the round ends.
    #[test]
    fn a_waiter_drains_what_was_queued_after_the_drainers_round_began() {
        let mut cfg = VolumeConfig::in_memory();
        cfg.tick = Duration::from_secs(3600);
        let v = Arc::new(LocalVolume::open(cfg).unwrap());
        let lsn = v.append_mtr(one_write(1)).unwrap();
        // Another thread's round is under way (it took the queue before this append).
        v.inline.lock().draining = true;
        let (tx, rx) = crossbeam::channel::bounded(1);
        let w = {
            let v = v.clone();
            std::thread::spawn(move || tx.send(v.wait_durable(lsn)).unwrap())
        };
        assert!(
            rx.recv_timeout(Duration::from_millis(100)).is_err(),
            "nothing drains while the round is under way"
        );
        assert!(v.durable_lsn() < lsn);
        v.end_drain_round(&v.st.lock());
        let r = rx.recv_timeout(Duration::from_secs(20));
        assert!(
            matches!(r, Ok(Ok(()))),
            "the waiter was not handed the turn"
        );
        w.join().unwrap();
        wait_and_check_drained(&v, lsn);
    }

    #[test]
    fn the_lsn_allocation_limit_makes_queued_inline_appends_itself() {
        let mut cfg = VolumeConfig::in_memory();
        cfg.tick = Duration::from_secs(3600);
        cfg.lal = 4;
        // Were nobody to drain, the fifth append would wait this long and fail.
        cfg.write_timeout = Some(Duration::from_secs(5));
        let v = LocalVolume::open(cfg).unwrap();
        let mut last = 0;
        for i in 0..20 {
            last = v.append_mtr(one_write(i % 4)).unwrap();
        }
        v.wait_durable(last).unwrap();
        v.close();
    }

    #[test]
    fn appends_nobody_waits_for_become_durable_by_the_ticker() {
        let v = LocalVolume::open(VolumeConfig::in_memory()).unwrap();
        let lsn = v.append_mtr(one_write(2)).unwrap();
        let until = Instant::now() + Duration::from_secs(20);
        while v.durable_lsn() < lsn {
            assert!(Instant::now() < until, "the ticker never drained the queue");
            std::thread::sleep(Duration::from_millis(2));
        }
        v.close();
    }

    #[test]
    fn without_inline_appends_the_request_threads_make_them() {
        let mut cfg = VolumeConfig::in_memory();
        cfg.inline_appends = false;
        let v = LocalVolume::open(cfg).unwrap();
        let lsn = v.append_mtr(one_write(3)).unwrap();
        assert!(v.inline.lock().queue.is_empty());
        v.wait_durable(lsn).unwrap();
        v.close();
    }

    #[test]
    fn lazy_order_keeps_four_members_across_every_az() {
        let az = |m: NodeId| Some((m / 2) as u8);
        assert_eq!(lazy_order(&[0, 1, 2, 3, 4, 5], az), vec![3, 5]);
        // A replaced node (7 in AZ 0 for 0) keeps the four spanning every AZ.
        let az7 = |m: NodeId| Some(if m == 7 { 0 } else { (m / 2) as u8 });
        assert_eq!(lazy_order(&[1, 2, 3, 4, 5, 7], az7), vec![3, 5]);
        // Three per AZ in two AZs: the third of each is lazy.
        let two = |m: NodeId| Some((m % 2) as u8);
        assert_eq!(lazy_order(&[0, 1, 2, 3, 4, 5], two), vec![4, 5]);
    }

    #[test]
    fn a_lagging_sync_member_makes_every_member_flush() {
        let members: Vec<NodeId> = (0..6).collect();
        let mut tr = Tracker::new(members.clone(), 0, &HashMap::new());
        for _ in 0..3 {
            tr.allocate(0, true);
        }
        let pref = vec![3, 5];
        let mut behind = HashMap::new();
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut lazy = |tr: &Tracker, at: Duration| {
            laziness_allowed(tr, &mut behind, 0, &members, &pref, t0 + at, ms(5))
        };
        // Fresh PG: nobody acked anything, nothing lags.
        assert!(lazy(&tr, ms(0)));
        for n in [0, 1, 2, 4] {
            tr.ack(n, 0, 3);
        }
        assert!(lazy(&tr, ms(0)));
        // The lazy ones catch up; node 1 falls behind them: for a moment that is an ack
        // on its way...
        for _ in 0..2 {
            tr.allocate(0, true);
        }
        for n in [0, 2, 3, 4, 5] {
            tr.ack(n, 0, 5);
        }
        assert!(lazy(&tr, ms(1)));
        assert!(lazy(&tr, ms(4)));
        // ...for longer than the patience it is a failure: everyone flushes at once.
        assert!(!lazy(&tr, ms(6)));
        assert!(!lazy(&tr, ms(60)));
        // Node 1 is back in step: laziness resumes, and the next lapse starts afresh.
        tr.ack(1, 0, 5);
        assert!(lazy(&tr, ms(61)));
        tr.allocate(0, true);
        for n in [0, 2, 3, 4, 5] {
            tr.ack(n, 0, 6);
        }
        assert!(lazy(&tr, ms(62)));
        assert!(!lazy(&tr, ms(67)));
        // Nothing to choose from: nobody is lazy.
        assert!(!laziness_allowed(
            &tr,
            &mut HashMap::new(),
            0,
            &members,
            &[],
            t0,
            ms(5)
        ));
    }
}
