//! The segmented write-ahead log: owns segment life cycle, group commit and
//! crash recovery.
//!
//! The log is a directory of segment files (format in `segment.rs`), each
//! named after its first record's index; together they hold one run of
//! consecutive indexes. Only the newest segment (the *tail*) is written to.
//!
//! Durability rules:
//! - [`Wal::append`] encodes the whole batch into one buffer, writes it with
//!   one `write` per segment it touches, and then calls `fdatasync` once: the
//!   group commit. A batch that fills a segment syncs that segment before the
//!   next is created, so a later segment never exists beside a torn earlier
//!   one. Creating a segment fsyncs the directory.
//! - [`Wal::open`] keeps the longest intact, consecutive prefix. The first
//!   defect (torn or corrupt record, bad magic, index gap or repeat, empty
//!   segment) ends the log: later segments are deleted (newest first), the
//!   defective one is truncated to its last good record and fsynced.
//! - Deletions go oldest first in [`Wal::truncate_before`] and newest first in
//!   [`Wal::truncate_after`], so a crash part way leaves a log that is still
//!   one consecutive run, somewhere between the old and the new state.
//!
//! A directory must be used by one [`Wal`] at a time.

use super::faults::FaultPoint;
use super::segment::{self, Defect, SegmentReader, Step, MAX_PAYLOAD_BYTES};
use super::{create_dir_durable, io_err, sync_dir, StorageError};
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

mod read;

/// Above this capacity the batch buffer is released after a write, so one
/// huge batch does not pin its memory for the life of the log.
const BATCH_BUFFER_KEEP_BYTES: usize = 4 << 20;

/// Tuning of a [`Wal`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalOptions {
    /// A segment is closed and a new one started before a record that would
    /// take it past this size. A record larger than this gets a segment of its
    /// own. Default: 64 MiB.
    pub segment_bytes: u64,
}

impl Default for WalOptions {
    fn default() -> Self {
        WalOptions {
            segment_bytes: 64 << 20,
        }
    }
}

/// One recovered record: `(index, payload)`.
pub type Record = (u64, Vec<u8>);

/// A segment file known to hold at least one record.
#[derive(Debug)]
struct Segment {
    /// Index of its first record, as in its name.
    first: u64,
    path: PathBuf,
}

/// The open, appendable newest segment.
#[derive(Debug)]
struct Tail {
    file: File,
    path: PathBuf,
    /// Bytes in the file, all of them intact records.
    len: u64,
}

/// An open segmented write-ahead log of `(index, payload)` records with
/// strictly consecutive indexes.
///
/// All methods block on disk I/O; call them from a blocking thread.
#[derive(Debug)]
pub struct Wal {
    dir: PathBuf,
    options: WalOptions,
    /// Faults a test injected for this directory (`storage::faults`).
    faults: Option<std::sync::Arc<super::faults::DiskFaults>>,
    /// Oldest first; every one holds at least one record.
    segments: Vec<Segment>,
    /// The newest segment, open for appending; `None` when the log is empty
    /// (the next append creates a segment).
    tail: Option<Tail>,
    last_index: Option<u64>,
    /// Reused encoding buffer for one batch.
    buf: Vec<u8>,
    /// Set when a write or truncation failed part way.
    is_poisoned: bool,
    /// `fdatasync` calls made by appends, so tests can check group commit.
    data_syncs: u64,
    /// Where the last [`Wal::read_range`] stopped, so the next one in
    /// sequence goes on from there instead of scanning its segment again.
    read_cursor: Option<read::Cursor>,
}

impl Wal {
    /// Opens (creating if needed) the log in `dir` and returns it with every
    /// intact record, in index order.
    ///
    /// Recovery never fails because of bad data: the first torn or corrupt
    /// record, index gap or empty segment ends the log there; the rest is
    /// removed from disk (with a `tracing::warn`) so it cannot come back.
    /// Errors are I/O failures only.
    pub fn open(dir: &Path, options: WalOptions) -> Result<(Wal, Vec<Record>), StorageError> {
        let mut records = Vec::new();
        let wal = Wal::open_with(dir, options, |index, payload| {
            records.push((index, payload))
        })?;
        Ok((wal, records))
    }

