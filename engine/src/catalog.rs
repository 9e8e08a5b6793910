//! Schema objects (databases, tables, columns, indexes, views, triggers, users) and their encoding
//! in the system tree, so DDL is durable and replicated by the same log as data.
//!
//! The in-memory [`Catalog`] is an immutable snapshot: DDL builds a new one and swaps it
//! in after its catalog records commit. Names of databases and tables are looked up
//! case-insensitively (as with lower_case_table_names=1); columns too, as in MySQL.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::collation::Collation;
use crate::error::{code, Error, Result};
use crate::result::{charset, flags, Column, ColumnType};
use crate::value::Value;

/// A column's declared SQL type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SqlType {
    TinyInt,
    SmallInt,
    MediumInt,
    Int,
    BigInt,
    Decimal(u8, u8),
    Float,
    Double,
    Bit(u8),
    Char(u32),
    VarChar(u32),
    /// TINYTEXT(255) TEXT(65535) MEDIUMTEXT LONGTEXT: the byte limit.
    Text(u32),
    Binary(u32),
    VarBinary(u32),
    Blob(u32),
    Enum(Vec<String>),
    Set(Vec<String>),
    Date,
    DateTime(u8),
    Timestamp(u8),
    Time(u8),
    Year,
    Json,
}

impl SqlType {
    pub fn is_integer(&self) -> bool {
        matches!(
            self,
            SqlType::TinyInt
                | SqlType::SmallInt
                | SqlType::MediumInt
                | SqlType::Int
                | SqlType::BigInt
        )
    }

    pub fn is_string(&self) -> bool {
        matches!(
            self,
            SqlType::Char(_)
                | SqlType::VarChar(_)
                | SqlType::Text(_)
                | SqlType::Enum(_)
                | SqlType::Set(_)
                | SqlType::Json
        )
    }

    pub fn is_binary(&self) -> bool {
        matches!(
            self,
            SqlType::Binary(_) | SqlType::VarBinary(_) | SqlType::Blob(_) | SqlType::Bit(_)
        )
    }

