//! One reading of a server's vital numbers, shared by the status words
//! (`srvr`, `stat`, `mntr`), the admin commands and the metrics, so every
//! view says the same thing under the same name.

use crate::replication::raft::RaftView;
use crate::replication::ServerMode;
use crate::service::stats::StatsView;
use crate::service::Service;

/// A server's numbers at one moment (each read on its own: close, not a
/// snapshot).
#[derive(Debug, Clone)]
pub struct Facts {
    /// Its part.
    pub mode: ServerMode,
    /// Whether it serves clients now.
    pub serving: bool,
    /// Znodes in the tree.
    pub nodes: usize,
    /// Sum of path and data lengths, bytes.
    pub data_bytes: u64,
    /// Live sessions (cluster-wide: sessions are replicated).
    pub sessions: usize,
    /// Ephemeral nodes.
    pub ephemerals: usize,
    /// The last applied zxid.
    pub zxid: i64,
    /// Open client connections on this server.
    pub connections: usize,
    /// Watches set on this server.
    pub watches: usize,
    /// Request counters.
    pub stats: StatsView,
    /// Open file descriptors and their limit (0 where unknown).
    pub fds: (u64, u64),
    /// The cluster view (`None` standalone).
    pub raft: Option<RaftView>,
}

impl Facts {
    /// Reads them from `service`.
    pub fn gather(service: &Service) -> Facts {
        let state = service.state();
        let (nodes, data_bytes, sessions, ephemerals, zxid) = {
            let sm = state.read();
            (
                sm.node_count(),
                sm.approximate_data_size(),
                sm.session_count(),
                sm.ephemeral_count(),
                sm.last_zxid(),
            )
        };
        Facts {
            mode: service.mode(),
            serving: service.is_serving(),
            nodes,
            data_bytes,
            sessions,
            ephemerals,
            zxid,
            connections: service.live_connections().len(),
            watches: state.watches().lock().all().len(),
            stats: service.request_stats(),
            fds: file_descriptors(),
            raft: service.replicator().view(),
        }
    }

    /// ZooKeeper's `mntr` lines, keys and values, in its order. Every key is
    /// one ZooKeeper 3.8 prints for the same role (checked against a real
    /// one by `scripts/mntr-vs-zookeeper.sh`).
    pub fn mntr(&self) -> Vec<(&'static str, String)> {
        let s = &self.stats;
        let mut lines = vec![
            ("zk_version", super::VERSION.to_string()),
            ("zk_server_state", self.mode.name().to_string()),
            (
                "zk_avg_latency",
                format!("{:.4}", s.avg_micros as f64 / 1000.0),
            ),
            ("zk_max_latency", (s.max_micros / 1000).to_string()),
            ("zk_min_latency", (s.min_micros / 1000).to_string()),
            ("zk_packets_received", s.received.to_string()),
            ("zk_packets_sent", s.answered.to_string()),
            ("zk_num_alive_connections", self.connections.to_string()),
            ("zk_outstanding_requests", s.outstanding.to_string()),
            ("zk_znode_count", self.nodes.to_string()),
            ("zk_watch_count", self.watches.to_string()),
            ("zk_ephemerals_count", self.ephemerals.to_string()),
            ("zk_approximate_data_size", self.data_bytes.to_string()),
            ("zk_open_file_descriptor_count", self.fds.0.to_string()),
            ("zk_max_file_descriptor_count", self.fds.1.to_string()),
            ("zk_global_sessions", self.sessions.to_string()),
        ];
        if let Some(view) = self
            .raft
            .as_ref()
            .filter(|_| self.mode == ServerMode::Leader)
        {
            // A member is synced once it holds the leader's log to within
            // one heartbeat's worth of entries; pending syncs are members
            // still catching up (by log or snapshot).
            let others = view.members.iter().filter(|m| m.id != view.id);
            let learners = others.clone().count();
            let synced_voters = view.synced(SYNCED_LAG, true);
            let synced_observers = view.synced(SYNCED_LAG, false);
            let pending = learners - synced_voters - synced_observers;
            lines.extend([
                ("zk_learners", learners.to_string()),
                ("zk_synced_followers", synced_voters.to_string()),
                ("zk_synced_non_voting_followers", "0".to_string()),
                ("zk_synced_observers", synced_observers.to_string()),
                ("zk_pending_syncs", pending.to_string()),
            ]);
        }
        lines
    }
}

/// Entries a member may be behind the leader and still count as synced.
const SYNCED_LAG: u64 = 1000;

/// This process's open file descriptors and their limit (0 where unknown).
pub fn file_descriptors() -> (u64, u64) {
    let open = std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count() as u64);
    let limit = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|limits| {
            limits
                .lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3))
                .and_then(|soft| soft.parse().ok())
        })
        .unwrap_or(0);
    (open, limit)
}
