//! The server side of the internal `Peer` gRPC service.
//!
//! Owns decoding peer requests and handing them to openraft or to this
//! server's [`RaftNode`]: Raft RPCs, forwarded writes (appended in arrival
//! order), read indexes, session reports and operator commands.

use super::forward::ForwardReply;
use super::network::MAX_PEER_MESSAGE;
use super::types::{Proposal, TypeConfig};
use super::RaftNode;
use crate::replication::{CommitFailure, NoQuorum, ReplicationError};
use futures::StreamExt;
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, VoteRequest,
};
use proto::peer::peer_server::{Peer, PeerServer};
use proto::peer::Blob;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status, Streaming};

/// The peer service of one server.
#[derive(Debug, Clone)]
pub struct PeerApi {
    node: Arc<RaftNode>,
    stop: CancellationToken,
}

impl PeerApi {
    /// Serves peers on behalf of `node`; open streams end when `stop` is
    /// cancelled (so a graceful shutdown does not wait for peers).
    pub fn new(node: Arc<RaftNode>, stop: CancellationToken) -> Self {
        PeerApi { node, stop }
    }

    /// The tonic service, with Corral's message limits.
    pub fn into_server(self) -> PeerServer<PeerApi> {
        PeerServer::new(self)
            .max_decoding_message_size(MAX_PEER_MESSAGE)
            .max_encoding_message_size(MAX_PEER_MESSAGE)
    }
}

/// A peer's request, if it is of this build's format and decodes.
fn decode<T: DeserializeOwned>(blob: &Blob) -> Result<T, Status> {
    let payload = blob.payload().map_err(|e| {
        tracing::error!(%e, "a peer of another release: message refused");
        Status::failed_precondition(e.to_string())
    })?;
    postcard::from_bytes(payload)
        .map_err(|e| Status::invalid_argument(format!("undecodable peer message: {e}")))
}

fn encode<T: Serialize>(value: &T) -> Result<Response<Blob>, Status> {
    postcard::to_allocvec(value)
        .map(|payload| Response::new(Blob::new(payload)))
        .map_err(|e| Status::internal(format!("cannot encode reply: {e}")))
}

#[tonic::async_trait]
impl Peer for PeerApi {
    async fn append_entries(&self, request: Request<Blob>) -> Result<Response<Blob>, Status> {
        let via = request.remote_addr();
        let rpc: AppendEntriesRequest<TypeConfig> = decode(request.get_ref())?;
        let contact = self.node.leader_contact(via, &rpc.vote);
        let reply = self.node.raft().append_entries(rpc).await;
        contact.end(matches!(&reply, Ok(r) if !matches!(r, AppendEntriesResponse::HigherVote(_))));
        encode(&reply)
    }

    async fn vote(&self, request: Request<Blob>) -> Result<Response<Blob>, Status> {
        let rpc: VoteRequest<u64> = decode(request.get_ref())?;
        encode(&self.node.raft().vote(rpc).await)
    }

    async fn install_snapshot(&self, request: Request<Blob>) -> Result<Response<Blob>, Status> {
        let via = request.remote_addr();
        let rpc: InstallSnapshotRequest<TypeConfig> = decode(request.get_ref())?;
        let contact = self.node.leader_contact(via, &rpc.vote);
        let reply = self.node.raft().install_snapshot(rpc).await;
        contact.end(reply.is_ok());
        encode(&reply)
    }

    type ForwardStream = ReceiverStream<Result<Blob, Status>>;

    async fn forward(
        &self,
        request: Request<Streaming<Blob>>,
    ) -> Result<Response<Self::ForwardStream>, Status> {
        let mut incoming = request.into_inner();
        let (tx, rx) = mpsc::channel(4096);
        let (reply_tx, mut reply_rx) = mpsc::channel::<ForwardReply>(4096);
        let node = self.node.clone();
        let out = tx.clone();
        let stop = self.stop.clone();
        tokio::spawn(async move {
            loop {
                let reply = tokio::select! {
                    _ = stop.cancelled() => return,
                    reply = reply_rx.recv() => match reply {
                        Some(reply) => reply,
                        None => return,
                    },
                };
                let Ok(payload) = postcard::to_allocvec(&reply) else {
                    continue;
                };
                if out.send(Ok(Blob::new(payload))).await.is_err() {
                    return;
                }
            }
        });
        let stop = self.stop.clone();
        tokio::spawn(async move {
            loop {
                let blob = tokio::select! {
                    _ = stop.cancelled() => return,
                    next = incoming.next() => match next {
                        Some(Ok(blob)) => blob,
                        _ => return,
                    },
                };
                let proposal = match decode::<Proposal>(&blob) {
                    Ok(proposal) => proposal,
                    Err(status) => {
                        let _ = tx.send(Err(status)).await;
                        return;
                    }
                };
                let token = proposal.token;
                if !node.is_leader() {
                    let outcome = Err(CommitFailure::NotLeader);
                    let _ = reply_tx.send(ForwardReply { token, outcome }).await;
                    continue;
                }
                if !node.queue_forwarded(proposal, reply_tx.clone()).await {
                    return;
                }
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    async fn read_index(&self, _request: Request<Blob>) -> Result<Response<Blob>, Status> {
        let outcome: Result<u64, NoQuorum> =
            super::read_index::local(&self.node)
                .await
                .map_err(|e| match e {
                    ReplicationError::NoQuorum(reason) => reason,
                    _ => NoQuorum::Stopped,
                });
        encode(&outcome)
    }

    async fn pre_vote(&self, request: Request<Blob>) -> Result<Response<Blob>, Status> {
        let candidate_last: Option<super::types::LogId> = decode(request.get_ref())?;
        encode(&super::prevote::would_vote(&self.node, candidate_last))
    }

    async fn report_sessions(&self, request: Request<Blob>) -> Result<Response<Blob>, Status> {
        let sessions: Vec<i64> = decode(request.get_ref())?;
        self.node.note_reported(sessions);
        encode(&())
    }

    async fn admin(&self, request: Request<Blob>) -> Result<Response<Blob>, Status> {
        let command = decode(request.get_ref())?;
        encode(&self.node.admin(command).await)
    }
}
