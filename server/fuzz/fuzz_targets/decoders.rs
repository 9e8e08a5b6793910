//! Feeds arbitrary bytes to every decoder that sees network input before authentication
//! or in the command phase: packet framing, HandshakeResponse41, SSLRequest detection,
//! COM_CHANGE_USER and COM_STMT_EXECUTE parameters (with and without remembered types).
//! Any panic is a bug: the server must turn all of these into errors.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    borealis_server::protocol::untrusted::exercise_decoders(data);
});
