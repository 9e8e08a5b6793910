//! DDL while other sessions write. Writers insert, update and delete rows (autocommit
//! and in transactions that straddle the DDL) while the main thread runs CREATE INDEX,
//! DROP INDEX and ALTER TABLE ... ADD COLUMN (which rewrites the table). Afterwards
//! every committed row is in the table, exactly as committed, and every index holds
//! exactly the table's rows. A writer whose transaction bound against the old
//! definition may fail with 1412 (ER_TABLE_DEF_CHANGED) and retry, as with a deadlock.
//! Seeded; replay with BOREALIS_DDL_SEED.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use borealis_engine::{Database, Value};

const PRELOAD: i64 = 500;
const WRITERS: i64 = 2;

fn xorshift(s: &mut u64) -> u64 {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    *s
}

fn retryable(code: u16) -> bool {
    // Table definition changed, deadlock victim, lock wait timeout.
    matches!(code, 1412 | 1213 | 1205)
}

/// One writer: rows with ids `base + n`, which only it touches. Returns what it
/// committed (id -> k) and how many transactions failed with 1412.
fn writer(db: Database, base: i64, seed: u64, stop: Arc<AtomicBool>) -> (BTreeMap<i64, i64>, u32) {
    let mut s = db.session();
    s.execute("USE d").unwrap();
    let mut rng = seed;
    let mut mine: BTreeMap<i64, i64> = BTreeMap::new();
    let mut next = 0i64;
    let mut changed = 0u32;
    while !stop.load(Ordering::Relaxed) {
        let r = xorshift(&mut rng);
        let k = (r % 100_000) as i64;
        if r.is_multiple_of(3) {
            // Autocommit insert.
            let id = base + next;
            next += 1;
            match s.query(
                "INSERT INTO t (id, k) VALUES (?, ?)",
                &[Value::Int(id), Value::Int(k)],
            ) {
                Ok(_) => {
                    mine.insert(id, k);
                }
                Err(e) if retryable(e.code) => changed += u32::from(e.code == 1412),
                Err(e) => panic!("insert {id}: {e}"),
            }
            continue;
        }
        // A transaction: insert one row, move another's k, maybe delete a third, with a
        // pause in the middle so DDL lands inside it.
        let id = base + next;
        next += 1;
        let upd = mine
            .keys()
            .nth((r as usize / 7) % mine.len().max(1))
            .copied();
        let del = mine
            .keys()
            .nth((r as usize / 11) % mine.len().max(1))
            .copied();
        let del = del.filter(|d| Some(*d) != upd && r.is_multiple_of(5));
        let mut run = || -> Result<(), borealis_engine::Error> {
            s.execute("BEGIN")?;
            s.query(
                "INSERT INTO t (id, k) VALUES (?, ?)",
                &[Value::Int(id), Value::Int(k)],
            )?;
            if let Some(u) = upd {
                s.query(
                    "UPDATE t SET k = ? WHERE id = ?",
                    &[Value::Int(k + 1), Value::Int(u)],
                )?;
            }
            std::thread::sleep(Duration::from_micros(200));
            if let Some(d) = del {
                s.query("DELETE FROM t WHERE id = ?", &[Value::Int(d)])?;
            }
            s.execute("COMMIT")?;
            Ok(())
        };
        match run() {
            Ok(()) => {
                mine.insert(id, k);
                if let Some(u) = upd {
                    mine.insert(u, k + 1);
                }
                if let Some(d) = del {
                    mine.remove(&d);
                }
            }
            Err(e) if retryable(e.code) => {
                changed += u32::from(e.code == 1412);
                let _ = s.execute("ROLLBACK");
            }
            Err(e) => panic!("transaction: {e}"),
        }
    }
    (mine, changed)
}

/// (id, k) of every row, ordered by (k, id): read through index `index` when given (the
/// plan is checked), else from the table's primary key.
fn rows(s: &mut borealis_engine::Session, index: Option<&str>) -> Vec<(i64, i64)> {
    let sql = match index {
        Some(_) => "SELECT id, k FROM t WHERE k >= 0 ORDER BY k, id",
        None => "SELECT id, k FROM t ORDER BY id",
    };
    if let Some(ix) = index {
        let plan = format!("{:?}", s.execute(&format!("EXPLAIN {sql}")).unwrap().rows());
        assert!(plan.contains(ix), "expected a read through {ix}: {plan}");
    }
    let mut out: Vec<(i64, i64)> = s
        .execute(sql)
        .unwrap()
        .rows()
        .iter()
        .map(|r| (r[0].to_i64().unwrap(), r[1].to_i64().unwrap()))
        .collect();
    out.sort_by_key(|&(id, k)| (k, id));
    out
}

