//! INSERT (VALUES, SELECT, SET; IGNORE, REPLACE, ON DUPLICATE KEY UPDATE), UPDATE and
//! DELETE, including secondary index maintenance, unique checks, AUTO_INCREMENT and
//! row locks. Writes go into the transaction's private write set; COMMIT publishes them.
//!
//! Row locks: every written row's clustered key is locked exclusively before it is
//! read for the write (a locking read of the latest committed version, as InnoDB's
//! UPDATE does), and a unique index value is locked before it is checked, so two
//! transactions cannot both insert the same key.
//!
//! Constraints: `insert_row`, `update_row` and `delete_row` are the row-write paths of
//! every DML statement (multi-table ones and trigger bodies too); they evaluate CHECK
//! constraints (`check.rs`) and enforce foreign keys (`foreign_key.rs`). The `_raw`
//! variants skip both, for the cascaded changes foreign keys make themselves.

use std::sync::Arc;

use sqlparser::ast;

use crate::catalog::{DefaultValue, TableDef};
use crate::error::{code, Error, Result};
use crate::keycodec::{encode_value, prefix_successor};
use crate::result::QueryResult;
use crate::row::{decode_row, encode_row};
use crate::sql::bind::{ident_names, table_scope, Binder, Scope, ScopeCol};
use crate::sql::coerce::store_value;
use crate::sql::exec::Exec;
use crate::sql::plan::*;
use crate::sql::trigger;
use crate::value::Value;

use crate::catalog::TriggerEvent as Ev;
use crate::catalog::TriggerTiming::{After, Before};

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    Error,
    Ignore,
    Replace,
    Update,
}

/// What happened to one row insert.
pub enum Inserted {
    New,
    Skipped,
    /// Replaced: number of rows deleted.
    Replaced(u64),
    /// Updated on duplicate key: whether the row changed.
    Updated(bool),
}

