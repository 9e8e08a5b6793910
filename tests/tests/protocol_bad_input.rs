//! Hostile and broken clients: garbage bytes, truncated packets, oversized packets,
//! out-of-order sequence ids, a flood of connections. Each ends (at most) its own
//! connection; the server keeps serving the next client.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use borealis_server::protocol::auth;
use borealis_server::{TestOptions, TestServer};
use borealis_tests::fake::FakeBackend;
use borealis_tests::raw::{self, RawClient};

const PW: &str = "pw";

fn start(opts: TestOptions) -> TestServer {
    let fake: Arc<FakeBackend> = FakeBackend::new(PW, auth::NATIVE);
    TestServer::start_backend(fake, PW.into(), opts)
}

fn assert_serves(server: &TestServer) {
    let mut c = RawClient::login(server.port(), "root", PW, raw::default_caps())
        .expect("the server still accepts clients");
    c.query_ok_status("UPDATE").expect("and answers them");
}

/// Read until the server closes; returns everything it sent.
fn drain(mut s: TcpStream) -> Vec<u8> {
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut all = Vec::new();
    let _ = s.read_to_end(&mut all);
    all
}

#[test]
fn garbage_instead_of_a_handshake_response() {
    let server = start(TestOptions::default());
    // A deterministic pseudo-random byte soup (xorshift, seed printed for reruns).
    let seed: u64 = 0x9E37_79B9_7F4A_7C15;
    eprintln!("garbage seed {seed:#x}");
    let mut x = seed;
    for round in 0..20 {
        let mut s = TcpStream::connect(("127.0.0.1", server.port())).unwrap();
        let len = 1 + round * 37;
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        let _ = s.write_all(&bytes);
        let _ = s.shutdown(std::net::Shutdown::Write);
        drain(s);
    }
    assert_serves(&server);
}

#[test]
fn malformed_handshake_gets_bad_handshake() {
    let server = start(TestOptions::default());
    let mut c = RawClient::tcp(server.port()).unwrap();
    c.read_packet().unwrap();
    // Claims PROTOCOL_41 but ends in the middle of the fixed header.
    c.write_packet(&[0x00, 0x02, 0x00, 0x00, 0x01]).unwrap();
    let p = c.read_packet().unwrap();
    assert_eq!(raw::err_code(&p), Some(1043));
    assert_serves(&server);
}

#[test]
fn truncated_packet_then_hang_up() {
    let server = start(TestOptions::default());
    let mut c = RawClient::login(server.port(), "root", PW, raw::default_caps()).unwrap();
    // Header announces 100 bytes; only 5 arrive before the client goes away.
    c.stream
        .write_all(&[100, 0, 0, 0, 3, b'S', b'E', b'L', b'E'])
        .unwrap();
    c.stream.shutdown(std::net::Shutdown::Write).unwrap();
    drain(c.stream);
    assert_serves(&server);
}

#[test]
fn oversized_packet_gets_1153_and_close() {
    let server = start(TestOptions {
        max_allowed_packet: 1 << 20,
        ..TestOptions::default()
    });
    let mut c = RawClient::login(server.port(), "root", PW, raw::default_caps()).unwrap();
    let mut big = vec![0x03u8];
    big.extend(std::iter::repeat_n(b'x', 2 << 20));
    c.seq = 0;
    // Only the header matters: the server refuses before reading the body.
    let _ = c.write_packet(&big);
    let p = c.read_packet().unwrap();
    assert_eq!(raw::err_code(&p), Some(1153));
    assert!(
        c.read_packet().is_err(),
        "the connection is closed after 1153"
    );
    assert_serves(&server);

    // A packet at the limit is still fine.
    let mut ok = RawClient::login(server.port(), "root", PW, raw::default_caps()).unwrap();
    let sql = format!("ECHO {}", "y".repeat((1 << 20) - 6));
    let p = ok.command(0x03, sql.as_bytes()).unwrap();
    assert_eq!(p, vec![1], "a result set with one column");
}

#[test]
fn packets_over_16mib_are_joined() {
    let server = start(TestOptions::default());
    let mut c = RawClient::login(server.port(), "root", PW, raw::default_caps()).unwrap();
    let text = "z".repeat(0xFF_FFFF + 100);
    let payload = format!("\u{3}ECHO {text}");
    // Split by hand: 0xFFFFFF bytes, then the rest.
    let bytes = payload.as_bytes();
    let (a, b) = bytes.split_at(0xFF_FFFF);
    let mut frame = vec![0xFF, 0xFF, 0xFF, 0];
    frame.extend_from_slice(a);
    let len = (b.len() as u32).to_le_bytes();
    frame.extend_from_slice(&[len[0], len[1], len[2], 1]);
    frame.extend_from_slice(b);
    c.stream.write_all(&frame).unwrap();
    c.seq = 2;
    let count = c.read_packet().unwrap();
    assert_eq!(count, vec![1]);
    let _coldef = c.read_packet().unwrap();
    let _eof = c.read_packet().unwrap();
    // The row is over 16 MiB too: it arrives split, and joins back to the text.
    let mut row = Vec::new();
    loop {
        let mut h = [0u8; 4];
        c.stream.read_exact(&mut h).unwrap();
        let len = u32::from_le_bytes([h[0], h[1], h[2], 0]) as usize;
        let start = row.len();
        row.resize(start + len, 0);
        c.stream.read_exact(&mut row[start..]).unwrap();
        if len < 0xFF_FFFF {
            break;
        }
    }
    assert_eq!(row[0], 0xFE, "8-byte length prefix");
    assert_eq!(&row[9..], text.as_bytes());
}

#[test]
fn out_of_order_sequence_id_closes_only_that_connection() {
    let server = start(TestOptions::default());
    let mut c = RawClient::login(server.port(), "root", PW, raw::default_caps()).unwrap();
    c.seq = 5;
    c.write_packet(&[0x0E]).unwrap();
    let p = c.read_packet().unwrap();
    assert_eq!(raw::err_code(&p), Some(1156));
    assert_serves(&server);
}

#[test]
fn five_hundred_connections_at_once() {
    let server = start(TestOptions {
        max_connections: 151,
        ..TestOptions::default()
    });
    let started = Instant::now();
    let mut socks = Vec::new();
    for _ in 0..500 {
        socks.push(TcpStream::connect(("127.0.0.1", server.port())).unwrap());
    }
    // Each gets either a greeting (protocol 10) or error 1040, never silence.
    let (mut greeted, mut refused) = (0, 0);
    for s in &mut socks {
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut h = [0u8; 5];
        s.read_exact(&mut h).unwrap();
        match h[4] {
            10 => greeted += 1,
            0xFF => {
                let mut code = [0u8; 2];
                s.read_exact(&mut code).unwrap();
                assert_eq!(u16::from_le_bytes(code), 1040);
                refused += 1;
            }
            other => panic!("unexpected first byte {other}"),
        }
    }
    eprintln!(
        "500 connections: {greeted} greeted, {refused} refused in {:?}",
        started.elapsed()
    );
    assert_eq!(greeted + refused, 500);
    assert!((1..=151).contains(&greeted));
    drop(socks);
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.handle().connections() > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_serves(&server);
}
