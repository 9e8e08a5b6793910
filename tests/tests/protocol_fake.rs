//! The wire protocol through the Rust `mysql` crate against a scripted fake backend, so
//! protocol behaviour is tested independently of the SQL engine: auth (both plugins,
//! switch, 1045), result sets, multi-results, binary protocol round trips for every
//! parameter type, status flags, FOUND_ROWS, warnings, COM_* commands and KILL.

use std::sync::Arc;
use std::time::{Duration, Instant};

use borealis_server::protocol::auth;
use borealis_server::{TestOptions, TestServer};
use borealis_tests::fake::FakeBackend;
use borealis_tests::raw::{self, RawClient};
use mysql::prelude::*;
use mysql::{Conn, OptsBuilder, Value as MyValue};

const PW: &str = "s3cret-pw";

fn start(plugin: &str) -> (TestServer, Arc<FakeBackend>) {
    let fake = FakeBackend::new(PW, plugin);
    let server = TestServer::start_backend(fake.clone(), PW.into(), TestOptions::default());
    (server, fake)
}

fn opts(server: &TestServer, password: &str) -> OptsBuilder {
    OptsBuilder::new()
        .ip_or_hostname(Some("127.0.0.1"))
        .tcp_port(server.port())
        .user(Some("root"))
        .pass(Some(password))
        .prefer_socket(false)
}

fn connect(server: &TestServer) -> Conn {
    Conn::new(opts(server, PW)).expect("connect")
}

fn server_error(e: mysql::Error) -> (u16, String, String) {
    match e {
        mysql::Error::MySqlError(e) => (e.code, e.state, e.message),
        other => panic!("expected a server error, got {other:?}"),
    }
}

#[test]
fn handshake_version_and_connection_ids() {
    let (server, _) = start(auth::NATIVE);
    let a = connect(&server);
    let b = connect(&server);
    let v = a.server_version();
    assert_eq!(v.0, 8, "clients must see an 8.0 server: {v:?}");
    assert_ne!(a.connection_id(), b.connection_id());
}

#[test]
fn native_and_sha2_auth_with_switch_and_denials() {
    for plugin in [auth::NATIVE, auth::CACHING_SHA2] {
        let (server, _) = start(plugin);
        // The greeting offers mysql_native_password; a caching_sha2 account switches.
        let mut c = connect(&server);
        let v: Option<String> = c.query_first("ECHO hi").unwrap();
        assert_eq!(v.as_deref(), Some("hi"));

        let e = Conn::new(opts(&server, "wrong")).map(|_| ()).unwrap_err();
        let (code, state, message) = server_error(e);
        assert_eq!(code, 1045, "{plugin}");
        assert_eq!(state, "28000");
        assert!(
            message.starts_with("Access denied for user 'root'@'localhost' (using password: YES)"),
            "{message}"
        );

        let e = Conn::new(opts(&server, "")).map(|_| ()).unwrap_err();
        let (code, _, message) = server_error(e);
        assert_eq!(code, 1045);
        assert!(message.contains("(using password: NO)"), "{message}");

        let e = Conn::new(opts(&server, PW).user(Some("nobody")))
            .map(|_| ())
            .unwrap_err();
        assert_eq!(server_error(e).0, 1045);
    }
}

#[test]
fn text_results_multi_results_and_errors() {
    let (server, _) = start(auth::NATIVE);
    let mut c = connect(&server);
    let rows: Vec<(i64, String)> = c.query("ROWS 3").unwrap();
    assert_eq!(
        rows,
        vec![
            (0, "row 0".into()),
            (1, "row 1".into()),
            (2, "row 2".into())
        ]
    );

    // Several statements, several result sets (MORE_RESULTS_EXISTS between them).
    let mut result = c.query_iter("ECHO a; UPDATE; ROWS 2").unwrap();
    let mut sets = Vec::new();
    while let Some(set) = result.iter() {
        let rows: Vec<mysql::Row> = set.map(|r| r.unwrap()).collect();
        sets.push(rows.len());
    }
    drop(result);
    assert_eq!(sets, vec![1, 0, 2]);

    // An error stops the script; the connection stays usable.
    let e = c.query_drop("BOGUS; ECHO b").unwrap_err();
    assert_eq!(server_error(e).0, 1064);
    let mut result = c.query_iter("ECHO a; BOGUS; ECHO b").unwrap();
    let first: Vec<mysql::Row> = result.iter().unwrap().map(|r| r.unwrap()).collect();
    assert_eq!(first.len(), 1);
    drop(result);
    let v: Option<String> = c.query_first("ECHO still here").unwrap();
    assert_eq!(v.as_deref(), Some("still here"));

    // Large result sets stream through the flush threshold.
    let n: Vec<(i64, String)> = c.query("ROWS 20000").unwrap();
    assert_eq!(n.len(), 20000);
    assert_eq!(n[19999].1, "row 19999");
}

