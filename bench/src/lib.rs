//! Borealis benchmarks: sysbench's OLTP workloads re-implemented in Rust, run against
//! any MySQL-protocol server, the embedded engine in-process, or SQLite, plus
//! storage-level (volume) and replica-lag probes.
//!
//! A run end to end: `main.rs` parses a target URL into a [`target::Target`]
//! (`mysql://`, `embedded:`, `sqlite:`); [`runner::prepare`] creates and loads the
//! sysbench tables through one connection; [`runner::run`] starts one worker thread per
//! client, each with its own connection that prepares the workload's statements
//! ([`workload::Workload::statements`]), warms up, then loops generating events
//! ([`workload::event::generate`]) until the deadline, retrying deadlocks as sysbench
//! does and recording latencies in a [`histogram::Histogram`]. The merged
//! [`report::RunResult`] is printed as Markdown, saved as JSON and plotted
//! ([`plot`]), together with the [`machine::Machine`] it ran on.

pub mod histogram;
pub mod lag;
pub mod machine;
pub mod planner;
pub mod plot;
pub mod report;
pub mod rng;
pub mod rss;
pub mod runner;
pub mod target;
pub mod volume;
pub mod workload;
