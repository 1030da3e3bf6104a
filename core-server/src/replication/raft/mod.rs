//! Consensus for a replicated ensemble, on openraft.
//!
//! Owns everything Raft: the type configuration ([`types`]), the log on disk
//! ([`log_store`]), the state machine adapter over the server's tree
//! ([`state_machine`]), the transport ([`network`], [`peer_service`]),
//! forwarding of writes from followers to the leader ([`forward`]) and
//! operator commands ([`admin`]). Nothing outside `replication/` names an
//! openraft type: the service sees a [`Replicator`](super::Replicator).
//!
//! The log index of an entry is its zxid. A write proposed on any server is
//! answered by that server only after it has applied the entry itself, so a
//! session always reads its own writes.

pub mod admin;
pub mod batcher;
pub mod forward;
mod leadership;
pub mod log_budget;
pub mod log_store;
pub mod network;
pub mod peer_auth;
pub mod peer_service;
pub mod peer_stream;
pub mod prevote;
pub mod queue;
pub mod read_index;
pub mod restore;
pub mod runtime;
pub mod state_machine;
pub mod types;
pub mod view;

pub use admin::{AdminReply, AdminRequest, ClusterStatus, MemberStatus};
pub use types::{NodeId, PeerNode};
pub use view::{MemberView, RaftView};

use super::{Pending, ReplicationError, StartFailure};
use crate::state::ServerState;
use crate::txn::Entry;
use parking_lot::Mutex;
use state_machine::Waiters;
use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use types::{Proposal, Raft};

/// Timing and sizing of the consensus layer.
#[derive(Debug, Clone)]
pub struct RaftOptions {
    /// This server's id.
    pub node_id: NodeId,
    /// Initial voters, used only to bootstrap an empty cluster (may be empty:
    /// the server then waits to be initialized or added by an operator).
    pub members: BTreeMap<NodeId, PeerNode>,
    /// Leader heartbeat interval.
    pub heartbeat: Duration,
    /// Smallest election timeout (the largest is twice this).
    pub election_timeout: Duration,
    /// Snapshot (and purge the log behind it) every this many entries.
    pub snapshot_every: u64,
    /// How long a proposer waits for its entry to be applied here.
    pub write_timeout: Duration,
    /// Watch history budget (entries, bytes).
    pub history: (usize, usize),
    /// Where to dial a peer instead of its advertised address (for example a
    /// relay or a fault-injecting proxy between two servers).
    pub peer_routes: BTreeMap<NodeId, String>,
    /// Bounds of each proposal queue (leader batcher, follower forwarder):
    /// proposals, bytes.
    pub proposal_queue: (usize, usize),
    /// Most bytes of log kept past the last snapshot (`log_budget`).
    pub log_retained_bytes: usize,
    /// Most bytes of log records waiting for the log writer.
    pub log_write_queue_bytes: usize,
    /// Most bytes of the newest log entries kept in memory.
    pub log_cache_bytes: usize,
    /// What peers prove to each other.
    pub peer_credentials: peer_auth::PeerCredentials,
}

/// A running Raft member.
pub struct RaftNode {
    id: NodeId,
    raft: Raft,
    state: Arc<ServerState>,
    waiters: Arc<Waiters>,
    forward: queue::QueueSender<Proposal>,
    batcher: queue::QueueSender<batcher::Queued>,
    applied_index: tokio::sync::watch::Receiver<u64>,
    reported: Mutex<HashSet<i64>>,
    write_timeout: Duration,
    /// How long a leader keeps serving clients without a quorum's
    /// acknowledgement: four election timeouts, so that followers slowed by
    /// a write flood (acknowledging late, not gone) do not make it drop its
    /// clients, while a leader really cut off still lets them go well within
    /// a session timeout.
    lease: Duration,
    channels: forward::Channels,
    peer_routes: BTreeMap<NodeId, String>,
    /// When a leader was last heard from (for the pre-vote).
    contact: prevote::LeaderContact,
    election_timeout: Duration,
    heartbeat: Duration,
    /// The log (read by the pre-vote for its last entry).
    log: log_store::LogStore,
    /// Stops the election timer.
    stop: tokio_util::sync::CancellationToken,
    /// Times this member saw its leader change or be lost.
    leader_changes: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for RaftNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RaftNode").field("id", &self.id).finish()
    }
}

