//! DDL of FOREIGN KEY and CHECK constraints: building definitions from CREATE/ALTER
//! TABLE, the checks MySQL 8 makes on them (parent table and index, column types,
//! SET NULL on NOT NULL columns, unique names), validating existing rows when a
//! constraint is added by ALTER TABLE, and keeping other tables' keys pointing at a
//! renamed table or column. `ddl.rs` calls in here at the constraint steps of CREATE
//! TABLE (`add_create_constraints`) and ALTER TABLE (`alter_constraints`, the DROP
//! COLUMN / DROP INDEX / rename checks); enforcement is in `foreign_key.rs` and
//! `check.rs`.
//!
//! Index sets are passed as lists of column-position lists (the primary key first, if
//! any), because during CREATE/ALTER the child's indexes exist only as pending entries.

use std::collections::HashSet;

use sqlparser::ast;

use crate::catalog::{self, Catalog, FkAction, ForeignKeyDef, SqlType, TableDef};
use crate::database::Shared;
use crate::error::{code, Error, Result};
use crate::sql::bind::Binder;
use crate::sql::ddl::PendingIndex;
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
        (T::Char(_) | T::VarChar(_), T::Char(_) | T::VarChar(_)) => a.collation() == b.collation(),
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
        cat.save_table(w, sh.system_tree(), nc)?;
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

// CREATE / ALTER TABLE steps (called from ddl.rs).

/// ALTER TABLE's constraint work once the new layout (`nt`, `pending`) is known: keys
/// still have their indexes (1553) and compatible columns, on both sides; new foreign
/// keys and checks are built and checked (their rows are validated by the caller).
/// What an ALTER TABLE did to constraints, for `alter_constraints`.
pub(crate) struct AlterConstraints<'a> {
    pub new_fks: &'a [ast::ForeignKeyConstraint],
    pub new_checks: &'a [ast::CheckConstraint],
    pub dropped_index: Option<&'a str>,
    /// Columns renamed (old, new).
    pub col_renames: &'a [(String, String)],
}

/// CREATE TABLE's CHECK constraints (column-level, then table-level) and FOREIGN KEYs,
/// adding the index a foreign key needs when no index starts with its columns.
/// Column-level `REFERENCES` is parsed and ignored, as MySQL 8.0 does.
pub(crate) fn add_create_constraints(
    b: &Binder<'_>,
    cat: &catalog::Catalog,
    t: &mut TableDef,
    pending: &mut Vec<PendingIndex>,
    ct: &ast::CreateTable,
) -> Result<()> {
    use sqlparser::ast::Spanned;
    // (name, expression, enforced, the column of a column-level check).
    type PendingCheck = (Option<String>, ast::Expr, bool, Option<String>);
    let mut checks: Vec<PendingCheck> = Vec::new();
    for c in &ct.columns {
        for o in &c.options {
            if let ast::ColumnOption::Check(k) = &o.option {
                let name = o.name.as_ref().or(k.name.as_ref()).map(|n| n.value.clone());
                let col = Some(c.name.value.clone());
                checks.push((name, (*k.expr).clone(), k.enforced.unwrap_or(true), col));
            }
        }
    }
    for c in &ct.constraints {
        if let ast::TableConstraint::Check(k) = c {
            let name = k.name.as_ref().map(|n| n.value.clone());
            checks.push((name, (*k.expr).clone(), k.enforced.unwrap_or(true), None));
        }
    }
    // Generated names number the checks in the order they are written, column-level
    // and table-level interleaved.
    checks.sort_by_key(|c| {
        let at = c.1.span().start;
        (at.line, at.column)
    });
    for (name, e, enforced, col) in checks {
        let d = add_check(cat, t, name, &e, enforced)?;
        if let Some(col) = col {
            let other = t.columns.iter().any(|c| {
                !c.name.eq_ignore_ascii_case(&col) && crate::sql::check::uses_column(&d, &c.name)
            });
            if other {
                return Err(Error::new(
                    3813,
                    format!(
                        "Column check constraint '{}' references other column.",
                        d.name
                    ),
                ));
            }
        }
    }
    for c in &ct.constraints {
        if let ast::TableConstraint::ForeignKey(fk) = c {
            let (def, ix_name) = fk_from_ast(b, t, fk)?;
            check_fk_name(cat, &t.db, &def.name, &t.foreign_keys)?;
            let child_sets = pending_sets(&t.primary, pending);
            let parent: Option<(TableDef, Vec<Vec<usize>>)> = if def.references(&t.db, &t.name) {
                Some((t.clone(), child_sets.clone()))
            } else {
                cat.table(&def.ref_db, &def.ref_table)
                    .map(|p| ((**p).clone(), index_sets(p)))
            };
            validate(
                t,
                &def,
                parent.as_ref().map(|(p, s)| (p, s.as_slice())),
                b.fk_checks,
            )?;
            let cpos = def.column_positions(t).expect("validated columns");
            if !has_index(&child_sets, &cpos) {
                let name = free_index_name(pending, &ix_name);
                t.fk_generated_indexes.push(name.clone());
                pending.push((name, cpos, false));
            }
            t.foreign_keys.push(def);
        }
    }
    crate::sql::check::check_fk_action_columns(t)
}

