//! Async Rust client for Corral.
//!
//! A [`Client`] holds one session on a Corral server (or ensemble): it keeps
//! the session alive with pings, reconnects with backoff to any listed server
//! within the session timeout, re-registers watches after a reconnect, and
//! reports every session transition as a [`SessionEvent`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), client::Error> {
//! use client::{Client, CreateOptions};
//! let client = Client::connect("127.0.0.1:4181").await?;
//! client.create("/app", b"hello", CreateOptions::default()).await?;
//! let (data, stat, changed) = client.get_data_watch("/app").await?;
//! assert_eq!((data.as_slice(), stat.version), (&b"hello"[..], 0));
//! client.set_data("/app", b"world", Some(0)).await?;
//! let event = changed.await?; // fires once: NodeDataChanged on /app
//! println!("{:?} {}", event.event_type, event.path);
//! client.close().await?;
//! # Ok(()) }
//! ```
//!
//! Requests issued while the connection is suspended wait for the reconnect;
//! a request in flight when the connection drops fails with
//! [`Error::ConnectionLoss`] (it may or may not have been applied). Once the
//! session has expired every call fails with [`Error::SessionExpired`].

mod builder;
mod client;
mod connection;
mod error;
pub mod retry;
mod session;
mod watch;

pub use builder::{ClientBuilder, ConnectString};
pub use client::{Client, CreateOptions, Op2 as Op, OpResult, ReadOp, ReadResult, Stat};
pub use error::Error;
pub use proto::{CreateMode, ErrorCode};
pub use session::{SessionEvent, SessionState};
pub use watch::{
    AddWatchMode, EventType, OneshotWatch, PersistentWatch, WatchStream, WatchedEvent, WatcherType,
};
