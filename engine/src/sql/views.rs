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
    let columns = bound_columns(cat, v)?
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
        foreign_keys: Vec::new(),
        checks: Vec::new(),
        fk_generated_indexes: Vec::new(),
    })
}

/// The result columns of the view's SELECT (names as the SELECT gives them).
fn bound_columns(cat: &Catalog, v: &ViewDef) -> Result<Vec<Column>> {
    let q = view_query(v)?;
    let mut b = Binder::new(cat, Some(v.db.clone()), &v.query);
    // A view's validity was checked when it was created.
    b.only_full_group_by = false;
    Ok(b.bind_query(&q)?.columns)
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
        collation: crate::collation::Collation::DEFAULT,
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
        ast::Expr::CompoundIdentifier(p) => Some(
            p.iter()
                .map(|i| i.value.to_lowercase())
                .collect::<Vec<_>>()
                .join("."),
        ),
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

/// The definition SHOW CREATE VIEW prints, in MySQL's normalized form: lower-case
/// keywords, every column qualified with its table (`` `t`.`a` ``), every select item
/// named (`` AS `a` ``), `*` expanded, binary operators parenthesized, string literals
/// with their character set. Queries using forms this printer does not know (derived
/// tables, subqueries, CTEs, window functions, ...) are an error; the caller then shows
/// the stored text.
pub fn normalized_definition(cat: &Catalog, v: &ViewDef) -> Result<String> {
    let q = view_query(v)?;
    let mut n = Normalizer {
        cat,
        db: &v.db,
        tables: Vec::new(),
        aliases: Vec::new(),
        bare: false,
    };
    // The select items keep the names the SELECT gives them (an explicit column list is
    // printed before AS), which for an unaliased expression is its text as written.
    let names: Vec<String> = match q.body.as_ref() {
        ast::SetExpr::Select(_) => bound_columns(cat, v)?.into_iter().map(|c| c.name).collect(),
        _ => Vec::new(),
    };
    n.query(&q, &names)
}

struct Normalizer<'a> {
    cat: &'a Catalog,
    db: &'a str,
    /// Tables of the SELECT being printed: (alias as printed, column names).
    tables: Vec<(String, Vec<String>)>,
    /// Select-list names of the SELECT being printed (HAVING and ORDER BY may use them).
    aliases: Vec<String>,
    /// Print columns without their table (a CHECK constraint's expression).
    bare: bool,
}

/// A CHECK constraint's expression over a table with columns `columns`, as MySQL 8
/// stores and shows it (`(`a` > 0)`): columns unqualified, operators parenthesized.
/// Forms the printer does not know are an error; the caller then keeps the text.
pub fn normalized_check(
    cat: &Catalog,
    db: &str,
    columns: &[String],
    e: &ast::Expr,
) -> Result<String> {
    let n = Normalizer {
        cat,
        db,
        tables: vec![(String::new(), columns.to_vec())],
        aliases: Vec::new(),
        bare: true,
    };
    n.expr(e)
}

fn unsupported(what: impl std::fmt::Display) -> Error {
    Error::unsupported(format!("normalizing {what}"))
}

fn quote(id: &str) -> String {
    format!("`{}`", id.replace('`', "``"))
}

