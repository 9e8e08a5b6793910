//! Many-table joins: the greedy join order plans a 15-table chain and a 15-table star
//! (a search over orders would not finish), and the answers are right — checked against
//! counts computed here from the data, and against the forced hash-join plan.

use crate::sql::joinplan::{set_join_method, JoinMethod};
use crate::{Database, QueryResult, Session, Value};

const N: usize = 15;

fn exec(s: &mut Session, sql: &str) -> QueryResult {
    s.execute(sql)
        .unwrap_or_else(|e| panic!("{sql}: {}", e.message))
}

fn scalar(s: &mut Session, sql: &str) -> Value {
    match exec(s, sql) {
        QueryResult::Rows { rows, .. } => rows[0][0].clone(),
        other => panic!("{sql}: {other:?}"),
    }
}

fn explain_rows(s: &mut Session, sql: &str) -> Vec<Vec<Value>> {
    match exec(s, &format!("EXPLAIN {sql}")) {
        QueryResult::Rows { rows, .. } => rows,
        other => panic!("{other:?}"),
    }
}

struct Reset;

impl Drop for Reset {
    fn drop(&mut self) {
        set_join_method(JoinMethod::Auto);
    }
}

fn session() -> (Database, Session) {
    let db = Database::open_in_memory().expect("db");
    let mut s = db.session();
    exec(&mut s, "CREATE DATABASE m");
    exec(&mut s, "USE m");
    (db, s)
}

#[test]
fn fifteen_table_chain() {
    let _reset = Reset;
    let (db, mut s) = session();
    // t_i.a points at t_{i-1}.id; rows (1, 1), (2, 1), (3, 2) in each table after t0.
    exec(
        &mut s,
        "CREATE TABLE t0 (id INT NOT NULL PRIMARY KEY, a INT)",
    );
    exec(&mut s, "INSERT INTO t0 VALUES (1, 0), (2, 0), (3, 0)");
    for i in 1..N {
        exec(
            &mut s,
            &format!("CREATE TABLE t{i} (id INT NOT NULL PRIMARY KEY, a INT, KEY ka (a))"),
        );
        exec(
            &mut s,
            &format!("INSERT INTO t{i} VALUES (1, 1), (2, 1), (3, 2)"),
        );
    }
    // Paths of `r` more steps from id x: 1 -> {1, 2}, 2 -> {3}, 3 -> {}.
    fn paths(x: u64, r: usize) -> u64 {
        if r == 0 {
            return 1;
        }
        match x {
            1 => paths(1, r - 1) + paths(2, r - 1),
            2 => paths(3, r - 1),
            _ => 0,
        }
    }
    let expected: u64 = (1..=3).map(|x| paths(x, N - 1)).sum();
    let mut q = String::from("SELECT COUNT(*), SUM(t14.id) FROM t0");
    for i in 1..N {
        q.push_str(&format!(" JOIN t{i} ON t{i}.a = t{}.id", i - 1));
    }
    q.push_str(" WHERE t0.id BETWEEN 1 AND 3");
    let plan = explain_rows(&mut s, &q);
    assert_eq!(plan.len(), N);
    // Driven from t0's range, its neighbour probed through the index on a (further
    // along, the estimated fan-out makes hash joins cheaper).
    assert_eq!(plan[0][2], Value::Str("t0".into()), "{plan:?}");
    assert_eq!(plan[1][4], Value::Str("ref".into()), "{plan:?}");
    assert_eq!(scalar(&mut s, &q), Value::Int(expected as i64));
    // The same with hash joins only (a fresh session: plans are cached by text).
    set_join_method(JoinMethod::Hash);
    let mut s2 = db.session();
    exec(&mut s2, "USE m");
    let hash_plan = explain_rows(&mut s2, &q);
    assert!(hash_plan.iter().all(|r| r[4] != Value::Str("ref".into())));
    assert_eq!(scalar(&mut s2, &q), Value::Int(expected as i64));
}

#[test]
fn fifteen_table_star_in_any_written_order() {
    let _reset = Reset;
    let (_db, mut s) = session();
    let dims: Vec<String> = (1..N).map(|i| format!("d{i} INT NOT NULL")).collect();
    exec(
        &mut s,
        &format!(
            "CREATE TABLE f (id INT NOT NULL PRIMARY KEY, {})",
            dims.join(", ")
        ),
    );
    // Dimension i holds ids 0..i (so fact rows whose d_i >= i find no match) with
    // value v = id * 10.
    for i in 1..N {
        exec(
            &mut s,
            &format!("CREATE TABLE d{i} (id INT NOT NULL PRIMARY KEY, v INT NOT NULL)"),
        );
        let rows: Vec<String> = (0..i).map(|id| format!("({id}, {})", id * 10)).collect();
        exec(
            &mut s,
            &format!("INSERT INTO d{i} VALUES {}", rows.join(", ")),
        );
    }
    // Fact row r has d_i = (r * i) % 5.
    let mut expected_count = 0i64;
    let mut expected_sum = 0i64;
    for r in 0..40i64 {
        let vals: Vec<i64> = (1..N as i64).map(|i| (r * i) % 5).collect();
        let cols: Vec<String> = vals.iter().map(|v| v.to_string()).collect();
        exec(
            &mut s,
            &format!("INSERT INTO f VALUES ({r}, {})", cols.join(", ")),
        );
        if vals.iter().enumerate().all(|(k, &v)| v < k as i64 + 1) {
            expected_count += 1;
            expected_sum += vals.iter().map(|v| v * 10).sum::<i64>();
        }
    }
    assert!(expected_count > 0);
    let sum_expr: Vec<String> = (1..N).map(|i| format!("d{i}.v")).collect();
    // Dimensions first in FROM: the planner must still drive from the fact table's range.
    let mut q = format!("SELECT COUNT(*), SUM({}) FROM ", sum_expr.join(" + "));
    let dims_from: Vec<String> = (1..N).rev().map(|i| format!("d{i}")).collect();
    q.push_str(&dims_from.join(", "));
    q.push_str(", f WHERE f.id BETWEEN 0 AND 39");
    for i in 1..N {
        q.push_str(&format!(" AND d{i}.id = f.d{i}"));
    }
    let plan = explain_rows(&mut s, &q);
    assert_eq!(plan.len(), N);
    assert_eq!(plan[0][2], Value::Str("f".into()), "{plan:?}");
    assert!(
        plan[1..]
            .iter()
            .all(|r| r[4] == Value::Str("eq_ref".into())),
        "{plan:?}"
    );
    match exec(&mut s, &q) {
        QueryResult::Rows { rows, .. } => {
            assert_eq!(rows[0][0], Value::Int(expected_count));
            assert_eq!(
                rows[0][1].to_i64(),
                Some(expected_sum),
                "sum of dimension values"
            );
        }
        other => panic!("{other:?}"),
    }
}