/// Add one CHECK constraint to `t` (named, or `<table>_chk_<n>`).
pub(crate) fn add_check(
    cat: &catalog::Catalog,
    t: &mut TableDef,
    name: Option<String>,
    e: &ast::Expr,
    enforced: bool,
) -> Result<catalog::CheckDef> {
    let name = name.unwrap_or_else(|| {
        crate::sql::check::generated_name(&t.name, &|n| {
            t.checks.iter().any(|c| c.name.eq_ignore_ascii_case(n))
                || cat.check_name_taken(&t.db, n)
        })
    });
    let mine: Vec<&str> = t.checks.iter().map(|c| c.name.as_str()).collect();
    check_check_name(cat, &t.db, &name, &mine)?;
    let d = crate::sql::check::definition(cat, t, name, e, enforced)?;
    t.checks.push(d.clone());
    // MySQL 8 keeps (and shows, and evaluates) a table's checks ordered by name.
    t.checks.sort_by_key(|c| c.name.to_lowercase());
    Ok(d)
}

/// `base`, or `base_2`, `base_3`, ... if an index already has that name.
fn free_index_name(pending: &[PendingIndex], base: &str) -> String {
    let taken = |n: &str| pending.iter().any(|p| p.0.eq_ignore_ascii_case(n));
    if !taken(base) {
        return base.to_string();
    }
    (2..)
        .map(|k| format!("{base}_{k}"))
        .find(|n| !taken(n))
        .expect("a free name")
}

/// After an index change: an index created implicitly for a foreign key goes when
/// another index (or the primary key) starts with its columns, as MySQL drops it; names
/// of implicit indexes dropped otherwise are forgotten.
pub(crate) fn drop_superseded_fk_indexes(t: &mut TableDef, pending: &mut Vec<PendingIndex>) {
    let primary = t.primary.clone();
    t.fk_generated_indexes.retain(|g| {
        let Some(at) = pending.iter().position(|p| p.0.eq_ignore_ascii_case(g)) else {
            return false;
        };
        let cols = pending[at].1.clone();
        let covered = starts_with(&primary, &cols)
            || pending
                .iter()
                .enumerate()
                .any(|(i, p)| i != at && starts_with(&p.1, &cols));
        if covered {
            pending.remove(at);
        }
        !covered
    });
}

/// Column lists of a primary key and pending indexes (primary first).
pub(crate) fn pending_sets(primary: &[usize], pending: &[PendingIndex]) -> Vec<Vec<usize>> {
    let mut v = Vec::new();
    if !primary.is_empty() {
        v.push(primary.to_vec());
    }
    v.extend(pending.iter().map(|p| p.1.clone()));
    v
}

/// After an index change of `t` (now indexed by `sets`): every foreign key of `t`, and
/// every key referencing `t`, must still have an index starting with its columns.
pub(crate) fn check_fk_indexes(
    cat: &catalog::Catalog,
    t: &TableDef,
    sets: &[Vec<usize>],
    dropped: &str,
) -> Result<()> {
    for f in &t.foreign_keys {
        if let Some(c) = f.column_positions(t) {
            if !has_index(sets, &c) {
                return Err(drop_index_needed(dropped));
            }
        }
    }
    for (_, f) in cat.referencing(&t.db, &t.name) {
        if let Some(p) = crate::sql::foreign_key::positions(t, &f.ref_columns) {
            if !has_index(sets, &p) {
                return Err(drop_index_needed(dropped));
            }
        }
    }
    Ok(())
}

