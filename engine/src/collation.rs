//! Collations: how text compares, sorts, groups and is keyed.
//!
//! A [`Collation`] is a MySQL collation id from a fixed table of the ones Borealis knows.
//! Every one of them reduces to one of four behaviours, crossing case (folded or byte
//! order) with the pad attribute (PAD SPACE ignores trailing spaces, NO PAD counts them):
//! MySQL 8's default `utf8mb4_0900_ai_ci` is case-insensitive NO PAD, `utf8mb4_general_ci`
//! and `utf8mb4_unicode_ci` case-insensitive PAD SPACE, `utf8mb4_bin` bytes PAD SPACE,
//! `utf8mb4_0900_bin` and `binary` bytes NO PAD. The insensitive ones fold case and the
//! accents of Latin letters ([`fold_char`]); the UCA's order is approximated by the code
//! point order of the folded text.
//!
//! Invariant: [`Collation::cmp_str`] and the key encoding (`keycodec`, through
//! [`Collation::weight`] semantics: fold when case-insensitive, trim trailing spaces when
//! PAD SPACE, then compare bytes) give the same order, so an index lookup, a scan's
//! comparison, a sort and a grouping all agree. Values do not carry a collation: the
//! binder derives it from the columns and `COLLATE` clauses of an expression and marks
//! the expressions whose collation is not the default (`plan::Expr::Collate`).

use std::borrow::Cow;
use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A collation, by its MySQL id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Collation(u16);

struct Info {
    id: u16,
    name: &'static str,
    charset: &'static str,
    /// The charset's default collation.
    default: bool,
    case_insensitive: bool,
    pad_space: bool,
}

const fn info(
    id: u16,
    name: &'static str,
    charset: &'static str,
    default: bool,
    case_insensitive: bool,
    pad_space: bool,
) -> Info {
    Info {
        id,
        name,
        charset,
        default,
        case_insensitive,
        pad_space,
    }
}

/// The collations Borealis knows (SHOW COLLATION lists them), MySQL 8's ids and pad
/// attributes. Text of every charset is held as UTF-8; the charset is only reported.
static TABLE: &[Info] = &[
    info(255, "utf8mb4_0900_ai_ci", "utf8mb4", true, true, false),
    info(309, "utf8mb4_0900_bin", "utf8mb4", false, false, false),
    info(46, "utf8mb4_bin", "utf8mb4", false, false, true),
    info(45, "utf8mb4_general_ci", "utf8mb4", false, true, true),
    info(224, "utf8mb4_unicode_ci", "utf8mb4", false, true, true),
    info(246, "utf8mb4_unicode_520_ci", "utf8mb4", false, true, true),
    info(33, "utf8mb3_general_ci", "utf8mb3", true, true, true),
    info(83, "utf8mb3_bin", "utf8mb3", false, false, true),
    info(192, "utf8mb3_unicode_ci", "utf8mb3", false, true, true),
    info(8, "latin1_swedish_ci", "latin1", true, true, true),
    info(47, "latin1_bin", "latin1", false, false, true),
    info(48, "latin1_general_ci", "latin1", false, true, true),
    info(11, "ascii_general_ci", "ascii", true, true, true),
    info(65, "ascii_bin", "ascii", false, false, true),
    info(63, "binary", "binary", true, false, false),
];

impl Default for Collation {
    fn default() -> Self {
        Collation::DEFAULT
    }
}

impl Collation {
    /// MySQL 8's default: utf8mb4_0900_ai_ci.
    pub const DEFAULT: Collation = Collation(255);
    /// utf8mb4_bin: byte order, PAD SPACE.
    pub const UTF8MB4_BIN: Collation = Collation(46);
    /// utf8mb4_general_ci: case-insensitive, PAD SPACE.
    pub const UTF8MB4_GENERAL_CI: Collation = Collation(45);
    /// utf8mb4_0900_bin: byte order, NO PAD.
    pub const UTF8MB4_0900_BIN: Collation = Collation(309);
    /// Binary strings (and `BINARY x`): bytes, NO PAD.
    pub const BINARY: Collation = Collation(63);

