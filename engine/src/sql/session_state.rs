//! Per-session state the SQL layer reads and writes: current database, user and user
//! variables, system variables (session values over the global defaults), counters
//! behind LAST_INSERT_ID()/ROW_COUNT()/FOUND_ROWS(), and the warnings list.

use std::collections::{BTreeMap, HashMap};

use crate::error::{code, Error, Result};
use crate::txn::Isolation;
use crate::value::Value;

/// MySQL 8's default sql_mode.
pub const DEFAULT_SQL_MODE: &str =
    "ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION";

/// The system variables clients read, with their defaults. Names are lower case.
pub fn default_sysvars() -> BTreeMap<String, Value> {
    let s = |v: &str| Value::Str(v.to_string());
    let i = |v: i64| Value::Int(v);
    let mut m = BTreeMap::new();
    for (k, v) in [
        ("autocommit", i(1)),
        ("auto_increment_increment", i(1)),
        ("auto_increment_offset", i(1)),
        ("character_set_client", s("utf8mb4")),
        ("character_set_connection", s("utf8mb4")),
        ("character_set_database", s("utf8mb4")),
        ("character_set_results", s("utf8mb4")),
        ("character_set_server", s("utf8mb4")),
        ("character_set_system", s("utf8mb3")),
        ("character_set_filesystem", s("binary")),
        ("collation_connection", s("utf8mb4_0900_ai_ci")),
        ("collation_database", s("utf8mb4_0900_ai_ci")),
        ("collation_server", s("utf8mb4_0900_ai_ci")),
        ("cte_max_recursion_depth", i(1000)),
        ("default_storage_engine", s("InnoDB")),
        ("div_precision_increment", i(4)),
        ("foreign_key_checks", i(1)),
        ("group_concat_max_len", i(1024)),
        ("have_ssl", s("YES")),
        ("hostname", s("localhost")),
        ("init_connect", s("")),
        ("innodb_lock_wait_timeout", i(50)),
        ("innodb_read_only", i(0)),
        ("interactive_timeout", i(28800)),
        ("license", s("Apache-2.0")),
        ("local_infile", i(1)),
        ("lower_case_table_names", i(1)),
        ("max_allowed_packet", i(67108864)),
        ("max_connections", i(151)),
        ("max_execution_time", i(0)),
        ("net_buffer_length", i(16384)),
        ("net_read_timeout", i(30)),
        ("net_write_timeout", i(60)),
        ("performance_schema", i(0)),
        ("port", i(3306)),
        ("protocol_version", i(10)),
        ("query_cache_size", i(0)),
        ("query_cache_type", s("OFF")),
        ("read_only", i(0)),
        // NULL: server-side LOAD DATA files are refused (Database::set_secure_file_priv).
        ("secure_file_priv", Value::Null),
        ("socket", s("")),
        ("sql_auto_is_null", i(0)),
        ("sql_mode", s(DEFAULT_SQL_MODE)),
        ("sql_require_primary_key", i(0)),
        ("sql_safe_updates", i(0)),
        ("sql_select_limit", Value::UInt(u64::MAX)),
        ("sql_log_bin", i(1)),
        ("sql_notes", i(1)),
        ("sql_warnings", i(0)),
        ("sql_quote_show_create", i(1)),
        ("storage_engine", s("InnoDB")),
        ("system_time_zone", s("UTC")),
        ("time_zone", s("SYSTEM")),
        ("transaction_isolation", s("REPEATABLE-READ")),
        ("tx_isolation", s("REPEATABLE-READ")),
        ("transaction_read_only", i(0)),
        ("tx_read_only", i(0)),
        ("unique_checks", i(1)),
        ("version", s(crate::SERVER_VERSION)),
        ("version_comment", s("Borealis (Apache-2.0)")),
        ("version_compile_machine", s(std::env::consts::ARCH)),
        ("version_compile_os", s("Linux")),
        ("wait_timeout", i(28800)),
        ("warning_count", i(0)),
        ("error_count", i(0)),
        ("last_insert_id", i(0)),
        ("identity", i(0)),
        ("server_id", i(1)),
        ("skip_name_resolve", i(1)),
        ("tmp_table_size", i(16777216)),
        ("max_heap_table_size", i(16777216)),
        ("sort_buffer_size", i(262144)),
        ("innodb_buffer_pool_size", i(268435456)),
        ("innodb_flush_log_at_trx_commit", i(1)),
        ("default_authentication_plugin", s(crate::database::DEFAULT_AUTH_PLUGIN)),
        ("require_secure_transport", i(0)),
        ("event_scheduler", s("OFF")),
        ("explicit_defaults_for_timestamp", i(1)),
        ("binlog_format", s("ROW")),
        ("log_bin", i(0)),
        ("datadir", s("./borealis-data/")),
        ("basedir", s("/")),
        ("tmpdir", s("/tmp")),
        ("open_files_limit", i(1048576)),
        ("table_open_cache", i(4000)),
        ("thread_cache_size", i(9)),
        ("ssl_cipher", s("")),
        ("session_track_schema", i(1)),
        ("session_track_state_change", i(0)),
        ("session_track_system_variables", s("time_zone,autocommit,character_set_client,character_set_results,character_set_connection")),
        ("session_track_transaction_info", s("OFF")),
        ("optimizer_switch", s("index_merge=on,index_merge_union=on,index_merge_sort_union=on,index_merge_intersection=on,engine_condition_pushdown=on,index_condition_pushdown=on,mrr=on,mrr_cost_based=on,block_nested_loop=on,batched_key_access=off,materialization=on,semijoin=on,loosescan=on,firstmatch=on,duplicateweedout=on,subquery_materialization_cost_based=on,use_index_extensions=on,condition_fanout_filter=on,derived_merge=on,use_invisible_indexes=off,skip_scan=on,hash_join=on")),
    ] {
        m.insert(k.to_string(), v);
    }
    m
}

