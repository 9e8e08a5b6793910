//! Transactions: snapshots, private write sets, row locks and commit.
//!
//! Mechanism (see ARCHITECTURE.md, "Transactions"): a transaction's changes stay in its
//! private write set until COMMIT, which applies them to the trees as ONE mini-transaction
//! on the volume. The volume therefore only ever holds committed data, a crash needs no
//! undo, and any MTR boundary is a transaction-consistent read point for replicas.
//!
//! Old row versions live in memory: when a commit with sequence number `seq` overwrites a
//! key, the prior value is kept in `undo[tree][key]` tagged with `seq`. A snapshot `S`
//! (the highest commit sequence visible when it was taken) reads the tree and, for a key
//! with undo entries newer than `S`, takes the prior value of the oldest such entry.
//! Entries are dropped once no snapshot older than them can exist. A commit records
//! before it changes a tree, and a reader reads the tree before it looks up versions,
//! so neither holds the version lock while the other works (see `snapshot_scan`).
//!
//! Visibility: a commit becomes visible to new snapshots only after the volume reports it
//! durable (VDL covers it), so no client ever reads data a crash could lose.
//!
//! On a read-only instance (a replica) there are no in-memory versions: the volume holds
//! only committed MTRs, so a snapshot is simply a read point (an LSN) and reads go
//! through pager views at that LSN. The snapshot is pinned in the pager's reader
//! registry, which reports the oldest one to storage so the log it needs is kept.
//!
//! Schema fences: a write set holds index entries computed from the catalog its
//! statements bound against. A DDL that changes a table fences the table's trees with
//! the catalog version it publishes (before it reads the table's rows, and again in its
//! own batch); a commit whose statements bound against an older catalog and that writes a
//! fenced tree fails with 1412 (ER_TABLE_DEF_CHANGED) instead of writing rows the new
//! definition does not account for (an index built without them). Fences are set and
//! checked under the commit lock, so a DDL's row scan sees every commit that passed.
//!
//! Lock order: `commit_lock` before `fences` and `versions` (write); the lock table's
//! mutex is never held while waiting on any of them.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::ops::Bound;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex, RwLock};

use crate::error::{code, Error, Result};
use crate::schema_gate::{SchemaGate, Ticket};
use crate::store::{ScanFn, Store, TreeId, TreeWrite};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isolation {
    ReadUncommitted,
    ReadCommitted,
    RepeatableRead,
    Serializable,
}

impl Isolation {
    pub fn name(&self) -> &'static str {
        match self {
            Isolation::ReadUncommitted => "READ-UNCOMMITTED",
            Isolation::ReadCommitted => "READ-COMMITTED",
            Isolation::RepeatableRead => "REPEATABLE-READ",
            Isolation::Serializable => "SERIALIZABLE",
        }
    }
}

type Key = (TreeId, Vec<u8>);

/// A transaction's private changes: key -> new value (None: deleted).
type WriteSet = BTreeMap<Key, Option<Vec<u8>>>;

/// One transaction's private state.
pub struct Txn {
    pub id: u64,
    pub isolation: Isolation,
    snapshot: Option<u64>,
    /// Replica: the pager reader slot that pins `snapshot` (an LSN) in storage.
    pin: Option<usize>,
    writes: WriteSet,
    /// Previous write-set entries of keys the current statement touched.
    stmt_undo: Vec<(Key, Option<Option<Vec<u8>>>)>,
    locks: HashSet<Key>,
    /// SAVEPOINTs, oldest first: a name and the write set when it was set. Row locks
    /// are not part of it: like InnoDB, a rollback to a savepoint keeps them.
    savepoints: Vec<(String, WriteSet)>,
    /// Locks taken by the current statement (released if it fails and the txn goes on? no:
    /// InnoDB keeps them; kept for bookkeeping only).
    pub read_only: bool,
    pub lock_wait_timeout: Duration,
    /// The oldest catalog version a statement of this transaction bound against
    /// (`u64::MAX`: none; internal batches such as DDL's own are not checked).
    schema_floor: u64,
    /// Its pass through the schema gate, from its first statement to its end.
    ticket: Option<Ticket>,
    /// Set by `KILL QUERY` on the session running this transaction: a lock wait or a
    /// wait at the schema gate ends with 1317 (within [`INTERRUPT_POLL`]).
    pub interrupt: Option<Arc<AtomicBool>>,
}

/// How often a waiting transaction looks at its interrupt flag.
pub const INTERRUPT_POLL: Duration = Duration::from_millis(50);

impl Txn {
    /// A statement of this transaction binds against catalog `version`.
    pub fn note_schema(&mut self, version: u64) {
        self.schema_floor = self.schema_floor.min(version);
    }

    pub fn has_writes(&self) -> bool {
        !self.writes.is_empty()
    }

    /// Start of a statement: READ COMMITTED takes a fresh snapshot per statement.
    pub fn begin_statement(&mut self, mgr: &TxnManager) {
        self.stmt_undo.clear();
        if matches!(
            self.isolation,
            Isolation::ReadCommitted | Isolation::ReadUncommitted
        ) {
            mgr.drop_snapshot(self);
        }
    }

    /// Undo the current statement's writes (the statement failed; the txn goes on).
    pub fn rollback_statement(&mut self) {
        for (k, prev) in self.stmt_undo.drain(..).rev() {
            match prev {
                Some(p) => {
                    self.writes.insert(k, p);
                }
                None => {
                    self.writes.remove(&k);
                }
            }
        }
    }

    pub fn snapshot(&self) -> Option<u64> {
        self.snapshot
    }

    fn savepoint_index(&self, name: &str) -> Option<usize> {
        self.savepoints
            .iter()
            .rposition(|(n, _)| n.eq_ignore_ascii_case(name))
    }

    /// SAVEPOINT name: remember the write set (a savepoint of the same name is replaced).
    pub fn savepoint(&mut self, name: &str) {
        if let Some(i) = self.savepoint_index(name) {
            self.savepoints.remove(i);
        }
        self.savepoints
            .push((name.to_string(), self.writes.clone()));
    }

    /// ROLLBACK TO SAVEPOINT name: the write set as it was; later savepoints are gone,
    /// this one stays. False if there is no such savepoint.
    pub fn rollback_to_savepoint(&mut self, name: &str) -> bool {
        let Some(i) = self.savepoint_index(name) else {
            return false;
        };
        self.savepoints.truncate(i + 1);
        self.writes = self.savepoints[i].1.clone();
        self.stmt_undo.clear();
        true
    }

