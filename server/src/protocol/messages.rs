//! Encoders for what the server sends (greeting, OK, ERR, EOF, column definitions, text
//! rows, prepare replies) and decoders for what the client sends during connection setup.
//!
//! Built on `mysql_common`'s packet types where they are exact for the server side
//! (HandshakeV10, HandshakeResponse41, SSLRequest, AuthSwitchRequest, COM_CHANGE_USER) and
//! on its length-encoding helpers elsewhere. Column definitions are encoded here because
//! the field order of the server-side column packet must match what clients parse
//! (charset before length), and a COM_FIELD_LIST reply carries an extra default field.
//! Decoders never panic: every short or malformed input is an `Err`.

use std::borrow::Cow;

use borealis_engine::{Column, Error};
use mysql_common::constants::{CapabilityFlags, StatusFlags};
use mysql_common::io::{BufMutExt, ParseBuf};
use mysql_common::packets::{AuthPlugin, AuthSwitchRequest, HandshakePacket, HandshakeResponse};
use mysql_common::proto::{MyDeserialize, MySerialize};

/// Collation announced in the greeting: utf8mb4_general_ci, known to every client.
pub const DEFAULT_COLLATION: u8 = 45;

/// The capabilities the server offers. CLIENT_LONG_PASSWORD doubles as CLIENT_MYSQL: with
/// it set, libmariadb treats the peer as MySQL and stays on the standard protocol.
/// LOCAL_FILES is offered: LOAD DATA LOCAL asks the client for its file (`conn.rs`,
/// `WireInfile`) when the client set it too. Not offered: COMPRESS, SESSION_TRACK (no
/// session state in OK packets), and MariaDB's extended capabilities.
pub fn server_capabilities(tls: bool) -> CapabilityFlags {
    let mut caps = CapabilityFlags::CLIENT_LONG_PASSWORD
        | CapabilityFlags::CLIENT_FOUND_ROWS
        | CapabilityFlags::CLIENT_LONG_FLAG
        | CapabilityFlags::CLIENT_CONNECT_WITH_DB
        | CapabilityFlags::CLIENT_PROTOCOL_41
        | CapabilityFlags::CLIENT_INTERACTIVE
        | CapabilityFlags::CLIENT_IGNORE_SIGPIPE
        | CapabilityFlags::CLIENT_LOCAL_FILES
        | CapabilityFlags::CLIENT_TRANSACTIONS
        | CapabilityFlags::CLIENT_SECURE_CONNECTION
        | CapabilityFlags::CLIENT_MULTI_STATEMENTS
        | CapabilityFlags::CLIENT_MULTI_RESULTS
        | CapabilityFlags::CLIENT_PS_MULTI_RESULTS
        | CapabilityFlags::CLIENT_PLUGIN_AUTH
        | CapabilityFlags::CLIENT_CONNECT_ATTRS
        | CapabilityFlags::CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA
        | CapabilityFlags::CLIENT_DEPRECATE_EOF;
    if tls {
        caps |= CapabilityFlags::CLIENT_SSL;
    }
    caps
}

/// The HandshakeV10 greeting. `scramble` is the 20-byte nonce.
pub fn greeting(
    version: &str,
    connection_id: u32,
    scramble: &[u8; 20],
    caps: CapabilityFlags,
    plugin: &str,
) -> Vec<u8> {
    let mut part1 = [0u8; 8];
    part1.copy_from_slice(&scramble[..8]);
    // The second part is sent NUL-terminated (13 bytes), as mysqld does.
    let mut part2 = scramble[8..].to_vec();
    part2.push(0);
    let p = HandshakePacket::new(
        10,
        version.as_bytes(),
        connection_id,
        part1,
        Some(part2),
        caps,
        DEFAULT_COLLATION,
        StatusFlags::SERVER_STATUS_AUTOCOMMIT,
        Some(plugin.as_bytes()),
    );
    let mut buf = Vec::with_capacity(128);
    p.serialize(&mut buf);
    buf
}

/// What the client said in its HandshakeResponse41 (or COM_CHANGE_USER).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientHello {
    pub capabilities: CapabilityFlags,
    pub max_packet_size: u32,
    pub collation: u8,
    pub user: String,
    pub auth_response: Vec<u8>,
    pub database: Option<String>,
    /// The auth plugin the client used for `auth_response` (None: not said).
    pub plugin: Option<String>,
}

/// A malformed client packet; the connection is closed after reporting it.
#[derive(Debug, thiserror::Error)]
#[error("malformed packet: {0}")]
pub struct Malformed(pub String);

