//! Multi-table UPDATE and DELETE: `UPDATE t1 JOIN t2 ON ... SET t1.a = t2.b, t2.c = ...`,
//! `UPDATE t1, t2 SET ...`, `DELETE t1, t2 FROM t1 JOIN t2 ...`, `DELETE FROM t1 USING ...`.
//!
//! The table references are planned by the join planner exactly as a SELECT's FROM and
//! WHERE (`from::plan_from`), and read with exclusive row locks: a locking read returns
//! the latest committed versions, as InnoDB's UPDATE does. Each joined row then names at
//! most one row of every target: a target row is identified from its column values by its
//! clustered key when the table has a primary key, else (hidden row id) by its exact
//! encoded values, which a locking scan of that table maps to the stored rows. Rows with
//! identical values join identically, so they are matched, and changed, alike.
//!
//! Invariants, as MySQL: a target row is changed at most once per target name, by the
//! first joined row that reaches it; every new value is computed from the joined rows
//! before anything is written (an assignment sees earlier assignments to the same table,
//! other tables' columns as read); the changes go through the single-table paths
//! (`update_row`/`delete_row`, triggers, strict-mode coercion, unique checks), so a failing
//! statement is undone by the session's statement rollback like any other.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use sqlparser::ast;

use crate::catalog::TableDef;
use crate::catalog::TriggerEvent as Ev;
use crate::catalog::TriggerTiming::{After, Before};
use crate::error::{code, Error, Result};
use crate::result::QueryResult;
use crate::row::{decode_row, encode_row};
use crate::sql::bind::{ident_names, split_and, Binder, Scope};
use crate::sql::dml::{div_zero_is_error, is_default_marker, store_assigned, write_updated_row};
use crate::sql::exec::Exec;
use crate::sql::plan::{Access, Expr, Plan};
use crate::sql::trigger;
use crate::value::Value;

/// ER_WRONG_USAGE: ORDER BY / LIMIT with a multi-table UPDATE.
const ER_WRONG_USAGE: u16 = 1221;
/// ER_NON_UPDATABLE_TABLE: a derived table or view named as a target.
const ER_NON_UPDATABLE_TABLE: u16 = 1288;

/// One table reference of the FROM list and where its columns sit in a joined row.
struct Instance {
    /// The name the statement gives it (alias or table name), lower case.
    alias: String,
    db: String,
    /// None for derived tables and views (never a target).
    table: Option<Arc<TableDef>>,
    off: usize,
}

/// How a target row is recognized in a joined row.
#[derive(Clone, PartialEq, Eq, Hash)]
enum RowId {
    /// The clustered key (tables with a primary key).
    Key(Vec<u8>),
    /// The exact encoded values (tables keyed by a hidden row id).
    Values(Vec<u8>),
}

/// The statement's FROM list planned as a join, with its base-table instances.
struct Joined {
    plan: Plan,
    scope: Scope,
    instances: Vec<Instance>,
}

/// Is this UPDATE a multi-table one?
pub fn is_multi_update(up: &ast::Update) -> bool {
    !up.table.joins.is_empty() || up.from.is_some()
}

/// Is this DELETE a multi-table one (a target list, or USING)?
pub fn is_multi_delete(del: &ast::Delete) -> bool {
    !del.tables.is_empty() || del.using.is_some()
}

/// A multi-table UPDATE bound: its table references, their join, and the assignments
/// as (instance, column in the instance, value; None = DEFAULT).
struct BoundUpdate {
    refs: Vec<ast::TableWithJoins>,
    j: Joined,
    sets: Vec<(usize, usize, Option<Expr>)>,
}

