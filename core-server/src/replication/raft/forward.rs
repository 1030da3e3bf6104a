//! Follower-to-leader traffic: forwarded writes and session reports.
//!
//! Owns the ordered write stream a follower keeps open to the current leader.
//! Proposals go out in the order they were submitted and the leader appends
//! them in arrival order, so a session's pipelined writes keep their FIFO
//! order through a follower. When the stream breaks, every proposal sent on it
//! that the leader has not confirmed ends as "outcome unknown" (the client
//! sees ConnectionLoss, as with ZooKeeper), never as a failure; so does every
//! proposal the old leader has not answered when a new leader is elected.

use super::network::{channel, peer_client};
use super::peer_auth::PeerDialer;
use super::types::{NodeId, PeerNode, Proposal};
use super::RaftNode;
use crate::replication::{CommitFailure, NoLeader, ReplicationError, Unknown};
use futures::StreamExt;
use parking_lot::Mutex;
use proto::peer::Blob;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

/// The leader's answer to one forwarded proposal.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ForwardReply {
    /// The proposer's token.
    pub token: u64,
    /// The log index it was committed at, or why the leader could not commit it.
    pub outcome: Result<u64, CommitFailure>,
}

/// Channels to peers, by address, reused across calls.
#[derive(Debug)]
pub struct Channels {
    open: Mutex<HashMap<String, Channel>>,
    dialer: PeerDialer,
}

impl Channels {
    /// No channels yet; those opened will dial with `dialer`.
    pub fn new(dialer: PeerDialer) -> Channels {
        Channels {
            open: Mutex::new(HashMap::new()),
            dialer,
        }
    }

    /// A channel to `addr` (dialed lazily on first use); `None` if `addr`
    /// is not a valid address.
    pub fn get(&self, addr: &str) -> Option<Channel> {
        let mut open = self.open.lock();
        if let Some(c) = open.get(addr) {
            return Some(c.clone());
        }
        let c = channel(addr, &self.dialer).ok()?;
        open.insert(addr.to_string(), c.clone());
        Some(c)
    }
}

/// Waits (at most `limit`) until some leader is known.
pub async fn wait_for_leader(node: &RaftNode, limit: Duration) -> Option<(NodeId, PeerNode)> {
    if let Some(leader) = node.leader() {
        return Some(leader);
    }
    let mut metrics = node.raft().metrics();
    let _ = tokio::time::timeout(limit, metrics.wait_for(|m| m.current_leader.is_some())).await;
    node.leader()
}

struct Link {
    leader: NodeId,
    tx: mpsc::Sender<Blob>,
    /// Tokens sent and not answered; `None` once the link ended (its
    /// tokens were then ended as unknown, and nothing more may be sent).
    in_flight: Arc<Mutex<Option<HashSet<u64>>>>,
    closed: CancellationToken,
}

/// Sends proposals that reach a non-leader to the leader, in order.
///
/// A proposal is only sent on a stream the leader has accepted; while no
/// leader can be reached (an election in progress, a dead leader not yet
/// replaced) it waits, up to the write timeout, since nothing was sent and a
/// new leader can still take it.
pub(super) async fn run_forwarder(
    node: Weak<RaftNode>,
    mut rx: mpsc::Receiver<super::queue::Held<Proposal>>,
) {
    let mut link: Option<Link> = None;
    // The queue's byte budget is held until the proposal has been sent.
    while let Some(super::queue::Held {
        item: proposal,
        permit: _permit,
    }) = rx.recv().await
    {
        let Some(node) = node.upgrade() else { return };
        let token = proposal.token;
        let attempts = async {
            let mut proposal = Some(proposal);
            while let Some(p) = proposal.take() {
                proposal = forward_one(&node, &mut link, p).await;
            }
        };
        if tokio::time::timeout(node.write_timeout(), attempts)
            .await
            .is_err()
        {
            node.waiters()
                .finish(token, Err(ReplicationError::NoLeader(NoLeader::NotInTime)));
        }
    }
}

