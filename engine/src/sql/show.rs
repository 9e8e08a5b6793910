//! SHOW statements, DESCRIBE, SHOW CREATE, and the virtual tables of
//! information_schema (and the few mysql.* / performance_schema tables clients read).
//! SHOW is parsed here from its text: sqlparser drops the string literals of several
//! MySQL SHOW forms.

use std::sync::Arc;

use crate::catalog::{Catalog, ColumnDef, DefaultValue, SqlType, TableDef};
use crate::collation::Collation;
use crate::error::{code, Error, Result};
use crate::result::{Column, ColumnType, QueryResult, Row};
use crate::value::Value;

fn vs(name: &str) -> Column {
    Column::computed(name, ColumnType::VarString)
}

fn num(name: &str) -> Column {
    Column::computed(name, ColumnType::LongLong)
}

fn s(v: impl Into<String>) -> Value {
    Value::Str(v.into())
}

/// MySQL LIKE for SHOW filters (case-insensitive, % and _).
pub fn like_match(text: &str, pat: &str) -> bool {
    crate::functions::like(
        &Value::Str(text.to_string()),
        &Value::Str(pat.to_string()),
        Some('\\'),
    )
    .unwrap_or(false)
}

/// Tokens of a SHOW statement: words (lower-cased), quoted strings (unquoted), symbols.
#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    Word(String),
    Str(String),
    Sym(char),
}

pub fn tokenize(sql: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let c: Vec<char> = sql.chars().collect();
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        if ch.is_whitespace() {
            i += 1;
        } else if ch == '\'' || ch == '"' || ch == '`' {
            let q = ch;
            let mut sv = String::new();
            i += 1;
            while i < c.len() {
                if c[i] == '\\' && q != '`' && i + 1 < c.len() {
                    sv.push(c[i + 1]);
                    i += 2;
                    continue;
                }
                if c[i] == q {
                    if i + 1 < c.len() && c[i + 1] == q {
                        sv.push(q);
                        i += 2;
                        continue;
                    }
                    i += 1;
                    break;
                }
                sv.push(c[i]);
                i += 1;
            }
            out.push(if q == '`' {
                Tok::Word(sv)
            } else {
                Tok::Str(sv)
            });
        } else if ch.is_alphanumeric() || ch == '_' || ch == '$' || ch == '@' || ch == '%' {
            let st = i;
            while i < c.len()
                && (c[i].is_alphanumeric()
                    || c[i] == '_'
                    || c[i] == '$'
                    || c[i] == '@'
                    || c[i] == '%')
            {
                i += 1;
            }
            out.push(Tok::Word(c[st..i].iter().collect::<String>()));
        } else {
            out.push(Tok::Sym(ch));
            i += 1;
        }
    }
    out
}

pub fn is_word(t: Option<&Tok>, w: &str) -> bool {
    matches!(t, Some(Tok::Word(x)) if x.eq_ignore_ascii_case(w))
}

