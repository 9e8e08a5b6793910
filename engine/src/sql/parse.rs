//! From SQL text to statements: MySQL's lexical extras that sqlparser does not handle
//! (versioned comments `/*!80000 ... */`, `MOD` as an operator, `LOCK IN SHARE MODE`),
//! splitting a multi-statement text at top-level semicolons (so one bad statement does
//! not hide the ones before it), and recognition of the statements we parse ourselves.

use sqlparser::ast::Statement;
use sqlparser::dialect::MySqlDialect;
use sqlparser::parser::Parser;

use crate::error::{Error, Result};

/// Nesting depth sqlparser may recurse to (its default, 50, refuses generated queries
/// with ~30 levels of parentheses that MySQL accepts; each level costs a few KB of stack
/// in a debug build, well within a 2 MB thread stack at this depth).
const RECURSION_LIMIT: usize = 256;

/// Our server version as MySQL's versioned comments compare it.
const VERSION_ID: u32 = 80036;

/// The byte MySQL's backslash escape `\c` stands for in a string literal (and in LOAD
/// DATA fields): `\0 \b \n \r \t \Z` are control bytes, any other `c` is itself.
pub fn unescape_byte(c: u8) -> u8 {
    match c {
        b'0' => 0,
        b'b' => 8,
        b'n' => b'\n',
        b'r' => b'\r',
        b't' => b'\t',
        b'Z' => 26,
        c => c,
    }
}

/// Split a multi-statement text into statements (quotes and comments respected).
/// Empty statements are dropped.
pub fn split_statements(sql: &str) -> Vec<String> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\'' | b'"' | b'`' => i = skip_quoted(b, i),
            b'-' if b.get(i + 1) == Some(&b'-')
                && matches!(b.get(i + 2), None | Some(b' ' | b'\t' | b'\n' | b'\r')) =>
            {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'#' => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') && b.get(i + 2) != Some(&b'!') => {
                i += 2;
                while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                    i += 1;
                }
                i += 2;
            }
            // A ';' inside a trigger's BEGIN ... END belongs to the trigger body.
            b';' if crate::sql::trigger::inside_compound(&sql[start..i]) => i += 1,
            b';' => {
                let s = sql[start..i].trim();
                if !s.is_empty() {
                    out.push(s.to_string());
                }
                i += 1;
                start = i;
            }
            _ => i += 1,
        }
    }
    if start < sql.len() {
        let s = sql[start..].trim();
        if !s.is_empty() && !is_only_comments(s) {
            out.push(s.to_string());
        }
    }
    out
}

fn is_only_comments(s: &str) -> bool {
    let t = preprocess(s);
    let t = t.trim();
    t.is_empty()
        || t.lines().all(|l| {
            let l = l.trim();
            l.is_empty() || l.starts_with("--") || l.starts_with('#')
        }) && !t.contains("/*!")
            && strip_block_comments(t).trim().is_empty()
}