#[test]
fn ok_packet_fields() {
    let (server, _) = start(auth::NATIVE);
    let mut c = connect(&server);
    c.query_drop("INSERT").unwrap();
    assert_eq!(c.last_insert_id(), 42);
    assert_eq!(c.affected_rows(), 1);
    c.query_drop("WARN").unwrap();
    assert_eq!(c.warnings(), 2);
    // The mysql crate sets CLIENT_FOUND_ROWS? It does not by default: affected = changed.
    c.query_drop("UPDATE").unwrap();
    assert_eq!(c.affected_rows(), 1);
    assert_eq!(c.info_str(), "Rows matched: 3  Changed: 1  Warnings: 0");

    let mut found = Conn::new(
        opts(&server, PW)
            .additional_capabilities(mysql::consts::CapabilityFlags::CLIENT_FOUND_ROWS),
    )
    .unwrap();
    found.query_drop("UPDATE").unwrap();
    assert_eq!(
        found.affected_rows(),
        3,
        "CLIENT_FOUND_ROWS reports matched rows"
    );
}

#[test]
fn binary_protocol_round_trips_every_type() {
    let (server, _) = start(auth::NATIVE);
    let mut c = connect(&server);
    let params = vec![
        MyValue::Int(-9_000_000_000),
        MyValue::UInt(u64::MAX),
        MyValue::Int(7),
        MyValue::Double(-2.25),
        MyValue::Float(0.5),
        MyValue::Bytes("héllo 'q'".as_bytes().to_vec()),
        MyValue::Bytes(vec![0, 1, 2, 0xFF]),
        MyValue::NULL,
        MyValue::Date(2024, 2, 29, 0, 0, 0, 0),
        MyValue::Date(1999, 12, 31, 23, 59, 58, 123456),
        MyValue::Time(true, 2, 3, 4, 5, 6),
        MyValue::Time(false, 0, 10, 0, 0, 0),
    ];
    let sql = format!("SELECT {}", vec!["?"; params.len()].join(", "));
    let stmt = c.prep(&sql).unwrap();
    assert_eq!(stmt.num_params() as usize, params.len());
    for _ in 0..2 {
        let row: mysql::Row = c
            .exec_first(&stmt, mysql::Params::Positional(params.clone()))
            .unwrap()
            .unwrap();
        let got: Vec<MyValue> = row.unwrap();
        assert_eq!(got[0], MyValue::Int(-9_000_000_000));
        assert_eq!(got[1], MyValue::UInt(u64::MAX));
        assert_eq!(got[2], MyValue::Int(7));
        assert_eq!(got[3], MyValue::Double(-2.25));
        assert_eq!(got[4], MyValue::Double(0.5));
        assert_eq!(got[5], MyValue::Bytes("héllo 'q'".as_bytes().to_vec()));
        assert_eq!(got[6], MyValue::Bytes(vec![0, 1, 2, 0xFF]));
        assert_eq!(got[7], MyValue::NULL);
        assert_eq!(got[8], MyValue::Date(2024, 2, 29, 0, 0, 0, 0));
        assert_eq!(got[9], MyValue::Date(1999, 12, 31, 23, 59, 58, 123456));
        assert_eq!(got[10], MyValue::Time(true, 2, 3, 4, 5, 6));
        assert_eq!(got[11], MyValue::Time(false, 0, 10, 0, 0, 0));
    }
    c.close(stmt).unwrap();
    // Prepare errors come back as errors; the connection stays usable.
    let e = c.prep("NOT A STATEMENT").unwrap_err();
    assert_eq!(server_error(e).0, 1064);
    let s: Option<String> = c.exec_first("ECHO x", ()).unwrap();
    assert_eq!(s.as_deref(), Some("x"));
}

