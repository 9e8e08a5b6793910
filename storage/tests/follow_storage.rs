//! A read replica following the log from six `borealis-storage-node` processes (not
//! from the writer): the records it receives, applied to the pages it read at its start
//! point, give exactly the writer's pages at every VDL it announces (dense across PGs,
//! only durable records); it keeps its read floor on the nodes; it goes on past a
//! writer restart (recovery, new epoch, truncation above VDL) with no reconnection.

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use borealis_storage::net::follow::announce_vdl;
use borealis_storage::net::{follow_storage, AddrBook};
use borealis_storage::volume::LocalVolume;
use borealis_storage::{redo, Error, LogEvent, Lsn, PageBuf, PageNo, Volume, PAGE_SIZE};
use common::*;

const PAGES: u64 = 24;

struct Nodes {
    base: PathBuf,
    procs: Vec<Child>,
}

impl Nodes {
    fn start(base: &Path) -> Self {
        let procs = (0..6)
            .map(|id| {
                let mut ch = Command::new(env!("CARGO_BIN_EXE_borealis-storage-node"))
                    .args(["--id", &id.to_string(), "--az", &(id / 2).to_string()])
                    .arg("--dir")
                    .arg(base.join(format!("node-{id}")))
                    .arg("--peers-dir")
                    .arg(base.join("addrs"))
                    .args([
                        "--segment-bytes",
                        &(8 * PAGE_SIZE).to_string(),
                        "--no-fsync",
                    ])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("start storage node");
                let mut line = String::new();
                BufReader::new(ch.stdout.take().unwrap())
                    .read_line(&mut line)
                    .unwrap();
                assert!(line.starts_with("listening"), "node {id} said {line:?}");
                ch
            })
            .collect();
        Nodes {
            base: base.to_path_buf(),
            procs,
        }
    }

    fn book(&self) -> AddrBook {
        AddrBook::in_dir(self.base.join("addrs"))
    }
}

impl Drop for Nodes {
    fn drop(&mut self) {
        for c in &mut self.procs {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

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

/// The replica's own model: pages read at its start point plus every record received.
struct Applied {
    pages: HashMap<PageNo, PageBuf>,
    last: Lsn,
    durable: Lsn,
}

impl Applied {
    /// Take events until the announced VDL reaches `until`; check density.
    fn take(&mut self, rx: &crossbeam::channel::Receiver<LogEvent>, until: Lsn) {
        while self.durable < until {
            match rx.recv_timeout(Duration::from_secs(20)).expect("an event") {
                LogEvent::Records(rs) => {
                    for r in rs {
                        assert_eq!(r.lsn, self.last + 1, "records are dense and in order");
                        self.last = r.lsn;
                        let img = self.pages.get_mut(&r.page).expect("a page of the test");
                        redo::apply(img, &r.payload).unwrap();
                    }
                }
                LogEvent::Durable(l) => {
                    assert_eq!(l, self.last, "a VDL announced only once its records came");
                    self.durable = l;
                }
            }
        }
    }
}

#[test]
fn replica_follows_storage_nodes_across_a_writer_restart() {
    let d = tempfile::tempdir().unwrap();
    let nodes = Nodes::start(d.path());
    let mut cfg = small(None);
    cfg.nodes = Some(nodes.book());
    let (ppg, maxp) = (cfg.pages_per_pg(), cfg.max_pages());
    let v = LocalVolume::open(cfg.clone()).unwrap();
    announce_vdl(&v, &nodes.book()).unwrap();
    let mut c = Checker::new();
    load(&v, &mut c, 30, 1);

    let f = follow_storage(nodes.book(), ppg, maxp).unwrap();
    let rx = f.subscribe();
    assert!(matches!(
        f.append_mtr(vec![write(0, 0, 1)]),
        Err(Error::ReadOnly)
    ));
    let start = f.durable_lsn();
    assert!(start >= c.acked, "starts at a VDL the nodes were told");
    let mut model = Applied {
        pages: (0..PAGES)
            .map(|p| (p, f.read_page(p, start).unwrap()))
            .collect(),
        last: start,
        durable: start,
    };
    load(&v, &mut c, 40, 2);
    let vdl = v.durable_lsn();
    model.take(&rx, vdl);
    for p in 0..PAGES {
        assert!(model.pages[&p] == c.expected(p, model.durable), "page {p}");
    }
    c.verify(&*f, 0..PAGES);

    // The replica's read floor holds materialization back on the nodes.
    let rp = f.durable_lsn();
    f.set_min_read_point(9, rp);
    f.registrar().unwrap().beat();
    load(&v, &mut c, 60, 3);
    std::thread::sleep(Duration::from_millis(200));
    for p in 0..PAGES {
        assert!(
            f.read_page(p, rp).unwrap() == c.expected(p, rp),
            "page {p} at {rp}"
        );
    }

    // The writer goes away with an MTR in flight; a new one recovers (new epoch).
    c.append(&*v, vec![write(3, 3, 4242)]).unwrap();
    v.close();
    drop(v);
    let v2 = LocalVolume::open(cfg).unwrap();
    c.recovered(v2.durable_lsn());
    announce_vdl(&v2, &nodes.book()).unwrap();
    load(&v2, &mut c, 30, 4);
    let vdl2 = v2.durable_lsn();
    eventually(20, "the follower reached the new writer's VDL", || {
        f.durable_lsn() >= vdl2
    });
    model.take(&rx, vdl2);
    for p in 0..PAGES {
        assert!(
            model.pages[&p] == c.expected(p, model.durable),
            "page {p} after restart"
        );
    }
    c.verify(&*f, 0..PAGES);
    f.set_min_read_point(9, Lsn::MAX);

    // Registered instances are listed by every node.
    let reg = f.registrar().unwrap();
    reg.set_info(b"role=test".to_vec());
    reg.beat();
    assert!(reg
        .list()
        .iter()
        .any(|(id, _, info)| *id == reg.id() && info == b"role=test"));
}
