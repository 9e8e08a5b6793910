//! Helpers shared by the storage integration tests: small volumes, payloads, a model.
#![allow(dead_code)]

pub mod procs;

use std::time::{Duration, Instant};

use borealis_storage::volume::VolumeConfig;
use borealis_storage::{redo, zero_page, Lsn, PageBuf, PageNo, PageWrite, Volume, PAGE_SIZE};

/// Tiny segments (8 pages per PG) so tests cross PG boundaries; fast ticks.
pub fn small(dir: Option<&std::path::Path>) -> VolumeConfig {
    let mut c = match dir {
        Some(d) => VolumeConfig::on_disk(d),
        None => VolumeConfig::in_memory(),
    };
    c.segment_bytes = 8 * PAGE_SIZE as u64;
    c.fsync = false;
    c.tick = Duration::from_millis(5);
    c.resend_after = Duration::from_millis(50);
    c.write_timeout = Some(Duration::from_secs(20));
    c.open_timeout = Duration::from_secs(20);
    c.log_compact_bytes = 16 << 10;
    // The fault tests wait for pages to be materialized with few records written: by
    // the period, whatever the default becomes.
    c.materialize_every = Duration::from_secs(5);
    c
}

/// A write of `tag` (8 bytes) at a position derived from `lsn_hint` on `page`.
pub fn write(page: PageNo, slot: u64, tag: u64) -> PageWrite {
    let mut payload = Vec::new();
    let off = (slot as usize * 8) % (PAGE_SIZE - 8);
    redo::push_write(&mut payload, off, &tag.to_le_bytes());
    PageWrite { page, payload }
}

/// The reference model: every MTR appended, by LSN; the expected page at a read point
/// is the zero page with every write of an MTR at or below it applied in order.
#[derive(Default)]
pub struct Checker {
    pub mtrs: Vec<(Lsn, Vec<PageWrite>)>,
    /// Highest LSN acknowledged durable.
    pub acked: Lsn,
}

impl Checker {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn append(
        &mut self,
        v: &dyn Volume,
        writes: Vec<PageWrite>,
    ) -> borealis_storage::Result<Lsn> {
        let l = v.append_mtr(writes.clone())?;
        self.mtrs.push((l, writes));
        Ok(l)
    }

    /// Append and wait until durable.
    pub fn commit(
        &mut self,
        v: &dyn Volume,
        writes: Vec<PageWrite>,
    ) -> borealis_storage::Result<Lsn> {
        let l = self.append(v, writes)?;
        v.wait_durable(l)?;
        self.acked = self.acked.max(l);
        Ok(l)
    }

    /// A writer recovered to `vdl`: nothing acknowledged may be lost, and MTRs above it
    /// are gone (their LSNs will be reused).
    pub fn recovered(&mut self, vdl: Lsn) {
        assert!(
            vdl >= self.acked,
            "acknowledged lsn {} lost: vdl {vdl}",
            self.acked
        );
        assert!(
            vdl == 0 || self.mtrs.iter().any(|(l, _)| *l == vdl),
            "vdl {vdl} is not an MTR end"
        );
        self.mtrs.retain(|(l, _)| *l <= vdl);
    }

    pub fn expected(&self, page: PageNo, at: Lsn) -> PageBuf {
        let mut img = zero_page();
        for (l, ws) in &self.mtrs {
            if *l > at {
                break;
            }
            for w in ws {
                if w.page == page {
                    redo::apply(&mut img, &w.payload).unwrap();
                }
            }
        }
        img
    }

    /// Every page in `pages` reads as the model says at the volume's VDL.
    pub fn verify(&self, v: &dyn Volume, pages: impl IntoIterator<Item = PageNo>) {
        let vdl = v.durable_lsn();
        for p in pages {
            let got = v
                .read_page(p, vdl)
                .unwrap_or_else(|e| panic!("read page {p}: {e}"));
            assert!(
                got == self.expected(p, vdl),
                "page {p} differs at vdl {vdl}"
            );
        }
    }
}

/// Wait until `f` holds, or panic after `secs`.
pub fn eventually(secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < Duration::from_secs(secs), "timed out: {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}
