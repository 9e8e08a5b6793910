//! Storage-level figures: append throughput (records/s, MB/s of redo) and commit
//! latency (append + wait until durable) of a `borealis_storage::Volume`, at several
//! numbers of concurrent committers, with and without fsync, plus the bytes this process
//! caused to be written to disk per byte of redo.
//!
//! Each committer loops: build one mini-transaction (one redo write of `record_bytes`
//! into a random page), append it under a mutex (the Volume contract: the engine orders
//! `append_mtr` calls), then wait for durability outside the mutex, so commits of
//! different committers can share one flush (group commit).
//!
//! Bytes written to disk, two ways, both over redo payload bytes:
//! - device: sectors written to the block device holding `--dir` (`/proc/diskstats`),
//!   counted after a `sync()` at the end of the run so fsync-off runs are charged for
//!   their write-back too. Exact when the device holds nothing else (a loop device
//!   made for the run); on a shared disk it includes everyone's writes.
//! - process: `/proc/<pid>/io` `write_bytes` of this process and, for "tcp" (six
//!   `borealis-storage-node` processes started here, one per node, on loopback), of
//!   the node processes. The kernel charges a whole page-cache folio each time one is
//!   dirtied again, so with large folios (ext4 on recent kernels) a 200-byte append
//!   after an fdatasync can count 2 MiB: an upper bound, not what reaches the disk.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use borealis_storage::net::AddrBook;
use borealis_storage::{redo, LocalVolume, PageWrite, Volume, VolumeConfig};
use clap::Args;
use parking_lot::Mutex;

use crate::histogram::Histogram;
use crate::machine::Machine;
use crate::rng::Rng;

#[derive(Args, Clone, Debug)]
pub struct VolumeArgs {
    /// Comma-separated volume implementations: "local" (LocalVolume on disk: six
    /// in-process storage nodes, write quorum 4/6), "tcp" (LocalVolume over TCP to six
    /// `borealis-storage-node` processes started for the run), "local-mem"
    /// (LocalVolume without disk) or "mem" (the single-copy MemVolume model).
    #[arg(long, default_value = "local")]
    pub volume: String,
    /// The storage-node binary for "tcp" (default: `borealis-storage-node` next to this
    /// executable; build it with `cargo build --release -p borealis-storage --bins`).
    #[arg(long)]
    pub node_bin: Option<PathBuf>,
    /// Parent directory for on-disk volumes (default: a temporary directory); each
    /// configuration gets a fresh subdirectory.
    #[arg(long)]
    pub dir: Option<std::path::PathBuf>,
    /// Comma-separated numbers of concurrent committers.
    #[arg(long, default_value = "1,8,64")]
    pub committers: String,
    /// fsync modes to measure: "on,off", "on" or "off" (ignored by volumes without disk).
    #[arg(long, default_value = "on,off")]
    pub fsync: String,
    /// Redo payload bytes per record (a sysbench UPDATE changes about 200 bytes).
    #[arg(long, default_value_t = 200)]
    pub record_bytes: usize,
    /// Seconds per configuration.
    #[arg(long, default_value_t = 3.0)]
    pub time: f64,
    /// Pages the records are spread over.
    #[arg(long, default_value_t = 4096)]
    pub pages: u64,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Write the Markdown table here as well as to stdout.
    #[arg(long)]
    pub out: Option<std::path::PathBuf>,
}

/// The figures of one configuration.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct VolumeResult {
    pub volume: String,
    pub fsync: String,
    pub committers: usize,
    pub records: u64,
    pub redo_bytes: u64,
    pub disk_bytes: Option<u64>,
    pub device_bytes: Option<u64>,
    pub elapsed_s: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub max_us: f64,
}

impl VolumeResult {
    pub fn records_per_s(&self) -> f64 {
        self.records as f64 / self.elapsed_s.max(1e-9)
    }
    pub fn mb_per_s(&self) -> f64 {
        self.redo_bytes as f64 / 1e6 / self.elapsed_s.max(1e-9)
    }
}

