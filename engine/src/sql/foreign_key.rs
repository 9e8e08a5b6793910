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
            fk.describe(&child.db, true)
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
            fk.describe(&child.db, true)
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
        self.sess
            .vars
            .get("foreign_key_checks")
            .and_then(|v| v.to_i64())
            != Some(0)
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
        // Existence checks stop at the first entry; should that row turn out changed
        // once locked, the scan is redone in full below.
        let limit = if first_only { 1 } else { usize::MAX };
        let mgr = self.mgr;
        let path = path_for(t, cols);
        let exact = matches!(path, Path::Primary { exact: true });
        match path {
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
                        Ok(candidates.len() < limit)
                    },
                )?;
            }
            Path::Index(ix) => {
                if t.indexes[ix].unique && t.indexes[ix].columns.len() == cols.len() {
                    // The lock an insert of this unique value holds: wait for an
                    // uncommitted one (as InnoDB waits on the index record).
                    self.mgr
                        .lock(self.txn, t.indexes[ix].root, &prefix, false)?;
                }
                mgr.scan(
                    self.txn,
                    t.indexes[ix].root,
                    Bound::Included(&prefix),
                    hi_b,
                    false,
                    true,
                    &mut |_, v| {
                        candidates.push(v.to_vec());
                        Ok(candidates.len() < limit)
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
                        Ok(candidates.len() < limit)
                    },
                )?;
            }
        }
        let candidates_len = candidates.len();
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
        if first_only && out.is_empty() && !exact && candidates_len == limit {
            return self.fk_matching_rows(t, cols, vals, exclusive, false);
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
        self.fk_on_parent_change(t, old, None, depth, &[])
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
        self.fk_on_parent_change(t, old, Some(new), depth, &[t.id])
    }

    /// `updated`: the tables the statement and the cascade so far have updated (not
    /// deleted from). An action that would update one of them again is refused as
    /// RESTRICT, as InnoDB does (so a self-referencing ON UPDATE CASCADE cannot cycle).
    fn fk_on_parent_change(
        &mut self,
        t: &TableDef,
        old: &[Value],
        new: Option<&[Value]>,
        depth: u32,
        updated: &[u64],
    ) -> Result<()> {
        if !self.fk_checks() {
            return Ok(());
        }
        let cat = self.shared.catalog();
        let referenced = *self
            .referenced_cache
            .entry(t.id)
            .or_insert_with(|| cat.is_referenced(&t.db, &t.name));
        if !referenced {
            return Ok(());
        }
        let refs = cat.referencing(&t.db, &t.name);
        drop(cat);
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
            let deletes = action == FkAction::Cascade && new.is_none();
            let acts = action.acts() && (deletes || !updated.contains(&child.id));
            let rows = self.fk_matching_rows(&child, &cpos, &vals, acts, !acts)?;
            if rows.is_empty() {
                continue;
            }
            if !acts {
                return Err(has_children(&child, &fk));
            }
            if depth + 1 > MAX_CASCADE_DEPTH {
                return Err(too_deep());
            }
            for (key, row) in rows {
                if deletes {
                    self.delete_row_raw(&child, &key, &row);
                    self.fk_on_parent_change(&child, &row, None, depth + 1, updated)?;
                    continue;
                }
                let mut changed = row.clone();
                for (i, &c) in cpos.iter().enumerate() {
                    changed[c] = match (action, new) {
                        (FkAction::Cascade, Some(n)) => n[ppos[i]].clone(),
                        _ => Value::Null,
                    };
                }
                self.fk_check_parents(&child, &changed, Some(&row), Some(&fk.name))?;
                self.update_row_raw(&child, &key, &row, changed.clone())?;
                let mut chain = updated.to_vec();
                chain.push(child.id);
                self.fk_on_parent_change(&child, &row, Some(&changed), depth + 1, &chain)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::test_sql::err_code as err;
    use crate::{Database, Session};

    fn rows(s: &mut Session, sql: &str) -> Vec<String> {
        crate::test_sql::rows_joined(s, sql, ",")
    }

    fn setup(stmts: &[&str]) -> (Database, Session) {
        let db = Database::open_in_memory().expect("open");
        let mut s = db.session();
        for sql in ["CREATE DATABASE d", "USE d"].iter().chain(stmts) {
            s.execute(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
        (db, s)
    }

    #[test]
    fn cascades_stop_at_fifteen_levels_and_the_statement_rolls_back() {
        let (_db, mut s) = setup(&[
            "CREATE TABLE t (id INT PRIMARY KEY, up INT, FOREIGN KEY (up) REFERENCES t (id) ON DELETE CASCADE)",
        ]);
        s.execute("INSERT INTO t VALUES (1, NULL)").unwrap();
        for i in 2..=20 {
            s.execute(&format!("INSERT INTO t VALUES ({i}, {})", i - 1))
                .unwrap();
        }
        assert_eq!(err(&mut s, "DELETE FROM t WHERE id = 1"), 3008);
        assert_eq!(rows(&mut s, "SELECT COUNT(*) FROM t"), ["20"]);
        // Fifteen levels below the deleted row are fine.
        s.execute("DELETE FROM t WHERE id = 5").unwrap();
        assert_eq!(rows(&mut s, "SELECT COUNT(*) FROM t"), ["4"]);
    }

    #[test]
    fn cascaded_changes_fire_no_triggers() {
        let (_db, mut s) = setup(&[
            "CREATE TABLE p (id INT PRIMARY KEY)",
            "CREATE TABLE c (id INT PRIMARY KEY, pid INT, FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE)",
            "CREATE TABLE log (what VARCHAR(20))",
            "CREATE TRIGGER c_del AFTER DELETE ON c FOR EACH ROW INSERT INTO log VALUES ('deleted')",
            "INSERT INTO p VALUES (1), (2)",
            "INSERT INTO c VALUES (1, 1), (2, 2)",
        ]);
        s.execute("DELETE FROM p WHERE id = 1").unwrap();
        assert_eq!(rows(&mut s, "SELECT id FROM c"), ["2"]);
        assert!(rows(&mut s, "SELECT * FROM log").is_empty());
        // A direct delete fires it.
        s.execute("DELETE FROM c").unwrap();
        assert_eq!(rows(&mut s, "SELECT * FROM log"), ["deleted"]);
    }

    #[test]
    fn trigger_bodies_and_upserts_are_checked() {
        let (_db, mut s) = setup(&[
            "CREATE TABLE p (id INT PRIMARY KEY)",
            "CREATE TABLE c (id INT PRIMARY KEY, pid INT, FOREIGN KEY (pid) REFERENCES p (id))",
            "CREATE TABLE src (id INT PRIMARY KEY, pid INT)",
            "CREATE TRIGGER copy AFTER INSERT ON src FOR EACH ROW INSERT INTO c VALUES (NEW.id, NEW.pid)",
            "INSERT INTO p VALUES (1)",
            "INSERT INTO c VALUES (1, 1)",
        ]);
        assert_eq!(err(&mut s, "INSERT INTO src VALUES (5, 9)"), 1452);
        assert!(rows(&mut s, "SELECT * FROM src").is_empty());
        s.execute("INSERT INTO src VALUES (6, 1)").unwrap();
        assert_eq!(
            err(
                &mut s,
                "INSERT INTO c VALUES (1, 1) ON DUPLICATE KEY UPDATE pid = 7"
            ),
            1452
        );
        assert_eq!(
            err(
                &mut s,
                "INSERT INTO p VALUES (1) ON DUPLICATE KEY UPDATE id = 8"
            ),
            1451
        );
        assert_eq!(
            rows(&mut s, "SELECT id, pid FROM c ORDER BY id"),
            ["1,1", "6,1"]
        );
    }

    #[test]
    fn multi_table_update_cascades() {
        let (_db, mut s) = setup(&[
            "CREATE TABLE p (id INT PRIMARY KEY, v INT)",
            "CREATE TABLE c (id INT PRIMARY KEY, pid INT, FOREIGN KEY (pid) REFERENCES p (id) ON UPDATE CASCADE)",
            "CREATE TABLE m (a INT, b INT)",
            "INSERT INTO p VALUES (1, 0), (2, 0)",
            "INSERT INTO c VALUES (10, 1), (20, 2)",
            "INSERT INTO m VALUES (1, 100)",
        ]);
        s.execute("UPDATE p JOIN m ON p.id = m.a SET p.id = m.b")
            .unwrap();
        assert_eq!(
            rows(&mut s, "SELECT id, pid FROM c ORDER BY id"),
            ["10,100", "20,2"]
        );
        assert_eq!(
            err(&mut s, "UPDATE c JOIN m ON c.pid = m.b SET c.pid = 55"),
            1452
        );
    }

    #[test]
    fn composite_keys_on_a_unique_secondary_index() {
        let (_db, mut s) = setup(&[
            "CREATE TABLE p (id INT PRIMARY KEY, a INT, b VARCHAR(5), UNIQUE KEY ab (a, b))",
            "CREATE TABLE c (id INT PRIMARY KEY, a INT, b VARCHAR(5), CONSTRAINT fk FOREIGN KEY (a, b) REFERENCES p (a, b) ON DELETE SET NULL)",
            "INSERT INTO p VALUES (1, 1, 'x'), (2, 2, 'y')",
        ]);
        s.execute("INSERT INTO c VALUES (1, 1, 'X'), (2, 2, NULL), (3, 2, 'y')")
            .unwrap();
        assert_eq!(err(&mut s, "INSERT INTO c VALUES (4, 1, 'y')"), 1452);
        s.execute("DELETE FROM p WHERE id = 1").unwrap();
        assert_eq!(
            rows(&mut s, "SELECT id, a, b FROM c ORDER BY id"),
            ["1,NULL,NULL", "2,2,NULL", "3,2,y"]
        );
        assert_eq!(
            rows(
                &mut s,
                "SELECT unique_constraint_name FROM information_schema.referential_constraints WHERE constraint_name = 'fk'"
            ),
            ["ab"]
        );
    }

    #[test]
    fn renaming_a_referenced_column_keeps_the_key() {
        let (_db, mut s) = setup(&[
            "CREATE TABLE p (id INT PRIMARY KEY)",
            "CREATE TABLE c (id INT PRIMARY KEY, pid INT, FOREIGN KEY (pid) REFERENCES p (id))",
            "INSERT INTO p VALUES (1)",
        ]);
        s.execute("ALTER TABLE p RENAME COLUMN id TO pk").unwrap();
        s.execute("ALTER TABLE c RENAME COLUMN pid TO parent")
            .unwrap();
        let create = rows(&mut s, "SHOW CREATE TABLE c").join("");
        assert!(
            create.contains("FOREIGN KEY (`parent`) REFERENCES `p` (`pk`)"),
            "{create}"
        );
        s.execute("INSERT INTO c VALUES (1, 1)").unwrap();
        assert_eq!(err(&mut s, "INSERT INTO c VALUES (2, 2)"), 1452);
        assert_eq!(err(&mut s, "DELETE FROM p"), 1451);
    }

    #[test]
    fn modifying_a_key_column_to_an_incompatible_type_is_refused() {
        let (_db, mut s) = setup(&[
            "CREATE TABLE p (id INT PRIMARY KEY)",
            "CREATE TABLE c (id INT PRIMARY KEY, pid INT, FOREIGN KEY (pid) REFERENCES p (id))",
        ]);
        assert_eq!(err(&mut s, "ALTER TABLE c MODIFY pid BIGINT"), 3780);
        assert_eq!(err(&mut s, "ALTER TABLE p MODIFY id VARCHAR(10)"), 3780);
        s.execute("ALTER TABLE c MODIFY pid INT NOT NULL").unwrap();
        // With foreign_key_checks off the change goes through.
        s.execute("SET foreign_key_checks = 0").unwrap();
        s.execute("ALTER TABLE c MODIFY pid BIGINT").unwrap();
        // An index a key needs stays needed.
        assert_eq!(err(&mut s, "ALTER TABLE c DROP INDEX pid"), 1553);
    }

    #[test]
    fn a_transaction_deletes_the_parent_it_share_locked() {
        let (_db, mut s) = setup(&[
            "CREATE TABLE p (id INT PRIMARY KEY)",
            "CREATE TABLE c (id INT PRIMARY KEY, pid INT, FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE)",
            "INSERT INTO p VALUES (1), (2)",
        ]);
        for sql in [
            "BEGIN",
            "INSERT INTO c VALUES (1, 1), (2, 2)",
            "DELETE FROM p WHERE id = 1",
            "COMMIT",
        ] {
            s.execute(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
        assert_eq!(rows(&mut s, "SELECT id FROM c"), ["2"]);
        // Deleting parent and child in one statement: the cascade got there first.
        s.execute("DELETE p, c FROM p JOIN c ON c.pid = p.id")
            .unwrap();
        assert!(rows(&mut s, "SELECT * FROM c").is_empty());
        assert!(rows(&mut s, "SELECT * FROM p").is_empty());
    }

    #[test]
    fn a_self_referencing_update_cascade_acts_as_restrict() {
        let (_db, mut s) = setup(&[
            "CREATE TABLE t (id INT PRIMARY KEY, up INT, FOREIGN KEY (up) REFERENCES t (id) ON UPDATE CASCADE ON DELETE SET NULL)",
            "CREATE TABLE other (id INT PRIMARY KEY, tid INT, FOREIGN KEY (tid) REFERENCES t (id) ON UPDATE CASCADE)",
            "INSERT INTO t VALUES (1, NULL), (2, 1), (3, NULL)",
            "INSERT INTO other VALUES (1, 3)",
        ]);
        // InnoDB refuses a cascade that updates a table the statement already updates.
        assert_eq!(err(&mut s, "UPDATE t SET id = 10 WHERE id = 1"), 1451);
        // Another table's rows follow; a row nobody references can change.
        s.execute("UPDATE t SET id = 30 WHERE id = 3").unwrap();
        assert_eq!(rows(&mut s, "SELECT tid FROM other"), ["30"]);
        // ON DELETE SET NULL on the same table is fine (the statement deletes).
        s.execute("DELETE FROM t WHERE id = 1").unwrap();
        assert_eq!(
            rows(&mut s, "SELECT id, up FROM t ORDER BY id"),
            ["2,NULL", "30,NULL"]
        );
    }

    #[test]
    fn a_failing_check_undoes_only_its_statement_cascades_included() {
        let (_db, mut s) = setup(&[
            "CREATE TABLE p (id INT PRIMARY KEY)",
            "CREATE TABLE c (id INT PRIMARY KEY, pid INT, FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE)",
            "CREATE TABLE r (id INT PRIMARY KEY, cid INT, FOREIGN KEY (cid) REFERENCES c (id))",
            "INSERT INTO p VALUES (1), (2)",
            "INSERT INTO c VALUES (10, 1), (11, 1), (20, 2)",
            "INSERT INTO r VALUES (1, 11)",
        ]);
        s.execute("BEGIN").unwrap();
        s.execute("INSERT INTO c VALUES (21, 2)").unwrap();
        assert_eq!(err(&mut s, "INSERT INTO c VALUES (22, 2), (23, 9)"), 1452);
        // Deleting p=1 cascades to c 10 and 11; r still references 11: all undone.
        assert_eq!(err(&mut s, "DELETE FROM p"), 1451);
        s.execute("COMMIT").unwrap();
        assert_eq!(rows(&mut s, "SELECT id FROM p ORDER BY id"), ["1", "2"]);
        assert_eq!(
            rows(&mut s, "SELECT id FROM c ORDER BY id"),
            ["10", "11", "20", "21"]
        );
    }

    #[test]
    fn an_implicit_key_index_goes_when_another_index_can_serve_the_key() {
        let (_db, mut s) = setup(&[
            "CREATE TABLE p (id INT PRIMARY KEY)",
            "CREATE TABLE c (id INT PRIMARY KEY, pid INT, x INT, FOREIGN KEY (pid) REFERENCES p (id))",
            "CREATE TABLE k (id INT PRIMARY KEY, pid INT, KEY mine (pid), FOREIGN KEY (pid) REFERENCES p (id))",
        ]);
        let keys = |s: &mut Session, t: &str| {
            rows(
                s,
                &format!(
                    "SELECT DISTINCT index_name FROM information_schema.statistics \
                     WHERE table_schema = 'd' AND table_name = '{t}' ORDER BY index_name"
                ),
            )
        };
        assert_eq!(keys(&mut s, "c"), ["pid", "PRIMARY"]);
        s.execute("CREATE INDEX px ON c (pid, x)").unwrap();
        assert_eq!(keys(&mut s, "c"), ["PRIMARY", "px"]);
        // The remaining index now carries the key.
        assert_eq!(err(&mut s, "DROP INDEX px ON c"), 1553);
        // A user's own index is never dropped for the key.
        s.execute("CREATE INDEX px2 ON k (pid, id)").unwrap();
        assert_eq!(keys(&mut s, "k"), ["mine", "PRIMARY", "px2"]);
    }
}
