//! A session: one client's state (current database, transaction, variables, prepared
//! statements) and the entry point that runs SQL.
//!
//! A statement's path: text -> `parse::split_statements` -> `parse::parse_one`
//! (sqlparser, MySQL dialect) -> dispatch here -> `bind::Binder` builds a `Plan` ->
//! `exec::Exec` runs it inside the session's transaction (`txn::Txn`): reads through
//! the snapshot, writes into the private write set -> COMMIT (explicit, or at the end of
//! an autocommit statement) applies the write set to the trees as one mini-transaction
//! on the volume and waits until the volume reports it durable.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlparser::ast::{self, Statement};

use crate::database::{read_only_error, Database, ProcessInfo};
use crate::error::{code, Error, Result};
use crate::result::{Column, ColumnType, QueryResult, Row};
use crate::sql::bind::{ident_names, Binder};
use crate::sql::exec::Exec;
use crate::sql::load_data::{self, LocalInfile};
use crate::sql::parse;
use crate::sql::session_state::{parse_isolation, SessState};
use crate::sql::{accounts, ddl, dml, explain, show_stmt};
use crate::txn::{Isolation, Txn};
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

#[derive(Debug)]
pub(crate) struct Prepared {
    pub stmt: Statement,
    pub text: String,
}

/// A statement prepared once and executed many times.
#[derive(Clone, Debug)]
pub struct PreparedStatement {
    pub(crate) inner: Arc<Prepared>,
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
    pub fn sql(&self) -> &str {
        &self.inner.text
    }
}

/// Bound SELECTs kept per session, keyed by statement text (a prepared statement's text
/// has `?` parameters, so one plan serves every execution). Valid while the catalog
/// snapshot and the current database are the ones it was bound with.
struct CachedPlan {
    catalog: Arc<crate::catalog::Catalog>,
    db: Option<String>,
    /// Bound under ONLY_FULL_GROUP_BY (a query valid without it may not be with it).
    only_full_group_by: bool,
    query: Arc<crate::sql::plan::BoundQuery>,
}

const PLAN_CACHE_SIZE: usize = 256;

/// What a statement's table-privilege check passed against (see `Session::priv_checked`).
struct PrivChecked {
    catalog: Arc<crate::catalog::Catalog>,
    db: Option<String>,
    privilege: &'static str,
}

/// Plans holding rows computed at bind time (information_schema) must be rebound.
fn plan_is_cacheable(p: &crate::sql::plan::Plan) -> bool {
    !p.holds_materialized_rows()
}

/// One client's session. Not shared between threads; create one per connection.
pub struct Session {
    /// Keyed by statement text, hashed with foldhash: looked up on every execution.
    plan_cache: HashMap<String, CachedPlan, foldhash::fast::RandomState>,
    /// Statement texts whose table privileges were checked, and against what: a hit with
    /// the same catalog (accounts and grants live in it), current database and privilege
    /// skips walking the syntax tree again (prepared statements re-run the same text).
    priv_checked: HashMap<String, PrivChecked, foldhash::fast::RandomState>,
    db: Database,
    info: SessionInfo,
    pub(crate) state: SessState,
    txn: Option<Txn>,
    /// The open transaction was started by BEGIN / START TRANSACTION.
    explicit: bool,
    kill_query: Arc<AtomicBool>,
    kill_conn: Arc<AtomicBool>,
    /// This session's entry in the process list (also in `Shared::sessions`).
    process: Arc<parking_lot::Mutex<ProcessInfo>>,
    database_changed: bool,
    sql_prepared: HashMap<String, PreparedStatement>,
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Some(mut t) = self.txn.take() {
            self.db.shared.mgr.rollback(&mut t);
        }
        self.db
            .shared
            .sessions
            .lock()
            .remove(&self.info.connection_id);
    }
}

impl Session {
    pub(crate) fn new(db: Database, mut info: SessionInfo) -> Session {
        if info.connection_id == 0 {
            info.connection_id = db.next_connection_id();
        }
        let mut state = SessState::new(db.shared.globals.clone());
        state.connection_id = info.connection_id;
        state.user = info.user.clone();
        state.host = info.host.clone();
        state.read_only_instance = db.shared.read_only;
        if let Some(u) = db.shared.catalog().find_user(&info.user, &info.host) {
            state.account_host = u.host.clone();
        }
        let kill_query = Arc::new(AtomicBool::new(false));
        let kill_conn = Arc::new(AtomicBool::new(false));
        let process = Arc::new(parking_lot::Mutex::new(ProcessInfo {
            id: info.connection_id,
            user: info.user.clone(),
            host: info.host.clone(),
            db: None,
            command: "Sleep".into(),
            started: Instant::now(),
            info: None,
            kill_query: kill_query.clone(),
            kill_conn: kill_conn.clone(),
        }));
        db.shared
            .sessions
            .lock()
            .insert(info.connection_id, process.clone());
        let mut s = Session {
            db,
            info: info.clone(),
            state,
            txn: None,
            explicit: false,
            kill_query,
            kill_conn,
            process,
            database_changed: false,
            sql_prepared: HashMap::new(),
            plan_cache: HashMap::default(),
            priv_checked: HashMap::default(),
        };
        if let Some(d) = &info.database {
            let _ = s.use_database(d);
        }
        s
    }

    pub fn database(&self) -> &Database {
        &self.db
    }

    pub fn info(&self) -> &SessionInfo {
        &self.info
    }

    pub fn connection_id(&self) -> u32 {
        self.info.connection_id
    }

    /// Set when another session ran KILL on this connection: the server closes it.
    pub fn is_killed(&self) -> bool {
        self.kill_conn.load(Ordering::SeqCst)
    }

    /// Run SQL text (one statement, or several separated by ';': the last result is
    /// returned; an error stops at the failing statement).
    pub fn execute(&mut self, sql: &str) -> Result<QueryResult> {
        let mut results = self.execute_script(sql);
        match results.pop() {
            Some(r) => r,
            None => Err(Error::new(code::ER_EMPTY_QUERY, "Query was empty")),
        }
    }

    /// Run every statement in `sql` (a multi-statement text), stopping after the first
    /// error. One result per statement run.
    pub fn execute_script(&mut self, sql: &str) -> Vec<Result<QueryResult>> {
        self.script(sql, None)
    }

    /// [`Self::execute`] for a client that is not this process: `LOAD DATA LOCAL` asks
    /// `local` for the file (the server implements it over the wire). Plain `execute`
    /// reads LOCAL files from this process's file system (the embedder is the client).
    pub fn execute_with_local(
        &mut self,
        sql: &str,
        local: &mut dyn LocalInfile,
    ) -> Result<QueryResult> {
        let mut results = self.script(sql, Some(local));
        match results.pop() {
            Some(r) => r,
            None => Err(Error::new(code::ER_EMPTY_QUERY, "Query was empty")),
        }
    }

    /// [`Self::execute_script`] with LOAD DATA LOCAL's files asked of `local`.
    pub fn execute_script_with_local(
        &mut self,
        sql: &str,
        local: &mut dyn LocalInfile,
    ) -> Vec<Result<QueryResult>> {
        self.script(sql, Some(local))
    }

    fn script(
        &mut self,
        sql: &str,
        mut local: Option<&mut dyn LocalInfile>,
    ) -> Vec<Result<QueryResult>> {
        let stmts = parse::split_statements(sql);
        let mut out = Vec::new();
        for s in stmts {
            // Reborrowed per statement (a trait object behind `&mut` needs the explicit
            // reborrow to shorten its lifetime).
            let l: Option<&mut dyn LocalInfile> = match local {
                Some(ref mut l) => Some(&mut **l),
                None => None,
            };
            let r = self.run_text(&s, &[], l);
            let failed = r.is_err();
            out.push(r);
            if failed {
                break;
            }
        }
        out
    }

    /// Run one statement with `?` placeholders bound to `params`.
    pub fn query(&mut self, sql: &str, params: &[Value]) -> Result<QueryResult> {
        if params.is_empty() {
            return self.execute(sql);
        }
        let st = self.prepare(sql)?;
        self.execute_prepared(&st, params)
    }

    /// Parse a statement once; its result columns are described when it is a query.
    pub fn prepare(&mut self, sql: &str) -> Result<PreparedStatement> {
        let mut stmts = parse::split_statements(sql);
        if stmts.len() != 1 {
            return Err(if stmts.is_empty() {
                Error::new(code::ER_EMPTY_QUERY, "Query was empty")
            } else {
                Error::parse(sql)
            });
        }
        let text = stmts.remove(0);
        let (stmt, param_count) = match parse::parse_one(&text) {
            Ok(mut st) => {
                let n = number_placeholders(&mut st);
                (st, n)
            }
            Err(e) => {
                // Statements we parse ourselves (SHOW ..., CREATE USER ...) take no
                // parameters; prepare them as text.
                if is_load_data(&text) {
                    return Err(Error::new(
                        crate::sql::load_data::ER_UNSUPPORTED_PS,
                        "This command is not supported in the prepared statement protocol yet",
                    ));
                }
                if special_statement(&text) {
                    (
                        Statement::Flush {
                            object_type: ast::FlushType::Tables,
                            location: None,
                            channel: None,
                            read_lock: false,
                            export: false,
                            tables: Vec::new(),
                        },
                        0,
                    )
                } else {
                    return Err(e);
                }
            }
        };
        let columns = match &stmt {
            Statement::Query(q) => {
                let cat = self.db.shared.catalog();
                let mut b = Binder::new(&cat, self.state.current_db.clone(), &text);
                b.only_full_group_by = self.state.only_full_group_by();
                match b.bind_query(q) {
                    Ok(bq) => bq
                        .columns
                        .into_iter()
                        .map(|mut c| {
                            if c.ty == ColumnType::Null {
                                c.ty = ColumnType::VarString;
                            }
                            c
                        })
                        .collect(),
                    Err(e) => return Err(e),
                }
            }
            _ => Vec::new(),
        };
        Ok(PreparedStatement {
            inner: Arc::new(Prepared { stmt, text }),
            param_count,
            columns,
        })
    }