/// The result of SHOW CREATE TABLE.
pub fn show_create_table(t: &TableDef, next_autoinc: Option<u64>) -> String {
    let mut lines = Vec::new();
    for c in &t.columns {
        let mut l = format!("  `{}` {}", c.name, c.ty.sql_name(c.unsigned));
        // MySQL names the charset of a column whose collation is not the table's default
        // (always utf8mb4_0900_ai_ci here), and the collation too unless it is its
        // charset's default.
        if let Some(k) = text_collation(c).filter(|k| *k != Collation::DEFAULT) {
            l.push_str(&format!(" CHARACTER SET {}", k.charset()));
            if !k.is_charset_default() {
                l.push_str(&format!(" COLLATE {}", k.name()));
            }
        }
        if !c.nullable {
            l.push_str(" NOT NULL");
        } else if matches!(c.ty, SqlType::Timestamp(_)) {
            // TIMESTAMP columns were NOT NULL unless told otherwise (before
            // explicit_defaults_for_timestamp); MySQL still spells NULL out for them.
            l.push_str(" NULL");
        }
        match &c.default {
            Some(DefaultValue::Const(_)) => {
                let v = c.default_value().unwrap_or(Value::Null);
                match v {
                    Value::Null => l.push_str(" DEFAULT NULL"),
                    v => l.push_str(&format!(
                        " DEFAULT '{}'",
                        v.to_text().unwrap_or_default().replace('\'', "''")
                    )),
                }
            }
            Some(DefaultValue::CurrentTimestamp) => {
                l.push_str(" DEFAULT ");
                l.push_str(&current_timestamp(&c.ty));
            }
            None => {
                if c.nullable
                    && !matches!(c.ty, SqlType::Text(_) | SqlType::Blob(_) | SqlType::Json)
                {
                    l.push_str(" DEFAULT NULL");
                }
            }
        }
        if c.on_update_now {
            l.push_str(" ON UPDATE ");
            l.push_str(&current_timestamp(&c.ty));
        }
        if c.auto_increment {
            l.push_str(" AUTO_INCREMENT");
        }
        if !c.comment.is_empty() {
            l.push_str(&format!(" COMMENT '{}'", c.comment.replace('\'', "''")));
        }
        lines.push(l);
    }
    let cols = |v: &[usize]| {
        v.iter()
            .map(|&i| format!("`{}`", t.columns[i].name))
            .collect::<Vec<_>>()
            .join(",")
    };
    if !t.primary.is_empty() {
        lines.push(format!("  PRIMARY KEY ({})", cols(&t.primary)));
    }
    for ix in &t.indexes {
        lines.push(format!(
            "  {}KEY `{}` ({})",
            if ix.unique { "UNIQUE " } else { "" },
            ix.name,
            cols(&ix.columns)
        ));
    }
    // MySQL 8 lists a table's foreign keys, like its checks, by name.
    let mut fks: Vec<&crate::catalog::ForeignKeyDef> = t.foreign_keys.iter().collect();
    fks.sort_by_key(|f| f.name.to_lowercase());
    for f in fks {
        lines.push(format!("  {}", f.describe(&t.db, false)));
    }
    for c in &t.checks {
        lines.push(format!(
            "  CONSTRAINT `{}` CHECK ({}){}",
            c.name,
            c.expr,
            if c.enforced {
                ""
            } else {
                " /*!80016 NOT ENFORCED */"
            }
        ));
    }
    let mut tail = ") ENGINE=InnoDB".to_string();
    // MySQL names the counter once it has moved past its first value.
    if let Some(n) = next_autoinc.filter(|&n| n > 1) {
        tail.push_str(&format!(" AUTO_INCREMENT={n}"));
    }
    tail.push_str(" DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci");
    if !t.comment.is_empty() {
        tail.push_str(&format!(" COMMENT='{}'", t.comment.replace('\'', "''")));
    }
    format!(
        "CREATE TABLE `{}` (\n{}\n{}",
        t.name,
        lines.join(",\n"),
        tail
    )
}

/// `CURRENT_TIMESTAMP` as MySQL shows a column's default or ON UPDATE: with the column's
/// fractional-second precision when it has one (`CURRENT_TIMESTAMP(3)`).
fn current_timestamp(ty: &SqlType) -> String {
    match ty {
        SqlType::DateTime(f) | SqlType::Timestamp(f) if *f > 0 => {
            format!("CURRENT_TIMESTAMP({f})")
        }
        _ => "CURRENT_TIMESTAMP".into(),
    }
}

