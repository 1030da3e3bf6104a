//! Bringing replication up from a [`Config`]: recover the state from the
//! data directory and start the backend the configuration asks for (a
//! standalone server's committer, or a cluster member's Raft node). The one
//! place that chooses; everything else talks to the [`Replicator`].

use super::raft::peer_service::PeerApi;
use super::raft::{self, PeerNode, RaftNode, RaftOptions};
use super::{CommitterOptions, ReplicationError, Replicator};
use crate::config::Config;
use crate::connection::watched::OnClose;
use crate::state::ServerState;
use proto::peer::peer_server::PeerServer;
use std::sync::Arc;
use std::time::Duration;
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
    Raft(Arc<RaftNode>),
}

impl Started {
    /// The peer service a cluster member serves on the native listener.
    pub fn peer_service(&self, stop: CancellationToken) -> Option<PeerServer<PeerApi>> {
        match &self.backend {
            Running::Raft(node) => Some(PeerApi::new(node.clone(), stop).into_server()),
            Running::Committer(_) => None,
        }
    }

    /// Where the listener reports closed connections: in a cluster, to the
    /// pre-vote (a closed leader connection is a lost leader).
    pub fn on_peer_close(&self) -> Option<OnClose> {
        let Running::Raft(node) = &self.backend else {
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
            Running::Raft(node) => node.shutdown().await,
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
        let (node, state) = raft::start(&config.data_dir, raft_options(config, node_id)).await?;
        return Ok(Started {
            state,
            replicator: Replicator::raft(node.clone()),
            backend: Running::Raft(node),
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
            snapshot_every: config.snapshot_every,
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
fn raft_options(config: &Config, node_id: u64) -> RaftOptions {
    let members = config
        .members
        .iter()
        .map(|m| {
            // Exactly as configured: every bootstrapping member must propose
            // the same membership.
            let node = PeerNode {
                addr: m.addr.clone(),
                zk_addr: m.zk_addr.clone(),
            };
            (m.id, node)
        })
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
        peer_routes: config
            .peer_routes
            .iter()
            .map(|m| (m.id, m.addr.clone()))
            .collect(),
    }
}