/// Sends one proposal; gives it back if it should be tried again (it was not
/// sent). The caller bounds the attempts by the write timeout.
async fn forward_one(
    node: &RaftNode,
    link: &mut Option<Link>,
    proposal: Proposal,
) -> Option<Proposal> {
    let token = proposal.token;
    let Some((leader, peer)) = wait_for_leader(node, node.write_timeout()).await else {
        node.waiters()
            .finish(token, Err(ReplicationError::NoLeader(NoLeader::Unknown)));
        return None;
    };
    if leader == node.id() {
        node.write_on_leader(proposal).await;
        return None;
    }
    let stale = link
        .as_ref()
        .is_none_or(|l| l.leader != leader || l.closed.is_cancelled());
    if stale {
        *link = match open_link(node, leader, &peer).await {
            Ok(l) => Some(l),
            Err(error) => {
                tracing::debug!(%error, leader, "leader not reachable; retrying");
                // Not sent: wait a little for a new leader, then retry.
                let mut metrics = node.raft().metrics();
                let _ = tokio::time::timeout(
                    Duration::from_millis(50),
                    metrics.wait_for(|m| m.current_leader != Some(leader)),
                )
                .await;
                return Some(proposal);
            }
        };
    }
    // A proposer that stopped waiting (its write timed out while no leader
    // could be reached, or its connection closed) was told the outcome is
    // unknown: a proposal it never saw sent must not be sent now.
    if !node.waiters().is_awaited(token) {
        metrics::counter!("corral_proposals_abandoned_total").increment(1);
        return None;
    }
    let current = link.as_ref()?;
    let payload = match postcard::to_allocvec(&proposal) {
        Ok(p) => p,
        Err(e) => {
            node.waiters().finish(token, Err(e.into()));
            return None;
        }
    };
    // Registered before it is sent, so the link's end (which takes the set)
    // ends it as unknown; a link that already ended takes nothing, and the
    // proposal, not sent, is tried again on a new one.
    let registered = match current.in_flight.lock().as_mut() {
        Some(set) => set.insert(token),
        None => false,
    };
    if !registered {
        *link = None;
        return Some(proposal);
    }
    if current.tx.send(Blob::new(payload)).await.is_err() {
        let unsent = current
            .in_flight
            .lock()
            .as_mut()
            .is_some_and(|set| set.remove(&token));
        *link = None;
        // Not sent: try again, unless the link's end already answered it.
        return unsent.then_some(proposal);
    }
    None
}

/// Opens the ordered proposal stream to the leader and waits until the
/// leader has accepted it (so a failure here means nothing was sent).
async fn open_link(
    node: &RaftNode,
    leader: NodeId,
    peer: &PeerNode,
) -> Result<Link, ReplicationError> {
    let (tx, rx) = mpsc::channel::<Blob>(4096);
    let in_flight = Arc::new(Mutex::new(Some(HashSet::new())));
    let closed = CancellationToken::new();
    let no_leader = |reason| ReplicationError::NoLeader(reason);
    let channel = node
        .channels
        .get(&peer.addr)
        .ok_or(no_leader(NoLeader::BadAddress { leader }))?;
    let mut client = peer_client(channel);
    let response = tokio::time::timeout(
        node.write_timeout().min(Duration::from_secs(1)),
        client.forward(ReceiverStream::new(rx)),
    )
    .await
    .map_err(|_| no_leader(NoLeader::NotInTime))?
    .map_err(|status| {
        no_leader(NoLeader::Refused {
            leader,
            code: status.code(),
        })
    })?;
    let mut replies = response.into_inner();
    let waiters = node.waiters().clone();
    let (task_in_flight, task_closed) = (in_flight.clone(), closed.clone());
    let mut metrics = node.raft().metrics();
    tokio::spawn(async move {
        let mut why = Unknown::LinkLost;
        loop {
            // Both arms are cancellation-safe: `Streaming` keeps a partly
            // received message, and `wait_for` looks at the current value.
            let blob = tokio::select! {
                next = replies.next() => match next {
                    Some(Ok(blob)) => blob,
                    _ => break,
                },
                // A new leader was elected: whatever the old one has not
                // answered ends as unknown now, not at its timeout (the old
                // leader may be paused, its connection still open).
                _ = metrics.wait_for(|m| m.current_leader != Some(leader)) => {
                    why = Unknown::LeaderChanged;
                    break;
                }
            };
            let Some(reply) = blob
                .payload()
                .ok()
                .and_then(|p| postcard::from_bytes::<ForwardReply>(p).ok())
            else {
                break;
            };
            if let Some(set) = task_in_flight.lock().as_mut() {
                set.remove(&reply.token);
            }
            if let Err(failure) = reply.outcome {
                waiters.finish(reply.token, Err(ReplicationError::Unknown(failure.into())));
            }
        }
        task_closed.cancel();
        let lost = task_in_flight.lock().take().unwrap_or_default();
        for token in lost {
            waiters.finish(token, Err(ReplicationError::Unknown(why)));
        }
    });
    Ok(Link {
        leader,
        tx,
        in_flight,
        closed,
    })
}

/// Sends the leader the sessions kept alive on this server.
pub(super) async fn report_sessions(
    node: &RaftNode,
    sessions: Vec<i64>,
) -> Result<(), ReplicationError> {
    let Some((leader, peer)) = node.leader() else {
        return Err(ReplicationError::NoLeader(NoLeader::Unknown));
    };
    if leader == node.id() {
        node.note_reported(sessions);
        return Ok(());
    }
    let channel = node
        .channels
        .get(&peer.addr)
        .ok_or(ReplicationError::NoLeader(NoLeader::BadAddress { leader }))?;
    let mut client = peer_client(channel);
    let payload = postcard::to_allocvec(&sessions)?;
    tokio::time::timeout(
        node.write_timeout(),
        client.report_sessions(Blob::new(payload)),
    )
    .await
    .map_err(|_| ReplicationError::Timeout)?
    .map_err(|s| {
        ReplicationError::NoLeader(NoLeader::Refused {
            leader,
            code: s.code(),
        })
    })?;
    Ok(())
}
