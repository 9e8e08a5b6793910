//! EXPLAIN: the plan in MySQL's tabular shape (id, select_type, table, partitions, type,
//! possible_keys, key, key_len, ref, rows, filtered, Extra) and as FORMAT=TREE text.
//!
//! One line per table read, in join order (the order the executor reads them). Access
//! types follow MySQL: `const` (unique full-key equality with constants), `eq_ref`
//! (unique full-key probe per row of the previous tables), `ref` (non-unique or
//! prefix equality), `range`, `index` (whole index in key order), `ALL`. Row counts are
//! the planner's estimates (see `joinplan`).

use crate::catalog::{SqlType, TableDef};
use crate::result::{Column, ColumnType, QueryResult};
use crate::sql::from::{col_refs, split_conj};
use crate::sql::joinplan::{access_rows, TABLE_ROWS};
use crate::sql::plan::{Access, CmpOp, Expr, IndexJoin, JoinKind, Plan};
use crate::value::Value;

struct Line {
    rows: i64,
    table: String,
    ty: &'static str,
    possible: Option<String>,
    key: Option<String>,
    key_len: Option<String>,
    ref_: Option<String>,
    extra: String,
}

impl Line {
    fn add_extra(&mut self, what: &str) {
        if !self.extra.is_empty() {
            self.extra.push_str("; ");
        }
        self.extra.push_str(what);
    }
}

fn index_cols(table: &TableDef, index: Option<usize>) -> (&[usize], bool) {
    match index {
        None => (&table.primary, true),
        Some(i) => (&table.indexes[i].columns, table.indexes[i].unique),
    }
}

fn key_name(table: &TableDef, index: Option<usize>) -> String {
    match index {
        None => "PRIMARY".to_string(),
        Some(i) => table.indexes[i].name.clone(),
    }
}

/// MySQL's key_len: bytes of the key parts used (utf8mb4 strings count 4 bytes a
/// character, variable-length ones 2 more, nullable columns 1 more).
fn key_len(table: &TableDef, index: Option<usize>, parts: usize) -> String {
    let (cols, _) = index_cols(table, index);
    let mut n = 0u64;
    for &c in cols.iter().take(parts) {
        let col = &table.columns[c];
        n += match &col.ty {
            SqlType::TinyInt | SqlType::Year => 1,
            SqlType::SmallInt => 2,
            SqlType::MediumInt | SqlType::Date => 3,
            SqlType::Int | SqlType::Float => 4,
            SqlType::BigInt | SqlType::Double => 8,
            SqlType::Decimal(p, s) => {
                let digits =
                    |d: u64| (d / 9) * 4 + [0, 1, 1, 2, 2, 3, 3, 4, 4, 4][(d % 9) as usize];
                digits(u64::from(*p) - u64::from(*s)) + digits(u64::from(*s))
            }
            SqlType::Bit(b) => u64::from(*b).div_ceil(8),
            SqlType::Char(l) => 4 * u64::from(*l),
            SqlType::VarChar(l) => 4 * u64::from(*l) + 2,
            SqlType::Binary(l) => u64::from(*l),
            SqlType::VarBinary(l) => u64::from(*l) + 2,
            SqlType::DateTime(f) => 5 + u64::from(*f).div_ceil(2),
            SqlType::Timestamp(f) => 4 + u64::from(*f).div_ceil(2),
            SqlType::Time(f) => 3 + u64::from(*f).div_ceil(2),
            SqlType::Enum(_) => 1,
            SqlType::Set(_) => 1,
            _ => 0,
        };
        if col.nullable {
            n += 1;
        }
    }
    n.to_string()
}

