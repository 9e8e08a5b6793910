//! The Rust `mysql` crate against a real Borealis server (engine included): what the crate
//! does on connect (`SELECT @@max_allowed_packet`, `SELECT @@socket`), queries, prepared
//! statements with every parameter type, transactions, error codes, the pool (ping and
//! COM_RESET_CONNECTION), accounts and privileges.

use borealis_server::TestServer;
use mysql::prelude::*;
use mysql::{Conn, Opts, OptsBuilder, Pool, TxOpts, Value as V};

fn connect(server: &TestServer) -> Conn {
    Conn::new(Opts::from_url(&server.url()).unwrap()).expect("connect as root")
}

/// A value as text, whichever protocol (text or binary) delivered it; bytes that are not
/// UTF-8 are shown in hex.
fn norm(v: &V) -> String {
    match v {
        V::NULL => "NULL".into(),
        V::Bytes(b) => match std::str::from_utf8(b) {
            Ok(s) => s.to_string(),
            Err(_) => b
                .iter()
                .map(|x| format!("{x:02x}"))
                .collect::<Vec<_>>()
                .join(" "),
        },
        V::Int(i) => i.to_string(),
        V::UInt(u) => u.to_string(),
        V::Float(f) => f.to_string(),
        V::Double(d) => d.to_string(),
        V::Date(y, m, d, 0, 0, 0, 0) => format!("{y:04}-{m:02}-{d:02}"),
        V::Date(y, m, d, h, i, s, 0) => format!("{y:04}-{m:02}-{d:02} {h:02}:{i:02}:{s:02}"),
        V::Date(y, m, d, h, i, s, us) => {
            format!("{y:04}-{m:02}-{d:02} {h:02}:{i:02}:{s:02}.{us:06}")
        }
        V::Time(neg, days, h, i, s, us) => {
            let hours = days * 24 + u32::from(*h);
            let sign = if *neg { "-" } else { "" };
            if *us == 0 {
                format!("{sign}{hours:02}:{i:02}:{s:02}")
            } else {
                format!("{sign}{hours:02}:{i:02}:{s:02}.{us:06}")
            }
        }
    }
}

fn code(e: mysql::Error) -> u16 {
    match e {
        mysql::Error::MySqlError(e) => e.code,
        other => panic!("expected a server error, got {other:?}"),
    }
}

#[test]
fn connect_time_queries_and_plain_queries() {
    let server = TestServer::start_in_memory();
    let mut c = connect(&server);
    let max: Option<u64> = c.query_first("SELECT @@max_allowed_packet").unwrap();
    assert!(max.unwrap() >= 1 << 20);
    let sock: Option<Option<String>> = c.query_first("SELECT @@socket").unwrap();
    assert!(
        matches!(sock, None | Some(None)) || sock == Some(Some(String::new())),
        "{sock:?}"
    );
    let (one, s): (i64, String) = c.query_first("SELECT 1 AS one, 'x' AS s").unwrap().unwrap();
    assert_eq!((one, s.as_str()), (1, "x"));
    c.query_drop("CREATE DATABASE app").unwrap();
    c.query_drop("USE app").unwrap();
    c.query_drop("CREATE TABLE IF NOT EXISTS kv (id INT PRIMARY KEY, v VARCHAR(20))")
        .unwrap();
    c.query_drop("INSERT INTO kv (id, v) VALUES (1, 'a'),(2, 'b\\'q'),(3, NULL)")
        .unwrap();
    assert_eq!(c.affected_rows(), 3);
    let rows: Vec<(i64, Option<String>)> = c.query("SELECT id, v FROM kv ORDER BY id").unwrap();
    assert_eq!(
        rows,
        vec![(1, Some("a".into())), (2, Some("b'q".into())), (3, None)]
    );
    let n: Option<i64> = c.query_first("SELECT COUNT(*) FROM kv").unwrap();
    assert_eq!(n, Some(3));
}

