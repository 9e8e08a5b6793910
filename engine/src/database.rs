//! The database handle: owns the store, the transaction manager, the catalog snapshot,
//! global variables, AUTO_INCREMENT counters and the session registry.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use borealis_storage::{LocalVolume, Volume, VolumeConfig};
use parking_lot::{Mutex, ReentrantMutex, ReentrantMutexGuard, RwLock};

use crate::catalog::{self, Catalog, TableDef};
use crate::error::{Error, Result};
use crate::replica::{Applier, ClusterView, InstanceInfo, ReplicaState, ReplicaStatus};
use crate::session::{Session, SessionInfo};
use crate::sql::exec::Exec;
use crate::sql::plan::Expr;
use crate::sql::session_state::{default_sysvars, SessState};
use crate::store::{Store, TreeId, TreeWrite};
use crate::txn::{Isolation, Txn, TxnManager};
use crate::value::Value;

/// The plugin of accounts created without IDENTIFIED WITH.
pub const DEFAULT_AUTH_PLUGIN: &str = "mysql_native_password";

/// How to open a database.
#[derive(Clone, Debug)]
pub struct DatabaseOptions {
    /// Buffer pool bound in bytes.
    pub buffer_pool_bytes: usize,
    /// fsync the storage logs on commit (durability); off only for throwaway data.
    pub fsync: bool,
}

impl Default for DatabaseOptions {
    fn default() -> Self {
        DatabaseOptions {
            buffer_pool_bytes: 256 << 20,
            fsync: true,
        }
    }
}

/// An account as the server needs it for authentication.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserAccount {
    pub user: String,
    pub host: String,
    /// "mysql_native_password" or "caching_sha2_password".
    pub plugin: String,
    /// SHA1(SHA1(password)); None when the account has no password.
    pub native_hash: Option<[u8; 20]>,
    /// SHA256(SHA256(password)); None when the account has no password.
    pub sha2_hash: Option<[u8; 32]>,
}

/// What SHOW PROCESSLIST shows of a session.
#[derive(Clone, Debug)]
pub struct ProcessInfo {
    pub id: u32,
    pub user: String,
    pub host: String,
    pub db: Option<String>,
    pub command: String,
    pub started: Instant,
    pub info: Option<String>,
    pub kill_query: Arc<AtomicBool>,
    pub kill_conn: Arc<AtomicBool>,
}

/// Every open session's process-list entry, by connection id. A session updates its own
/// entry through its own `Arc` (two updates per statement), so statements of different
/// sessions do not meet on the map's lock; readers lock the map, then each entry.
pub type Sessions = Mutex<HashMap<u32, Arc<Mutex<ProcessInfo>>>>;

/// How long a DDL waits for open transactions to end (MySQL's metadata lock wait gives
/// the same error, 1205, after `lock_wait_timeout`).
const DDL_LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(50);

/// A DDL running on this thread: `ddl_lock` held (reentrant; the count is the nesting)
/// and the schema gate closed until the outermost scope ends.
struct DdlScope<'a> {
    shared: &'a Shared,
    guard: ReentrantMutexGuard<'a, RefCell<u32>>,
}

impl Drop for DdlScope<'_> {
    fn drop(&mut self) {
        let mut depth = self.guard.borrow_mut();
        *depth -= 1;
        if *depth == 0 {
            self.shared.mgr.schema_gate().open();
        }
    }
}

/// DDL held off and a table fenced while a DDL reads its rows ([`Shared::ddl_fence`]).
pub(crate) struct DdlFence<'a> {
    shared: &'a Shared,
    version: u64,
    _scope: DdlScope<'a>,
}

impl Drop for DdlFence<'_> {
    fn drop(&mut self) {
        // The DDL failed before publishing its catalog: its fences would refuse every
        // commit to the table until the next DDL.
        if self.shared.catalog().version < self.version {
            self.shared.mgr.unfence(self.version);
        }
    }
}

