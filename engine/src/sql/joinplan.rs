//! The join planner's cost model and index nested-loop candidates.
//!
//! Borealis keeps no table statistics yet, so a base table is assumed to hold
//! [`TABLE_ROWS`] rows and predicates shrink that by fixed factors (an equality on a
//! unique key gives one row, on a non-unique key prefix a hundredth per key part, a range a
//! quarter, integer literal ranges their width). Costs are in "row reads": a hash join
//! reads the whole inner input once and hashes it; an index nested loop pays one B-tree
//! descent per outer row plus the rows it finds (twice for a secondary index, whose
//! entries lead to the clustered row). The greedy join order in `from.rs` compares
//! these numbers; only their relative size matters.
//!
//! Index lookups are only planned when the outer value and the inner column compare the
//! same way as their keys encode (same [`KeyKind`]), so the probe finds exactly the rows
//! the equality accepts; the executor still re-checks the equality on each joined row.

use std::cell::Cell;

use crate::catalog::{ColumnDef, SqlType, TableDef};
use crate::collation::Collation;
use crate::result::ColumnType;
use crate::sql::plan::{Access, CmpOp, Expr, KeyBound};
use crate::value::Value;

/// Assumed size of a base table (no statistics).
pub const TABLE_ROWS: f64 = 1000.0;
/// One B-tree descent.
pub const PROBE_COST: f64 = 2.0;
/// Reading and decoding one row.
pub const ROW_COST: f64 = 1.0;
/// Reading one inner row into the hash table.
pub const HASH_BUILD_COST: f64 = 1.5;
/// Looking up one outer row in the hash table.
pub const HASH_PROBE_COST: f64 = 0.5;

/// Which join algorithm the planner may use for an equi-join with an indexed inner
/// table. `Auto` compares costs; the others force a method where it applies (tests
/// use them to check that both give the same answers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JoinMethod {
    Auto,
    Hash,
    IndexNestedLoop,
}

thread_local! {
    static JOIN_METHOD: Cell<JoinMethod> = const { Cell::new(JoinMethod::Auto) };
}

/// Set the join method for statements planned on this thread; returns the previous.
/// (Only tests force a method today.)
#[cfg_attr(not(test), allow(dead_code))]
pub fn set_join_method(m: JoinMethod) -> JoinMethod {
    JOIN_METHOD.with(|c| c.replace(m))
}

pub fn join_method() -> JoinMethod {
    JOIN_METHOD.with(|c| c.get())
}

/// How a column's values compare in a key: two columns of the same kind can be joined
/// through an index on either.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    Int,
    Str(Collation),
    Bytes,
    Date,
    DateTime,
    Time,
    Decimal,
    /// Not used for index lookups from another column.
    Other,
}

pub fn kind_of_def(c: &ColumnDef) -> KeyKind {
    match &c.ty {
        t if t.is_integer() => KeyKind::Int,
        SqlType::Char(_) | SqlType::VarChar(_) | SqlType::Text(_) => KeyKind::Str(c.collation()),
        SqlType::Binary(_) | SqlType::VarBinary(_) | SqlType::Blob(_) => KeyKind::Bytes,
        SqlType::Date => KeyKind::Date,
        SqlType::DateTime(_) | SqlType::Timestamp(_) => KeyKind::DateTime,
        SqlType::Time(_) => KeyKind::Time,
        SqlType::Decimal(..) => KeyKind::Decimal,
        _ => KeyKind::Other,
    }
}

/// The kind of a computed column (derived tables): only integers are trusted, since
/// the metadata does not carry a collation.
pub fn kind_of_meta(ty: ColumnType) -> KeyKind {
    match ty {
        ColumnType::Tiny
        | ColumnType::Short
        | ColumnType::Long
        | ColumnType::LongLong
        | ColumnType::Int24 => KeyKind::Int,
        _ => KeyKind::Other,
    }
}

fn key_cols(table: &TableDef, index: Option<usize>) -> (&[usize], bool) {
    match index {
        None => (&table.primary, true),
        Some(i) => (&table.indexes[i].columns, table.indexes[i].unique),
    }
}

