//! B+tree tests: randomized differential runs against a `BTreeMap` model (seeded, seed
//! printed), scans, overflow values, eviction, rollback, reopen and concurrency.

use super::*;
use borealis_storage::mem::MemVolume;
use borealis_storage::Volume;
use borealis_storage::PAGE_SIZE as PAGE_SIZE_BYTES;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::sync::Arc;

fn as_ref(b: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match b {
        Bound::Included(x) => Bound::Included(x.as_slice()),
        Bound::Excluded(x) => Bound::Excluded(x.as_slice()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

fn seed() -> u64 {
    let s = std::env::var("BTREE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    println!("seed = {s} (rerun with BTREE_SEED={s})");
    s
}

fn pager(pool: usize) -> (Arc<dyn Volume>, Pager) {
    let v: Arc<dyn Volume> = Arc::new(MemVolume::new());
    let p = Pager::open(v.clone(), pool).unwrap();
    (v, p)
}

fn new_tree(p: &Pager) -> BTree {
    let mut m = p.begin();
    let t = BTree::create(&mut m).unwrap();
    m.commit().unwrap();
    t
}

/// Key for model number `n`: memcomparable prefix, varied lengths, a few very long.
fn key_of(n: u32) -> Vec<u8> {
    let mut k = n.to_be_bytes().to_vec();
    let extra = if n % 997 == 3 {
        MAX_KEY_LEN - 4 - (n as usize % 700)
    } else {
        n as usize % 37
    };
    k.extend(std::iter::repeat_n(b'k', extra));
    k
}

fn value_of(rng: &mut StdRng) -> Vec<u8> {
    let len = match rng.gen_range(0..1000) {
        0..=4 => rng.gen_range(5_000..40_000), // overflow
        5..=40 => rng.gen_range(1_000..4_100), // around the inline limit
        _ => rng.gen_range(0..200),
    };
    let b: u8 = rng.gen();
    (0..len).map(|i| b.wrapping_add(i as u8)).collect()
}

fn all(t: &BTree, p: &Pager, reverse: bool) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out = Vec::new();
    t.scan(
        p,
        Bound::Unbounded,
        Bound::Unbounded,
        reverse,
        &mut |k, v| {
            out.push((k.to_vec(), v.to_vec()));
            Ok(true)
        },
    )
    .unwrap();
    out
}

fn assert_matches(t: &BTree, p: &Pager, model: &BTreeMap<Vec<u8>, Vec<u8>>) {
    let fwd = all(t, p, false);
    assert_eq!(fwd.len(), model.len());
    assert!(fwd
        .iter()
        .zip(model.iter())
        .all(|(a, b)| a.0 == *b.0 && a.1 == *b.1));
    let mut rev = all(t, p, true);
    rev.reverse();
    assert!(rev == fwd, "reverse scan differs from forward scan");
}

/// Keys sharing long prefixes: separators stay long, so internal nodes hold few
/// entries and internal splits, merges and redistributions happen often.
fn long_key_of(n: u32) -> Vec<u8> {
    let mut k = vec![b'p'; 300 + (n as usize % 7) * 150];
    if n % 501 == 7 {
        k.resize(MAX_KEY_LEN - 4, b'q');
    }
    k.extend_from_slice(&n.to_be_bytes());
    k
}

#[test]
fn randomized_against_model() {
    randomized(key_of, 30_000);
}

#[test]
fn randomized_long_keys_against_model() {
    randomized(long_key_of, 8_000);
}

fn randomized(key_of: fn(u32) -> Vec<u8>, key_space: u32) {
    let seed = seed();
    let mut rng = StdRng::seed_from_u64(seed);
    let (_v, p) = pager(64 << 20);
    let t = new_tree(&p);
    let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    const OPS: usize = 120_000;
    let mut m = p.begin();
    for op in 0..OPS {
        // Grow for the first 60%, then shrink: exercises splits, then merges.
        let insert_pct = if op < OPS * 6 / 10 { 65 } else { 30 };
        let n = rng.gen_range(0..key_space);
        let k = key_of(n);
        if rng.gen_range(0..100) < insert_pct {
            let mut v = value_of(&mut rng);
            if let Some(old) = model.get(&k).filter(|_| rng.gen_bool(0.3)) {
                // Same-size update: the in-place path.
                v = old.iter().map(|b| b.wrapping_add(1)).collect();
            }
            if rng.gen_bool(0.5) {
                let old = t.insert(&mut m, &k, &v).unwrap();
                assert_eq!(old, model.insert(k, v), "op {op} insert");
            } else {
                let existed = t.put(&mut m, &k, &v).unwrap();
                assert_eq!(existed, model.insert(k, v).is_some(), "op {op} put");
            }
        } else if rng.gen_bool(0.5) {
            let old = t.delete(&mut m, &k).unwrap();
            assert_eq!(old, model.remove(&k), "op {op} delete");
        } else {
            let existed = t.remove(&mut m, &k).unwrap();
            assert_eq!(existed, model.remove(&k).is_some(), "op {op} remove");
        }
        if op % 97 == 0 {
            let probe = key_of(rng.gen_range(0..key_space));
            assert_eq!(t.get_in(&m, &probe).unwrap(), model.get(&probe).cloned());
        }
        if op % 200 == 199 {
            m.commit().unwrap();
            m = p.begin();
        }
        if op % 20_000 == 19_999 {
            let s = t.check(&m).unwrap();
            println!("op {op}: {s:?}");
            assert_eq!(s.entries, model.len() as u64);
        }
    }
    m.commit().unwrap();
    let s = t.check(&p.view()).unwrap();
    assert_eq!(s.entries, model.len() as u64);
    assert_matches(&t, &p, &model);
    // Delete everything: the tree shrinks to its root and every page comes back.
    let mut m = p.begin();
    let keys: Vec<_> = model.keys().cloned().collect();
    for (i, k) in keys.iter().enumerate() {
        assert!(t.delete(&mut m, k).unwrap().is_some());
        if i % 5000 == 0 {
            t.check(&m).unwrap();
        }
    }
    let s = t.check(&m).unwrap();
    assert_eq!((s.depth, s.leaves, s.entries), (1, 1, 0));
    // Everything except the header and the root is on the free list.
    assert_eq!(m.free_pages().unwrap(), m.high_water().unwrap() - 2);
    m.commit().unwrap();
}

#[test]
fn ascending_and_descending_inserts_fill_pages() {
    let (_v, p) = pager(64 << 20);
    for desc in [false, true] {
        let t = new_tree(&p);
        let mut m = p.begin();
        for i in 0..50_000u32 {
            let n = if desc { 50_000 - i } else { i };
            t.insert(&mut m, &n.to_be_bytes(), &[7u8; 100]).unwrap();
        }
        let s = t.check(&m).unwrap();
        m.commit().unwrap();
        println!("desc={desc}: {s:?}");
        assert_eq!(s.entries, 50_000);
        assert!(s.fill > if desc { 0.45 } else { 0.9 }, "fill {}", s.fill);
    }
}

#[test]
fn range_scans_both_directions_match_model() {
    let seed = seed();
    let mut rng = StdRng::seed_from_u64(seed);
    let (_v, p) = pager(16 << 20);
    let t = new_tree(&p);
    let mut model = BTreeMap::new();
    let mut m = p.begin();
    for _ in 0..5000 {
        let k = rng.gen_range(0..10_000u32).to_be_bytes().to_vec();
        let v = value_of(&mut rng);
        t.insert(&mut m, &k, &v).unwrap();
        model.insert(k, v);
    }
    m.commit().unwrap();
    let bound = |rng: &mut StdRng, b: &mut Vec<u8>| -> Bound<Vec<u8>> {
        *b = rng.gen_range(0..10_500u32).to_be_bytes().to_vec();
        match rng.gen_range(0..3) {
            0 => Bound::Unbounded,
            1 => Bound::Included(b.clone()),
            _ => Bound::Excluded(b.clone()),
        }
    };
    for _ in 0..300 {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        let lo = bound(&mut rng, &mut a);
        let hi = bound(&mut rng, &mut b);
        let reverse = rng.gen_bool(0.5);
        let limit = rng.gen_range(1..200usize);
        let mut got = Vec::new();
        t.scan(&p, as_ref(&lo), as_ref(&hi), reverse, &mut |k, v| {
            got.push((k.to_vec(), v.to_vec()));
            Ok(got.len() < limit)
        })
        .unwrap();
        let valid = match (&lo, &hi) {
            (Bound::Included(l) | Bound::Excluded(l), Bound::Included(h) | Bound::Excluded(h)) => {
                l < h || (l == h && matches!((&lo, &hi), (Bound::Included(_), Bound::Included(_))))
            }
            _ => true,
        };
        let want: Vec<_> = if !valid {
            Vec::new()
        } else if reverse {
            model
                .range((lo.clone(), hi.clone()))
                .rev()
                .take(limit)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        } else {
            model
                .range((lo.clone(), hi.clone()))
                .take(limit)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        assert_eq!(got, want, "lo={lo:?} hi={hi:?} reverse={reverse}");
    }
    assert_eq!(t.count(&p).unwrap(), model.len() as u64);
    let first = model.iter().next().map(|(k, v)| (k.clone(), v.clone()));
    let last = model
        .iter()
        .next_back()
        .map(|(k, v)| (k.clone(), v.clone()));
    assert_eq!(t.first(&p).unwrap(), first);
    assert_eq!(t.last(&p).unwrap(), last);
}

#[test]
fn sixteen_mib_values_via_overflow() {
    let (_v, p) = pager(4 << 20);
    let t = new_tree(&p);
    let big: Vec<u8> = (0..16 << 20).map(|i: u32| (i % 251) as u8).collect();
    let mut m = p.begin();
    let hw0 = m.high_water().unwrap();
    assert_eq!(t.insert(&mut m, b"big", &big).unwrap(), None);
    t.insert(&mut m, b"small", b"x").unwrap();
    m.commit().unwrap();
    assert_eq!(t.get(&p, b"big").unwrap().as_deref(), Some(&big[..]));
    let s = t.check(&p.view()).unwrap();
    assert_eq!(s.overflow_pages, overflow::chain_pages(big.len() as u64));
    // Replace with a shorter overflow value: the old chain is freed and reused.
    let mut m = p.begin();
    let v2 = vec![9u8; 100_000];
    assert_eq!(
        t.insert(&mut m, b"big", &v2).unwrap().map(|v| v.len()),
        Some(big.len())
    );
    m.commit().unwrap();
    assert_eq!(t.get(&p, b"big").unwrap(), Some(v2));
    let mut m = p.begin();
    assert!(t.delete(&mut m, b"big").unwrap().is_some());
    let used = m.high_water().unwrap() - hw0;
    assert_eq!(m.free_pages().unwrap(), used, "every overflow page freed");
    m.commit().unwrap();
    assert_eq!(t.get(&p, b"big").unwrap(), None);
    assert_eq!(t.get(&p, b"small").unwrap().as_deref(), Some(&b"x"[..]));
}

#[test]
fn tiny_pool_rereads_pages_from_the_volume() {
    let (_v, p) = pager(64 * PAGE_SIZE_BYTES);
    let t = new_tree(&p);
    let val = |i: u32| format!("value-{i:08}-{}", "v".repeat((i % 500) as usize)).into_bytes();
    let n = 80_000u32;
    for chunk in 0..6 {
        let mut m = p.begin();
        for i in (chunk..n).step_by(6) {
            t.insert(&mut m, &i.to_be_bytes(), &val(i)).unwrap();
        }
        m.commit().unwrap();
    }
    let s = t.check(&p.view()).unwrap();
    println!("{s:?} pool={:?}", p.pool_stats());
    assert!(
        s.leaves + s.internals > 1000,
        "tree of thousands of pages: {s:?}"
    );
    let before = p.pool_stats();
    for i in (0..n).step_by(7) {
        assert_eq!(t.get(&p, &i.to_be_bytes()).unwrap(), Some(val(i)));
    }
    assert_eq!(t.count(&p).unwrap(), n as u64);
    let after = p.pool_stats();
    assert!(after.pages <= 64);
    assert!(
        after.misses - before.misses > 2000,
        "{before:?} -> {after:?}"
    );
    let mut expect = n;
    t.scan(&p, Bound::Unbounded, Bound::Unbounded, true, &mut |k, v| {
        expect -= 1;
        assert_eq!(k, expect.to_be_bytes());
        assert_eq!(v, val(expect));
        Ok(true)
    })
    .unwrap();
    assert_eq!(expect, 0);
}

#[test]
fn dropped_mtr_rolls_back_tree_changes() {
    let (v, p) = pager(1 << 20);
    let t = new_tree(&p);
    let mut m = p.begin();
    for i in 0..2000u32 {
        t.insert(&mut m, &i.to_be_bytes(), &[1u8; 50]).unwrap();
    }
    m.commit().unwrap();
    let lsn = v.last_lsn();
    let hw = p.begin().high_water().unwrap();
    let mut m = p.begin();
    for i in 0..2000u32 {
        if i % 2 == 0 {
            t.delete(&mut m, &i.to_be_bytes()).unwrap();
        } else {
            t.insert(&mut m, &(i + 5000).to_be_bytes(), &[2u8; 300])
                .unwrap();
        }
    }
    assert_eq!(t.get_in(&m, &0u32.to_be_bytes()).unwrap(), None);
    assert_eq!(t.get(&p, &0u32.to_be_bytes()).unwrap(), Some(vec![1u8; 50]));
    drop(m);
    assert_eq!(v.last_lsn(), lsn);
    assert_eq!(p.begin().high_water().unwrap(), hw);
    assert_eq!(t.count(&p).unwrap(), 2000);
    t.check(&p.view()).unwrap();
}

#[test]
fn reopened_pager_sees_the_same_trees() {
    let (v, p) = pager(1 << 20);
    let mut m = p.begin();
    let a = BTree::create(&mut m).unwrap();
    let b = BTree::create(&mut m).unwrap();
    m.set_root_slot(0, a.root()).unwrap();
    m.set_root_slot(1, b.root()).unwrap();
    for i in 0..5000u32 {
        a.insert(&mut m, &i.to_be_bytes(), b"a").unwrap();
        b.insert(&mut m, &i.to_le_bytes(), &i.to_be_bytes())
            .unwrap();
    }
    m.commit().unwrap();
    drop(p);
    let p = Pager::open(v, 1 << 20).unwrap();
    let a = BTree::open(p.root_slot(0).unwrap());
    let b = BTree::open(p.root_slot(1).unwrap());
    assert_eq!(a.count(&p).unwrap(), 5000);
    assert_eq!(
        b.get(&p, &77u32.to_le_bytes()).unwrap(),
        Some(77u32.to_be_bytes().to_vec())
    );
    b.check(&p.view()).unwrap();
}

#[test]
fn destroy_frees_every_page() {
    let (_v, p) = pager(1 << 20);
    let mut m = p.begin();
    let hw0 = m.high_water().unwrap();
    let t = BTree::create(&mut m).unwrap();
    for i in 0..3000u32 {
        let v = if i % 500 == 0 {
            vec![3u8; 50_000]
        } else {
            vec![1u8; 200]
        };
        t.insert(&mut m, &i.to_be_bytes(), &v).unwrap();
    }
    m.commit().unwrap();
    assert_eq!(t.count(&p).unwrap(), 3000);
    // clear keeps the root, frees the rest, and the tree is usable again.
    let mut m = p.begin();
    t.clear(&mut m).unwrap();
    assert_eq!(m.free_pages().unwrap(), m.high_water().unwrap() - hw0 - 1);
    m.commit().unwrap();
    assert_eq!(t.count(&p).unwrap(), 0);
    t.check(&p.view()).unwrap();
    let mut m = p.begin();
    for i in 0..3000u32 {
        t.insert(&mut m, &i.to_be_bytes(), &[1u8; 200]).unwrap();
    }
    assert_eq!(t.count_with(&m).unwrap(), 3000);
    t.destroy(&mut m).unwrap();
    assert_eq!(m.free_pages().unwrap(), m.high_water().unwrap() - hw0);
    m.commit().unwrap();
}

#[test]
fn limits_are_errors() {
    let (_v, p) = pager(1 << 20);
    let t = new_tree(&p);
    let mut m = p.begin();
    let e = t
        .insert(&mut m, &vec![0u8; MAX_KEY_LEN + 1], b"")
        .unwrap_err();
    assert_eq!(e.code, 1071);
    t.insert(&mut m, &vec![0u8; MAX_KEY_LEN], b"ok").unwrap();
    t.insert(&mut m, b"", b"empty key").unwrap();
    assert_eq!(
        t.get_in(&m, b"").unwrap().as_deref(),
        Some(&b"empty key"[..])
    );
    assert_eq!(t.delete(&mut m, b"missing").unwrap(), None);
}

#[test]
fn concurrent_readers_never_see_a_torn_tree() {
    // A small pool, so readers also go to the volume for versions the pool dropped.
    let (_v, p) = pager(64 * PAGE_SIZE_BYTES);
    let t = new_tree(&p);
    let mut m = p.begin();
    for i in 0..2000u32 {
        t.insert(&mut m, &(i * 2).to_be_bytes(), &[0u8; 64])
            .unwrap();
    }
    m.commit().unwrap();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let checker = {
        let (p, stop) = (p.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                // A whole-tree walk on one snapshot while commits go on: every
                // invariant holds in every snapshot.
                let s = t.check(&p.view()).unwrap();
                assert!(s.entries >= 2000);
                n += 1;
            }
            n
        })
    };
    let readers: Vec<_> = (0..2)
        .map(|r| {
            let (p, stop) = (p.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut rng = StdRng::seed_from_u64(r);
                let mut n = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    // Even keys always exist; the writer churns odd keys around them.
                    let k = rng.gen_range(0..2000u32) * 2;
                    assert!(t.get(&p, &k.to_be_bytes()).unwrap().is_some(), "lost {k}");
                    n += 1;
                }
                n
            })
        })
        .collect();
    let mut rng = StdRng::seed_from_u64(99);
    for round in 0..60 {
        let mut m = p.begin();
        for _ in 0..100 {
            let k = rng.gen_range(0..2000u32) * 2 + 1;
            if round % 3 == 2 {
                t.delete(&mut m, &k.to_be_bytes()).unwrap();
            } else {
                t.insert(&mut m, &k.to_be_bytes(), &[1u8; 700]).unwrap();
            }
        }
        m.commit().unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for r in readers {
        assert!(r.join().unwrap() > 0);
    }
    assert!(checker.join().unwrap() > 0);
    t.check(&p.view()).unwrap();
}

#[test]
fn cursor_pages_through_ranges_and_survives_commits() {
    let (_v, p) = pager(1 << 20);
    let t = new_tree(&p);
    let mut m = p.begin();
    for i in 0..5000u32 {
        t.insert(&mut m, &(i * 2).to_be_bytes(), &i.to_le_bytes())
            .unwrap();
    }
    m.commit().unwrap();
    // Full ranges in both directions, across many batches.
    let fwd: Vec<u32> = t
        .cursor(&p, Bound::Unbounded, Bound::Unbounded, false)
        .map(|e| u32::from_be_bytes(e.unwrap().0.try_into().unwrap()))
        .collect();
    assert_eq!(fwd, (0..5000).map(|i| i * 2).collect::<Vec<_>>());
    let lo = 100u32.to_be_bytes();
    let hi = 201u32.to_be_bytes();
    let rev: Vec<u32> = t
        .cursor(&p, Bound::Excluded(&lo), Bound::Included(&hi), true)
        .map(|e| u32::from_be_bytes(e.unwrap().0.try_into().unwrap()))
        .collect();
    assert_eq!(rev, (51..=100).rev().map(|i| i * 2).collect::<Vec<_>>());
    // The writer commits while a cursor is open: the cursor keeps its snapshot.
    let mut c = t.cursor(&p, Bound::Unbounded, Bound::Unbounded, false);
    let first = c.next_entry().unwrap().unwrap();
    assert_eq!(first.0, 0u32.to_be_bytes());
    let mut m = p.begin();
    t.insert(&mut m, &9001u32.to_be_bytes(), b"new").unwrap();
    t.delete(&mut m, &9000u32.to_be_bytes()).unwrap();
    for i in 0..3000u32 {
        // Enough churn to split and merge leaves under the open cursor.
        t.delete(&mut m, &(i * 2 + 2).to_be_bytes()).unwrap();
    }
    m.commit().unwrap();
    // The open cursor holds the storage read floor at its snapshot.
    assert!(p.oldest_reader() < p.read_point());
    let rest: Vec<_> = c.map(|e| e.unwrap()).collect();
    assert_eq!(p.oldest_reader(), p.read_point());
    assert_eq!(rest.len(), 4999);
    assert!(rest.iter().any(|(k, _)| k[..] == 9000u32.to_be_bytes()));
    assert!(!rest.iter().any(|(k, _)| k[..] == 9001u32.to_be_bytes()));
    let now: Vec<_> = t
        .cursor(
            &p,
            Bound::Included(&9000u32.to_be_bytes()[..]),
            Bound::Unbounded,
            false,
        )
        .map(|e| e.unwrap())
        .collect();
    assert_eq!(now.len(), 1 + 4999 - 4500);
    assert_eq!(now[0].0, 9001u32.to_be_bytes());
    assert!(rest.windows(2).all(|w| w[0].0 < w[1].0));
}

#[test]
fn pager_and_cursor_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Pager>();
    send_sync::<BTree>();
    fn send<T: Send>() {}
    send::<Cursor>();
}

