//! The listener: accepts TCP clients, enforces max_connections, runs one thread per
//! connection, and keeps the registry of live connections that KILL, COM_STATISTICS and
//! shutdown use.
//!
//! Invariants: connection ids are unique for the server's lifetime (never reused); a
//! connection is in the registry from accept until its thread ends (a drop guard removes
//! it, also on panic), so the registry count is the number of live connections.

use std::collections::HashMap;
use std::io::Write;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use borealis_engine::error::code;
use borealis_engine::Error;
use parking_lot::Mutex;
use tracing::{debug, info, warn};

use crate::backend::Backend;
use crate::protocol::conn::{kill_denied, Conn};
use crate::protocol::messages as msg;
use crate::stream::Stream;

/// Server settings (mysqld's names where one exists).
#[derive(Clone)]
pub struct ServerConfig {
    pub bind: SocketAddr,
    /// Live client connections allowed; one more gets error 1040.
    pub max_connections: usize,
    /// Idle time after which a connection is closed (error 4031).
    pub wait_timeout: Duration,
    /// Largest packet accepted from a client; a larger one gets error 1153 and a close.
    pub max_allowed_packet: usize,
    /// TLS offered to clients (CLIENT_SSL) when set.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Refuse clients that did not switch to TLS.
    pub require_secure_transport: bool,
    /// Version string in the greeting.
    pub version: String,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 3306)),
            max_connections: 151,
            wait_timeout: Duration::from_secs(28800),
            max_allowed_packet: 64 << 20,
            tls: None,
            require_secure_transport: false,
            version: borealis_engine::SERVER_VERSION.to_string(),
        }
    }
}

struct ConnEntry {
    socket: TcpStream,
    user: String,
    killed: bool,
}

/// State shared by the listener and every connection thread.
pub(crate) struct Shared {
    pub(crate) backend: Arc<dyn Backend>,
    pub(crate) config: ServerConfig,
    next_id: AtomicU32,
    conns: Mutex<HashMap<u32, ConnEntry>>,
    questions: AtomicU64,
    started: Instant,
    shutting_down: AtomicBool,
    sha2_cache: Sha2Cache,
}

/// caching_sha2_password's server-side cache, as MySQL keeps it: the accounts that
/// proved their password by full authentication since the server started, with the
/// double hash they proved it against (a password change therefore misses the cache).
/// Only a cached account may log in over TLS by the fast path alone.
#[derive(Default)]
pub(crate) struct Sha2Cache {
    entries: Mutex<HashMap<(String, String), [u8; 32]>>,
    fast: AtomicU64,
    full: AtomicU64,
}

impl Sha2Cache {
    pub(crate) fn contains(&self, user: &str, host: &str, hash: &[u8; 32]) -> bool {
        self.entries
            .lock()
            .get(&(user.to_string(), host.to_string()))
            .is_some_and(|h| h == hash)
    }

    pub(crate) fn remember(&self, user: &str, host: &str, hash: [u8; 32]) {
        self.entries
            .lock()
            .insert((user.to_string(), host.to_string()), hash);
    }

    pub(crate) fn count_fast(&self) {
        self.fast.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_full(&self) {
        self.full.fetch_add(1, Ordering::Relaxed);
    }
}

impl Shared {
    pub(crate) fn sha2_cache(&self) -> &Sha2Cache {
        &self.sha2_cache
    }

    pub(crate) fn count_question(&self) {
        self.questions.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn set_user(&self, id: u32, user: &str) {
        if let Some(e) = self.conns.lock().get_mut(&id) {
            e.user = user.to_string();
        }
    }

    pub(crate) fn is_killed(&self, id: u32) -> bool {
        self.conns.lock().get(&id).is_none_or(|e| e.killed)
    }

    /// KILL [QUERY] `target` on behalf of `user`. Root may kill any connection, other
    /// users only their own.
    pub(crate) fn kill(&self, user: &str, target: u32, query_only: bool) -> Result<(), Error> {
        let mut conns = self.conns.lock();
        let Some(entry) = conns.get_mut(&target) else {
            return Err(Error::new(
                code::ER_NO_SUCH_THREAD,
                format!("Unknown thread id: {target}"),
            ));
        };
        if entry.user != user && user != "root" {
            return Err(kill_denied(target));
        }
        self.backend.kill(target, query_only);
        if !query_only {
            entry.killed = true;
            // Wakes the connection's thread if it is blocked reading the socket.
            let _ = entry.socket.shutdown(Shutdown::Both);
        }
        Ok(())
    }

    /// COM_STATISTICS text, in mysqld's format.
    pub(crate) fn statistics(&self) -> String {
        let uptime = self.started.elapsed().as_secs().max(1);
        let questions = self.questions.load(Ordering::Relaxed);
        format!(
            "Uptime: {}  Threads: {}  Questions: {}  Slow queries: 0  Opens: 0  Flush tables: 0  Open tables: 0  Queries per second avg: {:.3}",
            uptime,
            self.conns.lock().len(),
            questions,
            questions as f64 / uptime as f64
        )
    }
}

/// Removes a connection from the registry when its thread ends (also on panic).
struct Registration {
    shared: Arc<Shared>,
    id: u32,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.shared.conns.lock().remove(&self.id);
    }
}

/// A bound server; [`Server::run`] serves until [`ServerHandle::shutdown`].
pub struct Server {
    listener: TcpListener,
    shared: Arc<Shared>,
}

/// Stops a running server from another thread.
#[derive(Clone)]
pub struct ServerHandle {
    shared: Arc<Shared>,
    addr: SocketAddr,
}

impl ServerHandle {
    /// Stop accepting, close every client connection, and make `run` return.
    pub fn shutdown(&self) {
        if self.shared.shutting_down.swap(true, Ordering::SeqCst) {
            return;
        }
        // Wake the blocking accept.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        for e in self.shared.conns.lock().values_mut() {
            e.killed = true;
            let _ = e.socket.shutdown(Shutdown::Both);
        }
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Live client connections.
    pub fn connections(&self) -> usize {
        self.shared.conns.lock().len()
    }