pub(crate) struct Shared {
    pub mgr: TxnManager,
    catalog: RwLock<Arc<Catalog>>,
    /// Serializes DDL. Reentrant: a DDL that fenced its table before reading its rows
    /// (`ddl_fence`) still holds it when it applies its batch (`ddl`).
    ddl_lock: ReentrantMutex<RefCell<u32>>,
    pub globals: Arc<RwLock<BTreeMap<String, Value>>>,
    autoinc: Mutex<HashMap<u64, u64>>,
    rowids: Mutex<HashMap<u64, u64>>,
    pub sessions: Sessions,
    pub started: Instant,
    pub questions: AtomicU64,
    pub next_conn: AtomicU32,
    pub read_only: bool,
    /// Set on a read replica: its read point, catalog history and applier statistics.
    pub(crate) replica: Option<Arc<ReplicaState>>,
    /// The replica's applier thread; dropping `Shared` stops it.
    applier: Mutex<Option<Applier>>,
    /// Every instance of the cluster (information_schema.replica_host_status); None:
    /// this instance alone.
    pub(crate) cluster_view: RwLock<Option<ClusterView>>,
    /// The only directory LOAD DATA may read server-side files from (MySQL's
    /// `--secure-file-priv`); None: none may be read.
    pub(crate) secure_file_priv: RwLock<Option<std::path::PathBuf>>,
}

impl Shared {
    pub fn catalog(&self) -> Arc<Catalog> {
        self.catalog.read().clone()
    }

    /// Replace the current catalog (a replica that saw DDL on the log).
    pub(crate) fn set_catalog(&self, cat: Arc<Catalog>) {
        *self.catalog.write() = cat;
    }

    /// The catalog a statement in `txn` binds against. On a replica this takes the
    /// statement's snapshot now and returns the schema as of that snapshot, so names
    /// and the data read always agree; on the writer it is the current catalog.
    ///
    /// On the writer the transaction first passes the schema gate (waiting out a DDL in
    /// progress), so the catalog it gets stays current until it ends.
    pub fn catalog_for(&self, txn: &mut Txn) -> Result<Arc<Catalog>> {
        let cat = match &self.replica {
            Some(r) => r.catalog_at(self.mgr.ensure_snapshot(txn)),
            None => {
                self.mgr.enter_schema(txn)?;
                self.catalog()
            }
        };
        txn.note_schema(cat.version);
        Ok(cat)
    }

    pub fn store(&self) -> &Store {
        &self.mgr.store
    }

    pub fn system_tree(&self) -> TreeId {
        self.mgr.store.system_tree()
    }

    /// Run a catalog change atomically: `f` edits a copy of the catalog and writes its
    /// records; the copy becomes current only if the whole batch commits.
    pub fn ddl<R>(
        &self,
        f: impl FnOnce(&mut Catalog, &mut dyn TreeWrite) -> Result<R>,
    ) -> Result<R> {
        if self.read_only {
            return Err(read_only_error());
        }
        let _scope = self.ddl_scope()?;
        let old = self.catalog();
        let mut cat = (*old).clone();
        cat.version = old.version + 1;
        let mut f = Some(f);
        let mut out = None;
        let applied = self.mgr.apply_ddl(&mut |w| {
            let f = f
                .take()
                .ok_or_else(|| Error::internal("DDL batch retried"))?;
            out = Some(f(&mut cat, w)?);
            // Under the commit lock: commits bound against `old` that write a changed
            // table fail from here on (their index entries follow the old definition).
            self.mgr
                .fence_in_commit(&Catalog::changed_trees(&old, &cat), cat.version);
            Ok(())
        });
        if let Err(e) = applied {
            self.mgr.unfence(cat.version);
            return Err(e);
        }
        *self.catalog.write() = Arc::new(cat);
        out.ok_or_else(|| Error::internal("DDL produced no result"))
    }

