//! The volume over TCP with six real `borealis-storage-node` processes, killed with
//! SIGKILL: an AZ at a time while writes go on, then the writer, then everything.

mod common;

use borealis_storage::net::TcpTransport;
use borealis_storage::transport::Transport;
use borealis_storage::volume::LocalVolume;
use borealis_storage::Volume;
use common::procs::Nodes;
use common::*;

const PAGES: u64 = 24;

fn load(v: &LocalVolume, c: &mut Checker, n: u64, salt: u64) {
    for i in 0..n {
        let p = (i * 5 + salt) % PAGES;
        c.commit(
            v,
            vec![
                write(p, i + salt, i ^ salt),
                write((p + 7) % PAGES, i, salt),
            ],
        )
        .unwrap();
    }
}

#[test]
fn six_storage_node_processes_survive_kill9() {
    let d = tempfile::tempdir().unwrap();
    let mut nodes = Nodes::start(d.path());
    let mut cfg = small(None);
    cfg.nodes = Some(nodes.book());
    let mut c = Checker::new();
    let v = LocalVolume::open(cfg.clone()).unwrap();
    load(&v, &mut c, 60, 1);
    c.verify(&*v, 0..PAGES);

    // Lose AZ 0: writes and reads go on.
    nodes.kill9(0);
    nodes.kill9(1);
    load(&v, &mut c, 60, 2);
    c.verify(&*v, 0..PAGES);

    // AZ 0 comes back (new processes, new ports) and catches up by gossip; node 0 lost
    // its disk meanwhile and is rebuilt from peer snapshots over TCP.
    std::fs::remove_dir_all(d.path().join("node-0")).unwrap();
    nodes.spawn(0);
    nodes.spawn(1);
    load(&v, &mut c, 20, 3);
    let probe = TcpTransport::new(nodes.book(), &[0, 1, 2, 3, 4, 5]);
    let vdl = v.durable_lsn();
    eventually(30, "AZ 0 caught up", || {
        (0..3).all(|pg| {
            let want = probe.tail(4, pg, vdl).unwrap_or(u64::MAX);
            [0, 1].iter().all(|&n| {
                probe
                    .poll(n, pg, 0, None)
                    .ok()
                    .flatten()
                    .is_some_and(|s| s.scl >= want)
            })
        })
    });

    // Lose AZ 1, then the writer itself; a new writer recovers over TCP.
    nodes.kill9(2);
    nodes.kill9(3);
    load(&v, &mut c, 30, 4);
    for i in 0..5 {
        c.append(&*v, vec![write(i, i, 900 + i)]).unwrap();
    }
    drop(v);
    let v = LocalVolume::open(cfg.clone()).unwrap();
    c.recovered(v.durable_lsn());
    c.verify(&*v, 0..PAGES);
    load(&v, &mut c, 20, 5);
    drop(v);

    // Everything dies; everything restarts from disk.
    for id in 0..6 {
        nodes.kill9(id);
    }
    for id in 0..6 {
        nodes.spawn(id);
    }
    let v = LocalVolume::open(cfg).unwrap();
    c.recovered(v.durable_lsn());
    c.verify(&*v, 0..PAGES);
    load(&v, &mut c, 20, 6);
    c.verify(&*v, 0..PAGES);
}

#[test]
fn remote_follower_streams_the_log_and_reads_from_nodes() {
    use borealis_storage::net::{serve_log, RemoteFollower};
    use borealis_storage::{Error, LogEvent};
    let d = tempfile::tempdir().unwrap();
    let nodes = Nodes::start(d.path());
    let mut cfg = small(None);
    cfg.nodes = Some(nodes.book());
    let v = LocalVolume::open(cfg).unwrap();
    let mut c = Checker::new();
    load(&v, &mut c, 30, 1);
    // In flight when the replica connects: it must still see these.
    for i in 0..3 {
        c.append(&*v, vec![write(i, i, 700 + i)]).unwrap();
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    serve_log(v.clone(), listener).unwrap();
    let f = RemoteFollower::connect(addr, nodes.book()).unwrap();
    let rx = f.subscribe();
    assert!(matches!(
        f.append_mtr(vec![write(0, 0, 1)]),
        Err(Error::ReadOnly)
    ));
    load(&v, &mut c, 30, 2);
    let vdl = v.durable_lsn();
    f.wait_durable(vdl).unwrap();
    assert!(f.durable_lsn() >= vdl);
    c.verify(&*f, 0..PAGES);
    // The stream carried records and VDL advances, without polling.
    let mut recs = 0;
    let mut durable = 0;
    while durable < vdl {
        match rx.recv_timeout(std::time::Duration::from_secs(10)).unwrap() {
            LogEvent::Records(r) => recs += r.len(),
            LogEvent::Durable(l) => durable = l,
        }
    }
    assert!(recs >= 60, "{recs} records streamed");
    // The replica's read point holds back materialization on the nodes.
    let rp = f.durable_lsn();
    f.set_min_read_point(9, rp);
    eventually(10, "read point reached the writer", || {
        v.min_read_point() == Some(rp)
    });
    load(&v, &mut c, 40, 3);
    std::thread::sleep(std::time::Duration::from_millis(300));
    for p in 0..PAGES {
        assert!(
            f.read_page(p, rp).unwrap() == c.expected(p, rp),
            "page {p} at {rp}"
        );
    }
    c.verify(&*f, 0..PAGES);
}
