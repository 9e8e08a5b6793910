//! Schema and data of the sysbench tables: DDL per dialect and the rows `prepare` loads.
//!
//! Rows follow `oltp_common.lua`'s `create_table`: ids come from AUTO_INCREMENT (1..N in
//! insert order), `k` is drawn with the run's distribution over `[1, table_size]`, `c` is
//! ten 11-digit groups joined by '-' (119 chars) and `pad` five (59 chars). Table `t`
//! is generated from its own RNG stream, so tables can load in parallel and still be
//! the same for a given seed.

use crate::rng::{Distribution, Rng};
use crate::workload::Dialect;

/// `get_c_value()`'s template: 10 groups, 119 characters.
pub const C_TEMPLATE: &str = "###########-###########-###########-###########-###########-###########-###########-###########-###########-###########";
/// `get_pad_value()`'s template: 5 groups, 59 characters.
pub const PAD_TEMPLATE: &str = "###########-###########-###########-###########-###########";

/// Rows per multi-row INSERT while loading; about 180 KB of SQL text per statement,
/// inside the 1 MiB max_allowed_packet every target accepts (sysbench's own batches
/// are up to 512 KB).
pub const LOAD_BATCH: usize = 1000;

pub fn c_value(rng: &mut Rng) -> String {
    rng.digits(C_TEMPLATE)
}

pub fn pad_value(rng: &mut Rng) -> String {
    rng.digits(PAD_TEMPLATE)
}

/// One loaded row (the id is assigned by AUTO_INCREMENT / rowid).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub k: u32,
    pub c: String,
    pub pad: String,
}

/// The RNG that generates the rows of table `table` for a run seeded with `seed`.
pub fn table_rng(seed: u64, table: u32) -> Rng {
    // A salt keeps the load stream distinct from the workers' streams.
    Rng::for_thread(seed ^ 0x10ad_da7a_0000_0000, table as usize)
}

/// The next `n` rows of a table.
pub fn rows(rng: &mut Rng, dist: Distribution, table_size: u32, n: usize) -> Vec<Row> {
    (0..n)
        .map(|_| Row {
            k: rng.dist(dist, 1, table_size),
            c: c_value(rng),
            pad: pad_value(rng),
        })
        .collect()
}

/// `CREATE TABLE sbtestN(...)`: sysbench's exact text for MySQL, the SQLite equivalent
/// (INTEGER PRIMARY KEY is SQLite's auto-assigned rowid).
pub fn create_table(table: u32, dialect: Dialect) -> String {
    match dialect {
        Dialect::MySql => format!(
            "CREATE TABLE sbtest{table}(\n  id INTEGER NOT NULL AUTO_INCREMENT,\n  k INTEGER DEFAULT '0' NOT NULL,\n  c CHAR(120) DEFAULT '' NOT NULL,\n  pad CHAR(60) DEFAULT '' NOT NULL,\n  PRIMARY KEY (id)\n) /*! ENGINE = innodb */ "
        ),
        Dialect::Sqlite => format!(
            "CREATE TABLE sbtest{table}(\n  id INTEGER PRIMARY KEY,\n  k INTEGER DEFAULT '0' NOT NULL,\n  c CHAR(120) DEFAULT '' NOT NULL,\n  pad CHAR(60) DEFAULT '' NOT NULL\n)"
        ),
    }
}

pub fn create_index(table: u32) -> String {
    format!("CREATE INDEX k_{table} ON sbtest{table}(k)")
}

pub fn drop_table(table: u32) -> String {
    format!("DROP TABLE IF EXISTS sbtest{table}")
}

/// sysbench's bulk INSERT: `INSERT INTO sbtestN(k, c, pad) VALUES(k, 'c', 'pad'),(...)`.
pub fn bulk_insert(table: u32, rows: &[Row]) -> String {
    let mut s = String::with_capacity(40 + rows.len() * 200);
    s.push_str(&format!("INSERT INTO sbtest{table}(k, c, pad) VALUES"));
    for (i, r) in rows.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        // c and pad are digits and dashes: no quoting needed.
        s.push_str(&format!("({}, '{}', '{}')", r.k, r.c, r.pad));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_and_pad_have_sysbench_shape() {
        let mut r = Rng::new(7);
        let c = c_value(&mut r);
        assert_eq!(c.len(), 119);
        let groups: Vec<&str> = c.split('-').collect();
        assert_eq!(groups.len(), 10);
        assert!(groups
            .iter()
            .all(|g| g.len() == 11 && g.bytes().all(|b| b.is_ascii_digit())));
        let p = pad_value(&mut r);
        assert_eq!(p.len(), 59);
        assert_eq!(p.split('-').count(), 5);
        assert_ne!(c_value(&mut r), c, "values must differ");
    }

    #[test]
    fn rows_are_deterministic_per_table_and_k_in_range() {
        let a = rows(&mut table_rng(1, 2), Distribution::Special, 1000, 50);
        let b = rows(&mut table_rng(1, 2), Distribution::Special, 1000, 50);
        let c = rows(&mut table_rng(1, 3), Distribution::Special, 1000, 50);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(a.iter().all(|r| (1..=1000).contains(&r.k)));
    }

    #[test]
    fn ddl_matches_sysbench() {
        assert!(create_table(1, Dialect::MySql).starts_with(
            "CREATE TABLE sbtest1(\n  id INTEGER NOT NULL AUTO_INCREMENT,\n  k INTEGER DEFAULT '0' NOT NULL,"
        ));
        assert!(create_table(1, Dialect::MySql).ends_with("/*! ENGINE = innodb */ "));
        assert_eq!(create_index(2), "CREATE INDEX k_2 ON sbtest2(k)");
        let rows = vec![Row {
            k: 5,
            c: "1-2".into(),
            pad: "3".into(),
        }];
        assert_eq!(
            bulk_insert(1, &rows),
            "INSERT INTO sbtest1(k, c, pad) VALUES(5, '1-2', '3')"
        );
    }
}