    /// Integer range for integer types (signed or unsigned).
    pub fn int_range(&self, unsigned: bool) -> Option<(i128, i128)> {
        let bits = match self {
            SqlType::TinyInt => 8,
            SqlType::SmallInt => 16,
            SqlType::MediumInt => 24,
            SqlType::Int => 32,
            SqlType::BigInt => 64,
            SqlType::Year => return Some((0, 2155)),
            _ => return None,
        };
        Some(if unsigned {
            (0, (1i128 << bits) - 1)
        } else {
            (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
        })
    }

    /// The type as SHOW CREATE TABLE / DESCRIBE print it.
    pub fn sql_name(&self, unsigned: bool) -> String {
        let u = if unsigned { " unsigned" } else { "" };
        match self {
            SqlType::TinyInt => format!("tinyint{u}"),
            SqlType::SmallInt => format!("smallint{u}"),
            SqlType::MediumInt => format!("mediumint{u}"),
            SqlType::Int => format!("int{u}"),
            SqlType::BigInt => format!("bigint{u}"),
            SqlType::Decimal(p, s) => format!("decimal({p},{s}){u}"),
            SqlType::Float => format!("float{u}"),
            SqlType::Double => format!("double{u}"),
            SqlType::Bit(n) => format!("bit({n})"),
            SqlType::Char(n) => format!("char({n})"),
            SqlType::VarChar(n) => format!("varchar({n})"),
            SqlType::Text(n) => match n {
                255 => "tinytext".into(),
                65535 => "text".into(),
                16777215 => "mediumtext".into(),
                _ => "longtext".into(),
            },
            SqlType::Binary(n) => format!("binary({n})"),
            SqlType::VarBinary(n) => format!("varbinary({n})"),
            SqlType::Blob(n) => match n {
                255 => "tinyblob".into(),
                65535 => "blob".into(),
                16777215 => "mediumblob".into(),
                _ => "longblob".into(),
            },
            SqlType::Enum(v) => format!("enum({})", quote_list(v)),
            SqlType::Set(v) => format!("set({})", quote_list(v)),
            SqlType::Date => "date".into(),
            SqlType::DateTime(0) => "datetime".into(),
            SqlType::DateTime(f) => format!("datetime({f})"),
            SqlType::Timestamp(0) => "timestamp".into(),
            SqlType::Timestamp(f) => format!("timestamp({f})"),
            SqlType::Time(0) => "time".into(),
            SqlType::Time(f) => format!("time({f})"),
            SqlType::Year => "year".into(),
            SqlType::Json => "json".into(),
        }
    }

    /// Protocol type code, display length and decimals for result metadata.
    pub fn wire(&self) -> (ColumnType, u32, u8) {
        match self {
            SqlType::TinyInt => (ColumnType::Tiny, 4, 0),
            SqlType::SmallInt => (ColumnType::Short, 6, 0),
            SqlType::MediumInt => (ColumnType::Int24, 9, 0),
            SqlType::Int => (ColumnType::Long, 11, 0),
            SqlType::BigInt => (ColumnType::LongLong, 20, 0),
            SqlType::Decimal(p, s) => (ColumnType::NewDecimal, *p as u32 + 2, *s),
            SqlType::Float => (ColumnType::Float, 12, 31),
            SqlType::Double => (ColumnType::Double, 22, 31),
            SqlType::Bit(n) => (ColumnType::Bit, *n as u32, 0),
            SqlType::Char(n) => (ColumnType::String, n * 4, 0),
            SqlType::VarChar(n) => (ColumnType::VarString, n * 4, 0),
            SqlType::Text(n) => (ColumnType::Blob, *n, 0),
            SqlType::Binary(n) => (ColumnType::String, *n, 0),
            SqlType::VarBinary(n) => (ColumnType::VarString, *n, 0),
            SqlType::Blob(n) => (ColumnType::Blob, *n, 0),
            SqlType::Enum(_) => (ColumnType::String, 4, 0),
            SqlType::Set(_) => (ColumnType::String, 4, 0),
            SqlType::Date => (ColumnType::Date, 10, 0),
            SqlType::DateTime(f) => (
                ColumnType::DateTime,
                19 + if *f > 0 { *f as u32 + 1 } else { 0 },
                *f,
            ),
            SqlType::Timestamp(f) => (
                ColumnType::Timestamp,
                19 + if *f > 0 { *f as u32 + 1 } else { 0 },
                *f,
            ),
            SqlType::Time(f) => (
                ColumnType::Time,
                10 + if *f > 0 { *f as u32 + 1 } else { 0 },
                *f,
            ),
            SqlType::Year => (ColumnType::Year, 4, 0),
            SqlType::Json => (ColumnType::Json, u32::MAX, 0),
        }
    }
}

fn quote_list(v: &[String]) -> String {
    v.iter()
        .map(|s| format!("'{}'", s.replace('\'', "''")))
        .collect::<Vec<_>>()
        .join(",")
}

/// A column default.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum DefaultValue {
    /// A constant, stored in the row encoding of one value.
    Const(Vec<u8>),
    /// CURRENT_TIMESTAMP / NOW().
    CurrentTimestamp,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ColumnDef {
    pub name: String,
    pub ty: SqlType,
    pub unsigned: bool,
    pub nullable: bool,
    pub default: Option<DefaultValue>,
    pub auto_increment: bool,
    pub on_update_now: bool,
    /// The collation of a text column (ignored for other types); absent in records
    /// written before collations were kept: those were the default.
    #[serde(default)]
    pub collation: Collation,
    pub comment: String,
}

impl ColumnDef {
    /// How this column's values compare, sort and are keyed: binary strings by bytes,
    /// text by the column's collation (numbers and temporals ignore it).
    pub fn collation(&self) -> Collation {
        if self.ty.is_binary() {
            Collation::BINARY
        } else {
            self.collation
        }
    }

