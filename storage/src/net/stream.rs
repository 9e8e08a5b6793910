//! Read replicas in other processes: the writer streams its log to them over TCP (as
//! Aurora's writer ships redo to its replicas), and they read pages straight from the
//! storage nodes.
//!
//! [`serve_log`] (writer side) sends, per connection: a hello (`base`: every record at or
//! below it is durable; the VDL; the volume geometry), the records above `base` already
//! in flight, then every record and VDL advance as they happen. The replica sends its
//! oldest read point back up, which the writer forwards to storage (log above it is
//! kept, pages are not materialized past it).
//!
//! [`RemoteFollower`] (replica side) implements [`Volume`] read-only. To read page P of
//! PG g at R it needs a replica whose SCL covers g's last record at or below R: it knows
//! that LSN from the stream for records above `base`, and otherwise asks a read quorum of
//! the nodes for their highest record at or below R (any durable record is on at least
//! one of three).
//!
//! Invariants: the follower never reports a VDL the writer did not announce; a lost
//! stream makes `wait_durable` fail instead of hanging.

use std::collections::{BTreeSet, HashMap};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam::channel::{unbounded, Receiver, Sender};
use parking_lot::{Condvar, Mutex};

use super::client::{AddrBook, TcpTransport};
use super::wire::*;
use crate::quorum::{NodeId, READ_QUORUM};
use crate::transport::Transport;
use crate::volume::{pg_of, LocalVolume};
use crate::{Error, LogEvent, LogRecord, Lsn, PageBuf, PageNo, PageWrite, Result, Volume};

const HELLO: u8 = 1;
const RECORDS: u8 = 2;
const DURABLE: u8 = 3;
const READ_POINT: u8 = 4;

/// Per-PG LSNs kept by a follower before the oldest are forgotten.
const RECENT_CAP: usize = 4096;

fn encode_records(recs: &[LogRecord]) -> Vec<u8> {
    let mut e = Enc::new();
    e.u64(recs.len() as u64);
    for r in recs {
        e.u64(r.lsn).u64(r.page).bool(r.mtr_end).bytes(&r.payload);
    }
    e.0
}

fn decode_records(b: &[u8]) -> Result<Vec<LogRecord>> {
    let mut d = Dec::new(b);
    let n = d.u64()?;
    let mut v = Vec::new();
    for _ in 0..n {
        v.push(LogRecord {
            lsn: d.u64()?,
            page: d.u64()?,
            mtr_end: d.bool()?,
            payload: d.bytes()?.to_vec(),
        });
    }
    d.end()?;
    Ok(v)
}

/// Serve the log of `vol` to remote replicas on `listener`.
pub fn serve_log(vol: Arc<LocalVolume>, listener: TcpListener) -> Result<JoinHandle<()>> {
    Ok(std::thread::Builder::new()
        .name("log-stream-accept".into())
        .spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let vol = vol.clone();
                let _ = std::thread::Builder::new()
                    .name("log-stream".into())
                    .spawn(move || {
                        if let Err(e) = stream_to(&vol, conn) {
                            tracing::debug!("log stream ended: {e}");
                        }
                    });
            }
        })?)
}

fn stream_to(vol: &Arc<LocalVolume>, mut conn: TcpStream) -> Result<()> {
    conn.set_nodelay(true)?;
    let (base, vdl, recs, rx) = vol.subscribe_from();
    let cfg = vol.config();
    write_frame(
        &mut conn,
        HELLO,
        &Enc::new()
            .u64(base)
            .u64(vdl)
            .u64(cfg.pages_per_pg())
            .u64(cfg.max_pages())
            .0,
    )?;
    if !recs.is_empty() {
        write_frame(&mut conn, RECORDS, &encode_records(&recs))?;
    }
    // Read points come back up on the same connection.
    let mut up = conn.try_clone()?;
    let v = Arc::downgrade(vol);
    std::thread::Builder::new()
        .name("log-stream-up".into())
        .spawn(move || {
            while let Ok((kind, body)) = read_frame(&mut up) {
                let mut d = Dec::new(&body);
                if let (READ_POINT, Ok(inst), Ok(at)) = (kind, d.u64(), d.u64()) {
                    match v.upgrade() {
                        Some(v) => v.set_min_read_point(inst, at),
                        None => return,
                    }
                }
            }
        })?;
    for ev in rx {
        match ev {
            LogEvent::Records(r) => write_frame(&mut conn, RECORDS, &encode_records(&r))?,
            LogEvent::Durable(l) => write_frame(&mut conn, DURABLE, &Enc::new().u64(l).0)?,
        }
    }
    Ok(())
}

#[derive(Default)]
struct Recent {
    lsns: BTreeSet<Lsn>,
    /// LSNs at or below this were forgotten.
    trimmed: Lsn,
}

