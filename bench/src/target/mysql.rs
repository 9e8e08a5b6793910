//! A MySQL-protocol server through the `mysql` crate: COM_STMT_PREPARE once per
//! statement per connection, COM_STMT_EXECUTE per call, like sysbench's
//! `--db-ps-mode=auto`; oltp_insert's INSERT goes as COM_QUERY text, as in sysbench.
//!
//! Connections use TCP only (`prefer_socket=false`): the crate would otherwise try to
//! hop to the server's Unix socket, and sysbench with `--mysql-host=127.0.0.1` uses TCP.

use std::collections::HashMap;

use mysql::prelude::Queryable;
use mysql::{Opts, OptsBuilder, Params, Statement, Value};

use crate::target::{BenchError, Conn, Result, Target, TargetInfo};
use crate::workload::stmt::{inline, sql};
use crate::workload::{Call, Dialect, OltpOptions, Param, Stmt, StmtKind};

/// Statements a connection may hold prepared at once (see `MysqlTarget::new`).
const STMT_CACHE: usize = 4096;

pub struct MysqlTarget {
    opts: Opts,
    url_shown: String,
}

fn err(e: mysql::Error) -> BenchError {
    match e {
        mysql::Error::MySqlError(me) => BenchError::with_code(me.code, me.message),
        other => BenchError::new(other.to_string()),
    }
}

impl MysqlTarget {
    pub fn new(url: &str) -> Result<MysqlTarget> {
        let opts = Opts::from_url(url).map_err(|e| BenchError::new(format!("bad URL: {e}")))?;
        let shown = format!(
            "mysql://{}@{}:{}/{}",
            opts.get_user().unwrap_or(""),
            opts.get_ip_or_hostname(),
            opts.get_tcp_port(),
            opts.get_db_name().unwrap_or("")
        );
        let opts: Opts = OptsBuilder::from_opts(opts)
            .prefer_socket(false)
            .tcp_nodelay(true)
            // Each connection keeps every statement it prepared (one per statement per
            // table). The crate's statement cache (default 32) closes the least recently
            // used on the server when full, which left oltp_read_write over four tables
            // executing closed handles (1243 on every server); it must hold them all.
            .stmt_cache_size(STMT_CACHE)
            .into();
        Ok(MysqlTarget {
            opts,
            url_shown: shown,
        })
    }

    fn raw_conn(&self) -> Result<mysql::Conn> {
        mysql::Conn::new(self.opts.clone()).map_err(err)
    }
}

impl Target for MysqlTarget {
    fn dialect(&self) -> Dialect {
        Dialect::MySql
    }

    fn connect(&self, _writes: bool) -> Result<Box<dyn Conn>> {
        Ok(Box::new(MysqlConn {
            conn: self.raw_conn()?,
            stmts: HashMap::new(),
            number_of_ranges: 10,
        }))
    }

    fn info(&self) -> TargetInfo {
        let mut info = TargetInfo {
            kind: "mysql".into(),
            url: self.url_shown.clone(),
            version: "unknown".into(),
            durability: "unknown".into(),
        };
        let Ok(mut c) = self.raw_conn() else {
            return info;
        };
        if let Ok(Some(v)) = c.query_first::<String, _>("SELECT VERSION()") {
            info.version = v;
        }
        // Each variable separately: a server may lack some of them.
        let mut d = Vec::new();
        for var in ["innodb_flush_log_at_trx_commit", "sync_binlog", "log_bin"] {
            if let Ok(Some(v)) = c.query_first::<String, _>(format!("SELECT @@{var}")) {
                d.push(format!("{var}={v}"));
            }
        }
        if !d.is_empty() {
            info.durability = d.join(" ");
        }
        info
    }
}

struct MysqlConn {
    conn: mysql::Conn,
    stmts: HashMap<Stmt, Statement>,
    number_of_ranges: u32,
}

fn params(p: &[Param]) -> Params {
    if p.is_empty() {
        return Params::Empty;
    }
    Params::Positional(
        p.iter()
            .map(|p| match p {
                Param::Int(i) => Value::Int(*i),
                Param::Str(s) => Value::Bytes(s.as_bytes().to_vec()),
            })
            .collect(),
    )
}

impl Conn for MysqlConn {
    fn prepare(&mut self, stmts: &[Stmt], opts: &OltpOptions) -> Result<()> {
        self.number_of_ranges = opts.number_of_ranges;
        for &s in stmts {
            if !s.kind.prepared() {
                continue;
            }
            let text = sql(s, Dialect::MySql, opts.number_of_ranges);
            let st = self.conn.prep(text).map_err(err)?;
            self.stmts.insert(s, st);
        }
        Ok(())
    }

    fn exec(&mut self, call: &Call) -> Result<u64> {
        if call.stmt.kind == StmtKind::InsertAutoInc {
            let text = inline(
                &sql(call.stmt, Dialect::MySql, self.number_of_ranges),
                &call.params,
            );
            self.conn.query_drop(text).map_err(err)?;
            return Ok(self.conn.affected_rows());
        }
        let st = self
            .stmts
            .get(&call.stmt)
            .ok_or_else(|| BenchError::new(format!("statement {:?} not prepared", call.stmt)))?;
        let mut res = self.conn.exec_iter(st, params(&call.params)).map_err(err)?;
        let mut n = 0u64;
        for row in res.by_ref() {
            row.map_err(err)?;
            n += 1;
        }
        if n == 0 {
            n = res.affected_rows();
        }
        Ok(n)
    }

    fn query(&mut self, text: &str) -> Result<u64> {
        let mut res = self.conn.query_iter(text).map_err(err)?;
        let mut n = 0u64;
        for row in res.by_ref() {
            row.map_err(err)?;
            n += 1;
        }
        Ok(n.max(res.affected_rows()))
    }
}
