//! Watches this member's Raft metrics for the events an operator wants
//! in the log and in the metrics: a leader elected, the leader lost, a
//! member added or removed. One readable line each; counts leader changes.

use super::types::NodeId;
use super::RaftNode;
use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::sync::Weak;
use tokio_util::sync::CancellationToken;

/// Runs until `stop` or until the node is gone.
pub(super) async fn run(node: Weak<RaftNode>, stop: CancellationToken) {
    let Some(first) = node.upgrade() else { return };
    let mut metrics = first.raft.metrics();
    let me = first.id;
    drop(first);
    let mut leader: Option<NodeId> = None;
    let mut members: Option<BTreeSet<NodeId>> = None;
    loop {
        let (now_leader, term, now_members) = {
            let m = metrics.borrow_and_update();
            let members: BTreeSet<NodeId> = m
                .membership_config
                .membership()
                .nodes()
                .map(|(id, _)| *id)
                .collect();
            (m.current_leader, m.current_term, members)
        };
        if now_leader != leader {
            match now_leader {
                Some(id) if id == me => tracing::info!(term, "this server is the leader"),
                Some(id) => tracing::info!(leader = id, term, "leader elected"),
                None => tracing::info!(term, previous = ?leader, "leader lost"),
            }
            if leader.is_some() || now_leader.is_some() {
                if let Some(node) = node.upgrade() {
                    node.leader_changes.fetch_add(1, Ordering::Relaxed);
                }
                metrics::counter!("corral_leader_changes_total").increment(1);
            }
            leader = now_leader;
        }
        // The first membership (at start or bootstrap) is not a change.
        if let Some(before) = members.as_ref().filter(|b| !b.is_empty()) {
            for added in now_members.difference(before) {
                tracing::info!(member = added, "member added");
            }
            for removed in before.difference(&now_members) {
                tracing::info!(member = removed, "member removed");
            }
        }
        members = Some(now_members);
        tokio::select! {
            _ = stop.cancelled() => return,
            changed = metrics.changed() => if changed.is_err() { return },
        }
    }
}
