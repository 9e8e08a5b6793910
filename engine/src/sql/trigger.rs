//! Triggers: CREATE/DROP TRIGGER (parsed here: sqlparser's MySQL trigger grammar does
//! not take MySQL's compound bodies), the trigger body as a small program (INSERT,
//! UPDATE, DELETE, `SET NEW.col/@v/local = ...`, DECLARE, SELECT ... INTO, SIGNAL,
//! IF/ELSEIF/ELSE, nested BEGIN ... END), and firing a table's triggers for one row from
//! INSERT/UPDATE/DELETE (and REPLACE, ON DUPLICATE KEY UPDATE).
//!
//! Invariants: a trigger body runs in the firing statement's transaction, through the
//! same DML code as top-level statements, so its writes roll back with the statement.
//! `NEW.col`/`OLD.col` and local variables are rewritten to numbered parameters bound to
//! their current values before each step, so an assignment is visible to the steps after
//! it. The
//! tables of the triggers being run form a stack: a trigger statement that writes to a
//! table on it fails with 1442 (this is also what stops trigger recursion).

use std::collections::HashMap;
use std::sync::Arc;

use sqlparser::ast;

use crate::catalog::{
    keys, lc, to_record, Catalog, TableDef, TriggerDef, TriggerEvent, TriggerTiming,
};
use crate::database::Shared;
use crate::error::{code, Error, Result};
use crate::result::{Column, ColumnType, QueryResult, Row};
use crate::sql::bind::{ident_names, Binder, Scope};
use crate::sql::coerce::store_value;
use crate::sql::exec::Exec;
use crate::sql::parse::parse_one;
use crate::value::Value;

const ER_TRG_IN_WRONG_SCHEMA: u16 = 1435;
const ER_NO_SUCH_TRG_ROW: u16 = 1363;
const ER_TRG_CANT_CHANGE_ROW: u16 = 1362;
const ER_CANT_UPDATE_USED_TABLE: u16 = 1442;
const ER_SP_NO_RETSET: u16 = 1415;
const ER_SP_DUP_VAR: u16 = 1331;
const ER_SP_UNDECLARED_VAR: u16 = 1327;
const ER_SP_FETCH_NO_DATA: u16 = 1329;
const ER_TOO_MANY_ROWS: u16 = 1172;
const ER_SP_WRONG_NO_OF_FETCH_ARGS: u16 = 1222;
const ER_WRONG_OBJECT: u16 = 1347;
const ER_REFERENCED_TRG_DOES_NOT_EXIST: u16 = 3011;
const ER_SIGNAL_EXCEPTION: u16 = code::ER_SIGNAL_EXCEPTION;
const ER_SP_BAD_SQLSTATE: u16 = 1407;

// ------------------------------------------------------------------------- lexing

#[derive(Clone, Debug, PartialEq)]
enum TokKind {
    /// An unquoted word (keyword or identifier).
    Word,
    /// A `backquoted` identifier (the text without quotes).
    Quoted,
    /// A string literal, number, `@var`, or any other single lexeme.
    Other,
    Punct(char),
}

#[derive(Clone, Debug)]
struct Tok {
    kind: TokKind,
    text: String,
    start: usize,
    end: usize,
}

impl Tok {
    fn is(&self, w: &str) -> bool {
        self.kind == TokKind::Word && self.text.eq_ignore_ascii_case(w)
    }
    fn is_punct(&self, c: char) -> bool {
        self.kind == TokKind::Punct(c)
    }
    /// The identifier this token names, if it can name one.
    fn ident(&self) -> Option<String> {
        match self.kind {
            TokKind::Word | TokKind::Quoted => Some(self.text.clone()),
            _ => None,
        }
    }
}

fn lex(sql: &str) -> Vec<Tok> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        if c == b'#' || (c == b'-' && b.get(i + 1) == Some(&b'-')) {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if c == b'/' && b.get(i + 1) == Some(&b'*') {
            i += 2;
            while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                i += 1;
            }
            i = (i + 2).min(b.len());
            continue;
        }
        if c == b'\'' || c == b'"' || c == b'`' {
            let mut j = i + 1;
            let mut text = String::new();
            while j < b.len() {
                if b[j] == b'\\' && c != b'`' && j + 1 < b.len() {
                    j += 2;
                    continue;
                }
                if b[j] == c {
                    if b.get(j + 1) == Some(&c) {
                        j += 2;
                        continue;
                    }
                    break;
                }
                j += 1;
            }
            let end = (j + 1).min(b.len());
            if c == b'`' {
                text.push_str(&sql[i + 1..j.min(b.len())].replace("``", "`"));
            } else {
                text.push_str(&sql[i..end]);
            }
            out.push(Tok {
                kind: if c == b'`' {
                    TokKind::Quoted
                } else {
                    TokKind::Other
                },
                text,
                start,
                end,
            });
            i = end;
            continue;
        }
        if c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80 || c == b'@' {
            let mut j = i + 1;
            while j < b.len()
                && (b[j].is_ascii_alphanumeric()
                    || b[j] == b'_'
                    || b[j] == b'$'
                    || b[j] >= 0x80
                    || (c == b'@' && b[j] == b'@'))
            {
                j += 1;
            }
            let kind = if c == b'@' || c.is_ascii_digit() {
                TokKind::Other
            } else {
                TokKind::Word
            };
            out.push(Tok {
                kind,
                text: sql[i..j].to_string(),
                start,
                end: j,
            });
            i = j;
            continue;
        }
        // Multi-byte operators matter only as "not a single '=' or ';'".
        let two = &b[i..(i + 2).min(b.len())];
        let len = if matches!(two, b":=" | b"<=" | b">=" | b"<>" | b"!=") {
            2
        } else {
            1
        };
        out.push(Tok {
            kind: if len == 1 {
                TokKind::Punct(c as char)
            } else {
                TokKind::Other
            },
            text: sql[i..i + len].to_string(),
            start,
            end: i + len,
        });
        i += len;
    }
    out
}

// ------------------------------------------------------------------ CREATE / DROP

/// Where a new trigger goes among the table's triggers of the same timing and event.
#[derive(Clone, Debug, PartialEq)]
pub enum TriggerOrder {
    Last,
    Follows(String),
    Precedes(String),
}

/// A parsed CREATE TRIGGER.
#[derive(Clone, Debug)]
pub struct CreateTrigger {
    pub if_not_exists: bool,
    pub db: Option<String>,
    pub name: String,
    pub timing: TriggerTiming,
    pub event: TriggerEvent,
    pub table_db: Option<String>,
    pub table: String,
    pub order: TriggerOrder,
    pub body: String,
}

/// Is `text` a CREATE TRIGGER or DROP TRIGGER statement (which we parse ourselves)?
pub fn is_trigger_statement(text: &str) -> bool {
    let head = text.trim_start();
    let starts = |w: &str| {
        head.get(..w.len())
            .is_some_and(|h| h.eq_ignore_ascii_case(w))
    };
    if !(starts("create") || starts("drop") || starts("/*!")) {
        return false;
    }
    let text = normalize(text);
    let toks = lex(&text);
    let mut i = 0;
    if toks.first().is_some_and(|t| t.is("drop")) {
        return toks.get(1).is_some_and(|t| t.is("trigger"));
    }
    if !toks.first().is_some_and(|t| t.is("create")) {
        return false;
    }
    i += 1;
    skip_definer(&toks, &mut i);
    toks.get(i).is_some_and(|t| t.is("trigger"))
}

