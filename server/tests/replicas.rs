//! `borealis serve --replicas N`: a writer endpoint and a reader endpoint in one process,
//! exercised with the mysql crate as a client would.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use mysql::prelude::Queryable;

struct Served {
    child: Child,
    writer: u16,
    reader: u16,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn port_of(line: &str, marker: &str) -> Option<u16> {
    let addr = line.split(marker).nth(1)?;
    addr.rsplit(':').next()?.trim().parse().ok()
}

fn serve(replicas: &str) -> Served {
    let mut child = Command::new(env!("CARGO_BIN_EXE_borealis"))
        .args(["serve", "--port", "0", "--in-memory", "--skip-ssl"])
        .args(["--root-password", "pw", "--replicas", replicas])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start borealis serve");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut served = Served {
        child,
        writer: 0,
        reader: 0,
    };
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    while served.writer == 0 {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("borealis prints its ready lines");
        if let Some(p) = port_of(&line, "replicas ready on ") {
            served.reader = p;
        }
        if let Some(p) = port_of(&line, "ready for connections on ") {
            served.writer = p;
        }
    }
    assert_ne!(served.reader, 0, "the reader endpoint is announced first");
    served
}

fn connect(port: u16) -> mysql::Conn {
    let url = format!("mysql://root:pw@127.0.0.1:{port}/");
    mysql::Conn::new(mysql::Opts::from_url(&url).unwrap()).expect("login")
}

fn code_of(e: mysql::Error) -> u16 {
    match e {
        mysql::Error::MySqlError(e) => e.code,
        other => panic!("expected a server error, got {other}"),
    }
}

#[test]
fn writer_and_reader_endpoints() {
    let s = serve("2");
    let mut w = connect(s.writer);
    w.query_drop("CREATE DATABASE shop").unwrap();
    w.query_drop("CREATE TABLE shop.items (id INT PRIMARY KEY, name VARCHAR(20))")
        .unwrap();
    for i in 0..20 {
        w.exec_drop(
            "INSERT INTO shop.items VALUES (?, ?)",
            (i, format!("item{i}")),
        )
        .unwrap();
    }
    // Several reader connections at once: least connections spreads them.
    let mut readers: Vec<mysql::Conn> = (0..4).map(|_| connect(s.reader)).collect();
    let mut instances = HashSet::new();
    for r in readers.iter_mut() {
        let end = Instant::now() + Duration::from_secs(10);
        loop {
            let n: Result<Option<i64>, _> = r.query_first("SELECT COUNT(*) FROM shop.items");
            if matches!(n, Ok(Some(20))) {
                break;
            }
            assert!(
                Instant::now() < end,
                "rows never reached the replica: {n:?}"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        let name: Option<String> = r
            .query_first("SELECT name FROM shop.items WHERE id = 7")
            .unwrap();
        assert_eq!(name.as_deref(), Some("item7"));
        let ro: Option<i64> = r.query_first("SELECT @@read_only").unwrap();
        assert_eq!(ro, Some(1));
        let e = r
            .query_drop("INSERT INTO shop.items VALUES (100, 'no')")
            .unwrap_err();
        assert_eq!(code_of(e), 1290);
        // The session is still usable after the refused write.
        let one: Option<i64> = r.query_first("SELECT 1").unwrap();
        assert_eq!(one, Some(1));
        let id: Option<(String, String)> = r
            .query_first("SHOW STATUS LIKE 'Borealis_replica_instance'")
            .unwrap();
        instances.insert(id.expect("a replica reports its instance id").1);
    }
    assert_eq!(instances.len(), 2, "connections go to both replicas");
    // The writer itself is not read-only.
    let ro: Option<i64> = w.query_first("SELECT @@read_only").unwrap();
    assert_eq!(ro, Some(0));
    // Every instance of the cluster, from the writer and from a replica.
    for c in [&mut w, &mut readers[0]] {
        let rows: Vec<(String, String, String)> = c
            .query("SELECT SERVER_ID, SESSION_ID, ROLE FROM information_schema.replica_host_status")
            .unwrap();
        assert_eq!(rows.len(), 3, "{rows:?}");
        assert_eq!(rows[0].1, "MASTER_SESSION_ID");
        assert_eq!(rows.iter().filter(|r| r.2 == "READER").count(), 2);
    }
}

#[test]
fn more_than_15_replicas_is_an_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_borealis"))
        .args(["serve", "--port", "0", "--in-memory", "--replicas", "16"])
        .output()
        .expect("run borealis serve");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("at most 15"), "{err}");
}
