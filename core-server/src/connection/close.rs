//! Why the server closed a client connection: each close it decides on is
//! logged with its reason and counted (`corral_connections_closed_total`).

use std::fmt;

/// A reason the server (not the client) ended a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// The handshake was not complete within its deadline.
    HandshakeTimeout,
    /// A frame was started and not finished within its deadline.
    FrameTimeout,
    /// A frame's length was negative or over the request limit.
    FrameTooLarge,
    /// The shared budget for partly received frames was exhausted.
    PartialFrameBudget,
    /// The client IP already has as many connections as allowed.
    TooManyFromIp,
    /// The server has as many connections as allowed.
    TooManyConnections,
    /// The client did not read its replies and the outbound queue grew past
    /// its byte bound.
    OutboundOverflow,
    /// Watch events could not be queued (the queue was full).
    WatchQueueOverflow,
    /// A request could not be decoded at all.
    Malformed,
    /// The request was over the size limit (ZooKeeper closes these too).
    RequestTooLarge,
    /// Authentication failed.
    AuthFailed,
    /// The session ended (closed or expired).
    SessionEnded,
    /// The session was reattached on another connection.
    SessionMoved,
    /// This server lost touch with a quorum; its clients fail over.
    NoQuorum,
    /// The quorum is back: a read-only session ends so its client moves to
    /// a read-write session.
    QuorumRegained,
    /// This server installed a snapshot; its clients reattach and catch up.
    SnapshotInstalled,
    /// A request's outcome is unknown (its leader was lost): ZooKeeper has no
    /// reply for that, its client learns it from the closed connection.
    OutcomeUnknown,
    /// The server is stopping.
    Shutdown,
    /// The TLS handshake failed: not TLS at all, or a client certificate
    /// missing, from an unknown CA or expired.
    TlsHandshakeFailed,
}

impl CloseReason {
    /// A short stable name (the metric label).
    pub fn name(self) -> &'static str {
        match self {
            CloseReason::HandshakeTimeout => "handshake_timeout",
            CloseReason::FrameTimeout => "frame_timeout",
            CloseReason::FrameTooLarge => "frame_too_large",
            CloseReason::PartialFrameBudget => "partial_frame_budget",
            CloseReason::TooManyFromIp => "too_many_from_ip",
            CloseReason::TooManyConnections => "too_many_connections",
            CloseReason::OutboundOverflow => "outbound_overflow",
            CloseReason::WatchQueueOverflow => "watch_queue_overflow",
            CloseReason::Malformed => "malformed",
            CloseReason::RequestTooLarge => "request_too_large",
            CloseReason::AuthFailed => "auth_failed",
            CloseReason::SessionEnded => "session_ended",
            CloseReason::SessionMoved => "session_moved",
            CloseReason::NoQuorum => "no_quorum",
            CloseReason::QuorumRegained => "quorum_regained",
            CloseReason::SnapshotInstalled => "snapshot_installed",
            CloseReason::OutcomeUnknown => "outcome_unknown",
            CloseReason::Shutdown => "shutdown",
            CloseReason::TlsHandshakeFailed => "tls_handshake_failed",
        }
    }

    /// Logs the close (at info for what an operator should know about, debug
    /// for the routine) and counts it.
    pub fn record(self, protocol: &'static str, peer: Option<std::net::SocketAddr>, session: i64) {
        metrics::counter!("corral_connections_closed_total", "reason" => self.name(), "protocol" => protocol)
            .increment(1);
        let peer = peer.map(|p| p.to_string()).unwrap_or_default();
        match self {
            CloseReason::Shutdown
            | CloseReason::SessionEnded
            | CloseReason::SessionMoved
            | CloseReason::AuthFailed => {
                tracing::debug!(reason = self.name(), protocol, %peer, session = format_args!("{session:#x}"), "server closed a client connection");
            }
            _ => {
                tracing::info!(reason = self.name(), protocol, %peer, session = format_args!("{session:#x}"), "server closed a client connection");
            }
        }
    }
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
