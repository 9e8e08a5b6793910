//! LOAD DATA LOCAL over the wire: the server asks the client for its file.
//!
//! Exchange (sequence ids continue from the client's COM_QUERY, id 0): the server sends
//! `0xFB` + file name (id 1); the client answers with the file's bytes in packets
//! (ids 2, 3, ...) and ends with an empty packet; the server then sends OK or ERR with
//! the next id. A client that cannot read the file sends the empty packet at once (and
//! reports its own error); that is an empty file here, as in MySQL.
//!
//! Invariants: the connection stays in step whatever the statement does: after the
//! statement [`WireInfile::finish`] reads whatever the client still sends up to its empty
//! packet (an insert error stops reading midway), so the OK/ERR always follows the empty
//! packet. A read error or a malformed packet during the transfer leaves the stream out
//! of step: `finish` reports it and the connection is closed.

use std::io::{self, Read};

use borealis_engine::LocalInfile;

use super::packet::{PacketError, PacketIo};

/// Where the file transfer stands.
#[derive(Debug, PartialEq, Eq)]
enum Transfer {
    /// Nothing was asked of the client.
    Idle,
    /// The request was sent; the client's empty packet has not been read yet.
    Reading,
    /// The empty packet was read.
    Done,
    /// Reading failed: the stream is out of step.
    Broken,
}

/// A [`LocalInfile`] that asks the client on the other end of `io`.
pub(crate) struct WireInfile<'a, S> {
    io: &'a mut PacketIo<S>,
    enabled: bool,
    state: Transfer,
    error: Option<PacketError>,
}

impl<'a, S: Read + io::Write> WireInfile<'a, S> {
    /// `enabled`: the client set CLIENT_LOCAL_FILES.
    pub(crate) fn new(io: &'a mut PacketIo<S>, enabled: bool) -> Self {
        WireInfile {
            io,
            enabled,
            state: Transfer::Idle,
            error: None,
        }
    }

    /// After the statement: read the rest of the file the client is still sending.
    /// Err: the connection is out of step and must close.
    pub(crate) fn finish(mut self) -> Result<(), PacketError> {
        loop {
            match self.state {
                Transfer::Idle | Transfer::Done => return Ok(()),
                Transfer::Broken => {
                    return Err(self
                        .error
                        .take()
                        .unwrap_or_else(|| PacketError::Io(io::ErrorKind::InvalidData.into())))
                }
                Transfer::Reading => {
                    self.next_packet()?;
                }
            }
        }
    }

    /// The next packet of the file (empty: the end).
    fn next_packet(&mut self) -> Result<Vec<u8>, PacketError> {
        match self.io.read_packet() {
            Ok(p) => {
                if p.is_empty() {
                    self.state = Transfer::Done;
                }
                Ok(p)
            }
            Err(e) => {
                self.state = Transfer::Broken;
                Err(e)
            }
        }
    }
}

impl<S: Read + io::Write> LocalInfile for WireInfile<'_, S> {
    fn enabled(&self) -> bool {
        self.enabled
    }

    fn open(&mut self, name: &str) -> io::Result<Box<dyn Read + '_>> {
        let mut request = Vec::with_capacity(1 + name.len());
        request.push(0xFB);
        request.extend_from_slice(name.as_bytes());
        self.io.write_packet(&request)?;
        self.io.flush()?;
        self.state = Transfer::Reading;
        Ok(Box::new(FileReader {
            wire: self,
            buf: Vec::new(),
            pos: 0,
        }))
    }
}

/// The file's bytes, packet by packet.
struct FileReader<'w, 'a, S> {
    wire: &'w mut WireInfile<'a, S>,
    buf: Vec<u8>,
    pos: usize,
}

impl<S: Read + io::Write> Read for FileReader<'_, '_, S> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.pos < self.buf.len() {
                let n = out.len().min(self.buf.len() - self.pos);
                out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
                self.pos += n;
                return Ok(n);
            }
            if self.wire.state != Transfer::Reading {
                return Ok(0);
            }
            match self.wire.next_packet() {
                Ok(p) => {
                    self.buf = p;
                    self.pos = 0;
                }
                Err(e) => {
                    let msg = e.to_string();
                    self.wire.error = Some(e);
                    return Err(io::Error::other(msg));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Client bytes in, server bytes out.
    struct Duplex {
        input: io::Cursor<Vec<u8>>,
        output: Vec<u8>,
    }
    impl Read for Duplex {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.input.read(buf)
        }
    }
    impl io::Write for Duplex {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.output.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn packet(seq: u8, payload: &[u8]) -> Vec<u8> {
        let len = (payload.len() as u32).to_le_bytes();
        let mut p = vec![len[0], len[1], len[2], seq];
        p.extend_from_slice(payload);
        p
    }

    /// An io positioned as after reading COM_QUERY (id 0).
    fn io_after_query(client: Vec<u8>) -> PacketIo<Duplex> {
        let mut input = packet(0, b"\x03LOAD DATA LOCAL ...");
        input.extend(client);
        let mut io = PacketIo::new(
            Duplex {
                input: io::Cursor::new(input),
                output: Vec::new(),
            },
            1 << 20,
        );
        io.read_packet().unwrap();
        io
    }

    #[test]
    fn request_then_file_then_empty_packet_with_sequence_ids() {
        let mut client = packet(2, b"1\ta\n");
        client.extend(packet(3, b"2\tb\n"));
        client.extend(packet(4, b""));
        let mut io = io_after_query(client);
        {
            let mut w = WireInfile::new(&mut io, true);
            let mut data = Vec::new();
            w.open("/tmp/f.txt")
                .unwrap()
                .read_to_end(&mut data)
                .unwrap();
            assert_eq!(data, b"1\ta\n2\tb\n");
            w.finish().unwrap();
        }
        // The request went out with id 1; the reply will carry id 5.
        assert_eq!(io.get_ref().output, packet(1, b"\xFB/tmp/f.txt"));
        assert_eq!(io.seq(), 5);
    }

    #[test]
    fn finish_drains_what_the_statement_did_not_read() {
        let mut client = packet(2, b"x");
        client.extend(packet(3, b"y"));
        client.extend(packet(4, b""));
        client.extend(packet(0, b"\x0eping")); // the next command stays readable
        let mut io = io_after_query(client);
        {
            let mut w = WireInfile::new(&mut io, true);
            let mut one = [0u8; 1];
            w.open("f").unwrap().read_exact(&mut one).unwrap();
            w.finish().unwrap();
        }
        assert_eq!(io.seq(), 5);
        io.reset_seq();
        assert_eq!(io.read_packet().unwrap(), b"\x0eping");
    }

    #[test]
    fn client_that_could_not_open_the_file_sends_empty_packet() {
        let mut io = io_after_query(packet(2, b""));
        let mut w = WireInfile::new(&mut io, true);
        let mut data = Vec::new();
        w.open("missing").unwrap().read_to_end(&mut data).unwrap();
        assert!(data.is_empty());
        w.finish().unwrap();
    }

    #[test]
    fn out_of_order_or_truncated_transfer_breaks_the_connection() {
        let mut io = io_after_query(packet(7, b"x"));
        let mut w = WireInfile::new(&mut io, true);
        assert!(w.open("f").unwrap().read_to_end(&mut Vec::new()).is_err());
        assert!(w.finish().is_err());
        let mut io = io_after_query(packet(2, b"abc")[..5].to_vec());
        let w = WireInfile::new(&mut io, true);
        let mut w = w;
        let _ = w.open("f").unwrap().read_to_end(&mut Vec::new());
        assert!(w.finish().is_err());
    }
}
