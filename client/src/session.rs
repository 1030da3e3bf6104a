//! Owns the session vocabulary: [`SessionState`] (where the session stands) and
//! [`SessionEvent`] (a transition, Curator's `ConnectionState` model), and the
//! [`SessionEvents`] stream.

/// Where the client's session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    /// Establishing the first session.
    Connecting,
    /// Connected; requests are served.
    Connected,
    /// Connection lost; reconnecting within the session timeout. Requests wait.
    Suspended,
    /// The session is gone (expired or refused); ephemerals are deleted. Final.
    Expired,
    /// The client was closed. Final.
    Closed,
}

impl SessionState {
    /// True for the states a client never leaves.
    pub fn is_terminal(self) -> bool {
        matches!(self, SessionState::Expired | SessionState::Closed)
    }
}

/// A transition, as delivered by [`Client::events`](crate::Client::events).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEvent {
    /// The first session was established.
    Connected,
    /// The connection was lost; the session may still come back.
    Suspended,
    /// The same session is back on a connection (watches re-registered).
    Reconnected,
    /// The session expired; everything it held is gone.
    Expired,
    /// The client was closed.
    Closed,
}

/// Every session transition as a `Stream` (from
/// [`Client::state_stream`](crate::Client::state_stream)). Built on a bounded
/// broadcast channel of [`SESSION_EVENT_BUFFER`] events: a subscriber that
/// falls that far behind skips the oldest transitions (and the skip is logged);
/// the current state is always available from
/// [`Client::state`](crate::Client::state).
pub struct SessionEvents {
    inner: tokio_stream::wrappers::BroadcastStream<SessionEvent>,
}

/// How many transitions a slow [`SessionEvents`] subscriber may fall behind.
pub const SESSION_EVENT_BUFFER: usize = 64;

impl SessionEvents {
    pub(crate) fn new(rx: tokio::sync::broadcast::Receiver<SessionEvent>) -> Self {
        SessionEvents {
            inner: tokio_stream::wrappers::BroadcastStream::new(rx),
        }
    }
}

impl std::fmt::Debug for SessionEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionEvents").finish_non_exhaustive()
    }
}

impl futures::Stream for SessionEvents {
    type Item = SessionEvent;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<SessionEvent>> {
        use std::task::Poll;
        loop {
            match std::pin::Pin::new(&mut self.inner).poll_next(cx) {
                Poll::Ready(Some(Ok(event))) => return Poll::Ready(Some(event)),
                Poll::Ready(Some(Err(lagged))) => {
                    tracing::warn!(%lagged, "session event subscriber fell behind");
                }
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}
