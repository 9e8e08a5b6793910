//! The binary protocol of prepared statements: decoding COM_STMT_EXECUTE parameters and
//! encoding binary result rows.
//!
//! Parameter types come from the execute packet when new_params_bound=1 and are
//! remembered by the caller for later executes that send new_params_bound=0 (sysbench
//! does this). Values are decoded with bounds checks only: a short packet or an unknown
//! type is an error the client sees, never a panic. Row values are encoded by the
//! column's declared type, converting the engine value when its variant differs.

use borealis_engine::temporal::{Date, DateTime, Time};
use borealis_engine::{Column, ColumnType, Value};
use mysql_common::io::{BufMutExt, ParseBuf};

/// One parameter's wire type: the type code and the UNSIGNED flag (0x80 in the packet).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParamType {
    pub code: u8,
    pub unsigned: bool,
}

/// A decoded COM_STMT_EXECUTE.
#[derive(Clone, Debug, PartialEq)]
pub struct ExecuteRequest {
    pub stmt_id: u32,
    pub flags: u8,
    pub params: Vec<Value>,
    /// The types the client bound in this packet (None: new_params_bound = 0).
    pub new_types: Option<Vec<ParamType>>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ExecuteError {
    #[error("malformed COM_STMT_EXECUTE packet")]
    Malformed,
    #[error("parameter types were never bound")]
    NoTypes,
    #[error("unsupported parameter type {0}")]
    UnknownType(u8),
}

/// The statement id of a COM_STMT_* packet (after its command byte).
pub fn stmt_id(payload: &[u8]) -> Option<u32> {
    let b = payload.get(1..5)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Decode COM_STMT_EXECUTE (payload including the command byte). `param_count` is the
/// statement's; `remembered` the types from an earlier execute; `long_data[i]` is the
/// data sent with COM_STMT_SEND_LONG_DATA for parameter i (its value is not in the packet).
pub fn parse_execute(
    payload: &[u8],
    param_count: usize,
    remembered: Option<&[ParamType]>,
    long_data: &[Option<Vec<u8>>],
) -> Result<ExecuteRequest, ExecuteError> {
    let mut p = ParseBuf(payload);
    let head = p.checked_eat(10).ok_or(ExecuteError::Malformed)?;
    let stmt_id = u32::from_le_bytes([head[1], head[2], head[3], head[4]]);
    let flags = head[5];
    let mut req = ExecuteRequest {
        stmt_id,
        flags,
        params: Vec::with_capacity(param_count),
        new_types: None,
    };
    if param_count == 0 {
        return Ok(req);
    }
    let bitmap = p
        .checked_eat(param_count.div_ceil(8))
        .ok_or(ExecuteError::Malformed)?;
    let bound = p.checked_eat(1).ok_or(ExecuteError::Malformed)?[0];
    let types: Vec<ParamType> = if bound == 1 {
        let raw = p
            .checked_eat(param_count * 2)
            .ok_or(ExecuteError::Malformed)?;
        let t: Vec<ParamType> = raw
            .chunks_exact(2)
            .map(|c| ParamType {
                code: c[0],
                unsigned: c[1] & 0x80 != 0,
            })
            .collect();
        req.new_types = Some(t.clone());
        t
    } else {
        match remembered {
            Some(t) if t.len() == param_count => t.to_vec(),
            _ => return Err(ExecuteError::NoTypes),
        }
    };
    for (i, ty) in types.iter().enumerate() {
        if let Some(Some(data)) = long_data.get(i) {
            req.params.push(bytes_value(ty.code, data.clone()));
            continue;
        }
        if bitmap[i / 8] & (1 << (i % 8)) != 0 {
            req.params.push(Value::Null);
            continue;
        }
        req.params.push(read_value(&mut p, *ty)?);
    }
    Ok(req)
}

/// Binary strings stay bytes; text types become strings when they are valid UTF-8.
fn bytes_value(code: u8, data: Vec<u8>) -> Value {
    const TINY_BLOB: u8 = ColumnType::TinyBlob as u8;
    const BLOB: u8 = ColumnType::Blob as u8;
    const BIT: u8 = ColumnType::Bit as u8;
    match code {
        TINY_BLOB..=BLOB | BIT | 255 => Value::Bytes(data),
        _ => match String::from_utf8(data) {
            Ok(s) => Value::Str(s),
            Err(e) => Value::Bytes(e.into_bytes()),
        },
    }
}

fn take<'a>(p: &mut ParseBuf<'a>, n: usize) -> Result<&'a [u8], ExecuteError> {
    p.checked_eat(n).ok_or(ExecuteError::Malformed)
}

