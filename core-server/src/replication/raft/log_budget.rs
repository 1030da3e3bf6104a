//! Keeps the Raft log within `Config::log_retained_bytes`.
//!
//! openraft snapshots every `snapshot_every` entries, a count: under large
//! writes the log past the last snapshot (held in memory by the log store and
//! on disk in its segments) would grow with the write volume. This task
//! watches the log's bytes; past the budget it has a snapshot taken and the
//! log purged so that at most half the budget stays. A purge waits (inside
//! openraft) for replication still reading those entries; a follower that
//! lags behind a purge catches up by snapshot, as after any other purge.

use super::log_store::LogStore;
use super::types::Raft;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// What the budget calls for now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Within budget (or nothing applied yet to snapshot).
    Nothing,
    /// Snapshot first: the last one does not reach the purge point.
    Snapshot,
    /// Purge through this index.
    Purge(u64),
}

/// Decides from the log's bytes, the purge point (the index to purge through
/// to keep half the budget), and the last snapshot and applied indexes.
fn step(
    bytes: usize,
    limit: usize,
    purge_point: Option<u64>,
    snapshot: Option<u64>,
    applied: Option<u64>,
) -> Step {
    let Some(point) = purge_point.filter(|_| bytes > limit) else {
        return Step::Nothing;
    };
    match snapshot {
        Some(last) if last >= point => Step::Purge(point),
        // A newer snapshot would let more go.
        _ if applied > snapshot => Step::Snapshot,
        Some(last) => Step::Purge(last),
        None => Step::Nothing,
    }
}

/// Runs until `stop`, checking every `every`.
pub(super) async fn run(
    raft: Raft,
    log: LogStore,
    limit: usize,
    every: Duration,
    stop: CancellationToken,
) {
    let mut asked_at: Option<Option<u64>> = None;
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        let (snapshot, applied) = {
            let metrics = raft.metrics();
            let m = metrics.borrow();
            (
                m.snapshot.map(|id| id.index),
                m.last_applied.map(|id| id.index),
            )
        };
        let bytes = log.retained_bytes();
        let outcome = match step(bytes, limit, log.purge_point(limit / 2), snapshot, applied) {
            Step::Nothing => Ok(()),
            Step::Purge(upto) => raft.trigger().purge_log(upto).await,
            // One request per snapshot: ask again once it has been taken.
            Step::Snapshot if asked_at == Some(snapshot) => Ok(()),
            Step::Snapshot => {
                tracing::debug!(bytes, limit, "log over its byte budget; snapshotting");
                asked_at = Some(snapshot);
                raft.trigger().snapshot().await
            }
        };
        if outcome.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn within_budget_nothing_happens() {
        assert_eq!(step(10, 100, Some(5), Some(1), Some(9)), Step::Nothing);
        assert_eq!(step(200, 100, None, Some(1), Some(9)), Step::Nothing);
    }

    #[test]
    fn over_budget_a_snapshot_comes_first_then_the_purge() {
        assert_eq!(step(200, 100, Some(50), None, Some(60)), Step::Snapshot);
        assert_eq!(
            step(200, 100, Some(50), Some(60), Some(60)),
            Step::Purge(50)
        );
    }

    #[test]
    fn with_nothing_newer_applied_the_snapshot_bounds_the_purge() {
        assert_eq!(
            step(200, 100, Some(50), Some(30), Some(30)),
            Step::Purge(30)
        );
        assert_eq!(step(200, 100, Some(50), Some(30), Some(40)), Step::Snapshot);
        assert_eq!(step(200, 100, Some(50), None, None), Step::Nothing);
    }
}
