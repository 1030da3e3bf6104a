//! Waiting for a condition with a deadline: every poll in the tests and the
//! harness goes through here, so none waits a fixed time and each failure
//! says what was awaited and what was last seen.

use std::fmt::Display;
use std::future::Future;
use std::time::Duration;

/// The first pause between polls; it doubles up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(5);
/// The longest pause between polls.
const MAX_PAUSE: Duration = Duration::from_millis(100);

/// Polls `attempt` until it returns `Ok` or `deadline` passes; the error
/// names `what` was awaited and the last `Err` seen.
pub async fn eventually_ok<T, E, F, Fut>(
    deadline: Duration,
    what: &str,
    mut attempt: F,
) -> anyhow::Result<T>
where
    E: Display,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let until = tokio::time::Instant::now() + deadline;
    let mut pause = FIRST_PAUSE;
    loop {
        let last = match attempt().await {
            Ok(value) => return Ok(value),
            Err(e) => e,
        };
        if tokio::time::Instant::now() >= until {
            anyhow::bail!("timed out after {deadline:?} waiting for {what} (last: {last})");
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(MAX_PAUSE);
    }
}

/// Polls `condition` until it returns true or `deadline` passes; the error
/// names `what` was awaited.
pub async fn eventually<F, Fut>(
    deadline: Duration,
    what: &str,
    mut condition: F,
) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    eventually_ok(deadline, what, || {
        let check = condition();
        async move {
            if check.await {
                Ok(())
            } else {
                Err("not yet")
            }
        }
    })
    .await
}

/// [`eventually_ok`] for code that cannot await (a child process's exit):
/// polls `attempt` on this thread, parking between polls.
pub fn eventually_blocking<T, E, F>(
    deadline: Duration,
    what: &str,
    mut attempt: F,
) -> anyhow::Result<T>
where
    E: Display,
    F: FnMut() -> Result<T, E>,
{
    let until = std::time::Instant::now() + deadline;
    let mut pause = FIRST_PAUSE;
    loop {
        let last = match attempt() {
            Ok(value) => return Ok(value),
            Err(e) => e,
        };
        if std::time::Instant::now() >= until {
            anyhow::bail!("timed out after {deadline:?} waiting for {what} (last: {last})");
        }
        std::thread::park_timeout(pause);
        pause = (pause * 2).min(MAX_PAUSE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn a_condition_that_comes_true_ends_the_wait_with_its_value() -> anyhow::Result<()> {
        let calls = AtomicU32::new(0);
        let value = eventually_ok(Duration::from_secs(5), "three calls", || async {
            let n = calls.fetch_add(1, Ordering::Relaxed) + 1;
            if n >= 3 {
                Ok(n)
            } else {
                Err(format!("only {n}"))
            }
        })
        .await?;
        assert_eq!(value, 3);
        Ok(())
    }

    #[tokio::test]
    async fn a_condition_that_never_comes_true_fails_with_what_was_last_seen() {
        let err = eventually_ok(Duration::from_millis(50), "the impossible", || async {
            Err::<(), _>("still false")
        })
        .await
        .expect_err("cannot succeed");
        let text = err.to_string();
        assert!(
            text.contains("the impossible") && text.contains("still false"),
            "{text}"
        );
    }

    #[test]
    fn the_blocking_wait_also_ends_at_its_deadline() {
        let err = eventually_blocking(Duration::from_millis(30), "never", || Err::<(), _>("no"))
            .expect_err("cannot succeed");
        assert!(err.to_string().contains("never"));
    }
}
