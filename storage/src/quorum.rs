//! Quorum bookkeeping of a writer, as a pure state machine: no threads, clocks or I/O,
//! so it is driven deterministically by tests (and by the volume with real acks).
//!
//! It allocates LSNs (global, dense: every LSN is exactly one record of one PG) with the
//! per-PG back-link, tracks the SCL every replica reported per PG, and derives:
//! - VCL: the highest LSN such that every record at or below it is held by a write
//!   quorum (4 of 6) of its PG, in every active quorum set;
//! - VDL: the highest MTR end (CPL) at or below VCL;
//! - which replicas may serve a read of a PG at a read point (one whose SCL covers the
//!   PG's last record at or below it).
//!
//! Membership change (replacing a node): while two quorum sets are active (old ABCDEF
//! and new ABCDEG), a record is durable only with a write quorum in both; the volume
//! finishes the change once the new member caught up.
//!
//! Invariants: VDL <= VCL <= last allocated LSN; VCL and VDL never decrease; a replica's
//! recorded SCL never decreases (a replica that loses data is a failure the quorum
//! absorbs; reads re-check SCL on the node itself).

use std::collections::{BTreeSet, HashMap, VecDeque};

use crate::Lsn;

/// Storage node identifier.
pub type NodeId = usize;

/// Replicas per protection group.
pub const REPLICAS: usize = 6;
/// Write quorum.
pub const WRITE_QUORUM: usize = 4;
/// Read quorum (recovery only).
pub const READ_QUORUM: usize = 3;

#[derive(Clone, Copy, Debug)]
struct Pending {
    lsn: Lsn,
    pg: u64,
    mtr_end: bool,
}

#[derive(Default, Debug)]
struct PgState {
    /// Last LSN allocated in this PG (the next record's back-link).
    tail: Lsn,
    scl: HashMap<NodeId, Lsn>,
    /// LSNs of this PG above `floor`.
    recent: BTreeSet<Lsn>,
    /// A PG record LSN (or 0) held by a write quorum; older LSNs are forgotten.
    floor: Lsn,
}

/// The writer's quorum state.
#[derive(Debug)]
pub struct Tracker {
    sets: Vec<Vec<NodeId>>,
    next: Lsn,
    vcl: Lsn,
    vdl: Lsn,
    pending: VecDeque<Pending>,
    pgs: HashMap<u64, PgState>,
}

impl Tracker {
    /// A tracker for a volume whose VDL is `vdl` (all records up to it durable) and whose
    /// PGs end at `tails` (pg -> last LSN <= vdl).
    pub fn new(members: Vec<NodeId>, vdl: Lsn, tails: &HashMap<u64, Lsn>) -> Self {
        assert_eq!(members.len(), REPLICAS, "a quorum set has six members");
        let pgs = tails
            .iter()
            .map(|(&pg, &tail)| {
                (
                    pg,
                    PgState {
                        tail,
                        floor: tail,
                        ..Default::default()
                    },
                )
            })
            .collect();
        Self {
            sets: vec![members],
            next: vdl + 1,
            vcl: vdl,
            vdl,
            pending: VecDeque::new(),
            pgs,
        }
    }

    pub fn vcl(&self) -> Lsn {
        self.vcl
    }
    pub fn vdl(&self) -> Lsn {
        self.vdl
    }
    pub fn last_lsn(&self) -> Lsn {
        self.next - 1
    }
    /// Records allocated but not yet below VCL.
    pub fn in_flight(&self) -> u64 {
        self.next - 1 - self.vcl
    }

