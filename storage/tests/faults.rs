//! Named fault scenarios on a six-node, three-AZ volume (nodes 2k and 2k+1 are AZ k).

mod common;

use std::sync::Arc;
use std::time::Duration;

use borealis_storage::cluster::Cluster;
use borealis_storage::io::DirBackend;
use borealis_storage::node::WRITER;
use borealis_storage::transport::Transport;
use borealis_storage::volume::LocalVolume;
use borealis_storage::Volume;
use common::*;

fn pages() -> std::ops::Range<u64> {
    0..24 // three PGs of 8 pages
}

/// The last record of `pg` at or below `vdl`, as the most complete node knows it.
fn tail(cl: &Cluster, pg: u64, vdl: u64) -> u64 {
    cl.net
        .all()
        .iter()
        .filter_map(|n| n.segment(pg))
        .map(|s| s.tail_at_or_below(vdl))
        .max()
        .unwrap_or(0)
}

/// Node `n` holds every record of `pg` up to `vdl`.
fn caught_up(cl: &Cluster, n: usize, pg: u64, vdl: u64) -> bool {
    let want = tail(cl, pg, vdl);
    cl.node(n)
        .unwrap()
        .segment(pg)
        .is_some_and(|s| s.status().scl >= want)
}

fn load(v: &LocalVolume, c: &mut Checker, n: u64, salt: u64) {
    for i in 0..n {
        let p = (i * 5 + salt) % 24;
        c.commit(
            v,
            vec![write(p, i + salt, i ^ salt), write((p + 9) % 24, i, salt)],
        )
        .unwrap();
    }
}

#[test]
fn lose_whole_az() {
    let v = LocalVolume::open(small(None)).unwrap();
    let mut c = Checker::new();
    load(&v, &mut c, 50, 1);
    let cl = v.cluster().unwrap().clone();
    cl.node(0).unwrap().stop();
    cl.node(1).unwrap().stop();
    // Writes and reads go on with 4 of 6.
    load(&v, &mut c, 100, 2);
    c.verify(&*v, pages());
    // The AZ comes back and catches up by gossip.
    cl.node(0).unwrap().restart().unwrap();
    cl.node(1).unwrap().restart().unwrap();
    let vdl = v.durable_lsn();
    eventually(20, "AZ 0 caught up", || {
        (0..2).all(|n| (0..3).all(|pg| caught_up(&cl, n, pg, vdl)))
    });
    // And serves exact reads by itself.
    for p in pages() {
        let pg = p / 8;
        let need = tail(&cl, pg, vdl);
        let got = cl.net.read_page(0, pg, p, vdl, need).unwrap();
        assert!(got == c.expected(p, vdl), "page {p}");
    }
}

#[test]
fn lose_az_plus_one() {
    let v = LocalVolume::open(small(None)).unwrap();
    let mut c = Checker::new();
    load(&v, &mut c, 40, 3);
    let cl = v.cluster().unwrap().clone();
    for n in [0, 1, 2] {
        cl.node(n).unwrap().stop();
    }
    // Reads go on (any replica with the data).
    c.verify(&*v, pages());
    // Writes wait: three replicas are not a write quorum.
    let mut pending = Vec::new();
    for i in 0..10 {
        pending.push(c.append(&*v, vec![write(i % 24, i, 1000 + i)]).unwrap());
    }
    let last = *pending.last().unwrap();
    let v2 = v.clone();
    let waiter = std::thread::spawn(move || v2.wait_durable(last));
    std::thread::sleep(Duration::from_millis(300));
    assert!(!waiter.is_finished(), "durable without a write quorum");
    assert!(v.durable_lsn() < pending[0]);
    // Repair one node: the writes complete, nothing lost.
    cl.node(2).unwrap().restart().unwrap();
    waiter.join().unwrap().unwrap();
    c.acked = last;
    c.verify(&*v, pages());
}

#[test]
fn crash_writer_mid_stream_and_recover() {
    let d = tempfile::tempdir().unwrap();
    let mut c = Checker::new();
    let cluster;
    {
        let v = LocalVolume::open(small(Some(d.path()))).unwrap();
        cluster = v.cluster().unwrap().clone();
        load(&v, &mut c, 60, 4);
        // Cut the writer off three nodes: what it appends now reaches at most three
        // replicas and can never be acknowledged.
        for n in [1, 3, 5] {
            cluster.net.set_link(WRITER, n, false);
        }
        for i in 0..20 {
            c.append(&*v, vec![write(i % 24, i, 5000 + i)]).unwrap();
        }
        std::thread::sleep(Duration::from_millis(50));
        // The writer dies here (dropped without another word).
    }
    cluster.net.heal_all();
    let v = LocalVolume::open_on(cluster.clone(), small(Some(d.path()))).unwrap();
    let vdl = v.durable_lsn();
    c.recovered(vdl);
    c.verify(&*v, pages());
    // Writes continue above the recovered VDL.
    load(&v, &mut c, 20, 5);
    c.verify(&*v, pages());
    drop(v);
    drop(cluster);
    // And a full restart from disk sees the same.
    let v = LocalVolume::open(small(Some(d.path()))).unwrap();
    c.recovered(v.durable_lsn());
    c.verify(&*v, pages());
}

