//! Planning FROM and WHERE: join order, predicate pushdown, hash-join keys and the
//! access path (index) of each table.
//!
//! Every relation is bound to a unit with its own scope; WHERE and inner-join ON
//! conjuncts are bound against the concatenation of all units (the global layout).
//! A conjunct that touches one unit is pushed into it (and may choose its index), and
//! `a = const` with `a = b` adds `b = const` for b's unit. The rest join units greedily
//! (polynomial in the number of tables): the unit with the fewest estimated rows
//! first, then repeatedly the connected unit whose join is cheapest (`joinplan`'s cost
//! model), as a hash join on the equalities or as an index nested loop probing the
//! inner table's primary key or a secondary index whose leading columns the
//! equalities (and constants) cover; a cross product only when nothing is connected.
//! LEFT/RIGHT JOIN keep their operands as written (the inner side may be probed through
//! an index the same way); WHERE conjuncts on the preserved side alone are copied below
//! the outer join. The result is reordered to the global layout.

use sqlparser::ast;

use crate::catalog::TableDef;
use crate::collation::Collation;
use crate::error::{Error, Result};
use crate::sql::bind::{split_and, Binder, Scope, ScopeCol};
use crate::sql::joinplan::*;
use crate::sql::plan::*;

struct Unit {
    plan: Plan,
    scope: Scope,
}

pub fn plan_from(
    b: &mut Binder<'_>,
    from: &[ast::TableWithJoins],
    where_conj: Vec<ast::Expr>,
) -> Result<(Plan, Scope)> {
    let mut units: Vec<Unit> = Vec::new();
    let mut conj: Vec<ast::Expr> = Vec::new();
    let mut using: Vec<UsingEq> = Vec::new();
    for item in from {
        let (plan, scope) = b.bind_table_factor(&item.relation)?;
        let mut acc = vec![Unit { plan, scope }];
        let mut acc_conj: Vec<ast::Expr> = Vec::new();
        let mut acc_using: Vec<UsingEq> = Vec::new();
        for j in &item.joins {
            let (rplan, rscope) = b.bind_table_factor(&j.relation)?;
            let right = Unit {
                plan: rplan,
                scope: rscope,
            };
            use ast::JoinOperator as J;
            match &j.join_operator {
                J::Join(c) | J::Inner(c) | J::CrossJoin(c) | J::StraightJoin(c) => {
                    let left_cols: Vec<ScopeCol> =
                        acc.iter().flat_map(|u| u.scope.cols.clone()).collect();
                    match c {
                        ast::JoinConstraint::On(e) => acc_conj.extend(split_and(e)),
                        ast::JoinConstraint::Using(cols) => {
                            for c in cols {
                                let name = crate::sql::bind::ident_names(c)
                                    .last()
                                    .cloned()
                                    .unwrap_or_default();
                                acc_using.push(UsingEq::new(&left_cols, &right.scope, &name)?);
                            }
                        }
                        ast::JoinConstraint::Natural => {
                            for rc in &right.scope.cols {
                                if left_cols
                                    .iter()
                                    .any(|l| l.name.eq_ignore_ascii_case(&rc.name))
                                {
                                    acc_using.push(UsingEq::new(
                                        &left_cols,
                                        &right.scope,
                                        &rc.name,
                                    )?);
                                }
                            }
                        }
                        _ => {}
                    }
                    acc.push(right);
                }
                J::Left(c) | J::LeftOuter(c) | J::Right(c) | J::RightOuter(c) => {
                    let is_right = matches!(j.join_operator, J::Right(_) | J::RightOuter(_));
                    // WHERE conditions on the preserved side alone filter it before the
                    // outer join (and may choose its index); they are applied again on
                    // top, so a copy is enough.
                    let mut right = right;
                    if is_right {
                        let f = pushable_where(b, &right.scope, &where_conj)
                            .into_iter()
                            .map(|(_, e)| e)
                            .collect();
                        right.plan = push_filters(right.plan, f);
                    } else {
                        let scope = Scope {
                            cols: acc.iter().flat_map(|u| u.scope.cols.clone()).collect(),
                        };
                        acc_conj.extend(
                            pushable_where(b, &scope, &where_conj)
                                .into_iter()
                                .map(|(a, _)| a),
                        );
                    }
                    let left = greedy_join(
                        b,
                        std::mem::take(&mut acc),
                        std::mem::take(&mut acc_conj),
                        std::mem::take(&mut acc_using),
                    )?;
                    let joined = if is_right {
                        outer_join(b, right, left, c, true)?
                    } else {
                        outer_join(b, left, right, c, false)?
                    };
                    acc.push(joined);
                }
                other => return Err(Error::unsupported(format!("join {other:?}"))),
            }
        }
        units.extend(acc);
        conj.extend(acc_conj);
        using.extend(acc_using);
    }
    conj.extend(where_conj);
    let u = greedy_join(b, units, conj, using)?;
    Ok((u.plan, u.scope))
}

/// WHERE conjuncts that bind against `scope` alone, refer to its columns, and are safe
/// to evaluate early (no subqueries, no references to enclosing queries, deterministic):
/// (the conjunct, bound over `scope`).
fn pushable_where(
    b: &mut Binder<'_>,
    scope: &Scope,
    where_conj: &[ast::Expr],
) -> Vec<(ast::Expr, Expr)> {
    let mut out = Vec::new();
    for c in where_conj {
        if c.to_string().to_ascii_uppercase().contains("SELECT") {
            continue;
        }
        let Ok(e) = b.bind_expr_in(c, scope, "where clause") else {
            continue;
        };
        let mut ok = !col_refs(&e).is_empty();
        visit(&e, &mut |x| match x {
            Expr::Outer(..) => ok = false,
            Expr::Func(name, _)
                if matches!(
                    name.as_str(),
                    "rand"
                        | "uuid"
                        | "uuid_short"
                        | "sleep"
                        | "last_insert_id"
                        | crate::sql::bind::ASSIGN_USER_VAR
                ) =>
            {
                ok = false
            }
            _ => {}
        });
        if ok && !has_subquery(&e) {
            out.push((c.clone(), e));
        }
    }
    out
}

/// An equality from USING / NATURAL: global positions are resolved at join time by
/// (table alias, column name) on each side.
struct UsingEq {
    left_table: String,
    right_table: String,
    name: String,
}

impl UsingEq {
    fn new(left: &[ScopeCol], right: &Scope, name: &str) -> Result<UsingEq> {
        let l = left
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name))
            .ok_or_else(|| Error::bad_field(name, "from clause"))?;
        let r = right
            .cols
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name))
            .ok_or_else(|| Error::bad_field(name, "from clause"))?;
        Ok(UsingEq {
            left_table: l.table.clone(),
            right_table: r.table.clone(),
            name: name.to_string(),
        })
    }
}

fn find_col(scope: &Scope, table: &str, name: &str) -> Option<usize> {
    scope
        .cols
        .iter()
        .position(|c| c.table == table && c.name.eq_ignore_ascii_case(name))
}