    /// Every node in an active quorum set.
    pub fn members(&self) -> Vec<NodeId> {
        let mut v: Vec<NodeId> = self.sets.iter().flatten().copied().collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// Allocate the next LSN for a record of `pg`; returns (lsn, back-link).
    pub fn allocate(&mut self, pg: u64, mtr_end: bool) -> (Lsn, Lsn) {
        let lsn = self.next;
        self.next += 1;
        let st = self.pgs.entry(pg).or_default();
        let prev = st.tail;
        st.tail = lsn;
        st.recent.insert(lsn);
        self.pending.push_back(Pending { lsn, pg, mtr_end });
        (lsn, prev)
    }

    /// PGs where some member's SCL is below the PG's last LSN.
    pub fn lagging_pgs(&self) -> Vec<u64> {
        let members = self.members();
        let mut v: Vec<u64> = self
            .pgs
            .iter()
            .filter(|(_, st)| {
                members
                    .iter()
                    .any(|n| st.scl.get(n).copied().unwrap_or(0) < st.tail)
            })
            .map(|(&pg, _)| pg)
            .collect();
        v.sort_unstable();
        v
    }

    /// Last allocated LSN of `pg` (0 if it has none).
    pub fn pg_tail(&self, pg: u64) -> Lsn {
        self.pgs.get(&pg).map_or(0, |s| s.tail)
    }

    /// Known PGs.
    pub fn pgs(&self) -> Vec<u64> {
        let mut v: Vec<u64> = self.pgs.keys().copied().collect();
        v.sort_unstable();
        v
    }

    /// The SCL `node` last reported for `pg`.
    pub fn scl(&self, pg: u64, node: NodeId) -> Lsn {
        self.pgs
            .get(&pg)
            .and_then(|s| s.scl.get(&node))
            .copied()
            .unwrap_or(0)
    }

    fn quorum_holds(&self, st: &PgState, lsn: Lsn) -> bool {
        self.sets.iter().all(|set| {
            set.iter()
                .filter(|n| st.scl.get(n).is_some_and(|&s| s >= lsn))
                .count()
                >= WRITE_QUORUM
        })
    }

    /// `node` reports it holds every record of `pg` up to `scl`. Returns true if VDL
    /// advanced.
    pub fn ack(&mut self, node: NodeId, pg: u64, scl: Lsn) -> bool {
        let st = self.pgs.entry(pg).or_default();
        let e = st.scl.entry(node).or_insert(0);
        if scl <= *e {
            return false;
        }
        *e = scl;
        self.refresh_floor(pg);
        self.advance()
    }

    fn refresh_floor(&mut self, pg: u64) {
        let st = &self.pgs[&pg];
        // The WRITE_QUORUM-th highest SCL in every set is held by a quorum.
        let mut floor = Lsn::MAX;
        for set in &self.sets {
            let mut s: Vec<Lsn> = set
                .iter()
                .map(|n| st.scl.get(n).copied().unwrap_or(0))
                .collect();
            s.sort_unstable_by(|a, b| b.cmp(a));
            floor = floor.min(s[WRITE_QUORUM - 1]);
        }
        let st = self.pgs.get_mut(&pg).expect("pg exists");
        if floor > st.floor {
            st.floor = floor;
            st.recent = st.recent.split_off(&(floor + 1));
        }
    }

    fn advance(&mut self) -> bool {
        let before = self.vdl;
        while let Some(p) = self.pending.front().copied() {
            let st = &self.pgs[&p.pg];
            if !self.quorum_holds(st, p.lsn) {
                break;
            }
            self.pending.pop_front();
            self.vcl = p.lsn;
            if p.mtr_end {
                self.vdl = p.lsn;
            }
        }
        self.vdl > before
    }

    /// The SCL a replica of `pg` needs to serve a read at `at` exactly: the PG's last
    /// record at or below `at` (or a quorum-held point above it, when that is forgotten).
    pub fn read_need(&self, pg: u64, at: Lsn) -> Lsn {
        match self.pgs.get(&pg) {
            None => 0,
            Some(st) => match st.recent.range(..=at).next_back() {
                Some(&l) => l,
                None => st.floor.min(st.tail),
            },
        }
    }

    /// Replicas that may serve `pg` at `at`, best first (highest SCL), with the need.
    pub fn read_candidates(&self, pg: u64, at: Lsn) -> (Lsn, Vec<NodeId>) {
        let need = self.read_need(pg, at);
        let mut c: Vec<(Lsn, NodeId)> = self
            .members()
            .into_iter()
            .map(|n| (self.scl(pg, n), n))
            .filter(|&(s, _)| s >= need)
            .collect();
        c.sort_unstable_by(|a, b| b.cmp(a));
        (need, c.into_iter().map(|(_, n)| n).collect())
    }

    /// Start replacing `old` by `new`: both quorum sets must hold new writes.
    pub fn begin_replace(&mut self, old: NodeId, new: NodeId) {
        let cur = self.sets.last().expect("one set").clone();
        let next: Vec<NodeId> = cur
            .iter()
            .map(|&n| if n == old { new } else { n })
            .collect();
        self.sets.push(next);
    }

    /// Whether `node` holds every PG up to its tail as of `upto` (has caught up).
    pub fn caught_up(&self, node: NodeId, upto: &HashMap<u64, Lsn>) -> bool {
        upto.iter().all(|(&pg, &t)| self.scl(pg, node) >= t)
    }

    /// End a membership change: only the newest quorum set remains.
    pub fn finish_replace(&mut self) {
        let last = self.sets.pop().expect("one set");
        self.sets = vec![last];
        for pg in self.pgs() {
            self.refresh_floor(pg);
        }
        self.advance();
    }

    /// The active quorum sets.
    pub fn sets(&self) -> &[Vec<NodeId>] {
        &self.sets
    }

    /// PG tails (for a membership change: what the new member must reach).
    pub fn tails(&self) -> HashMap<u64, Lsn> {
        self.pgs.iter().map(|(&pg, s)| (pg, s.tail)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn fresh() -> Tracker {
        Tracker::new((0..6).collect(), 0, &HashMap::new())
    }

    #[test]
    fn four_of_six_makes_durable_and_vdl_stops_at_mtr_end() {
        let mut t = fresh();
        assert_eq!(t.allocate(0, false), (1, 0));
        assert_eq!(t.allocate(1, false), (2, 0));
        assert_eq!(t.allocate(0, true), (3, 1));
        for n in 0..3 {
            assert!(!t.ack(n, 0, 3));
        }
        assert_eq!(t.vcl(), 0);
        t.ack(3, 0, 3);
        // Record 2 (pg 1) is not durable yet: VCL stops at 1, no MTR end yet.
        assert_eq!((t.vcl(), t.vdl()), (1, 0));
        for n in 2..6 {
            t.ack(n, 1, 2);
        }
        assert_eq!((t.vcl(), t.vdl()), (3, 3));
        // Acks never move backwards.
        assert!(!t.ack(0, 0, 1));
        assert_eq!(t.scl(0, 0), 3);
    }

    #[test]
    fn read_candidates_cover_the_read_point() {
        let mut t = fresh();
        for _ in 0..5 {
            t.allocate(0, true); // 1..=5
        }
        t.allocate(1, true); // 6
        t.allocate(0, true); // 7
        for n in 0..4 {
            t.ack(n, 0, 7);
        }
        t.ack(4, 0, 5);
        t.ack(5, 0, 3);
        for n in 0..6 {
            t.ack(n, 1, 6);
        }
        // At 6 the last pg-0 record is 5; the tracker may be conservative (it forgets
        // LSNs a quorum holds) but never offers node 5, which lacks record 5.
        let (need, c) = t.read_candidates(0, 6);
        assert!(need >= 5);
        assert!(c.len() >= 4);
        assert!(!c.contains(&5));
        // At 7 only the four with 7.
        assert_eq!(t.read_candidates(0, 7).1.len(), 4);
    }

    #[test]
    fn membership_change_needs_both_quorums() {
        let mut t = fresh();
        t.begin_replace(5, 6);
        t.allocate(0, true);
        for n in [0, 1, 2, 5] {
            t.ack(n, 0, 1);
        }
        // Old set ABCDEF has 4; new set ABCDEG has 3.
        assert_eq!(t.vdl(), 0);
        t.ack(6, 0, 1);
        assert_eq!(t.vdl(), 1);
        let tails = t.tails();
        assert!(t.caught_up(6, &tails));
        t.finish_replace();
        assert_eq!(t.members(), vec![0, 1, 2, 3, 4, 6]);
    }

    /// Random acks against a brute-force model of VCL/VDL.
    #[test]
    fn random_acks_match_model() {
        let seed: u64 = rand::random();
        println!("seed {seed}");
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mut t = fresh();
        let mut recs = Vec::new(); // (lsn, pg, mtr_end)
        let mut held: HashMap<(u64, NodeId), Lsn> = HashMap::new();
        for _ in 0..700 {
            if rng.gen_bool(0.4) {
                let pg = rng.gen_range(0..4);
                let end = rng.gen_bool(0.5);
                let (lsn, _) = t.allocate(pg, end);
                recs.push((lsn, pg, end));
            } else if !recs.is_empty() {
                let n = rng.gen_range(0..6);
                let pg = rng.gen_range(0..4);
                let tail = t.pg_tail(pg);
                let cur = *held.get(&(pg, n)).unwrap_or(&0);
                let scl = rng.gen_range(cur..=tail);
                // SCLs are chain points: round down to a real record of the pg.
                let scl = recs
                    .iter()
                    .filter(|r| r.1 == pg && r.0 <= scl)
                    .map(|r| r.0)
                    .max()
                    .unwrap_or(0);
                if scl > cur {
                    held.insert((pg, n), scl);
                }
                t.ack(n, pg, scl);
            }
            let durable = |&(lsn, pg, _): &(Lsn, u64, bool)| {
                (0..6)
                    .filter(|&n| held.get(&(pg, n)).is_some_and(|&s| s >= lsn))
                    .count()
                    >= 4
            };
            let vcl = recs
                .iter()
                .take_while(|r| durable(r))
                .last()
                .map_or(0, |r| r.0);
            let vdl = recs
                .iter()
                .take_while(|r| durable(r))
                .filter(|r| r.2)
                .last()
                .map_or(0, |r| r.0);
            assert_eq!((t.vcl(), t.vdl()), (vcl, vdl), "seed {seed}");
            for pg in 0..4 {
                let at = rng.gen_range(0..=t.last_lsn());
                let want = recs
                    .iter()
                    .filter(|r| r.1 == pg && r.0 <= at)
                    .map(|r| r.0)
                    .max()
                    .unwrap_or(0);
                let (need, c) = t.read_candidates(pg, at);
                assert!(need >= want, "seed {seed}");
                for n in c {
                    assert!(held.get(&(pg, n)).copied().unwrap_or(0) >= want);
                }
            }
        }
    }
}
