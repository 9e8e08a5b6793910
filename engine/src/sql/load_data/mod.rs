//! `LOAD DATA [LOCAL] INFILE`: bulk insert from a text file, with MySQL's semantics.
//!
//! A statement's path: `Session` recognizes the words `LOAD DATA` -> [`grammar::parse`]
//! -> the session resolves the table and checks INSERT (and, for a server-side file,
//! FILE and `--secure-file-priv` through [`open_server_file`]) before any byte is read
//! -> the input is opened: a LOCAL file through the [`LocalInfile`] the caller gave (the
//! wire protocol asks the client for it), or [`FsLocalInfile`] for embedded use -> in
//! the statement's transaction, [`load`] pulls records from [`fields::Splitter`], maps
//! fields to columns and `@variables`, evaluates SET, and inserts each row through
//! INSERT's own path (`Exec::complete_row` for defaults and conversions, `dml::insert_one`
//! for keys, constraints and triggers).
//!
//! Invariants: the file is read in chunks, never held whole; a failing statement leaves
//! nothing behind (its writes are the statement's, rolled back like INSERT's); duplicates
//! are errors unless IGNORE, REPLACE or LOCAL (LOCAL implies IGNORE: the server cannot
//! stop the client's transfer midway); data problems are warnings under IGNORE, LOCAL or
//! a non-strict sql_mode, errors otherwise.

pub mod fields;
pub mod grammar;

use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use crate::catalog::TableDef;
use crate::error::{code, Error, Result};
use crate::result::QueryResult;
use crate::sql::bind::{table_scope, Binder};
use crate::sql::dml::{self, Conflict, Inserted};
use crate::sql::exec::Exec;
use crate::sql::plan::Expr;
use crate::value::Value;
use grammar::{LoadData, OnDuplicate, Target};

/// MySQL's codes for LOAD DATA's diagnostics.
pub const ER_FILE_NOT_FOUND: u16 = 29;
pub const ER_NET_READ_ERROR: u16 = 1158;
pub const ER_WARN_TOO_FEW_RECORDS: u16 = 1261;
pub const ER_WARN_TOO_MANY_RECORDS: u16 = 1262;
pub const ER_WARN_NULL_TO_NOTNULL: u16 = 1263;
pub const ER_UNSUPPORTED_PS: u16 = 1295;
/// MariaDB's answer (10.5+) when the client did not offer CLIENT_LOCAL_FILES.
pub const ER_LOAD_INFILE_CAPABILITY_DISABLED: u16 = 4166;

/// The client's side of LOAD DATA LOCAL: the file is the client's, so whoever runs the
/// statement for a client supplies it. The server implements this over the wire.
pub trait LocalInfile {
    /// Whether the client agreed to send files (CLIENT_LOCAL_FILES). When false the
    /// statement fails with 4166 before anything is asked of the client.
    fn enabled(&self) -> bool;
    /// Ask the client for `name`; the reader yields the file's bytes, then ends. A file
    /// the client could not read arrives as an empty one (the client reports its own
    /// error), as with MySQL.
    fn open(&mut self, name: &str) -> io::Result<Box<dyn Read + '_>>;
}

/// Embedded use: the embedding program is the client, so a LOCAL file is read from this
/// process's file system.
pub struct FsLocalInfile;

impl LocalInfile for FsLocalInfile {
    fn enabled(&self) -> bool {
        true
    }

    fn open(&mut self, name: &str) -> io::Result<Box<dyn Read + '_>> {
        Ok(Box::new(std::fs::File::open(name)?))
    }
}

/// MySQL's 1290 for a server-side file when --secure-file-priv does not allow it.
pub fn secure_file_priv_error() -> Error {
    Error::new(
        code::ER_OPTION_PREVENTS_STATEMENT,
        "The MySQL server is running with the --secure-file-priv option so it cannot execute this statement",
    )
}

/// Error 29 for a file that cannot be opened, with the OS error as MySQL words it.
pub fn file_not_found(path: &str, e: &io::Error) -> Error {
    let errno = e.raw_os_error().unwrap_or(2);
    let text = e.to_string();
    let text = text.split(" (os error").next().unwrap_or(&text).to_string();
    Error::new(
        ER_FILE_NOT_FOUND,
        format!("File '{path}' not found (OS errno {errno} - {text})"),
    )
}

/// `p` without `.` and `..` components (lexically, as MySQL compares paths before
/// opening them); None when `..` would climb above the root.
fn normalize(p: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::CurDir => {}
            c => out.push(c.as_os_str()),
        }
    }
    Some(out)
}

