//! KILL QUERY ends a statement that waits: for a row lock another transaction holds, or
//! at the schema gate while a DDL waits for open transactions. The mysql client sends
//! KILL QUERY when its user presses Ctrl-C, so without this a lock wait could only be
//! sat out (innodb_lock_wait_timeout, 50 s by default). The waiting session stays
//! usable and its transaction open, as after a lock wait timeout.

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use borealis_engine::{Database, Session};

fn exec(s: &mut Session, sql: &str) {
    s.execute(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// Run `sql` on `s` in a thread; the thread sends the statement's error code (0: ok)
/// and how long it took, then hands the session back.
fn run_waiting(
    mut s: Session,
    sql: &'static str,
) -> (mpsc::Receiver<(u16, Duration)>, thread::JoinHandle<Session>) {
    let (tx, rx) = mpsc::channel();
    let h = thread::spawn(move || {
        let start = Instant::now();
        let code = match s.execute(sql) {
            Ok(_) => 0,
            Err(e) => e.code,
        };
        tx.send((code, start.elapsed())).unwrap();
        s
    });
    (rx, h)
}

/// Wait until `rx` has nothing for `settle` (the statement is blocked), then kill the
/// session and expect 1317 well before its 30 s lock wait timeout would end it.
fn kill_and_expect_1317(db: &Database, id: u32, rx: &mpsc::Receiver<(u16, Duration)>) {
    assert!(
        rx.recv_timeout(Duration::from_millis(300)).is_err(),
        "the statement was expected to wait"
    );
    assert!(db.kill(id, true));
    let (code, took) = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("KILL QUERY did not end the wait");
    assert_eq!(code, 1317, "after {took:?}");
}

#[test]
fn kill_query_ends_a_row_lock_wait() {
    let db = Database::open_in_memory().unwrap();
    let mut a = db.session();
    exec(&mut a, "CREATE DATABASE k");
    exec(&mut a, "USE k");
    exec(&mut a, "CREATE TABLE t (id INT PRIMARY KEY, v INT)");
    exec(&mut a, "INSERT INTO t VALUES (1, 0), (2, 0)");
    exec(&mut a, "BEGIN");
    exec(&mut a, "UPDATE t SET v = 1 WHERE id = 1");

    let mut b = db.session();
    exec(&mut b, "USE k");
    exec(&mut b, "SET innodb_lock_wait_timeout = 30");
    exec(&mut b, "BEGIN");
    exec(&mut b, "UPDATE t SET v = 2 WHERE id = 2");
    let id = b.connection_id();
    let (rx, h) = run_waiting(b, "UPDATE t SET v = 2 WHERE id = 1");
    kill_and_expect_1317(&db, id, &rx);
    let mut b = h.join().unwrap();

    // B's transaction is still open (its first update stands) and it goes on once A
    // lets go; the killed statement changed nothing.
    exec(&mut a, "COMMIT");
    exec(&mut b, "UPDATE t SET v = v + 10 WHERE id = 1");
    exec(&mut b, "COMMIT");
    let r = a.execute("SELECT v FROM t ORDER BY id").unwrap();
    let vals: Vec<String> = r
        .rows()
        .iter()
        .map(|row| row[0].to_text().unwrap_or_default().to_string())
        .collect();
    assert_eq!(vals, ["11", "2"]);
}

#[test]
fn kill_query_ends_a_wait_at_the_schema_gate() {
    let db = Database::open_in_memory().unwrap();
    let mut a = db.session();
    exec(&mut a, "CREATE DATABASE k");
    exec(&mut a, "USE k");
    exec(&mut a, "CREATE TABLE t (id INT PRIMARY KEY, v INT)");
    exec(&mut a, "INSERT INTO t VALUES (1, 0)");
    // An open transaction holds the gate open; the DDL closes it and waits for it.
    exec(&mut a, "BEGIN");
    exec(&mut a, "SELECT * FROM t");
    let mut d = db.session();
    exec(&mut d, "USE k");
    let (ddl_rx, ddl) = run_waiting(d, "ALTER TABLE t ADD COLUMN w INT");
    assert!(ddl_rx.recv_timeout(Duration::from_millis(300)).is_err());

    // A new transaction waits at the closed gate until killed.
    let mut c = db.session();
    exec(&mut c, "USE k");
    exec(&mut c, "SET innodb_lock_wait_timeout = 30");
    let id = c.connection_id();
    let (rx, h) = run_waiting(c, "SELECT * FROM t");
    kill_and_expect_1317(&db, id, &rx);
    let mut c = h.join().unwrap();

    // Once A ends, the DDL runs and the killed session works again.
    exec(&mut a, "COMMIT");
    let (code, _) = ddl_rx.recv_timeout(Duration::from_secs(30)).unwrap();
    assert_eq!(code, 0);
    ddl.join().unwrap();
    let r = c.execute("SELECT id, w FROM t").unwrap();
    assert_eq!(r.rows().len(), 1);
}