impl Exec<'_> {
    /// The clustered key of a row.
    pub fn clustered_key(&self, t: &TableDef, row: &[Value], rowid: Option<u64>) -> Vec<u8> {
        let mut k = Vec::new();
        if t.primary.is_empty() {
            encode_value(
                &mut k,
                &Value::UInt(rowid.unwrap_or(0)),
                crate::collation::Collation::BINARY,
            );
        } else {
            for &c in &t.primary {
                encode_value(&mut k, &row[c], t.columns[c].collation());
            }
        }
        k
    }

    fn index_prefix(&self, t: &TableDef, ix: usize, row: &[Value]) -> (Vec<u8>, bool) {
        let mut k = Vec::new();
        let mut has_null = false;
        for &c in &t.indexes[ix].columns {
            has_null |= row[c].is_null();
            encode_value(&mut k, &row[c], t.columns[c].collation());
        }
        (k, has_null)
    }

    /// The clustered key of an existing row whose unique index `ix` value equals this
    /// row's (other than `own_key`), reading the latest committed state.
    fn unique_conflict(
        &mut self,
        t: &TableDef,
        ix: usize,
        row: &[Value],
        own_key: &[u8],
    ) -> Result<Option<Vec<u8>>> {
        let (prefix, has_null) = self.index_prefix(t, ix, row);
        if has_null {
            return Ok(None); // NULLs never collide in a unique index.
        }
        let tree = t.indexes[ix].root;
        self.mgr.lock(self.txn, tree, &prefix, true)?;
        let hi = prefix_successor(&prefix);
        let hi_b = match &hi {
            Some(h) => std::ops::Bound::Excluded(h.as_slice()),
            None => std::ops::Bound::Unbounded,
        };
        let mut found = None;
        let mgr = self.mgr;
        mgr.scan(
            self.txn,
            tree,
            std::ops::Bound::Included(&prefix),
            hi_b,
            false,
            true,
            &mut |_k, v| {
                if v != own_key {
                    found = Some(v.to_vec());
                    return Ok(false);
                }
                Ok(true)
            },
        )?;
        Ok(found)
    }

    fn dup_error(&self, t: &TableDef, ix: Option<usize>, row: &[Value]) -> Error {
        let (cols, name) = match ix {
            None => (t.primary.clone(), "PRIMARY".to_string()),
            Some(i) => (t.indexes[i].columns.clone(), t.indexes[i].name.clone()),
        };
        let val = cols
            .iter()
            .map(|&c| row[c].to_text().unwrap_or_else(|| "NULL".into()))
            .collect::<Vec<_>>()
            .join("-");
        Error::new(
            code::ER_DUP_ENTRY,
            format!("Duplicate entry '{val}' for key '{}.{name}'", t.name),
        )
    }

    /// Write index entries for a row.
    fn add_index_entries(&mut self, t: &TableDef, row: &[Value], key: &[u8]) {
        for ix in 0..t.indexes.len() {
            let (mut k, _) = self.index_prefix(t, ix, row);
            k.extend_from_slice(key);
            self.mgr
                .write(self.txn, t.indexes[ix].root, k, Some(key.to_vec()));
        }
    }

    fn remove_index_entries(&mut self, t: &TableDef, row: &[Value], key: &[u8]) {
        for ix in 0..t.indexes.len() {
            let (mut k, _) = self.index_prefix(t, ix, row);
            k.extend_from_slice(key);
            self.mgr.write(self.txn, t.indexes[ix].root, k, None);
        }
    }

    /// Delete one row (already locked) and its index entries, then apply the ON DELETE
    /// actions of the foreign keys referencing it.
    pub fn delete_row(&mut self, t: &TableDef, key: &[u8], row: &[Value]) -> Result<()> {
        self.delete_row_raw(t, key, row);
        self.fk_on_parent_delete(t, row, 0)
    }

    /// Delete one row (already locked) and its index entries, nothing else.
    pub(crate) fn delete_row_raw(&mut self, t: &TableDef, key: &[u8], row: &[Value]) {
        self.remove_index_entries(t, row, key);
        self.mgr.write(self.txn, t.root, key.to_vec(), None);
    }

    /// Insert a complete, coerced row. `on_dup` is evaluated for Conflict::Update with
    /// (existing row ++ new row) and returns the updated row.
    pub fn insert_row(
        &mut self,
        t: &Arc<TableDef>,
        row: Vec<Value>,
        conflict: Conflict,
        on_dup: &mut OnDuplicate<'_>,
    ) -> Result<Inserted> {
        let rowid = if t.primary.is_empty() {
            Some(self.shared.next_rowid(self, t)?)
        } else {
            None
        };
        let key = self.clustered_key(t, &row, rowid);
        // CHECK constraints first (MySQL evaluates them before the storage engine sees the
        // row); INSERT IGNORE turns a violation, like a missing parent, into a warning.
        if let Err(e) = self.check_row(t, &row) {
            return self.skip_or_fail(conflict, e);
        }
        let mut deleted = 0u64;
        loop {
            // Primary key conflict?
            let mut conflict_key: Option<(Vec<u8>, Option<usize>)> = None;
            if !t.primary.is_empty() {
                self.mgr.lock(self.txn, t.root, &key, true)?;
                if self.mgr.get(self.txn, t.root, &key, true)?.is_some() {
                    conflict_key = Some((key.clone(), None));
                }
            }
            if conflict_key.is_none() {
                for ix in 0..t.indexes.len() {
                    if !t.indexes[ix].unique {
                        continue;
                    }
                    if let Some(other) = self.unique_conflict(t, ix, &row, &key)? {
                        conflict_key = Some((other, Some(ix)));
                        break;
                    }
                }
            }
            let Some((ck, ix)) = conflict_key else { break };
            match conflict {
                Conflict::Error => return Err(self.dup_error(t, ix, &row)),
                Conflict::Ignore => {
                    let e = self.dup_error(t, ix, &row);
                    self.fnctx.warnings.push((e.code, e.message));
                    return Ok(Inserted::Skipped);
                }
                Conflict::Replace => {
                    self.mgr.lock(self.txn, t.root, &ck, true)?;
                    if let Some(old) = self.mgr.get(self.txn, t.root, &ck, true)? {
                        let old = decode_row(&old)?;
                        // REPLACE deletes the conflicting row: its DELETE triggers fire.
                        let cat = self.shared.catalog();
                        trigger::fire(self, &cat, t, Before, Ev::Delete, Some(&old), None)?;
                        self.delete_row(t, &ck, &old)?;
                        trigger::fire(self, &cat, t, After, Ev::Delete, Some(&old), None)?;
                        deleted += 1;
                    }
                    continue;
                }
                Conflict::Update => {
                    self.mgr.lock(self.txn, t.root, &ck, true)?;
                    let old = match self.mgr.get(self.txn, t.root, &ck, true)? {
                        Some(o) => decode_row(&o)?,
                        None => break,
                    };
                    let new = on_dup(self, &old, &row)?;
                    if crate::sql::exec::group_key(&new) == crate::sql::exec::group_key(&old)
                        && new == old
                    {
                        return Ok(Inserted::Updated(false));
                    }
                    self.update_row(t, &ck, &old, new)?;
                    return Ok(Inserted::Updated(true));
                }
            }
        }
        if let Err(e) = self.fk_check_parents(t, &row, None, None) {
            return self.skip_or_fail(conflict, e);
        }
        self.mgr
            .write(self.txn, t.root, key.clone(), Some(encode_row(&row)));
        self.add_index_entries(t, &row, &key);
        Ok(if deleted > 0 {
            Inserted::Replaced(deleted)
        } else {
            Inserted::New
        })
    }

    /// INSERT IGNORE skips a row failing a CHECK or foreign key with a warning.
    fn skip_or_fail(&mut self, conflict: Conflict, e: Error) -> Result<Inserted> {
        if conflict == Conflict::Ignore
            && matches!(
                e.code,
                crate::sql::foreign_key::ER_NO_REFERENCED_ROW_2
                    | crate::sql::check::ER_CHECK_CONSTRAINT_VIOLATED
            )
        {
            self.fnctx.warnings.push((e.code, e.message));
            return Ok(Inserted::Skipped);
        }
        Err(e)
    }

    /// Replace `old` (stored under `key`, locked) with `new`: CHECK constraints, the new
    /// row's parents, unique keys, then the ON UPDATE actions of keys referencing it.
    pub fn update_row(
        &mut self,
        t: &Arc<TableDef>,
        key: &[u8],
        old: &[Value],
        new: Vec<Value>,
    ) -> Result<()> {
        self.check_row(t, &new)?;
        if !self.fk_checks() {
            return self.update_row_raw(t, key, old, new);
        }
        self.fk_check_parents(t, &new, Some(old), None)?;
        if !self.shared.catalog().is_referenced(&t.db, &t.name) {
            return self.update_row_raw(t, key, old, new);
        }
        let kept = new.clone();
        self.update_row_raw(t, key, old, new)?;
        self.fk_on_parent_update(t, old, &kept, 0)
    }

    /// Replace `old` (stored under `key`, locked) with `new`, checking unique keys only.
    pub(crate) fn update_row_raw(
        &mut self,
        t: &Arc<TableDef>,
        key: &[u8],
        old: &[Value],
        new: Vec<Value>,
    ) -> Result<()> {
        let new_key = if t.primary.is_empty() {
            key.to_vec()
        } else {
            self.clustered_key(t, &new, None)
        };
        if new_key != key {
            self.mgr.lock(self.txn, t.root, &new_key, true)?;
            if self.mgr.get(self.txn, t.root, &new_key, true)?.is_some() {
                return Err(self.dup_error(t, None, &new));
            }
        }
        for ix in 0..t.indexes.len() {
            if !t.indexes[ix].unique {
                continue;
            }
            let changed = t.indexes[ix].columns.iter().any(|&c| {
                crate::value::compare_in(&old[c], &new[c], t.columns[c].collation())
                    != Some(std::cmp::Ordering::Equal)
                    || old[c].is_null() != new[c].is_null()
            });
            if changed || new_key != key {
                if let Some(other) = self.unique_conflict(t, ix, &new, key)? {
                    if other != new_key {
                        return Err(self.dup_error(t, Some(ix), &new));
                    }
                }
            }
        }
        self.remove_index_entries(t, old, key);
        if new_key != key {
            self.mgr.write(self.txn, t.root, key.to_vec(), None);
        }
        self.mgr
            .write(self.txn, t.root, new_key.clone(), Some(encode_row(&new)));
        self.add_index_entries(t, &new, &new_key);
        Ok(())
    }

    /// Fill defaults, AUTO_INCREMENT and coerce a row for `t`. `given[i]` is None for
    /// columns not named by the statement.
    pub fn complete_row(
        &mut self,
        t: &Arc<TableDef>,
        given: Vec<Option<Value>>,
        rownum: usize,
        strict: bool,
    ) -> Result<(Vec<Value>, Option<u64>)> {
        let mut row = Vec::with_capacity(t.columns.len());
        let mut generated = None;
        for (i, col) in t.columns.iter().enumerate() {
            let v = match given.get(i).cloned().flatten() {
                Some(v) => v,
                None => {
                    if col.auto_increment {
                        Value::Null
                    } else {
                        match &col.default {
                            Some(DefaultValue::Const(_)) => {
                                col.default_value().unwrap_or(Value::Null)
                            }
                            Some(DefaultValue::CurrentTimestamp) => {
                                Value::DateTime(now_at_fsp(self.fnctx.now, &col.ty))
                            }
                            None => {
                                if col.nullable {
                                    Value::Null
                                } else if given.get(i).is_some_and(|g| g.is_none()) || !strict {
                                    // Not named: MySQL errors in strict mode (1364), else
                                    // uses the type's implicit default with a warning.
                                    if strict {
                                        return Err(Error::new(
                                            code::ER_NO_DEFAULT_FOR_FIELD,
                                            format!(
                                                "Field '{}' doesn't have a default value",
                                                col.name
                                            ),
                                        ));
                                    }
                                    self.fnctx.warnings.push((
                                        code::ER_NO_DEFAULT_FOR_FIELD,
                                        format!(
                                            "Field '{}' doesn't have a default value",
                                            col.name
                                        ),
                                    ));
                                    implicit_default(col)
                                } else {
                                    return Err(Error::new(
                                        code::ER_NO_DEFAULT_FOR_FIELD,
                                        format!(
                                            "Field '{}' doesn't have a default value",
                                            col.name
                                        ),
                                    ));
                                }
                            }
                        }
                    }
                }
            };
            let v =
                if col.auto_increment && (v.is_null() || v.to_i64() == Some(0) && !v.is_string()) {
                    let n = self.shared.next_autoinc(self, t)?;
                    generated.get_or_insert(n);
                    if col.unsigned {
                        Value::UInt(n)
                    } else {
                        Value::Int(n as i64)
                    }
                } else {
                    v
                };
            let mut warnings = Vec::new();
            let v = store_value(v, col, strict, rownum, &mut warnings)?;
            self.fnctx.warnings.extend(warnings);
            if col.auto_increment {
                if let Some(n) = v.to_i64() {
                    if n > 0 {
                        self.shared.saw_autoinc(t, n as u64);
                    }
                }
            }
            row.push(v);
        }
        Ok((row, generated))
    }
}