/// Open a server-side file for LOAD DATA (no LOCAL). Allowed only under `priv_dir` (the
/// server's `--secure-file-priv`); a relative name is taken relative to that directory.
/// Symbolic links are resolved before the check, so a link cannot lead outside.
pub fn open_server_file(priv_dir: Option<&Path>, name: &str) -> Result<std::fs::File> {
    let dir = priv_dir.ok_or_else(secure_file_priv_error)?;
    let dir = dir.canonicalize().map_err(|_| secure_file_priv_error())?;
    let joined = dir.join(name);
    let path = normalize(&joined).ok_or_else(secure_file_priv_error)?;
    let resolved = path.canonicalize().unwrap_or_else(|_| path.clone());
    if !resolved.starts_with(&dir) {
        return Err(secure_file_priv_error());
    }
    let shown = path.to_string_lossy().into_owned();
    if resolved.is_dir() {
        return Err(file_not_found(
            &shown,
            &io::Error::from_raw_os_error(21), // EISDIR, what open+read reports
        ));
    }
    std::fs::File::open(&resolved).map_err(|e| file_not_found(&shown, &e))
}

/// A field's bytes as a value, read in the statement's CHARACTER SET (default utf8mb4):
/// `binary` keeps bytes, latin1 maps each byte to its code point, and bytes that are not
/// UTF-8 stay bytes for the column's conversion to judge.
fn decode(bytes: Vec<u8>, charset: Option<&str>) -> Value {
    match charset.map(|c| c.to_ascii_lowercase()) {
        Some(c) if c == "binary" => Value::Bytes(bytes),
        Some(c) if c == "latin1" => Value::Str(bytes.iter().map(|&b| b as char).collect()),
        _ => match String::from_utf8(bytes) {
            Ok(s) => Value::Str(s),
            Err(e) => Value::Bytes(e.into_bytes()),
        },
    }
}

/// A diagnostic that is an error in strict mode and a warning otherwise.
fn soft(ex: &mut Exec<'_>, strict: bool, code: u16, msg: String) -> Result<()> {
    if strict {
        return Err(Error::new(code, msg));
    }
    ex.fnctx.warnings.push((code, msg));
    Ok(())
}

fn read_error(e: io::Error) -> Error {
    Error::new(
        ER_NET_READ_ERROR,
        format!("Got an error reading communication packets ({e})"),
    )
}

