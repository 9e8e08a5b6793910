//! The database handle: owns the volume, the catalog and the transaction manager.

use std::path::Path;
use std::sync::Arc;

use crate::error::Result;
use crate::session::{Session, SessionInfo};

/// How to open a database.
#[derive(Clone, Debug)]
pub struct DatabaseOptions {
    /// Buffer pool bound in bytes.
    pub buffer_pool_bytes: usize,
    /// fsync the storage logs on commit (durability); off only for throwaway data.
    pub fsync: bool,
}

impl Default for DatabaseOptions {
    fn default() -> Self {
        DatabaseOptions {
            buffer_pool_bytes: 256 << 20,
            fsync: true,
        }
    }
}

/// An account as the server needs it for authentication.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserAccount {
    pub user: String,
    pub host: String,
    /// "mysql_native_password" or "caching_sha2_password".
    pub plugin: String,
    /// SHA1(SHA1(password)); None when the account has no password.
    pub native_hash: Option<[u8; 20]>,
    /// SHA256(SHA256(password)); None when the account has no password.
    pub sha2_hash: Option<[u8; 32]>,
}

pub(crate) struct Shared {}

/// A database: cheap to clone, thread-safe. Sessions are created from it.
#[derive(Clone)]
pub struct Database {
    pub(crate) shared: Arc<Shared>,
}

impl Database {
    /// Open (or create) a database in `dir` on the embedded six-node, three-AZ volume.
    pub fn open(dir: impl AsRef<Path>) -> Result<Database> {
        Self::open_with(dir, DatabaseOptions::default())
    }

    pub fn open_with(_dir: impl AsRef<Path>, _opts: DatabaseOptions) -> Result<Database> {
        Ok(Database {
            shared: Arc::new(Shared {}),
        })
    }

    /// A throwaway database with no disk, for tests.
    pub fn open_in_memory() -> Result<Database> {
        Ok(Database {
            shared: Arc::new(Shared {}),
        })
    }

    /// A new session as root@localhost.
    pub fn session(&self) -> Session {
        self.session_with(SessionInfo::default())
    }

    /// A new session for an authenticated connection.
    pub fn session_with(&self, info: SessionInfo) -> Session {
        Session::new(self.clone(), info)
    }

    /// The account `user` connecting from `host`, if it exists.
    pub fn lookup_user(&self, _user: &str, _host: &str) -> Option<UserAccount> {
        None
    }

    /// On first start: create root@% with `password` if no root account exists.
    /// Returns true when it created the account.
    pub fn bootstrap_root(&self, _password: &str) -> Result<bool> {
        Ok(false)
    }

    /// Ask the session with this connection id to stop its running statement
    /// (`KILL QUERY`) or to close (`KILL`). Returns false if there is no such session.
    pub fn kill(&self, _connection_id: u32, _query_only: bool) -> bool {
        false
    }
}