/// Variables with no session scope (MySQL 8): `SET SESSION` of one is an error, and
/// `SET GLOBAL` changes what every session reads.
const GLOBAL_ONLY: &[&str] = &[
    "basedir",
    "character_set_system",
    "datadir",
    "default_authentication_plugin",
    "event_scheduler",
    "have_ssl",
    "hostname",
    "init_connect",
    "innodb_buffer_pool_size",
    "innodb_flush_log_at_trx_commit",
    "innodb_read_only",
    "license",
    "local_infile",
    "log_bin",
    "lower_case_table_names",
    "max_connections",
    "open_files_limit",
    "performance_schema",
    "port",
    "protocol_version",
    "query_cache_size",
    "read_only",
    "require_secure_transport",
    "secure_file_priv",
    "server_id",
    "skip_name_resolve",
    "socket",
    "system_time_zone",
    "table_open_cache",
    "thread_cache_size",
    "tmpdir",
    "version",
    "version_comment",
    "version_compile_machine",
    "version_compile_os",
];

pub(crate) fn is_global_only(name: &str) -> bool {
    GLOBAL_ONLY.contains(&name)
}

/// Variables whose value is per-session only (reading @@global of them is an error
/// in MySQL; we answer with the session default).
fn is_known(name: &str, globals: &BTreeMap<String, Value>) -> bool {
    globals.contains_key(name)
}

pub struct SessState {
    pub connection_id: u32,
    pub user: String,
    pub host: String,
    /// Host part of the matched account ("%" or "localhost").
    pub account_host: String,
    pub current_db: Option<String>,
    pub user_vars: HashMap<String, Value>,
    pub vars: BTreeMap<String, Value>,
    pub globals: std::sync::Arc<parking_lot::RwLock<BTreeMap<String, Value>>>,
    pub last_insert_id: u64,
    pub row_count: i64,
    pub found_rows: u64,
    pub warnings: Vec<(String, u16, String)>,
    pub autocommit: bool,
    pub isolation: Isolation,
    pub next_isolation: Option<Isolation>,
    pub read_only_instance: bool,
    /// What the session's sql_mode turns on, read from `vars` when it is set (checked on
    /// every statement, so not re-parsed from the string each time).
    mode: SqlModeFlags,
}

