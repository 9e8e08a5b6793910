//! Read replicas in one process: a writer and two replicas on one in-memory volume.
//!
//! Waits are bounded loops on a condition (never fixed sleeps): a replica is expected to
//! catch up within milliseconds, the bound only turns a hang into a failure.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use borealis_engine::{Database, DatabaseOptions, Session};
use borealis_storage::{LocalVolume, VolumeConfig};
use rand::{Rng, SeedableRng};

const WAIT: Duration = Duration::from_secs(10);

struct Cluster {
    vol: Arc<LocalVolume>,
    writer: Database,
    replicas: Vec<Database>,
}

fn cluster(n: usize) -> Cluster {
    let mut cfg = VolumeConfig::in_memory();
    cfg.fsync = false;
    let vol = LocalVolume::open(cfg).unwrap();
    let opts = DatabaseOptions {
        buffer_pool_bytes: 8 << 20,
        fsync: false,
    };
    let writer = Database::open_on(vol.clone(), opts.clone()).unwrap();
    let replicas = (0..n)
        .map(|_| Database::open_replica(vol.follower(), opts.clone()).unwrap())
        .collect();
    Cluster {
        vol,
        writer,
        replicas,
    }
}

fn text(s: &mut Session, sql: &str) -> Vec<Vec<String>> {
    try_text(s, sql).unwrap_or_else(|e| panic!("{sql}: {e}"))
}

fn try_text(s: &mut Session, sql: &str) -> borealis_engine::Result<Vec<Vec<String>>> {
    Ok(s.execute(sql)?
        .rows()
        .iter()
        .map(|r| {
            r.iter()
                .map(|v| v.to_text().unwrap_or_else(|| "NULL".into()))
                .collect()
        })
        .collect())
}

fn one(s: &mut Session, sql: &str) -> String {
    text(s, sql)[0][0].clone()
}

/// Poll `cond` until it holds; panic with `what` after [`WAIT`].
fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let end = Instant::now() + WAIT;
    while !cond() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// Wait until `sql` on `db` (a new statement each time) returns `want` as its first value.
fn wait_value(db: &Database, sql: &str, want: &str) {
    let mut s = db.session();
    let end = Instant::now() + WAIT;
    loop {
        let r = try_text(&mut s, sql);
        let first = r
            .as_ref()
            .ok()
            .and_then(|r| r.first())
            .and_then(|r| r.first());
        if first.map(String::as_str) == Some(want) {
            return;
        }
        assert!(
            Instant::now() < end,
            "timed out waiting for {sql} = {want}: last {r:?}, {:?}",
            db.replica_status()
        );
        std::thread::sleep(Duration::from_micros(200));
    }
}

#[test]
fn committed_rows_appear_on_each_replica() {
    let c = cluster(2);
    let mut w = c.writer.session();
    w.execute("CREATE DATABASE d").unwrap();
    w.execute("CREATE TABLE d.t (id INT PRIMARY KEY, v VARCHAR(20))")
        .unwrap();
    for i in 0..50 {
        w.execute(&format!("INSERT INTO d.t VALUES ({i}, 'row{i}')"))
            .unwrap();
    }
    w.execute("UPDATE d.t SET v = 'changed' WHERE id = 7")
        .unwrap();
    w.execute("DELETE FROM d.t WHERE id = 9").unwrap();
    for r in &c.replicas {
        // Only the final state has id 49 without id 9 (the DELETE is the last commit).
        wait_value(r, "SELECT SUM(id) FROM d.t WHERE id IN (9, 49)", "49");
        assert_eq!(one(&mut r.session(), "SELECT COUNT(*) FROM d.t"), "49");
        let mut s = r.session();
        assert_eq!(one(&mut s, "SELECT v FROM d.t WHERE id = 7"), "changed");
        assert_eq!(one(&mut s, "SELECT COUNT(*) FROM d.t WHERE id = 9"), "0");
        assert_eq!(one(&mut s, "SELECT v FROM d.t WHERE id = 42"), "row42");
        assert_eq!(one(&mut s, "SELECT @@read_only"), "1");
        assert_eq!(one(&mut s, "SELECT @@innodb_read_only"), "1");
        let st = r.replica_status().expect("a replica reports its status");
        assert!(st.read_point > 0 && st.read_point <= st.volume_vdl);
        let status = text(&mut s, "SHOW STATUS LIKE 'Borealis_replica%'");
        let names: Vec<&str> = status.iter().map(|r| r[0].as_str()).collect();
        assert!(names.contains(&"Borealis_replica_read_point"), "{names:?}");
        assert!(names.contains(&"Borealis_replica_lag_lsn"), "{names:?}");
    }
    assert!(c.writer.replica_status().is_none());
}

