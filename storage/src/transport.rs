//! The two narrow interfaces between storage parties, so the same volume and node code
//! runs over the in-process network ([`crate::node::Net`]) and over TCP
//! ([`crate::net`]):
//! - [`Transport`]: what a writer (volume driver, recovery) asks of storage nodes;
//! - [`Peer`] / [`PeerSet`]: what a node asks of its peers when gossiping.
//!
//! Every call may fail with `Error::Unavailable` (node down, link cut, connection lost);
//! callers treat that as "try another replica / try later", never as data loss.

use std::sync::Arc;

use crate::node::AppendMsg;
use crate::quorum::NodeId;
use crate::record::Record;
use crate::segment::{SegStatus, SlotImage, Snapshot, Trunc};
use crate::{Lsn, PageBuf, PageNo, Result};

/// Writer-facing calls to storage nodes.
pub trait Transport: Send + Sync {
    /// Queue an append; the node acknowledges through `m.sink` (or not at all).
    fn append(&self, node: NodeId, m: AppendMsg);

    /// Whether `node` is in this process. The writer queues appends to such a node and
    /// hands them over with [`Transport::append_inline_all`] when a thread needs them
    /// durable, batching every queued one, after the commit lock: a node that needs no
    /// device flush has them made right there, as do nodes whose sync appends can share
    /// one device flush (made together); the others get them in their inboxes.
    fn local(&self, _node: NodeId) -> bool {
        false
    }

    /// Make an append on the caller's thread and return the replica's SCL (or its
    /// error) instead of acknowledging through `m.sink`; None if the node is unreachable
    /// (the append is lost, as on a network) or needs a device flush (then it was put
    /// in its inbox as [`Transport::append`] does, and it acknowledges through `m.sink`).
    fn append_inline(&self, node: NodeId, m: AppendMsg) -> Option<Result<Lsn>> {
        self.append(node, m);
        None
    }

    /// [`Transport::append_inline`] for a batch (at most one message per node and PG, in
    /// the order sent): the results of the appends made on the caller's thread, with
    /// their node and PG. A transport may make them together, e.g. with one device flush
    /// for replicas on the same device.
    fn append_inline_all(&self, msgs: Vec<(NodeId, AppendMsg)>) -> Vec<(NodeId, u64, Result<Lsn>)> {
        msgs.into_iter()
            .filter_map(|(node, m)| {
                let pg = m.pg;
                self.append_inline(node, m).map(|r| (node, pg, r))
            })
            .collect()
    }

    /// Page `page` of `pg` as of `at`, from a replica whose SCL is at least `need`.
    fn read_page(&self, node: NodeId, pg: u64, page: PageNo, at: Lsn, need: Lsn)
        -> Result<PageBuf>;

    /// Status of `node`'s replica of `pg` (None: it has none), passing the writer's VDL
    /// and the oldest read point along (how far it may materialize).
    fn poll(
        &self,
        node: NodeId,
        pg: u64,
        vdl: Lsn,
        floor: Option<Lsn>,
    ) -> Result<Option<SegStatus>>;

    /// Protection groups `node` has replicas of.
    fn pgs(&self, node: NodeId) -> Result<Vec<u64>>;

    /// Recovery: make `node`'s replica of `pg` adopt `epoch` (fencing older writers) and
    /// report its state and truncation history. `create`: only for a brand-new volume.
    fn adopt(
        &self,
        node: NodeId,
        pg: u64,
        epoch: u64,
        truncs: &[Trunc],
        create: bool,
    ) -> Result<(SegStatus, Vec<Trunc>)>;

    /// Recovery: the replica's applied point and every record above it, atomically.
    /// Shared, not copied, in process: recovery holds every replica's unapplied log at
    /// once, up to a compaction threshold's worth of records each.
    fn recovery_records(&self, node: NodeId, pg: u64) -> Result<(Lsn, Vec<Arc<Record>>)>;

    /// Recovery: the highest record LSN <= `v` the replica holds.
    fn tail(&self, node: NodeId, pg: u64, v: Lsn) -> Result<Lsn>;

    /// Recovery: append synchronously; returns the replica's SCL.
    fn append_sync(
        &self,
        node: NodeId,
        pg: u64,
        epoch: u64,
        truncs: &[Trunc],
        recs: Vec<Arc<Record>>,
        vdl: Lsn,
    ) -> Result<Lsn>;
}

/// A peer node as seen by gossip.
pub trait Peer: Send + Sync {
    fn peer_id(&self) -> NodeId;
    fn peer_pgs(&self) -> Result<Vec<u64>>;
    fn peer_status(&self, pg: u64) -> Result<Option<SegStatus>>;
    fn peer_epoch(&self, pg: u64) -> Result<(u64, Vec<Trunc>)>;
    /// Records above `from` (None: folded into pages there; ask for a snapshot).
    fn peer_records_after(&self, pg: u64, from: Lsn, max: usize) -> Result<Option<Vec<Record>>>;
    /// Start copying the peer's replica: header without pages (see
    /// [`crate::segment::Segment::snapshot_begin`]).
    fn peer_snapshot_begin(&self, pg: u64) -> Result<Snapshot>;
    /// Written slots from `from` on (at most `max`) and where to continue.
    fn peer_snapshot_pages(&self, pg: u64, from: u64, max: usize) -> Result<(Vec<SlotImage>, u64)>;
    fn peer_snapshot_end(&self, pg: u64) -> Result<()>;
}

/// How a node finds its peers and whether it can reach the writer.
pub trait PeerSet: Send + Sync {
    /// Peers `id` can reach now.
    fn peers_of(&self, id: NodeId) -> Vec<Arc<dyn Peer>>;
    /// Whether acks from `id` reach the writer (in-process partitions).
    fn writer_linked(&self, id: NodeId) -> bool;
}
