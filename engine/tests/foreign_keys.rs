//! Foreign keys under concurrency: a child row and the delete of its parent, in two
//! sessions, serialize on the parent row's lock (the child insert share-locks the parent
//! it found; the delete holds the parent exclusively), so whichever commits second sees
//! the first: no orphan child can ever be committed. Plus a randomized run (seeded;
//! the seed is printed) of concurrent child inserts and parent deletes that ends with
//! an orphan check; a randomized run against a model of CASCADE / SET NULL chains; and
//! the constraints surviving a reopen.

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use borealis_engine::{Database, Session};

mod common;
use common::Rng;

fn setup() -> Database {
    let db = Database::open_in_memory().expect("open");
    let mut s = db.session();
    for sql in [
        "CREATE DATABASE d",
        "USE d",
        "CREATE TABLE p (id INT PRIMARY KEY)",
        "CREATE TABLE c (id INT PRIMARY KEY, pid INT, FOREIGN KEY (pid) REFERENCES p (id))",
        "INSERT INTO p VALUES (1), (2), (3)",
    ] {
        s.execute(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    db
}

fn session(db: &Database) -> Session {
    let mut s = db.session();
    s.execute("USE d").expect("use");
    s
}

fn count(s: &mut Session, sql: &str) -> i64 {
    let r = s.execute(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    r.rows()[0][0]
        .to_text()
        .and_then(|t| t.parse().ok())
        .expect("an integer")
}

/// Rows of c whose parent is missing (must always be 0).
fn orphans(s: &mut Session) -> i64 {
    count(
        s,
        "SELECT COUNT(*) FROM c WHERE pid IS NOT NULL AND pid NOT IN (SELECT id FROM p)",
    )
}

#[test]
fn a_child_insert_waits_for_an_uncommitted_parent_delete_and_then_fails() {
    let db = setup();
    let mut a = session(&db);
    a.execute("BEGIN").unwrap();
    a.execute("DELETE FROM p WHERE id = 1").unwrap();
    let (tx, rx) = mpsc::channel();
    let db2 = db.clone();
    let h = thread::spawn(move || {
        let mut b = session(&db2);
        let r = b.execute("INSERT INTO c VALUES (10, 1)");
        tx.send(()).expect("send");
        r.map(|_| ()).map_err(|e| e.code)
    });
    // The insert is blocked on the parent row's lock while the delete is uncommitted.
    assert!(
        rx.recv_timeout(Duration::from_millis(300)).is_err(),
        "the child insert did not wait for the parent delete"
    );
    a.execute("COMMIT").unwrap();
    assert_eq!(h.join().expect("thread"), Err(1452));
    assert_eq!(orphans(&mut a), 0);
    assert_eq!(count(&mut a, "SELECT COUNT(*) FROM c"), 0);
}

#[test]
fn a_child_insert_proceeds_once_the_parent_delete_rolls_back() {
    let db = setup();
    let mut a = session(&db);
    a.execute("BEGIN").unwrap();
    a.execute("DELETE FROM p WHERE id = 2").unwrap();
    let db2 = db.clone();
    let h = thread::spawn(move || {
        let mut b = session(&db2);
        b.execute("INSERT INTO c VALUES (20, 2)")
            .map(|_| ())
            .map_err(|e| e.code)
    });
    thread::sleep(Duration::from_millis(200));
    a.execute("ROLLBACK").unwrap();
    assert_eq!(h.join().expect("thread"), Ok(()));
    assert_eq!(count(&mut a, "SELECT COUNT(*) FROM c WHERE pid = 2"), 1);
}

#[test]
fn a_parent_delete_waits_for_an_uncommitted_child_and_then_is_refused() {
    let db = setup();
    let mut a = session(&db);
    a.execute("BEGIN").unwrap();
    a.execute("INSERT INTO c VALUES (30, 3)").unwrap();
    let (tx, rx) = mpsc::channel();
    let db2 = db.clone();
    let h = thread::spawn(move || {
        let mut b = session(&db2);
        let r = b.execute("DELETE FROM p WHERE id = 3");
        tx.send(()).expect("send");
        r.map(|_| ()).map_err(|e| e.code)
    });
    assert!(
        rx.recv_timeout(Duration::from_millis(300)).is_err(),
        "the parent delete did not wait for the uncommitted child"
    );
    a.execute("COMMIT").unwrap();
    assert_eq!(h.join().expect("thread"), Err(1451));
    assert_eq!(orphans(&mut a), 0);
}

#[test]
fn a_child_insert_waits_for_an_uncommitted_parent_insert_and_then_succeeds() {
    let db = setup();
    let mut a = session(&db);
    a.execute("CREATE TABLE pu (id INT PRIMARY KEY, code INT, UNIQUE KEY (code))")
        .unwrap();
    a.execute(
        "CREATE TABLE cu (id INT PRIMARY KEY, code INT, FOREIGN KEY (code) REFERENCES pu (code))",
    )
    .unwrap();
    for (parent, child) in [
        ("INSERT INTO p VALUES (50)", "INSERT INTO c VALUES (50, 50)"),
        (
            "INSERT INTO pu VALUES (1, 7)",
            "INSERT INTO cu VALUES (1, 7)",
        ),
    ] {
        a.execute("BEGIN").unwrap();
        a.execute(parent).unwrap();
        let (tx, rx) = mpsc::channel();
        let db2 = db.clone();
        let h = thread::spawn(move || {
            let mut b = session(&db2);
            let r = b.execute(child);
            tx.send(()).expect("send");
            r.map(|_| ()).map_err(|e| e.code)
        });
        assert!(
            rx.recv_timeout(Duration::from_millis(300)).is_err(),
            "{child} did not wait for the uncommitted parent"
        );
        a.execute("COMMIT").unwrap();
        assert_eq!(h.join().expect("thread"), Ok(()), "{child}");
    }
}

#[test]
fn a_database_holding_a_referenced_parent_cannot_be_dropped() {
    let db = setup();
    let mut a = session(&db);
    a.execute("CREATE DATABASE other").unwrap();
    a.execute("CREATE TABLE other.oc (id INT PRIMARY KEY, pid INT, FOREIGN KEY (pid) REFERENCES d.p (id))")
        .unwrap();
    assert_eq!(
        a.execute("DROP DATABASE d").map(|_| ()).map_err(|e| e.code),
        Err(3730)
    );
    // Dropping the child's database is fine, and then the parent's.
    a.execute("DROP DATABASE other").unwrap();
    a.execute("DROP DATABASE d").unwrap();
}

#[test]
fn concurrent_child_inserts_and_parent_deletes_never_leave_an_orphan() {
    let seed = common::seed(0x0f0e_1a7e);
    let db = setup();
    let mut s = session(&db);
    s.execute("SET SESSION innodb_lock_wait_timeout = 5")
        .expect("timeout");
    for i in 4..40 {
        s.execute(&format!("INSERT INTO p VALUES ({i})")).unwrap();
    }
    let hs: Vec<_> = (0..3u64)
        .map(|t| {
            let db = db.clone();
            thread::spawn(move || {
                let mut rng = Rng(seed ^ ((t + 1) * 0x9e37_79b9));
                let mut s = session(&db);
                for n in 0..60u64 {
                    let id = rng.below(40);
                    let sql = if t == 0 {
                        format!("DELETE FROM p WHERE id = {id}")
                    } else {
                        format!("INSERT INTO c VALUES ({}, {id})", t * 1000 + n)
                    };
                    let _ = s.execute("BEGIN");
                    match s.execute(&sql) {
                        // Expected refusals: a missing parent, a referenced parent,
                        // and lock conflicts.
                        Err(e) if [1451, 1452, 1205, 1213].contains(&e.code) => {
                            let _ = s.execute("ROLLBACK");
                        }
                        Err(e) => panic!("{sql}: {e}"),
                        Ok(_) => {
                            if rng.below(4) == 0 {
                                s.execute("ROLLBACK").unwrap();
                            } else {
                                s.execute("COMMIT").unwrap();
                            }
                        }
                    }
                }
            })
        })
        .collect();
    for h in hs {
        h.join().expect("worker");
    }
    assert_eq!(orphans(&mut s), 0, "seed {seed}");
}

#[test]
fn constraints_survive_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let db = Database::open(dir.path()).expect("open");
        let mut s = db.session();
        for sql in [
            "CREATE DATABASE d",
            "USE d",
            "CREATE TABLE p (id INT PRIMARY KEY)",
            "CREATE TABLE c (id INT PRIMARY KEY, pid INT, CHECK (id > 0), FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE)",
            "INSERT INTO p VALUES (1)",
            "INSERT INTO c VALUES (1, 1)",
        ] {
            s.execute(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
    }
    let db = Database::open(dir.path()).expect("reopen");
    let mut s = session(&db);
    let code = |s: &mut Session, sql: &str| s.execute(sql).map(|_| ()).map_err(|e| e.code);
    assert_eq!(code(&mut s, "INSERT INTO c VALUES (2, 9)"), Err(1452));
    assert_eq!(code(&mut s, "INSERT INTO c VALUES (-1, 1)"), Err(3819));
    s.execute("DELETE FROM p").unwrap();
    assert_eq!(count(&mut s, "SELECT COUNT(*) FROM c"), 0);
    let r = s.execute("SHOW CREATE TABLE c").unwrap();
    let text = r.rows()[0][1].to_text().unwrap_or_default();
    assert!(
        text.contains(
            "CONSTRAINT `c_ibfk_1` FOREIGN KEY (`pid`) REFERENCES `p` (`id`) ON DELETE CASCADE"
        ),
        "{text}"
    );
    assert!(
        text.contains("CONSTRAINT `c_chk_1` CHECK ((`id` > 0))"),
        "{text}"
    );
}

/// The three tables of the model test, as the engine should hold them.
#[derive(Default)]
struct Model {
    p: std::collections::BTreeSet<i64>,
    /// c.id -> c.pid
    c: std::collections::BTreeMap<i64, Option<i64>>,
    /// d.id -> d.cid
    d: std::collections::BTreeMap<i64, Option<i64>>,
}

impl Model {
    fn delete_c(&mut self, id: i64) {
        self.c.remove(&id);
        for v in self.d.values_mut() {
            if *v == Some(id) {
                *v = None; // ON DELETE SET NULL
            }
        }
    }
}

fn dump(s: &mut Session, sql: &str) -> Vec<String> {
    common::text_rows(s, sql, &[])
}

#[test]
fn random_statements_match_a_model_of_cascade_and_set_null() {
    let seed = common::seed(0x5eed_f00d);
    let mut rng = Rng(seed | 1);
    let db = Database::open_in_memory().expect("open");
    let mut s = db.session();
    for sql in [
        "CREATE DATABASE m",
        "USE m",
        "CREATE TABLE p (id INT PRIMARY KEY)",
        "CREATE TABLE c (id INT PRIMARY KEY, pid INT, FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE ON UPDATE CASCADE)",
        "CREATE TABLE d (id INT PRIMARY KEY, cid INT, FOREIGN KEY (cid) REFERENCES c (id) ON DELETE SET NULL)",
    ] {
        s.execute(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    let mut m = Model::default();
    let opt = |v: Option<i64>| v.map_or("NULL".to_string(), |x| x.to_string());
    for step in 0..400 {
        let a = rng.below(12) as i64;
        let b = rng.below(12) as i64;
        let (sql, expect): (String, Result<(), u16>) = match rng.below(7) {
            0 => {
                let r = if m.p.contains(&a) { Err(1062) } else { Ok(()) };
                if r.is_ok() {
                    m.p.insert(a);
                }
                (format!("INSERT INTO p VALUES ({a})"), r)
            }
            1 | 2 => {
                let pid = (rng.below(4) != 0).then_some(b);
                let r = if m.c.contains_key(&a) {
                    Err(1062)
                } else if pid.is_some_and(|x| !m.p.contains(&x)) {
                    Err(1452)
                } else {
                    Ok(())
                };
                if r.is_ok() {
                    m.c.insert(a, pid);
                }
                (format!("INSERT INTO c VALUES ({a}, {})", opt(pid)), r)
            }
            3 => {
                let cid = (rng.below(4) != 0).then_some(b);
                let r = if m.d.contains_key(&a) {
                    Err(1062)
                } else if cid.is_some_and(|x| !m.c.contains_key(&x)) {
                    Err(1452)
                } else {
                    Ok(())
                };
                if r.is_ok() {
                    m.d.insert(a, cid);
                }
                (format!("INSERT INTO d VALUES ({a}, {})", opt(cid)), r)
            }
            4 => {
                // Deleting a parent cascades to c, which nulls d.
                if m.p.remove(&a) {
                    let gone: Vec<i64> =
                        m.c.iter()
                            .filter(|(_, v)| **v == Some(a))
                            .map(|(k, _)| *k)
                            .collect();
                    for id in gone {
                        m.delete_c(id);
                    }
                }
                (format!("DELETE FROM p WHERE id = {a}"), Ok(()))
            }
            5 => {
                // Changing a parent's key carries its children along.
                let r = if !m.p.contains(&a) || a == b {
                    Ok(())
                } else if m.p.contains(&b) {
                    Err(1062)
                } else {
                    m.p.remove(&a);
                    m.p.insert(b);
                    for v in m.c.values_mut() {
                        if *v == Some(a) {
                            *v = Some(b);
                        }
                    }
                    Ok(())
                };
                (format!("UPDATE p SET id = {b} WHERE id = {a}"), r)
            }
            _ => {
                if m.c.contains_key(&a) {
                    m.delete_c(a);
                }
                (format!("DELETE FROM c WHERE id = {a}"), Ok(()))
            }
        };
        let got = s.execute(&sql).map(|_| ()).map_err(|e| e.code);
        assert_eq!(got, expect, "step {step}: {sql} (seed {seed})");
        if step % 20 == 19 {
            let want_p: Vec<String> = m.p.iter().map(|x| x.to_string()).collect();
            let want_c: Vec<String> =
                m.c.iter()
                    .map(|(k, v)| format!("{k},{}", opt(*v)))
                    .collect();
            let want_d: Vec<String> =
                m.d.iter()
                    .map(|(k, v)| format!("{k},{}", opt(*v)))
                    .collect();
            assert_eq!(
                dump(&mut s, "SELECT id FROM p ORDER BY id"),
                want_p,
                "seed {seed}"
            );
            assert_eq!(
                dump(&mut s, "SELECT id, pid FROM c ORDER BY id"),
                want_c,
                "seed {seed}"
            );
            assert_eq!(
                dump(&mut s, "SELECT id, cid FROM d ORDER BY id"),
                want_d,
                "seed {seed}"
            );
        }
    }
}
