//! A sqllogictest connection over the MySQL protocol (the `mysql` crate, text protocol),
//! used against a Borealis server and against any MySQL/MariaDB server for validating
//! the golden files. Invariants: one `Conn` per sqllogictest connection, its current
//! database is the file's scratch database; errors print as the mysql CLI prints them,
//! `ERROR <code> (<sqlstate>): <message>`, which is what `statement error` patterns match.

use std::fmt;

use mysql::prelude::Queryable;
use mysql::{Conn, Opts, OptsBuilder};
use sqllogictest::{DBOutput, DefaultColumnType, DB};

use crate::slt_common::{format_cell, type_letter, Backend};

/// An error as the client saw it.
#[derive(Debug)]
pub struct WireError {
    pub code: u16,
    pub state: String,
    pub message: String,
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ERROR {} ({}): {}", self.code, self.state, self.message)
    }
}

impl std::error::Error for WireError {}

impl From<mysql::Error> for WireError {
    fn from(e: mysql::Error) -> Self {
        match e {
            mysql::Error::MySqlError(m) => WireError {
                code: m.code,
                state: m.state,
                message: m.message,
            },
            // Not a server error: a lost connection or a malformed packet. Code 2013 is
            // the client library's CR_SERVER_LOST, so no `statement error` pattern for a
            // server error code can match it by accident.
            other => WireError {
                code: 2013,
                state: "HY000".into(),
                message: format!("client error: {other}"),
            },
        }
    }
}

/// One connection.
pub struct MysqlDb {
    conn: Conn,
}

impl DB for MysqlDb {
    type Error = WireError;
    type ColumnType = DefaultColumnType;

    fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, WireError> {
        let mut result = self.conn.query_iter(sql)?;
        let mut output = None;
        // Several result sets come back only for multi-statements; the first one is the
        // record's answer, the rest are drained (and their errors reported).
        while let Some(set) = result.iter() {
            let columns = set.columns();
            let types: Vec<DefaultColumnType> = columns
                .as_ref()
                .iter()
                .map(|c| type_letter(c.column_type() as u8))
                .collect();
            if types.is_empty() {
                let n = set.affected_rows();
                output.get_or_insert(DBOutput::StatementComplete(n));
                continue;
            }
            let mut rows = Vec::new();
            for row in set {
                let row = row?;
                let cells = row
                    .unwrap()
                    .into_iter()
                    .map(|v| match v {
                        mysql::Value::NULL => format_cell(None),
                        mysql::Value::Bytes(b) => format_cell(Some(&b)),
                        // The text protocol sends only bytes; anything else would come
                        // from the binary protocol, printed the way MySQL would.
                        other => format_cell(Some(other.as_sql(true).as_bytes())),
                    })
                    .collect();
                rows.push(cells);
            }
            output.get_or_insert(DBOutput::Rows { types, rows });
        }
        Ok(output.unwrap_or(DBOutput::StatementComplete(0)))
    }

    fn engine_name(&self) -> &str {
        ""
    }

    fn error_sql_state(err: &WireError) -> Option<String> {
        Some(err.state.clone())
    }
}

/// Which server is on the other end, from `SELECT VERSION()`.
pub fn server_flavor(url: &str) -> Result<&'static str, String> {
    let mut conn = Conn::new(Opts::from_url(url).map_err(|e| e.to_string())?)
        .map_err(|e| format!("cannot connect to {url}: {e}"))?;
    let v: Option<String> = conn
        .query_first("SELECT VERSION()")
        .map_err(|e| e.to_string())?;
    let v = v.unwrap_or_default();
    Ok(if v.contains("Borealis") {
        "borealis"
    } else if v.contains("MariaDB") {
        "mariadb"
    } else {
        "mysql"
    })
}

/// A MySQL-protocol server at `url`: each file gets its scratch database re-created.
pub struct MysqlBackend {
    pub url: String,
    pub flavor: &'static str,
    /// Extra labels (e.g. `server` when this is a Borealis server under test).
    pub extra_labels: Vec<String>,
}

impl MysqlBackend {
    pub fn new(url: &str, extra_labels: &[&str]) -> Result<MysqlBackend, String> {
        Ok(MysqlBackend {
            url: url.to_string(),
            flavor: server_flavor(url)?,
            extra_labels: extra_labels.iter().map(|s| s.to_string()).collect(),
        })
    }

    fn admin(&self) -> Result<Conn, String> {
        let opts = Opts::from_url(&self.url).map_err(|e| e.to_string())?;
        Conn::new(opts).map_err(|e| e.to_string())
    }
}

impl Backend for MysqlBackend {
    type Conn = MysqlDb;
    type Make = Box<dyn FnMut() -> std::future::Ready<Result<MysqlDb, WireError>>>;

    fn name(&self) -> String {
        // Leave the password out of the report.
        let shown = match (self.url.find("://"), self.url.rfind('@')) {
            (Some(s), Some(at)) if at > s => {
                format!("{}{}", &self.url[..s + 3], &self.url[at + 1..])
            }
            _ => self.url.clone(),
        };
        format!("{shown} ({})", self.flavor)
    }

    fn labels(&self) -> Vec<String> {
        let mut l = vec![self.flavor.to_string()];
        l.extend(self.extra_labels.iter().cloned());
        l
    }

    fn prepare(&mut self, db: &str) -> Result<Self::Make, String> {
        let mut admin = self.admin()?;
        admin
            .query_drop(format!("DROP DATABASE IF EXISTS `{db}`"))
            .and_then(|_| admin.query_drop(format!("CREATE DATABASE `{db}`")))
            .map_err(|e| e.to_string())?;
        let opts = Opts::from_url(&self.url).map_err(|e| e.to_string())?;
        // LOAD DATA LOCAL: send the named file from this machine's file system, as the
        // mysql CLI does (golden files create theirs under `$__TEST_DIR__`).
        let local = mysql::LocalInfileHandler::new(|name, out| {
            let name = String::from_utf8_lossy(name).into_owned();
            let mut f = std::fs::File::open(name)?;
            std::io::copy(&mut f, out)?;
            Ok(())
        });
        let opts: Opts = OptsBuilder::from_opts(opts)
            .db_name(Some(db))
            .local_infile_handler(Some(local))
            .into();
        Ok(Box::new(move || {
            std::future::ready(
                Conn::new(opts.clone())
                    .map(|conn| MysqlDb { conn })
                    .map_err(WireError::from),
            )
        }))
    }

    fn cleanup(&mut self, db: &str) {
        if let Ok(mut admin) = self.admin() {
            let _ = admin.query_drop(format!("DROP DATABASE IF EXISTS `{db}`"));
        }
    }
}
