//! Who watches what: one-shot, persistent and recursive registrations per
//! connection, kept as ZooKeeper keeps them, in a data and a child
//! [`Manager`].
//!
//! getData and exists register a one-shot watch with the data manager,
//! getChildren with the child manager; a persistent watch goes to both, a
//! recursive one to the data manager (3.9) or to both (3.8). NodeCreated and
//! NodeDataChanged trigger the data manager on the path; NodeDeleted both
//! managers on the path; NodeChildrenChanged the child manager on the
//! parent. A connection gets one notification per event however many of
//! its watches match. checkWatches and removeWatches follow the release
//! chosen by `zk_compat` ([`Model`]).
//!
//! [`WatchRegistry::trigger`] only says who gets which event; delivery is
//! the connection table's (`connection::ConnectionTable::deliver`), which
//! never blocks apply.

use super::manager::{Manager, Model, PERSISTENT, RECURSIVE, STANDARD};
use crate::connection::{ConnId, Delivery, WatchedEvent};
use crate::request::WatcherType;
use crate::tree::{EventKind, TreeEvent};
use std::collections::BTreeSet;

/// The kinds of registration a connection can make on a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WatchKind {
    /// One-shot data watch (getData, or exists on an existing node).
    Data,
    /// One-shot exist watch on a missing node (a data watch to ZooKeeper).
    Exist,
    /// One-shot child watch (getChildren).
    Child,
    /// Persistent watch on the exact path.
    Persistent,
    /// Persistent watch on the path and its subtree.
    Recursive,
}

/// All watches on this server.
#[derive(Debug, Default)]
pub struct WatchRegistry {
    model: Model,
    data: Manager,
    child: Manager,
}

impl WatchRegistry {
    /// An empty registry with ZooKeeper 3.9's rules.
    pub fn new() -> Self {
        Self::with_model(Model::ModeSet)
    }

    /// An empty registry with the given release's rules.
    pub fn with_model(model: Model) -> Self {
        WatchRegistry {
            model,
            data: Manager::new(model),
            child: Manager::new(model),
        }
    }

    /// Switches to `model`'s rules. Done before the first connection; a
    /// registry already holding watches keeps its rules.
    pub fn set_model(&mut self, model: Model) {
        if self.is_empty() {
            *self = Self::with_model(model);
        }
    }

    /// Forgets a connection and every watch it held.
    pub fn detach(&mut self, conn: ConnId) {
        self.data.detach(conn);
        self.child.detach(conn);
    }

    /// Registers a watch (the same kind on the same path again is one watch).
    pub fn add(&mut self, conn: ConnId, kind: WatchKind, path: &str) {
        match kind {
            WatchKind::Data | WatchKind::Exist => self.data.add(conn, path, STANDARD),
            WatchKind::Child => self.child.add(conn, path, STANDARD),
            WatchKind::Persistent => {
                self.data.add(conn, path, PERSISTENT);
                self.child.add(conn, path, PERSISTENT);
            }
            WatchKind::Recursive => {
                self.data.add(conn, path, RECURSIVE);
                if self.model == Model::OneMode {
                    self.child.add(conn, path, RECURSIVE);
                }
            }
        }
    }

    /// checkWatches: whether a watch of `kind` is found on `path` for the
    /// connection. 3.9 looks for the mode the type names (Data and Children:
    /// one-shot); 3.8 answers for any connection's registration on the path
    /// in the manager (its `containsWatcher`, fixed by ZOOKEEPER-4471).
    pub fn check(&self, conn: ConnId, kind: WatcherType, path: &str) -> bool {
        let data = self.data.modes(conn, path);
        let child = self.child.modes(conn, path);
        match (self.model, kind) {
            // 3.8 walks the path and its parents, and "" has no steps.
            (Model::OneMode, WatcherType::Children | WatcherType::Data | WatcherType::Any)
                if path.is_empty() =>
            {
                false
            }
            (Model::OneMode, WatcherType::Children) => self.child.anyone(path),
            (Model::OneMode, WatcherType::Data) => self.data.anyone(path),
            (Model::OneMode, WatcherType::Any) => self.child.anyone(path) || self.data.anyone(path),
            (_, WatcherType::Children) => child & STANDARD != 0,
            (_, WatcherType::Data) => data & STANDARD != 0,
            (_, WatcherType::Any) => data != 0 || child != 0,
            (_, WatcherType::Persistent) => data & PERSISTENT != 0,
            (_, WatcherType::PersistentRecursive) => data & RECURSIVE != 0,
        }
    }

    /// removeWatches: removes the connection's watches of `kind` on `path`;
    /// whether any was removed. 3.8 removes the whole registration from the
    /// manager the type names (so Children leaves a persistent watch
    /// data-only); 3.9 removes only the mode it names.
    pub fn remove(&mut self, conn: ConnId, kind: WatcherType, path: &str) -> bool {
        let whole = self.model == Model::OneMode;
        match kind {
            WatcherType::Children => self.child.remove(conn, path, (!whole).then_some(STANDARD)),
            WatcherType::Data => self.data.remove(conn, path, (!whole).then_some(STANDARD)),
            WatcherType::Any => {
                let child = self.child.remove(conn, path, None);
                self.data.remove(conn, path, None) || child
            }
            WatcherType::Persistent => {
                let child = self.child.remove(conn, path, Some(PERSISTENT));
                self.data.remove(conn, path, Some(PERSISTENT)) || child
            }
            WatcherType::PersistentRecursive => {
                let child = self.child.remove(conn, path, Some(RECURSIVE));
                self.data.remove(conn, path, Some(RECURSIVE)) || child
            }
        }
    }

