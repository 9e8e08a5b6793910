//! Client side of the TCP transport: a writer's [`TcpTransport`] and a node's
//! [`TcpPeers`] (gossip), both over [`NodeConn`] request/response connections.
//!
//! Appends to a node flow on a dedicated connection fed by a writer thread (so the
//! volume never blocks on a socket while holding its lock); a reader thread turns the
//! node's ACK frames into [`AckSink`] calls. A lost connection loses the appends in
//! flight on it, which the volume resends. Every failure surfaces as
//! `Error::Unavailable`; after a failed connect a node is skipped for a short backoff.

use std::collections::HashMap;
use std::io::Write;
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam::channel::{unbounded, Receiver, Sender};
use parking_lot::Mutex;

use super::membership::{Membership, NodeView};
use super::wire::*;
use crate::node::{AckSink, AppendMsg};
use crate::quorum::NodeId;
use crate::record::Record;
use crate::segment::{FollowBatch, SegStatus, SlotImage, Snapshot, Trunc};
use crate::transport::{Peer, PeerSet, Transport};
use crate::{zero_page, Error, Lsn, PageBuf, PageNo, Result, PAGE_SIZE};

const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
const BACKOFF: Duration = Duration::from_millis(300);

/// Where storage nodes listen: fixed addresses and/or a directory of `node-<id>.addr`
/// files that nodes publish when they start (so a restarted node on a new port is
/// found again), and addresses learned from a volume membership (a node that replaced
/// a dead one; shared by every clone of the book).
#[derive(Clone, Debug, Default)]
pub struct AddrBook {
    pub fixed: HashMap<NodeId, SocketAddr>,
    pub dir: Option<PathBuf>,
    learned: Arc<Mutex<HashMap<NodeId, SocketAddr>>>,
}

impl AddrBook {
    /// Parse `id=host:port` pairs.
    pub fn parse_fixed(pairs: &[String]) -> Result<Self> {
        let mut fixed = HashMap::new();
        for p in pairs {
            let (id, addr) = p
                .split_once('=')
                .ok_or_else(|| Error::InvalidInput(format!("expected id=addr, got {p}")))?;
            let id: NodeId = id
                .parse()
                .map_err(|_| Error::InvalidInput(format!("bad node id in {p}")))?;
            let addr: SocketAddr = addr
                .parse()
                .map_err(|_| Error::InvalidInput(format!("bad address in {p}")))?;
            fixed.insert(id, addr);
        }
        Ok(Self {
            fixed,
            ..Self::default()
        })
    }

    /// A book that reads (and publishes) addresses in `dir`.
    pub fn in_dir(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: Some(dir.into()),
            ..Self::default()
        }
    }

    /// Where node `id` listens: a fixed address, else its published one, else one
    /// learned from a membership.
    pub fn lookup(&self, id: NodeId) -> Option<SocketAddr> {
        if let Some(a) = self.fixed.get(&id) {
            return Some(*a);
        }
        let published = self.dir.as_ref().and_then(|d| {
            std::fs::read_to_string(d.join(format!("node-{id}.addr")))
                .ok()?
                .trim()
                .parse()
                .ok()
        });
        published.or_else(|| self.learned.lock().get(&id).copied())
    }

    /// Remember that node `id` listens on `addr` (used when nothing else names it).
    pub fn learn(&self, id: NodeId, addr: SocketAddr) {
        self.learned.lock().insert(id, addr);
    }

    /// Record that node `id` listens on `addr` (no-op without a directory).
    pub fn publish(&self, id: NodeId, addr: SocketAddr) -> Result<()> {
        if let Some(d) = &self.dir {
            std::fs::create_dir_all(d)?;
            let tmp = d.join(format!("node-{id}.addr.tmp"));
            std::fs::write(&tmp, addr.to_string())?;
            std::fs::rename(&tmp, d.join(format!("node-{id}.addr")))?;
        }
        Ok(())
    }

    /// Every node id the book knows.
    pub fn ids(&self) -> Vec<NodeId> {
        let mut v: Vec<NodeId> = self.fixed.keys().copied().collect();
        v.extend(self.learned.lock().keys().copied());
        if let Some(d) = &self.dir {
            if let Ok(rd) = std::fs::read_dir(d) {
                for e in rd.flatten() {
                    let name = e.file_name();
                    let name = name.to_string_lossy();
                    if let Some(id) = name
                        .strip_prefix("node-")
                        .and_then(|s| s.strip_suffix(".addr"))
                        .and_then(|s| s.parse().ok())
                    {
                        v.push(id);
                    }
                }
            }
        }
        v.sort_unstable();
        v.dedup();
        v
    }
}

