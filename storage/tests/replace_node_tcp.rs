//! Replacing a permanently dead storage node over TCP, while a writer thread commits
//! continuously: the dead process is SIGKILLed and its directory deleted; a new
//! `borealis-storage-node` process (new id, new port, empty directory) in the same AZ
//! joins through a membership change carrying an epoch and fills itself from its peers.
//! Afterwards the volume survives losing one node in each of the two other AZs (so the
//! new node must hold the data and ack writes), a restarted writer finds the new
//! membership on the nodes, and the new node alone serves every page exactly.
//! Two ways in: the writer's API (`LocalVolume::replace_member`), or the new process
//! started with `--replaces OLD`, which the writer notices by itself.
//! Seeded: prints its seed; `BOREALIS_SEED=<n>` replays one.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use borealis_storage::net::membership::Member;
use borealis_storage::net::{AddrBook, TcpTransport};
use borealis_storage::transport::Transport;
use borealis_storage::volume::LocalVolume;
use borealis_storage::{Error, Volume};
use common::procs::Nodes;
use common::*;
use rand::{Rng, SeedableRng};

const PAGES: u64 = 32;
const PER_PG: u64 = 8;

fn commit_random(v: &LocalVolume, c: &mut Checker, rng: &mut impl Rng, tag: u64) {
    let n = rng.gen_range(1..=3);
    let ws = (0..n)
        .map(|j| write(rng.gen_range(0..PAGES), rng.gen_range(0..64), tag * 4 + j))
        .collect();
    c.commit(v, ws)
        .unwrap_or_else(|e| panic!("commit {tag} failed: {e}"));
}

#[test]
fn replace_dead_node_over_tcp_while_writing() {
    scenario(false);
}

#[test]
fn node_started_with_replaces_joins_while_writing() {
    scenario(true);
}

