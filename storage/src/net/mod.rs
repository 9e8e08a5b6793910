//! The TCP transport: storage nodes as separate processes.
//!
//! - [`server`]: a storage-node process (`borealis-storage-node`, or
//!   [`server::run`] from any binary) serves one [`crate::node::Node`] on a TCP port;
//! - [`client`]: the writer's [`client::TcpTransport`] (implements
//!   [`crate::transport::Transport`], so [`crate::LocalVolume`] runs unchanged on top)
//!   and the nodes' [`client::TcpPeers`] for gossip;
//! - [`stream`]: the writer's log stream to replicas in other processes, and
//!   [`stream::RemoteFollower`], their read-only [`crate::Volume`];
//! - [`membership`]: the quorum set of a volume of processes, stored on the nodes;
//! - [`wire`]: the frame format.
//!
//! A six-node, three-AZ volume of separate processes (node `i` in AZ `i / 2`):
//!
//! ```text
//! for i in 0 1 2 3 4 5; do
//!   borealis-storage-node --id $i --az $((i / 2)) --listen 127.0.0.1:0 \
//!       --dir /data/node-$i --peers-dir /data/addrs &
//! done
//! ```
//!
//! and a writer opened with `VolumeConfig { nodes: Some(AddrBook::in_dir("/data/addrs")),
//! .. }`. Across machines, give every process fixed addresses instead
//! (`--peer 0=10.0.0.1:7000 --peer 1=...`, and `AddrBook::parse_fixed`).

pub mod client;
pub mod follow;
pub mod membership;
pub mod server;
pub mod stream;
pub mod wire;

pub use client::{AddrBook, TcpTransport};
pub use follow::{follow_storage, Registrar};
pub use server::{run, RunningNode, StorageNodeConfig};
pub use stream::{serve_log, RemoteFollower};
