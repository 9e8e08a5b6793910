//! The storage-node process side: one [`Node`] served over TCP.
//!
//! Besides its [`Node`], the process keeps the volume membership it was last offered
//! ([`MemberStore`]), answers writers asking for it, and learns the addresses of the
//! members it names (so gossip reaches a node that joined later).
//!
//! Each connection gets a thread that reads request frames. Appends are handed to the
//! node's request queue (group commit as in-process) and acknowledged asynchronously on
//! the same connection; every other request is answered in order. Writes to a
//! connection go through one mutex so acks and responses never interleave.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::Mutex;

use super::client::{AddrBook, TcpPeers};
use super::membership::{Joiner, MemberStore, Membership, NodeView};
use super::wire::*;
use crate::io::{DirBackend, DirLock};
use crate::node::{AckSink, AppendMsg, Node, NodeOptions};
use crate::quorum::NodeId;
use crate::segment::SegmentOptions;
use crate::transport::{Peer, PeerSet};
use crate::{Error, Lsn, Result};

/// How to run one storage-node process.
#[derive(Clone, Debug)]
pub struct StorageNodeConfig {
    pub id: NodeId,
    pub az: u8,
    pub listen: SocketAddr,
    pub dir: PathBuf,
    pub pages_per_pg: u64,
    pub fsync: bool,
    /// Where to find peers: static `id=addr` pairs and/or a directory of
    /// `node-<id>.addr` files (each node writes its own there when it starts).
    pub peers: AddrBook,
    pub tick: Duration,
    pub log_compact_bytes: u64,
    pub scrub_every: Option<Duration>,
}

/// A running storage node.
pub struct RunningNode {
    /// Its address book (shared with its gossip).
    pub book: AddrBook,
    pub node: Arc<Node>,
    pub addr: SocketAddr,
    pub accept: JoinHandle<()>,
    /// The volume membership this node stores.
    pub members: Arc<MemberStore>,
    _peers: Arc<dyn PeerSet>,
    /// The node directory's lock: a second process on the same `--dir` is refused.
    _lock: DirLock,
}

/// What a connection serves.
struct Served {
    node: Arc<Node>,
    members: Arc<MemberStore>,
    book: AddrBook,
}

impl Served {
    /// Learn the addresses of members our book does not name.
    fn learn(&self, m: &Membership) {
        for x in &m.members {
            if let Some(a) = x.addr {
                if x.id != self.node.id && self.book.lookup(x.id).is_none() {
                    self.book.learn(x.id, a);
                }
            }
        }
    }
}

impl RunningNode {
    /// Ask the volume to make this (new, empty) node a member in place of `old`: peers
    /// hear of it until a writer has made the change (see [`super::membership`]).
    pub fn request_replace(&self, old: NodeId) -> Result<()> {
        super::membership::announce_join(
            Joiner {
                id: self.node.id,
                az: self.node.az,
                addr: self.addr,
                replaces: old,
            },
            self.book.clone(),
            self.members.clone(),
            Duration::from_millis(500),
        )
    }
}

/// Start a storage node and serve it (returns once listening).
pub fn run(cfg: StorageNodeConfig) -> Result<RunningNode> {
    let lock = DirLock::acquire(&cfg.dir)?;
    let listener = TcpListener::bind(cfg.listen)?;
    let addr = listener.local_addr()?;
    cfg.peers.publish(cfg.id, addr)?;
    let peers: Arc<dyn PeerSet> = Arc::new(TcpPeers::new(cfg.id, cfg.peers.clone()));
    let node = Node::start(
        cfg.id,
        cfg.az,
        Arc::new(DirBackend::new(&cfg.dir, cfg.fsync)?),
        NodeOptions {
            pages_per_pg: cfg.pages_per_pg,
            seg: SegmentOptions {
                log_compact_bytes: cfg.log_compact_bytes,
                ..Default::default()
            },
            tick: cfg.tick,
            scrub_every: cfg.scrub_every,
            // Appends over TCP always ask for a flush (the wire carries no such flag).
            lazy_flush: crate::node::DEFAULT_LAZY_FLUSH,
        },
        Arc::downgrade(&peers),
    )?;
    let members = Arc::new(MemberStore::open(&cfg.dir, cfg.fsync)?);
    let served = Arc::new(Served {
        node: node.clone(),
        members: members.clone(),
        book: cfg.peers.clone(),
    });
    if let Some(m) = members.get() {
        served.learn(&m);
    }
    let accept = std::thread::Builder::new()
        .name(format!("node{}-accept", cfg.id))
        .spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let served = served.clone();
                let _ = std::thread::Builder::new()
                    .name("node-conn".into())
                    .spawn(move || {
                        if let Err(e) = serve_conn(&served, conn) {
                            tracing::debug!("connection ended: {e}");
                        }
                    });
            }
        })?;
    Ok(RunningNode {
        book: cfg.peers.clone(),
        node,
        addr,
        accept,
        members,
        _peers: peers,
        _lock: lock,
    })
}

