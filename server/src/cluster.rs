//! A cluster in one process: the writer plus up to [`MAX_REPLICAS`] read replicas on one
//! shared volume, and the reader endpoint that spreads client connections over them.
//!
//! Each replica is an engine `Database::open_replica` on a read-only handle of the
//! writer's volume, served by its own [`Server`] on an internal ephemeral port (same TLS
//! and limits as the writer). The reader endpoint is a TCP relay: it accepts a client,
//! picks the healthy replica with the fewest relayed connections, and copies bytes both
//! ways, so the MySQL protocol (handshake, auth, TLS) passes through untouched. A replica
//! that refuses the connection is skipped; with none left the client is relayed to the
//! writer. Replicas can be added or removed while it runs ([`ReaderEndpoint::add`],
//! [`ReaderEndpoint::remove`]).
//!
//! Lag-aware routing: a monitor thread marks a replica unhealthy (skipped by new
//! connections) while its lag exceeds a threshold; for replicas in other processes
//! ([`monitor_registry`]) the set itself comes from their registration with the storage
//! nodes, and one whose heartbeat is older than [`STALE`] (killed, hung) is dropped.
//!
//! Registration ([`publish`]): an instance on TCP storage nodes describes itself (role,
//! client address, read point, lag) to the nodes every heartbeat; every instance lists
//! the live ones for `information_schema.replica_host_status` ([`registry_view`]).
//!
//! Invariant: a replica's `active` count is incremented before its relay starts and
//! decremented exactly once when both directions have ended; a removed replica keeps its
//! count while relays to it remain, so re-adding it (a registration that flapped) does
//! not make it look idle to least-connections routing.

use std::io::Read;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use borealis_engine::{ClusterView, Database, DatabaseOptions, InstanceInfo, InstanceRole};
use borealis_storage::net::Registrar;
use borealis_storage::LocalVolume;
use parking_lot::Mutex;
use tracing::{debug, info, warn};

use crate::server::{Server, ServerConfig, ServerHandle};

/// The most replicas one writer may have (Aurora's limit).
pub const MAX_REPLICAS: usize = 15;

/// Refuse a replica count above [`MAX_REPLICAS`] with a message that says so.
pub fn check_replica_count(n: usize) -> Result<(), String> {
    if n > MAX_REPLICAS {
        return Err(format!(
            "--replicas {n}: a cluster has at most {MAX_REPLICAS} read replicas"
        ));
    }
    Ok(())
}

/// One replica instance served on an internal port.
pub struct ReplicaNode {
    pub db: Database,
    pub handle: ServerHandle,
    thread: Option<JoinHandle<()>>,
}

