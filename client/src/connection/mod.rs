//! Owns the one I/O task per client: the gRPC session stream, pending
//! requests by xid, pings, reconnection with backoff, watch re-registration,
//! resumable streams, and the session state machine.
//!
//! ```text
//!  Client handles ──Command (bounded, backpressure)──▶ task ──frames──▶ server
//!        ▲                                              │
//!        └──── oneshot reply / watch channels ◀─────────┘◀── Response, WatchEvent, Pong
//! ```
//!
//! Life of the task: serve the stream; on loss fail the requests in flight with
//! `ConnectionLoss`, go `Suspended` and reconnect (hosts in turn, backoff)
//! presenting session id, password and last zxid, until the session timeout
//! has passed since the last frame heard; then `Expired`. After a reattach it
//! re-sends credentials, re-registers every watch with one `SetWatches` (split
//! only past 128 KiB of paths, as ZooKeeper's client does), and
//! resumes the streams, all before any request queued meanwhile: requests
//! issued while suspended wait for the reconnect rather than failing.
//!
//! Submodules: [`establish`] (getting a stream), [`requests`] (xids and
//! waiters), [`streams`] (resumable watch streams).

mod establish;
pub(crate) mod requests;
pub(crate) mod streams;

use crate::chroot::Chroot;
use crate::session::{SessionEvent, SessionState};
use crate::watch::{EventType, Kind, Registry, WatchedEvent};
use crate::{ClientBuilder, Error};
use establish::{establish, Hosts, Link};
use parking_lot::Mutex;
use proto::v1::{request::Op, response, server_frame, Response, ServerFrame, WatchEvent};
use proto::ErrorCode;
use requests::{Requests, Waiter};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use streams::{NewStream, Streams};
use tokio::sync::{broadcast, mpsc, oneshot, watch, Notify};
use tokio::time::Instant;

/// Requests queued between the handles and the task. Overflow policy:
/// backpressure (callers wait for room).
pub(crate) const COMMAND_QUEUE: usize = 1024;

/// Path text per SetWatches request (as ZooKeeper's client batches).
const SET_WATCHES_BATCH_BYTES: usize = 128 * 1024;

/// How a request's watch is registered locally once the server accepted it.
#[derive(Debug)]
pub(crate) enum WatchReg {
    /// One-shot: `kind` if the node exists, `if_missing` (exists() only) if not.
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
    /// A new resumable stream.
    Stream(NewStream),
}

/// A request handed to the connection task.
#[derive(Debug)]
pub(crate) struct Command {
    pub(crate) op: Op,
    /// Server-side path the request is about (for watch registration).
    pub(crate) path: String,
    pub(crate) watch: Option<WatchReg>,
    pub(crate) reply: oneshot::Sender<Result<Response, Error>>,
}

/// State shared between the handles and the task. Locks are held for short,
/// synchronous sections only.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) session_id: AtomicI64,
    pub(crate) password: Mutex<Vec<u8>>,
    pub(crate) timeout_ms: AtomicI64,
    pub(crate) last_zxid: AtomicI64,
    pub(crate) registry: Mutex<Registry>,
    pub(crate) chroot: Chroot,
    /// Credentials proven with add_auth, re-sent after every reconnect.
    pub(crate) auth: Mutex<Vec<(String, Vec<u8>)>>,
    pub(crate) state: watch::Sender<SessionState>,
    pub(crate) events: broadcast::Sender<SessionEvent>,
    /// `Client::close` asks the task to close the session.
    pub(crate) close: Notify,
    /// A resumable stream's consumer drained its buffer after a stall, or
    /// dropped the stream.
    pub(crate) stream_wake: Arc<Notify>,
    /// TLS to the servers, if they require it.
    pub(crate) tls: Option<crate::TlsConfig>,
}

impl Shared {
    pub(crate) fn new(builder: &ClientBuilder) -> Shared {
        let (state, _) = watch::channel(SessionState::Connecting);
        let (events, _) = broadcast::channel(crate::session::SESSION_EVENT_BUFFER);
        Shared {
            session_id: AtomicI64::new(0),
            password: Mutex::new(Vec::new()),
            timeout_ms: AtomicI64::new(duration_ms(builder.session_timeout).into()),
            last_zxid: AtomicI64::new(0),
            registry: Mutex::new(Registry::default()),
            chroot: Chroot::new(builder.chroot.clone()),
            auth: Mutex::new(Vec::new()),
            state,
            events,
            close: Notify::new(),
            stream_wake: Arc::new(Notify::new()),
            tls: builder.tls.clone(),
        }
    }

