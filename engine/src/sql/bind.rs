//! The binder: resolves names in the sqlparser AST against the catalog and the scopes
//! of the query, and builds a [`Plan`]. SELECT is planned here: FROM (join order,
//! predicate pushdown, hash join keys, index access), WHERE, GROUP BY/aggregates,
//! HAVING, window functions, the select list, DISTINCT, ORDER BY, LIMIT.

use std::collections::HashMap;
use std::sync::Arc;

use sqlparser::ast::{self, Spanned};

use crate::catalog::{Catalog, TableDef};
use crate::collation::Collation;
use crate::error::{code, Error, Result};
use crate::functions::{self, BinOp, CastType, IntervalUnit};
use crate::result::{Column, ColumnType};
use crate::sql::plan::*;
use crate::value::Value;

/// A table's next AUTO_INCREMENT value (None: the table has no such column).
pub type NextAutoinc<'a> = dyn Fn(&TableDef) -> Option<u64> + 'a;

/// A column visible in a scope.
#[derive(Clone, Debug)]
pub struct ScopeCol {
    /// Table alias (lower case); "" for derived columns without a table.
    pub table: String,
    pub name: String,
    pub meta: Column,
    /// Not found by unqualified name, not expanded by `*` (USING/NATURAL duplicates).
    pub hidden: bool,
}

#[derive(Clone, Debug, Default)]
pub struct Scope {
    pub cols: Vec<ScopeCol>,
}

impl Scope {
    pub fn width(&self) -> usize {
        self.cols.len()
    }

    fn find(&self, table: Option<&str>, name: &str) -> Result<Option<usize>> {
        let mut hit: Option<usize> = None;
        for (i, c) in self.cols.iter().enumerate() {
            if !c.name.eq_ignore_ascii_case(name) {
                continue;
            }
            // The new-row half of INSERT ... ON DUPLICATE KEY UPDATE and the right-hand
            // copy of a USING/NATURAL join column answer only to qualified names.
            if table.is_none() && (c.table == "__new" || c.hidden) {
                continue;
            }
            if let Some(t) = table {
                if !c.table.eq_ignore_ascii_case(t) {
                    continue;
                }
            }
            if let Some(h) = hit {
                // USING/NATURAL merge duplicates: the same table alias twice is ambiguous,
                // identical column metadata from different tables too.
                if self.cols[h].table != c.table || table.is_some() {
                    return Err(Error::new(
                        code::ER_NON_UNIQ,
                        format!("Column '{name}' in field list is ambiguous"),
                    ));
                }
            } else {
                hit = Some(i);
            }
        }
        Ok(hit)
    }
}

/// A CTE visible to the query being bound.
#[derive(Clone)]
struct Cte {
    query: ast::Query,
    columns: Vec<String>,
    recursive_id: Option<usize>,
    /// While binding the recursive member: the columns of the CTE.
    self_scope: Option<Vec<Column>>,
}

/// State for binding expressions after GROUP BY.
struct AggCtx {
    group_asts: Vec<ast::Expr>,
    group_bound: Vec<Expr>,
    aggs: Vec<AggCall>,
    /// The pre-aggregation scope (aggregate arguments bind against it).
    input: Scope,
    /// ONLY_FULL_GROUP_BY: per input column, whether it is functionally dependent on the
    /// GROUP BY columns (None: the mode is off, any column is allowed).
    determined: Option<Vec<bool>>,
    /// The query has a GROUP BY clause (error 1055) rather than only aggregates (1140).
    grouped: bool,
}

struct WinCtx {
    calls: Vec<WindowCall>,
    /// The query's WINDOW clause, by lower-case name, each inheritance already applied.
    named: HashMap<String, ast::WindowSpec>,
}

