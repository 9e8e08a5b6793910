//! `borealis-bench`: the command line over the library (see lib.rs for the flow).
//!
//! ```text
//! borealis-bench prepare --target mysql://sbtest:sbtest@127.0.0.1:3306/sbtest --tables 4 --table-size 100000
//! borealis-bench run     --target embedded:mem --prepare --workload oltp_read_write --threads 1,8 --time 30
//! borealis-bench compare --target borealis=mysql://... --target mariadb=mysql://... \
//!                        --workloads oltp_point_select,oltp_read_write --threads 1,8,32 --out bench/results/x
//! borealis-bench volume  --committers 1,8,64 --records 20000
//! borealis-bench lag     --writer mysql://... --replica mysql://... --time 10
//! borealis-bench report  --out bench/results/x
//! borealis-bench planner --join-tables 12 --table-size 10000
//! ```

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use borealis_bench::machine::Machine;
use borealis_bench::report::{markdown_ratios, markdown_runs, markdown_targets, RunResult};
use borealis_bench::rng::Distribution;
use borealis_bench::runner::{self, RunConfig};
use borealis_bench::target::{self, Target, TargetOptions};
use borealis_bench::workload::{OltpOptions, Workload};
use borealis_bench::{lag, planner, plot, volume};

/// Borealis's allocations in this binary go through mimalloc, as in the server binary (SQLite
/// keeps its own default, the C library's malloc). The engine allocates per row and per
/// statement on many threads at once; with glibc's malloc that was a fifth of a connection
/// thread's CPU under sysbench, and mimalloc gave 15-20% more oltp_read_only and
/// oltp_read_write transactions per second (measured A/B, bench/RESULTS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "borealis-bench",
    version,
    about = "sysbench-style benchmarks for Borealis, MariaDB and SQLite"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Create and load the sbtest tables.
    Prepare {
        #[arg(long)]
        target: String,
        #[command(flatten)]
        common: Common,
    },
    /// Drop the sbtest tables.
    Cleanup {
        #[arg(long)]
        target: String,
        #[command(flatten)]
        common: Common,
    },
    /// Run workloads against one target.
    Run {
        #[arg(long)]
        target: String,
        /// Name of the target in tables and plots.
        #[arg(long, default_value = "target")]
        label: String,
        #[command(flatten)]
        matrix: Matrix,
        #[command(flatten)]
        common: Common,
    },
    /// Run workloads against several targets, alternating them, and print ratios.
    Compare {
        /// LABEL=SPEC, repeated; the first label is the reference of the ratios.
        #[arg(long = "target", required = true)]
        targets: Vec<String>,
        /// LABEL=PID: record the peak RSS of that server process during each run.
        #[arg(long = "rss-pid")]
        rss_pids: Vec<String>,
        #[command(flatten)]
        matrix: Matrix,
        #[command(flatten)]
        common: Common,
    },
    /// Storage-level figures: append throughput and commit latency of a Volume.
    Volume(volume::VolumeArgs),
    /// Replica lag: commit a timestamped row on the writer, poll the replica.
    Lag(lag::LagArgs),
    /// Planner: plan time of many-table joins and sysbench statement latency, embedded.
    Planner(planner::PlannerArgs),
    /// Run SQL statements on a target (e.g. CREATE DATABASE) and print row counts.
    Exec {
        #[arg(long)]
        target: String,
        sql: Vec<String>,
    },
    /// Re-render RESULTS.md and the plots from the results.json files in --out.
    Report {
        #[arg(long)]
        out: PathBuf,
        /// Reference label for the ratio table.
        #[arg(long)]
        reference: Option<String>,
    },
}

#[derive(Args, Clone)]
struct Common {
    #[arg(long, default_value_t = 1)]
    tables: u32,
    #[arg(long, default_value_t = 10_000)]
    table_size: u32,
    /// uniform, special (sysbench 1.0's default), gaussian or pareto.
    #[arg(long, default_value = "special")]
    rand_type: String,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Embedded engine: fsync on commit (on/off).
    #[arg(long, default_value = "on")]
    fsync: String,
    /// SQLite PRAGMA synchronous.
    #[arg(long, default_value = "FULL")]
    sqlite_sync: String,
    /// Parallel loaders for prepare (one table each).
    #[arg(long, default_value_t = 1)]
    load_threads: usize,
    /// No progress bars.
    #[arg(long)]
    quiet: bool,
    /// sysbench's options (defaults are sysbench's).
    #[arg(long, default_value_t = 100)]
    range_size: u32,
    #[arg(long, default_value_t = 10)]
    point_selects: u32,
    #[arg(long)]
    skip_trx: bool,
}