    pub(crate) fn set_state(&self, state: SessionState, event: Option<SessionEvent>) {
        self.state.send_replace(state);
        if let Some(event) = event {
            let _ = self.events.send(event);
        }
    }

    /// Records a zxid the server reported (responses, pongs, one-shot and
    /// persistent events, the handshake). Stream events are not counted: the
    /// server does not order them against the connection's other frames.
    pub(crate) fn seen(&self, zxid: i64) {
        self.last_zxid.fetch_max(zxid, Ordering::Relaxed);
    }

    /// The negotiated session timeout.
    pub(crate) fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms.load(Ordering::Relaxed).max(3) as u64)
    }
}

fn duration_ms(d: Duration) -> i32 {
    d.as_millis().min(i32::MAX as u128) as i32
}

/// Establishes the first session (for `ClientBuilder::build`) and starts the
/// task. The task ends when the session is closed or expires, or when every
/// handle is dropped (it then closes the session).
pub(crate) async fn start(
    shared: Arc<Shared>,
    builder: &ClientBuilder,
) -> Result<mpsc::Sender<Command>, Error> {
    let mut hosts = Hosts::new(builder.hosts.clone());
    let requested_ms = duration_ms(builder.session_timeout);
    let deadline = Instant::now() + builder.connect_timeout;
    let link = establish(&shared, &mut hosts, requested_ms, deadline).await?;
    shared.set_state(SessionState::Connected, Some(SessionEvent::Connected));
    let (commands, rx) = mpsc::channel(COMMAND_QUEUE);
    let task = Task {
        shared,
        hosts,
        requested_ms,
        commands: rx,
        stash: None,
        requests: Requests::default(),
        streams: Streams::default(),
    };
    let span = tracing::debug_span!(
        "session",
        id = task.shared.session_id.load(Ordering::Relaxed)
    );
    tokio::spawn(tracing::Instrument::instrument(task.run(link), span));
    Ok(commands)
}

/// How serving a stream ended.
enum Ended {
    /// The stream broke or went silent; the session may come back.
    Lost { last_heard: Instant },
    /// The session was closed (or every handle dropped).
    Closed,
}

/// How a reconnect ended.
enum Reconnect {
    Linked(Link),
    Closed,
    Expired(Error),
}

struct Task {
    shared: Arc<Shared>,
    hosts: Hosts,
    requested_ms: i32,
    commands: mpsc::Receiver<Command>,
    /// A request taken from the queue while suspended (sent first on reconnect).
    stash: Option<Command>,
    requests: Requests,
    streams: Streams,
}

impl Task {
    async fn run(mut self, mut link: Link) {
        loop {
            let ended = self.serve(&mut link).await;
            drop(link);
            match ended {
                Ended::Closed => {
                    self.requests.disconnected(&Error::Closed);
                    return self.finish(SessionState::Closed, Error::Closed).await;
                }
                Ended::Lost { last_heard } => {
                    self.requests.disconnected(&Error::ConnectionLoss);
                    self.streams.disconnected();
                    self.shared
                        .set_state(SessionState::Suspended, Some(SessionEvent::Suspended));
                    let deadline = last_heard + self.shared.timeout();
                    match self.reconnect(deadline).await {
                        Reconnect::Linked(new_link) => {
                            link = new_link;
                            self.resubscribe();
                            self.shared.set_state(
                                SessionState::Connected,
                                Some(SessionEvent::Reconnected),
                            );
                        }
                        Reconnect::Closed => {
                            return self.finish(SessionState::Closed, Error::Closed).await;
                        }
                        Reconnect::Expired(error) => {
                            tracing::info!(%error, "session lost");
                            return self
                                .finish(SessionState::Expired, Error::SessionExpired)
                                .await;
                        }
                    }
                }
            }
        }
    }