impl ReplicaNode {
    /// Open a replica on `volume` and serve it on an ephemeral port of `config.bind`'s
    /// address.
    pub fn start(
        volume: &Arc<LocalVolume>,
        opts: DatabaseOptions,
        config: &ServerConfig,
    ) -> Result<ReplicaNode, String> {
        let db = Database::open_replica(volume.follower(), opts)
            .map_err(|e| format!("opening a replica: {e}"))?;
        let mut config = config.clone();
        config.bind = SocketAddr::new(config.bind.ip(), 0);
        let server = Server::bind(Arc::new(db.clone()), config)
            .map_err(|e| format!("listening for a replica: {e}"))?;
        let handle = server.handle().map_err(|e| e.to_string())?;
        let thread = std::thread::Builder::new()
            .name("replica-server".into())
            .spawn(move || server.run())
            .map_err(|e| e.to_string())?;
        Ok(ReplicaNode {
            db,
            handle,
            thread: Some(thread),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.handle.local_addr()
    }

    /// Stop serving (clients are disconnected) and wait for the server thread.
    pub fn stop(mut self) {
        self.handle.shutdown();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A replica whose registration is older than this is considered gone.
pub const STALE: Duration = Duration::from_millis(500);
/// How often routing health is re-evaluated.
const MONITOR_EVERY: Duration = Duration::from_millis(100);

struct Target {
    addr: SocketAddr,
    active: Arc<AtomicUsize>,
    /// False while the replica lags beyond the threshold: new connections skip it.
    healthy: bool,
    /// False once removed: kept only until its relayed connections end.
    listed: bool,
}

impl Target {
    fn new(addr: SocketAddr) -> Target {
        Target {
            addr,
            active: Arc::new(AtomicUsize::new(0)),
            healthy: true,
            listed: true,
        }
    }
}

/// The reader endpoint: one address for all replicas (least connections).
pub struct ReaderEndpoint {
    listener: TcpListener,
    targets: Arc<Mutex<Vec<Target>>>,
    fallback: SocketAddr,
    stopping: Arc<AtomicBool>,
}

/// Stops a running [`ReaderEndpoint`] and changes its replica set.
#[derive(Clone)]
pub struct ReaderHandle {
    addr: SocketAddr,
    targets: Arc<Mutex<Vec<Target>>>,
    stopping: Arc<AtomicBool>,
}

impl ReaderHandle {
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Start sending new connections to `addr` too.
    pub fn add(&self, addr: SocketAddr) {
        let mut t = self.targets.lock();
        match t.iter_mut().find(|t| t.addr == addr) {
            Some(t) if !t.listed => {
                t.listed = true;
                t.healthy = true;
            }
            Some(_) => {}
            None => t.push(Target::new(addr)),
        }
    }

    /// Route new connections to `addr` (true) or skip it (false: lagging).
    pub fn set_healthy(&self, addr: SocketAddr, healthy: bool) {
        for t in self
            .targets
            .lock()
            .iter_mut()
            .filter(|t| t.addr == addr && t.listed)
        {
            if t.healthy != healthy {
                info!(%addr, healthy, "reader endpoint: replica health changed");
            }
            t.healthy = healthy;
        }
    }

    /// Replica addresses new connections may go to now.
    pub fn healthy(&self) -> Vec<SocketAddr> {
        self.targets
            .lock()
            .iter()
            .filter(|t| t.listed && t.healthy)
            .map(|t| t.addr)
            .collect()
    }

    /// Send no more new connections to `addr` (existing ones go on).
    pub fn remove(&self, addr: SocketAddr) {
        let mut t = self.targets.lock();
        for t in t.iter_mut().filter(|t| t.addr == addr) {
            t.listed = false;
        }
        t.retain(|t| t.listed || t.active.load(Ordering::SeqCst) > 0);
    }

    /// Relayed connections per replica address, now.
    pub fn connections(&self) -> Vec<(SocketAddr, usize)> {
        self.targets
            .lock()
            .iter()
            .filter(|t| t.listed)
            .map(|t| (t.addr, t.active.load(Ordering::SeqCst)))
            .collect()
    }

    pub fn shutdown(&self) {
        if !self.stopping.swap(true, Ordering::SeqCst) {
            // Wake the accept loop.
            let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        }
    }
}

impl ReaderEndpoint {
    /// Listen on `bind`; relay to `replicas`, or to `writer` when none can be reached.
    pub fn bind(
        bind: SocketAddr,
        replicas: &[SocketAddr],
        writer: SocketAddr,
    ) -> std::io::Result<ReaderEndpoint> {
        let listener = TcpListener::bind(bind)?;
        let targets = replicas.iter().map(|&addr| Target::new(addr)).collect();
        Ok(ReaderEndpoint {
            listener,
            targets: Arc::new(Mutex::new(targets)),
            fallback: writer,
            stopping: Arc::new(AtomicBool::new(false)),
        })
    }

    pub fn handle(&self) -> std::io::Result<ReaderHandle> {
        let mut addr = self.listener.local_addr()?;
        if addr.ip().is_unspecified() {
            addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        Ok(ReaderHandle {
            addr,
            targets: self.targets.clone(),
            stopping: self.stopping.clone(),
        })
    }

    /// Accept and relay until [`ReaderHandle::shutdown`].
    pub fn run(self) {
        for incoming in self.listener.incoming() {
            if self.stopping.load(Ordering::SeqCst) {
                break;
            }
            match incoming {
                Ok(client) => self.relay(client),
                Err(e) => {
                    warn!("reader endpoint: accept failed: {e}");
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
        }
        info!("reader endpoint stopped");
    }

    /// Candidates in order of preference: fewest active connections first.
    fn candidates(&self) -> Vec<(SocketAddr, Arc<AtomicUsize>)> {
        let mut c: Vec<_> = self
            .targets
            .lock()
            .iter()
            .filter(|t| t.listed && t.healthy)
            .map(|t| (t.addr, t.active.clone()))
            .collect();
        c.sort_by_key(|(_, a)| a.load(Ordering::SeqCst));
        c
    }

    fn relay(&self, client: TcpStream) {
        let _ = client.set_nodelay(true);
        let mut chosen = None;
        for (addr, active) in self.candidates() {
            // Count it before connecting so concurrent accepts spread out.
            active.fetch_add(1, Ordering::SeqCst);
            match TcpStream::connect_timeout(&addr, Duration::from_millis(500)) {
                Ok(s) => {
                    chosen = Some((s, Some(active)));
                    break;
                }
                Err(e) => {
                    active.fetch_sub(1, Ordering::SeqCst);
                    warn!(%addr, "reader endpoint: replica unreachable, skipped: {e}");
                }
            }
        }
        if chosen.is_none() {
            match TcpStream::connect_timeout(&self.fallback, Duration::from_millis(500)) {
                Ok(s) => chosen = Some((s, None)),
                Err(e) => {
                    warn!("reader endpoint: no replica and no writer reachable: {e}");
                    return;
                }
            }
        }
        let Some((upstream, active)) = chosen else {
            return;
        };
        let _ = upstream.set_nodelay(true);
        let peer = upstream.peer_addr().ok();
        debug!(?peer, "reader endpoint: relaying");
        let (Ok(c2), Ok(u2)) = (client.try_clone(), upstream.try_clone()) else {
            if let Some(a) = active {
                a.fetch_sub(1, Ordering::SeqCst);
            }
            return;
        };
        let spawned = std::thread::Builder::new()
            .name("reader-relay".into())
            .spawn(move || {
                let up = std::thread::spawn(move || pump(c2, u2));
                pump(upstream, client);
                let _ = up.join();
                if let Some(a) = active {
                    a.fetch_sub(1, Ordering::SeqCst);
                }
            });
        if let Err(e) = spawned {
            warn!("reader endpoint: cannot start a relay thread: {e}");
        }
    }
}

/// Copy `from` to `to` until EOF or an error, then end both directions' use of the pair.
fn pump(mut from: TcpStream, mut to: TcpStream) {
    let mut buf = vec![0u8; 64 << 10];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if std::io::Write::write_all(&mut to, &buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    // Either side closing ends the session: wake the other pump too.
    let _ = to.shutdown(Shutdown::Both);
    let _ = from.shutdown(Shutdown::Both);
}

/// The replicas and reader endpoint of `borealis serve --replicas N`.
pub struct Readers {
    pub replicas: Vec<ReplicaNode>,
    pub endpoint: ReaderHandle,
    thread: Option<JoinHandle<()>>,
}

/// Start a reader endpoint on `bind` with no replicas yet (falling back to `writer`).
pub fn start_endpoint(bind: SocketAddr, writer: SocketAddr) -> Result<ReaderHandle, String> {
    let endpoint = ReaderEndpoint::bind(bind, &[], writer)
        .map_err(|e| format!("listening on {bind} (reader endpoint): {e}"))?;
    let handle = endpoint.handle().map_err(|e| e.to_string())?;
    std::thread::Builder::new()
        .name("reader-endpoint".into())
        .spawn(move || endpoint.run())
        .map_err(|e| e.to_string())?;
    Ok(handle)
}

/// Whether a replica lagging `lag_micros` may take new connections.
fn within(lag_micros: u64, threshold: Duration) -> bool {
    u128::from(lag_micros) <= threshold.as_micros()
}

/// Keep `ep`'s health flags for in-process replicas up to date (lag vs `threshold`)
/// while `ep` runs.
pub fn monitor_local(ep: ReaderHandle, replicas: Vec<(SocketAddr, Database)>, threshold: Duration) {
    let _ = std::thread::Builder::new()
        .name("reader-monitor".into())
        .spawn(move || {
            while !ep.stopping.load(Ordering::SeqCst) {
                for (addr, db) in &replicas {
                    let lag = db.replica_status().map_or(0, |s| s.lag_micros);
                    ep.set_healthy(*addr, within(lag, threshold));
                }
                std::thread::sleep(MONITOR_EVERY);
            }
        });
}

/// Route `ep` to the replicas registered with the storage nodes: add new ones, drop
/// those whose registration went stale (killed), skip those lagging beyond `threshold`.
pub fn monitor_registry(ep: ReaderHandle, reg: Arc<Registrar>, threshold: Duration) {
    let _ = std::thread::Builder::new()
        .name("reader-monitor".into())
        .spawn(move || {
            while !ep.stopping.load(Ordering::SeqCst) {
                let mut live = Vec::new();
                for (i, addr) in registered_replicas(&reg).into_iter().take(MAX_REPLICAS) {
                    ep.add(addr);
                    ep.set_healthy(addr, within(i.lag_micros, threshold));
                    live.push(addr);
                }
                for (addr, _) in ep.connections() {
                    if !live.contains(&addr) {
                        info!(%addr, "reader endpoint: replica gone, removed");
                        ep.remove(addr);
                    }
                }
                std::thread::sleep(MONITOR_EVERY);
            }
        });
}

/// Replicas registered with the storage nodes whose heartbeat is fresh (alive).
pub fn registered_replicas(reg: &Registrar) -> Vec<(InstanceInfo, SocketAddr)> {
    reg.list()
        .into_iter()
        .filter(|(id, age, _)| *id != reg.id() && Duration::from_millis(*age) <= STALE)
        .filter_map(|(_, _, info)| decode_info(&info))
        .filter(|(i, _)| i.role == InstanceRole::Replica)
        .collect()
}

/// An instance's registration as text: `key=value` pairs separated by `;`.
pub fn encode_info(i: &InstanceInfo, addr: SocketAddr) -> Vec<u8> {
    let role = match i.role {
        InstanceRole::Writer => "writer",
        InstanceRole::Replica => "replica",
    };
    format!(
        "role={role};id={};addr={addr};durable={};read_point={};lag_us={};replay_us={};updated_ms={}",
        i.server_id.replace([';', '='], "_"),
        i.durable_lsn,
        i.read_point,
        i.lag_micros,
        i.replay_micros,
        i.updated_ms
    )
    .into_bytes()
}

/// The inverse of [`encode_info`] (None: not a registration this version understands).
pub fn decode_info(b: &[u8]) -> Option<(InstanceInfo, SocketAddr)> {
    let text = std::str::from_utf8(b).ok()?;
    let kv: std::collections::HashMap<&str, &str> =
        text.split(';').filter_map(|p| p.split_once('=')).collect();
    let num = |k: &str| kv.get(k).and_then(|v| v.parse::<u64>().ok());
    let role = match *kv.get("role")? {
        "writer" => InstanceRole::Writer,
        "replica" => InstanceRole::Replica,
        _ => return None,
    };
    Some((
        InstanceInfo {
            server_id: kv.get("id")?.to_string(),
            role,
            durable_lsn: num("durable")?,
            read_point: num("read_point")?,
            lag_micros: num("lag_us")?,
            replay_micros: num("replay_us")?,
            updated_ms: num("updated_ms")?,
        },
        kv.get("addr")?.parse().ok()?,
    ))
}

/// Register `db` (serving clients on `addr`) with the storage nodes through `reg`,
/// refreshing its description every heartbeat, and make its
/// `information_schema.replica_host_status` list every registered instance.
pub fn publish(db: &Database, reg: Arc<Registrar>, server_id: String, addr: SocketAddr) {
    let me = reg.id();
    let view_reg = reg.clone();
    let view_db = db.clone();
    let view_id = server_id.clone();
    let view: ClusterView = Arc::new(move || {
        let mut rows = vec![view_db.instance_info(&view_id)];
        for (id, age, info) in view_reg.list() {
            if id == me || Duration::from_millis(age) > STALE * 4 {
                continue;
            }
            if let Some((i, _)) = decode_info(&info) {
                rows.push(i);
            }
        }
        // The writer first, as Aurora lists it.
        rows.sort_by_key(|i| (i.role != InstanceRole::Writer, i.server_id.clone()));
        rows
    });
    db.set_cluster_view(view);
    let w = Arc::downgrade(&reg);
    let db = db.clone();
    let _ = std::thread::Builder::new()
        .name("instance-publish".into())
        .spawn(move || loop {
            let Some(reg) = w.upgrade() else { return };
            reg.set_info(encode_info(&db.instance_info(&server_id), addr));
            drop(reg);
            std::thread::sleep(borealis_storage::net::follow::HEARTBEAT / 2);
        });
}

/// `information_schema.replica_host_status` for an in-process cluster: the writer and
/// every replica, read directly.
pub fn local_view(writer: (&Database, String), replicas: &[(Database, String)]) -> ClusterView {
    let w = (writer.0.clone(), writer.1);
    let r: Vec<(Database, String)> = replicas.to_vec();
    Arc::new(move || {
        let mut rows = vec![w.0.instance_info(&w.1)];
        rows.extend(r.iter().map(|(db, id)| db.instance_info(id)));
        rows
    })
}

impl Readers {
    /// Stop the endpoint and every replica.
    pub fn stop(mut self) {
        self.endpoint.shutdown();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        for r in self.replicas.drain(..) {
            r.stop();
        }
    }
}

/// Start `n` replicas of `volume` (served like the writer, per `config`) and the reader
/// endpoint on `reader_bind`, falling back to `writer`. Prints the endpoint's address.
pub fn start_readers(
    volume: &Arc<LocalVolume>,
    n: usize,
    opts: DatabaseOptions,
    config: &ServerConfig,
    reader_bind: SocketAddr,
    writer: SocketAddr,
) -> Result<Readers, String> {
    check_replica_count(n)?;
    let replicas = (0..n)
        .map(|_| ReplicaNode::start(volume, opts.clone(), config))
        .collect::<Result<Vec<_>, _>>()?;
    let addrs: Vec<SocketAddr> = replicas.iter().map(ReplicaNode::addr).collect();
    let endpoint = ReaderEndpoint::bind(reader_bind, &addrs, writer)
        .map_err(|e| format!("listening on {reader_bind} (reader endpoint): {e}"))?;
    let handle = endpoint.handle().map_err(|e| e.to_string())?;
    let thread = std::thread::Builder::new()
        .name("reader-endpoint".into())
        .spawn(move || endpoint.run())
        .map_err(|e| e.to_string())?;
    println!(
        "borealis: reader endpoint for {n} replicas ready on {}",
        handle.local_addr()
    );
    Ok(Readers {
        replicas,
        endpoint: handle,
        thread: Some(thread),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    /// A TCP server that greets every connection with `tag` and keeps it open.
    fn tagged(tag: u8) -> SocketAddr {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        std::thread::spawn(move || {
            for s in l.incoming() {
                let Ok(mut s) = s else { return };
                std::thread::spawn(move || {
                    let _ = std::io::Write::write_all(&mut s, &[tag]);
                    let mut buf = [0u8; 16];
                    while matches!(s.read(&mut buf), Ok(n) if n > 0) {}
                });
            }
        });
        addr
    }

    /// Connect through the endpoint and return the tag of the server reached.
    fn reach(ep: &ReaderHandle) -> (TcpStream, u8) {
        let mut s = TcpStream::connect(ep.local_addr()).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut b = [0u8; 1];
        s.read_exact(&mut b).unwrap();
        (s, b[0])
    }

    #[test]
    fn least_connections_skip_dead_and_fall_back_to_the_writer() {
        let (a, b, w) = (tagged(b'a'), tagged(b'b'), tagged(b'w'));
        let dead = {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        let ep = ReaderEndpoint::bind("127.0.0.1:0".parse().unwrap(), &[dead, a, b], w).unwrap();
        let h = ep.handle().unwrap();
        std::thread::spawn(move || ep.run());
        let held: Vec<_> = (0..4).map(|_| reach(&h)).collect();
        let mut tags: Vec<u8> = held.iter().map(|(_, t)| *t).collect();
        tags.sort();
        assert_eq!(tags, b"aabb", "spread evenly, the dead replica skipped");
        h.remove(a);
        h.remove(dead);
        assert_eq!(reach(&h).1, b'b');
        h.remove(b);
        assert_eq!(reach(&h).1, b'w', "no replica left: the writer");
        h.add(a);
        assert_eq!(
            reach(&h).1,
            b'a',
            "an added replica takes connections at once"
        );
        h.shutdown();
    }

    #[test]
    fn lagging_replicas_are_skipped_and_the_writer_takes_over() {
        let (a, b, w) = (tagged(b'a'), tagged(b'b'), tagged(b'w'));
        let ep = ReaderEndpoint::bind("127.0.0.1:0".parse().unwrap(), &[a, b], w).unwrap();
        let h = ep.handle().unwrap();
        std::thread::spawn(move || ep.run());
        h.set_healthy(a, false);
        let held: Vec<_> = (0..3).map(|_| reach(&h)).collect();
        assert!(held.iter().all(|(_, t)| *t == b'b'), "a lags: only b");
        h.set_healthy(b, false);
        assert_eq!(reach(&h).1, b'w', "every replica lags: the writer");
        h.set_healthy(a, true);
        assert_eq!(reach(&h).1, b'a', "a caught up");
        assert_eq!(h.healthy(), vec![a]);
        h.shutdown();
    }

    #[test]
    fn a_replica_removed_and_re_added_keeps_its_connection_count() {
        let (a, b, w) = (tagged(b'a'), tagged(b'b'), tagged(b'w'));
        let ep = ReaderEndpoint::bind("127.0.0.1:0".parse().unwrap(), &[a], w).unwrap();
        let h = ep.handle().unwrap();
        std::thread::spawn(move || ep.run());
        let mut held: Vec<_> = (0..2).map(|_| reach(&h)).collect();
        h.add(b);
        held.push(reach(&h));
        assert_eq!(held[2].1, b'b');
        // a's registration flaps (stale for a moment, then fresh again): a still holds
        // two relayed connections and b one, so the next goes to b.
        h.remove(a);
        assert_eq!(h.connections(), vec![(b, 1)], "a removed is not listed");
        h.add(a);
        let mut counts = h.connections();
        counts.sort();
        let mut want = vec![(a, 2), (b, 1)];
        want.sort();
        assert_eq!(counts, want);
        assert_eq!(reach(&h).1, b'b', "least connections after the flap");
        // Once its relays end, a removed replica is forgotten.
        h.remove(a);
        held.retain(|(_, t)| *t != b'a');
        eventually_forgotten(&h, a);
        h.shutdown();
    }

    /// Removing leaves `addr` only while its relays last: wait for them to end.
    fn eventually_forgotten(h: &ReaderHandle, addr: SocketAddr) {
        let t = std::time::Instant::now();
        loop {
            h.remove(addr); // prunes entries whose relays ended
            if !h.targets.lock().iter().any(|t| t.addr == addr) {
                return;
            }
            assert!(t.elapsed() < Duration::from_secs(10), "still tracked");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    fn registration_text_round_trips() {
        let i = InstanceInfo {
            server_id: "r;1".into(),
            role: InstanceRole::Replica,
            durable_lsn: 10,
            read_point: 9,
            lag_micros: 1500,
            replay_micros: 20,
            updated_ms: 1_700_000_000_000,
        };
        let addr: SocketAddr = "127.0.0.1:3307".parse().unwrap();
        let (back, a) = decode_info(&encode_info(&i, addr)).unwrap();
        assert_eq!(a, addr);
        assert_eq!(back.server_id, "r_1");
        assert_eq!(
            (back.role, back.read_point, back.lag_micros),
            (InstanceRole::Replica, 9, 1500)
        );
        assert!(decode_info(b"garbage").is_none());
    }
}