#[test]
fn repeatable_read_on_a_replica_keeps_its_snapshot() {
    let c = cluster(2);
    let mut w = c.writer.session();
    w.execute("CREATE DATABASE d").unwrap();
    w.execute("CREATE TABLE d.t (id INT PRIMARY KEY, v INT)")
        .unwrap();
    w.execute("INSERT INTO d.t VALUES (1, 100), (2, 200)")
        .unwrap();
    let r = &c.replicas[0];
    wait_value(r, "SELECT COUNT(*) FROM d.t", "2");
    let mut rr = r.session();
    rr.execute("START TRANSACTION").unwrap();
    assert_eq!(one(&mut rr, "SELECT v FROM d.t WHERE id = 1"), "100");
    // Many versions of the same rows: old ones fall out of the replica's pool, so the
    // snapshot must be read back from storage as of its LSN.
    for i in 1..=40 {
        w.execute(&format!("UPDATE d.t SET v = {} WHERE id = 1", 100 + i))
            .unwrap();
        w.execute(&format!("INSERT INTO d.t VALUES ({}, 0)", 100 + i))
            .unwrap();
    }
    for r in &c.replicas {
        // The last commit inserted id 140.
        wait_value(r, "SELECT COUNT(*) FROM d.t", "42");
    }
    assert_eq!(one(&mut rr, "SELECT v FROM d.t WHERE id = 1"), "100");
    assert_eq!(one(&mut rr, "SELECT SUM(v) FROM d.t"), "300");
    assert_eq!(one(&mut rr, "SELECT COUNT(*) FROM d.t"), "2");
    rr.execute("COMMIT").unwrap();
    assert_eq!(one(&mut rr, "SELECT v FROM d.t WHERE id = 1"), "140");
    assert_eq!(one(&mut rr, "SELECT COUNT(*) FROM d.t"), "42");
}

