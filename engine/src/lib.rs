//! Borealis engine: SQL with MySQL's semantics on the redo-only storage volume.
//!
//! Open a [`Database`] (on a directory, or in memory for tests), get a [`Session`], run
//! SQL:
//!
//! ```
//! use borealis_engine::{Database, Value};
//! let db = Database::open_in_memory().unwrap();
//! let mut s = db.session();
//! s.execute("CREATE DATABASE shop").unwrap();
//! s.execute("USE shop").unwrap();
//! s.execute("CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(20))").unwrap();
//! s.query("INSERT INTO items VALUES (?, ?)", &[Value::Int(1), "apple".into()]).unwrap();
//! let r = s.execute("SELECT name FROM items WHERE id = 1").unwrap();
//! assert_eq!(r.rows()[0][0], Value::from("apple"));
//! ```

pub mod btree;
pub mod buffer_pool;
pub mod catalog;
pub mod collation;
pub mod convert;
pub mod database;
pub mod error;
pub mod functions;
pub mod keycodec;
pub mod overflow;
pub mod page;
pub mod pager;
pub mod replica;
pub mod result;
pub mod row;
pub mod schema_gate;
pub mod session;
pub(crate) mod sql;
pub mod store;
pub mod temporal;
#[cfg(test)]
mod test_sql;
pub mod txn;
pub mod value;

pub use database::{Database, DatabaseOptions, UserAccount};
pub use error::{Error, Result};
pub use replica::{ClusterView, InstanceInfo, InstanceRole, ReplicaStatus};
pub use result::{Column, ColumnType, QueryResult, Row};
pub use session::{PreparedStatement, Session, SessionInfo, SessionStatus};
pub use sql::load_data::{FsLocalInfile, LocalInfile};
pub use sql::parse::{split_statements, unescape_byte};
pub use value::Value;

/// The version string the server reports (`SELECT VERSION()`, the handshake).
pub const SERVER_VERSION: &str = concat!("8.0.36-Borealis-", env!("CARGO_PKG_VERSION"));
