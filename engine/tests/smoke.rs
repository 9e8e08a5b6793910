//! End-to-end statements through the embedded API.

use borealis_engine::{Database, Value};

fn rows(s: &mut borealis_engine::Session, sql: &str) -> Vec<Vec<String>> {
    let r = s.execute(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    r.rows()
        .iter()
        .map(|r| {
            r.iter()
                .map(|v| v.to_text().unwrap_or_else(|| "NULL".into()))
                .collect()
        })
        .collect()
}

#[test]
fn basic_crud() {
    let db = Database::open_in_memory().unwrap();
    let mut s = db.session();
    s.execute("CREATE DATABASE d").unwrap();
    s.execute("USE d").unwrap();
    s.execute("CREATE TABLE sbtest1(id INTEGER NOT NULL AUTO_INCREMENT, k INTEGER DEFAULT '0' NOT NULL, c CHAR(120) DEFAULT '' NOT NULL, pad CHAR(60) DEFAULT '' NOT NULL, PRIMARY KEY (id)) /*! ENGINE = innodb */ ").unwrap();
    s.execute("INSERT INTO sbtest1(k, c, pad) VALUES (5, 'a', 'b'), (7, 'c', 'd'), (5, 'e', 'f')")
        .unwrap();
    s.execute("CREATE INDEX k_1 ON sbtest1(k)").unwrap();
    assert_eq!(
        rows(&mut s, "SELECT id, c FROM sbtest1 WHERE k = 5 ORDER BY id"),
        vec![vec!["1", "a"], vec!["3", "e"]]
    );
    assert_eq!(
        rows(
            &mut s,
            "SELECT c FROM sbtest1 WHERE id BETWEEN 2 AND 3 ORDER BY c DESC"
        ),
        vec![vec!["e"], vec!["c"]]
    );
    assert_eq!(
        rows(
            &mut s,
            "SELECT SUM(k) FROM sbtest1 WHERE id BETWEEN 1 AND 3"
        ),
        vec![vec!["17"]]
    );
    s.query("UPDATE sbtest1 SET k=k+1 WHERE id=?", &[Value::Int(2)])
        .unwrap();
    assert_eq!(
        rows(&mut s, "SELECT k FROM sbtest1 WHERE id=2"),
        vec![vec!["8"]]
    );
    s.execute("DELETE FROM sbtest1 WHERE id=1").unwrap();
    let r = s
        .execute("INSERT INTO sbtest1 (id, k, c, pad) VALUES (0, 1, 'x', 'y')")
        .unwrap();
    assert!(
        matches!(
            r,
            borealis_engine::QueryResult::Ok {
                last_insert_id: 4,
                ..
            }
        ),
        "{r:?}"
    );
    assert_eq!(
        rows(&mut s, "SELECT COUNT(*) FROM sbtest1"),
        vec![vec!["3"]]
    );
    let e = s
        .execute("INSERT INTO sbtest1 (id, k) VALUES (2, 1)")
        .unwrap_err();
    assert_eq!(e.code, 1062, "{e}");
    assert_eq!(
        rows(
            &mut s,
            "SELECT DISTINCT k FROM sbtest1 WHERE id BETWEEN 1 AND 10 ORDER BY k"
        ),
        vec![vec!["1"], vec!["5"], vec!["8"]]
    );
    assert_eq!(rows(&mut s, "select @@version_comment limit 1").len(), 1);
    assert_eq!(
        rows(&mut s, "SELECT 1 AS one, 'x' AS s"),
        vec![vec!["1", "x"]]
    );
    assert_eq!(rows(&mut s, "show tables"), vec![vec!["sbtest1"]]);
}

#[test]
fn transactions_are_isolated() {
    let db = Database::open_in_memory().unwrap();
    let mut a = db.session();
    a.execute("CREATE DATABASE d; USE d; CREATE TABLE t (id INT PRIMARY KEY, v INT)")
        .unwrap();
    a.execute("INSERT INTO t VALUES (1, 10)").unwrap();
    let mut b = db.session();
    b.execute("USE d").unwrap();
    b.execute("BEGIN").unwrap();
    assert_eq!(rows(&mut b, "SELECT v FROM t"), vec![vec!["10"]]);
    a.execute("UPDATE t SET v = 20 WHERE id = 1").unwrap();
    assert_eq!(
        rows(&mut b, "SELECT v FROM t"),
        vec![vec!["10"]],
        "repeatable read"
    );
    b.execute("COMMIT").unwrap();
    assert_eq!(rows(&mut b, "SELECT v FROM t"), vec![vec!["20"]]);
    a.execute("BEGIN").unwrap();
    a.execute("INSERT INTO t VALUES (2, 1)").unwrap();
    assert_eq!(
        rows(&mut b, "SELECT COUNT(*) FROM t"),
        vec![vec!["1"]],
        "no dirty read"
    );
    a.execute("ROLLBACK").unwrap();
    assert_eq!(rows(&mut a, "SELECT COUNT(*) FROM t"), vec![vec!["1"]]);
}

#[test]
fn data_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Database::open(dir.path()).unwrap();
        let mut s = db.session();
        s.execute(
            "CREATE DATABASE d; USE d; CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10), KEY (v))",
        )
        .unwrap();
        for i in 0..200 {
            s.query(
                "INSERT INTO t VALUES (?, ?)",
                &[Value::Int(i), Value::from(format!("v{i}"))],
            )
            .unwrap();
        }
    }
    let db = Database::open(dir.path()).unwrap();
    let mut s = db.session();
    s.execute("USE d").unwrap();
    assert_eq!(rows(&mut s, "SELECT COUNT(*) FROM t"), vec![vec!["200"]]);
    assert_eq!(
        rows(&mut s, "SELECT id FROM t WHERE v = 'V77'"),
        vec![vec!["77"]]
    );
}

