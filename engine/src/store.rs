//! The engine's view of its trees: named by a [`TreeId`], read by any thread, written by
//! one writer at a time in an atomic batch that becomes one mini-transaction on the
//! volume (so the volume never holds half a commit).
//!
//! Backends: `Paged` (the B+trees on the buffer pool over the storage volume: the
//! product) and `Mem` (process memory: a model for unit tests of the layers above).

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;

use std::sync::Arc;

use borealis_storage::{Lsn, Volume};
use parking_lot::{Mutex, RwLock};

use crate::btree::BTree;
use crate::error::{Error, Result};
use crate::pager::{Mtr, Pager};

/// Root slot (in the volume header) of the system tree that holds the catalog.
const SYSTEM_ROOT_SLOT: usize = 0;

/// A tree's identity: the page number of its root.
pub type TreeId = u64;

/// Callback of a scan: return false to stop.
pub type ScanFn<'a> = dyn FnMut(&[u8], &[u8]) -> Result<bool> + 'a;

/// Operations inside a write batch.
pub trait TreeWrite {
    fn get(&mut self, tree: TreeId, key: &[u8]) -> Result<Option<Vec<u8>>>;
    fn put(&mut self, tree: TreeId, key: &[u8], value: &[u8]) -> Result<Option<Vec<u8>>>;
    fn delete(&mut self, tree: TreeId, key: &[u8]) -> Result<Option<Vec<u8>>>;
    fn create_tree(&mut self) -> Result<TreeId>;
    fn drop_tree(&mut self, tree: TreeId) -> Result<()>;
}

pub struct Store {
    backend: Backend,
}

enum Backend {
    Mem(MemTrees),
    Paged { pager: Pager, system: TreeId },
}

impl Store {
    /// Trees in process memory (a model for tests; nothing reaches a volume).
    pub fn model() -> Store {
        Store {
            backend: Backend::Mem(MemTrees::new()),
        }
    }

    /// B+trees on `volume`, creating the system tree on a fresh volume.
    pub fn paged(volume: Arc<dyn Volume>, pool_bytes: usize) -> Result<Store> {
        let pager = Pager::open(volume, pool_bytes)?;
        let mut system = pager.root_slot(SYSTEM_ROOT_SLOT)?;
        if system == 0 {
            let mut mtr = pager.begin();
            let t = BTree::create(&mut mtr)?;
            mtr.set_root_slot(SYSTEM_ROOT_SLOT, t.root())?;
            let lsn = mtr.commit()?;
            pager.volume().wait_durable(lsn)?;
            system = t.root();
        }
        Ok(Store {
            backend: Backend::Paged { pager, system },
        })
    }

    /// A read-only store following `volume` at `read_point` (replicas).
    pub fn paged_read_only(
        volume: Arc<dyn Volume>,
        pool_bytes: usize,
        read_point: Lsn,
    ) -> Result<Store> {
        let pager = Pager::open_read_only(volume, pool_bytes, read_point)?;
        let system = pager.root_slot(SYSTEM_ROOT_SLOT)?;
        Ok(Store {
            backend: Backend::Paged { pager, system },
        })
    }

    /// The pager (None for the model backend).
    pub fn pager(&self) -> Option<&Pager> {
        match &self.backend {
            Backend::Paged { pager, .. } => Some(pager),
            Backend::Mem(_) => None,
        }
    }

    /// The tree holding the catalog.
    pub fn system_tree(&self) -> TreeId {
        match &self.backend {
            Backend::Mem(_) => MemTrees::SYSTEM,
            Backend::Paged { system, .. } => *system,
        }
    }

    pub fn get(&self, tree: TreeId, key: &[u8]) -> Result<Option<Vec<u8>>> {
        match &self.backend {
            Backend::Mem(m) => m.get(tree, key),
            Backend::Paged { pager, .. } => BTree::open(tree).get(pager, key),
        }
    }

    pub fn scan(
        &self,
        tree: TreeId,
        lo: Bound<&[u8]>,
        hi: Bound<&[u8]>,
        reverse: bool,
        f: &mut ScanFn<'_>,
    ) -> Result<()> {
        match &self.backend {
            Backend::Mem(m) => m.scan(tree, lo, hi, reverse, f),
            Backend::Paged { pager, .. } => BTree::open(tree).scan(pager, lo, hi, reverse, f),
        }
    }

    /// Run `f` as one atomic batch. On error nothing of it is applied.
    pub fn write(&self, f: &mut dyn FnMut(&mut dyn TreeWrite) -> Result<()>) -> Result<Lsn> {
        match &self.backend {
            Backend::Mem(m) => m.write(f),
            Backend::Paged { pager, .. } => {
                let mut w = PagedWrite { mtr: pager.begin() };
                f(&mut w)?;
                // An error above drops the Mtr: nothing of the batch reaches the volume.
                w.mtr.commit()
            }
        }
    }

    pub fn wait_durable(&self, lsn: Lsn) -> Result<()> {
        match &self.backend {
            Backend::Mem(_) => Ok(()),
            Backend::Paged { pager, .. } => Ok(pager.volume().wait_durable(lsn)?),
        }
    }
}

/// A write batch on the paged backend: one Mtr.
struct PagedWrite {
    mtr: Mtr,
}

