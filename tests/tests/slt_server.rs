//! Runs the golden files in `tests/slt/` over the MySQL protocol.
//!
//! * `SLT_MYSQL_URL=mysql://user:pw@host:port` runs them against that server (MariaDB,
//!   MySQL or an already running Borealis); the labels `mariadb`/`mysql`/`borealis`
//!   come from `SELECT VERSION()`.
//! * Otherwise a Borealis `TestServer` (in-memory database, ephemeral port) is started
//!   in-process and the files run against it with the labels `borealis` and `server`.
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
    // One in-memory server for the whole run; each file gets its own scratch database.
    let server = borealis_server::TestServer::start_in_memory();
    // Server-side LOAD DATA files: the golden files write theirs under `$__TEST_DIR__`.
    server
        .database()
        .expect("an engine behind the test server")
        .set_secure_file_priv(Some(slt_common::load_data_dir()));
    let mut backend =
        MysqlBackend::new(&server.url(), &["server"]).unwrap_or_else(|e| panic!("{e}"));
    slt_common::run_all(&mut backend);
}
