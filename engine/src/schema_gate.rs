//! The schema gate: a coarse metadata lock between DDL and transactions.
//!
//! A transaction's statements bind against one catalog version: their plans read the
//! table's trees and their write sets hold index entries for the indexes that version
//! knows. A DDL replaces trees (index builds, table rewrites) and drops old ones, so a
//! transaction that bound against the old version must not run statements, or commit,
//! while the DDL reads and replaces them.
//!
//! Protocol: a transaction passes the gate ([`SchemaGate::enter`]) before its first
//! statement binds and holds its [`Ticket`] until it ends (commit, rollback or drop). A
//! DDL closes the gate ([`SchemaGate::close`]): transactions not yet in wait at the gate,
//! and the DDL waits until every ticket is returned, then runs alone and reopens the gate
//! after its catalog is published. Transactions already in keep running their
//! statements, so a DDL never waits on a transaction that waits on it. Both waits are
//! bounded: the transaction's lock wait timeout, the DDL's; either gives 1205, as
//! MySQL's metadata lock waits do. KILL QUERY ends either wait with 1317: a transaction
//! passes its flag to [`SchemaGate::enter`]; a DDL, called deep in the executor where no
//! session handle reaches, finds its statement's flag through [`interrupt_flag`].
//!
//! Unlike MySQL's per-table metadata locks this gate is one for the whole instance: a DDL
//! on any table waits for every open transaction. DDL is rare next to DML, and passing
//! an open gate is a few atomic operations per transaction, not per statement.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::error::{Error, Result};
use crate::txn::INTERRUPT_POLL;

/// Every transaction passes the gate, so passing an open gate touches only `closed`,
/// `open` and the gate's reference count (no mutex shared by all sessions). `closed` and `open` are SeqCst on both sides: an
/// entering transaction either sees the gate closed or is counted by the closing DDL.
#[derive(Default)]
pub struct SchemaGate {
    closed: AtomicBool,
    /// Tickets out.
    open: AtomicUsize,
    /// The thread running a DDL, while the gate is closed; waits happen under it.
    closed_by: Mutex<Option<ThreadId>>,
    cv: Condvar,
}

/// A transaction's pass through the gate; returned on drop.
pub struct Ticket {
    gate: Arc<SchemaGate>,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.gate.release();
    }
}

thread_local! {
    /// The KILL QUERY flag of the statement this thread runs (see [`interrupt_flag`]).
    static STATEMENT_INTERRUPT: RefCell<Option<Arc<AtomicBool>>> = const { RefCell::new(None) };
}

/// Marks `flag` as the running statement's KILL QUERY flag on this thread until dropped.
pub(crate) struct StatementInterrupt(Option<Arc<AtomicBool>>);

pub(crate) fn statement_interrupt(flag: Arc<AtomicBool>) -> StatementInterrupt {
    StatementInterrupt(STATEMENT_INTERRUPT.with(|c| c.replace(Some(flag))))
}

impl Drop for StatementInterrupt {
    fn drop(&mut self) {
        let prev = self.0.take();
        STATEMENT_INTERRUPT.with(|c| *c.borrow_mut() = prev);
    }
}

/// The KILL QUERY flag of the statement this thread runs, if a session set one.
pub(crate) fn interrupt_flag() -> Option<Arc<AtomicBool>> {
    STATEMENT_INTERRUPT.with(|c| c.borrow().clone())
}

impl SchemaGate {
    /// Pass the gate, waiting (at most `timeout`) while a DDL runs on another thread. The
    /// DDL's own thread passes: a DDL may run statements of its own. A wait ends with
    /// 1317 once `interrupt` is set (KILL QUERY), looked at every `INTERRUPT_POLL`.
    pub fn enter(
        self: &Arc<Self>,
        timeout: Duration,
        interrupt: Option<&AtomicBool>,
    ) -> Result<Ticket> {
        let mut deadline = None;
        loop {
            if !self.closed.load(Ordering::SeqCst) {
                self.open.fetch_add(1, Ordering::SeqCst);
                if !self.closed.load(Ordering::SeqCst) {
                    return Ok(Ticket { gate: self.clone() });
                }
                // A DDL closed the gate meanwhile: step back out and wait for it.
                self.release();
            }
            let me = std::thread::current().id();
            let deadline = *deadline.get_or_insert_with(|| Instant::now() + timeout);
            let mut by = self.closed_by.lock();
            if *by == Some(me) {
                self.open.fetch_add(1, Ordering::SeqCst);
                return Ok(Ticket { gate: self.clone() });
            }
            while self.closed.load(Ordering::SeqCst) {
                let until = deadline.min(Instant::now() + INTERRUPT_POLL);
                let woke_late = self.cv.wait_until(&mut by, until).timed_out();
                if interrupt.is_some_and(|f| f.load(Ordering::SeqCst)) {
                    return Err(Error::interrupted());
                }
                if woke_late && Instant::now() >= deadline && self.closed.load(Ordering::SeqCst) {
                    return Err(Error::lock_wait_timeout());
                }
            }
        }
    }