fn outer_join(
    b: &mut Binder<'_>,
    left: Unit,
    right: Unit,
    c: &ast::JoinConstraint,
    swapped: bool,
) -> Result<Unit> {
    let lw = left.scope.width();
    let rw = right.scope.width();
    let mut scope = Scope {
        cols: left.scope.cols.clone(),
    };
    scope.cols.extend(right.scope.cols.iter().cloned());
    let mut on_conj: Vec<Expr> = Vec::new();
    match c {
        ast::JoinConstraint::On(e) => {
            for x in split_and(e) {
                on_conj.push(b.bind_expr_in(&x, &scope, "on clause")?);
            }
        }
        ast::JoinConstraint::Using(cols) => {
            for cn in cols {
                let name = crate::sql::bind::ident_names(cn)
                    .last()
                    .cloned()
                    .unwrap_or_default();
                let u = UsingEq::new(&left.scope.cols, &right.scope, &name)?;
                let li = find_col(&left.scope, &u.left_table, &u.name)
                    .ok_or_else(|| Error::bad_field(&name, "from clause"))?;
                let ri = find_col(&right.scope, &u.right_table, &u.name)
                    .ok_or_else(|| Error::bad_field(&name, "from clause"))?;
                scope.cols[lw + ri].hidden = true;
                on_conj.push(using_eq(&left.plan, li, &right.plan, ri, lw));
            }
        }
        ast::JoinConstraint::Natural => {
            for rc in &right.scope.cols {
                if let Some(li) = left
                    .scope
                    .cols
                    .iter()
                    .position(|l| l.name.eq_ignore_ascii_case(&rc.name))
                {
                    let ri =
                        find_col(&right.scope, &rc.table, &rc.name).expect("column of right scope");
                    scope.cols[lw + ri].hidden = true;
                    on_conj.push(using_eq(&left.plan, li, &right.plan, ri, lw));
                }
            }
        }
        ast::JoinConstraint::None | ast::JoinConstraint::UsingAlias(..) => {}
    }
    // Conjuncts on the right side alone filter the right input (and may pick its index);
    // equalities across the sides become hash keys; the rest stay in ON.
    let mut right_only = Vec::new();
    let mut hash_keys = Vec::new();
    let mut rest = Vec::new();
    for e in on_conj {
        let refs = col_refs(&e);
        if has_subquery(&e) {
            rest.push(e);
        } else if !refs.is_empty() && refs.iter().all(|&i| i >= lw) {
            right_only.push(remap(&e, &|i| i - lw));
        } else if let Some((l, r)) = split_equi(&e, &|i| i < lw, &|i| i >= lw) {
            hash_keys.push((l, remap(&r, &|i| i - lw)));
        } else {
            rest.push(e);
        }
    }
    let probe = left_join_probe(&left, &right, &scope, &hash_keys, &right_only);
    let mut plan = match probe {
        Some((pr, table, alias)) => {
            // Key equalities are re-checked; the other equalities stay in ON.
            let mut recheck = Vec::new();
            for (k, (l, r)) in hash_keys.into_iter().enumerate() {
                let e = Expr::Cmp(CmpOp::Eq, Box::new(l), Box::new(remap(&r, &|i| i + lw)));
                if pr.used.contains(&k) {
                    recheck.push(e);
                } else {
                    rest.push(e);
                }
            }
            Plan::IndexJoin(Box::new(IndexJoin {
                left: left.plan,
                kind: JoinKind::Left,
                table,
                alias,
                index: pr.index,
                keys: pr.keys,
                key_refs: pr.key_refs,
                filter: and_all(right_only),
                recheck: and_all(recheck),
                on: and_all(rest),
                rows_per_probe: pr.rows,
            }))
        }
        None => Plan::Join {
            left: Box::new(left.plan),
            right: Box::new(push_filters(right.plan, right_only)),
            kind: JoinKind::Left,
            on: and_all(rest),
            right_width: rw,
            hash_keys,
        },
    };
    if swapped {
        // RIGHT JOIN was planned as right LEFT JOIN left: put the columns back in the
        // written order (the original left side first).
        let mut exprs: Vec<Expr> = (lw..lw + rw).map(Expr::Column).collect();
        exprs.extend((0..lw).map(Expr::Column));
        plan = Plan::Project(Box::new(plan), exprs);
        let mut cols = scope.cols[lw..].to_vec();
        cols.extend(scope.cols[..lw].iter().cloned());
        scope = Scope { cols };
    }
    Ok(Unit { plan, scope })
}

/// A unit waiting to be joined: its plan without its own filters yet (an inner table of
/// an index join takes them as the probe's filter).
struct Pending {
    unit: Unit,
    filters: Vec<Expr>,
    /// The base table, when the unit is a bare table scan.
    table: Option<(std::sync::Arc<TableDef>, String)>,
    /// Estimated rows (after its filters) and cost of reading it on its own.
    rows: f64,
    cost: f64,
}

impl Pending {
    fn new(unit: Unit, filters: Vec<Expr>) -> Pending {
        let table = match &unit.plan {
            Plan::Scan {
                table,
                alias,
                access: Access::Full,
                limit: None,
                ..
            } => Some((table.clone(), alias.clone())),
            _ => None,
        };
        let (rows, cost) = match &table {
            Some((t, _)) => {
                let access = choose_access(t, &filters);
                let mut rows = access_rows(t, &access);
                if matches!(access, Access::Full) && !filters.is_empty() {
                    rows *= 0.3;
                }
                (rows.max(1.0), access_cost(t, &access))
            }
            None => {
                let rows = match &unit.plan {
                    Plan::Rows(r) => r.len() as f64,
                    _ => TABLE_ROWS,
                };
                (rows.max(1.0), rows)
            }
        };
        Pending {
            unit,
            filters,
            table,
            rows,
            cost,
        }
    }

    /// The table's own access (from its filters) is an equality lookup already:
    /// constants beat join keys, so it is read once rather than probed per row.
    fn has_eq_access(&self) -> bool {
        match &self.table {
            Some((t, _)) => matches!(
                choose_access(t, &self.filters),
                Access::Range { lo: Some(ref a), hi: Some(ref b), .. }
                    if format!("{a:?}") == format!("{b:?}")
            ),
            None => false,
        }
    }

    fn into_plan(self) -> Plan {
        push_filters(self.unit.plan, self.filters)
    }
}

/// How the next unit joins the joined set.
enum Method {
    /// Hash join on the equalities (or a nested loop over the materialized inner side
    /// when there are none).
    Hash,
    Index(Probe),
}

/// EXPLAIN's name of a column ("db.table.column").
fn ref_name(c: &ScopeCol) -> String {
    let table = if c.meta.table.is_empty() {
        c.table.clone()
    } else {
        c.meta.table.clone()
    };
    if c.meta.schema.is_empty() {
        format!("{table}.{}", c.name)
    } else {
        format!("{}.{table}.{}", c.meta.schema, c.name)
    }
}

