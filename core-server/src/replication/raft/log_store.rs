//! The Raft log and vote on disk.
//!
//! Owns `raft-log/` (the segmented [`Wal`], one record per Raft entry, index =
//! Raft index = zxid) and `raft-meta` (vote, last purged log id, a recent
//! committed log id). One writer thread owns the files: it takes every append
//! queued while it was busy and writes them with a single `fdatasync` (group
//! commit), then tells openraft they are durable.
//!
//! Memory holds only the newest entries, within `Config::log_cache_bytes`
//! (what the leader replicates to followers that keep up and what is about
//! to be applied); older ones are read back from disk by the writer thread
//! (a lagging follower, apply after a restart), so the log's memory does not
//! grow with the log. Restart streams the log from disk and keeps only that
//! newest part. For every retained entry the store keeps its encoded size
//! (for the log's byte budget) and, per run of entries from one leader, the
//! leader's id, so any entry's log id is known without reading it.

use super::types::{LogEntry, LogId, NodeId, StorageError, TypeConfig};
use crate::storage::{self, Wal, WalOptions};
use openraft::storage::{LogFlushed, RaftLogStorage};
use openraft::{ErrorSubject, ErrorVerb, LogState, RaftLogId, RaftLogReader, Vote};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::io;
use std::ops::RangeBounds;
use std::path::Path;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, Semaphore};

/// The committed log id is written to `raft-meta` each time it has moved
/// this many entries past the saved one.
const COMMITTED_SAVE_EVERY: u64 = 1024;

/// The small state kept beside the log.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Meta {
    vote: Option<Vote<NodeId>>,
    committed: Option<LogId>,
    last_purged: Option<LogId>,
}

/// Most payload bytes one read from disk gathers; a longer range takes
/// several reads.
pub(super) const DISK_READ_BYTES: usize = 4 << 20;

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
    /// which holds at most `queue_bytes` of records not yet written; at most
    /// `cache_bytes` of the newest entries stay in memory.
    pub fn open(dir: &Path, queue_bytes: usize, cache_bytes: usize) -> Result<LogStore, OpenError> {
        let meta_path = dir.join("raft-meta");
        let meta: Meta = match std::fs::read(&meta_path) {
            Ok(bytes) => postcard::from_bytes(&bytes).map_err(|source| OpenError::Decode {
                what: "raft-meta",
                source,
            })?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Meta::default(),
            Err(e) => Err(storage::io_err("read", &meta_path)(e))?,
        };
        let purged = meta.last_purged.map(|id| id.index);
        let mut cache = Cache {
            cached_max: cache_bytes,
            meta,
            ..Cache::default()
        };
        let mut undecodable = None;
        let wal = Wal::open_with(
            &dir.join("raft-log"),
            WalOptions::default(),
            |index, bytes| {
                if undecodable.is_some() || purged.is_some_and(|p| index <= p) {
                    return;
                }
                match postcard::from_bytes::<LogEntry>(&bytes) {
                    Ok(entry) => {
                        cache.insert(entry, bytes.len());
                        cache.evict();
                    }
                    Err(source) => undecodable = Some(source),
                }
            },
        )?;
        if let Some(source) = undecodable {
            return Err(OpenError::Decode {
                what: "raft log record",
                source,
            });
        }
        tracing::debug!(
            entries = cache.sizes.len(),
            cached = cache.entries.len(),
            last_purged = ?cache.meta.last_purged,
            vote = ?cache.meta.vote,
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
            cache: Arc::new(Mutex::new(cache)),
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
        self.cache.lock().last_log_id()
    }

    /// Bytes of the newest entries held in memory.
    pub fn cached_bytes(&self) -> usize {
        self.cache.lock().cached_bytes
    }

    /// Entries `start..end` that are in the log, from memory where they are
    /// cached and from disk before that.
    async fn entries(&self, start: u64, end: u64) -> Result<Vec<LogEntry>, StorageError> {
        let mut out = Vec::new();
        let mut next = start;
        loop {
            let disk_end = {
                let cache = self.cache.lock();
                let (Some((&first, _)), Some((&last, _))) =
                    (cache.sizes.first_key_value(), cache.sizes.last_key_value())
                else {
                    return Ok(out);
                };
                // Purged entries are gone, even where their records linger.
                next = next.max(first);
                let end = end.min(last.saturating_add(1));
                if next >= end {
                    return Ok(out);
                }
                match cache.entries.first_key_value() {
                    Some((&first, _)) if first <= next => {
                        out.extend(cache.entries.range(next..end).map(|(_, e)| e.clone()));
                        return Ok(out);
                    }
                    Some((&first, _)) => first.min(end),
                    None => end,
                }
            };
            // Entries leave the cache only once their records are queued for
            // the writer, so this read, queued after them, finds them.
            let records = self.read_disk(next, disk_end).await?;
            let Some(&(first, _)) = records.first() else {
                return Ok(out);
            };
            if first != next {
                return Ok(out);
            }
            for (index, bytes) in records {
                let entry: LogEntry = postcard::from_bytes(&bytes)
                    .map_err(|e| read_failure(ErrorSubject::Logs, e))?;
                out.push(entry);
                next = index.saturating_add(1);
            }
        }
    }

    async fn read_disk(&self, from: u64, to: u64) -> Result<Vec<storage::Record>, StorageError> {
        let (done, answer) = oneshot::channel();
        self.writer
            .send(Command::Read { from, to, done })
            .map_err(|_| stopped(ErrorSubject::Logs))?;
        metrics::counter!("corral_raft_log_disk_reads_total").increment(1);
        match answer.await {
            Ok(Ok(records)) => Ok(records),
            Ok(Err(e)) => Err(read_failure(ErrorSubject::Logs, e)),
            Err(_) => Err(stopped(ErrorSubject::Logs)),
        }
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

fn read_failure(subject: ErrorSubject<NodeId>, e: impl std::fmt::Display) -> StorageError {
    StorageError::from_io_error(subject, ErrorVerb::Read, io::Error::other(e.to_string()))
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
        use std::ops::Bound;
        let start = match range.start_bound() {
            Bound::Included(&i) => i,
            Bound::Excluded(&i) => i.saturating_add(1),
            Bound::Unbounded => 0,
        };
        let end = match range.end_bound() {
            Bound::Included(&i) => i.saturating_add(1),
            Bound::Excluded(&i) => i,
            Bound::Unbounded => u64::MAX,
        };
        self.entries(start, end).await
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError> {
        let cache = self.cache.lock();
        let last_purged_log_id = cache.meta.last_purged;
        let last_log_id = cache.last_log_id();
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
                size += bytes.len();
                cache.insert(entry, bytes.len());
                records.push((index, bytes));
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
            .map_err(|_| stopped(ErrorSubject::Logs))?;
        // Only now, with their records queued ahead of any later read, may
        // entries leave memory.
        self.cache.lock().evict();
        Ok(())
    }

    async fn truncate(&mut self, log_id: LogId) -> Result<(), StorageError> {
        self.cache.lock().truncate(log_id.index);
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
            cache.purge(log_id.index);
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

mod cache;
mod writer;

use cache::Cache;
pub(crate) use writer::write_restored_meta;
use writer::{writer, Command, Done};

#[cfg(test)]
mod tests;
