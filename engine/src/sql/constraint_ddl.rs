//! DDL of FOREIGN KEY and CHECK constraints: building definitions from CREATE/ALTER
//! TABLE, the checks MySQL 8 makes on them (parent table and index, column types,
//! SET NULL on NOT NULL columns, unique names), validating existing rows when a
//! constraint is added by ALTER TABLE, and keeping other tables' keys pointing at a
//! renamed table or column. `ddl.rs` calls in here; enforcement is in `foreign_key.rs`
//! and `check.rs`.
//!
//! Index sets are passed as lists of column-position lists (the primary key first, if
//! any), because during CREATE/ALTER the child's indexes exist only as pending entries.

use std::collections::HashSet;

use sqlparser::ast;

use crate::catalog::{Catalog, FkAction, ForeignKeyDef, SqlType, TableDef};
use crate::database::Shared;
use crate::error::{code, Error, Result};
use crate::sql::bind::Binder;
use crate::sql::foreign_key::{encode_cols, no_parent, positions};
use crate::store::TreeWrite;
use crate::value::Value;

pub const ER_WRONG_FK_DEF: u16 = 1239;
pub const ER_CANNOT_ADD_FOREIGN: u16 = 1215;
pub const ER_DROP_INDEX_FK: u16 = 1553;
pub const ER_TRUNCATE_ILLEGAL_FK: u16 = 1701;
pub const ER_FK_NO_INDEX_PARENT: u16 = 1822;
pub const ER_FK_CANNOT_OPEN_PARENT: u16 = 1824;
pub const ER_FK_DUP_NAME: u16 = 1826;
pub const ER_FK_COLUMN_CANNOT_DROP: u16 = 1828;
pub const ER_FK_COLUMN_CANNOT_DROP_CHILD: u16 = 1829;
pub const ER_FK_COLUMN_NOT_NULL: u16 = 1830;
pub const ER_FK_CANNOT_DROP_PARENT: u16 = 3730;
pub const ER_FK_NO_COLUMN_PARENT: u16 = 3734;
pub const ER_FK_INCOMPATIBLE_COLUMNS: u16 = 3780;
pub const ER_CONSTRAINT_NOT_FOUND: u16 = 3940;

fn action(a: &Option<ast::ReferentialAction>) -> Result<FkAction> {
    use ast::ReferentialAction as R;
    Ok(match a {
        None => FkAction::Unspecified,
        Some(R::Restrict) => FkAction::Restrict,
        Some(R::NoAction) => FkAction::NoAction,
        Some(R::Cascade) => FkAction::Cascade,
        Some(R::SetNull) => FkAction::SetNull,
        // InnoDB rejects SET DEFAULT.
        Some(R::SetDefault) => {
            return Err(Error::new(
                ER_CANNOT_ADD_FOREIGN,
                "Cannot add foreign key constraint",
            ))
        }
    })
}

/// The next generated name `<table>_ibfk_<n>`: one past the largest such number in use.
pub fn generated_fk_name(table: &str, existing: &[ForeignKeyDef]) -> String {
    let prefix = format!("{}_ibfk_", table.to_lowercase());
    let max = existing
        .iter()
        .filter_map(|f| {
            f.name
                .to_lowercase()
                .strip_prefix(&prefix)
                .and_then(|n| n.parse::<u32>().ok())
        })
        .max()
        .unwrap_or(0);
    format!("{table}_ibfk_{}", max + 1)
}

/// A FOREIGN KEY clause of table `child` as a definition (not yet checked), with the
/// name MySQL gives the supporting index if one must be created.
pub fn fk_from_ast(
    b: &Binder<'_>,
    child: &TableDef,
    fk: &ast::ForeignKeyConstraint,
) -> Result<(ForeignKeyDef, String)> {
    let (ref_db, ref_table) = b.table_name(&fk.foreign_table)?;
    let name = match &fk.name {
        Some(n) => n.value.clone(),
        None => generated_fk_name(&child.name, &child.foreign_keys),
    };
    let index_name = fk
        .name
        .as_ref()
        .or(fk.index_name.as_ref())
        .map(|i| i.value.clone())
        .or_else(|| fk.columns.first().map(|c| c.value.clone()))
        .unwrap_or_default();
    Ok((
        ForeignKeyDef {
            name,
            columns: fk.columns.iter().map(|c| c.value.clone()).collect(),
            ref_db,
            ref_table,
            ref_columns: fk
                .referred_columns
                .iter()
                .map(|c| c.value.clone())
                .collect(),
            on_delete: action(&fk.on_delete)?,
            on_update: action(&fk.on_update)?,
        },
        index_name,
    ))
}