pub fn update(ex: &mut Exec<'_>, b: &mut Binder<'_>, up: &ast::Update) -> Result<QueryResult> {
    let BoundUpdate { refs, j, sets } = bind_update(b, up)?;
    let targets: Vec<usize> = dedup_in_order(sets.iter().map(|s| s.0));
    check_not_read(
        b,
        &j,
        &targets,
        up.selection.as_ref(),
        &refs,
        &up.assignments,
    )?;
    check_privileges(ex, b, &j, &targets, "UPDATE", up)?;

    let rows = read_locked(ex, &j.plan)?;
    let strict = ex.sess.strict();
    ex.dml_strict = strict && div_zero_is_error(ex);

    // Compute every change before writing any.
    struct Change {
        inst: usize,
        id: RowId,
        sets: Vec<(usize, Value)>,
    }
    let mut changes: Vec<Change> = Vec::new();
    let mut seen: HashSet<(usize, RowId)> = HashSet::new();
    for (ri, row) in rows.iter().enumerate() {
        for &ti in &targets {
            let inst = &j.instances[ti];
            let t = inst.table.as_ref().expect("targets are base tables");
            let slice = &row[inst.off..inst.off + t.columns.len()];
            let Some(id) = row_id(ex, t, slice) else {
                continue; // the NULL side of an outer join: no row
            };
            if !seen.insert((ti, id.clone())) {
                continue;
            }
            let mut work = row.clone();
            let mut vals = Vec::new();
            for (_, ci, e) in sets.iter().filter(|s| s.0 == ti) {
                let v = match e {
                    Some(e) => ex.eval(e, &work)?,
                    None => t.columns[*ci].default_value().unwrap_or(Value::Null),
                };
                let v = store_assigned(ex, v, &t.columns[*ci], strict, ri + 1)?;
                work[inst.off + ci] = v.clone();
                vals.push((*ci, v));
            }
            changes.push(Change {
                inst: ti,
                id,
                sets: vals,
            });
        }
    }

    let cat = b.catalog;
    let by_values = keys_by_values(ex, &j, &targets)?;
    let mut matched = 0u64;
    let mut changed = 0u64;
    for c in changes {
        let t = j.instances[c.inst]
            .table
            .clone()
            .expect("targets are base tables");
        let has_triggers = !cat.triggers_on(&t.db, &t.name).is_empty();
        for key in stored_keys(&t, &c.id, &by_values) {
            let Some(cur) = current_row(ex, &t, &key)? else {
                continue;
            };
            matched += 1;
            let mut new = cur.clone();
            for (ci, v) in &c.sets {
                new[*ci] = v.clone();
            }
            let assigned = |i: usize| c.sets.iter().any(|(ci, _)| *ci == i);
            if write_updated_row(ex, cat, &t, &key, &cur, new, assigned, has_triggers)? {
                changed += 1;
            }
        }
    }
    Ok(QueryResult::Ok {
        affected_rows: changed,
        last_insert_id: 0,
        info: format!(
            "Rows matched: {matched}  Changed: {changed}  Warnings: {}",
            ex.fnctx.warnings.len()
        ),
    })
}

/// EXPLAIN of a multi-table UPDATE: the join's plan and the names of its targets.
pub fn explain_update(b: &mut Binder<'_>, up: &ast::Update) -> Result<(Plan, Vec<String>)> {
    let BoundUpdate { j, sets, .. } = bind_update(b, up)?;
    let targets = dedup_in_order(sets.iter().map(|s| s.0))
        .into_iter()
        .map(|i| j.instances[i].alias.clone())
        .collect();
    Ok((j.plan, targets))
}

/// EXPLAIN of a multi-table DELETE: the join's plan and the names of its targets.
pub fn explain_delete(b: &mut Binder<'_>, del: &ast::Delete) -> Result<(Plan, Vec<String>)> {
    let (_, j, targets) = bind_delete(b, del)?;
    let targets = targets
        .into_iter()
        .map(|i| j.instances[i].alias.clone())
        .collect();
    Ok((j.plan, targets))
}

