//! Deadlines per session, refreshed by client activity.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Liveness deadlines of the sessions this server knows.
#[derive(Debug, Default)]
pub struct SessionTracker {
    sessions: HashMap<i64, (Instant, Duration)>,
}

impl SessionTracker {
    /// An empty tracker.
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts tracking a session (or resets it) with a full timeout from `now`.
    pub fn add(&mut self, session_id: i64, timeout: Duration, now: Instant) {
        self.sessions.insert(session_id, (now + timeout, timeout));
    }

    /// Refreshes a session's deadline; false if it is not tracked.
    pub fn touch(&mut self, session_id: i64, now: Instant) -> bool {
        match self.sessions.get_mut(&session_id) {
            Some((deadline, timeout)) => {
                *deadline = now + *timeout;
                true
            }
            None => false,
        }
    }

    /// Stops tracking a session.
    pub fn remove(&mut self, session_id: i64) {
        self.sessions.remove(&session_id);
    }

    /// Sessions whose deadline has passed, sorted. They stay tracked until
    /// removed, so a failed close proposal is retried on the next check.
    pub fn expired(&self, now: Instant) -> Vec<i64> {
        let mut ids: Vec<i64> = self
            .sessions
            .iter()
            .filter(|(_, (deadline, _))| *deadline <= now)
            .map(|(id, _)| *id)
            .collect();
        ids.sort_unstable();
        ids
    }

    /// Sessions whose deadline has not passed, sorted (what a follower
    /// reports to the leader as kept alive by its clients).
    pub fn live(&self, now: Instant) -> Vec<i64> {
        let mut ids: Vec<i64> = self
            .sessions
            .iter()
            .filter(|(_, (deadline, _))| *deadline > now)
            .map(|(id, _)| *id)
            .collect();
        ids.sort_unstable();
        ids
    }

    /// True if the session is tracked.
    pub fn contains(&self, session_id: i64) -> bool {
        self.sessions.contains_key(&session_id)
    }

    /// Keeps only the sessions for which `keep` is true; returns the others.
    pub fn retain(&mut self, mut keep: impl FnMut(i64) -> bool) -> Vec<i64> {
        let gone: Vec<i64> = self
            .sessions
            .keys()
            .copied()
            .filter(|id| !keep(*id))
            .collect();
        for id in &gone {
            self.sessions.remove(id);
        }
        gone
    }

    /// Forgets every session.
    pub fn clear(&mut self) {
        self.sessions.clear();
    }

    /// Number of tracked sessions.
    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    /// True when no session is tracked.
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_expires_only_after_its_timeout_without_activity() {
        let t0 = Instant::now();
        let mut tracker = SessionTracker::new();
        tracker.add(7, Duration::from_millis(100), t0);
        assert!(tracker.expired(t0 + Duration::from_millis(99)).is_empty());
        assert!(tracker.touch(7, t0 + Duration::from_millis(90)));
        assert!(tracker.expired(t0 + Duration::from_millis(150)).is_empty());
        assert_eq!(tracker.expired(t0 + Duration::from_millis(190)), vec![7]);
        tracker.remove(7);
        assert!(tracker.expired(t0 + Duration::from_secs(10)).is_empty());
        assert!(!tracker.touch(7, t0));
    }
}
