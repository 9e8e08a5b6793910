//! Randomized differential test of collations: for each supported collation, random
//! strings differing in case, accents and trailing spaces go into a table with an index
//! on the column and into a twin without one; equality and range lookups (index vs full
//! scan), ORDER BY, GROUP BY, DISTINCT and MIN/MAX must agree with each other and with a
//! model of the collation written from its definition (fold case when case-insensitive,
//! drop trailing spaces when PAD SPACE, then compare bytes), and a UNIQUE index must
//! reject exactly the values the model calls equal to one already there; a join on the
//! column gives the model's pairs as a hash join and as index nested loops.
//! Seeded (`BOREALIS_SEED`, or `BOREALIS_TEST_SEED`, to replay); the seed is printed.

use std::cmp::Ordering;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::sql::joinplan::{set_join_method, JoinMethod};
use crate::{Database, QueryResult, Session, Value};

/// (name, case-insensitive, PAD SPACE)
const COLLATIONS: [(&str, bool, bool); 4] = [
    ("utf8mb4_0900_ai_ci", true, false),
    ("utf8mb4_general_ci", true, true),
    ("utf8mb4_bin", false, true),
    ("utf8mb4_0900_bin", false, false),
];

fn exec(s: &mut Session, sql: &str) -> QueryResult {
    s.execute(sql)
        .unwrap_or_else(|e| panic!("{sql}: {}", e.message))
}

fn rows(s: &mut Session, sql: &str) -> Vec<Vec<Value>> {
    match exec(s, sql) {
        QueryResult::Rows { rows, .. } => rows,
        other => panic!("{sql}: not rows: {other:?}"),
    }
}

fn ids(s: &mut Session, sql: &str) -> Vec<i64> {
    rows(s, sql)
        .iter()
        .map(|r| r[0].to_i64().expect("id"))
        .collect()
}

/// The model: the weight a collation compares by.
fn weight(s: &str, ci: bool, pad: bool) -> Vec<u8> {
    let s = if pad { s.trim_end_matches(' ') } else { s };
    if ci {
        // Case- and accent-insensitive: é and É are e (the alphabet's only accents).
        s.chars()
            .flat_map(char::to_lowercase)
            .map(|c| if c == '\u{e9}' { 'e' } else { c })
            .collect::<String>()
            .into_bytes()
    } else {
        s.as_bytes().to_vec()
    }
}

fn random_string(rng: &mut StdRng) -> String {
    const ALPHABET: [char; 9] = ['a', 'A', 'b', 'B', ' ', 'z', 'e', '\u{e9}', '\u{c9}'];
    let len = rng.gen_range(0..4);
    let mut s: String = (0..len)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())])
        .collect();
    if rng.gen_bool(0.3) {
        s.push_str(&" ".repeat(rng.gen_range(1..3)));
    }
    s
}

fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

