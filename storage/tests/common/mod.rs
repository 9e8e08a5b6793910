//! Helpers shared by the storage integration tests: small volumes, payloads, a model.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use borealis_storage::mem::MemVolume;
use borealis_storage::volume::VolumeConfig;
use borealis_storage::{redo, Lsn, PageNo, PageWrite, Volume, PAGE_SIZE};

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
    c
}

/// A write of `tag` (8 bytes) at a position derived from `lsn_hint` on `page`.
pub fn write(page: PageNo, slot: u64, tag: u64) -> PageWrite {
    let mut payload = Vec::new();
    let off = (slot as usize * 8) % (PAGE_SIZE - 8);
    redo::push_write(&mut payload, off, &tag.to_le_bytes());
    PageWrite { page, payload }
}

/// Applies the same MTRs to a reference model.
pub struct Checker {
    pub model: MemVolume,
    /// (LSN in the real volume, LSN in the model) of each acknowledged MTR.
    pub acked: Vec<(Lsn, Lsn)>,
}

impl Checker {
    pub fn new() -> Self {
        Self {
            model: MemVolume::new(),
            acked: Vec::new(),
        }
    }

    /// Append to both; returns the real LSN.
    pub fn append(
        &mut self,
        v: &dyn Volume,
        writes: Vec<PageWrite>,
    ) -> borealis_storage::Result<Lsn> {
        let l = v.append_mtr(writes.clone())?;
        let m = self.model.append_mtr(writes)?;
        self.acked.push((l, m));
        Ok(l)
    }

    /// Every page in `pages` reads the same from `v` at its VDL as from the model at the
    /// matching point.
    pub fn verify(&self, v: &dyn Volume, pages: impl IntoIterator<Item = PageNo>) {
        let vdl = v.durable_lsn();
        let m = self
            .acked
            .iter()
            .take_while(|(l, _)| *l <= vdl)
            .last()
            .map_or(0, |x| x.1);
        for p in pages {
            let got = v
                .read_page(p, vdl)
                .unwrap_or_else(|e| panic!("read page {p}: {e}"));
            let want = self.model.read_page(p, m).unwrap();
            assert!(got == want, "page {p} differs at vdl {vdl}");
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
