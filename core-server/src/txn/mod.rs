//! The replicated command and its deterministic application to the state machine.
//!
//! Owns [`Entry`] (one log record: a [`Txn`] stamped with the leader's time and
//! the proposing session) and [`apply`], the pure function every server runs on
//! committed entries in log order. Outcomes (NoNode, BadVersion, ...) are decided
//! here, at apply time (architecture decision 2); a failed write still consumes
//! its zxid. Must not touch: `.await`, clocks, randomness, hash iteration order.

mod apply;
pub mod java_order;
mod multi;
mod quota;

pub use apply::apply;
pub use quota::{QuotaBreach, QuotaKind};

use crate::tree::{Acl, AuthId};
use proto::{CreateMode, ErrorCode};
use serde::{Deserialize, Serialize};

/// One log record: what a client (or the leader itself) asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The leader's wall-clock time when it accepted the request (ms since the
    /// Unix epoch); becomes ctime/mtime and drives TTL decisions.
    pub time_ms: i64,
    /// The session that asked, or 0 for the server's own housekeeping.
    pub session_id: i64,
    /// The ids the asking connection has proven (ACL checks happen at apply).
    #[serde(default)]
    pub auth: Vec<AuthId>,
    /// The asking connection is the super user (bypasses ACLs).
    #[serde(default)]
    pub is_super: bool,
    /// What to do.
    pub txn: Txn,
}

/// A replicated command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Txn {
    /// Create a node (any mode).
    Create(CreateTxn),
    /// Delete a node if its version matches (-1 = any).
    Delete {
        /// Absolute path.
        path: String,
        /// Expected version or -1.
        version: i32,
    },
    /// Replace a node's data if its version matches (-1 = any).
    SetData {
        /// Absolute path.
        path: String,
        /// New data; `None` is null data. (Encoded as one byte string: the
        /// same bytes as a sequence in postcard, decoded far faster.)
        #[serde(with = "serde_bytes")]
        data: Option<Vec<u8>>,
        /// Expected version or -1.
        version: i32,
    },
    /// Replace a node's ACL if its aversion matches (-1 = any).
    SetAcl {
        /// Absolute path.
        path: String,
        /// The requested ACL (fixed up at apply).
        acl: Vec<Acl>,
        /// Expected aversion or -1.
        version: i32,
    },
    /// Version check; valid only inside [`Txn::Multi`].
    Check {
        /// Absolute path.
        path: String,
        /// Expected version or -1.
        version: i32,
    },
    /// Atomic group of Create / Delete / SetData / Check, sharing one zxid.
    Multi(Vec<Txn>),
    /// Register a new session. Id and password are chosen by the proposer.
    CreateSession {
        /// The new session's id (never 0).
        session_id: i64,
        /// The session's 16-byte password.
        password: Vec<u8>,
        /// The negotiated timeout.
        timeout_ms: i32,
    },
    /// End a session (close or expiry) and delete all its ephemerals.
    CloseSession {
        /// The session to close.
        session_id: i64,
    },
    /// Housekeeping: delete an empty container node, or an expired childless
    /// TTL node. Fails harmlessly when the node no longer qualifies.
    DeleteContainer {
        /// Absolute path.
        path: String,
    },
    /// A Create, SetData or Multi whose quotas' hard limits refuse it with
    /// QuotaExceeded (ZooKeeper's `zookeeper.enforceQuota`): the server that
    /// takes the write wraps it so when its `enforce_quota` is on, and every
    /// server then decides alike at apply. (The last variant, so the bytes
    /// of every other are unchanged.)
    QuotaEnforced(Box<Txn>),
}

impl Txn {
    /// A sub-op of a [`Txn::Multi`] that fails with BadArguments where it
    /// stands and changes nothing: how an op found invalid in itself before
    /// the log (a bad create flag, a path over the limit) keeps its place in
    /// the multi's results, so earlier ops still decide first, as in
    /// ZooKeeper's multi. It is a check of the empty path, which apply always
    /// refuses with BadArguments (`path_tests` pins that), so the log and
    /// peer formats need no new shape.
    pub fn bad_arguments_op() -> Txn {
        Txn::Check {
            path: String::new(),
            version: -1,
        }
    }
}

/// Arguments of a create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateTxn {
    /// Absolute path, before any sequential suffix.
    pub path: String,
    /// The data; `None` is null data (one byte string, as in `SetData`).
    #[serde(with = "serde_bytes")]
    pub data: Option<Vec<u8>>,
    /// The create mode.
    pub mode: CreateMode,
    /// TTL in ms for TTL modes, else 0.
    pub ttl_ms: i64,
    /// The requested ACL (fixed up at apply: `auth` expanded, invalid refused).
    pub acl: Vec<Acl>,
}

/// What a successful single operation produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpResult {
    /// A node was created at `path` (with the sequential suffix).
    Created {
        /// The final path.
        path: String,
        /// Its Stat right after creation.
        stat: crate::tree::Stat,
    },
    /// A node was deleted.
    Deleted,
    /// Data was set; the node's new Stat.
    DataSet(crate::tree::Stat),
    /// The ACL was set; the node's new Stat.
    AclSet(crate::tree::Stat),
    /// A check passed (inside a multi).
    Checked,
    /// A multi was applied: one result per op. On failure, ZooKeeper's codes:
    /// `Err(Ok)` before the failing op, its own code, `Err(RuntimeInconsistency)` after.
    Multi(Vec<Result<OpResult, ErrorCode>>),
    /// A session was registered.
    SessionCreated,
    /// A session was closed; its ephemerals are gone.
    SessionClosed,
}

/// What a committed entry did: its result and the tree changes it made, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The operation's result (a multi that failed is still `Ok(OpResult::Multi)`
    /// with per-op codes; `Err` is for single ops).
    pub result: Result<OpResult, ErrorCode>,
    /// Changes to report to watches, in the order they happened.
    pub events: Vec<crate::tree::TreeEvent>,
    /// The quota limits the entry's writes went over (logged by the server
    /// that took the write; soft ones do not stop it).
    pub quota_breaches: Vec<QuotaBreach>,
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod acl_tests;

#[cfg(test)]
mod size_tests;

#[cfg(test)]
mod path_tests;

#[cfg(test)]
mod quota_tests;
