//! The native gRPC API: one bidirectional session stream per client.
//!
//! Owns the per-connection task: handshake (first frame must be `Connect`),
//! then requests handled strictly in arrival order, pings, and the ordered
//! outbound stream (handshake frame, then responses and watch events as the
//! service queued them). A frame that cannot be decoded or is over the size
//! limit ends the stream with a gRPC status; the session survives and may be
//! reattached. Must not hold request logic: it calls the service.

pub mod cluster_admin;
pub mod convert;
pub mod incoming;

use crate::connection::{outbound, CloseReason, IpLimiter, OutboundSender, SendError};
use crate::connection::{Outbox, Outgoing};
use crate::service::pipeline::Pipeline;
use crate::service::{Request, Service};
use futures::{Stream, StreamExt};
use proto::v1::corral_server::{Corral, CorralServer};
use proto::v1::{client_frame::Frame, ClientFrame, ServerFrame};
use proto::ErrorCode;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, Semaphore};
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::{Status, Streaming};

const PROTOCOL: &str = "grpc";

/// The gRPC service implementation.
#[derive(Debug, Clone)]
pub struct GrpcApi {
    service: Service,
    connections: Arc<Semaphore>,
    per_ip: Arc<IpLimiter>,
    stop: CancellationToken,
}

impl GrpcApi {
    /// Wraps the service; at most `max_connections` streams at once.
    pub fn new(service: Service, stop: CancellationToken) -> Self {
        let max = service.config().max_connections;
        let per_ip = IpLimiter::new(service.config().max_connections_per_ip);
        GrpcApi {
            service,
            connections: Arc::new(Semaphore::new(max)),
            per_ip,
            stop,
        }
    }

    /// The tonic service, with the request size limit applied.
    pub fn into_server(self) -> CorralServer<GrpcApi> {
        let max = self.service.config().max_request_bytes;
        CorralServer::new(self).max_decoding_message_size(max)
    }
}

type FrameStream = Pin<Box<dyn Stream<Item = Result<ServerFrame, Status>> + Send>>;

#[tonic::async_trait]
impl Corral for GrpcApi {
    type SessionStream = FrameStream;

    async fn session(
        &self,
        request: tonic::Request<Streaming<ClientFrame>>,
    ) -> Result<tonic::Response<Self::SessionStream>, Status> {
        let info = incoming::NativeConnectInfo::of(&request);
        let permit = self.connections.clone().try_acquire_owned().map_err(|_| {
            CloseReason::TooManyConnections.record(PROTOCOL, info.remote_addr, 0);
            Status::resource_exhausted("connection limit reached")
        })?;
        let slot = match info.remote_addr {
            Some(addr) => Some(self.per_ip.admit(addr.ip()).ok_or_else(|| {
                CloseReason::TooManyFromIp.record(PROTOCOL, Some(addr), 0);
                Status::resource_exhausted("too many connections from this address")
            })?),
            None => None,
        };
        let peer = info.remote_addr;
        let peer_ip = peer.map(|a| a.ip());
        let x509 = info.x509;
        let inbound = request.into_inner();
        let (head_tx, head_rx) = mpsc::channel::<ServerFrame>(1);
        let config = self.service.config();
        let (tx, rx) = outbound::channel(config.connection_queue, config.connection_queue_bytes);
        let (tail_tx, tail_rx) = oneshot::channel::<Status>();
        let close = self.stop.child_token();
        let service = self.service.clone();
        let overflow_close = rx.closed_by_overflow(close.clone());
        tokio::spawn(async move {
            run_connection(
                service,
                inbound,
                (peer, peer_ip, x509),
                head_tx,
                Outbox { tx, close },
                tail_tx,
            )
            .await;
            drop(slot);
            drop(permit);
        });
        let head = ReceiverStream::new(head_rx).map(Ok);
        // A connection closed because it does not read ends its stream at
        // once, whatever is still queued; other closes flush what is queued.
        let body = rx
            .into_stream()
            .take_until(overflow_close)
            .filter_map(|o| async move { convert::outgoing(o).map(Ok) });
        let tail = futures::stream::once(tail_rx).filter_map(|r| async move { r.ok().map(Err) });
        Ok(tonic::Response::new(Box::pin(head.chain(body).chain(tail))))
    }
}