    /// Ends the session for good: watchers and callers get `error`.
    async fn finish(mut self, state: SessionState, error: Error) {
        let event = match state {
            SessionState::Expired => SessionEvent::Expired,
            _ => SessionEvent::Closed,
        };
        self.shared.registry.lock().fail_all(error.clone());
        self.streams.fail_all(&error);
        self.shared.set_state(state, Some(event));
        if let Some(cmd) = self.stash.take() {
            let _ = cmd.reply.send(Err(error.clone()));
        }
        self.commands.close();
        while let Some(cmd) = self.commands.recv().await {
            let _ = cmd.reply.send(Err(error.clone()));
        }
    }

    /// Reconnects until `deadline`, or until close() / every handle dropped.
    async fn reconnect(&mut self, deadline: Instant) -> Reconnect {
        let attempt = establish(&self.shared, &mut self.hosts, self.requested_ms, deadline);
        tokio::pin!(attempt);
        loop {
            tokio::select! {
                result = &mut attempt => return match result {
                    Ok(link) => Reconnect::Linked(link),
                    Err(error) => Reconnect::Expired(error),
                },
                _ = self.shared.close.notified() => return Reconnect::Closed,
                cmd = self.commands.recv(), if self.stash.is_none() => match cmd {
                    Some(cmd) => self.stash = Some(cmd),
                    None => return Reconnect::Closed,
                },
            }
        }
    }

    /// After a reattach, before any queued request: credentials, one
    /// SetWatches (catch-up events for what changed after our last zxid), and
    /// the resumable streams.
    fn resubscribe(&mut self) {
        let credentials = self.shared.auth.lock().clone();
        for (scheme, auth) in credentials {
            let op = Op::AddAuth(proto::v1::AddAuthOp { scheme, auth });
            self.requests.submit(op, Waiter::Internal);
        }
        let mut lists = self.shared.registry.lock().registrations();
        lists.relative_zxid = self.shared.last_zxid.load(Ordering::Relaxed);
        for batch in Registry::batches(lists, SET_WATCHES_BATCH_BYTES) {
            self.requests
                .submit(Op::SetWatches(batch), Waiter::SetWatches);
        }
        self.streams.reconnected(&mut self.requests);
    }

    /// Serves one stream until it ends.
    async fn serve(&mut self, link: &mut Link) -> Ended {
        let timeout = self.shared.timeout();
        let ping_every = timeout / 3;
        let read_timeout = timeout * 2 / 3;
        let mut last_heard = Instant::now();
        let mut last_sent = Instant::now();
        let mut closing: Option<Instant> = None;
        if let Some(cmd) = self.stash.take() {
            self.submit(cmd);
        }
        loop {
            match self.requests.flush(&link.tx) {
                Ok(true) => last_sent = Instant::now(),
                Ok(false) => {}
                Err(()) => return lost(closing, last_heard),
            }
            let backlog = self.requests.has_backlog();
            let full = link.tx.capacity() == 0;
            let ping_at = last_sent + ping_every;
            let dead_at = last_heard + read_timeout;
            let close_by = closing.unwrap_or(dead_at);
            // Biased: reading first keeps the server from blocking on us.
            tokio::select! {
                biased;
                frame = link.rx.message() => match frame {
                    Ok(Some(frame)) => {
                        last_heard = Instant::now();
                        if self.on_frame(frame) {
                            return Ended::Closed;
                        }
                    }
                    Ok(None) | Err(_) => return lost(closing, last_heard),
                },
                _ = self.shared.close.notified(), if closing.is_none() => {
                    closing = Some(Instant::now() + timeout);
                    self.requests.submit(Op::CloseSession(proto::v1::CloseSessionOp {}), Waiter::Close);
                }
                cmd = self.commands.recv(), if closing.is_none() && !backlog && !full => match cmd {
                    Some(cmd) => self.submit(cmd),
                    None => {
                        // Every handle is gone: close the session politely.
                        closing = Some(Instant::now() + timeout);
                        self.requests.submit(Op::CloseSession(proto::v1::CloseSessionOp {}), Waiter::Close);
                    }
                },
                permit = link.tx.reserve(), if backlog || full => match permit {
                    Ok(permit) => {
                        if let Some(frame) = self.requests.pop_frame() {
                            permit.send(frame);
                            last_sent = Instant::now();
                        }
                    }
                    Err(_) => return lost(closing, last_heard),
                },
                _ = self.shared.stream_wake.notified(), if !self.streams.is_empty() => {
                    self.streams.wake(&mut self.requests);
                }
                _ = tokio::time::sleep_until(ping_at), if !backlog => self.requests.ping(),
                _ = tokio::time::sleep_until(dead_at) => {
                    tracing::debug!(?read_timeout, "nothing heard from the server; reconnecting");
                    return lost(closing, last_heard);
                }
                _ = tokio::time::sleep_until(close_by), if closing.is_some() => {
                    tracing::debug!("no answer to CloseSession; closing anyway");
                    return Ended::Closed;
                }
            }
        }
    }

