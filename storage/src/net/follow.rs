//! Read replicas that follow the log from the storage nodes, not from the writer, so
//! they keep serving (at their last read point) while the writer is down, restarts or
//! is replaced, and pick up the new writer's log with no reconnection.
//!
//! [`follow_storage`] builds a [`RemoteFollower`] fed by a thread that asks, for every
//! PG, one storage node for its records in (read point, min(SCL, announced VDL)]
//! ([`crate::segment::Segment::follow`]). The VDL a follower publishes is the highest
//! MTR end V such that every LSN up to V was received, and V is at most the highest VDL
//! a writer announced to a node. Invariants:
//! - only durable records are ever delivered: each is at or below a VDL a writer
//!   computed, and recovery never truncates below an announced VDL, so a new epoch
//!   never invalidates what a replica applied (truncation above VDL is invisible here);
//! - LSNs are dense across PGs, so "every LSN up to V received" means complete;
//! - nodes of an epoch older than the newest one seen are not followed (they may hold
//!   records a new writer truncated);
//! - records that were folded into pages before they were fetched (the follower fell
//!   too far behind) are skipped: the follower jumps to the VDL and subscribers see a
//!   hole, which a replica handles by dropping its cache.
//!
//! [`Registrar`]: a database instance (replica or writer) registers with every node,
//! every [`HEARTBEAT`], its oldest read point (held back from materialization and log
//! GC, for `node::INSTANCE_TTL`) and a description; [`Registrar::list`] returns the
//! live instances (how `information_schema.replica_host_status` sees other processes).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::client::{AddrBook, NodeConn};
use super::stream::RemoteFollower;
use crate::{Error, LogRecord, Lsn, Result};

/// How often an instance refreshes its registration with the nodes.
pub const HEARTBEAT: Duration = Duration::from_millis(100);
/// Records fetched per request.
const BATCH: usize = 4096;
/// Longest pause between polls of an idle volume.
const MAX_IDLE: Duration = Duration::from_millis(2);

/// An instance's registration with the storage nodes (see the module doc).
pub struct Registrar {
    id: u64,
    conns: Vec<Arc<NodeConn>>,
    /// Read floors by engine instance; the registered floor is their minimum.
    floors: Mutex<HashMap<u64, Lsn>>,
    info: Mutex<Vec<u8>>,
}

impl Registrar {
    /// Register as `id` with the nodes of `book`, heartbeating from a background thread
    /// until the registrar is dropped.
    pub fn start(book: &AddrBook, id: u64, floor: Option<Lsn>) -> Arc<Registrar> {
        let conns = book
            .ids()
            .into_iter()
            .map(|n| Arc::new(NodeConn::new(n, book.clone())))
            .collect();
        let r = Arc::new(Registrar {
            id,
            conns,
            floors: Mutex::new(floor.map(|f| (0, f)).into_iter().collect()),
            info: Mutex::new(Vec::new()),
        });
        r.beat();
        let w = Arc::downgrade(&r);
        let _ = std::thread::Builder::new()
            .name("storage-heartbeat".into())
            .spawn(move || heartbeat(w));
        r
    }

    /// The id this instance is registered under.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Set the description other instances see in [`Registrar::list`].
    pub fn set_info(&self, info: Vec<u8>) {
        *self.info.lock() = info;
    }

    /// Move engine instance `instance`'s oldest read point (`Lsn::MAX`: none).
    pub fn set_floor(&self, instance: u64, at: Lsn) {
        let mut f = self.floors.lock();
        if at == Lsn::MAX {
            f.remove(&instance);
        } else {
            f.insert(instance, at);
        }
    }

    fn floor(&self) -> Option<Lsn> {
        self.floors.lock().values().min().copied()
    }

    /// Send the registration to every node now; how many nodes took it.
    pub fn beat(&self) -> usize {
        let (floor, info) = (self.floor(), self.info.lock().clone());
        self.conns
            .iter()
            .filter(|c| c.hello(self.id, floor, &info).is_ok())
            .count()
    }

    /// Live instances registered with any reachable node: (id, milliseconds since
    /// their last heartbeat, description), freshest report per id.
    pub fn list(&self) -> Vec<(u64, u64, Vec<u8>)> {
        let mut by_id: BTreeMap<u64, (u64, Vec<u8>)> = BTreeMap::new();
        for c in &self.conns {
            for (id, age, info) in c.instances().unwrap_or_default() {
                match by_id.get(&id) {
                    Some((a, _)) if *a <= age => {}
                    _ => {
                        by_id.insert(id, (age, info));
                    }
                }
            }
        }
        by_id.into_iter().map(|(id, (a, i))| (id, a, i)).collect()
    }
}

fn heartbeat(w: Weak<Registrar>) {
    loop {
        std::thread::sleep(HEARTBEAT);
        match w.upgrade() {
            Some(r) => {
                r.beat();
            }
            None => return,
        }
    }
}

