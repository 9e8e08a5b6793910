//! A scripted stand-in for the engine, to test the wire protocol on its own.
//!
//! It knows one account (`root`, with the password given, under the plugin given) and a
//! handful of statements chosen to exercise protocol paths, not SQL:
//! - `SELECT ?, ?, ...` (prepared) echoes its parameters back, each column typed after
//!   the value, so every parameter type makes a round trip through the binary protocol;
//! - `ECHO <text>` returns one text row; `ROWS <n>` returns n rows of (i, 'row i');
//! - `BEGIN` / `COMMIT` drive the IN_TRANS flag, `SET AUTOCOMMIT = 0|1` the AUTOCOMMIT one;
//! - `UPDATE` returns affected 1 with info "Rows matched: 3  Changed: 1  Warnings: 0";
//! - `INSERT` returns last_insert_id 42; `WARN` leaves 2 warnings;
//! - `SLEEP <ms>` blocks (for KILL tests); any other `SELECT a, b` returns one row with
//!   the expressions' text; anything else is error 1064.
//!
//! A multi-statement text is split on ';'.

use std::sync::Arc;
use std::time::Duration;

use borealis_engine::error::code;
use borealis_engine::result::{charset, flags};
use borealis_engine::{
    Column, ColumnType, Error, QueryResult, Result, SessionInfo, SessionStatus, UserAccount, Value,
};
use borealis_server::{Backend, BackendSession, PreparedInfo};
use parking_lot::Mutex;
use sha1::{Digest, Sha1};
use sha2::Sha256;

pub struct FakeBackend {
    account: UserAccount,
    pub kills: Mutex<Vec<(u32, bool)>>,
}

impl FakeBackend {
    pub fn new(password: &str, plugin: &str) -> Arc<FakeBackend> {
        let (native, sha2) = if password.is_empty() {
            (None, None)
        } else {
            (
                Some(Sha1::digest(Sha1::digest(password.as_bytes())).into()),
                Some(Sha256::digest(Sha256::digest(password.as_bytes())).into()),
            )
        };
        Arc::new(FakeBackend {
            account: UserAccount {
                user: "root".into(),
                host: "%".into(),
                plugin: plugin.into(),
                native_hash: native,
                sha2_hash: sha2,
            },
            kills: Mutex::new(Vec::new()),
        })
    }
}

impl Backend for FakeBackend {
    fn lookup_user(&self, user: &str, _host: &str) -> Option<UserAccount> {
        (user == self.account.user).then(|| self.account.clone())
    }

    fn open_session(&self, info: SessionInfo) -> Box<dyn BackendSession> {
        Box::new(FakeSession {
            db: info.database,
            status: SessionStatus {
                autocommit: true,
                ..Default::default()
            },
            prepared: Vec::new(),
        })
    }

    fn kill(&self, connection_id: u32, query_only: bool) -> bool {
        self.kills.lock().push((connection_id, query_only));
        true
    }
}

struct FakeSession {
    db: Option<String>,
    status: SessionStatus,
    prepared: Vec<Option<String>>,
}

fn column_for(v: &Value, name: &str) -> Column {
    let ty = match v {
        Value::Null => ColumnType::Null,
        Value::Int(_) | Value::UInt(_) => ColumnType::LongLong,
        Value::Double(_) => ColumnType::Double,
        Value::Decimal(_) => ColumnType::NewDecimal,
        Value::Str(_) => ColumnType::VarString,
        Value::Bytes(_) => ColumnType::Blob,
        Value::Date(_) => ColumnType::Date,
        Value::DateTime(_) => ColumnType::DateTime,
        Value::Time(_) => ColumnType::Time,
    };
    let mut c = Column::computed(name, ty);
    if matches!(v, Value::UInt(_)) {
        c.flags |= flags::UNSIGNED;
    }
    if matches!(v, Value::Str(_)) {
        c.charset = charset::UTF8MB4_GENERAL_CI;
    }
    c
}

