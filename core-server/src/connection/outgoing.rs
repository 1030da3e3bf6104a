//! What the server sends to one connection, front-end neutral: replies,
//! watch events, pongs and pre-encoded frames; and the connection's outbox
//! (its bounded queue and close switch) under its id.

use super::OutboundSender;
use crate::tree::EventKind;
use tokio_util::sync::CancellationToken;

/// Identifies one client connection on this server.
pub type ConnId = u64;

/// A connection's outbound queue and its close switch.
#[derive(Debug, Clone)]
pub struct Outbox {
    /// The queue of outgoing items, in order, bounded in frames and bytes.
    pub tx: OutboundSender,
    /// Cancelled to close the connection (overflow, session moved, expiry).
    pub close: CancellationToken,
}

/// A watch notification as sent to one connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchedEvent {
    /// What happened.
    pub kind: EventKind,
    /// The node it happened to.
    pub path: String,
    /// The zxid of the change.
    pub zxid: i64,
    /// 0 for ordinary watches; a resumable stream's id otherwise.
    pub stream_id: i64,
    /// `ErrorCode::Ok` normally; `Compacted` ends a resumable stream.
    pub err: proto::ErrorCode,
}

/// One event bound for one connection, with the ACL (an index into the
/// state machine's ACL table) the connection must have READ on to get it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The watching connection.
    pub conn: ConnId,
    /// What it is told.
    pub event: WatchedEvent,
    /// The ACL that decides whether it may be told (`TreeEvent::acl`).
    pub acl: u32,
}

/// What the server writes to one connection, in order: front-end neutral, the
/// gRPC and ZooKeeper encoders turn it into frames at the edge.
#[derive(Debug)]
pub enum Outgoing {
    /// A watch fired.
    Event(WatchedEvent),
    /// The answer to a request.
    Response(crate::request::Response),
    /// The answer to a ping, with the server's last applied zxid.
    Pong(i64),
    /// A frame already encoded by its front end (handshake, replies whose
    /// shape only the front end knows).
    Frame(Vec<u8>),
}
