//! Durability under `kill -9`: a child process commits transactions and reports each
//! acknowledged commit on stdout; the parent kills it at a seeded random moment, reopens
//! the database, and checks that every acknowledged commit is present and that no
//! transaction is half there (each commit writes two rows that must appear together).
//!
//! Replay a failure with BOREALIS_CRASH_SEED=<seed>.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use borealis_engine::{Database, Value};

const CHILD_ENV: &str = "BOREALIS_CRASH_CHILD_DIR";

/// The child: commit forever, printing each acknowledged transaction number.
fn child(dir: &str) {
    let db = Database::open(dir).expect("open");
    let mut s = db.session();
    s.execute("CREATE DATABASE IF NOT EXISTS c; USE c; CREATE TABLE IF NOT EXISTS t (id BIGINT PRIMARY KEY, pair BIGINT, pad VARCHAR(200))").expect("ddl");
    let start = s
        .execute("SELECT COALESCE(MAX(id), 0) FROM t WHERE id < 1000000000")
        .expect("max")
        .rows()[0][0]
        .to_i64()
        .unwrap_or(0);
    let pad = "x".repeat(150);
    for i in start + 1.. {
        s.execute("BEGIN").expect("begin");
        s.query(
            "INSERT INTO t VALUES (?, ?, ?)",
            &[
                Value::Int(i),
                Value::Int(i + 1_000_000_000),
                Value::from(pad.as_str()),
            ],
        )
        .expect("insert a");
        s.query(
            "INSERT INTO t VALUES (?, ?, ?)",
            &[
                Value::Int(i + 1_000_000_000),
                Value::Int(i),
                Value::from(pad.as_str()),
            ],
        )
        .expect("insert b");
        s.execute("COMMIT").expect("commit");
        println!("{i}");
    }
}

fn seed() -> u64 {
    std::env::var("BOREALIS_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        })
}

#[test]
fn acknowledged_commits_survive_kill_9() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        child(&dir);
        return;
    }
    let seed = seed();
    println!("crash test seed: {seed} (replay with BOREALIS_CRASH_SEED={seed})");
    let mut rng = seed;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut acked: Vec<i64> = Vec::new();
    for round in 0..4 {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "acknowledged_commits_survive_kill_9",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel::<i64>();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if let Ok(n) = line.trim().parse::<i64>() {
                    let _ = tx.send(n);
                }
            }
        });
        // Kill after a random number of commits (and at least some wall time).
        let target = 20 + (next() % 200) as usize;
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut got = 0;
        while got < target && Instant::now() < deadline {
            match rx.recv_timeout(Duration::from_millis(200)) {
                Ok(n) => {
                    acked.push(n);
                    got += 1;
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                Err(_) => break,
            }
        }
        std::thread::sleep(Duration::from_millis(next() % 20));
        // SIGKILL: no destructors, no flushing.
        child.kill().unwrap();
        let _ = child.wait();
        reader.join().unwrap();
        while let Ok(n) = rx.try_recv() {
            acked.push(n);
        }
        assert!(
            got > 0,
            "round {round}: the child committed nothing (seed {seed})"
        );

        let db = Database::open(dir.path())
            .unwrap_or_else(|e| panic!("reopen after kill (seed {seed}): {e}"));
        let mut s = db.session();
        s.execute("USE c").unwrap();
        for &n in &acked {
            let r = s
                .query("SELECT pair FROM t WHERE id = ?", &[Value::Int(n)])
                .unwrap();
            assert_eq!(
                r.rows().len(),
                1,
                "acknowledged commit {n} lost after kill -9 (seed {seed})"
            );
        }
        // No half transactions: every row's pair exists.
        let r = s
            .execute("SELECT COUNT(*) FROM t a LEFT JOIN t b ON a.pair = b.id WHERE b.id IS NULL")
            .unwrap();
        assert_eq!(
            r.rows()[0][0].to_i64(),
            Some(0),
            "a transaction is half present (seed {seed})"
        );
    }
}