fn strip_block_comments(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("/*") {
        out.push_str(&rest[..i]);
        match rest[i..].find("*/") {
            Some(j) => rest = &rest[i + j + 2..],
            None => return out,
        }
    }
    out.push_str(rest);
    out.lines()
        .filter(|l| !l.trim_start().starts_with("--") && !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n")
}

fn skip_quoted(b: &[u8], start: usize) -> usize {
    let q = b[start];
    let mut i = start + 1;
    while i < b.len() {
        if b[i] == b'\\' && q != b'`' {
            i += 2;
            continue;
        }
        if b[i] == q {
            if b.get(i + 1) == Some(&q) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    b.len()
}

/// Rewrite MySQL-only lexical forms into ones sqlparser understands.
pub fn preprocess(sql: &str) -> String {
    let b = sql.as_bytes();
    let mut out = String::with_capacity(sql.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'\'' || c == b'"' || c == b'`' {
            let j = skip_quoted(b, i);
            out.push_str(&sql[i..j]);
            i = j;
            continue;
        }
        if c == b'/' && b.get(i + 1) == Some(&b'*') && b.get(i + 2) == Some(&b'!') {
            // Versioned comment: keep its content when our version is new enough.
            let mut j = i + 3;
            let ds = j;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            let ver: u32 = sql[ds..j].parse().unwrap_or(0);
            let end = sql[j..].find("*/").map(|e| j + e).unwrap_or(b.len());
            if ver <= VERSION_ID {
                out.push(' ');
                out.push_str(&preprocess(&sql[j..end]));
                out.push(' ');
            }
            i = (end + 2).min(b.len());
            continue;
        }
        if c == b'/' && b.get(i + 1) == Some(&b'*') {
            let end = sql[i + 2..]
                .find("*/")
                .map(|e| i + 2 + e + 2)
                .unwrap_or(b.len());
            out.push_str(&sql[i..end]);
            i = end;
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' {
            let mut j = i;
            while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_' || b[j] == b'$') {
                j += 1;
            }
            let word = &sql[i..j];
            let prev_is_dot = i > 0 && b[i - 1] == b'.';
            if word.eq_ignore_ascii_case("mod") && !prev_is_dot {
                // MOD as an infix operator (MOD(a, b) stays a function call).
                let mut k = j;
                while k < b.len() && b[k] == b' ' {
                    k += 1;
                }
                if b.get(k) != Some(&b'(') && !out.trim_end().is_empty() {
                    out.push('%');
                    i = j;
                    continue;
                }
            }
            if word.eq_ignore_ascii_case("check") && !prev_is_dot {
                // ALTER TABLE ... DROP CHECK name: sqlparser knows DROP CONSTRAINT.
                let before = out.trim_end();
                let n = before.len();
                if n >= 4
                    && before[n - 4..].eq_ignore_ascii_case("drop")
                    && (n == 4 || !before.as_bytes()[n - 5].is_ascii_alphanumeric())
                {
                    out.push_str("CONSTRAINT");
                    i = j;
                    continue;
                }
            }
            if word.eq_ignore_ascii_case("lock") {
                let rest = sql[j..].to_ascii_uppercase();
                let rest_t = rest.trim_start();
                if rest_t.starts_with("IN SHARE MODE") {
                    let skip = rest.len() - rest_t.len() + "IN SHARE MODE".len();
                    out.push_str("FOR SHARE");
                    i = j + skip;
                    continue;
                }
            }
            if word.eq_ignore_ascii_case("char") && !prev_is_dot {
                if let Some((args, charset, end)) = char_using(sql, j) {
                    // CHAR(n, ... USING cs) is CHAR's bytes read in charset cs, which is
                    // what CONVERT(CHAR(n, ...) USING cs) means.
                    out.push_str(&format!(
                        "CONVERT({word}({}) USING {charset})",
                        preprocess(args)
                    ));
                    i = end;
                    continue;
                }
            }
            // Compound INTERVAL units (HOUR_MINUTE) in the form sqlparser reads.
            const UNITS: [&str; 13] = [
                "SECOND_MICROSECOND",
                "MINUTE_MICROSECOND",
                "MINUTE_SECOND",
                "HOUR_MICROSECOND",
                "HOUR_SECOND",
                "HOUR_MINUTE",
                "DAY_MICROSECOND",
                "DAY_SECOND",
                "DAY_MINUTE",
                "DAY_HOUR",
                "YEAR_MONTH",
                "QUARTER_",
                "WEEK_",
            ];
            if let Some(u) = UNITS
                .iter()
                .find(|u| u.eq_ignore_ascii_case(word) && !u.ends_with('_'))
            {
                let (a, bpart) = u.split_once('_').expect("compound unit");
                out.push_str(&format!("{a} TO {bpart}"));
                i = j;
                continue;
            }
            out.push_str(word);
            i = j;
            continue;
        }
        if c == b'&' && b.get(i + 1) == Some(&b'&') {
            out.push_str(" AND ");
            i += 2;
            continue;
        }
        if c == b'!' && b.get(i + 1) != Some(&b'=') {
            out.push_str(" NOT ");
            i += 1;
            continue;
        }
        out.push(c as char);
        if c >= 0x80 {
            // Copy the rest of a multi-byte character.
            out.pop();
            let ch = sql[i..].chars().next().expect("valid utf8");
            out.push(ch);
            i += ch.len_utf8();
            continue;
        }
        i += 1;
    }
    out
}

/// `SET @a := 1, x := 2`: MySQL accepts `:=` as SET's assignment sign; sqlparser wants
/// `=`. Only top-level signs of a SET statement change (`:=` inside a subquery or
/// parentheses stays the assignment operator).
fn set_colon_equals(sql: String) -> String {
    let t = sql.trim_start();
    let tb = t.as_bytes();
    let is_set =
        tb.len() > 3 && tb[..3].eq_ignore_ascii_case(b"set") && tb[3].is_ascii_whitespace();
    if !is_set || !sql.contains(":=") {
        return sql;
    }
    let b = sql.as_bytes();
    let mut out = String::with_capacity(sql.len());
    let mut depth = 0i32;
    let mut i = 0;
    let mut copied = 0;
    while i < b.len() {
        match b[i] {
            b'\'' | b'"' | b'`' => {
                i = skip_quoted(b, i);
                continue;
            }
            b'(' => depth += 1,
            b')' => depth -= 1,
            b':' if depth == 0 && b.get(i + 1) == Some(&b'=') => {
                out.push_str(&sql[copied..i]);
                out.push('=');
                i += 2;
                copied = i;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out.push_str(&sql[copied..]);
    out
}

/// `CHAR` at `after_word` followed by `(args USING charset)`: the argument text, the
/// charset name and the offset just past the closing parenthesis.
fn char_using(sql: &str, after_word: usize) -> Option<(&str, &str, usize)> {
    let b = sql.as_bytes();
    let mut k = after_word;
    while k < b.len() && b[k].is_ascii_whitespace() {
        k += 1;
    }
    if b.get(k) != Some(&b'(') {
        return None;
    }
    let open = k;
    let mut depth = 0usize;
    let mut using_at = None;
    let mut i = open;
    while i < b.len() {
        match b[i] {
            b'\'' | b'"' | b'`' => {
                i = skip_quoted(b, i);
                continue;
            }
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    let u = using_at?;
                    let charset = sql[u + "USING".len()..i].trim();
                    let valid = !charset.is_empty()
                        && charset
                            .bytes()
                            .all(|c| c.is_ascii_alphanumeric() || c == b'_');
                    return valid.then(|| (&sql[open + 1..u], charset, i + 1));
                }
            }
            c if depth == 1 && (c == b'u' || c == b'U') => {
                let word_start = i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_');
                let end = i + "USING".len();
                if word_start
                    && sql
                        .get(i..end)
                        .is_some_and(|w| w.eq_ignore_ascii_case("using"))
                    && b.get(end).is_some_and(|c| c.is_ascii_whitespace())
                {
                    using_at = Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// Top-level words and punctuation of a statement: (byte offset, token), skipping
/// quoted text, comments and anything inside parentheses.
pub(crate) fn top_level_tokens(sql: &str) -> Vec<(usize, &str)> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\'' | b'"' | b'`' => {
                let j = skip_quoted(b, i);
                if depth == 0 {
                    out.push((i, &sql[i..j]));
                }
                i = j;
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i = sql[i + 2..].find("*/").map_or(b.len(), |e| i + 2 + e + 2);
                continue;
            }
            b'#' => {
                i = sql[i..].find('\n').map_or(b.len(), |e| i + e);
                continue;
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                i = sql[i..].find('\n').map_or(b.len(), |e| i + e);
                continue;
            }
            b'(' => depth += 1,
            b')' => depth -= 1,
            c if depth == 0 && (c.is_ascii_alphanumeric() || c == b'_' || c == b'$') => {
                let mut j = i;
                while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_' || b[j] == b'$')
                {
                    j += 1;
                }
                out.push((i, &sql[i..j]));
                i = j;
                continue;
            }
            // ASCII punctuation only: a byte of a multi-byte character is no token.
            c if depth == 0 && c.is_ascii_punctuation() => out.push((i, &sql[i..i + 1])),
            _ => {}
        }
        i += 1;
    }
    out
}

/// MySQL's multi-table UPDATE and DELETE forms that sqlparser does not read:
/// `UPDATE t1, t2 SET ...` becomes `UPDATE t1 FROM t2 SET ...` (the table list before SET
/// split at its first top-level comma; `dml` reads the two parts back as one FROM list),
/// and `DELETE t1.*, t2.* FROM ...` / `DELETE FROM t1.* USING ...` drop the `.*` that only
/// says "all columns" of a target table. After EXPLAIN too.
fn multi_table_dml(sql: String) -> String {
    let all = top_level_tokens(&sql);
    // EXPLAIN [FORMAT = x] UPDATE/DELETE ...: rewrite from the statement's own keyword.
    let start = match all.first() {
        Some(&(_, w))
            if ["explain", "describe", "desc"]
                .iter()
                .any(|k| w.eq_ignore_ascii_case(k)) =>
        {
            all.iter()
                .take(6)
                .position(|&(_, t)| {
                    t.eq_ignore_ascii_case("update") || t.eq_ignore_ascii_case("delete")
                })
                .unwrap_or(0)
        }
        _ => 0,
    };
    let toks = &all[start..];
    let Some(&(_, first)) = toks.first() else {
        return sql;
    };
    if first.eq_ignore_ascii_case("update") {
        let mut comma = None;
        for &(at, t) in &toks[1..] {
            if t.eq_ignore_ascii_case("set") {
                if let Some(c) = comma {
                    return format!("{} FROM {}", &sql[..c], &sql[c + 1..]);
                }
                break;
            }
            if t == "," && comma.is_none() {
                comma = Some(at);
            }
        }
    } else if first.eq_ignore_ascii_case("delete") {
        let mut cut: Vec<usize> = Vec::new();
        for w in toks.windows(3) {
            if w[2].1.eq_ignore_ascii_case("where") || w[1].1.eq_ignore_ascii_case("where") {
                break;
            }
            if w[1].1 == "." && w[2].1 == "*" {
                cut.push(w[1].0);
            }
        }
        if !cut.is_empty() {
            let mut out = String::with_capacity(sql.len());
            let mut from = 0;
            for c in cut {
                out.push_str(&sql[from..c]);
                // `.` and `*` may be separated by blanks: drop through the `*`.
                from = c + sql[c..].find('*').map_or(1, |s| s + 1);
            }
            out.push_str(&sql[from..]);
            return out;
        }
    }
    sql
}

/// The `BINARY` attribute of a text column type in CREATE/ALTER TABLE (`VARCHAR(10)
/// BINARY`, `TEXT BINARY`), which sqlparser does not read: MySQL takes it as the `_bin`
/// collation of the column's charset, `COLLATE utf8mb4_bin` here (a later CHARACTER SET
/// on the column is not taken into account). Quoted text is left alone.
fn binary_attribute(sql: String) -> String {
    let head = sql.trim_start().get(..6).unwrap_or("").to_ascii_lowercase();
    if head != "create" && !head.starts_with("alter") {
        return sql;
    }
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| {
        regex::Regex::new(
            r"(?i)\b((?:var)?char\s*\(\s*\d+\s*\)|(?:tiny|medium|long)?text|char)(\s+)binary\b",
        )
        .expect("valid regex")
    });
    let b = sql.as_bytes();
    let mut out = String::with_capacity(sql.len() + 16);
    let (mut i, mut plain) = (0, 0);
    while i <= b.len() {
        if i == b.len() || matches!(b[i], b'\'' | b'"' | b'`') {
            out.push_str(&re.replace_all(&sql[plain..i], "${1}${2}COLLATE utf8mb4_bin"));
            if i == b.len() {
                break;
            }
            let j = skip_quoted(b, i);
            out.push_str(&sql[i..j]);
            i = j;
            plain = j;
            continue;
        }
        i += 1;
    }
    out
}

/// Parse one statement's text.
pub fn parse_one(sql: &str) -> Result<Statement> {
    let pre = binary_attribute(multi_table_dml(set_colon_equals(preprocess(sql))));
    let mut stmts = Parser::new(&MySqlDialect {})
        .with_recursion_limit(RECURSION_LIMIT)
        .try_with_sql(&pre)
        .and_then(|mut p| p.parse_statements())
        .map_err(|e| {
            let msg = e.to_string();
            let near = near_text(&pre, &msg);
            Error::parse(near)
        })?;
    match stmts.len() {
        0 => Err(Error::new(
            crate::error::code::ER_EMPTY_QUERY,
            "Query was empty",
        )),
        1 => Ok(stmts.remove(0)),
        _ => Err(Error::parse(pre.trim())),
    }
}

/// The text near a parser error position ("Line: L, Column: C"), as MySQL quotes it.
fn near_text(sql: &str, msg: &str) -> String {
    let find_num = |key: &str| -> Option<usize> {
        let i = msg.find(key)? + key.len();
        let digits: String = msg[i..]
            .trim_start()
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        digits.parse().ok()
    };
    if let (Some(line), Some(col)) = (find_num("Line:"), find_num("Column:")) {
        let mut off = 0;
        for (n, l) in sql.split_inclusive('\n').enumerate() {
            if n + 1 == line {
                let byte = l
                    .char_indices()
                    .nth(col.saturating_sub(1))
                    .map(|(b, _)| b)
                    .unwrap_or(l.len());
                // sqlparser points at the token after the problem; MySQL quotes from the
                // offending token. Back up to the start of the previous token.
                let abs = off + byte;
                let s = &sql[..abs];
                let t = s.trim_end();
                let start = t
                    .rfind(|c: char| c.is_whitespace() || c == '(' || c == ',')
                    .map(|p| p + 1)
                    .unwrap_or(0);
                let _ = start;
                let near: String = sql[abs..].chars().take(80).collect();
                return near;
            }
            off += l.len();
        }
    }
    sql.chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_table_dml_forms() {
        assert_eq!(
            multi_table_dml("UPDATE t1, t2 AS b SET t1.a = 1, b.c = 2".into()),
            "UPDATE t1 FROM  t2 AS b SET t1.a = 1, b.c = 2"
        );
        // Commas after SET or inside parentheses are not the table list's.
        let same = "UPDATE t1 SET a = 1, b = (SELECT 1 FROM x, y)";
        assert_eq!(multi_table_dml(same.into()), same);
        let same = "UPDATE t1 JOIN (SELECT a, b FROM x) d ON t1.a = d.a SET t1.b = d.b";
        assert_eq!(multi_table_dml(same.into()), same);
        assert_eq!(
            multi_table_dml("DELETE a.*, t2 . * FROM t1 a, t2 WHERE a.x = '.*'".into()),
            "DELETE a, t2  FROM t1 a, t2 WHERE a.x = '.*'"
        );
        assert_eq!(
            multi_table_dml("DELETE FROM t1.* USING t1 JOIN t2".into()),
            "DELETE FROM t1 USING t1 JOIN t2"
        );
        let same = "DELETE FROM t WHERE a IN (SELECT t.* FROM t)";
        assert_eq!(multi_table_dml(same.into()), same);
        // Multi-byte characters outside quotes are not cut.
        let same = "UPDATE \u{e9}t\u{e9}, t2 \u{2192}";
        assert_eq!(
            multi_table_dml(same.into()),
            "UPDATE \u{e9}t\u{e9}, t2 \u{2192}"
        );
        assert_eq!(
            multi_table_dml("UPDATE \u{e9}, b SET x = 1".into()),
            "UPDATE \u{e9} FROM  b SET x = 1"
        );
        assert!(parse_one("UPDATE t1, t2 SET t1.a = t2.b WHERE t1.id = t2.id").is_ok());
        assert_eq!(
            binary_attribute("CREATE TABLE t (a VARCHAR(10) BINARY, b TEXT binary, c INT COMMENT 'char(1) binary')".into()),
            "CREATE TABLE t (a VARCHAR(10) COLLATE utf8mb4_bin, b TEXT COLLATE utf8mb4_bin, c INT COMMENT 'char(1) binary')"
        );
        let same = "SELECT CAST(x AS CHAR(3)) = BINARY 'a'";
        assert_eq!(binary_attribute(same.into()), same);
        assert_eq!(
            multi_table_dml("EXPLAIN UPDATE t1, t2 SET t1.a = 1".into()),
            "EXPLAIN UPDATE t1 FROM  t2 SET t1.a = 1"
        );
        assert!(parse_one("DELETE t1.* FROM t1 JOIN t2 ON t1.id = t2.id").is_ok());
    }

    #[test]
    fn versioned_comments_and_mod() {
        assert_eq!(
            preprocess("CREATE TABLE t (a int) /*! ENGINE = innodb */ ").trim(),
            "CREATE TABLE t (a int)   ENGINE = innodb"
        );
        assert!(preprocess("select 1 /*!99999 junk */")
            .trim()
            .ends_with("select 1"));
        assert_eq!(
            preprocess("select 5 mod 2, mod(5,2), 'a mod b'"),
            "select 5 % 2, mod(5,2), 'a mod b'"
        );
        assert_eq!(
            preprocess("select * from t lock in share mode"),
            "select * from t FOR SHARE"
        );
    }

    #[test]
    fn deep_nesting_parses_up_to_the_limit() {
        let nested = |n: usize| {
            format!(
                "SELECT pk FROM t WHERE {}col0 < 1{}",
                "(col3 > 1 AND ".repeat(n),
                ")".repeat(n)
            )
        };
        assert!(parse_one(&nested(100)).is_ok());
        assert_eq!(
            parse_one(&nested(400)).map(|_| ()).unwrap_err().code,
            crate::error::code::ER_PARSE
        );
    }

    #[test]
    fn char_using_becomes_convert() {
        assert_eq!(
            preprocess("SELECT CHAR(77, 121 USING utf8mb4), char(65)"),
            "SELECT CONVERT(CHAR(77, 121 ) USING utf8mb4), char(65)"
        );
        assert_eq!(
            preprocess("select char(ord('u'), 0x41 using latin1) x"),
            "select CONVERT(char(ord('u'), 0x41 ) USING latin1) x"
        );
        // A column type and CAST's target are not the function.
        assert_eq!(
            preprocess("CREATE TABLE t (c CHAR(10))"),
            "CREATE TABLE t (c CHAR(10))"
        );
        assert_eq!(
            preprocess("SELECT CAST(x AS CHAR(3))"),
            "SELECT CAST(x AS CHAR(3))"
        );
    }

    #[test]
    fn set_accepts_colon_equals() {
        assert_eq!(
            set_colon_equals("SET @a := 1, @b:=':=', @c := (SELECT @d := 2)".into()),
            "SET @a = 1, @b=':=', @c = (SELECT @d := 2)"
        );
        assert_eq!(set_colon_equals("SELECT @a := 1".into()), "SELECT @a := 1");
    }

    #[test]
    fn splits_statements() {
        assert_eq!(
            split_statements("select 1; select ';'; -- c\n"),
            vec!["select 1", "select ';'"]
        );
        assert_eq!(split_statements("select 1"), vec!["select 1"]);
        assert!(split_statements("  ;  ").is_empty());
        assert_eq!(
            split_statements(
                "CREATE TRIGGER t BEFORE INSERT ON a FOR EACH ROW BEGIN SET NEW.x = 1; \
                 IF NEW.y THEN SET NEW.z = CASE WHEN 1 THEN 2 END; END IF; END; select 2"
            )
            .len(),
            2
        );
    }
}
