//! Restoring a backup: owns building a new server's data directory from a
//! backup file, all or nothing.
//!
//! The file is checked whole first (header, CRC, the decoded tree against
//! its header). The directory is built beside the target, under a hidden
//! name, and renamed into place only once every file in it is durable, so a
//! failed restore leaves no target behind (and the hidden directory is
//! removed). What goes in it is what the server would have written itself:
//!
//! - standalone: `snapshots/snap-{zxid}.snap` holding the tree, and no log
//!   (recovery starts from the snapshot; the next write gets `zxid + 1`,
//!   decision 0001);
//! - a cluster member: a Raft snapshot of the tree whose membership is the
//!   given members, and a Raft log whose purge point is that snapshot
//!   (`replication::raft::restore`), so every member restored from the same
//!   file and member list starts in the same state, with no `admin init`.
//!
//! Sessions come along with the tree; the new leader tracks every session
//! in its tree with a fresh timeout, so sessions that never reconnect expire
//! and their ephemerals go (as after any leader change).

use super::{Backup, BackupError, Header};
use crate::replication::raft::{self, NodeId, PeerNode};
use crate::storage;
use std::collections::BTreeMap;
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

/// What the restored directory is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A standalone server (`corral serve` without `--id`).
    Standalone,
    /// Member `id` of a new cluster of `members` (the voters, the same
    /// list for every member).
    Member {
        /// This server's id.
        id: NodeId,
        /// Every voter of the new cluster.
        members: BTreeMap<NodeId, PeerNode>,
    },
}

/// Checks the backup at `file`, then builds `data_dir` from it for `target`
/// and returns the backup's header. `data_dir` must not exist or be an empty
/// directory; its parent is created if needed. On `Err` nothing is left at
/// `data_dir` that was not there before.
pub fn restore(file: &Path, data_dir: &Path, target: &Target) -> Result<Header, BackupError> {
    let backup = Backup::read_file(file)?;
    drop(backup.decode_tree()?);
    if let Target::Member { id, members } = target {
        if !members.contains_key(id) {
            return Err(BackupError::NotAMember {
                id: *id,
                members: members.keys().copied().collect(),
            });
        }
    }
    refuse_non_empty(data_dir)?;
    let header = *backup.header();
    let zxid = u64::try_from(header.zxid).map_err(|_| BackupError::Inconsistent {
        header: format!("zxid {}", header.zxid),
        tree: "a negative zxid".into(),
    })?;
    let parent = match data_dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = data_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "data".into());
    fs::create_dir_all(&parent).map_err(BackupError::io("create dir", &parent))?;
    let building = parent.join(format!(".{name}.restoring-{}", std::process::id()));
    if building.exists() {
        fs::remove_dir_all(&building).map_err(BackupError::io("remove", &building))?;
    }
    let built = build(&building, zxid, backup.payload(), target)
        .and_then(|()| move_into_place(&building, data_dir, &parent));
    if built.is_err() {
        if let Err(error) = fs::remove_dir_all(&building) {
            if error.kind() != ErrorKind::NotFound {
                tracing::warn!(dir = %building.display(), %error, "cannot remove a failed restore");
            }
        }
    }
    built.map(|()| header)
}

/// Refuses a target that exists and holds anything (or is not a directory).
fn refuse_non_empty(data_dir: &Path) -> Result<(), BackupError> {
    match fs::read_dir(data_dir) {
        Ok(mut entries) => match entries.next() {
            None => Ok(()),
            Some(_) => Err(BackupError::TargetNotEmpty {
                path: data_dir.to_path_buf(),
            }),
        },
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(BackupError::io("list", data_dir)(e)),
    }
}

/// Writes the data directory's files under `dir`.
fn build(dir: &Path, zxid: u64, tree: &[u8], target: &Target) -> Result<(), BackupError> {
    fs::create_dir(dir).map_err(BackupError::io("create dir", dir))?;
    match target {
        Target::Standalone => {
            storage::write_snapshot(&dir.join("snapshots"), zxid, tree)?;
        }
        Target::Member { members, .. } => {
            raft::restore::seed(dir, members.clone(), tree.to_vec())?;
        }
    }
    storage::sync_dir(dir)?;
    Ok(())
}

/// Renames the finished `building` to `data_dir` (an empty directory there
/// is replaced) and makes the rename durable.
fn move_into_place(building: &Path, data_dir: &Path, parent: &Path) -> Result<(), BackupError> {
    fs::rename(building, data_dir).map_err(|source| match source.kind() {
        ErrorKind::DirectoryNotEmpty => BackupError::TargetNotEmpty {
            path: data_dir.to_path_buf(),
        },
        _ => BackupError::Io {
            op: "rename into place",
            path: data_dir.to_path_buf(),
            source,
        },
    })?;
    storage::sync_dir(parent)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::StateMachine;

    fn backup_file(dir: &Path) -> (PathBuf, StateMachine) {
        let tree = StateMachine::new();
        let path = dir.join("b.crbk");
        let bytes = Backup::capture(&tree).expect("capture").to_bytes();
        fs::write(&path, bytes).expect("write");
        (path, tree)
    }

    #[test]
    fn a_standalone_restore_recovers_the_tree() {
        let tmp = tempfile::tempdir().expect("tmp");
        let (file, tree) = backup_file(tmp.path());
        let data = tmp.path().join("nested/data");
        let header = restore(&file, &data, &Target::Standalone).expect("restore");
        assert_eq!(header.zxid, tree.last_zxid());
        let recovered = crate::replication::recover(&data, 10, 1 << 20).expect("recover");
        assert_eq!(recovered.state.read().digest(), tree.digest());
        let leftovers: Vec<_> = fs::read_dir(tmp.path().join("nested"))
            .expect("list")
            .filter_map(Result::ok)
            .map(|e| e.file_name())
            .collect();
        assert_eq!(leftovers, vec![std::ffi::OsString::from("data")]);
    }

    #[test]
    fn a_non_empty_target_and_a_bad_file_are_refused_and_leave_nothing() {
        let tmp = tempfile::tempdir().expect("tmp");
        let (file, _) = backup_file(tmp.path());
        let full = tmp.path().join("full");
        fs::create_dir(&full).expect("mkdir");
        fs::write(full.join("x"), b"x").expect("write");
        let err = restore(&file, &full, &Target::Standalone).expect_err("not empty");
        assert!(matches!(err, BackupError::TargetNotEmpty { .. }), "{err}");

        let mut bytes = fs::read(&file).expect("read");
        let last = bytes.len() - 1;
        bytes[last] ^= 0x10;
        let bad = tmp.path().join("bad.crbk");
        fs::write(&bad, bytes).expect("write");
        let target = tmp.path().join("new");
        let err = restore(&bad, &target, &Target::Standalone).expect_err("damaged");
        assert!(matches!(err, BackupError::ChecksumMismatch { .. }), "{err}");
        assert!(!target.exists());

        let members = BTreeMap::from([(1, PeerNode::at("127.0.0.1:1"))]);
        let err =
            restore(&file, &target, &Target::Member { id: 2, members }).expect_err("not a member");
        assert!(
            matches!(err, BackupError::NotAMember { id: 2, .. }),
            "{err}"
        );
        assert!(!target.exists());
        let names: Vec<_> = fs::read_dir(tmp.path())
            .expect("list")
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with('.'))
            .collect();
        assert!(names.is_empty(), "left behind: {names:?}");
    }
}
