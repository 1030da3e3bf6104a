//! Turning proposed entries into committed, durable, applied ones.
//!
//! Owns the order of the log: [`Replicator::propose`] hands an [`Entry`] to the
//! single committer task, which assigns it the next zxid (standalone, the zxid
//! is the log index, decision 0001; in a cluster one Raft entry carries a batch
//! and each applied transaction takes the next zxid, decision 0005), appends
//! it to the write-ahead log with group commit (one fsync per batch), applies it
//! through [`ServerState::apply_committed`](crate::state::ServerState) and only
//! then answers. On a single server "a majority has persisted it" means "this
//! server has fsynced it"; the replicated ensemble replaces the committer with
//! consensus behind the same [`Replicator`] handle: in a cluster ([`raft`]) an
//! entry is answered once a majority has persisted it and this server has
//! applied it. Must not touch znode semantics: entries are opaque here.

mod committer;
mod error;
pub mod raft;
mod recovery;
mod start;

pub use committer::{spawn_committer, CommitterOptions};
pub use error::{CommitFailure, NoLeader, NoQuorum, ReplicationError, StartFailure, Unknown};
pub use recovery::{recover, Recovered};
pub use start::{start, Started};

use crate::txn::{Applied, Entry};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// An entry that committed: its zxid and what applying it did.
#[derive(Debug)]
pub struct Committed {
    /// The entry's zxid (standalone its log index; in a cluster the count
    /// of transactions applied, decision 0005).
    pub zxid: i64,
    /// The outcome of apply.
    pub applied: Applied,
}

pub(crate) struct Proposal {
    pub(crate) entry: Entry,
    pub(crate) reply: oneshot::Sender<Result<Committed, ReplicationError>>,
}

/// A cheap handle to propose entries.
#[derive(Clone, Debug)]
pub struct Replicator {
    backend: Backend,
}

#[derive(Clone, Debug)]
enum Backend {
    /// A standalone server: the local committer.
    Local(mpsc::Sender<Proposal>),
    /// A cluster member.
    Raft(Arc<raft::RaftNode>),
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
        match &self.backend {
            Backend::Local(tx) => {
                let (reply, rx) = oneshot::channel();
                tx.send(Proposal { entry, reply })
                    .await
                    .map_err(|_| ReplicationError::Stopped)?;
                Ok(Pending { rx, limit: None })
            }
            Backend::Raft(node) => node.submit(entry).await,
        }
    }

    /// A replicator over a cluster member.
    pub fn raft(node: Arc<raft::RaftNode>) -> Self {
        Replicator {
            backend: Backend::Raft(node),
        }
    }

    /// What this cluster member knows of its cluster (`None` standalone).
    pub fn cluster_status(&self) -> Option<raft::ClusterStatus> {
        match &self.backend {
            Backend::Local(_) => None,
            Backend::Raft(node) => Some(node.status()),
        }
    }

    /// A cheap reading of this member's part in its cluster (`None`
    /// standalone).
    pub fn view(&self) -> Option<raft::RaftView> {
        match &self.backend {
            Backend::Local(_) => None,
            Backend::Raft(node) => Some(node.view()),
        }
    }

    /// The cluster member, if this is one.
    pub fn raft_node(&self) -> Option<&Arc<raft::RaftNode>> {
        match &self.backend {
            Backend::Local(_) => None,
            Backend::Raft(node) => Some(node),
        }
    }

    /// Runs an operator command on this cluster member (`None` standalone).
    pub async fn admin(&self, request: raft::AdminRequest) -> Option<raft::AdminReply> {
        match &self.backend {
            Backend::Local(_) => None,
            Backend::Raft(node) => Some(node.admin(request).await),
        }
    }

    /// Sessions that other servers reported alive since the last call (on
    /// a cluster's leader; none standalone, where every client is local).
    pub fn take_reported_sessions(&self) -> Vec<i64> {
        match &self.backend {
            Backend::Local(_) => Vec::new(),
            Backend::Raft(node) => node.take_reported(),
        }
    }

    /// Tells whoever expires sessions that these sessions' clients are alive
    /// here: the leader, from a follower; nothing to do on the leader or
    /// standalone.
    pub async fn report_live_sessions(&self, sessions: Vec<i64>) -> Result<(), ReplicationError> {
        match &self.backend {
            Backend::Raft(node) if !node.is_leader() && !sessions.is_empty() => {
                node.report_sessions(sessions).await
            }
            _ => Ok(()),
        }
    }

    /// True if this server may run the cluster's duties (session expiry,
    /// container reaping): always when standalone, only the leader in a cluster.
    pub fn is_leader(&self) -> bool {
        match &self.backend {
            Backend::Local(_) => true,
            Backend::Raft(node) => node.is_leader(),
        }
    }

    /// This server's part: standalone, or its role in the cluster (what
    /// ZooKeeper's `srvr` calls the mode).
    pub fn mode(&self) -> ServerMode {
        match &self.backend {
            Backend::Local(_) => ServerMode::Standalone,
            Backend::Raft(node) => node.mode(),
        }
    }

    /// False while a cluster member is out of touch with a quorum (it must
    /// not serve clients then); always true standalone.
    pub fn is_serving(&self) -> bool {
        match &self.backend {
            Backend::Local(_) => true,
            Backend::Raft(node) => node.is_serving(),
        }
    }

    /// Waits until this server has applied everything committed cluster-wide
    /// before the call (the leader's read index). Reads after this are
    /// linearizable. Standalone, everything committed is already applied.
    pub async fn sync(&self) -> Result<(), ReplicationError> {
        match &self.backend {
            Backend::Local(_) => Ok(()),
            Backend::Raft(node) => {
                let index = node.read_index().await?;
                node.wait_applied(index, node.write_timeout()).await
            }
        }
    }
}