/// Input column `c` of an aggregated query as a column of its post-aggregation row: the
/// group column it is, else ANY_VALUE(c) once ONLY_FULL_GROUP_BY allows it (`c` is
/// functionally dependent on the group columns, or `any_value` says the query asked).
fn grouped_ref(
    ctx: &mut AggCtx,
    c: usize,
    any_value: bool,
    place: (&'static str, usize),
) -> Result<usize> {
    if let Some(i) = ctx
        .group_bound
        .iter()
        .position(|g| matches!(g, Expr::Column(x) if *x == c))
    {
        return Ok(i);
    }
    if !any_value {
        if let Some(det) = &ctx.determined {
            if !det.get(c).copied().unwrap_or(true) {
                return Err(nonaggregated_error(&ctx.input, c, ctx.grouped, place));
            }
        }
    }
    Ok(push_any_value(ctx, Expr::Column(c)))
}

fn push_any_value(ctx: &mut AggCtx, e: Expr) -> usize {
    ctx.aggs.push(AggCall {
        func: AggFunc::AnyValue,
        args: vec![e],
        distinct: false,
        order: Vec::new(),
        separator: ",".into(),
    });
    ctx.group_bound.len() + ctx.aggs.len() - 1
}

/// Metadata of column `i` of the post-aggregation row when it is a plain input column
/// (a group column, ANY_VALUE/MIN/MAX of a column: it keeps that column's type) or a
/// COUNT. Such columns may be NULL (ROLLUP rows, MIN of no rows).
fn grouped_column_meta(agg: &AggCtx, i: usize) -> Option<Column> {
    let input_col = |e: &Expr| match e {
        Expr::Column(c) => agg.input.cols.get(*c).map(|c| c.meta.clone()),
        _ => None,
    };
    let mut m = match i.checked_sub(agg.group_bound.len()) {
        None => input_col(&agg.group_bound[i])?,
        Some(a) => {
            let call = agg.aggs.get(a)?;
            match call.func {
                AggFunc::Count | AggFunc::CountStar => {
                    let mut c = Column::computed("", ColumnType::LongLong);
                    c.flags |= crate::result::flags::NOT_NULL;
                    return Some(c);
                }
                AggFunc::AnyValue | AggFunc::Min | AggFunc::Max if !call.distinct => {
                    input_col(call.args.first()?)?
                }
                _ => return None,
            }
        }
    };
    m.flags &= !(crate::result::flags::NOT_NULL | crate::result::flags::AUTO_INCREMENT);
    Some(m)
}

/// Error 1055 (or 1140 without GROUP BY) for input column `c` used outside aggregates.
fn nonaggregated_error(
    input: &Scope,
    c: usize,
    grouped: bool,
    (clause, n): (&'static str, usize),
) -> Error {
    let col = &input.cols[c];
    let mut name = String::new();
    if !col.meta.schema.is_empty() {
        name.push_str(&col.meta.schema);
        name.push('.');
    }
    if !col.table.is_empty() {
        name.push_str(&col.table);
        name.push('.');
    }
    name.push_str(&col.name);
    if grouped {
        Error::new(
            code::ER_WRONG_FIELD_WITH_GROUP,
            format!(
                "Expression #{n} of {clause} is not in GROUP BY clause and contains \
                 nonaggregated column '{name}' which is not functionally dependent on \
                 columns in GROUP BY clause; this is incompatible with \
                 sql_mode=only_full_group_by"
            ),
        )
    } else {
        Error::new(
            code::ER_MIX_OF_GROUP_FUNC_AND_FIELDS,
            format!(
                "In aggregated query without GROUP BY, expression #{n} of {clause} contains \
                 nonaggregated column '{name}'; this is incompatible with \
                 sql_mode=only_full_group_by"
            ),
        )
    }
}

/// MySQL's functional dependencies for ONLY_FULL_GROUP_BY: which input columns the
/// GROUP BY columns determine. Starting from the grouped columns and the columns WHERE or
/// a join's ON sets equal to a constant, it closes over column = column equalities (WHERE,
/// ON, USING, NATURAL) and keys: once a table's primary key, or a unique key over NOT NULL
/// columns, is determined, so is every column of that table (a view or derived table's
/// columns map to their base table's through the column metadata).
pub(crate) fn functional_dependencies(
    catalog: &Catalog,
    scope: &Scope,
    group: &[Expr],
    where_conj: &[ast::Expr],
    from: &[ast::TableWithJoins],
) -> Vec<bool> {
    let mut det = vec![false; scope.width()];
    for g in group {
        if let Expr::Column(i) = g {
            if let Some(d) = det.get_mut(*i) {
                *d = true;
            }
        }
    }
    // Equalities: column = constant determines the column; column = column links both.
    let mut conj: Vec<ast::Expr> = where_conj.to_vec();
    let mut links: Vec<(usize, usize)> = Vec::new();
    for twj in from {
        for j in &twj.joins {
            use ast::JoinOperator as J;
            let c = match &j.join_operator {
                J::Join(c)
                | J::Inner(c)
                | J::Left(c)
                | J::LeftOuter(c)
                | J::Right(c)
                | J::RightOuter(c)
                | J::StraightJoin(c) => c,
                _ => continue,
            };
            match c {
                ast::JoinConstraint::On(e) => conj.extend(split_and(e)),
                ast::JoinConstraint::Using(names) => {
                    for n in names {
                        if let Some(name) = ident_names(n).last() {
                            link_same_name(scope, name, &mut links);
                        }
                    }
                }
                ast::JoinConstraint::Natural => {
                    for c in &scope.cols {
                        link_same_name(scope, &c.name, &mut links);
                    }
                }
                _ => {}
            }
        }
    }
    let column = |e: &ast::Expr| column_of(scope, e);
    for c in &conj {
        if let ast::Expr::BinaryOp {
            left,
            op: ast::BinaryOperator::Eq,
            right,
        } = c
        {
            match (column(left), column(right)) {
                (Some(a), Some(b)) => links.push((a, b)),
                (Some(a), None) if is_constant(right) => det[a] = true,
                (None, Some(b)) if is_constant(left) => det[b] = true,
                _ => {}
            }
        }
    }
    // Tables in scope by alias, with their key column positions in the scope.
    let mut tables: Vec<(String, Vec<Vec<usize>>, Vec<usize>)> = Vec::new();
    let mut aliases: Vec<&str> = scope.cols.iter().map(|c| c.table.as_str()).collect();
    aliases.dedup();
    for alias in aliases {
        if alias.is_empty() || tables.iter().any(|t| t.0 == alias) {
            continue;
        }
        let cols: Vec<usize> = (0..scope.width())
            .filter(|&i| scope.cols[i].table == alias)
            .collect();
        let mut keys = Vec::new();
        if let Some(def) = cols.first().and_then(|&i| {
            let m = &scope.cols[i].meta;
            catalog.table(&m.schema, &m.org_table)
        }) {
            let pos_of = |k: usize| -> Option<usize> {
                let name = &def.columns.get(k)?.name;
                cols.iter().copied().find(|&i| {
                    let m = &scope.cols[i].meta;
                    m.org_name.eq_ignore_ascii_case(name)
                        && m.org_table.eq_ignore_ascii_case(&def.name)
                })
            };
            let mut candidates: Vec<Vec<usize>> = Vec::new();
            if !def.primary.is_empty() {
                candidates.push(def.primary.clone());
            }
            for ix in def.indexes.iter().filter(|ix| ix.unique) {
                if ix.columns.iter().all(|&k| !def.columns[k].nullable) {
                    candidates.push(ix.columns.clone());
                }
            }
            for key in candidates {
                if let Some(pos) = key.iter().map(|&k| pos_of(k)).collect::<Option<Vec<_>>>() {
                    keys.push(pos);
                }
            }
        }
        tables.push((alias.to_string(), keys, cols));
    }
    loop {
        let mut changed = false;
        for &(a, b) in &links {
            if det[a] != det[b] {
                det[a] = true;
                det[b] = true;
                changed = true;
            }
        }
        for (_, keys, cols) in &tables {
            if keys.iter().any(|k| k.iter().all(|&i| det[i])) {
                for &i in cols {
                    if !det[i] {
                        det[i] = true;
                        changed = true;
                    }
                }
            }
        }
        if !changed {
            return det;
        }
    }
}

fn column_of(scope: &Scope, e: &ast::Expr) -> Option<usize> {
    match e {
        ast::Expr::Identifier(id) if !id.value.starts_with('@') => {
            scope.find(None, &id.value).ok().flatten()
        }
        ast::Expr::CompoundIdentifier(p) if p.len() >= 2 => scope
            .find(Some(&p[p.len() - 2].value), &p[p.len() - 1].value)
            .ok()
            .flatten(),
        ast::Expr::Nested(x) => column_of(scope, x),
        _ => None,
    }
}

/// A literal, parameter or variable: the same value for every row.
fn is_constant(e: &ast::Expr) -> bool {
    match e {
        ast::Expr::Value(_) => true,
        ast::Expr::Identifier(id) => id.value.starts_with('@'),
        ast::Expr::Nested(x) => is_constant(x),
        ast::Expr::UnaryOp { expr, .. } => is_constant(expr),
        _ => false,
    }
}

/// USING/NATURAL: every column of that name in the scope holds the same value.
fn link_same_name(scope: &Scope, name: &str, links: &mut Vec<(usize, usize)>) {
    let same: Vec<usize> = (0..scope.width())
        .filter(|&i| scope.cols[i].name.eq_ignore_ascii_case(name))
        .collect();
    for w in same.windows(2) {
        links.push((w[0], w[1]));
    }
}

/// MySQL's errors for WINDOW clauses.
const ER_WINDOW_NO_SUCH_WINDOW: u16 = 3579;
const ER_WINDOW_NO_CHILD_PARTITIONING: u16 = 3581;
const ER_WINDOW_NO_INHERIT_FRAME: u16 = 3580;
const ER_WINDOW_NO_REDEFINE_ORDER_BY: u16 = 3582;
const ER_WINDOW_DUPLICATE_NAME: u16 = 3591;
const ER_WINDOW_CIRCULARITY_IN_WINDOW_GRAPH: u16 = 3584;

/// Resolve a query's WINDOW clause: every definition with the windows it names merged in
/// (MySQL allows references in any order of definition, but no cycles).
fn resolve_named_windows(
    defs: &[ast::NamedWindowDefinition],
) -> Result<HashMap<String, ast::WindowSpec>> {
    let mut raw: HashMap<String, ast::WindowSpec> = HashMap::new();
    for ast::NamedWindowDefinition(name, expr) in defs {
        let spec = match expr {
            ast::NamedWindowExpr::WindowSpec(s) => s.clone(),
            ast::NamedWindowExpr::NamedWindow(base) => ast::WindowSpec {
                window_name: Some(base.clone()),
                partition_by: Vec::new(),
                order_by: Vec::new(),
                window_frame: None,
            },
        };
        if raw.insert(lc(&name.value), spec).is_some() {
            return Err(Error::new(
                ER_WINDOW_DUPLICATE_NAME,
                format!("Window '{}' is defined twice.", name.value),
            ));
        }
    }
    let mut out = HashMap::new();
    for name in raw.keys() {
        let mut seen = Vec::new();
        out.insert(name.clone(), resolve_window_name(name, &raw, &mut seen)?);
    }
    Ok(out)
}

fn resolve_window_name(
    name: &str,
    raw: &HashMap<String, ast::WindowSpec>,
    seen: &mut Vec<String>,
) -> Result<ast::WindowSpec> {
    if seen.iter().any(|s| s == name) {
        return Err(Error::new(
            ER_WINDOW_CIRCULARITY_IN_WINDOW_GRAPH,
            "There is a circularity in the window dependency graph.",
        ));
    }
    let spec = raw.get(name).ok_or_else(|| no_such_window(name))?;
    seen.push(name.to_string());
    inherit_window(spec, name, &mut |base| resolve_window_name(base, raw, seen))
}

fn no_such_window(name: &str) -> Error {
    Error::new(
        ER_WINDOW_NO_SUCH_WINDOW,
        format!("Window name '{name}' is not defined."),
    )
}

/// `spec` with the window it names (`OVER (w ORDER BY ...)`) merged in, as MySQL
/// allows: the child may add ORDER BY and a frame, never PARTITION BY.
fn inherit_window(
    spec: &ast::WindowSpec,
    label: &str,
    base_of: &mut dyn FnMut(&str) -> Result<ast::WindowSpec>,
) -> Result<ast::WindowSpec> {
    let Some(base_name) = &spec.window_name else {
        return Ok(spec.clone());
    };
    let base = base_of(&lc(&base_name.value))?;
    if !spec.partition_by.is_empty() {
        return Err(Error::new(
            ER_WINDOW_NO_CHILD_PARTITIONING,
            "A window which depends on another cannot define partitioning.",
        ));
    }
    if base.window_frame.is_some() {
        return Err(Error::new(
            ER_WINDOW_NO_INHERIT_FRAME,
            format!(
                "Window '{label}' has a frame definition, so cannot be referenced by another window."
            ),
        ));
    }
    if !spec.order_by.is_empty() && !base.order_by.is_empty() {
        return Err(Error::new(
            ER_WINDOW_NO_REDEFINE_ORDER_BY,
            format!(
                "Window '{label}' cannot inherit '{}' since both contain an ORDER BY clause.",
                base_name.value
            ),
        ));
    }
    Ok(ast::WindowSpec {
        window_name: None,
        partition_by: base.partition_by,
        order_by: if spec.order_by.is_empty() {
            base.order_by
        } else {
            spec.order_by.clone()
        },
        window_frame: spec.window_frame.clone(),
    })
}

/// `@var := expr` binds to `Func(ASSIGN_USER_VAR, [name literal, expr])`: evaluation
/// stores the value in the session and yields it. The name cannot collide with a
/// function a query can call (it is not an identifier).
pub const ASSIGN_USER_VAR: &str = ":=";

/// Column numbers at or above this mark are window outputs (see `bind_window`).
const WIN_MARK: usize = 1 << 40;

pub struct Binder<'a> {
    pub catalog: &'a Catalog,
    pub current_db: Option<String>,
    /// Enclosing query scopes, innermost last (for correlated references).
    outer: Vec<Scope>,
    /// Deepest outer level referenced, per open subquery (innermost last).
    corr: Vec<usize>,
    next_id: usize,
    ctes: Vec<HashMap<String, Cte>>,
    agg: Option<AggCtx>,
    win: Option<WinCtx>,
    /// Select-list aliases usable in HAVING and ORDER BY: (alias, output column).
    aliases: Vec<(String, usize, ast::Expr)>,
    pub sql: String,
    /// Views being expanded (cycle guard).
    expanding: Vec<String>,
    /// sql_mode has ONLY_FULL_GROUP_BY (MySQL 8's default): a grouped query may use a
    /// column outside aggregates only when the GROUP BY columns determine it.
    pub only_full_group_by: bool,
    /// @@foreign_key_checks of the session running a DDL statement.
    pub fk_checks: bool,
    /// Per entry of `outer`: that query's aggregation while one of its subqueries is
    /// bound (a correlated reference then names a column of the grouped row).
    outer_aggs: Vec<Option<AggCtx>>,
    /// Inside ANY_VALUE(...): no ONLY_FULL_GROUP_BY check.
    any_value_depth: usize,
    /// The server's sessions, for information_schema.PROCESSLIST (None: that table is
    /// empty, e.g. when only result metadata is wanted).
    pub sessions: Option<&'a crate::database::Sessions>,
    /// The next AUTO_INCREMENT value of a table, for information_schema.TABLES (None:
    /// that column is NULL).
    pub next_autoinc: Option<&'a NextAutoinc<'a>>,
    /// Where the expression being bound sits, for error 1055's message: (clause, 1-based
    /// position).
    place: (&'static str, usize),
}

fn lc(s: &str) -> String {
    s.to_lowercase()
}

pub fn ident_names(name: &ast::ObjectName) -> Vec<String> {
    name.0
        .iter()
        .map(|p| match p {
            ast::ObjectNamePart::Identifier(i) => i.value.clone(),
            ast::ObjectNamePart::Function(f) => f.name.value.clone(),
        })
        .collect()
}

impl<'a> Binder<'a> {
    pub fn new(catalog: &'a Catalog, current_db: Option<String>, sql: &str) -> Binder<'a> {
        Binder {
            catalog,
            current_db,
            outer: Vec::new(),
            corr: Vec::new(),
            next_id: 0,
            ctes: Vec::new(),
            agg: None,
            win: None,
            aliases: Vec::new(),
            sql: sql.to_string(),
            expanding: Vec::new(),
            only_full_group_by: true,
            fk_checks: true,
            any_value_depth: 0,
            outer_aggs: Vec::new(),
            sessions: None,
            next_autoinc: None,
            place: ("SELECT list", 1),
        }
    }

    fn fresh_id(&mut self) -> usize {
        self.next_id += 1;
        self.next_id
    }

    pub fn db_or_err(&self) -> Result<String> {
        self.current_db.clone().ok_or_else(Error::no_db)
    }

    /// Resolve [db.]name to (db, name).
    pub fn table_name(&self, name: &ast::ObjectName) -> Result<(String, String)> {
        let parts = ident_names(name);
        match parts.as_slice() {
            [t] => Ok((self.db_or_err()?, t.clone())),
            [d, t] => Ok((d.clone(), t.clone())),
            _ => Err(Error::parse(name.to_string())),
        }
    }

    /// The source text of an AST node, for result column names. sqlparser's spans do not
    /// always cover a whole expression (a function call's span ends at its name), so the
    /// text is taken from the span's start for as many non-blank characters as the
    /// expression's printed form has.
    fn text_of(&self, span: sqlparser::tokenizer::Span, fallback: String) -> String {
        if span.start.line == 0 {
            return fallback;
        }
        let mut off = None;
        let mut acc = 0usize;
        for (n, l) in self.sql.split_inclusive('\n').enumerate() {
            if n as u64 + 1 == span.start.line {
                let b = l
                    .char_indices()
                    .nth(span.start.column.saturating_sub(1) as usize)
                    .map(|(b, _)| b)
                    .unwrap_or(l.len());
                off = Some(acc + b);
                break;
            }
            acc += l.len();
        }
        let Some(start) = off else { return fallback };
        // Prepared statements print their markers numbered ("?1"); the source has "?".
        let printed = unnumber_placeholders(&fallback);
        let want = printed.chars().filter(|c| !c.is_whitespace()).count();
        let mut seen = 0usize;
        let mut end = start;
        for (i, c) in self.sql[start..].char_indices() {
            if seen == want {
                break;
            }
            if !c.is_whitespace() {
                seen += 1;
            }
            end = start + i + c.len_utf8();
        }
        let t = self.sql[start..end].trim();
        if seen != want || t.is_empty() {
            return fallback;
        }
        // Same characters as the printed form, up to case and blanks: it is the source.
        let norm = |x: &str| {
            x.chars()
                .filter(|c| !c.is_whitespace())
                .collect::<String>()
                .to_lowercase()
        };
        if norm(t) == norm(&printed) {
            t.to_string()
        } else {
            fallback
        }
    }

    // ------------------------------------------------------------ queries

    /// Bind a full query (WITH, set operations, ORDER BY, LIMIT).
    pub fn bind_query(&mut self, q: &ast::Query) -> Result<BoundQuery> {
        let mut pushed = false;
        if let Some(with) = &q.with {
            let mut m = HashMap::new();
            for cte in &with.cte_tables {
                let name = lc(&cte.alias.name.value);
                let columns = cte
                    .alias
                    .columns
                    .iter()
                    .map(|c| c.name.value.clone())
                    .collect();
                m.insert(
                    name,
                    Cte {
                        query: (*cte.query).clone(),
                        columns,
                        recursive_id: if with.recursive { Some(0) } else { None },
                        self_scope: None,
                    },
                );
            }
            self.ctes.push(m);
            pushed = true;
        }
        let r = self.bind_query_body(q);
        if pushed {
            self.ctes.pop();
        }
        r
    }

    fn bind_query_body(&mut self, q: &ast::Query) -> Result<BoundQuery> {
        let order: Vec<ast::OrderByExpr> = match &q.order_by {
            Some(ob) => match &ob.kind {
                ast::OrderByKind::Expressions(v) => v.clone(),
                ast::OrderByKind::All(_) => return Err(Error::unsupported("ORDER BY ALL")),
            },
            None => Vec::new(),
        };
        let (limit, offset) = match &q.limit_clause {
            None => (None, None),
            Some(ast::LimitClause::LimitOffset { limit, offset, .. }) => {
                (limit.clone(), offset.as_ref().map(|o| o.value.clone()))
            }
            Some(ast::LimitClause::OffsetCommaLimit { offset, limit }) => {
                (Some(limit.clone()), Some(offset.clone()))
            }
        };
        let lock = q
            .locks
            .first()
            .map(|l| matches!(l.lock_type, ast::LockType::Update));
        let _ = lock;
        match q.body.as_ref() {
            ast::SetExpr::Select(sel) => {
                self.bind_select(sel, &order, limit.as_ref(), offset.as_ref())
            }
            _ => {
                let mut bq = self.bind_set_expr(&q.body)?;
                if !order.is_empty() {
                    let scope = Scope {
                        cols: bq
                            .columns
                            .iter()
                            .map(|c| ScopeCol {
                                table: String::new(),
                                name: c.name.clone(),
                                meta: c.clone(),
                                hidden: false,
                            })
                            .collect(),
                    };
                    let mut keys = Vec::new();
                    for o in &order {
                        let desc = o.options.sort == Some(ast::OrderBySort::Desc);
                        let e = match &o.expr {
                            ast::Expr::Value(v) if matches!(v.value, ast::Value::Number(..)) => {
                                let n = literal_usize(&v.value).unwrap_or(0);
                                if n == 0 || n > bq.columns.len() {
                                    return Err(Error::new(
                                        code::ER_BAD_FIELD,
                                        format!("Unknown column '{n}' in 'order clause'"),
                                    ));
                                }
                                Expr::Column(n - 1)
                            }
                            other => self.bind_expr_in(other, &scope, "order clause")?,
                        };
                        keys.push((e, desc));
                    }
                    bq.plan = Plan::Sort(Box::new(bq.plan), keys);
                }
                if limit.is_some() || offset.is_some() {
                    let empty = Scope::default();
                    let limit = limit
                        .map(|l| self.bind_expr_in(&l, &empty, "LIMIT"))
                        .transpose()?;
                    let offset = offset
                        .map(|l| self.bind_expr_in(&l, &empty, "LIMIT"))
                        .transpose()?;
                    bq.plan = Plan::Limit {
                        input: Box::new(bq.plan),
                        limit,
                        offset,
                    };
                }
                Ok(bq)
            }
        }
    }

    fn bind_set_expr(&mut self, s: &ast::SetExpr) -> Result<BoundQuery> {
        match s {
            ast::SetExpr::Select(sel) => self.bind_select(sel, &[], None, None),
            ast::SetExpr::Query(q) => self.bind_query(q),
            ast::SetExpr::Values(v) => self.bind_values(v),
            ast::SetExpr::SetOperation {
                left,
                op,
                set_quantifier,
                right,
            } => {
                let l = self.bind_set_expr(left)?;
                let r = self.bind_set_expr(right)?;
                if l.columns.len() != r.columns.len() {
                    return Err(Error::new(
                        1222,
                        "The used SELECT statements have a different number of columns",
                    ));
                }
                let op = match op {
                    ast::SetOperator::Union => SetOp::Union,
                    ast::SetOperator::Intersect => SetOp::Intersect,
                    ast::SetOperator::Except | ast::SetOperator::Minus => SetOp::Except,
                };
                let all = matches!(set_quantifier, ast::SetQuantifier::All);
                let columns = merge_columns(&l.columns, &r.columns);
                let is_str = |t: ColumnType| {
                    matches!(
                        t,
                        ColumnType::VarString | ColumnType::String | ColumnType::Blob
                    )
                };
                let mixed: Vec<bool> = l
                    .columns
                    .iter()
                    .zip(&r.columns)
                    .map(|(a, b)| a.ty != b.ty && (is_str(a.ty) || is_str(b.ty)))
                    .collect();
                let mut plan = Plan::SetOp {
                    op,
                    all,
                    left: Box::new(l.plan),
                    right: Box::new(r.plan),
                };
                if mixed.iter().any(|m| *m) {
                    // A column mixing strings and numbers is a string column (MySQL).
                    let exprs = mixed
                        .iter()
                        .enumerate()
                        .map(|(i, m)| {
                            if *m {
                                Expr::Cast(Box::new(Expr::Column(i)), CastType::Char(None))
                            } else {
                                Expr::Column(i)
                            }
                        })
                        .collect();
                    plan = Plan::Project(Box::new(plan), exprs);
                }
                Ok(BoundQuery { plan, columns })
            }
            ast::SetExpr::Table(t) => {
                let name = t.table_name.clone().map(|i| i.value).unwrap_or_default();
                let sql = match &t.schema_name {
                    Some(s) => format!("SELECT * FROM `{s}`.`{name}`"),
                    None => format!("SELECT * FROM `{name}`"),
                };
                let st = crate::sql::parse::parse_one(&sql)?;
                match st {
                    ast::Statement::Query(q) => self.bind_query(&q),
                    _ => Err(Error::internal("TABLE statement")),
                }
            }
            _ => Err(Error::unsupported(s.to_string())),
        }
    }

    fn bind_values(&mut self, v: &ast::Values) -> Result<BoundQuery> {
        let empty = Scope::default();
        let mut rows = Vec::new();
        let mut width = None;
        let mut exprs_rows = Vec::new();
        for r in &v.rows {
            let mut row = Vec::new();
            for e in &r.content {
                row.push(self.bind_expr_in(e, &empty, "field list")?);
            }
            if *width.get_or_insert(row.len()) != row.len() {
                return Err(Error::new(
                    code::ER_WRONG_VALUE_COUNT_ON_ROW,
                    "Column count doesn't match value count at row 2",
                ));
            }
            exprs_rows.push(row);
        }
        let w = width.unwrap_or(0);
        // A VALUES table: a union of single-row projections.
        let mut plan: Option<Plan> = None;
        for row in exprs_rows {
            let p = Plan::Project(Box::new(Plan::Single), row);
            plan = Some(match plan {
                None => p,
                Some(prev) => Plan::SetOp {
                    op: SetOp::Union,
                    all: true,
                    left: Box::new(prev),
                    right: Box::new(p),
                },
            });
            rows.push(());
        }
        let columns = (0..w)
            .map(|i| Column::computed(format!("column_{i}"), ColumnType::Null))
            .collect();
        Ok(BoundQuery {
            plan: plan.unwrap_or(Plan::Rows(Arc::new(Vec::new()))),
            columns,
        })
    }

    fn bind_select(
        &mut self,
        sel: &ast::Select,
        order: &[ast::OrderByExpr],
        limit: Option<&ast::Expr>,
        offset: Option<&ast::Expr>,
    ) -> Result<BoundQuery> {
        // FROM and WHERE.
        let where_conj: Vec<ast::Expr> = match &sel.selection {
            Some(w) => split_and(w),
            None => Vec::new(),
        };
        let (mut plan, scope) = if sel.from.is_empty() {
            let scope = Scope::default();
            let mut plan = Plan::Single;
            if let Some(w) = &sel.selection {
                let pred = self.bind_expr_in(w, &scope, "where clause")?;
                plan = Plan::Filter(Box::new(plan), pred);
            }
            (plan, scope)
        } else {
            crate::sql::from::plan_from(self, &sel.from, where_conj)?
        };

        // Aggregation?
        let group_exprs: Vec<ast::Expr> = match &sel.group_by {
            ast::GroupByExpr::Expressions(v, _) => v.clone(),
            ast::GroupByExpr::All(_) => return Err(Error::unsupported("GROUP BY ALL")),
        };
        let rollup = match &sel.group_by {
            ast::GroupByExpr::Expressions(_, mods) => mods
                .iter()
                .any(|m| matches!(m, ast::GroupByWithModifier::Rollup)),
            _ => false,
        };
        let mut group_exprs = group_exprs;
        let mut rollup = rollup;
        if group_exprs.len() == 1 {
            if let ast::Expr::Rollup(sets) = &group_exprs[0] {
                let flat: Vec<ast::Expr> = sets.iter().flatten().cloned().collect();
                group_exprs = flat;
                rollup = true;
            }
        }
        let has_agg = !group_exprs.is_empty()
            || sel.projection.iter().any(|p| match p {
                ast::SelectItem::UnnamedExpr(e)
                | ast::SelectItem::ExprWithAlias { expr: e, .. } => contains_agg(e),
                _ => false,
            })
            || sel.having.as_ref().is_some_and(contains_agg)
            || order.iter().any(|o| contains_agg(&o.expr));

        // Select-list aliases (for GROUP BY / HAVING / ORDER BY references).
        let mut alias_asts: Vec<(String, ast::Expr)> = Vec::new();
        for p in &sel.projection {
            if let ast::SelectItem::ExprWithAlias { expr, alias } = p {
                alias_asts.push((alias.value.clone(), expr.clone()));
            }
        }

        let saved_agg = self.agg.take();
        let saved_win = self.win.take();
        let saved_aliases = std::mem::take(&mut self.aliases);
        let mut cur_scope = scope.clone();
        if has_agg {
            let mut group_bound = Vec::new();
            let mut group_asts = Vec::new();
            for g in &group_exprs {
                // GROUP BY may name a select alias or position.
                let g_ast = resolve_alias_or_position(g, &alias_asts, &sel.projection, &scope)?;
                group_bound.push(self.bind_expr_in(&g_ast, &scope, "group statement")?);
                group_asts.push(g_ast);
            }
            let determined = self.only_full_group_by.then(|| {
                let where_conj = sel.selection.as_ref().map(split_and).unwrap_or_default();
                functional_dependencies(self.catalog, &scope, &group_bound, &where_conj, &sel.from)
            });
            self.agg = Some(AggCtx {
                group_asts,
                group_bound,
                aggs: Vec::new(),
                input: scope.clone(),
                determined,
                grouped: !group_exprs.is_empty(),
            });
            // The post-aggregation row: group values then aggregate results.
            cur_scope = Scope::default();
        }

        // Window functions.
        let has_win = sel.projection.iter().any(|p| match p {
            ast::SelectItem::UnnamedExpr(e) | ast::SelectItem::ExprWithAlias { expr: e, .. } => {
                contains_window(e)
            }
            _ => false,
        }) || order.iter().any(|o| contains_window(&o.expr));

        // Bind the select list.
        let mut proj_exprs: Vec<Expr> = Vec::new();
        let mut columns: Vec<Column> = Vec::new();
        let bind_scope = if has_agg {
            scope.clone()
        } else {
            cur_scope.clone()
        };
        if has_win {
            self.win = Some(WinCtx {
                calls: Vec::new(),
                named: resolve_named_windows(&sel.named_window)?,
            });
        }
        for (n, item) in sel.projection.iter().enumerate() {
            self.place = ("SELECT list", n + 1);
            match item {
                ast::SelectItem::Wildcard(_) => {
                    if has_agg {
                        for (i, c) in scope.cols.iter().enumerate() {
                            proj_exprs.push(self.agg_column(Expr::Column(i))?);
                            columns.push(c.meta.clone());
                        }
                    } else {
                        for (i, c) in bind_scope.cols.iter().enumerate() {
                            proj_exprs.push(Expr::Column(i));
                            columns.push(c.meta.clone());
                        }
                    }
                }
                ast::SelectItem::QualifiedWildcard(kind, _) => {
                    let t = match kind {
                        ast::SelectItemQualifiedWildcardKind::ObjectName(n) => {
                            ident_names(n).last().cloned().unwrap_or_default()
                        }
                        ast::SelectItemQualifiedWildcardKind::Expr(e) => e.to_string(),
                    };
                    let mut any = false;
                    for (i, c) in scope.cols.iter().enumerate() {
                        if c.table.eq_ignore_ascii_case(&t) {
                            any = true;
                            proj_exprs.push(if has_agg {
                                self.agg_column(Expr::Column(i))?
                            } else {
                                Expr::Column(i)
                            });
                            columns.push(c.meta.clone());
                        }
                    }
                    if !any {
                        return Err(Error::new(
                            code::ER_BAD_TABLE,
                            format!("Unknown table '{t}'"),
                        ));
                    }
                }
                ast::SelectItem::UnnamedExpr(e) => {
                    let bound = self.bind_expr_in(e, &bind_scope, "field list")?;
                    let name = self.text_of(e.span(), e.to_string());
                    let name = match e {
                        ast::Expr::Identifier(i) if !i.value.starts_with('@') => i.value.clone(),
                        ast::Expr::CompoundIdentifier(v) if !v[0].value.starts_with('@') => {
                            v.last().map(|i| i.value.clone()).unwrap_or(name)
                        }
                        ast::Expr::Value(v) => match &v.value {
                            ast::Value::SingleQuotedString(s)
                            | ast::Value::DoubleQuotedString(s) => s.clone(),
                            _ => name,
                        },
                        _ => name,
                    };
                    columns.push(self.column_meta(&bound, &bind_scope, name));
                    proj_exprs.push(bound);
                }
                ast::SelectItem::ExprWithAlias { expr, alias } => {
                    let bound = self.bind_expr_in(expr, &bind_scope, "field list")?;
                    let mut meta = self.column_meta(&bound, &bind_scope, alias.value.clone());
                    meta.name = alias.value.clone();
                    columns.push(meta);
                    proj_exprs.push(bound);
                }
                ast::SelectItem::ExprWithAliases { .. } => {
                    return Err(Error::unsupported("multiple aliases"))
                }
            }
        }
        for (i, (a, _)) in alias_asts.iter().enumerate() {
            let pos = sel.projection.iter().position(
                |p| matches!(p, ast::SelectItem::ExprWithAlias { alias, .. } if alias.value == *a),
            );
            if let (Some(pos), Some((_, e))) = (pos, alias_asts.get(i)) {
                self.aliases.push((a.clone(), pos, e.clone()));
            }
        }

        // HAVING.
        self.place = ("HAVING clause", 1);
        let having = match &sel.having {
            Some(h) => {
                Some(self.bind_with_aliases(h, &bind_scope, "having clause", &proj_exprs)?)
            }
            None => None,
        };

        // ORDER BY keys: positions and aliases refer to output columns; other
        // expressions are computed as hidden columns.
        let visible = proj_exprs.len();
        let mut sort_keys: Vec<(Expr, bool)> = Vec::new();
        for (n, o) in order.iter().enumerate() {
            self.place = ("ORDER BY clause", n + 1);
            let desc = o.options.sort == Some(ast::OrderBySort::Desc);
            let key = match &o.expr {
                ast::Expr::Value(v) if matches!(v.value, ast::Value::Number(..)) => {
                    let n = literal_usize(&v.value).unwrap_or(0);
                    if n == 0 || n > visible {
                        return Err(Error::new(
                            code::ER_BAD_FIELD,
                            format!("Unknown column '{n}' in 'order clause'"),
                        ));
                    }
                    Expr::Column(n - 1)
                }
                ast::Expr::Identifier(id)
                    if self
                        .aliases
                        .iter()
                        .any(|(a, _, _)| a.eq_ignore_ascii_case(&id.value))
                        && bind_scope_lacks(&bind_scope, &id.value, has_agg) =>
                {
                    let (pos, target) = self
                        .aliases
                        .iter()
                        .find(|(a, _, _)| a.eq_ignore_ascii_case(&id.value))
                        .map(|(_, p, e)| (*p, e.clone()))
                        .expect("alias exists");
                    if self.enum_members(&target, &scope).is_some() {
                        // The alias of an ENUM/SET column sorts as the column does.
                        let b = self.bind_expr_in(&target, &bind_scope, "order clause")?;
                        proj_exprs.push(self.enum_numeric(&target, b, &scope));
                        Expr::Column(proj_exprs.len() - 1)
                    } else {
                        Expr::Column(pos)
                    }
                }
                // An ENUM/SET column sorts by its index / bit mask, not its text.
                other if self.enum_members(other, &scope).is_some() => {
                    let b = self.bind_expr_in(other, &bind_scope, "order clause")?;
                    proj_exprs.push(self.enum_numeric(other, b, &scope));
                    Expr::Column(proj_exprs.len() - 1)
                }
                other => {
                    // The same expression as a select item?
                    if let Some(pos) = sel.projection.iter().position(|p| match p {
                        ast::SelectItem::UnnamedExpr(e)
                        | ast::SelectItem::ExprWithAlias { expr: e, .. } => e == other,
                        _ => false,
                    }) {
                        Expr::Column(pos)
                    } else {
                        let b = self.bind_expr_in(other, &bind_scope, "order clause")?;
                        proj_exprs.push(b);
                        Expr::Column(proj_exprs.len() - 1)
                    }
                }
            };
            sort_keys.push((key, desc));
        }

        // Window outputs follow the (post-aggregation) input row.
        if has_win {
            let base = match &self.agg {
                Some(a) => a.group_bound.len() + a.aggs.len(),
                None => bind_scope.width(),
            };
            let fix = |i: usize| {
                if i >= WIN_MARK {
                    base + (i - WIN_MARK)
                } else {
                    i
                }
            };
            proj_exprs = proj_exprs
                .iter()
                .map(|e| crate::sql::from::remap(e, &fix))
                .collect();
        }
        // Assemble: aggregate, having, window, project, distinct, sort, limit.
        if let Some(ctx) = self.agg.take() {
            plan = Plan::Aggregate {
                input: Box::new(plan),
                group_by: ctx.group_bound,
                aggs: ctx.aggs,
                rollup,
            };
        }
        if let Some(h) = having {
            plan = Plan::Filter(Box::new(plan), h);
        }
        if let Some(w) = self.win.take() {
            if !w.calls.is_empty() {
                plan = Plan::Window {
                    input: Box::new(plan),
                    calls: w.calls,
                };
            }
        }
        plan = Plan::Project(Box::new(plan), proj_exprs.clone());
        let distinct = matches!(sel.distinct, Some(ast::Distinct::Distinct));
        if distinct {
            if proj_exprs.len() > visible {
                plan = Plan::Truncate(Box::new(plan), visible);
                // Sorting by hidden columns after DISTINCT is not possible; MySQL rejects
                // it too (3065) unless the key is in the select list.
                sort_keys.retain(|(k, _)| matches!(k, Expr::Column(i) if *i < visible));
            }
            plan = Plan::Distinct(Box::new(plan));
        }
        if !sort_keys.is_empty() {
            plan = Plan::Sort(Box::new(plan), sort_keys);
        }
        if limit.is_some() || offset.is_some() {
            let empty = Scope::default();
            let limit = limit
                .map(|l| self.bind_expr_in(l, &empty, "LIMIT"))
                .transpose()?;
            let offset = offset
                .map(|l| self.bind_expr_in(l, &empty, "LIMIT"))
                .transpose()?;
            // LIMIT without ORDER BY/DISTINCT/aggregation over one table: the scan can stop
            // after limit + offset rows (through a pushed-down filter too).
            if let (Some(l), false) = (&limit, distinct) {
                let stop = match &offset {
                    Some(o) => Expr::Arith(BinOp::Add, Box::new(l.clone()), Box::new(o.clone())),
                    None => l.clone(),
                };
                push_limit(&mut plan, stop);
            }
            plan = Plan::Limit {
                input: Box::new(plan),
                limit,
                offset,
            };
        }
        if proj_exprs.len() > visible && !distinct {
            plan = Plan::Truncate(Box::new(plan), visible);
        }
        self.agg = saved_agg;
        self.win = saved_win;
        self.aliases = saved_aliases;
        let _ = cur_scope;
        let plan = crate::sql::optimize::query_block(plan);
        Ok(BoundQuery { plan, columns })
    }

    /// HAVING may use select aliases; bind with them substituted.
    fn bind_with_aliases(
        &mut self,
        e: &ast::Expr,
        scope: &Scope,
        ctx: &str,
        _proj: &[Expr],
    ) -> Result<Expr> {
        let substituted = substitute_aliases(e, &self.aliases, scope);
        self.bind_expr_in(&substituted, scope, ctx)
    }

    /// In aggregate mode, a bare column reference becomes a group column or ANY_VALUE.
    fn agg_column(&mut self, col: Expr) -> Result<Expr> {
        let ctx = self.agg.as_mut().expect("agg mode");
        if let Expr::Column(c) = &col {
            return grouped_ref(ctx, *c, self.any_value_depth > 0, self.place).map(Expr::Column);
        }
        Ok(Expr::Column(push_any_value(ctx, col)))
    }

    /// Result metadata for an output expression.
    fn column_meta(&self, e: &Expr, scope: &Scope, name: String) -> Column {
        if let Expr::Column(i) = e {
            match &self.agg {
                None => {
                    if let Some(c) = scope.cols.get(*i) {
                        let mut m = c.meta.clone();
                        m.name = name;
                        return m;
                    }
                }
                Some(agg) => {
                    if let Some(m) = grouped_column_meta(agg, *i) {
                        return Column { name, ..m };
                    }
                }
            }
        }
        if let Some((ty, fsp)) = temporal_fsp(e) {
            // DATETIME(fsp)/TIME(fsp) results print exactly fsp fractional digits.
            let mut c = Column::computed(name, ty);
            c.decimals = fsp;
            if fsp > 0 {
                c.length += fsp as u32 + 1;
            }
            return c;
        }
        let ty = infer_type(e);
        Column::computed(name, ty)
    }

    // ------------------------------------------------------------ expressions

    pub fn bind_expr_in(&mut self, e: &ast::Expr, scope: &Scope, ctx: &str) -> Result<Expr> {
        self.bind_expr(e, scope, ctx)
    }

    fn resolve_column(
        &mut self,
        table: Option<&str>,
        name: &str,
        scope: &Scope,
        ctx: &str,
    ) -> Result<Expr> {
        if let Some(agg) = &self.agg {
            // After GROUP BY: a column that is a group expression, else ANY_VALUE(col).
            let input = agg.input.clone();
            if let Some(i) = input.find(table, name)? {
                return self.agg_column(Expr::Column(i));
            }
        } else if let Some(i) = scope.find(table, name)? {
            return Ok(Expr::Column(i));
        }
        // Correlated reference to an enclosing query.
        let mut found = None;
        for (depth, s) in self.outer.iter().rev().enumerate() {
            if let Some(i) = s.find(table, name)? {
                found = Some((depth, i));
                break;
            }
        }
        if let Some((depth, i)) = found {
            let up = depth + 1;
            if let Some(c) = self.corr.last_mut() {
                *c = (*c).max(up);
            }
            // An aggregated enclosing query evaluates the subquery on its grouped rows.
            let level = self.outer.len() - up;
            let i = match self.outer_aggs.get_mut(level) {
                Some(Some(agg)) => grouped_ref(agg, i, self.any_value_depth > 0, self.place)?,
                _ => i,
            };
            return Ok(Expr::Outer(up, i));
        }
        // A select alias (MySQL allows them in GROUP BY/HAVING/ORDER BY).
        if table.is_none() {
            if let Some((_, _, ast_e)) = self
                .aliases
                .iter()
                .find(|(a, _, _)| a.eq_ignore_ascii_case(name))
                .cloned()
            {
                return self.bind_expr(&ast_e, scope, ctx);
            }
        }
        let full = match table {
            Some(t) => format!("{t}.{name}"),
            None => name.to_string(),
        };
        Err(Error::bad_field(&full, ctx))
    }

    fn bind_subquery(&mut self, q: &ast::Query, scope: &Scope) -> Result<Arc<SubQuery>> {
        let cur = if let Some(agg) = &self.agg {
            agg.input.clone()
        } else {
            scope.clone()
        };
        self.outer.push(cur);
        self.corr.push(0);
        let saved_agg = self.agg.take();
        self.outer_aggs.push(saved_agg);
        let saved_win = self.win.take();
        let saved_aliases = std::mem::take(&mut self.aliases);
        let saved_place = self.place;
        let r = self.bind_query(q);
        self.place = saved_place;
        self.agg = self.outer_aggs.pop().flatten();
        self.win = saved_win;
        self.aliases = saved_aliases;
        let depth = self.corr.pop().unwrap_or(0);
        self.outer.pop();
        let bq = r?;
        if depth > 1 {
            if let Some(c) = self.corr.last_mut() {
                *c = (*c).max(depth - 1);
            }
        }
        let id = self.fresh_id();
        Ok(Arc::new(SubQuery {
            plan: bq.plan,
            correlated: depth > 0,
            id,
        }))
    }

    fn bind_expr(&mut self, e: &ast::Expr, scope: &Scope, ctx: &str) -> Result<Expr> {
        use ast::Expr as A;
        // After GROUP BY, a whole group expression maps to its group column.
        if let Some(agg) = &self.agg {
            if let Some(i) = agg.group_asts.iter().position(|g| g == e) {
                if !matches!(e, A::Value(_)) {
                    return Ok(Expr::Column(i));
                }
            }
        }
        Ok(match e {
            A::Identifier(id) => {
                let v = &id.value;
                if let Some(rest) = v.strip_prefix("@@") {
                    return Ok(sysvar_ref(rest));
                }
                if let Some(rest) = v.strip_prefix('@') {
                    return Ok(Expr::UserVar(lc(
                        rest.trim_matches(|c| c == '`' || c == '\'' || c == '"')
                    )));
                }
                if id.quote_style == Some('"') {
                    // A double-quoted string (ANSI_QUOTES off): a string literal.
                    return Ok(Expr::Literal(Value::Str(v.clone())));
                }
                self.resolve_column(None, v, scope, ctx)?
            }
            A::CompoundIdentifier(parts) => {
                let names: Vec<&str> = parts.iter().map(|i| i.value.as_str()).collect();
                if names[0].starts_with("@@") {
                    let scope_kw = names[0].trim_start_matches('@').to_ascii_lowercase();
                    let global = scope_kw == "global";
                    let var = names[1..].join(".");
                    return Ok(Expr::SysVar(lc(&var), global));
                }
                match names.as_slice() {
                    [t, c] => self.resolve_column(Some(t), c, scope, ctx)?,
                    [_db, t, c] => self.resolve_column(Some(t), c, scope, ctx)?,
                    _ => return Err(Error::bad_field(&e.to_string(), ctx)),
                }
            }
            A::Value(v) => match &v.value {
                ast::Value::Placeholder(p) if p.len() > 1 && p.starts_with('?') => {
                    let n: usize = p[1..].parse().map_err(|_| Error::parse(p))?;
                    Expr::Param(n - 1)
                }
                other => Expr::Literal(self.literal(other)?),
            },
            A::TypedString(ts) => {
                let s = match &ts.value.value {
                    ast::Value::SingleQuotedString(s) | ast::Value::DoubleQuotedString(s) => {
                        s.clone()
                    }
                    other => other.to_string(),
                };
                // A temporal literal's precision is the digits it is written with.
                let fsp = s
                    .rsplit_once('.')
                    .map(|(_, f)| f.bytes().take_while(u8::is_ascii_digit).count().min(6))
                    .unwrap_or(0) as u8;
                let to = match &ts.data_type {
                    ast::DataType::Date => CastType::Date,
                    ast::DataType::Time(..) => CastType::Time(fsp),
                    ast::DataType::Timestamp(..) | ast::DataType::Datetime(_) => {
                        CastType::DateTime(fsp)
                    }
                    _ => CastType::Char(None),
                };
                Expr::Cast(Box::new(Expr::Literal(Value::Str(s))), to)
            }
            A::Nested(inner) => self.bind_expr(inner, scope, ctx)?,
            A::IsNull(a) => Expr::IsNull(Box::new(self.bind_expr(a, scope, ctx)?), false),
            A::IsNotNull(a) => Expr::IsNull(Box::new(self.bind_expr(a, scope, ctx)?), true),
            A::IsTrue(a) => Expr::IsBool(Box::new(self.bind_expr(a, scope, ctx)?), true, false),
            A::IsNotTrue(a) => Expr::IsBool(Box::new(self.bind_expr(a, scope, ctx)?), true, true),
            A::IsFalse(a) => Expr::IsBool(Box::new(self.bind_expr(a, scope, ctx)?), false, false),
            A::IsNotFalse(a) => Expr::IsBool(Box::new(self.bind_expr(a, scope, ctx)?), false, true),
            A::IsUnknown(a) => Expr::IsNull(Box::new(self.bind_expr(a, scope, ctx)?), false),
            A::IsNotUnknown(a) => Expr::IsNull(Box::new(self.bind_expr(a, scope, ctx)?), true),
            A::IsDistinctFrom(a, b) => Expr::Not(Box::new(Expr::Cmp(
                CmpOp::NullSafeEq,
                Box::new(self.bind_expr(a, scope, ctx)?),
                Box::new(self.bind_expr(b, scope, ctx)?),
            ))),
            A::IsNotDistinctFrom(a, b) => Expr::Cmp(
                CmpOp::NullSafeEq,
                Box::new(self.bind_expr(a, scope, ctx)?),
                Box::new(self.bind_expr(b, scope, ctx)?),
            ),
            A::Between {
                expr,
                negated,
                low,
                high,
            } => {
                let coll = self.comparison_collation(&[expr, low, high], scope, "between")?;
                let w = |x: Expr| Box::new(collate(x, coll));
                Expr::Between {
                    expr: w(self.bind_expr(expr, scope, ctx)?),
                    lo: w(self.bind_expr(low, scope, ctx)?),
                    hi: w(self.bind_expr(high, scope, ctx)?),
                    negated: *negated,
                }
            }
            A::In {
                expr,
                target,
                negated,
                ..
            } => {
                let x = Box::new(self.bind_expr(expr, scope, ctx)?);
                match target {
                    ast::InTarget::List(list) => {
                        if let Expr::Row(items) = x.as_ref() {
                            // (a, b) IN ((1, 2), (3, 4)): an OR of row equalities.
                            let mut acc: Option<Expr> = None;
                            for l in list {
                                let r = self.bind_expr(l, scope, ctx)?;
                                let eq = row_eq(items, &r)?;
                                acc = Some(match acc {
                                    None => eq,
                                    Some(a) => Expr::Or(Box::new(a), Box::new(eq)),
                                });
                            }
                            let e = acc.unwrap_or(Expr::Literal(Value::Int(0)));
                            return Ok(if *negated { Expr::Not(Box::new(e)) } else { e });
                        }
                        let mut items = Vec::new();
                        for l in list {
                            items.push(self.bind_expr(l, scope, ctx)?);
                        }
                        let mut operands = vec![expr.as_ref()];
                        operands.extend(list.iter());
                        let coll = self.comparison_collation(&operands, scope, "in")?;
                        let x = if coll.is_some() {
                            items = items.into_iter().map(|i| collate(i, coll)).collect();
                            Box::new(collate(*x, coll))
                        } else {
                            x
                        };
                        Expr::InList {
                            expr: x,
                            list: items,
                            negated: *negated,
                        }
                    }
                    ast::InTarget::Subquery(q) => Expr::InSubquery {
                        expr: Box::new(collate(
                            *x,
                            self.comparison_collation(&[expr], scope, "in")?,
                        )),
                        query: self.bind_subquery(q, scope)?,
                        negated: *negated,
                    },
                    _ => return Err(Error::unsupported(e.to_string())),
                }
            }
            A::AnyOp {
                left,
                compare_op,
                right,
                ..
            }
            | A::AllOp {
                left,
                compare_op,
                right,
            } => {
                let all = matches!(e, A::AllOp { .. });
                let q = match right.as_ref() {
                    A::Subquery(q) => q,
                    _ => return Err(Error::unsupported(e.to_string())),
                };
                let op = match compare_op {
                    ast::BinaryOperator::Eq => CmpOp::Eq,
                    ast::BinaryOperator::NotEq => CmpOp::Ne,
                    ast::BinaryOperator::Lt => CmpOp::Lt,
                    ast::BinaryOperator::LtEq => CmpOp::Le,
                    ast::BinaryOperator::Gt => CmpOp::Gt,
                    ast::BinaryOperator::GtEq => CmpOp::Ge,
                    _ => return Err(Error::unsupported(e.to_string())),
                };
                let coll = self.comparison_collation(&[left], scope, &compare_op.to_string())?;
                Expr::Quantified {
                    expr: Box::new(collate(self.bind_expr(left, scope, ctx)?, coll)),
                    op,
                    query: self.bind_subquery(q, scope)?,
                    all,
                }
            }
            A::Exists { subquery, negated } => Expr::Exists {
                query: self.bind_subquery(subquery, scope)?,
                negated: *negated,
            },
            A::Subquery(q) => Expr::Subquery(self.bind_subquery(q, scope)?),
            A::Like {
                negated,
                expr,
                pattern,
                escape_char,
                ..
            }
            | A::ILike {
                negated,
                expr,
                pattern,
                escape_char,
                ..
            } => {
                let esc = match escape_char {
                    Some(e) => match e.as_ref() {
                        A::Value(v) => match &v.value {
                            ast::Value::SingleQuotedString(s) => s.chars().next(),
                            _ => None,
                        },
                        _ => None,
                    },
                    None => None,
                };
                let coll = self.comparison_collation(&[expr, pattern], scope, "like")?;
                Expr::Like {
                    expr: Box::new(collate(self.bind_expr(expr, scope, ctx)?, coll)),
                    pattern: Box::new(collate(self.bind_expr(pattern, scope, ctx)?, coll)),
                    escape: esc,
                    negated: *negated,
                }
            }
            A::RLike {
                negated,
                expr,
                pattern,
                ..
            } => Expr::Regexp {
                expr: Box::new(self.bind_expr(expr, scope, ctx)?),
                pattern: Box::new(self.bind_expr(pattern, scope, ctx)?),
                negated: *negated,
            },
            A::UnaryOp { op, expr } => {
                let x = self.bind_expr(expr, scope, ctx)?;
                match op {
                    ast::UnaryOperator::Minus => match self.enum_numeric(expr, x, scope) {
                        Expr::Literal(Value::Int(i)) if i != i64::MIN => {
                            Expr::Literal(Value::Int(-i))
                        }
                        Expr::Literal(Value::UInt(u)) if u == 1u64 << 63 => {
                            Expr::Literal(Value::Int(i64::MIN))
                        }
                        Expr::Literal(Value::Decimal(d)) => Expr::Literal(Value::Decimal(-d)),
                        Expr::Literal(Value::Double(d)) => Expr::Literal(Value::Double(-d)),
                        other => Expr::Neg(Box::new(other)),
                    },
                    ast::UnaryOperator::Plus => x,
                    ast::UnaryOperator::Not | ast::UnaryOperator::BangNot => Expr::Not(Box::new(x)),
                    ast::UnaryOperator::BitwiseNot => Expr::BitNot(Box::new(x)),
                    _ => return Err(Error::unsupported(e.to_string())),
                }
            }
            A::BinaryOp { left, op, right } => self.bind_binary(left, op, right, scope, ctx)?,
            A::Case {
                operand,
                conditions,
                else_result,
                ..
            } => {
                let operand = operand
                    .as_ref()
                    .map(|o| self.bind_expr(o, scope, ctx))
                    .transpose()?
                    .map(Box::new);
                let mut whens = Vec::new();
                for c in conditions {
                    whens.push((
                        self.bind_expr(&c.condition, scope, ctx)?,
                        self.bind_expr(&c.result, scope, ctx)?,
                    ));
                }
                let else_ = else_result
                    .as_ref()
                    .map(|x| self.bind_expr(x, scope, ctx))
                    .transpose()?
                    .map(Box::new);
                Expr::Case {
                    operand,
                    whens,
                    else_,
                }
            }
            A::Cast {
                expr, data_type, ..
            } => Expr::Cast(
                Box::new(self.bind_expr(expr, scope, ctx)?),
                cast_type(data_type)?,
            ),
            A::Convert {
                expr,
                data_type,
                charset,
                ..
            } => {
                let x = self.bind_expr(expr, scope, ctx)?;
                match data_type {
                    Some(dt) => Expr::Cast(Box::new(x), cast_type(dt)?),
                    None => {
                        let cs = charset
                            .as_ref()
                            .map(|c| c.to_string().to_lowercase())
                            .unwrap_or_default();
                        if cs == "binary" {
                            Expr::Cast(Box::new(x), CastType::Binary(None))
                        } else {
                            Expr::Cast(Box::new(x), CastType::Char(None))
                        }
                    }
                }
            }
            A::Extract { field, expr, .. } => {
                let unit = datetime_field_name(field);
                Expr::Func(
                    "extract".into(),
                    vec![
                        Expr::Literal(Value::Str(unit)),
                        self.bind_expr(expr, scope, ctx)?,
                    ],
                )
            }
            A::Ceil { expr, .. } => {
                Expr::Func("ceil".into(), vec![self.bind_expr(expr, scope, ctx)?])
            }
            A::Floor { expr, .. } => {
                Expr::Func("floor".into(), vec![self.bind_expr(expr, scope, ctx)?])
            }
            A::Position { expr, r#in } => Expr::Func(
                "locate".into(),
                vec![
                    self.bind_expr(expr, scope, ctx)?,
                    self.bind_expr(r#in, scope, ctx)?,
                ],
            ),
            A::Substring {
                expr,
                substring_from,
                substring_for,
                ..
            } => {
                let mut args = vec![self.bind_expr(expr, scope, ctx)?];
                args.push(match substring_from {
                    Some(f) => self.bind_expr(f, scope, ctx)?,
                    None => Expr::Literal(Value::Int(1)),
                });
                if let Some(f) = substring_for {
                    args.push(self.bind_expr(f, scope, ctx)?);
                }
                Expr::Func("substring".into(), args)
            }
            A::Trim {
                trim_where,
                trim_what,
                expr,
                trim_characters,
            } => {
                let s = self.bind_expr(expr, scope, ctx)?;
                let what = match (trim_what, trim_characters) {
                    (Some(w), _) => Some(self.bind_expr(w, scope, ctx)?),
                    (None, Some(cs)) if !cs.is_empty() => Some(self.bind_expr(&cs[0], scope, ctx)?),
                    _ => None,
                };
                let name = match trim_where {
                    Some(ast::TrimWhereField::Leading) => "trim_leading",
                    Some(ast::TrimWhereField::Trailing) => "trim_trailing",
                    Some(ast::TrimWhereField::Both) => "trim_both",
                    None => {
                        if what.is_some() {
                            "trim_both"
                        } else {
                            "trim"
                        }
                    }
                };
                let mut args = vec![s];
                if let Some(w) = what {
                    args.push(w);
                } else if name != "trim" {
                    args.push(Expr::Literal(Value::Str(" ".into())));
                }
                Expr::Func(name.into(), args)
            }
            A::Collate { expr, collation } => {
                let x = self.bind_expr(expr, scope, ctx)?;
                let c = Collation::from_name(&collation.to_string())?;
                if c == Collation::BINARY {
                    Expr::Binary(Box::new(x))
                } else {
                    Expr::Collate(Box::new(x), c)
                }
            }
            A::Tuple(items) => {
                let mut v = Vec::new();
                for i in items {
                    v.push(self.bind_expr(i, scope, ctx)?);
                }
                Expr::Row(v)
            }
            A::Interval(_) => return Err(Error::parse(e.to_string())),
            A::Function(f) => self.bind_function(f, scope, ctx)?,
            A::Prefixed { prefix, value } => {
                let x = self.bind_expr(value, scope, ctx)?;
                let p = prefix.value.to_lowercase();
                if p == "_binary" {
                    Expr::Binary(Box::new(x))
                } else {
                    x
                }
            }
            A::JsonAccess { .. } => return Err(Error::unsupported(e.to_string())),
            A::MemberOf(_) => return Err(Error::unsupported("MEMBER OF")),
            A::Wildcard(_) => return Err(Error::parse("*")),
            _ => return Err(Error::unsupported(e.to_string())),
        })
    }

    fn literal(&self, v: &ast::Value) -> Result<Value> {
        Ok(match v {
            ast::Value::Number(s, _) => parse_number_literal(s),
            ast::Value::SingleQuotedString(s) | ast::Value::DoubleQuotedString(s) => {
                Value::Str(s.clone())
            }
            ast::Value::EscapedStringLiteral(s) | ast::Value::NationalStringLiteral(s) => {
                Value::Str(s.clone())
            }
            ast::Value::HexStringLiteral(h) => Value::Bytes(decode_hex(h)?),
            ast::Value::SingleQuotedByteStringLiteral(s)
            | ast::Value::DoubleQuotedByteStringLiteral(s) => {
                // b'0101': a bit-value literal.
                let mut n: u64 = 0;
                for c in s.chars() {
                    n = n.checked_mul(2).ok_or_else(|| Error::parse(s))?
                        + if c == '1' { 1 } else { 0 };
                }
                let nbytes = s.len().div_ceil(8).max(1);
                Value::Bytes(n.to_be_bytes()[8 - nbytes..].to_vec())
            }
            ast::Value::Boolean(b) => Value::Int(*b as i64),
            ast::Value::Null => Value::Null,
            ast::Value::Placeholder(p) => {
                return Err(Error::internal(format!("unnumbered placeholder {p}")));
            }

            other => return Err(Error::unsupported(other.to_string())),
        })
    }

    fn bind_binary(
        &mut self,
        left: &ast::Expr,
        op: &ast::BinaryOperator,
        right: &ast::Expr,
        scope: &Scope,
        ctx: &str,
    ) -> Result<Expr> {
        use ast::BinaryOperator as B;
        // INTERVAL arithmetic: d + INTERVAL n unit, INTERVAL n unit + d, d - INTERVAL ...
        if matches!(op, B::Plus | B::Minus) {
            if let ast::Expr::Interval(iv) = right {
                let (interval, unit) = self.bind_interval(iv, scope, ctx)?;
                return Ok(Expr::DateAdd {
                    expr: Box::new(self.bind_expr(left, scope, ctx)?),
                    interval: Box::new(interval),
                    unit,
                    negate: matches!(op, B::Minus),
                });
            }
            if let (ast::Expr::Interval(iv), B::Plus) = (left, op) {
                let (interval, unit) = self.bind_interval(iv, scope, ctx)?;
                return Ok(Expr::DateAdd {
                    expr: Box::new(self.bind_expr(right, scope, ctx)?),
                    interval: Box::new(interval),
                    unit,
                    negate: false,
                });
            }
        }
        if matches!(op, B::Assignment) {
            // @var := expr assigns and yields the value (see ASSIGN_USER_VAR).
            let name = match left {
                ast::Expr::Identifier(id)
                    if id.value.starts_with('@') && !id.value.starts_with("@@") =>
                {
                    lc(id.value[1..].trim_matches(|c| c == '`' || c == '\'' || c == '"'))
                }
                _ => return Err(Error::parse(format!(":= {right}"))),
            };
            let value = self.bind_expr(right, scope, ctx)?;
            return Ok(Expr::Func(
                ASSIGN_USER_VAR.into(),
                vec![Expr::Literal(Value::Str(name)), value],
            ));
        }
        let mut l = self.bind_expr(left, scope, ctx)?;
        let mut r = self.bind_expr(right, scope, ctx)?;
        let arith = matches!(
            op,
            B::Plus
                | B::Minus
                | B::Multiply
                | B::Divide
                | B::Modulo
                | B::MyIntegerDivide
                | B::BitwiseAnd
                | B::BitwiseOr
                | B::BitwiseXor
                | B::PGBitwiseShiftLeft
                | B::PGBitwiseShiftRight
        );
        if arith {
            // Hex and bit literals are binary strings, but numbers in numeric context.
            for x in [&mut l, &mut r] {
                if let Expr::Literal(Value::Bytes(bytes)) = x {
                    if bytes.len() <= 8 {
                        let n = bytes.iter().fold(0u64, |a, &c| (a << 8) | c as u64);
                        *x = Expr::Literal(Value::UInt(n));
                    }
                }
            }
        }
        // ENUM/SET columns are numbers (index, bit mask) in arithmetic and when compared
        // with a number.
        let numeric_literal = |x: &Expr| matches!(x, Expr::Literal(v) if v.is_numeric());
        let cmp = matches!(
            op,
            B::Eq | B::NotEq | B::Lt | B::LtEq | B::Gt | B::GtEq | B::Spaceship
        );
        if arith || (cmp && numeric_literal(&r)) {
            l = self.enum_numeric(left, l, scope);
        }
        if arith || (cmp && numeric_literal(&l)) {
            r = self.enum_numeric(right, r, scope);
        }
        let b = |x: Expr| Box::new(x);
        Ok(match op {
            B::Plus => Expr::Arith(BinOp::Add, b(l), b(r)),
            B::Minus => Expr::Arith(BinOp::Sub, b(l), b(r)),
            B::Multiply => Expr::Arith(BinOp::Mul, b(l), b(r)),
            B::Divide => Expr::Arith(BinOp::Div, b(l), b(r)),
            B::Modulo => Expr::Arith(BinOp::Mod, b(l), b(r)),
            B::MyIntegerDivide | B::DuckIntegerDivide => Expr::Arith(BinOp::IntDiv, b(l), b(r)),
            B::BitwiseAnd => Expr::Arith(BinOp::BitAnd, b(l), b(r)),
            B::BitwiseOr => Expr::Arith(BinOp::BitOr, b(l), b(r)),
            B::BitwiseXor | B::PGBitwiseXor => Expr::Arith(BinOp::BitXor, b(l), b(r)),
            B::PGBitwiseShiftLeft => Expr::Arith(BinOp::Shl, b(l), b(r)),
            B::PGBitwiseShiftRight => Expr::Arith(BinOp::Shr, b(l), b(r)),
            B::And => Expr::And(b(l), b(r)),
            B::Or => Expr::Or(b(l), b(r)),
            B::Xor => Expr::Xor(b(l), b(r)),
            B::StringConcat => Expr::Or(b(l), b(r)),
            B::Eq | B::NotEq | B::Lt | B::LtEq | B::Gt | B::GtEq | B::Spaceship => {
                let cop = match op {
                    B::Eq => CmpOp::Eq,
                    B::NotEq => CmpOp::Ne,
                    B::Lt => CmpOp::Lt,
                    B::LtEq => CmpOp::Le,
                    B::Gt => CmpOp::Gt,
                    B::GtEq => CmpOp::Ge,
                    _ => CmpOp::NullSafeEq,
                };
                match (&l, &r) {
                    (Expr::Row(a), Expr::Row(bb)) => row_cmp(cop, a, bb)?,
                    _ => {
                        let coll =
                            self.comparison_collation(&[left, right], scope, &op.to_string())?;
                        Expr::Cmp(cop, b(collate(l, coll)), b(collate(r, coll)))
                    }
                }
            }
            B::Regexp => Expr::Regexp {
                expr: b(l),
                pattern: b(r),
                negated: false,
            },
            B::Arrow | B::LongArrow => Expr::JsonExtract {
                doc: b(l),
                path: b(r),
                unquote: matches!(op, B::LongArrow),
            },
            _ => return Err(Error::unsupported(format!("operator {op}"))),
        })
    }

    /// `bound` (the binding of `e`) as a number when `e` names an ENUM or SET column:
    /// the member index or the bit mask, as MySQL reads those types in numeric context.
    fn enum_numeric(&self, e: &ast::Expr, bound: Expr, scope: &Scope) -> Expr {
        let Some((set, members)) = self.enum_members(e, scope) else {
            return bound;
        };
        let name = if set {
            functions::SET_NUMBER
        } else {
            functions::ENUM_NUMBER
        };
        let mut args = vec![bound];
        args.extend(members.into_iter().map(|m| Expr::Literal(Value::Str(m))));
        Expr::Func(name.into(), args)
    }

    /// The table column `e` names in `scope` (a plain or qualified column reference).
    fn column_def(&self, e: &ast::Expr, scope: &Scope) -> Option<&'a crate::catalog::ColumnDef> {
        let (table, name) = match e {
            ast::Expr::Identifier(id) => (None, &id.value),
            ast::Expr::CompoundIdentifier(p) if p.len() >= 2 => {
                (Some(p[p.len() - 2].value.as_str()), &p[p.len() - 1].value)
            }
            ast::Expr::Nested(inner) => return self.column_def(inner, scope),
            _ => return None,
        };
        let i = scope.find(table, name).ok().flatten()?;
        let meta = &scope.cols[i].meta;
        let def = self.catalog.table(&meta.schema, &meta.org_table)?;
        def.columns.get(def.column_index(&meta.org_name)?)
    }

    /// The collation of text expression `e` and its coercibility (MySQL's: 0 explicit
    /// `COLLATE`, 2 a column; lower binds harder), or None when it has no collation of
    /// its own (literals, numbers: coercible, they take the other operand's).
    fn derive_collation(&self, e: &ast::Expr, scope: &Scope) -> Result<Option<(Collation, u8)>> {
        Ok(match e {
            ast::Expr::Collate { collation, .. } => {
                Some((Collation::from_name(&collation.to_string())?, 0))
            }
            ast::Expr::Nested(inner) => self.derive_collation(inner, scope)?,
            ast::Expr::Identifier(_) | ast::Expr::CompoundIdentifier(_) => self
                .column_def(e, scope)
                .and_then(crate::sql::show::text_collation)
                .map(|c| (c, 2)),
            // String functions keep their arguments' collation (UPPER(c), CONCAT(c, 'x')).
            ast::Expr::Function(f) => {
                let mut acc = None;
                if let ast::FunctionArguments::List(list) = &f.args {
                    for a in &list.args {
                        if let ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(x)) = a {
                            acc =
                                merge_collations(acc, self.derive_collation(x, scope)?, "concat")?;
                        }
                    }
                }
                acc
            }
            _ => None,
        })
    }

    /// The collation a comparison (or LIKE) of `operands` runs under when the binder
    /// must mark it (see [`Expr::Collate`]): any operand's collation other than the
    /// default, or an explicit COLLATE. None: the default collation, unmarked.
    fn comparison_collation(
        &self,
        operands: &[&ast::Expr],
        scope: &Scope,
        op: &str,
    ) -> Result<Option<Collation>> {
        let mut acc = None;
        for o in operands {
            acc = merge_collations(acc, self.derive_collation(o, scope)?, op)?;
        }
        Ok(acc
            .filter(|(c, coercibility)| *c != Collation::DEFAULT || *coercibility == 0)
            .map(|(c, _)| c))
    }

    /// The members of the ENUM (false) or SET (true) column `e` names in `scope`.
    fn enum_members(&self, e: &ast::Expr, scope: &Scope) -> Option<(bool, Vec<String>)> {
        match &self.column_def(e, scope)?.ty {
            crate::catalog::SqlType::Enum(m) => Some((false, m.clone())),
            crate::catalog::SqlType::Set(m) => Some((true, m.clone())),
            _ => None,
        }
    }

    fn bind_interval(
        &mut self,
        iv: &ast::Interval,
        scope: &Scope,
        ctx: &str,
    ) -> Result<(Expr, IntervalUnit)> {
        let unit = match (&iv.leading_field, &iv.last_field) {
            (Some(a), Some(b)) => interval_unit(&format!(
                "{}_{}",
                datetime_field_name(a),
                datetime_field_name(b)
            ))?,
            (Some(a), None) => interval_unit(&datetime_field_name(a))?,
            _ => IntervalUnit::Second,
        };
        Ok((self.bind_expr(&iv.value, scope, ctx)?, unit))
    }

    #[allow(clippy::type_complexity)]
    fn func_args(
        &mut self,
        f: &ast::Function,
        scope: &Scope,
        ctx: &str,
    ) -> Result<(Vec<Expr>, bool, Vec<(Expr, bool)>, String, bool)> {
        let mut args = Vec::new();
        let mut distinct = false;
        let mut order = Vec::new();
        let mut sep = ",".to_string();
        let mut star = false;
        match &f.args {
            ast::FunctionArguments::None => {}
            ast::FunctionArguments::Subquery(q) => {
                args.push(Expr::Subquery(self.bind_subquery(q, scope)?))
            }
            ast::FunctionArguments::List(list) => {
                distinct = matches!(
                    list.duplicate_treatment,
                    Some(ast::DuplicateTreatment::Distinct)
                );
                for a in &list.args {
                    match a {
                        ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(
                            ast::Expr::Interval(iv),
                        )) => {
                            let (e, unit) = self.bind_interval(iv, scope, ctx)?;
                            args.push(e);
                            args.push(Expr::Literal(Value::Str(format!("{unit:?}"))));
                        }
                        ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => {
                            args.push(self.bind_expr(e, scope, ctx)?)
                        }
                        ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Wildcard) => star = true,
                        ast::FunctionArg::Named {
                            arg: ast::FunctionArgExpr::Expr(e),
                            ..
                        } => args.push(self.bind_expr(e, scope, ctx)?),
                        _ => return Err(Error::unsupported(f.to_string())),
                    }
                }
                for c in &list.clauses {
                    match c {
                        ast::FunctionArgumentClause::OrderBy(obs) => {
                            for o in obs {
                                order.push((
                                    self.bind_expr(&o.expr, scope, ctx)?,
                                    o.options.sort == Some(ast::OrderBySort::Desc),
                                ));
                            }
                        }
                        ast::FunctionArgumentClause::Separator(v) => {
                            if let ast::Value::SingleQuotedString(s)
                            | ast::Value::DoubleQuotedString(s) = &v.value
                            {
                                sep = s.clone();
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
        Ok((args, distinct, order, sep, star))
    }

    fn bind_function(&mut self, f: &ast::Function, scope: &Scope, ctx: &str) -> Result<Expr> {
        let name = ident_names(&f.name)
            .last()
            .cloned()
            .unwrap_or_default()
            .to_lowercase();
        // Window function?
        if let Some(over) = &f.over {
            return self.bind_window(&name, f, over, scope, ctx);
        }
        // COLLATION(x), CHARSET(x), COERCIBILITY(x) of an expression with a collation of
        // its own (a text column, COLLATE) are known here; values alone do not carry it.
        if matches!(name.as_str(), "collation" | "charset" | "coercibility") {
            if let ast::FunctionArguments::List(list) = &f.args {
                if let [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(x))] =
                    list.args.as_slice()
                {
                    if let Some((c, coercibility)) = self.derive_collation(x, scope)? {
                        return Ok(Expr::Literal(match name.as_str() {
                            "collation" => Value::Str(c.name().into()),
                            "charset" => Value::Str(c.charset().into()),
                            _ => Value::Int(coercibility as i64),
                        }));
                    }
                }
            }
        }
        if let Some(func) = agg_func(&name) {
            if self.agg.is_none() {
                return Err(Error::new(
                    code::ER_INVALID_GROUP_FUNC_USE,
                    "Invalid use of group function",
                ));
            }
            let input = self.agg.as_ref().expect("agg").input.clone();
            let saved = self.agg.take();
            let r = self.func_args(f, &input, ctx);
            self.agg = saved;
            let (args, distinct, order, separator, star) = r?;
            let func = if func == AggFunc::Count && (star || args.is_empty()) {
                AggFunc::CountStar
            } else {
                func
            };
            let ctx_agg = self.agg.as_mut().expect("agg");
            ctx_agg.aggs.push(AggCall {
                func,
                args,
                distinct,
                order,
                separator,
            });
            return Ok(Expr::Column(
                ctx_agg.group_bound.len() + ctx_agg.aggs.len() - 1,
            ));
        }
        if name == "any_value" {
            // ANY_VALUE(col) is how a query tells ONLY_FULL_GROUP_BY it takes any value.
            self.any_value_depth += 1;
            let r = self.func_args(f, scope, ctx);
            self.any_value_depth -= 1;
            let (args, _, _, _, _) = r?;
            if args.len() == 1 {
                return Ok(args.into_iter().next().expect("1 arg"));
            }
            return Err(Error::new(
                code::ER_WRONG_ARGUMENTS_FN,
                "Incorrect parameter count in the call to native function 'any_value'",
            ));
        }
        if name == "timestampdiff" || name == "timestampadd" {
            // The unit is written as a bare word: TIMESTAMPDIFF(MINUTE, a, b).
            if let ast::FunctionArguments::List(list) = &f.args {
                if let Some(ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(
                    ast::Expr::Identifier(u),
                ))) = list.args.first()
                {
                    let mut all = vec![Expr::Literal(Value::Str(u.value.to_uppercase()))];
                    for a in list.args.iter().skip(1) {
                        if let ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) = a {
                            all.push(self.bind_expr(e, scope, ctx)?);
                        }
                    }
                    return Ok(Expr::Func(name, all));
                }
            }
        }
        if name == "last_insert_id" {
            let (args, _, _, _, _) = self.func_args(f, scope, ctx)?;
            if args.len() == 1 {
                return Ok(Expr::Func(name, args));
            }
        }
        let (args, _, _, _, _) = self.func_args(f, scope, ctx)?;
        let sf = match name.as_str() {
            "database" | "schema" => Some(SessionFn::Database),
            "user" | "session_user" | "system_user" => Some(SessionFn::User),
            "current_user" => Some(SessionFn::CurrentUser),
            "version" => Some(SessionFn::Version),
            "connection_id" => Some(SessionFn::ConnectionId),
            "last_insert_id" if args.is_empty() => Some(SessionFn::LastInsertId),
            "row_count" => Some(SessionFn::RowCount),
            "found_rows" => Some(SessionFn::FoundRows),
            _ => None,
        };
        if let Some(sf) = sf {
            return Ok(Expr::Session(sf));
        }
        match name.as_str() {
            "date_add" | "date_sub" | "adddate" | "subdate" if args.len() == 3 => {
                let unit = match &args[2] {
                    Expr::Literal(Value::Str(u)) => interval_unit_from_debug(u)?,
                    _ => IntervalUnit::Day,
                };
                let mut it = args.into_iter();
                let d = it.next().expect("3 args");
                let n = it.next().expect("3 args");
                return Ok(Expr::DateAdd {
                    expr: Box::new(d),
                    interval: Box::new(n),
                    unit,
                    negate: name == "date_sub" || name == "subdate",
                });
            }
            "any_value" if args.len() == 1 => return Ok(args.into_iter().next().expect("1 arg")),
            _ => {}
        }
        if name == "timestampdiff" || name == "timestampadd" {
            // The unit was parsed as a column name: TIMESTAMPDIFF(MINUTE, a, b).
            if let ast::FunctionArguments::List(list) = &f.args {
                if let Some(ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(
                    ast::Expr::Identifier(u),
                ))) = list.args.first()
                {
                    let mut rest = Vec::new();
                    for a in list.args.iter().skip(1) {
                        if let ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) = a {
                            rest.push(self.bind_expr(e, scope, ctx)?);
                        }
                    }
                    let mut all = vec![Expr::Literal(Value::Str(u.value.to_uppercase()))];
                    all.extend(rest);
                    return Ok(Expr::Func(name, all));
                }
            }
        }
        if name == "default" {
            // DEFAULT(col): the column's default value.
            if let [Expr::Column(i)] = args.as_slice() {
                if let Some(c) = scope.cols.get(*i) {
                    let t = self.catalog.table(&c.meta.schema, &c.meta.org_table);
                    if let Some(col) = t.and_then(|t| {
                        t.column_index(&c.meta.org_name)
                            .map(|ci| t.columns[ci].clone())
                    }) {
                        return Ok(match &col.default {
                            Some(crate::catalog::DefaultValue::Const(_)) => {
                                Expr::Literal(col.default_value().unwrap_or(Value::Null))
                            }
                            Some(crate::catalog::DefaultValue::CurrentTimestamp) => {
                                Expr::Func("now".into(), Vec::new())
                            }
                            None if col.nullable => Expr::Literal(Value::Null),
                            None => {
                                return Err(Error::new(
                                    code::ER_NO_DEFAULT_FOR_FIELD,
                                    format!("Field '{}' doesn't have a default value", col.name),
                                ));
                            }
                        });
                    }
                }
            }
            return Err(Error::parse(format!("DEFAULT({})", args.len())));
        }
        if !functions::exists(&name) {
            let db = self.current_db.clone().unwrap_or_default();
            return Err(Error::new(
                code::ER_FUNCTION_NOT_DEFINED,
                if db.is_empty() {
                    format!("FUNCTION {name} does not exist")
                } else {
                    format!("FUNCTION {db}.{name} does not exist")
                },
            ));
        }
        Ok(Expr::Func(name, args))
    }

    fn bind_window(
        &mut self,
        name: &str,
        f: &ast::Function,
        over: &ast::WindowType,
        scope: &Scope,
        ctx: &str,
    ) -> Result<Expr> {
        let named = self.win.as_ref().map(|w| &w.named);
        let lookup = |n: &str| -> Result<ast::WindowSpec> {
            named
                .and_then(|m| m.get(n))
                .cloned()
                .ok_or_else(|| no_such_window(n))
        };
        let spec = match over {
            ast::WindowType::WindowSpec(s) => {
                inherit_window(s, "<unnamed window>", &mut |n| lookup(n))?
            }
            ast::WindowType::NamedWindow(n) => lookup(&lc(&n.value))?,
        };
        let func = match name {
            "row_number" => WinFunc::RowNumber,
            "rank" => WinFunc::Rank,
            "dense_rank" => WinFunc::DenseRank,
            "lag" => WinFunc::Lag,
            "lead" => WinFunc::Lead,
            "first_value" => WinFunc::FirstValue,
            "last_value" => WinFunc::LastValue,
            "nth_value" => WinFunc::NthValue,
            "ntile" => WinFunc::Ntile,
            "percent_rank" => WinFunc::PercentRank,
            "cume_dist" => WinFunc::CumeDist,
            other => match agg_func(other) {
                Some(a) => WinFunc::Agg(a),
                None => return Err(Error::unsupported(format!("window function {other}"))),
            },
        };
        // Window arguments bind against the row the window sees (post-aggregation when
        // the query aggregates).
        let (mut args, _, _, _, star) = self.func_args(f, scope, ctx)?;
        let func = match func {
            WinFunc::Agg(AggFunc::Count) if star || args.is_empty() => {
                args.clear();
                WinFunc::Agg(AggFunc::CountStar)
            }
            f => f,
        };
        let mut partition = Vec::new();
        for p in &spec.partition_by {
            partition.push(self.bind_expr(p, scope, ctx)?);
        }
        let mut order = Vec::new();
        for o in &spec.order_by {
            order.push((
                self.bind_expr(&o.expr, scope, ctx)?,
                o.options.sort == Some(ast::OrderBySort::Desc),
            ));
        }
        let mut whole = order.is_empty();
        let mut rows_frame = None;
        if let Some(fr) = &spec.window_frame {
            let bound = |b: &ast::WindowFrameBound| -> Option<i64> {
                match b {
                    ast::WindowFrameBound::CurrentRow => Some(0),
                    ast::WindowFrameBound::Preceding(None) => None,
                    ast::WindowFrameBound::Following(None) => None,
                    ast::WindowFrameBound::Preceding(Some(e)) => literal_i64(e).map(|n| -n),
                    ast::WindowFrameBound::Following(Some(e)) => literal_i64(e),
                }
            };
            let start = bound(&fr.start_bound);
            let end = fr.end_bound.as_ref().map(bound).unwrap_or(Some(0));
            let unbounded_end =
                matches!(fr.end_bound, Some(ast::WindowFrameBound::Following(None)));
            if matches!(fr.units, ast::WindowFrameUnits::Rows) {
                rows_frame = Some((
                    start.unwrap_or(i64::MIN / 2),
                    if unbounded_end {
                        i64::MAX / 2
                    } else {
                        end.unwrap_or(0)
                    },
                ));
            } else if unbounded_end && start.is_none() {
                whole = true;
            }
        }
        let w = self
            .win
            .as_mut()
            .ok_or_else(|| Error::unsupported("window function here"))?;
        w.calls.push(WindowCall {
            func,
            args,
            partition,
            order,
            whole_partition: whole,
            rows_frame,
        });
        // The window's output column comes after the input row, whose width is known
        // only once the whole select list is bound: mark it, resolved in bind_select.
        Ok(Expr::Column(WIN_MARK + w.calls.len() - 1))
    }

    // ------------------------------------------------------------ tables

    /// Bind a table name to its definition, a view, a CTE or information_schema.
    pub fn bind_table_factor(&mut self, tf: &ast::TableFactor) -> Result<(Plan, Scope)> {
        match tf {
            ast::TableFactor::Table { name, alias, .. } => {
                let parts = ident_names(name);
                let alias_name = alias.as_ref().map(|a| a.name.value.clone());
                // CTE?
                if parts.len() == 1 {
                    let key = lc(&parts[0]);
                    let found = self.ctes.iter().rev().find_map(|m| m.get(&key).cloned());
                    if let Some(cte) = found {
                        return self.bind_cte(
                            &key,
                            cte,
                            alias_name.unwrap_or_else(|| parts[0].clone()),
                        );
                    }
                }
                let (db, tname) = match parts.as_slice() {
                    [t] => (self.db_or_err()?, t.clone()),
                    [d, t] => (d.clone(), t.clone()),
                    _ => return Err(Error::parse(name.to_string())),
                };
                let alias = alias_name.unwrap_or_else(|| tname.clone());
                if db.eq_ignore_ascii_case("information_schema")
                    || db.eq_ignore_ascii_case("performance_schema")
                    || db.eq_ignore_ascii_case("mysql")
                        && crate::sql::show::is_virtual_mysql_table(&tname)
                {
                    let (cols, rows) = if db.eq_ignore_ascii_case("information_schema")
                        && tname.eq_ignore_ascii_case("processlist")
                    {
                        match self.sessions {
                            Some(sessions) => {
                                crate::sql::show_stmt::processlist(sessions, true, true)
                            }
                            None => (
                                crate::sql::show_stmt::processlist(&Default::default(), true, true)
                                    .0,
                                Vec::new(),
                            ),
                        }
                    } else {
                        let none = |_: &TableDef| None;
                        let autoinc = self.next_autoinc.unwrap_or(&none);
                        crate::sql::show::virtual_table(self.catalog, &db, &tname, autoinc)?
                    };
                    let scope = Scope {
                        cols: cols
                            .into_iter()
                            .map(|mut c| {
                                c.table = alias.clone();
                                ScopeCol {
                                    table: lc(&alias),
                                    name: c.name.clone(),
                                    meta: c,
                                    hidden: false,
                                }
                            })
                            .collect(),
                    };
                    return Ok((Plan::Rows(Arc::new(rows)), scope));
                }
                if let Some(t) = self.catalog.table(&db, &tname) {
                    let t = t.clone();
                    let scope = table_scope(&t, &alias);
                    return Ok((
                        Plan::Scan {
                            table: t,
                            alias: alias.clone(),
                            access: Access::Full,
                            reverse: false,
                            limit: None,
                            read: None,
                        },
                        scope,
                    ));
                }
                if let Some(v) = self.catalog.view(&db, &tname) {
                    let v = v.clone();
                    let key = format!("{}.{}", lc(&db), lc(&tname));
                    if self.expanding.contains(&key) {
                        return Err(Error::new(
                            1462,
                            format!("`{db}`.`{tname}` contains view recursion"),
                        ));
                    }
                    let st = crate::sql::parse::parse_one(&v.query)?;
                    let q = match st {
                        ast::Statement::Query(q) => q,
                        _ => return Err(Error::internal("view body is not a query")),
                    };
                    self.expanding.push(key);
                    let saved_db = self.current_db.replace(v.db.clone());
                    let saved_sql = std::mem::replace(&mut self.sql, v.query.clone());
                    // ONLY_FULL_GROUP_BY judged the view when it was created (under the
                    // sql_mode of then), not each query that reads it.
                    let saved_mode = std::mem::replace(&mut self.only_full_group_by, false);
                    let r = self.bind_derived(&q, &alias, &v.columns);
                    self.only_full_group_by = saved_mode;
                    self.sql = saved_sql;
                    self.current_db = saved_db;
                    self.expanding.pop();
                    return r;
                }
                Err(Error::no_such_table(&db, &tname))
            }
            ast::TableFactor::Derived {
                subquery, alias, ..
            } => {
                let a = alias.as_ref().ok_or_else(|| {
                    Error::new(1248, "Every derived table must have its own alias")
                })?;
                let cols: Vec<String> = a.columns.iter().map(|c| c.name.value.clone()).collect();
                // Derived tables see enclosing scopes (LATERAL-like correlation is rare).
                self.bind_derived(subquery, &a.name.value, &cols)
            }
            ast::TableFactor::NestedJoin {
                table_with_joins,
                alias,
            } => {
                let (plan, mut scope) = crate::sql::from::plan_from(
                    self,
                    std::slice::from_ref(table_with_joins.as_ref()),
                    Vec::new(),
                )?;
                if let Some(a) = alias {
                    for c in scope.cols.iter_mut() {
                        c.table = lc(&a.name.value);
                    }
                }
                Ok((plan, scope))
            }
            _ => Err(Error::unsupported(tf.to_string())),
        }
    }

    fn bind_derived(
        &mut self,
        q: &ast::Query,
        alias: &str,
        col_names: &[String],
    ) -> Result<(Plan, Scope)> {
        let saved_agg = self.agg.take();
        let saved_win = self.win.take();
        let saved_aliases = std::mem::take(&mut self.aliases);
        let r = self.bind_query(q);
        self.agg = saved_agg;
        self.win = saved_win;
        self.aliases = saved_aliases;
        let bq = r?;
        let mut scope = Scope::default();
        for (i, c) in bq.columns.iter().enumerate() {
            let mut meta = c.clone();
            if let Some(n) = col_names.get(i) {
                meta.name = n.clone();
            }
            meta.table = alias.to_string();
            scope.cols.push(ScopeCol {
                table: lc(alias),
                name: meta.name.clone(),
                meta,
                hidden: false,
            });
        }
        Ok((bq.plan, scope))
    }

    fn bind_cte(&mut self, key: &str, cte: Cte, alias: String) -> Result<(Plan, Scope)> {
        if let Some(cols) = &cte.self_scope {
            // A reference to the recursive CTE from inside its own recursive member.
            let id = cte.recursive_id.unwrap_or(0);
            let scope = Scope {
                cols: cols
                    .iter()
                    .map(|c| {
                        let mut m = c.clone();
                        m.table = alias.clone();
                        ScopeCol {
                            table: lc(&alias),
                            name: m.name.clone(),
                            meta: m,
                            hidden: false,
                        }
                    })
                    .collect(),
            };
            return Ok((Plan::CteRef(id), scope));
        }
        let is_recursive = cte.recursive_id.is_some() && query_references(&cte.query, key);
        if !is_recursive {
            return self.bind_derived(&cte.query, &alias, &cte.columns);
        }
        // WITH RECURSIVE: anchor UNION [ALL] recursive member.
        let (left, right, all) = match cte.query.body.as_ref() {
            ast::SetExpr::SetOperation { left, right, op: ast::SetOperator::Union, set_quantifier } => {
                (left.clone(), right.clone(), matches!(set_quantifier, ast::SetQuantifier::All))
            }
            _ => return Err(Error::new(3573, "Recursive Common Table Expression should have one or more non-recursive query blocks followed by one or more recursive ones")),
        };
        let saved_agg = self.agg.take();
        let saved_win = self.win.take();
        let anchor = self.bind_set_expr(&left);
        let anchor = match anchor {
            Ok(a) => a,
            Err(e) => {
                self.agg = saved_agg;
                self.win = saved_win;
                return Err(e);
            }
        };
        let mut cols = anchor.columns.clone();
        for (i, n) in cte.columns.iter().enumerate() {
            if let Some(c) = cols.get_mut(i) {
                c.name = n.clone();
            }
        }
        let id = self.fresh_id();
        let mut m = HashMap::new();
        m.insert(
            key.to_string(),
            Cte {
                query: cte.query.clone(),
                columns: cte.columns.clone(),
                recursive_id: Some(id),
                self_scope: Some(cols.clone()),
            },
        );
        self.ctes.push(m);
        let rec = self.bind_set_expr(&right);
        self.ctes.pop();
        self.agg = saved_agg;
        self.win = saved_win;
        let rec = rec?;
        let scope = Scope {
            cols: cols
                .iter()
                .map(|c| {
                    let mut m = c.clone();
                    m.table = alias.clone();
                    ScopeCol {
                        table: lc(&alias),
                        name: m.name.clone(),
                        meta: m,
                        hidden: false,
                    }
                })
                .collect(),
        };
        Ok((
            Plan::Recursive {
                id,
                anchor: Box::new(anchor.plan),
                recursive: Box::new(rec.plan),
                distinct: !all,
            },
            scope,
        ))
    }
}

/// Give a bare (projected, filtered) table scan a row limit.
fn push_limit(plan: &mut Plan, stop: Expr) {
    match plan {
        Plan::Project(inner, _) | Plan::Truncate(inner, _) => push_limit(inner, stop),
        Plan::Filter(inner, _) => {
            if let Plan::Scan { limit, .. } = inner.as_mut() {
                // The executor applies the filter inside the scan, so the limit counts
                // matching rows.
                *limit = Some(Box::new(stop));
            }
        }
        Plan::Scan { limit, .. } => *limit = Some(Box::new(stop)),
        _ => {}
    }
}

fn bind_scope_lacks(scope: &Scope, name: &str, has_agg: bool) -> bool {
    has_agg || !scope.cols.iter().any(|c| c.name.eq_ignore_ascii_case(name))
}

/// Does this query mention `name` as a table (a recursive CTE reference)?
fn query_references(q: &ast::Query, name: &str) -> bool {
    let s = q.to_string().to_lowercase();
    s.split(|c: char| !c.is_alphanumeric() && c != '_')
        .any(|w| w == name)
}

pub fn table_scope(t: &TableDef, alias: &str) -> Scope {
    Scope {
        cols: (0..t.columns.len())
            .map(|i| ScopeCol {
                table: lc(alias),
                name: t.columns[i].name.clone(),
                meta: t.result_column(i, alias),
                hidden: false,
            })
            .collect(),
    }
}

fn merge_columns(l: &[Column], r: &[Column]) -> Vec<Column> {
    l.iter()
        .zip(r)
        .map(|(a, b)| {
            let mut c = a.clone();
            if a.ty != b.ty {
                c.ty = ColumnType::Null; // decided from the values
            }
            c.length = a.length.max(b.length);
            c.flags &= !crate::result::flags::NOT_NULL | b.flags;
            c
        })
        .collect()
}

pub fn split_and(e: &ast::Expr) -> Vec<ast::Expr> {
    split_and_ref(e).into_iter().cloned().collect()
}

/// [`split_and`] without copying the conjuncts (a DML's WHERE is split per execution).
pub fn split_and_ref(e: &ast::Expr) -> Vec<&ast::Expr> {
    let mut out = Vec::new();
    push_conjuncts(e, &mut out);
    out
}

fn push_conjuncts<'a>(e: &'a ast::Expr, out: &mut Vec<&'a ast::Expr>) {
    match e {
        ast::Expr::BinaryOp {
            left,
            op: ast::BinaryOperator::And,
            right,
        } => {
            push_conjuncts(left, out);
            push_conjuncts(right, out);
        }
        ast::Expr::Nested(inner)
            if matches!(
                inner.as_ref(),
                ast::Expr::BinaryOp {
                    op: ast::BinaryOperator::And,
                    ..
                }
            ) =>
        {
            push_conjuncts(inner, out)
        }
        other => out.push(other),
    }
}