#[derive(Args, Clone)]
struct Matrix {
    /// Comma-separated workload names.
    #[arg(
        long = "workloads",
        alias = "workload",
        default_value = "oltp_read_write"
    )]
    workloads: String,
    /// Comma-separated thread counts.
    #[arg(long, default_value = "1")]
    threads: String,
    /// Measured seconds per run.
    #[arg(long, default_value_t = 10.0)]
    time: f64,
    /// Unmeasured seconds before each run.
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// Load the tables first (cleanup + prepare).
    #[arg(long)]
    prepare: bool,
    /// Directory for results.json, RESULTS.md and plots.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Repeat the whole matrix this many times (targets alternate within each round).
    #[arg(long, default_value_t = 1)]
    rounds: usize,
}

fn oltp_options(c: &Common) -> Result<OltpOptions, String> {
    Ok(OltpOptions {
        tables: c.tables,
        table_size: c.table_size,
        range_size: c.range_size,
        point_selects: c.point_selects,
        skip_trx: c.skip_trx,
        rand_type: Distribution::parse(&c.rand_type)
            .ok_or_else(|| format!("unknown --rand-type {}", c.rand_type))?,
        ..OltpOptions::default()
    })
}

fn target_options(c: &Common) -> Result<TargetOptions, String> {
    let fsync = match c.fsync.as_str() {
        "on" | "true" | "1" => true,
        "off" | "false" | "0" => false,
        other => return Err(format!("--fsync must be on or off, not {other}")),
    };
    Ok(TargetOptions {
        fsync,
        sqlite_sync: c.sqlite_sync.clone(),
        ..TargetOptions::default()
    })
}

fn open(spec: &str, c: &Common) -> Result<Box<dyn Target>, String> {
    target::parse(spec, &target_options(c)?).map_err(|e| e.to_string())
}

struct Labelled {
    label: String,
    target: Box<dyn Target>,
    rss_pid: Option<u32>,
}

fn list<T: std::str::FromStr>(s: &str, what: &str) -> Result<Vec<T>, String> {
    s.split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(|x| x.parse().map_err(|_| format!("bad {what} '{x}'")))
        .collect()
}

/// Where an in-process target's data lives, for the disk description.
fn data_dir(targets: &[Labelled]) -> PathBuf {
    for t in targets {
        let url = t.target.info().url;
        for p in ["embedded:", "sqlite:"] {
            if let Some(rest) = url.strip_prefix(p) {
                if rest != "mem" && !rest.is_empty() {
                    return Path::new(rest)
                        .parent()
                        .map(Path::to_path_buf)
                        .unwrap_or_else(|| PathBuf::from("."));
                }
            }
        }
    }
    PathBuf::from(".")
}

fn run_matrix(targets: &[Labelled], m: &Matrix, c: &Common) -> Result<Vec<RunResult>, String> {
    let opts = oltp_options(c)?;
    let workloads: Vec<Workload> = m
        .workloads
        .split(',')
        .map(|w| Workload::parse(w.trim()).ok_or_else(|| format!("unknown workload '{w}'")))
        .collect::<Result<_, _>>()?;
    let threads: Vec<usize> = list(&m.threads, "thread count")?;
    if m.prepare {
        for t in targets {
            eprintln!(
                "prepare {} ({} x {} rows)",
                t.label, opts.tables, opts.table_size
            );
            runner::cleanup(t.target.as_ref(), opts.tables).map_err(|e| e.to_string())?;
            let secs = runner::prepare(t.target.as_ref(), &opts, c.seed, c.load_threads, !c.quiet)
                .map_err(|e| format!("prepare {}: {e}", t.label))?;
            eprintln!("prepare {}: {secs:.1} s", t.label);
        }
    }
    let mut runs = Vec::new();
    for round in 0..m.rounds.max(1) {
        for &w in &workloads {
            for &th in &threads {
                // Targets alternate within each (workload, threads) cell, so slow drifts
                // of the machine hit every target alike.
                for t in targets {
                    let cfg = RunConfig {
                        label: t.label.clone(),
                        workload: w,
                        opts: opts.clone(),
                        threads: th,
                        duration: Duration::from_secs_f64(m.time),
                        warmup: Duration::from_secs_f64(m.warmup),
                        seed: c.seed.wrapping_add(round as u64),
                        progress: !c.quiet,
                        rss_pid: t.rss_pid,
                    };
                    let r = runner::run(t.target.as_ref(), &cfg)
                        .map_err(|e| format!("{} {} x{th}: {e}", t.label, w.name()))?;
                    eprintln!(
                        "{:>10} {:<22} thr {:>3}: {:>10.1} tps {:>10.1} qps  p95 {:>8.3} ms  errors {} retries {}{}",
                        r.label,
                        r.workload,
                        r.threads,
                        r.tps(),
                        r.qps(),
                        r.latency.p95,
                        r.errors,
                        r.retries,
                        r.error_samples
                            .first()
                            .map(|s| format!("  first error: {s}"))
                            .unwrap_or_default()
                    );
                    runs.push(r);
                }
            }
        }
    }
    Ok(runs)
}

