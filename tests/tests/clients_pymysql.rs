//! PyMySQL against a real Borealis server, through tests/clients/pymysql_client.py, and
//! SQLAlchemy 2 over PyMySQL (ORM and reflection), through sqlalchemy_client.py.

use std::process::Command;

use borealis_server::TestServer;
use borealis_tests::tool;

#[test]
fn pymysql_script() {
    if !tool::require_pymysql() {
        return;
    }
    let server = TestServer::start_in_memory();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/clients/pymysql_client.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(server.port().to_string())
        .arg(server.password())
        .output()
        .expect("run python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("pymysql: all checks passed"), "{stdout}");
}

#[test]
fn sqlalchemy_orm_and_reflection() {
    if !tool::require("python3", &["-c", "import pymysql, sqlalchemy"]) {
        return;
    }
    let server = TestServer::start_in_memory();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/clients/sqlalchemy_client.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(server.port().to_string())
        .arg(server.password())
        .output()
        .expect("run python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("sqlalchemy: all checks passed"), "{stdout}");
}