/// The sql_mode flags statements consult.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct SqlModeFlags {
    strict: bool,
    only_full_group_by: bool,
}

impl SqlModeFlags {
    fn of(vars: &BTreeMap<String, Value>) -> SqlModeFlags {
        match vars.get("sql_mode") {
            Some(Value::Str(m)) => {
                let has = |flag: &str| m.split(',').any(|f| f.trim().eq_ignore_ascii_case(flag));
                SqlModeFlags {
                    strict: has("STRICT_TRANS_TABLES")
                        || has("STRICT_ALL_TABLES")
                        || has("TRADITIONAL"),
                    only_full_group_by: has("ONLY_FULL_GROUP_BY"),
                }
            }
            _ => SqlModeFlags {
                strict: true,
                only_full_group_by: true,
            },
        }
    }
}

impl SessState {
    pub fn new(globals: std::sync::Arc<parking_lot::RwLock<BTreeMap<String, Value>>>) -> SessState {
        let vars = globals.read().clone();
        let mode = SqlModeFlags::of(&vars);
        // A new session starts from the global defaults (SET GLOBAL changes them).
        let autocommit = vars.get("autocommit").and_then(Value::to_i64) != Some(0);
        let isolation = vars
            .get("transaction_isolation")
            .and_then(Value::to_text)
            .and_then(|t| parse_isolation(&t))
            .unwrap_or(Isolation::RepeatableRead);
        SessState {
            connection_id: 0,
            user: "root".into(),
            host: "localhost".into(),
            account_host: "%".into(),
            current_db: None,
            user_vars: HashMap::new(),
            vars,
            globals,
            last_insert_id: 0,
            row_count: -1,
            found_rows: 0,
            warnings: Vec::new(),
            autocommit,
            isolation,
            next_isolation: None,
            read_only_instance: false,
            mode,
        }
    }

    pub fn strict(&self) -> bool {
        debug_assert_eq!(self.mode, SqlModeFlags::of(&self.vars));
        self.mode.strict
    }

    /// sql_mode has ONLY_FULL_GROUP_BY (MySQL 8's default; the variable is stored upper
    /// case).
    pub fn only_full_group_by(&self) -> bool {
        self.mode.only_full_group_by
    }

    pub fn var_i64(&self, name: &str) -> i64 {
        self.vars.get(name).and_then(|v| v.to_i64()).unwrap_or(0)
    }

    pub fn get_sysvar(&self, name: &str, global: bool) -> Result<Value> {
        let name = name.to_ascii_lowercase();
        let name = name.as_str();
        match name {
            "autocommit" if !global => return Ok(Value::Int(self.autocommit as i64)),
            "transaction_isolation" | "tx_isolation" if !global => {
                return Ok(Value::Str(self.isolation.name().into()))
            }
            "warning_count" => return Ok(Value::Int(self.warnings.len() as i64)),
            "error_count" => {
                return Ok(Value::Int(
                    self.warnings.iter().filter(|w| w.0 == "Error").count() as i64,
                ))
            }
            "last_insert_id" | "identity" => return Ok(Value::UInt(self.last_insert_id)),
            "read_only" | "innodb_read_only" | "transaction_read_only" | "tx_read_only"
                if self.read_only_instance
                    && name != "transaction_read_only"
                    && name != "tx_read_only" =>
            {
                return Ok(Value::Int(1))
            }
            _ => {}
        }
        let g = self.globals.read();
        if !is_known(name, &g) {
            return Err(Error::new(
                code::ER_UNKNOWN_SYSTEM_VARIABLE,
                format!("Unknown system variable '{name}'"),
            ));
        }
        if global || is_global_only(name) {
            Ok(g.get(name).cloned().unwrap_or(Value::Null))
        } else {
            Ok(self
                .vars
                .get(name)
                .or_else(|| g.get(name))
                .cloned()
                .unwrap_or(Value::Null))
        }
    }

