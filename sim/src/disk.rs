//! The simulated disk: a Raft log store kept in memory, with what is durable
//! kept apart from what was only written.
//!
//! Owns one server's [`Disk`] (it outlives the server's crashes) and the
//! [`SimLog`] openraft drives over it. Every write (append, truncate, purge,
//! vote, committed id) is queued in order; a flusher task "fsyncs" the queue
//! front after a seeded delay (slow disks make it long) and only then tells
//! openraft an append is durable. A crash keeps a seeded prefix of the
//! queued writes, possibly ending inside an append (a torn write: its first
//! entries made it), and loses the rest, as a real disk loses unsynced data.
//!
//! [`Disk::ack_before_sync`] is the planted bug: appends are acknowledged
//! when queued, before their fsync.

use core_server::replication::raft::types::{LogEntry, LogId, NodeId, StorageError, TypeConfig};
use openraft::storage::{LogFlushed, RaftLogStorage};
use openraft::{LogState, RaftLogId, RaftLogReader, Vote};
use parking_lot::Mutex;
use rand::rngs::StdRng;
use rand::Rng;
use std::collections::{BTreeMap, VecDeque};
use std::ops::RangeBounds;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{oneshot, Notify};

/// What a disk holds (durably, or as the server's view of it).
#[derive(Debug, Clone, Default)]
pub struct Contents {
    log: BTreeMap<u64, LogEntry>,
    vote: Option<Vote<NodeId>>,
    committed: Option<LogId>,
    purged: Option<LogId>,
}

impl Contents {
    fn apply(&mut self, write: &Write) {
        match write {
            Write::Append(entries, _) => {
                for e in entries {
                    self.log.insert(e.get_log_id().index, e.clone());
                }
            }
            Write::Truncate(index) => {
                self.log.split_off(index);
            }
            Write::Purge(id) => {
                self.log = self.log.split_off(&(id.index + 1));
                self.purged = Some(*id);
            }
            Write::Vote(vote, _) => self.vote = Some(*vote),
            Write::Committed(c) => self.committed = *c,
        }
    }

    fn last_log_id(&self) -> Option<LogId> {
        self.log
            .values()
            .next_back()
            .map(|e| *e.get_log_id())
            .or(self.purged)
    }
}

/// One queued write.
enum Write {
    Append(Vec<LogEntry>, Option<LogFlushed<TypeConfig>>),
    Truncate(u64),
    Purge(LogId),
    Vote(Vote<NodeId>, Option<oneshot::Sender<()>>),
    Committed(Option<LogId>),
}

/// One server's disk: survives the server's crashes.
pub struct Disk {
    durable: Mutex<Contents>,
    queue: Mutex<VecDeque<Write>>,
    queued: Notify,
    rng: Mutex<StdRng>,
    /// Fsync delay range in ms (a slow disk has a long one).
    pub fsync_ms: Mutex<(u64, u64)>,
    /// The planted bug: acknowledge appends before their fsync.
    pub ack_before_sync: bool,
}

impl std::fmt::Debug for Disk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Disk").finish_non_exhaustive()
    }
}

impl Disk {
    /// An empty disk drawing its delays and tears from `rng`.
    pub fn new(rng: StdRng, ack_before_sync: bool) -> Arc<Disk> {
        Arc::new(Disk {
            durable: Mutex::new(Contents::default()),
            queue: Mutex::new(VecDeque::new()),
            queued: Notify::new(),
            rng: Mutex::new(rng),
            fsync_ms: Mutex::new((1, 5)),
            ack_before_sync,
        })
    }

    /// The flusher: syncs the queue front after a seeded delay, forever
    /// (aborted by a crash).
    pub async fn flusher(self: Arc<Disk>) {
        loop {
            if self.queue.lock().is_empty() {
                self.queued.notified().await;
                continue;
            }
            let (lo, hi) = *self.fsync_ms.lock();
            let ms = self.rng.lock().gen_range(lo..=hi.max(lo));
            tokio::time::sleep(Duration::from_millis(ms)).await;
            let Some(write) = self.queue.lock().pop_front() else {
                continue;
            };
            self.durable.lock().apply(&write);
            match write {
                Write::Append(_, Some(flushed)) => flushed.log_io_completed(Ok(())),
                Write::Vote(_, Some(done)) => {
                    let _ = done.send(());
                }
                _ => {}
            }
        }
    }

