//! DDL: databases, tables, indexes, views (a table's triggers go with it). Each statement is one atomic catalog change
//! (plus any tree rebuild) applied as a single MTR, so a crash leaves the old schema or
//! the new one. Statements that change a table's shape rebuild its trees from the
//! committed rows.

use std::collections::BTreeMap;
use std::sync::Arc;

use sqlparser::ast;

use crate::catalog::{
    self, keys, to_record, ColumnDef, DbDef, DefaultValue, IndexDef, SqlType, TableDef, ViewDef,
};
use crate::database::Shared;
use crate::error::{code, Error, Result};
use crate::keycodec::encode_value;
use crate::result::QueryResult;
use crate::row::{decode_row, encode_row};
use crate::sql::bind::{ident_names, Binder, Scope};
use crate::sql::coerce::store_value;
use crate::sql::constraint_ddl as cdl;
use crate::store::TreeWrite;
use crate::value::Value;

fn lc(s: &str) -> String {
    s.to_lowercase()
}

/// `ALTER TABLE [db.]t DISABLE KEYS` / `ENABLE KEYS` as the whole statement: mysqldump
/// writes them around every table's rows. sqlparser does not parse them. Both are the
/// same no-op here (every index is always current).
#[derive(Debug, PartialEq)]
pub struct AlterKeys {
    pub db: Option<String>,
    pub table: String,
}

/// Recognize an [`AlterKeys`] statement.
pub fn parse_alter_keys(text: &str) -> Option<AlterKeys> {
    use crate::sql::constraint_ddl::{alter_table_head, tok_is};
    let (toks, db, table, i) = alter_table_head(text)?;
    ((tok_is(&toks, i, "enable") || tok_is(&toks, i, "disable"))
        && tok_is(&toks, i + 1, "keys")
        && toks.len() == i + 2)
        .then_some(AlterKeys { db, table })
}

pub fn create_database(sh: &Shared, name: &str, if_not_exists: bool) -> Result<QueryResult> {
    sh.ddl(|cat, w| {
        if cat.db_exists(name) {
            if if_not_exists {
                return Ok(QueryResult::ok(0));
            }
            return Err(Error::new(
                code::ER_DB_CREATE_EXISTS,
                format!("Can't create database '{name}'; database exists"),
            ));
        }
        let d = DbDef {
            name: name.to_string(),
        };
        w.put(sh.system_tree(), &keys::db(name), &to_record(&d))?;
        cat.dbs.insert(lc(name), d);
        Ok(QueryResult::ok(1))
    })
}

pub fn drop_database(
    sh: &Shared,
    name: &str,
    if_exists: bool,
    fk_checks: bool,
) -> Result<QueryResult> {
    if name.eq_ignore_ascii_case("information_schema")
        || name.eq_ignore_ascii_case("mysql")
        || name.eq_ignore_ascii_case("performance_schema")
        || name.eq_ignore_ascii_case("sys")
    {
        return Err(Error::new(
            code::ER_DBACCESS_DENIED,
            format!("Access denied for user to database '{name}'"),
        ));
    }
    sh.ddl(|cat, w| {
        if !cat.db_exists(name) {
            if if_exists {
                return Ok(QueryResult::ok(0));
            }
            return Err(Error::new(
                code::ER_DB_DROP_EXISTS,
                format!("Can't drop database '{name}'; database doesn't exist"),
            ));
        }
        let tables: Vec<Arc<TableDef>> = cat.tables_in(name).into_iter().cloned().collect();
        if fk_checks {
            // A parent referenced from another database's table cannot go.
            let dropped: Vec<(String, String)> = tables
                .iter()
                .map(|t| (t.db.clone(), t.name.clone()))
                .collect();
            for t in &tables {
                if let Some((c, f)) = cdl::outside_reference(cat, t, &dropped) {
                    return Err(cdl::cannot_drop_parent(t, &c, &f));
                }
            }
        }
        for t in &tables {
            drop_table_trees(w, t)?;
            crate::sql::trigger::drop_for_table(sh, cat, w, &t.db, &t.name)?;
            w.delete(sh.system_tree(), &keys::table(&t.db, &t.name))?;
            cat.tables.remove(&(lc(&t.db), lc(&t.name)));
        }
        let views: Vec<Arc<ViewDef>> = cat.views_in(name).into_iter().cloned().collect();
        for v in &views {
            w.delete(sh.system_tree(), &keys::view(&v.db, &v.name))?;
            cat.views.remove(&(lc(&v.db), lc(&v.name)));
        }
        w.delete(sh.system_tree(), &keys::db(name))?;
        cat.dbs.remove(&lc(name));
        Ok(QueryResult::ok(tables.len() as u64))
    })
}

fn drop_table_trees(w: &mut dyn TreeWrite, t: &TableDef) -> Result<()> {
    w.drop_tree(t.root)?;
    for ix in &t.indexes {
        w.drop_tree(ix.root)?;
    }
    Ok(())
}

/// Map a declared data type to ours, with its UNSIGNED flag.
pub fn sql_type(dt: &ast::DataType) -> Result<(SqlType, bool)> {
    use ast::DataType as D;
    let len = |l: &Option<ast::CharacterLength>, d: u32| -> u32 {
        match l {
            Some(ast::CharacterLength::IntegerLength { length, .. }) => *length as u32,
            _ => d,
        }
    };
    let dec = |info: &ast::ExactNumberInfo| -> (u8, u8) {
        match info {
            ast::ExactNumberInfo::None => (10, 0),
            ast::ExactNumberInfo::Precision(p) => ((*p).min(65) as u8, 0),
            ast::ExactNumberInfo::PrecisionAndScale(p, s) => {
                ((*p).min(65) as u8, (*s).min(30) as u8)
            }
        }
    };
    Ok(match dt {
        D::TinyInt(_) => (SqlType::TinyInt, false),
        D::TinyIntUnsigned(_) | D::UTinyInt => (SqlType::TinyInt, true),
        D::SmallInt(_) | D::Int2(_) => (SqlType::SmallInt, false),
        D::SmallIntUnsigned(_) | D::Int2Unsigned(_) | D::USmallInt => (SqlType::SmallInt, true),
        D::MediumInt(_) => (SqlType::MediumInt, false),
        D::MediumIntUnsigned(_) => (SqlType::MediumInt, true),
        D::Int(_) | D::Integer(_) | D::Int4(_) | D::Signed | D::SignedInteger => {
            (SqlType::Int, false)
        }
        D::IntUnsigned(_)
        | D::IntegerUnsigned(_)
        | D::Int4Unsigned(_)
        | D::Unsigned
        | D::UnsignedInteger => (SqlType::Int, true),
        D::BigInt(_) | D::Int8(_) | D::Int64 => (SqlType::BigInt, false),
        D::BigIntUnsigned(_) | D::Int8Unsigned(_) | D::UBigInt | D::UInt64 => {
            (SqlType::BigInt, true)
        }
        D::Decimal(i) | D::Numeric(i) | D::Dec(i) => {
            let (p, s) = dec(i);
            (SqlType::Decimal(p, s), false)
        }
        D::DecimalUnsigned(i) | D::DecUnsigned(i) => {
            let (p, s) = dec(i);
            (SqlType::Decimal(p, s), true)
        }
        D::Float(_) | D::Float4 => (SqlType::Float, false),
        D::FloatUnsigned(_) => (SqlType::Float, true),
        D::Double(_) | D::DoublePrecision | D::Real | D::Float8 | D::Float64 => {
            (SqlType::Double, false)
        }
        D::DoubleUnsigned(_) | D::DoublePrecisionUnsigned | D::RealUnsigned => {
            (SqlType::Double, true)
        }
        D::Bool | D::Boolean => (SqlType::TinyInt, false),
        D::Bit(n) => (SqlType::Bit(n.unwrap_or(1).min(64) as u8), false),
        D::Char(l) | D::Character(l) => (SqlType::Char(len(l, 1).min(255)), false),
        D::Varchar(l) | D::CharacterVarying(l) | D::CharVarying(l) | D::Nvarchar(l) => {
            (SqlType::VarChar(len(l, 255)), false)
        }
        D::String(_) => (SqlType::VarChar(255), false),
        D::Text => (SqlType::Text(65535), false),
        D::TinyText => (SqlType::Text(255), false),
        D::MediumText => (SqlType::Text(16_777_215), false),
        D::LongText => (SqlType::Text(u32::MAX), false),
        D::Binary(n) => (SqlType::Binary(n.unwrap_or(1) as u32), false),
        D::Varbinary(n) => (
            SqlType::VarBinary(match n {
                Some(ast::BinaryLength::IntegerLength { length }) => *length as u32,
                _ => 65535,
            }),
            false,
        ),
        D::Blob(_) => (SqlType::Blob(65535), false),
        D::TinyBlob => (SqlType::Blob(255), false),
        D::MediumBlob => (SqlType::Blob(16_777_215), false),
        D::LongBlob => (SqlType::Blob(u32::MAX), false),
        D::Enum(members, _) => (
            SqlType::Enum(
                members
                    .iter()
                    .map(|m| match m {
                        ast::EnumMember::Name(n) => n.clone(),
                        ast::EnumMember::NamedValue(n, _) => n.clone(),
                    })
                    .collect(),
            ),
            false,
        ),
        D::Set(members) => (SqlType::Set(members.clone()), false),
        D::Date => (SqlType::Date, false),
        D::Datetime(p) => (SqlType::DateTime(p.unwrap_or(0).min(6) as u8), false),
        D::Timestamp(p, _) => (SqlType::Timestamp(p.unwrap_or(0).min(6) as u8), false),
        D::Time(p, _) => (SqlType::Time(p.unwrap_or(0).min(6) as u8), false),
        D::JSON => (SqlType::Json, false),
        D::Custom(name, mods) => {
            let n = name.to_string().to_lowercase();
            match n.as_str() {
                "year" => (SqlType::Year, false),
                "serial" => (SqlType::BigInt, true),
                "long" | "mediumtext" => (SqlType::Text(16_777_215), false),
                _ => {
                    return Err(Error::parse(format!(
                        "{n}{}",
                        if mods.is_empty() {
                            String::new()
                        } else {
                            format!(
                                "({})",
                                mods.iter()
                                    .map(|m| m.to_string())
                                    .collect::<Vec<_>>()
                                    .join(",")
                            )
                        }
                    )))
                }
            }
        }
        D::Zerofill(inner) => sql_type(inner)?,
        other => return Err(Error::parse(other.to_string())),
    })
}

