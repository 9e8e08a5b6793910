//! User-level named locks: GET_LOCK, RELEASE_LOCK, IS_FREE_LOCK, IS_USED_LOCK,
//! RELEASE_ALL_LOCKS (migration tools such as Flyway serialize on them).
//!
//! The lock table belongs to a database, not to the process, so two databases in one
//! process (tests) do not share lock names: the executor keeps one [`UserLocks`] in its
//! shared state and calls it with the session's connection id. Semantics follow MySQL
//! 8: a session may hold many locks and take the same lock again (each GET_LOCK needs a
//! RELEASE_LOCK), names compare case-insensitively and are at most 64 characters, a
//! negative timeout waits forever, and a session's locks must be released when it ends
//! ([`UserLocks::release_all`]).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use super::args::to_f64;
use super::FnContext;
use crate::error::{Error, Result};
use crate::value::Value;

/// MySQL's limit on a user-level lock name.
const MAX_NAME: usize = 64;

/// One database's user-level locks: name -> (holding connection id, times taken).
#[derive(Default)]
pub struct UserLocks {
    held: Mutex<HashMap<String, (u32, u32)>>,
    freed: Condvar,
}

impl std::fmt::Debug for UserLocks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserLocks")
            .field("held", &self.held.lock().len())
            .finish()
    }
}

/// The lock name of an argument: None for NULL, error 3057 for an empty or long name.
fn lock_name(v: &Value) -> Result<Option<String>> {
    let Some(name) = v.to_text() else {
        return Ok(None);
    };
    if name.is_empty() || name.chars().count() > MAX_NAME {
        return Err(Error::new(
            3057,
            format!("Incorrect user-level lock name '{name}'."),
        ));
    }
    Ok(Some(name.to_lowercase()))
}

impl UserLocks {
    pub fn new() -> UserLocks {
        UserLocks::default()
    }

    /// GET_LOCK(name, timeout) for connection `session`: 1 when taken, 0 on timeout,
    /// NULL for a NULL name.
    pub fn get_lock(
        &self,
        session: u32,
        name: &Value,
        timeout: &Value,
        ctx: &mut FnContext,
    ) -> Result<Value> {
        let Some(name) = lock_name(name)? else {
            return Ok(Value::Null);
        };
        let secs = to_f64(timeout, ctx).unwrap_or(0.0);
        let deadline =
            (secs >= 0.0).then(|| Instant::now() + Duration::from_secs_f64(secs.min(31_536_000.0)));
        let mut held = self.held.lock();
        loop {
            match held.get_mut(&name) {
                None => {
                    held.insert(name, (session, 1));
                    return Ok(Value::Int(1));
                }
                Some((owner, count)) if *owner == session => {
                    *count += 1;
                    return Ok(Value::Int(1));
                }
                Some(_) => match deadline {
                    None => self.freed.wait(&mut held),
                    Some(d) => {
                        if Instant::now() >= d || self.freed.wait_until(&mut held, d).timed_out() {
                            // One last look: the lock may have been freed at the deadline.
                            if !held.contains_key(&name) {
                                continue;
                            }
                            return Ok(Value::Int(0));
                        }
                    }
                },
            }
        }
    }

    /// RELEASE_LOCK(name): 1 when released by its holder, 0 when another session holds
    /// it, NULL when nobody does.
    pub fn release_lock(&self, session: u32, name: &Value) -> Result<Value> {
        let Some(name) = lock_name(name)? else {
            return Ok(Value::Null);
        };
        let mut held = self.held.lock();
        let r = match held.get_mut(&name) {
            None => Value::Null,
            Some((owner, _)) if *owner != session => Value::Int(0),
            Some((_, count)) => {
                *count -= 1;
                if *count == 0 {
                    held.remove(&name);
                    self.freed.notify_all();
                }
                Value::Int(1)
            }
        };
        Ok(r)
    }

    /// IS_FREE_LOCK(name): 1 when nobody holds it, 0 otherwise.
    pub fn is_free_lock(&self, name: &Value) -> Result<Value> {
        let Some(name) = lock_name(name)? else {
            return Ok(Value::Null);
        };
        Ok(Value::Int(!self.held.lock().contains_key(&name) as i64))
    }

