//! Who watches what: one-shot, persistent and recursive registrations per connection.
//!
//! Trigger rules are ZooKeeper's (reference §5.2): NodeCreated fires exist and
//! data watches; NodeDeleted fires data, exist and child watches; NodeDataChanged
//! fires data and exist watches; NodeChildrenChanged fires child watches.
//! Persistent watches see all four on their exact path; recursive watches see
//! created / deleted / data-changed on the path and every descendant. A
//! connection gets one notification per event however many of its watches match.
//!
//! [`WatchRegistry::trigger`] only says who gets which event; delivery is
//! the connection table's (`connection::ConnectionTable::deliver`), which
//! never blocks apply.

use crate::connection::{ConnId, WatchedEvent};
use crate::tree::{EventKind, TreeEvent};
use std::collections::{BTreeSet, HashMap, HashSet};

/// One event bound for one connection, with the ACL (an index into the
/// state machine's ACL table) the connection must have READ on to get it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The watching connection.
    pub conn: ConnId,
    /// What it is told.
    pub event: WatchedEvent,
    /// The ACL that decides whether it may be told (`TreeEvent::acl`).
    pub acl: u32,
}

/// The kinds of registration a connection can hold on a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WatchKind {
    /// One-shot data watch (getData, or exists on an existing node).
    Data,
    /// One-shot exist watch on a missing node.
    Exist,
    /// One-shot child watch (getChildren).
    Child,
    /// Persistent watch on the exact path.
    Persistent,
    /// Persistent watch on the path and its subtree.
    Recursive,
}

const KINDS: [WatchKind; 5] = [
    WatchKind::Data,
    WatchKind::Exist,
    WatchKind::Child,
    WatchKind::Persistent,
    WatchKind::Recursive,
];

/// All watches on this server.
#[derive(Debug, Default)]
pub struct WatchRegistry {
    tables: HashMap<WatchKind, HashMap<String, HashSet<ConnId>>>,
    by_conn: HashMap<ConnId, HashSet<(WatchKind, String)>>,
}

