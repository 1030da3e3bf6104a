//! Wiring: start replication (which recovers the state), the service,
//! housekeeping and the listeners, and fan out shutdown. Which kind of
//! replication runs is `replication::start`'s business.

use crate::api::grpc::cluster_admin::ClusterAdminApi;
use crate::api::grpc::incoming::incoming;
use crate::api::grpc::GrpcApi;
use crate::clock::{Clock, SystemClock};
use crate::config::{Config, ConfigError};
use crate::replication::raft::{AdminReply, AdminRequest, ClusterStatus};
use crate::replication::{self, ReplicationError, Replicator};
use crate::service::Service;
use std::fs::File;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Why a server could not start or had to stop.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The data directory could not be prepared or locked.
    #[error("data directory {path}: {reason}")]
    DataDir {
        /// The directory.
        path: std::path::PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// Recovery or the log failed.
    #[error(transparent)]
    Replication(#[from] ReplicationError),
    /// The listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The gRPC server failed.
    #[error("gRPC server failed: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// The node stopped itself after a storage failure.
    #[error("the node stopped after a storage failure (see the log)")]
    Fatal,
    /// The TLS certificate, key or client CA could not be loaded.
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
}

/// A running server.
#[derive(Debug)]
pub struct ServerHandle {
    addr: SocketAddr,
    zk_addr: Option<SocketAddr>,
    admin_addr: Option<SocketAddr>,
    peer_addr: Option<SocketAddr>,
    zk_secure_addr: Option<SocketAddr>,
    stop: CancellationToken,
    service: Service,
    replicator: Replicator,
    task: JoinHandle<Result<(), ServerError>>,
}

impl ServerHandle {
    /// The address the native API listens on (with the real port if 0 was asked).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The address of the ZooKeeper-protocol listener, if enabled.
    pub fn zk_addr(&self) -> Option<SocketAddr> {
        self.zk_addr
    }

    /// The address of the admin HTTP listener, if enabled.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin_addr
    }

    /// The address of the peer listener (cluster members only).
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.peer_addr
    }

    /// The address of the ZooKeeper-protocol TLS listener, if enabled.
    pub fn zk_secure_addr(&self) -> Option<SocketAddr> {
        self.zk_secure_addr
    }

    /// The service (for admin views and tests).
    pub fn service(&self) -> &Service {
        &self.service
    }

    /// What this server knows of its cluster (`None` when standalone).
    pub fn cluster_status(&self) -> Option<ClusterStatus> {
        self.replicator.cluster_status()
    }

    /// Runs an operator command on this cluster member (`None` when standalone).
    pub async fn admin(&self, request: AdminRequest) -> Option<AdminReply> {
        self.replicator.admin(request).await
    }

    /// Completes when the server is stopping (asked to, or after a fatal error).
    pub async fn stopped(&self) {
        self.stop.cancelled().await
    }

    /// Asks the server to stop.
    pub fn stop(&self) {
        self.stop.cancel();
    }

    /// Stops the server and waits until it has released its data directory.
    pub async fn shutdown(self) -> Result<(), ServerError> {
        self.stop.cancel();
        self.wait().await
    }

    /// Waits until the server stops (after [`stop`](Self::stop), or a fatal error).
    pub async fn wait(self) -> Result<(), ServerError> {
        match self.task.await {
            Ok(result) => result,
            Err(_) => Err(ServerError::Fatal),
        }
    }
}

/// Starts a server: binds `config.listen` (port 0 picks a free port), recovers
/// the state from `config.data_dir` and serves until stopped.
pub async fn start(config: Config) -> Result<ServerHandle, ServerError> {
    start_with_clock(config, Arc::new(SystemClock)).await
}

