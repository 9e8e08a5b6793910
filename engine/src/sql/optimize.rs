//! Rewrites of one bound query block that need the whole block (select list, ORDER BY,
//! LIMIT), applied after binding:
//!
//! * ORDER BY answered by an index: when the sort keys (all ascending or all
//!   descending) are the order an index — or the clustered key — returns rows in (after
//!   the columns an equality fixes), the sort is dropped, the scan runs forward or
//!   backward, and a LIMIT (plus OFFSET) stops the scan early. A secondary index is
//!   switched to for order alone only with a LIMIT or when it covers the query:
//!   otherwise reading every row through it costs more than sorting.
//! * Covering reads: a single-table block whose every column read (select list, WHERE,
//!   GROUP BY, aggregates, ORDER BY through the select list) is in a secondary index
//!   entry reads the index only (`covering`). A clustered read of primary key columns
//!   only is marked covering too (nothing changes in how it reads; EXPLAIN says so).
//!
//! Invariant: a rewrite never changes the rows a block returns, only how they are read;
//! blocks with subqueries are left alone (a correlated subquery may read any column of
//! the row through its outer reference).

use std::sync::Arc;

use crate::catalog::TableDef;
use crate::functions::BinOp;
use crate::sql::covering::coverable;
use crate::sql::from::{col_refs, has_subquery, split_conj};
use crate::sql::joinplan::{const_eqs, kind_of_def, KeyKind};
use crate::sql::plan::{Access, AggCall, Expr, Plan};

pub fn query_block(plan: Plan) -> Plan {
    let (plan, ordered) = order_by_index(plan);
    cover(plan, ordered)
}

// ---------------------------------------------------------------- ORDER BY

/// Returns the plan and whether a scan's order now answers an ORDER BY (then its index
/// must not change).
fn order_by_index(plan: Plan) -> (Plan, bool) {
    match plan {
        Plan::Truncate(inner, n) => {
            let (p, o) = order_by_index(*inner);
            (Plan::Truncate(Box::new(p), n), o)
        }
        Plan::Limit {
            input,
            limit,
            offset,
        } => {
            let stop = limit.as_ref().map(|l| match &offset {
                Some(o) => Expr::Arith(BinOp::Add, Box::new(l.clone()), Box::new(o.clone())),
                None => l.clone(),
            });
            let (p, o) = sort_by_index(*input, stop);
            (
                Plan::Limit {
                    input: Box::new(p),
                    limit,
                    offset,
                },
                o,
            )
        }
        other => sort_by_index(other, None),
    }
}

fn sort_by_index(plan: Plan, stop: Option<Expr>) -> (Plan, bool) {
    let Plan::Sort(input, keys) = plan else {
        return (plan, false);
    };
    match try_sort_by_index(&input, &keys, stop) {
        Some(p) => (p, true),
        None => (Plan::Sort(input, keys), false),
    }
}

/// The order rows come out of `index` in: its columns, then (for a secondary index)
/// the primary key columns that end each entry.
fn index_order(table: &TableDef, index: Option<usize>) -> Vec<usize> {
    match index {
        None => table.primary.clone(),
        Some(i) => {
            let mut v = table.indexes[i].columns.clone();
            v.extend(table.primary.iter().copied());
            v
        }
    }
}

/// Do rows in `order` satisfy a sort on `keys`, given columns fixed by equalities?
fn gives_order(order: &[usize], keys: &[usize], fixed: &[usize]) -> bool {
    let keys: Vec<usize> = keys
        .iter()
        .copied()
        .filter(|c| !fixed.contains(c))
        .collect();
    let order: Vec<usize> = order
        .iter()
        .copied()
        .filter(|c| !fixed.contains(c))
        .collect();
    !keys.is_empty() && keys.len() <= order.len() && order[..keys.len()] == keys[..]
}