pub(crate) fn column_in_check(check: &str, col: &str) -> Error {
    Error::new(
        crate::sql::check::ER_DEPENDENT_BY_CHECK_CONSTRAINT,
        format!("Check constraint '{check}' uses column '{col}', hence column cannot be dropped or renamed."),
    )
}

/// DROP COLUMN of a column a foreign key (of this table or one referencing it) or a
/// CHECK constraint uses is refused.
pub(crate) fn fk_column_drop_check(
    cat: &catalog::Catalog,
    nt: &TableDef,
    table: &str,
    col: &str,
) -> Result<()> {
    for f in &nt.foreign_keys {
        let self_ref = f.ref_table.eq_ignore_ascii_case(table)
            && f.ref_columns.iter().any(|c| c.eq_ignore_ascii_case(col));
        if self_ref || f.columns.iter().any(|c| c.eq_ignore_ascii_case(col)) {
            return Err(Error::new(
                ER_FK_COLUMN_CANNOT_DROP,
                format!(
                    "Cannot drop column '{col}': needed in a foreign key constraint '{}'",
                    f.name
                ),
            ));
        }
    }
    for (c, f) in cat.referencing(&nt.db, table) {
        if !c.name.eq_ignore_ascii_case(table)
            && f.ref_columns.iter().any(|x| x.eq_ignore_ascii_case(col))
        {
            return Err(Error::new(
                ER_FK_COLUMN_CANNOT_DROP_CHILD,
                format!(
                    "Cannot drop column '{col}': needed in a foreign key constraint '{}' of table '{}'",
                    f.name, c.name
                ),
            ));
        }
    }
    if let Some(c) = nt
        .checks
        .iter()
        .find(|c| crate::sql::check::uses_column(c, col))
    {
        return Err(column_in_check(&c.name, col));
    }
    Ok(())
}

pub(crate) fn alter_constraints(
    b: &Binder<'_>,
    cat: &catalog::Catalog,
    nt: &mut TableDef,
    pending: &mut Vec<PendingIndex>,
    ops: &AlterConstraints<'_>,
) -> Result<(Vec<catalog::ForeignKeyDef>, Vec<catalog::CheckDef>)> {
    let AlterConstraints {
        new_fks,
        new_checks,
        dropped_index,
        col_renames,
    } = *ops;
    let sets = pending_sets(&nt.primary, pending);
    if let Some(d) = dropped_index {
        check_fk_indexes(cat, nt, &sets, d)?;
    }
    // Column changes are checked against the keys on both sides unless
    // foreign_key_checks is off (which lets a type change through, as in MySQL).
    let existing: &[catalog::ForeignKeyDef] = if b.fk_checks { &nt.foreign_keys } else { &[] };
    let referencing = if b.fk_checks {
        cat.referencing(&nt.db, &nt.name)
    } else {
        Vec::new()
    };
    let self_ref = |f: &catalog::ForeignKeyDef| f.references(&nt.db, &nt.name);
    for f in existing {
        let parent = if self_ref(f) {
            Some((nt.clone(), sets.clone()))
        } else {
            cat.table(&f.ref_db, &f.ref_table)
                .map(|p| ((**p).clone(), index_sets(p)))
        };
        validate(
            nt,
            f,
            parent.as_ref().map(|(p, s)| (p, s.as_slice())),
            false,
        )?;
    }
    for (c, f) in referencing {
        if c.id == nt.id {
            continue;
        }
        // The child's key as it will read once this table's column renames apply.
        let mut f = f;
        for rc in &mut f.ref_columns {
            if let Some((_, n)) = col_renames.iter().find(|(o, _)| o.eq_ignore_ascii_case(rc)) {
                *rc = n.clone();
            }
        }
        validate(&c, &f, Some((nt, &sets)), false).map_err(|e| {
            if e.code == ER_FK_NO_INDEX_PARENT {
                drop_index_needed(dropped_index.unwrap_or("PRIMARY"))
            } else {
                e
            }
        })?;
    }
    let mut added_fks = Vec::new();
    for fk in new_fks {
        let (def, ix_name) = fk_from_ast(b, nt, fk)?;
        check_fk_name(cat, &nt.db, &def.name, &nt.foreign_keys)?;
        let sets = pending_sets(&nt.primary, pending);
        let parent = if def.references(&nt.db, &nt.name) {
            Some((nt.clone(), sets.clone()))
        } else {
            cat.table(&def.ref_db, &def.ref_table)
                .map(|p| ((**p).clone(), index_sets(p)))
        };
        validate(
            nt,
            &def,
            parent.as_ref().map(|(p, s)| (p, s.as_slice())),
            b.fk_checks,
        )?;
        let cpos = def.column_positions(nt).expect("validated columns");
        if !has_index(&sets, &cpos) {
            let name = free_index_name(pending, &ix_name);
            nt.fk_generated_indexes.push(name.clone());
            pending.push((name, cpos, false));
        }
        nt.foreign_keys.push(def.clone());
        added_fks.push(def);
    }
    let mut added_checks = Vec::new();
    for c in new_checks {
        let name = c.name.as_ref().map(|n| n.value.clone());
        added_checks.push(add_check(
            cat,
            nt,
            name,
            &c.expr,
            c.enforced.unwrap_or(true),
        )?);
    }
    crate::sql::check::check_fk_action_columns(nt)?;
    Ok((added_fks, added_checks))
}

