//! `TestServer`: a real Borealis server on an ephemeral 127.0.0.1 port, in one line, for
//! tests in this and other projects. It is stopped (and its connections closed) on drop.
//!
//! ```no_run
//! let server = borealis_server::TestServer::start_in_memory();
//! let url = server.url(); // mysql://root:<password>@127.0.0.1:<port>/
//! # let _ = url;
//! ```

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use borealis_engine::Database;

use crate::backend::Backend;
use crate::server::{Server, ServerConfig, ServerHandle};

/// Knobs for [`TestServer::start_with`].
#[derive(Clone)]
pub struct TestOptions {
    pub max_connections: usize,
    pub max_allowed_packet: usize,
    pub wait_timeout: Duration,
    /// Offer TLS with a throwaway self-signed certificate.
    pub tls: bool,
    pub require_secure_transport: bool,
}

impl Default for TestOptions {
    fn default() -> Self {
        let d = ServerConfig::default();
        TestOptions {
            max_connections: d.max_connections,
            max_allowed_packet: d.max_allowed_packet,
            wait_timeout: d.wait_timeout,
            tls: true,
            require_secure_transport: false,
        }
    }
}

pub struct TestServer {
    handle: ServerHandle,
    thread: Option<JoinHandle<()>>,
    password: String,
    database: Option<Database>,
}

fn random_password() -> String {
    use rand::Rng;
    const CHARS: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::thread_rng();
    (0..16)
        .map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char)
        .collect()
}

impl TestServer {
    /// An in-memory database behind a server; root's password is random (see `password`).
    pub fn start_in_memory() -> TestServer {
        let db = Database::open_in_memory().expect("open an in-memory database");
        Self::start_database(db, TestOptions::default())
    }

    /// A database in `dir` (created if needed) behind a server.
    pub fn start_in(dir: impl AsRef<Path>) -> TestServer {
        let db = Database::open(dir).expect("open the database directory");
        Self::start_database(db, TestOptions::default())
    }

    /// An in-memory database with non-default server settings.
    pub fn start_with(opts: TestOptions) -> TestServer {
        let db = Database::open_in_memory().expect("open an in-memory database");
        Self::start_database(db, opts)
    }

    fn start_database(db: Database, opts: TestOptions) -> TestServer {
        let password = random_password();
        db.bootstrap_root(&password).expect("bootstrap root");
        let mut s = Self::start_backend(Arc::new(db.clone()), password, opts);
        s.database = Some(db);
        s
    }

    /// Any [`Backend`] (e.g. a scripted fake) behind a real server. `password` is what
    /// `url()` reports; the backend decides what it accepts.
    pub fn start_backend(
        backend: Arc<dyn Backend>,
        password: String,
        opts: TestOptions,
    ) -> TestServer {
        let tls = if opts.tls {
            Some(crate::tls::ephemeral().expect("generate a test certificate"))
        } else {
            None
        };
        let config = ServerConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            max_connections: opts.max_connections,
            wait_timeout: opts.wait_timeout,
            max_allowed_packet: opts.max_allowed_packet,
            tls,
            require_secure_transport: opts.require_secure_transport,
            ..ServerConfig::default()
        };
        let server = Server::bind(backend, config).expect("bind 127.0.0.1:0");
        let handle = server.handle().expect("listener address");
        let thread = std::thread::Builder::new()
            .name("test-server".into())
            .spawn(move || server.run())
            .expect("spawn the server thread");
        TestServer {
            handle,
            thread: Some(thread),
            password,
            database: None,
        }
    }

    pub fn port(&self) -> u16 {
        self.handle.local_addr().port()
    }

    pub fn addr(&self) -> SocketAddr {
        self.handle.local_addr()
    }

    /// root's password.
    pub fn password(&self) -> &str {
        &self.password
    }

    /// `mysql://root:<password>@127.0.0.1:<port>/`
    pub fn url(&self) -> String {
        format!("mysql://root:{}@127.0.0.1:{}/", self.password, self.port())
    }

    /// The database behind the server (None for `start_backend`).
    pub fn database(&self) -> Option<&Database> {
        self.database.as_ref()
    }

    pub fn handle(&self) -> &ServerHandle {
        &self.handle
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.handle.shutdown();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
