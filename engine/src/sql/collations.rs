//! The collation of each output column of a plan and of each expression over it, for
//! the operators that compare values without a comparison expression of their own:
//! GROUP BY, DISTINCT, UNION/INTERSECT/EXCEPT, ORDER BY, window PARTITION BY/ORDER BY,
//! MIN/MAX and aggregate DISTINCT. A table column has its declared collation; an
//! expression has its `COLLATE` marker's ([`Expr::Collate`]), else that of the column it
//! is, else of its first argument with one other than the default (UPPER(c), CONCAT(c,
//! 'x')), else the default. Comparisons in expressions (`=`, IN, BETWEEN, LIKE) are
//! marked by the binder instead, because they are evaluated without their plan.

use crate::collation::Collation;
use crate::sql::plan::{AggFunc, Expr, Plan};

/// The collation of each column `plan` outputs (a column past the end: the default).
pub fn output(plan: &Plan) -> Vec<Collation> {
    match plan {
        Plan::Scan { table, .. } => table.columns.iter().map(|c| c.collation()).collect(),
        Plan::Project(input, exprs) => {
            let inner = output(input);
            exprs.iter().map(|e| of_expr(e, &inner)).collect()
        }
        Plan::Filter(p, _) | Plan::Sort(p, _) | Plan::Distinct(p) => output(p),
        Plan::Limit { input, .. } => output(input),
        Plan::Truncate(p, n) => {
            let mut v = output(p);
            v.truncate(*n);
            v
        }
        Plan::Join { left, right, .. } => {
            let mut v = output(left);
            v.resize(left.width(), Collation::DEFAULT);
            v.extend(output(right));
            v
        }
        Plan::IndexJoin(j) => {
            let mut v = output(&j.left);
            v.resize(j.left.width(), Collation::DEFAULT);
            v.extend(j.table.columns.iter().map(|c| c.collation()));
            v
        }
        Plan::Aggregate {
            input,
            group_by,
            aggs,
            ..
        } => {
            let inner = output(input);
            let mut v: Vec<Collation> = group_by.iter().map(|g| of_expr(g, &inner)).collect();
            v.extend(aggs.iter().map(|a| {
                match a.func {
                    AggFunc::Min | AggFunc::Max | AggFunc::AnyValue | AggFunc::GroupConcat => a
                        .args
                        .first()
                        .map_or(Collation::DEFAULT, |x| of_expr(x, &inner)),
                    _ => Collation::DEFAULT,
                }
            }));
            v
        }
        Plan::Window { input, .. } => {
            let mut v = output(input);
            v.resize(input.width(), Collation::DEFAULT);
            v
        }
        Plan::SetOp { left, .. } => output(left),
        Plan::Recursive { anchor, .. } => output(anchor),
        Plan::Single | Plan::Rows(_) | Plan::CteRef(_) => Vec::new(),
    }
}

/// The collation of `e` evaluated over rows whose columns have collations `input`.
pub fn of_expr(e: &Expr, input: &[Collation]) -> Collation {
    match e {
        Expr::Collate(_, c) => *c,
        Expr::Binary(_) => Collation::BINARY,
        Expr::Column(i) => input.get(*i).copied().unwrap_or_default(),
        Expr::Func(_, args) => args
            .iter()
            .map(|a| of_expr(a, input))
            .find(|c| *c != Collation::DEFAULT)
            .unwrap_or_default(),
        Expr::Case { whens, else_, .. } => whens
            .iter()
            .map(|(_, then)| then)
            .chain(else_.as_deref())
            .map(|x| of_expr(x, input))
            .find(|c| *c != Collation::DEFAULT)
            .unwrap_or_default(),
        _ => Collation::DEFAULT,
    }
}

/// The collations of `exprs` over `input`'s rows.
pub fn of_exprs<'e>(exprs: impl IntoIterator<Item = &'e Expr>, input: &Plan) -> Vec<Collation> {
    let inner = output(input);
    exprs.into_iter().map(|e| of_expr(e, &inner)).collect()
}
