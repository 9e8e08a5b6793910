//! A set of storage nodes (threads in this process) and its persisted membership.
//!
//! Six nodes, two in each of three AZs, host one replica of every protection group. The
//! membership (which nodes are the quorum set, and every node's AZ) lives in
//! `<dir>/cluster.meta` (see docs/format.md) so a reopened volume finds the nodes that
//! replaced dead ones. Each node keeps its segment files in `<dir>/node-<id>/`; with no
//! directory, nodes keep them in memory ([`MemBackend`]).
//!
//! Invariant: `members` always names exactly six nodes; a membership change bumps
//! `membership_epoch` and is written atomically.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use crate::flush::LogSync;
use crate::io::{Backend, DirBackend, DirLock, MemBackend};
use crate::journal::{self, Journal};
use crate::node::{Net, Node, NodeOptions};
use crate::quorum::{NodeId, REPLICAS};
use crate::segment::SegmentOptions;
use crate::transport::PeerSet;
use crate::{Error, Result, PAGE_SIZE};

/// How to build the nodes of a cluster.
#[derive(Clone, Debug)]
pub struct ClusterOptions {
    pub dir: Option<PathBuf>,
    pub fsync: bool,
    pub pages_per_pg: u64,
    pub log_compact_bytes: u64,
    pub materialize_every: Duration,
    pub tick: Duration,
    pub scrub_every: Option<Duration>,
    /// See [`crate::node::NodeOptions::lazy_flush`].
    pub lazy_flush: Duration,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Membership {
    epoch: u64,
    /// Every node ever started, with its AZ.
    azs: Vec<(NodeId, u8)>,
    members: Vec<NodeId>,
}

impl Membership {
    fn encode(&self) -> String {
        let mut s = format!("borealis-cluster v1\nepoch {}\n", self.epoch);
        for (id, az) in &self.azs {
            s += &format!("node {id} {az}\n");
        }
        let m: Vec<String> = self.members.iter().map(|m| m.to_string()).collect();
        s += &format!("members {}\n", m.join(" "));
        let crc = crc32c::crc32c(s.as_bytes());
        s += &format!("crc {crc}\n");
        s
    }

    fn decode(s: &str) -> Result<Self> {
        let bad = |m: &str| Error::Corrupted(format!("cluster.meta: {m}"));
        let body_end = s.rfind("crc ").ok_or_else(|| bad("no crc"))?;
        let crc: u32 = s[body_end + 4..]
            .trim()
            .parse()
            .map_err(|_| bad("bad crc"))?;
        if crc32c::crc32c(&s.as_bytes()[..body_end]) != crc {
            return Err(bad("crc32c mismatch"));
        }
        let mut m = Membership {
            epoch: 0,
            azs: Vec::new(),
            members: Vec::new(),
        };
        for line in s[..body_end].lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            let num = |i: usize| -> Result<u64> {
                f.get(i)
                    .and_then(|x| x.parse().ok())
                    .ok_or_else(|| bad("bad number"))
            };
            match f.first() {
                Some(&"epoch") => m.epoch = num(1)?,
                Some(&"node") => m.azs.push((num(1)? as NodeId, num(2)? as u8)),
                Some(&"members") => {
                    m.members = (1..f.len())
                        .map(|i| num(i).map(|x| x as NodeId))
                        .collect::<Result<_>>()?
                }
                _ => return Err(bad("unknown line")),
            }
        }
        if m.members.len() != REPLICAS {
            return Err(bad("members must name six nodes"));
        }
        Ok(m)
    }
}

/// Wraps a node's backend (tests put a faulty disk under a node).
pub type BackendWrapper = Box<dyn Fn(NodeId, Arc<dyn Backend>) -> Arc<dyn Backend> + Send + Sync>;

/// Storage nodes of one volume, with their network.
pub struct Cluster {
    pub net: Arc<Net>,
    opts: ClusterOptions,
    wrap: Option<BackendWrapper>,
    mem: Mutex<HashMap<NodeId, Arc<MemBackend>>>,
    membership: Mutex<Membership>,
    /// The directory's device journal, shared by the nodes' logs (see [`crate::journal`]).
    journal: Option<Arc<Journal>>,
    /// The directory's lock, held while the cluster is open (released on drop, or by the
    /// kernel when the process dies).
    _lock: Option<DirLock>,
}