/// Bind a multi-table UPDATE: plan its references as a join and resolve its assignments.
fn bind_update(b: &mut Binder<'_>, up: &ast::Update) -> Result<BoundUpdate> {
    let mut refs = vec![up.table.clone()];
    match &up.from {
        // `UPDATE t1, t2 SET` reaches us as `UPDATE t1 FROM t2 SET` (see `parse`).
        Some(ast::UpdateTableFromKind::BeforeSet(more)) => refs.extend(more.iter().cloned()),
        Some(ast::UpdateTableFromKind::AfterSet(_)) => {
            return Err(Error::parse(near(&b.sql, "FROM")))
        }
        None => {}
    }
    if !up.order_by.is_empty() {
        return Err(wrong_usage("UPDATE", "ORDER BY"));
    }
    if up.limit.is_some() {
        return Err(wrong_usage("UPDATE", "LIMIT"));
    }
    let j = plan_join(b, &refs, up.selection.as_ref())?;

    // Targets: the instance each assigned column belongs to.
    let mut sets: Vec<(usize, usize, Option<Expr>)> = Vec::new(); // (instance, column, value)
    for a in &up.assignments {
        let parts = match &a.target {
            ast::AssignmentTarget::ColumnName(n) => ident_names(n),
            ast::AssignmentTarget::Tuple(_) => return Err(Error::unsupported("tuple assignment")),
        };
        let col = match parts.as_slice() {
            [c] => ast::Expr::Identifier(ast::Ident::new(c)),
            _ => ast::Expr::CompoundIdentifier(parts.iter().map(ast::Ident::new).collect()),
        };
        let Expr::Column(at) = b.bind_expr_in(&col, &j.scope, "field list")? else {
            return Err(Error::bad_field(&parts.join("."), "field list"));
        };
        let inst = j
            .instances
            .iter()
            .rposition(|i| i.off <= at)
            .filter(|&i| j.instances[i].table.is_some())
            .ok_or_else(|| not_updatable(&j.scope.cols[at].table, "UPDATE"))?;
        let value = if is_default_marker(&a.value) {
            None
        } else {
            Some(b.bind_expr_in(&a.value, &j.scope, "field list")?)
        };
        sets.push((inst, at - j.instances[inst].off, value));
    }
    Ok(BoundUpdate { refs, j, sets })
}

pub fn delete(ex: &mut Exec<'_>, b: &mut Binder<'_>, del: &ast::Delete) -> Result<QueryResult> {
    let (refs, j, targets) = bind_delete(b, del)?;
    check_not_read(b, &j, &targets, del.selection.as_ref(), refs, &[])?;
    check_privileges(ex, b, &j, &targets, "DELETE", del)?;

    let rows = read_locked(ex, &j.plan)?;
    // The rows to delete, each physical row once however many names reach it.
    let mut doomed: Vec<(usize, RowId)> = Vec::new();
    let mut seen: HashSet<(u64, RowId)> = HashSet::new();
    for row in &rows {
        for &ti in &targets {
            let inst = &j.instances[ti];
            let t = inst.table.as_ref().expect("targets are base tables");
            let slice = &row[inst.off..inst.off + t.columns.len()];
            let Some(id) = row_id(ex, t, slice) else {
                continue;
            };
            if seen.insert((t.root, id.clone())) {
                doomed.push((ti, id));
            }
        }
    }
    let cat = b.catalog;
    let by_values = keys_by_values(ex, &j, &targets)?;
    let mut deleted = 0u64;
    for (ti, id) in doomed {
        let t = j.instances[ti]
            .table
            .clone()
            .expect("targets are base tables");
        let has_triggers = !cat.triggers_on(&t.db, &t.name).is_empty();
        for key in stored_keys(&t, &id, &by_values) {
            // Gone already: deleted by a trigger of an earlier row.
            let Some(cur) = current_row(ex, &t, &key)? else {
                continue;
            };
            if has_triggers {
                trigger::fire(ex, cat, &t, Before, Ev::Delete, Some(&cur), None)?;
            }
            ex.delete_row(&t, &key, &cur)?;
            deleted += 1;
            if has_triggers {
                trigger::fire(ex, cat, &t, After, Ev::Delete, Some(&cur), None)?;
            }
        }
    }
    Ok(QueryResult::ok(deleted))
}