fn results_markdown(runs: &[RunResult], machine: &Machine, reference: &str) -> String {
    let mut s = String::from("# Benchmark results\n\n");
    s.push_str(&machine.markdown());
    s.push_str("\nTargets:\n\n");
    s.push_str(&markdown_targets(runs));
    if let Some(r) = runs.first() {
        s.push_str(&format!(
            "\nData: {} tables x {} rows, --rand-type={}, seed {}; warm-up {:.0} s, measured window about {:.0} s per run.\n",
            r.tables, r.table_size, r.rand_type, r.seed, r.warmup_s, r.elapsed_s
        ));
    }
    let labels: Vec<&str> = {
        let mut v: Vec<&str> = Vec::new();
        for r in runs {
            if !v.contains(&r.label.as_str()) {
                v.push(&r.label);
            }
        }
        v
    };
    if labels.len() > 1 {
        s.push_str(&format!("\n## {reference} against each peer\n\n"));
        s.push_str(&markdown_ratios(runs, reference));
    }
    s.push_str("\n## All runs\n\n");
    s.push_str(&markdown_runs(runs));
    let mut errs = String::new();
    for r in runs.iter().filter(|r| !r.error_samples.is_empty()) {
        errs.push_str(&format!(
            "- {} {} x{}: {}\n",
            r.label,
            r.workload,
            r.threads,
            r.error_samples.join(" | ")
        ));
    }
    if !errs.is_empty() {
        s.push_str("\nErrors seen (first distinct messages):\n\n");
        s.push_str(&errs);
    }
    let mut workloads: Vec<&str> = Vec::new();
    for r in runs {
        if !workloads.contains(&r.workload.as_str()) {
            workloads.push(&r.workload);
        }
    }
    if !workloads.is_empty() {
        s.push_str("\n## Plots\n\n");
        for w in workloads {
            s.push_str(&format!(
                "![{w} throughput](throughput_{w}.svg) ![{w} latency](latency_{w}.svg)\n\n"
            ));
        }
    }
    s
}

fn write_results(
    out: &Path,
    runs: &[RunResult],
    machine: &Machine,
    reference: &str,
) -> Result<(), String> {
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let json = serde_json::json!({
        "machine": machine.to_json(),
        "runs": runs.iter().map(RunResult::to_json).collect::<Vec<_>>(),
    });
    let text = serde_json::to_string_pretty(&json).map_err(|e| e.to_string())?;
    std::fs::write(out.join("results.json"), text).map_err(|e| e.to_string())?;
    plot::plot_all(runs, out)?;
    std::fs::write(
        out.join("RESULTS.md"),
        results_markdown(runs, machine, reference),
    )
    .map_err(|e| e.to_string())?;
    eprintln!("results written to {}", out.display());
    Ok(())
}