#[test]
fn column_names_are_the_select_text() {
    let db = Database::open_in_memory().unwrap();
    let mut s = db.session();
    let r = s
        .execute("SELECT DATABASE(), 1+1, COUNT(*) AS n, 'x', @@version_comment")
        .unwrap();
    let names: Vec<&str> = r.columns().iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        vec!["DATABASE()", "1+1", "n", "x", "@@version_comment"]
    );
}

#[test]
fn consistent_snapshot_starts_at_begin() {
    let db = Database::open_in_memory().unwrap();
    let mut a = db.session();
    a.execute("CREATE DATABASE d; USE d; CREATE TABLE t (id INT PRIMARY KEY)")
        .unwrap();
    let mut b = db.session();
    b.execute("USE d").unwrap();
    b.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT")
        .unwrap();
    a.execute("INSERT INTO t VALUES (1)").unwrap();
    // The snapshot was taken at START TRANSACTION, before the insert.
    assert_eq!(rows(&mut b, "SELECT COUNT(*) FROM t"), vec![vec!["0"]]);
    b.execute("COMMIT").unwrap();
    assert_eq!(rows(&mut b, "SELECT COUNT(*) FROM t"), vec![vec!["1"]]);
}

#[test]
fn huge_sums_do_not_panic() {
    let db = Database::open_in_memory().unwrap();
    let mut s = db.session();
    s.execute("CREATE DATABASE d; USE d; CREATE TABLE t (v DECIMAL(65,0))")
        .unwrap();
    s.execute(
        "INSERT INTO t VALUES (79228162514264337593543950335), (79228162514264337593543950335)",
    )
    .unwrap();
    let r = s
        .execute("SELECT SUM(v) > 1e28, AVG(v) > 1e28 FROM t")
        .unwrap();
    assert_eq!(r.rows()[0], vec![Value::Int(1), Value::Int(1)]);
}

#[test]
fn show_where_filters_rows() {
    let db = Database::open_in_memory().unwrap();
    let mut s = db.session();
    let r = s.execute("SHOW VARIABLES WHERE Variable_name IN ('autocommit', 'version_comment') AND Value <> ''").unwrap();
    let names: Vec<String> = r.rows().iter().map(|r| r[0].to_text().unwrap()).collect();
    assert_eq!(names, vec!["autocommit", "version_comment"]);
    let e = s
        .execute("SHOW VARIABLES WHERE no_such_column = 1")
        .unwrap_err();
    assert_eq!(e.code, 1054);
}

