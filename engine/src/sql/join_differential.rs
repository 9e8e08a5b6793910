//! Randomized differential test of the join methods: random small tables with primary,
//! secondary (composite, unique) indexes, NULLs and case/space-variant strings, random
//! INNER/LEFT join queries; every query must return the same multiset of rows when the
//! planner is forced to hash joins, forced to index nested loops, and left to choose.
//! Seeded (`BOREALIS_TEST_SEED` to replay); the seed is printed.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::sql::joinplan::{set_join_method, JoinMethod};
use crate::{Database, QueryResult, Session};

const TABLES: usize = 4;

fn exec(s: &mut Session, sql: &str) -> QueryResult {
    s.execute(sql)
        .unwrap_or_else(|e| panic!("{sql}: {}", e.message))
}

fn rows_sorted(s: &mut Session, sql: &str) -> Vec<String> {
    match exec(s, sql) {
        QueryResult::Rows { rows, .. } => {
            let mut v: Vec<String> = rows.iter().map(|r| format!("{r:?}")).collect();
            v.sort();
            v
        }
        other => panic!("{sql}: not rows: {other:?}"),
    }
}

fn explain_text(s: &mut Session, sql: &str) -> String {
    match exec(s, &format!("EXPLAIN {sql}")) {
        QueryResult::Rows { rows, .. } => format!("{rows:?}"),
        other => panic!("EXPLAIN {sql}: {other:?}"),
    }
}

fn setup(s: &mut Session, rng: &mut StdRng) {
    exec(s, "CREATE DATABASE d");
    exec(s, "USE d");
    let strs = ["'x'", "'X'", "'x '", "'y'", "NULL"];
    for t in 0..TABLES {
        exec(
            s,
            &format!(
                "CREATE TABLE t{t} (id INT NOT NULL PRIMARY KEY, a INT NULL, b INT NOT NULL, \
                 s VARCHAR(5) NULL, KEY ka (a), KEY kab (a, b), UNIQUE KEY ub (b), KEY ks (s))"
            ),
        );
        let n = rng.gen_range(0..14);
        let mut bs: Vec<i64> = (0..20).collect();
        for i in (1..bs.len()).rev() {
            bs.swap(i, rng.gen_range(0..=i));
        }
        for id in 0..n {
            let a = if rng.gen_bool(0.2) {
                "NULL".to_string()
            } else {
                rng.gen_range(0..6).to_string()
            };
            let sv = strs[rng.gen_range(0..strs.len())];
            exec(
                s,
                &format!(
                    "INSERT INTO t{t} VALUES ({}, {a}, {}, {sv})",
                    id * 2 + rng.gen_range(0..2),
                    bs[id as usize]
                ),
            );
        }
    }
}

/// A random join query over 2..=4 tables.
fn query(rng: &mut StdRng) -> String {
    let n = rng.gen_range(2..=TABLES);
    let cols = ["id", "a", "b"];
    let mut sql = String::from("SELECT * FROM t0");
    for i in 1..n {
        let kind = if rng.gen_bool(0.35) {
            "LEFT JOIN"
        } else {
            "JOIN"
        };
        let prev = rng.gen_range(0..i);
        let on = if rng.gen_bool(0.2) {
            format!("t{prev}.s = t{i}.s")
        } else {
            let mut c = format!(
                "t{i}.{} = t{prev}.{}",
                cols[rng.gen_range(0..3)],
                cols[rng.gen_range(0..3)]
            );
            if rng.gen_bool(0.3) {
                c.push_str(&format!(" AND t{i}.b = t{prev}.b"));
            }
            c
        };
        let extra = match rng.gen_range(0..4) {
            0 => format!(" AND t{i}.b > {}", rng.gen_range(0..15)),
            1 => format!(" AND t{i}.a = {}", rng.gen_range(0..6)),
            _ => String::new(),
        };
        sql.push_str(&format!(" {kind} t{i} ON {on}{extra}"));
    }
    match rng.gen_range(0..4) {
        0 => sql.push_str(&format!(
            " WHERE t0.id BETWEEN 1 AND {}",
            rng.gen_range(2..20)
        )),
        1 => sql.push_str(&format!(" WHERE t0.a = {}", rng.gen_range(0..6))),
        2 => sql.push_str(" WHERE t0.id IN (1, 2, 3, 8)"),
        _ => {}
    }
    sql
}

/// Restores the planner's default when the test ends (even by a panic).
struct Reset;

impl Drop for Reset {
    fn drop(&mut self) {
        set_join_method(JoinMethod::Auto);
    }
}

#[test]
fn index_nested_loop_matches_hash_join() {
    let seed: u64 = std::env::var("BOREALIS_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        });
    println!("join differential seed: {seed} (BOREALIS_TEST_SEED={seed} to replay)");
    let mut rng = StdRng::seed_from_u64(seed);
    let _reset = Reset;
    let mut index_joins = 0;
    for _round in 0..3 {
        let db = Database::open_in_memory().expect("in-memory database");
        let mut s = db.session();
        setup(&mut s, &mut rng);
        // One session per method: a session caches plans by statement text.
        let mut s_inl = db.session();
        let mut s_auto = db.session();
        exec(&mut s_inl, "USE d");
        exec(&mut s_auto, "USE d");
        for _ in 0..40 {
            let q = query(&mut rng);
            set_join_method(JoinMethod::Hash);
            let hash = rows_sorted(&mut s, &q);
            assert!(
                !explain_text(&mut s, &q).contains("eq_ref"),
                "hash forced: {q}"
            );
            set_join_method(JoinMethod::IndexNestedLoop);
            let inl = rows_sorted(&mut s_inl, &q);
            let plan = explain_text(&mut s_inl, &q);
            if plan.contains("d.t") {
                index_joins += 1;
            }
            set_join_method(JoinMethod::Auto);
            let auto = rows_sorted(&mut s_auto, &q);
            assert_eq!(hash, inl, "seed {seed}: index NL differs: {q}\n{plan}");
            assert_eq!(hash, auto, "seed {seed}: auto plan differs: {q}");
        }
    }
    // Most queries have an indexed equality: the forced runs must really probe indexes.
    assert!(
        index_joins > 20,
        "seed {seed}: only {index_joins} index joins"
    );
}
