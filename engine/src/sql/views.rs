//! What MySQL reports about a view, computed from its stored SELECT text: its columns
//! (as a key-less table definition, for information_schema.COLUMNS and SHOW COLUMNS),
//! whether it is updatable (information_schema.VIEWS.IS_UPDATABLE), and the normalized
//! definition SHOW CREATE VIEW prints (`select `t`.`a` AS `a` from `t``).
//!
//! Invariant: everything here is derived by parsing and binding the stored text against
//! the current catalog; nothing is cached, so a view always reports what it would return
//! now (a view whose tables are gone reports an error, as MySQL does).

use sqlparser::ast;

use crate::catalog::{Catalog, ColumnDef, SqlType, TableDef, ViewDef};
use crate::error::{Error, Result};
use crate::result::{charset, flags, Column, ColumnType};
use crate::sql::bind::{ident_names, Binder};

/// Parse a view's stored SELECT.
fn view_query(v: &ViewDef) -> Result<ast::Query> {
    match crate::sql::parse::parse_one(&v.query)? {
        ast::Statement::Query(q) => Ok(*q),
        _ => Err(Error::internal(format!(
            "view {}.{} is not a SELECT",
            v.db, v.name
        ))),
    }
}

/// The view's columns as a table definition without keys: a column taken straight from
/// a base table keeps that column's definition (type, nullability, default), an
/// expression gets the type of its result metadata.
pub fn view_table_def(cat: &Catalog, v: &ViewDef) -> Result<TableDef> {
    let q = view_query(v)?;
    let mut b = Binder::new(cat, Some(v.db.clone()), &v.query);
    // A view's validity was checked when it was created.
    b.only_full_group_by = false;
    let bq = b.bind_query(&q)?;
    let columns = bq
        .columns
        .iter()
        .enumerate()
        .map(|(i, meta)| {
            let name = v
                .columns
                .get(i)
                .cloned()
                .unwrap_or_else(|| meta.name.clone());
            let base = cat
                .table(&meta.schema, &meta.org_table)
                .and_then(|t| t.columns.get(t.column_index(&meta.org_name)?));
            match base {
                Some(c) => ColumnDef {
                    name,
                    auto_increment: false,
                    ..c.clone()
                },
                None => computed_column_def(name, meta),
            }
        })
        .collect();
    Ok(TableDef {
        id: 0,
        db: v.db.clone(),
        name: v.name.clone(),
        columns,
        primary: Vec::new(),
        indexes: Vec::new(),
        root: 0,
        comment: "VIEW".into(),
        auto_increment_start: 0,
    })
}

/// The column type MySQL reports for an expression column of a view.
fn computed_column_def(name: String, meta: &Column) -> ColumnDef {
    let binary = meta.charset == charset::BINARY;
    let ty = match meta.ty {
        ColumnType::Tiny => SqlType::TinyInt,
        ColumnType::Short => SqlType::SmallInt,
        ColumnType::Int24 => SqlType::MediumInt,
        ColumnType::Long => SqlType::Int,
        ColumnType::LongLong => SqlType::BigInt,
        ColumnType::Decimal | ColumnType::NewDecimal => {
            let scale = meta.decimals.min(30);
            let digits = meta.length.saturating_sub(2).clamp(scale as u32 + 1, 65) as u8;
            SqlType::Decimal(digits, scale)
        }
        ColumnType::Float => SqlType::Float,
        ColumnType::Double => SqlType::Double,
        ColumnType::Date => SqlType::Date,
        ColumnType::DateTime => SqlType::DateTime(meta.decimals.min(6)),
        ColumnType::Timestamp => SqlType::Timestamp(meta.decimals.min(6)),
        ColumnType::Time => SqlType::Time(meta.decimals.min(6)),
        ColumnType::Year => SqlType::Year,
        ColumnType::Json => SqlType::Json,
        ColumnType::Bit => SqlType::Bit(meta.length.clamp(1, 64) as u8),
        ColumnType::Blob | ColumnType::TinyBlob | ColumnType::MediumBlob | ColumnType::LongBlob => {
            if binary {
                SqlType::Blob(meta.length)
            } else {
                SqlType::Text(meta.length)
            }
        }
        ColumnType::Null => SqlType::Binary(0),
        _ => {
            if binary {
                SqlType::VarBinary(meta.length)
            } else {
                SqlType::VarChar(meta.length / 4)
            }
        }
    };
    ColumnDef {
        name,
        ty,
        unsigned: meta.flags & flags::UNSIGNED != 0,
        nullable: meta.flags & flags::NOT_NULL == 0,
        default: None,
        auto_increment: false,
        on_update_now: false,
        binary_collation: false,
        comment: String::new(),
    }
}

