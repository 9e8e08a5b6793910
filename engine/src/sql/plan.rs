//! Bound expressions and query plans: what the binder produces from the AST and the
//! executor runs. Column references are positions in the input row; references to an
//! enclosing query's row (correlation) say how many levels up they point.

use std::sync::Arc;

use crate::catalog::TableDef;
use crate::collation::Collation;
use crate::functions::{BinOp, CastType, IntervalUnit};
use crate::result::Column;
use crate::value::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    NullSafeEq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionFn {
    Database,
    User,
    CurrentUser,
    Version,
    ConnectionId,
    LastInsertId,
    RowCount,
    FoundRows,
}

#[derive(Clone, Debug)]
pub enum Expr {
    Literal(Value),
    Column(usize),
    /// (levels up the outer-row stack, 1 = the immediately enclosing row; column)
    Outer(usize, usize),
    Param(usize),
    Not(Box<Expr>),
    Neg(Box<Expr>),
    BitNot(Box<Expr>),
    Arith(BinOp, Box<Expr>, Box<Expr>),
    Cmp(CmpOp, Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Xor(Box<Expr>, Box<Expr>),
    IsNull(Box<Expr>, bool),
    /// IS [NOT] TRUE/FALSE: (expr, truth tested, negated)
    IsBool(Box<Expr>, bool, bool),
    Like {
        expr: Box<Expr>,
        pattern: Box<Expr>,
        escape: Option<char>,
        negated: bool,
    },
    Regexp {
        expr: Box<Expr>,
        pattern: Box<Expr>,
        negated: bool,
    },
    Between {
        expr: Box<Expr>,
        lo: Box<Expr>,
        hi: Box<Expr>,
        negated: bool,
    },
    InList {
        expr: Box<Expr>,
        list: Vec<Expr>,
        negated: bool,
    },
    InSubquery {
        expr: Box<Expr>,
        query: Arc<SubQuery>,
        negated: bool,
    },
    Exists {
        query: Arc<SubQuery>,
        negated: bool,
    },
    /// `expr op ANY|SOME|ALL (subquery)`.
    Quantified {
        expr: Box<Expr>,
        op: CmpOp,
        query: Arc<SubQuery>,
        all: bool,
    },
    Subquery(Arc<SubQuery>),
    Case {
        operand: Option<Box<Expr>>,
        whens: Vec<(Expr, Expr)>,
        else_: Option<Box<Expr>>,
    },
    Func(String, Vec<Expr>),
    Cast(Box<Expr>, CastType),
    DateAdd {
        expr: Box<Expr>,
        interval: Box<Expr>,
        unit: IntervalUnit,
        negate: bool,
    },
    JsonExtract {
        doc: Box<Expr>,
        path: Box<Expr>,
        unquote: bool,
    },
    Session(SessionFn),
    UserVar(String),
    SysVar(String, bool /* global */),
    Row(Vec<Expr>),
    /// `BINARY x`, `_binary 'x'`: the value as a binary string (bytes, compared bytewise).
    Binary(Box<Expr>),
    /// The value of the inner expression, compared under this collation: `x COLLATE c`,
    /// and the binder's marker on comparison and LIKE operands whose collation (from a
    /// column or a COLLATE clause, by MySQL's coercibility rules) is not the default.
    /// Evaluates to the inner value unchanged; `Cmp`, `Between`, `InList`, `Like`, sorts,
    /// groupings and MIN/MAX read the collation off it ([`Expr::collation`]).
    Collate(Box<Expr>, Collation),
}

impl Expr {
    /// True when the expression does not depend on the current row (literals, params,
    /// outer references, variables): usable as an index lookup key.
    pub fn is_row_independent(&self) -> bool {
        match self {
            Expr::Literal(_)
            | Expr::Param(_)
            | Expr::Outer(..)
            | Expr::UserVar(_)
            | Expr::SysVar(..)
            | Expr::Session(_) => true,
            Expr::Column(_) | Expr::Subquery(_) | Expr::Exists { .. } | Expr::InSubquery { .. } => {
                false
            }
            Expr::Neg(e)
            | Expr::Not(e)
            | Expr::BitNot(e)
            | Expr::Cast(e, _)
            | Expr::Binary(e)
            | Expr::Collate(e, _) => e.is_row_independent(),
            Expr::Arith(_, a, b) => a.is_row_independent() && b.is_row_independent(),
            Expr::Func(name, args) => {
                !matches!(
                    name.as_str(),
                    "rand" | "uuid" | "sleep" | crate::sql::bind::ASSIGN_USER_VAR
                ) && args.iter().all(|a| a.is_row_independent())
            }
            _ => false,
        }
    }
}

/// A subquery: its plan, and whether it refers to enclosing rows (then it is re-run per
/// outer row; otherwise its result is computed once per statement).
#[derive(Debug)]
pub struct SubQuery {
    pub plan: Plan,
    pub correlated: bool,
    pub id: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AggFunc {
    Count,
    CountStar,
    Sum,
    Avg,
    Min,
    Max,
    GroupConcat,
    AnyValue,
    BitAnd,
    BitOr,
    BitXor,
    StdDev,
    StdDevSamp,
    Variance,
    VarSamp,
}

#[derive(Clone, Debug)]
pub struct AggCall {
    pub func: AggFunc,
    pub args: Vec<Expr>,
    pub distinct: bool,
    /// GROUP_CONCAT: ORDER BY keys (expr, desc) and separator.
    pub order: Vec<(Expr, bool)>,
    pub separator: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WinFunc {
    RowNumber,
    Rank,
    DenseRank,
    Lag,
    Lead,
    FirstValue,
    LastValue,
    NthValue,
    Ntile,
    PercentRank,
    CumeDist,
    Agg(AggFunc),
}

#[derive(Clone, Debug)]
pub struct WindowCall {
    pub func: WinFunc,
    pub args: Vec<Expr>,
    pub partition: Vec<Expr>,
    pub order: Vec<(Expr, bool)>,
    /// Frame: true = whole partition (no ORDER BY or explicit UNBOUNDED frame), false =
    /// RANGE UNBOUNDED PRECEDING to CURRENT ROW (the default with ORDER BY).
    pub whole_partition: bool,
    pub rows_frame: Option<(i64, i64)>,
}

/// Bound of a key range: encoded from expressions at run time.
#[derive(Clone, Debug)]
pub struct KeyBound {
    pub exprs: Vec<Expr>,
    pub inclusive: bool,
}

/// How a table is read.
#[derive(Clone, Debug)]
pub enum Access {
    Full,
    /// Range (or point when lo == hi) on the clustered key or a secondary index
    /// (`index` None = clustered). Bounds cover a prefix of the index columns.
    /// With no bounds it reads the whole index in key order.
    Range {
        index: Option<usize>,
        lo: Option<KeyBound>,
        hi: Option<KeyBound>,
        /// A secondary index that holds every column the query reads: rows are decoded
        /// from the index entries without visiting the clustered tree. (On the
        /// clustered key: only primary key columns are read; the read is the same.)
        covering: bool,
        /// The one conjunct the bounds were made from (`id BETWEEN ? AND ?`, `k = ?`,
        /// `id >= ?`), when the planner took it out of the scan's filter: as for
        /// `Ranges::recheck`, the range answers it alone when every bound evaluates to
        /// an integer the (integer) key column encodes unchanged and the read does not
        /// lock; otherwise the scan evaluates it on each row.
        recheck: Option<Box<Expr>>,
    },
    /// An OR of ranges on the first column of the clustered key or an index
    /// (`k BETWEEN a AND b OR k BETWEEN c AND d ...`): each (lo, hi) as in `Range`. At
    /// run time the ranges are evaluated, sorted and merged, so no row is read twice.
    Ranges {
        index: Option<usize>,
        ranges: Vec<(Option<KeyBound>, Option<KeyBound>)>,
        covering: bool,
        /// The OR predicate the ranges were made from, when the planner took it out of
        /// the scan's filter: the ranges then answer it alone whenever every bound
        /// evaluates to an integer that the (integer) key column encodes unchanged, and
        /// the scan re-checks it on each row otherwise (conversions, rounding, clamping).
        recheck: Option<Box<Expr>>,
    },
    /// IN-list of points on the clustered key or an index (first column).
    Points {
        index: Option<usize>,
        keys: Vec<Vec<Expr>>,
        covering: bool,
    },
}

impl Access {
    /// Reads only a secondary index (see `covering` above).
    pub fn covering(&self) -> bool {
        match self {
            Access::Full => false,
            Access::Range { covering, .. }
            | Access::Points { covering, .. }
            | Access::Ranges { covering, .. } => *covering,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JoinKind {
    Inner,
    Left,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetOp {
    Union,
    Intersect,
    Except,
}

#[derive(Clone, Debug)]
pub enum Plan {
    /// One row with no columns (SELECT without FROM).
    Single,
    Scan {
        table: Arc<TableDef>,
        /// The name the query gave the table (for EXPLAIN).
        alias: String,
        access: Access,
        /// Read in descending key order.
        reverse: bool,
        /// Stop after this many rows (LIMIT pushed down; no filter above that drops rows).
        limit: Option<Box<Expr>>,
        /// The columns anything above reads, when not all (`read[i]`): the others are
        /// not decoded and come out as NULL. Set only by the optimizer, which knows
        /// every reader of the block's rows.
        read: Option<Arc<[bool]>>,
    },
    /// Rows computed up front (information_schema, SHOW, VALUES, a materialized CTE).
    Rows(Arc<Vec<Vec<Value>>>),
    /// A CTE reference: materialized on first use within a statement.
    CteRef(usize),
    Filter(Box<Plan>, Expr),
    Project(Box<Plan>, Vec<Expr>),
    Join {
        left: Box<Plan>,
        right: Box<Plan>,
        kind: JoinKind,
        on: Option<Expr>,
        /// Width of the right side (for NULL padding in LEFT JOIN).
        right_width: usize,
        /// Equi-join keys for a hash join: (expr over the left row, expr over the right
        /// row). Empty means a nested loop over the materialized right side.
        hash_keys: Vec<(Expr, Expr)>,
    },
    /// Index nested-loop join: for each left row, probe `table` through an index (or
    /// the clustered key) with a key computed from that row; only matching rows of the
    /// inner table are read.
    IndexJoin(Box<IndexJoin>),
    Aggregate {
        input: Box<Plan>,
        group_by: Vec<Expr>,
        aggs: Vec<AggCall>,
        rollup: bool,
    },
    Window {
        input: Box<Plan>,
        calls: Vec<WindowCall>,
    },
    Sort(Box<Plan>, Vec<(Expr, bool)>),
    Limit {
        input: Box<Plan>,
        limit: Option<Expr>,
        offset: Option<Expr>,
    },
    Distinct(Box<Plan>),
    /// Keep the first `n` columns.
    Truncate(Box<Plan>, usize),
    SetOp {
        op: SetOp,
        all: bool,
        left: Box<Plan>,
        right: Box<Plan>,
    },
    /// A recursive CTE: the anchor, then the recursive part re-run on the last
    /// iteration's rows until no new rows appear.
    Recursive {
        id: usize,
        anchor: Box<Plan>,
        recursive: Box<Plan>,
        distinct: bool,
    },
}

/// The inner side of an index nested-loop join (see [`Plan::IndexJoin`]).
#[derive(Clone, Debug)]
pub struct IndexJoin {
    pub left: Plan,
    pub kind: JoinKind,
    pub table: Arc<TableDef>,
    /// The name the query gave the inner table (for EXPLAIN).
    pub alias: String,
    /// The probed index (None = clustered key).
    pub index: Option<usize>,
    /// Key prefix of the probe, one expression per index column: over the left row, or
    /// row-independent (constants).
    pub keys: Vec<Expr>,
    /// EXPLAIN's `ref` column for each key part ("db.table.column" or "const").
    pub key_refs: Vec<String>,
    /// Conditions on the inner row alone (checked before joining).
    pub filter: Option<Expr>,
    /// The join equalities the probe answers, re-checked on the joined row (the key
    /// lookup uses the inner column's comparison; this keeps the join's exact meaning).
    pub recheck: Option<Expr>,
    /// Other join conditions over the joined row (left ++ inner).
    pub on: Option<Expr>,
    /// Planner's estimate of inner rows per probe (EXPLAIN `rows`).
    pub rows_per_probe: f64,
}

/// A bound SELECT: plan plus result metadata.
#[derive(Clone, Debug)]
pub struct BoundQuery {
    pub plan: Plan,
    pub columns: Vec<Column>,
}

impl Expr {
    /// The collation of a [`Expr::Collate`] marker (None: unmarked, the default).
    pub fn collation(&self) -> Option<Collation> {
        match self {
            Expr::Collate(_, c) => Some(*c),
            _ => None,
        }
    }

    /// Calls `f` on the plan of every subquery in this expression (not inside those
    /// plans: `Plan::visit` goes on from there).
    pub fn for_each_subplan(&self, f: &mut dyn FnMut(&Plan)) {
        match self {
            Expr::Literal(_)
            | Expr::Column(_)
            | Expr::Outer(..)
            | Expr::Param(_)
            | Expr::Session(_)
            | Expr::UserVar(_)
            | Expr::SysVar(..) => {}
            Expr::Not(e)
            | Expr::Neg(e)
            | Expr::BitNot(e)
            | Expr::IsNull(e, _)
            | Expr::IsBool(e, ..)
            | Expr::Cast(e, _)
            | Expr::Binary(e)
            | Expr::Collate(e, _) => e.for_each_subplan(f),
            Expr::Arith(_, a, b)
            | Expr::Cmp(_, a, b)
            | Expr::And(a, b)
            | Expr::Or(a, b)
            | Expr::Xor(a, b)
            | Expr::Like {
                expr: a,
                pattern: b,
                ..
            }
            | Expr::Regexp {
                expr: a,
                pattern: b,
                ..
            }
            | Expr::DateAdd {
                expr: a,
                interval: b,
                ..
            }
            | Expr::JsonExtract {
                doc: a, path: b, ..
            } => {
                a.for_each_subplan(f);
                b.for_each_subplan(f);
            }
            Expr::Between { expr, lo, hi, .. } => {
                for e in [expr, lo, hi] {
                    e.for_each_subplan(f);
                }
            }
            Expr::InList { expr, list, .. } => {
                expr.for_each_subplan(f);
                list.iter().for_each(|e| e.for_each_subplan(f));
            }
            Expr::InSubquery { expr, query, .. } | Expr::Quantified { expr, query, .. } => {
                expr.for_each_subplan(f);
                f(&query.plan);
            }
            Expr::Exists { query, .. } | Expr::Subquery(query) => f(&query.plan),
            Expr::Case {
                operand,
                whens,
                else_,
            } => {
                operand.iter().for_each(|e| e.for_each_subplan(f));
                for (w, t) in whens {
                    w.for_each_subplan(f);
                    t.for_each_subplan(f);
                }
                else_.iter().for_each(|e| e.for_each_subplan(f));
            }
            Expr::Func(_, args) | Expr::Row(args) => {
                args.iter().for_each(|e| e.for_each_subplan(f))
            }
        }
    }
}

impl Plan {
    /// How many columns this plan outputs.
    pub fn width(&self) -> usize {
        match self {
            Plan::Scan { table, .. } => table.columns.len(),
            Plan::Filter(p, _) | Plan::Sort(p, _) | Plan::Distinct(p) => p.width(),
            Plan::Limit { input, .. } => input.width(),
            Plan::Project(_, e) => e.len(),
            Plan::Truncate(_, n) => *n,
            Plan::Join {
                left, right_width, ..
            } => left.width() + right_width,
            Plan::IndexJoin(j) => j.left.width() + j.table.columns.len(),
            Plan::Aggregate { group_by, aggs, .. } => group_by.len() + aggs.len(),
            Plan::Window { input, calls } => input.width() + calls.len(),
            Plan::SetOp { left, .. } => left.width(),
            Plan::Recursive { anchor, .. } => anchor.width(),
            Plan::Rows(r) => r.first().map_or(0, |x| x.len()),
            Plan::Single | Plan::CteRef(_) => 0,
        }
    }

    /// Calls `f` on this plan and on every plan inside it: inputs, join sides, set
    /// operation branches and the subqueries of its expressions.
    pub fn visit(&self, f: &mut dyn FnMut(&Plan)) {
        f(self);
        let mut exprs: Vec<&Expr> = Vec::new();
        let mut inputs: Vec<&Plan> = Vec::new();
        match self {
            Plan::Single | Plan::Rows(_) | Plan::CteRef(_) => {}
            Plan::Scan { access, limit, .. } => {
                exprs.extend(limit.as_deref());
                match access {
                    Access::Full => {}
                    Access::Range {
                        lo, hi, recheck, ..
                    } => {
                        for b in lo.iter().chain(hi.iter()) {
                            exprs.extend(b.exprs.iter());
                        }
                        exprs.extend(recheck.as_deref());
                    }
                    Access::Points { keys, .. } => exprs.extend(keys.iter().flatten()),
                    Access::Ranges {
                        ranges, recheck, ..
                    } => {
                        for (lo, hi) in ranges {
                            for b in lo.iter().chain(hi.iter()) {
                                exprs.extend(b.exprs.iter());
                            }
                        }
                        exprs.extend(recheck.as_deref());
                    }
                }
            }
            Plan::Filter(p, e) => {
                inputs.push(p);
                exprs.push(e);
            }
            Plan::Project(p, es) => {
                inputs.push(p);
                exprs.extend(es.iter());
            }
            Plan::Join {
                left,
                right,
                on,
                hash_keys,
                ..
            } => {
                inputs.extend([left.as_ref(), right.as_ref()]);
                exprs.extend(on.iter());
                for (l, r) in hash_keys {
                    exprs.extend([l, r]);
                }
            }
            Plan::IndexJoin(j) => {
                inputs.push(&j.left);
                exprs.extend(j.keys.iter());
                exprs.extend(j.filter.iter().chain(j.recheck.iter()).chain(j.on.iter()));
            }
            Plan::Aggregate {
                input,
                group_by,
                aggs,
                ..
            } => {
                inputs.push(input);
                exprs.extend(group_by.iter());
                for a in aggs {
                    exprs.extend(a.args.iter());
                    exprs.extend(a.order.iter().map(|(e, _)| e));
                }
            }
            Plan::Window { input, calls } => {
                inputs.push(input);
                for c in calls {
                    exprs.extend(c.args.iter().chain(c.partition.iter()));
                    exprs.extend(c.order.iter().map(|(e, _)| e));
                }
            }
            Plan::Sort(p, keys) => {
                inputs.push(p);
                exprs.extend(keys.iter().map(|(e, _)| e));
            }
            Plan::Limit {
                input,
                limit,
                offset,
            } => {
                inputs.push(input);
                exprs.extend(limit.iter().chain(offset.iter()));
            }
            Plan::Distinct(p) | Plan::Truncate(p, _) => inputs.push(p),
            Plan::SetOp { left, right, .. } => inputs.extend([left.as_ref(), right.as_ref()]),
            Plan::Recursive {
                anchor, recursive, ..
            } => inputs.extend([anchor.as_ref(), recursive.as_ref()]),
        }
        for e in exprs {
            e.for_each_subplan(&mut |p| p.visit(f));
        }
        for p in inputs {
            p.visit(f);
        }
    }

    /// Holds rows computed when it was bound (information_schema, SHOW, VALUES), here
    /// or in a subquery: such a plan is a snapshot, so a plan cache must bind it again.
    pub fn holds_materialized_rows(&self) -> bool {
        let mut found = false;
        self.visit(&mut |p| found |= matches!(p, Plan::Rows(_)));
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn materialized_rows_are_found_anywhere() {
        let rows = || Plan::Rows(Arc::new(vec![vec![Value::Int(1)]]));
        let sub = |plan| {
            Arc::new(SubQuery {
                plan,
                correlated: false,
                id: 1,
            })
        };
        assert!(!Plan::Single.holds_materialized_rows());
        assert!(rows().holds_materialized_rows());
        let in_filter = Plan::Filter(
            Box::new(Plan::Single),
            Expr::Exists {
                query: sub(Plan::Project(Box::new(rows()), vec![])),
                negated: false,
            },
        );
        assert!(in_filter.holds_materialized_rows());
        let deep_expr = Plan::Project(
            Box::new(Plan::Single),
            vec![Expr::Func(
                "abs".into(),
                vec![Expr::Neg(Box::new(Expr::Subquery(sub(Plan::Single))))],
            )],
        );
        assert!(!deep_expr.holds_materialized_rows());
        // A string that merely looks like the variant's name is not materialized rows.
        let literal = Plan::Project(
            Box::new(Plan::Single),
            vec![Expr::Literal(Value::Str("Rows(".into()))],
        );
        assert!(!literal.holds_materialized_rows());
        let union = Plan::SetOp {
            op: SetOp::Union,
            all: true,
            left: Box::new(Plan::Single),
            right: Box::new(Plan::Distinct(Box::new(rows()))),
        };
        assert!(union.holds_materialized_rows());
    }
}
