//! Owns the requests of one connection: xid allocation, who waits for which
//! xid, and the queue of frames not yet handed to gRPC. Pure bookkeeping, no
//! I/O except the non-blocking hand-off in [`Requests::flush`].

use crate::connection::WatchReg;
use crate::Error;
use proto::v1::{client_frame::Frame, request::Op, ClientFrame, Ping, Request, Response};
use std::collections::{HashMap, VecDeque};
use tokio::sync::{mpsc, oneshot};

/// Who is waiting for a response.
#[derive(Debug)]
pub(crate) enum Waiter {
    /// A caller of the public API.
    User {
        reply: oneshot::Sender<Result<Response, Error>>,
        /// Registered locally once the server accepted the request.
        watch: Option<WatchReg>,
        /// The server-side path the request is about.
        path: String,
    },
    /// Our CloseSession: its answer ends the session.
    Close,
    /// The watch re-registration after a reconnect.
    SetWatches,
    /// A resumable stream being resumed (its local id).
    Resume(u64),
    /// Fire and forget (re-sent auth, stream cancellation).
    Internal,
}

#[derive(Debug)]
struct Pending {
    waiter: Waiter,
    opens_stream: bool,
}

/// Requests of the current connection.
#[derive(Debug)]
pub(crate) struct Requests {
    next_xid: i32,
    pending: HashMap<i32, Pending>,
    /// Frames waiting for room in the outbound channel. Grows only by what the
    /// task itself queues while the channel is full (no user request is
    /// accepted then), so it stays small.
    out: VecDeque<ClientFrame>,
    /// WatchFrom requests awaiting their answer (their events may come first).
    opening_streams: usize,
}

impl Default for Requests {
    fn default() -> Self {
        Requests {
            next_xid: 1,
            pending: HashMap::new(),
            out: VecDeque::new(),
            opening_streams: 0,
        }
    }
}

impl Requests {
    /// The next free xid: 1 ..= i32::MAX, wrapping, skipping any in flight.
    fn take_xid(&mut self) -> i32 {
        loop {
            let xid = self.next_xid;
            self.next_xid = if xid == i32::MAX { 1 } else { xid + 1 };
            if !self.pending.contains_key(&xid) {
                return xid;
            }
        }
    }

    /// Queues a request; its answer goes to `waiter`.
    pub(crate) fn submit(&mut self, op: Op, waiter: Waiter) {
        let xid = self.take_xid();
        let opens_stream = matches!(op, Op::WatchFrom(_));
        self.opening_streams += usize::from(opens_stream);
        self.pending.insert(
            xid,
            Pending {
                waiter,
                opens_stream,
            },
        );
        self.out.push_back(ClientFrame {
            frame: Some(Frame::Request(Request { xid, op: Some(op) })),
        });
    }

    /// Queues a ping.
    pub(crate) fn ping(&mut self) {
        self.out.push_back(ClientFrame {
            frame: Some(Frame::Ping(Ping {})),
        });
    }

    /// The waiter of an answered xid (None for an unknown xid).
    pub(crate) fn complete(&mut self, xid: i32) -> Option<Waiter> {
        let pending = self.pending.remove(&xid)?;
        self.opening_streams -= usize::from(pending.opens_stream);
        Some(pending.waiter)
    }

    /// How many WatchFrom requests are unanswered.
    pub(crate) fn opening_streams(&self) -> usize {
        self.opening_streams
    }

    /// True if frames wait for room in the channel.
    pub(crate) fn has_backlog(&self) -> bool {
        !self.out.is_empty()
    }

    /// The oldest queued frame.
    pub(crate) fn pop_frame(&mut self) -> Option<ClientFrame> {
        self.out.pop_front()
    }

    /// Hands queued frames to the channel until it is full. `Ok(true)` if any
    /// was sent; `Err` if the stream is gone.
    pub(crate) fn flush(&mut self, tx: &mpsc::Sender<ClientFrame>) -> Result<bool, ()> {
        let mut sent = false;
        while let Some(frame) = self.out.pop_front() {
            match tx.try_send(frame) {
                Ok(()) => sent = true,
                Err(mpsc::error::TrySendError::Full(frame)) => {
                    self.out.push_front(frame);
                    break;
                }
                Err(mpsc::error::TrySendError::Closed(_)) => return Err(()),
            }
        }
        Ok(sent)
    }

