//! What the log store knows of the log in memory: the newest entries
//! within a byte bound, the size of every retained entry, and the leader of
//! each run of entries (so any entry's log id is known without reading it).

use super::super::types::{LogEntry, LogId};
use super::Meta;
use openraft::RaftLogId;
use std::collections::BTreeMap;

/// What the store knows of the log; shared with log readers.
#[derive(Debug, Default)]
pub(super) struct Cache {
    /// The newest entries, within `cached_max` bytes: every entry from the
    /// first key on is here; older retained ones are only on disk.
    pub(super) entries: BTreeMap<u64, LogEntry>,
    /// The encoded size of the entries in `entries`.
    pub(super) cached_bytes: usize,
    /// The bound on `cached_bytes` (`Config::log_cache_bytes`).
    pub(super) cached_max: usize,
    /// The encoded size of every entry not yet purged.
    pub(super) sizes: BTreeMap<u64, usize>,
    /// The sum of `sizes`.
    pub(super) bytes: usize,
    /// The log id of the first entry of each run of entries appended by one
    /// leader (the run holding the first retained entry may start before it).
    pub(super) runs: BTreeMap<u64, LogId>,
    pub(super) meta: Meta,
    pub(super) committed_saved: Option<u64>,
}

impl Cache {
    /// Takes in `entry`, whose record is `size` bytes (replacing one a
    /// conflicting append overwrites).
    pub(super) fn insert(&mut self, entry: LogEntry, size: usize) {
        let id = *entry.get_log_id();
        let index = id.index;
        if let Some(old) = self.sizes.insert(index, size) {
            self.bytes -= old;
            if self.entries.contains_key(&index) {
                self.cached_bytes -= old;
            }
        }
        self.bytes += size;
        let same_run = self
            .runs
            .range(..=index)
            .next_back()
            .is_some_and(|(_, run)| run.leader_id == id.leader_id);
        if !same_run {
            self.runs.split_off(&index);
            self.runs.insert(index, id);
        }
        self.entries.insert(index, entry);
        self.cached_bytes += size;
    }

    /// Drops the oldest cached entries while over the bound.
    pub(super) fn evict(&mut self) {
        while self.cached_bytes > self.cached_max {
            let Some((index, _)) = self.entries.pop_first() else {
                break;
            };
            self.cached_bytes -= self.sizes.get(&index).copied().unwrap_or(0);
        }
    }

    /// Forgets every entry at `index` and above.
    pub(super) fn truncate(&mut self, index: u64) {
        self.entries.split_off(&index);
        let dropped = self.sizes.split_off(&index);
        self.bytes -= dropped.values().sum::<usize>();
        self.runs.split_off(&index);
        self.cached_bytes = self.cached_sum();
    }

    /// Forgets every entry up to and including `index`.
    pub(super) fn purge(&mut self, index: u64) {
        let keep = index.saturating_add(1);
        self.entries = self.entries.split_off(&keep);
        self.sizes = self.sizes.split_off(&keep);
        self.bytes = self.sizes.values().sum();
        let run_start = self
            .runs
            .range(..=keep)
            .next_back()
            .map_or(keep, |(k, _)| *k);
        self.runs = self.runs.split_off(&run_start);
        self.cached_bytes = self.cached_sum();
    }

    pub(super) fn cached_sum(&self) -> usize {
        self.entries
            .keys()
            .filter_map(|index| self.sizes.get(index))
            .sum()
    }

    /// The id of the last entry (or of the last purged one).
    pub(super) fn last_log_id(&self) -> Option<LogId> {
        let Some((&last, _)) = self.sizes.last_key_value() else {
            return self.meta.last_purged;
        };
        match self.runs.range(..=last).next_back() {
            Some((_, run)) => Some(LogId::new(run.leader_id, last)),
            None => self.meta.last_purged,
        }
    }
}
