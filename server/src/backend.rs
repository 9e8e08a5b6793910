//! What the protocol layer needs from a database, as two traits, implemented for the
//! engine's `Database`/`Session`. Keeping the seam narrow lets the wire protocol be tested
//! against a scripted fake and keeps engine types out of the connection state machine.
//!
//! Prepared statements are referred to by a backend handle (u64) rather than the engine's
//! type; the connection maps the client's statement id to it.

use std::collections::HashMap;

use borealis_engine::{
    Column, Database, Error, LocalInfile, PreparedStatement, QueryResult, Result, Session,
    SessionInfo, SessionStatus, UserAccount, Value,
};

/// A prepared statement as the protocol reports it in the COM_STMT_PREPARE reply.
#[derive(Clone, Debug)]
pub struct PreparedInfo {
    pub handle: u64,
    pub param_count: usize,
    pub columns: Vec<Column>,
}

/// The database side: accounts, sessions, KILL.
pub trait Backend: Send + Sync + 'static {
    fn lookup_user(&self, user: &str, host: &str) -> Option<UserAccount>;
    fn open_session(&self, info: SessionInfo) -> Box<dyn BackendSession>;
    /// Ask connection `id`'s session to stop its statement (or to close). False: unknown.
    fn kill(&self, connection_id: u32, query_only: bool) -> bool;
}

/// One connection's session.
pub trait BackendSession: Send {
    /// One statement.
    fn execute(&mut self, sql: &str) -> Result<QueryResult>;
    /// A multi-statement text: one result per statement run, stopping after an error.
    fn execute_script(&mut self, sql: &str) -> Vec<Result<QueryResult>>;
    /// [`Self::execute`] where LOAD DATA LOCAL asks `local` (the client) for its file.
    fn execute_with_local(
        &mut self,
        sql: &str,
        local: &mut dyn LocalInfile,
    ) -> Result<QueryResult> {
        let _ = local;
        self.execute(sql)
    }
    /// [`Self::execute_script`] where LOAD DATA LOCAL asks `local` for its file.
    fn execute_script_with_local(
        &mut self,
        sql: &str,
        local: &mut dyn LocalInfile,
    ) -> Vec<Result<QueryResult>> {
        let _ = local;
        self.execute_script(sql)
    }
    fn prepare(&mut self, sql: &str) -> Result<PreparedInfo>;
    fn execute_prepared(&mut self, handle: u64, params: &[Value]) -> Result<QueryResult>;
    fn close_prepared(&mut self, handle: u64);
    fn status(&self) -> SessionStatus;
    fn use_database(&mut self, db: &str) -> Result<()>;
    fn current_database(&self) -> Option<String>;
    fn field_list(&mut self, table: &str, wildcard: &str) -> Result<Vec<Column>>;
    /// COM_RESET_CONNECTION: roll back, drop statements and variables, keep user and db.
    fn reset(&mut self);
}

impl Backend for Database {
    fn lookup_user(&self, user: &str, host: &str) -> Option<UserAccount> {
        Database::lookup_user(self, user, host)
    }

    fn open_session(&self, info: SessionInfo) -> Box<dyn BackendSession> {
        Box::new(EngineSession {
            session: self.session_with(info),
            statements: HashMap::new(),
            next: 1,
        })
    }

    fn kill(&self, connection_id: u32, query_only: bool) -> bool {
        Database::kill(self, connection_id, query_only)
    }
}

struct EngineSession {
    session: Session,
    statements: HashMap<u64, PreparedStatement>,
    next: u64,
}

impl BackendSession for EngineSession {
    fn execute(&mut self, sql: &str) -> Result<QueryResult> {
        self.session.execute(sql)
    }

    fn execute_script(&mut self, sql: &str) -> Vec<Result<QueryResult>> {
        self.session.execute_script(sql)
    }

    fn execute_with_local(
        &mut self,
        sql: &str,
        local: &mut dyn LocalInfile,
    ) -> Result<QueryResult> {
        self.session.execute_with_local(sql, local)
    }

    fn execute_script_with_local(
        &mut self,
        sql: &str,
        local: &mut dyn LocalInfile,
    ) -> Vec<Result<QueryResult>> {
        self.session.execute_script_with_local(sql, local)
    }

    fn prepare(&mut self, sql: &str) -> Result<PreparedInfo> {
        let st = self.session.prepare(sql)?;
        let handle = self.next;
        self.next += 1;
        let info = PreparedInfo {
            handle,
            param_count: st.param_count(),
            columns: st.columns().to_vec(),
        };
        self.statements.insert(handle, st);
        Ok(info)
    }

    fn execute_prepared(&mut self, handle: u64, params: &[Value]) -> Result<QueryResult> {
        let st = self.statements.get(&handle).ok_or_else(|| {
            Error::new(
                borealis_engine::error::code::ER_UNKNOWN_STMT_HANDLER,
                "Unknown prepared statement handler",
            )
        })?;
        self.session.execute_prepared(st, params)
    }

    fn close_prepared(&mut self, handle: u64) {
        self.statements.remove(&handle);
    }

    fn status(&self) -> SessionStatus {
        self.session.status()
    }

    fn use_database(&mut self, db: &str) -> Result<()> {
        self.session.use_database(db)
    }

    fn current_database(&self) -> Option<String> {
        self.session.current_database().map(str::to_string)
    }

    fn field_list(&mut self, table: &str, wildcard: &str) -> Result<Vec<Column>> {
        self.session.field_list(table, wildcard)
    }

    fn reset(&mut self) {
        self.statements.clear();
        self.session.reset();
    }
}
