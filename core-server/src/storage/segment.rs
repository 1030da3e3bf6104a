//! One segment file of the write-ahead log: owns its name, the record framing
//! and the validating reader.
//!
//! A segment is named after the index of its first record,
//! `wal-{first:020}.log`, and holds records back to back, each framed as
//! (little endian):
//!
//! ```text
//! offset  size  field
//!      0     4  magic    0x4C57_5243 (the bytes "CRWL")
//!      4     4  len      payload length in bytes (at most MAX_PAYLOAD_BYTES)
//!      8     4  crc32    CRC-32 (IEEE) of index (8 bytes LE) followed by payload
//!     12     8  index    the record's log index
//!     20   len  payload
//! ```
//!
//! [`SegmentReader`] yields records while they are intact and consecutive and
//! reports the first [`Defect`] it meets; what to do about it is the log's
//! decision.

use super::{io_err, StorageError};
use std::fmt;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

/// Record magic: the bytes `CRWL` when written little endian.
const MAGIC: u32 = 0x4C57_5243;

/// Bytes of framing before each payload.
pub(super) const HEADER_BYTES: u64 = 20;

/// The largest payload a log record may carry (1 GiB).
pub const MAX_PAYLOAD_BYTES: u64 = 1 << 30;

/// Read buffer for scanning segments.
const READ_BUFFER_BYTES: usize = 1 << 20;

/// The file name of the segment whose first record has index `first`.
pub(super) fn file_name(first: u64) -> String {
    format!("wal-{first:020}.log")
}

/// The first index encoded in a segment file name, or `None` if `name` is not
/// exactly `wal-<20 digits>.log`.
pub(super) fn parse_file_name(name: &str) -> Option<u64> {
    let digits = name.strip_prefix("wal-")?.strip_suffix(".log")?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Bytes a record with a payload of `payload_len` bytes occupies on disk.
pub(super) fn encoded_len(payload_len: usize) -> u64 {
    HEADER_BYTES + payload_len as u64
}

/// Appends the framed record to `out`. The caller has checked the length
/// against [`MAX_PAYLOAD_BYTES`].
pub(super) fn encode(index: u64, payload: &[u8], out: &mut Vec<u8>) {
    debug_assert!(payload.len() as u64 <= MAX_PAYLOAD_BYTES);
    out.extend_from_slice(&MAGIC.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc(index, payload).to_le_bytes());
    out.extend_from_slice(&index.to_le_bytes());
    out.extend_from_slice(payload);
}

fn crc(index: u64, payload: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&index.to_le_bytes());
    hasher.update(payload);
    hasher.finalize()
}

/// Why a segment stops being readable before its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Defect {
    /// The file ends inside a record (a write that never completed).
    Torn {
        /// Bytes the record would need.
        needed: u64,
        /// Bytes left in the file.
        available: u64,
    },
    /// The record does not start with the magic number (zeroes, garbage).
    BadMagic(u32),
    /// The length field exceeds [`MAX_PAYLOAD_BYTES`].
    BadLength(u32),
    /// The CRC does not match the index and payload.
    BadCrc,
    /// The index is not the one that must come next.
    OutOfSequence {
        /// The index required here.
        expected: u64,
        /// The index found.
        got: u64,
    },
    /// The segment holds no record at all (created, then a crash before its
    /// first write reached the disk). Never returned by the reader.
    Empty,
}

impl fmt::Display for Defect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Defect::Torn { needed, available } => {
                write!(f, "torn record ({available} of {needed} bytes present)")
            }
            Defect::BadMagic(m) => write!(f, "bad magic {m:#010x}"),
            Defect::BadLength(len) => write!(f, "impossible length {len}"),
            Defect::BadCrc => write!(f, "CRC mismatch"),
            Defect::OutOfSequence { expected, got } => {
                write!(f, "index {got} where {expected} was expected")
            }
            Defect::Empty => write!(f, "segment holds no record"),
        }
    }
}

/// One step of a [`SegmentReader`].
#[derive(Debug)]
pub(super) enum Step {
    /// An intact record in sequence.
    Record(u64, Vec<u8>),
    /// The file ended cleanly after the last record.
    End,
    /// The record at [`SegmentReader::offset`] is unusable; nothing from here
    /// on can be trusted.
    Defect(Defect),
}

/// Reads a segment record by record, checking framing, CRC and sequence.
pub(super) struct SegmentReader {
    path: PathBuf,
    reader: BufReader<File>,
    file_len: u64,
    offset: u64,
    expected: u64,
}