#[test]
fn index_scan_sort_and_grouping_agree_per_collation() {
    let seed = crate::test_sql::seed("collation differential");
    let mut rng = StdRng::seed_from_u64(seed);
    let db = Database::open_in_memory().expect("in-memory database");
    let mut s = db.session();
    exec(&mut s, "CREATE DATABASE d");
    exec(&mut s, "USE d");
    for (ci_no, &(name, ci, pad)) in COLLATIONS.iter().enumerate() {
        let w = |x: &str| weight(x, ci, pad);
        let (ix, sc, un) = (
            format!("i{ci_no}"),
            format!("s{ci_no}"),
            format!("u{ci_no}"),
        );
        for (t, key) in [
            (&ix, ", KEY ks (v)"),
            (&sc, ""),
            (&un, ", UNIQUE KEY uv (v)"),
        ] {
            exec(
                &mut s,
                &format!("CREATE TABLE {t} (id INT PRIMARY KEY, v VARCHAR(8) COLLATE {name}{key})"),
            );
        }
        let n = rng.gen_range(10..40);
        let mut data: Vec<(i64, String)> = Vec::new();
        let mut unique: Vec<String> = Vec::new();
        for id in 0..n {
            let v = random_string(&mut rng);
            for t in [&ix, &sc] {
                exec(
                    &mut s,
                    &format!("INSERT INTO {t} VALUES ({id}, {})", lit(&v)),
                );
            }
            data.push((id, v.clone()));
            // The unique index rejects exactly the values equal to one already there.
            let dup = unique.iter().any(|u| w(u) == w(&v));
            let r = s.execute(&format!("INSERT INTO {un} VALUES ({id}, {})", lit(&v)));
            match (&r, dup) {
                (Ok(_), false) => unique.push(v.clone()),
                (Err(e), true) if e.code == 1062 => {}
                _ => panic!(
                    "seed {seed} {name}: unique insert of {v:?} (duplicate by the model: {dup}) gave {:?}",
                    r.map(|_| ()).map_err(|e| e.message)
                ),
            }
        }
        let plan = rows(
            &mut s,
            &format!("EXPLAIN SELECT id FROM {ix} WHERE v = 'a'"),
        );
        assert!(
            format!("{plan:?}").contains("\"ks\""),
            "{name}: the equality lookup should use the index: {plan:?}"
        );
        for _ in 0..12 {
            let p = if rng.gen_bool(0.6) {
                data[rng.gen_range(0..data.len())].1.clone()
            } else {
                random_string(&mut rng)
            };
            for (op, keep) in [
                ("=", Ordering::is_eq as fn(Ordering) -> bool),
                ("<", Ordering::is_lt),
                (">=", Ordering::is_ge),
            ] {
                let mut want: Vec<i64> = data
                    .iter()
                    .filter(|(_, v)| keep(w(v).cmp(&w(&p))))
                    .map(|(id, _)| *id)
                    .collect();
                want.sort();
                for t in [&ix, &sc] {
                    let q = format!("SELECT id FROM {t} WHERE v {op} {} ORDER BY id", lit(&p));
                    assert_eq!(ids(&mut s, &q), want, "seed {seed} {name}: {q}");
                }
            }
            let mut want: Vec<i64> = unique
                .iter()
                .filter(|u| w(u) == w(&p))
                .map(|u| data.iter().find(|(_, v)| v == u).expect("inserted").0)
                .collect();
            want.sort();
            let q = format!("SELECT id FROM {un} WHERE v = {} ORDER BY id", lit(&p));
            assert_eq!(ids(&mut s, &q), want, "seed {seed} {name}: {q}");
        }
        // Joins on the column: every pair of rows of equal weight, by any join method.
        let mut pairs: Vec<(i64, i64)> = Vec::new();
        for (a, va) in &data {
            for (b, vb) in &data {
                if w(va) == w(vb) {
                    pairs.push((*a, *b));
                }
            }
        }
        pairs.sort();
        let q =
            format!("SELECT s.id, i.id FROM {sc} s JOIN {ix} i ON i.v = s.v ORDER BY s.id, i.id");
        for m in [JoinMethod::Hash, JoinMethod::IndexNestedLoop] {
            let prev = set_join_method(m);
            if m == JoinMethod::IndexNestedLoop {
                let plan = format!("{:?}", rows(&mut s, &format!("EXPLAIN {q}")));
                assert!(
                    plan.contains("\"ks\""),
                    "{name}: the join should probe ks: {plan}"
                );
            }
            let got: Vec<(i64, i64)> = rows(&mut s, &q)
                .iter()
                .map(|r| (r[0].to_i64().expect("id"), r[1].to_i64().expect("id")))
                .collect();
            set_join_method(prev);
            assert_eq!(got, pairs, "seed {seed} {name} {m:?}: {q}");
        }
        // ORDER BY: by the collation, then id.
        let mut want = data.clone();
        want.sort_by(|a, b| w(&a.1).cmp(&w(&b.1)).then(a.0.cmp(&b.0)));
        let want: Vec<i64> = want.iter().map(|(id, _)| *id).collect();
        for t in [&ix, &sc] {
            for q in [
                format!("SELECT id FROM {t} ORDER BY v, id"),
                format!("SELECT id FROM {t} ORDER BY v COLLATE {name}, id"),
            ] {
                assert_eq!(ids(&mut s, &q), want, "seed {seed} {name}: {q}");
            }
            let q = format!("SELECT id FROM {t} ORDER BY v DESC, id DESC");
            let rev: Vec<i64> = want.iter().rev().copied().collect();
            assert_eq!(ids(&mut s, &q), rev, "seed {seed} {name}: {q}");
        }
        // GROUP BY / DISTINCT / COUNT(DISTINCT): one group per weight, groups in order.
        let mut groups: Vec<(Vec<u8>, i64)> = Vec::new();
        let mut by_weight = data.clone();
        by_weight.sort_by_key(|a| w(&a.1));
        for (_, v) in &by_weight {
            match groups.last_mut() {
                Some((g, c)) if *g == w(v) => *c += 1,
                _ => groups.push((w(v), 1)),
            }
        }
        let counts: Vec<i64> = groups.iter().map(|g| g.1).collect();
        for t in [&ix, &sc] {
            let q = format!("SELECT COUNT(*) FROM {t} GROUP BY v ORDER BY v");
            assert_eq!(ids(&mut s, &q), counts, "seed {seed} {name}: {q}");
            let q = format!("SELECT COUNT(DISTINCT v) FROM {t}");
            assert_eq!(
                ids(&mut s, &q),
                vec![groups.len() as i64],
                "seed {seed} {name}: {q}"
            );
            let q = format!("SELECT COUNT(*) FROM (SELECT DISTINCT v FROM {t}) x");
            assert_eq!(
                ids(&mut s, &q),
                vec![groups.len() as i64],
                "seed {seed} {name}: {q}"
            );
            let q = format!("SELECT COUNT(*) FROM (SELECT v FROM {t} UNION SELECT v FROM {t}) x");
            assert_eq!(
                ids(&mut s, &q),
                vec![groups.len() as i64],
                "seed {seed} {name}: {q}"
            );
            // MIN/MAX: a value of the least and greatest weight.
            let r = rows(&mut s, &format!("SELECT MIN(v), MAX(v) FROM {t}"));
            let text = |v: &Value| v.to_text().expect("text");
            let (lo, hi) = (text(&r[0][0]), text(&r[0][1]));
            assert_eq!(w(&lo), groups[0].0, "seed {seed} {name}: MIN {lo:?}");
            assert_eq!(
                w(&hi),
                groups[groups.len() - 1].0,
                "seed {seed} {name}: MAX {hi:?}"
            );
        }
    }
}