#[test]
fn old_snapshots_stay_readable_under_churn_and_eviction() {
    let seed = seed();
    let mut rng = StdRng::seed_from_u64(seed);
    let (_v, p) = pager(64 * PAGE_SIZE_BYTES);
    let t = new_tree(&p);
    let mut model = BTreeMap::new();
    let mut m = p.begin();
    for i in 0..20_000u32 {
        let v = value_of(&mut rng);
        t.insert(&mut m, &i.to_be_bytes(), &v).unwrap();
        model.insert(i.to_be_bytes().to_vec(), v);
    }
    m.commit().unwrap();
    let snap = p.read_point();
    let old = model.clone();
    for _ in 0..20 {
        let mut m = p.begin();
        for _ in 0..500 {
            let k = rng.gen_range(0..30_000u32).to_be_bytes().to_vec();
            if rng.gen_bool(0.5) {
                t.delete(&mut m, &k).unwrap();
                model.remove(&k);
            } else {
                let v = value_of(&mut rng);
                t.insert(&mut m, &k, &v).unwrap();
                model.insert(k, v);
            }
        }
        m.commit().unwrap();
    }
    let then = p.view_at(snap);
    let s = t.check(&then).unwrap();
    assert_eq!(s.entries, old.len() as u64);
    let mut got = Vec::new();
    t.scan_with(
        &then,
        Bound::Unbounded,
        Bound::Unbounded,
        true,
        &mut |k, v| {
            got.push((k.to_vec(), v.to_vec()));
            Ok(true)
        },
    )
    .unwrap();
    got.reverse();
    assert!(got.iter().map(|(k, v)| (k, v)).eq(old.iter()));
    let cur: Vec<_> = t
        .cursor_at(&p, snap, Bound::Unbounded, Bound::Unbounded, false)
        .map(|e| e.unwrap())
        .collect();
    assert!(cur.iter().map(|(k, v)| (k, v)).eq(old.iter()));
    t.check(&p.view()).unwrap();
    assert_matches(&t, &p, &model);
}

