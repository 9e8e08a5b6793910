//! External client tools (mysql CLI, sysbench, python3 + PyMySQL, tmux) for client tests.
//!
//! Policy: a test whose tool is missing is skipped with a printed message, unless CI is
//! set, where every tool is installed by .ci/run and a missing one is a failure.

use std::process::{Command, Output};

/// True when `program` can be run (`program --version` or the probe given succeeds).
pub fn have(program: &str, probe: &[&str]) -> bool {
    Command::new(program)
        .args(probe)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Whether a test that needs `program` should run. Panics under CI when it is missing.
pub fn require(program: &str, probe: &[&str]) -> bool {
    if have(program, probe) {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!("{program} is required under CI but is not installed");
    }
    eprintln!(
        "SKIPPED: {program} is not installed (this test runs when it is, and always under CI)"
    );
    false
}

/// The `mysql` client, if any (`mysql` or `mariadb`).
pub fn mysql_cli() -> Option<&'static str> {
    ["mysql", "mariadb"]
        .into_iter()
        .find(|p| have(p, &["--version"]))
}

/// Whether python3 can import pymysql (same CI policy as [`require`]).
pub fn require_pymysql() -> bool {
    require("python3", &["-c", "import pymysql"])
}

/// Run the mysql CLI in batch mode against 127.0.0.1:`port` as root; `extra` goes before
/// `-e sql`.
pub fn mysql_batch(port: u16, password: &str, extra: &[&str], sql: &str) -> Output {
    let cli = mysql_cli().unwrap_or("mysql");
    let port = port.to_string();
    let pw = format!("-p{password}");
    let mut args = vec![
        "-h",
        "127.0.0.1",
        "-P",
        port.as_str(),
        "-u",
        "root",
        "--batch",
    ];
    args.push(&pw);
    args.extend_from_slice(extra);
    args.push("-e");
    args.push(sql);
    Command::new(cli)
        .args(&args)
        .output()
        .expect("run the mysql client")
}

/// `program` (mysqldump, mysqladmin, the mysql CLI) with the options that connect it to
/// 127.0.0.1:`port` as root.
pub fn client_command(program: &str, port: u16, password: &str) -> Command {
    let mut c = Command::new(program);
    c.args(["-h", "127.0.0.1", "-P", &port.to_string(), "-u", "root"])
        .arg(format!("-p{password}"));
    c
}

/// Run a self-checking client script (`program args... PORT PASSWORD`) and assert it
/// succeeded and printed `done` ("<client>: all checks passed").
pub fn run_client_script(program: &str, args: &[&str], port: u16, password: &str, done: &str) {
    let out = Command::new(program)
        .args(args)
        .arg(port.to_string())
        .arg(password)
        .output()
        .unwrap_or_else(|e| panic!("run {program}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains(done), "{stdout}\n{stderr}");
}
