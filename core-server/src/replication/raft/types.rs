//! The Raft type configuration and the payloads Corral puts in the Raft log.

use crate::txn::Entry;
use serde::{Deserialize, Serialize};
use std::io::Cursor;

pub use proto::admin::{NodeId, PeerNode};

/// One proposed znode entry, and who proposed it so that server can answer
/// its client once it has applied the entry itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    /// The server that proposed the entry.
    pub origin: NodeId,
    /// A random number drawn when that server process started: tokens of an
    /// earlier run of the same server must not finish this run's waiters.
    pub incarnation: u64,
    /// The proposer's token for its waiting client (unique within a run).
    pub token: u64,
    /// The entry itself.
    pub entry: Entry,
}

impl std::fmt::Display for Proposal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "proposal {}#{}", self.origin, self.token)
    }
}

/// What one normal Raft log entry carries: the proposals the leader took
/// from its queue at once (group commit: one log write and one replication
/// round for all of them). Each gets its own zxid when applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch {
    /// The proposals, in the order they were submitted.
    pub proposals: Vec<Proposal>,
}

impl std::fmt::Display for Batch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "batch of {}", self.proposals.len())
    }
}

openraft::declare_raft_types!(
    /// Corral's Raft types: batches of znode entries as app data, no response
    /// payload (proposers learn outcomes from their own apply), snapshots as bytes.
    pub TypeConfig:
        D = Batch,
        R = (),
        NodeId = NodeId,
        Node = PeerNode,
        Entry = openraft::Entry<TypeConfig>,
        SnapshotData = Cursor<Vec<u8>>,
        AsyncRuntime = super::runtime::CorralRuntime,
);

/// The Raft handle with Corral's types.
pub type Raft = openraft::Raft<TypeConfig>;
/// A Raft log id with Corral's types.
pub type LogId = openraft::LogId<NodeId>;
/// A Raft log entry with Corral's types.
pub type LogEntry = openraft::Entry<TypeConfig>;
/// Raft storage errors with Corral's types.
pub type StorageError = openraft::StorageError<NodeId>;