fn try_sort_by_index(input: &Plan, keys: &[(Expr, bool)], stop: Option<Expr>) -> Option<Plan> {
    let Plan::Project(base, exprs) = input else {
        return None;
    };
    let desc = keys.first()?.1;
    if keys.iter().any(|(_, d)| *d != desc) {
        return None;
    }
    let mut sort_cols = Vec::new();
    for (k, _) in keys {
        let Expr::Column(i) = k else { return None };
        let Some(Expr::Column(c)) = exprs.get(*i) else {
            return None;
        };
        sort_cols.push(*c);
    }
    let (scan, filter) = match base.as_ref() {
        Plan::Filter(s, f) => (s.as_ref(), Some(f)),
        s => (s, None),
    };
    let Plan::Scan {
        table,
        alias,
        access,
        reverse: false,
        limit: None,
        read,
    } = scan
    else {
        return None;
    };
    // Key order is the SQL order for these kinds; ENUM/SET (ordered by member number),
    // decimals (keyed by their double first) and the rest are sorted.
    if sort_cols.iter().any(|&c| {
        matches!(
            kind_of_def(&table.columns[c]),
            KeyKind::Other | KeyKind::Decimal
        )
    }) {
        return None;
    }
    let conj: Vec<Expr> = filter
        .map(|f| split_conj(f).into_iter().cloned().collect())
        .unwrap_or_default();
    let fixed: Vec<usize> = const_eqs(&conj).into_iter().map(|(c, _)| c).collect();
    let access = match access {
        Access::Full => {
            if !table.primary.is_empty() && gives_order(&table.primary, &sort_cols, &fixed) {
                // The clustered tree in key order (what a full scan reads anyway; EXPLAIN
                // shows it as an index scan on PRIMARY).
                Access::Range {
                    index: None,
                    lo: None,
                    hi: None,
                    covering: false,
                    recheck: None,
                }
            } else {
                let mut needed = Vec::new();
                for e in exprs {
                    needed.extend(col_refs(e));
                }
                for e in &conj {
                    needed.extend(col_refs(e));
                }
                let ix = (0..table.indexes.len()).find(|&i| {
                    gives_order(&index_order(table, Some(i)), &sort_cols, &fixed)
                        && (stop.is_some() || coverable(table, i, &needed))
                })?;
                Access::Range {
                    index: Some(ix),
                    lo: None,
                    hi: None,
                    covering: false,
                    recheck: None,
                }
            }
        }
        Access::Ranges { .. } => return None,
        Access::Range { index, .. } | Access::Points { index, .. } => {
            if !gives_order(&index_order(table, *index), &sort_cols, &fixed) {
                return None;
            }
            access.clone()
        }
    };
    let scan = Plan::Scan {
        table: table.clone(),
        alias: alias.clone(),
        access,
        reverse: desc,
        limit: stop.map(Box::new),
        read: read.clone(),
    };
    let base = match filter {
        Some(f) => Plan::Filter(Box::new(scan), f.clone()),
        None => scan,
    };
    Some(Plan::Project(Box::new(base), exprs.clone()))
}

// ---------------------------------------------------------------- covering

fn agg_refs(aggs: &[AggCall], out: &mut Vec<usize>) -> bool {
    for a in aggs {
        for e in a.args.iter().chain(a.order.iter().map(|(e, _)| e)) {
            if has_subquery(e) {
                return false;
            }
            out.extend(col_refs(e));
        }
    }
    true
}

fn cover(plan: Plan, ordered: bool) -> Plan {
    match plan {
        Plan::Truncate(i, n) => Plan::Truncate(Box::new(cover(*i, ordered)), n),
        Plan::Limit {
            input,
            limit,
            offset,
        } => Plan::Limit {
            input: Box::new(cover(*input, ordered)),
            limit,
            offset,
        },
        Plan::Sort(i, k) => Plan::Sort(Box::new(cover(*i, ordered)), k),
        Plan::Distinct(i) => Plan::Distinct(Box::new(cover(*i, ordered))),
        Plan::Project(base, exprs) => {
            if exprs.iter().any(has_subquery) {
                return Plan::Project(base, exprs);
            }
            let mut needed: Vec<usize> = Vec::new();
            for e in &exprs {
                needed.extend(col_refs(e));
            }
            let base = match *base {
                Plan::Filter(inner, having) if matches!(inner.as_ref(), Plan::Aggregate { .. }) => {
                    let inner = if has_subquery(&having) {
                        *inner
                    } else {
                        cover_aggregate(*inner, ordered)
                    };
                    Plan::Filter(Box::new(inner), having)
                }
                agg @ Plan::Aggregate { .. } => cover_aggregate(agg, ordered),
                other => cover_scan(other, needed, ordered),
            };
            Plan::Project(Box::new(base), exprs)
        }
        other => other,
    }
}