/// Run a parsed LOAD DATA into `t` from `input`, inside the caller's statement
/// transaction; returns MySQL's OK with `Records: N  Deleted: D  Skipped: S  Warnings: W`.
pub fn load(
    ex: &mut Exec<'_>,
    b: &mut Binder<'_>,
    stmt: &LoadData,
    t: &Arc<TableDef>,
    input: &mut dyn Read,
) -> Result<QueryResult> {
    let n = t.columns.len();
    // Where each field goes.
    enum Dest {
        Col(usize),
        Var(String),
    }
    let dests: Vec<Dest> = if stmt.targets.is_empty() {
        (0..n).map(Dest::Col).collect()
    } else {
        let mut out = Vec::with_capacity(stmt.targets.len());
        for target in &stmt.targets {
            out.push(match target {
                Target::Column(c) => Dest::Col(
                    t.column_index(c)
                        .ok_or_else(|| Error::bad_field(c, "field list"))?,
                ),
                Target::Var(v) => Dest::Var(v.to_lowercase()),
            });
        }
        out
    };
    // SET col = expr: sqlparser reads the assignments as an UPDATE's would be.
    let mut sets: Vec<(usize, Expr)> = Vec::new();
    if let Some(text) = &stmt.set {
        let st = crate::sql::parse::parse_one(&format!("UPDATE `{}` SET {text}", t.name))?;
        let sqlparser::ast::Statement::Update(u) = st else {
            return Err(Error::parse(text));
        };
        let scope = table_scope(t, &t.name);
        for a in &u.assignments {
            let name = dml::assignment_column(&a.target)?;
            let ci = t
                .column_index(&name)
                .ok_or_else(|| Error::bad_field(&name, "field list"))?;
            sets.push((ci, b.bind_expr_in(&a.value, &scope, "field list")?));
        }
    }
    let ignore_errors = stmt.local || stmt.on_dup == OnDuplicate::Ignore;
    let conflict = match stmt.on_dup {
        OnDuplicate::Replace => Conflict::Replace,
        OnDuplicate::Ignore => Conflict::Ignore,
        OnDuplicate::Default if stmt.local => Conflict::Ignore,
        OnDuplicate::Default => Conflict::Error,
    };
    let strict = ex.sess.strict() && !ignore_errors;
    ex.dml_strict = strict && dml::div_zero_is_error(ex);
    let cat = b.catalog;
    let charset = stmt.charset.as_deref();
    let mut split = fields::Splitter::new(input, stmt.format.clone());
    for _ in 0..stmt.ignore_lines {
        if split.next_record().map_err(read_error)?.is_none() {
            break;
        }
    }
    let (mut records, mut deleted, mut skipped, mut inserted) = (0u64, 0u64, 0u64, 0u64);
    let mut first_id: Option<u64> = None;
    while let Some(fields) = split.next_record().map_err(read_error)? {
        ex.check_interrupt()?;
        records += 1;
        let rownum = records as usize;
        if fields.len() < dests.len() {
            soft(
                ex,
                strict,
                ER_WARN_TOO_FEW_RECORDS,
                format!("Row {rownum} doesn't contain data for all columns"),
            )?;
        } else if fields.len() > dests.len() {
            soft(
                ex,
                strict,
                ER_WARN_TOO_MANY_RECORDS,
                format!(
                    "Row {rownum} was truncated; it contained more data than there were input columns"
                ),
            )?;
        }
        // given[i]: None = the column's default (as an INSERT that does not name it).
        let mut given: Vec<Option<Value>> = vec![None; n];
        let mut fields = fields.into_iter();
        for dest in &dests {
            let field = fields.next();
            match dest {
                Dest::Var(v) => {
                    let val = match field {
                        Some(Some(bytes)) => decode(bytes, charset),
                        _ => Value::Null,
                    };
                    ex.sess.user_vars.insert(v.clone(), val);
                }
                Dest::Col(ci) => {
                    let col = &t.columns[*ci];
                    given[*ci] = match field {
                        Some(Some(bytes)) => Some(decode(bytes, charset)),
                        Some(None) if col.nullable || col.auto_increment => Some(Value::Null),
                        Some(None) => {
                            soft(
                                ex,
                                strict,
                                ER_WARN_NULL_TO_NOTNULL,
                                format!(
                                    "Column set to default value; NULL supplied to NOT NULL column '{}' at row {rownum}",
                                    col.name
                                ),
                            )?;
                            Some(dml::implicit_default(col))
                        }
                        // A missing field: the column's default, or its type's implicit
                        // one when it has none (the row's 1261 said so already).
                        None if col.default.is_some() || col.nullable || col.auto_increment => None,
                        None => Some(dml::implicit_default(col)),
                    };
                }
            }
        }
        if !sets.is_empty() {
            let current: Vec<Value> = given
                .iter()
                .map(|v| v.clone().unwrap_or(Value::Null))
                .collect();
            for (ci, e) in &sets {
                let v = ex.eval(e, &current)?;
                given[*ci] = Some(v);
            }
        }
        let (row, generated) = match ex.complete_row(t, given, rownum, strict) {
            Ok(r) => r,
            Err(e) if ignore_errors => {
                ex.fnctx.warnings.push((e.code, e.message));
                skipped += 1;
                continue;
            }
            Err(e) => return Err(e),
        };
        if let Some(g) = generated {
            first_id.get_or_insert(g);
        }
        match dml::insert_one(ex, cat, t, row, conflict)? {
            Inserted::New => inserted += 1,
            Inserted::Skipped => skipped += 1,
            Inserted::Replaced(d) => {
                inserted += 1;
                deleted += d;
            }
            // Not produced without ON DUPLICATE KEY UPDATE.
            Inserted::Updated(_) => {}
        }
    }
    if let Some(id) = first_id {
        ex.sess.last_insert_id = id;
    }
    let info = format!(
        "Records: {records}  Deleted: {deleted}  Skipped: {skipped}  Warnings: {}",
        ex.fnctx.warnings.len()
    );
    Ok(QueryResult::Ok {
        affected_rows: inserted + deleted,
        last_insert_id: first_id.unwrap_or(0),
        info,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_files_only_under_secure_file_priv() {
        let dir = std::env::temp_dir().join(format!("borealis-ld-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("ok.txt"), b"1\n").unwrap();
        assert!(open_server_file(Some(&dir), "ok.txt").is_ok());
        assert!(open_server_file(Some(&dir), dir.join("ok.txt").to_str().unwrap()).is_ok());
        for outside in ["/etc/passwd", "../../../../etc/passwd", "sub/../../x"] {
            let e = open_server_file(Some(&dir), outside).unwrap_err();
            assert_eq!(e.code, code::ER_OPTION_PREVENTS_STATEMENT, "{outside}");
        }
        let e = open_server_file(None, "ok.txt").unwrap_err();
        assert_eq!(e.code, code::ER_OPTION_PREVENTS_STATEMENT);
        let e = open_server_file(Some(&dir), "missing.txt").unwrap_err();
        assert_eq!(e.code, ER_FILE_NOT_FOUND);
        assert!(
            e.message
                .ends_with("missing.txt' not found (OS errno 2 - No such file or directory)"),
            "{}",
            e.message
        );
        #[cfg(unix)]
        {
            let link = dir.join("link");
            let _ = std::fs::remove_file(&link);
            std::os::unix::fs::symlink("/etc/passwd", &link).unwrap();
            let e = open_server_file(Some(&dir), "link").unwrap_err();
            assert_eq!(e.code, code::ER_OPTION_PREVENTS_STATEMENT);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