    pub fn set_sysvar(&mut self, name: &str, v: Value, global: bool) -> Result<()> {
        let name = name.to_ascii_lowercase();
        if !self.globals.read().contains_key(&name) {
            return Err(Error::new(
                code::ER_UNKNOWN_SYSTEM_VARIABLE,
                format!("Unknown system variable '{name}'"),
            ));
        }
        let v = match name.as_str() {
            "autocommit"
            | "foreign_key_checks"
            | "unique_checks"
            | "sql_safe_updates"
            | "sql_notes"
            | "sql_auto_is_null"
            | "sql_log_bin"
            | "sql_quote_show_create" => {
                let b = match &v {
                    Value::Str(s) => match s.to_ascii_uppercase().as_str() {
                        "ON" | "TRUE" | "1" => true,
                        "OFF" | "FALSE" | "0" => false,
                        _ => {
                            return Err(Error::new(
                                code::ER_WRONG_VALUE_FOR_VAR,
                                format!("Variable '{name}' can't be set to the value of '{s}'"),
                            ))
                        }
                    },
                    other => other.to_i64().unwrap_or(0) != 0,
                };
                Value::Int(b as i64)
            }
            "transaction_isolation" | "tx_isolation" => {
                let s = v
                    .to_text()
                    .unwrap_or_default()
                    .to_ascii_uppercase()
                    .replace(' ', "-");
                let iso = parse_isolation(&s).ok_or_else(|| {
                    Error::new(
                        code::ER_WRONG_VALUE_FOR_VAR,
                        format!("Variable '{name}' can't be set to the value of '{s}'"),
                    )
                })?;
                if !global {
                    self.isolation = iso;
                }
                Value::Str(iso.name().into())
            }
            "sql_mode" => Value::Str(v.to_text().unwrap_or_default().to_ascii_uppercase()),
            "read_only" | "innodb_read_only" if global => {
                return Err(Error::new(code::ER_SPECIFIC_ACCESS_DENIED, "Access denied; you need (at least one of) the SUPER privilege(s) for this operation"));
            }
            _ => v,
        };
        let isolation = name == "transaction_isolation" || name == "tx_isolation";
        if global {
            // The default of sessions that start from now on; this session keeps its own
            // value unless the variable has no session scope.
            let mut g = self.globals.write();
            if isolation {
                g.insert("transaction_isolation".into(), v.clone());
                g.insert("tx_isolation".into(), v.clone());
            } else {
                g.insert(name.clone(), v.clone());
            }
            if !is_global_only(&name) {
                return Ok(());
            }
        } else if is_global_only(&name) {
            return Err(Error::new(
                code::ER_GLOBAL_VARIABLE,
                format!("Variable '{name}' is a GLOBAL variable and should be set with SET GLOBAL"),
            ));
        }
        if name == "autocommit" {
            self.autocommit = v.to_i64() == Some(1);
        }
        if isolation {
            self.vars.insert("transaction_isolation".into(), v.clone());
            self.vars.insert("tx_isolation".into(), v);
        } else {
            let mode = name == "sql_mode";
            self.vars.insert(name, v);
            if mode {
                self.mode = SqlModeFlags::of(&self.vars);
            }
        }
        Ok(())
    }
}

pub fn parse_isolation(s: &str) -> Option<Isolation> {
    Some(match s.to_ascii_uppercase().replace(' ', "-").as_str() {
        "READ-UNCOMMITTED" => Isolation::ReadUncommitted,
        "READ-COMMITTED" => Isolation::ReadCommitted,
        "REPEATABLE-READ" => Isolation::RepeatableRead,
        "SERIALIZABLE" => Isolation::Serializable,
        _ => return None,
    })
}