/// The (outer, inner) columns of a join equality `l = r` whose inner column's keys can
/// answer it: the columns compare alike (same key kind) and, for text, under the
/// collation the inner column is keyed by (the binder's marker on both sides, or none
/// for the default).
fn probe_columns(
    l: &Expr,
    r: &Expr,
    lkinds: &[KeyKind],
    rkinds: &[KeyKind],
) -> Option<(usize, usize)> {
    let (a, c, coll) = match (l, r) {
        (Expr::Column(a), Expr::Column(c)) => (*a, *c, Collation::DEFAULT),
        (Expr::Collate(x, lc), Expr::Collate(y, rc)) if lc == rc => {
            match (x.as_ref(), y.as_ref()) {
                (Expr::Column(a), Expr::Column(c)) => (*a, *c, *lc),
                _ => return None,
            }
        }
        _ => return None,
    };
    let (lk, rk) = (lkinds.get(a)?, rkinds.get(c)?);
    let text_ok = match rk {
        KeyKind::Str(k) => *k == coll,
        _ => true,
    };
    (*lk != KeyKind::Other && lk == rk && text_ok).then_some((a, c))
}

/// Equalities usable as index-probe keys into `inner` (global column range `off..off+w`)
/// from the joined columns `layout`: (position in `conds`, the probe equality).
fn probe_eqs(
    conds: &[&Expr],
    layout: &[usize],
    off: usize,
    w: usize,
    kinds: &[KeyKind],
    global: &Scope,
) -> Vec<(usize, JoinEq)> {
    let in_left = |g: usize| layout.contains(&g);
    let in_right = |g: usize| g >= off && g < off + w;
    let mut out = Vec::new();
    for (i, e) in conds.iter().enumerate() {
        let Some((l, r)) = split_equi(e, &in_left, &in_right) else {
            continue;
        };
        let Some((lg, rg)) = probe_columns(&l, &r, kinds, kinds) else {
            continue;
        };
        out.push((
            i,
            JoinEq {
                outer: remap_layout(&l, layout),
                inner_col: rg - off,
                outer_name: ref_name(&global.cols[lg]),
            },
        ));
    }
    out
}

/// Key kinds of a unit's columns: from the table definition for a base table, else
/// from the column metadata.
fn unit_kinds(u: &Unit) -> Vec<KeyKind> {
    let base = match &u.plan {
        Plan::Filter(i, _) => i.as_ref(),
        p => p,
    };
    if let Plan::Scan { table, .. } = base {
        if table.columns.len() == u.scope.width() {
            return table.columns.iter().map(kind_of_def).collect();
        }
    }
    u.scope
        .cols
        .iter()
        .map(|c| kind_of_meta(c.meta.ty))
        .collect()
}

/// Add `b = k` for every `a = k` (k a literal or parameter) and `a = b` between columns
/// of different units that compare the same way: the other table can then use an index
/// for the constant instead of waiting for the join.
fn propagate_constants(
    per_unit: &mut [Vec<Expr>],
    multi: &[(Expr, Vec<usize>)],
    offsets: &[usize],
    kinds: &[KeyKind],
) {
    let unit_of = |i: usize| -> usize { offsets.iter().rposition(|&o| o <= i).unwrap_or(0) };
    let mut col_eqs: Vec<(usize, usize)> = Vec::new();
    for (e, _) in multi {
        if let Expr::Cmp(CmpOp::Eq, a, b) = e {
            if let (Expr::Column(x), Expr::Column(y)) = (a.as_ref(), b.as_ref()) {
                if kinds[*x] != KeyKind::Other && kinds[*x] == kinds[*y] {
                    col_eqs.push((*x, *y));
                }
            }
        }
    }
    if col_eqs.is_empty() {
        return;
    }
    let constant =
        |e: &Expr| matches!(e, Expr::Literal(v) if !v.is_null()) || matches!(e, Expr::Param(_));
    // Global column -> constant it equals.
    let mut known: Vec<(usize, Expr)> = Vec::new();
    for (u, fs) in per_unit.iter().enumerate() {
        for f in fs {
            if let Expr::Cmp(CmpOp::Eq, a, b) = f {
                match (a.as_ref(), b.as_ref()) {
                    (Expr::Column(c), k) | (k, Expr::Column(c)) if constant(k) => {
                        known.push((offsets[u] + c, k.clone()))
                    }
                    _ => {}
                }
            }
        }
    }
    let mut changed = true;
    while changed {
        changed = false;
        for &(x, y) in &col_eqs {
            for (from, to) in [(x, y), (y, x)] {
                if known.iter().any(|(c, _)| *c == to) {
                    continue;
                }
                if let Some(k) = known
                    .iter()
                    .find(|(c, _)| *c == from)
                    .map(|(_, k)| k.clone())
                {
                    let u = unit_of(to);
                    per_unit[u].push(Expr::Cmp(
                        CmpOp::Eq,
                        Box::new(Expr::Column(to - offsets[u])),
                        Box::new(k.clone()),
                    ));
                    known.push((to, k));
                    changed = true;
                }
            }
        }
    }
}

/// An index probe for the inner table of a LEFT JOIN, when its hash keys can drive one
/// and it is cheaper (or forced): (probe, table, alias). `used` indexes `hash_keys`.
fn left_join_probe(
    left: &Unit,
    right: &Unit,
    scope: &Scope,
    hash_keys: &[(Expr, Expr)],
    right_only: &[Expr],
) -> Option<(Probe, std::sync::Arc<TableDef>, String)> {
    let pref = join_method();
    if hash_keys.is_empty() || pref == JoinMethod::Hash {
        return None;
    }
    let Plan::Scan {
        table,
        alias,
        access: Access::Full,
        limit: None,
        ..
    } = &right.plan
    else {
        return None;
    };
    let lk = unit_kinds(left);
    let rk = unit_kinds(right);
    // One JoinEq per usable hash key; `pos[j]` is its hash key.
    let mut eqs = Vec::new();
    let mut pos = Vec::new();
    for (k, (l, r)) in hash_keys.iter().enumerate() {
        if let Some((a, c)) = probe_columns(l, r, &lk, &rk) {
            eqs.push(JoinEq {
                outer: l.clone(),
                inner_col: c,
                outer_name: ref_name(&scope.cols[a]),
            });
            pos.push(k);
        }
    }
    let mut pr = best_probe(table, &eqs, &const_eqs(right_only))?;
    if pref == JoinMethod::Auto {
        let Pending {
            rows: rrows,
            cost: rcost,
            ..
        } = Pending::new(
            Unit {
                plan: right.plan.clone(),
                scope: Scope::default(),
            },
            right_only.to_vec(),
        );
        let lrows = estimate_rows(&left.plan);
        let hash = rcost + rrows * HASH_BUILD_COST + lrows * HASH_PROBE_COST;
        let index = lrows * (pr.cost + HASH_PROBE_COST);
        if index >= hash {
            return None;
        }
    }
    pr.used = pr.used.iter().map(|&i| pos[i]).collect();
    Some((pr, table.clone(), alias.clone()))
}

/// Rough output rows of a planned unit.
fn estimate_rows(p: &Plan) -> f64 {
    match p {
        Plan::Scan { table, access, .. } => access_rows(table, access),
        Plan::Filter(i, _) => match i.as_ref() {
            Plan::Scan {
                access: Access::Full,
                ..
            } => TABLE_ROWS * 0.3,
            other => estimate_rows(other),
        },
        Plan::Project(i, _) | Plan::Truncate(i, _) => estimate_rows(i),
        Plan::Join { left, right, .. } => estimate_rows(left).max(estimate_rows(right)),
        Plan::IndexJoin(j) => (estimate_rows(&j.left) * j.rows_per_probe).max(1.0),
        Plan::Rows(r) => r.len() as f64,
        _ => TABLE_ROWS,
    }
}

