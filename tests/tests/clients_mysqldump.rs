//! `mysqldump` (MariaDB 10.11's) against a real Borealis server, and its dumps restored
//! through the `mysql` client: a backup must come back as it was. Each dump variant is
//! taken, the database dropped, the dump replayed, and the same queries must print the
//! same answers: rows of every column type (binary bytes, BIT, JSON, ENUM/SET, unsigned,
//! temporal), a foreign key, a view, a trigger, and the table definitions.

use std::io::Write;
use std::process::Stdio;

use borealis_server::TestServer;
use borealis_tests::tool;

const SETUP: &str = r#"
CREATE DATABASE shop;
USE shop;
CREATE TABLE items (id INT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(40) NOT NULL,
  price DECIMAL(10,2), added DATETIME DEFAULT '2024-05-06 07:08:09', note TEXT, flag TINYINT(1),
  KEY k_name (name));
INSERT INTO items (name, price, note, flag) VALUES ('apple', 1.20, 'red', 1),
  ('pear', 0.80, NULL, 0), ('o''brien', 3.00, 'back\\slash\nnewline', NULL),
  ('ünïcode ✓', 12345678.99, 'tab\there', 1);
CREATE TABLE t2 (a BIGINT PRIMARY KEY, b DOUBLE, c BLOB, d DATE, e ENUM('x','y'),
  s SET('p','q'), j JSON, f FLOAT, bi BIT(8), ts TIMESTAMP NULL, u INT UNSIGNED);
INSERT INTO t2 VALUES
  (1, 2.5, 0x00ff10275c22, '2024-01-02', 'y', 'p,q', '{"k": [1, 2]}', 1.5, b'00001111',
   '2020-02-02 10:00:00', 4294967295),
  (2, -1e300, '', '1000-01-01', 'x', '', 'null', -0.25, 255, NULL, 0);
CREATE TABLE child (id INT PRIMARY KEY, item_id INT, FOREIGN KEY (item_id) REFERENCES items (id));
INSERT INTO child VALUES (1, 1), (2, 3);
CREATE TABLE t3 (x INT);
CREATE TRIGGER tr BEFORE INSERT ON t3 FOR EACH ROW SET NEW.x = NEW.x + 1;
CREATE VIEW v AS SELECT id, UPPER(name) AS n FROM items WHERE price > 1;
"#;

const CHECK: &str = "SELECT * FROM shop.items ORDER BY id; \
    SELECT a, b, HEX(c), d, e, s, j, f, HEX(bi), bi + 0, ts, u FROM shop.t2 ORDER BY a; \
    SELECT * FROM shop.child ORDER BY id; SELECT * FROM shop.v ORDER BY id; \
    SHOW CREATE VIEW shop.v; SHOW CREATE TABLE shop.items; SHOW CREATE TABLE shop.t2; \
    SHOW CREATE TABLE shop.child; \
    SELECT trigger_name, event_manipulation, action_statement, action_timing \
      FROM information_schema.triggers WHERE trigger_schema = 'shop'; \
    INSERT INTO shop.t3 VALUES (1); SELECT x FROM shop.t3; DELETE FROM shop.t3;";

fn sql(server: &TestServer, text: &str) -> String {
    let out = tool::mysql_batch(server.port(), server.password(), &[], text);
    assert!(
        out.status.success(),
        "{text}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn dump(server: &TestServer, opts: &[&str]) -> Vec<u8> {
    let out = tool::client_command("mysqldump", server.port(), server.password())
        .args(opts)
        .output()
        .expect("run mysqldump");
    assert!(
        out.status.success(),
        "mysqldump {opts:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Replay a dump through the mysql client, as `mysql < dump.sql` does.
fn restore(server: &TestServer, dump: &[u8]) {
    let cli = tool::mysql_cli().unwrap_or("mysql");
    let mut child = tool::client_command(cli, server.port(), server.password())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the mysql client");
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(dump)
        .expect("write the dump");
    let out = child.wait_with_output().expect("mysql client finishes");
    assert!(
        out.status.success(),
        "restore failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn dumps_restore_to_the_same_database() {
    if !tool::require("mysqldump", &["--version"]) || !tool::require("mysql", &["--version"]) {
        return;
    }
    let server = TestServer::start_in_memory();
    sql(&server, SETUP);
    let before = sql(&server, CHECK);
    // The trigger ran on the check's own insert (1 + 1), and BIT comes back as its value.
    assert!(before.contains("x\n2\n"), "{before}");
    assert!(before.contains("\tF\t15\t"), "{before}");

    for opts in [
        &["--databases", "shop"][..],
        &["--single-transaction", "--databases", "shop"],
        &[
            "--hex-blob",
            "--routines",
            "--triggers",
            "--databases",
            "shop",
        ],
        &["--skip-opt", "--databases", "shop"],
        &[
            "--skip-extended-insert",
            "--complete-insert",
            "--databases",
            "shop",
        ],
        &["--all-databases"],
    ] {
        let d = dump(&server, opts);
        let text = String::from_utf8_lossy(&d);
        if opts.contains(&"--hex-blob") {
            // BIT values travel as their bytes, as MySQL sends them.
            assert!(text.contains(",0x0F,"), "{opts:?}: {text}");
        }
        sql(&server, "DROP DATABASE shop");
        restore(&server, &d);
        assert_eq!(sql(&server, CHECK), before, "after a dump with {opts:?}");
    }
}

#[test]
fn dump_helpers_answer_as_mysql_does() {
    if !tool::require("mysql", &["--version"]) {
        return;
    }
    let server = TestServer::start_in_memory();
    sql(
        &server,
        "CREATE DATABASE d; CREATE TABLE d.t (a INT PRIMARY KEY)",
    );
    // DISABLE/ENABLE KEYS: accepted with InnoDB's note; an unknown table is still an error.
    let out = sql(&server, "ALTER TABLE d.t DISABLE KEYS; SHOW WARNINGS");
    assert!(
        out.contains("Note\t1031\tTable storage engine for 't' doesn't have this option"),
        "{out}"
    );
    let out = tool::mysql_batch(
        server.port(),
        server.password(),
        &[],
        "ALTER TABLE d.nope ENABLE KEYS",
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("ERROR 1146 (42S02)"));
    // SHOW CREATE DATABASE IF NOT EXISTS prints the clause back, for dumps that restore
    // over an existing database.
    let out = sql(&server, "SHOW CREATE DATABASE IF NOT EXISTS d");
    assert!(
        out.contains("CREATE DATABASE /*!32312 IF NOT EXISTS*/ `d`"),
        "{out}"
    );
    // The log tables exist (empty), as on every MySQL server.
    let out = sql(&server, "SHOW TABLES FROM mysql LIKE '%_log'");
    assert_eq!(out, "Tables_in_mysql (%_log)\ngeneral_log\nslow_log\n");
    // A leading comment does not hide the statement behind it.
    // (--comments: the client sends comments instead of stripping them.)
    let out = tool::mysql_batch(
        server.port(),
        server.password(),
        &["--comments"],
        "/* a comment */ START TRANSACTION /*!40100 WITH CONSISTENT SNAPSHOT */; COMMIT",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
