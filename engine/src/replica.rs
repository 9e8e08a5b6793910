//! Read replicas: an instance that follows the shared volume's log instead of writing it.
//!
//! A replica opens the volume through a read-only handle (`LocalVolume::follower`), so it
//! allocates no LSNs and writes nothing to storage. One applier thread per replica blocks
//! on the volume's log stream ([`Volume::subscribe`]) and, for every VDL advance:
//! 1. applies the records with LSN <= VDL to the pages its buffer pool holds (records for
//!    uncached pages are dropped: the next read fetches the page at the read point);
//! 2. if the batch touched a page of the system tree (the catalog), reloads the catalog
//!    as of the new point and records it in the catalog history;
//! 3. publishes the new read point.
//!
//! Invariants:
//! - the read point only moves forward and only to a VDL. VDL is always an MTR end and
//!   a commit is one MTR, so every read point is transaction-consistent, and the volume
//!   only holds committed data, so a replica never shows uncommitted rows;
//! - records are applied before the read point that covers them is published, and
//!   readers at older points keep reading their versions (pool `prev` images or the
//!   volume at their LSN), so a snapshot never sees half an MTR;
//! - the catalog for a new read point is in the history before the point is published,
//!   so a statement always finds the schema as of its snapshot ([`ReplicaState::catalog_at`]);
//! - any change to the system tree modifies at least one leaf it had at the last load
//!   (a key's leaf, or the page a split or merge starts from), so watching the leaf
//!   pages seen at the last load detects every catalog change;
//! - records missed on the stream (appended before the replica subscribed, found as a
//!   hole in the consecutive LSNs) cannot be applied: the pool is dropped instead and
//!   pages are read again at the new read point.
//!
//! The oldest live snapshot is reported to storage as this replica's read floor (the
//! pager's reader registry, under a per-replica instance id), so the log it needs stays.
//!
//! Lag in time: the replica notes when it first learned of a VDL above its read point
//! (an event on the log stream) and clears it when the read point catches up; the lag
//! is the age of that note (0 when caught up). It does not include the time the
//! stream took to reach the replica (for a replica following storage nodes, at most
//! one poll interval); bench/src/lag.rs measures end to end, writer commit to visible.
//!
//! `information_schema.replica_host_status` lists every instance of the cluster through
//! a [`ClusterView`] the server installs (`Database::set_cluster_view`): in-process
//! replicas are listed directly, separate processes through their registration with
//! the storage nodes. Without one an instance lists itself.

use std::cell::RefCell;
use std::collections::{HashSet, VecDeque};
use std::ops::Bound;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use borealis_storage::{LogEvent, LogRecord, Lsn, PageNo, Volume};
use crossbeam::channel::{Receiver, Sender};
use parking_lot::Mutex;

use crate::btree::BTree;
use crate::catalog::{self, Catalog};
use crate::database::Shared;
use crate::error::Result;
use crate::page::PageRef;
use crate::pager::{PageSource, Pager, View};
use crate::store::Store;

/// How many catalog versions a replica keeps for snapshots older than the newest.
const CATALOG_HISTORY: usize = 64;

/// What a replica reports about itself (`SHOW STATUS LIKE 'Borealis_replica%'`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplicaStatus {
    /// The id this replica registers its read floor under in storage.
    pub instance: u64,
    /// The LSN new statements read at.
    pub read_point: Lsn,
    /// The volume durable LSN now.
    pub volume_vdl: Lsn,
    /// `volume_vdl - read_point`.
    pub lag_lsn: u64,
    /// The oldest LSN a live snapshot on this replica reads at (its storage read floor).
    pub oldest_snapshot: Lsn,
    /// Time from receiving the last VDL advance to publishing it as the read point.
    pub last_apply_micros: u64,
    /// Records applied to cached pages or dropped (not cached) so far.
    pub records_received: u64,
    /// Catalog reloads (DDL seen on the log).
    pub catalog_reloads: u64,
    /// Times the pool was dropped because records were missed.
    pub resyncs: u64,
    /// How long the newest VDL this replica knows of has not been visible (0: caught up).
    pub lag_micros: u64,
    /// The largest lag seen at a publish since the replica opened.
    pub lag_max_micros: u64,
}

