//! Watches: per-connection registrations and their delivery.
//!
//! Owns the one-shot data / exist / child watches, persistent and
//! persistent-recursive watches ([`registry`]), the bounded history of recent
//! changes behind resumable watch streams ([`history`], [`stream`]), and the
//! per-connection outbound queue type ([`Outgoing`]). Watches are connection
//! state, not replicated, as in ZooKeeper. Must not touch the tree: it only
//! consumes [`TreeEvent`](crate::tree::TreeEvent)s produced by apply.

pub mod history;
pub mod registry;
pub mod stream;

pub use history::EventHistory;
pub use registry::{ConnId, Outbox, WatchKind, WatchRegistry};

use crate::tree::EventKind;

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

/// What the server writes to one connection, in order: front-end neutral, the
/// gRPC and ZooKeeper encoders turn it into frames at the edge.
#[derive(Debug)]
pub enum Outgoing {
    /// A watch fired.
    Event(WatchedEvent),
    /// The answer to a request.
    Response(crate::service::Response),
    /// The answer to a ping, with the server's last applied zxid.
    Pong(i64),
    /// A frame already encoded by its front end (handshake, replies whose
    /// shape only the front end knows).
    Frame(Vec<u8>),
}