fn greedy_join(
    b: &mut Binder<'_>,
    units: Vec<Unit>,
    conj: Vec<ast::Expr>,
    using: Vec<UsingEq>,
) -> Result<Unit> {
    let mut global = Scope::default();
    let mut offsets = Vec::with_capacity(units.len());
    let mut kinds: Vec<KeyKind> = Vec::new();
    for u in &units {
        offsets.push(global.width());
        global.cols.extend(u.scope.cols.iter().cloned());
        kinds.extend(unit_kinds(u));
    }
    let unit_of = |i: usize| -> usize { offsets.iter().rposition(|&o| o <= i).unwrap_or(0) };
    let mut bound: Vec<Expr> = Vec::new();
    for c in &conj {
        bound.push(b.bind_expr_in(c, &global, "where clause")?);
    }
    // The collation of every column of the joined row (for USING equalities).
    let mut colls: Vec<Collation> = Vec::with_capacity(global.width());
    if !using.is_empty() {
        for u in &units {
            let mut c = crate::sql::collations::output(&u.plan);
            c.resize(u.scope.width(), Collation::DEFAULT);
            colls.extend(c);
        }
    }
    for u in &using {
        let l = find_col(&global, &u.left_table, &u.name)
            .ok_or_else(|| Error::bad_field(&u.name, "from clause"))?;
        // The right column: the last match with the right table alias.
        let r = global
            .cols
            .iter()
            .rposition(|c| c.table == u.right_table && c.name.eq_ignore_ascii_case(&u.name))
            .ok_or_else(|| Error::bad_field(&u.name, "from clause"))?;
        bound.push(column_eq(l, colls[l], r, colls[r]));
        global.cols[r].hidden = true;
    }
    // Classify conjuncts.
    let n = units.len();
    let mut per_unit: Vec<Vec<Expr>> = vec![Vec::new(); n];
    let mut multi: Vec<(Expr, Vec<usize>)> = Vec::new();
    let mut top: Vec<Expr> = Vec::new();
    for e in bound {
        let refs = col_refs(&e);
        let mut us: Vec<usize> = refs.iter().map(|&i| unit_of(i)).collect();
        us.sort();
        us.dedup();
        if has_subquery(&e) || us.is_empty() {
            top.push(e);
        } else if us.len() == 1 && n > 0 {
            let off = offsets[us[0]];
            per_unit[us[0]].push(remap(&e, &|i| i - off));
        } else {
            multi.push((e, us));
        }
    }
    if n == 1 {
        let u = units.into_iter().next().expect("one unit");
        let f = per_unit.pop().unwrap_or_default();
        let mut plan = push_filters(u.plan, f);
        if let Some(f) = and_all(top) {
            plan = Plan::Filter(Box::new(plan), f);
        }
        return Ok(Unit {
            plan,
            scope: u.scope,
        });
    }
    propagate_constants(&mut per_unit, &multi, &offsets, &kinds);
    let widths: Vec<usize> = units.iter().map(|u| u.scope.width()).collect();
    let mut pending: Vec<Option<Pending>> = units
        .into_iter()
        .zip(per_unit)
        .map(|(u, f)| Some(Pending::new(u, f)))
        .collect();
    let method_pref = join_method();
    // Greedy order: start from the unit with the fewest estimated rows, then repeatedly
    // add the connected unit whose join is cheapest (a cross product only when nothing
    // is connected).
    let first = (0..n)
        .min_by(|&a, &c| {
            let ra = pending[a].as_ref().map(|p| p.rows).unwrap_or(f64::MAX);
            let rc = pending[c].as_ref().map(|p| p.rows).unwrap_or(f64::MAX);
            ra.partial_cmp(&rc).unwrap_or(std::cmp::Ordering::Equal)
        })
        .unwrap_or(0);
    let p0 = pending[first].take().expect("first unit");
    let mut rows = p0.rows;
    let mut plan = p0.into_plan();
    let mut joined: Vec<usize> = vec![first];
    let mut layout: Vec<usize> = (offsets[first]..offsets[first] + widths[first]).collect();
    let mut remaining_multi = multi;
    while joined.len() < n {
        // (unit, connected, cost, output rows, method)
        let mut best: Option<(usize, bool, f64, f64, Method)> = None;
        for c in 0..n {
            let Some(p) = pending[c].as_ref() else {
                continue;
            };
            let off = offsets[c];
            let w = widths[c];
            let covered: Vec<&Expr> = remaining_multi
                .iter()
                .filter(|(_, us)| {
                    us.contains(&c) && us.iter().all(|u| *u == c || joined.contains(u))
                })
                .map(|(e, _)| e)
                .collect();
            let in_left = |g: usize| layout.contains(&g);
            let in_right = |g: usize| g >= off && g < off + w;
            let n_equi = covered
                .iter()
                .filter(|e| split_equi(e, &in_left, &in_right).is_some())
                .count();
            let connected = n_equi > 0;
            let hash_cost = if connected {
                p.cost + p.rows * HASH_BUILD_COST + rows * HASH_PROBE_COST
            } else {
                p.cost + rows * p.rows * ROW_COST
            };
            let hash_rows = if connected {
                rows.max(p.rows)
            } else {
                rows * p.rows
            };
            let mut choice = (hash_cost, hash_rows, Method::Hash);
            if let (Some((t, _)), true) = (&p.table, connected) {
                if method_pref != JoinMethod::Hash && !p.has_eq_access() {
                    let eqs: Vec<JoinEq> = probe_eqs(&covered, &layout, off, w, &kinds, &global)
                        .into_iter()
                        .map(|(_, e)| e)
                        .collect();
                    if let Some(pr) = best_probe(t, &eqs, &const_eqs(&p.filters)) {
                        let cost = rows * (pr.cost + HASH_PROBE_COST);
                        let out_rows = rows * pr.rows;
                        if method_pref == JoinMethod::IndexNestedLoop || cost < choice.0 {
                            choice = (cost, out_rows, Method::Index(pr));
                        }
                    }
                }
            }
            let better = match &best {
                None => true,
                Some((_, bc, bcost, _, _)) => {
                    (connected && !bc) || (connected == *bc && choice.0 < *bcost)
                }
            };
            if better {
                best = Some((c, connected, choice.0, choice.1, choice.2));
            }
        }
        let (next, _, _, out_rows, method) = best.expect("a unit remains");
        let p = pending[next].take().expect("unit not joined yet");
        let off = offsets[next];
        let w = widths[next];
        let mut covered = Vec::new();
        let mut keep = Vec::new();
        for (e, us) in remaining_multi.into_iter() {
            if us.iter().all(|u| *u == next || joined.contains(u)) {
                covered.push(e);
            } else {
                keep.push((e, us));
            }
        }
        remaining_multi = keep;
        let mut new_layout = layout.clone();
        new_layout.extend(off..off + w);
        match method {
            Method::Index(pr) => {
                let refs: Vec<&Expr> = covered.iter().collect();
                let used_conds: Vec<usize> = probe_eqs(&refs, &layout, off, w, &kinds, &global)
                    .into_iter()
                    .map(|(i, _)| i)
                    .enumerate()
                    .filter(|(k, _)| pr.used.contains(k))
                    .map(|(_, i)| i)
                    .collect();
                let mut recheck = Vec::new();
                let mut on = Vec::new();
                for (i, e) in covered.iter().enumerate() {
                    let m = remap_layout(e, &new_layout);
                    if used_conds.contains(&i) {
                        recheck.push(m);
                    } else {
                        on.push(m);
                    }
                }
                let (table, alias) = p.table.clone().expect("index join on a table");
                plan = Plan::IndexJoin(Box::new(IndexJoin {
                    left: plan,
                    kind: JoinKind::Inner,
                    table,
                    alias,
                    index: pr.index,
                    keys: pr.keys,
                    key_refs: pr.key_refs,
                    filter: and_all(p.filters),
                    recheck: and_all(recheck),
                    on: and_all(on),
                    rows_per_probe: pr.rows,
                }));
            }
            Method::Hash => {
                let in_left = |g: usize| layout.contains(&g);
                let in_right = |g: usize| g >= off && g < off + w;
                let mut hash_keys = Vec::new();
                let mut post = Vec::new();
                for e in covered {
                    if let Some((l, r)) = split_equi(&e, &in_left, &in_right) {
                        hash_keys.push((remap_layout(&l, &layout), remap(&r, &|i| i - off)));
                    } else {
                        post.push(remap_layout(&e, &new_layout));
                    }
                }
                plan = Plan::Join {
                    left: Box::new(plan),
                    right: Box::new(p.into_plan()),
                    kind: JoinKind::Inner,
                    on: and_all(post),
                    right_width: w,
                    hash_keys,
                };
            }
        }
        rows = out_rows.max(1.0);
        layout = new_layout;
        joined.push(next);
    }
    // Back to the global layout.
    let identity = layout.iter().enumerate().all(|(i, &g)| i == g);
    if !identity {
        let exprs = (0..global.width())
            .map(|g| {
                Expr::Column(
                    layout
                        .iter()
                        .position(|&x| x == g)
                        .expect("all columns joined"),
                )
            })
            .collect();
        plan = Plan::Project(Box::new(plan), exprs);
    }
    for (e, _) in remaining_multi {
        top.push(e);
    }
    if let Some(f) = and_all(top) {
        plan = Plan::Filter(Box::new(plan), f);
    }
    Ok(Unit {
        plan,
        scope: global,
    })
}

