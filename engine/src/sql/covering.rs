//! Covering index reads: rows rebuilt from a secondary index entry alone.
//!
//! A secondary entry's key is the memcomparable encoding (`keycodec`) of the index
//! columns followed by the clustered key (the primary key columns), so it carries those
//! columns' values, as InnoDB's secondary entries do. The encoding is lossless for
//! integers and for strings compared byte by byte (BINARY, VARBINARY, BLOB, and
//! character columns with a binary NO PAD collation: the entry holds the exact bytes,
//! escaped). It is not for other text (the entry holds collation weights: case folded,
//! or trailing spaces removed under PAD SPACE), nor for decimals and temporals (forms
//! this module does not invert). So an index covers a query when every column it reads is
//! such a column of the index or of the primary key. Other columns of the entry only
//! need to be skipped, which works for every encoding listed in [`skippable`]. Columns
//! the query does not read are NULL in the rebuilt row.

use crate::catalog::{ColumnDef, SqlType, TableDef};
use crate::error::{Error, Result};
use crate::result::Row;
use crate::value::Value;

/// The columns of a secondary entry's key, in order: the index columns, then the
/// primary key columns.
fn entry_columns(table: &TableDef, index: usize) -> Vec<usize> {
    let mut cols = table.indexes[index].columns.clone();
    cols.extend(table.primary.iter().copied());
    cols
}

fn decodable(c: &ColumnDef) -> bool {
    c.ty.is_integer() || exact_bytes(c) || exact_text(c)
}

/// Binary strings: stored as `Value::Bytes`, keyed by their raw bytes.
fn exact_bytes(c: &ColumnDef) -> bool {
    matches!(
        c.ty,
        SqlType::Binary(_) | SqlType::VarBinary(_) | SqlType::Blob(_)
    )
}

/// Character strings with a binary NO PAD collation (utf8mb4_0900_bin): stored as
/// `Value::Str`, keyed by their UTF-8 bytes (no case folding, no trimming). PAD SPACE
/// `_bin` collations drop trailing spaces from the key, so those do not qualify.
fn exact_text(c: &ColumnDef) -> bool {
    let k = c.collation();
    !k.case_insensitive()
        && !k.pad_space()
        && matches!(
            c.ty,
            SqlType::Char(_) | SqlType::VarChar(_) | SqlType::Text(_)
        )
}

/// Encodings whose length can be found without the value (see `keycodec`).
fn skippable(c: &ColumnDef) -> bool {
    matches!(
        c.ty,
        SqlType::TinyInt
            | SqlType::SmallInt
            | SqlType::MediumInt
            | SqlType::Int
            | SqlType::BigInt
            | SqlType::Char(_)
            | SqlType::VarChar(_)
            | SqlType::Text(_)
            | SqlType::Binary(_)
            | SqlType::VarBinary(_)
            | SqlType::Blob(_)
            | SqlType::Double
            | SqlType::Float
            | SqlType::Decimal(..)
            | SqlType::Date
            | SqlType::DateTime(_)
            | SqlType::Timestamp(_)
            | SqlType::Time(_)
    )
}

/// Can index `index` of `table` answer a read of `needed` columns on its own?
pub fn coverable(table: &TableDef, index: usize, needed: &[usize]) -> bool {
    if table.primary.is_empty() {
        return false;
    }
    let cols = entry_columns(table, index);
    cols.iter().all(|&c| skippable(&table.columns[c]))
        && needed
            .iter()
            .all(|c| cols.contains(c) && decodable(&table.columns[*c]))
}

fn corrupt() -> Error {
    Error::internal("malformed secondary index entry")
}

/// Length of an escaped byte string ending in 0x00 0x00, from its start.
fn escaped_len(b: &[u8]) -> Result<usize> {
    let mut i = 0;
    loop {
        match (b.get(i), b.get(i + 1)) {
            (Some(0x00), Some(0x00)) => return Ok(i + 2),
            (Some(0x00), Some(0xFF)) => i += 2,
            (Some(0x00), _) | (None, _) => return Err(corrupt()),
            (Some(_), _) => i += 1,
        }
    }
}

