//! The invariants checked after every run.
//!
//! Owns the verdicts on a finished run: the register history is
//! linearizable (testkit's checker); no acknowledged write is lost (every
//! acknowledged sequential node exists, every acknowledged zxid is in the
//! final tree); sequential names are unique and increase with real time;
//! every server converged to the same tree digest.

use crate::client::{History, SEQ_PARENT};
use core_server::tree::StateMachine;
use std::collections::BTreeSet;

/// The register history is linearizable from `(0, 0)`.
pub fn linearizable(history: &History) -> Result<(), String> {
    testkit::linearizability::check(&history.registers, (0, 0))
        .map_err(|e| format!("not linearizable: {e}"))
}

/// No acknowledged write is missing from `tree` (the healed leader's).
pub fn nothing_lost(history: &History, tree: &StateMachine) -> Result<(), String> {
    for s in &history.seq {
        if tree.node(&s.path).is_none() {
            return Err(format!("acknowledged create {} lost", s.path));
        }
    }
    if let Some(max) = history.acked_zxids.iter().max() {
        if *max > tree.last_zxid() {
            return Err(format!(
                "acknowledged zxid {max} above the final tree's {}",
                tree.last_zxid()
            ));
        }
    }
    Ok(())
}

fn suffix(path: &str) -> Option<u64> {
    path.strip_prefix(SEQ_PARENT)?
        .strip_prefix("/n-")?
        .parse()
        .ok()
}

/// Sequential names are unique, and one answered before another was asked
/// for has the smaller number.
pub fn sequential(history: &History) -> Result<(), String> {
    let mut names = BTreeSet::new();
    for s in &history.seq {
        if !names.insert(&s.path) {
            return Err(format!("sequential name {} given twice", s.path));
        }
    }
    for a in &history.seq {
        for b in &history.seq {
            if a.ret < b.call && suffix(&a.path) >= suffix(&b.path) {
                return Err(format!(
                    "{} answered before {} was asked for, yet not smaller",
                    a.path, b.path
                ));
            }
        }
    }
    Ok(())
}

/// Every server reports the same (zxid, digest).
pub fn converged(digests: &[(u64, i64, u64)]) -> Result<(), String> {
    let distinct: BTreeSet<(i64, u64)> = digests.iter().map(|d| (d.1, d.2)).collect();
    if distinct.len() == 1 {
        Ok(())
    } else {
        Err(format!("servers did not converge: {digests:?}"))
    }
}
