//! Which connection currently owns each session on this server.

use crate::watch::ConnId;
use std::collections::HashMap;
use tokio_util::sync::CancellationToken;

/// The connection holding a session.
#[derive(Debug, Clone)]
pub struct SessionOwner {
    /// The connection.
    pub conn: ConnId,
    /// Cancelling it closes that connection.
    pub close: CancellationToken,
}

/// session id → owning connection.
#[derive(Debug, Default)]
pub struct Owners {
    owners: HashMap<i64, SessionOwner>,
}

impl Owners {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes `owner` the session's connection and closes the previous one (the
    /// session moved), as ZooKeeper does.
    pub fn claim(&mut self, session_id: i64, owner: SessionOwner) {
        if let Some(previous) = self.owners.insert(session_id, owner) {
            crate::connection::CloseReason::SessionMoved.record("any", None, session_id);
            previous.close.cancel();
        }
    }

    /// Releases the session if `conn` still owns it.
    pub fn release(&mut self, session_id: i64, conn: ConnId) {
        if self.owners.get(&session_id).is_some_and(|o| o.conn == conn) {
            self.owners.remove(&session_id);
        }
    }

    /// Closes and forgets the session's connection (expiry).
    pub fn evict(&mut self, session_id: i64) {
        if let Some(owner) = self.owners.remove(&session_id) {
            crate::connection::CloseReason::SessionEnded.record("any", None, session_id);
            owner.close.cancel();
        }
    }

    /// Number of connected sessions.
    pub fn len(&self) -> usize {
        self.owners.len()
    }

    /// True when no session is connected.
    pub fn is_empty(&self) -> bool {
        self.owners.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claiming_a_session_closes_its_previous_connection() {
        let mut owners = Owners::new();
        let old = CancellationToken::new();
        owners.claim(
            1,
            SessionOwner {
                conn: 10,
                close: old.clone(),
            },
        );
        owners.claim(
            1,
            SessionOwner {
                conn: 11,
                close: CancellationToken::new(),
            },
        );
        assert!(old.is_cancelled());
        owners.release(1, 10);
        assert_eq!(
            owners.len(),
            1,
            "a stale connection cannot release the new owner"
        );
        owners.release(1, 11);
        assert!(owners.is_empty());
    }
}
