//! A minimal raw MySQL client for tests that need to see or forge exact packets
//! (status flags, garbage, truncated and oversized packets, malformed commands).

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use mysql_common::constants::CapabilityFlags;
use mysql_common::io::ParseBuf;
use mysql_common::packets::{AuthPlugin, HandshakePacket, HandshakeResponse};
use mysql_common::proto::{MyDeserialize, MySerialize};

pub struct RawClient {
    pub stream: TcpStream,
    pub seq: u8,
}

/// Capabilities the raw client asks for (legacy EOF, no TLS, multi-statements).
pub fn default_caps() -> CapabilityFlags {
    CapabilityFlags::CLIENT_PROTOCOL_41
        | CapabilityFlags::CLIENT_SECURE_CONNECTION
        | CapabilityFlags::CLIENT_PLUGIN_AUTH
        | CapabilityFlags::CLIENT_LONG_PASSWORD
        | CapabilityFlags::CLIENT_TRANSACTIONS
        | CapabilityFlags::CLIENT_MULTI_STATEMENTS
        | CapabilityFlags::CLIENT_MULTI_RESULTS
}

impl RawClient {
    /// Open a TCP connection without doing anything else.
    pub fn tcp(port: u16) -> io::Result<RawClient> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        Ok(RawClient { stream, seq: 0 })
    }

    /// Connect and log in with mysql_native_password.
    pub fn login(
        port: u16,
        user: &str,
        password: &str,
        caps: CapabilityFlags,
    ) -> io::Result<RawClient> {
        let mut c = RawClient::tcp(port)?;
        let greeting = c.read_packet()?;
        let hs = HandshakePacket::deserialize((), &mut ParseBuf(&greeting))?;
        let nonce = hs.nonce();
        let scramble = mysql_common::auth::plugins::mysql_native_password::scramble_native(
            &nonce,
            password.as_bytes(),
        )
        .map(|s| s.to_vec())
        .unwrap_or_default();
        let resp = HandshakeResponse::new(
            Some(scramble),
            (8, 0, 36),
            Some(user.as_bytes()),
            None::<&[u8]>,
            Some(AuthPlugin::MysqlNativePassword),
            caps,
            None,
            16 << 20,
        );
        let mut buf = Vec::new();
        resp.serialize(&mut buf);
        c.write_packet(&buf)?;
        let reply = c.read_packet()?;
        if reply.first() != Some(&0) {
            return Err(io::Error::other(format!("login failed: {reply:?}")));
        }
        Ok(c)
    }

    pub fn read_packet(&mut self) -> io::Result<Vec<u8>> {
        let mut h = [0u8; 4];
        self.stream.read_exact(&mut h)?;
        let len = u32::from_le_bytes([h[0], h[1], h[2], 0]) as usize;
        self.seq = h[3].wrapping_add(1);
        let mut p = vec![0u8; len];
        self.stream.read_exact(&mut p)?;
        Ok(p)
    }

    pub fn write_packet(&mut self, payload: &[u8]) -> io::Result<()> {
        let len = (payload.len() as u32).to_le_bytes();
        let mut frame = vec![len[0], len[1], len[2], self.seq];
        frame.extend_from_slice(payload);
        self.seq = self.seq.wrapping_add(1);
        self.stream.write_all(&frame)
    }

    /// Send one command (sequence id 0) and return the first reply packet.
    pub fn command(&mut self, cmd: u8, body: &[u8]) -> io::Result<Vec<u8>> {
        self.seq = 0;
        let mut p = vec![cmd];
        p.extend_from_slice(body);
        self.write_packet(&p)?;
        self.read_packet()
    }

    /// COM_QUERY that must answer with an OK packet; returns its status flags.
    pub fn query_ok_status(&mut self, sql: &str) -> io::Result<u16> {
        let p = self.command(0x03, sql.as_bytes())?;
        if p.first() != Some(&0) {
            return Err(io::Error::other(format!("not an OK packet: {p:?}")));
        }
        let mut b = ParseBuf(&p[1..]);
        b.checked_eat_lenenc_int();
        b.checked_eat_lenenc_int();
        let s = b
            .checked_eat(2)
            .ok_or_else(|| io::Error::other("short OK"))?;
        Ok(u16::from_le_bytes([s[0], s[1]]))
    }
}

/// The error code of an ERR packet, if `p` is one.
pub fn err_code(p: &[u8]) -> Option<u16> {
    (p.first() == Some(&0xFF) && p.len() >= 3).then(|| u16::from_le_bytes([p[1], p[2]]))
}