#[test]
fn prepared_statements_with_every_parameter_type() {
    let server = TestServer::start_in_memory();
    let mut c = connect(&server);
    c.query_drop("CREATE DATABASE p").unwrap();
    c.query_drop("USE p").unwrap();
    c.query_drop(
        "CREATE TABLE t (id BIGINT PRIMARY KEY, u BIGINT UNSIGNED, i INT, d DOUBLE, \
         dec_ DECIMAL(10,2), s VARCHAR(50), b VARBINARY(20), dt DATE, ts DATETIME(6), \
         tm TIME, n INT)",
    )
    .unwrap();
    let stmt = c
        .prep("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
        .unwrap();
    assert_eq!(stmt.num_params(), 11);
    let params = vec![
        V::Int(-9_000_000_000),
        V::UInt(18_000_000_000_000_000_000),
        V::Int(-7),
        V::Double(2.5),
        V::Bytes(b"12.34".to_vec()),
        V::Bytes("héllo 'q'".as_bytes().to_vec()),
        V::Bytes(vec![0, 1, 0xFF]),
        V::Date(2024, 2, 29, 0, 0, 0, 0),
        V::Date(1999, 12, 31, 23, 59, 58, 123456),
        V::Time(true, 1, 2, 3, 4, 0),
        V::NULL,
    ];
    c.exec_drop(&stmt, params).unwrap();
    assert_eq!(c.affected_rows(), 1);

    // Binary protocol (exec) and text protocol (query) both give the values back.
    let sql = "SELECT id, u, i, d, dec_, s, b, dt, ts, tm, n FROM t WHERE id = ?";
    let row: mysql::Row = c.exec_first(sql, (-9_000_000_000i64,)).unwrap().unwrap();
    let text: mysql::Row = c
        .query_first(sql.replace('?', "-9000000000"))
        .unwrap()
        .unwrap();
    for r in [row, text] {
        let v: Vec<String> = r.unwrap().iter().map(norm).collect();
        assert_eq!(
            v,
            vec![
                "-9000000000",
                "18000000000000000000",
                "-7",
                "2.5",
                "12.34",
                "héllo 'q'",
                "00 01 ff",
                "2024-02-29",
                "1999-12-31 23:59:58.123456",
                "-26:03:04",
                "NULL",
            ]
        );
    }

    // The same statement executed again (the crate re-sends types each time).
    for id in 1..=5i64 {
        c.exec_drop(
            "INSERT INTO t (id, s) VALUES (?, ?)",
            (id, format!("s{id}")),
        )
        .unwrap();
    }
    let s: Option<String> = c.exec_first("SELECT s FROM t WHERE id = ?", (4,)).unwrap();
    assert_eq!(s.as_deref(), Some("s4"));
    let echoed: Option<String> = c.exec_first("SELECT ?", ("echo",)).unwrap();
    assert_eq!(echoed.as_deref(), Some("echo"));
}

#[test]
fn transactions_and_error_codes() {
    let server = TestServer::start_in_memory();
    let mut c = connect(&server);
    c.query_drop("CREATE DATABASE tx").unwrap();
    c.query_drop("USE tx").unwrap();
    c.query_drop("CREATE TABLE t (id INT PRIMARY KEY, v INT)")
        .unwrap();
    {
        let mut tx = c.start_transaction(TxOpts::default()).unwrap();
        tx.exec_drop("INSERT INTO t VALUES (?, ?)", (1, 10))
            .unwrap();
        tx.rollback().unwrap();
    }
    {
        let mut tx = c.start_transaction(TxOpts::default()).unwrap();
        tx.exec_drop("INSERT INTO t VALUES (?, ?)", (2, 20))
            .unwrap();
        tx.commit().unwrap();
    }
    let ids: Vec<i64> = c.query("SELECT id FROM t").unwrap();
    assert_eq!(ids, vec![2]);

    assert_eq!(
        code(c.query_drop("INSERT INTO t VALUES (2, 0)").unwrap_err()),
        1062
    );
    assert_eq!(
        code(c.query_drop("SELECT * FROM nosuch").unwrap_err()),
        1146
    );
    assert_eq!(code(c.query_drop("SELEC 1").unwrap_err()), 1064);
    assert_eq!(code(c.query_drop("SELECT nocol FROM t").unwrap_err()), 1054);
    assert_eq!(code(c.query_drop("USE nodb").unwrap_err()), 1049);
    // Still usable after errors.
    c.ping().unwrap();
}

#[test]
fn pool_pings_and_resets() {
    let server = TestServer::start_in_memory();
    let pool = Pool::new(Opts::from_url(&server.url()).unwrap()).unwrap();
    for _ in 0..20 {
        let mut c = pool.get_conn().unwrap();
        let one: Option<i64> = c.query_first("SELECT 1").unwrap();
        assert_eq!(one, Some(1));
    }
}

#[test]
fn accounts_privileges_and_caching_sha2() {
    let server = TestServer::start_in_memory();
    let mut root = connect(&server);
    root.query_drop("CREATE DATABASE priv").unwrap();
    root.query_drop("CREATE TABLE priv.t (id INT PRIMARY KEY)")
        .unwrap();
    root.query_drop("CREATE USER 'reader'@'%' IDENTIFIED BY 'rpw'")
        .unwrap();
    root.query_drop("CREATE USER 'sha'@'%' IDENTIFIED WITH caching_sha2_password BY 'spw'")
        .unwrap();
    let opts = |user: &str, pw: &str| {
        OptsBuilder::new()
            .ip_or_hostname(Some("127.0.0.1"))
            .tcp_port(server.port())
            .user(Some(user))
            .pass(Some(pw))
            .prefer_socket(false)
    };
    let mut reader = Conn::new(opts("reader", "rpw")).expect("new user logs in");
    let e = reader.query_drop("SELECT * FROM priv.t").unwrap_err();
    assert_eq!(code(e), 1142);
    root.query_drop("GRANT SELECT ON priv.* TO 'reader'@'%'")
        .unwrap();
    let mut reader = Conn::new(opts("reader", "rpw")).unwrap();
    reader.query_drop("SELECT * FROM priv.t").unwrap();
    assert_eq!(
        code(
            reader
                .query_drop("INSERT INTO priv.t VALUES (1)")
                .unwrap_err()
        ),
        1142
    );

    let e = Conn::new(opts("reader", "wrong")).map(|_| ()).unwrap_err();
    assert_eq!(code(e), 1045);
    let mut sha = Conn::new(opts("sha", "spw")).expect("caching_sha2_password login");
    sha.ping().unwrap();
    let e = Conn::new(opts("sha", "nope")).map(|_| ()).unwrap_err();
    assert_eq!(code(e), 1045);

    // An account restored from a dump by its native hash, SHA1(SHA1('password')).
    root.query_drop(
        "CREATE USER 'dumped'@'%' IDENTIFIED WITH mysql_native_password \
         AS '*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19'",
    )
    .unwrap();
    Conn::new(opts("dumped", "password"))
        .expect("login with the password behind the hash")
        .ping()
        .unwrap();
    assert_eq!(
        code(Conn::new(opts("dumped", "")).map(|_| ()).unwrap_err()),
        1045
    );
    // Switched to caching_sha2_password without a new password: there is no SHA-256
    // hash of it, so no login that way (and never a password-less one).
    root.query_drop("ALTER USER 'dumped'@'%' IDENTIFIED WITH caching_sha2_password")
        .unwrap();
    for pw in ["password", ""] {
        let e = Conn::new(opts("dumped", pw)).map(|_| ()).unwrap_err();
        assert_eq!(code(e), 1045, "password {pw:?}");
    }
}

#[test]
fn kill_query_and_kill_connection() {
    let server = TestServer::start_in_memory();
    let mut victim = connect(&server);
    let mut killer = connect(&server);
    victim.query_drop("CREATE DATABASE k").unwrap();
    victim
        .query_drop("CREATE TABLE k.t (id INT PRIMARY KEY)")
        .unwrap();
    let values: Vec<String> = (0..300).map(|i| format!("({i})")).collect();
    victim
        .query_drop(format!("INSERT INTO k.t VALUES {}", values.join(",")))
        .unwrap();
    let id = victim.connection_id();
    let t = std::thread::spawn(move || {
        let started = std::time::Instant::now();
        // 27 million joined rows: far longer than the test waits.
        let r = victim
            .query_drop("SELECT COUNT(*) FROM k.t a, k.t b, k.t c WHERE a.id + b.id + c.id >= 0");
        (r, started.elapsed(), victim)
    });
    std::thread::sleep(std::time::Duration::from_millis(300));
    killer.query_drop(format!("KILL QUERY {id}")).unwrap();
    let (r, took, mut victim) = t.join().unwrap();
    assert!(
        took < std::time::Duration::from_secs(10),
        "KILL QUERY took {took:?}"
    );
    assert_eq!(
        code(r.unwrap_err()),
        1317,
        "Query execution was interrupted"
    );
    victim.ping().expect("KILL QUERY keeps the connection");

    killer.query_drop(format!("KILL CONNECTION {id}")).unwrap();
    assert!(victim.ping().is_err(), "KILL closes the connection");
    assert_eq!(code(killer.query_drop("KILL 424242").unwrap_err()), 1094);
}

#[test]
fn auto_increment_with_zero_and_null_ids() {
    let server = TestServer::start_in_memory();
    let mut c = connect(&server);
    c.query_drop("CREATE DATABASE ai").unwrap();
    c.query_drop("USE ai").unwrap();
    c.query_drop(
        "CREATE TABLE sbtest1(\n  id INTEGER NOT NULL AUTO_INCREMENT,\n  k INTEGER DEFAULT '0' NOT NULL,\n  c CHAR(120) DEFAULT '' NOT NULL,\n  pad CHAR(60) DEFAULT '' NOT NULL,\n  PRIMARY KEY (id)\n) /*! ENGINE = innodb */ ",
    )
    .unwrap();
    c.query_drop("INSERT INTO sbtest1(k, c, pad) VALUES(1, 'a', 'b'),(2, 'c', 'd')")
        .unwrap();
    assert_eq!(c.last_insert_id(), 1);
    c.query_drop("INSERT INTO sbtest1 (id, k, c, pad) VALUES (0, 3, 'e', 'f')")
        .unwrap();
    assert_eq!(
        c.last_insert_id(),
        3,
        "id 0 means the next AUTO_INCREMENT value"
    );
    c.exec_drop(
        "INSERT INTO sbtest1 (id, k, c, pad) VALUES (?, ?, ?, ?)",
        (V::NULL, 4, "g", "h"),
    )
    .unwrap();
    assert_eq!(c.last_insert_id(), 4);
    let sum: Option<String> = c
        .exec_first(
            "SELECT SUM(k) FROM sbtest1 WHERE id BETWEEN ? AND ?",
            (1, 4),
        )
        .unwrap();
    assert_eq!(sum.as_deref(), Some("10"));
}
