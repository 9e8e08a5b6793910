//! MySQL packet framing: a 3-byte length and a 1-byte sequence id before each payload.
//!
//! Invariants: a payload of 0xFFFFFF bytes or more is split into 0xFFFFFF-byte packets and
//! ends with a shorter (possibly empty) packet; [`PacketIo::read_packet`] joins them back.
//! Sequence ids count up (wrapping) across one command's exchange and restart at 0 with
//! each command; a packet with an unexpected id is a protocol error. A payload over
//! `max_allowed_packet` is refused before it is read, so a client cannot make the server
//! buffer more than that.

use std::io::{self, Read, Write};

/// Largest payload one physical packet can carry.
pub const MAX_CHUNK: usize = 0xFF_FFFF;

/// Output is written to the socket once this much is buffered, even mid-result.
const FLUSH_THRESHOLD: usize = 64 * 1024;

/// Input is read from the socket up to this much at a time: a command's header and body
/// (and often the next pipelined command) arrive with one read instead of two.
const READ_CHUNK: usize = 16 * 1024;

/// Why reading a packet failed.
#[derive(Debug, thiserror::Error)]
pub enum PacketError {
    #[error("connection closed by the client")]
    Closed,
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
    #[error("packet of {size} bytes exceeds max_allowed_packet ({max})")]
    TooLarge { size: usize, max: usize },
    #[error("packet out of order: got sequence id {got}, expected {expected}")]
    OutOfOrder { got: u8, expected: u8 },
}

/// A framed, buffered duplex stream of MySQL packets.
pub struct PacketIo<S> {
    stream: S,
    seq: u8,
    out: Vec<u8>,
    /// Bytes read from the stream and not yet consumed: `inbuf[inpos..inend]`. The
    /// buffer keeps its length once grown, so refilling it zeroes nothing.
    inbuf: Vec<u8>,
    inpos: usize,
    inend: usize,
    max_allowed_packet: usize,
}

impl<S: Read + Write> PacketIo<S> {
    pub fn new(stream: S, max_allowed_packet: usize) -> Self {
        PacketIo {
            stream,
            seq: 0,
            out: Vec::with_capacity(16 * 1024),
            inbuf: Vec::new(),
            inpos: 0,
            inend: 0,
            max_allowed_packet,
        }
    }

    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    pub fn get_mut(&mut self) -> &mut S {
        &mut self.stream
    }

    /// Take the stream back (after flushing), e.g. to wrap it in TLS, with the bytes
    /// already read from it but not consumed (a client's TLS hello can arrive in the
    /// same read as its SSL request).
    pub fn into_inner(mut self) -> io::Result<(S, u8, Vec<u8>)> {
        self.flush()?;
        self.inbuf.truncate(self.inend);
        let rest = self.inbuf.split_off(self.inpos);
        Ok((self.stream, self.seq, rest))
    }

    /// Continue on a new stream (TLS) with the current sequence id.
    pub fn with_stream(stream: S, seq: u8, max_allowed_packet: usize) -> Self {
        let mut io = PacketIo::new(stream, max_allowed_packet);
        io.seq = seq;
        io
    }

    /// Start a new command exchange: the next packet read must have sequence id 0.
    pub fn reset_seq(&mut self) {
        self.seq = 0;
    }

    pub fn seq(&self) -> u8 {
        self.seq
    }

    pub fn set_max_allowed_packet(&mut self, max: usize) {
        self.max_allowed_packet = max;
    }

