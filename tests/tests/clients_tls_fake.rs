//! TLS with the real `mysql` CLI (MariaDB client): `--ssl` negotiates TLS through the
//! SSLRequest upgrade, `--require-secure-transport` refuses plaintext clients (3159), and
//! both auth plugins work over TLS (caching_sha2_password: full authentication first,
//! the fast path once the account is in the server's cache). Uses the scripted fake backend, so it checks the
//! transport, not SQL.

use std::sync::Arc;

use borealis_server::protocol::auth;
use borealis_server::{TestOptions, TestServer};
use borealis_tests::fake::FakeBackend;
use borealis_tests::tool;

const PW: &str = "tls-pw";

fn start(plugin: &str, require_secure_transport: bool) -> TestServer {
    let fake: Arc<FakeBackend> = FakeBackend::new(PW, plugin);
    TestServer::start_backend(
        fake,
        PW.into(),
        TestOptions {
            require_secure_transport,
            ..TestOptions::default()
        },
    )
}

fn cli_present() -> bool {
    tool::require("mysql", &["--version"])
}

#[test]
fn mysql_cli_over_tls_with_both_plugins() {
    if !cli_present() {
        return;
    }
    for plugin in [auth::NATIVE, auth::CACHING_SHA2] {
        let server = start(plugin, false);
        let out = tool::mysql_batch(server.port(), PW, &["--ssl"], "ECHO over tls");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{plugin}: {stderr}");
        assert!(stdout.contains("over tls"), "{stdout}");
        if plugin == auth::CACHING_SHA2 {
            // Not in the server's cache yet: full authentication (password sent over TLS).
            assert_eq!(server.handle().caching_sha2_logins(), (0, 1));
        }

        // The client reports the cipher in use, so the session really is encrypted.
        let out = tool::mysql_batch(server.port(), PW, &["--ssl", "--verbose"], "\\s");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("Cipher in use"), "{plugin}: {stdout}");
        if plugin == auth::CACHING_SHA2 {
            // Cached now: the fast path alone.
            assert_eq!(server.handle().caching_sha2_logins(), (1, 1));
        }

        let out = tool::mysql_batch(server.port(), "bad", &["--ssl"], "ECHO x");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success());
        assert!(stderr.contains("1045"), "{stderr}");
        if plugin == auth::CACHING_SHA2 {
            assert_eq!(server.handle().caching_sha2_logins(), (1, 1));
        }
    }
}

#[test]
fn require_secure_transport_refuses_plaintext() {
    if !cli_present() {
        return;
    }
    let server = start(auth::NATIVE, true);
    let out = tool::mysql_batch(server.port(), PW, &["--skip-ssl"], "ECHO x");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("3159"), "{stderr}");
    let out = tool::mysql_batch(server.port(), PW, &["--ssl"], "ECHO secure");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("secure"));
}