/// Wrap `plan` with filters; a table scan also picks its access path from them.
fn push_filters(plan: Plan, mut filters: Vec<Expr>) -> Plan {
    if filters.is_empty() {
        return plan;
    }
    let plan = match plan {
        Plan::Scan {
            table,
            alias,
            access: Access::Full,
            reverse,
            limit,
            read,
        } => {
            let mut access = choose_access(&table, &filters);
            if let Some(i) = exact_or(&table, &access, &filters) {
                if let Access::Ranges { recheck, .. } = &mut access {
                    *recheck = Some(Box::new(filters.remove(i)));
                }
            } else if let Some(i) = exact_range(&table, &access, &filters) {
                if let Access::Range { recheck, .. } = &mut access {
                    *recheck = Some(Box::new(filters.remove(i)));
                }
            }
            let scan = Plan::Scan {
                table,
                alias,
                access,
                reverse,
                limit,
                read,
            };
            return match and_all(filters) {
                Some(f) => Plan::Filter(Box::new(scan), f),
                None => scan,
            };
        }
        other => other,
    };
    Plan::Filter(Box::new(plan), and_all(filters).expect("non-empty"))
}

/// When `access` is an OR of ranges on an integer key column: the position of the
/// conjunct it was made from (the first one `choose_access` finds), which the access can
/// then answer without evaluating it per row (see `Access::Ranges::recheck`). Only
/// integer columns qualify: their key order is exactly SQL's comparison with an integer,
/// whereas strings have collations and prefixes, and other numbers rounding.
fn exact_or(table: &TableDef, access: &Access, filters: &[Expr]) -> Option<usize> {
    if !matches!(access, Access::Ranges { .. }) {
        return None;
    }
    let col = key_column(table, access)?;
    if !table.columns[col].ty.is_integer() {
        return None;
    }
    filters
        .iter()
        .position(|e| or_of_ranges(table, e).is_some())
}

/// When `access` is a range on an integer key column made from one conjunct alone
/// (`id BETWEEN ? AND ?`, `id > ?`, `k <= ?`): that conjunct's position, which the
/// access can then answer without evaluating it per row (see `Access::Range::recheck`).
/// Equalities stay in the filter, where ORDER BY planning looks for fixed columns; so
/// does a conjunct sharing its column with another one (`id > 1 AND id < 9`), and a
/// range over more than the first key column.
fn exact_range(table: &TableDef, access: &Access, filters: &[Expr]) -> Option<usize> {
    let Access::Range { lo, hi, .. } = access else {
        return None;
    };
    let one = |b: &Option<KeyBound>| b.as_ref().is_none_or(|b| b.exprs.len() == 1);
    if (lo.is_none() && hi.is_none()) || !one(lo) || !one(hi) {
        return None;
    }
    let col = key_column(table, access)?;
    if !table.columns[col].ty.is_integer() {
        return None;
    }
    let mut found = None;
    for (i, e) in filters.iter().enumerate() {
        if !constrains(table, e, col) {
            continue;
        }
        if found.is_some() {
            return None;
        }
        let (c, l, h) = disjunct_range(table, e)?;
        let eq = matches!(e, Expr::Cmp(CmpOp::Eq, ..));
        if c != col || eq || l.is_some() != lo.is_some() || h.is_some() != hi.is_some() {
            return None;
        }
        found = Some(i);
    }
    found
}

/// Whether `choose_access` could take bounds on column `col` from conjunct `e`.
fn constrains(table: &TableDef, e: &Expr, col: usize) -> bool {
    match e {
        Expr::Cmp(_, a, b) => {
            keyed_column(table, a) == Some(col) || keyed_column(table, b) == Some(col)
        }
        Expr::Between { expr, .. } | Expr::InList { expr, .. } => {
            keyed_column(table, expr) == Some(col)
        }
        _ => false,
    }
}

/// The first key column of the index (or clustered key) an access path reads.
fn key_column(table: &TableDef, access: &Access) -> Option<usize> {
    let index = match access {
        Access::Full => return None,
        Access::Range { index, .. }
        | Access::Ranges { index, .. }
        | Access::Points { index, .. } => *index,
    };
    match index {
        None => table.primary.first().copied(),
        Some(i) => table.indexes.get(i)?.columns.first().copied(),
    }
}

#[derive(Default, Clone)]
struct ColPreds {
    eq: Option<Expr>,
    lo: Option<(Expr, bool)>,
    hi: Option<(Expr, bool)>,
    in_list: Option<Vec<Expr>>,
}

