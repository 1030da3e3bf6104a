//! Async Rust client for Corral.
//!
//! A [`Client`] holds one session on a Corral server (or ensemble): it keeps
//! the session alive with pings, reconnects with backoff to any listed server
//! within the session timeout, re-registers watches after a reconnect, and
//! reports every session transition as a [`SessionEvent`].
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let server = testkit::TestServer::start().await?;
//! # let connect_string = server.connect_string();
//! use client::{Client, CreateOptions, EventType};
//! let client = Client::connect(&connect_string).await?;
//! client.create("/app", b"hello", CreateOptions::default()).await?;
//! let (data, stat, changed) = client.get_data_watch("/app").await?;
//! assert_eq!((data.as_slice(), stat.version), (&b"hello"[..], 0));
//! client.set_data("/app", b"world", Some(0)).await?;
//! let event = changed.await?; // fires once
//! assert_eq!((event.event_type, event.path.as_str()), (EventType::NodeDataChanged, "/app"));
//! client.close().await?;
//! # Ok(()) }
//! ```
//!
//! # Sessions
//!
//! States and transitions follow Curator's model: [`SessionEvent::Connected`]
//! once, [`SessionEvent::Suspended`] when the link is lost (nothing heard for
//! 2/3 of the session timeout, or the stream broke), [`SessionEvent::Reconnected`]
//! when the same session is back, [`SessionEvent::Expired`] when no server
//! reattached it within the session timeout of the last frame heard (or a
//! server said it is gone), [`SessionEvent::Closed`] after [`Client::close`].
//! Watch them with [`Client::state_stream`], [`Client::events`] or
//! [`Client::state_watch`].
//!
//! Requests issued while the connection is suspended wait for the reconnect
//! (at most the session timeout); a request in flight when the connection
//! drops fails with [`Error::ConnectionLoss`] (it may or may not have been
//! applied). Once the session has expired every call fails with
//! [`Error::SessionExpired`]. The client never retries on its own: see
//! [`Client::retry`] and [`retry`].
//!
//! # Watches
//!
//! One-shot watches ([`OneshotWatch`]) are futures; persistent and recursive
//! watches ([`PersistentWatch`]) and resumable streams ([`WatchStream`],
//! exactly-once across reconnects) are `Stream`s. After a reconnect every
//! watch is re-registered with one `SetWatches` before any queued request, so
//! changes made while away still fire one-shot watches.
//!
//! # Administration
//!
//! [`admin::AdminClient`] reads a server's view of the cluster and changes
//! its membership (bootstrap, add a voter or an observer, remove a member).
//!
//! # Chroot
//!
//! With a chroot (`"host:port/app"` or [`ClientBuilder::chroot`]) every path is
//! relative to it: prefixed on the way out, stripped from created paths,
//! event paths and ephemerals on the way back.

mod acl_ops;
pub mod admin;
mod builder;
mod chroot;
mod client;
mod connection;
mod error;
mod multi;
mod node_ops;
mod ops;
pub mod retry;
mod session;
mod tls;
mod watch;
mod watch_ops;

pub use builder::{ClientBuilder, ConnectString, IntoHosts};
pub use client::Client;
pub use error::Error;
pub use ops::{perms, Acl, CreateOptions, Op2 as Op, OpResult, ReadOp, ReadResult, Stat};
pub use proto::{CreateMode, ErrorCode};
pub use session::{SessionEvent, SessionEvents, SessionState, SESSION_EVENT_BUFFER};
pub use tls::TlsConfig;
pub use watch::{
    AddWatchMode, EventType, OneshotWatch, PersistentWatch, WatchStream, WatchedEvent, WatcherType,
    WATCH_BUFFER,
};
