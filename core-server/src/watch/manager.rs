//! One of ZooKeeper's two watch managers (its `WatchManager`): which
//! connections watch which path, and in which modes.
//!
//! ZooKeeper keeps data watches (getData, exists) and child watches
//! (getChildren) in two managers; persistent and recursive watches are
//! registered in them too (see [`WatchRegistry`](super::WatchRegistry)).
//! Releases differ in what one (connection, path) can hold: 3.8 keeps one
//! mode, and a later registration replaces it (a getData watch turns a
//! persistent watch into a one-shot one); 3.9 keeps a set of modes
//! (ZOOKEEPER-4466). [`Model`] picks which.

use crate::connection::ConnId;
use std::collections::{BTreeSet, HashMap, HashSet};

/// A one-shot watch.
pub const STANDARD: u8 = 1;
/// A persistent watch on the exact path.
pub const PERSISTENT: u8 = 2;
/// A persistent watch on the path and its subtree.
pub const RECURSIVE: u8 = 4;

/// What one (connection, path) can hold in a manager.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Model {
    /// A set of modes (ZooKeeper 3.9).
    #[default]
    ModeSet,
    /// One mode; a new registration replaces it (ZooKeeper 3.8).
    OneMode,
}

/// One watch manager.
#[derive(Debug, Default)]
pub struct Manager {
    model: Model,
    table: HashMap<String, HashMap<ConnId, u8>>,
    by_conn: HashMap<ConnId, HashSet<String>>,
    /// Registrations holding [`RECURSIVE`]: when none, a trigger looks at
    /// the exact path only.
    recursive: usize,
}

impl Manager {
    /// An empty manager.
    pub fn new(model: Model) -> Manager {
        Manager {
            model,
            ..Manager::default()
        }
    }

    /// Registers `mode` for the connection on `path`.
    pub fn add(&mut self, conn: ConnId, path: &str, mode: u8) {
        let held = self
            .table
            .entry(path.to_string())
            .or_default()
            .entry(conn)
            .or_insert(0);
        let old = *held;
        *held = match self.model {
            Model::ModeSet => old | mode,
            Model::OneMode => mode,
        };
        let new = *held;
        self.count_recursive(old, new);
        self.by_conn
            .entry(conn)
            .or_default()
            .insert(path.to_string());
    }

    fn count_recursive(&mut self, old: u8, new: u8) {
        match (old & RECURSIVE != 0, new & RECURSIVE != 0) {
            (false, true) => self.recursive += 1,
            (true, false) => self.recursive = self.recursive.saturating_sub(1),
            _ => {}
        }
    }

    /// The modes the connection holds on `path` (0: none).
    pub fn modes(&self, conn: ConnId, path: &str) -> u8 {
        self.table
            .get(path)
            .and_then(|held| held.get(&conn))
            .copied()
            .unwrap_or(0)
    }

    /// True if any connection watches `path` here.
    pub fn anyone(&self, path: &str) -> bool {
        self.table.get(path).is_some_and(|held| !held.is_empty())
    }

    /// Removes `mode` (or, with `None`, every mode) of the connection on
    /// `path`; true if that changed anything.
    pub fn remove(&mut self, conn: ConnId, path: &str, mode: Option<u8>) -> bool {
        let old = self.modes(conn, path);
        let new = mode.map_or(0, |m| old & !m);
        if old == 0 || old == new {
            return false;
        }
        self.set(conn, path, old, new);
        true
    }

    /// Stores `new` in place of `old`, dropping the registration at 0.
    fn set(&mut self, conn: ConnId, path: &str, old: u8, new: u8) {
        self.count_recursive(old, new);
        if new != 0 {
            if let Some(held) = self.table.get_mut(path).and_then(|t| t.get_mut(&conn)) {
                *held = new;
            }
            return;
        }
        if let Some(held) = self.table.get_mut(path) {
            held.remove(&conn);
            if held.is_empty() {
                self.table.remove(path);
            }
        }
        if let Some(paths) = self.by_conn.get_mut(&conn) {
            paths.remove(path);
            if paths.is_empty() {
                self.by_conn.remove(&conn);
            }
        }
    }

    /// Forgets every registration of a connection.
    pub fn detach(&mut self, conn: ConnId) {
        for path in self.by_conn.remove(&conn).unwrap_or_default() {
            if let Some(held) = self.table.get_mut(&path) {
                if let Some(old) = held.remove(&conn) {
                    if old & RECURSIVE != 0 {
                        self.recursive = self.recursive.saturating_sub(1);
                    }
                }
                if held.is_empty() {
                    self.table.remove(&path);
                }
            }
        }
    }

