//! Group commit on the leader: proposals queued while the previous log write
//! was in flight become one Raft entry.
//!
//! Owns the leader's single proposal queue. openraft writes (and fsyncs) one
//! client request at a time, so batching happens here: one task takes
//! everything queued (up to a count and a byte budget), appends it as one
//! [`Batch`], and reports the outcome to every proposer in it. Proposals keep
//! their queue order, so a session's pipelined writes stay in FIFO order.

use super::forward::ForwardReply;
use super::queue::{self, Held, QueueSender};
use super::state_machine::Waiters;
use super::types::{Batch, Proposal, Raft};
use crate::replication::{CommitFailure, ReplicationError};
use crate::txn::Txn;
use openraft::error::ClientWriteError;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Most proposals in one batch.
const MAX_PROPOSALS: usize = 4096;
/// Rough byte budget of one batch (data and paths).
const MAX_BYTES: usize = 4 << 20;
/// Batches handed to Raft and not yet committed. While they are in flight,
/// new proposals gather into the next batch instead of queueing one by one
/// inside Raft (which writes and fsyncs each request on its own).
const IN_FLIGHT: usize = 3;

/// Who to tell when a queued proposal could not be committed.
#[derive(Debug)]
pub enum Reply {
    /// A proposal of this server: its waiter (success is reported by apply).
    Local(Arc<Waiters>),
    /// A follower's proposal: the stream back to that follower.
    Forwarded(mpsc::Sender<ForwardReply>),
}

/// A proposal waiting for the next batch.
#[derive(Debug)]
pub struct Queued {
    /// The proposal.
    pub proposal: Proposal,
    /// Where its outcome goes.
    pub reply: Reply,
}

/// Starts the batching task for `raft` with a queue of at most `count`
/// proposals and `bytes` bytes; it stops when every sender is gone.
pub fn spawn(raft: Raft, count: usize, bytes: usize) -> QueueSender<Queued> {
    let (tx, rx) = queue::bounded(count, bytes);
    tokio::spawn(run(raft, rx));
    tx
}

/// About how many bytes a proposal's command holds.
pub fn txn_bytes(txn: &Txn) -> usize {
    64 + match txn {
        Txn::Create(c) => c.path.len() + c.data.as_ref().map_or(0, Vec::len),
        Txn::SetData { path, data, .. } => path.len() + data.as_ref().map_or(0, Vec::len),
        Txn::Multi(ops) => ops.iter().map(txn_bytes).sum(),
        Txn::QuotaEnforced(inner) => txn_bytes(inner),
        Txn::Delete { path, .. }
        | Txn::SetAcl { path, .. }
        | Txn::Check { path, .. }
        | Txn::DeleteContainer { path } => path.len(),
        Txn::CreateSession { .. } | Txn::CloseSession { .. } => 0,
    }
}

async fn run(raft: Raft, mut rx: mpsc::Receiver<Held<Queued>>) {
    let mut held: Option<Held<Queued>> = None;
    let slots = Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT));
    loop {
        let first = match held.take() {
            Some(q) => q,
            None => match rx.recv().await {
                Some(q) => q,
                None => return,
            },
        };
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let mut bytes = txn_bytes(&first.item.proposal.entry.txn);
        let mut queued = vec![first];
        while queued.len() < MAX_PROPOSALS {
            let Ok(next) = rx.try_recv() else { break };
            let size = txn_bytes(&next.item.proposal.entry.txn);
            if bytes + size > MAX_BYTES {
                held = Some(next);
                break;
            }
            bytes += size;
            queued.push(next);
        }
        let mut proposals = Vec::with_capacity(queued.len());
        let mut replies = Vec::with_capacity(queued.len());
        // The queue's byte budget is held until the batch is in Raft's hands.
        let mut permits = Vec::with_capacity(queued.len());
        for Held { item: q, permit } in queued {
            // A proposer of this server that stopped waiting was told the
            // outcome is unknown: its proposal must not reach the log now.
            if let Reply::Local(waiters) = &q.reply {
                if !waiters.is_awaited(q.proposal.token) {
                    metrics::counter!("corral_proposals_abandoned_total").increment(1);
                    continue;
                }
            }
            replies.push((q.proposal.token, q.reply));
            proposals.push(q.proposal);
            permits.push(permit);
        }
        if proposals.is_empty() {
            continue;
        }
        metrics::histogram!("corral_batch_proposals").record(proposals.len() as f64);
        let count = proposals.len() as u64;
        let handed = crate::clock::Clock::now(&crate::clock::SystemClock);
        let written = raft.client_write_ff(Batch { proposals }).await;
        drop(permits);
        match written {
            Ok(responder) => {
                tokio::spawn(async move {
                    let answer = responder.await;
                    let took = crate::clock::Clock::now(&crate::clock::SystemClock)
                        .saturating_duration_since(handed);
                    metrics::histogram!("corral_log_append_to_commit_seconds")
                        .record(took.as_secs_f64());
                    if matches!(answer, Ok(Ok(_))) {
                        metrics::counter!("corral_proposals_committed_total").increment(count);
                    }
                    let outcome = match answer {
                        Ok(Ok(written)) => Ok(written.log_id.index),
                        Ok(Err(ClientWriteError::ForwardToLeader(to))) => {
                            Err(CommitFailure::LeaderChanged {
                                leader: to.leader_id,
                            })
                        }
                        Ok(Err(ClientWriteError::ChangeMembershipError(_))) => {
                            Err(CommitFailure::Refused)
                        }
                        Err(_) => Err(CommitFailure::Stopped),
                    };
                    drop(slot);
                    report(replies, outcome).await;
                });
            }
            Err(_fatal) => report(replies, Err(CommitFailure::Stopped)).await,
        }
    }
}

/// Tells every proposer of a batch its outcome: followers always (they
/// track what is in flight), local proposers only on failure (apply answers
/// them on success).
async fn report(replies: Vec<(u64, Reply)>, outcome: Result<u64, CommitFailure>) {
    if let Err(failure) = &outcome {
        metrics::counter!("corral_proposals_failed_total", "reason" => failure.name())
            .increment(replies.len() as u64);
    }
    for (token, reply) in replies {
        match reply {
            Reply::Local(waiters) => {
                if let Err(failure) = outcome {
                    waiters.finish(token, Err(ReplicationError::Unknown(failure.into())));
                }
            }
            Reply::Forwarded(tx) => {
                let _ = tx.send(ForwardReply { token, outcome }).await;
            }
        }
    }
}
