//! KILL QUERY ends a statement that waits: for a row lock another transaction holds, at
//! the schema gate while a DDL waits for open transactions, or a DDL's own wait (for open
//! transactions, or for another DDL). The mysql client sends
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

/// A database with `k.t (id INT PRIMARY KEY, v INT)` holding `rows`, and a session
/// using `k`.
fn setup(rows: &str) -> (Database, Session) {
    let db = Database::open_in_memory().unwrap();
    let mut a = db.session();
    exec(&mut a, "CREATE DATABASE k");
    exec(&mut a, "USE k");
    exec(&mut a, "CREATE TABLE t (id INT PRIMARY KEY, v INT)");
    if !rows.is_empty() {
        exec(&mut a, &format!("INSERT INTO t VALUES {rows}"));
    }
    (db, a)
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
    let (db, mut a) = setup("(1, 0), (2, 0)");
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
    let (db, mut a) = setup("(1, 0)");
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

#[test]
fn kill_query_ends_a_ddl_waiting_for_an_open_transaction() {
    let (db, mut a) = setup("(1, 0)");
    exec(&mut a, "BEGIN");
    exec(&mut a, "SELECT * FROM t");

    let mut d = db.session();
    exec(&mut d, "USE k");
    let id = d.connection_id();
    let (rx, h) = run_waiting(d, "ALTER TABLE t ADD COLUMN w INT");
    kill_and_expect_1317(&db, id, &rx);
    let mut d = h.join().unwrap();

    // The gate is open again: other sessions start transactions at once, A's goes on,
    // and the table is unchanged.
    let mut c = db.session();
    exec(&mut c, "USE k");
    exec(&mut c, "INSERT INTO t VALUES (2, 0)");
    exec(&mut a, "UPDATE t SET v = 5 WHERE id = 1");
    exec(&mut a, "COMMIT");
    let r = c.execute("SELECT * FROM t ORDER BY id").unwrap();
    assert_eq!(r.columns().len(), 2, "the killed ALTER added no column");
    assert_eq!(r.rows().len(), 2);
    // The killed session can run the DDL once nothing holds it up.
    exec(&mut d, "ALTER TABLE t ADD COLUMN w INT");
    assert_eq!(c.execute("SELECT * FROM t").unwrap().columns().len(), 3);
}

#[test]
fn kill_query_ends_a_ddl_waiting_for_another_ddl() {
    let (db, mut a) = setup("");
    exec(&mut a, "CREATE TABLE u (id INT PRIMARY KEY)");
    exec(&mut a, "BEGIN");
    exec(&mut a, "SELECT * FROM t");

    // The first DDL holds the DDL lock while it waits for A.
    let mut d1 = db.session();
    exec(&mut d1, "USE k");
    let (rx1, h1) = run_waiting(d1, "ALTER TABLE t ADD COLUMN w INT");
    assert!(rx1.recv_timeout(Duration::from_millis(300)).is_err());

    // The second waits behind it until killed.
    let mut d2 = db.session();
    exec(&mut d2, "USE k");
    let id = d2.connection_id();
    let (rx2, h2) = run_waiting(d2, "ALTER TABLE u ADD COLUMN x INT");
    kill_and_expect_1317(&db, id, &rx2);
    h2.join().unwrap();

    exec(&mut a, "COMMIT");
    let (code, _) = rx1.recv_timeout(Duration::from_secs(30)).unwrap();
    assert_eq!(code, 0);
    h1.join().unwrap();
    assert_eq!(a.execute("SELECT * FROM t").unwrap().columns().len(), 3);
    assert_eq!(a.execute("SELECT * FROM u").unwrap().columns().len(), 1);
}
