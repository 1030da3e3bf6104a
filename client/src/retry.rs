//! Retry policies for operations that are safe to repeat (idempotent reads, or
//! writes made conditional with a version). The client never retries on its
//! own; callers opt in with [`retry`].

use crate::Error;
use backon::BackoffBuilder;
use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

/// Decides whether, and after how long, to try again.
pub trait RetryPolicy: Send + Sync {
    /// The delays between attempts; the iterator ending means "give up".
    fn delays(&self) -> Box<dyn Iterator<Item = Duration> + Send>;
}

/// Exponential backoff with jitter, at most `max_retries` retries.
#[derive(Debug, Clone, Copy)]
pub struct ExponentialBackoff {
    /// First delay.
    pub base: Duration,
    /// Largest delay.
    pub max_delay: Duration,
    /// Retries before giving up.
    pub max_retries: usize,
}

impl RetryPolicy for ExponentialBackoff {
    fn delays(&self) -> Box<dyn Iterator<Item = Duration> + Send> {
        Box::new(
            backon::ExponentialBuilder::default()
                .with_min_delay(self.base)
                .with_max_delay(self.max_delay)
                .with_max_times(self.max_retries)
                .with_jitter()
                .build(),
        )
    }
}

/// Curator's name for exponential backoff with a largest delay.
pub type BoundedExponentialBackoff = ExponentialBackoff;

/// One retry after `delay` (Curator's `RetryOneTime`).
#[derive(Debug, Clone, Copy)]
pub struct RetryOneTime {
    /// Delay before the retry.
    pub delay: Duration,
}

impl RetryPolicy for RetryOneTime {
    fn delays(&self) -> Box<dyn Iterator<Item = Duration> + Send> {
        Box::new(std::iter::once(self.delay))
    }
}

/// Retries forever with a fixed delay (Curator's `RetryForever`); use with
/// care: only for operations that must eventually go through.
#[derive(Debug, Clone, Copy)]
pub struct RetryForever {
    /// Delay between attempts.
    pub delay: Duration,
}

impl RetryPolicy for RetryForever {
    fn delays(&self) -> Box<dyn Iterator<Item = Duration> + Send> {
        Box::new(std::iter::repeat(self.delay))
    }
}

/// A fixed delay, `n` times.
#[derive(Debug, Clone, Copy)]
pub struct RetryNTimes {
    /// Retries.
    pub n: usize,
    /// Delay between them.
    pub delay: Duration,
}

impl RetryPolicy for RetryNTimes {
    fn delays(&self) -> Box<dyn Iterator<Item = Duration> + Send> {
        Box::new(
            backon::ConstantBuilder::default()
                .with_delay(self.delay)
                .with_max_times(self.n)
                .build(),
        )
    }
}

/// A fixed delay until `elapsed` has passed since the first attempt.
#[derive(Debug, Clone, Copy)]
pub struct RetryUntilElapsed {
    /// Total time budget.
    pub elapsed: Duration,
    /// Delay between attempts.
    pub delay: Duration,
}

impl RetryPolicy for RetryUntilElapsed {
    fn delays(&self) -> Box<dyn Iterator<Item = Duration> + Send> {
        let until = Instant::now() + self.elapsed;
        let delay = self.delay;
        Box::new(std::iter::from_fn(move || {
            (Instant::now() + delay <= until).then_some(delay)
        }))
    }
}

/// Runs `op` until it succeeds, fails with a non-retryable error, or the
/// policy gives up (then the last error). Use only for idempotent or
/// version-conditional operations: a `ConnectionLoss` write may have applied.
pub async fn retry<T, F, Fut>(policy: &dyn RetryPolicy, mut op: F) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    let mut delays = policy.delays();
    loop {
        match op().await {
            Err(e) if e.is_retryable() => match delays.next() {
                Some(delay) => tokio::time::sleep(delay).await,
                None => return Err(e),
            },
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn retries_only_retryable_errors_and_gives_up() {
        let calls = AtomicUsize::new(0);
        let policy = RetryNTimes {
            n: 3,
            delay: Duration::from_millis(1),
        };
        let result: Result<(), Error> = retry(&policy, || async {
            calls.fetch_add(1, Ordering::Relaxed);
            Err(Error::ConnectionLoss)
        })
        .await;
        assert_eq!(result, Err(Error::ConnectionLoss));
        assert_eq!(calls.load(Ordering::Relaxed), 4);
        calls.store(0, Ordering::Relaxed);
        let result: Result<(), Error> = retry(&policy, || async {
            calls.fetch_add(1, Ordering::Relaxed);
            Err(Error::NoNode { path: "/a".into() })
        })
        .await;
        assert!(matches!(result, Err(Error::NoNode { .. })));
        assert_eq!(calls.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn one_time_and_forever_policies() {
        assert_eq!(
            RetryOneTime {
                delay: Duration::from_millis(1)
            }
            .delays()
            .count(),
            1
        );
        assert_eq!(
            RetryForever {
                delay: Duration::from_millis(1)
            }
            .delays()
            .take(1000)
            .count(),
            1000
        );
    }

    #[test]
    fn exponential_backoff_is_bounded() {
        let policy = ExponentialBackoff {
            base: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
            max_retries: 5,
        };
        let delays: Vec<_> = policy.delays().collect();
        assert_eq!(delays.len(), 5);
        assert!(delays.iter().all(|d| *d <= Duration::from_millis(100)));
    }
}