    pub fn default_value(&self) -> Option<Value> {
        match &self.default {
            Some(DefaultValue::Const(b)) => {
                crate::row::decode_row(b).ok().and_then(|mut r| r.pop())
            }
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IndexDef {
    pub name: String,
    pub columns: Vec<usize>,
    pub unique: bool,
    /// Root page of the index tree.
    pub root: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TableDef {
    pub id: u64,
    pub db: String,
    pub name: String,
    pub columns: Vec<ColumnDef>,
    /// Primary key columns; empty means a hidden row id is the clustered key.
    pub primary: Vec<usize>,
    pub indexes: Vec<IndexDef>,
    /// Root page of the clustered tree.
    pub root: u64,
    pub comment: String,
    /// AUTO_INCREMENT= table option (the first value), if given.
    pub auto_increment_start: u64,
    /// FOREIGN KEY constraints of this (child) table, in definition order. Absent from
    /// records written before constraints existed, hence the serde default.
    #[serde(default)]
    pub foreign_keys: Vec<ForeignKeyDef>,
    /// CHECK constraints, kept ordered by name (as MySQL 8 lists them).
    #[serde(default)]
    pub checks: Vec<CheckDef>,
    /// Names of the indexes created implicitly for a foreign key. MySQL drops such an
    /// index silently once another index can serve the key.
    #[serde(default)]
    pub fk_generated_indexes: Vec<String>,
}

/// A referential action (ON DELETE / ON UPDATE). `Unspecified` behaves as NO ACTION
/// (which InnoDB checks immediately, like RESTRICT) but is not printed by SHOW CREATE
/// TABLE, as MySQL 8 keeps the difference.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FkAction {
    Unspecified,
    Restrict,
    NoAction,
    Cascade,
    SetNull,
}

impl FkAction {
    /// The rule name information_schema.REFERENTIAL_CONSTRAINTS shows.
    pub fn rule(self) -> &'static str {
        match self {
            FkAction::Unspecified | FkAction::NoAction => "NO ACTION",
            FkAction::Restrict => "RESTRICT",
            FkAction::Cascade => "CASCADE",
            FkAction::SetNull => "SET NULL",
        }
    }

    /// Whether the action changes child rows (otherwise the parent change is refused
    /// while children exist).
    pub fn acts(self) -> bool {
        matches!(self, FkAction::Cascade | FkAction::SetNull)
    }
}

/// A FOREIGN KEY constraint. Columns are kept by name (not position) so the definition
/// survives column moves in either table; ALTER/RENAME keep the names current.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForeignKeyDef {
    /// Unique per database (generated: `<table>_ibfk_<n>`).
    pub name: String,
    pub columns: Vec<String>,
    pub ref_db: String,
    pub ref_table: String,
    pub ref_columns: Vec<String>,
    pub on_delete: FkAction,
    pub on_update: FkAction,
}

impl ForeignKeyDef {
    /// Child column positions in `t` (the child table).
    pub fn column_positions(&self, t: &TableDef) -> Option<Vec<usize>> {
        self.columns.iter().map(|c| t.column_index(c)).collect()
    }

    /// The clause as SHOW CREATE TABLE prints it (`in_message`: as the 1451/1452
    /// messages do); the parent's database is named only when it differs from the
    /// child's. SHOW CREATE TABLE omits NO ACTION (explicit or not) and prints RESTRICT;
    /// InnoDB's messages name only CASCADE and SET NULL.
    pub fn describe(&self, child_db: &str, in_message: bool) -> String {
        let q = |v: &[String]| {
            v.iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let parent = if self.ref_db.eq_ignore_ascii_case(child_db) {
            format!("`{}`", self.ref_table)
        } else {
            format!("`{}`.`{}`", self.ref_db, self.ref_table)
        };
        let mut s = format!(
            "CONSTRAINT `{}` FOREIGN KEY ({}) REFERENCES {} ({})",
            self.name,
            q(&self.columns),
            parent,
            q(&self.ref_columns)
        );
        for (word, a) in [("DELETE", self.on_delete), ("UPDATE", self.on_update)] {
            let shown = match a {
                FkAction::Unspecified | FkAction::NoAction => false,
                FkAction::Restrict => !in_message,
                FkAction::Cascade | FkAction::SetNull => true,
            };
            if shown {
                s.push_str(&format!(" ON {word} {}", a.rule()));
            }
        }
        s
    }

    pub fn references(&self, db: &str, table: &str) -> bool {
        self.ref_db.eq_ignore_ascii_case(db) && self.ref_table.eq_ignore_ascii_case(table)
    }
}

/// A CHECK constraint: `expr` is the normalized expression text MySQL shows in
/// information_schema.CHECK_CONSTRAINTS (e.g. "(`a` > 0)").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckDef {
    /// Unique per database (generated: `<table>_chk_<n>`).
    pub name: String,
    pub expr: String,
    /// The expression as written (what is parsed and bound to evaluate it).
    pub source: String,
    pub enforced: bool,
}

impl TableDef {
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| c.name.eq_ignore_ascii_case(name))
    }