/// Bytes this process has caused to be written to storage (`/proc/self/io`).
pub fn process_write_bytes() -> Option<u64> {
    pid_write_bytes("self")
}

/// The block device (as named in /proc/diskstats) of the mount holding `dir`.
pub fn device_of(dir: &Path) -> Option<String> {
    let abs = std::fs::canonicalize(dir).ok()?;
    let mounts = std::fs::read_to_string("/proc/mounts").ok()?;
    let mut best: Option<(&str, &str)> = None;
    for line in mounts.lines() {
        let mut f = line.split_whitespace();
        let (Some(dev), Some(mnt)) = (f.next(), f.next()) else {
            continue;
        };
        if abs.starts_with(mnt) && best.is_none_or(|b| mnt.len() > b.1.len()) {
            best = Some((dev, mnt));
        }
    }
    let dev = best?.0.strip_prefix("/dev/")?;
    device_write_bytes(dev).map(|_| dev.to_string())
}

/// Bytes written to block device `dev` since boot (`/proc/diskstats`, 512-byte sectors).
pub fn device_write_bytes(dev: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/diskstats").ok()?;
    s.lines().find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        (f.get(2) == Some(&dev))
            .then(|| f.get(9)?.parse::<u64>().ok())
            .flatten()
            .map(|sectors| sectors * 512)
    })
}