async fn run_connection(
    service: Service,
    mut inbound: Streaming<ClientFrame>,
    (peer, peer_ip, x509): (
        Option<std::net::SocketAddr>,
        Option<std::net::IpAddr>,
        Option<String>,
    ),
    head: mpsc::Sender<ServerFrame>,
    outbox: Outbox,
    tail: oneshot::Sender<Status>,
) {
    let handshake = Duration::from_millis(service.config().handshake_timeout_ms);
    let connect = match tokio::time::timeout(handshake, inbound.message()).await {
        Ok(Ok(Some(ClientFrame {
            frame: Some(Frame::Connect(c)),
        }))) => c,
        Ok(Ok(None)) => return,
        Ok(Err(status)) => {
            let _ = tail.send(status);
            return;
        }
        Ok(Ok(Some(_))) => {
            let _ = head
                .send(convert::rejected_frame(
                    ErrorCode::BadArguments,
                    "first frame must be Connect".into(),
                ))
                .await;
            return;
        }
        Err(_) => {
            CloseReason::HandshakeTimeout.record(PROTOCOL, peer, 0);
            let _ = tail.send(Status::deadline_exceeded("no Connect frame in time"));
            return;
        }
    };
    let close = outbox.close.clone();
    let tx = outbox.tx.clone();
    let connection = match service
        .connect(convert::connect_args(connect, peer_ip), outbox)
        .await
    {
        Ok((connection, connected)) => {
            if let Some(subject) = &x509 {
                service.add_x509_identity(&connection, subject);
            }
            if head
                .send(convert::connected_frame(connected))
                .await
                .is_err()
            {
                service.disconnect(&connection);
                return;
            }
            connection
        }
        Err((code, message)) => {
            let _ = head.send(convert::rejected_frame(code, message)).await;
            return;
        }
    };
    drop(head);
    let failure = serve(&service, &connection, &mut inbound, &tx, &close).await;
    service.disconnect(&connection);
    match failure {
        Ended::ByClient => {}
        Ended::Status(status) => {
            CloseReason::Malformed.record(PROTOCOL, peer, connection.session_id());
            let _ = tail.send(status);
        }
        Ended::Closed(reason) => {
            reason.record(PROTOCOL, peer, connection.session_id());
            close.cancel();
        }
    }
}

/// How a served connection ended.
enum Ended {
    /// The client ended it, or the server is closing it for a reason
    /// recorded elsewhere.
    ByClient,
    /// The client sent something that cannot be served.
    Status(Status),
    /// The server closed it for this reason.
    Closed(CloseReason),
}

/// Queues an item unless the connection is closing.
async fn enqueue(
    tx: &OutboundSender,
    close: &CancellationToken,
    item: Outgoing,
) -> Result<(), Ended> {
    // Sending first: a reply that fits is queued even when the connection is
    // closing (a closeSession's own reply comes after its session closed).
    tokio::select! {
        biased;
        sent = tx.send(item) => match sent {
            Ok(()) => Ok(()),
            Err(SendError::Overflow) => Err(Ended::Closed(CloseReason::OutboundOverflow)),
            Err(SendError::Closed) => Err(Ended::ByClient),
        },
        _ = close.cancelled() => Err(Ended::ByClient),
    }
}

/// Serves an established connection until it ends. Ordering (pipelined
/// writes, reads after the connection's writes) comes from [`Pipeline`].
/// The `select!` is cancellation-safe: tonic's `Streaming` keeps a partly
/// received message in its own buffer, and the pipeline keeps its replies.
async fn serve(
    service: &Service,
    connection: &crate::service::Connection,
    inbound: &mut Streaming<ClientFrame>,
    tx: &OutboundSender,
    close: &CancellationToken,
) -> Ended {
    let mut pipeline: Pipeline<'_, ()> = Pipeline::new(service, connection);
    loop {
        let message = tokio::select! {
            biased;
            _ = close.cancelled() => return Ended::ByClient,
            Some((response, ())) = pipeline.next(), if !pipeline.is_empty() => {
                if let Err(ended) = enqueue(tx, close, Outgoing::Response(response)).await {
                    return ended;
                }
                continue;
            }
            m = inbound.message(), if !pipeline.is_full() => m,
        };
        let frame = match message {
            Ok(Some(frame)) => frame,
            Ok(None) => return Ended::ByClient,
            Err(status) => {
                tracing::debug!(session = connection.session_id(), %status, "bad frame; ending stream");
                return Ended::Status(status);
            }
        };
        match frame.frame {
            Some(Frame::Request(request)) => {
                let xid = request.xid;
                if convert::is_linearizable(request.op.as_ref()) {
                    // Everything committed before this request is applied
                    // here before the read runs (the leader's read index).
                    if let Err(code) = service.linearize().await {
                        pipeline.push_error(xid, code, ());
                        continue;
                    }
                }
                let request = match convert::request(request.op) {
                    Ok(request) => request,
                    Err(code) => {
                        pipeline.push_error(xid, code, ());
                        continue;
                    }
                };
                let is_close = matches!(request, Request::CloseSession);
                for (response, ()) in pipeline.submit(xid, request, ()).await {
                    if let Err(ended) = enqueue(tx, close, Outgoing::Response(response)).await {
                        return ended;
                    }
                }
                if is_close {
                    return Ended::ByClient;
                }
            }
            Some(Frame::Ping(_)) => {
                service.touch(connection);
                let pong = Outgoing::Pong(service.state().last_zxid());
                if let Err(ended) = enqueue(tx, close, pong).await {
                    return ended;
                }
            }
            Some(Frame::Connect(_)) => {
                return Ended::Status(Status::invalid_argument("Connect sent twice on one stream"));
            }
            None => return Ended::Status(Status::invalid_argument("empty frame")),
        }
    }
}
