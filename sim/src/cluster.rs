//! The simulated servers: Corral's real Raft configuration, state machine
//! adapter and leader batcher over a [`SimLog`] and the [`Net`].
//!
//! Owns starting, crashing and restarting one server. Elections are started
//! by a seeded timer per server (Corral's pre-vote runs on real clocks and
//! gRPC, so the sim stands in for it): a server that has heard no leader
//! for an election timeout asks openraft to elect it.

use crate::disk::{Disk, SimLog};
use crate::net::{Net, SimNetwork};
use core_server::replication::raft::batcher::{self, Queued};
use core_server::replication::raft::prevote;
use core_server::replication::raft::queue::QueueSender;
use core_server::replication::raft::state_machine::{self, Waiters};
use core_server::replication::raft::types::{NodeId, PeerNode, Raft};
use core_server::state::ServerState;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

/// Heartbeat interval of the simulated servers.
pub const HEARTBEAT: Duration = Duration::from_millis(50);
/// Election timeout of the simulated servers.
pub const ELECTION: Duration = Duration::from_millis(300);

/// Why a server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The state machine did not open.
    #[error("state machine: {0}")]
    State(String),
    /// openraft refused.
    #[error("raft: {0}")]
    Raft(String),
}

/// One running server.
pub struct Node {
    /// Its id.
    pub id: NodeId,
    /// Its Raft.
    pub raft: Raft,
    /// Its tree.
    pub state: Arc<ServerState>,
    /// Its waiting proposers.
    pub waiters: Arc<Waiters>,
    /// Its leader batcher.
    pub batcher: QueueSender<Queued>,
    /// Its applied log index.
    pub applied: tokio::sync::watch::Receiver<u64>,
    tasks: Vec<JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

/// The openraft configuration `raft::start` builds, with the sim's timings.
fn config() -> Result<openraft::Config, StartError> {
    let lease = prevote::lease(HEARTBEAT).as_millis() as u64;
    openraft::Config {
        cluster_name: "corral".into(),
        heartbeat_interval: HEARTBEAT.as_millis() as u64,
        election_timeout_min: lease - 1,
        election_timeout_max: lease,
        install_snapshot_timeout: 4 * (ELECTION.as_millis() as u64).max(500),
        // No snapshots in the sim (their files are written on blocking
        // threads, outside the seeded schedule): the log is never purged.
        snapshot_policy: openraft::SnapshotPolicy::Never,
        max_payload_entries: 2,
        enable_elect: false,
        ..Default::default()
    }
    .validate()
    .map_err(|e| StartError::Raft(e.to_string()))
}

/// The voters of a cluster of `n`.
pub fn members(n: u64) -> BTreeMap<NodeId, PeerNode> {
    (1..=n)
        .map(|id| (id, PeerNode::at(format!("sim-{id}"))))
        .collect()
}

impl Node {
    /// Starts server `id` over `disk`, bootstrapping `members` if given.
    pub async fn start(
        id: NodeId,
        disk: Arc<Disk>,
        net: Arc<Net>,
        bootstrap: Option<BTreeMap<NodeId, PeerNode>>,
    ) -> Result<Node, StartError> {
        let dir = tempfile::tempdir().map_err(|e| StartError::State(e.to_string()))?;
        let (state, sm) = state_machine::open(
            id,
            &dir.path().join("snapshots"),
            (1000, 1 << 20),
            Arc::new(Waiters::default()),
        )
        .map_err(|e| StartError::State(e.to_string()))?;
        let waiters = sm.waiters();
        let applied = sm.applied_index();
        let flusher = tokio::spawn(disk.clone().flusher());
        let log = SimLog::open(disk);
        let network = SimNetwork {
            from: id,
            net: net.clone(),
        };
        let raft = Raft::new(id, Arc::new(config()?), network, log, SimStateMachine(sm))
            .await
            .map_err(|e| StartError::Raft(e.to_string()))?;
        if let Some(members) = bootstrap {
            raft.initialize(members)
                .await
                .map_err(|e| StartError::Raft(e.to_string()))?;
        }
        let batcher = batcher::spawn(raft.clone(), 1000, 1 << 20);
        net.attach(id, raft.clone());
        let elector = tokio::spawn(elect(id, raft.clone(), net));
        Ok(Node {
            id,
            raft,
            state,
            waiters,
            batcher,
            applied,
            tasks: vec![flusher, elector],
            _dir: dir,
        })
    }

    /// True while this server believes it leads.
    pub fn is_leader(&self) -> bool {
        let m = self.raft.metrics();
        let m = m.borrow();
        m.current_leader == Some(self.id) && m.state == openraft::ServerState::Leader
    }

    /// The leader this server knows of.
    pub fn leader(&self) -> Option<NodeId> {
        self.raft.metrics().borrow().current_leader
    }

    /// The last log index this server has.
    pub fn last_log_index(&self) -> u64 {
        self.raft.metrics().borrow().last_log_index.unwrap_or(0)
    }

    /// Crashes the server: the network forgets it, its disk loses what was
    /// not synced, its tasks stop. Returns what the disk kept and lost.
    pub async fn crash(&self, net: &Net, disk: &Disk) -> (usize, usize) {
        net.detach(self.id);
        for t in &self.tasks {
            t.abort();
        }
        let torn = disk.crash();
        let _ = tokio::time::timeout(Duration::from_secs(5), self.raft.shutdown()).await;
        torn
    }
}

/// The election timer: a seeded timeout; on expiry without word from a
/// leader, an election.
async fn elect(id: NodeId, raft: Raft, net: Arc<Net>) {
    let base = ELECTION.as_millis() as u64;
    loop {
        let wait = net.draw(base, 2 * base);
        tokio::time::sleep(Duration::from_millis(wait)).await;
        let leads = {
            let m = raft.metrics();
            let m = m.borrow();
            m.state == openraft::ServerState::Leader
        };
        if !leads && net.since_contact(id) >= ELECTION {
            let _ = raft.trigger().elect().await;
        }
    }
}

/// Corral's state machine store, except that it reports no current
/// snapshot without looking on disk: the real one reads the snapshot
/// directory on a blocking thread, whose finishing moment (real time) would
/// interleave with the seeded schedule. The sim never builds snapshots
/// (`SnapshotPolicy::Never`), so "none" is the truth.
#[derive(Debug, Clone)]
pub struct SimStateMachine(pub state_machine::StateMachineStore);

type Meta = openraft::SnapshotMeta<NodeId, PeerNode>;
type Membership = openraft::StoredMembership<NodeId, PeerNode>;
use core_server::replication::raft::types::{LogEntry, LogId, StorageError, TypeConfig};
use openraft::storage::RaftStateMachine;

impl RaftStateMachine<TypeConfig> for SimStateMachine {
    type SnapshotBuilder = state_machine::SnapshotBuilder;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, Membership), StorageError> {
        self.0.applied_state().await
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<()>, StorageError>
    where
        I: IntoIterator<Item = LogEntry> + Send,
        I::IntoIter: Send,
    {
        self.0.apply(entries).await
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.0.get_snapshot_builder().await
    }

    async fn begin_receiving_snapshot(
        &mut self,
    ) -> Result<Box<std::io::Cursor<Vec<u8>>>, StorageError> {
        self.0.begin_receiving_snapshot().await
    }

    async fn install_snapshot(
        &mut self,
        meta: &Meta,
        snapshot: Box<std::io::Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError> {
        self.0.install_snapshot(meta, snapshot).await
    }

    async fn get_current_snapshot(
        &mut self,
    ) -> Result<Option<openraft::Snapshot<TypeConfig>>, StorageError> {
        Ok(None)
    }
}
