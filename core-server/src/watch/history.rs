//! The bounded history of recent changes that resumable watch streams read from.
//!
//! Holds the tree events of the last `capacity` entries that had any, within a
//! byte budget (so the history cannot outgrow the tree it describes). Every
//! zxid above [`EventHistory::floor`] is complete: a stream starting at or
//! after the floor misses nothing. Older history is dropped; asking for it is
//! `Compacted`.

use crate::tree::TreeEvent;
use std::collections::VecDeque;
use std::sync::Arc;

/// Recent (zxid, events) pairs in zxid order.
#[derive(Debug)]
pub struct EventHistory {
    entries: VecDeque<(i64, Arc<[TreeEvent]>)>,
    capacity: usize,
    max_bytes: usize,
    bytes: usize,
    floor: i64,
    last: i64,
}

/// Rough heap bytes of one history entry.
fn entry_bytes(events: &[TreeEvent]) -> usize {
    48 + events
        .iter()
        .map(|e| std::mem::size_of::<TreeEvent>() + e.path.len())
        .sum::<usize>()
}

impl EventHistory {
    /// An empty history whose knowledge starts after `floor` (the snapshot the
    /// server started from).
    pub fn new(capacity: usize, floor: i64) -> Self {
        Self::with_budget(capacity, usize::MAX, floor)
    }

    /// Like [`new`](Self::new), also dropping the oldest entries while the
    /// history holds more than `max_bytes`.
    pub fn with_budget(capacity: usize, max_bytes: usize, floor: i64) -> Self {
        EventHistory {
            entries: VecDeque::new(),
            capacity: capacity.max(1),
            max_bytes,
            bytes: 0,
            floor,
            last: floor,
        }
    }

    /// An empty history with the same budget whose knowledge starts after `floor`.
    pub fn restarted(&self, floor: i64) -> Self {
        Self::with_budget(self.capacity, self.max_bytes, floor)
    }

    /// Records an applied entry (with or without events).
    pub fn push(&mut self, zxid: i64, events: &[TreeEvent]) {
        self.last = self.last.max(zxid);
        if events.is_empty() {
            return;
        }
        self.bytes += entry_bytes(events);
        self.entries.push_back((zxid, events.to_vec().into()));
        while self.entries.len() > self.capacity
            || (self.bytes > self.max_bytes && self.entries.len() > 1)
        {
            if let Some((dropped, events)) = self.entries.pop_front() {
                self.bytes -= entry_bytes(&events);
                self.floor = dropped;
            }
        }
    }

    /// History is complete for every zxid greater than this.
    pub fn floor(&self) -> i64 {
        self.floor
    }

    /// The last zxid recorded.
    pub fn last(&self) -> i64 {
        self.last
    }

    /// Up to `limit` entries with zxid > `after`, or `None` if `after` is below
    /// the floor (the history no longer reaches back that far).
    pub fn since(&self, after: i64, limit: usize) -> Option<Vec<(i64, Arc<[TreeEvent]>)>> {
        if after < self.floor {
            return None;
        }
        let start = self.entries.partition_point(|(zxid, _)| *zxid <= after);
        Some(self.entries.range(start..).take(limit).cloned().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::EventKind;

    fn ev(path: &str) -> Vec<TreeEvent> {
        vec![TreeEvent {
            kind: EventKind::NodeCreated,
            path: path.into(),
            acl: 0,
        }]
    }

    #[test]
    fn returns_entries_after_the_cursor_in_order() {
        let mut h = EventHistory::new(10, 0);
        h.push(1, &ev("/a"));
        h.push(2, &[]);
        h.push(3, &ev("/b"));
        let got = h.since(1, 10).expect("within history");
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0, 3);
        assert_eq!(h.last(), 3);
        assert_eq!(h.since(0, 10).map(|v| v.len()), Some(2));
    }

    #[test]
    fn dropping_old_entries_raises_the_floor_and_compacts() {
        let mut h = EventHistory::new(2, 0);
        h.push(1, &ev("/a"));
        h.push(2, &ev("/b"));
        h.push(3, &ev("/c"));
        assert_eq!(h.floor(), 1);
        assert!(h.since(0, 10).is_none());
        assert_eq!(h.since(1, 10).map(|v| v.len()), Some(2));
    }

    #[test]
    fn the_byte_budget_bounds_the_history() {
        let mut h = EventHistory::with_budget(1_000, 3 * entry_bytes(&ev("/a")), 0);
        for zxid in 1..=10 {
            h.push(zxid, &ev("/a"));
        }
        assert_eq!(h.floor(), 7, "only the three newest entries fit");
        assert_eq!(h.since(7, 100).map(|v| v.len()), Some(3));
    }

    #[test]
    fn a_history_restored_from_a_snapshot_starts_at_its_floor() {
        let h = EventHistory::new(10, 50);
        assert!(h.since(49, 10).is_none());
        assert_eq!(h.since(50, 10).map(|v| v.len()), Some(0));
    }
}