/// Columns a conjunct lets an index search (compared with constants).
fn sargable_cols(filter: Option<&Expr>, out: &mut Vec<usize>) {
    let Some(f) = filter else { return };
    for e in split_conj(f) {
        let col = match e {
            Expr::Cmp(op, a, b) if *op != CmpOp::Ne => match (a.as_ref(), b.as_ref()) {
                (Expr::Column(c), k) | (k, Expr::Column(c)) if k.is_row_independent() => Some(*c),
                _ => None,
            },
            Expr::Between {
                expr,
                lo,
                hi,
                negated: false,
            } if lo.is_row_independent() && hi.is_row_independent() => match expr.as_ref() {
                Expr::Column(c) => Some(*c),
                _ => None,
            },
            Expr::InList {
                expr,
                list,
                negated: false,
            } if list.iter().all(|x| x.is_row_independent()) => match expr.as_ref() {
                Expr::Column(c) => Some(*c),
                _ => None,
            },
            _ => None,
        };
        out.extend(col);
    }
}

/// MySQL's possible_keys: the indexes whose first column is searchable.
fn possible_keys(table: &TableDef, cols: &[usize]) -> Option<String> {
    let mut names = Vec::new();
    if table.primary.first().is_some_and(|c| cols.contains(c)) {
        names.push("PRIMARY".to_string());
    }
    for ix in &table.indexes {
        if ix.columns.first().is_some_and(|c| cols.contains(c)) {
            names.push(ix.name.clone());
        }
    }
    (!names.is_empty()).then(|| names.join(","))
}

/// Conjuncts of `filter` not answered by an equality lookup on `key_cols`.
fn residual(filter: Option<&Expr>, key_cols: &[usize]) -> bool {
    let Some(f) = filter else { return false };
    split_conj(f).into_iter().any(|e| match e {
        Expr::Cmp(CmpOp::Eq, a, b) => match (a.as_ref(), b.as_ref()) {
            (Expr::Column(c), k) | (k, Expr::Column(c)) if k.is_row_independent() => {
                !key_cols.contains(c)
            }
            _ => true,
        },
        _ => true,
    })
}

fn scan_line(p: &Plan, filter: Option<&Expr>, joined_cols: &[usize]) -> Option<Line> {
    let Plan::Scan {
        table,
        access,
        alias,
        reverse,
        limit,
        ..
    } = p
    else {
        return None;
    };
    let mut searchable = joined_cols.to_vec();
    sargable_cols(filter, &mut searchable);
    let (ty, key, parts, is_eq) = match access {
        Access::Full => ("ALL", None, 0, false),
        Access::Range { index, lo, hi, .. } => {
            let (cols, unique) = index_cols(table, *index);
            let point = match (lo, hi) {
                (Some(a), Some(b)) => {
                    a.inclusive
                        && b.inclusive
                        && format!("{:?}", a.exprs) == format!("{:?}", b.exprs)
                }
                _ => false,
            };
            let parts = match (lo, hi) {
                (None, None) => cols.len(),
                _ => lo
                    .as_ref()
                    .map(|b| b.exprs.len())
                    .max(hi.as_ref().map(|b| b.exprs.len()))
                    .unwrap_or(0),
            };
            let ty = if lo.is_none() && hi.is_none() {
                "index"
            } else if point && unique && parts == cols.len() {
                "const"
            } else if point {
                "ref"
            } else {
                "range"
            };
            (ty, Some(*index), parts, point)
        }
        Access::Points { index, keys, .. } => (
            "range",
            Some(*index),
            keys.first().map(|k| k.len()).unwrap_or(1),
            false,
        ),
        Access::Ranges { index, .. } => ("range", Some(*index), 1, false),
    };
    // A searched index is a possible key; a whole-index scan (for order or covering)
    // is not one in MySQL's sense.
    if let (Some(ix), false) = (key, ty == "index") {
        let (cols, _) = index_cols(table, ix);
        searchable.extend(cols.first());
    }
    let key_cols: Vec<usize> = key
        .map(|ix| {
            index_cols(table, ix)
                .0
                .iter()
                .take(parts)
                .copied()
                .collect()
        })
        .unwrap_or_default();
    let mut extra = String::new();
    let needs_where = if is_eq {
        residual(filter, &key_cols)
    } else {
        filter.is_some() || ty == "range"
    };
    if needs_where {
        extra.push_str("Using where");
    }
    let mut rows = access_rows(table, access).round().max(1.0) as i64;
    if let Some(Expr::Literal(Value::Int(n))) = limit.as_deref() {
        rows = rows.min((*n).max(1));
    }
    let mut line = Line {
        rows,
        table: alias.clone(),
        ty,
        possible: possible_keys(table, &searchable),
        key: key.map(|ix| key_name(table, ix)),
        key_len: key.map(|ix| key_len(table, ix, parts)),
        ref_: is_eq.then(|| vec!["const"; parts].join(",")),
        extra,
    };
    if *reverse && key.is_some() {
        line.add_extra("Backward index scan");
    }
    if access.covering() {
        line.add_extra("Using index");
    }
    Some(line)
}