#[test]
fn damaged_leaf_chain_is_an_error_not_a_hang() {
    let (_v, p) = pager(1 << 20);
    let t = new_tree(&p);
    let mut m = p.begin();
    for i in 0..3000u32 {
        t.insert(&mut m, &i.to_be_bytes(), &[0u8; 100]).unwrap();
    }
    m.commit().unwrap();
    // Point the last leaf's next link back at the first leaf: a cycle.
    let first = t.edge_leaf(&p.view(), false).unwrap();
    let last = t.edge_leaf(&p.view(), true).unwrap();
    let mut m = p.begin();
    NodeMut::new(m.write(last).unwrap()).set_next(first);
    m.commit().unwrap();
    let mut n = 0;
    let r = t.scan(
        &p,
        Bound::Unbounded,
        Bound::Unbounded,
        false,
        &mut |_, _| {
            n += 1;
            Ok(true)
        },
    );
    assert!(r.is_err());
    assert_eq!(n, 3000);
    assert!(t.check(&p.view()).is_err());
}

/// Redo records of one MTR, as (page, payload length).
fn records_of(rx: &crossbeam::channel::Receiver<borealis_storage::LogEvent>) -> Vec<(u64, usize)> {
    let mut out = Vec::new();
    while let Ok(ev) = rx.try_recv() {
        if let borealis_storage::LogEvent::Records(rs) = ev {
            out.extend(rs.iter().map(|r| (r.page, r.payload.len())));
        }
    }
    out
}

