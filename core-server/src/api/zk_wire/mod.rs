//! Apache ZooKeeper's own TCP protocol, so existing ZooKeeper clients and
//! tools work against Corral unchanged.
//!
//! Owns framing (4-byte big-endian length; a frame longer than
//! `jute_maxbuffer_bytes`, ZooKeeper's jute.maxbuffer, closes the connection
//! without a reply, the session staying), the connect handshake (timeout negotiation, session reattach,
//! the last-zxid rule), four-letter words, special xids (-1 notification, -2
//! ping, -4 auth, -8 setWatches) and the per-connection task, over plain TCP
//! or, on the secure port ([`serve_secure`]), over TLS. Requests go to
//! the same [`Service`] as the native API, so both see one tree, one set of
//! sessions and watches.

pub mod four_letter;
pub mod framing;
pub mod jute;
pub mod multi;
pub mod records;
mod secure;

use crate::config::ZkCompat;
use crate::connection::{
    outbound, ByteBudget, CloseReason, IpLimiter, OutboundReceiver, OutboundSender, SendError,
};
use crate::connection::{Outbox, Outgoing};
use crate::service::pipeline::Pipeline;
use crate::service::{ConnectArgs, Connection, Request, Service};
use framing::{FrameError, FrameReader};
use jute::{Reader, Writer};
use proto::ErrorCode;
use records::Body;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

const PROTOCOL: &str = "zookeeper";

pub use secure::serve_secure;

/// Accepts ZooKeeper-protocol connections until `stop`.
pub async fn serve(listener: TcpListener, service: Service, stop: CancellationToken) {
    accept_loop(listener, service, stop, None).await
}

/// Accepts connections until `stop`, each served on its own task (over TLS
/// when `tls` is given: the handshake runs on that task, not here).
async fn accept_loop(
    listener: TcpListener,
    service: Service,
    stop: CancellationToken,
    tls: Option<crate::tls::TlsAcceptor>,
) {
    let config = service.config().clone();
    let limit = Arc::new(Semaphore::new(config.max_connections));
    let per_ip = IpLimiter::new(config.max_connections_per_ip);
    let partial = ByteBudget::new(config.partial_frame_bytes);
    loop {
        let (stream, peer) = tokio::select! {
            _ = stop.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    continue;
                }
            },
        };
        let Ok(permit) = limit.clone().try_acquire_owned() else {
            CloseReason::TooManyConnections.record(PROTOCOL, Some(peer), 0);
            drop(stream);
            continue;
        };
        let Some(slot) = per_ip.admit(peer.ip()) else {
            CloseReason::TooManyFromIp.record(PROTOCOL, Some(peer), 0);
            drop(stream);
            continue;
        };
        let service = service.clone();
        let close = stop.child_token();
        let partial = partial.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let _ = stream.set_nodelay(true);
            match tls {
                None => {
                    let (read, write) = stream.into_split();
                    connection(service, read, write, peer, close, partial, None).await;
                }
                Some(tls) => {
                    secure::connection_over_tls(service, tls, stream, peer, close, partial).await;
                }
            }
            drop(slot);
            drop(permit);
        });
    }
}

fn connect_response(timeout_ms: i32, session_id: i64, password: &[u8], read_only: bool) -> Vec<u8> {
    let mut w = Writer::frame();
    w.i32(0)
        .i32(timeout_ms)
        .i64(session_id)
        .buffer(Some(password))
        .bool(read_only);
    w.finish()
}

/// What the handshake produced.
enum Handshake {
    /// A four-letter word was answered; the connection is done.
    Answered,
    /// A ConnectRequest.
    Connect(ConnectArgs),
}

/// Reads the four-letter word or the whole ConnectRequest.
async fn handshake<R: AsyncRead + Unpin, W: AsyncWrite + Unpin>(
    service: &Service,
    reader: &mut FrameReader<R>,
    write: &mut W,
    peer: SocketAddr,
) -> Result<Handshake, FrameError> {
    let head = reader.peek_head().await?;
    if let Some(command) = four_letter::recognise(head) {
        let answer = four_letter::answer(service, command);
        let _ = write.write_all(answer.as_bytes()).await;
        let _ = write.shutdown().await;
        return Ok(Handshake::Answered);
    }
    let body = reader.next_frame().await?;
    let mut r = Reader::new(&body);
    let parsed = (|| -> Result<ConnectArgs, jute::JuteError> {
        let _protocol = r.i32()?;
        let last_zxid_seen = r.i64()?;
        let timeout_ms = r.i32()?;
        let session_id = r.i64()?;
        let password = r.buffer()?.unwrap_or_default();
        // Old clients end the request before the readOnly flag.
        let can_be_read_only = r.remaining() > 0 && r.bool()?;
        Ok(ConnectArgs {
            can_be_read_only,
            session_id,
            password,
            timeout_ms,
            last_zxid_seen,
            peer_ip: Some(peer.ip()),
            protocol: crate::service::latency::Protocol::ZooKeeper,
        })
    })();
    // A handshake that does not parse is closed without a reply, as ZooKeeper does.
    parsed
        .map(Handshake::Connect)
        .map_err(|_| FrameError::Malformed)
}

