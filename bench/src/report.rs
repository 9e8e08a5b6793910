//! Results of runs: the numbers sysbench prints (TPS, QPS, latency percentiles, errors,
//! retries), as Markdown tables and JSON, and the Borealis/peer comparison table.
//!
//! Invariant: TPS and QPS are per second of the measured window (warm-up excluded);
//! QPS counts BEGIN and COMMIT as sysbench does.

use serde_json::{json, Value};

use crate::target::TargetInfo;

/// Latency figures of one run, in milliseconds.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Latency {
    pub min: f64,
    pub avg: f64,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

/// One workload at one thread count against one target.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunResult {
    /// Short name of the target in tables and plots ("borealis", "mariadb", ...).
    pub label: String,
    pub target: TargetInfo,
    pub workload: String,
    pub threads: usize,
    pub tables: u32,
    pub table_size: u32,
    pub rand_type: String,
    pub seed: u64,
    pub warmup_s: f64,
    /// Measured window, seconds.
    pub elapsed_s: f64,
    pub events: u64,
    pub reads: u64,
    pub writes: u64,
    pub other: u64,
    /// Events abandoned on a non-retryable error.
    pub errors: u64,
    /// Event restarts after a retryable error (deadlock, lock wait timeout, busy).
    pub retries: u64,
    pub latency: Latency,
    pub error_samples: Vec<String>,
    /// Peak RSS of the server (or of this process for in-process targets) in KiB.
    pub peak_rss_kib: Option<u64>,
    pub started_at: String,
}

impl RunResult {
    pub fn tps(&self) -> f64 {
        if self.elapsed_s > 0.0 {
            self.events as f64 / self.elapsed_s
        } else {
            0.0
        }
    }

    pub fn queries(&self) -> u64 {
        self.reads + self.writes + self.other
    }

    pub fn qps(&self) -> f64 {
        if self.elapsed_s > 0.0 {
            self.queries() as f64 / self.elapsed_s
        } else {
            0.0
        }
    }

    pub fn to_json(&self) -> Value {
        let l = &self.latency;
        json!({
            "label": self.label,
            "target": {"kind": self.target.kind, "url": self.target.url,
                       "version": self.target.version, "durability": self.target.durability},
            "workload": self.workload, "threads": self.threads, "tables": self.tables,
            "table_size": self.table_size, "rand_type": self.rand_type, "seed": self.seed,
            "warmup_s": self.warmup_s, "elapsed_s": self.elapsed_s, "events": self.events,
            "reads": self.reads, "writes": self.writes, "other": self.other,
            "errors": self.errors, "retries": self.retries,
            "tps": self.tps(), "qps": self.qps(),
            "latency_ms": {"min": l.min, "avg": l.avg, "p50": l.p50, "p95": l.p95,
                           "p99": l.p99, "max": l.max},
            "error_samples": self.error_samples, "peak_rss_kib": self.peak_rss_kib,
            "started_at": self.started_at,
        })
    }

    pub fn from_json(v: &Value) -> Option<RunResult> {
        let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let u = |v: &Value, k: &str| v.get(k).and_then(Value::as_u64).unwrap_or(0);
        let f = |v: &Value, k: &str| v.get(k).and_then(Value::as_f64).unwrap_or(0.0);
        let t = v.get("target")?;
        let l = v.get("latency_ms")?;
        Some(RunResult {
            label: s(v, "label"),
            target: TargetInfo {
                kind: s(t, "kind"),
                url: s(t, "url"),
                version: s(t, "version"),
                durability: s(t, "durability"),
            },
            workload: s(v, "workload"),
            threads: u(v, "threads") as usize,
            tables: u(v, "tables") as u32,
            table_size: u(v, "table_size") as u32,
            rand_type: s(v, "rand_type"),
            seed: u(v, "seed"),
            warmup_s: f(v, "warmup_s"),
            elapsed_s: f(v, "elapsed_s"),
            events: u(v, "events"),
            reads: u(v, "reads"),
            writes: u(v, "writes"),
            other: u(v, "other"),
            errors: u(v, "errors"),
            retries: u(v, "retries"),
            latency: Latency {
                min: f(l, "min"),
                avg: f(l, "avg"),
                p50: f(l, "p50"),
                p95: f(l, "p95"),
                p99: f(l, "p99"),
                max: f(l, "max"),
            },
            error_samples: v
                .get("error_samples")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default(),
            peak_rss_kib: v.get("peak_rss_kib").and_then(Value::as_u64),
            started_at: s(v, "started_at"),
        })
    }
}

