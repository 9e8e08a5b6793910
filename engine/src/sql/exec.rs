//! The executor: evaluates bound expressions and runs plans against a transaction.
//!
//! Operators materialize their output (`Vec<Row>`); the plans the binder builds keep
//! inputs small where it matters (index access, filters pushed to scans, LIMIT pushed
//! into scans). Subqueries that do not refer to the enclosing row run once per
//! statement; correlated ones run per outer row with that row pushed on `outer`.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Bound;
use std::sync::Arc;

use rust_decimal::Decimal;

use crate::catalog::TableDef;
use crate::collation::Collation;
use crate::error::{code, Error, Result};
use crate::functions::{self, FnContext};
use crate::keycodec::{encode_value, prefix_successor};
use crate::result::Row;
use crate::row::{decode_row, decode_row_cols};
use crate::sql::coerce::KeyLookup;
use crate::sql::collations;
use crate::sql::plan::*;
use crate::sql::session_state::SessState;
use crate::txn::{Txn, TxnManager};
use crate::value::{compare_in, sort_cmp_in, Value};

/// Everything a running statement needs.
pub struct Exec<'a> {
    pub shared: &'a crate::database::Shared,
    pub mgr: &'a TxnManager,
    pub txn: &'a mut Txn,
    pub sess: &'a mut SessState,
    pub params: &'a [Value],
    pub outer: Vec<Vec<Value>>,
    pub fnctx: FnContext,
    /// Reads take the latest committed version (UPDATE/DELETE/FOR UPDATE).
    pub locking: bool,
    /// Lock rows read (FOR UPDATE: exclusive, LOCK IN SHARE MODE: shared).
    pub lock_rows: Option<bool>,
    subq_cache: HashMap<usize, Arc<Vec<Row>>>,
    pub ctes: HashMap<usize, Arc<Vec<Row>>>,
    pub interrupted: Option<Arc<std::sync::atomic::AtomicBool>>,
    /// Scans append each row's clustered key (as Bytes) after its columns (DML).
    pub want_keys: bool,
    /// Division by zero is an error (strict INSERT/UPDATE with ERROR_FOR_DIVISION_BY_ZERO).
    pub dml_strict: bool,
    /// Triggers running in this statement (compiled bodies, the tables being written).
    pub triggers: crate::sql::trigger::TriggerCtx,
    /// CHECK constraints bound for this statement, by table id.
    pub check_cache: HashMap<u64, crate::sql::check::BoundChecks>,
    /// Whether some foreign key references a table, by table id: asked for every row a
    /// statement updates or deletes, and the answer cannot change within a statement.
    pub referenced_cache: HashMap<u64, bool>,
}