    pub fn execute_prepared(
        &mut self,
        stmt: &PreparedStatement,
        params: &[Value],
    ) -> Result<QueryResult> {
        if params.len() != stmt.param_count {
            return Err(Error::new(
                code::ER_WRONG_ARGUMENTS,
                "Incorrect arguments to mysqld_stmt_execute",
            ));
        }
        if matches!(stmt.inner.stmt, Statement::Flush { .. }) && special_statement(&stmt.inner.text)
        {
            let text = stmt.inner.text.clone();
            return self.run_text(&text, &[], None);
        }
        // COM_STMT_EXECUTE is a client statement: MySQL counts it in Questions.
        self.db.shared.questions.fetch_add(1, Ordering::Relaxed);
        // The statement and its text are shared with the cached plan: no per-execution
        // copy of the syntax tree.
        let inner = stmt.inner.clone();
        self.run_parsed(&inner.stmt, &inner.text, params)
    }

    /// COM_INIT_DB.
    pub fn use_database(&mut self, db: &str) -> Result<()> {
        let cat = self.db.shared.catalog();
        if !cat.db_exists(db) && !db.eq_ignore_ascii_case("information_schema") {
            return Err(Error::new(
                code::ER_BAD_DB,
                format!("Unknown database '{db}'"),
            ));
        }
        if !self.allowed_db(db) {
            return Err(Error::new(
                code::ER_DBACCESS_DENIED,
                format!(
                    "Access denied for user '{}'@'{}' to database '{db}'",
                    self.info.user, self.info.host
                ),
            ));
        }
        let name = cat
            .dbs
            .get(&db.to_lowercase())
            .map(|d| d.name.clone())
            .unwrap_or_else(|| db.to_string());
        self.state.current_db = Some(name.clone());
        self.info.database = Some(name.clone());
        self.database_changed = true;
        self.process.lock().db = Some(name);
        Ok(())
    }

    pub fn current_database(&self) -> Option<&str> {
        self.state.current_db.as_deref()
    }

    pub fn status(&self) -> SessionStatus {
        SessionStatus {
            autocommit: self.state.autocommit,
            in_transaction: self
                .txn
                .as_ref()
                .is_some_and(|t| self.explicit || t.has_writes() || t.snapshot().is_some())
                && (self.explicit || !self.state.autocommit),
            warnings: self.state.warnings.len().min(u16::MAX as usize) as u16,
            database_changed: self.database_changed,
        }
    }

    /// COM_FIELD_LIST: the columns of `table` (optionally filtered by a LIKE wildcard).
    pub fn field_list(&mut self, table: &str, wildcard: &str) -> Result<Vec<Column>> {
        let db = self.state.current_db.clone().ok_or_else(Error::no_db)?;
        let cat = self.db.shared.catalog();
        let t = cat.get_table(&db, table)?;
        Ok((0..t.columns.len())
            .filter(|&i| {
                wildcard.is_empty() || crate::sql::show::like_match(&t.columns[i].name, wildcard)
            })
            .map(|i| t.result_column(i, &t.name))
            .collect())
    }

    /// COM_RESET_CONNECTION: roll back, drop prepared statements and user variables,
    /// reset session variables; keep the user and current database.
    pub fn reset(&mut self) {
        if let Some(mut t) = self.txn.take() {
            self.db.shared.mgr.rollback(&mut t);
        }
        self.explicit = false;
        self.priv_checked.clear();
        let db = self.state.current_db.clone();
        let mut st = SessState::new(self.db.shared.globals.clone());
        st.connection_id = self.state.connection_id;
        st.user = self.state.user.clone();
        st.host = self.state.host.clone();
        st.account_host = self.state.account_host.clone();
        st.read_only_instance = self.state.read_only_instance;
        st.current_db = db;
        self.state = st;
        self.sql_prepared.clear();
    }

    /// Switch user (COM_CHANGE_USER, after the server authenticated the new user).
    pub fn change_user(&mut self, user: &str, host: &str, database: Option<&str>) -> Result<()> {
        self.reset();
        self.info.user = user.to_string();
        self.info.host = host.to_string();
        self.state.user = user.to_string();
        self.state.host = host.to_string();
        if let Some(u) = self.db.shared.catalog().find_user(user, host) {
            self.state.account_host = u.host.clone();
        }
        self.state.current_db = None;
        if let Some(d) = database {
            self.use_database(d)?;
        }
        Ok(())
    }

    // ------------------------------------------------------------------ internals

    fn allowed_db(&self, db: &str) -> bool {
        if db.eq_ignore_ascii_case("information_schema") {
            return true;
        }
        let cat = self.db.shared.catalog();
        if cat.users.is_empty() {
            return true;
        }
        match cat.find_user(&self.state.user, &self.state.host) {
            None => false,
            Some(u) => u
                .grants
                .iter()
                .any(|g| g.db == "*" || g.db.eq_ignore_ascii_case(db)),
        }
    }

    fn check_priv(&self, privilege: &str, db: &str, table: &str) -> Result<()> {
        if db.eq_ignore_ascii_case("information_schema") {
            return Ok(());
        }
        if accounts::allowed(
            &self.db.shared,
            &self.state.user,
            &self.state.host,
            privilege,
            db,
            table,
        ) {
            return Ok(());
        }
        if table.is_empty() {
            return Err(Error::new(
                code::ER_DBACCESS_DENIED,
                format!(
                    "Access denied for user '{}'@'{}' to database '{db}'",
                    self.state.user, self.state.host
                ),
            ));
        }
        Err(Error::new(
            code::ER_TABLEACCESS_DENIED,
            format!(
                "{} command denied to user '{}'@'{}' for table '{table}'",
                privilege.to_uppercase(),
                self.state.user,
                self.state.host
            ),
        ))
    }

    /// [`Self::check_tables`], skipped when the same text passed it under the same catalog,
    /// current database and privilege.
    fn check_tables_cached(
        &mut self,
        st: &Statement,
        text: &str,
        privilege: &'static str,
    ) -> Result<()> {
        let cat = self.db.shared.catalog();
        let hit = self.priv_checked.get(text).is_some_and(|c| {
            Arc::ptr_eq(&c.catalog, &cat)
                && c.privilege == privilege
                && c.db == self.state.current_db
        });
        if hit {
            return Ok(());
        }
        self.check_tables(st, privilege)?;
        if self.priv_checked.len() >= PLAN_CACHE_SIZE {
            self.priv_checked.clear();
        }
        self.priv_checked.insert(
            text.to_string(),
            PrivChecked {
                catalog: cat,
                db: self.state.current_db.clone(),
                privilege,
            },
        );
        Ok(())
    }

    fn check_tables(&self, st: &Statement, privilege: &str) -> Result<()> {
        let mut names: Vec<ast::ObjectName> = Vec::new();
        let _ = ast::visit_relations(st, |r| {
            names.push(r.clone());
            std::ops::ControlFlow::<()>::Continue(())
        });
        for n in names {
            let parts = ident_names(&n);
            let (db, t) = match parts.as_slice() {
                [t] => match &self.state.current_db {
                    Some(d) => (d.clone(), t.clone()),
                    None => continue,
                },
                [d, t] => (d.clone(), t.clone()),
                _ => continue,
            };
            self.check_priv(privilege, &db, &t)?;
        }
        Ok(())
    }

    fn isolation_for_new(&mut self) -> Isolation {
        self.state
            .next_isolation
            .take()
            .unwrap_or(self.state.isolation)
    }

    /// The transaction a statement runs in (started if needed).
    fn ensure_txn(&mut self) -> &mut Txn {
        if self.txn.is_none() {
            let iso = self.isolation_for_new();
            let timeout =
                Duration::from_secs(self.state.var_i64("innodb_lock_wait_timeout").max(0) as u64);
            let mut t = self.db.shared.mgr.begin(iso, timeout);
            t.interrupt = Some(self.kill_query.clone());
            self.txn = Some(t);
        }
        self.txn.as_mut().expect("just set")
    }

    pub(crate) fn commit(&mut self) -> Result<()> {
        self.explicit = false;
        match self.txn.take() {
            Some(mut t) => self.db.shared.mgr.commit(&mut t),
            None => Ok(()),
        }
    }

    pub(crate) fn rollback(&mut self) {
        self.explicit = false;
        if let Some(mut t) = self.txn.take() {
            self.db.shared.mgr.rollback(&mut t);
        }
    }

    fn set_process(&self, command: &str, info: Option<&str>) {
        {
            let mut p = self.process.lock();
            // Runs twice per statement: reuse the buffers instead of reallocating.
            p.command.clear();
            p.command.push_str(command);
            match info {
                Some(s) => {
                    let mut end = s.len().min(1024);
                    while !s.is_char_boundary(end) {
                        end -= 1;
                    }
                    let buf = p.info.get_or_insert_with(String::new);
                    buf.clear();
                    buf.push_str(&s[..end]);
                }
                None => p.info = None,
            }
            p.started = Instant::now();
        }
    }

