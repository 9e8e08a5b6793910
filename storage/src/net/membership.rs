//! Volume membership over TCP: which six storage nodes are the quorum set, and how a
//! writer finds it (the in-process cluster keeps its own in `cluster.meta`).
//!
//! Every storage-node process stores the newest [`Membership`] it was offered in
//! `membership.meta` in its directory ([`MemberStore`]; format in docs/format.md) and
//! keeps it across restarts. A membership carries an epoch, bumped by every change.
//!
//! - Opening ([`discover`]): the writer asks every node its address book knows, follows
//!   the highest epoch it hears of (asking that membership's members too), and accepts
//!   it once a read quorum (3) of its members answer with a stored membership no newer.
//!   A brand-new volume (no node stores one) starts at epoch 1 with the book's six.
//! - Replacing a dead member ([`commit_change`], ABCDEF -> ABCDEG): the writer first
//!   writes to both quorum sets until G caught up, then stores the new membership
//!   (epoch + 1) on a write quorum (4) of the old set AND of the new set, and only then
//!   drops the old set.
//!
//! - Joining from the command line: a new node started with `--replaces OLD`
//!   ([`announce_join`]) tells the peers it knows; members report such [`Joiner`]s with
//!   their membership, and the writer, checking its members every few seconds, starts
//!   the change itself ([`crate::LocalVolume::replace_member`]).
//!
//! Offers carry the writer's epoch and a node refuses one older than any epoch its
//! segments adopted (`Fenced`): a deposed writer reaches at most three nodes of a set,
//! never the write quorum a change needs.
//!
//! Invariant: once a change has committed, every read quorum of the old set contains a
//! node storing the new membership (4 + 3 > 6), so a writer starting from the old set
//! (e.g. its configuration) is always led to the new one. A membership is stored only
//! after its new member caught up, so a writer that sees it anywhere (even a change
//! that crashed half-committed) may adopt it. A node without a stored membership (new
//! or wiped) vouches for nothing; the writer re-offers the membership to such members.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::client::TcpTransport;
use super::wire::{Dec, Enc};
use crate::quorum::{NodeId, READ_QUORUM, REPLICAS, WRITE_QUORUM};
use crate::{Error, Result, FORMAT_VERSION};

/// File name of a node's stored membership.
pub const FILE: &str = "membership.meta";
const MAGIC: &[u8; 8] = b"BRLSMEMB";

/// One member of the quorum set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub id: NodeId,
    /// Its availability zone (None: it was unreachable when the volume was created).
    pub az: Option<u8>,
    /// Where it listened when the membership was made (a hint for address books that
    /// do not name it).
    pub addr: Option<SocketAddr>,
}

/// The quorum set of a volume and its change counter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Membership {
    pub epoch: u64,
    pub members: Vec<Member>,
}

impl Membership {
    /// Member ids, in order.
    pub fn ids(&self) -> Vec<NodeId> {
        self.members.iter().map(|m| m.id).collect()
    }

    pub fn member(&self, id: NodeId) -> Option<&Member> {
        self.members.iter().find(|m| m.id == id)
    }

    /// The next membership: `new` in place of `old`.
    pub fn replaced(&self, old: NodeId, new: Member) -> Result<Membership> {
        if self.member(new.id).is_some() {
            return Err(Error::InvalidInput(format!(
                "node {} is already a member",
                new.id
            )));
        }
        let mut next = self.clone();
        next.epoch += 1;
        let slot = next
            .members
            .iter_mut()
            .find(|m| m.id == old)
            .ok_or_else(|| Error::InvalidInput(format!("node {old} is not a member")))?;
        *slot = new;
        Ok(next)
    }

    pub fn encode(&self, e: &mut Enc) {
        e.u64(self.epoch).u64(self.members.len() as u64);
        for m in &self.members {
            e.u64(m.id as u64);
            match m.az {
                Some(az) => e.u8(1).u8(az),
                None => e.u8(0),
            };
            e.str(&m.addr.map(|a| a.to_string()).unwrap_or_default());
        }
    }

    /// Decode and validate (six distinct members).
    pub fn decode(d: &mut Dec) -> Result<Membership> {
        let bad = |m: &str| Error::Corrupted(format!("membership: {m}"));
        let epoch = d.u64()?;
        let n = d.u64()?;
        if n != REPLICAS as u64 {
            return Err(bad("must name six members"));
        }
        let mut members = Vec::with_capacity(REPLICAS);
        for _ in 0..n {
            let id = d.u64()? as NodeId;
            let az = match d.bool()? {
                true => Some(d.u8()?),
                false => None,
            };
            let addr = d.str()?;
            let addr = match addr.is_empty() {
                true => None,
                false => Some(addr.parse().map_err(|_| bad("bad address"))?),
            };
            if members.iter().any(|m: &Member| m.id == id) {
                return Err(bad("duplicate member"));
            }
            members.push(Member { id, az, addr });
        }
        Ok(Membership { epoch, members })
    }

