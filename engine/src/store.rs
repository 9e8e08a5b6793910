//! The engine's view of its trees: named by a [`TreeId`], read by any thread, written by
//! one writer at a time in an atomic batch that becomes one mini-transaction on the
//! volume (so the volume never holds half a commit).
//!
//! Backends: `Mem` (process memory, for unit tests of the layers above) and `Paged` (the
//! B+trees on the buffer pool over the storage volume: the product).

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;

use borealis_storage::Lsn;
use parking_lot::{Mutex, RwLock};

use crate::error::{Error, Result};

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
}

impl Store {
    pub fn in_memory() -> Store {
        Store {
            backend: Backend::Mem(MemTrees::new()),
        }
    }

    /// The tree holding the catalog.
    pub fn system_tree(&self) -> TreeId {
        match &self.backend {
            Backend::Mem(_) => MemTrees::SYSTEM,
        }
    }

    pub fn get(&self, tree: TreeId, key: &[u8]) -> Result<Option<Vec<u8>>> {
        match &self.backend {
            Backend::Mem(m) => m.get(tree, key),
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
        }
    }

    /// Run `f` as one atomic batch. On error nothing of it is applied.
    pub fn write(&self, f: &mut dyn FnMut(&mut dyn TreeWrite) -> Result<()>) -> Result<Lsn> {
        match &self.backend {
            Backend::Mem(m) => m.write(f),
        }
    }

    pub fn wait_durable(&self, lsn: Lsn) -> Result<()> {
        match &self.backend {
            Backend::Mem(_) => {
                let _ = lsn;
                Ok(())
            }
        }
    }
}

/// Trees in process memory.
struct MemTrees {
    trees: RwLock<HashMap<TreeId, BTreeMap<Vec<u8>, Vec<u8>>>>,
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