    /// MySQL's `PREPARE name FROM 'text'` / `FROM @var` (sqlparser knows only the
    /// `PREPARE name AS statement` form, which [`Self::dispatch`] handles).
    fn prepare_from(&mut self, name: &str, source: PrepareSource) -> Result<QueryResult> {
        let sql = match source {
            PrepareSource::Text(s) => s,
            PrepareSource::Var(v) => match self.state.user_vars.get(&v.to_lowercase()) {
                Some(val) if !val.is_null() => val.to_text().unwrap_or_default(),
                _ => return Err(Error::parse("NULL")),
            },
        };
        let p = self.prepare(&sql)?;
        self.sql_prepared.insert(name.to_lowercase(), p);
        Ok(QueryResult::Ok {
            affected_rows: 0,
            last_insert_id: 0,
            info: "Statement prepared".into(),
        })
    }

    fn run_text(
        &mut self,
        text: &str,
        params: &[Value],
        local: Option<&mut dyn LocalInfile>,
    ) -> Result<QueryResult> {
        self.db.shared.questions.fetch_add(1, Ordering::Relaxed);
        // Statements are recognized by their first words (SHOW, CREATE DATABASE, ...):
        // comments in front of them must not hide those.
        let text = skip_leading_comments(text);
        self.database_changed = false;
        let is_diag = {
            let t = text.trim_start().to_ascii_lowercase();
            t.starts_with("show warnings")
                || t.starts_with("show errors")
                || t.starts_with("show count")
                || t.contains("@@warning_count")
                || t.contains("@@error_count")
        };
        if !is_diag {
            self.state.warnings.clear();
        }
        // mysqldump wraps parts of statements in versioned comments
        // (`START TRANSACTION /*!40100 WITH CONSISTENT SNAPSHOT */`): recognize ours after
        // expanding them, as sqlparser's statements are after parse::preprocess.
        let expanded;
        let special = if text.contains("/*!") {
            expanded = parse::preprocess(text);
            expanded.as_str()
        } else {
            text
        };
        if special_statement(special) {
            let text = special;
            self.set_process("Query", Some(text));
            let r = if is_load_data(text) {
                self.kill_query.store(false, Ordering::SeqCst);
                let r = self.run_load_data(text, local);
                if let Err(e) = &r {
                    self.state
                        .warnings
                        .push(("Error".into(), e.code, e.message.clone()));
                }
                r
            } else {
                self.run_special(text)
            };
            self.set_process("Sleep", None);
            return r;
        }
        if let Some((name, source)) = prepare_from(text) {
            return self.prepare_from(&name, source);
        }
        // DROP PREPARE is MySQL's synonym of DEALLOCATE PREPARE.
        let dealloc;
        let text = match drop_prepare(text) {
            Some(t) => {
                dealloc = t;
                dealloc.as_str()
            }
            None => text,
        };
        let owned;
        let text = if is_create_database(text) {
            owned = strip_db_options(text);
            owned.as_str()
        } else {
            text
        };
        let mut st = match parse::parse_one(text) {
            Ok(s) => s,
            Err(e) => {
                self.state
                    .warnings
                    .push(("Error".into(), e.code, e.message.clone()));
                return Err(e);
            }
        };
        number_placeholders(&mut st);
        self.run_parsed(&st, text, params)
    }

    fn run_parsed(&mut self, st: &Statement, text: &str, params: &[Value]) -> Result<QueryResult> {
        self.kill_query.store(false, Ordering::SeqCst);
        self.set_process("Query", Some(text));
        let _cluster = crate::replica::enter(&self.db.shared);
        let _kill = crate::schema_gate::statement_interrupt(self.kill_query.clone());
        let r = self.dispatch(st, text, params);
        self.set_process("Sleep", None);
        if let Err(e) = &r {
            self.state
                .warnings
                .push(("Error".into(), e.code, e.message.clone()));
        }
        r
    }

    fn dispatch(&mut self, st: &Statement, text: &str, params: &[Value]) -> Result<QueryResult> {
        use Statement as S;
        let shared = self.db.shared.clone();
        match st {
            S::Query(_) | S::Insert(_) | S::Update(_) | S::Delete(_) => {
                let (privilege, writes) = match st {
                    S::Query(_) => ("SELECT", false),
                    S::Insert(i) if i.replace_into => ("INSERT", true),
                    S::Insert(_) => ("INSERT", true),
                    S::Update(_) => ("UPDATE", true),
                    _ => ("DELETE", true),
                };
                if writes && shared.read_only {
                    return Err(read_only_error());
                }
                // Multi-table UPDATE/DELETE check their targets and sources themselves
                // (`sql::multi_dml`): which tables are targets needs name resolution.
                let multi = match st {
                    S::Update(u) => crate::sql::multi_dml::is_multi_update(u),
                    S::Delete(d) => crate::sql::multi_dml::is_multi_delete(d),
                    _ => false,
                };
                if !multi {
                    self.check_tables_cached(st, text, privilege)?;
                }
                self.run_in_txn(st, text, params, writes)
            }
            S::StartTransaction { modes, .. } => {
                self.commit()?;
                for m in modes {
                    if let ast::TransactionMode::IsolationLevel(l) = m {
                        self.state.next_isolation = Some(iso_of(l));
                    }
                }
                self.ensure_txn();
                self.explicit = true;
                if text.to_ascii_uppercase().contains("CONSISTENT SNAPSHOT") {
                    let mgr = &self.db.shared.mgr;
                    if let Some(t) = self.txn.as_mut() {
                        mgr.ensure_snapshot(t);
                    }
                }
                Ok(QueryResult::ok(0))
            }
            S::Commit { .. } => {
                self.commit()?;
                Ok(QueryResult::ok(0))
            }
            S::Rollback {
                savepoint: Some(name),
                ..
            } => {
                let ok = self
                    .txn
                    .as_mut()
                    .is_some_and(|t| t.rollback_to_savepoint(&name.value));
                if ok {
                    Ok(QueryResult::ok(0))
                } else {
                    Err(no_savepoint(&name.value))
                }
            }
            S::Rollback { .. } => {
                self.rollback();
                Ok(QueryResult::ok(0))
            }
            S::Savepoint { name } => {
                // Outside a transaction (autocommit) there is nothing to roll back to,
                // as in MySQL: the savepoint ends with the statement.
                if self.explicit || !self.state.autocommit || self.txn.is_some() {
                    self.ensure_txn().savepoint(&name.value);
                }
                Ok(QueryResult::ok(0))
            }
            S::ReleaseSavepoint { name } => {
                if self
                    .txn
                    .as_mut()
                    .is_some_and(|t| t.release_savepoint(&name.value))
                {
                    Ok(QueryResult::ok(0))
                } else {
                    Err(no_savepoint(&name.value))
                }
            }
            S::Use(u) => {
                let name = match u {
                    ast::Use::Object(n)
                    | ast::Use::Database(n)
                    | ast::Use::Schema(n)
                    | ast::Use::Catalog(n) => ident_names(n).join("."),
                    _ => return Err(Error::parse(text)),
                };
                self.use_database(&name)?;
                Ok(QueryResult::ok(0))
            }
            S::Set(set) => self.run_set(set, text, params),
            S::Explain {
                statement, format, ..
            } => {
                let tree = format
                    .as_ref()
                    .is_some_and(|f| f.to_string().to_uppercase().contains("TREE"))
                    || text.to_uppercase().contains("FORMAT=TREE")
                    || text.to_uppercase().contains("FORMAT = TREE");
                match statement.as_ref() {
                    S::Query(q) => {
                        self.check_tables(statement, "SELECT")?;
                        let cat = shared.catalog();
                        let mut b = Binder::new(&cat, self.state.current_db.clone(), text);
                        b.only_full_group_by = self.state.only_full_group_by();
                        let bq = b.bind_query(q)?;
                        Ok(explain::explain(&bq.plan, tree))
                    }
                    S::Update(u) if crate::sql::multi_dml::is_multi_update(u) => {
                        let cat = shared.catalog();
                        let mut b = Binder::new(&cat, self.state.current_db.clone(), text);
                        let (plan, targets) = crate::sql::multi_dml::explain_update(&mut b, u)?;
                        Ok(explain::explain_multi_dml("UPDATE", &plan, &targets))
                    }
                    S::Delete(d) if crate::sql::multi_dml::is_multi_delete(d) => {
                        let cat = shared.catalog();
                        let mut b = Binder::new(&cat, self.state.current_db.clone(), text);
                        let (plan, targets) = crate::sql::multi_dml::explain_delete(&mut b, d)?;
                        Ok(explain::explain_multi_dml("DELETE", &plan, &targets))
                    }
                    S::Update(u) => {
                        let cat = shared.catalog();
                        let b = Binder::new(&cat, self.state.current_db.clone(), text);
                        Ok(explain::explain_dml(
                            "UPDATE",
                            &dml_plan(&b, &u.table.relation, u.selection.as_ref())?,
                        ))
                    }
                    S::Delete(d) => {
                        let cat = shared.catalog();
                        let b = Binder::new(&cat, self.state.current_db.clone(), text);
                        let rel = match &d.from {
                            ast::FromTable::WithFromKeyword(t)
                            | ast::FromTable::WithoutKeyword(t) => {
                                t.first().map(|t| t.relation.clone())
                            }
                        }
                        .ok_or_else(|| Error::parse(text))?;
                        Ok(explain::explain_dml(
                            "DELETE",
                            &dml_plan(&b, &rel, d.selection.as_ref())?,
                        ))
                    }
                    S::Insert(_) => Ok(explain::explain(&crate::sql::plan::Plan::Single, false)),
                    _ => Err(Error::parse(text)),
                }
            }
            S::ExplainTable { table_name, .. } => {
                let cat = shared.catalog();
                let b = Binder::new(&cat, self.state.current_db.clone(), text);
                let (db, t) = b.table_name(table_name)?;
                self.check_priv("SELECT", &db, &t)?;
                let t = cat.get_table(&db, &t)?;
                let (c, r) = crate::sql::show::describe_rows(t, false);
                Ok(QueryResult::Rows {
                    columns: c,
                    rows: r,
                })
            }
            S::ShowVariables { .. }
            | S::ShowStatus { .. }
            | S::ShowDatabases { .. }
            | S::ShowTables { .. }
            | S::ShowColumns { .. }
            | S::ShowCreate { .. }
            | S::ShowCollation { .. }
            | S::ShowProcessList { .. }
            | S::ShowCharset(_)
            | S::ShowVariable { .. }
            | S::ShowSchemas { .. } => self.run_special(text),
            S::Kill { modifier, id } => {
                let query_only = matches!(modifier, Some(ast::KillType::Query));
                if !self.db.kill(*id as u32, query_only) {
                    return Err(Error::new(
                        code::ER_NO_SUCH_THREAD,
                        format!("Unknown thread id: {id}"),
                    ));
                }
                Ok(QueryResult::ok(0))
            }
            S::Flush { .. } | S::LockTables { .. } | S::UnlockTables => Ok(QueryResult::ok(0)),
            S::Prepare {
                name, statement, ..
            } => {
                let sql = statement.to_string();
                let p = self.prepare(&sql)?;
                self.sql_prepared.insert(name.value.to_lowercase(), p);
                Ok(QueryResult::Ok {
                    affected_rows: 0,
                    last_insert_id: 0,
                    info: "Statement prepared".into(),
                })
            }
            S::Execute {
                name: Some(n),
                using,
                parameters,
                ..
            } => {
                let key = ident_names(n).join(".").to_lowercase();
                let p = self.sql_prepared.get(&key).cloned().ok_or_else(|| {
                    Error::new(
                        code::ER_UNKNOWN_STMT_HANDLER,
                        format!("Unknown prepared statement handler ({key}) given to EXECUTE"),
                    )
                })?;
                let mut vals = Vec::new();
                let exprs: Vec<ast::Expr> = if using.is_empty() {
                    parameters.clone()
                } else {
                    using.iter().map(|u| u.expr.clone()).collect()
                };
                for e in exprs {
                    let name = e.to_string();
                    let v = match name.strip_prefix('@') {
                        Some(v) => self
                            .state
                            .user_vars
                            .get(&v.to_lowercase())
                            .cloned()
                            .unwrap_or(Value::Null),
                        None => Value::Null,
                    };
                    vals.push(v);
                }
                if vals.len() != p.param_count() {
                    return Err(Error::new(
                        code::ER_WRONG_ARGUMENTS,
                        "Incorrect arguments to EXECUTE",
                    ));
                }
                self.execute_prepared(&p, &vals)
            }
            S::Deallocate { name, .. } => {
                let key = name.value.to_lowercase();
                if self.sql_prepared.remove(&key).is_none() {
                    return Err(Error::new(
                        code::ER_UNKNOWN_STMT_HANDLER,
                        format!(
                            "Unknown prepared statement handler ({key}) given to DEALLOCATE PREPARE"
                        ),
                    ));
                }
                Ok(QueryResult::ok(0))
            }
            // DDL: implicit commit, privilege check, then one atomic catalog change.
            _ => {
                if shared.read_only {
                    return Err(read_only_error());
                }
                self.commit()?;
                self.run_ddl(st, text)
            }
        }
    }

