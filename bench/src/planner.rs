//! Planner benchmark (`borealis-bench planner`): how long the embedded engine takes to
//! plan many-table joins, and each sysbench statement's latency run in-process.
//!
//! * Plan time: `EXPLAIN` of a 12-table join (a chain `t1.a = t0.id`, `t2.a = t1.id`,
//!   ... and a star: one fact table joined to 11 dimension tables on their primary
//!   keys). `EXPLAIN` parses, binds, orders the joins, picks access paths and formats
//!   the plan without reading rows, so its latency is the planning cost (the session's
//!   plan cache does not apply to it).
//! * Statement latency: the sysbench oltp statements (point select, ranges, k lookups,
//!   updates, delete + insert) on one `sbtest1` table, each as a prepared statement
//!   executed with random parameters (seeded), in autocommit, on an in-memory database.
//!
//! Results are printed as a Markdown table: mean, p50 and p99 per item.

use std::time::Instant;

use borealis_engine::{Database, QueryResult, Session, Value};
use clap::Args;

use crate::machine::Machine;
use crate::rng::Rng;

#[derive(Args, Clone, Debug)]
pub struct PlannerArgs {
    /// Tables in the chain and star joins.
    #[arg(long, default_value_t = 12)]
    pub join_tables: usize,
    /// EXPLAIN runs per join shape.
    #[arg(long, default_value_t = 200)]
    pub plan_iterations: usize,
    /// Rows in sbtest1.
    #[arg(long, default_value_t = 10_000)]
    pub table_size: u32,
    /// Executions per sysbench statement.
    #[arg(long, default_value_t = 2_000)]
    pub iterations: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Time only the sysbench statements whose names contain this (e.g. `sum_range`,
    /// `update`), to profile one of them.
    #[arg(long)]
    pub only: Option<String>,
}

/// Latency summary of one measured item, in microseconds.
pub struct Timing {
    pub name: String,
    pub count: usize,
    pub mean_us: f64,
    pub p50_us: f64,
    pub p99_us: f64,
}

fn summarize(name: &str, mut ns: Vec<u64>) -> Timing {
    ns.sort_unstable();
    let q = |p: f64| {
        ns.get(((ns.len() as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or(0) as f64
            / 1000.0
    };
    Timing {
        name: name.to_string(),
        count: ns.len(),
        mean_us: ns.iter().sum::<u64>() as f64 / ns.len().max(1) as f64 / 1000.0,
        p50_us: q(0.5),
        p99_us: q(0.99),
    }
}

fn run(s: &mut Session, sql: &str) -> Result<QueryResult, String> {
    s.execute(sql).map_err(|e| format!("{sql}: {}", e.message))
}

/// The chain join over `n` tables t0..t{n-1}.
pub fn chain_query(n: usize) -> String {
    let mut q = String::from("SELECT t0.id");
    q.push_str(&format!(", t{}.id FROM t0", n - 1));
    for i in 1..n {
        q.push_str(&format!(" JOIN t{i} ON t{i}.a = t{}.id", i - 1));
    }
    q.push_str(" WHERE t0.id BETWEEN 1 AND 10");
    q
}

/// The star join: fact table f with columns d1..d{n-1} referencing dimension tables.
pub fn star_query(n: usize) -> String {
    let mut q = String::from("SELECT COUNT(*) FROM f");
    for i in 1..n {
        q.push_str(&format!(" JOIN d{i} ON d{i}.id = f.d{i}"));
    }
    q.push_str(" WHERE f.id < 100");
    q
}

fn create_join_tables(s: &mut Session, n: usize) -> Result<(), String> {
    for i in 0..n {
        run(
            s,
            &format!("CREATE TABLE t{i} (id INT NOT NULL PRIMARY KEY, a INT, KEY ka (a))"),
        )?;
    }
    let dims: Vec<String> = (1..n).map(|i| format!("d{i} INT NOT NULL")).collect();
    run(
        s,
        &format!(
            "CREATE TABLE f (id INT NOT NULL PRIMARY KEY, {})",
            dims.join(", ")
        ),
    )?;
    for i in 1..n {
        run(
            s,
            &format!("CREATE TABLE d{i} (id INT NOT NULL PRIMARY KEY, v INT)"),
        )?;
    }
    Ok(())
}

fn time_plans(s: &mut Session, name: &str, sql: &str, iters: usize) -> Result<Timing, String> {
    let explain = format!("EXPLAIN {sql}");
    run(s, &explain)?;
    let mut ns = Vec::with_capacity(iters);
    for _ in 0..iters {
        let t = Instant::now();
        run(s, &explain)?;
        ns.push(t.elapsed().as_nanos() as u64);
    }
    Ok(summarize(name, ns))
}

fn load_sbtest(s: &mut Session, size: u32, rng: &mut Rng) -> Result<(), String> {
    run(
        s,
        "CREATE TABLE sbtest1 (id INT NOT NULL AUTO_INCREMENT, k INT NOT NULL DEFAULT 0, \
         c CHAR(120) NOT NULL DEFAULT '', pad CHAR(60) NOT NULL DEFAULT '', \
         PRIMARY KEY (id), KEY k_1 (k))",
    )?;
    let batch = 500;
    let mut id = 1u32;
    while id <= size {
        let mut values = Vec::new();
        for _ in 0..batch {
            if id > size {
                break;
            }
            let k = rng.uniform(1, size);
            values.push(format!(
                "({id}, {k}, '{:011}-{:011}', '{:011}')",
                rng.next_u64() % 100_000_000_000,
                rng.next_u64() % 100_000_000_000,
                rng.next_u64() % 100_000_000_000
            ));
            id += 1;
        }
        run(
            s,
            &format!(
                "INSERT INTO sbtest1 (id, k, c, pad) VALUES {}",
                values.join(", ")
            ),
        )?;
    }
    Ok(())
}

/// (name, statement, how many id-like parameters it takes: each is drawn from 1..=size;
/// ranges get (start, start + 99)).
const STATEMENTS: &[(&str, &str)] = &[
    ("point_select", "SELECT c FROM sbtest1 WHERE id = ?"),
    (
        "simple_range",
        "SELECT c FROM sbtest1 WHERE id BETWEEN ? AND ?",
    ),
    (
        "sum_range",
        "SELECT SUM(k) FROM sbtest1 WHERE id BETWEEN ? AND ?",
    ),
    (
        "order_range",
        "SELECT c FROM sbtest1 WHERE id BETWEEN ? AND ? ORDER BY c",
    ),
    (
        "distinct_range",
        "SELECT DISTINCT c FROM sbtest1 WHERE id BETWEEN ? AND ? ORDER BY c",
    ),
    ("k_lookup", "SELECT c FROM sbtest1 WHERE k = ?"),
    ("k_covering", "SELECT id FROM sbtest1 WHERE k = ?"),
    ("index_update", "UPDATE sbtest1 SET k = k + 1 WHERE id = ?"),
    (
        "non_index_update",
        "UPDATE sbtest1 SET c = 'x' WHERE id = ?",
    ),
];

fn time_statements(
    s: &mut Session,
    args: &PlannerArgs,
    rng: &mut Rng,
) -> Result<Vec<Timing>, String> {
    let size = args.table_size.max(100);
    let mut out = Vec::new();
    let wanted = |name: &str| args.only.as_deref().is_none_or(|o| name.contains(o));
    for (name, sql) in STATEMENTS.iter().filter(|(n, _)| wanted(n)) {
        let st = s
            .prepare(sql)
            .map_err(|e| format!("prepare {sql}: {}", e.message))?;
        let ranged = sql.contains("BETWEEN");
        let mut ns = Vec::with_capacity(args.iterations);
        for _ in 0..args.iterations {
            let start = rng.uniform(1, size - 99);
            let params = if ranged {
                vec![Value::Int(start.into()), Value::Int(i64::from(start) + 99)]
            } else {
                vec![Value::Int(start.into())]
            };
            let t = Instant::now();
            s.execute_prepared(&st, &params)
                .map_err(|e| format!("{sql}: {}", e.message))?;
            ns.push(t.elapsed().as_nanos() as u64);
        }
        out.push(summarize(name, ns));
    }
    // delete + insert of one row, as oltp_write_only's pair.
    if !wanted("delete_insert") {
        return Ok(out);
    }
    let del = s
        .prepare("DELETE FROM sbtest1 WHERE id = ?")
        .map_err(|e| e.message)?;
    let ins = s
        .prepare("INSERT INTO sbtest1 (id, k, c, pad) VALUES (?, ?, 'c', 'p')")
        .map_err(|e| e.message)?;
    let mut ns = Vec::with_capacity(args.iterations);
    for _ in 0..args.iterations {
        let id = i64::from(rng.uniform(1, size));
        let t = Instant::now();
        s.execute_prepared(&del, &[Value::Int(id)])
            .map_err(|e| e.message)?;
        s.execute_prepared(&ins, &[Value::Int(id), Value::Int(id)])
            .map_err(|e| e.message)?;
        ns.push(t.elapsed().as_nanos() as u64);
    }
    out.push(summarize("delete_insert", ns));
    Ok(out)
}

fn table(rows: &[Timing]) -> String {
    let mut s =
        String::from("| item | runs | mean µs | p50 µs | p99 µs |\n|---|---|---|---|---|\n");
    for t in rows {
        s.push_str(&format!(
            "| {} | {} | {:.1} | {:.1} | {:.1} |\n",
            t.name, t.count, t.mean_us, t.p50_us, t.p99_us
        ));
    }
    s
}

pub fn main(args: &PlannerArgs) -> Result<(), String> {
    let n = args.join_tables.max(2);
    let machine = Machine::detect(&std::env::temp_dir());
    let db = Database::open_in_memory().map_err(|e| e.message)?;
    let mut s = db.session();
    run(&mut s, "CREATE DATABASE bench")?;
    run(&mut s, "USE bench")?;
    create_join_tables(&mut s, n)?;
    let plans = vec![
        time_plans(
            &mut s,
            &format!("plan {n}-table chain join"),
            &chain_query(n),
            args.plan_iterations,
        )?,
        time_plans(
            &mut s,
            &format!("plan {n}-table star join"),
            &star_query(n),
            args.plan_iterations,
        )?,
        time_plans(
            &mut s,
            "plan point select (baseline)",
            "SELECT a FROM t0 WHERE id = 5",
            args.plan_iterations,
        )?,
    ];
    let mut rng = Rng::new(args.seed);
    let load = Instant::now();
    load_sbtest(&mut s, args.table_size.max(100), &mut rng)?;
    let load_s = load.elapsed().as_secs_f64();
    let stmts = time_statements(&mut s, args, &mut rng)?;
    println!("{}", machine.markdown());
    println!("### Plan time (EXPLAIN: parse + bind + join order + access paths)\n");
    println!("{}", table(&plans));
    println!(
        "### sysbench statements, embedded, prepared, sbtest1 of {} rows (loaded in {load_s:.1} s)\n",
        args.table_size.max(100)
    );
    println!("{}", table(&stmts));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_queries_plan_and_run() {
        let db = Database::open_in_memory().expect("db");
        let mut s = db.session();
        run(&mut s, "CREATE DATABASE b").expect("db");
        run(&mut s, "USE b").expect("use");
        create_join_tables(&mut s, 5).expect("tables");
        for q in [chain_query(5), star_query(5)] {
            match run(&mut s, &format!("EXPLAIN {q}")).expect("explain") {
                QueryResult::Rows { rows, .. } => assert_eq!(rows.len(), 5, "{q}"),
                other => panic!("{other:?}"),
            }
            run(&mut s, &q).expect("runs");
        }
        let args = PlannerArgs {
            join_tables: 3,
            plan_iterations: 1,
            table_size: 100,
            iterations: 3,
            seed: 1,
            only: None,
        };
        let mut rng = Rng::new(1);
        load_sbtest(&mut s, 100, &mut rng).expect("load");
        let t = time_statements(&mut s, &args, &mut rng).expect("statements");
        assert_eq!(t.len(), STATEMENTS.len() + 1);
        assert!(t.iter().all(|x| x.count == 3));
    }
}