struct FState {
    /// Every record at or below this is durable; records above it reach us on the
    /// stream (it moves up when a storage feed skips records it could not fetch).
    base: Lsn,
    vdl: Lsn,
    recent: HashMap<u64, Recent>,
    base_tails: HashMap<u64, Lsn>,
    scls: HashMap<(NodeId, u64), Lsn>,
    subs: Vec<Sender<LogEvent>>,
    closed: bool,
}

/// Where a follower's log comes from, and where its read floor goes.
pub(super) enum Upstream {
    /// The writer's log stream ([`serve_log`]); read points go back up on it.
    Writer(Mutex<TcpStream>),
    /// The storage nodes themselves ([`super::follow`]); read points go to them.
    Storage(Arc<super::follow::Registrar>),
}

/// A read-only [`Volume`] for a replica in another process.
pub struct RemoteFollower {
    pub(super) net: Arc<TcpTransport>,
    pub(super) members: Vec<NodeId>,
    pub(super) pages_per_pg: u64,
    max_pages: u64,
    st: Mutex<FState>,
    changed: Condvar,
    up: Upstream,
}

impl RemoteFollower {
    /// Follow the writer streaming at `writer`, reading pages from the nodes in `nodes`.
    pub fn connect(writer: SocketAddr, nodes: AddrBook) -> Result<Arc<RemoteFollower>> {
        let mut conn = TcpStream::connect_timeout(&writer, Duration::from_secs(5))?;
        conn.set_nodelay(true)?;
        let (kind, body) = read_frame(&mut conn)?;
        if kind != HELLO {
            return Err(Error::Corrupted(
                "log stream did not start with hello".into(),
            ));
        }
        let mut d = Dec::new(&body);
        let (base, vdl, ppg, max_pages) = (d.u64()?, d.u64()?, d.u64()?, d.u64()?);
        if ppg == 0 {
            return Err(Error::Corrupted("zero pages per pg".into()));
        }
        let members = nodes.ids();
        let up = Upstream::Writer(Mutex::new(conn.try_clone()?));
        let f = Self::new(nodes, members, base, vdl, ppg, max_pages, up);
        let w = Arc::downgrade(&f);
        std::thread::Builder::new()
            .name("follower-stream".into())
            .spawn(move || {
                while let Ok((kind, body)) = read_frame(&mut conn) {
                    let Some(f) = w.upgrade() else { return };
                    if f.on_frame(kind, &body).is_err() {
                        break;
                    }
                }
                if let Some(f) = w.upgrade() {
                    let mut st = f.st.lock();
                    st.closed = true;
                    st.subs.clear();
                    f.changed.notify_all();
                }
            })?;
        Ok(f)
    }

    pub(super) fn new(
        nodes: AddrBook,
        members: Vec<NodeId>,
        base: Lsn,
        vdl: Lsn,
        pages_per_pg: u64,
        max_pages: u64,
        up: Upstream,
    ) -> Arc<RemoteFollower> {
        Arc::new(RemoteFollower {
            net: TcpTransport::new(nodes, &members),
            members,
            pages_per_pg,
            max_pages,
            st: Mutex::new(FState {
                base,
                vdl,
                recent: HashMap::new(),
                base_tails: HashMap::new(),
                scls: HashMap::new(),
                subs: Vec::new(),
                closed: false,
            }),
            changed: Condvar::new(),
            up,
        })
    }

    pub(super) fn storage_upstream(r: Arc<super::follow::Registrar>) -> Upstream {
        Upstream::Storage(r)
    }

    /// The registration with storage of a follower fed by the storage nodes.
    pub fn registrar(&self) -> Option<&Arc<super::follow::Registrar>> {
        match &self.up {
            Upstream::Storage(r) => Some(r),
            Upstream::Writer(_) => None,
        }
    }

    fn on_frame(&self, kind: u8, body: &[u8]) -> Result<()> {
        match kind {
            RECORDS => self.on_records(decode_records(body)?),
            DURABLE => self.on_durable(Dec::new(body).u64()?),
            k => return Err(Error::Corrupted(format!("unknown stream frame {k}"))),
        }
        Ok(())
    }

    /// Records skipped up to `to` (an MTR end, durable): reads at or below it ask
    /// storage for the PG tails, and subscribers see a hole (and resync).
    pub(super) fn skip_to(&self, to: Lsn) {
        let mut st = self.st.lock();
        st.base = st.base.max(to);
        st.recent.clear();
        st.base_tails.clear();
    }