#[test]
fn status_flags_track_autocommit_and_transactions() {
    let (server, _) = start(auth::NATIVE);
    let mut c = RawClient::login(server.port(), "root", PW, raw::default_caps()).unwrap();
    const IN_TRANS: u16 = 0x0001;
    const AUTOCOMMIT: u16 = 0x0002;
    let st = c.query_ok_status("UPDATE").unwrap();
    assert_eq!(st & (IN_TRANS | AUTOCOMMIT), AUTOCOMMIT);
    let st = c.query_ok_status("BEGIN").unwrap();
    assert_eq!(st & (IN_TRANS | AUTOCOMMIT), IN_TRANS | AUTOCOMMIT);
    let st = c.query_ok_status("COMMIT").unwrap();
    assert_eq!(st & IN_TRANS, 0);
    let st = c.query_ok_status("SET AUTOCOMMIT = 0").unwrap();
    assert_eq!(st & AUTOCOMMIT, 0);
    // MORE_RESULTS_EXISTS on all but the last OK of a multi-statement.
    let p = c.command(0x03, b"UPDATE; UPDATE").unwrap();
    assert_eq!(p[0], 0);
    assert_ne!(u16::from_le_bytes([p[3], p[4]]) & 0x0008, 0);
    let p = c.read_packet().unwrap();
    assert_eq!(u16::from_le_bytes([p[3], p[4]]) & 0x0008, 0);
}

#[test]
fn unknown_and_malformed_commands_keep_the_connection() {
    let (server, _) = start(auth::NATIVE);
    let mut c = RawClient::login(server.port(), "root", PW, raw::default_caps()).unwrap();
    // COM_SLEEP, COM_TIME, COM_BINLOG_DUMP, an undefined byte, an empty packet.
    for cmd in [&[0x00u8][..], &[0x0F], &[0x12, 1, 2], &[0xEE], &[]] {
        c.seq = 0;
        c.write_packet(cmd).unwrap();
        let p = c.read_packet().unwrap();
        assert_eq!(raw::err_code(&p), Some(1047), "command {cmd:?}");
    }
    // COM_STMT_EXECUTE of an unknown statement, and a truncated one.
    let p = c.command(0x17, &[9, 0, 0, 0, 0, 1, 0, 0, 0]).unwrap();
    assert_eq!(raw::err_code(&p), Some(1243));
    // COM_STATISTICS answers with a bare string.
    let p = c.command(0x09, &[]).unwrap();
    let s = String::from_utf8(p).unwrap();
    assert!(s.starts_with("Uptime: ") && s.contains("Threads: "), "{s}");
    // COM_FIELD_LIST: one column definition then EOF; unknown table: error 1146.
    let p = c.command(0x04, b"nosuch\0").unwrap();
    assert_eq!(raw::err_code(&p), Some(1146));
    let p = c.command(0x04, b"t\0%").unwrap();
    assert_ne!(p[0], 0xFF);
    let eof = c.read_packet().unwrap();
    assert_eq!(eof[0], 0xFE);
    // COM_SET_OPTION off, then a multi-statement is one statement again (an error here).
    let p = c.command(0x1B, &[1, 0]).unwrap();
    assert_eq!(p[0], 0xFE);
    let p = c.command(0x03, b"UPDATE; UPDATE").unwrap();
    assert_eq!(raw::err_code(&p), Some(1064));
    assert_eq!(c.query_ok_status("UPDATE").unwrap() & 0x0002, 0x0002);
}

#[test]
fn ping_init_db_reset_change_user_and_field_list() {
    let (server, _) = start(auth::NATIVE);
    let mut c = connect(&server);
    c.ping().unwrap();
    c.select_db("shop").unwrap();
    let db: Option<Option<String>> = c.query_first("SELECT DATABASE()").unwrap();
    assert_eq!(db, Some(Some("shop".into())));
    let e = c.select_db("nope").unwrap_err();
    assert_eq!(server_error(e).0, 1049);

    let stmt = c.prep("SELECT ?").unwrap();
    c.reset().unwrap();
    // Statements do not survive COM_RESET_CONNECTION.
    let e = c.exec_drop(&stmt, (1,)).unwrap_err();
    assert_eq!(server_error(e).0, 1243);

    c.change_user(mysql::ChangeUserOpts::default().with_db_name(Some("other".into())))
        .unwrap();
    let db: Option<Option<String>> = c.query_first("SELECT DATABASE()").unwrap();
    assert_eq!(db, Some(Some("other".into())));
}

#[test]
fn kill_query_and_connection() {
    let (server, fake) = start(auth::NATIVE);
    let mut a = connect(&server);
    let mut b = connect(&server);
    let a_id = a.connection_id();
    b.query_drop(format!("KILL QUERY {a_id}")).unwrap();
    assert!(fake.kills.lock().contains(&(a_id, true)));
    b.query_drop(format!("KILL {a_id}")).unwrap();
    assert!(fake.kills.lock().contains(&(a_id, false)));
    assert!(a.ping().is_err(), "a killed connection is closed");
    let e = b.query_drop("KILL 999999").unwrap_err();
    assert_eq!(server_error(e).0, 1094);
    b.ping().unwrap();
}