    fn run_ddl(&mut self, st: &Statement, text: &str) -> Result<QueryResult> {
        use Statement as S;
        let shared = self.db.shared.clone();
        let cat = shared.catalog();
        let mut b = Binder::new(&cat, self.state.current_db.clone(), text);
        b.only_full_group_by = self.state.only_full_group_by();
        b.fk_checks = self
            .state
            .vars
            .get("foreign_key_checks")
            .and_then(|v| v.to_i64())
            != Some(0);
        match st {
            S::CreateDatabase {
                db_name,
                if_not_exists,
                ..
            } => {
                let name = ident_names(db_name).join(".");
                self.check_priv("CREATE", &name, "")?;
                self.create_database(&name, *if_not_exists)
            }
            S::CreateSchema {
                schema_name,
                if_not_exists,
                ..
            } => {
                let name = schema_name.to_string().trim_matches('`').to_string();
                self.check_priv("CREATE", &name, "")?;
                self.create_database(&name, *if_not_exists)
            }
            S::CreateTable(ct) => {
                let (db, t) = b.table_name(&ct.name)?;
                self.check_priv("CREATE", &db, &t)?;
                if ct.temporary {
                    // Temporary tables are created as ordinary tables (visible to other
                    // sessions); most tools only need CREATE/DROP to work.
                }
                let rows = match &ct.query {
                    Some(q) => {
                        self.check_tables(&S::Query(q.clone()), "SELECT")?;
                        let bq = b.bind_query(q)?;
                        let mut txn = shared
                            .mgr
                            .begin(Isolation::RepeatableRead, Duration::from_secs(50));
                        let mut ex = Exec::new(&shared, &mut txn, &mut self.state, &[]);
                        let rows = ex.run(&bq.plan);
                        drop(ex);
                        shared.mgr.rollback(&mut txn);
                        let rows = rows?;
                        let cols = finalize_columns(bq.columns, &rows);
                        Some((cols, rows))
                    }
                    None => None,
                };
                let existed = {
                    let cat = shared.catalog();
                    cat.get_table(&db, &t).is_ok() || cat.view(&db, &t).is_some()
                };
                let r = ddl::create_table(&mut b, &shared, ct, rows);
                if r.is_ok() && existed && ct.if_not_exists {
                    self.note(code::ER_TABLE_EXISTS, format!("Table '{t}' already exists"));
                }
                r
            }
            S::Drop {
                object_type,
                if_exists,
                names,
                ..
            } => match object_type {
                ast::ObjectType::Table | ast::ObjectType::View => {
                    let views = matches!(object_type, ast::ObjectType::View);
                    if !views {
                        for n in names {
                            if let Ok((db, t)) = b.table_name(n) {
                                self.check_priv("DROP", &db, &t)?;
                            }
                        }
                    }
                    let missing: Vec<String> = {
                        let cat = shared.catalog();
                        names
                            .iter()
                            .filter_map(|n| b.table_name(n).ok())
                            .filter(|(db, t)| {
                                // DROP TABLE does not drop a view: a view's name is
                                // unknown to it, as in MySQL.
                                if views {
                                    cat.view(db, t).is_none()
                                } else {
                                    cat.get_table(db, t).is_err()
                                }
                            })
                            .map(|(db, t)| format!("{db}.{t}"))
                            .collect()
                    };
                    let r = ddl::drop_tables(&shared, &b, names, *if_exists, views);
                    if r.is_ok() && !missing.is_empty() {
                        self.note(
                            code::ER_BAD_TABLE,
                            format!("Unknown table '{}'", missing.join(",")),
                        );
                    }
                    r
                }
                ast::ObjectType::Schema | ast::ObjectType::Database => {
                    let name = names
                        .first()
                        .map(|n| ident_names(n).join("."))
                        .unwrap_or_default();
                    self.check_priv("DROP", &name, "")?;
                    let existed = shared.catalog().db_exists(&name);
                    let r = ddl::drop_database(&shared, &name, *if_exists, b.fk_checks);
                    if r.is_ok() && !existed {
                        self.note(
                            code::ER_DB_DROP_EXISTS,
                            format!("Can't drop database '{name}'; database doesn't exist"),
                        );
                    }
                    if r.is_ok()
                        && self
                            .state
                            .current_db
                            .as_deref()
                            .is_some_and(|d| d.eq_ignore_ascii_case(&name))
                    {
                        self.state.current_db = None;
                    }
                    r
                }
                ast::ObjectType::Index => {
                    // DROP INDEX i ON t
                    let idx = names
                        .first()
                        .map(|n| ident_names(n).last().cloned().unwrap_or_default())
                        .unwrap_or_default();
                    let table = match st {
                        S::Drop { table: Some(t), .. } => t.clone(),
                        _ => return Err(Error::parse(text)),
                    };
                    let (db, t) = b.table_name(&table)?;
                    self.check_priv("INDEX", &db, &t)?;
                    ddl::drop_index(&shared, &b, &idx, &table)
                }
                ast::ObjectType::User => {
                    match accounts::execute(&shared, text, &self.state.user, &self.state.host) {
                        Some(r) => r,
                        None => Err(Error::parse(text)),
                    }
                }
                _ => Err(Error::unsupported(text)),
            },
            S::CreateIndex(ci) => {
                let (db, t) = b.table_name(&ci.table_name)?;
                self.check_priv("INDEX", &db, &t)?;
                ddl::create_index(&shared, &b, ci)
            }
            S::AlterTable(at) => {
                let (db, t) = b.table_name(&at.name)?;
                self.check_priv("ALTER", &db, &t)?;
                ddl::alter_table(&shared, &mut b, &at.name, &at.operations)
            }
            S::Truncate(tr) => {
                let n = tr
                    .table_names
                    .first()
                    .map(|t| t.name.clone())
                    .ok_or_else(|| Error::parse(text))?;
                let (db, t) = b.table_name(&n)?;
                self.check_priv("DROP", &db, &t)?;
                ddl::truncate(&shared, &b, &n)
            }
            S::RenameTable(pairs) => {
                let v: Vec<(ast::ObjectName, ast::ObjectName)> = pairs
                    .iter()
                    .map(|r| (r.old_name.clone(), r.new_name.clone()))
                    .collect();
                for (o, _) in &v {
                    let (db, t) = b.table_name(o)?;
                    self.check_priv("ALTER", &db, &t)?;
                }
                ddl::rename_tables(&shared, &b, &v)
            }
            S::CreateView(cv) => {
                let (db, t) = b.table_name(&cv.name)?;
                self.check_priv("CREATE VIEW", &db, &t)
                    .or_else(|_| self.check_priv("CREATE", &db, &t))?;
                // The stored definition is the text after AS; mysqldump writes the
                // statement inside versioned comments, so take it with them expanded.
                let expanded;
                let text = if text.contains("/*!") {
                    expanded = parse::preprocess(text);
                    expanded.as_str()
                } else {
                    text
                };
                ddl::create_view(&shared, &mut b, cv, text)
            }
            S::Grant(_) | S::Revoke(_) | S::CreateUser(_) | S::AlterUser(_) => {
                self.check_priv("CREATE USER", "*", "")
                    .or_else(|_| self.check_priv("GRANT OPTION", "*", ""))?;
                match accounts::execute(&shared, text, &self.state.user, &self.state.host) {
                    Some(r) => r,
                    None => Err(Error::parse(text)),
                }
            }
            S::CreateTrigger(_) | S::DropTrigger(_) => Err(Error::unsupported("triggers")),
            _ => Err(Error::unsupported(
                text.split_whitespace()
                    .take(3)
                    .collect::<Vec<_>>()
                    .join(" "),
            )),
        }
    }