/// Serves one connection, over any byte stream split in its two halves;
/// `identity` is the `x509` id its TLS client certificate proved.
async fn connection<R, W>(
    service: Service,
    read: R,
    mut write: W,
    peer: SocketAddr,
    close: CancellationToken,
    partial: Arc<ByteBudget>,
    identity: Option<String>,
) where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let config = service.config().clone();
    let mut reader = FrameReader::new(
        read,
        config.jute_maxbuffer_bytes,
        Duration::from_millis(config.frame_timeout_ms),
        partial,
    );
    let handshake_timeout = Duration::from_millis(config.handshake_timeout_ms);
    let args = match tokio::time::timeout(
        handshake_timeout,
        handshake(&service, &mut reader, &mut write, peer),
    )
    .await
    {
        Err(_) => {
            CloseReason::HandshakeTimeout.record(PROTOCOL, Some(peer), 0);
            return;
        }
        Ok(Err(error)) => {
            if let Some(reason) = error.close_reason() {
                reason.record(PROTOCOL, Some(peer), 0);
            }
            return;
        }
        Ok(Ok(Handshake::Answered)) => return,
        Ok(Ok(Handshake::Connect(args))) => args,
    };
    let (tx, rx) = outbound::channel(config.connection_queue, config.connection_queue_bytes);
    let compat = config.zk_compat;
    let writer = tokio::spawn(write_loop(rx, write, close.clone(), compat));
    let outbox = Outbox {
        tx: tx.clone(),
        close: close.clone(),
    };
    let connection = match service.connect(args, outbox).await {
        Ok((connection, connected)) => {
            if let Some(subject) = &identity {
                service.add_x509_identity(&connection, subject);
            }
            let hello = connect_response(
                connected.timeout_ms,
                connected.session_id,
                &connected.password,
                connected.read_only,
            );
            if tx.send(Outgoing::Frame(hello)).await.is_err() {
                service.disconnect(&connection);
                return;
            }
            connection
        }
        Err((code, message)) => {
            tracing::debug!(%code, message, "connect refused");
            // An expired or unknown session (or a wrong password) is told with
            // a zero timeout; a server behind the client just closes.
            if matches!(code, ErrorCode::SessionExpired | ErrorCode::AuthFailed) {
                let _ = tx
                    .send(Outgoing::Frame(connect_response(0, 0, &[0u8; 16], false)))
                    .await;
            }
            drop(tx);
            finish_writer(writer, handshake_timeout).await;
            return;
        }
    };
    let session = connection.session_id();
    let ended = serve_requests(&service, &connection, &mut reader, &tx, &close).await;
    if let Some(reason) = ended {
        reason.record(PROTOCOL, Some(peer), session);
        close.cancel();
    }
    service.disconnect(&connection);
    // Every sender must go for the writer to finish and close the socket.
    drop(connection);
    drop(tx);
    finish_writer(writer, Duration::from_millis(config.frame_timeout_ms)).await;
}

/// Lets the writer flush what is queued, but not for longer than `grace`
/// (a client that never reads must not hold the connection open).
async fn finish_writer(writer: tokio::task::JoinHandle<()>, grace: Duration) {
    let abort = writer.abort_handle();
    if tokio::time::timeout(grace, writer).await.is_err() {
        abort.abort();
    }
}

/// Writes queued frames in order, flushing whenever the queue runs dry; stops
/// at once when the connection is closed because its queue overflowed (a
/// client that does not read), else flushes what is queued (a closeSession
/// reply) and ends the stream.
async fn write_loop<W: AsyncWrite + Unpin>(
    mut rx: OutboundReceiver,
    write: W,
    close: CancellationToken,
    compat: ZkCompat,
) {
    let mut out = BufWriter::new(write);
    let overflow_close = rx.closed_by_overflow(close);
    tokio::select! {
        biased;
        _ = overflow_close => {}
        _ = drain(&mut rx, &mut out, compat) => {
            let _ = out.shutdown().await;
        }
    }
}

