//! Request counters of one server, for the status words (`srvr`, `stat`,
//! `mntr`): requests received and answered, how many are in flight, and the
//! latency of each from its arrival to its answer (ZooKeeper's
//! min/avg/max). Lock-free: a few relaxed atomic operations per request.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Counters since the server started.
#[derive(Debug)]
pub struct RequestStats {
    received: AtomicU64,
    answered: AtomicU64,
    total_micros: AtomicU64,
    min_micros: AtomicU64,
    max_micros: AtomicU64,
}

/// A reading of [`RequestStats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatsView {
    /// Requests received.
    pub received: u64,
    /// Requests answered.
    pub answered: u64,
    /// Requests received and not yet answered.
    pub outstanding: u64,
    /// Fastest answer, µs (0 before the first).
    pub min_micros: u64,
    /// Mean answer time, µs (0 before the first).
    pub avg_micros: u64,
    /// Slowest answer, µs.
    pub max_micros: u64,
}

impl Default for RequestStats {
    fn default() -> Self {
        RequestStats {
            received: AtomicU64::new(0),
            answered: AtomicU64::new(0),
            total_micros: AtomicU64::new(0),
            min_micros: AtomicU64::new(u64::MAX),
            max_micros: AtomicU64::new(0),
        }
    }
}

impl RequestStats {
    /// A request arrived.
    pub fn received(&self) {
        self.received.fetch_add(1, Ordering::Relaxed);
    }

    /// A request was answered `took` after it arrived.
    pub fn answered(&self, took: Duration) {
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.answered.fetch_add(1, Ordering::Relaxed);
        self.total_micros.fetch_add(micros, Ordering::Relaxed);
        self.min_micros.fetch_min(micros, Ordering::Relaxed);
        self.max_micros.fetch_max(micros, Ordering::Relaxed);
    }

    /// The counters now (each read on its own: close, not a snapshot).
    pub fn view(&self) -> StatsView {
        let received = self.received.load(Ordering::Relaxed);
        let answered = self.answered.load(Ordering::Relaxed);
        let total = self.total_micros.load(Ordering::Relaxed);
        let min = self.min_micros.load(Ordering::Relaxed);
        StatsView {
            received,
            answered,
            outstanding: received.saturating_sub(answered),
            min_micros: if min == u64::MAX { 0 } else { min },
            avg_micros: total.checked_div(answered).unwrap_or(0),
            max_micros: self.max_micros.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latencies_give_min_mean_max_and_outstanding_requests() {
        let stats = RequestStats::default();
        assert_eq!(stats.view().min_micros, 0, "nothing answered yet");
        for _ in 0..3 {
            stats.received();
        }
        stats.answered(Duration::from_micros(100));
        stats.answered(Duration::from_micros(300));
        let view = stats.view();
        assert_eq!((view.received, view.answered, view.outstanding), (3, 2, 1));
        assert_eq!(
            (view.min_micros, view.avg_micros, view.max_micros),
            (100, 200, 300)
        );
    }
}