/// Pick the access path for a table from conjuncts over its columns.
pub fn choose_access(table: &TableDef, conj: &[Expr]) -> Access {
    let mut preds: Vec<ColPreds> = vec![ColPreds::default(); table.columns.len()];
    for e in conj {
        match e {
            Expr::Cmp(op, a, b) => {
                let (col, k, op) = match (keyed_column(table, a), keyed_column(table, b)) {
                    (Some(c), _) if key_operand(b).is_row_independent() => {
                        (c, key_operand(b).clone(), *op)
                    }
                    (_, Some(c)) if key_operand(a).is_row_independent() => {
                        (c, key_operand(a).clone(), flip(*op))
                    }
                    _ => continue,
                };
                let Some(p) = preds.get_mut(col) else {
                    continue;
                };
                match op {
                    CmpOp::Eq => p.eq = Some(k),
                    CmpOp::Gt => p.lo = Some((k, false)),
                    CmpOp::Ge => p.lo = Some((k, true)),
                    CmpOp::Lt => p.hi = Some((k, false)),
                    CmpOp::Le => p.hi = Some((k, true)),
                    _ => {}
                }
            }
            Expr::Between {
                expr,
                lo,
                hi,
                negated: false,
            } => {
                if let Some(c) = keyed_column(table, expr) {
                    let (lo, hi) = (key_operand(lo), key_operand(hi));
                    if lo.is_row_independent() && hi.is_row_independent() {
                        if let Some(p) = preds.get_mut(c) {
                            p.lo = Some((lo.clone(), true));
                            p.hi = Some((hi.clone(), true));
                        }
                    }
                }
            }
            Expr::InList {
                expr,
                list,
                negated: false,
            } => {
                if let Some(c) = keyed_column(table, expr) {
                    if list.iter().all(|x| x.is_row_independent()) && !list.is_empty() {
                        if let Some(p) = preds.get_mut(c) {
                            p.in_list = Some(list.iter().map(|x| key_operand(x).clone()).collect());
                        }
                    }
                }
            }
            _ => {}
        }
    }
    let try_index = |cols: &[usize], index: Option<usize>, unique: bool| -> Option<(Access, u32)> {
        let mut eqs = Vec::new();
        for &c in cols {
            match &preds[c].eq {
                Some(k) => eqs.push(k.clone()),
                None => break,
            }
        }
        if !eqs.is_empty() && eqs.len() == cols.len() {
            let kb = KeyBound {
                exprs: eqs,
                inclusive: true,
            };
            return Some((
                Access::Range {
                    index,
                    lo: Some(kb.clone()),
                    hi: Some(kb),
                    covering: false,
                    recheck: None,
                },
                if unique { 100 } else { 80 },
            ));
        }
        if let Some(&next) = cols.get(eqs.len()) {
            let p = &preds[next];
            if p.lo.is_some() || p.hi.is_some() {
                let mk = |b: &Option<(Expr, bool)>| {
                    b.as_ref().map(|(k, inc)| {
                        let mut ex = eqs.clone();
                        ex.push(k.clone());
                        KeyBound {
                            exprs: ex,
                            inclusive: *inc,
                        }
                    })
                };
                let mut lo = mk(&p.lo);
                let mut hi = mk(&p.hi);
                if !eqs.is_empty() {
                    if lo.is_none() {
                        lo = Some(KeyBound {
                            exprs: eqs.clone(),
                            inclusive: true,
                        });
                    }
                    if hi.is_none() {
                        hi = Some(KeyBound {
                            exprs: eqs.clone(),
                            inclusive: true,
                        });
                    }
                }
                return Some((
                    Access::Range {
                        index,
                        lo,
                        hi,
                        covering: false,
                        recheck: None,
                    },
                    50 + eqs.len() as u32 * 10,
                ));
            }
            if eqs.is_empty() {
                if let Some(list) = &p.in_list {
                    return Some((
                        Access::Points {
                            index,
                            keys: list.iter().map(|k| vec![k.clone()]).collect(),
                            covering: false,
                        },
                        60,
                    ));
                }
            }
        }
        if !eqs.is_empty() {
            let kb = KeyBound {
                exprs: eqs.clone(),
                inclusive: true,
            };
            return Some((
                Access::Range {
                    index,
                    lo: Some(kb.clone()),
                    hi: Some(kb),
                    covering: false,
                    recheck: None,
                },
                40 + eqs.len() as u32 * 10,
            ));
        }
        None
    };
    let mut best: Option<(Access, u32)> = None;
    if !table.primary.is_empty() {
        if let Some((a, s)) = try_index(&table.primary, None, true) {
            best = Some((a, s + 5));
        }
    }
    for (i, ix) in table.indexes.iter().enumerate() {
        if let Some((a, s)) = try_index(&ix.columns, Some(i), ix.unique) {
            if best.as_ref().is_none_or(|(_, bs)| s > *bs) {
                best = Some((a, s));
            }
        }
    }
    if best.is_none() {
        for e in conj {
            if let Some(a) = or_of_ranges(table, e) {
                return a;
            }
        }
    }
    best.map(|(a, _)| a).unwrap_or(Access::Full)
}

/// The equality a USING or NATURAL join column stands for: left column `li` equals
/// right column `ri` (joined row: left then right, `lw` wide on the left), under the
/// columns' collation (a `_bin` one wins over a case-insensitive one, as for `=`).
fn using_eq(left: &Plan, li: usize, right: &Plan, ri: usize, lw: usize) -> Expr {
    let lc = crate::sql::collations::output(left)
        .get(li)
        .copied()
        .unwrap_or_default();
    let rc = crate::sql::collations::output(right)
        .get(ri)
        .copied()
        .unwrap_or_default();
    column_eq(li, lc, lw + ri, rc)
}

/// `Column(l) = Column(r)`, columns of collations `lc` and `rc`, marked with the
/// collation the equality compares under.
fn column_eq(l: usize, lc: Collation, r: usize, rc: Collation) -> Expr {
    let coll = if lc == rc || !lc.case_insensitive() {
        lc
    } else if !rc.case_insensitive() {
        rc
    } else {
        lc
    };
    let mark = |e: Expr| {
        if coll == Collation::DEFAULT {
            e
        } else {
            Expr::Collate(Box::new(e), coll)
        }
    };
    Expr::Cmp(
        CmpOp::Eq,
        Box::new(mark(Expr::Column(l))),
        Box::new(mark(Expr::Column(r))),
    )
}

/// A comparison operand without the binder's collation marker ([`Expr::Collate`]).
fn key_operand(e: &Expr) -> &Expr {
    match e {
        Expr::Collate(x, _) => x,
        _ => e,
    }
}

/// The column of `table` that comparison operand `e` is, when that column's keys can
/// answer the comparison: the comparison's collation (the marker's, else the default)
/// is the one the column is keyed by. Text keys hold collation weights, so a range from
/// the bare other operand then finds exactly the rows the comparison accepts; numbers,
/// temporals and binary strings compare the same under every collation.
fn keyed_column(table: &TableDef, e: &Expr) -> Option<usize> {
    let (c, coll) = match e {
        Expr::Collate(x, coll) => match x.as_ref() {
            Expr::Column(c) => (*c, *coll),
            _ => return None,
        },
        Expr::Column(c) => (*c, Collation::DEFAULT),
        _ => return None,
    };
    let def = table.columns.get(c)?;
    let text = def.ty.is_string() && def.ty != crate::catalog::SqlType::Json;
    (!text || def.collation() == coll).then_some(c)
}