async fn drain<W: AsyncWrite + Unpin>(
    rx: &mut OutboundReceiver,
    out: &mut BufWriter<W>,
    compat: ZkCompat,
) {
    let sent = metrics::counter!("corral_sent_bytes_total", "protocol" => "zookeeper");
    while let Some(item) = rx.recv().await {
        let mut item = Some(item);
        while let Some(o) = item.take() {
            let bytes = match o {
                Outgoing::Frame(bytes) => bytes,
                Outgoing::Event(event) => {
                    records::encode_event(&event, compat.notification_zxid(event.zxid))
                }
                Outgoing::Pong(zxid) => records::encode_pong(zxid),
                // Responses are encoded by the reader, which knows their shape.
                Outgoing::Response(_) => Vec::new(),
            };
            if out.write_all(&bytes).await.is_err() {
                return;
            }
            sent.increment(bytes.len() as u64);
            item = rx.try_recv();
        }
        if out.flush().await.is_err() {
            return;
        }
    }
}

/// Queues an item unless the connection is closing; an overflowing queue
/// ends the connection.
async fn enqueue(
    tx: &OutboundSender,
    close: &CancellationToken,
    item: Outgoing,
) -> Result<(), Option<CloseReason>> {
    // Sending first: a reply that fits is queued even when the connection is
    // closing (a closeSession's own reply comes after its session closed).
    tokio::select! {
        biased;
        sent = tx.send(item) => match sent {
            Ok(()) => Ok(()),
            Err(SendError::Overflow) => Err(Some(CloseReason::OutboundOverflow)),
            Err(SendError::Closed) => Err(None),
        },
        _ = close.cancelled() => Err(None),
    }
}

/// Encodes and queues a reply.
async fn send(
    tx: &OutboundSender,
    close: &CancellationToken,
    response: crate::service::Response,
    body: &Body,
) -> Result<(), Option<CloseReason>> {
    // A request the service refuses as too large has no ZooKeeper error code:
    // ZooKeeper closes such connections, and so do we.
    if response.result == Err(ErrorCode::TooLarge) {
        return Err(Some(CloseReason::RequestTooLarge));
    }
    // ConnectionLoss is a client-side code: a ZooKeeper server never sends
    // it, it closes the connection, and its clients report ConnectionLoss
    // for every request still pending. So do we.
    if response.result == Err(ErrorCode::ConnectionLoss) {
        return Err(Some(CloseReason::OutcomeUnknown));
    }
    let auth_failed = response.result == Err(ErrorCode::AuthFailed);
    let frame = records::encode_reply(response.xid, response.zxid, response.result, body);
    enqueue(tx, close, Outgoing::Frame(frame)).await?;
    if auth_failed {
        return Err(Some(CloseReason::AuthFailed));
    }
    Ok(())
}

/// Serves requests until the connection ends; returns the reason when the
/// server decided the close. The `select!` is cancellation-safe: the frame
/// reader keeps partial frames, and the pipeline keeps its replies.
async fn serve_requests<R: AsyncRead + Unpin>(
    service: &Service,
    connection: &Connection,
    reader: &mut FrameReader<R>,
    tx: &OutboundSender,
    close: &CancellationToken,
) -> Option<CloseReason> {
    let mut pipeline: Pipeline<'_, Body> = Pipeline::new(service, connection);
    loop {
        let frame = tokio::select! {
            biased;
            _ = close.cancelled() => return None,
            Some((response, body)) = pipeline.next(), if !pipeline.is_empty() => {
                if let Err(reason) = send(tx, close, response, &body).await {
                    return reason;
                }
                continue;
            }
            frame = reader.next_frame(), if !pipeline.is_full() => match frame {
                Ok(frame) => frame,
                Err(error) => return error.close_reason(),
            },
        };
        let mut r = Reader::new(&frame);
        let (Ok(xid), Ok(opcode)) = (r.i32(), r.i32()) else {
            return Some(CloseReason::Malformed);
        };
        if opcode == records::op::PING {
            service.touch(connection);
            let pong = Outgoing::Pong(service.state().last_zxid());
            if let Err(reason) = enqueue(tx, close, pong).await {
                return reason;
            }
            continue;
        }
        let (request, body) = match records::decode(opcode, &mut r) {
            Ok((request, body)) if !service.config().zk_compat.multi_create_has_stat() => {
                let body = multi::types_as_3_8(&request, body);
                (request, body)
            }
            Ok(decoded) => decoded,
            Err(code) => {
                pipeline.push_error(xid, code, Body::Empty);
                continue;
            }
        };
        let is_close = matches!(request, Request::CloseSession);
        for (response, body) in pipeline.submit(xid, request, body).await {
            if let Err(reason) = send(tx, close, response, &body).await {
                return reason;
            }
        }
        if is_close {
            return None;
        }
    }
}
