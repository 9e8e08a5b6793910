//! Cutting LOAD DATA input into records and fields, with MySQL's rules:
//!
//! - a record is what follows the LINES STARTING BY prefix (input before the prefix is
//!   skipped; input with no prefix left is no record) up to the LINES TERMINATED BY
//!   sequence or the end of the input;
//! - fields are separated by FIELDS TERMINATED BY; a field that begins with the ENCLOSED BY
//!   character ends at that character followed by a field or line terminator (a doubled
//!   enclosure character inside stands for one; elsewhere it is literal);
//! - the ESCAPED BY character makes the next byte literal, except `0 b n r t Z`, which
//!   stand for NUL, backspace, newline, carriage return, tab and Ctrl-Z; a whole field
//!   of escape + `N` is NULL, and so is an unenclosed `NULL` when ENCLOSED BY is set.
//!   An empty ESCAPED BY turns escapes off.
//!
//! Invariant: memory holds the unread part of the current chunk plus one record, never
//! the whole input: [`Splitter`] reads its source in chunks and, when a record does not
//! end inside the buffered bytes, reads more and parses that record again.

use std::io::{self, Read};

use super::grammar::Format;

/// One field: None is SQL NULL.
pub type Field = Option<Vec<u8>>;

/// How much is read from the source at a time (at least).
const CHUNK: usize = 64 * 1024;

/// The outcome of parsing at the start of the unread bytes.
enum Step {
    /// A record and how many bytes it used (prefix and terminator included).
    Record(Vec<Field>, usize),
    /// No record: the rest of the input holds none (no prefix, or nothing at all).
    End,
    /// The buffered bytes end inside a record: read more and parse again.
    More,
}

/// Whether `pat` starts at `data[at..]`; `More` when the bytes end inside a possible match.
enum Match {
    Yes,
    No,
    More,
}

fn starts(data: &[u8], at: usize, pat: &[u8], eof: bool) -> Match {
    if pat.is_empty() {
        return Match::No;
    }
    let avail = &data[at.min(data.len())..];
    if avail.len() >= pat.len() {
        if avail.starts_with(pat) {
            Match::Yes
        } else {
            Match::No
        }
    } else if !eof && pat.starts_with(avail) {
        Match::More
    } else {
        Match::No
    }
}