struct ConnSink(Arc<Mutex<TcpStream>>);

impl AckSink for ConnSink {
    fn ack(&self, _node: NodeId, pg: u64, res: Result<Lsn>) {
        let mut e = Enc::new();
        e.u64(pg);
        match res {
            Ok(l) => e.u8(0).u64(l),
            Err(err) => e.u8(1).error(&err),
        };
        let _ = write_frame(&mut *self.0.lock(), ACK, &e.0);
    }
}

fn serve_conn(served: &Served, conn: TcpStream) -> Result<()> {
    let node = &served.node;
    conn.set_nodelay(true)?;
    let out = Arc::new(Mutex::new(conn.try_clone()?));
    let sink: Arc<dyn AckSink> = Arc::new(ConnSink(out.clone()));
    let mut input = conn;
    loop {
        let (kind, body) = read_frame(&mut input)?;
        let mut d = Dec::new(&body);
        if kind == REQ_APPEND {
            let m = AppendMsg {
                pg: d.u64()?,
                epoch: d.u64()?,
                truncs: Arc::new(d.truncs()?),
                vdl: d.u64()?,
                floor: d.opt_u64()?,
                recs: d.records()?.into_iter().map(Arc::new).collect(),
                sink: sink.clone(),
                sync: true,
            };
            d.end()?;
            node.enqueue(m);
            continue;
        }
        let res = match kind {
            REQ_MEMBERSHIP | REQ_SET_MEMBERSHIP | REQ_JOIN => {
                handle_membership(served, kind, &mut d)
            }
            _ => handle(node, kind, &mut d),
        };
        let mut o = out.lock();
        match res {
            Ok(body) => write_frame(&mut *o, RESP_OK, &body)?,
            Err(e) => write_frame(&mut *o, RESP_ERR, &Enc::new().error(&e).0)?,
        }
    }
}

fn handle_membership(served: &Served, kind: u8, d: &mut Dec) -> Result<Vec<u8>> {
    let mut e = Enc::new();
    if kind == REQ_MEMBERSHIP {
        d.end()?;
        NodeView {
            id: served.node.id,
            az: served.node.az,
            membership: served.members.get(),
            joiners: served.members.joiners(),
        }
        .encode(&mut e);
    } else if kind == REQ_JOIN {
        let j = Joiner::decode(d)?;
        d.end()?;
        if served.book.lookup(j.id).is_none() {
            served.book.learn(j.id, j.addr);
        }
        served.members.note_joiner(j);
    } else {
        let (epoch, m) = (d.u64()?, Membership::decode(d)?);
        d.end()?;
        // A deposed writer must not change the membership: once a newer writer opened
        // (a read quorum of every PG adopted its epoch) it can reach at most three
        // nodes of a set, never the write quorum a change needs.
        let node = &served.node;
        let seen = node
            .pgs()
            .into_iter()
            .filter_map(|pg| node.segment(pg))
            .map(|s| s.status().epoch)
            .max()
            .unwrap_or(0);
        if epoch < seen {
            return Err(Error::Fenced {
                ours: epoch,
                theirs: seen,
            });
        }
        let cur = served.members.offer(m)?;
        if let Some(c) = &cur {
            served.learn(c);
        }
        Membership::encode_opt(cur.as_ref(), &mut e);
    }
    Ok(e.0)
}

