//! Budget pacing on one worker: how many ads of each campaign it may still
//! serve in the current wall-clock second, and how a new split takes over
//! from the old one without the fleet overspending.
//!
//! The rule: when a split with a higher epoch arrives, every share that
//! goes down goes down at once, and every share that goes up goes up only
//! from the split's `effective_ms` (a second boundary the coordinator puts
//! far enough ahead for every worker to have seen the split). At any moment
//! a worker therefore serves at most its share in the newest split whose
//! effective time has passed, and those shares sum to the budget. A worker
//! whose lease has lapsed (see `lease`) serves nothing.

use crate::model::Split;
use parking_lot::Mutex;
use std::collections::{BTreeMap, VecDeque};

/// Completed seconds kept for the reporter (it drains them every 100 ms).
const KEPT_SECONDS: usize = 120;

/// An ad this worker may serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The campaign it is charged to.
    pub campaign: String,
    /// The wall-clock second it is charged to.
    pub second: u64,
}

/// What a worker served in one completed second.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecondCount {
    /// The wall-clock second.
    pub second: u64,
    /// Ads per campaign.
    pub counts: BTreeMap<String, u64>,
}

/// The split state a worker follows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PacerStatus {
    /// The epoch whose shares are in force in full (0: none yet).
    pub in_force: u64,
    /// The members of that split.
    pub members: Vec<String>,
    /// Wall-clock ms from which that split is in force here: its effective
    /// time, or its arrival if it came later.
    pub since_ms: u64,
    /// The newest epoch seen (in force, or waiting for its effective time).
    pub seen: u64,
    /// Whether the lease allows serving.
    pub serving: bool,
}

#[derive(Debug, Default)]
struct Slot {
    cap: u64,
    count: u64,
}

#[derive(Debug, Default)]
struct State {
    slots: BTreeMap<String, Slot>,
    pending: Option<(Split, u64)>,
    seen: u64,
    in_force: u64,
    members: Vec<String>,
    since_ms: u64,
    second: u64,
    done: VecDeque<SecondCount>,
    lease_until_ms: u64,
    next: usize,
}

/// One worker's pacer (shared by its HTTP handlers; cheap to lock).
#[derive(Debug)]
pub struct Pacer {
    worker: String,
    state: Mutex<State>,
}

impl Pacer {
    /// A pacer for `worker` with no share yet and serving off.
    pub fn new(worker: &str) -> Pacer {
        Pacer {
            worker: worker.to_string(),
            state: Mutex::new(State::default()),
        }
    }

    /// Takes a split read from Corral at wall-clock `now_ms`: decreases at
    /// once, increases from its effective time. Older epochs are ignored.
    pub fn offer(&self, split: Split, now_ms: u64) {
        let mut s = self.state.lock();
        if split.epoch <= s.seen {
            return;
        }
        s.seen = split.epoch;
        for (campaign, slot) in s.slots.iter_mut() {
            slot.cap = slot.cap.min(split.share(campaign, &self.worker));
        }
        s.pending = Some((split, now_ms));
        advance(&mut s, &self.worker, now_ms);
    }

    /// Allows serving until wall-clock `until_ms` (the lease's verdict; a
    /// later call may only move it forward).
    pub fn extend_lease(&self, until_ms: u64) {
        let mut s = self.state.lock();
        s.lease_until_ms = s.lease_until_ms.max(until_ms);
    }

    /// One ad of `campaign` (or of any campaign with budget left, taken in
    /// turn) at wall-clock `now_ms`, or `None` when the share is spent.
    pub fn take(&self, campaign: Option<&str>, now_ms: u64) -> Option<Grant> {
        let mut s = self.state.lock();
        advance(&mut s, &self.worker, now_ms);
        if now_ms >= s.lease_until_ms {
            return None;
        }
        let second = s.second;
        if let Some(name) = campaign {
            let slot = s.slots.get_mut(name)?;
            if slot.count >= slot.cap {
                return None;
            }
            slot.count += 1;
            return Some(Grant {
                campaign: name.to_string(),
                second,
            });
        }
        let n = s.slots.len();
        let start = s.next;
        for i in 0..n {
            let k = (start + i) % n;
            let Some((name, slot)) = s.slots.iter_mut().nth(k) else {
                break;
            };
            if slot.count < slot.cap {
                slot.count += 1;
                let grant = Grant {
                    campaign: name.clone(),
                    second,
                };
                s.next = k + 1;
                return Some(grant);
            }
        }
        None
    }

    /// The split state at wall-clock `now_ms` (promoting a pending split
    /// whose time has come).
    pub fn status(&self, now_ms: u64) -> PacerStatus {
        let mut s = self.state.lock();
        advance(&mut s, &self.worker, now_ms);
        PacerStatus {
            in_force: s.in_force,
            members: s.members.clone(),
            since_ms: s.since_ms,
            seen: s.seen,
            serving: now_ms < s.lease_until_ms,
        }
    }

    /// Completed seconds since the last call, oldest first.
    pub fn drain_seconds(&self, now_ms: u64) -> Vec<SecondCount> {
        let mut s = self.state.lock();
        advance(&mut s, &self.worker, now_ms);
        s.done.drain(..).collect()
    }

