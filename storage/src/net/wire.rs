//! The TCP wire format between writers and storage nodes and between peer nodes.
//!
//! A frame is `len:u32 kind:u8 body[len-1]` (little endian). Requests and their
//! responses are numbered kinds; a response is [`RESP_OK`] + result body or
//! [`RESP_ERR`] + an encoded [`Error`]. Redo records travel in their on-disk encoding
//! (crc32c-checked, see docs/format.md), so a flipped bit on the wire is caught like one
//! on disk. Every decoder returns `Error::Corrupted` on malformed input, never panics.

use std::io::{Read, Write};

use crate::record::{self, Record};
use crate::segment::{SegStatus, Snapshot, Trunc};
use crate::{Error, Result, PAGE_SIZE};

/// Largest frame accepted (a snapshot of a small segment, or a batch of records).
pub const MAX_FRAME: usize = 1 << 30;

pub const REQ_APPEND: u8 = 1;
pub const REQ_READ_PAGE: u8 = 2;
pub const REQ_POLL: u8 = 3;
pub const REQ_PGS: u8 = 4;
pub const REQ_ADOPT: u8 = 5;
pub const REQ_RECOVERY_RECORDS: u8 = 6;
pub const REQ_TAIL: u8 = 7;
pub const REQ_APPEND_SYNC: u8 = 8;
pub const REQ_PEER_STATUS: u8 = 9;
pub const REQ_PEER_EPOCH: u8 = 10;
pub const REQ_RECORDS_AFTER: u8 = 11;
pub const REQ_SNAPSHOT_BEGIN: u8 = 12;
pub const REQ_SNAPSHOT_PAGES: u8 = 13;
pub const REQ_SNAPSHOT_END: u8 = 14;
/// A database instance registers itself (read replicas: with their read floor).
pub const REQ_HELLO: u8 = 15;
/// A read replica fetches durable records of a PG (see `Segment::follow`).
pub const REQ_FOLLOW: u8 = 16;
/// The instances registered with a node.
pub const REQ_INSTANCES: u8 = 17;
/// A node's identity and the volume membership it stores.
pub const REQ_MEMBERSHIP: u8 = 18;
/// Offer a node a volume membership (kept if newer than its own).
pub const REQ_SET_MEMBERSHIP: u8 = 19;
/// A node that wants to replace a member announces itself to its peers.
pub const REQ_JOIN: u8 = 20;
/// Asynchronous acknowledgement of a [`REQ_APPEND`].
pub const ACK: u8 = 100;
pub const RESP_OK: u8 = 101;
pub const RESP_ERR: u8 = 102;

pub fn write_frame(w: &mut impl Write, kind: u8, body: &[u8]) -> Result<()> {
    let len = body.len() + 1;
    if len > MAX_FRAME {
        return Err(Error::InvalidInput(format!("frame of {len} bytes")));
    }
    let mut buf = Vec::with_capacity(len + 4);
    buf.extend_from_slice(&(len as u32).to_le_bytes());
    buf.push(kind);
    buf.extend_from_slice(body);
    w.write_all(&buf)?;
    Ok(())
}

pub fn read_frame(r: &mut impl Read) -> Result<(u8, Vec<u8>)> {
    let mut h = [0u8; 5];
    r.read_exact(&mut h)?;
    let len = u32::from_le_bytes([h[0], h[1], h[2], h[3]]) as usize;
    if len == 0 || len > MAX_FRAME {
        return Err(Error::Corrupted(format!("frame length {len}")));
    }
    let mut body = vec![0u8; len - 1];
    r.read_exact(&mut body)?;
    Ok((h[4], body))
}

/// Builder of a frame body.
#[derive(Default)]
pub struct Enc(pub Vec<u8>);

