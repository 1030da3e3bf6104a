//! Online backup and restore: owns the backup file format ([`mod@format`]) and
//! turning a backup into the data directory of a new server ([`mod@restore`]).
//!
//! A backup is the whole state machine (znodes, sessions, ACLs, last zxid)
//! captured at one applied zxid, as the admin listener's `GET /snapshot`
//! streams it (`admin::snapshot`) and `corral admin snapshot save` stores it;
//! `corral restore` builds a standalone server's or a new cluster member's
//! data directory from it (decision 0011). Capturing reads the tree under the
//! state's read lock; nothing here touches the apply path or the running
//! server's files.

pub mod format;
pub mod restore;

pub use format::{Backup, Header, HEADER_BYTES, MAGIC, VERSION};
pub use restore::{restore, Target};

use std::path::{Path, PathBuf};

/// Why a backup could not be read, checked, written or restored.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackupError {
    /// The file ends before its header or its payload does.
    #[error("truncated backup: {found} bytes, expected {expected}")]
    Truncated {
        /// Bytes the header (or a whole header) calls for.
        expected: u64,
        /// Bytes there are.
        found: u64,
    },
    /// The file goes on past the payload its header describes.
    #[error("not a backup as written: {found} bytes, its header describes {expected}")]
    TrailingBytes {
        /// Bytes the header calls for.
        expected: u64,
        /// Bytes there are.
        found: u64,
    },
    /// The file does not start with the backup magic.
    #[error("not a Corral backup (magic {found:02x?}, expected \"CRBK\")")]
    BadMagic {
        /// The first four bytes found.
        found: [u8; 4],
    },
    /// The file is in a format version this build does not know.
    #[error("backup format version {version} is not supported (this build reads version 1)")]
    UnsupportedVersion {
        /// The version in the header.
        version: u32,
    },
    /// The CRC does not match the header and payload: the file is damaged.
    #[error("backup checksum mismatch (stored {stored:#010x}, computed {computed:#010x}): the file is damaged")]
    ChecksumMismatch {
        /// The CRC in the header.
        stored: u32,
        /// The CRC of the bytes read.
        computed: u32,
    },
    /// The payload does not decode as a tree.
    #[error("backup payload does not decode: {0}")]
    Decode(#[source] postcard::Error),
    /// Encoding the tree failed.
    #[error("cannot encode the tree: {0}")]
    Encode(#[source] postcard::Error),
    /// The decoded tree is not the one the header describes.
    #[error("backup header ({header}) does not describe its tree ({tree})")]
    Inconsistent {
        /// What the header says.
        header: String,
        /// What the tree is.
        tree: String,
    },
    /// A restore target directory already holds files.
    #[error("{} is not empty: restore only into a new or empty directory", path.display())]
    TargetNotEmpty {
        /// The directory.
        path: PathBuf,
    },
    /// A member restore whose id is not among its members.
    #[error("server {id} is not in the member list {members:?}")]
    NotAMember {
        /// The id given.
        id: u64,
        /// The members given.
        members: Vec<u64>,
    },
    /// Writing the restored data failed.
    #[error(transparent)]
    Storage(#[from] crate::storage::StorageError),
    /// Writing a member's Raft state failed.
    #[error("cannot write the member's raft state: {0}")]
    Seed(#[from] crate::replication::ReplicationError),
    /// A file operation failed.
    #[error("{op} {}: {source}", path.display())]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

impl BackupError {
    /// Builds a `map_err` closure for an I/O error of `op` on `path`.
    pub(crate) fn io(op: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> BackupError {
        let path = path.to_path_buf();
        move |source| BackupError::Io { op, path, source }
    }
}
