//! A seeded random fault schedule: thousands of writes while replicas are stopped,
//! crashed (losing memory), restarted, partitioned, corrupted (page slots and logs) and
//! the writer itself crashes and recovers. After every step a checker proves that every
//! acknowledged write is readable, that nothing above VDL appears after recovery, and
//! that reads never return bad bytes. Replay a failure with BOREALIS_SEED=<seed>.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use borealis_storage::cluster::Cluster;
use borealis_storage::node::WRITER;
use borealis_storage::transport::Transport;
use borealis_storage::volume::LocalVolume;
use borealis_storage::Volume;
use common::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const PAGES: u64 = 32; // four PGs of 8 pages

fn corrupt_slot(cl: &Cluster, rng: &mut StdRng) -> bool {
    let n = rng.gen_range(0..6);
    let pg = rng.gen_range(0..PAGES / 8);
    let Some(f) = cl.mem_backend(n).and_then(|b| b.files(pg)) else {
        return false;
    };
    let mut pages = f.pages.lock();
    let keys: Vec<u64> = pages.keys().copied().collect();
    if keys.is_empty() {
        return false;
    }
    let k = keys[rng.gen_range(0..keys.len())];
    let slot = pages.get_mut(&k).expect("key exists");
    let i = rng.gen_range(0..slot.1.len());
    slot.1[i] ^= 1 << rng.gen_range(0..8);
    true
}

fn corrupt_log(cl: &Cluster, rng: &mut StdRng) -> bool {
    let n = rng.gen_range(0..6);
    let pg = rng.gen_range(0..PAGES / 8);
    let Some(f) = cl.mem_backend(n).and_then(|b| b.files(pg)) else {
        return false;
    };
    let mut log = f.log.lock();
    if log.is_empty() {
        return false;
    }
    let i = rng.gen_range(0..log.len());
    log[i] ^= 0x40;
    true
}

fn seed() -> u64 {
    let seed: u64 = std::env::var("BOREALIS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    println!("random fault schedule seed {seed} (replay: BOREALIS_SEED={seed})");
    seed
}

#[test]
fn random_fault_schedule() {
    run(seed(), None, 40, true);
}

/// The same with every append going through the nodes' request threads (as when they
/// fsync) rather than made inline by the writer's threads.
#[test]
fn random_fault_schedule_through_request_threads() {
    run(seed(), None, 40, false);
}

/// The same on disk (nodes crash and reopen their files), without byte corruption:
/// files are memory-mapped while nodes run, so damaging them belongs to the named test.
#[test]
fn random_fault_schedule_on_disk() {
    let d = tempfile::tempdir().unwrap();
    run(seed(), Some(d.path()), 15, true);
}

fn run(seed: u64, dir: Option<&std::path::Path>, steps: usize, inline: bool) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut cfg = small(dir);
    cfg.inline_appends = inline;
    let mut v = LocalVolume::open(cfg.clone()).unwrap();
    let cl: Arc<Cluster> = v.cluster().unwrap().clone();
    let mut c = Checker::new();
    // Nodes that cannot take writes right now (down, or cut off from the writer). At
    // most two, so a write quorum always remains and every commit must complete.
    let mut impaired: BTreeSet<usize> = BTreeSet::new();
    let mut tag = 0u64;
    let mut writes = 0;
    for step in 0..steps {
        let action = rng.gen_range(0..9);
        match action {
            0 | 1 if impaired.len() < 2 => {
                let n = rng.gen_range(0..6);
                if impaired.insert(n) {
                    if action == 0 {
                        cl.node(n).unwrap().stop();
                    } else {
                        cl.node(n).unwrap().crash();
                    }
                }
            }
            2 if impaired.len() < 2 => {
                let n = rng.gen_range(0..6);
                if impaired.insert(n) {
                    cl.net.set_link(WRITER, n, false);
                }
            }
            3 => {
                let a = rng.gen_range(0..6);
                let b = (a + rng.gen_range(1..6)) % 6;
                cl.net.heal_all();
                cl.net.set_link(a, b, false);
                impaired.retain(|n| !cl.node(*n).unwrap().is_up());
            }
            4 => {
                if let Some(&n) = impaired.iter().next() {
                    cl.node(n).unwrap().restart().unwrap();
                    cl.net.set_link(WRITER, n, true);
                    impaired.remove(&n);
                }
            }
            5 if dir.is_none() => {
                corrupt_slot(&cl, &mut rng);
            }
            6 if dir.is_none() && corrupt_log(&cl, &mut rng) => {
                for n in cl.net.all() {
                    n.request_scrub();
                }
            }
            7 => {
                // The writer crashes with MTRs in flight, and a new one recovers.
                for _ in 0..rng.gen_range(0..4) {
                    tag += 1;
                    c.append(&*v, vec![write(tag % PAGES, tag, tag)]).unwrap();
                }
                drop(v);
                v = LocalVolume::open_on(cl.clone(), cfg.clone()).unwrap();
                c.recovered(v.durable_lsn());
            }
            _ => {}
        }
        for _ in 0..rng.gen_range(20..60) {
            tag += 1;
            let p = rng.gen_range(0..PAGES);
            let q = rng.gen_range(0..PAGES);
            c.commit(&*v, vec![write(p, tag, tag), write(q, tag + 1, !tag)])
                .unwrap_or_else(|e| panic!("step {step}: commit failed: {e} (seed {seed})"));
            writes += 1;
        }
        c.verify(&*v, (0..PAGES).filter(|_| rng.gen_bool(0.3)));
    }
    // Repair everything; every replica converges and serves exact pages by itself.
    cl.net.heal_all();
    for n in cl.net.all() {
        n.restart().unwrap();
    }
    c.verify(&*v, 0..PAGES);
    // A scrub finds every damaged slot not read since it was damaged.
    for n in cl.net.all() {
        n.request_scrub();
    }
    eventually(30, "scrubbed", || {
        cl.net.all().iter().all(|n| n.last_scrub().is_some())
    });
    let vdl = v.durable_lsn();
    eventually(30, "all replicas converge", || {
        (0..PAGES / 8).all(|pg| {
            let want = (0..6)
                .filter_map(|n| cl.node(n).unwrap().segment(pg))
                .map(|s| s.tail_at_or_below(vdl))
                .max()
                .unwrap_or(0);
            (0..6).all(|n| {
                cl.node(n)
                    .unwrap()
                    .segment(pg)
                    .is_some_and(|s| !s.status().damaged && s.status().scl >= want)
            })
        })
    });
    for n in 0..6 {
        for p in 0..PAGES {
            let pg = p / 8;
            let seg = cl.node(n).unwrap().segment(pg).unwrap();
            let need = seg.tail_at_or_below(vdl);
            let got = cl
                .net
                .read_page(n, pg, p, vdl, need)
                .unwrap_or_else(|e| panic!("node {n} page {p}: {e} (seed {seed})"));
            assert!(got == c.expected(p, vdl), "node {n} page {p} (seed {seed})");
        }
    }
    println!("{writes} committed MTRs checked");
}