    /// Hold DDL off (the guard) and fence `tables` at the version the next DDL
    /// publishes, before a DDL reads their rows: a commit that finished is in what it
    /// reads, and a later commit bound against the current catalog fails (1412) instead
    /// of adding rows the read missed. The fences go if no DDL publishes that version.
    ///
    /// `tables` are the definitions the caller planned with: if another DDL changed one
    /// of them before this one got its turn, this fails with 1412 (the caller would
    /// otherwise write a definition that undoes the other's change).
    pub fn ddl_fence(&self, tables: &[&TableDef]) -> Result<DdlFence<'_>> {
        let scope = self.ddl_scope()?;
        let cat = self.catalog();
        for t in tables {
            if cat.table(&t.db, &t.name).is_none_or(|cur| **cur != **t) {
                return Err(Error::new(
                    crate::error::code::ER_TABLE_DEF_CHANGED,
                    "Table definition has changed, please retry transaction",
                ));
            }
        }
        let version = cat.version + 1;
        let trees: Vec<TreeId> = tables
            .iter()
            .flat_map(|t| std::iter::once(t.root).chain(t.indexes.iter().map(|i| i.root)))
            .collect();
        self.mgr.fence(&trees, version);
        Ok(DdlFence {
            shared: self,
            version,
            _scope: scope,
        })
    }

    /// Start (or, on the thread already running one, join) a DDL: DDL serialized, the
    /// schema gate closed and every transaction that passed it ended.
    ///
    /// Both waits (for a DDL running on another thread, then for open transactions) are
    /// bounded by `DDL_LOCK_WAIT` (1205) and end with 1317 on KILL QUERY.
    fn ddl_scope(&self) -> Result<DdlScope<'_>> {
        use std::sync::atomic::Ordering;
        let interrupt = crate::schema_gate::interrupt_flag();
        let killed = || interrupt.as_ref().is_some_and(|f| f.load(Ordering::SeqCst));
        let deadline = std::time::Instant::now() + DDL_LOCK_WAIT;
        let guard = loop {
            if let Some(g) = self.ddl_lock.try_lock_for(crate::txn::INTERRUPT_POLL) {
                break g;
            }
            if killed() {
                return Err(Error::interrupted());
            }
            if std::time::Instant::now() >= deadline {
                return Err(Error::lock_wait_timeout());
            }
        };
        let depth = *guard.borrow();
        if depth == 0 {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            self.mgr.schema_gate().close(left, interrupt.as_deref())?;
        }
        *guard.borrow_mut() = depth + 1;
        Ok(DdlScope {
            shared: self,
            guard,
        })
    }

    /// Evaluate a row-independent expression (DEFAULT values).
    pub fn eval_const(&self, e: &Expr) -> Result<Value> {
        let mut txn = self
            .mgr
            .begin(Isolation::RepeatableRead, std::time::Duration::from_secs(1));
        let mut st = SessState::new(self.globals.clone());
        let mut ex = Exec::new(self, &mut txn, &mut st, &[]);
        let v = ex.eval(e, &[]);
        drop(ex);
        self.mgr.rollback(&mut txn);
        v
    }

    /// Run `f` with a throwaway statement context (DDL evaluating expressions on rows).
    pub fn with_exec(&self, f: &mut dyn FnMut(&mut Exec<'_>) -> Result<()>) -> Result<()> {
        let mut txn = self
            .mgr
            .begin(Isolation::RepeatableRead, std::time::Duration::from_secs(1));
        let mut st = SessState::new(self.globals.clone());
        let mut ex = Exec::new(self, &mut txn, &mut st, &[]);
        let r = f(&mut ex);
        drop(ex);
        self.mgr.rollback(&mut txn);
        r
    }

    fn last_key_int(&self, t: &TableDef, tree: TreeId, col: Option<usize>) -> Result<u64> {
        let mut max = 0u64;
        self.store().scan(
            tree,
            std::ops::Bound::Unbounded,
            std::ops::Bound::Unbounded,
            true,
            &mut |k, v| {
                match col {
                    Some(c) => {
                        let row = crate::row::decode_row(v)?;
                        max = row.get(c).and_then(|x| x.to_i64()).unwrap_or(0).max(0) as u64;
                    }
                    None => {
                        // Hidden row id: 0x01 + i128 big endian (sign flipped).
                        if k.len() == 17 {
                            let mut b = [0u8; 16];
                            b.copy_from_slice(&k[1..17]);
                            max = (u128::from_be_bytes(b) ^ (1u128 << 127)) as u64;
                        }
                    }
                }
                Ok(false)
            },
        )?;
        let _ = t;
        Ok(max)
    }

    /// The next AUTO_INCREMENT value for `t` (counter initialized from the data).
    pub fn next_autoinc(&self, _ex: &Exec<'_>, t: &Arc<TableDef>) -> Result<u64> {
        let mut m = self.autoinc.lock();
        if let Some(n) = m.get_mut(&t.id) {
            let v = *n;
            *n += 1;
            return Ok(v);
        }
        let next = self.autoinc_from_data(t)?;
        m.insert(t.id, next + 1);
        Ok(next)
    }

    /// The value the next AUTO_INCREMENT insert into `t` would get, without taking it
    /// (SHOW CREATE TABLE's `AUTO_INCREMENT=`, information_schema.TABLES); None for a
    /// table without an AUTO_INCREMENT column.
    pub fn peek_autoinc(&self, t: &TableDef) -> Result<Option<u64>> {
        if t.auto_increment_column().is_none() {
            return Ok(None);
        }
        if let Some(n) = self.autoinc.lock().get(&t.id) {
            return Ok(Some(*n));
        }
        self.autoinc_from_data(t).map(Some)
    }

    /// One more than the largest value in `t`'s AUTO_INCREMENT column, at least the
    /// table's `AUTO_INCREMENT=` start.
    fn autoinc_from_data(&self, t: &TableDef) -> Result<u64> {
        let col = t.auto_increment_column();
        let max = match col {
            Some(c) if t.primary.first() == Some(&c) => self.last_key_int(t, t.root, Some(c))?,
            Some(c) => {
                let mut max = 0u64;
                self.store().scan(
                    t.root,
                    std::ops::Bound::Unbounded,
                    std::ops::Bound::Unbounded,
                    false,
                    &mut |_k, v| {
                        let row = crate::row::decode_row(v)?;
                        max =
                            max.max(row.get(c).and_then(|x| x.to_i64()).unwrap_or(0).max(0) as u64);
                        Ok(true)
                    },
                )?;
                max
            }
            None => 0,
        };
        Ok((max + 1).max(t.auto_increment_start))
    }

    /// An explicit value was stored in the AUTO_INCREMENT column.
    pub fn saw_autoinc(&self, t: &TableDef, n: u64) {
        let mut m = self.autoinc.lock();
        if let Some(cur) = m.get_mut(&t.id) {
            if n >= *cur {
                *cur = n + 1;
            }
        }
    }

    pub fn next_rowid(&self, _ex: &Exec<'_>, t: &Arc<TableDef>) -> Result<u64> {
        let mut m = self.rowids.lock();
        if let Some(n) = m.get_mut(&t.id) {
            *n += 1;
            return Ok(*n);
        }
        let max = self.last_key_int(t, t.root, None)?;
        m.insert(t.id, max + 1);
        Ok(max + 1)
    }

    pub fn forget_counters(&self, table_id: u64) {
        self.autoinc.lock().remove(&table_id);
        self.rowids.lock().remove(&table_id);
    }
}