/// One volume directory, one open volume: a second open (another process, or this one)
/// is refused rather than appending to the same logs; it opens once the first is closed.
#[test]
fn a_volume_directory_opens_once() {
    let d = tempfile::tempdir().unwrap();
    let mut c = Checker::new();
    let v = LocalVolume::open(small(Some(d.path()))).unwrap();
    load(&v, &mut c, 10, 7);
    match LocalVolume::open(small(Some(d.path()))) {
        Err(borealis_storage::Error::InUse(_)) => {}
        other => panic!("expected InUse, got {:?}", other.map(|_| ())),
    }
    // The refused open disturbed nothing.
    load(&v, &mut c, 10, 8);
    c.verify(&*v, pages());
    drop(v);
    let v = LocalVolume::open(small(Some(d.path()))).unwrap();
    c.recovered(v.durable_lsn());
    c.verify(&*v, pages());
}

#[test]
fn corrupt_page_file_and_log_file_heal() {
    let d = tempfile::tempdir().unwrap();
    let mut cfg = small(Some(d.path()));
    cfg.log_compact_bytes = 2 << 10;
    let v = LocalVolume::open(cfg).unwrap();
    let mut c = Checker::new();
    load(&v, &mut c, 200, 6);
    let cl = v.cluster().unwrap().clone();
    let victim = 3;
    let node = cl.node(victim).unwrap();
    eventually(20, "pages materialized", || {
        node.segment(0).is_some_and(|s| s.status().applied > 0)
    });
    // Pin a read point so the next records stay in the logs (not folded into pages).
    v.set_min_read_point(1, v.durable_lsn());
    load(&v, &mut c, 40, 11);
    let vdl = v.durable_lsn();
    // The victim holds everything (it may lag: four acks are enough) before it dies.
    eventually(20, "victim caught up", || {
        (0..3).all(|pg| caught_up(&cl, victim, pg, vdl))
    });
    node.crash();
    let dir = cl.node_path(victim).unwrap();
    // Flip bits in every written page of PG 0 and in the middle of PG 1's log.
    let pages_path = DirBackend::path(&dir, 0, "pages");
    let mut bytes = std::fs::read(&pages_path).unwrap();
    let header_region = borealis_storage::PAGE_SIZE; // 8 slots * 16 bytes, rounded up
    let mut flipped = 0;
    for slot in 0..8 {
        if bytes[slot * 16..slot * 16 + 16].iter().any(|&b| b != 0) {
            bytes[header_region + slot * borealis_storage::PAGE_SIZE + 100] ^= 0x10;
            flipped += 1;
        }
    }
    assert!(flipped > 0);
    std::fs::write(&pages_path, &bytes).unwrap();
    let log_path = DirBackend::path(&dir, 1, "log");
    let mut log = std::fs::read(&log_path).unwrap();
    assert!(log.len() > 100, "pg 1 log has records");
    let mid = log.len() / 2;
    log[mid] ^= 0xff;
    std::fs::write(&log_path, &log).unwrap();
    node.restart().unwrap();
    node.request_scrub();
    // The damaged replica never serves bad bytes, and heals from its peers.
    eventually(20, "replica rebuilt", || {
        node.segment(0).is_some_and(|s| !s.status().damaged)
            && caught_up(&cl, victim, 1, vdl)
            && node.last_scrub().is_some()
    });
    for p in pages() {
        let pg = p / 8;
        let need = tail(&cl, pg, vdl);
        match cl.net.read_page(victim, pg, p, vdl, need) {
            Ok(got) => assert!(got == c.expected(p, vdl), "bad bytes served for page {p}"),
            Err(e) => panic!("healed replica cannot serve page {p}: {e}"),
        }
    }
    // Writes went on throughout.
    load(&v, &mut c, 20, 7);
    c.verify(&*v, pages());
}