/// [`start`] with an explicit clock.
pub async fn start_with_clock(
    config: Config,
    clock: Arc<dyn Clock>,
) -> Result<ServerHandle, ServerError> {
    config.validate()?;
    let sasl = config.sasl_users()?;
    let lock = lock_data_dir(&config.data_dir)?;
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|source| ServerError::Bind {
            addr: config.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| ServerError::Bind {
        addr: config.listen,
        source,
    })?;
    let zk_listener = match config.zk_listen {
        Some(zk) => Some(
            TcpListener::bind(zk)
                .await
                .map_err(|source| ServerError::Bind { addr: zk, source })?,
        ),
        None => None,
    };
    let zk_addr = match &zk_listener {
        Some(l) => Some(
            l.local_addr()
                .map_err(|source| ServerError::Bind { addr, source })?,
        ),
        None => None,
    };
    let admin_listener = match config.admin_listen {
        Some(admin) => {
            Some(
                TcpListener::bind(admin)
                    .await
                    .map_err(|source| ServerError::Bind {
                        addr: admin,
                        source,
                    })?,
            )
        }
        None => None,
    };
    let admin_addr = match &admin_listener {
        Some(l) => Some(
            l.local_addr()
                .map_err(|source| ServerError::Bind { addr, source })?,
        ),
        None => None,
    };
    let peer_listener = match config.peer_listen.filter(|_| config.node_id.is_some()) {
        Some(peer) => Some(
            TcpListener::bind(peer)
                .await
                .map_err(|source| ServerError::Bind { addr: peer, source })?,
        ),
        None => None,
    };
    let peer_addr = match &peer_listener {
        Some(l) => Some(
            l.local_addr()
                .map_err(|source| ServerError::Bind { addr, source })?,
        ),
        None => None,
    };
    let tls = match config.tls_files()? {
        Some(files) => Some(crate::tls::Reloading::load(files)?),
        None => None,
    };
    let handshake = Duration::from_millis(config.handshake_timeout_ms);
    let zk_secure = bind_secure(&config, tls.clone(), handshake).await?;
    let zk_secure_addr = zk_secure.as_ref().map(|(_, addr, _)| *addr);
    crate::admin::metrics::install();
    let stop = CancellationToken::new();
    let fatal = CancellationToken::new();
    let started = replication::start(&config, stop.clone(), fatal.clone()).await?;
    let (state, replicator) = (started.state.clone(), started.replicator.clone());
    let server_id = config.node_id.map_or(1, |id| (id % 255) as u8 + 1);
    let service = Service::new(config.clone(), state, replicator, clock, server_id, sasl);
    let check = Duration::from_millis((config.tick_ms as u64 / 10).clamp(10, 100));
    let housekeeping = tokio::spawn(service.clone().run_housekeeping(check, stop.clone()));
    let zk = zk_listener
        .map(|l| tokio::spawn(crate::api::zk_wire::serve(l, service.clone(), stop.clone())));
    if let Some(tls) = &tls {
        let every = Duration::from_millis(config.tls_reload_ms);
        tokio::spawn(tls.clone().watch(every, stop.clone()));
    }
    let zk_secure = zk_secure.map(|(l, _, tls)| {
        tokio::spawn(crate::api::zk_wire::serve_secure(
            l,
            service.clone(),
            tls,
            stop.clone(),
        ))
    });
    let admin_state = crate::admin::AdminState::new(service.clone(), service.now());
    let admin =
        admin_listener.map(|l| tokio::spawn(crate::admin::serve(l, admin_state, stop.clone())));
    let api = GrpcApi::new(service.clone(), stop.clone());
    let cluster_admin = ClusterAdminApi::new(service.clone());
    let peers = peer_listener.and_then(|l| started.serve_peers(l, handshake, stop.clone()));
    let shutdown = {
        let stop = stop.clone();
        let fatal = fatal.clone();
        async move {
            tokio::select! {
                _ = stop.cancelled() => {}
                _ = fatal.cancelled() => stop.cancel(),
            }
        }
    };
    let native_tls =
        tls.map(|tls| crate::tls::TlsAcceptor::new(tls, handshake).with_alpn(&[b"h2".as_slice()]));
    let grpc = tonic::transport::Server::builder()
        .tcp_nodelay(true)
        .http2_keepalive_interval(Some(Duration::from_secs(10)))
        .http2_keepalive_timeout(Some(Duration::from_secs(20)))
        .add_service(api.into_server())
        .add_service(cluster_admin.into_server())
        .serve_with_incoming_shutdown(
            incoming(
                listener,
                native_tls,
                config.max_tls_handshakes,
                stop.clone(),
            ),
            shutdown,
        );
    tracing::info!(%addr, zk_addr = ?zk_addr, zk_secure_addr = ?zk_secure_addr, admin_addr = ?admin_addr, peer_addr = ?peer_addr, data_dir = %config.data_dir.display(), "corral serving");
    let task_stop = stop.clone();
    let handle_replicator = started.replicator.clone();

    let task = tokio::spawn(async move {
        let served = grpc.await;
        task_stop.cancel();
        let _ = housekeeping.await;
        if let Some(zk) = zk {
            let _ = zk.await;
        }
        if let Some(zk) = zk_secure {
            let _ = zk.await;
        }
        if let Some(admin) = admin {
            let _ = admin.await;
        }
        if let Some(peers) = peers {
            if let Ok(Err(error)) = peers.await {
                tracing::warn!(%error, "peer listener failed");
            }
        }
        started.stopped().await;
        drop(lock);
        served?;
        if fatal.is_cancelled() {
            return Err(ServerError::Fatal);
        }
        Ok(())
    });
    Ok(ServerHandle {
        addr,
        zk_addr,
        admin_addr,
        peer_addr,
        zk_secure_addr,
        stop,
        service,
        replicator: handle_replicator,
        task,
    })
}

/// Runs a server until `shutdown` completes.
pub async fn run(
    config: Config,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), ServerError> {
    let handle = start(config).await?;
    let stop = handle.stop.clone();
    tokio::select! {
        _ = shutdown => stop.cancel(),
        _ = stop.cancelled() => {}
    }
    handle.wait().await
}

/// Binds the ZooKeeper secure port, if configured, with the listeners'
/// TLS configuration (loaded once for every TLS listener).
async fn bind_secure(
    config: &Config,
    tls: Option<Arc<crate::tls::Reloading>>,
    handshake: Duration,
) -> Result<Option<(TcpListener, SocketAddr, crate::tls::TlsAcceptor)>, ServerError> {
    let (Some(addr), Some(tls)) = (config.zk_secure_listen, tls) else {
        return Ok(None);
    };
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| ServerError::Bind { addr, source })?;
    let bound = listener
        .local_addr()
        .map_err(|source| ServerError::Bind { addr, source })?;
    let acceptor = crate::tls::TlsAcceptor::new(tls, handshake);
    Ok(Some((listener, bound, acceptor)))
}

/// Creates the data directory and takes an exclusive lock on it, so two
/// servers never share one.
fn lock_data_dir(dir: &std::path::Path) -> Result<File, ServerError> {
    let fail = |reason: String| ServerError::DataDir {
        path: dir.to_path_buf(),
        reason,
    };
    std::fs::create_dir_all(dir).map_err(|e| fail(e.to_string()))?;
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("LOCK"))
        .map_err(|e| fail(e.to_string()))?;
    file.try_lock()
        .map_err(|_| fail("in use by another corral process".into()))?;
    Ok(file)
}