/// A value assigned by UPDATE's SET, coerced for `col`. NULL into a NOT NULL column is
/// error 1048 in strict mode; otherwise, as MySQL's UPDATE does, the type's implicit
/// default with that warning (INSERT differs: see `complete_row`).
pub(crate) fn store_assigned(
    ex: &mut Exec<'_>,
    v: Value,
    col: &crate::catalog::ColumnDef,
    strict: bool,
    row: usize,
) -> Result<Value> {
    if v.is_null() && !col.nullable && !strict {
        ex.fnctx.warnings.push((
            code::ER_BAD_NULL,
            format!("Column '{}' cannot be null", col.name),
        ));
        return Ok(implicit_default(col));
    }
    let mut w = Vec::new();
    let v = store_value(v, col, strict, row, &mut w)?;
    ex.fnctx.warnings.extend(w);
    Ok(v)
}

/// CURRENT_TIMESTAMP for a column of `ty`: truncated to the column's fractional digits
/// (as MySQL's NOW(fsp)), so storing it never rounds into the next second.
pub(crate) fn now_at_fsp(
    now: crate::temporal::DateTime,
    ty: &crate::catalog::SqlType,
) -> crate::temporal::DateTime {
    let fsp = match ty {
        crate::catalog::SqlType::DateTime(f) | crate::catalog::SqlType::Timestamp(f) => {
            (*f).min(6) as u32
        }
        _ => 0,
    };
    let div = 10u32.pow(6 - fsp);
    crate::temporal::DateTime {
        micro: now.micro / div * div,
        ..now
    }
}

