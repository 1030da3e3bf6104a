//! Durable storage: the write-ahead log and snapshot files.
//!
//! Owns bytes on disk: [`Wal`] (segmented, CRC-framed records, one fsync per
//! appended batch, torn tails cut on open) and snapshots ([`write_snapshot`],
//! [`load_latest`]: tmp file, fsync, rename, fsync the directory). Must not
//! touch ZooKeeper semantics: records are opaque `(index, bytes)`.

mod snapshot;
mod wal;

pub use snapshot::{load_latest, write_snapshot};
pub use wal::{Record, Wal, WalOptions};

use std::path::PathBuf;

/// A storage failure. Any of these on the write path stops the node.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// An I/O operation failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// On which file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// An append did not continue the log.
    #[error("log append out of order: expected index {expected}, got {got}")]
    NonContiguous {
        /// The next index the log expects.
        expected: u64,
        /// The index offered.
        got: u64,
    },
    /// A record is larger than the format allows.
    #[error("record of {0} bytes is too large")]
    TooLarge(usize),
}

pub(crate) fn io_err(
    op: &'static str,
    path: &std::path::Path,
) -> impl FnOnce(std::io::Error) -> StorageError {
    let path = path.to_path_buf();
    move |source| StorageError::Io { op, path, source }
}

/// fsyncs a directory so a create, rename or delete inside it is durable.
pub(crate) fn sync_dir(dir: &std::path::Path) -> Result<(), StorageError> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err("fsync dir", dir))
}

#[cfg(test)]
mod tests;
