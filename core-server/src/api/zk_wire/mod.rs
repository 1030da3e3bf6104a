//! Apache ZooKeeper's own TCP protocol, so existing ZooKeeper clients and
//! tools work against Corral unchanged.
//!
//! Owns framing (4-byte big-endian length; a frame over the limit closes the
//! connection), the connect handshake (timeout negotiation, session reattach,
//! the last-zxid rule), four-letter words, special xids (-1 notification, -2
//! ping, -4 auth, -8 setWatches) and the per-connection task. Requests go to
//! the same [`Service`] as the native API, so both see one tree, one set of
//! sessions and watches.

pub mod four_letter;
pub mod jute;
pub mod records;

use crate::service::pipeline::Pipeline;
use crate::service::{ConnectArgs, Connection, Request, Service};
use crate::watch::{Outbox, Outgoing};
use jute::{Reader, Writer};
use proto::ErrorCode;
use records::Body;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Semaphore};
use tokio_util::sync::CancellationToken;

/// How long a new connection may take to send its ConnectRequest
/// (ZooKeeper's sessionless connection timeout).
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Accepts ZooKeeper-protocol connections until `stop`.
pub async fn serve(listener: TcpListener, service: Service, stop: CancellationToken) {
    let limit = Arc::new(Semaphore::new(service.config().max_connections));
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
            drop(stream);
            continue;
        };
        let service = service.clone();
        let close = stop.child_token();
        tokio::spawn(async move {
            let _ = stream.set_nodelay(true);
            connection(service, stream, peer, close).await;
            drop(permit);
        });
    }
}

async fn read_frame(reader: &mut BufReader<OwnedReadHalf>, max: usize) -> Option<Vec<u8>> {
    let len = reader.read_i32().await.ok()?;
    if len < 0 || len as usize > max {
        tracing::debug!(len, "frame length out of range; closing");
        return None;
    }
    let mut frame = vec![0u8; len as usize];
    reader.read_exact(&mut frame).await.ok()?;
    Some(frame)
}

fn connect_response(timeout_ms: i32, session_id: i64, password: &[u8]) -> Vec<u8> {
    let mut w = Writer::frame();
    w.i32(0)
        .i32(timeout_ms)
        .i64(session_id)
        .buffer(Some(password))
        .bool(false);
    w.finish()
}

async fn connection(
    service: Service,
    stream: TcpStream,
    peer: SocketAddr,
    close: CancellationToken,
) {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let max = service.config().max_request_bytes;
    let mut first = [0u8; 4];
    if tokio::time::timeout(HANDSHAKE_TIMEOUT, reader.read_exact(&mut first))
        .await
        .map_or(true, |r| r.is_err())
    {
        return;
    }
    if let Some(command) = four_letter::recognise(first) {
        let answer = four_letter::answer(&service, command);
        let _ = write.write_all(answer.as_bytes()).await;
        let _ = write.shutdown().await;
        return;
    }
    let len = i32::from_be_bytes(first);
    if len < 0 || len as usize > max {
        return;
    }
    let mut body = vec![0u8; len as usize];
    if reader.read_exact(&mut body).await.is_err() {
        return;
    }
    let mut r = Reader::new(&body);
    let parsed = (|| -> Result<ConnectArgs, jute::JuteError> {
        let _protocol = r.i32()?;
        let last_zxid_seen = r.i64()?;
        let timeout_ms = r.i32()?;
        let session_id = r.i64()?;
        let password = r.buffer()?.unwrap_or_default();
        Ok(ConnectArgs {
            session_id,
            password,
            timeout_ms,
            last_zxid_seen,
            peer_ip: Some(peer.ip()),
        })
    })();
    let Ok(args) = parsed else { return };
    let (tx, rx) = mpsc::channel::<Outgoing>(service.config().connection_queue);
    let writer = tokio::spawn(write_loop(rx, write));
    let outbox = Outbox {
        tx: tx.clone(),
        close: close.clone(),
    };
    let connection = match service.connect(args, outbox).await {
        Ok((connection, connected)) => {
            let hello = connect_response(
                connected.timeout_ms,
                connected.session_id,
                &connected.password,
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
                    .send(Outgoing::Frame(connect_response(0, 0, &[0u8; 16])))
                    .await;
            }
            drop(tx);
            let _ = writer.await;
            return;
        }
    };
    serve_requests(&service, &connection, &mut reader, &tx, &close, max).await;
    service.disconnect(&connection);
    // Every sender must go for the writer to finish and close the socket.
    drop(connection);
    drop(tx);
    let _ = writer.await;
}

/// Writes queued frames in order, flushing whenever the queue runs dry.
async fn write_loop(mut rx: mpsc::Receiver<Outgoing>, write: OwnedWriteHalf) {
    let mut out = BufWriter::new(write);
    while let Some(item) = rx.recv().await {
        let mut item = Some(item);
        while let Some(o) = item.take() {
            let bytes = match o {
                Outgoing::Frame(bytes) => bytes,
                Outgoing::Event(event) => records::encode_event(&event),
                Outgoing::Pong(zxid) => records::encode_pong(zxid),
                // Responses are encoded by the reader, which knows their shape.
                Outgoing::Response(_) => continue,
            };
            if out.write_all(&bytes).await.is_err() {
                return;
            }
            item = rx.try_recv().ok();
        }
        if out.flush().await.is_err() {
            return;
        }
    }
    let _ = out.shutdown().await;
}

/// What to do after a reply is queued.
enum After {
    Continue,
    Close,
}

async fn send(
    tx: &mpsc::Sender<Outgoing>,
    response: crate::service::Response,
    body: &Body,
) -> After {
    // A request the service refuses as too large has no ZooKeeper error code:
    // ZooKeeper closes such connections, and so do we.
    if response.result == Err(ErrorCode::TooLarge) {
        return After::Close;
    }
    let auth_failed = response.result == Err(ErrorCode::AuthFailed);
    let frame = records::encode_reply(response.xid, response.zxid, response.result, body);
    if tx.send(Outgoing::Frame(frame)).await.is_err() || auth_failed {
        return After::Close;
    }
    After::Continue
}

async fn serve_requests(
    service: &Service,
    connection: &Connection,
    reader: &mut BufReader<OwnedReadHalf>,
    tx: &mpsc::Sender<Outgoing>,
    close: &CancellationToken,
    max: usize,
) {
    let mut pipeline: Pipeline<'_, Body> = Pipeline::new(service, connection);
    loop {
        let frame = tokio::select! {
            biased;
            _ = close.cancelled() => return,
            Some((response, body)) = pipeline.next(), if !pipeline.is_empty() => {
                if let After::Close = send(tx, response, &body).await {
                    return;
                }
                continue;
            }
            frame = read_frame(reader, max), if !pipeline.is_full() => match frame {
                Some(frame) => frame,
                None => return,
            },
        };
        let mut r = Reader::new(&frame);
        let (Ok(xid), Ok(opcode)) = (r.i32(), r.i32()) else {
            return;
        };
        if opcode == records::op::PING {
            service.touch(connection);
            if tx
                .send(Outgoing::Pong(service.state().last_zxid()))
                .await
                .is_err()
            {
                return;
            }
            continue;
        }
        let (request, body) = match records::decode(opcode, &mut r) {
            Ok(decoded) => decoded,
            Err(code) => {
                pipeline.push_error(xid, code, Body::Empty);
                continue;
            }
        };
        let is_close = matches!(request, Request::CloseSession);
        for (response, body) in pipeline.submit(xid, request, body).await {
            if let After::Close = send(tx, response, &body).await {
                return;
            }
        }
        if is_close {
            return;
        }
    }
}
