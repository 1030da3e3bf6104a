//! Curator-style coordination recipes on Corral's client.
//!
//! Every recipe takes a [`client::Client`] and a base path, uses only the
//! client's public API, and says what it does when the connection is
//! *suspended* (the session may come back) and when the session *expires*
//! (whatever it held is gone). Held things expose a [`Hold`] state and a
//! [`FencingToken`]; every holder (mutex and reentrant guards, read and write
//! guards, semaphore leases, a latch's or a selector term's [`Leadership`])
//! offers guarded writes that only succeed while it still holds. Every wait
//! runs on one driver, [`internals::wait::Waiter`].
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let server = testkit::TestServer::start().await?;
//! use recipes::Mutex;
//! let client = client::Client::connect(&server.connect_string()).await?;
//! let lock = Mutex::new(client.clone(), "/locks/report");
//! let guard = lock.acquire().await?;
//! // Only the current holder's write goes through, however late it arrives.
//! client.create("/report", b"", Default::default()).await?;
//! guard.guarded_set_data("/report", b"done", None).await?;
//! guard.release().await?;
//! # Ok(()) }
//! ```
//!
//! Families: [`locks`] (Mutex, ReadWriteLock, Semaphore), [`leader`] (LeaderLatch, LeaderSelector), [`nodes`]
//! (GroupMember, ServiceDiscovery, heartbeats), [`barriers`] (Barrier, DoubleBarrier), [`shared`]
//! (SharedCount, DistributedAtomicLong), [`queue`] (DistributedQueue),
//! [`cache`] (one Cache with node / children / tree modes), [`config`]
//! (ConfigWatcher), over shared [`internals`].

pub mod barriers;
pub mod cache;
pub mod config;
mod error;
pub mod internals;
pub mod leader;
pub mod locks;
pub mod nodes;
pub mod queue;
pub mod shared;

pub use barriers::{Barrier, DoubleBarrier};
pub use cache::{Cache, CacheEvent, CacheMode};
pub use config::{ConfigWatcher, Versioned};
pub use error::{RecipeError, Result};
pub use internals::{FencingToken, Hold};
pub use leader::{LeaderLatch, LeaderSelector, Leadership};
pub use locks::{
    Lease, MultiGuard, MultiLock, Mutex, MutexGuard, ReadWriteLock, ReentrantGuard, RwGuard,
    Semaphore,
};
pub use nodes::{GroupMember, HeartbeatPublisher, ServiceDiscovery};
pub use queue::DistributedQueue;
pub use shared::{DistributedAtomicLong, SharedCount};