    /// RELEASE SAVEPOINT name: forget it and every later one. False if there is none.
    pub fn release_savepoint(&mut self, name: &str) -> bool {
        let Some(i) = self.savepoint_index(name) else {
            return false;
        };
        self.savepoints.truncate(i);
        true
    }
}

/// [(commit seq, value before that commit)] in seq order.
type VersionChain = Vec<(u64, Option<Vec<u8>>)>;

#[derive(Default)]
struct Versions {
    /// tree -> key -> its older versions.
    undo: HashMap<TreeId, BTreeMap<Vec<u8>, VersionChain>>,
    /// (seq, tree, key) in seq order, for garbage collection.
    queue: VecDeque<(u64, TreeId, Vec<u8>)>,
}

#[derive(Default)]
struct LockEntry {
    exclusive: Option<u64>,
    shared: Vec<u64>,
}

#[derive(Default)]
struct LockTable {
    locks: HashMap<Key, LockEntry>,
    /// waiter -> the transactions it waits for.
    waits_for: HashMap<u64, Vec<u64>>,
}

/// Commits that may skip old-version collection in a row (see `TxnManager::gc`).
const GC_FORCE_AFTER: u64 = 32;

/// Owns the store, the version state, the snapshot registry and the lock table.
pub struct TxnManager {
    pub store: Arc<Store>,
    versions: RwLock<Versions>,
    /// Bumped (under the `versions` write lock) by every commit after it records old
    /// versions and before it changes any tree: a scan that sees it unchanged since
    /// before it looked up the versions knows no tree entry it read is newer than them.
    recorded: AtomicU64,
    /// Serializes commits; holds the last commit's sequence number. A std mutex, not
    /// parking_lot's: it is held for a whole tree write and log append (tens to
    /// hundreds of microseconds), and parking_lot's waiters call sched_yield up to seven
    /// times before sleeping, which on a busy machine is only context switches
    /// (1.4% of the embedded engine's CPU under 8-thread read-write).
    commit_lock: std::sync::Mutex<u64>,
    /// Tree -> the catalog version from which writes to it are valid (module doc).
    fences: Mutex<HashMap<TreeId, u64>>,
    gate: Arc<SchemaGate>,
    visible: AtomicU64,
    /// Garbage collections skipped in a row because readers held the version lock.
    gc_skipped: AtomicU64,
    snapshots: Mutex<BTreeMap<u64, usize>>,
    lock_table: Mutex<LockTable>,
    lock_cv: Condvar,
    next_txn: AtomicU64,
    /// Read-only instance: snapshots are read points (LSNs), reads go through views.
    replica: bool,
}

impl TxnManager {
    pub fn new(store: Arc<Store>) -> TxnManager {
        TxnManager {
            store,
            versions: RwLock::new(Versions::default()),
            recorded: AtomicU64::new(0),
            commit_lock: std::sync::Mutex::new(0),
            fences: Mutex::new(HashMap::new()),
            gate: Arc::default(),
            visible: AtomicU64::new(0),
            gc_skipped: AtomicU64::new(0),
            snapshots: Mutex::new(BTreeMap::new()),
            lock_table: Mutex::new(LockTable::default()),
            lock_cv: Condvar::new(),
            next_txn: AtomicU64::new(1),
            replica: false,
        }
    }

    /// The transaction manager of a read-only instance (a replica) on a read-only store.
    pub fn new_replica(store: Arc<Store>) -> TxnManager {
        TxnManager {
            replica: true,
            ..TxnManager::new(store)
        }
    }

    /// Whether snapshots are replica read points.
    pub fn is_replica(&self) -> bool {
        self.replica
    }

    pub fn begin(&self, isolation: Isolation, lock_wait_timeout: Duration) -> Txn {
        Txn {
            id: self.next_txn.fetch_add(1, Ordering::Relaxed),
            isolation,
            snapshot: None,
            pin: None,
            writes: BTreeMap::new(),
            stmt_undo: Vec::new(),
            locks: HashSet::new(),
            savepoints: Vec::new(),
            read_only: false,
            lock_wait_timeout,
            schema_floor: u64::MAX,
            ticket: None,
            interrupt: None,
        }
    }

    /// Pass the schema gate before `txn`'s first statement binds (a no-op after that):
    /// waits while a DDL runs, at most the transaction's lock wait timeout (1205).
    pub fn enter_schema(&self, txn: &mut Txn) -> Result<()> {
        if txn.ticket.is_none() {
            let ticket = self
                .gate
                .enter(txn.lock_wait_timeout, txn.interrupt.as_deref())?;
            txn.ticket = Some(ticket);
        }
        Ok(())
    }

    /// The schema gate (see `schema_gate`), which DDL closes.
    pub fn schema_gate(&self) -> &SchemaGate {
        &self.gate
    }

    /// Fence `trees` at catalog `version` (see the module doc): commits that bound
    /// against an older catalog and write one of them fail from now on. Waits for a
    /// commit in progress, so whatever the caller reads next includes it.
    pub fn fence(&self, trees: &[TreeId], version: u64) {
        let _commits = self
            .commit_lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.fence_in_commit(trees, version);
    }

    /// [`Self::fence`] from inside a commit's batch (a DDL's), which holds the commit lock.
    pub fn fence_in_commit(&self, trees: &[TreeId], version: u64) {
        let mut f = self.fences.lock();
        for &t in trees {
            let v = f.entry(t).or_insert(version);
            *v = (*v).max(version);
        }
    }

    /// Take back the fences of catalog `version`, a DDL that did not happen: they drop
    /// to the version before it, the current one (a tree an earlier DDL fenced stays
    /// fenced at least as far as that DDL; its exact version is not kept).
    pub fn unfence(&self, version: u64) {
        for v in self.fences.lock().values_mut() {
            if *v == version {
                *v = version.saturating_sub(1);
            }
        }
    }

    /// 1412 if the write set touches a tree fenced after the catalog its statements
    /// bound against (called under the commit lock).
    fn check_fences(&self, floor: u64, writes: &WriteSet) -> Result<()> {
        if floor == u64::MAX {
            return Ok(());
        }
        let f = self.fences.lock();
        if f.is_empty() {
            return Ok(());
        }
        let mut last = None;
        for (tree, _) in writes.keys() {
            if last == Some(*tree) {
                continue;
            }
            last = Some(*tree);
            if f.get(tree).is_some_and(|&v| v > floor) {
                return Err(Error::new(
                    code::ER_TABLE_DEF_CHANGED,
                    "Table definition has changed, please retry transaction",
                ));
            }
        }
        Ok(())
    }

