//! A cheap reading of this member's part in the cluster, for probes, the
//! admin listener and metrics: role, term, leader, indexes, and on the
//! leader each member's replication lag. Unlike [`super::ClusterStatus`] it
//! computes no tree digest, so it may be read on every scrape.

use super::types::NodeId;
use super::RaftNode;
use crate::replication::ServerMode;
use std::time::Duration;

/// What this member knows now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaftView {
    /// This member's id.
    pub id: NodeId,
    /// Its part.
    pub mode: ServerMode,
    /// The current term.
    pub term: u64,
    /// The leader it knows, if any.
    pub leader: Option<NodeId>,
    /// Index of the last entry in its log.
    pub last_log_index: u64,
    /// Index of the last entry it applied.
    pub applied_index: u64,
    /// Index the newest snapshot covers.
    pub snapshot_index: u64,
    /// On the leader: how long since a quorum acknowledged it.
    pub since_quorum_ack: Option<Duration>,
    /// Off the leader: how long since the leader was last heard from.
    pub since_leader_contact: Option<Duration>,
    /// The members of the membership in effect.
    pub members: Vec<MemberView>,
}

/// One member as this server sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberView {
    /// Its id.
    pub id: NodeId,
    /// Its advertised native address.
    pub addr: String,
    /// Its advertised ZooKeeper-protocol address.
    pub zk_addr: Option<String>,
    /// A voter (else an observer).
    pub voter: bool,
    /// On the leader: the last log index known replicated to it.
    pub matched: Option<u64>,
}

impl RaftView {
    /// The index a majority of voters hold, as the leader counts it (this
    /// server's applied index elsewhere: all it knows to be committed).
    pub fn commit_index(&self) -> u64 {
        if self.mode != ServerMode::Leader {
            return self.applied_index;
        }
        let mut held: Vec<u64> = self
            .members
            .iter()
            .filter(|m| m.voter)
            .map(|m| {
                if m.id == self.id {
                    self.last_log_index
                } else {
                    m.matched.unwrap_or(0)
                }
            })
            .collect();
        if held.is_empty() {
            return self.applied_index;
        }
        held.sort_unstable_by(|a, b| b.cmp(a));
        held[held.len() / 2]
    }

    /// On the leader: entries member `id` is behind the leader's log.
    pub fn lag(&self, member: &MemberView) -> Option<u64> {
        member
            .matched
            .map(|m| self.last_log_index.saturating_sub(m))
    }

    /// On the leader: members other than itself within `entries` of its log
    /// (what ZooKeeper's `synced_followers` counts, voters only).
    pub fn synced(&self, entries: u64, voters: bool) -> usize {
        self.members
            .iter()
            .filter(|m| m.id != self.id && m.voter == voters)
            .filter(|m| self.lag(m).is_some_and(|lag| lag <= entries))
            .count()
    }
}

impl RaftNode {
    /// A cheap reading of this member's state (no digest).
    pub fn view(&self) -> RaftView {
        let mode = self.mode();
        let metrics = self.raft.metrics();
        let m = metrics.borrow();
        let membership = m.membership_config.membership();
        let voters: std::collections::BTreeSet<NodeId> = membership.voter_ids().collect();
        let replication = m.replication.as_ref();
        let members = membership
            .nodes()
            .map(|(id, peer)| MemberView {
                id: *id,
                addr: peer.addr.clone(),
                zk_addr: peer.zk_addr.clone(),
                voter: voters.contains(id),
                matched: replication
                    .and_then(|r| r.get(id))
                    .map(|log_id| log_id.map_or(0, |l| l.index)),
            })
            .collect();
        let leading = mode == ServerMode::Leader;
        RaftView {
            id: self.id,
            mode,
            term: m.current_term,
            leader: m.current_leader,
            last_log_index: m.last_log_index.unwrap_or(0),
            applied_index: m.last_applied.map_or(0, |l| l.index),
            snapshot_index: m.snapshot.map_or(0, |l| l.index),
            since_quorum_ack: m
                .millis_since_quorum_ack
                .filter(|_| leading)
                .map(Duration::from_millis),
            since_leader_contact: (!leading).then(|| self.contact.since()),
            members,
        }
    }

    /// How long this member may go without hearing its leader before it
    /// counts it lost (the election timeout).
    pub fn election_timeout(&self) -> Duration {
        self.election_timeout
    }

    /// Times this member saw its leader change or be lost.
    pub fn leader_changes(&self) -> u64 {
        self.leader_changes
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Proposals submitted here and not yet answered.
    pub fn pending_proposals(&self) -> usize {
        self.waiters.len()
    }

    /// How long a leader keeps serving without a quorum's acknowledgement.
    pub fn lease(&self) -> Duration {
        self.lease
    }
}