impl Normalizer<'_> {
    fn query(&mut self, q: &ast::Query, names: &[String]) -> Result<String> {
        if q.with.is_some() || q.fetch.is_some() || !q.locks.is_empty() {
            return Err(unsupported("WITH/FETCH/locking clauses"));
        }
        let mut out = self.set_expr(&q.body, names)?;
        if let Some(ob) = &q.order_by {
            let ast::OrderByKind::Expressions(keys) = &ob.kind else {
                return Err(unsupported("ORDER BY ALL"));
            };
            let keys = keys
                .iter()
                .map(|k| {
                    let e = self.expr(&k.expr)?;
                    Ok(match k.options.sort {
                        Some(ast::OrderBySort::Desc) => format!("{e} desc"),
                        _ => e,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            out.push_str(" order by ");
            out.push_str(&keys.join(","));
        }
        match &q.limit_clause {
            None => {}
            Some(ast::LimitClause::LimitOffset {
                limit,
                offset,
                limit_by,
            }) if limit_by.is_empty() => {
                let limit = limit.as_ref().map(|l| self.expr(l)).transpose()?;
                let offset = offset.as_ref().map(|o| self.expr(&o.value)).transpose()?;
                match (limit, offset) {
                    (Some(l), Some(o)) => out.push_str(&format!(" limit {o},{l}")),
                    (Some(l), None) => out.push_str(&format!(" limit {l}")),
                    _ => return Err(unsupported("OFFSET without LIMIT")),
                }
            }
            Some(ast::LimitClause::OffsetCommaLimit { offset, limit }) => {
                let (o, l) = (self.expr(offset)?, self.expr(limit)?);
                out.push_str(&format!(" limit {o},{l}"));
            }
            Some(_) => return Err(unsupported("LIMIT BY")),
        }
        Ok(out)
    }

    fn set_expr(&mut self, body: &ast::SetExpr, names: &[String]) -> Result<String> {
        match body {
            ast::SetExpr::Select(s) => self.select(s, names),
            ast::SetExpr::Query(q) => Ok(format!("({})", self.query(q, names)?)),
            ast::SetExpr::SetOperation {
                op: ast::SetOperator::Union,
                set_quantifier,
                left,
                right,
            } => {
                let l = self.set_expr(left, names)?;
                let r = self.set_expr(right, names)?;
                let q = match set_quantifier {
                    ast::SetQuantifier::All => " all",
                    ast::SetQuantifier::None | ast::SetQuantifier::Distinct => "",
                    _ => return Err(unsupported("UNION modifier")),
                };
                Ok(format!("{l} union{q} {r}"))
            }
            _ => Err(unsupported("set operation")),
        }
    }

    fn select(&mut self, s: &ast::Select, names: &[String]) -> Result<String> {
        if !s.named_window.is_empty() || s.qualify.is_some() || s.into.is_some() {
            return Err(unsupported("WINDOW/QUALIFY/INTO"));
        }
        let saved = std::mem::take(&mut self.tables);
        let mut from = Vec::new();
        for twj in &s.from {
            from.push(self.table_with_joins(twj)?);
        }
        // Select items: (printed expression, name).
        let mut items: Vec<(String, String)> = Vec::new();
        for item in &s.projection {
            match item {
                ast::SelectItem::UnnamedExpr(e) => {
                    let name = match e {
                        ast::Expr::Identifier(i) => i.value.clone(),
                        ast::Expr::CompoundIdentifier(p) => {
                            p.last().map(|i| i.value.clone()).unwrap_or_default()
                        }
                        ast::Expr::Value(v) => match &v.value {
                            ast::Value::SingleQuotedString(s)
                            | ast::Value::DoubleQuotedString(s) => s.clone(),
                            other => other.to_string(),
                        },
                        other => other.to_string(),
                    };
                    items.push((self.expr(e)?, name));
                }
                ast::SelectItem::ExprWithAlias { expr, alias } => {
                    items.push((self.expr(expr)?, alias.value.clone()));
                }
                ast::SelectItem::Wildcard(_) => {
                    for (t, cols) in &self.tables {
                        for c in cols {
                            items.push((format!("{}.{}", quote(t), quote(c)), c.clone()));
                        }
                    }
                }
                ast::SelectItem::QualifiedWildcard(
                    ast::SelectItemQualifiedWildcardKind::ObjectName(n),
                    _,
                ) => {
                    let t = ident_names(n).last().cloned().unwrap_or_default();
                    let (alias, cols) = self
                        .tables
                        .iter()
                        .find(|(a, _)| a.eq_ignore_ascii_case(&t))
                        .ok_or_else(|| unsupported(format!("unknown table {t}")))?;
                    for c in cols {
                        items.push((format!("{}.{}", quote(alias), quote(c)), c.clone()));
                    }
                }
                _ => return Err(unsupported("select item")),
            }
        }
        self.aliases = items.iter().map(|(_, n)| n.clone()).collect();
        let mut out = String::from("select ");
        if matches!(s.distinct, Some(ast::Distinct::Distinct)) {
            out.push_str("distinct ");
        } else if s.distinct.is_some() {
            return Err(unsupported("DISTINCT ON"));
        }
        let list: Vec<String> = items
            .iter()
            .enumerate()
            .map(|(i, (e, name))| {
                let name = names.get(i).unwrap_or(name);
                format!("{e} AS {}", quote(name))
            })
            .collect();
        out.push_str(&list.join(","));
        if !from.is_empty() {
            out.push_str(" from ");
            out.push_str(&from.join(" join "));
        }
        if let Some(w) = &s.selection {
            out.push_str(" where ");
            out.push_str(&self.expr(w)?);
        }
        match &s.group_by {
            ast::GroupByExpr::Expressions(g, mods) if !g.is_empty() => {
                let g = g.iter().map(|e| self.expr(e)).collect::<Result<Vec<_>>>()?;
                out.push_str(" group by ");
                out.push_str(&g.join(","));
                if mods
                    .iter()
                    .any(|m| matches!(m, ast::GroupByWithModifier::Rollup))
                {
                    out.push_str(" with rollup");
                }
            }
            ast::GroupByExpr::Expressions(_, _) => {}
            ast::GroupByExpr::All(_) => return Err(unsupported("GROUP BY ALL")),
        }
        if let Some(h) = &s.having {
            out.push_str(" having ");
            out.push_str(&self.expr(h)?);
        }
        self.tables = saved
            .into_iter()
            .chain(std::mem::take(&mut self.tables))
            .collect();
        Ok(out)
    }

    /// `t1 JOIN t2 ON c` as MySQL prints it: `` (`t1` join `t2` on((...))) ``.
    fn table_with_joins(&mut self, twj: &ast::TableWithJoins) -> Result<String> {
        let mut acc = self.table_factor(&twj.relation)?;
        for j in &twj.joins {
            let right = self.table_factor(&j.relation)?;
            use ast::JoinOperator as J;
            let (kw, c) = match &j.join_operator {
                J::Join(c) | J::Inner(c) => ("join", Some(c)),
                J::CrossJoin(c) => ("join", Some(c)),
                J::StraightJoin(c) => ("straight_join", Some(c)),
                J::Left(c) | J::LeftOuter(c) => ("left join", Some(c)),
                // MySQL turns RIGHT JOIN into a LEFT JOIN with the sides swapped; keep it.
                J::Right(c) | J::RightOuter(c) => ("right join", Some(c)),
                _ => return Err(unsupported("join kind")),
            };
            let cond = match c {
                Some(ast::JoinConstraint::On(e)) => format!(" on({})", self.expr(e)?),
                Some(ast::JoinConstraint::Using(cols)) => format!(
                    " using ({})",
                    cols.iter()
                        .map(|c| quote(ident_names(c).last().map(String::as_str).unwrap_or("")))
                        .collect::<Vec<_>>()
                        .join(",")
                ),
                Some(ast::JoinConstraint::None) | None => String::new(),
                Some(_) => return Err(unsupported("NATURAL join")),
            };
            acc = format!("({acc} {kw} {right}{cond})");
        }
        Ok(acc)
    }

    fn table_factor(&mut self, tf: &ast::TableFactor) -> Result<String> {
        let ast::TableFactor::Table { name, alias, .. } = tf else {
            return Err(unsupported("derived table"));
        };
        let parts = ident_names(name);
        let (db, t) = match parts.as_slice() {
            [t] => (self.db.to_string(), t.clone()),
            [d, t] => (d.clone(), t.clone()),
            _ => return Err(unsupported(name)),
        };
        let (real_name, cols) = if let Some(def) = self.cat.table(&db, &t) {
            (
                def.name.clone(),
                def.columns.iter().map(|c| c.name.clone()).collect(),
            )
        } else if let Some(view) = self.cat.view(&db, &t) {
            let def = view_table_def(self.cat, view)?;
            (def.name, def.columns.into_iter().map(|c| c.name).collect())
        } else {
            return Err(Error::no_such_table(&db, &t));
        };
        let mut out = if db.eq_ignore_ascii_case(self.db) {
            quote(&real_name)
        } else {
            format!("{}.{}", quote(&db), quote(&real_name))
        };
        let shown = match alias {
            Some(a) => {
                out.push(' ');
                out.push_str(&quote(&a.name.value));
                a.name.value.clone()
            }
            None => real_name,
        };
        self.tables.push((shown, cols));
        Ok(out)
    }

    /// The table a bare column name belongs to.
    fn owner(&self, col: &str) -> Result<&str> {
        let mut hits = self
            .tables
            .iter()
            .filter(|(_, cols)| cols.iter().any(|c| c.eq_ignore_ascii_case(col)));
        match (hits.next(), hits.next()) {
            (Some((t, _)), None) => Ok(t),
            _ => Err(unsupported(format!("column {col}"))),
        }
    }

    fn column(&self, table: &str, col: &str) -> String {
        // Print the column as the table spells it.
        let name = self
            .tables
            .iter()
            .find(|(t, _)| t.eq_ignore_ascii_case(table))
            .and_then(|(_, cols)| cols.iter().find(|c| c.eq_ignore_ascii_case(col)))
            .map(String::as_str)
            .unwrap_or(col);
        if self.bare {
            return quote(name);
        }
        format!("{}.{}", quote(table), quote(name))
    }

    fn expr(&self, e: &ast::Expr) -> Result<String> {
        use ast::Expr as A;
        Ok(match e {
            A::Identifier(id) if id.value.starts_with('@') => id.value.clone(),
            A::Identifier(id) if id.quote_style == Some('"') => literal_string(&id.value),
            A::Identifier(id) => match self.owner(&id.value) {
                Ok(t) => self.column(t, &id.value),
                Err(_)
                    if self
                        .aliases
                        .iter()
                        .any(|a| a.eq_ignore_ascii_case(&id.value)) =>
                {
                    quote(&id.value)
                }
                Err(e) => return Err(e),
            },
            A::CompoundIdentifier(p) if p.len() >= 2 => {
                self.column(&p[p.len() - 2].value, &p[p.len() - 1].value)
            }
            A::Value(v) => match &v.value {
                ast::Value::SingleQuotedString(s) | ast::Value::DoubleQuotedString(s) => {
                    literal_string(s)
                }
                ast::Value::Null => "NULL".into(),
                ast::Value::Boolean(b) => (if *b { "true" } else { "false" }).into(),
                ast::Value::Number(n, _) => n.to_string(),
                other => other.to_string(),
            },
            A::Nested(x) => self.expr(x)?,
            A::BinaryOp { left, op, right } => {
                let op = match op {
                    ast::BinaryOperator::And => "and".to_string(),
                    ast::BinaryOperator::Or => "or".to_string(),
                    ast::BinaryOperator::Xor => "xor".to_string(),
                    ast::BinaryOperator::MyIntegerDivide => "div".to_string(),
                    ast::BinaryOperator::NotEq => "<>".to_string(),
                    other => other.to_string(),
                };
                format!("({} {op} {})", self.expr(left)?, self.expr(right)?)
            }
            A::UnaryOp { op, expr } => match op {
                ast::UnaryOperator::Not => format!("(not({}))", self.expr(expr)?),
                ast::UnaryOperator::Minus => format!("-({})", self.expr(expr)?),
                ast::UnaryOperator::Plus => self.expr(expr)?,
                _ => return Err(unsupported(op)),
            },
            A::IsNull(x) => format!("({} is null)", self.expr(x)?),
            A::IsNotNull(x) => format!("({} is not null)", self.expr(x)?),
            A::Between {
                expr,
                negated,
                low,
                high,
            } => format!(
                "({} {}between {} and {})",
                self.expr(expr)?,
                if *negated { "not " } else { "" },
                self.expr(low)?,
                self.expr(high)?
            ),
            A::In {
                expr,
                target: ast::InTarget::List(list),
                negated,
                ..
            } => format!(
                "({} {}in ({}))",
                self.expr(expr)?,
                if *negated { "not " } else { "" },
                list.iter()
                    .map(|x| self.expr(x))
                    .collect::<Result<Vec<_>>>()?
                    .join(",")
            ),
            A::Like {
                negated,
                expr,
                pattern,
                escape_char: None,
                any: false,
            } => format!(
                "({} {}like {})",
                self.expr(expr)?,
                if *negated { "not " } else { "" },
                self.expr(pattern)?
            ),
            A::Case {
                operand,
                conditions,
                else_result,
                ..
            } => {
                let mut out = String::from("(case");
                if let Some(o) = operand {
                    out.push(' ');
                    out.push_str(&self.expr(o)?);
                }
                for w in conditions {
                    out.push_str(&format!(
                        " when {} then {}",
                        self.expr(&w.condition)?,
                        self.expr(&w.result)?
                    ));
                }
                if let Some(e) = else_result {
                    out.push_str(&format!(" else {}", self.expr(e)?));
                }
                out.push_str(" end)");
                out
            }
            A::Function(f) => self.function(f)?,
            other => return Err(unsupported(other)),
        })
    }

    fn function(&self, f: &ast::Function) -> Result<String> {
        if f.over.is_some() || f.filter.is_some() || !f.within_group.is_empty() {
            return Err(unsupported("window or filtered aggregate"));
        }
        let name = ident_names(&f.name).join(".").to_lowercase();
        let list = match &f.args {
            ast::FunctionArguments::None => return Ok(format!("{name}()")),
            ast::FunctionArguments::List(l) => l,
            ast::FunctionArguments::Subquery(_) => return Err(unsupported("subquery")),
        };
        if !list.clauses.is_empty() {
            return Err(unsupported("function clauses"));
        }
        let mut args = Vec::new();
        for a in &list.args {
            match a {
                ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => {
                    args.push(self.expr(e)?)
                }
                // COUNT(*) is stored as COUNT(0).
                ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Wildcard) => args.push("0".into()),
                _ => return Err(unsupported("function argument")),
            }
        }
        let distinct = match list.duplicate_treatment {
            Some(ast::DuplicateTreatment::Distinct) => "distinct ",
            _ => "",
        };
        Ok(format!("{name}({distinct}{})", args.join(",")))
    }
}

/// A string literal as MySQL prints it in a view: with its character set introducer.
fn literal_string(s: &str) -> String {
    format!("_utf8mb4'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

#[cfg(test)]
mod tests {
    use crate::{Database, Session};

    fn setup() -> (Database, Session) {
        let db = Database::open_in_memory().expect("in-memory database");
        let mut s = db.session();
        for sql in [
            "CREATE DATABASE d",
            "USE d",
            "CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL DEFAULT 'x', g INT)",
            "CREATE TABLE u (id INT PRIMARY KEY, t_id INT)",
        ] {
            s.execute(sql).expect(sql);
        }
        (db, s)
    }

    fn cell(s: &mut Session, sql: &str, col: usize) -> String {
        let r = s.execute(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        r.rows()[0][col].to_text().unwrap_or_default()
    }

    #[test]
    fn show_create_view_is_normalized() {
        let (_db, mut s) = setup();
        let cases = [
            (
                "SELECT id, g+1 FROM t",
                "select `t`.`id` AS `id`,(`t`.`g` + 1) AS `g+1` from `t`",
            ),
            (
                "SELECT * FROM t WHERE g > 1 AND name LIKE 'a%'",
                "select `t`.`id` AS `id`,`t`.`name` AS `name`,`t`.`g` AS `g` from `t` \
                 where ((`t`.`g` > 1) and (`t`.`name` like _utf8mb4'a%'))",
            ),
            (
                "SELECT g, COUNT(*) AS n FROM t GROUP BY g HAVING n > 1 ORDER BY g DESC LIMIT 5",
                "select `t`.`g` AS `g`,count(0) AS `n` from `t` group by `t`.`g` \
                 having (`n` > 1) order by `t`.`g` desc limit 5",
            ),
            (
                "SELECT x.name, u.id AS uid FROM t AS x JOIN u ON u.t_id = x.id",
                "select `x`.`name` AS `name`,`u`.`id` AS `uid` from (`t` `x` join `u` \
                 on((`u`.`t_id` = `x`.`id`)))",
            ),
        ];
        for (i, (def, want)) in cases.iter().enumerate() {
            s.execute(&format!("CREATE VIEW v{i} AS {def}")).expect(def);
            let got = cell(&mut s, &format!("SHOW CREATE VIEW v{i}"), 1);
            assert_eq!(
                got,
                format!(
                    "CREATE ALGORITHM=UNDEFINED DEFINER=`root`@`%` SQL SECURITY DEFINER \
                     VIEW `v{i}` AS {want}"
                )
            );
        }
    }

    #[test]
    fn view_columns_and_updatability() {
        let (_db, mut s) = setup();
        for sql in [
            "CREATE VIEW plain AS SELECT id, name FROM t WHERE g = 1",
            "CREATE VIEW joined AS SELECT t.id, u.id AS uid FROM t JOIN u ON u.t_id = t.id",
            "CREATE VIEW agg AS SELECT g, COUNT(*) AS n FROM t GROUP BY g",
            "CREATE VIEW dist AS SELECT DISTINCT g FROM t",
            "CREATE VIEW lit AS SELECT 1 AS one",
            "CREATE VIEW twice AS SELECT id, id AS id2 FROM t",
            "CREATE VIEW onview AS SELECT name FROM plain",
            "CREATE VIEW onagg AS SELECT n FROM agg",
        ] {
            s.execute(sql).expect(sql);
        }
        let r = s
            .execute(
                "SELECT table_name, is_updatable FROM information_schema.views \
                 WHERE table_schema = 'd' ORDER BY table_name",
            )
            .expect("views");
        let got: Vec<String> = r
            .rows()
            .iter()
            .map(|row| {
                format!(
                    "{} {}",
                    row[0].to_text().unwrap(),
                    row[1].to_text().unwrap()
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                "agg NO",
                "dist NO",
                "joined YES",
                "lit NO",
                "onagg NO",
                "onview YES",
                "plain YES",
                "twice NO"
            ]
        );
        let r = s
            .execute(
                "SELECT column_name, column_type, is_nullable, column_default \
                 FROM information_schema.columns WHERE table_name = 'agg' OR table_name = 'plain' \
                 ORDER BY table_name, ordinal_position",
            )
            .expect("columns");
        let got: Vec<String> = r
            .rows()
            .iter()
            .map(|row| {
                row.iter()
                    .map(|v| v.to_text().unwrap_or_else(|| "NULL".into()))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        assert_eq!(
            got,
            [
                "g int YES NULL",
                "n bigint NO NULL",
                "id int NO NULL",
                "name varchar(20) NO x"
            ]
        );
        let r = s.execute("SHOW COLUMNS FROM joined").expect("show columns");
        assert_eq!(r.rows().len(), 2);
    }
}