/// DESCRIBE / SHOW COLUMNS rows.
pub fn describe_rows(t: &TableDef, full: bool) -> (Vec<Column>, Vec<Row>) {
    let mut cols = vec![vs("Field"), vs("Type")];
    if full {
        cols.push(vs("Collation"));
    }
    cols.extend([vs("Null"), vs("Key"), vs("Default"), vs("Extra")]);
    if full {
        cols.extend([vs("Privileges"), vs("Comment")]);
    }
    let mut rows = Vec::new();
    for (i, c) in t.columns.iter().enumerate() {
        let key = if t.primary.contains(&i) {
            "PRI"
        } else if t
            .indexes
            .iter()
            .any(|ix| ix.unique && ix.columns.len() == 1 && ix.columns[0] == i)
        {
            "UNI"
        } else if t.indexes.iter().any(|ix| ix.columns.first() == Some(&i)) {
            "MUL"
        } else {
            ""
        };
        let default = match &c.default {
            Some(DefaultValue::Const(_)) => c
                .default_value()
                .unwrap_or(Value::Null)
                .to_text()
                .map(Value::Str)
                .unwrap_or(Value::Null),
            Some(DefaultValue::CurrentTimestamp) => s(current_timestamp(&c.ty)),
            None => Value::Null,
        };
        let mut extra: Vec<String> = Vec::new();
        if c.auto_increment {
            extra.push("auto_increment".into());
        }
        if matches!(c.default, Some(DefaultValue::CurrentTimestamp)) {
            extra.push("DEFAULT_GENERATED".into());
        }
        if c.on_update_now {
            extra.push(format!("on update {}", current_timestamp(&c.ty)));
        }
        let mut row = vec![s(c.name.clone()), s(c.ty.sql_name(c.unsigned))];
        if full {
            row.push(text_collation(c).map_or(Value::Null, |k| s(k.name())));
        }
        row.extend([
            s(if c.nullable { "YES" } else { "NO" }),
            s(key),
            default,
            s(extra.join(" ")),
        ]);
        if full {
            row.extend([s("select,insert,update,references"), s(c.comment.clone())]);
        }
        rows.push(row);
    }
    (cols, rows)
}

pub fn is_virtual_mysql_table(name: &str) -> bool {
    matches!(name.to_lowercase().as_str(), "user" | "db")
}

