//! Writer recovery: how a new (or restarted, or promoted) writer opens a volume.
//!
//! 1. Pick an epoch above every epoch any reachable replica has seen, and make a read
//!    quorum (3 of 6) of every PG adopt it: from then on an older writer can gather at
//!    most 3 acks per PG, never a write quorum (fencing).
//! 2. From each responder take, atomically, its applied point and the records above it.
//!    D0 = the highest applied point: every LSN <= D0 was once below an announced VDL,
//!    so it is durable and complete.
//! 3. LSNs are dense, so the volume is complete up to the first LSN above D0 that no
//!    responder of any PG holds (any record that reached a write quorum is held by at
//!    least one member of every read quorum). VDL = the last MTR end at or below it.
//! 4. Record the truncation (new epoch, VDL): records of older epochs above VDL are void
//!    on every replica that learns it (now, or later through gossip and appends).
//! 5. Re-replicate the kept records until a write quorum of every PG holds its tail.
//!
//! No redo is replayed: pages are materialized lazily by the segments, so recovery time
//! depends on the records above D0, not on the size of the log.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::quorum::{NodeId, READ_QUORUM, WRITE_QUORUM};
use crate::record::Record;
use crate::segment::{valid, SegStatus, Trunc};
use crate::transport::Transport;
use crate::{Error, Lsn, Result};

/// What recovery established.
#[derive(Debug)]
pub struct Recovered {
    pub epoch: u64,
    pub truncs: Vec<Trunc>,
    pub vdl: Lsn,
    /// Last LSN <= VDL of every PG.
    pub tails: HashMap<u64, Lsn>,
    /// SCL of every (node, pg) seen at the end.
    pub scls: HashMap<(NodeId, u64), Lsn>,
}

/// Run recovery on `cluster`, waiting up to `timeout` for quorums.
pub fn recover(net: &dyn Transport, members: &[NodeId], timeout: Duration) -> Result<Recovered> {
    let deadline = Instant::now() + timeout;
    loop {
        match try_recover(net, members) {
            Ok(r) => return Ok(r),
            Err(Error::QuorumLost { pg }) if Instant::now() < deadline => {
                tracing::debug!(pg, "recovery waiting for a quorum");
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => return Err(e),
        }
    }
}

fn try_recover(net: &dyn Transport, members: &[NodeId]) -> Result<Recovered> {
    // The PG universe and the highest epoch seen.
    let mut pgs = BTreeSet::new();
    for &n in members {
        if let Ok(v) = net.pgs(n) {
            pgs.extend(v);
        }
    }
    let fresh = pgs.is_empty();
    if fresh {
        pgs.insert(0); // a new volume starts with one PG
    }
    let mut max_epoch = 0;
    let mut truncs: Vec<Trunc> = Vec::new();
    for &pg in &pgs {
        for &n in members {
            if let Ok(Some(s)) = net.poll(n, pg, 0, None) {
                max_epoch = max_epoch.max(s.epoch);
            }
        }
    }
    let epoch = max_epoch + 1;

    // 1. Fence: a read quorum of every PG adopts the new epoch.
    let mut responders: HashMap<u64, Vec<(NodeId, SegStatus)>> = HashMap::new();
    for &pg in &pgs {
        for &n in members {
            if let Ok((st, t)) = net.adopt(n, pg, epoch, &[], fresh) {
                for x in t {
                    if !truncs.contains(&x) {
                        truncs.push(x);
                    }
                }
                if !st.damaged {
                    responders.entry(pg).or_default().push((n, st));
                }
            }
        }
        if responders.get(&pg).map_or(0, |v| v.len()) < READ_QUORUM {
            return Err(Error::QuorumLost { pg });
        }
    }
    truncs.sort();

    // 2. Applied points and unapplied records.
    let mut d0 = 0;
    let mut union: HashMap<u64, BTreeMap<Lsn, Arc<Record>>> = HashMap::new();
    let mut views: Vec<(u64, Lsn, Vec<Arc<Record>>)> = Vec::new();
    for &pg in &pgs {
        let mut got = 0;
        for (n, _) in &responders[&pg] {
            if let Ok((applied, recs)) = net.recovery_records(*n, pg) {
                d0 = d0.max(applied);
                views.push((pg, applied, recs));
                got += 1;
            }
        }
        if got < READ_QUORUM {
            return Err(Error::QuorumLost { pg });
        }
    }
    for (pg, _, recs) in views {
        let u = union.entry(pg).or_default();
        for r in recs {
            if r.lsn <= d0 || !valid(&truncs, r.epoch, r.lsn) {
                continue;
            }
            match u.get(&r.lsn) {
                Some(old) if old.epoch >= r.epoch => {}
                _ => {
                    u.insert(r.lsn, r);
                }
            }
        }
    }

    // 3. VCL and VDL.
    let mut by_lsn: BTreeMap<Lsn, bool> = BTreeMap::new();
    for u in union.values() {
        for r in u.values() {
            by_lsn.insert(r.lsn, r.mtr_end);
        }
    }
    let mut vcl = d0;
    let mut vdl = d0;
    while let Some(&end) = by_lsn.get(&(vcl + 1)) {
        vcl += 1;
        if end {
            vdl = vcl;
        }
    }
    tracing::info!(epoch, d0, vcl, vdl, "recovery established VDL");

    // 4. Truncation.
    let t = Trunc { epoch, vdl };
    if !truncs.contains(&t) {
        truncs.push(t);
        truncs.sort();
    }

    // 5. Tails and re-replication.
    let mut tails = HashMap::new();
    let mut scls = HashMap::new();
    for &pg in &pgs {
        let keep: Vec<Arc<Record>> = union
            .get(&pg)
            .map(|u| u.range(..=vdl).map(|(_, r)| r.clone()).collect())
            .unwrap_or_default();
        // Push first: replicas learn the full truncation history (dropping void records)
        // before they report their tails.
        let mut pushed = Vec::new();
        for &n in members {
            if let Ok(scl) = net.append_sync(n, pg, epoch, &truncs, keep.clone(), vdl) {
                scls.insert((n, pg), scl);
                pushed.push((n, scl));
            }
        }
        let mut tail = keep.last().map_or(0, |r| r.lsn);
        for (n, _) in &responders[&pg] {
            if let Ok(l) = net.tail(*n, pg, vdl) {
                tail = tail.max(l);
            }
        }
        tails.insert(pg, tail);
        let holding = pushed.iter().filter(|(_, scl)| *scl >= tail).count();
        if holding < WRITE_QUORUM {
            // Replicas with older gaps catch up by gossip; try again shortly.
            return Err(Error::QuorumLost { pg });
        }
    }
    Ok(Recovered {
        epoch,
        truncs,
        vdl,
        tails,
        scls,
    })
}
