//! The storage-node process side: one [`Node`] served over TCP.
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
use super::wire::*;
use crate::io::DirBackend;
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
    pub node: Arc<Node>,
    pub addr: SocketAddr,
    pub accept: JoinHandle<()>,
    _peers: Arc<dyn PeerSet>,
}

/// Start a storage node and serve it (returns once listening).
pub fn run(cfg: StorageNodeConfig) -> Result<RunningNode> {
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
        },
        Arc::downgrade(&peers),
    )?;
    let n = node.clone();
    let accept = std::thread::Builder::new()
        .name(format!("node{}-accept", cfg.id))
        .spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let n = n.clone();
                let _ = std::thread::Builder::new()
                    .name("node-conn".into())
                    .spawn(move || {
                        if let Err(e) = serve_conn(&n, conn) {
                            tracing::debug!("connection ended: {e}");
                        }
                    });
            }
        })?;
    Ok(RunningNode {
        node,
        addr,
        accept,
        _peers: peers,
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

fn serve_conn(node: &Arc<Node>, conn: TcpStream) -> Result<()> {
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
            };
            d.end()?;
            node.enqueue(m);
            continue;
        }
        let res = handle(node, kind, &mut d);
        let mut o = out.lock();
        match res {
            Ok(body) => write_frame(&mut *o, RESP_OK, &body)?,
            Err(e) => write_frame(&mut *o, RESP_ERR, &Enc::new().error(&e).0)?,
        }
    }
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
            e.u64(applied).records(&recs)?;
        }
        REQ_TAIL => {
            let (pg, v) = (d.u64()?, d.u64()?);
            d.end()?;
            e.u64(node.tail(pg, v));
        }
        REQ_APPEND_SYNC => {
            let (pg, epoch, truncs, vdl) = (d.u64()?, d.u64()?, d.truncs()?, d.u64()?);
            let recs = d.records()?;
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
        k => return Err(Error::InvalidInput(format!("unknown request kind {k}"))),
    }
    Ok(e.0)
}