fn agg_func(name: &str) -> Option<AggFunc> {
    Some(match name {
        "count" => AggFunc::Count,
        "sum" => AggFunc::Sum,
        "avg" => AggFunc::Avg,
        "min" => AggFunc::Min,
        "max" => AggFunc::Max,
        "group_concat" => AggFunc::GroupConcat,
        "bit_and" => AggFunc::BitAnd,
        "bit_or" => AggFunc::BitOr,
        "bit_xor" => AggFunc::BitXor,
        "std" | "stddev" | "stddev_pop" => AggFunc::StdDev,
        "stddev_samp" => AggFunc::StdDevSamp,
        "variance" | "var_pop" => AggFunc::Variance,
        "var_samp" => AggFunc::VarSamp,
        _ => return None,
    })
}

/// Does the expression contain an aggregate call (outside subqueries)?
pub fn contains_agg(e: &ast::Expr) -> bool {
    let mut found = false;
    walk(e, &mut |x| {
        if let ast::Expr::Function(f) = x {
            let n = ident_names(&f.name)
                .last()
                .cloned()
                .unwrap_or_default()
                .to_lowercase();
            if f.over.is_none() && agg_func(&n).is_some() {
                found = true;
            }
        }
    });
    found
}

fn contains_window(e: &ast::Expr) -> bool {
    let mut found = false;
    walk(e, &mut |x| {
        if let ast::Expr::Function(f) = x {
            if f.over.is_some() {
                found = true;
            }
        }
    });
    found
}

