//! Replica lag benchmark: commit a timestamped row on the writer, then poll every
//! replica until the row is visible; the lag is the time from the writer's commit
//! acknowledgement to the first poll that sees the row (independent of the server's own
//! lag status variables). Meanwhile a background load writes on the writer at a fixed
//! rate (`--rate 1000,5000,max`: paced single-row autocommit UPDATEs; `max` unpaced),
//! or runs a sysbench workload (`--load`). Works with any targets (pointing writer and
//! replica at the same server measures the probe's own floor, one round trip).
//!
//! Invariants: each probe row has an id never used before, even by an earlier session
//! on the same table (ids start at the session's start time in microseconds), so a row
//! can only be seen after its own commit, never as a leftover the replica has not yet
//! seen deleted; probing starts only once every replica sees the probe table (its DDL
//! is not part of the measurement); polls that time out are counted, not folded into
//! the percentiles.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use clap::Args;

use crate::histogram::Histogram;
use crate::runner::{self, RunConfig};
use crate::target::{BenchError, Target, TargetOptions};
use crate::workload::{OltpOptions, Workload};

#[derive(Args, Clone, Debug)]
pub struct LagArgs {
    /// Writer target (mysql://... or embedded:...).
    #[arg(long)]
    pub writer: String,
    /// Replica target; repeat for several replicas (each is probed for every row).
    #[arg(long, required = true)]
    pub replica: Vec<String>,
    /// Seconds of probing (per rate).
    #[arg(long, default_value_t = 10.0)]
    pub time: f64,
    /// Pause between probes in milliseconds.
    #[arg(long, default_value_t = 10)]
    pub interval_ms: u64,
    /// Give up on one row after this many milliseconds.
    #[arg(long, default_value_t = 5000)]
    pub timeout_ms: u64,
    /// Background write rates on the writer, writes/s (`max`: as fast as
    /// --rate-threads connections go), one measurement each. Empty: no paced load.
    #[arg(long, value_delimiter = ',')]
    pub rate: Vec<String>,
    /// Connections issuing the paced background writes.
    #[arg(long, default_value_t = 4)]
    pub rate_threads: usize,
    /// Background sysbench workload on the writer while probing (tables must be
    /// prepared); instead of --rate.
    #[arg(long)]
    pub load: Option<String>,
    #[arg(long, default_value_t = 4)]
    pub load_threads: usize,
    #[arg(long, default_value_t = 1)]
    pub tables: u32,
    #[arg(long, default_value_t = 10_000)]
    pub table_size: u32,
}

/// Percentiles of one probe session, in milliseconds.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LagResult {
    pub probes: u64,
    pub timeouts: u64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl LagResult {
    fn from_histogram(h: &Histogram, timeouts: u64) -> LagResult {
        LagResult {
            probes: h.count(),
            timeouts,
            p50_ms: h.quantile(0.5) as f64 / 1e6,
            p95_ms: h.quantile(0.95) as f64 / 1e6,
            p99_ms: h.quantile(0.99) as f64 / 1e6,
            max_ms: h.max() as f64 / 1e6,
        }
    }
}

/// Probe one replica for `time`: one row per `interval`.
pub fn probe(
    writer: &dyn Target,
    replica: &dyn Target,
    time: Duration,
    interval: Duration,
    timeout: Duration,
) -> Result<LagResult, BenchError> {
    probe_all(writer, &[replica], time, interval, timeout)
}

