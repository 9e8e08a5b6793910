//! The MySQL client/server protocol, server side.
//!
//! Built on `mysql_common` (packet types, capability/status constants, length-encoded
//! integers, auth scrambles) with our own connection state machine; see ARCHITECTURE.md
//! for why not msql-srv. `packet` frames bytes, `messages` encodes and decodes packets,
//! `binary` handles the prepared-statement protocol, `auth` checks passwords, `conn`
//! runs one connection from greeting to quit, `local_infile` carries LOAD DATA LOCAL's
//! file from the client; `untrusted` runs every decoder of network
//! input on one buffer (fuzzing).

pub mod auth;
pub mod binary;
pub(crate) mod conn;
pub(crate) mod local_infile;
pub mod messages;
pub mod packet;
pub mod sqltext;
pub mod untrusted;