/// Visit `e` and its sub-expressions, not descending into subqueries or into the
/// arguments of aggregate functions' OVER clauses.
fn walk(e: &ast::Expr, f: &mut dyn FnMut(&ast::Expr)) {
    use ast::Expr as A;
    f(e);
    match e {
        A::BinaryOp { left, right, .. } => {
            walk(left, f);
            walk(right, f);
        }
        A::UnaryOp { expr, .. }
        | A::Nested(expr)
        | A::IsNull(expr)
        | A::IsNotNull(expr)
        | A::IsTrue(expr)
        | A::IsFalse(expr)
        | A::IsNotTrue(expr)
        | A::IsNotFalse(expr)
        | A::Cast { expr, .. }
        | A::Collate { expr, .. }
        | A::Ceil { expr, .. }
        | A::Floor { expr, .. }
        | A::Extract { expr, .. }
        | A::IsUnknown(expr)
        | A::IsNotUnknown(expr) => walk(expr, f),
        A::Convert { expr, .. } => walk(expr, f),
        A::Between {
            expr, low, high, ..
        } => {
            walk(expr, f);
            walk(low, f);
            walk(high, f);
        }
        A::In { expr, target, .. } => {
            walk(expr, f);
            if let ast::InTarget::List(l) = target {
                for x in l {
                    walk(x, f);
                }
            }
        }
        A::Like { expr, pattern, .. }
        | A::ILike { expr, pattern, .. }
        | A::RLike { expr, pattern, .. } => {
            walk(expr, f);
            walk(pattern, f);
        }
        A::Case {
            operand,
            conditions,
            else_result,
            ..
        } => {
            if let Some(o) = operand {
                walk(o, f);
            }
            for c in conditions {
                walk(&c.condition, f);
                walk(&c.result, f);
            }
            if let Some(x) = else_result {
                walk(x, f);
            }
        }
        A::Function(func) => {
            if let ast::FunctionArguments::List(l) = &func.args {
                for a in &l.args {
                    if let ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(x))
                    | ast::FunctionArg::Named {
                        arg: ast::FunctionArgExpr::Expr(x),
                        ..
                    } = a
                    {
                        walk(x, f);
                    }
                }
            }
        }
        A::Tuple(v) => {
            for x in v {
                walk(x, f);
            }
        }
        A::Substring {
            expr,
            substring_from,
            substring_for,
            ..
        } => {
            walk(expr, f);
            if let Some(x) = substring_from {
                walk(x, f);
            }
            if let Some(x) = substring_for {
                walk(x, f);
            }
        }
        A::Trim {
            expr, trim_what, ..
        } => {
            walk(expr, f);
            if let Some(x) = trim_what {
                walk(x, f);
            }
        }
        A::Position { expr, r#in } => {
            walk(expr, f);
            walk(r#in, f);
        }
        A::Interval(iv) => walk(&iv.value, f),
        _ => {}
    }
}

