//! SQL text from the wire as a Rust string, without losing bytes.
//!
//! A client may put arbitrary bytes inside a quoted literal of a COM_QUERY (drivers that
//! interpolate parameters send a BLOB as `_binary'...'` with its raw bytes, only quotes,
//! backslashes and NUL escaped). Those bytes are not UTF-8, and a lossy conversion would
//! store U+FFFD instead of them. So a literal holding invalid UTF-8 becomes the hex
//! literal of its bytes (`X'00FF'`, a binary string, as `_binary'...'` is), after
//! MySQL's backslash and doubled-quote escapes are undone. Invariant: valid UTF-8 text is
//! returned unchanged; bytes outside literals that are not UTF-8 are replaced (they can
//! only be a syntax error).

/// The text of a query packet.
pub fn decode(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => rewrite(bytes),
    }
}

/// The bytes a quoted literal stands for (MySQL's escapes undone). `body` excludes the
/// quotes.
fn unescape(body: &[u8], quote: u8) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        let c = body[i];
        if c == b'\\' && i + 1 < body.len() {
            let e = body[i + 1];
            if e == b'%' || e == b'_' {
                // \% and \_ keep their backslash (LIKE patterns), as MySQL does.
                out.push(b'\\');
            }
            out.push(borealis_engine::unescape_byte(e));
            i += 2;
        } else if c == quote && body.get(i + 1) == Some(&quote) {
            out.push(quote);
            i += 2;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// End (index of the closing quote) of a literal opened at `start`, or None if it runs
/// to the end of the text.
fn literal_end(b: &[u8], start: usize) -> Option<usize> {
    let q = b[start];
    let mut i = start + 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            c if c == q && b.get(i + 1) == Some(&q) => i += 2,
            c if c == q => return Some(i),
            _ => i += 1,
        }
    }
    None
}

/// Strip a character-set introducer (`_binary`, `_utf8mb4`, ...) that ends at `end`
/// (exclusive) from `out`, if there is one.
fn drop_introducer(out: &mut Vec<u8>) {
    let mut j = out.len();
    while j > 0 && (out[j - 1].is_ascii_alphanumeric() || out[j - 1] == b'_') {
        j -= 1;
    }
    if out.get(j) == Some(&b'_') && (j == 0 || !out[j - 1].is_ascii_alphanumeric()) {
        out.truncate(j);
    }
}

fn rewrite(b: &[u8]) -> String {
    let mut out: Vec<u8> = Vec::with_capacity(b.len() * 2);
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'\'' || c == b'"' {
            let Some(end) = literal_end(b, i) else {
                out.extend_from_slice(&b[i..]);
                break;
            };
            let body = &b[i + 1..end];
            if std::str::from_utf8(body).is_ok() {
                out.extend_from_slice(&b[i..=end]);
            } else {
                drop_introducer(&mut out);
                out.extend_from_slice(b"X'");
                for byte in unescape(body, c) {
                    out.extend_from_slice(format!("{byte:02X}").as_bytes());
                }
                out.push(b'\'');
            }
            i = end + 1;
        } else if c == b'`' {
            // Quoted identifiers are copied as they are.
            let end = b[i + 1..]
                .iter()
                .position(|&x| x == b'`')
                .map_or(b.len(), |p| i + 1 + p + 1);
            out.extend_from_slice(&b[i..end]);
            i = end;
        } else {
            out.push(c);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_text_is_unchanged() {
        let s = "SELECT 'héllo', \"x\\'y\", `a b` FROM t";
        assert_eq!(decode(s.as_bytes()), s);
    }

    #[test]
    fn binary_literals_become_hex() {
        let mut q = b"INSERT INTO t VALUES (1, _binary'\x00\x01\xff\\'\\0', 'ok')".to_vec();
        assert_eq!(decode(&q), "INSERT INTO t VALUES (1, X'0001FF2700', 'ok')");
        q = b"SELECT '\xfe''\xfe', \"\xc3\"".to_vec();
        assert_eq!(decode(&q), "SELECT X'FE27FE', X'C3'");
        // Invalid bytes outside literals can only be an error later.
        assert_eq!(decode(b"SELECT \xff"), "SELECT \u{FFFD}");
        // An unterminated literal is left to the parser's error.
        assert!(decode(b"SELECT '\xff").starts_with("SELECT '"));
    }
}