pub(crate) fn div_zero_is_error(ex: &Exec<'_>) -> bool {
    ex.sess
        .vars
        .get("sql_mode")
        .and_then(|v| v.to_text())
        .is_some_and(|m| {
            m.to_ascii_uppercase()
                .contains("ERROR_FOR_DIVISION_BY_ZERO")
                || m.to_ascii_uppercase().contains("TRADITIONAL")
        })
}

/// The value MySQL stores for a NOT NULL column without a default when a statement gives
/// it nothing usable (non-strict INSERT, LOAD DATA's missing or NULL fields).
pub(crate) fn implicit_default(col: &crate::catalog::ColumnDef) -> Value {
    use crate::catalog::SqlType as T;
    match &col.ty {
        t if t.is_integer() || *t == T::Year => Value::Int(0),
        T::Decimal(..) => Value::Decimal(rust_decimal::Decimal::ZERO),
        T::Float | T::Double => Value::Double(0.0),
        T::Date => Value::Date(Default::default()),
        T::DateTime(_) | T::Timestamp(_) => Value::DateTime(Default::default()),
        T::Time(_) => Value::Time(Default::default()),
        T::Binary(_) | T::VarBinary(_) | T::Blob(_) => Value::Bytes(Vec::new()),
        T::Enum(m) => Value::Str(m.first().cloned().unwrap_or_default()),
        _ => Value::Str(String::new()),
    }
}

pub(crate) fn is_default_marker(e: &ast::Expr) -> bool {
    matches!(e, ast::Expr::Identifier(i) if i.quote_style.is_none() && i.value.eq_ignore_ascii_case("default"))
}