    pub fn auto_increment_column(&self) -> Option<usize> {
        self.columns.iter().position(|c| c.auto_increment)
    }

    pub fn pk_collations(&self) -> Vec<Collation> {
        self.primary
            .iter()
            .map(|&i| self.columns[i].collation())
            .collect()
    }

    /// Result metadata for column `i` of this table as seen through `alias`.
    pub fn result_column(&self, i: usize, alias: &str) -> Column {
        let c = &self.columns[i];
        let (ty, length, decimals) = c.ty.wire();
        let mut f = 0u16;
        if !c.nullable {
            f |= flags::NOT_NULL;
        }
        if self.primary.contains(&i) {
            f |= flags::PRI_KEY;
        }
        if self
            .indexes
            .iter()
            .any(|ix| ix.unique && ix.columns.first() == Some(&i))
        {
            f |= flags::UNIQUE_KEY;
        }
        if self
            .indexes
            .iter()
            .any(|ix| !ix.unique && ix.columns.first() == Some(&i))
        {
            f |= flags::MULTIPLE_KEY;
        }
        if c.unsigned {
            f |= flags::UNSIGNED;
        }
        if c.auto_increment {
            f |= flags::AUTO_INCREMENT;
        }
        if matches!(c.ty, SqlType::Text(_) | SqlType::Blob(_) | SqlType::Json) {
            f |= flags::BLOB;
        }
        if c.ty.is_integer()
            || matches!(
                c.ty,
                SqlType::Decimal(..) | SqlType::Float | SqlType::Double | SqlType::Year
            )
        {
            f |= flags::NUM;
        }
        if matches!(c.ty, SqlType::Enum(_)) {
            f |= flags::ENUM;
        }
        if matches!(c.ty, SqlType::Set(_)) {
            f |= flags::SET;
        }
        let cs = if c.ty.is_string() && !matches!(c.ty, SqlType::Json) {
            charset::UTF8MB4_GENERAL_CI
        } else {
            f |= flags::BINARY;
            charset::BINARY
        };
        Column {
            name: c.name.clone(),
            org_name: c.name.clone(),
            table: alias.to_string(),
            org_table: self.name.clone(),
            schema: self.db.clone(),
            ty,
            length,
            decimals,
            flags: f,
            charset: if matches!(c.ty, SqlType::Json) {
                charset::UTF8MB4_GENERAL_CI
            } else {
                cs
            },
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ViewDef {
    pub db: String,
    pub name: String,
    /// The SELECT text.
    pub query: String,
    /// Explicit column names, if given.
    pub columns: Vec<String>,
}

/// When a trigger runs relative to the row change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TriggerTiming {
    Before,
    After,
}

/// The row change that fires a trigger.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TriggerEvent {
    Insert,
    Update,
    Delete,
}

/// A `FOR EACH ROW` trigger. Names are unique per database; a trigger belongs to one
/// table of its own database and is dropped with it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TriggerDef {
    pub db: String,
    pub name: String,
    pub table: String,
    pub timing: TriggerTiming,
    pub event: TriggerEvent,
    /// Position among the table's triggers of the same timing and event (1-based, as
    /// information_schema.TRIGGERS.ACTION_ORDER).
    pub order: u32,
    /// The trigger body text (one statement or BEGIN ... END).
    pub body: String,
    /// The CREATE TRIGGER statement as given (SHOW CREATE TRIGGER).
    pub statement: String,
    /// Creation time, "YYYY-MM-DD hh:mm:ss.ff".
    pub created: String,
    pub sql_mode: String,
    pub definer: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DbDef {
    pub name: String,
}

/// A privilege grant: on `db`.`table` ("*" for all), the privileges named.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Grant {
    pub db: String,
    pub table: String,
    pub privileges: Vec<String>,
    pub with_grant: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UserDef {
    pub user: String,
    pub host: String,
    pub plugin: String,
    pub native_hash: Option<Vec<u8>>,
    pub sha2_hash: Option<Vec<u8>>,
    pub grants: Vec<Grant>,
}

/// One immutable catalog snapshot.
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    pub dbs: BTreeMap<String, DbDef>,
    /// (db lower, table lower) -> table
    pub tables: BTreeMap<(String, String), Arc<TableDef>>,
    pub views: BTreeMap<(String, String), Arc<ViewDef>>,
    /// (db lower, trigger lower) -> trigger
    pub triggers: BTreeMap<(String, String), Arc<TriggerDef>>,
    /// (user, host lower)
    pub users: BTreeMap<(String, String), UserDef>,
    pub next_table_id: u64,
    /// Bumped by each DDL on the writer; in memory only (a loaded catalog starts at 0).
    /// Statements note the version they bind against; DDL fences the trees of the tables
    /// it changes with its version (`TxnManager::fence`).
    pub version: u64,
}

