//! The read index: the leader's commit index, confirmed by a quorum, that a
//! linearizable read (or `sync`) must see applied first.
//!
//! Asking for it is idempotent, so unlike a forwarded write it is simply
//! asked again, of whichever server leads by then, when a leader is lost or
//! replaced while the request is out; only the write timeout ends it.

use super::forward::wait_for_leader;
use super::network::peer_client;
use super::types::NodeId;
use super::RaftNode;
use crate::clock::{Clock, SystemClock};
use crate::replication::{NoLeader, NoQuorum, ReplicationError};
use openraft::error::{CheckIsLeaderError, RaftError};
use proto::peer::Blob;
use std::time::Duration;
use tokio::time::Instant;

fn now() -> Instant {
    Instant::from_std(SystemClock.now())
}

/// The read index, from this server if it leads or from the leader;
/// tried again across leader changes until the write timeout.
pub(super) async fn read_index(node: &RaftNode) -> Result<u64, ReplicationError> {
    let deadline = now() + node.write_timeout();
    loop {
        let remaining = deadline.saturating_duration_since(now());
        let Some((leader, peer)) = wait_for_leader(node, remaining).await else {
            return Err(ReplicationError::NoLeader(NoLeader::Unknown));
        };
        let attempt = async {
            if leader == node.id() {
                local(node).await
            } else {
                remote(node, &peer.addr).await
            }
        };
        let mut metrics = node.raft().metrics();
        let error = tokio::select! {
            outcome = attempt => match outcome {
                Ok(index) => return Ok(index),
                Err(error) => error,
            },
            // The leader asked was replaced: ask the new one.
            _ = metrics.wait_for(|m| m.current_leader != Some(leader)) => continue,
            _ = tokio::time::sleep_until(deadline) => return Err(ReplicationError::Timeout),
        };
        tracing::debug!(%error, leader, "read index refused; asking again");
        if !wait_for_change(node, leader, deadline).await {
            return Err(error);
        }
    }
}

/// After a refusal: waits until a different leader is known (or briefly, in
/// case the same one recovers); false once the deadline passed.
async fn wait_for_change(node: &RaftNode, leader: NodeId, deadline: Instant) -> bool {
    let mut metrics = node.raft().metrics();
    let pause = Duration::from_millis(50).min(deadline.saturating_duration_since(now()));
    let _ = tokio::time::timeout(
        pause,
        metrics.wait_for(|m| m.current_leader.is_some_and(|l| l != leader)),
    )
    .await;
    now() < deadline
}

/// On the leader: a quorum confirms it still leads.
pub(super) async fn local(node: &RaftNode) -> Result<u64, ReplicationError> {
    let (read, _) = node.raft().get_read_log_id().await.map_err(|e| {
        ReplicationError::NoQuorum(match e {
            RaftError::APIError(CheckIsLeaderError::ForwardToLeader(_)) => NoQuorum::NotLeader,
            RaftError::APIError(CheckIsLeaderError::QuorumNotEnough(_)) => NoQuorum::NotConfirmed,
            RaftError::Fatal(_) => NoQuorum::Stopped,
        })
    })?;
    Ok(read.map_or(0, |id| id.index))
}

/// Asks the leader at `addr`.
async fn remote(node: &RaftNode, addr: &str) -> Result<u64, ReplicationError> {
    let channel = node
        .channels
        .get(addr)
        .ok_or(ReplicationError::NoQuorum(NoQuorum::Unreachable))?;
    let mut client = peer_client(channel);
    let reply = client
        .read_index(Blob::new(Vec::new()))
        .await
        .map_err(|_| ReplicationError::NoQuorum(NoQuorum::Unreachable))?;
    let outcome: Result<u64, NoQuorum> = postcard::from_bytes(reply.get_ref().payload()?)?;
    outcome.map_err(ReplicationError::NoQuorum)
}
