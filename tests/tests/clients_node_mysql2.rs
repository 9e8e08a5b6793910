//! The Node.js `mysql2` driver against a real Borealis server, through
//! tests/clients/node/mysql2_client.js (`npm install --prefix tests/clients/node` first;
//! .ci/run does).

use std::process::Command;

use borealis_server::TestServer;
use borealis_tests::tool;

#[test]
fn node_mysql2_script() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/clients/node");
    let probe = format!("require('{dir}/node_modules/mysql2')");
    if !tool::require("node", &["-e", &probe]) {
        return;
    }
    let server = TestServer::start_in_memory();
    let out = Command::new("node")
        .arg(format!("{dir}/mysql2_client.js"))
        .arg(server.port().to_string())
        .arg(server.password())
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("mysql2: all checks passed"), "{stdout}");
}