#[test]
fn ddl_under_concurrent_writes_loses_no_row_and_builds_complete_indexes() {
    let seed: u64 = std::env::var("BOREALIS_DDL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x0d1d_5eed);
    println!("online ddl seed: {seed}");
    let db = Database::open_in_memory().unwrap();
    let mut s = db.session();
    s.execute(
        "CREATE DATABASE d; USE d; CREATE TABLE t (id BIGINT PRIMARY KEY, k BIGINT NOT NULL)",
    )
    .unwrap();
    let mut expected: BTreeMap<i64, i64> = BTreeMap::new();
    for i in 0..PRELOAD {
        s.query(
            "INSERT INTO t VALUES (?, ?)",
            &[Value::Int(i), Value::Int(i * 7)],
        )
        .unwrap();
        expected.insert(i, i * 7);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (db, stop) = (db.clone(), stop.clone());
            let seed = seed.wrapping_add(w as u64 * 0x9e37_79b9).max(1);
            std::thread::spawn(move || writer(db, (w + 1) * 1_000_000, seed, stop))
        })
        .collect();
    let mut rng = seed;
    for round in 0..6 {
        std::thread::sleep(Duration::from_millis(15 + xorshift(&mut rng) % 20));
        s.execute("CREATE INDEX ik ON t (k)").unwrap();
        std::thread::sleep(Duration::from_millis(10 + xorshift(&mut rng) % 20));
        s.execute(&format!("ALTER TABLE t ADD COLUMN c{round} INT"))
            .unwrap();
        std::thread::sleep(Duration::from_millis(10 + xorshift(&mut rng) % 20));
        if round < 5 {
            s.execute("DROP INDEX ik ON t").unwrap();
        }
    }
    std::thread::sleep(Duration::from_millis(20));
    stop.store(true, Ordering::Relaxed);
    let mut refused = 0;
    for w in writers {
        let (mine, changed) = w.join().unwrap();
        expected.extend(mine);
        refused += changed;
    }
    println!("transactions refused with 1412: {refused}");
    let mut want: Vec<(i64, i64)> = expected.into_iter().collect();
    want.sort_by_key(|&(id, k)| (k, id));
    let in_table = rows(&mut s, None);
    assert_eq!(in_table.len(), want.len(), "rows in the table vs committed");
    assert_eq!(in_table, want, "the table differs from what was committed");
    assert_eq!(
        rows(&mut s, Some("ik")),
        want,
        "index ik differs from the table"
    );
}

/// Two sessions change the indexes of one table at once, each only its own index. A
/// DDL planned against a definition another DDL replaced meanwhile must not publish it
/// (that would silently drop the other's index): it fails with 1412 and is retried. An
/// index whose CREATE returned OK is there until its own session drops it.
#[test]
fn concurrent_ddl_on_one_table_never_undoes_another() {
    let db = Database::open_in_memory().unwrap();
    let mut s = db.session();
    s.execute(
        "CREATE DATABASE d; USE d; CREATE TABLE t (id BIGINT PRIMARY KEY, a BIGINT, b BIGINT)",
    )
    .unwrap();
    for i in 0..300 {
        s.query(
            "INSERT INTO t VALUES (?, ?, ?)",
            &[Value::Int(i), Value::Int(i % 17), Value::Int(i % 23)],
        )
        .unwrap();
    }
    let threads: Vec<_> = ["a", "b"]
        .into_iter()
        .map(|col| {
            let db = db.clone();
            std::thread::spawn(move || {
                let mut s = db.session();
                s.execute("USE d").unwrap();
                let mut retried = 0;
                for _ in 0..15 {
                    for stmt in [
                        format!("CREATE INDEX i{col} ON t ({col})"),
                        format!("DROP INDEX i{col} ON t"),
                    ] {
                        loop {
                            match s.execute(&stmt) {
                                Ok(_) => break,
                                Err(e) if e.code == 1412 => retried += 1,
                                Err(e) => panic!("{stmt}: {e}"),
                            }
                        }
                        let shown = s.execute("SHOW INDEX FROM t").unwrap();
                        let has = format!("{:?}", shown.rows()).contains(&format!("i{col}"));
                        assert_eq!(
                            has,
                            stmt.starts_with("CREATE"),
                            "after `{stmt}` returned OK, SHOW INDEX says {:?}",
                            shown.rows()
                        );
                    }
                }
                retried
            })
        })
        .collect();
    let retried: i32 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    println!("DDLs retried after 1412: {retried}");
}