fn unavailable(id: NodeId, e: impl std::fmt::Display) -> Error {
    Error::Unavailable(format!("node {id}: {e}"))
}

fn connect(book: &AddrBook, id: NodeId) -> Result<TcpStream> {
    let addr = book
        .lookup(id)
        .ok_or_else(|| unavailable(id, "address unknown"))?;
    let s = TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT).map_err(|e| unavailable(id, e))?;
    s.set_nodelay(true)?;
    Ok(s)
}

/// A request/response connection to one node (one call at a time).
pub struct NodeConn {
    id: NodeId,
    book: AddrBook,
    conn: Mutex<Option<TcpStream>>,
    down_until: Mutex<Option<Instant>>,
}

impl NodeConn {
    pub fn new(id: NodeId, book: AddrBook) -> Self {
        Self {
            id,
            book,
            conn: Mutex::new(None),
            down_until: Mutex::new(None),
        }
    }

    /// Send one request and wait for its response.
    pub fn call(&self, kind: u8, body: &[u8]) -> Result<Vec<u8>> {
        let mut g = self.conn.lock();
        for attempt in 0..2 {
            if g.is_none() {
                if self.down_until.lock().is_some_and(|t| Instant::now() < t) {
                    return Err(unavailable(self.id, "recently unreachable"));
                }
                match connect(&self.book, self.id) {
                    Ok(s) => {
                        s.set_read_timeout(Some(CALL_TIMEOUT))?;
                        *g = Some(s);
                    }
                    Err(e) => {
                        *self.down_until.lock() = Some(Instant::now() + BACKOFF);
                        return Err(e);
                    }
                }
            }
            let s = g.as_mut().expect("connected above");
            let res = write_frame(s, kind, body).and_then(|()| read_frame(s));
            match res {
                Ok((RESP_OK, b)) => return Ok(b),
                Ok((RESP_ERR, b)) => return Err(Dec::new(&b).error()?),
                Ok((k, _)) => {
                    *g = None;
                    return Err(Error::Corrupted(format!("unexpected response kind {k}")));
                }
                Err(e) => {
                    // A stale connection (the node restarted): reconnect once.
                    *g = None;
                    if attempt == 1 {
                        return Err(unavailable(self.id, e));
                    }
                }
            }
        }
        Err(unavailable(self.id, "unreachable"))
    }
}

impl NodeConn {
    /// Register (or refresh) a database instance with this node ([`crate::node::Node::hello`]).
    pub fn hello(&self, instance: u64, floor: Option<Lsn>, info: &[u8]) -> Result<()> {
        self.call(
            REQ_HELLO,
            &Enc::new().u64(instance).opt_u64(floor).bytes(info).0,
        )?;
        Ok(())
    }

    /// Durable records of `pg` above `from` ([`crate::segment::Segment::follow`]).
    pub fn follow(&self, pg: u64, from: Lsn, max: usize) -> Result<FollowBatch> {
        let b = self.call(REQ_FOLLOW, &Enc::new().u64(pg).u64(from).u64(max as u64).0)?;
        let mut d = Dec::new(&b);
        let (epoch, vdl_hint, scl) = (d.u64()?, d.u64()?, d.u64()?);
        let records = match d.bool()? {
            true => Some(d.records()?),
            false => None,
        };
        d.end()?;
        Ok(FollowBatch {
            epoch,
            vdl_hint,
            scl,
            records,
        })
    }

    /// Instances registered with this node: (id, ms since heartbeat, description).
    pub fn instances(&self) -> Result<Vec<(u64, u64, Vec<u8>)>> {
        let b = self.call(REQ_INSTANCES, &[])?;
        let mut d = Dec::new(&b);
        let n = d.u64()?;
        let mut v = Vec::new();
        for _ in 0..n {
            v.push((d.u64()?, d.u64()?, d.bytes()?.to_vec()));
        }
        d.end()?;
        Ok(v)
    }