    /// Run a query or DML statement inside the session's transaction.
    fn run_in_txn(
        &mut self,
        st: &Statement,
        text: &str,
        params: &[Value],
        writes: bool,
    ) -> Result<QueryResult> {
        let shared = self.db.shared.clone();
        let (mut txn, autocommit_stmt) = self.begin_stmt();
        let cat = match shared.catalog_for(&mut txn) {
            Ok(cat) => cat,
            Err(e) => return self.finish_stmt(txn, autocommit_stmt, writes, Err(e)),
        };
        let result = {
            let mut ex = Exec::new(&shared, &mut txn, &mut self.state, params);
            ex.interrupted = Some(self.kill_query.clone());
            let only_full_group_by = ex.sess.only_full_group_by();
            let next_autoinc = |t: &crate::catalog::TableDef| shared.peek_autoinc(t).ok().flatten();
            // Built only when something is bound: a cached query plan needs none.
            let binder = |db: Option<String>| {
                let mut b = Binder::new(&cat, db, text);
                b.only_full_group_by = only_full_group_by;
                b.sessions = Some(&shared.sessions);
                b.next_autoinc = Some(&next_autoinc);
                b
            };
            let r = match st {
                Statement::Query(q) => {
                    let lock = q
                        .locks
                        .first()
                        .map(|l| matches!(l.lock_type, ast::LockType::Update));
                    if let Some(excl) = lock {
                        ex.locking = true;
                        ex.lock_rows = Some(excl);
                    }
                    let cached = self
                        .plan_cache
                        .get(text)
                        .filter(|c| {
                            Arc::ptr_eq(&c.catalog, &cat)
                                && c.db == ex.sess.current_db
                                && c.only_full_group_by == only_full_group_by
                        })
                        .map(|c| c.query.clone());
                    let bq = match cached {
                        Some(q) => Ok(q),
                        None => binder(ex.sess.current_db.clone()).bind_query(q).map(|bq| {
                            let bq = Arc::new(bq);
                            if plan_is_cacheable(&bq.plan) {
                                if self.plan_cache.len() >= PLAN_CACHE_SIZE {
                                    self.plan_cache.clear();
                                }
                                self.plan_cache.insert(
                                    text.to_string(),
                                    CachedPlan {
                                        catalog: cat.clone(),
                                        db: ex.sess.current_db.clone(),
                                        only_full_group_by,
                                        query: bq.clone(),
                                    },
                                );
                            }
                            bq
                        }),
                    };
                    match bq {
                        Ok(bq) => ex.run(&bq.plan).map(|rows| {
                            let n = rows.len();
                            let cols = finalize_columns(bq.columns.clone(), &rows);
                            let rows = conform_rows(&cols, rows);
                            (
                                QueryResult::Rows {
                                    columns: cols,
                                    rows,
                                },
                                Some(n),
                            )
                        }),
                        Err(e) => Err(e),
                    }
                }
                Statement::Insert(i) => {
                    let mut b = binder(ex.sess.current_db.clone());
                    dml::insert(&mut ex, &mut b, i).map(|r| (r, None))
                }
                Statement::Update(u) => {
                    let mut b = binder(ex.sess.current_db.clone());
                    dml::update(&mut ex, &mut b, u).map(|r| (r, None))
                }
                Statement::Delete(d) => {
                    let mut b = binder(ex.sess.current_db.clone());
                    dml::delete(&mut ex, &mut b, d).map(|r| (r, None))
                }
                _ => Err(Error::internal("not a query")),
            };
            let warnings = std::mem::take(&mut ex.fnctx.warnings);
            drop(ex);
            for (c, m) in warnings {
                self.state.warnings.push(("Warning".into(), c, m));
            }
            r
        };
        self.finish_stmt(txn, autocommit_stmt, writes, result)
    }

    /// Start a statement: the session's transaction (begun if there is none) taken out
    /// for the statement, and whether the statement is its own autocommit transaction.
    fn begin_stmt(&mut self) -> (Txn, bool) {
        let autocommit_stmt = self.txn.is_none() && self.state.autocommit && !self.explicit;
        self.ensure_txn();
        let mut txn = self.txn.take().expect("ensured");
        txn.begin_statement(&self.db.shared.mgr);
        (txn, autocommit_stmt)
    }

    /// End a statement begun by [`Self::begin_stmt`]: on success keep its writes (commit
    /// them when it was an autocommit statement that writes); on failure undo only the
    /// statement's writes (the whole transaction for a deadlock victim or an autocommit
    /// statement). `found`: rows a SELECT returned (FOUND_ROWS).
    fn finish_stmt(
        &mut self,
        mut txn: Txn,
        autocommit_stmt: bool,
        writes: bool,
        result: Result<(QueryResult, Option<usize>)>,
    ) -> Result<QueryResult> {
        let shared = self.db.shared.clone();
        match result {
            Ok((r, found)) => {
                if let Some(n) = found {
                    self.state.found_rows = n as u64;
                    self.state.row_count = -1;
                } else {
                    self.state.row_count = r.affected_rows() as i64;
                }
                if let QueryResult::Ok { last_insert_id, .. } = &r {
                    if *last_insert_id > 0 {
                        self.state.last_insert_id = *last_insert_id;
                    }
                }
                self.txn = Some(txn);
                if autocommit_stmt {
                    if writes {
                        self.commit()?;
                    } else {
                        self.rollback();
                    }
                }
                Ok(r)
            }
            Err(e) => {
                if e.code == code::ER_LOCK_DEADLOCK || autocommit_stmt {
                    // A deadlock victim loses its whole transaction, as in InnoDB.
                    shared.mgr.rollback(&mut txn);
                    self.explicit = false;
                } else {
                    txn.rollback_statement();
                    self.txn = Some(txn);
                }
                Err(e)
            }
        }
    }

    fn run_set(&mut self, set: &ast::Set, text: &str, params: &[Value]) -> Result<QueryResult> {
        match set {
            ast::Set::SetNames { .. } | ast::Set::SetNamesDefault {} => Ok(QueryResult::ok(0)),
            ast::Set::SetTransaction { modes, .. } => {
                let session_level =
                    text.to_ascii_uppercase().split_whitespace().nth(1) == Some("SESSION");
                let global = text.to_ascii_uppercase().split_whitespace().nth(1) == Some("GLOBAL");
                for m in modes {
                    if let ast::TransactionMode::IsolationLevel(l) = m {
                        let iso = iso_of(l);
                        if global {
                            self.db.shared.globals.write().insert(
                                "transaction_isolation".into(),
                                Value::Str(iso.name().into()),
                            );
                        } else if session_level {
                            self.state.isolation = iso;
                            self.state.vars.insert(
                                "transaction_isolation".into(),
                                Value::Str(iso.name().into()),
                            );
                            self.state
                                .vars
                                .insert("tx_isolation".into(), Value::Str(iso.name().into()));
                        } else {
                            if self.explicit {
                                return Err(Error::new(code::ER_CANT_CHANGE_TX_ISOLATION, "Transaction characteristics can't be changed while a transaction is in progress"));
                            }
                            self.state.next_isolation = Some(iso);
                        }
                    }
                }
                Ok(QueryResult::ok(0))
            }
            ast::Set::SingleAssignment {
                scope,
                variable,
                values,
                ..
            } => {
                let name = ident_names(variable).join(".");
                let v = values.first().ok_or_else(|| Error::parse(text))?;
                self.assign(&name, scope.as_ref(), v, params)?;
                Ok(QueryResult::ok(0))
            }
            ast::Set::MultipleAssignments { assignments } => {
                for a in assignments {
                    let name = ident_names(&a.name).join(".");
                    self.assign(&name, a.scope.as_ref(), &a.value, params)?;
                }
                Ok(QueryResult::ok(0))
            }
            ast::Set::ParenthesizedAssignments { variables, values } => {
                for (n, v) in variables.iter().zip(values) {
                    self.assign(&ident_names(n).join("."), None, v, params)?;
                }
                Ok(QueryResult::ok(0))
            }
            _ => Err(Error::unsupported(text)),
        }
    }