    fn info(self) -> &'static Info {
        // A match, not a search: this runs for every string comparison of a sort.
        let i = match self.0 {
            255 => 0,
            309 => 1,
            46 => 2,
            45 => 3,
            224 => 4,
            246 => 5,
            33 => 6,
            83 => 7,
            192 => 8,
            8 => 9,
            47 => 10,
            48 => 11,
            11 => 12,
            65 => 13,
            63 => 14,
            // Only ids of TABLE are ever made; an unknown one (a newer catalog) is
            // read as the default.
            _ => 0,
        };
        &TABLE[i]
    }

    /// The collation named `name` (case-insensitive; `utf8_` means `utf8mb3_`), or
    /// error 1273.
    pub fn from_name(name: &str) -> Result<Collation> {
        let n = name
            .trim_matches(|c| c == '\'' || c == '"' || c == '`')
            .to_lowercase();
        let n = match n.strip_prefix("utf8_") {
            Some(rest) => format!("utf8mb3_{rest}"),
            None => n,
        };
        TABLE
            .iter()
            .find(|i| i.name == n)
            .map(|i| Collation(i.id))
            .ok_or_else(|| {
                Error::new(
                    crate::error::code::ER_UNKNOWN_COLLATION,
                    format!("Unknown collation: '{name}'"),
                )
            })
    }

    /// The default collation of charset `cs` (`utf8` means utf8mb3), or error 1115.
    pub fn for_charset(cs: &str) -> Result<Collation> {
        let c = cs
            .trim_matches(|c| c == '\'' || c == '"' || c == '`')
            .to_lowercase();
        let c = if c == "utf8" {
            "utf8mb3".to_string()
        } else {
            c
        };
        TABLE
            .iter()
            .find(|i| i.default && i.charset == c)
            .map(|i| Collation(i.id))
            .ok_or_else(|| {
                Error::new(
                    crate::error::code::ER_UNKNOWN_CHARACTER_SET,
                    format!("Unknown character set: '{cs}'"),
                )
            })
    }

    /// The `_bin` collation of this one's charset (the column attribute `BINARY`): the
    /// PAD SPACE one, as MySQL picks (utf8mb4_bin, not utf8mb4_0900_bin).
    pub fn bin_of_charset(self) -> Collation {
        let cs = self.charset();
        TABLE
            .iter()
            .find(|i| i.charset == cs && i.name.ends_with("_bin") && i.pad_space)
            .map_or(self, |i| Collation(i.id))
    }

    pub fn id(self) -> u16 {
        self.0
    }

    pub fn name(self) -> &'static str {
        self.info().name
    }

    pub fn charset(self) -> &'static str {
        self.info().charset
    }

    pub fn is_charset_default(self) -> bool {
        self.info().default
    }

    pub fn case_insensitive(self) -> bool {
        self.info().case_insensitive
    }

    pub fn pad_space(self) -> bool {
        self.info().pad_space
    }

    /// "PAD SPACE" or "NO PAD" (SHOW COLLATION, information_schema.COLLATIONS).
    pub fn pad_attribute(self) -> &'static str {
        if self.pad_space() {
            "PAD SPACE"
        } else {
            "NO PAD"
        }
    }

    /// Every known collation, in SHOW COLLATION order.
    pub fn all() -> impl Iterator<Item = Collation> {
        TABLE.iter().map(|i| Collation(i.id))
    }

    /// The text that decides equality and order: trailing spaces removed under PAD
    /// SPACE (case is folded by the comparison itself, see [`fold_cmp`]).
    pub fn padded(self, s: &str) -> &str {
        if self.pad_space() {
            s.trim_end_matches(' ')
        } else {
            s
        }
    }

    /// Compare two strings under this collation.
    pub fn cmp_str(self, a: &str, b: &str) -> Ordering {
        let (a, b) = (self.padded(a), self.padded(b));
        if self.case_insensitive() {
            fold_cmp(a, b)
        } else {
            a.as_bytes().cmp(b.as_bytes())
        }
    }

    /// The collation weight of `s` as bytes: `memcmp` of weights is [`Self::cmp_str`].
    pub fn weight(self, s: &str) -> Cow<'_, [u8]> {
        let s = self.padded(s);
        if !self.case_insensitive() {
            return Cow::Borrowed(s.as_bytes());
        }
        if ascii_lower(s.as_bytes()) {
            return Cow::Borrowed(s.as_bytes());
        }
        if s.is_ascii() {
            return Cow::Owned(s.bytes().map(|c| c.to_ascii_lowercase()).collect());
        }
        let w: String = s.chars().map(fold_char).collect();
        Cow::Owned(w.into_bytes())
    }
}

