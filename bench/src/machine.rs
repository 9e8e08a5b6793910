//! What a result was measured on: CPU, memory, disk, kernel, OS, software versions and
//! the exact command. Read from /proc, /sys and /etc at run time so every result file
//! carries its own context; anything unreadable is reported as "unknown".

use std::path::Path;
use std::process::Command;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Machine {
    pub cores: usize,
    pub cpu_model: String,
    pub mem_total_gib: f64,
    pub kernel: String,
    pub os: String,
    /// Filesystem, device and its queue properties for the data directory.
    pub disk: String,
    pub borealis_version: String,
    pub git_commit: String,
    pub rustc: String,
    pub command: String,
    /// UTC, RFC 3339.
    pub date: String,
    /// /proc/loadavg when the results were written: other work on the machine
    /// competes with the measured servers.
    pub loadavg: String,
}

fn read(path: &str) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

fn cmd(prog: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(prog).args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The mount holding `path` (longest mount point prefix) and its block device facts.
pub fn disk_of(path: &Path) -> String {
    let abs = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let mounts = read("/proc/mounts").unwrap_or_default();
    let mut best: Option<(String, String, String)> = None;
    for line in mounts.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 3 {
            continue;
        }
        if abs.starts_with(f[1]) && best.as_ref().is_none_or(|b| f[1].len() > b.1.len()) {
            best = Some((f[0].to_string(), f[1].to_string(), f[2].to_string()));
        }
    }
    let Some((dev, mnt, fstype)) = best else {
        return "unknown".into();
    };
    let mut s = format!("{fstype} on {dev} (mounted at {mnt})");
    // /dev/vda1 -> vda: the queue attributes live on the whole disk.
    let name = dev.trim_start_matches("/dev/");
    let base: String = name
        .trim_end_matches(|c: char| c.is_ascii_digit())
        .trim_end_matches('p')
        .to_string();
    for dev in [name, base.as_str()] {
        let q = format!("/sys/block/{dev}/queue");
        if let Some(rot) = read(&format!("{q}/rotational")) {
            let wc = read(&format!("{q}/write_cache")).unwrap_or_default();
            s.push_str(&format!(
                ", rotational={}, write_cache={}",
                rot.trim(),
                wc.trim()
            ));
            break;
        }
    }
    s
}

/// Current UTC time as RFC 3339 (from the system clock, no timezone database needed).
pub fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil-from-days (proleptic Gregorian), Howard Hinnant's algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

impl Machine {
    /// Describe this machine; `data_dir` is where the measured data lives.
    pub fn detect(data_dir: &Path) -> Machine {
        let cpuinfo = read("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split(':').nth(1))
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|| "unknown".into());
        let mem_kib: f64 = read("/proc/meminfo")
            .and_then(|m| {
                m.lines()
                    .find(|l| l.starts_with("MemTotal:"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|v| v.parse().ok())
            })
            .unwrap_or(0.0);
        let os = read("/etc/os-release")
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("PRETTY_NAME="))
                    .map(|l| l["PRETTY_NAME=".len()..].trim_matches('"').to_string())
            })
            .unwrap_or_else(|| "unknown".into());
        Machine {
            cores: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(0),
            cpu_model,
            mem_total_gib: mem_kib / (1024.0 * 1024.0),
            kernel: read("/proc/sys/kernel/osrelease")
                .map(|s| s.trim().to_string())
                .unwrap_or_else(|| "unknown".into()),
            os,
            disk: disk_of(data_dir),
            borealis_version: borealis_engine::SERVER_VERSION.to_string(),
            git_commit: cmd("git", &["rev-parse", "--short=12", "HEAD"])
                .unwrap_or_else(|| "unknown".into()),
            rustc: cmd("rustc", &["--version"]).unwrap_or_else(|| "unknown".into()),
            command: std::env::args()
                .map(|a| if a.contains(' ') { format!("'{a}'") } else { a })
                .collect::<Vec<_>>()
                .join(" "),
            date: utc_now(),
            loadavg: read("/proc/loadavg")
                .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
                .unwrap_or_else(|| "unknown".into()),
        }
    }

    /// A Markdown bullet list.
    pub fn markdown(&self) -> String {
        format!(
            "- date: {} (load average 1/5/15 min before the runs: {})\n- machine: {} cores ({}), {:.1} GiB RAM, kernel {}, {}\n- disk: {}\n- Borealis {} (git {}), {}\n- command: `{}`\n",
            self.date,
            self.loadavg,
            self.cores,
            self.cpu_model,
            self.mem_total_gib,
            self.kernel,
            self.os,
            self.disk,
            self.borealis_version,
            self.git_commit,
            self.rustc,
            self.command
        )
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "date": self.date, "cores": self.cores, "cpu_model": self.cpu_model,
            "mem_total_gib": self.mem_total_gib, "kernel": self.kernel, "os": self.os,
            "disk": self.disk, "borealis_version": self.borealis_version,
            "git_commit": self.git_commit, "rustc": self.rustc, "command": self.command,
            "loadavg": self.loadavg,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_this_machine() {
        let m = Machine::detect(Path::new("."));
        assert!(m.cores >= 1);
        assert!(m.mem_total_gib > 0.0);
        assert!(m.disk != "unknown", "{}", m.disk);
        assert!(m.markdown().contains("cores"));
    }

    #[test]
    fn utc_now_is_rfc3339() {
        let d = utc_now();
        assert_eq!(d.len(), 20, "{d}");
        assert!(d.starts_with("20") && d.ends_with('Z'));
        assert_eq!(&d[10..11], "T");
    }
}