    /// Take the transaction's snapshot now if it has none (START TRANSACTION WITH
    /// CONSISTENT SNAPSHOT, or the first read).
    pub fn ensure_snapshot(&self, txn: &mut Txn) -> u64 {
        if let Some(s) = txn.snapshot {
            return s;
        }
        if self.replica {
            if let Some(p) = self.store.pager() {
                let (lsn, slot) = p.pin();
                txn.snapshot = Some(lsn);
                txn.pin = slot;
                return lsn;
            }
        }
        let mut snaps = self.snapshots.lock();
        let s = self.visible.load(Ordering::Acquire);
        *snaps.entry(s).or_insert(0) += 1;
        txn.snapshot = Some(s);
        s
    }

    /// Release the transaction's snapshot, if any.
    fn drop_snapshot(&self, txn: &mut Txn) {
        if let Some(s) = txn.snapshot.take() {
            if self.replica {
                if let Some(p) = self.store.pager() {
                    p.unpin(txn.pin.take());
                }
            } else {
                self.release_snapshot(s);
            }
        }
    }

    fn release_snapshot(&self, s: u64) {
        let mut snaps = self.snapshots.lock();
        if let Some(c) = snaps.get_mut(&s) {
            *c -= 1;
            if *c == 0 {
                snaps.remove(&s);
            }
        }
    }

    /// Read one key: own writes first, then the snapshot (or the latest committed value
    /// for a locking read).
    pub fn get(
        &self,
        txn: &mut Txn,
        tree: TreeId,
        key: &[u8],
        locking: bool,
    ) -> Result<Option<Vec<u8>>> {
        if let Some(w) = txn.writes.get(&(tree, key.to_vec())) {
            return Ok(w.clone());
        }
        if self.replica {
            // No writes happen here, so a locking read is a snapshot read too.
            let s = self.ensure_snapshot(txn);
            return self.store.get_at(tree, key, s);
        }
        if locking {
            return self.store.get(tree, key);
        }
        let s = self.ensure_snapshot(txn);
        // Tree first, versions second (see `snapshot_scan`): a commit newer than the
        // snapshot records the prior value before it changes the tree, so if the tree
        // already shows its change, the version lookup below finds the prior value.
        let cur = self.store.get(tree, key)?;
        let v = self.versions.read_recursive();
        if let Some(chain) = v.undo.get(&tree).and_then(|t| t.get(key)) {
            if let Some((_, prior)) = chain.iter().find(|(seq, _)| *seq > s) {
                return Ok(prior.clone());
            }
        }
        Ok(cur)
    }

    /// Scan a key range in order, merging own writes and, for snapshot reads, old
    /// versions over the tree's current contents.
    #[allow(clippy::too_many_arguments)]
    pub fn scan(
        &self,
        txn: &mut Txn,
        tree: TreeId,
        lo: Bound<&[u8]>,
        hi: Bound<&[u8]>,
        reverse: bool,
        locking: bool,
        f: &mut ScanFn<'_>,
    ) -> Result<()> {
        if self.replica {
            let s = self.ensure_snapshot(txn);
            return self.store.scan_at(tree, lo, hi, reverse, s, f);
        }
        if !locking {
            let s = self.ensure_snapshot(txn);
            return self.snapshot_scan(txn, tree, lo, hi, reverse, s, f);
        }
        // A locking read sees the latest committed rows: only own writes override them.
        let mut merge = Overrides::new(own_writes(txn, tree, lo, hi), reverse);
        if merge.is_empty() {
            return self.store.scan(tree, lo, hi, reverse, f);
        }
        self.store
            .scan(tree, lo, hi, reverse, &mut |k, v| merge.emit(k, v, f))?;
        merge.finish(f)
    }

    /// A snapshot scan, without holding the version lock while the tree is read or `f`
    /// runs, so a commit's recording of old versions never waits for a scan.
    ///
    /// The versions of the range are looked up first and the tree is streamed to `f`
    /// with them merged in, as long as no commit records versions meanwhile (the
    /// `recorded` counter, checked after each tree entry is read and once more after the
    /// last). A commit newer than the snapshot records a key's prior value before it
    /// changes the key in the tree, so while the counter stands still, every entry read
    /// (and every key missing between them) is covered by the versions looked up. Once
    /// it moves, the scan goes on through [`Self::chunk_scan`], which produces the same
    /// rows (the snapshot's), skipping those already handed to `f`.
    #[allow(clippy::too_many_arguments)]
    fn snapshot_scan(
        &self,
        txn: &Txn,
        tree: TreeId,
        lo: Bound<&[u8]>,
        hi: Bound<&[u8]>,
        reverse: bool,
        s: u64,
        f: &mut ScanFn<'_>,
    ) -> Result<()> {
        let gen = self.recorded.load(Ordering::Acquire);
        let mut ov = self.versions_in(tree, lo, hi, s);
        ov.extend(own_writes(txn, tree, lo, hi));
        #[cfg(test)]
        if let Some(hook) = BEFORE_TREE_READ.with(|h| h.borrow_mut().take()) {
            hook();
        }
        let mut merge = Overrides::new(ov, reverse);
        let mut moved = false;
        // Rows handed to `f`: a fallback skips that many, since a snapshot's rows are
        // the same whichever path reads them.
        let mut emitted = 0usize;
        {
            let mut counted = |k: &[u8], v: &[u8]| {
                emitted += 1;
                f(k, v)
            };
            self.store.scan(tree, lo, hi, reverse, &mut |k, v| {
                if self.recorded.load(Ordering::Acquire) != gen {
                    moved = true;
                    return Ok(false);
                }
                if merge.is_empty() {
                    let go_on = counted(k, v)?;
                    merge.stopped |= !go_on;
                    return Ok(go_on);
                }
                merge.emit(k, v, &mut counted)
            })?;
            // Once more after the tree's last entry: a commit may have recorded and then
            // deleted keys past it, which only the versions' prior values can show.
            if !moved && (merge.stopped || self.recorded.load(Ordering::Acquire) == gen) {
                return merge.finish(&mut counted);
            }
        }
        if merge.stopped {
            return Ok(());
        }
        #[cfg(test)]
        CHUNK_FALLBACKS.fetch_add(1, Ordering::Relaxed);
        let mut skip = emitted;
        self.chunk_scan(txn, tree, lo, hi, reverse, s, &mut |k, v| {
            if skip > 0 {
                skip -= 1;
                return Ok(true);
            }
            f(k, v)
        })
    }