    /// Pass the writer's VDL and read floor to the node's replica of `pg` (a poll).
    pub fn poll_limits(&self, pg: u64, vdl: Lsn, floor: Option<Lsn>) -> Result<()> {
        self.call(REQ_POLL, &Enc::new().u64(pg).u64(vdl).opt_u64(floor).0)?;
        Ok(())
    }

    /// Protection groups this node holds.
    pub fn pgs(&self) -> Result<Vec<u64>> {
        self.peer_pgs()
    }
}

fn opt_status(b: &[u8]) -> Result<Option<SegStatus>> {
    let mut d = Dec::new(b);
    let r = match d.bool()? {
        true => Some(d.status()?),
        false => None,
    };
    d.end()?;
    Ok(r)
}

impl Peer for NodeConn {
    fn peer_id(&self) -> NodeId {
        self.id
    }
    fn peer_pgs(&self) -> Result<Vec<u64>> {
        let b = self.call(REQ_PGS, &[])?;
        Dec::new(&b).u64s()
    }
    fn peer_status(&self, pg: u64) -> Result<Option<SegStatus>> {
        opt_status(&self.call(REQ_PEER_STATUS, &Enc::new().u64(pg).0)?)
    }
    fn peer_epoch(&self, pg: u64) -> Result<(u64, Vec<Trunc>)> {
        let b = self.call(REQ_PEER_EPOCH, &Enc::new().u64(pg).0)?;
        let mut d = Dec::new(&b);
        Ok((d.u64()?, d.truncs()?))
    }
    fn peer_records_after(&self, pg: u64, from: Lsn, max: usize) -> Result<Option<Vec<Record>>> {
        let b = self.call(
            REQ_RECORDS_AFTER,
            &Enc::new().u64(pg).u64(from).u64(max as u64).0,
        )?;
        let mut d = Dec::new(&b);
        Ok(match d.bool()? {
            true => Some(d.records()?),
            false => None,
        })
    }
    fn peer_snapshot_begin(&self, pg: u64) -> Result<Snapshot> {
        let b = self.call(REQ_SNAPSHOT_BEGIN, &Enc::new().u64(pg).0)?;
        Dec::new(&b).snapshot()
    }
    fn peer_snapshot_pages(&self, pg: u64, from: u64, max: usize) -> Result<(Vec<SlotImage>, u64)> {
        let b = self.call(
            REQ_SNAPSHOT_PAGES,
            &Enc::new().u64(pg).u64(from).u64(max as u64).0,
        )?;
        let mut d = Dec::new(&b);
        let pages = d.pages()?;
        let next = d.u64()?;
        d.end()?;
        Ok((pages, next))
    }
    fn peer_snapshot_end(&self, pg: u64) -> Result<()> {
        self.call(REQ_SNAPSHOT_END, &Enc::new().u64(pg).0)?;
        Ok(())
    }
}

/// A node's view of its peers over TCP.
pub struct TcpPeers {
    me: NodeId,
    book: AddrBook,
    conns: Mutex<HashMap<NodeId, Arc<NodeConn>>>,
}

impl TcpPeers {
    pub fn new(me: NodeId, book: AddrBook) -> Self {
        Self {
            me,
            book,
            conns: Mutex::new(HashMap::new()),
        }
    }
}

impl PeerSet for TcpPeers {
    fn peers_of(&self, _id: NodeId) -> Vec<Arc<dyn Peer>> {
        let mut c = self.conns.lock();
        self.book
            .ids()
            .into_iter()
            .filter(|&id| id != self.me)
            .map(|id| {
                c.entry(id)
                    .or_insert_with(|| Arc::new(NodeConn::new(id, self.book.clone())))
                    .clone() as Arc<dyn Peer>
            })
            .collect()
    }
    fn writer_linked(&self, _id: NodeId) -> bool {
        true
    }
}

type SinkSlot = Arc<Mutex<Option<Arc<dyn AckSink>>>>;

struct RemoteNode {
    sync: NodeConn,
    appends: Sender<AppendMsg>,
}