impl<'a> Exec<'a> {
    pub fn new(
        shared: &'a crate::database::Shared,
        txn: &'a mut Txn,
        sess: &'a mut SessState,
        params: &'a [Value],
    ) -> Exec<'a> {
        let strict = sess.strict();
        Exec {
            shared,
            mgr: &shared.mgr,
            txn,
            sess,
            params,
            outer: Vec::new(),
            fnctx: FnContext {
                now: crate::temporal::DateTime::now_utc(),
                warnings: Vec::new(),
                strict,
                rng_seed: None,
            },
            locking: false,
            lock_rows: None,
            subq_cache: HashMap::new(),
            ctes: HashMap::new(),
            interrupted: None,
            want_keys: false,
            dml_strict: false,
            triggers: Default::default(),
            check_cache: HashMap::new(),
            referenced_cache: HashMap::new(),
        }
    }

    pub(crate) fn check_interrupt(&self) -> Result<()> {
        if let Some(f) = &self.interrupted {
            if f.load(std::sync::atomic::Ordering::Relaxed) {
                return Err(Error::interrupted());
            }
        }
        Ok(())
    }

    // ---------------------------------------------------------------- expressions

    pub fn eval(&mut self, e: &Expr, row: &[Value]) -> Result<Value> {
        Ok(match e {
            Expr::Literal(v) => v.clone(),
            Expr::Column(i) => row.get(*i).cloned().unwrap_or(Value::Null),
            Expr::Outer(up, i) => {
                let n = self.outer.len();
                if *up == 0 || *up > n {
                    return Err(Error::internal("bad outer reference"));
                }
                self.outer[n - up].get(*i).cloned().unwrap_or(Value::Null)
            }
            Expr::Param(i) => self.params.get(*i).cloned().ok_or_else(|| {
                Error::new(
                    code::ER_WRONG_ARGUMENTS,
                    "Incorrect arguments to mysqld_stmt_execute",
                )
            })?,
            Expr::Not(a) => match self.eval(a, row)?.to_bool() {
                None => Value::Null,
                Some(b) => Value::Int(!b as i64),
            },
            Expr::Neg(a) => functions::negate(&self.eval(a, row)?)?,
            Expr::BitNot(a) => functions::bit_not(&self.eval(a, row)?),
            Expr::Arith(..) => {
                let (v, shown) = self.eval_precise(e, row)?;
                functions::round_shown(v, shown)
            }
            Expr::Cmp(op, a, b) => {
                // Comparisons see a quotient's full precision, as MySQL's do.
                let (x, _) = self.eval_precise(a, row)?;
                let (y, _) = self.eval_precise(b, row)?;
                cmp_values_in(*op, &x, &y, operands_collation(a, b))
            }
            Expr::And(a, b) => {
                let x = self.eval(a, row)?.to_bool();
                if x == Some(false) {
                    return Ok(Value::Int(0));
                }
                let y = self.eval(b, row)?.to_bool();
                match (x, y) {
                    (_, Some(false)) => Value::Int(0),
                    (Some(true), Some(true)) => Value::Int(1),
                    _ => Value::Null,
                }
            }
            Expr::Or(a, b) => {
                let x = self.eval(a, row)?.to_bool();
                if x == Some(true) {
                    return Ok(Value::Int(1));
                }
                let y = self.eval(b, row)?.to_bool();
                match (x, y) {
                    (_, Some(true)) => Value::Int(1),
                    (Some(false), Some(false)) => Value::Int(0),
                    _ => Value::Null,
                }
            }
            Expr::Xor(a, b) => match (self.eval(a, row)?.to_bool(), self.eval(b, row)?.to_bool()) {
                (Some(x), Some(y)) => Value::Int((x ^ y) as i64),
                _ => Value::Null,
            },
            Expr::IsNull(a, neg) => Value::Int((self.eval(a, row)?.is_null() != *neg) as i64),
            Expr::IsBool(a, truth, neg) => {
                let b = self.eval(a, row)?.to_bool();
                Value::Int(((b == Some(*truth)) != *neg) as i64)
            }
            Expr::Like {
                expr,
                pattern,
                escape,
                negated,
            } => {
                let s = self.eval(expr, row)?;
                let p = self.eval(pattern, row)?;
                let ci = operands_collation(expr, pattern).case_insensitive();
                match functions::like_in(&s, &p, *escape, ci) {
                    None => Value::Null,
                    Some(b) => Value::Int((b != *negated) as i64),
                }
            }
            Expr::Regexp {
                expr,
                pattern,
                negated,
            } => {
                let s = self.eval(expr, row)?;
                let p = self.eval(pattern, row)?;
                match functions::regexp_like(&s, &p)? {
                    None => Value::Null,
                    Some(b) => Value::Int((b != *negated) as i64),
                }
            }
            Expr::Between {
                expr,
                lo,
                hi,
                negated,
            } => {
                let v = self.eval(expr, row)?;
                let l = self.eval(lo, row)?;
                let h = self.eval(hi, row)?;
                let coll = operands_collation(expr, lo);
                let a = cmp_values_in(CmpOp::Ge, &v, &l, coll).to_bool();
                let b = cmp_values_in(CmpOp::Le, &v, &h, coll).to_bool();
                let r = match (a, b) {
                    (Some(false), _) | (_, Some(false)) => Some(false),
                    (Some(true), Some(true)) => Some(true),
                    _ => None,
                };
                match r {
                    None => Value::Null,
                    Some(x) => Value::Int((x != *negated) as i64),
                }
            }
            Expr::InList {
                expr,
                list,
                negated,
            } => {
                let v = self.eval(expr, row)?;
                let mut saw_null = v.is_null();
                let mut found = false;
                if !v.is_null() {
                    let coll = expr.collation().unwrap_or_default();
                    for item in list {
                        let x = self.eval(item, row)?;
                        match cmp_values_in(CmpOp::Eq, &v, &x, coll).to_bool() {
                            Some(true) => {
                                found = true;
                                break;
                            }
                            None => saw_null = true,
                            _ => {}
                        }
                    }
                }
                if found {
                    Value::Int(!*negated as i64)
                } else if saw_null {
                    Value::Null
                } else {
                    Value::Int(*negated as i64)
                }
            }
            Expr::InSubquery {
                expr,
                query,
                negated,
            } => {
                // x IN (subquery) is x = ANY (subquery), with the same NULL rules.
                let v = self.eval(expr, row)?;
                let rows = self.subquery_rows(query, row)?;
                let coll = subquery_collation(expr, query);
                let r = quantified(&v, CmpOp::Eq, &rows, false, coll)?;
                match (r.to_bool(), *negated) {
                    (Some(b), true) => Value::Int(!b as i64),
                    _ => r,
                }
            }
            Expr::Quantified {
                expr,
                op,
                query,
                all,
            } => {
                let v = self.eval(expr, row)?;
                let rows = self.subquery_rows(query, row)?;
                quantified(&v, *op, &rows, *all, subquery_collation(expr, query))?
            }
            Expr::Exists { query, negated } => {
                let rows = self.subquery_rows(query, row)?;
                Value::Int((rows.is_empty() == *negated) as i64)
            }
            Expr::Subquery(query) => {
                let rows = self.subquery_rows(query, row)?;
                match rows.len() {
                    0 => Value::Null,
                    1 => {
                        if rows[0].len() != 1 {
                            return Err(Error::new(
                                code::ER_OPERAND_COLUMNS,
                                "Operand should contain 1 column(s)",
                            ));
                        }
                        rows[0][0].clone()
                    }
                    _ => {
                        return Err(Error::new(
                            code::ER_SUBQUERY_NO_1_ROW,
                            "Subquery returns more than 1 row",
                        ))
                    }
                }
            }
            Expr::Case {
                operand,
                whens,
                else_,
            } => {
                let op = match operand {
                    Some(o) => Some(self.eval(o, row)?),
                    None => None,
                };
                for (w, t) in whens {
                    let c = self.eval(w, row)?;
                    let hit = match &op {
                        Some(o) => cmp_values(CmpOp::Eq, o, &c).to_bool() == Some(true),
                        None => c.to_bool() == Some(true),
                    };
                    if hit {
                        return self.eval(t, row);
                    }
                }
                match else_ {
                    Some(e) => self.eval(e, row)?,
                    None => Value::Null,
                }
            }
            Expr::Func(name, args) => {
                // IF/IFNULL/COALESCE/NULLIF evaluate lazily, like CASE.
                match name.as_str() {
                    crate::sql::bind::ASSIGN_USER_VAR if args.len() == 2 => {
                        let v = self.eval(&args[1], row)?;
                        if let Expr::Literal(Value::Str(name)) = &args[0] {
                            self.sess.user_vars.insert(name.clone(), v.clone());
                        }
                        return Ok(v);
                    }
                    "last_insert_id" if args.len() == 1 => {
                        let v = self.eval(&args[0], row)?;
                        self.sess.last_insert_id = v.to_i64().unwrap_or(0) as u64;
                        return Ok(v);
                    }
                    "if" if args.len() == 3 => {
                        let c = self.eval(&args[0], row)?.to_bool() == Some(true);
                        return self.eval(&args[if c { 1 } else { 2 }], row);
                    }
                    "ifnull" if args.len() == 2 => {
                        let a = self.eval(&args[0], row)?;
                        return if a.is_null() {
                            self.eval(&args[1], row)
                        } else {
                            Ok(a)
                        };
                    }
                    "coalesce" => {
                        for a in args {
                            let v = self.eval(a, row)?;
                            if !v.is_null() {
                                return Ok(v);
                            }
                        }
                        return Ok(Value::Null);
                    }
                    _ => {}
                }
                let mut vals = Vec::with_capacity(args.len());
                for a in args {
                    vals.push(self.eval(a, row)?);
                }
                let before = self.fnctx.warnings.len();
                let v = functions::call(name, &vals, &mut self.fnctx)?;
                self.check_div_zero(before)?;
                v
            }
            Expr::Cast(a, to) => {
                let v = self.eval(a, row)?;
                functions::cast(&v, to, &mut self.fnctx)?
            }
            Expr::DateAdd {
                expr,
                interval,
                unit,
                negate,
            } => {
                let v = self.eval(expr, row)?;
                let i = self.eval(interval, row)?;
                functions::date_add(&v, &i, *unit, *negate, &mut self.fnctx)?
            }
            Expr::JsonExtract { doc, path, unquote } => {
                let d = self.eval(doc, row)?;
                let p = self.eval(path, row)?;
                functions::json_extract_path(&d, &p, *unquote)?
            }
            Expr::Session(f) => self.session_fn(*f),
            Expr::UserVar(name) => self
                .sess
                .user_vars
                .get(name)
                .cloned()
                .unwrap_or(Value::Null),
            Expr::SysVar(name, global) => self.sess.get_sysvar(name, *global)?,
            Expr::Row(_) => {
                return Err(Error::new(
                    code::ER_OPERAND_COLUMNS,
                    "Operand should contain 1 column(s)",
                ))
            }
            Expr::Binary(a) => match self.eval(a, row)? {
                Value::Str(s) => Value::Bytes(s.into_bytes()),
                v => v,
            },
            Expr::Collate(a, _) => self.eval(a, row)?,
        })
    }

    /// In strict DML, a division by zero raised since `before` is an error, not a warning.
    /// Arithmetic as MySQL carries it between operators: a DECIMAL quotient keeps more
    /// digits than it shows (see `functions::ops`). Returns the value and, when it holds
    /// such extra digits, the scale it shows at once it leaves arithmetic.
    fn eval_precise(&mut self, e: &Expr, row: &[Value]) -> Result<(Value, Option<u32>)> {
        match e {
            Expr::Arith(op, a, b) => {
                let (x, dx) = self.eval_precise(a, row)?;
                let (y, dy) = self.eval_precise(b, row)?;
                if let Some((v, shown)) = functions::precise_arith(*op, &x, dx, &y, dy) {
                    return Ok((v, Some(shown)));
                }
                let (x, y) = (functions::round_shown(x, dx), functions::round_shown(y, dy));
                let before = self.fnctx.warnings.len();
                let v = functions::binary(*op, &x, &y, &mut self.fnctx)?;
                self.check_div_zero(before)?;
                Ok((v, None))
            }
            Expr::Neg(a) => {
                let (x, dx) = self.eval_precise(a, row)?;
                Ok((functions::negate(&x)?, dx))
            }
            _ => Ok((self.eval(e, row)?, None)),
        }
    }

    fn check_div_zero(&mut self, before: usize) -> Result<()> {
        if self.dml_strict
            && self.fnctx.warnings[before..]
                .iter()
                .any(|(c, _)| *c == code::ER_DIVISION_BY_ZERO)
        {
            self.fnctx.warnings.truncate(before);
            return Err(Error::new(code::ER_DIVISION_BY_ZERO, "Division by 0"));
        }
        Ok(())
    }

    fn session_fn(&self, f: SessionFn) -> Value {
        match f {
            SessionFn::Database => self
                .sess
                .current_db
                .clone()
                .map(Value::Str)
                .unwrap_or(Value::Null),
            SessionFn::User => Value::Str(format!("{}@{}", self.sess.user, self.sess.host)),
            SessionFn::CurrentUser => {
                Value::Str(format!("{}@{}", self.sess.user, self.sess.account_host))
            }
            SessionFn::Version => Value::Str(crate::SERVER_VERSION.to_string()),
            SessionFn::ConnectionId => Value::UInt(self.sess.connection_id as u64),
            SessionFn::LastInsertId => Value::UInt(self.sess.last_insert_id),
            SessionFn::RowCount => Value::Int(self.sess.row_count),
            SessionFn::FoundRows => Value::UInt(self.sess.found_rows),
        }
    }

    /// Evaluate a predicate: true only when the value is true (NULL is not).
    pub fn test(&mut self, e: &Expr, row: &[Value]) -> Result<bool> {
        Ok(self.eval(e, row)?.to_bool() == Some(true))
    }

    fn subquery_rows(&mut self, q: &Arc<SubQuery>, row: &[Value]) -> Result<Arc<Vec<Row>>> {
        if !q.correlated {
            if let Some(r) = self.subq_cache.get(&q.id) {
                return Ok(r.clone());
            }
            let rows = Arc::new(self.run(&q.plan)?);
            self.subq_cache.insert(q.id, rows.clone());
            return Ok(rows);
        }
        self.outer.push(row.to_vec());
        let r = self.run(&q.plan);
        self.outer.pop();
        Ok(Arc::new(r?))
    }

    // ---------------------------------------------------------------- plans

    pub fn run(&mut self, plan: &Plan) -> Result<Vec<Row>> {
        self.check_interrupt()?;
        match plan {
            Plan::Single => Ok(vec![Vec::new()]),
            Plan::Rows(r) => Ok(r.as_ref().clone()),
            Plan::CteRef(id) => self
                .ctes
                .get(id)
                .map(|r| r.as_ref().clone())
                .ok_or_else(|| Error::internal("CTE not materialized")),
            Plan::Scan {
                table,
                access,
                reverse,
                limit,
                read,
                ..
            } => {
                let limit = match limit {
                    Some(e) => Some(self.eval(e, &[])?.to_i64().unwrap_or(0).max(0) as usize),
                    None => None,
                };
                self.scan_table(table, access, *reverse, limit, None, read.as_deref())
            }
            Plan::Filter(input, pred) => {
                if let Plan::Scan {
                    table,
                    access,
                    reverse,
                    limit,
                    read,
                    ..
                } = input.as_ref()
                {
                    let limit = match limit {
                        Some(e) => Some(self.eval(e, &[])?.to_i64().unwrap_or(0).max(0) as usize),
                        None => None,
                    };
                    return self.scan_table(
                        table,
                        access,
                        *reverse,
                        limit,
                        Some(pred),
                        read.as_deref(),
                    );
                }
                let rows = self.run(input)?;
                let mut out = Vec::with_capacity(rows.len());
                for r in rows {
                    if self.test(pred, &r)? {
                        out.push(r);
                    }
                }
                Ok(out)
            }
            Plan::Project(input, exprs) => {
                let rows = self.run(input)?;
                let moves = movable_columns(exprs);
                let all_moved = moves.iter().all(Option::is_some);
                let mut scratch: Vec<Value> = Vec::with_capacity(exprs.len());
                let mut out = Vec::with_capacity(rows.len());
                for mut r in rows {
                    if all_moved && moves.iter().flatten().all(|&i| i < r.len()) {
                        // Only column references: rearrange the row in its own buffer
                        // rather than allocating an output row per input row.
                        for &i in moves.iter().flatten() {
                            scratch.push(std::mem::replace(&mut r[i], Value::Null));
                        }
                        r.clear();
                        r.append(&mut scratch);
                        out.push(r);
                        continue;
                    }
                    let mut o = Vec::with_capacity(exprs.len());
                    for (e, m) in exprs.iter().zip(&moves) {
                        match m {
                            Some(i) if *i < r.len() => {
                                o.push(std::mem::replace(&mut r[*i], Value::Null))
                            }
                            _ => o.push(self.eval(e, &r)?),
                        }
                    }
                    out.push(o);
                }
                Ok(out)
            }
            Plan::Join {
                left,
                right,
                kind,
                on,
                right_width,
                hash_keys,
            } => {
                let l = self.run(left)?;
                let r = self.run(right)?;
                self.join(l, r, *kind, on.as_ref(), *right_width, hash_keys)
            }
            Plan::IndexJoin(j) => self.index_join(j),
            Plan::Aggregate {
                input,
                group_by,
                aggs,
                rollup,
            } => {
                let rows = self.run(input)?;
                let inner = collations::output(input);
                let colls = AggColls {
                    group: group_by
                        .iter()
                        .map(|g| collations::of_expr(g, &inner))
                        .collect(),
                    args: aggs.iter().map(|a| arg_collations(a, &inner)).collect(),
                };
                self.aggregate(rows, group_by, aggs, *rollup, &colls)
            }
            Plan::Window { input, calls } => {
                let rows = self.run(input)?;
                let inner = collations::output(input);
                crate::sql::window::run_window(self, rows, calls, &inner)
            }
            Plan::Sort(input, keys) => {
                let rows = self.run(input)?;
                let colls = collations::of_exprs(keys.iter().map(|k| &k.0), input);
                self.sort(rows, keys, &colls)
            }
            Plan::Limit {
                input,
                limit,
                offset,
            } => {
                let rows = self.run(input)?;
                let off = match offset {
                    Some(e) => self.eval(e, &[])?.to_i64().unwrap_or(0).max(0) as usize,
                    None => 0,
                };
                let lim = match limit {
                    Some(e) => self.eval(e, &[])?.to_i64().unwrap_or(0).max(0) as usize,
                    None => usize::MAX,
                };
                Ok(rows.into_iter().skip(off).take(lim).collect())
            }
            Plan::Distinct(input) => {
                let rows = self.run(input)?;
                let colls = collations::output(input);
                let mut seen = KeySet::with_capacity_and_hasher(rows.len(), Default::default());
                Ok(rows
                    .into_iter()
                    .filter(|r| seen.insert(group_key_in(r, &colls)))
                    .collect())
            }
            Plan::Truncate(input, n) => {
                let mut rows = self.run(input)?;
                for r in rows.iter_mut() {
                    r.truncate(*n);
                }
                Ok(rows)
            }
            Plan::SetOp {
                op,
                all,
                left,
                right,
            } => {
                let l = self.run(left)?;
                let r = self.run(right)?;
                Ok(set_op(*op, *all, l, r, &collations::output(left)))
            }
            Plan::Recursive {
                id,
                anchor,
                recursive,
                distinct,
            } => {
                let mut all = self.run(anchor)?;
                let colls = collations::output(anchor);
                let group_key = |r: &Row| group_key_in(r, &colls);
                let mut seen = KeySet::default();
                if *distinct {
                    all.retain(|r| seen.insert(group_key(r)));
                }
                let mut last = all.clone();
                let mut iterations = 0;
                while !last.is_empty() {
                    iterations += 1;
                    if iterations > 1000 {
                        return Err(Error::new(
                            3636,
                            "Recursive query aborted after 1001 iterations. Try increasing @@cte_max_recursion_depth to a larger value.",
                        ));
                    }
                    self.ctes.insert(*id, Arc::new(last));
                    let mut next = self.run(recursive)?;
                    if *distinct {
                        next.retain(|r| seen.insert(group_key(r)));
                    }
                    all.extend(next.iter().cloned());
                    last = next;
                }
                Ok(all)
            }
        }
    }

    /// Read a table through an access path, applying `filter` while scanning.
    pub fn scan_table(
        &mut self,
        table: &Arc<TableDef>,
        access: &Access,
        reverse: bool,
        limit: Option<usize>,
        filter: Option<&Expr>,
        read: Option<&[bool]>,
    ) -> Result<Vec<Row>> {
        let mut out = Vec::new();
        let locking = self.locking;
        match access {
            Access::Full => {
                self.scan_tree_rows(
                    table,
                    table.root,
                    Bound::Unbounded,
                    Bound::Unbounded,
                    reverse,
                    limit,
                    filter,
                    locking,
                    &mut out,
                    read,
                )?;
            }
            Access::Range {
                index,
                lo,
                hi,
                covering,
                recheck,
            } => {
                let bounds = self.range_bounds(table, *index, lo.as_ref(), hi.as_ref())?;
                let exact = matches!(bounds, KeyRange::Range(_, _, true));
                let with_recheck = self.with_recheck(recheck.as_deref(), exact, filter);
                let filter = with_recheck.as_ref().or(filter);
                let (lo_b, hi_b) = match bounds {
                    KeyRange::Range(a, b, _) => (a, b),
                    KeyRange::Empty => return Ok(out),
                    KeyRange::Unusable => {
                        return self.scan_table(
                            table,
                            &whole_index(*index, *covering),
                            reverse,
                            limit,
                            filter,
                            read,
                        )
                    }
                };
                let span = (as_bound(&lo_b), as_bound(&hi_b));
                self.scan_span(
                    table, *index, *covering, span, reverse, limit, filter, &mut out, read,
                )?;
            }
            Access::Ranges {
                index,
                ranges,
                covering,
                recheck,
            } => {
                let mut spans = Vec::with_capacity(ranges.len());
                let mut exact = true;
                let mut unusable = false;
                for (lo, hi) in ranges {
                    match self.range_bounds(table, *index, lo.as_ref(), hi.as_ref())? {
                        KeyRange::Range(a, b, verbatim) => {
                            exact &= verbatim;
                            spans.push((a, b));
                        }
                        KeyRange::Empty => {}
                        KeyRange::Unusable => unusable = true,
                    }
                }
                let with_recheck =
                    self.with_recheck(recheck.as_deref(), exact && !unusable, filter);
                let filter = with_recheck.as_ref().or(filter);
                if unusable {
                    return self.scan_table(table, &Access::Full, reverse, limit, filter, read);
                }
                let mut spans = merge_spans(spans);
                if reverse {
                    spans.reverse();
                }
                for (a, b) in &spans {
                    if limit.is_some_and(|l| out.len() >= l) {
                        break;
                    }
                    let span = (as_bound(a), as_bound(b));
                    self.scan_span(
                        table, *index, *covering, span, reverse, limit, filter, &mut out, read,
                    )?;
                }
            }
            Access::Points {
                index,
                keys,
                covering,
            } => {
                let mut encoded: Vec<Vec<u8>> = Vec::new();
                for k in keys {
                    match self.encode_key_exprs(table, *index, k)? {
                        KeyEnc::Key(e, ..) => encoded.push(e),
                        KeyEnc::NoMatch => {}
                        KeyEnc::Unusable => {
                            return self.scan_table(
                                table,
                                &whole_index(*index, *covering),
                                reverse,
                                limit,
                                filter,
                                read,
                            )
                        }
                    }
                }
                encoded.sort();
                encoded.dedup();
                if reverse {
                    encoded.reverse();
                }
                for key in encoded {
                    let full = match index {
                        None => !key.is_empty() && table.primary.len() == keys_len(keys),
                        Some(_) => false,
                    };
                    if full {
                        if let Some(mut row) = self.get_row(table, &key)? {
                            if filter
                                .map(|f| self.test(f, &row))
                                .transpose()?
                                .unwrap_or(true)
                            {
                                if self.want_keys {
                                    row.push(Value::Bytes(key.clone()));
                                }
                                out.push(row);
                            }
                        }
                    } else {
                        let tree = match index {
                            None => table.root,
                            Some(i) => table.indexes[*i].root,
                        };
                        let hi = prefix_successor(&key);
                        let hi_r = match &hi {
                            Some(h) => Bound::Excluded(h.as_slice()),
                            None => Bound::Unbounded,
                        };
                        if let (Some(ix), true) = (index, *covering && self.lock_rows.is_none()) {
                            self.scan_index_covering(
                                table,
                                *ix,
                                Bound::Included(&key),
                                hi_r,
                                reverse,
                                None,
                                filter,
                                locking,
                                &mut out,
                            )?;
                        } else if index.is_none() {
                            self.scan_tree_rows(
                                table,
                                tree,
                                Bound::Included(&key),
                                hi_r,
                                reverse,
                                None,
                                filter,
                                locking,
                                &mut out,
                                read,
                            )?;
                        } else {
                            self.scan_index_rows(
                                table,
                                tree,
                                Bound::Included(&key),
                                hi_r,
                                reverse,
                                None,
                                filter,
                                locking,
                                &mut out,
                            )?;
                        }
                    }
                    if limit.is_some_and(|l| out.len() >= l) {
                        break;
                    }
                }
            }
        }
        if let Some(l) = limit {
            out.truncate(l);
        }
        Ok(out)
    }

    /// Read one key span of the clustered tree or of index `index` into `out`.
    #[allow(clippy::too_many_arguments)]
    fn scan_span(
        &mut self,
        table: &TableDef,
        index: Option<usize>,
        covering: bool,
        (lo, hi): (Bound<&[u8]>, Bound<&[u8]>),
        reverse: bool,
        limit: Option<usize>,
        filter: Option<&Expr>,
        out: &mut Vec<Row>,
        read: Option<&[bool]>,
    ) -> Result<()> {
        let locking = self.locking;
        // A locking read returns the latest row once locked: read it through the
        // clustered tree rather than from the index entry.
        let covering = covering && self.lock_rows.is_none();
        match index {
            Some(ix) if covering => {
                self.scan_index_covering(table, ix, lo, hi, reverse, limit, filter, locking, out)
            }
            None => self.scan_tree_rows(
                table, table.root, lo, hi, reverse, limit, filter, locking, out, read,
            ),
            Some(ix) => self.scan_index_rows(
                table,
                table.indexes[ix].root,
                lo,
                hi,
                reverse,
                limit,
                filter,
                locking,
                out,
            ),
        }
    }

    /// Fetch one row by its clustered key (snapshot or locking read).
    pub fn get_row(&mut self, table: &TableDef, key: &[u8]) -> Result<Option<Row>> {
        let locking = self.locking;
        if let Some(exclusive) = self.lock_rows {
            self.mgr.lock(self.txn, table.root, key, exclusive)?;
        }
        match self.mgr.get(self.txn, table.root, key, locking)? {
            Some(b) => Ok(Some(decode_row(&b)?)),
            None => Ok(None),
        }
    }

    /// The filter a range scan applies when its access carries the predicate its
    /// bounds were made from (`recheck`): None (keep `filter`) when the bounds are
    /// exactly that predicate's rows (`exact`) and the read does not lock; a locking
    /// read re-reads each row's latest version, which the predicate must then pass.
    fn with_recheck(
        &self,
        recheck: Option<&Expr>,
        exact: bool,
        filter: Option<&Expr>,
    ) -> Option<Expr> {
        let r = recheck?;
        if exact && self.lock_rows.is_none() {
            return None;
        }
        Some(match filter {
            Some(f) => Expr::And(Box::new(r.clone()), Box::new(f.clone())),
            None => r.clone(),
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn scan_tree_rows(
        &mut self,
        table: &TableDef,
        tree: u64,
        lo: Bound<&[u8]>,
        hi: Bound<&[u8]>,
        reverse: bool,
        limit: Option<usize>,
        filter: Option<&Expr>,
        locking: bool,
        out: &mut Vec<Row>,
        read: Option<&[bool]>,
    ) -> Result<()> {
        let want = if filter.is_none() { limit } else { None };
        let mgr = self.mgr;
        if self.lock_rows.is_none() {
            // Rows are decoded straight from the page (no copy of the stored bytes);
            // the key is kept only when the caller wants it.
            if filter.is_none() && !self.want_keys {
                // Nothing to test or append: rows go straight to the output.
                mgr.scan(self.txn, tree, lo, hi, reverse, locking, &mut |_k, v| {
                    out.push(decode_row_cols(v, read)?);
                    Ok(limit.is_none_or(|l| out.len() < l))
                })?;
                return Ok(());
            }
            let want_keys = self.want_keys;
            let mut rows: Vec<(Row, Vec<u8>)> = Vec::new();
            mgr.scan(self.txn, tree, lo, hi, reverse, locking, &mut |k, v| {
                let key = if want_keys { k.to_vec() } else { Vec::new() };
                rows.push((decode_row_cols(v, read)?, key));
                Ok(want.is_none_or(|l| rows.len() < l))
            })?;
            return self.keep_scanned(rows, filter, limit, out);
        }
        let mut raw: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        mgr.scan(self.txn, tree, lo, hi, reverse, locking, &mut |k, v| {
            raw.push((k.to_vec(), v.to_vec()));
            Ok(want.is_none_or(|l| raw.len() < l))
        })?;
        for (k, v) in raw {
            let mut row = decode_row(&v)?;
            if let Some(f) = filter {
                if !self.test(f, &row)? {
                    continue;
                }
            }
            if let Some(exclusive) = self.lock_rows {
                // The scan read the row before holding its lock: another transaction
                // may have changed or deleted it meanwhile. What a locking read returns
                // is the latest committed version once the lock is held.
                self.mgr.lock(self.txn, table.root, &k, exclusive)?;
                match self.mgr.get(self.txn, table.root, &k, true)? {
                    Some(cur) if cur != v => {
                        row = decode_row(&cur)?;
                        if let Some(f) = filter {
                            if !self.test(f, &row)? {
                                continue;
                            }
                        }
                    }
                    Some(_) => {}
                    None => continue,
                }
            }
            if self.want_keys {
                row.push(Value::Bytes(k));
            }
            out.push(row);
            if limit.is_some_and(|l| out.len() >= l) {
                break;
            }
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn scan_index_rows(
        &mut self,
        table: &TableDef,
        tree: u64,
        lo: Bound<&[u8]>,
        hi: Bound<&[u8]>,
        reverse: bool,
        limit: Option<usize>,
        filter: Option<&Expr>,
        locking: bool,
        out: &mut Vec<Row>,
    ) -> Result<()> {
        let mut pks: Vec<Vec<u8>> = Vec::new();
        let mgr = self.mgr;
        mgr.scan(self.txn, tree, lo, hi, reverse, locking, &mut |_k, v| {
            pks.push(v.to_vec());
            Ok(true)
        })?;
        for pk in pks {
            if let Some(mut row) = self.get_row(table, &pk)? {
                if let Some(f) = filter {
                    if !self.test(f, &row)? {
                        continue;
                    }
                }
                if self.want_keys {
                    row.push(Value::Bytes(pk));
                }
                out.push(row);
                if limit.is_some_and(|l| out.len() >= l) {
                    break;
                }
            }
        }
        Ok(())
    }

    /// The scanned rows (each with its clustered key, empty unless `want_keys`) that pass
    /// `filter`, up to `limit` in `out`, the key appended when the caller wants it.
    fn keep_scanned(
        &mut self,
        rows: Vec<(Row, Vec<u8>)>,
        filter: Option<&Expr>,
        limit: Option<usize>,
        out: &mut Vec<Row>,
    ) -> Result<()> {
        for (mut row, key) in rows {
            if let Some(f) = filter {
                if !self.test(f, &row)? {
                    continue;
                }
            }
            if self.want_keys {
                row.push(Value::Bytes(key));
            }
            out.push(row);
            if limit.is_some_and(|l| out.len() >= l) {
                break;
            }
        }
        Ok(())
    }

    /// Read a secondary index alone (a covering read): each row is rebuilt from its
    /// entry's key (see `covering`), without the clustered lookup.
    #[allow(clippy::too_many_arguments)]
    fn scan_index_covering(
        &mut self,
        table: &TableDef,
        index: usize,
        lo: Bound<&[u8]>,
        hi: Bound<&[u8]>,
        reverse: bool,
        limit: Option<usize>,
        filter: Option<&Expr>,
        locking: bool,
        out: &mut Vec<Row>,
    ) -> Result<()> {
        // Rows are rebuilt inside the scan (one allocation per entry); the clustered
        // key is kept only when the caller wants it.
        let mut rows: Vec<(Row, Vec<u8>)> = Vec::new();
        let want = if filter.is_none() { limit } else { None };
        let want_keys = self.want_keys;
        let mgr = self.mgr;
        let tree = table.indexes[index].root;
        mgr.scan(self.txn, tree, lo, hi, reverse, locking, &mut |k, v| {
            let row = crate::sql::covering::decode_entry(table, index, k)?;
            rows.push((row, if want_keys { v.to_vec() } else { Vec::new() }));
            Ok(want.is_none_or(|l| rows.len() < l))
        })?;
        self.keep_scanned(rows, filter, limit, out)
    }

    /// Encode key expressions for (a prefix of) an index.
    pub fn encode_key_exprs(
        &mut self,
        table: &TableDef,
        index: Option<usize>,
        exprs: &[Expr],
    ) -> Result<KeyEnc> {
        self.encode_keys(table, index, exprs, None, &[])
    }

    /// Encode key expressions evaluated over `row` (an index join's outer row; empty
    /// for row-independent keys). `lower`: None = equality lookup, Some(true/false) =
    /// lower/upper range bound.
    fn encode_keys(
        &mut self,
        table: &TableDef,
        index: Option<usize>,
        exprs: &[Expr],
        lower: Option<bool>,
        row: &[Value],
    ) -> Result<KeyEnc> {
        let cols: Vec<usize> = match index {
            None => table.primary.clone(),
            Some(i) => table.indexes[i].columns.clone(),
        };
        let mut out = Vec::new();
        let mut exact = true;
        let mut verbatim = true;
        for (i, e) in exprs.iter().enumerate() {
            // Keys compare as the predicate does: with a quotient's full precision.
            let (v, _) = self.eval_precise(e, row)?;
            let Some(&ci) = cols.get(i) else { break };
            let col = &table.columns[ci];
            let lk = match lower {
                None => crate::sql::coerce::lookup_value(&v, col),
                Some(lo) => crate::sql::coerce::bound_value(&v, col, lo),
            };
            match lk {
                KeyLookup::Key(kv) => {
                    if lower.is_some() && crate::value::compare(&kv, &v) != Some(Ordering::Equal) {
                        exact = false;
                    }
                    verbatim &= col.ty.is_integer()
                        && match (&v, &kv) {
                            (Value::Int(a), Value::Int(b)) => a == b,
                            (Value::UInt(a), Value::UInt(b)) => a == b,
                            _ => false,
                        };
                    encode_value(&mut out, &kv, col.collation())
                }
                KeyLookup::NoMatch => return Ok(KeyEnc::NoMatch),
                KeyLookup::Unusable => return Ok(KeyEnc::Unusable),
            }
        }
        Ok(KeyEnc::Key(out, exact, verbatim))
    }

    #[allow(clippy::type_complexity)]
    fn range_bounds(
        &mut self,
        table: &TableDef,
        index: Option<usize>,
        lo: Option<&KeyBound>,
        hi: Option<&KeyBound>,
    ) -> Result<KeyRange> {
        let mut verbatim = true;
        let lo_b = match lo {
            None => Bound::Unbounded,
            Some(kb) => match self.encode_keys(table, index, &kb.exprs, Some(true), &[])? {
                KeyEnc::NoMatch => return Ok(KeyRange::Empty),
                KeyEnc::Unusable => return Ok(KeyRange::Unusable),
                KeyEnc::Key(k, exact, v) => {
                    verbatim &= v;
                    if kb.inclusive || !exact {
                        Bound::Included(k)
                    } else {
                        match prefix_successor(&k) {
                            Some(s) => Bound::Included(s),
                            None => return Ok(KeyRange::Empty),
                        }
                    }
                }
            },
        };
        let hi_b = match hi {
            None => Bound::Unbounded,
            Some(kb) => match self.encode_keys(table, index, &kb.exprs, Some(false), &[])? {
                KeyEnc::NoMatch => return Ok(KeyRange::Empty),
                KeyEnc::Unusable => return Ok(KeyRange::Unusable),
                KeyEnc::Key(k, exact, v) => {
                    verbatim &= v;
                    if kb.inclusive || !exact {
                        match prefix_successor(&k) {
                            Some(s) => Bound::Excluded(s),
                            None => Bound::Unbounded,
                        }
                    } else {
                        Bound::Excluded(k)
                    }
                }
            },
        };
        // A range predicate never matches NULL, and NULL (0x00) sorts before every
        // value (0x01...): start after the NULLs.
        let lo_b = match lo_b {
            Bound::Unbounded if hi.is_some() => Bound::Included(vec![0x01]),
            b => b,
        };
        Ok(KeyRange::Range(lo_b, hi_b, verbatim))
    }

    // ---------------------------------------------------------------- joins

    fn join(
        &mut self,
        left: Vec<Row>,
        right: Vec<Row>,
        kind: JoinKind,
        on: Option<&Expr>,
        right_width: usize,
        hash_keys: &[(Expr, Expr)],
    ) -> Result<Vec<Row>> {
        let mut out = Vec::new();
        if !hash_keys.is_empty() {
            // The binder marks both sides of an equality under a collation alike.
            let colls: Vec<Collation> = hash_keys
                .iter()
                .map(|(l, r)| operands_collation(l, r))
                .collect();
            let mut table: KeyMap<Vec<usize>> = KeyMap::default();
            for (i, r) in right.iter().enumerate() {
                let mut key = Vec::new();
                let mut null = false;
                for ((_, re), coll) in hash_keys.iter().zip(&colls) {
                    let v = self.eval(re, r)?;
                    if v.is_null() {
                        null = true;
                        break;
                    }
                    hash_key(&mut key, &v, *coll);
                }
                if !null {
                    table.entry(key).or_default().push(i);
                }
            }
            for l in left {
                let mut key = Vec::new();
                let mut null = false;
                for ((le, _), coll) in hash_keys.iter().zip(&colls) {
                    let v = self.eval(le, &l)?;
                    if v.is_null() {
                        null = true;
                        break;
                    }
                    hash_key(&mut key, &v, *coll);
                }
                let mut matched = false;
                if !null {
                    if let Some(ids) = table.get(&key) {
                        for &i in ids {
                            let mut row = l.clone();
                            row.extend(right[i].iter().cloned());
                            let ok = match on {
                                Some(p) => self.test(p, &row)?,
                                None => true,
                            };
                            if ok {
                                matched = true;
                                out.push(row);
                            }
                        }
                    }
                }
                if !matched && kind == JoinKind::Left {
                    let mut row = l;
                    row.extend(std::iter::repeat_n(Value::Null, right_width));
                    out.push(row);
                }
            }
            return Ok(out);
        }
        for l in left {
            let mut matched = false;
            for r in &right {
                let mut row = l.clone();
                row.extend(r.iter().cloned());
                let ok = match on {
                    Some(p) => self.test(p, &row)?,
                    None => true,
                };
                if ok {
                    matched = true;
                    out.push(row);
                }
            }
            if !matched && kind == JoinKind::Left {
                let mut row = l;
                row.extend(std::iter::repeat_n(Value::Null, right_width));
                out.push(row);
            }
            self.check_interrupt()?;
        }
        Ok(out)
    }

    /// Index nested-loop join: probe the inner table once per left row.
    fn index_join(&mut self, j: &IndexJoin) -> Result<Vec<Row>> {
        let left = self.run(&j.left)?;
        let width = j.table.columns.len();
        let point = j.index.is_none() && j.keys.len() == j.table.primary.len();
        let tree = match j.index {
            None => j.table.root,
            Some(i) => j.table.indexes[i].root,
        };
        let locking = self.locking;
        // The whole (filtered) inner table, read once if some left row's key cannot be
        // used for a lookup (a value the index cannot be searched with).
        let mut fallback: Option<Vec<Row>> = None;
        let mut out = Vec::new();
        for l in left {
            self.check_interrupt()?;
            let inner = match self.encode_keys(&j.table, j.index, &j.keys, None, &l)? {
                KeyEnc::NoMatch => Vec::new(),
                KeyEnc::Unusable => {
                    if fallback.is_none() {
                        fallback = Some(self.scan_table(
                            &j.table,
                            &Access::Full,
                            false,
                            None,
                            j.filter.as_ref(),
                            None,
                        )?);
                    }
                    fallback.clone().unwrap_or_default()
                }
                KeyEnc::Key(key, ..) if point => match self.get_row(&j.table, &key)? {
                    Some(r) => {
                        let keep = match &j.filter {
                            Some(f) => self.test(f, &r)?,
                            None => true,
                        };
                        if keep {
                            vec![r]
                        } else {
                            Vec::new()
                        }
                    }
                    None => Vec::new(),
                },
                KeyEnc::Key(key, ..) => {
                    let hi = prefix_successor(&key);
                    let hi_r = match &hi {
                        Some(h) => Bound::Excluded(h.as_slice()),
                        None => Bound::Unbounded,
                    };
                    let mut rows = Vec::new();
                    if j.index.is_none() {
                        self.scan_tree_rows(
                            &j.table,
                            tree,
                            Bound::Included(&key),
                            hi_r,
                            false,
                            None,
                            j.filter.as_ref(),
                            locking,
                            &mut rows,
                            None,
                        )?;
                    } else {
                        self.scan_index_rows(
                            &j.table,
                            tree,
                            Bound::Included(&key),
                            hi_r,
                            false,
                            None,
                            j.filter.as_ref(),
                            locking,
                            &mut rows,
                        )?;
                    }
                    rows
                }
            };
            let mut matched = false;
            for r in inner {
                let mut row = l.clone();
                row.extend(r);
                if let Some(p) = &j.recheck {
                    if !self.test(p, &row)? {
                        continue;
                    }
                }
                if let Some(p) = &j.on {
                    if !self.test(p, &row)? {
                        continue;
                    }
                }
                matched = true;
                out.push(row);
            }
            if !matched && j.kind == JoinKind::Left {
                let mut row = l;
                row.extend(std::iter::repeat_n(Value::Null, width));
                out.push(row);
            }
        }
        Ok(out)
    }

    // ---------------------------------------------------------------- sort

    /// Sort `rows` by `keys`, key `i` compared under `colls[i]` (the default past the
    /// end).
    pub fn sort(
        &mut self,
        rows: Vec<Row>,
        keys: &[(Expr, bool)],
        colls: &[Collation],
    ) -> Result<Vec<Row>> {
        // Keys that are columns of the row are compared in place: no per-row copies.
        let cols: Option<Vec<usize>> = keys
            .iter()
            .map(|(e, _)| match e {
                Expr::Column(i) => Some(*i),
                _ => None,
            })
            .collect();
        if let Some(cols) = cols.filter(|c| rows.iter().all(|r| c.iter().all(|&i| i < r.len()))) {
            let coll = |n: usize| colls.get(n).copied().unwrap_or_default();
            // A string's collation weight is computed once per row, not per comparison:
            // memcmp of weights orders as the collation does (`Collation::weight`).
            let width = cols.len();
            let any_string = rows
                .iter()
                .any(|r| cols.iter().any(|&i| matches!(r[i], Value::Str(_))));
            if !any_string {
                // No string keys: nothing to precompute, sort the rows in place.
                let mut rows = rows;
                rows.sort_by(|a, b| {
                    for (n, (&i, (_, desc))) in cols.iter().zip(keys).enumerate() {
                        let o = sort_cmp_in(&a[i], &b[i], coll(n));
                        let o = if *desc { o.reverse() } else { o };
                        if o != Ordering::Equal {
                            return o;
                        }
                    }
                    Ordering::Equal
                });
                return Ok(rows);
            }
            let mut weights: Vec<Option<Cow<'_, [u8]>>> = Vec::with_capacity(rows.len() * width);
            for r in &rows {
                for (n, &i) in cols.iter().enumerate() {
                    weights.push(match &r[i] {
                        Value::Str(s) => Some(coll(n).weight(s)),
                        _ => None,
                    });
                }
            }
            let mut order: Vec<usize>;
            if width == 1 && weights.iter().all(Option::is_some) {
                // One string key on every row (ORDER BY c): sort the weights themselves.
                let mut ws: Vec<(&[u8], usize)> = weights
                    .iter()
                    .enumerate()
                    .map(|(i, w)| (w.as_deref().unwrap_or_default(), i))
                    .collect();
                if keys[0].1 {
                    ws.sort_by(|a, b| b.0.cmp(a.0));
                } else {
                    ws.sort_by(|a, b| a.0.cmp(b.0));
                }
                order = ws.into_iter().map(|(_, i)| i).collect();
            } else {
                order = (0..rows.len()).collect();
                order.sort_by(|&a, &b| {
                    for (n, (&i, (_, desc))) in cols.iter().zip(keys).enumerate() {
                        let o = match (&weights[a * width + n], &weights[b * width + n]) {
                            (Some(x), Some(y)) => x.cmp(y),
                            _ => sort_cmp_in(&rows[a][i], &rows[b][i], coll(n)),
                        };
                        let o = if *desc { o.reverse() } else { o };
                        if o != Ordering::Equal {
                            return o;
                        }
                    }
                    Ordering::Equal
                });
            }
            drop(weights);
            let mut slots: Vec<Option<Row>> = rows.into_iter().map(Some).collect();
            return Ok(order.into_iter().filter_map(|i| slots[i].take()).collect());
        }
        let mut keyed: Vec<(Vec<Value>, Row)> = Vec::with_capacity(rows.len());
        for r in rows {
            let mut k = Vec::with_capacity(keys.len());
            for (e, _) in keys {
                k.push(self.eval(e, &r)?);
            }
            keyed.push((k, r));
        }
        keyed.sort_by(|a, b| {
            for (i, (_, desc)) in keys.iter().enumerate() {
                let coll = colls.get(i).copied().unwrap_or_default();
                let o = sort_cmp_in(&a.0[i], &b.0[i], coll);
                let o = if *desc { o.reverse() } else { o };
                if o != Ordering::Equal {
                    return o;
                }
            }
            Ordering::Equal
        });
        Ok(keyed.into_iter().map(|(_, r)| r).collect())
    }

    // ---------------------------------------------------------------- aggregation

    /// Feed row `r` to the states of one group, one per aggregate.
    fn add_to_states(&mut self, aggs: &[AggCall], states: &mut [AggState], r: &Row) -> Result<()> {
        // One argument buffer for every row: only states that keep their arguments
        // (DISTINCT's seen set, GROUP_CONCAT) take them, the rest (SUM, COUNT, MIN...)
        // read them in place, and a per-row allocation was most of an aggregate's cost.
        let mut args = Vec::new();
        let mut order = Vec::new();
        for (a, state) in aggs.iter().zip(states.iter_mut()) {
            args.clear();
            for e in &a.args {
                args.push(self.eval(e, r)?);
            }
            order.clear();
            for (e, _) in &a.order {
                order.push(self.eval(e, r)?);
            }
            state.add(a, &mut args, &mut order);
        }
        Ok(())
    }

    fn aggregate(
        &mut self,
        rows: Vec<Row>,
        group_by: &[Expr],
        aggs: &[AggCall],
        rollup: bool,
        colls: &AggColls,
    ) -> Result<Vec<Row>> {
        let sort_key = |vals: &[Value]| sort_key_in(vals, &colls.group);
        let new_states = || -> Vec<AggState> {
            aggs.iter()
                .zip(&colls.args)
                .map(|(a, c)| AggState::new_in(a, c.clone()))
                .collect()
        };
        // group key -> (group values, states); BTreeMap keeps MySQL 5.7/MariaDB's sorted
        // GROUP BY output order.
        let mut groups: BTreeMap<Vec<u8>, (Vec<Value>, Vec<AggState>)> = BTreeMap::new();
        let mut gvals_rows: Vec<(Vec<Value>, Row)> = Vec::with_capacity(rows.len());
        for r in rows {
            let mut gv = Vec::with_capacity(group_by.len());
            for g in group_by {
                gv.push(self.eval(g, &r)?);
            }
            gvals_rows.push((gv, r));
        }
        let levels: Vec<usize> = if rollup {
            (0..=group_by.len()).rev().collect()
        } else {
            vec![group_by.len()]
        };
        let mut out_levels: Vec<Groups> = Vec::new();
        for &lvl in &levels {
            groups.clear();
            if lvl == 0 {
                // One group of every row (no GROUP BY, or the grand total of a ROLLUP):
                // no keys to build. Over no rows it still gives one row (COUNT = 0,
                // SUM = NULL).
                let mut states = new_states();
                for (_, r) in &gvals_rows {
                    self.add_to_states(aggs, &mut states, r)?;
                }
                groups.insert(Vec::new(), (vec![Value::Null; group_by.len()], states));
                out_levels.push(std::mem::take(&mut groups));
                continue;
            }
            for (gv, r) in &gvals_rows {
                let key = sort_key(&gv[..lvl]);
                let entry = groups.entry(key).or_insert_with(|| {
                    let mut vals = gv[..lvl].to_vec();
                    vals.extend(std::iter::repeat_n(Value::Null, group_by.len() - lvl));
                    (vals, new_states())
                });
                self.add_to_states(aggs, &mut entry.1, r)?;
            }
            out_levels.push(std::mem::take(&mut groups));
        }
        let finish = |vals: &Vec<Value>, states: &Vec<AggState>| -> Row {
            let mut row = vals.clone();
            for (s, a) in states.iter().zip(aggs) {
                row.push(s.finish(a));
            }
            row
        };
        if !rollup {
            return Ok(out_levels[0].values().map(|(v, s)| finish(v, s)).collect());
        }
        // Interleave: after the last detail row of each prefix, its subtotal row.
        let detail = &out_levels[0];
        let mut out = Vec::new();
        let n = group_by.len();
        let details: Vec<&(Vec<Value>, Vec<AggState>)> = detail.values().collect();
        for (i, d) in details.iter().enumerate() {
            out.push(finish(&d.0, &d.1));
            for lvl in (0..n).rev() {
                let this = sort_key(&d.0[..lvl]);
                let next_differs = match details.get(i + 1) {
                    Some(nx) => sort_key(&nx.0[..lvl]) != this,
                    None => true,
                };
                if next_differs {
                    let li = n - lvl;
                    if let Some((v, s)) = out_levels[li].get(&this) {
                        out.push(finish(v, s));
                    }
                } else {
                    break;
                }
            }
        }
        if details.is_empty() {
            if let Some((v, s)) = out_levels[n].get(&Vec::new()) {
                out.push(finish(v, s));
            }
        }
        Ok(out)
    }
}

/// An encoded lookup key.
pub enum KeyEnc {
    /// The key; whether it is exactly the constant (false: widened bound); and whether
    /// every constant was an integer stored as is in an integer column, so that key
    /// order answers the SQL comparison with it exactly.
    Key(Vec<u8>, bool, bool),
    NoMatch,
    Unusable,
}

enum KeyRange {
    /// The span, and whether it is exactly the rows the range predicate selects (its
    /// bounds are `KeyEnc::Key`'s verbatim integers).
    Range(Bound<Vec<u8>>, Bound<Vec<u8>>, bool),
    Empty,
    Unusable,
}

/// The whole index in key order: what a range read falls back to when its bounds cannot
/// be searched for, so a read planned to give index order still does.
fn whole_index(index: Option<usize>, covering: bool) -> Access {
    match index {
        None => Access::Full,
        Some(_) => Access::Range {
            index,
            lo: None,
            hi: None,
            covering,
            recheck: None,
        },
    }
}

fn keys_len(keys: &[Vec<Expr>]) -> usize {
    keys.first().map(|k| k.len()).unwrap_or(0)
}

/// Sets and maps keyed by encoded values (DISTINCT, set operations, hash joins): keys
/// are hashed with foldhash, several times faster than SipHash on the long keys strings
/// make, and still seeded per process.
type KeySet = HashSet<Vec<u8>, foldhash::fast::RandomState>;
type KeyMap<V> = HashMap<Vec<u8>, V, foldhash::fast::RandomState>;

/// A key interval (start, end) of a range scan.
type Span = (Bound<Vec<u8>>, Bound<Vec<u8>>);

/// Key intervals sorted by their start and merged where they overlap, so a scan of each
/// reads every key once.
fn merge_spans(mut v: Vec<Span>) -> Vec<Span> {
    fn lo_key(b: &Bound<Vec<u8>>) -> (u8, &[u8], u8) {
        match b {
            Bound::Unbounded => (0, &[], 0),
            Bound::Included(x) => (1, x, 0),
            Bound::Excluded(x) => (1, x, 1),
        }
    }
    // Whether an interval ending at `hi` shares a key with one starting at `lo`.
    fn overlaps(hi: &Bound<Vec<u8>>, lo: &Bound<Vec<u8>>) -> bool {
        match (hi, lo) {
            (Bound::Unbounded, _) | (_, Bound::Unbounded) => true,
            (Bound::Included(h), Bound::Included(l)) => l <= h,
            (Bound::Included(h), Bound::Excluded(l))
            | (Bound::Excluded(h), Bound::Included(l))
            | (Bound::Excluded(h), Bound::Excluded(l)) => l < h,
        }
    }
    // Whether the end `a` lies beyond the end `b`.
    fn beyond(a: &Bound<Vec<u8>>, b: &Bound<Vec<u8>>) -> bool {
        match (a, b) {
            (Bound::Unbounded, Bound::Unbounded) => false,
            (Bound::Unbounded, _) => true,
            (_, Bound::Unbounded) => false,
            (Bound::Included(x), Bound::Excluded(y)) => x >= y,
            (Bound::Included(x), Bound::Included(y))
            | (Bound::Excluded(x), Bound::Included(y))
            | (Bound::Excluded(x), Bound::Excluded(y)) => x > y,
        }
    }
    v.sort_by(|a, b| lo_key(&a.0).cmp(&lo_key(&b.0)));
    let mut out: Vec<Span> = Vec::with_capacity(v.len());
    for (lo, hi) in v {
        if let Some(last) = out.last_mut() {
            if overlaps(&last.1, &lo) {
                if beyond(&hi, &last.1) {
                    last.1 = hi;
                }
                continue;
            }
        }
        out.push((lo, hi));
    }
    out
}

fn as_bound(b: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match b {
        Bound::Included(v) => Bound::Included(v.as_slice()),
        Bound::Excluded(v) => Bound::Excluded(v.as_slice()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

/// `v op ANY (rows)` (all = false) or `v op ALL (rows)` with SQL's NULL rules: ANY is
/// true on the first true comparison, ALL false on the first false; otherwise NULL if a
/// comparison was NULL; an empty set gives false (ANY) or true (ALL).
/// The collation `expr op ANY (query)` compares under: the operand's marker (explicit
/// or its column's), else that of the subquery's column (a `_bin` one wins over the
/// default, as for `=`).
fn subquery_collation(expr: &Expr, query: &SubQuery) -> Collation {
    expr.collation().unwrap_or_else(|| {
        collations::output(&query.plan)
            .first()
            .copied()
            .unwrap_or_default()
    })
}

fn quantified(v: &Value, op: CmpOp, rows: &[Row], all: bool, coll: Collation) -> Result<Value> {
    let mut saw_null = false;
    for r in rows {
        if r.len() != 1 {
            return Err(Error::new(
                code::ER_OPERAND_COLUMNS,
                "Operand should contain 1 column(s)",
            ));
        }
        match cmp_values_in(op, v, &r[0], coll).to_bool() {
            None => saw_null = true,
            Some(b) if b != all => return Ok(Value::Int(!all as i64)),
            _ => {}
        }
    }
    Ok(if saw_null {
        Value::Null
    } else {
        Value::Int(all as i64)
    })
}

/// SQL comparison with NULL propagation, including row constructors.
pub fn cmp_values(op: CmpOp, a: &Value, b: &Value) -> Value {
    cmp_values_in(op, a, b, Collation::DEFAULT)
}

/// The collation a comparison of `a` and `b` runs under: the binder marks both
/// operands alike when it is not the default.
fn operands_collation(a: &Expr, b: &Expr) -> Collation {
    a.collation().or(b.collation()).unwrap_or_default()
}

/// [`cmp_values`] under a collation.
pub fn cmp_values_in(op: CmpOp, a: &Value, b: &Value, coll: Collation) -> Value {
    if op == CmpOp::NullSafeEq {
        return Value::Int(match (a.is_null(), b.is_null()) {
            (true, true) => 1,
            (true, false) | (false, true) => 0,
            _ => (compare_in(a, b, coll) == Some(Ordering::Equal)) as i64,
        });
    }
    match compare_in(a, b, coll) {
        None => Value::Null,
        Some(o) => Value::Int(match op {
            CmpOp::Eq => o == Ordering::Equal,
            CmpOp::Ne => o != Ordering::Equal,
            CmpOp::Lt => o == Ordering::Less,
            CmpOp::Le => o != Ordering::Greater,
            CmpOp::Gt => o == Ordering::Greater,
            CmpOp::Ge => o != Ordering::Less,
            CmpOp::NullSafeEq => unreachable!("handled above"),
        } as i64),
    }
}

/// A key for grouping/DISTINCT: values equal under SQL comparison map to equal keys
/// (strings by the default collation, numbers by value).
pub fn group_key(vals: &[Value]) -> Vec<u8> {
    group_key_in(vals, &[])
}

/// For each projected expression, the input column it may take by move instead of
/// copying: a plain column reference that nothing else in the list reads (a subquery
/// may read any column of the row, so none moves when there is one).
fn movable_columns(exprs: &[Expr]) -> Vec<Option<usize>> {
    if exprs.iter().any(crate::sql::from::has_subquery) {
        return vec![None; exprs.len()];
    }
    let mut uses: HashMap<usize, usize> = HashMap::new();
    for e in exprs {
        for c in crate::sql::from::col_refs(e) {
            *uses.entry(c).or_default() += 1;
        }
    }
    exprs
        .iter()
        .map(|e| match e {
            Expr::Column(i) if uses.get(i) == Some(&1) => Some(*i),
            _ => None,
        })
        .collect()
}

/// Room for a grouping key of `vals` (one allocation in the common case).
fn key_capacity(vals: &[Value]) -> usize {
    vals.iter()
        .map(|v| match v {
            Value::Str(s) => s.len() + 4,
            Value::Bytes(b) => b.len() + 4,
            _ => 24,
        })
        .sum()
}

/// [`group_key`] with column `i` under collation `colls[i]` (the default past the end).
pub fn group_key_in(vals: &[Value], colls: &[Collation]) -> Vec<u8> {
    let mut k = Vec::with_capacity(key_capacity(vals));
    for (i, v) in vals.iter().enumerate() {
        hash_key(&mut k, v, colls.get(i).copied().unwrap_or_default());
    }
    k
}

/// Like [`group_key_in`] but ordered by value (for sorted grouping output).
pub fn sort_key_in(vals: &[Value], colls: &[Collation]) -> Vec<u8> {
    let mut k = Vec::with_capacity(key_capacity(vals));
    for (i, v) in vals.iter().enumerate() {
        let coll = colls.get(i).copied().unwrap_or_default();
        match v {
            Value::Int(_) | Value::UInt(_) => encode_value(&mut k, v, coll),
            Value::Double(_) | Value::Decimal(_) => {
                let d = v.to_f64().unwrap_or(0.0);
                if d.fract() == 0.0 && d.abs() < 9.0e18 {
                    encode_value(&mut k, &Value::Int(d as i64), coll)
                } else {
                    encode_value(&mut k, &Value::Double(d), coll)
                }
            }
            _ => encode_value(&mut k, v, coll),
        }
    }
    k
}

fn hash_key(k: &mut Vec<u8>, v: &Value, coll: Collation) {
    match v {
        Value::Null => k.push(0),
        Value::Int(_) | Value::UInt(_) | Value::Double(_) | Value::Decimal(_) => {
            k.push(1);
            let d = match v {
                Value::Decimal(d) => d.normalize().to_string(),
                Value::Int(i) => i.to_string(),
                Value::UInt(u) => u.to_string(),
                Value::Double(f) => {
                    if f.fract() == 0.0 && f.abs() < 1e18 {
                        (*f as i64).to_string()
                    } else {
                        Decimal::try_from(*f)
                            .map(|d| d.normalize().to_string())
                            .unwrap_or_else(|_| f.to_string())
                    }
                }
                _ => unreachable!(),
            };
            k.extend_from_slice(d.as_bytes());
            k.push(0);
        }
        Value::Bytes(_) => {
            k.push(3);
            encode_value(k, v, Collation::BINARY);
        }
        Value::Str(_) => {
            k.push(2);
            encode_value(k, v, coll);
        }
        other => {
            k.push(2);
            let s = other.to_text().unwrap_or_default();
            encode_value(k, &Value::Str(s), Collation::DEFAULT);
        }
    }
}

fn set_op(op: SetOp, all: bool, l: Vec<Row>, r: Vec<Row>, colls: &[Collation]) -> Vec<Row> {
    let group_key = |row: &Row| group_key_in(row, colls);
    match op {
        SetOp::Union => {
            let mut out = l;
            out.extend(r);
            if !all {
                let mut seen = KeySet::default();
                out.retain(|row| seen.insert(group_key(row)));
            }
            out
        }
        SetOp::Intersect => {
            let rk: KeyMap<usize> = r.iter().fold(KeyMap::default(), |mut m, row| {
                *m.entry(group_key(row)).or_insert(0) += 1;
                m
            });
            let mut used: KeyMap<usize> = KeyMap::default();
            let mut seen = KeySet::default();
            l.into_iter()
                .filter(|row| {
                    let k = group_key(row);
                    let avail = rk.get(&k).copied().unwrap_or(0);
                    if all {
                        let u = used.entry(k).or_insert(0);
                        if *u < avail {
                            *u += 1;
                            true
                        } else {
                            false
                        }
                    } else {
                        avail > 0 && seen.insert(k)
                    }
                })
                .collect()
        }
        SetOp::Except => {
            let mut rk: KeyMap<usize> = r.iter().fold(KeyMap::default(), |mut m, row| {
                *m.entry(group_key(row)).or_insert(0) += 1;
                m
            });
            let mut seen = KeySet::default();
            l.into_iter()
                .filter(|row| {
                    let k = group_key(row);
                    if all {
                        match rk.get_mut(&k) {
                            Some(c) if *c > 0 => {
                                *c -= 1;
                                false
                            }
                            _ => true,
                        }
                    } else {
                        !rk.contains_key(&k) && seen.insert(k)
                    }
                })
                .collect()
        }
    }
}

/// Groups of one aggregation level: sort key -> (group values, aggregate states).
type Groups = BTreeMap<Vec<u8>, (Vec<Value>, Vec<AggState>)>;

/// Running state of one aggregate in one group.
pub enum AggState {
    Count(i64),
    Sum {
        int: Option<i128>,
        dec: Option<Decimal>,
        dbl: Option<f64>,
        any: bool,
    },
    Avg {
        sum: Option<Decimal>,
        dsum: f64,
        n: i64,
        double: bool,
    },
    /// The current extreme, and the collation strings compare with.
    MinMax(Option<Value>, Collation),
    /// GROUP_CONCAT's (ORDER BY values, text) items, and the ORDER BY keys' collations.
    Concat(Vec<(Vec<Value>, String)>, Vec<Collation>),
    Any(Option<Value>),
    Bits(Option<u64>),
    Var {
        n: f64,
        mean: f64,
        m2: f64,
    },
    /// Argument tuples seen (keyed under the collation), and the aggregate of the rest.
    Distinct(KeySet, Box<AggState>, Vec<Collation>),
}

/// The collations an aggregation compares with: of each GROUP BY expression and of
/// each aggregate's arguments.
pub struct AggColls {
    pub group: Vec<Collation>,
    pub args: Vec<Vec<Collation>>,
}

/// The collations of aggregate `a`'s arguments, then of its ORDER BY keys
/// (GROUP_CONCAT), over rows whose columns have `input`.
pub fn arg_collations(a: &AggCall, input: &[Collation]) -> Vec<Collation> {
    a.args
        .iter()
        .chain(a.order.iter().map(|(e, _)| e))
        .map(|x| collations::of_expr(x, input))
        .collect()
}

impl AggState {
    /// A fresh state for `a`, whose arguments then ORDER BY keys compare under `colls`
    /// (MIN/MAX, DISTINCT, GROUP_CONCAT's order; the default past the end).
    pub fn new_in(a: &AggCall, colls: Vec<Collation>) -> AggState {
        let base = match a.func {
            AggFunc::Count | AggFunc::CountStar => AggState::Count(0),
            AggFunc::Sum => AggState::Sum {
                int: None,
                dec: None,
                dbl: None,
                any: false,
            },
            AggFunc::Avg => AggState::Avg {
                sum: None,
                dsum: 0.0,
                n: 0,
                double: false,
            },
            AggFunc::Min | AggFunc::Max => {
                AggState::MinMax(None, colls.first().copied().unwrap_or_default())
            }
            AggFunc::GroupConcat => AggState::Concat(
                Vec::new(),
                colls.get(a.args.len()..).unwrap_or(&[]).to_vec(),
            ),
            AggFunc::AnyValue => AggState::Any(None),
            AggFunc::BitAnd | AggFunc::BitOr | AggFunc::BitXor => AggState::Bits(None),
            AggFunc::StdDev | AggFunc::StdDevSamp | AggFunc::Variance | AggFunc::VarSamp => {
                AggState::Var {
                    n: 0.0,
                    mean: 0.0,
                    m2: 0.0,
                }
            }
        };
        if a.distinct {
            AggState::Distinct(KeySet::default(), Box::new(base), colls)
        } else {
            base
        }
    }

    /// Fold one row's arguments (then ORDER BY keys) in. A state that keeps them takes
    /// them out of the buffers; the caller clears the buffers before reuse.
    pub fn add(&mut self, a: &AggCall, args: &mut Vec<Value>, order: &mut Vec<Value>) {
        match self {
            AggState::Distinct(seen, inner, colls) => {
                if args.iter().any(|v| v.is_null()) && a.func != AggFunc::CountStar {
                    return;
                }
                if seen.insert(group_key_in(args, colls)) {
                    inner.add(a, args, order);
                }
            }
            AggState::Count(n) => {
                if a.func == AggFunc::CountStar || args.iter().all(|v| !v.is_null()) {
                    *n += 1;
                }
            }
            AggState::Sum { int, dec, dbl, any } => {
                let v = &args[0];
                if v.is_null() {
                    return;
                }
                *any = true;
                match v {
                    Value::Int(i) if dbl.is_none() && dec.is_none() => {
                        *int = Some(int.unwrap_or(0) + *i as i128);
                    }
                    Value::UInt(u) if dbl.is_none() && dec.is_none() => {
                        *int = Some(int.unwrap_or(0) + *u as i128);
                    }
                    Value::Int(_) | Value::UInt(_) | Value::Decimal(_)
                        if dbl.is_none()
                            && dec
                                .unwrap_or_default()
                                .checked_add(v.to_decimal().unwrap_or_default())
                                .is_some() =>
                    {
                        let base = dec.take().unwrap_or_else(|| {
                            Decimal::try_from_i128_with_scale(int.take().unwrap_or(0), 0)
                                .unwrap_or(Decimal::MAX)
                        });
                        // Past Decimal's range the sum goes on as a double (next arm).
                        match base.checked_add(v.to_decimal().unwrap_or_default()) {
                            Some(x) => *dec = Some(x),
                            None => {
                                *dbl = rust_decimal::prelude::ToPrimitive::to_f64(&base)
                                    .map(|b| b + v.to_f64().unwrap_or(0.0))
                            }
                        }
                    }
                    _ => {
                        let base = dbl.take().unwrap_or_else(|| {
                            let i = int.take().map(|x| x as f64).unwrap_or(0.0);
                            let d = dec
                                .take()
                                .and_then(|d| rust_decimal::prelude::ToPrimitive::to_f64(&d))
                                .unwrap_or(0.0);
                            i + d
                        });
                        *dbl = Some(base + v.to_f64().unwrap_or(0.0));
                    }
                }
            }
            AggState::Avg {
                sum,
                dsum,
                n,
                double,
            } => {
                let v = &args[0];
                if v.is_null() {
                    return;
                }
                *n += 1;
                match v {
                    Value::Int(_) | Value::UInt(_) | Value::Decimal(_)
                        if !*double
                            && sum
                                .unwrap_or_default()
                                .checked_add(v.to_decimal().unwrap_or_default())
                                .is_some() =>
                    {
                        *sum = sum
                            .unwrap_or_default()
                            .checked_add(v.to_decimal().unwrap_or_default());
                    }
                    _ => {
                        if !*double {
                            *double = true;
                            *dsum = sum
                                .take()
                                .and_then(|d| rust_decimal::prelude::ToPrimitive::to_f64(&d))
                                .unwrap_or(0.0);
                        }
                        *dsum += v.to_f64().unwrap_or(0.0);
                    }
                }
            }
            AggState::MinMax(cur, coll) => {
                let v = args
                    .first_mut()
                    .map(|v| std::mem::replace(v, Value::Null))
                    .unwrap_or(Value::Null);
                if v.is_null() {
                    return;
                }
                let replace = match cur {
                    None => true,
                    Some(c) => {
                        let o = compare_in(&v, c, *coll).unwrap_or(Ordering::Equal);
                        if a.func == AggFunc::Min {
                            o == Ordering::Less
                        } else {
                            o == Ordering::Greater
                        }
                    }
                };
                if replace {
                    *cur = Some(v);
                }
            }
            AggState::Concat(items, _) => {
                if args.iter().any(|v| v.is_null()) {
                    return;
                }
                let s: String = args
                    .iter()
                    .map(|v| v.to_text().unwrap_or_default())
                    .collect();
                items.push((std::mem::take(order), s));
            }
            AggState::Any(cur) => {
                if cur.is_none() {
                    *cur = Some(
                        args.first_mut()
                            .map(|v| std::mem::replace(v, Value::Null))
                            .unwrap_or(Value::Null),
                    );
                }
            }
            AggState::Bits(cur) => {
                let v = &args[0];
                if v.is_null() {
                    return;
                }
                let x = v.to_i64().unwrap_or(0) as u64;
                *cur = Some(match (a.func, *cur) {
                    (AggFunc::BitAnd, None) => x,
                    (AggFunc::BitAnd, Some(c)) => c & x,
                    (AggFunc::BitOr, c) => c.unwrap_or(0) | x,
                    (_, c) => c.unwrap_or(0) ^ x,
                });
            }
            AggState::Var { n, mean, m2 } => {
                let v = &args[0];
                if v.is_null() {
                    return;
                }
                let x = v.to_f64().unwrap_or(0.0);
                *n += 1.0;
                let d = x - *mean;
                *mean += d / *n;
                *m2 += d * (x - *mean);
            }
        }
    }

    pub fn finish(&self, a: &AggCall) -> Value {
        match self {
            AggState::Distinct(_, inner, _) => inner.finish(a),
            AggState::Count(n) => Value::Int(*n),
            AggState::Sum { int, dec, dbl, any } => {
                if !*any {
                    Value::Null
                } else if let Some(d) = dbl {
                    Value::Double(*d)
                } else if let Some(d) = dec {
                    Value::Decimal(*d)
                } else {
                    let i = int.unwrap_or(0);
                    Value::Decimal(Decimal::try_from_i128_with_scale(i, 0).unwrap_or_default())
                }
            }
            AggState::Avg {
                sum,
                dsum,
                n,
                double,
            } => {
                if *n == 0 {
                    Value::Null
                } else if *double {
                    Value::Double(dsum / *n as f64)
                } else {
                    let s = sum.unwrap_or_default();
                    let scale = (s.scale() + 4).min(28);
                    let mut d = (s / Decimal::from(*n)).round_dp(scale);
                    d.rescale(scale);
                    Value::Decimal(d)
                }
            }
            AggState::MinMax(v, _) => v.clone().unwrap_or(Value::Null),
            AggState::Concat(items, order_colls) => {
                if items.is_empty() {
                    return Value::Null;
                }
                let mut items: Vec<&(Vec<Value>, String)> = items.iter().collect();
                if !a.order.is_empty() {
                    items.sort_by(|x, y| {
                        for (i, (_, desc)) in a.order.iter().enumerate() {
                            let coll = order_colls.get(i).copied().unwrap_or_default();
                            let o = sort_cmp_in(&x.0[i], &y.0[i], coll);
                            let o = if *desc { o.reverse() } else { o };
                            if o != Ordering::Equal {
                                return o;
                            }
                        }
                        Ordering::Equal
                    });
                }
                let mut s = items
                    .iter()
                    .map(|(_, s)| s.as_str())
                    .collect::<Vec<_>>()
                    .join(&a.separator);
                if s.len() > 1024 {
                    let mut cut = 1024;
                    while !s.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    s.truncate(cut);
                }
                Value::Str(s)
            }
            AggState::Any(v) => v.clone().unwrap_or(Value::Null),
            AggState::Bits(v) => Value::UInt(v.unwrap_or(if a.func == AggFunc::BitAnd {
                u64::MAX
            } else {
                0
            })),
            AggState::Var { n, m2, .. } => {
                if *n == 0.0 {
                    return Value::Null;
                }
                match a.func {
                    AggFunc::Variance => Value::Double(m2 / n),
                    AggFunc::StdDev => Value::Double((m2 / n).sqrt()),
                    AggFunc::VarSamp if *n > 1.0 => Value::Double(m2 / (n - 1.0)),
                    AggFunc::StdDevSamp if *n > 1.0 => Value::Double((m2 / (n - 1.0)).sqrt()),
                    _ => Value::Null,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inc(x: u8) -> Bound<Vec<u8>> {
        Bound::Included(vec![x])
    }
    fn exc(x: u8) -> Bound<Vec<u8>> {
        Bound::Excluded(vec![x])
    }

    #[test]
    fn spans_merge_where_they_share_keys() {
        let merged = merge_spans(vec![
            (inc(5), inc(8)),
            (inc(1), inc(3)),
            (inc(3), inc(4)),
            (inc(7), inc(9)),
            (exc(12), inc(14)),
            (inc(10), exc(12)),
            (inc(20), Bound::Unbounded),
            (inc(30), inc(31)),
        ]);
        assert_eq!(
            merged,
            vec![
                (inc(1), inc(4)),
                (inc(5), inc(9)),
                // Key 12 is in neither: the two stay apart.
                (inc(10), exc(12)),
                (exc(12), inc(14)),
                (inc(20), Bound::Unbounded),
            ]
        );
        let merged = merge_spans(vec![(Bound::Unbounded, inc(2)), (inc(2), inc(3))]);
        assert_eq!(merged, vec![(Bound::Unbounded, inc(3))]);
    }
}
