//! Why a proposal, a read index or a replication start failed: typed, so a
//! caller (and a peer, for the reasons that cross the wire) can tell them
//! apart without reading prose.

use serde::{Deserialize, Serialize};

/// A server's id in a cluster.
type NodeId = u64;

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
    /// Consensus could not start.
    #[error("raft cannot start: {0}")]
    Start(Box<StartFailure>),
    /// A peer runs a release with another peer message format.
    #[error(transparent)]
    PeerFormat(#[from] proto::peer_format::FormatMismatch),
    /// No leader took the proposal, so nothing was proposed.
    #[error("no leader: {0}")]
    NoLeader(NoLeader),
    /// The leader could not confirm it still leads a quorum.
    #[error("no quorum: {0}")]
    NoQuorum(NoQuorum),
    /// The proposal may or may not have committed.
    #[error("outcome unknown: {0}")]
    Unknown(Unknown),
    /// The proposal was not applied here in time; it may still commit.
    #[error("timed out waiting for the entry to be applied")]
    Timeout,
    /// The disk refused a log write or fsync: writes are refused (nothing of
    /// this one was applied or will be) until the log can be reopened.
    #[error("the log cannot be written (disk failure); writes are refused until it recovers")]
    StorageUnavailable,
    /// A snapshot whose tree is not at the zxid its file is named for (its
    /// CRC held, so it was written so): recovery would apply entries out of
    /// order, so it stops instead.
    #[error("snapshot {file_zxid} holds a tree at zxid {tree_zxid}: refusing to recover from it")]
    InconsistentSnapshot {
        /// The zxid the snapshot file is named for.
        file_zxid: i64,
        /// The last zxid the tree inside says it applied.
        tree_zxid: i64,
    },
}

impl From<StartFailure> for ReplicationError {
    fn from(failure: StartFailure) -> Self {
        ReplicationError::Start(Box::new(failure))
    }
}

/// Why consensus could not start on this server.
#[derive(Debug, thiserror::Error)]
pub enum StartFailure {
    /// The Raft log could not be opened.
    #[error(transparent)]
    Log(#[from] crate::replication::raft::log_store::OpenError),
    /// The timing settings do not make a valid Raft configuration.
    #[error("invalid raft timing: {0}")]
    Config(#[from] openraft::ConfigError),
    /// openraft stopped while starting or bootstrapping.
    #[error("consensus stopped: {0}")]
    Fatal(#[from] openraft::error::Fatal<NodeId>),
    /// The bootstrap voters do not include this server.
    #[error("the bootstrap members do not include this server (id {id})")]
    NotInMembers {
        /// This server's id.
        id: NodeId,
    },
    /// The cluster secret could not be read.
    #[error(transparent)]
    PeerSecret(#[from] crate::replication::raft::peer_auth::SecretError),
    /// The peer TLS files could not be used.
    #[error("peer TLS: {0}")]
    PeerTls(String),
    /// A cluster member was given no way to authenticate its peers.
    #[error(
        "a cluster member needs peer credentials: set cluster_secret_file (--cluster-secret-file)"
    )]
    NoPeerCredentials,
}

/// Why no leader took a proposal (it was not sent, or not accepted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NoLeader {
    /// No leader is known (an election is under way, or no quorum).
    #[error("no leader is known")]
    Unknown,
    /// The leader's address cannot be dialed.
    #[error("the address of leader {leader} is not valid")]
    BadAddress {
        /// The leader.
        leader: NodeId,
    },
    /// The leader did not accept the forwarding stream.
    #[error("leader {leader} did not accept the stream ({code:?})")]
    Refused {
        /// The leader.
        leader: NodeId,
        /// The gRPC status it (or the transport) gave.
        code: tonic::Code,
    },
    /// No leader accepted the write within the write timeout.
    #[error("no leader accepted the write in time")]
    NotInTime,
}

/// Why a proposal's outcome is unknown (it may have committed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Unknown {
    /// The stream to the leader ended with the proposal unanswered.
    #[error("the connection to the leader was lost")]
    LinkLost,
    /// A new leader was elected while the old one had it.
    #[error("a new leader was elected before the old one answered")]
    LeaderChanged,
    /// The leader could not commit it.
    #[error("the leader did not commit it: {0}")]
    Leader(#[from] CommitFailure),
}

/// Why a leader did not commit a batch (sent back to forwarding followers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum CommitFailure {
    /// The server that received it does not lead.
    #[error("not the leader")]
    NotLeader,
    /// Leadership moved while the entry was being replicated.
    #[error("leadership moved to {leader:?}")]
    LeaderChanged {
        /// The new leader, if known.
        leader: Option<NodeId>,
    },
    /// openraft refused the entry (a membership change in progress).
    #[error("the entry was refused by consensus")]
    Refused,
    /// The leader stopped (shutdown or a fatal error).
    #[error("the leader stopped")]
    Stopped,
}

impl CommitFailure {
    /// A short name for it (a metrics label).
    pub fn name(&self) -> &'static str {
        match self {
            CommitFailure::NotLeader => "not_leader",
            CommitFailure::LeaderChanged { .. } => "leader_changed",
            CommitFailure::Refused => "refused",
            CommitFailure::Stopped => "stopped",
        }
    }
}

/// Why a read index could not be had.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum NoQuorum {
    /// The server asked does not lead.
    #[error("not the leader")]
    NotLeader,
    /// A quorum did not confirm the leader in time.
    #[error("a quorum did not confirm the leader")]
    NotConfirmed,
    /// The leader stopped.
    #[error("the leader stopped")]
    Stopped,
    /// The leader could not be asked.
    #[error("the leader could not be asked")]
    Unreachable,
}
