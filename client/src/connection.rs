//! The one I/O task per client: the gRPC session stream, pending requests by
//! xid, pings, reconnection with backoff, and watch re-registration.

use crate::session::{SessionEvent, SessionState};
use crate::watch::{EventType, Kind, ResumableStream, WatchedEvent};
use crate::{ClientBuilder, Error};
use backon::BackoffBuilder;
use parking_lot::Mutex;
use proto::v1::corral_client::CorralClient;
use proto::v1::{
    client_frame::Frame, request::Op, server_frame, ClientFrame, Request, ServerFrame,
};
use proto::ErrorCode;
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::time::Instant;
use tokio_stream::wrappers::ReceiverStream;

/// How a request's watch is registered locally once the server accepted it.
#[derive(Debug)]
pub(crate) enum WatchReg {
    /// One-shot: `Data` if the node exists, `Exist` (exists() only) if not.
    OneShot {
        kind: Kind,
        if_missing: Option<Kind>,
        tx: oneshot::Sender<Result<WatchedEvent, Error>>,
    },
    /// Persistent or recursive.
    Persistent {
        recursive: bool,
        tx: mpsc::Sender<WatchedEvent>,
    },
    /// A resumable stream (new, or resumed after a reconnect).
    Stream {
        path: String,
        recursive: bool,
        last_zxid: i64,
        tx: mpsc::Sender<Result<WatchedEvent, Error>>,
    },
}

/// A request handed to the connection task.
#[derive(Debug)]
pub(crate) struct Command {
    pub(crate) op: Op,
    /// Server-side path the request is about (for watch registration).
    pub(crate) path: String,
    pub(crate) watch: Option<WatchReg>,
    pub(crate) reply: oneshot::Sender<Result<proto::v1::Response, Error>>,
}

/// State shared between the handles and the task.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) session_id: AtomicI64,
    pub(crate) password: Mutex<Vec<u8>>,
    pub(crate) timeout_ms: AtomicI64,
    pub(crate) last_zxid: AtomicI64,
    pub(crate) registry: Mutex<crate::watch::Registry>,
    pub(crate) chroot: Option<String>,
    /// Credentials proven with add_auth, re-sent after every reconnect.
    pub(crate) auth: Mutex<Vec<(String, Vec<u8>)>>,
    pub(crate) state: watch::Sender<SessionState>,
    pub(crate) events: broadcast::Sender<SessionEvent>,
}

impl Shared {
    pub(crate) fn to_client_path(&self, server_path: &str) -> String {
        match &self.chroot {
            None => server_path.to_string(),
            Some(root) if server_path == root => "/".to_string(),
            Some(root) => server_path
                .strip_prefix(root.as_str())
                .map_or_else(|| server_path.to_string(), str::to_string),
        }
    }

    fn set_state(&self, state: SessionState, event: Option<SessionEvent>) {
        self.state.send_replace(state);
        if let Some(event) = event {
            let _ = self.events.send(event);
        }
    }

    fn seen(&self, zxid: i64) {
        self.last_zxid.fetch_max(zxid, Ordering::Relaxed);
    }
}

/// An established session stream.
pub(crate) struct Link {
    tx: mpsc::Sender<ClientFrame>,
    rx: tonic::Streaming<ServerFrame>,
}

enum Refused {
    /// Try another server.
    Retry(String),
    /// The session is gone.
    Fatal(Error),
}

async fn open(
    host: &str,
    connect: proto::v1::Connect,
    timeout: Duration,
) -> Result<(Link, proto::v1::Connected), Refused> {
    let endpoint = tonic::transport::Endpoint::from_shared(format!("http://{host}"))
        .map_err(|e| Refused::Fatal(Error::Connect(format!("bad host {host:?}: {e}"))))?
        .connect_timeout(timeout)
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(10))
        .keep_alive_timeout(Duration::from_secs(20));
    let channel = tokio::time::timeout(timeout, endpoint.connect())
        .await
        .map_err(|_| Refused::Retry(format!("{host}: connect timed out")))?
        .map_err(|e| Refused::Retry(format!("{host}: {e}")))?;
    let mut client = CorralClient::new(channel)
        .max_decoding_message_size(usize::MAX)
        .max_encoding_message_size(usize::MAX);
    let (tx, rx) = mpsc::channel(1024);
    tx.send(ClientFrame {
        frame: Some(Frame::Connect(connect)),
    })
    .await
    .map_err(|_| Refused::Retry(format!("{host}: stream closed")))?;
    let handshake = async {
        let mut inbound = client.session(ReceiverStream::new(rx)).await?.into_inner();
        let first = inbound.message().await?;
        Ok::<_, tonic::Status>((inbound, first))
    };
    let (inbound, first) = tokio::time::timeout(timeout, handshake)
        .await
        .map_err(|_| Refused::Retry(format!("{host}: handshake timed out")))?
        .map_err(|e| Refused::Retry(format!("{host}: {e}")))?;
    match first.and_then(|f| f.frame) {
        Some(server_frame::Frame::Connected(c)) => Ok((Link { tx, rx: inbound }, c)),
        Some(server_frame::Frame::Rejected(r)) => match ErrorCode::try_from(r.err) {
            Ok(ErrorCode::SessionExpired) => Err(Refused::Fatal(Error::SessionExpired)),
            Ok(ErrorCode::AuthFailed) => Err(Refused::Fatal(Error::AuthFailed)),
            _ => Err(Refused::Retry(format!(
                "{host}: refused ({}): {}",
                r.err, r.message
            ))),
        },
        other => Err(Refused::Retry(format!(
            "{host}: unexpected first frame {other:?}"
        ))),
    }
}