/// A registration id unlikely to collide across processes and restarts.
pub fn fresh_instance_id() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    (u64::from(std::process::id()) << 32) | u64::from(nanos)
}

/// Follow the volume on the storage nodes of `book` (geometry: `pages_per_pg`,
/// `max_pages`, as the writer was configured) as a read-only [`crate::Volume`].
pub fn follow_storage(
    book: AddrBook,
    pages_per_pg: u64,
    max_pages: u64,
) -> Result<Arc<RemoteFollower>> {
    if pages_per_pg == 0 {
        return Err(Error::InvalidInput("zero pages per pg".into()));
    }
    let members = book.ids();
    if members.is_empty() {
        return Err(Error::InvalidInput("no storage nodes given".into()));
    }
    // Hold materialization back everywhere before choosing the start point, so every
    // page stays readable as of it.
    let reg = Registrar::start(&book, fresh_instance_id(), Some(0));
    let mut feed = Feed::new(&reg);
    let start = feed.start_point()?;
    reg.set_floor(0, start);
    reg.beat();
    let f = RemoteFollower::new(
        book,
        members,
        start,
        start,
        pages_per_pg,
        max_pages,
        RemoteFollower::storage_upstream(reg.clone()),
    );
    // Engine instances register their own floors from now on; the opening one goes.
    let r2 = reg.clone();
    let w = Arc::downgrade(&f);
    feed.pos = start;
    std::thread::Builder::new()
        .name("storage-follow".into())
        .spawn(move || {
            // Keep the start floor until an engine instance reports its own.
            let mut first = true;
            while let Some(f) = w.upgrade() {
                if first && r2.floors.lock().len() > 1 {
                    r2.set_floor(0, Lsn::MAX);
                    first = false;
                }
                let busy = feed.round(&f);
                drop(f);
                feed.pause(busy);
            }
        })?;
    Ok(f)
}

/// The follower thread's state.
struct Feed {
    conns: Vec<Arc<NodeConn>>,
    /// Everything up to here was delivered (an MTR end, durable).
    pos: Lsn,
    /// Received records above `pos`, by LSN.
    buf: BTreeMap<Lsn, LogRecord>,
    /// Highest LSN fetched per PG (fetches continue above it).
    fetched: HashMap<u64, Lsn>,
    /// The node each PG is followed from.
    src: HashMap<u64, usize>,
    pgs: Vec<u64>,
    pgs_at: Option<Instant>,
    epoch: u64,
    vdl: Lsn,
    stuck: u32,
    idle: Duration,
}

impl Feed {
    fn new(reg: &Registrar) -> Feed {
        Feed {
            conns: reg.conns.clone(),
            pos: 0,
            buf: BTreeMap::new(),
            fetched: HashMap::new(),
            src: HashMap::new(),
            pgs: Vec::new(),
            pgs_at: None,
            epoch: 0,
            vdl: 0,
            stuck: 0,
            idle: Duration::from_micros(100),
        }
    }

    fn refresh_pgs(&mut self) {
        if self
            .pgs_at
            .is_some_and(|t| t.elapsed() < Duration::from_secs(1))
        {
            return;
        }
        let mut pgs: Vec<u64> = self
            .conns
            .iter()
            .filter_map(|c| c.pgs().ok())
            .flatten()
            .collect();
        pgs.sort_unstable();
        pgs.dedup();
        self.pgs = pgs;
        self.pgs_at = Some(Instant::now());
    }

    /// Ask every node about `pg`; follow the one of the newest epoch with the highest
    /// SCL. Learns epochs and announced VDLs on the way.
    fn probe(&mut self, pg: u64) {
        let mut best: Option<(u64, Lsn, usize)> = None;
        for (i, c) in self.conns.iter().enumerate() {
            if let Ok(b) = c.follow(pg, Lsn::MAX - 1, 0) {
                self.vdl = self.vdl.max(b.vdl_hint);
                if best.is_none_or(|(e, s, _)| (b.epoch, b.scl) > (e, s)) {
                    best = Some((b.epoch, b.scl, i));
                }
            }
        }
        if let Some((e, _, i)) = best {
            self.epoch = self.epoch.max(e);
            self.src.insert(pg, i);
        }
    }

    /// The VDL to start at: the highest one any node of any PG was told.
    fn start_point(&mut self) -> Result<Lsn> {
        self.refresh_pgs();
        if self.pgs.is_empty() {
            return Err(Error::Unavailable(
                "no storage node reachable, or the volume holds nothing yet".into(),
            ));
        }
        for pg in self.pgs.clone() {
            self.probe(pg);
        }
        Ok(self.vdl)
    }