/// Aggregation over a table scan: the scan needs the grouping and aggregate inputs.
fn cover_aggregate(plan: Plan, ordered: bool) -> Plan {
    match plan {
        Plan::Aggregate {
            input,
            group_by,
            aggs,
            rollup,
        } => {
            let mut n = Vec::new();
            let ok = !group_by.iter().any(has_subquery) && agg_refs(&aggs, &mut n);
            for g in &group_by {
                n.extend(col_refs(g));
            }
            let input = if ok {
                cover_scan(*input, n, ordered)
            } else {
                *input
            };
            Plan::Aggregate {
                input: Box::new(input),
                group_by,
                aggs,
                rollup,
            }
        }
        other => other,
    }
}

/// Make a (filtered) table scan read a covering index, if one covers `needed`.
fn cover_scan(base: Plan, mut needed: Vec<usize>, ordered: bool) -> Plan {
    let (scan, filter) = match base {
        Plan::Filter(s, f) if matches!(s.as_ref(), Plan::Scan { .. }) => (*s, Some(f)),
        s @ Plan::Scan { .. } => (s, None),
        other => return other,
    };
    if let Some(f) = &filter {
        if has_subquery(f) {
            return rebuild(scan, filter);
        }
        needed.extend(col_refs(f));
    }
    if let Plan::Scan {
        access:
            Access::Ranges {
                recheck: Some(r), ..
            }
            | Access::Range {
                recheck: Some(r), ..
            },
        ..
    } = &scan
    {
        needed.extend(col_refs(r));
    }
    let Plan::Scan {
        table,
        alias,
        access,
        reverse,
        limit,
        ..
    } = scan
    else {
        return rebuild(scan, filter);
    };
    // Only the columns read above need decoding.
    let mut mask = vec![false; table.columns.len()];
    for &c in &needed {
        if let Some(m) = mask.get_mut(c) {
            *m = true;
        }
    }
    let read: Option<Arc<[bool]>> = mask.contains(&false).then(|| Arc::from(mask));
    // The clustered tree holds every column; it "covers" (EXPLAIN's Using index, as
    // MySQL reports it) when only primary key columns are read.
    let pk_only = !table.primary.is_empty() && needed.iter().all(|c| table.primary.contains(c));
    let access = match access {
        Access::Range {
            index: None,
            lo,
            hi,
            recheck,
            ..
        } => Access::Range {
            index: None,
            lo,
            hi,
            covering: pk_only,
            recheck,
        },
        Access::Points {
            index: None, keys, ..
        } => Access::Points {
            index: None,
            keys,
            covering: pk_only,
        },
        Access::Range {
            index: Some(i),
            lo,
            hi,
            recheck,
            ..
        } => Access::Range {
            index: Some(i),
            lo,
            hi,
            covering: coverable(&table, i, &needed),
            recheck,
        },
        Access::Points {
            index: Some(i),
            keys,
            ..
        } => Access::Points {
            index: Some(i),
            keys,
            covering: coverable(&table, i, &needed),
        },
        Access::Ranges {
            index,
            ranges,
            recheck,
            ..
        } => Access::Ranges {
            covering: match index {
                Some(i) => coverable(&table, i, &needed),
                None => pk_only,
            },
            index,
            ranges,
            recheck,
        },
        Access::Full if !ordered && !reverse => {
            match (0..table.indexes.len()).find(|&i| coverable(&table, i, &needed)) {
                Some(i) => Access::Range {
                    index: Some(i),
                    lo: None,
                    hi: None,
                    covering: true,
                    recheck: None,
                },
                None if pk_only => Access::Range {
                    index: None,
                    lo: None,
                    hi: None,
                    covering: true,
                    recheck: None,
                },
                None => Access::Full,
            }
        }
        other => other,
    };
    rebuild(
        Plan::Scan {
            table,
            alias,
            access,
            reverse,
            limit,
            read,
        },
        filter,
    )
}