/// Parse one record at the start of `data`. `eof`: no bytes follow `data`.
fn parse_record(fmt: &Format, data: &[u8], eof: bool) -> Step {
    let mut i = 0;
    if !fmt.line_start.is_empty() {
        match data
            .windows(fmt.line_start.len())
            .position(|w| w == fmt.line_start.as_slice())
        {
            Some(p) => i = p + fmt.line_start.len(),
            None if eof => return Step::End,
            None => return Step::More,
        }
    }
    if i >= data.len() {
        return if eof { Step::End } else { Step::More };
    }
    let mut fields = Vec::new();
    loop {
        // One field starting at i.
        let mut value = Vec::new();
        let enclosed = fmt.enclosed.is_some() && data.get(i) == fmt.enclosed.as_ref();
        let mut j = if enclosed { i + 1 } else { i };
        // Where the field ends: (index after it, record ends).
        let (next, record_ends);
        let mut escaped_null = false;
        loop {
            let Some(&c) = data.get(j) else {
                if !eof {
                    return Step::More;
                }
                // The input ends: the field and the record end here (an unclosed
                // enclosure keeps what was read).
                next = j;
                record_ends = true;
                break;
            };
            if fmt.escaped == Some(c) {
                let Some(&e) = data.get(j + 1) else {
                    if !eof {
                        return Step::More;
                    }
                    value.push(c);
                    j += 1;
                    continue;
                };
                if e == b'N' && value.is_empty() {
                    escaped_null = true;
                }
                value.push(if e == b'N' {
                    b'N'
                } else {
                    crate::sql::parse::unescape_byte(e)
                });
                j += 2;
                continue;
            }
            if enclosed && Some(c) == fmt.enclosed {
                if data.get(j + 1) == Some(&c) {
                    value.push(c);
                    j += 2;
                    continue;
                }
                if j + 1 >= data.len() {
                    if !eof {
                        return Step::More;
                    }
                    next = j + 1;
                    record_ends = true;
                    break;
                }
                match starts(data, j + 1, &fmt.line_term, eof) {
                    Match::Yes => {
                        next = j + 1 + fmt.line_term.len();
                        record_ends = true;
                        break;
                    }
                    Match::More => return Step::More,
                    Match::No => {}
                }
                match starts(data, j + 1, &fmt.field_term, eof) {
                    Match::Yes => {
                        next = j + 1 + fmt.field_term.len();
                        record_ends = false;
                        break;
                    }
                    Match::More => return Step::More,
                    Match::No => {}
                }
                // Not followed by a terminator: a literal enclosure character.
                value.push(c);
                j += 1;
                continue;
            }
            if !enclosed {
                match starts(data, j, &fmt.line_term, eof) {
                    Match::Yes => {
                        next = j + fmt.line_term.len();
                        record_ends = true;
                        break;
                    }
                    Match::More => return Step::More,
                    Match::No => {}
                }
                match starts(data, j, &fmt.field_term, eof) {
                    Match::Yes => {
                        next = j + fmt.field_term.len();
                        record_ends = false;
                        break;
                    }
                    Match::More => return Step::More,
                    Match::No => {}
                }
            }
            value.push(c);
            j += 1;
        }
        let is_null = escaped_null && value == b"N"
            || !enclosed && fmt.enclosed.is_some() && value == b"NULL" && !escaped_null;
        fields.push(if is_null { None } else { Some(value) });
        i = next;
        if record_ends {
            return Step::Record(fields, i);
        }
        if i >= data.len() && eof {
            // A field terminator at the very end: one more, empty, field.
            fields.push(Some(Vec::new()));
            return Step::Record(fields, i);
        }
    }
}

/// Records from a byte source, read in chunks.
pub struct Splitter<R> {
    src: R,
    fmt: Format,
    buf: Vec<u8>,
    pos: usize,
    eof: bool,
    /// Longest record buffered before giving up: a file with no line terminator must not
    /// take the server's memory. A row this long could not be stored anyway.
    max_record: usize,
}

impl<R: Read> Splitter<R> {
    pub fn new(src: R, fmt: Format) -> Self {
        Splitter {
            src,
            fmt,
            buf: Vec::new(),
            pos: 0,
            eof: false,
            max_record: crate::btree::MAX_VALUE_LEN,
        }
    }