fn backoff() -> impl Iterator<Item = Duration> {
    backon::ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(20))
        .with_max_delay(Duration::from_millis(1000))
        .with_jitter()
        .without_max_times()
        .build()
}

/// Tries every host in turn, with backoff, until one accepts or `deadline`.
async fn establish(
    shared: &Shared,
    hosts: &[String],
    requested_ms: i32,
    deadline: Instant,
) -> Result<Link, Error> {
    let mut delays = backoff();
    let mut last_error = String::from("no attempt");
    let start = (shared.session_id.load(Ordering::Relaxed) as usize) % hosts.len().max(1);
    let mut attempt = 0usize;
    loop {
        let host = &hosts[(start + attempt) % hosts.len()];
        attempt += 1;
        let now = Instant::now();
        if now >= deadline {
            return Err(if shared.session_id.load(Ordering::Relaxed) == 0 {
                Error::Connect(last_error)
            } else {
                Error::SessionExpired
            });
        }
        let per_try = (deadline - now).min(Duration::from_secs(5));
        let connect = proto::v1::Connect {
            session_id: shared.session_id.load(Ordering::Relaxed),
            password: shared.password.lock().clone(),
            timeout_ms: requested_ms,
            last_zxid_seen: shared.last_zxid.load(Ordering::Relaxed),
        };
        match open(host, connect, per_try).await {
            Ok((link, connected)) => {
                shared
                    .session_id
                    .store(connected.session_id, Ordering::Relaxed);
                *shared.password.lock() = connected.password;
                shared
                    .timeout_ms
                    .store(connected.timeout_ms as i64, Ordering::Relaxed);
                shared.seen(connected.zxid);
                tracing::debug!(
                    host,
                    session = connected.session_id,
                    reattached = connected.reattached,
                    "connected"
                );
                return Ok(link);
            }
            Err(Refused::Fatal(error)) => return Err(error),
            Err(Refused::Retry(why)) => {
                tracing::debug!(%why, "connect attempt failed");
                last_error = why;
                if attempt.is_multiple_of(hosts.len()) {
                    let pause = delays.next().unwrap_or(Duration::from_secs(1));
                    tokio::time::sleep_until((Instant::now() + pause).min(deadline)).await;
                }
            }
        }
    }
}

/// Establishes the first session.
pub(crate) async fn first_session(shared: &Shared, builder: &ClientBuilder) -> Result<Link, Error> {
    let requested = builder.session_timeout.as_millis().min(i32::MAX as u128) as i32;
    establish(
        shared,
        &builder.hosts,
        requested,
        Instant::now() + builder.connect_timeout,
    )
    .await
}

struct Pending {
    reply: oneshot::Sender<Result<proto::v1::Response, Error>>,
    watch: Option<WatchReg>,
    path: String,
    closing: bool,
}

enum Ended {
    /// The connection dropped; the session may come back.
    Lost,
    /// close() finished, or every handle was dropped.
    Closed,
}