    /// The prior values, as of snapshot `s`, of the keys of `tree` in `(lo, hi)` that
    /// commits newer than `s` changed.
    fn versions_in(
        &self,
        tree: TreeId,
        lo: Bound<&[u8]>,
        hi: Bound<&[u8]>,
        s: u64,
    ) -> BTreeMap<Vec<u8>, Option<Vec<u8>>> {
        let mut ov = BTreeMap::new();
        if bounds_ok(lo, hi) {
            let v = self.versions.read_recursive();
            if let Some(t) = v.undo.get(&tree) {
                for (k, chain) in t.range::<[u8], _>((lo, hi)) {
                    if let Some((_, prior)) = chain.iter().find(|(seq, _)| *seq > s) {
                        ov.insert(k.clone(), prior.clone());
                    }
                }
            }
        }
        ov
    }

    /// A snapshot scan in chunks, for when commits are recording versions meanwhile.
    ///
    /// Each chunk copies up to `n` tree entries, then looks up the old versions of the
    /// key range those entries cover. That order is what makes it exact: any change the
    /// copied entries show (a new value, or a key deleted from or inserted into the
    /// range) already has its prior value recorded when the versions are looked up.
    /// Changes made after the copy need no prior value: the copy does not show them.
    #[allow(clippy::too_many_arguments)]
    fn chunk_scan(
        &self,
        txn: &Txn,
        tree: TreeId,
        lo: Bound<&[u8]>,
        hi: Bound<&[u8]>,
        reverse: bool,
        s: u64,
        f: &mut ScanFn<'_>,
    ) -> Result<()> {
        // First chunk small (point-like scans and LIMIT copy little), then growing.
        const FIRST_CHUNK: usize = 32;
        const MAX_CHUNK: usize = 1024;
        let mut lo = map_bound(lo, <[u8]>::to_vec);
        let mut hi = map_bound(hi, <[u8]>::to_vec);
        let mut bytes: Vec<u8> = Vec::new();
        // (key start, key end = value start, value end) in `bytes`.
        let mut ents: Vec<(usize, usize, usize)> = Vec::new();
        let mut n = FIRST_CHUNK;
        loop {
            bytes.clear();
            ents.clear();
            self.store.scan(
                tree,
                as_ref_bound(&lo),
                as_ref_bound(&hi),
                reverse,
                &mut |k, v| {
                    let a = bytes.len();
                    bytes.extend_from_slice(k);
                    let b = bytes.len();
                    bytes.extend_from_slice(v);
                    ents.push((a, b, bytes.len()));
                    Ok(ents.len() < n)
                },
            )?;
            let last = if ents.len() < n {
                None
            } else {
                ents.last().map(|&(a, b, _)| bytes[a..b].to_vec())
            };
            // The key range this chunk covers: to its last key, or to the end when the
            // tree had no more.
            let (clo, chi) = match (&last, reverse) {
                (None, _) => (as_ref_bound(&lo), as_ref_bound(&hi)),
                (Some(k), false) => (as_ref_bound(&lo), Bound::Included(k.as_slice())),
                (Some(k), true) => (Bound::Included(k.as_slice()), as_ref_bound(&hi)),
            };
            let mut ov = self.versions_in(tree, clo, chi, s);
            ov.extend(own_writes(txn, tree, clo, chi));
            let mut merge = Overrides::new(ov, reverse);
            for &(a, b, c) in &ents {
                if !merge.emit(&bytes[a..b], &bytes[b..c], f)? {
                    return Ok(());
                }
            }
            merge.finish(f)?;
            if merge.stopped {
                return Ok(());
            }
            let Some(last) = last else {
                return Ok(());
            };
            if reverse {
                hi = Bound::Excluded(last);
            } else {
                lo = Bound::Excluded(last);
            }
            n = (n * 4).min(MAX_CHUNK);
        }
    }

    /// Buffer a write (None deletes). The caller holds the row lock.
    pub fn write(&self, txn: &mut Txn, tree: TreeId, key: Vec<u8>, value: Option<Vec<u8>>) {
        let k = (tree, key);
        let prev = txn.writes.insert(k.clone(), value);
        txn.stmt_undo.push((k, prev));
    }

    /// Take a row lock, waiting up to the transaction's lock wait timeout.
    /// Errors: 1205 on timeout, 1213 when waiting would deadlock.
    pub fn lock(&self, txn: &mut Txn, tree: TreeId, key: &[u8], exclusive: bool) -> Result<()> {
        let k = (tree, key.to_vec());
        let deadline = Instant::now() + txn.lock_wait_timeout;
        let mut lt = self.lock_table.lock();
        loop {
            let e = lt.locks.entry(k.clone()).or_default();
            let holders: Vec<u64> = if exclusive {
                e.exclusive
                    .iter()
                    .copied()
                    .chain(e.shared.iter().copied())
                    .filter(|&t| t != txn.id)
                    .collect()
            } else {
                e.exclusive
                    .iter()
                    .copied()
                    .filter(|&t| t != txn.id)
                    .collect()
            };
            if holders.is_empty() {
                if exclusive {
                    e.exclusive = Some(txn.id);
                } else if e.exclusive != Some(txn.id) && !e.shared.contains(&txn.id) {
                    e.shared.push(txn.id);
                }
                lt.waits_for.remove(&txn.id);
                txn.locks.insert(k);
                return Ok(());
            }
            // Would waiting close a cycle in the wait-for graph?
            if Self::reaches(&lt.waits_for, &holders, txn.id) {
                lt.waits_for.remove(&txn.id);
                return Err(Error::new(
                    code::ER_LOCK_DEADLOCK,
                    "Deadlock found when trying to get lock; try restarting transaction",
                ));
            }
            lt.waits_for.insert(txn.id, holders);
            // Wake up now and then to look at the interrupt flag (KILL QUERY).
            let until = deadline.min(Instant::now() + INTERRUPT_POLL);
            let woke_late = self.lock_cv.wait_until(&mut lt, until).timed_out();
            if txn
                .interrupt
                .as_ref()
                .is_some_and(|f| f.load(Ordering::SeqCst))
            {
                lt.waits_for.remove(&txn.id);
                return Err(Error::interrupted());
            }
            if woke_late && Instant::now() >= deadline {
                lt.waits_for.remove(&txn.id);
                return Err(Error::lock_wait_timeout());
            }
        }
    }

