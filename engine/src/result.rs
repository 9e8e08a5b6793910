//! What a statement returns: result sets with MySQL column metadata, or an OK summary.

use crate::value::Value;

/// MySQL column type codes (the protocol's `MYSQL_TYPE_*`), as result metadata reports them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ColumnType {
    Decimal = 0,
    Tiny = 1,
    Short = 2,
    Long = 3,
    Float = 4,
    Double = 5,
    Null = 6,
    Timestamp = 7,
    LongLong = 8,
    Int24 = 9,
    Date = 10,
    Time = 11,
    DateTime = 12,
    Year = 13,
    Varchar = 15,
    Bit = 16,
    Json = 245,
    NewDecimal = 246,
    Enum = 247,
    Set = 248,
    TinyBlob = 249,
    MediumBlob = 250,
    LongBlob = 251,
    Blob = 252,
    VarString = 253,
    String = 254,
}

/// MySQL column flag bits (`*_FLAG` in the protocol).
pub mod flags {
    pub const NOT_NULL: u16 = 1;
    pub const PRI_KEY: u16 = 2;
    pub const UNIQUE_KEY: u16 = 4;
    pub const MULTIPLE_KEY: u16 = 8;
    pub const BLOB: u16 = 16;
    pub const UNSIGNED: u16 = 32;
    pub const ZEROFILL: u16 = 64;
    pub const BINARY: u16 = 128;
    pub const ENUM: u16 = 256;
    pub const AUTO_INCREMENT: u16 = 512;
    pub const TIMESTAMP: u16 = 1024;
    pub const SET: u16 = 2048;
    pub const NO_DEFAULT_VALUE: u16 = 4096;
    pub const ON_UPDATE_NOW: u16 = 8192;
    pub const NUM: u16 = 32768;
}

/// Character set / collation ids used in column metadata.
pub mod charset {
    /// utf8mb4_general_ci (what MySQL 8 clients accept for text).
    pub const UTF8MB4_GENERAL_CI: u16 = 45;
    /// utf8mb4_0900_ai_ci, MySQL 8's default.
    pub const UTF8MB4_0900_AI_CI: u16 = 255;
    /// binary: numbers, temporals and binary strings.
    pub const BINARY: u16 = 63;
}

/// Metadata of one result column.
#[derive(Clone, Debug, PartialEq)]
pub struct Column {
    /// Name (alias) shown to the client.
    pub name: String,
    /// The underlying column's name ("" for expressions).
    pub org_name: String,
    /// Table alias ("" for expressions).
    pub table: String,
    pub org_table: String,
    pub schema: String,
    pub ty: ColumnType,
    /// Display length in bytes, as MySQL reports it.
    pub length: u32,
    pub decimals: u8,
    pub flags: u16,
    pub charset: u16,
}

impl Column {
    /// A computed column of the given type with MySQL's default metadata for it.
    pub fn computed(name: impl Into<String>, ty: ColumnType) -> Column {
        let (length, charset, flags, decimals) = match ty {
            ColumnType::LongLong => (21, charset::BINARY, flags::BINARY | flags::NUM, 0),
            ColumnType::Long => (11, charset::BINARY, flags::BINARY | flags::NUM, 0),
            ColumnType::Double => (23, charset::BINARY, flags::BINARY | flags::NUM, 31),
            ColumnType::NewDecimal => (33, charset::BINARY, flags::BINARY | flags::NUM, 4),
            ColumnType::Date => (10, charset::BINARY, flags::BINARY, 0),
            ColumnType::DateTime | ColumnType::Timestamp => (19, charset::BINARY, flags::BINARY, 0),
            ColumnType::Time => (10, charset::BINARY, flags::BINARY, 0),
            ColumnType::Null => (0, charset::BINARY, flags::BINARY, 0),
            ColumnType::Blob => (65535, charset::BINARY, flags::BINARY | flags::BLOB, 0),
            _ => (256, charset::UTF8MB4_GENERAL_CI, 0, 31),
        };
        Column {
            name: name.into(),
            org_name: String::new(),
            table: String::new(),
            org_table: String::new(),
            schema: String::new(),
            ty,
            length,
            decimals,
            flags,
            charset,
        }
    }

    pub fn is_unsigned(&self) -> bool {
        self.flags & flags::UNSIGNED != 0
    }
}

/// One result row.
pub type Row = Vec<Value>;

/// What one statement produced.
#[derive(Clone, Debug, PartialEq)]
pub enum QueryResult {
    /// A result set (SELECT, SHOW, ...).
    Rows {
        columns: Vec<Column>,
        rows: Vec<Row>,
    },
    /// A statement without a result set.
    Ok {
        affected_rows: u64,
        last_insert_id: u64,
        /// MySQL's info string, e.g. "Records: 3  Duplicates: 0  Warnings: 0".
        info: String,
    },
}

impl QueryResult {
    pub fn ok(affected_rows: u64) -> QueryResult {
        QueryResult::Ok {
            affected_rows,
            last_insert_id: 0,
            info: String::new(),
        }
    }

    /// The rows of a result set (empty for an OK result).
    pub fn rows(&self) -> &[Row] {
        match self {
            QueryResult::Rows { rows, .. } => rows,
            QueryResult::Ok { .. } => &[],
        }
    }

    /// The columns of a result set (empty for an OK result).
    pub fn columns(&self) -> &[Column] {
        match self {
            QueryResult::Rows { columns, .. } => columns,
            QueryResult::Ok { .. } => &[],
        }
    }

    pub fn affected_rows(&self) -> u64 {
        match self {
            QueryResult::Ok { affected_rows, .. } => *affected_rows,
            QueryResult::Rows { .. } => 0,
        }
    }
}
