//! Session states and the events announcing transitions (Curator's model).

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