#[test]
fn decimal_quotients_keep_full_precision_inside_expressions() {
    let db = Database::open_in_memory().unwrap();
    let mut s = db.session();
    s.execute("CREATE DATABASE d; USE d; CREATE TABLE t (d DECIMAL(10,4) PRIMARY KEY, i INT)")
        .unwrap();
    s.execute("INSERT INTO t VALUES (0.3333, 96), (0.5000, 51)")
        .unwrap();
    // Shown at 4 decimals, compared at MySQL's 9-digit precision.
    assert_eq!(
        rows(&mut s, "SELECT 1/3, 1/3*3, 96/51*51, 96/51*51 > 96"),
        vec![vec!["0.3333", "1.0000", "96.0000", "0"]]
    );
    // Key lookups and ranges agree with the comparison.
    assert!(rows(&mut s, "SELECT d FROM t WHERE d = 1/3").is_empty());
    assert_eq!(
        rows(&mut s, "SELECT d FROM t WHERE d < 1/3"),
        vec![vec!["0.3333"]]
    );
    assert_eq!(
        rows(&mut s, "SELECT i FROM t WHERE i / 51 * 51 > 96"),
        Vec::<Vec<String>>::new()
    );
}

#[test]
fn questions_count_text_and_prepared_statements() {
    let db = Database::open_in_memory().unwrap();
    let mut s = db.session();
    let questions = |s: &mut borealis_engine::Session| -> i64 {
        rows(s, "SHOW GLOBAL STATUS LIKE 'Questions'")[0][1]
            .parse()
            .unwrap()
    };
    let before = questions(&mut s);
    let p = s.prepare("SELECT ?").unwrap();
    s.execute_prepared(&p, &[Value::Int(1)]).unwrap();
    s.execute_prepared(&p, &[Value::Int(2)]).unwrap();
    s.execute("SELECT 1").unwrap();
    // Two executes, one text statement, and the SHOW itself; the prepare is not counted.
    assert_eq!(questions(&mut s), before + 4);
}

/// SET GLOBAL changes the default of sessions that start later, not the session that ran
/// it (MySQL's scopes): a client that turns global autocommit off keeps committing its
/// own statements. Variables with no session scope are read from the global value, and
/// setting one per session is refused with ER_GLOBAL_VARIABLE.
#[test]
fn global_and_session_variable_scopes() {
    let db = Database::open_in_memory().unwrap();
    let mut a = db.session();
    a.execute("CREATE DATABASE d").unwrap();
    a.execute("CREATE TABLE d.t (id INT PRIMARY KEY)").unwrap();
    a.execute("SET GLOBAL autocommit = 0").unwrap();
    a.execute("SET GLOBAL sql_mode = ''").unwrap();
    a.execute("SET GLOBAL transaction_isolation = 'READ-COMMITTED'")
        .unwrap();
    assert_eq!(
        rows(
            &mut a,
            "SELECT @@autocommit, @@global.autocommit, @@sql_mode = '', @@global.sql_mode, \
             @@transaction_isolation"
        ),
        vec![vec!["1", "0", "0", "", "REPEATABLE-READ"]]
    );
    // Still autocommit: the row is visible to another session without a COMMIT.
    a.execute("INSERT INTO d.t VALUES (1)").unwrap();
    let mut b = db.session();
    assert_eq!(rows(&mut b, "SELECT COUNT(*) FROM d.t"), vec![vec!["1"]]);
    // A session started after SET GLOBAL takes the new defaults.
    assert_eq!(
        rows(
            &mut b,
            "SELECT @@autocommit, @@sql_mode, @@transaction_isolation, @@tx_isolation"
        ),
        vec![vec!["0", "", "READ-COMMITTED", "READ-COMMITTED"]]
    );
    b.execute("INSERT INTO d.t VALUES (2)").unwrap();
    assert_eq!(
        rows(&mut a, "SELECT COUNT(*) FROM d.t"),
        vec![vec!["1"]],
        "b's insert waits for its COMMIT"
    );
    b.execute("COMMIT").unwrap();
    assert_eq!(rows(&mut a, "SELECT COUNT(*) FROM d.t"), vec![vec!["2"]]);

    // Global-only: every session sees SET GLOBAL at once; SET SESSION is an error.
    a.execute("SET GLOBAL max_connections = 200").unwrap();
    assert_eq!(rows(&mut b, "SELECT @@max_connections"), vec![vec!["200"]]);
    assert_eq!(
        rows(&mut b, "SHOW VARIABLES LIKE 'max_connections'"),
        vec![vec!["max_connections", "200"]]
    );
    let e = b.execute("SET max_connections = 10").unwrap_err();
    assert_eq!(e.code, 1229, "{}", e.message);
    let e = b.execute("SET SESSION max_connections = 10").unwrap_err();
    assert_eq!(e.code, 1229);
}

