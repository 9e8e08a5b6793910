//! CHECK constraints: building a definition from the AST (validated by binding it to the
//! table, stored with MySQL 8's normalized text) and evaluating the enforced ones on each
//! row an INSERT or UPDATE writes (3819 when the result is false; NULL passes).
//!
//! Invariant: `CheckDef::source` binds against the table it belongs to. Renaming or
//! dropping a column a check uses is refused (3959), so the text never goes stale.

use std::sync::Arc;

use sqlparser::ast;

use crate::catalog::{Catalog, CheckDef, TableDef};
use crate::database::Shared;
use crate::error::{Error, Result};
use crate::sql::bind::{ident_names, table_scope, Binder};
use crate::sql::exec::Exec;
use crate::sql::plan::Expr;
use crate::value::Value;

pub const ER_CHECK_CONSTRAINT_VIOLATED: u16 = 3819;
pub const ER_CHECK_CONSTRAINT_DUP_NAME: u16 = 3822;
pub const ER_CHECK_CONSTRAINT_FUNCTION_IS_NOT_ALLOWED: u16 = 3814;
pub const ER_DEPENDENT_BY_CHECK_CONSTRAINT: u16 = 3959;
pub const ER_CHECK_CONSTRAINT_REFERS_AUTO_INCREMENT_COLUMN: u16 = 3818;
pub const ER_CHECK_CONSTRAINT_CLAUSE_USING_FK_REFER_ACTION_COLUMN: u16 = 3823;

