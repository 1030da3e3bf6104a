//! The serving node's own duties: expiring silent sessions and reaping
//! containers and expired TTL nodes, both by proposing log entries.
//!
//! In a cluster only the leader expires and reaps. Every server tracks the
//! sessions its own clients keep alive and reports them to the leader; the
//! leader tracks every session in the tree, refreshed by its own clients and
//! by those reports, and gives all of them a fresh timeout when it takes
//! over. Every server closes its connections of sessions that are gone.

use super::{duration_ms, Service};
use crate::replication::ReplicationError;
use crate::txn::{Entry, Txn};
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Most container/TTL deletions per minute (ZooKeeper's default).
const REAP_PER_MINUTE: usize = 10_000;

impl Service {
    /// Lines the session tracker up with the tree: sessions closed anywhere
    /// are forgotten (and their connections here closed); on the leader,
    /// every session is tracked, with a fresh timeout on taking over, and
    /// the sessions followers reported alive are refreshed.
    pub fn sync_sessions(&self) {
        let inner = &self.inner;
        let leading = inner.replicator.is_leader();
        let was_leading = inner.leading.swap(leading, Ordering::Relaxed);
        let now = inner.clock.now();
        let state = inner.state.read();
        let mut tracker = inner.tracker.lock();
        let gone = tracker.retain(|id| state.session(id).is_some());
        if !gone.is_empty() {
            let mut connections = inner.state.connections().lock();
            for id in gone {
                connections.close_session(id);
            }
        }
        if !leading {
            return;
        }
        if !was_leading {
            tracing::debug!("leading: every session gets a fresh timeout");
            tracker.clear();
        }
        for (id, info) in state.sessions() {
            if !tracker.contains(id) {
                tracker.add(id, duration_ms(info.timeout_ms), now);
            }
        }
        for id in inner.replicator.take_reported_sessions() {
            tracker.touch(id, now);
        }
    }

    /// A cluster member cut off from the quorum closes every client
    /// connection, so its clients fail over to servers that can serve them
    /// (in read-only mode, every one but the read-only sessions). Once the
    /// quorum is back, the read-only sessions are closed, so their clients
    /// come back read-write.
    pub fn drop_clients_without_quorum(&self) {
        use crate::connection::CloseReason;
        let connections = self.inner.state.connections().lock();
        if self.inner.replicator.is_serving() {
            connections.close_where(CloseReason::QuorumRegained, |c| c.read_only);
        } else {
            connections.close_where(CloseReason::NoQuorum, |c| !c.read_only);
        }
    }

    /// On a follower, reports the sessions its clients kept alive to the leader.
    pub async fn report_sessions(&self) {
        let inner = &self.inner;
        if inner.replicator.is_leader() {
            return;
        }
        let live = inner.tracker.lock().live(inner.clock.now());
        if let Err(error) = inner.replicator.report_live_sessions(live).await {
            tracing::debug!(%error, "could not report sessions to the leader");
        }
    }

    /// Expires every session whose deadline has passed (only where this
    /// server may: standalone, or the cluster's leader); returns how many.
    pub async fn expire_sessions(&self) -> usize {
        let inner = &self.inner;
        if !inner.replicator.is_leader() {
            return 0;
        }
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
        match self.propose_close(session_id).await {
            Ok(()) => true,
            Err(error) => {
                tracing::warn!(session_id, %error, "could not close session");
                false
            }
        }
    }

    /// [`Self::close_session`], with the reason a close did not commit.
    pub(super) async fn propose_close(&self, session_id: i64) -> Result<(), ReplicationError> {
        let inner = &self.inner;
        let entry = Entry {
            time_ms: inner.clock.wall_ms(),
            session_id: 0,
            auth: Vec::new(),
            is_super: true,
            txn: Txn::CloseSession { session_id },
        };
        inner.replicator.propose(entry).await?;
        inner.tracker.lock().remove(session_id);
        inner.state.connections().lock().close_session(session_id);
        Ok(())
    }

    /// Deletes empty containers and expired TTL nodes; returns how many.
    pub async fn reap_containers(&self, limit: usize) -> usize {
        let inner = &self.inner;
        if !inner.replicator.is_leader() {
            return 0;
        }
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
        let report_every =
            Duration::from_millis((self.inner.config.tick_ms as u64 / 2).clamp(20, 1000));
        let mut report = tokio::time::interval(report_every);
        report.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = expiry.tick() => {
                    self.drop_clients_without_quorum();
                    self.sync_sessions();
                    self.expire_sessions().await;
                }
                _ = report.tick() => { self.report_sessions().await; }
                _ = reaper.tick() => { self.reap_containers(reap_limit).await; }
            }
        }
    }
}