/// The writer's transport to storage-node processes. Connections are made on first
/// use, so a node that joins later (a membership change) is reached like the others.
pub struct TcpTransport {
    book: AddrBook,
    nodes: Mutex<HashMap<NodeId, Arc<RemoteNode>>>,
    /// The volume membership this writer works with (see [`super::membership`]).
    membership: Mutex<Option<Membership>>,
}

impl TcpTransport {
    /// A transport to the nodes `book` knows; `ids` are connected eagerly.
    pub fn new(book: AddrBook, ids: &[NodeId]) -> Arc<Self> {
        let t = Arc::new(Self {
            book,
            nodes: Mutex::new(HashMap::new()),
            membership: Mutex::new(None),
        });
        for &id in ids {
            t.node(id);
        }
        t
    }

    /// The address book (shared: addresses learned from a membership land here).
    pub fn book(&self) -> &AddrBook {
        &self.book
    }

    fn node(&self, id: NodeId) -> Arc<RemoteNode> {
        self.nodes
            .lock()
            .entry(id)
            .or_insert_with(|| {
                let (tx, rx) = unbounded();
                let b = self.book.clone();
                let _ = std::thread::Builder::new()
                    .name(format!("tcp-append-{id}"))
                    .spawn(move || append_loop(id, b, rx));
                Arc::new(RemoteNode {
                    sync: NodeConn::new(id, self.book.clone()),
                    appends: tx,
                })
            })
            .clone()
    }

    /// Node `id`'s own identity (id, AZ), the membership it stores and the join
    /// requests it heard of.
    pub fn node_view(&self, id: NodeId) -> Result<NodeView> {
        let b = self.node(id).sync.call(REQ_MEMBERSHIP, &[])?;
        let mut d = Dec::new(&b);
        let v = NodeView::decode(&mut d)?;
        d.end()?;
        Ok(v)
    }

    /// Offer `m` to node `id` as the writer of epoch `epoch`; the node keeps it if
    /// newer than its own (and fails with `Fenced` if it has seen a newer writer);
    /// returns the membership the node holds afterwards.
    pub fn offer_membership(
        &self,
        id: NodeId,
        epoch: u64,
        m: &Membership,
    ) -> Result<Option<Membership>> {
        let mut e = Enc::new();
        e.u64(epoch);
        m.encode(&mut e);
        let b = self.node(id).sync.call(REQ_SET_MEMBERSHIP, &e.0)?;
        let mut d = Dec::new(&b);
        let cur = Membership::decode_opt(&mut d)?;
        d.end()?;
        Ok(cur)
    }

    /// The membership this writer works with (None: not discovered yet).
    pub fn membership(&self) -> Option<Membership> {
        self.membership.lock().clone()
    }

    /// Work with `m` from now on (and learn its members' addresses).
    pub fn set_membership(&self, m: Membership) {
        for x in &m.members {
            if let Some(a) = x.addr {
                if self.book.lookup(x.id).is_none() {
                    self.book.learn(x.id, a);
                }
            }
        }
        *self.membership.lock() = Some(m);
    }
}

fn append_loop(id: NodeId, book: AddrBook, rx: Receiver<AppendMsg>) {
    let sink: SinkSlot = Arc::new(Mutex::new(None));
    let mut conn: Option<TcpStream> = None;
    let mut down_until: Option<Instant> = None;
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while let Ok(m) = rx.try_recv() {
            batch.push(m);
        }
        if let Some(m) = batch.last() {
            *sink.lock() = Some(m.sink.clone());
        }
        if conn.is_none() {
            if down_until.is_some_and(|t| Instant::now() < t) {
                continue; // dropped: the volume resends
            }
            match connect(&book, id).and_then(|s| Ok((s.try_clone()?, s))) {
                Ok((r, w)) => {
                    let sink = sink.clone();
                    let _ = std::thread::Builder::new()
                        .name(format!("tcp-acks-{id}"))
                        .spawn(move || ack_loop(id, r, sink));
                    conn = Some(w);
                }
                Err(_) => {
                    down_until = Some(Instant::now() + BACKOFF);
                    continue;
                }
            }
        }
        let mut buf = Vec::new();
        for m in &batch {
            let mut e = Enc::new();
            e.u64(m.pg)
                .u64(m.epoch)
                .truncs(&m.truncs)
                .u64(m.vdl)
                .opt_u64(m.floor);
            if e.records(m.recs.iter().map(|r| &**r)).is_err() {
                continue;
            }
            let _ = write_frame(&mut buf, REQ_APPEND, &e.0);
        }
        let w = conn.as_mut().expect("connected above");
        if w.write_all(&buf).is_err() {
            let _ = w.shutdown(Shutdown::Both);
            conn = None;
        }
    }
    if let Some(c) = conn {
        let _ = c.shutdown(Shutdown::Both);
    }
}

