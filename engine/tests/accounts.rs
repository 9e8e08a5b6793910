//! Accounts given by stored hash (what dumps of MySQL accounts contain): how they are
//! stored and shown (mysql.user, SHOW CREATE USER in MySQL 8's form), and the errors for
//! hashes and plugins Borealis cannot take, none of which may leave an account behind.

use borealis_engine::{Database, Session};

/// SHA1(SHA1('password')), as MySQL shows it.
const PASSWORD_HASH: &str = "*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19";

fn root_session() -> (Database, Session) {
    let db = Database::open_in_memory().unwrap();
    db.bootstrap_root("rootpw").unwrap();
    let s = db.session();
    (db, s)
}

fn rows(s: &mut Session, sql: &str) -> Vec<Vec<String>> {
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

fn code(s: &mut Session, sql: &str) -> u16 {
    s.execute(sql).map(|_| ()).unwrap_err().code
}

#[test]
fn native_hash_accounts_are_stored_and_shown() {
    let (_db, mut s) = root_session();
    s.execute(&format!(
        "CREATE USER u1 IDENTIFIED WITH mysql_native_password AS '{PASSWORD_HASH}'"
    ))
    .unwrap();
    assert_eq!(
        rows(
            &mut s,
            "SELECT plugin, authentication_string FROM mysql.user WHERE user = 'u1'"
        ),
        vec![vec!["mysql_native_password", PASSWORD_HASH]]
    );
    assert_eq!(
        rows(&mut s, "SHOW CREATE USER u1"),
        vec![vec![format!(
            "CREATE USER `u1`@`%` IDENTIFIED WITH 'mysql_native_password' AS '{PASSWORD_HASH}' \
             REQUIRE NONE PASSWORD EXPIRE DEFAULT ACCOUNT UNLOCK PASSWORD HISTORY DEFAULT \
             PASSWORD REUSE INTERVAL DEFAULT PASSWORD REQUIRE CURRENT DEFAULT"
        )]]
    );
    // The statement SHOW CREATE USER gives recreates the account.
    let again = rows(&mut s, "SHOW CREATE USER u1")[0][0].replace("`u1`", "`u1copy`");
    s.execute(&again).unwrap();
    assert_eq!(
        rows(
            &mut s,
            "SELECT authentication_string FROM mysql.user WHERE user = 'u1copy'"
        ),
        vec![vec![PASSWORD_HASH]]
    );

    // The old form, lower-case hex.
    s.execute(&format!(
        "CREATE USER 'u2'@'localhost' IDENTIFIED BY PASSWORD '{}'",
        PASSWORD_HASH.to_lowercase()
    ))
    .unwrap();
    assert_eq!(
        rows(
            &mut s,
            "SELECT host, authentication_string FROM mysql.user WHERE user = 'u2'"
        ),
        vec![vec!["localhost", PASSWORD_HASH]]
    );

    // A new password replaces the hash: SHA1(SHA1('secret')).
    s.execute("ALTER USER u1 IDENTIFIED BY 'secret'").unwrap();
    assert_eq!(
        rows(
            &mut s,
            "SELECT authentication_string FROM mysql.user WHERE user = 'u1'"
        ),
        vec![vec!["*14E65567ABDB5135D0CFD9A70B3032C179A49EE7"]]
    );
    // An empty hash is no password.
    s.execute("CREATE USER u4 IDENTIFIED WITH mysql_native_password AS ''")
        .unwrap();
    assert_eq!(
        rows(
            &mut s,
            "SELECT authentication_string FROM mysql.user WHERE user = 'u4'"
        ),
        vec![vec![""]]
    );
}

#[test]
fn unusable_hashes_and_plugins_are_refused() {
    let (_db, mut s) = root_session();
    let no_star = &PASSWORD_HASH[1..];
    assert_eq!(
        code(
            &mut s,
            &format!("CREATE USER u3 IDENTIFIED WITH mysql_native_password AS '{no_star}'")
        ),
        1827
    );
    assert_eq!(
        code(
            &mut s,
            "CREATE USER u3 IDENTIFIED WITH mysql_native_password AS '*2470C0C06DEE42FD1618BB99005ADCA2EC9D1EZZ'"
        ),
        1827
    );
    assert_eq!(
        code(&mut s, "CREATE USER u3 IDENTIFIED BY PASSWORD 'x'"),
        1827
    );
    assert_eq!(
        code(&mut s, "CREATE USER u3 IDENTIFIED WITH auth_socket"),
        1524
    );
    assert_eq!(
        code(
            &mut s,
            "CREATE USER u3 IDENTIFIED WITH caching_sha2_password AS \
             '$A$005$0123456789abcdefghijABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopq'"
        ),
        1235
    );
    s.execute("CREATE USER u5 IDENTIFIED BY 'pw'").unwrap();
    assert_eq!(code(&mut s, "ALTER USER u5 IDENTIFIED AS '*00'"), 1827);
    // None of the refused statements created or changed an account.
    assert_eq!(
        rows(&mut s, "SELECT COUNT(*) FROM mysql.user WHERE user = 'u3'"),
        vec![vec!["0"]]
    );
    assert_eq!(
        rows(
            &mut s,
            "SELECT authentication_string FROM mysql.user WHERE user = 'u5'"
        ),
        vec![vec![
            // SHA1(SHA1('pw'))
            "*D821809F681A40A6E379B50D0463EFAE20BDD122"
        ]]
    );
}

/// A session remembers which statement texts passed their privilege check; a REVOKE, a
/// GRANT or a change of current database must still decide the next execution of the
/// same prepared statement (and of the same text).
#[test]
fn privilege_changes_apply_to_already_checked_statements() {
    use borealis_engine::{SessionInfo, Value};
    let (db, mut root) = root_session();
    root.execute("CREATE DATABASE d1").unwrap();
    root.execute("CREATE DATABASE d2").unwrap();
    root.execute("CREATE TABLE d1.t (id INT PRIMARY KEY)")
        .unwrap();
    root.execute("CREATE TABLE d2.t (id INT PRIMARY KEY)")
        .unwrap();
    root.execute("INSERT INTO d1.t VALUES (1)").unwrap();
    root.execute("CREATE USER u IDENTIFIED BY 'pw'").unwrap();
    root.execute("GRANT SELECT ON d1.* TO u").unwrap();
    root.execute("GRANT SELECT ON d2.* TO u").unwrap();
    let mut u = db.session_with(SessionInfo {
        user: "u".into(),
        host: "localhost".into(),
        database: Some("d1".into()),
        ..SessionInfo::default()
    });
    let ps = u.prepare("SELECT id FROM t WHERE id = ?").unwrap();
    for _ in 0..2 {
        assert_eq!(
            u.execute_prepared(&ps, &[Value::Int(1)])
                .unwrap()
                .rows()
                .len(),
            1
        );
        assert_eq!(rows(&mut u, "SELECT id FROM t").len(), 1);
    }
    root.execute("REVOKE SELECT ON d1.* FROM u").unwrap();
    assert_eq!(
        u.execute_prepared(&ps, &[Value::Int(1)]).unwrap_err().code,
        1142
    );
    assert_eq!(code(&mut u, "SELECT id FROM t"), 1142);
    // The same text in another database is another table, with its own grant.
    u.execute("USE d2").unwrap();
    assert_eq!(
        u.execute_prepared(&ps, &[Value::Int(1)])
            .unwrap()
            .rows()
            .len(),
        0
    );
    root.execute("REVOKE SELECT ON d2.* FROM u").unwrap();
    assert_eq!(
        u.execute_prepared(&ps, &[Value::Int(1)]).unwrap_err().code,
        1142
    );
    root.execute("GRANT SELECT ON d2.t TO u").unwrap();
    assert_eq!(
        u.execute_prepared(&ps, &[Value::Int(1)])
            .unwrap()
            .rows()
            .len(),
        0
    );
}
