//! Owns the resumable watch streams (`WatchFrom`) of a client across
//! connections: where each stream stands, which server stream carries it now,
//! and the events that arrive before the server told us the stream's id.
//!
//! Exactly-once delivery rests on a position per stream: the zxid of the last
//! delivered event and how many events of that zxid were delivered (a multi
//! produces several events with one zxid). A stream resumes with
//! `from_zxid = zxid - 1` and skips the events of `zxid` it already delivered,
//! or with `from_zxid = zxid` when none of `zxid` was delivered yet.
//!
//! The server does not order a stream's events against responses, so events
//! of a new stream may arrive before the `WatchFrom` answer that names its id.
//! They are kept (at most [`ORPHAN_LIMIT`]) while a `WatchFrom` is unanswered;
//! past the limit the stream is restarted from its position instead.

use crate::chroot::Chroot;
use crate::connection::requests::{Requests, Waiter};
use crate::watch::{EventType, StallSignal, WatchedEvent, WATCH_BUFFER};
use crate::Error;
use proto::v1::{request::Op, response, CancelWatchFromOp, Response, WatchEvent, WatchFromOp};
use proto::ErrorCode;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Events kept for streams whose id is not known yet.
pub(crate) const ORPHAN_LIMIT: usize = WATCH_BUFFER;

/// The sending side of a stream's channel.
pub(crate) type StreamTx = mpsc::Sender<Result<WatchedEvent, Error>>;

/// A stream's channel: [`WATCH_BUFFER`] events plus one slot kept for the
/// error that ends it, so that error is always delivered.
pub(crate) fn channel() -> (StreamTx, mpsc::Receiver<Result<WatchedEvent, Error>>) {
    mpsc::channel(WATCH_BUFFER + 1)
}

/// A stream the caller asked for, registered once the server accepted it.
#[derive(Debug)]
pub(crate) struct NewStream {
    pub(crate) path: String,
    pub(crate) recursive: bool,
    pub(crate) from_zxid: i64,
    pub(crate) tx: StreamTx,
    pub(crate) signal: Arc<StallSignal>,
}

#[derive(Debug)]
struct Tracked {
    /// Server-side path.
    path: String,
    recursive: bool,
    tx: StreamTx,
    signal: Arc<StallSignal>,
    /// zxid of the last delivered event (or the starting point).
    zxid: i64,
    /// Events of `zxid` delivered so far.
    at_zxid: u32,
    /// Events of `zxid` still to skip after a resume.
    skip: u32,
    /// The server stream carrying it now, if any.
    server_id: Option<i64>,
    /// Paused because the consumer's buffer was full.
    stalled: bool,
}

impl Tracked {
    fn has_room_to_resume(&self) -> bool {
        self.tx.capacity() > WATCH_BUFFER / 2
    }
}

/// Every resumable stream of the client.
#[derive(Debug, Default)]
pub(crate) struct Streams {
    next_local: u64,
    tracked: HashMap<u64, Tracked>,
    by_server: HashMap<i64, u64>,
    orphans: HashMap<i64, Vec<WatchEvent>>,
    orphan_count: usize,
    /// Server ids whose early events did not all fit in the orphan buffer.
    overflowed: HashSet<i64>,
    /// Server ids we cancelled on this connection; their late events are dropped.
    cancelled: HashSet<i64>,
}

impl Streams {
    /// A `WatchFrom` the caller issued was accepted with `server_id`.
    pub(crate) fn opened(
        &mut self,
        new: NewStream,
        server_id: i64,
        chroot: &Chroot,
        reqs: &mut Requests,
    ) {
        let local = self.next_local;
        self.next_local += 1;
        self.tracked.insert(
            local,
            Tracked {
                path: new.path,
                recursive: new.recursive,
                tx: new.tx,
                signal: new.signal,
                zxid: new.from_zxid,
                at_zxid: 0,
                skip: 0,
                server_id: None,
                stalled: false,
            },
        );
        self.attach(local, server_id, chroot, reqs);
    }

