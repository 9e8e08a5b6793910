//! Every sysbench workload of borealis-bench runs without errors: against the embedded
//! engine in memory (the brief's integration test) and against SQLite (which checks the
//! harness itself independently of the engine's progress). Tiny tables, short runs: the
//! point is that every statement of every workload executes, not the speed.

use std::time::Duration;

use borealis_bench::lag;
use borealis_bench::runner::{self, RunConfig};
use borealis_bench::target::{self, Target, TargetOptions};
use borealis_bench::workload::{OltpOptions, Workload};

const SEED: u64 = 0xbe9c4;

fn opts(tables: u32) -> OltpOptions {
    OltpOptions {
        tables,
        table_size: 300,
        ..OltpOptions::default()
    }
}

/// Load `tables` tables, then run each workload for `secs` at 2 threads; assert no errors.
fn all_workloads_run_clean(t: &dyn Target, tables: u32, secs: f64) {
    println!("seed {SEED}");
    let o = opts(tables);
    runner::cleanup(t, o.tables).expect("cleanup");
    runner::prepare(t, &o, SEED, 2, false).expect("prepare");
    for w in Workload::ALL {
        let o = OltpOptions {
            // select_random_ranges supports one table only (as in sysbench).
            tables: if w == Workload::SelectRandomRanges {
                1
            } else {
                o.tables
            },
            ..o.clone()
        };
        let cfg = RunConfig {
            label: "test".into(),
            workload: w,
            opts: o,
            threads: 2,
            duration: Duration::from_secs_f64(secs),
            warmup: Duration::ZERO,
            seed: SEED,
            progress: false,
            rss_pid: None,
        };
        let r = runner::run(t, &cfg).expect("run");
        println!(
            "{} {:.0} tps, {} errors, {} retries",
            w.name(),
            r.tps(),
            r.errors,
            r.retries
        );
        assert_eq!(r.errors, 0, "{}: {:?}", w.name(), r.error_samples);
        assert!(r.events > 0, "{}: no events completed", w.name());
        let per_event = match w {
            Workload::ReadWrite => 20,
            Workload::ReadOnly => 16,
            Workload::WriteOnly => 6,
            _ => 1,
        };
        // Retried attempts also count their statements, so at least, not exactly.
        assert!(r.queries() >= r.events * per_event, "{}", w.name());
        assert!(r.latency.p99 >= r.latency.p50 && r.latency.max >= r.latency.p99);
    }
}

#[test]
fn bench_workloads_embedded_in_memory() {
    let t = target::parse("embedded:mem", &TargetOptions::default()).expect("open");
    all_workloads_run_clean(t.as_ref(), 2, 1.0);
}

/// Over the wire with prepared statements, as the comparison with MariaDB runs, on four
/// tables as its default does: a connection then holds more prepared statements than the
/// mysql crate's default statement cache, which once closed them under the harness.
#[test]
fn bench_workloads_over_the_wire() {
    let server = borealis_server::TestServer::start_in_memory();
    let admin = target::parse(&server.url(), &TargetOptions::default()).expect("open");
    admin
        .connect(true)
        .and_then(|mut c| c.query("CREATE DATABASE sbtest"))
        .expect("create the database");
    let t = target::parse(
        &format!("{}sbtest", server.url()),
        &TargetOptions::default(),
    )
    .expect("open");
    all_workloads_run_clean(t.as_ref(), 4, 0.5);
}

#[test]
fn bench_workloads_sqlite() {
    let t = target::parse("sqlite:?sync=NORMAL", &TargetOptions::default()).expect("open");
    all_workloads_run_clean(t.as_ref(), 2, 0.3);
}

#[test]
fn bench_lag_probe_sees_its_rows() {
    // Writer and replica are one SQLite database: the lag is the probe's own floor.
    let t = target::parse("sqlite:", &TargetOptions::default()).expect("open");
    let r = lag::probe(
        t.as_ref(),
        t.as_ref(),
        Duration::from_millis(300),
        Duration::from_millis(5),
        Duration::from_secs(2),
    )
    .expect("probe");
    assert!(r.probes > 5, "{r:?}");
    assert_eq!(r.timeouts, 0);
    assert!(r.p50_ms < 50.0, "{r:?}");
}