fn index_join_line(j: &IndexJoin) -> Line {
    let (cols, unique) = index_cols(&j.table, j.index);
    let full = unique && j.keys.len() == cols.len();
    let mut searchable: Vec<usize> = cols.iter().take(1).copied().collect();
    sargable_cols(j.filter.as_ref(), &mut searchable);
    let key_cols: Vec<usize> = cols.iter().take(j.keys.len()).copied().collect();
    let mut extra = String::new();
    if residual(j.filter.as_ref(), &key_cols) || j.on.is_some() {
        extra.push_str("Using where");
    }
    Line {
        rows: j.rows_per_probe.round().max(1.0) as i64,
        table: j.alias.clone(),
        ty: if full { "eq_ref" } else { "ref" },
        possible: possible_keys(&j.table, &searchable),
        key: Some(key_name(&j.table, j.index)),
        key_len: Some(key_len(&j.table, j.index, j.keys.len())),
        ref_: Some(j.key_refs.join(",")),
        extra,
    }
}

/// Columns of the joined row equated to another column by `e`'s conjuncts.
fn equated(e: Option<&Expr>, out: &mut Vec<usize>) {
    let Some(e) = e else { return };
    for c in split_conj(e) {
        if let Expr::Cmp(CmpOp::Eq, a, b) = c {
            if let (Expr::Column(x), Expr::Column(y)) = (a.as_ref(), b.as_ref()) {
                out.push(*x);
                out.push(*y);
            }
        }
    }
}

/// Note an operation done on the rows of the first table (MySQL reports filesort and
/// temporary there).
fn add_first(out: &mut [Line], what: &str) {
    if let Some(l) = out.first_mut() {
        l.add_extra(what);
    }
}

/// `joined`: columns of `p`'s output equated to columns of other tables (they make
/// an index on them a possible key).
fn collect(p: &Plan, out: &mut Vec<Line>, joined: &[usize]) {
    match p {
        Plan::Scan { .. } => out.extend(scan_line(p, None, joined)),
        Plan::Filter(i, f) => match i.as_ref() {
            Plan::Scan { .. } => out.extend(scan_line(i, Some(f), joined)),
            _ => collect(i, out, joined),
        },
        Plan::Project(i, exprs) => {
            let inner: Vec<usize> = joined
                .iter()
                .filter_map(|&o| match exprs.get(o) {
                    Some(Expr::Column(c)) => Some(*c),
                    _ => None,
                })
                .collect();
            collect(i, out, &inner)
        }
        Plan::Truncate(i, _) => collect(i, out, joined),
        Plan::Sort(i, _) => {
            collect(i, out, joined);
            add_first(out, "Using filesort");
        }
        Plan::Distinct(i) => {
            collect(i, out, joined);
            add_first(out, "Using temporary");
        }
        Plan::Limit { input, .. } | Plan::Aggregate { input, .. } | Plan::Window { input, .. } => {
            collect(input, out, &[])
        }
        Plan::Join {
            left,
            right,
            on,
            hash_keys,
            kind,
            ..
        } => {
            let lw = left.width();
            let mut eq: Vec<usize> = joined.to_vec();
            equated(on.as_ref(), &mut eq);
            let mut l_eq: Vec<usize> = eq.iter().copied().filter(|&c| c < lw).collect();
            let mut r_eq: Vec<usize> = eq.iter().filter(|&&c| c >= lw).map(|c| c - lw).collect();
            for (l, r) in hash_keys {
                l_eq.extend(col_refs(l));
                r_eq.extend(col_refs(r));
            }
            // The preserved side of an outer join is read first: the ON condition
            // cannot search it.
            if *kind == JoinKind::Left {
                l_eq.retain(|c| joined.contains(c));
            }
            collect(left, out, &l_eq);
            let first_right = out.len();
            collect(right, out, &r_eq);
            if !hash_keys.is_empty() {
                if let Some(l) = out.get_mut(first_right).filter(|l| l.ty == "ALL") {
                    l.add_extra("Using join buffer (hash join)");
                }
            }
        }
        Plan::IndexJoin(j) => {
            let lw = j.left.width();
            let mut eq: Vec<usize> = joined.iter().copied().filter(|&c| c < lw).collect();
            if j.kind == JoinKind::Inner {
                for k in &j.keys {
                    eq.extend(col_refs(k));
                }
                equated(j.on.as_ref(), &mut eq);
                eq.retain(|&c| c < lw);
            }
            collect(&j.left, out, &eq);
            out.push(index_join_line(j));
        }
        Plan::SetOp { left, right, .. } => {
            collect(left, out, &[]);
            collect(right, out, &[]);
        }
        Plan::Recursive {
            anchor, recursive, ..
        } => {
            collect(anchor, out, &[]);
            collect(recursive, out, &[]);
        }
        _ => {}
    }
}