/// Starts a Raft member over the data in `dir`: loads the newest snapshot,
/// opens the log and, if `members` is given and the log is empty,
/// bootstraps the cluster.
pub async fn start(
    dir: &Path,
    options: RaftOptions,
) -> Result<(Arc<RaftNode>, Arc<ServerState>), ReplicationError> {
    let snapshot_dir = dir.join("snapshots");
    let (state, sm) = state_machine::open(
        options.node_id,
        &snapshot_dir,
        options.history,
        Arc::new(Waiters::default()),
    )?;
    let waiters = sm.waiters();
    let applied_index = sm.applied_index();
    let log =
        log_store::LogStore::open(dir, options.log_write_queue_bytes, options.log_cache_bytes)
            .map_err(StartFailure::from)?;
    let election = options.election_timeout.as_millis() as u64;
    let config = openraft::Config {
        cluster_name: "corral".into(),
        heartbeat_interval: options.heartbeat.as_millis().max(1) as u64,
        // openraft's own election timer is off (`enable_elect`); these two
        // set only its vote lease (`election_timeout_max`): a voter refuses a
        // real vote for that long after hearing from its leader. The pre-vote
        // keeps returning members from disrupting a leader, so the lease can
        // be short enough for a fast failover (see `prevote`).
        election_timeout_min: prevote::lease(options.heartbeat).as_millis() as u64 - 1,
        election_timeout_max: prevote::lease(options.heartbeat).as_millis() as u64,
        install_snapshot_timeout: 4 * election.max(500),
        snapshot_policy: openraft::SnapshotPolicy::LogsSinceLast(options.snapshot_every),
        max_in_snapshot_log_to_keep: 1000.min(options.snapshot_every),
        snapshot_max_chunk_size: 4 << 20,
        // Entries are batches of up to 4 MiB: two per message keep an
        // AppendEntries under 8 MiB, quick to write even on a busy disk
        // (one of 32 MiB took longer than its timeout under a flood).
        max_payload_entries: 2,
        // Elections are started by the pre-vote timer (`prevote`), so a
        // returning member cannot depose a leader that a quorum follows.
        enable_elect: false,
        ..Default::default()
    }
    .validate()
    .map_err(StartFailure::from)?;
    let dialer =
        peer_auth::PeerDialer::new(options.peer_credentials.clone(), network::CONNECT_TIMEOUT);
    let network = network::Network {
        node_id: options.node_id,
        routes: options.peer_routes.clone(),
        dialer: dialer.clone(),
    };
    let log_reader = log.clone();
    let raft = Raft::new(options.node_id, Arc::new(config), network, log, sm)
        .await
        .map_err(StartFailure::from)?;
    if !options.members.is_empty() {
        match raft.initialize(options.members.clone()).await {
            Ok(()) => tracing::info!(members = ?options.members, "cluster bootstrapped"),
            Err(openraft::error::RaftError::APIError(
                openraft::error::InitializeError::NotAllowed(_),
            )) => {}
            Err(openraft::error::RaftError::APIError(
                openraft::error::InitializeError::NotInMembers(_),
            )) => {
                return Err(StartFailure::NotInMembers {
                    id: options.node_id,
                }
                .into())
            }
            Err(openraft::error::RaftError::Fatal(fatal)) => {
                return Err(StartFailure::Fatal(fatal).into())
            }
        }
    }
    let (queue_count, queue_bytes) = options.proposal_queue;
    let (forward_tx, forward_rx) = queue::bounded(queue_count, queue_bytes);
    let batcher = batcher::spawn(raft.clone(), queue_count, queue_bytes);
    let node = Arc::new(RaftNode {
        batcher,
        applied_index,
        id: options.node_id,
        raft,
        state: state.clone(),
        waiters,
        forward: forward_tx,
        reported: Mutex::new(HashSet::new()),
        write_timeout: options.write_timeout,
        lease: options.election_timeout * 4,
        channels: forward::Channels::new(dialer),
        peer_routes: options.peer_routes.clone(),
        contact: prevote::LeaderContact::default(),
        election_timeout: options.election_timeout,
        heartbeat: options.heartbeat,
        log: log_reader.clone(),
        stop: tokio_util::sync::CancellationToken::new(),
        leader_changes: std::sync::atomic::AtomicU64::new(0),
    });
    tokio::spawn(prevote::run(Arc::downgrade(&node), node.stop.clone()));
    tokio::spawn(leadership::run(Arc::downgrade(&node), node.stop.clone()));
    tokio::spawn(log_budget::run(
        node.raft.clone(),
        log_reader,
        options.log_retained_bytes,
        options.heartbeat.max(Duration::from_millis(10)),
        node.stop.clone(),
    ));
    tokio::spawn(forward::run_forwarder(Arc::downgrade(&node), forward_rx));
    Ok((node, state))
}

