//! EXPLAIN: the plan in MySQL's tabular shape (id, select_type, table, partitions, type,
//! possible_keys, key, key_len, ref, rows, filtered, Extra) and as FORMAT=TREE text.

use crate::result::{Column, ColumnType, QueryResult};
use crate::sql::plan::{Access, Plan};
use crate::value::Value;

struct Line {
    rows: i64,
    table: String,
    ty: &'static str,
    possible: Option<String>,
    key: Option<String>,
    extra: String,
}

fn access_info(p: &Plan) -> Option<Line> {
    if let Plan::Scan {
        table,
        access,
        alias,
        ..
    } = p
    {
        let keyname = |ix: &Option<usize>| match ix {
            None => "PRIMARY".to_string(),
            Some(i) => table.indexes[*i].name.clone(),
        };
        let (ty, key) = match access {
            Access::Full => ("ALL", None),
            Access::Range { index, lo, hi } => {
                let ncols = match index {
                    None => table.primary.len(),
                    Some(i) => table.indexes[*i].columns.len(),
                };
                let unique = index.is_none_or(|i| table.indexes[i].unique);
                let point = match (lo, hi) {
                    (Some(a), Some(b)) => {
                        a.inclusive
                            && b.inclusive
                            && a.exprs.len() == b.exprs.len()
                            && format!("{:?}", a.exprs) == format!("{:?}", b.exprs)
                    }
                    _ => false,
                };
                let ty = if point && unique && lo.as_ref().is_some_and(|l| l.exprs.len() == ncols) {
                    "const"
                } else if point {
                    "ref"
                } else {
                    "range"
                };
                (ty, Some(keyname(index)))
            }
            Access::Points { index, .. } => ("range", Some(keyname(index))),
        };
        // An equality lookup answers its predicate exactly; ranges and scans filter.
        let extra = if ty == "const" || ty == "ref" {
            String::new()
        } else {
            "Using where".to_string()
        };
        return Some(Line {
            rows: match access {
                Access::Points { keys, .. } => keys.len() as i64,
                _ => 1,
            },
            table: alias.clone(),
            ty,
            possible: key.clone(),
            key,
            extra,
        });
    }
    None
}

/// Note an operation done on the rows of the first table (MySQL reports filesort and
/// temporary there).
fn add_extra(out: &mut [Line], what: &str) {
    if let Some(l) = out.first_mut() {
        if l.extra.is_empty() {
            l.extra = what.to_string();
        } else {
            l.extra.push_str("; ");
            l.extra.push_str(what);
        }
    }
}

fn collect(p: &Plan, out: &mut Vec<Line>, filtered: bool) {
    match p {
        Plan::Scan { .. } => {
            if let Some(mut l) = access_info(p) {
                if !filtered && l.ty == "ALL" {
                    l.extra.clear();
                }
                out.push(l);
            }
        }
        Plan::Filter(i, _) => collect(i, out, true),
        Plan::Project(i, _) | Plan::Truncate(i, _) => collect(i, out, filtered),
        Plan::Sort(i, _) => {
            collect(i, out, filtered);
            add_extra(out, "Using filesort");
        }
        Plan::Distinct(i) => {
            collect(i, out, filtered);
            add_extra(out, "Using temporary");
        }
        Plan::Limit { input, .. } | Plan::Aggregate { input, .. } | Plan::Window { input, .. } => {
            collect(input, out, filtered)
        }
        Plan::Join { left, right, .. } => {
            collect(left, out, filtered);
            collect(right, out, filtered);
        }
        Plan::SetOp { left, right, .. } => {
            collect(left, out, filtered);
            collect(right, out, filtered);
        }
        Plan::Recursive {
            anchor, recursive, ..
        } => {
            collect(anchor, out, filtered);
            collect(recursive, out, filtered);
        }
        _ => {}
    }
}

