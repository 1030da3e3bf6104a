//! Bounded proposal queues: at most so many items and so many bytes wait
//! between a proposer and the task that takes them (the leader's batcher,
//! the follower's forwarder). A full queue makes the proposer wait, so an
//! overloaded cluster slows its clients down instead of growing.

use std::sync::Arc;
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};

/// An item and the bytes it holds of its queue's budget (given back when
/// the holder drops it: once the item has moved on).
#[derive(Debug)]
pub struct Held<T> {
    /// The queued item.
    pub item: T,
    /// Its share of the byte budget.
    pub permit: OwnedSemaphorePermit,
}

/// The sending side of a bounded queue.
#[derive(Debug)]
pub struct QueueSender<T> {
    tx: mpsc::Sender<Held<T>>,
    bytes: Arc<Semaphore>,
    max_bytes: u32,
}

impl<T> Clone for QueueSender<T> {
    fn clone(&self) -> Self {
        Self {
            tx: self.tx.clone(),
            bytes: self.bytes.clone(),
            max_bytes: self.max_bytes,
        }
    }
}

/// A queue of at most `count` items and `max_bytes` bytes (an item larger
/// than the whole budget takes all of it).
pub fn bounded<T>(count: usize, max_bytes: usize) -> (QueueSender<T>, mpsc::Receiver<Held<T>>) {
    let max_bytes = max_bytes.clamp(1, Semaphore::MAX_PERMITS.min(u32::MAX as usize)) as u32;
    let (tx, rx) = mpsc::channel(count.max(1));
    (
        QueueSender {
            tx,
            bytes: Arc::new(Semaphore::new(max_bytes as usize)),
            max_bytes,
        },
        rx,
    )
}

impl<T> QueueSender<T> {
    /// Queues `item` of about `size` bytes, waiting while the queue is full;
    /// gives the item back if the receiver is gone.
    pub async fn send(&self, item: T, size: usize) -> Result<(), T> {
        let n = (size.max(1).min(self.max_bytes as usize)) as u32;
        let Ok(permit) = self.bytes.clone().acquire_many_owned(n).await else {
            return Err(item);
        };
        self.tx
            .send(Held { item, permit })
            .await
            .map_err(|e| e.0.item)
    }

    /// Bytes free in the budget now.
    pub fn free_bytes(&self) -> usize {
        self.bytes.available_permits()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_sender_waits_while_the_queue_is_over_its_bytes_until_items_move_on() {
        let (tx, mut rx) = bounded::<u32>(100, 1000);
        tx.send(1, 600).await.expect("fits");
        let blocked = tokio::time::timeout(Duration::from_millis(50), tx.send(2, 600)).await;
        assert!(
            blocked.is_err(),
            "600 + 600 bytes is over 1000: the sender waits"
        );
        let first = rx.recv().await.expect("item");
        assert_eq!(first.item, 1);
        drop(first);
        tx.send(3, 600).await.expect("room again");
        assert_eq!(tx.free_bytes(), 400);
        // An item over the whole budget takes all of it rather than waiting forever.
        drop(rx.recv().await);
        tx.send(4, 5000).await.expect("alone it fits");
        assert_eq!(tx.free_bytes(), 0);
    }

    #[tokio::test]
    async fn a_sender_waits_while_the_queue_is_full_of_items() {
        let (tx, _rx) = bounded::<u32>(2, 1 << 20);
        tx.send(1, 1).await.expect("room");
        tx.send(2, 1).await.expect("room");
        let blocked = tokio::time::timeout(Duration::from_millis(50), tx.send(3, 1)).await;
        assert!(blocked.is_err());
    }
}
