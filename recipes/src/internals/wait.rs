//! The one waiting loop every recipe uses (Curator's `LockInternals` loop,
//! etcd's `waitDeletes`): *look* at the tree; if the condition holds, stop;
//! otherwise wait for the watch the look set, then look again. Never trust a
//! wake-up: the condition is always re-checked.
//!
//! A [`Waiter`] owns everything around the look: the optional deadline, the
//! session (a reconnect means "look again", an expired or closed session ends
//! the wait with [`RecipeError::SessionLost`]), and, when asked for, retrying
//! a look that lost its connection after a backoff instead of reporting it.
//! A recipe only writes the look, which returns a [`Step`].
//!
//! ```no_run
//! # async fn demo(client: client::Client) -> recipes::Result<()> {
//! use recipes::internals::wait::{Step, Waiter, Wake};
//! let client = &client;
//! // Wait until /flag is gone, at most 5 s.
//! let gone = Waiter::new(client)
//!     .timeout(std::time::Duration::from_secs(5))
//!     .until(|| async move {
//!         let (stat, watch) = client.exists_watch("/flag").await?;
//!         Ok(match stat {
//!             None => Step::Done(()),
//!             Some(_) => Step::Wait(Wake::watch(watch)),
//!         })
//!     })
//!     .await?;
//! assert!(gone.is_some(), "None: the deadline passed first");
//! # Ok(()) }
//! ```

use crate::{RecipeError, Result};
use client::{Client, Error, OneshotWatch, SessionEvent};
use futures::future::{BoxFuture, FutureExt};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;

/// What one look found.
pub enum Step<'a, T> {
    /// The condition holds: the wait ends with this value.
    Done(T),
    /// Not yet: look again once this wakes.
    Wait(Wake<'a>),
    /// Things moved while looking (the node to watch was already gone):
    /// look again at once.
    Again,
}

/// What a waiting look waits for: usually the watch it set. Resolves `Ok` to
/// look again, or `Err` to end the wait with that error.
pub struct Wake<'a>(BoxFuture<'a, Result<()>>);

impl<'a> Wake<'a> {
    /// Wakes when `future` resolves (for anything that is not a one-shot
    /// watch: a persistent watch's next event, a local channel).
    pub fn on(future: impl Future<Output = Result<()>> + Send + 'a) -> Wake<'a> {
        Wake(Box::pin(future))
    }

    /// Wakes when a one-shot watch fires; a watch ended by the session's
    /// end becomes [`RecipeError::SessionLost`].
    pub fn watch(watch: OneshotWatch) -> Wake<'static> {
        Wake::on(async move {
            watch.await.map_err(|e| lost(e.into()))?;
            Ok(())
        })
    }
}

impl Future for Wake<'_> {
    type Output = Result<()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.0.as_mut().poll(cx)
    }
}

impl std::fmt::Debug for Wake<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Wake")
    }
}

/// A session that ended (expired, or the client closed) is `SessionLost`;
/// any other error is left as it is.
pub fn lost(error: RecipeError) -> RecipeError {
    match error {
        RecipeError::Client(Error::SessionExpired | Error::Closed) => RecipeError::SessionLost,
        other => other,
    }
}

/// Pauses before a look that lost its connection is tried again: `first`,
/// doubling up to `max`, back to `first` after a look that got through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Backoff {
    first: Duration,
    max: Duration,
}

/// Runs waits for one client: see the module docs.
#[derive(Debug, Clone)]
pub struct Waiter<'c> {
    client: &'c Client,
    deadline: Option<Instant>,
    retry: Option<Backoff>,
}

impl<'c> Waiter<'c> {
    /// Waits through `client`'s session, with no deadline and no retries.
    pub fn new(client: &'c Client) -> Waiter<'c> {
        Waiter {
            client,
            deadline: None,
            retry: None,
        }
    }

    /// Gives up at `deadline` (`None`: never).
    pub fn deadline(mut self, deadline: Option<Instant>) -> Waiter<'c> {
        self.deadline = deadline;
        self
    }

    /// Gives up `timeout` from now.
    pub fn timeout(self, timeout: Duration) -> Waiter<'c> {
        self.deadline(Some(Instant::now() + timeout))
    }

    /// Tries a look that failed with a retryable connection error
    /// ([`client::Error::is_retryable`]) again after a pause (`first`,
    /// doubling up to `max`) or a reconnect, instead of reporting it. Only
    /// for looks that are safe to repeat.
    pub fn retry(mut self, first: Duration, max: Duration) -> Waiter<'c> {
        self.retry = Some(Backoff { first, max });
        self
    }

    /// Looks until a look says [`Step::Done`]: `Some(value)`, or `None` if
    /// the deadline passed while waiting. A look's error ends the wait
    /// (unless retried, see [`Waiter::retry`]); an expired or closed session
    /// is [`RecipeError::SessionLost`], whether a look, a wake or the
    /// session's events report it. A reconnect wakes the wait (the look is
    /// repeated). The deadline is only checked while waiting: a look that
    /// finds the condition true always wins. Cancellation-safe: dropping the
    /// future ends the wait (watches already set fire unheard).
    pub async fn until<'a, T, F, Fut>(self, mut look: F) -> Result<Option<T>>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Step<'a, T>>>,
    {
        let mut session = Some(self.client.events());
        // The pause before the next retried look, while looks keep failing.
        let mut backoff: Option<Duration> = None;
        loop {
            let woken = match look().await {
                Ok(Step::Done(value)) => return Ok(Some(value)),
                Ok(Step::Again) => continue,
                Ok(Step::Wait(wake)) => {
                    backoff = None;
                    self.rest(wake, &mut session).await
                }
                Err(RecipeError::Client(e)) if e.is_retryable() => {
                    let Some(retry) = self.retry else {
                        return Err(RecipeError::Client(e));
                    };
                    let pause = backoff.map_or(retry.first, |d| (d * 2).min(retry.max));
                    backoff = Some(pause);
                    self.rest(tokio::time::sleep(pause).map(Ok), &mut session)
                        .await
                }
                Err(e) => return Err(lost(e)),
            };
            if !woken? {
                return Ok(None);
            }
        }
    }

    /// Waits for `wake`, a reconnect (both `true`: look again), the deadline
    /// (`false`) or the session's end (`SessionLost`).
    async fn rest(
        &self,
        wake: impl Future<Output = Result<()>>,
        session: &mut Option<tokio::sync::broadcast::Receiver<SessionEvent>>,
    ) -> Result<bool> {
        // `session` was subscribed before the first look: an end from before
        // then shows here, a later one arrives as an event.
        if self.client.state().is_terminal() {
            return Err(RecipeError::SessionLost);
        }
        tokio::pin!(wake);
        let deadline = async {
            match self.deadline {
                Some(deadline) => tokio::time::sleep_until(deadline).await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(deadline);
        loop {
            let event = async {
                match session.as_mut() {
                    Some(rx) => rx.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                woke = &mut wake => return woke.map(|()| true).map_err(lost),
                () = &mut deadline => return Ok(false),
                event = event => match event {
                    Ok(SessionEvent::Reconnected) | Err(RecvError::Lagged(_)) => return Ok(true),
                    Ok(SessionEvent::Expired | SessionEvent::Closed) => {
                        return Err(RecipeError::SessionLost)
                    }
                    Ok(SessionEvent::Connected | SessionEvent::Suspended) => {}
                    // The client is gone; its watches end the wait.
                    Err(RecvError::Closed) => *session = None,
                },
            }
        }
    }
}
