//! Differential test of covering reads of string columns (seeded; the seed is printed):
//! an index on a VARBINARY column or on a VARCHAR with a binary NO PAD collation
//! (utf8mb4_0900_bin) answers a query that reads only indexed columns from its entries
//! (EXPLAIN: Using index); the rows must be those read through the clustered rows (the
//! same query with a predicate on a column outside the index). A case-insensitive
//! VARCHAR index never covers (its entries hold case-folded weights, not the values),
//! nor does a PAD SPACE utf8mb4_bin one (its entries drop trailing spaces).

use borealis_engine::{Database, Session};

mod common;
use common::Rng;

fn rows(s: &mut Session, sql: &str) -> Vec<String> {
    let mut out = common::text_rows(s, sql, &[]);
    out.sort();
    out
}

const WORDS: [&str; 9] = ["a", "A", "a ", "ab", "aB", "b", "", "\u{e9}", " a"];

#[test]
fn covering_string_reads_match_row_reads() {
    let seed = common::seed(0xc0_7e45);
    let mut rng = Rng(seed | 1);
    let db = Database::open_in_memory().unwrap();
    let mut s = db.session();
    s.execute(
        "CREATE DATABASE d; USE d; CREATE TABLE t (id INT PRIMARY KEY, \
         vb VARBINARY(8), cs VARCHAR(8) COLLATE utf8mb4_0900_bin, ci VARCHAR(8), extra INT, \
         cp VARCHAR(8) COLLATE utf8mb4_bin, KEY (vb), KEY (cs, id), KEY (ci), KEY (cp))",
    )
    .unwrap();
    let word = |r: &mut Rng| -> String {
        if r.below(8) == 0 {
            "NULL".into()
        } else {
            format!("'{}'", WORDS[r.below(WORDS.len() as u64) as usize])
        }
    };
    let values: Vec<String> = (1..=200)
        .map(|id| {
            let vb = if rng.below(5) == 0 {
                // Bytes the escaping must round-trip: 0x00 and 0xFF.
                ["X'00'", "X'00FF00'", "X'FF'", "X'6100'"][rng.below(4) as usize].to_string()
            } else {
                word(&mut rng)
            };
            let (cs, ci, cp) = (word(&mut rng), word(&mut rng), word(&mut rng));
            format!("({id}, {vb}, {cs}, {ci}, {}, {cp})", rng.below(3))
        })
        .collect();
    s.execute(&format!("INSERT INTO t VALUES {}", values.join(",")))
        .unwrap();
    for (col, covers) in [("vb", true), ("cs", true), ("ci", false), ("cp", false)] {
        let plan = rows(
            &mut s,
            &format!("EXPLAIN SELECT HEX({col}) FROM t WHERE {col} >= 'a'"),
        )
        .join(";");
        assert_eq!(plan.contains("Using index"), covers, "{col}: {plan}");
    }
    for round in 0..200 {
        let col = ["vb", "cs", "ci", "cp"][rng.below(4) as usize];
        let (a, b) = (word(&mut rng), word(&mut rng));
        let pred = match rng.below(5) {
            0 => format!("{col} = {a}"),
            1 => format!("{col} BETWEEN {a} AND {b}"),
            2 => format!("{col} > {a}"),
            3 => format!("{col} IN ({a}, {b})"),
            _ => format!("{col} IS NOT NULL"),
        };
        let what = format!("HEX({col}), {col} = {a}, LENGTH({col})");
        let fast = format!("SELECT {what} FROM t WHERE {pred}");
        let slow = format!("SELECT {what} FROM t WHERE {pred} AND extra IS NOT NULL");
        assert_eq!(
            rows(&mut s, &fast),
            rows(&mut s, &slow),
            "round {round}: {fast}"
        );
        let agg = format!("HEX(MIN({col})), HEX(MAX({col})), COUNT({col})");
        let fast = format!("SELECT {agg} FROM t WHERE {pred}");
        let slow = format!("SELECT {agg} FROM t WHERE {pred} AND extra IS NOT NULL");
        assert_eq!(
            rows(&mut s, &fast),
            rows(&mut s, &slow),
            "round {round}: {fast}"
        );
    }
}