/// MySQL's IS_UPDATABLE: the view's rows map one to one onto base-table rows. Not
/// updatable: aggregates or window functions, DISTINCT, GROUP BY, HAVING, UNION, LIMIT,
/// a subquery in the select list, a derived table or a non-updatable view in FROM, no
/// table at all (only literals), or one base column selected twice.
pub fn view_is_updatable(cat: &Catalog, v: &ViewDef, depth: usize) -> bool {
    let Ok(q) = view_query(v) else {
        return false;
    };
    if depth > 16 || q.with.is_some() || q.limit_clause.is_some() || q.fetch.is_some() {
        return false;
    }
    let sel = match q.body.as_ref() {
        ast::SetExpr::Select(s) => s,
        _ => return false,
    };
    if sel.distinct.is_some()
        || sel.having.is_some()
        || !matches!(&sel.group_by, ast::GroupByExpr::Expressions(g, m) if g.is_empty() && m.is_empty())
        || sel.from.is_empty()
        || !sel.named_window.is_empty()
    {
        return false;
    }
    let mut seen_columns: Vec<String> = Vec::new();
    for item in &sel.projection {
        match item {
            ast::SelectItem::UnnamedExpr(e) | ast::SelectItem::ExprWithAlias { expr: e, .. } => {
                if crate::sql::bind::contains_agg(e) || has_window_or_subquery(e) {
                    return false;
                }
                if let Some(name) = column_key(e) {
                    if seen_columns.contains(&name) {
                        return false;
                    }
                    seen_columns.push(name);
                }
            }
            _ => {}
        }
    }
    let updatable_relation = |tf: &ast::TableFactor| -> bool {
        match tf {
            ast::TableFactor::Table { name, .. } => {
                let parts = ident_names(name);
                let (db, t) = match parts.as_slice() {
                    [t] => (v.db.clone(), t.clone()),
                    [d, t] => (d.clone(), t.clone()),
                    _ => return false,
                };
                if cat.table(&db, &t).is_some() {
                    return true;
                }
                cat.view(&db, &t)
                    .is_some_and(|inner| view_is_updatable(cat, inner, depth + 1))
            }
            _ => false,
        }
    };
    sel.from.iter().all(|twj| {
        updatable_relation(&twj.relation)
            && twj.joins.iter().all(|j| updatable_relation(&j.relation))
    })
}

/// A plain column reference's text (lower case), to spot a column selected twice.
fn column_key(e: &ast::Expr) -> Option<String> {
    match e {
        ast::Expr::Identifier(i) => Some(i.value.to_lowercase()),
        ast::Expr::CompoundIdentifier(p) => p.last().map(|i| i.value.to_lowercase()),
        _ => None,
    }
}

fn has_window_or_subquery(e: &ast::Expr) -> bool {
    let mut found = false;
    let _ = ast::visit_expressions(e, |x: &ast::Expr| {
        match x {
            ast::Expr::Subquery(_)
            | ast::Expr::Exists { .. }
            | ast::Expr::In {
                target: ast::InTarget::Subquery(_),
                ..
            } => found = true,
            ast::Expr::Function(f) if f.over.is_some() => found = true,
            _ => {}
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
    found
}
