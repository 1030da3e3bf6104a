//! A linearizability checker for register histories (Wing & Gong's search
//! with Lowe's memoization, the algorithm behind porcupine and Knossos).
//!
//! Each key is an independent register holding `(value, version)`, the shape
//! of a znode's data and version: `Read` observes both, `Write` sets the value
//! and bumps the version, `Cas` (setData with an expected version) succeeds
//! only when the version matches. An operation whose outcome is unknown (it
//! timed out, or the connection dropped) may have taken effect or not: it is
//! never counted as failed.
//!
//! [`workload`] is the client load both linearizability tests record.

pub mod workload;

use std::collections::{BTreeMap, HashSet};

/// A register's state: value and version.
pub type State = (i64, i32);

/// What a client asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegisterOp {
    /// getData.
    Read,
    /// setData with version -1.
    Write(i64),
    /// setData with an expected version.
    Cas {
        /// The version the client expected.
        expected_version: i32,
        /// The value it wrote.
        value: i64,
    },
}

/// What the client saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A read returned this state.
    Read(State),
    /// A write or compare-and-set succeeded.
    Ok,
    /// A compare-and-set was refused (BadVersion).
    CasFailed,
    /// No answer: it may or may not have happened.
    Unknown,
}

/// One operation in a history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The key (znode path).
    pub key: String,
    /// When it was called (any monotonic clock).
    pub call: u64,
    /// When it returned; `None` if it never did (outcome unknown).
    pub ret: Option<u64>,
    /// The operation.
    pub op: RegisterOp,
    /// What the client saw.
    pub outcome: Outcome,
}

/// Applies `op` with `outcome` to `state`: the next state, or `None` if the
/// outcome is impossible from this state.
fn step(state: State, op: RegisterOp, outcome: Outcome) -> Option<State> {
    match (op, outcome) {
        (RegisterOp::Read, Outcome::Read(seen)) => (seen == state).then_some(state),
        (RegisterOp::Read, _) => Some(state),
        (RegisterOp::Write(v), Outcome::Ok | Outcome::Unknown) => {
            Some((v, state.1.wrapping_add(1)))
        }
        (
            RegisterOp::Cas {
                expected_version,
                value,
            },
            Outcome::Ok | Outcome::Unknown,
        ) if expected_version == state.1 => Some((value, state.1.wrapping_add(1))),
        (
            RegisterOp::Cas {
                expected_version, ..
            },
            Outcome::CasFailed,
        ) => (expected_version != state.1).then_some(state),
        _ => None,
    }
}

/// A value no client writes: unknown writes whose value no read observed
/// are rewritten to it, so that they differ only in when they were called.
const UNOBSERVED: i64 = i64::MIN;

/// Rewrites the value of every unknown-outcome operation that no read
/// observed to [`UNOBSERVED`]: such operations then have identical effects,
/// which lets the search treat them as interchangeable.
fn canonical(events: &[&Event]) -> Vec<Event> {
    let observed: HashSet<i64> = events
        .iter()
        .filter_map(|e| match e.outcome {
            Outcome::Read((value, _)) => Some(value),
            _ => None,
        })
        .collect();
    let mut out: Vec<Event> = events
        .iter()
        .map(|e| {
            let mut e = (*e).clone();
            if e.outcome == Outcome::Unknown {
                e.op = match e.op {
                    RegisterOp::Write(v) if !observed.contains(&v) => RegisterOp::Write(UNOBSERVED),
                    RegisterOp::Cas {
                        expected_version,
                        value,
                    } if !observed.contains(&value) => RegisterOp::Cas {
                        expected_version,
                        value: UNOBSERVED,
                    },
                    op => op,
                };
            }
            e
        })
        .collect();
    out.sort_by_key(|e| e.call);
    out
}

fn check_key(events: &[&Event], initial: State) -> bool {
    let events = canonical(events);
    let events: Vec<&Event> = events.iter().collect();
    let n = events.len();
    let completed: Vec<usize> = (0..n).filter(|&i| events[i].ret.is_some()).collect();
    let mut memo: HashSet<(Vec<u64>, State)> = HashSet::new();
    let mut done = vec![0u64; n.div_ceil(64)];
    search(&events, &completed, &mut done, initial, &mut memo)
}

fn is_done(done: &[u64], i: usize) -> bool {
    done[i / 64] & (1 << (i % 64)) != 0
}

