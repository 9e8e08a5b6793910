//! SQLite in-process through rusqlite (bundled), the embedded peer: WAL journal,
//! `synchronous` FULL or NORMAL as stated in the results, one connection per worker.
//!
//! SQLite has one writer at a time. Write workloads open transactions with
//! `BEGIN IMMEDIATE` so a transaction that reads first cannot fail to upgrade its lock
//! at its first write (SQLITE_BUSY_SNAPSHOT), which a busy timeout cannot resolve;
//! remaining SQLITE_BUSY/LOCKED errors are retried like a server deadlock.

use std::collections::HashMap;
use std::path::PathBuf;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{ErrorCode, OpenFlags, ToSql};

use crate::target::{BenchError, Conn, Result, Target, TargetInfo, TargetOptions};
use crate::workload::data::Row;
use crate::workload::stmt::sql;
use crate::workload::{Call, Dialect, OltpOptions, Param, Stmt, StmtKind};

pub struct SqliteTarget {
    path: PathBuf,
    sync: String,
    /// Keeps a temporary database alive for the target's lifetime.
    _tmp: Option<tempfile::TempDir>,
}

fn err(e: rusqlite::Error) -> BenchError {
    let retryable = matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    );
    BenchError {
        code: None,
        message: e.to_string(),
        retryable,
    }
}

impl SqliteTarget {
    /// `spec` is a file path, or empty for a file in a fresh temporary directory.
    pub fn open(spec: &str, opts: &TargetOptions) -> Result<SqliteTarget> {
        let sync = opts.sqlite_sync.to_ascii_uppercase();
        if !matches!(sync.as_str(), "FULL" | "NORMAL" | "OFF" | "EXTRA") {
            return Err(BenchError::new(format!(
                "synchronous must be FULL, NORMAL, EXTRA or OFF, not {sync}"
            )));
        }
        let (path, tmp) = if spec.is_empty() {
            let dir = tempfile::Builder::new()
                .prefix("borealis-bench-sqlite")
                .tempdir()
                .map_err(|e| BenchError::new(e.to_string()))?;
            (dir.path().join("sbtest.db"), Some(dir))
        } else {
            (PathBuf::from(spec), None)
        };
        Ok(SqliteTarget {
            path,
            sync,
            _tmp: tmp,
        })
    }

    fn open_conn(&self) -> Result<rusqlite::Connection> {
        let c = rusqlite::Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(err)?;
        let mode: String = c
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .map_err(err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(BenchError::new(format!("SQLite refused WAL mode: {mode}")));
        }
        c.execute_batch(&format!("PRAGMA synchronous={}", self.sync))
            .map_err(err)?;
        c.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(err)?;
        c.set_prepared_statement_cache_capacity(256);
        Ok(c)
    }
}

impl Target for SqliteTarget {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn connect(&self, writes: bool) -> Result<Box<dyn Conn>> {
        Ok(Box::new(SqliteConn {
            conn: self.open_conn()?,
            texts: HashMap::new(),
            begin: if writes { "BEGIN IMMEDIATE" } else { "BEGIN" },
            number_of_ranges: 10,
        }))
    }

    fn info(&self) -> TargetInfo {
        TargetInfo {
            kind: "sqlite".into(),
            url: format!("sqlite:{}", self.path.display()),
            version: rusqlite::version().to_string(),
            durability: format!("journal_mode=WAL synchronous={}", self.sync),
        }
    }
}

struct SqliteConn {
    conn: rusqlite::Connection,
    /// SQL text per statement; rusqlite's statement cache (keyed by text) keeps each
    /// prepared once per connection.
    texts: HashMap<Stmt, String>,
    begin: &'static str,
    number_of_ranges: u32,
}

impl ToSql for Param {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Param::Int(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
            Param::Str(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
        })
    }
}

impl SqliteConn {
    fn text(&mut self, s: Stmt) -> String {
        let n = self.number_of_ranges;
        let begin = self.begin;
        self.texts
            .entry(s)
            .or_insert_with(|| match s.kind {
                StmtKind::Begin => begin.to_string(),
                _ => sql(s, Dialect::Sqlite, n),
            })
            .clone()
    }
}

impl Conn for SqliteConn {
    fn prepare(&mut self, stmts: &[Stmt], opts: &OltpOptions) -> Result<()> {
        self.number_of_ranges = opts.number_of_ranges;
        for &s in stmts {
            let text = self.text(s);
            self.conn.prepare_cached(&text).map_err(err)?;
        }
        Ok(())
    }

    fn exec(&mut self, call: &Call) -> Result<u64> {
        let text = self.text(call.stmt);
        let mut st = self.conn.prepare_cached(&text).map_err(err)?;
        let params = rusqlite::params_from_iter(call.params.iter());
        if st.readonly() && st.column_count() > 0 {
            let mut rows = st.query(params).map_err(err)?;
            let mut n = 0u64;
            while let Some(r) = rows.next().map_err(err)? {
                // Touch the value, as a client reading the result would.
                r.get_ref(0).map_err(err)?;
                n += 1;
            }
            Ok(n)
        } else {
            Ok(st.execute(params).map_err(err)? as u64)
        }
    }

    fn query(&mut self, text: &str) -> Result<u64> {
        let mut st = self.conn.prepare(text).map_err(err)?;
        if st.column_count() == 0 {
            return Ok(st.execute([]).map_err(err)? as u64);
        }
        let mut rows = st.query([]).map_err(err)?;
        let mut n = 0u64;
        while rows.next().map_err(err)?.is_some() {
            n += 1;
        }
        Ok(n)
    }

    fn load(&mut self, table: u32, rows: &[Row]) -> Result<()> {
        let tx = self.conn.transaction().map_err(err)?;
        {
            let mut st = tx
                .prepare_cached(&format!(
                    "INSERT INTO sbtest{table}(k, c, pad) VALUES (?, ?, ?)"
                ))
                .map_err(err)?;
            for r in rows {
                st.execute(rusqlite::params![r.k, r.c, r.pad])
                    .map_err(err)?;
            }
        }
        tx.commit().map_err(err)
    }

    fn rollback(&mut self) -> Result<()> {
        if !self.conn.is_autocommit() {
            self.conn.execute_batch("ROLLBACK").map_err(err)?;
        }
        Ok(())
    }
}