impl TreeWrite for PagedWrite {
    fn get(&mut self, tree: TreeId, key: &[u8]) -> Result<Option<Vec<u8>>> {
        BTree::open(tree).get_in(&self.mtr, key)
    }
    fn put(&mut self, tree: TreeId, key: &[u8], value: &[u8]) -> Result<Option<Vec<u8>>> {
        BTree::open(tree).insert(&mut self.mtr, key, value)
    }
    fn delete(&mut self, tree: TreeId, key: &[u8]) -> Result<Option<Vec<u8>>> {
        BTree::open(tree).delete(&mut self.mtr, key)
    }
    fn create_tree(&mut self) -> Result<TreeId> {
        Ok(BTree::create(&mut self.mtr)?.root())
    }
    fn drop_tree(&mut self, tree: TreeId) -> Result<()> {
        BTree::open(tree).destroy(&mut self.mtr)
    }
}

type MemTree = BTreeMap<Vec<u8>, Vec<u8>>;

/// Trees in process memory.
struct MemTrees {
    trees: RwLock<HashMap<TreeId, MemTree>>,
    next: Mutex<(TreeId, Lsn)>,
}

impl MemTrees {
    const SYSTEM: TreeId = 1;

    fn new() -> MemTrees {
        let mut m = HashMap::new();
        m.insert(Self::SYSTEM, BTreeMap::new());
        MemTrees {
            trees: RwLock::new(m),
            next: Mutex::new((2, 0)),
        }
    }

    fn get(&self, tree: TreeId, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let g = self.trees.read();
        let t = g
            .get(&tree)
            .ok_or_else(|| Error::internal(format!("no tree {tree}")))?;
        Ok(t.get(key).cloned())
    }

    fn scan(
        &self,
        tree: TreeId,
        lo: Bound<&[u8]>,
        hi: Bound<&[u8]>,
        reverse: bool,
        f: &mut ScanFn<'_>,
    ) -> Result<()> {
        // Copy the range out so the callback may re-enter the store.
        let items: Vec<(Vec<u8>, Vec<u8>)> = {
            let g = self.trees.read();
            let t = g
                .get(&tree)
                .ok_or_else(|| Error::internal(format!("no tree {tree}")))?;
            if let (
                Bound::Included(a) | Bound::Excluded(a),
                Bound::Included(b) | Bound::Excluded(b),
            ) = (lo, hi)
            {
                if a > b {
                    return Ok(());
                }
            }
            let r = t.range::<[u8], _>((lo, hi));
            if reverse {
                r.rev().map(|(k, v)| (k.clone(), v.clone())).collect()
            } else {
                r.map(|(k, v)| (k.clone(), v.clone())).collect()
            }
        };
        for (k, v) in items {
            if !f(&k, &v)? {
                break;
            }
        }
        Ok(())
    }

    fn write(&self, f: &mut dyn FnMut(&mut dyn TreeWrite) -> Result<()>) -> Result<Lsn> {
        let mut next = self.next.lock();
        let mut g = self.trees.write();
        let mut w = MemWrite {
            trees: &mut g,
            undo: Vec::new(),
            next_tree: next.0,
        };
        match f(&mut w) {
            Ok(()) => {
                next.0 = w.next_tree;
                next.1 += 1;
                Ok(next.1)
            }
            Err(e) => {
                for u in w.undo.into_iter().rev() {
                    match u {
                        MemUndo::Key(t, k, old) => {
                            if let Some(tr) = g.get_mut(&t) {
                                match old {
                                    Some(v) => {
                                        tr.insert(k, v);
                                    }
                                    None => {
                                        tr.remove(&k);
                                    }
                                }
                            }
                        }
                        MemUndo::Created(t) => {
                            g.remove(&t);
                        }
                        MemUndo::Dropped(t, m) => {
                            g.insert(t, m);
                        }
                    }
                }
                Err(e)
            }
        }
    }
}

enum MemUndo {
    Key(TreeId, Vec<u8>, Option<Vec<u8>>),
    Created(TreeId),
    Dropped(TreeId, BTreeMap<Vec<u8>, Vec<u8>>),
}

struct MemWrite<'a> {
    trees: &'a mut HashMap<TreeId, BTreeMap<Vec<u8>, Vec<u8>>>,
    undo: Vec<MemUndo>,
    next_tree: TreeId,
}

impl MemWrite<'_> {
    fn tree(&mut self, t: TreeId) -> Result<&mut BTreeMap<Vec<u8>, Vec<u8>>> {
        self.trees
            .get_mut(&t)
            .ok_or_else(|| Error::internal(format!("no tree {t}")))
    }
}

impl TreeWrite for MemWrite<'_> {
    fn get(&mut self, tree: TreeId, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.tree(tree)?.get(key).cloned())
    }
    fn put(&mut self, tree: TreeId, key: &[u8], value: &[u8]) -> Result<Option<Vec<u8>>> {
        let old = self.tree(tree)?.insert(key.to_vec(), value.to_vec());
        self.undo
            .push(MemUndo::Key(tree, key.to_vec(), old.clone()));
        Ok(old)
    }
    fn delete(&mut self, tree: TreeId, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let old = self.tree(tree)?.remove(key);
        if old.is_some() {
            self.undo
                .push(MemUndo::Key(tree, key.to_vec(), old.clone()));
        }
        Ok(old)
    }
    fn create_tree(&mut self) -> Result<TreeId> {
        let t = self.next_tree;
        self.next_tree += 1;
        self.trees.insert(t, BTreeMap::new());
        self.undo.push(MemUndo::Created(t));
        Ok(t)
    }
    fn drop_tree(&mut self, tree: TreeId) -> Result<()> {
        if let Some(m) = self.trees.remove(&tree) {
            self.undo.push(MemUndo::Dropped(tree, m));
        }
        Ok(())
    }
}