pub(crate) fn read_only_error() -> Error {
    Error::new(
        crate::error::code::ER_OPTION_PREVENTS_STATEMENT,
        "The MySQL server is running with the --read-only option so it cannot execute this statement",
    )
}

/// A database: cheap to clone, thread-safe. Sessions are created from it.
#[derive(Clone)]
pub struct Database {
    pub(crate) shared: Arc<Shared>,
}

impl Database {
    /// Open (or create) a database in `dir` on the embedded six-node, three-AZ volume.
    pub fn open(dir: impl AsRef<Path>) -> Result<Database> {
        Self::open_with(dir, DatabaseOptions::default())
    }

    pub fn open_with(dir: impl AsRef<Path>, opts: DatabaseOptions) -> Result<Database> {
        std::fs::create_dir_all(dir.as_ref()).map_err(|e| {
            Error::new(
                crate::error::code::ER_INTERNAL,
                format!("Can't create directory '{}': {e}", dir.as_ref().display()),
            )
        })?;
        let mut cfg = VolumeConfig::on_disk(dir.as_ref().join("volume"));
        cfg.fsync = opts.fsync;
        Self::open_volume(cfg, opts)
    }

    /// A throwaway database with no disk (the six-node volume in memory), for tests.
    pub fn open_in_memory() -> Result<Database> {
        let mut cfg = VolumeConfig::in_memory();
        cfg.fsync = false;
        Self::open_volume(
            cfg,
            DatabaseOptions {
                fsync: false,
                ..Default::default()
            },
        )
    }

    /// Open on a volume described by `config` (own nodes, in memory, or over TCP).
    pub fn open_volume(config: VolumeConfig, opts: DatabaseOptions) -> Result<Database> {
        let volume: Arc<dyn Volume> = LocalVolume::open(config)?;
        Self::from_store(Store::paged(volume, opts.buffer_pool_bytes)?, false)
    }

    /// Open on an existing volume handle (shared with replicas in the same process).
    pub fn open_on(volume: Arc<dyn Volume>, opts: DatabaseOptions) -> Result<Database> {
        Self::from_store(Store::paged(volume, opts.buffer_pool_bytes)?, false)
    }

