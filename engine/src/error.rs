//! The engine's error type: every error carries MySQL's error code, and the SQLSTATE is
//! derived from it, so the server can put it on the wire unchanged.

use std::fmt;

/// MySQL error codes the engine produces. Callers branch on these numbers.
pub mod code {
    pub const ER_DBACCESS_DENIED: u16 = 1044;
    pub const ER_ACCESS_DENIED: u16 = 1045;
    pub const ER_NO_DB: u16 = 1046;
    pub const ER_UNKNOWN_COM: u16 = 1047;
    pub const ER_ILLEGAL_HA: u16 = 1031;
    pub const ER_BAD_NULL: u16 = 1048;
    pub const ER_BAD_DB: u16 = 1049;
    pub const ER_TABLE_EXISTS: u16 = 1050;
    pub const ER_BAD_TABLE: u16 = 1051;
    pub const ER_NON_UNIQ: u16 = 1052;
    pub const ER_BAD_FIELD: u16 = 1054;
    pub const ER_WRONG_FIELD_WITH_GROUP: u16 = 1055;
    pub const ER_DUP_FIELDNAME: u16 = 1060;
    pub const ER_DUP_KEYNAME: u16 = 1061;
    pub const ER_DUP_ENTRY: u16 = 1062;
    pub const ER_PARSE: u16 = 1064;
    pub const ER_EMPTY_QUERY: u16 = 1065;
    pub const ER_NONUNIQ_TABLE: u16 = 1066;
    pub const ER_INVALID_DEFAULT: u16 = 1067;
    pub const ER_MULTIPLE_PRI_KEY: u16 = 1068;
    pub const ER_CANT_DROP_FIELD_OR_KEY: u16 = 1091;
    pub const ER_UNKNOWN_SYSTEM_VARIABLE: u16 = 1193;
    pub const ER_NO_SUCH_THREAD: u16 = 1094;
    pub const ER_RECORD_FILE_FULL: u16 = 1114;
    pub const ER_TOO_MANY_TABLES: u16 = 1116;
    pub const ER_WRONG_VALUE_COUNT_ON_ROW: u16 = 1136;
    pub const ER_TABLEACCESS_DENIED: u16 = 1142;
    pub const ER_NO_SUCH_TABLE: u16 = 1146;
    pub const ER_SYNTAX: u16 = 1149;
    pub const ER_WRONG_VALUE_COUNT: u16 = 1058;
    pub const ER_TOO_BIG_ROWSIZE: u16 = 1118;
    pub const ER_LOCK_WAIT_TIMEOUT: u16 = 1205;
    pub const ER_LOCK_DEADLOCK: u16 = 1213;
    pub const ER_TABLE_DEF_CHANGED: u16 = 1412;
    pub const ER_WRONG_ARGUMENTS: u16 = 1210;
    pub const ER_UNKNOWN_STMT_HANDLER: u16 = 1243;
    pub const ER_SUBQUERY_NO_1_ROW: u16 = 1242;
    pub const ER_OPERAND_COLUMNS: u16 = 1241;
    pub const ER_ILLEGAL_REFERENCE: u16 = 1247;
    pub const ER_NOT_SUPPORTED_YET: u16 = 1235;
    pub const ER_WRONG_ARGUMENTS_FN: u16 = 1582;
    pub const ER_INCORRECT_GLOBAL_LOCAL_VAR: u16 = 1238;
    pub const ER_WRONG_VALUE_FOR_VAR: u16 = 1231;
    pub const ER_GLOBAL_VARIABLE: u16 = 1229;
    pub const ER_UNKNOWN_TABLE: u16 = 1109;
    pub const ER_FUNCTION_NOT_DEFINED: u16 = 1305;
    pub const ER_SP_DOES_NOT_EXIST: u16 = 1305;
    pub const ER_OPTION_PREVENTS_STATEMENT: u16 = 1290;
    pub const ER_TRUNCATED_WRONG_VALUE: u16 = 1292;
    pub const ER_NO_DEFAULT_FOR_FIELD: u16 = 1364;
    pub const ER_TRUNCATED_WRONG_VALUE_FOR_FIELD: u16 = 1366;
    pub const ER_DATA_TOO_LONG: u16 = 1406;
    pub const ER_WARN_DATA_OUT_OF_RANGE: u16 = 1264;
    pub const ER_DIVISION_BY_ZERO: u16 = 1365;
    pub const ER_DATA_OUT_OF_RANGE: u16 = 1690;
    pub const ER_CANNOT_USER: u16 = 1396;
    pub const ER_PLUGIN_IS_NOT_LOADED: u16 = 1524;
    pub const ER_PASSWORD_FORMAT: u16 = 1827;
    pub const ER_NONEXISTING_GRANT: u16 = 1141;
    pub const ER_SPECIFIC_ACCESS_DENIED: u16 = 1227;
    pub const ER_QUERY_INTERRUPTED: u16 = 1317;
    pub const ER_WRONG_OBJECT: u16 = 1347;
    pub const ER_VIEW_EXISTS: u16 = 1050;
    pub const ER_TOO_LONG_IDENT: u16 = 1059;
    pub const ER_KEY_COLUMN_DOES_NOT_EXIST: u16 = 1072;
    pub const ER_INVALID_JSON_TEXT: u16 = 3140;
    pub const ER_INVALID_GROUP_FUNC_USE: u16 = 1111;
    pub const ER_WRONG_TYPE_FOR_VAR: u16 = 1232;
    pub const ER_TRG_DOES_NOT_EXIST: u16 = 1360;
    /// SIGNAL SQLSTATE '45xxx' (a user-defined condition).
    pub const ER_SIGNAL_EXCEPTION: u16 = 1644;
    pub const ER_TRG_ALREADY_EXISTS: u16 = 1359;
    pub const ER_DB_CREATE_EXISTS: u16 = 1007;
    pub const ER_DB_DROP_EXISTS: u16 = 1008;
    pub const ER_INTERNAL: u16 = 1105; // ER_UNKNOWN_ERROR
    pub const ER_CON_COUNT: u16 = 1040;
    pub const ER_NET_PACKET_TOO_LARGE: u16 = 1153;
    pub const ER_UNKNOWN_CHARACTER_SET: u16 = 1115;
    pub const ER_UNKNOWN_COLLATION: u16 = 1273;
    pub const ER_CANT_AGGREGATE_2COLLATIONS: u16 = 1267;
    pub const ER_CANT_CHANGE_TX_ISOLATION: u16 = 1568;
    pub const ER_FIELD_SPECIFIED_TWICE: u16 = 1110;
    pub const ER_INVALID_USE_OF_NULL: u16 = 1138;
    pub const ER_MIX_OF_GROUP_FUNC_AND_FIELDS: u16 = 1140;
    pub const ER_WRONG_AUTO_KEY: u16 = 1075;
    pub const ER_UPDATE_TABLE_USED: u16 = 1093;
    pub const ER_FEATURE_DISABLED: u16 = 1289;
}