#[test]
fn replace_a_node() {
    let v = LocalVolume::open(small(None)).unwrap();
    let mut c = Checker::new();
    load(&v, &mut c, 60, 8);
    let cl = v.cluster().unwrap().clone();
    cl.node(5).unwrap().crash(); // gone for good
    let epoch = cl.membership_epoch();
    let new = v.replace_node(5).unwrap();
    assert_eq!(
        cl.az(new),
        Some(2),
        "the replacement lives in the dead node's AZ"
    );
    // Writes continue during the change.
    load(&v, &mut c, 60, 9);
    eventually(20, "membership change done", || !v.replacing());
    assert_eq!(v.members(), vec![0, 1, 2, 3, 4, new]);
    assert_eq!(cl.members(), vec![0, 1, 2, 3, 4, new]);
    assert!(cl.membership_epoch() > epoch);
    // With the replacement a full member, losing an AZ still leaves a write quorum.
    cl.node(0).unwrap().stop();
    cl.node(1).unwrap().stop();
    load(&v, &mut c, 20, 10);
    c.verify(&*v, pages());
    let vdl = v.durable_lsn();
    let need = tail(&cl, 0, vdl);
    let got = cl.net.read_page(new, 0, 3, vdl, need).unwrap();
    assert!(got == c.expected(3, vdl));
    let _ = Arc::strong_count(&cl);
}

#[test]
fn failing_disk_on_one_node() {
    use borealis_storage::io::{Backend, Faults, FaultyBackend};
    let cfg = small(None);
    let faults = Faults::new();
    let f2 = faults.clone();
    let cl = Cluster::open_wrapped(
        cfg.cluster_options(),
        Some(Box::new(move |id, b| -> Arc<dyn Backend> {
            if id == 4 {
                Arc::new(FaultyBackend {
                    inner: b,
                    faults: f2.clone(),
                })
            } else {
                b
            }
        })),
    )
    .unwrap();
    let v = LocalVolume::open_on(cl.clone(), cfg).unwrap();
    let mut c = Checker::new();
    load(&v, &mut c, 20, 12);
    // The disk starts failing (fsync errors included): the node acknowledges nothing
    // more, writes go on without it.
    faults
        .countdown
        .store(20, std::sync::atomic::Ordering::SeqCst);
    let mut rounds = 0;
    while !faults.failing.load(std::sync::atomic::Ordering::SeqCst) {
        load(&v, &mut c, 10, 13 + rounds);
        rounds += 1;
        assert!(rounds < 200, "the faulty disk never failed");
    }
    load(&v, &mut c, 50, 13);
    c.verify(&*v, pages());
    // Fixed: the node reopens its segments from what is on disk and catches up.
    faults.heal();
    load(&v, &mut c, 10, 14);
    let vdl = v.durable_lsn();
    eventually(20, "node 4 caught up", || {
        (0..3).all(|pg| caught_up(&cl, 4, pg, vdl))
    });
    for p in pages() {
        let pg = p / 8;
        let need = tail(&cl, pg, vdl);
        let got = cl.net.read_page(4, pg, p, vdl, need).unwrap();
        assert!(got == c.expected(p, vdl), "page {p}");
    }
}

#[test]
fn wiped_node_is_rebuilt_from_peers() {
    let d = tempfile::tempdir().unwrap();
    let mut cfg = small(Some(d.path()));
    cfg.log_compact_bytes = 1 << 10; // peers fold their logs: a rebuild needs snapshots
    let v = LocalVolume::open(cfg).unwrap();
    let mut c = Checker::new();
    load(&v, &mut c, 150, 15);
    let cl = v.cluster().unwrap().clone();
    let node = cl.node(5).unwrap();
    node.crash();
    // A write already in flight when the node "crashed" may still land: retry.
    eventually(10, "node directory removed", || {
        std::fs::remove_dir_all(cl.node_path(5).unwrap()).is_ok()
    });
    load(&v, &mut c, 30, 16);
    node.restart().unwrap();
    load(&v, &mut c, 10, 17);
    let vdl = v.durable_lsn();
    eventually(30, "wiped node rebuilt", || {
        (0..3).all(|pg| {
            caught_up(&cl, 5, pg, vdl) && node.segment(pg).is_some_and(|s| !s.status().damaged)
        })
    });
    for p in pages() {
        let pg = p / 8;
        let need = tail(&cl, pg, vdl);
        let got = cl.net.read_page(5, pg, p, vdl, need).unwrap();
        assert!(got == c.expected(p, vdl), "page {p}");
    }
}

#[test]
fn replaced_node_membership_survives_reopen() {
    let d = tempfile::tempdir().unwrap();
    let mut c = Checker::new();
    let new;
    {
        let v = LocalVolume::open(small(Some(d.path()))).unwrap();
        load(&v, &mut c, 40, 18);
        let cl = v.cluster().unwrap().clone();
        cl.node(1).unwrap().crash();
        new = v.replace_node(1).unwrap();
        load(&v, &mut c, 20, 19);
        eventually(20, "membership change done", || !v.replacing());
    }
    let v = LocalVolume::open(small(Some(d.path()))).unwrap();
    c.recovered(v.durable_lsn());
    let cl = v.cluster().unwrap().clone();
    assert_eq!(cl.members(), vec![0, new, 2, 3, 4, 5]);
    assert!(cl.node(1).is_none(), "the replaced node stays retired");
    c.verify(&*v, pages());
    load(&v, &mut c, 10, 20);
    c.verify(&*v, pages());
}
