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
use crate::replication::ReplicationError;
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
            return Err(ReplicationError::NoLeader("no leader is known".into()));
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
    let (read, _) = node
        .raft()
        .get_read_log_id()
        .await
        .map_err(|e| ReplicationError::NoQuorum(e.to_string()))?;
    Ok(read.map_or(0, |id| id.index))
}

/// Asks the leader at `addr`.
async fn remote(node: &RaftNode, addr: &str) -> Result<u64, ReplicationError> {
    let mut client = peer_client(node.channels.get(addr)?);
    let reply = client
        .read_index(Blob {
            payload: Vec::new(),
        })
        .await
        .map_err(|s| ReplicationError::NoQuorum(s.message().to_string()))?;
    let outcome: Result<u64, String> = postcard::from_bytes(&reply.into_inner().payload)?;
    outcome.map_err(ReplicationError::NoQuorum)
}
