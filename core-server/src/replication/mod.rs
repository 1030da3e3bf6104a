//! Turning proposed entries into committed, durable, applied ones.
//!
//! Owns the order of the log: [`Replicator::propose`] hands an [`Entry`] to the
//! single committer task, which assigns it the next zxid (= log index), appends
//! it to the write-ahead log with group commit (one fsync per batch), applies it
//! through [`ServerState::apply_committed`](crate::state::ServerState) and only
//! then answers. On a single server "a majority has persisted it" means "this
//! server has fsynced it"; the replicated ensemble replaces the committer with
//! consensus behind the same [`Replicator`] handle. Must not touch znode
//! semantics: entries are opaque here.

mod committer;
mod recovery;

pub use committer::{spawn_committer, CommitterOptions};
pub use recovery::{recover, Recovered};

use crate::txn::{Applied, Entry};
use tokio::sync::{mpsc, oneshot};

/// Why a proposal did not commit.
#[derive(Debug, thiserror::Error)]
pub enum ReplicationError {
    /// The committer has stopped (shutdown, or a storage failure stopped the node).
    #[error("the log is not accepting entries (server stopping)")]
    Stopped,
    /// Encoding an entry failed.
    #[error("cannot encode entry: {0}")]
    Encode(#[from] postcard::Error),
    /// The log could not be written or read.
    #[error(transparent)]
    Storage(#[from] crate::storage::StorageError),
}

/// An entry that committed: its zxid and what applying it did.
#[derive(Debug)]
pub struct Committed {
    /// The entry's zxid (its log index).
    pub zxid: i64,
    /// The outcome of apply.
    pub applied: Applied,
}

pub(crate) struct Proposal {
    pub(crate) entry: Entry,
    pub(crate) reply: oneshot::Sender<Committed>,
}

/// A cheap handle to propose entries.
#[derive(Clone, Debug)]
pub struct Replicator {
    tx: mpsc::Sender<Proposal>,
}

impl Replicator {
    /// Proposes an entry and waits until it is durable and applied.
    ///
    /// Cancellation: dropping the future does not withdraw the proposal; the
    /// entry may still commit.
    pub async fn propose(&self, entry: Entry) -> Result<Committed, ReplicationError> {
        self.submit(entry).await?.wait().await
    }

    /// Queues an entry and returns at once with a handle to await its commit.
    /// Entries submitted one after another by the same caller are committed in
    /// that order, so a session can pipeline writes and keep FIFO order.
    pub async fn submit(&self, entry: Entry) -> Result<Pending, ReplicationError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Proposal { entry, reply })
            .await
            .map_err(|_| ReplicationError::Stopped)?;
        Ok(Pending { rx })
    }
}

/// A submitted entry whose commit has not been awaited yet.
#[derive(Debug)]
pub struct Pending {
    rx: oneshot::Receiver<Committed>,
}

impl Pending {
    /// Waits until the entry is durable and applied.
    pub async fn wait(self) -> Result<Committed, ReplicationError> {
        self.rx.await.map_err(|_| ReplicationError::Stopped)
    }
}

impl std::fmt::Debug for Proposal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proposal")
            .field("entry", &self.entry)
            .finish()
    }
}