    /// `flag:u8 [membership]`.
    pub fn encode_opt(m: Option<&Membership>, e: &mut Enc) {
        match m {
            Some(m) => {
                e.u8(1);
                m.encode(e);
            }
            None => {
                e.u8(0);
            }
        }
    }

    pub fn decode_opt(d: &mut Dec) -> Result<Option<Membership>> {
        Ok(match d.bool()? {
            true => Some(Self::decode(d)?),
            false => None,
        })
    }

    /// The file image: magic, format version, body length, body, crc32c of all before.
    fn to_file(&self) -> Vec<u8> {
        let mut body = Enc::new();
        self.encode(&mut body);
        let mut b = MAGIC.to_vec();
        b.push(FORMAT_VERSION);
        b.extend_from_slice(&(body.0.len() as u32).to_le_bytes());
        b.extend_from_slice(&body.0);
        let crc = crc32c::crc32c(&b);
        b.extend_from_slice(&crc.to_le_bytes());
        b
    }

    fn from_file(b: &[u8]) -> Result<Membership> {
        let bad = |m: &str| Error::Corrupted(format!("{FILE}: {m}"));
        if b.len() < MAGIC.len() + 1 + 4 + 4 || &b[..MAGIC.len()] != MAGIC {
            return Err(bad("no magic"));
        }
        if b[MAGIC.len()] != FORMAT_VERSION {
            return Err(bad("unknown format version"));
        }
        let (data, crc) = b.split_at(b.len() - 4);
        if crc32c::crc32c(data) != u32::from_le_bytes(crc.try_into().expect("4 bytes")) {
            return Err(bad("crc32c mismatch"));
        }
        let len_at = MAGIC.len() + 1;
        let len = u32::from_le_bytes(data[len_at..len_at + 4].try_into().expect("4 bytes"));
        let body = &data[len_at + 4..];
        if body.len() != len as usize {
            return Err(bad("length mismatch"));
        }
        let mut d = Dec::new(body);
        let m = Self::decode(&mut d)?;
        d.end()?;
        Ok(m)
    }
}

/// A node asking to take member `replaces`'s place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Joiner {
    pub id: NodeId,
    pub az: u8,
    pub addr: SocketAddr,
    pub replaces: NodeId,
}

impl Joiner {
    pub fn encode(&self, e: &mut Enc) {
        e.u64(self.id as u64)
            .u8(self.az)
            .str(&self.addr.to_string())
            .u64(self.replaces as u64);
    }

    pub fn decode(d: &mut Dec) -> Result<Joiner> {
        Ok(Joiner {
            id: d.u64()? as NodeId,
            az: d.u8()?,
            addr: d
                .str()?
                .parse()
                .map_err(|_| Error::Corrupted("joiner: bad address".into()))?,
            replaces: d.u64()? as NodeId,
        })
    }
}

/// What a node says about membership: its own id and AZ, the membership it stores and
/// the nodes that asked it to join.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeView {
    pub id: NodeId,
    pub az: u8,
    pub membership: Option<Membership>,
    pub joiners: Vec<Joiner>,
}

impl NodeView {
    pub fn encode(&self, e: &mut Enc) {
        e.u64(self.id as u64).u8(self.az);
        Membership::encode_opt(self.membership.as_ref(), e);
        e.u64(self.joiners.len() as u64);
        for j in &self.joiners {
            j.encode(e);
        }
    }

    pub fn decode(d: &mut Dec) -> Result<NodeView> {
        let (id, az) = (d.u64()? as NodeId, d.u8()?);
        let membership = Membership::decode_opt(d)?;
        let n = d.u64()?;
        if n > 1024 {
            return Err(Error::Corrupted(format!("{n} joiners")));
        }
        let joiners = (0..n).map(|_| Joiner::decode(d)).collect::<Result<_>>()?;
        Ok(NodeView {
            id,
            az,
            membership,
            joiners,
        })
    }
}

/// A storage node's stored membership (`<dir>/membership.meta`), and the joiners it
/// heard of (in memory: a joiner repeats its announcement until it is a member).
pub struct MemberStore {
    path: PathBuf,
    fsync: bool,
    cur: Mutex<Option<Membership>>,
    joiners: Mutex<Vec<Joiner>>,
}

impl MemberStore {
    /// Load the stored membership. A damaged file is ignored (the node then vouches for
    /// nothing until a writer offers the membership again).
    pub fn open(dir: &Path, fsync: bool) -> Result<MemberStore> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(FILE);
        let cur = match std::fs::read(&path) {
            Ok(b) => match Membership::from_file(&b) {
                Ok(m) => Some(m),
                Err(e) => {
                    tracing::warn!("ignoring {}: {e}", path.display());
                    None
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e.into()),
        };
        Ok(MemberStore {
            path,
            fsync,
            cur: Mutex::new(cur),
            joiners: Mutex::new(Vec::new()),
        })
    }