/// Length of one encoded value of column `c` at the start of `b`.
fn value_len(c: &ColumnDef, b: &[u8]) -> Result<usize> {
    match b.first() {
        Some(0x00) => return Ok(1),
        Some(0x01) => {}
        _ => return Err(corrupt()),
    }
    let rest = &b[1..];
    let n = match &c.ty {
        t if t.is_integer() => 16,
        SqlType::Date | SqlType::DateTime(_) | SqlType::Timestamp(_) | SqlType::Time(_) => 16,
        SqlType::Double | SqlType::Float => 8,
        SqlType::Decimal(..) => 8 + escaped_len(rest.get(8..).ok_or_else(corrupt)?)?,
        _ => escaped_len(rest)?,
    };
    if rest.len() < n {
        return Err(corrupt());
    }
    Ok(1 + n)
}

fn decode_int(c: &ColumnDef, b: &[u8]) -> Result<Value> {
    if b.first() == Some(&0x00) {
        return Ok(Value::Null);
    }
    let raw: [u8; 16] = b
        .get(1..17)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(corrupt)?;
    let i = (u128::from_be_bytes(raw) ^ (1u128 << 127)) as i128;
    Ok(if c.unsigned {
        Value::UInt(u64::try_from(i).map_err(|_| corrupt())?)
    } else {
        Value::Int(i64::try_from(i).map_err(|_| corrupt())?)
    })
}

/// The bytes of an escaped string encoding (0x01, bytes with 0x00 as 0x00 0xFF, then
/// 0x00 0x00), or NULL.
fn decode_bytes(b: &[u8]) -> Result<Option<Vec<u8>>> {
    match b.first() {
        Some(0x00) => return Ok(None),
        Some(0x01) => {}
        _ => return Err(corrupt()),
    }
    let mut out = Vec::with_capacity(b.len());
    let mut i = 1;
    loop {
        match (b.get(i), b.get(i + 1)) {
            (Some(0x00), Some(0x00)) => return Ok(Some(out)),
            (Some(0x00), Some(0xFF)) => {
                out.push(0);
                i += 2;
            }
            (Some(0x00), _) | (None, _) => return Err(corrupt()),
            (Some(&c), _) => {
                out.push(c);
                i += 1;
            }
        }
    }
}

fn decode_value(c: &ColumnDef, b: &[u8]) -> Result<Value> {
    if c.ty.is_integer() {
        return decode_int(c, b);
    }
    Ok(match decode_bytes(b)? {
        None => Value::Null,
        Some(bytes) if exact_bytes(c) => Value::Bytes(bytes),
        Some(bytes) => Value::Str(String::from_utf8(bytes).map_err(|_| corrupt())?),
    })
}

