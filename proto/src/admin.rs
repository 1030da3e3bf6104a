//! The vocabulary of cluster administration (`corral admin`, the `client`
//! crate's `AdminClient`): commands, their typed refusals, and a server's
//! view of the cluster. Carried postcard-encoded in the peer service's
//! `Admin` call; the types live here so that servers and clients share them
//! without depending on each other.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A server's id in the cluster (`corral serve --id N`).
pub type NodeId = u64;

/// How to reach a member: its peer address (Raft and forwarding, served on
/// its peer listener only), and the client addresses it advertises for
/// connect strings: native API and ZooKeeper protocol, if it has them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerNode {
    /// `host:port` of the peer listener (what other servers dial).
    pub addr: String,
    /// `host:port` of the ZooKeeper-protocol listener.
    pub zk_addr: Option<String>,
    /// `host:port` of the native API listener.
    pub client_addr: Option<String>,
}

impl PeerNode {
    /// A member reached by peers at `addr`, with no client addresses.
    pub fn at(addr: impl Into<String>) -> PeerNode {
        PeerNode {
            addr: addr.into(),
            ..PeerNode::default()
        }
    }
}

impl std::fmt::Display for PeerNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "peer {}", self.addr)?;
        if let Some(client) = &self.client_addr {
            write!(f, " client {client}")?;
        }
        if let Some(zk) = &self.zk_addr {
            write!(f, " zk {zk}")?;
        }
        Ok(())
    }
}

/// An operator command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AdminRequest {
    /// What this server knows of the cluster.
    Status,
    /// Bootstrap an empty cluster with these voters (on one pristine server).
    Initialize {
        /// The voters and their addresses.
        members: BTreeMap<NodeId, PeerNode>,
    },
    /// Add a non-voting member (an observer) and wait until it caught up.
    AddLearner {
        /// Its id.
        id: NodeId,
        /// Its addresses.
        node: PeerNode,
    },
    /// Add a voting member: as a learner first, promoted once caught up.
    AddVoter {
        /// Its id.
        id: NodeId,
        /// Its addresses.
        node: PeerNode,
    },
    /// Remove a member (voter or learner).
    Remove {
        /// Its id.
        id: NodeId,
    },
}

/// The answer to an operator command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AdminReply {
    /// The command succeeded; the cluster as the answering server sees it.
    Done(ClusterStatus),
    /// The command was refused or could not be carried out.
    Failed(AdminFailure),
}

/// Why an operator command was not carried out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AdminFailure {
    /// Bootstrap refused: this server already has a log or a membership.
    #[error("the cluster is already initialized (this server has a log or a membership)")]
    AlreadyInitialized,
    /// Bootstrap refused: the voters listed do not include this server.
    #[error("this server (id {id}) is not among the voters listed")]
    NotInMembers {
        /// The answering server's id.
        id: NodeId,
    },
    /// No leader is known to carry out a membership change.
    #[error("no leader is known; try again once the cluster has elected one")]
    NoLeader,
    /// The leader could not be reached to carry out the change.
    #[error("the leader (id {leader}) could not be reached")]
    LeaderUnreachable {
        /// The leader's id.
        leader: NodeId,
    },
    /// The leader changed while the change was under way; it may or may not
    /// have been made (look at the status, then try again).
    #[error("the leader changed during the change; its outcome is unknown")]
    LeaderChanged,
    /// The previous membership change did not commit in time.
    #[error("the previous membership change has not committed yet")]
    ChangeInProgress,
    /// The change would leave the cluster without voters.
    #[error("the change would leave no voters")]
    EmptyMembership,
    /// The member named is not in the cluster.
    #[error("server {id} is not a member")]
    UnknownMember {
        /// The id asked for.
        id: NodeId,
    },
    /// The server is stopping, or consensus failed on it.
    #[error("the server is stopping")]
    Stopped,
    /// The caller is not an administrator (ZooKeeper's NoAuth): nothing
    /// was changed.
    #[error("NoAuth: operator commands need an administrator (the super user's digest, or an identity in admin_identities)")]
    NoAuth,
    /// A standalone server has no cluster to administer.
    #[error("this server is standalone: it has no cluster to administer")]
    Standalone,
}

/// One server's view of the cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterStatus {
    /// The answering server's id.
    pub id: NodeId,
    /// Its Raft role: Leader, Follower, Candidate or Learner.
    pub role: String,
    /// The current term.
    pub term: u64,
    /// The leader it follows, if any.
    pub leader: Option<NodeId>,
    /// Its last log index.
    pub last_log_index: u64,
    /// Its last applied index.
    pub last_applied: u64,
    /// The last index covered by its newest snapshot.
    pub snapshot_index: u64,
    /// The members of the newest membership it knows.
    pub members: Vec<MemberStatus>,
    /// The zxid of its tree.
    pub zxid: i64,
    /// A digest of its whole tree: equal on servers that applied the same
    /// entries (compare after the cluster settles).
    pub digest: u64,
}

/// A member as listed by [`ClusterStatus`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberStatus {
    /// Its id.
    pub id: NodeId,
    /// Its addresses.
    pub node: PeerNode,
    /// True for voters, false for learners (observers).
    pub voter: bool,
}

impl ClusterStatus {
    /// The ZooKeeper connect string of the members that have a ZooKeeper port.
    pub fn zk_connect_string(&self) -> String {
        let addrs: Vec<&str> = self
            .members
            .iter()
            .filter_map(|m| m.node.zk_addr.as_deref())
            .collect();
        addrs.join(",")
    }

    /// The native connect string of the members that advertise a native
    /// client address.
    pub fn connect_string(&self) -> String {
        let addrs: Vec<&str> = self
            .members
            .iter()
            .filter_map(|m| m.node.client_addr.as_deref())
            .collect();
        addrs.join(",")
    }
}
