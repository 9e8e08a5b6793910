//! A minimal single-copy in-memory volume: the reference model for tests and the
//! stand-in while the quorum volume is built. No disk, no replicas, VDL == last LSN.

use std::collections::HashMap;

use crossbeam::channel::{unbounded, Receiver, Sender};
use parking_lot::{Condvar, Mutex};

use crate::{
    redo, zero_page, LogEvent, LogRecord, Lsn, PageBuf, PageNo, PageWrite, Result, Volume,
};

#[derive(Default)]
struct Inner {
    last_lsn: Lsn,
    /// Per page: its records in LSN order.
    pages: HashMap<PageNo, Vec<(Lsn, Vec<u8>)>>,
    subscribers: Vec<Sender<LogEvent>>,
}

/// Single-copy in-memory volume (a model, not the product's storage).
#[derive(Default)]
pub struct MemVolume {
    inner: Mutex<Inner>,
    durable: Condvar,
}

impl MemVolume {
    pub fn new() -> Self {
        Self::default()
    }
}

impl Volume for MemVolume {
    fn append_mtr(&self, writes: Vec<PageWrite>) -> Result<Lsn> {
        let mut g = self.inner.lock();
        let n = writes.len();
        let mut recs = Vec::with_capacity(n);
        for (i, w) in writes.into_iter().enumerate() {
            g.last_lsn += 1;
            let lsn = g.last_lsn;
            g.pages
                .entry(w.page)
                .or_default()
                .push((lsn, w.payload.clone()));
            recs.push(LogRecord {
                lsn,
                page: w.page,
                mtr_end: i + 1 == n,
                payload: w.payload,
            });
        }
        let lsn = g.last_lsn;
        g.subscribers.retain(|s| {
            s.send(LogEvent::Records(recs.clone())).is_ok()
                && s.send(LogEvent::Durable(lsn)).is_ok()
        });
        self.durable.notify_all();
        Ok(lsn)
    }

    fn wait_durable(&self, _lsn: Lsn) -> Result<()> {
        Ok(())
    }

    fn durable_lsn(&self) -> Lsn {
        self.inner.lock().last_lsn
    }

    fn last_lsn(&self) -> Lsn {
        self.inner.lock().last_lsn
    }

    fn read_page(&self, page: PageNo, at: Lsn) -> Result<PageBuf> {
        let g = self.inner.lock();
        let mut img = zero_page();
        if let Some(recs) = g.pages.get(&page) {
            for (lsn, p) in recs {
                if *lsn > at {
                    break;
                }
                redo::apply(&mut img, p)?;
            }
        }
        Ok(img)
    }

    fn subscribe(&self) -> Receiver<LogEvent> {
        let (tx, rx) = unbounded();
        self.inner.lock().subscribers.push(tx);
        rx
    }

    fn set_min_read_point(&self, _instance: u64, _at: Lsn) {}
}