/// The connection task: serves until closed or the session expires.
pub(crate) async fn run(
    shared: Arc<Shared>,
    builder: ClientBuilder,
    mut link: Link,
    mut commands: mpsc::Receiver<Command>,
) {
    let requested = builder.session_timeout.as_millis().min(i32::MAX as u128) as i32;
    let mut next_xid: i32 = 1;
    let mut pending: HashMap<i32, Pending> = HashMap::new();
    loop {
        let ended = serve(
            &shared,
            &mut link,
            &mut commands,
            &mut pending,
            &mut next_xid,
        )
        .await;
        for (_, p) in pending.drain() {
            let _ = p.reply.send(Err(if p.closing {
                Error::Closed
            } else {
                Error::ConnectionLoss
            }));
        }
        if let Ended::Closed = ended {
            shared.set_state(SessionState::Closed, Some(SessionEvent::Closed));
            shared.registry.lock().fail_all(Error::Closed);
            return;
        }
        shared.set_state(SessionState::Suspended, Some(SessionEvent::Suspended));
        let timeout =
            Duration::from_millis(shared.timeout_ms.load(Ordering::Relaxed).max(1) as u64);
        match establish(&shared, &builder.hosts, requested, Instant::now() + timeout).await {
            Ok(new_link) => {
                link = new_link;
                resubscribe(&shared, &link, &mut pending, &mut next_xid).await;
                shared.set_state(SessionState::Connected, Some(SessionEvent::Reconnected));
            }
            Err(error) => {
                tracing::info!(%error, "session lost");
                shared.set_state(SessionState::Expired, Some(SessionEvent::Expired));
                shared.registry.lock().fail_all(Error::SessionExpired);
                commands.close();
                while let Some(cmd) = commands.recv().await {
                    let _ = cmd.reply.send(Err(Error::SessionExpired));
                }
                return;
            }
        }
    }
}

fn take_xid(next: &mut i32) -> i32 {
    let xid = *next;
    *next = if *next == i32::MAX { 1 } else { *next + 1 };
    xid
}

/// Re-registers watches (one SetWatches) and resumes resumable streams, before
/// any queued user request is sent.
async fn resubscribe(
    shared: &Shared,
    link: &Link,
    pending: &mut HashMap<i32, Pending>,
    next_xid: &mut i32,
) {
    let (mut lists, streams) = {
        let mut registry = shared.registry.lock();
        let lists = registry.registrations();
        let streams: Vec<ResumableStream> = registry.streams.drain().map(|(_, s)| s).collect();
        (lists, streams)
    };
    lists.relative_zxid = shared.last_zxid.load(Ordering::Relaxed);
    let mut ops: Vec<(Op, String, Option<WatchReg>)> = shared
        .auth
        .lock()
        .iter()
        .map(|(scheme, auth)| {
            let op = Op::AddAuth(proto::v1::AddAuthOp {
                scheme: scheme.clone(),
                auth: auth.clone(),
            });
            (op, String::new(), None)
        })
        .collect();
    ops.push((Op::SetWatches(lists), String::new(), None));
    for s in streams {
        let op = Op::WatchFrom(proto::v1::WatchFromOp {
            path: s.path.clone(),
            recursive: s.recursive,
            from_zxid: s.last_zxid,
        });
        let reg = WatchReg::Stream {
            path: s.path.clone(),
            recursive: s.recursive,
            last_zxid: s.last_zxid,
            tx: s.tx,
        };
        ops.push((op, s.path, Some(reg)));
    }
    for (op, path, watch) in ops {
        let xid = take_xid(next_xid);
        let (reply, _ignored) = oneshot::channel();
        pending.insert(
            xid,
            Pending {
                reply,
                watch,
                path,
                closing: false,
            },
        );
        let frame = ClientFrame {
            frame: Some(Frame::Request(Request { xid, op: Some(op) })),
        };
        if link.tx.send(frame).await.is_err() {
            return;
        }
    }
}

