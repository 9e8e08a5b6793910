//! The storage crate's error type.

use crate::PageNo;

/// Errors the storage layer reports. Callers act on the variant.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("corrupted data: {0}")]
    Corrupted(String),
    #[error("write quorum lost for protection group {pg}")]
    QuorumLost { pg: u64 },
    #[error("fenced: writer epoch {ours} is older than volume epoch {theirs}")]
    Fenced { ours: u64, theirs: u64 },
    #[error("volume full: page {page} is beyond the volume size limit")]
    VolumeFull { page: PageNo },
    #[error("read-only volume handle")]
    ReadOnly,
    #[error("invalid input: {0}")]
    InvalidInput(String),
    #[error("read point {at} is older than the oldest kept version ({oldest})")]
    ReadPointTooOld { at: u64, oldest: u64 },
    #[error("unavailable: {0}")]
    Unavailable(String),
    #[error("volume is closed")]
    Closed,
    /// Another process (or another open volume in this one) holds the directory's lock.
    #[error("{0} is in use by another Borealis process (its LOCK file is held)")]
    InUse(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