impl WatchRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Forgets a connection and every watch it held.
    pub fn detach(&mut self, conn: ConnId) {
        if let Some(held) = self.by_conn.remove(&conn) {
            for (kind, path) in held {
                self.remove_one(kind, &path, conn);
            }
        }
    }

    /// Registers a watch (idempotent: the same kind on the same path is one watch).
    pub fn add(&mut self, conn: ConnId, kind: WatchKind, path: &str) {
        self.tables
            .entry(kind)
            .or_default()
            .entry(path.to_string())
            .or_default()
            .insert(conn);
        self.by_conn
            .entry(conn)
            .or_default()
            .insert((kind, path.to_string()));
    }

    /// True if the connection holds a watch of this kind on this path.
    pub fn has(&self, conn: ConnId, kind: WatchKind, path: &str) -> bool {
        self.tables
            .get(&kind)
            .and_then(|t| t.get(path))
            .is_some_and(|set| set.contains(&conn))
    }

    /// True if any connection holds a watch of this kind on this path.
    pub fn anyone_has(&self, kind: WatchKind, path: &str) -> bool {
        self.tables
            .get(&kind)
            .and_then(|t| t.get(path))
            .is_some_and(|set| !set.is_empty())
    }

    /// Removes the connection's watches of the given kinds on a path; returns
    /// whether any was removed.
    pub fn remove(&mut self, conn: ConnId, kinds: &[WatchKind], path: &str) -> bool {
        let mut removed = false;
        for kind in kinds {
            if self.has(conn, *kind, path) {
                self.remove_one(*kind, path, conn);
                if let Some(held) = self.by_conn.get_mut(&conn) {
                    held.remove(&(*kind, path.to_string()));
                }
                removed = true;
            }
        }
        removed
    }

    /// The paths a connection watches, per kind (for introspection and tests).
    pub fn watches_of(&self, conn: ConnId) -> BTreeSet<(WatchKind, String)> {
        self.by_conn
            .get(&conn)
            .map(|held| held.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Every registration as (connection, path), sorted (admin views).
    pub fn all(&self) -> BTreeSet<(ConnId, String)> {
        self.by_conn
            .iter()
            .flat_map(|(conn, held)| held.iter().map(move |(_, path)| (*conn, path.clone())))
            .collect()
    }

    /// Total number of registrations.
    pub fn len(&self) -> usize {
        self.by_conn.values().map(HashSet::len).sum()
    }

    /// True when nobody watches anything.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn remove_one(&mut self, kind: WatchKind, path: &str, conn: ConnId) {
        if let Some(table) = self.tables.get_mut(&kind) {
            if let Some(set) = table.get_mut(path) {
                set.remove(&conn);
                if set.is_empty() {
                    table.remove(path);
                }
            }
        }
    }

    fn take_one_shot(&mut self, kind: WatchKind, path: &str, into: &mut BTreeSet<ConnId>) {
        let Some(set) = self.tables.get_mut(&kind).and_then(|t| t.remove(path)) else {
            return;
        };
        for conn in set {
            if let Some(held) = self.by_conn.get_mut(&conn) {
                held.remove(&(kind, path.to_string()));
            }
            into.insert(conn);
        }
    }

    fn peek(&self, kind: WatchKind, path: &str, into: &mut BTreeSet<ConnId>) {
        if let Some(set) = self.tables.get(&kind).and_then(|t| t.get(path)) {
            into.extend(set.iter().copied());
        }
    }

    /// Who gets which event of one applied entry, in order (one-shot watches
    /// that fired are gone, also for a connection the ACL check will then
    /// keep the event from, as in ZooKeeper). Called under the state lock, and delivered
    /// before it is released, so no reader can see the change before its
    /// event is queued.
    pub fn trigger(&mut self, zxid: i64, events: &[TreeEvent]) -> Vec<Delivery> {
        let mut deliveries = Vec::new();
        if self.by_conn.is_empty() {
            return deliveries;
        }
        for event in events {
            let mut targets = BTreeSet::new();
            let path = event.path.as_str();
            match event.kind {
                EventKind::NodeCreated | EventKind::NodeDataChanged => {
                    self.take_one_shot(WatchKind::Data, path, &mut targets);
                    self.take_one_shot(WatchKind::Exist, path, &mut targets);
                }
                EventKind::NodeDeleted => {
                    self.take_one_shot(WatchKind::Data, path, &mut targets);
                    self.take_one_shot(WatchKind::Exist, path, &mut targets);
                    self.take_one_shot(WatchKind::Child, path, &mut targets);
                }
                EventKind::NodeChildrenChanged => {
                    self.take_one_shot(WatchKind::Child, path, &mut targets);
                }
            }
            self.peek(WatchKind::Persistent, path, &mut targets);
            if event.kind != EventKind::NodeChildrenChanged {
                let mut ancestor = Some(path);
                while let Some(p) = ancestor {
                    self.peek(WatchKind::Recursive, p, &mut targets);
                    ancestor = proto::path::parent(p);
                }
            }
            for conn in targets {
                deliveries.push(Delivery {
                    conn,
                    event: WatchedEvent {
                        kind: event.kind,
                        path: event.path.clone(),
                        zxid,
                        stream_id: 0,
                        err: proto::ErrorCode::Ok,
                    },
                    acl: event.acl,
                });
            }
        }
        deliveries
    }

    /// Every kind, for "remove any".
    pub fn all_kinds() -> &'static [WatchKind] {
        &KINDS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(kind: EventKind, path: &str) -> TreeEvent {
        TreeEvent {
            kind,
            path: path.to_string(),
            acl: 0,
        }
    }

    /// What connection 1 is to be sent.
    fn to_one(deliveries: Vec<Delivery>) -> Vec<(EventKind, String)> {
        deliveries
            .into_iter()
            .filter(|d| d.conn == 1)
            .map(|d| (d.event.kind, d.event.path))
            .collect()
    }

    #[test]
    fn one_shot_watch_fires_once() {
        let mut reg = WatchRegistry::new();
        reg.add(1, WatchKind::Data, "/a");
        let first = reg.trigger(5, &[ev(EventKind::NodeDataChanged, "/a")]);
        let second = reg.trigger(6, &[ev(EventKind::NodeDataChanged, "/a")]);
        assert_eq!(
            to_one(first),
            vec![(EventKind::NodeDataChanged, "/a".into())]
        );
        assert!(second.is_empty());
        assert!(reg.is_empty());
    }

    #[test]
    fn delete_fires_one_notification_for_data_and_child_watches() {
        let mut reg = WatchRegistry::new();
        reg.add(1, WatchKind::Data, "/a");
        reg.add(1, WatchKind::Child, "/a");
        let sent = reg.trigger(5, &[ev(EventKind::NodeDeleted, "/a")]);
        assert_eq!(to_one(sent), vec![(EventKind::NodeDeleted, "/a".into())]);
        assert!(reg.is_empty());
    }

    #[test]
    fn child_watch_ignores_data_changes() {
        let mut reg = WatchRegistry::new();
        reg.add(1, WatchKind::Child, "/a");
        assert!(reg
            .trigger(5, &[ev(EventKind::NodeDataChanged, "/a")])
            .is_empty());
        let sent = reg.trigger(6, &[ev(EventKind::NodeChildrenChanged, "/a")]);
        assert_eq!(sent.len(), 1);
    }

    #[test]
    fn persistent_watch_stays_and_sees_all_four_kinds() {
        let mut reg = WatchRegistry::new();
        reg.add(1, WatchKind::Persistent, "/a");
        let sent = reg.trigger(
            5,
            &[
                ev(EventKind::NodeCreated, "/a"),
                ev(EventKind::NodeDataChanged, "/a"),
                ev(EventKind::NodeChildrenChanged, "/a"),
                ev(EventKind::NodeDeleted, "/a"),
                ev(EventKind::NodeCreated, "/a/b"),
            ],
        );
        assert_eq!(sent.len(), 4);
        assert!(reg.has(1, WatchKind::Persistent, "/a"));
    }

    #[test]
    fn recursive_watch_sees_descendants_but_never_child_changes() {
        let mut reg = WatchRegistry::new();
        reg.add(1, WatchKind::Recursive, "/a");
        let sent = reg.trigger(
            5,
            &[
                ev(EventKind::NodeCreated, "/a/b/c"),
                ev(EventKind::NodeChildrenChanged, "/a/b"),
                ev(EventKind::NodeCreated, "/ab"),
            ],
        );
        assert_eq!(
            to_one(sent),
            vec![(EventKind::NodeCreated, "/a/b/c".into())]
        );
    }

    #[test]
    fn recursive_watch_on_root_sees_everything() {
        let mut reg = WatchRegistry::new();
        reg.add(1, WatchKind::Recursive, "/");
        assert_eq!(
            reg.trigger(5, &[ev(EventKind::NodeDeleted, "/x/y")]).len(),
            1
        );
    }

    #[test]
    fn a_connection_gets_one_notification_per_event_however_many_watches_match() {
        let mut reg = WatchRegistry::new();
        reg.add(1, WatchKind::Data, "/a");
        reg.add(1, WatchKind::Persistent, "/a");
        reg.add(1, WatchKind::Recursive, "/");
        reg.add(2, WatchKind::Data, "/a");
        let sent = reg.trigger(5, &[ev(EventKind::NodeDataChanged, "/a")]);
        let mut conns: Vec<ConnId> = sent.iter().map(|d| d.conn).collect();
        conns.sort();
        assert_eq!(conns, vec![1, 2]);
    }

    #[test]
    fn detach_removes_every_watch_of_the_connection() {
        let mut reg = WatchRegistry::new();
        reg.add(1, WatchKind::Data, "/a");
        reg.add(2, WatchKind::Data, "/a");
        reg.detach(1);
        assert!(!reg.has(1, WatchKind::Data, "/a"));
        assert!(reg.has(2, WatchKind::Data, "/a"));
        assert_eq!(reg.len(), 1);
    }
}
