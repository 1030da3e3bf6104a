//! The Raft state machine: committed entries applied to the server's tree.
//!
//! Owns the link between Raft and [`ServerState`]: applying entries in log
//! order, telling this server's waiting proposers their outcome, building
//! snapshot files and installing a leader's snapshot. A log entry carries a
//! batch of proposals; each proposal gets the next zxid when applied (so
//! zxids count transactions, as in ZooKeeper, and are the same on every
//! server), while blank and membership entries take none. How far the log
//! has been applied is published separately, by log index. Znode semantics
//! stay in `txn::apply`; this module adds no decisions of its own.

use super::types::{LogEntry, LogId, NodeId, PeerNode, StorageError, TypeConfig};
use crate::replication::{Committed, ReplicationError};
use crate::state::ServerState;
use crate::storage;
use crate::tree::StateMachine;
use openraft::storage::RaftStateMachine;
use openraft::{
    EntryPayload, ErrorSubject, ErrorVerb, RaftSnapshotBuilder, Snapshot, SnapshotMeta,
    StoredMembership,
};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::{oneshot, watch};

type Meta = SnapshotMeta<NodeId, PeerNode>;
type Membership = StoredMembership<NodeId, PeerNode>;

/// One snapshot file: Raft's metadata and the postcard-encoded tree.
#[derive(Serialize, Deserialize)]
struct SnapshotFile {
    meta: Meta,
    tree: Vec<u8>,
}

/// The encoded snapshot file of a restored member: `tree` (the postcard
/// `StateMachine`) as applied through `last`, whose membership (taking
/// effect at `last`) is `membership` (`raft::restore`).
pub(crate) fn restored_snapshot(
    last: LogId,
    membership: openraft::Membership<NodeId, PeerNode>,
    tree: Vec<u8>,
) -> Result<Vec<u8>, postcard::Error> {
    let file = SnapshotFile {
        meta: Meta {
            last_log_id: Some(last),
            last_membership: Membership::new(Some(last), membership),
            snapshot_id: format!("restored-{}-{}", last.leader_id.term, last.index),
        },
        tree,
    };
    postcard::to_allocvec(&file)
}

/// Proposers on this server waiting for their entry to be applied here.
#[derive(Debug)]
pub struct Waiters {
    incarnation: u64,
    next: AtomicU64,
    /// By token: a BTreeMap so that `fail_all` (and dropping the waiters)
    /// ends the waits oldest first, the same order every run (the
    /// deterministic simulation depends on it).
    waiting: Mutex<BTreeMap<u64, oneshot::Sender<Result<Committed, ReplicationError>>>>,
}

impl Default for Waiters {
    fn default() -> Self {
        Waiters {
            incarnation: rand::random(),
            next: AtomicU64::new(0),
            waiting: Mutex::new(BTreeMap::new()),
        }
    }
}

impl Waiters {
    /// This run's random incarnation number (carried by its proposals).
    pub fn incarnation(&self) -> u64 {
        self.incarnation
    }

    /// How many proposals are still awaited.
    pub fn len(&self) -> usize {
        self.waiting.lock().len()
    }

    /// True if no proposal is awaited.
    pub fn is_empty(&self) -> bool {
        self.waiting.lock().is_empty()
    }

    /// Registers a waiter; returns its token and the receiver of its outcome.
    pub fn register(&self) -> (u64, oneshot::Receiver<Result<Committed, ReplicationError>>) {
        let token = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let (tx, rx) = oneshot::channel();
        self.waiting.lock().insert(token, tx);
        (token, rx)
    }

    /// Ends a wait with an outcome (no-op if it already ended).
    pub fn finish(&self, token: u64, outcome: Result<Committed, ReplicationError>) {
        if let Some(tx) = self.waiting.lock().remove(&token) {
            let _ = tx.send(outcome);
        }
    }

    /// Whether the proposer of `token` still waits for its outcome. One
    /// that gave up (its write timed out, or its connection closed) has been
    /// told the outcome is unknown, and a proposal not yet in the log must
    /// then never get there: the client may already have looked for it and
    /// decided it did not happen (a protected create would be made twice).
    /// A wait found abandoned is forgotten.
    pub fn is_awaited(&self, token: u64) -> bool {
        let mut waiting = self.waiting.lock();
        let awaited = waiting.get(&token).is_some_and(|tx| !tx.is_closed());
        if !awaited {
            waiting.remove(&token);
        }
        awaited
    }

