//! Row encoding: a row's values as bytes, as stored in a clustered index leaf.
//!
//! Format: a u16 column count, then per value a tag byte and a payload (little endian):
//! 0 NULL, 1 i64, 2 u64, 3 f64, 4 decimal (text), 5 string (u32 length + utf8), 6 bytes
//! (u32 length), 7 date (u16 y, u8 m, u8 d), 8 datetime (date + h, m, s, u32 micro),
//! 9 time (u8 neg, u32 h, m, s, u32 micro). Decoding validates lengths: a short or
//! unknown record is a corruption error, never a panic.

use crate::error::{Error, Result};
use crate::temporal::{Date, DateTime, Time};
use crate::value::Value;

pub fn encode_row(values: &[Value]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + values.len() * 9);
    out.extend_from_slice(&(values.len() as u16).to_le_bytes());
    for v in values {
        match v {
            Value::Null => out.push(0),
            Value::Int(i) => {
                out.push(1);
                out.extend_from_slice(&i.to_le_bytes());
            }
            Value::UInt(u) => {
                out.push(2);
                out.extend_from_slice(&u.to_le_bytes());
            }
            Value::Double(d) => {
                out.push(3);
                out.extend_from_slice(&d.to_le_bytes());
            }
            Value::Decimal(d) => {
                out.push(4);
                let s = d.to_string();
                out.push(s.len() as u8);
                out.extend_from_slice(s.as_bytes());
            }
            Value::Str(s) => {
                out.push(5);
                out.extend_from_slice(&(s.len() as u32).to_le_bytes());
                out.extend_from_slice(s.as_bytes());
            }
            Value::Bytes(b) => {
                out.push(6);
                out.extend_from_slice(&(b.len() as u32).to_le_bytes());
                out.extend_from_slice(b);
            }
            Value::Date(d) => {
                out.push(7);
                push_date(&mut out, d);
            }
            Value::DateTime(dt) => {
                out.push(8);
                push_date(&mut out, &dt.date);
                out.extend_from_slice(&[dt.hour, dt.minute, dt.second]);
                out.extend_from_slice(&dt.micro.to_le_bytes());
            }
            Value::Time(t) => {
                out.push(9);
                out.push(t.negative as u8);
                out.extend_from_slice(&t.hour.to_le_bytes());
                out.extend_from_slice(&[t.minute, t.second]);
                out.extend_from_slice(&t.micro.to_le_bytes());
            }
        }
    }
    out
}

fn push_date(out: &mut Vec<u8>, d: &Date) {
    out.extend_from_slice(&d.year.to_le_bytes());
    out.extend_from_slice(&[d.month, d.day]);
}

struct Reader<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let s = self
            .b
            .get(self.i..self.i + n)
            .ok_or_else(|| Error::internal("corrupted row: truncated"))?;
        self.i += n;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn arr<const N: usize>(&mut self) -> Result<[u8; N]> {
        let s = self.take(N)?;
        Ok(s.try_into().expect("take returned N bytes"))
    }
    /// Step over one tagged value without building it.
    fn skip_value(&mut self) -> Result<()> {
        let n = match self.u8()? {
            0 => 0,
            1..=3 => 8,
            4 => self.u8()? as usize,
            5 | 6 => u32::from_le_bytes(self.arr()?) as usize,
            7 => 4,
            8 | 9 => 11,
            t => return Err(Error::internal(format!("corrupted row: tag {t}"))),
        };
        self.take(n).map(|_| ())
    }
    fn date(&mut self) -> Result<Date> {
        let y = u16::from_le_bytes(self.arr()?);
        let m = self.u8()?;
        let d = self.u8()?;
        Ok(Date {
            year: y,
            month: m,
            day: d,
        })
    }
}

pub fn decode_row(b: &[u8]) -> Result<Vec<Value>> {
    decode_row_cols(b, None)
}