    fn reaches(g: &HashMap<u64, Vec<u64>>, from: &[u64], target: u64) -> bool {
        let mut stack: Vec<u64> = from.to_vec();
        let mut seen = HashSet::new();
        while let Some(t) = stack.pop() {
            if t == target {
                return true;
            }
            if seen.insert(t) {
                if let Some(next) = g.get(&t) {
                    stack.extend(next.iter().copied());
                }
            }
        }
        false
    }

    fn release_locks(&self, txn: &mut Txn) {
        if txn.locks.is_empty() {
            return;
        }
        let mut lt = self.lock_table.lock();
        for k in txn.locks.drain() {
            if let Some(e) = lt.locks.get_mut(&k) {
                if e.exclusive == Some(txn.id) {
                    e.exclusive = None;
                }
                e.shared.retain(|&t| t != txn.id);
                if e.exclusive.is_none() && e.shared.is_empty() {
                    lt.locks.remove(&k);
                }
            }
        }
        lt.waits_for.remove(&txn.id);
        drop(lt);
        self.lock_cv.notify_all();
    }

    /// Commit: apply the write set as one MTR, wait until it is durable, then make it
    /// visible and release locks.
    pub fn commit(&self, txn: &mut Txn) -> Result<()> {
        let result = if txn.writes.is_empty() {
            Ok(())
        } else {
            self.apply_writes(txn, &mut |_| Ok(()))
        };
        self.finish(txn);
        result
    }

    /// Apply the write set plus `extra` (catalog changes) atomically.
    pub fn apply_writes(
        &self,
        txn: &mut Txn,
        extra: &mut dyn FnMut(&mut dyn TreeWrite) -> Result<()>,
    ) -> Result<()> {
        let writes = std::mem::take(&mut txn.writes);
        // The values the writes replace. Every key written is under this transaction's
        // exclusive row lock (`write`'s contract), so no other commit can change it
        // before this one: the tree holds now what it will hold under the commit lock,
        // and the descents are made before taking it, which keeps the lock short (a
        // holder preempted on a busy machine stalls every other commit). A DDL that
        // replaced a tree meanwhile is caught by `check_fences` below.
        let mut olds: Vec<Option<Vec<u8>>> = Vec::with_capacity(writes.len());
        for (tree, key) in writes.keys() {
            olds.push(self.store.get(*tree, key)?);
        }
        let (seq, lsn) = {
            // A panic under the lock leaves `last` as it was (it is written last).
            let mut last = self
                .commit_lock
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            self.check_fences(txn.schema_floor, &writes)?;
            let seq = *last + 1;
            // Old versions are recorded before the new ones can be seen. A snapshot
            // older than `seq` that meets a recorded old version while the tree still
            // holds it reads the same bytes either way; so the version lock is held
            // only to record, not across the tree writes and the log append, and
            // readers are not stalled behind a commit.
            {
                let mut v = self.versions.write();
                for ((tree, key), old) in writes.keys().zip(&olds) {
                    v.undo
                        .entry(*tree)
                        .or_default()
                        .entry(key.clone())
                        .or_default()
                        .push((seq, old.clone()));
                    v.queue.push_back((seq, *tree, key.clone()));
                }
                self.recorded.fetch_add(1, Ordering::Release);
            }
            let res = self.store.write(&mut |w| {
                for ((tree, key), val) in &writes {
                    match val {
                        Some(val) => w.put(*tree, key, val)?,
                        None => w.delete(*tree, key)?,
                    };
                }
                extra(w)
            });
            let lsn = match res {
                Ok(lsn) => lsn,
                Err(e) => {
                    self.forget_versions(seq);
                    return Err(e);
                }
            };
            *last = seq;
            (seq, lsn)
        };
        self.store.wait_durable(lsn)?;
        self.visible.fetch_max(seq, Ordering::AcqRel);
        self.gc();
        Ok(())
    }

    /// Run a catalog-only change (DDL) atomically, outside any user transaction.
    pub fn apply_ddl(&self, f: &mut dyn FnMut(&mut dyn TreeWrite) -> Result<()>) -> Result<()> {
        let mut txn = self.begin(Isolation::RepeatableRead, Duration::from_secs(50));
        let r = self.apply_writes(&mut txn, f);
        self.finish(&mut txn);
        r
    }

    pub fn rollback(&self, txn: &mut Txn) {
        txn.writes.clear();
        self.finish(txn);
    }

    fn finish(&self, txn: &mut Txn) {
        txn.stmt_undo.clear();
        txn.savepoints.clear();
        self.drop_snapshot(txn);
        self.release_locks(txn);
        txn.ticket = None;
    }

    /// Drop the old versions recorded for commit `seq`, which did not happen (they are
    /// the newest in their chains and at the back of the queue: commits are serialized).
    fn forget_versions(&self, seq: u64) {
        let mut v = self.versions.write();
        while v.queue.back().is_some_and(|(s, _, _)| *s == seq) {
            let Some((_, tree, key)) = v.queue.pop_back() else {
                break;
            };
            let mut empty_tree = false;
            if let Some(t) = v.undo.get_mut(&tree) {
                if let Some(chain) = t.get_mut(&key) {
                    chain.retain(|(s, _)| *s != seq);
                    if chain.is_empty() {
                        t.remove(&key);
                    }
                }
                empty_tree = t.is_empty();
            }
            if empty_tree {
                v.undo.remove(&tree);
            }
        }
    }

    /// Drop versions no snapshot can need: those at or below both the oldest registered
    /// snapshot and the visible point (a new snapshot starts at the visible point).
    fn gc(&self) {
        let horizon = {
            let snaps = self.snapshots.lock();
            let vis = self.visible.load(Ordering::Acquire);
            snaps.keys().next().copied().unwrap_or(vis).min(vis)
        };
        // Readers hold the version lock while they scan: most commits find it busy and
        // leave collection to a later one, but not forever (old versions would pile up
        // and every snapshot read would walk them), so every GC_FORCE_AFTER-th waits.
        let mut v = match self.versions.try_write() {
            Some(v) => v,
            None if self.gc_skipped.fetch_add(1, Ordering::Relaxed) + 1 < GC_FORCE_AFTER => return,
            None => self.versions.write(),
        };
        self.gc_skipped.store(0, Ordering::Relaxed);
        while let Some((seq, _, _)) = v.queue.front() {
            if *seq > horizon {
                break;
            }
            let (seq, tree, key) = v.queue.pop_front().expect("front exists");
            let mut empty_tree = false;
            if let Some(t) = v.undo.get_mut(&tree) {
                if let Some(chain) = t.get_mut(&key) {
                    chain.retain(|(s, _)| *s > seq);
                    if chain.is_empty() {
                        t.remove(&key);
                    }
                }
                empty_tree = t.is_empty();
            }
            if empty_tree {
                v.undo.remove(&tree);
            }
        }
    }

