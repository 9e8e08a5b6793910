//! FOREIGN KEY enforcement on the row-write paths (INSERT, UPDATE, DELETE, REPLACE,
//! ON DUPLICATE KEY UPDATE, multi-table DML and trigger bodies all write through
//! `Exec::insert_row` / `update_row` / `delete_row`), as InnoDB does it:
//!
//! * a child row written with a non-NULL key needs a parent row: it is looked up through
//!   the parent's index on the referenced columns and share-locked, so a concurrent
//!   delete of that parent waits for this transaction (and this one waits for an
//!   uncommitted delete): no orphan can commit. Missing parent: 1452.
//! * a parent row deleted or updated (its referenced columns changed) looks up its
//!   children through the child's index on the foreign key columns: RESTRICT / NO ACTION
//!   refuse (1451), CASCADE deletes or updates them, SET NULL clears their key; actions
//!   recurse (InnoDB's limit: 15 levels, else 3008). Cascaded changes fire no triggers
//!   (as in MySQL).
//!
//! Everything is skipped while @@foreign_key_checks = 0. Comparisons use the columns'
//! collations (the key encoding), so 'a' finds 'A' in a case-insensitive column.
//! A failing check leaves partial writes that the statement rollback undoes.

use std::ops::Bound;

use crate::catalog::{FkAction, ForeignKeyDef, TableDef};
use crate::error::{Error, Result};
use crate::keycodec::{encode_value, prefix_successor};
use crate::row::decode_row;
use crate::sql::exec::Exec;
use crate::value::Value;

pub const ER_ROW_IS_REFERENCED_2: u16 = 1451;
pub const ER_NO_REFERENCED_ROW_2: u16 = 1452;
pub const ER_FK_DEPTH_EXCEEDED: u16 = 3008;
/// InnoDB's FK_MAX_CASCADE_DEL.
pub const MAX_CASCADE_DEPTH: u32 = 15;

/// 1452 for a child row of `child` without its parent under `fk`.
pub fn no_parent(child: &TableDef, fk: &ForeignKeyDef) -> Error {
    Error::new(
        ER_NO_REFERENCED_ROW_2,
        format!(
            "Cannot add or update a child row: a foreign key constraint fails (`{}`.`{}`, {})",
            child.db,
            child.name,
            fk.describe(&child.db)
        ),
    )
}

/// 1451 for a parent row that child rows of `child` still reference under `fk`.
pub fn has_children(child: &TableDef, fk: &ForeignKeyDef) -> Error {
    Error::new(
        ER_ROW_IS_REFERENCED_2,
        format!(
            "Cannot delete or update a parent row: a foreign key constraint fails (`{}`.`{}`, {})",
            child.db,
            child.name,
            fk.describe(&child.db)
        ),
    )
}

fn too_deep() -> Error {
    Error::new(
        ER_FK_DEPTH_EXCEEDED,
        format!("Foreign key cascade delete/update exceeds max depth of {MAX_CASCADE_DEPTH}."),
    )
}

/// The key-encoded values of columns `cols` of `t` (so equal under the collation means
/// equal bytes).
pub fn encode_cols(t: &TableDef, cols: &[usize], vals: &[Value]) -> Vec<u8> {
    let mut k = Vec::new();
    for (v, &c) in vals.iter().zip(cols) {
        encode_value(&mut k, v, t.columns[c].collation());
    }
    k
}

/// Positions of `names` in `t`.
pub fn positions(t: &TableDef, names: &[String]) -> Option<Vec<usize>> {
    names.iter().map(|n| t.column_index(n)).collect()
}

/// How rows with given leading column values are found.
enum Path {
    /// The columns are a prefix of the primary key (the whole key when `exact`).
    Primary { exact: bool },
    /// They are a prefix of this secondary index.
    Index(usize),
    /// No index starts with them (a key created while foreign_key_checks was 0).
    Scan,
}

