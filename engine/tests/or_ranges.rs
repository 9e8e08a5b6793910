//! Differential test of the OR-of-ranges index access (seeded; the seed is printed): random
//! tables with duplicates and NULLs in an indexed column, random ORs of ranges and
//! equalities on it (overlapping, empty, open-ended), answered through the index and
//! through a full scan (`k + 0` defeats the index); the rows must be the same.

use borealis_engine::{Database, Session};

struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn rows(s: &mut Session, sql: &str) -> Vec<String> {
    let r = s.execute(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    r.rows()
        .iter()
        .map(|row| {
            row.iter()
                .map(|v| v.to_text().unwrap_or_else(|| "NULL".into()))
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect()
}

#[test]
fn or_of_ranges_matches_a_full_scan() {
    let seed: u64 = std::env::var("BOREALIS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x0a11_0e55);
    println!("seed {seed} (set BOREALIS_SEED to replay)");
    let mut rng = Rng(seed | 1);
    let db = Database::open_in_memory().unwrap();
    let mut s = db.session();
    s.execute("CREATE DATABASE d; USE d; CREATE TABLE t (id INT PRIMARY KEY, k INT, KEY (k))")
        .unwrap();
    let values: Vec<String> = (1..=300)
        .map(|id| match rng.below(10) {
            0 => format!("({id}, NULL)"),
            _ => format!("({id}, {})", rng.below(60)),
        })
        .collect();
    s.execute(&format!("INSERT INTO t VALUES {}", values.join(",")))
        .unwrap();
    let plan = rows(
        &mut s,
        "EXPLAIN SELECT id FROM t WHERE k BETWEEN 1 AND 2 OR k = 7",
    )
    .join(";");
    println!("{plan}");
    assert!(plan.contains("range") && plan.contains(",k,"), "{plan}");
    for round in 0..200 {
        let n = 1 + rng.below(6);
        let col = if rng.below(3) == 0 { "id" } else { "k" };
        let mut parts = Vec::new();
        for _ in 0..n {
            let a = rng.below(70) as i64 - 5;
            let b = a + rng.below(12) as i64 - 2;
            parts.push(match rng.below(6) {
                0 => format!("{{c}} = {a}"),
                1 => format!("{{c}} < {a}"),
                2 => format!("{{c}} >= {b}"),
                _ => format!("{{c}} BETWEEN {a} AND {b}"),
            });
        }
        let cond = parts.join(" OR ");
        let order = if rng.below(2) == 0 { "ASC" } else { "DESC" };
        let q = |c: &str| {
            format!(
                "SELECT id, k FROM t WHERE {} ORDER BY id {order}",
                cond.replace("{c}", c)
            )
        };
        let via_index = rows(&mut s, &q(col));
        let via_scan = rows(&mut s, &q(&format!("{col} + 0")));
        assert_eq!(via_index, via_scan, "round {round}: {}", q(col));
    }
}
