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
use openraft::error::{ChangeMembershipError, ClientWriteError, InitializeError, RaftError};
use openraft::ChangeMembers;
use proto::peer::Blob;
use std::collections::BTreeSet;
use std::time::Duration;

pub use proto::admin::{AdminFailure, AdminReply, AdminRequest, ClusterStatus, MemberStatus};

/// Sends `request` to the server at `addr` and decodes its reply (to carry a
/// change out on the leader).
async fn call(node: &RaftNode, addr: &str, request: &AdminRequest) -> Option<AdminReply> {
    let channel = node.channels.get(addr)?;
    let payload = postcard::to_allocvec(request).ok()?;
    let reply = peer_client(channel).admin(Blob::new(payload)).await.ok()?;
    postcard::from_bytes(reply.get_ref().payload().ok()?).ok()
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
            .map_err(|e| match e {
                RaftError::APIError(InitializeError::NotAllowed(_)) => {
                    AdminFailure::AlreadyInitialized
                }
                RaftError::APIError(InitializeError::NotInMembers(_)) => {
                    AdminFailure::NotInMembers { id: node.id() }
                }
                RaftError::Fatal(_) => AdminFailure::Stopped,
            }),
        change => on_leader(node, change).await,
    };
    match outcome {
        // A change carried out by the leader is answered with the leader's
        // view: this server may not have applied it yet.
        Ok(leader_view) => AdminReply::Done(leader_view.unwrap_or_else(|| status(node))),
        Err(failure) => AdminReply::Failed(failure),
    }
}

/// How long a membership change waits for the previous one to commit.
const MEMBERSHIP_WAIT: Duration = Duration::from_secs(10);

/// Waits until the membership in effect is committed (applied here), so a
/// change issued right after a cluster starts, or right after another
/// change, is carried out instead of refused as "already undergoing a
/// configuration change".
async fn membership_settled(node: &RaftNode, timeout: Duration) -> Result<(), AdminFailure> {
    node.raft()
        .wait(Some(timeout))
        .metrics(
            |m| *m.membership_config.log_id() <= m.last_applied,
            "the membership in effect is committed",
        )
        .await
        .map(|_| ())
        .map_err(|e| match e {
            openraft::metrics::WaitError::Timeout(..) => AdminFailure::ChangeInProgress,
            openraft::metrics::WaitError::ShuttingDown => AdminFailure::Stopped,
        })
}

/// The typed refusal for a failed membership change.
fn change_failure(error: RaftError<NodeId, ClientWriteError<NodeId, PeerNode>>) -> AdminFailure {
    match error {
        RaftError::APIError(ClientWriteError::ForwardToLeader(_)) => AdminFailure::LeaderChanged,
        RaftError::APIError(ClientWriteError::ChangeMembershipError(e)) => match e {
            ChangeMembershipError::InProgress(_) => AdminFailure::ChangeInProgress,
            ChangeMembershipError::EmptyMembership(_) => AdminFailure::EmptyMembership,
            ChangeMembershipError::LearnerNotFound(e) => {
                AdminFailure::UnknownMember { id: e.node_id }
            }
        },
        RaftError::Fatal(_) => AdminFailure::Stopped,
    }
}

/// Runs a membership change here if this server leads, else on the leader
/// (then with the leader's view of the cluster after it).
async fn on_leader(
    node: &RaftNode,
    change: AdminRequest,
) -> Result<Option<ClusterStatus>, AdminFailure> {
    if !node.is_leader() {
        let (leader, peer) = wait_for_leader(node, Duration::from_secs(5))
            .await
            .ok_or(AdminFailure::NoLeader)?;
        return match call(node, &peer.addr, &change).await {
            Some(AdminReply::Done(view)) => Ok(Some(view)),
            Some(AdminReply::Failed(failure)) => Err(failure),
            None => Err(AdminFailure::LeaderUnreachable { leader }),
        };
    }
    let raft = node.raft();
    membership_settled(node, MEMBERSHIP_WAIT).await?;
    let done = match change {
        AdminRequest::AddLearner { id, node: peer } => raft
            .add_learner(id, peer, true)
            .await
            .map(|_| ())
            .map_err(change_failure),
        AdminRequest::AddVoter { id, node: peer } => {
            raft.add_learner(id, peer, true)
                .await
                .map_err(change_failure)?;
            membership_settled(node, MEMBERSHIP_WAIT).await?;
            raft.change_membership(ChangeMembers::AddVoterIds(BTreeSet::from([id])), false)
                .await
                .map(|_| ())
                .map_err(change_failure)
        }
        AdminRequest::Remove { id } => {
            let is_voter = status(node).members.iter().any(|m| m.id == id && m.voter);
            let change = if is_voter {
                ChangeMembers::RemoveVoters(BTreeSet::from([id]))
            } else {
                ChangeMembers::RemoveNodes(BTreeSet::from([id]))
            };
            if !status(node).members.iter().any(|m| m.id == id) {
                return Err(AdminFailure::UnknownMember { id });
            }
            raft.change_membership(change, false)
                .await
                .map(|_| ())
                .map_err(change_failure)
        }
        AdminRequest::Status | AdminRequest::Initialize { .. } => Ok(()),
    };
    done.map(|()| None)
}
