//! The serving node's own duties: expiring silent sessions and reaping
//! containers and expired TTL nodes, both by proposing log entries.

use super::Service;
use crate::txn::{Entry, Txn};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Most container/TTL deletions per minute (ZooKeeper's default).
const REAP_PER_MINUTE: usize = 10_000;

impl Service {
    /// Expires every session whose deadline has passed; returns how many.
    pub async fn expire_sessions(&self) -> usize {
        let inner = &self.inner;
        let expired = inner.tracker.lock().expired(inner.clock.now());
        let mut closed = 0;
        for session_id in expired {
            if self.close_session(session_id).await {
                closed += 1;
                tracing::info!(session_id, "session expired");
                metrics::counter!("corral_sessions_expired_total").increment(1);
            }
        }
        closed
    }

    /// Expires a session now, as if its timeout had passed (an operator's
    /// tool, and Curator's `KillSession` for tests). True if it was closed.
    pub async fn expire_session_now(&self, session_id: i64) -> bool {
        self.close_session(session_id).await
    }

    /// Proposes a close of the session, then forgets it locally and closes its
    /// connection. True if the close committed.
    pub(super) async fn close_session(&self, session_id: i64) -> bool {
        let inner = &self.inner;
        let entry = Entry {
            time_ms: inner.clock.wall_ms(),
            session_id: 0,
            auth: Vec::new(),
            is_super: true,
            txn: Txn::CloseSession { session_id },
        };
        match inner.replicator.propose(entry).await {
            Ok(_) => {
                inner.tracker.lock().remove(session_id);
                inner.owners.lock().evict(session_id);
                true
            }
            Err(error) => {
                tracing::warn!(session_id, %error, "could not close session");
                false
            }
        }
    }

    /// Deletes empty containers and expired TTL nodes; returns how many.
    pub async fn reap_containers(&self, limit: usize) -> usize {
        let inner = &self.inner;
        let now = inner.clock.wall_ms();
        let candidates = inner.state.read().reap_candidates(now);
        let mut deleted = 0;
        for path in candidates.into_iter().take(limit) {
            let entry = Entry {
                time_ms: inner.clock.wall_ms(),
                session_id: 0,
                auth: Vec::new(),
                is_super: true,
                txn: Txn::DeleteContainer { path },
            };
            if let Ok(committed) = inner.replicator.propose(entry).await {
                if committed.applied.result.is_ok() {
                    deleted += 1;
                }
            }
        }
        deleted
    }

    /// Runs expiry (every `check`) and reaping (every configured interval)
    /// until `stop` is cancelled.
    pub async fn run_housekeeping(self, check: Duration, stop: CancellationToken) {
        let reap_every = Duration::from_millis(self.inner.config.container_check_ms.max(1));
        let reap_limit =
            (REAP_PER_MINUTE as u128 * reap_every.as_millis() / 60_000).max(1) as usize;
        let mut expiry = tokio::time::interval(check);
        expiry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut reaper = tokio::time::interval(reap_every);
        reaper.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = expiry.tick() => { self.expire_sessions().await; }
                _ = reaper.tick() => { self.reap_containers(reap_limit).await; }
            }
        }
    }
}