async fn serve(
    shared: &Shared,
    link: &mut Link,
    commands: &mut mpsc::Receiver<Command>,
    pending: &mut HashMap<i32, Pending>,
    next_xid: &mut i32,
) -> Ended {
    let timeout = Duration::from_millis(shared.timeout_ms.load(Ordering::Relaxed).max(3) as u64);
    let ping_every = timeout / 3;
    let read_timeout = timeout * 2 / 3;
    let mut last_recv = Instant::now();
    let mut last_send = Instant::now();
    let mut closing = false;
    loop {
        let ping_at = last_send + ping_every;
        let dead_at = last_recv + read_timeout;
        tokio::select! {
            biased;
            frame = link.rx.message() => {
                last_recv = Instant::now();
                match frame {
                    Ok(Some(frame)) => {
                        if handle_frame(shared, frame, pending) {
                            return Ended::Closed;
                        }
                    }
                    Ok(None) | Err(_) => return Ended::Lost,
                }
            }
            cmd = commands.recv(), if !closing => {
                let Some(cmd) = cmd else {
                    // Every handle is gone: close the session politely.
                    closing = true;
                    let xid = take_xid(next_xid);
                    let (reply, _ignored) = oneshot::channel();
                    pending.insert(xid, Pending { reply, watch: None, path: String::new(), closing: true });
                    let op = Op::CloseSession(proto::v1::CloseSessionOp {});
                    let frame = ClientFrame { frame: Some(Frame::Request(Request { xid, op: Some(op) })) };
                    if link.tx.send(frame).await.is_err() {
                        return Ended::Closed;
                    }
                    continue;
                };
                let is_close = matches!(cmd.op, Op::CloseSession(_));
                let xid = take_xid(next_xid);
                let frame = ClientFrame { frame: Some(Frame::Request(Request { xid, op: Some(cmd.op) })) };
                pending.insert(xid, Pending { reply: cmd.reply, watch: cmd.watch, path: cmd.path, closing: is_close });
                closing |= is_close;
                if link.tx.send(frame).await.is_err() {
                    return Ended::Lost;
                }
                last_send = Instant::now();
            }
            _ = tokio::time::sleep_until(ping_at) => {
                if link.tx.send(ClientFrame { frame: Some(Frame::Ping(proto::v1::Ping {})) }).await.is_err() {
                    return Ended::Lost;
                }
                last_send = Instant::now();
            }
            _ = tokio::time::sleep_until(dead_at) => {
                tracing::debug!("no frame from the server in {read_timeout:?}; reconnecting");
                return Ended::Lost;
            }
        }
    }
}

/// Handles one server frame; true when the session's close completed.
fn handle_frame(shared: &Shared, frame: ServerFrame, pending: &mut HashMap<i32, Pending>) -> bool {
    match frame.frame {
        Some(server_frame::Frame::Response(response)) => {
            shared.seen(response.zxid);
            let Some(p) = pending.remove(&response.xid) else {
                return false;
            };
            if let Some(watch) = p.watch {
                register(shared, watch, &p.path, &response);
            }
            let done = p.closing;
            let _ = p.reply.send(Ok(response));
            done
        }
        Some(server_frame::Frame::Event(event)) => {
            shared.seen(event.zxid);
            let Some(event_type) = EventType::from_i32(event.r#type) else {
                return false;
            };
            let client_event = WatchedEvent {
                event_type,
                path: shared.to_client_path(&event.path),
                zxid: event.zxid,
            };
            let mut registry = shared.registry.lock();
            if event.stream_id == 0 {
                registry.dispatch(&event.path, &client_event);
            } else if let Some(stream) = registry.streams.get_mut(&event.stream_id) {
                let item = if event.err == ErrorCode::Compacted.as_i32() {
                    Err(Error::Compacted)
                } else {
                    Ok(client_event)
                };
                let ended = item.is_err();
                if item.is_ok() {
                    stream.last_zxid = event.zxid;
                }
                match stream.tx.try_send(item) {
                    Ok(()) if !ended => {}
                    Ok(()) => {
                        registry.streams.remove(&event.stream_id);
                    }
                    Err(_) => {
                        // Too slow a consumer: end the stream rather than miss events.
                        let _ = stream.tx.try_send(Err(Error::Overflow));
                        registry.streams.remove(&event.stream_id);
                    }
                }
            }
            false
        }
        Some(server_frame::Frame::Pong(pong)) => {
            shared.seen(pong.zxid);
            false
        }
        _ => false,
    }
}

fn register(shared: &Shared, watch: WatchReg, path: &str, response: &proto::v1::Response) {
    let mut registry = shared.registry.lock();
    match watch {
        WatchReg::OneShot {
            kind,
            if_missing,
            tx,
        } => {
            if response.err == 0 {
                registry.add_one_shot(kind, path, tx);
            } else if response.err == ErrorCode::NoNode.as_i32() {
                if let Some(kind) = if_missing {
                    registry.add_one_shot(kind, path, tx);
                }
            }
        }
        WatchReg::Persistent { recursive, tx } => {
            if response.err == 0 {
                registry.add_persistent(recursive, path, tx);
            }
        }
        WatchReg::Stream {
            path,
            recursive,
            last_zxid,
            tx,
        } => {
            if let Some(proto::v1::response::Result::WatchFrom(w)) = &response.result {
                registry.streams.insert(
                    w.stream_id,
                    ResumableStream {
                        path,
                        recursive,
                        last_zxid,
                        tx,
                    },
                );
            } else if response.err != 0 {
                let _ = tx.try_send(Err(Error::from_wire(response.err, &path)));
            }
        }
    }
}