impl Enc {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.0.push(v);
        self
    }
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn bool(&mut self, v: bool) -> &mut Self {
        self.u8(v as u8)
    }
    pub fn opt_u64(&mut self, v: Option<u64>) -> &mut Self {
        match v {
            Some(x) => self.u8(1).u64(x),
            None => self.u8(0),
        }
    }
    pub fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.u64(b.len() as u64);
        self.0.extend_from_slice(b);
        self
    }
    pub fn str(&mut self, s: &str) -> &mut Self {
        self.bytes(s.as_bytes())
    }
    pub fn u64s(&mut self, v: &[u64]) -> &mut Self {
        self.u64(v.len() as u64);
        for x in v {
            self.u64(*x);
        }
        self
    }
    pub fn truncs(&mut self, t: &[Trunc]) -> &mut Self {
        self.u64(t.len() as u64);
        for x in t {
            self.u64(x.epoch).u64(x.vdl);
        }
        self
    }
    pub fn records<'a>(&mut self, recs: impl IntoIterator<Item = &'a Record>) -> Result<&mut Self> {
        let mut body = Vec::new();
        let mut n = 0u64;
        for r in recs {
            record::encode(r, &mut body)?;
            n += 1;
        }
        self.u64(n);
        self.bytes(&body);
        Ok(self)
    }
    pub fn status(&mut self, s: &SegStatus) -> &mut Self {
        self.u64(s.pg)
            .u64(s.epoch)
            .u64(s.scl)
            .u64(s.applied)
            .u64(s.max_lsn)
            .bool(s.damaged)
    }
    pub fn error(&mut self, e: &Error) -> &mut Self {
        match e {
            Error::Fenced { ours, theirs } => self.u8(1).u64(*ours).u64(*theirs),
            Error::Corrupted(m) => self.u8(2).str(m),
            Error::Unavailable(m) => self.u8(3).str(m),
            Error::ReadPointTooOld { at, oldest } => self.u8(4).u64(*at).u64(*oldest),
            Error::QuorumLost { pg } => self.u8(5).u64(*pg),
            Error::VolumeFull { page } => self.u8(6).u64(*page),
            Error::ReadOnly => self.u8(7),
            Error::InvalidInput(m) => self.u8(8).str(m),
            Error::Closed => self.u8(9),
            Error::Io(e) => self.u8(10).str(&e.to_string()),
            // Only raised when opening a directory, never in a reply; sent as what it
            // means to a peer.
            e @ Error::InUse(_) => self.u8(3).str(&e.to_string()),
        }
    }
    pub fn snapshot(&mut self, s: &Snapshot) -> Result<&mut Self> {
        self.u64(s.epoch).truncs(&s.truncs).u64(s.applied);
        self.pages(&s.pages);
        self.records(&s.records)
    }
    pub fn pages(&mut self, pages: &[(u64, u64, Vec<u8>)]) -> &mut Self {
        self.u64(pages.len() as u64);
        for (idx, lsn, img) in pages {
            self.u64(*idx).u64(*lsn).bytes(img);
        }
        self
    }
}

/// Reader of a frame body.
pub struct Dec<'a> {
    b: &'a [u8],
    i: usize,
}

fn short() -> Error {
    Error::Corrupted("truncated message".into())
}