/// Bind a multi-table DELETE: plan its references as a join and find its targets (the
/// instances of the named tables).
fn bind_delete<'d>(
    b: &mut Binder<'_>,
    del: &'d ast::Delete,
) -> Result<(&'d [ast::TableWithJoins], Joined, Vec<usize>)> {
    let from = match &del.from {
        ast::FromTable::WithFromKeyword(t) | ast::FromTable::WithoutKeyword(t) => t,
    };
    // `DELETE t1, t2 FROM <refs>` or `DELETE FROM t1, t2 USING <refs>`.
    let (names, refs): (Vec<ast::ObjectName>, &[ast::TableWithJoins]) = match &del.using {
        Some(using) => {
            let mut names = Vec::new();
            for t in from {
                match &t.relation {
                    ast::TableFactor::Table { name, .. } if t.joins.is_empty() => {
                        names.push(name.clone())
                    }
                    _ => return Err(Error::parse(near(&b.sql, "USING"))),
                }
            }
            (names, using)
        }
        None => (del.tables.clone(), from),
    };
    // MySQL's grammar has no ORDER BY or LIMIT for the multi-table forms.
    if !del.order_by.is_empty() {
        return Err(Error::parse(near(&b.sql, "ORDER")));
    }
    if del.limit.is_some() {
        return Err(Error::parse(near(&b.sql, "LIMIT")));
    }
    let j = plan_join(b, refs, del.selection.as_ref())?;
    let mut targets: Vec<usize> = Vec::new();
    for n in &names {
        let parts = ident_names(n);
        let (db, t) = match parts.as_slice() {
            [t] => (None, t.to_lowercase()),
            [d, t] => (Some(d.clone()), t.to_lowercase()),
            _ => return Err(Error::parse(n.to_string())),
        };
        let shown = parts.last().cloned().unwrap_or_default();
        let inst = j
            .instances
            .iter()
            .position(|i| i.alias == t && db.as_ref().is_none_or(|d| d.eq_ignore_ascii_case(&i.db)))
            .ok_or_else(|| {
                Error::new(
                    code::ER_UNKNOWN_TABLE,
                    format!("Unknown table '{shown}' in MULTI DELETE"),
                )
            })?;
        if j.instances[inst].table.is_none() {
            return Err(not_updatable(&shown, "DELETE"));
        }
        if targets.contains(&inst) {
            return Err(Error::new(
                code::ER_NONUNIQ_TABLE,
                format!("Not unique table/alias: '{shown}'"),
            ));
        }
        targets.push(inst);
    }
    Ok((refs, j, targets))
}

/// Plan the FROM list and WHERE as a SELECT's, and find each base table's columns in
/// the joined row.
fn plan_join(
    b: &mut Binder<'_>,
    refs: &[ast::TableWithJoins],
    selection: Option<&ast::Expr>,
) -> Result<Joined> {
    let conj = selection.map(split_and).unwrap_or_default();
    let (plan, scope) = crate::sql::from::plan_from(b, refs, conj)?;
    let mut named: Vec<(String, String, Option<Arc<TableDef>>)> = Vec::new();
    for r in refs {
        collect_tables(b, &r.relation, &mut named)?;
        for jn in &r.joins {
            collect_tables(b, &jn.relation, &mut named)?;
        }
    }
    let mut instances = Vec::new();
    for (alias, db, table) in named {
        let off = scope
            .cols
            .iter()
            .position(|c| c.table == alias)
            .ok_or_else(|| Error::internal(format!("table {alias} is not in the join")))?;
        if let Some(t) = &table {
            let width = scope.cols[off..]
                .iter()
                .take_while(|c| c.table == alias)
                .count();
            if width != t.columns.len() {
                return Err(Error::internal(format!("table {alias} has a split layout")));
            }
        }
        instances.push(Instance {
            alias,
            db,
            table,
            off,
        });
    }
    instances.sort_by_key(|i| i.off);
    Ok(Joined {
        plan,
        scope,
        instances,
    })
}

