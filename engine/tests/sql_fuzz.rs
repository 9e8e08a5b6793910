//! Bad SQL of every kind must come back as an error, never a panic: statements taken from
//! the golden files (tests/slt) are mutated — tokens dropped, duplicated, swapped,
//! replaced by other statements' tokens or by edge-case literals, text truncated — and run
//! against one embedded database that keeps its state across statements (so mutated
//! DDL/DML shape what later statements see). Seeded; the seed is printed. Set
//! BOREALIS_FUZZ_ITERS for a longer run.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use borealis_engine::Database;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// SQL statements of the golden files (records' SQL bodies).
fn statements() -> Vec<String> {
    fn walk(dir: &Path, out: &mut Vec<String>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().collect();
        entries.sort_by_key(|e| e.path());
        for e in entries {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "slt") {
                let text = std::fs::read_to_string(&p).unwrap();
                let mut lines = text.lines();
                while let Some(l) = lines.next() {
                    if l.starts_with("statement") || l.starts_with("query") {
                        let mut sql = Vec::new();
                        for l in lines.by_ref() {
                            if l.is_empty() || l == "----" {
                                break;
                            }
                            sql.push(l);
                        }
                        if !sql.is_empty() {
                            out.push(sql.join("\n"));
                        }
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/slt"),
        &mut out,
    );
    out
}

fn tokens(s: &str) -> Vec<String> {
    s.split_inclusive(|c: char| c.is_whitespace() || "(),;".contains(c))
        .map(str::to_string)
        .collect()
}

const EDGE: &[&str] = &[
    "NULL ",
    "0 ",
    "-1 ",
    "18446744073709551615 ",
    "-9223372036854775808 ",
    "9999999999999999999999999999999999999.99 ",
    "1e308 ",
    "'' ",
    "'\u{1F600}\u{0}\\' ",
    "x'FF' ",
    "b'101' ",
    "'2024-02-30 25:61:61' ",
    "'9999-12-31' ",
    "DEFAULT ",
    "* ",
    "( ",
    ") ",
    ", ",
    "SELECT ",
    "JSON_EXTRACT('[1', '$[') ",
    "REPEAT('a', 100000000) ",
    "CAST(",
    "INTERVAL ",
    "@@ ",
    "@x := ",
    "? ",
    "ALL ",
    "OVER () ",
    "WITH RECURSIVE ",
];

fn mutate(rng: &mut Rng, all: &[String], base: &str) -> String {
    let mut t = tokens(base);
    for _ in 0..1 + rng.below(3) {
        let len = t.len();
        match rng.below(7) {
            0 if len > 0 => {
                t.remove(rng.below(len));
            }
            1 if len > 0 => {
                let i = rng.below(len);
                let x = t[i].clone();
                t.insert(i, x);
            }
            2 if len > 1 => {
                let (i, j) = (rng.below(len), rng.below(len));
                t.swap(i, j);
            }
            3 => {
                let other = tokens(&all[rng.below(all.len())]);
                if !other.is_empty() {
                    let x = other[rng.below(other.len())].clone();
                    let i = rng.below(len + 1);
                    t.insert(i, x);
                }
            }
            4 => {
                let i = rng.below(len + 1);
                t.insert(i, EDGE[rng.below(EDGE.len())].to_string());
            }
            5 if len > 0 => {
                let i = rng.below(len);
                t[i] = EDGE[rng.below(EDGE.len())].to_string();
            }
            _ => {
                let n = rng.below(len + 1);
                t.truncate(n);
            }
        }
    }
    t.concat()
}

#[test]
fn mutated_statements_are_errors_not_panics() {
    let seed: u64 = std::env::var("BOREALIS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_0001);
    let iters: usize = std::env::var("BOREALIS_FUZZ_ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if cfg!(debug_assertions) {
            3_000
        } else {
            20_000
        });
    println!("seed {seed} iterations {iters} (BOREALIS_SEED / BOREALIS_FUZZ_ITERS)");
    let all = statements();
    assert!(all.len() > 500, "found {} statements", all.len());
    let db = Database::open_in_memory().unwrap();
    let mut s = db.session();
    s.execute("CREATE DATABASE fz").unwrap();
    s.execute("USE fz").unwrap();
    let mut rng = Rng(seed | 1);
    let mut panics = Vec::new();
    for i in 0..iters {
        let base = &all[rng.below(all.len())];
        let sql = if i % 5 == 0 {
            base.clone()
        } else {
            mutate(&mut rng, &all, base)
        };
        let r = catch_unwind(AssertUnwindSafe(|| {
            let _ = s.execute(&sql);
        }));
        if r.is_err() {
            panics.push(sql);
            // A panic may leave the session mid-statement: start a fresh one.
            s = db.session();
            let _ = s.execute("USE fz");
        }
        if i % 500 == 0 {
            // Keep the database usable: end any open transaction.
            let _ = s.execute("ROLLBACK");
            let _ = s.execute("SET SESSION sql_mode = DEFAULT");
        }
    }
    assert!(
        panics.is_empty(),
        "{} panics, e.g.:\n{}",
        panics.len(),
        panics.join("\n---\n")
    );
}
