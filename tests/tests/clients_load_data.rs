//! LOAD DATA [LOCAL] INFILE from real clients against a real server: the mysql CLI with
//! `--local-infile=1` (and `=0`: error 4166, the session goes on), `mysqlimport --local`,
//! `mysqlimport` of a server-side file under secure_file_priv (1290 outside it), and
//! PyMySQL with `local_infile=True`
//! (tests/clients/pymysql_load_data.py).

use std::path::PathBuf;

use borealis_server::TestServer;
use borealis_tests::tool;

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("borealis-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("create a scratch directory");
    d
}

fn cli(server_port: u16, password: &str, extra: &[&str], sql: &str) -> (bool, String, String) {
    let out = tool::mysql_batch(server_port, password, extra, sql);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn mysql_cli_local_infile() {
    if !tool::require("mysql", &["--version"]) {
        return;
    }
    let dir = scratch("ld-cli");
    let file = dir.join("items.txt");
    std::fs::write(&file, "1\tapple\t1.50\n2\tpear\t\\N\n3\t\"plum\"\t2\n").unwrap();
    let server = TestServer::start_in_memory();
    let (port, pw) = (server.port(), server.password().to_string());
    let (ok, _, err) = cli(
        port,
        &pw,
        &[],
        "CREATE DATABASE shop; CREATE TABLE shop.items (id INT PRIMARY KEY, name VARCHAR(20), price DECIMAL(6,2))",
    );
    assert!(ok, "{err}");
    let load = format!(
        "LOAD DATA LOCAL INFILE '{}' INTO TABLE items",
        file.display()
    );
    // -vvv prints the OK packet's info line as MySQL's client shows it.
    let (ok, out, err) = cli(port, &pw, &["--local-infile=1", "-vvv", "shop"], &load);
    assert!(ok, "{err}");
    assert!(
        out.contains("Query OK, 3 rows affected")
            && out.contains("Records: 3  Deleted: 0  Skipped: 0  Warnings: 0"),
        "{out}"
    );
    let (ok, out, err) = cli(
        port,
        &pw,
        &["shop"],
        "SELECT id, name, price FROM items ORDER BY id",
    );
    assert!(ok, "{err}");
    assert!(out.contains("2\tpear\tNULL"), "{out}");
    assert!(out.contains("3\t\"plum\"\t2.00"), "{out}");

    // Without local infile the server answers 4166 (the mysql CLI then stops its batch even
    // with --force; that the connection goes on is checked with PyMySQL).
    let (ok, out, err) = cli(
        port,
        &pw,
        &["--local-infile=0", "--force", "shop"],
        &format!(
            "LOAD DATA LOCAL INFILE '{}' INTO TABLE items; SELECT COUNT(*) AS n FROM items",
            file.display()
        ),
    );
    assert!(!ok);
    assert!(err.contains("ERROR 4166 (HY000)"), "{err}");
    assert!(!out.contains("n\n0"), "{out}");

    // A file the client cannot open: the client reports it; the connection goes on.
    let (ok, out, err) = cli(
        port,
        &pw,
        &["--local-infile=1", "--force", "shop"],
        &format!(
            "LOAD DATA LOCAL INFILE '{}/missing.txt' INTO TABLE items; SELECT COUNT(*) AS n FROM items",
            dir.display()
        ),
    );
    assert!(!ok);
    assert!(err.contains("missing.txt"), "{err}");
    assert!(!out.contains("n\n0"), "{out}");
    let (ok, out, err) = cli(port, &pw, &["shop"], "SELECT COUNT(*) AS n FROM items");
    assert!(ok, "{err}");
    assert_eq!(out, "n\n3\n");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn mysqlimport_and_secure_file_priv() {
    if !tool::require("mysql", &["--version"]) || !tool::require("mysqlimport", &["--version"]) {
        return;
    }
    let dir = scratch("ld-import");
    let files = dir.join("files");
    std::fs::create_dir_all(&files).unwrap();
    // mysqlimport names the table after the file.
    std::fs::write(
        files.join("fruit.csv"),
        "id,name\n1,\"apple, red\"\n2,pear\n",
    )
    .unwrap();
    let server = TestServer::start_in_memory();
    server
        .database()
        .expect("an engine behind the test server")
        .set_secure_file_priv(Some(files.canonicalize().unwrap()));
    let (port, pw) = (server.port(), server.password().to_string());
    let (ok, _, err) = cli(
        port,
        &pw,
        &[],
        "CREATE DATABASE d; CREATE TABLE d.fruit (id INT PRIMARY KEY, name VARCHAR(20))",
    );
    assert!(ok, "{err}");
    // mysqlimport of fruit.csv (a header line, CSV quoting) with `mode`; its report line.
    let import = |mode: &str| {
        let out = tool::client_command("mysqlimport", port, &pw)
            .args([
                mode,
                "--fields-terminated-by=,",
                "--fields-optionally-enclosed-by=\"",
            ])
            .args(["--ignore-lines=1", "d"])
            .arg(files.join("fruit.csv"))
            .output()
            .expect("run mysqlimport");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    };
    let stdout = import("--local");
    assert!(
        stdout.contains("d.fruit: Records: 2  Deleted: 0  Skipped: 0  Warnings: 0"),
        "{stdout}"
    );
    // Without --local the server reads the file itself: allowed under --secure-file-priv.
    let stdout = import("--replace");
    assert!(
        stdout.contains("d.fruit: Records: 2  Deleted: 2  Skipped: 0  Warnings: 0"),
        "{stdout}"
    );
    let (ok, out, err) = cli(
        port,
        &pw,
        &["--force", "d"],
        "SELECT name FROM fruit ORDER BY id; SELECT @@secure_file_priv IS NOT NULL AS set_; \
         LOAD DATA INFILE '/etc/hostname' INTO TABLE fruit",
    );
    assert!(!ok);
    assert_eq!(out, "name\napple, red\npear\nset_\n1\n", "{err}");
    assert!(
        err.contains("ERROR 1290 (HY000)") && err.contains("--secure-file-priv"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn pymysql_local_infile() {
    if !tool::require_pymysql() {
        return;
    }
    let server = TestServer::start_in_memory();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/clients/pymysql_load_data.py");
    tool::run_client_script(
        "python3",
        &[script],
        server.port(),
        server.password(),
        "pymysql load data: all checks passed",
    );
}
