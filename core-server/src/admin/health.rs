//! Liveness and readiness, as a load balancer or a Kubernetes probe asks.
//!
//! Ready means a client sent here is served with current data: standalone,
//! once recovered (the listener starts after recovery); in a cluster, a
//! member that knows a leader, is in touch (a leader acknowledged by a
//! quorum within its lease, a follower that heard its leader within an
//! election timeout) and has applied to within `ready_lag_entries` of its
//! log.

use crate::replication::ServerMode;
use crate::service::Service;

/// Why a server is not ready.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotReady {
    /// It knows no leader (an election is on, or it is cut off).
    #[error("no leader known")]
    NoLeader,
    /// A leader that no quorum acknowledged within its lease.
    #[error("leader without a quorum for {millis} ms")]
    NoQuorum {
        /// Since the last quorum acknowledgement.
        millis: u128,
    },
    /// A new leader that no quorum has acknowledged yet.
    #[error("leader not yet acknowledged by a quorum")]
    NotYetAcknowledged,
    /// A follower that has not heard its leader.
    #[error("no word from leader {leader} for {millis} ms")]
    LeaderSilent {
        /// The leader it knows.
        leader: u64,
        /// Since it last heard it.
        millis: u128,
    },
    /// It has not applied what its log holds.
    #[error("applied index {applied} is {behind} entries behind the log (limit {limit})")]
    Behind {
        /// Its applied index.
        applied: u64,
        /// Entries not yet applied.
        behind: u64,
        /// The configured limit.
        limit: u64,
    },
    /// It refuses clients (out of touch with a quorum).
    #[error("not serving clients")]
    NotServing,
}

/// Whether this server knows a leader it is in touch with (always
/// standalone): what `corral_has_leader` reports.
pub fn leader_known(service: &Service) -> bool {
    !matches!(
        readiness(service),
        Err(NotReady::NoLeader
            | NotReady::NoQuorum { .. }
            | NotReady::NotYetAcknowledged
            | NotReady::LeaderSilent { .. })
    )
}

/// Whether `service` is ready, or why not.
pub fn readiness(service: &Service) -> Result<(), NotReady> {
    let Some(view) = service.replicator().view() else {
        return Ok(());
    };
    let node = service.replicator().raft_node();
    let leader = view.leader.ok_or(NotReady::NoLeader)?;
    match view.mode {
        ServerMode::Looking | ServerMode::ReadOnly => return Err(NotReady::NoLeader),
        ServerMode::Leader => {
            let lease = node.map(|n| n.lease()).unwrap_or_default();
            match view.since_quorum_ack {
                Some(since) if since <= lease => {}
                Some(since) => {
                    return Err(NotReady::NoQuorum {
                        millis: since.as_millis(),
                    })
                }
                None => return Err(NotReady::NotYetAcknowledged),
            }
        }
        ServerMode::Follower | ServerMode::Observer | ServerMode::Standalone => {
            let timeout = node.map(|n| n.election_timeout()).unwrap_or_default();
            let since = view.since_leader_contact.unwrap_or_default();
            if since > timeout {
                return Err(NotReady::LeaderSilent {
                    leader,
                    millis: since.as_millis(),
                });
            }
        }
    }
    let behind = view.last_log_index.saturating_sub(view.applied_index);
    let limit = service.config().ready_lag_entries;
    if behind > limit {
        return Err(NotReady::Behind {
            applied: view.applied_index,
            behind,
            limit,
        });
    }
    if !service.is_serving() {
        return Err(NotReady::NotServing);
    }
    Ok(())
}
