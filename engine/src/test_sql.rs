//! Helpers for the crate's unit tests that drive SQL through a [`Session`]: result rows
//! as text, the error code of a statement that must fail, and the seed of a randomized
//! test (printed, and taken from `BOREALIS_SEED` to replay a failure).

use crate::Session;

/// Every row of `sql`'s result, its cells as text (`NULL` for NULL) joined by `sep`.
pub fn rows_joined(s: &mut Session, sql: &str, sep: &str) -> Vec<String> {
    let r = s.execute(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    r.rows()
        .iter()
        .map(|row| {
            row.iter()
                .map(|v| v.to_text().unwrap_or_else(|| "NULL".into()))
                .collect::<Vec<_>>()
                .join(sep)
        })
        .collect()
}

/// The MySQL error code of `sql`, which must fail.
pub fn err_code(s: &mut Session, sql: &str) -> u16 {
    match s.execute(sql) {
        Err(e) => e.code,
        Ok(r) => panic!("{sql}: expected an error, got {r:?}"),
    }
}

/// The seed for a randomized test: `BOREALIS_SEED` (or the older `BOREALIS_TEST_SEED`)
/// when set, else the clock; printed with `label` so a failure can be replayed.
pub fn seed(label: &str) -> u64 {
    let seed = std::env::var("BOREALIS_SEED")
        .or_else(|_| std::env::var("BOREALIS_TEST_SEED"))
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(7)
        });
    println!("{label} seed: {seed} (BOREALIS_SEED={seed} to replay)");
    seed
}
