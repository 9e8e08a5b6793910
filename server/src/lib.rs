//! Borealis server: puts the engine on the network with the MySQL client/server protocol.
//!
//! - [`protocol`]: the wire protocol (framing, packets, auth, the connection state machine).
//! - [`server`]: the listener, thread per connection, max_connections, KILL, shutdown.
//! - [`backend`]: the narrow seam between protocol and engine.
//! - [`cluster`]: in-process read replicas and the reader endpoint.
//! - [`tls`]: rustls configuration (given PEM files or a generated self-signed pair).
//! - [`testing`]: [`TestServer`], a server on an ephemeral port for tests.

pub mod backend;
pub mod cluster;
pub mod protocol;
pub mod server;
pub(crate) mod stream;
pub mod testing;
pub mod tls;

pub use backend::{Backend, BackendSession, PreparedInfo};
pub use server::{Server, ServerConfig, ServerHandle};
pub use testing::{TestOptions, TestServer};