fn tree(p: &Plan, depth: usize, out: &mut String) {
    let pad = "    ".repeat(depth);
    let line = |s: &str, out: &mut String| {
        out.push_str(&pad);
        out.push_str("-> ");
        out.push_str(s);
        out.push('\n');
    };
    match p {
        Plan::Scan { table, access, .. } => {
            let s = match access {
                Access::Full => format!("Table scan on {}", table.name),
                Access::Range { index, .. } | Access::Points { index, .. } => {
                    let k = index
                        .map(|i| table.indexes[i].name.clone())
                        .unwrap_or_else(|| "PRIMARY".into());
                    format!("Index range scan on {} using {}", table.name, k)
                }
            };
            line(&s, out);
        }
        Plan::Filter(i, _) => {
            line("Filter", out);
            tree(i, depth + 1, out);
        }
        Plan::Project(i, _) | Plan::Truncate(i, _) => tree(i, depth, out),
        Plan::Sort(i, _) => {
            line("Sort", out);
            tree(i, depth + 1, out);
        }
        Plan::Distinct(i) => {
            line("Remove duplicates", out);
            tree(i, depth + 1, out);
        }
        Plan::Limit { input, .. } => {
            line("Limit", out);
            tree(input, depth + 1, out);
        }
        Plan::Aggregate { input, .. } => {
            line("Aggregate", out);
            tree(input, depth + 1, out);
        }
        Plan::Window { input, .. } => {
            line("Window aggregate", out);
            tree(input, depth + 1, out);
        }
        Plan::Join {
            left,
            right,
            hash_keys,
            kind,
            ..
        } => {
            let k = if hash_keys.is_empty() {
                "Nested loop"
            } else {
                "Hash"
            };
            line(
                &format!(
                    "{k} {} join",
                    if *kind == crate::sql::plan::JoinKind::Left {
                        "left"
                    } else {
                        "inner"
                    }
                ),
                out,
            );
            tree(left, depth + 1, out);
            tree(right, depth + 1, out);
        }
        Plan::SetOp { left, right, .. } => {
            line("Union", out);
            tree(left, depth + 1, out);
            tree(right, depth + 1, out);
        }
        Plan::Single => line("Rows fetched before execution", out),
        _ => line("Materialize", out),
    }
}

pub fn explain(plan: &Plan, as_tree: bool) -> QueryResult {
    if as_tree {
        let mut s = String::new();
        tree(plan, 0, &mut s);
        return QueryResult::Rows {
            columns: vec![Column::computed("EXPLAIN", ColumnType::VarString)],
            rows: vec![vec![Value::Str(s.trim_end().to_string())]],
        };
    }
    let mut lines = Vec::new();
    collect(plan, &mut lines, false);
    let names = [
        "id",
        "select_type",
        "table",
        "partitions",
        "type",
        "possible_keys",
        "key",
        "key_len",
        "ref",
        "rows",
        "filtered",
        "Extra",
    ];
    let columns: Vec<Column> = names
        .iter()
        .map(|n| {
            if matches!(*n, "id" | "rows") {
                Column::computed(*n, ColumnType::LongLong)
            } else if *n == "filtered" {
                Column::computed(*n, ColumnType::NewDecimal)
            } else {
                Column::computed(*n, ColumnType::VarString)
            }
        })
        .collect();
    let s = |x: &str| Value::Str(x.to_string());
    let opt = |x: &Option<String>| x.clone().map(Value::Str).unwrap_or(Value::Null);
    let mut rows = Vec::new();
    if lines.is_empty() {
        rows.push(vec![
            Value::Int(1),
            s("SIMPLE"),
            Value::Null,
            Value::Null,
            Value::Null,
            Value::Null,
            Value::Null,
            Value::Null,
            Value::Null,
            Value::Null,
            Value::Null,
            s("No tables used"),
        ]);
    }
    for l in lines {
        rows.push(vec![
            Value::Int(1),
            s("SIMPLE"),
            s(&l.table),
            Value::Null,
            s(l.ty),
            opt(&l.possible),
            opt(&l.key),
            l.key.as_ref().map(|_| s("4")).unwrap_or(Value::Null),
            if l.ty == "const" || l.ty == "ref" {
                s("const")
            } else {
                Value::Null
            },
            Value::Int(l.rows),
            Value::Str("100.00".into()),
            if l.extra.is_empty() {
                Value::Null
            } else {
                s(&l.extra)
            },
        ]);
    }
    QueryResult::Rows { columns, rows }
}

/// EXPLAIN UPDATE/DELETE: the access path of the target table.
pub fn explain_dml(kind: &str, plan: &Plan) -> QueryResult {
    let mut r = explain(plan, false);
    if let QueryResult::Rows { rows, .. } = &mut r {
        for row in rows.iter_mut() {
            row[1] = Value::Str(kind.to_string());
            if row[4] == Value::Str("const".into()) || row[4] == Value::Str("ref".into()) {
                row[4] = Value::Str("range".into());
                row[8] = Value::Str("const".into());
            }
            row[11] = Value::Str("Using where".into());
        }
    }
    r
}
