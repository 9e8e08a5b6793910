//! The quorum volume end to end: durability, exact reads, growth, fencing, reopen.

mod common;

use std::sync::Arc;

use borealis_storage::volume::{pg_of, LocalVolume, VolumeConfig, DEFAULT_MAX_BYTES};
use borealis_storage::{Error, LogEvent, Volume, PAGE_SIZE};
use common::*;

#[test]
fn commits_become_durable_and_read_back_exactly() {
    let v = LocalVolume::open(small(None)).unwrap();
    let mut c = Checker::new();
    let mut lsns = Vec::new();
    // A read point registered while it is the VDL stays readable (replicas never
    // materialize past the oldest registered read point).
    v.set_min_read_point(1, 0);
    let mut at = 0;
    for i in 0..300u64 {
        if i == 100 {
            v.wait_durable(lsns[99]).unwrap();
            at = v.durable_lsn();
            v.set_min_read_point(1, at);
        }
        let l = c
            .append(
                &*v,
                vec![write(i % 20, i, i), write((i * 7) % 20, i + 1, !i)],
            )
            .unwrap();
        lsns.push(l);
    }
    v.wait_durable(*lsns.last().unwrap()).unwrap();
    assert_eq!(v.durable_lsn(), 600);
    c.verify(&*v, 0..20);
    let got = v.read_page(3, at).unwrap();
    let want = c.expected(3, at);
    assert!(got == want);
    // Unwritten pages read as zeros.
    assert!(v
        .read_page(5000, v.durable_lsn())
        .unwrap()
        .iter()
        .all(|&b| b == 0));
}

#[test]
fn on_disk_volume_reopens_without_replay() {
    let d = tempfile::tempdir().unwrap();
    let mut c = Checker::new();
    {
        let v = LocalVolume::open(small(Some(d.path()))).unwrap();
        for i in 0..200u64 {
            let l = c.append(&*v, vec![write(i % 30, i, i * 3)]).unwrap();
            v.wait_durable(l).unwrap();
        }
        c.verify(&*v, 0..30);
    }
    let v = LocalVolume::open(small(Some(d.path()))).unwrap();
    assert_eq!(v.durable_lsn(), 200);
    assert!(v.epoch() >= 2, "epoch {}", v.epoch());
    c.verify(&*v, 0..30);
    let l = c.append(&*v, vec![write(1, 1, 77)]).unwrap();
    v.wait_durable(l).unwrap();
    c.verify(&*v, 0..30);
}

#[test]
fn growth_crosses_many_pgs_and_stops_at_the_cap() {
    let mut cfg = small(None);
    cfg.max_bytes = cfg.segment_bytes * 40; // 40 PGs of 8 pages
    let v = LocalVolume::open(cfg).unwrap();
    let mut c = Checker::new();
    let mut last = 0;
    for p in 0..320u64 {
        last = c.append(&*v, vec![write(p, p, p + 1)]).unwrap();
    }
    v.wait_durable(last).unwrap();
    assert_eq!(v.pg_count(), 40);
    c.verify(&*v, (0..320).step_by(7));
    match v.append_mtr(vec![write(320, 0, 1)]) {
        Err(Error::VolumeFull { page }) => assert_eq!(page, 320),
        other => panic!("expected VolumeFull, got {other:?}"),
    }
    // A rejected MTR allocates nothing.
    assert_eq!(v.last_lsn(), last);
}

#[test]
fn page_arithmetic_at_the_real_limit() {
    let cfg = VolumeConfig::in_memory();
    let ppg = cfg.pages_per_pg();
    assert_eq!(ppg, 655_360); // 10 GiB / 16 KiB
    let max = cfg.max_pages();
    assert_eq!(max, 8_589_934_592); // 128 TiB / 16 KiB = 2^33 pages
                                    // 128 TiB / 10 GiB = 13,107.2: 13,107 full PGs and a last partial one.
    assert_eq!(cfg.max_pgs(), 13_108);
    let last_page = DEFAULT_MAX_BYTES / PAGE_SIZE as u64 - 1;
    assert_eq!(last_page, max - 1);
    assert_eq!(pg_of(last_page, ppg, max).unwrap(), 13_107);
    assert_eq!(pg_of(13_107 * ppg - 1, ppg, max).unwrap(), 13_106);
    assert_eq!(pg_of(0, ppg, max).unwrap(), 0);
    assert_eq!(pg_of(ppg - 1, ppg, max).unwrap(), 0);
    assert_eq!(pg_of(ppg, ppg, max).unwrap(), 1);
    assert!(matches!(
        pg_of(last_page + 1, ppg, max),
        Err(Error::VolumeFull { page }) if page == last_page + 1
    ));
    // A real volume with the default geometry accepts the last page and refuses the next.
    let v = LocalVolume::open(cfg).unwrap();
    let l = v.append_mtr(vec![write(last_page, 0, 9)]).unwrap();
    v.wait_durable(l).unwrap();
    assert_eq!(v.read_page(last_page, l).unwrap()[..8], 9u64.to_le_bytes());
    assert!(matches!(
        v.append_mtr(vec![write(last_page + 1, 0, 9)]),
        Err(Error::VolumeFull { .. })
    ));
}