    /// IS_USED_LOCK(name): the holder's connection id, or NULL.
    pub fn is_used_lock(&self, name: &Value) -> Result<Value> {
        let Some(name) = lock_name(name)? else {
            return Ok(Value::Null);
        };
        Ok(self
            .held
            .lock()
            .get(&name)
            .map_or(Value::Null, |(owner, _)| Value::Int(*owner as i64)))
    }

    /// RELEASE_ALL_LOCKS() (and session end): how many lock acquisitions were released.
    pub fn release_all(&self, session: u32) -> Value {
        let mut held = self.held.lock();
        let mut released = 0i64;
        held.retain(|_, (owner, count)| {
            if *owner == session {
                released += *count as i64;
                false
            } else {
                true
            }
        });
        if released > 0 {
            self.freed.notify_all();
        }
        Value::Int(released)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn v(s: &str) -> Value {
        Value::from(s)
    }

    #[test]
    fn lock_lifecycle() {
        let l = UserLocks::new();
        let mut ctx = FnContext::default();
        assert_eq!(
            l.get_lock(1, &v("Flyway"), &Value::Int(0), &mut ctx),
            Ok(Value::Int(1))
        );
        assert_eq!(
            l.get_lock(1, &v("flyway"), &Value::Int(0), &mut ctx),
            Ok(Value::Int(1))
        );
        assert_eq!(
            l.get_lock(2, &v("FLYWAY"), &Value::Int(0), &mut ctx),
            Ok(Value::Int(0))
        );
        assert_eq!(l.is_free_lock(&v("flyway")), Ok(Value::Int(0)));
        assert_eq!(l.is_used_lock(&v("flyway")), Ok(Value::Int(1)));
        assert_eq!(l.release_lock(2, &v("flyway")), Ok(Value::Int(0)));
        assert_eq!(l.release_lock(1, &v("flyway")), Ok(Value::Int(1)));
        assert_eq!(
            l.is_free_lock(&v("flyway")),
            Ok(Value::Int(0)),
            "taken twice"
        );
        assert_eq!(l.release_lock(1, &v("flyway")), Ok(Value::Int(1)));
        assert_eq!(l.is_free_lock(&v("flyway")), Ok(Value::Int(1)));
        assert_eq!(l.release_lock(1, &v("flyway")), Ok(Value::Null));
        assert_eq!(l.is_used_lock(&v("flyway")), Ok(Value::Null));
        l.get_lock(3, &v("a"), &Value::Int(0), &mut ctx).unwrap();
        l.get_lock(3, &v("b"), &Value::Int(0), &mut ctx).unwrap();
        l.get_lock(3, &v("b"), &Value::Int(0), &mut ctx).unwrap();
        assert_eq!(l.release_all(3), Value::Int(3));
        assert_eq!(l.is_free_lock(&v("b")), Ok(Value::Int(1)));
        assert_eq!(
            l.get_lock(1, &v(&"x".repeat(65)), &Value::Int(0), &mut ctx)
                .unwrap_err()
                .code,
            3057
        );
        assert_eq!(
            l.get_lock(1, &Value::Null, &Value::Int(0), &mut ctx),
            Ok(Value::Null)
        );
    }

    #[test]
    fn waiter_gets_the_lock_when_released() {
        let l = Arc::new(UserLocks::new());
        let mut ctx = FnContext::default();
        assert_eq!(
            l.get_lock(1, &v("m"), &Value::Int(0), &mut ctx),
            Ok(Value::Int(1))
        );
        let l2 = Arc::clone(&l);
        let waiter = std::thread::spawn(move || {
            let mut ctx = FnContext::default();
            l2.get_lock(2, &v("m"), &Value::Int(10), &mut ctx)
        });
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(l.release_lock(1, &v("m")), Ok(Value::Int(1)));
        assert_eq!(waiter.join().expect("waiter thread"), Ok(Value::Int(1)));
        assert_eq!(l.is_used_lock(&v("m")), Ok(Value::Int(2)));
        // A short timeout expires.
        let t = Instant::now();
        assert_eq!(
            l.get_lock(1, &v("m"), &Value::Double(0.05), &mut ctx),
            Ok(Value::Int(0))
        );
        assert!(t.elapsed() >= Duration::from_millis(40));
    }
}