/// Decode a row, materializing only the columns `read` marks (the others are skipped
/// over, still length-checked, and come out as NULL). `None` reads every column.
pub fn decode_row_cols(b: &[u8], read: Option<&[bool]>) -> Result<Vec<Value>> {
    let mut r = Reader { b, i: 0 };
    let n = u16::from_le_bytes(r.arr()?) as usize;
    let mut out = Vec::with_capacity(n);
    for col in 0..n {
        if read.is_some_and(|m| !m.get(col).copied().unwrap_or(true)) {
            r.skip_value()?;
            out.push(Value::Null);
            continue;
        }
        let v = match r.u8()? {
            0 => Value::Null,
            1 => Value::Int(i64::from_le_bytes(r.arr()?)),
            2 => Value::UInt(u64::from_le_bytes(r.arr()?)),
            3 => Value::Double(f64::from_le_bytes(r.arr()?)),
            4 => {
                let len = r.u8()? as usize;
                let s = std::str::from_utf8(r.take(len)?)
                    .map_err(|_| Error::internal("corrupted row: decimal"))?;
                Value::Decimal(
                    s.parse()
                        .map_err(|_| Error::internal("corrupted row: decimal"))?,
                )
            }
            5 => {
                let len = u32::from_le_bytes(r.arr()?) as usize;
                let s = r.take(len)?;
                Value::Str(
                    String::from_utf8(s.to_vec())
                        .map_err(|_| Error::internal("corrupted row: utf8"))?,
                )
            }
            6 => {
                let len = u32::from_le_bytes(r.arr()?) as usize;
                Value::Bytes(r.take(len)?.to_vec())
            }
            7 => Value::Date(r.date()?),
            8 => {
                let date = r.date()?;
                let [hour, minute, second] = r.arr()?;
                let micro = u32::from_le_bytes(r.arr()?);
                Value::DateTime(DateTime {
                    date,
                    hour,
                    minute,
                    second,
                    micro,
                })
            }
            9 => {
                let negative = r.u8()? != 0;
                let hour = u32::from_le_bytes(r.arr()?);
                let [minute, second] = r.arr()?;
                let micro = u32::from_le_bytes(r.arr()?);
                Value::Time(Time {
                    negative,
                    hour,
                    minute,
                    second,
                    micro,
                })
            }
            t => return Err(Error::internal(format!("corrupted row: tag {t}"))),
        };
        out.push(v);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One value of every tag.
    fn every_tag() -> Vec<Value> {
        vec![
            Value::Null,
            Value::Int(-5),
            Value::UInt(7),
            Value::Double(1.5),
            Value::Decimal("12.340".parse().unwrap()),
            Value::from("héllo"),
            Value::Bytes(vec![0, 1, 2]),
            Value::Date(Date {
                year: 2024,
                month: 2,
                day: 29,
            }),
            Value::DateTime(DateTime {
                date: Date {
                    year: 1999,
                    month: 12,
                    day: 31,
                },
                hour: 23,
                minute: 59,
                second: 58,
                micro: 123_456,
            }),
            Value::Time(Time {
                negative: true,
                hour: 838,
                minute: 59,
                second: 59,
                micro: 1,
            }),
        ]
    }

    #[test]
    fn roundtrip_and_reject_truncation() {
        let row = every_tag();
        let b = encode_row(&row);
        assert_eq!(decode_row(&b).unwrap(), row);
        for cut in 0..b.len() {
            assert!(decode_row(&b[..cut]).is_err());
        }
    }

    #[test]
    fn skipped_columns_come_out_null() {
        let row = every_tag();
        let b = encode_row(&row);
        // Every mask of the ten columns (and a mask shorter than the row: the rest read).
        for bits in 0u32..(1 << row.len()) {
            let mask: Vec<bool> = (0..row.len()).map(|i| bits & (1 << i) != 0).collect();
            let want: Vec<Value> = row
                .iter()
                .zip(&mask)
                .map(|(v, &m)| if m { v.clone() } else { Value::Null })
                .collect();
            assert_eq!(decode_row_cols(&b, Some(&mask)).unwrap(), want, "{mask:?}");
            for cut in 0..b.len() {
                assert!(decode_row_cols(&b[..cut], Some(&mask)).is_err());
            }
        }
        let short = decode_row_cols(&b, Some(&[false, false])).unwrap();
        assert_eq!(short[2..], row[2..]);
    }
}