pub fn lc(s: &str) -> String {
    s.to_lowercase()
}

impl Catalog {
    /// Trees (clustered and secondary) of the tables whose definitions differ between
    /// `old` and `new` (a DDL replaces the `Arc` of each table it changes), in either.
    pub fn changed_trees(old: &Catalog, new: &Catalog) -> Vec<u64> {
        let mut out = Vec::new();
        let mut add = |t: &TableDef| {
            out.push(t.root);
            out.extend(t.indexes.iter().map(|i| i.root));
        };
        for (k, t) in &old.tables {
            if !new.tables.get(k).is_some_and(|n| Arc::ptr_eq(n, t)) {
                add(t);
            }
        }
        for (k, t) in &new.tables {
            if !old.tables.get(k).is_some_and(|o| Arc::ptr_eq(o, t)) {
                add(t);
            }
        }
        out
    }

    /// Write table `t`'s catalog record into a DDL's batch `w` (the system tree is
    /// `system`) and make `t` this catalog's definition of its name. The record and the
    /// in-memory definition only ever change together.
    pub fn save_table(
        &mut self,
        w: &mut dyn crate::store::TreeWrite,
        system: crate::store::TreeId,
        t: TableDef,
    ) -> Result<()> {
        w.put(system, &keys::table(&t.db, &t.name), &to_record(&t))?;
        self.tables.insert((lc(&t.db), lc(&t.name)), Arc::new(t));
        Ok(())
    }

    pub fn db_exists(&self, db: &str) -> bool {
        self.dbs.contains_key(&lc(db))
    }

    pub fn table(&self, db: &str, name: &str) -> Option<&Arc<TableDef>> {
        self.tables.get(&(lc(db), lc(name)))
    }

    pub fn view(&self, db: &str, name: &str) -> Option<&Arc<ViewDef>> {
        self.views.get(&(lc(db), lc(name)))
    }

    pub fn get_table(&self, db: &str, name: &str) -> Result<&Arc<TableDef>> {
        if !self.db_exists(db) {
            return Err(Error::new(
                code::ER_BAD_DB,
                format!("Unknown database '{db}'"),
            ));
        }
        self.table(db, name)
            .ok_or_else(|| Error::no_such_table(db, name))
    }

    pub fn tables_in(&self, db: &str) -> Vec<&Arc<TableDef>> {
        let d = lc(db);
        self.tables
            .range((d.clone(), String::new())..)
            .take_while(|((x, _), _)| *x == d)
            .map(|(_, t)| t)
            .collect()
    }

    pub fn views_in(&self, db: &str) -> Vec<&Arc<ViewDef>> {
        let d = lc(db);
        self.views
            .range((d.clone(), String::new())..)
            .take_while(|((x, _), _)| *x == d)
            .map(|(_, t)| t)
            .collect()
    }

