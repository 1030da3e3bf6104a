//! A close the client asked for is carried out even when it cannot commit at
//! once.
//!
//! While no leader is known (an election, a lost quorum) the close cannot be
//! committed, and the client hears ConnectionLoss. Its session must still go
//! as soon as a leader exists, not a session timeout later with its
//! ephemerals held all that time, so the server keeps proposing the close in
//! the background until it commits, the session is gone anyway, or the
//! session's timeout passes (after which the leader expires it). At most one
//! retry runs per session, so the set is bounded by the session count
//! (`Config::max_sessions`).

use super::{duration_ms, Service};
use crate::replication::ReplicationError;
use std::time::Duration;

/// First pause between attempts; it doubles up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(20);
/// Longest pause between attempts.
const MAX_PAUSE: Duration = Duration::from_millis(500);

impl Service {
    /// The client's closeSession: true if it committed now; otherwise it is
    /// retried in the background and the client is told the outcome is
    /// unknown.
    pub(super) async fn close_requested(&self, session_id: i64) -> bool {
        if self.close_session(session_id).await {
            return true;
        }
        self.retry_close(session_id);
        false
    }

    fn retry_close(&self, session_id: i64) {
        let inner = &self.inner;
        let Some(timeout_ms) = inner.state.read().session(session_id).map(|s| s.timeout_ms) else {
            return;
        };
        if !inner.closing.lock().insert(session_id) {
            return;
        }
        let deadline = inner.clock.now() + duration_ms(timeout_ms);
        let service = self.clone();
        tokio::spawn(async move {
            let mut pause = FIRST_PAUSE;
            loop {
                tokio::time::sleep(pause).await;
                let inner = &service.inner;
                let gone = inner.state.read().session(session_id).is_none();
                if gone || inner.clock.now() >= deadline {
                    break;
                }
                match service.propose_close(session_id).await {
                    Ok(()) => {
                        tracing::info!(session_id, "session closed on retry, as its client asked");
                        break;
                    }
                    Err(ReplicationError::Stopped) => break,
                    Err(error) => tracing::debug!(session_id, %error, "close not committed yet"),
                }
                pause = (pause * 2).min(MAX_PAUSE);
            }
            service.inner.closing.lock().remove(&session_id);
        });
    }
}
