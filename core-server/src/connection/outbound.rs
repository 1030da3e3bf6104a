//! A connection's outbound queue, bounded in frames and in bytes.
//!
//! Replies, events and pongs wait here until the connection's writer sends
//! them. A client that stops reading its socket fills the queue; once the
//! queued bytes would pass the bound the send is refused with
//! [`SendError::Overflow`] and the caller closes the connection (ZooKeeper
//! closes such connections too). One item is always accepted into an empty
//! queue, so a single reply larger than the bound can still be delivered.

use super::outgoing::Outgoing;
use crate::request::{Reply, Response};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Why an item was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The connection's writer is gone.
    #[error("the connection is closed")]
    Closed,
    /// The queue holds too many frames or bytes: the reader is too slow.
    #[error("the outbound queue is over its bound")]
    Overflow,
}

/// The sending side; cheap to clone.
#[derive(Debug, Clone)]
pub struct OutboundSender {
    tx: mpsc::Sender<(Outgoing, usize)>,
    queued: Arc<AtomicUsize>,
    overflowed: Arc<AtomicBool>,
    max_bytes: usize,
}

/// The receiving side, owned by the connection's writer.
#[derive(Debug)]
pub struct OutboundReceiver {
    rx: mpsc::Receiver<(Outgoing, usize)>,
    queued: Arc<AtomicUsize>,
    overflowed: Arc<AtomicBool>,
}

/// A queue of at most `frames` items and about `max_bytes` bytes.
pub fn channel(frames: usize, max_bytes: usize) -> (OutboundSender, OutboundReceiver) {
    let (tx, rx) = mpsc::channel(frames.max(1));
    let queued = Arc::new(AtomicUsize::new(0));
    let overflowed = Arc::new(AtomicBool::new(false));
    (
        OutboundSender {
            tx,
            queued: queued.clone(),
            overflowed: overflowed.clone(),
            max_bytes,
        },
        OutboundReceiver {
            rx,
            queued,
            overflowed,
        },
    )
}

impl OutboundSender {
    fn reserve(&self, bytes: usize) -> Result<(), SendError> {
        let before = self.queued.fetch_add(bytes, Ordering::AcqRel);
        if before > 0 && before + bytes > self.max_bytes {
            self.queued.fetch_sub(bytes, Ordering::AcqRel);
            self.overflowed.store(true, Ordering::Release);
            return Err(SendError::Overflow);
        }
        Ok(())
    }

    /// Queues an item, waiting for a free frame slot; refuses it when the
    /// queued bytes would pass the bound.
    pub async fn send(&self, item: Outgoing) -> Result<(), SendError> {
        let bytes = wire_bytes(&item);
        self.reserve(bytes)?;
        match self.tx.send((item, bytes)).await {
            Ok(()) => Ok(()),
            Err(_) => {
                self.queued.fetch_sub(bytes, Ordering::AcqRel);
                Err(SendError::Closed)
            }
        }
    }

    /// Queues an item without waiting: a full queue is an overflow.
    pub fn try_send(&self, item: Outgoing) -> Result<(), SendError> {
        let bytes = wire_bytes(&item);
        self.reserve(bytes)?;
        match self.tx.try_send((item, bytes)) {
            Ok(()) => Ok(()),
            Err(error) => {
                self.queued.fetch_sub(bytes, Ordering::AcqRel);
                Err(match error {
                    mpsc::error::TrySendError::Full(_) => {
                        self.overflowed.store(true, Ordering::Release);
                        SendError::Overflow
                    }
                    mpsc::error::TrySendError::Closed(_) => SendError::Closed,
                })
            }
        }
    }

    /// Bytes queued and not yet taken by the writer.
    pub fn queued_bytes(&self) -> usize {
        self.queued.load(Ordering::Acquire)
    }
}