/// The (alias, database, base table) of every relation in a table factor.
fn collect_tables(
    b: &Binder<'_>,
    tf: &ast::TableFactor,
    out: &mut Vec<(String, String, Option<Arc<TableDef>>)>,
) -> Result<()> {
    match tf {
        ast::TableFactor::Table { name, alias, .. } => {
            let (db, t) = b.table_name(name)?;
            let alias = alias.as_ref().map_or(t.clone(), |a| a.name.value.clone());
            let table = b.catalog.table(&db, &t).cloned();
            out.push((alias.to_lowercase(), db, table));
        }
        ast::TableFactor::Derived { alias: Some(a), .. } => {
            out.push((a.name.value.to_lowercase(), String::new(), None));
        }
        ast::TableFactor::NestedJoin {
            table_with_joins, ..
        } => {
            collect_tables(b, &table_with_joins.relation, out)?;
            for jn in &table_with_joins.joins {
                collect_tables(b, &jn.relation, out)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// MySQL refuses to change a table that a subquery of the same statement reads
/// (ER_UPDATE_TABLE_USED); derived tables in FROM are materialized first, so they may.
fn check_not_read(
    b: &Binder<'_>,
    j: &Joined,
    targets: &[usize],
    selection: Option<&ast::Expr>,
    refs: &[ast::TableWithJoins],
    assignments: &[ast::Assignment],
) -> Result<()> {
    let mut exprs: Vec<&ast::Expr> = selection.into_iter().collect();
    exprs.extend(assignments.iter().map(|a| &a.value));
    let mut ons: Vec<&ast::Expr> = Vec::new();
    for r in refs {
        for jn in &r.joins {
            use ast::JoinOperator as J;
            if let J::Join(ast::JoinConstraint::On(e))
            | J::Inner(ast::JoinConstraint::On(e))
            | J::Left(ast::JoinConstraint::On(e))
            | J::LeftOuter(ast::JoinConstraint::On(e))
            | J::Right(ast::JoinConstraint::On(e))
            | J::RightOuter(ast::JoinConstraint::On(e))
            | J::StraightJoin(ast::JoinConstraint::On(e)) = &jn.join_operator
            {
                ons.push(e);
            }
        }
    }
    exprs.extend(ons);
    let mut read: Vec<(String, String)> = Vec::new();
    for e in exprs {
        // A table named inside an expression is read by a subquery.
        let _ = ast::visit_relations(e, |r| {
            if let Ok((db, t)) = b.table_name(r) {
                read.push((db.to_lowercase(), t.to_lowercase()));
            }
            std::ops::ControlFlow::<()>::Continue(())
        });
    }
    for &ti in targets {
        let Some(t) = &j.instances[ti].table else {
            continue;
        };
        if read
            .iter()
            .any(|(d, n)| d.eq_ignore_ascii_case(&t.db) && n.eq_ignore_ascii_case(&t.name))
        {
            return Err(Error::new(
                code::ER_UPDATE_TABLE_USED,
                format!(
                    "You can't specify target table '{}' for update in FROM clause",
                    j.instances[ti].alias
                ),
            ));
        }
    }
    Ok(())
}

/// MySQL's privileges for the multi-table forms: UPDATE (DELETE) on each target table,
/// SELECT on every other table the statement reads (joined or in a subquery). The
/// session leaves these statements to us, as only name resolution tells targets apart.
fn check_privileges<V: ast::Visit>(
    ex: &Exec<'_>,
    b: &Binder<'_>,
    j: &Joined,
    targets: &[usize],
    privilege: &str,
    statement: &V,
) -> Result<()> {
    let target_tables: Vec<(String, String)> = targets
        .iter()
        .filter_map(|&ti| j.instances[ti].table.as_ref())
        .map(|t| (t.db.clone(), t.name.clone()))
        .collect();
    let mut read: Vec<(String, String)> = Vec::new();
    let _ = ast::visit_relations(statement, |r| {
        if let Ok(n) = b.table_name(r) {
            read.push(n);
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
    let same = |a: &(String, String), b: &(String, String)| {
        a.0.eq_ignore_ascii_case(&b.0) && a.1.eq_ignore_ascii_case(&b.1)
    };
    let wanted = target_tables.iter().map(|t| (t, privilege)).chain(
        read.iter()
            .filter(|r| !target_tables.iter().any(|t| same(t, r)))
            .map(|r| (r, "SELECT")),
    );
    for ((db, table), p) in wanted {
        if db.eq_ignore_ascii_case("information_schema")
            || crate::sql::accounts::allowed(ex.shared, &ex.sess.user, &ex.sess.host, p, db, table)
        {
            continue;
        }
        return Err(Error::new(
            code::ER_TABLEACCESS_DENIED,
            format!(
                "{p} command denied to user '{}'@'{}' for table '{table}'",
                ex.sess.user, ex.sess.host
            ),
        ));
    }
    Ok(())
}

/// Run the join with exclusive locks on the rows it reads (the latest committed
/// versions), restoring the executor's read mode afterwards.
fn read_locked(ex: &mut Exec<'_>, plan: &Plan) -> Result<Vec<Vec<Value>>> {
    let saved = (ex.locking, ex.lock_rows);
    ex.locking = true;
    ex.lock_rows = Some(true);
    let rows = ex.run(plan);
    (ex.locking, ex.lock_rows) = saved;
    rows
}

/// The identity of the target row in `slice`, or None when the slice is the NULL
/// padding of an outer join (a primary key column is never NULL; a table without one
/// is padding when every column is NULL).
fn row_id(ex: &Exec<'_>, t: &TableDef, slice: &[Value]) -> Option<RowId> {
    if t.primary.is_empty() {
        if slice.iter().all(Value::is_null) {
            return None;
        }
        Some(RowId::Values(encode_row(slice)))
    } else {
        if t.primary.iter().any(|&c| slice[c].is_null()) {
            return None;
        }
        Some(RowId::Key(ex.clustered_key(t, slice, None)))
    }
}

/// Per table without a primary key (by root): its rows' clustered keys grouped by the
/// rows' exact encoded values.
type KeysByValues = HashMap<u64, HashMap<Vec<u8>, Vec<Vec<u8>>>>;

/// Scan (locking) every target table that has no primary key, before any change is
/// written: a trigger fired by an earlier change may change its rows' values.
fn keys_by_values(ex: &mut Exec<'_>, j: &Joined, targets: &[usize]) -> Result<KeysByValues> {
    let mut out = KeysByValues::new();
    for &ti in targets {
        let Some(t) = &j.instances[ti].table else {
            continue;
        };
        if !t.primary.is_empty() || out.contains_key(&t.root) {
            continue;
        }
        let saved = (ex.locking, ex.want_keys);
        ex.locking = true;
        ex.want_keys = true;
        let rows = ex.scan_table(t, &Access::Full, false, None, None, None);
        (ex.locking, ex.want_keys) = saved;
        let mut map: HashMap<Vec<u8>, Vec<Vec<u8>>> = HashMap::new();
        let n = t.columns.len();
        for mut r in rows? {
            let Some(Value::Bytes(key)) = r.pop() else {
                return Err(Error::internal("scan did not return the row key"));
            };
            r.truncate(n);
            map.entry(encode_row(&r)).or_default().push(key);
        }
        out.insert(t.root, map);
    }
    Ok(out)
}

/// The clustered keys of the stored rows a `RowId` names.
fn stored_keys(t: &TableDef, id: &RowId, by_values: &KeysByValues) -> Vec<Vec<u8>> {
    match id {
        RowId::Key(k) => vec![k.clone()],
        RowId::Values(v) => by_values
            .get(&t.root)
            .and_then(|m| m.get(v))
            .cloned()
            .unwrap_or_default(),
    }
}

/// Lock a target row and read its latest committed version (None: it is gone).
fn current_row(ex: &mut Exec<'_>, t: &TableDef, key: &[u8]) -> Result<Option<Vec<Value>>> {
    ex.mgr.lock(ex.txn, t.root, key, true)?;
    let Some(cur) = ex.mgr.get(ex.txn, t.root, key, true)? else {
        return Ok(None);
    };
    let mut cur = decode_row(&cur)?;
    cur.truncate(t.columns.len());
    Ok(Some(cur))
}

fn dedup_in_order(it: impl Iterator<Item = usize>) -> Vec<usize> {
    let mut out: Vec<usize> = Vec::new();
    for x in it {
        if !out.contains(&x) {
            out.push(x);
        }
    }
    out
}

fn wrong_usage(a: &str, b: &str) -> Error {
    Error::new(ER_WRONG_USAGE, format!("Incorrect usage of {a} and {b}"))
}

fn not_updatable(name: &str, what: &str) -> Error {
    Error::new(
        ER_NON_UPDATABLE_TABLE,
        format!("The target table {name} of the {what} is not updatable"),
    )
}

/// The statement text from its top-level `word` on (a syntax error's "near" text).
fn near(sql: &str, word: &str) -> String {
    let at = crate::sql::parse::top_level_tokens(sql)
        .into_iter()
        .find(|(_, t)| t.eq_ignore_ascii_case(word))
        .map_or(0, |(at, _)| at);
    sql[at..].chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use crate::test_sql::err_code as err;
    use crate::{Database, QueryResult, Session, SessionInfo};

    fn rows(s: &mut Session, sql: &str) -> Vec<String> {
        crate::test_sql::rows_joined(s, sql, ",")
    }

    fn ok(s: &mut Session, sql: &str) -> (u64, String) {
        match s.execute(sql) {
            Ok(QueryResult::Ok {
                affected_rows,
                info,
                ..
            }) => (affected_rows, info),
            other => panic!("{sql}: {other:?}"),
        }
    }

    fn setup() -> (Database, Session) {
        let db = Database::open_in_memory().unwrap();
        let mut s = db.session();
        for sql in [
            "CREATE DATABASE d",
            "USE d",
            "CREATE TABLE t1 (id INT PRIMARY KEY, a INT)",
            "CREATE TABLE t2 (id INT PRIMARY KEY, b INT)",
            "INSERT INTO t1 VALUES (1, 1), (2, 2), (3, 3)",
            "INSERT INTO t2 VALUES (1, 1), (2, 20), (3, 30), (4, 40)",
        ] {
            s.execute(sql).unwrap();
        }
        (db, s)
    }

    #[test]
    fn info_counts_matched_and_changed_rows() {
        let (_db, mut s) = setup();
        let (n, info) = ok(&mut s, "UPDATE t1 JOIN t2 USING (id) SET t1.a = t2.b");
        assert_eq!(n, 2);
        assert_eq!(info, "Rows matched: 3  Changed: 2  Warnings: 0");
        // Both tables: each side's rows count.
        let (n, info) = ok(
            &mut s,
            "UPDATE t1, t2 SET t1.a = 0, t2.b = 0 WHERE t1.id = t2.id AND t1.id < 3",
        );
        assert_eq!(
            (n, info.as_str()),
            (4, "Rows matched: 4  Changed: 4  Warnings: 0")
        );
        assert_eq!(
            rows(&mut s, "SELECT * FROM t1 ORDER BY id"),
            ["1,0", "2,0", "3,30"]
        );
    }

    #[test]
    fn rows_without_a_primary_key_are_told_apart_by_value() {
        let (_db, mut s) = setup();
        s.execute("CREATE TABLE h (k INT, v VARCHAR(5))").unwrap();
        s.execute("INSERT INTO h VALUES (1, 'a'), (1, 'A'), (1, 'a'), (2, 'b'), (NULL, NULL)")
            .unwrap();
        // 'a' and 'A' are equal to the join but are different rows: both change.
        let (n, info) = ok(
            &mut s,
            "UPDATE h JOIN t2 ON h.k = t2.id SET h.v = CONCAT(h.v, '!') WHERE h.v = 'a'",
        );
        assert_eq!(
            (n, info.as_str()),
            (3, "Rows matched: 3  Changed: 3  Warnings: 0")
        );
        assert_eq!(
            rows(&mut s, "SELECT k, v FROM h ORDER BY k, BINARY v"),
            ["NULL,NULL", "1,A!", "1,a!", "1,a!", "2,b"]
        );
        // The NULL side of a LEFT JOIN names no row.
        let (n, _) = ok(
            &mut s,
            "DELETE h FROM t2 LEFT JOIN h ON h.k = t2.id WHERE t2.id >= 2",
        );
        assert_eq!(n, 1);
        assert_eq!(rows(&mut s, "SELECT COUNT(*) FROM h"), ["4"]);
    }

    #[test]
    fn privileges_are_per_role_of_the_table() {
        let (db, mut root) = setup();
        // The first account ends "everything is allowed": root needs one too.
        db.bootstrap_root("pw").unwrap();
        root.execute("CREATE USER u@localhost").unwrap();
        root.execute("GRANT UPDATE, DELETE ON d.t1 TO u@localhost")
            .unwrap();
        let mut u = db.session_with(SessionInfo {
            user: "u".into(),
            host: "localhost".into(),
            database: Some("d".into()),
            ..SessionInfo::default()
        });
        let sql = "UPDATE t1 JOIN t2 ON t1.id = t2.id SET t1.a = t2.b";
        assert_eq!(err(&mut u, sql), 1142, "SELECT on t2 is needed");
        root.execute("GRANT SELECT ON d.t2 TO u@localhost").unwrap();
        ok(&mut u, sql);
        assert_eq!(
            err(&mut u, "UPDATE t1 JOIN t2 ON t1.id = t2.id SET t2.b = 1"),
            1142,
            "UPDATE on t2 is needed"
        );
        assert_eq!(
            err(&mut u, "DELETE t2 FROM t1 JOIN t2 ON t1.id = t2.id"),
            1142
        );
        let (n, _) = ok(
            &mut u,
            "DELETE t1 FROM t1 JOIN t2 ON t1.id = t2.id WHERE t2.b > 20",
        );
        assert_eq!(n, 1);
    }

    #[test]
    fn a_target_row_locked_by_another_transaction_waits() {
        let (db, mut s) = setup();
        let mut other = db.session();
        other.execute("USE d").unwrap();
        other.execute("SET innodb_lock_wait_timeout = 1").unwrap();
        s.execute("BEGIN").unwrap();
        s.execute("UPDATE t1 SET a = 100 WHERE id = 2").unwrap();
        assert_eq!(
            err(&mut other, "UPDATE t1 JOIN t2 USING (id) SET t1.a = t2.b"),
            1205
        );
        s.execute("COMMIT").unwrap();
        // The statement that failed changed nothing; now it sees the committed row.
        let (n, _) = ok(
            &mut other,
            "UPDATE t1 JOIN t2 USING (id) SET t1.a = t2.b + t1.a",
        );
        assert_eq!(n, 3);
        assert_eq!(
            rows(&mut other, "SELECT a FROM t1 ORDER BY id"),
            ["2", "120", "33"]
        );
    }
}
