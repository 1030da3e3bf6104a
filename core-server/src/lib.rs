//! Corral's server as a library: a replicated znode tree with ZooKeeper's
//! semantics. The `corral` binary (crate `corral-cli`) is one program built
//! on it; any other program can embed a server the same way.
//!
//! # Embedding a server
//!
//! Build a [`Config`] (the same settings `corral serve` takes as flags or a
//! TOML file), [`start`] it, and talk to it with the `client` crate (native
//! gRPC) or any ZooKeeper client (set `zk_listen`). [`ServerHandle::shutdown`]
//! stops it cleanly; [`run`] serves until SIGINT or SIGTERM instead.
//!
//! ```
//! # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let data = tempfile::tempdir()?;
//! let config = core_server::Config {
//!     data_dir: data.path().to_path_buf(),
//!     listen: "127.0.0.1:0".parse()?, // a port the OS picks
//!     ..Default::default()
//! };
//! config.validate()?;
//! let server = core_server::start(config).await?;
//!
//! let client = client::Client::connect(&server.addr().to_string()).await?;
//! client.create("/app", b"hello", Default::default()).await?;
//! assert_eq!(client.get_data("/app").await?.0, b"hello");
//! client.close().await?;
//!
//! server.shutdown().await?;
//! # Ok(()) }
//! ```
//!
//! Layout: [`tree`] and [`txn`] are the pure state machine; [`replication`]
//! orders and persists entries through [`storage`]; [`service`] is the one
//! dispatch both front ends ([`api`]) call; [`watch`] and [`session`] hold the
//! connection-local state; [`backup`] reads and writes backup files and
//! restores them into new data directories.

pub mod admin;
pub mod api;
pub mod backup;
pub mod clock;
pub mod config;
pub mod connection;
pub mod replication;
pub mod request;
pub mod sasl;
pub mod server;
pub mod service;
pub mod session;
pub mod state;
pub mod storage;
pub mod tls;
pub mod tree;
pub mod txn;
pub mod watch;

pub use config::Config;
pub use server::{run, start, start_with_clock, ServerError, ServerHandle};
