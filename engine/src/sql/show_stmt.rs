//! Dispatch of SHOW statements (parsed from their tokens; see `show.rs` for why).

use crate::database::Shared;
use crate::error::{code, Error, Result};
use crate::result::{Column, ColumnType, QueryResult, Row};
use crate::session::Session;
use crate::sql::accounts;
use crate::sql::bind::{Binder, Scope, ScopeCol};
use crate::sql::exec::Exec;
use crate::sql::show::*;
use crate::txn::Isolation;
use crate::value::Value;

struct Cur {
    t: Vec<Tok>,
    i: usize,
}

impl Cur {
    fn w(&mut self, w: &str) -> bool {
        if is_word(self.t.get(self.i), w) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn name(&mut self) -> Option<String> {
        match self.t.get(self.i).cloned() {
            Some(Tok::Word(w)) | Some(Tok::Str(w)) => {
                self.i += 1;
                Some(w)
            }
            _ => None,
        }
    }
    /// `name` or `db.name`.
    fn qualified(&mut self) -> Option<(Option<String>, String)> {
        let a = self.name()?;
        if self.t.get(self.i) == Some(&Tok::Sym('.')) {
            self.i += 1;
            let b = self.name()?;
            return Some((Some(a), b));
        }
        Some((None, a))
    }
    /// [FROM|IN db]
    fn db_clause(&mut self) -> Option<String> {
        if self.w("from") || self.w("in") {
            return self.name();
        }
        None
    }
    /// [LIKE 'pat' | WHERE expr]: (like pattern, where text)
    fn filter(&mut self, text: &str) -> (Option<String>, Option<String>) {
        if self.w("like") {
            if let Some(Tok::Str(p)) = self.t.get(self.i).cloned() {
                self.i += 1;
                return (Some(p), None);
            }
        }
        if is_word(self.t.get(self.i), "where") {
            let low = text.to_ascii_lowercase();
            if let Some(pos) = find_word(&low, "where") {
                return (None, Some(text[pos + 5..].to_string()));
            }
        }
        (None, None)
    }
}

fn find_word(low: &str, w: &str) -> Option<usize> {
    let b = low.as_bytes();
    let mut start = 0;
    while let Some(i) = low[start..].find(w) {
        let at = start + i;
        let before = at == 0 || !b[at - 1].is_ascii_alphanumeric();
        let after = at + w.len() >= b.len() || !b[at + w.len()].is_ascii_alphanumeric();
        if before && after {
            return Some(at);
        }
        start = at + w.len();
    }
    None
}

fn vs(n: &str) -> Column {
    Column::computed(n, ColumnType::VarString)
}

fn s(v: impl Into<String>) -> Value {
    Value::Str(v.into())
}

/// Apply a SHOW ... WHERE filter: the condition is bound against the result columns
/// and evaluated on each row.
fn where_filter(
    sh: &Shared,
    sess: &mut Session,
    columns: &[Column],
    rows: Vec<Row>,
    cond: &str,
) -> Result<Vec<Row>> {
    let pre = crate::sql::parse::preprocess(cond);
    let expr = sqlparser::parser::Parser::new(&sqlparser::dialect::MySqlDialect {})
        .try_with_sql(&pre)
        .and_then(|mut p| p.parse_expr())
        .map_err(|_| Error::parse(cond))?;
    let scope = Scope {
        cols: columns
            .iter()
            .map(|c| ScopeCol {
                table: String::new(),
                name: c.name.clone(),
                meta: c.clone(),
                hidden: false,
            })
            .collect(),
    };
    let cat = sh.catalog();
    let mut b = Binder::new(&cat, sess.state().current_db.clone(), &pre);
    let pred = b.bind_expr_in(&expr, &scope, "where clause")?;
    let mut txn = sh
        .mgr
        .begin(Isolation::ReadCommitted, std::time::Duration::from_secs(1));
    let mut ex = Exec::new(sh, &mut txn, &mut sess.state, &[]);
    let kept: Result<Vec<Row>> = rows
        .into_iter()
        .filter_map(|r| match ex.test(&pred, &r) {
            Ok(true) => Some(Ok(r)),
            Ok(false) => None,
            Err(e) => Some(Err(e)),
        })
        .collect();
    drop(ex);
    sh.mgr.rollback(&mut txn);
    kept
}

pub fn show(sh: &Shared, sess: &mut Session, text: &str) -> Result<QueryResult> {
    let toks = tokenize(text);
    let mut c = Cur { t: toks, i: 0 };
    c.w("show");
    let full = c.w("full");
    let global = c.w("global");
    let _session = c.w("session") || c.w("local");
    let cat = sh.catalog();
    let cur_db = sess.state().current_db.clone();
    let out = |cols: Vec<Column>,
               rows: Vec<Row>,
               like: Option<String>,
               wh: Option<String>,
               sess: &mut Session|
     -> Result<QueryResult> {
        let rows = filter_like(rows, like.as_deref(), 0);
        let rows = match wh {
            Some(w) => where_filter(sh, sess, &cols, rows, &w)?,
            None => rows,
        };
        Ok(result(cols, rows))
    };
    if c.w("databases") || c.w("schemas") {
        let (like, wh) = c.filter(text);
        let mut rows: Vec<Row> = vec![vec![s("information_schema")]];
        let user = sess.state().user.clone();
        let host = sess.state().host.clone();
        for d in cat.dbs.values() {
            if accounts::allowed(sh, &user, &host, "SELECT", &d.name, "")
                || cat.users.is_empty()
                || sess_has_any(sh, &user, &host, &d.name)
            {
                rows.push(vec![s(d.name.clone())]);
            }
        }
        rows.sort_by(|a, b| a[0].to_text().cmp(&b[0].to_text()));
        let header = match &like {
            Some(p) => format!("Database ({p})"),
            None => "Database".to_string(),
        };
        return out(vec![vs(&header)], rows, like, wh, sess);
    }
    if c.w("tables") {
        let db = c.db_clause().or(cur_db).ok_or_else(Error::no_db)?;
        if !cat.db_exists(&db) && !db.eq_ignore_ascii_case("information_schema") {
            return Err(Error::new(
                code::ER_BAD_DB,
                format!("Unknown database '{db}'"),
            ));
        }
        let (like, wh) = c.filter(text);
        let mut rows: Vec<Row> = Vec::new();
        for t in cat.tables_in(&db) {
            rows.push(if full {
                vec![s(t.name.clone()), s("BASE TABLE")]
            } else {
                vec![s(t.name.clone())]
            });
        }
        for v in cat.views_in(&db) {
            rows.push(if full {
                vec![s(v.name.clone()), s("VIEW")]
            } else {
                vec![s(v.name.clone())]
            });
        }
        rows.sort_by(|a, b| a[0].to_text().cmp(&b[0].to_text()));
        // MySQL names the column after the pattern too: `Tables_in_db (pat%)`.
        let header = match &like {
            Some(p) => format!("Tables_in_{db} ({p})"),
            None => format!("Tables_in_{db}"),
        };
        let mut cols = vec![vs(&header)];
        if full {
            cols.push(vs("Table_type"));
        }
        return out(cols, rows, like, wh, sess);
    }
    if c.w("triggers") {
        let db = c.db_clause().or(cur_db).ok_or_else(Error::no_db)?;
        if !cat.db_exists(&db) && !db.eq_ignore_ascii_case("information_schema") {
            return Err(Error::new(
                code::ER_BAD_DB,
                format!("Unknown database '{db}'"),
            ));
        }
        let (like, wh) = c.filter(text);
        let (cols, rows) = crate::sql::trigger::show_triggers(&cat, &db, like.as_deref());
        return out(cols, rows, None, wh, sess);
    }
    if c.w("columns") || c.w("fields") {
        if !(c.w("from") || c.w("in")) {
            return Err(Error::parse(text));
        }
        let (db1, t) = c.qualified().ok_or_else(|| Error::parse(text))?;
        let db = c.db_clause().or(db1).or(cur_db).ok_or_else(Error::no_db)?;
        let (like, wh) = c.filter(text);
        let view;
        let table = match cat.view(&db, &t) {
            Some(v) => {
                view = crate::sql::views::view_table_def(&cat, v)?;
                &view
            }
            None => cat.get_table(&db, &t)?.as_ref(),
        };
        let (cols, rows) = describe_rows(table, full);
        return out(cols, rows, like, wh, sess);
    }
    if c.w("index") || c.w("indexes") || c.w("keys") {
        if !(c.w("from") || c.w("in")) {
            return Err(Error::parse(text));
        }
        let (db1, t) = c.qualified().ok_or_else(|| Error::parse(text))?;
        let db = c.db_clause().or(db1).or(cur_db).ok_or_else(Error::no_db)?;
        let table = cat.get_table(&db, &t)?;
        let cols: Vec<Column> = [
            "Table",
            "Non_unique",
            "Key_name",
            "Seq_in_index",
            "Column_name",
            "Collation",
            "Cardinality",
            "Sub_part",
            "Packed",
            "Null",
            "Index_type",
            "Comment",
            "Index_comment",
            "Visible",
            "Expression",
        ]
        .iter()
        .map(|n| {
            if matches!(*n, "Non_unique" | "Seq_in_index" | "Cardinality") {
                Column::computed(*n, ColumnType::LongLong)
            } else {
                vs(n)
            }
        })
        .collect();
        let mut rows = Vec::new();
        for (kn, kc, unique) in index_list(table) {
            for (seq, &ci) in kc.iter().enumerate() {
                rows.push(vec![
                    s(table.name.clone()),
                    Value::Int(!unique as i64),
                    s(kn.clone()),
                    Value::Int(seq as i64 + 1),
                    s(table.columns[ci].name.clone()),
                    s("A"),
                    Value::Int(0),
                    Value::Null,
                    Value::Null,
                    s(if table.columns[ci].nullable {
                        "YES"
                    } else {
                        ""
                    }),
                    s("BTREE"),
                    s(""),
                    s(""),
                    s("YES"),
                    Value::Null,
                ]);
            }
        }
        return Ok(result(cols, rows));
    }
    if c.w("create") {
        if c.w("table") || c.w("view") {
            let (db1, t) = c.qualified().ok_or_else(|| Error::parse(text))?;
            let db = db1.or(cur_db).ok_or_else(Error::no_db)?;
            if let Some(table) = cat.table(&db, &t) {
                let next = sh.peek_autoinc(table)?;
                return Ok(result(
                    vec![vs("Table"), vs("Create Table")],
                    vec![vec![
                        s(table.name.clone()),
                        s(show_create_table(table, next)),
                    ]],
                ));
            }
            if let Some(v) = cat.view(&db, &t) {
                // MySQL's normalized text; forms the printer does not know keep the text
                // the view was created with.
                let definition = crate::sql::views::normalized_definition(&cat, v)
                    .unwrap_or_else(|_| v.query.clone());
                let cols = if v.columns.is_empty() {
                    String::new()
                } else {
                    format!(
                        " ({})",
                        v.columns
                            .iter()
                            .map(|c| format!("`{c}`"))
                            .collect::<Vec<_>>()
                            .join(",")
                    )
                };
                return Ok(result(
                    vec![vs("View"), vs("Create View"), vs("character_set_client"), vs("collation_connection")],
                    vec![vec![s(v.name.clone()), s(format!("CREATE ALGORITHM=UNDEFINED DEFINER=`root`@`%` SQL SECURITY DEFINER VIEW `{}`{cols} AS {}", v.name, definition)), s("utf8mb4"), s("utf8mb4_0900_ai_ci")]],
                ));
            }
            return Err(Error::no_such_table(&db, &t));
        }
        if c.w("trigger") {
            let (db1, name) = c.qualified().ok_or_else(|| Error::parse(text))?;
            let db = db1.or(cur_db).ok_or_else(Error::no_db)?;
            let (cols, rows) = crate::sql::trigger::show_create(&cat, &db, &name)?;
            return Ok(result(cols, rows));
        }
        if c.w("database") || c.w("schema") {
            // MySQL prints the clause back (mysqldump copies the answer into dumps, and a
            // dump of `mysql` must restore over the existing database).
            let if_not_exists = c.w("if") && c.w("not") && c.w("exists");
            let d = c.name().ok_or_else(|| Error::parse(text))?;
            let def = cat
                .dbs
                .get(&d.to_lowercase())
                .ok_or_else(|| Error::new(code::ER_BAD_DB, format!("Unknown database '{d}'")))?;
            return Ok(result(
                vec![vs("Database"), vs("Create Database")],
                vec![vec![s(def.name.clone()), s(format!("CREATE DATABASE {}`{}` /*!40100 DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_0900_ai_ci */ /*!80016 DEFAULT ENCRYPTION='N' */", if if_not_exists { "/*!32312 IF NOT EXISTS*/ " } else { "" }, def.name.replace('`', "``")))]],
            ));
        }
        if c.w("user") {
            return crate::sql::accounts::show_create_user(sh, text);
        }
        return Err(Error::parse(text));
    }
    if c.w("variables") {
        let (like, wh) = c.filter(text);
        let st = sess.state();
        let map = if global {
            sh.globals.read().clone()
        } else {
            let mut m = sh.globals.read().clone();
            for (k, v) in &st.vars {
                if !crate::sql::session_state::is_global_only(k) {
                    m.insert(k.clone(), v.clone());
                }
            }
            m.insert(
                "autocommit".into(),
                Value::Str(if st.autocommit { "ON" } else { "OFF" }.into()),
            );
            m.insert(
                "transaction_isolation".into(),
                Value::Str(st.isolation.name().into()),
            );
            m
        };
        let rows: Vec<Row> = map
            .into_iter()
            .map(|(k, v)| {
                let t = match &v {
                    Value::Int(1) if is_bool_var(&k) => "ON".to_string(),
                    Value::Int(0) if is_bool_var(&k) => "OFF".to_string(),
                    other => other.to_text().unwrap_or_default(),
                };
                vec![s(k), s(t)]
            })
            .collect();
        return out(vec![vs("Variable_name"), vs("Value")], rows, like, wh, sess);
    }
    if c.w("status") {
        let (like, wh) = c.filter(text);
        let rows = status_rows(sh, sess);
        return out(vec![vs("Variable_name"), vs("Value")], rows, like, wh, sess);
    }
    if c.w("warnings") || c.w("errors") || c.w("count") {
        let errors_only =
            is_word(c.t.get(c.i - 1), "errors") || text.to_ascii_lowercase().contains("errors");
        let counting = text.to_ascii_lowercase().contains("count");
        let items: Vec<(String, u16, String)> = sess
            .state()
            .warnings
            .iter()
            .filter(|w| !errors_only || w.0 == "Error")
            .cloned()
            .collect();
        if counting {
            let name = if errors_only {
                "@@session.error_count"
            } else {
                "@@session.warning_count"
            };
            return Ok(result(
                vec![Column::computed(name, ColumnType::LongLong)],
                vec![vec![Value::Int(items.len() as i64)]],
            ));
        }
        let rows = items
            .into_iter()
            .map(|(l, code, m)| vec![s(l), Value::Int(code as i64), s(m)])
            .collect();
        return Ok(result(
            vec![
                vs("Level"),
                Column::computed("Code", ColumnType::Long),
                vs("Message"),
            ],
            rows,
        ));
    }
    if c.w("engines") || (c.w("storage") && c.w("engines")) {
        let (cols, rows) = engines();
        return Ok(result(cols, rows));
    }
    if c.w("charset") || (c.w("character") && c.w("set")) {
        let (like, wh) = c.filter(text);
        let rows = charsets()
            .into_iter()
            .map(|(a, b, d, m)| vec![s(a), s(d), s(b), Value::Int(m)])
            .collect();
        return out(
            vec![
                vs("Charset"),
                vs("Description"),
                vs("Default collation"),
                Column::computed("Maxlen", ColumnType::LongLong),
            ],
            rows,
            like,
            wh,
            sess,
        );
    }
    if c.w("collation") {
        let (like, wh) = c.filter(text);
        let rows = collation_rows();
        return out(
            vec![
                vs("Collation"),
                vs("Charset"),
                Column::computed("Id", ColumnType::LongLong),
                vs("Default"),
                vs("Compiled"),
                Column::computed("Sortlen", ColumnType::LongLong),
                vs("Pad_attribute"),
            ],
            rows,
            like,
            wh,
            sess,
        );
    }
    if c.w("processlist") {
        let (cols, rows) = processlist(&sh.sessions, full, false);
        return Ok(result(cols, rows));
    }
    if c.w("table") && c.w("status") {
        let db = c.db_clause().or(cur_db).ok_or_else(Error::no_db)?;
        let (like, wh) = c.filter(text);
        let names = [
            "Name",
            "Engine",
            "Version",
            "Row_format",
            "Rows",
            "Avg_row_length",
            "Data_length",
            "Max_data_length",
            "Index_length",
            "Data_free",
            "Auto_increment",
            "Create_time",
            "Update_time",
            "Check_time",
            "Collation",
            "Checksum",
            "Create_options",
            "Comment",
        ];
        let cols: Vec<Column> = names.iter().map(|n| vs(n)).collect();
        let mut rows: Vec<Row> = Vec::new();
        for t in cat.tables_in(&db) {
            let next = sh.peek_autoinc(t)?;
            rows.push(vec![
                s(t.name.clone()),
                s("InnoDB"),
                Value::Int(10),
                s("Dynamic"),
                Value::Int(0),
                Value::Int(0),
                Value::Int(16384),
                Value::Int(0),
                Value::Int(0),
                Value::Int(0),
                next.map_or(Value::Null, |n| Value::Int(n as i64)),
                Value::Null,
                Value::Null,
                Value::Null,
                s("utf8mb4_0900_ai_ci"),
                Value::Null,
                s(""),
                s(t.comment.clone()),
            ]);
        }
        for v in cat.views_in(&db) {
            let mut r = vec![s(v.name.clone())];
            r.extend(std::iter::repeat_n(Value::Null, 16));
            r.push(s("VIEW"));
            rows.push(r);
        }
        return out(cols, rows, like, wh, sess);
    }
    if c.w("grants") {
        let (user, host) = if c.w("for") {
            let u = c.name().unwrap_or_default();
            let (u, h) = match u.split_once('@') {
                Some((a, b)) => (a.to_string(), b.to_string()),
                None => {
                    let h = if c.t.get(c.i) == Some(&Tok::Sym('@')) {
                        c.i += 1;
                        c.name().unwrap_or_else(|| "%".into())
                    } else if let Some(Tok::Word(w)) = c.t.get(c.i).cloned() {
                        if let Some(r) = w.strip_prefix('@') {
                            c.i += 1;
                            if r.is_empty() {
                                c.name().unwrap_or_else(|| "%".into())
                            } else {
                                r.to_string()
                            }
                        } else {
                            "%".into()
                        }
                    } else {
                        "%".into()
                    };
                    (u, h)
                }
            };
            (u, h)
        } else {
            (sess.state().user.clone(), sess.state().account_host.clone())
        };
        if sh.catalog().users.is_empty() {
            return Ok(result(
                vec![vs(&format!("Grants for {user}@{host}"))],
                vec![vec![s(format!(
                    "GRANT ALL PRIVILEGES ON *.* TO `{user}`@`{host}` WITH GRANT OPTION"
                ))]],
            ));
        }
        return accounts::show_grants(sh, &user, &host);
    }
    if c.w("plugins") {
        return Ok(result(
            vec![
                vs("Name"),
                vs("Status"),
                vs("Type"),
                vs("Library"),
                vs("License"),
            ],
            vec![
                vec![
                    s("mysql_native_password"),
                    s("ACTIVE"),
                    s("AUTHENTICATION"),
                    Value::Null,
                    s("GPL"),
                ],
                vec![
                    s("caching_sha2_password"),
                    s("ACTIVE"),
                    s("AUTHENTICATION"),
                    Value::Null,
                    s("GPL"),
                ],
                vec![
                    s("InnoDB"),
                    s("ACTIVE"),
                    s("STORAGE ENGINE"),
                    Value::Null,
                    s("GPL"),
                ],
            ],
        ));
    }
    if c.w("master")
        || c.w("slave")
        || c.w("replica")
        || c.w("binary")
        || c.w("triggers")
        || c.w("events")
        || (c.w("procedure") || c.w("function")) && c.w("status")
        || c.w("privileges")
        || c.w("open")
        || c.w("profiles")
    {
        return Ok(result(vec![vs("Name")], Vec::new()));
    }
    Err(Error::parse(text))
}

fn sess_has_any(sh: &Shared, user: &str, host: &str, db: &str) -> bool {
    let cat = sh.catalog();
    cat.find_user(user, host).is_some_and(|u| {
        u.grants
            .iter()
            .any(|g| g.db == "*" || g.db.eq_ignore_ascii_case(db))
    })
}

fn is_bool_var(k: &str) -> bool {
    matches!(
        k,
        "autocommit"
            | "foreign_key_checks"
            | "unique_checks"
            | "sql_safe_updates"
            | "sql_notes"
            | "sql_auto_is_null"
            | "sql_log_bin"
            | "read_only"
            | "innodb_read_only"
            | "transaction_read_only"
            | "tx_read_only"
            | "require_secure_transport"
            | "skip_name_resolve"
            | "log_bin"
            | "performance_schema"
            | "explicit_defaults_for_timestamp"
    )
}

fn status_rows(sh: &Shared, sess: &Session) -> Vec<Row> {
    let up = sh.started.elapsed().as_secs();
    let threads = sh.sessions.lock().len();
    let q = sh.questions.load(std::sync::atomic::Ordering::Relaxed);
    let mut rows = vec![
        vec![s("Aborted_clients"), s("0")],
        vec![s("Aborted_connects"), s("0")],
        vec![
            s("Borealis_visible_commit_seq"),
            s(sh.mgr.visible_seq().to_string()),
        ],
        vec![
            s("Connections"),
            s(sh.next_conn
                .load(std::sync::atomic::Ordering::Relaxed)
                .saturating_sub(1)
                .to_string()),
        ],
        vec![s("Innodb_buffer_pool_pages_total"), s("16384")],
        vec![s("Max_used_connections"), s(threads.to_string())],
        vec![s("Queries"), s(q.to_string())],
        vec![s("Questions"), s(q.to_string())],
        vec![s("Ssl_cipher"), s("")],
        vec![s("Threads_connected"), s(threads.to_string())],
        vec![s("Threads_running"), s("1")],
        vec![s("Uptime"), s(up.to_string())],
    ];
    if let Some(r) = sh.replica.as_ref().map(|r| r.status()) {
        for (k, v) in [
            ("Borealis_replica_instance", r.instance),
            ("Borealis_replica_read_point", r.read_point),
            ("Borealis_replica_volume_vdl", r.volume_vdl),
            ("Borealis_replica_lag_lsn", r.lag_lsn),
            ("Borealis_replica_oldest_snapshot", r.oldest_snapshot),
            ("Borealis_replica_apply_latency_us", r.last_apply_micros),
            ("Borealis_replica_records", r.records_received),
            ("Borealis_replica_catalog_reloads", r.catalog_reloads),
            ("Borealis_replica_resyncs", r.resyncs),
        ] {
            rows.push(vec![s(k), s(v.to_string())]);
        }
        rows.push(vec![
            s("Borealis_replica_lag_ms"),
            s(format!("{:.3}", r.lag_micros as f64 / 1000.0)),
        ]);
        rows.push(vec![
            s("Borealis_replica_lag_max_ms"),
            s(format!("{:.3}", r.lag_max_micros as f64 / 1000.0)),
        ]);
    }
    let _ = sess;
    rows.sort_by(|a, b| a[0].to_text().cmp(&b[0].to_text()));
    rows
}

/// The sessions as SHOW [FULL] PROCESSLIST lists them (Info cut to 100 characters unless
/// FULL), by id; `information_schema` gives the column names PROCESSLIST has there (upper
/// case) and the whole statement text.
pub fn processlist(
    sessions: &crate::database::Sessions,
    full: bool,
    information_schema: bool,
) -> (Vec<Column>, Vec<Row>) {
    let full = full || information_schema;
    let mut rows: Vec<Row> = sessions
        .lock()
        .values()
        .map(|p| {
            let p = p.lock();
            let info = p.info.clone().map(|i| {
                if full {
                    i
                } else {
                    i.chars().take(100).collect()
                }
            });
            vec![
                Value::Int(p.id as i64),
                s(p.user.clone()),
                s(p.host.clone()),
                p.db.clone().map(Value::Str).unwrap_or(Value::Null),
                s(p.command.clone()),
                Value::Int(p.started.elapsed().as_secs() as i64),
                s(if p.command == "Query" {
                    "executing"
                } else {
                    ""
                }),
                info.map(Value::Str).unwrap_or(Value::Null),
            ]
        })
        .collect();
    rows.sort_by_key(|r| r[0].to_i64());
    let names = [
        "Id", "User", "Host", "db", "Command", "Time", "State", "Info",
    ];
    let cols = names
        .iter()
        .map(|n| {
            let n = if information_schema {
                n.to_ascii_uppercase()
            } else {
                n.to_string()
            };
            if matches!(n.as_str(), "Id" | "Time" | "ID" | "TIME") {
                Column::computed(n, ColumnType::LongLong)
            } else {
                vs(&n)
            }
        })
        .collect();
    (cols, rows)
}
