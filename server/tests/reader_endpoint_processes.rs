//! The writer's reader endpoint in front of TWO replica processes (six storage nodes, a
//! writer, two `borealis serve --role replica`, all separate processes): commits on the
//! writer show on each replica; new connections spread evenly over both (least
//! connections; each connection tells which replica it reached by the replica's
//! `Borealis_replica_instance`, unique per process); a replica killed with SIGKILL is
//! skipped by the very next connection and its clients reconnect through the same
//! endpoint; restarted, it takes connections again without restarting anything else.

mod procs;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mysql::prelude::Queryable;
use procs::{conn, eventually, eventually_within, instance, serve, storage_nodes, try_conn};

fn count(c: &mut mysql::Conn) -> Option<i64> {
    c.query_first("SELECT COUNT(*) FROM d.t").ok().flatten()
}

/// A connection through the endpoint and the replica instance it reached (None: the
/// writer).
fn reach(ep: SocketAddr) -> (mysql::Conn, Option<u64>) {
    let mut c = procs::conn(ep);
    let i = instance(&mut c).expect("SHOW STATUS through the endpoint");
    (c, i)
}

/// How many of `held` reached each instance.
fn spread(held: &[(mysql::Conn, Option<u64>)]) -> BTreeMap<Option<u64>, usize> {
    let mut m = BTreeMap::new();
    for (_, i) in held {
        *m.entry(*i).or_default() += 1;
    }
    m
}

#[test]
fn reader_endpoint_spreads_over_two_replica_processes_and_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let (_nodes, list) = storage_nodes(dir.path());
    let (writer, waddr) = serve(&list, &dir.path().join("w"), &["--reader-port", "0"]);
    let ep = writer.addr_after("reader endpoint ready on ");
    let mut w = conn(waddr);
    w.query_drop("CREATE DATABASE d").unwrap();
    w.query_drop("CREATE TABLE d.t (id INT PRIMARY KEY, v VARCHAR(20))")
        .unwrap();
    for i in 0..10 {
        w.exec_drop("INSERT INTO d.t VALUES (?, 'a')", (i,))
            .unwrap();
    }

    let replica = |name: &str| {
        serve(
            &list,
            &dir.path().join(name),
            &["--role", "replica", "--server-id", name],
        )
    };
    let (r1, a1) = replica("r1");
    let (_r2, a2) = replica("r2");
    let mut d1 = conn(a1);
    let mut d2 = conn(a2);
    let i1 = instance(&mut d1).unwrap().expect("r1 is a replica");
    let i2 = instance(&mut d2).unwrap().expect("r2 is a replica");
    assert_ne!(i1, i2, "replica instance ids are unique");

    // Rows committed on the writer appear on each replica.
    for i in 10..20 {
        w.exec_drop("INSERT INTO d.t VALUES (?, 'b')", (i,))
            .unwrap();
    }
    eventually("20 rows on r1", || count(&mut d1) == Some(20));
    eventually("20 rows on r2", || count(&mut d2) == Some(20));

    // Both replicas registered with storage: six new connections split 3/3 (least
    // connections). Each attempt starts with no relayed sessions left (a previous
    // attempt's, held open during the next, kept an uneven split going forever); the
    // endpoint's count drops just after the replica's, hence the retry.
    let mut held = Vec::new();
    eventually("six connections spread 3/3 over both replicas", || {
        held.clear();
        for d in [&mut d1, &mut d2] {
            eventually("relayed sessions closed", || {
                procs::status(d, "Threads_connected") == 1
            });
        }
        held = (0..6).map(|_| reach(ep)).collect();
        let s = spread(&held);
        eprintln!("spread {s:?}");
        s == BTreeMap::from([(Some(i1), 3), (Some(i2), 3)])
    });
    for (c, _) in &mut held {
        assert_eq!(count(c), Some(20), "the endpoint serves the committed rows");
        let ro: i64 = c.query_first("SELECT @@read_only").unwrap().unwrap();
        assert_eq!(ro, 1);
    }

    // kill -9 r1: its three clients lose their sessions; the endpoint skips r1 at once
    // (the next connection already reaches r2) and they reconnect through it.
    drop(d1);
    r1.kill9();
    let killed = Instant::now();
    let (mut on_r1, mut on_r2): (Vec<_>, Vec<_>) =
        held.into_iter().partition(|(_, i)| *i == Some(i1));
    assert_eq!(on_r1.len(), 3);
    let mut first_skip = None;
    for (c, _) in &mut on_r1 {
        assert!(count(c).is_none(), "a session on the killed replica failed");
        let (mut c2, i) = reach(ep);
        first_skip.get_or_insert_with(|| killed.elapsed());
        assert_eq!(i, Some(i2), "a reconnect reaches the surviving replica");
        assert_eq!(count(&mut c2), Some(20));
        *c = c2;
    }
    let first_skip = first_skip.expect("three reconnects");
    eprintln!(
        "killed replica skipped after {first_skip:?}; three clients reconnected after {:?}",
        killed.elapsed()
    );
    assert!(first_skip < Duration::from_secs(1), "{first_skip:?}");
    for (c, _) in &mut on_r2 {
        assert_eq!(count(c), Some(20), "r2's sessions were not disturbed");
    }
    // The writer's view drops r1 once its registration goes stale.
    eventually("r1 gone from replica_host_status", || {
        let ids: Vec<String> = w
            .query("SELECT SERVER_ID FROM information_schema.replica_host_status")
            .unwrap();
        !ids.iter().any(|s| s == "r1") && ids.iter().any(|s| s == "r2")
    });

    // Commits while r1 is down; restart it: it catches up and, registered again, takes
    // new connections (r2 holds six, r1 none) without restarting the writer or endpoint.
    for i in 20..30 {
        w.exec_drop("INSERT INTO d.t VALUES (?, 'c')", (i,))
            .unwrap();
    }
    let (_r1b, a1b) = replica("r1");
    let restarted = Instant::now();
    let i1b = instance(&mut conn(a1b)).unwrap().expect("a replica");
    assert_ne!(i1b, i1, "a new process is a new instance");
    let mut back = None;
    eventually_within(
        Duration::from_secs(10),
        "the restarted replica takes connections",
        || {
            let Ok(mut c) = try_conn(ep) else {
                return false;
            };
            let hit = instance(&mut c).ok().flatten() == Some(i1b);
            if hit {
                back = Some(c);
            }
            hit
        },
    );
    eprintln!(
        "restarted replica used again {:?} after it was ready",
        restarted.elapsed()
    );
    let mut c = back.expect("set with the hit");
    eventually("the restarted replica caught up", || {
        count(&mut c) == Some(30)
    });
    w.exec_drop("INSERT INTO d.t VALUES (?, 'd')", (30,))
        .unwrap();
    eventually("a new commit through the endpoint", || {
        count(&mut c) == Some(31)
    });
    for (c, _) in on_r1.iter_mut().chain(on_r2.iter_mut()) {
        eventually("a new commit on r2's sessions", || count(c) == Some(31));
    }
}
