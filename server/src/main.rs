//! The `borealis` binary: `borealis serve` runs a MySQL-compatible server on the embedded
//! database (a data directory holding the six-node, three-AZ volume) or in memory.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use borealis_engine::{Database, DatabaseOptions};
use borealis_server::{cluster, tls, Server, ServerConfig};
use borealis_storage::{LocalVolume, VolumeConfig};
use clap::{Args, Parser, Subcommand};

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
    /// Read replicas to run in this process on the same volume (at most 15), served
    /// behind the reader endpoint.
    #[arg(long, default_value_t = 0)]
    replicas: usize,
    /// Port of the reader endpoint (default: --port + 1; 0 picks a free port).
    #[arg(long)]
    reader_port: Option<u16>,
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

fn serve(args: ServeArgs) -> Result<(), String> {
    cluster::check_replica_count(args.replicas)?;
    // Replicas need the volume itself (for follower handles): open it here.
    let volume = if args.replicas > 0 {
        Some(cluster_volume(&args)?)
    } else {
        None
    };
    let db = if let Some(v) = &volume {
        Database::open_on(v.clone(), cluster_db_options(&args))
    } else if args.in_memory {
        Database::open_in_memory()
    } else {
        std::fs::create_dir_all(&args.datadir)
            .map_err(|e| format!("creating {}: {e}", args.datadir.display()))?;
        Database::open(&args.datadir)
    }
    .map_err(|e| format!("opening the database: {e}"))?;

    let (password, generated) = match args.root_password.clone() {
        Some(p) => (p, false),
        None => (generate_password(), true),
    };
    let created = db
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
    let server = Server::bind(Arc::new(db), config.clone())
        .map_err(|e| format!("listening on {}:{}: {e}", args.bind_address, args.port))?;
    let addr = server.local_addr().map_err(|e| e.to_string())?;
    let handle = server.handle().map_err(|e| e.to_string())?;
    let readers = match &volume {
        Some(v) => Some(cluster::start_readers(
            v,
            args.replicas,
            cluster_db_options(&args),
            &config,
            SocketAddr::new(args.bind_address, reader_port(&args)),
            handle.local_addr(),
        )?),
        None => None,
    };
    let reader_handle = readers.as_ref().map(|r| r.endpoint.clone());
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

/// The writer's volume when replicas share it (same layout as `Database::open`).
fn cluster_volume(args: &ServeArgs) -> Result<Arc<LocalVolume>, String> {
    let cfg = if args.in_memory {
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