#[test]
fn idle_connections_time_out() {
    let fake = FakeBackend::new(PW, auth::NATIVE);
    let server = TestServer::start_backend(
        fake,
        PW.into(),
        TestOptions {
            wait_timeout: Duration::from_millis(300),
            ..TestOptions::default()
        },
    );
    let mut c = connect(&server);
    c.ping().unwrap();
    std::thread::sleep(Duration::from_millis(800));
    assert!(c.ping().is_err());
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.handle().connections() > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(server.handle().connections(), 0);
}

#[test]
fn max_connections_gives_1040_and_recovers() {
    let fake = FakeBackend::new(PW, auth::NATIVE);
    let server = TestServer::start_backend(
        fake,
        PW.into(),
        TestOptions {
            max_connections: 2,
            ..TestOptions::default()
        },
    );
    let a = connect(&server);
    let b = connect(&server);
    let e = Conn::new(opts(&server, PW)).map(|_| ()).unwrap_err();
    assert_eq!(server_error(e).0, 1040);
    drop(a);
    drop(b);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match Conn::new(opts(&server, PW)) {
            Ok(mut c) => {
                c.ping().unwrap();
                break;
            }
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("server did not recover: {e}"),
        }
    }
}

#[test]
fn deprecate_eof_replaces_eof_packets() {
    let (server, _) = start(auth::NATIVE);
    let caps = raw::default_caps() | mysql_common::constants::CapabilityFlags::CLIENT_DEPRECATE_EOF;
    let mut c = RawClient::login(server.port(), "root", PW, caps).unwrap();
    // Text result: count, 2 column definitions, 2 rows, then an OK with header 0xFE.
    let count = c.command(0x03, b"ROWS 2").unwrap();
    assert_eq!(count, vec![2]);
    for _ in 0..2 {
        let def = c.read_packet().unwrap();
        assert_eq!(&def[..4], b"\x03def");
    }
    for i in 0..2 {
        let row = c.read_packet().unwrap();
        assert_eq!(row[0], 1, "row {i} starts with a 1-byte lenenc");
    }
    let end = c.read_packet().unwrap();
    assert_eq!(end[0], 0xFE);
    assert!(end.len() >= 7, "an OK packet, not a 5-byte EOF: {end:?}");
    // Prepare: no EOF after the parameter definitions.
    let ok = c.command(0x16, b"SELECT ?").unwrap();
    assert_eq!(ok[0], 0);
    let params = u16::from_le_bytes([ok[7], ok[8]]);
    let cols = u16::from_le_bytes([ok[5], ok[6]]);
    for _ in 0..(params + cols) {
        let def = c.read_packet().unwrap();
        assert_eq!(&def[..4], b"\x03def");
    }
    // The next thing read answers the next command (a ping), not a stray EOF.
    let pong = c.command(0x0E, &[]).unwrap();
    assert_eq!(pong[0], 0);
}

#[test]
fn pymysql_with_caching_sha2() {
    if !borealis_tests::tool::require_pymysql() {
        return;
    }
    let (server, _) = start(auth::CACHING_SHA2);
    let script = format!(
        "import pymysql\n\
         c = pymysql.connect(host='127.0.0.1', port={}, user='root', password='{PW}')\n\
         cur = c.cursor(); cur.execute('ECHO via sha2'); print(cur.fetchone()[0])\n\
         try:\n    pymysql.connect(host='127.0.0.1', port={}, user='root', password='bad')\n\
         except pymysql.err.OperationalError as e:\n    print('denied', e.args[0])\n",
        server.port(),
        server.port()
    );
    let out = std::process::Command::new("python3")
        .args(["-c", &script])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout, "via sha2\ndenied 1045\n");
}

/// COM_STMT_PREPARE, then COM_STMT_EXECUTE built by hand: `params` are (type, value bytes).
fn prepare(c: &mut RawClient, sql: &str) -> u32 {
    let ok = c.command(0x16, sql.as_bytes()).unwrap();
    assert_eq!(ok[0], 0, "prepare failed: {ok:?}");
    let id = u32::from_le_bytes([ok[1], ok[2], ok[3], ok[4]]);
    let cols = u16::from_le_bytes([ok[5], ok[6]]);
    let params = u16::from_le_bytes([ok[7], ok[8]]);
    // Definitions plus one EOF after each non-empty group (legacy EOF).
    let packets = params + cols + u16::from(params > 0) + u16::from(cols > 0);
    for _ in 0..packets {
        c.read_packet().unwrap();
    }
    id
}

