//! Bringing replication up from a [`Config`]: recover the state from the
//! data directory and start the backend the configuration asks for (a
//! standalone server's committer, or a cluster member's Raft node). The one
//! place that chooses; everything else talks to the [`Replicator`].

use super::raft::peer_auth::{authenticated, PeerCredentials, PeerSecret, PeerTls};
use super::raft::peer_service::PeerApi;
use super::raft::{self, RaftNode, RaftOptions};
use super::{CommitterOptions, ReplicationError, Replicator, StartFailure};
use crate::config::Config;
use crate::connection::watched::OnClose;
use crate::state::ServerState;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Replication, started: the state it applies to and the handle to propose.
#[derive(Debug)]
pub struct Started {
    /// The recovered state.
    pub state: Arc<ServerState>,
    /// Proposes entries.
    pub replicator: Replicator,
    backend: Running,
}

#[derive(Debug)]
enum Running {
    Committer(JoinHandle<()>),
    Raft(Arc<RaftNode>, PeerCredentials),
}

impl Started {
    /// Serves the peer service of a cluster member on its own listener,
    /// to connections that prove the cluster secret within `handshake`,
    /// until `stop` (`None` for a standalone server, which has no peers).
    pub fn serve_peers(
        &self,
        listener: TcpListener,
        handshake: Duration,
        stop: CancellationToken,
    ) -> Option<JoinHandle<Result<(), tonic::transport::Error>>> {
        let Running::Raft(node, creds) = &self.backend else {
            return None;
        };
        let incoming = authenticated(listener, creds.clone(), handshake, self.on_peer_close());
        let service = PeerApi::new(node.clone(), stop.clone()).into_server();
        let serve = tonic::transport::Server::builder()
            .http2_keepalive_interval(Some(Duration::from_secs(10)))
            .http2_keepalive_timeout(Some(Duration::from_secs(20)))
            .add_service(service)
            .serve_with_incoming_shutdown(incoming, stop.cancelled_owned());
        Some(tokio::spawn(serve))
    }

    /// Where the peer listener reports closed connections: to the pre-vote
    /// (a closed leader connection is a lost leader).
    fn on_peer_close(&self) -> Option<OnClose> {
        let Running::Raft(node, _) = &self.backend else {
            return None;
        };
        let node = Arc::downgrade(node);
        Some(Arc::new(move |peer| {
            if let Some(node) = node.upgrade() {
                node.peer_connection_closed(peer);
            }
        }))
    }

    /// Waits for the backend to finish once `stop` was cancelled.
    pub async fn stopped(self) {
        match self.backend {
            Running::Committer(task) => {
                let _ = task.await;
            }
            Running::Raft(node, _) => node.shutdown().await,
        }
    }
}

/// Recovers the state under `config.data_dir` and starts replication:
/// Raft when `config.node_id` is set, else the standalone committer. A fatal
/// storage error cancels `fatal`; `stop` stops the committer.
pub async fn start(
    config: &Config,
    stop: CancellationToken,
    fatal: CancellationToken,
) -> Result<Started, ReplicationError> {
    if let Some(node_id) = config.node_id {
        let creds = peer_credentials(config, &stop)?;
        let options = raft_options(config, node_id, creds.clone());
        let (node, state) = raft::start(&config.data_dir, options).await?;
        return Ok(Started {
            state,
            replicator: Replicator::raft(node.clone()),
            backend: Running::Raft(node, creds),
        });
    }
    let recovered = super::recover(
        &config.data_dir,
        config.history_entries,
        config.history_bytes,
    )?;
    let state = Arc::new(recovered.state);
    let (replicator, committer) = super::spawn_committer(
        state.clone(),
        recovered.wal,
        CommitterOptions {
            snapshot_dir: config.data_dir.join("snapshots"),
            wal_dir: config.data_dir.join("wal"),
            snapshot_every: config.snapshot_every,
            // Half the budget a cluster member keeps, as its log budget
            // purges down to half.
            snapshot_every_bytes: (config.log_retained_bytes / 2).max(1) as u64,
            max_batch: 1024,
            queue: 8192,
        },
        stop,
        fatal,
    );
    Ok(Started {
        state,
        replicator,
        backend: Running::Committer(committer),
    })
}

/// The consensus settings of cluster member `node_id`.
/// What this member proves to its peers and asks of them: the cluster
/// secret and/or mutual TLS (its files reloaded until `stop`).
fn peer_credentials(
    config: &Config,
    stop: &CancellationToken,
) -> Result<PeerCredentials, ReplicationError> {
    let secret = match &config.cluster_secret_file {
        Some(path) => Some(PeerSecret::load(path).map_err(StartFailure::from)?),
        None => None,
    };
    let files = config
        .peer_tls_files()
        .map_err(|e| StartFailure::PeerTls(e.to_string()))?;
    let tls = match files {
        Some(files) => {
            let reloading = crate::tls::Reloading::load(files)
                .map_err(|e| StartFailure::PeerTls(e.to_string()))?;
            let every = Duration::from_millis(config.tls_reload_ms);
            tokio::spawn(reloading.clone().watch(every, stop.clone()));
            let handshake = Duration::from_millis(config.handshake_timeout_ms);
            Some(
                PeerTls::new(reloading, handshake)
                    .map_err(|e| StartFailure::PeerTls(e.to_string()))?,
            )
        }
        None => None,
    };
    if secret.is_none() && tls.is_none() {
        return Err(StartFailure::NoPeerCredentials.into());
    }
    Ok(PeerCredentials { secret, tls })
}

fn raft_options(config: &Config, node_id: u64, peer_credentials: PeerCredentials) -> RaftOptions {
    let members = config
        .members
        .iter()
        // Exactly as configured: every bootstrapping member must propose
        // the same membership.
        .map(|m| (m.id, m.peer_node()))
        .collect();
    RaftOptions {
        node_id,
        members,
        heartbeat: Duration::from_millis(config.heartbeat_ms),
        election_timeout: Duration::from_millis(config.election_timeout_ms),
        snapshot_every: config.snapshot_every,
        write_timeout: Duration::from_millis(config.write_timeout_ms),
        history: (config.history_entries, config.history_bytes),
        proposal_queue: (config.proposal_queue, config.proposal_queue_bytes),
        log_retained_bytes: config.log_retained_bytes,
        log_write_queue_bytes: config.log_write_queue_bytes,
        log_cache_bytes: config.log_cache_bytes,
        peer_routes: config
            .peer_routes
            .iter()
            .map(|m| (m.id, m.addr.clone()))
            .collect(),
        peer_credentials,
    }
}