/// One disjunct as a range on column `col`: `col BETWEEN a AND b`, `col = a`, `col < a`,
/// ... with row-independent bounds.
fn disjunct_range(
    table: &TableDef,
    e: &Expr,
) -> Option<(usize, Option<KeyBound>, Option<KeyBound>)> {
    let kb = |k: &Expr, inclusive: bool| KeyBound {
        exprs: vec![k.clone()],
        inclusive,
    };
    match e {
        Expr::Between {
            expr,
            lo,
            hi,
            negated: false,
        } => {
            let (lo, hi) = (key_operand(lo), key_operand(hi));
            match keyed_column(table, expr) {
                Some(c) if lo.is_row_independent() && hi.is_row_independent() => {
                    Some((c, Some(kb(lo, true)), Some(kb(hi, true))))
                }
                _ => None,
            }
        }
        Expr::Cmp(op, a, b) => {
            let (col, k, op) = match (keyed_column(table, a), keyed_column(table, b)) {
                (Some(c), _) if key_operand(b).is_row_independent() => (c, key_operand(b), *op),
                (_, Some(c)) if key_operand(a).is_row_independent() => {
                    (c, key_operand(a), flip(*op))
                }
                _ => return None,
            };
            match op {
                CmpOp::Eq => Some((col, Some(kb(k, true)), Some(kb(k, true)))),
                CmpOp::Gt => Some((col, Some(kb(k, false)), None)),
                CmpOp::Ge => Some((col, Some(kb(k, true)), None)),
                CmpOp::Lt => Some((col, None, Some(kb(k, false)))),
                CmpOp::Le => Some((col, None, Some(kb(k, true)))),
                _ => None,
            }
        }
        _ => None,
    }
}

/// `e` as an OR of ranges on the first column of the clustered key or an index.
fn or_of_ranges(table: &TableDef, e: &Expr) -> Option<Access> {
    if !matches!(e, Expr::Or(..)) {
        return None;
    }
    let mut parts = Vec::new();
    let mut stack = vec![e];
    while let Some(x) = stack.pop() {
        match x {
            Expr::Or(a, b) => {
                stack.push(b);
                stack.push(a);
            }
            other => parts.push(disjunct_range(table, other)?),
        }
    }
    let col = parts[0].0;
    if parts.iter().any(|(c, _, _)| *c != col) {
        return None;
    }
    let index = if table.primary.first() == Some(&col) {
        None
    } else {
        Some(
            table
                .indexes
                .iter()
                .position(|ix| ix.columns.first() == Some(&col))?,
        )
    };
    Some(Access::Ranges {
        index,
        ranges: parts.into_iter().map(|(_, lo, hi)| (lo, hi)).collect(),
        covering: false,
        recheck: None,
    })
}

fn flip(op: CmpOp) -> CmpOp {
    match op {
        CmpOp::Lt => CmpOp::Gt,
        CmpOp::Le => CmpOp::Ge,
        CmpOp::Gt => CmpOp::Lt,
        CmpOp::Ge => CmpOp::Le,
        o => o,
    }
}

pub fn and_all(v: Vec<Expr>) -> Option<Expr> {
    v.into_iter()
        .reduce(|a, b| Expr::And(Box::new(a), Box::new(b)))
}

/// `l = r` where `l` only uses columns accepted by `left` and `r` only `right` (either
/// way round); returns (left expr, right expr).
fn split_equi(
    e: &Expr,
    left: &dyn Fn(usize) -> bool,
    right: &dyn Fn(usize) -> bool,
) -> Option<(Expr, Expr)> {
    if let Expr::Cmp(CmpOp::Eq, a, b) = e {
        let ra = col_refs(a);
        let rb = col_refs(b);
        if ra.is_empty() || rb.is_empty() || has_subquery(a) || has_subquery(b) {
            return None;
        }
        if ra.iter().all(|&i| left(i)) && rb.iter().all(|&i| right(i)) {
            return Some((a.as_ref().clone(), b.as_ref().clone()));
        }
        if rb.iter().all(|&i| left(i)) && ra.iter().all(|&i| right(i)) {
            return Some((b.as_ref().clone(), a.as_ref().clone()));
        }
    }
    None
}

fn remap_layout(e: &Expr, layout: &[usize]) -> Expr {
    remap(e, &|g| {
        layout
            .iter()
            .position(|&x| x == g)
            .expect("column in layout")
    })
}

/// Column references of an expression (not inside subqueries).
pub fn col_refs(e: &Expr) -> Vec<usize> {
    let mut v = Vec::new();
    visit(e, &mut |x| {
        if let Expr::Column(i) = x {
            v.push(*i);
        }
    });
    v
}

pub fn has_subquery(e: &Expr) -> bool {
    let mut f = false;
    visit(e, &mut |x| {
        if matches!(
            x,
            Expr::Subquery(_)
                | Expr::Exists { .. }
                | Expr::InSubquery { .. }
                | Expr::Quantified { .. }
        ) {
            f = true;
        }
    });
    f
}

fn visit(e: &Expr, f: &mut dyn FnMut(&Expr)) {
    f(e);
    match e {
        Expr::Not(a)
        | Expr::Neg(a)
        | Expr::BitNot(a)
        | Expr::IsNull(a, _)
        | Expr::IsBool(a, _, _)
        | Expr::Cast(a, _)
        | Expr::Binary(a)
        | Expr::Collate(a, _) => visit(a, f),
        Expr::Arith(_, a, b)
        | Expr::Cmp(_, a, b)
        | Expr::And(a, b)
        | Expr::Or(a, b)
        | Expr::Xor(a, b) => {
            visit(a, f);
            visit(b, f);
        }
        Expr::Like { expr, pattern, .. } | Expr::Regexp { expr, pattern, .. } => {
            visit(expr, f);
            visit(pattern, f);
        }
        Expr::Between { expr, lo, hi, .. } => {
            visit(expr, f);
            visit(lo, f);
            visit(hi, f);
        }
        Expr::InList { expr, list, .. } => {
            visit(expr, f);
            for x in list {
                visit(x, f);
            }
        }
        Expr::InSubquery { expr, .. } | Expr::Quantified { expr, .. } => visit(expr, f),
        Expr::Case {
            operand,
            whens,
            else_,
        } => {
            if let Some(o) = operand {
                visit(o, f);
            }
            for (a, b) in whens {
                visit(a, f);
                visit(b, f);
            }
            if let Some(x) = else_ {
                visit(x, f);
            }
        }
        Expr::Func(_, args) | Expr::Row(args) => {
            for a in args {
                visit(a, f);
            }
        }
        Expr::DateAdd { expr, interval, .. } => {
            visit(expr, f);
            visit(interval, f);
        }
        Expr::JsonExtract { doc, path, .. } => {
            visit(doc, f);
            visit(path, f);
        }
        _ => {}
    }
}

