//! LIKE pattern matching: `%` any sequence, `_` one character, an escape character
//! (default `\`) making the next one literal. Case-insensitive under the default
//! collation, exact under a `_bin` one and when either side is a binary string. Unlike `=`, trailing spaces
//! count (LIKE does not pad).

use super::args::txt_in;
use crate::value::Value;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Tok {
    Any,
    One,
    Lit(char),
}

fn tokens(pattern: &str, escape: Option<char>) -> Vec<Tok> {
    let mut out = Vec::with_capacity(pattern.len());
    let mut it = pattern.chars().peekable();
    while let Some(c) = it.next() {
        if Some(c) == escape {
            // An escape at the very end matches itself, as in MySQL.
            out.push(Tok::Lit(it.next().unwrap_or(c)));
        } else if c == '%' {
            if out.last() != Some(&Tok::Any) {
                out.push(Tok::Any);
            }
        } else if c == '_' {
            out.push(Tok::One);
        } else {
            out.push(Tok::Lit(c));
        }
    }
    out
}

fn fold(c: char) -> char {
    crate::collation::fold_char(c)
}

/// Match `s` against already tokenized `p`, with linear backtracking on the last `%`.
fn matches(s: &[char], p: &[Tok], ci: bool) -> bool {
    let eq = |a: char, b: char| if ci { fold(a) == fold(b) } else { a == b };
    let (mut si, mut pi) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        match p.get(pi) {
            Some(Tok::One) => {
                si += 1;
                pi += 1;
            }
            Some(Tok::Lit(c)) if eq(*c, s[si]) => {
                si += 1;
                pi += 1;
            }
            Some(Tok::Any) => {
                star = Some((pi, si));
                pi += 1;
            }
            _ => match star {
                Some((sp, ss)) => {
                    pi = sp + 1;
                    si = ss + 1;
                    star = Some((sp, ss + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|t| *t == Tok::Any)
}

/// `s LIKE pattern [ESCAPE escape]`; None when either side is NULL. `escape: None` means
/// the default `\`.
pub fn like(s: &Value, pattern: &Value, escape: Option<char>) -> Option<bool> {
    like_in(s, pattern, escape, true)
}

/// [`like`] under a collation: `case_insensitive` false for a `_bin` one (a binary
/// string on either side is matched exactly whatever the collation).
pub fn like_in(
    s: &Value,
    pattern: &Value,
    escape: Option<char>,
    case_insensitive: bool,
) -> Option<bool> {
    if s.is_null() || pattern.is_null() {
        return None;
    }
    let binary = matches!(s, Value::Bytes(_)) || matches!(pattern, Value::Bytes(_));
    let subject: Vec<char> = txt_in(s, binary)?.chars().collect();
    let pat = txt_in(pattern, binary)?;
    let toks = tokens(&pat, Some(escape.unwrap_or('\\')));
    Some(matches(&subject, &toks, case_insensitive && !binary))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(s: &str, p: &str) -> Option<bool> {
        like(&s.into(), &p.into(), None)
    }

    #[test]
    fn manual_examples() {
        // MySQL manual: 'David!' LIKE 'David_' -> 1, 'David!' LIKE '%D%v%' -> 1,
        // 'David!' LIKE 'David\_' -> 0, 'David_' LIKE 'David\_' -> 1,
        // 'David_' LIKE 'David|_' ESCAPE '|' -> 1, 'abc' LIKE 'ABC' -> 1,
        // 10 LIKE '1%' -> 1, 'a' LIKE 'a ' -> 0.
        assert_eq!(l("David!", "David_"), Some(true));
        assert_eq!(l("David!", "%D%v%"), Some(true));
        assert_eq!(l("David!", "David\\_"), Some(false));
        assert_eq!(l("David_", "David\\_"), Some(true));
        assert_eq!(
            like(&"David_".into(), &"David|_".into(), Some('|')),
            Some(true)
        );
        assert_eq!(l("abc", "ABC"), Some(true));
        assert_eq!(like(&Value::Int(10), &"1%".into(), None), Some(true));
        assert_eq!(l("a", "a "), Some(false));
        assert_eq!(
            like(&Value::Bytes(b"abc".to_vec()), &"ABC".into(), None),
            Some(false)
        );
        assert_eq!(like(&Value::Null, &"%".into(), None), None);
        assert_eq!(
            like_in(&"abc".into(), &"AB%".into(), None, false),
            Some(false)
        );
        assert_eq!(
            like_in(&"ABc".into(), &"AB%".into(), None, false),
            Some(true)
        );
    }

    #[test]
    fn wildcards() {
        assert_eq!(l("", "%"), Some(true));
        assert_eq!(l("", "_"), Some(false));
        assert_eq!(l("abcabc", "%abc"), Some(true));
        assert_eq!(l("abcab", "%abc"), Some(false));
        assert_eq!(l("aXbXc", "a%b%c"), Some(true));
        assert_eq!(l("mississippi", "%iss%ppi"), Some(true));
        assert_eq!(l("Ünïcödé", "ü%É"), Some(true));
        assert_eq!(l("50%", "50\\%"), Some(true));
        assert_eq!(l("500", "50\\%"), Some(false));
    }
}