fn handle(node: &Node, kind: u8, d: &mut Dec) -> Result<Vec<u8>> {
    let mut e = Enc::new();
    match kind {
        REQ_READ_PAGE => {
            let (pg, page, at, need) = (d.u64()?, d.u64()?, d.u64()?, d.u64()?);
            d.end()?;
            let p = node.read_page(pg, page, at, need)?;
            e.bytes(&p[..]);
        }
        REQ_POLL => {
            let (pg, vdl, floor) = (d.u64()?, d.u64()?, d.opt_u64()?);
            d.end()?;
            match node.poll(pg, vdl, floor) {
                Some(s) => e.u8(1).status(&s),
                None => e.u8(0),
            };
        }
        REQ_PGS => {
            d.end()?;
            e.u64s(&node.pgs());
        }
        REQ_ADOPT => {
            let (pg, epoch, truncs, create) = (d.u64()?, d.u64()?, d.truncs()?, d.bool()?);
            d.end()?;
            let (st, t) = node.adopt(pg, epoch, &truncs, create)?;
            e.status(&st).truncs(&t);
        }
        REQ_RECOVERY_RECORDS => {
            let pg = d.u64()?;
            d.end()?;
            let (applied, recs) = node.recovery_records(pg)?;
            e.u64(applied).records(recs.iter().map(|r| &**r))?;
        }
        REQ_TAIL => {
            let (pg, v) = (d.u64()?, d.u64()?);
            d.end()?;
            e.u64(node.tail(pg, v));
        }
        REQ_APPEND_SYNC => {
            let (pg, epoch, truncs, vdl) = (d.u64()?, d.u64()?, d.truncs()?, d.u64()?);
            let recs = d.records()?.into_iter().map(Arc::new).collect();
            d.end()?;
            e.u64(node.append_sync(pg, epoch, &truncs, recs, vdl)?);
        }
        REQ_PEER_STATUS => {
            let pg = d.u64()?;
            d.end()?;
            match node.peer_status(pg)? {
                Some(s) => e.u8(1).status(&s),
                None => e.u8(0),
            };
        }
        REQ_PEER_EPOCH => {
            let pg = d.u64()?;
            d.end()?;
            let (ep, t) = node.peer_epoch(pg)?;
            e.u64(ep).truncs(&t);
        }
        REQ_RECORDS_AFTER => {
            let (pg, from, max) = (d.u64()?, d.u64()?, d.u64()?);
            d.end()?;
            match node.peer_records_after(pg, from, max as usize)? {
                Some(r) => {
                    e.u8(1).records(&r)?;
                }
                None => {
                    e.u8(0);
                }
            }
        }
        REQ_SNAPSHOT_BEGIN => {
            let pg = d.u64()?;
            d.end()?;
            e.snapshot(&node.peer_snapshot_begin(pg)?)?;
        }
        REQ_SNAPSHOT_PAGES => {
            let (pg, from, max) = (d.u64()?, d.u64()?, d.u64()?);
            d.end()?;
            let (pages, next) = node.peer_snapshot_pages(pg, from, max as usize)?;
            e.pages(&pages).u64(next);
        }
        REQ_SNAPSHOT_END => {
            let pg = d.u64()?;
            d.end()?;
            node.peer_snapshot_end(pg)?;
        }
        REQ_HELLO => {
            let (inst, floor, info) = (d.u64()?, d.opt_u64()?, d.bytes()?.to_vec());
            d.end()?;
            node.hello(inst, floor, info);
        }
        REQ_FOLLOW => {
            let (pg, from, max) = (d.u64()?, d.u64()?, d.u64()?);
            d.end()?;
            let b = node.follow(pg, from, max.min(1 << 16) as usize)?;
            e.u64(b.epoch).u64(b.vdl_hint).u64(b.scl);
            match &b.records {
                Some(r) => e.u8(1).records(r)?,
                None => e.u8(0),
            };
        }
        REQ_INSTANCES => {
            d.end()?;
            let v = node.instances();
            e.u64(v.len() as u64);
            for (id, age, info) in &v {
                e.u64(*id).u64(*age).bytes(info);
            }
        }
        k => return Err(Error::InvalidInput(format!("unknown request kind {k}"))),
    }
    Ok(e.0)
}
