//! A worker's serving lease, kept alive by its heartbeats.
//!
//! The worker beats into its member node every [`BEAT_EVERY`]; each beat
//! the server acknowledges lets the worker serve until [`LEASE_MS`] after the
//! moment the beat was *sent* (before the server stamped it). The
//! coordinator drops a member whose last beat the server stamped more than
//! [`STALE_MS`] ago, and gives its share to others only from
//! [`LEAD_MS`] later. So when the others may spend the dropped member's
//! share, that member's lease has run out even if it is alive but cut off
//! or paused (it may have been sent a beat before the coordinator looked, so
//! its lease ends at most `LEASE_MS` after the look, and `LEAD_MS` covers that).
//!
//! Before a beat extends the lease, the worker reads the split (after the
//! beat, on the same session) and hands it to the pacer: a worker that was
//! paused and dropped meanwhile learns its new share before it may serve
//! again, rather than whenever its config watcher gets round to it.

use crate::model::{now_ms, Split, BUDGET};
use crate::pacing::Pacer;
use client::Client;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

/// How often a worker beats.
pub const BEAT_EVERY: Duration = Duration::from_millis(200);
/// How long an acknowledged beat lets the worker serve, from its sending.
pub const LEASE_MS: u64 = 800;
/// A member whose last beat is older than this is no longer given a share.
pub const STALE_MS: u64 = 1_200;
/// The least time from a split's decision to its effective time (at least
/// [`LEASE_MS`]; also the time every worker has to see the split).
pub const LEAD_MS: u64 = 800;

/// Beats into `path` and, after reading the split, extends `pacer`'s lease
/// with every acknowledged beat, until aborted. A failed beat (connection lost, session expired,
/// node gone) extends nothing, so the lease runs out by itself.
pub fn start(client: Client, path: String, pacer: Arc<Pacer>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(BEAT_EVERY);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let sent = now_ms();
            let beat = format!("{{\"beat_ms\":{sent}}}");
            if client.set_data(&path, beat.as_bytes(), None).await.is_err() {
                continue;
            }
            let split = match client.get_data(BUDGET).await {
                Ok((data, _)) => serde_json::from_slice::<Split>(&data).ok(),
                // No split yet: nothing to serve anyway.
                Err(client::Error::NoNode { .. }) => Some(Split::default()),
                Err(_) => None,
            };
            if let Some(split) = split {
                pacer.offer(split, now_ms());
                pacer.extend_lease(sent + LEASE_MS);
            }
        }
    })
}

/// The effective time of a split decided at `now_ms`: the first second
/// boundary at least [`LEAD_MS`] ahead.
pub fn effective_after(now_ms: u64) -> u64 {
    (now_ms + LEAD_MS).div_ceil(1000) * 1000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_split_is_effective_on_a_second_boundary_after_every_lease_of_a_dropped_member() {
        assert_eq!(effective_after(10_000), 11_000);
        assert_eq!(effective_after(10_300), 12_000);
        // A dropped member may have sent one more beat during the look: its
        // lease ends before the split counts.
        let look = 50_000;
        assert!(look + LEASE_MS <= effective_after(look));
    }
}
