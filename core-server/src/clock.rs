//! Time, from one place: the [`Clock`] trait is the only reader of the system clocks.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A source of wall-clock and monotonic time.
pub trait Clock: Send + Sync + 'static {
    /// Milliseconds since the Unix epoch (stamped on log entries as ctime/mtime).
    fn wall_ms(&self) -> i64;
    /// A monotonic instant (session liveness deadlines).
    fn now(&self) -> Instant;
}

/// The real clocks.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn wall_ms(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_millis() as i64
    }

    fn now(&self) -> Instant {
        Instant::now()
    }
}
