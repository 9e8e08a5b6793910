//! Drives a workload against a target: `prepare` (create and load the tables),
//! `cleanup` (drop them) and `run` (worker threads, warm-up, measured window).
//!
//! A run: every worker connects and prepares its statements, then all meet at a barrier
//! so connection setup is never timed. The warm-up runs events unrecorded; then events
//! that *start* inside the measured window are recorded, and the window ends when the
//! last recorded event finishes. An event that hits a retryable error (deadlock, lock
//! wait timeout, SQLITE_BUSY) is rolled back and restarted with fresh random values,
//! counted in `retries`, its latency spanning all attempts: sysbench's behaviour
//! (sysbench itself sends no ROLLBACK; one is sent here so a lock wait timeout, which
//! rolls back only the statement, cannot leave the transaction's earlier writes to be
//! committed by the next BEGIN). Any other error abandons the event and counts in
//! `errors` (sysbench would stop the run; the count makes the failure visible instead).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Barrier, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use crate::histogram::Histogram;
use crate::machine::utc_now;
use crate::report::{Latency, RunResult};
use crate::rng::Rng;
use crate::rss::RssSampler;
use crate::target::{BenchError, Result, Target};
use crate::workload::data::{create_index, create_table, drop_table, rows, table_rng, LOAD_BATCH};
use crate::workload::event::generate;
use crate::workload::stmt::QueryClass;
use crate::workload::{OltpOptions, Workload};

/// At most this many distinct error messages are kept per run.
const ERROR_SAMPLES: usize = 5;
/// A worker gives up an event after this many consecutive retries (a target that
/// deadlocks forever would otherwise hang the run past its deadline).
const MAX_RETRIES_PER_EVENT: u32 = 1000;

#[derive(Clone, Debug)]
pub struct RunConfig {
    pub label: String,
    pub workload: Workload,
    pub opts: OltpOptions,
    pub threads: usize,
    pub duration: Duration,
    pub warmup: Duration,
    pub seed: u64,
    pub progress: bool,
    /// Process whose peak RSS to record (the server, or this process when in-process).
    pub rss_pid: Option<u32>,
}

fn bar(progress: bool, len: u64, msg: String) -> ProgressBar {
    if !progress {
        return ProgressBar::hidden();
    }
    let b = ProgressBar::new(len);
    b.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}")
            .expect("static template is valid"),
    );
    b.set_message(msg);
    b
}

/// Create `opts.tables` tables of `opts.table_size` rows each, with up to `threads`
/// tables loading in parallel (each on its own connection). Returns seconds taken.
pub fn prepare(
    target: &dyn Target,
    opts: &OltpOptions,
    seed: u64,
    threads: usize,
    progress: bool,
) -> Result<f64> {
    let t0 = Instant::now();
    let total = opts.tables as u64 * opts.table_size as u64;
    let pb = bar(progress, total, "rows loaded".into());
    let next = AtomicU64::new(1);
    let first_err: Mutex<Option<BenchError>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..threads.clamp(1, opts.tables.max(1) as usize) {
            s.spawn(|| {
                let res = (|| -> Result<()> {
                    let mut conn = target.connect(true)?;
                    loop {
                        let t = next.fetch_add(1, Ordering::Relaxed) as u32;
                        if t > opts.tables {
                            return Ok(());
                        }
                        conn.query(&drop_table(t))?;
                        conn.query(&create_table(t, target.dialect()))?;
                        let mut rng = table_rng(seed, t);
                        let mut left = opts.table_size as usize;
                        while left > 0 {
                            let n = left.min(LOAD_BATCH);
                            conn.load(t, &rows(&mut rng, opts.rand_type, opts.table_size, n))?;
                            pb.inc(n as u64);
                            left -= n;
                        }
                        conn.query(&create_index(t))?;
                    }
                })();
                if let Err(e) = res {
                    first_err
                        .lock()
                        .expect("no panics while holding")
                        .get_or_insert(e);
                }
            });
        }
    });
    pb.finish_and_clear();
    if let Some(e) = first_err.into_inner().expect("no panics while holding") {
        return Err(e);
    }
    Ok(t0.elapsed().as_secs_f64())
}

/// Drop the sysbench tables.
pub fn cleanup(target: &dyn Target, tables: u32) -> Result<()> {
    let mut conn = target.connect(true)?;
    for t in 1..=tables {
        conn.query(&drop_table(t))?;
    }
    Ok(())
}

#[derive(Default)]
struct WorkerStats {
    hist: Histogram,
    events: u64,
    reads: u64,
    writes: u64,
    other: u64,
    errors: u64,
    retries: u64,
    samples: Vec<String>,
    last_end: Option<Instant>,
}

impl WorkerStats {
    fn sample(&mut self, e: &BenchError) {
        let m = e.to_string();
        if self.samples.len() < ERROR_SAMPLES && !self.samples.contains(&m) {
            self.samples.push(m);
        }
    }
}

