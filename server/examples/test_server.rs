//! Start a throwaway Borealis server on an ephemeral port and talk to it with the Rust
//! `mysql` crate — the pattern for tests in other projects.
//!
//! Run: `cargo run -p borealis-server --example test_server`

use mysql::prelude::Queryable;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = borealis_server::TestServer::start_in_memory();
    println!("server on port {} ({})", server.port(), server.url());

    let mut conn = mysql::Conn::new(mysql::Opts::from_url(&server.url())?)?;
    conn.query_drop("CREATE DATABASE demo")?;
    conn.query_drop("USE demo")?;
    conn.query_drop("CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(20))")?;
    conn.exec_drop("INSERT INTO t VALUES (?, ?)", (1, "borealis"))?;
    let name: Option<String> = conn.exec_first("SELECT name FROM t WHERE id = ?", (1,))?;
    println!("row 1: {name:?}");
    Ok(())
    // `server` is dropped here: it stops and closes its connections.
}
