//! A cluster of processes: six `borealis storage-node`s, a writer `borealis serve
//! --storage-nodes ...` and a replica `borealis serve --role replica`. The replica
//! follows the log from storage, so it keeps answering while the writer is killed with
//! SIGKILL and restarted (recovery with a new epoch), and sees the new writer's commits;
//! a replica restarted mid-stream catches up; the writer's reader endpoint finds the
//! replica through storage and stops routing to it within a second of its SIGKILL.

mod procs;

use std::time::{Duration, Instant};

use mysql::prelude::Queryable;
use procs::{conn, eventually, serve, storage_nodes};

fn count(c: &mut mysql::Conn) -> Option<i64> {
    c.query_first("SELECT COUNT(*) FROM d.t").ok().flatten()
}

#[test]
fn replica_process_follows_storage_across_writer_and_replica_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let (_nodes, list) = storage_nodes(dir.path());
    let (writer, waddr) = serve(&list, &dir.path().join("w"), &["--reader-port", "0"]);
    let reader_ep = writer.addr_after("reader endpoint ready on ");
    let mut w = conn(waddr);
    w.query_drop("CREATE DATABASE d").unwrap();
    w.query_drop("CREATE TABLE d.t (id INT PRIMARY KEY, v VARCHAR(20))")
        .unwrap();
    for i in 0..20 {
        w.exec_drop("INSERT INTO d.t VALUES (?, 'a')", (i,))
            .unwrap();
    }

    let (replica, raddr) = serve(&list, &dir.path().join("r"), &["--role", "replica"]);
    let mut r = conn(raddr);
    let ro: i64 = r.query_first("SELECT @@read_only").unwrap().unwrap();
    assert_eq!(ro, 1);
    eventually("initial rows on the replica", || count(&mut r) == Some(20));
    w.exec_drop("INSERT INTO d.t VALUES (?, 'b')", (100,))
        .unwrap();
    eventually("a new commit on the replica", || count(&mut r) == Some(21));
    let err = r
        .query_drop("INSERT INTO d.t VALUES (500, 'x')")
        .unwrap_err();
    assert!(err.to_string().contains("1290"), "{err}");

    // Both instances in replica_host_status, seen from the replica.
    eventually("two instances registered", || {
        let rows: Vec<(String, String)> = r
            .query("SELECT SESSION_ID, ROLE FROM information_schema.replica_host_status")
            .unwrap();
        rows.len() == 2 && rows.iter().any(|(s, _)| s == "MASTER_SESSION_ID")
    });

    // The reader endpoint (on the writer) found the replica through storage.
    eventually("the reader endpoint reaches the replica", || {
        let mut c = conn(reader_ep);
        c.query_first::<i64, _>("SELECT @@read_only").unwrap() == Some(1)
    });

    // kill -9 the writer: the replica keeps answering at its read point.
    writer.kill9();
    for _ in 0..5 {
        assert_eq!(count(&mut r), Some(21));
        let rows: Vec<(i64, String)> = r.query("SELECT id, v FROM d.t WHERE id >= 19").unwrap();
        assert_eq!(rows, vec![(19, "a".into()), (100, "b".into())]);
        std::thread::sleep(Duration::from_millis(50));
    }

    // Restart it: recovery (new epoch); the replica follows the new writer's log.
    let (writer2, waddr2) = serve(&list, &dir.path().join("w"), &["--reader-port", "0"]);
    let reader_ep2 = writer2.addr_after("reader endpoint ready on ");
    let mut w2 = conn(waddr2);
    for i in 200..230 {
        w2.exec_drop("INSERT INTO d.t VALUES (?, 'c')", (i,))
            .unwrap();
    }
    eventually("the restarted writer's commits on the replica", || {
        count(&mut r) == Some(51)
    });

    // A replica killed with SIGKILL is skipped by the reader endpoint within a second.
    eventually("the new endpoint reaches the replica", || {
        let mut c = conn(reader_ep2);
        c.query_first::<i64, _>("SELECT @@read_only").unwrap() == Some(1)
    });
    drop(r);
    replica.kill9();
    let killed = Instant::now();
    eventually("the endpoint falls back to the writer", || {
        let mut c = conn(reader_ep2);
        c.query_first::<i64, _>("SELECT @@read_only").unwrap() == Some(0)
    });
    assert!(
        killed.elapsed() < Duration::from_millis(1500),
        "skipped after {:?}",
        killed.elapsed()
    );

    // Commits while the replica is down; a restarted replica catches up mid-stream.
    for i in 300..310 {
        w2.exec_drop("INSERT INTO d.t VALUES (?, 'd')", (i,))
            .unwrap();
    }
    let (_replica2, raddr2) = serve(&list, &dir.path().join("r"), &["--role", "replica"]);
    let mut r2 = conn(raddr2);
    eventually("the restarted replica caught up", || {
        count(&mut r2) == Some(61)
    });
    w2.query_drop("CREATE TABLE d.u (x INT)").unwrap();
    w2.query_drop("INSERT INTO d.u VALUES (7)").unwrap();
    eventually("DDL and rows after the restart", || {
        r2.query_first::<i64, _>("SELECT x FROM d.u").ok().flatten() == Some(7)
    });
}
