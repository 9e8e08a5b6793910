//! `TestServer` as other projects use it: one line to start, a URL any driver accepts,
//! stopped on drop (the port stops accepting).

use std::net::TcpStream;

use borealis_server::TestServer;
use mysql::prelude::Queryable;

#[test]
fn start_in_memory_and_in_dir_then_stop_on_drop() {
    let dir = tempfile::tempdir().unwrap();
    for server in [
        TestServer::start_in_memory(),
        TestServer::start_in(dir.path()),
    ] {
        let url = server.url();
        assert_eq!(
            url,
            format!(
                "mysql://root:{}@127.0.0.1:{}/",
                server.password(),
                server.port()
            )
        );
        let mut c = mysql::Conn::new(mysql::Opts::from_url(&url).unwrap()).unwrap();
        let v: Option<String> = c.query_first("SELECT VERSION()").unwrap();
        assert!(v.unwrap().starts_with("8.0."));
        assert!(server.database().is_some());
        let port = server.port();
        drop(c);
        drop(server);
        assert!(
            TcpStream::connect(("127.0.0.1", port)).is_err(),
            "the port is closed after drop"
        );
    }
}