    /// The newest commit visible to new snapshots.
    pub fn visible_seq(&self) -> u64 {
        self.visible.load(Ordering::Acquire)
    }
}

/// The transaction's own writes to `tree` within `(lo, hi)`.
fn own_writes(
    txn: &Txn,
    tree: TreeId,
    lo: Bound<&[u8]>,
    hi: Bound<&[u8]>,
) -> BTreeMap<Vec<u8>, Option<Vec<u8>>> {
    let mut out = BTreeMap::new();
    if txn.writes.is_empty() {
        return out;
    }
    let own_lo = match lo {
        Bound::Unbounded => Bound::Included((tree, Vec::new())),
        b => map_bound(b, |k| (tree, k.to_vec())),
    };
    let own_hi = match hi {
        Bound::Unbounded => Bound::Excluded((tree + 1, Vec::new())),
        b => map_bound(b, |k| (tree, k.to_vec())),
    };
    if range_ok(&own_lo, &own_hi) {
        for ((_, k), w) in txn.writes.range((own_lo, own_hi)) {
            out.insert(k.clone(), w.clone());
        }
    }
    out
}

/// Values to present instead of the tree's (None: the key is absent), merged into a
/// scan of the tree in scan order.
struct Overrides {
    ov: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    next: usize,
    reverse: bool,
    /// `f` returned false: the scan is over.
    stopped: bool,
}

impl Overrides {
    fn new(ov: BTreeMap<Vec<u8>, Option<Vec<u8>>>, reverse: bool) -> Self {
        let ov = if reverse {
            ov.into_iter().rev().collect()
        } else {
            ov.into_iter().collect()
        };
        Self {
            ov,
            next: 0,
            reverse,
            stopped: false,
        }
    }

    fn is_empty(&self) -> bool {
        self.ov.is_empty()
    }

    fn before(&self, a: &[u8], b: &[u8]) -> bool {
        if self.reverse {
            a > b
        } else {
            a < b
        }
    }

    /// The tree's entry `(k, v)`: emit the overrides that come before it, then it or
    /// its override. Returns whether the scan goes on.
    #[inline]
    fn emit(&mut self, k: &[u8], v: &[u8], f: &mut ScanFn<'_>) -> Result<bool> {
        while self.next < self.ov.len() && self.before(&self.ov[self.next].0, k) {
            let (ok, ov) = &self.ov[self.next];
            self.next += 1;
            if let Some(val) = ov {
                if !f(ok, val)? {
                    self.stopped = true;
                    return Ok(false);
                }
            }
        }
        let r = if self.next < self.ov.len() && self.ov[self.next].0.as_slice() == k {
            self.next += 1;
            match &self.ov[self.next - 1].1 {
                Some(val) => f(k, val)?,
                None => true,
            }
        } else {
            f(k, v)?
        };
        if !r {
            self.stopped = true;
        }
        Ok(r)
    }

    /// Emit the overrides after the last tree entry (unless the scan stopped).
    fn finish(&mut self, f: &mut ScanFn<'_>) -> Result<()> {
        while !self.stopped && self.next < self.ov.len() {
            let (k, ov) = &self.ov[self.next];
            self.next += 1;
            if let Some(val) = ov {
                if !f(k, val)? {
                    self.stopped = true;
                }
            }
        }
        Ok(())
    }
}

/// Snapshot scans that fell back to [`TxnManager::chunk_scan`] (tests check that their
/// concurrent cases reach it).
#[cfg(test)]
static CHUNK_FALLBACKS: AtomicU64 = AtomicU64::new(0);

#[cfg(test)]
thread_local! {
    /// Run once by this thread's next snapshot scan, between its version lookup and its
    /// tree read (tests put a commit there).
    static BEFORE_TREE_READ: std::cell::RefCell<Option<Box<dyn FnOnce()>>> =
        const { std::cell::RefCell::new(None) };
}

