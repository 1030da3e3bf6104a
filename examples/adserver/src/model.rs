//! What the fleet shares through Corral: campaign settings (written by an
//! operator) and the budget split (written by the elected coordinator), and
//! the paths they live at.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The fleet's root node.
pub const ROOT: &str = "/adserver";
/// Group membership: one ephemeral node per live worker, holding its beats.
pub const MEMBERS: &str = "/adserver/members";
/// The coordinator election (a leader latch).
pub const ELECTION: &str = "/adserver/coordinator";
/// Campaign settings (JSON, written by the operator).
pub const SETTINGS: &str = "/adserver/settings";
/// The budget split (JSON, written by the coordinator with a guarded write).
pub const BUDGET: &str = "/adserver/budget";

/// One campaign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Campaign {
    /// Name.
    pub name: String,
    /// Ads the whole fleet may serve per wall-clock second for it.
    pub budget_per_s: u64,
}

/// Campaign settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// The campaigns.
    pub campaigns: Vec<Campaign>,
}

impl Settings {
    /// The budget of `campaign` per second (0 if unknown).
    pub fn budget_of(&self, campaign: &str) -> u64 {
        self.campaigns
            .iter()
            .find(|c| c.name == campaign)
            .map_or(0, |c| c.budget_per_s)
    }

    /// The sum of all budgets per second.
    pub fn total_budget(&self) -> u64 {
        self.campaigns.iter().map(|c| c.budget_per_s).sum()
    }
}

/// Shares: campaign → worker → ads per second.
pub type Shares = BTreeMap<String, BTreeMap<String, u64>>;

/// The coordinator's split of every budget over the live workers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Split {
    /// One more than the split it replaces; the first split is epoch 1.
    pub epoch: u64,
    /// Wall-clock ms (a second boundary) from which the shares may be
    /// served in full; until then a worker serves the smaller of its old and
    /// new share (see `pacing`).
    pub effective_ms: u64,
    /// The coordinator that wrote it.
    pub coordinator: String,
    /// The data version of the settings it was computed from.
    pub settings_version: i32,
    /// The workers it was split over, in id order.
    pub members: Vec<String>,
    /// The shares.
    pub shares: Shares,
}

impl Split {
    /// `worker`'s share of `campaign` per second.
    pub fn share(&self, campaign: &str, worker: &str) -> u64 {
        self.shares
            .get(campaign)
            .and_then(|by| by.get(worker))
            .copied()
            .unwrap_or(0)
    }
}

/// Splits every campaign's budget evenly over `workers` (sorted; the
/// remainder goes to the first ones), so the shares of each campaign sum to
/// exactly its budget.
pub fn split(settings: &Settings, workers: &[String]) -> Shares {
    let mut shares = Shares::new();
    if workers.is_empty() {
        return shares;
    }
    let mut workers = workers.to_vec();
    workers.sort();
    let n = workers.len() as u64;
    for c in &settings.campaigns {
        let per = c.budget_per_s / n;
        let extra = c.budget_per_s % n;
        let by_worker = workers
            .iter()
            .enumerate()
            .map(|(i, w)| (w.clone(), per + u64::from((i as u64) < extra)))
            .collect();
        shares.insert(c.name.clone(), by_worker);
    }
    shares
}

/// The campaigns of the demo: 22,000 ads/s in all.
pub fn demo_settings() -> Settings {
    let campaign = |name: &str, budget_per_s| Campaign {
        name: name.into(),
        budget_per_s,
    };
    Settings {
        campaigns: vec![
            campaign("shoes", 10_000),
            campaign("travel", 7_000),
            campaign("books", 5_000),
        ],
    }
}

/// Wall-clock milliseconds since the Unix epoch (every process of the fleet
/// runs on one machine here, so they share this clock; across machines the
/// lead time of a split must cover their skew).
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_split_hands_out_exactly_the_budget() {
        let s = demo_settings();
        let workers: Vec<String> = ["c", "a", "b"].iter().map(|w| w.to_string()).collect();
        let shares = split(&s, &workers);
        for c in &s.campaigns {
            assert_eq!(shares[&c.name].values().sum::<u64>(), c.budget_per_s);
            assert_eq!(shares[&c.name].len(), 3);
        }
        assert_eq!(shares["travel"]["a"], 2_334);
        assert_eq!(shares["travel"]["c"], 2_333);
        assert!(split(&s, &[]).is_empty());
    }
}