    /// Open a read replica on a read-only handle of a volume a writer has initialized
    /// (`LocalVolume::follower()`). It serves reads at its read point, which a
    /// background thread advances as the log stream reports the volume durable; writes
    /// and DDL fail with 1290. Dropping every handle of the database stops the thread.
    pub fn open_replica(volume: Arc<dyn Volume>, opts: DatabaseOptions) -> Result<Database> {
        let o = crate::replica::open(volume, opts.buffer_pool_bytes)?;
        let shared = Arc::new(Shared {
            mgr: TxnManager::new_replica(o.store.clone()),
            catalog: RwLock::new(Arc::new(o.catalog.clone())),
            ddl_lock: ReentrantMutex::new(RefCell::new(0)),
            globals: Arc::new(RwLock::new(default_sysvars())),
            autoinc: Mutex::new(HashMap::new()),
            rowids: Mutex::new(HashMap::new()),
            sessions: Mutex::new(HashMap::new()),
            started: Instant::now(),
            questions: AtomicU64::new(0),
            next_conn: AtomicU32::new(1),
            read_only: true,
            replica: Some(o.state.clone()),
            applier: Mutex::new(None),
            cluster_view: RwLock::new(None),
            secure_file_priv: RwLock::new(None),
        });
        let applier = crate::replica::start(o, Arc::downgrade(&shared))?;
        *shared.applier.lock() = Some(applier);
        Ok(Database { shared })
    }

    /// Allow `LOAD DATA INFILE` (without LOCAL) to read server-side files under `dir`
    /// (MySQL's `--secure-file-priv`); None (the default) refuses every such file with
    /// error 1290. Shown as `@@secure_file_priv`.
    pub fn set_secure_file_priv(&self, dir: Option<std::path::PathBuf>) {
        self.shared.globals.write().insert(
            "secure_file_priv".into(),
            match &dir {
                Some(d) => Value::Str(format!("{}/", d.display()).replace("//", "/")),
                None => Value::Null,
            },
        );
        *self.shared.secure_file_priv.write() = dir;
    }

    /// Tell this instance how to list every instance of its cluster (for
    /// `information_schema.replica_host_status`); the server sets it.
    pub fn set_cluster_view(&self, view: ClusterView) {
        *self.shared.cluster_view.write() = Some(view);
    }

    /// This instance as a row of `information_schema.replica_host_status`.
    pub fn instance_info(&self, server_id: &str) -> InstanceInfo {
        crate::replica::self_info(&self.shared, server_id)
    }

    /// Whether this instance is a read replica.
    pub fn is_replica(&self) -> bool {
        self.shared.replica.is_some()
    }

    /// Read point, volume VDL and lag of a replica (None on a writer).
    pub fn replica_status(&self) -> Option<ReplicaStatus> {
        self.shared.replica.as_ref().map(|r| r.status())
    }

    fn from_store(store: Store, read_only: bool) -> Result<Database> {
        let store = Arc::new(store);
        let mut records = Vec::new();
        store.scan(
            store.system_tree(),
            std::ops::Bound::Unbounded,
            std::ops::Bound::Unbounded,
            false,
            &mut |k, v| {
                records.push((k.to_vec(), v.to_vec()));
                Ok(true)
            },
        )?;
        let cat = catalog::load(records)?;
        let shared = Arc::new(Shared {
            mgr: TxnManager::new(store),
            catalog: RwLock::new(Arc::new(cat)),
            ddl_lock: ReentrantMutex::new(RefCell::new(0)),
            globals: Arc::new(RwLock::new(default_sysvars())),
            autoinc: Mutex::new(HashMap::new()),
            rowids: Mutex::new(HashMap::new()),
            sessions: Mutex::new(HashMap::new()),
            started: Instant::now(),
            questions: AtomicU64::new(0),
            next_conn: AtomicU32::new(1),
            read_only,
            replica: None,
            applier: Mutex::new(None),
            cluster_view: RwLock::new(None),
            secure_file_priv: RwLock::new(None),
        });
        let db = Database { shared };
        db.bootstrap()?;
        Ok(db)
    }

    /// First open: the default databases.
    fn bootstrap(&self) -> Result<()> {
        if self.shared.read_only {
            return Ok(());
        }
        let cat = self.shared.catalog();
        for d in ["mysql", "sys"] {
            if !cat.db_exists(d) {
                crate::sql::ddl::create_database(&self.shared, d, true)?;
            }
        }
        // The log tables every MySQL server has: dump tools (mysqldump of the `mysql`
        // database, --all-databases) read their structure unconditionally. Borealis logs
        // to neither, so they stay empty.
        let mut session = None;
        for (name, ddl) in LOG_TABLES {
            if cat.get_table("mysql", name).is_err() {
                session.get_or_insert_with(|| self.session()).execute(ddl)?;
            }
        }
        Ok(())
    }