#[test]
fn new_writer_fences_the_old_one() {
    let v1 = LocalVolume::open(small(None)).unwrap();
    let mut c = Checker::new();
    let mut l = 0;
    for i in 0..50u64 {
        l = c.append(&*v1, vec![write(i % 5, i, i)]).unwrap();
    }
    v1.wait_durable(l).unwrap();
    let v2 = LocalVolume::open_on(v1.cluster().unwrap().clone(), small(None)).unwrap();
    assert!(v2.epoch() > v1.epoch());
    assert_eq!(v2.durable_lsn(), l);
    // The deposed writer cannot make anything durable.
    let r = v1
        .append_mtr(vec![write(0, 0, 1)])
        .and_then(|l| v1.wait_durable(l));
    assert!(matches!(r, Err(Error::Fenced { .. })), "{r:?}");
    c.verify(&*v2, 0..5);
    let l2 = v2.append_mtr(vec![write(0, 0, 5)]).unwrap();
    assert_eq!(
        l2,
        l + 1,
        "the fenced record was truncated, LSNs continue at VDL"
    );
    v2.wait_durable(l2).unwrap();
}

#[test]
fn follower_is_read_only_and_streams_the_log() {
    let v = LocalVolume::open(small(None)).unwrap();
    let f = v.follower();
    let rx = f.subscribe();
    assert!(matches!(
        f.append_mtr(vec![write(0, 0, 1)]),
        Err(Error::ReadOnly)
    ));
    let l = v.append_mtr(vec![write(0, 0, 1), write(9, 0, 2)]).unwrap();
    let mut recs = Vec::new();
    let mut durable = 0;
    while durable < l {
        match rx.recv_timeout(std::time::Duration::from_secs(10)).unwrap() {
            LogEvent::Records(r) => recs.extend(r),
            LogEvent::Durable(d) => durable = d,
        }
    }
    assert_eq!(recs.len(), 2);
    assert!(recs[1].mtr_end && !recs[0].mtr_end);
    assert_eq!(f.last_lsn(), f.durable_lsn());
    assert_eq!(f.read_page(9, l).unwrap()[..8], 2u64.to_le_bytes());
    let _ = Arc::strong_count(&v);
}

#[test]
fn registered_read_points_stay_readable_until_released() {
    let v = LocalVolume::open(small(None)).unwrap();
    let mut c = Checker::new();
    for i in 0..100u64 {
        c.commit(&*v, vec![write(i % 16, i, i)]).unwrap();
    }
    let rp = v.durable_lsn();
    v.set_min_read_point(7, rp);
    for i in 0..300u64 {
        c.commit(&*v, vec![write(i % 16, i + 1, i * 11)]).unwrap();
    }
    let cl = v.cluster().unwrap().clone();
    // Replicas materialize up to the read point, never past it.
    eventually(20, "materialized up to the read point", || {
        (0..6).all(|n| {
            (0..2).all(|pg| {
                cl.node(n)
                    .unwrap()
                    .segment(pg)
                    .is_some_and(|s| s.status().applied > rp - 20)
            })
        })
    });
    for n in 0..6 {
        for pg in 0..2 {
            assert!(cl.node(n).unwrap().segment(pg).unwrap().status().applied <= rp);
        }
    }
    for p in 0..16 {
        assert!(v.read_page(p, rp).unwrap() == c.expected(p, rp), "page {p}");
    }
    c.verify(&*v, 0..16);
    // Released: replicas fold the log past it, and the old version is gone.
    let vdl = v.durable_lsn();
    v.set_min_read_point(7, vdl);
    eventually(20, "materialized past the old read point", || {
        (0..6).all(|n| {
            cl.node(n)
                .unwrap()
                .segment(0)
                .is_some_and(|s| s.status().applied > rp)
        })
    });
    assert!(matches!(
        v.read_page(0, rp),
        Err(Error::ReadPointTooOld { .. })
    ));
    c.verify(&*v, 0..16);
}

#[test]
fn reading_own_fresh_writes_waits_for_durability() {
    let v = LocalVolume::open(small(None)).unwrap();
    let mut c = Checker::new();
    for i in 0..50u64 {
        // Read back immediately, without waiting for durability first.
        let l = c.append(&*v, vec![write(i % 4, i, i + 1)]).unwrap();
        assert!(v.read_page(i % 4, l).unwrap() == c.expected(i % 4, l));
    }
    // Past the end means "latest".
    let last = v.last_lsn();
    assert!(v.read_page(1, u64::MAX).unwrap() == c.expected(1, last));
}
