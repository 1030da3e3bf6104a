//! The segmented write-ahead log.
//!
//! Segment files `wal-<first index, 20 digits>.log` hold records:
//! `magic u32 | len u32 | crc32 u32 | index u64 | payload[len]` (little endian,
//! the CRC covers index and payload). Appends write a whole batch and then call
//! `fdatasync` once: that is the group commit. On open, the first bad record
//! (short, wrong magic, CRC mismatch, index out of sequence) ends the log: its
//! segment is cut there and later segments are removed.

use super::{io_err, sync_dir, StorageError};
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

const MAGIC: u32 = 0xC0AA_A11F;
const HEADER: usize = 4 + 4 + 4 + 8;
const MAX_RECORD: usize = 1 << 30;

/// Knobs of the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalOptions {
    /// Roll to a new segment file after this many bytes.
    pub segment_bytes: u64,
}

impl Default for WalOptions {
    fn default() -> Self {
        WalOptions {
            segment_bytes: 64 << 20,
        }
    }
}

/// One recovered record: (index, payload).
pub type Record = (u64, Vec<u8>);

#[derive(Debug)]
struct Segment {
    first: u64,
    path: PathBuf,
    /// Last index stored in it, if any.
    last: Option<u64>,
}

/// An open write-ahead log.
#[derive(Debug)]
pub struct Wal {
    dir: PathBuf,
    options: WalOptions,
    segments: Vec<Segment>,
    file: Option<File>,
    file_len: u64,
}

fn segment_name(first: u64) -> String {
    format!("wal-{first:020}.log")
}

fn encode(index: u64, payload: &[u8], out: &mut Vec<u8>) -> Result<(), StorageError> {
    if payload.len() > MAX_RECORD {
        return Err(StorageError::TooLarge(payload.len()));
    }
    let mut crc = crc32fast::Hasher::new();
    crc.update(&index.to_le_bytes());
    crc.update(payload);
    out.extend_from_slice(&MAGIC.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc.finalize().to_le_bytes());
    out.extend_from_slice(&index.to_le_bytes());
    out.extend_from_slice(payload);
    Ok(())
}

/// Parses records from `bytes`; returns them and the length of the good prefix.
fn decode_all(bytes: &[u8], mut expected: Option<u64>) -> (Vec<(u64, Vec<u8>)>, usize) {
    let mut records = Vec::new();
    let mut pos = 0;
    while bytes.len() - pos >= HEADER {
        let h = &bytes[pos..pos + HEADER];
        let word = |i: usize| u32::from_le_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
        let (magic, len, crc) = (word(0), word(4) as usize, word(8));
        let mut idx = [0u8; 8];
        idx.copy_from_slice(&h[12..20]);
        let index = u64::from_le_bytes(idx);
        if magic != MAGIC || len > MAX_RECORD || bytes.len() - pos - HEADER < len {
            break;
        }
        let payload = &bytes[pos + HEADER..pos + HEADER + len];
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(&index.to_le_bytes());
        hasher.update(payload);
        if hasher.finalize() != crc || expected.is_some_and(|e| e != index) {
            break;
        }
        records.push((index, payload.to_vec()));
        expected = Some(index + 1);
        pos += HEADER + len;
    }
    (records, pos)
}