/// information_schema (and friends) as rows computed from the catalog.
pub fn virtual_table(
    cat: &Catalog,
    db: &str,
    name: &str,
    next_autoinc: &dyn Fn(&TableDef) -> Option<u64>,
) -> Result<(Vec<Column>, Vec<Row>)> {
    let n = name.to_lowercase();
    let dbl = db.to_lowercase();
    let tables: Vec<&Arc<TableDef>> = cat.tables.values().collect();
    if dbl == "mysql" {
        return match n.as_str() {
            "user" => Ok((
                vec![
                    vs("Host"),
                    vs("User"),
                    vs("plugin"),
                    vs("authentication_string"),
                ],
                cat.users
                    .values()
                    .map(|u| {
                        vec![
                            s(u.host.clone()),
                            s(u.user.clone()),
                            s(u.plugin.clone()),
                            s(match (&u.native_hash, u.plugin.as_str()) {
                                (Some(h), "mysql_native_password") => {
                                    crate::sql::accounts::native_hash_text(h)
                                }
                                _ => String::new(),
                            }),
                        ]
                    })
                    .collect(),
            )),
            _ => Ok((vec![vs("Host"), vs("Db"), vs("User")], Vec::new())),
        };
    }
    if dbl == "performance_schema" {
        return Err(Error::no_such_table(db, name));
    }
    Ok(match n.as_str() {
        "schemata" => {
            let mut rows = vec![vec![
                s("def"),
                s("information_schema"),
                s("utf8mb3"),
                s("utf8mb3_general_ci"),
                Value::Null,
                s("NO"),
            ]];
            for d in cat.dbs.values() {
                rows.push(vec![
                    s("def"),
                    s(d.name.clone()),
                    s("utf8mb4"),
                    s("utf8mb4_0900_ai_ci"),
                    Value::Null,
                    s("NO"),
                ]);
            }
            (
                vec![
                    vs("CATALOG_NAME"),
                    vs("SCHEMA_NAME"),
                    vs("DEFAULT_CHARACTER_SET_NAME"),
                    vs("DEFAULT_COLLATION_NAME"),
                    vs("SQL_PATH"),
                    vs("DEFAULT_ENCRYPTION"),
                ],
                rows,
            )
        }
        "tables" => {
            let mut rows = Vec::new();
            for t in &tables {
                rows.push(vec![
                    s("def"),
                    s(t.db.clone()),
                    s(t.name.clone()),
                    s("BASE TABLE"),
                    s("InnoDB"),
                    Value::Int(10),
                    s("Dynamic"),
                    Value::Int(0),
                    Value::Null,
                    Value::Null,
                    Value::Null,
                    Value::Null,
                    Value::Null,
                    next_autoinc(t).map_or(Value::Null, |n| Value::Int(n as i64)),
                    Value::Null,
                    Value::Null,
                    Value::Null,
                    s("utf8mb4_0900_ai_ci"),
                    Value::Null,
                    s(""),
                    s(t.comment.clone()),
                ]);
            }
            for v in cat.views.values() {
                rows.push(vec![
                    s("def"),
                    s(v.db.clone()),
                    s(v.name.clone()),
                    s("VIEW"),
                    Value::Null,
                    Value::Null,
                    Value::Null,
                    Value::Null,
                    Value::Null,
                    Value::Null,
                    Value::Null,
                    Value::Null,
                    Value::Null,
                    Value::Null,
                    Value::Null,
                    Value::Null,
                    Value::Null,
                    Value::Null,
                    Value::Null,
                    Value::Null,
                    s("VIEW"),
                ]);
            }
            let cols = [
                "TABLE_CATALOG",
                "TABLE_SCHEMA",
                "TABLE_NAME",
                "TABLE_TYPE",
                "ENGINE",
                "VERSION",
                "ROW_FORMAT",
                "TABLE_ROWS",
                "AVG_ROW_LENGTH",
                "DATA_LENGTH",
                "MAX_DATA_LENGTH",
                "INDEX_LENGTH",
                "DATA_FREE",
                "AUTO_INCREMENT",
                "CREATE_TIME",
                "UPDATE_TIME",
                "CHECK_TIME",
                "TABLE_COLLATION",
                "CHECKSUM",
                "CREATE_OPTIONS",
                "TABLE_COMMENT",
            ];
            (cols.iter().map(|c| vs(c)).collect(), rows)
        }
        "columns" => {
            let mut rows = Vec::new();
            // A view whose tables are gone has no columns to report (MySQL warns).
            let views: Vec<Arc<TableDef>> = cat
                .views
                .values()
                .filter_map(|v| crate::sql::views::view_table_def(cat, v).ok())
                .map(Arc::new)
                .collect();
            for t in tables.iter().copied().chain(views.iter()) {
                let (_, desc) = describe_rows(t, false);
                for (i, c) in t.columns.iter().enumerate() {
                    let (ty, len, dec) = c.ty.wire();
                    let is_num = c.ty.is_integer()
                        || matches!(
                            c.ty,
                            SqlType::Decimal(..) | SqlType::Float | SqlType::Double
                        );
                    let data_type =
                        c.ty.sql_name(false)
                            .split('(')
                            .next()
                            .unwrap_or("")
                            .to_string();
                    let _ = ty;
                    rows.push(vec![
                        s("def"),
                        s(t.db.clone()),
                        s(t.name.clone()),
                        s(c.name.clone()),
                        Value::Int(i as i64 + 1),
                        desc[i][4].clone(),
                        s(if c.nullable { "YES" } else { "NO" }),
                        s(data_type),
                        if c.ty.is_string() {
                            Value::Int((len / 4) as i64)
                        } else {
                            Value::Null
                        },
                        if c.ty.is_string() {
                            Value::Int(len as i64)
                        } else {
                            Value::Null
                        },
                        if is_num {
                            Value::Int(match c.ty {
                                SqlType::Decimal(p, _) => p as i64,
                                SqlType::BigInt => {
                                    if c.unsigned {
                                        20
                                    } else {
                                        19
                                    }
                                }
                                SqlType::Int => 10,
                                SqlType::SmallInt => 5,
                                SqlType::TinyInt => 3,
                                SqlType::MediumInt => 7,
                                SqlType::Double => 22,
                                _ => 12,
                            })
                        } else {
                            Value::Null
                        },
                        if is_num {
                            Value::Int(dec as i64 % 31)
                        } else {
                            Value::Null
                        },
                        match c.ty {
                            SqlType::DateTime(f) | SqlType::Timestamp(f) | SqlType::Time(f) => {
                                Value::Int(f as i64)
                            }
                            SqlType::Date => Value::Null,
                            _ => Value::Null,
                        },
                        text_collation(c).map_or(Value::Null, |k| s(k.charset())),
                        text_collation(c).map_or(Value::Null, |k| s(k.name())),
                        s(c.ty.sql_name(c.unsigned)),
                        desc[i][3].clone(),
                        desc[i][5].clone(),
                        s("select,insert,update,references"),
                        s(c.comment.clone()),
                        s(""),
                    ]);
                }
            }
            let cols = [
                "TABLE_CATALOG",
                "TABLE_SCHEMA",
                "TABLE_NAME",
                "COLUMN_NAME",
                "ORDINAL_POSITION",
                "COLUMN_DEFAULT",
                "IS_NULLABLE",
                "DATA_TYPE",
                "CHARACTER_MAXIMUM_LENGTH",
                "CHARACTER_OCTET_LENGTH",
                "NUMERIC_PRECISION",
                "NUMERIC_SCALE",
                "DATETIME_PRECISION",
                "CHARACTER_SET_NAME",
                "COLLATION_NAME",
                "COLUMN_TYPE",
                "COLUMN_KEY",
                "EXTRA",
                "PRIVILEGES",
                "COLUMN_COMMENT",
                "GENERATION_EXPRESSION",
            ];
            let mut c: Vec<Column> = cols.iter().map(|c| vs(c)).collect();
            for i in [4usize, 8, 9, 10, 11, 12] {
                c[i] = num(cols[i]);
            }
            (c, rows)
        }
        "statistics" => {
            let mut rows = Vec::new();
            for t in &tables {
                for (kn, cols, unique) in index_list(t) {
                    for (seq, &ci) in cols.iter().enumerate() {
                        rows.push(vec![
                            s("def"),
                            s(t.db.clone()),
                            s(t.name.clone()),
                            Value::Int(if unique { 0 } else { 1 }),
                            s(t.db.clone()),
                            s(kn.clone()),
                            Value::Int(seq as i64 + 1),
                            s(t.columns[ci].name.clone()),
                            s("A"),
                            Value::Int(0),
                            Value::Null,
                            Value::Null,
                            s(if t.columns[ci].nullable { "YES" } else { "" }),
                            s("BTREE"),
                            s(""),
                            s(""),
                            s("YES"),
                            Value::Null,
                        ]);
                    }
                }
            }
            let cols = [
                "TABLE_CATALOG",
                "TABLE_SCHEMA",
                "TABLE_NAME",
                "NON_UNIQUE",
                "INDEX_SCHEMA",
                "INDEX_NAME",
                "SEQ_IN_INDEX",
                "COLUMN_NAME",
                "COLLATION",
                "CARDINALITY",
                "SUB_PART",
                "PACKED",
                "NULLABLE",
                "INDEX_TYPE",
                "COMMENT",
                "INDEX_COMMENT",
                "IS_VISIBLE",
                "EXPRESSION",
            ];
            let mut c: Vec<Column> = cols.iter().map(|c| vs(c)).collect();
            c[3] = num("NON_UNIQUE");
            c[6] = num("SEQ_IN_INDEX");
            c[9] = num("CARDINALITY");
            (c, rows)
        }
        "key_column_usage" => {
            let mut rows = Vec::new();
            for t in &tables {
                for (kn, cols, unique) in index_list(t) {
                    if !unique {
                        continue;
                    }
                    for (seq, &ci) in cols.iter().enumerate() {
                        rows.push(vec![
                            s("def"),
                            s(t.db.clone()),
                            s(kn.clone()),
                            s("def"),
                            s(t.db.clone()),
                            s(t.name.clone()),
                            s(t.columns[ci].name.clone()),
                            Value::Int(seq as i64 + 1),
                            Value::Null,
                            Value::Null,
                            Value::Null,
                            Value::Null,
                        ]);
                    }
                }
                for f in &t.foreign_keys {
                    for (seq, (c, rc)) in f.columns.iter().zip(&f.ref_columns).enumerate() {
                        rows.push(vec![
                            s("def"),
                            s(t.db.clone()),
                            s(f.name.clone()),
                            s("def"),
                            s(t.db.clone()),
                            s(t.name.clone()),
                            s(c.clone()),
                            Value::Int(seq as i64 + 1),
                            Value::Int(seq as i64 + 1),
                            s(f.ref_db.clone()),
                            s(f.ref_table.clone()),
                            s(rc.clone()),
                        ]);
                    }
                }
            }
            let cols = [
                "CONSTRAINT_CATALOG",
                "CONSTRAINT_SCHEMA",
                "CONSTRAINT_NAME",
                "TABLE_CATALOG",
                "TABLE_SCHEMA",
                "TABLE_NAME",
                "COLUMN_NAME",
                "ORDINAL_POSITION",
                "POSITION_IN_UNIQUE_CONSTRAINT",
                "REFERENCED_TABLE_SCHEMA",
                "REFERENCED_TABLE_NAME",
                "REFERENCED_COLUMN_NAME",
            ];
            let mut c: Vec<Column> = cols.iter().map(|c| vs(c)).collect();
            c[7] = num("ORDINAL_POSITION");
            c[8] = num("POSITION_IN_UNIQUE_CONSTRAINT");
            (c, rows)
        }
        "table_constraints" => {
            let mut rows = Vec::new();
            for t in &tables {
                for (kn, _, unique) in index_list(t) {
                    if unique {
                        let kind = if kn == "PRIMARY" {
                            "PRIMARY KEY"
                        } else {
                            "UNIQUE"
                        };
                        rows.push(vec![
                            s("def"),
                            s(t.db.clone()),
                            s(kn.clone()),
                            s(t.db.clone()),
                            s(t.name.clone()),
                            s(kind),
                            s("YES"),
                        ]);
                    }
                }
                for f in &t.foreign_keys {
                    rows.push(vec![
                        s("def"),
                        s(t.db.clone()),
                        s(f.name.clone()),
                        s(t.db.clone()),
                        s(t.name.clone()),
                        s("FOREIGN KEY"),
                        s("YES"),
                    ]);
                }
                for c in &t.checks {
                    rows.push(vec![
                        s("def"),
                        s(t.db.clone()),
                        s(c.name.clone()),
                        s(t.db.clone()),
                        s(t.name.clone()),
                        s("CHECK"),
                        s(if c.enforced { "YES" } else { "NO" }),
                    ]);
                }
            }
            let cols = [
                "CONSTRAINT_CATALOG",
                "CONSTRAINT_SCHEMA",
                "CONSTRAINT_NAME",
                "TABLE_SCHEMA",
                "TABLE_NAME",
                "CONSTRAINT_TYPE",
                "ENFORCED",
            ];
            (cols.iter().map(|c| vs(c)).collect(), rows)
        }
        "views" => {
            let rows = cat
                .views
                .values()
                .map(|v| {
                    vec![
                        s("def"),
                        s(v.db.clone()),
                        s(v.name.clone()),
                        s(v.query.clone()),
                        s("NONE"),
                        s(if crate::sql::views::view_is_updatable(cat, v, 0) {
                            "YES"
                        } else {
                            "NO"
                        }),
                        s("root@%"),
                        s("DEFINER"),
                        s("utf8mb4"),
                        s("utf8mb4_0900_ai_ci"),
                    ]
                })
                .collect();
            let cols = [
                "TABLE_CATALOG",
                "TABLE_SCHEMA",
                "TABLE_NAME",
                "VIEW_DEFINITION",
                "CHECK_OPTION",
                "IS_UPDATABLE",
                "DEFINER",
                "SECURITY_TYPE",
                "CHARACTER_SET_CLIENT",
                "COLLATION_CONNECTION",
            ];
            (cols.iter().map(|c| vs(c)).collect(), rows)
        }
        "triggers" => crate::sql::trigger::information_schema(cat),
        "referential_constraints" => {
            let mut rows = Vec::new();
            for t in &tables {
                for f in &t.foreign_keys {
                    // The parent's unique key on the referenced columns, if it has one.
                    let unique = cat.table(&f.ref_db, &f.ref_table).and_then(|p| {
                        let pos = crate::sql::foreign_key::positions(p, &f.ref_columns)?;
                        index_list(p)
                            .into_iter()
                            .find(|(_, cols, u)| *u && *cols == pos)
                            .map(|(n, _, _)| n)
                    });
                    rows.push(vec![
                        s("def"),
                        s(t.db.clone()),
                        s(f.name.clone()),
                        s("def"),
                        s(f.ref_db.clone()),
                        unique.map(s).unwrap_or(Value::Null),
                        s("NONE"),
                        s(f.on_update.rule()),
                        s(f.on_delete.rule()),
                        s(t.name.clone()),
                        s(f.ref_table.clone()),
                    ]);
                }
            }
            let cols = [
                "CONSTRAINT_CATALOG",
                "CONSTRAINT_SCHEMA",
                "CONSTRAINT_NAME",
                "UNIQUE_CONSTRAINT_CATALOG",
                "UNIQUE_CONSTRAINT_SCHEMA",
                "UNIQUE_CONSTRAINT_NAME",
                "MATCH_OPTION",
                "UPDATE_RULE",
                "DELETE_RULE",
                "TABLE_NAME",
                "REFERENCED_TABLE_NAME",
            ];
            (cols.iter().map(|c| vs(c)).collect(), rows)
        }
        "check_constraints" => {
            let mut rows = Vec::new();
            for t in &tables {
                for c in &t.checks {
                    rows.push(vec![
                        s("def"),
                        s(t.db.clone()),
                        s(c.name.clone()),
                        s(c.expr.clone()),
                    ]);
                }
            }
            let cols = [
                "CONSTRAINT_CATALOG",
                "CONSTRAINT_SCHEMA",
                "CONSTRAINT_NAME",
                "CHECK_CLAUSE",
            ];
            (cols.iter().map(|c| vs(c)).collect(), rows)
        }
        "routines" | "events" | "partitions" | "parameters" => {
            let cols = [
                "SPECIFIC_NAME",
                "ROUTINE_CATALOG",
                "ROUTINE_SCHEMA",
                "ROUTINE_NAME",
                "ROUTINE_TYPE",
                "TABLE_NAME",
                "CONSTRAINT_NAME",
            ];
            (cols.iter().map(|c| vs(c)).collect(), Vec::new())
        }
        "engines" => engines(),
        "character_sets" => (
            vec![
                vs("CHARACTER_SET_NAME"),
                vs("DEFAULT_COLLATE_NAME"),
                vs("DESCRIPTION"),
                num("MAXLEN"),
            ],
            charsets()
                .into_iter()
                .map(|(a, b, c, d)| vec![s(a), s(b), s(c), Value::Int(d)])
                .collect(),
        ),
        "replica_host_status" => crate::replica::host_status_table(),
        "collations" => (
            vec![
                vs("COLLATION_NAME"),
                vs("CHARACTER_SET_NAME"),
                num("ID"),
                vs("IS_DEFAULT"),
                vs("IS_COMPILED"),
                num("SORTLEN"),
                vs("PAD_ATTRIBUTE"),
            ],
            collation_rows(),
        ),
        _ => {
            return Err(Error::new(
                code::ER_UNKNOWN_TABLE,
                format!("Unknown table '{name}' in information_schema"),
            ))
        }
    })
}