    /// A crash (the flusher must be stopped first): a seeded prefix of the
    /// queued writes reaches the platter, the last of them possibly torn;
    /// the rest is lost. Returns (kept, lost) write counts for the trace.
    pub fn crash(&self) -> (usize, usize) {
        let queued: Vec<Write> = self.queue.lock().drain(..).collect();
        let n = queued.len();
        let mut rng = self.rng.lock();
        let keep = rng.gen_range(0..=n);
        let mut durable = self.durable.lock();
        for (i, write) in queued.into_iter().enumerate() {
            if i < keep {
                durable.apply(&write);
            } else if i == keep {
                if let Write::Append(entries, _) = write {
                    let torn = rng.gen_range(0..=entries.len());
                    durable.apply(&Write::Append(entries[..torn].to_vec(), None));
                }
                break;
            }
        }
        (keep, n - keep)
    }

    /// The durable contents (what a restart reads).
    pub fn durable(&self) -> Contents {
        self.durable.lock().clone()
    }

    fn push(&self, write: Write) {
        self.queue.lock().push_back(write);
        self.queued.notify_one();
    }
}

/// The log store of one run of a server over its [`Disk`].
#[derive(Clone)]
pub struct SimLog {
    view: Arc<Mutex<Contents>>,
    disk: Arc<Disk>,
}

impl std::fmt::Debug for SimLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimLog").finish_non_exhaustive()
    }
}

impl SimLog {
    /// Opens the log over what `disk` holds durably.
    pub fn open(disk: Arc<Disk>) -> SimLog {
        SimLog {
            view: Arc::new(Mutex::new(disk.durable())),
            disk,
        }
    }

    fn write(&self, write: Write) {
        self.view.lock().apply(&write);
        self.disk.push(write);
    }
}

fn stopped() -> StorageError {
    StorageError::from_io_error(
        openraft::ErrorSubject::Vote,
        openraft::ErrorVerb::Write,
        std::io::Error::other("simulated disk stopped"),
    )
}

impl RaftLogReader<TypeConfig> for SimLog {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + std::fmt::Debug + Send>(
        &mut self,
        range: RB,
    ) -> Result<Vec<LogEntry>, StorageError> {
        let view = self.view.lock();
        Ok(view.log.range(range).map(|(_, e)| e.clone()).collect())
    }
}

impl RaftLogStorage<TypeConfig> for SimLog {
    type LogReader = SimLog;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError> {
        let view = self.view.lock();
        Ok(LogState {
            last_purged_log_id: view.purged,
            last_log_id: view.last_log_id(),
        })
    }

    async fn get_log_reader(&mut self) -> SimLog {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<NodeId>) -> Result<(), StorageError> {
        let (tx, rx) = oneshot::channel();
        self.write(Write::Vote(*vote, Some(tx)));
        rx.await.map_err(|_| stopped())
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<NodeId>>, StorageError> {
        Ok(self.view.lock().vote)
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), StorageError> {
        self.write(Write::Committed(committed));
        Ok(())
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, StorageError> {
        Ok(self.view.lock().committed)
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
        let entries: Vec<LogEntry> = entries.into_iter().collect();
        if self.disk.ack_before_sync {
            self.write(Write::Append(entries, None));
            callback.log_io_completed(Ok(()));
        } else {
            self.write(Write::Append(entries, Some(callback)));
        }
        Ok(())
    }

    async fn truncate(&mut self, log_id: LogId) -> Result<(), StorageError> {
        self.write(Write::Truncate(log_id.index));
        Ok(())
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), StorageError> {
        self.write(Write::Purge(log_id));
        Ok(())
    }
}