    /// A new session as root@localhost.
    pub fn session(&self) -> Session {
        self.session_with(SessionInfo::default())
    }

    /// A new session for an authenticated connection.
    pub fn session_with(&self, info: SessionInfo) -> Session {
        Session::new(self.clone(), info)
    }

    /// A fresh connection id (unique for the life of the process).
    pub fn next_connection_id(&self) -> u32 {
        self.shared.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    /// The account `user` connecting from `host`, if it exists.
    pub fn lookup_user(&self, user: &str, host: &str) -> Option<UserAccount> {
        let cat = self.shared.catalog();
        let u = cat.find_user(user, host)?;
        Some(UserAccount {
            user: u.user.clone(),
            host: u.host.clone(),
            plugin: u.plugin.clone(),
            native_hash: u
                .native_hash
                .as_ref()
                .and_then(|h| h.as_slice().try_into().ok()),
            sha2_hash: u
                .sha2_hash
                .as_ref()
                .and_then(|h| h.as_slice().try_into().ok()),
        })
    }

    /// On first start: create root@% with `password` if no root account exists.
    /// Returns true when it created the account.
    pub fn bootstrap_root(&self, password: &str) -> Result<bool> {
        if self.shared.catalog().users.keys().any(|(u, _)| u == "root") {
            return Ok(false);
        }
        // mysql_native_password by default: libmariadb (the mysql CLI, sysbench) loads
        // its caching_sha2 plugin lazily and fails when several threads connect at once.
        crate::sql::accounts::create_user_record(
            &self.shared,
            "root",
            "%",
            Some(password),
            DEFAULT_AUTH_PLUGIN,
            true,
        )?;
        Ok(true)
    }

    /// Whether any account exists (a fresh database has none until bootstrap_root).
    pub fn has_users(&self) -> bool {
        !self.shared.catalog().users.is_empty()
    }

    /// Ask the session with this connection id to stop its running statement
    /// (`KILL QUERY`) or to close (`KILL`). Returns false if there is no such session.
    pub fn kill(&self, connection_id: u32, query_only: bool) -> bool {
        let s = self.shared.sessions.lock();
        match s.get(&connection_id) {
            Some(p) => {
                let p = p.lock();
                p.kill_query.store(true, Ordering::SeqCst);
                if !query_only {
                    p.kill_conn.store(true, Ordering::SeqCst);
                }
                true
            }
            None => false,
        }
    }

    /// Uptime, threads and questions for COM_STATISTICS.
    pub fn statistics(&self) -> String {
        let up = self.shared.started.elapsed().as_secs().max(1);
        let threads = self.shared.sessions.lock().len();
        let q = self.shared.questions.load(Ordering::Relaxed);
        let tables = self.shared.catalog().tables.len();
        format!(
            "Uptime: {up}  Threads: {threads}  Questions: {q}  Slow queries: 0  Opens: {tables}  Flush tables: 1  Open tables: {tables}  Queries per second avg: {:.3}",
            q as f64 / up as f64
        )
    }
}

/// `mysql.general_log` and `mysql.slow_log` as MySQL 8.0 defines them.
const LOG_TABLES: [(&str, &str); 2] = [
    (
        "general_log",
        "CREATE TABLE IF NOT EXISTS mysql.general_log (\
         event_time timestamp(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6), \
         user_host mediumtext NOT NULL, thread_id bigint unsigned NOT NULL, \
         server_id int unsigned NOT NULL, command_type varchar(64) NOT NULL, \
         argument mediumblob NOT NULL) ENGINE=CSV COMMENT='General log'",
    ),
    (
        "slow_log",
        "CREATE TABLE IF NOT EXISTS mysql.slow_log (\
         start_time timestamp(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6), \
         user_host mediumtext NOT NULL, query_time time(6) NOT NULL, lock_time time(6) NOT NULL, \
         rows_sent int NOT NULL, rows_examined int NOT NULL, db varchar(512) NOT NULL, \
         last_insert_id int NOT NULL, insert_id int NOT NULL, server_id int unsigned NOT NULL, \
         sql_text mediumblob NOT NULL, thread_id bigint unsigned NOT NULL) \
         ENGINE=CSV COMMENT='Slow log'",
    ),
];