    fn assign(
        &mut self,
        name: &str,
        scope: Option<&ast::ContextModifier>,
        value: &ast::Expr,
        params: &[Value],
    ) -> Result<()> {
        let shared = self.db.shared.clone();
        // SET x = ON/OFF/DEFAULT and bare words are values, not column names.
        let v = match value {
            ast::Expr::Identifier(id) if id.quote_style.is_none() && !id.value.starts_with('@') => {
                if id.value.eq_ignore_ascii_case("default") {
                    shared
                        .globals
                        .read()
                        .get(&name.trim_start_matches('@').to_lowercase())
                        .cloned()
                        .unwrap_or(Value::Null)
                } else {
                    Value::Str(id.value.clone())
                }
            }
            e => {
                let cat = shared.catalog();
                let mut b = Binder::new(&cat, self.state.current_db.clone(), "");
                let bound = b.bind_expr_in(e, &crate::sql::bind::Scope::default(), "field list")?;
                let autocommit_stmt = self.txn.is_none();
                self.ensure_txn();
                let mut txn = self.txn.take().expect("ensured");
                let mut ex = Exec::new(&shared, &mut txn, &mut self.state, params);
                let r = ex.eval(&bound, &[]);
                drop(ex);
                if autocommit_stmt && self.state.autocommit {
                    shared.mgr.rollback(&mut txn);
                } else {
                    self.txn = Some(txn);
                }
                r?
            }
        };
        let lname = name.to_lowercase();
        if let Some(uv) = lname.strip_prefix('@').filter(|n| !n.starts_with('@')) {
            self.state.user_vars.insert(uv.to_string(), v);
            return Ok(());
        }
        let (global, var) = if let Some(r) = lname.strip_prefix("@@global.") {
            (true, r.to_string())
        } else if let Some(r) = lname
            .strip_prefix("@@session.")
            .or_else(|| lname.strip_prefix("@@local."))
        {
            (false, r.to_string())
        } else if let Some(r) = lname.strip_prefix("@@") {
            (false, r.to_string())
        } else {
            (
                matches!(scope, Some(ast::ContextModifier::Global)),
                lname.clone(),
            )
        };
        if var == "autocommit" {
            let on = match &v {
                Value::Str(s) => s.eq_ignore_ascii_case("on") || s == "1",
                other => other.to_i64().unwrap_or(0) != 0,
            };
            if on && !self.state.autocommit && !global {
                // Turning autocommit on commits the open transaction.
                self.commit()?;
            }
        }
        if (var == "read_only" || var == "innodb_read_only") && shared.read_only {
            return Err(read_only_error());
        }
        self.state.set_sysvar(&var, v, global)
    }

    /// CREATE TRIGGER / DROP TRIGGER: DDL (implicit commit, TRIGGER privilege).
    fn run_trigger_ddl(&mut self, text: &str) -> Result<QueryResult> {
        use crate::sql::trigger;
        let shared = self.db.shared.clone();
        if shared.read_only {
            return Err(read_only_error());
        }
        let current = self.state.current_db.clone();
        if text.trim_start().to_ascii_lowercase().starts_with("drop") {
            let (_, db, _) = trigger::parse_drop(text)?;
            if let Some(db) = db.or(current.clone()) {
                self.check_priv("TRIGGER", &db, "")?;
            }
            self.commit()?;
            return trigger::drop_trigger(&shared, current.as_deref(), text);
        }
        let ct = trigger::parse_create(text)?;
        if let Some(db) = ct.table_db.clone().or(ct.db.clone()).or(current.clone()) {
            self.check_priv("TRIGGER", &db, &ct.table)?;
        }
        self.commit()?;
        let definer = format!("`{}`@`{}`", self.state.user, self.state.account_host);
        let mode = self
            .state
            .vars
            .get("sql_mode")
            .and_then(|v| v.to_text())
            .unwrap_or_default();
        let cat = shared.catalog();
        trigger::create_trigger(&shared, &cat, current.as_deref(), &definer, &mode, text)
    }

    /// CREATE DATABASE / SCHEMA; with IF NOT EXISTS over an existing one, MySQL's note.
    fn create_database(&mut self, name: &str, if_not_exists: bool) -> Result<QueryResult> {
        let shared = self.db.shared.clone();
        let existed = shared.catalog().db_exists(name);
        let r = ddl::create_database(&shared, name, if_not_exists);
        if r.is_ok() && existed {
            self.note(
                code::ER_DB_CREATE_EXISTS,
                format!("Can't create database '{name}'; database exists"),
            );
        }
        r
    }

    /// A Note-level diagnostic for SHOW WARNINGS (what MySQL says when an IF [NOT] EXISTS
    /// clause made a DDL statement do nothing).
    fn note(&mut self, code: u16, msg: String) {
        self.state.warnings.push(("Note".into(), code, msg));
    }

    /// LOAD DATA [LOCAL] INFILE (`sql::load_data`). The table and the privileges are
    /// checked before anything is read (MySQL opens the table before it asks the client
    /// for the file); the rows are inserted in the statement's transaction like INSERT's.
    fn run_load_data(
        &mut self,
        text: &str,
        local: Option<&mut dyn LocalInfile>,
    ) -> Result<QueryResult> {
        let stmt = load_data::grammar::parse(text)?;
        let shared = self.db.shared.clone();
        if shared.read_only {
            return Err(read_only_error());
        }
        let db = stmt
            .db
            .clone()
            .or_else(|| self.state.current_db.clone())
            .ok_or_else(Error::no_db)?;
        {
            let cat = shared.catalog();
            let b = Binder::new(&cat, Some(db.clone()), text);
            dml::target_table(&b, &db, &stmt.table, "LOAD")?;
        }
        self.check_priv("INSERT", &db, &stmt.table)?;
        if stmt.on_dup == load_data::grammar::OnDuplicate::Replace {
            self.check_priv("DELETE", &db, &stmt.table)?;
        }
        let mut fs = load_data::FsLocalInfile;
        let mut input: Box<dyn std::io::Read + '_> = if stmt.local {
            let local: &mut dyn LocalInfile = match local {
                Some(l) => l,
                None => &mut fs,
            };
            if !local.enabled() {
                return Err(Error::new(
                    load_data::ER_LOAD_INFILE_CAPABILITY_DISABLED,
                    "The used command is not allowed because the MariaDB server or client has disabled the local infile capability",
                ));
            }
            local
                .open(&stmt.file)
                .map_err(|e| load_data::file_not_found(&stmt.file, &e))?
        } else {
            // FILE is a global privilege; MySQL answers its absence with 1045.
            if !accounts::allowed(&shared, &self.state.user, &self.state.host, "FILE", "*", "") {
                return Err(Error::new(
                    code::ER_ACCESS_DENIED,
                    format!(
                        "Access denied for user '{}'@'{}' (using password: YES)",
                        self.state.user, self.state.host
                    ),
                ));
            }
            let dir = shared.secure_file_priv.read().clone();
            Box::new(load_data::open_server_file(dir.as_deref(), &stmt.file)?)
        };
        let _cluster = crate::replica::enter(&shared);
        let (mut txn, autocommit_stmt) = self.begin_stmt();
        let cat = match shared.catalog_for(&mut txn) {
            Ok(cat) => cat,
            Err(e) => return self.finish_stmt(txn, autocommit_stmt, true, Err(e)),
        };
        let result = {
            let mut ex = Exec::new(&shared, &mut txn, &mut self.state, &[]);
            ex.interrupted = Some(self.kill_query.clone());
            let mut b = Binder::new(&cat, ex.sess.current_db.clone(), text);
            let r = dml::target_table(&b, &db, &stmt.table, "LOAD")
                .and_then(|t| load_data::load(&mut ex, &mut b, &stmt, &t, &mut *input));
            let warnings = std::mem::take(&mut ex.fnctx.warnings);
            drop(ex);
            for (c, m) in warnings {
                self.state.warnings.push(("Warning".into(), c, m));
            }
            r.map(|r| (r, None))
        };
        self.finish_stmt(txn, autocommit_stmt, true, result)
    }

    fn run_special(&mut self, text: &str) -> Result<QueryResult> {
        let shared = self.db.shared.clone();
        let low = lower_words(text);
        if low.starts_with("show") {
            return show_stmt::show(&shared, self, text);
        }
        if low.starts_with("create user")
            || low.starts_with("alter user")
            || low.starts_with("drop user")
            || low.starts_with("grant")
            || low.starts_with("revoke")
            || low.starts_with("set password")
        {
            if shared.read_only {
                return Err(read_only_error());
            }
            let self_pw = low.starts_with("set password") && !low.contains(" for ")
                || low.starts_with("alter user user()");
            if !self_pw {
                self.check_priv("CREATE USER", "*", "")
                    .or_else(|_| self.check_priv("GRANT OPTION", "*", ""))?;
            }
            self.commit()?;
            return accounts::execute(&shared, text, &self.state.user, &self.state.account_host)
                .unwrap_or_else(|| Err(Error::parse(text)));
        }
        if crate::sql::trigger::is_trigger_statement(text) {
            return self.run_trigger_ddl(text);
        }
        if let Some(op) = crate::sql::constraint_ddl::parse_alter_check(text) {
            let db = op
                .db
                .clone()
                .or_else(|| self.state.current_db.clone())
                .ok_or_else(Error::no_db)?;
            self.check_priv("ALTER", &db, &op.table)?;
            self.commit()?;
            crate::sql::constraint_ddl::alter_check(
                &shared,
                self.state.current_db.as_deref(),
                &op,
            )?;
            return Ok(QueryResult::Ok {
                affected_rows: 0,
                last_insert_id: 0,
                info: "Records: 0  Duplicates: 0  Warnings: 0".into(),
            });
        }
        if let Some(op) = crate::sql::ddl::parse_alter_keys(text) {
            let db = op
                .db
                .clone()
                .or_else(|| self.state.current_db.clone())
                .ok_or_else(Error::no_db)?;
            self.check_priv("ALTER", &db, &op.table)?;
            // The table must exist; its engine keeps every index current, so there is
            // nothing to switch off or rebuild (InnoDB answers the same with note 1031).
            let table = self
                .db
                .shared
                .catalog()
                .get_table(&db, &op.table)?
                .name
                .clone();
            self.state.warnings.push((
                "Note".into(),
                crate::error::code::ER_ILLEGAL_HA,
                format!("Table storage engine for '{table}' doesn't have this option"),
            ));
            return Ok(QueryResult::ok(0));
        }
        if low.starts_with("load xml") {
            // Not a syntax error: the statement is MySQL's, its XML reader is not built.
            return Err(Error::unsupported("LOAD XML"));
        }
        if low.starts_with("do ") {
            let q = format!("SELECT {}", &text.trim_start()[3..]);
            self.run_text(&q, &[], None)?;
            return Ok(QueryResult::ok(0));
        }
        if low.starts_with("set character set") || low.starts_with("set charset") {
            return Ok(QueryResult::ok(0));
        }
        if low.starts_with("start transaction with consistent snapshot") {
            // Begin, and take the snapshot now rather than at the first read.
            self.commit()?;
            self.ensure_txn();
            self.explicit = true;
            let mgr = &self.db.shared.mgr;
            if let Some(t) = self.txn.as_mut() {
                mgr.ensure_snapshot(t);
            }
            return Ok(QueryResult::ok(0));
        }
        if low.starts_with("checksum table")
            || low.starts_with("optimize table")
            || low.starts_with("analyze table")
            || low.starts_with("repair table")
            || low.starts_with("check table")
        {
            let op = low.split_whitespace().next().unwrap_or("").to_string();
            let names: Vec<String> = text
                .split_whitespace()
                .skip(2)
                .collect::<Vec<_>>()
                .join(" ")
                .split(',')
                .map(|s| s.trim().trim_matches('`').to_string())
                .filter(|s| !s.is_empty())
                .collect();
            let mut rows = Vec::new();
            for n in names {
                let full = if n.contains('.') {
                    n.clone()
                } else {
                    format!(
                        "{}.{}",
                        self.state.current_db.clone().unwrap_or_default(),
                        n
                    )
                };
                if op == "checksum" {
                    rows.push(vec![Value::Str(full), Value::Null]);
                } else {
                    rows.push(vec![
                        Value::Str(full),
                        Value::Str(op.clone()),
                        Value::Str("status".into()),
                        Value::Str("OK".into()),
                    ]);
                }
            }
            let columns = if op == "checksum" {
                vec![
                    Column::computed("Table", ColumnType::VarString),
                    Column::computed("Checksum", ColumnType::LongLong),
                ]
            } else {
                ["Table", "Op", "Msg_type", "Msg_text"]
                    .iter()
                    .map(|c| Column::computed(*c, ColumnType::VarString))
                    .collect()
            };
            return Ok(QueryResult::Rows { columns, rows });
        }
        Err(Error::parse(text))
    }

    pub(crate) fn state(&self) -> &SessState {
        &self.state
    }
}