#[test]
fn small_changes_write_small_redo() {
    let (v, p) = pager(1 << 20);
    let mut m = p.begin();
    let t = BTree::in_root_slot(&mut m, 0).unwrap();
    for i in 0..5000u32 {
        t.insert(&mut m, &i.to_be_bytes(), &[7u8; 100]).unwrap();
    }
    m.commit().unwrap();
    let rx = v.subscribe();
    // Deleting a key: the slot array shift and the header of one leaf, nothing else.
    let mut m = p.begin();
    assert_eq!(BTree::in_root_slot(&mut m, 0).unwrap(), t);
    t.remove(&mut m, &78u32.to_be_bytes()).unwrap();
    m.commit().unwrap();
    let recs = records_of(&rx);
    assert_eq!(recs.len(), 1, "{recs:?}");
    assert!(recs[0].1 < 500, "{recs:?}");
    // One new key where there is room: one record for that leaf, holding the new cell
    // and the shifted part of the slot array (here also the cells a compaction moved to
    // reclaim the deleted cell's bytes), not the page.
    let mut m = p.begin();
    t.insert(&mut m, &[0, 0, 0, 78, 5], &[1u8; 100]).unwrap();
    m.commit().unwrap();
    let recs = records_of(&rx);
    assert_eq!(recs.len(), 1, "{recs:?}");
    assert!(recs[0].1 < 1024, "{recs:?}");
    // And with free room at hand (no compaction): smaller still.
    let mut m = p.begin();
    t.remove(&mut m, &[0, 0, 0, 78, 5]).unwrap();
    t.remove(&mut m, &76u32.to_be_bytes()).unwrap();
    t.remove(&mut m, &75u32.to_be_bytes()).unwrap();
    m.commit().unwrap();
    records_of(&rx);
    let mut m = p.begin();
    t.insert(&mut m, &[0, 0, 0, 75, 5], &[1u8; 100]).unwrap();
    m.commit().unwrap();
    let recs = records_of(&rx);
    assert_eq!(recs.len(), 1, "{recs:?}");
    assert!(recs[0].1 < 500, "{recs:?}");
    // A same-size update rewrites just the changed bytes.
    let mut m = p.begin();
    let mut val = [7u8; 100];
    val[50] = 8;
    assert!(t.put(&mut m, &77u32.to_be_bytes(), &val).unwrap());
    m.commit().unwrap();
    let recs = records_of(&rx);
    assert_eq!(recs.len(), 1, "{recs:?}");
    assert!(recs[0].1 <= 16, "{recs:?}");
}

