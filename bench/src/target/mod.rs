//! What the workloads run against: one [`Target`] trait, three implementations.
//!
//! - [`mysql::MysqlTarget`]: any MySQL-protocol server (Borealis, MariaDB) through the
//!   `mysql` crate, with server-side prepared statements, over TCP;
//! - [`embedded::EmbeddedTarget`]: the Borealis engine in-process (no network);
//! - [`sqlite::SqliteTarget`]: SQLite in-process through rusqlite, WAL mode, with
//!   `synchronous` FULL or NORMAL.
//!
//! A target hands out connections ([`Conn`]); each worker thread creates its own and uses
//! it only from that thread, so `Conn` need not be `Send`. Errors carry the MySQL error
//! code where there is one; [`BenchError::retryable`] marks the ones sysbench restarts
//! the event for (deadlock 1213, lock wait timeout 1205, 1020 "record changed since
//! last read": sysbench 1.0's default `--mysql-ignore-errors`; SQLITE_BUSY/LOCKED).

pub mod embedded;
pub mod mysql;
pub mod sqlite;

use std::fmt;

use crate::workload::data::{bulk_insert, Row};
use crate::workload::{Call, Dialect, OltpOptions, Stmt};

/// The error codes sysbench 1.0 ignores and retries by default.
pub const RETRYABLE_CODES: [u16; 3] = [1213, 1205, 1020];

/// An error from a target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BenchError {
    /// MySQL error code, when the target reported one.
    pub code: Option<u16>,
    pub message: String,
    /// The event should be rolled back and restarted (and counted as a retry).
    pub retryable: bool,
}

impl BenchError {
    pub fn new(message: impl Into<String>) -> BenchError {
        BenchError {
            code: None,
            message: message.into(),
            retryable: false,
        }
    }

    pub fn with_code(code: u16, message: impl Into<String>) -> BenchError {
        BenchError {
            code: Some(code),
            message: message.into(),
            retryable: RETRYABLE_CODES.contains(&code),
        }
    }
}

impl fmt::Display for BenchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.code {
            Some(c) => write!(f, "ERROR {c}: {}", self.message),
            None => write!(f, "{}", self.message),
        }
    }
}

impl std::error::Error for BenchError {}

pub type Result<T, E = BenchError> = std::result::Result<T, E>;

/// One client connection.
pub trait Conn {
    /// Prepare `stmts` (server-side where the target has it), once per connection.
    fn prepare(&mut self, stmts: &[Stmt], opts: &OltpOptions) -> Result<()>;

    /// Execute one call, reading its whole result set; returns the number of rows read
    /// (or affected, for statements without a result set).
    fn exec(&mut self, call: &Call) -> Result<u64>;

    /// Run one SQL text (DDL, loads, ROLLBACK); returns rows read or affected.
    fn query(&mut self, sql: &str) -> Result<u64>;

    /// Append rows to `sbtest{table}` (sysbench's multi-row INSERT by default).
    fn load(&mut self, table: u32, rows: &[Row]) -> Result<()> {
        self.query(&bulk_insert(table, rows)).map(|_| ())
    }

    /// Undo the open transaction, if any, before an event is retried or abandoned.
    fn rollback(&mut self) -> Result<()> {
        self.query("ROLLBACK").map(|_| ())
    }
}

/// What a run records about the system under test.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TargetInfo {
    /// "mysql", "embedded" or "sqlite".
    pub kind: String,
    /// The target's description without secrets (no password).
    pub url: String,
    pub version: String,
    /// The durability setting in force, in the target's own terms.
    pub durability: String,
}

/// A system under test.
pub trait Target: Send + Sync {
    fn dialect(&self) -> Dialect;

    /// A new connection. `writes` says the workload changes data (SQLite then takes its
    /// write lock at BEGIN, as a server's row locks would let the transaction proceed).
    fn connect(&self, writes: bool) -> Result<Box<dyn Conn>>;

    /// Version, durability and a printable URL.
    fn info(&self) -> TargetInfo;