impl SegmentReader {
    /// Opens `path`; its first record must have index `expected_first`.
    pub(super) fn open(path: &Path, expected_first: u64) -> Result<Self, StorageError> {
        let file = File::open(path).map_err(io_err("open segment", path))?;
        let file_len = file.metadata().map_err(io_err("stat segment", path))?.len();
        Ok(SegmentReader {
            path: path.to_path_buf(),
            reader: BufReader::with_capacity(READ_BUFFER_BYTES, file),
            file_len,
            offset: 0,
            expected: expected_first,
        })
    }

    /// Opens `path` at byte `offset`, where the record with index
    /// `expected` starts (a position an earlier reader reported).
    pub(super) fn open_at(path: &Path, offset: u64, expected: u64) -> Result<Self, StorageError> {
        use std::io::{Seek, SeekFrom};
        let mut reader = SegmentReader::open(path, expected)?;
        if offset > reader.file_len {
            return Err(StorageError::Corrupt {
                path: path.to_path_buf(),
                offset,
                detail: "read position past the end of the segment".into(),
            });
        }
        reader
            .reader
            .seek(SeekFrom::Start(offset))
            .map_err(io_err("seek segment", path))?;
        reader.offset = offset;
        Ok(reader)
    }

    /// The file's length when it was opened.
    pub(super) fn file_len(&self) -> u64 {
        self.file_len
    }

    /// The byte offset just past the last intact record returned.
    pub(super) fn offset(&self) -> u64 {
        self.offset
    }

    /// Reads the next record. I/O errors other than the file being shorter
    /// than its records claim are returned as errors, not defects.
    pub(super) fn next_step(&mut self) -> Result<Step, StorageError> {
        let available = self.file_len - self.offset;
        if available == 0 {
            return Ok(Step::End);
        }
        if available < HEADER_BYTES {
            return Ok(Step::Defect(Defect::Torn {
                needed: HEADER_BYTES,
                available,
            }));
        }
        let mut header = [0u8; HEADER_BYTES as usize];
        if !self.read_fully(&mut header)? {
            return Ok(Step::Defect(Defect::Torn {
                needed: HEADER_BYTES,
                available,
            }));
        }
        let magic = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
        let len = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
        let stored_crc = u32::from_le_bytes([header[8], header[9], header[10], header[11]]);
        let mut index_bytes = [0u8; 8];
        index_bytes.copy_from_slice(&header[12..20]);
        let index = u64::from_le_bytes(index_bytes);
        if magic != MAGIC {
            return Ok(Step::Defect(Defect::BadMagic(magic)));
        }
        if u64::from(len) > MAX_PAYLOAD_BYTES {
            return Ok(Step::Defect(Defect::BadLength(len)));
        }
        let needed = encoded_len(len as usize);
        if needed > available {
            return Ok(Step::Defect(Defect::Torn { needed, available }));
        }
        let mut payload = vec![0u8; len as usize];
        if !self.read_fully(&mut payload)? {
            return Ok(Step::Defect(Defect::Torn { needed, available }));
        }
        if crc(index, &payload) != stored_crc {
            return Ok(Step::Defect(Defect::BadCrc));
        }
        if index != self.expected {
            return Ok(Step::Defect(Defect::OutOfSequence {
                expected: self.expected,
                got: index,
            }));
        }
        self.offset += needed;
        self.expected = index.saturating_add(1);
        Ok(Step::Record(index, payload))
    }

    /// Fills `buf`; `Ok(false)` if the file ended first (it shrank under us).
    fn read_fully(&mut self, buf: &mut [u8]) -> Result<bool, StorageError> {
        match self.reader.read_exact(buf) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(false),
            Err(e) => Err(io_err("read segment", &self.path)(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_round_trip_and_sort_by_index() {
        assert_eq!(file_name(1), "wal-00000000000000000001.log");
        assert_eq!(parse_file_name(&file_name(u64::MAX)), Some(u64::MAX));
        assert_eq!(parse_file_name("wal-1.log"), None);
        assert_eq!(parse_file_name("wal-0000000000000000000x.log"), None);
        assert_eq!(parse_file_name("wal-00000000000000000001.log.tmp"), None);
        assert!(file_name(9) < file_name(10));
    }

    #[test]
    fn encoding_has_the_documented_layout() {
        let mut out = Vec::new();
        encode(7, b"abc", &mut out);
        assert_eq!(out.len() as u64, encoded_len(3));
        assert_eq!(&out[0..4], b"CRWL");
        assert_eq!(&out[4..8], &3u32.to_le_bytes());
        assert_eq!(&out[8..12], &crc(7, b"abc").to_le_bytes());
        assert_eq!(&out[12..20], &7u64.to_le_bytes());
        assert_eq!(&out[20..], b"abc");
    }
}