fn malformed(what: impl Into<String>) -> Malformed {
    Malformed(what.into())
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn plugin_name(p: &AuthPlugin<'_>) -> String {
    text(p.as_bytes())
}

/// True when the first client packet is an SSLRequest (32 bytes with CLIENT_SSL).
pub fn is_ssl_request(payload: &[u8]) -> bool {
    payload.len() == 32
        && u32::from_le_bytes([payload[0], payload[1], payload[2], payload[3]])
            & CapabilityFlags::CLIENT_SSL.bits()
            != 0
}

/// Capability flags of a first client packet, if it has at least 4 bytes.
pub fn peek_capabilities(payload: &[u8]) -> Option<CapabilityFlags> {
    let b = payload.get(..4)?;
    Some(CapabilityFlags::from_bits_truncate(u32::from_le_bytes([
        b[0], b[1], b[2], b[3],
    ])))
}

/// Parse a HandshakeResponse41.
pub fn parse_handshake_response(payload: &[u8]) -> Result<ClientHello, Malformed> {
    let caps = peek_capabilities(payload).ok_or_else(|| malformed("short handshake response"))?;
    if !caps.contains(CapabilityFlags::CLIENT_PROTOCOL_41) {
        return Err(malformed("client does not speak protocol 4.1"));
    }
    let mut buf = ParseBuf(payload);
    let r = HandshakeResponse::deserialize((), &mut buf)
        .map_err(|e| malformed(format!("handshake response: {e}")))?;
    Ok(ClientHello {
        capabilities: r.capabilities(),
        max_packet_size: u32::from_le_bytes([payload[4], payload[5], payload[6], payload[7]]),
        collation: r.collation(),
        user: text(r.user()),
        auth_response: r.scramble_buf().to_vec(),
        database: r.db_name().filter(|d| !d.is_empty()).map(text),
        plugin: r.auth_plugin().map(plugin_name),
    })
}

/// Parse COM_CHANGE_USER (the payload including its command byte). Decoded by hand:
/// mysql_common's `ComChangeUser` has no getters for the fields a server needs.
pub fn parse_change_user(payload: &[u8], caps: CapabilityFlags) -> Result<ClientHello, Malformed> {
    let mut p = ParseBuf(payload);
    if !p.checked_skip(1) {
        return Err(malformed("COM_CHANGE_USER: empty"));
    }
    let user = p
        .checked_eat_null_str_opt()
        .ok_or_else(|| malformed("COM_CHANGE_USER: user"))?;
    let auth = p
        .checked_eat_u8_str()
        .ok_or_else(|| malformed("COM_CHANGE_USER: auth data"))?;
    let mut hello = ClientHello {
        capabilities: caps,
        max_packet_size: 0,
        collation: DEFAULT_COLLATION,
        user: text(user),
        auth_response: auth.to_vec(),
        database: None,
        plugin: None,
    };
    let db = if p.is_empty() {
        &[][..]
    } else {
        p.checked_eat_null_str_opt()
            .ok_or_else(|| malformed("COM_CHANGE_USER: database"))?
    };
    if !db.is_empty() {
        hello.database = Some(text(db));
    }
    if let Some(cs) = p.checked_eat(2) {
        hello.collation = cs[0];
        if caps.contains(CapabilityFlags::CLIENT_PLUGIN_AUTH) && !p.is_empty() {
            let name = p.checked_eat_null_str_opt().unwrap_or_default();
            if !name.is_empty() {
                hello.plugin = Some(text(name));
            }
        }
    }
    Ok(hello)
}

/// Helpers over `ParseBuf` that return None instead of panicking.
trait ParseBufExt<'a> {
    fn checked_eat_null_str_opt(&mut self) -> Option<&'a [u8]>;
}

impl<'a> ParseBufExt<'a> for ParseBuf<'a> {
    fn checked_eat_null_str_opt(&mut self) -> Option<&'a [u8]> {
        let pos = self.0.iter().position(|&b| b == 0)?;
        let s = self.checked_eat(pos)?;
        self.checked_skip(1);
        Some(s)
    }
}

/// AuthSwitchRequest asking the client to answer `plugin` with `scramble`.
pub fn auth_switch(plugin: &str, scramble: &[u8; 20]) -> Vec<u8> {
    let mut data = scramble.to_vec();
    data.push(0);
    let p = AuthSwitchRequest::new(Cow::Borrowed(plugin.as_bytes()), data);
    let mut buf = Vec::new();
    p.serialize(&mut buf);
    buf
}