pub const ER_CHECK_CONSTRAINT_NOT_FOUND: u16 = 3821;
pub const ER_ALTER_CONSTRAINT_ENFORCEMENT_NOT_SUPPORTED: u16 = 3946;

/// `ALTER TABLE t {DROP CHECK | ALTER CHECK | ALTER CONSTRAINT} name [[NOT] ENFORCED]`
/// as the only operation of the statement: forms sqlparser does not parse (a DROP CHECK
/// among other operations goes through sqlparser as DROP CONSTRAINT).
#[derive(Debug, PartialEq)]
pub struct AlterCheck {
    pub db: Option<String>,
    pub table: String,
    pub name: String,
    /// None: DROP CHECK; Some(e): set ENFORCED to e.
    pub enforce: Option<bool>,
    /// ALTER CONSTRAINT (any constraint type named) rather than ALTER/DROP CHECK.
    pub any_constraint: bool,
}

/// `ALTER TABLE [db.]t` at the start of `text`, for the ALTER forms we parse ourselves:
/// the statement's tokens (without trailing `;`), the table, and the index of the first
/// token after its name.
pub(crate) fn alter_table_head(
    text: &str,
) -> Option<(Vec<crate::sql::show::Tok>, Option<String>, String, usize)> {
    use crate::sql::show::Tok;
    let mut toks = crate::sql::show::tokenize(text);
    while toks.last() == Some(&Tok::Sym(';')) {
        toks.pop();
    }
    let word = |i: usize| match toks.get(i) {
        Some(Tok::Word(w)) => Some(w.clone()),
        _ => None,
    };
    let is = |i: usize, w: &str| word(i).is_some_and(|x| x.eq_ignore_ascii_case(w));
    if !(is(0, "alter") && is(1, "table")) {
        return None;
    }
    let (db, table, i) = if toks.get(3) == Some(&Tok::Sym('.')) {
        (Some(word(2)?), word(4)?, 5)
    } else {
        (None, word(2)?, 3)
    };
    Some((toks, db, table, i))
}

/// Whether token `i` is the word `w` (any case).
pub(crate) fn tok_is(toks: &[crate::sql::show::Tok], i: usize, w: &str) -> bool {
    matches!(toks.get(i), Some(crate::sql::show::Tok::Word(x)) if x.eq_ignore_ascii_case(w))
}

/// Recognize an [`AlterCheck`] statement.
pub fn parse_alter_check(text: &str) -> Option<AlterCheck> {
    use crate::sql::show::Tok;
    let (toks, db, table, mut i) = alter_table_head(text)?;
    let word = |i: usize| match toks.get(i) {
        Some(Tok::Word(w)) => Some(w.as_str()),
        _ => None,
    };
    let is = |i: usize, w: &str| tok_is(&toks, i, w);
    let drop = is(i, "drop");
    if !(drop || is(i, "alter")) {
        return None;
    }
    let any_constraint = !drop && is(i + 1, "constraint");
    if !(is(i + 1, "check") || any_constraint) {
        return None;
    }
    let name = word(i + 2)?.to_string();
    i += 3;
    let enforce = if drop {
        None
    } else if is(i, "not") && is(i + 1, "enforced") {
        i += 2;
        Some(false)
    } else if is(i, "enforced") {
        i += 1;
        Some(true)
    } else {
        return None;
    };
    (i == toks.len()).then_some(AlterCheck {
        db,
        table,
        name,
        enforce,
        any_constraint,
    })
}