    /// One pass over the PGs; true if it made progress (poll again at once).
    fn round(&mut self, f: &RemoteFollower) -> bool {
        self.refresh_pgs();
        let mut more = false;
        let mut skipped = false;
        for pg in self.pgs.clone() {
            let Some(&i) = self.src.get(&pg) else {
                self.probe(pg);
                continue;
            };
            let from = self.fetched.get(&pg).copied().unwrap_or(0).max(self.pos);
            match self.conns[i].follow(pg, from, BATCH) {
                Ok(b) if b.epoch >= self.epoch => {
                    self.epoch = b.epoch;
                    self.vdl = self.vdl.max(b.vdl_hint);
                    match b.records {
                        None => skipped = true,
                        Some(rs) => {
                            more |= rs.len() == BATCH;
                            for r in rs {
                                self.fetched.insert(pg, r.lsn);
                                self.buf.insert(
                                    r.lsn,
                                    LogRecord {
                                        lsn: r.lsn,
                                        page: r.page,
                                        mtr_end: r.mtr_end,
                                        payload: r.payload,
                                    },
                                );
                            }
                        }
                    }
                }
                // Older epoch (may hold truncated records) or unreachable.
                _ => self.probe(pg),
            }
        }
        if skipped {
            // Records we needed were folded into pages: jump to the VDL.
            tracing::warn!(
                from = self.pos,
                to = self.vdl,
                "replica feed skipped records"
            );
            self.pos = self.vdl;
            self.buf = self.buf.split_off(&(self.vdl + 1));
            self.fetched.clear();
            f.skip_to(self.vdl);
            f.on_durable(self.vdl);
            return true;
        }
        // The complete prefix, up to the last MTR end at or below the VDL.
        let mut end = self.pos;
        let mut at = self.pos;
        while let Some(r) = self.buf.get(&(at + 1)) {
            if r.lsn > self.vdl {
                break;
            }
            at = r.lsn;
            if r.mtr_end {
                end = at;
            }
        }
        if end > self.pos {
            let rest = self.buf.split_off(&(end + 1));
            let recs: Vec<LogRecord> = std::mem::replace(&mut self.buf, rest)
                .into_values()
                .collect();
            f.on_records(recs);
            f.on_durable(end);
            self.pos = end;
            self.stuck = 0;
            return true;
        }
        if self.vdl > self.pos {
            // Durable records we cannot see from the chosen nodes: look elsewhere.
            self.stuck += 1;
            if self.stuck > 3 {
                self.stuck = 0;
                for pg in self.pgs.clone() {
                    self.probe(pg);
                }
            }
        }
        more
    }

    fn pause(&mut self, busy: bool) {
        if busy {
            self.idle = Duration::from_micros(100);
            return;
        }
        std::thread::sleep(self.idle);
        self.idle = (self.idle * 2).min(MAX_IDLE);
    }
}

/// Tell every storage node of `book` each VDL `vol` (a writer on those nodes) reaches,
/// as soon as it is reached, so replicas following the nodes see a commit without
/// waiting for the next append or the writer's periodic poll to carry it. One thread
/// per node sends only the newest VDL (older ones are superseded), with the writer's
/// current read floor, exactly as the writer's own polls do. Stops when `vol` closes.
pub fn announce_vdl(vol: &Arc<crate::LocalVolume>, book: &AddrBook) -> Result<()> {
    use crate::{LogEvent, Volume};
    let rx = Volume::subscribe(&**vol);
    let ids = book.ids();
    let latest = Arc::new((Mutex::new(0 as Lsn), parking_lot::Condvar::new()));
    for id in ids {
        let conn = NodeConn::new(id, book.clone());
        let latest = latest.clone();
        let v = Arc::downgrade(vol);
        std::thread::Builder::new()
            .name(format!("vdl-announce-{id}"))
            .spawn(move || {
                let mut sent = 0;
                loop {
                    let vdl = {
                        let (m, cv) = &*latest;
                        let mut g = m.lock();
                        while *g <= sent {
                            if cv.wait_for(&mut g, Duration::from_secs(1)).timed_out()
                                && v.strong_count() == 0
                            {
                                return;
                            }
                        }
                        *g
                    };
                    let Some(vol) = v.upgrade() else { return };
                    let floor = vol.min_read_point();
                    let pgs = vol.pg_count() as u64;
                    drop(vol);
                    for pg in 0..pgs {
                        let _ = conn.poll_limits(pg, vdl, floor);
                    }
                    sent = vdl;
                }
            })?;
    }
    std::thread::Builder::new()
        .name("vdl-announce".into())
        .spawn(move || {
            for ev in rx {
                if let LogEvent::Durable(v) = ev {
                    let (m, cv) = &*latest;
                    let mut g = m.lock();
                    if v > *g {
                        *g = v;
                        cv.notify_all();
                    }
                }
            }
        })?;
    Ok(())
}