/// A database instance's role in its cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InstanceRole {
    Writer,
    Replica,
}

/// One row of `information_schema.replica_host_status`.
#[derive(Clone, Debug, PartialEq)]
pub struct InstanceInfo {
    /// The instance's name (`--server-id`, or its address).
    pub server_id: String,
    pub role: InstanceRole,
    /// The volume durable LSN as this instance knows it.
    pub durable_lsn: Lsn,
    /// The LSN new statements read at (the writer: its VDL).
    pub read_point: Lsn,
    /// Replica lag ([`ReplicaStatus::lag_micros`]; 0 for the writer).
    pub lag_micros: u64,
    /// Time to apply the last batch of log records (0 for the writer).
    pub replay_micros: u64,
    /// Milliseconds since the Unix epoch when this row was last reported.
    pub updated_ms: u64,
}

/// How an instance lists every instance of its cluster.
pub type ClusterView = Arc<dyn Fn() -> Vec<InstanceInfo> + Send + Sync>;

/// Milliseconds since the Unix epoch (for `LAST_UPDATE_TIMESTAMP`).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// This instance as a `replica_host_status` row.
pub(crate) fn self_info(sh: &Shared, server_id: &str) -> InstanceInfo {
    match &sh.replica {
        Some(r) => {
            let st = r.status();
            InstanceInfo {
                server_id: server_id.to_string(),
                role: InstanceRole::Replica,
                durable_lsn: st.volume_vdl,
                read_point: st.read_point,
                lag_micros: st.lag_micros,
                replay_micros: st.last_apply_micros,
                updated_ms: now_ms(),
            }
        }
        None => {
            let vdl = sh.store().pager().map_or(0, |p| p.volume().durable_lsn());
            InstanceInfo {
                server_id: server_id.to_string(),
                role: InstanceRole::Writer,
                durable_lsn: vdl,
                read_point: vdl,
                lag_micros: 0,
                replay_micros: 0,
                updated_ms: now_ms(),
            }
        }
    }
}

thread_local! {
    /// The instance whose statement this thread is running (for virtual tables that
    /// describe the instance rather than the catalog).
    static CURRENT: RefCell<Option<Weak<Shared>>> = const { RefCell::new(None) };
}

/// Marks the thread as running a statement of `sh` until dropped.
pub(crate) struct Entered(Option<Weak<Shared>>);

pub(crate) fn enter(sh: &Arc<Shared>) -> Entered {
    Entered(CURRENT.with(|c| c.replace(Some(Arc::downgrade(sh)))))
}

impl Drop for Entered {
    fn drop(&mut self) {
        let prev = self.0.take();
        CURRENT.with(|c| *c.borrow_mut() = prev);
    }
}

/// `information_schema.replica_host_status` for the instance running the statement.
pub(crate) fn host_status_table() -> (Vec<crate::result::Column>, Vec<crate::result::Row>) {
    use crate::result::{Column, ColumnType};
    use crate::value::Value;
    let rows = CURRENT
        .with(|c| c.borrow().as_ref().and_then(Weak::upgrade))
        .map(|sh| {
            let view = sh.cluster_view.read().clone();
            match view {
                Some(v) => v(),
                None => vec![self_info(&sh, "localhost")],
            }
        })
        .unwrap_or_default();
    let col = |n: &str, t| Column::computed(n, t);
    let cols = vec![
        col("SERVER_ID", ColumnType::VarString),
        col("SESSION_ID", ColumnType::VarString),
        col("ROLE", ColumnType::VarString),
        col("DURABLE_LSN", ColumnType::LongLong),
        col("CURRENT_READ_POINT", ColumnType::LongLong),
        col("REPLICA_LAG_IN_MILLISECONDS", ColumnType::Double),
        col(
            "CURRENT_REPLAY_LATENCY_IN_MICROSECONDS",
            ColumnType::LongLong,
        ),
        col("LAST_UPDATE_TIMESTAMP", ColumnType::VarString),
    ];
    let rows = rows
        .into_iter()
        .map(|i| {
            let (session, role) = match i.role {
                InstanceRole::Writer => ("MASTER_SESSION_ID".to_string(), "WRITER"),
                InstanceRole::Replica => (format!("{:016x}", hash_id(&i.server_id)), "READER"),
            };
            vec![
                Value::Str(i.server_id),
                Value::Str(session),
                Value::Str(role.into()),
                Value::Int(i.durable_lsn as i64),
                Value::Int(i.read_point as i64),
                Value::Double(i.lag_micros as f64 / 1000.0),
                Value::Int(i.replay_micros as i64),
                Value::Str(timestamp(i.updated_ms)),
            ]
        })
        .collect();
    (cols, rows)
}