    /// As [`Wal::open`], but hands each intact record to `visit` in index
    /// order instead of returning them all, so a caller that keeps only
    /// some of them never holds the whole log in memory.
    pub fn open_with(
        dir: &Path,
        options: WalOptions,
        mut visit: impl FnMut(u64, Vec<u8>),
    ) -> Result<Wal, StorageError> {
        create_dir_durable(dir)?;
        let found = list_segments(dir)?;
        let mut last_index: Option<u64> = None;
        let mut kept = Vec::new();
        let mut tail_len = 0;
        for (position, seg) in found.iter().enumerate() {
            let mut reader = SegmentReader::open(&seg.path, seg.first)?;
            let expected = last_index.map(|last| last.saturating_add(1));
            let (count, defect) = match expected {
                Some(next) if next != seg.first => (
                    0,
                    Some(Defect::OutOfSequence {
                        expected: next,
                        got: seg.first,
                    }),
                ),
                _ => read_all(&mut reader, &mut |index, payload| {
                    last_index = Some(index);
                    visit(index, payload);
                })?,
            };
            let defect = defect.or(if count == 0 {
                Some(Defect::Empty)
            } else {
                None
            });
            if let Some(defect) = defect {
                cut(
                    dir,
                    &found[position..],
                    reader.offset(),
                    reader.file_len(),
                    count,
                    &defect,
                )?;
                if count > 0 {
                    tail_len = reader.offset();
                    kept.push(Segment {
                        first: seg.first,
                        path: seg.path.clone(),
                    });
                }
                break;
            }
            tail_len = reader.offset();
            kept.push(Segment {
                first: seg.first,
                path: seg.path.clone(),
            });
        }
        let tail = match kept.last() {
            Some(seg) => Some(Tail {
                file: open_for_append(&seg.path)?,
                path: seg.path.clone(),
                len: tail_len,
            }),
            None => None,
        };
        Ok(Wal {
            dir: dir.to_path_buf(),
            options,
            faults: super::faults::for_path(dir),
            segments: kept,
            tail,
            last_index,
            buf: Vec::new(),
            is_poisoned: false,
            data_syncs: 0,
            read_cursor: None,
        })
    }

    /// Index of the newest record, `None` if the log is empty.
    pub fn last_index(&self) -> Option<u64> {
        self.last_index
    }

    /// Index of the oldest record still on disk (what [`Wal::open`] would
    /// return first), `None` if the log is empty.
    pub fn first_index(&self) -> Option<u64> {
        self.segments.first().map(|s| s.first)
    }

    /// Appends a batch durably: all records are written, then one
    /// `fdatasync` covers the whole batch (plus one per segment the batch
    /// filled and a directory fsync per segment it created).
    ///
    /// Indexes must be consecutive and the first must be `last_index + 1`;
    /// when the log is empty (new, or truncated to nothing) any first index is
    /// accepted. The batch is checked before anything is written: a
    /// [`StorageError::NonContiguous`] or [`StorageError::TooLarge`] leaves
    /// the log untouched. An I/O error leaves the log poisoned (see
    /// [`StorageError::Poisoned`]): the batch may be partly on disk, and
    /// [`Wal::open`] will recover an intact prefix of it. An empty batch is a
    /// no-op.
    pub fn append(&mut self, records: &[(u64, &[u8])]) -> Result<(), StorageError> {
        if self.is_poisoned {
            return Err(StorageError::Poisoned);
        }
        let Some(&(first, _)) = records.first() else {
            return Ok(());
        };
        let mut expected = self.last_index.map_or(first, |last| last.saturating_add(1));
        let mut batch_bytes = 0u64;
        for &(index, payload) in records {
            if index != expected {
                return Err(StorageError::NonContiguous {
                    expected,
                    got: index,
                });
            }
            if payload.len() as u64 > MAX_PAYLOAD_BYTES {
                return Err(StorageError::TooLarge {
                    len: payload.len() as u64,
                    max: MAX_PAYLOAD_BYTES,
                });
            }
            expected = index.saturating_add(1);
            batch_bytes += segment::encoded_len(payload.len());
        }
        self.buf.clear();
        if let Ok(batch_bytes) = usize::try_from(batch_bytes) {
            self.buf.reserve(batch_bytes);
        }
        let result = self.write_batch(records);
        if self.buf.capacity() > BATCH_BUFFER_KEEP_BYTES {
            self.buf = Vec::new();
        }
        self.poison_on_error(result)
    }

    /// Deletes every segment all of whose records have indexes below `index`
    /// (typically `snapshot_index + 1`). Records below `index` that share a
    /// segment with a kept record stay, and [`Wal::open`] returns them: the
    /// caller skips what its snapshot already covers.
    ///
    /// If even the newest segment lies wholly below `index`, the log is rolled
    /// (the next append starts a new segment) and left empty, so any next
    /// index is accepted. Segments go oldest first, so a crash part way leaves
    /// a consecutive suffix of the old log.
    pub fn truncate_before(&mut self, index: u64) -> Result<(), StorageError> {
        if self.is_poisoned {
            return Err(StorageError::Poisoned);
        }
        let Some(last) = self.last_index else {
            return Ok(());
        };
        let mut remove = 0;
        while remove < self.segments.len() {
            let last_of_segment = match self.segments.get(remove + 1) {
                Some(next) => next.first - 1,
                None => last,
            };
            if last_of_segment >= index {
                break;
            }
            remove += 1;
        }
        if remove == 0 {
            return Ok(());
        }
        self.read_cursor = None;
        if remove == self.segments.len() {
            self.tail = None;
            self.last_index = None;
        }
        let removed: Vec<Segment> = self.segments.drain(..remove).collect();
        let result = remove_segments(&self.dir, removed.iter());
        self.poison_on_error(result)
    }