/// Whether `b` is ASCII without an upper-case letter: then it is its own weight under
/// every case-insensitive collation. Eight bytes at a time, as this runs on every string
/// a sort, DISTINCT or GROUP BY keys.
fn ascii_lower(b: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut chunks = b.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        let w = u64::from_le_bytes(w);
        if w & HIGH != 0 {
            return false;
        }
        // Every byte is below 0x80, so adding at most 0x3F carries into no other byte:
        // a byte's high bit is then set exactly when it was >= b'A' (resp. > b'Z').
        let at_least_a = w.wrapping_add(ONES * (0x80 - u64::from(b'A')));
        let above_z = w.wrapping_add(ONES * (0x80 - u64::from(b'Z') - 1));
        if at_least_a & !above_z & HIGH != 0 {
            return false;
        }
    }
    chunks
        .remainder()
        .iter()
        .all(|&c| c.is_ascii() && !c.is_ascii_uppercase())
}

/// One character as the case- and accent-insensitive collations see it: lower case, and
/// a Latin letter with a canonical decomposition into an ASCII letter plus combining
/// marks (é, Å, ñ, ç, š, ő, ...) as that ASCII letter, which is how the UCA's primary
/// level (`utf8mb4_0900_ai_ci`, `_unicode_ci`) and `_general_ci` compare them. Letters
/// without such a decomposition (æ, ø, ß, ł, đ, ı) stay themselves. One char in, one
/// char out, so LIKE and LOCATE can fold position by position.
pub fn fold_char(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_lowercase();
    }
    let l = c.to_lowercase().next().unwrap_or(c);
    strip_accent(l).unwrap_or(l)
}

/// The ASCII base letter of a lower-case Latin-1 Supplement or Latin Extended-A letter
/// that decomposes canonically into it.
fn strip_accent(c: char) -> Option<char> {
    let base = match c {
        'à'..='å' => 'a',
        'ç' => 'c',
        'è'..='ë' => 'e',
        'ì'..='ï' => 'i',
        'ñ' => 'n',
        'ò'..='ö' => 'o',
        'ù'..='ü' => 'u',
        'ý' | 'ÿ' => 'y',
        '\u{0101}' | '\u{0103}' | '\u{0105}' => 'a',
        '\u{0107}' | '\u{0109}' | '\u{010B}' | '\u{010D}' => 'c',
        '\u{010F}' => 'd',
        '\u{0113}' | '\u{0115}' | '\u{0117}' | '\u{0119}' | '\u{011B}' => 'e',
        '\u{011D}' | '\u{011F}' | '\u{0121}' | '\u{0123}' => 'g',
        '\u{0125}' => 'h',
        '\u{0129}' | '\u{012B}' | '\u{012D}' | '\u{012F}' => 'i',
        '\u{0135}' => 'j',
        '\u{0137}' => 'k',
        '\u{013A}' | '\u{013C}' | '\u{013E}' => 'l',
        '\u{0144}' | '\u{0146}' | '\u{0148}' => 'n',
        '\u{014D}' | '\u{014F}' | '\u{0151}' => 'o',
        '\u{0155}' | '\u{0157}' | '\u{0159}' => 'r',
        '\u{015B}' | '\u{015D}' | '\u{015F}' | '\u{0161}' => 's',
        '\u{0163}' | '\u{0165}' => 't',
        '\u{0169}' | '\u{016B}' | '\u{016D}' | '\u{016F}' | '\u{0171}' | '\u{0173}' => 'u',
        '\u{0175}' => 'w',
        '\u{0177}' => 'y',
        '\u{017A}' | '\u{017C}' | '\u{017E}' => 'z',
        _ => return None,
    };
    Some(base)
}

