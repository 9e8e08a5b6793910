//! The `borealis serve` binary as users run it: prints its ready line with the real port
//! (`--port 0`), greets as an 8.0 server, accepts root with the given or generated
//! password, and exits cleanly on SIGTERM.

use std::io::{BufRead, BufReader, Read};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use mysql::prelude::Queryable;

struct Served {
    child: Child,
    port: u16,
    lines: Vec<String>,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(args: &[&str]) -> Served {
    let mut child = Command::new(env!("CARGO_BIN_EXE_borealis"))
        .arg("serve")
        .args(["--port", "0"])
        .args(args)
        .env_remove("BOREALIS_ROOT_PASSWORD")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start borealis serve");
    let stdout = child.stdout.take();
    // From here on, Drop kills the child even if a wait below panics.
    let mut served = Served {
        child,
        port: 0,
        lines: Vec::new(),
    };
    let stdout = stdout.expect("piped stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("borealis prints its ready line");
        served.lines.push(line.clone());
        if let Some(addr) = line.split("ready for connections on ").nth(1) {
            let port = addr.rsplit(':').next().and_then(|p| p.trim().parse().ok());
            served.port = port.expect("a port in the ready line");
            return served;
        }
    }
}

fn sigterm(child: &Child) {
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(ok.success());
}

fn wait_exit(mut s: Served) -> std::process::ExitStatus {
    for _ in 0..200 {
        if let Some(st) = s.child.try_wait().expect("wait") {
            return st;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("borealis did not exit after SIGTERM");
}

#[test]
fn ready_line_greeting_and_sigterm() {
    let s = serve(&["--in-memory", "--root-password", "pw1"]);
    let mut sock = TcpStream::connect(("127.0.0.1", s.port)).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut head = [0u8; 10];
    sock.read_exact(&mut head).unwrap();
    assert_eq!(head[4], 10, "protocol version 10");
    assert_eq!(&head[5..9], b"8.0.", "an 8.0 version string");
    drop(sock);
    sigterm(&s.child);
    let st = wait_exit(s);
    assert!(st.success(), "clean exit on SIGTERM: {st:?}");
}

#[test]
fn root_logs_in_with_given_and_generated_passwords() {
    let s = serve(&["--in-memory", "--root-password", "given-pw"]);
    let url = format!("mysql://root:given-pw@127.0.0.1:{}/", s.port);
    let mut c = mysql::Conn::new(mysql::Opts::from_url(&url).unwrap()).expect("login");
    let one: Option<i64> = c.query_first("SELECT 1").unwrap();
    assert_eq!(one, Some(1));
    drop(c);

    let dir = tempfile::tempdir().unwrap();
    let datadir = dir.path().join("data");
    let s = serve(&["--datadir", datadir.to_str().unwrap()]);
    let pw = s
        .lines
        .iter()
        .find_map(|l| l.split("generated for root@%: ").nth(1))
        .expect("the generated password is printed on first start")
        .trim()
        .to_string();
    assert!(
        datadir.join("server-cert.pem").exists(),
        "a TLS pair is generated"
    );
    let opts = mysql::OptsBuilder::new()
        .ip_or_hostname(Some("127.0.0.1"))
        .tcp_port(s.port)
        .user(Some("root"))
        .pass(Some(pw.as_str()))
        .prefer_socket(false);
    mysql::Conn::new(opts).expect("login with the generated password");
    sigterm(&s.child);
    assert!(wait_exit(s).success());
}

#[test]
fn root_password_persists_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let datadir = dir.path().join("data");
    let s = serve(&[
        "--datadir",
        datadir.to_str().unwrap(),
        "--root-password",
        "kept",
    ]);
    sigterm(&s.child);
    assert!(wait_exit(s).success());
    // Second start on the same directory: no new password, the old one still works.
    let s = serve(&["--datadir", datadir.to_str().unwrap()]);
    assert!(!s.lines.iter().any(|l| l.contains("generated for root")));
    let url = format!("mysql://root:kept@127.0.0.1:{}/", s.port);
    mysql::Conn::new(mysql::Opts::from_url(&url).unwrap()).expect("the password persists");
}

/// Two servers on one data directory would append to the same segment logs and each
/// overwrite what the other wrote: the second is refused at startup and the first goes on
/// serving; once the first dies (`kill -9`), the kernel drops its lock and a new server
/// starts on the directory with every committed row.
#[test]
fn a_second_server_on_the_same_datadir_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let datadir = dir.path().join("data");
    let d = datadir.to_str().unwrap();
    let mut first = serve(&["--datadir", d, "--root-password", "pw"]);
    let url = |port: u16| format!("mysql://root:pw@127.0.0.1:{port}/");
    let mut c = mysql::Conn::new(mysql::Opts::from_url(&url(first.port)).unwrap()).unwrap();
    c.query_drop("CREATE DATABASE d").unwrap();
    c.query_drop("CREATE TABLE d.t (id INT PRIMARY KEY)")
        .unwrap();
    c.query_drop("INSERT INTO d.t VALUES (1), (2)").unwrap();

    let mut second = Command::new(env!("CARGO_BIN_EXE_borealis"))
        .args(["serve", "--port", "0", "--datadir", d])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start a second borealis serve");
    let status = (0..600)
        .find_map(|_| {
            let st = second.try_wait().expect("wait");
            if st.is_none() {
                std::thread::sleep(Duration::from_millis(50));
            }
            st
        })
        .unwrap_or_else(|| {
            let _ = second.kill();
            panic!("a second server on the same datadir kept running");
        });
    let mut err = String::new();
    second
        .stderr
        .take()
        .expect("piped stderr")
        .read_to_string(&mut err)
        .unwrap();
    assert!(!status.success(), "the second server fails: {err}");
    assert!(err.contains("in use"), "says why: {err}");

    // The first one never noticed.
    c.query_drop("INSERT INTO d.t VALUES (3)").unwrap();
    let n: Option<i64> = c.query_first("SELECT COUNT(*) FROM d.t").unwrap();
    assert_eq!(n, Some(3));
    drop(c);

    first.child.kill().expect("kill -9 the first server");
    first.child.wait().unwrap();
    let third = serve(&["--datadir", d]);
    let mut c = mysql::Conn::new(mysql::Opts::from_url(&url(third.port)).unwrap()).unwrap();
    let n: Option<i64> = c.query_first("SELECT COUNT(*) FROM d.t").unwrap();
    assert_eq!(n, Some(3), "every committed row after kill -9 and restart");
}