/// A stable per-server session id (Aurora shows a UUID per replica session).
fn hash_id(s: &str) -> u64 {
    // FNV-1a: stable across processes, unlike the std hasher.
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// `YYYY-MM-DD HH:MM:SS.ffffff` (UTC) for milliseconds since the epoch.
fn timestamp(ms: u64) -> String {
    let secs = (ms / 1000) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{:06}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        (ms % 1000) * 1000
    )
}

/// State shared by a replica's sessions and its applier thread.
pub(crate) struct ReplicaState {
    instance: u64,
    pager: Pager,
    /// (valid from LSN, catalog) in LSN order; the last one is current.
    catalogs: Mutex<VecDeque<(Lsn, Arc<Catalog>)>>,
    last_apply_micros: AtomicU64,
    records: AtomicU64,
    reloads: AtomicU64,
    resyncs: AtomicU64,
    /// When the replica learned of a VDL above its read point (None: caught up).
    behind_since: Mutex<Option<Instant>>,
    lag_max_micros: AtomicU64,
}

impl ReplicaState {
    /// The catalog as of snapshot `lsn`: the newest version valid at or before it.
    pub fn catalog_at(&self, lsn: Lsn) -> Arc<Catalog> {
        let h = self.catalogs.lock();
        h.iter()
            .rev()
            .find(|(from, _)| *from <= lsn)
            .or(h.front())
            .map(|(_, c)| c.clone())
            .expect("the history always holds the catalog the replica opened with")
    }

    pub fn status(&self) -> ReplicaStatus {
        let read_point = self.pager.read_point();
        let volume_vdl = self.pager.volume().durable_lsn();
        ReplicaStatus {
            instance: self.instance,
            read_point,
            volume_vdl,
            lag_lsn: volume_vdl.saturating_sub(read_point),
            oldest_snapshot: self.pager.oldest_reader(),
            last_apply_micros: self.last_apply_micros.load(Ordering::Relaxed),
            records_received: self.records.load(Ordering::Relaxed),
            catalog_reloads: self.reloads.load(Ordering::Relaxed),
            resyncs: self.resyncs.load(Ordering::Relaxed),
            lag_micros: self
                .behind_since
                .lock()
                .map_or(0, |t| t.elapsed().as_micros() as u64),
            lag_max_micros: self.lag_max_micros.load(Ordering::Relaxed),
        }
    }
}

impl Drop for ReplicaState {
    fn drop(&mut self) {
        // The replica is gone: stop holding storage's read floor back. The volume has no
        // call to unregister an instance; a floor of "everything" never binds.
        self.pager
            .volume()
            .set_min_read_point(self.instance, Lsn::MAX);
    }
}

/// Stops the applier thread when the database (its `Shared`) is dropped.
pub(crate) struct Applier {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Applier {
    fn drop(&mut self) {
        // Disconnecting the stop channel wakes the thread out of its select.
        self.stop.take();
        if let Some(t) = self.thread.take() {
            // The applier itself may drop the last database handle; it then just returns.
            if t.thread().id() != std::thread::current().id() {
                let _ = t.join();
            }
        }
    }
}

/// A page source that notes the leaf pages it reads (to watch the catalog's pages).
struct Recording<'a> {
    view: View<'a>,
    pages: Mutex<HashSet<PageNo>>,
}

impl PageSource for Recording<'_> {
    fn page(&self, page: PageNo) -> Result<PageRef> {
        self.pages.lock().insert(page);
        self.view.page(page)
    }
}

