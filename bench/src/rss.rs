//! Peak resident memory of a process, sampled from /proc while a run goes on.
//!
//! `VmHWM` is the kernel's own peak over the process lifetime; the sampler also keeps
//! the highest `VmRSS` it saw during one run, which is the per-run figure the results
//! report (sampling every 50 ms can miss a shorter spike; `VmHWM` cannot).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// A field of /proc/PID/status in KiB.
pub fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with(field) && l[field.len()..].starts_with(':'))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

pub struct RssSampler {
    pid: u32,
    peak: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl RssSampler {
    pub fn start(pid: u32) -> RssSampler {
        let peak = Arc::new(AtomicU64::new(status_kib(pid, "VmRSS").unwrap_or(0)));
        let stop = Arc::new(AtomicBool::new(false));
        let (p, s) = (peak.clone(), stop.clone());
        let handle = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                if let Some(v) = status_kib(pid, "VmRSS") {
                    p.fetch_max(v, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        RssSampler {
            pid,
            peak,
            stop,
            handle: Some(handle),
        }
    }

    /// Stop sampling; returns (peak VmRSS seen during the run, lifetime VmHWM) in KiB.
    pub fn finish(mut self) -> (u64, Option<u64>) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
        (
            self.peak.load(Ordering::Relaxed),
            status_kib(self.pid, "VmHWM"),
        )
    }
}

impl Drop for RssSampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_rss_is_readable_and_peak_at_least_current() {
        let me = std::process::id();
        let now = status_kib(me, "VmRSS").expect("linux /proc");
        assert!(now > 0);
        let s = RssSampler::start(me);
        let (peak, hwm) = s.finish();
        assert!(peak > 0);
        assert!(hwm.expect("VmHWM") >= peak / 2);
    }
}