/// Is `stmt` (a statement's text so far) a CREATE TRIGGER whose BEGIN ... END body is
/// still open? Statement splitting must not cut it at the body's semicolons.
pub fn inside_compound(stmt: &str) -> bool {
    let low = stmt.trim_start();
    if !low
        .get(..6)
        .is_some_and(|h| h.eq_ignore_ascii_case("create"))
        || !is_trigger_statement(stmt)
    {
        return false;
    }
    let toks = lex(stmt);
    let mut depth = 0i32;
    let mut k = 0;
    while k < toks.len() {
        let t = &toks[k];
        if t.is("begin") || t.is("case") {
            depth += 1;
        } else if t.is("end") {
            match toks.get(k + 1) {
                Some(n) if n.is("case") => {
                    depth -= 1;
                    k += 1;
                }
                Some(n) if n.is("if") || n.is("loop") || n.is("while") || n.is("repeat") => {
                    k += 1;
                }
                _ => depth -= 1,
            }
        }
        k += 1;
    }
    depth > 0
}

fn skip_definer(toks: &[Tok], i: &mut usize) {
    if toks.get(*i).is_some_and(|t| t.is("definer")) {
        *i += 1;
        if toks.get(*i).is_some_and(|t| t.is_punct('=')) {
            *i += 1;
        }
        // user[@host] or CURRENT_USER[()]
        *i += 1;
        if toks.get(*i).is_some_and(|t| t.is_punct('(')) {
            *i += 2;
        }
        if toks
            .get(*i)
            .is_some_and(|t| t.kind == TokKind::Other && t.text.starts_with('@'))
        {
            // `user`@`host` lexes the host with its '@' as one token when unquoted.
            let whole = toks[*i].text.len() > 1;
            *i += 1;
            if !whole {
                *i += 1;
            }
        }
    }
}

fn syntax_error(text: &str, toks: &[Tok], i: usize) -> Error {
    let near = toks.get(i).map(|t| &text[t.start..]).unwrap_or("");
    Error::parse(near.chars().take(80).collect::<String>())
}

/// `[db.]name` at `i`.
fn qualified_name(text: &str, toks: &[Tok], i: &mut usize) -> Result<(Option<String>, String)> {
    let first = toks
        .get(*i)
        .and_then(|t| t.ident())
        .ok_or_else(|| syntax_error(text, toks, *i))?;
    *i += 1;
    if toks.get(*i).is_some_and(|t| t.is_punct('.')) {
        let second = toks
            .get(*i + 1)
            .and_then(|t| t.ident())
            .ok_or_else(|| syntax_error(text, toks, *i + 1))?;
        *i += 2;
        return Ok((Some(first), second));
    }
    Ok((None, first))
}

/// The statement with MySQL's versioned comments applied (mysqldump writes
/// `/*!50003 CREATE*/ /*!50017 DEFINER=...*/ /*!50003 TRIGGER ... */`).
fn normalize(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains("/*!") {
        std::borrow::Cow::Owned(crate::sql::parse::preprocess(text).trim().to_string())
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

pub fn parse_create(text: &str) -> Result<CreateTrigger> {
    let text = normalize(text);
    let text = text.as_ref();
    let toks = lex(text);
    let mut i = 1;
    skip_definer(&toks, &mut i);
    let expect = |i: &mut usize, w: &str| -> Result<()> {
        if toks.get(*i).is_some_and(|t| t.is(w)) {
            *i += 1;
            Ok(())
        } else {
            Err(syntax_error(text, &toks, *i))
        }
    };
    expect(&mut i, "trigger")?;
    let mut if_not_exists = false;
    if toks.get(i).is_some_and(|t| t.is("if")) {
        i += 1;
        expect(&mut i, "not")?;
        expect(&mut i, "exists")?;
        if_not_exists = true;
    }
    let (db, name) = qualified_name(text, &toks, &mut i)?;
    let timing = match toks.get(i) {
        Some(t) if t.is("before") => TriggerTiming::Before,
        Some(t) if t.is("after") => TriggerTiming::After,
        _ => return Err(syntax_error(text, &toks, i)),
    };
    i += 1;
    let event = match toks.get(i) {
        Some(t) if t.is("insert") => TriggerEvent::Insert,
        Some(t) if t.is("update") => TriggerEvent::Update,
        Some(t) if t.is("delete") => TriggerEvent::Delete,
        _ => return Err(syntax_error(text, &toks, i)),
    };
    i += 1;
    expect(&mut i, "on")?;
    let (table_db, table) = qualified_name(text, &toks, &mut i)?;
    expect(&mut i, "for")?;
    expect(&mut i, "each")?;
    expect(&mut i, "row")?;
    let order = match toks.get(i) {
        Some(t) if t.is("follows") || t.is("precedes") => {
            let follows = t.is("follows");
            i += 1;
            let other = toks
                .get(i)
                .and_then(|t| t.ident())
                .ok_or_else(|| syntax_error(text, &toks, i))?;
            i += 1;
            if follows {
                TriggerOrder::Follows(other)
            } else {
                TriggerOrder::Precedes(other)
            }
        }
        _ => TriggerOrder::Last,
    };
    let Some(body_tok) = toks.get(i) else {
        return Err(syntax_error(text, &toks, i));
    };
    let body = text[body_tok.start..]
        .trim()
        .trim_end_matches(';')
        .trim_end()
        .to_string();
    Ok(CreateTrigger {
        if_not_exists,
        db,
        name,
        timing,
        event,
        table_db,
        table,
        order,
        body,
    })
}

/// DROP TRIGGER [IF EXISTS] [db.]name -> (if_exists, db, name).
pub fn parse_drop(text: &str) -> Result<(bool, Option<String>, String)> {
    let text = normalize(text);
    let text = text.as_ref();
    let toks = lex(text);
    let mut i = 2;
    let mut if_exists = false;
    if toks.get(i).is_some_and(|t| t.is("if")) {
        if !toks.get(i + 1).is_some_and(|t| t.is("exists")) {
            return Err(syntax_error(text, &toks, i + 1));
        }
        if_exists = true;
        i += 2;
    }
    let (db, name) = qualified_name(text, &toks, &mut i)?;
    if i < toks.len() {
        return Err(syntax_error(text, &toks, i));
    }
    Ok((if_exists, db, name))
}

fn timing_name(t: TriggerTiming) -> &'static str {
    match t {
        TriggerTiming::Before => "BEFORE",
        TriggerTiming::After => "AFTER",
    }
}

fn event_name(e: TriggerEvent) -> &'static str {
    match e {
        TriggerEvent::Insert => "INSERT",
        TriggerEvent::Update => "UPDATE",
        TriggerEvent::Delete => "DELETE",
    }
}