    /// The answer to a resume of stream `local`.
    pub(crate) fn resumed(
        &mut self,
        local: u64,
        response: &Response,
        chroot: &Chroot,
        reqs: &mut Requests,
    ) {
        let server_id = match &response.result {
            Some(response::Result::WatchFrom(w)) if response.err == 0 => w.stream_id,
            _ => {
                if let Some(t) = self.tracked.remove(&local) {
                    let error = if response.err == 0 {
                        Error::Protocol("WatchFrom answered without a stream id".into())
                    } else {
                        Error::from_wire(response.err, &chroot.to_client(&t.path))
                    };
                    tracing::debug!(%error, "resumable stream cannot resume");
                    let _ = t.tx.try_send(Err(error));
                }
                return;
            }
        };
        if self.tracked.contains_key(&local) {
            self.attach(local, server_id, chroot, reqs);
        } else {
            self.cancel(server_id, reqs);
        }
    }

    fn attach(&mut self, local: u64, server_id: i64, chroot: &Chroot, reqs: &mut Requests) {
        if let Some(t) = self.tracked.get_mut(&local) {
            t.server_id = Some(server_id);
            self.by_server.insert(server_id, local);
        }
        let early = self.orphans.remove(&server_id).unwrap_or_default();
        self.orphan_count -= early.len();
        for event in early {
            self.deliver(local, event, chroot, reqs);
        }
        let stalled = self.tracked.get(&local).is_some_and(|t| t.stalled);
        if self.overflowed.remove(&server_id) && !stalled {
            // Some early events were dropped: start again from the position
            // (a stalled stream resumes from it anyway).
            self.detach(local, reqs);
            self.resume(local, reqs);
        }
        if reqs.opening_streams() == 0 {
            self.orphans.clear();
            self.orphan_count = 0;
            self.overflowed.clear();
        }
    }

    /// A stream event from the server (`stream_id != 0`).
    pub(crate) fn on_event(&mut self, event: WatchEvent, chroot: &Chroot, reqs: &mut Requests) {
        if let Some(&local) = self.by_server.get(&event.stream_id) {
            self.deliver(local, event, chroot, reqs);
            return;
        }
        if self.cancelled.contains(&event.stream_id) || reqs.opening_streams() == 0 {
            return;
        }
        if self.orphan_count < ORPHAN_LIMIT {
            self.orphan_count += 1;
            self.orphans.entry(event.stream_id).or_default().push(event);
        } else {
            self.overflowed.insert(event.stream_id);
        }
    }

    fn deliver(&mut self, local: u64, event: WatchEvent, chroot: &Chroot, reqs: &mut Requests) {
        let Some(t) = self.tracked.get_mut(&local) else {
            return;
        };
        if t.stalled {
            return;
        }
        if event.err != 0 {
            let error = if event.err == ErrorCode::Compacted.as_i32() {
                Error::Compacted
            } else {
                Error::from_wire(event.err, &chroot.to_client(&event.path))
            };
            let _ = t.tx.try_send(Err(error));
            self.remove(local);
            return;
        }
        if event.zxid < t.zxid {
            return;
        }
        if event.zxid == t.zxid && t.skip > 0 {
            t.skip -= 1;
            return;
        }
        if t.tx.is_closed() {
            self.detach(local, reqs);
            self.remove(local);
            return;
        }
        if t.tx.capacity() <= 1 {
            self.stall(local, reqs);
            return;
        }
        if let Some(event_type) = EventType::from_i32(event.r#type) {
            let item = WatchedEvent {
                event_type,
                path: chroot.to_client(&event.path),
                zxid: event.zxid,
            };
            // Room was checked above and only this task sends.
            let _ = t.tx.try_send(Ok(item));
        }
        if event.zxid > t.zxid {
            t.zxid = event.zxid;
            t.at_zxid = 1;
            t.skip = 0;
        } else {
            t.at_zxid += 1;
        }
    }

    /// Pauses a stream whose consumer is behind: the server stream is
    /// cancelled and resumed later from the position.
    fn stall(&mut self, local: u64, reqs: &mut Requests) {
        let Some(t) = self.tracked.get_mut(&local) else {
            return;
        };
        t.stalled = true;
        t.signal.stalled.store(true, Ordering::Release);
        // The consumer may have drained everything before seeing the flag.
        let drained = t.has_room_to_resume();
        self.detach(local, reqs);
        if drained {
            self.unstall(local, reqs);
        }
    }