fn as_ref_bound(b: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match b {
        Bound::Included(x) => Bound::Included(x.as_slice()),
        Bound::Excluded(x) => Bound::Excluded(x.as_slice()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

fn map_bound<T, U>(b: Bound<T>, f: impl FnOnce(T) -> U) -> Bound<U> {
    match b {
        Bound::Included(x) => Bound::Included(f(x)),
        Bound::Excluded(x) => Bound::Excluded(f(x)),
        Bound::Unbounded => Bound::Unbounded,
    }
}

/// Whether `(lo, hi)` is a range `BTreeMap::range` accepts (it panics on start > end).
pub fn bounds_ok(lo: Bound<&[u8]>, hi: Bound<&[u8]>) -> bool {
    match (lo, hi) {
        (Bound::Included(a), Bound::Included(b)) => a <= b,
        (Bound::Included(a) | Bound::Excluded(a), Bound::Excluded(b) | Bound::Included(b)) => a < b,
        _ => true,
    }
}

fn range_ok(lo: &Bound<Key>, hi: &Bound<Key>) -> bool {
    match (lo, hi) {
        (Bound::Included(a), Bound::Included(b)) => a <= b,
        (Bound::Included(a) | Bound::Excluded(a), Bound::Excluded(b) | Bound::Included(b)) => a < b,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_commit_bound_before_a_fence_on_a_tree_it_writes_fails_with_1412() {
        let mgr = TxnManager::new(Arc::new(Store::model()));
        let tree = mgr.store.system_tree();
        let begin = || mgr.begin(Isolation::RepeatableRead, Duration::from_secs(1));

        // Bound against catalog version 3, then a DDL fences the tree at version 4.
        let mut old = begin();
        old.note_schema(3);
        mgr.write(&mut old, tree, b"k1".to_vec(), Some(b"v".to_vec()));
        mgr.fence(&[tree], 4);
        let e = mgr.commit(&mut old).unwrap_err();
        assert_eq!(e.code, code::ER_TABLE_DEF_CHANGED);
        assert_eq!(
            mgr.store.get(tree, b"k1").unwrap(),
            None,
            "nothing of it written"
        );

        // Bound against the fenced version: commits. So does an unchecked batch (DDL's).
        let mut new = begin();
        new.note_schema(4);
        mgr.write(&mut new, tree, b"k2".to_vec(), Some(b"v".to_vec()));
        mgr.commit(&mut new).unwrap();
        let mut internal = begin();
        mgr.write(&mut internal, tree, b"k3".to_vec(), Some(b"v".to_vec()));
        mgr.commit(&mut internal).unwrap();

        // A DDL that did not happen takes its fences back, down to the current version:
        // what the earlier DDL fenced stays fenced.
        mgr.fence(&[tree], 5);
        mgr.unfence(5);
        let mut stale = begin();
        stale.note_schema(3);
        mgr.write(&mut stale, tree, b"k5".to_vec(), Some(b"v".to_vec()));
        assert_eq!(
            mgr.commit(&mut stale).unwrap_err().code,
            code::ER_TABLE_DEF_CHANGED
        );
        let mut later = begin();
        later.note_schema(4);
        mgr.write(&mut later, tree, b"k4".to_vec(), Some(b"v".to_vec()));
        mgr.commit(&mut later).unwrap();
        assert!(mgr.store.get(tree, b"k4").unwrap().is_some());
    }

    fn key(i: u32) -> Vec<u8> {
        format!("k{i:05}").into_bytes()
    }

    /// Every (key, value) a scan of `(lo, hi)` yields, in scan order.
    fn scan_all(
        mgr: &TxnManager,
        txn: &mut Txn,
        tree: TreeId,
        lo: Bound<&[u8]>,
        hi: Bound<&[u8]>,
        reverse: bool,
    ) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut out = Vec::new();
        mgr.scan(txn, tree, lo, hi, reverse, false, &mut |k, v| {
            out.push((k.to_vec(), v.to_vec()));
            Ok(true)
        })
        .unwrap();
        out
    }

    /// Both stores: the model, and B+trees on an in-memory volume.
    fn stores() -> Vec<Arc<Store>> {
        let volume = Arc::new(borealis_storage::mem::MemVolume::new());
        vec![
            Arc::new(Store::model()),
            Arc::new(Store::paged(volume, 64 << 20).unwrap()),
        ]
    }

    /// Even keys `0..n` with value "v0", then a newer commit that updates, deletes and
    /// inserts keys on both sides of chunk edges, then a reader whose snapshot predates
    /// that commit and who writes keys itself. Returns the reader and the rows it must
    /// see.
    fn reader_over_changes(mgr: &TxnManager, tree: TreeId) -> (Txn, BTreeMap<Vec<u8>, Vec<u8>>) {
        let begin = || mgr.begin(Isolation::RepeatableRead, Duration::from_secs(1));
        let mut load = begin();
        for i in (0..2000).step_by(2) {
            mgr.write(&mut load, tree, key(i), Some(b"v0".to_vec()));
        }
        mgr.commit(&mut load).unwrap();
        let mut reader = begin();
        mgr.get(&mut reader, tree, &key(0), false).unwrap(); // takes the snapshot
        let mut expect: BTreeMap<Vec<u8>, Vec<u8>> = (0..2000)
            .step_by(2)
            .map(|i| (key(i), b"v0".to_vec()))
            .collect();
        let mut w = begin();
        for i in [0, 30, 62, 64, 160, 162, 700, 1998] {
            mgr.write(&mut w, tree, key(i), Some(b"new".to_vec()));
        }
        for i in [2, 32, 34, 158, 800, 1996] {
            mgr.write(&mut w, tree, key(i), None);
        }
        for i in [1, 33, 63, 161, 999, 1999] {
            mgr.write(&mut w, tree, key(i), Some(b"new".to_vec()));
        }
        mgr.commit(&mut w).unwrap();
        for (i, v) in [
            (4, Some("mine")),
            (63, Some("mine")),
            (6, None),
            (1001, Some("mine")),
        ] {
            mgr.write(&mut reader, tree, key(i), v.map(|v| v.as_bytes().to_vec()));
            match v {
                Some(v) => expect.insert(key(i), v.as_bytes().to_vec()),
                None => expect.remove(&key(i)),
            };
        }
        (reader, expect)
    }

    #[test]
    fn snapshot_scans_see_the_snapshot_and_own_writes_in_both_paths() {
        for store in stores() {
            let mgr = TxnManager::new(store);
            let tree = mgr.store.system_tree();
            let (mut reader, expect) = reader_over_changes(&mgr, tree);
            let (k10, k1500) = (key(10), key(1500));
            for (lo, hi) in [
                (Bound::Unbounded, Bound::Unbounded),
                (
                    Bound::Included(k10.as_slice()),
                    Bound::Excluded(k1500.as_slice()),
                ),
                (
                    Bound::Excluded(k10.as_slice()),
                    Bound::Included(k1500.as_slice()),
                ),
            ] {
                let want: Vec<(Vec<u8>, Vec<u8>)> = expect
                    .range::<[u8], _>((lo, hi))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                let mut rev = want.clone();
                rev.reverse();
                for reverse in [false, true] {
                    let want = if reverse { &rev } else { &want };
                    assert_eq!(&scan_all(&mgr, &mut reader, tree, lo, hi, reverse), want);
                    // The chunked path alone, over the same range.
                    let mut got = Vec::new();
                    let s = mgr.ensure_snapshot(&mut reader);
                    mgr.chunk_scan(&reader, tree, lo, hi, reverse, s, &mut |k, v| {
                        got.push((k.to_vec(), v.to_vec()));
                        Ok(true)
                    })
                    .unwrap();
                    assert_eq!(&got, want, "chunk_scan reverse={reverse}");
                }
            }
            // Stopping early stops at once, in either direction and either path.
            for reverse in [false, true] {
                let mut seen = 0;
                let (lo, hi) = (Bound::Unbounded, Bound::Unbounded);
                mgr.scan(&mut reader, tree, lo, hi, reverse, false, &mut |_, _| {
                    seen += 1;
                    Ok(seen < 100)
                })
                .unwrap();
                assert_eq!(seen, 100);
                let s = mgr.ensure_snapshot(&mut reader);
                let mut seen = 0;
                mgr.chunk_scan(&reader, tree, lo, hi, reverse, s, &mut |_, _| {
                    seen += 1;
                    Ok(seen < 100)
                })
                .unwrap();
                assert_eq!(seen, 100);
            }
        }
    }

    #[test]
    fn a_commit_during_a_scan_sends_the_rest_of_it_through_chunks() {
        // The model store reads its range before calling back, so the callback may
        // commit: the scan's remaining entries are then older than the versions.
        let mgr = TxnManager::new(Arc::new(Store::model()));
        let tree = mgr.store.system_tree();
        let (mut reader, expect) = reader_over_changes(&mgr, tree);
        let want: Vec<(Vec<u8>, Vec<u8>)> = expect.into_iter().collect();
        for reverse in [false, true] {
            let before = CHUNK_FALLBACKS.load(Ordering::Relaxed);
            let mut got = Vec::new();
            let mut round = 0;
            mgr.scan(
                &mut reader,
                tree,
                Bound::Unbounded,
                Bound::Unbounded,
                reverse,
                false,
                &mut |k, v| {
                    got.push((k.to_vec(), v.to_vec()));
                    if got.len() == 50 {
                        // Changes ahead of the scan and behind it, in either direction.
                        round += 1;
                        let mut w = mgr.begin(Isolation::RepeatableRead, Duration::from_secs(1));
                        for i in [20, 120, 1980] {
                            mgr.write(
                                &mut w,
                                tree,
                                key(i),
                                Some(format!("late{round}").into_bytes()),
                            );
                        }
                        for i in [40, 140, 1960] {
                            mgr.write(&mut w, tree, key(i), None);
                        }
                        for i in [41, 141, 1961] {
                            mgr.write(&mut w, tree, key(i), Some(b"late".to_vec()));
                        }
                        mgr.commit(&mut w).unwrap();
                    }
                    Ok(true)
                },
            )
            .unwrap();
            if reverse {
                got.reverse();
            }
            assert_eq!(got, want, "reverse={reverse}");
            assert!(CHUNK_FALLBACKS.load(Ordering::Relaxed) > before);
        }

        // A scan whose callback says stop is over, even if a commit recorded meanwhile
        // (here with nothing to merge: a fresh snapshot and no writes of its own).
        let mut fresh = mgr.begin(Isolation::RepeatableRead, Duration::from_secs(1));
        let mut calls = 0;
        let (lo, hi) = (Bound::Unbounded, Bound::Unbounded);
        mgr.scan(&mut fresh, tree, lo, hi, false, false, &mut |_, _| {
            calls += 1;
            if calls == 10 {
                let mut w = mgr.begin(Isolation::RepeatableRead, Duration::from_secs(1));
                mgr.write(&mut w, tree, key(5000), Some(b"late".to_vec()));
                mgr.commit(&mut w).unwrap();
                return Ok(false);
            }
            Ok(true)
        })
        .unwrap();
        assert_eq!(calls, 10);
    }

    #[test]
    fn keys_deleted_between_the_version_lookup_and_the_tree_read_are_still_seen() {
        // Every snapshot row of the range is deleted after the scan looked up versions
        // and before it reads the tree: the tree shows nothing, so no entry's check can
        // notice; only the check after the last entry sends the scan to the versions.
        let mgr = Arc::new(TxnManager::new(Arc::new(Store::model())));
        let tree = mgr.store.system_tree();
        let (mut reader, expect) = reader_over_changes(&mgr, tree);
        let (lo, hi) = (key(100), key(110));
        let range = (
            Bound::Included(lo.as_slice()),
            Bound::Included(hi.as_slice()),
        );
        let want: Vec<(Vec<u8>, Vec<u8>)> = expect
            .range::<[u8], _>(range)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        assert_eq!(want.len(), 6);
        let m = mgr.clone();
        let doomed: Vec<Vec<u8>> = want.iter().map(|(k, _)| k.clone()).collect();
        BEFORE_TREE_READ.with(|h| {
            *h.borrow_mut() = Some(Box::new(move || {
                let mut w = m.begin(Isolation::RepeatableRead, Duration::from_secs(1));
                for k in doomed {
                    m.write(&mut w, tree, k, None);
                }
                m.commit(&mut w).unwrap();
            }))
        });
        let got = scan_all(&mgr, &mut reader, tree, range.0, range.1, false);
        assert!(
            BEFORE_TREE_READ.with(|h| h.borrow().is_none()),
            "the hook ran"
        );
        assert_eq!(got, want);
    }

    #[test]
    fn snapshot_scans_stay_exact_while_commits_run() {
        for store in stores() {
            scans_stay_exact_while_commits_run(TxnManager::new(store));
        }
    }

    fn scans_stay_exact_while_commits_run(mgr: TxnManager) {
        let tree = mgr.store.system_tree();
        let begin = || mgr.begin(Isolation::RepeatableRead, Duration::from_secs(1));
        let mut load = begin();
        for i in 0..600 {
            mgr.write(&mut load, tree, key(i * 2), Some(b"0".to_vec()));
        }
        mgr.commit(&mut load).unwrap();
        let stop = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|sc| {
            // A writer rewrites, deletes and re-inserts keys all over the range.
            sc.spawn(|| {
                let mut round = 0u32;
                while !stop.load(Ordering::Relaxed) {
                    round += 1;
                    let mut w = begin();
                    for j in 0..20 {
                        let i = (round * 37 + j * 61) % 1200;
                        let v = (!round.is_multiple_of(3)).then(|| round.to_string().into_bytes());
                        mgr.write(&mut w, tree, key(i), v);
                    }
                    mgr.commit(&mut w).unwrap();
                }
            });
            // Stops the writer however the readers end (a failed assert included).
            struct Stop<'a>(&'a std::sync::atomic::AtomicBool);
            impl Drop for Stop<'_> {
                fn drop(&mut self) {
                    self.0.store(true, Ordering::Relaxed);
                }
            }
            let _stop = Stop(&stop);
            // Each reader's scans all return what its snapshot saw at its first scan.
            for _ in 0..100 {
                let mut r = begin();
                let first = scan_all(
                    &mgr,
                    &mut r,
                    tree,
                    Bound::Unbounded,
                    Bound::Unbounded,
                    false,
                );
                for reverse in [false, true, false] {
                    let mut again = scan_all(
                        &mgr,
                        &mut r,
                        tree,
                        Bound::Unbounded,
                        Bound::Unbounded,
                        reverse,
                    );
                    if reverse {
                        again.reverse();
                    }
                    assert_eq!(again, first);
                }
                mgr.rollback(&mut r);
            }
        });
    }
}