impl Wal {
    /// Opens (or creates) the log in `dir` and returns every intact record in
    /// order. A torn or corrupt tail is cut, never an error.
    pub fn open(dir: &Path, options: WalOptions) -> Result<(Wal, Vec<Record>), StorageError> {
        fs::create_dir_all(dir).map_err(io_err("create dir", dir))?;
        let mut firsts: Vec<u64> = fs::read_dir(dir)
            .map_err(io_err("list", dir))?
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                name.strip_prefix("wal-")?
                    .strip_suffix(".log")?
                    .parse()
                    .ok()
            })
            .collect();
        firsts.sort_unstable();
        let mut segments = Vec::new();
        let mut records: Vec<(u64, Vec<u8>)> = Vec::new();
        let mut cut = false;
        for first in firsts {
            let path = dir.join(segment_name(first));
            if cut {
                tracing::warn!(path = %path.display(), "removing log segment after a corrupt record");
                fs::remove_file(&path).map_err(io_err("remove", &path))?;
                continue;
            }
            let mut bytes = Vec::new();
            File::open(&path)
                .and_then(|mut f| f.read_to_end(&mut bytes))
                .map_err(io_err("read", &path))?;
            let expected = records.last().map(|(i, _)| i + 1);
            let (got, good) = decode_all(&bytes, expected);
            if good < bytes.len() {
                tracing::warn!(path = %path.display(), kept = good, len = bytes.len(), "cutting torn or corrupt log tail");
                let f = OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .map_err(io_err("open", &path))?;
                f.set_len(good as u64).map_err(io_err("truncate", &path))?;
                f.sync_all().map_err(io_err("fsync", &path))?;
                cut = true;
            }
            let last = got.last().map(|(i, _)| *i);
            records.extend(got);
            segments.push(Segment { first, path, last });
        }
        if cut {
            sync_dir(dir)?;
        }
        let mut wal = Wal {
            dir: dir.to_path_buf(),
            options,
            segments,
            file: None,
            file_len: 0,
        };
        if let Some(seg) = wal.segments.last() {
            let path = seg.path.clone();
            let file = OpenOptions::new()
                .append(true)
                .open(&path)
                .map_err(io_err("open", &path))?;
            wal.file_len = file.metadata().map_err(io_err("stat", &path))?.len();
            wal.file = Some(file);
        }
        Ok((wal, records))
    }

    /// The last index in the log.
    pub fn last_index(&self) -> Option<u64> {
        self.segments.iter().rev().find_map(|s| s.last)
    }

    /// The first index in the log.
    pub fn first_index(&self) -> Option<u64> {
        self.segments
            .iter()
            .find(|s| s.last.is_some())
            .map(|s| s.first)
    }

    fn roll(&mut self, first: u64) -> Result<(), StorageError> {
        let path = self.dir.join(segment_name(first));
        let file = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .open(&path)
            .map_err(io_err("create", &path))?;
        sync_dir(&self.dir)?;
        self.segments.push(Segment {
            first,
            path,
            last: None,
        });
        self.file = Some(file);
        self.file_len = 0;
        Ok(())
    }

    /// Appends records (consecutive indexes continuing the log) and makes them
    /// durable with one `fdatasync` per touched segment.
    pub fn append(&mut self, records: &[(u64, &[u8])]) -> Result<(), StorageError> {
        let mut expected = self.last_index().map(|i| i + 1);
        let mut buf = Vec::new();
        let mut i = 0;
        while i < records.len() {
            let (index, _) = records[i];
            if let Some(e) = expected {
                if index != e {
                    return Err(StorageError::NonContiguous {
                        expected: e,
                        got: index,
                    });
                }
            }
            if self.file.is_none() || self.file_len >= self.options.segment_bytes {
                self.roll(index)?;
            }
            buf.clear();
            let mut last = index;
            while i < records.len()
                && self.file_len + (buf.len() as u64) < self.options.segment_bytes
            {
                let (index, payload) = records[i];
                if index != last && index != last + 1 {
                    return Err(StorageError::NonContiguous {
                        expected: last + 1,
                        got: index,
                    });
                }
                encode(index, payload, &mut buf)?;
                last = index;
                i += 1;
            }
            let seg = self.segments.len() - 1;
            let path = self.segments[seg].path.clone();
            let file = self.file.as_mut().ok_or(StorageError::NonContiguous {
                expected: index,
                got: index,
            })?;
            file.write_all(&buf).map_err(io_err("write", &path))?;
            file.sync_data().map_err(io_err("fdatasync", &path))?;
            self.file_len += buf.len() as u64;
            self.segments[seg].last = Some(last);
            expected = Some(last + 1);
        }
        Ok(())
    }

    /// Deletes whole segments whose records are all below `index`. The
    /// segment being written is never deleted; if it lies wholly below
    /// `index`, a new one is started first.
    pub fn truncate_before(&mut self, index: u64) -> Result<(), StorageError> {
        if self
            .segments
            .last()
            .and_then(|s| s.last)
            .is_some_and(|l| l < index)
        {
            self.file = None;
            self.file_len = self.options.segment_bytes;
        }
        let mut removed = false;
        while self.segments.len() > 1 {
            let all_below = self.segments[1].first <= index;
            if !all_below {
                break;
            }
            let seg = self.segments.remove(0);
            fs::remove_file(&seg.path).map_err(io_err("remove", &seg.path))?;
            removed = true;
        }
        if removed {
            sync_dir(&self.dir)?;
        }
        Ok(())
    }

    /// Removes every record above `index`.
    pub fn truncate_after(&mut self, index: u64) -> Result<(), StorageError> {
        while let Some(seg) = self.segments.last() {
            if seg.first > index {
                let seg = self.segments.pop().ok_or(StorageError::TooLarge(0))?;
                fs::remove_file(&seg.path).map_err(io_err("remove", &seg.path))?;
                self.file = None;
            } else {
                break;
            }
        }
        if let Some(seg) = self.segments.last_mut() {
            let mut bytes = Vec::new();
            File::open(&seg.path)
                .and_then(|mut f| f.read_to_end(&mut bytes))
                .map_err(io_err("read", &seg.path))?;
            let (records, _) = decode_all(&bytes, None);
            let mut keep = 0usize;
            let mut last = None;
            for (i, payload) in &records {
                if *i > index {
                    break;
                }
                keep += HEADER + payload.len();
                last = Some(*i);
            }
            let file = OpenOptions::new()
                .append(true)
                .open(&seg.path)
                .map_err(io_err("open", &seg.path))?;
            file.set_len(keep as u64)
                .map_err(io_err("truncate", &seg.path))?;
            file.sync_all().map_err(io_err("fsync", &seg.path))?;
            seg.last = last;
            self.file_len = keep as u64;
            self.file = Some(file);
        }
        sync_dir(&self.dir)
    }
}