/// Depth-first search for a linearization of the operations not yet `done`.
///
/// Operations with an unknown outcome never return, so two of them with the
/// same effect are interchangeable: whenever the later-called one could go
/// next, so could the earlier (the horizon only grows along a path). The
/// search therefore tries only the earliest pending one of each effect,
/// which keeps many unanswered writes from blowing the search up
/// exponentially.
fn search(
    events: &[&Event],
    completed: &[usize],
    done: &mut Vec<u64>,
    state: State,
    memo: &mut HashSet<(Vec<u64>, State)>,
) -> bool {
    if completed.iter().all(|&i| is_done(done, i)) {
        return true;
    }
    if !memo.insert((done.clone(), state)) {
        return false;
    }
    // An operation may go next only if no pending operation returned before it was called.
    let horizon = completed
        .iter()
        .filter(|&&i| !is_done(done, i))
        .filter_map(|&i| events[i].ret)
        .min()
        .unwrap_or(u64::MAX);
    let mut tried_unknown: Vec<RegisterOp> = Vec::new();
    for i in 0..events.len() {
        if is_done(done, i) || events[i].call > horizon {
            continue;
        }
        if events[i].ret.is_none() {
            if tried_unknown.contains(&events[i].op) {
                continue;
            }
            tried_unknown.push(events[i].op);
        }
        if let Some(next) = step(state, events[i].op, events[i].outcome) {
            done[i / 64] |= 1 << (i % 64);
            if search(events, completed, done, next, memo) {
                return true;
            }
            done[i / 64] &= !(1 << (i % 64));
        }
    }
    false
}

/// Checks a history; every key starts at `initial`. On failure names a key
/// whose operations have no linearization.
pub fn check(history: &[Event], initial: State) -> Result<(), String> {
    let mut by_key: BTreeMap<&str, Vec<&Event>> = BTreeMap::new();
    for e in history {
        by_key.entry(&e.key).or_default().push(e);
    }
    for (key, events) in by_key {
        if !check_key(&events, initial) {
            return Err(format!(
                "no linearization for key {key} ({} operations)",
                events.len()
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(call: u64, ret: Option<u64>, op: RegisterOp, outcome: Outcome) -> Event {
        Event {
            key: "/k".into(),
            call,
            ret,
            op,
            outcome,
        }
    }

    #[test]
    fn concurrent_operations_that_overlap_are_accepted() {
        let h = vec![
            ev(0, Some(10), RegisterOp::Write(1), Outcome::Ok),
            ev(1, Some(5), RegisterOp::Read, Outcome::Read((1, 1))),
            ev(2, Some(6), RegisterOp::Read, Outcome::Read((0, 0))),
        ];
        assert_eq!(check(&h, (0, 0)), Ok(()));
    }

    #[test]
    fn a_stale_read_after_a_completed_write_is_rejected() {
        let h = vec![
            ev(0, Some(1), RegisterOp::Write(1), Outcome::Ok),
            ev(2, Some(3), RegisterOp::Read, Outcome::Read((0, 0))),
        ];
        assert!(check(&h, (0, 0)).is_err());
    }

    #[test]
    fn compare_and_set_follows_versions() {
        let ok = vec![
            ev(
                0,
                Some(1),
                RegisterOp::Cas {
                    expected_version: 0,
                    value: 5,
                },
                Outcome::Ok,
            ),
            ev(
                2,
                Some(3),
                RegisterOp::Cas {
                    expected_version: 0,
                    value: 6,
                },
                Outcome::CasFailed,
            ),
            ev(4, Some(5), RegisterOp::Read, Outcome::Read((5, 1))),
        ];
        assert_eq!(check(&ok, (0, 0)), Ok(()));
        let two_winners = vec![
            ev(
                0,
                Some(1),
                RegisterOp::Cas {
                    expected_version: 0,
                    value: 5,
                },
                Outcome::Ok,
            ),
            ev(
                2,
                Some(3),
                RegisterOp::Cas {
                    expected_version: 0,
                    value: 6,
                },
                Outcome::Ok,
            ),
        ];
        assert!(check(&two_winners, (0, 0)).is_err());
    }

    #[test]
    fn an_unknown_outcome_may_or_may_not_have_happened() {
        let applied = vec![
            ev(0, None, RegisterOp::Write(7), Outcome::Unknown),
            ev(5, Some(6), RegisterOp::Read, Outcome::Read((7, 1))),
        ];
        assert_eq!(check(&applied, (0, 0)), Ok(()));
        let not_applied = vec![
            ev(0, None, RegisterOp::Write(7), Outcome::Unknown),
            ev(5, Some(6), RegisterOp::Read, Outcome::Read((0, 0))),
        ];
        assert_eq!(check(&not_applied, (0, 0)), Ok(()));
    }

    #[test]
    fn many_unanswered_writes_are_checked_quickly() {
        // 60 unanswered writes nobody read, between answered reads: without
        // treating them as interchangeable the search visits 2^60 subsets.
        let mut h = Vec::new();
        for i in 0..60u64 {
            h.push(ev(
                i * 10,
                None,
                RegisterOp::Write(i as i64 + 1),
                Outcome::Unknown,
            ));
        }
        h.push(ev(
            1000,
            Some(1001),
            RegisterOp::Read,
            Outcome::Read((0, 0)),
        ));
        h.push(ev(1002, Some(1003), RegisterOp::Write(99), Outcome::Ok));
        h.push(ev(
            1004,
            Some(1005),
            RegisterOp::Read,
            Outcome::Read((99, 31)),
        ));
        assert_eq!(check(&h, (0, 0)), Ok(()));
        // A version no number of applied writes explains is still refused.
        h.push(ev(
            1006,
            Some(1007),
            RegisterOp::Read,
            Outcome::Read((99, 30)),
        ));
        assert!(check(&h, (0, 0)).is_err());
    }
}