fn read_value(p: &mut ParseBuf<'_>, ty: ParamType) -> Result<Value, ExecuteError> {
    use ColumnType as T;
    let code = ty.code;
    let int = |v: i64, u: u64| {
        if ty.unsigned && v < 0 {
            Value::UInt(u)
        } else if ty.unsigned {
            Value::Int(u as i64)
        } else {
            Value::Int(v)
        }
    };
    Ok(match code {
        c if c == T::Null as u8 => Value::Null,
        c if c == T::Tiny as u8 => {
            let b = take(p, 1)?[0];
            if ty.unsigned {
                Value::Int(b as i64)
            } else {
                Value::Int(b as i8 as i64)
            }
        }
        c if c == T::Short as u8 || c == T::Year as u8 => {
            let b = take(p, 2)?;
            let u = u16::from_le_bytes([b[0], b[1]]);
            if ty.unsigned {
                Value::Int(u as i64)
            } else {
                Value::Int(u as i16 as i64)
            }
        }
        c if c == T::Long as u8 || c == T::Int24 as u8 => {
            let b = take(p, 4)?;
            let u = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            if ty.unsigned {
                Value::Int(u as i64)
            } else {
                Value::Int(u as i32 as i64)
            }
        }
        c if c == T::LongLong as u8 => {
            let b = take(p, 8)?;
            let u = u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
            int(u as i64, u)
        }
        c if c == T::Float as u8 => {
            let b = take(p, 4)?;
            let f = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            // Through the shortest decimal text, so 1.1f32 binds as 1.1 and not 1.100000023.
            Value::Double(f.to_string().parse::<f64>().unwrap_or(f as f64))
        }
        c if c == T::Double as u8 => {
            let b = take(p, 8)?;
            Value::Double(f64::from_le_bytes([
                b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
            ]))
        }
        c if c == T::Date as u8 || c == T::DateTime as u8 || c == T::Timestamp as u8 || c == 14 => {
            let dt = read_datetime(p)?;
            if c == T::Date as u8 || c == 14 {
                Value::Date(dt.date)
            } else {
                Value::DateTime(dt)
            }
        }
        c if c == T::Time as u8 => Value::Time(read_time(p)?),
        c if c == T::Decimal as u8 || c == T::NewDecimal as u8 => {
            let b = p.checked_eat_lenenc_str().ok_or(ExecuteError::Malformed)?;
            let s = std::str::from_utf8(b).map_err(|_| ExecuteError::Malformed)?;
            match s.trim().parse::<rust_decimal::Decimal>() {
                Ok(d) => Value::Decimal(d),
                Err(_) => Value::Str(s.to_string()),
            }
        }
        c if c == T::Varchar as u8
            || c == T::Bit as u8
            || c == T::Json as u8
            || (T::Enum as u8..=T::String as u8).contains(&c) =>
        {
            let b = p.checked_eat_lenenc_str().ok_or(ExecuteError::Malformed)?;
            bytes_value(c, b.to_vec())
        }
        other => return Err(ExecuteError::UnknownType(other)),
    })
}