fn scenario(via_cli: bool) {
    let seed: u64 = std::env::var("BOREALIS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    println!("replace_node_tcp seed {seed} (replay: BOREALIS_SEED={seed})");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let d = tempfile::tempdir().unwrap();
    let mut nodes = Nodes::start(d.path());
    let mut cfg = small(None);
    cfg.nodes = Some(nodes.book());
    let v = LocalVolume::open(cfg.clone()).unwrap();
    let original: Vec<String> = (0..6)
        .map(|i| format!("{i}={}", nodes.book().lookup(i).unwrap()))
        .collect();
    let first = v.membership().expect("a TCP volume has a membership");
    assert_eq!(first.epoch, 1);
    assert_eq!(first.ids(), vec![0, 1, 2, 3, 4, 5]);

    // A writer thread commits until told to stop.
    let mut c = Checker::new();
    let mut wrng = rand::rngs::StdRng::seed_from_u64(seed ^ 0x5eed);
    for i in 0..40 {
        commit_random(&v, &mut c, &mut wrng, i);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let writer = {
        let (v, stop, done) = (v.clone(), stop.clone(), done.clone());
        std::thread::spawn(move || {
            let mut i = 1000;
            while !stop.load(Ordering::SeqCst) {
                commit_random(&v, &mut c, &mut wrng, i);
                i += 1;
                done.fetch_add(1, Ordering::SeqCst);
            }
            c
        })
    };
    let progress = |n: u64, what: &str| {
        let want = done.load(Ordering::SeqCst) + n;
        eventually(60, what, || done.load(Ordering::SeqCst) >= want);
    };
    progress(20, "writer started");

    // The victim dies for good: SIGKILL, and its disk is gone.
    let victim = rng.gen_range(0..6usize);
    let az = (victim / 2) as u8;
    println!("victim node {victim} (AZ {az})");
    nodes.kill9(victim);
    std::fs::remove_dir_all(nodes.dir(victim)).unwrap();
    progress(20, "writes go on without the victim");

    // A new process with a new id, port and empty directory takes its place.
    let new = 6;
    if via_cli {
        nodes.spawn_args(new, az, &["--replaces", &victim.to_string()]);
        eventually(60, "the writer started the change", || {
            v.replacing() || v.membership().unwrap().epoch > 1
        });
    } else {
        nodes.spawn_in(new, az);
        v.replace_member(victim, new, None).unwrap();
        assert!(v.replacing());
        // A second change while one runs is refused.
        assert!(v.replace_member(victim, new, None).is_err());
    }
    let before = done.load(Ordering::SeqCst);
    eventually(90, "membership change done", || !v.replacing());
    println!(
        "commits during the change: {}",
        done.load(Ordering::SeqCst) - before
    );
    progress(30, "writes go on after the change");
    stop.store(true, Ordering::SeqCst);
    let mut c = writer.join().expect("writer thread");
    c.verify(&*v, 0..PAGES);

    let m = v.membership().unwrap();
    assert_eq!(m.epoch, 2, "a membership change bumps the epoch");
    assert!(m.ids().contains(&new) && !m.ids().contains(&victim));
    assert_eq!(m.member(new).unwrap().az, Some(az));
    // The members store it (a write quorum of both sets did before the change ended).
    let probe = TcpTransport::new(nodes.book(), &[]);
    let stored = m
        .ids()
        .iter()
        .filter(|&&n| matches!(probe.node_view(n), Ok(v) if v.membership.as_ref() == Some(&m)))
        .count();
    assert!(stored >= 4, "new membership stored on {stored} members");

    // Lose one node in each of the other AZs: with the victim gone, the four left
    // (one of them the new node) are exactly a write quorum.
    let others: Vec<usize> = (0..3u8)
        .filter(|&a| a != az)
        .map(|a| a as usize * 2 + rng.gen_range(0..2))
        .collect();
    println!("then killing {others:?}");
    for &o in &others {
        nodes.kill9(o);
    }
    let mut wrng = rand::rngs::StdRng::seed_from_u64(seed ^ 0xfee1);
    for i in 0..30 {
        commit_random(&v, &mut c, &mut wrng, 5000 + i);
    }
    c.verify(&*v, 0..PAGES);

    // A restarted writer finds the new membership on the nodes and recovers on it,
    // even when its address book is the original six fixed addresses (dead node
    // included, new node missing: it learns the new node's address from the membership).
    v.close();
    drop(v);
    cfg.nodes = Some(AddrBook::parse_fixed(&original).unwrap());
    let v = LocalVolume::open(cfg).unwrap();
    assert_eq!(v.membership().unwrap(), m);
    c.recovered(v.durable_lsn());
    c.verify(&*v, 0..PAGES);
    for i in 0..20 {
        commit_random(&v, &mut c, &mut wrng, 6000 + i);
    }
    c.verify(&*v, 0..PAGES);

    // A deposed writer (the first one's epoch) cannot change the membership.
    let other = m
        .replaced(
            m.ids()[0],
            Member {
                id: 9,
                az: None,
                addr: None,
            },
        )
        .unwrap();
    assert!(v.epoch() > 1);
    assert!(matches!(
        probe.offer_membership(new, v.epoch() - 1, &other),
        Err(Error::Fenced { .. })
    ));
    assert_eq!(probe.node_view(new).unwrap().membership.as_ref(), Some(&m));

    // The new node alone holds every page exactly as of VDL.
    let vdl = v.durable_lsn();
    let alive: Vec<usize> = m
        .ids()
        .into_iter()
        .filter(|n| *n != new && !others.contains(n))
        .collect();
    let pgs = PAGES.div_ceil(PER_PG);
    let tail = |pg: u64| {
        alive
            .iter()
            .filter_map(|&n| probe.tail(n, pg, vdl).ok())
            .max()
            .unwrap_or(0)
    };
    eventually(30, "new node complete up to VDL", || {
        (0..pgs).all(|pg| {
            probe
                .poll(new, pg, 0, None)
                .ok()
                .flatten()
                .is_some_and(|s| !s.damaged && s.scl >= tail(pg))
        })
    });
    for p in 0..PAGES {
        let pg = p / PER_PG;
        let got = probe.read_page(new, pg, p, vdl, tail(pg)).unwrap();
        assert!(
            got == c.expected(p, vdl),
            "page {p} on the new node (seed {seed})"
        );
    }
}
