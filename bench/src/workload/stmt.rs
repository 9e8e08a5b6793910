//! The statements of the OLTP family and their SQL text per dialect.
//!
//! A [`Stmt`] names one prepared statement on one table; a [`Call`] is one execution of
//! it with its parameters. The MySQL text is byte for byte what sysbench 1.0 prepares
//! (the wire capture in shared/clients/README.md section 2), so Borealis and MariaDB
//! parse exactly what they would parse under real sysbench.

use std::fmt::Write as _;

/// What a statement does (one per entry of sysbench's `stmt_defs`, plus BEGIN/COMMIT,
/// oltp_insert's text INSERT and select_random_ranges' SELECT).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StmtKind {
    Begin,
    Commit,
    PointSelect,
    SimpleRange,
    SumRange,
    OrderRange,
    DistinctRange,
    IndexUpdate,
    NonIndexUpdate,
    Delete,
    Insert,
    /// oltp_insert: a text (not prepared) INSERT with id 0, i.e. "next AUTO_INCREMENT".
    InsertAutoInc,
    /// select_random_ranges: `SELECT count(k) ... WHERE k BETWEEN ? AND ? OR ...`.
    RandomRanges,
}

/// How sysbench counts a statement in its "queries performed" lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueryClass {
    Read,
    Write,
    Other,
}

impl StmtKind {
    pub fn class(self) -> QueryClass {
        match self {
            StmtKind::Begin | StmtKind::Commit => QueryClass::Other,
            StmtKind::PointSelect
            | StmtKind::SimpleRange
            | StmtKind::SumRange
            | StmtKind::OrderRange
            | StmtKind::DistinctRange
            | StmtKind::RandomRanges => QueryClass::Read,
            StmtKind::IndexUpdate
            | StmtKind::NonIndexUpdate
            | StmtKind::Delete
            | StmtKind::Insert
            | StmtKind::InsertAutoInc => QueryClass::Write,
        }
    }

    /// Whether sysbench sends this as a server-side prepared statement.
    pub fn prepared(self) -> bool {
        self != StmtKind::InsertAutoInc
    }
}

/// One statement on one table (`table` is 0 for BEGIN/COMMIT).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Stmt {
    pub kind: StmtKind,
    pub table: u32,
}

impl Stmt {
    pub fn global(kind: StmtKind) -> Stmt {
        Stmt { kind, table: 0 }
    }
}

/// A parameter value (sysbench binds only INT and CHAR).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Param {
    Int(i64),
    Str(String),
}

impl Param {
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Param::Int(i) => Some(*i),
            Param::Str(_) => None,
        }
    }
}

/// One execution of a statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    pub stmt: Stmt,
    pub params: Vec<Param>,
}

/// SQL dialect of a target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// MySQL/MariaDB and Borealis.
    MySql,
    Sqlite,
}

/// The SQL text of `stmt`. `number_of_ranges` is select_random_ranges' option.
pub fn sql(stmt: Stmt, dialect: Dialect, number_of_ranges: u32) -> String {
    let t = stmt.table;
    match stmt.kind {
        StmtKind::Begin => "BEGIN".into(),
        StmtKind::Commit => "COMMIT".into(),
        StmtKind::PointSelect => format!("SELECT c FROM sbtest{t} WHERE id=?"),
        StmtKind::SimpleRange => format!("SELECT c FROM sbtest{t} WHERE id BETWEEN ? AND ?"),
        StmtKind::SumRange => format!("SELECT SUM(k) FROM sbtest{t} WHERE id BETWEEN ? AND ?"),
        StmtKind::OrderRange => {
            format!("SELECT c FROM sbtest{t} WHERE id BETWEEN ? AND ? ORDER BY c")
        }
        StmtKind::DistinctRange => {
            format!("SELECT DISTINCT c FROM sbtest{t} WHERE id BETWEEN ? AND ? ORDER BY c")
        }
        StmtKind::IndexUpdate => format!("UPDATE sbtest{t} SET k=k+1 WHERE id=?"),
        StmtKind::NonIndexUpdate => format!("UPDATE sbtest{t} SET c=? WHERE id=?"),
        StmtKind::Delete => format!("DELETE FROM sbtest{t} WHERE id=?"),
        StmtKind::Insert => format!("INSERT INTO sbtest{t} (id, k, c, pad) VALUES (?, ?, ?, ?)"),
        StmtKind::InsertAutoInc => match dialect {
            // SQLite assigns the next rowid for NULL, not for 0.
            Dialect::MySql => format!("INSERT INTO sbtest{t} (id, k, c, pad) VALUES (0, ?, ?, ?)"),
            Dialect::Sqlite => {
                format!("INSERT INTO sbtest{t} (id, k, c, pad) VALUES (NULL, ?, ?, ?)")
            }
        },
        StmtKind::RandomRanges => {
            let n = number_of_ranges.max(1) as usize;
            let ranges = vec!["k BETWEEN ? AND ?"; n].join(" OR ");
            format!("SELECT count(k) FROM sbtest{t} WHERE {ranges}")
        }
    }
}

/// `sql` with the parameters inlined as literals (for text-protocol statements:
/// sysbench's oltp_insert is sent this way). Strings are sysbench's digit strings;
/// quotes and backslashes are escaped anyway so the text is always valid.
pub fn inline(sql: &str, params: &[Param]) -> String {
    let mut out = String::with_capacity(sql.len() + 200);
    let mut it = params.iter();
    for ch in sql.chars() {
        if ch != '?' {
            out.push(ch);
            continue;
        }
        match it.next() {
            Some(Param::Int(i)) => {
                let _ = write!(out, "{i}");
            }
            Some(Param::Str(s)) => {
                out.push('\'');
                for c in s.chars() {
                    if c == '\'' || c == '\\' {
                        out.push('\\');
                    }
                    out.push(c);
                }
                out.push('\'');
            }
            None => out.push_str("NULL"),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_match_the_sysbench_wire_capture() {
        let s = |kind, table| sql(Stmt { kind, table }, Dialect::MySql, 10);
        assert_eq!(
            s(StmtKind::PointSelect, 3),
            "SELECT c FROM sbtest3 WHERE id=?"
        );
        assert_eq!(
            s(StmtKind::DistinctRange, 1),
            "SELECT DISTINCT c FROM sbtest1 WHERE id BETWEEN ? AND ? ORDER BY c"
        );
        assert_eq!(
            s(StmtKind::Insert, 4),
            "INSERT INTO sbtest4 (id, k, c, pad) VALUES (?, ?, ?, ?)"
        );
        let rr = s(StmtKind::RandomRanges, 1);
        assert_eq!(rr.matches("k BETWEEN ? AND ?").count(), 10);
        assert_eq!(rr.matches(" OR ").count(), 9);
    }

    #[test]
    fn inline_renders_literals() {
        let text = inline(
            "INSERT INTO t VALUES (0, ?, ?)",
            &[Param::Int(493), Param::Str("a'b".into())],
        );
        assert_eq!(text, "INSERT INTO t VALUES (0, 493, 'a\\'b')");
    }
}
