//! PyMySQL against a real Borealis server, through tests/clients/pymysql_client.py, and
//! SQLAlchemy 2 over PyMySQL (ORM and reflection), through sqlalchemy_client.py.

use borealis_server::TestServer;
use borealis_tests::tool;

#[test]
fn pymysql_script() {
    if !tool::require_pymysql() {
        return;
    }
    let server = TestServer::start_in_memory();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/clients/pymysql_client.py");
    tool::run_client_script(
        "python3",
        &[script],
        server.port(),
        server.password(),
        "pymysql: all checks passed",
    );
}

#[test]
fn sqlalchemy_orm_and_reflection() {
    if !tool::require("python3", &["-c", "import pymysql, sqlalchemy"]) {
        return;
    }
    let server = TestServer::start_in_memory();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/clients/sqlalchemy_client.py");
    tool::run_client_script(
        "python3",
        &[script],
        server.port(),
        server.password(),
        "sqlalchemy: all checks passed",
    );
}
