//! Runs the golden files in `tests/slt/` over the MySQL protocol.
//!
//! * `SLT_MYSQL_URL=mysql://user:pw@host:port` runs them against that server (MariaDB,
//!   MySQL or an already running Borealis); the labels `mariadb`/`mysql`/`borealis`
//!   come from `SELECT VERSION()`.
//! * Otherwise a Borealis server is started in-process and the files run against it
//!   with the labels `borealis` and `server`.
//!
//! `SLT_FILTER` and `SLT_OVERRIDE` as in `slt_common`.

#[path = "slt_common/mysql_db.rs"]
mod mysql_db;
mod slt_common;

use mysql_db::MysqlBackend;

#[test]
fn slt_server() {
    if let Ok(url) = std::env::var("SLT_MYSQL_URL") {
        let mut backend = MysqlBackend::new(&url, &[]).unwrap_or_else(|e| panic!("{e}"));
        slt_common::run_all(&mut backend);
        return;
    }
    let url = start_borealis_server();
    let mut backend = MysqlBackend::new(&url, &["server"]).unwrap_or_else(|e| panic!("{e}"));
    slt_common::run_all(&mut backend);
}

/// Start a Borealis server on an ephemeral port and return its URL.
fn start_borealis_server() -> String {
    panic!("the server crate has no TestServer yet; set SLT_MYSQL_URL to run over the wire")
}
