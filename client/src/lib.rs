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
//! Requests issued while the connection is suspended wait for the reconnect;
//! a request in flight when the connection drops fails with
//! [`Error::ConnectionLoss`] (it may or may not have been applied). Once the
//! session has expired every call fails with [`Error::SessionExpired`].

mod acl_ops;
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
mod watch;
mod watch_ops;

pub use builder::{ClientBuilder, ConnectString, IntoHosts};
pub use client::Client;
pub use error::Error;
pub use ops::{perms, Acl, CreateOptions, Op2 as Op, OpResult, ReadOp, ReadResult, Stat};
pub use proto::{CreateMode, ErrorCode};
pub use session::{SessionEvent, SessionEvents, SessionState, SESSION_EVENT_BUFFER};
pub use watch::{
    AddWatchMode, EventType, OneshotWatch, PersistentWatch, WatchStream, WatchedEvent, WatcherType,
    WATCH_BUFFER,
};
