//! The budget coordinator: while this worker holds the leader latch, it
//! looks at the members and their beats every [`LOOK_EVERY`] and, when the
//! live set or the settings changed, publishes a new split with the next
//! epoch and an effective time [`lease::LEAD_MS`] ahead.
//!
//! The write is guarded by the latch node (a multi that checks it first)
//! and conditional on the version of the split it replaces, so a deposed
//! coordinator (its latch node gone with its session) cannot publish, and
//! two writers cannot both derive an epoch from the same predecessor.

use crate::lease;
use crate::model::{now_ms, split, Settings, Split, BUDGET, MEMBERS, SETTINGS};
use client::{Client, CreateOptions, Op};
use recipes::nodes::stale_members;
use recipes::{LeaderLatch, RecipeError};
use std::sync::Arc;
use std::time::Duration;

/// How often the coordinator looks at the members.
pub const LOOK_EVERY: Duration = Duration::from_millis(200);

/// Why a look did not publish.
#[derive(Debug, thiserror::Error)]
pub enum CoordinatorError {
    /// Corral refused or lost a request.
    #[error(transparent)]
    Client(#[from] client::Error),
    /// A recipe failed (for the guarded write: no longer the leader).
    #[error(transparent)]
    Recipe(#[from] RecipeError),
    /// The settings or the split are not valid JSON.
    #[error("bad JSON in {path}: {source}")]
    Json {
        /// The node.
        path: &'static str,
        /// The decoder's complaint.
        source: serde_json::Error,
    },
}

/// Runs for as long as the worker does: waits for leadership, then looks
/// and publishes until leadership is lost, then waits again.
pub async fn run(client: Client, id: String, latch: Arc<LeaderLatch>) {
    let mut leading = latch.subscribe();
    loop {
        if leading.wait_for(|l| *l).await.is_err() {
            return;
        }
        let mut ticks = tokio::time::interval(LOOK_EVERY);
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                lost = leading.wait_for(|l| !*l) => {
                    if lost.is_err() {
                        return;
                    }
                    break;
                }
            }
            if let Err(e) = look(&client, &id, &latch).await {
                eprintln!("coordinator {id}: {e}");
            }
        }
    }
}

/// The members whose beats are fresh, sorted: the group's children less
/// the stale ones (looked up first, so a member that leaves in between is
/// not taken for a fresh one).
pub async fn live_members(client: &Client) -> Result<Vec<String>, RecipeError> {
    let stale = stale_members(client, MEMBERS, Duration::from_millis(lease::STALE_MS)).await?;
    let mut live: Vec<String> = client
        .get_children(MEMBERS)
        .await?
        .into_iter()
        .filter(|m| !stale.contains(m))
        .collect();
    live.sort();
    Ok(live)
}

/// One look: publishes a new split if the live members or the settings
/// changed; returns the epoch published, if any.
pub async fn look(
    client: &Client,
    id: &str,
    latch: &LeaderLatch,
) -> Result<Option<u64>, CoordinatorError> {
    let (data, settings_stat) = client.get_data(SETTINGS).await?;
    let settings: Settings =
        serde_json::from_slice(&data).map_err(|source| CoordinatorError::Json {
            path: SETTINGS,
            source,
        })?;
    let live = live_members(client).await?;
    // After the look at the beats: a beat in flight during the look leases
    // its sender until at most `LEASE_MS` after this.
    let now = now_ms();
    let current = match client.get_data(BUDGET).await {
        Ok((data, stat)) => {
            let split: Split =
                serde_json::from_slice(&data).map_err(|source| CoordinatorError::Json {
                    path: BUDGET,
                    source,
                })?;
            Some((split, stat.version))
        }
        Err(client::Error::NoNode { .. }) => None,
        Err(e) => return Err(e.into()),
    };
    if let Some((split, _)) = &current {
        if split.members == live && split.settings_version == settings_stat.version {
            return Ok(None);
        }
    }
    let epoch = current.as_ref().map_or(0, |(s, _)| s.epoch) + 1;
    let next = Split {
        epoch,
        effective_ms: lease::effective_after(now),
        coordinator: id.to_string(),
        settings_version: settings_stat.version,
        shares: split(&settings, &live),
        members: live,
    };
    let data = serde_json::to_vec(&next).map_err(|source| CoordinatorError::Json {
        path: BUDGET,
        source,
    })?;
    let op = match current {
        Some((_, version)) => Op::SetData {
            path: BUDGET.into(),
            data,
            version: Some(version),
        },
        None => Op::Create {
            path: BUDGET.into(),
            data,
            options: CreateOptions::default(),
        },
    };
    latch.guarded_multi(vec![op]).await?;
    Ok(Some(epoch))
}
