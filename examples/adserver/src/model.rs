//! What the fleet shares through Corral: campaign settings (written by an
//! operator) and the budget split (written by the elected coordinator).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One campaign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Campaign {
    /// Name.
    pub name: String,
    /// Bid per ad, in cents.
    pub bid_cents: u32,
    /// Ads the whole fleet may serve per second for it.
    pub budget_per_s: u64,
}

/// Campaign settings, versioned by the node's data version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// The campaigns.
    pub campaigns: Vec<Campaign>,
}

/// The coordinator's split: campaign → worker → ads per second.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BudgetSplit {
    /// Settings version the split was computed from.
    pub settings_version: i32,
    /// The coordinator that wrote it.
    pub coordinator: String,
    /// Shares.
    pub shares: BTreeMap<String, BTreeMap<String, u64>>,
}

/// Splits every campaign's budget evenly over `workers` (remainder to the
/// first ones, in id order).
pub fn split(
    settings: &Settings,
    version: i32,
    coordinator: &str,
    workers: &[String],
) -> BudgetSplit {
    let mut shares = BTreeMap::new();
    if !workers.is_empty() {
        for c in &settings.campaigns {
            let n = workers.len() as u64;
            let per = c.budget_per_s / n;
            let extra = (c.budget_per_s % n) as usize;
            let by_worker = workers
                .iter()
                .enumerate()
                .map(|(i, w)| (w.clone(), per + u64::from(i < extra)))
                .collect();
            shares.insert(c.name.clone(), by_worker);
        }
    }
    BudgetSplit {
        settings_version: version,
        coordinator: coordinator.to_string(),
        shares,
    }
}

/// The default campaigns.
pub fn demo_settings() -> Settings {
    Settings {
        campaigns: vec![
            Campaign {
                name: "shoes".into(),
                bid_cents: 12,
                budget_per_s: 12_000,
            },
            Campaign {
                name: "travel".into(),
                bid_cents: 30,
                budget_per_s: 8_000,
            },
            Campaign {
                name: "books".into(),
                bid_cents: 5,
                budget_per_s: 6_000,
            },
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_split_hands_out_exactly_the_budget() {
        let s = demo_settings();
        let workers: Vec<String> = ["a", "b", "c"].iter().map(|w| w.to_string()).collect();
        let split = split(&s, 3, "a", &workers);
        for c in &s.campaigns {
            assert_eq!(split.shares[&c.name].values().sum::<u64>(), c.budget_per_s);
        }
        assert!(super::split(&s, 0, "a", &[]).shares.is_empty());
    }
}