#[test]
fn bank_total_never_changes_in_any_replica_snapshot() {
    const ACCOUNTS: i64 = 10;
    const TRANSFERS: usize = 300;
    let c = cluster(2);
    let mut w = c.writer.session();
    w.execute("CREATE DATABASE bank").unwrap();
    w.execute("CREATE TABLE bank.acct (id INT PRIMARY KEY, bal INT NOT NULL)")
        .unwrap();
    for i in 0..ACCOUNTS {
        w.execute(&format!("INSERT INTO bank.acct VALUES ({i}, 1000)"))
            .unwrap();
    }
    let total = (ACCOUNTS * 1000).to_string();
    for r in &c.replicas {
        wait_value(r, "SELECT SUM(bal) FROM bank.acct", &total);
    }
    let done = Arc::new(AtomicBool::new(false));
    let seed: u64 = 0x5eed_b0a1;
    println!("bank seed {seed:#x}");
    let writer = {
        let db = c.writer.clone();
        let done = done.clone();
        std::thread::spawn(move || {
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let mut s = db.session();
            for _ in 0..TRANSFERS {
                let a = rng.gen_range(0..ACCOUNTS);
                let b = (a + rng.gen_range(1..ACCOUNTS)) % ACCOUNTS;
                let amt = rng.gen_range(1..50);
                s.execute("START TRANSACTION").unwrap();
                s.execute(&format!(
                    "UPDATE bank.acct SET bal = bal - {amt} WHERE id = {a}"
                ))
                .unwrap();
                s.execute(&format!(
                    "UPDATE bank.acct SET bal = bal + {amt} WHERE id = {b}"
                ))
                .unwrap();
                s.execute("COMMIT").unwrap();
            }
            done.store(true, Ordering::SeqCst);
        })
    };
    let checkers: Vec<_> = c
        .replicas
        .iter()
        .map(|r| {
            let db = r.clone();
            let done = done.clone();
            let total = total.clone();
            std::thread::spawn(move || {
                let mut s = db.session();
                let mut reads = 0;
                let mut states = std::collections::HashSet::new();
                let mut last_point = 0;
                loop {
                    let finished = done.load(Ordering::SeqCst);
                    // One statement: a whole snapshot.
                    assert_eq!(one(&mut s, "SELECT SUM(bal) FROM bank.acct"), total);
                    // Several statements in one REPEATABLE READ transaction: one snapshot.
                    s.execute("START TRANSACTION").unwrap();
                    let lo: i64 = one(&mut s, "SELECT SUM(bal) FROM bank.acct WHERE id < 5")
                        .parse()
                        .unwrap();
                    let hi: i64 = one(&mut s, "SELECT SUM(bal) FROM bank.acct WHERE id >= 5")
                        .parse()
                        .unwrap();
                    s.execute("COMMIT").unwrap();
                    assert_eq!((lo + hi).to_string(), total);
                    states.insert(lo);
                    let p = db.replica_status().unwrap().read_point;
                    assert!(p >= last_point, "the read point went backwards");
                    last_point = p;
                    reads += 1;
                    if finished {
                        break;
                    }
                }
                (reads, states.len())
            })
        })
        .collect();
    writer.join().unwrap();
    for (i, h) in checkers.into_iter().enumerate() {
        let (reads, states) = h.join().unwrap();
        println!("replica {i}: {reads} snapshot checks, {states} distinct states");
        assert!(reads > 1);
    }
    // The final state is the writer's.
    let final_rows = text(&mut w, "SELECT id, bal FROM bank.acct ORDER BY id");
    for r in &c.replicas {
        let mut s = r.session();
        wait_until("replica to reach the final state", || {
            text(&mut s, "SELECT id, bal FROM bank.acct ORDER BY id") == final_rows
        });
    }
}

#[test]
fn ddl_propagates_through_the_log() {
    let c = cluster(2);
    // Accounts exist from here on: sessions need one (root@% grants everything).
    c.writer.bootstrap_root("pw").unwrap();
    let mut w = c.writer.session();
    w.execute("CREATE DATABASE d").unwrap();
    w.execute("CREATE TABLE d.t (id INT PRIMARY KEY, k INT)")
        .unwrap();
    w.execute("INSERT INTO d.t VALUES (1, 10), (2, 20), (3, 10)")
        .unwrap();
    for r in &c.replicas {
        wait_value(r, "SELECT COUNT(*) FROM d.t", "3");
    }
    w.execute("CREATE INDEX k_idx ON d.t (k)").unwrap();
    w.execute("ALTER TABLE d.t ADD COLUMN note VARCHAR(10) DEFAULT 'x'")
        .unwrap();
    w.execute("INSERT INTO d.t VALUES (4, 10, 'four')").unwrap();
    w.execute("CREATE TABLE d.u (a INT PRIMARY KEY)").unwrap();
    w.execute("INSERT INTO d.u VALUES (5)").unwrap();
    w.execute("CREATE USER 'app'@'%' IDENTIFIED BY 'pw'")
        .unwrap();
    for r in &c.replicas {
        wait_value(r, "SELECT SUM(a) FROM d.u", "5");
        let mut s = r.session();
        assert_eq!(
            text(&mut s, "SELECT id, note FROM d.t WHERE k = 10 ORDER BY id"),
            vec![vec!["1", "x"], vec!["3", "x"], vec!["4", "four"]]
        );
        let create = one_col(&mut s, "SHOW CREATE TABLE d.t", 1);
        assert!(create.contains("k_idx"), "{create}");
        // CREATE USER was the last DDL: it may still be on its way.
        wait_until("CREATE USER to reach the replica", || {
            r.lookup_user("app", "127.0.0.1").is_some()
        });
    }
    let before: Vec<u64> = c
        .replicas
        .iter()
        .map(|r| r.replica_status().unwrap().catalog_reloads)
        .collect();
    w.execute("DROP TABLE d.u").unwrap();
    w.execute("ALTER TABLE d.t DROP COLUMN note").unwrap();
    for (r, before) in c.replicas.iter().zip(before) {
        let mut s = r.session();
        wait_until("DROP TABLE to reach the replica", || {
            s.execute("SELECT * FROM d.u")
                .is_err_and(|e| e.code == 1146)
        });
        wait_until("DROP COLUMN to reach the replica", || {
            text(&mut s, "SELECT * FROM d.t WHERE id = 4") == vec![vec!["4", "10"]]
        });
        // DDL that arrives in one apply batch is one reload, so only "it reloaded"
        // is certain, not how many times.
        let st = r.replica_status().unwrap();
        assert!(st.catalog_reloads > before, "{st:?}");
    }
}