/// CREATE TRIGGER: validate the body against the table, then add the trigger to the
/// catalog (renumbering the others of its timing and event when FOLLOWS/PRECEDES).
pub fn create_trigger(
    sh: &Shared,
    cat: &Catalog,
    current_db: Option<&str>,
    definer: &str,
    sql_mode: &str,
    text: &str,
) -> Result<QueryResult> {
    let ct = parse_create(text)?;
    let tdb = ct
        .table_db
        .clone()
        .or_else(|| ct.db.clone())
        .or_else(|| current_db.map(str::to_string))
        .ok_or_else(Error::no_db)?;
    let db = ct.db.clone().unwrap_or_else(|| tdb.clone());
    if !db.eq_ignore_ascii_case(&tdb) {
        return Err(Error::new(
            ER_TRG_IN_WRONG_SCHEMA,
            "Trigger in wrong schema",
        ));
    }
    if cat.view(&tdb, &ct.table).is_some() {
        return Err(Error::new(
            ER_WRONG_OBJECT,
            format!("'{tdb}.{}' is not BASE TABLE", ct.table),
        ));
    }
    let table = cat.get_table(&tdb, &ct.table)?.clone();
    // Compile now: syntax errors and bad NEW/OLD references fail the CREATE.
    compile(&ct.body, &table, ct.timing, ct.event)?;
    let created = crate::temporal::DateTime::now_utc().format_fsp(2);
    sh.ddl(|cat, w| {
        if cat.trigger(&db, &ct.name).is_some() {
            if ct.if_not_exists {
                return Ok(QueryResult::ok(0));
            }
            return Err(Error::new(
                code::ER_TRG_ALREADY_EXISTS,
                "Trigger already exists",
            ));
        }
        let mut peers: Vec<TriggerDef> = cat
            .triggers_for(&db, &table.name, ct.timing, ct.event)
            .into_iter()
            .map(|t| (*t).clone())
            .collect();
        let pos = match &ct.order {
            TriggerOrder::Last => peers.len(),
            TriggerOrder::Follows(o) | TriggerOrder::Precedes(o) => {
                let at = peers
                    .iter()
                    .position(|t| t.name.eq_ignore_ascii_case(o))
                    .ok_or_else(|| {
                        Error::new(
                            ER_REFERENCED_TRG_DOES_NOT_EXIST,
                            format!(
                                "Referenced trigger '{o}' for the given action time and event type does not exist."
                            ),
                        )
                    })?;
                if matches!(ct.order, TriggerOrder::Follows(_)) {
                    at + 1
                } else {
                    at
                }
            }
        };
        let order_clause = match &ct.order {
            TriggerOrder::Last => String::new(),
            TriggerOrder::Follows(o) => format!("FOLLOWS `{o}` "),
            TriggerOrder::Precedes(o) => format!("PRECEDES `{o}` "),
        };
        let def = TriggerDef {
            db: cat
                .dbs
                .get(&lc(&db))
                .map(|d| d.name.clone())
                .unwrap_or_else(|| db.clone()),
            name: ct.name.clone(),
            table: table.name.clone(),
            timing: ct.timing,
            event: ct.event,
            order: 0,
            body: ct.body.clone(),
            statement: format!(
                "CREATE DEFINER={definer} TRIGGER `{}` {} {} ON `{}` FOR EACH ROW {order_clause}{}",
                ct.name,
                timing_name(ct.timing),
                event_name(ct.event),
                table.name,
                ct.body
            ),
            created: created.clone(),
            sql_mode: sql_mode.to_string(),
            definer: definer.to_string(),
        };
        peers.insert(pos, def);
        for (k, mut t) in peers.into_iter().enumerate() {
            let order = k as u32 + 1;
            let is_new = t.name.eq_ignore_ascii_case(&ct.name);
            if t.order == order && !is_new {
                continue;
            }
            t.order = order;
            w.put(sh.system_tree(), &keys::trigger(&t.db, &t.name), &to_record(&t))?;
            cat.triggers.insert((lc(&t.db), lc(&t.name)), Arc::new(t));
        }
        Ok(QueryResult::ok(0))
    })
}

/// DROP TRIGGER.
pub fn drop_trigger(sh: &Shared, current_db: Option<&str>, text: &str) -> Result<QueryResult> {
    let (if_exists, db, name) = parse_drop(text)?;
    let db = db
        .or_else(|| current_db.map(str::to_string))
        .ok_or_else(Error::no_db)?;
    sh.ddl(|cat, w| {
        let Some(t) = cat.trigger(&db, &name).cloned() else {
            if if_exists {
                return Ok(QueryResult::ok(0));
            }
            return Err(Error::new(
                code::ER_TRG_DOES_NOT_EXIST,
                "Trigger does not exist",
            ));
        };
        remove_trigger(sh, cat, w, &t)?;
        Ok(QueryResult::ok(0))
    })
}

/// Remove one trigger and close the gap in its peers' order.
fn remove_trigger(
    sh: &Shared,
    cat: &mut Catalog,
    w: &mut dyn crate::store::TreeWrite,
    t: &TriggerDef,
) -> Result<()> {
    w.delete(sh.system_tree(), &keys::trigger(&t.db, &t.name))?;
    cat.triggers.remove(&(lc(&t.db), lc(&t.name)));
    let peers = cat.triggers_for(&t.db, &t.table, t.timing, t.event);
    for (k, p) in peers.into_iter().enumerate() {
        let order = k as u32 + 1;
        if p.order != order {
            let mut p = (*p).clone();
            p.order = order;
            w.put(
                sh.system_tree(),
                &keys::trigger(&p.db, &p.name),
                &to_record(&p),
            )?;
            cat.triggers.insert((lc(&p.db), lc(&p.name)), Arc::new(p));
        }
    }
    Ok(())
}

/// Inside a DDL batch: drop the triggers of a table being dropped.
pub fn drop_for_table(
    sh: &Shared,
    cat: &mut Catalog,
    w: &mut dyn crate::store::TreeWrite,
    db: &str,
    table: &str,
) -> Result<()> {
    let names: Vec<Arc<TriggerDef>> = cat.triggers_on(db, table).into_iter().cloned().collect();
    for t in names {
        w.delete(sh.system_tree(), &keys::trigger(&t.db, &t.name))?;
        cat.triggers.remove(&(lc(&t.db), lc(&t.name)));
    }
    Ok(())
}

/// Inside a DDL batch: a table was renamed; its triggers follow it (within its
/// database; MySQL refuses to move a table with triggers to another database).
pub fn rename_table(
    sh: &Shared,
    cat: &mut Catalog,
    w: &mut dyn crate::store::TreeWrite,
    (odb, oname): (&str, &str),
    (ndb, nname): (&str, &str),
) -> Result<()> {
    let trigs: Vec<Arc<TriggerDef>> = cat.triggers_on(odb, oname).into_iter().cloned().collect();
    if trigs.is_empty() {
        return Ok(());
    }
    if !odb.eq_ignore_ascii_case(ndb) {
        return Err(Error::new(
            ER_TRG_IN_WRONG_SCHEMA,
            "Trigger in wrong schema",
        ));
    }
    for t in trigs {
        let mut t = (*t).clone();
        t.table = nname.to_string();
        w.put(
            sh.system_tree(),
            &keys::trigger(&t.db, &t.name),
            &to_record(&t),
        )?;
        cat.triggers.insert((lc(&t.db), lc(&t.name)), Arc::new(t));
    }
    Ok(())
}

// ------------------------------------------------------------------- metadata

fn vs(name: &str) -> Column {
    Column::computed(name, ColumnType::VarString)
}

fn s(v: impl Into<String>) -> Value {
    Value::Str(v.into())
}

/// SHOW TRIGGERS [FROM db] rows (LIKE filters the table name, as MySQL does).
pub fn show_triggers(cat: &Catalog, db: &str, like: Option<&str>) -> (Vec<Column>, Vec<Row>) {
    let cols = [
        "Trigger",
        "Event",
        "Table",
        "Statement",
        "Timing",
        "Created",
        "sql_mode",
        "Definer",
        "character_set_client",
        "collation_connection",
        "Database Collation",
    ];
    let mut trigs: Vec<&Arc<TriggerDef>> = cat
        .triggers_in(db)
        .into_iter()
        .filter(|t| like.is_none_or(|p| crate::sql::show::like_match(&t.table, p)))
        .collect();
    trigs.sort_by(|a, b| {
        (lc(&a.table), a.event as u8, a.timing as u8, a.order).cmp(&(
            lc(&b.table),
            b.event as u8,
            b.timing as u8,
            b.order,
        ))
    });
    let rows = trigs
        .into_iter()
        .map(|t| {
            vec![
                s(t.name.clone()),
                s(event_name(t.event)),
                s(t.table.clone()),
                s(t.body.clone()),
                s(timing_name(t.timing)),
                s(t.created.clone()),
                s(t.sql_mode.clone()),
                s(t.definer.replace('`', "")),
                s("utf8mb4"),
                s("utf8mb4_0900_ai_ci"),
                s("utf8mb4_0900_ai_ci"),
            ]
        })
        .collect();
    (cols.iter().map(|c| vs(c)).collect(), rows)
}

