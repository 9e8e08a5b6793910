//! Crash consistency with a real process kill: a child process (this test binary
//! re-executed) writes to an on-disk volume with fsync and reports every LSN it saw
//! acknowledged durable over a pipe; the parent SIGKILLs it at a seeded random point,
//! reopens the volume and checks that every acknowledged MTR is there and nothing above
//! the recovered VDL is visible. Several rounds, each recovering the previous crash.
//! A second variant materializes every few milliseconds and never compacts the log, so
//! each kill lands between or inside materialization passes and the reopened replicas
//! fold what their slots already hold (`Segment::open`).

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use borealis_storage::volume::LocalVolume;
use borealis_storage::{redo, zero_page, Lsn, PageBuf, PageWrite, Volume, PAGE_SIZE};
use rand::{Rng, SeedableRng};

const CHILD_ENV: &str = "BOREALIS_KILL9_DIR";
/// Set (to anything) in the child of the materializing variant.
const MAT_ENV: &str = "BOREALIS_KILL9_MATERIALIZE";
const PAGES: u64 = 40;

/// MTR `i`: 1..=3 records, deterministic content.
fn mtr(i: u64) -> Vec<PageWrite> {
    (0..(i % 3) + 1)
        .map(|j| {
            let mut payload = Vec::new();
            let off = ((i * 8 + j * 24) as usize) % (PAGE_SIZE - 8);
            redo::push_write(&mut payload, off, &(i * 100 + j).to_le_bytes());
            PageWrite {
                page: (i * 7 + j * 3) % PAGES,
                payload,
            }
        })
        .collect()
}

/// Number of MTRs whose records exactly fill LSNs 1..=vdl (None: vdl is not an MTR end).
fn mtrs_up_to(vdl: Lsn) -> Option<u64> {
    let (mut i, mut end) = (0, 0);
    while end < vdl {
        end += mtr(i).len() as u64;
        i += 1;
    }
    (end == vdl).then_some(i)
}

fn expected(n_mtrs: u64, page: u64) -> PageBuf {
    let mut img = zero_page();
    for i in 0..n_mtrs {
        for w in mtr(i) {
            if w.page == page {
                redo::apply(&mut img, &w.payload).unwrap();
            }
        }
    }
    img
}

fn config(dir: &std::path::Path, materialize: bool) -> borealis_storage::VolumeConfig {
    let mut c = common::small(Some(dir));
    c.fsync = true;
    if materialize {
        c.materialize_every = std::time::Duration::from_millis(2);
        c.log_compact_bytes = 1 << 30;
    }
    c
}

fn child(dir: &str) {
    let materialize = std::env::var(MAT_ENV).is_ok();
    let v = LocalVolume::open(config(dir.as_ref(), materialize)).unwrap();
    let mut i = mtrs_up_to(v.durable_lsn()).expect("recovered VDL is an MTR end");
    let mut out = std::io::stdout().lock();
    writeln!(out, "open {}", v.durable_lsn()).unwrap();
    out.flush().unwrap();
    loop {
        // Pipeline a few MTRs, then wait for the last: like concurrent committers.
        let mut last = 0;
        for _ in 0..4 {
            last = v.append_mtr(mtr(i)).unwrap();
            i += 1;
        }
        v.wait_durable(last).unwrap();
        writeln!(out, "ack {last}").unwrap();
        out.flush().unwrap();
    }
}

#[test]
fn kill9_writer_loses_no_acknowledged_commit() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        child(&dir);
        return;
    }
    kill_rounds("kill9_writer_loses_no_acknowledged_commit", false, 3..30);
}

#[test]
fn kill9_between_materialization_passes_loses_no_acknowledged_commit() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        child(&dir);
        return;
    }
    kill_rounds(
        "kill9_between_materialization_passes_loses_no_acknowledged_commit",
        true,
        20..300,
    );
}

/// Three rounds of: run the child writer (this test, re-executed), SIGKILL it after a
/// seeded number of acknowledged batches, reopen and check every acknowledged MTR.
fn kill_rounds(test: &str, materialize: bool, acks: std::ops::Range<u64>) {
    let seed: u64 = std::env::var("BOREALIS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    println!("{test} seed {seed} (replay: BOREALIS_SEED={seed})");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let d = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut acked: Lsn = 0;
    for round in 0..3 {
        let mut cmd = Command::new(&exe);
        cmd.args(["--exact", test, "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, d.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if materialize {
            cmd.env(MAT_ENV, "1");
        }
        let mut ch = cmd.spawn().unwrap();
        let kill_after = rng.gen_range(acks.clone());
        let mut lines = BufReader::new(ch.stdout.take().unwrap()).lines();
        let mut n = 0;
        while n < kill_after {
            let Some(Ok(line)) = lines.next() else {
                panic!("child died early (round {round}, seed {seed})");
            };
            if let Some(l) = line.strip_prefix("ack ") {
                acked = acked.max(l.parse().unwrap());
                n += 1;
            }
        }
        ch.kill().unwrap(); // SIGKILL
        ch.wait().unwrap();
        let v = LocalVolume::open(config(d.path(), materialize)).unwrap();
        let vdl = v.durable_lsn();
        println!("round {round}: acked {acked}, recovered vdl {vdl}");
        assert!(vdl >= acked, "acknowledged commit lost (seed {seed})");
        assert_eq!(v.last_lsn(), vdl);
        let n = mtrs_up_to(vdl).unwrap_or_else(|| panic!("vdl {vdl} not an MTR end (seed {seed})"));
        for p in 0..PAGES {
            assert!(
                v.read_page(p, vdl).unwrap() == expected(n, p),
                "page {p} wrong after recovery to {vdl} (seed {seed})"
            );
        }
        acked = vdl;
    }
}