/// A scan whose access carries its own predicate (see `Access::Ranges::recheck`).
fn has_recheck(p: &Plan) -> bool {
    matches!(p, Plan::Scan { access, .. } if access_recheck(access))
}

fn access_recheck(access: &Access) -> bool {
    matches!(
        access,
        Access::Ranges {
            recheck: Some(_),
            ..
        } | Access::Range {
            recheck: Some(_),
            ..
        }
    )
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
            let cover = if access.covering() {
                "Covering index"
            } else {
                "Index"
            };
            let s = match access {
                Access::Full => format!("Table scan on {}", table.name),
                Access::Range {
                    index,
                    lo: None,
                    hi: None,
                    ..
                } => format!(
                    "{cover} scan on {} using {}",
                    table.name,
                    key_name(table, *index)
                ),
                Access::Range { index, .. }
                | Access::Points { index, .. }
                | Access::Ranges { index, .. } => format!(
                    "{cover} range scan on {} using {}",
                    table.name,
                    key_name(table, *index)
                ),
            };
            // A range that answers its predicate still shows it, as MySQL does.
            if access_recheck(access) {
                line("Filter", out);
                out.push_str("    ");
            }
            line(&s, out);
        }
        Plan::Filter(i, _) if has_recheck(i) => tree(i, depth, out),
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
            let k = if *kind == JoinKind::Left {
                "left"
            } else {
                "inner"
            };
            if hash_keys.is_empty() {
                line(&format!("Nested loop {k} join"), out);
                tree(left, depth + 1, out);
                tree(right, depth + 1, out);
            } else {
                line(
                    &format!("{} hash join", if k == "left" { "Left" } else { "Inner" }),
                    out,
                );
                tree(left, depth + 1, out);
                let inner_pad = "    ".repeat(depth + 1);
                out.push_str(&inner_pad);
                out.push_str("-> Hash\n");
                tree(right, depth + 2, out);
            }
        }
        Plan::IndexJoin(j) => {
            let k = if j.kind == JoinKind::Left {
                "left"
            } else {
                "inner"
            };
            line(&format!("Nested loop {k} join"), out);
            tree(&j.left, depth + 1, out);
            let (cols, unique) = index_cols(&j.table, j.index);
            let what = if unique && j.keys.len() == cols.len() {
                "Single-row index lookup"
            } else {
                "Index lookup"
            };
            let conds: Vec<String> = cols
                .iter()
                .zip(&j.key_refs)
                .map(|(&c, r)| format!("{}={}", j.table.columns[c].name, r))
                .collect();
            let lookup = format!(
                "{what} on {} using {} ({})",
                j.alias,
                key_name(&j.table, j.index),
                conds.join(", ")
            );
            let inner_pad = "    ".repeat(depth + 1);
            if j.filter.is_some() {
                out.push_str(&inner_pad);
                out.push_str("-> Filter\n");
                out.push_str(&"    ".repeat(depth + 2));
            } else {
                out.push_str(&inner_pad);
            }
            out.push_str("-> ");
            out.push_str(&lookup);
            out.push('\n');
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
    collect(plan, &mut lines, &[]);
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
            opt(&l.key_len),
            opt(&l.ref_),
            Value::Int(l.rows.min(TABLE_ROWS as i64)),
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

/// EXPLAIN of a multi-table UPDATE/DELETE: one row per table of the join, as for a
/// SELECT, the targets (`targets`: names as the statement gives them) with select_type
/// UPDATE or DELETE and the tables only read with SIMPLE, as MySQL shows them.
pub fn explain_multi_dml(kind: &str, plan: &Plan, targets: &[String]) -> QueryResult {
    let mut r = explain(plan, false);
    if let QueryResult::Rows { rows, .. } = &mut r {
        for row in rows.iter_mut() {
            let table = row[2].to_text().unwrap_or_default();
            let target = targets.iter().any(|t| t.eq_ignore_ascii_case(&table));
            row[1] = Value::Str(if target { kind } else { "SIMPLE" }.to_string());
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{ColumnDef, IndexDef};

    fn col(ty: SqlType, nullable: bool) -> ColumnDef {
        ColumnDef {
            name: "c".into(),
            ty,
            unsigned: false,
            nullable,
            default: None,
            auto_increment: false,
            on_update_now: false,
            collation: crate::collation::Collation::DEFAULT,
            comment: String::new(),
        }
    }

    #[test]
    fn key_len_as_mysql_counts_it() {
        let t = TableDef {
            id: 1,
            db: "d".into(),
            name: "t".into(),
            columns: vec![
                col(SqlType::Int, false),
                col(SqlType::Int, true),
                col(SqlType::VarChar(10), false),
                col(SqlType::BigInt, true),
                col(SqlType::Char(3), true),
                col(SqlType::DateTime(3), false),
            ],
            primary: vec![0],
            indexes: vec![IndexDef {
                name: "k".into(),
                columns: vec![1, 2, 3, 4, 5],
                unique: false,
                root: 0,
            }],
            root: 0,
            comment: String::new(),
            auto_increment_start: 1,
            foreign_keys: Vec::new(),
            checks: Vec::new(),
            fk_generated_indexes: Vec::new(),
        };
        assert_eq!(key_len(&t, None, 1), "4");
        assert_eq!(key_len(&t, Some(0), 1), "5");
        assert_eq!(key_len(&t, Some(0), 2), "47");
        assert_eq!(key_len(&t, Some(0), 3), "56");
        assert_eq!(key_len(&t, Some(0), 4), "69");
        assert_eq!(key_len(&t, Some(0), 5), "76");
    }

    #[test]
    fn possible_keys_in_index_order() {
        let mut cols = vec![col(SqlType::Int, false); 3];
        cols[1].name = "a".into();
        let t = TableDef {
            id: 1,
            db: "d".into(),
            name: "t".into(),
            columns: cols,
            primary: vec![0],
            indexes: vec![
                IndexDef {
                    name: "kb".into(),
                    columns: vec![2],
                    unique: false,
                    root: 0,
                },
                IndexDef {
                    name: "ka".into(),
                    columns: vec![1, 2],
                    unique: true,
                    root: 0,
                },
            ],
            root: 0,
            comment: String::new(),
            auto_increment_start: 1,
            foreign_keys: Vec::new(),
            checks: Vec::new(),
            fk_generated_indexes: Vec::new(),
        };
        assert_eq!(possible_keys(&t, &[2, 0]).as_deref(), Some("PRIMARY,kb"));
        assert_eq!(possible_keys(&t, &[1]).as_deref(), Some("ka"));
        assert_eq!(possible_keys(&t, &[]), None);
    }
}