fn read_datetime(p: &mut ParseBuf<'_>) -> Result<DateTime, ExecuteError> {
    let len = take(p, 1)?[0] as usize;
    let b = take(p, len)?;
    let mut dt = DateTime::default();
    if len >= 4 {
        dt.date = Date {
            year: u16::from_le_bytes([b[0], b[1]]),
            month: b[2],
            day: b[3],
        };
    }
    if len >= 7 {
        dt.hour = b[4];
        dt.minute = b[5];
        dt.second = b[6];
    }
    if len >= 11 {
        dt.micro = u32::from_le_bytes([b[7], b[8], b[9], b[10]]);
    }
    if !matches!(len, 0 | 4 | 7 | 11) {
        return Err(ExecuteError::Malformed);
    }
    Ok(dt)
}

fn read_time(p: &mut ParseBuf<'_>) -> Result<Time, ExecuteError> {
    let len = take(p, 1)?[0] as usize;
    let b = take(p, len)?;
    let mut t = Time::default();
    if len >= 8 {
        t.negative = b[0] != 0;
        let days = u32::from_le_bytes([b[1], b[2], b[3], b[4]]);
        t.hour = days.saturating_mul(24).saturating_add(b[5] as u32);
        t.minute = b[6];
        t.second = b[7];
    }
    if len >= 12 {
        t.micro = u32::from_le_bytes([b[8], b[9], b[10], b[11]]);
    }
    if !matches!(len, 0 | 8 | 12) {
        return Err(ExecuteError::Malformed);
    }
    Ok(t)
}

/// One row of a binary result set, each value encoded as its column's type.
pub fn binary_row(columns: &[Column], values: &[Value]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(8 + values.len() * 9);
    put_binary_row(&mut buf, columns, values);
    buf
}

/// Append [`binary_row`]'s payload to `buf`.
pub fn put_binary_row(buf: &mut Vec<u8>, columns: &[Column], values: &[Value]) {
    buf.push(0x00);
    let bitmap_start = buf.len();
    buf.resize(bitmap_start + (columns.len() + 9) / 8, 0);
    for (i, (c, v)) in columns.iter().zip(values).enumerate() {
        if v.is_null() {
            let bit = i + 2;
            buf[bitmap_start + bit / 8] |= 1 << (bit % 8);
            continue;
        }
        write_value(buf, c, v);
    }
}

fn write_value(buf: &mut Vec<u8>, c: &Column, v: &Value) {
    use ColumnType as T;
    let as_i64 = || match v {
        Value::UInt(u) => *u as i64,
        other => other.to_i64().unwrap_or(0),
    };
    match c.ty {
        T::Tiny => buf.push(as_i64() as u8),
        T::Short | T::Year => buf.extend_from_slice(&(as_i64() as u16).to_le_bytes()),
        T::Long | T::Int24 => buf.extend_from_slice(&(as_i64() as u32).to_le_bytes()),
        T::LongLong => buf.extend_from_slice(&(as_i64() as u64).to_le_bytes()),
        T::Float => buf.extend_from_slice(&(v.to_f64().unwrap_or(0.0) as f32).to_le_bytes()),
        T::Double => buf.extend_from_slice(&v.to_f64().unwrap_or(0.0).to_le_bytes()),
        T::Date | T::DateTime | T::Timestamp => {
            let dt = match v {
                Value::DateTime(dt) => *dt,
                Value::Date(d) => DateTime::from_date(*d),
                other => other
                    .to_text()
                    .and_then(|s| borealis_engine::convert::parse_datetime(&s))
                    .unwrap_or_default(),
            };
            write_datetime(buf, &dt, c.ty == T::Date);
        }
        T::Time => {
            let t = match v {
                Value::Time(t) => *t,
                other => other
                    .to_text()
                    .and_then(|s| borealis_engine::convert::parse_time(&s))
                    .unwrap_or_default(),
            };
            write_time(buf, &t);
        }
        T::Null => {}
        T::Bit => match crate::protocol::messages::bit_bytes(v, c.length) {
            Some(b) => buf.put_lenenc_str(&b),
            None => write_string(buf, v),
        },
        _ => write_string(buf, v),
    }
}