    /// Ends every wait with an error built by `error`.
    pub fn fail_all(&self, error: impl Fn() -> ReplicationError) {
        let waiting = std::mem::take(&mut *self.waiting.lock());
        for (_, tx) in waiting {
            let _ = tx.send(Err(error()));
        }
    }
}

/// What the state machine has applied, beside the tree itself.
#[derive(Debug, Clone, Default)]
struct Applied {
    last: Option<LogId>,
    membership: Membership,
}

/// The state machine store openraft drives.
#[derive(Clone)]
pub struct StateMachineStore {
    node_id: NodeId,
    state: Arc<ServerState>,
    applied: Arc<Mutex<Applied>>,
    applied_index: Arc<watch::Sender<u64>>,
    waiters: Arc<Waiters>,
    snapshot_dir: PathBuf,
}

impl std::fmt::Debug for StateMachineStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateMachineStore")
            .field("node_id", &self.node_id)
            .finish_non_exhaustive()
    }
}

/// Loads the newest valid snapshot under `snapshot_dir` and builds the
/// server's state and the store openraft drives over it.
pub fn open(
    node_id: NodeId,
    snapshot_dir: &Path,
    history: (usize, usize),
    waiters: Arc<Waiters>,
) -> Result<(Arc<ServerState>, StateMachineStore), ReplicationError> {
    let (tree, applied) = match storage::load_latest(snapshot_dir)? {
        None => (StateMachine::new(), Applied::default()),
        Some((_, bytes)) => {
            let file: SnapshotFile = postcard::from_bytes(&bytes)?;
            let tree: StateMachine = postcard::from_bytes(&file.tree)?;
            let applied = Applied {
                last: file.meta.last_log_id,
                membership: file.meta.last_membership,
            };
            (tree, applied)
        }
    };
    tracing::debug!(last_applied = ?applied.last, "state loaded from snapshot");
    let state = Arc::new(ServerState::new(tree, history.0, history.1));
    let index = applied.last.map_or(0, |id| id.index);
    let store = StateMachineStore {
        node_id,
        state: state.clone(),
        applied_index: Arc::new(watch::Sender::new(index)),
        applied: Arc::new(Mutex::new(applied)),
        waiters,
        snapshot_dir: snapshot_dir.to_path_buf(),
    };
    Ok((state, store))
}

impl StateMachineStore {
    /// The proposers waiting on this server.
    pub fn waiters(&self) -> Arc<Waiters> {
        self.waiters.clone()
    }

    /// A receiver of the last applied log index.
    pub fn applied_index(&self) -> watch::Receiver<u64> {
        self.applied_index.subscribe()
    }

    fn apply_one(&self, entry: LogEntry) {
        match entry.payload {
            EntryPayload::Blank => {}
            EntryPayload::Membership(membership) => {
                self.applied.lock().membership = Membership::new(Some(entry.log_id), membership);
            }
            EntryPayload::Normal(batch) => {
                for proposal in batch.proposals {
                    let zxid = self.state.last_zxid() + 1;
                    let applied = self.state.apply_committed(zxid, &proposal.entry);
                    if proposal.origin == self.node_id
                        && proposal.incarnation == self.waiters.incarnation()
                    {
                        self.waiters
                            .finish(proposal.token, Ok(Committed { zxid, applied }));
                    }
                }
            }
        }
        self.applied.lock().last = Some(entry.log_id);
        self.applied_index.send_replace(entry.log_id.index);
    }
}

fn sm_error(verb: ErrorVerb, e: impl std::fmt::Display) -> StorageError {
    StorageError::from_io_error(
        ErrorSubject::StateMachine,
        verb,
        std::io::Error::other(e.to_string()),
    )
}