impl Cluster {
    /// Start the nodes (creating a six-node, three-AZ cluster if there is none yet).
    pub fn open(opts: ClusterOptions) -> Result<Arc<Cluster>> {
        Self::open_wrapped(opts, None)
    }

    /// [`Cluster::open`], with every node's backend passed through `wrap`.
    pub fn open_wrapped(
        opts: ClusterOptions,
        wrap: Option<BackendWrapper>,
    ) -> Result<Arc<Cluster>> {
        let lock = opts.dir.as_deref().map(DirLock::acquire).transpose()?;
        let membership = match &opts.dir {
            Some(d) => match std::fs::read_to_string(d.join("cluster.meta")) {
                Ok(s) => Some(Membership::decode(&s)?),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => return Err(e.into()),
            },
            None => None,
        };
        // Before any node opens a log: the journal may hold synced appends that the logs'
        // own files lack.
        let journal = match &opts.dir {
            Some(d) if opts.fsync && !journal::opted_out() => open_journal(d)?,
            Some(d) => {
                // Not used now; one an earlier run left is replayed and removed.
                if let Some(r) = journal::retire(d)? {
                    log_replay(&r);
                }
                None
            }
            None => None,
        };
        let fresh = membership.is_none();
        let membership = membership.unwrap_or_else(|| Membership {
            epoch: 1,
            azs: (0..REPLICAS).map(|i| (i, (i / 2) as u8)).collect(),
            members: (0..REPLICAS).collect(),
        });
        let c = Arc::new(Cluster {
            net: Net::new(),
            opts,
            wrap,
            mem: Mutex::new(HashMap::new()),
            membership: Mutex::new(membership.clone()),
            journal,
            _lock: lock,
        });
        if fresh {
            c.persist(&membership)?;
        }
        // Only members: a node replaced by a membership change stays retired.
        for &(id, az) in &membership.azs {
            if membership.members.contains(&id) {
                c.start_node(id, az)?;
            }
        }
        Ok(c)
    }

    fn node_options(&self) -> NodeOptions {
        NodeOptions {
            pages_per_pg: self.opts.pages_per_pg,
            seg: SegmentOptions {
                log_compact_bytes: self.opts.log_compact_bytes,
                materialize_every: self.opts.materialize_every,
                ..Default::default()
            },
            tick: self.opts.tick,
            scrub_every: self.opts.scrub_every,
            lazy_flush: self.opts.lazy_flush,
        }
    }

    fn backend(&self, id: NodeId) -> Result<Arc<dyn Backend>> {
        let b: Arc<dyn Backend> = match &self.opts.dir {
            Some(d) => Arc::new(DirBackend::with_journal(
                self.node_dir(id, d),
                self.opts.fsync,
                self.journal.clone(),
            )?),
            None => self
                .mem
                .lock()
                .entry(id)
                .or_insert_with(|| Arc::new(MemBackend::new()))
                .clone(),
        };
        Ok(match &self.wrap {
            Some(w) => w(id, b),
            None => b,
        })
    }

    fn node_dir(&self, id: NodeId, d: &std::path::Path) -> PathBuf {
        d.join(format!("node-{id}"))
    }

    fn start_node(&self, id: NodeId, az: u8) -> Result<Arc<Node>> {
        let peers: Arc<dyn PeerSet> = self.net.clone();
        let n = Node::start(
            id,
            az,
            self.backend(id)?,
            self.node_options(),
            Arc::downgrade(&peers),
        )?;
        self.net.add(n.clone());
        Ok(n)
    }

    fn persist(&self, m: &Membership) -> Result<()> {
        if let Some(d) = &self.opts.dir {
            let tmp = d.join("cluster.meta.tmp");
            std::fs::write(&tmp, m.encode())?;
            if self.opts.fsync {
                std::fs::File::open(&tmp)?.sync_all()?;
            }
            std::fs::rename(&tmp, d.join("cluster.meta"))?;
            if self.opts.fsync {
                std::fs::File::open(d)?.sync_all()?;
            }
        }
        Ok(())
    }