/// Replace identifiers naming select aliases (not table columns) with the aliased
/// expression.
fn substitute_aliases(
    e: &ast::Expr,
    aliases: &[(String, usize, ast::Expr)],
    scope: &Scope,
) -> ast::Expr {
    use ast::Expr as A;
    match e {
        A::Identifier(id) => {
            if !scope
                .cols
                .iter()
                .any(|c| c.name.eq_ignore_ascii_case(&id.value))
            {
                if let Some((_, _, x)) = aliases
                    .iter()
                    .find(|(a, _, _)| a.eq_ignore_ascii_case(&id.value))
                {
                    return x.clone();
                }
            }
            e.clone()
        }
        A::BinaryOp { left, op, right } => A::BinaryOp {
            left: Box::new(substitute_aliases(left, aliases, scope)),
            op: op.clone(),
            right: Box::new(substitute_aliases(right, aliases, scope)),
        },
        A::Nested(x) => A::Nested(Box::new(substitute_aliases(x, aliases, scope))),
        A::UnaryOp { op, expr } => A::UnaryOp {
            op: *op,
            expr: Box::new(substitute_aliases(expr, aliases, scope)),
        },
        A::IsNull(x) => A::IsNull(Box::new(substitute_aliases(x, aliases, scope))),
        A::IsNotNull(x) => A::IsNotNull(Box::new(substitute_aliases(x, aliases, scope))),
        A::Between {
            expr,
            negated,
            low,
            high,
        } => A::Between {
            expr: Box::new(substitute_aliases(expr, aliases, scope)),
            negated: *negated,
            low: Box::new(substitute_aliases(low, aliases, scope)),
            high: Box::new(substitute_aliases(high, aliases, scope)),
        },
        A::In {
            expr,
            target: ast::InTarget::List(list),
            negated,
            global,
        } => A::In {
            expr: Box::new(substitute_aliases(expr, aliases, scope)),
            target: ast::InTarget::List(
                list.iter()
                    .map(|x| substitute_aliases(x, aliases, scope))
                    .collect(),
            ),
            negated: *negated,
            global: *global,
        },
        _ => e.clone(),
    }
}