/// Run an [`AlterCheck`]: drop the check, or switch its enforcement (turning it on
/// checks the rows already there, 3819).
pub fn alter_check(sh: &Shared, current_db: Option<&str>, op: &AlterCheck) -> Result<()> {
    let db = op
        .db
        .clone()
        .or_else(|| current_db.map(str::to_string))
        .ok_or_else(Error::no_db)?;
    let t = sh.catalog().get_table(&db, &op.table)?.clone();
    let mut nt = (*t).clone();
    let Some(pos) = nt
        .checks
        .iter()
        .position(|c| c.name.eq_ignore_ascii_case(&op.name))
    else {
        if op.any_constraint {
            let other = nt
                .foreign_keys
                .iter()
                .any(|f| f.name.eq_ignore_ascii_case(&op.name))
                || nt
                    .indexes
                    .iter()
                    .any(|i| i.unique && i.name.eq_ignore_ascii_case(&op.name))
                || (!nt.primary.is_empty() && op.name.eq_ignore_ascii_case("primary"));
            if other {
                return Err(Error::new(
                    ER_ALTER_CONSTRAINT_ENFORCEMENT_NOT_SUPPORTED,
                    format!(
                        "Altering constraint enforcement is not supported for the constraint '{}'.",
                        op.name
                    ),
                ));
            }
            return Err(constraint_not_found(&op.name));
        }
        return Err(Error::new(
            ER_CHECK_CONSTRAINT_NOT_FOUND,
            format!("Check constraint '{}' is not found in the table.", op.name),
        ));
    };
    // Held until the ALTER below is published (see `Shared::ddl_fence`).
    let mut _fence = None;
    match op.enforce {
        None => {
            nt.checks.remove(pos);
        }
        Some(e) => {
            if e && !nt.checks[pos].enforced {
                let mut c = nt.checks[pos].clone();
                c.enforced = true;
                _fence = Some(sh.ddl_fence(&[&*t])?);
                let rows = crate::sql::ddl::read_rows(sh, &t)?;
                crate::sql::check::validate_rows(sh, &nt, &c, &rows)?;
            }
            nt.checks[pos].enforced = e;
        }
    }
    sh.ddl(|cat, w| {
        cat.save_table(w, sh.system_tree(), nt.clone())?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alter_check_statements_are_recognized_only_alone() {
        let op = parse_alter_check("ALTER TABLE d.`t` ALTER CHECK c1 NOT ENFORCED;").unwrap();
        assert_eq!(op.db.as_deref(), Some("d"));
        assert_eq!((op.table.as_str(), op.name.as_str()), ("t", "c1"));
        assert_eq!(op.enforce, Some(false));
        assert!(!op.any_constraint);
        let op = parse_alter_check("alter table t drop check `x y`").unwrap();
        assert_eq!((op.name.as_str(), op.enforce), ("x y", None));
        let op = parse_alter_check("ALTER TABLE t ALTER CONSTRAINT k ENFORCED").unwrap();
        assert!(op.any_constraint && op.enforce == Some(true));
        for other in [
            "ALTER TABLE t DROP CHECK a, DROP CHECK b",
            "ALTER TABLE t DROP CONSTRAINT a",
            "ALTER TABLE t ALTER CHECK a",
            "ALTER TABLE t ADD CHECK (a > 0)",
            "ALTER TABLE t ALTER COLUMN a SET DEFAULT 1",
        ] {
            assert_eq!(parse_alter_check(other), None, "{other}");
        }
    }

    #[test]
    fn generated_names_continue_after_the_largest_number() {
        let fk = |n: &str| ForeignKeyDef {
            name: n.into(),
            columns: vec![],
            ref_db: String::new(),
            ref_table: String::new(),
            ref_columns: vec![],
            on_delete: FkAction::Unspecified,
            on_update: FkAction::Unspecified,
        };
        assert_eq!(generated_fk_name("T", &[]), "T_ibfk_1");
        assert_eq!(
            generated_fk_name("t", &[fk("t_ibfk_4"), fk("mine"), fk("T_IBFK_2")]),
            "t_ibfk_5"
        );
    }
}
