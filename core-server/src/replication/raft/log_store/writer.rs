//! The writer thread: the one owner of the log's files. It applies commands
//! in order, writes every append queued while it was busy with one
//! `fdatasync` (group commit), and serves reads of entries no longer in
//! memory, after every write queued before them.

use super::super::types::{LogId, TypeConfig};
use super::{Meta, DISK_READ_BYTES};
use crate::storage::{self, Wal};
use openraft::storage::LogFlushed;
use std::io;
use std::path::{Path, PathBuf};
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit};

pub(super) type Done = oneshot::Sender<Result<(), storage::StorageError>>;

pub(super) enum Command {
    Append {
        records: Vec<(u64, Vec<u8>)>,
        flushed: LogFlushed<TypeConfig>,
        /// The records' share of the write queue's byte budget, given back
        /// once they are on disk.
        budget: OwnedSemaphorePermit,
    },
    /// Remove every record at `index` and above.
    TruncateFrom {
        index: u64,
        done: Done,
    },
    /// Remove records up to and including `index` (whole segments).
    PurgeUpTo {
        index: u64,
        done: Done,
    },
    SaveMeta {
        meta: Meta,
        done: Option<Done>,
    },
    /// Read records `from..to` back from disk (at most `DISK_READ_BYTES`).
    Read {
        from: u64,
        to: u64,
        done: oneshot::Sender<Result<Vec<storage::Record>, storage::StorageError>>,
    },
}

/// The writer thread: applies commands in order, batching appends.
pub(super) fn writer(mut wal: Wal, meta_path: PathBuf, mut rx: mpsc::UnboundedReceiver<Command>) {
    let mut held: Option<Command> = None;
    loop {
        let command = match held.take() {
            Some(c) => c,
            None => match rx.blocking_recv() {
                Some(c) => c,
                None => return,
            },
        };
        match command {
            Command::Append {
                records,
                flushed,
                budget,
            } => {
                let mut records = records;
                let mut callbacks = vec![flushed];
                let mut budgets = vec![budget];
                while let Ok(next) = rx.try_recv() {
                    match next {
                        Command::Append {
                            records: more,
                            flushed,
                            budget,
                        } => {
                            records.extend(more);
                            callbacks.push(flushed);
                            budgets.push(budget);
                        }
                        other => {
                            held = Some(other);
                            break;
                        }
                    }
                }
                let result = append(&mut wal, &records);
                // On disk (or failed): the records leave the queue's budget
                // before anyone is told.
                drop(budgets);
                tracing::trace!(
                    entries = records.len(),
                    appends = callbacks.len(),
                    "log batch written"
                );
                metrics::counter!("corral_log_batches_total").increment(1);
                metrics::counter!("corral_log_entries_total").increment(records.len() as u64);
                for callback in callbacks {
                    let outcome = match &result {
                        Ok(()) => Ok(()),
                        Err(e) => Err(io::Error::other(e.to_string())),
                    };
                    callback.log_io_completed(outcome);
                }
            }
            Command::TruncateFrom { index, done } => {
                let result = match index.checked_sub(1) {
                    Some(keep) => wal.truncate_after(keep),
                    None => wal.truncate_before(u64::MAX),
                };
                let _ = done.send(result);
            }
            Command::PurgeUpTo { index, done } => {
                let _ = done.send(wal.truncate_before(index.saturating_add(1)));
            }
            Command::Read { from, to, done } => {
                let _ = done.send(wal.read_range(from, to, DISK_READ_BYTES));
            }
            Command::SaveMeta { meta, done } => {
                let result = save_meta(&meta_path, &meta);
                if let Err(error) = &result {
                    tracing::error!(%error, "cannot save raft meta");
                }
                if let Some(done) = done {
                    let _ = done.send(result);
                }
            }
        }
    }
}

/// Appends a batch; a batch that starts past the end of the log (after a
/// snapshot was installed over it) first empties the stale log.
fn append(wal: &mut Wal, records: &[(u64, Vec<u8>)]) -> Result<(), storage::StorageError> {
    if let (Some(last), Some((first, _))) = (wal.last_index(), records.first()) {
        if *first > last + 1 {
            wal.truncate_before(u64::MAX)?;
        }
    }
    let refs: Vec<(u64, &[u8])> = records.iter().map(|(i, b)| (*i, b.as_slice())).collect();
    wal.append(&refs)
}

/// Writes the `raft-meta` of a restored member under `dir`: no vote yet,
/// and everything through `snapshot` (the restored snapshot's log id)
/// committed and purged, so the log continues after it (`raft::restore`).
pub(crate) fn write_restored_meta(
    dir: &Path,
    snapshot: LogId,
) -> Result<(), storage::StorageError> {
    let meta = Meta {
        vote: None,
        committed: Some(snapshot),
        last_purged: Some(snapshot),
    };
    save_meta(&dir.join("raft-meta"), &meta)
}

/// Writes the meta file durably: tmp file, fsync, rename, fsync the directory.
fn save_meta(path: &Path, meta: &Meta) -> Result<(), storage::StorageError> {
    use std::io::Write;
    let bytes = postcard::to_allocvec(meta).map_err(|e| storage::StorageError::Io {
        op: "encode",
        path: path.to_path_buf(),
        source: io::Error::other(e),
    })?;
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::File::create(&tmp).map_err(storage::io_err("create", &tmp))?;
    file.write_all(&bytes)
        .and_then(|_| file.sync_all())
        .map_err(storage::io_err("write", &tmp))?;
    std::fs::rename(&tmp, path).map_err(storage::io_err("rename", path))?;
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => storage::sync_dir(dir),
        _ => Ok(()),
    }
}