fn path_for(t: &TableDef, cols: &[usize]) -> Path {
    let starts = |ix: &[usize]| ix.len() >= cols.len() && ix[..cols.len()] == *cols;
    if !t.primary.is_empty() && starts(&t.primary) {
        return Path::Primary {
            exact: t.primary.len() == cols.len(),
        };
    }
    match t.indexes.iter().position(|ix| starts(&ix.columns)) {
        Some(i) => Path::Index(i),
        None => Path::Scan,
    }
}

impl Exec<'_> {
    /// @@foreign_key_checks.
    pub fn fk_checks(&self) -> bool {
        self.sess.var_i64("foreign_key_checks") != 0
    }

    /// Rows of `t` whose columns `cols` equal `vals` under their collations: each locked
    /// (shared or exclusive) and then read in its latest version, as a locking read.
    fn fk_matching_rows(
        &mut self,
        t: &TableDef,
        cols: &[usize],
        vals: &[Value],
        exclusive: bool,
        first_only: bool,
    ) -> Result<Vec<(Vec<u8>, Vec<Value>)>> {
        let prefix = encode_cols(t, cols, vals);
        let hi = prefix_successor(&prefix);
        let hi_b = match &hi {
            Some(h) => Bound::Excluded(h.as_slice()),
            None => Bound::Unbounded,
        };
        let mut candidates: Vec<Vec<u8>> = Vec::new();
        let mgr = self.mgr;
        match path_for(t, cols) {
            Path::Primary { exact: true } => candidates.push(prefix.clone()),
            Path::Primary { exact: false } => {
                mgr.scan(
                    self.txn,
                    t.root,
                    Bound::Included(&prefix),
                    hi_b,
                    false,
                    true,
                    &mut |k, _| {
                        candidates.push(k.to_vec());
                        Ok(true)
                    },
                )?;
            }
            Path::Index(ix) => {
                mgr.scan(
                    self.txn,
                    t.indexes[ix].root,
                    Bound::Included(&prefix),
                    hi_b,
                    false,
                    true,
                    &mut |_, v| {
                        candidates.push(v.to_vec());
                        Ok(true)
                    },
                )?;
            }
            Path::Scan => {
                let n = t.columns.len();
                mgr.scan(
                    self.txn,
                    t.root,
                    Bound::Unbounded,
                    Bound::Unbounded,
                    false,
                    true,
                    &mut |k, v| {
                        let mut row = decode_row(v)?;
                        row.resize(n, Value::Null);
                        let vs: Vec<Value> = cols.iter().map(|&c| row[c].clone()).collect();
                        if encode_cols(t, cols, &vs) == prefix {
                            candidates.push(k.to_vec());
                        }
                        Ok(true)
                    },
                )?;
            }
        }
        let mut out = Vec::new();
        for key in candidates {
            self.mgr.lock(self.txn, t.root, &key, exclusive)?;
            let Some(raw) = self.mgr.get(self.txn, t.root, &key, true)? else {
                continue;
            };
            let mut row = decode_row(&raw)?;
            row.resize(t.columns.len(), Value::Null);
            let vs: Vec<Value> = cols.iter().map(|&c| row[c].clone()).collect();
            if vs.iter().any(Value::is_null) || encode_cols(t, cols, &vs) != prefix {
                continue; // changed while we waited for the lock
            }
            out.push((key, row));
            if first_only {
                break;
            }
        }
        Ok(out)
    }

    /// A row about to be written to `t` (`old`: its previous version, for an UPDATE):
    /// each foreign key of `t` whose columns are all non-NULL, and changed, must find a
    /// parent row, which stays share-locked to the end of the transaction. `skip` names
    /// a constraint known to hold (the one a cascade is applying).
    pub fn fk_check_parents(
        &mut self,
        t: &TableDef,
        row: &[Value],
        old: Option<&[Value]>,
        skip: Option<&str>,
    ) -> Result<()> {
        if t.foreign_keys.is_empty() || !self.fk_checks() {
            return Ok(());
        }
        let cat = self.shared.catalog();
        for fk in &t.foreign_keys {
            if skip.is_some_and(|s| s.eq_ignore_ascii_case(&fk.name)) {
                continue;
            }
            let Some(cpos) = fk.column_positions(t) else {
                continue;
            };
            let vals: Vec<Value> = cpos.iter().map(|&c| row[c].clone()).collect();
            if vals.iter().any(Value::is_null) {
                continue;
            }
            if let Some(o) = old {
                if cpos.iter().all(|&c| o.get(c) == Some(&row[c])) {
                    continue;
                }
            }
            let Some(parent) = cat.table(&fk.ref_db, &fk.ref_table).cloned() else {
                return Err(no_parent(t, fk));
            };
            let Some(ppos) = positions(&parent, &fk.ref_columns) else {
                return Err(no_parent(t, fk));
            };
            if parent.id == t.id {
                // A self-reference: the row being written may be its own parent.
                let mine: Vec<Value> = ppos.iter().map(|&p| row[p].clone()).collect();
                if encode_cols(&parent, &ppos, &mine) == encode_cols(&parent, &ppos, &vals) {
                    continue;
                }
            }
            if self
                .fk_matching_rows(&parent, &ppos, &vals, false, true)?
                .is_empty()
            {
                return Err(no_parent(t, fk));
            }
        }
        Ok(())
    }

    /// After `old` was deleted from `t`: apply each referencing key's ON DELETE action to
    /// the child rows that referenced it. `depth` counts cascade levels.
    pub fn fk_on_parent_delete(&mut self, t: &TableDef, old: &[Value], depth: u32) -> Result<()> {
        self.fk_on_parent_change(t, old, None, depth)
    }

    /// After `old` in `t` was replaced by `new`: apply ON UPDATE actions to the children
    /// of `old` if a referenced column changed.
    pub fn fk_on_parent_update(
        &mut self,
        t: &TableDef,
        old: &[Value],
        new: &[Value],
        depth: u32,
    ) -> Result<()> {
        self.fk_on_parent_change(t, old, Some(new), depth)
    }

    fn fk_on_parent_change(
        &mut self,
        t: &TableDef,
        old: &[Value],
        new: Option<&[Value]>,
        depth: u32,
    ) -> Result<()> {
        if !self.fk_checks() {
            return Ok(());
        }
        let refs = self.shared.catalog().referencing(&t.db, &t.name);
        for (child, fk) in refs {
            let Some(ppos) = positions(t, &fk.ref_columns) else {
                continue;
            };
            let Some(cpos) = fk.column_positions(&child) else {
                continue;
            };
            if let Some(n) = new {
                if ppos.iter().all(|&p| old[p] == n[p]) {
                    continue;
                }
            }
            let vals: Vec<Value> = ppos.iter().map(|&p| old[p].clone()).collect();
            if vals.iter().any(Value::is_null) {
                continue;
            }
            let action = if new.is_some() {
                fk.on_update
            } else {
                fk.on_delete
            };
            let rows =
                self.fk_matching_rows(&child, &cpos, &vals, action.acts(), !action.acts())?;
            if rows.is_empty() {
                continue;
            }
            if !action.acts() {
                return Err(has_children(&child, &fk));
            }
            if depth + 1 > MAX_CASCADE_DEPTH {
                return Err(too_deep());
            }
            for (key, row) in rows {
                match (action, new) {
                    (FkAction::Cascade, None) => {
                        self.delete_row_raw(&child, &key, &row);
                        self.fk_on_parent_delete(&child, &row, depth + 1)?;
                    }
                    _ => {
                        let mut changed = row.clone();
                        for (i, &c) in cpos.iter().enumerate() {
                            changed[c] = match (action, new) {
                                (FkAction::Cascade, Some(n)) => n[ppos[i]].clone(),
                                _ => Value::Null,
                            };
                        }
                        self.fk_check_parents(&child, &changed, Some(&row), Some(&fk.name))?;
                        self.update_row_raw(&child, &key, &row, changed.clone())?;
                        self.fk_on_parent_update(&child, &row, &changed, depth + 1)?;
                    }
                }
            }
        }
        Ok(())
    }
}