fn starts_with(ix: &[usize], cols: &[usize]) -> bool {
    ix.len() >= cols.len() && ix[..cols.len()] == *cols
}

/// The index sets of a table: primary key first.
pub fn index_sets(t: &TableDef) -> Vec<Vec<usize>> {
    let mut v = Vec::new();
    if !t.primary.is_empty() {
        v.push(t.primary.clone());
    }
    v.extend(t.indexes.iter().map(|i| i.columns.clone()));
    v
}

/// Whether some index of the set starts with `cols`, in order.
pub fn has_index(sets: &[Vec<usize>], cols: &[usize]) -> bool {
    sets.iter().any(|ix| starts_with(ix, cols))
}

/// Column types InnoDB accepts on the two sides of a key: same integer size and sign,
/// strings of the same collation (any length), otherwise the same type.
fn compatible(a: &crate::catalog::ColumnDef, b: &crate::catalog::ColumnDef) -> bool {
    use SqlType as T;
    match (&a.ty, &b.ty) {
        (x, y) if x.is_integer() && y.is_integer() => x == y && a.unsigned == b.unsigned,
        (T::Char(_) | T::VarChar(_), T::Char(_) | T::VarChar(_)) => {
            a.binary_collation == b.binary_collation
        }
        (T::Binary(_) | T::VarBinary(_), T::Binary(_) | T::VarBinary(_)) => true,
        (T::Decimal(..), T::Decimal(..)) => a.ty == b.ty && a.unsigned == b.unsigned,
        (x, y) => x == y,
    }
}

/// The checks MySQL makes on a foreign key of `child` (whose indexes are `child_ix`)
/// against its parent (`None`: no such table) with indexes `parent_ix`.
pub fn validate(
    child: &TableDef,
    fk: &ForeignKeyDef,
    parent: Option<(&TableDef, &[Vec<usize>])>,
    fk_checks: bool,
) -> Result<()> {
    let cpos = fk
        .columns
        .iter()
        .map(|c| {
            child.column_index(c).ok_or_else(|| {
                Error::new(
                    code::ER_KEY_COLUMN_DOES_NOT_EXIST,
                    format!("Key column '{c}' doesn't exist in table"),
                )
            })
        })
        .collect::<Result<Vec<_>>>()?;
    for &c in &cpos {
        let col = &child.columns[c];
        if !col.nullable && (fk.on_delete == FkAction::SetNull || fk.on_update == FkAction::SetNull)
        {
            return Err(Error::new(
                ER_FK_COLUMN_NOT_NULL,
                format!(
                    "Column '{}' cannot be NOT NULL: needed in a foreign key constraint '{}' SET NULL",
                    col.name, fk.name
                ),
            ));
        }
    }
    let Some((parent, parent_ix)) = parent else {
        if fk_checks {
            return Err(Error::new(
                ER_FK_CANNOT_OPEN_PARENT,
                format!("Failed to open the referenced table '{}'", fk.ref_table),
            ));
        }
        return Ok(());
    };
    if fk.columns.len() != fk.ref_columns.len() {
        return Err(Error::new(
            ER_WRONG_FK_DEF,
            format!(
                "Incorrect foreign key definition for '{}': Key reference and table reference don't match",
                fk.name
            ),
        ));
    }
    let mut ppos = Vec::new();
    for rc in &fk.ref_columns {
        let p = parent.column_index(rc).ok_or_else(|| {
            Error::new(
                ER_FK_NO_COLUMN_PARENT,
                format!(
                    "Failed to add the foreign key constraint. Missing column '{rc}' for constraint '{}' in the referenced table '{}'",
                    fk.name, parent.name
                ),
            )
        })?;
        ppos.push(p);
    }
    for (&c, &p) in cpos.iter().zip(&ppos) {
        if !compatible(&child.columns[c], &parent.columns[p]) {
            return Err(Error::new(
                ER_FK_INCOMPATIBLE_COLUMNS,
                format!(
                    "Referencing column '{}' and referenced column '{}' in foreign key constraint '{}' are incompatible.",
                    child.columns[c].name, parent.columns[p].name, fk.name
                ),
            ));
        }
    }
    if !has_index(parent_ix, &ppos) {
        return Err(Error::new(
            ER_FK_NO_INDEX_PARENT,
            format!(
                "Failed to add the foreign key constraint. Missing index for constraint '{}' in the referenced table '{}'",
                fk.name, parent.name
            ),
        ));
    }
    Ok(())
}

