//! Corral's server: a replicated znode tree with ZooKeeper's semantics.
//!
//! Start one with [`start`] (or [`run`] until a shutdown signal) and talk to it
//! with the `client` crate over the native gRPC API.
//!
//! ```no_run
//! # async fn demo() -> Result<(), core_server::ServerError> {
//! let config = core_server::Config {
//!     data_dir: "corral-data".into(),
//!     listen: "127.0.0.1:0".parse().expect("address"),
//!     ..Default::default()
//! };
//! let server = core_server::start(config).await?;
//! println!("native API on {}", server.addr());
//! server.shutdown().await?;
//! # Ok(()) }
//! ```
//!
//! Layout: [`tree`] and [`txn`] are the pure state machine; [`replication`]
//! orders and persists entries through [`storage`]; [`service`] is the one
//! dispatch both front ends ([`api`]) call; [`watch`] and [`session`] hold the
//! connection-local state.

pub mod api;
pub mod clock;
pub mod config;
pub mod connection;
pub mod replication;
pub mod server;
pub mod service;
pub mod session;
pub mod state;
pub mod storage;
pub mod tree;
pub mod txn;
pub mod watch;

pub use config::Config;
pub use server::{run, start, ServerError, ServerHandle};