/// The scan an UPDATE/DELETE would use (for EXPLAIN).
fn dml_plan(
    b: &Binder<'_>,
    rel: &ast::TableFactor,
    selection: Option<&ast::Expr>,
) -> Result<crate::sql::plan::Plan> {
    let (name, alias) = match rel {
        ast::TableFactor::Table { name, alias, .. } => {
            (name.clone(), alias.as_ref().map(|a| a.name.value.clone()))
        }
        _ => return Err(Error::unsupported("EXPLAIN of this statement")),
    };
    let (db, t) = b.table_name(&name)?;
    let table = b.catalog.get_table(&db, &t)?.clone();
    let alias = alias.unwrap_or(t);
    let scope = crate::sql::bind::table_scope(&table, &alias);
    let mut b2 = Binder::new(b.catalog, b.current_db.clone(), "");
    let mut filters = Vec::new();
    if let Some(w) = selection {
        for c in crate::sql::bind::split_and(w) {
            filters.push(b2.bind_expr_in(&c, &scope, "where clause")?);
        }
    }
    let access = crate::sql::from::choose_access(&table, &filters);
    Ok(crate::sql::plan::Plan::Scan {
        table,
        alias,
        access,
        reverse: false,
        limit: None,
        read: None,
    })
}

fn iso_of(l: &ast::TransactionIsolationLevel) -> Isolation {
    match l {
        ast::TransactionIsolationLevel::ReadUncommitted => Isolation::ReadUncommitted,
        ast::TransactionIsolationLevel::ReadCommitted => Isolation::ReadCommitted,
        ast::TransactionIsolationLevel::RepeatableRead => Isolation::RepeatableRead,
        ast::TransactionIsolationLevel::Serializable => Isolation::Serializable,
        _ => parse_isolation("REPEATABLE-READ").expect("known level"),
    }
}

fn is_create_database(text: &str) -> bool {
    let low = text.trim_start().to_ascii_lowercase();
    let w: Vec<&str> = low.split_whitespace().take(2).collect();
    w.len() == 2 && w[0] == "create" && (w[1] == "database" || w[1] == "schema")
}

/// Drop `[DEFAULT] CHARACTER SET|CHARSET|COLLATE [=] name` and `DEFAULT ENCRYPTION ...`
/// options of CREATE DATABASE: every database is utf8mb4 with the default collation.
fn strip_db_options(text: &str) -> String {
    let re = regex::Regex::new(
        r"(?i)\s+(DEFAULT\s+)?(CHARACTER\s+SET|CHARSET|COLLATE|ENCRYPTION)\s*=?\s*('[^']*'|\w+)",
    )
    .expect("valid regex");
    re.replace_all(text, "").into_owned()
}

/// `text` without the whitespace and comments in front of its first token: `/* ... */`
/// (MariaDB's `/*M! ... */` included, which MySQL also reads as a comment), `-- ` and `#`
/// to the end of the line. A versioned comment `/*! ... */` is code, and stays.
fn skip_leading_comments(text: &str) -> &str {
    let mut t = text.trim_start();
    loop {
        if t.starts_with("/*") && !t.starts_with("/*!") {
            match t[2..].find("*/") {
                Some(e) => t = t[2 + e + 2..].trim_start(),
                None => return t,
            }
        } else if t.starts_with('#')
            || t.starts_with("--") && t[2..].starts_with(|c: char| c.is_whitespace())
        {
            match t.find('\n') {
                Some(e) => t = t[e + 1..].trim_start(),
                None => return "",
            }
        } else {
            return t;
        }
    }
}

/// The statement's words in lower case with single spaces, for matching the statements we
/// parse ourselves by their leading words (`START TRANSACTION  WITH ...` after a versioned
/// comment was expanded has two spaces).
fn lower_words(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for w in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&w.to_ascii_lowercase());
    }
    out
}

/// `LOAD DATA ...` (LOAD XML stays unsupported: it goes to `run_special`).
fn is_load_data(text: &str) -> bool {
    lower_words(text).starts_with("load data")
}

/// Statements parsed by us rather than sqlparser.
fn special_statement(text: &str) -> bool {
    let low = lower_words(text);
    let first2: Vec<&str> = low.split_whitespace().take(2).collect();
    matches!(
        first2.first().copied(),
        Some("show")
            | Some("do")
            | Some("grant")
            | Some("revoke")
            | Some("checksum")
            | Some("optimize")
            | Some("analyze")
            | Some("repair")
            | Some("check")
    ) || low.starts_with("load data")
        || low.starts_with("load xml")
        || low.starts_with("create user")
        || low.starts_with("alter user")
        || low.starts_with("drop user")
        || low.starts_with("set password")
        || low.starts_with("set character set")
        || low.starts_with("set charset")
        || low.starts_with("start transaction with consistent snapshot")
        || crate::sql::trigger::is_trigger_statement(text)
        || first2.first() == Some(&"alter")
            && (crate::sql::constraint_ddl::parse_alter_check(text).is_some()
                || crate::sql::ddl::parse_alter_keys(text).is_some())
}

