//! Replica lag probe: commit a timestamped row on the writer, then poll a replica until
//! the row is visible; the lag is the time from the writer's commit acknowledgement to
//! the first poll that sees the row. Optionally under a concurrent sysbench load on the
//! writer. Works with any two targets (a replica endpoint once replicas exist; pointing
//! both at the same server measures the probe's own floor, one round trip).
//!
//! Invariant: each probe row has a fresh id, so a row can only be seen after its own
//! commit; polls that time out are counted, not folded into the percentiles.

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
    /// Replica target.
    #[arg(long)]
    pub replica: String,
    /// Seconds of probing.
    #[arg(long, default_value_t = 10.0)]
    pub time: f64,
    /// Pause between probes in milliseconds.
    #[arg(long, default_value_t = 10)]
    pub interval_ms: u64,
    /// Give up on one row after this many milliseconds.
    #[arg(long, default_value_t = 5000)]
    pub timeout_ms: u64,
    /// Background workload on the writer while probing (tables must be prepared).
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

/// Probe for `time`: one row per `interval`.
pub fn probe(
    writer: &dyn Target,
    replica: &dyn Target,
    time: Duration,
    interval: Duration,
    timeout: Duration,
) -> Result<LagResult, BenchError> {
    let mut w = writer.connect(true)?;
    let mut r = replica.connect(false)?;
    w.query(
        "CREATE TABLE IF NOT EXISTS bench_lag (id BIGINT NOT NULL PRIMARY KEY, ts BIGINT NOT NULL)",
    )?;
    w.query("DELETE FROM bench_lag")?;
    let mut h = Histogram::default();
    let mut out = LagResult::default();
    let start = Instant::now();
    let mut id: u64 = 0;
    while start.elapsed() < time {
        id += 1;
        let ts = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_micros() as u64)
            .unwrap_or(0);
        // Autocommit: the INSERT returns after its commit.
        w.query(&format!(
            "INSERT INTO bench_lag (id, ts) VALUES ({id}, {ts})"
        ))?;
        let committed = Instant::now();
        let select = format!("SELECT ts FROM bench_lag WHERE id = {id}");
        loop {
            if r.query(&select)? > 0 {
                h.record(committed.elapsed().as_nanos() as u64);
                out.probes += 1;
                break;
            }
            if committed.elapsed() > timeout {
                out.timeouts += 1;
                break;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        std::thread::sleep(interval);
    }
    out.p50_ms = h.quantile(0.5) as f64 / 1e6;
    out.p95_ms = h.quantile(0.95) as f64 / 1e6;
    out.p99_ms = h.quantile(0.99) as f64 / 1e6;
    out.max_ms = h.max() as f64 / 1e6;
    Ok(out)
}

pub fn main(a: &LagArgs) -> Result<(), String> {
    let topts = TargetOptions::default();
    let writer = crate::target::parse(&a.writer, &topts).map_err(|e| e.to_string())?;
    let replica = crate::target::parse(&a.replica, &topts).map_err(|e| e.to_string())?;
    let time = Duration::from_secs_f64(a.time);
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
        let lag = probe(
            writer.as_ref(),
            replica.as_ref(),
            time,
            Duration::from_millis(a.interval_ms),
            Duration::from_millis(a.timeout_ms),
        );
        let load_result = bg.map(|h| h.join());
        (lag, load_result)
    });
    let lag = lag.map_err(|e| e.to_string())?;
    println!(
        "| probes | timeouts | lag p50 ms | p95 ms | p99 ms | max ms |\n|---|---|---|---|---|---|"
    );
    println!(
        "| {} | {} | {:.3} | {:.3} | {:.3} | {:.3} |",
        lag.probes, lag.timeouts, lag.p50_ms, lag.p95_ms, lag.p99_ms, lag.max_ms
    );
    if let Some(Ok(Ok(r))) = load_result {
        println!(
            "\nbackground load: {} x{}: {:.1} tps, errors {}",
            r.workload,
            r.threads,
            r.tps(),
            r.errors
        );
    }
    Ok(())
}