fn one_col(s: &mut Session, sql: &str, col: usize) -> String {
    text(s, sql)[0][col].clone()
}

#[test]
fn writes_on_a_replica_fail_with_1290_and_the_session_goes_on() {
    let c = cluster(1);
    let mut w = c.writer.session();
    w.execute("CREATE DATABASE d").unwrap();
    w.execute("CREATE TABLE d.t (id INT PRIMARY KEY)").unwrap();
    w.execute("INSERT INTO d.t VALUES (1)").unwrap();
    let r = &c.replicas[0];
    wait_value(r, "SELECT COUNT(*) FROM d.t", "1");
    let mut s = r.session();
    for sql in [
        "INSERT INTO d.t VALUES (2)",
        "UPDATE d.t SET id = 3",
        "DELETE FROM d.t",
        "CREATE TABLE d.x (a INT)",
        "DROP TABLE d.t",
        "CREATE DATABASE e",
        "CREATE USER 'u'@'%'",
        "SET GLOBAL read_only = 0",
    ] {
        let e = s.execute(sql).expect_err(sql);
        assert_eq!(e.code, 1290, "{sql}: {e}");
        assert_eq!(one(&mut s, "SELECT COUNT(*) FROM d.t"), "1");
    }
    s.execute("START TRANSACTION").unwrap();
    assert_eq!(
        s.execute("INSERT INTO d.t VALUES (5)").unwrap_err().code,
        1290
    );
    assert_eq!(one(&mut s, "SELECT COUNT(*) FROM d.t"), "1");
    s.execute("COMMIT").unwrap();
}

#[test]
fn lag_probe() {
    let c = cluster(2);
    let mut w = c.writer.session();
    w.execute("CREATE DATABASE d").unwrap();
    w.execute("CREATE TABLE d.t (id INT PRIMARY KEY, v INT)")
        .unwrap();
    let mut sessions: Vec<Session> = c.replicas.iter().map(|r| r.session()).collect();
    let mut lags = Vec::new();
    for i in 0..200 {
        w.execute(&format!("INSERT INTO d.t VALUES ({i}, {i})"))
            .unwrap();
        // The commit is acknowledged: from here to visible on every replica.
        let t0 = Instant::now();
        for s in sessions.iter_mut() {
            let q = format!("SELECT COUNT(*) FROM d.t WHERE id = {i}");
            let end = t0 + WAIT;
            // Until the CREATE TABLE arrives the query fails: not visible yet either.
            while !try_text(s, &q).is_ok_and(|r| r == vec![vec!["1".to_string()]]) {
                assert!(Instant::now() < end, "row {i} never appeared");
                std::thread::yield_now();
            }
            lags.push(t0.elapsed());
        }
    }
    lags.sort();
    let pct = |p: f64| lags[((lags.len() as f64 * p) as usize).min(lags.len() - 1)];
    println!(
        "replica lag over {} probes: p50 {:?} p99 {:?} max {:?}",
        lags.len(),
        pct(0.50),
        pct(0.99),
        lags[lags.len() - 1]
    );
}

