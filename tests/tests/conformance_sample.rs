//! The CI sample of the external conformance corpus (`tests/conformance/run.sh ci`) run
//! against an in-process Borealis `TestServer`, compared file by file with MariaDB's
//! score on the same sample (`tests/conformance/mariadb-ci.json`): the test fails when
//! Borealis passes fewer records than MariaDB on any file.
//!
//! Needs python3 with PyMySQL (installed by .ci/run) and the corpus, which lives outside
//! this repository (`../shared/conformance`, or `CONFORMANCE_DIR`); without the corpus
//! the test says so and skips. About a minute in a release build.

use std::path::Path;
use std::process::Command;

#[test]
fn conformance_ci_sample_matches_mariadb() {
    let tests_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let corpus = std::env::var_os("CONFORMANCE_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| tests_dir.join("../../shared/conformance"));
    if !corpus.join("slt_mysql.py").exists() {
        eprintln!(
            "SKIPPED: the conformance corpus is not at {} (set CONFORMANCE_DIR)",
            corpus.display()
        );
        return;
    }
    if !borealis_tests::tool::require_pymysql() {
        return;
    }
    let server = borealis_server::TestServer::start_in_memory();
    let json = std::env::temp_dir().join(format!("borealis-ci-{}.json", server.port()));
    let status = Command::new(tests_dir.join("conformance/run.sh"))
        .env("CONFORMANCE_DIR", &corpus)
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