/// (key name, columns, unique) for PRIMARY and every index.
pub fn index_list(t: &TableDef) -> Vec<(String, Vec<usize>, bool)> {
    let mut v = Vec::new();
    if !t.primary.is_empty() {
        v.push(("PRIMARY".to_string(), t.primary.clone(), true));
    }
    for ix in &t.indexes {
        v.push((ix.name.clone(), ix.columns.clone(), ix.unique));
    }
    v
}

pub fn engines() -> (Vec<Column>, Vec<Row>) {
    (
        vec![vs("Engine"), vs("Support"), vs("Comment"), vs("Transactions"), vs("XA"), vs("Savepoints")],
        vec![vec![s("InnoDB"), s("DEFAULT"), s("Borealis redo-only storage on a quorum volume (reported as InnoDB for compatibility)"), s("YES"), s("NO"), s("NO")]],
    )
}

pub fn charsets() -> Vec<(&'static str, &'static str, &'static str, i64)> {
    vec![
        ("utf8mb4", "utf8mb4_0900_ai_ci", "UTF-8 Unicode", 4),
        ("utf8mb3", "utf8mb3_general_ci", "UTF-8 Unicode", 3),
        ("latin1", "latin1_swedish_ci", "cp1252 West European", 1),
        ("ascii", "ascii_general_ci", "US ASCII", 1),
        ("binary", "binary", "Binary pseudo charset", 1),
    ]
}

