//! Feeds arbitrary bytes to every decoder that sees network input before authentication
//! or in the command phase: packet framing, HandshakeResponse41, SSLRequest detection,
//! COM_CHANGE_USER and COM_STMT_EXECUTE parameters (with and without remembered types).
//! Any panic is a bug: the server must turn all of these into errors.
#![no_main]

use std::io::{self, Cursor, Read, Write};

use borealis_server::protocol::binary::{self, ParamType};
use borealis_server::protocol::messages;
use borealis_server::protocol::packet::PacketIo;
use libfuzzer_sys::fuzz_target;
use mysql_common::constants::CapabilityFlags;

struct Duplex(Cursor<Vec<u8>>);

impl Read for Duplex {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl Write for Duplex {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fuzz_target!(|data: &[u8]| {
    let mut io = PacketIo::new(Duplex(Cursor::new(data.to_vec())), 1 << 16);
    while io.read_packet().is_ok() {
        io.reset_seq();
    }

    let _ = messages::is_ssl_request(data);
    let _ = messages::parse_handshake_response(data);
    let caps = CapabilityFlags::from_bits_truncate(
        data.get(..4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .unwrap_or(0),
    );
    let _ = messages::parse_change_user(data, caps);

    let n = data.first().map_or(0, |b| (*b % 12) as usize);
    let remembered: Vec<ParamType> = data
        .iter()
        .skip(1)
        .take(n)
        .map(|b| ParamType {
            code: *b,
            unsigned: b & 1 == 1,
        })
        .collect();
    let long: Vec<Option<Vec<u8>>> = (0..n).map(|i| (i == 1).then(Vec::new)).collect();
    let _ = binary::parse_execute(data, n, None, &[]);
    if remembered.len() == n {
        let _ = binary::parse_execute(data, n, Some(&remembered), &long);
    }
});