/// Probe every replica in `replicas` for each row (polled in parallel, one thread per
/// replica); the result merges the lags seen on all of them.
pub fn probe_all(
    writer: &dyn Target,
    replicas: &[&dyn Target],
    time: Duration,
    interval: Duration,
    timeout: Duration,
) -> Result<LagResult, BenchError> {
    let mut w = writer.connect(true)?;
    w.query(
        "CREATE TABLE IF NOT EXISTS bench_lag (id BIGINT NOT NULL PRIMARY KEY, ts BIGINT NOT NULL)",
    )?;
    w.query("DELETE FROM bench_lag")?;
    let first_id = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64);
    std::thread::scope(|s| {
        let (done_tx, done_rx) = mpsc::channel::<Result<(), BenchError>>();
        let mut pollers = Vec::new();
        for &r in replicas {
            let (tx, rx) = mpsc::channel::<(u64, Instant)>();
            let done = done_tx.clone();
            let h = s.spawn(move || -> Result<(Histogram, u64), BenchError> {
                // Ready (or failed) before the first probe: reported on `done`.
                let ready = r.connect(false).and_then(|mut c| {
                    wait_for_table(c.as_mut(), timeout)?;
                    Ok(c)
                });
                let mut c = match ready {
                    Ok(c) => {
                        let _ = done.send(Ok(()));
                        c
                    }
                    Err(e) => {
                        let _ = done.send(Err(e));
                        return Ok((Histogram::default(), 0));
                    }
                };
                let mut h = Histogram::default();
                let mut timeouts = 0;
                for (id, committed) in rx {
                    let select = format!("SELECT ts FROM bench_lag WHERE id = {id}");
                    let res = loop {
                        match c.query(&select) {
                            Err(e) => break Err(e),
                            Ok(n) if n > 0 => {
                                h.record(committed.elapsed().as_nanos() as u64);
                                break Ok(());
                            }
                            Ok(_) if committed.elapsed() > timeout => {
                                timeouts += 1;
                                break Ok(());
                            }
                            Ok(_) => std::thread::sleep(Duration::from_micros(100)),
                        }
                    };
                    let failed = res.is_err();
                    let _ = done.send(res);
                    if failed {
                        break;
                    }
                }
                Ok((h, timeouts))
            });
            pollers.push((tx, h));
        }
        drop(done_tx);
        let mut err = None;
        for _ in &pollers {
            match done_rx.recv() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => err = err.or(Some(e)),
                Err(_) => break,
            }
        }
        let start = Instant::now();
        let mut id: u64 = first_id;
        'probing: while err.is_none() && start.elapsed() < time {
            id += 1;
            let ts = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_micros() as u64)
                .unwrap_or(0);
            // Autocommit: the INSERT returns after its commit is acknowledged.
            w.query(&format!(
                "INSERT INTO bench_lag (id, ts) VALUES ({id}, {ts})"
            ))?;
            let committed = Instant::now();
            for (tx, _) in &pollers {
                let _ = tx.send((id, committed));
            }
            for _ in &pollers {
                match done_rx.recv() {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => {
                        err = Some(e);
                        break 'probing;
                    }
                    Err(_) => break 'probing,
                }
            }
            std::thread::sleep(interval);
        }
        let mut all = Histogram::default();
        let mut timeouts = 0;
        for (tx, h) in pollers {
            drop(tx);
            match h.join() {
                Ok(Ok((h, t))) => {
                    all.merge(&h);
                    timeouts += t;
                }
                Ok(Err(e)) => err = err.or(Some(e)),
                Err(_) => {}
            }
        }
        match err {
            Some(e) => Err(e),
            None => Ok(LagResult::from_histogram(&all, timeouts)),
        }
    })
}

/// Wait until `bench_lag` exists on the replica `c` is connected to (error 1146 until
/// the replica applies the writer's CREATE TABLE).
fn wait_for_table(c: &mut dyn crate::target::Conn, timeout: Duration) -> Result<(), BenchError> {
    let t = Instant::now();
    loop {
        match c.query("SELECT id FROM bench_lag WHERE id = 0") {
            Ok(_) => return Ok(()),
            Err(e) if e.code == Some(1146) && t.elapsed() < timeout => {
                std::thread::sleep(Duration::from_millis(1));
            }
            Err(e) => return Err(e),
        }
    }
}

/// Rows of the table the paced load updates.
const LOAD_ROWS: u64 = 1000;