fn rebuild(scan: Plan, filter: Option<Expr>) -> Plan {
    match filter {
        Some(f) => Plan::Filter(Box::new(scan), f),
        None => scan,
    }
}

#[cfg(test)]
mod tests {
    //! Seeded differential test: a query answered through index order / a covering
    //! index must return what the same query returns when it cannot use them (sort
    //! keys wrapped in `+ 0`, a predicate on a non-indexed column forcing row reads).

    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    use crate::{Database, QueryResult, Session};

    fn rows(s: &mut Session, sql: &str) -> Vec<String> {
        match s.execute(sql) {
            Ok(QueryResult::Rows { rows, .. }) => rows.iter().map(|r| format!("{r:?}")).collect(),
            Ok(other) => panic!("{sql}: {other:?}"),
            Err(e) => panic!("{sql}: {}", e.message),
        }
    }

    fn explain(s: &mut Session, sql: &str) -> String {
        rows(s, &format!("EXPLAIN {sql}")).join("\n")
    }

    #[test]
    fn index_order_and_covering_reads_match_plain_reads() {
        let seed = crate::test_sql::seed("order/covering differential");
        let mut rng = StdRng::seed_from_u64(seed);
        let db = Database::open_in_memory().expect("db");
        let mut s = db.session();
        for q in [
            "CREATE DATABASE o",
            "USE o",
            "CREATE TABLE t (id INT NOT NULL PRIMARY KEY, k INT NULL, u BIGINT UNSIGNED NULL, \
             c VARCHAR(8) NOT NULL, KEY k_1 (k), KEY k_u (k, u))",
        ] {
            s.execute(q).expect("setup");
        }
        for id in 0..60 {
            let k = if rng.gen_bool(0.15) {
                "NULL".to_string()
            } else {
                rng.gen_range(-5..6).to_string()
            };
            let u = if rng.gen_bool(0.2) {
                "NULL".to_string()
            } else {
                rng.gen_range(0..u64::MAX).to_string()
            };
            s.execute(&format!(
                "INSERT INTO t VALUES ({}, {k}, {u}, 'c{id}')",
                id * 3 - 50
            ))
            .expect("insert");
        }
        let mut sorts_avoided = 0;
        let mut covering = 0;
        for _ in 0..150 {
            let a = rng.gen_range(-6..6);
            let pred = match rng.gen_range(0..6) {
                0 => String::new(),
                1 => format!(" WHERE k = {a}"),
                2 => format!(" WHERE k BETWEEN {a} AND {}", a + rng.gen_range(0..4)),
                3 => format!(" WHERE id BETWEEN {} AND {}", a * 10, a * 10 + 60),
                4 => format!(" WHERE k IN ({a}, {})", a + 2),
                _ => format!(" WHERE k > {a}"),
            };
            let dir = if rng.gen_bool(0.5) { " DESC" } else { "" };
            let limit = match rng.gen_range(0..3) {
                0 => String::new(),
                1 => format!(" LIMIT {}", rng.gen_range(0..8)),
                _ => format!(
                    " LIMIT {} OFFSET {}",
                    rng.gen_range(1..6),
                    rng.gen_range(0..4)
                ),
            };
            let (cols, order, plain_order) = match rng.gen_range(0..4) {
                0 => (
                    "id, k",
                    format!("k{dir}, id{dir}"),
                    format!("k + 0{dir}, id + 0{dir}"),
                ),
                1 => ("id, u", format!("id{dir}"), format!("id + 0{dir}")),
                2 => (
                    "k, u, id",
                    format!("k{dir}, u{dir}"),
                    format!("k + 0{dir}, u + 0{dir}, id + 0{dir}"),
                ),
                _ => (
                    "c, k",
                    format!("k{dir}, id{dir}"),
                    format!("k + 0{dir}, id + 0{dir}"),
                ),
            };
            // Order on (k, u) alone has ties only where (k, u) repeat: add id to both
            // sides' comparison by sorting the tie groups here.
            let fast = format!("SELECT {cols} FROM t{pred} ORDER BY {order}{limit}");
            let plain = format!("SELECT {cols} FROM t{pred} ORDER BY {plain_order}{limit}");
            let plan = explain(&mut s, &fast);
            if !plan.contains("filesort") {
                sorts_avoided += 1;
            }
            if plan.contains("Using index") {
                covering += 1;
            }
            if cols == "k, u, id" {
                // Ties of (k, u) (NULL u) may come in either id order: compare as sets
                // of rows, and the (k, u) sequence exactly.
                if limit.is_empty() {
                    let mut f = rows(&mut s, &fast);
                    let mut p = rows(&mut s, &plain);
                    f.sort();
                    p.sort();
                    assert_eq!(f, p, "seed {seed}: {fast}");
                }
                continue;
            }
            assert_eq!(
                rows(&mut s, &fast),
                rows(&mut s, &plain),
                "seed {seed}: {fast}\n{plan}"
            );
            // Covering aggregates against the same aggregate forced to read rows.
            let agg = format!("SELECT COUNT(*), SUM(k), MIN(id), MAX(u) FROM t{pred}");
            let forced = if pred.is_empty() {
                format!("{agg} WHERE c = c")
            } else {
                format!("{agg} AND c = c")
            };
            assert_eq!(
                rows(&mut s, &agg),
                rows(&mut s, &forced),
                "seed {seed}: {agg}"
            );
        }
        // The differential checks above are the test; these only make sure a run
        // exercised both paths. The counts vary with the seed: a bound of 30 failed
        // (seed 1795724627816228327 gives exactly 30 covering reads of 150), so the
        // bound sits far below the counts seen.
        assert!(
            sorts_avoided > 10,
            "seed {seed}: {sorts_avoided} sorts avoided"
        );
        assert!(covering > 10, "seed {seed}: {covering} covering reads");
    }

