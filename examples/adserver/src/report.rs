//! Measurement: what the load generator counted (ads per second and
//! campaign, by worker, answers and errors, a latency histogram), merging
//! those counts, and the figures the README reports (throughput,
//! overspend against the per-second budgets, latency percentiles).

use crate::model::Settings;
use std::collections::BTreeMap;
use std::time::Duration;

/// Latency buckets: 90 per decade from 10 µs to 10 s (about 1 % wide),
/// plus one for everything slower.
const DECADES: [u64; 6] = [10, 100, 1_000, 10_000, 100_000, 1_000_000];
const PER_DECADE: u64 = 90;
const BUCKETS: usize = 1 + DECADES.len() * PER_DECADE as usize + 1;

/// A fixed-size latency histogram (microseconds).
#[derive(Debug, Clone)]
pub struct Histogram {
    counts: Vec<u64>,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: vec![0; BUCKETS],
        }
    }
}

fn bucket_of(us: u64) -> usize {
    if us < DECADES[0] {
        return 0;
    }
    for (d, &low) in DECADES.iter().enumerate() {
        let high = low * 10;
        if us < high {
            let step = (high - low) / PER_DECADE;
            return 1 + d * PER_DECADE as usize + ((us - low) / step) as usize;
        }
    }
    BUCKETS - 1
}

fn upper_of(bucket: usize) -> u64 {
    if bucket == 0 {
        return DECADES[0];
    }
    let d = (bucket - 1) / PER_DECADE as usize;
    let Some(&low) = DECADES.get(d) else {
        return u64::MAX;
    };
    let step = (low * 10 - low) / PER_DECADE;
    low + step * ((bucket - 1) as u64 % PER_DECADE + 1)
}

impl Histogram {
    /// Records one latency.
    pub fn record(&mut self, latency: Duration) {
        let us = latency.as_micros().min(u128::from(u64::MAX)) as u64;
        self.counts[bucket_of(us)] += 1;
    }

    /// Adds `other` into this one.
    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
    }

    /// How many latencies were recorded.
    pub fn len(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Whether none was recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The latency at quantile `q` (0..=1): the upper edge of its bucket.
    pub fn quantile(&self, q: f64) -> Duration {
        let total = self.len();
        let rank = ((total as f64) * q).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Duration::from_micros(upper_of(i));
            }
        }
        Duration::ZERO
    }
}

/// What the load generator (or one of its connections) counted.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    /// Ads received per second (the second the worker charged them to) and campaign.
    pub ads: BTreeMap<u64, BTreeMap<String, u64>>,
    /// Ads received per worker.
    pub by_worker: BTreeMap<String, u64>,
    /// Requests sent per wall-clock second.
    pub sent: BTreeMap<u64, u64>,
    /// "No ad" answers (204).
    pub no_ad: u64,
    /// Requests that failed (connection refused or lost, timeout, bad answer).
    pub errors: u64,
    /// Requests the generator skipped because it was more than a second
    /// behind its schedule (a stalled connection).
    pub missed: u64,
    /// Latency of every answered request, from the time it was due.
    pub latency: Histogram,
}

impl Tally {
    /// Adds `other` into this one.
    pub fn merge(&mut self, other: &Tally) {
        for (s, by) in &other.ads {
            let mine = self.ads.entry(*s).or_default();
            for (c, n) in by {
                *mine.entry(c.clone()).or_default() += n;
            }
        }
        for (w, n) in &other.by_worker {
            *self.by_worker.entry(w.clone()).or_default() += n;
        }
        for (s, n) in &other.sent {
            *self.sent.entry(*s).or_default() += n;
        }
        self.no_ad += other.no_ad;
        self.errors += other.errors;
        self.missed += other.missed;
        self.latency.merge(&other.latency);
    }

    /// Ads received in `second`, all campaigns.
    pub fn ads_in(&self, second: u64) -> u64 {
        self.ads.get(&second).map_or(0, |by| by.values().sum())
    }

    /// All ads received.
    pub fn total_ads(&self) -> u64 {
        self.ads.values().flat_map(|by| by.values()).sum()
    }
}

/// Overspend over the seconds `from..to`: ads served above the per-second
/// budget, summed over seconds and campaigns, and the total budget of those
/// seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Overspend {
    /// Ads above budget.
    pub over: u64,
    /// The seconds (and campaigns) with any.
    pub seconds_over: u64,
    /// The budget of the run.
    pub budget: u64,
}

impl Overspend {
    /// `over / budget` in percent.
    pub fn percent(&self) -> f64 {
        100.0 * self.over as f64 / self.budget.max(1) as f64
    }
}

/// Overspend of `ads` (second → campaign → ads) against `settings` over
/// the seconds `from..to`.
pub fn overspend(
    ads: &BTreeMap<u64, BTreeMap<String, u64>>,
    settings: &Settings,
    from: u64,
    to: u64,
) -> Overspend {
    let mut o = Overspend::default();
    for second in from..to {
        for c in &settings.campaigns {
            o.budget += c.budget_per_s;
            let served = ads
                .get(&second)
                .and_then(|by| by.get(&c.name))
                .copied()
                .unwrap_or(0);
            if served > c.budget_per_s {
                o.over += served - c.budget_per_s;
                o.seconds_over += 1;
            }
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::demo_settings;

    #[test]
    fn quantiles_land_in_the_right_bucket() {
        let mut h = Histogram::default();
        for us in 1..=1000u64 {
            h.record(Duration::from_micros(us * 100));
        }
        let p50 = h.quantile(0.5).as_micros() as f64;
        let p99 = h.quantile(0.99).as_micros() as f64;
        assert!((p50 / 50_000.0 - 1.0).abs() < 0.03, "{p50}");
        assert!((p99 / 99_000.0 - 1.0).abs() < 0.03, "{p99}");
        assert_eq!(h.len(), 1000);
        h.record(Duration::from_secs(3600));
        assert_eq!(h.quantile(1.0), Duration::from_micros(u64::MAX));
    }

    #[test]
    fn overspend_counts_only_ads_above_each_budget() {
        let s = demo_settings();
        let mut ads = BTreeMap::new();
        ads.insert(
            1,
            BTreeMap::from([("shoes".to_string(), 10_010), ("books".to_string(), 4_000)]),
        );
        let o = overspend(&ads, &s, 0, 2);
        assert_eq!(o.over, 10);
        assert_eq!(o.seconds_over, 1);
        assert_eq!(o.budget, 2 * s.total_budget());
    }
}