fn load_results(out: &Path) -> Result<(Vec<RunResult>, Machine), String> {
    let text = std::fs::read_to_string(out.join("results.json"))
        .map_err(|e| format!("{}: {e}", out.display()))?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let runs = v
        .get("runs")
        .and_then(|r| r.as_array())
        .ok_or("results.json has no runs")?
        .iter()
        .filter_map(RunResult::from_json)
        .collect();
    let m = v.get("machine").cloned().unwrap_or_default();
    let s = |k: &str| m.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
    let machine = Machine {
        cores: m.get("cores").and_then(|x| x.as_u64()).unwrap_or(0) as usize,
        cpu_model: s("cpu_model"),
        mem_total_gib: m
            .get("mem_total_gib")
            .and_then(|x| x.as_f64())
            .unwrap_or(0.0),
        kernel: s("kernel"),
        os: s("os"),
        disk: s("disk"),
        borealis_version: s("borealis_version"),
        git_commit: s("git_commit"),
        rustc: s("rustc"),
        command: s("command"),
        date: s("date"),
        loadavg: s("loadavg"),
    };
    Ok((runs, machine))
}

fn in_process(t: &dyn Target) -> bool {
    matches!(t.info().kind.as_str(), "embedded" | "sqlite")
}

fn main_inner() -> Result<(), String> {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Prepare { target, common } => {
            let t = open(&target, &common)?;
            let opts = oltp_options(&common)?;
            runner::cleanup(t.as_ref(), opts.tables).map_err(|e| e.to_string())?;
            let secs = runner::prepare(
                t.as_ref(),
                &opts,
                common.seed,
                common.load_threads,
                !common.quiet,
            )
            .map_err(|e| e.to_string())?;
            println!(
                "prepared {} tables x {} rows in {secs:.1} s",
                opts.tables, opts.table_size
            );
        }
        Cmd::Cleanup { target, common } => {
            let t = open(&target, &common)?;
            runner::cleanup(t.as_ref(), common.tables).map_err(|e| e.to_string())?;
            println!("dropped {} tables", common.tables);
        }
        Cmd::Run {
            target,
            label,
            matrix,
            common,
        } => {
            let t = open(&target, &common)?;
            let rss_pid = in_process(t.as_ref()).then(std::process::id);
            let targets = vec![Labelled {
                label: label.clone(),
                target: t,
                rss_pid,
            }];
            // Detected before the runs, so the load average is the machine's, not ours.
            let machine = Machine::detect(&data_dir(&targets));
            let runs = run_matrix(&targets, &matrix, &common)?;
            println!("{}", markdown_runs(&runs));
            if let Some(out) = &matrix.out {
                write_results(out, &runs, &machine, &label)?;
            }
        }
        Cmd::Compare {
            targets,
            rss_pids,
            matrix,
            common,
        } => {
            let mut ts = Vec::new();
            for spec in &targets {
                let (label, url) = spec
                    .split_once('=')
                    .ok_or_else(|| format!("--target must be LABEL=SPEC, got '{spec}'"))?;
                let t = open(url, &common)?;
                let mut rss_pid = in_process(t.as_ref()).then(std::process::id);
                for p in &rss_pids {
                    if let Some((l, pid)) = p.split_once('=') {
                        if l == label {
                            rss_pid = Some(pid.parse().map_err(|_| format!("bad pid '{pid}'"))?);
                        }
                    }
                }
                ts.push(Labelled {
                    label: label.to_string(),
                    target: t,
                    rss_pid,
                });
            }
            let reference = ts.first().map(|t| t.label.clone()).unwrap_or_default();
            let machine = Machine::detect(&data_dir(&ts));
            let runs = run_matrix(&ts, &matrix, &common)?;
            println!("{}", markdown_ratios(&runs, &reference));
            println!("{}", markdown_runs(&runs));
            if let Some(out) = &matrix.out {
                write_results(out, &runs, &machine, &reference)?;
            }
        }
        Cmd::Exec { target, sql } => {
            let t = target::parse(&target, &TargetOptions::default()).map_err(|e| e.to_string())?;
            let mut c = t.connect(true).map_err(|e| e.to_string())?;
            for q in &sql {
                let n = c.query(q).map_err(|e| format!("{q}: {e}"))?;
                println!("{n} rows: {q}");
            }
        }
        Cmd::Volume(args) => volume::main(&args)?,
        Cmd::Lag(args) => lag::main(&args)?,
        Cmd::Planner(args) => planner::main(&args)?,
        Cmd::Report { out, reference } => {
            let (runs, machine) = load_results(&out)?;
            let reference = reference
                .or_else(|| runs.first().map(|r| r.label.clone()))
                .unwrap_or_default();
            write_results(&out, &runs, &machine, &reference)?;
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    match main_inner() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("borealis-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