#[test]
fn replica_views_keep_their_snapshot_while_redo_is_applied() {
    let (v, w) = pager(1 << 20);
    let t = new_tree(&w);
    let mut m = w.begin();
    for i in 0..3000u32 {
        t.insert(&mut m, &i.to_be_bytes(), b"v1").unwrap();
    }
    m.commit().unwrap();
    let r = Pager::open_read_only(v.clone(), 1 << 20, v.last_lsn()).unwrap();
    assert_eq!(t.count(&r).unwrap(), 3000); // warms the replica's pool
    let rx = v.subscribe();
    let mut m = w.begin();
    for i in 0..3000u32 {
        if i % 2 == 0 {
            t.put(&mut m, &i.to_be_bytes(), b"version-two").unwrap();
        } else {
            t.remove(&mut m, &i.to_be_bytes()).unwrap();
        }
    }
    let lsn = m.commit().unwrap();
    let before = r.view();
    let mut recs = Vec::new();
    while let Ok(ev) = rx.try_recv() {
        if let borealis_storage::LogEvent::Records(rs) = ev {
            recs.extend(rs);
        }
    }
    r.apply_batch(&recs, lsn).unwrap();
    // The old view still reads the old state; a new one reads the new state.
    assert_eq!(
        t.get_with(&before, &1u32.to_be_bytes()).unwrap().as_deref(),
        Some(&b"v1"[..])
    );
    t.check(&before).unwrap();
    assert_eq!(t.get(&r, &1u32.to_be_bytes()).unwrap(), None);
    assert_eq!(
        t.get(&r, &2u32.to_be_bytes()).unwrap().as_deref(),
        Some(&b"version-two"[..])
    );
    assert_eq!(t.count(&r).unwrap(), 1500);
    t.check(&r.view()).unwrap();
}

