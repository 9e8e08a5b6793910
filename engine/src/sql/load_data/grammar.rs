//! The grammar of `LOAD DATA` (sqlparser does not parse it):
//!
//! ```text
//! LOAD DATA [LOW_PRIORITY | CONCURRENT] [LOCAL] INFILE 'file' [REPLACE | IGNORE]
//!   INTO TABLE [db.]tbl [CHARACTER SET cs]
//!   [{FIELDS | COLUMNS} [TERMINATED BY 's'] [[OPTIONALLY] ENCLOSED BY 'c'] [ESCAPED BY 'c']]
//!   [LINES [STARTING BY 's'] [TERMINATED BY 's']]
//!   [IGNORE n {LINES | ROWS}] [(col_or_@var, ...)] [SET col = expr, ...]
//! ```
//!
//! Owns: a small tokenizer (MySQL string literals with their backslash escapes, quoted
//! identifiers, hex literals) and [`parse`], which turns the text into a [`LoadData`].
//! Invariants: the SET clause is kept as text for sqlparser (an expression grammar is
//! not duplicated here); a syntax error is 1064 with MySQL's "near '...' at line N"
//! pointing at the first token not understood; ENCLOSED BY / ESCAPED BY longer than one
//! byte is 1083, as in MySQL.

use crate::error::{code, Error, Result};

/// MySQL's ER_WRONG_FIELD_TERMINATORS.
pub const ER_WRONG_FIELD_TERMINATORS: u16 = 1083;

/// Duplicate-key handling named in the statement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnDuplicate {
    /// Neither REPLACE nor IGNORE: an error, or IGNORE's behaviour with LOCAL.
    Default,
    Replace,
    Ignore,
}

/// One entry of the column list: a column or a user variable (`@name`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Column(String),
    Var(String),
}

/// How the file is cut into lines and fields (MySQL's defaults in [`Default`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Format {
    pub field_term: Vec<u8>,
    pub enclosed: Option<u8>,
    /// Only changes what SELECT ... INTO OUTFILE writes; input accepts both forms.
    pub optionally: bool,
    pub escaped: Option<u8>,
    pub line_term: Vec<u8>,
    pub line_start: Vec<u8>,
}

impl Default for Format {
    fn default() -> Self {
        Format {
            field_term: b"\t".to_vec(),
            enclosed: None,
            optionally: false,
            escaped: Some(b'\\'),
            line_term: b"\n".to_vec(),
            line_start: Vec::new(),
        }
    }
}

/// A parsed LOAD DATA statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadData {
    pub local: bool,
    /// The file name as written (bytes of the string literal, UTF-8 lossy).
    pub file: String,
    pub on_dup: OnDuplicate,
    pub db: Option<String>,
    pub table: String,
    pub charset: Option<String>,
    pub format: Format,
    pub ignore_lines: u64,
    /// Empty: every column of the table, in order.
    pub targets: Vec<Target>,
    /// The text after SET (`a = expr, b = expr`), if any.
    pub set: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Tok {
    /// A bare word (keyword or identifier).
    Word(String),
    /// A backquoted identifier.
    Quoted(String),
    /// A string literal (quotes removed, escapes applied) or a hex literal.
    Str(Vec<u8>),
    Num(u64),
    /// `@name` or `@'name'` / `` @`name` ``.
    Var(String),
    Punct(char),
}