    /// Pages per protection group.
    pub fn pages_per_pg(&self) -> u64 {
        self.opts.pages_per_pg
    }

    /// Bytes of page address space per protection group.
    pub fn segment_bytes(&self) -> u64 {
        self.opts.pages_per_pg * PAGE_SIZE as u64
    }

    /// The current quorum set.
    pub fn members(&self) -> Vec<NodeId> {
        self.membership.lock().members.clone()
    }

    /// The membership change counter.
    pub fn membership_epoch(&self) -> u64 {
        self.membership.lock().epoch
    }

    /// A node by id.
    pub fn node(&self, id: NodeId) -> Option<Arc<Node>> {
        self.net.node(id)
    }

    /// AZ of a node.
    pub fn az(&self, id: NodeId) -> Option<u8> {
        self.membership
            .lock()
            .azs
            .iter()
            .find(|(n, _)| *n == id)
            .map(|(_, az)| *az)
    }

    /// Start a new, empty node in `az` (not yet a member).
    pub fn add_node(&self, az: u8) -> Result<NodeId> {
        let mut m = self.membership.lock();
        let id = m.azs.iter().map(|(n, _)| n + 1).max().unwrap_or(0);
        m.azs.push((id, az));
        self.persist(&m)?;
        drop(m);
        self.start_node(id, az)?;
        Ok(id)
    }

    /// Replace `old` by `new` in the quorum set (the end of a membership change).
    pub fn replace_member(&self, old: NodeId, new: NodeId) -> Result<()> {
        let mut m = self.membership.lock();
        let mut next = m.clone();
        next.epoch += 1;
        for x in next.members.iter_mut() {
            if *x == old {
                *x = new;
            }
        }
        self.persist(&next)?;
        *m = next;
        Ok(())
    }

    /// The in-memory backend of a node (no-disk mode), for tests that damage it.
    pub fn mem_backend(&self, id: NodeId) -> Option<Arc<MemBackend>> {
        self.mem.lock().get(&id).cloned()
    }

    /// The directory of a node's files (disk mode).
    pub fn node_path(&self, id: NodeId) -> Option<PathBuf> {
        self.opts.dir.as_ref().map(|d| self.node_dir(id, d))
    }

    /// Stop every node thread.
    pub fn shutdown(&self) {
        self.net.shutdown();
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.net.shutdown();
        // A cleanly closed directory has every synced append in the logs' own files (a
        // failure here only leaves the work to the next open's replay).
        if let Some(j) = &self.journal {
            if let Err(e) = j.checkpoint() {
                tracing::warn!("journal checkpoint at close: {e}");
            }
        }
    }
}

/// Open (and replay) the device journal of cluster directory `d`, where logs there sync
/// by range write-back (ext4); elsewhere each log syncs on its own and there is none.
fn open_journal(d: &std::path::Path) -> Result<Option<Arc<Journal>>> {
    std::fs::create_dir_all(d)?;
    let LogSync::Range(anchor) = LogSync::for_dir(d) else {
        if let Some(r) = journal::retire(d)? {
            log_replay(&r);
        }
        return Ok(None);
    };
    let (j, r) = Journal::open(d, anchor)?;
    log_replay(&r);
    Ok(Some(j))
}

fn log_replay(r: &journal::Replayed) {
    if r.entries > 0 {
        tracing::info!(
            "journal replayed: {} entries, {} log pieces ({} for logs replaced or gone)",
            r.entries,
            r.pieces,
            r.skipped
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn membership_roundtrips_and_detects_damage() {
        let m = Membership {
            epoch: 3,
            azs: vec![(0, 0), (1, 0), (2, 1), (3, 1), (4, 2), (5, 2), (6, 2)],
            members: vec![0, 1, 2, 3, 4, 6],
        };
        let s = m.encode();
        assert_eq!(Membership::decode(&s).unwrap(), m);
        let bad = s.replace("members 0 1", "members 0 7");
        assert!(matches!(Membership::decode(&bad), Err(Error::Corrupted(_))));
        assert!(Membership::decode("").is_err());
    }
}
