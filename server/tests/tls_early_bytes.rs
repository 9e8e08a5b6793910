//! A client may send its TLS ClientHello in the same TCP write as the SSLRequest packet
//! (nothing in the protocol makes it wait). The server reads input in chunks, so those
//! TLS bytes can land in its packet buffer; they must be handed to TLS, not lost. This
//! test sends both in one write, finishes the TLS handshake, and logs in over TLS.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;

use borealis_server::TestServer;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

/// The test server's certificate is self-signed: accept it (this test is about framing).
#[derive(Debug)]
struct AcceptAny;

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }
    fn verify_tls13_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        rustls::crypto::ring::default_provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

fn read_packet(s: &mut impl Read) -> (u8, Vec<u8>) {
    let mut h = [0u8; 4];
    s.read_exact(&mut h).unwrap();
    let len = u32::from_le_bytes([h[0], h[1], h[2], 0]) as usize;
    let mut p = vec![0u8; len];
    s.read_exact(&mut p).unwrap();
    (h[3], p)
}

fn packet(seq: u8, payload: &[u8]) -> Vec<u8> {
    let len = (payload.len() as u32).to_le_bytes();
    let mut v = vec![len[0], len[1], len[2], seq];
    v.extend_from_slice(payload);
    v
}

const CLIENT_PROTOCOL_41: u32 = 0x200;
const CLIENT_SSL: u32 = 0x800;
const CLIENT_SECURE_CONNECTION: u32 = 0x8000;
const CLIENT_PLUGIN_AUTH: u32 = 0x80000;

#[test]
fn tls_hello_in_the_same_write_as_the_ssl_request() {
    let server = TestServer::start_in_memory();
    let mut tcp = TcpStream::connect(("127.0.0.1", server.port())).unwrap();
    tcp.set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    let (_, greeting) = read_packet(&mut tcp);
    // Greeting: version, server version\0, connection id, scramble part 1 (8), filler,
    // caps, charset, status, caps, scramble length, 10 reserved, scramble part 2.
    let mut i = 1 + greeting[1..].iter().position(|&b| b == 0).unwrap() + 1 + 4;
    let mut nonce = greeting[i..i + 8].to_vec();
    i += 8 + 1 + 2 + 1 + 2 + 2 + 1 + 10;
    nonce.extend_from_slice(&greeting[i..i + 12]);

    let caps = CLIENT_PROTOCOL_41 | CLIENT_SSL | CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH;
    let mut ssl_request = caps.to_le_bytes().to_vec();
    ssl_request.extend_from_slice(&(1u32 << 24).to_le_bytes());
    ssl_request.push(45); // utf8mb4_general_ci
    ssl_request.extend_from_slice(&[0u8; 23]);

    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .dangerous()
    .with_custom_certificate_verifier(Arc::new(AcceptAny))
    .with_no_client_auth();
    let mut tls =
        rustls::ClientConnection::new(Arc::new(config), ServerName::try_from("localhost").unwrap())
            .unwrap();
    let mut first_write = packet(1, &ssl_request);
    tls.write_tls(&mut first_write).unwrap();
    tcp.write_all(&first_write).unwrap();

    let mut stream = rustls::StreamOwned::new(tls, tcp);
    // Login over TLS: HandshakeResponse41 with mysql_native_password.
    let auth = mysql_common::auth::plugins::mysql_native_password::scramble_native(
        &nonce,
        server.password().as_bytes(),
    )
    .unwrap();
    let mut resp = caps.to_le_bytes().to_vec();
    resp.extend_from_slice(&(1u32 << 24).to_le_bytes());
    resp.push(45);
    resp.extend_from_slice(&[0u8; 23]);
    resp.extend_from_slice(b"root\0");
    resp.push(auth.len() as u8);
    resp.extend_from_slice(&auth);
    resp.extend_from_slice(b"mysql_native_password\0");
    stream.write_all(&packet(2, &resp)).unwrap();
    stream.flush().unwrap();
    let (_, reply) = read_packet(&mut stream);
    assert_eq!(reply[0], 0x00, "login over TLS: {reply:?}");

    // And a query on the encrypted session.
    stream.write_all(&packet(0, b"\x03SELECT 6*7")).unwrap();
    stream.flush().unwrap();
    let (_, cols) = read_packet(&mut stream);
    assert_eq!(cols, [1]);
    let mut saw_42 = false;
    for _ in 0..4 {
        let (_, p) = read_packet(&mut stream);
        if p == [2, b'4', b'2'] {
            saw_42 = true;
            break;
        }
    }
    assert!(saw_42, "the result row carries 42");
}
