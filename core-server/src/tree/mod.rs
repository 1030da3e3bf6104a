//! The znode tree and the replicated session table: the state machine.
//!
//! Owns znodes, `Stat` bookkeeping (czxid/mzxid/pzxid, version/cversion/aversion),
//! per-parent sequence counters, the ephemeral-owner index and the session table
//! (id, password, timeout). Changes return [`TreeEvent`]s. Must not touch:
//! watches, sockets, time, the log, session liveness timers.

pub mod acl;
mod data_tree;
mod node;
mod stat;

pub use acl::{Acl, AuthId};
pub use data_tree::{SessionInfo, StateMachine, SPECIAL_PATHS};
pub use node::{Node, NodeKind};
pub use stat::Stat;

/// The kinds of change a watch can report (ZooKeeper's EventType numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventKind {
    /// A node was created.
    NodeCreated,
    /// A node was deleted.
    NodeDeleted,
    /// A node's data was set.
    NodeDataChanged,
    /// A child was created or deleted.
    NodeChildrenChanged,
}

impl EventKind {
    /// ZooKeeper's EventType number.
    pub fn as_i32(self) -> i32 {
        match self {
            EventKind::NodeCreated => 1,
            EventKind::NodeDeleted => 2,
            EventKind::NodeDataChanged => 3,
            EventKind::NodeChildrenChanged => 4,
        }
    }
}

/// One change made by applying an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeEvent {
    /// What happened.
    pub kind: EventKind,
    /// The node it happened to.
    pub path: String,
    /// Index (in the state machine's ACL table) of the ACL a watcher needs
    /// READ on to be told: the node's own, or for NodeChildrenChanged the
    /// parent's, as it was when the change happened (ZooKeeper 3.8.4+ /
    /// 3.9.2+, CVE-2024-23944). ACL lists are never removed from the table,
    /// so the index stays valid after the node is gone.
    pub acl: u32,
}
