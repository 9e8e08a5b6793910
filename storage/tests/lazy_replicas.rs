//! Lazy replicas: the two members outside the preferred write quorum (nodes 3 and 5, the
//! second of AZs 1 and 2) hold appends unflushed for a while and make them durable with
//! one fsync; they acknowledge only what they flushed, a crash loses only what no
//! acknowledgement covered, and a failed quorum member does not stall commits.

mod common;

use std::sync::{Arc, Weak};
use std::time::Duration;

use borealis_storage::io::MemBackend;
use borealis_storage::node::{AckSink, AppendMsg, Net, Node, NodeOptions};
use borealis_storage::quorum::NodeId;
use borealis_storage::record::Record;
use borealis_storage::segment::SegmentOptions;
use borealis_storage::transport::PeerSet;
use borealis_storage::volume::LocalVolume;
use borealis_storage::{Lsn, Result, Volume};
use common::*;
use crossbeam::channel::{unbounded, Receiver, Sender};

struct Acks(Sender<Result<Lsn>>);

impl AckSink for Acks {
    fn ack(&self, _node: NodeId, _pg: u64, res: Result<Lsn>) {
        let _ = self.0.send(res);
    }
}

/// One node on its own (no peers to gossip with) whose lazy interval never ends.
fn lone_node() -> (Arc<Net>, Arc<Node>) {
    let net = Net::new();
    let peers: Weak<dyn PeerSet> = Arc::downgrade(&(net.clone() as Arc<dyn PeerSet>));
    let node = Node::start(
        0,
        0,
        Arc::new(MemBackend::new()),
        NodeOptions {
            pages_per_pg: 8,
            seg: SegmentOptions::default(),
            tick: Duration::from_millis(5),
            scrub_every: None,
            lazy_flush: Duration::from_secs(600),
        },
        peers,
    )
    .unwrap();
    net.add(node.clone());
    (net, node)
}

fn msg(lsns: std::ops::RangeInclusive<Lsn>, sync: bool, sink: &Arc<dyn AckSink>) -> AppendMsg {
    let recs = lsns
        .map(|lsn| {
            Arc::new(Record {
                lsn,
                epoch: 1,
                prev_lsn: lsn - 1,
                pg: 0,
                page: lsn % 8,
                mtr_end: true,
                payload: write(lsn % 8, lsn, lsn).payload,
            })
        })
        .collect();
    AppendMsg {
        pg: 0,
        epoch: 1,
        truncs: Arc::new(Vec::new()),
        recs,
        vdl: 0,
        floor: None,
        sink: sink.clone(),
        sync,
    }
}

fn no_ack(rx: &Receiver<Result<Lsn>>) {
    if let Ok(r) = rx.recv_timeout(Duration::from_millis(300)) {
        panic!("acknowledged before any flush: {r:?}");
    }
}

fn ack(rx: &Receiver<Result<Lsn>>) -> Lsn {
    rx.recv_timeout(Duration::from_secs(20))
        .expect("an acknowledgement")
        .expect("a successful append")
}

#[test]
fn lazy_appends_are_acknowledged_only_once_flushed() {
    let (net, node) = lone_node();
    let (tx, rx) = unbounded();
    let sink: Arc<dyn AckSink> = Arc::new(Acks(tx));
    node.enqueue(msg(1..=3, false, &sink));
    no_ack(&rx);
    // Held in memory, not reported as durable to a writer's poll either.
    let seg = node
        .segment(0)
        .expect("the lazy append created the segment");
    assert_eq!(seg.status().scl, 0);
    assert_eq!(seg.held_scl(), 3);
    // A message asking for a flush ends the wait: one ack covers both.
    node.enqueue(msg(4..=4, true, &sink));
    assert_eq!(ack(&rx), 4);
    assert_eq!(seg.status().scl, 4);
    // A crash loses what was held and never acknowledged: after the restart, record 6
    // follows a hole and the acknowledged SCL stays at 4.
    node.enqueue(msg(5..=5, false, &sink));
    no_ack(&rx);
    node.crash();
    node.restart().unwrap();
    node.enqueue(msg(6..=6, true, &sink));
    assert_eq!(ack(&rx), 4);
    assert_eq!(node.segment(0).unwrap().status().scl, 4);
    net.shutdown();
}

