//! Storage-node processes for the TCP tests: `borealis-storage-node` children on
//! ephemeral ports, publishing their addresses in `<base>/addrs`, killed with SIGKILL.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use borealis_storage::net::AddrBook;
use borealis_storage::PAGE_SIZE;

pub struct Nodes {
    pub base: PathBuf,
    procs: HashMap<usize, Child>,
}

impl Nodes {
    /// Six nodes, node `i` in AZ `i / 2`, 8-page segments, no fsync.
    pub fn start(base: &Path) -> Self {
        let mut n = Nodes {
            base: base.to_path_buf(),
            procs: HashMap::new(),
        };
        for id in 0..6 {
            n.spawn(id);
        }
        n
    }

    /// Start node `id` in its default AZ (`id / 2`).
    pub fn spawn(&mut self, id: usize) {
        self.spawn_in(id, (id / 2) as u8);
    }

    /// Start node `id` in `az`, on `<base>/node-<id>`; returns once it listens.
    pub fn spawn_in(&mut self, id: usize, az: u8) {
        self.spawn_args(id, az, &[]);
    }

    /// [`Nodes::spawn_in`] with extra command-line arguments.
    pub fn spawn_args(&mut self, id: usize, az: u8, extra: &[&str]) {
        let mut ch = Command::new(env!("CARGO_BIN_EXE_borealis-storage-node"))
            .args(["--id", &id.to_string(), "--az", &az.to_string()])
            .arg("--dir")
            .arg(self.dir(id))
            .arg("--peers-dir")
            .arg(self.base.join("addrs"))
            .args([
                "--segment-bytes",
                &(8 * PAGE_SIZE).to_string(),
                "--no-fsync",
            ])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start storage node");
        let mut line = String::new();
        BufReader::new(ch.stdout.take().expect("piped"))
            .read_line(&mut line)
            .expect("node stdout");
        assert!(line.starts_with("listening"), "node {id} said {line:?}");
        self.procs.insert(id, ch);
    }

    pub fn dir(&self, id: usize) -> PathBuf {
        self.base.join(format!("node-{id}"))
    }

    pub fn kill9(&mut self, id: usize) {
        if let Some(mut c) = self.procs.remove(&id) {
            c.kill().expect("SIGKILL");
            c.wait().expect("reap");
        }
    }

    pub fn book(&self) -> AddrBook {
        AddrBook::in_dir(self.base.join("addrs"))
    }
}

impl Drop for Nodes {
    fn drop(&mut self) {
        let ids: Vec<usize> = self.procs.keys().copied().collect();
        for id in ids {
            self.kill9(id);
        }
    }
}
