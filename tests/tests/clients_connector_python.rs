//! MySQL Connector/Python (pure-Python mode) against a real Borealis server, through
//! tests/clients/connector_python_client.py.

use std::process::Command;

use borealis_server::TestServer;
use borealis_tests::tool;

#[test]
fn connector_python_script() {
    if !tool::require("python3", &["-c", "import mysql.connector"]) {
        return;
    }
    let server = TestServer::start_in_memory();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/clients/connector_python_client.py"
    );
    let out = Command::new("python3")
        .arg(script)
        .arg(server.port().to_string())
        .arg(server.password())
        .output()
        .expect("run python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("connector-python: all checks passed"),
        "{stdout}"
    );
}
