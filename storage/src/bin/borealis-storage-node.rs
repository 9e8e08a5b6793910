//! `borealis-storage-node`: one storage node of a Borealis volume as its own process.
//! See `borealis_storage::net` for how six of them make a three-AZ volume.
//!
//! Prints `listening <addr>` on stdout once it accepts connections.
//!
//! `--replaces OLD`: this is a new, empty node taking the place of dead member OLD (same
//! AZ). It tells its peers; the volume's writer makes the membership change (epoch + 1)
//! while writes go on, and the node fills itself from its peers.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use borealis_storage::net::{run, AddrBook, StorageNodeConfig};
use borealis_storage::volume::DEFAULT_SEGMENT_BYTES;
use borealis_storage::PAGE_SIZE;

const USAGE: &str = "usage: borealis-storage-node --id N --az A --dir DIR \
[--listen HOST:PORT] [--peer ID=HOST:PORT]... [--peers-dir DIR] \
[--segment-bytes N] [--no-fsync] [--replaces OLD_ID]";

fn main() {
    if let Err(e) = real_main() {
        eprintln!("borealis-storage-node: {e}\n{USAGE}");
        std::process::exit(2);
    }
}

fn real_main() -> Result<(), String> {
    let mut id = None;
    let mut az = None;
    let mut dir = None;
    let mut listen: SocketAddr = "127.0.0.1:0".parse().expect("valid literal");
    let mut peers = Vec::new();
    let mut peers_dir = None;
    let mut segment_bytes = DEFAULT_SEGMENT_BYTES;
    let mut fsync = true;
    let mut replaces = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--id" => id = Some(val()?.parse::<usize>().map_err(|e| e.to_string())?),
            "--az" => az = Some(val()?.parse::<u8>().map_err(|e| e.to_string())?),
            "--dir" => dir = Some(PathBuf::from(val()?)),
            "--listen" => listen = val()?.parse().map_err(|e| format!("--listen: {e}"))?,
            "--peer" => peers.push(val()?),
            "--peers-dir" => peers_dir = Some(PathBuf::from(val()?)),
            "--segment-bytes" => {
                segment_bytes = val()?
                    .parse()
                    .map_err(|e| format!("--segment-bytes: {e}"))?
            }
            "--no-fsync" => fsync = false,
            "--replaces" => {
                replaces = Some(
                    val()?
                        .parse::<usize>()
                        .map_err(|e| format!("--replaces: {e}"))?,
                )
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let (Some(id), Some(az), Some(dir)) = (id, az, dir) else {
        return Err("--id, --az and --dir are required".into());
    };
    if segment_bytes == 0 || !segment_bytes.is_multiple_of(PAGE_SIZE as u64) {
        return Err("--segment-bytes must be a positive multiple of 16384".into());
    }
    let mut book = AddrBook::parse_fixed(&peers).map_err(|e| e.to_string())?;
    book.dir = peers_dir;
    let node = run(StorageNodeConfig {
        id,
        az,
        listen,
        dir,
        pages_per_pg: segment_bytes / PAGE_SIZE as u64,
        fsync,
        peers: book,
        tick: Duration::from_millis(10),
        log_compact_bytes: 64 << 20,
        scrub_every: Some(Duration::from_secs(300)),
    })
    .map_err(|e| e.to_string())?;
    if let Some(old) = replaces {
        node.request_replace(old).map_err(|e| e.to_string())?;
    }
    println!("listening {}", node.addr);
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let _ = node.accept.join();
    Ok(())
}
