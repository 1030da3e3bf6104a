//! Durable storage: owns the bytes on disk, the write-ahead log and the snapshot files.
//!
//! Records are opaque `(index, payload)` pairs; this module knows nothing of
//! ZooKeeper semantics (architecture decision 7).
//!
//! - [`Wal`]: a segmented write-ahead log. Every record carries a CRC32; an
//!   [`append`](Wal::append) writes a whole batch and then calls `fdatasync`
//!   once (group commit); [`Wal::open`] cuts a torn or corrupt tail instead of
//!   failing. [`Wal::truncate_before`] drops whole segments behind a snapshot,
//!   [`Wal::truncate_after`] drops a conflicting suffix.
//! - [`write_snapshot`] / [`load_latest`]: one file per snapshot of the whole
//!   state machine, written to a tmp file, fsynced, renamed and made durable by
//!   fsyncing the directory; the two newest are kept and a corrupt newest one
//!   falls back to the previous.
//! - [`StorageError`]: every failure of this layer. On the write path any of
//!   them means the node must stop or reopen the log (the standalone
//!   committer reopens it, cut back to what it acknowledged): the disk state
//!   is unknown.
//! - [`faults`]: disk faults on purpose (EIO, ENOSPC, EROFS, a slow disk)
//!   for the real files under one data directory, for tests.
//!
//! ```
//! use core_server::storage::{Wal, WalOptions};
//! # fn main() -> Result<(), core_server::storage::StorageError> {
//! # let tmp = tempfile::tempdir().map_err(|source| core_server::storage::StorageError::Io {
//! #     op: "tempdir", path: std::path::PathBuf::new(), source })?;
//! let dir = tmp.path().join("wal");
//! let (mut wal, records) = Wal::open(&dir, WalOptions::default())?;
//! assert!(records.is_empty());
//! wal.append(&[(1, b"first".as_slice()), (2, b"second".as_slice())])?; // one fdatasync
//! drop(wal);
//! let (wal, records) = Wal::open(&dir, WalOptions::default())?;
//! assert_eq!(records, vec![(1, b"first".to_vec()), (2, b"second".to_vec())]);
//! assert_eq!(wal.last_index(), Some(2));
//! # Ok(())
//! # }
//! ```

pub mod faults;
mod segment;
mod snapshot;
mod wal;

pub use segment::MAX_PAYLOAD_BYTES;
pub use snapshot::{load_latest, write_snapshot};
pub use wal::{Record, Wal, WalOptions};

use std::io;
use std::path::{Path, PathBuf};

/// A failure of the storage layer.
///
/// Corruption found while *reading* (a torn tail, a bad CRC) is not an error:
/// it is cut off (log) or skipped (snapshot) and reported with `tracing::warn`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// An I/O operation on a file or directory failed.
    #[error("storage: {op} {}: {source}", path.display())]
    Io {
        /// What was being done, e.g. `"fdatasync"`.
        op: &'static str,
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// An append did not continue the log at `last_index + 1`, or its batch
    /// was not consecutive.
    #[error("storage: log append out of order: expected index {expected}, got {got}")]
    NonContiguous {
        /// The index the log expected next.
        expected: u64,
        /// The index offered.
        got: u64,
    },
    /// A record or snapshot payload is larger than the on-disk format allows.
    #[error("storage: payload of {len} bytes exceeds the limit of {max} bytes")]
    TooLarge {
        /// The payload's length.
        len: u64,
        /// The largest length allowed.
        max: u64,
    },
    /// A snapshot file with an intact CRC has a format version this build
    /// does not know (written by a newer release). It is not skipped: falling
    /// back to an older snapshot could silently lose the log behind it.
    #[error("storage: snapshot {} has unsupported format version {version}", path.display())]
    UnsupportedVersion {
        /// The snapshot file.
        path: PathBuf,
        /// The version found in its header.
        version: u32,
    },
    /// A segment that the open log had already validated no longer reads back
    /// intact, so an operation that must rewrite it cannot proceed safely.
    #[error("storage: {} is corrupt at byte {offset}: {detail}", path.display())]
    Corrupt {
        /// The damaged file.
        path: PathBuf,
        /// Where the first unusable byte is.
        offset: u64,
        /// What is wrong, for humans.
        detail: String,
    },
    /// An earlier write or truncation of this [`Wal`] failed part way, so the
    /// files on disk no longer match what the log believes. Reopen the log
    /// (which recovers the intact prefix) or stop the node.
    #[error("storage: the log is unusable after an earlier I/O failure; reopen it")]
    Poisoned,
    /// A reopened log ends before an entry that was acknowledged: the disk
    /// lost synced data.
    #[error("storage: the log ends at {last}, before the acknowledged entry {acknowledged}")]
    Shortened {
        /// The last index on disk.
        last: u64,
        /// The last index acknowledged.
        acknowledged: u64,
    },
}

/// Builds a `map_err` closure that wraps an [`io::Error`] with what was being
/// done and to which path.
pub(crate) fn io_err(op: &'static str, path: &Path) -> impl FnOnce(io::Error) -> StorageError {
    let path = path.to_path_buf();
    move |source| StorageError::Io { op, path, source }
}

/// fsyncs a directory, making a create, rename or delete inside it durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), StorageError> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err("fsync dir", dir))
}

/// Creates `dir` (and missing parents) if needed; a newly created directory is
/// made durable by fsyncing it and its parent.
pub(crate) fn create_dir_durable(dir: &Path) -> Result<(), StorageError> {
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::create_dir_all(dir).map_err(io_err("create dir", dir))?;
    sync_dir(dir)?;
    match dir.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => sync_dir(parent),
        _ => sync_dir(Path::new(".")),
    }
}

#[cfg(test)]
mod snapshot_tests;
#[cfg(test)]
mod wal_tests;