struct Lexer<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Lexer<'a> {
    fn skip_space(&mut self) {
        let b = self.text.as_bytes();
        loop {
            while self.pos < b.len() && b[self.pos].is_ascii_whitespace() {
                self.pos += 1;
            }
            let rest = &self.text[self.pos..];
            if let Some(body) = rest.strip_prefix("/*") {
                match body.find("*/") {
                    Some(e) => self.pos += 2 + e + 2,
                    None => self.pos = b.len(),
                }
            } else if rest.starts_with('#')
                || rest.starts_with("--") && rest[2..].starts_with(|c: char| c.is_whitespace())
            {
                match rest.find('\n') {
                    Some(e) => self.pos += e + 1,
                    None => self.pos = b.len(),
                }
            } else {
                return;
            }
        }
    }

    /// The next token and the byte offset where it starts; None at the end.
    fn next(&mut self) -> Result<Option<(Tok, usize)>> {
        self.skip_space();
        let b = self.text.as_bytes();
        let start = self.pos;
        let Some(&c) = b.get(start) else {
            return Ok(None);
        };
        let tok = match c {
            b'\'' | b'"' => Tok::Str(self.string(c)?),
            b'`' => Tok::Quoted(self.backquoted()?),
            b'@' => {
                self.pos += 1;
                match b.get(self.pos) {
                    Some(&q @ (b'\'' | b'"')) => {
                        Tok::Var(String::from_utf8_lossy(&self.string(q)?).into_owned())
                    }
                    Some(b'`') => Tok::Var(self.backquoted()?),
                    _ => Tok::Var(self.word()),
                }
            }
            b'0' if matches!(b.get(start + 1), Some(b'x' | b'X')) => {
                self.pos += 2;
                let digits = self.word();
                Tok::Str(hex(&digits).ok_or_else(|| self.error_at(start))?)
            }
            b'x' | b'X' if b.get(start + 1) == Some(&b'\'') => {
                self.pos += 1;
                let digits = self.string(b'\'')?;
                Tok::Str(
                    hex(&String::from_utf8_lossy(&digits)).ok_or_else(|| self.error_at(start))?,
                )
            }
            c if c.is_ascii_digit() => {
                let w = self.word();
                match w.parse::<u64>() {
                    Ok(n) => Tok::Num(n),
                    Err(_) => return Err(self.error_at(start)),
                }
            }
            c if c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80 => {
                let w = self.word();
                // A charset introducer before a literal (`_utf8mb4'x'`): the literal.
                if w.starts_with('_') && matches!(b.get(self.pos), Some(b'\'' | b'"')) {
                    let q = b[self.pos];
                    Tok::Str(self.string(q)?)
                } else {
                    Tok::Word(w)
                }
            }
            _ => {
                // Punctuation: one character.
                let ch = self.text[start..].chars().next().expect("not at the end");
                self.pos += ch.len_utf8();
                Tok::Punct(ch)
            }
        };
        Ok(Some((tok, start)))
    }

    fn word(&mut self) -> String {
        let b = self.text.as_bytes();
        let start = self.pos;
        while self.pos < b.len()
            && (b[self.pos].is_ascii_alphanumeric()
                || b[self.pos] == b'_'
                || b[self.pos] == b'$'
                || b[self.pos] >= 0x80)
        {
            self.pos += 1;
        }
        self.text[start..self.pos].to_string()
    }

    /// A string literal opened by `q` at `self.pos`: doubled quotes and MySQL's
    /// backslash escapes (`\%` and `\_` keep their backslash, as in MySQL).
    fn string(&mut self, q: u8) -> Result<Vec<u8>> {
        let b = self.text.as_bytes();
        let start = self.pos;
        let mut out = Vec::new();
        let mut i = start + 1;
        loop {
            let Some(&c) = b.get(i) else {
                return Err(self.error_at(start));
            };
            if c == b'\\' {
                let Some(&e) = b.get(i + 1) else {
                    return Err(self.error_at(start));
                };
                match e {
                    b'0' => out.push(0),
                    b'b' => out.push(8),
                    b'n' => out.push(b'\n'),
                    b'r' => out.push(b'\r'),
                    b't' => out.push(b'\t'),
                    b'Z' => out.push(26),
                    b'%' | b'_' => out.extend_from_slice(&[b'\\', e]),
                    e => out.push(e),
                }
                i += 2;
            } else if c == q {
                if b.get(i + 1) == Some(&q) {
                    out.push(q);
                    i += 2;
                } else {
                    self.pos = i + 1;
                    return Ok(out);
                }
            } else {
                out.push(c);
                i += 1;
            }
        }
    }

    fn backquoted(&mut self) -> Result<String> {
        let b = self.text.as_bytes();
        let start = self.pos;
        let mut out = Vec::new();
        let mut i = start + 1;
        loop {
            match b.get(i) {
                None => return Err(self.error_at(start)),
                Some(b'`') if b.get(i + 1) == Some(&b'`') => {
                    out.push(b'`');
                    i += 2;
                }
                Some(b'`') => {
                    self.pos = i + 1;
                    return Ok(String::from_utf8_lossy(&out).into_owned());
                }
                Some(&c) => {
                    out.push(c);
                    i += 1;
                }
            }
        }
    }

    fn error_at(&self, at: usize) -> Error {
        syntax_error(self.text, at)
    }
}