#[test]
fn index_changes_keep_the_rows_and_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Database::open(dir.path()).unwrap();
        let mut s = db.session();
        // No primary key: rows live under hidden row ids, which an index change must
        // keep (the indexes point at them).
        s.execute("CREATE DATABASE d; USE d; CREATE TABLE t (a INT, b VARCHAR(10), KEY ka (a))")
            .unwrap();
        for i in 0..300 {
            s.query(
                "INSERT INTO t VALUES (?, ?)",
                &[Value::Int(i % 100), Value::from(format!("b{}", i % 150))],
            )
            .unwrap();
        }
        s.execute("DELETE FROM t WHERE a = 7").unwrap();
        // A unique index over duplicates is refused and changes nothing.
        let e = s.execute("CREATE UNIQUE INDEX ub ON t (b)").unwrap_err();
        assert_eq!(e.code, 1062, "{e}");
        assert!(e.message.contains("for key 't.ub'"), "{e}");
        assert_eq!(rows(&mut s, "SHOW INDEX FROM t").len(), 1);
        s.execute("CREATE INDEX kb ON t (b)").unwrap();
        // (a, b) pairs are all distinct: a unique index is built, then enforced.
        s.execute("CREATE UNIQUE INDEX uab ON t (a, b)").unwrap();
        let e = s.execute("INSERT INTO t VALUES (5, 'b5')").unwrap_err();
        assert_eq!(e.code, 1062, "{e}");
        s.execute("DROP INDEX ka ON t").unwrap();
        // Writes after the change maintain the new index.
        s.execute("INSERT INTO t VALUES (1000, 'b5')").unwrap();
    }
    let db = Database::open(dir.path()).unwrap();
    let mut s = db.session();
    s.execute("USE d").unwrap();
    assert_eq!(rows(&mut s, "SELECT COUNT(*) FROM t"), vec![vec!["298"]]);
    let mut names: Vec<String> = rows(&mut s, "SHOW INDEX FROM t")
        .into_iter()
        .map(|r| r[2].clone())
        .collect();
    names.dedup();
    assert_eq!(names, vec!["kb", "uab"]);
    assert_eq!(
        rows(
            &mut s,
            "SELECT b FROM t FORCE INDEX (uab) WHERE a = 55 ORDER BY b"
        ),
        vec![vec!["b105"], vec!["b5"], vec!["b55"]]
    );
    // Through the new index (b5 is rows 5 and 155, plus the one inserted after).
    assert_eq!(
        rows(
            &mut s,
            "SELECT a FROM t FORCE INDEX (kb) WHERE b = 'b5' ORDER BY a"
        ),
        vec![vec!["5"], vec!["55"], vec!["1000"]]
    );
    assert_eq!(
        rows(
            &mut s,
            "SELECT COUNT(*) FROM t FORCE INDEX (kb) WHERE b >= 'b1'"
        ),
        rows(
            &mut s,
            "SELECT COUNT(*) FROM t IGNORE INDEX (kb) WHERE b >= 'b1'"
        )
    );
}