/// Read the catalog as of `lsn` and the set of system-tree pages it lives on.
fn load_catalog(store: &Store, pager: &Pager, lsn: Lsn) -> Result<(Catalog, HashSet<PageNo>)> {
    let src = Recording {
        view: pager.view_at(lsn),
        pages: Mutex::new(HashSet::new()),
    };
    let mut records = Vec::new();
    BTree::open(store.system_tree()).scan_with(
        &src,
        Bound::Unbounded,
        Bound::Unbounded,
        false,
        &mut |k, v| {
            records.push((k.to_vec(), v.to_vec()));
            Ok(true)
        },
    )?;
    let cat = catalog::load(records)?;
    Ok((cat, src.pages.into_inner()))
}

/// A replica id unique in this process and unlikely to collide across processes.
fn next_instance_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    (u64::from(std::process::id()) << 16) | (NEXT.fetch_add(1, Ordering::Relaxed) & 0xffff)
}

/// Everything `Database::open_replica` needs to build its `Shared`.
pub(crate) struct Opened {
    pub store: Arc<Store>,
    pub catalog: Catalog,
    pub state: Arc<ReplicaState>,
    start: Lsn,
    watched: HashSet<PageNo>,
    rx: Receiver<LogEvent>,
}

/// Open a replica's store on a read-only volume handle at the current VDL.
pub(crate) fn open(volume: Arc<dyn Volume>, pool_bytes: usize) -> Result<Opened> {
    // Subscribe before choosing the start point: everything after it is on the stream,
    // and anything appended before it but not yet durable shows up as a hole.
    let rx = volume.subscribe();
    let start = volume.durable_lsn();
    let store = Arc::new(Store::paged_read_only(volume, pool_bytes, start)?);
    let pager = store
        .pager()
        .ok_or_else(|| crate::Error::internal("replica store has no pager"))?
        .clone();
    if store.system_tree() == 0 {
        return Err(crate::Error::internal(
            "the volume holds no database yet: open the writer first",
        ));
    }
    let instance = next_instance_id();
    pager.report_read_floor_as(instance);
    let (catalog, watched) = load_catalog(&store, &pager, start)?;
    let state = Arc::new(ReplicaState {
        instance,
        pager,
        catalogs: Mutex::new(VecDeque::from([(start, Arc::new(catalog.clone()))])),
        last_apply_micros: AtomicU64::new(0),
        records: AtomicU64::new(0),
        reloads: AtomicU64::new(0),
        resyncs: AtomicU64::new(0),
        behind_since: Mutex::new(None),
        lag_max_micros: AtomicU64::new(0),
    });
    Ok(Opened {
        store,
        catalog,
        state,
        start,
        watched,
        rx,
    })
}

/// Start the applier thread of an opened replica.
pub(crate) fn start(o: Opened, shared: Weak<Shared>) -> Result<Applier> {
    let (stop_tx, stop_rx) = crossbeam::channel::bounded::<()>(0);
    let mut ap = Apply {
        store: o.store,
        state: o.state,
        shared,
        read_point: o.start,
        next_lsn: o.start + 1,
        missed_until: 0,
        pending: VecDeque::new(),
        watched: o.watched,
    };
    let rx = o.rx;
    let thread = std::thread::Builder::new()
        .name("replica-apply".into())
        .spawn(move || ap.run(rx, stop_rx))
        .map_err(|e| crate::Error::internal(format!("cannot start the replica applier: {e}")))?;
    Ok(Applier {
        stop: Some(stop_tx),
        thread: Some(thread),
    })
}

struct Apply {
    store: Arc<Store>,
    state: Arc<ReplicaState>,
    shared: Weak<Shared>,
    read_point: Lsn,
    /// The LSN the next record on the stream should have (LSNs are consecutive).
    next_lsn: Lsn,
    /// Records up to here were never received: resync when moving past them.
    missed_until: Lsn,
    /// Received records above the read point, in LSN order.
    pending: VecDeque<LogRecord>,
    /// System-tree pages as of the last catalog load.
    watched: HashSet<PageNo>,
}

