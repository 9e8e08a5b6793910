//! Borealis storage: the shared, redo-only volume.
//!
//! The database instance (the writer) never writes pages. It hands mini-transactions
//! (MTRs: groups of page changes that apply atomically) to a [`Volume`], which assigns
//! them LSNs, ships them to the segment replicas of the page's protection group and
//! reports the volume durable LSN (VDL). Pages are read back "as of" a read point.
//!
//! The narrow interface the engine sees is the [`Volume`] trait; the function that turns
//! redo into page images is [`redo::apply`], shared by storage nodes, the writer and
//! replicas so there is exactly one definition of what a record means. The product
//! implementation is [`LocalVolume`] (`LocalVolume::open(VolumeConfig::on_disk(dir))`,
//! `VolumeConfig::in_memory()`, or storage-node processes over TCP); [`mem::MemVolume`]
//! is a single-copy model for tests. A commit is traced end to end in [`volume`].
//!
//! Code map (bottom up):
//! - [`record`]: the redo record codec (magic, version, back-link, crc32c);
//! - [`io`]: segment file I/O behind traits (directory, memory, faults); [`flush`]: how
//!   a log append reaches stable storage on the file system at hand;
//! - [`segment`]: one replica of one protection group: group-commit log, page slots,
//!   exact as-of reads, materialization, compaction, scrub, snapshot/rebuild;
//! - [`quorum`]: the writer's pure quorum state machine (VCL, VDL, SCLs, read routing,
//!   membership change);
//! - [`transport`]: writer->node and node->node interfaces; [`node`]: a storage node and
//!   the in-process network; [`net`]: the same over TCP;
//! - [`cluster`]: six in-process nodes in three AZs and their persisted membership;
//! - [`recovery`]: opening a volume: fencing, VDL, truncation, no redo replay;
//! - [`volume`]: [`LocalVolume`], the [`Volume`] a writer or replica uses.
//!
//! On-disk formats are in docs/format.md; [`FORMAT_VERSION`] versions all of them.

pub mod aio;
pub mod cluster;
pub mod error;
pub mod flush;
pub mod io;
pub mod journal;
pub mod mem;
pub mod net;
pub mod node;
pub mod quorum;
pub mod record;
pub mod recovery;
pub mod redo;
pub mod segment;
pub mod transport;
pub mod volume;

pub use error::{Error, Result};

/// Version of every on-disk and on-wire byte layout of this crate (records, segment
/// page slots, segment metadata; see docs/format.md). Bump it on ANY change to them.
pub const FORMAT_VERSION: u8 = 1;

/// Size of one database page (and of one page image in a segment).
pub const PAGE_SIZE: usize = 16 * 1024;

/// Log sequence number. Allocated by the writer's volume driver; 0 means "nothing".
pub type Lsn = u64;

/// Global page number in the volume's page address space.
pub type PageNo = u64;

/// An owned page image.
pub type PageBuf = Box<[u8; PAGE_SIZE]>;

/// A zeroed page image.
pub fn zero_page() -> PageBuf {
    vec![0u8; PAGE_SIZE]
        .into_boxed_slice()
        .try_into()
        .expect("vec has PAGE_SIZE bytes")
}

/// One page change inside a mini-transaction. `payload` is in the format of [`redo`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageWrite {
    pub page: PageNo,
    pub payload: Vec<u8>,
}

/// A record as replicas see it on the log stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogRecord {
    pub lsn: Lsn,
    pub page: PageNo,
    pub mtr_end: bool,
    pub payload: Vec<u8>,
}

/// What a follower (read replica) receives from [`Volume::subscribe`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogEvent {
    /// Records in LSN order (possibly above the current VDL: apply only up to VDL).
    Records(Vec<LogRecord>),
    /// The volume durable LSN advanced to this value.
    Durable(Lsn),
}

/// The narrow interface between an instance and the storage volume.
///
/// All methods may be called concurrently from many threads. `append_mtr` calls are
/// ordered by the caller (the engine serializes them); LSNs are assigned in call order.
pub trait Volume: Send + Sync {
    /// Append one mini-transaction atomically. Its records get consecutive LSNs and the
    /// last one is flagged as the MTR end (a CPL). Returns that LSN. The MTR is not yet
    /// durable; use [`Volume::wait_durable`]. Blocks while the writer is more than the
    /// LSN allocation limit (LAL) ahead of VDL. Fails on a read-only (replica) handle.
    fn append_mtr(&self, writes: Vec<PageWrite>) -> Result<Lsn>;

    /// Block until VDL >= `lsn` (the commit rule), or fail if the volume cannot get there.
    fn wait_durable(&self, lsn: Lsn) -> Result<()>;

    /// The current volume durable LSN: the highest MTR end with no holes below it that a
    /// write quorum holds.
    fn durable_lsn(&self) -> Lsn;

    /// The highest LSN handed out so far (equal to VDL on a read-only handle).
    fn last_lsn(&self) -> Lsn;

    /// Page `page` as of read point `at`: its image with every record of LSN <= `at`
    /// applied and none above. A never-written page reads as zeros.
    fn read_page(&self, page: PageNo, at: Lsn) -> Result<PageBuf>;

    /// Follow the log: every record appended and every VDL advance from now on.
    fn subscribe(&self) -> crossbeam::channel::Receiver<LogEvent>;

    /// Register (or move) this instance's oldest read point; log above it is kept.
    fn set_min_read_point(&self, instance: u64, at: Lsn);
}

pub use volume::{LocalVolume, VolumeConfig};
