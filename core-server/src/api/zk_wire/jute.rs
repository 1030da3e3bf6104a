//! Jute, ZooKeeper's binary record encoding: big-endian integers, one-byte
//! booleans, length-prefixed buffers and strings (-1 = null), length-prefixed
//! vectors. Reading never panics: short or absurd input is a [`JuteError`].

use crate::tree::{Acl, Stat};

/// Why a record could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JuteError {
    /// The record ends early.
    #[error("record truncated")]
    Truncated,
    /// A length is negative (other than -1) or larger than the record.
    #[error("bad length {0}")]
    BadLength(i32),
    /// A string is not UTF-8.
    #[error("string is not UTF-8")]
    BadUtf8,
}

/// Reads records from a frame.
#[derive(Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader over one frame.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], JuteError> {
        if self.remaining() < n {
            return Err(JuteError::Truncated);
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    /// An `int`.
    pub fn i32(&mut self) -> Result<i32, JuteError> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A `long`.
    pub fn i64(&mut self) -> Result<i64, JuteError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(i64::from_be_bytes(a))
    }

    /// A `boolean`.
    pub fn bool(&mut self) -> Result<bool, JuteError> {
        Ok(self.take(1)?[0] != 0)
    }

    /// A `buffer` (`None` for length -1).
    pub fn buffer(&mut self) -> Result<Option<Vec<u8>>, JuteError> {
        let len = self.i32()?;
        if len == -1 {
            return Ok(None);
        }
        if len < 0 || len as usize > self.remaining() {
            return Err(JuteError::BadLength(len));
        }
        Ok(Some(self.take(len as usize)?.to_vec()))
    }

    /// A `ustring` (null reads as empty).
    pub fn string(&mut self) -> Result<String, JuteError> {
        match self.buffer()? {
            None => Ok(String::new()),
            Some(bytes) => String::from_utf8(bytes).map_err(|_| JuteError::BadUtf8),
        }
    }

    /// A vector's length (`0` for a null vector), checked against what is left.
    pub fn vec_len(&mut self, min_item_bytes: usize) -> Result<usize, JuteError> {
        let len = self.i32()?;
        if len == -1 {
            return Ok(0);
        }
        if len < 0 || (len as usize).saturating_mul(min_item_bytes.max(1)) > self.remaining() {
            return Err(JuteError::BadLength(len));
        }
        Ok(len as usize)
    }

    /// A `vector<ustring>`.
    pub fn strings(&mut self) -> Result<Vec<String>, JuteError> {
        let n = self.vec_len(4)?;
        (0..n).map(|_| self.string()).collect()
    }

    /// A `vector<ACL>`.
    pub fn acls(&mut self) -> Result<Vec<Acl>, JuteError> {
        let n = self.vec_len(12)?;
        (0..n)
            .map(|_| {
                let perms = self.i32()?;
                let scheme = self.string()?;
                let id = self.string()?;
                Ok(Acl { perms, scheme, id })
            })
            .collect()
    }
}

/// Writes records into a frame.
#[derive(Debug, Default)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    /// A writer that reserves the 4-byte frame length.
    pub fn frame() -> Self {
        Writer {
            buf: vec![0, 0, 0, 0],
        }
    }

    /// Finishes a frame started with [`Writer::frame`], filling in its length.
    pub fn finish(mut self) -> Vec<u8> {
        let len = (self.buf.len() - 4) as i32;
        self.buf[..4].copy_from_slice(&len.to_be_bytes());
        self.buf
    }

    /// An `int`.
    pub fn i32(&mut self, v: i32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    /// A `long`.
    pub fn i64(&mut self, v: i64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    /// A `boolean`.
    pub fn bool(&mut self, v: bool) -> &mut Self {
        self.buf.push(v as u8);
        self
    }

    /// A `buffer` (`None` is written as length -1).
    pub fn buffer(&mut self, v: Option<&[u8]>) -> &mut Self {
        match v {
            None => self.i32(-1),
            Some(b) => {
                self.i32(b.len() as i32);
                self.buf.extend_from_slice(b);
                self
            }
        }
    }

    /// A `ustring`.
    pub fn string(&mut self, v: &str) -> &mut Self {
        self.buffer(Some(v.as_bytes()))
    }

    /// A `vector<ustring>`.
    pub fn strings(&mut self, v: &[String]) -> &mut Self {
        self.i32(v.len() as i32);
        for s in v {
            self.string(s);
        }
        self
    }

    /// A `Stat`, in jute field order.
    pub fn stat(&mut self, s: &Stat) -> &mut Self {
        self.i64(s.czxid).i64(s.mzxid).i64(s.ctime).i64(s.mtime);
        self.i32(s.version).i32(s.cversion).i32(s.aversion);
        self.i64(s.ephemeral_owner)
            .i32(s.data_length)
            .i32(s.num_children)
            .i64(s.pzxid)
    }

    /// A `vector<ACL>`.
    pub fn acls(&mut self, v: &[Acl]) -> &mut Self {
        self.i32(v.len() as i32);
        for a in v {
            self.i32(a.perms).string(&a.scheme).string(&a.id);
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        let mut w = Writer::default();
        w.i32(-7)
            .i64(1 << 40)
            .bool(true)
            .buffer(None)
            .buffer(Some(b"ab"))
            .string("/p");
        w.strings(&["x".to_string()])
            .acls(&[Acl::new(31, "world", "anyone")]);
        let bytes = w.buf;
        let mut r = Reader::new(&bytes);
        assert_eq!(r.i32(), Ok(-7));
        assert_eq!(r.i64(), Ok(1 << 40));
        assert_eq!(r.bool(), Ok(true));
        assert_eq!(r.buffer(), Ok(None));
        assert_eq!(r.buffer(), Ok(Some(b"ab".to_vec())));
        assert_eq!(r.string().as_deref(), Ok("/p"));
        assert_eq!(r.strings(), Ok(vec!["x".to_string()]));
        assert_eq!(r.acls(), Ok(vec![Acl::new(31, "world", "anyone")]));
        assert_eq!(r.remaining(), 0);
    }

    #[test]
    fn absurd_lengths_and_short_input_are_errors() {
        assert_eq!(Reader::new(&[0, 0]).i32(), Err(JuteError::Truncated));
        assert_eq!(
            Reader::new(&[0x7f, 0, 0, 0]).buffer(),
            Err(JuteError::BadLength(0x7f00_0000))
        );
        assert_eq!(
            Reader::new(&[0xff, 0xff, 0xff, 0xf0]).buffer(),
            Err(JuteError::BadLength(-16))
        );
        assert_eq!(
            Reader::new(&[0x10, 0, 0, 0]).strings(),
            Err(JuteError::BadLength(0x1000_0000))
        );
        assert_eq!(
            Reader::new(&[0, 0, 0, 1, 0xff]).string(),
            Err(JuteError::BadUtf8)
        );
    }

    #[test]
    fn a_stat_is_68_bytes() {
        let mut w = Writer::default();
        w.stat(&Stat::default());
        assert_eq!(w.buf.len(), 68);
    }
}