/// Refuse a second key named `name` in database `db` (or in `fks` being added).
pub fn check_fk_name(cat: &Catalog, db: &str, name: &str, others: &[ForeignKeyDef]) -> Result<()> {
    if cat.fk_name_taken(db, name) || others.iter().any(|f| f.name.eq_ignore_ascii_case(name)) {
        return Err(Error::new(
            ER_FK_DUP_NAME,
            format!("Duplicate foreign key constraint name '{name}'"),
        ));
    }
    Ok(())
}

pub fn check_check_name(cat: &Catalog, db: &str, name: &str, others: &[&str]) -> Result<()> {
    if cat.check_name_taken(db, name) || others.iter().any(|o| o.eq_ignore_ascii_case(name)) {
        return Err(Error::new(
            crate::sql::check::ER_CHECK_CONSTRAINT_DUP_NAME,
            format!("Duplicate check constraint name '{name}'."),
        ));
    }
    Ok(())
}

/// ALTER TABLE ... ADD FOREIGN KEY with foreign_key_checks on: every row of `child`
/// (`rows`, in its new layout) with a non-NULL key must have its parent among the
/// committed rows of `parent` (or of `rows` themselves for a self-reference).
pub fn validate_rows(
    sh: &Shared,
    child: &TableDef,
    fk: &ForeignKeyDef,
    parent: &TableDef,
    rows: &[Vec<Value>],
) -> Result<()> {
    let (Some(cpos), Some(ppos)) = (
        fk.column_positions(child),
        positions(parent, &fk.ref_columns),
    ) else {
        return Ok(());
    };
    let mut keys: HashSet<Vec<u8>> = HashSet::new();
    let mut add = |r: &[Value]| {
        let vs: Vec<Value> = ppos
            .iter()
            .map(|&p| r.get(p).cloned().unwrap_or(Value::Null))
            .collect();
        keys.insert(encode_cols(parent, &ppos, &vs));
    };
    if parent.id == child.id {
        rows.iter().for_each(|r| add(r));
    } else {
        sh.store().scan(
            parent.root,
            std::ops::Bound::Unbounded,
            std::ops::Bound::Unbounded,
            false,
            &mut |_k, v| {
                add(&crate::row::decode_row(v)?);
                Ok(true)
            },
        )?;
    }
    for r in rows {
        let vs: Vec<Value> = cpos.iter().map(|&c| r[c].clone()).collect();
        if vs.iter().any(Value::is_null) {
            continue;
        }
        if !keys.contains(&encode_cols(parent, &ppos, &vs)) {
            return Err(no_parent(child, fk));
        }
    }
    Ok(())
}

/// DROP TABLE / TRUNCATE of `t`: the first key of another table (not in `dropped`)
/// that references it.
pub fn outside_reference(
    cat: &Catalog,
    t: &TableDef,
    dropped: &[(String, String)],
) -> Option<(std::sync::Arc<TableDef>, ForeignKeyDef)> {
    cat.referencing(&t.db, &t.name).into_iter().find(|(c, _)| {
        c.id != t.id
            && !dropped
                .iter()
                .any(|(d, n)| d.eq_ignore_ascii_case(&c.db) && n.eq_ignore_ascii_case(&c.name))
    })
}