fn hex(digits: &str) -> Option<Vec<u8>> {
    if !digits.len().is_multiple_of(2) || !digits.bytes().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).ok())
        .collect()
}

/// MySQL's 1064 for a statement that stops making sense at byte `at`.
pub fn syntax_error(text: &str, at: usize) -> Error {
    let at = at.min(text.len());
    let line = 1 + text[..at].matches('\n').count();
    let near: String = text[at..].chars().take(80).collect();
    Error::new(
        code::ER_PARSE,
        format!(
            "You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version for the right syntax to use near '{near}' at line {line}"
        ),
    )
}

/// A token stream with one token of lookahead.
struct Parser<'a> {
    lex: Lexer<'a>,
    peeked: Option<Option<(Tok, usize)>>,
}

impl<'a> Parser<'a> {
    fn peek(&mut self) -> Result<Option<&Tok>> {
        if self.peeked.is_none() {
            self.peeked = Some(self.lex.next()?);
        }
        Ok(self
            .peeked
            .as_ref()
            .and_then(|p| p.as_ref())
            .map(|(t, _)| t))
    }

    fn bump(&mut self) -> Result<Option<(Tok, usize)>> {
        match self.peeked.take() {
            Some(t) => Ok(t),
            None => self.lex.next(),
        }
    }

    /// Where the next token starts (the end of the text when there is none).
    fn here(&mut self) -> Result<usize> {
        self.peek()?;
        Ok(match self.peeked.as_ref().and_then(|p| p.as_ref()) {
            Some((_, at)) => *at,
            None => self.lex.text.len(),
        })
    }

    fn error(&mut self) -> Error {
        match self.here() {
            Ok(at) => syntax_error(self.lex.text, at),
            Err(e) => e,
        }
    }

    fn is_kw(&mut self, kw: &str) -> Result<bool> {
        Ok(matches!(self.peek()?, Some(Tok::Word(w)) if w.eq_ignore_ascii_case(kw)))
    }

    /// Consume keyword `kw` if it is next.
    fn eat(&mut self, kw: &str) -> Result<bool> {
        if self.is_kw(kw)? {
            self.bump()?;
            return Ok(true);
        }
        Ok(false)
    }

    fn expect(&mut self, kw: &str) -> Result<()> {
        if self.eat(kw)? {
            Ok(())
        } else {
            Err(self.error())
        }
    }

    fn punct(&mut self, c: char) -> Result<bool> {
        if self.peek()? == Some(&Tok::Punct(c)) {
            self.bump()?;
            return Ok(true);
        }
        Ok(false)
    }

    fn string(&mut self) -> Result<Vec<u8>> {
        match self.peek()? {
            Some(Tok::Str(_)) => match self.bump()? {
                Some((Tok::Str(s), _)) => Ok(s),
                _ => Err(self.error()),
            },
            _ => Err(self.error()),
        }
    }

    fn ident(&mut self) -> Result<String> {
        match self.peek()? {
            Some(Tok::Word(_) | Tok::Quoted(_)) => match self.bump()? {
                Some((Tok::Word(w) | Tok::Quoted(w), _)) => Ok(w),
                _ => Err(self.error()),
            },
            _ => Err(self.error()),
        }
    }

    /// A charset name: a word or a string.
    fn name_or_string(&mut self) -> Result<String> {
        if matches!(self.peek()?, Some(Tok::Str(_))) {
            return Ok(String::from_utf8_lossy(&self.string()?).into_owned());
        }
        self.ident()
    }

    /// ENCLOSED BY / ESCAPED BY take at most one byte.
    fn single_char(&mut self) -> Result<Option<u8>> {
        let s = self.string()?;
        match s.as_slice() {
            [] => Ok(None),
            [c] => Ok(Some(*c)),
            _ => Err(Error::new(
                ER_WRONG_FIELD_TERMINATORS,
                "Field separator argument is not what is expected; check the manual",
            )),
        }
    }
}