/// An engine error: MySQL error code plus message (the message is what MySQL prints).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub code: u16,
    pub message: String,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(code: u16, message: impl Into<String>) -> Self {
        Error {
            code,
            message: message.into(),
        }
    }

    /// SQLSTATE for this error's code, as MySQL assigns them.
    pub fn sqlstate(&self) -> &'static str {
        sqlstate(self.code)
    }

    pub fn parse(msg: impl fmt::Display) -> Self {
        Error::new(
            code::ER_PARSE,
            format!("You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version for the right syntax to use near '{msg}'"),
        )
    }

    pub fn unsupported(what: impl fmt::Display) -> Self {
        Error::new(
            code::ER_NOT_SUPPORTED_YET,
            format!("This version of Borealis doesn't yet support '{what}'"),
        )
    }

    /// 1205: a wait for a lock (row lock, schema gate, DDL lock) ran out of time.
    pub fn lock_wait_timeout() -> Self {
        Error::new(
            code::ER_LOCK_WAIT_TIMEOUT,
            "Lock wait timeout exceeded; try restarting transaction",
        )
    }

    /// 1317: KILL QUERY stopped the statement (while it ran or while it waited).
    pub fn interrupted() -> Self {
        Error::new(
            code::ER_QUERY_INTERRUPTED,
            "Query execution was interrupted",
        )
    }

    pub fn internal(what: impl fmt::Display) -> Self {
        Error::new(code::ER_INTERNAL, format!("Internal error: {what}"))
    }

    pub fn no_such_table(db: &str, table: &str) -> Self {
        Error::new(
            code::ER_NO_SUCH_TABLE,
            format!("Table '{db}.{table}' doesn't exist"),
        )
    }

    pub fn bad_field(col: &str, place: &str) -> Self {
        Error::new(
            code::ER_BAD_FIELD,
            format!("Unknown column '{col}' in '{place}'"),
        )
    }

    pub fn no_db() -> Self {
        Error::new(code::ER_NO_DB, "No database selected")
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ERROR {} ({}): {}",
            self.code,
            self.sqlstate(),
            self.message
        )
    }
}