    pub(super) fn on_records(&self, recs: Vec<LogRecord>) {
        let mut st = self.st.lock();
        {
            {
                for r in &recs {
                    let pg = r.page / self.pages_per_pg;
                    let e = st.recent.entry(pg).or_default();
                    e.lsns.insert(r.lsn);
                    if e.lsns.len() > RECENT_CAP {
                        let drop_upto = *e
                            .lsns
                            .iter()
                            .nth(RECENT_CAP / 2)
                            .expect("more than cap entries");
                        e.lsns = e.lsns.split_off(&drop_upto);
                        e.trimmed = drop_upto - 1;
                    }
                }
                st.subs
                    .retain(|s| s.send(LogEvent::Records(recs.clone())).is_ok());
            }
        }
    }

    pub(super) fn on_durable(&self, l: Lsn) {
        let mut st = self.st.lock();
        if l > st.vdl {
            st.vdl = l;
            st.subs.retain(|s| s.send(LogEvent::Durable(l)).is_ok());
            self.changed.notify_all();
        }
    }

    /// The highest record LSN <= `v` of `pg`, from a read quorum of the nodes.
    fn tail_quorum(&self, pg: u64, v: Lsn) -> Result<Lsn> {
        let tails: Vec<Lsn> = self
            .members
            .iter()
            .filter_map(|&n| self.net.tail(n, pg, v).ok())
            .collect();
        if tails.len() < READ_QUORUM {
            return Err(Error::QuorumLost { pg });
        }
        Ok(tails.into_iter().max().unwrap_or(0))
    }

    /// The SCL a replica needs to serve `pg` at `at`: the PG's last LSN at or below it.
    fn need(&self, pg: u64, at: Lsn) -> Result<Lsn> {
        let (base, streamed, trimmed, cached) = {
            let st = self.st.lock();
            let r = st.recent.get(&pg);
            (
                st.base,
                r.and_then(|r| r.lsns.range(..=at).next_back().copied()),
                r.map_or(0, |r| r.trimmed),
                st.base_tails.get(&pg).copied(),
            )
        };
        if at < base {
            return self.tail_quorum(pg, at);
        }
        if let Some(l) = streamed {
            return Ok(l); // forgotten LSNs are all below the remembered ones
        }
        if trimmed > base {
            return self.tail_quorum(pg, at);
        }
        // No record of this PG in (base, at]: its last one is at or below base.
        match cached {
            Some(t) => Ok(t),
            None => {
                let t = self.tail_quorum(pg, base)?;
                let mut st = self.st.lock();
                if st.base == base {
                    st.base_tails.insert(pg, t);
                }
                Ok(t)
            }
        }
    }

    fn refresh(&self, pg: u64) {
        let seen: Vec<(NodeId, Lsn)> = self
            .members
            .iter()
            .filter_map(|&n| match self.net.poll(n, pg, 0, None) {
                Ok(Some(s)) if !s.damaged => Some((n, s.scl)),
                _ => None,
            })
            .collect();
        let mut st = self.st.lock();
        for (n, scl) in seen {
            st.scls.insert((n, pg), scl);
        }
    }
}

impl Volume for RemoteFollower {
    fn append_mtr(&self, _writes: Vec<PageWrite>) -> Result<Lsn> {
        Err(Error::ReadOnly)
    }

    fn wait_durable(&self, lsn: Lsn) -> Result<()> {
        let mut st = self.st.lock();
        loop {
            if st.vdl >= lsn {
                return Ok(());
            }
            if st.closed {
                return Err(Error::Unavailable("log stream from the writer lost".into()));
            }
            self.changed.wait(&mut st);
        }
    }

    fn durable_lsn(&self) -> Lsn {
        self.st.lock().vdl
    }

    fn last_lsn(&self) -> Lsn {
        self.durable_lsn()
    }

    fn read_page(&self, page: PageNo, at: Lsn) -> Result<PageBuf> {
        let pg = pg_of(page, self.pages_per_pg, self.max_pages)?;
        let need = self.need(pg, at)?;
        let mut last_err = None;
        for attempt in 0..3 {
            let mut cands: Vec<(Lsn, NodeId)> = {
                let st = self.st.lock();
                self.members
                    .iter()
                    .filter_map(|&n| {
                        let s = st.scls.get(&(n, pg)).copied()?;
                        (s >= need).then_some((s, n))
                    })
                    .collect()
            };
            cands.sort_unstable_by(|a, b| b.cmp(a));
            for (_, n) in cands {
                match self.net.read_page(n, pg, page, at, need) {
                    Ok(p) => return Ok(p),
                    Err(e) => last_err = Some(e),
                }
            }
            self.refresh(pg);
            if attempt > 0 {
                std::thread::sleep(Duration::from_millis(10));
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
        match &self.up {
            Upstream::Writer(up) => {
                let _ = write_frame(
                    &mut *up.lock(),
                    READ_POINT,
                    &Enc::new().u64(instance).u64(at).0,
                );
            }
            Upstream::Storage(r) => r.set_floor(instance, at),
        }
    }
}