fn resolve_alias_or_position(
    g: &ast::Expr,
    aliases: &[(String, ast::Expr)],
    proj: &[ast::SelectItem],
    scope: &Scope,
) -> Result<ast::Expr> {
    if let ast::Expr::Value(v) = g {
        if let ast::Value::Number(..) = v.value {
            let n = literal_usize(&v.value).unwrap_or(0);
            return match proj.get(n.wrapping_sub(1)) {
                Some(ast::SelectItem::UnnamedExpr(e))
                | Some(ast::SelectItem::ExprWithAlias { expr: e, .. }) => Ok(e.clone()),
                _ => Err(Error::new(
                    code::ER_BAD_FIELD,
                    format!("Unknown column '{n}' in 'group statement'"),
                )),
            };
        }
    }
    if let ast::Expr::Identifier(id) = g {
        if !scope
            .cols
            .iter()
            .any(|c| c.name.eq_ignore_ascii_case(&id.value))
        {
            if let Some((_, e)) = aliases
                .iter()
                .find(|(a, _)| a.eq_ignore_ascii_case(&id.value))
            {
                return Ok(e.clone());
            }
        }
    }
    Ok(g.clone())
}

fn literal_usize(v: &ast::Value) -> Option<usize> {
    match v {
        ast::Value::Number(s, _) => s.parse().ok(),
        _ => None,
    }
}