    pub fn get(&self) -> Option<Membership> {
        self.cur.lock().clone()
    }

    /// Remember a join request (the newest per joining node).
    pub fn note_joiner(&self, j: Joiner) {
        let mut v = self.joiners.lock();
        v.retain(|x| x.id != j.id);
        v.push(j);
    }

    /// Join requests of nodes that are not members yet.
    pub fn joiners(&self) -> Vec<Joiner> {
        let cur = self.get();
        let mut v = self.joiners.lock();
        v.retain(|j| cur.as_ref().is_none_or(|m| m.member(j.id).is_none()));
        v.clone()
    }

    /// Keep `m` if its epoch is above the stored one (durably, before answering);
    /// returns what is stored afterwards. The same epoch with other members is refused:
    /// two writers never make different changes under one epoch.
    pub fn offer(&self, m: Membership) -> Result<Option<Membership>> {
        let mut cur = self.cur.lock();
        match &*cur {
            Some(c) if c.epoch > m.epoch => return Ok(Some(c.clone())),
            Some(c) if c.epoch == m.epoch => {
                if c.ids() != m.ids() {
                    return Err(Error::InvalidInput(format!(
                        "membership epoch {} already names other members",
                        m.epoch
                    )));
                }
                return Ok(Some(c.clone()));
            }
            _ => {}
        }
        let tmp = self.path.with_extension("meta.tmp");
        std::fs::write(&tmp, m.to_file())?;
        if self.fsync {
            std::fs::File::open(&tmp)?.sync_all()?;
        }
        std::fs::rename(&tmp, &self.path)?;
        if self.fsync {
            if let Some(d) = self.path.parent() {
                std::fs::File::open(d)?.sync_all()?;
            }
        }
        *cur = Some(m);
        Ok(cur.clone())
    }
}

/// Find the volume's current membership through `t` (see the module doc), waiting up
/// to `timeout` for a read quorum of it to answer.
pub fn discover(t: &TcpTransport, timeout: Duration) -> Result<Membership> {
    let deadline = Instant::now() + timeout;
    loop {
        match try_discover(t) {
            Err(Error::Unavailable(m)) if Instant::now() < deadline => {
                tracing::debug!("membership discovery waiting: {m}");
                std::thread::sleep(Duration::from_millis(20));
            }
            r => return r,
        }
    }
}

fn try_discover(t: &TcpTransport) -> Result<Membership> {
    let mut answers: std::collections::HashMap<NodeId, (u8, Option<Membership>)> =
        Default::default();
    let mut asked = std::collections::HashSet::new();
    let mut best: Option<Membership> = t.membership();
    loop {
        let mut ask: Vec<NodeId> = t.book().ids();
        if let Some(b) = &best {
            ask.extend(b.ids());
        }
        ask.retain(|id| !asked.contains(id));
        if ask.is_empty() {
            break;
        }
        for id in ask {
            asked.insert(id);
            if let Ok(NodeView {
                id: nid,
                az,
                membership: m,
                ..
            }) = t.node_view(id)
            {
                if nid != id {
                    tracing::warn!(id, nid, "address book names the wrong node");
                    continue;
                }
                if let Some(m) = &m {
                    if best.as_ref().is_none_or(|b| m.epoch > b.epoch) {
                        best = Some(m.clone());
                        t.set_membership(m.clone()); // learn its members' addresses
                    }
                }
                answers.insert(id, (az, m));
            }
        }
    }
    let Some(best) = best else {
        // A new volume (or one from before memberships were stored): the book's six.
        let ids = t.book().ids();
        if ids.len() != REPLICAS {
            return Err(match answers.is_empty() {
                true => Error::Unavailable("no storage node answered".into()),
                false => Error::InvalidInput(format!(
                    "the address book names {} storage nodes and none stores a membership",
                    ids.len()
                )),
            });
        }
        return Ok(Membership {
            epoch: 1,
            members: ids
                .into_iter()
                .map(|id| Member {
                    id,
                    az: answers.get(&id).map(|a| a.0),
                    addr: t.book().lookup(id),
                })
                .collect(),
        });
    };
    let vouching = best
        .ids()
        .iter()
        .filter(|id| matches!(answers.get(id), Some((_, Some(_)))))
        .count();
    if vouching < READ_QUORUM {
        return Err(Error::Unavailable(format!(
            "{vouching} members of membership epoch {} answered",
            best.epoch
        )));
    }
    Ok(best)
}