/// Case- and accent-insensitive comparison: the code point order of the texts folded by
/// [`fold_char`].
pub fn fold_cmp(a: &str, b: &str) -> Ordering {
    // Most strings are ASCII: fold bytes while they are, which orders exactly like
    // folding chars (this runs for every comparison of ORDER BY, DISTINCT, MIN/MAX,
    // joins). A non-ASCII byte sends the whole comparison to the char path.
    let (ab, bb) = (a.as_bytes(), b.as_bytes());
    let mut ascii = true;
    for (&x, &y) in ab.iter().zip(bb) {
        if (x | y) >= 0x80 {
            ascii = false;
            break;
        }
        let (lx, ly) = (x.to_ascii_lowercase(), y.to_ascii_lowercase());
        if lx != ly {
            return lx.cmp(&ly);
        }
    }
    if ascii {
        // Equal up to the shorter length: any further char folds to at least one char.
        return ab.len().cmp(&bb.len());
    }
    a.chars().map(fold_char).cmp(b.chars().map(fold_char))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_ids_and_pad() {
        let c = Collation::from_name("UTF8MB4_BIN").unwrap();
        assert_eq!(
            (c, c.pad_attribute()),
            (Collation::UTF8MB4_BIN, "PAD SPACE")
        );
        assert_eq!(Collation::DEFAULT.pad_attribute(), "NO PAD");
        assert_eq!(
            Collation::from_name("utf8_bin").unwrap().name(),
            "utf8mb3_bin"
        );
        assert_eq!(Collation::from_name("nope_ci").unwrap_err().code, 1273);
        assert_eq!(
            Collation::for_charset("latin1").unwrap().name(),
            "latin1_swedish_ci"
        );
        assert_eq!(Collation::DEFAULT.bin_of_charset(), Collation::UTF8MB4_BIN);
    }

    #[test]
    fn info_finds_every_table_entry() {
        for (i, info) in TABLE.iter().enumerate() {
            assert!(
                std::ptr::eq(Collation(info.id).info(), &TABLE[i]),
                "{}",
                info.name
            );
        }
    }

    #[test]
    fn compare_per_pad_and_case() {
        use Ordering::*;
        let cases = [
            (Collation::DEFAULT, "a", "A ", Less),
            (Collation::DEFAULT, "a", "A", Equal),
            (Collation::UTF8MB4_GENERAL_CI, "a", "A  ", Equal),
            (Collation::UTF8MB4_BIN, "a", "a  ", Equal),
            (Collation::UTF8MB4_BIN, "A", "a", Less),
            (Collation::UTF8MB4_0900_BIN, "a", "a ", Less),
        ];
        for (c, a, b, want) in cases {
            assert_eq!(c.cmp_str(a, b), want, "{} {a:?} {b:?}", c.name());
            assert_eq!(c.weight(a).cmp(&c.weight(b)), want, "{} weights", c.name());
        }
    }

    /// The ASCII fast path orders exactly like folding every char.
    #[test]
    fn ascii_fold_matches_char_fold() {
        let words = [
            "", "a", "A", "ab", "aB", "b", "Z", "_", "a\0", "é", "É", "ß",
        ];
        for x in words {
            for y in words {
                let slow = x.chars().map(fold_char).cmp(y.chars().map(fold_char));
                assert_eq!(fold_cmp(x, y), slow, "{x:?} {y:?}");
            }
        }
    }

    /// MySQL's accent-insensitive collations: a letter with a diacritic equals its base
    /// letter, in either case; letters that are not a base letter plus marks stay apart.
    #[test]
    fn accents_fold_to_the_base_letter() {
        use Ordering::*;
        let cases = [
            ("e", "é", Equal),
            ("E", "é", Equal),
            ("resume", "Résumé", Equal),
            ("Ångström", "angstrom", Equal),
            ("señor", "SENOR", Equal),
            ("façade", "facade", Equal),
            ("Łódź", "lodz", Greater), // ł is its own letter
            ("straße", "strasse", Greater),
            ("ø", "o", Greater),
            ("žluť", "zlut", Equal),
            ("Œ", "œ", Equal),
        ];
        for c in [Collation::DEFAULT, Collation::UTF8MB4_GENERAL_CI] {
            for (a, b, want) in cases {
                assert_eq!(c.cmp_str(a, b), want, "{} {a:?} {b:?}", c.name());
                assert_eq!(c.weight(a).cmp(&c.weight(b)), want, "{} weights", c.name());
            }
        }
        // Binary collations keep accents and case.
        assert_eq!(Collation::UTF8MB4_BIN.cmp_str("e", "é"), Less);
        // Every folded letter is one char: LIKE and LOCATE fold position by position.
        for c in '\u{80}'..='\u{17F}' {
            let f = fold_char(c);
            assert_eq!(fold_char(f), f, "{c:?} folds to a fixed point");
        }
    }

    #[test]
    fn ascii_lower_finds_every_upper_case_and_non_ascii_byte() {
        for b in 0u8..=255 {
            for pos in [0usize, 5, 7, 8, 13, 16] {
                let mut v = vec![b'a'; 17];
                v[pos] = b;
                let want = b.is_ascii() && !b.is_ascii_uppercase();
                assert_eq!(super::ascii_lower(&v), want, "byte {b:#x} at {pos}");
            }
        }
        assert!(super::ascii_lower(b""));
        assert!(super::ascii_lower(b"83868641912-28773972837-60736120486"));
    }
}