/// INSERT / REPLACE.
pub fn insert(ex: &mut Exec<'_>, b: &mut Binder<'_>, ins: &ast::Insert) -> Result<QueryResult> {
    let name = match &ins.table {
        ast::TableObject::TableName(n) => n.clone(),
        _ => return Err(Error::unsupported("INSERT INTO a table function")),
    };
    let (db, tname) = b.table_name(&name)?;
    let t = target_table(b, &db, &tname, "INSERT")?;
    let cat = b.catalog;
    let has_triggers = !cat.triggers_on(&t.db, &t.name).is_empty();
    // Target columns.
    let mut cols: Vec<usize> = Vec::new();
    if ins.columns.is_empty() && ins.assignments.is_empty() {
        cols = (0..t.columns.len()).collect();
    } else {
        let names: Vec<String> = if !ins.assignments.is_empty() {
            ins.assignments
                .iter()
                .map(|a| assignment_column(&a.target))
                .collect::<Result<_>>()?
        } else {
            ins.columns
                .iter()
                .map(|c| ident_names(c).last().cloned().unwrap_or_default())
                .collect()
        };
        for n in names {
            let i = t
                .column_index(&n)
                .ok_or_else(|| Error::bad_field(&n, "field list"))?;
            if cols.contains(&i) {
                return Err(Error::new(
                    code::ER_FIELD_SPECIFIED_TWICE,
                    format!("Column '{n}' specified twice"),
                ));
            }
            cols.push(i);
        }
    }
    let conflict = if ins.replace_into {
        Conflict::Replace
    } else if ins
        .on
        .as_ref()
        .is_some_and(|o| matches!(o, ast::OnInsert::DuplicateKeyUpdate(_)))
    {
        Conflict::Update
    } else if ins.ignore {
        Conflict::Ignore
    } else {
        Conflict::Error
    };
    let strict = ex.sess.strict() && !ins.ignore;
    ex.dml_strict = strict && div_zero_is_error(ex);
    // Source rows, as values per target column (None = DEFAULT).
    let mut source: Vec<Vec<Option<Value>>> = Vec::new();
    let empty = Scope::default();
    if !ins.assignments.is_empty() {
        let mut row = Vec::new();
        for a in &ins.assignments {
            if is_default_marker(&a.value) {
                row.push(None);
            } else {
                let e = b.bind_expr_in(&a.value, &empty, "field list")?;
                row.push(Some(ex.eval(&e, &[])?));
            }
        }
        source.push(row);
    } else if let Some(q) = &ins.source {
        if let ast::SetExpr::Values(vals) = q.body.as_ref() {
            for (ri, r) in vals.rows.iter().enumerate() {
                if r.content.len() != cols.len()
                    && !(r.content.is_empty() && ins.columns.is_empty())
                {
                    return Err(Error::new(
                        code::ER_WRONG_VALUE_COUNT_ON_ROW,
                        format!("Column count doesn't match value count at row {}", ri + 1),
                    ));
                }
                let mut row = Vec::with_capacity(cols.len());
                for e in &r.content {
                    if is_default_marker(e) {
                        row.push(None);
                    } else {
                        let bound = b.bind_expr_in(e, &empty, "field list")?;
                        row.push(Some(ex.eval(&bound, &[])?));
                    }
                }
                if r.content.is_empty() {
                    row = vec![None; cols.len()];
                }
                source.push(row);
            }
        } else {
            let bq = b.bind_query(q)?;
            if bq.columns.len() != cols.len() {
                return Err(Error::new(
                    code::ER_WRONG_VALUE_COUNT_ON_ROW,
                    "Column count doesn't match value count at row 1",
                ));
            }
            for r in ex.run(&bq.plan)? {
                source.push(r.into_iter().map(Some).collect());
            }
        }
    }
    // ON DUPLICATE KEY UPDATE: assignments over (existing row ++ new row).
    let mut odku: Vec<(usize, Expr)> = Vec::new();
    if let Some(ast::OnInsert::DuplicateKeyUpdate(assigns)) = &ins.on {
        let mut scope = table_scope(&t, &t.name);
        let alias = ins.insert_alias.as_ref().map(|a| {
            ident_names(&a.row_alias)
                .last()
                .cloned()
                .unwrap_or_default()
        });
        let col_aliases: Vec<String> = ins
            .insert_alias
            .as_ref()
            .and_then(|a| a.col_aliases.clone())
            .map(|v| v.into_iter().map(|i| i.value).collect())
            .unwrap_or_default();
        let n = t.columns.len();
        for (i, c) in t.columns.iter().enumerate() {
            scope.cols.push(ScopeCol {
                table: "__new".into(),
                name: c.name.clone(),
                meta: t.result_column(i, "__new"),
                hidden: false,
            });
        }
        for a in assigns {
            let cname = assignment_column(&a.target)?;
            let ci = t
                .column_index(&cname)
                .ok_or_else(|| Error::bad_field(&cname, "field list"))?;
            let rewritten = rewrite_values_fn(&a.value, &t, alias.as_deref(), &col_aliases);
            let _ = n;
            let e = b.bind_expr_in(&rewritten, &scope, "field list")?;
            odku.push((ci, e));
        }
    }
    let mut affected = 0u64;
    let mut dups = 0u64;
    let mut first_id: Option<u64> = None;
    let mut last_explicit_id: Option<u64> = None;
    let n = t.columns.len();
    for (ri, src) in source.into_iter().enumerate() {
        // Explicit DEFAULT and unnamed columns take the default; an explicit NULL stays
        // NULL (and fails on NOT NULL).
        let mut named = vec![false; n];
        let mut given2: Vec<Option<Value>> = vec![None; n];
        for (k, &ci) in cols.iter().enumerate() {
            named[ci] = true;
            given2[ci] = src.get(k).cloned().flatten();
        }
        let (mut row, generated) = match ex.complete_row(&t, given2, ri + 1, strict) {
            Ok(r) => r,
            Err(e) if !strict && ins.ignore => {
                ex.fnctx.warnings.push((e.code, e.message));
                continue;
            }
            Err(e) => return Err(e),
        };
        if let Some(g) = generated {
            first_id.get_or_insert(g);
        } else if let Some(ai) = t.auto_increment_column() {
            if named[ai] {
                last_explicit_id = row[ai].to_i64().map(|v| v as u64);
            }
        }
        if has_triggers {
            trigger::fire(ex, cat, &t, Before, Ev::Insert, None, Some(&mut row))?;
        }
        let mut after_row = has_triggers.then(|| row.clone());
        let odku_ref = &odku;
        let t2 = t.clone();
        // ON DUPLICATE KEY UPDATE fires the UPDATE triggers: BEFORE here, AFTER below
        // with the (old, new) rows kept in `dup_update`.
        let mut dup_update: Option<(Vec<Value>, Vec<Value>)> = None;
        let mut on_dup = |ex: &mut Exec<'_>, old: &[Value], new: &[Value]| -> Result<Vec<Value>> {
            let mut ctx_row = old.to_vec();
            ctx_row.extend(new.iter().cloned());
            let mut updated = old.to_vec();
            for (ci, e) in odku_ref {
                let v = ex.eval(e, &ctx_row)?;
                let mut w = Vec::new();
                let v = store_value(v, &t2.columns[*ci], true, ri + 1, &mut w)?;
                updated[*ci] = v.clone();
                ctx_row[*ci] = v;
            }
            if has_triggers {
                trigger::fire(
                    ex,
                    cat,
                    &t2,
                    Before,
                    Ev::Update,
                    Some(old),
                    Some(&mut updated),
                )?;
                dup_update = Some((old.to_vec(), updated.clone()));
            }
            Ok(updated)
        };
        let outcome = ex.insert_row(&t, row, conflict, &mut on_dup)?;
        if let Some((old, mut new)) = dup_update.take() {
            trigger::fire(ex, cat, &t, After, Ev::Update, Some(&old), Some(&mut new))?;
        }
        if matches!(outcome, Inserted::New | Inserted::Replaced(_)) {
            if let Some(r) = after_row.as_mut() {
                trigger::fire(ex, cat, &t, After, Ev::Insert, None, Some(r))?;
            }
        }
        match outcome {
            Inserted::New => affected += 1,
            Inserted::Skipped => dups += 1,
            Inserted::Replaced(d) => {
                affected += 1 + d;
                dups += 1;
            }
            Inserted::Updated(changed) => {
                if changed {
                    affected += 2;
                }
                dups += 1;
            }
        }
    }
    let _ = last_explicit_id;
    if let Some(id) = first_id {
        ex.sess.last_insert_id = id;
    }
    let info = if cols.is_empty()
        || affected + dups > 1
        || ins
            .source
            .as_ref()
            .is_some_and(|q| !matches!(q.body.as_ref(), ast::SetExpr::Values(_)))
    {
        format!(
            "Records: {}  Duplicates: {}  Warnings: {}",
            affected.max(dups),
            dups,
            ex.fnctx.warnings.len()
        )
    } else {
        String::new()
    };
    Ok(QueryResult::Ok {
        affected_rows: affected,
        last_insert_id: first_id.unwrap_or(0),
        info,
    })
}