fn ack_loop(id: NodeId, mut r: TcpStream, sink: SinkSlot) {
    while let Ok((kind, body)) = read_frame(&mut r) {
        if kind != ACK {
            continue;
        }
        let mut d = Dec::new(&body);
        let parsed = (|| -> Result<(u64, Result<Lsn>)> {
            let pg = d.u64()?;
            let res = match d.u8()? {
                0 => Ok(d.u64()?),
                _ => Err(d.error()?),
            };
            Ok((pg, res))
        })();
        let Ok((pg, res)) = parsed else { break };
        let s = sink.lock().clone();
        if let Some(s) = s {
            s.ack(id, pg, res);
        }
    }
}

impl Transport for TcpTransport {
    fn append(&self, node: NodeId, m: AppendMsg) {
        let _ = self.node(node).appends.send(m);
    }

    fn read_page(
        &self,
        node: NodeId,
        pg: u64,
        page: PageNo,
        at: Lsn,
        need: Lsn,
    ) -> Result<PageBuf> {
        let b = self.node(node).sync.call(
            REQ_READ_PAGE,
            &Enc::new().u64(pg).u64(page).u64(at).u64(need).0,
        )?;
        let mut d = Dec::new(&b);
        let bytes = d.bytes()?;
        if bytes.len() != PAGE_SIZE {
            return Err(Error::Corrupted("page of wrong size on the wire".into()));
        }
        let mut p = zero_page();
        p.copy_from_slice(bytes);
        Ok(p)
    }

    fn poll(
        &self,
        node: NodeId,
        pg: u64,
        vdl: Lsn,
        floor: Option<Lsn>,
    ) -> Result<Option<SegStatus>> {
        opt_status(
            &self
                .node(node)
                .sync
                .call(REQ_POLL, &Enc::new().u64(pg).u64(vdl).opt_u64(floor).0)?,
        )
    }

    fn pgs(&self, node: NodeId) -> Result<Vec<u64>> {
        self.node(node).sync.peer_pgs()
    }

    fn adopt(
        &self,
        node: NodeId,
        pg: u64,
        epoch: u64,
        truncs: &[Trunc],
        create: bool,
    ) -> Result<(SegStatus, Vec<Trunc>)> {
        let b = self.node(node).sync.call(
            REQ_ADOPT,
            &Enc::new().u64(pg).u64(epoch).truncs(truncs).bool(create).0,
        )?;
        let mut d = Dec::new(&b);
        Ok((d.status()?, d.truncs()?))
    }

    fn recovery_records(&self, node: NodeId, pg: u64) -> Result<(Lsn, Vec<Arc<Record>>)> {
        let b = self
            .node(node)
            .sync
            .call(REQ_RECOVERY_RECORDS, &Enc::new().u64(pg).0)?;
        let mut d = Dec::new(&b);
        let applied = d.u64()?;
        Ok((applied, d.records()?.into_iter().map(Arc::new).collect()))
    }

    fn tail(&self, node: NodeId, pg: u64, v: Lsn) -> Result<Lsn> {
        let b = self
            .node(node)
            .sync
            .call(REQ_TAIL, &Enc::new().u64(pg).u64(v).0)?;
        Dec::new(&b).u64()
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
        let mut e = Enc::new();
        e.u64(pg).u64(epoch).truncs(truncs).u64(vdl);
        e.records(recs.iter().map(|r| &**r))?;
        let b = self.node(node).sync.call(REQ_APPEND_SYNC, &e.0)?;
        Dec::new(&b).u64()
    }
}