/// Read a binary result set with one row; returns (row payload, final EOF status flags).
fn read_binary_result(c: &mut RawClient, first: Vec<u8>) -> (Vec<u8>, u16) {
    let cols = first[0] as usize;
    for _ in 0..cols {
        c.read_packet().unwrap();
    }
    assert_eq!(c.read_packet().unwrap()[0], 0xFE);
    let row = c.read_packet().unwrap();
    let eof = c.read_packet().unwrap();
    assert_eq!(eof[0], 0xFE);
    (row, u16::from_le_bytes([eof[3], eof[4]]))
}

#[test]
fn long_data_reset_cursor_flag_and_rebinding() {
    let (server, _) = start(auth::NATIVE);
    let mut c = RawClient::login(server.port(), "root", PW, raw::default_caps()).unwrap();
    let id = prepare(&mut c, "SELECT ?, ?");
    let idb = id.to_le_bytes();

    // Parameter 0 streamed with two COM_STMT_SEND_LONG_DATA (no replies).
    for chunk in [&b"hello "[..], b"world"] {
        c.seq = 0;
        let mut p = vec![0x18, idb[0], idb[1], idb[2], idb[3], 0, 0];
        p.extend_from_slice(chunk);
        c.write_packet(&p).unwrap();
    }
    // Execute with the cursor flag (0x01): types VAR_STRING, LONGLONG; value only for #1.
    let mut exec = vec![idb[0], idb[1], idb[2], idb[3], 0x01, 1, 0, 0, 0];
    exec.extend_from_slice(&[0x00, 1, 253, 0, 8, 0]);
    exec.extend_from_slice(&7i64.to_le_bytes());
    let first = c.command(0x17, &exec).unwrap();
    let (row, status) = read_binary_result(&mut c, first);
    assert_eq!(status & 0x0040, 0, "no cursor is opened");
    // Row: header, 1-byte null bitmap, lenenc "hello world", 8-byte 7.
    assert_eq!(&row[2..14], b"\x0bhello world");
    assert_eq!(&row[14..22], &7i64.to_le_bytes());

    // new_params_bound = 0: the remembered types apply; long data was consumed.
    let mut exec = vec![idb[0], idb[1], idb[2], idb[3], 0, 1, 0, 0, 0];
    exec.extend_from_slice(&[0x00, 0]);
    exec.extend_from_slice(b"\x02hi");
    exec.extend_from_slice(&9i64.to_le_bytes());
    let first = c.command(0x17, &exec).unwrap();
    let (row, _) = read_binary_result(&mut c, first);
    assert_eq!(&row[2..5], b"\x02hi");
    assert_eq!(&row[5..13], &9i64.to_le_bytes());

    // Long data, then COM_STMT_RESET discards it; NULL bitmap marks parameter 1 NULL.
    c.seq = 0;
    c.write_packet(&[0x18, idb[0], idb[1], idb[2], idb[3], 0, 0, b'x'])
        .unwrap();
    let ok = c.command(0x1A, &idb).unwrap();
    assert_eq!(ok[0], 0);
    let mut exec = vec![idb[0], idb[1], idb[2], idb[3], 0, 1, 0, 0, 0];
    exec.extend_from_slice(&[0b10, 0]);
    exec.extend_from_slice(b"\x01y");
    let first = c.command(0x17, &exec).unwrap();
    let (row, _) = read_binary_result(&mut c, first);
    assert_eq!(
        row[1] & 0b1000,
        0b1000,
        "column 1 is NULL (bit 1 + offset 2)"
    );
    assert_eq!(&row[2..4], b"\x01y");

    // A short execute packet is an error, not a dropped connection.
    let p = c
        .command(
            0x17,
            &[idb[0], idb[1], idb[2], idb[3], 0, 1, 0, 0, 0, 0, 1, 8],
        )
        .unwrap();
    assert_eq!(raw::err_code(&p), Some(1210));
    // COM_STMT_CLOSE has no reply; the statement is gone afterwards.
    c.seq = 0;
    c.write_packet(&[0x19, idb[0], idb[1], idb[2], idb[3]])
        .unwrap();
    let p = c
        .command(0x17, &[idb[0], idb[1], idb[2], idb[3], 0, 1, 0, 0, 0])
        .unwrap();
    assert_eq!(raw::err_code(&p), Some(1243));
}