/// Run one workload; returns the merged figures of all workers.
pub fn run(target: &dyn Target, cfg: &RunConfig) -> Result<RunResult> {
    let threads = cfg.threads.max(1);
    let stmts = cfg.workload.statements(&cfg.opts);
    let ready = Barrier::new(threads + 1);
    let measuring = AtomicBool::new(false);
    let stop = AtomicBool::new(false);
    let live_events = AtomicU64::new(0);
    let started_at = utc_now();
    let mut results: Vec<Result<WorkerStats>> = Vec::new();
    let mut window_start = Instant::now();
    let mut rss = None;

    std::thread::scope(|s| {
        let mut handles = Vec::new();
        for tid in 0..threads {
            let (ready, measuring, stop, live) = (&ready, &measuring, &stop, &live_events);
            let stmts = &stmts;
            handles.push(s.spawn(move || -> Result<WorkerStats> {
                let setup = target
                    .connect(cfg.workload.writes())
                    .and_then(|mut c| c.prepare(stmts, &cfg.opts).map(|_| c));
                // Always reach the barrier, or the other threads would wait forever.
                ready.wait();
                let mut conn = setup?;
                let mut rng = Rng::for_thread(cfg.seed, tid);
                let mut st = WorkerStats::default();
                while !stop.load(Ordering::Relaxed) {
                    let record = measuring.load(Ordering::Relaxed);
                    let t0 = Instant::now();
                    let mut tries = 0;
                    let ok = loop {
                        let calls = generate(cfg.workload, &cfg.opts, &mut rng, tid, threads);
                        let (mut r, mut w, mut o) = (0, 0, 0);
                        let mut failed = None;
                        for call in &calls {
                            match conn.exec(call) {
                                Ok(_) => match call.stmt.kind.class() {
                                    QueryClass::Read => r += 1,
                                    QueryClass::Write => w += 1,
                                    QueryClass::Other => o += 1,
                                },
                                Err(e) => {
                                    failed = Some(e);
                                    break;
                                }
                            }
                        }
                        if record {
                            st.reads += r;
                            st.writes += w;
                            st.other += o;
                        }
                        let Some(e) = failed else { break Some(true) };
                        // Best effort: the connection may already be out of its transaction.
                        let _ = conn.rollback();
                        if record {
                            st.sample(&e);
                        }
                        if e.retryable && tries < MAX_RETRIES_PER_EVENT {
                            if stop.load(Ordering::Relaxed) {
                                // The run ended while the event waited to be retried: it
                                // neither completed nor failed.
                                break None;
                            }
                            tries += 1;
                            if record {
                                st.retries += 1;
                            }
                            continue;
                        }
                        break Some(false);
                    };
                    let Some(ok) = ok else { break };
                    if !record {
                        continue;
                    }
                    let end = Instant::now();
                    if ok {
                        st.hist.record((end - t0).as_nanos() as u64);
                        st.events += 1;
                        live.fetch_add(1, Ordering::Relaxed);
                    } else {
                        st.errors += 1;
                    }
                    st.last_end = Some(end);
                }
                Ok(st)
            }));
        }

        ready.wait();
        let total = (cfg.warmup + cfg.duration).as_millis() as u64;
        let pb = bar(
            cfg.progress,
            total / 1000,
            format!("{} x{} ({})", cfg.workload.name(), threads, cfg.label),
        );
        let t0 = Instant::now();
        while t0.elapsed() < cfg.warmup {
            std::thread::sleep(Duration::from_millis(100).min(cfg.warmup));
            pb.set_position(t0.elapsed().as_secs());
        }
        rss = cfg.rss_pid.map(RssSampler::start);
        window_start = Instant::now();
        measuring.store(true, Ordering::Relaxed);
        let mut last = (window_start, 0u64);
        while window_start.elapsed() < cfg.duration {
            std::thread::sleep(Duration::from_millis(100).min(cfg.duration));
            let now = Instant::now();
            if now - last.0 >= Duration::from_secs(1) {
                let ev = live_events.load(Ordering::Relaxed);
                let tps = (ev - last.1) as f64 / (now - last.0).as_secs_f64();
                pb.set_message(format!(
                    "{} x{} ({}): {tps:.0} tps",
                    cfg.workload.name(),
                    threads,
                    cfg.label
                ));
                last = (now, ev);
            }
            pb.set_position(t0.elapsed().as_secs());
        }
        stop.store(true, Ordering::Relaxed);
        pb.finish_and_clear();
        for h in handles {
            results.push(
                h.join()
                    .unwrap_or_else(|_| Err(BenchError::new("worker panicked"))),
            );
        }
    });

    let peak_rss_kib = rss.map(|r| r.finish().0);
    let mut hist = Histogram::default();
    let mut out = RunResult {
        label: cfg.label.clone(),
        target: target.info(),
        workload: cfg.workload.name().into(),
        threads,
        tables: cfg.opts.tables,
        table_size: cfg.opts.table_size,
        rand_type: cfg.opts.rand_type.name().into(),
        seed: cfg.seed,
        warmup_s: cfg.warmup.as_secs_f64(),
        peak_rss_kib,
        started_at,
        ..Default::default()
    };
    let mut window_end = window_start + cfg.duration;
    for r in results {
        let st = r?;
        hist.merge(&st.hist);
        out.events += st.events;
        out.reads += st.reads;
        out.writes += st.writes;
        out.other += st.other;
        out.errors += st.errors;
        out.retries += st.retries;
        for m in st.samples {
            if out.error_samples.len() < ERROR_SAMPLES && !out.error_samples.contains(&m) {
                out.error_samples.push(m);
            }
        }
        if let Some(e) = st.last_end {
            window_end = window_end.max(e);
        }
    }
    out.elapsed_s = (window_end - window_start).as_secs_f64();
    let ms = |ns: u64| ns as f64 / 1e6;
    out.latency = Latency {
        min: ms(hist.min()),
        avg: hist.mean() / 1e6,
        p50: ms(hist.quantile(0.50)),
        p95: ms(hist.quantile(0.95)),
        p99: ms(hist.quantile(0.99)),
        max: ms(hist.max()),
    };
    Ok(out)
}