    /// Proves the disk takes writes and syncs again (after a failure): the
    /// newest segment, or the directory when there is none, is synced.
    pub fn sync_probe(&mut self) -> Result<(), StorageError> {
        let path = self
            .tail
            .as_ref()
            .map_or(self.dir.clone(), |t| t.path.clone());
        super::faults::check(&self.faults, FaultPoint::Write)
            .and_then(|()| super::faults::check(&self.faults, FaultPoint::Sync))
            .map_err(io_err("probe the disk", &path))?;
        match &self.tail {
            Some(tail) => tail
                .file
                .sync_data()
                .map_err(io_err("fdatasync segment", &tail.path)),
            None => sync_dir(&self.dir),
        }
    }

    /// Removes every record with an index above `index` (a conflicting suffix
    /// in Raft terms). A no-op if `index >= last_index`; empties the log if
    /// `index` is below the first record.
    ///
    /// Whole segments go newest first, then the segment holding `index` is
    /// cut and fsynced, so a crash part way leaves a prefix of the old log at
    /// least as long as the new one.
    pub fn truncate_after(&mut self, index: u64) -> Result<(), StorageError> {
        if self.is_poisoned {
            return Err(StorageError::Poisoned);
        }
        match self.last_index {
            Some(last) if index < last => {}
            _ => return Ok(()),
        }
        self.read_cursor = None;
        let result = self.cut_after(index);
        self.poison_on_error(result)
    }

    /// How many `fdatasync` calls appends have made since open.
    #[cfg(test)]
    pub(super) fn data_syncs(&self) -> u64 {
        self.data_syncs
    }

    fn poison_on_error(&mut self, result: Result<(), StorageError>) -> Result<(), StorageError> {
        if result.is_err() {
            self.is_poisoned = true;
        }
        result
    }

    /// Encodes and writes a validated batch; `self.buf` is empty on entry.
    fn write_batch(&mut self, records: &[(u64, &[u8])]) -> Result<(), StorageError> {
        for &(index, payload) in records {
            let record_bytes = segment::encoded_len(payload.len());
            match &self.tail {
                None => self.start_segment(index)?,
                Some(tail) => {
                    let used = tail.len + self.buf.len() as u64;
                    if used > 0 && used + record_bytes > self.options.segment_bytes {
                        self.flush_tail()?;
                        self.start_segment(index)?;
                    }
                }
            }
            segment::encode(index, payload, &mut self.buf);
        }
        self.flush_tail()?;
        self.last_index = records.last().map(|r| r.0);
        Ok(())
    }

    /// Writes the buffered records to the tail in one call and syncs them.
    fn flush_tail(&mut self) -> Result<(), StorageError> {
        let Some(tail) = self.tail.as_mut() else {
            return Ok(());
        };
        if self.buf.is_empty() {
            return Ok(());
        }
        super::faults::check(&self.faults, FaultPoint::Write)
            .and_then(|()| tail.file.write_all(&self.buf))
            .map_err(io_err("write segment", &tail.path))?;
        let started = crate::clock::Clock::now(&crate::clock::SystemClock);
        super::faults::check(&self.faults, FaultPoint::Sync)
            .and_then(|()| tail.file.sync_data())
            .map_err(io_err("fdatasync segment", &tail.path))?;
        let took =
            crate::clock::Clock::now(&crate::clock::SystemClock).saturating_duration_since(started);
        metrics::histogram!("corral_log_fsync_duration_seconds").record(took.as_secs_f64());
        self.data_syncs += 1;
        tail.len += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }

    /// Creates the segment whose first record will be `first` and makes its
    /// directory entry durable.
    fn start_segment(&mut self, first: u64) -> Result<(), StorageError> {
        let path = self.dir.join(segment::file_name(first));
        super::faults::check(&self.faults, FaultPoint::Write)
            .map_err(io_err("create segment", &path))?;
        let file = OpenOptions::new()
            .append(true)
            .create_new(true)
            .open(&path)
            .map_err(io_err("create segment", &path))?;
        sync_dir(&self.dir)?;
        self.segments.push(Segment {
            first,
            path: path.clone(),
        });
        self.tail = Some(Tail { file, path, len: 0 });
        Ok(())
    }

