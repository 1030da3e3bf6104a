//! Test harness for Corral: real servers on loopback ports the OS picks.
//!
//! - [`TestServer`]: an in-process server with its own temporary data directory,
//!   which can be stopped and restarted on the same port and data.
//! - [`ProcessServer`]: the real `corral` binary as a child process, for
//!   `kill -9` durability tests.
//! - [`eventually`] and [`eventually_ok`]: wait for a condition with a
//!   deadline (never a fixed sleep); every poll goes through them.
//! - [`linearizability`]: a WGL-style checker for recorded register
//!   histories, and the register workload that records them.
//! - [`proxy`]: a fault-injecting TCP proxy (pass, drop, hold traffic).
//! - [`kazoo`]: the Python ZooKeeper client, installed on demand, for tests.
//! - [`tls`]: throwaway CAs and certificates for TLS tests.
//! - [`cluster`]: one cluster interface with an in-process and a
//!   real-process implementation, a proxy on every link between two servers
//!   (crash, restart, stall, partition).

pub mod cluster;
pub mod http;
pub mod kazoo;
pub mod linearizability;
mod process;
pub mod proxy;
pub mod tls;
mod wait;

pub use process::{cargo_bin, corral_binary, ProcessServer};
pub use wait::{eventually, eventually_blocking, eventually_ok};

use core_server::clock::{Clock, SystemClock};
use core_server::{Config, ServerHandle};
use std::net::SocketAddr;
use std::sync::Arc;

/// A server running inside the test process.
#[derive(Debug)]
pub struct TestServer {
    config: Config,
    clock: Arc<dyn Clock>,
    handle: Option<ServerHandle>,
    addr: SocketAddr,
    _dir: Option<tempfile::TempDir>,
}

/// Settings tests usually want: short session bounds and a quick reaper.
pub fn test_config() -> Config {
    Config {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        tick_ms: 100,
        min_session_timeout_ms: 200,
        max_session_timeout_ms: 60_000,
        container_check_ms: 100,
        zk_listen: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
        admin_listen: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
        four_letter_words: vec!["*".to_string()],
        super_digest: Some(cluster::admin_digest()),
        ..Config::default()
    }
}

impl TestServer {
    /// Starts a server with [`test_config`] in a fresh temporary directory.
    pub async fn start() -> anyhow::Result<TestServer> {
        Self::start_with(test_config()).await
    }

    /// Starts a server with `config`; its `data_dir` is replaced by a fresh
    /// temporary directory and `listen` should be port 0.
    pub async fn start_with(config: Config) -> anyhow::Result<TestServer> {
        Self::start_with_clock(config, Arc::new(SystemClock)).await
    }

    /// [`TestServer::start_with`] on `clock` (for example a
    /// `core_server::clock::ManualClock` the test moves); restarts keep it.
    pub async fn start_with_clock(
        mut config: Config,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<TestServer> {
        let dir = tempfile::tempdir()?;
        config.data_dir = dir.path().join("data");
        let handle = core_server::start_with_clock(config.clone(), clock.clone()).await?;
        let addr = handle.addr();
        config.listen = addr;
        config.zk_listen = handle.zk_addr();
        config.admin_listen = handle.admin_addr();
        config.peer_listen = handle.peer_addr().or(config.peer_listen);
        config.zk_secure_listen = handle.zk_secure_addr();
        Ok(TestServer {
            config,
            clock,
            handle: Some(handle),
            addr,
            _dir: Some(dir),
        })
    }

    /// The native gRPC address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The ZooKeeper-protocol address.
    pub fn zk_addr(&self) -> Option<SocketAddr> {
        self.config.zk_listen
    }

    /// The admin HTTP address.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.config.admin_listen
    }

    /// The peer address (cluster members only).
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.handle()?.peer_addr()
    }

    /// The ZooKeeper-protocol TLS address (`zk_secure_listen`), if enabled.
    pub fn zk_secure_addr(&self) -> Option<SocketAddr> {
        self.config.zk_secure_listen
    }

    /// The connect string for the client.
    pub fn connect_string(&self) -> String {
        self.addr.to_string()
    }

    /// The configuration in force (with the real port).
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The running server, if it is running.
    pub fn handle(&self) -> Option<&ServerHandle> {
        self.handle.as_ref()
    }

    /// Stops the server (connections drop); the data stays.
    pub async fn kill(&mut self) -> anyhow::Result<()> {
        if let Some(handle) = self.handle.take() {
            handle.shutdown().await?;
        }
        Ok(())
    }

    /// Stops the server if running, then starts it again on the same port and data.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.kill().await?;
        let handle = core_server::start_with_clock(self.config.clone(), self.clock.clone()).await?;
        self.handle = Some(handle);
        Ok(())
    }
}

/// When `RUST_LOG` is set, sends the log of servers running in this process
/// to the test's captured output (shown when the test fails); otherwise the
/// servers log nothing. Calling it again does nothing.
pub fn log_to_test_output() {
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
    }
}
