//! Runs the golden files in `tests/slt/` against the embedded engine: one fresh
//! `Database::open_in_memory()` per file, one `Session` per sqllogictest connection,
//! values printed as the MySQL text protocol would send them (`Value::to_bytes`).
//! Labels: `borealis`, `embedded`. `SLT_FILTER` / `SLT_OVERRIDE` as in `slt_common`.

mod slt_common;

use std::fmt;

use borealis_engine::{Database, QueryResult, Session};
use slt_common::{format_cell, type_letter, Backend};
use sqllogictest::{DBOutput, DefaultColumnType, DB};

/// An engine error printed as the mysql CLI prints it.
#[derive(Debug)]
struct EngineError(borealis_engine::Error);

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ERROR {} ({}): {}",
            self.0.code,
            self.0.sqlstate(),
            self.0.message
        )
    }
}

impl std::error::Error for EngineError {}

struct EmbeddedDb {
    session: Session,
}

impl DB for EmbeddedDb {
    type Error = EngineError;
    type ColumnType = DefaultColumnType;

    fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, EngineError> {
        match self.session.execute(sql).map_err(EngineError)? {
            QueryResult::Ok { affected_rows, .. } => Ok(DBOutput::StatementComplete(affected_rows)),
            QueryResult::Rows { columns, rows } => Ok(DBOutput::Rows {
                types: columns.iter().map(|c| type_letter(c.ty as u8)).collect(),
                rows: rows
                    .iter()
                    .map(|row| {
                        row.iter()
                            .map(|v| format_cell(v.to_bytes().as_deref()))
                            .collect()
                    })
                    .collect(),
            }),
        }
    }

    fn error_sql_state(err: &EngineError) -> Option<String> {
        Some(err.0.sqlstate().to_string())
    }
}

struct EmbeddedBackend;

impl Backend for EmbeddedBackend {
    type Conn = EmbeddedDb;
    type Make = Box<dyn FnMut() -> std::future::Ready<Result<EmbeddedDb, EngineError>>>;

    fn name(&self) -> String {
        "embedded engine".into()
    }

    fn labels(&self) -> Vec<String> {
        vec!["borealis".into(), "embedded".into()]
    }

    fn prepare(&mut self, db: &str) -> Result<Self::Make, String> {
        let database = Database::open_in_memory().map_err(|e| e.to_string())?;
        database.set_secure_file_priv(Some(slt_common::load_data_dir()));
        let mut setup = database.session();
        setup
            .execute(&format!("CREATE DATABASE `{db}`"))
            .map_err(|e| e.to_string())?;
        let db = db.to_string();
        Ok(Box::new(move || {
            let mut session = database.session();
            std::future::ready(
                session
                    .use_database(&db)
                    .map(|()| EmbeddedDb { session })
                    .map_err(EngineError),
            )
        }))
    }
}

#[test]
fn slt_embedded() {
    slt_common::run_all(&mut EmbeddedBackend);
}
