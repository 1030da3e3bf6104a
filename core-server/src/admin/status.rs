//! `GET /status`: one JSON document with what `etcdctl endpoint status` and
//! `corral admin status` show, without the tree digest (cheap to poll).

use super::facts::Facts;
use super::AdminState;
use serde::Serialize;

/// The document.
#[derive(Debug, Serialize)]
pub struct Status {
    /// The server's id (1 standalone).
    pub id: u64,
    /// standalone, leader, follower, observer or looking.
    pub role: &'static str,
    /// Whether `/readyz` says ready, and why not.
    pub ready: bool,
    /// Why it is not ready (absent when ready).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_ready: Option<String>,
    /// The Raft term (0 standalone).
    pub term: u64,
    /// The leader's id, if one is known (this server's own standalone).
    pub leader: Option<u64>,
    /// The last zxid applied here, hex as ZooKeeper prints it.
    pub last_zxid: String,
    /// The last zxid applied here.
    pub last_zxid_decimal: i64,
    /// Index of the last log entry (the last zxid standalone).
    pub last_log_index: u64,
    /// Index of the last entry applied.
    pub applied_index: u64,
    /// Index the newest snapshot covers (cluster members).
    pub snapshot_index: u64,
    /// Members with their part and, on the leader, their lag.
    pub members: Vec<Member>,
    /// Live sessions.
    pub sessions: usize,
    /// Client connections to this server.
    pub connections: usize,
    /// Znodes.
    pub znodes: usize,
    /// Seconds since the server started.
    pub uptime_seconds: u64,
    /// The release.
    pub version: &'static str,
}

/// One member in [`Status`].
#[derive(Debug, Serialize)]
pub struct Member {
    /// Its id.
    pub id: u64,
    /// Its native address.
    pub addr: String,
    /// Its ZooKeeper-protocol address.
    pub zk_addr: Option<String>,
    /// leader, voter or observer.
    pub role: &'static str,
    /// On the leader: entries it is behind.
    pub lag: Option<u64>,
}

impl Status {
    /// The status of the server behind `state`.
    pub fn of(state: &AdminState) -> Status {
        let service = state.service();
        let facts = Facts::gather(service);
        let ready = super::health::readiness(service);
        let zxid = facts.zxid;
        let (id, term, leader, last, applied, snapshot, members) = match &facts.raft {
            None => (
                1,
                0,
                Some(1),
                zxid.max(0) as u64,
                zxid.max(0) as u64,
                0,
                Vec::new(),
            ),
            Some(v) => (
                v.id,
                v.term,
                v.leader,
                v.last_log_index,
                v.applied_index,
                v.snapshot_index,
                v.members
                    .iter()
                    .map(|m| Member {
                        id: m.id,
                        addr: m.addr.clone(),
                        zk_addr: m.zk_addr.clone(),
                        role: match (Some(m.id) == v.leader, m.voter) {
                            (true, _) => "leader",
                            (false, true) => "voter",
                            (false, false) => "observer",
                        },
                        lag: v.lag(m),
                    })
                    .collect(),
            ),
        };
        Status {
            id,
            role: facts.mode.name(),
            ready: ready.is_ok(),
            not_ready: ready.err().map(|e| e.to_string()),
            term,
            leader,
            last_zxid: format!("{zxid:#x}"),
            last_zxid_decimal: zxid,
            last_log_index: last,
            applied_index: applied,
            snapshot_index: snapshot,
            members,
            sessions: facts.sessions,
            connections: facts.connections,
            znodes: facts.nodes,
            uptime_seconds: state.uptime().as_secs(),
            version: super::VERSION,
        }
    }
}