    /// caching_sha2_password logins so far: (by the fast path, after a full
    /// authentication request).
    pub fn caching_sha2_logins(&self) -> (u64, u64) {
        let c = &self.shared.sha2_cache;
        (
            c.fast.load(Ordering::Relaxed),
            c.full.load(Ordering::Relaxed),
        )
    }
}

impl Server {
    /// Bind the listening socket (port 0 picks a free port).
    pub fn bind(backend: Arc<dyn Backend>, config: ServerConfig) -> std::io::Result<Server> {
        let listener = TcpListener::bind(config.bind)?;
        Ok(Server {
            listener,
            shared: Arc::new(Shared {
                backend,
                config,
                next_id: AtomicU32::new(1),
                conns: Mutex::new(HashMap::new()),
                questions: AtomicU64::new(0),
                started: Instant::now(),
                shutting_down: AtomicBool::new(false),
                sha2_cache: Sha2Cache::default(),
            }),
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub fn handle(&self) -> std::io::Result<ServerHandle> {
        let mut addr = self.local_addr()?;
        if addr.ip().is_unspecified() {
            addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        Ok(ServerHandle {
            shared: self.shared.clone(),
            addr,
        })
    }

    /// Accept and serve clients until shutdown; then wait (up to 5 s) for connections
    /// to finish.
    pub fn run(self) {
        for incoming in self.listener.incoming() {
            if self.shared.shutting_down.load(Ordering::SeqCst) {
                break;
            }
            match incoming {
                Ok(sock) => self.accept(sock),
                Err(e) => {
                    warn!("accept failed: {e}");
                    // Out of file descriptors and the like: back off instead of spinning.
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while !self.shared.conns.lock().is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        info!("server stopped");
    }

    fn accept(&self, sock: TcpStream) {
        let _ = sock.set_nodelay(true);
        let peer = sock.peer_addr().ok();
        let host = match peer {
            Some(a) if a.ip().is_loopback() => "localhost".to_string(),
            Some(a) => a.ip().to_string(),
            None => "unknown".to_string(),
        };
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        {
            let mut conns = self.shared.conns.lock();
            if conns.len() >= self.shared.config.max_connections {
                drop(conns);
                refuse(sock, code::ER_CON_COUNT, "08004", "Too many connections");
                return;
            }
            let Ok(clone) = sock.try_clone() else {
                return;
            };
            conns.insert(
                id,
                ConnEntry {
                    socket: clone,
                    user: String::new(),
                    killed: false,
                },
            );
        }
        let reg = Registration {
            shared: self.shared.clone(),
            id,
        };
        let shared = self.shared.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("conn-{id}"))
            .stack_size(4 << 20)
            .spawn(move || {
                let _reg = reg;
                debug!(conn = id, %host, "accepted");
                Conn::new(shared, Stream::Plain(sock), id, host).run();
            });
        if let Err(e) = spawned {
            // The closure (and with it the registration and socket) is dropped.
            warn!("cannot start a connection thread: {e}");
        }
    }
}

/// Answer a client we will not serve with one ERR packet (sequence id 0) and close.
fn refuse(mut sock: TcpStream, code: u16, state: &str, message: &str) {
    let p = msg::err_packet(code, state, message);
    let mut frame = Vec::with_capacity(p.len() + 4);
    let len = (p.len() as u32).to_le_bytes();
    frame.extend_from_slice(&[len[0], len[1], len[2], 0]);
    frame.extend_from_slice(&p);
    let _ = sock.set_write_timeout(Some(Duration::from_secs(1)));
    let _ = sock.write_all(&frame);
    let _ = sock.shutdown(Shutdown::Both);
}