    /// What is left of each campaign's share in the current second.
    pub fn remaining(&self, now_ms: u64) -> BTreeMap<String, u64> {
        let mut s = self.state.lock();
        advance(&mut s, &self.worker, now_ms);
        s.slots
            .iter()
            .map(|(c, slot)| (c.clone(), slot.cap.saturating_sub(slot.count)))
            .collect()
    }
}

/// Rolls the second over (a clock that steps back stays in the same
/// second: counting on is the safe side) and promotes a pending split whose
/// effective time has come.
fn advance(s: &mut State, worker: &str, now_ms: u64) {
    let second = now_ms / 1000;
    if second > s.second {
        if s.slots.values().any(|slot| slot.count > 0) {
            let counts = s
                .slots
                .iter()
                .map(|(c, slot)| (c.clone(), slot.count))
                .collect();
            if s.done.len() == KEPT_SECONDS {
                s.done.pop_front();
            }
            s.done.push_back(SecondCount {
                second: s.second,
                counts,
            });
        }
        for slot in s.slots.values_mut() {
            slot.count = 0;
        }
        s.second = second;
    }
    let due = s
        .pending
        .as_ref()
        .is_some_and(|(p, _)| p.effective_ms <= now_ms);
    if due {
        if let Some((split, arrived_ms)) = s.pending.take() {
            for (campaign, by) in &split.shares {
                let cap = by.get(worker).copied().unwrap_or(0);
                s.slots.entry(campaign.clone()).or_default().cap = cap;
            }
            for (campaign, slot) in s.slots.iter_mut() {
                if !split.shares.contains_key(campaign) {
                    slot.cap = 0;
                }
            }
            s.in_force = split.epoch;
            s.since_ms = split.effective_ms.max(arrived_ms);
            s.members = split.members;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{demo_settings, split};

    fn split_of(epoch: u64, effective_ms: u64, members: &[&str]) -> Split {
        let members: Vec<String> = members.iter().map(|m| m.to_string()).collect();
        Split {
            epoch,
            effective_ms,
            coordinator: "a".into(),
            settings_version: 0,
            shares: split(&demo_settings(), &members),
            members,
        }
    }

    fn serve_all(p: &Pacer, campaign: &str, now_ms: u64) -> u64 {
        let mut n = 0;
        while p.take(Some(campaign), now_ms).is_some() {
            n += 1;
        }
        n
    }

    #[test]
    fn a_worker_serves_at_most_its_share_per_second() {
        let p = Pacer::new("a");
        p.extend_lease(u64::MAX);
        p.offer(split_of(1, 1_000, &["a", "b"]), 500);
        assert_eq!(serve_all(&p, "shoes", 900), 0, "not in force before 1 s");
        assert_eq!(serve_all(&p, "shoes", 1_000), 5_000);
        assert_eq!(serve_all(&p, "shoes", 1_999), 0);
        assert_eq!(serve_all(&p, "shoes", 2_000), 5_000);
        let done = p.drain_seconds(3_000);
        assert_eq!(done.len(), 2);
        assert_eq!(done[0].second, 1);
        assert_eq!(done[0].counts["shoes"], 5_000);
        let lapsing = Pacer::new("a");
        lapsing.extend_lease(3_500);
        lapsing.offer(split_of(1, 0, &["a"]), 0);
        assert!(lapsing.take(None, 3_499).is_some());
        assert!(lapsing.take(None, 3_500).is_none(), "the lease lapsed");
    }

    #[test]
    fn decreases_apply_at_once_and_increases_from_the_effective_second() {
        let p = Pacer::new("a");
        p.extend_lease(u64::MAX);
        p.offer(split_of(1, 0, &["a"]), 0);
        assert_eq!(p.status(0).in_force, 1);
        // a joins b: a's share halves at once.
        p.offer(split_of(2, 3_000, &["a", "b"]), 1_200);
        assert_eq!(serve_all(&p, "shoes", 1_300), 5_000);
        // b leaves again: a's share doubles, but only from 5 s.
        p.offer(split_of(3, 5_000, &["a"]), 2_100);
        assert_eq!(serve_all(&p, "shoes", 3_500), 5_000);
        assert_eq!(p.status(4_999).in_force, 1, "epoch 2 never came into force");
        assert_eq!(serve_all(&p, "shoes", 5_000), 10_000);
        let status = p.status(5_000);
        assert_eq!((status.in_force, status.seen), (3, 3));
        // An old epoch read late changes nothing.
        p.offer(split_of(2, 0, &["a", "b"]), 6_000);
        assert_eq!(serve_all(&p, "shoes", 6_000), 10_000);
    }

    #[test]
    fn without_a_campaign_the_worker_takes_them_in_turn() {
        let p = Pacer::new("a");
        p.extend_lease(u64::MAX);
        p.offer(split_of(1, 0, &["a"]), 0);
        let first: Vec<String> = (0..3)
            .filter_map(|_| p.take(None, 10).map(|g| g.campaign))
            .collect();
        assert_eq!(first, ["books", "shoes", "travel"]);
        let mut n = 3;
        while p.take(None, 10).is_some() {
            n += 1;
        }
        assert_eq!(n, demo_settings().total_budget());
    }
}
