//! An interactive `mysql` session driven through tmux, asserting on what the screen
//! shows: connect with a password, `status`, `show databases`, `use`, tab completion,
//! `describe`, `show create table`, a transaction, an error, `\q`.

use std::process::Command;
use std::time::{Duration, Instant};

use borealis_server::TestServer;
use borealis_tests::tool;

struct Tmux {
    socket: String,
    session: String,
}

impl Tmux {
    fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("run tmux");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn screen(&self) -> String {
        self.tmux(&[
            "capture-pane",
            "-p",
            "-J",
            "-S",
            "-500",
            "-t",
            &self.session,
        ])
    }

    fn send(&self, keys: &str) {
        // tmux reads an argument ending in ';' as a command separator; "\;" is the literal.
        let keys = match keys.strip_suffix(';') {
            Some(head) => format!("{head}\\;"),
            None => keys.to_string(),
        };
        self.tmux(&["send-keys", "-t", &self.session, "-l", &keys]);
    }

    fn enter(&self) {
        self.tmux(&["send-keys", "-t", &self.session, "Enter"]);
    }

    fn tab(&self) {
        self.tmux(&["send-keys", "-t", &self.session, "Tab"]);
    }

    /// Wait until the screen contains `needle` `count` times.
    fn wait_for(&self, needle: &str, count: usize) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let s = self.screen();
            if s.matches(needle).count() >= count {
                return s;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {needle:?} x{count}; screen:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Type a line and wait for the next prompt.
    fn line(&self, text: &str, prompts_before: &mut usize, prompt: &str) -> String {
        self.send(text);
        self.enter();
        *prompts_before += 1;
        self.wait_for(prompt, *prompts_before)
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.tmux(&["kill-server"]);
    }
}

#[test]
fn interactive_session() {
    if !tool::require("tmux", &["-V"]) || !tool::require("mysql", &["--version"]) {
        return;
    }
    let server = TestServer::start_in_memory();
    let t = Tmux {
        socket: format!("borealis-test-{}", std::process::id()),
        session: "cli".into(),
    };
    // The shell keeps the pane open after the client exits, so its last words can be read.
    let cmd = format!(
        "mysql -h 127.0.0.1 -P {} -u root -p; echo CLIENT-EXITED; sleep 60",
        server.port()
    );
    t.tmux(&[
        "new-session",
        "-d",
        "-s",
        "cli",
        "-x",
        "200",
        "-y",
        "50",
        &cmd,
    ]);
    t.wait_for("Enter password:", 1);
    t.send(server.password());
    t.enter();
    let s = t.wait_for("[(none)]>", 1);
    assert!(s.contains("Server version: 8.0"), "{s}");
    let prompt = "]>";
    let mut n = s.matches(prompt).count();

    let s = t.line("status", &mut n, prompt);
    let proto = s.lines().find(|l| l.starts_with("Protocol version:"));
    assert_eq!(
        proto.map(|l| l.split_whitespace().last()),
        Some(Some("10")),
        "{s}"
    );
    assert!(s.contains("Uptime:"), "{s}");
    assert!(s.contains("Threads:"), "{s}");

    t.line("create database demo;", &mut n, prompt);
    let s = t.line("show databases;", &mut n, prompt);
    assert!(s.contains("| demo"), "{s}");
    t.line(
        "create table demo.items (id int primary key, name varchar(20));",
        &mut n,
        prompt,
    );
    let s = t.line("use demo;", &mut n, prompt);
    assert!(s.contains("Database changed"), "{s}");
    assert!(s.contains("[demo]>"), "{s}");

    // Completion comes from the client's hash, built from SHOW TABLES and COM_FIELD_LIST.
    t.send("select na");
    t.tab();
    // A unique completion is followed by a space, as in readline.
    t.wait_for("select name ", 1);
    t.send("from ite");
    t.tab();
    t.wait_for("select name from items", 1);
    t.send(";");
    t.enter();
    n += 1;
    t.wait_for(prompt, n);

    let s = t.line("describe items;", &mut n, prompt);
    assert!(s.contains("| Field | Type"), "{s}");
    let s = t.line("show create table items\\G", &mut n, prompt);
    assert!(s.contains("CREATE TABLE"), "{s}");

    t.line("begin;", &mut n, prompt);
    t.line("insert into items values (1, 'apple');", &mut n, prompt);
    t.line("rollback;", &mut n, prompt);
    t.line("insert into items values (2, 'pear');", &mut n, prompt);
    let s = t.line("select * from items;", &mut n, prompt);
    assert!(s.contains("| pear"), "{s}");
    assert!(!s.contains("| apple"), "rolled back: {s}");
    assert!(s.contains("1 row in set"), "{s}");

    let s = t.line("select * from nosuch;", &mut n, prompt);
    assert!(s.contains("ERROR 1146 (42S02)"), "{s}");

    t.send("\\q");
    t.enter();
    let s = t.wait_for("CLIENT-EXITED", 1);
    assert!(s.contains("Bye"), "{s}");
}