/// `write_bytes` of `/proc/<pid>/io` (`pid` may be "self").
fn pid_write_bytes(pid: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/io")).ok()?;
    s.lines()
        .find(|l| l.starts_with("write_bytes:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// A volume opened for one measurement.
pub struct Opened {
    pub vol: Arc<dyn Volume>,
    /// The fsync mode to report ("n/a" when the volume has no disk).
    pub fsync_label: String,
    local: Option<Arc<LocalVolume>>,
    /// Storage-node processes ("tcp"), killed on close.
    nodes: Vec<Child>,
    /// The block device the volume's files live on.
    device: Option<String>,
    _tmp: Option<tempfile::TempDir>,
}

impl Opened {
    /// Bytes written so far: (process accounting of this process and the volume's node
    /// processes, sectors written to the volume's device).
    pub fn disk_bytes(&self) -> DiskBytes {
        let process = (|| {
            let mut total = process_write_bytes()?;
            for c in &self.nodes {
                total += pid_write_bytes(&c.id().to_string())?;
            }
            Some(total)
        })();
        DiskBytes {
            process,
            device: self.device.as_deref().and_then(device_write_bytes),
        }
    }

    /// Stop the volume's background work (its nodes' threads or processes) before the
    /// next one.
    pub fn close(mut self) {
        if let Some(l) = &self.local {
            l.close();
        }
        for c in &mut self.nodes {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Opened {
    fn drop(&mut self) {
        for c in &mut self.nodes {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Bytes-written counters at one moment (see the module doc).
#[derive(Clone, Copy, Debug, Default)]
pub struct DiskBytes {
    pub process: Option<u64>,
    pub device: Option<u64>,
}

impl DiskBytes {
    /// This process only, no device.
    pub fn this_process() -> DiskBytes {
        DiskBytes {
            process: process_write_bytes(),
            device: None,
        }
    }
}

fn fresh_dir(dir: Option<&Path>) -> Result<tempfile::TempDir, String> {
    let mut b = tempfile::Builder::new();
    b.prefix("borealis-bench-volume");
    match dir {
        Some(d) => {
            std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
            b.tempdir_in(d)
        }
        None => b.tempdir(),
    }
    .map_err(|e| e.to_string())
}

/// The storage-node binary: `explicit`, or `borealis-storage-node` next to this
/// executable (or one level up, for test binaries in `deps/`).
pub fn node_binary(explicit: Option<&Path>) -> Result<PathBuf, String> {
    if let Some(p) = explicit {
        return Ok(p.to_path_buf());
    }
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let here = exe.parent();
    let up = here
        .filter(|d| d.ends_with("deps"))
        .and_then(|d| d.parent());
    for d in [here, up].into_iter().flatten() {
        let cand = d.join("borealis-storage-node");
        if cand.is_file() {
            return Ok(cand);
        }
    }
    Err(format!(
        "borealis-storage-node not found next to {} (cargo build --release -p \
         borealis-storage --bins, or --node-bin)",
        exe.display()
    ))
}

/// Start six storage-node processes (node `i` in AZ `i / 2`) publishing their
/// addresses in `base/addrs`; returns once all listen.
fn spawn_nodes(bin: &Path, base: &Path, fsync: bool) -> Result<Vec<Child>, String> {
    let mut nodes = Vec::new();
    for id in 0..6 {
        let mut cmd = Command::new(bin);
        cmd.args(["--id", &id.to_string(), "--az", &(id / 2).to_string()])
            .arg("--dir")
            .arg(base.join(format!("node-{id}")))
            .arg("--peers-dir")
            .arg(base.join("addrs"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if !fsync {
            cmd.arg("--no-fsync");
        }
        let mut ch = cmd.spawn().map_err(|e| format!("{}: {e}", bin.display()))?;
        let mut line = String::new();
        let out = ch.stdout.take().ok_or("no stdout")?;
        let _ = BufReader::new(out).read_line(&mut line);
        nodes.push(ch);
        if !line.starts_with("listening") {
            for c in &mut nodes {
                let _ = c.kill();
                let _ = c.wait();
            }
            return Err(format!("storage node {id} did not start: {line:?}"));
        }
    }
    Ok(nodes)
}

/// Open a fresh volume of `kind` ("local", "local-mem" or "mem"); `fsync` applies to
/// on-disk volumes, which live in a new directory under `dir` (or a temporary one).
pub fn open_volume(
    kind: &str,
    dir: Option<&Path>,
    fsync: bool,
    node_bin: Option<&Path>,
) -> Result<Opened, String> {
    let fsync_label = if fsync { "on" } else { "off" };
    match kind {
        "mem" => Ok(Opened {
            vol: Arc::new(borealis_storage::mem::MemVolume::new()),
            fsync_label: "n/a (no disk)".into(),
            local: None,
            nodes: Vec::new(),
            device: None,
            _tmp: None,
        }),
        "local-mem" => {
            let l = LocalVolume::open(VolumeConfig::in_memory()).map_err(|e| e.to_string())?;
            Ok(Opened {
                vol: l.clone(),
                fsync_label: "n/a (no disk)".into(),
                local: Some(l),
                nodes: Vec::new(),
                device: None,
                _tmp: None,
            })
        }
        "local" => {
            let tmp = fresh_dir(dir)?;
            let cfg = VolumeConfig {
                fsync,
                ..VolumeConfig::on_disk(tmp.path())
            };
            let l = LocalVolume::open(cfg).map_err(|e| e.to_string())?;
            Ok(Opened {
                vol: l.clone(),
                fsync_label: fsync_label.into(),
                local: Some(l),
                nodes: Vec::new(),
                device: device_of(tmp.path()),
                _tmp: Some(tmp),
            })
        }
        "tcp" => {
            let tmp = fresh_dir(dir)?;
            let bin = node_binary(node_bin)?;
            let nodes = spawn_nodes(&bin, tmp.path(), fsync)?;
            let mut opened = Opened {
                vol: Arc::new(borealis_storage::mem::MemVolume::new()),
                fsync_label: fsync_label.into(),
                local: None,
                nodes,
                device: device_of(tmp.path()),
                _tmp: None,
            };
            let cfg = VolumeConfig {
                fsync,
                nodes: Some(AddrBook::in_dir(tmp.path().join("addrs"))),
                ..VolumeConfig::default()
            };
            let l = LocalVolume::open(cfg).map_err(|e| e.to_string())?;
            opened.vol = l.clone();
            opened.local = Some(l);
            opened._tmp = Some(tmp);
            Ok(opened)
        }
        other => Err(format!(
            "unknown volume '{other}' (have: local, tcp, local-mem, mem)"
        )),
    }
}

/// Measure one configuration (`disk`: bytes written to disk so far by everything the
/// volume runs on).
#[allow(clippy::too_many_arguments)] // one flat call per configuration reads best
pub fn measure(
    vol: Arc<dyn Volume>,
    disk: &dyn Fn() -> DiskBytes,
    label: (&str, &str),
    committers: usize,
    record_bytes: usize,
    pages: u64,
    time: Duration,
    seed: u64,
) -> Result<VolumeResult, String> {
    let order = Mutex::new(());
    let stop = AtomicBool::new(false);
    // Start from clean page caches: what opening the volume left dirty is not ours.
    // SAFETY: sync(2) takes no arguments and has no memory-safety preconditions.
    unsafe { libc::sync() };
    let disk0 = disk();
    let t0 = Instant::now();
    let per_thread: Vec<Result<(Histogram, u64, u64), String>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..committers.max(1))
            .map(|i| {
                let (vol, order, stop) = (&vol, &order, &stop);
                s.spawn(move || -> Result<(Histogram, u64, u64), String> {
                    let mut rng = Rng::for_thread(seed, i);
                    let mut h = Histogram::default();
                    let (mut n, mut bytes) = (0u64, 0u64);
                    let data = vec![0xabu8; record_bytes.min(borealis_storage::PAGE_SIZE - 64)];
                    while !stop.load(Ordering::Relaxed) {
                        let page = rng.next_u64() % pages.max(1);
                        let off =
                            (rng.next_u64() as usize) % (borealis_storage::PAGE_SIZE - data.len());
                        let mut payload = Vec::with_capacity(data.len() + 5);
                        redo::push_write(&mut payload, off, &data);
                        bytes += payload.len() as u64;
                        let start = Instant::now();
                        let lsn = {
                            let _g = order.lock();
                            vol.append_mtr(vec![PageWrite { page, payload }])
                                .map_err(|e| e.to_string())?
                        };
                        vol.wait_durable(lsn).map_err(|e| e.to_string())?;
                        h.record(start.elapsed().as_nanos() as u64);
                        n += 1;
                    }
                    Ok((h, n, bytes))
                })
            })
            .collect();
        std::thread::sleep(time);
        stop.store(true, Ordering::Relaxed);
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("committer panicked".into()))
            })
            .collect()
    });
    let elapsed = t0.elapsed().as_secs_f64();
    let mut h = Histogram::default();
    let (mut records, mut redo_bytes) = (0, 0);
    for r in per_thread {
        let (hh, n, b) = r?;
        h.merge(&hh);
        records += n;
        redo_bytes += b;
    }
    // Write-back of what the run left dirty belongs to the run.
    // SAFETY: sync(2) takes no arguments and has no memory-safety preconditions.
    unsafe { libc::sync() };
    let disk1 = disk();
    let delta = |a: Option<u64>, b: Option<u64>| Some(b?.saturating_sub(a?));
    let disk_bytes = delta(disk0.process, disk1.process);
    let device_bytes = delta(disk0.device, disk1.device);
    Ok(VolumeResult {
        volume: label.0.into(),
        fsync: label.1.into(),
        committers,
        records,
        redo_bytes,
        disk_bytes,
        device_bytes,
        elapsed_s: elapsed,
        p50_us: h.quantile(0.5) as f64 / 1e3,
        p99_us: h.quantile(0.99) as f64 / 1e3,
        max_us: h.max() as f64 / 1e3,
    })
}

pub fn markdown(results: &[VolumeResult]) -> String {
    let mut s = String::from("| volume | fsync | committers | records/s | redo MB/s | commit p50 us | commit p99 us | max us | device bytes / redo byte | process write_bytes / redo byte |\n|---|---|---|---|---|---|---|---|---|---|\n");
    for r in results {
        let ratio = |d: Option<u64>| match d {
            Some(d) if r.redo_bytes > 0 => format!("{:.1}", d as f64 / r.redo_bytes as f64),
            _ => "-".into(),
        };
        s.push_str(&format!(
            "| {} | {} | {} | {:.0} | {:.2} | {:.1} | {:.1} | {:.0} | {} | {} |\n",
            r.volume,
            r.fsync,
            r.committers,
            r.records_per_s(),
            r.mb_per_s(),
            r.p50_us,
            r.p99_us,
            r.max_us,
            ratio(r.device_bytes),
            ratio(r.disk_bytes)
        ));
    }
    s
}

pub fn main(a: &VolumeArgs) -> Result<(), String> {
    let committers: Vec<usize> = a
        .committers
        .split(',')
        .map(|x| {
            x.trim()
                .parse()
                .map_err(|_| format!("bad committer count '{x}'"))
        })
        .collect::<Result<_, _>>()?;
    let mut results = Vec::new();
    for kind in a.volume.split(',').map(str::trim) {
        let mut seen_labels = Vec::new();
        for f in a.fsync.split(',') {
            let fsync = matches!(f.trim(), "on" | "true" | "1");
            for &n in &committers {
                let opened = open_volume(kind, a.dir.as_deref(), fsync, a.node_bin.as_deref())?;
                let label = opened.fsync_label.clone();
                // A volume without disk has one mode only: measure it once.
                if seen_labels.contains(&(label.clone(), n)) {
                    opened.close();
                    continue;
                }
                seen_labels.push((label.clone(), n));
                let r = measure(
                    opened.vol.clone(),
                    &|| opened.disk_bytes(),
                    (kind, &label),
                    n,
                    a.record_bytes,
                    a.pages,
                    Duration::from_secs_f64(a.time),
                    a.seed,
                );
                opened.close();
                let r = r?;
                eprintln!(
                    "{} fsync={} committers={}: {:.0} records/s, p99 {:.1} us",
                    r.volume,
                    r.fsync,
                    n,
                    r.records_per_s(),
                    r.p99_us
                );
                results.push(r);
            }
        }
    }
    let dir = a.dir.clone().unwrap_or_else(|| ".".into());
    let text = format!(
        "# Volume figures\n\n{}\nRecord: one redo write of {} bytes (+5 header) into one of {} pages per mini-transaction; {:.0} s per configuration.\n\n{}",
        Machine::detect(&dir).markdown(),
        a.record_bytes,
        a.pages,
        a.time,
        markdown(&results)
    );
    println!("{text}");
    if let Some(out) = &a.out {
        std::fs::write(out, &text).map_err(|e| format!("{}: {e}", out.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mem_volume_commits_and_counts() {
        let opened = open_volume("mem", None, true, None).expect("mem volume");
        let vol = opened.vol.clone();
        let r = measure(
            vol.clone(),
            &DiskBytes::this_process,
            ("mem", &opened.fsync_label),
            4,
            100,
            64,
            Duration::from_millis(200),
            3,
        )
        .expect("measure");
        assert!(r.records > 0);
        assert_eq!(r.redo_bytes, r.records * 105);
        assert!(r.p50_us > 0.0 && r.p99_us >= r.p50_us);
        // Every record got an LSN and is durable.
        assert_eq!(vol.last_lsn(), r.records);
        assert_eq!(vol.durable_lsn(), r.records);
        assert!(markdown(&[r]).contains("| mem |"));
    }

    #[test]
    fn local_volume_on_disk_writes_redo_durably() {
        let dir = tempfile::tempdir().expect("tempdir");
        let opened = open_volume("local", Some(dir.path()), true, None).expect("local volume");
        let vol = opened.vol.clone();
        let r = measure(
            vol.clone(),
            &|| opened.disk_bytes(),
            ("local", &opened.fsync_label),
            2,
            200,
            64,
            Duration::from_millis(300),
            5,
        )
        .expect("measure");
        assert!(r.records > 0);
        assert!(
            vol.durable_lsn() >= r.records,
            "every commit waited for durability"
        );
        opened.close();
    }

    #[test]
    fn unknown_volume_is_an_error() {
        assert!(open_volume("nope", None, true, None).is_err());
    }
}
