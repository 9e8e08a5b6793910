//! A table much larger than the buffer pool, spread over many protection groups: 256 MiB
//! of rows (32 MiB in debug builds) through a 16 MiB pool on a volume of 32 MiB PGs.
//! Every page the pool evicts must come back from storage exactly, during the load, in
//! full scans and index lookups, and after the database is closed and reopened.

use std::sync::Arc;

use borealis_engine::{Database, DatabaseOptions, Session};
use borealis_storage::volume::{LocalVolume, VolumeConfig};

const PAD: usize = 4000;
const POOL: usize = 16 << 20;

fn table_bytes() -> usize {
    if cfg!(debug_assertions) {
        32 << 20
    } else {
        256 << 20
    }
}

fn config(dir: &std::path::Path) -> VolumeConfig {
    let mut cfg = VolumeConfig::on_disk(dir);
    cfg.segment_bytes = 32 << 20;
    // Durability is not what this test is about; fsync would only slow the load.
    cfg.fsync = false;
    cfg
}

fn one(s: &mut Session, sql: &str) -> String {
    let r = s.execute(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    r.rows()[0][0]
        .to_text()
        .unwrap_or_else(|| "NULL".to_string())
}

/// The row with id `id`: k = id % 1000, pad = one letter repeated PAD times.
fn letter(id: usize) -> char {
    (b'A' + (id % 26) as u8) as char
}

fn check(s: &mut Session, rows: usize) {
    assert_eq!(one(s, "SELECT COUNT(*) FROM big"), rows.to_string());
    assert_eq!(
        one(s, "SELECT SUM(LENGTH(pad)) FROM big"),
        (rows * PAD).to_string()
    );
    // Point reads spread over the whole key range, each checked against its content.
    for i in 0..50 {
        let id = 1 + (i * 7919) % rows;
        let sql = format!(
            "SELECT pad = REPEAT('{}', {PAD}), k FROM big WHERE id = {id}",
            letter(id)
        );
        let r = s.execute(&sql).unwrap();
        let row = &r.rows()[0];
        assert_eq!(row[0].to_text().as_deref(), Some("1"), "row {id}");
        assert_eq!(row[1].to_text(), Some((id % 1000).to_string()), "row {id}");
    }
    // The secondary index covers every row too.
    // ids 7, 1007, 2007, ... up to `rows`.
    let per_k = (rows - 7) / 1000 + 1;
    assert_eq!(
        one(s, "SELECT COUNT(*) FROM big WHERE k = 7"),
        per_k.to_string()
    );
}

#[test]
fn table_far_larger_than_the_pool_across_protection_groups() {
    let dir = tempfile::tempdir().unwrap();
    let rows = table_bytes() / PAD;
    let opts = DatabaseOptions {
        buffer_pool_bytes: POOL,
        fsync: false,
    };
    {
        let vol = LocalVolume::open(config(dir.path())).unwrap();
        let db = Database::open_on(vol.clone(), opts.clone()).unwrap();
        let mut s = db.session();
        s.execute("CREATE DATABASE d").unwrap();
        s.execute("USE d").unwrap();
        s.execute(&format!(
            "CREATE TABLE big (id INT PRIMARY KEY, k INT NOT NULL, pad VARCHAR({PAD}), KEY (k))"
        ))
        .unwrap();
        let batch = 64;
        for start in (1..=rows).step_by(batch) {
            let values: Vec<String> = (start..(start + batch).min(rows + 1))
                .map(|id| format!("({id}, {}, REPEAT('{}', {PAD}))", id % 1000, letter(id)))
                .collect();
            s.execute(&format!("INSERT INTO big VALUES {}", values.join(",")))
                .unwrap();
        }
        let pgs = vol.pg_count();
        let want = table_bytes() / (32 << 20);
        assert!(pgs >= want, "{rows} rows use {pgs} protection groups");
        println!("{rows} rows of {PAD} bytes, {pgs} protection groups, {POOL}-byte pool");
        check(&mut s, rows);
        drop(s);
        drop(db);
        vol.close();
    }
    // Reopened: nothing cached, every page read from the volume.
    let vol: Arc<LocalVolume> = LocalVolume::open(config(dir.path())).unwrap();
    let db = Database::open_on(vol.clone(), opts).unwrap();
    let mut s = db.session();
    s.execute("USE d").unwrap();
    check(&mut s, rows);
    s.execute("DELETE FROM big WHERE id % 2 = 0").unwrap();
    assert_eq!(
        one(&mut s, "SELECT COUNT(*) FROM big"),
        (rows - rows / 2).to_string()
    );
}