#[test]
fn replica_opened_or_restarted_mid_stream_catches_up() {
    let mut cfg = VolumeConfig::in_memory();
    cfg.fsync = false;
    let vol = LocalVolume::open(cfg).unwrap();
    let opts = DatabaseOptions {
        buffer_pool_bytes: 8 << 20,
        fsync: false,
    };
    let writer = Database::open_on(vol.clone(), opts.clone()).unwrap();
    let mut w = writer.session();
    w.execute("CREATE DATABASE d").unwrap();
    w.execute("CREATE TABLE d.t (id INT PRIMARY KEY, v INT)")
        .unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let load = {
        let db = writer.clone();
        let done = done.clone();
        std::thread::spawn(move || {
            let mut s = db.session();
            for i in 0..400 {
                s.execute(&format!("INSERT INTO d.t VALUES ({i}, {i})"))
                    .unwrap();
                s.execute(&format!("UPDATE d.t SET v = v + 1 WHERE id = {}", i / 2))
                    .unwrap();
            }
            done.store(true, Ordering::SeqCst);
        })
    };
    // Open replicas while commits are in flight (some records predate their
    // subscription), and restart one of them mid-stream.
    let mut replicas = Vec::new();
    while !done.load(Ordering::SeqCst) && replicas.len() < 4 {
        let r = Database::open_replica(vol.follower(), opts.clone()).unwrap();
        let mut s = r.session();
        let _ = try_text(&mut s, "SELECT SUM(v) FROM d.t");
        replicas.push(r);
        std::thread::sleep(Duration::from_millis(5));
    }
    drop(replicas.remove(0));
    replicas.push(Database::open_replica(vol.follower(), opts).unwrap());
    load.join().unwrap();
    let want = text(&mut w, "SELECT id, v FROM d.t ORDER BY id");
    assert_eq!(want.len(), 400);
    for r in &replicas {
        let mut s = r.session();
        wait_until("the replica to catch up", || {
            try_text(&mut s, "SELECT id, v FROM d.t ORDER BY id").is_ok_and(|got| got == want)
        });
        println!("{:?}", r.replica_status());
    }
}

#[test]
fn replica_snapshots_hold_the_storage_read_floor_until_released() {
    let c = cluster(1);
    let mut w = c.writer.session();
    w.execute("CREATE DATABASE d").unwrap();
    w.execute("CREATE TABLE d.t (id INT PRIMARY KEY, v INT)")
        .unwrap();
    w.execute("INSERT INTO d.t VALUES (1, 0)").unwrap();
    let r = c.replicas[0].clone();
    wait_value(&r, "SELECT v FROM d.t WHERE id = 1", "0");
    let mut rr = r.session();
    // (WITH CONSISTENT SNAPSHOT recurses in session.rs: the first read takes it.)
    rr.execute("START TRANSACTION").unwrap();
    assert_eq!(one(&mut rr, "SELECT v FROM d.t WHERE id = 1"), "0");
    let held = r.replica_status().unwrap().read_point;
    for i in 1..=20 {
        w.execute(&format!("UPDATE d.t SET v = {i} WHERE id = 1"))
            .unwrap();
    }
    wait_value(&r, "SELECT v FROM d.t WHERE id = 1", "20");
    assert!(c.vol.min_read_point().unwrap() <= held);
    assert_eq!(one(&mut rr, "SELECT v FROM d.t WHERE id = 1"), "0");
    rr.execute("COMMIT").unwrap();
    w.execute("UPDATE d.t SET v = 21 WHERE id = 1").unwrap();
    wait_value(&r, "SELECT v FROM d.t WHERE id = 1", "21");
    // The applier reports the floor right after publishing the point: poll for it.
    wait_until("the replica to release its old read floor", || {
        c.vol.min_read_point().unwrap() > held
    });
    // A dropped replica holds nothing back any more.
    let last = r.replica_status().unwrap().read_point;
    drop(rr);
    drop(r);
    drop(c.replicas);
    w.execute("UPDATE d.t SET v = 22 WHERE id = 1").unwrap();
    assert!(c.vol.min_read_point().unwrap() > last);
}