pub fn cannot_drop_parent(t: &TableDef, child: &TableDef, fk: &ForeignKeyDef) -> Error {
    Error::new(
        ER_FK_CANNOT_DROP_PARENT,
        format!(
            "Cannot drop table '{}' referenced by a foreign key constraint '{}' on table '{}'.",
            t.name, fk.name, child.name
        ),
    )
}

pub fn cannot_truncate(child: &TableDef, fk: &ForeignKeyDef) -> Error {
    Error::new(
        ER_TRUNCATE_ILLEGAL_FK,
        format!(
            "Cannot truncate a table referenced in a foreign key constraint (`{}`.`{}`, CONSTRAINT `{}`)",
            child.db, child.name, fk.name
        ),
    )
}

/// A renamed table's generated constraint names follow it (`old_ibfk_1` → `new_ibfk_1`),
/// as MySQL 8 does.
pub fn rename_generated(t: &mut TableDef, old_name: &str) {
    let new_name = t.name.clone();
    let re = |n: &mut String, infix: &str| {
        let p = format!("{}{infix}", old_name.to_lowercase());
        if let Some(rest) = n.to_lowercase().strip_prefix(&p) {
            if !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()) {
                *n = format!("{new_name}{infix}{rest}");
            }
        }
    };
    for f in &mut t.foreign_keys {
        re(&mut f.name, "_ibfk_");
    }
    for c in &mut t.checks {
        re(&mut c.name, "_chk_");
    }
}

/// Point the keys of other tables that reference `old` (db, table) at `new_db`.`new_name`,
/// with referenced columns renamed by `col_renames` (old, new). Writes the changed
/// table records; `skip_id` is the renamed table itself (its caller updates it).
pub fn retarget(
    sh: &Shared,
    cat: &mut Catalog,
    w: &mut dyn TreeWrite,
    old: (&str, &str),
    new: (&str, &str),
    col_renames: &[(String, String)],
    skip_id: u64,
) -> Result<()> {
    let children: Vec<std::sync::Arc<TableDef>> = cat
        .referencing(old.0, old.1)
        .into_iter()
        .map(|(c, _)| c)
        .filter(|c| c.id != skip_id)
        .collect();
    let mut seen = HashSet::new();
    for c in children {
        if !seen.insert(c.id) {
            continue;
        }
        let mut nc = (*c).clone();
        retarget_keys(&mut nc, old, new, col_renames);
        w.put(
            sh.system_tree(),
            &crate::catalog::keys::table(&nc.db, &nc.name),
            &crate::catalog::to_record(&nc),
        )?;
        cat.tables.insert(
            (nc.db.to_lowercase(), nc.name.to_lowercase()),
            std::sync::Arc::new(nc),
        );
    }
    Ok(())
}

/// Rewrite the keys of `t` that reference `old` to reference `new` with columns renamed.
pub fn retarget_keys(
    t: &mut TableDef,
    old: (&str, &str),
    new: (&str, &str),
    col_renames: &[(String, String)],
) {
    for f in &mut t.foreign_keys {
        if !f.references(old.0, old.1) {
            continue;
        }
        f.ref_db = new.0.to_string();
        f.ref_table = new.1.to_string();
        for rc in &mut f.ref_columns {
            if let Some((_, n)) = col_renames.iter().find(|(o, _)| o.eq_ignore_ascii_case(rc)) {
                *rc = n.clone();
            }
        }
    }
}

/// 3940 for DROP CONSTRAINT of a name that is no constraint of the table.
pub fn constraint_not_found(name: &str) -> Error {
    Error::new(
        ER_CONSTRAINT_NOT_FOUND,
        format!("Constraint '{name}' does not exist."),
    )
}

pub fn drop_index_needed(name: &str) -> Error {
    Error::new(
        ER_DROP_INDEX_FK,
        format!("Cannot drop index '{name}': needed in a foreign key constraint"),
    )
}