fn rss(kib: Option<u64>) -> String {
    match kib {
        Some(k) => format!("{:.0}", k as f64 / 1024.0),
        None => "-".into(),
    }
}

/// One row per run, sysbench's summary figures.
pub fn markdown_runs(runs: &[RunResult]) -> String {
    let mut s = String::from(
        "| target | workload | thr | TPS | QPS | p50 ms | p95 ms | p99 ms | max ms | errors | retries | peak RSS MiB |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in runs {
        let l = &r.latency;
        s.push_str(&format!(
            "| {} | {} | {} | {:.1} | {:.1} | {:.3} | {:.3} | {:.3} | {:.2} | {} | {} | {} |\n",
            r.label,
            r.workload,
            r.threads,
            r.tps(),
            r.qps(),
            l.p50,
            l.p95,
            l.p99,
            l.max,
            r.errors,
            r.retries,
            rss(r.peak_rss_kib)
        ));
    }
    s
}

/// Borealis against each peer: per workload and thread count, TPS of both and the
/// ratio `label / peer`. Cells without both runs are left out.
pub fn markdown_ratios(runs: &[RunResult], label: &str) -> String {
    let mut peers: Vec<&str> = Vec::new();
    for r in runs {
        if r.label != label && !peers.contains(&r.label.as_str()) {
            peers.push(&r.label);
        }
    }
    let mut keys: Vec<(String, usize)> = Vec::new();
    for r in runs {
        let k = (r.workload.clone(), r.threads);
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    let mut s = String::new();
    for peer in peers {
        s.push_str(&format!(
            "| workload | thr | {label} TPS | {peer} TPS | {label}/{peer} | {label} p95 ms | {peer} p95 ms | {label} RSS MiB | {peer} RSS MiB |\n|---|---|---|---|---|---|---|---|---|\n"
        ));
        for (w, t) in &keys {
            let find = |lbl: &str| {
                runs.iter()
                    .rfind(|r| r.label == lbl && &r.workload == w && r.threads == *t)
            };
            let (Some(a), Some(b)) = (find(label), find(peer)) else {
                continue;
            };
            let ratio = if b.tps() > 0.0 {
                format!("{:.2}x", a.tps() / b.tps())
            } else {
                "-".into()
            };
            s.push_str(&format!(
                "| {w} | {t} | {:.1} | {:.1} | **{ratio}** | {:.3} | {:.3} | {} | {} |\n",
                a.tps(),
                b.tps(),
                a.latency.p95,
                b.latency.p95,
                rss(a.peak_rss_kib),
                rss(b.peak_rss_kib)
            ));
        }
        s.push('\n');
    }
    s
}

/// The configuration of each target, for the header of a results file.
pub fn markdown_targets(runs: &[RunResult]) -> String {
    let mut seen: Vec<&str> = Vec::new();
    let mut s = String::new();
    for r in runs {
        if seen.contains(&r.label.as_str()) {
            continue;
        }
        seen.push(&r.label);
        s.push_str(&format!(
            "- **{}**: {} `{}`, version `{}`, durability: {}\n",
            r.label, r.target.kind, r.target.url, r.target.version, r.target.durability
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(label: &str, events: u64) -> RunResult {
        RunResult {
            label: label.into(),
            workload: "oltp_read_write".into(),
            threads: 8,
            elapsed_s: 10.0,
            events,
            reads: events * 14,
            writes: events * 4,
            other: events * 2,
            peak_rss_kib: Some(2048),
            ..Default::default()
        }
    }

    #[test]
    fn tps_qps_and_ratio() {
        let a = run("borealis", 30_000);
        let b = run("mariadb", 15_000);
        assert_eq!(a.tps(), 3000.0);
        assert_eq!(a.qps(), 60_000.0);
        let t = markdown_ratios(&[a.clone(), b], "borealis");
        assert!(t.contains("**2.00x**"), "{t}");
        assert!(markdown_runs(&[a]).contains("| 3000.0 | 60000.0 |"));
    }

    #[test]
    fn json_round_trip() {
        let mut a = run("x", 5);
        a.error_samples = vec!["ERROR 1146".into()];
        a.latency.p99 = 1.5;
        assert_eq!(RunResult::from_json(&a.to_json()), Some(a));
    }
}