    /// The connection ended: every caller still waiting gets `error` (their
    /// request may or may not have been applied); internal waiters are
    /// dropped, and their owners re-issue what they need after a reconnect.
    pub(crate) fn disconnected(&mut self, error: &Error) {
        for (_, pending) in self.pending.drain() {
            if let Waiter::User { reply, .. } = pending.waiter {
                let _ = reply.send(Err(error.clone()));
            }
        }
        self.out.clear();
        self.opening_streams = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xid_of(frame: &ClientFrame) -> Option<i32> {
        match &frame.frame {
            Some(Frame::Request(r)) => Some(r.xid),
            _ => None,
        }
    }

    #[test]
    fn xids_wrap_to_one_and_skip_those_in_flight() {
        let mut r = Requests {
            next_xid: i32::MAX - 1,
            ..Requests::default()
        };
        r.pending.insert(
            1,
            Pending {
                waiter: Waiter::Internal,
                opens_stream: false,
            },
        );
        let xids: Vec<i32> = (0..3).map(|_| r.take_xid()).collect();
        assert_eq!(
            xids,
            [i32::MAX - 1, i32::MAX, 2],
            "0 and negatives never used"
        );
    }

    #[test]
    fn answers_find_their_waiter_once() {
        let mut r = Requests::default();
        let (reply, mut rx) = oneshot::channel();
        let watch = None;
        let path = "/a".to_string();
        r.submit(
            Op::Sync(proto::v1::SyncOp { path: path.clone() }),
            Waiter::User { reply, watch, path },
        );
        let frame = r.pop_frame().expect("queued");
        let xid = xid_of(&frame).expect("a request");
        assert!(matches!(r.complete(xid), Some(Waiter::User { .. })));
        assert!(r.complete(xid).is_none(), "answered once");
        assert!(rx.try_recv().is_err(), "the caller is answered by the task");
    }

    #[test]
    fn stream_openings_are_counted_until_answered_or_lost() {
        let mut r = Requests::default();
        let op = || {
            Op::WatchFrom(proto::v1::WatchFromOp {
                path: "/a".into(),
                recursive: false,
                from_zxid: 0,
            })
        };
        r.submit(op(), Waiter::Resume(1));
        r.submit(op(), Waiter::Resume(2));
        assert_eq!(r.opening_streams(), 2);
        let first = r.pop_frame().and_then(|f| xid_of(&f)).expect("xid");
        r.complete(first);
        assert_eq!(r.opening_streams(), 1);
        r.disconnected(&Error::ConnectionLoss);
        assert_eq!(r.opening_streams(), 0);
        assert!(!r.has_backlog());
    }

    #[test]
    fn callers_in_flight_get_the_disconnect_error() {
        let mut r = Requests::default();
        let (reply, mut rx) = oneshot::channel();
        r.submit(
            Op::Sync(proto::v1::SyncOp { path: "/".into() }),
            Waiter::User {
                reply,
                watch: None,
                path: "/".into(),
            },
        );
        r.disconnected(&Error::ConnectionLoss);
        assert!(matches!(rx.try_recv(), Ok(Err(Error::ConnectionLoss))));
    }

    #[test]
    fn flush_stops_when_the_channel_is_full_and_keeps_order() {
        let mut r = Requests::default();
        for _ in 0..3 {
            r.ping();
        }
        let (tx, mut rx) = mpsc::channel(2);
        assert_eq!(r.flush(&tx), Ok(true));
        assert!(r.has_backlog(), "one frame waits");
        assert!(rx.try_recv().is_ok() && rx.try_recv().is_ok());
        assert_eq!(r.flush(&tx), Ok(true));
        assert!(!r.has_backlog());
        drop(rx);
        r.ping();
        assert_eq!(r.flush(&tx), Err(()));
    }
}