fn literal_i64(e: &ast::Expr) -> Option<i64> {
    match e {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::Number(s, _) => s.parse().ok(),
            _ => None,
        },
        _ => None,
    }
}

fn sysvar_ref(rest: &str) -> Expr {
    let r = rest.to_lowercase();
    if let Some(v) = r.strip_prefix("global.") {
        Expr::SysVar(v.to_string(), true)
    } else if let Some(v) = r
        .strip_prefix("session.")
        .or_else(|| r.strip_prefix("local."))
    {
        Expr::SysVar(v.to_string(), false)
    } else {
        Expr::SysVar(r, false)
    }
}

/// Parse a numeric literal as MySQL types it: integer (signed, else unsigned), exact
/// decimal with a '.', double with an exponent.
pub fn parse_number_literal(s: &str) -> Value {
    if s.contains(['e', 'E']) {
        return Value::Double(s.parse().unwrap_or(0.0));
    }
    if s.contains('.') {
        return match s.parse::<rust_decimal::Decimal>() {
            Ok(d) => Value::Decimal(d),
            Err(_) => Value::Double(s.parse().unwrap_or(0.0)),
        };
    }
    if let Ok(i) = s.parse::<i64>() {
        return Value::Int(i);
    }
    if let Ok(u) = s.parse::<u64>() {
        return Value::UInt(u);
    }
    match s.parse::<rust_decimal::Decimal>() {
        Ok(d) => Value::Decimal(d),
        Err(_) => Value::Double(s.parse().unwrap_or(0.0)),
    }
}

fn decode_hex(h: &str) -> Result<Vec<u8>> {
    let h = if h.len() % 2 == 1 {
        format!("0{h}")
    } else {
        h.to_string()
    };
    (0..h.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&h[i..i + 2], 16).map_err(|_| Error::parse(format!("x'{h}'"))))
        .collect()
}

fn row_eq(a: &[Expr], b: &Expr) -> Result<Expr> {
    match b {
        Expr::Row(bs) => row_cmp(CmpOp::Eq, a, bs),
        _ => Err(Error::new(
            code::ER_OPERAND_COLUMNS,
            format!("Operand should contain {} column(s)", a.len()),
        )),
    }
}

fn row_cmp(op: CmpOp, a: &[Expr], b: &[Expr]) -> Result<Expr> {
    if a.len() != b.len() {
        return Err(Error::new(
            code::ER_OPERAND_COLUMNS,
            format!("Operand should contain {} column(s)", a.len()),
        ));
    }
    match op {
        CmpOp::Eq | CmpOp::NullSafeEq => {
            let mut acc: Option<Expr> = None;
            for (x, y) in a.iter().zip(b) {
                let c = Expr::Cmp(op, Box::new(x.clone()), Box::new(y.clone()));
                acc = Some(match acc {
                    None => c,
                    Some(p) => Expr::And(Box::new(p), Box::new(c)),
                });
            }
            Ok(acc.unwrap_or(Expr::Literal(Value::Int(1))))
        }
        CmpOp::Ne => Ok(Expr::Not(Box::new(row_cmp(CmpOp::Eq, a, b)?))),
        _ => {
            // Lexicographic: a1 < b1 OR (a1 = b1 AND (rest)).
            if a.len() == 1 {
                return Ok(Expr::Cmp(
                    op,
                    Box::new(a[0].clone()),
                    Box::new(b[0].clone()),
                ));
            }
            let strict = match op {
                CmpOp::Le => CmpOp::Lt,
                CmpOp::Ge => CmpOp::Gt,
                o => o,
            };
            let first = Expr::Cmp(strict, Box::new(a[0].clone()), Box::new(b[0].clone()));
            let eq = Expr::Cmp(CmpOp::Eq, Box::new(a[0].clone()), Box::new(b[0].clone()));
            let rest = row_cmp(op, &a[1..], &b[1..])?;
            Ok(Expr::Or(
                Box::new(first),
                Box::new(Expr::And(Box::new(eq), Box::new(rest))),
            ))
        }
    }
}

fn datetime_field_name(f: &ast::DateTimeField) -> String {
    let s = f.to_string().to_uppercase();
    match s.as_str() {
        "YEARS" => "YEAR".into(),
        "MONTHS" => "MONTH".into(),
        "DAYS" => "DAY".into(),
        "HOURS" => "HOUR".into(),
        "MINUTES" => "MINUTE".into(),
        "SECONDS" => "SECOND".into(),
        "WEEKS" => "WEEK".into(),
        "MICROSECONDS" => "MICROSECOND".into(),
        _ => s,
    }
}

fn interval_unit(s: &str) -> Result<IntervalUnit> {
    IntervalUnit::parse(s).ok_or_else(|| Error::parse(format!("INTERVAL unit {s}")))
}

fn interval_unit_from_debug(s: &str) -> Result<IntervalUnit> {
    // Debug names are CamelCase: SecondMicrosecond -> SECOND_MICROSECOND.
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    interval_unit(&out)
}

/// The CAST target for a data type.
pub fn cast_type(dt: &ast::DataType) -> Result<CastType> {
    use ast::DataType as D;
    Ok(match dt {
        D::Signed | D::SignedInteger | D::Int(_) | D::Integer(_) | D::BigInt(_) => CastType::Signed,
        D::Unsigned
        | D::UnsignedInteger
        | D::IntUnsigned(_)
        | D::BigIntUnsigned(_)
        | D::IntegerUnsigned(_) => CastType::Unsigned,
        D::Decimal(info) | D::Numeric(info) | D::Dec(info) => CastType::Decimal(match info {
            ast::ExactNumberInfo::None => None,
            ast::ExactNumberInfo::Precision(p) => Some((*p as u8, 0)),
            ast::ExactNumberInfo::PrecisionAndScale(p, s) => Some((*p as u8, *s as u8)),
        }),
        D::Double(_) | D::DoublePrecision | D::Real => CastType::Double,
        D::Float(_) => CastType::Float,
        D::Char(l) | D::Character(l) | D::Varchar(l) | D::Nvarchar(l) => {
            CastType::Char(char_len(l))
        }
        D::Text | D::String(_) => CastType::Char(None),
        D::Binary(l) => CastType::Binary(l.map(|x| x as u32)),
        D::Varbinary(_) | D::Blob(_) => CastType::Binary(None),
        D::Date => CastType::Date,
        D::Datetime(p) => CastType::DateTime(p.unwrap_or(0) as u8),
        D::Timestamp(p, _) => CastType::DateTime(p.unwrap_or(0) as u8),
        D::Time(p, _) => CastType::Time(p.unwrap_or(0) as u8),
        D::JSON => CastType::Json,
        D::Custom(name, _) if name.to_string().eq_ignore_ascii_case("year") => CastType::Year,
        other => return Err(Error::parse(format!("CAST AS {other}"))),
    })
}

fn char_len(l: &Option<ast::CharacterLength>) -> Option<u32> {
    match l {
        Some(ast::CharacterLength::IntegerLength { length, .. }) => Some(*length as u32),
        _ => None,
    }
}