impl RaftStateMachine<TypeConfig> for StateMachineStore {
    type SnapshotBuilder = SnapshotBuilder;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, Membership), StorageError> {
        let applied = self.applied.lock();
        Ok((applied.last, applied.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<()>, StorageError>
    where
        I: IntoIterator<Item = LogEntry> + Send,
        I::IntoIter: Send,
    {
        let mut results = Vec::new();
        for entry in entries {
            self.apply_one(entry);
            results.push(());
        }
        Ok(results)
    }

    async fn get_snapshot_builder(&mut self) -> SnapshotBuilder {
        // Called between applies: the tree and `applied` agree right now.
        let applied = self.applied.lock().clone();
        let tree = self.state.snapshot_bytes().map(|(_, bytes)| bytes);
        SnapshotBuilder {
            applied,
            tree,
            dir: self.snapshot_dir.clone(),
        }
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<Cursor<Vec<u8>>>, StorageError> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &Meta,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError> {
        let bytes = snapshot.into_inner();
        let file: SnapshotFile =
            postcard::from_bytes(&bytes).map_err(|e| sm_error(ErrorVerb::Read, e))?;
        let tree: StateMachine =
            postcard::from_bytes(&file.tree).map_err(|e| sm_error(ErrorVerb::Read, e))?;
        let index = meta.last_log_id.map_or(0, |id| id.index);
        let dir = self.snapshot_dir.clone();
        let on_disk = SnapshotFile {
            meta: meta.clone(),
            tree: file.tree,
        };
        let encoded = postcard::to_allocvec(&on_disk).map_err(|e| sm_error(ErrorVerb::Write, e))?;
        tokio::task::spawn_blocking(move || storage::write_snapshot(&dir, index, &encoded))
            .await
            .map_err(|e| sm_error(ErrorVerb::Write, e))?
            .map_err(|e| sm_error(ErrorVerb::Write, e))?;
        self.state.install(tree);
        {
            let mut applied = self.applied.lock();
            applied.last = meta.last_log_id;
            applied.membership = meta.last_membership.clone();
        }
        self.applied_index.send_replace(index);
        tracing::info!(index, "installed a snapshot from the leader");
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot<TypeConfig>>, StorageError> {
        let dir = self.snapshot_dir.clone();
        let latest = tokio::task::spawn_blocking(move || storage::load_latest(&dir))
            .await
            .map_err(|e| sm_error(ErrorVerb::Read, e))?
            .map_err(|e| sm_error(ErrorVerb::Read, e))?;
        let Some((_, bytes)) = latest else {
            return Ok(None);
        };
        let file: SnapshotFile =
            postcard::from_bytes(&bytes).map_err(|e| sm_error(ErrorVerb::Read, e))?;
        Ok(Some(Snapshot {
            meta: file.meta,
            snapshot: Box::new(Cursor::new(bytes)),
        }))
    }
}

/// Writes one snapshot file from a state captured between applies.
pub struct SnapshotBuilder {
    applied: Applied,
    tree: Result<Vec<u8>, postcard::Error>,
    dir: PathBuf,
}

impl RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError> {
        let tree = match &mut self.tree {
            Ok(bytes) => std::mem::take(bytes),
            Err(e) => return Err(sm_error(ErrorVerb::Read, &*e)),
        };
        let last = self.applied.last;
        let meta = Meta {
            last_log_id: last,
            last_membership: self.applied.membership.clone(),
            snapshot_id: format!(
                "{}-{}",
                last.map_or(0, |id| id.leader_id.term),
                last.map_or(0, |id| id.index)
            ),
        };
        let file = SnapshotFile {
            meta: meta.clone(),
            tree,
        };
        let bytes = postcard::to_allocvec(&file).map_err(|e| sm_error(ErrorVerb::Write, e))?;
        let dir = self.dir.clone();
        let index = last.map_or(0, |id| id.index);
        let written = bytes.clone();
        tokio::task::spawn_blocking(move || storage::write_snapshot(&dir, index, &written))
            .await
            .map_err(|e| sm_error(ErrorVerb::Write, e))?
            .map_err(|e| sm_error(ErrorVerb::Write, e))?;
        tracing::info!(index, bytes = bytes.len(), "snapshot written");
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(bytes)),
        })
    }
}
