//! Shared by the process-cluster tests: start `borealis` processes (six storage nodes, a
//! writer, replicas) on ephemeral ports, read the addresses they print, connect, and poll
//! with deadlines. Every process is killed with SIGKILL when its [`Proc`] drops, so a
//! failing test leaves nothing running.

#![allow(dead_code)] // each test file uses a different subset

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use mysql::prelude::Queryable;

pub const PASSWORD: &str = "pw";

pub struct Proc {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: std::cell::RefCell<Vec<String>>,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill(); // SIGKILL
        let _ = self.child.wait();
    }
}

impl Proc {
    pub fn start(args: &[String]) -> Proc {
        let mut child = Command::new(env!("CARGO_BIN_EXE_borealis"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start borealis");
        let out = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        Proc {
            child,
            lines: rx,
            seen: Default::default(),
        }
    }

    /// The address printed after `marker` on some line.
    pub fn addr_after(&self, marker: &str) -> SocketAddr {
        let mut i = 0;
        loop {
            let got = self.seen.borrow().get(i).cloned();
            let l = match got {
                Some(l) => l,
                None => {
                    let l = self
                        .lines
                        .recv_timeout(Duration::from_secs(90))
                        .unwrap_or_else(|_| panic!("no line with {marker:?}"));
                    self.seen.borrow_mut().push(l.clone());
                    l
                }
            };
            i += 1;
            if let Some(rest) = l.split(marker).nth(1) {
                let a = rest.split_whitespace().next().expect("an address");
                return a.parse().expect("a socket address");
            }
        }
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Six storage nodes (two per AZ) and their addresses as `--storage-nodes` wants them.
pub fn storage_nodes(dir: &Path) -> (Vec<Proc>, String) {
    let nodes: Vec<Proc> = (0..6)
        .map(|i| {
            Proc::start(&[
                "storage-node".into(),
                "--id".into(),
                i.to_string(),
                "--az".into(),
                (i / 2).to_string(),
                "--dir".into(),
                dir.join(format!("n{i}")).display().to_string(),
                "--peers-dir".into(),
                dir.join("addrs").display().to_string(),
                "--no-fsync".into(),
            ])
        })
        .collect();
    let addrs: Vec<String> = nodes
        .iter()
        .map(|n| n.addr_after("listening ").to_string())
        .collect();
    (nodes, addrs.join(","))
}

/// `borealis serve` on the storage nodes `nodes` (TLS off), plus `extra` arguments.
pub fn serve(nodes: &str, dir: &Path, extra: &[&str]) -> (Proc, SocketAddr) {
    serve_with(nodes, dir, &["--skip-ssl"], extra)
}

/// `borealis serve` with `tls` arguments (e.g. `--skip-ssl`, or none for a generated
/// certificate) and `extra` ones.
pub fn serve_with(nodes: &str, dir: &Path, tls: &[&str], extra: &[&str]) -> (Proc, SocketAddr) {
    let mut args: Vec<String> = ["serve", "--port", "0", "--root-password", PASSWORD]
        .iter()
        .chain(tls)
        .chain(&["--storage-nodes", nodes, "--datadir"])
        .map(|s| s.to_string())
        .collect();
    args.push(dir.display().to_string());
    args.extend(extra.iter().map(|s| s.to_string()));
    let p = Proc::start(&args);
    let a = p.addr_after("ready for connections on ");
    (p, a)
}

pub fn try_conn(addr: SocketAddr) -> mysql::Result<mysql::Conn> {
    let opts = mysql::OptsBuilder::new()
        .ip_or_hostname(Some(addr.ip().to_string()))
        .tcp_port(addr.port())
        .user(Some("root"))
        .pass(Some(PASSWORD))
        .prefer_socket(false)
        .tcp_connect_timeout(Some(Duration::from_secs(5)));
    mysql::Conn::new(opts)
}

pub fn conn(addr: SocketAddr) -> mysql::Conn {
    try_conn(addr).expect("connect")
}

/// A replica's instance id (`Borealis_replica_instance`, unique per replica process);
/// None on the writer, which has no such status.
pub fn instance(c: &mut mysql::Conn) -> mysql::Result<Option<u64>> {
    let row: Option<(String, String)> =
        c.query_first("SHOW STATUS LIKE 'Borealis_replica_instance'")?;
    Ok(row.and_then(|(_, v)| v.parse().ok()))
}

/// A status counter of the instance `c` is connected to.
pub fn status(c: &mut mysql::Conn, name: &str) -> u64 {
    let row: Option<(String, String)> = c
        .query_first(format!("SHOW STATUS LIKE '{name}'"))
        .expect("SHOW STATUS");
    row.and_then(|(_, v)| v.parse().ok())
        .unwrap_or_else(|| panic!("no status {name}"))
}

/// Wait until `f` holds (polling), or panic with `what` after `limit`.
pub fn eventually_within(limit: Duration, what: &str, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < limit, "timed out after {limit:?}: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// [`eventually_within`] 30 s: for progress that is not itself under test.
pub fn eventually(what: &str, f: impl FnMut() -> bool) {
    eventually_within(Duration::from_secs(30), what, f)
}