/// Insert one completed row with INSERT's row semantics (BEFORE/AFTER INSERT triggers
/// around `Exec::insert_row`) for statements without ON DUPLICATE KEY UPDATE: LOAD DATA
/// goes through here, so its rows meet the same checks, keys and triggers as INSERT's.
pub(crate) fn insert_one(
    ex: &mut Exec<'_>,
    cat: &crate::catalog::Catalog,
    t: &Arc<TableDef>,
    mut row: Vec<Value>,
    conflict: Conflict,
) -> Result<Inserted> {
    let has_triggers = !cat.triggers_on(&t.db, &t.name).is_empty();
    if has_triggers {
        trigger::fire(ex, cat, t, Before, Ev::Insert, None, Some(&mut row))?;
    }
    let mut after_row = has_triggers.then(|| row.clone());
    let mut keep =
        |_: &mut Exec<'_>, old: &[Value], _: &[Value]| -> Result<Vec<Value>> { Ok(old.to_vec()) };
    let outcome = ex.insert_row(t, row, conflict, &mut keep)?;
    if matches!(outcome, Inserted::New | Inserted::Replaced(_)) {
        if let Some(r) = after_row.as_mut() {
            trigger::fire(ex, cat, t, After, Ev::Insert, None, Some(r))?;
        }
    }
    Ok(outcome)
}