impl FakeSession {
    fn run(&mut self, sql: &str) -> Result<QueryResult> {
        self.status.warnings = 0;
        let s = sql.trim();
        let upper = s.to_ascii_uppercase();
        if let Some(text) = s.strip_prefix("ECHO ") {
            let v = Value::Str(text.to_string());
            return Ok(QueryResult::Rows {
                columns: vec![column_for(&v, "echo")],
                rows: vec![vec![v]],
            });
        }
        if let Some(n) = upper.strip_prefix("ROWS ") {
            let n: i64 = n.trim().parse().map_err(|_| Error::parse(s))?;
            let rows = (0..n)
                .map(|i| vec![Value::Int(i), Value::Str(format!("row {i}"))])
                .collect();
            return Ok(QueryResult::Rows {
                columns: vec![
                    column_for(&Value::Int(0), "i"),
                    column_for(&Value::Str(String::new()), "s"),
                ],
                rows,
            });
        }
        if let Some(ms) = upper.strip_prefix("SLEEP ") {
            let ms: u64 = ms.trim().parse().map_err(|_| Error::parse(s))?;
            std::thread::sleep(Duration::from_millis(ms));
            return Ok(QueryResult::ok(0));
        }
        match upper.as_str() {
            "SELECT @@MAX_ALLOWED_PACKET" => Ok(QueryResult::Rows {
                columns: vec![column_for(&Value::Int(0), "@@max_allowed_packet")],
                rows: vec![vec![Value::Int(64 << 20)]],
            }),
            "SELECT @@SOCKET" => Ok(QueryResult::Rows {
                columns: vec![column_for(&Value::Str(String::new()), "@@socket")],
                rows: vec![vec![Value::Str(String::new())]],
            }),
            "SELECT DATABASE()" => {
                let v = self.db.clone().map_or(Value::Null, Value::Str);
                Ok(QueryResult::Rows {
                    columns: vec![column_for(&Value::Str(String::new()), "DATABASE()")],
                    rows: vec![vec![v]],
                })
            }
            "BEGIN" | "START TRANSACTION" => {
                self.status.in_transaction = true;
                Ok(QueryResult::ok(0))
            }
            "COMMIT" | "ROLLBACK" => {
                self.status.in_transaction = false;
                Ok(QueryResult::ok(0))
            }
            "SET AUTOCOMMIT = 0" | "SET AUTOCOMMIT=0" => {
                self.status.autocommit = false;
                Ok(QueryResult::ok(0))
            }
            "SET AUTOCOMMIT = 1" | "SET AUTOCOMMIT=1" => {
                self.status.autocommit = true;
                Ok(QueryResult::ok(0))
            }
            _ if upper.starts_with("SET NAMES ") => Ok(QueryResult::ok(0)),
            "UPDATE" => Ok(QueryResult::Ok {
                affected_rows: 1,
                last_insert_id: 0,
                info: "Rows matched: 3  Changed: 1  Warnings: 0".into(),
            }),
            "INSERT" => Ok(QueryResult::Ok {
                affected_rows: 1,
                last_insert_id: 42,
                info: String::new(),
            }),
            "WARN" => {
                self.status.warnings = 2;
                Ok(QueryResult::ok(0))
            }
            _ if upper.starts_with("SELECT ") => {
                // Any other SELECT list: one row echoing each expression's text.
                let list = s[7..].trim();
                let list = match list.to_ascii_uppercase().rfind(" LIMIT ") {
                    Some(i) => &list[..i],
                    None => list,
                };
                let exprs: Vec<&str> = list.split(',').map(str::trim).collect();
                Ok(QueryResult::Rows {
                    columns: exprs
                        .iter()
                        .map(|e| column_for(&Value::Str(String::new()), e))
                        .collect(),
                    rows: vec![exprs.iter().map(|e| Value::Str(e.to_string())).collect()],
                })
            }
            _ => Err(Error::parse(s)),
        }
    }
}

impl BackendSession for FakeSession {
    fn execute(&mut self, sql: &str) -> Result<QueryResult> {
        self.run(sql)
    }

    fn execute_script(&mut self, sql: &str) -> Vec<Result<QueryResult>> {
        let mut out = Vec::new();
        for part in sql.split(';').filter(|p| !p.trim().is_empty()) {
            let r = self.run(part);
            let stop = r.is_err();
            out.push(r);
            if stop {
                break;
            }
        }
        out
    }

    fn prepare(&mut self, sql: &str) -> Result<PreparedInfo> {
        let params = sql.matches('?').count();
        let upper = sql.trim().to_ascii_uppercase();
        if !(upper.starts_with("SELECT ?") || params == 0) {
            return Err(Error::parse(sql));
        }
        if params == 0 {
            // Validate by running nothing: only known statements prepare.
            let known = matches!(upper.as_str(), "BEGIN" | "COMMIT" | "UPDATE" | "INSERT")
                || upper.starts_with("ROWS ")
                || upper.starts_with("ECHO ");
            if !known {
                return Err(Error::parse(sql));
            }
        }
        self.prepared.push(Some(sql.to_string()));
        let columns = (0..params)
            .map(|i| Column::computed(format!("p{i}"), ColumnType::VarString))
            .collect();
        Ok(PreparedInfo {
            handle: self.prepared.len() as u64,
            param_count: params,
            columns,
        })
    }

    fn execute_prepared(&mut self, handle: u64, params: &[Value]) -> Result<QueryResult> {
        let sql = self
            .prepared
            .get(handle as usize - 1)
            .cloned()
            .flatten()
            .ok_or_else(|| Error::new(code::ER_UNKNOWN_STMT_HANDLER, "unknown statement"))?;
        if params.is_empty() {
            return self.run(&sql);
        }
        Ok(QueryResult::Rows {
            columns: params
                .iter()
                .enumerate()
                .map(|(i, v)| column_for(v, &format!("p{i}")))
                .collect(),
            rows: vec![params.to_vec()],
        })
    }

    fn close_prepared(&mut self, handle: u64) {
        if let Some(slot) = self.prepared.get_mut(handle as usize - 1) {
            *slot = None;
        }
    }

    fn status(&self) -> SessionStatus {
        self.status
    }

    fn use_database(&mut self, db: &str) -> Result<()> {
        if db == "nope" {
            return Err(Error::new(
                code::ER_BAD_DB,
                format!("Unknown database '{db}'"),
            ));
        }
        self.db = Some(db.to_string());
        Ok(())
    }

    fn current_database(&self) -> Option<String> {
        self.db.clone()
    }

    fn field_list(&mut self, table: &str, _wildcard: &str) -> Result<Vec<Column>> {
        if table != "t" {
            return Err(Error::no_such_table(
                self.db.as_deref().unwrap_or(""),
                table,
            ));
        }
        let mut id = column_for(&Value::Int(0), "id");
        id.table = "t".into();
        id.flags |= flags::NOT_NULL | flags::PRI_KEY;
        Ok(vec![id])
    }

    fn reset(&mut self) {
        self.prepared.clear();
        self.status = SessionStatus {
            autocommit: true,
            ..Default::default()
        };
    }
}
