//! The Raft log and vote on disk.
//!
//! Owns `raft-log/` (the segmented [`Wal`], one record per Raft entry, index =
//! Raft index = zxid) and `raft-meta` (vote, last purged log id, a recent
//! committed log id). One writer thread owns the files: it takes every append
//! queued while it was busy and writes them with a single `fdatasync` (group
//! commit), then tells openraft they are durable. Reads are served from an
//! in-memory copy of the entries not yet purged behind a snapshot.

use super::types::{LogEntry, LogId, NodeId, StorageError, TypeConfig};
use crate::storage::{self, Wal, WalOptions};
use openraft::storage::{LogFlushed, RaftLogStorage};
use openraft::{ErrorSubject, ErrorVerb, LogState, RaftLogId, RaftLogReader, Vote};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io;
use std::ops::RangeBounds;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore};

/// The committed log id is written to `raft-meta` each time it has moved
/// this many entries past the saved one.
const COMMITTED_SAVE_EVERY: u64 = 1024;

/// The small state kept beside the log.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Meta {
    vote: Option<Vote<NodeId>>,
    committed: Option<LogId>,
    last_purged: Option<LogId>,
}

/// Entries not yet purged, for reads; shared with log readers.
#[derive(Debug, Default)]
struct Cache {
    entries: BTreeMap<u64, LogEntry>,
    /// The encoded size of each entry in `entries`.
    sizes: BTreeMap<u64, usize>,
    /// The sum of `sizes`.
    bytes: usize,
    meta: Meta,
    committed_saved: Option<u64>,
}

type Done = oneshot::Sender<Result<(), storage::StorageError>>;

enum Command {
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
}

/// The Raft log storage (also its own reader).
#[derive(Clone)]
pub struct LogStore {
    cache: Arc<Mutex<Cache>>,
    writer: mpsc::UnboundedSender<Command>,
    /// Bytes of records handed to the writer and not yet on disk: an append
    /// waits while the budget is spent (`Config::log_write_queue_bytes`).
    unwritten: Arc<Semaphore>,
    /// The budget's size (an append over it takes all of it).
    unwritten_max: u32,
}

impl std::fmt::Debug for LogStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogStore").finish_non_exhaustive()
    }
}

/// A failure opening the log.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The files could not be read or written.
    #[error(transparent)]
    Storage(#[from] storage::StorageError),
    /// A record or the meta file does not decode.
    #[error("raft log: cannot decode {what}: {source}")]
    Decode {
        /// What was being decoded.
        what: &'static str,
        /// The decoder's error.
        source: postcard::Error,
    },
}

impl LogStore {
    /// Opens (or creates) the log under `dir`, and starts its writer thread,
    /// which holds at most `queue_bytes` of records not yet written.
    pub fn open(dir: &Path, queue_bytes: usize) -> Result<LogStore, OpenError> {
        let meta_path = dir.join("raft-meta");
        let meta: Meta = match std::fs::read(&meta_path) {
            Ok(bytes) => postcard::from_bytes(&bytes).map_err(|source| OpenError::Decode {
                what: "raft-meta",
                source,
            })?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Meta::default(),
            Err(e) => Err(storage::io_err("read", &meta_path)(e))?,
        };
        let (wal, records) = Wal::open(&dir.join("raft-log"), WalOptions::default())?;
        let purged = meta.last_purged.map(|id| id.index);
        let mut entries = BTreeMap::new();
        let mut sizes = BTreeMap::new();
        for (index, bytes) in records {
            if purged.is_some_and(|p| index <= p) {
                continue;
            }
            sizes.insert(index, bytes.len());
            let entry: LogEntry =
                postcard::from_bytes(&bytes).map_err(|source| OpenError::Decode {
                    what: "raft log record",
                    source,
                })?;
            entries.insert(index, entry);
        }
        tracing::debug!(
            entries = entries.len(),
            last_purged = ?meta.last_purged,
            vote = ?meta.vote,
            "raft log opened"
        );
        // The channel is unbounded in count; what it holds is bounded by the
        // byte budget on appends (every other command is small and awaited,
        // or a meta save that replaces the previous one).
        let (tx, rx) = mpsc::unbounded_channel();
        let unwritten_max =
            queue_bytes.clamp(1, Semaphore::MAX_PERMITS.min(u32::MAX as usize)) as u32;
        let thread_meta = meta_path.clone();
        std::thread::Builder::new()
            .name("corral-raft-log".into())
            .spawn(move || writer(wal, thread_meta, rx))
            .map_err(storage::io_err("spawn writer for", dir))?;
        Ok(LogStore {
            cache: Arc::new(Mutex::new(Cache {
                entries,
                bytes: sizes.values().sum(),
                sizes,
                meta,
                committed_saved: None,
            })),
            writer: tx,
            unwritten: Arc::new(Semaphore::new(unwritten_max as usize)),
            unwritten_max,
        })
    }