    /// Every registration as (connection, path), sorted (admin views).
    pub fn all(&self) -> BTreeSet<(ConnId, String)> {
        self.data
            .registrations()
            .chain(self.child.registrations())
            .map(|(conn, path)| (conn, path.to_string()))
            .collect()
    }

    /// Number of (connection, path) registrations, per manager.
    pub fn len(&self) -> usize {
        self.data.len() + self.child.len()
    }

    /// True when no connection watches anything.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty() && self.child.is_empty()
    }

    /// Who gets which event of one applied entry, in order (one-shot watches
    /// that fired are gone, also for a connection the ACL check will then
    /// keep the event from, as in ZooKeeper). Called under the state lock,
    /// and delivered before it is released, so no reader can see the change
    /// before its event is queued.
    pub fn trigger(&mut self, zxid: i64, events: &[TreeEvent]) -> Vec<Delivery> {
        let mut deliveries = Vec::new();
        if self.is_empty() {
            return deliveries;
        }
        for event in events {
            let mut targets = BTreeSet::new();
            let path = event.path.as_str();
            match event.kind {
                EventKind::NodeCreated | EventKind::NodeDataChanged => {
                    self.data.trigger(path, false, &mut targets);
                }
                EventKind::NodeDeleted => {
                    self.data.trigger(path, false, &mut targets);
                    self.child.trigger(path, false, &mut targets);
                }
                EventKind::NodeChildrenChanged => {
                    self.child.trigger(path, true, &mut targets);
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
        assert!(reg.check(1, WatcherType::Persistent, "/a"));
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
        assert!(!reg.check(1, WatcherType::Data, "/a"));
        assert!(reg.check(2, WatcherType::Data, "/a"));
        assert_eq!(reg.len(), 1);
    }

    #[test]
    fn in_3_8_a_recursive_watch_replaces_a_persistent_one_on_both_sides() {
        // Seeded differential seed 59: addWatch PERSISTENT then
        // PERSISTENT_RECURSIVE on one path; 3.8.0 then no longer reports
        // NodeChildrenChanged there.
        let mut reg = WatchRegistry::with_model(Model::OneMode);
        reg.add(1, WatchKind::Persistent, "/r");
        reg.add(1, WatchKind::Recursive, "/r");
        let sent = reg.trigger(
            5,
            &[
                ev(EventKind::NodeDeleted, "/r/c"),
                ev(EventKind::NodeChildrenChanged, "/r"),
            ],
        );
        assert_eq!(to_one(sent), vec![(EventKind::NodeDeleted, "/r/c".into())]);
        let mut reg = WatchRegistry::new();
        reg.add(1, WatchKind::Persistent, "/r");
        reg.add(1, WatchKind::Recursive, "/r");
        let sent = reg.trigger(6, &[ev(EventKind::NodeChildrenChanged, "/r")]);
        assert_eq!(sent.len(), 1, "3.9 keeps both modes");
    }

    #[test]
    fn removing_the_child_side_of_a_persistent_watch_differs_by_release() {
        let children = [ev(EventKind::NodeChildrenChanged, "/a")];
        let data = [ev(EventKind::NodeDataChanged, "/a")];
        let mut reg = WatchRegistry::with_model(Model::OneMode);
        reg.add(1, WatchKind::Persistent, "/a");
        assert!(reg.remove(1, WatcherType::Children, "/a"));
        assert!(reg.trigger(5, &children).is_empty(), "3.8: data side only");
        assert_eq!(reg.trigger(6, &data).len(), 1);
        let mut reg = WatchRegistry::new();
        reg.add(1, WatchKind::Persistent, "/a");
        assert!(
            !reg.remove(1, WatcherType::Children, "/a"),
            "3.9: no one-shot child watch"
        );
        assert!(!reg.check(1, WatcherType::Children, "/a"));
        assert!(reg.check(1, WatcherType::Any, "/a"));
        assert_eq!(reg.trigger(7, &children).len(), 1);
        assert!(reg.remove(1, WatcherType::Persistent, "/a"));
        assert!(reg.is_empty());
    }

    #[test]
    fn in_3_8_check_watches_finds_another_connections_watch() {
        let mut reg = WatchRegistry::with_model(Model::OneMode);
        reg.add(2, WatchKind::Exist, "/x");
        assert!(reg.check(1, WatcherType::Data, "/x"));
        assert!(!reg.check(1, WatcherType::Children, "/x"));
        reg.add(1, WatchKind::Recursive, "");
        assert!(
            !reg.check(1, WatcherType::Data, ""),
            "seed 474: \"\" is never found"
        );
        let mut reg = WatchRegistry::new();
        reg.add(2, WatchKind::Exist, "/x");
        assert!(!reg.check(1, WatcherType::Data, "/x"));
    }
}