    /// Fill `dst` from the buffer, reading the stream in chunks when it runs dry.
    fn read_exact_buffered(&mut self, mut dst: &mut [u8]) -> io::Result<()> {
        while !dst.is_empty() {
            if self.inpos == self.inend {
                if dst.len() >= READ_CHUNK {
                    // Large payloads go straight into place.
                    return self.stream.read_exact(dst);
                }
                self.inbuf.resize(READ_CHUNK, 0);
                self.inpos = 0;
                self.inend = 0;
                let n = loop {
                    match self.stream.read(&mut self.inbuf) {
                        Ok(n) => break n,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(e) => return Err(e),
                    }
                };
                self.inend = n;
                if n == 0 {
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
            }
            let n = dst.len().min(self.inend - self.inpos);
            dst[..n].copy_from_slice(&self.inbuf[self.inpos..self.inpos + n]);
            self.inpos += n;
            dst = &mut dst[n..];
        }
        Ok(())
    }

    /// Read one logical packet (joining split packets).
    pub fn read_packet(&mut self) -> Result<Vec<u8>, PacketError> {
        let mut payload = Vec::new();
        let mut first = true;
        loop {
            let mut header = [0u8; 4];
            if let Err(e) = self.read_exact_buffered(&mut header) {
                return Err(if first && e.kind() == io::ErrorKind::UnexpectedEof {
                    PacketError::Closed
                } else {
                    PacketError::Io(e)
                });
            }
            first = false;
            let len = u32::from_le_bytes([header[0], header[1], header[2], 0]) as usize;
            if header[3] != self.seq {
                return Err(PacketError::OutOfOrder {
                    got: header[3],
                    expected: self.seq,
                });
            }
            self.seq = self.seq.wrapping_add(1);
            let total = payload.len() + len;
            if total > self.max_allowed_packet {
                return Err(PacketError::TooLarge {
                    size: total,
                    max: self.max_allowed_packet,
                });
            }
            let start = payload.len();
            payload.resize(total, 0);
            self.read_exact_buffered(&mut payload[start..])?;
            if len < MAX_CHUNK {
                return Ok(payload);
            }
        }
    }

    /// Queue one logical packet (splitting it if needed); sent on [`flush`](Self::flush).
    pub fn write_packet(&mut self, payload: &[u8]) -> io::Result<()> {
        let mut rest = payload;
        loop {
            let n = rest.len().min(MAX_CHUNK);
            let len = (n as u32).to_le_bytes();
            self.out
                .extend_from_slice(&[len[0], len[1], len[2], self.seq]);
            self.seq = self.seq.wrapping_add(1);
            self.out.extend_from_slice(&rest[..n]);
            rest = &rest[n..];
            if n < MAX_CHUNK {
                break;
            }
        }
        if self.out.len() >= FLUSH_THRESHOLD {
            self.flush()?;
        }
        Ok(())
    }

    /// Queue one packet whose payload `fill` appends to the output buffer in place (a
    /// result row, say, without a buffer of its own); sent on [`flush`](Self::flush).
    pub fn write_packet_with(&mut self, fill: impl FnOnce(&mut Vec<u8>)) -> io::Result<()> {
        let start = self.out.len();
        self.out.extend_from_slice(&[0; 4]);
        fill(&mut self.out);
        let n = self.out.len() - start - 4;
        if n >= MAX_CHUNK {
            // Too long for one packet: frame it the splitting way (rare, so it may copy).
            let payload = self.out.split_off(start + 4);
            self.out.truncate(start);
            return self.write_packet(&payload);
        }
        let len = (n as u32).to_le_bytes();
        self.out[start..start + 4].copy_from_slice(&[len[0], len[1], len[2], self.seq]);
        self.seq = self.seq.wrapping_add(1);
        if self.out.len() >= FLUSH_THRESHOLD {
            self.flush()?;
        }
        Ok(())
    }

    /// Send everything queued.
    pub fn flush(&mut self) -> io::Result<()> {
        if !self.out.is_empty() {
            self.stream.write_all(&self.out)?;
            self.out.clear();
        }
        self.stream.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// An in-memory duplex: reads come from `input`, writes go to `output`.
    struct Duplex {
        input: Cursor<Vec<u8>>,
        output: Vec<u8>,
    }
    impl Read for Duplex {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.input.read(buf)
        }
    }
    impl Write for Duplex {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.output.write(buf)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn io_with(input: Vec<u8>, max: usize) -> PacketIo<Duplex> {
        PacketIo::new(
            Duplex {
                input: Cursor::new(input),
                output: Vec::new(),
            },
            max,
        )
    }

    #[test]
    fn buffered_reads_keep_packet_boundaries_and_hand_back_the_rest() {
        let mut w = io_with(vec![], 1 << 20);
        w.write_packet(b"one").unwrap();
        w.write_packet(&vec![7u8; 3 * READ_CHUNK]).unwrap();
        w.write_packet(b"three").unwrap();
        w.flush().unwrap();
        let mut bytes = w.get_ref().output.clone();
        bytes.extend_from_slice(b"TLS hello");
        let mut r = io_with(bytes, 1 << 20);
        assert_eq!(r.read_packet().unwrap(), b"one");
        assert_eq!(r.read_packet().unwrap(), vec![7u8; 3 * READ_CHUNK]);
        assert_eq!(r.read_packet().unwrap(), b"three");
        let (_, seq, rest) = r.into_inner().unwrap();
        assert_eq!(seq, 3);
        assert_eq!(rest, b"TLS hello");
    }

    #[test]
    fn small_packet_round_trip() {
        let mut w = io_with(vec![], 1 << 20);
        w.write_packet(b"hello").unwrap();
        w.write_packet(b"").unwrap();
        w.flush().unwrap();
        let bytes = w.get_ref().output.clone();
        assert_eq!(&bytes[..9], &[5, 0, 0, 0, b'h', b'e', b'l', b'l', b'o']);
        assert_eq!(&bytes[9..], &[0, 0, 0, 1]);
        let mut r = io_with(bytes, 1 << 20);
        assert_eq!(r.read_packet().unwrap(), b"hello");
        assert_eq!(r.read_packet().unwrap(), b"");
        assert!(matches!(r.read_packet(), Err(PacketError::Closed)));
    }

    #[test]
    fn large_packets_split_and_join() {
        for size in [MAX_CHUNK - 1, MAX_CHUNK, MAX_CHUNK + 10, 2 * MAX_CHUNK] {
            let payload: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
            let mut w = io_with(vec![], 64 << 20);
            w.write_packet(&payload).unwrap();
            w.flush().unwrap();
            let bytes = w.get_ref().output.clone();
            let chunks = size / MAX_CHUNK + 1;
            assert_eq!(bytes.len(), size + 4 * chunks, "size {size}");
            let mut r = io_with(bytes, 64 << 20);
            let back = r.read_packet().unwrap();
            assert_eq!(back.len(), size);
            assert!(back == payload);
            assert_eq!(r.seq(), chunks as u8);
        }
    }

    #[test]
    fn packets_filled_in_place_frame_like_copied_ones() {
        let sizes = [
            0,
            5,
            MAX_CHUNK - 1,
            MAX_CHUNK,
            MAX_CHUNK + 10,
            2 * MAX_CHUNK,
        ];
        for size in sizes {
            let payload: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
            let mut copied = io_with(vec![], 64 << 20);
            let mut filled = io_with(vec![], 64 << 20);
            for w in [&mut copied, &mut filled] {
                w.write_packet(b"before").unwrap();
            }
            copied.write_packet(&payload).unwrap();
            filled
                .write_packet_with(|b| b.extend_from_slice(&payload))
                .unwrap();
            for w in [&mut copied, &mut filled] {
                w.write_packet(b"after").unwrap();
                w.flush().unwrap();
            }
            assert!(
                copied.get_ref().output == filled.get_ref().output,
                "size {size}"
            );
            assert_eq!(copied.seq(), filled.seq());
            let mut r = io_with(filled.get_ref().output.clone(), 64 << 20);
            assert_eq!(r.read_packet().unwrap(), b"before");
            assert!(r.read_packet().unwrap() == payload);
            assert_eq!(r.read_packet().unwrap(), b"after");
        }
    }

    #[test]
    fn a_reused_read_buffer_never_hands_back_stale_bytes() {
        // Many short packets, each read refilling the buffer over a longer old fill.
        let mut w = io_with(vec![], 1 << 20);
        w.write_packet(&vec![9u8; READ_CHUNK - 100]).unwrap();
        for i in 0..50u8 {
            w.write_packet(&[i; 3]).unwrap();
        }
        w.flush().unwrap();
        let input = w.get_ref().output.clone();
        // A stream that returns at most 7 bytes per read, so every refill is short.
        struct Trickle(Cursor<Vec<u8>>);
        impl Read for Trickle {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = buf.len().min(7);
                self.0.read(&mut buf[..n])
            }
        }
        impl Write for Trickle {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                Ok(buf.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut whole = io_with(input.clone(), 1 << 20);
        let mut r = PacketIo::new(Trickle(Cursor::new(input)), 1 << 20);
        for p in [
            &mut whole.read_packet().unwrap(),
            &mut r.read_packet().unwrap(),
        ] {
            assert_eq!(p, &vec![9u8; READ_CHUNK - 100]);
        }
        for i in 0..50u8 {
            assert_eq!(whole.read_packet().unwrap(), [i; 3]);
            assert_eq!(r.read_packet().unwrap(), [i; 3]);
        }
        assert!(matches!(r.read_packet(), Err(PacketError::Closed)));
        let (_, _, rest) = whole.into_inner().unwrap();
        assert!(rest.is_empty());
    }

    #[test]
    fn too_large_is_refused_before_reading() {
        let mut input = vec![0x10, 0x00, 0x00, 0x00];
        input.extend_from_slice(&[1u8; 16]);
        let mut r = io_with(input, 8);
        assert!(matches!(
            r.read_packet(),
            Err(PacketError::TooLarge { size: 16, max: 8 })
        ));
    }

    #[test]
    fn truncated_and_out_of_order() {
        let mut r = io_with(vec![10, 0, 0, 0, 1, 2], 1 << 20);
        assert!(matches!(r.read_packet(), Err(PacketError::Io(_))));
        // A header cut short reads as the client going away.
        let mut r = io_with(vec![1, 0], 1 << 20);
        assert!(matches!(r.read_packet(), Err(PacketError::Closed)));
        let mut r = io_with(vec![1, 0, 0, 5, 1], 1 << 20);
        assert!(matches!(
            r.read_packet(),
            Err(PacketError::OutOfOrder {
                got: 5,
                expected: 0
            })
        ));
    }
}