/// A static guess of an expression's result type for column metadata (refined from the
/// values when the guess is `Null`).
/// The type and fractional-seconds precision of a temporal expression whose precision
/// is written in the query: CAST(... AS DATETIME(n)/TIME(n)), NOW(n), CURTIME(n), ...
fn temporal_fsp(e: &Expr) -> Option<(ColumnType, u8)> {
    match e {
        Expr::Cast(_, CastType::DateTime(f)) => Some((ColumnType::DateTime, *f)),
        Expr::Cast(_, CastType::Time(f)) => Some((ColumnType::Time, *f)),
        Expr::Func(name, args) => {
            let ty = match name.as_str() {
                "now" | "sysdate" | "current_timestamp" | "localtime" | "localtimestamp"
                | "utc_timestamp" => ColumnType::DateTime,
                "curtime" | "current_time" | "utc_time" => ColumnType::Time,
                _ => return None,
            };
            match args.as_slice() {
                [Expr::Literal(Value::Int(f))] if (0..=6).contains(f) => Some((ty, *f as u8)),
                [] => Some((ty, 0)),
                _ => None,
            }
        }
        _ => None,
    }
}

pub fn infer_type(e: &Expr) -> ColumnType {
    match e {
        Expr::Literal(v) => match v {
            Value::Int(_) | Value::UInt(_) => ColumnType::LongLong,
            Value::Double(_) => ColumnType::Double,
            Value::Decimal(_) => ColumnType::NewDecimal,
            Value::Str(_) => ColumnType::VarString,
            Value::Bytes(_) => ColumnType::VarString,
            Value::Null => ColumnType::Null,
            Value::Date(_) => ColumnType::Date,
            Value::DateTime(_) => ColumnType::DateTime,
            Value::Time(_) => ColumnType::Time,
        },
        Expr::Cmp(..)
        | Expr::And(..)
        | Expr::Or(..)
        | Expr::Not(_)
        | Expr::IsNull(..)
        | Expr::IsBool(..)
        | Expr::Like { .. }
        | Expr::Between { .. }
        | Expr::InList { .. }
        | Expr::InSubquery { .. }
        | Expr::Exists { .. }
        | Expr::Xor(..) => ColumnType::LongLong,
        Expr::Session(
            SessionFn::ConnectionId
            | SessionFn::LastInsertId
            | SessionFn::RowCount
            | SessionFn::FoundRows,
        ) => ColumnType::LongLong,
        Expr::Session(_) => ColumnType::VarString,
        Expr::Collate(x, _) => infer_type(x),
        _ => ColumnType::Null,
    }
}

/// `x` as an operand of a comparison under collation `coll` (see [`Expr::Collate`]).
fn collate(x: Expr, coll: Option<Collation>) -> Expr {
    match (x, coll) {
        (x, None) => x,
        (Expr::Collate(inner, _), Some(c)) => Expr::Collate(inner, c),
        (x, Some(c)) => Expr::Collate(Box::new(x), c),
    }
}

/// MySQL's collation aggregation for two operands: the lower coercibility wins; at equal
/// coercibility the wider (Unicode) charset wins, then a `_bin` collation over a
/// case-insensitive one; two different case-insensitive (or two explicit) collations are
/// error 1267.
fn merge_collations(
    a: Option<(Collation, u8)>,
    b: Option<(Collation, u8)>,
    op: &str,
) -> Result<Option<(Collation, u8)>> {
    let (Some((ca, pa)), Some((cb, pb))) = (a, b) else {
        return Ok(a.or(b));
    };
    // Unicode charsets hold every other one's characters: at equal coercibility the
    // operand of the wider charset is converted to (utf8mb4 > utf8mb3 > the rest).
    let width = |c: Collation| match c.charset() {
        "utf8mb4" => 2,
        "utf8mb3" => 1,
        _ => 0,
    };
    Ok(Some(if pa != pb {
        if pa < pb {
            (ca, pa)
        } else {
            (cb, pb)
        }
    } else if pa > 0 && width(ca) != width(cb) {
        if width(ca) > width(cb) {
            (ca, pa)
        } else {
            (cb, pb)
        }
    } else if ca == cb || (pa > 0 && !ca.case_insensitive() && cb.case_insensitive()) {
        (ca, pa)
    } else if pa > 0 && ca.case_insensitive() && !cb.case_insensitive() {
        (cb, pb)
    } else {
        let d = |p: u8| if p == 0 { "EXPLICIT" } else { "IMPLICIT" };
        return Err(Error::new(
            code::ER_CANT_AGGREGATE_2COLLATIONS,
            format!(
                "Illegal mix of collations ({},{}) and ({},{}) for operation '{op}'",
                ca.name(),
                d(pa),
                cb.name(),
                d(pb)
            ),
        ));
    }))
}

/// `?12` -> `?`: the printed form of a numbered parameter marker as it was written.
fn unnumber_placeholders(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut after_marker = false;
    for c in s.chars() {
        if after_marker && c.is_ascii_digit() {
            continue;
        }
        after_marker = c == '?';
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::{Database, Session};

    fn rows(s: &mut Session, sql: &str) -> Vec<String> {
        crate::test_sql::rows_joined(s, sql, " ")
    }

    fn session() -> (Database, Session) {
        let db = Database::open_in_memory().expect("in-memory database");
        let mut s = db.session();
        for sql in [
            "CREATE DATABASE d",
            "USE d",
            "CREATE TABLE t (id INT PRIMARY KEY, g INT, v INT)",
            "INSERT INTO t VALUES (1, 1, 10), (2, 1, 20), (3, 2, 30)",
        ] {
            s.execute(sql).expect(sql);
        }
        (db, s)
    }

    #[test]
    fn prepared_expression_columns_are_named_as_written() {
        let (_db, mut s) = session();
        let names = |s: &mut Session, sql: &str| match s.execute(sql).expect(sql) {
            crate::QueryResult::Rows { columns, .. } => {
                columns.into_iter().map(|c| c.name).collect::<Vec<_>>()
            }
            other => panic!("{other:?}"),
        };
        s.execute("SET @a = 1, @b = 2").expect("set");
        s.execute("PREPARE p FROM 'SELECT ? + ?,  v*? FROM t WHERE id = ?'")
            .expect("prepare");
        assert_eq!(
            names(&mut s, "EXECUTE p USING @a, @b, @a, @a"),
            ["? + ?", "v*?"]
        );
    }

    #[test]
    fn named_windows_and_inheritance() {
        let (_db, mut s) = session();
        assert_eq!(
            rows(
                &mut s,
                "SELECT id, SUM(v) OVER w, ROW_NUMBER() OVER (w ORDER BY v DESC) \
                 FROM t WINDOW w AS (PARTITION BY g) ORDER BY id"
            ),
            ["1 30 2", "2 30 1", "3 30 1"]
        );
        // A window defined from another one, referenced before its definition.
        assert_eq!(
            rows(
                &mut s,
                "SELECT id, SUM(v) OVER w2 FROM t \
                 WINDOW w2 AS (w1 ORDER BY id), w1 AS (PARTITION BY g) ORDER BY id"
            ),
            ["1 10", "2 30", "3 30"]
        );
        let code =
            |s: &mut Session, sql: &str| s.execute(sql).map(|_| 0).unwrap_or_else(|e| e.code);
        assert_eq!(code(&mut s, "SELECT SUM(v) OVER nope FROM t"), 3579);
        assert_eq!(
            code(
                &mut s,
                "SELECT SUM(v) OVER (w PARTITION BY id) FROM t WINDOW w AS ()"
            ),
            3581
        );
        assert_eq!(
            code(
                &mut s,
                "SELECT SUM(v) OVER (w ORDER BY id) FROM t WINDOW w AS (ORDER BY v)"
            ),
            3582
        );
        assert_eq!(
            code(
                &mut s,
                "SELECT SUM(v) OVER a FROM t WINDOW a AS (b), b AS (a)"
            ),
            3584
        );
    }

    #[test]
    fn assignment_operator_sets_user_variables() {
        let (_db, mut s) = session();
        assert_eq!(rows(&mut s, "SELECT @n := 0"), ["0"]);
        // Evaluated once per row, in row order.
        assert_eq!(
            rows(&mut s, "SELECT id, @n := @n + v FROM t ORDER BY id"),
            ["1 10", "2 30", "3 60"]
        );
        assert_eq!(rows(&mut s, "SELECT @n"), ["60"]);
        s.execute("SET @m := 7").expect("SET with :=");
        assert_eq!(rows(&mut s, "SELECT @m := MAX(v) + @m FROM t"), ["37"]);
        assert_eq!(rows(&mut s, "SELECT @m"), ["37"]);
        assert!(s.execute("SELECT id := 1 FROM t").is_err());
    }

    #[test]
    fn enum_and_set_in_numeric_context() {
        let (_db, mut s) = session();
        s.execute("CREATE TABLE e (id INT, sz ENUM('small','medium','large'), f SET('a','b','c'))")
            .expect("create");
        s.execute("INSERT INTO e VALUES (1, 'large', 'a,c'), (2, 'small', 'b'), (3, 'medium', '')")
            .expect("insert");
        assert_eq!(
            rows(
                &mut s,
                "SELECT id, sz + 0, -sz, f + 0, f * 2 FROM e ORDER BY sz"
            ),
            ["2 1 -1 2 4", "3 2 -2 0 0", "1 3 -3 5 10"]
        );
        assert_eq!(rows(&mut s, "SELECT id FROM e WHERE sz = 3"), ["1"]);
        assert_eq!(rows(&mut s, "SELECT id FROM e WHERE sz = 'LARGE'"), ["1"]);
        assert_eq!(
            rows(&mut s, "SELECT id FROM e ORDER BY e.f DESC"),
            ["1", "2", "3"]
        );
        assert_eq!(
            rows(&mut s, "SELECT id, sz AS x FROM e ORDER BY x DESC"),
            ["1 large", "3 medium", "2 small"]
        );
    }

    #[test]
    fn only_full_group_by_follows_functional_dependencies() {
        let (_db, mut s) = session();
        s.execute("CREATE TABLE u (a INT NOT NULL, b INT NOT NULL, c INT, UNIQUE KEY (a, b))")
            .expect("create");
        s.execute("INSERT INTO u VALUES (1, 1, 5), (1, 2, 6)")
            .expect("insert");
        let code =
            |s: &mut Session, sql: &str| s.execute(sql).map(|_| 0).unwrap_or_else(|e| e.code);
        // Not determined: 1055 in the select list, HAVING and ORDER BY; 1140 without GROUP BY.
        for sql in [
            "SELECT g, v FROM t GROUP BY g",
            "SELECT g FROM t GROUP BY g HAVING v > 1",
            "SELECT g FROM t GROUP BY g ORDER BY v",
            "SELECT t.* FROM t GROUP BY g",
            "SELECT c FROM u GROUP BY a",
        ] {
            assert_eq!(code(&mut s, sql), 1055, "{sql}");
        }
        assert_eq!(code(&mut s, "SELECT v, COUNT(*) FROM t"), 1140);
        let e = s
            .execute("SELECT g, (SELECT 1), t.v FROM t GROUP BY g")
            .expect_err("1055");
        assert_eq!(
            e.message,
            "Expression #3 of SELECT list is not in GROUP BY clause and contains nonaggregated \
             column 'd.t.v' which is not functionally dependent on columns in GROUP BY clause; \
             this is incompatible with sql_mode=only_full_group_by"
        );
        // Determined: the primary key or a NOT NULL unique key, equalities with
        // constants and between columns, ANY_VALUE, aggregates, group expressions.
        for sql in [
            "SELECT id, g, v FROM t GROUP BY id",
            "SELECT * FROM t GROUP BY id",
            "SELECT a, b, c FROM u GROUP BY b, a",
            "SELECT g, v FROM t WHERE v = 10 GROUP BY g",
            "SELECT v, COUNT(*) FROM t WHERE v = 10",
            "SELECT t2.g, t1.v FROM t t1 JOIN t t2 ON t2.id = t1.id GROUP BY t2.id",
            "SELECT x.id, y.v FROM t x JOIN t y USING (id) GROUP BY x.id",
            "SELECT g, ANY_VALUE(v), MAX(v) FROM t GROUP BY g",
            "SELECT v % 2, COUNT(*) FROM t GROUP BY v % 2",
            "SELECT d.id, d.v FROM (SELECT id, v FROM t) d GROUP BY d.id",
        ] {
            assert_eq!(code(&mut s, sql), 0, "{sql}");
        }
        assert_eq!(
            rows(&mut s, "SELECT g, v FROM t WHERE v = 20 GROUP BY g"),
            ["1 20"]
        );
        s.execute("SET sql_mode = 'STRICT_TRANS_TABLES'")
            .expect("set");
        assert_eq!(code(&mut s, "SELECT g, v FROM t GROUP BY g"), 0);
        s.execute("CREATE VIEW loose AS SELECT g, v FROM t GROUP BY g")
            .expect("view created without ONLY_FULL_GROUP_BY");
        s.execute("SET sql_mode = DEFAULT").expect("set");
        assert_eq!(code(&mut s, "SELECT g, v FROM t GROUP BY g"), 1055);
        assert_eq!(code(&mut s, "SELECT COUNT(*) FROM loose"), 0);
        assert_eq!(
            code(
                &mut s,
                "CREATE VIEW strict_v AS SELECT g, v FROM t GROUP BY g"
            ),
            1055
        );
    }

    #[test]
    fn temporal_values_print_with_their_precision() {
        let (_db, mut s) = session();
        s.execute("CREATE TABLE tt (a DATETIME(3), b TIME(2), c DATETIME, d TIMESTAMP(6) NULL)")
            .expect("create");
        s.execute("INSERT INTO tt VALUES ('2024-01-01 10:00:00.5', '01:02:03', '2024-01-01', '2024-01-01 00:00:01')")
            .expect("insert");
        assert_eq!(
            rows(&mut s, "SELECT a, b, c, d FROM tt"),
            ["2024-01-01 10:00:00.500 01:02:03.00 2024-01-01 00:00:00 2024-01-01 00:00:01.000000"]
        );
        assert_eq!(
            rows(
                &mut s,
                "SELECT CAST('2024-03-01 10:00:00.126' AS DATETIME(2)), \
                 CAST('12:34:56' AS TIME(1)), TIMESTAMP '2024-01-02 03:04:05.10'"
            ),
            ["2024-03-01 10:00:00.13 12:34:56.0 2024-01-02 03:04:05.10"]
        );
        let now3 = rows(&mut s, "SELECT NOW(3), CURTIME(1)");
        let parts: Vec<&str> = now3[0].split(' ').collect();
        assert_eq!(parts[1].len(), "10:00:00.123".len(), "{now3:?}");
        assert_eq!(parts[2].len(), "10:00:00.1".len(), "{now3:?}");
    }

    #[test]
    fn correlated_subqueries_of_grouped_queries_see_grouped_rows() {
        let (_db, mut s) = session();
        assert_eq!(
            rows(
                &mut s,
                "SELECT g, (SELECT COUNT(*) FROM t t2 WHERE t2.g = t.g) FROM t GROUP BY g ORDER BY g"
            ),
            ["1 2", "2 1"]
        );
        // Grouped by the primary key: every column of t is available to the subquery.
        assert_eq!(
            rows(
                &mut s,
                "SELECT id, (SELECT SUM(v) FROM t t2 WHERE t2.g = t.g) AS s FROM t GROUP BY id \
                 HAVING s > 0 ORDER BY id"
            ),
            ["1 30", "2 30", "3 30"]
        );
        let err = s
            .execute("SELECT g, (SELECT 1 FROM t t2 WHERE t2.id = t.id) FROM t GROUP BY g")
            .map(|_| 0)
            .unwrap_or_else(|e| e.code);
        assert_eq!(err, 1055);
        // Inside an aggregate the subquery sees the input rows.
        assert_eq!(
            rows(
                &mut s,
                "SELECT g, SUM((SELECT t2.v FROM t t2 WHERE t2.id = t.id)) FROM t GROUP BY g ORDER BY g"
            ),
            ["1 30", "2 30"]
        );
    }

    #[test]
    fn char_using_charset() {
        let (_db, mut s) = session();
        assert_eq!(
            rows(&mut s, "SELECT CHAR(77, 121, 83, 81, 76 USING utf8mb4)"),
            ["MySQL"]
        );
    }
}