impl std::error::Error for Error {}

impl From<borealis_storage::Error> for Error {
    fn from(e: borealis_storage::Error) -> Self {
        use borealis_storage::Error as S;
        match e {
            S::VolumeFull { .. } => Error::new(code::ER_RECORD_FILE_FULL, "The table is full"),
            S::ReadOnly => Error::new(
                code::ER_OPTION_PREVENTS_STATEMENT,
                "The MySQL server is running with the --read-only option so it cannot execute this statement",
            ),
            other => Error::new(code::ER_INTERNAL, format!("Storage error: {other}")),
        }
    }
}

/// MySQL's SQLSTATE for an error code ("HY000" when MySQL has no specific one).
pub fn sqlstate(code: u16) -> &'static str {
    use code::*;
    match code {
        ER_NO_DB => "3D000",
        // ER_WARN_DATA_TRUNCATED keeps its warning class when strict mode raises it.
        1265 => "01000",
        // LOAD DATA's ER_WARN_TOO_FEW_RECORDS / ER_WARN_TOO_MANY_RECORDS, likewise.
        1261 | 1262 => "01000",
        // ER_WARN_NULL_TO_NOTNULL.
        1263 => "22004",
        ER_DUP_FIELDNAME => "42S21",
        ER_TABLE_EXISTS => "42S01",
        ER_BAD_TABLE | ER_NO_SUCH_TABLE | ER_UNKNOWN_TABLE => "42S02",
        ER_BAD_FIELD => "42S22",
        // 1451/1452: a foreign key constraint fails.
        ER_NON_UNIQ | ER_BAD_NULL | ER_DUP_ENTRY | 1451 | 1452 => "23000",
        ER_WRONG_VALUE_COUNT_ON_ROW | ER_WRONG_VALUE_COUNT => "21S01",
        ER_SUBQUERY_NO_1_ROW | ER_OPERAND_COLUMNS | 1222 => "21000",
        ER_LOCK_DEADLOCK => "40001",
        ER_DIVISION_BY_ZERO => "22012",
        ER_DATA_TOO_LONG => "22001",
        ER_WARN_DATA_OUT_OF_RANGE | ER_DATA_OUT_OF_RANGE => "22003",
        ER_TRUNCATED_WRONG_VALUE => "22007",
        ER_INVALID_USE_OF_NULL => "22004",
        ER_QUERY_INTERRUPTED => "70100",
        ER_CON_COUNT => "08004",
        ER_NET_PACKET_TOO_LARGE => "08S01",
        ER_CANT_CHANGE_TX_ISOLATION => "25001",
        ER_INVALID_JSON_TEXT => "22032",
        ER_DBACCESS_DENIED
        | ER_TABLEACCESS_DENIED
        | ER_PARSE
        | ER_SYNTAX
        | ER_EMPTY_QUERY
        | ER_SPECIFIC_ACCESS_DENIED
        | ER_NONEXISTING_GRANT
        | ER_WRONG_ARGUMENTS_FN
        | ER_FUNCTION_NOT_DEFINED
        | ER_BAD_DB
        | ER_DUP_KEYNAME
        | ER_MULTIPLE_PRI_KEY
        | ER_CANT_DROP_FIELD_OR_KEY
        | ER_INVALID_DEFAULT
        | ER_NONUNIQ_TABLE
        | ER_TOO_LONG_IDENT
        | ER_KEY_COLUMN_DOES_NOT_EXIST
        | ER_MIX_OF_GROUP_FUNC_AND_FIELDS
        | ER_WRONG_AUTO_KEY
        | ER_TOO_BIG_ROWSIZE
        | ER_WRONG_VALUE_FOR_VAR
        | ER_WRONG_TYPE_FOR_VAR
        | ER_UNKNOWN_CHARACTER_SET
        | ER_WRONG_FIELD_WITH_GROUP
        | ER_ILLEGAL_REFERENCE
        | 1248
        // ER_WRONG_FIELD_TERMINATORS (LOAD DATA's ENCLOSED BY / ESCAPED BY)
        | 1083
        // ER_WRONG_FK_DEF, ER_TRUNCATE_ILLEGAL_FK
        | 1239
        | 1701 => "42000",
        ER_ACCESS_DENIED => "28000",
        ER_SIGNAL_EXCEPTION => "45000",
        _ => "HY000",
    }
}