/// Paced single-row autocommit UPDATEs on the writer until `stop`: `rate` writes/s over
/// `threads` connections (None: unpaced). Returns the writes done.
fn paced_load(
    writer: &dyn Target,
    rate: Option<f64>,
    threads: usize,
    stop: &AtomicBool,
) -> Result<u64, BenchError> {
    let done = AtomicU64::new(0);
    std::thread::scope(|s| {
        let hs: Vec<_> = (0..threads)
            .map(|t| {
                let done = &done;
                s.spawn(move || -> Result<(), BenchError> {
                    let mut c = writer.connect(true)?;
                    let period = rate.map(|r| Duration::from_secs_f64(threads as f64 / r));
                    let mut next = Instant::now();
                    let mut k = t as u64;
                    while !stop.load(Ordering::Relaxed) {
                        if let Some(p) = period {
                            let now = Instant::now();
                            if next > now {
                                std::thread::sleep(next - now);
                            } else if now - next > Duration::from_millis(100) {
                                next = now; // fell behind: do not burst to catch up
                            }
                            next += p;
                        }
                        k = (k + 7919) % LOAD_ROWS;
                        c.query(&format!(
                            "UPDATE bench_lag_load SET v = v + 1 WHERE id = {k}"
                        ))?;
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(())
                })
            })
            .collect();
        for h in hs {
            match h.join() {
                Ok(r) => r?,
                Err(_) => return Err(BenchError::new("a load thread panicked")),
            }
        }
        Ok(done.load(Ordering::Relaxed))
    })
}

fn prepare_load(writer: &dyn Target) -> Result<(), BenchError> {
    let mut w = writer.connect(true)?;
    w.query("DROP TABLE IF EXISTS bench_lag_load")?;
    w.query("CREATE TABLE bench_lag_load (id BIGINT NOT NULL PRIMARY KEY, v BIGINT NOT NULL)")?;
    let rows: Vec<String> = (0..LOAD_ROWS).map(|i| format!("({i}, 0)")).collect();
    for chunk in rows.chunks(250) {
        w.query(&format!(
            "INSERT INTO bench_lag_load (id, v) VALUES {}",
            chunk.join(",")
        ))?;
    }
    Ok(())
}

fn print_header() {
    println!(
        "| replicas | load | writes/s | probes | timeouts | lag p50 ms | p95 ms | p99 ms | max ms |\n|---|---|---|---|---|---|---|---|---|"
    );
}

fn print_row(replicas: usize, load: &str, wps: f64, lag: &LagResult) {
    println!(
        "| {replicas} | {load} | {wps:.0} | {} | {} | {:.3} | {:.3} | {:.3} | {:.3} |",
        lag.probes, lag.timeouts, lag.p50_ms, lag.p95_ms, lag.p99_ms, lag.max_ms
    );
}

pub fn main(a: &LagArgs) -> Result<(), String> {
    let topts = TargetOptions::default();
    let writer = crate::target::parse(&a.writer, &topts).map_err(|e| e.to_string())?;
    let replicas = a
        .replica
        .iter()
        .map(|r| crate::target::parse(r, &topts).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    let reps: Vec<&dyn Target> = replicas.iter().map(|r| r.as_ref()).collect();
    let time = Duration::from_secs_f64(a.time);
    let interval = Duration::from_millis(a.interval_ms);
    let timeout = Duration::from_millis(a.timeout_ms);
    print_header();
    if !a.rate.is_empty() {
        prepare_load(writer.as_ref()).map_err(|e| e.to_string())?;
        for r in &a.rate {
            let rate = match r.as_str() {
                "max" => None,
                n => Some(
                    n.parse::<f64>()
                        .ok()
                        .filter(|x| *x > 0.0)
                        .ok_or_else(|| format!("--rate: {n} is not a positive number or max"))?,
                ),
            };
            let stop = AtomicBool::new(false);
            let t0 = Instant::now();
            let (lag, writes) = std::thread::scope(|s| {
                let bg = s.spawn(|| paced_load(writer.as_ref(), rate, a.rate_threads, &stop));
                let lag = probe_all(writer.as_ref(), &reps, time, interval, timeout);
                stop.store(true, Ordering::Relaxed);
                (lag, bg.join())
            });
            let secs = t0.elapsed().as_secs_f64();
            let lag = lag.map_err(|e| e.to_string())?;
            let writes = match writes {
                Ok(Ok(n)) => n,
                Ok(Err(e)) => return Err(format!("background load: {e}")),
                Err(_) => return Err("background load panicked".into()),
            };
            let label = match rate {
                Some(x) => format!("{x:.0} writes/s ({} conns)", a.rate_threads),
                None => format!("max ({} conns)", a.rate_threads),
            };
            print_row(reps.len(), &label, writes as f64 / secs, &lag);
        }
        return Ok(());
    }
    let load = match &a.load {
        Some(w) => Some(Workload::parse(w).ok_or_else(|| format!("unknown workload '{w}'"))?),
        None => None,
    };
    let (lag, load_result) = std::thread::scope(|s| {
        let bg = load.map(|w| {
            let cfg = RunConfig {
                label: "load".into(),
                workload: w,
                opts: OltpOptions {
                    tables: a.tables,
                    table_size: a.table_size,
                    ..OltpOptions::default()
                },
                threads: a.load_threads,
                duration: time,
                warmup: Duration::ZERO,
                seed: 1,
                progress: false,
                rss_pid: None,
            };
            let writer = writer.as_ref();
            s.spawn(move || runner::run(writer, &cfg))
        });
        let lag = probe_all(writer.as_ref(), &reps, time, interval, timeout);
        let load_result = bg.map(|h| h.join());
        (lag, load_result)
    });
    let lag = lag.map_err(|e| e.to_string())?;
    match load_result {
        Some(Ok(Ok(r))) => print_row(
            reps.len(),
            &format!("{} x{}", r.workload, r.threads),
            r.tps(),
            &lag,
        ),
        _ => print_row(reps.len(), "none", 0.0, &lag),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::{Conn, TargetInfo};
    use crate::workload::{Call, Dialect, Stmt};
    use parking_lot::Mutex;
    use std::sync::Arc;

    /// A target over a real one that logs every SQL text and, like a replica that has
    /// not yet applied the writer's CREATE TABLE, answers 1146 for `missing` after
    /// each connect.
    struct Wrap {
        inner: Box<dyn Target>,
        log: Arc<Mutex<Vec<String>>>,
        missing: Duration,
    }

    struct WrapConn {
        inner: Box<dyn Conn>,
        log: Arc<Mutex<Vec<String>>>,
        visible_at: Instant,
    }

    impl Target for Wrap {
        fn dialect(&self) -> Dialect {
            self.inner.dialect()
        }
        fn connect(&self, writes: bool) -> Result<Box<dyn Conn>, BenchError> {
            Ok(Box::new(WrapConn {
                inner: self.inner.connect(writes)?,
                log: self.log.clone(),
                visible_at: Instant::now() + self.missing,
            }))
        }
        fn info(&self) -> TargetInfo {
            self.inner.info()
        }
    }

    impl Conn for WrapConn {
        fn prepare(&mut self, stmts: &[Stmt], opts: &OltpOptions) -> Result<(), BenchError> {
            self.inner.prepare(stmts, opts)
        }
        fn exec(&mut self, call: &Call) -> Result<u64, BenchError> {
            self.inner.exec(call)
        }
        fn query(&mut self, sql: &str) -> Result<u64, BenchError> {
            self.log.lock().push(sql.to_string());
            if sql.contains("bench_lag") && Instant::now() < self.visible_at {
                return Err(BenchError::with_code(
                    1146,
                    "Table 'bench_lag' doesn't exist",
                ));
            }
            self.inner.query(sql)
        }
    }

    fn sqlite() -> Box<dyn Target> {
        crate::target::parse("sqlite:?sync=NORMAL", &TargetOptions::default()).expect("sqlite")
    }

    /// The ids of the probe rows inserted, in order.
    fn inserted(log: &Mutex<Vec<String>>) -> Vec<u64> {
        log.lock()
            .iter()
            .filter_map(|q| q.strip_prefix("INSERT INTO bench_lag (id, ts) VALUES ("))
            .filter_map(|rest| rest.split(',').next()?.parse().ok())
            .collect()
    }

    #[test]
    fn probing_waits_for_the_table_on_the_replica_and_does_not_time_it() {
        let db: Arc<dyn Target> = Arc::from(sqlite());
        struct Shared(Arc<dyn Target>);
        impl Target for Shared {
            fn dialect(&self) -> Dialect {
                self.0.dialect()
            }
            fn connect(&self, writes: bool) -> Result<Box<dyn Conn>, BenchError> {
                self.0.connect(writes)
            }
            fn info(&self) -> TargetInfo {
                self.0.info()
            }
        }
        let replica = Wrap {
            inner: Box::new(Shared(db.clone())),
            log: Default::default(),
            missing: Duration::from_millis(500),
        };
        let r = probe(
            &Shared(db),
            &replica,
            Duration::from_millis(200),
            Duration::from_millis(5),
            Duration::from_secs(5),
        )
        .expect("the replica's 1146 before its table appears is not an error");
        assert!(r.probes > 3, "{r:?}");
        assert_eq!(r.timeouts, 0);
        assert!(r.max_ms < 500.0, "the table wait is not lag: {r:?}");
    }

    #[test]
    fn a_later_session_never_reuses_a_probe_id() {
        let writer = Wrap {
            inner: sqlite(),
            log: Default::default(),
            missing: Duration::ZERO,
        };
        let short = Duration::from_millis(60);
        let gap = Duration::from_millis(1);
        probe(&writer, &writer, short, gap, Duration::from_secs(5)).expect("first session");
        let first = inserted(&writer.log);
        writer.log.lock().clear();
        probe(&writer, &writer, short, gap, Duration::from_secs(5)).expect("second session");
        let second = inserted(&writer.log);
        assert!(!first.is_empty() && !second.is_empty());
        let last = first.iter().max().expect("non-empty");
        // The table is cleared between sessions, but a replica that has not applied the
        // DELETE yet still shows the old rows: a reused id would be "seen" at once.
        assert!(
            second.iter().all(|id| id > last),
            "{first:?} then {second:?}"
        );
    }
}