    fn cut_after(&mut self, index: u64) -> Result<(), StorageError> {
        let keep = self
            .segments
            .iter()
            .take_while(|s| s.first <= index)
            .count();
        self.tail = None;
        if keep < self.segments.len() {
            let removed: Vec<Segment> = self.segments.drain(keep..).collect();
            remove_segments(&self.dir, removed.iter().rev())?;
        }
        let Some(seg) = self.segments.last() else {
            self.last_index = None;
            return Ok(());
        };
        let cut_at = offset_after(seg, index)?;
        let file = open_for_append(&seg.path)?;
        file.set_len(cut_at)
            .map_err(io_err("truncate segment", &seg.path))?;
        file.sync_all()
            .map_err(io_err("fsync segment", &seg.path))?;
        self.tail = Some(Tail {
            file,
            path: seg.path.clone(),
            len: cut_at,
        });
        self.last_index = Some(index);
        Ok(())
    }
}

/// Hands records to `visit` until the end or the first defect; returns how
/// many it handed over and the defect, if any.
fn read_all(
    reader: &mut SegmentReader,
    visit: &mut dyn FnMut(u64, Vec<u8>),
) -> Result<(usize, Option<Defect>), StorageError> {
    let mut count = 0;
    loop {
        match reader.next_step()? {
            Step::Record(index, payload) => {
                count += 1;
                visit(index, payload);
            }
            Step::End => return Ok((count, None)),
            Step::Defect(defect) => return Ok((count, Some(defect))),
        }
    }
}

/// The byte offset just past record `index` in `seg`, which must hold it.
fn offset_after(seg: &Segment, index: u64) -> Result<u64, StorageError> {
    let mut reader = SegmentReader::open(&seg.path, seg.first)?;
    loop {
        let before = reader.offset();
        match reader.next_step()? {
            Step::Record(i, _) if i > index => return Ok(before),
            Step::Record(..) => {}
            Step::End if reader.offset() > 0 => return Ok(reader.offset()),
            Step::End => {
                return Err(StorageError::Corrupt {
                    path: seg.path.clone(),
                    offset: 0,
                    detail: Defect::Empty.to_string(),
                })
            }
            Step::Defect(defect) => {
                return Err(StorageError::Corrupt {
                    path: seg.path.clone(),
                    offset: reader.offset(),
                    detail: defect.to_string(),
                })
            }
        }
    }
}

/// Ends the log inside `segments[0]` at `valid_len` (it holds `count` good
/// records): deletes every later segment newest first, then truncates or
/// deletes `segments[0]`, and makes it all durable.
fn cut(
    dir: &Path,
    segments: &[Segment],
    valid_len: u64,
    file_len: u64,
    count: usize,
    defect: &Defect,
) -> Result<(), StorageError> {
    let (seg, later) = match segments.split_first() {
        Some(split) => split,
        None => return Ok(()),
    };
    tracing::warn!(
        segment = %seg.path.display(),
        offset = valid_len,
        discarded_bytes = file_len - valid_len,
        later_segments_removed = later.len(),
        %defect,
        "write-ahead log ends early; cutting it at the last intact record"
    );
    for later_seg in later.iter().rev() {
        fs::remove_file(&later_seg.path).map_err(io_err("remove segment", &later_seg.path))?;
    }
    if count == 0 {
        fs::remove_file(&seg.path).map_err(io_err("remove segment", &seg.path))?;
    } else if valid_len < file_len {
        let file = OpenOptions::new()
            .write(true)
            .open(&seg.path)
            .map_err(io_err("open segment", &seg.path))?;
        file.set_len(valid_len)
            .map_err(io_err("truncate segment", &seg.path))?;
        file.sync_all()
            .map_err(io_err("fsync segment", &seg.path))?;
    }
    sync_dir(dir)
}

/// Deletes segment files in the given order, then fsyncs the directory.
fn remove_segments<'a>(
    dir: &Path,
    segments: impl Iterator<Item = &'a Segment>,
) -> Result<(), StorageError> {
    for seg in segments {
        fs::remove_file(&seg.path).map_err(io_err("remove segment", &seg.path))?;
    }
    sync_dir(dir)
}

fn open_for_append(path: &Path) -> Result<File, StorageError> {
    OpenOptions::new()
        .append(true)
        .open(path)
        .map_err(io_err("open segment", path))
}

/// The segment files in `dir`, oldest first. Other files are ignored.
fn list_segments(dir: &Path) -> Result<Vec<Segment>, StorageError> {
    let mut segments = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_err("list dir", dir))? {
        let entry = entry.map_err(io_err("list dir", dir))?;
        let name = entry.file_name();
        if let Some(first) = name.to_str().and_then(segment::parse_file_name) {
            segments.push(Segment {
                first,
                path: entry.path(),
            });
        }
    }
    segments.sort_by_key(|s| s.first);
    Ok(segments)
}
