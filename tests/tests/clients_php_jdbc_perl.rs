//! PHP (mysqli and PDO over mysqlnd), Java (MariaDB Connector/J) and Perl (DBI with
//! DBD::MariaDB) against a real Borealis server, through the scripts in tests/clients/.
//! Each script checks its own answers and prints "<client>: all checks passed".

use borealis_server::TestServer;
use borealis_tests::tool;

/// Connector/J as Debian's libmariadb-java installs it.
const JDBC_JAR: &str = "/usr/share/java/mariadb-java-client.jar";

fn run_client(program: &str, args: &[&str], server: &TestServer, done: &str) {
    tool::run_client_script(program, args, server.port(), server.password(), done);
}

#[test]
fn php_mysqli_and_pdo() {
    if !tool::require(
        "php",
        &[
            "-r",
            "exit(extension_loaded('mysqli') && extension_loaded('pdo_mysql') ? 0 : 1);",
        ],
    ) {
        return;
    }
    let server = TestServer::start_in_memory();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/clients/php_client.php");
    run_client("php", &[script], &server, "php: all checks passed");
}

#[test]
fn java_connector_j() {
    if !tool::require("java", &["-version"]) || !tool::require("test", &["-f", JDBC_JAR]) {
        return;
    }
    let server = TestServer::start_in_memory();
    let source = concat!(env!("CARGO_MANIFEST_DIR"), "/clients/jdbc/JdbcClient.java");
    run_client(
        "java",
        &["-cp", JDBC_JAR, source],
        &server,
        "jdbc: all checks passed",
    );
}

#[test]
fn perl_dbd_mariadb() {
    if !tool::require("perl", &["-MDBD::MariaDB", "-e", "1"]) {
        return;
    }
    let server = TestServer::start_in_memory();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/clients/perl_client.pl");
    run_client("perl", &[script], &server, "perl: all checks passed");
}