    /// Foreign keys that reference `db`.`table` (a self-reference included), with the
    /// child table that holds each.
    pub fn referencing(&self, db: &str, table: &str) -> Vec<(Arc<TableDef>, ForeignKeyDef)> {
        let mut out = Vec::new();
        for t in self.tables.values() {
            for fk in &t.foreign_keys {
                if fk.references(db, table) {
                    out.push((t.clone(), fk.clone()));
                }
            }
        }
        out
    }

    /// Whether any foreign key references `db`.`table` (the cheap test the row-write
    /// paths make before looking for children).
    pub fn is_referenced(&self, db: &str, table: &str) -> bool {
        self.tables
            .values()
            .any(|t| t.foreign_keys.iter().any(|f| f.references(db, table)))
    }

    /// Whether a foreign key named `name` exists in database `db` (FK names, like CHECK
    /// names, are unique per database in MySQL 8).
    pub fn fk_name_taken(&self, db: &str, name: &str) -> bool {
        self.tables_in(db).iter().any(|t| {
            t.foreign_keys
                .iter()
                .any(|f| f.name.eq_ignore_ascii_case(name))
        })
    }

    pub fn check_name_taken(&self, db: &str, name: &str) -> bool {
        self.tables_in(db)
            .iter()
            .any(|t| t.checks.iter().any(|c| c.name.eq_ignore_ascii_case(name)))
    }

    pub fn trigger(&self, db: &str, name: &str) -> Option<&Arc<TriggerDef>> {
        self.triggers.get(&(lc(db), lc(name)))
    }

    /// Triggers of database `db`, by name.
    pub fn triggers_in(&self, db: &str) -> Vec<&Arc<TriggerDef>> {
        let d = lc(db);
        self.triggers
            .range((d.clone(), String::new())..)
            .take_while(|((x, _), _)| *x == d)
            .map(|(_, t)| t)
            .collect()
    }

    /// Triggers on table `db`.`table`, in firing order within each (timing, event).
    pub fn triggers_on(&self, db: &str, table: &str) -> Vec<&Arc<TriggerDef>> {
        let mut v: Vec<&Arc<TriggerDef>> = self
            .triggers_in(db)
            .into_iter()
            .filter(|t| t.table.eq_ignore_ascii_case(table))
            .collect();
        v.sort_by_key(|t| (t.event as u8, t.timing as u8, t.order));
        v
    }

    /// The triggers that fire for one (timing, event) on a table, in order.
    pub fn triggers_for(
        &self,
        db: &str,
        table: &str,
        timing: TriggerTiming,
        event: TriggerEvent,
    ) -> Vec<Arc<TriggerDef>> {
        if self.triggers.is_empty() {
            return Vec::new();
        }
        self.triggers_on(db, table)
            .into_iter()
            .filter(|t| t.timing == timing && t.event == event)
            .cloned()
            .collect()
    }

    /// Find the user account that matches `user` connecting from `host` (exact host
    /// first, then '%').
    pub fn find_user(&self, user: &str, host: &str) -> Option<&UserDef> {
        self.users
            .get(&(user.to_string(), lc(host)))
            .or_else(|| {
                if host == "127.0.0.1" || host == "::1" {
                    self.users.get(&(user.to_string(), "localhost".into()))
                } else {
                    None
                }
            })
            .or_else(|| self.users.get(&(user.to_string(), "%".into())))
    }
}

/// Keys of catalog records in the system tree.
pub mod keys {
    use super::lc;
    pub fn db(name: &str) -> Vec<u8> {
        format!("d\0{}", lc(name)).into_bytes()
    }
    pub fn table(db: &str, name: &str) -> Vec<u8> {
        format!("t\0{}\0{}", lc(db), lc(name)).into_bytes()
    }
    pub fn view(db: &str, name: &str) -> Vec<u8> {
        format!("v\0{}\0{}", lc(db), lc(name)).into_bytes()
    }
    pub fn trigger(db: &str, name: &str) -> Vec<u8> {
        format!("g\0{}\0{}", lc(db), lc(name)).into_bytes()
    }
    pub fn user(user: &str, host: &str) -> Vec<u8> {
        format!("u\0{}\0{}", user, lc(host)).into_bytes()
    }
    pub const NEXT_TABLE_ID: &[u8] = b"n\0table_id";
}