/// Parse a `LOAD DATA` statement (the caller recognized its first two words).
pub fn parse(text: &str) -> Result<LoadData> {
    let mut p = Parser {
        lex: Lexer { text, pos: 0 },
        peeked: None,
    };
    p.expect("LOAD")?;
    p.expect("DATA")?;
    if !p.eat("LOW_PRIORITY")? {
        p.eat("CONCURRENT")?;
    }
    let local = p.eat("LOCAL")?;
    p.expect("INFILE")?;
    let file = String::from_utf8_lossy(&p.string()?).into_owned();
    let on_dup = if p.eat("REPLACE")? {
        OnDuplicate::Replace
    } else if p.eat("IGNORE")? {
        OnDuplicate::Ignore
    } else {
        OnDuplicate::Default
    };
    p.expect("INTO")?;
    p.expect("TABLE")?;
    let first = p.ident()?;
    let (db, table) = if p.punct('.')? {
        (Some(first), p.ident()?)
    } else {
        (None, first)
    };
    let mut charset = None;
    if p.eat("CHARACTER")? {
        p.expect("SET")?;
        charset = Some(p.name_or_string()?);
    } else if p.eat("CHARSET")? {
        charset = Some(p.name_or_string()?);
    }
    let mut format = Format::default();
    if p.eat("FIELDS")? || p.eat("COLUMNS")? {
        let mut any = false;
        loop {
            if p.eat("TERMINATED")? {
                p.expect("BY")?;
                format.field_term = p.string()?;
            } else if p.eat("OPTIONALLY")? {
                p.expect("ENCLOSED")?;
                p.expect("BY")?;
                format.enclosed = p.single_char()?;
                format.optionally = true;
            } else if p.eat("ENCLOSED")? {
                p.expect("BY")?;
                format.enclosed = p.single_char()?;
            } else if p.eat("ESCAPED")? {
                p.expect("BY")?;
                format.escaped = p.single_char()?;
            } else {
                break;
            }
            any = true;
        }
        if !any {
            return Err(p.error());
        }
    }
    if p.eat("LINES")? {
        let mut any = false;
        loop {
            if p.eat("STARTING")? {
                p.expect("BY")?;
                format.line_start = p.string()?;
            } else if p.eat("TERMINATED")? {
                p.expect("BY")?;
                format.line_term = p.string()?;
            } else {
                break;
            }
            any = true;
        }
        if !any {
            return Err(p.error());
        }
    }
    let mut ignore_lines = 0;
    if p.eat("IGNORE")? {
        ignore_lines = match p.bump()? {
            Some((Tok::Num(n), _)) => n,
            Some((_, at)) => return Err(syntax_error(text, at)),
            None => return Err(syntax_error(text, text.len())),
        };
        if !p.eat("LINES")? && !p.eat("ROWS")? {
            return Err(p.error());
        }
    }
    let mut targets = Vec::new();
    if p.punct('(')? {
        // `()` is MySQL's way of naming no column at all; it is accepted as "all".
        if !p.punct(')')? {
            loop {
                match p.bump()? {
                    Some((Tok::Var(v), _)) => targets.push(Target::Var(v)),
                    Some((Tok::Word(w) | Tok::Quoted(w), _)) => {
                        // `t.col` / `db.t.col`: the last part names the column.
                        let mut name = w;
                        while p.punct('.')? {
                            name = p.ident()?;
                        }
                        targets.push(Target::Column(name));
                    }
                    Some((_, at)) => return Err(syntax_error(text, at)),
                    None => return Err(syntax_error(text, text.len())),
                }
                if p.punct(')')? {
                    break;
                }
                if !p.punct(',')? {
                    return Err(p.error());
                }
            }
        }
    }
    let mut set = None;
    if p.is_kw("SET")? {
        let at = p.here()?;
        p.bump()?;
        let rest = text[at + 3..].trim();
        let rest = rest.strip_suffix(';').unwrap_or(rest).trim_end();
        if rest.is_empty() {
            return Err(syntax_error(text, text.len()));
        }
        set = Some(rest.to_string());
    } else {
        // Nothing may follow but a final `;`.
        p.punct(';')?;
        if p.peek()?.is_some() {
            return Err(p.error());
        }
    }
    Ok(LoadData {
        local,
        file,
        on_dup,
        db,
        table,
        charset,
        format,
        ignore_lines,
        targets,
        set,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_statement_takes_mysql_defaults() {
        let l = parse("LOAD DATA INFILE '/tmp/x.txt' INTO TABLE t").unwrap();
        assert!(!l.local);
        assert_eq!(l.file, "/tmp/x.txt");
        assert_eq!(l.table, "t");
        assert_eq!(l.db, None);
        assert_eq!(l.on_dup, OnDuplicate::Default);
        assert_eq!(l.format, Format::default());
        assert_eq!(l.format.field_term, b"\t");
        assert_eq!(l.format.escaped, Some(b'\\'));
        assert_eq!(l.format.line_term, b"\n");
        assert_eq!(l.ignore_lines, 0);
        assert!(l.targets.is_empty());
        assert_eq!(l.set, None);
    }

    #[test]
    fn every_clause() {
        let l = parse(
            "load data low_priority local infile \"d\\\\f.csv\" replace into table `my db`.`t``x` \
             character set latin1 columns terminated by ',' optionally enclosed by '\"' \
             escaped by '' lines starting by 'xx' terminated by '\\r\\n' ignore 2 rows \
             (a, @v, `b`) set c = @v * 2, d = NOW();",
        )
        .unwrap();
        assert!(l.local);
        assert_eq!(l.file, "d\\f.csv");
        assert_eq!(l.on_dup, OnDuplicate::Replace);
        assert_eq!(l.db.as_deref(), Some("my db"));
        assert_eq!(l.table, "t`x");
        assert_eq!(l.charset.as_deref(), Some("latin1"));
        assert_eq!(l.format.field_term, b",");
        assert_eq!(l.format.enclosed, Some(b'"'));
        assert!(l.format.optionally);
        assert_eq!(l.format.escaped, None);
        assert_eq!(l.format.line_start, b"xx");
        assert_eq!(l.format.line_term, b"\r\n");
        assert_eq!(l.ignore_lines, 2);
        assert_eq!(
            l.targets,
            vec![
                Target::Column("a".into()),
                Target::Var("v".into()),
                Target::Column("b".into())
            ]
        );
        assert_eq!(l.set.as_deref(), Some("c = @v * 2, d = NOW()"));
    }

    #[test]
    fn options_in_any_order_and_hex_terminators() {
        let l = parse(
            "LOAD DATA CONCURRENT INFILE 'f' IGNORE INTO TABLE t FIELDS ESCAPED BY '#' \
             TERMINATED BY 0x7c LINES TERMINATED BY X'0d0a' STARTING BY '>'",
        )
        .unwrap();
        assert_eq!(l.on_dup, OnDuplicate::Ignore);
        assert_eq!(l.format.escaped, Some(b'#'));
        assert_eq!(l.format.field_term, b"|");
        assert_eq!(l.format.line_term, b"\r\n");
        assert_eq!(l.format.line_start, b">");
    }

    #[test]
    fn syntax_errors_are_1064_near_the_bad_token() {
        for (sql, near) in [
            ("LOAD DATA INFILE 'f' INTO t", "t' at line 1"),
            (
                "LOAD DATA INFILE f INTO TABLE t",
                "f INTO TABLE t' at line 1",
            ),
            ("LOAD DATA INFILE 'f' INTO TABLE t FIELDS", "' at line 1"),
            (
                "LOAD DATA INFILE 'f' INTO TABLE t IGNORE x LINES",
                "x LINES' at line 1",
            ),
            ("LOAD DATA INFILE 'f' INTO TABLE t (a b)", "b)' at line 1"),
            (
                "LOAD DATA INFILE 'f' INTO TABLE t\nbogus",
                "bogus' at line 2",
            ),
            ("LOAD DATA INFILE 'f", "'f' at line 1"),
            ("LOAD DATA INFILE 'f' INTO TABLE t SET", "' at line 1"),
        ] {
            let e = parse(sql).unwrap_err();
            assert_eq!(e.code, code::ER_PARSE, "{sql}");
            assert!(
                e.message.ends_with(&format!("near '{near}")),
                "{sql}: {}",
                e.message
            );
        }
    }

    #[test]
    fn enclosure_and_escape_are_single_bytes() {
        let e = parse("LOAD DATA INFILE 'f' INTO TABLE t FIELDS ENCLOSED BY '\"\"'").unwrap_err();
        assert_eq!(e.code, ER_WRONG_FIELD_TERMINATORS);
        let e = parse("LOAD DATA INFILE 'f' INTO TABLE t FIELDS ESCAPED BY 'ab'").unwrap_err();
        assert_eq!(e.code, ER_WRONG_FIELD_TERMINATORS);
    }
}
