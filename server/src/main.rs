//! The `borealis` binary: `borealis serve` runs a MySQL-compatible server on the embedded
//! database (a data directory holding the six-node, three-AZ volume) or in memory, or on
//! storage nodes in other processes (`--storage-nodes`), as the writer or as a read
//! replica (`--role replica`); `borealis storage-node` runs one such node.
//!
//! A cluster of processes (node `i` in AZ `i / 2`; the writer also serves the reader
//! endpoint on port + 1, which finds replicas through their registration with storage):
//!
//! ```text
//! for i in 0 1 2 3 4 5; do
//!   borealis storage-node --id $i --az $((i / 2)) --dir /data/n$i --listen 127.0.0.1:700$i \
//!     --peer 0=127.0.0.1:7000 --peer 1=127.0.0.1:7001 ... --peer 5=127.0.0.1:7005 &
//! done
//! NODES=127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003,127.0.0.1:7004,127.0.0.1:7005
//! borealis serve --storage-nodes $NODES --port 3306 --datadir /data/w &
//! borealis serve --storage-nodes $NODES --role replica --port 3310 --datadir /data/r1 &
//! ```

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use borealis_engine::{Database, DatabaseOptions};
use borealis_server::{cluster, tls, Server, ServerConfig};
use borealis_storage::net::{follow_storage, AddrBook, Registrar};
use borealis_storage::volume::{DEFAULT_MAX_BYTES, DEFAULT_SEGMENT_BYTES};
use borealis_storage::{LocalVolume, VolumeConfig, PAGE_SIZE};
use clap::{Args, Parser, Subcommand};

/// All of this binary's allocations go through mimalloc. The engine allocates per row and per
/// statement on many threads at once; with glibc's malloc that was a fifth of a connection
/// thread's CPU under sysbench, and mimalloc gave 15-20% more oltp_read_only and
/// oltp_read_write transactions per second (measured A/B, bench/RESULTS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "borealis",
    version = borealis_engine::SERVER_VERSION,
    about = "Borealis: a MySQL-compatible database built like Aurora (redo-only writes to a \
             replicated storage volume).",
    long_about = None
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the MySQL-protocol server. Connect with any MySQL client, e.g.
    /// `mysql -h 127.0.0.1 -P 3306 -u root -p`.
    Serve(ServeArgs),
    /// Run one storage node of a volume shared by instances in other processes (prints
    /// `listening <addr>` once it accepts connections).
    StorageNode(NodeArgs),
}