    fn release(&self) {
        if self.open.fetch_sub(1, Ordering::SeqCst) == 1 && self.closed.load(Ordering::SeqCst) {
            // Under the lock the closing DDL holds from its check of `open` until it
            // sleeps, so it cannot miss this.
            let _by = self.closed_by.lock();
            self.cv.notify_all();
        }
    }

    /// Close the gate for a DDL on this thread and wait (at most `timeout`) until every
    /// transaction that passed it has ended; 1317 once `interrupt` is set (KILL QUERY),
    /// looked at every `INTERRUPT_POLL`. On a timeout or an interrupt the gate is open
    /// again. DDLs are serialized by the caller.
    pub fn close(&self, timeout: Duration, interrupt: Option<&AtomicBool>) -> Result<()> {
        let deadline = Instant::now() + timeout;
        let mut by = self.closed_by.lock();
        *by = Some(std::thread::current().id());
        self.closed.store(true, Ordering::SeqCst);
        while self.open.load(Ordering::SeqCst) > 0 {
            let until = deadline.min(Instant::now() + INTERRUPT_POLL);
            self.cv.wait_until(&mut by, until);
            if self.open.load(Ordering::SeqCst) == 0 {
                break;
            }
            let err = if interrupt.is_some_and(|f| f.load(Ordering::SeqCst)) {
                Error::interrupted()
            } else if Instant::now() >= deadline {
                Error::lock_wait_timeout()
            } else {
                continue;
            };
            *by = None;
            self.closed.store(false, Ordering::SeqCst);
            self.cv.notify_all();
            return Err(err);
        }
        Ok(())
    }

    /// Reopen the gate (the DDL is over, its catalog published or abandoned).
    pub fn open(&self) {
        let mut by = self.closed_by.lock();
        *by = None;
        self.closed.store(false, Ordering::SeqCst);
        self.cv.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::code;

    #[test]
    fn a_ddl_waits_for_open_transactions_and_holds_new_ones() {
        let gate = Arc::new(SchemaGate::default());
        let t1 = gate.enter(Duration::from_secs(5), None).unwrap();
        let g = gate.clone();
        let ddl = std::thread::spawn(move || {
            g.close(Duration::from_secs(5), None).unwrap();
            // Alone: no ticket is out while the gate is closed.
            assert_eq!(g.open.load(Ordering::SeqCst), 0);
            std::thread::sleep(Duration::from_millis(30));
            g.open();
        });
        // The DDL is waiting for t1; a new transaction waits for the DDL.
        while !gate.closed.load(Ordering::SeqCst) {
            std::thread::yield_now();
        }
        let g = gate.clone();
        let t2 = std::thread::spawn(move || g.enter(Duration::from_secs(5), None).map(|_| ()));
        std::thread::sleep(Duration::from_millis(20));
        assert!(!t2.is_finished(), "a new transaction passed a closed gate");
        drop(t1);
        ddl.join().unwrap();
        t2.join().unwrap().unwrap();
    }

    #[test]
    fn waits_time_out_with_1205_and_leave_the_gate_usable() {
        let gate = Arc::new(SchemaGate::default());
        let t1 = gate.enter(Duration::from_secs(1), None).unwrap();
        let e = gate.close(Duration::from_millis(20), None).unwrap_err();
        assert_eq!(e.code, code::ER_LOCK_WAIT_TIMEOUT);
        // The failed DDL reopened the gate.
        drop(gate.enter(Duration::from_millis(20), None).unwrap());
        drop(t1);
        gate.close(Duration::from_millis(200), None).unwrap();
        let g = gate.clone();
        let e = std::thread::spawn(move || g.enter(Duration::from_millis(20), None).map(|_| ()))
            .join()
            .unwrap()
            .unwrap_err();
        assert_eq!(e.code, code::ER_LOCK_WAIT_TIMEOUT);
        // The DDL's own thread passes its closed gate.
        drop(gate.enter(Duration::from_millis(20), None).unwrap());
        gate.open();
    }
}
