//! sysbench 1.0 against a real Borealis server: `oltp_read_write` prepare / run (8
//! threads, a few seconds) / cleanup with no reconnects and errors only from the
//! occasional deadlock (under 1 %, sysbench retries them), then `oltp_point_select`.

use std::process::Command;

use borealis_server::TestServer;
use borealis_tests::tool;
use mysql::prelude::Queryable;

fn sysbench(server: &TestServer, workload: &str, extra: &[&str], phase: &str) -> String {
    let port = format!("--mysql-port={}", server.port());
    let pw = format!("--mysql-password={}", server.password());
    let out = Command::new("sysbench")
        .arg(workload)
        .args([
            "--db-driver=mysql",
            "--mysql-host=127.0.0.1",
            &port,
            "--mysql-user=root",
            &pw,
            "--mysql-db=sbtest",
            "--tables=2",
            "--table-size=2000",
        ])
        .args(extra)
        .arg(phase)
        .output()
        .expect("run sysbench");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "sysbench {workload} {phase} failed:\n{stdout}\n{stderr}"
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
fn oltp_read_write_and_point_select() {
    if !tool::require("sysbench", &["--version"]) {
        return;
    }
    let server = TestServer::start_in_memory();
    let mut c = mysql::Conn::new(mysql::Opts::from_url(&server.url()).unwrap()).unwrap();
    c.query_drop("CREATE DATABASE sbtest").unwrap();

    sysbench(&server, "oltp_read_write", &[], "prepare");
    let report = sysbench(
        &server,
        "oltp_read_write",
        &["--threads=8", "--time=3"],
        "run",
    );
    let tx = stat(&report, "transactions:");
    let errors = stat(&report, "ignored errors:");
    let reconnects = stat(&report, "reconnects:");
    eprintln!("oltp_read_write: {tx} transactions, {errors} ignored errors");
    assert!(tx > 0, "{report}");
    assert_eq!(reconnects, 0, "{report}");
    assert!(errors * 100 <= tx, "deadlocks over 1 %: {report}");

    let report = sysbench(
        &server,
        "oltp_point_select",
        &["--threads=4", "--time=2"],
        "run",
    );
    assert!(stat(&report, "transactions:") > 0, "{report}");
    assert_eq!(stat(&report, "ignored errors:"), 0, "{report}");

    sysbench(&server, "oltp_read_write", &[], "cleanup");
    let tables: Vec<String> = c.query("SHOW TABLES FROM sbtest").unwrap();
    assert!(tables.is_empty(), "{tables:?}");
}