/// AuthMoreData (0x01 + data), used by caching_sha2_password.
pub fn auth_more_data(data: &[u8]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(1 + data.len());
    buf.push(0x01);
    buf.extend_from_slice(data);
    buf
}

/// An OK packet. `header` is 0x00, or 0xFE when it ends a result set under DEPRECATE_EOF.
pub fn ok_packet(
    header: u8,
    affected_rows: u64,
    last_insert_id: u64,
    status: StatusFlags,
    warnings: u16,
    info: &str,
) -> Vec<u8> {
    let mut buf = Vec::with_capacity(16 + info.len());
    buf.push(header);
    buf.put_lenenc_int(affected_rows);
    buf.put_lenenc_int(last_insert_id);
    buf.extend_from_slice(&status.bits().to_le_bytes());
    buf.extend_from_slice(&warnings.to_le_bytes());
    // mysqld writes the info text length-encoded, and clients read it that way.
    if !info.is_empty() {
        buf.put_lenenc_str(info.as_bytes());
    }
    buf
}

/// A legacy EOF packet.
pub fn eof_packet(status: StatusFlags, warnings: u16) -> Vec<u8> {
    let mut buf = Vec::with_capacity(5);
    buf.push(0xFE);
    buf.extend_from_slice(&warnings.to_le_bytes());
    buf.extend_from_slice(&status.bits().to_le_bytes());
    buf
}

/// An ERR packet (protocol 4.1 form, with SQLSTATE).
pub fn err_packet(code: u16, sqlstate: &str, message: &str) -> Vec<u8> {
    let mut buf = Vec::with_capacity(9 + message.len());
    buf.push(0xFF);
    buf.extend_from_slice(&code.to_le_bytes());
    buf.push(b'#');
    let mut state = [b'H', b'Y', b'0', b'0', b'0'];
    for (d, s) in state.iter_mut().zip(sqlstate.bytes()) {
        *d = s;
    }
    buf.extend_from_slice(&state);
    buf.extend_from_slice(message.as_bytes());
    buf
}

pub fn error_packet(e: &Error) -> Vec<u8> {
    err_packet(e.code, e.sqlstate(), &e.message)
}

/// A Protocol::ColumnDefinition41. `field_list` adds the default-value field a
/// COM_FIELD_LIST reply carries (sent as NULL: defaults are not reported there).
pub fn column_definition(c: &Column, field_list: bool) -> Vec<u8> {
    let mut buf = Vec::with_capacity(48 + c.name.len() * 2 + c.table.len() * 2);
    buf.put_lenenc_str(b"def");
    buf.put_lenenc_str(c.schema.as_bytes());
    buf.put_lenenc_str(c.table.as_bytes());
    buf.put_lenenc_str(c.org_table.as_bytes());
    buf.put_lenenc_str(c.name.as_bytes());
    buf.put_lenenc_str(c.org_name.as_bytes());
    buf.push(0x0C);
    buf.extend_from_slice(&c.charset.to_le_bytes());
    buf.extend_from_slice(&c.length.to_le_bytes());
    buf.push(c.ty as u8);
    buf.extend_from_slice(&c.flags.to_le_bytes());
    buf.push(c.decimals);
    buf.extend_from_slice(&[0, 0]);
    if field_list {
        buf.push(0xFB);
    }
    buf
}

/// The placeholder definition sent for each `?` in a COM_STMT_PREPARE reply.
pub fn param_definition() -> Vec<u8> {
    let mut c = Column::computed("?", borealis_engine::ColumnType::VarString);
    c.charset = borealis_engine::result::charset::BINARY;
    c.flags = borealis_engine::result::flags::BINARY;
    c.length = 0;
    c.decimals = 0;
    column_definition(&c, false)
}

/// The first packet of a result set: the column count.
pub fn column_count(n: usize) -> Vec<u8> {
    let mut buf = Vec::with_capacity(9);
    buf.put_lenenc_int(n as u64);
    buf
}

/// A BIT(n) column's value as MySQL sends it: big-endian bytes, (n + 7) / 8 of them (the
/// engine computes with bit values as unsigned integers; clients such as mysqldump read
/// the bytes).
pub fn bit_bytes(v: &borealis_engine::Value, bits: u32) -> Option<Vec<u8>> {
    let x = match v {
        borealis_engine::Value::UInt(u) => *u,
        borealis_engine::Value::Int(i) => *i as u64,
        _ => return None,
    };
    let n = (bits.clamp(1, 64) as usize).div_ceil(8);
    Some(x.to_be_bytes()[8 - n..].to_vec())
}

