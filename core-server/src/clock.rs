//! Time, from one place: the [`Clock`] trait is the only reader of the system
//! clocks. A server runs on [`SystemClock`]; tests (and simulations) run it
//! on a [`ManualClock`] that moves only when told, so session expiry and TTL
//! reaping can be checked without waiting for real time to pass. The
//! service (session deadlines, entry timestamps, the TTL reaper) reads the
//! clock it is given; Raft's timers (`replication/raft`) run on
//! [`SystemClock`], as openraft's own do.

use parking_lot::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A source of wall-clock and monotonic time.
pub trait Clock: Send + Sync + std::fmt::Debug + 'static {
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

/// A clock that stands still until [`ManualClock::advance`] moves both of
/// its readings forward together.
#[derive(Debug)]
pub struct ManualClock {
    start: Instant,
    start_wall_ms: i64,
    elapsed: Mutex<Duration>,
}

impl ManualClock {
    /// A clock stopped at the present moment.
    pub fn new() -> ManualClock {
        ManualClock {
            start: SystemClock.now(),
            start_wall_ms: SystemClock.wall_ms(),
            elapsed: Mutex::new(Duration::ZERO),
        }
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        *self.elapsed.lock() += by;
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        ManualClock::new()
    }
}

impl Clock for ManualClock {
    fn wall_ms(&self) -> i64 {
        let elapsed = *self.elapsed.lock();
        self.start_wall_ms + elapsed.as_millis() as i64
    }

    fn now(&self) -> Instant {
        self.start + *self.elapsed.lock()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_advanced_and_both_readings_together() {
        let clock = ManualClock::new();
        let (now, wall) = (clock.now(), clock.wall_ms());
        assert_eq!((clock.now(), clock.wall_ms()), (now, wall));
        clock.advance(Duration::from_millis(1500));
        assert_eq!(clock.now() - now, Duration::from_millis(1500));
        assert_eq!(clock.wall_ms() - wall, 1500);
    }
}
