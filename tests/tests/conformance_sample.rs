//! The CI sample of the external conformance corpus (`tests/conformance/run.sh ci`) run
//! against an in-process Borealis `TestServer`, compared file by file with MariaDB's
//! score on the same sample (`tests/conformance/mariadb-ci.json`): the test fails when
//! Borealis passes fewer records than MariaDB on any file.
//!
//! Ignored by default: it needs python3 with PyMySQL and the corpus in
//! `../shared/conformance`, and takes about a minute. Run it with
//! `cargo test -p borealis-tests --test conformance_sample -- --ignored --nocapture`.

use std::path::Path;
use std::process::Command;

#[test]
#[ignore = "needs python3 + PyMySQL and ../shared/conformance; run with --ignored"]
fn conformance_ci_sample_matches_mariadb() {
    let server = borealis_server::TestServer::start_in_memory();
    let tests_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let json = std::env::temp_dir().join(format!("borealis-ci-{}.json", server.port()));
    let status = Command::new(tests_dir.join("conformance/run.sh"))
        .arg("ci")
        .args(["--port", &server.port().to_string()])
        .args(["--user", "root", "--password", server.password()])
        .arg("--json")
        .arg(&json)
        .arg("--compare")
        .arg(tests_dir.join("conformance/mariadb-ci.json"))
        .status()
        .expect("run tests/conformance/run.sh");
    assert!(
        status.success(),
        "conformance CI sample: Borealis is behind MariaDB (or the run failed), exit {status}; \
         JSON in {}",
        json.display()
    );
}