impl<'a> Dec<'a> {
    pub fn new(b: &'a [u8]) -> Self {
        Self { b, i: 0 }
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.i.checked_add(n).ok_or_else(short)?;
        let s = self.b.get(self.i..end).ok_or_else(short)?;
        self.i = end;
        Ok(s)
    }
    pub fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    pub fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }
    pub fn bool(&mut self) -> Result<bool> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            x => Err(Error::Corrupted(format!("bad bool {x}"))),
        }
    }
    pub fn opt_u64(&mut self) -> Result<Option<u64>> {
        Ok(match self.bool()? {
            true => Some(self.u64()?),
            false => None,
        })
    }
    fn len(&mut self) -> Result<usize> {
        let n = self.u64()?;
        if n > (self.b.len() - self.i) as u64 {
            return Err(short());
        }
        Ok(n as usize)
    }
    pub fn bytes(&mut self) -> Result<&'a [u8]> {
        let n = self.len()?;
        self.take(n)
    }
    pub fn str(&mut self) -> Result<String> {
        Ok(String::from_utf8_lossy(self.bytes()?).into_owned())
    }
    pub fn u64s(&mut self) -> Result<Vec<u64>> {
        let n = self.len()?;
        (0..n).map(|_| self.u64()).collect()
    }
    pub fn truncs(&mut self) -> Result<Vec<Trunc>> {
        let n = self.len()?;
        (0..n)
            .map(|_| {
                Ok(Trunc {
                    epoch: self.u64()?,
                    vdl: self.u64()?,
                })
            })
            .collect()
    }
    pub fn records(&mut self) -> Result<Vec<Record>> {
        let n = self.u64()?;
        let body = self.bytes()?;
        let mut out = Vec::new();
        let mut off = 0;
        while off < body.len() {
            let (r, used) = record::decode(&body[off..])?;
            out.push(r);
            off += used;
        }
        if out.len() as u64 != n {
            return Err(Error::Corrupted("record count mismatch".into()));
        }
        Ok(out)
    }
    pub fn status(&mut self) -> Result<SegStatus> {
        Ok(SegStatus {
            pg: self.u64()?,
            epoch: self.u64()?,
            scl: self.u64()?,
            applied: self.u64()?,
            max_lsn: self.u64()?,
            damaged: self.bool()?,
        })
    }
    pub fn error(&mut self) -> Result<Error> {
        Ok(match self.u8()? {
            1 => Error::Fenced {
                ours: self.u64()?,
                theirs: self.u64()?,
            },
            2 => Error::Corrupted(self.str()?),
            3 => Error::Unavailable(self.str()?),
            4 => Error::ReadPointTooOld {
                at: self.u64()?,
                oldest: self.u64()?,
            },
            5 => Error::QuorumLost { pg: self.u64()? },
            6 => Error::VolumeFull { page: self.u64()? },
            7 => Error::ReadOnly,
            8 => Error::InvalidInput(self.str()?),
            9 => Error::Closed,
            10 => Error::Io(std::io::Error::other(self.str()?)),
            x => return Err(Error::Corrupted(format!("unknown error code {x}"))),
        })
    }
    pub fn snapshot(&mut self) -> Result<Snapshot> {
        let epoch = self.u64()?;
        let truncs = self.truncs()?;
        let applied = self.u64()?;
        let pages = self.pages()?;
        Ok(Snapshot {
            epoch,
            truncs,
            applied,
            pages,
            records: self.records()?,
        })
    }
    pub fn pages(&mut self) -> Result<Vec<(u64, u64, Vec<u8>)>> {
        let n = self.len()?;
        let mut pages = Vec::with_capacity(n);
        for _ in 0..n {
            let idx = self.u64()?;
            let lsn = self.u64()?;
            let img = self.bytes()?;
            if img.len() != PAGE_SIZE {
                return Err(Error::Corrupted("snapshot page of wrong size".into()));
            }
            pages.push((idx, lsn, img.to_vec()));
        }
        Ok(pages)
    }
    /// Fail unless every byte was consumed.
    pub fn end(&self) -> Result<()> {
        if self.i != self.b.len() {
            return Err(Error::Corrupted("trailing bytes in message".into()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_truncation() {
        let r = Record {
            lsn: 5,
            epoch: 2,
            prev_lsn: 3,
            pg: 1,
            page: 9,
            mtr_end: true,
            payload: vec![2],
        };
        let st = SegStatus {
            pg: 1,
            epoch: 2,
            scl: 3,
            applied: 4,
            max_lsn: 5,
            damaged: true,
        };
        let mut e = Enc::new();
        e.u64(7)
            .opt_u64(Some(3))
            .opt_u64(None)
            .truncs(&[Trunc { epoch: 2, vdl: 9 }])
            .status(&st)
            .error(&Error::Fenced { ours: 1, theirs: 2 });
        e.records([&r, &r]).unwrap();
        let b = e.0.clone();
        let mut d = Dec::new(&b);
        assert_eq!(d.u64().unwrap(), 7);
        assert_eq!(d.opt_u64().unwrap(), Some(3));
        assert_eq!(d.opt_u64().unwrap(), None);
        assert_eq!(d.truncs().unwrap(), vec![Trunc { epoch: 2, vdl: 9 }]);
        assert_eq!(d.status().unwrap(), st);
        assert!(matches!(
            d.error().unwrap(),
            Error::Fenced { ours: 1, theirs: 2 }
        ));
        assert_eq!(d.records().unwrap(), vec![r.clone(), r]);
        d.end().unwrap();
        // Every truncation of the message is an error, not a panic.
        for n in 0..b.len() {
            let mut d = Dec::new(&b[..n]);
            let res = (|| -> Result<()> {
                d.u64()?;
                d.opt_u64()?;
                d.opt_u64()?;
                d.truncs()?;
                d.status()?;
                d.error()?;
                d.records()?;
                Ok(())
            })();
            assert!(res.is_err(), "truncated at {n}");
        }
        // A flipped bit inside a record is caught by its crc32c.
        let mut c = b.clone();
        let last = c.len() - 10;
        c[last] ^= 1;
        let mut d = Dec::new(&c);
        d.u64().unwrap();
        d.opt_u64().unwrap();
        d.opt_u64().unwrap();
        d.truncs().unwrap();
        d.status().unwrap();
        d.error().unwrap();
        assert!(matches!(d.records(), Err(Error::Corrupted(_))));
    }

    /// Random bytes never panic a decoder (a cheap, seeded stand-in for cargo-fuzz).
    #[test]
    fn garbage_never_panics() {
        use rand::{Rng, SeedableRng};
        let seed: u64 = rand::random();
        println!("seed {seed}");
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let good = {
            let mut e = Enc::new();
            e.u64(1).truncs(&[Trunc { epoch: 1, vdl: 2 }]);
            e.records([&Record {
                lsn: 9,
                epoch: 1,
                prev_lsn: 0,
                pg: 0,
                page: 1,
                mtr_end: true,
                payload: vec![2],
            }])
            .unwrap();
            e.0
        };
        for i in 0..20_000 {
            let mut b = if i % 2 == 0 {
                let n = rng.gen_range(0..64);
                (0..n).map(|_| rng.gen()).collect::<Vec<u8>>()
            } else {
                good.clone()
            };
            if !b.is_empty() {
                let j = rng.gen_range(0..b.len());
                b[j] = rng.gen();
            }
            let mut d = Dec::new(&b);
            let _ = d.u64().and_then(|_| d.truncs()).and_then(|_| d.records());
            let _ = Dec::new(&b).snapshot();
            let _ = Dec::new(&b).error();
            let _ = Dec::new(&b).status();
            let _ = record::decode(&b);
            let _ = read_frame(&mut &b[..]);
        }
    }

    #[test]
    fn frames() {
        let mut buf = Vec::new();
        write_frame(&mut buf, 3, b"abc").unwrap();
        let (k, b) = read_frame(&mut &buf[..]).unwrap();
        assert_eq!((k, &b[..]), (3, &b"abc"[..]));
        let mut bad = buf.clone();
        bad[0..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(read_frame(&mut &bad[..]).is_err());
        assert!(read_frame(&mut &buf[..6]).is_err());
    }
}
