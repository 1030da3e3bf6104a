//! The state of something a recipe holds (a lock, a lease, leadership, a
//! membership): held, in doubt while the connection is suspended, lost once
//! the session expires. Users can read it, await a change, or await loss.

use client::{Client, SessionEvent};
use tokio::sync::watch;
use tokio::task::AbortHandle;

/// Whether a held thing is still held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    /// Held: the node exists and the session is connected.
    Held,
    /// The connection is suspended: the session (and the node) may still be
    /// alive, or may expire. Do not act as holder until it is `Held` again.
    InDoubt,
    /// The session expired or the node is gone: it is no longer held. Final.
    Lost,
}

/// A live view of a hold state, kept up to date from the client's session
/// events by a small task that ends when the view is dropped.
#[derive(Debug)]
pub struct HoldWatch {
    rx: watch::Receiver<Hold>,
    task: AbortHandle,
}

impl HoldWatch {
    /// Tracks the hold of the node at `path`, created by `client`'s session.
    pub fn track(client: &Client, path: &str) -> HoldWatch {
        let (tx, rx) = watch::channel(Hold::Held);
        let mut events = client.events();
        let client = client.clone();
        let path = path.to_string();
        let task = tokio::spawn(async move {
            loop {
                let event = match events.recv().await {
                    Ok(event) => event,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(_) => return,
                };
                let next = match event {
                    SessionEvent::Suspended => Hold::InDoubt,
                    SessionEvent::Reconnected => match client.exists(&path).await {
                        Ok(Some(stat)) if stat.ephemeral_owner == client.session_id() => Hold::Held,
                        Ok(_) => Hold::Lost,
                        Err(_) => Hold::InDoubt,
                    },
                    SessionEvent::Expired | SessionEvent::Closed => Hold::Lost,
                    SessionEvent::Connected => continue,
                };
                tx.send_replace(next);
                if next == Hold::Lost {
                    return;
                }
            }
        })
        .abort_handle();
        HoldWatch { rx, task }
    }

    /// The current state.
    pub fn get(&self) -> Hold {
        *self.rx.borrow()
    }

    /// A receiver to await changes on.
    pub fn subscribe(&self) -> watch::Receiver<Hold> {
        self.rx.clone()
    }

    /// Completes when the hold is lost (cancellation-safe).
    pub async fn lost(&self) {
        let mut rx = self.rx.clone();
        let _ = rx.wait_for(|h| *h == Hold::Lost).await;
    }

    /// Marks the hold lost (released or deleted) and stops tracking.
    pub(crate) fn end(&self) {
        self.task.abort();
    }
}

impl Drop for HoldWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}