/// SHOW CREATE TRIGGER [db.]name.
pub fn show_create(cat: &Catalog, db: &str, name: &str) -> Result<(Vec<Column>, Vec<Row>)> {
    let t = cat
        .trigger(db, name)
        .ok_or_else(|| Error::new(code::ER_TRG_DOES_NOT_EXIST, "Trigger does not exist"))?;
    let cols = [
        "Trigger",
        "sql_mode",
        "SQL Original Statement",
        "character_set_client",
        "collation_connection",
        "Database Collation",
        "Created",
    ];
    let row = vec![
        s(t.name.clone()),
        s(t.sql_mode.clone()),
        s(t.statement.clone()),
        s("utf8mb4"),
        s("utf8mb4_0900_ai_ci"),
        s("utf8mb4_0900_ai_ci"),
        s(t.created.clone()),
    ];
    Ok((cols.iter().map(|c| vs(c)).collect(), vec![row]))
}

/// information_schema.TRIGGERS.
pub fn information_schema(cat: &Catalog) -> (Vec<Column>, Vec<Row>) {
    let cols = [
        "TRIGGER_CATALOG",
        "TRIGGER_SCHEMA",
        "TRIGGER_NAME",
        "EVENT_MANIPULATION",
        "EVENT_OBJECT_CATALOG",
        "EVENT_OBJECT_SCHEMA",
        "EVENT_OBJECT_TABLE",
        "ACTION_ORDER",
        "ACTION_CONDITION",
        "ACTION_STATEMENT",
        "ACTION_ORIENTATION",
        "ACTION_TIMING",
        "ACTION_REFERENCE_OLD_TABLE",
        "ACTION_REFERENCE_NEW_TABLE",
        "ACTION_REFERENCE_OLD_ROW",
        "ACTION_REFERENCE_NEW_ROW",
        "CREATED",
        "SQL_MODE",
        "DEFINER",
        "CHARACTER_SET_CLIENT",
        "COLLATION_CONNECTION",
        "DATABASE_COLLATION",
    ];
    let rows = cat
        .triggers
        .values()
        .map(|t| {
            vec![
                s("def"),
                s(t.db.clone()),
                s(t.name.clone()),
                s(event_name(t.event)),
                s("def"),
                s(t.db.clone()),
                s(t.table.clone()),
                Value::UInt(t.order as u64),
                Value::Null,
                s(t.body.clone()),
                s("ROW"),
                s(timing_name(t.timing)),
                Value::Null,
                Value::Null,
                s("OLD"),
                s("NEW"),
                s(t.created.clone()),
                s(t.sql_mode.clone()),
                s(t.definer.replace('`', "")),
                s("utf8mb4"),
                s("utf8mb4_0900_ai_ci"),
                s("utf8mb4_0900_ai_ci"),
            ]
        })
        .collect();
    let mut columns: Vec<Column> = cols.iter().map(|c| vs(c)).collect();
    columns[7] = Column::computed("ACTION_ORDER", ColumnType::LongLong);
    (columns, rows)
}

// ------------------------------------------------------------- body program

/// One step of a compiled trigger body. Expressions and statements have their
/// `NEW.col`/`OLD.col` references replaced by parameters (see [`Program::refs`]).
#[derive(Clone, Debug)]
enum Step {
    /// INSERT/UPDATE/DELETE, with the table it writes ([db], table).
    Dml(Box<ast::Statement>, (Option<String>, String), String),
    SetNew(usize, ast::Expr),
    SetUser(String, ast::Expr),
    /// (condition, steps) branches in order, then the ELSE steps.
    If(Vec<(ast::Expr, Vec<Step>)>, Vec<Step>),
    /// SIGNAL: the error code and the MESSAGE_TEXT expression.
    Signal(u16, Option<ast::Expr>),
    /// DECLARE (with its DEFAULT, else NULL) or SET of a local variable.
    SetLocal(usize, Option<ast::Expr>),
    /// SELECT ... INTO: the query (text for the binder) and where each column goes.
    SelectInto(Box<ast::Query>, Vec<IntoTarget>, String),
}

/// A SELECT ... INTO destination.
#[derive(Clone, Debug)]
enum IntoTarget {
    Local(usize),
    User(String),
}

/// What parameter k of a compiled body stands for.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Ref {
    New(usize),
    Old(usize),
    Local(usize),
}

/// A compiled trigger body.
#[derive(Clone, Debug, Default)]
pub struct Program {
    steps: Vec<Step>,
    /// Parameter k+1 of every step.
    refs: Vec<Ref>,
    /// DECLAREd variables (name and type), by index.
    locals: Vec<crate::catalog::ColumnDef>,
}

/// Per-statement trigger state, carried by the executor.
#[derive(Default)]
pub struct TriggerCtx {
    /// (db, table) of the triggers running, outermost first.
    stack: Vec<(String, String)>,
    programs: HashMap<(String, String), Arc<Program>>,
}

struct Compiler<'a> {
    text: &'a str,
    toks: Vec<Tok>,
    table: &'a TableDef,
    timing: TriggerTiming,
    event: TriggerEvent,
    refs: Vec<Ref>,
    locals: Vec<crate::catalog::ColumnDef>,
    /// Local variable names visible here (innermost last) -> index in `locals`.
    scope: Vec<(String, usize)>,
    /// Where the innermost BEGIN ... END block's names start in `scope`.
    block_start: usize,
}

/// Compile a trigger body for `table`.
pub fn compile(
    body: &str,
    table: &TableDef,
    timing: TriggerTiming,
    event: TriggerEvent,
) -> Result<Program> {
    let mut c = Compiler {
        text: body,
        toks: lex(body),
        table,
        timing,
        event,
        refs: Vec::new(),
        locals: Vec::new(),
        scope: Vec::new(),
        block_start: 0,
    };
    let mut i = 0;
    let mut steps = Vec::new();
    c.statement(&mut i, &mut steps, true)?;
    while c.tok(i).is_some_and(|t| t.is_punct(';')) {
        i += 1;
    }
    if i < c.toks.len() {
        return Err(c.err(i));
    }
    Ok(Program {
        steps,
        refs: c.refs,
        locals: c.locals,
    })
}

