//! Every decoder that sees bytes from the network, run on one input: packet framing,
//! HandshakeResponse41, SSLRequest detection, COM_CHANGE_USER and COM_STMT_EXECUTE
//! parameters (with and without remembered types). Shared by the cargo-fuzz target
//! (server/fuzz) and the seeded mutation test that runs in CI (tests/decoder_fuzz.rs), so
//! both exercise exactly the same surface. Invariant: no input makes any of them panic.

use std::io::{self, Cursor, Read, Write};

use mysql_common::constants::CapabilityFlags;

use crate::protocol::binary::{self, ParamType};
use crate::protocol::messages;
use crate::protocol::packet::PacketIo;

/// Reads come from the input; writes go nowhere.
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

/// Feed `data` to every decoder; results are ignored, only panics matter.
pub fn exercise_decoders(data: &[u8]) {
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
}