#[derive(Args)]
struct NodeArgs {
    /// Node id: 0..=5 for the first six (their place in the quorum set); a node that
    /// replaces a dead one takes a new id (with --replaces).
    #[arg(long)]
    id: usize,
    /// Availability zone (two nodes per AZ: node i in AZ i / 2).
    #[arg(long)]
    az: u8,
    /// Where the node keeps its segment files.
    #[arg(long)]
    dir: PathBuf,
    /// Address to listen on (port 0: any).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// A peer node, `ID=HOST:PORT` (repeat for every node, for gossip).
    #[arg(long)]
    peer: Vec<String>,
    /// A directory of `node-<id>.addr` files where nodes publish their addresses.
    #[arg(long)]
    peers_dir: Option<PathBuf>,
    /// Page address space per protection group (must match the instances').
    #[arg(long, default_value_t = DEFAULT_SEGMENT_BYTES)]
    segment_bytes: u64,
    /// Do not fsync (survives process crashes, not power loss).
    #[arg(long)]
    no_fsync: bool,
    /// This new, empty node takes the place of dead member OLD: it announces itself to
    /// its peers and the writer runs the membership change (epoch + 1) while writes go
    /// on; the node is filled from its peers.
    #[arg(long, value_name = "OLD")]
    replaces: Option<usize>,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Role {
    Writer,
    Replica,
}

#[derive(Args)]
struct ServeArgs {
    /// Data directory (created on first start; holds the storage volume, the catalog
    /// and the generated TLS certificate).
    #[arg(long, default_value = "./borealis-data")]
    datadir: PathBuf,
    /// TCP port; 0 picks a free port (the real one is printed).
    #[arg(long, default_value_t = 3306)]
    port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    bind_address: IpAddr,
    /// Client connections allowed at once; one more gets error 1040.
    #[arg(long, default_value_t = 151)]
    max_connections: usize,
    /// Seconds a connection may stay idle before it is closed.
    #[arg(long, default_value_t = 28800)]
    wait_timeout: u64,
    /// Largest packet accepted from a client, in bytes.
    #[arg(long, default_value_t = 64 << 20)]
    max_allowed_packet: usize,
    /// Keep everything in memory (a throwaway server; --datadir is ignored).
    #[arg(long)]
    in_memory: bool,
    /// root's password, set on the first start. Without it a password is generated and
    /// printed once.
    #[arg(long, env = "BOREALIS_ROOT_PASSWORD", hide_env_values = true)]
    root_password: Option<String>,
    /// TLS certificate chain (PEM). Without --ssl-cert/--ssl-key a self-signed pair is
    /// generated in the data directory.
    #[arg(long, requires = "ssl_key")]
    ssl_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, requires = "ssl_cert")]
    ssl_key: Option<PathBuf>,
    /// Do not offer TLS at all.
    #[arg(long, conflicts_with_all = ["ssl_cert", "require_secure_transport"])]
    skip_ssl: bool,
    /// Refuse clients that do not use TLS.
    #[arg(long)]
    require_secure_transport: bool,
    /// The only directory `LOAD DATA INFILE` (without LOCAL) may read files from; without
    /// it server-side files are refused (error 1290), as MySQL's NULL secure_file_priv.
    #[arg(long)]
    secure_file_priv: Option<PathBuf>,
    /// Read replicas to run in this process on the same volume (at most 15), served
    /// behind the reader endpoint.
    #[arg(long, default_value_t = 0)]
    replicas: usize,
    /// Port of the reader endpoint (default: --port + 1; 0 picks a free port).
    #[arg(long)]
    reader_port: Option<u16>,
    /// Storage nodes in other processes, `HOST:PORT,...` (six; node id = position):
    /// the volume lives there instead of under --datadir.
    #[arg(long, value_delimiter = ',')]
    storage_nodes: Vec<SocketAddr>,
    /// `replica`: a read replica following the log from --storage-nodes.
    #[arg(long, value_enum, default_value = "writer")]
    role: Role,
    /// This instance's name in information_schema.replica_host_status (default: its role
    /// and client address).
    #[arg(long)]
    server_id: Option<String>,
    /// The reader endpoint skips replicas lagging more than this (milliseconds).
    #[arg(long, default_value_t = 1000)]
    replica_lag_threshold_ms: u64,
    /// Page address space per protection group (with --storage-nodes; must match them).
    #[arg(long, default_value_t = DEFAULT_SEGMENT_BYTES)]
    segment_bytes: u64,
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Cmd::Serve(args) => serve(args),
        Cmd::StorageNode(args) => storage_node(args),
    };
    if let Err(e) = result {
        eprintln!("borealis: {e}");
        std::process::exit(1);
    }
}

fn generate_password() -> String {
    use rand::Rng;
    const CHARS: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789#%+-_";
    let mut rng = rand::thread_rng();
    (0..20)
        .map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char)
        .collect()
}

fn storage_node(a: NodeArgs) -> Result<(), String> {
    use borealis_storage::net::{run, StorageNodeConfig};
    if a.segment_bytes == 0 || !a.segment_bytes.is_multiple_of(PAGE_SIZE as u64) {
        return Err("--segment-bytes must be a positive multiple of 16384".into());
    }
    let mut book = AddrBook::parse_fixed(&a.peer).map_err(|e| e.to_string())?;
    book.dir = a.peers_dir;
    let node = run(StorageNodeConfig {
        id: a.id,
        az: a.az,
        listen: a.listen,
        dir: a.dir,
        pages_per_pg: a.segment_bytes / PAGE_SIZE as u64,
        fsync: !a.no_fsync,
        peers: book,
        tick: Duration::from_millis(10),
        log_compact_bytes: 64 << 20,
        scrub_every: Some(Duration::from_secs(300)),
    })
    .map_err(|e| e.to_string())?;
    if let Some(old) = a.replaces {
        node.request_replace(old).map_err(|e| e.to_string())?;
    }
    println!("listening {}", node.addr);
    let _ = std::io::stdout().flush();
    let _ = node.accept.join();
    Ok(())
}