impl RaftNode {
    /// This server's id.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// Notes a message from a leader in `vote`, received on the connection
    /// from `via` (for the pre-vote): while it is handled, this server is in
    /// contact, unless the message is from a leader older than its own vote.
    pub(crate) fn leader_contact(
        &self,
        via: Option<std::net::SocketAddr>,
        vote: &openraft::Vote<NodeId>,
    ) -> prevote::Handling<'_> {
        let current = self.raft.metrics().borrow().vote;
        prevote::Handling::new(&self.contact, via, vote >= &current)
    }

    /// Notes that the gRPC connection from `peer` closed: if the leader
    /// replicated over it, the pre-vote may start an election soon.
    pub fn peer_connection_closed(&self, peer: std::net::SocketAddr) {
        self.contact.connection_closed(peer);
    }

    /// The openraft handle (for the peer service).
    pub(crate) fn raft(&self) -> &Raft {
        &self.raft
    }

    /// The current leader as this server knows it, with the address this
    /// server dials it at.
    pub fn leader(&self) -> Option<(NodeId, PeerNode)> {
        let metrics = self.raft.metrics();
        let m = metrics.borrow();
        let leader = m.current_leader?;
        let mut node = m.membership_config.membership().get_node(&leader)?.clone();
        node.addr = self.dial_addr(leader, &node);
        Some((leader, node))
    }

    /// The address this server dials member `id` (advertised as `peer`) at:
    /// its configured route, if any, else the advertised address.
    pub(crate) fn dial_addr(&self, id: NodeId, peer: &PeerNode) -> String {
        self.peer_routes.get(&id).unwrap_or(&peer.addr).clone()
    }

    /// True while this server is the leader.
    pub fn is_leader(&self) -> bool {
        let metrics = self.raft.metrics();
        let m = metrics.borrow();
        m.current_leader == Some(self.id) && m.state == openraft::ServerState::Leader
    }

    /// This server's part in the cluster, for status words and probes.
    pub fn mode(&self) -> super::ServerMode {
        use super::ServerMode;
        let metrics = self.raft.metrics();
        let m = metrics.borrow();
        match m.state {
            openraft::ServerState::Leader if m.current_leader == Some(self.id) => {
                ServerMode::Leader
            }
            openraft::ServerState::Follower
                if m.current_leader.is_some() && self.hears_leader() =>
            {
                ServerMode::Follower
            }
            openraft::ServerState::Learner if m.current_leader.is_some() && self.hears_leader() => {
                ServerMode::Observer
            }
            _ => ServerMode::Looking,
        }
    }

    /// True while a follower has heard from its leader within four
    /// election timeouts (ZooKeeper's follower gives up after `syncLimit`
    /// ticks; a loaded machine can delay a few heartbeats). A follower cut off from its leader keeps openraft's idea of
    /// the leader while its pre-votes fail, so this is what tells it is out
    /// of touch.
    fn hears_leader(&self) -> bool {
        self.contact.since() < self.election_timeout * 4
    }

    /// True while this server is in touch with a quorum: it follows a known
    /// leader it heard from lately, or it leads and a majority acknowledged
    /// it within the lease.
    /// A server that is not serving closes its client connections and
    /// refuses new ones, so clients move to the majority
    /// (as a ZooKeeper server without quorum does).
    pub fn is_serving(&self) -> bool {
        let metrics = self.raft.metrics();
        let m = metrics.borrow();
        match m.current_leader {
            None => false,
            Some(leader) if leader == self.id => m
                .millis_since_quorum_ack
                .is_some_and(|ms| u128::from(ms) <= self.lease.as_millis()),
            Some(_) => self.hears_leader(),
        }
    }

    /// Proposes an entry; the returned [`Pending`] completes once this
    /// server has applied it. Entries submitted one after another by one
    /// caller are committed in that order.
    pub async fn submit(&self, entry: Entry) -> Result<Pending, ReplicationError> {
        let (token, rx) = self.waiters.register();
        let proposal = Proposal {
            origin: self.id,
            incarnation: self.waiters.incarnation(),
            token,
            entry,
        };
        if self.is_leader() {
            self.write_on_leader(proposal).await;
        } else {
            let size = batcher::txn_bytes(&proposal.entry.txn);
            if self.forward.send(proposal, size).await.is_err() {
                self.waiters.finish(token, Err(ReplicationError::Stopped));
            }
        }
        Ok(Pending::raft(rx, self.write_timeout))
    }

    /// Queues a proposal of this server for the leader's next batch (used
    /// while this server leads); a failure ends its proposer's wait (the
    /// outcome is then unknown to the client).
    pub(crate) async fn write_on_leader(&self, proposal: Proposal) {
        let token = proposal.token;
        let size = batcher::txn_bytes(&proposal.entry.txn);
        let queued = batcher::Queued {
            proposal,
            reply: batcher::Reply::Local(self.waiters.clone()),
        };
        if self.batcher.send(queued, size).await.is_err() {
            self.waiters.finish(token, Err(ReplicationError::Stopped));
        }
    }

    /// Queues a follower's proposal for the leader's next batch.
    pub(crate) async fn queue_forwarded(
        &self,
        proposal: Proposal,
        reply: mpsc::Sender<forward::ForwardReply>,
    ) -> bool {
        let size = batcher::txn_bytes(&proposal.entry.txn);
        self.batcher
            .send(
                batcher::Queued {
                    proposal,
                    reply: batcher::Reply::Forwarded(reply),
                },
                size,
            )
            .await
            .is_ok()
    }

    /// The waiters of this server's proposers (for the forwarder).
    pub(crate) fn waiters(&self) -> &Arc<Waiters> {
        &self.waiters
    }

    /// The leader's commit index confirmed by a quorum right now; reading
    /// after this server has applied that log index is linearizable.
    pub async fn read_index(&self) -> Result<u64, ReplicationError> {
        read_index::read_index(self).await
    }

    /// Waits until this server has applied the log through `index` (or
    /// `limit` passes).
    pub async fn wait_applied(&self, index: u64, limit: Duration) -> Result<(), ReplicationError> {
        let mut applied = self.applied_index.clone();
        let reached = tokio::time::timeout(limit, applied.wait_for(|i| *i >= index)).await;
        match reached {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(_)) => Err(ReplicationError::Stopped),
            Err(_) => Err(ReplicationError::Timeout),
        }
    }

    /// How long writes wait (also the limit for catching up on reads).
    pub fn write_timeout(&self) -> Duration {
        self.write_timeout
    }

    /// Records sessions a follower reported alive (drained by the leader's
    /// session tracker).
    pub fn note_reported(&self, sessions: impl IntoIterator<Item = i64>) {
        self.reported.lock().extend(sessions);
    }

    /// Takes the sessions reported alive since the last call.
    pub fn take_reported(&self) -> Vec<i64> {
        self.reported.lock().drain().collect()
    }

    /// Sends the leader the sessions this server's clients kept alive.
    pub async fn report_sessions(&self, sessions: Vec<i64>) -> Result<(), ReplicationError> {
        forward::report_sessions(self, sessions).await
    }

    /// The zxid and digest of this server's tree.
    pub fn tree_digest(&self) -> (i64, u64) {
        let tree = self.state.read();
        (tree.last_zxid(), tree.digest())
    }

    /// What this server knows of the cluster.
    pub fn status(&self) -> ClusterStatus {
        admin::status(self)
    }

    /// Runs an operator command (forwarded to the leader when it must be).
    pub async fn admin(&self, request: AdminRequest) -> AdminReply {
        admin::handle(self, request).await
    }

    /// Stops Raft (the log is closed when its writer drains).
    pub async fn shutdown(&self) {
        self.stop.cancel();
        self.waiters.fail_all(|| ReplicationError::Stopped);
        let _ = self.raft.shutdown().await;
    }
}
