//! Operator commands: cluster status, bootstrap, adding and removing members.
//!
//! Owns the vocabulary of `corral admin` and its handling. Membership changes
//! run on the leader (a follower forwards them there): a new voter is first
//! added as a learner and caught up, then promoted; a learner that is never
//! promoted is an observer (serves reads, forwards writes, does not vote).

use super::forward::wait_for_leader;
use super::network::peer_client;
use super::types::{NodeId, PeerNode};
use super::RaftNode;
use openraft::ChangeMembers;
use proto::peer::Blob;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

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
    /// The command failed, and why.
    Failed(String),
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
    /// Its last applied index (= its zxid).
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

    /// The native connect string of all members.
    pub fn connect_string(&self) -> String {
        let addrs: Vec<&str> = self.members.iter().map(|m| m.node.addr.as_str()).collect();
        addrs.join(",")
    }
}

/// Why an admin call to a server failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The server could not be reached or refused the call.
    #[error("cannot reach {addr}: {reason}")]
    Unreachable {
        /// The server's address.
        addr: String,
        /// What went wrong.
        reason: String,
    },
    /// The reply did not decode.
    #[error("undecodable reply from {addr}")]
    Decode {
        /// The server's address.
        addr: String,
    },
}

/// Sends an operator command to the server at `addr` (`host:port`).
pub async fn call(addr: &str, request: &AdminRequest) -> Result<AdminReply, AdminError> {
    let unreachable = |reason: String| AdminError::Unreachable {
        addr: addr.to_string(),
        reason,
    };
    let channel = super::network::channel(addr).map_err(|e| unreachable(e.to_string()))?;
    let payload = postcard::to_allocvec(request).map_err(|e| unreachable(e.to_string()))?;
    let reply = peer_client(channel)
        .admin(Blob { payload })
        .await
        .map_err(|s| unreachable(s.message().to_string()))?;
    postcard::from_bytes(&reply.into_inner().payload).map_err(|_| AdminError::Decode {
        addr: addr.to_string(),
    })
}

pub(super) fn status(node: &RaftNode) -> ClusterStatus {
    let metrics = node.raft().metrics();
    let m = metrics.borrow();
    let membership = m.membership_config.membership();
    let voters: BTreeSet<NodeId> = membership.voter_ids().collect();
    let members = membership
        .nodes()
        .map(|(id, peer)| MemberStatus {
            id: *id,
            node: peer.clone(),
            voter: voters.contains(id),
        })
        .collect();
    let (zxid, digest) = node.tree_digest();
    ClusterStatus {
        zxid,
        digest,
        id: node.id(),
        role: format!("{:?}", m.state),
        term: m.current_term,
        leader: m.current_leader,
        last_log_index: m.last_log_index.unwrap_or(0),
        last_applied: m.last_applied.map_or(0, |id| id.index),
        snapshot_index: m.snapshot.map_or(0, |id| id.index),
        members,
    }
}

pub(super) async fn handle(node: &RaftNode, request: AdminRequest) -> AdminReply {
    let outcome = match request {
        AdminRequest::Status => Ok(None),
        AdminRequest::Initialize { members } => node
            .raft()
            .initialize(members)
            .await
            .map(|_| None)
            .map_err(|e| e.to_string()),
        change => on_leader(node, change).await,
    };
    match outcome {
        // A change carried out by the leader is answered with the leader's
        // view: this server may not have applied it yet.
        Ok(leader_view) => AdminReply::Done(leader_view.unwrap_or_else(|| status(node))),
        Err(reason) => AdminReply::Failed(reason),
    }
}

/// How long a membership change waits for the previous one to commit.
const MEMBERSHIP_WAIT: Duration = Duration::from_secs(10);

/// Waits until the membership in effect is committed (applied here), so a
/// change issued right after a cluster starts, or right after another
/// change, is carried out instead of refused as "already undergoing a
/// configuration change".
async fn membership_settled(node: &RaftNode, timeout: Duration) -> Result<(), String> {
    node.raft()
        .wait(Some(timeout))
        .metrics(
            |m| *m.membership_config.log_id() <= m.last_applied,
            "the membership in effect is committed",
        )
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Runs a membership change here if this server leads, else on the leader
/// (then with the leader's view of the cluster after it).
async fn on_leader(node: &RaftNode, change: AdminRequest) -> Result<Option<ClusterStatus>, String> {
    if !node.is_leader() {
        let (_, leader) = wait_for_leader(node, Duration::from_secs(5))
            .await
            .ok_or("no leader is known")?;
        return match call(&leader.addr, &change).await {
            Ok(AdminReply::Done(view)) => Ok(Some(view)),
            Ok(AdminReply::Failed(reason)) => Err(reason),
            Err(e) => Err(e.to_string()),
        };
    }
    let raft = node.raft();
    membership_settled(node, MEMBERSHIP_WAIT).await?;
    let done = match change {
        AdminRequest::AddLearner { id, node: peer } => raft
            .add_learner(id, peer, true)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string()),
        AdminRequest::AddVoter { id, node: peer } => {
            raft.add_learner(id, peer, true)
                .await
                .map_err(|e| e.to_string())?;
            membership_settled(node, MEMBERSHIP_WAIT).await?;
            raft.change_membership(ChangeMembers::AddVoterIds(BTreeSet::from([id])), false)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        }
        AdminRequest::Remove { id } => {
            let is_voter = status(node).members.iter().any(|m| m.id == id && m.voter);
            let change = if is_voter {
                ChangeMembers::RemoveVoters(BTreeSet::from([id]))
            } else {
                ChangeMembers::RemoveNodes(BTreeSet::from([id]))
            };
            raft.change_membership(change, false)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        }
        AdminRequest::Status | AdminRequest::Initialize { .. } => Ok(()),
    };
    done.map(|()| None)
}