    /// Process id of the server, when it runs on this machine and is known.
    fn server_pid(&self) -> Option<u32> {
        None
    }
}

/// Durability knobs that apply to in-process targets.
#[derive(Clone, Debug)]
pub struct TargetOptions {
    /// Embedded engine: fsync the storage logs on commit.
    pub fsync: bool,
    /// SQLite: `PRAGMA synchronous` (FULL or NORMAL).
    pub sqlite_sync: String,
    /// Database (schema) the sysbench tables live in, for the embedded engine.
    pub database: String,
}

impl Default for TargetOptions {
    fn default() -> Self {
        TargetOptions {
            fsync: true,
            sqlite_sync: "FULL".into(),
            database: "sbtest".into(),
        }
    }
}

/// Split `path?key=value&...` of an in-process target and apply the options
/// (`fsync=on|off` for embedded, `sync=FULL|NORMAL` for SQLite) over `base`.
fn split_options<'a>(rest: &'a str, base: &TargetOptions) -> Result<(&'a str, TargetOptions)> {
    let mut opts = base.clone();
    let Some((path, query)) = rest.split_once('?') else {
        return Ok((rest, opts));
    };
    for kv in query.split('&').filter(|kv| !kv.is_empty()) {
        match kv.split_once('=') {
            Some(("fsync", v)) => {
                opts.fsync = match v {
                    "on" | "true" | "1" => true,
                    "off" | "false" | "0" => false,
                    _ => return Err(BenchError::new(format!("fsync must be on or off: {v}"))),
                }
            }
            Some(("sync", v)) => opts.sqlite_sync = v.to_string(),
            Some(("database", v)) => opts.database = v.to_string(),
            _ => return Err(BenchError::new(format!("unknown target option '{kv}'"))),
        }
    }
    Ok((path, opts))
}

/// Parse a target description:
/// `mysql://user:pw@host:port/db`, `embedded:mem`, `embedded:/dir[?fsync=off]`,
/// `sqlite:/file.db[?sync=NORMAL]` (or `sqlite:` for a temporary file).
pub fn parse(spec: &str, opts: &TargetOptions) -> Result<Box<dyn Target>> {
    if spec.starts_with("mysql://") {
        Ok(Box::new(mysql::MysqlTarget::new(spec)?))
    } else if let Some(rest) = spec.strip_prefix("embedded:") {
        let (path, o) = split_options(rest, opts)?;
        Ok(Box::new(embedded::EmbeddedTarget::open(path, &o)?))
    } else if let Some(rest) = spec.strip_prefix("sqlite:") {
        let (path, o) = split_options(rest, opts)?;
        Ok(Box::new(sqlite::SqliteTarget::open(path, &o)?))
    } else {
        Err(BenchError::new(format!(
            "unknown target '{spec}': use mysql://user:pw@host:port/db, embedded:mem, embedded:/dir or sqlite:/file"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_codes_are_sysbenchs() {
        assert!(BenchError::with_code(1213, "deadlock").retryable);
        assert!(BenchError::with_code(1205, "lock wait").retryable);
        assert!(!BenchError::with_code(1062, "dup").retryable);
        assert!(!BenchError::new("io").retryable);
    }

    #[test]
    fn in_process_options_override_defaults() {
        let base = TargetOptions::default();
        let (p, o) = split_options("/x/db?sync=NORMAL&fsync=off", &base).expect("valid");
        assert_eq!(p, "/x/db");
        assert_eq!(o.sqlite_sync, "NORMAL");
        assert!(!o.fsync);
        assert!(split_options("/x?bogus=1", &base).is_err());
        let t = parse("sqlite:?sync=normal", &base).expect("temp sqlite");
        assert_eq!(t.info().durability, "journal_mode=WAL synchronous=NORMAL");
    }

    #[test]
    fn bad_target_is_an_error() {
        assert!(parse("postgres://x", &TargetOptions::default()).is_err());
    }
}