    /// Read more input: at least a chunk, and at least as much as is buffered, so a
    /// long record is re-parsed a logarithmic number of times.
    fn fill(&mut self) -> io::Result<()> {
        self.buf.drain(..self.pos);
        self.pos = 0;
        if self.buf.len() > self.max_record {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "a line of the file is longer than {} bytes",
                    self.max_record
                ),
            ));
        }
        let want = CHUNK.max(self.buf.len());
        let old = self.buf.len();
        self.buf.resize(old + want, 0);
        let mut got = 0;
        while got < want {
            match self.src.read(&mut self.buf[old + got..]) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.buf.truncate(old + got);
                    return Err(e);
                }
            }
        }
        self.buf.truncate(old + got);
        Ok(())
    }

    /// The next record, or None at the end of the input.
    pub fn next_record(&mut self) -> io::Result<Option<Vec<Field>>> {
        loop {
            match parse_record(&self.fmt, &self.buf[self.pos..], self.eof) {
                Step::Record(fields, used) => {
                    self.pos += used;
                    return Ok(Some(fields));
                }
                Step::End => {
                    self.pos = self.buf.len();
                    return Ok(None);
                }
                Step::More => self.fill()?,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(fmt: &Format, input: &[u8]) -> Vec<Vec<Field>> {
        let mut s = Splitter::new(input, fmt.clone());
        let mut out = Vec::new();
        while let Some(r) = s.next_record().unwrap() {
            out.push(r);
        }
        out
    }

    fn f(s: &str) -> Field {
        Some(s.as_bytes().to_vec())
    }

    fn csv() -> Format {
        Format {
            field_term: b",".to_vec(),
            enclosed: Some(b'"'),
            ..Format::default()
        }
    }

    #[test]
    fn defaults_tab_and_newline() {
        let d = Format::default();
        assert_eq!(
            split(&d, b"1\ta\n2\tb\n"),
            vec![vec![f("1"), f("a")], vec![f("2"), f("b")]]
        );
        // No final newline: the last line is a record all the same.
        assert_eq!(split(&d, b"1\ta\n2\tb"), split(&d, b"1\ta\n2\tb\n"));
        assert!(split(&d, b"").is_empty());
        // An empty line is a record of one empty field; a trailing tab an empty field.
        assert_eq!(
            split(&d, b"\n1\t\n"),
            vec![vec![f("")], vec![f("1"), f("")]]
        );
    }

    #[test]
    fn escapes_and_null() {
        let d = Format::default();
        assert_eq!(
            split(&d, b"a\\tb\\nc\\\\\\0\\Z\\b\\r\t\\N\tx\\Ny\t\\\t\\\n\n"),
            vec![vec![f("a\tb\nc\\\0\x1a\x08\r"), None, f("xNy"), f("\t\n"),]]
        );
        // Escaped terminators are data.
        assert_eq!(split(&d, b"a\\\tb\n"), vec![vec![f("a\tb")]]);
        // NULL as a word is a string without ENCLOSED BY.
        assert_eq!(split(&d, b"NULL\n"), vec![vec![f("NULL")]]);
    }

    #[test]
    fn empty_escape_turns_escapes_off() {
        let fmt = Format {
            escaped: None,
            ..Format::default()
        };
        assert_eq!(
            split(&fmt, b"a\\tb\t\\N\n"),
            vec![vec![f("a\\tb"), f("\\N")]]
        );
    }

    #[test]
    fn enclosed_fields() {
        let c = csv();
        assert_eq!(
            split(
                &c,
                b"\"a,b\",\"say \"\"hi\"\"\",plain,\"x\"y\",NULL,\"NULL\"\n"
            ),
            vec![vec![
                f("a,b"),
                f("say \"hi\""),
                f("plain"),
                f("x\"y"),
                None,
                f("NULL"),
            ]]
        );
        // A newline inside an enclosed field is data; an escaped quote too.
        assert_eq!(
            split(&c, b"\"two\nlines\",\"q\\\"\"\n3,4"),
            vec![vec![f("two\nlines"), f("q\"")], vec![f("3"), f("4")]]
        );
        // Windows line ends.
        let crlf = Format {
            line_term: b"\r\n".to_vec(),
            ..csv()
        };
        assert_eq!(
            split(&crlf, b"\"a\",1\r\n\"b\",2\r\n"),
            vec![vec![f("a"), f("1")], vec![f("b"), f("2")]]
        );
    }

    #[test]
    fn a_record_longer_than_the_limit_is_an_error_not_a_buffer() {
        let line = vec![b'x'; 300_000];
        let mut s = Splitter::new(&line[..], Format::default());
        s.max_record = 100_000;
        let e = s.next_record().unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        assert!(
            s.buf.len() <= 2 * 100_000 + CHUNK,
            "buffered {}",
            s.buf.len()
        );
        // Under the limit the same line is one record.
        let mut s = Splitter::new(&line[..], Format::default());
        s.max_record = 1_000_000;
        assert_eq!(s.next_record().unwrap(), Some(vec![Some(line.clone())]));
    }

    #[test]
    fn lines_starting_by_skips_prefix_and_unprefixed_lines() {
        let fmt = Format {
            line_start: b"xxx".to_vec(),
            ..csv()
        };
        assert_eq!(
            split(&fmt, b"xxx\"abc\",1\nsomething xxx\"def\",2\n\"ghi\",3\n"),
            vec![vec![f("abc"), f("1")], vec![f("def"), f("2")]]
        );
    }

    #[test]
    fn multi_byte_terminators_across_chunk_reads() {
        // A reader that returns one byte at a time exercises every `More` path.
        struct Trickle<'a>(&'a [u8]);
        impl Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                match (self.0.split_first(), buf.first_mut()) {
                    (Some((&b, rest)), Some(slot)) => {
                        *slot = b;
                        self.0 = rest;
                        Ok(1)
                    }
                    _ => Ok(0),
                }
            }
        }
        let fmt = Format {
            field_term: b"<>".to_vec(),
            line_term: b"||\n".to_vec(),
            enclosed: Some(b'\''),
            ..Format::default()
        };
        let input = b"a<>'b<>c'||\n'd''e'<>\\N||\n";
        let mut s = Splitter::new(Trickle(input), fmt.clone());
        let mut got = Vec::new();
        while let Some(r) = s.next_record().unwrap() {
            got.push(r);
        }
        assert_eq!(got, split(&fmt, input));
        assert_eq!(got, vec![vec![f("a"), f("b<>c")], vec![f("d'e"), None]]);
    }

    /// MySQL's own output rule (SELECT ... INTO OUTFILE): escape the escape character,
    /// the enclosure, the first byte of each terminator, NUL; NULL as escape + N.
    fn join(fmt: &Format, records: &[Vec<Field>]) -> Vec<u8> {
        let esc = fmt.escaped.expect("escaping format");
        let mut out = Vec::new();
        for r in records {
            out.extend_from_slice(&fmt.line_start);
            for (k, field) in r.iter().enumerate() {
                if k > 0 {
                    out.extend_from_slice(&fmt.field_term);
                }
                match field {
                    None => out.extend_from_slice(&[esc, b'N']),
                    Some(v) => {
                        if let Some(e) = fmt.enclosed {
                            out.push(e);
                        }
                        for &c in v {
                            if c == 0 {
                                out.extend_from_slice(&[esc, b'0']);
                                continue;
                            }
                            if c == esc
                                || Some(c) == fmt.enclosed
                                || fmt.field_term.first() == Some(&c)
                                || fmt.line_term.first() == Some(&c)
                                || fmt.line_start.first() == Some(&c)
                            {
                                out.push(esc);
                            }
                            out.push(c);
                        }
                        if let Some(e) = fmt.enclosed {
                            out.push(e);
                        }
                    }
                }
            }
            out.extend_from_slice(&fmt.line_term);
        }
        out
    }

    use proptest::prelude::*;

    fn field() -> impl Strategy<Value = Field> {
        prop_oneof![
            1 => Just(None),
            8 => proptest::collection::vec(
                prop_oneof![Just(b'\t'), Just(b'\n'), Just(b'\\'), Just(b','), Just(b'"'),
                            Just(b'N'), Just(0u8), Just(b'x'), Just(b'|'), any::<u8>()],
                0..8
            ).prop_map(Some),
        ]
    }

    proptest! {
        #[test]
        fn split_inverts_join(
            records in proptest::collection::vec(proptest::collection::vec(field(), 1..5), 0..6),
            which in 0..3usize,
        ) {
            let fmt = match which {
                0 => Format::default(),
                1 => csv(),
                _ => Format {
                    field_term: b"|,".to_vec(),
                    line_term: b"\r\n".to_vec(),
                    line_start: b">".to_vec(),
                    enclosed: Some(b'"'),
                    ..Format::default()
                },
            };
            let input = join(&fmt, &records);
            let expected = records.clone();
            prop_assert_eq!(split(&fmt, &input), expected);
        }
    }
}