/// VALUES(col) inside ON DUPLICATE KEY UPDATE refers to the new row: rewrite it to a
/// reference that the binder resolves to the second half of the (old ++ new) row.
fn rewrite_values_fn(
    e: &ast::Expr,
    t: &TableDef,
    alias: Option<&str>,
    col_aliases: &[String],
) -> ast::Expr {
    let mut e = e.clone();
    let _ = ast::visit_expressions_mut(&mut e, |x| {
        if let (Some(a), ast::Expr::CompoundIdentifier(parts)) = (alias, &*x) {
            if parts.len() == 2 && parts[0].value.eq_ignore_ascii_case(a) {
                let col = match col_aliases
                    .iter()
                    .position(|c| c.eq_ignore_ascii_case(&parts[1].value))
                {
                    Some(i) => t.columns.get(i).map(|c| c.name.clone()).unwrap_or_default(),
                    None => parts[1].value.clone(),
                };
                *x = ast::Expr::CompoundIdentifier(vec![
                    ast::Ident::new("__new"),
                    ast::Ident::new(col),
                ]);
                return std::ops::ControlFlow::<()>::Continue(());
            }
        }
        if let (false, ast::Expr::Identifier(id)) = (col_aliases.is_empty(), &*x) {
            if let Some(i) = col_aliases
                .iter()
                .position(|c| c.eq_ignore_ascii_case(&id.value))
            {
                if let Some(c) = t.columns.get(i) {
                    *x = ast::Expr::CompoundIdentifier(vec![
                        ast::Ident::new("__new"),
                        ast::Ident::new(c.name.clone()),
                    ]);
                    return std::ops::ControlFlow::<()>::Continue(());
                }
            }
        }
        if let ast::Expr::Function(f) = x {
            let name = ident_names(&f.name).last().cloned().unwrap_or_default();
            if name.eq_ignore_ascii_case("values") {
                if let ast::FunctionArguments::List(l) = &f.args {
                    if let Some(ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(
                        ast::Expr::Identifier(id),
                    ))) = l.args.first()
                    {
                        if t.column_index(&id.value).is_some() {
                            *x = ast::Expr::CompoundIdentifier(vec![
                                ast::Ident::new("__new"),
                                id.clone(),
                            ]);
                        }
                    }
                }
            }
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
    e
}

pub(crate) fn assignment_column(t: &ast::AssignmentTarget) -> Result<String> {
    match t {
        ast::AssignmentTarget::ColumnName(n) => {
            Ok(ident_names(n).last().cloned().unwrap_or_default())
        }
        ast::AssignmentTarget::Tuple(_) => Err(Error::unsupported("tuple assignment")),
    }
}

pub(crate) fn target_table(
    b: &Binder<'_>,
    db: &str,
    name: &str,
    what: &str,
) -> Result<Arc<TableDef>> {
    if let Some(t) = b.catalog.table(db, name) {
        return Ok(t.clone());
    }
    if b.catalog.view(db, name).is_some() {
        return Err(Error::new(
            1471,
            format!("The target table {name} of the {what} is not insertable-into"),
        ));
    }
    if !b.catalog.db_exists(db) {
        return Err(Error::new(
            code::ER_BAD_DB,
            format!("Unknown database '{db}'"),
        ));
    }
    Err(Error::no_such_table(db, name))
}

/// ON DUPLICATE KEY UPDATE: (existing row, new row) -> the updated row.
pub type OnDuplicate<'a> = dyn FnMut(&mut Exec<'_>, &[Value], &[Value]) -> Result<Vec<Value>> + 'a;

/// A row with its clustered key.
type KeyedRow = (Vec<u8>, Vec<Value>);

/// Rows to modify: (clustered key, current row), found with locking reads.
fn target_rows(
    ex: &mut Exec<'_>,
    b: &mut Binder<'_>,
    t: &Arc<TableDef>,
    alias: &str,
    selection: Option<&ast::Expr>,
    order_by: &[ast::OrderByExpr],
    limit: Option<&ast::Expr>,
) -> Result<(Vec<KeyedRow>, Scope)> {
    let scope = table_scope(t, alias);
    let mut filters = Vec::new();
    if let Some(w) = selection {
        for c in crate::sql::bind::split_and_ref(w) {
            filters.push(b.bind_expr_in(c, &scope, "where clause")?);
        }
    }
    let access = crate::sql::from::choose_access(t, &filters);
    let pred = crate::sql::from::and_all(filters);
    ex.locking = true;
    ex.want_keys = true;
    let rows = ex.scan_table(t, &access, false, None, pred.as_ref(), None);
    ex.want_keys = false;
    let mut rows = rows?;
    if !order_by.is_empty() {
        let mut keys = Vec::new();
        for o in order_by {
            keys.push((
                b.bind_expr_in(&o.expr, &scope, "order clause")?,
                o.options.sort == Some(ast::OrderBySort::Desc),
            ));
        }
        let table_colls: Vec<_> = t.columns.iter().map(|c| c.collation()).collect();
        let colls: Vec<_> = keys
            .iter()
            .map(|(k, _)| crate::sql::collations::of_expr(k, &table_colls))
            .collect();
        rows = ex.sort(rows, &keys, &colls)?;
    }
    if let Some(l) = limit {
        let e = b.bind_expr_in(l, &Scope::default(), "LIMIT")?;
        let n = ex.eval(&e, &[])?.to_i64().unwrap_or(0).max(0) as usize;
        rows.truncate(n);
    }
    let n = t.columns.len();
    let mut out = Vec::with_capacity(rows.len());
    for mut r in rows {
        let key = match r.pop() {
            Some(Value::Bytes(k)) => k,
            _ => return Err(Error::internal("scan did not return the row key")),
        };
        // Lock the row, then re-read its latest committed version: another transaction
        // may have changed or deleted it while we waited.
        ex.mgr.lock(ex.txn, t.root, &key, true)?;
        let Some(cur) = ex.mgr.get(ex.txn, t.root, &key, true)? else {
            continue;
        };
        let mut cur = decode_row(&cur)?;
        cur.truncate(n);
        if cur != r {
            if let Some(p) = &pred {
                if !ex.test(p, &cur)? {
                    continue;
                }
            }
        }
        out.push((key, cur));
    }
    Ok((out, scope))
}

/// Write one matched row of an UPDATE (single- or multi-table) whose assigned values are
/// in `new`: ON UPDATE CURRENT_TIMESTAMP columns not assigned take the statement's time
/// when the row changes, BEFORE UPDATE triggers may still change it, and AFTER UPDATE
/// fires for every matched row, changed or not (as MySQL does). Returns whether the row
/// changed.
#[allow(clippy::too_many_arguments)]
pub(crate) fn write_updated_row(
    ex: &mut Exec<'_>,
    cat: &crate::catalog::Catalog,
    t: &Arc<TableDef>,
    key: &[u8],
    old: &[Value],
    mut new: Vec<Value>,
    assigned: impl Fn(usize) -> bool,
    has_triggers: bool,
) -> Result<bool> {
    for (i, c) in t.columns.iter().enumerate() {
        if c.on_update_now && !assigned(i) && new != old {
            new[i] = Value::DateTime(now_at_fsp(ex.fnctx.now, &c.ty));
        }
    }
    if has_triggers {
        trigger::fire(ex, cat, t, Before, Ev::Update, Some(old), Some(&mut new))?;
    }
    if new == old {
        if has_triggers {
            trigger::fire(ex, cat, t, After, Ev::Update, Some(old), Some(&mut new))?;
        }
        return Ok(false);
    }
    let mut after = has_triggers.then(|| new.clone());
    ex.update_row(t, key, old, new)?;
    if let Some(r) = after.as_mut() {
        trigger::fire(ex, cat, t, After, Ev::Update, Some(old), Some(r))?;
    }
    Ok(true)
}

pub fn update(ex: &mut Exec<'_>, b: &mut Binder<'_>, up: &ast::Update) -> Result<QueryResult> {
    if crate::sql::multi_dml::is_multi_update(up) {
        return crate::sql::multi_dml::update(ex, b, up);
    }
    let (name, alias) = match &up.table.relation {
        ast::TableFactor::Table { name, alias, .. } => {
            (name.clone(), alias.as_ref().map(|a| a.name.value.clone()))
        }
        _ => return Err(Error::unsupported("UPDATE of a derived table")),
    };
    let (db, tname) = b.table_name(&name)?;
    let t = target_table(b, &db, &tname, "UPDATE")?;
    let cat = b.catalog;
    let has_triggers = !cat.triggers_on(&t.db, &t.name).is_empty();
    let alias = alias.unwrap_or_else(|| tname.clone());
    let (rows, scope) = target_rows(
        ex,
        b,
        &t,
        &alias,
        up.selection.as_ref(),
        &up.order_by,
        up.limit.as_ref(),
    )?;
    let mut sets: Vec<(usize, Option<Expr>)> = Vec::new();
    for a in &up.assignments {
        let cname = assignment_column(&a.target)?;
        let ci = t
            .column_index(&cname)
            .ok_or_else(|| Error::bad_field(&cname, "field list"))?;
        if is_default_marker(&a.value) {
            sets.push((ci, None));
        } else {
            sets.push((ci, Some(b.bind_expr_in(&a.value, &scope, "field list")?)));
        }
    }
    let strict = ex.sess.strict();
    ex.dml_strict = strict && div_zero_is_error(ex);
    let mut matched = 0u64;
    let mut changed = 0u64;
    for (ri, (key, row)) in rows.into_iter().enumerate() {
        matched += 1;
        let mut new = row.clone();
        for (ci, e) in &sets {
            let v = match e {
                Some(e) => ex.eval(e, &new)?,
                None => t.columns[*ci].default_value().unwrap_or(Value::Null),
            };
            new[*ci] = store_assigned(ex, v, &t.columns[*ci], strict, ri + 1)?;
        }
        let assigned = |i: usize| sets.iter().any(|(ci, _)| *ci == i);
        if write_updated_row(ex, cat, &t, &key, &row, new, assigned, has_triggers)? {
            changed += 1;
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

pub fn delete(ex: &mut Exec<'_>, b: &mut Binder<'_>, del: &ast::Delete) -> Result<QueryResult> {
    let tables = match &del.from {
        ast::FromTable::WithFromKeyword(t) | ast::FromTable::WithoutKeyword(t) => t,
    };
    if crate::sql::multi_dml::is_multi_delete(del) {
        return crate::sql::multi_dml::delete(ex, b, del);
    }
    if tables.len() != 1 || !tables[0].joins.is_empty() {
        // Several tables after FROM need a target list or USING.
        let text = &b.sql;
        let at = text.to_ascii_uppercase().find("FROM").map_or(0, |i| i + 4);
        return Err(Error::parse(
            text[at..].trim_start().chars().take(80).collect::<String>(),
        ));
    }
    let (name, alias) = match &tables[0].relation {
        ast::TableFactor::Table { name, alias, .. } => {
            (name.clone(), alias.as_ref().map(|a| a.name.value.clone()))
        }
        _ => return Err(Error::unsupported("DELETE from a derived table")),
    };
    let (db, tname) = b.table_name(&name)?;
    let t = target_table(b, &db, &tname, "DELETE")?;
    let cat = b.catalog;
    let has_triggers = !cat.triggers_on(&t.db, &t.name).is_empty();
    let alias = alias.unwrap_or_else(|| tname.clone());
    let (rows, _) = target_rows(
        ex,
        b,
        &t,
        &alias,
        del.selection.as_ref(),
        &del.order_by,
        del.limit.as_ref(),
    )?;
    let n = rows.len() as u64;
    for (key, row) in rows {
        if has_triggers {
            trigger::fire(ex, cat, &t, Before, Ev::Delete, Some(&row), None)?;
        }
        ex.delete_row(&t, &key, &row)?;
        if has_triggers {
            trigger::fire(ex, cat, &t, After, Ev::Delete, Some(&row), None)?;
        }
    }
    Ok(QueryResult::ok(n))
}