    /// Scans decode only the columns a block reads; every other reader of the row
    /// (WHERE, ORDER BY, GROUP BY, HAVING, aggregates, DISTINCT, subqueries) must still
    /// see the real values.
    #[test]
    fn unread_columns_are_not_needed_by_any_reader() {
        let db = Database::open_in_memory().expect("db");
        let mut s = db.session();
        for q in [
            "CREATE DATABASE p",
            "USE p",
            "CREATE TABLE t (id INT PRIMARY KEY, k INT, c CHAR(10), pad CHAR(10), KEY (k))",
            "INSERT INTO t VALUES (1, 30, 'c1', 'zz'), (2, 20, 'c2', 'aa'), (3, 10, 'c3', 'mm'), \
             (4, 20, 'c2', 'bb')",
        ] {
            s.execute(q).expect("setup");
        }
        let r = |s: &mut Session, q: &str| rows(s, q).join(" ");
        assert_eq!(
            r(&mut s, "SELECT c FROM t WHERE pad = 'mm'"),
            r#"[Str("c3")]"#
        );
        assert_eq!(
            r(
                &mut s,
                "SELECT c FROM t WHERE id BETWEEN 1 AND 3 ORDER BY pad"
            ),
            r#"[Str("c2")] [Str("c3")] [Str("c1")]"#
        );
        assert_eq!(
            r(&mut s, "SELECT DISTINCT c FROM t WHERE id > 1 ORDER BY c"),
            r#"[Str("c2")] [Str("c3")]"#
        );
        assert_eq!(
            r(
                &mut s,
                "SELECT k, MAX(pad) FROM t GROUP BY k HAVING MAX(pad) > 'b' ORDER BY k"
            ),
            r#"[Int(10), Str("mm")] [Int(20), Str("bb")] [Int(30), Str("zz")]"#
        );
        assert_eq!(
            r(&mut s, "SELECT id FROM t WHERE EXISTS (SELECT 1 FROM t u WHERE u.id = t.k / 10 AND u.pad > t.c)"),
            r#"[Int(1)] [Int(3)]"#
        );
        assert_eq!(
            r(
                &mut s,
                "SELECT (SELECT pad FROM t u WHERE u.id = t.id) FROM t WHERE id = 2"
            ),
            r#"[Str("aa")]"#
        );
        assert_eq!(
            r(&mut s, "SELECT SUM(k) FROM t WHERE id BETWEEN 2 AND 4"),
            "[Decimal(50)]"
        );
    }
}