/// Rewrite column references through `m`.
pub fn remap(e: &Expr, m: &dyn Fn(usize) -> usize) -> Expr {
    let r = |x: &Expr| Box::new(remap(x, m));
    match e {
        Expr::Column(i) => Expr::Column(m(*i)),
        Expr::Not(a) => Expr::Not(r(a)),
        Expr::Neg(a) => Expr::Neg(r(a)),
        Expr::BitNot(a) => Expr::BitNot(r(a)),
        Expr::Binary(a) => Expr::Binary(r(a)),
        Expr::Collate(a, c) => Expr::Collate(r(a), *c),
        Expr::IsNull(a, n) => Expr::IsNull(r(a), *n),
        Expr::IsBool(a, t, n) => Expr::IsBool(r(a), *t, *n),
        Expr::Cast(a, t) => Expr::Cast(r(a), *t),
        Expr::Arith(op, a, b) => Expr::Arith(*op, r(a), r(b)),
        Expr::Cmp(op, a, b) => Expr::Cmp(*op, r(a), r(b)),
        Expr::And(a, b) => Expr::And(r(a), r(b)),
        Expr::Or(a, b) => Expr::Or(r(a), r(b)),
        Expr::Xor(a, b) => Expr::Xor(r(a), r(b)),
        Expr::Like {
            expr,
            pattern,
            escape,
            negated,
        } => Expr::Like {
            expr: r(expr),
            pattern: r(pattern),
            escape: *escape,
            negated: *negated,
        },
        Expr::Regexp {
            expr,
            pattern,
            negated,
        } => Expr::Regexp {
            expr: r(expr),
            pattern: r(pattern),
            negated: *negated,
        },
        Expr::Between {
            expr,
            lo,
            hi,
            negated,
        } => Expr::Between {
            expr: r(expr),
            lo: r(lo),
            hi: r(hi),
            negated: *negated,
        },
        Expr::InList {
            expr,
            list,
            negated,
        } => Expr::InList {
            expr: r(expr),
            list: list.iter().map(|x| remap(x, m)).collect(),
            negated: *negated,
        },
        Expr::InSubquery {
            expr,
            query,
            negated,
        } => Expr::InSubquery {
            expr: r(expr),
            query: query.clone(),
            negated: *negated,
        },
        Expr::Case {
            operand,
            whens,
            else_,
        } => Expr::Case {
            operand: operand.as_ref().map(|o| r(o)),
            whens: whens
                .iter()
                .map(|(a, b)| (remap(a, m), remap(b, m)))
                .collect(),
            else_: else_.as_ref().map(|x| r(x)),
        },
        Expr::Func(n, args) => Expr::Func(n.clone(), args.iter().map(|x| remap(x, m)).collect()),
        Expr::Row(args) => Expr::Row(args.iter().map(|x| remap(x, m)).collect()),
        Expr::DateAdd {
            expr,
            interval,
            unit,
            negate,
        } => Expr::DateAdd {
            expr: r(expr),
            interval: r(interval),
            unit: *unit,
            negate: *negate,
        },
        Expr::JsonExtract { doc, path, unquote } => Expr::JsonExtract {
            doc: r(doc),
            path: r(path),
            unquote: *unquote,
        },
        other => other.clone(),
    }
}

/// The conjuncts of an AND tree.
pub fn split_conj(e: &Expr) -> Vec<&Expr> {
    match e {
        Expr::And(a, b) => {
            let mut v = split_conj(a);
            v.extend(split_conj(b));
            v
        }
        other => vec![other],
    }
}

#[cfg(test)]
mod tests {
    use crate::sql::bind::Binder;
    use crate::sql::plan::{Access, Plan};
    use crate::Database;

    /// The plan of a SELECT on a fresh `t (id INT PRIMARY KEY, k INT, s VARCHAR(5))`
    /// with indexes on k and s.
    fn plan(sql: &str) -> Plan {
        let db = Database::open_in_memory().unwrap();
        let mut s = db.session();
        s.execute(
            "CREATE DATABASE d; USE d; \
             CREATE TABLE t (id INT PRIMARY KEY, k INT, s VARCHAR(5), KEY (k), KEY (s))",
        )
        .unwrap();
        let cat = db.shared.catalog();
        let mut b = Binder::new(&cat, Some("d".into()), sql);
        let sqlparser::ast::Statement::Query(q) = crate::sql::parse::parse_one(sql).unwrap() else {
            panic!("not a query: {sql}")
        };
        b.bind_query(&q).unwrap().plan
    }

    /// (the range scan has its predicate in `recheck`, a Filter remains above it)
    fn shape(p: &Plan) -> (bool, bool) {
        let (mut recheck, mut filter) = (false, false);
        p.visit(&mut |x| match x {
            Plan::Filter(..) => filter = true,
            Plan::Scan {
                access: Access::Ranges { recheck: r, .. } | Access::Range { recheck: r, .. },
                ..
            } => recheck = r.is_some(),
            _ => {}
        });
        (recheck, filter)
    }

    #[test]
    fn a_single_integer_range_moves_into_the_access() {
        for sql in [
            "SELECT s FROM t WHERE id BETWEEN 3 AND 9",
            "SELECT s FROM t WHERE id > 3",
            "SELECT s FROM t WHERE k <= 3",
        ] {
            let p = plan(sql);
            assert_eq!(shape(&p), (true, false), "{sql}: {p:?}");
        }
        // Another conjunct stays a filter.
        let p = plan("SELECT s FROM t WHERE id BETWEEN 3 AND 9 AND s <> 'x'");
        assert_eq!(shape(&p), (true, true), "{p:?}");
        for sql in [
            // Equalities stay, for ORDER BY planning.
            "SELECT s FROM t WHERE k = 3",
            // Two conjuncts on the key column.
            "SELECT s FROM t WHERE id > 3 AND id < 9",
            "SELECT s FROM t WHERE id BETWEEN 3 AND 9 AND id <> 5",
            // Strings have collations.
            "SELECT id FROM t WHERE s BETWEEN 'a' AND 'b'",
        ] {
            let p = plan(sql);
            assert_eq!(shape(&p), (false, true), "{sql}: {p:?}");
        }
    }

    #[test]
    fn an_integer_or_of_ranges_moves_into_the_access() {
        let p = plan("SELECT COUNT(k) FROM t WHERE k BETWEEN 1 AND 2 OR k = 7");
        assert_eq!(shape(&p), (true, false), "{p:?}");
        // Another conjunct stays a filter.
        let p = plan("SELECT id FROM t WHERE (k < 3 OR k > 9) AND s = 'x'");
        assert!(shape(&p).1, "{p:?}");
        // Strings: collations, so the filter stays and nothing moves.
        let p = plan("SELECT id FROM t WHERE s BETWEEN 'a' AND 'b' OR s = 'z'");
        assert_eq!(shape(&p), (false, true), "{p:?}");
        // Primary key ranges move too.
        let p = plan("SELECT id FROM t WHERE id < 3 OR id BETWEEN 7 AND 9");
        assert_eq!(shape(&p), (true, false), "{p:?}");
    }
}