/// One row of a text result set.
/// Append one row of a text result set to `buf`: each value as its text, length-encoded,
/// NULL as 0xFB.
pub fn put_text_row(
    buf: &mut Vec<u8>,
    columns: &[borealis_engine::Column],
    values: &[borealis_engine::Value],
) {
    use borealis_engine::Value;
    for (i, v) in values.iter().enumerate() {
        if columns
            .get(i)
            .is_some_and(|c| c.ty == borealis_engine::ColumnType::Bit)
        {
            if let Some(b) = bit_bytes(v, columns[i].length) {
                buf.put_lenenc_str(&b);
                continue;
            }
        }
        match v {
            Value::Null => buf.push(0xFB),
            Value::Str(s) => buf.put_lenenc_str(s.as_bytes()),
            Value::Bytes(b) => buf.put_lenenc_str(b),
            Value::Int(n) => put_lenenc_display(buf, n),
            Value::UInt(n) => put_lenenc_display(buf, n),
            other => buf.put_lenenc_str(other.to_string().as_bytes()),
        }
    }
}

/// A length-encoded string of `v`'s decimal text, formatted without a heap buffer (an
/// integer's text is at most 20 bytes, so its length prefix is one byte).
fn put_lenenc_display(buf: &mut Vec<u8>, v: &impl std::fmt::Display) {
    use std::io::Write;
    let at = buf.len();
    buf.push(0);
    write!(buf, "{v}").expect("writing to a Vec cannot fail");
    buf[at] = (buf.len() - at - 1) as u8;
}

/// COM_STMT_PREPARE's first reply packet.
pub fn prepare_ok(stmt_id: u32, columns: u16, params: u16, warnings: u16) -> Vec<u8> {
    let mut buf = Vec::with_capacity(12);
    buf.push(0x00);
    buf.extend_from_slice(&stmt_id.to_le_bytes());
    buf.extend_from_slice(&columns.to_le_bytes());
    buf.extend_from_slice(&params.to_le_bytes());
    buf.push(0x00);
    buf.extend_from_slice(&warnings.to_le_bytes());
    buf
}

#[cfg(test)]
mod tests {
    use super::*;
    use borealis_engine::ColumnType;
    use mysql_common::packets::{
        Column as McColumn, CommonOkPacket, OkPacketDeserializer, ResultSetTerminator,
    };

    #[test]
    fn bit_values_go_out_as_big_endian_bytes() {
        use borealis_engine::Value;
        assert_eq!(bit_bytes(&Value::UInt(5), 4), Some(vec![5]));
        assert_eq!(bit_bytes(&Value::UInt(0x1ff), 9), Some(vec![1, 0xff]));
        assert_eq!(bit_bytes(&Value::UInt(u64::MAX), 64), Some(vec![0xff; 8]));
        // A length the metadata left at 0 still sends one byte; non-integers are left
        // to the caller.
        assert_eq!(bit_bytes(&Value::Int(0), 0), Some(vec![0]));
        assert_eq!(bit_bytes(&Value::Str("5".into()), 8), None);
    }

    #[test]
    fn greeting_parses_back() {
        let scramble = *b"abcdefghijklmnopqrst";
        let caps = server_capabilities(true);
        let g = greeting(
            "8.0.36-Borealis-0.1.0",
            7,
            &scramble,
            caps,
            "mysql_native_password",
        );
        let p = HandshakePacket::deserialize((), &mut ParseBuf(&g)).unwrap();
        assert_eq!(p.protocol_version(), 10);
        assert_eq!(p.connection_id(), 7);
        assert_eq!(p.server_version_parsed(), Some((8, 0, 36)));
        assert_eq!(p.capabilities(), caps);
        assert_eq!(p.nonce(), scramble.to_vec());
        assert_eq!(p.auth_plugin(), Some(AuthPlugin::MysqlNativePassword));
        assert!(p
            .capabilities()
            .contains(CapabilityFlags::CLIENT_LONG_PASSWORD));
    }