/// Announce, until node `me` is a member, that it wants to replace member `replaces`:
/// every `every`, to each peer `book` names (a background thread; see the module doc).
pub fn announce_join(
    me: Joiner,
    book: super::AddrBook,
    store: std::sync::Arc<MemberStore>,
    every: Duration,
) -> Result<()> {
    use super::client::NodeConn;
    std::thread::Builder::new()
        .name(format!("node{}-join", me.id))
        .spawn(move || {
            let mut body = Enc::new();
            me.encode(&mut body);
            store.note_joiner(me.clone());
            while store.get().is_none_or(|m| m.member(me.id).is_none()) {
                for id in book.ids().into_iter().filter(|&id| id != me.id) {
                    let _ = NodeConn::new(id, book.clone()).call(super::wire::REQ_JOIN, &body.0);
                }
                std::thread::sleep(every);
            }
            tracing::info!(node = me.id, "joined the volume");
        })?;
    Ok(())
}

/// Offer `m` to every node in `ids` as the writer of `epoch`; the ids that now store it.
pub fn offer_all(t: &TcpTransport, epoch: u64, m: &Membership, ids: &[NodeId]) -> Vec<NodeId> {
    ids.iter()
        .copied()
        .filter(|&id| matches!(t.offer_membership(id, epoch, m), Ok(Some(c)) if c == *m))
        .collect()
}

/// Commit a change from `old` to `new` as the writer of `epoch` (see the module doc):
/// stored on a write quorum of both member sets, or an error (`Unavailable`: try again
/// later; a deposed writer never gets there).
pub fn commit_change(
    t: &TcpTransport,
    epoch: u64,
    old: &Membership,
    new: &Membership,
) -> Result<()> {
    let mut ids = old.ids();
    ids.extend(new.ids());
    ids.sort_unstable();
    ids.dedup();
    let stored = offer_all(t, epoch, new, &ids);
    for set in [old, new] {
        let n = set.ids().iter().filter(|id| stored.contains(id)).count();
        if n < WRITE_QUORUM {
            return Err(Error::Unavailable(format!(
                "membership epoch {} stored on {n} of the epoch {} set",
                new.epoch, set.epoch
            )));
        }
    }
    t.set_membership(new.clone());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn six(epoch: u64) -> Membership {
        Membership {
            epoch,
            members: (0..6)
                .map(|i| Member {
                    id: i,
                    az: (i != 3).then_some((i / 2) as u8),
                    addr: (i % 2 == 0).then(|| format!("127.0.0.1:{}", 7000 + i).parse().unwrap()),
                })
                .collect(),
        }
    }

    #[test]
    fn file_roundtrips_and_detects_damage() {
        let m = six(4);
        let b = m.to_file();
        assert_eq!(Membership::from_file(&b).unwrap(), m);
        for i in 0..b.len() {
            let mut c = b.clone();
            c[i] ^= 0x10;
            assert!(Membership::from_file(&c).is_err(), "flip at {i}");
        }
        for n in 0..b.len() {
            assert!(Membership::from_file(&b[..n]).is_err(), "cut at {n}");
        }
    }

    #[test]
    fn replaced_bumps_epoch_and_checks_members() {
        let m = six(1);
        let new = Member {
            id: 6,
            az: Some(2),
            addr: None,
        };
        let n = m.replaced(5, new.clone()).unwrap();
        assert_eq!(n.epoch, 2);
        assert_eq!(n.ids(), vec![0, 1, 2, 3, 4, 6]);
        assert!(m.replaced(9, new).is_err());
        assert!(n
            .replaced(
                0,
                Member {
                    id: 6,
                    az: None,
                    addr: None
                }
            )
            .is_err());
    }

    #[test]
    fn store_keeps_the_newest_across_reopen() {
        let d = tempfile::tempdir().unwrap();
        let s = MemberStore::open(d.path(), false).unwrap();
        assert_eq!(s.get(), None);
        assert_eq!(s.offer(six(2)).unwrap(), Some(six(2)));
        // Older: refused quietly (the caller sees the newer one).
        assert_eq!(s.offer(six(1)).unwrap(), Some(six(2)));
        // Same epoch, other members: an error.
        let other = six(2)
            .replaced(
                5,
                Member {
                    id: 9,
                    az: None,
                    addr: None,
                },
            )
            .unwrap();
        let mut same_epoch = other.clone();
        same_epoch.epoch = 2;
        assert!(s.offer(same_epoch).is_err());
        assert_eq!(s.offer(other.clone()).unwrap(), Some(other.clone()));
        drop(s);
        let s = MemberStore::open(d.path(), false).unwrap();
        assert_eq!(s.get(), Some(other));
        // A damaged file is ignored, not fatal.
        std::fs::write(d.path().join(FILE), b"BRLSMEMB garbage").unwrap();
        assert_eq!(MemberStore::open(d.path(), false).unwrap().get(), None);
    }
}