impl Apply {
    fn run(&mut self, rx: Receiver<LogEvent>, stop: Receiver<()>) {
        loop {
            let first = crossbeam::select! {
                recv(rx) -> ev => match ev {
                    Ok(ev) => ev,
                    Err(_) => return, // the volume closed
                },
                recv(stop) -> _ => return,
            };
            let t0 = Instant::now();
            let mut vdl = self.take(first);
            // Batch whatever else is queued: one publish for many commits under load.
            while let Ok(ev) = rx.try_recv() {
                vdl = vdl.max(self.take(ev));
            }
            if vdl > self.read_point {
                self.state.behind_since.lock().get_or_insert(t0);
                if let Err(e) = self.advance(vdl) {
                    tracing::error!(error = %e, "replica apply failed; resyncing");
                    self.missed_until = vdl;
                    if let Err(e) = self.advance(vdl) {
                        tracing::error!(error = %e, "replica resync failed");
                    }
                }
                self.state
                    .last_apply_micros
                    .store(t0.elapsed().as_micros() as u64, Ordering::Relaxed);
                let mut behind = self.state.behind_since.lock();
                if let Some(since) = *behind {
                    self.state
                        .lag_max_micros
                        .fetch_max(since.elapsed().as_micros() as u64, Ordering::Relaxed);
                }
                // Caught up with the volume, or still behind since a VDL advance that
                // arrived during this apply at the latest.
                let vdl_now = self.state.pager.volume().durable_lsn();
                *behind = (vdl_now > self.read_point).then_some(t0);
            }
        }
    }

    /// Queue an event's records; returns the VDL it announces (0 for records).
    fn take(&mut self, ev: LogEvent) -> Lsn {
        match ev {
            LogEvent::Records(rs) => {
                for r in rs {
                    if r.lsn <= self.read_point {
                        continue;
                    }
                    if r.lsn < self.next_lsn {
                        // A new writer reused LSNs of records that never became
                        // durable: those are gone.
                        while self.pending.back().is_some_and(|p| p.lsn >= r.lsn) {
                            self.pending.pop_back();
                        }
                    } else if r.lsn > self.next_lsn {
                        self.missed_until = self.missed_until.max(r.lsn - 1);
                    }
                    self.next_lsn = r.lsn + 1;
                    self.pending.push_back(r);
                }
                0
            }
            LogEvent::Durable(v) => v,
        }
    }

    /// Apply everything up to `vdl` and publish it as the read point.
    fn advance(&mut self, vdl: Lsn) -> Result<()> {
        if vdl >= self.next_lsn {
            // Durable records that never reached this stream.
            self.missed_until = self.missed_until.max(vdl);
            self.next_lsn = vdl + 1;
        }
        let pager = self.state.pager.clone();
        let mut n = 0u64;
        let mut catalog_changed = false;
        let resync = self.missed_until > self.read_point;
        while self.pending.front().is_some_and(|r| r.lsn <= vdl) {
            let r = self.pending.pop_front().expect("front exists");
            n += 1;
            catalog_changed |= self.watched.contains(&r.page);
            if !resync {
                pager.apply(&r)?;
            }
        }
        self.state.records.fetch_add(n, Ordering::Relaxed);
        if resync {
            pager.forget_all(vdl);
            self.state.resyncs.fetch_add(1, Ordering::Relaxed);
        }
        if resync || catalog_changed {
            let (cat, watched) = load_catalog(&self.store, &pager, vdl)?;
            self.watched = watched;
            let cat = Arc::new(cat);
            {
                let mut h = self.state.catalogs.lock();
                h.push_back((vdl, cat.clone()));
                // Versions no live snapshot can still need go (keep a bounded history).
                let oldest = pager.oldest_reader();
                while h.len() > CATALOG_HISTORY || (h.len() > 1 && h[1].0 <= oldest) {
                    h.pop_front();
                }
            }
            if let Some(sh) = self.shared.upgrade() {
                sh.set_catalog(cat);
            }
            self.state.reloads.fetch_add(1, Ordering::Relaxed);
        }
        pager.set_read_point(vdl);
        self.read_point = vdl;
        Ok(())
    }
}
