//! A session: one client's state (current database, transaction, variables,
//! prepared statements) and the entry point that runs SQL.

use std::sync::Arc;

use crate::database::Database;
use crate::error::{Error, Result};
use crate::result::{Column, QueryResult};
use crate::value::Value;

/// Who the session belongs to.
#[derive(Clone, Debug)]
pub struct SessionInfo {
    pub connection_id: u32,
    pub user: String,
    pub host: String,
    pub database: Option<String>,
}

impl Default for SessionInfo {
    fn default() -> Self {
        SessionInfo {
            connection_id: 0,
            user: "root".into(),
            host: "localhost".into(),
            database: None,
        }
    }
}

/// Flags the server puts in every OK/EOF packet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SessionStatus {
    pub autocommit: bool,
    pub in_transaction: bool,
    pub warnings: u16,
    /// The current database changed during the last statement (session tracking).
    pub database_changed: bool,
}

/// A statement prepared once and executed many times.
#[derive(Clone, Debug)]
pub struct PreparedStatement {
    pub(crate) inner: Arc<()>,
    param_count: usize,
    columns: Vec<Column>,
}

impl PreparedStatement {
    pub fn param_count(&self) -> usize {
        self.param_count
    }
    /// Result columns (empty when the statement returns no result set).
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }
}

/// One client's session. Not shared between threads; create one per connection.
pub struct Session {
    db: Database,
    info: SessionInfo,
}

impl Session {
    pub(crate) fn new(db: Database, info: SessionInfo) -> Session {
        Session { db, info }
    }

    pub fn database(&self) -> &Database {
        &self.db
    }

    pub fn info(&self) -> &SessionInfo {
        &self.info
    }

    /// Run one SQL statement.
    pub fn execute(&mut self, sql: &str) -> Result<QueryResult> {
        Err(Error::unsupported(sql))
    }

    /// Run every statement in `sql` (a multi-statement text), stopping after the first
    /// error. One result per statement run.
    pub fn execute_script(&mut self, sql: &str) -> Vec<Result<QueryResult>> {
        vec![self.execute(sql)]
    }

    /// Run one statement with `?` placeholders bound to `params`.
    pub fn query(&mut self, sql: &str, params: &[Value]) -> Result<QueryResult> {
        let st = self.prepare(sql)?;
        self.execute_prepared(&st, params)
    }

    /// Parse and plan a statement once.
    pub fn prepare(&mut self, sql: &str) -> Result<PreparedStatement> {
        Err(Error::unsupported(sql))
    }

    pub fn execute_prepared(
        &mut self,
        _stmt: &PreparedStatement,
        _params: &[Value],
    ) -> Result<QueryResult> {
        Err(Error::unsupported("prepared statements"))
    }

    /// COM_INIT_DB.
    pub fn use_database(&mut self, db: &str) -> Result<()> {
        self.execute(&format!("USE `{}`", db.replace('`', "``")))
            .map(|_| ())
    }

    pub fn current_database(&self) -> Option<&str> {
        self.info.database.as_deref()
    }

    pub fn status(&self) -> SessionStatus {
        SessionStatus {
            autocommit: true,
            ..Default::default()
        }
    }

    /// COM_FIELD_LIST: the columns of `table` (optionally filtered by a LIKE wildcard).
    pub fn field_list(&mut self, table: &str, _wildcard: &str) -> Result<Vec<Column>> {
        Err(Error::unsupported(table))
    }

    /// COM_RESET_CONNECTION: roll back, drop prepared statements and user variables,
    /// reset session variables; keep the user and current database.
    pub fn reset(&mut self) {}
}