    fn unstall(&mut self, local: u64, reqs: &mut Requests) {
        if let Some(t) = self.tracked.get_mut(&local) {
            t.stalled = false;
            t.signal.stalled.store(false, Ordering::Release);
            self.resume(local, reqs);
        }
    }

    /// True if some stream is tracked (so a consumer may wake the task).
    pub(crate) fn is_empty(&self) -> bool {
        self.tracked.is_empty()
    }

    /// True if some stream waits for its consumer.
    #[cfg(test)]
    pub(crate) fn has_stalled(&self) -> bool {
        self.tracked.values().any(|t| t.stalled)
    }

    /// A consumer drained its buffer or went away: forget (and cancel) the
    /// streams nobody reads, resume every stalled stream with room.
    pub(crate) fn wake(&mut self, reqs: &mut Requests) {
        self.prune(reqs);
        let ready: Vec<u64> = self
            .tracked
            .iter()
            .filter(|(_, t)| t.stalled && t.has_room_to_resume())
            .map(|(local, _)| *local)
            .collect();
        for local in ready {
            self.unstall(local, reqs);
        }
    }

    /// Asks the server for the stream again, from its position.
    fn resume(&mut self, local: u64, reqs: &mut Requests) {
        let Some(t) = self.tracked.get_mut(&local) else {
            return;
        };
        let from_zxid = if t.at_zxid > 0 { t.zxid - 1 } else { t.zxid };
        t.skip = t.at_zxid;
        let op = Op::WatchFrom(WatchFromOp {
            path: t.path.clone(),
            recursive: t.recursive,
            from_zxid,
        });
        reqs.submit(op, Waiter::Resume(local));
    }

    /// Stops the server stream carrying `local`, if any.
    fn detach(&mut self, local: u64, reqs: &mut Requests) {
        if let Some(server_id) = self
            .tracked
            .get_mut(&local)
            .and_then(|t| t.server_id.take())
        {
            self.by_server.remove(&server_id);
            self.cancel(server_id, reqs);
        }
    }

    fn cancel(&mut self, server_id: i64, reqs: &mut Requests) {
        if self.cancelled.len() >= ORPHAN_LIMIT {
            self.cancelled.clear();
        }
        self.cancelled.insert(server_id);
        reqs.submit(
            Op::CancelWatchFrom(CancelWatchFromOp {
                stream_id: server_id,
            }),
            Waiter::Internal,
        );
    }

    fn remove(&mut self, local: u64) {
        if let Some(t) = self.tracked.remove(&local) {
            if let Some(id) = t.server_id {
                self.by_server.remove(&id);
            }
        }
    }

    /// Forgets streams whose consumer is gone, cancelling their server streams.
    fn prune(&mut self, reqs: &mut Requests) {
        let gone: Vec<u64> = self
            .tracked
            .iter()
            .filter(|(_, t)| t.tx.is_closed())
            .map(|(local, _)| *local)
            .collect();
        for local in gone {
            self.detach(local, reqs);
            self.remove(local);
        }
    }

    /// The connection ended: server ids mean nothing any more.
    pub(crate) fn disconnected(&mut self) {
        for t in self.tracked.values_mut() {
            t.server_id = None;
        }
        self.by_server.clear();
        self.orphans.clear();
        self.orphan_count = 0;
        self.overflowed.clear();
        self.cancelled.clear();
    }

    /// A new connection carries the session: resume every stream whose
    /// consumer has room (the others resume when it drains).
    pub(crate) fn reconnected(&mut self, reqs: &mut Requests) {
        self.prune(reqs);
        let locals: Vec<u64> = self.tracked.keys().copied().collect();
        for local in locals {
            let Some(t) = self.tracked.get(&local) else {
                continue;
            };
            if !t.stalled {
                self.resume(local, reqs);
            } else if t.has_room_to_resume() {
                self.unstall(local, reqs);
            }
        }
    }

    /// The session is over: every stream ends with `error`.
    pub(crate) fn fail_all(&mut self, error: &Error) {
        for (_, t) in self.tracked.drain() {
            let _ = t.tx.try_send(Err(error.clone()));
        }
        self.by_server.clear();
        self.orphans.clear();
        self.orphan_count = 0;
    }
}

#[cfg(test)]
#[path = "streams_tests.rs"]
mod tests;