impl Compiler<'_> {
    fn err(&self, i: usize) -> Error {
        syntax_error(self.text, &self.toks, i)
    }

    fn tok(&self, i: usize) -> Option<&Tok> {
        self.toks.get(i)
    }

    fn expect(&self, i: &mut usize, w: &str) -> Result<()> {
        if self.tok(*i).is_some_and(|t| t.is(w)) {
            *i += 1;
            Ok(())
        } else {
            Err(self.err(*i))
        }
    }

    /// Statements until one of `ends` (a word at statement start) is next.
    fn list(&mut self, i: &mut usize, ends: &[&str]) -> Result<Vec<Step>> {
        let mut steps = Vec::new();
        loop {
            match self.tok(*i) {
                None => return Err(self.err(*i)),
                Some(t) if ends.iter().any(|e| t.is(e)) => return Ok(steps),
                Some(t) if t.is_punct(';') => *i += 1,
                Some(_) => {
                    self.statement(i, &mut steps, false)?;
                    match self.tok(*i) {
                        Some(t) if t.is_punct(';') => *i += 1,
                        _ => return Err(self.err(*i)),
                    }
                }
            }
        }
    }

    /// The end (exclusive token index) of a simple statement starting at `i`: the next
    /// `;` outside parentheses, or the end of the body.
    fn simple_end(&self, i: usize) -> usize {
        let mut depth = 0i32;
        let mut j = i;
        while let Some(t) = self.tok(j) {
            match t.kind {
                TokKind::Punct('(') => depth += 1,
                TokKind::Punct(')') => depth -= 1,
                TokKind::Punct(';') if depth <= 0 => break,
                _ => {}
            }
            j += 1;
        }
        j
    }

    fn slice(&self, from: usize, to: usize) -> &str {
        if from >= to {
            return "";
        }
        &self.text[self.toks[from].start..self.toks[to - 1].end]
    }

    fn statement(&mut self, i: &mut usize, out: &mut Vec<Step>, top: bool) -> Result<()> {
        let Some(t) = self.tok(*i).cloned() else {
            return Err(self.err(*i));
        };
        if t.is("begin") {
            *i += 1;
            let mark = self.scope.len();
            let outer = std::mem::replace(&mut self.block_start, mark);
            let steps = self.list(i, &["end"]);
            self.scope.truncate(mark);
            self.block_start = outer;
            let steps = steps?;
            self.expect(i, "end")?;
            out.extend(steps);
            if top && self.tok(*i).is_some_and(|t| t.is_punct(';')) {
                *i += 1;
            }
            return Ok(());
        }
        if t.is("if") {
            *i += 1;
            let mut branches = Vec::new();
            let mut otherwise = Vec::new();
            loop {
                let cond_start = *i;
                let cond_end = self.then_pos(*i)?;
                let cond = self.expr(cond_start, cond_end)?;
                *i = cond_end + 1;
                let steps = self.list(i, &["elseif", "else", "end"])?;
                branches.push((cond, steps));
                match self.tok(*i) {
                    Some(t) if t.is("elseif") => *i += 1,
                    Some(t) if t.is("else") => {
                        *i += 1;
                        otherwise = self.list(i, &["end"])?;
                        break;
                    }
                    _ => break,
                }
            }
            self.expect(i, "end")?;
            self.expect(i, "if")?;
            out.push(Step::If(branches, otherwise));
            return Ok(());
        }
        if t.is("set") {
            let end = self.simple_end(*i);
            self.set(*i + 1, end, out)?;
            *i = end;
            return Ok(());
        }
        if t.is("declare") {
            let end = self.simple_end(*i);
            self.declare(*i + 1, end, out)?;
            *i = end;
            return Ok(());
        }
        if t.is("select") {
            let end = self.simple_end(*i);
            self.select_into(*i, end, out)?;
            *i = end;
            return Ok(());
        }
        if t.is("signal") {
            let end = self.simple_end(*i);
            self.signal(*i + 1, end, out)?;
            *i = end;
            return Ok(());
        }
        for kw in [
            "declare", "while", "loop", "repeat", "case", "leave", "iterate", "call", "return",
            "resignal", "open", "fetch", "close",
        ] {
            if t.is(kw) {
                return Err(Error::unsupported(format!(
                    "{} in triggers",
                    kw.to_ascii_uppercase()
                )));
            }
        }
        let end = self.simple_end(*i);
        let sql = self.slice(*i, end).to_string();
        *i = end;
        let mut st = parse_one(&sql)?;
        self.rewrite_refs(&mut st)?;
        let target = match &st {
            ast::Statement::Insert(ins) => match &ins.table {
                ast::TableObject::TableName(n) => Some(n.clone()),
                _ => None,
            },
            ast::Statement::Update(u) => match &u.table.relation {
                ast::TableFactor::Table { name, .. } => Some(name.clone()),
                _ => None,
            },
            ast::Statement::Delete(d) => match &d.from {
                ast::FromTable::WithFromKeyword(t) | ast::FromTable::WithoutKeyword(t) => {
                    t.first().and_then(|t| match &t.relation {
                        ast::TableFactor::Table { name, .. } => Some(name.clone()),
                        _ => None,
                    })
                }
            },
            ast::Statement::Query(_) => {
                return Err(Error::new(
                    ER_SP_NO_RETSET,
                    "Not allowed to return a result set from a trigger",
                ))
            }
            _ => None,
        };
        let Some(target) = target else {
            return Err(Error::unsupported(format!(
                "{} in triggers",
                sql.split_whitespace().next().unwrap_or("").to_uppercase()
            )));
        };
        let parts = ident_names(&target);
        let target = match parts.as_slice() {
            [t] => (None, t.clone()),
            [d, t] => (Some(d.clone()), t.clone()),
            _ => return Err(Error::parse(&sql)),
        };
        out.push(Step::Dml(Box::new(st), target, sql));
        Ok(())
    }

    /// The local variable `name` refers to here, if any.
    fn local(&self, name: &str) -> Option<usize> {
        self.scope
            .iter()
            .rev()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, k)| *k)
    }

    /// DECLARE name [, name ...] type [DEFAULT expr] over tokens [from, to).
    fn declare(&mut self, from: usize, to: usize, out: &mut Vec<Step>) -> Result<()> {
        if self
            .tok(from + 1)
            .is_some_and(|t| t.is("cursor") || t.is("condition") || t.is("handler"))
            || self
                .tok(from)
                .is_some_and(|t| t.is("continue") || t.is("exit") || t.is("undo"))
        {
            return Err(Error::unsupported(
                "DECLARE of cursors, conditions and handlers in triggers",
            ));
        }
        let mut names = Vec::new();
        let mut j = from;
        loop {
            let name = self
                .tok(j)
                .filter(|t| t.kind == TokKind::Word || t.kind == TokKind::Quoted)
                .map(|t| t.text.clone())
                .ok_or_else(|| self.err(j))?;
            names.push(name);
            j += 1;
            if self.tok(j).is_some_and(|t| t.is_punct(',')) {
                j += 1;
                continue;
            }
            break;
        }
        let default_at = (j..to).find(|&k| self.toks[k].is("default"));
        let type_end = default_at.unwrap_or(to);
        let ty_text = self.slice(j, type_end).to_string();
        if ty_text.is_empty() {
            return Err(self.err(j));
        }
        let ty = match parse_one(&format!("CREATE TABLE t (c {ty_text})"))? {
            ast::Statement::CreateTable(ct) => ct
                .columns
                .into_iter()
                .next()
                .map(|c| c.data_type)
                .ok_or_else(|| Error::parse(&ty_text))?,
            _ => return Err(Error::parse(&ty_text)),
        };
        let (sql_ty, unsigned) = crate::sql::ddl::sql_type(&ty)?;
        let default = match default_at {
            Some(d) => Some(self.expr(d + 1, to)?),
            None => None,
        };
        for name in names {
            if self.scope[self.block_start..]
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case(&name))
            {
                return Err(Error::new(
                    ER_SP_DUP_VAR,
                    format!("Duplicate variable: {name}"),
                ));
            }
            let k = self.locals.len();
            self.locals.push(crate::catalog::ColumnDef {
                name: name.clone(),
                ty: sql_ty.clone(),
                unsigned,
                nullable: true,
                default: None,
                auto_increment: false,
                on_update_now: false,
                collation: crate::collation::Collation::DEFAULT,
                comment: String::new(),
            });
            // The DEFAULT sees the variables declared before this statement only.
            out.push(Step::SetLocal(k, default.clone()));
            self.scope.push((name, k));
        }
        Ok(())
    }

    /// SELECT expr, ... INTO target, ... [FROM ...] over tokens [from, to). Any other
    /// SELECT would return a result set, which a trigger may not.
    fn select_into(&mut self, from: usize, to: usize, out: &mut Vec<Step>) -> Result<()> {
        let mut depth = 0i32;
        let mut into = None;
        for k in from..to {
            match self.toks[k].kind {
                TokKind::Punct('(') => depth += 1,
                TokKind::Punct(')') => depth -= 1,
                _ if depth == 0 && self.toks[k].is("into") => {
                    into = Some(k);
                    break;
                }
                _ => {}
            }
        }
        let Some(into) = into else {
            return Err(Error::new(
                ER_SP_NO_RETSET,
                "Not allowed to return a result set from a trigger",
            ));
        };
        let mut targets = Vec::new();
        let mut j = into + 1;
        loop {
            let t = self
                .tok(j)
                .filter(|_| j < to)
                .cloned()
                .ok_or_else(|| self.err(j))?;
            if t.kind == TokKind::Other && t.text.starts_with('@') && !t.text.starts_with("@@") {
                targets.push(IntoTarget::User(t.text[1..].to_lowercase()));
            } else if let Some(k) = t.ident().and_then(|n| self.local(&n)) {
                targets.push(IntoTarget::Local(k));
            } else {
                return Err(Error::new(
                    ER_SP_UNDECLARED_VAR,
                    format!("Undeclared variable: {}", t.text),
                ));
            }
            j += 1;
            if j < to && self.toks[j].is_punct(',') {
                j += 1;
                continue;
            }
            break;
        }
        let sql = format!("{} {}", self.slice(from, into), self.slice(j, to));
        let mut st = parse_one(&sql)?;
        self.rewrite_refs(&mut st)?;
        let ast::Statement::Query(q) = st else {
            return Err(Error::parse(&sql));
        };
        out.push(Step::SelectInto(q, targets, sql));
        Ok(())
    }

    /// SIGNAL SQLSTATE [VALUE] 'state' [SET MESSAGE_TEXT = expr [, MYSQL_ERRNO = n]] over
    /// tokens [from, to). Only user-defined conditions (class '45') are supported: the
    /// error code carries the SQLSTATE here, so other classes would report a wrong one.
    fn signal(&mut self, from: usize, to: usize, out: &mut Vec<Step>) -> Result<()> {
        let mut j = from;
        if !self.tok(j).is_some_and(|t| t.is("sqlstate")) {
            return Err(Error::unsupported("SIGNAL of a named condition"));
        }
        j += 1;
        if self.tok(j).is_some_and(|t| t.is("value")) {
            j += 1;
        }
        let state = match self.tok(j) {
            Some(t) if t.kind == TokKind::Other && t.text.starts_with(['\'', '"']) => {
                t.text[1..t.text.len().saturating_sub(1)].to_string()
            }
            _ => return Err(self.err(j)),
        };
        if state.len() != 5 || state.starts_with("00") {
            return Err(Error::new(
                ER_SP_BAD_SQLSTATE,
                format!("Bad SQLSTATE: '{state}'"),
            ));
        }
        if !state.starts_with("45") {
            return Err(Error::unsupported(format!("SIGNAL SQLSTATE '{state}'")));
        }
        j += 1;
        let mut code = ER_SIGNAL_EXCEPTION;
        let mut message = None;
        if self.tok(j).is_some_and(|t| t.is("set")) {
            j += 1;
            let mut start = j;
            let mut depth = 0i32;
            let mut items = Vec::new();
            for k in j..to {
                match self.toks[k].kind {
                    TokKind::Punct('(') => depth += 1,
                    TokKind::Punct(')') => depth -= 1,
                    TokKind::Punct(',') if depth == 0 => {
                        items.push((start, k));
                        start = k + 1;
                    }
                    _ => {}
                }
            }
            items.push((start, to));
            for (a, b) in items {
                if b < a + 3 || !self.toks[a + 1].is_punct('=') {
                    return Err(self.err(a));
                }
                if self.toks[a].is("message_text") {
                    message = Some(self.expr(a + 2, b)?);
                } else if self.toks[a].is("mysql_errno") {
                    code = self.slice(a + 2, b).parse().map_err(|_| self.err(a + 2))?;
                } else {
                    return Err(Error::unsupported(format!(
                        "SIGNAL ... SET {}",
                        self.toks[a].text
                    )));
                }
            }
        } else if j < to {
            return Err(self.err(j));
        }
        out.push(Step::Signal(code, message));
        Ok(())
    }

    /// Index of the THEN that ends an IF condition starting at `i` (CASE ... THEN inside
    /// the condition skipped).
    fn then_pos(&self, i: usize) -> Result<usize> {
        let mut case = 0;
        let mut depth = 0i32;
        let mut j = i;
        while let Some(t) = self.tok(j) {
            match t.kind {
                TokKind::Punct('(') => depth += 1,
                TokKind::Punct(')') => depth -= 1,
                _ => {}
            }
            if t.is("case") {
                case += 1;
            } else if t.is("end") && case > 0 {
                case -= 1;
            } else if t.is("then") && case == 0 && depth == 0 {
                return Ok(j);
            } else if t.is_punct(';') {
                break;
            }
            j += 1;
        }
        Err(self.err(j))
    }

    /// SET target = expr [, target = expr ...] over tokens [from, to).
    fn set(&mut self, from: usize, to: usize, out: &mut Vec<Step>) -> Result<()> {
        let mut start = from;
        let mut depth = 0i32;
        let mut parts = Vec::new();
        for j in from..to {
            match self.toks[j].kind {
                TokKind::Punct('(') => depth += 1,
                TokKind::Punct(')') => depth -= 1,
                TokKind::Punct(',') if depth == 0 => {
                    parts.push((start, j));
                    start = j + 1;
                }
                _ => {}
            }
        }
        parts.push((start, to));
        for (a, b) in parts {
            let eq = (a..b)
                .find(|&j| self.toks[j].is_punct('=') || self.toks[j].text == ":=")
                .ok_or_else(|| self.err(a))?;
            let target: Vec<Tok> = self.toks[a..eq].to_vec();
            let expr = self.expr(eq + 1, b)?;
            match target.as_slice() {
                [n, dot, c]
                    if dot.is_punct('.') && n.kind == TokKind::Word && c.ident().is_some() =>
                {
                    let col = c.ident().unwrap_or_default();
                    if n.is("new") {
                        if self.event == TriggerEvent::Delete {
                            return Err(Error::new(
                                ER_NO_SUCH_TRG_ROW,
                                "There is no NEW row in on DELETE trigger",
                            ));
                        }
                        if self.timing == TriggerTiming::After {
                            return Err(Error::new(
                                ER_TRG_CANT_CHANGE_ROW,
                                "Updating of NEW row is not allowed in after trigger",
                            ));
                        }
                        let ci = self
                            .table
                            .column_index(&col)
                            .ok_or_else(|| Error::bad_field(&col, "NEW"))?;
                        out.push(Step::SetNew(ci, expr));
                    } else if n.is("old") {
                        return Err(Error::new(
                            ER_TRG_CANT_CHANGE_ROW,
                            "Updating of OLD row is not allowed in trigger",
                        ));
                    } else {
                        return Err(Error::unsupported("SET of a qualified name in triggers"));
                    }
                }
                [v] if v.ident().is_some_and(|n| self.local(&n).is_some()) => {
                    let k = self.local(&v.text).expect("checked");
                    out.push(Step::SetLocal(k, Some(expr)));
                }
                [v] if v.kind == TokKind::Other
                    && v.text.starts_with('@')
                    && !v.text.starts_with("@@") =>
                {
                    out.push(Step::SetUser(v.text[1..].to_lowercase(), expr));
                }
                _ => {
                    return Err(Error::unsupported(
                        "SET of local or system variables in triggers",
                    ))
                }
            }
        }
        Ok(())
    }

    /// Parse the expression in tokens [from, to) with NEW/OLD rewritten.
    fn expr(&mut self, from: usize, to: usize) -> Result<ast::Expr> {
        let text = self.slice(from, to).to_string();
        if text.trim().is_empty() {
            return Err(self.err(from));
        }
        let mut st = parse_one(&format!("SELECT {text}"))?;
        self.rewrite_refs(&mut st)?;
        let ast::Statement::Query(q) = st else {
            return Err(Error::parse(&text));
        };
        let ast::SetExpr::Select(sel) = *q.body else {
            return Err(Error::parse(&text));
        };
        match sel.projection.into_iter().next() {
            Some(ast::SelectItem::UnnamedExpr(e)) if q.order_by.is_none() => Ok(e),
            _ => Err(Error::parse(&text)),
        }
    }

    /// Replace NEW.col / OLD.col by parameters.
    fn rewrite_refs(&mut self, st: &mut ast::Statement) -> Result<()> {
        let mut err = None;
        let table = self.table;
        let event = self.event;
        let scope = &self.scope;
        let refs = &mut self.refs;
        let mut param = |r: Ref| -> ast::Expr {
            let k = match refs.iter().position(|x| *x == r) {
                Some(k) => k,
                None => {
                    refs.push(r);
                    refs.len() - 1
                }
            };
            ast::Expr::Value(ast::Value::Placeholder(format!("?{}", k + 1)).into())
        };
        let _ = ast::visit_expressions_mut(st, |e| {
            match e {
                // A local variable shadows a column of the same name, as in MySQL.
                ast::Expr::Identifier(id) => {
                    if let Some((_, k)) = scope
                        .iter()
                        .rev()
                        .find(|(n, _)| n.eq_ignore_ascii_case(&id.value))
                    {
                        *e = param(Ref::Local(*k));
                    }
                }
                ast::Expr::CompoundIdentifier(parts) if parts.len() == 2 => {
                    let q = &parts[0].value;
                    let is_new = q.eq_ignore_ascii_case("new");
                    if is_new || q.eq_ignore_ascii_case("old") {
                        let col = parts[1].value.clone();
                        if is_new && event == TriggerEvent::Delete {
                            err = Some(Error::new(
                                ER_NO_SUCH_TRG_ROW,
                                "There is no NEW row in on DELETE trigger",
                            ));
                            return std::ops::ControlFlow::Break(());
                        }
                        if !is_new && event == TriggerEvent::Insert {
                            err = Some(Error::new(
                                ER_NO_SUCH_TRG_ROW,
                                "There is no OLD row in on INSERT trigger",
                            ));
                            return std::ops::ControlFlow::Break(());
                        }
                        let Some(ci) = table.column_index(&col) else {
                            err = Some(Error::bad_field(&col, if is_new { "NEW" } else { "OLD" }));
                            return std::ops::ControlFlow::Break(());
                        };
                        *e = param(if is_new { Ref::New(ci) } else { Ref::Old(ci) });
                    }
                }
                _ => {}
            }
            std::ops::ControlFlow::Continue(())
        });
        match err {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

// ------------------------------------------------------------------- firing

/// Run the triggers of `table` for (timing, event) on one row. `old` is the row before
/// the change (UPDATE, DELETE); `new` the row being written (INSERT, UPDATE), which
/// BEFORE triggers may change.
pub fn fire(
    ex: &mut Exec<'_>,
    cat: &Catalog,
    table: &Arc<TableDef>,
    timing: TriggerTiming,
    event: TriggerEvent,
    old: Option<&[Value]>,
    new: Option<&mut Vec<Value>>,
) -> Result<()> {
    let trigs = cat.triggers_for(&table.db, &table.name, timing, event);
    if trigs.is_empty() {
        return Ok(());
    }
    let mut empty = Vec::new();
    let new = new.unwrap_or(&mut empty);
    for t in trigs {
        let key = (lc(&t.db), lc(&t.name));
        let prog = match ex.triggers.programs.get(&key) {
            Some(p) => p.clone(),
            None => {
                let p = Arc::new(compile(&t.body, table, t.timing, t.event)?);
                ex.triggers.programs.insert(key, p.clone());
                p
            }
        };
        ex.triggers.stack.push((lc(&table.db), lc(&table.name)));
        let mut rt = Frame {
            old,
            new: &mut *new,
            locals: vec![Value::Null; prog.locals.len()],
        };
        let r = run_steps(ex, cat, &t, table, &prog, &prog.steps, &mut rt);
        ex.triggers.stack.pop();
        r?;
    }
    Ok(())
}

/// The values one firing of a trigger body works on.
struct Frame<'r> {
    old: Option<&'r [Value]>,
    new: &'r mut Vec<Value>,
    locals: Vec<Value>,
}

fn run_steps(
    ex: &mut Exec<'_>,
    cat: &Catalog,
    trig: &TriggerDef,
    table: &Arc<TableDef>,
    prog: &Program,
    steps: &[Step],
    rt: &mut Frame<'_>,
) -> Result<()> {
    for step in steps {
        let params: Vec<Value> = prog
            .refs
            .iter()
            .map(|&r| {
                let v = match r {
                    Ref::New(ci) => rt.new.get(ci),
                    Ref::Old(ci) => rt.old.and_then(|o| o.get(ci)),
                    Ref::Local(k) => rt.locals.get(k),
                };
                v.cloned().unwrap_or(Value::Null)
            })
            .collect();
        match step {
            Step::Dml(st, (db, tname), sql) => {
                let db = db.clone().unwrap_or_else(|| trig.db.clone());
                if ex
                    .triggers
                    .stack
                    .iter()
                    .any(|(d, t)| *d == lc(&db) && *t == lc(tname))
                {
                    return Err(Error::new(
                        ER_CANT_UPDATE_USED_TABLE,
                        format!("Can't update table '{tname}' in stored function/trigger because it is already used by statement which invoked this stored function/trigger."),
                    ));
                }
                with_params(ex, &params, |sub| {
                    let mut b = Binder::new(cat, Some(trig.db.clone()), sql);
                    match st.as_ref() {
                        ast::Statement::Insert(i) => crate::sql::dml::insert(sub, &mut b, i),
                        ast::Statement::Update(u) => crate::sql::dml::update(sub, &mut b, u),
                        ast::Statement::Delete(d) => crate::sql::dml::delete(sub, &mut b, d),
                        _ => Err(Error::internal("not a trigger DML step")),
                    }
                    .map(|_| ())
                })?;
            }
            Step::SetNew(ci, e) => {
                let v = eval_expr(ex, cat, trig, &params, e)?;
                let col = &table.columns[*ci];
                let mut w = Vec::new();
                let strict = ex.sess.strict();
                let v = store_value(v, col, strict, 1, &mut w)?;
                ex.fnctx.warnings.extend(w);
                if let Some(slot) = rt.new.get_mut(*ci) {
                    *slot = v;
                }
            }
            Step::SetLocal(k, e) => {
                let v = match e {
                    Some(e) => eval_expr(ex, cat, trig, &params, e)?,
                    None => Value::Null,
                };
                rt.locals[*k] = store_local(ex, &prog.locals[*k], v)?;
            }
            Step::SelectInto(q, targets, sql) => {
                let (rows, ncols) = with_params(ex, &params, |sub| {
                    let mut b = Binder::new(cat, Some(trig.db.clone()), sql);
                    let bq = b.bind_query(q)?;
                    Ok((sub.run(&bq.plan)?, bq.columns.len()))
                })?;
                if ncols != targets.len() {
                    return Err(Error::new(
                        ER_SP_WRONG_NO_OF_FETCH_ARGS,
                        "The used SELECT statements have a different number of columns",
                    ));
                }
                if rows.len() > 1 {
                    return Err(Error::new(
                        ER_TOO_MANY_ROWS,
                        "Result consisted of more than one row",
                    ));
                }
                let Some(row) = rows.into_iter().next() else {
                    ex.fnctx.warnings.push((
                        ER_SP_FETCH_NO_DATA,
                        "No data - zero rows fetched, selected, or processed".into(),
                    ));
                    continue;
                };
                for (t, v) in targets.iter().zip(row) {
                    match t {
                        IntoTarget::Local(k) => {
                            rt.locals[*k] = store_local(ex, &prog.locals[*k], v)?
                        }
                        IntoTarget::User(n) => {
                            ex.sess.user_vars.insert(n.clone(), v);
                        }
                    }
                }
            }
            Step::Signal(code, message) => {
                let text = match message {
                    Some(e) => eval_expr(ex, cat, trig, &params, e)?
                        .to_text()
                        .unwrap_or_default(),
                    None => "Unhandled user-defined exception condition".to_string(),
                };
                return Err(Error::new(*code, text));
            }
            Step::SetUser(name, e) => {
                let v = eval_expr(ex, cat, trig, &params, e)?;
                ex.sess.user_vars.insert(name.clone(), v);
            }
            Step::If(branches, otherwise) => {
                let mut taken = None;
                for (cond, body) in branches {
                    let v = eval_expr(ex, cat, trig, &params, cond)?;
                    if v.to_bool() == Some(true) {
                        taken = Some(body);
                        break;
                    }
                }
                let body = taken.unwrap_or(otherwise);
                run_steps(ex, cat, trig, table, prog, body, rt)?;
            }
        }
    }
    Ok(())
}

/// A value assigned to a local variable takes the variable's declared type.
fn store_local(ex: &mut Exec<'_>, var: &crate::catalog::ColumnDef, v: Value) -> Result<Value> {
    let mut w = Vec::new();
    let strict = ex.sess.strict();
    let v = store_value(v, var, strict, 1, &mut w)?;
    ex.fnctx.warnings.extend(w);
    Ok(v)
}

fn eval_expr(
    ex: &mut Exec<'_>,
    cat: &Catalog,
    trig: &TriggerDef,
    params: &[Value],
    e: &ast::Expr,
) -> Result<Value> {
    let text = e.to_string();
    let mut b = Binder::new(cat, Some(trig.db.clone()), &text);
    let bound = b.bind_expr_in(e, &Scope::default(), "field list")?;
    with_params(ex, params, |sub| sub.eval(&bound, &[]))
}

/// Run `f` on an executor for the same transaction and session whose parameters are
/// `params` (the trigger's NEW/OLD values); its warnings join the statement's.
fn with_params<R>(
    ex: &mut Exec<'_>,
    params: &[Value],
    f: impl FnOnce(&mut Exec<'_>) -> Result<R>,
) -> Result<R> {
    let now = ex.fnctx.now;
    let interrupted = ex.interrupted.clone();
    let ctx = std::mem::take(&mut ex.triggers);
    let mut sub = Exec::new(ex.shared, &mut *ex.txn, &mut *ex.sess, params);
    sub.fnctx.now = now;
    sub.interrupted = interrupted;
    sub.triggers = ctx;
    let r = f(&mut sub);
    let warnings = std::mem::take(&mut sub.fnctx.warnings);
    let ctx = std::mem::take(&mut sub.triggers);
    drop(sub);
    ex.triggers = ctx;
    ex.fnctx.warnings.extend(warnings);
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_create_and_drop() {
        let c = parse_create(
            "CREATE DEFINER=`root`@`%` TRIGGER IF NOT EXISTS d.t1r1 AFTER UPDATE ON t1 FOR EACH ROW FOLLOWS x BEGIN END",
        )
        .expect("parses");
        assert!(c.if_not_exists);
        assert_eq!(c.db.as_deref(), Some("d"));
        assert_eq!(c.name, "t1r1");
        assert_eq!(c.timing, TriggerTiming::After);
        assert_eq!(c.event, TriggerEvent::Update);
        assert_eq!(c.table, "t1");
        assert_eq!(c.order, TriggerOrder::Follows("x".into()));
        assert_eq!(c.body, "BEGIN END");
        assert!(parse_create("CREATE TRIGGER t UPDATE ON t1 BEGIN SELECT 1; END").is_err());
        assert!(parse_create("CREATE TRIGGER t AFTER UPDATE ON t1 BEGIN END").is_err());
        assert_eq!(
            parse_drop("DROP TRIGGER IF EXISTS `a`.b").expect("parses"),
            (true, Some("a".into()), "b".into())
        );
        assert!(is_trigger_statement(
            "create definer = CURRENT_USER trigger x"
        ));
        assert!(is_trigger_statement("drop trigger x"));
        assert!(!is_trigger_statement("create table trigger (a int)"));
        assert!(!is_trigger_statement("dr\u{e9}p") && !inside_compound("cr\u{e9}ate x"));
        let dump = "/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`localhost`*/ /*!50003 TRIGGER `t_bi` BEFORE INSERT ON `t` FOR EACH ROW SET NEW.a = 1 */";
        assert!(is_trigger_statement(dump));
        let c = parse_create(dump).expect("mysqldump form parses");
        assert_eq!(
            (c.name.as_str(), c.body.as_str()),
            ("t_bi", "SET NEW.a = 1")
        );
    }

    fn rows(s: &mut crate::Session, sql: &str) -> Vec<Vec<String>> {
        let r = s.execute(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        r.rows()
            .iter()
            .map(|r| {
                r.iter()
                    .map(|v| v.to_text().unwrap_or_else(|| "NULL".into()))
                    .collect()
            })
            .collect()
    }

    #[test]
    fn trigger_survives_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let db = crate::Database::open(dir.path()).expect("open");
            let mut s = db.session();
            // One text with a compound trigger in the middle: splitting keeps its body.
            let results = s.execute_script(
                "CREATE DATABASE d; USE d; CREATE TABLE t (id INT PRIMARY KEY, v INT);
                 CREATE TABLE log (id INT, v INT);
                 CREATE TRIGGER t_ai AFTER INSERT ON t FOR EACH ROW BEGIN
                   INSERT INTO log VALUES (NEW.id, NEW.v);
                   IF NEW.v > 10 THEN INSERT INTO log VALUES (NEW.id, -1); END IF;
                 END;
                 INSERT INTO t VALUES (1, 5)",
            );
            assert_eq!(results.len(), 6);
            for r in results {
                r.expect("statement ok");
            }
        }
        let db = crate::Database::open(dir.path()).expect("reopen");
        let mut s = db.session();
        s.execute("USE d").expect("use");
        s.execute("INSERT INTO t VALUES (2, 50)").expect("insert");
        assert_eq!(
            rows(&mut s, "SELECT id, v FROM log ORDER BY id, v DESC"),
            vec![vec!["1", "5"], vec!["2", "50"], vec!["2", "-1"]]
        );
        let create = rows(&mut s, "SHOW CREATE TRIGGER t_ai");
        assert!(
            create[0][2].starts_with("CREATE DEFINER=`root`@")
                && create[0][2].contains("TRIGGER `t_ai` AFTER INSERT ON `t` FOR EACH ROW BEGIN"),
            "{}",
            create[0][2]
        );
        s.execute("DROP TABLE t").expect("drop");
        assert!(rows(&mut s, "SHOW TRIGGERS").is_empty());
    }

    #[test]
    fn failing_trigger_rolls_back_the_statement() {
        let db = crate::Database::open_in_memory().expect("open");
        let mut s = db.session();
        for r in s.execute_script(
            "CREATE DATABASE d; USE d; CREATE TABLE t (id INT PRIMARY KEY);
             CREATE TABLE u (id INT PRIMARY KEY);
             CREATE TRIGGER t_bi BEFORE INSERT ON t FOR EACH ROW INSERT INTO u VALUES (NEW.id % 3)",
        ) {
            r.expect("setup");
        }
        s.execute("INSERT INTO t VALUES (1), (2)").expect("insert");
        let e = s
            .execute("INSERT INTO t VALUES (3), (4)")
            .expect_err("dup in trigger");
        assert_eq!(e.code, code::ER_DUP_ENTRY);
        assert_eq!(rows(&mut s, "SELECT COUNT(*) FROM t"), vec![vec!["2"]]);
        assert_eq!(rows(&mut s, "SELECT COUNT(*) FROM u"), vec![vec!["2"]]);
        // Recursion through another table's trigger is refused (1442), not looped.
        s.execute("CREATE TRIGGER u_bi BEFORE INSERT ON u FOR EACH ROW INSERT INTO t VALUES (NEW.id + 100)")
            .expect("create");
        let e = s
            .execute("INSERT INTO t VALUES (5)")
            .expect_err("recursion");
        assert_eq!(e.code, ER_CANT_UPDATE_USED_TABLE);
        assert_eq!(rows(&mut s, "SELECT COUNT(*) FROM t"), vec![vec!["2"]]);
        s.execute("DROP DATABASE d").expect("drop db");
        assert!(db.shared.catalog().triggers.is_empty());
    }
}