    async fn call(
        &self,
        make: impl FnOnce(Done) -> Command,
        subject: ErrorSubject<NodeId>,
    ) -> Result<(), StorageError> {
        let (tx, rx) = oneshot::channel();
        self.writer
            .send(make(tx))
            .map_err(|_| stopped(subject.clone()))?;
        match rx.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(failure(subject, e)),
            Err(_) => Err(stopped(subject)),
        }
    }

    /// The id of the last entry in the log (or of the last purged one).
    pub fn last_log_id(&self) -> Option<LogId> {
        let cache = self.cache.lock();
        cache
            .entries
            .last_key_value()
            .map(|(_, e)| *e.get_log_id())
            .or(cache.meta.last_purged)
    }

    /// Bytes of log entries held (in memory, and as records on disk).
    pub fn retained_bytes(&self) -> usize {
        self.cache.lock().bytes
    }

    /// The highest index whose purge (with everything before it) leaves at
    /// most `keep` bytes of entries; `None` if nothing need go.
    pub fn purge_point(&self, keep: usize) -> Option<u64> {
        let cache = self.cache.lock();
        let mut kept = 0usize;
        for (index, size) in cache.sizes.iter().rev() {
            kept += size;
            if kept > keep {
                return Some(*index);
            }
        }
        None
    }

    fn save_meta_later(&self, meta: Meta) {
        let _ = self.writer.send(Command::SaveMeta { meta, done: None });
    }
}

impl Cache {
    /// Records the size of the entry appended at `index` (replacing one a
    /// conflicting append overwrites).
    fn note_size(&mut self, index: u64, size: usize) {
        if let Some(old) = self.sizes.insert(index, size) {
            self.bytes -= old;
        }
        self.bytes += size;
    }
}

fn failure(subject: ErrorSubject<NodeId>, e: impl std::fmt::Display) -> StorageError {
    StorageError::from_io_error(subject, ErrorVerb::Write, io::Error::other(e.to_string()))
}

fn stopped(subject: ErrorSubject<NodeId>) -> StorageError {
    failure(subject, "the raft log writer has stopped")
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + std::fmt::Debug + Send>(
        &mut self,
        range: RB,
    ) -> Result<Vec<LogEntry>, StorageError> {
        let cache = self.cache.lock();
        Ok(cache.entries.range(range).map(|(_, e)| e.clone()).collect())
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError> {
        let cache = self.cache.lock();
        let last_purged_log_id = cache.meta.last_purged;
        let last_log_id = cache
            .entries
            .last_key_value()
            .map(|(_, e)| *e.get_log_id())
            .or(last_purged_log_id);
        Ok(LogState {
            last_purged_log_id,
            last_log_id,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<NodeId>) -> Result<(), StorageError> {
        let meta = {
            let mut cache = self.cache.lock();
            cache.meta.vote = Some(*vote);
            cache.meta.clone()
        };
        self.call(
            |done| Command::SaveMeta {
                meta,
                done: Some(done),
            },
            ErrorSubject::Vote,
        )
        .await
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<NodeId>>, StorageError> {
        Ok(self.cache.lock().meta.vote)
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), StorageError> {
        let meta = {
            let mut cache = self.cache.lock();
            cache.meta.committed = committed;
            let index = committed.map_or(0, |id| id.index);
            let due = cache
                .committed_saved
                .is_none_or(|saved| index >= saved + COMMITTED_SAVE_EVERY);
            if !due {
                return Ok(());
            }
            cache.committed_saved = Some(index);
            cache.meta.clone()
        };
        // A stale committed id on disk is safe: it only says how far a
        // restarted node may apply before it hears from the leader.
        self.save_meta_later(meta);
        Ok(())
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, StorageError> {
        Ok(self.cache.lock().meta.committed)
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<TypeConfig>,
    ) -> Result<(), StorageError>
    where
        I: IntoIterator<Item = LogEntry> + Send,
        I::IntoIter: Send,
    {
        let mut records = Vec::new();
        let mut size = 0usize;
        {
            let mut cache = self.cache.lock();
            for entry in entries {
                let index = entry.get_log_id().index;
                let bytes =
                    postcard::to_allocvec(&entry).map_err(|e| failure(ErrorSubject::Logs, e))?;
                cache.note_size(index, bytes.len());
                size += bytes.len();
                records.push((index, bytes));
                cache.entries.insert(index, entry);
            }
        }
        let want = size.clamp(1, self.unwritten_max as usize) as u32;
        let budget = self
            .unwritten
            .clone()
            .acquire_many_owned(want)
            .await
            .map_err(|_| stopped(ErrorSubject::Logs))?;
        self.writer
            .send(Command::Append {
                records,
                flushed: callback,
                budget,
            })
            .map_err(|_| stopped(ErrorSubject::Logs))
    }

    async fn truncate(&mut self, log_id: LogId) -> Result<(), StorageError> {
        {
            let mut cache = self.cache.lock();
            cache.entries.split_off(&log_id.index);
            let dropped = cache.sizes.split_off(&log_id.index);
            cache.bytes -= dropped.values().sum::<usize>();
        }
        let index = log_id.index;
        self.call(
            |done| Command::TruncateFrom { index, done },
            ErrorSubject::Logs,
        )
        .await
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), StorageError> {
        let meta = {
            let mut cache = self.cache.lock();
            let kept = cache.entries.split_off(&(log_id.index + 1));
            cache.entries = kept;
            let kept = cache.sizes.split_off(&(log_id.index + 1));
            cache.sizes = kept;
            cache.bytes = cache.sizes.values().sum();
            cache.meta.last_purged = Some(log_id);
            cache.meta.clone()
        };
        // The purge point is recorded before any record goes, so a crash in
        // between leaves records that open() skips, never a hole.
        self.call(
            |done| Command::SaveMeta {
                meta,
                done: Some(done),
            },
            ErrorSubject::Logs,
        )
        .await?;
        let index = log_id.index;
        self.call(
            |done| Command::PurgeUpTo { index, done },
            ErrorSubject::Logs,
        )
        .await
    }
}

/// The writer thread: applies commands in order, batching appends.
fn writer(mut wal: Wal, meta_path: PathBuf, mut rx: mpsc::UnboundedReceiver<Command>) {
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

#[cfg(test)]
mod tests;