/// Number `?` placeholders in textual order ("?" -> "?1", "?2", ...); returns the count.
pub(crate) fn number_placeholders(st: &mut Statement) -> usize {
    let mut n = 0usize;
    let _ = ast::visit_expressions_mut(st, |e| {
        if let ast::Expr::Value(v) = e {
            if let ast::Value::Placeholder(p) = &mut v.value {
                if p == "?" {
                    n += 1;
                    *p = format!("?{n}");
                }
            }
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
    n
}

/// Settle result column types: a column typed `Null` by the binder takes its type from
/// the values, so clients decode every value of a column the same way.
pub(crate) fn finalize_columns(mut cols: Vec<Column>, rows: &[Row]) -> Vec<Column> {
    for (i, c) in cols.iter_mut().enumerate() {
        let mut ty: Option<ColumnType> = None;
        let mut max_len = 0u32;
        for r in rows {
            let v = match r.get(i) {
                Some(v) => v,
                None => continue,
            };
            let t = match v {
                Value::Null => continue,
                Value::Int(_) | Value::UInt(_) => ColumnType::LongLong,
                Value::Double(_) => ColumnType::Double,
                Value::Decimal(_) => ColumnType::NewDecimal,
                Value::Str(s) => {
                    max_len = max_len.max(s.len() as u32);
                    ColumnType::VarString
                }
                Value::Bytes(b) => {
                    max_len = max_len.max(b.len() as u32);
                    ColumnType::Blob
                }
                Value::Date(_) => ColumnType::Date,
                Value::DateTime(_) => ColumnType::DateTime,
                Value::Time(_) => ColumnType::Time,
            };
            ty = Some(match (ty, t) {
                (None, t) => t,
                (Some(a), b) if a == b => a,
                (Some(ColumnType::LongLong), ColumnType::NewDecimal)
                | (Some(ColumnType::NewDecimal), ColumnType::LongLong) => ColumnType::NewDecimal,
                (
                    Some(ColumnType::LongLong | ColumnType::NewDecimal | ColumnType::Double),
                    ColumnType::LongLong | ColumnType::NewDecimal | ColumnType::Double,
                ) => ColumnType::Double,
                (Some(ColumnType::Date), ColumnType::DateTime)
                | (Some(ColumnType::DateTime), ColumnType::Date) => ColumnType::DateTime,
                _ => ColumnType::VarString,
            });
        }
        let is_expr = c.org_table.is_empty();
        if c.ty == ColumnType::Null {
            let t = ty.unwrap_or(ColumnType::Null);
            let mut fresh = Column::computed(
                c.name.clone(),
                if t == ColumnType::Null {
                    ColumnType::VarString
                } else {
                    t
                },
            );
            if t == ColumnType::Null {
                fresh.ty = ColumnType::Null;
                fresh.length = 0;
                fresh.charset = crate::result::charset::BINARY;
            }
            if t == ColumnType::Blob {
                fresh.ty = ColumnType::VarString;
                fresh.charset = crate::result::charset::BINARY;
                fresh.flags |= crate::result::flags::BINARY;
            }
            fresh.table = c.table.clone();
            *c = fresh;
        } else if is_expr {
            // A statically typed expression whose values turned out wider.
            match (c.ty, ty) {
                (
                    ColumnType::LongLong,
                    Some(ColumnType::NewDecimal | ColumnType::Double | ColumnType::VarString),
                ) => *c = Column::computed(c.name.clone(), ty.unwrap_or(ColumnType::VarString)),
                (ColumnType::VarString, Some(ColumnType::Blob)) => {
                    c.charset = crate::result::charset::BINARY;
                    c.flags |= crate::result::flags::BINARY;
                }
                _ => {}
            }
        }
        if c.ty == ColumnType::VarString && is_expr && max_len * 4 > c.length {
            c.length = (max_len * 4).max(c.length);
        }
        if c.ty == ColumnType::NewDecimal && is_expr {
            let mut scale = 0u32;
            for r in rows {
                if let Some(Value::Decimal(d)) = r.get(i) {
                    scale = scale.max(d.scale());
                }
            }
            c.decimals = scale.min(30) as u8;
        }
    }
    cols
}

/// Make every value of a column match its declared type (so the binary protocol can
/// encode by type).
pub(crate) fn conform_rows(cols: &[Column], mut rows: Vec<Row>) -> Vec<Row> {
    for r in rows.iter_mut() {
        for (i, c) in cols.iter().enumerate() {
            let Some(v) = r.get_mut(i) else { continue };
            if v.is_null() {
                continue;
            }
            let nv = match (c.ty, &*v) {
                (
                    ColumnType::LongLong
                    | ColumnType::Long
                    | ColumnType::Short
                    | ColumnType::Tiny
                    | ColumnType::Int24
                    | ColumnType::Year,
                    Value::Int(_) | Value::UInt(_),
                ) => None,
                (
                    ColumnType::LongLong
                    | ColumnType::Long
                    | ColumnType::Short
                    | ColumnType::Tiny
                    | ColumnType::Int24
                    | ColumnType::Year,
                    other,
                ) => Some(Value::Int(other.to_i64().unwrap_or(0))),
                (ColumnType::Double | ColumnType::Float, Value::Double(_)) => None,
                (ColumnType::Double | ColumnType::Float, other) => {
                    Some(Value::Double(other.to_f64().unwrap_or(0.0)))
                }
                (ColumnType::NewDecimal | ColumnType::Decimal, Value::Decimal(d)) => {
                    // Show the column's scale ("1.50", "2.0000"), also past the 28
                    // digits a Decimal holds.
                    let want = c.decimals as u32;
                    if d.scale() < want && want <= 30 {
                        let mut t = d.to_string();
                        if !t.contains('.') {
                            t.push('.');
                        }
                        let have = t.len() - t.find('.').expect("has a point") - 1;
                        t.extend(std::iter::repeat_n('0', want as usize - have));
                        Some(Value::Str(t))
                    } else {
                        None
                    }
                }
                (ColumnType::NewDecimal | ColumnType::Decimal, Value::Str(_)) => None,
                (ColumnType::NewDecimal | ColumnType::Decimal, other) => {
                    other.to_decimal().map(Value::Decimal)
                }
                (
                    ColumnType::VarString
                    | ColumnType::String
                    | ColumnType::Blob
                    | ColumnType::Json
                    | ColumnType::Enum
                    | ColumnType::Set,
                    Value::Str(_) | Value::Bytes(_),
                ) => None,
                (
                    ColumnType::VarString
                    | ColumnType::String
                    | ColumnType::Blob
                    | ColumnType::Json
                    | ColumnType::Enum
                    | ColumnType::Set,
                    other,
                ) => other.to_text().map(Value::Str),
                // DATETIME(fsp)/TIME(fsp): MySQL prints exactly fsp fractional digits
                // (Display prints none or six), so the text goes out as the column's.
                (ColumnType::DateTime | ColumnType::Timestamp, Value::DateTime(dt))
                    if (1..=6).contains(&c.decimals) =>
                {
                    Some(Value::Str(dt.format_fsp(c.decimals)))
                }
                (ColumnType::Time, Value::Time(t)) if (1..=6).contains(&c.decimals) => {
                    Some(Value::Str(t.format_fsp(c.decimals)))
                }
                _ => None,
            };
            if let Some(nv) = nv {
                *v = nv;
            }
        }
    }
    rows
}

/// ER_SP_DOES_NOT_EXIST as MySQL words it for savepoints.
fn no_savepoint(name: &str) -> Error {
    Error::new(
        code::ER_SP_DOES_NOT_EXIST,
        format!("SAVEPOINT {name} does not exist"),
    )
}

/// Where `PREPARE name FROM ...` takes its statement from.
enum PrepareSource {
    Text(String),
    Var(String),
}

/// `PREPARE name FROM 'text'` or `PREPARE name FROM @var`: the name and the source.
fn prepare_from(text: &str) -> Option<(String, PrepareSource)> {
    let t = text.trim().trim_end_matches(';').trim_end();
    let b = t.as_bytes();
    if b.len() < 8 || !b[..7].eq_ignore_ascii_case(b"prepare") || !b[7].is_ascii_whitespace() {
        return None;
    }
    let rest = t[7..].trim_start();
    let (name, rest) = match rest.strip_prefix('`') {
        Some(r) => {
            let end = r.find('`')?;
            (r[..end].to_string(), &r[end + 1..])
        }
        None => {
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$'))
                .unwrap_or(rest.len());
            (rest[..end].to_string(), &rest[end..])
        }
    };
    if name.is_empty() {
        return None;
    }
    let rest = rest.trim_start();
    let rb = rest.as_bytes();
    if rb.len() < 5 || !rb[..4].eq_ignore_ascii_case(b"from") || !rb[4].is_ascii_whitespace() {
        return None;
    }
    let src = rest[4..].trim_start();
    if let Some(v) = src.strip_prefix('@') {
        let v = v.trim().trim_matches('`');
        return (!v.is_empty()).then(|| (name, PrepareSource::Var(v.to_string())));
    }
    let q = src.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let mut out = String::new();
    let mut chars = src[1..].chars();
    loop {
        match chars.next()? {
            '\\' => out.push(match chars.next()? {
                'n' => '\n',
                't' => '\t',
                'r' => '\r',
                '0' => '\0',
                'Z' => '\u{1a}',
                c => c,
            }),
            c if c == q => {
                let mut peek = chars.clone();
                if peek.next() == Some(q) {
                    out.push(q);
                    chars = peek;
                } else {
                    break;
                }
            }
            c => out.push(c),
        }
    }
    // Nothing may follow the literal.
    chars
        .as_str()
        .trim()
        .is_empty()
        .then_some((name, PrepareSource::Text(out)))
}

/// `DROP PREPARE name` as `DEALLOCATE PREPARE name`.
fn drop_prepare(text: &str) -> Option<String> {
    let t = text.trim_start();
    let mut words = t.split_whitespace();
    let (a, b) = (words.next()?, words.next()?);
    if !a.eq_ignore_ascii_case("drop") || !b.eq_ignore_ascii_case("prepare") {
        return None;
    }
    let rest = t[a.len()..].trim_start()[b.len()..].to_string();
    Some(format!("DEALLOCATE PREPARE{rest}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leading_comments_do_not_hide_the_statement() {
        assert_eq!(
            skip_leading_comments("/*M!999999 enable the sandbox mode */ \n\nCREATE DATABASE d"),
            "CREATE DATABASE d"
        );
        assert_eq!(
            skip_leading_comments("-- x\n# y\n  /* z */SHOW TABLES"),
            "SHOW TABLES"
        );
        // Versioned comments are code; `--` needs a space to start a comment.
        assert_eq!(
            skip_leading_comments(" /*!40101 SET a=1 */"),
            "/*!40101 SET a=1 */"
        );
        assert_eq!(skip_leading_comments("--1"), "--1");
        assert_eq!(skip_leading_comments("/* only */"), "");
        assert_eq!(skip_leading_comments("/* open"), "/* open");
    }

    #[test]
    fn statements_are_matched_by_their_words() {
        assert_eq!(
            lower_words(" START TRANSACTION  WITH\tCONSISTENT SNAPSHOT "),
            "start transaction with consistent snapshot"
        );
        assert!(special_statement(
            "START TRANSACTION  WITH CONSISTENT SNAPSHOT  "
        ));
        assert!(special_statement("ALTER TABLE `t` DISABLE KEYS"));
        assert!(!special_statement("ALTER TABLE t ADD COLUMN c INT"));
        assert!(special_statement("LOAD DATA LOCAL INFILE 'f' INTO TABLE t"));
    }
}