/// Rows matching an equality on `parts` leading key columns.
pub fn eq_rows(table: &TableDef, index: Option<usize>, parts: usize) -> f64 {
    let (cols, unique) = key_cols(table, index);
    if unique && parts >= cols.len() && !cols.is_empty() {
        1.0
    } else {
        (TABLE_ROWS / 100f64.powi(parts as i32)).max(1.0)
    }
}

fn same_exprs(a: &KeyBound, b: &KeyBound) -> bool {
    a.inclusive && b.inclusive && format!("{:?}", a.exprs) == format!("{:?}", b.exprs)
}

fn int_literal(e: &Expr) -> Option<i64> {
    match e {
        Expr::Literal(Value::Int(i)) => Some(*i),
        Expr::Literal(Value::UInt(u)) => i64::try_from(*u).ok(),
        _ => None,
    }
}

/// Estimated rows a table read through `access` returns (before other filters).
pub fn access_rows(table: &TableDef, access: &Access) -> f64 {
    match access {
        Access::Full => TABLE_ROWS,
        Access::Range { index, lo, hi, .. } => match (lo, hi) {
            (Some(a), Some(b)) if same_exprs(a, b) => eq_rows(table, *index, a.exprs.len()),
            (None, None) => TABLE_ROWS,
            _ => {
                let parts = lo
                    .as_ref()
                    .map(|b| b.exprs.len())
                    .max(hi.as_ref().map(|b| b.exprs.len()))
                    .unwrap_or(1);
                let base = eq_rows(table, *index, parts - 1);
                let last = |b: &Option<KeyBound>| {
                    b.as_ref()
                        .and_then(|b| b.exprs.get(parts - 1).and_then(int_literal))
                };
                match (last(lo), last(hi)) {
                    (Some(l), Some(h)) if base >= TABLE_ROWS => {
                        ((h as f64 - l as f64) + 1.0).clamp(1.0, TABLE_ROWS)
                    }
                    _ => (base / 4.0).max(1.0),
                }
            }
        },
        Access::Points { index, keys, .. } => {
            let parts = keys.first().map(|k| k.len()).unwrap_or(1);
            (keys.len() as f64 * eq_rows(table, *index, parts)).min(TABLE_ROWS)
        }
        Access::Ranges { index, ranges, .. } => {
            (ranges.len() as f64 * 4.0 * eq_rows(table, *index, 1)).min(TABLE_ROWS)
        }
    }
}

/// Estimated cost of a table read through `access`.
pub fn access_cost(table: &TableDef, access: &Access) -> f64 {
    let rows = access_rows(table, access);
    match access {
        Access::Full => rows * ROW_COST,
        Access::Range { index, .. }
        | Access::Points { index, .. }
        | Access::Ranges { index, .. } => {
            let fetch = if index.is_some() && !access.covering() {
                2.0
            } else {
                1.0
            };
            PROBE_COST + rows * ROW_COST * fetch
        }
    }
}

/// An equality between an expression over the joined (outer) rows and a column of the
/// candidate inner table.
pub struct JoinEq {
    /// Over the outer row layout.
    pub outer: Expr,
    /// The inner table's column.
    pub inner_col: usize,
    /// EXPLAIN's name of the outer side ("db.table.column").
    pub outer_name: String,
}

/// A chosen index probe for an inner table.
pub struct Probe {
    pub index: Option<usize>,
    pub keys: Vec<Expr>,
    pub key_refs: Vec<String>,
    /// Which `JoinEq`s the key answers.
    pub used: Vec<usize>,
    /// Estimated inner rows per probe.
    pub rows: f64,
    /// Estimated cost of one probe.
    pub cost: f64,
}