/// MySQL refuses a column that is both in a CHECK constraint and in a foreign key with a
/// referential action (CASCADE / SET NULL), since cascades bypass the checks.
pub fn check_fk_action_columns(t: &TableDef) -> Result<()> {
    for f in &t.foreign_keys {
        if !(f.on_delete.acts() || f.on_update.acts()) {
            continue;
        }
        for col in &f.columns {
            if let Some(c) = t.checks.iter().find(|c| uses_column(c, col)) {
                return Err(Error::new(
                    ER_CHECK_CONSTRAINT_CLAUSE_USING_FK_REFER_ACTION_COLUMN,
                    format!(
                        "Column '{col}' cannot be used in a check constraint '{}': needed in a foreign key constraint '{}' referential action.",
                        c.name, f.name
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Functions a check constraint may not call (non-deterministic or session-dependent).
const DISALLOWED: [&str; 16] = [
    "rand",
    "uuid",
    "uuid_short",
    "now",
    "current_timestamp",
    "curdate",
    "current_date",
    "curtime",
    "current_time",
    "sysdate",
    "unix_timestamp",
    "utc_timestamp",
    "connection_id",
    "user",
    "current_user",
    "database",
];

pub fn violated(name: &str) -> Error {
    Error::new(
        ER_CHECK_CONSTRAINT_VIOLATED,
        format!("Check constraint '{name}' is violated."),
    )
}

/// The next generated name `<table>_chk_<n>` not used by `taken`.
pub fn generated_name(table: &str, taken: &dyn Fn(&str) -> bool) -> String {
    (1..)
        .map(|n| format!("{table}_chk_{n}"))
        .find(|n| !taken(n))
        .expect("a free name")
}

/// Validate `expr` against table `t` and build its definition.
pub fn definition(
    cat: &Catalog,
    t: &TableDef,
    name: String,
    expr: &ast::Expr,
    enforced: bool,
) -> Result<CheckDef> {
    let mut bad = None;
    let _ = ast::visit_expressions(expr, |e| {
        match e {
            ast::Expr::Subquery(_) | ast::Expr::Exists { .. } => bad = Some("subquery".to_string()),
            ast::Expr::In { target, .. } if !matches!(target, ast::InTarget::List(_)) => {
                bad = Some("subquery".to_string())
            }
            ast::Expr::Function(f) => {
                let n = ident_names(&f.name).join(".").to_lowercase();
                if DISALLOWED.contains(&n.as_str()) {
                    bad = Some(n);
                }
            }
            ast::Expr::Identifier(i) if i.value.starts_with('@') => bad = Some(i.value.clone()),
            _ => {}
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
    if let Some(f) = bad {
        return Err(Error::new(
            ER_CHECK_CONSTRAINT_FUNCTION_IS_NOT_ALLOWED,
            format!(
                "An expression of a check constraint '{name}' contains disallowed function: {f}."
            ),
        ));
    }
    let mut b = Binder::new(cat, Some(t.db.clone()), "");
    b.bind_expr_in(expr, &table_scope(t, &t.name), "check constraint")
        .map_err(|e| {
            if e.code == crate::error::code::ER_BAD_FIELD {
                let col = e.message.split('\'').nth(1).unwrap_or("").to_string();
                Error::bad_field(&col, &format!("check constraint {name} expression"))
            } else {
                e
            }
        })?;
    let cols: Vec<String> = t.columns.iter().map(|c| c.name.clone()).collect();
    let source = expr.to_string();
    if let Some(ai) = t.columns.iter().find(|c| c.auto_increment) {
        if expr_uses_column(expr, &ai.name) {
            return Err(Error::new(
                ER_CHECK_CONSTRAINT_REFERS_AUTO_INCREMENT_COLUMN,
                format!("Check constraint '{name}' cannot refer to an auto-increment column."),
            ));
        }
    }
    let shown = crate::sql::views::normalized_check(cat, &t.db, &cols, expr)
        .unwrap_or_else(|_| format!("({expr})"));
    Ok(CheckDef {
        name,
        expr: shown,
        source,
        enforced,
    })
}

/// Whether check `c` uses column `col`.
pub fn uses_column(c: &CheckDef, col: &str) -> bool {
    match parse_source(&c.source) {
        Ok(e) => expr_uses_column(&e, col),
        Err(_) => false,
    }
}

fn expr_uses_column(e: &ast::Expr, col: &str) -> bool {
    let mut hit = false;
    let _ = ast::visit_expressions(e, |x| {
        match x {
            ast::Expr::Identifier(i) if i.value.eq_ignore_ascii_case(col) => hit = true,
            ast::Expr::CompoundIdentifier(p)
                if p.last().is_some_and(|i| i.value.eq_ignore_ascii_case(col)) =>
            {
                hit = true
            }
            _ => {}
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
    hit
}

fn parse_source(src: &str) -> Result<ast::Expr> {
    match crate::sql::parse::parse_one(&format!("SELECT {src}"))? {
        ast::Statement::Query(q) => match *q.body {
            ast::SetExpr::Select(s) => match s.projection.into_iter().next() {
                Some(ast::SelectItem::UnnamedExpr(e)) => Ok(e),
                Some(ast::SelectItem::ExprWithAlias { expr, .. }) => Ok(expr),
                _ => Err(Error::internal("check constraint text")),
            },
            _ => Err(Error::internal("check constraint text")),
        },
        _ => Err(Error::internal("check constraint text")),
    }
}

/// The enforced checks of `t`, bound to its row layout.
pub type BoundChecks = Arc<Vec<(String, Expr)>>;

fn bind_checks(cat: &Catalog, t: &TableDef) -> Result<BoundChecks> {
    let mut out = Vec::new();
    let scope = table_scope(t, &t.name);
    for c in t.checks.iter().filter(|c| c.enforced) {
        let e = parse_source(&c.source)?;
        let mut b = Binder::new(cat, Some(t.db.clone()), "");
        out.push((
            c.name.clone(),
            b.bind_expr_in(&e, &scope, "check constraint")?,
        ));
    }
    Ok(Arc::new(out))
}

impl Exec<'_> {
    /// Evaluate `t`'s enforced CHECK constraints on a row about to be written.
    pub fn check_row(&mut self, t: &TableDef, row: &[Value]) -> Result<()> {
        if !t.checks.iter().any(|c| c.enforced) {
            return Ok(());
        }
        let bound = match self.check_cache.get(&t.id) {
            Some(b) => b.clone(),
            None => {
                let cat = self.shared.catalog();
                let b = bind_checks(&cat, t)?;
                self.check_cache.insert(t.id, b.clone());
                b
            }
        };
        for (name, e) in bound.iter() {
            if self.eval(e, row)?.to_bool() == Some(false) {
                return Err(violated(name));
            }
        }
        Ok(())
    }
}

/// ALTER TABLE ... ADD CHECK: every existing row of `t` (already in its new layout)
/// must satisfy the new constraint.
pub fn validate_rows(sh: &Shared, t: &TableDef, c: &CheckDef, rows: &[Vec<Value>]) -> Result<()> {
    if !c.enforced || rows.is_empty() {
        return Ok(());
    }
    let cat = sh.catalog();
    let mut one = t.clone();
    one.checks = vec![c.clone()];
    let bound = bind_checks(&cat, &one)?;
    sh.with_exec(&mut |ex| {
        for r in rows {
            for (name, e) in bound.iter() {
                if ex.eval(e, r)?.to_bool() == Some(false) {
                    return Err(violated(name));
                }
            }
        }
        Ok(())
    })
}