    fn submit(&mut self, cmd: Command) {
        let waiter = Waiter::User {
            reply: cmd.reply,
            watch: cmd.watch,
            path: cmd.path,
        };
        self.requests.submit(cmd.op, waiter);
    }

    /// Handles one frame; true when our CloseSession was answered.
    fn on_frame(&mut self, frame: ServerFrame) -> bool {
        match frame.frame {
            Some(server_frame::Frame::Response(response)) => {
                self.shared.seen(response.zxid);
                match self.requests.complete(response.xid) {
                    Some(waiter) => self.answered(waiter, response),
                    None => {
                        tracing::debug!(xid = response.xid, "response to no request");
                        false
                    }
                }
            }
            Some(server_frame::Frame::Event(event)) if event.stream_id != 0 => {
                self.streams
                    .on_event(event, &self.shared.chroot, &mut self.requests);
                false
            }
            Some(server_frame::Frame::Event(event)) => {
                self.shared.seen(event.zxid);
                self.dispatch(&event);
                false
            }
            Some(server_frame::Frame::Pong(pong)) => {
                self.shared.seen(pong.zxid);
                false
            }
            other => {
                tracing::debug!(?other, "unexpected frame ignored");
                false
            }
        }
    }

    fn dispatch(&self, event: &WatchEvent) {
        let Some(event_type) = EventType::from_i32(event.r#type) else {
            return;
        };
        let client_event = WatchedEvent {
            event_type,
            path: self.shared.chroot.to_client(&event.path),
            zxid: event.zxid,
        };
        self.shared
            .registry
            .lock()
            .dispatch(&event.path, &client_event);
    }

    fn answered(&mut self, waiter: Waiter, response: Response) -> bool {
        match waiter {
            Waiter::User { reply, watch, path } => {
                if let Some(watch) = watch {
                    self.register(watch, &path, &response);
                }
                let _ = reply.send(Ok(response));
            }
            Waiter::Close => return true,
            Waiter::SetWatches => {
                let lost = ErrorCode::ConnectionLoss.as_i32();
                if response.err != 0 && response.err != lost {
                    // The server kept none of them: tell every local waiter,
                    // who must read again (and watch again).
                    let error = Error::from_wire(response.err, "");
                    tracing::warn!(%error, "watches could not be re-registered");
                    self.shared.registry.lock().fail_all(error);
                }
            }
            Waiter::Resume(local) => {
                self.streams
                    .resumed(local, &response, &self.shared.chroot, &mut self.requests);
            }
            Waiter::Internal => {
                if response.err != 0 {
                    tracing::debug!(code = response.err, "internal request refused");
                }
            }
        }
        false
    }

    fn register(&mut self, watch: WatchReg, path: &str, response: &Response) {
        match watch {
            WatchReg::OneShot {
                kind,
                if_missing,
                tx,
            } => {
                let kind = if response.err == 0 {
                    Some(kind)
                } else if response.err == ErrorCode::NoNode.as_i32() {
                    if_missing
                } else {
                    None
                };
                if let Some(kind) = kind {
                    self.shared.registry.lock().add_one_shot(kind, path, tx);
                }
            }
            WatchReg::Persistent { recursive, tx } => {
                if response.err == 0 {
                    self.shared
                        .registry
                        .lock()
                        .add_persistent(recursive, path, tx);
                }
            }
            WatchReg::Stream(new) => {
                if let Some(response::Result::WatchFrom(w)) = &response.result {
                    if response.err == 0 {
                        self.streams.opened(
                            new,
                            w.stream_id,
                            &self.shared.chroot,
                            &mut self.requests,
                        );
                    }
                }
            }
        }
    }
}

fn lost(closing: Option<Instant>, last_heard: Instant) -> Ended {
    if closing.is_some() {
        // The stream broke while closing: do not reconnect to finish.
        Ended::Closed
    } else {
        Ended::Lost { last_heard }
    }
}