/// The lazy pair cannot gossip: only the writer's appends can make them durable.
fn isolate_lazy_pair(v: &LocalVolume) {
    let net = &v.cluster().unwrap().net;
    for lazy in [3, 5] {
        for other in 0..6 {
            if other != lazy {
                net.set_link(lazy, other, false);
            }
        }
    }
}

fn flushed(v: &LocalVolume, n: NodeId, pg: u64) -> Lsn {
    v.cluster()
        .unwrap()
        .node(n)
        .unwrap()
        .segment(pg)
        .map_or(0, |s| s.status().scl)
}

#[test]
fn commits_wait_for_four_flushes_and_survive_a_failed_quorum_member() {
    let mut cfg = small(None);
    cfg.lazy_replicas = Some(Duration::from_secs(600));
    // The lazy protocol is the request threads' (inline appends never hold anything).
    cfg.inline_appends = false;
    let v = LocalVolume::open(cfg).unwrap();
    isolate_lazy_pair(&v);
    let mut c = Checker::new();
    for i in 0..30 {
        c.commit(&*v, vec![write(i % 8, i, 1), write(8 + i % 8, i, 2)])
            .unwrap();
    }
    let vdl = v.durable_lsn();
    // Every commit returned on the four others; the lazy pair still holds its appends.
    for pg in 0..2 {
        for n in [0, 1, 2, 4] {
            eventually(20, "a quorum member flushed", || flushed(&v, n, pg) > 0);
        }
        for n in [3, 5] {
            assert_eq!(flushed(&v, n, pg), 0, "node {n} pg {pg} flushed early");
        }
    }
    // A quorum member fails: commits go on (the writer resends to the lazy pair asking
    // for a flush; once node 0 has lagged longer than the writer waits before resending,
    // every member flushes at once, so the lazy pair ends up holding nothing unflushed:
    // with its 600 s interval and no gossip, nothing else would make it flush).
    v.cluster().unwrap().node(0).unwrap().crash();
    for i in 0..30 {
        c.commit(&*v, vec![write(i % 8, i, 3), write(8 + i % 8, i, 4)])
            .unwrap();
    }
    let vdl2 = v.durable_lsn();
    assert!(vdl2 > vdl);
    c.verify(&*v, 0..16);
    for n in [3, 5] {
        eventually(20, "the lazy pair flushed", || {
            (0..2).all(|pg| {
                flushed(&v, n, pg)
                    >= v.cluster()
                        .unwrap()
                        .node(1)
                        .unwrap()
                        .segment(pg)
                        .unwrap()
                        .tail_at_or_below(vdl2)
            })
        });
    }
}

#[test]
fn lazy_replicas_catch_up_by_themselves() {
    // The default interval: every member ends up holding every commit durably.
    let mut cfg = small(None);
    cfg.inline_appends = false;
    let v = LocalVolume::open(cfg).unwrap();
    let mut c = Checker::new();
    for i in 0..50 {
        c.commit(&*v, vec![write(i % 24, i, 5)]).unwrap();
    }
    let vdl = v.durable_lsn();
    let cl = v.cluster().unwrap().clone();
    eventually(20, "all six flushed every commit", || {
        (0..3).all(|pg| {
            let tail = cl
                .node(0)
                .unwrap()
                .segment(pg)
                .map_or(0, |s| s.tail_at_or_below(vdl));
            (0..6).all(|n| flushed(&v, n, pg) >= tail)
        })
    });
    c.verify(&*v, 0..24);
}