/// The collation a table option sets as the table's default: `[DEFAULT] COLLATE [=] x`
/// or `[DEFAULT] {CHARSET | CHARACTER SET} [=] x` (that charset's default collation).
fn table_collation_option(s: &str) -> Result<Option<crate::collation::Collation>> {
    use crate::collation::Collation;
    let (key, val) = match s.split_once('=') {
        Some((k, v)) => (k.trim(), v.trim()),
        None => match s.trim().rsplit_once(' ') {
            Some((k, v)) => (k.trim(), v.trim()),
            None => return Ok(None),
        },
    };
    let key = key.to_uppercase();
    let key = key.trim_start_matches("DEFAULT").trim();
    Ok(match key {
        "COLLATE" => Some(Collation::from_name(val)?),
        "CHARSET" | "CHARACTER SET" => Some(Collation::for_charset(val)?),
        _ => None,
    })
}

/// Build a column definition from the AST, evaluating its DEFAULT.
pub fn column_def(
    b: &mut Binder<'_>,
    sh: &Shared,
    c: &ast::ColumnDef,
    options: &[ast::ColumnOption],
) -> Result<(ColumnDef, bool, bool)> {
    let (ty, mut unsigned) = sql_type(&c.data_type)?;
    if matches!(c.data_type, ast::DataType::Custom(ref n, _) if n.to_string().eq_ignore_ascii_case("serial"))
    {
        unsigned = true;
    }
    let mut col = ColumnDef {
        name: c.name.value.clone(),
        ty,
        unsigned,
        nullable: true,
        default: None,
        auto_increment: false,
        on_update_now: false,
        collation: crate::collation::Collation::DEFAULT,
        comment: String::new(),
    };
    let mut primary = false;
    let mut unique = false;
    let mut default_expr = None;
    let mut explicit_collation = false;
    for o in options {
        match o {
            ast::ColumnOption::Null => col.nullable = true,
            ast::ColumnOption::NotNull => col.nullable = false,
            ast::ColumnOption::Default(e) => default_expr = Some(e.clone()),
            ast::ColumnOption::PrimaryKey(_) => {
                primary = true;
                col.nullable = false;
            }
            ast::ColumnOption::Unique(_) => unique = true,
            ast::ColumnOption::Comment(s) => col.comment = s.clone(),
            ast::ColumnOption::OnUpdate(_) => col.on_update_now = true,
            ast::ColumnOption::Collation(n) => {
                col.collation = crate::collation::Collation::from_name(&n.to_string())?;
                explicit_collation = true;
            }
            ast::ColumnOption::CharacterSet(cs) if !explicit_collation => {
                col.collation = crate::collation::Collation::for_charset(&cs.to_string())?;
            }
            ast::ColumnOption::DialectSpecific(toks) => {
                let s = toks
                    .iter()
                    .map(|t| t.to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
                    .to_uppercase();
                if s.contains("AUTO_INCREMENT") {
                    col.auto_increment = true;
                    col.nullable = false;
                }
            }
            ast::ColumnOption::CharacterSet(_)
            | ast::ColumnOption::Check(_)
            | ast::ColumnOption::ForeignKey(_)
            | ast::ColumnOption::Invisible => {}
            ast::ColumnOption::Generated { .. } => {
                return Err(Error::unsupported("generated columns"))
            }
            _ => {}
        }
    }
    if matches!(c.data_type, ast::DataType::Custom(ref n, _) if n.to_string().eq_ignore_ascii_case("serial"))
    {
        col.auto_increment = true;
        col.nullable = false;
        unique = true;
    }
    if let Some(e) = default_expr {
        let is_now = match &e {
            ast::Expr::Function(f) => {
                let n = ident_names(&f.name)
                    .last()
                    .cloned()
                    .unwrap_or_default()
                    .to_lowercase();
                matches!(
                    n.as_str(),
                    "current_timestamp" | "now" | "localtime" | "localtimestamp"
                )
            }
            ast::Expr::Identifier(i) => i.value.eq_ignore_ascii_case("current_timestamp"),
            _ => false,
        };
        if is_now {
            if !matches!(col.ty, SqlType::DateTime(_) | SqlType::Timestamp(_)) {
                return Err(Error::new(
                    code::ER_INVALID_DEFAULT,
                    format!("Invalid default value for '{}'", col.name),
                ));
            }
            col.default = Some(DefaultValue::CurrentTimestamp);
        } else {
            let bound = b.bind_expr_in(&e, &Scope::default(), "default")?;
            let v = sh.eval_const(&bound)?;
            if v.is_null() {
                if !col.nullable {
                    return Err(Error::new(
                        code::ER_INVALID_DEFAULT,
                        format!("Invalid default value for '{}'", col.name),
                    ));
                }
            } else {
                let mut w = Vec::new();
                let v = store_value(v, &col, true, 1, &mut w).map_err(|_| {
                    Error::new(
                        code::ER_INVALID_DEFAULT,
                        format!("Invalid default value for '{}'", col.name),
                    )
                })?;
                col.default = Some(DefaultValue::Const(encode_row(&[v])));
            }
        }
    }
    if matches!(col.ty, SqlType::Text(_) | SqlType::Blob(_) | SqlType::Json)
        && matches!(col.default, Some(DefaultValue::Const(_)))
    {
        return Err(Error::new(
            1101,
            format!(
                "BLOB, TEXT, GEOMETRY or JSON column '{}' can't have a default value",
                col.name
            ),
        ));
    }
    Ok((col, primary, unique))
}

fn index_columns(t: &TableDef, cols: &[ast::IndexColumn]) -> Result<Vec<usize>> {
    let mut out = Vec::new();
    for c in cols {
        let name = match &c.column.expr {
            ast::Expr::Identifier(i) => i.value.clone(),
            ast::Expr::Function(f) => ident_names(&f.name).last().cloned().unwrap_or_default(), // col(10) prefix
            other => other.to_string(),
        };
        let i = t.column_index(&name).ok_or_else(|| {
            Error::new(
                code::ER_KEY_COLUMN_DOES_NOT_EXIST,
                format!("Key column '{name}' doesn't exist in table"),
            )
        })?;
        out.push(i);
    }
    Ok(out)
}

/// Pending index definitions before trees exist: (name, columns, unique).
pub(crate) type PendingIndex = (String, Vec<usize>, bool);

fn add_constraint(
    t: &mut TableDef,
    pending: &mut Vec<PendingIndex>,
    c: &ast::TableConstraint,
) -> Result<()> {
    match c {
        ast::TableConstraint::PrimaryKey(pk) => {
            if !t.primary.is_empty() {
                return Err(Error::new(
                    code::ER_MULTIPLE_PRI_KEY,
                    "Multiple primary key defined",
                ));
            }
            t.primary = index_columns(t, &pk.columns)?;
            for &i in &t.primary.clone() {
                t.columns[i].nullable = false;
            }
        }
        ast::TableConstraint::Unique(u) => {
            let cols = index_columns(t, &u.columns)?;
            let name = u
                .index_name
                .as_ref()
                .or(u.name.as_ref())
                .map(|i| i.value.clone())
                .unwrap_or_else(|| t.columns[cols[0]].name.clone());
            pending.push((name, cols, true));
        }
        ast::TableConstraint::Index(ix) => {
            let cols = index_columns(t, &ix.columns)?;
            let name = ix
                .name
                .as_ref()
                .map(|i| i.value.clone())
                .unwrap_or_else(|| t.columns[cols[0]].name.clone());
            pending.push((name, cols, false));
        }
        ast::TableConstraint::ForeignKey(_) | ast::TableConstraint::Check(_) => {}
        ast::TableConstraint::FulltextOrSpatial(_) => {
            return Err(Error::unsupported("FULLTEXT/SPATIAL indexes"))
        }
        other => return Err(Error::unsupported(other.to_string())),
    }
    Ok(())
}

/// Unique index names as MySQL derives them (col, col_2, ...).
fn unique_name(t: &TableDef, pending: &[PendingIndex], base: &str) -> String {
    let taken = |n: &str| {
        t.indexes.iter().any(|i| i.name.eq_ignore_ascii_case(n))
            || pending
                .iter()
                .filter(|p| p.0.eq_ignore_ascii_case(n))
                .count()
                > 1
    };
    if !taken(base) {
        return base.to_string();
    }
    (2..)
        .map(|i| format!("{base}_{i}"))
        .find(|n| !taken(n))
        .expect("a free name")
}

pub fn create_table(
    b: &mut Binder<'_>,
    sh: &Shared,
    ct: &ast::CreateTable,
    ex_rows: Option<(Vec<crate::result::Column>, Vec<Vec<Value>>)>,
) -> Result<QueryResult> {
    let (db, name) = b.table_name(&ct.name)?;
    let cat = sh.catalog();
    if !cat.db_exists(&db) {
        return Err(Error::new(
            code::ER_BAD_DB,
            format!("Unknown database '{db}'"),
        ));
    }
    if cat.table(&db, &name).is_some() || cat.view(&db, &name).is_some() {
        if ct.if_not_exists {
            return Ok(QueryResult::ok(0));
        }
        return Err(Error::new(
            code::ER_TABLE_EXISTS,
            format!("Table '{name}' already exists"),
        ));
    }
    if name.len() > 64 {
        return Err(Error::new(
            code::ER_TOO_LONG_IDENT,
            format!("Identifier name '{name}' is too long"),
        ));
    }
    // CREATE TABLE ... LIKE
    if let Some(like) = &ct.like {
        let src_name = match like {
            ast::CreateTableLikeKind::Parenthesized(l) | ast::CreateTableLikeKind::Plain(l) => {
                l.name.clone()
            }
        };
        let (sdb, sname) = b.table_name(&src_name)?;
        let src = cat.get_table(&sdb, &sname)?.clone();
        let mut t = (*src).clone();
        t.db = db.clone();
        t.name = name.clone();
        // LIKE copies CHECK constraints (under new generated names), not foreign keys.
        t.foreign_keys.clear();
        for (i, c) in t.checks.iter_mut().enumerate() {
            c.name = format!("{name}_chk_{}", i + 1);
        }
        let pending: Vec<PendingIndex> = t
            .indexes
            .iter()
            .map(|i| (i.name.clone(), i.columns.clone(), i.unique))
            .collect();
        t.indexes.clear();
        return install_table(sh, t, pending, Vec::new(), b.fk_checks);
    }
    let mut t = TableDef {
        id: 0,
        db: db.clone(),
        name: name.clone(),
        columns: Vec::new(),
        primary: Vec::new(),
        indexes: Vec::new(),
        root: 0,
        comment: String::new(),
        auto_increment_start: 1,
        foreign_keys: Vec::new(),
        checks: Vec::new(),
        fk_generated_indexes: Vec::new(),
    };
    let mut pending: Vec<PendingIndex> = Vec::new();
    let mut col_primary = Vec::new();
    for c in &ct.columns {
        if t.column_index(&c.name.value).is_some() {
            return Err(Error::new(
                code::ER_DUP_FIELDNAME,
                format!("Duplicate column name '{}'", c.name.value),
            ));
        }
        let opts: Vec<ast::ColumnOption> = c.options.iter().map(|o| o.option.clone()).collect();
        let (col, primary, unique) = column_def(b, sh, c, &opts)?;
        let idx = t.columns.len();
        t.columns.push(col);
        if primary {
            col_primary.push(idx);
        }
        if unique {
            pending.push((c.name.value.clone(), vec![idx], true));
        }
    }
    if col_primary.len() > 1 {
        return Err(Error::new(
            code::ER_MULTIPLE_PRI_KEY,
            "Multiple primary key defined",
        ));
    }
    t.primary = col_primary;
    for c in &ct.constraints {
        add_constraint(&mut t, &mut pending, c)?;
    }
    // CREATE TABLE ... AS SELECT: columns from the query.
    let mut rows = Vec::new();
    if let Some((cols, r)) = ex_rows {
        for c in &cols {
            if t.column_index(&c.name).is_none() {
                let mut col = column_from_result(c);
                // A column selected from a table keeps that column's collation.
                if let Some(src) = cat
                    .table(&c.schema, &c.org_table)
                    .and_then(|st| st.columns.get(st.column_index(&c.org_name)?))
                {
                    if src.ty.is_string() {
                        col.collation = src.collation;
                    }
                }
                t.columns.push(col);
            }
        }
        let map: Vec<usize> = cols
            .iter()
            .map(|c| t.column_index(&c.name).expect("just added"))
            .collect();
        for src in r {
            let mut row = vec![Value::Null; t.columns.len()];
            for (k, v) in src.into_iter().enumerate() {
                row[map[k]] = v;
            }
            rows.push(row);
        }
    }
    if t.columns.is_empty() {
        return Err(Error::new(1113, "A table must have at least 1 column"));
    }
    cdl::add_create_constraints(b, &cat, &mut t, &mut pending, ct)?;
    for (i, c) in t.columns.iter().enumerate() {
        if c.auto_increment
            && t.primary.first() != Some(&i)
            && !pending.iter().any(|p| p.1.first() == Some(&i))
        {
            return Err(Error::new(code::ER_WRONG_AUTO_KEY, "Incorrect table definition; there can be only one auto column and it must be defined as a key"));
        }
    }
    if let ast::CreateTableOptions::Plain(opts)
    | ast::CreateTableOptions::Options(opts)
    | ast::CreateTableOptions::With(opts) = &ct.table_options
    {
        for o in opts {
            let s = o.to_string();
            let up = s.to_uppercase();
            if let Some(c) = table_collation_option(&s)? {
                // The table's default collation is that of its text columns declared
                // without a charset or collation of their own.
                for (def, col) in ct.columns.iter().zip(t.columns.iter_mut()) {
                    if !def.options.iter().any(|o| {
                        matches!(
                            o.option,
                            ast::ColumnOption::Collation(_) | ast::ColumnOption::CharacterSet(_)
                        )
                    }) {
                        col.collation = c;
                    }
                }
            }
            if let Some(rest) = up.strip_prefix("AUTO_INCREMENT") {
                let n: String = rest.chars().filter(|c| c.is_ascii_digit()).collect();
                t.auto_increment_start = n.parse().unwrap_or(1);
            }
            if up.starts_with("COMMENT") {
                if let Some(i) = s.find('\'') {
                    t.comment = s[i + 1..s.len().saturating_sub(1)].replace("''", "'");
                }
            }
            if up.starts_with("ENGINE")
                && !(up.contains("INNODB")
                    || up.contains("MEMORY")
                    || up.contains("MYISAM")
                    || up.contains("BOREALIS")
                    || up.contains("ARIA")
                    || up.contains("CSV")
                    || up.contains("ARCHIVE"))
            {
                let e = s
                    .split(['=', ' '])
                    .filter(|x| !x.is_empty())
                    .nth(1)
                    .unwrap_or("")
                    .to_string();
                return Err(Error::new(1286, format!("Unknown storage engine '{e}'")));
            }
        }
    }
    let names: Vec<String> = pending.iter().map(|p| p.0.clone()).collect();
    for (i, n) in names.iter().enumerate() {
        if n.eq_ignore_ascii_case("primary") {
            return Err(Error::new(1280, format!("Incorrect index name '{n}'")));
        }
        let nm = unique_name(&t, &pending[..=i], n);
        pending[i].0 = nm;
    }
    for (i, p) in pending.iter().enumerate() {
        if pending[..i].iter().any(|q| q.0.eq_ignore_ascii_case(&p.0)) {
            return Err(Error::new(
                code::ER_DUP_KEYNAME,
                format!("Duplicate key name '{}'", p.0),
            ));
        }
    }
    install_table(sh, t, pending, rows, b.fk_checks)
}

fn column_from_result(c: &crate::result::Column) -> ColumnDef {
    use crate::result::ColumnType as C;
    let ty = match c.ty {
        C::Tiny => SqlType::TinyInt,
        C::Short => SqlType::SmallInt,
        C::Int24 => SqlType::MediumInt,
        C::Long => SqlType::Int,
        C::LongLong => SqlType::BigInt,
        C::Float => SqlType::Float,
        C::Double => SqlType::Double,
        C::NewDecimal | C::Decimal => {
            SqlType::Decimal(65.min(c.length.max(1) as u8), c.decimals.min(30))
        }
        C::Date => SqlType::Date,
        C::DateTime | C::Timestamp => SqlType::DateTime(c.decimals.min(6)),
        C::Time => SqlType::Time(c.decimals.min(6)),
        C::Year => SqlType::Year,
        C::Json => SqlType::Json,
        C::Blob | C::TinyBlob | C::MediumBlob | C::LongBlob => {
            if c.charset == crate::result::charset::BINARY {
                SqlType::Blob(u32::MAX)
            } else {
                SqlType::Text(u32::MAX)
            }
        }
        _ => {
            if c.charset == crate::result::charset::BINARY
                && c.flags & crate::result::flags::BINARY != 0
                && !matches!(c.ty, C::VarString | C::String)
            {
                SqlType::VarBinary(c.length.max(1))
            } else {
                SqlType::VarChar((c.length / 4).clamp(1, 16383))
            }
        }
    };
    ColumnDef {
        name: c.name.clone(),
        ty,
        unsigned: c.flags & crate::result::flags::UNSIGNED != 0,
        nullable: c.flags & crate::result::flags::NOT_NULL == 0,
        default: None,
        auto_increment: false,
        on_update_now: false,
        collation: crate::collation::Collation::DEFAULT,
        comment: String::new(),
    }
}

/// Create trees for a new table definition, load `rows`, and record it in the catalog.
fn install_table(
    sh: &Shared,
    mut t: TableDef,
    pending: Vec<PendingIndex>,
    rows: Vec<Vec<Value>>,
    fk_checks: bool,
) -> Result<QueryResult> {
    // Coerce the initial rows (CREATE TABLE ... SELECT).
    let mut coerced = Vec::with_capacity(rows.len());
    for (i, r) in rows.into_iter().enumerate() {
        let mut out = Vec::with_capacity(r.len());
        for (ci, v) in r.into_iter().enumerate() {
            let mut w = Vec::new();
            out.push(store_value(v, &t.columns[ci], true, i + 1, &mut w)?);
        }
        coerced.push(out);
    }
    // CREATE TABLE ... SELECT: the rows must satisfy the new table's constraints.
    if !coerced.is_empty() {
        for c in &t.checks {
            crate::sql::check::validate_rows(sh, &t, c, &coerced)?;
        }
        let cat = sh.catalog();
        for f in t.foreign_keys.iter().filter(|_| fk_checks) {
            let parent = if f.references(&t.db, &t.name) {
                t.clone()
            } else {
                match cat.table(&f.ref_db, &f.ref_table) {
                    Some(p) => (**p).clone(),
                    None => continue,
                }
            };
            cdl::validate_rows(sh, &t, f, &parent, &coerced)?;
        }
    }
    let n = coerced.len() as u64;
    sh.ddl(|cat, w| {
        if cat.table(&t.db, &t.name).is_some() {
            return Err(Error::new(
                code::ER_TABLE_EXISTS,
                format!("Table '{}' already exists", t.name),
            ));
        }
        cat.next_table_id += 1;
        t.id = cat.next_table_id;
        w.put(
            sh.system_tree(),
            keys::NEXT_TABLE_ID,
            &to_record(&cat.next_table_id),
        )?;
        t.root = w.create_tree()?;
        for (name, cols, unique) in &pending {
            let root = w.create_tree()?;
            t.indexes.push(IndexDef {
                name: name.clone(),
                columns: cols.clone(),
                unique: *unique,
                root,
            });
        }
        load_rows(w, &t, &coerced, 0)?;
        cat.save_table(w, sh.system_tree(), t.clone())?;
        Ok(())
    })?;
    sh.forget_counters(t.id);
    Ok(QueryResult::Ok {
        affected_rows: n,
        last_insert_id: 0,
        info: if n > 0 {
            format!("Records: {n}  Duplicates: 0  Warnings: 0")
        } else {
            String::new()
        },
    })
}

/// The key of `row` in an index on `cols` (before the primary-key suffix), and whether
/// one of its columns is NULL (a unique index lets such keys repeat).
fn index_key(t: &TableDef, cols: &[usize], row: &[Value]) -> (Vec<u8>, bool) {
    let mut k = Vec::new();
    let mut null = false;
    for &c in cols {
        let v = row.get(c).unwrap_or(&Value::Null);
        null |= v.is_null();
        encode_value(&mut k, v, t.columns[c].collation());
    }
    (k, null)
}

/// ER_DUP_ENTRY for `row` meeting another row with the same key in index `index`.
fn duplicate_entry(t: &TableDef, index: &str, cols: &[usize], row: &[Value]) -> Error {
    let val = cols
        .iter()
        .map(|&c| row.get(c).and_then(Value::to_text).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("-");
    Error::new(
        code::ER_DUP_ENTRY,
        format!("Duplicate entry '{val}' for key '{}.{index}'", t.name),
    )
}

/// Write rows and their index entries into fresh trees, checking uniqueness.
fn load_rows(
    w: &mut dyn TreeWrite,
    t: &TableDef,
    rows: &[Vec<Value>],
    first_rowid: u64,
) -> Result<()> {
    let mut seen_unique: Vec<BTreeMap<Vec<u8>, ()>> = vec![BTreeMap::new(); t.indexes.len()];
    for (i, row) in rows.iter().enumerate() {
        let mut key = Vec::new();
        if t.primary.is_empty() {
            encode_value(
                &mut key,
                &Value::UInt(first_rowid + i as u64 + 1),
                crate::collation::Collation::BINARY,
            );
        } else {
            for &c in &t.primary {
                encode_value(&mut key, &row[c], t.columns[c].collation());
            }
        }
        if w.put(t.root, &key, &encode_row(row))?.is_some() {
            return Err(duplicate_entry(t, "PRIMARY", &t.primary, row));
        }
        for (ix, def) in t.indexes.iter().enumerate() {
            let (mut k, null) = index_key(t, &def.columns, row);
            if def.unique && !null && seen_unique[ix].insert(k.clone(), ()).is_some() {
                return Err(duplicate_entry(t, &def.name, &def.columns, row));
            }
            k.extend_from_slice(&key);
            w.put(def.root, &k, &key)?;
        }
    }
    Ok(())
}

pub fn drop_tables(
    sh: &Shared,
    b: &Binder<'_>,
    names: &[ast::ObjectName],
    if_exists: bool,
    views: bool,
) -> Result<QueryResult> {
    let mut resolved = Vec::new();
    for n in names {
        resolved.push(b.table_name(n)?);
    }
    let fk_checks = b.fk_checks;
    sh.ddl(|cat, w| {
        if fk_checks && !views {
            for (db, name) in &resolved {
                if let Some(t) = cat.table(db, name) {
                    if let Some((c, f)) = cdl::outside_reference(cat, t, &resolved) {
                        return Err(cdl::cannot_drop_parent(t, &c, &f));
                    }
                }
            }
        }
        let mut missing = Vec::new();
        for (db, name) in &resolved {
            if views {
                match cat.view(db, name).cloned() {
                    Some(v) => {
                        w.delete(sh.system_tree(), &keys::view(&v.db, &v.name))?;
                        cat.views.remove(&(lc(db), lc(name)));
                    }
                    None => missing.push(format!("{db}.{name}")),
                }
                continue;
            }
            match cat.table(db, name).cloned() {
                Some(t) => {
                    drop_table_trees(w, &t)?;
                    crate::sql::trigger::drop_for_table(sh, cat, w, &t.db, &t.name)?;
                    w.delete(sh.system_tree(), &keys::table(&t.db, &t.name))?;
                    cat.tables.remove(&(lc(db), lc(name)));
                }
                None => missing.push(format!("{db}.{name}")),
            }
        }
        if !missing.is_empty() && !if_exists {
            return Err(Error::new(
                code::ER_BAD_TABLE,
                format!("Unknown table '{}'", missing.join(",")),
            ));
        }
        Ok(QueryResult::ok(0))
    })
}

pub fn truncate(sh: &Shared, b: &Binder<'_>, name: &ast::ObjectName) -> Result<QueryResult> {
    let (db, tname) = b.table_name(name)?;
    let t = sh.catalog().get_table(&db, &tname)?.clone();
    if b.fk_checks {
        if let Some((c, f)) = cdl::outside_reference(&sh.catalog(), &t, &[]) {
            return Err(cdl::cannot_truncate(&c, &f));
        }
    }
    let mut nt = (*t).clone();
    nt.indexes.clear();
    let pending: Vec<PendingIndex> = t
        .indexes
        .iter()
        .map(|i| (i.name.clone(), i.columns.clone(), i.unique))
        .collect();
    // `t` was read before this DDL's turn: refused (1412) if another DDL replaced it.
    let _fence = sh.ddl_fence(&[&*t])?;
    rebuild(sh, &t, nt, pending, Vec::new(), &[])?;
    sh.forget_counters(t.id);
    Ok(QueryResult::ok(0))
}

/// Replace table `old` by `new` (whose trees are created here) holding `rows`.
fn rebuild(
    sh: &Shared,
    old: &TableDef,
    mut new: TableDef,
    pending: Vec<PendingIndex>,
    rows: Vec<Vec<Value>>,
    col_renames: &[(String, String)],
) -> Result<()> {
    let renamed = lc(&old.db) != lc(&new.db) || lc(&old.name) != lc(&new.name);
    if renamed {
        cdl::rename_generated(&mut new, &old.name);
    }
    if renamed || !col_renames.is_empty() {
        // Keys of this table that reference itself follow the rename too.
        let (ndb, nname) = (new.db.clone(), new.name.clone());
        cdl::retarget_keys(&mut new, (&old.db, &old.name), (&ndb, &nname), col_renames);
    }
    sh.ddl(|cat, w| {
        if renamed || !col_renames.is_empty() {
            cdl::retarget(
                sh,
                cat,
                w,
                (&old.db, &old.name),
                (&new.db, &new.name),
                col_renames,
                old.id,
            )?;
        }
        drop_table_trees(w, old)?;
        new.root = w.create_tree()?;
        new.indexes.clear();
        for (name, cols, unique) in &pending {
            let root = w.create_tree()?;
            new.indexes.push(IndexDef {
                name: name.clone(),
                columns: cols.clone(),
                unique: *unique,
                root,
            });
        }
        load_rows(w, &new, &rows, 0)?;
        if lc(&old.db) != lc(&new.db) || lc(&old.name) != lc(&new.name) {
            crate::sql::trigger::rename_table(
                sh,
                cat,
                w,
                (&old.db, &old.name),
                (&new.db, &new.name),
            )?;
        }
        w.delete(sh.system_tree(), &keys::table(&old.db, &old.name))?;
        cat.tables.remove(&(lc(&old.db), lc(&old.name)));
        cat.save_table(w, sh.system_tree(), new.clone())?;
        Ok(())
    })
}

/// Give `old` the index set `pending` (as `new`), touching only index trees: the rows
/// stay where they are, indexes kept by name, columns and uniqueness keep their trees,
/// dropped ones lose theirs, and each added one is filled from one scan of the committed
/// rows. Only the new indexes' entries are held in memory, not the rows, and only their
/// pages are written.
fn change_index_trees(
    sh: &Shared,
    old: &TableDef,
    mut new: TableDef,
    pending: Vec<PendingIndex>,
) -> Result<()> {
    let same =
        |ix: &IndexDef, p: &PendingIndex| ix.name == p.0 && ix.columns == p.1 && ix.unique == p.2;
    let kept = |p: &PendingIndex| old.indexes.iter().find(|ix| same(ix, p)).map(|ix| ix.root);
    let added: Vec<usize> = (0..pending.len())
        .filter(|&i| kept(&pending[i]).is_none())
        .collect();
    // Entries (index key + primary key -> primary key) of each added index.
    let mut entries: Vec<Vec<(Vec<u8>, Vec<u8>)>> = vec![Vec::new(); added.len()];
    // Held until the batch below is published: a commit to the table either is in the
    // scan or fails (1412), so no row is missing from the new indexes.
    let _fence = sh.ddl_fence(&[old])?;
    if !added.is_empty() {
        let mut read = vec![false; old.columns.len()];
        for &i in &added {
            for &c in &pending[i].1 {
                if let Some(r) = read.get_mut(c) {
                    *r = true;
                }
            }
        }
        let mut seen: Vec<std::collections::HashSet<Vec<u8>>> =
            vec![Default::default(); added.len()];
        sh.store().scan(
            old.root,
            std::ops::Bound::Unbounded,
            std::ops::Bound::Unbounded,
            false,
            &mut |pk, v| {
                let row = crate::row::decode_row_cols(v, Some(&read))?;
                for (n, &i) in added.iter().enumerate() {
                    let (name, cols, unique) = &pending[i];
                    let (mut k, null) = index_key(old, cols, &row);
                    if *unique && !null && !seen[n].insert(k.clone()) {
                        return Err(duplicate_entry(old, name, cols, &row));
                    }
                    k.extend_from_slice(pk);
                    entries[n].push((k, pk.to_vec()));
                }
                Ok(true)
            },
        )?;
        // In key order, each insert lands after the previous one: pages fill left to
        // right instead of splitting all over the tree.
        for e in &mut entries {
            e.sort_unstable();
        }
    }
    sh.ddl(|cat, w| {
        for ix in &old.indexes {
            if !pending.iter().any(|p| same(ix, p)) {
                w.drop_tree(ix.root)?;
            }
        }
        new.indexes.clear();
        // `added` lists, in order, exactly the pending indexes with no tree to keep.
        let mut built = entries.iter();
        for p in &pending {
            let root = match kept(p) {
                Some(root) => root,
                None => {
                    let root = w.create_tree()?;
                    for (k, v) in built.next().into_iter().flatten() {
                        w.put(root, k, v)?;
                    }
                    root
                }
            };
            new.indexes.push(IndexDef {
                name: p.0.clone(),
                columns: p.1.clone(),
                unique: p.2,
                root,
            });
        }
        cat.save_table(w, sh.system_tree(), new.clone())?;
        Ok(())
    })
}

/// All committed rows of a table.
pub(crate) fn read_rows(sh: &Shared, t: &TableDef) -> Result<Vec<Vec<Value>>> {
    let mut rows = Vec::new();
    sh.store().scan(
        t.root,
        std::ops::Bound::Unbounded,
        std::ops::Bound::Unbounded,
        false,
        &mut |_k, v| {
            rows.push(decode_row(v)?);
            Ok(true)
        },
    )?;
    Ok(rows)
}

pub fn create_index(sh: &Shared, b: &Binder<'_>, ci: &ast::CreateIndex) -> Result<QueryResult> {
    let (db, tname) = b.table_name(&ci.table_name)?;
    let t = sh.catalog().get_table(&db, &tname)?.clone();
    let cols = index_columns(&t, &ci.columns)?;
    let name = ci
        .name
        .as_ref()
        .map(|n| ident_names(n).last().cloned().unwrap_or_default())
        .unwrap_or_else(|| t.columns[cols[0]].name.clone());
    if t.indexes.iter().any(|i| i.name.eq_ignore_ascii_case(&name)) {
        if ci.if_not_exists {
            return Ok(QueryResult::ok(0));
        }
        return Err(Error::new(
            code::ER_DUP_KEYNAME,
            format!("Duplicate key name '{name}'"),
        ));
    }
    alter_indexes(sh, &t, |pending| {
        pending.push((name.clone(), cols.clone(), ci.unique));
        Ok(())
    })
}

/// Change a table's index set, rebuilding only the index trees.
fn alter_indexes(
    sh: &Shared,
    t: &Arc<TableDef>,
    f: impl FnOnce(&mut Vec<PendingIndex>) -> Result<()>,
) -> Result<QueryResult> {
    let mut pending: Vec<PendingIndex> = t
        .indexes
        .iter()
        .map(|i| (i.name.clone(), i.columns.clone(), i.unique))
        .collect();
    f(&mut pending)?;
    let mut nt = (**t).clone();
    cdl::drop_superseded_fk_indexes(&mut nt, &mut pending);
    change_index_trees(sh, t, nt, pending)?;
    Ok(QueryResult::Ok {
        affected_rows: 0,
        last_insert_id: 0,
        info: "Records: 0  Duplicates: 0  Warnings: 0".into(),
    })
}

pub fn drop_index(
    sh: &Shared,
    b: &Binder<'_>,
    index: &str,
    table: &ast::ObjectName,
) -> Result<QueryResult> {
    let (db, tname) = b.table_name(table)?;
    let t = sh.catalog().get_table(&db, &tname)?.clone();
    if index.eq_ignore_ascii_case("primary") {
        return alter_table_ops(
            sh,
            b,
            &t,
            &[ast::AlterTableOperation::DropPrimaryKey {
                drop_behavior: None,
            }],
        );
    }
    if !t.indexes.iter().any(|i| i.name.eq_ignore_ascii_case(index)) {
        return Err(Error::new(
            code::ER_CANT_DROP_FIELD_OR_KEY,
            format!("Can't DROP '{index}'; check that column/key exists"),
        ));
    }
    let cat = sh.catalog();
    alter_indexes(sh, &t, |p| {
        p.retain(|x| !x.0.eq_ignore_ascii_case(index));
        cdl::check_fk_indexes(&cat, &t, &cdl::pending_sets(&t.primary, p), index)
    })
}

pub fn rename_tables(
    sh: &Shared,
    b: &Binder<'_>,
    pairs: &[(ast::ObjectName, ast::ObjectName)],
) -> Result<QueryResult> {
    let mut resolved = Vec::new();
    for (a, c) in pairs {
        resolved.push((b.table_name(a)?, b.table_name(c)?));
    }
    sh.ddl(|cat, w| {
        for ((odb, oname), (ndb, nname)) in &resolved {
            let t = cat.get_table(odb, oname)?.clone();
            if cat.table(ndb, nname).is_some() {
                return Err(Error::new(
                    code::ER_TABLE_EXISTS,
                    format!("Table '{nname}' already exists"),
                ));
            }
            if !cat.db_exists(ndb) {
                return Err(Error::new(
                    code::ER_BAD_DB,
                    format!("Unknown database '{ndb}'"),
                ));
            }
            crate::sql::trigger::rename_table(sh, cat, w, (odb, oname), (ndb, nname))?;
            cdl::retarget(sh, cat, w, (odb, oname), (ndb, nname), &[], t.id)?;
            let mut nt = (*t).clone();
            nt.db = ndb.clone();
            nt.name = nname.clone();
            cdl::rename_generated(&mut nt, &t.name);
            cdl::retarget_keys(&mut nt, (odb, oname), (ndb, nname), &[]);
            w.delete(sh.system_tree(), &keys::table(odb, oname))?;
            cat.tables.remove(&(lc(odb), lc(oname)));
            cat.save_table(w, sh.system_tree(), nt)?;
        }
        Ok(QueryResult::ok(0))
    })
}

pub fn alter_table(
    sh: &Shared,
    b: &mut Binder<'_>,
    name: &ast::ObjectName,
    ops: &[ast::AlterTableOperation],
) -> Result<QueryResult> {
    let (db, tname) = b.table_name(name)?;
    let t = sh.catalog().get_table(&db, &tname)?.clone();
    alter_table_ops(sh, b, &t, ops)
}

fn alter_table_ops(
    sh: &Shared,
    b: &Binder<'_>,
    t: &Arc<TableDef>,
    ops: &[ast::AlterTableOperation],
) -> Result<QueryResult> {
    use ast::AlterTableOperation as Op;
    let mut nt = (**t).clone();
    // source[i] = old column index feeding new column i (None: new column).
    let mut source: Vec<Option<usize>> = (0..nt.columns.len()).map(Some).collect();
    let mut pending: Vec<PendingIndex> = nt
        .indexes
        .iter()
        .map(|i| (i.name.clone(), i.columns.to_vec(), i.unique))
        .collect();
    // Index columns are tracked by column name while columns move.
    let mut pending_names: Vec<(String, Vec<String>, bool)> = pending
        .iter()
        .map(|(n, c, u)| {
            (
                n.clone(),
                c.iter().map(|&i| nt.columns[i].name.clone()).collect(),
                *u,
            )
        })
        .collect();
    let mut primary_names: Vec<String> = nt
        .primary
        .iter()
        .map(|&i| nt.columns[i].name.clone())
        .collect();
    let mut rename_to: Option<(String, String)> = None;
    let mut binder = Binder::new(b.catalog, b.current_db.clone(), "");
    let cat = sh.catalog();
    // Constraints added by this statement (checked once the new layout is known), the
    // column renames other tables' keys must follow, and the last index dropped.
    let mut new_fks: Vec<ast::ForeignKeyConstraint> = Vec::new();
    let mut new_checks: Vec<ast::CheckConstraint> = Vec::new();
    let mut col_renames: Vec<(String, String)> = Vec::new();
    let mut dropped_index: Option<String> = None;
    let renaming = |nt: &mut TableDef,
                    col_renames: &mut Vec<(String, String)>,
                    old: &str,
                    new: &str|
     -> Result<()> {
        if old == new {
            return Ok(());
        }
        if let Some(c) = nt
            .checks
            .iter()
            .find(|c| crate::sql::check::uses_column(c, old))
        {
            return Err(cdl::column_in_check(&c.name, old));
        }
        let (db, name) = (nt.db.clone(), nt.name.clone());
        for f in &mut nt.foreign_keys {
            let self_ref = f.references(&db, &name);
            for c in &mut f.columns {
                if c.eq_ignore_ascii_case(old) {
                    *c = new.to_string();
                }
            }
            for c in f.ref_columns.iter_mut().filter(|_| self_ref) {
                if c.eq_ignore_ascii_case(old) {
                    *c = new.to_string();
                }
            }
        }
        col_renames.push((old.to_string(), new.to_string()));
        Ok(())
    };
    let place = |cols: &mut Vec<ColumnDef>,
                 source: &mut Vec<Option<usize>>,
                 col: ColumnDef,
                 src: Option<usize>,
                 pos: &Option<ast::MySQLColumnPosition>|
     -> Result<()> {
        let at = match pos {
            None => cols.len(),
            Some(ast::MySQLColumnPosition::First) => 0,
            Some(ast::MySQLColumnPosition::After(id)) => {
                cols.iter()
                    .position(|c| c.name.eq_ignore_ascii_case(&id.value))
                    .ok_or_else(|| Error::bad_field(&id.value, "table definition"))?
                    + 1
            }
        };
        cols.insert(at, col);
        source.insert(at, src);
        Ok(())
    };
    let mut data_change = false;
    for op in ops {
        match op {
            Op::AddColumn {
                column_def,
                column_position,
                if_not_exists,
                ..
            } => {
                if nt.column_index(&column_def.name.value).is_some() {
                    if *if_not_exists {
                        continue;
                    }
                    return Err(Error::new(
                        code::ER_DUP_FIELDNAME,
                        format!("Duplicate column name '{}'", column_def.name.value),
                    ));
                }
                let opts: Vec<ast::ColumnOption> = column_def
                    .options
                    .iter()
                    .map(|o| o.option.clone())
                    .collect();
                let (col, primary, unique) = column_def_for(&mut binder, sh, column_def, &opts)?;
                for o in &column_def.options {
                    if let ast::ColumnOption::Check(k) = &o.option {
                        let mut k = k.clone();
                        k.name = k.name.or_else(|| o.name.clone());
                        new_checks.push(k);
                    }
                }
                if primary {
                    primary_names = vec![col.name.clone()];
                }
                if unique {
                    pending_names.push((col.name.clone(), vec![col.name.clone()], true));
                }
                place(&mut nt.columns, &mut source, col, None, column_position)?;
                data_change = true;
            }
            Op::DropColumn {
                column_names,
                if_exists,
                ..
            } => {
                for cn in column_names {
                    match nt.column_index(&cn.value) {
                        Some(i) => {
                            cdl::fk_column_drop_check(&cat, &nt, &t.name, &cn.value)?;
                            nt.columns.remove(i);
                            source.remove(i);
                            for p in pending_names.iter_mut() {
                                p.1.retain(|c| !c.eq_ignore_ascii_case(&cn.value));
                            }
                            pending_names.retain(|p| !p.1.is_empty());
                            primary_names.retain(|c| !c.eq_ignore_ascii_case(&cn.value));
                            data_change = true;
                        }
                        None if *if_exists => {}
                        None => {
                            return Err(Error::new(
                                code::ER_CANT_DROP_FIELD_OR_KEY,
                                format!("Can't DROP '{}'; check that column/key exists", cn.value),
                            ))
                        }
                    }
                }
                if nt.columns.is_empty() {
                    return Err(Error::new(
                        1090,
                        "You can't delete all columns with ALTER TABLE; use DROP TABLE instead",
                    ));
                }
            }
            Op::ModifyColumn {
                col_name,
                data_type,
                options,
                column_position,
            }
            | Op::ChangeColumn {
                old_name: col_name,
                data_type,
                options,
                column_position,
                ..
            } => {
                let new_name = match op {
                    Op::ChangeColumn { new_name, .. } => new_name.value.clone(),
                    _ => col_name.value.clone(),
                };
                let i = nt
                    .column_index(&col_name.value)
                    .ok_or_else(|| Error::bad_field(&col_name.value, nt.name.as_str()))?;
                let cd = ast::ColumnDef {
                    name: ast::Ident::new(new_name.clone()),
                    data_type: data_type.clone(),
                    options: Vec::new(),
                };
                let (col, primary, unique) = column_def_for(&mut binder, sh, &cd, options)?;
                let old_name = nt.columns[i].name.clone();
                renaming(&mut nt, &mut col_renames, &old_name, &new_name)?;
                let src = source.remove(i);
                nt.columns.remove(i);
                for p in pending_names.iter_mut() {
                    for c in p.1.iter_mut() {
                        if c.eq_ignore_ascii_case(&old_name) {
                            *c = new_name.clone();
                        }
                    }
                }
                for c in primary_names.iter_mut() {
                    if c.eq_ignore_ascii_case(&old_name) {
                        *c = new_name.clone();
                    }
                }
                if primary {
                    primary_names = vec![new_name.clone()];
                }
                if unique {
                    pending_names.push((new_name.clone(), vec![new_name.clone()], true));
                }
                if column_position.is_some() {
                    place(&mut nt.columns, &mut source, col, src, column_position)?;
                } else {
                    nt.columns.insert(i, col);
                    source.insert(i, src);
                }
                data_change = true;
            }
            Op::RenameColumn {
                old_column_name,
                new_column_name,
            } => {
                let i = nt
                    .column_index(&old_column_name.value)
                    .ok_or_else(|| Error::bad_field(&old_column_name.value, nt.name.as_str()))?;
                let old = nt.columns[i].name.clone();
                renaming(&mut nt, &mut col_renames, &old, &new_column_name.value)?;
                nt.columns[i].name = new_column_name.value.clone();
                for p in pending_names.iter_mut() {
                    for c in p.1.iter_mut() {
                        if c.eq_ignore_ascii_case(&old) {
                            *c = new_column_name.value.clone();
                        }
                    }
                }
                for c in primary_names.iter_mut() {
                    if c.eq_ignore_ascii_case(&old) {
                        *c = new_column_name.value.clone();
                    }
                }
            }
            Op::RenameTable { table_name } => {
                let n = match table_name {
                    ast::RenameTableNameKind::As(n) | ast::RenameTableNameKind::To(n) => n,
                };
                rename_to = Some(b.table_name(n)?);
            }
            Op::AddConstraint {
                constraint: ast::TableConstraint::ForeignKey(fk),
                ..
            } => new_fks.push(fk.clone()),
            Op::AddConstraint {
                constraint: ast::TableConstraint::Check(c),
                ..
            } => new_checks.push(c.clone()),
            Op::DropForeignKey { name, .. } => {
                let before = nt.foreign_keys.len();
                nt.foreign_keys
                    .retain(|f| !f.name.eq_ignore_ascii_case(&name.value));
                if before == nt.foreign_keys.len() {
                    return Err(Error::new(
                        code::ER_CANT_DROP_FIELD_OR_KEY,
                        format!("Can't DROP '{}'; check that column/key exists", name.value),
                    ));
                }
            }
            Op::DropConstraint {
                name, if_exists, ..
            } => {
                let n = &name.value;
                let (f, c) = (nt.foreign_keys.len(), nt.checks.len());
                nt.foreign_keys.retain(|x| !x.name.eq_ignore_ascii_case(n));
                nt.checks.retain(|x| !x.name.eq_ignore_ascii_case(n));
                let p = pending_names.len();
                if f == nt.foreign_keys.len() && c == nt.checks.len() {
                    pending_names.retain(|x| !(x.2 && x.0.eq_ignore_ascii_case(n)));
                    if p != pending_names.len() {
                        dropped_index = Some(n.clone());
                    } else if !*if_exists {
                        return Err(cdl::constraint_not_found(n));
                    }
                }
            }
            Op::AddConstraint { constraint, .. } => {
                let mut tmp = nt.clone();
                tmp.indexes.clear();
                let mut p2 = Vec::new();
                add_constraint(&mut tmp, &mut p2, constraint)?;
                if matches!(constraint, ast::TableConstraint::PrimaryKey(_)) {
                    if !primary_names.is_empty() {
                        return Err(Error::new(
                            code::ER_MULTIPLE_PRI_KEY,
                            "Multiple primary key defined",
                        ));
                    }
                    primary_names = tmp
                        .primary
                        .iter()
                        .map(|&i| tmp.columns[i].name.clone())
                        .collect();
                    data_change = true;
                }
                for (name, cols, u) in p2 {
                    if pending_names
                        .iter()
                        .any(|p| p.0.eq_ignore_ascii_case(&name))
                    {
                        return Err(Error::new(
                            code::ER_DUP_KEYNAME,
                            format!("Duplicate key name '{name}'"),
                        ));
                    }
                    pending_names.push((
                        name,
                        cols.iter().map(|&i| tmp.columns[i].name.clone()).collect(),
                        u,
                    ));
                }
            }
            Op::DropIndex { name } => {
                dropped_index = Some(name.value.clone());
                let before = pending_names.len();
                pending_names.retain(|p| !p.0.eq_ignore_ascii_case(&name.value));
                if before == pending_names.len() {
                    return Err(Error::new(
                        code::ER_CANT_DROP_FIELD_OR_KEY,
                        format!("Can't DROP '{}'; check that column/key exists", name.value),
                    ));
                }
            }
            Op::DropPrimaryKey { .. } => {
                if primary_names.is_empty() {
                    return Err(Error::new(
                        code::ER_CANT_DROP_FIELD_OR_KEY,
                        "Can't DROP 'PRIMARY'; check that column/key exists",
                    ));
                }
                primary_names.clear();
                dropped_index = Some("PRIMARY".into());
                data_change = true;
            }
            Op::AutoIncrement { .. } | Op::Algorithm { .. } | Op::Lock { .. } => {}
            other => return Err(Error::unsupported(format!("ALTER TABLE {other}"))),
        }
    }
    // Resolve names back to positions.
    nt.primary = primary_names
        .iter()
        .map(|n| {
            nt.column_index(n)
                .ok_or_else(|| Error::bad_field(n, "table definition"))
        })
        .collect::<Result<_>>()?;
    for &i in &nt.primary.clone() {
        nt.columns[i].nullable = false;
    }
    pending = pending_names
        .iter()
        .map(|(n, cols, u)| {
            Ok((
                n.clone(),
                cols.iter()
                    .map(|c| {
                        nt.column_index(c)
                            .ok_or_else(|| Error::bad_field(c, "table definition"))
                    })
                    .collect::<Result<Vec<_>>>()?,
                *u,
            ))
        })
        .collect::<Result<_>>()?;
    let added = cdl::alter_constraints(
        b,
        &cat,
        &mut nt,
        &mut pending,
        &cdl::AlterConstraints {
            new_fks: &new_fks,
            new_checks: &new_checks,
            dropped_index: dropped_index.as_deref(),
            col_renames: &col_renames,
        },
    )?;
    cdl::drop_superseded_fk_indexes(&mut nt, &mut pending);
    // The rows, and the parents that added foreign keys check them against, are read
    // under a fence held until the rebuilt table is published: a commit to any of them
    // either is in what is read here or fails (1412).
    let parents: Vec<Arc<TableDef>> = added
        .0
        .iter()
        .filter_map(|f| cat.table(&f.ref_db, &f.ref_table).cloned())
        .collect();
    let mut fenced: Vec<&TableDef> = vec![t];
    fenced.extend(parents.iter().map(|p| &**p));
    let _fence = sh.ddl_fence(&fenced)?;
    let old_rows = read_rows(sh, t)?;
    let mut rows = Vec::with_capacity(old_rows.len());
    let strict = true;
    for (ri, r) in old_rows.into_iter().enumerate() {
        let mut out = Vec::with_capacity(nt.columns.len());
        for (i, src) in source.iter().enumerate() {
            let col = &nt.columns[i];
            let v = match src {
                Some(j) => r.get(*j).cloned().unwrap_or(Value::Null),
                None => match &col.default {
                    Some(DefaultValue::Const(_)) => col.default_value().unwrap_or(Value::Null),
                    Some(DefaultValue::CurrentTimestamp) => {
                        Value::DateTime(crate::temporal::DateTime::now_utc())
                    }
                    None if col.nullable => Value::Null,
                    None if col.auto_increment => Value::UInt(ri as u64 + 1),
                    None => implicit(col),
                },
            };
            let mut w = Vec::new();
            out.push(store_value(v, col, strict, ri + 1, &mut w)?);
        }
        rows.push(out);
    }
    let _ = data_change;
    for f in &added.0 {
        if !b.fk_checks {
            break;
        }
        let parent = if f.references(&nt.db, &nt.name) {
            nt.clone()
        } else {
            match cat.table(&f.ref_db, &f.ref_table) {
                Some(p) => (**p).clone(),
                None => continue,
            }
        };
        cdl::validate_rows(sh, &nt, f, &parent, &rows)?;
    }
    for c in &added.1 {
        crate::sql::check::validate_rows(sh, &nt, c, &rows)?;
    }
    if let Some((ndb, nname)) = &rename_to {
        if sh.catalog().table(ndb, nname).is_some()
            && !(ndb.eq_ignore_ascii_case(&t.db) && nname.eq_ignore_ascii_case(&t.name))
        {
            return Err(Error::new(
                code::ER_TABLE_EXISTS,
                format!("Table '{nname}' already exists"),
            ));
        }
        nt.db = ndb.clone();
        nt.name = nname.clone();
    }
    let n = rows.len();
    rebuild(sh, t, nt, pending, rows, &col_renames)?;
    sh.forget_counters(t.id);
    let _ = catalog::lc("");
    Ok(QueryResult::Ok {
        affected_rows: 0,
        last_insert_id: 0,
        info: format!("Records: {n}  Duplicates: 0  Warnings: 0"),
    })
}

fn implicit(col: &ColumnDef) -> Value {
    match &col.ty {
        t if t.is_integer() => Value::Int(0),
        SqlType::Decimal(..) | SqlType::Float | SqlType::Double => Value::Int(0),
        SqlType::Date | SqlType::DateTime(_) | SqlType::Timestamp(_) => {
            Value::Str("0000-00-00".into())
        }
        SqlType::Time(_) => Value::Str("00:00:00".into()),
        _ => Value::Str(String::new()),
    }
}

fn column_def_for(
    b: &mut Binder<'_>,
    sh: &Shared,
    c: &ast::ColumnDef,
    opts: &[ast::ColumnOption],
) -> Result<(ColumnDef, bool, bool)> {
    column_def(b, sh, c, opts)
}

pub fn create_view(
    sh: &Shared,
    b: &mut Binder<'_>,
    cv: &ast::CreateView,
    sql_text: &str,
) -> Result<QueryResult> {
    let (db, name) = b.table_name(&cv.name)?;
    // Validate the query binds now (MySQL checks the view's tables at creation).
    let bq = b.bind_query(&cv.query)?;
    let columns: Vec<String> = cv.columns.iter().map(|c| c.name.value.clone()).collect();
    if !columns.is_empty() && columns.len() != bq.columns.len() {
        return Err(Error::new(1353, "In definition of view, derived table or common table expression, SELECT list and column names list have different column counts"));
    }
    let query = extract_view_query(sql_text).unwrap_or_else(|| cv.query.to_string());
    sh.ddl(|cat, w| {
        if !cat.db_exists(&db) {
            return Err(Error::new(
                code::ER_BAD_DB,
                format!("Unknown database '{db}'"),
            ));
        }
        if cat.table(&db, &name).is_some() || (cat.view(&db, &name).is_some() && !cv.or_replace) {
            return Err(Error::new(
                code::ER_TABLE_EXISTS,
                format!("Table '{name}' already exists"),
            ));
        }
        let v = ViewDef {
            db: db.clone(),
            name: name.clone(),
            query: query.clone(),
            columns: columns.clone(),
        };
        w.put(sh.system_tree(), &keys::view(&db, &name), &to_record(&v))?;
        cat.views.insert((lc(&db), lc(&name)), Arc::new(v));
        Ok(QueryResult::ok(0))
    })
}

/// The SELECT text after `AS` in a CREATE VIEW statement.
fn extract_view_query(sql: &str) -> Option<String> {
    let up = sql.to_uppercase();
    let mut search = 0;
    while let Some(i) = up[search..].find("AS") {
        let at = search + i;
        let before_ok = at == 0
            || !up.as_bytes()[at - 1].is_ascii_alphanumeric() && up.as_bytes()[at - 1] != b'_';
        let after = up[at + 2..].trim_start();
        let after_ok = at + 2 < up.len() && !up.as_bytes()[at + 2].is_ascii_alphanumeric();
        if before_ok
            && after_ok
            && (after.starts_with("SELECT")
                || after.starts_with("WITH")
                || after.starts_with('(')
                || after.starts_with("VALUES")
                || after.starts_with("TABLE"))
        {
            return Some(sql[at + 2..].trim().to_string());
        }
        search = at + 2;
    }
    None
}

#[cfg(test)]
mod alter_keys_tests {
    use super::*;

    #[test]
    fn alter_keys_forms() {
        assert_eq!(
            parse_alter_keys("ALTER TABLE `items` DISABLE KEYS"),
            Some(AlterKeys {
                db: None,
                table: "items".into(),
            })
        );
        assert_eq!(
            parse_alter_keys("alter table shop.items enable keys;"),
            Some(AlterKeys {
                db: Some("shop".into()),
                table: "items".into(),
            })
        );
        // Other ALTERs, and KEYS among other operations, are not this statement.
        assert_eq!(parse_alter_keys("ALTER TABLE t ADD KEY k (a)"), None);
        assert_eq!(
            parse_alter_keys("ALTER TABLE t DISABLE KEYS, ADD c INT"),
            None
        );
        assert_eq!(parse_alter_keys("ALTER TABLE t ENABLE"), None);
    }
}
