//! What every client connection holds on this server, whichever front end
//! accepted it: its id and what is sent to it ([`outgoing`]), the one table
//! of live connections and session owners ([`table`]), byte budgets, the
//! bytes-bounded outbound queue, the per-IP connection cap, the record of why
//! the server closed a connection, and the stream wrapper that reports closed
//! gRPC connections.
//!
//! The rule both front ends follow (see `docs/connections.md`): every
//! `select!` over a read or a write is cancellation-safe, every buffer is
//! bounded in bytes, and every close the server decides on is logged with its
//! reason and counted.

pub mod budget;
pub mod close;
pub mod outbound;
pub mod outgoing;
pub mod per_ip;
pub mod table;
pub mod watched;

pub use budget::{ByteBudget, Charge};
pub use close::CloseReason;
pub use outbound::{OutboundReceiver, OutboundSender, SendError};
pub use outgoing::{ConnId, Delivery, Outbox, Outgoing, WatchedEvent};
pub use per_ip::{IpLimiter, IpSlot};
pub use table::{ConnectionTable, LiveConnection, SharedAuth};