fn write_string(buf: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Str(s) => buf.put_lenenc_str(s.as_bytes()),
        Value::Bytes(b) => buf.put_lenenc_str(b),
        other => buf.put_lenenc_str(other.to_string().as_bytes()),
    }
}

fn write_datetime(buf: &mut Vec<u8>, dt: &DateTime, date_only: bool) {
    let d = &dt.date;
    let has_time = !date_only && (dt.hour != 0 || dt.minute != 0 || dt.second != 0);
    let has_micro = !date_only && dt.micro != 0;
    if d.is_zero() && !has_time && !has_micro {
        buf.push(0);
        return;
    }
    let len = if has_micro {
        11
    } else if has_time {
        7
    } else {
        4
    };
    buf.push(len);
    buf.extend_from_slice(&d.year.to_le_bytes());
    buf.push(d.month);
    buf.push(d.day);
    if len >= 7 {
        buf.extend_from_slice(&[dt.hour, dt.minute, dt.second]);
    }
    if len == 11 {
        buf.extend_from_slice(&dt.micro.to_le_bytes());
    }
}

fn write_time(buf: &mut Vec<u8>, t: &Time) {
    if t.hour == 0 && t.minute == 0 && t.second == 0 && t.micro == 0 {
        buf.push(0);
        return;
    }
    let len = if t.micro != 0 { 12 } else { 8 };
    buf.push(len);
    buf.push(t.negative as u8);
    buf.extend_from_slice(&(t.hour / 24).to_le_bytes());
    buf.extend_from_slice(&[(t.hour % 24) as u8, t.minute, t.second]);
    if len == 12 {
        buf.extend_from_slice(&t.micro.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mysql_common::constants::{ColumnFlags, ColumnType as McType};
    use mysql_common::packets::{ComStmtExecuteRequestBuilder, NullBitmap};
    use mysql_common::proto::MySerialize;
    use mysql_common::value::{BinValue, ServerSide, ValueDeserializer};
    use mysql_common::Value as McValue;

    fn encode_execute(params: Vec<McValue>) -> Vec<u8> {
        let (body, _) = ComStmtExecuteRequestBuilder::new(42).build(&params);
        let mut buf = Vec::new();
        body.serialize(&mut buf);
        buf
    }

    #[test]
    fn decodes_every_parameter_type() {
        let params = vec![
            McValue::Int(-5),
            McValue::UInt(u64::MAX),
            McValue::Double(2.5),
            McValue::Float(1.1),
            McValue::Bytes(b"b'q".to_vec()),
            McValue::Bytes(vec![0xFF, 0x00]),
            McValue::NULL,
            McValue::Date(2024, 2, 29, 0, 0, 0, 0),
            McValue::Date(2024, 2, 29, 13, 14, 15, 16),
            McValue::Time(true, 1, 2, 3, 4, 5),
        ];
        let n = params.len();
        let bytes = encode_execute(params);
        let req = parse_execute(&bytes, n, None, &[]).unwrap();
        assert_eq!(req.stmt_id, 42);
        let types = req.new_types.clone().unwrap();
        assert_eq!(types.len(), n);
        let p = &req.params;
        assert_eq!(p[0], Value::Int(-5));
        assert_eq!(p[1], Value::UInt(u64::MAX));
        assert_eq!(p[2], Value::Double(2.5));
        assert_eq!(p[3], Value::Double(1.1));
        assert_eq!(p[4], Value::Str("b'q".into()));
        assert_eq!(p[5], Value::Bytes(vec![0xFF, 0x00]));
        assert_eq!(p[6], Value::Null);
        // mysql_common sends dates as DATETIME.
        let dt = match &p[7] {
            Value::DateTime(dt) => *dt,
            other => panic!("{other:?}"),
        };
        assert_eq!((dt.date.year, dt.date.month, dt.date.day), (2024, 2, 29));
        match &p[8] {
            Value::DateTime(dt) => {
                assert_eq!((dt.hour, dt.minute, dt.second, dt.micro), (13, 14, 15, 16))
            }
            other => panic!("{other:?}"),
        }
        match &p[9] {
            Value::Time(t) => {
                assert!(t.negative);
                assert_eq!((t.hour, t.minute, t.second, t.micro), (26, 3, 4, 5));
            }
            other => panic!("{other:?}"),
        }

        // new_params_bound = 0 reuses remembered types.
        let mut rebound = bytes.clone();
        let flag_pos = 10 + n.div_ceil(8);
        assert_eq!(rebound[flag_pos], 1);
        rebound[flag_pos] = 0;
        rebound.drain(flag_pos + 1..flag_pos + 1 + 2 * n);
        assert_eq!(
            parse_execute(&rebound, n, None, &[]),
            Err(ExecuteError::NoTypes)
        );
        let again = parse_execute(&rebound, n, Some(&types), &[]).unwrap();
        assert_eq!(again.params, req.params);
        assert_eq!(again.new_types, None);

        // Truncations never panic.
        for cut in 0..bytes.len() {
            let _ = parse_execute(&bytes[..cut], n, Some(&types), &[]);
        }
    }

    #[test]
    fn long_data_replaces_the_packet_value() {
        let bytes = encode_execute(vec![McValue::Int(1), McValue::Bytes(vec![])]);
        let long = vec![None, Some(b"streamed".to_vec())];
        let req = parse_execute(&bytes, 2, None, &long).unwrap();
        assert_eq!(req.params[1], Value::Str("streamed".into()));
    }

    #[test]
    fn binary_rows_decode_with_mysql_common() {
        let cols = vec![
            Column::computed("a", ColumnType::LongLong),
            Column::computed("b", ColumnType::Long),
            Column::computed("c", ColumnType::Double),
            Column::computed("d", ColumnType::VarString),
            Column::computed("e", ColumnType::NewDecimal),
            Column::computed("f", ColumnType::DateTime),
            Column::computed("g", ColumnType::Time),
            Column::computed("h", ColumnType::Date),
            Column::computed("i", ColumnType::Tiny),
        ];
        let dt = DateTime {
            date: Date {
                year: 2020,
                month: 1,
                day: 2,
            },
            hour: 3,
            minute: 4,
            second: 5,
            micro: 6,
        };
        let values = vec![
            Value::Int(-7),
            Value::Null,
            Value::Double(0.5),
            Value::Str("héllo".into()),
            Value::Str("12.50".into()),
            Value::DateTime(dt),
            Value::Time(Time {
                negative: false,
                hour: 30,
                minute: 1,
                second: 2,
                micro: 0,
            }),
            Value::Date(dt.date),
            Value::Int(-1),
        ];
        let row = binary_row(&cols, &values);
        let mut p = ParseBuf(&row[1..]);
        let bitmap =
            NullBitmap::<ServerSide, Vec<u8>>::from_bytes(p.checked_eat(2).unwrap().to_vec());
        let mut got = Vec::new();
        for (i, c) in cols.iter().enumerate() {
            if bitmap.is_null(i) {
                got.push(McValue::NULL);
                continue;
            }
            let ty = McType::try_from(c.ty as u8).unwrap();
            let v: ValueDeserializer<BinValue> = p.parse((ty, ColumnFlags::empty())).unwrap();
            got.push(v.0);
        }
        assert!(p.is_empty());
        assert_eq!(got[0], McValue::Int(-7));
        assert_eq!(got[1], McValue::NULL);
        assert_eq!(got[2], McValue::Double(0.5));
        assert_eq!(got[3], McValue::Bytes("héllo".as_bytes().to_vec()));
        assert_eq!(got[4], McValue::Bytes(b"12.50".to_vec()));
        assert_eq!(got[5], McValue::Date(2020, 1, 2, 3, 4, 5, 6));
        assert_eq!(got[6], McValue::Time(false, 1, 6, 1, 2, 0));
        assert_eq!(got[7], McValue::Date(2020, 1, 2, 0, 0, 0, 0));
        assert_eq!(got[8], McValue::Int(-1));
    }
}