/// Collations as SHOW COLLATION and information_schema.COLLATIONS list them.
pub fn collation_rows() -> Vec<Row> {
    Collation::all()
        .map(|k| {
            // SORTLEN as MySQL 8 reports it: 0 for the UCA 9.0.0 collations, 8 for the
            // older UCA ones, 1 for the simple ones (utf8mb4_0900_bin included).
            let sortlen = if k.name().contains("_0900_") && k.case_insensitive() {
                0
            } else if k.name().contains("_unicode_") {
                8
            } else {
                1
            };
            vec![
                s(k.name()),
                s(k.charset()),
                Value::Int(k.id() as i64),
                s(if k.is_charset_default() { "Yes" } else { "" }),
                s("Yes"),
                Value::Int(sortlen),
                s(k.pad_attribute()),
            ]
        })
        .collect()
}

/// The collation a column reports (SHOW FULL COLUMNS, information_schema.COLUMNS, SHOW
/// CREATE TABLE): text columns only; binary strings and JSON have none.
pub fn text_collation(c: &ColumnDef) -> Option<Collation> {
    (c.ty.is_string() && c.ty != SqlType::Json).then(|| c.collation())
}

/// Keep rows whose first column matches a LIKE pattern.
pub fn filter_like(rows: Vec<Row>, pat: Option<&str>, col: usize) -> Vec<Row> {
    match pat {
        None => rows,
        Some(p) => rows
            .into_iter()
            .filter(|r| {
                r.get(col)
                    .and_then(|v| v.to_text())
                    .is_some_and(|t| like_match(&t, p))
            })
            .collect(),
    }
}

pub fn result(columns: Vec<Column>, rows: Vec<Row>) -> QueryResult {
    QueryResult::Rows { columns, rows }
}