/// A server's part, as ZooKeeper's status words name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerMode {
    /// Not a cluster member.
    Standalone,
    /// The cluster's leader.
    Leader,
    /// A voter following a known leader.
    Follower,
    /// A non-voting member (Raft learner) following a known leader.
    Observer,
    /// A member that knows no leader (an election, or cut off).
    Looking,
    /// A member cut off from the quorum serving read-only sessions
    /// (read-only mode).
    ReadOnly,
}

impl ServerMode {
    /// ZooKeeper's name for it (`Mode:` in `srvr`, `zk_server_state`).
    pub fn name(self) -> &'static str {
        match self {
            ServerMode::Standalone => "standalone",
            ServerMode::Leader => "leader",
            ServerMode::Follower => "follower",
            ServerMode::Observer => "observer",
            ServerMode::Looking => "looking",
            ServerMode::ReadOnly => "read-only",
        }
    }
}

/// A submitted entry whose commit has not been awaited yet.
#[derive(Debug)]
pub struct Pending {
    rx: oneshot::Receiver<Result<Committed, ReplicationError>>,
    limit: Option<std::time::Duration>,
}

impl Pending {
    pub(crate) fn raft(
        rx: oneshot::Receiver<Result<Committed, ReplicationError>>,
        limit: std::time::Duration,
    ) -> Self {
        Pending {
            rx,
            limit: Some(limit),
        }
    }

    /// Waits until the entry is durable and applied on this server.
    pub async fn wait(self) -> Result<Committed, ReplicationError> {
        match self.limit {
            None => self.rx.await.map_err(|_| ReplicationError::Stopped)?,
            Some(limit) => match tokio::time::timeout(limit, self.rx).await {
                Ok(outcome) => outcome.map_err(|_| ReplicationError::Stopped)?,
                Err(_) => Err(ReplicationError::Timeout),
            },
        }
    }
}

impl std::fmt::Debug for Proposal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proposal")
            .field("entry", &self.entry)
            .finish()
    }
}
