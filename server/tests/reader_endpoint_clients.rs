//! Real clients through the reader endpoint of a process cluster (six storage nodes, a
//! writer, two replica processes, TLS on): the `mysql` command-line client (batch
//! queries, a database on the command line, TLS with `--ssl`, a write refused with 1290)
//! and sysbench `oltp_read_only` (4 threads, a few seconds; tables prepared through the
//! writer) with no errors and no reconnects, its queries served by both replicas.
//!
//! Same policy as tests/tests/clients_*.rs: a client that is not installed skips its
//! part, except under CI (which installs them), where that fails.

mod procs;

use std::net::SocketAddr;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use mysql::prelude::Queryable;
use procs::{conn, eventually, instance, serve_with, status, storage_nodes, PASSWORD};

/// Whether `program` runs (`probe` are harmless arguments such as `--version`); under CI
/// a missing program is a failure.
fn require(program: &str, probe: &[&str]) -> bool {
    let ok = Command::new(program)
        .args(probe)
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!("{program} is required under CI but is not installed");
    }
    eprintln!(
        "SKIPPED: {program} is not installed (this test runs when it is, and always under CI)"
    );
    false
}

fn mysql_cli(port: u16, extra: &[&str], sql: &str) -> (bool, String, String) {
    let out: Output = Command::new("mysql")
        .args(["-h", "127.0.0.1", "-P", &port.to_string(), "-u", "root"])
        .arg(format!("-p{PASSWORD}"))
        .arg("--batch")
        .args(extra)
        .args(["-e", sql])
        .output()
        .expect("run the mysql client");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn sysbench_cmd(port: u16, extra: &[&str], phase: &str) -> Command {
    let mut c = Command::new("sysbench");
    c.arg("oltp_read_only")
        .args([
            "--db-driver=mysql",
            "--mysql-host=127.0.0.1",
            &format!("--mysql-port={port}"),
            "--mysql-user=root",
            &format!("--mysql-password={PASSWORD}"),
            "--mysql-db=sbtest",
            "--tables=2",
            "--table-size=1000",
        ])
        .args(extra)
        .arg(phase);
    c
}

fn sysbench(port: u16, extra: &[&str], phase: &str) -> String {
    let out = sysbench_cmd(port, extra, phase)
        .output()
        .expect("run sysbench");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "sysbench oltp_read_only {phase} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The number after `label` in sysbench's report, e.g. "transactions:  1234 (..)".
fn stat(report: &str, label: &str) -> u64 {
    report
        .lines()
        .find_map(|l| l.trim().strip_prefix(label))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no {label:?} in:\n{report}"))
}

#[test]
fn mysql_cli_and_sysbench_read_only_through_the_reader_endpoint() {
    let have_cli = require("mysql", &["--version"]);
    let have_sysbench = require("sysbench", &["--version"]);
    if !have_cli && !have_sysbench {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (_nodes, list) = storage_nodes(dir.path());
    // TLS on everywhere (certificates generated per instance): the endpoint relays it.
    let (writer, waddr) = serve_with(&list, &dir.path().join("w"), &[], &["--reader-port", "0"]);
    let ep: SocketAddr = writer.addr_after("reader endpoint ready on ");
    let replica = |name: &str| {
        serve_with(
            &list,
            &dir.path().join(name),
            &[],
            &["--role", "replica", "--server-id", name],
        )
    };
    let (_r1, a1) = replica("r1");
    let (_r2, a2) = replica("r2");
    let mut d1 = conn(a1);
    let mut d2 = conn(a2);
    let ids = [
        instance(&mut d1).unwrap().expect("a replica"),
        instance(&mut d2).unwrap().expect("a replica"),
    ];

    let mut w = conn(waddr);
    w.query_drop("CREATE DATABASE shop").unwrap();
    w.query_drop("CREATE TABLE shop.items (id INT PRIMARY KEY, name VARCHAR(20))")
        .unwrap();
    w.query_drop("INSERT INTO shop.items VALUES (1, 'apple'), (2, 'pear')")
        .unwrap();
    w.query_drop("CREATE DATABASE sbtest").unwrap();
    for d in [&mut d1, &mut d2] {
        eventually("the rows on each replica", || {
            d.query_first::<i64, _>("SELECT COUNT(*) FROM shop.items")
                .ok()
                .flatten()
                == Some(2)
        });
    }
    // The endpoint reaches the replicas (not the writer it falls back to).
    eventually("both replicas behind the endpoint", || {
        let mut seen = Vec::new();
        for _ in 0..4 {
            let mut c = conn(ep);
            seen.push(instance(&mut c).unwrap());
        }
        ids.iter().all(|i| seen.contains(&Some(*i)))
    });

    if have_cli {
        let port = ep.port();
        let (ok, out, err) = mysql_cli(
            port,
            &[],
            "SELECT @@read_only; SELECT id, name FROM shop.items ORDER BY id;",
        );
        assert!(ok, "{err}");
        assert_eq!(out, "@@read_only\n1\nid\tname\n1\tapple\n2\tpear\n");

        // A database on the command line: the client rehashes (SHOW TABLES, field lists).
        let (ok, out, err) = mysql_cli(port, &["shop"], "SHOW TABLES; DESCRIBE items;");
        assert!(ok, "{err}");
        assert!(out.contains("Tables_in_shop\nitems\n"), "{out}");
        assert!(
            out.contains("Field\tType\tNull\tKey\tDefault\tExtra"),
            "{out}"
        );

        // TLS negotiated end to end with the replica, through the relay.
        let (ok, out, err) = mysql_cli(port, &["--ssl", "--verbose"], "\\s");
        assert!(ok, "{err}");
        assert!(out.contains("Cipher in use"), "{out}");

        // A write is refused with 1290 and fails the batch.
        let (ok, _, err) = mysql_cli(port, &[], "INSERT INTO shop.items VALUES (3, 'fig')");
        assert!(!ok);
        assert!(err.contains("ERROR 1290 (HY000)"), "{err}");
        assert!(err.contains("--read-only"), "{err}");
    }

    if have_sysbench {
        sysbench(waddr.port(), &[], "prepare");
        for d in [&mut d1, &mut d2] {
            eventually("sysbench's tables on each replica", || {
                d.query_first::<i64, _>("SELECT COUNT(*) FROM sbtest.sbtest2")
                    .ok()
                    .flatten()
                    == Some(1000)
            });
        }
        // Earlier sessions through the endpoint have ended (each replica has only the
        // test's own), so least connections starts even.
        for d in [&mut d1, &mut d2] {
            eventually("earlier relayed sessions closed", || {
                status(d, "Threads_connected") == 1
            });
        }
        // Run through the endpoint; meanwhile watch each replica's own session count.
        let run = sysbench_cmd(ep.port(), &["--threads=4", "--time=3"], "run")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run sysbench");
        let mut most = [0, 0];
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut run = run;
        while run.try_wait().expect("sysbench status").is_none() {
            assert!(Instant::now() < deadline, "sysbench did not finish");
            for (m, d) in most.iter_mut().zip([&mut d1, &mut d2]) {
                *m = (*m).max(status(d, "Threads_connected"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let out = run.wait_with_output().expect("sysbench output");
        let report = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "sysbench run failed:\n{report}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let tx = stat(&report, "transactions:");
        eprintln!(
            "oltp_read_only through the reader endpoint: {tx} transactions; \
             sessions per replica at most {most:?} (one is the test's own)"
        );
        assert!(tx > 0, "{report}");
        assert_eq!(stat(&report, "ignored errors:"), 0, "{report}");
        assert_eq!(stat(&report, "reconnects:"), 0, "{report}");
        // Least connections: the four threads spread over both replicas (two each,
        // unless a relay of an earlier session was still being torn down).
        assert!(most.iter().all(|&m| m >= 2), "{most:?}");
        assert!(most.iter().sum::<u64>() >= 2 + 4, "{most:?}");
        sysbench(waddr.port(), &[], "cleanup");
    }
}