    /// Adds to `into` the connections an event on `path` fires here, and
    /// uses up their one-shot watches, as ZooKeeper's `triggerWatch` does:
    /// every registration on the exact path fires, a recursive one on a
    /// parent fires too; in 3.8 a recursive mode never fires for
    /// NodeChildrenChanged (`children_changed`).
    pub fn trigger(&mut self, path: &str, children_changed: bool, into: &mut BTreeSet<ConnId>) {
        let mut used: Vec<(ConnId, u8, u8)> = Vec::new();
        if let Some(held) = self.table.get(path) {
            for (&conn, &modes) in held {
                match self.model {
                    Model::ModeSet => {
                        into.insert(conn);
                        if modes & STANDARD != 0 {
                            used.push((conn, modes, modes & !STANDARD));
                        }
                    }
                    Model::OneMode if modes == RECURSIVE => {
                        if !children_changed {
                            into.insert(conn);
                        }
                    }
                    Model::OneMode => {
                        into.insert(conn);
                        if modes == STANDARD {
                            used.push((conn, modes, 0));
                        }
                    }
                }
            }
        }
        for (conn, old, new) in used {
            self.set(conn, path, old, new);
        }
        let parents_fire = match self.model {
            Model::ModeSet => true,
            Model::OneMode => !children_changed,
        };
        if self.recursive == 0 || !parents_fire {
            return;
        }
        let mut ancestor = proto::path::parent(path);
        while let Some(p) = ancestor {
            if let Some(held) = self.table.get(p) {
                into.extend(
                    held.iter()
                        .filter(|(_, modes)| **modes & RECURSIVE != 0)
                        .map(|(conn, _)| *conn),
                );
            }
            ancestor = proto::path::parent(p);
        }
    }

    /// Every registration as (connection, path).
    pub fn registrations(&self) -> impl Iterator<Item = (ConnId, &str)> {
        self.by_conn
            .iter()
            .flat_map(|(conn, paths)| paths.iter().map(move |p| (*conn, p.as_str())))
    }

    /// How many (connection, path) registrations there are.
    pub fn len(&self) -> usize {
        self.by_conn.values().map(HashSet::len).sum()
    }

    /// True when nothing is registered.
    pub fn is_empty(&self) -> bool {
        self.by_conn.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fired(m: &mut Manager, path: &str, children_changed: bool) -> Vec<ConnId> {
        let mut into = BTreeSet::new();
        m.trigger(path, children_changed, &mut into);
        into.into_iter().collect()
    }

    #[test]
    fn in_3_8_a_later_registration_replaces_the_mode() {
        let mut m = Manager::new(Model::OneMode);
        m.add(1, "/a", PERSISTENT);
        m.add(1, "/a", STANDARD);
        assert_eq!(fired(&mut m, "/a", false), vec![1]);
        assert_eq!(
            fired(&mut m, "/a", false),
            Vec::<ConnId>::new(),
            "now one-shot"
        );
        assert!(m.is_empty());
    }

    #[test]
    fn in_3_9_modes_add_up_and_a_trigger_uses_only_the_one_shot() {
        let mut m = Manager::new(Model::ModeSet);
        m.add(1, "/a", PERSISTENT);
        m.add(1, "/a", STANDARD);
        assert_eq!(fired(&mut m, "/a", false), vec![1]);
        assert_eq!(m.modes(1, "/a"), PERSISTENT);
        assert_eq!(fired(&mut m, "/a", false), vec![1]);
    }

    #[test]
    fn a_recursive_watch_fires_for_descendants_but_in_3_8_not_for_children_changed() {
        for model in [Model::OneMode, Model::ModeSet] {
            let mut m = Manager::new(model);
            m.add(1, "/a", RECURSIVE);
            assert_eq!(fired(&mut m, "/a/b/c", false), vec![1], "{model:?}");
        }
        let mut m = Manager::new(Model::OneMode);
        m.add(1, "/a", RECURSIVE);
        assert!(fired(&mut m, "/a", true).is_empty());
        assert!(fired(&mut m, "/a/b", true).is_empty());
    }

    #[test]
    fn removing_one_mode_keeps_the_others_and_the_count_of_recursive_ones() {
        let mut m = Manager::new(Model::ModeSet);
        m.add(1, "/a", PERSISTENT | RECURSIVE);
        assert!(m.remove(1, "/a", Some(RECURSIVE)));
        assert!(!m.remove(1, "/a", Some(RECURSIVE)));
        assert_eq!(m.modes(1, "/a"), PERSISTENT);
        assert_eq!(m.recursive, 0);
        assert!(fired(&mut m, "/a/b", false).is_empty());
        assert!(m.remove(1, "/a", None));
        assert!(m.is_empty() && !m.anyone("/a"));
    }

    #[test]
    fn detach_forgets_the_connection_only() {
        let mut m = Manager::new(Model::ModeSet);
        m.add(1, "/a", RECURSIVE);
        m.add(2, "/a", STANDARD);
        m.detach(1);
        assert_eq!(m.recursive, 0);
        assert_eq!(m.len(), 1);
        assert!(m.anyone("/a"));
    }
}
