//! The `mysql` command-line client (MariaDB 10.11's) against a real Borealis server:
//! a scripted `-e` session, a database on the command line (which makes the client
//! rehash with SHOW TABLES and COM_FIELD_LIST), TLS with `--ssl`, a wrong password;
//! `mysqladmin`'s commands (COM_PING, COM_STATISTICS, COM_REFRESH, COM_PROCESS_KILL, ...).

use borealis_server::TestServer;
use borealis_tests::tool;

fn run(server: &TestServer, extra: &[&str], sql: &str) -> (bool, String, String) {
    let out = tool::mysql_batch(server.port(), server.password(), extra, sql);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn scripted_session_with_e() {
    if !tool::require("mysql", &["--version"]) {
        return;
    }
    let server = TestServer::start_in_memory();
    let (ok, out, err) = run(
        &server,
        &[],
        "CREATE DATABASE shop; USE shop; \
         CREATE TABLE items (id INT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(20), price DECIMAL(6,2)); \
         INSERT INTO items (name, price) VALUES ('apple', 1.50), ('pear', NULL); \
         SELECT id, name, price FROM items ORDER BY id;",
    );
    assert!(ok, "{err}");
    assert_eq!(out, "id\tname\tprice\n1\tapple\t1.50\n2\tpear\tNULL\n");

    // A database on the command line; the usual introspection statements.
    let (ok, out, err) = run(
        &server,
        &["shop"],
        "SELECT DATABASE(); SHOW TABLES; DESCRIBE items; SHOW CREATE TABLE items; SHOW DATABASES;",
    );
    assert!(ok, "{err}");
    // (MySQL names the column `DATABASE()`; the value is what matters to the client.)
    assert_eq!(out.lines().nth(1), Some("shop"), "{out}");
    assert!(out.contains("items"), "{out}");
    assert!(
        out.contains("Field\tType\tNull\tKey\tDefault\tExtra"),
        "{out}"
    );
    assert!(out.contains("CREATE TABLE"), "{out}");
    assert!(out.contains("shop"), "{out}");

    // Errors print with their code and SQLSTATE and fail the batch.
    let (ok, _, err) = run(&server, &["shop"], "SELECT * FROM nosuch");
    assert!(!ok);
    assert!(err.contains("ERROR 1146 (42S02)"), "{err}");
}

#[test]
fn tls_and_wrong_password() {
    if !tool::require("mysql", &["--version"]) {
        return;
    }
    let server = TestServer::start_in_memory();
    let (ok, out, err) = run(&server, &["--ssl"], "SELECT 1 + 1 AS two");
    assert!(ok, "{err}");
    assert_eq!(out, "two\n2\n");
    let (_, out, _) = run(&server, &["--ssl", "--verbose"], "\\s");
    assert!(out.contains("Cipher in use"), "{out}");

    let out = tool::mysql_batch(server.port(), "not-the-password", &[], "SELECT 1");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains(
            "ERROR 1045 (28000): Access denied for user 'root'@'localhost' (using password: YES)"
        ),
        "{err}"
    );
}

#[test]
fn mysqladmin_commands() {
    if !tool::require("mysqladmin", &["--version"]) {
        return;
    }
    let server = TestServer::start_in_memory();
    let admin = |args: &[&str]| {
        let out = tool::client_command("mysqladmin", server.port(), server.password())
            .args(args)
            .output()
            .expect("run mysqladmin");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let (ok, out) = admin(&["ping"]);
    assert!(ok && out.contains("mysqld is alive"), "{out}");
    let (ok, out) = admin(&["status"]);
    assert!(
        ok && out.contains("Uptime:") && out.contains("Threads:"),
        "{out}"
    );
    // refresh and flush-hosts/-status go through COM_REFRESH; flush-logs through FLUSH.
    for cmd in [
        "refresh",
        "flush-hosts",
        "flush-status",
        "flush-logs",
        "flush-privileges",
    ] {
        let (ok, out) = admin(&[cmd]);
        assert!(ok, "{cmd}: {out}");
    }
    let (ok, out) = admin(&["create", "admin_db"]);
    assert!(ok, "{out}");
    let (_, out, _) = run(&server, &[], "SHOW DATABASES LIKE 'admin_db'");
    assert!(out.contains("admin_db"), "{out}");
    let (ok, out) = admin(&["-f", "drop", "admin_db"]);
    assert!(ok, "{out}");
    let (ok, out) = admin(&["processlist"]);
    assert!(ok && out.contains("processlist"), "{out}");
    let (ok, out) = admin(&["kill", "99999"]);
    assert!(!ok && out.contains("Unknown thread id: 99999"), "{out}");
}
