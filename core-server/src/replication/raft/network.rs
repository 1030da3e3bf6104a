//! Raft's transport: openraft's RPCs carried over the internal `Peer` gRPC service.
//!
//! Owns the client side of server-to-server traffic: one lazily connected
//! HTTP/2 channel per peer with a connect timeout and keepalive, postcard
//! payloads, and the mapping of transport failures onto openraft's error kinds
//! (unreachable peers are backed off, remote Raft errors are passed through).

use super::peer_auth::{HandshakeError, PeerDialer};
use super::types::{NodeId, PeerNode, TypeConfig};
use openraft::error::{
    InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Timeout, Unreachable,
};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use proto::peer::peer_client::PeerClient;
use proto::peer::Blob;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::time::Duration;
use tonic::transport::{Channel, Endpoint};

/// How long dialing a peer may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);
/// Largest peer message (snapshot chunks and entry batches stay well below).
pub const MAX_PEER_MESSAGE: usize = 64 << 20;

/// Opens a lazily connected channel to a peer's `addr` (`host:port`), each
/// connection authenticated by `dialer` before HTTP/2 starts.
pub fn channel(addr: &str, dialer: &PeerDialer) -> Result<Channel, tonic::transport::Error> {
    let endpoint = Endpoint::from_shared(format!("http://{addr}"))?
        .connect_timeout(CONNECT_TIMEOUT)
        .http2_keep_alive_interval(Duration::from_secs(5))
        .keep_alive_timeout(Duration::from_secs(10))
        .keep_alive_while_idle(true);
    let dialer = dialer.clone();
    let target = addr.to_string();
    let connector = tower::service_fn(move |_: tonic::transport::Uri| {
        let (dialer, target) = (dialer.clone(), target.clone());
        async move {
            let stream = dialer.connect(&target).await?;
            Ok::<_, HandshakeError>(hyper_util::rt::TokioIo::new(stream))
        }
    });
    Ok(endpoint.connect_with_connector_lazy(connector))
}

/// A peer client with Corral's message limits.
pub fn peer_client(channel: Channel) -> PeerClient<Channel> {
    PeerClient::new(channel)
        .max_decoding_message_size(MAX_PEER_MESSAGE)
        .max_encoding_message_size(MAX_PEER_MESSAGE)
}

/// Makes a [`PeerConnection`] per target.
#[derive(Debug, Clone)]
pub struct Network {
    /// This server's id (for timeout reports).
    pub node_id: NodeId,
    /// Addresses to dial instead of a peer's advertised one.
    pub routes: std::collections::BTreeMap<NodeId, String>,
    /// How peers are dialed and authenticated.
    pub dialer: PeerDialer,
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = PeerConnection;

    async fn new_client(&mut self, target: NodeId, node: &PeerNode) -> PeerConnection {
        let addr = self.routes.get(&target).unwrap_or(&node.addr).clone();
        let peer = target.to_string();
        PeerConnection {
            from: self.node_id,
            target,
            client: channel(&addr, &self.dialer).ok().map(peer_client),
            addr,
            round_trip: metrics::histogram!("corral_peer_round_trip_seconds", "peer" => peer.clone()),
            failures: metrics::counter!("corral_peer_send_failures_total", "peer" => peer),
        }
    }
}

/// The connection to one peer.
#[derive(Debug)]
pub struct PeerConnection {
    from: NodeId,
    target: NodeId,
    addr: String,
    client: Option<PeerClient<Channel>>,
    /// Round trips of messages answered (`corral_peer_round_trip_seconds`).
    round_trip: metrics::Histogram,
    /// Messages that failed (`corral_peer_send_failures_total`).
    failures: metrics::Counter,
}

#[derive(Debug, Clone, Copy)]
enum Rpc {
    Append,
    Vote,
    Snapshot,
}

type Failed<E> = RPCError<NodeId, PeerNode, RaftError<NodeId, E>>;

/// A failure with a message only (for [`Unreachable`] and [`NetworkError`]).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Message(String);

impl PeerConnection {
    /// [`Self::send`], timed and counted.
    async fn call<Req, Resp, E>(
        &mut self,
        rpc: Rpc,
        request: &Req,
        option: &RPCOption,
    ) -> Result<Resp, Failed<E>>
    where
        Req: Serialize,
        Resp: DeserializeOwned,
        E: std::error::Error + DeserializeOwned,
    {
        use crate::clock::Clock as _;
        let started = crate::clock::SystemClock.now();
        let answered = self.send(rpc, request, option).await;
        match &answered {
            Ok(_) | Err(RPCError::RemoteError(_)) => {
                let took = crate::clock::SystemClock
                    .now()
                    .saturating_duration_since(started);
                self.round_trip.record(took.as_secs_f64());
            }
            Err(_) => self.failures.increment(1),
        }
        answered
    }

    async fn send<Req, Resp, E>(
        &mut self,
        rpc: Rpc,
        request: &Req,
        option: &RPCOption,
    ) -> Result<Resp, Failed<E>>
    where
        Req: Serialize,
        Resp: DeserializeOwned,
        E: std::error::Error + DeserializeOwned,
    {
        let Some(client) = self.client.as_mut() else {
            return Err(RPCError::Unreachable(Unreachable::new(&Message(format!(
                "bad peer address {}",
                self.addr
            )))));
        };
        let payload =
            postcard::to_allocvec(request).map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        let blob = Blob::new(payload);
        // openraft asks for one heartbeat interval; the runtime stretches
        // its own timeouts, and this one with them (see `runtime`).
        let ttl = option
            .hard_ttl()
            .saturating_mul(super::runtime::RPC_TIMEOUT_FACTOR);
        let sent = async {
            match rpc {
                Rpc::Append => client.append_entries(blob).await,
                Rpc::Vote => client.vote(blob).await,
                Rpc::Snapshot => client.install_snapshot(blob).await,
            }
        };
        let reply = match tokio::time::timeout(ttl, sent).await {
            Err(_) => {
                return Err(RPCError::Timeout(Timeout {
                    action: match rpc {
                        Rpc::Append => openraft::network::RPCTypes::AppendEntries,
                        Rpc::Vote => openraft::network::RPCTypes::Vote,
                        Rpc::Snapshot => openraft::network::RPCTypes::InstallSnapshot,
                    },
                    id: self.from,
                    target: self.target,
                    timeout: ttl,
                }))
            }
            Ok(Err(status)) => {
                let message = Message(format!("{}: {}", self.addr, status.message()));
                return Err(match status.code() {
                    tonic::Code::Unavailable | tonic::Code::Unknown => {
                        RPCError::Unreachable(Unreachable::new(&message))
                    }
                    _ => RPCError::Network(NetworkError::new(&message)),
                });
            }
            Ok(Ok(reply)) => reply.into_inner(),
        };
        let payload = reply
            .payload()
            .map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        let decoded: Result<Resp, RaftError<NodeId, E>> =
            postcard::from_bytes(payload).map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        decoded.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }
}

impl RaftNetwork<TypeConfig> for PeerConnection {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, Failed<openraft::error::Infallible>> {
        self.call(Rpc::Append, &rpc, &option).await
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<InstallSnapshotResponse<NodeId>, Failed<InstallSnapshotError>> {
        self.call(Rpc::Snapshot, &rpc, &option).await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, Failed<openraft::error::Infallible>> {
        self.call(Rpc::Vote, &rpc, &option).await
    }
}
