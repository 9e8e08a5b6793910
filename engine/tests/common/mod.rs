//! Helpers shared by the engine's integration tests: a small seeded generator, the seed
//! (printed; `BOREALIS_SEED` replays a failure) and query results as text rows.
#![allow(dead_code)] // each test file uses its own subset

use borealis_engine::{Session, Value};

/// xorshift64: deterministic from its seed, enough for test data.
pub struct Rng(pub u64);

impl Rng {
    /// A value in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// `BOREALIS_SEED` if set, else `default`; printed so a failing run can be replayed.
pub fn seed(default: u64) -> u64 {
    let seed = std::env::var("BOREALIS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default);
    println!("seed {seed} (set BOREALIS_SEED to replay)");
    seed
}

/// Every row of `sql` (run with `params`), its cells as text (`NULL` for NULL) joined by
/// commas.
pub fn text_rows(s: &mut Session, sql: &str, params: &[Value]) -> Vec<String> {
    let r = s
        .query(sql, params)
        .unwrap_or_else(|e| panic!("{sql} {params:?}: {e}"));
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