/// The address book of `--storage-nodes` (node id = position).
fn storage_book(args: &ServeArgs) -> Result<Option<AddrBook>, String> {
    if args.storage_nodes.is_empty() {
        if args.role == Role::Replica {
            return Err("--role replica needs --storage-nodes".into());
        }
        return Ok(None);
    }
    if args.storage_nodes.len() != 6 {
        return Err(format!(
            "--storage-nodes: a volume has six storage nodes, got {}",
            args.storage_nodes.len()
        ));
    }
    if args.segment_bytes == 0 || !args.segment_bytes.is_multiple_of(PAGE_SIZE as u64) {
        return Err("--segment-bytes must be a positive multiple of 16384".into());
    }
    let pairs: Vec<String> = args
        .storage_nodes
        .iter()
        .enumerate()
        .map(|(i, a)| format!("{i}={a}"))
        .collect();
    AddrBook::parse_fixed(&pairs)
        .map(Some)
        .map_err(|e| e.to_string())
}

fn serve(args: ServeArgs) -> Result<(), String> {
    cluster::check_replica_count(args.replicas)?;
    let book = storage_book(&args)?;
    // On storage nodes: the registration other instances (and the reader endpoint)
    // find this one by.
    let mut registrar: Option<Arc<Registrar>> = None;
    // Replicas need the volume itself (for follower handles): open it here.
    let volume = if args.replicas > 0 || (book.is_some() && args.role == Role::Writer) {
        Some(cluster_volume(&args, book.as_ref())?)
    } else {
        None
    };
    let db = if args.role == Role::Replica {
        let book = book.clone().expect("checked by storage_book");
        let f = follow_storage(
            book,
            args.segment_bytes / PAGE_SIZE as u64,
            DEFAULT_MAX_BYTES / PAGE_SIZE as u64,
        )
        .map_err(|e| format!("following the storage nodes: {e}"))?;
        registrar = f.registrar().cloned();
        if let Some(reg) = &registrar {
            let live = cluster::registered_replicas(reg).len();
            if live >= cluster::MAX_REPLICAS {
                return Err(format!(
                    "{live} replicas are already registered with the storage nodes: a \
                     cluster has at most {} read replicas",
                    cluster::MAX_REPLICAS
                ));
            }
        }
        Database::open_replica(f, cluster_db_options(&args))
    } else if let Some(v) = &volume {
        if let Some(b) = &book {
            borealis_storage::net::follow::announce_vdl(v, b)
                .map_err(|e| format!("starting the VDL announcer: {e}"))?;
            registrar = Some(Registrar::start(
                b,
                borealis_storage::net::follow::fresh_instance_id(),
                None,
            ));
        }
        Database::open_on(v.clone(), cluster_db_options(&args))
    } else if args.in_memory {
        Database::open_in_memory()
    } else {
        std::fs::create_dir_all(&args.datadir)
            .map_err(|e| format!("creating {}: {e}", args.datadir.display()))?;
        Database::open(&args.datadir)
    }
    .map_err(|e| format!("opening the database: {e}"))?;

    if let Some(dir) = &args.secure_file_priv {
        let dir = dir
            .canonicalize()
            .map_err(|e| format!("--secure-file-priv {}: {e}", dir.display()))?;
        db.set_secure_file_priv(Some(dir));
    }

    let (password, generated) = match args.root_password.clone() {
        Some(p) => (p, false),
        None => (generate_password(), true),
    };
    // A replica cannot write: root is whatever the writer created.
    let created = args.role == Role::Writer
        && db
            .bootstrap_root(&password)
            .map_err(|e| format!("creating root: {e}"))?;
    if created && generated {
        // Shown once, like mysqld --initialize; only its hash is stored.
        println!("borealis: a temporary password is generated for root@%: {password}");
    }

    let tls = if args.skip_ssl {
        None
    } else if let (Some(cert), Some(key)) = (&args.ssl_cert, &args.ssl_key) {
        Some(tls::load(cert, key).map_err(|e| e.to_string())?)
    } else if args.in_memory {
        Some(tls::ephemeral().map_err(|e| e.to_string())?)
    } else {
        // With --storage-nodes the datadir holds only this certificate: create it here.
        std::fs::create_dir_all(&args.datadir)
            .map_err(|e| format!("creating {}: {e}", args.datadir.display()))?;
        Some(tls::load_or_generate(&args.datadir).map_err(|e| e.to_string())?)
    };

    let config = ServerConfig {
        bind: SocketAddr::new(args.bind_address, args.port),
        max_connections: args.max_connections,
        wait_timeout: Duration::from_secs(args.wait_timeout),
        max_allowed_packet: args.max_allowed_packet,
        tls,
        require_secure_transport: args.require_secure_transport,
        ..ServerConfig::default()
    };
    let server = Server::bind(Arc::new(db.clone()), config.clone())
        .map_err(|e| format!("listening on {}:{}: {e}", args.bind_address, args.port))?;
    let addr = server.local_addr().map_err(|e| e.to_string())?;
    let handle = server.handle().map_err(|e| e.to_string())?;
    let readers = match &volume {
        Some(v) if args.replicas > 0 => Some(cluster::start_readers(
            v,
            args.replicas,
            cluster_db_options(&args),
            &config,
            SocketAddr::new(args.bind_address, reader_port(&args)),
            handle.local_addr(),
        )?),
        _ => None,
    };
    let server_id = args.server_id.clone().unwrap_or_else(|| {
        let role = match args.role {
            Role::Writer => "writer",
            Role::Replica => "replica",
        };
        format!("{role}-{addr}")
    });
    let threshold = Duration::from_millis(args.replica_lag_threshold_ms);
    if let Some(r) = &readers {
        let reps: Vec<(Database, String)> = r
            .replicas
            .iter()
            .map(|n| (n.db.clone(), format!("replica-{}", n.addr())))
            .collect();
        let view = cluster::local_view((&db, server_id.clone()), &reps);
        db.set_cluster_view(view.clone());
        for (d, _) in &reps {
            d.set_cluster_view(view.clone());
        }
        cluster::monitor_local(
            r.endpoint.clone(),
            r.replicas
                .iter()
                .map(|n| (n.addr(), n.db.clone()))
                .collect(),
            threshold,
        );
    }
    let mut registry_endpoint = None;
    if let Some(reg) = &registrar {
        cluster::publish(&db, reg.clone(), server_id, addr);
        if args.role == Role::Writer && readers.is_none() {
            // The reader endpoint of a multi-process cluster: replicas found in storage.
            let ep = cluster::start_endpoint(
                SocketAddr::new(args.bind_address, reader_port(&args)),
                addr,
            )?;
            cluster::monitor_registry(ep.clone(), reg.clone(), threshold);
            println!(
                "borealis: reader endpoint ready on {} (replicas registered with storage)",
                ep.local_addr()
            );
            registry_endpoint = Some(ep);
        }
    }
    let reader_handle = readers
        .as_ref()
        .map(|r| r.endpoint.clone())
        .or(registry_endpoint);
    ctrlc::set_handler(move || {
        tracing::info!("shutdown requested");
        if let Some(r) = &reader_handle {
            r.shutdown();
        }
        handle.shutdown();
    })
    .map_err(|e| format!("installing the signal handler: {e}"))?;

    println!(
        "borealis: {} ready for connections on {addr}",
        borealis_engine::SERVER_VERSION
    );
    let _ = std::io::stdout().flush();
    server.run();
    if let Some(r) = readers {
        r.stop();
    }
    Ok(())
}

/// The writer's volume when replicas share it (same layout as `Database::open`), or on
/// the storage nodes of `book`.
fn cluster_volume(args: &ServeArgs, book: Option<&AddrBook>) -> Result<Arc<LocalVolume>, String> {
    let cfg = if let Some(b) = book {
        VolumeConfig {
            nodes: Some(b.clone()),
            segment_bytes: args.segment_bytes,
            ..VolumeConfig::default()
        }
    } else if args.in_memory {
        let mut c = VolumeConfig::in_memory();
        c.fsync = false;
        c
    } else {
        std::fs::create_dir_all(&args.datadir)
            .map_err(|e| format!("creating {}: {e}", args.datadir.display()))?;
        VolumeConfig::on_disk(args.datadir.join("volume"))
    };
    LocalVolume::open(cfg).map_err(|e| format!("opening the volume: {e}"))
}

fn cluster_db_options(args: &ServeArgs) -> DatabaseOptions {
    DatabaseOptions {
        fsync: !args.in_memory,
        ..DatabaseOptions::default()
    }
}

fn reader_port(args: &ServeArgs) -> u16 {
    match (args.reader_port, args.port) {
        (Some(p), _) => p,
        (None, 0) => 0,
        (None, p) => p.saturating_add(1),
    }
}
