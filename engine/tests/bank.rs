//! Concurrency: a bank. Threads move money between accounts in transactions (retrying
//! deadlocks, as applications do); readers check in their snapshots that the total never
//! changes; at the end no update was lost. Seeded; replay with BOREALIS_BANK_SEED.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use borealis_engine::{Database, Value};

const ACCOUNTS: i64 = 20;
const START: i64 = 1000;

fn xorshift(s: &mut u64) -> u64 {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    *s
}

#[test]
fn total_is_invariant_and_no_update_is_lost() {
    let seed: u64 = std::env::var("BOREALIS_BANK_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_1234);
    println!("bank seed: {seed}");
    let db = Database::open_in_memory().unwrap();
    let mut s = db.session();
    s.execute("CREATE DATABASE bank; USE bank; CREATE TABLE acct (id INT PRIMARY KEY, bal BIGINT NOT NULL)").unwrap();
    for i in 0..ACCOUNTS {
        s.query(
            "INSERT INTO acct VALUES (?, ?)",
            &[Value::Int(i), Value::Int(START)],
        )
        .unwrap();
    }
    let stop = Arc::new(AtomicBool::new(false));
    let mut readers = Vec::new();
    for r in 0..2 {
        let db = db.clone();
        let stop = stop.clone();
        readers.push(std::thread::spawn(move || {
            let mut s = db.session();
            s.execute("USE bank").unwrap();
            let mut checks = 0;
            while !stop.load(Ordering::Relaxed) {
                s.execute("BEGIN").unwrap();
                // Two reads in one REPEATABLE READ snapshot must agree with each other.
                let a = s.execute("SELECT SUM(bal) FROM acct").unwrap().rows()[0][0].to_i64();
                let b = s
                    .execute("SELECT SUM(bal) FROM acct WHERE id >= 0")
                    .unwrap()
                    .rows()[0][0]
                    .to_i64();
                s.execute("COMMIT").unwrap();
                assert_eq!(a, Some(ACCOUNTS * START), "reader {r}: total changed");
                assert_eq!(a, b, "reader {r}: snapshot not repeatable");
                checks += 1;
            }
            checks
        }));
    }
    let mut writers = Vec::new();
    for w in 0..4u64 {
        let db = db.clone();
        writers.push(std::thread::spawn(move || {
            let mut rng = seed ^ (w + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            let mut s = db.session();
            s.execute("USE bank").unwrap();
            let mut done = 0;
            let mut deadlocks = 0;
            while done < 60 {
                let from = (xorshift(&mut rng) % ACCOUNTS as u64) as i64;
                let to = (xorshift(&mut rng) % ACCOUNTS as u64) as i64;
                let amt = (xorshift(&mut rng) % 50) as i64;
                let r = (|| -> borealis_engine::Result<()> {
                    s.execute("BEGIN")?;
                    s.query(
                        "UPDATE acct SET bal = bal - ? WHERE id = ?",
                        &[Value::Int(amt), Value::Int(from)],
                    )?;
                    s.query(
                        "UPDATE acct SET bal = bal + ? WHERE id = ?",
                        &[Value::Int(amt), Value::Int(to)],
                    )?;
                    s.execute("COMMIT")?;
                    Ok(())
                })();
                match r {
                    Ok(()) => done += 1,
                    Err(e) if e.code == 1213 || e.code == 1205 => {
                        deadlocks += 1;
                        let _ = s.execute("ROLLBACK");
                    }
                    Err(e) => panic!("writer {w}: {e}"),
                }
            }
            deadlocks
        }));
    }
    let deadlocks: i32 = writers.into_iter().map(|h| h.join().unwrap()).sum();
    stop.store(true, Ordering::Relaxed);
    let checks: i32 = readers.into_iter().map(|h| h.join().unwrap()).sum();
    let total = s.execute("SELECT SUM(bal), COUNT(*) FROM acct").unwrap();
    assert_eq!(total.rows()[0][0].to_i64(), Some(ACCOUNTS * START));
    assert_eq!(total.rows()[0][1].to_i64(), Some(ACCOUNTS));
    println!("240 transfers, {deadlocks} deadlocks retried, {checks} snapshot checks");
}

#[test]
fn deadlock_is_detected_with_1213() {
    let db = Database::open_in_memory().unwrap();
    let mut a = db.session();
    a.execute("CREATE DATABASE d; USE d; CREATE TABLE t (id INT PRIMARY KEY, v INT)")
        .unwrap();
    a.execute("INSERT INTO t VALUES (1, 0), (2, 0)").unwrap();
    let mut b = db.session();
    b.execute("USE d").unwrap();
    a.execute("BEGIN").unwrap();
    b.execute("BEGIN").unwrap();
    a.execute("UPDATE t SET v = 1 WHERE id = 1").unwrap();
    b.execute("UPDATE t SET v = 2 WHERE id = 2").unwrap();
    let h = std::thread::spawn(move || {
        // Waits for b's lock on row 2.
        let r = a.execute("UPDATE t SET v = 1 WHERE id = 2");
        (a, r)
    });
    std::thread::sleep(std::time::Duration::from_millis(200));
    let rb = b.execute("UPDATE t SET v = 2 WHERE id = 1");
    let (mut a, ra) = h.join().unwrap();
    // Exactly one of them is the deadlock victim.
    let codes: Vec<u16> = [&ra, &rb]
        .iter()
        .filter_map(|r| r.as_ref().err().map(|e| e.code))
        .collect();
    assert_eq!(codes, vec![1213], "a: {ra:?} b: {rb:?}");
    let _ = a.execute("COMMIT");
    let _ = b.execute("COMMIT");
}