#[test]
fn quorum_volume_across_protection_groups_with_a_tiny_pool() {
    use borealis_storage::volume::{LocalVolume, VolumeConfig};
    let mut cfg = VolumeConfig::in_memory();
    // 128 pages per protection group: the tree spans several PGs.
    cfg.segment_bytes = 128 * PAGE_SIZE_BYTES as u64;
    let v: Arc<dyn Volume> = LocalVolume::open(cfg).unwrap();
    let p = Pager::open(v.clone(), 64 * PAGE_SIZE_BYTES).unwrap();
    let mut m = p.begin();
    let t = BTree::in_root_slot(&mut m, 0).unwrap();
    m.commit().unwrap();
    let seed = seed();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut model = BTreeMap::new();
    for round in 0..40 {
        let mut m = p.begin();
        for _ in 0..500 {
            let k = rng.gen_range(0..40_000u32).to_be_bytes().to_vec();
            if round > 30 && rng.gen_bool(0.5) {
                t.remove(&mut m, &k).unwrap();
                model.remove(&k);
            } else {
                let v = value_of(&mut rng);
                t.put(&mut m, &k, &v).unwrap();
                model.insert(k, v);
            }
        }
        let lsn = m.commit().unwrap();
        v.wait_durable(lsn).unwrap();
    }
    t.check(&p.view()).unwrap();
    let high_water = p.begin().high_water().unwrap();
    assert!(
        high_water > 2 * 128,
        "only {high_water} pages: fewer than 3 PGs"
    );
    assert!(p.pool_stats().misses > 1000, "{:?}", p.pool_stats());
    assert_matches(&t, &p, &model);
    // A second pager on the same volume (a restart) sees the same tree.
    drop(p);
    let p = Pager::open(v.clone(), 64 * PAGE_SIZE_BYTES).unwrap();
    let t = BTree::open(p.root_slot(0).unwrap());
    assert_matches(&t, &p, &model);
}