impl OutboundReceiver {
    /// Completes once `close` is cancelled after a send was refused as an
    /// overflow: the writer then stops at once instead of flushing what is
    /// queued. Other closes never complete it, so their replies are flushed.
    pub fn closed_by_overflow(
        &self,
        close: CancellationToken,
    ) -> impl std::future::Future<Output = ()> + Send + 'static {
        let overflowed = self.overflowed.clone();
        async move {
            close.cancelled().await;
            if !overflowed.load(Ordering::Acquire) {
                std::future::pending::<()>().await;
            }
        }
    }

    /// The next item, or `None` once every sender is gone and the queue is empty.
    pub async fn recv(&mut self) -> Option<Outgoing> {
        let (item, bytes) = self.rx.recv().await?;
        self.queued.fetch_sub(bytes, Ordering::AcqRel);
        Some(item)
    }

    /// The next item if one is queued now.
    pub fn try_recv(&mut self) -> Option<Outgoing> {
        let (item, bytes) = self.rx.try_recv().ok()?;
        self.queued.fetch_sub(bytes, Ordering::AcqRel);
        Some(item)
    }

    /// Turns the receiver into a stream (for the gRPC response body).
    pub fn into_stream(self) -> impl futures::Stream<Item = Outgoing> + Send + 'static {
        futures::stream::unfold(self, |mut rx| async move {
            let item = rx.recv().await?;
            Some((item, rx))
        })
    }
}

/// About how many bytes an item takes in memory and on the wire.
pub fn wire_bytes(item: &Outgoing) -> usize {
    const HEADER: usize = 32;
    match item {
        Outgoing::Frame(bytes) => bytes.len(),
        Outgoing::Event(event) => HEADER + event.path.len(),
        Outgoing::Pong(_) => HEADER,
        Outgoing::Response(Response { result, .. }) => {
            HEADER + result.as_ref().map_or(0, reply_bytes)
        }
    }
}

fn reply_bytes(reply: &Reply) -> usize {
    const STAT: usize = 80;
    match reply {
        Reply::Created { path, .. } => STAT + path.len(),
        Reply::Stat(_) => STAT,
        Reply::Data { data, .. } => STAT + data.as_ref().map_or(0, Vec::len),
        Reply::Children { children, .. } => {
            STAT + children.iter().map(|c| c.len() + 4).sum::<usize>()
        }
        Reply::Synced(path) => path.len(),
        Reply::Multi(results) => results.len() * (STAT + 16),
        Reply::MultiRead(results) => results
            .iter()
            .map(|r| 16 + r.as_ref().map_or(0, reply_bytes))
            .sum(),
        Reply::Paths(paths) => paths.iter().map(|p| p.len() + 4).sum(),
        Reply::Acl { acl, .. } => {
            STAT + acl
                .iter()
                .map(|a| 12 + a.scheme.len() + a.id.len())
                .sum::<usize>()
        }
        Reply::WhoAmI(ids) => ids.iter().map(|(s, u)| s.len() + u.len() + 8).sum(),
        Reply::Sasl(token) => 8 + token.as_ref().map_or(0, Vec::len),
        Reply::Count(_) | Reply::WatchStream(_) | Reply::Done => 8,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_queue_refuses_bytes_past_its_bound_but_always_takes_one_item() {
        let (tx, mut rx) = channel(100, 1000);
        assert_eq!(
            tx.try_send(Outgoing::Frame(vec![0; 5000])),
            Ok(()),
            "one item always fits"
        );
        assert_eq!(
            tx.try_send(Outgoing::Frame(vec![0; 10])),
            Err(SendError::Overflow)
        );
        assert!(matches!(rx.recv().await, Some(Outgoing::Frame(f)) if f.len() == 5000));
        assert_eq!(tx.queued_bytes(), 0);
        for _ in 0..9 {
            tx.send(Outgoing::Frame(vec![0; 100])).await.expect("fits");
        }
        assert_eq!(
            tx.send(Outgoing::Frame(vec![0; 101])).await,
            Err(SendError::Overflow)
        );
        assert_eq!(tx.queued_bytes(), 900);
        drop(rx);
        assert_eq!(tx.try_send(Outgoing::Pong(1)), Err(SendError::Closed));
    }

    #[tokio::test]
    async fn a_queue_full_of_frames_is_an_overflow_for_try_send() {
        let (tx, _rx) = channel(2, 1 << 20);
        tx.try_send(Outgoing::Pong(1)).expect("room");
        tx.try_send(Outgoing::Pong(2)).expect("room");
        assert_eq!(tx.try_send(Outgoing::Pong(3)), Err(SendError::Overflow));
    }
}