/// The cheapest index of `table` whose leading columns are all equated to outer
/// expressions (`eqs`) or constants (`consts`: (column, expression) from the inner
/// table's own filters), with at least one outer equality among them.
pub fn best_probe(table: &TableDef, eqs: &[JoinEq], consts: &[(usize, Expr)]) -> Option<Probe> {
    let mut candidates: Vec<Option<usize>> = Vec::new();
    if !table.primary.is_empty() {
        candidates.push(None);
    }
    candidates.extend((0..table.indexes.len()).map(Some));
    let mut best: Option<Probe> = None;
    for index in candidates {
        let (cols, _) = key_cols(table, index);
        let mut keys = Vec::new();
        let mut refs = Vec::new();
        let mut used = Vec::new();
        for &c in cols {
            if let Some(i) = eqs.iter().position(|e| e.inner_col == c) {
                keys.push(eqs[i].outer.clone());
                refs.push(eqs[i].outer_name.clone());
                used.push(i);
            } else if let Some((_, k)) = consts.iter().find(|(cc, _)| *cc == c) {
                keys.push(k.clone());
                refs.push("const".to_string());
            } else {
                break;
            }
        }
        if used.is_empty() {
            continue;
        }
        let rows = eq_rows(table, index, keys.len());
        let fetch = if index.is_some() { 2.0 } else { 1.0 };
        let cost = PROBE_COST + rows * ROW_COST * fetch;
        if best.as_ref().is_none_or(|b| cost < b.cost) {
            best = Some(Probe {
                index,
                keys,
                key_refs: refs,
                used,
                rows,
                cost,
            });
        }
    }
    best
}

/// `Column(c) = constant` conjuncts of a table's filters.
pub fn const_eqs(filters: &[Expr]) -> Vec<(usize, Expr)> {
    let mut out = Vec::new();
    for f in filters {
        if let Expr::Cmp(CmpOp::Eq, a, b) = f {
            match (a.as_ref(), b.as_ref()) {
                (Expr::Column(c), k) | (k, Expr::Column(c)) if k.is_row_independent() => {
                    out.push((*c, k.clone()))
                }
                _ => {}
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::IndexDef;

    fn col(name: &str, ty: SqlType) -> ColumnDef {
        ColumnDef {
            name: name.into(),
            ty,
            unsigned: false,
            nullable: false,
            default: None,
            auto_increment: false,
            on_update_now: false,
            collation: crate::collation::Collation::DEFAULT,
            comment: String::new(),
        }
    }

    fn table() -> TableDef {
        TableDef {
            id: 1,
            db: "d".into(),
            name: "t".into(),
            columns: vec![
                col("id", SqlType::Int),
                col("a", SqlType::Int),
                col("b", SqlType::Int),
            ],
            primary: vec![0],
            indexes: vec![IndexDef {
                name: "ab".into(),
                columns: vec![1, 2],
                unique: false,
                root: 0,
            }],
            root: 0,
            comment: String::new(),
            auto_increment_start: 1,
            foreign_keys: Vec::new(),
            checks: Vec::new(),
            fk_generated_indexes: Vec::new(),
        }
    }

    fn eq(inner_col: usize, outer: usize) -> JoinEq {
        JoinEq {
            outer: Expr::Column(outer),
            inner_col,
            outer_name: format!("o.c{outer}"),
        }
    }

    #[test]
    fn primary_key_probe_beats_secondary() {
        let t = table();
        let p = best_probe(&t, &[eq(1, 0), eq(0, 1)], &[]).expect("a probe");
        assert_eq!(p.index, None);
        assert_eq!(p.rows, 1.0);
        assert_eq!(p.used, vec![1]);
    }

    #[test]
    fn prefix_probe_with_constant_part() {
        let t = table();
        let consts = vec![(2, Expr::Literal(Value::Int(5)))];
        let p = best_probe(&t, &[eq(1, 3)], &consts).expect("a probe");
        assert_eq!(p.index, Some(0));
        assert_eq!(p.keys.len(), 2);
        assert_eq!(p.key_refs, vec!["o.c3".to_string(), "const".to_string()]);
        // A constant alone is not a join probe.
        assert!(best_probe(&t, &[], &consts).is_none());
        // A non-leading column cannot be probed.
        assert!(best_probe(&t, &[eq(2, 0)], &[]).is_none());
    }

    #[test]
    fn integer_literal_range_width() {
        let t = table();
        let kb = |v: i64| {
            Some(KeyBound {
                exprs: vec![Expr::Literal(Value::Int(v))],
                inclusive: true,
            })
        };
        let a = Access::Range {
            index: None,
            lo: kb(10),
            hi: kb(29),
            covering: false,
            recheck: None,
        };
        assert_eq!(access_rows(&t, &a), 20.0);
        let p = Access::Range {
            index: None,
            lo: kb(7),
            hi: kb(7),
            covering: false,
            recheck: None,
        };
        assert_eq!(access_rows(&t, &p), 1.0);
    }
}