/// Serialize a catalog record.
pub fn to_record<T: Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).expect("catalog records serialize")
}

/// Deserialize a catalog record read from the volume.
pub fn from_record<T: for<'de> Deserialize<'de>>(b: &[u8]) -> Result<T> {
    serde_json::from_slice(b).map_err(|e| Error::internal(format!("corrupted catalog record: {e}")))
}

/// Rebuild a catalog from the records of the system tree.
pub fn load(records: Vec<(Vec<u8>, Vec<u8>)>) -> Result<Catalog> {
    let mut c = Catalog::default();
    for (k, v) in records {
        match k.first() {
            Some(b'd') => {
                let d: DbDef = from_record(&v)?;
                c.dbs.insert(lc(&d.name), d);
            }
            Some(b't') => {
                let t: TableDef = from_record(&v)?;
                c.tables.insert((lc(&t.db), lc(&t.name)), Arc::new(t));
            }
            Some(b'v') => {
                let t: ViewDef = from_record(&v)?;
                c.views.insert((lc(&t.db), lc(&t.name)), Arc::new(t));
            }
            Some(b'g') => {
                let t: TriggerDef = from_record(&v)?;
                c.triggers.insert((lc(&t.db), lc(&t.name)), Arc::new(t));
            }
            Some(b'u') => {
                let u: UserDef = from_record(&v)?;
                c.users.insert((u.user.clone(), lc(&u.host)), u);
            }
            Some(b'n') => {
                c.next_table_id = from_record(&v)?;
            }
            _ => return Err(Error::internal("corrupted catalog key")),
        }
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> TableDef {
        TableDef {
            id: 7,
            db: "d".into(),
            name: "child".into(),
            columns: Vec::new(),
            primary: Vec::new(),
            indexes: Vec::new(),
            root: 3,
            comment: String::new(),
            auto_increment_start: 1,
            foreign_keys: vec![ForeignKeyDef {
                name: "child_ibfk_1".into(),
                columns: vec!["pid".into()],
                ref_db: "d".into(),
                ref_table: "parent".into(),
                ref_columns: vec!["id".into()],
                on_delete: FkAction::Cascade,
                on_update: FkAction::Unspecified,
            }],
            checks: vec![CheckDef {
                name: "child_chk_1".into(),
                expr: "(`pid` > 0)".into(),
                source: "pid > 0".into(),
                enforced: true,
            }],
            fk_generated_indexes: Vec::new(),
        }
    }

    #[test]
    fn constraints_round_trip_through_the_record() {
        let t = table();
        let back: TableDef = from_record(&to_record(&t)).expect("decodes");
        assert_eq!(back, t);
    }

    #[test]
    fn records_written_before_constraints_still_load() {
        let mut v: serde_json::Value = serde_json::from_slice(&to_record(&table())).unwrap();
        let o = v.as_object_mut().unwrap();
        o.remove("foreign_keys");
        o.remove("checks");
        let old = serde_json::to_vec(&v).unwrap();
        let t: TableDef = from_record(&old).expect("old record decodes");
        assert!(t.foreign_keys.is_empty() && t.checks.is_empty());
        assert_eq!(t.name, "child");
    }

    #[test]
    fn the_clause_names_the_parent_database_only_when_it_differs() {
        let t = table();
        let fk = &t.foreign_keys[0];
        assert_eq!(
            fk.describe("d", true),
            "CONSTRAINT `child_ibfk_1` FOREIGN KEY (`pid`) REFERENCES `parent` (`id`) ON DELETE CASCADE"
        );
        assert!(fk
            .describe("other", false)
            .contains("REFERENCES `d`.`parent` (`id`)"));
        let mut c = Catalog::default();
        c.tables.insert(("d".into(), "child".into()), Arc::new(t));
        assert_eq!(c.referencing("D", "Parent").len(), 1);
        assert!(c.referencing("d", "child").is_empty());
        assert!(c.fk_name_taken("d", "CHILD_IBFK_1"));
    }
}