/// Rebuild a row (table width; columns the entry cannot give are NULL) from a
/// secondary entry's key.
pub fn decode_entry(table: &TableDef, index: usize, key: &[u8]) -> Result<Row> {
    let mut row = vec![Value::Null; table.columns.len()];
    let mut at = 0;
    for c in entry_columns(table, index) {
        let col = &table.columns[c];
        let b = key.get(at..).ok_or_else(corrupt)?;
        let len = value_len(col, b)?;
        if decodable(col) {
            row[c] = decode_value(col, &b[..len])?;
        }
        at += len;
    }
    Ok(row)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::IndexDef;
    use crate::keycodec::encode_value;

    fn col(name: &str, ty: SqlType, unsigned: bool) -> ColumnDef {
        ColumnDef {
            name: name.into(),
            ty,
            unsigned,
            nullable: true,
            default: None,
            auto_increment: false,
            on_update_now: false,
            collation: crate::collation::Collation::DEFAULT,
            comment: String::new(),
        }
    }

    fn table() -> TableDef {
        TableDef {
            id: 1,
            db: "d".into(),
            name: "t".into(),
            columns: vec![
                col("id", SqlType::BigInt, true),
                col("name", SqlType::VarChar(10), false),
                col("k", SqlType::Int, false),
                col("pad", SqlType::Json, false),
            ],
            primary: vec![0],
            indexes: vec![
                IndexDef {
                    name: "name_k".into(),
                    columns: vec![1, 2],
                    unique: false,
                    root: 0,
                },
                IndexDef {
                    name: "pad".into(),
                    columns: vec![3],
                    unique: false,
                    root: 0,
                },
            ],
            root: 0,
            comment: String::new(),
            auto_increment_start: 1,
            foreign_keys: Vec::new(),
            checks: Vec::new(),
            fk_generated_indexes: Vec::new(),
        }
    }

    #[test]
    fn decodes_integers_after_a_string_part() {
        let t = table();
        let vals = [
            Value::Str("A\0b".into()),
            Value::Int(-42),
            Value::UInt(u64::MAX),
        ];
        let cols = [1, 2, 0];
        let mut key = Vec::new();
        for (v, c) in vals.iter().zip(cols) {
            encode_value(&mut key, v, t.columns[c].collation());
        }
        let row = decode_entry(&t, 0, &key).expect("decodes");
        assert_eq!(row[0], Value::UInt(u64::MAX));
        assert_eq!(row[2], Value::Int(-42));
        assert_eq!(row[1], Value::Null, "strings are not decoded");
        // NULL index value.
        let mut key = Vec::new();
        encode_value(&mut key, &Value::Null, t.columns[1].collation());
        encode_value(&mut key, &Value::Null, t.columns[2].collation());
        encode_value(&mut key, &Value::UInt(7), t.columns[0].collation());
        let row = decode_entry(&t, 0, &key).expect("decodes");
        assert_eq!(row[2], Value::Null);
        assert_eq!(row[0], Value::UInt(7));
        assert!(decode_entry(&t, 0, &key[..key.len() - 1]).is_err());
    }

    #[test]
    fn decodes_binary_strings_exactly() {
        let mut t = table();
        t.columns[1].collation = crate::collation::Collation::UTF8MB4_0900_BIN;
        t.columns.push(col("bin", SqlType::VarBinary(8), false));
        t.indexes[0].columns = vec![1, 4, 2];
        for (name, bin) in [
            ("Ab \0 ", vec![0u8, 0xFF, 0, 1]),
            ("", vec![]),
            ("\u{e9}t\u{e9}", b"x\0".to_vec()),
        ] {
            let vals = [
                Value::Str(name.into()),
                Value::Bytes(bin.clone()),
                Value::Int(3),
                Value::UInt(9),
            ];
            let mut key = Vec::new();
            for (v, c) in vals.iter().zip([1, 4, 2, 0]) {
                encode_value(&mut key, v, t.columns[c].collation());
            }
            let row = decode_entry(&t, 0, &key).expect("decodes");
            assert_eq!(row[1], Value::Str(name.into()));
            assert_eq!(row[4], Value::Bytes(bin));
            assert_eq!((&row[2], &row[0]), (&Value::Int(3), &Value::UInt(9)));
        }
        assert!(coverable(&t, 0, &[1, 4, 2, 0]));
        t.columns[1].collation = crate::collation::Collation::UTF8MB4_BIN;
        assert!(
            !coverable(&t, 0, &[1]),
            "utf8mb4_bin keys drop trailing spaces"
        );
        t.columns[1].collation = crate::collation::Collation::DEFAULT;
        assert!(!coverable(&t, 0, &[1]));
        assert!(coverable(&t, 0, &[4]));
    }

    #[test]
    fn coverage_rules() {
        let t = table();
        assert!(coverable(&t, 0, &[0, 2]));
        assert!(
            !coverable(&t, 0, &[1]),
            "a case-insensitive string is not decodable"
        );
        assert!(!coverable(&t, 0, &[3]), "not in the index");
        assert!(!coverable(&t, 1, &[0]), "JSON cannot be skipped");
    }
}
