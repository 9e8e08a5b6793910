//! The Borealis engine in-process: `Database::open(dir)` (or in memory), one `Session`
//! per worker, statements prepared once with `Session::prepare` and run with
//! `Session::execute_prepared`. No network and no protocol encoding: this measures the
//! engine itself.

use std::collections::HashMap;
use std::path::PathBuf;

use borealis_engine::{Database, DatabaseOptions, PreparedStatement, Session, Value};

use crate::target::{BenchError, Conn, Result, Target, TargetInfo, TargetOptions};
use crate::workload::stmt::{inline, sql};
use crate::workload::{Call, Dialect, OltpOptions, Param, Stmt, StmtKind};

pub struct EmbeddedTarget {
    db: Database,
    /// None for an in-memory database.
    dir: Option<PathBuf>,
    fsync: bool,
    database: String,
}

fn err(e: borealis_engine::Error) -> BenchError {
    BenchError::with_code(e.code, e.message)
}

impl EmbeddedTarget {
    /// `spec` is "mem" (or empty) for an in-memory database, else a directory.
    pub fn open(spec: &str, opts: &TargetOptions) -> Result<EmbeddedTarget> {
        let (db, dir) = if spec.is_empty() || spec == "mem" {
            (Database::open_in_memory().map_err(err)?, None)
        } else {
            let o = DatabaseOptions {
                fsync: opts.fsync,
                ..DatabaseOptions::default()
            };
            (
                Database::open_with(spec, o).map_err(err)?,
                Some(PathBuf::from(spec)),
            )
        };
        Ok(EmbeddedTarget {
            db,
            dir,
            fsync: opts.fsync,
            database: opts.database.clone(),
        })
    }

    /// The engine handle (to share one in-memory database with other code).
    pub fn database(&self) -> &Database {
        &self.db
    }
}

impl Target for EmbeddedTarget {
    fn dialect(&self) -> Dialect {
        Dialect::MySql
    }

    fn connect(&self, _writes: bool) -> Result<Box<dyn Conn>> {
        let mut session = self.db.session();
        let quoted = self.database.replace('`', "``");
        session
            .execute(&format!("CREATE DATABASE IF NOT EXISTS `{quoted}`"))
            .map_err(err)?;
        session.use_database(&self.database).map_err(err)?;
        Ok(Box::new(EmbeddedConn {
            session,
            stmts: HashMap::new(),
            number_of_ranges: 10,
        }))
    }

    fn info(&self) -> TargetInfo {
        TargetInfo {
            kind: "embedded".into(),
            url: match &self.dir {
                Some(d) => format!("embedded:{}", d.display()),
                None => "embedded:mem".into(),
            },
            version: borealis_engine::SERVER_VERSION.into(),
            durability: match (&self.dir, self.fsync) {
                (None, _) => "in memory (no disk)".into(),
                // What was asked of the engine; the engine decides how it honours it.
                (Some(d), true) => format!(
                    "DatabaseOptions.fsync=true (fsync on commit); segment logs: {}",
                    borealis_storage::flush::describe_for(d)
                ),
                (Some(_), false) => "DatabaseOptions.fsync=false".into(),
            },
        }
    }
}

struct EmbeddedConn {
    session: Session,
    stmts: HashMap<Stmt, PreparedStatement>,
    number_of_ranges: u32,
}

fn values(p: &[Param]) -> Vec<Value> {
    p.iter()
        .map(|p| match p {
            Param::Int(i) => Value::Int(*i),
            Param::Str(s) => Value::Str(s.clone()),
        })
        .collect()
}

impl Conn for EmbeddedConn {
    fn prepare(&mut self, stmts: &[Stmt], opts: &OltpOptions) -> Result<()> {
        self.number_of_ranges = opts.number_of_ranges;
        for &s in stmts {
            if !s.kind.prepared() {
                continue;
            }
            let text = sql(s, Dialect::MySql, opts.number_of_ranges);
            let st = self.session.prepare(&text).map_err(err)?;
            self.stmts.insert(s, st);
        }
        Ok(())
    }

    fn exec(&mut self, call: &Call) -> Result<u64> {
        let r = if call.stmt.kind == StmtKind::InsertAutoInc {
            let text = inline(
                &sql(call.stmt, Dialect::MySql, self.number_of_ranges),
                &call.params,
            );
            self.session.execute(&text).map_err(err)?
        } else {
            let st = self.stmts.get(&call.stmt).ok_or_else(|| {
                BenchError::new(format!("statement {:?} not prepared", call.stmt))
            })?;
            self.session
                .execute_prepared(st, &values(&call.params))
                .map_err(err)?
        };
        Ok((r.rows().len() as u64).max(r.affected_rows()))
    }

    fn query(&mut self, text: &str) -> Result<u64> {
        let r = self.session.execute(text).map_err(err)?;
        Ok((r.rows().len() as u64).max(r.affected_rows()))
    }
}