    #[test]
    fn handshake_response_lenenc_and_one_byte_auth() {
        for caps in [
            CapabilityFlags::CLIENT_PROTOCOL_41
                | CapabilityFlags::CLIENT_SECURE_CONNECTION
                | CapabilityFlags::CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA,
            CapabilityFlags::CLIENT_PROTOCOL_41 | CapabilityFlags::CLIENT_SECURE_CONNECTION,
        ] {
            let mut attrs = std::collections::HashMap::new();
            attrs.insert("_client_name".to_string(), "test".to_string());
            let r = HandshakeResponse::new(
                Some(vec![9u8; 20]),
                (8, 0, 36),
                Some(&b"alice"[..]),
                Some(&b"shop"[..]),
                Some(AuthPlugin::MysqlNativePassword),
                caps,
                Some(attrs),
                1 << 24,
            );
            let mut buf = Vec::new();
            r.serialize(&mut buf);
            let h = parse_handshake_response(&buf).unwrap();
            assert_eq!(h.user, "alice");
            assert_eq!(h.auth_response, vec![9u8; 20]);
            assert_eq!(h.database.as_deref(), Some("shop"));
            assert_eq!(h.plugin.as_deref(), Some("mysql_native_password"));
            assert_eq!(h.max_packet_size, 1 << 24);
            // Every truncation is an error, never a panic.
            for n in 0..buf.len() {
                let _ = parse_handshake_response(&buf[..n]);
            }
        }
    }

    #[test]
    fn ok_packet_parses_back() {
        let st = StatusFlags::SERVER_STATUS_AUTOCOMMIT | StatusFlags::SERVER_STATUS_IN_TRANS;
        let p = ok_packet(0, 300, 70000, st, 2, "Rows matched: 1");
        let ok = OkPacketDeserializer::<CommonOkPacket>::deserialize(
            CapabilityFlags::CLIENT_PROTOCOL_41,
            &mut ParseBuf(&p),
        )
        .unwrap();
        let ok: mysql_common::packets::OkPacket<'_> = ok.into();
        assert_eq!(ok.affected_rows(), 300);
        assert_eq!(ok.last_insert_id(), Some(70000));
        assert_eq!(ok.status_flags(), st);
        assert_eq!(ok.warnings(), 2);
        assert_eq!(ok.info_ref(), Some(&b"Rows matched: 1"[..]));
        let eof = ok_packet(0xFE, 0, 0, st, 1, "");
        let ok = OkPacketDeserializer::<ResultSetTerminator>::deserialize(
            CapabilityFlags::CLIENT_PROTOCOL_41,
            &mut ParseBuf(&eof),
        )
        .unwrap();
        let ok: mysql_common::packets::OkPacket<'_> = ok.into();
        assert_eq!(ok.status_flags(), st);
        assert_eq!(ok.warnings(), 1);
    }

    #[test]
    fn column_definition_parses_back() {
        let mut c = Column::computed("k", ColumnType::Long);
        c.table = "sbtest1".into();
        c.org_table = "sbtest1".into();
        c.schema = "sbtest".into();
        c.org_name = "k".into();
        c.flags = 1 | 32;
        let bytes = column_definition(&c, false);
        let mc = McColumn::deserialize((), &mut ParseBuf(&bytes)).unwrap();
        assert_eq!(mc.name_str(), "k");
        assert_eq!(mc.table_str(), "sbtest1");
        assert_eq!(mc.schema_str(), "sbtest");
        assert_eq!(mc.column_length(), 11);
        assert_eq!(mc.character_set(), 63);
        assert_eq!(mc.column_type() as u8, 3);
        assert_eq!(mc.flags().bits(), 1 | 32);
    }

    #[test]
    fn text_rows_write_integers_as_their_decimal_text() {
        use borealis_engine::{Column, Value};
        let cols: Vec<Column> = ["a", "b", "c", "d", "e"]
            .iter()
            .map(|&n| Column::computed(n, ColumnType::LongLong))
            .collect();
        let values = [
            Value::Int(-5),
            Value::UInt(u64::MAX),
            Value::Null,
            Value::Str("ab".into()),
            Value::Int(i64::MIN),
        ];
        let mut buf = vec![0xAA];
        put_text_row(&mut buf, &cols, &values);
        let mut want = vec![0xAA, 2, b'-', b'5', 20];
        want.extend_from_slice(b"18446744073709551615");
        want.extend_from_slice(&[0xFB, 2, b'a', b'b', 20]);
        want.extend_from_slice(b"-9223372036854775808");
        assert_eq!(buf, want);
    }

    #[test]
    fn err_packet_layout() {
        let p = err_packet(1045, "28000", "Access denied");
        assert_eq!(
            &p[..9],
            &[0xFF, 0x15, 0x04, b'#', b'2', b'8', b'0', b'0', b'0']
        );
        assert_eq!(&p[9..], b"Access denied");
    }
}
